//! The one door every reading comes in by. A refresh's snapshot, its failure, the browser
//! extension's answers and Claude Code's statusLine stdin all arrive here, and the same steps
//! follow, once, in one cache update: fold the reading into the snapshot by the merge rules,
//! record it in the history and set each window's pace, keep the success/failure books,
//! decide the events it fires (`events.rs`), write the cache; then hand exactly the cache that
//! was written to `outputs.rs` (the prompt files, the `[metrics] textfile`, the events'
//! delivery).
//!
//! Commands get their reading (fetch, parse stdin, decode a message), call [`ingest`], and
//! print. A new source is one more [`Arrival`].

use crate::auth::claude_code::AccountMemo;
use crate::cache::{Cache, CacheFile, ExtensionReport};
use crate::error::FetchError;
use crate::event::Event;
use crate::events;
use crate::render::notice;
use crate::snapshot::Snapshot;
use crate::source::{self, extension, statusline};
use crate::{history, outputs, pace, settings};
use chrono::{DateTime, Utc};
use std::io;
use std::path::Path;

/// What came in.
pub enum Arrival<'a> {
    /// A refresh's snapshot from the configured sources (claude.ai or OAuth).
    Fetched(Snapshot),
    /// A refresh that produced no numbers: the failure is recorded (and drives the backoff),
    /// the last good numbers stay.
    Failed(&'a FetchError),
    /// The browser extension's answers (`quotaline native-host`).
    Extension(&'a extension::Message),
    /// Claude Code's statusLine stdin, for the org of Claude Code's account (as read from
    /// `.claude.json`, kept so the next call need not read it again).
    Statusline {
        reading: &'a statusline::Reading,
        account: &'a AccountMemo,
    },
    /// No new reading (fresh already, backing off, or another process's refresh reused):
    /// only the prompt files are brought up to date, so a stale line's age keeps moving.
    Nothing,
}

/// What became of an arrival.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// Folded in and written.
    Stored,
    /// The cache already holds a newer full reading: nothing was changed.
    Older,
    /// The arrival carried no numbers; why (only the extension's answers say so here: a
    /// refresh's failure is its caller's to report).
    Refused(String),
    /// Nothing came in.
    Nothing,
}

/// Takes one arrival in: the cache update under its lock, then the prompt files from the
/// cache as written. Returns that cache and the verdict; an error only when the cache itself
/// cannot be written (the caller still has its reading to show).
pub fn ingest(
    cache: &Cache,
    arrival: Arrival,
    now: DateTime<Utc>,
) -> io::Result<(CacheFile, Verdict)> {
    if let Arrival::Nothing = arrival {
        let mut file = cache.read();
        // After an edit of config.toml, keep the new settings for the prompt path: the one
        // write this arrival makes, and only then.
        if file.config.as_ref() != Some(settings::config()) {
            file = cache.update(|c| {
                c.config = Some(settings::config().clone());
                c.clone()
            })?;
        }
        outputs::publish(cache, &file, &[])?;
        return Ok((file, Verdict::Nothing));
    }
    let (file, verdict, events) = cache.update(|c| {
        let before = events::Before::of(c);
        let verdict = fold(cache, c, arrival, now);
        // The config as this process read it: the next prompt need not read the file.
        c.config = Some(settings::config().clone());
        // Decided here, under the lock, from the cache before and after: once per reading.
        let events = fire(&cache.dir, &before, c, now);
        (c.clone(), verdict, events)
    })?;
    // Every pre-rendered prompt line follows the cache just written, whoever wrote it; so do
    // node_exporter's textfile and the events' delivery.
    let _ = outputs::publish(cache, &file, &events);
    Ok((file, verdict))
}

/// After an edit of config.toml, the first prompt that reads the new file keeps it in the
/// cache: the prompts after it `stat` the file and parse nothing until the next edit
/// (without this, every prompt parsed it again until the next refresh). Only the config is
/// written: a shell's snippet re-renders its prompt file itself after an edit.
pub fn keep_config(cache: &Cache) -> io::Result<()> {
    if !settings::edited_since_cached() {
        return Ok(());
    }
    cache.update(|c| c.config = Some(settings::config().clone()))
}

/// The events this arrival fires: decided from the cache before and after (`events.rs`),
/// worded, and those the history does not know yet recorded there (the history is opened only
/// when something is new to the cache's books).
pub fn fire(
    dir: &Path,
    before: &events::Before,
    c: &mut CacheFile,
    now: DateTime<Utc>,
) -> Vec<Event> {
    let mut news = events::decide(before, c, now);
    if news.is_empty() {
        return news;
    }
    let several = c.snapshot.as_ref().is_some_and(|s| s.orgs.len() > 1);
    for e in &mut news {
        notice::word(e, several);
    }
    history::record_events(dir, &news, now)
}

/// The merge rules and the bookkeeping, per arrival, inside the cache lock.
fn fold(cache: &Cache, c: &mut CacheFile, arrival: Arrival, now: DateTime<Utc>) -> Verdict {
    match arrival {
        Arrival::Nothing => Verdict::Nothing,
        Arrival::Failed(e) => {
            c.state.record_failure(e, now);
            Verdict::Refused(e.message.clone())
        }
        Arrival::Fetched(snapshot) => {
            let merged = source::merge_fetched(c.snapshot.as_ref(), snapshot);
            store(cache, c, merged, now);
            // A full reading: an earlier failure is over, its backoff with it.
            c.state.record_success(now);
            Verdict::Stored
        }
        Arrival::Extension(message) => {
            let fetched_at = message.received_at(now);
            if c.snapshot
                .as_ref()
                .is_some_and(|s| s.fetched_at > fetched_at)
            {
                return Verdict::Older;
            }
            let mut report = ExtensionReport {
                at: now,
                fetched_at,
                error: None,
            };
            let verdict = match message.read(c.snapshot.as_ref(), now) {
                Ok(snapshot) => {
                    // The browser read `/api/account` too: its org list is complete.
                    let merged = source::merge(c.snapshot.as_ref(), snapshot, true);
                    store(cache, c, merged, now);
                    // The numbers are fresh: an earlier failure of quotaline's own requests
                    // is over as far as the user can tell.
                    c.state.record_success(now);
                    Verdict::Stored
                }
                // The browser's failures never drive quotaline's own backoff: they are the
                // extension's report, not `state`.
                Err(e) => {
                    report.error = Some(e.message.clone());
                    Verdict::Refused(e.message)
                }
            };
            c.extension = Some(report);
            verdict
        }
        Arrival::Statusline { reading, account } => {
            c.claude_account = Some(account.clone());
            let mut snapshot = c.snapshot.take();
            statusline::apply(&mut snapshot, reading, account.value.as_ref(), now);
            if reading.version.is_some() {
                c.claude_code_version = reading.version.clone();
            }
            match snapshot {
                Some(s) => store(cache, c, s, now),
                None => c.snapshot = None,
            }
            // Only Claude Code's org and only its windows: not a refresh, so the refresh's
            // books (last attempt, error, backoff) are left as they are.
            Verdict::Stored
        }
    }
}

/// The snapshot as it will be written: every reading in it joins the history, and the pace
/// computed from that history lands in the same update (best effort; never fails: without a
/// usable history, only the pace that needs none is set).
fn store(cache: &Cache, c: &mut CacheFile, mut snapshot: Snapshot, now: DateTime<Utc>) {
    // However many windows a payload sent, one org keeps a bounded number (`Org::bound`).
    for org in &mut snapshot.orgs {
        let source = org
            .sources
            .get(crate::snapshot::part::USAGE)
            .map_or_else(|| snapshot.source.clone(), |p| p.source.clone());
        org.bound(&source);
    }
    let past = history::record(&cache.dir, &history::readings(&snapshot), now);
    pace::annotate(&mut snapshot, &past, now);
    c.snapshot = Some(snapshot);
}
