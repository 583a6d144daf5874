//! The human-readable report: every org's windows with their pace, extra usage, plan,
//! billing, provenance, the last error and the extension's last report. `status` prints it,
//! waybar shows it as the tooltip, `doctor` borrows the extension's line.

use super::text::{money, pace_text, percent, short_duration};
use crate::cache::{CacheFile, ExtensionReport};
use crate::settings;
use crate::snapshot::Org;
use crate::window;
use chrono::{DateTime, Local, Utc};
use std::fmt::Write;

fn when(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let local = t.with_timezone(&Local).format("%a %b %-d %H:%M");
    let secs = (t - now).num_seconds();
    if secs >= 0 {
        format!("{local} (in {})", short_duration(secs))
    } else {
        format!("{local} ({} ago)", short_duration(-secs))
    }
}

fn org_report(out: &mut String, org: &Org, active: bool, now: DateTime<Utc>) {
    let name = org.org_name.as_deref().unwrap_or("(unnamed org)");
    let _ = writeln!(
        out,
        "{name}{} [{}]",
        if active { " (active)" } else { "" },
        org.org_uuid
    );
    let field = |out: &mut String, label: &str, value: String| {
        let _ = writeln!(out, "  {label:<13} {value}");
    };
    if let Some(email) = &org.email {
        field(out, "account", email.clone());
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
        let reset = w
            .resets_at
            .map(|t| format!("resets {}", when(t, now)))
            .unwrap_or_else(|| "no reset time".into());
        field(
            out,
            &window::label(key),
            format!("{:>4}  {reset}", percent(w.utilization)),
        );
        if let Some(pace) = org.pace.get(key) {
            field(out, "", pace_text(pace, now));
        }
    }
    match &org.extra_usage {
        Some(e) if e.enabled => {
            let cur = e.currency.as_deref();
            let mut line = match (e.used, e.limit) {
                (Some(u), Some(l)) => format!("{} / {} spent", money(u, cur), money(l, cur)),
                (Some(u), None) => format!("{} spent, no cap", money(u, cur)),
                _ => "enabled, amount unknown".into(),
            };
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
    for (part, p) in &org.sources {
        field(
            out,
            &format!("from ({part})"),
            format!(
                "{} at {} ({} ago)",
                p.source,
                p.at.format("%H:%M:%S UTC"),
                short_duration((now - p.at).num_seconds())
            ),
        );
    }
}

/// The whole report, as `status` prints it and waybar shows it as a tooltip.
pub fn report(file: &CacheFile, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    match &file.snapshot {
        Some(s) => {
            // The shown org's age (`CacheFile::age`), as the segment and `json` tell it.
            let org = settings::org(None);
            let age = file.age(org.as_deref(), now).unwrap_or(0);
            let _ = writeln!(
                out,
                "source {} · fetched {} · updated {} ago{}",
                s.source,
                s.fetched_at.format("%Y-%m-%d %H:%M:%S UTC"),
                short_duration(age),
                if file.is_stale(org.as_deref(), now) {
                    " (stale)"
                } else {
                    ""
                }
            );
            let active = s.org(None).map(|o| o.org_uuid.clone());
            let mut orgs: Vec<&Org> = s.orgs.iter().collect();
            orgs.sort_by_key(|o| Some(&o.org_uuid) != active.as_ref());
            for org in orgs {
                out.push('\n');
                org_report(&mut out, org, Some(&org.org_uuid) == active.as_ref(), now);
            }
        }
        None => out.push_str("no usage data yet\n"),
    }
    out.push('\n');
    match &file.state.error {
        Some(e) => {
            let _ = writeln!(
                out,
                "last error: {} ({}, {} ago)",
                e.message,
                serde_json::to_value(e.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                short_duration((now - e.at).num_seconds())
            );
            if let Some(t) = e.retry_at.filter(|&t| t > now) {
                let _ = writeln!(out, "next try: {}", when(t, now));
            }
        }
        None => out.push_str("last error: none\n"),
    }
    if let Some(line) = extension_report(file, now) {
        let _ = writeln!(out, "browser extension: {line}");
    }
    if let Some(line) = hook_failure(file, now) {
        let _ = writeln!(out, "notify command: {line}");
    }
    out.push_str(&config_report());
    out
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
pub fn config_report() -> String {
    let config = settings::config();
    let mut out = String::new();
    if let Some(e) = &config.error {
        let _ = writeln!(
            out,
            "config error: {e} (the last good settings stay in force)"
        );
    }
    for w in &config.warnings {
        let _ = writeln!(out, "config warning: {w}");
    }
    out
}

/// One line on when the extension last reported, for `status` and `doctor`; `None` when it
/// never did.
pub fn extension_report(file: &CacheFile, now: DateTime<Utc>) -> Option<String> {
    let r = file.extension.as_ref()?;
    let age = (now - r.fetched_at).num_seconds().max(0);
    let ago = short_duration(age);
    let when = r.fetched_at.format("%H:%M:%S UTC");
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
