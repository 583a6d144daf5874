//! The words of an event (`events.rs`): a title, a body and the two in one line, as the
//! desktop shows them and the hook and `quotaline events` get them. Plain text: the desktop's
//! markup is escaped where it is sent (`markup::notification_body`).

use super::markup::{self, Target};
use super::text::{money, percent, rate_text, short_duration, when};
use crate::error::ErrorKind;
use crate::event::{Event, Kind};
use crate::window;
use chrono::{DateTime, Utc};

/// Text that came from the server (a model's name in a window key, an org name, a reason, an
/// error), made safe to show: the one place it passes on its way into an event.
pub fn server_text(text: &str) -> String {
    markup::escape(text, Target::Plain)
}

/// Fills `title`, `body` and `message`; `several_orgs` names the org in the body.
pub fn word(e: &mut Event, several_orgs: bool) {
    let at = e.at;
    let label = e
        .window
        .as_deref()
        .map(|k| server_text(&window::label(k, e.window_name.as_deref())));
    let label = label.as_deref().unwrap_or("");
    // Codex's windows (`codex 5h`) are told as Codex's limits, not Claude's.
    let (product, label) = match label.strip_prefix("codex ") {
        Some(rest) if e.org == crate::snapshot::CODEX_ORG => ("Codex", rest),
        _ => ("Claude", label),
    };
    let pct = e.utilization.map(percent).unwrap_or_default();
    let resets = e
        .resets_at
        .filter(|&r| r > at)
        .map(|r| format!("resets {}", when(r, at)));
    let burn = match (e.rate_per_hour, e.eta) {
        (Some(rate), Some(eta)) if eta > at && e.resets_at.is_none_or(|r| eta <= r) => {
            Some(format!(
                "at {}, 100% in {}",
                rate_text(rate),
                short_duration((eta - at).num_seconds())
            ))
        }
        _ => None,
    };
    let (title, mut body): (String, Vec<String>) = match e.kind {
        Kind::Threshold => (
            format!("{product} {label} limit at {pct}"),
            [
                e.threshold.map(|t| {
                    let level = if e.level.as_deref() == Some("warn") {
                        "warning"
                    } else {
                        "critical"
                    };
                    format!("{level} from {}", percent(t))
                }),
                resets,
                burn,
            ]
            .into_iter()
            .flatten()
            .collect(),
        ),
        Kind::Limit => (
            format!("{product} {label} limit reached ({pct})"),
            resets.into_iter().collect(),
        ),
        Kind::Eta => (
            format!(
                "{product} {label} limit in {}",
                e.eta
                    .map(|t| short_duration((t - at).num_seconds()))
                    .unwrap_or_default()
            ),
            [
                Some(format!("now {pct}")),
                e.rate_per_hour.map(|r| format!("at {}", rate_text(r))),
                resets,
            ]
            .into_iter()
            .flatten()
            .collect(),
        ),
        Kind::Reset => (
            format!("{product} {label} limit reset"),
            [Some(format!("now {pct}: you can go again")), resets]
                .into_iter()
                .flatten()
                .collect(),
        ),
        Kind::Extra => {
            let x = e.extra_usage.clone().unwrap_or_default();
            let cur = x.currency.as_deref().map(server_text);
            let spent = match (x.used, x.limit) {
                (Some(u), Some(l)) => Some(format!(
                    "{} of {} spent",
                    money(u, cur.as_deref()),
                    money(l, cur.as_deref())
                )),
                (Some(u), None) => Some(format!("{} spent", money(u, cur.as_deref()))),
                _ => None,
            };
            let until =
                x.disabled_until
                    .as_deref()
                    .map(|t| match DateTime::parse_from_rfc3339(t) {
                        Ok(t) => format!("paused until {}", when(t.with_timezone(&Utc), at)),
                        Err(_) => format!("paused until {}", server_text(t)),
                    });
            let reason = x.disabled_reason.as_deref().map(server_text);
            let title = if e.level.as_deref() == Some("out_of_credits") {
                "Claude extra usage: out of credits"
            } else {
                "Claude extra usage paused"
            };
            (
                title.to_string(),
                [spent, until, reason].into_iter().flatten().collect(),
            )
        }
        Kind::Incident => {
            let i = e.incident.clone();
            let name = i.as_ref().map_or(String::new(), |i| server_text(&i.name));
            let title = if e.level.as_deref() == Some("resolved") {
                format!("Claude incident resolved: {name}")
            } else {
                format!("Claude incident: {name}")
            };
            let body = i.map_or(Vec::new(), |i| {
                let affects = (!i.components.is_empty())
                    .then(|| format!("affects {}", server_text(&i.components.join(", "))));
                [
                    i.impact.map(|m| format!("{} impact", server_text(&m))),
                    i.status
                        .filter(|_| e.level.as_deref() != Some("resolved"))
                        .map(|s| server_text(&s)),
                    affects,
                    i.shortlink.map(|l| server_text(&l)),
                ]
                .into_iter()
                .flatten()
                .collect()
            });
            (title, body)
        }
        Kind::Failing => {
            let age = e
                .period
                .map(|p| short_duration((at - p).num_seconds()))
                .unwrap_or_default();
            let error = e.error.as_ref();
            (
                format!("quotaline: no fresh numbers for {age}"),
                [
                    error.map(|r| server_text(&r.message)),
                    Some(format!(
                        "fix: {}",
                        error.map_or(ErrorKind::Network, |r| r.kind).fix()
                    )),
                ]
                .into_iter()
                .flatten()
                .collect(),
            )
        }
    };
    if several_orgs && e.kind != Kind::Incident {
        body.push(server_text(e.org_name.as_deref().unwrap_or(&e.org)));
    }
    e.title = title;
    e.body = body.join(" · ");
    e.message = if e.body.is_empty() {
        e.title.clone()
    } else {
        format!("{}: {}", e.title, e.body)
    };
}
