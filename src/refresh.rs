//! When to fetch, and one fetch at a time. `refresh` is the only path that talks to a server:
//! it holds `refresh.lock` for the whole fetch, so concurrent callers wait and reuse its
//! result, and hands what it got to `ingest`. The prompt path only asks whether one is due
//! (`schedule::refresh_due`) and starts a detached refresh ([`spawn_if_due`]); it never
//! waits for one.

use crate::auth::claude_code;
use crate::cache::{Cache, CacheFile, ExtensionReport};
use crate::error::FetchError;
use crate::ingest::{self, Arrival};
pub use crate::schedule::Asker;
use crate::settings::{self, LOCK_ON_STDIN};
use crate::snapshot::Snapshot;
use crate::source::{self, codex, extension};
use chrono::{DateTime, Utc};
use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

#[derive(Debug, PartialEq)]
pub enum Outcome {
    Fetched,
    /// Fresh enough already (fetched this long ago, in seconds); nothing asked.
    Fresh(i64),
    /// The browser extension reported this long ago (seconds): fetching is left to it.
    LeftToBrowser(i64),
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

/// Whether the shown org holds an extension reading young enough that `refresh` should not
/// fetch on its own: the browser polls every minute through the CDN that may challenge
/// quotaline.
pub fn browser_is_fresh(file: &CacheFile, now: DateTime<Utc>) -> bool {
    file.org(settings::org(None).as_deref())
        .and_then(|o| o.sources.get(crate::snapshot::part::USAGE))
        .is_some_and(|p| {
            p.source == extension::SOURCE
                && (now - p.at).num_seconds() < ExtensionReport::FRESH_FOR_SECS
        })
}

fn inherited_lock() -> Option<File> {
    if !settings::lock_on_stdin() {
        return None;
    }
    let fd = io::stdin().as_fd().try_clone_to_owned().ok()?;
    let file = File::from(fd);
    // The lock belongs to the open file the segment handed over; taking it again on the
    // same open file succeeds at once, and fails if stdin is something else entirely.
    fs4::fs_std::FileExt::try_lock_exclusive(&file)
        .ok()
        .filter(|&locked| locked)
        .map(|_| file)
}

/// Refreshes, then (through `ingest`) re-renders the shells' prompt lines whatever the
/// outcome: a skipped refresh (backoff, fresh) still brings a stale line's age up to date,
/// and a shell that asked for a refresh always sees its file change. `asker` decides what is
/// asked for (`schedule::plan`): what is due, what is older than the TTL, or everything.
pub fn refresh(cache: &Cache, asker: Asker) -> Result<Outcome, Failure> {
    let outcome = fetch_under_lock(cache, asker);
    if !matches!(outcome, Ok(Outcome::Fetched) | Err(Failure::Fetch(_))) {
        let _ = ingest::ingest(cache, Arrival::Nothing, crate::clock::now());
    }
    outcome
}

/// Claude Code's cached `/usage` body, when the memo says `.claude.json` changed since it was
/// last read (only a fresh read holds the body: `CachedUsage::body`): taken in first, so its
/// org is not asked for.
fn take_claude_code_cache(cache: &Cache, current: CacheFile, now: DateTime<Utc>) -> CacheFile {
    let memo = claude_code::account_cached(current.claude_account.as_ref());
    if current.claude_account.as_ref() == Some(&memo) {
        return current;
    }
    match ingest::ingest(cache, Arrival::ClaudeCodeCache(&memo), now) {
        Ok((file, _)) => file,
        Err(_) => current,
    }
}

/// Codex's session logs, when Codex is on this machine and wrote since they were last read:
/// read here (their tails only), never on the prompt path, and at no request.
fn take_codex_logs(cache: &Cache) {
    let Some(home) = settings::codex_home() else {
        return;
    };
    let logs = codex::newest_logs(&home);
    let held = cache.read().codex_logs;
    if logs.is_empty() && held.is_none() && !(settings::codex_api() && codex::has_login(&home)) {
        return;
    }
    let now = crate::clock::now();
    let files = crate::file::identify(logs.clone());
    if held.is_none_or(|m| m.files != files) {
        let reading = match codex::read(&logs) {
            Some(r) => r,
            None => Err(format!("no Codex session logs under {}", home.display())),
        };
        let _ = ingest::ingest(cache, Arrival::CodexLog { files, reading }, now);
    }
    if settings::codex_api() {
        take_codex_api(cache, &home, now);
    }
}

/// The ChatGPT backend's numbers for Codex, asked at most once a TTL, whatever the last answer
/// was (`codex_api = true`).
fn take_codex_api(cache: &Cache, home: &std::path::Path, now: DateTime<Utc>) {
    let asked = cache.read().codex_api_asked;
    if asked.is_some_and(|t| (now - t).num_seconds() < settings::ttl()) {
        return;
    }
    let _ = ingest::ingest(cache, Arrival::CodexApi(codex::fetch(home, now)), now);
}

fn fetch_under_lock(cache: &Cache, asker: Asker) -> Result<Outcome, Failure> {
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

    // Codex too under the lock: two refreshes never both ask the ChatGPT backend.
    take_codex_logs(cache);
    let now = crate::clock::now();
    let sources = source::sources().unwrap_or_default();
    // The browsers are searched once a refresh (with v11 profiles, each search asks the
    // keyring), and only when claude.ai is a source.
    let sessions = sources
        .iter()
        .any(|s| s == source::claude_ai::SOURCE)
        .then(crate::auth::sessions);
    let outcome = fetch_first(cache, asker, &_lock, now, sessions.as_ref());
    if let Some(found) = &sessions {
        other_sessions(cache, asker, now, found);
    }
    if sources.iter().any(|s| s == source::oauth::SOURCE) {
        // Claude Code's usual login is the first session's own fallback (and its only login
        // without a claude.ai session) unless claude.ai comes first and answered: then it is
        // not asked twice (the OAuth endpoint punishes polling, and a backoff must bind).
        let claude_ai_first =
            sources.first().map(String::as_str) == Some(source::claude_ai::SOURCE);
        let answered = sessions.as_ref().is_some_and(|s| s.first.is_ok())
            && cache.read().state.error.is_none();
        claude_code_logins(cache, asker, now, claude_ai_first && answered);
    }
    outcome
}

/// The first session's refresh (the configured sources in order): its own backoff, schedule
/// and outcome, which are the refresh's.
fn fetch_first(
    cache: &Cache,
    asker: Asker,
    lock: &File,
    now: DateTime<Utc>,
    sessions: Option<&crate::auth::Sessions>,
) -> Result<Outcome, Failure> {
    let force = asker == Asker::Force;
    let current = take_claude_code_cache(cache, cache.read(), now);
    // `--force` is a person asking: it always fetches.
    if let Some(until) = current.state.backoff_until(now).filter(|_| !force) {
        let why = current
            .state
            .error
            .as_ref()
            .map(|e| e.message.as_str())
            .unwrap_or("earlier failures");
        return Err(Failure::Skipped(format!(
            "backing off until {} after: {why}",
            crate::render::text::when(until, now)
        )));
    }
    // Its own orgs only: another login's org that is due is that login's to ask for.
    let others = crate::schedule::other_accounts(&current);
    let mut view = current.clone();
    if !others.is_empty() {
        view.snapshot = source::of_account(current.snapshot.as_ref(), |a| {
            crate::schedule::first_sessions(&others, a)
        });
    }
    let plan = crate::schedule::plan(&view, now, asker);
    if plan.is_empty() {
        let at = current.snapshot.as_ref().map_or(now, |s| s.fetched_at);
        return Ok(Outcome::Fresh((now - at).num_seconds().max(0)));
    }
    // The browser extension fetched within two minutes: leave it to the browser. `--force`
    // still fetches.
    if !force && browser_is_fresh(&current, now) {
        let at = current.extension.as_ref().map_or(now, |r| r.fetched_at);
        return Ok(Outcome::LeftToBrowser((now - at).num_seconds().max(0)));
    }

    if !force && cache.attempt_unrecorded(lock, now, settings::ttl()) {
        return Err(Failure::Skipped(
            "the last try within the TTL could not be recorded (is the cache writable?): \
             waiting before asking again"
                .into(),
        ));
    }
    Cache::mark_attempt(lock);
    let claude_ai = match sessions.map(|s| &s.first) {
        Some(Ok(creds)) => Ok(creds),
        Some(Err(e)) => Err(e.clone()),
        None => Err(FetchError::new(
            crate::error::ErrorKind::NoCredentials,
            "claude.ai is not a source",
        )),
    };
    let fetched = source::fetch(
        current.snapshot.as_ref(),
        claude_ai,
        current.claude_code_version.as_deref(),
        &plan,
        view.snapshot.as_ref(),
    );
    let outcome = match fetched {
        Ok(snapshot) => {
            ingest::ingest(cache, Arrival::Fetched(snapshot), now).map_err(Failure::Cache)?;
            Ok(Outcome::Fetched)
        }
        Err(e) => {
            ingest::ingest(cache, Arrival::Failed(&e), now).map_err(Failure::Cache)?;
            Err(Failure::Fetch(e))
        }
    };
    claude_status(cache, &current, now);
    outcome
}

/// Every other claude.ai session found (another browser profile's login): each asked for
/// what its own account's schedule says is due, unless its own backoff is in force (`--force`
/// asks anyway), and taken in with its own success or failure. Its failures are its own: they
/// never touch the first session's backoff or error, nor another account's numbers.
fn other_sessions(cache: &Cache, asker: Asker, now: DateTime<Utc>, found: &crate::auth::Sessions) {
    if cache.read().first_session != found.first_origin {
        let _ = cache.update(|c| c.first_session = found.first_origin.clone());
    }
    for creds in &found.others {
        other_login(cache, asker, now, &creds.origin, |view, plan| {
            source::claude_ai::fetch(creds, view, plan)
        });
    }
}

/// Claude Code's logins (its usual one here, when it is not the first session's, and each
/// config dir `[account.NAME] claude_config_dir` names) whose account no claude.ai session
/// reads: each asked over OAuth on its own schedule, with its own books, like another browser
/// profile's session. A login whose `.claude.json` names no account cannot be told apart from
/// the others, and is left to the first session (which falls back to the usual login) and to
/// the status line.
fn claude_code_logins(cache: &Cache, asker: Asker, now: DateTime<Utc>, here_free: bool) {
    let mut logins = Vec::new();
    if here_free {
        logins.push(claude_code::Login::Here);
    }
    let here = claude_code::Login::Here.dir();
    for dir in settings::claude_config_dirs() {
        if Some(&dir) != here.as_ref() {
            logins.push(claude_code::Login::Dir(dir));
        }
    }
    for login in logins {
        let mut file = cache.read();
        let origin = login.origin();
        let account = match &login {
            // Already read (and kept while its files stand still) for the status line.
            claude_code::Login::Here => file
                .claude_account
                .as_ref()
                .and_then(|m| m.value.as_ref())
                .and_then(|a| a.account_uuid.clone()),
            dir => {
                let held = file
                    .sessions
                    .get(&origin)
                    .and_then(|s| s.claude_json.as_ref());
                let memo = claude_code::account_uuid_cached(dir, held);
                if held != Some(&memo) {
                    let kept = memo.clone();
                    if let Ok(f) = cache.update(|c| {
                        c.sessions.entry(origin.clone()).or_default().claude_json = Some(kept);
                        c.clone()
                    }) {
                        file = f;
                    }
                }
                memo.value
            }
        };
        let Some(account) = account else {
            continue;
        };
        // One login per account: the first session's, or a browser profile's, comes first.
        let taken = file.first_account.as_ref() == Some(&account)
            || file
                .sessions
                .iter()
                .any(|(o, s)| *o != origin && s.account.as_ref() == Some(&account));
        if taken {
            continue;
        }
        let version = file.claude_code_version.clone();
        // The OAuth endpoint reads the login's one org, whatever is due.
        other_login(cache, asker, now, &origin, |view, _| {
            source::oauth::fetch(&login, view, version.as_deref())
        });
    }
}

/// One login refreshed on its own (`origin` names its books): asked, through `fetch`, for
/// what its own account's schedule says is due, unless its own backoff is in force (`--force`
/// asks anyway), and taken in with its own success or failure.
fn other_login(
    cache: &Cache,
    asker: Asker,
    now: DateTime<Utc>,
    origin: &str,
    fetch: impl FnOnce(Option<&Snapshot>, &crate::schedule::Plan) -> Result<Snapshot, FetchError>,
) {
    let current = cache.read();
    let book = current.sessions.get(origin).cloned().unwrap_or_default();
    if asker != Asker::Force && book.state.backoff_until(now).is_some() {
        return;
    }
    // Its own account's orgs only: unknown until its first reading, when all is asked.
    let mut view = current.clone();
    view.snapshot = book
        .account
        .as_deref()
        .and_then(|account| source::of_account(current.snapshot.as_ref(), |a| a == Some(account)));
    view.state = book.state.clone();
    view.org_list_check = None;
    let plan = crate::schedule::plan(&view, now, asker);
    if plan.is_empty() {
        return;
    }
    let result = fetch(view.snapshot.as_ref(), &plan);
    let arrival = Arrival::Session {
        origin,
        result: result.as_ref(),
    };
    let _ = ingest::ingest(cache, arrival, now);
}

/// Claude's status page, when it is due (every five minutes at most), within a refresh that
/// asked the server anyway: whatever it says or fails to say, the refresh's outcome stands.
fn claude_status(cache: &Cache, current: &CacheFile, now: DateTime<Utc>) {
    if !current.claude_status.due(now) {
        return;
    }
    if let Some(result) = source::status_page::fetch(now) {
        // Stamped when it ended: a page that took its whole timeout was tried that late.
        let _ = ingest::ingest(cache, Arrival::Status(result), crate::clock::now());
    }
}

/// Reads the cache, refreshing first (synchronously) when a refresh is due: for the
/// scripting commands (`json`, `check`), which may wait.
pub fn load_fresh(cache: &Cache) -> CacheFile {
    let file = cache.read();
    if crate::schedule::refresh_due(&file, crate::clock::now()) {
        let _ = refresh(cache, Asker::Schedule);
        return cache.read();
    }
    file
}

/// Starts `quotaline refresh` detached when one is due: own process group, stdout and stderr
/// on /dev/null (starship and tmux wait for stdout to close), stdin the refresh lock it holds.
/// Every failure here is silent: the prompt must not print garbage.
pub fn spawn_if_due(cache: &Cache, file: &CacheFile, now: DateTime<Utc>) {
    if !crate::schedule::refresh_due(file, now) {
        return;
    }
    let Ok(Some(lock)) = cache.try_refresh_lock() else {
        return; // a refresh is already running, or the cache dir is unusable
    };
    if cache.attempt_unrecorded(&lock, now, settings::ttl()) {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let _ = Command::new(exe)
        .arg("refresh")
        .env(LOCK_ON_STDIN, "1")
        .stdin(Stdio::from(lock))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
}
