//! Finding the user's claude.ai login in the cookie jars of their browsers.
//!
//! `discover` looks at every Chromium-family and Firefox profile it knows about, reads the
//! claude.ai cookies of each (decrypting Chromium's with the key from the desktop keyring),
//! and reports both the usable jars and what it saw everywhere else, for `quotaline doctor`.
//! Everything it needs from the outside world comes through `Env`, so tests are hermetic.
//! Decrypted values live only in memory; the only thing written to disk is a temporary copy
//! of a cookie database, in a private directory that is removed when the read is done.

mod chromium;
mod firefox;
mod keyring;

#[cfg(test)]
#[path = "../../../tests/it/common/browsers.rs"]
mod fixtures;

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, ErrorCode, OpenFlags};

/// Where to look: everything comes from here, never from the real process env directly, so
/// tests are hermetic.
#[derive(Debug, Clone)]
pub struct Env {
    pub home: PathBuf,
    /// `$XDG_CONFIG_HOME` when set to an absolute path; `~/.config` otherwise.
    pub xdg_config_home: Option<PathBuf>,
    /// `%APPDATA%`, only used for Firefox on Windows.
    pub appdata: Option<PathBuf>,
    pub platform: Platform,
    /// `PATH` for finding `secret-tool`, `kwallet-query` and `security`; `None` finds nothing.
    pub path_var: Option<OsString>,
    /// Cookies that expired at or before this moment are ignored.
    pub now_unix: i64,
}

impl Env {
    pub fn from_process() -> Env {
        let home = crate::settings::home().unwrap_or_default();
        let xdg_config_home = crate::settings::xdg_config_home();
        let appdata = crate::settings::appdata();
        let now_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs() as i64)
            .unwrap_or(0);
        Env {
            home,
            xdg_config_home,
            appdata,
            platform: Platform::current(),
            path_var: crate::settings::path_var(),
            now_unix,
        }
    }

    /// The base of `~/.config`-style paths, honouring `$XDG_CONFIG_HOME`.
    fn config_dir(&self) -> PathBuf {
        match &self.xdg_config_home {
            Some(dir) => dir.clone(),
            None => self.home.join(".config"),
        }
    }

    fn path_var(&self) -> Option<&OsStr> {
        self.path_var.as_deref()
    }
}

/// Which operating system's file layout and keyring to use. A value rather than `cfg!` so
/// that tests on Linux can exercise the macOS code paths too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Linux,
    MacOs,
    /// Firefox only: Chromium on Windows encrypts with DPAPI and app-bound keys, out of reach.
    Windows,
}

impl Platform {
    pub fn current() -> Platform {
        if cfg!(target_os = "macos") {
            Platform::MacOs
        } else if cfg!(windows) {
            Platform::Windows
        } else {
            Platform::Linux
        }
    }
}

/// One claude.ai cookie, decrypted.
#[derive(Clone, PartialEq, Eq)]
pub struct Cookie {
    /// As the browser stores it: `claude.ai` for a host-only cookie, `.claude.ai` for a
    /// domain cookie.
    pub host: String,
    pub name: String,
    pub value: String,
    /// `None` for a session cookie.
    pub expires_unix: Option<i64>,
}

// Written by hand so that a stray `{:?}` can never print a session key.
impl fmt::Debug for Cookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cookie")
            .field("host", &self.host)
            .field("name", &self.name)
            .field("value", &Redacted(&self.value))
            .field("expires_unix", &self.expires_unix)
            .finish()
    }
}

/// Prints only the length of a secret.
struct Redacted<'a>(&'a str);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<redacted, {} chars>", self.0.chars().count())
    }
}

/// One browser profile's claude.ai cookie jar.
#[derive(Clone)]
pub struct Jar {
    /// "chrome", "chromium", "brave", "edge", "vivaldi", "opera", "arc" or "firefox".
    pub browser: String,
    /// "Chrome", "Firefox", ... for messages.
    pub browser_name: String,
    /// "Default", "Profile 2", or the Firefox profile's name.
    pub profile: String,
    pub db_path: PathBuf,
    /// Every unexpired claude.ai cookie, most specific host first, then most recently used.
    pub cookies: Vec<Cookie>,
    /// The latest last-access time of its claude.ai cookies, to prefer the jar in use.
    pub last_used_unix: i64,
}

impl Jar {
    /// The `sessionKey` cookie value: the login itself.
    pub fn session_key(&self) -> Option<&str> {
        self.cookie_value("sessionKey")
    }

    /// The org the user last used on claude.ai.
    pub fn last_active_org(&self) -> Option<&str> {
        self.cookie_value("lastActiveOrg")
    }

    /// The `Cookie` header a browser would send to `https://claude.ai/`: every cookie of
    /// `claude.ai` and `.claude.ai`, host-only first, one per name.
    /// Cookies whose value cannot travel in a header (a browser may hold non-ASCII ones) are
    /// left out; a session key among them is refused later, by name, with no value shown.
    pub fn cookie_header(&self) -> String {
        self.sent_to_claude_ai()
            .iter()
            .filter(|c| c.name == "sessionKey" || c.value.chars().all(|ch| ch.is_ascii_graphic()))
            .map(|cookie| format!("{}={}", cookie.name, cookie.value))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// "brave:Profile 2": what `QUOTALINE_BROWSER` pins.
    pub fn label(&self) -> String {
        format!("{}:{}", self.browser, self.profile)
    }

    fn cookie_value(&self, name: &str) -> Option<&str> {
        self.sent_to_claude_ai()
            .into_iter()
            .find(|cookie| cookie.name == name && !cookie.value.is_empty())
            .map(|cookie| cookie.value.as_str())
    }

    /// Cookies of subdomains (`.support.claude.ai`) are not sent to `claude.ai`, so they must
    /// not shadow the real ones; of duplicates by name, the first in `cookies` order wins.
    fn sent_to_claude_ai(&self) -> Vec<&Cookie> {
        let mut seen = HashSet::new();
        self.cookies
            .iter()
            .filter(|cookie| {
                cookie
                    .host
                    .trim_start_matches('.')
                    .eq_ignore_ascii_case(CLAUDE_HOST)
            })
            .filter(|cookie| seen.insert(cookie.name.as_str()))
            .collect()
    }
}

impl fmt::Debug for Jar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jar")
            .field("browser", &self.browser)
            .field("browser_name", &self.browser_name)
            .field("profile", &self.profile)
            .field("db_path", &self.db_path)
            .field("cookies", &self.cookies)
            .field("last_used_unix", &self.last_used_unix)
            .finish()
    }
}

/// What was seen at each place searched, for the `quotaline doctor` report; never holds
/// secret values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub browser_name: String,
    /// Empty when the browser's directory holds no profile at all.
    pub profile: String,
    pub path: PathBuf,
    pub outcome: Outcome,
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let profile = if self.profile.is_empty() {
            String::new()
        } else {
            format!(" {}", self.profile)
        };
        write!(
            f,
            "{}{} ({}): {}",
            self.browser_name,
            profile,
            self.path.display(),
            self.outcome
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    NoCookieDb,
    NoClaudeCookies,
    NoSessionKey {
        cookies: usize,
    },
    Usable {
        cookies: usize,
    },
    /// The database could not be read because another process holds it.
    Locked(String),
    /// "no keyring secret for Chrome", "wrong key", "unknown encryption prefix v12",
    /// "bad padding".
    Undecryptable(String),
    Error(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::NoCookieDb => write!(f, "no cookie database"),
            Outcome::NoClaudeCookies => write!(f, "no claude.ai cookies"),
            Outcome::NoSessionKey { cookies } => {
                write!(
                    f,
                    "{cookies} claude.ai cookies but no sessionKey (logged out?)"
                )
            }
            Outcome::Usable { cookies } => write!(f, "usable ({cookies} claude.ai cookies)"),
            Outcome::Locked(why) => write!(f, "locked: {why}"),
            Outcome::Undecryptable(why) => write!(f, "cannot decrypt: {why}"),
            Outcome::Error(why) => write!(f, "error: {why}"),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// Usable jars (with a sessionKey), most recently used first.
    pub jars: Vec<Jar>,
    /// Every place searched, in search order.
    pub probes: Vec<Probe>,
    /// Every folder a browser keeps its profiles in that was looked for, present or not: what
    /// an error says when nothing was found.
    pub looked_in: Vec<PathBuf>,
}

impl Discovery {
    /// `looked_in`, with the home folder written `~`, for a message.
    pub fn looked_in_summary(&self, home: &Path) -> String {
        let shown: Vec<String> = self
            .looked_in
            .iter()
            .map(|p| match p.strip_prefix(home) {
                Ok(rest) => format!("~/{}", rest.display()),
                Err(_) => p.display().to_string(),
            })
            .collect();
        shown.join(", ")
    }
}

/// Reads every known browser profile's claude.ai cookies.
pub fn discover(env: &Env) -> Discovery {
    let mut found = Discovery::default();
    chromium::discover(env, &mut found);
    firefox::discover(env, &mut found);
    // Stable, so among equally recent jars the search order (default profiles first) holds.
    found
        .jars
        .sort_by_key(|jar| std::cmp::Reverse(jar.last_used_unix));
    found
}

/// `QUOTALINE_BROWSER` pinning: "chrome" (any profile of chrome, most recent), "firefox",
/// "brave:Profile 2" (exact profile, case-insensitive browser name). No pin: the most
/// recently used jar.
pub fn pick<'a>(d: &'a Discovery, pin: Option<&str>) -> Option<&'a Jar> {
    let pin = pin.map(str::trim).filter(|pin| !pin.is_empty());
    let Some(pin) = pin else {
        return d.jars.first();
    };
    let (browser, profile) = match pin.split_once(':') {
        Some((browser, profile)) => (browser.trim(), Some(profile.trim())),
        None => (pin, None),
    };
    d.jars.iter().find(|jar| {
        jar.browser.eq_ignore_ascii_case(browser)
            && profile.is_none_or(|profile| jar.profile == profile)
    })
}

/// A user-facing summary for the no-credentials error: "Chrome (2 profiles), Firefox (1
/// profile)" of the profiles where a cookie database was found; "no browser profiles" when
/// none.
pub fn searched_summary(d: &Discovery) -> String {
    // (browser name, distinct profile directories), in search order.
    let mut counts: Vec<(&str, HashSet<&Path>)> = Vec::new();
    for probe in &d.probes {
        if probe.outcome == Outcome::NoCookieDb {
            continue;
        }
        let dir = profile_dir_of(&probe.path);
        match counts
            .iter_mut()
            .find(|(name, _)| *name == probe.browser_name)
        {
            Some((_, dirs)) => {
                dirs.insert(dir);
            }
            None => counts.push((&probe.browser_name, HashSet::from([dir]))),
        }
    }
    if counts.is_empty() {
        return "no browser profiles".to_string();
    }
    counts
        .iter()
        .map(|(name, dirs)| {
            let noun = if dirs.len() == 1 {
                "profile"
            } else {
                "profiles"
            };
            format!("{name} ({} {noun})", dirs.len())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The profile directory of a cookie database, so that `Default/Cookies` and
/// `Default/Network/Cookies` count as one profile.
fn profile_dir_of(db_path: &Path) -> &Path {
    let dir = db_path.parent().unwrap_or(db_path);
    if dir.file_name() == Some(OsStr::new("Network")) {
        dir.parent().unwrap_or(dir)
    } else {
        dir
    }
}

const CLAUDE_HOST: &str = "claude.ai";

/// `claude.ai`, `.claude.ai` and its subdomains; never `notclaude.ai` or
/// `claude.ai.evil.com`. Checked again after the SQL filter so a query mistake cannot leak
/// another site's cookies.
fn is_claude_host(host: &str) -> bool {
    let host = host.trim_start_matches('.').to_ascii_lowercase();
    host == CLAUDE_HOST || host.ends_with(".claude.ai")
}

/// A cookie as read from a database, with the last-access time used for ordering.
struct ReadCookie {
    cookie: Cookie,
    last_access_unix: i64,
}

/// The identity of one cookie database, carried from where it was found to its probe.
struct Place<'a> {
    browser: &'a str,
    browser_name: &'a str,
    profile: &'a str,
    db_path: &'a Path,
}

impl Place<'_> {
    fn probe(&self, path: &Path, outcome: Outcome) -> Probe {
        Probe {
            browser_name: self.browser_name.to_string(),
            profile: self.profile.to_string(),
            path: path.to_path_buf(),
            outcome,
        }
    }

    /// Records what reading the database gave: a usable jar when it has a sessionKey, and
    /// otherwise the reason it does not. `failure` is the first cookie that could not be
    /// decrypted; it only matters when it left the jar without a sessionKey.
    fn conclude(&self, mut read: Vec<ReadCookie>, failure: Option<String>, out: &mut Discovery) {
        read.sort_by(|a, b| {
            host_specificity(&a.cookie.host)
                .cmp(&host_specificity(&b.cookie.host))
                .then(b.last_access_unix.cmp(&a.last_access_unix))
        });
        let last_used_unix = read
            .iter()
            .map(|cookie| cookie.last_access_unix)
            .max()
            .unwrap_or(0)
            .max(0);
        let jar = Jar {
            browser: self.browser.to_string(),
            browser_name: self.browser_name.to_string(),
            profile: self.profile.to_string(),
            db_path: self.db_path.to_path_buf(),
            cookies: read.into_iter().map(|read| read.cookie).collect(),
            last_used_unix,
        };
        let count = jar.cookies.len();
        let outcome = match (jar.session_key(), failure) {
            (Some(_), _) => Outcome::Usable { cookies: count },
            (None, Some(reason)) => Outcome::Undecryptable(reason),
            (None, None) if count == 0 => Outcome::NoClaudeCookies,
            (None, None) => Outcome::NoSessionKey { cookies: count },
        };
        out.probes.push(self.probe(self.db_path, outcome.clone()));
        if let Outcome::Usable { .. } = outcome {
            out.jars.push(jar);
        }
    }
}

/// Sort key putting the most specific host first: a longer domain before its parent, and a
/// host-only cookie (`claude.ai`) before the domain cookie (`.claude.ai`).
fn host_specificity(host: &str) -> (std::cmp::Reverse<usize>, bool) {
    let is_domain_cookie = host.starts_with('.');
    let bare = host.trim_start_matches('.');
    (std::cmp::Reverse(bare.len()), is_domain_cookie)
}

/// A temporary directory only the user can enter, removed (with its contents) on drop. Cookie
/// databases are copied here because a running browser keeps the original locked.
struct PrivateTempDir {
    path: PathBuf,
}

impl PrivateTempDir {
    fn new() -> io::Result<PrivateTempDir> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let base = std::env::temp_dir();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.subsec_nanos())
            .unwrap_or(0);
        // Retry on a name clash (a leftover or a hostile pre-created dir) rather than reuse it.
        for _ in 0..16 {
            let name = format!(
                "quotaline-cookies-{}-{nanos}-{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            );
            let path = base.join(name);
            let mut builder = fs::DirBuilder::new();
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                builder.mode(0o700);
            }
            match builder.create(&path) {
                Ok(()) => return Ok(PrivateTempDir { path }),
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(error) => return Err(error),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("no free temporary directory name in {}", base.display()),
        ))
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PrivateTempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Drops repeated paths, keeping the first: `$XDG_CONFIG_HOME` may point into a place that
/// is searched anyway, and one database must not be reported twice.
fn without_repeats(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut unique = Vec::new();
    for path in paths {
        if !unique.contains(&path) {
            unique.push(path);
        }
    }
    unique
}

/// A read-only connection to a private copy of a cookie database. Fields drop in order: the
/// connection closes before its directory is removed.
struct Snapshot {
    conn: Connection,
    _dir: PrivateTempDir,
}

/// Copies `db` (and its `-wal` file, where fresh rows may live) into a private temp dir and
/// opens the copy, so that neither the browser's lock nor our reading can disturb the other.
fn open_snapshot(db: &Path) -> Result<Snapshot, Outcome> {
    let dir = PrivateTempDir::new()
        .map_err(|error| Outcome::Error(format!("cannot create a private temp dir: {error}")))?;
    let file_name = db.file_name().unwrap_or(OsStr::new("cookies.db"));
    let copy = dir.path().join(file_name);
    fs::copy(db, &copy).map_err(|error| copy_error(db, &error))?;
    // The main file first, then the WAL: rows committed in between are at worst missed.
    let wal = with_suffix(db, "-wal");
    if wal.is_file() {
        fs::copy(&wal, with_suffix(&copy, "-wal")).map_err(|error| copy_error(&wal, &error))?;
    }
    let conn = Connection::open_with_flags(
        &copy,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|error| sqlite_outcome(&error))?;
    Ok(Snapshot { conn, _dir: dir })
}

/// `Cookies` -> `Cookies-wal`: SQLite's side files share the name with a suffix.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

fn copy_error(path: &Path, error: &io::Error) -> Outcome {
    // Windows refuses to share a file the browser opened exclusively (sharing/lock violation).
    if cfg!(windows) && matches!(error.raw_os_error(), Some(32) | Some(33)) {
        return Outcome::Locked(format!("cannot copy {}: {error}", path.display()));
    }
    match error.kind() {
        io::ErrorKind::NotFound => Outcome::NoCookieDb,
        _ => Outcome::Error(format!("cannot copy {}: {error}", path.display())),
    }
}

/// Maps an SQLite error to an outcome; its text names the problem, never a cookie value.
fn sqlite_outcome(error: &rusqlite::Error) -> Outcome {
    match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            Outcome::Locked(error.to_string())
        }
        Some(ErrorCode::NotADatabase) => Outcome::Error("not an SQLite database".to_string()),
        _ => Outcome::Error(format!("SQLite: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookie(host: &str, name: &str, value: &str) -> Cookie {
        Cookie {
            host: host.to_string(),
            name: name.to_string(),
            value: value.to_string(),
            expires_unix: None,
        }
    }

    fn jar(browser: &str, profile: &str, last_used_unix: i64) -> Jar {
        Jar {
            browser: browser.to_string(),
            browser_name: browser.to_string(),
            profile: profile.to_string(),
            db_path: PathBuf::from(format!("/x/{browser}/{profile}/Cookies")),
            cookies: vec![cookie("claude.ai", "sessionKey", "sk-ant-sid01-secret")],
            last_used_unix,
        }
    }

    fn probe(browser_name: &str, path: &str, outcome: Outcome) -> Probe {
        Probe {
            browser_name: browser_name.to_string(),
            profile: "p".to_string(),
            path: PathBuf::from(path),
            outcome,
        }
    }

    #[test]
    fn debug_output_of_cookies_and_jars_never_shows_values() {
        let jar = jar("chrome", "Default", 1);
        let printed = format!("{jar:?} {:?}", jar.cookies[0]);
        assert!(!printed.contains("secret"), "{printed}");
        assert!(printed.contains("<redacted, 19 chars>"), "{printed}");
    }

    #[test]
    fn cookie_header_sends_apex_cookies_host_only_first_one_per_name() {
        let jar = Jar {
            cookies: vec![
                cookie("support.claude.ai", "sessionKey", "subdomain"),
                cookie("claude.ai", "sessionKey", "host-only"),
                cookie(".claude.ai", "sessionKey", "domain"),
                cookie(".claude.ai", "cf_clearance", "cf"),
                cookie(".claude.ai", "lastActiveOrg", "org-1"),
            ],
            ..jar("chrome", "Default", 1)
        };
        assert_eq!(
            jar.cookie_header(),
            "sessionKey=host-only; cf_clearance=cf; lastActiveOrg=org-1"
        );
        assert_eq!(jar.session_key(), Some("host-only"));
        assert_eq!(jar.last_active_org(), Some("org-1"));
        assert_eq!(jar.label(), "chrome:Default");
    }

    #[test]
    fn an_empty_session_key_is_no_session_key() {
        let jar = Jar {
            cookies: vec![cookie(".claude.ai", "sessionKey", "")],
            ..jar("chrome", "Default", 1)
        };
        assert_eq!(jar.session_key(), None);
    }

    #[test]
    fn pick_without_pin_takes_the_first_that_is_the_most_recent() {
        let d = Discovery {
            jars: vec![jar("brave", "Profile 2", 30), jar("chrome", "Default", 20)],
            probes: vec![],
            ..Discovery::default()
        };
        assert_eq!(pick(&d, None).unwrap().label(), "brave:Profile 2");
        assert_eq!(pick(&d, Some("  ")).unwrap().label(), "brave:Profile 2");
    }

    #[test]
    fn pick_by_browser_name_is_case_insensitive_and_by_profile_exact() {
        let d = Discovery {
            jars: vec![
                jar("chrome", "Profile 1", 30),
                jar("brave", "Profile 2", 20),
                jar("chrome", "Default", 10),
                jar("firefox", "default-release", 5),
            ],
            probes: vec![],
            ..Discovery::default()
        };
        assert_eq!(
            pick(&d, Some("Chrome")).unwrap().label(),
            "chrome:Profile 1"
        );
        assert_eq!(
            pick(&d, Some("chrome:Default")).unwrap().label(),
            "chrome:Default"
        );
        assert_eq!(
            pick(&d, Some("BRAVE:Profile 2")).unwrap().label(),
            "brave:Profile 2"
        );
        assert_eq!(
            pick(&d, Some("firefox")).unwrap().label(),
            "firefox:default-release"
        );
        assert!(pick(&d, Some("brave:profile 2")).is_none());
        assert!(pick(&d, Some("edge")).is_none());
    }

    #[test]
    fn searched_summary_counts_profiles_that_have_a_cookie_db() {
        let d = Discovery {
            jars: vec![],
            probes: vec![
                probe(
                    "Chrome",
                    "/c/Default/Network/Cookies",
                    Outcome::NoClaudeCookies,
                ),
                probe("Chrome", "/c/Default/Cookies", Outcome::NoClaudeCookies),
                probe(
                    "Chrome",
                    "/c/Profile 1/Cookies",
                    Outcome::Undecryptable("x".into()),
                ),
                probe("Chrome", "/c/Profile 2/Cookies", Outcome::NoCookieDb),
                probe(
                    "Firefox",
                    "/f/a.default/cookies.sqlite",
                    Outcome::Locked("x".into()),
                ),
            ],
            ..Discovery::default()
        };
        assert_eq!(
            searched_summary(&d),
            "Chrome (2 profiles), Firefox (1 profile)"
        );
        assert_eq!(
            searched_summary(&Discovery::default()),
            "no browser profiles"
        );
    }

    #[test]
    fn claude_hosts_are_claude_ai_and_its_subdomains_only() {
        for host in ["claude.ai", ".claude.ai", ".CLAUDE.AI", "support.claude.ai"] {
            assert!(is_claude_host(host), "{host}");
        }
        for host in [
            ".anthropic.com",
            "notclaude.ai",
            ".notclaude.ai",
            "claude.ai.evil.com",
        ] {
            assert!(!is_claude_host(host), "{host}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn private_temp_dir_is_owner_only_and_removed_on_drop() {
        use std::os::unix::fs::PermissionsExt;
        let dir = PrivateTempDir::new().unwrap();
        let path = dir.path().to_path_buf();
        fs::write(path.join("Cookies"), b"x").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        drop(dir);
        assert!(!path.exists());
    }

    #[test]
    fn snapshot_copy_is_removed_when_the_snapshot_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("Cookies");
        fixtures::write_chromium_db(&db, 24, &[]);
        let snapshot = open_snapshot(&db).unwrap();
        let copy_dir = snapshot._dir.path().to_path_buf();
        assert!(copy_dir.join("Cookies").is_file());
        drop(snapshot);
        assert!(!copy_dir.exists());
        assert!(db.is_file());
    }

    #[test]
    fn garbage_file_is_reported_as_not_a_database() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("Cookies");
        fs::write(&db, vec![7u8; 4096]).unwrap();
        let outcome = open_snapshot(&db)
            .and_then(|snapshot| {
                snapshot
                    .conn
                    .query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
                    .map_err(|error| sqlite_outcome(&error))
            })
            .unwrap_err();
        assert_eq!(
            outcome,
            Outcome::Error("not an SQLite database".to_string())
        );
    }
}
