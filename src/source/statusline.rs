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
use crate::snapshot::{
    merge_extra, parse_extra, parse_time, part, read_window, ExtraUsage, Org, Problem, Provenance,
    Raw, Snapshot, Unusable, Window,
};
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
    /// Windows whose number quotaline could not read or that made no sense, by key.
    pub unusable: BTreeMap<String, Unusable>,
    /// Extra usage, when Claude Code adds it to `rate_limits` (the `/usage` shapes).
    pub extra_usage: Option<ExtraUsage>,
    /// Claude Code's `version`, for the OAuth source's User-Agent.
    pub version: Option<String>,
}

impl Reading {
    /// Whether the reading carries anything to show.
    pub fn has_numbers(&self) -> bool {
        !self.windows.is_empty() || self.extra_usage.is_some()
    }
}

/// The fields of a window in `rate_limits`, as known today.
const FIELDS: &[&str] = &["used_percentage", "utilization", "resets_at"];

/// Reads whatever is usable; anything else (not JSON, no `rate_limits`, `null`) is an
/// empty reading, never an error: the status line must print regardless. Every window goes
/// through the same check as the server's bodies (`snapshot::read_window`); a window without
/// a number is simply absent, as stdin leaves them out in some releases.
pub fn parse(input: &[u8]) -> Reading {
    let Ok(doc) = serde_json::from_slice::<Value>(input) else {
        return Reading::default();
    };
    let version = doc
        .get("version")
        .and_then(Value::as_str)
        .and_then(super::oauth::clean_version);
    let mut reading = Reading {
        version,
        ..Reading::default()
    };
    let Some(limits) = doc.get("rate_limits").and_then(Value::as_object) else {
        return reading;
    };
    reading.extra_usage = parse_extra(limits.get("spend"), limits.get("extra_usage"));
    for (key, value) in limits {
        let Some(fields) = value.as_object() else {
            continue;
        };
        let number =
            if fields.contains_key("utilization") && !fields.contains_key("used_percentage") {
                "utilization"
            } else {
                "used_percentage"
            };
        // Codename windows are kept like the server's, by name; money is not a window.
        let window_shaped = window::is_known(key) || fields.contains_key(number);
        if !window::is_name(key)
            || !window_shaped
            || matches!(key.as_str(), "spend" | "extra_usage")
        {
            continue;
        }
        match read_window(fields, number, FIELDS, reset_time) {
            Ok(w) => {
                reading.windows.insert(key.clone(), w);
            }
            Err((Problem::NoNumber, _)) => {}
            Err((problem, why)) => {
                let note = Unusable {
                    problem,
                    detail: format!("rate_limits.{key}: {why}"),
                    source: SOURCE.to_string(),
                };
                reading.unusable.insert(key.clone(), note);
            }
        }
    }
    reading
}

/// Unix seconds (what Claude Code sends), or an ISO-8601 string. Seconds beyond what a
/// time can hold are the latest (or earliest) time, so the window check rejects them as
/// beyond 2100 (before 2020) rather than taking them for "no reset time".
fn reset_time(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::Number(n) => {
            let secs = n.as_f64()?;
            Some(
                Utc.timestamp_opt(secs as i64, 0)
                    .single()
                    .unwrap_or(if secs > 0.0 {
                        DateTime::<Utc>::MAX_UTC
                    } else {
                        DateTime::<Utc>::MIN_UTC
                    }),
            )
        }
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
/// other orgs and parts. A reading with nothing to show only notes what it sent that could
/// not be used, on an org already held, and leaves the org's age alone.
pub fn apply(
    snapshot: &mut Option<Snapshot>,
    reading: &Reading,
    account: Option<&Account>,
    now: DateTime<Utc>,
) {
    let uuid = org_uuid(account);
    let login = account.and_then(|a| a.account_uuid.as_deref());
    if !reading.has_numbers() {
        let held = snapshot.as_mut().and_then(|s| {
            let i = s.login_org_index(login, &uuid)?;
            s.orgs.get_mut(i)
        });
        if let Some(org) = held {
            org.unusable.extend(reading.unusable.clone());
        }
        return;
    }
    let snap = snapshot.get_or_insert_with(|| Snapshot {
        source: SOURCE.to_string(),
        fetched_at: now,
        active_org: Some(uuid.clone()),
        orgs: Vec::new(),
    });
    let index = match snap.login_org_index(login, &uuid) {
        Some(i) => i,
        None => {
            snap.orgs.push(Org {
                org_uuid: uuid.clone(),
                account_uuid: login.map(str::to_string),
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
                unusable: BTreeMap::new(),
            });
            snap.orgs.len() - 1
        }
    };
    let org = &mut snap.orgs[index];
    org.account_uuid = org.account_uuid.take().or(login.map(str::to_string));
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
        // A usable number for this window settles whatever was noted against it.
        org.unusable.remove(key);
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
    org.unusable.extend(reading.unusable.clone());
    if let Some(extra) = &reading.extra_usage {
        // Stdin is the newest word on the amounts; what only claude.ai's overage endpoint
        // says (out of credits, paused until) stays.
        org.extra_usage = merge_extra(Some(extra.clone()), org.extra_usage.take());
        org.sources
            .insert(part::EXTRA_USAGE.to_string(), here.clone());
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
    if !reading.has_numbers() && reading.unusable.is_empty() {
        return false;
    }
    let uuid = org_uuid(account);
    let login = account.and_then(|a| a.account_uuid.as_deref());
    let mut after = snapshot.clone();
    apply(&mut after, reading, account, now);
    let visible = |s: &Option<Snapshot>| {
        let org = s.as_ref()?.login_org(login, &uuid)?;
        let parts: Vec<_> = org.sources.keys().collect();
        Some((
            org.windows.clone(),
            org.org_name.clone(),
            org.email.clone(),
            org.plan.clone(),
            parts.len(),
            org.extra_usage.clone(),
            org.unusable.clone(),
        ))
    };
    if !reading.has_numbers() {
        // Nothing that keeps the org fresh: written only when a note is new.
        return visible(snapshot) != visible(&after);
    }
    let last = snapshot
        .as_ref()
        .and_then(|s| s.login_org(login, &uuid))
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

    fn fixture(name: &str) -> Reading {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        parse(&std::fs::read(path).unwrap())
    }

    #[test]
    fn numbers_stdin_cannot_mean_are_rejected_with_the_reason_and_105_is_kept() {
        let r = fixture("statusline_nonsense.json");
        assert_eq!(
            r.windows.into_iter().collect::<Vec<_>>(),
            [("seven_day_sonnet".to_string(), w(105.0, 1_795_860_000))]
        );
        let notes: Vec<(&str, Problem, &str)> = r
            .unusable
            .iter()
            .map(|(k, n)| (k.as_str(), n.problem, n.detail.as_str()))
            .collect();
        assert_eq!(
            notes,
            [
                (
                    "five_hour",
                    Problem::Rejected,
                    "rate_limits.five_hour: 1e308 is not a percent the server can mean (0 to 1000)"
                ),
                (
                    "seven_day",
                    Problem::Rejected,
                    "rate_limits.seven_day: -5 is not a percent the server can mean (0 to 1000)"
                ),
                (
                    "seven_day_opus",
                    Problem::Rejected,
                    "rate_limits.seven_day_opus: reset time 1970-01-01T00:00:01+00:00 is not one \
                     the server can mean (2020 to 2100)"
                ),
            ]
        );
        assert!(r.unusable.values().all(|n| n.source == SOURCE));
        // Seconds no time can hold are beyond 2100, not "no reset time".
        let huge =
            parse(br#"{"rate_limits": {"five_hour": {"used_percentage": 3, "resets_at": 1e30}}}"#);
        assert_eq!(huge.unusable["five_hour"].problem, Problem::Rejected);
    }

    #[test]
    fn per_model_windows_codenames_and_extra_usage_are_folded_when_sent() {
        let r = fixture("statusline_extended.json");
        let keys: Vec<&str> = r.windows.keys().map(String::as_str).collect();
        assert_eq!(keys, ["five_hour", "seven_day", "seven_day_opus"]);
        let extra = r.extra_usage.unwrap();
        assert_eq!((extra.used, extra.limit), (Some(7.77), Some(50.0)));
        let r =
            parse(br#"{"rate_limits": {"tangelo": {"used_percentage": 4, "resets_at": null}}}"#);
        assert_eq!(r.windows["tangelo"].utilization, 4.0);
        // Absent is absent: the window is left out, nothing is noted.
        let r = parse(br#"{"rate_limits": {"five_hour": {"used_percentage": null}}}"#);
        assert!(r.windows.is_empty() && r.unusable.is_empty());
    }

    #[test]
    fn a_reading_without_numbers_notes_on_a_held_org_but_never_refreshes_it() {
        let t = Utc.timestamp_opt(1_795_370_000, 0).unwrap();
        let mut snapshot = None;
        apply(&mut snapshot, &fixture("statusline_stdin.json"), None, t);
        let bad = parse(br#"{"rate_limits": {"five_hour": {"used_percentage": -1}}}"#);
        assert!(!bad.has_numbers());
        assert!(worth_writing(
            &snapshot,
            &bad,
            None,
            t + chrono::Duration::seconds(60)
        ));
        apply(&mut snapshot, &bad, None, t + chrono::Duration::seconds(60));
        let org = &snapshot.as_ref().unwrap().orgs[0];
        assert_eq!(org.unusable["five_hour"].problem, Problem::Rejected);
        assert_eq!(
            org.windows["five_hour"].utilization, 42.0,
            "the good number stays"
        );
        assert_eq!(
            org.read_at(),
            Some(t),
            "no news: the org's age is unchanged"
        );
        // The same note again is not worth a write.
        assert!(!worth_writing(
            &snapshot,
            &bad,
            None,
            t + chrono::Duration::seconds(90)
        ));
        // Without a held org, nothing is created for a note.
        let mut none = None;
        apply(&mut none, &bad, None, t);
        assert_eq!(none, None);
        // A good number for the window settles the note.
        apply(&mut snapshot, &fixture("statusline_stdin.json"), None, t);
        assert!(snapshot.unwrap().orgs[0].unusable.is_empty());
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
