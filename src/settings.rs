//! Settings, and the only reader of the process environment. Every command asks here, so a
//! variable has one name, one rule for an empty value (empty or blank is unset) and one
//! default. Secrets (`QUOTALINE_COOKIE`, `QUOTALINE_SESSION_KEY`, `CLAUDE_CODE_OAUTH_TOKEN`)
//! are read here too, but only handed to `auth`; nothing here prints them.

use crate::render::markup::Target;
use crate::render::Thresholds;
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;

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

/// Seconds a snapshot counts as fresh (`QUOTALINE_TTL`, default 60, at least 30: the
/// server's numbers move slowly and polling faster only invites rate limits).
pub fn ttl() -> i64 {
    var("QUOTALINE_TTL")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(60)
        .max(30)
}

/// The org a line shows: `--org`, else `QUOTALINE_ORG`, else the active one.
pub fn org(flag: Option<String>) -> Option<String> {
    flag.filter(|f| !f.trim().is_empty())
        .or_else(|| var("QUOTALINE_ORG"))
        .map(|o| o.trim().to_string())
}

/// `--format`, else `QUOTALINE_FORMAT`.
pub fn format(flag: Option<String>) -> Option<String> {
    flag.or_else(|| var("QUOTALINE_FORMAT"))
}

/// `--target`, else `QUOTALINE_TARGET`, else ANSI colour on a terminal and plain text
/// elsewhere. An unknown name is an error that names the known ones.
pub fn target(flag: Option<String>) -> Result<Target, String> {
    match flag.or_else(|| var("QUOTALINE_TARGET")) {
        Some(name) => Target::from_name(name.trim()).ok_or_else(|| {
            let known: Vec<&str> = Target::ALL.iter().map(|t| t.name()).collect();
            format!("unknown target {name:?} (one of: {})", known.join(", "))
        }),
        None if std::io::stdout().is_terminal() => Ok(Target::Ansi),
        None => Ok(Target::Plain),
    }
}

/// Colour unless `NO_COLOR` is set to anything non-empty (no-color.org).
pub fn color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// `--warn` / `--crit`, else `QUOTALINE_WARN` / `QUOTALINE_CRIT`, else 75 / 90. The
/// variables matter for pre-rendered prompt lines, which a background refresh renders.
pub fn thresholds(warn: Option<f64>, crit: Option<f64>) -> Thresholds {
    let pick = |flag: Option<f64>, name: &str, default: f64| {
        flag.or_else(|| var(name).and_then(|v| v.trim().parse().ok()))
            .filter(|v: &f64| v.is_finite())
            .unwrap_or(default)
    };
    let defaults = Thresholds::default();
    Thresholds {
        warn: pick(warn, "QUOTALINE_WARN", defaults.warn),
        crit: pick(crit, "QUOTALINE_CRIT", defaults.crit),
    }
}

/// `QUOTALINE_SOURCES` as written (`source::sources` checks the names).
pub fn sources() -> Option<String> {
    var("QUOTALINE_SOURCES")
}

/// Per-request timeout in seconds (`QUOTALINE_TIMEOUT`, default 10, 1 to 60).
pub fn timeout_secs() -> u64 {
    var("QUOTALINE_TIMEOUT")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(10)
        .clamp(1, 60)
}

/// A base URL override and the variable it came from: `QUOTALINE_CLAUDE_AI_URL`.
pub fn claude_ai_url() -> (&'static str, String) {
    let name = "QUOTALINE_CLAUDE_AI_URL";
    (
        name,
        var(name).unwrap_or_else(|| "https://claude.ai".into()),
    )
}

/// `QUOTALINE_ANTHROPIC_API_URL`, as for [`claude_ai_url`].
pub fn anthropic_api_url() -> (&'static str, String) {
    let name = "QUOTALINE_ANTHROPIC_API_URL";
    (
        name,
        var(name).unwrap_or_else(|| "https://api.anthropic.com".into()),
    )
}

/// The browser profile `QUOTALINE_BROWSER` pins ("chrome", "brave:Profile 2", ...).
pub fn browser_pin() -> Option<String> {
    var("QUOTALINE_BROWSER").map(|v| v.trim().to_string())
}

/// `$QUOTALINE_CACHE_DIR`, else `$XDG_CACHE_HOME/quotaline`, else `~/.cache/quotaline`.
pub fn cache_dir() -> PathBuf {
    var_path("QUOTALINE_CACHE_DIR")
        .or_else(|| var_path("XDG_CACHE_HOME").map(|d| d.join("quotaline")))
        .or_else(|| home().map(|h| h.join(".cache/quotaline")))
        .unwrap_or_else(|| PathBuf::from("/tmp/quotaline"))
}

/// Set by a segment on the refresh it starts: the child's stdin is the refresh lock the
/// segment already took, so no second refresh can slip in between.
pub const LOCK_ON_STDIN: &str = "QUOTALINE_LOCK_ON_STDIN";

/// Whether this process was started with the refresh lock on its stdin.
pub fn lock_on_stdin() -> bool {
    std::env::var_os(LOCK_ON_STDIN).is_some()
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
