//! `quotaline status`: the human-readable report. Reads the cache only.

use crate::cache::{Cache, CacheFile};
use crate::render::text::{money, percent, short_duration};
use crate::settings;
use crate::snapshot::Org;
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

fn window_label(key: &str) -> String {
    match key {
        "five_hour" => "5-hour".into(),
        "seven_day" => "weekly".into(),
        k => match k.strip_prefix("seven_day_") {
            Some(rest) => format!("weekly {}", rest.replace('_', " ")),
            None => k.replace('_', " "),
        },
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
            &window_label(key),
            format!("{:>4}  {reset}", percent(w.utilization)),
        );
        if let Some(pace) = org.pace.get(key) {
            field(out, "", crate::history::pace_text(pace, now));
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
            let age = file.age(now).unwrap_or(0);
            let _ = writeln!(
                out,
                "source {} · fetched {} · {} ago{}",
                s.source,
                s.fetched_at.format("%Y-%m-%d %H:%M:%S UTC"),
                short_duration(age),
                if age >= settings::ttl() {
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
    if let Some(line) = super::native_host::last_report(file, now) {
        let _ = writeln!(out, "browser extension: {line}");
    }
    out
}

pub fn run() -> i32 {
    let cache = Cache::locate();
    let file = cache.read();
    let text = report(&file, Utc::now());
    super::out(&format!("{text}cache: {}\n", cache.path().display()));
    0
}
