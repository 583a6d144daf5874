//! When to ask the server again, and when a number on screen is stale: the one rule that the
//! segment, the statusline, `json`, `check`, the shells' prompt files and `refresh` follow.
//! Pure: the cache as read, a clock, and the TTL from the settings.

use crate::cache::{believable, CacheFile};
use crate::settings;
use chrono::{DateTime, Duration, Utc};

/// Whether the shown org's numbers are older than the TTL (`settings::ttl`); no data at all
/// is not "stale", it is nothing.
pub fn is_stale(file: &CacheFile, wanted: Option<&str>, now: DateTime<Utc>) -> bool {
    file.age(wanted, now)
        .is_some_and(|age| age >= settings::ttl())
}

/// Whether the last full fetch is younger than the TTL and no window has reset since. This
/// is about asking the server again, not about what a line shows: an org's age also counts
/// readings that cost no request (statusLine stdin).
pub fn fetched_recently(file: &CacheFile, now: DateTime<Utc>) -> bool {
    file.snapshot
        .as_ref()
        .and_then(|s| believable(s.fetched_at, now))
        .is_some_and(|f| now < f + Duration::seconds(settings::ttl()))
        && next_unseen_reset(file).is_none_or(|t| t > now)
}

/// The earliest window reset that no fetch has tried to see yet (later than the last fetch
/// and the last try): until then the cached number is the truth, from then on it is not,
/// and a new reading is due at once.
fn next_unseen_reset(file: &CacheFile) -> Option<DateTime<Utc>> {
    let snapshot = file.snapshot.as_ref()?;
    let seen = file
        .state
        .last_attempt
        .map_or(snapshot.fetched_at, |t| t.max(snapshot.fetched_at));
    snapshot
        .orgs
        .iter()
        .flat_map(|o| o.windows.values())
        .filter_map(|w| w.resets_at)
        .filter(|&t| t > seen)
        .min()
}

/// From when a refresh is due: a TTL after the last fetch and after the last try (successful
/// or not), or as soon as a window resets if that comes first, and never before a backoff
/// ends.
pub fn refresh_due_at(file: &CacheFile, now: DateTime<Utc>) -> DateTime<Utc> {
    // A fetch or a try "from the future" was made under a wrong clock: it does not hold the
    // next one back.
    let after_ttl = |t: Option<DateTime<Utc>>| {
        t.and_then(|t| believable(t, now))
            .map(|t| t + Duration::seconds(settings::ttl()))
    };
    let after_ttls = [
        after_ttl(file.snapshot.as_ref().map(|s| s.fetched_at)),
        after_ttl(file.state.last_attempt),
    ]
    .into_iter()
    .flatten()
    .max();
    let due = match (after_ttls, next_unseen_reset(file)) {
        (Some(ttl), Some(reset)) => ttl.min(reset),
        (ttl, reset) => ttl.or(reset).unwrap_or(now),
    };
    file.state.backoff_until(now).map_or(due, |b| due.max(b))
}

pub fn refresh_due(file: &CacheFile, now: DateTime<Utc>) -> bool {
    refresh_due_at(file, now) <= now
}
