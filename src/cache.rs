//! The on-disk cache: the latest snapshot, the last error and the backoff, in one JSON file
//! that every process shares. Readers never lock (the file is replaced by an atomic rename);
//! writers hold `cache.lock` for the read-modify-write, and a refresh holds `refresh.lock`
//! for the whole fetch so that only one process talks to the server at a time.

use crate::error::{ErrorKind, FetchError};
use crate::snapshot::Snapshot;
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
    /// Seconds since the snapshot was fetched.
    pub fn age(&self, now: DateTime<Utc>) -> Option<i64> {
        self.snapshot
            .as_ref()
            .map(|s| (now - s.fetched_at).num_seconds().max(0))
    }
}

pub struct Cache {
    pub dir: PathBuf,
}

impl Cache {
    /// `$QUOTALINE_CACHE_DIR`, else `$XDG_CACHE_HOME/quotaline`, else `~/.cache/quotaline`.
    pub fn locate() -> Cache {
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let dir = env("QUOTALINE_CACHE_DIR")
            .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("quotaline")))
            .or_else(|| env("HOME").map(|h| h.join(".cache/quotaline")))
            .unwrap_or_else(|| PathBuf::from("/tmp/quotaline"));
        Cache { dir }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    /// The cache as it is; missing, unreadable or corrupt all read as empty (a refresh then
    /// replaces it).
    pub fn read(&self) -> CacheFile {
        fs::read(self.path())
            .ok()
            .and_then(|bytes| serde_json::from_slice::<CacheFile>(&bytes).ok())
            .filter(|c| c.schema == SCHEMA)
            .unwrap_or_default()
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
