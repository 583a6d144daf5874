//! `quotaline check`: a guard for scripts and CI, with exit codes as a contract:
//!
//! - 0: at least one window (or the one named) was judged on current numbers, and every
//!   limit asked about is below it;
//! - 1: over a limit: a window at or over `--max` (default 90), projected to reach 100%
//!   within `--eta` and before its reset, or extra-usage spend at or over `--max-spend`
//!   (saying which, and when it resets);
//! - 2: no data to decide with: no reading, numbers older than `--max-age` or superseded by a
//!   payload quotaline could not read, no window that could be judged (every one, or the one
//!   named, past its reset, or none at all), no spend figure; 0 with `--fail-open`;
//! - 64: a usage error (EX_USAGE): an unknown flag or a bad value.
//!
//! An over-limit answer wins over missing data: what is known to be over is over. Numbers
//! that are not current judge nothing, not even "over": a window past its reset is not
//! judged, its number is no longer the truth.

use crate::error::ErrorKind;
use crate::refresh::load_fresh;
use crate::render::sanitize::Lines;
use crate::render::{report, text};
use crate::settings;
use crate::snapshot::CODEX_ORG;
use crate::window;
use chrono::Utc;

pub struct Options {
    pub max: Option<f64>,
    pub eta: Option<i64>,
    pub max_spend: Option<f64>,
    pub fail_open: bool,
    pub window: Option<String>,
    pub org: Option<String>,
    /// `--account NAME` (`quotaline accounts`), or `all`: every account judged, the worst
    /// answer wins (over, then no data, then ok).
    pub account: Option<String>,
    /// Seconds (`--max-age`): older numbers are no data.
    pub max_age: Option<i64>,
    /// `--provider`: `claude` (the default), `codex` or `all`.
    pub provider: Option<String>,
}

pub const OK: i32 = 0;
pub const OVER: i32 = 1;
pub const NO_DATA: i32 = 2;

/// `--provider`: Claude's windows (by account), Codex's, or both.
pub fn run(mut o: Options) -> i32 {
    match o.provider.take().as_deref() {
        None | Some("claude") => claude(o),
        Some(p @ ("codex" | "all")) if o.org.is_some() => {
            super::warn(&format!(
                "--org names a Claude org: it cannot go with --provider {p}"
            ));
            super::EX_USAGE
        }
        // Codex's windows are the org `codex` (`source::codex`); it has no Claude account.
        Some("codex") => judge(Options {
            org: Some(CODEX_ORG.to_string()),
            account: None,
            ..o
        }),
        Some("all") => {
            let claude = claude(Options {
                window: o.window.clone(),
                account: o.account.clone(),
                provider: None,
                ..o
            });
            // Codex not on this machine is not missing data: only Claude is judged.
            let cache = crate::settings::cache();
            if load_fresh(&cache).org(Some(CODEX_ORG)).is_none() {
                return claude;
            }
            let codex = judge(Options {
                org: Some(CODEX_ORG.to_string()),
                account: None,
                ..o
            });
            worse(claude, codex)
        }
        Some(other) => {
            super::warn(&format!(
                "--provider must be claude, codex or all, not `{}`",
                crate::source::http::printable(other)
            ));
            super::EX_USAGE
        }
    }
}

/// Claude's windows: of the account asked for (`--account NAME`, or `all`: each judged, the
/// worst answer wins), else of the org the line shows.
fn claude(o: Options) -> i32 {
    let Some(account) = o.account.clone() else {
        return judge(o);
    };
    let file = load_fresh(&crate::settings::cache());
    let named = settings::named_accounts(&file).0;
    let names = file
        .snapshot
        .as_ref()
        .map(|s| s.account_names(&named))
        .unwrap_or_default();
    let key = |name: &str| {
        let org = file.snapshot.as_ref()?.account_org(name, &named)?;
        Some(crate::snapshot::login_key(
            org.account_uuid.as_deref()?,
            &org.org_uuid,
        ))
    };
    let Some(judged) = super::chosen_accounts(&account, &names) else {
        return if o.fail_open { OK } else { NO_DATA };
    };
    if judged.is_empty() {
        return judge(Options { account: None, ..o });
    }
    let several = judged.len() > 1;
    let mut answers = Vec::new();
    for (name, _) in judged {
        if several {
            super::out(&format!("{name}:\n"));
        }
        answers.push(judge(Options {
            org: key(name),
            account: None,
            window: o.window.clone(),
            provider: None,
            ..o
        }));
    }
    answers.into_iter().fold(OK, worse)
}

/// Of two guards' exits, the one a script must act on: over a limit, then no data.
fn worse(a: i32, b: i32) -> i32 {
    [OVER, NO_DATA, super::EX_USAGE]
        .into_iter()
        .find(|c| a == *c || b == *c)
        .unwrap_or(OK)
}

fn judge(o: Options) -> i32 {
    for (flag, value) in [("--max", o.max), ("--max-spend", o.max_spend)] {
        if value.is_some_and(|v| !v.is_finite() || v < 0.0) {
            super::warn(&format!("{flag} must be a number, 0 or more"));
            return super::EX_USAGE;
        }
    }
    if o.max_age.is_some_and(|a| a <= 0) {
        super::warn("--max-age must be a duration above 0, e.g. 30m");
        return super::EX_USAGE;
    }
    // Without any limit named, the guard is 90%; `--eta` or `--max-spend` alone check only
    // what they name.
    let max = o
        .max
        .or((o.eta.is_none() && o.max_spend.is_none()).then_some(90.0));
    let no_data_fixed = |why: &str, fix: Option<&str>| {
        if o.fail_open {
            super::fail(&format!("cannot check: {why} (--fail-open: exit 0)"), fix);
            OK
        } else {
            super::fail(&format!("cannot check: {why}"), fix);
            NO_DATA
        }
    };
    let no_data = |why: &str| no_data_fixed(why, None);
    let cache = crate::settings::cache();
    let file = load_fresh(&cache);
    let now = crate::clock::now();
    let asked = settings::org_setting(o.org, settings::Scope::Process);
    if let Some((what, fix)) = report::missing_org(&file, &asked) {
        super::fail(&what, Some(&fix));
        return if o.fail_open { OK } else { NO_DATA };
    }
    // Unless one is pinned, the org the line shows (its account's: `account = NAME`).
    let org_id = asked.value.or_else(|| settings::shown_account(&file));
    let Some(org) = file.org(org_id.as_deref()) else {
        return match &file.state.error {
            Some(e) => no_data_fixed(&e.message, Some(e.kind.fix())),
            None => no_data("no usage data yet"),
        };
    };
    let age = file.age(org_id.as_deref(), now).unwrap_or(0);
    let max_age = settings::check_max_age_setting(o.max_age).value;
    // The server answered after this reading with a payload quotaline could not read: its
    // numbers may already differ from these, however fresh they look. Not current.
    let unread_since = file
        .state
        .error
        .as_ref()
        .filter(|e| e.kind == ErrorKind::Parse && org.read_at().is_none_or(|at| e.at > at));
    if let Some(e) = unread_since {
        return no_data(&format!(
            "the last refresh failed ({}): the server's newest numbers could not be read, \
             and the ones left, from {} ago, may differ",
            e.message,
            text::short_duration(age)
        ));
    }
    if age > max_age {
        let why = file
            .state
            .error
            .as_ref()
            .map(|e| format!(" (the last refresh failed: {})", e.message))
            .unwrap_or_default();
        return no_data(&format!(
            "the numbers are from {} ago, older than the {} --max-age allows{why}",
            text::short_duration(age),
            text::short_duration(max_age)
        ));
    }
    // Codex's numbers are as old as its last log line: the time Codex last heard from the
    // server, not a refresh that failed.
    if !org.is_codex() && crate::schedule::is_stale(&file, org_id.as_deref(), now) {
        super::warn(&format!(
            "checking numbers from {} ago (refresh failed or backing off)",
            text::short_duration(age)
        ));
    }
    let mut over = false;
    // Why a limit asked about could not be judged, and the fix when there is one.
    let mut missing: Option<(String, Option<String>)> = None;
    // Each window by its key (its pace is kept under it) and the name it is shown by.
    let windows: Vec<(&str, String, &crate::snapshot::Window)> = match &o.window {
        Some(name) => match window::resolve(org.windows.keys(), name) {
            Some(key) => {
                let w = &org.windows[key];
                vec![(key, window::label(key, w.display_name.as_deref()), w)]
            }
            None => {
                let (what, fix) = org.no_window(name);
                missing = Some((what, Some(fix)));
                Vec::new()
            }
        },
        None => org
            .windows
            .iter()
            .map(|(k, w)| (k.as_str(), window::label(k, w.display_name.as_deref()), w))
            .collect(),
    };
    let mut said = Lines::new();
    let mut any_rate = false;
    // Windows asked about at all (by `--max` or `--eta`), and how many of them were judged.
    let windows_asked = max.is_some() || o.eta.is_some();
    let (asked, mut judged) = (windows.len(), 0);
    let mut past_reset = Vec::new();
    for (key, name, w) in windows {
        // Its number belongs to the period that ended; the new one is not known yet.
        if let Some(reset) = w.resets_at.filter(|_| w.has_reset(now)) {
            super::warn(&format!(
                "{name} reset {} ago; a new reading is due (not checked)",
                text::short_duration((now - reset).num_seconds())
            ));
            past_reset.push(name);
            continue;
        }
        judged += 1;
        if let Some(within) = o.eta {
            let pace = org.pace.get(key);
            any_rate |= pace.is_some_and(|p| p.rate_per_hour.is_some());
            over |= looks_ahead(&mut said, &name, w, pace, within, now);
        }
        let Some(max) = max else { continue };
        if w.utilization >= max {
            over = true;
            let reset = match w.resets_at {
                Some(t) => format!(
                    ", resets in {} ({})",
                    text::short_duration((t - now).num_seconds()),
                    text::clock(t)
                ),
                None => String::new(),
            };
            said.line(format!(
                "{name} at {} (limit {}){reset}",
                text::percent(w.utilization),
                text::percent(max)
            ));
        }
    }
    if windows_asked && judged == 0 && missing.is_none() {
        let why = match (&o.window, asked) {
            (Some(name), _) => format!("`{name}` is past its reset; a new reading is due"),
            (None, 0) => "this org has no rolling windows (--max-spend checks its spend)".into(),
            (None, _) => format!(
                "no window could be judged: {} past {} reset; a new reading is due",
                past_reset.join(", "),
                if past_reset.len() == 1 {
                    "its"
                } else {
                    "their"
                }
            ),
        };
        missing = Some((why, None));
    }
    if o.eta.is_some() && !any_rate && missing.is_none() {
        // Not a failure (nothing is projected), but the guard could not look ahead.
        super::warn("no burn rate yet (it needs readings over 15 minutes for 5h, 6 hours for weekly windows)");
    }
    if let Some(limit) = o.max_spend {
        match org.extra_usage.as_ref() {
            // Off: nothing can be spent.
            Some(e) if !e.enabled => {}
            Some(e) => match e.used {
                Some(used) if used >= limit => {
                    over = true;
                    let cur = e.currency.as_deref();
                    said.line(format!(
                        "extra usage spent {} (limit {})",
                        text::money(used, cur),
                        text::money(limit, cur)
                    ));
                }
                Some(_) => {}
                None => {
                    missing = Some(("extra usage is on, but its spend is unknown".into(), None))
                }
            },
            None => {
                missing = Some((
                    "no extra-usage figures for this org (the oauth source and Claude Code's \
                     statusLine do not carry them)"
                        .into(),
                    None,
                ))
            }
        }
    }
    super::show(&said);
    match missing {
        _ if over => OVER,
        Some((why, fix)) => no_data_fixed(&why, fix.as_deref()),
        None => OK,
    }
}

/// `--eta`: says so in `said` and returns true when `w` is due to reach 100% within `within`
/// seconds and before it resets.
fn looks_ahead(
    said: &mut Lines,
    name: &str,
    w: &crate::snapshot::Window,
    pace: Option<&crate::snapshot::Pace>,
    within: i64,
    now: chrono::DateTime<Utc>,
) -> bool {
    let Some(pace) = pace else { return false };
    let Some(eta) = pace.eta else { return false };
    if pace.hits_before_reset == Some(false) || (eta - now).num_seconds() > within {
        return false;
    }
    let secs = (eta - now).num_seconds();
    let when = if secs <= 0 {
        format!("{name} at 100% now")
    } else {
        format!(
            "{name} projected to hit 100% in {} ({})",
            text::short_duration(secs),
            text::clock(eta)
        )
    };
    let reset = match w.resets_at {
        Some(t) => format!(
            ", before its reset in {}",
            text::short_duration((t - now).num_seconds())
        ),
        None => String::new(),
    };
    let rate = pace
        .rate_per_hour
        .map(|r| {
            format!(
                " (at {}, now {})",
                text::rate_text(r),
                text::percent(w.utilization)
            )
        })
        .unwrap_or_default();
    said.line(format!("{when}{reset}{rate}"));
    true
}
