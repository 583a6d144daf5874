//! The human-readable report: every org's windows with their pace, extra usage, plan,
//! billing, provenance, the last error and the extension's last report. `status` prints it,
//! waybar shows it as the tooltip, `doctor` borrows the extension's line.

use super::sanitize::Lines;
use super::text::{clock, money, pace_text, percent, short_duration, when};
use super::RESET_MARK;
use crate::cache::{Cache, CacheFile, ExtensionReport};
use crate::schedule::{self, Why};
use crate::settings::{self, Origin, Scope, Setting};
use crate::snapshot::Org;
use crate::window;
use chrono::{DateTime, Utc};

/// An org's account as `status` names it: the name it goes by (`{5h@NAME}`), and its own
/// session's last error when it has one.
struct AccountLine<'a> {
    name: Option<&'a str>,
    error: Option<&'a crate::error::ErrorRecord>,
}

fn org_report(out: &mut Lines, org: &Org, account: AccountLine, active: bool, now: DateTime<Utc>) {
    let name = org.org_name.as_deref().unwrap_or("(unnamed org)");
    out.line(format!(
        "{name}{} [{}]",
        if active { " (active)" } else { "" },
        org.org_uuid
    ));
    let field = |out: &mut Lines, label: &str, value: String| {
        out.line(format!("  {label:<13} {value}"));
    };
    match (&org.email, account.name) {
        (Some(email), Some(name)) => field(out, "account", format!("{email} ({name})")),
        (Some(email), None) => field(out, "account", email.clone()),
        (None, Some(name)) => field(out, "account", name.to_string()),
        (None, None) => {}
    }
    if let Some(e) = account.error {
        field(
            out,
            "its error",
            format!(
                "{} ({} ago)",
                e.message,
                short_duration((now - e.at).num_seconds())
            ),
        );
    }
    field(
        out,
        "plan",
        org.plan.clone().unwrap_or_else(|| "unknown".into()),
    );
    if org.windows.is_empty() {
        field(
            out,
            "windows",
            "none sent (no rolling limits on this org)".into(),
        );
    }
    for (key, w) in &org.windows {
        match w.resets_at {
            // The old number belongs to the period that ended, and so does its pace.
            Some(t) if w.has_reset(now) => field(
                out,
                &window::label(key, w.display_name.as_deref()),
                format!("{RESET_MARK:>5}  {}; a new reading is due", when(t, now)),
            ),
            reset => {
                let reset = reset
                    .map(|t| format!("resets {}", when(t, now)))
                    .unwrap_or_else(|| "no reset time".into());
                field(
                    out,
                    &window::label(key, w.display_name.as_deref()),
                    format!("{:>5}  {reset}", percent(w.utilization)),
                );
                if let Some(pace) = org.pace.get(key) {
                    field(out, "", pace_text(pace, now));
                }
            }
        }
    }
    for (label, line) in window_notes(org) {
        field(out, label, line);
    }
    match &org.extra_usage {
        Some(e) if e.enabled => {
            let cur = e.currency.as_deref();
            let mut line = match (e.used, e.limit) {
                (Some(u), Some(l)) => format!("{} / {} spent", money(u, cur), money(l, cur)),
                (Some(u), None) => format!("{} spent, no cap", money(u, cur)),
                _ => "enabled, amount unknown".into(),
            };
            if let Some(b) = e.balance {
                line.push_str(&format!(" · balance {}", money(b, cur)));
            }
            if e.out_of_credits == Some(true) {
                line.push_str(" · OUT OF CREDITS");
            }
            if let Some(until) = &e.disabled_until {
                line.push_str(&format!(" · paused until {until}"));
            }
            if let Some(r) = &e.disabled_reason {
                line.push_str(&format!(" ({r})"));
            }
            field(out, "extra usage", line);
        }
        Some(_) => field(out, "extra usage", "off".into()),
        None => {}
    }
    if let Some(s) = &org.subscription {
        let mut line = s.status.clone().unwrap_or_else(|| "unknown".into());
        if let Some(i) = &s.billing_interval {
            line.push_str(&format!(", {i}"));
        }
        if let Some(d) = &s.next_charge_date {
            line.push_str(&format!(" · next charge {d}"));
        }
        if let Some(card) = &s.card {
            line.push_str(&format!(
                " · {} ••{}",
                card.brand.as_deref().unwrap_or("card"),
                card.last4.as_deref().unwrap_or("????")
            ));
        }
        field(out, "subscription", line);
    }
    if let Some(asked) = org.sources.get(crate::snapshot::part::ASKED) {
        if org.read_at().is_some_and(|r| r < asked.at) {
            field(
                out,
                "last asked",
                format!(
                    "{} at {} ({} ago), no usable answer",
                    asked.source,
                    clock(asked.at),
                    short_duration((now - asked.at).num_seconds())
                ),
            );
        }
    }
    if let Some(line) = provenance(org, now) {
        field(out, "from", line);
    }
}

/// Where an org's numbers came from, on one line: each source with the age of its newest
/// part (`claude.ai 20s ago`), and which parts, when more than one source is in play
/// (`claude.ai 2m ago (usage, extra usage, subscription) · statusline 5s ago (5h, 7d)`).
fn provenance(org: &Org, now: DateTime<Utc>) -> Option<String> {
    // (source, newest, parts), in the order sources first appear.
    let mut by_source: Vec<(&str, DateTime<Utc>, Vec<String>)> = Vec::new();
    for (part, p) in &org.sources {
        // When a source was last asked is not where a number came from (said above).
        if part == crate::snapshot::part::ASKED {
            continue;
        }
        let name = match part.strip_prefix("window.") {
            Some(key) => window::label(
                key,
                org.windows.get(key).and_then(|w| w.display_name.as_deref()),
            ),
            None => part.replace('_', " "),
        };
        match by_source.iter_mut().find(|(s, _, _)| *s == p.source) {
            Some((_, at, parts)) => {
                *at = (*at).max(p.at);
                parts.push(name);
            }
            None => by_source.push((&p.source, p.at, vec![name])),
        }
    }
    let several = by_source.len() > 1;
    let shown: Vec<String> = by_source
        .iter()
        .map(|(source, at, parts)| {
            let ago = short_duration((now - *at).num_seconds());
            if several {
                format!("{source} {ago} ago ({})", parts.join(", "))
            } else {
                format!("{source} {ago} ago")
            }
        })
        .collect();
    (!shown.is_empty()).then(|| shown.join(" · "))
}

/// What an org's readings sent that is not shown as a number, as (label, line) pairs for
/// `status` and `doctor`: each window left out and why ("not shown"), and the windows
/// quotaline has no label for, shown under the server's own names ("no label").
pub fn window_notes(org: &Org) -> Vec<(&'static str, String)> {
    let mut notes: Vec<(&'static str, String)> = org
        .unusable
        .iter()
        .map(|(key, u)| {
            let line = format!(
                "{key}: {} ({}, from {})",
                u.detail,
                u.problem.words(),
                u.source
            );
            ("not shown", line)
        })
        .collect();
    let unlabelled: Vec<&str> = org
        .windows
        .keys()
        .map(String::as_str)
        .filter(|k| !window::is_labelled(k))
        .collect();
    if !unlabelled.is_empty() {
        let line = format!("{} (shown under these names)", unlabelled.join(", "));
        notes.push(("no label", line));
    }
    notes
}

/// Where a setting came from, as a person would name it: `--org`, `QUOTALINE_ORG`,
/// `config.toml:3`.
pub fn origin_words(origin: &Origin, flag: &str) -> String {
    match origin {
        Origin::Flag => flag.to_string(),
        Origin::Env(name) => name.to_string(),
        other => other.to_string(),
    }
}

/// Every org the cache holds, for an error that names what exists: `Acme [a1…] (active),
/// Personal [b2…]`.
pub fn orgs_held(file: &CacheFile) -> String {
    let Some(s) = &file.snapshot else {
        return "none yet".into();
    };
    let active = s.org(None).map(|o| o.org_uuid.as_str());
    let names: Vec<String> = s
        .orgs
        .iter()
        .map(|o| {
            format!(
                "{} [{}]{}",
                o.org_name.as_deref().unwrap_or("(unnamed org)"),
                o.org_uuid,
                if Some(o.org_uuid.as_str()) == active {
                    " (active)"
                } else {
                    ""
                }
            )
        })
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// When the org asked for (`--org`, `QUOTALINE_ORG`, `org` in config.toml) is not among the
/// orgs the cache holds while others are: what was asked, by whom, and what exists, as
/// (what, fix). `None` when it is there, when none was asked for, or with no data at all.
pub fn missing_org(file: &CacheFile, asked: &Setting<Option<String>>) -> Option<(String, String)> {
    let uuid = asked.value.as_deref()?;
    let snapshot = file.snapshot.as_ref()?;
    if snapshot.orgs.is_empty() || snapshot.org(Some(uuid)).is_some() {
        return None;
    }
    Some((
        format!(
            "no org {uuid:?} here (asked for by {})",
            origin_words(&asked.origin, "--org")
        ),
        format!(
            "the orgs quotaline holds: {}; name one of them, or none for the active org",
            orgs_held(file)
        ),
    ))
}

/// The whole report, as `status` prints it and waybar shows it as a tooltip.
pub fn report(file: &CacheFile, now: DateTime<Utc>) -> Lines {
    let mut out = Lines::new();
    let asked = settings::org_setting(None, Scope::Process);
    if let Some((what, fix)) = missing_org(file, &asked) {
        out.line(what);
        out.line(fix);
        out.blank();
    }
    match &file.snapshot {
        Some(s) => {
            // The shown org's age (`CacheFile::age`), as the segment and `json` tell it.
            let org = asked
                .value
                .clone()
                .or_else(|| settings::shown_account(file));
            let age = file.age(org.as_deref(), now).unwrap_or(0);
            out.line(format!(
                "source {} · fetched {} · updated {} ago{}",
                s.source,
                clock(s.fetched_at),
                short_duration(age),
                if crate::schedule::is_stale(file, org.as_deref(), now) {
                    " (stale)"
                } else {
                    ""
                }
            ));
            let active = s.org(None).map(|o| o.org_uuid.clone());
            let mut orgs: Vec<&Org> = s.orgs.iter().collect();
            orgs.sort_by_key(|o| Some(&o.org_uuid) != active.as_ref());
            let names = s.account_names(&settings::named_accounts(file).0);
            for org in orgs {
                out.blank();
                let uuid = org.account_uuid.as_deref();
                let account = AccountLine {
                    name: names
                        .iter()
                        .find(|(_, u)| Some(*u) == uuid)
                        .map(|(n, _)| n.as_str()),
                    error: file
                        .sessions
                        .values()
                        .find(|b| b.account.is_some() && b.account.as_deref() == uuid)
                        .and_then(|b| b.state.error.as_ref()),
                };
                org_report(
                    &mut out,
                    org,
                    account,
                    Some(&org.org_uuid) == active.as_ref(),
                    now,
                );
            }
        }
        None => out.line("no usage data yet"),
    }
    out.blank();
    claude_status_lines(&mut out, file, now);
    out.line(schedule_line(file, now));
    match &file.state.error {
        Some(e) => {
            out.line(format!(
                "last error: {} ({}, {} ago)",
                e.message,
                e.kind.name(),
                short_duration((now - e.at).num_seconds())
            ));
            out.line(format!("  fix: {}", e.kind.fix()));
            if let Some(t) = e.retry_at.filter(|&t| t > now) {
                out.line(format!("next try: {}", when(t, now)));
            }
        }
        None => out.line("last error: none"),
    }
    if let Some(why) = &file.recovered {
        out.line(format!("cache recovered: {why}"));
    }
    if let Some(line) = extension_report(file, now) {
        out.line(format!("browser extension: {line}"));
    }
    if let Some(line) = super::metrics::textfile_report(file) {
        out.line(format!("metrics textfile: {line}"));
    }
    if let Some(line) = hook_failure(file, now) {
        out.line(format!("notify command: {line}"));
    }
    if let Some(line) = delivery_failure(file, now) {
        out.line(format!("notify delivery: {line}"));
    }
    config_report(&mut out);
    out
}

/// The last delivery when it delivered nothing at all (its batch could not be read), for
/// `status` and `doctor`.
pub fn delivery_failure(file: &CacheFile, now: DateTime<Utc>) -> Option<String> {
    let report = file.notify.delivery.as_ref()?;
    let error = report.error.as_ref()?;
    Some(format!(
        "failed {} ago: {error}",
        short_duration((now - report.at).num_seconds())
    ))
}

/// The notification hook's last run when it failed (`notify.rs`), for `status` and `doctor`.
pub fn hook_failure(file: &CacheFile, now: DateTime<Utc>) -> Option<String> {
    let run = file.notify.delivery.as_ref()?.hook.as_ref()?;
    let error = run.error.as_ref()?;
    Some(format!(
        "failed {} ago: {error}",
        short_duration((now - run.at).num_seconds())
    ))
}

/// The config file's error and warnings, one line each; nothing when all is well.
pub fn config_report(out: &mut Lines) {
    let config = settings::config();
    if let Some(e) = &config.error {
        out.line(format!(
            "config error: {e} (the last good settings stay in force)"
        ));
    }
    for w in &config.warnings {
        out.line(format!("config warning: {w}"));
    }
    if let Some(refusal) = config.refusal() {
        out.line(format!("config refused: {refusal}"));
    }
}

/// The cache a report shows, and its line for `status` and `doctor`: where it is, or why it
/// reads as empty (a FIFO or a directory in its place, a file too large, not a cache).
pub fn read_cache(cache: &Cache) -> (CacheFile, String) {
    match cache.load() {
        Ok(file) => (
            file.unwrap_or_default(),
            format!("cache: {}", cache.path().display()),
        ),
        Err(e) => (CacheFile::default(), format!("cache: {e} (read as empty)")),
    }
}

/// One line on when the extension last reported, for `status` and `doctor`; `None` when it
/// never did.
pub fn extension_report(file: &CacheFile, now: DateTime<Utc>) -> Option<String> {
    let r = file.extension.as_ref()?;
    let age = (now - r.fetched_at).num_seconds().max(0);
    let ago = short_duration(age);
    let when = clock(r.fetched_at);
    Some(match &r.error {
        None if age < ExtensionReport::FRESH_FOR_SECS => {
            format!("reported {ago} ago ({when}); quotaline leaves the fetching to the browser")
        }
        None => format!(
            "reported {ago} ago ({when}); silent for over {} min, so quotaline fetches itself",
            ExtensionReport::FRESH_FOR_SECS / 60
        ),
        Some(e) => format!("reported {ago} ago ({when}) without numbers: {e}"),
    })
}

/// When the next refresh is due and why, for `status` and `doctor`.
pub fn schedule_line(file: &CacheFile, now: DateTime<Utc>) -> String {
    let due = schedule::refresh_due_at(file, now);
    let at = if due <= now {
        "due now (at the next prompt)".to_string()
    } else {
        when(due, now)
    };
    let why = if file.state.backoff_until(now) == Some(due) {
        "after the backoff".to_string()
    } else if let Some(why) = &file.org_list_check {
        format!("to read the org list: {why}")
    } else if let Some((org, d)) = schedule::next_due(file, now) {
        let several = file.snapshot.as_ref().is_some_and(|s| s.orgs.len() > 1);
        let whose = if several {
            format!(" for {}", org.org_name.as_deref().unwrap_or(&org.org_uuid))
        } else {
            String::new()
        };
        format!(
            "{}, so every {}{whose}",
            why_words(d.why, now),
            short_duration(d.interval)
        )
    } else {
        "no reading yet".to_string()
    };
    format!("next refresh: {at}: {why}")
}

/// Why an org's interval is what it is, in words.
fn why_words(why: Why, now: DateTime<Utc>) -> String {
    match why {
        Why::NoReading => "no reading yet".into(),
        Why::Changed => "the numbers moved at the last reading".into(),
        Why::Active => "Claude Code is in use".into(),
        Why::AboveWarn(u) => format!("a window is at {}, above warn", percent(u)),
        Why::ResetSoon(t) => format!("a window resets {}", when(t, now)),
        Why::Unchanged(1) => "unchanged at the last reading".into(),
        Why::Unchanged(n) => format!("unchanged for {n} readings"),
    }
}

/// Claude's own status, while the page's reading is recent: what it says, and each incident
/// not yet resolved. Nothing when it was never read or not lately.
pub fn claude_status_lines(out: &mut Lines, file: &CacheFile, now: DateTime<Utc>) {
    let Some(s) = file.claude_status.current(now) else {
        return;
    };
    let ago = short_duration((now - s.at).num_seconds());
    let said = match (s.words(), &s.description) {
        (Some(words), Some(d)) => format!("{words} ({d})"),
        (Some(words), None) => words.to_string(),
        (None, _) => "operational".to_string(),
    };
    out.line(format!("Claude status: {said}, read {ago} ago"));
    for i in &s.incidents {
        let mut line = format!("  incident: {}", i.name);
        let state: Vec<&str> = [i.status.as_deref(), i.impact.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        if !state.is_empty() {
            line.push_str(&format!(" ({})", state.join(", ")));
        }
        if !i.components.is_empty() {
            line.push_str(&format!("; affects {}", i.components.join(", ")));
        }
        if let Some(link) = &i.shortlink {
            line.push_str(&format!(" {link}"));
        }
        out.line(line);
    }
}
