//! The history of readings (SQLite storage), from which `pace.rs` works out each window's
//! burn rate, ETA and pace.
//!
//! Every reading that enters through `ingest.rs` is written here (a refresh, Claude Code's
//! statusLine stdin, the browser extension): `$QUOTALINE_CACHE_DIR/history.db`, SQLite in
//! WAL mode, short transactions, a busy timeout for concurrent writers. The results are
//! stored in the snapshot (`Org::pace`) in the same cache update, so the prompt path never
//! opens it. History is a convenience: a corrupt file is moved aside and rebuilt, a locked
//! one is skipped for this reading, and neither ever fails an ingest.
//!
//! It is also the memory of record for events (`events.rs`): every event that fired is
//! kept here, so none repeats in its period even when the cache is lost.
//!
//! Schema (`PRAGMA user_version = 3`; version 1 had no `events`, version 2 keyed readings by
//! org alone), times in Unix seconds:
//!
//! ```sql
//! CREATE TABLE readings (
//!     account_uuid TEXT    NOT NULL DEFAULT '',  -- the Claude account (`Org::account_uuid`);
//!                                                -- '' when not known (before accounts, Codex)
//!     org_uuid     TEXT    NOT NULL,
//!     window       TEXT    NOT NULL,  -- window key: five_hour, seven_day, seven_day_opus...
//!     at           INTEGER NOT NULL,  -- when the reading was taken (its provenance time)
//!     utilization  REAL    NOT NULL,  -- percent, exactly as the server sent it
//!     resets_at    INTEGER,           -- the window's reset time then; NULL when none was sent
//!     source       TEXT    NOT NULL,  -- claude.ai, ...
//!     PRIMARY KEY (account_uuid, org_uuid, window, at)
//! ) WITHOUT ROWID;
//! CREATE TABLE events (
//!     at       INTEGER NOT NULL,  -- when it fired
//!     kind     TEXT    NOT NULL,  -- threshold, eta, limit, reset, extra, failing
//!     level    TEXT,              -- warn or crit; the cause of extra and failing
//!     org_uuid TEXT    NOT NULL,
//!     window   TEXT,              -- the window key of window events
//!     period   INTEGER,           -- the period it fires once in (events.rs)
//!     message  TEXT    NOT NULL,
//!     event    TEXT    NOT NULL   -- the whole event as JSON, as the hook got it (its
//!                                 -- `account` too: `limit_hits` reads it there)
//! );
//! ```
//!
//! Two logins in one Team org each have their own numbers, so a reading is one account's
//! (`Reading::account`), and pace never mixes two accounts' readings. Readings stored before
//! accounts ('') are taken over by the first account that writes readings of their org, as
//! the cache's entries are (`Snapshot::login_org`): an upgrade keeps its history and its pace.

use crate::event::Event;
use crate::snapshot::{part, Snapshot};
use crate::window;
use chrono::{DateTime, SubsecRound, TimeZone, Utc};
use rusqlite::{params, Connection, ErrorCode, OpenFlags, TransactionBehavior};
use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub const FILE: &str = "history.db";
const SCHEMA_VERSION: i64 = 3;
/// The readings table as this version keeps it (see the module comment).
const READINGS: &str = "(
        account_uuid TEXT    NOT NULL DEFAULT '',
        org_uuid     TEXT    NOT NULL,
        window       TEXT    NOT NULL,
        at           INTEGER NOT NULL,
        utilization  REAL    NOT NULL,
        resets_at    INTEGER,
        source       TEXT    NOT NULL,
        PRIMARY KEY (account_uuid, org_uuid, window, at)
    ) WITHOUT ROWID";
/// Every statement is idempotent, so it also creates what an older file lacks (version 1
/// lacks `events`); the readings of a version 2 file are rebuilt by [`key_by_account`].
const EVENTS: &str = "
    CREATE TABLE IF NOT EXISTS events (
        at       INTEGER NOT NULL,
        kind     TEXT    NOT NULL,
        level    TEXT,
        org_uuid TEXT    NOT NULL,
        window   TEXT,
        period   INTEGER,
        message  TEXT    NOT NULL,
        event    TEXT    NOT NULL
    );
    CREATE INDEX IF NOT EXISTS events_by_subject ON events (org_uuid, window, kind);
";
/// A writer waits this long for another one; refreshes and statusLine merges write a few
/// rows each, so anything longer means something else holds the file, and history waits.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(1500);
/// Readings older than this are deleted.
const KEEP_DAYS: i64 = 14;
/// Events older than this are deleted: long enough for a quarter's limit hits. Events from a
/// clock that ran ahead are kept (they are the memory of record, and few).
const KEEP_EVENT_DAYS: i64 = 90;
/// Readings older than this are thinned to one per `THIN_BUCKET_SECS`: enough for a weekly
/// sparkline, and the file stays bounded (about 3,300 rows per window at most).
const FULL_DETAIL_HOURS: i64 = 24;
const THIN_BUCKET_SECS: i64 = 600;

/// One window's utilization at one moment, as one account saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    /// The Claude account whose reading it is (`Org::account_uuid`); `None` when not known
    /// (readings from before accounts, Codex's org), stored as ''.
    pub account: Option<String>,
    pub org_uuid: String,
    pub window: String,
    pub at: DateTime<Utc>,
    pub utilization: f64,
    pub resets_at: Option<DateTime<Utc>>,
    pub source: String,
}

/// The readings a snapshot carries: one per org and window, at the time its usage part was
/// fetched.
pub fn readings(snapshot: &Snapshot) -> Vec<Reading> {
    let mut out = Vec::new();
    for org in &snapshot.orgs {
        let usage = match org.sources.get(part::USAGE) {
            Some(p) => (p.at, p.source.clone()),
            None => (snapshot.fetched_at, snapshot.source.clone()),
        };
        for (key, w) in &org.windows {
            // Each window as its own source stamped it: a number that came from Claude
            // Code's stdin is stdin's reading at the time it arrived, not the last refresh's.
            let (at, source) = match org.sources.get(&part::window(key)) {
                Some(p) => (p.at, p.source.clone()),
                None => usage.clone(),
            };
            out.push(Reading {
                account: org.account_uuid.clone(),
                org_uuid: org.org_uuid.clone(),
                window: key.clone(),
                // Whole seconds, as stored, so the reading in hand matches its stored copy.
                at: at.trunc_subsecs(0),
                utilization: w.utilization,
                resets_at: w.resets_at,
                source,
            });
        }
    }
    out
}

/// Appends `new`, prunes, and returns the recent history of the same account/org/windows
/// (`new` included even when it could not be written). Best effort: see the module comment.
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
    let kept: std::collections::HashSet<_> = past.iter().map(key).collect();
    let unstored: Vec<Reading> = new
        .iter()
        .filter(|r| !kept.contains(&key(r)))
        .cloned()
        .collect();
    past.extend(unstored);
    past
}

/// What makes a reading one row: account, org, window and second (the primary key).
fn key(r: &Reading) -> (&str, &str, &str, DateTime<Utc>) {
    (stored(&r.account), &r.org_uuid, &r.window, r.at)
}

/// An account as the table keeps it: '' for none known.
fn stored(account: &Option<String>) -> &str {
    account.as_deref().unwrap_or("")
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
        let _ = crate::cache::Cache::at(dir.to_path_buf()).ensure_dir();
    }
    // Create the file ourselves so it is private from the first byte; SQLite gives its
    // -wal and -shm files the same mode. Never through a link (`O_NOFOLLOW`): a planted
    // `history.db -> somebody's file` must not get its mode changed, and is refused.
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
        .map_err(|e| rusqlite::Error::InvalidPath(format!("{}: {e}", path.display()).into()))?;
    let _ = f.set_permissions(fs::Permissions::from_mode(0o600));
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    migrate(&conn)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // Claude Code's statusLine writes here too, and a status line must stay small: a
    // refresh touches a few pages, so SQLite's default 2 MiB page cache only costs memory.
    conn.pragma_update(None, "cache_size", -128)?;
    Ok(conn)
}

/// Creates what this version needs (a new file, or one an older version wrote). The version
/// number only says whether to look: an older quotaline that opens this file runs its own
/// schema, which sets its version again, so what is done is decided by what the file holds.
fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version != SCHEMA_VERSION {
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        debug_assert!(!mode.is_empty());
        conn.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS readings {READINGS};{EVENTS}"
        ))?;
        key_by_account(conn)?;
        // Last: a file marked current has its readings keyed by account.
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    }
    Ok(())
}

/// Rebuilds a readings table keyed by org alone (version 2) as one keyed by account and org,
/// every row kept with account '' (not known). SQLite cannot change a primary key in place;
/// one transaction, so a crash or a concurrent opener leaves the old table or the new one.
fn key_by_account(conn: &Connection) -> rusqlite::Result<()> {
    let has_account = |c: &Connection| -> rusqlite::Result<bool> {
        c.query_row(
            "SELECT COUNT(*) FROM pragma_table_info('readings') WHERE name = 'account_uuid'",
            [],
            |r| r.get::<_, i64>(0).map(|n| n > 0),
        )
    };
    if has_account(conn)? {
        return Ok(());
    }
    let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    // Another process may have rebuilt it while this one waited for the lock.
    if has_account(&tx)? {
        return tx.commit();
    }
    tx.execute_batch(&format!(
        "CREATE TABLE readings_by_account {READINGS};
         INSERT INTO readings_by_account (org_uuid, window, at, utilization, resets_at, source)
             SELECT org_uuid, window, at, utilization, resets_at, source FROM readings;
         DROP TABLE readings;
         ALTER TABLE readings_by_account RENAME TO readings;"
    ))?;
    tx.commit()
}

/// Opens an existing history to read (`quotaline history`, `events`); `None` when there is
/// none.
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
        .and_then(|c| {
            c.busy_timeout(BUSY_TIMEOUT)?;
            migrate(&c)?;
            Ok(c)
        }),
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
    // Age is measured from the newest reading kept before this write, never from this
    // process's clock alone: one refresh under a clock weeks ahead (its own readings stamped
    // weeks ahead) must not delete or thin the real history. After a real absence the old
    // rows go one write later, once a reading of today is kept.
    let newest: Option<i64> = tx.query_row("SELECT MAX(at) FROM readings", [], |r| r.get(0))?;
    {
        // Readings stored before accounts ('') become the first account's that writes readings
        // of their org, as the cache's entries do (`Snapshot::login_org`), so an upgrade keeps
        // its pace. One the account already has a reading of in that second is a copy: the
        // account's own is kept.
        let mut adopt = tx.prepare_cached(
            "UPDATE OR IGNORE readings SET account_uuid = ?1
             WHERE account_uuid = '' AND org_uuid = ?2",
        )?;
        let mut copies =
            tx.prepare_cached("DELETE FROM readings WHERE account_uuid = '' AND org_uuid = ?1")?;
        let logins: std::collections::BTreeSet<(&str, &str)> = new
            .iter()
            .filter_map(|r| Some((r.account.as_deref()?, r.org_uuid.as_str())))
            .collect();
        for (account, org) in logins {
            adopt.execute(params![account, org])?;
            copies.execute(params![org])?;
        }
        // An ingest repeats the readings it carries (the same numbers again: no change), and
        // of two readings of one window in the same second the later one is the newer: it
        // wins, so the history's last number is the one `status` shows.
        let mut insert = tx.prepare_cached(
            "INSERT INTO readings
                 (account_uuid, org_uuid, window, at, utilization, resets_at, source)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (account_uuid, org_uuid, window, at) DO UPDATE SET
                 utilization = excluded.utilization,
                 resets_at = excluded.resets_at,
                 source = excluded.source",
        )?;
        for r in new {
            insert.execute(params![
                stored(&r.account),
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
    tx.execute("DELETE FROM readings WHERE at > ?1", params![now + 3_600])?;
    let now = newest.map_or(now, |n| n.min(now));
    tx.execute(
        "DELETE FROM readings WHERE at < ?1",
        params![now - KEEP_DAYS * 86_400],
    )?;
    let detail = now - FULL_DETAIL_HOURS * 3_600;
    // Keeps the first reading of each bucket; a correlated search on the primary key, so
    // the cost grows with the rows, not their square.
    tx.execute(
        "DELETE FROM readings AS r WHERE at < ?1 AND EXISTS (
             SELECT 1 FROM readings e
             WHERE e.account_uuid = r.account_uuid AND e.org_uuid = r.org_uuid
               AND e.window = r.window AND e.at >= r.at - r.at % ?2 AND e.at < r.at)",
        params![detail, THIN_BUCKET_SECS],
    )?;
    tx.commit()
}

/// The readings of `new`'s account/org/windows recent enough to matter for their analysis.
fn recent(
    conn: &Connection,
    new: &[Reading],
    now: DateTime<Utc>,
) -> rusqlite::Result<Vec<Reading>> {
    let subjects: std::collections::BTreeSet<(&str, &str, &str)> = new
        .iter()
        .map(|r| (stored(&r.account), r.org_uuid.as_str(), r.window.as_str()))
        .collect();
    let mut out = Vec::new();
    for (account, org, window) in subjects {
        // Twice the span: the span itself, and the highest level before it (lag at its start).
        let back = window::rate_span(window) * 2;
        out.extend(query(
            conn,
            Some(account),
            Some(org),
            Some(window),
            now - back,
        )?);
    }
    Ok(out)
}

/// Readings since `since`, optionally of one account (as stored: `Some("")` is the readings
/// no account is known for), one org and one window; ordered by org, account, window, time.
pub fn query(
    conn: &Connection,
    account: Option<&str>,
    org: Option<&str>,
    window: Option<&str>,
    since: DateTime<Utc>,
) -> rusqlite::Result<Vec<Reading>> {
    let mut stmt = conn.prepare_cached(
        "SELECT account_uuid, org_uuid, window, at, utilization, resets_at, source
         FROM readings
         WHERE (?1 IS NULL OR account_uuid = ?1) AND (?2 IS NULL OR org_uuid = ?2)
           AND (?3 IS NULL OR window = ?3) AND at >= ?4
         ORDER BY org_uuid, account_uuid, window, at",
    )?;
    let rows = stmt.query_map(params![account, org, window, secs(since)], |row| {
        Ok(Reading {
            account: Some(row.get::<_, String>(0)?).filter(|a| !a.is_empty()),
            org_uuid: row.get(1)?,
            window: row.get(2)?,
            at: time(row.get(3)?),
            utilization: row.get(4)?,
            resets_at: row.get::<_, Option<i64>>(5)?.map(time),
            source: row.get(6)?,
        })
    })?;
    rows.collect()
}

/// Of `news` (events that are new to the cache's books), the ones that did not fire before
/// either, recorded here; `news` whole when the history cannot be used (events then rest on
/// the books alone). Called under the cache lock, so deciders never race each other here.
pub fn record_events(dir: &Path, news: &[Event], now: DateTime<Utc>) -> Vec<Event> {
    let path = dir.join(FILE);
    let conn = match open(&path) {
        Ok(c) => Some(c),
        Err(e) if is_corrupt(&e) => rebuild(&path),
        Err(_) => None,
    };
    let Some(mut conn) = conn else {
        return news.to_vec();
    };
    let mut fresh = Vec::new();
    for e in news {
        let seen = fired_before(&conn, e).unwrap_or(false);
        if !seen {
            fresh.push(e.clone());
        }
    }
    // Unrecorded, they still fire: the cache's books keep them from repeating.
    let _ = write_events(&mut conn, &fresh, now);
    fresh
}

/// Whether an event of the history makes `e` a repeat (`Event::repeats`).
fn fired_before(conn: &Connection, e: &Event) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare_cached(
        "SELECT event FROM events WHERE org_uuid = ?1 AND window IS ?2
         AND (period IS NULL OR ?3 IS NULL OR period BETWEEN ?3 - ?4 AND ?3 + ?4)",
    )?;
    let rows = stmt.query_map(
        params![
            e.org,
            e.window,
            e.period.map(secs),
            crate::window::SAME_RESET
        ],
        |row| row.get::<_, String>(0),
    )?;
    for json in rows {
        if let Ok(fired) = serde_json::from_str::<Event>(&json?) {
            if e.repeats(&fired) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

fn write_events(
    conn: &mut Connection,
    events: &[Event],
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO events (at, kind, level, org_uuid, window, period, message, event)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for e in events {
            let json = serde_json::to_string(e)
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?;
            insert.execute(params![
                secs(e.at),
                e.kind.name(),
                e.level,
                e.org,
                e.window,
                e.period.map(secs),
                e.message,
                json
            ])?;
        }
    }
    tx.execute(
        "DELETE FROM events WHERE at < ?1",
        params![secs(now) - KEEP_EVENT_DAYS * 86_400],
    )?;
    tx.commit()
}

/// The events fired since `since`, oldest first.
pub fn events(conn: &Connection, since: DateTime<Utc>) -> rusqlite::Result<Vec<Event>> {
    let mut stmt =
        conn.prepare_cached("SELECT event FROM events WHERE at >= ?1 ORDER BY at, rowid")?;
    let rows = stmt.query_map(params![secs(since)], |row| row.get::<_, String>(0))?;
    let mut out = Vec::new();
    for json in rows {
        // A row a later version wrote with a shape this one cannot read is skipped.
        if let Ok(e) = serde_json::from_str(&json?) {
            out.push(e);
        }
    }
    Ok(out)
}

/// The times one account's window of one org hit 100%, keyed by (account, org, window).
pub type Hits = BTreeMap<(Option<String>, String, String), usize>;

/// Per account, org and window: how many times it hit 100% (`limit` events) since `since`.
/// The account is read from the event's JSON (`Event::account`), the record the hook got:
/// the table keeps its shape, so an older quotaline still writes its events here (they count
/// as no account's).
pub fn limit_hits(conn: &Connection, since: DateTime<Utc>) -> rusqlite::Result<Hits> {
    let mut stmt = conn.prepare_cached(
        "SELECT json_extract(event, '$.account'), org_uuid, window, COUNT(*) FROM events
         WHERE kind = 'limit' AND at >= ?1 AND window IS NOT NULL AND json_valid(event)
         GROUP BY 1, 2, 3",
    )?;
    let rows = stmt.query_map(params![secs(since)], |row| {
        // An account that is not text (a row no quotaline wrote) counts as none known.
        let account = row.get::<_, Option<String>>(0).ok().flatten();
        Ok((
            (account, row.get(1)?, row.get(2)?),
            row.get::<_, i64>(3)? as usize,
        ))
    })?;
    let mut hits = Hits::new();
    for row in rows {
        let (key, n) = row?;
        *hits.entry(key).or_default() += n;
    }
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    /// 2026-11-22 12:00 UTC plus `mins` minutes.
    fn t(mins: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap() + Duration::minutes(mins)
    }

    fn reading(at: i64, u: f64) -> Reading {
        Reading {
            account: Some("acc-a".into()),
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
        // 15 days later: once a reading of today is kept, everything older than 14 days is
        // gone (ages count from the newest reading kept, not from a clock that may be ahead).
        let later = t(15 * 24 * 60);
        let past = record(dir.path(), &[reading(15 * 24 * 60, 1.0)], later);
        assert_eq!(past.len(), 1);
        record(dir.path(), &[reading(15 * 24 * 60 + 1, 2.0)], later);
        let conn = open(&path).unwrap();
        assert_eq!(query(&conn, None, None, None, t(-1)).unwrap().len(), 2);
        drop(conn);

        fs::write(&path, b"this is not a database, just garbage bytes").unwrap();
        let past = record(dir.path(), &[reading(0, 5.0)], t(0));
        assert_eq!(past, vec![reading(0, 5.0)]);
        assert!(dir.path().join("history.db.corrupt").is_file());
        let conn = open(&path).unwrap();
        assert_eq!(
            query(&conn, None, None, None, t(-1)).unwrap(),
            vec![reading(0, 5.0)]
        );
    }

    #[test]
    fn the_newer_of_two_readings_in_one_second_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        record(dir.path(), &[reading(5, 80.0)], t(5));
        let past = record(dir.path(), &[reading(5, 92.0)], t(5));
        assert_eq!(past, vec![reading(5, 92.0)]);
        let conn = open(&dir.path().join(FILE)).unwrap();
        assert_eq!(
            query(&conn, None, None, None, t(-1)).unwrap(),
            vec![reading(5, 92.0)]
        );
    }

    #[test]
    fn old_readings_are_thinned_to_one_per_ten_minutes() {
        let dir = tempfile::tempdir().unwrap();
        let minutes: Vec<Reading> = (0..60).map(|m| reading(m, m as f64)).collect();
        record(dir.path(), &minutes, t(60));
        // Two days later, once a reading of that day is kept, the hour is thinned: the first
        // reading of each 10-minute bucket.
        let later = 2 * 24 * 60;
        record(dir.path(), &[reading(later, 99.0)], t(later));
        record(dir.path(), &[], t(later));
        let conn = open(&dir.path().join(FILE)).unwrap();
        let kept: Vec<f64> = query(&conn, None, None, None, t(-1))
            .unwrap()
            .iter()
            .map(|r| r.utilization)
            .collect();
        assert_eq!(kept, [0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 99.0]);
    }

    #[test]
    fn a_write_under_a_clock_weeks_ahead_deletes_and_thins_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let minutes: Vec<Reading> = (0..15).map(|m| reading(m, m as f64)).collect();
        record(dir.path(), &minutes, t(15));
        let ahead = 20 * 24 * 60;
        record(dir.path(), &[reading(ahead, 50.0)], t(ahead));
        let conn = open(&dir.path().join(FILE)).unwrap();
        assert_eq!(query(&conn, None, None, None, t(-1)).unwrap().len(), 16);
        drop(conn);
        // Back on the right clock: the reading from the future goes, the history stays.
        record(dir.path(), &[reading(16, 16.0)], t(16));
        let conn = open(&dir.path().join(FILE)).unwrap();
        assert_eq!(query(&conn, None, None, None, t(-1)).unwrap().len(), 16);
    }

    /// `reading` as account `account`'s (`None`: not known).
    fn of(account: Option<&str>, r: Reading) -> Reading {
        Reading {
            account: account.map(str::to_string),
            ..r
        }
    }

    /// Version 2's schema, as quotaline 0.x before accounts created it: its readings keyed by
    /// org alone, its events table as today's.
    fn schema_v2() -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS readings (
                 org_uuid    TEXT    NOT NULL,
                 window      TEXT    NOT NULL,
                 at          INTEGER NOT NULL,
                 utilization REAL    NOT NULL,
                 resets_at   INTEGER,
                 source      TEXT    NOT NULL,
                 PRIMARY KEY (org_uuid, window, at)
             ) WITHOUT ROWID;
             {EVENTS}
             PRAGMA user_version = 2;"
        )
    }

    #[test]
    fn a_version_2_file_keeps_every_row_and_the_first_account_to_write_adopts_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        let old = Connection::open(&path).unwrap();
        old.execute_batch(&schema_v2()).unwrap();
        for (org, m, u) in [("org", 0, 10.0), ("org", 10, 15.0), ("codex", 0, 3.0)] {
            old.execute(
                "INSERT INTO readings VALUES (?1, 'five_hour', ?2, ?3, ?4, 'claude.ai')",
                params![org, secs(t(m)), u, secs(t(300))],
            )
            .unwrap();
        }
        drop(old);

        // Opened by this version: rebuilt keyed by account, every row kept as no account's.
        let conn = open(&path).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let before = query(&conn, None, None, None, t(-1)).unwrap();
        assert_eq!(before.len(), 3);
        assert!(before.iter().all(|r| r.account.is_none()), "{before:?}");
        drop(conn);

        // The first account to write readings of `org` takes its rows over (so its pace
        // starts from them: 10% -> 20% in 20 minutes); Codex's stay no account's.
        let past = record(dir.path(), &[of(Some("acc-a"), reading(20, 20.0))], t(20));
        let mine = |r: &&Reading| r.account.as_deref() == Some("acc-a");
        assert_eq!(past.iter().filter(mine).count(), 3, "{past:?}");
        record(dir.path(), &[of(Some("acc-b"), reading(20, 5.0))], t(20));
        let conn = open(&path).unwrap();
        let accounts: Vec<(Option<String>, String, f64)> = query(&conn, None, None, None, t(-1))
            .unwrap()
            .into_iter()
            .map(|r| (r.account, r.org_uuid, r.utilization))
            .collect();
        let acc = |a: &str| Some(a.to_string());
        assert_eq!(
            accounts,
            [
                (None, "codex".into(), 3.0),
                (acc("acc-a"), "org".into(), 10.0),
                (acc("acc-a"), "org".into(), 15.0),
                (acc("acc-a"), "org".into(), 20.0),
                (acc("acc-b"), "org".into(), 5.0),
            ]
        );
    }

    #[test]
    fn a_file_an_older_version_opened_again_keeps_its_accounts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        record(dir.path(), &[reading(0, 10.0)], t(0));
        // An older quotaline runs its own schema over this file: its version again, its
        // tables already there (`IF NOT EXISTS`), and its insert refused (no such key). This
        // version looks at the table, not the number: rebuilt again, the rows would lose
        // their account.
        let old = Connection::open(&path).unwrap();
        old.execute_batch(&schema_v2()).unwrap();
        let refused = old.execute(
            "INSERT INTO readings (org_uuid, window, at, utilization, resets_at, source)
             VALUES ('org', 'five_hour', 60, 1.0, NULL, 'claude.ai')
             ON CONFLICT (org_uuid, window, at) DO UPDATE SET utilization = 1.0",
            [],
        );
        assert!(refused.is_err());
        drop(old);
        let past = record(dir.path(), &[reading(1, 11.0)], t(1));
        assert_eq!(past, vec![reading(0, 10.0), reading(1, 11.0)]);
        let conn = open(&path).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
    }

    #[test]
    fn two_accounts_readings_of_one_org_in_the_same_second_are_both_kept() {
        let dir = tempfile::tempdir().unwrap();
        let both = [
            of(Some("acc-a"), reading(5, 42.0)),
            of(Some("acc-b"), reading(5, 7.0)),
        ];
        let past = record(dir.path(), &both, t(5));
        assert_eq!(past, both);
        // Each account's recent history is its own.
        let past = record(dir.path(), &[of(Some("acc-b"), reading(6, 8.0))], t(6));
        assert_eq!(
            past,
            [
                of(Some("acc-b"), reading(5, 7.0)),
                of(Some("acc-b"), reading(6, 8.0))
            ]
        );
        let conn = open(&dir.path().join(FILE)).unwrap();
        assert_eq!(query(&conn, None, None, None, t(-1)).unwrap().len(), 3);
        assert_eq!(
            query(&conn, Some("acc-a"), Some("org"), None, t(-1)).unwrap(),
            [of(Some("acc-a"), reading(5, 42.0))]
        );
    }

    #[test]
    fn thinning_keeps_each_accounts_first_reading_of_a_bucket() {
        let dir = tempfile::tempdir().unwrap();
        // acc-a reads at minutes 0..10, acc-b only at minute 5: acc-a's earlier readings of
        // the bucket must not thin acc-b's only one away.
        let mut minutes: Vec<Reading> = (0..10)
            .map(|m| of(Some("acc-a"), reading(m, m as f64)))
            .collect();
        minutes.push(of(Some("acc-b"), reading(5, 50.0)));
        record(dir.path(), &minutes, t(10));
        let later = 2 * 24 * 60;
        record(
            dir.path(),
            &[of(Some("acc-a"), reading(later, 99.0))],
            t(later),
        );
        record(dir.path(), &[], t(later));
        let conn = open(&dir.path().join(FILE)).unwrap();
        let kept: Vec<(Option<String>, f64)> = query(&conn, None, None, None, t(-1))
            .unwrap()
            .into_iter()
            .map(|r| (r.account, r.utilization))
            .collect();
        let acc = |a: &str| Some(a.to_string());
        assert_eq!(
            kept,
            [
                (acc("acc-a"), 0.0),
                (acc("acc-a"), 99.0),
                (acc("acc-b"), 50.0)
            ]
        );
    }

    #[test]
    fn limit_hits_count_per_account() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join(FILE)).unwrap();
        let event = |account: Option<&str>, m: i64| {
            let json = match account {
                Some(a) => format!(r#"{{"kind":"limit","account":"{a}"}}"#),
                None => r#"{"kind":"limit"}"#.to_string(),
            };
            conn.execute(
                "INSERT INTO events (at, kind, org_uuid, window, message, event)
                 VALUES (?1, 'limit', 'org', 'five_hour', '', ?2)",
                params![secs(t(m)), json],
            )
            .unwrap();
        };
        event(Some("acc-a"), 0);
        event(Some("acc-a"), 300);
        event(Some("acc-b"), 10);
        event(None, 20);
        let key = |a: Option<&str>| (a.map(str::to_string), "org".into(), "five_hour".into());
        assert_eq!(
            limit_hits(&conn, t(-1)).unwrap(),
            Hits::from([
                (key(None), 1),
                (key(Some("acc-a")), 2),
                (key(Some("acc-b")), 1)
            ])
        );
    }
}
