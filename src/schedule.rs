//! When to ask the server again, what to ask it for, and when a number on screen is stale:
//! the one rule that the segment, the statusline, `json`, `check`, the shells' prompt files,
//! `status`, `doctor` and `refresh` follow. Pure: the cache as read, a clock, the settings.
//!
//! The schedule follows the numbers. The TTL is the shortest interval; each org's `/usage`
//! waits longer while its readings come back unchanged ([`LADDER`]), and returns to the
//! shortest at once when a reading changes, while Claude Code's statusLine shows activity,
//! while a window is at or above `warn`, and in the minutes before a known reset. A random
//! stretch ([`Cadence::jitter`]) keeps many machines from refreshing in step. The parts that
//! change once a month (the org list, the subscription) are asked at most hourly; the
//! overage endpoint when the copy of extra usage in `/usage` changed, else hourly while it is
//! on (`source/claude_ai.rs`).

use crate::cache::{believable, CacheFile, Cadence, State};
use crate::settings::{self, Scope};
use crate::snapshot::{part, Org, Window};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// The interval after 0, 1, 2, then 3 or more unchanged readings, in seconds, never shorter
/// than the TTL: 1, 2, 5, then 10 minutes. The slowest step is ten minutes
/// because a number can start moving at any time (a session on another machine, claude.ai in
/// a browser without the extension) and ten minutes late is as late as a prompt may be; it
/// is what one peer caches for, and twice another's slowest poll. Idle, an hour then costs
/// about eight readings instead of forty-eight.
pub const LADDER: [i64; 4] = [60, 120, 300, 600];

/// From this long before a known reset, the shortest interval: whoever watches the line then
/// is waiting for the reset.
pub const RESET_LEAD_SECS: i64 = 5 * 60;

/// The org list, the subscription, and the overage endpoint while its spend stands still,
/// are asked at most this often: plans and renewal dates change once a month.
pub const HOURLY_SECS: i64 = 3600;

/// The largest random stretch of an interval, in per mille: up to a tenth longer.
pub const MAX_JITTER: u16 = 100;

/// Why an org's interval is what it is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Why {
    /// No full reading of this org yet.
    NoReading,
    /// The last reading brought new numbers (or was the first).
    Changed,
    /// Claude Code's statusLine reported since the last full reading: someone is working.
    Active,
    /// A window is at or above `warn` (this percent).
    AboveWarn(f64),
    /// A window resets at this time, within [`RESET_LEAD_SECS`].
    ResetSoon(DateTime<Utc>),
    /// This many readings in a row brought nothing new.
    Unchanged(u32),
}

/// When one org's numbers are next due, and why.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Due {
    pub at: DateTime<Utc>,
    /// The interval in force, jitter included, in seconds.
    pub interval: i64,
    pub why: Why,
}

/// Who asks for a refresh: the schedule (a prompt or a bar saw one due), a person (`quotaline
/// refresh`, `segment --wait`: numbers no older than the TTL, whatever the back-off), or a
/// person forcing it (`--force`: every part, now).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asker {
    Schedule,
    Person,
    Force,
}

/// What one refresh asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Read the org list (`/api/account`), and why; `None` keeps the list held.
    pub account: Option<String>,
    /// The orgs whose `/usage` is due; `None` is every org.
    pub usage: Option<BTreeSet<String>>,
    /// Every part whatever its age (`--force`, the browser extension's answers).
    pub everything: bool,
    pub now: DateTime<Utc>,
}

impl Plan {
    /// Every part of every org, the org list too.
    pub fn everything(now: DateTime<Utc>) -> Plan {
        Plan {
            account: Some("asked for everything".into()),
            usage: None,
            everything: true,
            now,
        }
    }

    /// Whether `org`'s `/usage` is asked.
    pub fn wants_usage(&self, org: &str) -> bool {
        self.usage.as_ref().is_none_or(|u| u.contains(org))
    }

    /// Nothing to ask: the refresh is fresh already.
    pub fn is_empty(&self) -> bool {
        !self.everything
            && self.account.is_none()
            && self.usage.as_ref().is_some_and(|u| u.is_empty())
    }

    /// Whether an hourly part last read at `at` (`None`: never) is asked.
    pub fn wants_hourly(&self, at: Option<DateTime<Utc>>) -> bool {
        self.everything || hourly_due(at, self.now)
    }
}

/// Whether an hourly part read at `at` is due at `now` (a time from the future is due).
pub fn hourly_due(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    at.and_then(|t| believable(t, now))
        .is_none_or(|t| now - t >= Duration::seconds(HOURLY_SECS))
}

/// The TTL and the shared `warn` percent, read once: a process's settings do not change
/// under it, and the prompt path asks for them for every org.
fn rules() -> (i64, f64) {
    static RULES: OnceLock<(i64, f64)> = OnceLock::new();
    *RULES.get_or_init(|| {
        let warn = settings::thresholds(None, None, None, Scope::Shared).warn;
        (settings::ttl(), warn)
    })
}

fn ttl() -> i64 {
    rules().0
}

/// When `org`'s windows were last read in full (claude.ai, OAuth, the browser extension,
/// Claude Code's own cache): what the schedule counts from. A statusLine reading carries only
/// some windows, so it does not hold a full reading back.
fn full_reading_at(org: &Org, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    org.sources
        .get(part::USAGE)
        .and_then(|p| believable(p.at, now))
}

/// Whether Claude Code's statusLine reported for `org` since its last full reading.
fn active(org: &Org, now: DateTime<Utc>) -> bool {
    let statusline = org
        .sources
        .get(part::STATUSLINE)
        .and_then(|p| believable(p.at, now));
    match (statusline, full_reading_at(org, now)) {
        (Some(s), Some(f)) => s > f,
        (Some(_), None) => true,
        _ => false,
    }
}

/// The highest current window at or above `warn`, if any.
fn above_warn(org: &Org, now: DateTime<Utc>) -> Option<f64> {
    org.worst(now).filter(|&u| u >= rules().1)
}

/// The interval in force for `org` (jitter included) and why, not counting a reset ahead.
fn interval(file: &CacheFile, org: &Org, now: DateTime<Utc>) -> (i64, Why) {
    let cadence = cadence(file, org);
    let why = if full_reading_at(org, now).is_none() {
        Why::NoReading
    } else if active(org, now) {
        Why::Active
    } else if let Some(u) = above_warn(org, now) {
        Why::AboveWarn(u)
    } else if cadence.unchanged == 0 {
        Why::Changed
    } else {
        Why::Unchanged(cadence.unchanged)
    };
    let step = match why {
        Why::Unchanged(n) => LADDER[(n as usize).min(LADDER.len() - 1)],
        _ => LADDER[0],
    };
    (stretched(step.max(ttl()), &cadence), why)
}

fn stretched(secs: i64, cadence: &Cadence) -> i64 {
    secs + secs * i64::from(cadence.jitter.min(MAX_JITTER)) / 1000
}

/// The earliest reset of `org`'s windows after `after`.
fn reset_after(org: &Org, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    org.windows
        .values()
        .filter_map(|w: &Window| w.resets_at)
        .filter(|&t| t > after)
        .min()
}

/// When `org`'s `/usage` is next due and why: its interval after its last full reading, and
/// from [`RESET_LEAD_SECS`] before a known reset no later than a TTL after it. Never read:
/// due now.
pub fn org_due(file: &CacheFile, org: &Org, now: DateTime<Utc>) -> Due {
    let (secs, why) = interval(file, org, now);
    // An org asked for without a usable answer waits its interval from the question.
    let asked = org
        .sources
        .get(part::ASKED)
        .and_then(|p| believable(p.at, now));
    let Some(read) = full_reading_at(org, now).map(|r| asked.map_or(r, |a| a.max(r))) else {
        return Due {
            at: now,
            interval: secs,
            why,
        };
    };
    let mut due = Due {
        at: read + Duration::seconds(secs),
        interval: secs,
        why,
    };
    if let Some(reset) = reset_after(org, read) {
        let shortest = stretched(LADDER[0].max(ttl()), &cadence(file, org));
        let fast =
            (reset - Duration::seconds(RESET_LEAD_SECS)).max(read + Duration::seconds(shortest));
        if fast < due.at {
            due = Due {
                at: fast,
                interval: (fast - read).num_seconds(),
                why: Why::ResetSoon(reset),
            };
        }
    }
    due
}

/// The orgs the schedule keeps: those a full reading has covered. An org only Claude Code's
/// statusLine knows is not one a refresh can read (its org list says whether it is).
fn scheduled(file: &CacheFile) -> impl Iterator<Item = &Org> {
    file.snapshot
        .iter()
        .flat_map(|s| &s.orgs)
        // Codex's windows come from its logs at every refresh: never asked of claude.ai.
        .filter(|o| o.sources.contains_key(part::USAGE) && !o.is_codex())
}

/// The org whose next reading comes first, with its due.
pub fn next_due(file: &CacheFile, now: DateTime<Utc>) -> Option<(&Org, Due)> {
    scheduled(file)
        .map(|o| (o, org_due(file, o, now)))
        .min_by_key(|(_, d)| d.at)
}

/// The cadence key of one login's entry for an org: two logins of one Team org each have
/// their own numbers, so each has its own ladder.
pub fn cadence_key(org: &Org) -> String {
    match org.account_uuid.as_deref() {
        Some(account) => crate::snapshot::login_key(account, &org.org_uuid),
        None => org.org_uuid.clone(),
    }
}

/// `org`'s cadence as held: by [`cadence_key`], else as a cache from before accounts kept it
/// (by org uuid).
pub fn held_cadence<'a>(
    cadence: &'a std::collections::BTreeMap<String, Cadence>,
    org: &Org,
) -> Option<&'a Cadence> {
    cadence
        .get(&cadence_key(org))
        .or_else(|| cadence.get(&org.org_uuid))
}

fn cadence(file: &CacheFile, org: &Org) -> Cadence {
    held_cadence(&file.cadence, org)
        .cloned()
        .unwrap_or_default()
}

/// Whether a shown org's numbers are older than its interval in force: a refresh was due and
/// has not landed. No data at all is not "stale", it is nothing.
pub fn is_stale(file: &CacheFile, wanted: Option<&str>, now: DateTime<Utc>) -> bool {
    let Some(age) = file.age(wanted, now) else {
        return false;
    };
    let allowed = match file.org(wanted) {
        Some(org) if org.sources.contains_key(part::USAGE) => interval(file, org, now).0,
        _ => ttl(),
    };
    age >= allowed
}

/// The earliest window reset of `org` that no fetch has tried to see yet (later than its
/// last full reading and the last try): until then the cached number is the truth, from then
/// on it is not, and a new reading is due at once.
fn unseen_reset(file: &CacheFile, org: &Org, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    unseen_reset_by(file, &file.state, org, now)
}

/// [`unseen_reset`], counting the tries of the login whose books are `state`.
fn unseen_reset_by(
    file: &CacheFile,
    state: &State,
    org: &Org,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let seen = [
        full_reading_at(org, now),
        file.snapshot.as_ref().map(|s| s.fetched_at),
        state.last_attempt,
    ]
    .into_iter()
    .flatten()
    .max()?;
    reset_after(org, seen)
}

/// The accounts of the logins refreshed on their own (the cache's `sessions`), the one the
/// first session read last aside (that one is the first session's to refresh): their orgs
/// are theirs to plan and ask for, never the first session's.
pub fn other_accounts(file: &CacheFile) -> Vec<&str> {
    file.sessions
        .values()
        .filter_map(|s| s.account.as_deref())
        .filter(|a| file.first_account.as_deref() != Some(*a))
        .collect()
}

/// Whether an org of `account` is the first session's, `others` being [`other_accounts`].
pub fn first_sessions(others: &[&str], account: Option<&str>) -> bool {
    account.is_none_or(|a| !others.contains(&a))
}

/// When a refresh is due: when the first login's numbers are due ([`login_due_at`]), or any
/// other login's (another browser profile's session, another Claude Code login: each by its
/// own books, so one login's failures and backoff never hold another's numbers back).
pub fn refresh_due_at(file: &CacheFile, now: DateTime<Utc>) -> DateTime<Utc> {
    if file.sessions.is_empty() {
        return login_due_at(file, &file.state, &|_| true, true, now);
    }
    let others = other_accounts(file);
    let first = |o: &Org| first_sessions(&others, o.account_uuid.as_deref());
    let mut due = login_due_at(file, &file.state, &first, true, now);
    for book in file.sessions.values() {
        let Some(account) = book.account.as_deref().filter(|a| others.contains(a)) else {
            continue;
        };
        let mine = |o: &Org| o.account_uuid.as_deref() == Some(account);
        due = due.min(login_due_at(file, &book.state, &mine, false, now));
    }
    due
}

/// When one login's refresh is due, by its books (`state`) and its orgs (`mine`): when its
/// first org's numbers are due ([`org_due`]); after a failed try, never sooner than a TTL
/// after it (and never before its backoff ends); as soon as a window resets. With no org to go
/// by (none read yet, or the first login's org list to read), a TTL after the last fetch or
/// try.
fn login_due_at(
    file: &CacheFile,
    state: &State,
    mine: &dyn Fn(&Org) -> bool,
    first: bool,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    // A fetch or a try "from the future" was made under a wrong clock: it does not hold the
    // next one back.
    let after_ttl = |t: Option<DateTime<Utc>>| {
        t.and_then(|t| believable(t, now))
            .map(|t| t + Duration::seconds(ttl()))
    };
    // A failed try waits a TTL, so a broken login does not start a refresh at every prompt.
    let failed = state
        .error
        .is_some()
        .then(|| after_ttl(state.last_attempt))
        .flatten();
    let orgs = if first && file.org_list_check.is_some() {
        None
    } else {
        scheduled(file)
            .filter(|o| mine(o))
            .map(|o| org_due(file, o, now).at)
            .min()
    };
    let scheduled = match (orgs, failed) {
        (Some(o), Some(f)) => o.max(f),
        (Some(o), None) => o,
        (None, f) => f
            .into_iter()
            .chain(
                [
                    after_ttl(file.snapshot.as_ref().map(|s| s.fetched_at)),
                    after_ttl(state.last_attempt),
                ]
                .into_iter()
                .flatten(),
            )
            .max()
            .unwrap_or(now),
    };
    let reset = file
        .snapshot
        .iter()
        .flat_map(|s| &s.orgs)
        .filter(|o| mine(o))
        .filter_map(|o| unseen_reset_by(file, state, o, now))
        .min();
    let due = match reset {
        Some(reset) => scheduled.min(reset),
        None => scheduled,
    };
    state.backoff_until(now).map_or(due, |b| due.max(b))
}

pub fn refresh_due(file: &CacheFile, now: DateTime<Utc>) -> bool {
    refresh_due_at(file, now) <= now
}

/// An org due within this long of another is read in the same refresh: one refresh rather
/// than two a few seconds apart.
pub const BATCH_SECS: i64 = 30;

/// What a refresh by `asker` at `now` asks for: the orgs due now (for the schedule: their
/// interval is over or a window reset; for a person also: their numbers are older than the
/// TTL), and those due within [`BATCH_SECS`]. The org list is read when it is an hour old,
/// when an org appeared elsewhere, or when there is none yet.
pub fn plan(file: &CacheFile, now: DateTime<Utc>, asker: Asker) -> Plan {
    if asker == Asker::Force {
        return Plan::everything(now);
    }
    let orgs: Vec<&Org> = scheduled(file).collect();
    if orgs.is_empty() {
        return Plan {
            account: Some("no org list yet".into()),
            usage: None,
            everything: false,
            now,
        };
    }
    let batch = now + Duration::seconds(BATCH_SECS);
    let usage: BTreeSet<String> = orgs
        .iter()
        .filter(|o| {
            let due = org_due(file, o, now).at <= batch;
            let person = asker == Asker::Person
                && full_reading_at(o, now).is_none_or(|t| now - t >= Duration::seconds(ttl()));
            let reset = unseen_reset(file, o, now).is_some_and(|r| r <= now);
            due || person || reset
        })
        .map(|o| o.org_uuid.clone())
        .collect();
    let account = file.org_list_check.clone().or_else(|| {
        // Read with the next `/usage` once it is an hour old: never a request of its own.
        let listed = orgs
            .iter()
            .filter_map(|o| o.sources.get(part::ACCOUNT))
            .map(|p| p.at)
            .max();
        (!usage.is_empty() && hourly_due(listed, now)).then(|| match listed {
            Some(_) => "an hour old".to_string(),
            None => "not read yet".to_string(),
        })
    });
    Plan {
        account,
        usage: Some(usage),
        everything: false,
        now,
    }
}

/// Whether two readings of an org say the same: the same windows with the same numbers and
/// the same reset periods, and the same extra-usage spend. A reset time that moved by less
/// than a minute is the same period (claude.ai sends microseconds that drift).
pub fn same_reading(a: &Org, b: &Org) -> bool {
    let same_window = |x: &Window, y: &Window| {
        x.utilization == y.utilization
            && match (x.resets_at, y.resets_at) {
                (Some(s), Some(t)) => (s - t).num_seconds().abs() < 60,
                (s, t) => s == t,
            }
    };
    let windows = a.windows.len() == b.windows.len()
        && a.windows
            .iter()
            .all(|(k, w)| b.windows.get(k).is_some_and(|v| same_window(w, v)));
    let spend = |o: &Org| o.extra_usage.as_ref().map(|e| (e.enabled, e.used, e.limit));
    windows && spend(a) == spend(b)
}

/// The cadence an org keeps after a full reading: back to the first step when the reading
/// changed anything (`before` is the org as held, `None` for a first reading), one step
/// further when it did not; a new stretch each time.
pub fn after_reading(
    kept: Option<&Cadence>,
    before: Option<&Org>,
    after: &Org,
    jitter: u16,
) -> Cadence {
    let unchanged = match (kept, before) {
        (Some(k), Some(b)) if same_reading(b, after) => k.unchanged.saturating_add(1),
        (None, Some(b)) if same_reading(b, after) => 1,
        _ => 0,
    };
    Cadence {
        unchanged,
        jitter: jitter.min(MAX_JITTER),
    }
}

/// A random stretch in per mille, from the OS-seeded hasher (no crate for ten lines).
pub fn draw_jitter() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    (h.finish() % (u64::from(MAX_JITTER) + 1)) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Provenance, Snapshot};
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_795_000_000 + secs, 0).unwrap()
    }

    fn org(uuid: &str, pct: f64, read: i64, reset: Option<i64>) -> Org {
        crate::snapshot::five_hour_org(uuid, pct, reset.map(at), at(read))
    }

    fn file(orgs: Vec<Org>, read: i64) -> CacheFile {
        let mut file = CacheFile {
            snapshot: Some(Snapshot {
                source: "claude.ai".into(),
                fetched_at: at(read),
                active_org: None,
                orgs,
            }),
            ..CacheFile::default()
        };
        file.state.last_attempt = Some(at(read));
        file
    }

    fn cadence(unchanged: u32) -> Cadence {
        Cadence {
            unchanged,
            jitter: 0,
        }
    }

    #[test]
    fn each_login_is_due_by_its_own_books_and_one_backoff_holds_back_no_other() {
        use crate::error::{ErrorKind, FetchError};
        let mut mine = org("shared", 30.0, 0, None);
        mine.account_uuid = Some("first".into());
        let mut theirs = org("shared", 10.0, 0, None);
        theirs.account_uuid = Some("other".into());
        let mut f = file(vec![mine, theirs], 0);
        f.sessions.insert(
            "Chrome (Profile 1)".into(),
            crate::cache::Session {
                account: Some("other".into()),
                ..Default::default()
            },
        );
        // Both read at 0, both due a minute later.
        assert_eq!(refresh_due_at(&f, at(0)), at(60));
        // The first session's login expired: it backs off for half an hour...
        let expired = FetchError::new(ErrorKind::RateLimited, "429");
        f.state.record_failure(&expired, at(30));
        assert!(f.state.backoff_until(at(61)).is_some());
        // ...and the other login's numbers are still due on their own schedule.
        assert_eq!(refresh_due_at(&f, at(61)), at(60));
        assert!(refresh_due(&f, at(61)));
        // Its own backoff holds only itself: with both backing off, nothing is due.
        f.sessions
            .get_mut("Chrome (Profile 1)")
            .unwrap()
            .state
            .record_failure(&expired, at(30));
        assert!(!refresh_due(&f, at(61)));
        // Two logins of one Team org keep their own ladders.
        let mut g = file(vec![], 0);
        g.cadence.insert("first/shared".into(), cadence(3));
        g.cadence.insert("other/shared".into(), cadence(0));
        let snapshot = f.snapshot.clone().unwrap();
        assert_eq!(org_due(&g, &snapshot.orgs[0], at(0)).interval, 600);
        assert_eq!(org_due(&g, &snapshot.orgs[1], at(0)).interval, 60);
    }

    #[test]
    fn unchanged_readings_climb_the_ladder_and_a_change_comes_back_down() {
        let before = org("a", 30.0, 0, None);
        let mut kept = None;
        let mut steps = vec![];
        for _ in 0..5 {
            let c = after_reading(kept.as_ref(), Some(&before), &before, 0);
            let mut f = file(vec![before.clone()], 0);
            f.cadence.insert("a".into(), c.clone());
            steps.push(org_due(&f, &before, at(0)).interval);
            kept = Some(c);
        }
        assert_eq!(steps, [120, 300, 600, 600, 600]);
        let moved = org("a", 31.0, 0, None);
        let c = after_reading(kept.as_ref(), Some(&before), &moved, 0);
        assert_eq!(c.unchanged, 0);
        assert_eq!(after_reading(None, None, &moved, 0).unchanged, 0);
    }

    #[test]
    fn the_ttl_is_the_shortest_step_and_jitter_only_stretches() {
        let o = org("a", 30.0, 0, None);
        let mut f = file(vec![o.clone()], 0);
        f.cadence.insert(
            "a".into(),
            Cadence {
                unchanged: 0,
                jitter: 100,
            },
        );
        assert_eq!(org_due(&f, &o, at(0)).interval, 66);
        f.cadence.insert(
            "a".into(),
            Cadence {
                unchanged: 3,
                jitter: 50,
            },
        );
        assert_eq!(org_due(&f, &o, at(0)).interval, 630);
    }

    #[test]
    fn warn_activity_and_a_reset_ahead_bring_back_the_shortest_interval() {
        let mut f = file(vec![], 0);
        f.cadence.insert("a".into(), cadence(3));
        let high = org("a", 80.0, 0, None);
        assert_eq!(org_due(&f, &high, at(0)).why, Why::AboveWarn(80.0));
        let mut busy = org("a", 30.0, 0, None);
        busy.sources.insert(
            part::STATUSLINE.into(),
            Provenance {
                source: "statusline".into(),
                at: at(10),
            },
        );
        assert_eq!(org_due(&f, &busy, at(20)).why, Why::Active);
        assert_eq!(org_due(&f, &busy, at(20)).at, at(60));
        // Resetting 8 minutes after the reading: due 5 minutes before the reset, not in 10.
        let resetting = org("a", 30.0, 0, Some(480));
        let due = org_due(&f, &resetting, at(0));
        assert_eq!((due.at, due.why), (at(180), Why::ResetSoon(at(480))));
        // Read inside the last five minutes: the shortest interval.
        let resetting = org("a", 30.0, 300, Some(480));
        assert_eq!(org_due(&f, &resetting, at(300)).at, at(360));
    }

    #[test]
    fn a_refresh_is_due_at_the_first_org_due_and_a_ttl_after_a_failed_try() {
        let a = org("a", 30.0, 0, None);
        let b = org("b", 30.0, 0, None);
        let mut f = file(vec![a, b], 0);
        f.cadence.insert("a".into(), cadence(3));
        f.cadence.insert("b".into(), cadence(1));
        assert_eq!(refresh_due_at(&f, at(10)), at(120));
        // A failed try waits a TTL; a successful one leaves it to the orgs.
        f.state.last_attempt = Some(at(280));
        assert_eq!(refresh_due_at(&f, at(290)), at(120));
        f.state.record_failure(
            &crate::error::FetchError::new(crate::error::ErrorKind::Unauthorized, "401"),
            at(280),
        );
        assert_eq!(refresh_due_at(&f, at(290)), at(340));
        // An org asked for without a usable answer waits its interval from the question.
        let mut asked = f.snapshot.as_ref().unwrap().orgs[1].clone();
        asked.sources.insert(
            part::ASKED.into(),
            Provenance {
                source: "claude.ai".into(),
                at: at(200),
            },
        );
        assert_eq!(org_due(&f, &asked, at(250)).at, at(320));
    }

    #[test]
    fn the_schedule_asks_for_due_orgs_and_a_person_for_everything_past_the_ttl() {
        let mut a = org("a", 30.0, 0, None);
        let b = org("b", 30.0, 0, None);
        a.sources.insert(
            part::ACCOUNT.into(),
            Provenance {
                source: "claude.ai".into(),
                at: at(0),
            },
        );
        let mut f = file(vec![a, b], 0);
        f.cadence.insert("a".into(), cadence(3));
        f.cadence.insert("b".into(), cadence(1));
        let p = plan(&f, at(300), Asker::Schedule);
        assert_eq!(p.usage, Some(BTreeSet::from(["b".to_string()])));
        assert_eq!(p.account, None, "the org list is minutes old");
        // b is due at 120: within 30 s it is taken along; before that nothing is asked.
        assert!(!plan(&f, at(90), Asker::Schedule).is_empty());
        let p = plan(&f, at(60), Asker::Schedule);
        assert!(p.is_empty(), "{p:?}");
        let p = plan(&f, at(60), Asker::Person);
        assert_eq!(p.usage.unwrap().len(), 2);
        let p = plan(&f, at(3600), Asker::Schedule);
        assert_eq!(p.account.as_deref(), Some("an hour old"));
        assert!(plan(&f, at(10), Asker::Force).everything);
        f.org_list_check = Some("a new org".into());
        assert_eq!(
            plan(&f, at(10), Asker::Schedule).account.as_deref(),
            Some("a new org")
        );
        assert_eq!(refresh_due_at(&f, at(10)), at(60));
    }

    #[test]
    fn stale_means_older_than_the_interval_in_force() {
        let o = org("a", 30.0, 0, None);
        let mut f = file(vec![o], 0);
        f.snapshot.as_mut().unwrap().active_org = Some("a".into());
        f.cadence.insert("a".into(), cadence(3));
        assert!(!is_stale(&f, None, at(599)));
        assert!(is_stale(&f, None, at(600)));
        f.cadence.insert("a".into(), cadence(0));
        assert!(is_stale(&f, None, at(60)));
    }
}
