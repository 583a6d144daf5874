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
use crate::claude_status::ClaudeStatus;
use crate::error::FetchError;
use crate::event::Event;
use crate::events;
use crate::render::notice;
use crate::snapshot::{is_org_uuid, part, Org, Snapshot};
use crate::source::{self, claude_code_cache, codex, extension, statusline};
use crate::{history, outputs, pace, schedule, settings};
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
    /// Another login's refresh (another browser profile's session, another Claude Code
    /// login: `refresh::other_login`), by where it was found: its account's orgs merged in,
    /// its success or failure kept in its own books.
    Session {
        origin: &'a str,
        result: Result<&'a Snapshot, &'a FetchError>,
    },
    /// The browser extension's answers (`quotaline native-host`).
    Extension(&'a extension::Message),
    /// Claude Code's statusLine stdin, for the org of Claude Code's account (as read from
    /// `.claude.json`, kept so the next call need not read it again).
    Statusline {
        reading: &'a statusline::Reading,
        account: &'a AccountMemo,
    },
    /// Claude Code's own cache (`cachedUsageUtilization` in `.claude.json`, as read into the
    /// account memo): a full reading of its org at no request, when newer than the one held.
    ClaudeCodeCache(&'a AccountMemo),
    /// What Claude's status page said (or why it could not be read): never a refresh's
    /// failure, and never quotaline's error.
    Status(Result<ClaudeStatus, String>),
    /// Codex's session logs as read by a refresh (`source::codex`): their identities, and
    /// the reading or why there is none.
    CodexLog {
        files: Vec<(std::path::PathBuf, Option<crate::file::FileId>)>,
        reading: Result<codex::Reading, String>,
    },
    /// The ChatGPT backend's answer for Codex (`codex_api = true`), or why there is none: a
    /// failure keeps the log's numbers with their age.
    CodexApi(Result<codex::Reading, String>),
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
        let held = c.snapshot.clone();
        let verdict = fold(cache, c, arrival, now);
        keep_cadence(held.as_ref(), c);
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
    // Codex's windows are not another Claude org: they do not make a body name its org.
    let several = c
        .snapshot
        .as_ref()
        .is_some_and(|s| s.orgs.iter().filter(|o| !codex::is_codex(o)).count() > 1);
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
            c.first_account = snapshot.orgs.iter().find_map(|o| o.account_uuid.clone());
            let merged = source::merge_fetched(c.snapshot.as_ref(), snapshot);
            store(cache, c, merged, now);
            // A full reading: an earlier failure is over, its backoff with it.
            c.state.record_success(now);
            // The refresh that asked for the org list has read it (or has tried, with the
            // source that answered): the next check is the hourly one.
            c.org_list_check = None;
            Verdict::Stored
        }
        Arrival::Session { origin, result } => {
            let book = c.sessions.entry(origin.to_string()).or_default();
            let snapshot = match result {
                Ok(snapshot) => snapshot.clone(),
                Err(e) => {
                    book.state.record_failure(e, now);
                    return Verdict::Refused(e.message.clone());
                }
            };
            book.state.record_success(now);
            book.account = snapshot.orgs.iter().find_map(|o| o.account_uuid.clone());
            // Its account's full list (a claude.ai session's; a Claude Code login reads one
            // org), but not the refresh: the shown org, the snapshot's source and time stay
            // the first session's.
            let mut merged = source::merge_fetched(c.snapshot.as_ref(), snapshot);
            if let Some(held) = &c.snapshot {
                keep_held_stamp(&mut merged, held);
                // The held orgs keep their places (the first session's first); its own
                // new ones come after.
                let place = |o: &Org| {
                    held.orgs
                        .iter()
                        .position(|h| h.org_uuid == o.org_uuid && h.account_uuid == o.account_uuid)
                };
                merged.orgs.sort_by_key(|o| place(o).unwrap_or(usize::MAX));
            }
            store(cache, c, merged, now);
            Verdict::Stored
        }
        Arrival::ClaudeCodeCache(memo) => {
            c.claude_account = Some(memo.clone());
            fold_claude_code_cache(cache, c, memo, now)
        }
        Arrival::Status(result) => {
            let book = &mut c.claude_status;
            book.tried = Some(now);
            match result {
                Ok(status) => {
                    book.reading = Some(status);
                    book.error = None;
                }
                Err(why) => book.error = Some(why),
            }
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
        Arrival::CodexLog { files, reading } => {
            let (value, verdict) = match reading {
                Ok(reading) => (None, fold_codex(cache, c, reading.org(), now)),
                Err(why) => (Some(why.clone()), Verdict::Refused(why)),
            };
            c.codex_logs = Some(crate::file::Memo { files, value });
            verdict
        }
        Arrival::CodexApi(result) => {
            c.codex_api_asked = Some(now);
            match result {
                Ok(reading) => {
                    c.codex_api_error = None;
                    fold_codex(cache, c, reading.org(), now)
                }
                Err(why) => {
                    c.codex_api_error = Some(why.clone());
                    Verdict::Refused(why)
                }
            }
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
            // The same memo may carry Claude Code's own last `/usage` body: a free reading.
            let _ = fold_claude_code_cache(cache, c, account, now);
            // Only Claude Code's org and only its windows: not a refresh, so the refresh's
            // books (last attempt, error, backoff) are left as they are.
            Verdict::Stored
        }
    }
}

/// Codex's windows, when newer than the ones held: its org is replaced whole (one source
/// writes it), the Claude orgs and the snapshot's own source and fetch time stay.
fn fold_codex(cache: &Cache, c: &mut CacheFile, org: Org, now: DateTime<Utc>) -> Verdict {
    let at = org.read_at();
    let mut snapshot = match c.snapshot.take() {
        Some(s) => s,
        None => Snapshot {
            source: codex::SOURCE_LOG.to_string(),
            fetched_at: at.unwrap_or(now),
            active_org: None,
            orgs: Vec::new(),
        },
    };
    let held = snapshot.orgs.iter().position(codex::is_codex);
    if let Some(i) = held {
        if snapshot.orgs[i].read_at() >= at {
            c.snapshot = Some(snapshot);
            return Verdict::Older;
        }
        snapshot.orgs.remove(i);
    }
    snapshot.orgs.push(org);
    store(cache, c, snapshot, now);
    Verdict::Stored
}

/// Claude Code's cached `/usage` body for its org, when newer than the org's last full
/// reading: merged like an OAuth reading (the other orgs and parts stay), but not a refresh,
/// so the snapshot's own source and fetch time stay too.
fn fold_claude_code_cache(
    cache: &Cache,
    c: &mut CacheFile,
    memo: &AccountMemo,
    now: DateTime<Utc>,
) -> Verdict {
    let Some(account) = memo.value.as_ref() else {
        return Verdict::Nothing;
    };
    match claude_code_cache::reading(account, c.snapshot.as_ref(), now) {
        None => Verdict::Older,
        Some(Err(why)) => Verdict::Refused(why),
        Some(Ok(reading)) => {
            let mut merged = source::merge(c.snapshot.as_ref(), reading, false);
            if let Some(held) = &c.snapshot {
                keep_held_stamp(&mut merged, held);
            }
            store(cache, c, merged, now);
            Verdict::Stored
        }
    }
}

/// A reading that is not the refresh's (another login's, Claude Code's cache) leaves the
/// snapshot's own stamp as it was: its source, its fetch time and the org it shows.
fn keep_held_stamp(merged: &mut Snapshot, held: &Snapshot) {
    merged.source = held.source.clone();
    merged.fetched_at = held.fetched_at;
    merged.active_org = held.active_org.clone();
}

/// The schedule's memory after an arrival: every org that got a new full reading takes its
/// next cadence (`schedule::after_reading`), orgs gone take theirs with them; and an org that
/// appeared through a path that carries no org list (Claude Code, its cache) has the list read
/// at the next refresh, when there is one to compare with.
fn keep_cadence(held: Option<&Snapshot>, c: &mut CacheFile) {
    let Some(after) = &c.snapshot else {
        return;
    };
    let usage_at = |o: &Org| o.sources.get(part::USAGE).map(|p| p.at);
    for org in after.orgs.iter().filter(|o| !codex::is_codex(o)) {
        let before = held.and_then(|s| s.login_org(org.account_uuid.as_deref(), &org.org_uuid));
        if usage_at(org).is_none() || usage_at(org) == before.and_then(usage_at) {
            continue;
        }
        let key = schedule::cadence_key(org);
        let next = schedule::after_reading(
            schedule::held_cadence(&c.cadence, org),
            before,
            org,
            schedule::draw_jitter(),
        );
        c.cadence.insert(key, next);
    }
    c.cadence
        .retain(|key, _| after.orgs.iter().any(|o| schedule::cadence_key(o) == *key));
    let list_held =
        held.is_some_and(|s| s.orgs.iter().any(|o| o.sources.contains_key(part::ACCOUNT)));
    let appeared = after.orgs.iter().find(|o| {
        is_org_uuid(&o.org_uuid)
            && !o.sources.contains_key(part::ACCOUNT)
            && held.is_some_and(|s| s.org(Some(&o.org_uuid)).is_none())
    });
    if let (true, Some(org)) = (list_held, appeared) {
        let via = org
            .newest_reading()
            .map_or("another source", |p| p.source.as_str());
        c.org_list_check = Some(format!("org {} appeared through {via}", org.org_uuid));
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
