//! `quotaline history [--window KEY] [--since 24h] [--json] [--org UUID] [--account NAME|all]`:
//! the recorded readings, as a table with a sparkline and the number of times it hit 100% per
//! window, one block per org and account, or as JSON lines for scripts. Reads the history and
//! the cache; never fetches.

use crate::cache::CacheFile;
use crate::history::{self, Hits, Reading};
use crate::render::sanitize::Lines;
use crate::render::text;
use crate::settings;
use crate::snapshot::{Org, Snapshot};
use crate::window;
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;

pub struct Options {
    pub window: Option<String>,
    pub since: i64,
    pub json: bool,
    pub org: Option<String>,
    /// `--account NAME` (`quotaline accounts`), or `all`: every account, each its own block.
    pub account: Option<String>,
}

/// Sparkline columns; each shows the highest reading of its slice of time.
const WIDTH: usize = 48;
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Readings to show, as `history::query` filters them: (account as stored, '' for none known,
/// `None` for every account; org, `None` for every org).
type Subject = (Option<String>, Option<String>);

pub fn run(o: Options) -> i32 {
    let cache = crate::settings::cache();
    let now = crate::clock::now();
    let file = cache.read();
    let snapshot = file.snapshot.as_ref();
    let Some(subjects) = subjects(&o, &file) else {
        return 1;
    };
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
    let mut rows = Vec::new();
    for (account, org) in &subjects {
        match history::query(&conn, account.as_deref(), org.as_deref(), None, since) {
            Ok(found) => rows.extend(found),
            Err(e) => {
                super::warn(&format!("cannot read the history: {e}"));
                return 1;
            }
        }
    }
    if let Some(name) = &o.window {
        let keys: Vec<String> = rows.iter().map(|r| r.window.clone()).collect();
        let Some(key) = window::resolve(keys.iter(), name).map(str::to_string) else {
            // The windows there are readings of, by the names every command shows.
            let names: Vec<String> = rows
                .iter()
                .map(|r| window::label(&r.window, display_name(snapshot, &r.org_uuid, &r.window)))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let meant = crate::suggest::did_you_mean(name, names.iter().copied());
            let there = crate::suggest::listed(&names, "none");
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
        rows.sort_by(|a, b| {
            (a.at, &a.org_uuid, &a.account, &a.window).cmp(&(
                b.at,
                &b.org_uuid,
                &b.account,
                &b.window,
            ))
        });
        let lines: String = rows.iter().map(|r| format!("{}\n", json_line(r))).collect();
        super::out(&lines);
    } else {
        // A history without events (unreadable, say) has no hits to count, not zero of them.
        let hits = history::limit_hits(&conn, since).ok();
        super::show(&table(&rows, hits.as_ref(), &file, since, now));
    }
    0
}

/// Whose readings of which org to show; `None` when `--account` names no account (said).
///
/// `--account NAME` is that account's entry of the org asked for, else of the org it is shown
/// with (`Snapshot::account_org`, as `check --account`); `all` is every account so. An org
/// asked for (`--org`, `QUOTALINE_ORG`, `org`) with no account is every account's entry of
/// it. Neither: the account and org the segment shows (`settings::shown_account`, else the
/// default org's entry); every org when nothing is cached.
fn subjects(o: &Options, file: &CacheFile) -> Option<Vec<Subject>> {
    let snapshot = file.snapshot.as_ref();
    // An org uuid, or one account's entry of it as `snapshot::login_key` spells it.
    let split = |key: String| match key.split_once('/') {
        Some((account, org)) => (Some(account.to_string()), Some(org.to_string())),
        None => (None, Some(key)),
    };
    if let Some(asked) = &o.account {
        let named = settings::named_accounts(file).0;
        let names = snapshot
            .map(|s| s.account_names(&named))
            .unwrap_or_default();
        let chosen = super::chosen_accounts(asked, &names)?;
        let org = settings::org(o.org.clone()).and_then(|key| split(key).1);
        // `all` with no account known yet is the same as no `--account`.
        if !chosen.is_empty() {
            return Some(
                chosen
                    .into_iter()
                    .filter_map(|(name, uuid)| {
                        let shown = || Some(snapshot?.account_org(name, &named)?.org_uuid.clone());
                        Some((Some(uuid.to_string()), Some(org.clone().or_else(shown)?)))
                    })
                    .collect(),
            );
        }
    }
    // Codex's windows (`--window codex_7d`) are in Codex's org whichever Claude org is shown;
    // that org has no account.
    let codex_window =
        o.org.is_none() && o.window.as_deref().is_some_and(|w| w.starts_with("codex_"));
    if codex_window {
        return Some(vec![(None, Some(crate::snapshot::CODEX_ORG.to_string()))]);
    }
    if let Some(key) = settings::org(o.org.clone()) {
        return Some(vec![split(key)]);
    }
    if let Some(key) = settings::shown_account(file) {
        return Some(vec![split(key)]);
    }
    Some(vec![match snapshot.and_then(|s| s.org(None)) {
        Some(org) => (
            Some(org.account_uuid.clone().unwrap_or_default()),
            Some(org.org_uuid.clone()),
        ),
        None => (None, None),
    }])
}

/// The server's display name of window `key` in `org`, for its short name.
fn display_name<'a>(snapshot: Option<&'a Snapshot>, org: &str, key: &str) -> Option<&'a str> {
    snapshot?
        .org(Some(org))?
        .windows
        .get(key)?
        .display_name
        .as_deref()
}

/// One reading for scripts: keys and UTC times as `json` has them, and the account by its
/// uuid as `json`'s orgs name it (absent when not known, as there).
fn json_line(r: &Reading) -> serde_json::Value {
    let mut line = serde_json::json!({
        "org_uuid": r.org_uuid,
        "window": r.window,
        "at": r.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "utilization": r.utilization,
        "resets_at": r.resets_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        "source": r.source,
    });
    if let Some(account) = &r.account {
        line["account_uuid"] = account.clone().into();
    }
    line
}

/// Per org and account, one line per window: readings, first and last value, current rate,
/// the times it hit 100% (`limit` events), sparkline.
fn table(
    rows: &[Reading],
    hits: Option<&Hits>,
    file: &CacheFile,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Lines {
    let snapshot = file.snapshot.as_ref();
    type Block<'a> = BTreeMap<&'a str, Vec<&'a Reading>>;
    let mut blocks: BTreeMap<(&str, &Option<String>), Block> = BTreeMap::new();
    for r in rows {
        blocks
            .entry((&r.org_uuid, &r.account))
            .or_default()
            .entry(&r.window)
            .or_default()
            .push(r);
    }
    let names = snapshot
        .map(|s| s.account_names(&settings::named_accounts(file).0))
        .unwrap_or_default();
    // Every sparkline shares one time scale: the period asked for (`--since`), so a column
    // is a slice of time (30 min of the default 24 h), and a few minutes of readings fill
    // one column at the right, not the whole width.
    let mut out = Lines::new();
    for ((uuid, account), windows) in blocks {
        let name = snapshot
            .and_then(|s| s.org(Some(uuid)))
            .and_then(|o| o.org_name.as_deref())
            .unwrap_or("(unknown org)");
        // By the name `quotaline accounts` gives it; one the cache no longer holds by the
        // start of its uuid, as that list names an account without an email.
        let whose = account.as_deref().map(|a| {
            let known = names.iter().find(|(_, u)| *u == a).map(|(n, _)| n.clone());
            format!(
                " · account {}",
                known.unwrap_or_else(|| a.chars().take(8).collect())
            )
        });
        out.line(format!(
            "{name} [{uuid}]{} · {} to now",
            whose.unwrap_or_default(),
            text::clock(since)
        ));
        out.line(format!(
            "  {:<22} {:>8} {:>5} {:>5} {:>7} {:>4}  {}",
            "WINDOW", "READINGS", "FIRST", "LAST", "RATE", "HITS", "HISTORY"
        ));
        // The rate of this account's own entry of the org, never another login's.
        let entry: Option<&Org> = snapshot.and_then(|s| {
            s.orgs
                .iter()
                .find(|o| o.org_uuid == uuid && &o.account_uuid == account)
        });
        for (key, readings) in windows {
            let rate = entry
                .and_then(|o| o.pace.get(key))
                .and_then(|p| p.rate_per_hour)
                .map(text::rate_text)
                .unwrap_or_else(|| "–".into());
            let (first, last) = (readings[0], readings[readings.len() - 1]);
            let hit = hits
                .map(|h| {
                    let n = h.get(&(account.clone(), uuid.to_string(), key.to_string()));
                    n.copied().unwrap_or(0).to_string()
                })
                .unwrap_or_else(|| "–".into());
            let name = window::label(key, display_name(snapshot, uuid, key));
            out.line(format!(
                "  {name:<22} {:>8} {:>5} {:>5} {rate:>7} {hit:>4}  {}",
                readings.len(),
                text::percent(first.utilization),
                text::percent(last.utilization),
                sparkline(&readings, since, now)
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
