//! `quotaline doctor`: a report a user can paste into an issue. Every place searched, what
//! was found there, which credentials the next refresh will use, the cache and the last
//! fetch, and where notifications go. Secrets are only ever shown as fingerprints.

use crate::auth::{self, browser};
use crate::cache::{Cache, CacheFile};
use crate::notify;
use crate::redact::fingerprint;
use crate::render::metrics::textfile_report;
use crate::render::report::{
    claude_status_lines, config_report, extension_report, hook_failure, missing_org, origin_words,
    read_cache, schedule_line, window_notes,
};
use crate::render::sanitize::Lines;
use crate::render::text::{clock, short_duration, when};
use crate::settings::{self, Secret};
use chrono::{DateTime, Duration, Utc};
use std::os::unix::fs::PermissionsExt;

fn secret_line(out: &mut Lines, secret: Secret) {
    let shown = match secret.get() {
        Some(v) => format!("set, {}", fingerprint(v.trim())),
        None => "not set".to_string(),
    };
    out.line(format!("  {:<22} {shown}", secret.var()));
}

pub fn report() -> (Lines, bool) {
    let mut out = Lines::new();
    // Read first: the cache carries the config's last good settings.
    let (file, cache_line) = read_cache(&crate::settings::cache());
    out.line(format!("quotaline {} doctor", env!("CARGO_PKG_VERSION")));
    out.blank();
    let config = settings::config();
    let state = match (&config.path, &config.id, &config.error) {
        (None, _, _) => "none (no HOME or XDG_CONFIG_HOME)".to_string(),
        (Some(p), None, None) => format!("{} (absent: defaults)", p.display()),
        (Some(p), None, Some(_)) => format!("{} (CANNOT BE READ)", p.display()),
        (Some(p), Some(_), None) => format!("{} (ok)", p.display()),
        (Some(p), Some(_), Some(_)) => format!("{} (HAS AN ERROR)", p.display()),
    };
    out.line(format!("config: {state}"));
    config_report(&mut out);
    for w in settings::env_warnings() {
        out.line(format!("environment: {w}"));
    }
    let asked = settings::org_setting(None, settings::Scope::Process);
    if let Some(uuid) = &asked.value {
        let by = origin_words(&asked.origin, "--org");
        match missing_org(&file, &asked) {
            Some((what, fix)) => out.line(format!("org: {what}; {fix}")),
            None => out.line(format!("org: {uuid} ({by})")),
        }
    }
    // `[account.NAME]` tables whose login was not found where they say (as of the last
    // refresh): the name would reach nothing.
    for name in settings::named_accounts(&file).1 {
        out.line(format!(
            "account: [account.{name}] names no account found: no session or Claude Code login \
             where it says has been read (see `quotaline accounts`)"
        ));
    }
    out.blank();
    out.line("explicit credentials");
    secret_line(&mut out, Secret::Cookie);
    secret_line(&mut out, Secret::SessionKey);
    if let Some(path) = auth::session_file() {
        let shown = match std::fs::metadata(&path) {
            Ok(meta) => {
                let mode = meta.permissions().mode() & 0o777;
                let verdict = if mode & 0o077 == 0 {
                    "ok"
                } else {
                    "REFUSED: chmod 600 it"
                };
                format!("present, mode {mode:04o} ({verdict})")
            }
            Err(_) => "absent".to_string(),
        };
        out.line(format!("  {:<22} {shown}", path.display()));
    }
    // Where the pin really came from: config.toml's `browser` is no QUOTALINE_BROWSER.
    let pin = settings::browser_setting();
    let shown = match &pin.value {
        Some(p) => format!("{p} ({})", origin_words(&pin.origin, "--browser")),
        None => "not set (the most recently used profile)".into(),
    };
    out.line(format!("  {:<22} {shown}", "browser"));

    let env = browser::Env::from_process();
    let found = browser::discover(&env);
    out.blank();
    out.line(format!(
        "browsers searched ({})",
        browser::searched_summary(&found)
    ));
    // The places are said here, not in the error every command repeats.
    if found.probes.is_empty() {
        out.line(format!(
            "  no Chromium-family or Firefox profile found; looked in {}",
            found.looked_in_summary(&env.home)
        ));
    }
    for probe in &found.probes {
        out.line(format!("  {probe}"));
    }
    for jar in &found.jars {
        if let Some(key) = jar.session_key() {
            out.line(format!("  {} sessionKey {}", jar.label(), fingerprint(key)));
        }
    }
    out.line(
        "  (Chromium on Windows encrypts cookies with DPAPI and app-bound keys: out of reach; \
         set QUOTALINE_SESSION_KEY there)",
    );

    out.blank();
    out.line("Claude Code login (the oauth source)");
    let now = crate::clock::now();
    for line in auth::claude_code::describe(&auth::claude_code::Login::Here, now) {
        out.line(format!("  {line}"));
    }
    // The logins config.toml names, each refreshed on its own (`refresh`).
    for dir in crate::settings::claude_config_dirs() {
        let login = auth::claude_code::Login::Dir(dir);
        out.line(format!(
            "{} ([account.NAME] claude_config_dir)",
            login.origin()
        ));
        for line in auth::claude_code::describe(&login, now) {
            out.line(format!("  {line}"));
        }
    }

    // The next refresh tries the sources in order; the first with credentials is used.
    let claude_ai = || match auth::explicit() {
        Ok(Some(creds)) => Ok(format!("claude.ai with {}", creds.origin)),
        Err(e) => Err(e.message),
        Ok(None) => match auth::pick_jar(&found) {
            Some(jar) => Ok(format!(
                "claude.ai with {} ({}), {}",
                jar.browser_name,
                jar.profile,
                jar.db_path.display()
            )),
            None => Err(auth::no_browser_session(&found).message),
        },
    };
    let oauth =
        || match auth::claude_code::token(&auth::claude_code::Login::Here, crate::clock::now()) {
            Ok(token) => Ok(format!("oauth with Claude Code's login ({})", token.origin)),
            Err(e) => Err(e.message),
        };
    let mut why_not = Vec::new();
    let mut next = None;
    match crate::source::sources() {
        Err(e) => why_not.push(e.message),
        Ok(names) => {
            for name in names {
                let found = if name == "oauth" {
                    oauth()
                } else {
                    claude_ai()
                };
                match found {
                    Ok(how) => {
                        next = Some(how);
                        break;
                    }
                    Err(e) => why_not.push(format!("{name}: {e}")),
                }
            }
        }
    }
    let usable = next.is_some();
    let next = next.unwrap_or_else(|| format!("nothing ({})", why_not.join("; ")));
    out.blank();
    out.line(format!("next refresh uses: {next}"));

    let now = crate::clock::now();
    out.line(cache_line);
    let cache = crate::settings::cache();
    match cache.check_dir() {
        Ok(None) => {}
        Ok(Some(note)) => out.line(format!("cache dir: {note}")),
        Err(e) if cache.dir.exists() => out.line(format!("cache dir: {e}")),
        Err(_) => {}
    }
    let last = match (&file.snapshot, &file.state.error) {
        (_, Some(e)) => format!("failed {}: {}", clock(e.at), e.message),
        (Some(s), None) => format!("ok {} from {}", clock(s.fetched_at), s.source),
        (None, None) => "never fetched".to_string(),
    };
    out.line(format!("last fetch: {last}"));
    let backoff = match file.state.backoff_until(now) {
        Some(t) => format!("until {}", when(t, now)),
        None => "none".to_string(),
    };
    out.line(format!("backoff: {backoff}"));
    out.line(schedule_line(&file, now));
    claude_status_lines(&mut out, &file, now);
    let status = &file.claude_status;
    match (&status.error, status.tried) {
        (Some(e), Some(t)) => out.line(format!(
            "Claude status page: not read {} ago: {e} (never fails a refresh)",
            short_duration((now - t).num_seconds())
        )),
        (None, None) => out.line(match settings::status_url_setting().value {
            Some(url) => format!("Claude status page: not read yet ({url})"),
            None => "Claude status page: off (status_url)".to_string(),
        }),
        _ => {}
    }
    let extension = extension_report(&file, now).unwrap_or_else(|| "never reported".to_string());
    out.line(format!("browser extension: {extension}"));
    let textfile = textfile_report(&file).unwrap_or_else(|| {
        if settings::is_refused("[metrics] textfile") {
            "REFUSED: others could change config.toml (see \"config refused\" above)".to_string()
        } else {
            "not set ([metrics] textfile)".to_string()
        }
    });
    out.line(format!("metrics textfile: {textfile}"));
    notifications(&mut out, &cache, &file, now);
    codex(&mut out, &file, now);

    // What the server sent that quotaline could not show or has no label for: what a
    // maintainer needs to tell a new payload shape from a known one.
    out.blank();
    out.line("windows the server sent");
    let orgs = file.snapshot.as_ref().map_or(&[][..], |s| &s.orgs[..]);
    let mut quiet = true;
    for org in orgs {
        let notes = window_notes(org);
        if notes.is_empty() {
            continue;
        }
        quiet = false;
        let name = org.org_name.as_deref().unwrap_or("(unnamed org)");
        out.line(format!("  {name} [{}]", org.org_uuid));
        for (label, line) in notes {
            out.line(format!("    {label}: {line}"));
        }
    }
    if quiet {
        out.line(if orgs.is_empty() {
            "  no reading yet"
        } else {
            "  every window has a usable number and a label"
        });
    }
    (out, usable)
}

/// OpenAI Codex: where its logs were looked for and what was found. Said only when Codex is
/// on this machine (its home exists) or the cache holds its windows: a machine without Codex
/// hears nothing about it.
fn codex(out: &mut Lines, file: &CacheFile, now: DateTime<Utc>) {
    use crate::source::codex;
    let home = settings::codex_home();
    let present = home.as_ref().is_some_and(|h| h.is_dir());
    let held = file.org(Some(codex::ORG));
    if !present && held.is_none() {
        return;
    }
    let line = |out: &mut Lines, label: &str, value: String| {
        out.line(format!("  {label:<14} {value}"));
    };
    out.blank();
    out.line("codex (OpenAI Codex's plan, from its session logs; read by refresh)");
    let by = settings::codex_home_from().map_or("default ~/.codex", |(_, by)| by);
    match &home {
        Some(h) => line(
            out,
            "looked in",
            format!(
                "{}/sessions ({by}{})",
                h.display(),
                if present { "" } else { ", absent" }
            ),
        ),
        None => line(out, "looked in", "nowhere (no HOME)".to_string()),
    }
    if let Some(h) = home.as_ref().filter(|_| present) {
        let newest = codex::newest_logs(h).into_iter().next();
        let shown = match newest {
            Some(log) => {
                let age = std::fs::metadata(&log)
                    .and_then(|m| m.modified())
                    .ok()
                    .map(DateTime::<Utc>::from)
                    .map_or("age unknown".to_string(), |t| {
                        format!(
                            "written {} ago",
                            short_duration((now - t).num_seconds().max(0))
                        )
                    });
                format!("{} ({age})", log.display())
            }
            None => "none".to_string(),
        };
        line(out, "newest log", shown);
        let login = if codex::has_login(h) {
            "present (auth.json; never written by quotaline)"
        } else {
            "absent (no auth.json)"
        };
        line(out, "login", login.to_string());
    }
    if let Some(why) = file.codex_logs.as_ref().and_then(|m| m.value.as_ref()) {
        line(out, "logs", why.clone());
    }
    let api = if settings::codex_api() {
        match &file.codex_api_error {
            Some(why) => format!("on (codex_api = true); last answer: {why}"),
            None => "on (codex_api = true)".to_string(),
        }
    } else {
        "off (codex_api = true in config.toml asks the ChatGPT backend)".to_string()
    };
    line(out, "api", api);
    let reading = match held.and_then(|o| o.newest_reading()) {
        Some(p) => format!(
            "{} {} ago",
            p.source,
            short_duration((now - p.at).num_seconds().max(0))
        ),
        None => "none yet".to_string(),
    };
    line(out, "reading", reading);
}

/// `[notify]`: what is delivered, where, and how the last delivery went. A desktop that
/// cannot be reached is said here, once, and nowhere else.
fn notifications(out: &mut Lines, cache: &Cache, file: &CacheFile, now: DateTime<Utc>) {
    let n = settings::notify();
    out.blank();
    out.line("notifications ([notify] in config.toml)");
    let line = |out: &mut Lines, label: &str, value: String| {
        out.line(format!("  {label:<14} {value}"));
    };
    line(out, "delivered", n.events.value.join(", "));
    let here = notify::desktop();
    let desktop = match (n.desktop.value, &here) {
        (false, _) => "off (desktop = false)".to_string(),
        (true, Ok(program)) => format!("{} (from this environment)", program.display()),
        (true, Err(why)) => format!("skipped from this environment: {why}"),
    };
    line(out, "desktop", desktop);
    let command = match &n.command.value {
        Some(argv) => format!("{argv:?}, killed after {}", short_duration(n.timeout.value)),
        None if settings::is_refused("[notify] command") => {
            "REFUSED: others could change config.toml (see \"config refused\" above)".to_string()
        }
        None => "none".to_string(),
    };
    line(out, "command", command);
    let last = match &file.notify.delivery {
        None => "none yet".to_string(),
        Some(r) => {
            let mut parts = vec![format!(
                "{} ago",
                short_duration((now - r.at).num_seconds())
            )];
            match (&r.desktop, &here) {
                // Said once: the line above gave the reason.
                (Some(d), Err(why)) if *d == format!("skipped: {why}") => {
                    parts.push("desktop skipped".to_string())
                }
                (Some(d), _) => parts.push(format!("desktop {d}")),
                (None, _) => {}
            }
            if let Some(e) = &r.error {
                parts.push(format!("NOTHING DELIVERED: {e}"));
            }
            match (&r.hook, hook_failure(file, now)) {
                (_, Some(failed)) => parts.push(format!("command {failed}")),
                (Some(_), None) => parts.push("command ran".to_string()),
                (None, None) => {}
            }
            parts.join("; ")
        }
    };
    line(out, "last delivery", last);
    let week = crate::history::open_existing(&cache.dir)
        .and_then(|c| c.ok())
        .and_then(|c| crate::history::events(&c, now - Duration::days(7)).ok());
    if let Some(events) = week {
        line(
            out,
            "events",
            format!("{} in the last 7 days (`quotaline events`)", events.len()),
        );
    }
}

pub fn run() -> i32 {
    let (text, usable) = report();
    super::show(&text);
    if usable {
        0
    } else {
        1
    }
}
