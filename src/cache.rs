//! The on-disk cache: the latest snapshot, the last error and the backoff, in one JSON file
//! that every process shares. Readers never lock (the file is replaced by an atomic rename);
//! writers hold `cache.lock` for the read-modify-write, and a refresh holds `refresh.lock`
//! for the whole fetch so that only one process talks to the server at a time.

use crate::claude_status::StatusBook;
use crate::error::{ErrorKind, ErrorRecord, FetchError};
use crate::event::Books;
use crate::file::Memo;
use crate::snapshot::{Account, Org, Snapshot};
use chrono::{DateTime, Duration, Utc};
use fs4::fs_std::FileExt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub const SCHEMA: u32 = 1;
const FILE: &str = "cache.json";
/// A cache holds a few KiB per org; a larger file was not written by quotaline, and the
/// prompt path must not read it.
const MAX_BYTES: u64 = 4 << 20;

/// The longest any backoff binds, whatever the server said.
pub const MAX_RETRY_AFTER_SECS: i64 = 24 * 3600;

/// How far ahead of this clock a stored time may be and still count: a little skew between
/// processes is normal; beyond it the time was written under a clock that was wrong, and it
/// must not keep numbers "fresh" or a refresh away.
pub const MAX_SKEW_SECS: i64 = 300;

/// `t`, unless it lies beyond the skew in the future.
pub fn believable(t: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    (t <= now + Duration::seconds(MAX_SKEW_SECS)).then_some(t)
}

/// One more claude.ai session than the one a refresh uses first (another browser profile's
/// jar): which account it turned out to be, and its own failures and backoff, so that one
/// account's expired session never holds back or blanks another's numbers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// `/api/account`'s `uuid`, once a reading through this session said it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default)]
    pub state: State,
    /// A Claude Code login's `.claude.json`, as last read: its account uuid, read again only
    /// after Claude Code wrote the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claude_json: Option<Memo<Option<String>>>,
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
        // Longer than any backoff quotaline sets: written under a clock that was ahead, it
        // would lock every process out for as long; it binds no more.
        self.error
            .as_ref()?
            .retry_at
            .filter(|&t| t > now && t <= now + Duration::seconds(MAX_RETRY_AFTER_SECS))
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
            let backoff = match (err.kind, err.retry_at, floor) {
                (ErrorKind::RateLimited, t, Some(floor)) => t.map_or(floor, |t| t.max(floor)),
                (ErrorKind::RateLimited, Some(t), None) if t > at => t,
                _ => at + Duration::seconds(exponential),
            };
            // A server's `Retry-After` (seconds or a date in 9999) waits a day at the most.
            Some(backoff.min(at + Duration::seconds(MAX_RETRY_AFTER_SECS)))
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
    /// The other logins found (`auth::sessions`'s other browser profiles, the session file,
    /// Claude Code's logins: `refresh`), by where each was found (a browser profile's name, a
    /// path; never a secret). `state` stays the first session's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sessions: BTreeMap<String, Session>,
    /// Where the first session was found (`QUOTALINE_SESSION_KEY`, a browser profile), as of
    /// the last refresh: what `quotaline accounts` says its account came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_session: Option<String>,
    /// The account the first session's last reading was of (claude.ai's `/api/account`, or
    /// Claude Code's login when it answered instead): the login whose entry of a shared org
    /// the line shows, and the one no other login is asked for again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_account: Option<String>,
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
    pub config: Option<crate::config::Loaded>,
    /// Why the previous cache file was moved aside (it did not read back), for `status` and
    /// `doctor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered: Option<String>,
    /// Claude Code's account as last read from `.claude.json` (`claude_code::account_cached`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claude_account: Option<Memo<Option<Account>>>,
    /// Why the last write of the `[metrics] textfile` failed (`outputs.rs`):
    /// shown by `status` and `doctor`, since a refresh never fails for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub textfile_error: Option<String>,
    /// The events' books: what fired lately, how the last delivery went (`event.rs`).
    #[serde(default, skip_serializing_if = "Books::is_empty")]
    pub notify: Books,
    /// What the schedule (`schedule.rs`) remembers of each org's readings, by login and org
    /// (`schedule::cadence_key`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cadence: BTreeMap<String, Cadence>,
    /// Why the org list (`/api/account`) must be read at the next refresh rather than within
    /// the hour: an org appeared through another path (Claude Code, the browser).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_list_check: Option<String>,
    /// Claude's own status page, as last read (`claude_status.rs`).
    #[serde(default, skip_serializing_if = "StatusBook::is_empty")]
    pub claude_status: StatusBook,
    /// Codex's newest session logs as last read (`source::codex`), with why they gave no
    /// numbers (`None` when they did): a refresh reads them again only after Codex wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codex_logs: Option<Memo<Option<String>>>,
    /// Why the ChatGPT backend's last answer for Codex gave no numbers (`codex_api = true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codex_api_error: Option<String>,
    /// When the ChatGPT backend was last asked for Codex's windows, answered or not: asked
    /// again only a TTL later, so a login that expired is not asked at every refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codex_api_asked: Option<DateTime<Utc>>,
}

/// What the schedule remembers about one login's org's full readings between processes
/// (`CacheFile::cadence`, by `schedule::cadence_key`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cadence {
    /// Full readings in a row that brought nothing new: the step on the back-off ladder.
    pub unchanged: u32,
    /// This org's random stretch of its interval, in per mille, drawn at each reading so that
    /// many machines never refresh in step.
    pub jitter: u16,
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

impl ExtensionReport {
    /// While the extension's reading is younger than this, `quotaline refresh` leaves the
    /// fetching to the browser: it polls every minute, so two missed minutes mean it stopped
    /// (browser closed, extension off) and quotaline's own sources take over.
    pub const FRESH_FOR_SECS: i64 = 120;
}

impl CacheFile {
    /// The org a line shows: the one asked for (`--org`, `QUOTALINE_ORG`), else the active
    /// one, else the first.
    pub fn org(&self, wanted: Option<&str>) -> Option<&Org> {
        let snapshot = self.snapshot.as_ref()?;
        // A Team org two logins share: the first session's entry, unless one is asked for.
        if let (None, Some(account), Some(active)) =
            (wanted, &self.first_account, &snapshot.active_org)
        {
            let mine = snapshot.orgs.iter().find(|o| {
                &o.org_uuid == active && o.account_uuid.as_deref() == Some(account.as_str())
            });
            if mine.is_some() {
                return mine;
            }
        }
        snapshot.org(wanted)
    }

    /// The book of the login refreshed on its own whose account is `uuid`, with where it was
    /// found.
    pub fn session_of(&self, uuid: &str) -> Option<(&String, &Session)> {
        self.sessions
            .iter()
            .find(|(_, s)| s.account.as_deref() == Some(uuid))
    }

    /// Seconds since the shown org's windows were last read, from any source: the one
    /// definition of age, used by the segment, `json`, `status`, `check`, waybar and the
    /// prompt files alike. A snapshot without provenance (an old cache) counts from its
    /// fetch; `None` when there is no data at all.
    pub fn age(&self, wanted: Option<&str>, now: DateTime<Utc>) -> Option<i64> {
        let snapshot = self.snapshot.as_ref()?;
        let fetched = snapshot.fetched_at;
        Some(match self.org(wanted) {
            Some(org) => org.age(fetched, now),
            None => (now - fetched).num_seconds().max(0),
        })
    }
}

/// The cache in its directory. Where that is, and what to do with each cache read, the
/// settings say (`settings::cache`): the store itself knows no settings.
pub struct Cache {
    pub dir: PathBuf,
    /// Handed every cache as it is read (the settings take the config kept in it).
    on_read: fn(&CacheFile),
}

impl Cache {
    /// The cache in `dir`, with nothing to do on a read.
    pub fn at(dir: PathBuf) -> Cache {
        Cache {
            dir,
            on_read: |_| {},
        }
    }

    /// The same cache, calling `on_read` with every cache read from the file.
    pub fn on_read(self, on_read: fn(&CacheFile)) -> Cache {
        Cache { on_read, ..self }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    /// The cache as it is; missing, unusable (see [`Cache::load`]) or corrupt all read as
    /// empty (a refresh then replaces it).
    pub fn read(&self) -> CacheFile {
        self.load().ok().flatten().unwrap_or_default()
    }

    /// The cache, `None` when there is none yet, or why it cannot be used: something other
    /// than a regular file in its place (a FIFO would block every prompt), a file larger
    /// than any cache, not a cache, another schema. `status` and `doctor` say which.
    pub fn load(&self) -> io::Result<Option<CacheFile>> {
        let path = self.path();
        let bytes = match crate::file::read(&path, MAX_BYTES) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            read => read?,
        };
        let unusable = |why: String| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {why}", path.display()),
            )
        };
        let cache: CacheFile = serde_json::from_slice(&bytes)
            .map_err(|e| unusable(format!("not a quotaline cache ({e})")))?;
        if cache.schema != SCHEMA {
            return Err(unusable(format!(
                "cache schema {}, this quotaline reads {SCHEMA}",
                cache.schema
            )));
        }
        (self.on_read)(&cache);
        Ok(Some(cache))
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
        self.check_dir().map(|_| ())
    }

    /// The cache dir must be this user's: another user's could feed a fake cache or clobber
    /// files through links. One with group or world access is tightened to 0700 (it holds
    /// account names and usage); `Ok(Some(note))` says so, for `doctor`.
    pub fn check_dir(&self) -> io::Result<Option<String>> {
        let meta = fs::symlink_metadata(&self.dir).map_err(|e| with_path(e, &self.dir))?;
        let refuse = |why: String| {
            io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{}: {why}: refused (remove it, or set QUOTALINE_CACHE_DIR)",
                    self.dir.display()
                ),
            )
        };
        if !meta.is_dir() {
            return Err(refuse("not a directory".into()));
        }
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return Err(refuse(format!(
                "owned by uid {}, not this user ({me})",
                meta.uid()
            )));
        }
        let mode = meta.mode() & 0o777;
        if mode & 0o077 != 0 {
            fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| with_path(e, &self.dir))?;
            return Ok(Some(format!("was mode {mode:04o}, tightened to 0700")));
        }
        Ok(None)
    }

    fn lock_file(&self, name: &str) -> io::Result<File> {
        self.ensure_dir()?;
        let path = self.dir.join(name);
        let open = |new: bool| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(new)
                .truncate(false)
                .mode(0o600)
                .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
                .open(&path)
        };
        match open(true) {
            Ok(file) => {
                // A new lock marks no attempt (see `attempt_unrecorded`).
                file.set_modified(std::time::SystemTime::UNIX_EPOCH)?;
                Ok(file)
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => open(false),
            Err(e) => Err(e),
        }
        .map_err(|e| with_path(e, &path))
    }

    /// Marks a fetch attempt on the held refresh lock: its mtime is the memory of the last
    /// try that needs no space and no cache write (futimens on an open file works on a full
    /// disk).
    pub fn mark_attempt(lock: &File) {
        use rustix::fs::{futimens, Timespec, Timestamps, UTIME_NOW, UTIME_OMIT};
        // The kernel's own "now" (UTIME_NOW), the clock it stamps the cache file's writes with:
        // a write after the mark is never older than it.
        let times = Timestamps {
            last_access: Timespec {
                tv_sec: 0,
                tv_nsec: UTIME_OMIT,
            },
            last_modification: Timespec {
                tv_sec: 0,
                tv_nsec: UTIME_NOW,
            },
        };
        let _ = futimens(lock, &times);
    }

    /// Whether a fetch was tried within the TTL that the cache did not record: the cache
    /// cannot be written (full disk, read-only file), and asking again on every prompt would
    /// only storm the server. At most one fetch per TTL holds even then.
    pub fn attempt_unrecorded(&self, lock: &File, now: DateTime<Utc>, ttl_secs: i64) -> bool {
        let mtime = |m: io::Result<fs::Metadata>| {
            m.and_then(|m| m.modified()).ok().map(DateTime::<Utc>::from)
        };
        let Some(marked) = mtime(lock.metadata()) else {
            return false;
        };
        let recent = believable(marked, now).is_some_and(|m| now < m + Duration::seconds(ttl_secs));
        // Recorded: the cache file was replaced at or after the try.
        let recorded = mtime(fs::metadata(self.path())).is_some_and(|written| written >= marked);
        recent && !recorded
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
    ///
    /// A cache that exists but does not read back is never taken for empty (the writer would
    /// then drop every org it does not itself report): it is moved aside to `cache.json.bad`
    /// and the new file says so (`CacheFile::recovered`). And what is written must read back:
    /// a server body too deep to parse inside the cache is dropped from the copy kept verbatim
    /// rather than leave an unreadable file.
    pub fn update<T>(&self, change: impl FnOnce(&mut CacheFile) -> T) -> io::Result<T> {
        let lock = self.lock_file("cache.lock")?;
        lock.lock_exclusive()?;
        let mut cache = match self.load() {
            Ok(file) => file.unwrap_or_default(),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                let aside = self.dir.join("cache.json.bad");
                fs::rename(self.path(), &aside).map_err(|e| with_path(e, &self.path()))?;
                CacheFile {
                    recovered: Some(format!("{e}; moved aside to {}", aside.display())),
                    ..CacheFile::default()
                }
            }
            Err(e) => return Err(e),
        };
        cache.schema = SCHEMA;
        let out = change(&mut cache);
        let mut bytes = serde_json::to_vec(&cache).map_err(io::Error::other)?;
        if serde_json::from_slice::<CacheFile>(&bytes).is_err() {
            if let Some(s) = cache.snapshot.as_mut() {
                for org in &mut s.orgs {
                    org.raw = crate::snapshot::Raw::default();
                }
            }
            bytes = serde_json::to_vec(&cache).map_err(io::Error::other)?;
            serde_json::from_slice::<CacheFile>(&bytes).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("the cache would not read back: {e}"),
                )
            })?;
        }
        write_atomic(&self.path(), &bytes)?;
        Ok(out)
    }
}

/// Temp file, fsync, rename: a killed writer never leaves a torn file. The temp file is new
/// (`O_EXCL`) under an unguessable name and never a link (`O_NOFOLLOW`), so nobody can make
/// quotaline write through a name planted in advance. Private (0600)
/// unless `mode` says otherwise.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_mode(path, bytes, 0o600)
}

/// [`write_atomic`] with the file's mode, for a file another user's program reads.
pub fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let (tmp, mut file) = create_temp(dir, name).map_err(|e| with_path(e, path))?;
    let result = (|| {
        // `mode` exactly, whatever the umask (the metrics file is meant to be shared).
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    } else {
        remove_stale_temps(dir, name);
    }
    result.map_err(|e| with_path(e, path))
}

/// A temp file older than this was left by a writer that died (killed mid-write, a full disk
/// at the wrong moment): a live one is renamed away within milliseconds.
const STALE_TEMP_SECS: u64 = 10 * 60;

/// Removes what writers of `name` that died left in `dir`: only files named as
/// [`create_temp`] names them for `name`, regular files (never a link, which is looked at and
/// not followed; never a file with another name linked to it), this user's, and old.
fn remove_stale_temps(dir: &Path, name: &str) {
    let me = rustix::process::geteuid().as_raw();
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{name}.");
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(hex) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|n| n.strip_suffix(".tmp"))
        else {
            continue;
        };
        if hex.len() != 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        // `DirEntry::metadata` does not follow a link.
        let Ok(meta) = entry.metadata() else { continue };
        let old = meta
            .modified()
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() >= STALE_TEMP_SECS);
        if meta.file_type().is_file() && meta.uid() == me && meta.nlink() == 1 && old {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// A new 0600 file `.<name>.<random>.tmp` in `dir`, created exclusively.
fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    use std::hash::{BuildHasher, Hasher};
    for _ in 0..16 {
        // RandomState is seeded from the OS: an unguessable name without another crate.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        let tmp = dir.join(format!(".{name}.{:016x}.tmp", h.finish()));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(&tmp)
        {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free temporary name",
    ))
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
    fn a_team_org_two_logins_share_shows_the_first_sessions_entry() {
        let login = |account: &str, pct: f64| {
            let mut o = crate::snapshot::five_hour_org("team", pct, None, at(0));
            o.account_uuid = Some(account.into());
            o
        };
        let mut file = CacheFile {
            snapshot: Some(Snapshot {
                source: "claude.ai".into(),
                fetched_at: at(0),
                active_org: Some("team".into()),
                // The other login's entry came first (its refresh, or the browser's, was last).
                orgs: vec![login("other", 10.0), login("mine", 30.0)],
            }),
            ..CacheFile::default()
        };
        assert_eq!(
            file.org(None).unwrap().account_uuid.as_deref(),
            Some("other")
        );
        file.first_account = Some("mine".into());
        assert_eq!(
            file.org(None).unwrap().account_uuid.as_deref(),
            Some("mine")
        );
        // One asked for is the one given.
        let other = file.org(Some("other/team")).unwrap();
        assert_eq!(other.account_uuid.as_deref(), Some("other"));
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
