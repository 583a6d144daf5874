//! Settings, and the only reader of the process environment. Every command asks here, so a
//! setting has one name, one rule for an empty value (empty or blank is unset), one default,
//! and one order: a flag, then the environment, then `config.toml` (`config.rs`), then the
//! default. Secrets (`QUOTALINE_COOKIE`, `QUOTALINE_SESSION_KEY`, `CLAUDE_CODE_OAUTH_TOKEN`)
//! are read here too, but only handed to `auth`; nothing here prints them.

// `TTL_RANGE`, `TIMEOUT_RANGE`: the config file checks them; the environment is clamped into
// them.
use crate::config::{At, Display, FileId, Loaded, TIMEOUT_RANGE, TTL_RANGE};
use crate::target::{MenuBar, Target};
use crate::thresholds::Thresholds;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// A variable's value, unless it is unset, empty or blank.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A path variable, unless it is unset or empty (paths are taken byte for byte).
fn var_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Where a setting's value came from, for `quotaline config`.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    Default,
    /// The config file, at this line.
    File(usize),
    Env(&'static str),
    Flag,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File(line) => write!(f, "config.toml:{line}"),
            Origin::Env(name) => write!(f, "env {name}"),
            Origin::Flag => f.write_str("flag"),
        }
    }
}

/// A value and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Setting<T> {
    pub value: T,
    pub origin: Origin,
}

/// Who a rendered line is for. The shells' prompt files (and the extension's popup line) are
/// written by whichever process ingested last (tmux, waybar, the browser's host, Claude
/// Code), so they follow the config file only: the writer's environment must not leak into a
/// line every surface shares. A command printing its own line honours its flags and
/// environment too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Process,
    Shared,
}

/// `$QUOTALINE_CONFIG`, else `$XDG_CONFIG_HOME/quotaline/config.toml`, else
/// `~/.config/quotaline/config.toml`.
pub fn config_path() -> Option<PathBuf> {
    var_path("QUOTALINE_CONFIG").or_else(|| Some(config_home()?.join("quotaline/config.toml")))
}

static CONFIG: OnceLock<Loaded> = OnceLock::new();

/// Set by [`prime`] when the cache holds an older version of the same file: an edit since the
/// cache was last written, which this process has read ([`edited_since_cached`]).
static EDITED: AtomicBool = AtomicBool::new(false);

/// Hands the config kept in the cache to this process: when the file is the same version
/// (one `stat`), it is used as it is and the file is not read; otherwise the file is read
/// now, with the cached settings as the last good ones. The first read of the cache calls
/// this, so the prompt path parses TOML only after an edit.
pub fn prime(kept: Option<&Loaded>) {
    CONFIG.get_or_init(|| {
        let path = config_path();
        let id = path.as_deref().and_then(FileId::of);
        match kept {
            Some(k) if k.path == path && k.id == id => {
                let mut k = k.clone();
                // A refused file is judged again (a few `stat`s, only while refused): a
                // `chmod` of a directory above it changes nothing the identity sees.
                if k.untrusted.is_some() {
                    k.judge(home().as_deref());
                }
                k
            }
            _ => {
                // Another path (another `QUOTALINE_CONFIG`) is not an edit: recording it would
                // have two programs' prompts rewrite the cache in turn.
                EDITED.store(kept.is_some_and(|k| k.path == path), Ordering::Relaxed);
                Loaded::read(path, kept.map(|k| &k.file), home().as_deref())
            }
        }
    });
}

/// Whether the config file was edited after the cache last recorded it, and this process
/// read the new version: the prompt path then keeps it in the cache
/// (`ingest::keep_config`), so the prompts after it parse nothing until the next edit.
pub fn edited_since_cached() -> bool {
    EDITED.load(Ordering::Relaxed)
}

/// The config in force (read now if nothing primed it).
pub fn config() -> &'static Loaded {
    CONFIG.get_or_init(|| Loaded::read(config_path(), None, home().as_deref()))
}

/// Whether the file's `key` (`"[notify] command"`, `"[metrics] textfile"`) is refused
/// because others could change the file (`Loaded::refused`).
pub fn is_refused(key: &str) -> bool {
    config().refused().iter().any(|(k, _)| *k == key)
}

/// The first of: a flag, an environment variable, the file, the default.
fn pick<T>(
    flag: Option<T>,
    env: Option<(&'static str, Option<T>)>,
    file: Option<(T, usize)>,
    default: T,
) -> Setting<T> {
    if let Some(value) = flag {
        return Setting {
            value,
            origin: Origin::Flag,
        };
    }
    if let Some((name, Some(value))) = env {
        return Setting {
            value,
            origin: Origin::Env(name),
        };
    }
    match file {
        Some((value, line)) => Setting {
            value,
            origin: Origin::File(line),
        },
        None => Setting {
            value: default,
            origin: Origin::Default,
        },
    }
}

/// An environment variable for `pick`, unless the scope is shared.
fn env_for<T>(
    scope: Scope,
    name: &'static str,
    parse: impl FnOnce(String) -> Option<T>,
) -> Option<(&'static str, Option<T>)> {
    (scope == Scope::Process).then(|| (name, var(name).and_then(parse)))
}

fn file_at<T: Clone>(at: &Option<At<T>>) -> Option<(T, usize)> {
    at.as_ref().map(|a| (a.value.clone(), a.line))
}

fn target_file(target: Option<Target>) -> Option<&'static Display> {
    config().file.target.get(target?.name())
}

/// Seconds, as the environment may give them: a whole number (`90`) or a duration as in
/// the config file (`2m`, `1h30m`).
fn seconds(value: &str) -> Option<i64> {
    let value = value.trim();
    value
        .parse()
        .ok()
        .or_else(|| crate::duration::parse_duration(value).ok())
}

/// Seconds a snapshot counts as fresh (`QUOTALINE_TTL`, `ttl`, default 60, at least 30: the
/// server's numbers move slowly and polling faster only invites rate limits).
pub fn ttl_setting() -> Setting<i64> {
    let mut s = pick(
        None,
        env_for(Scope::Process, "QUOTALINE_TTL", |v| seconds(&v)),
        file_at(&config().file.ttl),
        60,
    );
    s.value = s.value.clamp(TTL_RANGE.0, TTL_RANGE.1);
    s
}

pub fn ttl() -> i64 {
    ttl_setting().value
}

/// The org a line shows: `--org`, `QUOTALINE_ORG`, `org`, else the active one.
pub fn org_setting(flag: Option<String>, scope: Scope) -> Setting<Option<String>> {
    let clean = |v: String| Some(v.trim().to_string()).filter(|v| !v.is_empty());
    pick(
        flag.and_then(clean).map(Some),
        env_for(scope, "QUOTALINE_ORG", |v| clean(v).map(Some)),
        file_at(&config().file.org).and_then(|(v, l)| Some((Some(clean(v)?), l))),
        None,
    )
}

pub fn org(flag: Option<String>) -> Option<String> {
    org_setting(flag, Scope::Process).value
}

/// The names `[account.NAME]` gives, as (account uuid, name), for each account found where
/// its table says (a browser profile's session, the session key, a Claude Code config dir);
/// and the names whose account was not found (`doctor` says so).
pub fn named_accounts(file: &crate::cache::CacheFile) -> (Vec<(String, String)>, Vec<String>) {
    let (mut named, mut missing) = (Vec::new(), Vec::new());
    let first_account = || {
        file.first_account.clone().or_else(|| {
            file.org(None)
                .filter(|o| file.first_session.is_some() && o.sources.contains_key("account"))
                .and_then(|o| o.account_uuid.clone())
        })
    };
    for (name, a) in &config().file.accounts {
        let by_origin = |wanted: &str| {
            file.sessions
                .iter()
                .find(|(origin, s)| origin.contains(wanted) && s.account.is_some())
                .and_then(|(_, s)| s.account.clone())
                .or_else(|| {
                    file.first_session
                        .as_deref()
                        .filter(|f| f.contains(wanted))
                        .and_then(|_| first_account())
                })
        };
        // The login in that dir, as its own refresh read it, else as the status line (run
        // with `CLAUDE_CONFIG_DIR` set to it) last read it.
        let by_dir = |dir: &str| {
            let dir = expand_home(dir);
            let origin = claude_code_origin(Some(&dir));
            if let Some(account) = file.sessions.get(&origin).and_then(|s| s.account.clone()) {
                return Some(account);
            }
            let memo = file.claude_account.as_ref()?;
            let json = dir.join(".claude.json");
            memo.files
                .iter()
                .any(|(p, id)| *p == json && id.is_some())
                .then(|| memo.value.as_ref()?.account_uuid.clone())?
        };
        let found = a
            .browser
            .as_ref()
            .and_then(|b| by_origin(&b.value))
            .or_else(|| a.session.as_ref().and_then(|s| by_origin(&s.value)))
            .or_else(|| a.claude_config_dir.as_ref().and_then(|d| by_dir(&d.value)));
        match found {
            Some(uuid) => named.push((uuid, name.clone())),
            None => missing.push(name.clone()),
        }
    }
    (named, missing)
}

/// The org a command shows: `flag`, else `QUOTALINE_ORG` or `org` ([`org`]), else the line's
/// account's ([`shown_account`]). As an org uuid or a `snapshot::login_key`.
pub fn shown_org(flag: Option<String>, file: &crate::cache::CacheFile) -> Option<String> {
    org(flag).or_else(|| shown_account(file))
}

/// The org a line shows when no org is pinned: the account `account = NAME` (or `[account.NAME]
/// default = true`) names, else the one Claude Code is logged in with when the cache holds it,
/// else `None` (the active org of the most recently used session). As a `snapshot::login_key`.
pub fn shown_account(file: &crate::cache::CacheFile) -> Option<String> {
    let snapshot = file.snapshot.as_ref()?;
    let conf = &config().file;
    let wanted = conf.account.as_ref().map(|a| a.value.clone()).or_else(|| {
        conf.accounts
            .iter()
            .find(|(_, a)| a.default.as_ref().is_some_and(|d| d.value))
            .map(|(n, _)| n.clone())
    });
    let org = match wanted {
        Some(name) => snapshot.account_org(&name, &named_accounts(file).0)?,
        None => {
            let claude_code = file
                .claude_account
                .as_ref()
                .and_then(|m| m.value.as_ref())
                .and_then(|login| {
                    snapshot.login_org(Some(login.account_uuid.as_deref()?), &login.org_uuid)
                });
            // Else the first session's own entry of its active org (`CacheFile::org`).
            claude_code.or_else(|| file.org(None))?
        }
    };
    Some(crate::snapshot::login_key(
        org.account_uuid.as_deref()?,
        &org.org_uuid,
    ))
}

/// A percent from the environment: a number from 0 to 100, as the config file wants it.
fn percent(value: &str) -> Option<f64> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| (0.0..=100.0).contains(v))
}

/// The line's template: `--format`, `QUOTALINE_FORMAT` (when it passes the check the file's
/// formats pass: a bad one is [`env_warnings`]' business, not the line's), `[target.X]
/// format`, `format`; `None` is the built-in default.
pub fn format_setting(
    target: Option<Target>,
    flag: Option<String>,
    scope: Scope,
) -> Setting<Option<String>> {
    let file = target_file(target)
        .and_then(|t| file_at(&t.format))
        .or_else(|| file_at(&config().file.display.format));
    pick(
        flag.map(Some),
        env_for(scope, "QUOTALINE_FORMAT", |v| {
            crate::template::check(&v).ok().map(|_| Some(v))
        }),
        file.map(|(v, l)| (Some(v), l)),
        None,
    )
}

pub fn format(target: Option<Target>, flag: Option<String>, scope: Scope) -> Option<String> {
    format_setting(target, flag, scope).value
}

/// `--target`, else `QUOTALINE_TARGET`, else [`default_target`]. An unknown name is an
/// error that names the known ones (and the one probably meant).
pub fn target(flag: Option<String>) -> Result<Target, String> {
    let (name, origin) = match flag {
        Some(name) => (name, "--target"),
        None => match var("QUOTALINE_TARGET") {
            Some(name) => (name, "QUOTALINE_TARGET"),
            None => return Ok(default_target()),
        },
    };
    Target::from_name(name.trim()).ok_or_else(|| {
        let known: Vec<&str> = Target::ALL.iter().map(|t| t.name()).collect();
        let meant = crate::suggest::did_you_mean(name.trim(), known.iter().copied());
        format!(
            "{origin}: unknown target {name:?} ({meant}one of: {}); using {}",
            known.join(", "),
            default_target().name()
        )
    })
}

/// ANSI colour on a terminal, plain text elsewhere.
pub fn default_target() -> Target {
    if std::io::stdout().is_terminal() {
        Target::Ansi
    } else {
        Target::Plain
    }
}

/// Colour unless `NO_COLOR` is set to anything non-empty (no-color.org), or `color = false`
/// (for the target, or for all).
pub fn color_setting(target: Option<Target>, scope: Scope) -> Setting<bool> {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let file = target_file(target)
        .and_then(|t| file_at(&t.color))
        .or_else(|| file_at(&config().file.display.color));
    pick(
        None,
        (scope == Scope::Process).then_some(("NO_COLOR", no_color.then_some(false))),
        file,
        true,
    )
}

pub fn color(target: Option<Target>, scope: Scope) -> bool {
    color_setting(target, scope).value
}

/// `--warn` / `--crit`, `QUOTALINE_WARN` / `QUOTALINE_CRIT`, `[target.X]`, the file, else
/// 75 / 90.
pub fn threshold_settings(
    target: Option<Target>,
    warn: Option<f64>,
    crit: Option<f64>,
    scope: Scope,
) -> (Setting<f64>, Setting<f64>) {
    let number = |v: String| percent(&v);
    let t = target_file(target);
    let f = &config().file.display;
    let defaults = Thresholds::default();
    (
        pick(
            warn.filter(|v| v.is_finite()),
            env_for(scope, "QUOTALINE_WARN", number),
            t.and_then(|t| file_at(&t.warn))
                .or_else(|| file_at(&f.warn)),
            defaults.warn,
        ),
        pick(
            crit.filter(|v| v.is_finite()),
            env_for(scope, "QUOTALINE_CRIT", number),
            t.and_then(|t| file_at(&t.crit))
                .or_else(|| file_at(&f.crit)),
            defaults.crit,
        ),
    )
}

pub fn thresholds(
    target: Option<Target>,
    warn: Option<f64>,
    crit: Option<f64>,
    scope: Scope,
) -> Thresholds {
    let (warn, crit) = threshold_settings(target, warn, crit, scope);
    Thresholds {
        warn: warn.value,
        crit: crit.value,
    }
}

/// The sources a refresh tries, in order: `QUOTALINE_SOURCES` (checked here: a typo must not
/// silently drop a source), `sources`, else claude.ai then OAuth.
pub fn sources_setting() -> Result<Setting<Vec<String>>, String> {
    let env = match var("QUOTALINE_SOURCES") {
        Some(v) => {
            let names: Vec<String> = v
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            if let Some(bad) = names
                .iter()
                .find(|n| !crate::config::KNOWN_SOURCES.contains(&n.as_str()))
            {
                return Err(format!(
                    "QUOTALINE_SOURCES: unknown source `{}` (known: {})",
                    bad.escape_debug(),
                    crate::config::KNOWN_SOURCES.join(", ")
                ));
            }
            if names.is_empty() {
                return Err("QUOTALINE_SOURCES names no source".into());
            }
            Some(names)
        }
        None => None,
    };
    let default = crate::config::KNOWN_SOURCES
        .iter()
        .map(|s| s.to_string())
        .collect();
    Ok(pick(
        None,
        Some(("QUOTALINE_SOURCES", env)),
        file_at(&config().file.sources),
        default,
    ))
}

/// Per-request timeout in seconds (`QUOTALINE_TIMEOUT`, `timeout`, default 10, 1 to 60).
pub fn timeout_setting() -> Setting<u64> {
    let mut s = pick(
        None,
        env_for(Scope::Process, "QUOTALINE_TIMEOUT", |v| {
            seconds(&v).map(|v| v.max(0) as u64)
        }),
        file_at(&config().file.timeout).map(|(v, l)| (v.max(0) as u64, l)),
        10,
    );
    s.value = s
        .value
        .clamp(TIMEOUT_RANGE.0 as u64, TIMEOUT_RANGE.1 as u64);
    s
}

pub fn timeout_secs() -> u64 {
    timeout_setting().value
}

/// `[metrics] textfile`: the node_exporter textfile every ingest rewrites; `None` writes
/// none. From the file only, like the prompt files: whichever process ingests writes it.
pub fn metrics_textfile_setting() -> Setting<Option<PathBuf>> {
    let file = file_at(&config().file.metrics.textfile)
        .map(|(v, l)| (Some(PathBuf::from(v)), l))
        .filter(|_| !is_refused("[metrics] textfile"));
    pick(None, None, file, None)
}

/// `[metrics] labels`: constant labels on every series, by name (checked by `config.rs`).
pub fn metrics_labels_setting() -> Setting<BTreeMap<String, String>> {
    pick(
        None,
        None,
        file_at(&config().file.metrics.labels),
        BTreeMap::new(),
    )
}

/// How old the numbers `check` judges may be: `--max-age`, `[check] max_age`, else 30
/// minutes. A five-hour window can go from half full to over the default 90% limit in less
/// than an hour of heavy use, and 30 minutes is when quotaline itself calls numbers that
/// refreshes could not renew `failing` (`[notify] stale_warning`); numbers older than this
/// are no data to the guard, however fresh they once were.
pub fn check_max_age_setting(flag: Option<i64>) -> Setting<i64> {
    pick(flag, None, file_at(&config().file.check.max_age), 30 * 60)
}

/// `[notify]` as in force. It follows the file only, like the shared prompt lines: events are
/// decided by whichever process took a reading in (a refresh started by tmux, Claude Code's
/// statusLine, the browser's host), so the writer's environment must not decide them.
#[derive(Clone, Debug)]
pub struct Notify {
    /// The events delivered (`event::NAMES`); every event is recorded in the history anyway.
    pub events: Setting<Vec<String>>,
    pub desktop: Setting<bool>,
    /// The hook's argv.
    pub command: Setting<Option<Vec<String>>>,
    /// Seconds the hook (and `notify-send`) may take before it is killed.
    pub timeout: Setting<i64>,
    /// Seconds: an `eta` event when 100% is due within this long.
    pub eta_warning: Setting<i64>,
    /// Seconds: a `failing` event when the numbers are this old because refreshes fail.
    pub stale_warning: Setting<i64>,
}

impl Notify {
    /// Whether events named `name` (`crit`, `eta`, ...) are delivered.
    pub fn delivers(&self, name: &str) -> bool {
        self.events.value.iter().any(|n| n == name)
    }
}

pub fn notify() -> Notify {
    let n = &config().file.notify;
    let list = |names: &[&str]| names.iter().map(|s| s.to_string()).collect();
    Notify {
        events: pick(
            None,
            None,
            file_at(&n.events),
            list(crate::event::DEFAULT_ON),
        ),
        desktop: pick(None, None, file_at(&n.desktop), true),
        command: pick(
            None,
            None,
            file_at(&n.command)
                .map(|(v, l)| (Some(v), l))
                .filter(|_| !is_refused("[notify] command")),
            None,
        ),
        timeout: pick(None, None, file_at(&n.timeout), 10),
        eta_warning: pick(None, None, file_at(&n.eta_warning), 30 * 60),
        stale_warning: pick(None, None, file_at(&n.stale_warning), 30 * 60),
    }
}

/// The warn and crit percents events use for window `key`: its `[notify.window.NAME]`, else
/// the file's `warn` / `crit` (the colours the shared lines use), else 75 / 90.
pub fn notify_thresholds(key: &str) -> Thresholds {
    let base = thresholds(None, None, None, Scope::Shared);
    let keys = [key.to_string()];
    let own = config()
        .file
        .notify
        .window
        .iter()
        .filter(|(name, _)| crate::window::resolve(keys.iter(), name).is_some())
        .map(|(_, w)| w)
        .next();
    Thresholds {
        warn: own
            .and_then(|w| w.warn.as_ref())
            .map_or(base.warn, |a| a.value),
        crit: own
            .and_then(|w| w.crit.as_ref())
            .map_or(base.crit, |a| a.value),
    }
}

/// The desktop session's D-Bus, where notifications go: `$DBUS_SESSION_BUS_ADDRESS`, else
/// the socket systemd starts at `$XDG_RUNTIME_DIR/bus` (which libnotify finds by itself).
/// `None` on a headless box or over SSH.
pub fn session_bus() -> Option<String> {
    var("DBUS_SESSION_BUS_ADDRESS").or_else(|| {
        let socket = var_path("XDG_RUNTIME_DIR")?.join("bus");
        socket
            .exists()
            .then(|| format!("unix:path={}", socket.display()))
    })
}

/// A base URL override and the variable it came from: `QUOTALINE_CLAUDE_AI_URL`.
pub fn claude_ai_url() -> (&'static str, String) {
    let name = "QUOTALINE_CLAUDE_AI_URL";
    (
        name,
        var(name).unwrap_or_else(|| "https://claude.ai".into()),
    )
}

/// `QUOTALINE_TEST_NOW`: the time the test suite says it is (RFC 3339), for every process it
/// starts, so an hour of prompts runs in seconds (`clock::now`). Read only by debug builds,
/// the ones `cargo test` runs: a release build, which is every build a user installs, has no
/// such variable at all, so no environment, typo or stray export can move a real clock.
pub const TEST_NOW: &str = "QUOTALINE_TEST_NOW";

/// The moved clock, in a debug build with [`TEST_NOW`] set; read once per process.
pub fn test_now() -> Option<chrono::DateTime<chrono::Utc>> {
    if !cfg!(debug_assertions) {
        return None;
    }
    static NOW: OnceLock<Option<chrono::DateTime<chrono::Utc>>> = OnceLock::new();
    *NOW.get_or_init(|| {
        let text = var(TEST_NOW)?;
        chrono::DateTime::parse_from_rfc3339(text.trim())
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc))
    })
}

/// Where Claude's status comes from: the Statuspage base URL (`QUOTALINE_STATUS_URL`, else
/// `status_url`, else status.claude.com); `None` when set to `off` (no status requests at
/// all). The variable it came from names it in messages.
pub fn status_url_setting() -> Setting<Option<String>> {
    let name = "QUOTALINE_STATUS_URL";
    let mut s = pick(
        None,
        env_for(Scope::Process, name, |v| Some(Some(v.trim().to_string()))),
        file_at(&config().file.status_url).map(|(v, l)| (Some(v.trim().to_string()), l)),
        Some(DEFAULT_STATUS_URL.to_string()),
    );
    if s.value
        .as_deref()
        .is_some_and(|v| v.eq_ignore_ascii_case("off"))
    {
        s.value = None;
    }
    s
}

/// Claude's own status page (Atlassian Statuspage).
pub const DEFAULT_STATUS_URL: &str = "https://status.claude.com";

/// `QUOTALINE_ANTHROPIC_API_URL`, as for [`claude_ai_url`].
pub fn anthropic_api_url() -> (&'static str, String) {
    let name = "QUOTALINE_ANTHROPIC_API_URL";
    (
        name,
        var(name).unwrap_or_else(|| "https://api.anthropic.com".into()),
    )
}

/// The browser profile pinned by `QUOTALINE_BROWSER` or `browser` ("chrome",
/// "brave:Profile 2", ...); a browser quotaline does not read is no pin.
pub fn browser_setting() -> Setting<Option<String>> {
    let clean = |v: String| Some(v.trim().to_string()).filter(|v| !v.is_empty());
    pick(
        None,
        env_for(Scope::Process, "QUOTALINE_BROWSER", |v| {
            clean(v)
                .filter(|v| crate::config::check_browser(v).is_ok())
                .map(Some)
        }),
        file_at(&config().file.browser).and_then(|(v, l)| Some((Some(clean(v)?), l))),
        None,
    )
}

pub fn browser_pin() -> Option<String> {
    browser_setting().value
}

/// What `config` and `doctor` say about the environment: every variable set to a value
/// quotaline cannot use (it is ignored, never guessed at), or one outside its range (it is
/// clamped), and what is used instead. Nothing here is silent elsewhere either: the segment
/// says a bad `QUOTALINE_TARGET` on stderr.
pub fn env_warnings() -> Vec<String> {
    let mut out = Vec::new();
    let shown = |value: String, origin: Origin| format!("using {value} ({origin})");
    let secs = |name: &str, range: (i64, i64), used: Setting<i64>| -> Option<String> {
        let raw = var(name)?;
        let why = match seconds(&raw) {
            None => "is not a duration (e.g. 90, 60s, 5m)".to_string(),
            Some(v) if v < range.0 || v > range.1 => format!(
                "is outside {} to {}",
                crate::duration::short_duration(range.0),
                crate::duration::short_duration(range.1)
            ),
            Some(_) => return None,
        };
        let used = shown(crate::duration::short_duration(used.value), used.origin);
        Some(format!("{name}={raw:?} {why}: {used}"))
    };
    out.extend(secs("QUOTALINE_TTL", TTL_RANGE, ttl_setting()));
    let timeout = timeout_setting();
    let timeout = Setting {
        value: timeout.value as i64,
        origin: timeout.origin,
    };
    out.extend(secs("QUOTALINE_TIMEOUT", TIMEOUT_RANGE, timeout));
    let (warn, crit) = threshold_settings(None, None, None, Scope::Process);
    for (name, used) in [("QUOTALINE_WARN", warn), ("QUOTALINE_CRIT", crit)] {
        if let Some(raw) = var(name).filter(|v| percent(v).is_none()) {
            let used = shown(used.value.to_string(), used.origin);
            out.push(format!(
                "{name}={raw:?} is not a percent (a number from 0 to 100): {used}"
            ));
        }
    }
    if let Some(raw) = var("QUOTALINE_FORMAT") {
        if let Err(bad) = crate::template::check(&raw) {
            let used = format_setting(None, None, Scope::Process);
            let value = used
                .value
                .as_deref()
                .map_or("the built-in format".to_string(), |f| format!("{f:?}"));
            out.push(format!(
                "QUOTALINE_FORMAT: {bad}: {}",
                shown(value, used.origin)
            ));
        }
    }
    if let Err(e) = target(None) {
        out.push(e);
    }
    if let Some(raw) = var("QUOTALINE_BROWSER") {
        if let Err(why) = crate::config::check_browser(raw.trim()) {
            let used = browser_setting();
            let value = used
                .value
                .clone()
                .unwrap_or_else(|| "the most recent profile".into());
            out.push(format!(
                "QUOTALINE_BROWSER={raw:?}: {why}: {}",
                shown(value, used.origin)
            ));
        }
    }
    if let Err(e) = sources_setting() {
        out.push(format!("{e}: nothing is fetched until it is corrected"));
    }
    out
}

/// `$QUOTALINE_CACHE_DIR`, else `$XDG_CACHE_HOME/quotaline`, else `~/.cache/quotaline`.
pub fn cache_dir() -> PathBuf {
    var_path("QUOTALINE_CACHE_DIR")
        .or_else(|| var_path("XDG_CACHE_HOME").map(|d| d.join("quotaline")))
        .or_else(|| home().map(|h| h.join(".cache/quotaline")))
        // No home at all: a per-user name, never a shared `/tmp/quotaline` another user could
        // have made first (`Cache::check_dir` refuses one not ours all the same).
        .unwrap_or_else(|| {
            PathBuf::from(format!(
                "/tmp/quotaline-{}",
                rustix::process::geteuid().as_raw()
            ))
        })
}

/// The cache in its directory; every read of it hands this process the config kept there
/// ([`prime`]), so the prompt path parses TOML only after an edit.
pub fn cache() -> crate::cache::Cache {
    crate::cache::Cache::at(cache_dir()).on_read(|file| prime(file.config.as_ref()))
}

/// Set by a segment on the refresh it starts: the child's stdin is the refresh lock the
/// segment already took, so no second refresh can slip in between.
pub const LOCK_ON_STDIN: &str = "QUOTALINE_LOCK_ON_STDIN";

/// Whether this process was started with the refresh lock on its stdin.
pub fn lock_on_stdin() -> bool {
    std::env::var_os(LOCK_ON_STDIN).is_some()
}

/// Which menu bar runs the xbar-format plugin: SwiftBar sets `SWIFTBAR` for its plugins and
/// Argos `ARGOS_VERSION`; xbar sets neither.
pub fn menu_bar() -> MenuBar {
    if std::env::var_os("SWIFTBAR").is_some() {
        MenuBar::SwiftBar
    } else if std::env::var_os("ARGOS_VERSION").is_some() {
        MenuBar::Argos
    } else {
        MenuBar::Xbar
    }
}

/// The user's home: `$HOME` (`%USERPROFILE%` where there is none).
pub fn home() -> Option<PathBuf> {
    var_path("HOME").or_else(|| var_path("USERPROFILE"))
}

/// `$XDG_CONFIG_HOME`; the XDG spec says a relative value is invalid and must be ignored.
pub fn xdg_config_home() -> Option<PathBuf> {
    var_path("XDG_CONFIG_HOME").filter(|p| p.is_absolute())
}

/// `$XDG_CONFIG_HOME`, else `~/.config`.
pub fn config_home() -> Option<PathBuf> {
    xdg_config_home().or_else(|| home().map(|h| h.join(".config")))
}

/// `%APPDATA%` (Firefox on Windows), when absolute.
pub fn appdata() -> Option<PathBuf> {
    var_path("APPDATA").filter(|p| p.is_absolute())
}

/// `$PATH`, to find programs without running a shell.
pub fn path_var() -> Option<OsString> {
    std::env::var_os("PATH")
}

/// Where OpenAI's Codex CLI keeps its session logs and login: `$CODEX_HOME` (as Codex reads
/// it, when absolute), else `~/.codex`.
pub fn codex_home() -> Option<PathBuf> {
    codex_home_from().map(|(p, _)| p)
}

/// [`codex_home`], and where it came from (`doctor`): `CODEX_HOME` when that is an absolute
/// path, else `default ~/.codex`.
pub fn codex_home_from() -> Option<(PathBuf, &'static str)> {
    match var_path("CODEX_HOME").filter(|p| p.is_absolute()) {
        Some(p) => Some((p, "CODEX_HOME")),
        None => home().map(|h| (h.join(".codex"), "default ~/.codex")),
    }
}

/// Whether `codex_api = true` asks the ChatGPT backend for Codex's windows.
pub fn codex_api() -> bool {
    config().file.codex_api.as_ref().is_some_and(|a| a.value)
}

/// `QUOTALINE_CODEX_URL`, the ChatGPT backend's base URL (default `https://chatgpt.com`).
pub fn codex_url() -> (&'static str, String) {
    let name = "QUOTALINE_CODEX_URL";
    (
        name,
        var(name).unwrap_or_else(|| "https://chatgpt.com".into()),
    )
}

/// A path from config.toml, `~/` meaning the home folder (as a shell would have it).
pub fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), home()) {
        (Some(rest), Some(h)) => h.join(rest),
        _ => PathBuf::from(path),
    }
}

/// How a Claude Code login's numbers are said to come from (`quotaline accounts`, its own
/// books in the cache): `Claude Code (DIR)`, its config dir; never a secret.
pub fn claude_code_origin(dir: Option<&std::path::Path>) -> String {
    match dir {
        Some(d) => format!("Claude Code ({})", d.display()),
        None => "Claude Code".to_string(),
    }
}

/// The Claude Code config dirs config.toml names (`[account.NAME] claude_config_dir`), each
/// once, in the file's order: logins refreshed on their own (`refresh`).
pub fn claude_config_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for a in config().file.accounts.values() {
        if let Some(d) = &a.claude_config_dir {
            let dir = expand_home(&d.value);
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
    }
    dirs
}

/// `$CLAUDE_CONFIG_DIR`: where Claude Code keeps its login and `.claude.json` instead of
/// the home folder.
pub fn claude_config_dir() -> Option<String> {
    var("CLAUDE_CONFIG_DIR")
}

/// The secrets that come only from the environment, never from a file quotaline writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secret {
    /// `QUOTALINE_COOKIE`: a whole claude.ai Cookie header.
    Cookie,
    /// `QUOTALINE_SESSION_KEY`: the `sessionKey` cookie's value.
    SessionKey,
    /// `CLAUDE_CODE_OAUTH_TOKEN`: a token from `claude setup-token`.
    ClaudeCodeToken,
}

impl Secret {
    pub const ALL: [Secret; 3] = [Secret::Cookie, Secret::SessionKey, Secret::ClaudeCodeToken];

    pub fn var(self) -> &'static str {
        match self {
            Secret::Cookie => "QUOTALINE_COOKIE",
            Secret::SessionKey => "QUOTALINE_SESSION_KEY",
            Secret::ClaudeCodeToken => "CLAUDE_CODE_OAUTH_TOKEN",
        }
    }

    pub fn get(self) -> Option<String> {
        var(self.var())
    }
}

/// Takes every credential variable ([`Secret::ALL`]) out of the environment `cmd` runs with.
/// For every program quotaline starts that is not quotaline fetching (the hook, `notify-send`,
/// a keyring helper, `notify-deliver`): none of them needs a session, and a secret in their
/// environment is one `env` in a hook away from a log. The detached `quotaline refresh` a
/// segment starts keeps them: it is the same program doing what the segment would have done,
/// and a session key from the environment is its only credential.
pub fn without_secrets(cmd: &mut std::process::Command) -> &mut std::process::Command {
    for secret in Secret::ALL {
        cmd.env_remove(secret.var());
    }
    cmd
}
