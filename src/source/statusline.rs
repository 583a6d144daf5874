//! Claude Code's statusLine stdin: a fresh server reading that cost no request. Claude Code
//! (2.1.80+) pipes `rate_limits` (five-hour and weekly windows, sometimes per-model ones)
//! to the statusLine command after a session's first response; this folds them into the
//! cached snapshot of Claude Code's org.
//!
//! The values can lag a little, so within one window (same `resets_at`) a number never
//! moves backwards; a later `resets_at` is a new window and starts afresh. Windows stdin
//! does not carry keep their values and provenance from the other sources.

use super::oauth::UNKNOWN_ORG;
use crate::auth::claude_code::Account;
use crate::snapshot::{parse_time, part, Org, Provenance, Raw, Snapshot, Window};
use crate::window;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use std::collections::BTreeMap;

pub const SOURCE: &str = "statusline";

/// Two `resets_at` closer than this name the same window: claude.ai sends microseconds,
/// stdin whole seconds, and real windows are hours apart.
const SAME_WINDOW_SECS: i64 = 60;

/// What one stdin object carried.
#[derive(Debug, Default, PartialEq)]
pub struct Reading {
    pub windows: BTreeMap<String, Window>,
    /// Claude Code's `version`, for the OAuth source's User-Agent.
    pub version: Option<String>,
}

/// Reads whatever is usable; anything else (not JSON, no `rate_limits`, `null`) is an
/// empty reading, never an error: the status line must print regardless.
pub fn parse(input: &[u8]) -> Reading {
    let Ok(doc) = serde_json::from_slice::<Value>(input) else {
        return Reading::default();
    };
    let version = doc
        .get("version")
        .and_then(Value::as_str)
        .and_then(super::oauth::clean_version);
    let mut windows = BTreeMap::new();
    if let Some(limits) = doc.get("rate_limits").and_then(Value::as_object) {
        for (key, value) in limits {
            if !window::is_known(key) {
                continue;
            }
            let Some(utilization) = value
                .get("used_percentage")
                .or_else(|| value.get("utilization"))
                .and_then(Value::as_f64)
            else {
                continue;
            };
            windows.insert(
                key.clone(),
                Window {
                    utilization,
                    resets_at: value.get("resets_at").and_then(reset_time),
                    display_name: None,
                },
            );
        }
    }
    Reading { windows, version }
}

/// Unix seconds (what Claude Code sends), or an ISO-8601 string.
fn reset_time(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::Number(n) => Utc.timestamp_opt(n.as_f64()? as i64, 0).single(),
        _ => parse_time(v),
    }
}

/// Whether `new` may replace `old`: a later window always, the same window only upward.
pub fn takes_over(old: &Window, new: &Window) -> bool {
    match (old.resets_at, new.resets_at) {
        (Some(o), Some(n)) => {
            let delta = n.timestamp() - o.timestamp();
            if delta.abs() < SAME_WINDOW_SECS {
                new.utilization >= old.utilization
            } else {
                delta > 0
            }
        }
        // Without a reset time the windows cannot be told apart: the newest reading wins.
        _ => true,
    }
}

/// The org stdin's numbers belong to.
pub fn org_uuid(account: Option<&Account>) -> String {
    account.map_or_else(|| UNKNOWN_ORG.to_string(), |a| a.org_uuid.clone())
}

/// Folds a reading into the snapshot. Creates the snapshot (and the org) when there is none;
/// otherwise leaves `fetched_at` alone: a statusline merge is not a full refresh of the
/// other orgs and parts.
pub fn apply(
    snapshot: &mut Option<Snapshot>,
    reading: &Reading,
    account: Option<&Account>,
    now: DateTime<Utc>,
) {
    if reading.windows.is_empty() {
        return;
    }
    let uuid = org_uuid(account);
    let snap = snapshot.get_or_insert_with(|| Snapshot {
        source: SOURCE.to_string(),
        fetched_at: now,
        active_org: Some(uuid.clone()),
        orgs: Vec::new(),
    });
    let index = match snap.orgs.iter().position(|o| o.org_uuid == uuid) {
        Some(i) => i,
        None => {
            snap.orgs.push(Org {
                org_uuid: uuid.clone(),
                org_name: account
                    .and_then(|a| a.org_name.clone())
                    .or_else(|| account.is_none().then(|| "Claude Code".to_string())),
                email: None,
                plan: None,
                windows: BTreeMap::new(),
                extra_usage: None,
                subscription: None,
                sources: BTreeMap::new(),
                raw: Raw::default(),
                pace: BTreeMap::new(),
            });
            snap.orgs.len() - 1
        }
    };
    let org = &mut snap.orgs[index];
    if let Some(a) = account {
        org.org_name = org.org_name.take().or_else(|| a.org_name.clone());
        org.email = org.email.take().or_else(|| a.email.clone());
        org.plan = org.plan.take().or_else(|| a.plan.clone());
    }
    let here = Provenance {
        source: SOURCE.to_string(),
        at: now,
    };
    for (key, new) in &reading.windows {
        if org
            .windows
            .get(key)
            .is_some_and(|old| !takes_over(old, new))
        {
            continue;
        }
        // Stdin names no model: the server's name for it, when known, stays for labels.
        let display_name = org.windows.get(key).and_then(|w| w.display_name.clone());
        org.windows.insert(
            key.clone(),
            Window {
                display_name: new.display_name.clone().or(display_name),
                ..new.clone()
            },
        );
        org.sources.insert(part::window(key), here.clone());
    }
    org.sources.insert(part::STATUSLINE.to_string(), here);
}

/// A reading that repeats what the cache holds is written at most this often: Claude Code
/// calls the statusLine several times a second while it streams, and every write is an
/// fsync. The time of the last reading only keeps the org's line fresh.
const HEARTBEAT_SECS: i64 = 10;

/// Whether folding `reading` in is news worth a cache write: a number, a name or a new org,
/// or a heartbeat that has come due.
pub fn worth_writing(
    snapshot: &Option<Snapshot>,
    reading: &Reading,
    account: Option<&Account>,
    now: DateTime<Utc>,
) -> bool {
    if reading.windows.is_empty() {
        return false;
    }
    let uuid = org_uuid(account);
    let mut after = snapshot.clone();
    apply(&mut after, reading, account, now);
    let visible = |s: &Option<Snapshot>| {
        let org = s.as_ref()?.orgs.iter().find(|o| o.org_uuid == uuid)?;
        let parts: Vec<_> = org.sources.keys().collect();
        Some((
            org.windows.clone(),
            org.org_name.clone(),
            org.email.clone(),
            org.plan.clone(),
            parts.len(),
        ))
    };
    let last = snapshot
        .as_ref()
        .and_then(|s| s.orgs.iter().find(|o| o.org_uuid == uuid))
        .and_then(|o| o.sources.get(part::STATUSLINE))
        .map(|p| p.at);
    visible(snapshot) != visible(&after)
        || last.is_none_or(|t| (now - t).num_seconds() >= HEARTBEAT_SECS)
}

/// When a full refresh replaces an org's windows: stdin numbers that are higher within the
/// same window stay (with their provenance), so the line never flickers backwards between
/// a lagging source and a fresher one. The time of the last stdin reading stays too.
pub fn keep_high_water(old: &Org, new: &mut Org) {
    for (key, old_window) in &old.windows {
        let part = part::window(key);
        let Some(p) = old.sources.get(&part).filter(|p| p.source == SOURCE) else {
            continue;
        };
        let keep = new
            .windows
            .get(key)
            .is_some_and(|w| !takes_over(old_window, w));
        if keep {
            new.windows.insert(key.clone(), old_window.clone());
            new.sources.insert(part, p.clone());
        }
    }
    if let Some(p) = old.sources.get(part::STATUSLINE) {
        new.sources
            .entry(part::STATUSLINE.to_string())
            .or_insert_with(|| p.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(utilization: f64, resets: i64) -> Window {
        Window {
            utilization,
            resets_at: Utc.timestamp_opt(resets, 0).single(),
            display_name: None,
        }
    }

    #[test]
    fn stdin_payload_gives_windows_and_version() {
        let path = format!(
            "{}/tests/fixtures/statusline_stdin.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let r = parse(&std::fs::read(path).unwrap());
        assert_eq!(r.version.as_deref(), Some("2.1.230"));
        assert_eq!(r.windows["five_hour"], w(42.0, 1_795_374_000));
        assert_eq!(r.windows["seven_day"], w(15.0, 1_795_860_000));
        assert_eq!(r.windows.len(), 2);
    }

    #[test]
    fn unusable_stdin_is_an_empty_reading() {
        for input in [
            &b""[..],
            b"not json",
            b"{}",
            b"{\"rate_limits\": null}",
            b"{\"rate_limits\": {\"five_hour\": {\"used_percentage\": \"42\"}}}",
            b"[1,2]",
        ] {
            assert!(parse(input).windows.is_empty(), "{input:?}");
        }
    }

    #[test]
    fn same_window_never_moves_backwards_and_a_new_window_starts_afresh() {
        let t = 1_795_374_000;
        assert!(!takes_over(&w(42.0, t), &w(40.0, t)));
        assert!(takes_over(&w(42.0, t), &w(43.0, t)));
        // claude.ai's microseconds against stdin's whole seconds: the same window.
        assert!(!takes_over(&w(42.0, t + 1), &w(40.0, t)));
        assert!(takes_over(&w(90.0, t), &w(3.0, t + 5 * 3600)));
        // A reading from the window before is not news.
        assert!(!takes_over(&w(3.0, t + 5 * 3600), &w(90.0, t)));
    }
}
