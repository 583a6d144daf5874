//! The on-disk cache: the latest snapshot, the last error and the backoff, in one JSON file
//! that every process shares. Readers never lock (the file is replaced by an atomic rename);
//! writers hold `cache.lock` for the read-modify-write, and a refresh holds `refresh.lock`
//! for the whole fetch so that only one process talks to the server at a time.

use crate::error::{ErrorKind, FetchError};
use crate::snapshot::{Org, Snapshot};
use chrono::{DateTime, Duration, Utc};
use fs4::fs_std::FileExt;
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub const SCHEMA: u32 = 1;
const FILE: &str = "cache.json";

/// The last failure as `quotaline json` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorRecord {
    pub kind: ErrorKind,
    pub message: String,
    pub at: DateTime<Utc>,
    pub retry_at: Option<DateTime<Utc>>,
}

/// What the refresh loop remembers between processes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// When a fetch was last tried, successful or not: a failed try also waits a TTL, so a
    /// broken login does not start a refresh on every prompt.
    pub last_attempt: Option<DateTime<Utc>>,
    pub error: Option<ErrorRecord>,
    /// Consecutive failures that back off, for the exponential delay.
    #[serde(default)]
    pub failures: u32,
}

impl State {
    /// The backoff in force at `now`, if any.
    pub fn backoff_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.error.as_ref()?.retry_at.filter(|&t| t > now)
    }

    pub fn record_success(&mut self, at: DateTime<Utc>) {
        *self = State {
            last_attempt: Some(at),
            ..State::default()
        };
    }

    /// Records a failure and sets its backoff: the server's `Retry-After` for a 429 (a floor
    /// of 60 s when it says 0 or nothing), else 60 s doubling up to 30 min for failures that
    /// back off. A 429 carrying its own floor (OAuth: 5 min) waits at least that floor,
    /// doubling while it repeats up to 16 times the floor, whatever `Retry-After` says.
    pub fn record_failure(&mut self, err: &FetchError, at: DateTime<Utc>) {
        self.last_attempt = Some(at);
        let retry_at = if err.kind.backs_off() {
            self.failures = self.failures.saturating_add(1);
            let exponential = (60i64 << (self.failures - 1).min(5)).min(30 * 60);
            let floor = err
                .rate_limit_floor
                .filter(|_| err.kind == ErrorKind::RateLimited)
                .map(|f| at + Duration::seconds((f << (self.failures - 1).min(4)).min(f * 16)));
            Some(match (err.kind, err.retry_at, floor) {
                (ErrorKind::RateLimited, t, Some(floor)) => t.map_or(floor, |t| t.max(floor)),
                (ErrorKind::RateLimited, Some(t), None) if t > at => t,
                _ => at + Duration::seconds(exponential),
            })
        } else {
            self.failures = 0;
            None
        };
        self.error = Some(ErrorRecord {
            kind: err.kind,
            message: err.message.clone(),
            at,
            retry_at,
        });
    }
}

/// The whole cache file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CacheFile {
    #[serde(default)]
    pub schema: u32,
    pub snapshot: Option<Snapshot>,
    #[serde(default)]
    pub state: State,
    /// The browser extension's last report (`quotaline native-host`), kept apart from
    /// `state`: the browser's failures never drive quotaline's own backoff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<ExtensionReport>,
    /// The Claude Code version last seen on statusLine stdin: the OAuth source sends it as
    /// its User-Agent when the installed one cannot be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claude_code_version: Option<String>,
    /// The config file as last read, so the prompt path reads it again only after an edit
    /// (`settings::prime`). Every ingest brings it up to date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<crate::settings::Loaded>,
    /// Claude Code's account as last read from `.claude.json` (`claude_code::account_cached`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claude_account: Option<crate::auth::claude_code::AccountMemo>,
    /// The events' books: what fired lately, how the last delivery went (`events.rs`).
    #[serde(default, skip_serializing_if = "crate::events::Books::is_empty")]
    pub notify: crate::events::Books,
}

impl ExtensionReport {
    /// While the extension's reading is younger than this, `quotaline refresh` leaves the
    /// fetching to the browser: it polls every minute, so two missed minutes mean it stopped
    /// (browser closed, extension off) and quotaline's own sources take over.
    pub const FRESH_FOR_SECS: i64 = 120;
}

/// When the browser extension last handed over a reading, and what became of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExtensionReport {
    /// When the native host received it.
    pub at: DateTime<Utc>,
    /// When the browser fetched it.
    pub fetched_at: DateTime<Utc>,
    /// Why the reading was not stored (the browser was logged out, say).
    pub error: Option<String>,
}

impl CacheFile {
    /// The org a line shows: the one asked for (`--org`, `QUOTALINE_ORG`), else the active
    /// one, else the first.
    pub fn org(&self, wanted: Option<&str>) -> Option<&Org> {
        self.snapshot.as_ref()?.org(wanted)
    }

    /// Seconds since the shown org's windows were last read, from any source: the one
    /// definition of age, used by the segment, `json`, `status`, `check`, waybar and the
    /// prompt files alike. A snapshot without provenance (an old cache) counts from its
    /// fetch; `None` when there is no data at all.
    pub fn age(&self, wanted: Option<&str>, now: DateTime<Utc>) -> Option<i64> {
        let snapshot = self.snapshot.as_ref()?;
        let at = snapshot
            .org(wanted)
            .and_then(Org::read_at)
            .unwrap_or(snapshot.fetched_at);
        Some((now - at).num_seconds().max(0))
    }

    /// Whether the shown org's numbers are older than the TTL (`settings::ttl`); no data at
    /// all is not "stale", it is nothing.
    pub fn is_stale(&self, wanted: Option<&str>, now: DateTime<Utc>) -> bool {
        self.age(wanted, now)
            .is_some_and(|age| age >= crate::settings::ttl())
    }

    /// Whether the last full fetch is younger than the TTL. This is about asking the server
    /// again, not about what a line shows: an org's age also counts readings that cost no
    /// request (statusLine stdin).
    pub fn fetched_recently(&self, now: DateTime<Utc>) -> bool {
        self.snapshot
            .as_ref()
            .is_some_and(|s| now < s.fetched_at + Duration::seconds(crate::settings::ttl()))
    }

    /// From when a refresh is due: a TTL after the last fetch and after the last try
    /// (successful or not), and not before a backoff ends. The one rule that the segment,
    /// the statusline, `json`, `check` and the shells' prompt files follow.
    pub fn refresh_due_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let after_ttl =
            |t: Option<DateTime<Utc>>| t.map(|t| t + Duration::seconds(crate::settings::ttl()));
        [
            after_ttl(self.snapshot.as_ref().map(|s| s.fetched_at)),
            after_ttl(self.state.last_attempt),
            self.state.backoff_until(now),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(now)
    }

    pub fn refresh_due(&self, now: DateTime<Utc>) -> bool {
        self.refresh_due_at(now) <= now
    }
}

pub struct Cache {
    pub dir: PathBuf,
}

impl Cache {
    /// The cache dir the settings name (`settings::cache_dir`).
    pub fn locate() -> Cache {
        Cache {
            dir: crate::settings::cache_dir(),
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    /// The cache as it is; missing, unreadable or corrupt all read as empty (a refresh then
    /// replaces it).
    pub fn read(&self) -> CacheFile {
        let file = fs::read(self.path())
            .ok()
            .and_then(|bytes| serde_json::from_slice::<CacheFile>(&bytes).ok())
            .filter(|c| c.schema == SCHEMA)
            .unwrap_or_default();
        crate::settings::prime(file.config.as_ref());
        file
    }

    /// The cache as the prompt path shows it: like [`Cache::read`] but without the servers'
    /// raw bodies, which only `json` shows. Never write back what this returns.
    pub fn read_for_display(&self) -> CacheFile {
        crate::snapshot::without_raw(|| self.read())
    }

    /// Creates the private cache dir (0700) if needed.
    pub fn ensure_dir(&self) -> io::Result<()> {
        if !self.dir.is_dir() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.dir)
                .map_err(|e| with_path(e, &self.dir))?;
        }
        Ok(())
    }

    fn lock_file(&self, name: &str) -> io::Result<File> {
        self.ensure_dir()?;
        let path = self.dir.join(name);
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| with_path(e, &path))
    }

    /// The refresh lock if no other process holds it.
    pub fn try_refresh_lock(&self) -> io::Result<Option<File>> {
        let file = self.lock_file("refresh.lock")?;
        match file.try_lock_exclusive() {
            Ok(true) => Ok(Some(file)),
            Ok(false) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Waits for the refresh lock (another refresh is bounded by its HTTP timeouts).
    pub fn refresh_lock(&self) -> io::Result<File> {
        let file = self.lock_file("refresh.lock")?;
        file.lock_exclusive()?;
        Ok(file)
    }

    /// Read-modify-write under `cache.lock`, so concurrent writers (a refresh, Claude Code's
    /// statusLine) never lose each other's update.
    pub fn update<T>(&self, change: impl FnOnce(&mut CacheFile) -> T) -> io::Result<T> {
        let lock = self.lock_file("cache.lock")?;
        lock.lock_exclusive()?;
        let mut cache = self.read();
        cache.schema = SCHEMA;
        let out = change(&mut cache);
        let bytes = serde_json::to_vec(&cache).map_err(io::Error::other)?;
        write_atomic(&self.path(), &bytes)?;
        Ok(out)
    }
}

/// Temp file, fsync, rename: a killed writer never leaves a torn file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        // A file left by an older version with wider permissions is narrowed too.
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|e| with_path(e, path))
}

fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_795_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn server_errors_back_off_exponentially_up_to_thirty_minutes() {
        let mut state = State::default();
        let err = FetchError::new(ErrorKind::Http, "HTTP 502");
        let mut delays = vec![];
        for _ in 0..8 {
            state.record_failure(&err, at(0));
            delays.push((state.backoff_until(at(0)).unwrap() - at(0)).num_seconds());
        }
        assert_eq!(delays, [60, 120, 240, 480, 960, 1800, 1800, 1800]);
        state.record_success(at(5));
        assert_eq!(state.backoff_until(at(5)), None);
        assert_eq!(state.failures, 0);
    }

    #[test]
    fn rate_limit_honours_retry_after_and_floors_zero_at_sixty_seconds() {
        let mut state = State::default();
        let mut err = FetchError::new(ErrorKind::RateLimited, "429");
        err.retry_at = Some(at(300));
        state.record_failure(&err, at(0));
        assert_eq!(state.backoff_until(at(0)), Some(at(300)));
        err.retry_at = Some(at(0));
        state.record_failure(&err, at(0));
        assert!(state.backoff_until(at(0)).unwrap() >= at(60));
    }

    #[test]
    fn oauth_rate_limit_floors_at_five_minutes_and_doubles() {
        let mut state = State::default();
        let mut err = FetchError::new(ErrorKind::RateLimited, "429");
        err.rate_limit_floor = Some(300);
        let mut delays = vec![];
        for _ in 0..6 {
            state.record_failure(&err, at(0));
            delays.push((state.backoff_until(at(0)).unwrap() - at(0)).num_seconds());
        }
        assert_eq!(delays, [300, 600, 1200, 2400, 4800, 4800]);
        // A longer Retry-After still wins.
        err.retry_at = Some(at(9000));
        state.record_failure(&err, at(0));
        assert_eq!(state.backoff_until(at(0)), Some(at(9000)));
    }

    #[test]
    fn auth_failures_do_not_back_off() {
        let mut state = State::default();
        state.record_failure(&FetchError::new(ErrorKind::Unauthorized, "401"), at(0));
        assert_eq!(state.backoff_until(at(0)), None);
        assert_eq!(state.error.as_ref().unwrap().kind, ErrorKind::Unauthorized);
    }
}
