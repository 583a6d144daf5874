//! The history of readings, and what it says about each window: the burn rate (the change of
//! the server's own utilization over time; never tokens), the ETA to 100%, and the pace.
//!
//! Only the refresh path writes it (`$QUOTALINE_CACHE_DIR/history.db`, SQLite in WAL mode,
//! short transactions, a busy timeout for concurrent writers). The results are stored in the
//! snapshot (`Org::pace`) in the same cache update, so the prompt path never opens it.
//! History is a convenience: a corrupt file is moved aside and rebuilt, a locked one is
//! skipped for this refresh, and neither ever fails a refresh.
//!
//! Schema (`PRAGMA user_version = 1`), times in Unix seconds:
//!
//! ```sql
//! CREATE TABLE readings (
//!     org_uuid    TEXT    NOT NULL,
//!     window      TEXT    NOT NULL,  -- window key: five_hour, seven_day, seven_day_opus...
//!     at          INTEGER NOT NULL,  -- when the reading was taken (its provenance time)
//!     utilization REAL    NOT NULL,  -- percent, exactly as the server sent it
//!     resets_at   INTEGER,           -- the window's reset time then; NULL when none was sent
//!     source      TEXT    NOT NULL,  -- claude.ai, ...
//!     PRIMARY KEY (org_uuid, window, at)
//! ) WITHOUT ROWID;
//! ```

use crate::snapshot::{Pace, Snapshot, Window};
use chrono::{DateTime, Duration, SubsecRound, TimeZone, Utc};
use rusqlite::{params, Connection, ErrorCode, OpenFlags, TransactionBehavior};
use std::fs::{self, OpenOptions};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub const FILE: &str = "history.db";
const SCHEMA_VERSION: i64 = 1;
const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS readings (
        org_uuid    TEXT    NOT NULL,
        window      TEXT    NOT NULL,
        at          INTEGER NOT NULL,
        utilization REAL    NOT NULL,
        resets_at   INTEGER,
        source      TEXT    NOT NULL,
        PRIMARY KEY (org_uuid, window, at)
    ) WITHOUT ROWID;
    PRAGMA user_version = 1;
";
/// A writer waits this long for another one; refreshes and statusLine merges write a few
/// rows each, so anything longer means something else holds the file, and history waits.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(1500);
/// Readings older than this are deleted.
const KEEP_DAYS: i64 = 14;
/// Readings older than this are thinned to one per `THIN_BUCKET_SECS`: enough for a weekly
/// sparkline, and the file stays bounded (about 3,300 rows per window at most).
const FULL_DETAIL_HOURS: i64 = 24;
const THIN_BUCKET_SECS: i64 = 600;
/// A rate below this (percentage points per hour) is "not burning": no ETA.
const MIN_RATE: f64 = 0.1;
/// A fall of more than this many points within one period is a reset (the server has reset
/// everyone's limits without moving `resets_at` before); smaller falls are lag.
const RESET_DROP: f64 = 5.0;
/// Two readings belong to the same reset period when their `resets_at` differ by at most
/// this (the server's fraction of a second jitters; real periods are hours apart).
const SAME_RESET: i64 = 10 * 60;

/// One window's utilization at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    pub org_uuid: String,
    pub window: String,
    pub at: DateTime<Utc>,
    pub utilization: f64,
    pub resets_at: Option<DateTime<Utc>>,
    pub source: String,
}

/// How a window is measured: its length (for the pace) and the span the rate looks back on.
struct Spec {
    length: Option<Duration>,
    /// Recent enough to follow a change of pace, long enough to smooth whole-percent steps:
    /// an hour of a five-hour window, a day of a weekly one (a day also evens out sleep).
    span: Duration,
}

fn spec(key: &str) -> Spec {
    match key {
        "five_hour" => Spec {
            length: Some(Duration::hours(5)),
            span: Duration::minutes(60),
        },
        k if k == "seven_day" || k.starts_with("seven_day_") => Spec {
            length: Some(Duration::days(7)),
            span: Duration::hours(24),
        },
        _ => Spec {
            length: None,
            span: Duration::minutes(60),
        },
    }
}

/// The readings a snapshot carries: one per org and window, at the time its usage part was
/// fetched.
pub fn readings(snapshot: &Snapshot) -> Vec<Reading> {
    let mut out = Vec::new();
    for org in &snapshot.orgs {
        let (at, source) = match org.sources.get("usage") {
            Some(p) => (p.at, p.source.clone()),
            None => (snapshot.fetched_at, snapshot.source.clone()),
        };
        // Whole seconds, as stored, so the reading in hand matches its stored copy.
        let at = at.trunc_subsecs(0);
        for (key, w) in &org.windows {
            out.push(Reading {
                org_uuid: org.org_uuid.clone(),
                window: key.clone(),
                at,
                utilization: w.utilization,
                resets_at: w.resets_at,
                source: source.clone(),
            });
        }
    }
    out
}

/// The refresh hook: records the snapshot's readings and sets every org's `pace` from the
/// history. Never fails: without a usable history, only the pace (which needs none) is set.
pub fn annotate(dir: &Path, snapshot: &mut Snapshot, now: DateTime<Utc>) {
    let new = readings(snapshot);
    let past = record(dir, &new, now);
    for org in &mut snapshot.orgs {
        org.pace = org
            .windows
            .iter()
            .map(|(key, w)| {
                let points: Vec<Point> = past
                    .iter()
                    .filter(|r| r.org_uuid == org.org_uuid && &r.window == key)
                    .map(Point::from)
                    .collect();
                (key.clone(), analyze(key, w, &points, now))
            })
            .collect();
    }
}

/// Appends `new`, prunes, and returns the recent history of the same org/windows (`new`
/// included even when it could not be written). Best effort: see the module comment.
pub fn record(dir: &Path, new: &[Reading], now: DateTime<Utc>) -> Vec<Reading> {
    let path = dir.join(FILE);
    let mut conn = match open(&path) {
        Ok(c) => Some(c),
        Err(e) if is_corrupt(&e) => rebuild(&path),
        Err(_) => None,
    };
    if let Some(c) = conn.as_mut() {
        if let Err(e) = write(c, new, now) {
            if is_corrupt(&e) {
                conn = rebuild(&path);
                if let Some(c) = conn.as_mut() {
                    let _ = write(c, new, now);
                }
            }
        }
    }
    let mut past = conn
        .as_ref()
        .and_then(|c| recent(c, new, now).ok())
        .unwrap_or_default();
    let stored: std::collections::HashSet<(String, String, DateTime<Utc>)> = past
        .iter()
        .map(|p| (p.org_uuid.clone(), p.window.clone(), p.at))
        .collect();
    for r in new {
        if !stored.contains(&(r.org_uuid.clone(), r.window.clone(), r.at)) {
            past.push(r.clone());
        }
    }
    past
}

fn is_corrupt(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if matches!(f.code, ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt))
}

/// Moves a corrupt file aside (`history.db.corrupt`, replacing an older one) and starts over.
fn rebuild(path: &Path) -> Option<Connection> {
    let aside = sibling(path, ".corrupt");
    fs::rename(path, &aside).ok()?;
    for suffix in ["-wal", "-shm"] {
        let _ = fs::remove_file(sibling(path, suffix));
    }
    open(path).ok()
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Opens (creating, 0600) the history for writing.
fn open(path: &Path) -> rusqlite::Result<Connection> {
    if let Some(dir) = path.parent() {
        let _ = crate::cache::Cache {
            dir: dir.to_path_buf(),
        }
        .ensure_dir();
    }
    // Create the file ourselves so it is private from the first byte; SQLite gives its
    // -wal and -shm files the same mode.
    if let Ok(f) = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
    {
        let _ = f.set_permissions(fs::Permissions::from_mode(0o600));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version != SCHEMA_VERSION {
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        debug_assert!(!mode.is_empty());
        conn.execute_batch(SCHEMA)?;
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // Claude Code's statusLine writes here too, and a status line must stay small: a
    // refresh touches a few pages, so SQLite's default 2 MiB page cache only costs memory.
    conn.pragma_update(None, "cache_size", -128)?;
    Ok(conn)
}

/// Opens an existing history to read (`quotaline history`); `None` when there is none.
pub fn open_existing(dir: &Path) -> Option<rusqlite::Result<Connection>> {
    let path = dir.join(FILE);
    if !path.is_file() {
        return None;
    }
    Some(
        Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .and_then(|c| c.busy_timeout(BUSY_TIMEOUT).map(|_| c)),
    )
}

fn secs(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

fn time(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
}

fn write(conn: &mut Connection, new: &[Reading], now: DateTime<Utc>) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT OR REPLACE INTO readings (org_uuid, window, at, utilization, resets_at, source)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for r in new {
            insert.execute(params![
                r.org_uuid,
                r.window,
                secs(r.at),
                r.utilization,
                r.resets_at.map(secs),
                r.source
            ])?;
        }
    }
    let now = secs(now);
    // Readings from a clock that ran far ahead would otherwise stay "latest" for days.
    tx.execute(
        "DELETE FROM readings WHERE at < ?1 OR at > ?2",
        params![now - KEEP_DAYS * 86_400, now + 3_600],
    )?;
    let detail = now - FULL_DETAIL_HOURS * 3_600;
    // Keeps the first reading of each bucket; a correlated search on the primary key, so
    // the cost grows with the rows, not their square.
    tx.execute(
        "DELETE FROM readings AS r WHERE at < ?1 AND EXISTS (
             SELECT 1 FROM readings e
             WHERE e.org_uuid = r.org_uuid AND e.window = r.window
               AND e.at >= r.at - r.at % ?2 AND e.at < r.at)",
        params![detail, THIN_BUCKET_SECS],
    )?;
    tx.commit()
}

/// The readings of `new`'s org/windows recent enough to matter for their analysis.
fn recent(
    conn: &Connection,
    new: &[Reading],
    now: DateTime<Utc>,
) -> rusqlite::Result<Vec<Reading>> {
    let pairs: std::collections::BTreeSet<(&str, &str)> = new
        .iter()
        .map(|r| (r.org_uuid.as_str(), r.window.as_str()))
        .collect();
    let mut out = Vec::new();
    for (org, window) in pairs {
        // Twice the span: the span itself, and the highest level before it (lag at its start).
        let back = spec(window).span * 2;
        out.extend(query(conn, Some(org), Some(window), now - back)?);
    }
    Ok(out)
}

/// Readings since `since`, optionally of one org and one window, ordered by org, window, time.
pub fn query(
    conn: &Connection,
    org: Option<&str>,
    window: Option<&str>,
    since: DateTime<Utc>,
) -> rusqlite::Result<Vec<Reading>> {
    let mut stmt = conn.prepare_cached(
        "SELECT org_uuid, window, at, utilization, resets_at, source FROM readings
         WHERE (?1 IS NULL OR org_uuid = ?1) AND (?2 IS NULL OR window = ?2) AND at >= ?3
         ORDER BY org_uuid, window, at",
    )?;
    let rows = stmt.query_map(params![org, window, secs(since)], |row| {
        Ok(Reading {
            org_uuid: row.get(0)?,
            window: row.get(1)?,
            at: time(row.get(2)?),
            utilization: row.get(3)?,
            resets_at: row.get::<_, Option<i64>>(4)?.map(time),
            source: row.get(5)?,
        })
    })?;
    rows.collect()
}

/// One reading of one window, as the analysis sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub at: DateTime<Utc>,
    pub utilization: f64,
    pub resets_at: Option<DateTime<Utc>>,
}

impl From<&Reading> for Point {
    fn from(r: &Reading) -> Point {
        Point {
            at: r.at,
            utilization: r.utilization,
            resets_at: r.resets_at,
        }
    }
}

fn same_period(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).num_seconds().abs() <= SAME_RESET,
        (None, None) => true,
        _ => false,
    }
}

/// Rate, ETA and pace of window `key` (currently `current`) from its history `points` (any
/// order, the current reading included or not).
///
/// The rate is the rise of the running maximum over the span, first to last reading: within
/// a period the server's number only grows, so a dip is lag and the maximum is the truth;
/// the average rise does not depend on how often readings were taken (a burst of refreshes
/// weighs nothing extra). Readings from another period (another `resets_at`, or before a
/// fall of more than `RESET_DROP` points) and readings stamped after `now` (a clock that
/// was ahead) are left out. At least a quarter of the span must be covered.
pub fn analyze(key: &str, current: &Window, points: &[Point], now: DateTime<Utc>) -> Pace {
    let spec = spec(key);
    let mut pace = Pace::default();
    if let (Some(length), Some(reset)) = (spec.length, current.resets_at) {
        let elapsed = (now - (reset - length)).num_seconds() as f64;
        let expected = (elapsed / length.num_seconds() as f64).clamp(0.0, 1.0) * 100.0;
        pace.expected = Some(expected);
        pace.delta = Some(current.utilization - expected);
    }

    let mut period: Vec<Point> = points
        .iter()
        .filter(|p| p.at <= now && same_period(p.resets_at, current.resets_at))
        .copied()
        .collect();
    period.sort_by_key(|p| p.at);
    // Running maximum; a large fall starts the period over.
    let mut envelope: Vec<(DateTime<Utc>, f64)> = Vec::new();
    for p in period {
        match envelope.last() {
            Some(&(_, max)) if p.utilization < max - RESET_DROP => {
                envelope.clear();
                envelope.push((p.at, p.utilization));
            }
            Some(&(_, max)) => envelope.push((p.at, p.utilization.max(max))),
            None => envelope.push((p.at, p.utilization)),
        }
    }
    let Some(&(last_at, level)) = envelope.last() else {
        return pace;
    };
    if level >= 100.0 {
        pace.eta = Some(last_at);
    }
    let first = envelope.iter().find(|(at, _)| *at >= last_at - spec.span);
    if let Some(&(first_at, first_level)) = first {
        let covered = last_at - first_at;
        if covered >= spec.span / 4 && covered > Duration::zero() {
            let rate = (level - first_level) / (covered.num_seconds() as f64 / 3_600.0);
            pace.rate_per_hour = Some(rate);
            if level < 100.0 && rate >= MIN_RATE {
                let hours = (100.0 - level) / rate;
                pace.eta = Some(last_at + Duration::seconds((hours * 3_600.0).round() as i64));
            }
        }
    }
    pace.hits_before_reset = match (pace.eta, current.resets_at) {
        (Some(eta), Some(reset)) => Some(eta <= reset),
        _ => None,
    };
    pace
}

/// Resolves a name as templates and `--window` use it (`5h`, `7d`, `opus`, or a key) to a
/// window key among `keys`.
pub fn window_key<'a>(
    keys: impl Iterator<Item = &'a String> + Clone,
    name: &str,
) -> Option<&'a str> {
    let key = match name {
        "5h" => "five_hour",
        "7d" => "seven_day",
        other => other,
    };
    let model = format!("seven_day_{key}");
    keys.clone()
        .find(|k| k.as_str() == key)
        .or_else(|| keys.clone().find(|k| **k == model))
        .map(String::as_str)
}

/// `30m`, `24h`, `7d`, `90s`, `1h30m`. A bare number is refused: `30` could mean either.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let bad = || format!("`{s}` is not a duration (e.g. 30m, 24h, 7d, 1h30m)");
    let s = s.trim();
    if s.is_empty() {
        return Err(bad());
    }
    let mut total: i64 = 0;
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(bad()),
        };
        let n: i64 = digits.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(bad());
    }
    Ok(total)
}

/// A burn rate as shown: `12%/h`, `0.8%/h`.
pub fn rate_text(rate: f64) -> String {
    if rate < 9.95 {
        format!("{rate:.1}%/h")
    } else {
        format!("{}%/h", rate.round() as i64)
    }
}

/// Ahead of or behind pace: `+12%`, `-5%`, `±0%`.
pub fn delta_text(delta: f64) -> String {
    match delta.round() as i64 {
        0 => "±0%".to_string(),
        n if n > 0 => format!("+{n}%"),
        n => format!("{n}%"),
    }
}

/// One window's outlook as `status` shows it:
/// `burning 12%/h · 100% in 1h12m, before the reset · pace +5% (steady: 32%)`.
pub fn pace_text(pace: &Pace, now: DateTime<Utc>) -> String {
    let mut parts = Vec::new();
    match pace.rate_per_hour {
        None => parts.push("burn rate: not enough history yet".to_string()),
        Some(r) if r < MIN_RATE => parts.push("not burning".to_string()),
        Some(r) => parts.push(format!("burning {}", rate_text(r))),
    }
    if let Some(eta) = pace.eta {
        let secs = (eta - now).num_seconds();
        let when = if secs <= 0 {
            "at 100% now".to_string()
        } else {
            format!("100% in {}", crate::render::text::short_duration(secs))
        };
        parts.push(match pace.hits_before_reset {
            Some(true) => format!("{when}, before the reset"),
            Some(false) => format!("{when}, after the reset"),
            None => when,
        });
    }
    if let (Some(delta), Some(expected)) = (pace.delta, pace.expected) {
        parts.push(format!(
            "pace {} (steady: {})",
            delta_text(delta),
            crate::render::text::percent(expected)
        ));
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-22 12:00 UTC plus `mins` minutes.
    fn t(mins: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap() + Duration::minutes(mins)
    }

    fn window(utilization: f64, reset_min: i64) -> Window {
        Window {
            utilization,
            resets_at: Some(t(reset_min)),
        }
    }

    fn pts(reset_min: i64, series: &[(i64, f64)]) -> Vec<Point> {
        series
            .iter()
            .map(|&(m, u)| Point {
                at: t(m),
                utilization: u,
                resets_at: Some(t(reset_min)),
            })
            .collect()
    }

    fn approx(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-6)
    }

    #[test]
    fn steady_burn_gives_rate_eta_and_pace() {
        // 10 points per hour since 60 minutes ago: 30% -> 40%, reset in 2h.
        let series: Vec<(i64, f64)> = (0..=6)
            .map(|i| (i * 10, 30.0 + i as f64 * 10.0 / 6.0))
            .collect();
        let now = t(60);
        let pace = analyze("five_hour", &window(40.0, 180), &pts(180, &series), now);
        assert!(approx(pace.rate_per_hour, 10.0), "{pace:?}");
        assert_eq!(pace.eta, Some(t(60 + 360)));
        assert_eq!(pace.hits_before_reset, Some(false));
        // The window began at t(-120): 3 of 5 hours elapsed -> a steady user is at 60%.
        assert!(approx(pace.expected, 60.0));
        assert!(approx(pace.delta, -20.0));
    }

    #[test]
    fn fast_burn_hits_before_the_reset() {
        let pace = analyze(
            "five_hour",
            &window(80.0, 240),
            &pts(240, &[(0, 50.0), (30, 65.0), (60, 80.0)]),
            t(60),
        );
        assert!(approx(pace.rate_per_hour, 30.0));
        assert_eq!(pace.eta, Some(t(100)));
        assert_eq!(pace.hits_before_reset, Some(true));
    }

    #[test]
    fn a_burst_of_readings_weighs_nothing_extra() {
        // Steady 12%/h sampled every 10 minutes, then 30 readings within the last minute
        // all at the same level: the rate is the hour's rise, not the burst's flat line.
        let mut series: Vec<(i64, f64)> =
            (0..=5).map(|i| (i * 10, 20.0 + 2.0 * i as f64)).collect();
        series.extend((0..30).map(|_| (60, 32.0)));
        let pace = analyze("five_hour", &window(32.0, 200), &pts(200, &series), t(60));
        assert!(approx(pace.rate_per_hour, 12.0), "{pace:?}");
    }

    #[test]
    fn a_sudden_burst_raises_the_rate_over_the_span() {
        // Flat for 50 minutes, then +20 points in 10: the hour's rate is 20%/h.
        let pace = analyze(
            "five_hour",
            &window(60.0, 200),
            &pts(
                200,
                &[(0, 40.0), (25, 40.0), (50, 40.0), (55, 50.0), (60, 60.0)],
            ),
            t(60),
        );
        assert!(approx(pace.rate_per_hour, 20.0), "{pace:?}");
        assert_eq!(pace.eta, Some(t(60 + 120)));
    }

    #[test]
    fn a_reset_mid_history_starts_a_new_period() {
        // The old period climbed fast to 95%; the new one (resets 5h later) rises 6%/h.
        let mut points = pts(0, &[(-60, 60.0), (-30, 80.0), (-1, 95.0)]);
        points.extend(pts(300, &[(0, 0.0), (10, 1.0), (20, 2.0)]));
        let pace = analyze("five_hour", &window(2.0, 300), &points, t(20));
        assert!(approx(pace.rate_per_hour, 6.0), "{pace:?}");
        assert_eq!(pace.hits_before_reset, Some(false));
    }

    #[test]
    fn a_large_fall_without_a_new_reset_time_is_a_reset() {
        let pace = analyze(
            "five_hour",
            &window(3.0, 200),
            &pts(
                200,
                &[(0, 70.0), (30, 80.0), (35, 0.0), (50, 1.0), (60, 3.0)],
            ),
            t(60),
        );
        // 3 points in the 25 minutes since the fall.
        assert!(approx(pace.rate_per_hour, 7.2), "{pace:?}");
    }

    #[test]
    fn clock_skew_out_of_order_and_future_readings_are_handled() {
        // Stored out of order; one reading stamped two hours ahead with a wild value.
        let mut points = pts(200, &[(60, 40.0), (0, 30.0), (30, 35.0)]);
        points.extend(pts(200, &[(180, 99.0)]));
        let pace = analyze("five_hour", &window(40.0, 200), &points, t(60));
        assert!(approx(pace.rate_per_hour, 10.0), "{pace:?}");
        assert_eq!(pace.eta, Some(t(60 + 360)));
    }

    #[test]
    fn reset_time_jitter_stays_one_period() {
        let mut points = pts(200, &[(0, 30.0)]);
        points[0].resets_at = Some(t(200) + Duration::milliseconds(512));
        points.extend(pts(200, &[(60, 40.0)]));
        let pace = analyze("five_hour", &window(40.0, 200), &points, t(60));
        assert!(approx(pace.rate_per_hour, 10.0));
    }

    #[test]
    fn decreasing_values_within_a_period_are_lag_not_negative_rate() {
        let pace = analyze(
            "five_hour",
            &window(41.0, 200),
            &pts(200, &[(0, 40.0), (20, 44.0), (40, 42.0), (60, 41.0)]),
            t(60),
        );
        assert!(approx(pace.rate_per_hour, 4.0), "{pace:?}");
        // From the highest level the server said (44%), at 4%/h.
        assert_eq!(pace.eta, Some(t(60 + 14 * 60)));
    }

    #[test]
    fn zero_rate_has_no_eta() {
        let pace = analyze(
            "five_hour",
            &window(40.0, 200),
            &pts(200, &[(0, 40.0), (30, 40.0), (60, 40.0)]),
            t(60),
        );
        assert_eq!(pace.rate_per_hour, Some(0.0));
        assert_eq!(pace.eta, None);
        assert_eq!(pace.hits_before_reset, None);
    }

    #[test]
    fn too_little_history_has_no_rate_but_still_a_pace() {
        // One reading; then two readings 5 minutes apart (a quarter of the hour is needed).
        for series in [&[(60, 40.0)][..], &[(55, 38.0), (60, 40.0)][..]] {
            let pace = analyze("five_hour", &window(40.0, 200), &pts(200, series), t(60));
            assert_eq!((pace.rate_per_hour, pace.eta), (None, None), "{series:?}");
            assert!(pace.expected.is_some());
        }
        let empty = analyze("five_hour", &window(40.0, 200), &[], t(60));
        assert_eq!(empty.rate_per_hour, None);
    }

    #[test]
    fn a_gap_longer_than_the_span_is_not_enough_history() {
        // Laptop asleep for three hours: the old reading is outside the hour.
        let pace = analyze(
            "five_hour",
            &window(40.0, 400),
            &pts(400, &[(0, 20.0), (180, 40.0)]),
            t(180),
        );
        assert_eq!(pace.rate_per_hour, None);
        // Within the span, a gap is simply averaged over.
        let pace = analyze(
            "five_hour",
            &window(40.0, 400),
            &pts(400, &[(120, 30.0), (180, 40.0)]),
            t(180),
        );
        assert!(approx(pace.rate_per_hour, 10.0));
    }

    #[test]
    fn weekly_windows_use_a_day_and_seven_day_pace() {
        // Day 3 of 7 -> 3/7 of the week elapsed.
        let reset = 4 * 24 * 60;
        let pace = analyze(
            "seven_day_opus",
            &window(50.0, reset),
            &pts(reset, &[(-24 * 60, 26.0), (-12 * 60, 38.0), (0, 50.0)]),
            t(0),
        );
        assert!(approx(pace.rate_per_hour, 1.0));
        assert!(approx(pace.expected, 300.0 / 7.0));
        assert_eq!(pace.eta, Some(t(50 * 60)));
        assert_eq!(pace.hits_before_reset, Some(true));
    }

    #[test]
    fn already_at_the_limit_is_now() {
        let pace = analyze(
            "five_hour",
            &window(100.0, 200),
            &pts(200, &[(0, 90.0), (60, 100.0)]),
            t(60),
        );
        assert_eq!(pace.eta, Some(t(60)));
        assert_eq!(pace.hits_before_reset, Some(true));
    }

    #[test]
    fn unknown_windows_and_missing_reset_times_have_no_pace() {
        let w = Window {
            utilization: 12.0,
            resets_at: None,
        };
        let points: Vec<Point> = [(0, 10.0), (60, 12.0)]
            .iter()
            .map(|&(m, u)| Point {
                at: t(m),
                utilization: u,
                resets_at: None,
            })
            .collect();
        let pace = analyze("seven_day_oauth_apps", &w, &points, t(60));
        assert_eq!(
            (pace.expected, pace.delta, pace.hits_before_reset),
            (None, None, None)
        );
        let pace = analyze("iguana", &w, &points, t(60));
        assert!(approx(pace.rate_per_hour, 2.0));
        assert_eq!(pace.expected, None);
    }

    #[test]
    fn durations_and_texts() {
        assert_eq!(parse_duration("30m"), Ok(1_800));
        assert_eq!(parse_duration("1h30m"), Ok(5_400));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert_eq!(parse_duration("90s"), Ok(90));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("3x").is_err());
        assert!(parse_duration("h").is_err());
        assert_eq!(rate_text(12.4), "12%/h");
        assert_eq!(rate_text(0.84), "0.8%/h");
        assert_eq!(delta_text(12.4), "+12%");
        assert_eq!(delta_text(-4.6), "-5%");
        assert_eq!(delta_text(-0.4), "±0%");
    }

    fn reading(at: i64, u: f64) -> Reading {
        Reading {
            org_uuid: "org".into(),
            window: "five_hour".into(),
            at: t(at),
            utilization: u,
            resets_at: Some(t(300)),
            source: "claude.ai".into(),
        }
    }

    #[test]
    fn records_prunes_and_rebuilds_a_corrupt_file() {
        let dir = tempfile::tempdir().unwrap();
        for m in 0..3 {
            let past = record(dir.path(), &[reading(m * 10, 10.0 + m as f64)], t(m * 10));
            assert_eq!(past.len(), m as usize + 1);
        }
        let path = dir.path().join(FILE);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // 15 days later: everything older than 14 days is gone.
        let later = t(15 * 24 * 60);
        let past = record(dir.path(), &[reading(15 * 24 * 60, 1.0)], later);
        assert_eq!(past.len(), 1);
        let conn = open(&path).unwrap();
        assert_eq!(query(&conn, None, None, t(-1)).unwrap().len(), 1);
        drop(conn);

        fs::write(&path, b"this is not a database, just garbage bytes").unwrap();
        let past = record(dir.path(), &[reading(0, 5.0)], t(0));
        assert_eq!(past, vec![reading(0, 5.0)]);
        assert!(dir.path().join("history.db.corrupt").is_file());
        let conn = open(&path).unwrap();
        assert_eq!(
            query(&conn, None, None, t(-1)).unwrap(),
            vec![reading(0, 5.0)]
        );
    }

    #[test]
    fn old_readings_are_thinned_to_one_per_ten_minutes() {
        let dir = tempfile::tempdir().unwrap();
        let minutes: Vec<Reading> = (0..60).map(|m| reading(m, m as f64)).collect();
        record(dir.path(), &minutes, t(60));
        // Two days later the hour is thinned: the first reading of each 10-minute bucket.
        record(dir.path(), &[], t(2 * 24 * 60));
        let conn = open(&dir.path().join(FILE)).unwrap();
        let kept: Vec<f64> = query(&conn, None, None, t(-1))
            .unwrap()
            .iter()
            .map(|r| r.utilization)
            .collect();
        assert_eq!(kept, [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]);
    }
}
