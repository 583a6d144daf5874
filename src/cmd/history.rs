//! `quotaline history [--window KEY] [--since 24h] [--json] [--org UUID]`: the recorded
//! readings, as a table with a sparkline and the number of times it hit 100% per window, or as
//! JSON lines for scripts. Reads the history and the cache; never fetches.

use crate::history::{self, Reading};
use crate::render::sanitize::Lines;
use crate::render::text;
use crate::settings;
use crate::snapshot::Snapshot;
use crate::window;
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;

pub struct Options {
    pub window: Option<String>,
    pub since: i64,
    pub json: bool,
    pub org: Option<String>,
}

/// Sparkline columns; each shows the highest reading of its slice of time.
const WIDTH: usize = 48;
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

pub fn run(o: Options) -> i32 {
    let cache = crate::settings::cache();
    let now = crate::clock::now();
    let snapshot = cache.read().snapshot;
    // The org the segment shows, unless asked otherwise; every org when nothing is cached.
    // Codex's windows (`--window codex_7d`) are in Codex's org whichever Claude org is shown.
    let codex_window =
        o.org.is_none() && o.window.as_deref().is_some_and(|w| w.starts_with("codex_"));
    let asked = if codex_window {
        Some(crate::snapshot::CODEX_ORG.to_string())
    } else {
        settings::org(o.org)
    };
    let org = asked.or_else(|| {
        snapshot
            .as_ref()
            .and_then(|s| s.org(None))
            .map(|org| org.org_uuid.clone())
    });
    let conn = match history::open_existing(&cache.dir) {
        None => {
            super::warn("no history yet (every refresh adds to it)");
            return 1;
        }
        Some(Err(e)) => {
            super::warn(&format!(
                "cannot read {}: {e}",
                cache.dir.join(history::FILE).display()
            ));
            return 1;
        }
        Some(Ok(c)) => c,
    };
    let since = now - Duration::seconds(o.since);
    let mut rows = match history::query(&conn, org.as_deref(), None, since) {
        Ok(rows) => rows,
        Err(e) => {
            super::warn(&format!("cannot read the history: {e}"));
            return 1;
        }
    };
    if let Some(name) = &o.window {
        let keys: Vec<String> = rows.iter().map(|r| r.window.clone()).collect();
        let Some(key) = window::resolve(keys.iter(), name).map(str::to_string) else {
            // The windows there are readings of, by the names every command shows.
            let names: Vec<String> = keys
                .iter()
                .map(|k| window::label(k, display_name(snapshot.as_ref(), org.as_deref(), k)))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let meant = crate::suggest::closest(name, names.iter().map(String::as_str))
                .map(|m| format!("did you mean `{m}`? "))
                .unwrap_or_default();
            let there = if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            };
            super::fail(
                &format!(
                    "no `{name}` readings in the last {}",
                    text::short_duration(o.since)
                ),
                Some(&format!("{meant}windows with readings: {there}")),
            );
            return 1;
        };
        rows.retain(|r| r.window == key);
    }
    if rows.is_empty() {
        super::warn(&format!(
            "no readings in the last {}",
            text::short_duration(o.since)
        ));
        return 1;
    }
    if o.json {
        rows.sort_by(|a, b| (a.at, &a.org_uuid, &a.window).cmp(&(b.at, &b.org_uuid, &b.window)));
        let lines: String = rows.iter().map(|r| format!("{}\n", json_line(r))).collect();
        super::out(&lines);
    } else {
        // A history without events (unreadable, say) has no hits to count, not zero of them.
        let hits = history::limit_hits(&conn, since).ok();
        super::show(&table(&rows, hits.as_ref(), snapshot.as_ref(), since, now));
    }
    0
}

/// The server's display name of window `key` in `org`, for its short name.
fn display_name<'a>(
    snapshot: Option<&'a Snapshot>,
    org: Option<&str>,
    key: &str,
) -> Option<&'a str> {
    snapshot?
        .org(org)?
        .windows
        .get(key)?
        .display_name
        .as_deref()
}

fn json_line(r: &Reading) -> serde_json::Value {
    serde_json::json!({
        "org_uuid": r.org_uuid,
        "window": r.window,
        "at": r.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "utilization": r.utilization,
        "resets_at": r.resets_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        "source": r.source,
    })
}

/// Per org, one line per window: readings, first and last value, current rate, the times it
/// hit 100% (`limit` events), sparkline.
fn table(
    rows: &[Reading],
    hits: Option<&BTreeMap<(String, String), usize>>,
    snapshot: Option<&Snapshot>,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Lines {
    let mut by_org: BTreeMap<&str, BTreeMap<&str, Vec<&Reading>>> = BTreeMap::new();
    for r in rows {
        by_org
            .entry(&r.org_uuid)
            .or_default()
            .entry(&r.window)
            .or_default()
            .push(r);
    }
    // Every sparkline shares one time scale: the period asked for (`--since`), so a column
    // is a slice of time (30 min of the default 24 h), and a few minutes of readings fill
    // one column at the right, not the whole width.
    let start = since;
    let mut out = Lines::new();
    for (uuid, windows) in by_org {
        let org = snapshot.and_then(|s| s.org(Some(uuid)));
        let name = org
            .and_then(|o| o.org_name.as_deref())
            .unwrap_or("(unknown org)");
        out.line(format!("{name} [{uuid}] · {} to now", text::clock(start)));
        out.line(format!(
            "  {:<22} {:>8} {:>5} {:>5} {:>7} {:>4}  {}",
            "WINDOW", "READINGS", "FIRST", "LAST", "RATE", "HITS", "HISTORY"
        ));
        for (key, readings) in windows {
            let rate = org
                .and_then(|o| o.pace.get(key))
                .and_then(|p| p.rate_per_hour)
                .map(text::rate_text)
                .unwrap_or_else(|| "–".into());
            let (first, last) = (readings[0], readings[readings.len() - 1]);
            let hit = hits
                .map(|h| {
                    let n = h.get(&(uuid.to_string(), key.to_string()));
                    n.copied().unwrap_or(0).to_string()
                })
                .unwrap_or_else(|| "–".into());
            let name = window::label(key, display_name(snapshot, Some(uuid), key));
            out.line(format!(
                "  {name:<22} {:>8} {:>5} {:>5} {rate:>7} {hit:>4}  {}",
                readings.len(),
                text::percent(first.utilization),
                text::percent(last.utilization),
                sparkline(&readings, start, now)
            ));
        }
    }
    out
}

/// The highest reading per column from `start` to `now`; a column with no reading is blank
/// (a gap), and a reset shows as a fall.
pub fn sparkline(readings: &[&Reading], start: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let total = (now - start).num_seconds().max(1) as f64;
    let mut columns: [Option<f64>; WIDTH] = [None; WIDTH];
    for r in readings {
        let offset = (r.at - start).num_seconds() as f64 / total;
        let i = ((offset * WIDTH as f64) as usize).min(WIDTH - 1);
        columns[i] = Some(columns[i].map_or(r.utilization, |u| u.max(r.utilization)));
    }
    columns
        .iter()
        .map(|c| match c {
            Some(u) => BARS[((u.clamp(0.0, 100.0) / 100.0) * 7.0).round() as usize],
            None => ' ',
        })
        .collect::<String>()
        .trim_end()
        .to_string()
}
