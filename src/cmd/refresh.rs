//! `quotaline refresh [--force]`: the only path that talks to a server. It holds
//! `refresh.lock` for the whole fetch, so concurrent callers wait and reuse its result.

use crate::cache::Cache;
use crate::error::FetchError;
use crate::render::prerender;
use crate::settings;
use crate::source;
use chrono::Utc;
use std::fs::File;
use std::io;
use std::os::fd::AsFd;

/// Set by a segment on the refresh it starts: the child's stdin is the refresh lock the
/// segment already took, so no second refresh can slip in between.
pub const LOCK_ON_STDIN: &str = "QUOTALINE_LOCK_ON_STDIN";

#[derive(Debug, PartialEq)]
pub enum Outcome {
    Fetched,
    /// Fresh enough already; nothing asked.
    Fresh,
    /// Another process refreshed while this one waited; its result is this one's.
    Reused,
}

/// Why a refresh did not produce new numbers.
#[derive(Debug)]
pub enum Failure {
    Fetch(FetchError),
    /// Not tried: a backoff is in force, or the refresh waited for failed.
    Skipped(String),
    Cache(io::Error),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Fetch(e) => write!(f, "{e}"),
            Failure::Skipped(m) => f.write_str(m),
            Failure::Cache(e) => write!(f, "cannot use the cache: {e}"),
        }
    }
}

fn inherited_lock() -> Option<File> {
    std::env::var_os(LOCK_ON_STDIN)?;
    let fd = io::stdin().as_fd().try_clone_to_owned().ok()?;
    let file = File::from(fd);
    // The lock belongs to the open file the segment handed over; taking it again on the
    // same open file succeeds at once, and fails if stdin is something else entirely.
    fs4::fs_std::FileExt::try_lock_exclusive(&file)
        .ok()
        .filter(|&locked| locked)
        .map(|_| file)
}

/// Refreshes, then re-renders the shells' prompt lines from the cache as it now is, whatever
/// the outcome: a skipped refresh (backoff, fresh) still brings a stale line's age up to
/// date, and a shell that asked for a refresh always sees its file change.
pub fn refresh(cache: &Cache, force: bool) -> Result<Outcome, Failure> {
    let outcome = fetch_under_lock(cache, force);
    let _ = prerender::write_all(cache, &cache.read());
    outcome
}

fn fetch_under_lock(cache: &Cache, force: bool) -> Result<Outcome, Failure> {
    let _lock = match inherited_lock() {
        Some(lock) => lock,
        None => match cache.try_refresh_lock().map_err(Failure::Cache)? {
            Some(lock) => lock,
            None => {
                // Another refresh is under way: wait for it and take its result as ours.
                let _lock = cache.refresh_lock().map_err(Failure::Cache)?;
                let file = cache.read();
                let fetched = file.snapshot.as_ref().map(|s| s.fetched_at);
                return match file.state.error {
                    Some(e) if fetched.is_none_or(|f| e.at >= f) => Err(Failure::Skipped(format!(
                        "the refresh this one waited for failed: {}",
                        e.message
                    ))),
                    _ => Ok(Outcome::Reused),
                };
            }
        },
    };

    let now = Utc::now();
    let current = cache.read();
    if let Some(until) = current.state.backoff_until(now) {
        let why = current
            .state
            .error
            .as_ref()
            .map(|e| e.message.as_str())
            .unwrap_or("earlier failures");
        return Err(Failure::Skipped(format!(
            "backing off until {} ({}s) after: {why}",
            until.format("%Y-%m-%d %H:%M:%S UTC"),
            (until - now).num_seconds()
        )));
    }
    if !force && current.age(now).is_some_and(|age| age < settings::ttl()) {
        return Ok(Outcome::Fresh);
    }
    // The browser extension fetched within two minutes, through the CDN that may challenge
    // quotaline: leave it to the browser. `--force` still fetches.
    if !force && super::native_host::browser_is_fresh(&current, now) {
        return Ok(Outcome::Fresh);
    }

    match source::fetch(
        current.snapshot.as_ref(),
        current.claude_code_version.as_deref(),
    ) {
        Ok(snapshot) => {
            cache
                .update(|c| {
                    let mut merged = source::merge_fetched(c.snapshot.as_ref(), snapshot);
                    // Burn rate and pace land in the same update (best effort; never fails).
                    crate::history::annotate(&cache.dir, &mut merged, now);
                    c.snapshot = Some(merged);
                    c.state.record_success(now);
                })
                .map_err(Failure::Cache)?;
            Ok(Outcome::Fetched)
        }
        Err(e) => {
            cache
                .update(|c| c.state.record_failure(&e, now))
                .map_err(Failure::Cache)?;
            Err(Failure::Fetch(e))
        }
    }
}

pub fn run(force: bool) -> i32 {
    match refresh(&Cache::locate(), force) {
        Ok(_) => 0,
        Err(failure) => {
            eprintln!("quotaline: {failure}");
            1
        }
    }
}
