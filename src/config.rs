//! `config.toml`: the one file every surface reads the same way (the shell, tmux, waybar, the
//! browser's host, Claude Code), whatever environment started it. This module parses and
//! checks the file; `settings.rs` resolves each setting (flag, environment, this file,
//! default) and says where it came from.
//!
//! Errors name the file, line, column and key. A bad value is an error (the last good
//! settings stay in force); an unknown key is a warning and is ignored.

pub use crate::file::FileId;
use crate::target::Target;
use crate::template;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// The file as quotaline understands it: every key optional, each with the line it was on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FileSettings {
    /// `format`, `warn`, `crit`, `color` at the top level: for every target.
    #[serde(flatten)]
    pub display: Display,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<At<String>>,
    /// `account = "NAME"`: the account the line shows (else the one `[account.NAME]` marks
    /// `default = true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<At<String>>,
    /// `[account.NAME]`: a name for the account whose login comes from here.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub accounts: BTreeMap<String, AccountSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<At<Vec<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<At<String>>,
    /// Seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<At<i64>>,
    /// Seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<At<i64>>,
    /// Claude's Statuspage base URL, or `off`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_url: Option<At<String>>,
    /// Whether Codex's windows are also asked of the ChatGPT backend with Codex's own login
    /// (`source::codex`); off by default: the session logs need no request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codex_api: Option<At<bool>>,
    /// `[target.NAME]`: the display settings for one target, over the top level's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub target: BTreeMap<String, Display>,
    /// `[metrics]`: the OpenMetrics textfile and its constant labels.
    #[serde(default, skip_serializing_if = "Metrics::is_empty")]
    pub metrics: Metrics,
    /// `[notify]`: what is said unprompted, and where.
    #[serde(default, skip_serializing_if = "NotifySettings::is_empty")]
    pub notify: NotifySettings,
    /// `[check]`: the guard's own settings.
    #[serde(default, skip_serializing_if = "CheckSettings::is_empty")]
    pub check: CheckSettings,
}

/// `[account.NAME]`: where the named account's login comes from (one of them), and whether
/// the line shows it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountSettings {
    /// A browser profile, as `quotaline accounts` names it (`Chrome (Profile 1)`), or a part
    /// of that name (`Profile 1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<At<String>>,
    /// The session file or variable the session key is in (`QUOTALINE_SESSION_KEY`, a path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<At<String>>,
    /// A Claude Code config dir (`CLAUDE_CONFIG_DIR`) whose `.claude.json` names the login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claude_config_dir: Option<At<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<At<bool>>,
}

const ACCOUNT_KEYS: &[&str] = &["browser", "session", "claude_config_dir", "default"];

/// `[check]`: what `quotaline check` takes for current.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckSettings {
    /// Seconds: numbers older than this are no data to `check`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<At<i64>>,
}

impl CheckSettings {
    fn is_empty(&self) -> bool {
        *self == CheckSettings::default()
    }
}

/// `[notify]`: which events are delivered (`events.rs` names them), to the desktop and to a
/// command, and the windows' own thresholds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NotifySettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<At<Vec<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desktop: Option<At<bool>>,
    /// An argv, never a shell string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<At<Vec<String>>>,
    /// Seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<At<i64>>,
    /// Seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta_warning: Option<At<i64>>,
    /// Seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_warning: Option<At<i64>>,
    /// `[notify.window.NAME]` (`5h`, `7d`, `opus`, a window key): warn and crit for one window.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub window: BTreeMap<String, WindowSettings>,
}

impl NotifySettings {
    fn is_empty(&self) -> bool {
        *self == NotifySettings::default()
    }
}

/// What `[notify.window.NAME]` may override.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn: Option<At<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crit: Option<At<f64>>,
}

/// `[metrics]`: what `quotaline metrics` and the node_exporter textfile carry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// An absolute path ending in `.prom`, rewritten on every ingest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub textfile: Option<At<String>>,
    /// Constant labels on every series (`{user = "ana", host = "laptop"}`), names checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<At<BTreeMap<String, String>>>,
}

impl Metrics {
    fn is_empty(&self) -> bool {
        self == &Metrics::default()
    }
}

/// How a line looks: at the top level, and per target.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Display {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<At<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn: Option<At<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crit: Option<At<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<At<bool>>,
}

/// A value and the line of the file it was set on (for `quotaline config`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct At<T> {
    pub value: T,
    pub line: usize,
}

/// Why the file cannot be used, where.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    /// The key concerned (`target.tmux.format`), when there is one.
    pub key: Option<String>,
    pub message: String,
}

impl Problem {
    /// `config.toml:3:7: warn: must be a number from 0 to 100, not "high"`.
    pub fn display(&self, path: &Path) -> String {
        let key = self
            .key
            .as_deref()
            .map(|k| format!("{k}: "))
            .unwrap_or_default();
        format!(
            "{}:{}:{}: {key}{}",
            path.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

/// A parse: the settings, or the first error; and the warnings (unknown keys) either way.
#[derive(Debug, PartialEq)]
pub struct Parsed {
    pub settings: Result<FileSettings, Problem>,
    pub warnings: Vec<Problem>,
}

/// Keys that would hold a secret: refused, with where the secret belongs instead.
const SECRET_KEYS: &[&str] = &[
    "session_key",
    "sessionkey",
    "session",
    "cookie",
    "token",
    "oauth_token",
    "access_token",
];

const TOP_KEYS: &[&str] = &[
    "format",
    "org",
    "account",
    "sources",
    "browser",
    "ttl",
    "timeout",
    "status_url",
    "codex_api",
    "warn",
    "crit",
    "color",
    "target",
    "metrics",
    "notify",
    "check",
];
const CHECK_KEYS: &[&str] = &["max_age"];
const METRICS_KEYS: &[&str] = &["textfile", "labels"];

/// The labels quotaline's own series carry: a constant label of the same name would make a
/// series with a duplicate label, which Prometheus refuses.
pub const METRIC_LABELS: &[&str] = &[
    "org_uuid", "account", "provider", "org_name", "window", "source", "currency", "kind",
    "version",
];
/// Labels OpenMetrics gives a meaning of its own (histogram buckets, summary quantiles).
const RESERVED_LABELS: &[&str] = &["le", "quantile"];
const DISPLAY_KEYS: &[&str] = &["format", "warn", "crit", "color"];
const NOTIFY_KEYS: &[&str] = &[
    "events",
    "desktop",
    "command",
    "timeout",
    "eta_warning",
    "stale_warning",
    "window",
];
const WINDOW_KEYS: &[&str] = &["warn", "crit"];

/// The sources a refresh may use (`sources`).
pub const KNOWN_SOURCES: &[&str] = &["claude.ai", "oauth"];

/// The TTL's range in seconds, from the file and the environment alike (`settings`).
pub const TTL_RANGE: (i64, i64) = (30, 86_400);
/// The HTTP timeout's range in seconds, likewise.
pub const TIMEOUT_RANGE: (i64, i64) = (1, 60);

/// The browsers whose cookies quotaline reads, as `browser` and `QUOTALINE_BROWSER` name
/// them (`auth::browser` keeps them in step).
pub const KNOWN_BROWSERS: &[&str] = &[
    "chrome", "chromium", "brave", "edge", "vivaldi", "opera", "arc", "firefox",
];

/// Checks a browser pin (`chrome`, `brave:Profile 2`): the part before `:` must name a
/// browser quotaline reads. The error names the known ones (and the one probably meant).
pub fn check_browser(pin: &str) -> Result<(), String> {
    let browser = pin
        .split(':')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    // Empty is no pin (the commented default file writes `browser = ""`).
    if pin.trim().is_empty() || KNOWN_BROWSERS.contains(&browser.as_str()) {
        return Ok(());
    }
    let meant = crate::suggest::closest(&browser, KNOWN_BROWSERS.iter().copied())
        .map(|m| format!("did you mean {m:?}? "))
        .unwrap_or_default();
    Err(format!(
        "quotaline cannot read {browser:?}'s cookies ({meant}known: {}; a profile as \"brave:Profile 2\")",
        KNOWN_BROWSERS.join(", ")
    ))
}

/// Where each line of a text starts, so that a position is found without counting from the
/// top each time: a file holds thousands of values, each noted with its line.
struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn of(text: &'a str) -> LineIndex<'a> {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { text, starts }
    }

    /// The 1-based line of a byte offset.
    fn line(&self, offset: usize) -> usize {
        // `starts[0]` is 0: every offset is on line 1 or later.
        self.starts.partition_point(|&s| s <= offset)
    }

    /// Byte offset to 1-based line and column (columns count characters, on that line only).
    fn position(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line(offset);
        let column = self.text[self.starts[line - 1]..offset].chars().count() + 1;
        (line, column)
    }
}

/// Unknown keys warned about one by one; the rest are counted in the last warning.
const MAX_WARNINGS: usize = 20;

struct Reader<'a> {
    lines: LineIndex<'a>,
    warnings: Vec<Problem>,
    /// Unknown keys beyond [`MAX_WARNINGS`], not warned about one by one.
    more_unknown: usize,
}

type Value<'i> = Spanned<DeValue<'i>>;

impl Reader<'_> {
    fn problem(&self, span: std::ops::Range<usize>, key: &str, message: String) -> Problem {
        let (line, column) = self.lines.position(span.start);
        Problem {
            line,
            column,
            key: (!key.is_empty()).then(|| key.to_string()),
            message,
        }
    }

    fn line(&self, value: &Value) -> usize {
        self.lines.line(value.span().start)
    }

    fn wrong_type(&self, value: &Value, key: &str, expected: &str) -> Problem {
        self.problem(
            value.span(),
            key,
            format!("must be {expected}, not {}", value.get_ref().type_str()),
        )
    }

    fn string(&self, value: &Value, key: &str) -> Result<At<String>, Problem> {
        match value.get_ref().as_str() {
            Some(s) => Ok(At {
                value: s.to_string(),
                line: self.line(value),
            }),
            None => Err(self.wrong_type(value, key, "a string")),
        }
    }

    fn boolean(&self, value: &Value, key: &str) -> Result<At<bool>, Problem> {
        match value.get_ref().as_bool() {
            Some(b) => Ok(At {
                value: b,
                line: self.line(value),
            }),
            None => Err(self.wrong_type(value, key, "true or false")),
        }
    }

    fn percent(&self, value: &Value, key: &str) -> Result<At<f64>, Problem> {
        let number = match value.get_ref() {
            DeValue::Integer(i) => i.as_str().replace('_', "").parse::<f64>().ok(),
            DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok(),
            _ => return Err(self.wrong_type(value, key, "a percent (a number from 0 to 100)")),
        };
        match number {
            Some(n) if (0.0..=100.0).contains(&n) => Ok(At {
                value: n,
                line: self.line(value),
            }),
            _ => Err(self.problem(value.span(), key, "must be a percent from 0 to 100".into())),
        }
    }

    /// `"60s"`, `"5m"`, or a whole number of seconds.
    fn seconds(&self, value: &Value, key: &str, min: i64, max: i64) -> Result<At<i64>, Problem> {
        let secs = match value.get_ref() {
            DeValue::Integer(i) if i.radix() == 10 => i.as_str().replace('_', "").parse().ok(),
            DeValue::String(s) => crate::duration::parse_duration(s).ok(),
            _ => None,
        };
        match secs {
            Some(n) if (min..=max).contains(&n) => Ok(At {
                value: n,
                line: self.line(value),
            }),
            _ => Err(self.problem(
                value.span(),
                key,
                format!(
                    "must be a duration from {} to {} (e.g. \"60s\", \"5m\")",
                    crate::duration::short_duration(min),
                    crate::duration::short_duration(max)
                ),
            )),
        }
    }

    /// A format, checked (`template::check`); an error points at the placeholder itself
    /// when the string is written without escapes, else at the string.
    fn format(&self, value: &Value, key: &str) -> Result<At<String>, Problem> {
        let at = self.string(value, key)?;
        template::check(&at.value).map_err(|bad| {
            let span = value.span();
            let raw = &self.lines.text[span.clone()];
            let plain = raw.len() == at.value.len() + 2 && raw[1..raw.len() - 1] == at.value;
            let start = if plain {
                let offset = at.value.char_indices().nth(bad.at).map_or(0, |(i, _)| i);
                span.start + 1 + offset
            } else {
                span.start
            };
            self.problem(start..span.end, key, bad.to_string())
        })?;
        Ok(at)
    }

    fn unknown(&mut self, name: &Spanned<std::borrow::Cow<str>>, prefix: &str, known: &[&str]) {
        // Past a screenful, a position each is no help and costs a scan of the line each.
        if self.warnings.len() >= MAX_WARNINGS {
            self.more_unknown += 1;
            return;
        }
        let problem = self.problem(
            name.span(),
            &format!("{prefix}{}", name.get_ref()),
            format!("unknown key, ignored (known: {})", known.join(", ")),
        );
        self.warnings.push(problem);
    }

    fn table<'t, 'i>(&self, value: &'t Value<'i>, key: &str) -> Result<&'t DeTable<'i>, Problem> {
        value
            .get_ref()
            .as_table()
            .ok_or_else(|| self.wrong_type(value, key, "a table"))
    }

    fn read(&mut self, table: &DeTable) -> Result<FileSettings, Problem> {
        let mut s = FileSettings::default();
        for (name, value) in table {
            let key = name.get_ref().as_ref();
            if SECRET_KEYS.contains(&key.to_ascii_lowercase().as_str()) {
                return Err(self.problem(
                    name.span(),
                    key,
                    "secrets never go in config.toml: put the session key in \
                     ~/.config/quotaline/session (chmod 600) or QUOTALINE_SESSION_KEY"
                        .into(),
                ));
            }
            if self.display(&mut s.display, key, value, key)? {
                continue;
            }
            match key {
                "org" => s.org = Some(self.string(value, key)?),
                // `account = "NAME"` picks the shown one; `[account.NAME]` tables name them.
                "account" if value.get_ref().as_str().is_some() => {
                    s.account = Some(self.string(value, key)?)
                }
                "account" => {
                    for (account, body) in self.table(value, key)? {
                        let path = format!("account.{}", account.get_ref());
                        let mut a = AccountSettings::default();
                        for (name, value) in self.table(body, &path)? {
                            let key = format!("{path}.{}", name.get_ref());
                            match name.get_ref().as_ref() {
                                "browser" => a.browser = Some(self.string(value, &key)?),
                                "session" => a.session = Some(self.string(value, &key)?),
                                "claude_config_dir" => {
                                    a.claude_config_dir = Some(self.string(value, &key)?)
                                }
                                "default" => a.default = Some(self.boolean(value, &key)?),
                                _ => self.unknown(name, &format!("{path}."), ACCOUNT_KEYS),
                            }
                        }
                        s.accounts.insert(account.get_ref().to_string(), a);
                    }
                }
                "browser" => {
                    let at = self.string(value, key)?;
                    check_browser(&at.value).map_err(|why| self.problem(value.span(), key, why))?;
                    s.browser = Some(at);
                }
                "ttl" => s.ttl = Some(self.seconds(value, key, TTL_RANGE.0, TTL_RANGE.1)?),
                "timeout" => {
                    s.timeout = Some(self.seconds(value, key, TIMEOUT_RANGE.0, TIMEOUT_RANGE.1)?)
                }
                "status_url" => s.status_url = Some(self.string(value, key)?),
                "codex_api" => s.codex_api = Some(self.boolean(value, key)?),
                "sources" => s.sources = Some(self.sources(value, key)?),
                "target" => {
                    for (target, body) in self.table(value, key)? {
                        let name = target.get_ref().as_ref();
                        let path = format!("target.{name}");
                        if Target::from_name(name).is_none() {
                            let known: Vec<&str> = Target::ALL.iter().map(|t| t.name()).collect();
                            return Err(self.problem(
                                target.span(),
                                &path,
                                format!("unknown target (one of: {})", known.join(", ")),
                            ));
                        }
                        let t = self.target(self.table(body, &path)?, &path)?;
                        s.target.insert(name.to_string(), t);
                    }
                }
                "metrics" => s.metrics = self.metrics(self.table(value, key)?)?,
                "notify" => s.notify = self.notify(self.table(value, key)?)?,
                "check" => {
                    for (name, value) in self.table(value, key)? {
                        let key = format!("check.{}", name.get_ref());
                        match name.get_ref().as_ref() {
                            "max_age" => {
                                s.check.max_age = Some(self.seconds(value, &key, 60, 7 * 86_400)?)
                            }
                            _ => self.unknown(name, "check.", CHECK_KEYS),
                        }
                    }
                }
                _ => self.unknown(name, "", TOP_KEYS),
            }
        }
        Ok(s)
    }

    fn metrics(&mut self, table: &DeTable) -> Result<Metrics, Problem> {
        let mut m = Metrics::default();
        for (name, value) in table {
            let key = format!("metrics.{}", name.get_ref());
            match name.get_ref().as_ref() {
                "textfile" => m.textfile = Some(self.textfile(value, &key)?),
                "labels" => m.labels = Some(self.labels(value, &key)?),
                _ => self.unknown(name, "metrics.", METRICS_KEYS),
            }
        }
        Ok(m)
    }

    /// node_exporter reads only `*.prom` files, and a relative path would depend on the
    /// directory of whichever process ingested last.
    fn textfile(&self, value: &Value, key: &str) -> Result<At<String>, Problem> {
        let at = self.string(value, key)?;
        if !at.value.starts_with('/') {
            return Err(self.problem(value.span(), key, "must be an absolute path".into()));
        }
        if !at.value.ends_with(".prom") {
            return Err(self.problem(
                value.span(),
                key,
                "must end in .prom (node_exporter's textfile collector reads only *.prom)".into(),
            ));
        }
        Ok(at)
    }

    fn labels(&self, value: &Value, key: &str) -> Result<At<BTreeMap<String, String>>, Problem> {
        let mut labels = BTreeMap::new();
        for (name, v) in self.table(value, key)? {
            let label = name.get_ref().as_ref();
            let path = format!("{key}.{label}");
            let mut chars = label.chars();
            let valid = chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
            let why = if !valid {
                "is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)".to_string()
            } else if label.starts_with("__") {
                "starts with __, which Prometheus reserves".to_string()
            } else if RESERVED_LABELS.contains(&label) {
                // On a gauge, promtool refuses the whole exposition.
                format!(
                    "is a label Prometheus reserves for histograms and summaries ({})",
                    RESERVED_LABELS.join(", ")
                )
            } else if METRIC_LABELS.contains(&label) {
                format!(
                    "is a label quotaline sets itself ({})",
                    METRIC_LABELS.join(", ")
                )
            } else {
                labels.insert(label.to_string(), self.string(v, &path)?.value);
                continue;
            };
            return Err(self.problem(name.span(), &path, why));
        }
        Ok(At {
            value: labels,
            line: self.line(value),
        })
    }

    fn notify(&mut self, table: &DeTable) -> Result<NotifySettings, Problem> {
        let mut n = NotifySettings::default();
        for (name, value) in table {
            let key = format!("notify.{}", name.get_ref());
            match name.get_ref().as_ref() {
                "events" => n.events = Some(self.events(value, &key)?),
                "desktop" => n.desktop = Some(self.boolean(value, &key)?),
                "command" => n.command = Some(self.command(value, &key)?),
                "timeout" => n.timeout = Some(self.seconds(value, &key, 1, 300)?),
                "eta_warning" => n.eta_warning = Some(self.seconds(value, &key, 60, 86_400)?),
                "stale_warning" => {
                    n.stale_warning = Some(self.seconds(value, &key, 5 * 60, 7 * 86_400)?)
                }
                "window" => {
                    for (window, body) in self.table(value, &key)? {
                        let path = format!("notify.window.{}", window.get_ref());
                        let mut w = WindowSettings::default();
                        for (name, value) in self.table(body, &path)? {
                            let key = format!("{path}.{}", name.get_ref());
                            match name.get_ref().as_ref() {
                                "warn" => w.warn = Some(self.percent(value, &key)?),
                                "crit" => w.crit = Some(self.percent(value, &key)?),
                                _ => self.unknown(name, &format!("{path}."), WINDOW_KEYS),
                            }
                        }
                        n.window.insert(window.get_ref().to_string(), w);
                    }
                }
                _ => self.unknown(name, "notify.", NOTIFY_KEYS),
            }
        }
        Ok(n)
    }

    /// `events = ["crit", "eta"]`: the names of `event::NAMES`, each at most once.
    fn events(&self, value: &Value, key: &str) -> Result<At<Vec<String>>, Problem> {
        let known = crate::event::NAMES;
        let expected = "a list of events, e.g. [\"crit\", \"eta\", \"limit\"]";
        let items = value
            .get_ref()
            .as_array()
            .ok_or_else(|| self.wrong_type(value, key, expected))?;
        let mut names: Vec<String> = Vec::new();
        for item in items {
            let name = self.string(item, key)?.value;
            if !known.contains(&name.as_str()) {
                return Err(self.problem(
                    item.span(),
                    key,
                    format!("unknown event {name:?} (known: {})", known.join(", ")),
                ));
            }
            if !names.contains(&name) {
                names.push(name);
            }
        }
        Ok(At {
            value: names,
            line: self.line(value),
        })
    }

    /// `command = ["ntfy", "publish", "topic"]`: a program and its arguments. A string is
    /// refused rather than split: it would need a shell, and server text must never meet one.
    fn command(&self, value: &Value, key: &str) -> Result<At<Vec<String>>, Problem> {
        let expected =
            "a list: the program and its arguments, e.g. [\"ntfy\", \"publish\", \"mytopic\"] \
                        (never a shell string)";
        let items = value
            .get_ref()
            .as_array()
            .ok_or_else(|| self.wrong_type(value, key, expected))?;
        let argv = items
            .iter()
            .map(|item| self.string(item, key).map(|s| s.value))
            .collect::<Result<Vec<String>, Problem>>()?;
        match argv.first() {
            Some(program) if !program.trim().is_empty() => Ok(At {
                value: argv,
                line: self.line(value),
            }),
            _ => Err(self.problem(value.span(), key, "names no program".into())),
        }
    }

    fn target(&mut self, table: &DeTable, path: &str) -> Result<Display, Problem> {
        let mut t = Display::default();
        for (name, value) in table {
            let key = format!("{path}.{}", name.get_ref());
            if !self.display(&mut t, name.get_ref(), value, &key)? {
                self.unknown(name, &format!("{path}."), DISPLAY_KEYS);
            }
        }
        Ok(t)
    }

    /// Reads `name` into `d` when it is a display key; false when it is not one.
    fn display(
        &self,
        d: &mut Display,
        name: &str,
        value: &Value,
        key: &str,
    ) -> Result<bool, Problem> {
        match name {
            "format" => d.format = Some(self.format(value, key)?),
            "warn" => d.warn = Some(self.percent(value, key)?),
            "crit" => d.crit = Some(self.percent(value, key)?),
            "color" => d.color = Some(self.boolean(value, key)?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn sources(&self, value: &Value, key: &str) -> Result<At<Vec<String>>, Problem> {
        let expected = "a list of sources, e.g. [\"claude.ai\", \"oauth\"]";
        let items = value
            .get_ref()
            .as_array()
            .ok_or_else(|| self.wrong_type(value, key, expected))?;
        let mut names = Vec::new();
        for item in items {
            let name = self.string(item, key)?.value;
            if !KNOWN_SOURCES.contains(&name.as_str()) {
                return Err(self.problem(
                    item.span(),
                    key,
                    format!(
                        "unknown source {name:?} (known: {})",
                        KNOWN_SOURCES.join(", ")
                    ),
                ));
            }
            names.push(name);
        }
        if names.is_empty() {
            return Err(self.problem(value.span(), key, "names no source".into()));
        }
        Ok(At {
            value: names,
            line: self.line(value),
        })
    }
}

/// Parses and checks the file's text.
pub fn parse(text: &str) -> Parsed {
    let mut reader = Reader {
        lines: LineIndex::of(text),
        warnings: Vec::new(),
        more_unknown: 0,
    };
    let settings = match DeTable::parse(text) {
        Ok(table) => reader.read(table.get_ref()),
        Err(e) => {
            let (line, column) = reader.lines.position(e.span().map_or(0, |s| s.start));
            Err(Problem {
                line,
                column,
                key: None,
                message: format!("not valid TOML: {}", e.message().trim()),
            })
        }
    };
    // The settings checks above stop at the first error; warnings after it are not known.
    let settings = settings.inspect(|s| {
        if let (Some(w), Some(c)) = (&s.display.warn, &s.display.crit) {
            if w.value > c.value {
                reader.warnings.push(Problem {
                    line: c.line,
                    column: 1,
                    key: Some("crit".into()),
                    message: format!(
                        "below warn ({}): every coloured window is critical",
                        w.value
                    ),
                });
            }
        }
    });
    if reader.more_unknown > 0 {
        if let Some(last) = reader.warnings.get_mut(MAX_WARNINGS - 1) {
            last.message
                .push_str(&format!("; and {} more unknown keys", reader.more_unknown));
        }
    }
    Parsed {
        settings,
        warnings: reader.warnings,
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// `quotaline config --default`: a complete, commented file to start from. Every key is
/// shown with its default, commented out, so the file changes nothing until edited.
pub const DEFAULT_FILE: &str = include_str!("../integrations/config.toml");

/// The config file as in force: where it is, which version of it (so the prompt path can tell
/// it did not change without reading it), the settings (the last good ones when the file has
/// an error), the error and the warnings. Kept in the cache (`CacheFile::config`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Loaded {
    pub path: Option<PathBuf>,
    /// `None` when there is no file.
    pub id: Option<FileId>,
    #[serde(default)]
    pub file: FileSettings,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Why someone besides the user (or root) could change the file (`file::others_can_change`):
    /// while so, what it says to run or write ([`Loaded::refused`]) is not taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untrusted: Option<String>,
}

/// A config file larger than this is not one.
const MAX_CONFIG: u64 = 256 * 1024;

impl Loaded {
    /// Reads and checks the file at `path`; on an error, `last_good` stays in force. `home`
    /// bounds how far up the directories are judged (see [`Loaded::judge`]).
    pub fn read(
        path: Option<PathBuf>,
        last_good: Option<&FileSettings>,
        home: Option<&Path>,
    ) -> Loaded {
        let id = path.as_deref().and_then(FileId::of);
        let mut loaded = Loaded {
            path: path.clone(),
            id: id.clone(),
            ..Loaded::default()
        };
        let Some(path) = path else {
            return loaded;
        };
        if id.is_none() {
            // Nothing there is the defaults; anything else that cannot be looked at (a link
            // that loops, a directory that may not be searched) is an error naming it.
            loaded.error = absent_because(&path);
            loaded.file = last_good.cloned().unwrap_or_default();
            return loaded;
        }
        loaded.judge(home);
        // Bounded and non-blocking (`file::read`): a FIFO or a huge file in its place must not
        // hold the prompt.
        let text = crate::file::read(&path, MAX_CONFIG)
            .map_err(|e| e.to_string())
            .and_then(|b| {
                String::from_utf8(b).map_err(|_| format!("{}: not UTF-8 text", path.display()))
            });
        let parsed = match text {
            Ok(text) => parse(&text),
            // The reason names the file already.
            Err(why) => {
                loaded.error = Some(why);
                loaded.file = last_good.cloned().unwrap_or_default();
                return loaded;
            }
        };
        loaded.warnings = parsed.warnings.iter().map(|w| w.display(&path)).collect();
        match parsed.settings {
            Ok(file) => loaded.file = file,
            Err(problem) => {
                loaded.error = Some(problem.display(&path));
                loaded.file = last_good.cloned().unwrap_or_default();
            }
        }
        loaded
    }

    /// Judges who could change the file as it is now (`file::others_can_change`), up to
    /// `home`: called on every read, and again by a process that finds the file refused, so
    /// that a `chmod` of a directory above it takes effect without an edit.
    pub fn judge(&mut self, home: Option<&Path>) {
        self.untrusted = match (&self.path, &self.id) {
            (Some(path), Some(_)) => crate::file::others_can_change(path, home),
            _ => None,
        };
    }

    /// The keys set in the file that are not taken because others could change it: what
    /// runs a command (`[notify] command`) and what writes a file (`[metrics] textfile`),
    /// with their lines. Empty when the file is trusted or sets neither.
    pub fn refused(&self) -> Vec<(&'static str, usize)> {
        if self.untrusted.is_none() {
            return Vec::new();
        }
        let f = &self.file;
        [
            (
                "[notify] command",
                f.notify.command.as_ref().map(|a| a.line),
            ),
            (
                "[metrics] textfile",
                f.metrics.textfile.as_ref().map(|a| a.line),
            ),
        ]
        .into_iter()
        .filter_map(|(key, line)| Some((key, line?)))
        .collect()
    }

    /// One line on what is refused and why, for `config`, `status` and `doctor`; `None` when
    /// nothing is.
    pub fn refusal(&self) -> Option<String> {
        let keys: Vec<String> = self
            .refused()
            .iter()
            .map(|(key, line)| format!("{key} (line {line})"))
            .collect();
        let why = self.untrusted.as_ref().filter(|_| !keys.is_empty())?;
        Some(format!(
            "{} not taken: {why}; a command to run or a file to write is taken only from a \
             config file that no one but you (or root) can change",
            keys.join(" and ")
        ))
    }
}

/// Why a config path that `stat` cannot see is not simply absent: `None` when nothing is
/// there; a dangling link or a link loop (which `stat` reports as missing or as an error) is
/// named with its cause.
fn absent_because(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let target = std::fs::read_link(path).ok()?;
            Some(format!(
                "{}: a symbolic link to {}, which does not exist",
                path.display(),
                target.display()
            ))
        }
        Err(e) => Some(format!("{}: {e}", path.display())),
        Ok(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> FileSettings {
        let parsed = parse(text);
        parsed.settings.unwrap_or_else(|e| panic!("{e}"))
    }

    fn err(text: &str) -> Problem {
        parse(text).settings.unwrap_err()
    }

    #[test]
    fn every_key_is_read_with_its_line() {
        let s = ok(
            "format = \"{5h}\"\norg = \"a1\"\nsources = [\"oauth\"]\nbrowser = \"firefox\"\n\
                    ttl = \"2m\"\ntimeout = 5\nwarn = 70\ncrit = 85.5\ncolor = false\n\
                    [target.tmux]\nformat = \"{5h}/{7d}\"\nwarn = 60\n",
        );
        assert_eq!(
            s.display.format.unwrap(),
            At {
                value: "{5h}".into(),
                line: 1
            }
        );
        assert_eq!(s.sources.unwrap().value, ["oauth"]);
        assert_eq!(s.ttl.unwrap().value, 120);
        assert_eq!(s.timeout.unwrap().value, 5);
        assert_eq!(s.display.crit.unwrap().value, 85.5);
        assert!(!s.display.color.unwrap().value);
        let tmux = &s.target["tmux"];
        assert_eq!(tmux.format.as_ref().unwrap().line, 11);
        assert_eq!(tmux.warn.as_ref().unwrap().value, 60.0);
    }

    #[test]
    fn positions_come_from_an_index_of_line_starts() {
        let text = "a = 1\n\nb = \"é\" # x\nc";
        let lines = LineIndex::of(text);
        assert_eq!(lines.position(0), (1, 1));
        assert_eq!(lines.position(6), (2, 1));
        assert_eq!(lines.position(text.find('#').unwrap()), (3, 9));
        assert_eq!(lines.position(text.len()), (4, 2));
        assert_eq!(lines.line(text.len() + 10), 4);
    }

    #[test]
    fn unknown_keys_past_twenty_are_counted_in_the_last_warning() {
        let text: String = (0..25).map(|i| format!("k{i} = 1\n")).collect();
        let parsed = parse(&text);
        assert_eq!(parsed.warnings.len(), 20);
        assert!(
            parsed.warnings[19]
                .message
                .ends_with("; and 5 more unknown keys"),
            "{:?}",
            parsed.warnings[19]
        );
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let e = err("warn = 70\ncrit = = 3\n");
        assert_eq!((e.line, e.key.as_deref()), (2, None));
        assert!(e.message.starts_with("not valid TOML"), "{e:?}");
    }

    #[test]
    fn wrong_types_and_ranges_name_the_key() {
        let e = err("\nwarn = \"high\"\n");
        assert_eq!((e.line, e.column, e.key.as_deref()), (2, 8, Some("warn")));
        assert_eq!(
            e.message,
            "must be a percent (a number from 0 to 100), not string"
        );
        let e = err("[target.tmux]\ncrit = 140\n");
        assert_eq!(e.key.as_deref(), Some("target.tmux.crit"));
        let e = err("ttl = \"1s\"\n");
        assert!(e.message.contains("duration from 30s"), "{e:?}");
        let e = err("sources = [\"claude.ai\", \"oath\"]\n");
        assert!(e.message.contains("unknown source \"oath\""), "{e:?}");
        let e = err("[target.kitty]\nformat = \"{5h}\"\n");
        assert_eq!(e.key.as_deref(), Some("target.kitty"));
        let e = err("browser = \"safari\"\n");
        assert_eq!(
            (e.line, e.column, e.key.as_deref()),
            (1, 11, Some("browser"))
        );
        assert!(
            e.message
                .starts_with("quotaline cannot read \"safari\"'s cookies (known: chrome,"),
            "{e:?}"
        );
        assert!(ok("browser = \"Brave:Profile 2\"\n").browser.is_some());
    }

    #[test]
    fn formats_are_checked() {
        let e = err("format = \"5h {5h} (· {7d}\"\n");
        assert_eq!(e.key.as_deref(), Some("format"));
        assert!(e.message.contains("unbalanced"), "{e:?}");
        let e = err("format = \"{5 h}\"\n");
        assert!(e.message.contains("unknown placeholder"), "{e:?}");
        // The column is the placeholder's, and the message says what was meant.
        let e = err("\n[target.tmux]\nformat = \"5h {5h_rset}\"\n");
        assert_eq!((e.line, e.column), (3, 14));
        assert_eq!(
            e.message,
            "unknown placeholder {5h_rset} at character 4 (did you mean {5h_reset}?)"
        );
    }

    #[test]
    fn unknown_keys_are_warnings_and_secrets_are_refused() {
        let parsed = parse("fromat = \"x\"\nwarn = 70\n[target.tmux]\nstyle = 1\n");
        assert_eq!(parsed.settings.unwrap().display.warn.unwrap().value, 70.0);
        let keys: Vec<_> = parsed
            .warnings
            .iter()
            .map(|w| w.key.clone().unwrap())
            .collect();
        assert_eq!(keys, ["fromat", "target.tmux.style"]);
        let e = err("session_key = \"sk-ant-sid01-x\"\n");
        assert!(e.message.contains("~/.config/quotaline/session"), "{e:?}");
        assert!(!e.message.contains("sk-ant"), "{e:?}");
    }

    #[test]
    fn metrics_textfile_and_labels_are_checked() {
        let s = ok("[metrics]\ntextfile = \"/var/lib/n/quotaline.prom\"\n\
                    labels = { user = \"ana\", host = \"laptop\" }\n");
        assert_eq!(
            s.metrics.textfile.unwrap().value,
            "/var/lib/n/quotaline.prom"
        );
        let labels = s.metrics.labels.unwrap();
        assert_eq!(labels.line, 3);
        assert_eq!(
            labels.value.into_iter().collect::<Vec<_>>(),
            [
                ("host".into(), "laptop".into()),
                ("user".into(), "ana".into())
            ]
        );
        let e = err("[metrics]\ntextfile = \"quotaline.prom\"\n");
        assert_eq!(e.key.as_deref(), Some("metrics.textfile"));
        assert_eq!(e.message, "must be an absolute path");
        let e = err("[metrics]\ntextfile = \"/tmp/quotaline.txt\"\n");
        assert!(e.message.contains("must end in .prom"), "{e:?}");
        let e = err("[metrics]\nlabels = { \"user-name\" = \"ana\" }\n");
        assert_eq!(e.key.as_deref(), Some("metrics.labels.user-name"));
        assert!(e.message.contains("[a-zA-Z_][a-zA-Z0-9_]*"), "{e:?}");
        let e = err("[metrics]\nlabels = { window = \"x\" }\n");
        assert!(e.message.contains("quotaline sets itself"), "{e:?}");
        let e = err("[metrics]\nlabels = { __name__ = \"x\" }\n");
        assert!(e.message.contains("reserves"), "{e:?}");
        for reserved in ["le", "quantile"] {
            let e = err(&format!("[metrics]\nlabels = {{ {reserved} = \"x\" }}\n"));
            assert_eq!(
                (e.key.as_deref(), e.message.as_str()),
                (
                    Some(format!("metrics.labels.{reserved}").as_str()),
                    "is a label Prometheus reserves for histograms and summaries (le, quantile)"
                )
            );
        }
        let e = err("[metrics]\nlabels = { user = 3 }\n");
        assert_eq!(e.key.as_deref(), Some("metrics.labels.user"));
        let parsed = parse("[metrics]\ntextfle = \"/x.prom\"\n");
        assert_eq!(parsed.warnings[0].key.as_deref(), Some("metrics.textfle"));
    }

    #[test]
    fn notify_is_read_key_by_key() {
        let s = ok(
            "[notify]\nevents = [\"crit\", \"reset\", \"crit\"]\ndesktop = false\n\
                    command = [\"ntfy\", \"publish\", \"t\"]\ntimeout = \"5s\"\n\
                    eta_warning = \"1h\"\nstale_warning = 900\n[notify.window.5h]\ncrit = 95\n",
        );
        let n = &s.notify;
        assert_eq!(n.events.as_ref().unwrap().value, ["crit", "reset"]);
        assert!(!n.desktop.as_ref().unwrap().value);
        assert_eq!(n.command.as_ref().unwrap().value, ["ntfy", "publish", "t"]);
        assert_eq!(n.command.as_ref().unwrap().line, 4);
        assert_eq!(n.timeout.as_ref().unwrap().value, 5);
        assert_eq!(n.eta_warning.as_ref().unwrap().value, 3600);
        assert_eq!(n.stale_warning.as_ref().unwrap().value, 900);
        assert_eq!(n.window["5h"].crit.as_ref().unwrap().value, 95.0);
        assert_eq!(n.window["5h"].warn, None);
        let parsed = parse("[notify]\nsound = true\n[notify.window.7d]\nwarm = 1\n");
        let keys: Vec<_> = parsed
            .warnings
            .iter()
            .map(|w| w.key.clone().unwrap())
            .collect();
        assert_eq!(keys, ["notify.sound", "notify.window.7d.warm"]);
    }

    #[test]
    fn a_notify_command_is_an_argv_never_a_shell_string() {
        let e = err("[notify]\ncommand = \"ntfy publish $(whoami)\"\n");
        assert_eq!((e.line, e.key.as_deref()), (2, Some("notify.command")));
        assert!(e.message.contains("never a shell string"), "{e:?}");
        let e = err("[notify]\ncommand = []\n");
        assert_eq!(e.message, "names no program");
        let e = err("[notify]\ncommand = [\"ntfy\", 3]\n");
        assert!(e.message.starts_with("must be a string"), "{e:?}");
        let e = err("[notify]\nevents = [\"crit\", \"panic\"]\n");
        assert!(
            e.message
                .starts_with("unknown event \"panic\" (known: warn, crit"),
            "{e:?}"
        );
        let e = err("[notify]\ntimeout = \"1h\"\n");
        assert_eq!(e.key.as_deref(), Some("notify.timeout"));
        let e = err("[notify.window.opus]\nwarn = 120\n");
        assert_eq!(e.key.as_deref(), Some("notify.window.opus.warn"));
    }

    #[test]
    fn the_default_file_parses_to_nothing_set() {
        let parsed = parse(DEFAULT_FILE);
        assert_eq!(parsed.settings, Ok(FileSettings::default()));
        assert_eq!(parsed.warnings, []);
        // Uncommented, every key it shows parses too.
        let uncommented: String = DEFAULT_FILE
            .lines()
            .map(|l| {
                l.strip_prefix('#')
                    .filter(|l| !l.starts_with(' '))
                    .unwrap_or(l)
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let parsed = parse(&uncommented);
        assert!(parsed.settings.is_ok(), "{:?}", parsed.settings);
        assert_eq!(parsed.warnings, []);
    }
}
