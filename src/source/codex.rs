//! OpenAI's Codex CLI, read from its own session logs at no request. Codex writes every
//! session to `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl`; each model response adds an
//! `event_msg` of type `token_count` whose `rate_limits` carry the ChatGPT plan's 5-hour
//! (`primary`) and weekly (`secondary`) windows. The newest such line of the newest log is
//! the reading, as of the line's own `timestamp`.
//!
//! The Codex windows live in an org of their own ([`ORG`]), with keys that cannot clash with
//! Claude's ([`FIVE_HOUR`], [`SEVEN_DAY`]), so history, pace and events treat them like any
//! window. Only `refresh` reads the logs: the prompt path never opens them.

use crate::file;
use crate::snapshot::{part, Org, Provenance, Window};
use chrono::{DateTime, Duration, SubsecRound, TimeZone, Utc};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The org id of Codex's windows: not a uuid, so never one of Claude's orgs.
pub const ORG: &str = crate::snapshot::CODEX_ORG;
/// The source of a reading from the session logs.
pub const SOURCE_LOG: &str = "codex-log";
pub const FIVE_HOUR: &str = crate::window::CODEX_5H;
pub const SEVEN_DAY: &str = crate::window::CODEX_7D;
/// How much of a log's end is read: a `token_count` line is about 1 KiB and comes after
/// every response, so the newest one is always well within this; a log of any size costs
/// the same.
pub const TAIL: u64 = 256 << 10;
/// How many of the newest logs are looked at for a `token_count` line (a session just started
/// has none yet; the one before it does).
const LOGS: usize = 3;

/// Whether `org` holds Codex's windows rather than a Claude org's.
pub fn is_codex(org: &Org) -> bool {
    org.is_codex()
}

/// What the session logs (or the ChatGPT backend) said: the windows of the newest
/// `token_count` line, as of its own time.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    pub at: DateTime<Utc>,
    pub windows: BTreeMap<String, Window>,
    pub plan: Option<String>,
    /// [`SOURCE_LOG`] or [`SOURCE_API`].
    pub source: &'static str,
}

impl Reading {
    /// The Codex org this reading makes, stamped with its own time and source.
    pub fn org(&self) -> Org {
        let provenance = Provenance {
            source: self.source.to_string(),
            at: self.at,
        };
        Org {
            org_uuid: ORG.to_string(),
            org_name: Some("Codex".to_string()),
            plan: self.plan.clone(),
            windows: self.windows.clone(),
            sources: [(part::USAGE.to_string(), provenance)].into(),
            ..Org::default()
        }
    }
}

/// The newest session logs under `home`, newest first (at most [`LOGS`]): the newest day
/// folder that has any, by name (Codex names folders and logs by date and time).
pub fn newest_logs(home: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let sessions = home.join("sessions");
    for year in sorted_desc(&sessions) {
        for month in sorted_desc(&year) {
            for day in sorted_desc(&month) {
                let mut logs: Vec<PathBuf> = sorted_desc(&day)
                    .into_iter()
                    .filter(|p| {
                        p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with("rollout-") && n.ends_with(".jsonl"))
                    })
                    .collect();
                logs.truncate(LOGS - out.len());
                out.extend(logs);
                if out.len() == LOGS {
                    return out;
                }
            }
        }
    }
    out
}

fn sorted_desc(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    paths.reverse();
    paths
}

/// The reading of `logs` (the newest logs, as [`newest_logs`] lists them), or why there is
/// none (`None` when there are no logs at all: Codex is not on this machine, or never ran).
pub fn read(logs: &[PathBuf]) -> Option<Result<Reading, String>> {
    let first = logs.first()?;
    for log in logs {
        let Ok(bytes) = file::tail(log, TAIL) else {
            continue;
        };
        if let Some(reading) = newest_reading(&bytes) {
            return Some(reading.map(|(at, windows, plan)| Reading {
                at,
                windows,
                plan,
                source: SOURCE_LOG,
            }));
        }
    }
    Some(Err(format!(
        "no rate limits in the newest Codex session log {} yet",
        first.display()
    )))
}

/// The source of a reading from the ChatGPT backend.
pub const SOURCE_API: &str = "codex-api";
/// Where the ChatGPT backend answers with the plan's windows.
pub const USAGE_PATH: &str = "/backend-api/wham/usage";

/// Codex's login (`auth.json`): what the usage endpoint needs. Never written, never refreshed
/// by quotaline; never shown, logged or cached.
struct Login {
    access_token: String,
    account_id: Option<String>,
}

fn login(home: &Path) -> Result<Login, String> {
    let path = home.join("auth.json");
    let bytes = file::read(&path, 1 << 20).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("no Codex login ({} is missing)", path.display()),
        _ => format!("Codex's login cannot be read: {e}"),
    })?;
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|_| format!("{} is not JSON Codex wrote", path.display()))?;
    let tokens = &v["tokens"];
    let access_token = tokens["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            format!(
                "{} holds no ChatGPT login (tokens.access_token)",
                path.display()
            )
        })?
        .to_string();
    Ok(Login {
        access_token,
        account_id: tokens["account_id"].as_str().map(str::to_string),
    })
}

/// Whether Codex's login file is there (for `doctor`; never read for it).
pub fn has_login(home: &Path) -> bool {
    home.join("auth.json").is_file()
}

/// Asks the ChatGPT backend for the plan's windows with Codex's own login (`codex_api = true`).
/// Errors are worded without the token.
pub fn fetch(home: &Path, now: DateTime<Utc>) -> Result<Reading, String> {
    let login = login(home)?;
    let (var, url) = crate::settings::codex_url();
    let base = crate::source::http::check_base_url(var, &url).map_err(|e| e.message)?;
    let mut headers = vec![("Authorization", format!("Bearer {}", login.access_token))];
    if let Some(id) = login.account_id {
        headers.push(("ChatGPT-Account-Id", id));
    }
    let client = crate::source::http::Client::new("chatgpt.com", base, headers);
    let body = client.get_json(USAGE_PATH).map_err(|e| e.message)?;
    let (windows, plan) = usage_body(&body, now)?;
    Ok(Reading {
        at: now,
        windows,
        plan,
        source: SOURCE_API,
    })
}

/// The windows of a `/backend-api/wham/usage` body: `rate_limit.primary_window` and
/// `secondary_window` by their length, each `additional_rate_limits[]` entry's window as
/// `codex_<its name's slug>`.
pub fn usage_body(
    body: &Value,
    now: DateTime<Utc>,
) -> Result<(BTreeMap<String, Window>, Option<String>), String> {
    let mut windows = BTreeMap::new();
    let rate = &body["rate_limit"];
    for (name, fallback) in [
        ("primary_window", FIVE_HOUR),
        ("secondary_window", SEVEN_DAY),
    ] {
        if let Some((key, w)) = api_window(&rate[name], now, None, fallback)? {
            windows.insert(key, w);
        }
    }
    for (i, extra) in body["additional_rate_limits"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let name = extra["limit_name"].as_str();
        let slug = name
            .or(extra["metered_feature"].as_str())
            .map(slug)
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| format!("limit_{i}"));
        let key = format!("codex_{slug}");
        if let Some((_, mut w)) = api_window(
            &extra["rate_limit"]["primary_window"],
            now,
            Some(&key),
            &key,
        )? {
            w.display_name = name.map(|n| n.chars().take(crate::snapshot::MAX_NAME).collect());
            windows.insert(key, w);
        }
    }
    if windows.is_empty() {
        return Err("the ChatGPT backend's usage answer holds no window".to_string());
    }
    Ok((windows, body["plan_type"].as_str().map(str::to_string)))
}

fn api_window(
    w: &Value,
    now: DateTime<Utc>,
    key: Option<&str>,
    fallback: &str,
) -> Result<Option<(String, Window)>, String> {
    if !w.is_object() {
        return Ok(None);
    }
    let Some(used) = w["used_percent"].as_f64() else {
        return Ok(None);
    };
    let key = key
        .map(str::to_string)
        .unwrap_or_else(|| match w["limit_window_seconds"].as_i64() {
            Some(17_700..=18_300) => FIVE_HOUR.to_string(),
            Some(600_000..=609_600) => SEVEN_DAY.to_string(),
            Some(s) if s > 0 => format!("codex_{}", minutes_label(s / 60)),
            _ => fallback.to_string(),
        });
    let resets_at = match (w["reset_at"].as_i64(), w["reset_after_seconds"].as_i64()) {
        (Some(t), _) => Utc.timestamp_opt(t, 0).single(),
        (None, Some(s)) => Some((now + Duration::seconds(s)).trunc_subsecs(0)),
        _ => None,
    };
    let window = Window::checked(used, resets_at).map_err(|e| format!("{key}: {e}"))?;
    Ok(Some((key, window)))
}

/// `GPT-5.3-Codex-Spark` -> `gpt_5_3_codex_spark`: a key part of `[a-z0-9_]` only.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().take(crate::snapshot::MAX_NAME) {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

type Parsed = (DateTime<Utc>, BTreeMap<String, Window>, Option<String>);

/// The newest `token_count` line with rate limits in a log's tail. Lines that do not parse
/// (the tail's cut first line, a last line Codex is still writing) are skipped.
pub fn newest_reading(tail: &[u8]) -> Option<Result<Parsed, String>> {
    let text = String::from_utf8_lossy(tail);
    text.lines().rev().find_map(|line| {
        let v: Value = serde_json::from_str(line).ok()?;
        (v["type"] == "event_msg" && v["payload"]["type"] == "token_count").then_some(())?;
        let limits = v["payload"].get("rate_limits").filter(|l| l.is_object())?;
        Some(reading(&v, limits))
    })
}

fn reading(line: &Value, limits: &Value) -> Result<Parsed, String> {
    let at = line["timestamp"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or("a token_count line without a readable timestamp")?;
    let mut windows = BTreeMap::new();
    for (name, fallback) in [("primary", FIVE_HOUR), ("secondary", SEVEN_DAY)] {
        let w = &limits[name];
        if !w.is_object() {
            continue;
        }
        let key = match w["window_minutes"].as_i64() {
            // Codex has rounded its window lengths both ways (300 and 299 minutes).
            Some(295..=305) => FIVE_HOUR.to_string(),
            Some(10_000..=10_160) => SEVEN_DAY.to_string(),
            Some(m) if m > 0 => format!("codex_{}", minutes_label(m)),
            _ => fallback.to_string(),
        };
        let Some(used) = w["used_percent"].as_f64() else {
            continue;
        };
        let resets_at = match (w["resets_at"].as_i64(), w["resets_in_seconds"].as_i64()) {
            (Some(t), _) => Utc.timestamp_opt(t, 0).single(),
            // Whole seconds, like `resets_at` (and the history's times).
            (None, Some(s)) => Some((at + Duration::seconds(s)).trunc_subsecs(0)),
            _ => None,
        };
        let window = Window::checked(used, resets_at).map_err(|e| format!("{name}: {e}"))?;
        windows.insert(key, window);
    }
    if windows.is_empty() {
        return Err("a token_count line with no window quotaline can read".to_string());
    }
    let plan = limits["plan_type"].as_str().map(str::to_string);
    Ok((at, windows, plan))
}

/// A window length Codex may add as a key: `90m`, `2h`, `30d`.
fn minutes_label(m: i64) -> String {
    if m % 1440 == 0 {
        format!("{}d", m / 1440)
    } else if m % 60 == 0 {
        format!("{}h", m / 60)
    } else {
        format!("{m}m")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: &str = r#"{"timestamp":"2025-11-18T21:55:56.513Z","type":"event_msg","payload":{"type":"token_count","info":null,"rate_limits":{"primary":{"used_percent":7.0,"window_minutes":300,"resets_at":1763483205},"secondary":{"used_percent":77.0,"window_minutes":10080,"resets_at":1763606387},"plan_type":"plus"}}}"#;
    const IN: &str = r#"{"timestamp":"2025-10-01T10:00:00.000Z","type":"event_msg","payload":{"type":"token_count","info":null,"rate_limits":{"primary":{"used_percent":12.5,"window_minutes":299,"resets_in_seconds":600},"secondary":{"used_percent":40.0,"window_minutes":10079,"resets_in_seconds":86400}}}}"#;

    #[test]
    fn newest_token_count_line_wins_and_a_torn_last_line_is_skipped() {
        let tail = format!("{{\"cut\n{IN}\n{AT}\n{{\"timestamp\":\"2025-11-18T22");
        let (at, windows, _) = newest_reading(tail.as_bytes()).unwrap().unwrap();
        assert_eq!(at.to_rfc3339(), "2025-11-18T21:55:56.513+00:00");
        assert_eq!(windows[FIVE_HOUR].utilization, 7.0);
        assert_eq!(
            windows[FIVE_HOUR].resets_at.unwrap().timestamp(),
            1763483205
        );
        assert_eq!(windows[SEVEN_DAY].utilization, 77.0);
    }

    #[test]
    fn resets_in_seconds_counts_from_the_lines_timestamp() {
        let (_, windows, _) = newest_reading(IN.as_bytes()).unwrap().unwrap();
        // 299 and 10079 minutes are Codex's rounding of the 5-hour and weekly windows.
        assert_eq!(
            windows[FIVE_HOUR].resets_at.unwrap().to_rfc3339(),
            "2025-10-01T10:10:00+00:00"
        );
        assert_eq!(windows[SEVEN_DAY].utilization, 40.0);
        assert_eq!(minutes_label(90), "90m");
    }

    #[test]
    fn the_usage_body_has_both_windows_and_per_model_ones() {
        let body: Value =
            serde_json::from_str(include_str!("../../tests/fixtures/codex/wham_usage.json"))
                .unwrap();
        let now = Utc.timestamp_opt(1_791_000_000, 0).unwrap();
        let (windows, plan) = usage_body(&body, now).unwrap();
        assert_eq!(plan.as_deref(), Some("plus"));
        assert_eq!(
            windows.keys().collect::<Vec<_>>(),
            ["codex_5h", "codex_7d", "codex_gpt_5_3_codex_spark"]
        );
        assert_eq!(windows[FIVE_HOUR].utilization, 23.0);
        assert_eq!(
            windows[FIVE_HOUR].resets_at.unwrap().timestamp(),
            1791374400
        );
        assert_eq!(windows[SEVEN_DAY].utilization, 41.0);
        let spark = &windows["codex_gpt_5_3_codex_spark"];
        assert_eq!(spark.display_name.as_deref(), Some("GPT-5.3-Codex-Spark"));
        // Only a relative reset: counted from the answer's time.
        let relative = serde_json::json!({"rate_limit": {"primary_window":
            {"used_percent": 5, "limit_window_seconds": 18000, "reset_after_seconds": 600}}});
        let (windows, _) = usage_body(&relative, now).unwrap();
        assert_eq!(
            windows[FIVE_HOUR].resets_at.unwrap().timestamp(),
            1_791_000_600
        );
    }

    #[test]
    fn a_reading_makes_the_codex_org_stamped_with_its_time_and_source() {
        let (at, windows, plan) = newest_reading(AT.as_bytes()).unwrap().unwrap();
        let org = Reading {
            at,
            windows: windows.clone(),
            plan,
            source: SOURCE_LOG,
        }
        .org();
        assert_eq!(org.org_uuid, ORG);
        assert_eq!(org.provider(), "codex");
        assert_eq!(org.plan.as_deref(), Some("plus"));
        assert_eq!(org.windows, windows);
        assert_eq!(org.sources[part::USAGE].source, SOURCE_LOG);
        assert_eq!(org.read_at(), Some(at));
        assert_eq!(
            (org.email, org.extra_usage, org.subscription),
            (None, None, None)
        );
    }

    #[test]
    fn no_rate_limits_is_no_reading() {
        let line = r#"{"timestamp":"2025-11-18T21:55:56Z","type":"event_msg","payload":{"type":"token_count","info":null,"rate_limits":null}}"#;
        assert_eq!(newest_reading(line.as_bytes()), None);
    }
}
