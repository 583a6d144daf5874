//! The domain model: what one refresh learned about each organization, built from the
//! server's payloads. Every field the server may omit is an `Option`: a missing number stays
//! missing and is never turned into a zero.

use crate::window;
use chrono::{DateTime, Datelike, Utc};
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use std::cell::Cell;
use std::collections::BTreeMap;

/// One rolling window as the server reported it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// Percent used, exactly as the server sent it (so it can be diffed against DevTools):
    /// usually 0-100, and above 100 when the server says so (Claude Code has sent 105).
    pub utilization: f64,
    pub resets_at: Option<DateTime<Utc>>,
    /// The server's name for the model a per-model window is about ("Opus 4"), when the key
    /// was derived from it (`limits[]`): shown in labels, cleaned, and never part of a key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// The largest percent the server can mean: 105% has been seen, 1e308 is garbage.
const MAX_PERCENT: f64 = 1000.0;
/// Reset times outside [2020, 2100) are not times the server can mean (a Unix `1`, a
/// milliseconds value read as seconds).
const RESET_YEARS: std::ops::Range<i32> = 2020..2100;

impl Window {
    /// The one sanity check every reading passes, whatever its source (the `/usage` parser
    /// for claude.ai, OAuth and the browser extension; statusLine stdin): a number the server
    /// cannot mean makes the whole window invalid, with the reason.
    pub fn checked(utilization: f64, resets_at: Option<DateTime<Utc>>) -> Result<Window, String> {
        if !(utilization.is_finite() && (0.0..=MAX_PERCENT).contains(&utilization)) {
            return Err(format!(
                "{} is not a percent the server can mean (0 to {MAX_PERCENT})",
                number_text(utilization)
            ));
        }
        if let Some(t) = resets_at.filter(|t| !RESET_YEARS.contains(&t.year())) {
            return Err(format!(
                "reset time {} is not one the server can mean ({} to {})",
                t.to_rfc3339(),
                RESET_YEARS.start,
                RESET_YEARS.end
            ));
        }
        Ok(Window {
            utilization,
            resets_at,
            display_name: None,
        })
    }

    /// Whether the window's reset has passed: its number is no longer the truth, and the
    /// new one is not known until the next reading.
    pub fn has_reset(&self, now: DateTime<Utc>) -> bool {
        self.resets_at.is_some_and(|t| t <= now)
    }
}

/// A number as a message shows it: short even when it is 1e308.
fn number_text(n: f64) -> String {
    if n.abs() >= 1e9 {
        format!("{n:e}")
    } else {
        format!("{n}")
    }
}

/// Why a window the server sent is not shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// A window object with no number (`"utilization": null`, or only `resets_at`): missing,
    /// never 0%.
    NoNumber,
    /// Window-shaped data quotaline cannot read: a renamed field, a string, a bare number.
    Unreadable,
    /// A number the server cannot mean (see [`Window::checked`]).
    Rejected,
}

impl Problem {
    /// How `status` and `doctor` name it.
    pub fn words(self) -> &'static str {
        match self {
            Problem::NoNumber => "no number",
            Problem::Unreadable => "unreadable",
            Problem::Rejected => "rejected",
        }
    }
}

/// A window the server sent that is not shown, and why: kept so that `status`, `doctor` and
/// `json` can say what was left out rather than dropping it silently.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unusable {
    pub problem: Problem,
    /// Where in the body and what was wrong: "limits[0]: no `percent` ...".
    pub detail: String,
    /// The source whose reading carried it (claude.ai, oauth, extension, statusline).
    pub source: String,
}

/// Extra usage (metered billing) posture, money in currency units (dollars, not cents).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExtraUsage {
    pub enabled: bool,
    pub used: Option<f64>,
    /// The monthly cap; `None` is no cap (`monthly_limit: null`), never a cap of 0.
    pub limit: Option<f64>,
    /// Prepaid credit left (`spend.balance`), when the server says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<f64>,
    pub currency: Option<String>,
    pub out_of_credits: Option<bool>,
    pub disabled_reason: Option<String>,
    pub disabled_until: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Card {
    pub brand: Option<String>,
    pub last4: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub status: Option<String>,
    pub next_charge_date: Option<String>,
    pub billing_interval: Option<String>,
    pub currency: Option<String>,
    pub card: Option<Card>,
}

/// The names of an org's parts in `Org::sources`, each with its provenance.
pub mod part {
    /// The windows from a full reading (claude.ai, OAuth, the browser extension).
    pub const USAGE: &str = "usage";
    pub const EXTRA_USAGE: &str = "extra_usage";
    pub const SUBSCRIPTION: &str = "subscription";
    /// The org's entry in the account's org list (`/api/account`: its name and plan): read at
    /// most hourly, so its age is kept like any other part's.
    pub const ACCOUNT: &str = "account";
    /// When a refresh last asked for the org's `/usage` and got no usable answer (the org's
    /// numbers stay, with their own age): the schedule counts the next question from here.
    pub const ASKED: &str = "asked";
    /// When Claude Code's statusLine stdin last brought this org's windows (whether or not
    /// the high-water rule kept an earlier number).
    pub const STATUSLINE: &str = "statusline";

    /// The part of one window whose number came from stdin; a full reading's windows are
    /// under `USAGE`.
    pub fn window(key: &str) -> String {
        format!("window.{key}")
    }
}

/// Where one part of an org's snapshot came from, and when: parts can come from different
/// sources (claude.ai, OAuth, Claude Code's statusLine stdin) at different times.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub source: String,
    pub at: DateTime<Utc>,
}

/// The server bodies, verbatim, so a user can compare with what the settings page saw.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Raw {
    #[serde(default)]
    pub usage: Value,
    #[serde(default)]
    pub overage_spend_limit: Value,
    #[serde(default)]
    pub subscription_details: Value,
}

/// One organization's numbers. Each org is its own snapshot: tiers and caps differ per org,
/// so they are never averaged.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Org {
    pub org_uuid: String,
    /// The Claude account whose reading this is (`/api/account`'s `uuid`, Claude Code's
    /// `oauthAccount.accountUuid`): an entry is one account's view of one org, so two logins
    /// in one Team org keep their own numbers. Missing in caches written before accounts, and
    /// when no source named it: such an entry is taken over by the first account that reads
    /// its org.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_uuid: Option<String>,
    pub org_name: Option<String>,
    pub email: Option<String>,
    pub plan: Option<String>,
    pub windows: BTreeMap<String, Window>,
    pub extra_usage: Option<ExtraUsage>,
    pub subscription: Option<Subscription>,
    /// Per part (`part::USAGE`, ...): which source, and when.
    #[serde(default)]
    pub sources: BTreeMap<String, Provenance>,
    /// Skipped unparsed when the cache is read for display (see [`without_raw`]).
    #[serde(default, deserialize_with = "raw_unless_skipped")]
    pub raw: Raw,
    /// Per window key: burn rate, ETA and pace, computed from the history when a reading is
    /// ingested (`ingest.rs`, `pace.rs`) so the prompt path never opens the history.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pace: BTreeMap<String, Pace>,
    /// Per window key (or place in the body, `limits[3]`, when no key could be read): what
    /// the last readings sent that is not shown, and why.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unusable: BTreeMap<String, Unusable>,
}

/// Where one window is heading, as of the reading it was computed with. Every part is
/// missing rather than guessed when the history does not support it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Pace {
    /// Percentage points per hour over the recent span of the current reset period.
    pub rate_per_hour: Option<f64>,
    /// When the window reaches 100% at that rate (the reading's time when already there);
    /// missing when the rate is zero or the history too short.
    pub eta: Option<DateTime<Utc>>,
    /// Whether `eta` comes before the window resets (missing without a reset time).
    pub hits_before_reset: Option<bool>,
    /// Where a steady user would be: the elapsed fraction of the window, in percent.
    pub expected: Option<f64>,
    /// Utilization minus `expected`: ahead of pace (+) or behind it (-).
    pub delta: Option<f64>,
}

impl Pace {
    /// A rate below this (percentage points per hour) is "not burning": no ETA.
    pub const MIN_RATE: f64 = 0.1;
}

thread_local! {
    static SKIP_RAW: Cell<bool> = const { Cell::new(false) };
}

/// Runs `parse` with every org's `raw` bodies skipped unparsed (left empty). The prompt path
/// never shows them, yet they are two thirds of the cache file and building them as JSON
/// trees was a third of a segment's instructions (callgrind: 743k -> 474k). Whatever is read
/// this way must never be written back.
pub fn without_raw<T>(parse: impl FnOnce() -> T) -> T {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            SKIP_RAW.with(|skip| skip.set(false));
        }
    }
    SKIP_RAW.with(|skip| skip.set(true));
    let _reset = Reset;
    parse()
}

fn raw_unless_skipped<'de, D: Deserializer<'de>>(d: D) -> Result<Raw, D::Error> {
    if SKIP_RAW.with(Cell::get) {
        IgnoredAny::deserialize(d)?;
        Ok(Raw::default())
    } else {
        Raw::deserialize(d)
    }
}

/// The org id of OpenAI Codex's windows (`source::codex::ORG`): not a uuid, so it never
/// names one of Claude's orgs.
pub const CODEX_ORG: &str = "codex";

/// How one account's entry for an org is asked for where an org uuid is (`Snapshot::org`,
/// a line's org): `ACCOUNT/ORG`. A uuid holds no `/`, so the two never mix.
pub fn login_key(account: &str, org: &str) -> String {
    format!("{account}/{org}")
}

/// Everything one successful refresh produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub source: String,
    pub fetched_at: DateTime<Utc>,
    pub active_org: Option<String>,
    pub orgs: Vec<Org>,
}

impl Snapshot {
    /// One account's entry for `org`: the entry of that account, else one no account has
    /// claimed yet (a cache from before accounts); with no account named, the first entry
    /// for the org.
    pub fn login_org(&self, account: Option<&str>, org: &str) -> Option<&Org> {
        let mut same_org = self.orgs.iter().filter(|o| o.org_uuid == org);
        match account {
            None => same_org.next(),
            Some(a) => self
                .orgs
                .iter()
                .find(|o| o.org_uuid == org && o.account_uuid.as_deref() == Some(a))
                .or_else(|| same_org.find(|o| o.account_uuid.is_none())),
        }
    }

    /// Where [`Snapshot::login_org`] is, for changing it in place.
    pub fn login_org_index(&self, account: Option<&str>, org: &str) -> Option<usize> {
        let found = self.login_org(account, org)?;
        self.orgs.iter().position(|o| std::ptr::eq(o, found))
    }

    /// Every account the orgs name, in the order they first appear, with the name it goes
    /// by: its email's local part (`ana` for ana@example.com: what a person calls the login,
    /// short enough for `{5h@ana}`), else the account uuid's first eight characters; a name
    /// taken already gives way to the whole email, then the uuid.
    pub fn account_names(&self, named: &[(String, String)]) -> Vec<(String, &str)> {
        let mut names: Vec<(String, &str)> = Vec::new();
        // The names the config gives come first, and are never taken by another.
        let given = |uuid: &str| {
            named
                .iter()
                .find(|(u, _)| u == uuid)
                .map(|(_, n)| n.clone())
        };
        for org in &self.orgs {
            let Some(uuid) = org.account_uuid.as_deref() else {
                continue;
            };
            if names.iter().any(|(_, u)| *u == uuid) {
                continue;
            }
            let email = self
                .orgs
                .iter()
                .filter(|o| o.account_uuid.as_deref() == Some(uuid))
                .find_map(|o| o.email.as_deref());
            let short: String = uuid.chars().take(8).collect();
            if let Some(name) = given(uuid) {
                names.push((name, uuid));
                continue;
            }
            let candidates = [
                email.and_then(|e| e.split('@').next()).map(str::to_string),
                email.map(str::to_string),
                Some(short),
                Some(uuid.to_string()),
            ];
            let name = candidates
                .into_iter()
                .flatten()
                .filter(|n| !n.is_empty())
                .find(|n| {
                    !names.iter().any(|(taken, _)| taken == n)
                        && !named.iter().any(|(_, given)| given == n)
                })
                .unwrap_or_else(|| uuid.to_string());
            names.push((name, uuid));
        }
        names
    }

    /// The org shown for the account named `name` (see [`Snapshot::account_names`]): the
    /// active org when it is that account's, else its first.
    pub fn account_org(&self, name: &str, named: &[(String, String)]) -> Option<&Org> {
        let names = self.account_names(named);
        let uuid = names.iter().find(|(n, _)| n == name).map(|(_, u)| *u)?;
        let mine = |o: &&Org| o.account_uuid.as_deref() == Some(uuid);
        self.active_org
            .as_deref()
            .and_then(|a| self.orgs.iter().filter(mine).find(|o| o.org_uuid == a))
            .or_else(|| self.orgs.iter().find(mine))
    }

    /// The org a segment shows: the one asked for (an org uuid, or one account's entry for
    /// it as [`login_key`] spells it), else the active one, else the first.
    pub fn org(&self, wanted: Option<&str>) -> Option<&Org> {
        match wanted {
            Some(key) if key.contains('/') => {
                let (account, org) = key.split_once('/')?;
                self.login_org(Some(account), org)
            }
            Some(uuid) => self.orgs.iter().find(|o| o.org_uuid == uuid),
            None => self
                .active_org
                .as_deref()
                .and_then(|a| self.orgs.iter().find(|o| o.org_uuid == a))
                // Codex's windows (`source::codex`) are shown beside a Claude org's, never
                // in its place.
                .or_else(|| self.orgs.iter().find(|o| !o.is_codex())),
        }
    }
}

/// The most windows one org keeps, the longest model name (in characters) a window may carry,
/// and the most characters of model names one org keeps in all: together they bound what one
/// payload can make, so that the default line stays under 4 KB in every target's markup
/// however the names are escaped (`&` is five bytes for waybar), the cache stays small and the
/// events of one reading fit one delivery. Today's payloads send about ten windows with names
/// like "Opus 4.5"; the rest of a hostile one is listed as unusable, like a number the server
/// cannot mean.
pub const MAX_WINDOWS: usize = 20;
pub const MAX_NAME: usize = 64;
pub const MAX_NAMES: usize = 512;
/// How many unusable windows an org lists one by one; the rest are counted in one entry.
pub const MAX_UNUSABLE: usize = 20;
/// The key of the entry that counts the unusable windows not listed (not a window name, so it
/// never collides with one).
pub const MORE_UNUSABLE: &str = "(more)";
/// The largest server body kept verbatim (`Org::raw`): a `/usage` body is a few KiB, and a
/// cache holding a body of a MiB per org would soon be too large to read back.
pub const MAX_RAW: usize = 64 << 10;

impl Org {
    /// Keeps at most [`MAX_WINDOWS`] windows and [`MAX_NAMES`] characters of their model
    /// names (the five-hour and weekly windows first, then by key) and lists the rest as
    /// unusable, noted as coming from `source`; keeps no server body over [`MAX_RAW`]; then
    /// keeps at most [`MAX_UNUSABLE`] unusable entries and counts the rest in one. Every
    /// reading passes here on its way into the cache (`ingest`).
    pub fn bound(&mut self, source: &str) {
        let mut keys: Vec<String> = self.windows.keys().cloned().collect();
        keys.sort_by_key(|k| (k != window::FIVE_HOUR, k != window::SEVEN_DAY));
        let (mut kept, mut names) = (0, 0);
        for key in keys {
            let name = self.windows[&key]
                .display_name
                .as_ref()
                .map_or(0, |n| n.chars().count());
            let why = if kept == MAX_WINDOWS {
                format!("more windows than quotaline keeps for one org ({MAX_WINDOWS})")
            } else if names + name > MAX_NAMES {
                format!(
                    "more characters of model names than quotaline keeps for one org \
                     ({MAX_NAMES})"
                )
            } else {
                kept += 1;
                names += name;
                continue;
            };
            self.windows.remove(&key);
            self.pace.remove(&key);
            self.unusable.insert(
                key,
                Unusable {
                    problem: Problem::Rejected,
                    detail: why,
                    source: source.to_string(),
                },
            );
        }
        for body in [
            &mut self.raw.usage,
            &mut self.raw.overage_spend_limit,
            &mut self.raw.subscription_details,
        ] {
            let size = serde_json::to_vec(body).map_or(0, |b| b.len());
            if size > MAX_RAW {
                *body = Value::String(format!(
                    "not kept: {size} bytes, more than the {MAX_RAW} quotaline keeps"
                ));
            }
        }
        if self.unusable.len() > MAX_UNUSABLE {
            let earlier = self
                .unusable
                .remove(MORE_UNUSABLE)
                .and_then(|u| u.detail.split(' ').next()?.parse::<usize>().ok())
                .unwrap_or(0);
            let listed: Vec<String> = self.unusable.keys().cloned().collect();
            let rest = listed.len().saturating_sub(MAX_UNUSABLE - 1);
            for key in listed.into_iter().skip(MAX_UNUSABLE - 1) {
                self.unusable.remove(&key);
            }
            self.unusable.insert(
                MORE_UNUSABLE.to_string(),
                Unusable {
                    problem: Problem::Rejected,
                    detail: format!(
                        "{} more not listed (quotaline lists {} per org)",
                        rest + earlier,
                        MAX_UNUSABLE - 1
                    ),
                    source: source.to_string(),
                },
            );
        }
    }

    /// Every window's short name (`window::label`), for errors that list what exists:
    /// `5h, 7d, opus, fable`.
    pub fn window_names(&self) -> Vec<String> {
        self.windows
            .iter()
            .map(|(k, w)| crate::window::label(k, w.display_name.as_deref()))
            .collect()
    }

    /// A `--window` name that matches none of this org's windows, as (what, fix): the
    /// name probably meant, and the windows there are.
    pub fn no_window(&self, name: &str) -> (String, String) {
        let names = self.window_names();
        let meant = crate::suggest::did_you_mean(name, names.iter().map(String::as_str));
        (
            format!("no window `{name}` for this org"),
            format!("{meant}windows: {}", names.join(", ")),
        )
    }

    /// Per-model weekly windows, as (the key's model part, window), e.g. ("opus", ...).
    pub fn model_windows(&self) -> impl Iterator<Item = (&str, &Window)> {
        self.windows
            .iter()
            .filter_map(|(key, w)| Some((window::model(key)?, w)))
    }

    /// The highest utilization among the windows still current at `now` (the badge's and the
    /// bar's number): a window past its reset no longer counts.
    pub fn worst(&self, now: DateTime<Utc>) -> Option<f64> {
        self.windows
            .values()
            .filter(|w| !w.has_reset(now))
            .map(|w| w.utilization)
            .fold(None, |m: Option<f64>, u| Some(m.map_or(u, |m| m.max(u))))
    }

    /// Whether these are OpenAI Codex's windows ([`CODEX_ORG`]) rather than a Claude org's.
    pub fn is_codex(&self) -> bool {
        self.org_uuid == CODEX_ORG
    }

    /// Whose plan the org's windows are: `codex` for OpenAI Codex's, else `claude`.
    pub fn provider(&self) -> &'static str {
        if self.is_codex() {
            "codex"
        } else {
            "claude"
        }
    }

    /// When this org's windows were last read, from whichever source (a refresh, Claude
    /// Code's statusLine stdin, the browser extension): the one definition of an org's age.
    pub fn read_at(&self) -> Option<DateTime<Utc>> {
        self.newest_reading().map(|p| p.at)
    }

    /// Seconds since [`Org::read_at`] at `now`; an org with no provenance (a cache from before
    /// it was kept) counts from `fetched`, its snapshot's fetch.
    pub fn age(&self, fetched: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
        (now - self.read_at().unwrap_or(fetched))
            .num_seconds()
            .max(0)
    }

    /// The provenance of this org's newest reading of its windows (see [`Org::read_at`]).
    pub fn newest_reading(&self) -> Option<&Provenance> {
        [part::USAGE, part::STATUSLINE]
            .into_iter()
            .filter_map(|p| self.sources.get(p))
            .max_by_key(|p| p.at)
    }
}

/// The plan's display name from a membership's `rate_limit_tier`.
pub fn plan_from_tier(tier: &str) -> Option<String> {
    let plan = match tier {
        "default_claude_ai" => "Pro",
        "default_claude_max_5x" => "Max 5x",
        "default_claude_max_20x" => "Max 20x",
        t if t.contains("enterprise") => "Enterprise",
        t if t.contains("team") || t.contains("raven") => "Team",
        _ => return None,
    };
    Some(plan.to_string())
}

/// What `/usage` (claude.ai or OAuth, same shape) tells.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Usage {
    pub windows: BTreeMap<String, Window>,
    pub extra_usage: Option<ExtraUsage>,
    /// What the body sent that is not shown, and why (see [`Org::unusable`]).
    pub unusable: BTreeMap<String, Unusable>,
}

/// Keys of `/usage` that are not windows even though some carry a `utilization`.
const NOT_WINDOWS: &[&str] = &["extra_usage", "spend", "limits"];
/// The fields of a flat window and of a `limits[]` entry as known today: an unknown field
/// beside a missing number is probably that number, renamed.
const FLAT_FIELDS: &[&str] = &["utilization", "resets_at"];
const LIMIT_FIELDS: &[&str] = &[
    "kind",
    "group",
    "percent",
    "resets_at",
    "scope",
    "is_active",
    "severity",
];
/// How many unusable windows a parse error names before "and N more".
const NAMED_IN_ERRORS: usize = 4;

/// The windows one part of a body gave, and what it sent that cannot be shown.
#[derive(Default)]
struct Windows {
    found: BTreeMap<String, Window>,
    unusable: BTreeMap<String, (Problem, String)>,
}

impl Windows {
    /// Files one window's outcome under `key`; `path` (where in the body it was) leads the
    /// reason when it is not the key itself.
    fn put(&mut self, key: String, path: &str, outcome: Result<Window, (Problem, String)>) {
        match outcome {
            Ok(w) => {
                self.found.insert(key, w);
            }
            Err((problem, why)) => {
                let detail = if path == key {
                    why
                } else {
                    format!("{path}: {why}")
                };
                self.unusable.insert(key, (problem, detail));
            }
        }
    }
}

/// A value as a message quotes it: JSON, cut short.
fn excerpt(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// One window object's number and reset, by the rules every shape shares: a number goes
/// through [`Window::checked`]; no number is missing, unless fields quotaline does not know
/// stand in its place (a renamed field); anything else is unreadable. A reset that is not a
/// time is "no reset time", not a failure of the window.
pub fn read_window(
    fields: &Map<String, Value>,
    number: &str,
    known: &[&str],
    reset: impl Fn(&Value) -> Option<DateTime<Utc>>,
) -> Result<Window, (Problem, String)> {
    match fields.get(number) {
        Some(Value::Number(n)) => {
            let resets_at = fields.get("resets_at").and_then(reset);
            Window::checked(n.as_f64().unwrap_or(f64::NAN), resets_at)
                .map_err(|why| (Problem::Rejected, why))
        }
        None | Some(Value::Null) => {
            let unknown: Vec<String> = fields
                .keys()
                .filter(|k| !known.contains(&k.as_str()))
                .take(3)
                .map(|k| format!("{:?}", k.chars().take(40).collect::<String>()))
                .collect();
            if unknown.is_empty() {
                Err((Problem::NoNumber, "sent without a number".into()))
            } else {
                Err((
                    Problem::Unreadable,
                    format!("no `{number}` (unknown fields: {})", unknown.join(", ")),
                ))
            }
        }
        Some(text @ Value::String(_)) => Err((
            Problem::Unreadable,
            format!("`{number}` is a string ({})", excerpt(text)),
        )),
        Some(other) => Err((
            Problem::Unreadable,
            format!("`{number}` is not a number ({})", excerpt(other)),
        )),
    }
}

/// Parses a `/usage` body, older flat shape and newer `limits[]` alike. A window is the unit
/// of truth: one without a number is missing (never 0%), one quotaline cannot read or whose
/// number makes no sense is listed in `unusable` (noted as coming from `source`), and the
/// rest still count.
///
/// It is an error, so that the caller keeps the last numbers, when no known window can be
/// found; when no window has a number and there is no money either; and when `before` (the
/// org as cached) had windows and the body has none without saying so (`five_hour: null`
/// is the server saying so: an org that became credit-only).
pub fn parse_usage(body: &Value, source: &str, before: Option<&Org>) -> Result<Usage, String> {
    let obj = body
        .as_object()
        .ok_or("unrecognized usage payload: not a JSON object")?;
    let mut recognized = false;
    let mut flat = Windows::default();
    for (key, value) in obj {
        if NOT_WINDOWS.contains(&key.as_str()) {
            continue;
        }
        let known = window::is_known(key);
        // A name that cannot be a key is quoted (escaped) and cut short wherever it is shown.
        let shown = if window::is_name(key) {
            key.clone()
        } else {
            format!("{:?}", key.chars().take(40).collect::<String>())
        };
        match value {
            Value::Null => recognized |= known,
            Value::Object(fields)
                if known
                    || fields.contains_key("utilization")
                    || fields.contains_key("resets_at") =>
            {
                recognized = true;
                let outcome = if window::is_name(key) {
                    read_window(fields, "utilization", FLAT_FIELDS, parse_time)
                } else {
                    Err((
                        Problem::Unreadable,
                        "not a window name quotaline can show".into(),
                    ))
                };
                flat.put(shown.clone(), &shown, outcome);
            }
            Value::Number(_) if known => {
                recognized = true;
                let why = format!("{} is a bare number, not a window object", excerpt(value));
                flat.put(shown.clone(), &shown, Err((Problem::Unreadable, why)));
            }
            _ if known => {
                recognized = true;
                let why = format!("{} is not a window object", excerpt(value));
                flat.put(shown.clone(), &shown, Err((Problem::Unreadable, why)));
            }
            _ => {}
        }
    }
    let mut limits = Windows::default();
    match obj.get("limits") {
        None | Some(Value::Null) => {}
        Some(Value::Array(entries)) => {
            recognized = true;
            for (i, entry) in entries.iter().enumerate() {
                read_limit(&format!("limits[{i}]"), entry, &mut limits);
            }
        }
        Some(other) => {
            recognized = true;
            let why = format!("{} is not a list", excerpt(other));
            limits.put("limits".into(), "limits", Err((Problem::Unreadable, why)));
        }
    }
    if !recognized {
        return Err("unrecognized usage payload: no known window \
                    (five_hour, seven_day, limits[])"
            .to_string());
    }

    // Where both carry a number, `limits[]` wins: it is the newer shape, the one the
    // settings page itself reads, and the flat keys have been seen null or lagging beside
    // it. Where only one has a number, that one fills the window.
    let mut windows = flat.found;
    windows.extend(limits.found);
    let mut unusable = flat.unusable;
    for (key, note) in limits.unusable {
        // A missing number says less than an unreadable or rejected one.
        if note.0 != Problem::NoNumber || !unusable.contains_key(&key) {
            unusable.insert(key, note);
        }
    }
    unusable.retain(|key, _| !windows.contains_key(key));

    let extra_usage = parse_extra(obj.get("spend"), obj.get("extra_usage"));
    if windows.is_empty() {
        let said_none = [window::FIVE_HOUR, window::SEVEN_DAY]
            .iter()
            .any(|k| obj.get(*k).is_some_and(Value::is_null));
        let vanished = !said_none && before.is_some_and(|o| !o.windows.is_empty());
        if extra_usage.is_none() || vanished {
            let mut why = if unusable.is_empty() {
                "no window has a number".to_string()
            } else {
                format!("no window has a readable number: {}", listed(&unusable))
            };
            if vanished {
                why.push_str("; this org had windows until now, so its last numbers are kept");
            }
            return Err(format!("unrecognized usage payload: {why}"));
        }
    }
    let unusable = unusable
        .into_iter()
        .map(|(key, (problem, detail))| {
            let source = source.to_string();
            (
                key,
                Unusable {
                    problem,
                    detail,
                    source,
                },
            )
        })
        .collect();
    Ok(Usage {
        windows,
        extra_usage,
        unusable,
    })
}

/// The first few unusable windows, for an error message.
fn listed(unusable: &BTreeMap<String, (Problem, String)>) -> String {
    let mut parts: Vec<String> = unusable
        .iter()
        .take(NAMED_IN_ERRORS)
        .map(|(key, (_, detail))| format!("{key}: {detail}"))
        .collect();
    if unusable.len() > NAMED_IN_ERRORS {
        parts.push(format!("and {} more", unusable.len() - NAMED_IN_ERRORS));
    }
    parts.join("; ")
}

/// One `limits[]` entry, under its window key: session -> five_hour, weekly_all ->
/// seven_day, weekly_scoped -> the model's weekly window (`seven_day_<display name>`), and
/// any other kind under its own name (kinds appear and vanish like codenames).
fn read_limit(path: &str, entry: &Value, out: &mut Windows) {
    let Some(fields) = entry.as_object() else {
        let why = format!("{} is not an object", excerpt(entry));
        return out.put(path.to_string(), path, Err((Problem::Unreadable, why)));
    };
    let key = match fields.get("kind").and_then(Value::as_str) {
        None => Err("no `kind`".to_string()),
        Some("session") => Ok(window::FIVE_HOUR.to_string()),
        Some("weekly_all") => Ok(window::SEVEN_DAY.to_string()),
        Some("weekly_scoped") => entry
            .pointer("/scope/model/display_name")
            .and_then(Value::as_str)
            .and_then(window::model_key)
            .ok_or_else(|| "`weekly_scoped` without a model name".to_string()),
        Some(kind) if window::is_name(kind) => Ok(kind.to_string()),
        Some(kind) => Err(format!(
            "`kind` {} is not a name quotaline can show",
            excerpt(&Value::from(kind))
        )),
    };
    // The model's own name, kept for labels: the key is only its slug.
    let display_name = entry
        .pointer("/scope/model/display_name")
        .and_then(Value::as_str)
        .filter(|_| fields.get("kind").and_then(Value::as_str) == Some("weekly_scoped"));
    let long = display_name
        .map(|n| n.chars().count())
        .filter(|&n| n > MAX_NAME);
    let key = match (key, long) {
        (Ok(_), Some(n)) => Err(format!(
            "a model name of {n} characters, longer than the {MAX_NAME} quotaline shows"
        )),
        (key, _) => key,
    };
    match key {
        Ok(key) => {
            let outcome =
                read_window(fields, "percent", LIMIT_FIELDS, parse_time).map(|w| Window {
                    display_name: display_name.map(str::to_string),
                    ..w
                });
            out.put(key, path, outcome);
        }
        Err(why) => out.put(path.to_string(), path, Err((Problem::Unreadable, why))),
    }
}

pub fn parse_time(value: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value.as_str()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Minor units to currency units: 1234 with exponent 2 is 12.34.
fn money(minor: Option<f64>, exponent: i32) -> Option<f64> {
    minor.map(|m| m / 10f64.powi(exponent))
}

/// How many decimals a currency's minor unit has (ISO 4217): JPY 0, USD and EUR 2, KWD 3.
/// What scales an amount when its body does not say (`exponent`, `decimal_places`).
pub fn minor_units(currency: Option<&str>) -> i32 {
    const NO_DECIMALS: &[&str] = &[
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
        "VUV", "XAF", "XOF", "XPF",
    ];
    const THREE_DECIMALS: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
    let is =
        |list: &[&str]| currency.is_some_and(|c| list.iter().any(|l| l.eq_ignore_ascii_case(c)));
    if is(NO_DECIMALS) {
        0
    } else if is(THREE_DECIMALS) {
        3
    } else {
        2
    }
}

/// The body's own exponent (`exponent`, `decimal_places`) when it gives a sane one, else the
/// currency's minor units.
fn exponent(v: &Value, field: &str, currency: Option<&str>) -> i32 {
    v.get(field)
        .and_then(Value::as_i64)
        .filter(|e| (0..=6).contains(e))
        .map_or_else(|| minor_units(currency), |e| e as i32)
}

fn str_field(obj: &Value, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Extra usage from a body's `spend` block (2026), else its older `extra_usage` object: the
/// newer one wins when both are there. Shared by `/usage` and statusLine stdin.
pub fn parse_extra(spend: Option<&Value>, extra_usage: Option<&Value>) -> Option<ExtraUsage> {
    spend
        .and_then(parse_spend)
        .or_else(|| extra_usage.and_then(parse_extra_usage))
}

/// The newer `spend` object: `{enabled, used, limit, cap: {money}, balance, disabled_reason}`,
/// each amount `{amount_minor, currency, exponent}`; `limit` and `cap` both null is no cap.
fn parse_spend(spend: &Value) -> Option<ExtraUsage> {
    spend.as_object()?;
    let amount = |v: Option<&Value>| -> Option<(f64, Option<String>)> {
        let v = v?;
        let currency = str_field(v, "currency");
        let scale = exponent(v, "exponent", currency.as_deref());
        let value = money(v.get("amount_minor").and_then(Value::as_f64), scale)?;
        Some((value, currency))
    };
    let used = amount(spend.get("used"));
    let limit = amount(spend.get("limit")).or_else(|| amount(spend.pointer("/cap/money")));
    let balance = amount(spend.get("balance"));
    let disabled_reason = str_field(spend, "disabled_reason");
    let currency = [&used, &limit, &balance]
        .into_iter()
        .find_map(|a| a.as_ref().and_then(|a| a.1.clone()));
    Some(ExtraUsage {
        enabled: spend
            .get("enabled")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        currency,
        used: used.map(|u| u.0),
        limit: limit.map(|l| l.0),
        balance: balance.map(|b| b.0),
        // The one reason that says what `/overage_spend_limit`'s flag says.
        out_of_credits: (disabled_reason.as_deref() == Some("out_of_credits")).then_some(true),
        disabled_reason,
        disabled_until: None,
    })
}

/// The older `extra_usage` object: minor units, scaled by `decimal_places` or the currency;
/// `monthly_limit: null` is no cap.
fn parse_extra_usage(extra: &Value) -> Option<ExtraUsage> {
    extra.as_object()?;
    let currency = str_field(extra, "currency");
    let scale = exponent(extra, "decimal_places", currency.as_deref());
    let minor = |key: &str| extra.get(key).and_then(Value::as_f64);
    Some(ExtraUsage {
        enabled: extra
            .get("is_enabled")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        used: money(minor("used_credits"), scale),
        limit: money(minor("monthly_limit"), scale),
        balance: None,
        currency,
        out_of_credits: extra.get("spend_limit_reached").and_then(Value::as_bool),
        disabled_reason: str_field(extra, "disabled_reason"),
        disabled_until: None,
    })
}

/// `/overage_spend_limit`. It is the dedicated endpoint for the spend posture, so when it
/// answered it is preferred over the copy inside `/usage`.
pub fn parse_overage(body: &Value) -> Option<ExtraUsage> {
    body.as_object()?;
    let currency = str_field(body, "currency");
    let scale = exponent(body, "decimal_places", currency.as_deref());
    let minor = |key: &str| body.get(key).and_then(Value::as_f64);
    Some(ExtraUsage {
        enabled: body
            .get("is_enabled")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        used: money(minor("used_credits"), scale),
        limit: money(minor("monthly_credit_limit"), scale),
        balance: None,
        currency,
        out_of_credits: body.get("out_of_credits").and_then(Value::as_bool),
        disabled_reason: str_field(body, "disabled_reason"),
        disabled_until: str_field(body, "disabled_until"),
    })
}

/// Fills what `first`, the preferred answer (the overage endpoint's, or stdin's newer
/// amounts), left out from `other`.
pub fn merge_extra(first: Option<ExtraUsage>, other: Option<ExtraUsage>) -> Option<ExtraUsage> {
    match (first, other) {
        (Some(mut o), Some(u)) => {
            o.used = o.used.or(u.used);
            o.limit = o.limit.or(u.limit);
            o.balance = o.balance.or(u.balance);
            o.currency = o.currency.or(u.currency);
            o.out_of_credits = o.out_of_credits.or(u.out_of_credits);
            o.disabled_reason = o.disabled_reason.or(u.disabled_reason);
            Some(o)
        }
        (o, u) => o.or(u),
    }
}

pub fn parse_subscription(body: &Value) -> Option<Subscription> {
    body.as_object()?;
    let card = body
        .get("payment_method")
        .filter(|c| c.is_object())
        .map(|c| Card {
            brand: str_field(c, "brand"),
            last4: str_field(c, "last4"),
        });
    Some(Subscription {
        status: str_field(body, "status"),
        next_charge_date: str_field(body, "next_charge_date"),
        billing_interval: str_field(body, "billing_interval"),
        currency: str_field(body, "currency"),
        card,
    })
}

/// One membership from `/api/account`.
#[derive(Clone, Debug, PartialEq)]
pub struct Membership {
    pub uuid: String,
    /// The account the list was read for (`/api/account`'s `uuid`).
    pub account: Option<String>,
    pub name: Option<String>,
    pub plan: Option<String>,
    pub chat: bool,
}

/// `/api/account`: the email and every membership.
/// Whether `id` is shaped like an org uuid (8-4-4-4-12 hex digits). An org id goes into
/// request paths: anything else (`../../oauth/usage`, `x?y=1#f`) could send the cookie
/// elsewhere, so it is never used.
pub fn is_org_uuid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

pub fn parse_account(body: &Value) -> Result<(Option<String>, Vec<Membership>), String> {
    let memberships = body
        .get("memberships")
        .and_then(Value::as_array)
        .ok_or("unrecognized account payload: no memberships")?;
    let orgs = memberships
        .iter()
        .filter_map(|m| {
            let org = m.get("organization")?;
            let capabilities = org.get("capabilities").and_then(Value::as_array);
            Some(Membership {
                uuid: str_field(org, "uuid").filter(|u| is_org_uuid(u))?,
                account: str_field(body, "uuid"),
                name: str_field(org, "name"),
                plan: org
                    .get("rate_limit_tier")
                    .and_then(Value::as_str)
                    .and_then(plan_from_tier),
                chat: capabilities
                    .is_none_or(|caps| caps.iter().any(|c| c.as_str() == Some("chat"))),
            })
        })
        .collect();
    Ok((str_field(body, "email_address"), orgs))
}

/// `oauthAccount` from Claude Code's `.claude.json`: which account and org it is logged in
/// to. It maps Claude Code's numbers (OAuth or statusLine stdin) to an org without any
/// request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub org_uuid: String,
    pub org_name: Option<String>,
    pub email: Option<String>,
    pub plan: Option<String>,
    /// `oauthAccount.accountUuid`: whose readings `cached_usage` holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_uuid: Option<String>,
    /// Claude Code's own last `/usage` reading for this account (`cachedUsageUtilization`),
    /// when it is this account's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_usage: Option<CachedUsage>,
}

/// A `/usage` body Claude Code fetched and kept in `.claude.json`, and when it fetched it:
/// a reading that costs quotaline no request (it has been seen days old, so it counts only
/// when newer than what is held).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CachedUsage {
    pub fetched_at: DateTime<Utc>,
    /// The body, in the process that read the file only: it is taken in (or found older) by
    /// that process, and never written to the cache, whose every read is a prompt's cost.
    #[serde(skip)]
    pub body: Option<Value>,
}

/// For unit tests: an org with one five-hour window at `utilization`, resetting at `resets_at`,
/// its usage read from claude.ai at `read_at`.
#[cfg(test)]
pub fn five_hour_org(
    uuid: &str,
    utilization: f64,
    resets_at: Option<DateTime<Utc>>,
    read_at: DateTime<Utc>,
) -> Org {
    Org {
        org_uuid: uuid.into(),
        windows: BTreeMap::from([(
            "five_hour".to_string(),
            Window {
                utilization,
                resets_at,
                display_name: None,
            },
        )]),
        sources: BTreeMap::from([(
            part::USAGE.to_string(),
            Provenance {
                source: "claude.ai".into(),
                at: read_at,
            },
        )]),
        ..Org::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(name: &str) -> Value {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn an_org_is_as_old_as_its_newest_reading_else_its_snapshots_fetch_never_zero() {
        let t = |s: i64| chrono::TimeZone::timestamp_opt(&Utc, 1_795_000_000 + s, 0).unwrap();
        let org = five_hour_org("o", 10.0, None, t(100));
        assert_eq!(org.age(t(0), t(160)), 60);
        // No provenance (a cache from before it was kept): counted from the fetch, not 0.
        let bare = Org {
            org_uuid: "o".into(),
            ..Org::default()
        };
        assert_eq!(bare.age(t(0), t(160)), 160);
        // A reading stamped ahead of the clock is not a negative age.
        assert_eq!(org.age(t(0), t(50)), 0);
    }

    #[test]
    fn display_reads_skip_raw_bodies_and_keep_everything_else() {
        let org = Org {
            org_uuid: "o".to_string(),
            account_uuid: None,
            org_name: Some("Org".to_string()),
            email: None,
            plan: Some("Pro".to_string()),
            windows: BTreeMap::from([(
                "five_hour".to_string(),
                Window {
                    utilization: 12.0,
                    resets_at: None,
                    display_name: None,
                },
            )]),
            extra_usage: None,
            subscription: None,
            sources: BTreeMap::new(),
            raw: Raw {
                usage: payload("usage_limits_array.json"),
                ..Raw::default()
            },
            pace: BTreeMap::new(),
            unusable: BTreeMap::new(),
        };
        let json = serde_json::to_string(&org).unwrap();
        let lean: Org = without_raw(|| serde_json::from_str(&json).unwrap());
        assert_eq!(lean.raw, Raw::default());
        assert_eq!(
            Org {
                raw: org.raw.clone(),
                ..lean
            },
            org
        );
        // The skip ends with the closure: a full read still has the bodies.
        let full: Org = serde_json::from_str(&json).unwrap();
        assert_eq!(full, org);
    }

    fn pct(u: &Usage, key: &str) -> Option<f64> {
        u.windows.get(key).map(|w| w.utilization)
    }

    #[test]
    fn flat_windows_payload_gives_every_non_null_window() {
        let u = usage("usage_flat_windows.json").unwrap();
        let keys: Vec<&str> = u.windows.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "five_hour",
                "seven_day",
                "seven_day_oauth_apps",
                "seven_day_opus"
            ]
        );
        assert_eq!(pct(&u, "five_hour"), Some(37.0));
        assert_eq!(pct(&u, "seven_day_opus"), Some(71.0));
        assert_eq!(u.windows["seven_day_oauth_apps"].resets_at, None);
        assert_eq!(
            u.windows["five_hour"].resets_at.unwrap().to_rfc3339(),
            "2026-11-22T19:00:00.512201+00:00"
        );
        let extra = u.extra_usage.unwrap();
        assert!(!extra.enabled);
        assert_eq!((extra.used, extra.limit), (None, None));
    }

    #[test]
    fn limits_array_wins_and_names_model_windows() {
        let u = usage("usage_limits_array.json").unwrap();
        assert_eq!(pct(&u, "five_hour"), Some(23.0));
        assert_eq!(pct(&u, "seven_day"), Some(64.0));
        assert_eq!(pct(&u, "seven_day_opus"), Some(81.0));
        assert_eq!(pct(&u, "seven_day_sonnet"), Some(9.0));
        assert_eq!(u.windows.len(), 4);
        // The key is a slug; the server's name for the model is kept for labels.
        assert_eq!(
            u.windows["seven_day_opus"].display_name.as_deref(),
            Some("Opus")
        );
        assert_eq!(u.windows["five_hour"].display_name, None);
        let extra = u.extra_usage.unwrap();
        assert!(extra.enabled);
        assert_eq!(extra.used, Some(12.34));
        assert_eq!(extra.limit, Some(50.0));
        assert_eq!(extra.currency.as_deref(), Some("USD"));
    }

    #[test]
    fn enterprise_payload_has_no_windows_but_is_recognized() {
        let u = usage("usage_enterprise.json").unwrap();
        assert!(u.windows.is_empty());
        let extra = u.extra_usage.unwrap();
        assert_eq!(extra.used, Some(41.32));
        assert_eq!(extra.limit, Some(1000.0));
    }

    fn usage(name: &str) -> Result<Usage, String> {
        parse_usage(&payload(name), "claude.ai", None)
    }

    fn unusable(u: &Usage) -> Vec<(&str, Problem, &str)> {
        u.unusable
            .iter()
            .map(|(k, n)| (k.as_str(), n.problem, n.detail.as_str()))
            .collect()
    }

    #[test]
    fn renamed_fields_are_a_parse_error_not_zero() {
        let err = parse_usage(&serde_json::json!({"5h": {"pct": 3}}), "t", None).unwrap_err();
        assert!(err.starts_with("unrecognized usage payload"), "{err}");
        let err =
            parse_usage(&serde_json::json!({"five_hour": {"pct": 3}}), "t", None).unwrap_err();
        assert_eq!(
            err,
            "unrecognized usage payload: no window has a readable number: five_hour: no \
             `utilization` (unknown fields: \"pct\")"
        );
        assert!(parse_usage(&serde_json::json!([1, 2]), "t", None).is_err());
    }

    #[test]
    fn a_window_without_a_number_is_missing_and_the_others_count() {
        let u = usage("usage_partial_windows.json").unwrap();
        assert_eq!(
            unusable(&u),
            [(
                "seven_day_oauth_apps",
                Problem::NoNumber,
                "sent without a number"
            )]
        );
        assert_eq!(pct(&u, "seven_day"), Some(58.0));
        assert_eq!(u.unusable["seven_day_oauth_apps"].source, "claude.ai");
    }

    #[test]
    fn limits_fill_null_flat_windows_and_win_where_both_have_a_number() {
        let u = usage("usage_partial_windows.json").unwrap();
        // Flat null, limits[] 37: filled.
        assert_eq!(pct(&u, "five_hour"), Some(37.0));
        assert_eq!(pct(&u, "seven_day_opus"), Some(71.0));
        // Flat 12, limits[] null: the flat number stands.
        assert_eq!(pct(&u, "seven_day_sonnet"), Some(12.0));
        // Both have one: limits[] wins (the flat window is 23 there, limits[] too; make
        // them differ to see which).
        let mut body = payload("usage_limits_array.json");
        body["five_hour"]["utilization"] = serde_json::json!(99);
        let u = parse_usage(&body, "t", None).unwrap();
        assert_eq!(pct(&u, "five_hour"), Some(23.0));
    }

    #[test]
    fn unknown_kinds_and_codenames_keep_their_own_names() {
        let u = usage("usage_partial_windows.json").unwrap();
        assert_eq!(pct(&u, "tangelo"), Some(17.5));
        assert_eq!(pct(&u, "seven_day_routines"), Some(8.0));
        assert_eq!(pct(&u, "seven_day_omelette"), Some(3.0));
        assert_eq!(pct(&u, "daily_design"), Some(5.0));
        let u = usage("usage_unknown_kind.json").unwrap();
        assert_eq!(pct(&u, "rolling_daily"), Some(97.0));
        assert_eq!(u.windows.len(), 1);
    }

    #[test]
    fn a_reset_that_is_not_a_date_is_no_reset_time() {
        let u = usage("usage_partial_windows.json").unwrap();
        assert_eq!(u.windows["seven_day_sonnet"].resets_at, None);
    }

    #[test]
    fn data_quotaline_cannot_read_and_no_number_anywhere_is_a_parse_error() {
        for (name, why) in [
            (
                "usage_renamed_fields.json",
                "no window has a readable number: five_hour: limits[0]: no `percent` (unknown \
                 fields: \"pct\"); seven_day: limits[1]: no `percent` (unknown fields: \"pct\")",
            ),
            (
                "usage_percent_strings.json",
                "no window has a readable number: five_hour: limits[0]: `percent` is a string \
                 (\"97\"); seven_day: limits[1]: `percent` is a string (\"64\")",
            ),
            (
                "usage_bare_numbers.json",
                "no window has a readable number: five_hour: 97 is a bare number, not a window \
                 object; seven_day: 64 is a bare number, not a window object",
            ),
            ("usage_empty_limits.json", "no window has a number"),
        ] {
            assert_eq!(
                usage(name).unwrap_err(),
                format!("unrecognized usage payload: {why}"),
                "{name}"
            );
        }
    }

    #[test]
    fn unreadable_limits_entries_are_listed_and_the_readable_ones_count() {
        let mut body = payload("usage_limits_array.json");
        body["limits"][2] = serde_json::json!(42);
        body["limits"][3]["kind"] = serde_json::json!(null);
        body["limits"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!(
                {"kind": "Weekly Scoped!", "percent": 5}
            ));
        let u = parse_usage(&body, "t", None).unwrap();
        assert_eq!(
            unusable(&u),
            [
                ("limits[2]", Problem::Unreadable, "42 is not an object"),
                ("limits[3]", Problem::Unreadable, "no `kind`"),
                (
                    "limits[4]",
                    Problem::Unreadable,
                    "`kind` \"Weekly Scoped!\" is not a name quotaline can show"
                ),
            ]
        );
        assert_eq!(pct(&u, "five_hour"), Some(23.0));
    }

    #[test]
    fn windows_that_vanish_from_an_org_that_had_some_are_an_error_unless_said_none() {
        let before = Org {
            windows: usage("usage_flat_windows.json").unwrap().windows,
            ..serde_json::from_value(serde_json::json!({
                "org_uuid": "o", "org_name": null, "email": null, "plan": null,
                "windows": {}, "extra_usage": null, "subscription": null
            }))
            .unwrap()
        };
        let body = payload("usage_windows_vanished.json");
        assert!(parse_usage(&body, "t", None).is_ok(), "money, no history");
        let err = parse_usage(&body, "t", Some(&before)).unwrap_err();
        assert!(err.ends_with("this org had windows until now, so its last numbers are kept"));
        let enterprise = payload("usage_enterprise.json");
        assert!(parse_usage(&enterprise, "t", Some(&before)).is_ok());
    }

    #[test]
    fn numbers_the_server_cannot_mean_reject_their_window_and_105_is_kept() {
        let u = usage("usage_nonsense_numbers.json").unwrap();
        assert_eq!(pct(&u, "five_hour"), Some(37.0));
        assert_eq!(pct(&u, "seven_day_oauth_apps"), Some(105.0));
        assert_eq!(u.windows.len(), 2);
        let rejected: Vec<(&str, &str)> = u
            .unusable
            .iter()
            .inspect(|(_, n)| assert_eq!(n.problem, Problem::Rejected))
            .map(|(k, n)| (k.as_str(), n.detail.as_str()))
            .collect();
        assert_eq!(
            rejected,
            [
                (
                    "seven_day",
                    "1e308 is not a percent the server can mean (0 to 1000)"
                ),
                (
                    "seven_day_cowork",
                    "reset time 1970-01-01T00:00:01+00:00 is not one the server can mean \
                     (2020 to 2100)"
                ),
                (
                    "seven_day_omelette",
                    "reset time 2150-01-01T00:00:00+00:00 is not one the server can mean \
                     (2020 to 2100)"
                ),
                (
                    "seven_day_opus",
                    "-5 is not a percent the server can mean (0 to 1000)"
                ),
                (
                    "seven_day_sonnet",
                    "1500 is not a percent the server can mean (0 to 1000)"
                ),
            ]
        );
        assert!(Window::checked(f64::NAN, None).is_err());
        assert!(Window::checked(f64::INFINITY, None).is_err());
        assert!(Window::checked(0.0, None).is_ok());
        assert!(Window::checked(1000.0, None).is_ok());
    }

    #[test]
    fn only_nonsense_is_a_parse_error() {
        let mut body = payload("usage_nonsense_numbers.json");
        body["five_hour"]["utilization"] = serde_json::json!(-1);
        body["seven_day_oauth_apps"]["utilization"] = serde_json::json!(1e300);
        let err = parse_usage(&body, "t", None).unwrap_err();
        assert!(
            err.starts_with("unrecognized usage payload: no window has a readable number: "),
            "{err}"
        );
        assert!(err.ends_with("; and 3 more"), "{err}");
    }

    #[test]
    fn money_scales_by_the_bodys_exponent_else_the_currencys_minor_units() {
        // JPY has no minor unit; no exponent is sent.
        let e = usage("usage_spend_jpy.json").unwrap().extra_usage.unwrap();
        assert_eq!(
            (e.used, e.limit, e.balance, e.currency.as_deref()),
            (Some(1234.0), None, Some(5000.0), Some("JPY"))
        );
        // KWD has three; spend wins over extra_usage, and out_of_credits is its reason.
        let e = usage("usage_spend_out_of_credits.json")
            .unwrap()
            .extra_usage
            .unwrap();
        assert_eq!((e.used, e.limit), (Some(12.345), Some(12.345)));
        assert_eq!(e.out_of_credits, Some(true));
        assert_eq!(e.disabled_reason.as_deref(), Some("out_of_credits"));
        // `decimal_places` said: it wins over the currency.
        let mut body = payload("usage_spend_out_of_credits.json");
        body.as_object_mut().unwrap().remove("spend");
        let e = parse_usage(&body, "t", None).unwrap().extra_usage.unwrap();
        assert_eq!((e.used, e.limit), (Some(50.0), Some(50.0)));
        body["extra_usage"]["decimal_places"] = serde_json::json!(2);
        let e = parse_usage(&body, "t", None).unwrap().extra_usage.unwrap();
        assert_eq!(e.used, Some(500.0));
        assert_eq!(minor_units(Some("usd")), 2);
        assert_eq!(minor_units(None), 2);
    }

    #[test]
    fn a_null_monthly_limit_is_no_cap() {
        let e = usage("usage_extra_no_cap.json")
            .unwrap()
            .extra_usage
            .unwrap();
        assert_eq!((e.used, e.limit), (Some(43.21), None));
        assert!(e.enabled);
    }

    #[test]
    fn overage_payloads_convert_cents_to_dollars() {
        let o = parse_overage(&payload("overage_out_of_credits.json")).unwrap();
        assert_eq!(o.used, Some(202.14));
        assert_eq!(o.limit, Some(200.0));
        assert_eq!(o.out_of_credits, Some(true));
        assert_eq!(o.disabled_until.as_deref(), Some("2026-12-01T00:00:00Z"));
        let o = parse_overage(&payload("overage_spend_limit.json")).unwrap();
        assert_eq!((o.used, o.limit), (Some(12.34), Some(50.0)));
    }

    #[test]
    fn subscription_and_account_payloads() {
        let s = parse_subscription(&payload("subscription_details.json")).unwrap();
        assert_eq!(s.status.as_deref(), Some("active"));
        assert_eq!(s.next_charge_date.as_deref(), Some("2026-12-04"));
        let card = s.card.unwrap();
        assert_eq!(card.brand.as_deref(), Some("visa"));
        assert_eq!(card.last4.as_deref(), Some("4242"));
        let (email, orgs) = parse_account(&payload("account.json")).unwrap();
        assert_eq!(email.as_deref(), Some("dev@example.com"));
        assert_eq!(orgs.len(), 2);
        assert_eq!(orgs[0].plan.as_deref(), Some("Max 20x"));
        assert_eq!(orgs[1].plan.as_deref(), Some("Pro"));
    }
}
