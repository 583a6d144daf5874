//! Claude's own status, as its Statuspage (status.claude.com, `/api/v2/summary.json`) tells
//! it: the page's overall indicator and the incidents not yet resolved. When Claude itself is
//! down, the numbers are not the news and a failing refresh is not quotaline's fault: the
//! `{status}` placeholder, `status`, the bars' dropdowns and the `incident` event say so.
//! Plain data and its parser; the request is `source/status_page.rs`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The page is asked at most this often, and only within a refresh that runs anyway: it
/// changes when an incident is opened or updated, and nobody needs it to the second.
pub const EVERY_SECS: i64 = 5 * 60;

/// A reading older than this says nothing any more (the page could not be reached for half
/// an hour): an outage is never shown from a stale page, and neither is its end assumed.
pub const SHOWN_FOR_SECS: i64 = 30 * 60;

/// The page's indicators, mildest first, as Statuspage names them.
pub const INDICATORS: [&str; 5] = ["none", "maintenance", "minor", "major", "critical"];

/// The summary as quotaline keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClaudeStatus {
    /// One of [`INDICATORS`].
    pub indicator: String,
    /// The page's own words ("Partial System Outage").
    pub description: Option<String>,
    /// The incidents not yet resolved, as the page lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<Incident>,
    /// When quotaline read it.
    pub at: DateTime<Utc>,
}

/// One unresolved incident.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Statuspage's id: what tells one incident from another across readings.
    pub id: String,
    pub name: String,
    /// `investigating`, `identified`, `monitoring`.
    pub status: Option<String>,
    /// `none`, `minor`, `major`, `critical`.
    pub impact: Option<String>,
    /// The components it affects ("claude.ai", "Claude Code").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
    pub shortlink: Option<String>,
    /// When it started (`started_at`, else `created_at`).
    pub started_at: Option<DateTime<Utc>>,
}

/// What the cache keeps about the page: the last good reading, and the last try (a failure
/// is kept for `doctor` only: it never fails a refresh and is never shown as quotaline's).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusBook {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading: Option<ClaudeStatus>,
    /// When the page was last asked, successful or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tried: Option<DateTime<Utc>>,
    /// Why the last try gave nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl StatusBook {
    pub fn is_empty(&self) -> bool {
        *self == StatusBook::default()
    }

    /// Whether the page is due to be asked again at `now`.
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        self.tried
            .is_none_or(|t| t > now || (now - t).num_seconds() >= EVERY_SECS)
    }

    /// The reading, while it is recent enough to speak for now.
    pub fn current(&self, now: DateTime<Utc>) -> Option<&ClaudeStatus> {
        self.reading
            .as_ref()
            .filter(|r| (now - r.at).num_seconds() < SHOWN_FOR_SECS)
    }
}

impl ClaudeStatus {
    /// What `{status}` shows: nothing when all is operational, else the indicator in words.
    pub fn words(&self) -> Option<&'static str> {
        match self.indicator.as_str() {
            "minor" => Some("minor outage"),
            "major" => Some("major outage"),
            "critical" => Some("critical outage"),
            "maintenance" => Some("maintenance"),
            _ => None,
        }
    }
}

/// A string field, made safe to keep: no control characters, bounded (it is shown in
/// reports, dropdowns and notifications, where the renderers escape it once more).
fn text(v: &Value, key: &str) -> Option<String> {
    let s = v.get(key)?.as_str()?;
    let clean: String = s.chars().filter(|c| !c.is_control()).take(200).collect();
    Some(clean).filter(|s| !s.trim().is_empty())
}

fn time(v: &Value, key: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v.get(key)?.as_str()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// At most this many incidents are kept: a page listing more is not one to mirror.
const MAX_INCIDENTS: usize = 20;

/// Parses a summary body. An indicator that is not one of [`INDICATORS`] is an error, never
/// "operational": a renamed field must not hide an outage, nor invent one.
pub fn parse(body: &Value, at: DateTime<Utc>) -> Result<ClaudeStatus, String> {
    let status = body
        .get("status")
        .filter(|s| s.is_object())
        .ok_or("not a Statuspage summary: no `status` object")?;
    let indicator = status
        .get("indicator")
        .and_then(Value::as_str)
        .ok_or("not a Statuspage summary: no `status.indicator`")?;
    if !INDICATORS.contains(&indicator) {
        return Err(format!(
            "unknown status indicator {:?} (known: {})",
            indicator.chars().take(40).collect::<String>(),
            INDICATORS.join(", ")
        ));
    }
    let incidents = body
        .get("incidents")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter(|i| i.get("status").and_then(Value::as_str) != Some("resolved"))
                .filter_map(|i| {
                    Some(Incident {
                        id: text(i, "id")?,
                        name: text(i, "name")?,
                        status: text(i, "status"),
                        impact: text(i, "impact"),
                        components: i
                            .get("components")
                            .and_then(Value::as_array)
                            .map(|cs| cs.iter().filter_map(|c| text(c, "name")).take(10).collect())
                            .unwrap_or_default(),
                        shortlink: text(i, "shortlink"),
                        started_at: time(i, "started_at").or_else(|| time(i, "created_at")),
                    })
                })
                .take(MAX_INCIDENTS)
                .collect()
        })
        .unwrap_or_default();
    Ok(ClaudeStatus {
        indicator: indicator.to_string(),
        description: text(status, "description"),
        incidents,
        at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
    }

    #[test]
    fn operational_says_nothing_and_an_outage_says_its_size() {
        let body = serde_json::json!({
            "status": {"indicator": "none", "description": "All Systems Operational"},
            "incidents": []
        });
        let s = parse(&body, at()).unwrap();
        assert_eq!(s.words(), None);
        let body = serde_json::json!({
            "status": {"indicator": "major", "description": "Partial System Outage"},
            "incidents": [
                {"id": "abc", "name": "Elevated errors\n on Opus", "status": "identified",
                 "impact": "major", "components": [{"name": "claude.ai"}, {"name": "Claude Code"}],
                 "shortlink": "https://stspg.io/x", "created_at": "2026-11-22T11:40:00Z"},
                {"id": "old", "name": "Fixed", "status": "resolved", "impact": "minor"}
            ]
        });
        let s = parse(&body, at()).unwrap();
        assert_eq!(s.words(), Some("major outage"));
        assert_eq!(s.incidents.len(), 1, "resolved incidents are not kept");
        let i = &s.incidents[0];
        assert_eq!(i.name, "Elevated errors on Opus");
        assert_eq!(i.components, ["claude.ai", "Claude Code"]);
        assert_eq!(
            i.started_at,
            Some(Utc.with_ymd_and_hms(2026, 11, 22, 11, 40, 0).unwrap())
        );
    }

    #[test]
    fn an_unknown_indicator_or_shape_is_an_error_not_operational() {
        let err = parse(&serde_json::json!({"status": {"indicator": "down"}}), at()).unwrap_err();
        assert_eq!(
            err,
            "unknown status indicator \"down\" (known: none, maintenance, minor, major, critical)"
        );
        assert!(parse(&serde_json::json!({"page": {}}), at()).is_err());
    }

    #[test]
    fn the_page_is_asked_every_five_minutes_and_speaks_for_half_an_hour() {
        let mut book = StatusBook::default();
        assert!(book.due(at()));
        book.tried = Some(at());
        book.reading = Some(ClaudeStatus {
            indicator: "minor".into(),
            description: None,
            incidents: vec![],
            at: at(),
        });
        let later = |secs| at() + chrono::Duration::seconds(secs);
        assert!(!book.due(later(299)) && book.due(later(300)));
        assert!(book.current(later(1799)).is_some());
        assert!(book.current(later(1800)).is_none());
    }
}
