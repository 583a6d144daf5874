//! Which events an arrival fires (the vocabulary is `event.rs`). There is no daemon:
//! whichever process takes a reading in (`ingest.rs`) calls [`decide`] inside its cache
//! update, under the cache lock, with the snapshot as it was before the arrival and the cache
//! as it is after. So twenty processes ingesting the same reading decide once: the second
//! one's "before" already holds the reading. Deciding is pure: ingest then words the events
//! (`render/notice.rs`), asks the history what fired before (`history::record_events`) and
//! hands the rest to the outputs.
//!
//! Each event fires once in its period (a window's reset period, a failure's episode). What
//! fired is kept in the cache (`Books`, the fast answer) and in the history (`history.rs`, the
//! memory of record, which survives a corrupt or deleted cache). Periods come from the
//! server's reset times and the readings' own times, never from the local clock, so a clock
//! that steps backwards repeats nothing. A subject seen for the first time (the first reading
//! after install, a new org or window, a cache rebuilt from nothing) fires nothing: there is
//! no "before" to cross from.
//!
//! Every event is recorded; `[notify] events` only decides which are delivered
//! (`notify.rs`, detached, after the cache write).

use crate::cache::CacheFile;
use crate::claude_status::{ClaudeStatus, Incident};
use crate::error::ErrorKind;
use crate::event::{Books, Event, Kind, Urgency};
use crate::settings::{self, Scope};
use crate::snapshot::{ExtraUsage, Org, Window};
use crate::thresholds::Thresholds;
use crate::window::{RESET_DROP, SAME_RESET};
use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use std::collections::BTreeMap;

/// What the cache held before an arrival, as far as events care.
pub struct Before {
    /// By (account, org): two logins in one Team org each have their own crossings.
    #[allow(clippy::type_complexity)]
    orgs: BTreeMap<(Option<String>, String), (BTreeMap<String, Window>, Option<ExtraUsage>)>,
    error_at: Option<DateTime<Utc>>,
    /// Claude's status page as last read.
    status: Option<ClaudeStatus>,
}

impl Before {
    pub fn of(c: &CacheFile) -> Before {
        let orgs = c
            .snapshot
            .iter()
            .flat_map(|s| &s.orgs)
            .map(|o| {
                (
                    (o.account_uuid.clone(), o.org_uuid.clone()),
                    (o.windows.clone(), o.extra_usage.clone()),
                )
            })
            .collect();
        Before {
            orgs,
            error_at: c.state.error.as_ref().map(|e| e.at),
            status: c.claude_status.reading.clone(),
        }
    }
}

/// The events this arrival may have fired that the cache's books do not know yet (unworded:
/// `render::notice::word` words them); from here on the books know them. Called inside the
/// cache update, before the history is asked (`history::record_events`).
pub fn decide(before: &Before, c: &mut CacheFile, now: DateTime<Utc>) -> Vec<Event> {
    let candidates = candidates(before, c, now);
    let books = &mut c.notify.fired;
    books.retain(|m| m.at > now - Duration::days(Books::KEEP_DAYS));
    let news: Vec<Event> = candidates
        .into_iter()
        .filter(|e| !books.iter().any(|m| e.mark().repeats(m)))
        .collect();
    // Whether they fire now or the history knows them already, the books know them next.
    books.extend(news.iter().map(Event::mark));
    news
}

/// Everything this arrival may have fired, before asking what fired already (unworded).
fn candidates(before: &Before, c: &CacheFile, now: DateTime<Utc>) -> Vec<Event> {
    let mut out = incident_events(
        before.status.as_ref(),
        c.claude_status.reading.as_ref(),
        now,
    );
    let Some(snapshot) = &c.snapshot else {
        return out;
    };
    let notify = settings::notify();
    for org in &snapshot.orgs {
        // A new org is a first reading.
        // An entry no account had claimed yet (a cache from before accounts) is the same one.
        let held = before
            .orgs
            .get(&(org.account_uuid.clone(), org.org_uuid.clone()))
            .or_else(|| before.orgs.get(&(None, org.org_uuid.clone())));
        let Some((windows, extra)) = held else {
            continue;
        };
        for (key, w) in &org.windows {
            if let Some(was) = windows.get(key) {
                let limits = Limits {
                    percents: settings::notify_thresholds(key),
                    eta_warning: Duration::seconds(notify.eta_warning.value),
                };
                window_events(org, key, (was, w), limits, now, &mut out);
            }
        }
        if let Some(e) = extra_event(org, extra.as_ref(), now) {
            out.push(e);
        }
    }
    if let Some(e) = failing_event(
        before,
        c,
        Duration::seconds(notify.stale_warning.value),
        now,
    ) {
        out.push(e);
    }
    out
}

/// 0 below warn, 1 warn, 2 crit, 3 at the limit.
fn level(u: f64, t: Thresholds) -> u8 {
    if u >= 100.0 {
        3
    } else if u >= t.crit {
        2
    } else if u >= t.warn {
        1
    } else {
        0
    }
}

/// What a window's events are measured against.
#[derive(Clone, Copy)]
struct Limits {
    percents: Thresholds,
    eta_warning: Duration,
}

/// A window's events from its reading before and now (`was`, `w`).
fn window_events(
    org: &Org,
    key: &str,
    (was, w): (&Window, &Window),
    limits: Limits,
    at: DateTime<Utc>,
    out: &mut Vec<Event>,
) {
    let t = limits.percents;
    let pace = org.pace.get(key);
    let of_window = |kind, urgency| Event {
        window: Some(key.to_string()),
        window_name: w.display_name.clone(),
        utilization: Some(w.utilization),
        resets_at: w.resets_at,
        eta: pace.and_then(|p| p.eta),
        rate_per_hour: pace.and_then(|p| p.rate_per_hour),
        period: w.resets_at,
        ..Event::about(kind, urgency, org, at)
    };
    // A new period: the reset time moved on, or the number fell further than lag explains
    // (pace.rs's rule: the server resets without moving `resets_at` at times).
    let moved_on = matches!((was.resets_at, w.resets_at),
        (Some(a), Some(b)) if (b - a).num_seconds() > SAME_RESET);
    let reset = moved_on || w.utilization < was.utilization - RESET_DROP;
    if reset && was.resets_at.is_some() && level(was.utilization, t) >= 1 {
        out.push(Event {
            period: was.resets_at,
            ..of_window(Kind::Reset, Urgency::Low)
        });
    }
    // Without a reset time there is no period to fire once in (the server sends one for
    // every window in use).
    if w.resets_at.is_none() {
        return;
    }
    let before = if reset { 0 } else { level(was.utilization, t) };
    let now = level(w.utilization, t);
    if now > before {
        let (kind, level, threshold, urgency) = match now {
            3 => (Kind::Limit, None, None, Urgency::Critical),
            2 => (
                Kind::Threshold,
                Some("crit"),
                Some(t.crit),
                Urgency::Critical,
            ),
            _ => (Kind::Threshold, Some("warn"), Some(t.warn), Urgency::Normal),
        };
        out.push(Event {
            level: level.map(str::to_string),
            threshold,
            ..of_window(kind, urgency)
        });
    }
    let due = pace
        .filter(|p| p.hits_before_reset == Some(true))
        .and_then(|p| p.eta);
    if let Some(eta) = due {
        let left = eta - at;
        if w.utilization < 100.0 && left > Duration::zero() && left <= limits.eta_warning {
            out.push(of_window(Kind::Eta, Urgency::Critical));
        }
    }
}

/// Extra usage's trouble: out of credits, else paused; nothing while it is off.
fn extra_trouble(e: Option<&ExtraUsage>) -> Option<&'static str> {
    let e = e.filter(|e| e.enabled)?;
    if e.out_of_credits == Some(true) {
        Some("out_of_credits")
    } else if e.disabled_reason.is_some() || e.disabled_until.is_some() {
        Some("paused")
    } else {
        None
    }
}

/// An `extra` event when `org`'s trouble is new since `was` (a first sight of extra usage is
/// not news).
fn extra_event(org: &Org, was: Option<&ExtraUsage>, at: DateTime<Utc>) -> Option<Event> {
    let now = org.extra_usage.as_ref();
    let trouble = extra_trouble(now)?;
    if was.is_none() || extra_trouble(was) == Some(trouble) {
        return None;
    }
    let extra = now?;
    // Once per pause when the server says until when, else once per month (credits are
    // monthly).
    let month = Utc
        .with_ymd_and_hms(at.year(), at.month(), 1, 0, 0, 0)
        .single();
    let period = extra
        .disabled_until
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .or(month);
    let urgency = if trouble == "out_of_credits" {
        Urgency::Critical
    } else {
        Urgency::Normal
    };
    Some(Event {
        level: Some(trouble.to_string()),
        extra_usage: Some(extra.clone()),
        period,
        ..Event::about(Kind::Extra, urgency, org, at)
    })
}

/// `incident` events from a new reading of Claude's status page: each incident it lists that
/// the last reading did not (`started`), and each the last reading listed that it no longer
/// does (`resolved`). A first reading is no news: there is no "before" to compare with.
fn incident_events(
    was: Option<&ClaudeStatus>,
    now_status: Option<&ClaudeStatus>,
    at: DateTime<Utc>,
) -> Vec<Event> {
    let (Some(was), Some(is)) = (was, now_status) else {
        return Vec::new();
    };
    if was.at == is.at {
        return Vec::new();
    }
    let listed = |s: &ClaudeStatus, id: &str| s.incidents.iter().any(|i| i.id == id);
    let event = |incident: &Incident, level: &str, urgency| Event {
        level: Some(level.to_string()),
        period: incident.started_at,
        incident: Some(incident.clone()),
        ..Event::new(Kind::Incident, urgency, String::new(), None, at)
    };
    let started = is
        .incidents
        .iter()
        .filter(|i| !listed(was, &i.id))
        .map(|i| {
            let urgency = match i.impact.as_deref() {
                Some("major" | "critical") => Urgency::Critical,
                _ => Urgency::Normal,
            };
            event(i, "started", urgency)
        });
    let resolved = was
        .incidents
        .iter()
        .filter(|i| !listed(is, &i.id))
        .map(|i| event(i, "resolved", Urgency::Low));
    started.chain(resolved).collect()
}

/// A `failing` event: this arrival recorded a failure, and the org a line shows has had no
/// fresh reading for `stale_warning`. Once per cause and episode (the last good reading). A
/// box that never had a session (`no_credentials`) is not failing, only unset.
fn failing_event(
    before: &Before,
    c: &CacheFile,
    stale_warning: Duration,
    now: DateTime<Utc>,
) -> Option<Event> {
    let error = c
        .state
        .error
        .as_ref()
        .filter(|e| Some(e.at) != before.error_at)?;
    if error.kind == ErrorKind::NoCredentials {
        return None;
    }
    let org = c.org(settings::org_setting(None, Scope::Shared).value.as_deref())?;
    let last = org
        .read_at()
        .or(c.snapshot.as_ref().map(|s| s.fetched_at))?;
    if now - last < stale_warning {
        return None;
    }
    Some(Event {
        level: Some(error.kind.name()),
        error: Some(error.clone()),
        period: Some(last),
        ..Event::about(Kind::Failing, Urgency::Normal, org, now)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FetchError;
    use crate::snapshot::{Pace, Snapshot};
    use std::path::Path;

    /// 2026-11-22 12:00 UTC plus `mins` minutes.
    fn t(mins: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap() + Duration::minutes(mins)
    }

    fn cache(u: f64, reset_min: Option<i64>, read_min: i64) -> CacheFile {
        let org = Org {
            org_name: Some("Org".into()),
            ..crate::snapshot::five_hour_org("org", u, reset_min.map(t), t(read_min))
        };
        CacheFile {
            snapshot: Some(Snapshot {
                source: "claude.ai".into(),
                fetched_at: t(read_min),
                active_org: None,
                orgs: vec![org],
            }),
            ..CacheFile::default()
        }
    }

    /// Readings (utilization, reset minute, at minute) ingested one after the other into one
    /// cache, the history in `dir`; the names fired at each.
    fn run(dir: &Path, c: &mut CacheFile, steps: &[(f64, Option<i64>, i64)]) -> Vec<Vec<String>> {
        steps
            .iter()
            .map(|&(u, reset, at)| {
                let before = Before::of(c);
                let next = cache(u, reset, at);
                c.snapshot = next.snapshot;
                crate::ingest::fire(dir, &before, c, t(at))
                    .iter()
                    .map(|e| e.name().to_string())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_first_reading_fires_nothing_and_a_crossing_fires_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = CacheFile::default();
        let fired = run(
            dir.path(),
            &mut c,
            &[
                (99.0, Some(300), 0),
                (80.0, Some(600), 10), // another period: a reset from 99%
                (91.0, Some(600), 20),
                (89.0, Some(600), 30),
                (92.0, Some(600), 40),
                (92.0, Some(600), 41),
            ],
        );
        assert_eq!(
            fired,
            [
                vec![],
                vec!["reset", "warn"],
                vec!["crit"],
                vec![],
                vec![],
                vec![]
            ]
        );
    }

    #[test]
    fn a_jump_fires_the_highest_level_only_and_covers_the_lower_ones() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = CacheFile::default();
        let fired = run(
            dir.path(),
            &mut c,
            &[
                (10.0, Some(300), 0),
                (100.0, Some(300), 10),
                (95.0, Some(300), 20),
                (100.0, Some(300), 30),
            ],
        );
        assert_eq!(fired, [vec![], vec!["limit"], vec![], vec![]]);
    }

    #[test]
    fn the_history_is_the_memory_when_the_cache_is_lost() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = CacheFile::default();
        run(
            dir.path(),
            &mut c,
            &[(50.0, Some(300), 0), (91.0, Some(300), 10)],
        );
        // The cache is corrupt: read as empty, books and all.
        let mut lost = CacheFile::default();
        let fired = run(
            dir.path(),
            &mut lost,
            &[(89.0, Some(300), 20), (92.0, Some(300), 30)],
        );
        assert_eq!(fired, [Vec::<String>::new(), vec![]]);
        // A later period fires again.
        let fired = run(dir.path(), &mut lost, &[(91.5, Some(600), 320)]);
        assert_eq!(fired, [vec!["reset", "crit"]]);
    }

    #[test]
    fn a_clock_stepping_backwards_repeats_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = CacheFile::default();
        run(
            dir.path(),
            &mut c,
            &[(50.0, Some(300), 0), (91.0, Some(300), 10)],
        );
        // The clock goes back two hours; the server's reset time is the same.
        let fired = run(
            dir.path(),
            &mut c,
            &[(88.0, Some(300), -120), (93.0, Some(300), -110)],
        );
        assert_eq!(fired, [Vec::<String>::new(), vec![]]);
    }

    #[test]
    fn the_server_jittering_its_reset_time_is_one_period() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = CacheFile::default();
        let fired = run(
            dir.path(),
            &mut c,
            &[
                (50.0, Some(300), 0),
                (91.0, Some(301), 10),
                (89.0, Some(299), 20),
                (92.0, Some(300), 30),
            ],
        );
        assert_eq!(fired, [vec![], vec!["crit"], vec![], vec![]]);
    }

    #[test]
    fn eta_fires_within_the_warning_and_before_the_reset_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = cache(60.0, Some(300), 0);
        let pace = |eta_min: i64, before_reset: bool| Pace {
            rate_per_hour: Some(30.0),
            eta: Some(t(eta_min)),
            hits_before_reset: Some(before_reset),
            ..Pace::default()
        };
        let mut step = |u: f64, at: i64, p: Pace| {
            let before = Before::of(&c);
            let mut next = cache(u, Some(300), at);
            next.snapshot.as_mut().unwrap().orgs[0]
                .pace
                .insert("five_hour".into(), p);
            c.snapshot = next.snapshot;
            crate::ingest::fire(dir.path(), &before, &mut c, t(at))
                .iter()
                .map(|e| (e.name().to_string(), e.eta))
                .collect::<Vec<_>>()
        };
        assert_eq!(step(61.0, 10, pace(90, true)), []);
        assert_eq!(step(62.0, 20, pace(400, false)), []);
        assert_eq!(
            step(70.0, 30, pace(55, true)),
            [("eta".into(), Some(t(55)))]
        );
        assert_eq!(step(72.0, 40, pace(60, true)), []);
    }

    #[test]
    fn failing_fires_once_per_cause_after_the_stale_warning() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = cache(40.0, Some(300), 0);
        let mut fail = |kind: ErrorKind, at: i64| {
            let before = Before::of(&c);
            c.state
                .record_failure(&FetchError::new(kind, "session expired"), t(at));
            crate::ingest::fire(dir.path(), &before, &mut c, t(at))
                .iter()
                .map(|e| e.name().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(fail(ErrorKind::Unauthorized, 10), Vec::<String>::new());
        assert_eq!(fail(ErrorKind::Unauthorized, 31), ["failing"]);
        assert_eq!(fail(ErrorKind::Unauthorized, 40), Vec::<String>::new());
        assert_eq!(fail(ErrorKind::Cloudflare, 50), ["failing"]);
        assert_eq!(fail(ErrorKind::NoCredentials, 60), Vec::<String>::new());
        let mut never = CacheFile::default();
        let before = Before::of(&never);
        never
            .state
            .record_failure(&FetchError::new(ErrorKind::Unauthorized, "x"), t(100));
        assert_eq!(
            crate::ingest::fire(dir.path(), &before, &mut never, t(100)),
            []
        );
    }

    #[test]
    fn extra_trouble_fires_when_it_starts() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = cache(40.0, Some(300), 0);
        let extra = |out: bool| ExtraUsage {
            enabled: true,
            used: Some(202.14),
            limit: Some(200.0),
            currency: Some("USD".into()),
            out_of_credits: Some(out),
            disabled_reason: out.then(|| "out_of_credits".into()),
            disabled_until: out.then(|| "2026-12-01T00:00:00Z".into()),
            balance: None,
        };
        let mut step = |e: Option<ExtraUsage>, at: i64| {
            let before = Before::of(&c);
            let mut next = cache(40.0, Some(300), at);
            next.snapshot.as_mut().unwrap().orgs[0].extra_usage = e;
            c.snapshot = next.snapshot;
            crate::ingest::fire(dir.path(), &before, &mut c, t(at))
                .iter()
                .map(|e| (e.name().to_string(), e.level.clone().unwrap()))
                .collect::<Vec<_>>()
        };
        // A first sight of extra usage, already out of credits: not news.
        assert_eq!(step(Some(extra(true)), 1), []);
        assert_eq!(step(Some(extra(false)), 2), []);
        assert_eq!(
            step(Some(extra(true)), 3),
            [("extra".into(), "out_of_credits".into())]
        );
        // Back and out again within the same pause: once.
        assert_eq!(step(Some(extra(false)), 4), []);
        assert_eq!(step(Some(extra(true)), 5), []);
    }
}
