//! Issue 7: the history of readings (history.db), burn rate, ETA and pace, `history`,
//! `check --eta`, and a history that can never break a refresh or the prompt.

use crate::common::*;
use chrono::{DateTime, Duration as Span, SecondsFormat, SubsecRound, Utc};
use rusqlite::{params, Connection};
use serde_json::Value;
use std::time::{Duration, Instant};

const ORG1: &str = ORG_IDS[0];
const ORG2: &str = ORG_IDS[1];
/// Every window of `usage_flat_windows.json` (oauth_apps, opus, five_hour, seven_day), both orgs.
const FLAT_READINGS: usize = 8;

fn refreshed() -> (FakeServer, TestEnv) {
    let server = claude_ai("usage_flat_windows.json");
    let env = TestEnv::with_server(&server);
    let (code, out, err) = ql(&env, &["refresh"]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    (server, env)
}

fn db(env: &TestEnv) -> Connection {
    let conn = Connection::open(env.cache_dir.join("history.db")).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn
}

/// The five-hour window's `resets_at` as the first refresh stored it.
fn five_hour_reset(conn: &Connection) -> i64 {
    conn.query_row(
        "SELECT resets_at FROM readings WHERE org_uuid = ?1 AND window = 'five_hour'",
        [ORG1],
        |r| r.get(0),
    )
    .unwrap()
}

/// A reading of ORG1 by the account the refresh read it with, as a refresh stores one.
fn insert(conn: &Connection, window: &str, at: DateTime<Utc>, u: f64, resets_at: Option<i64>) {
    conn.execute(
        "INSERT INTO readings (account_uuid, org_uuid, window, at, utilization, resets_at, source)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'claude.ai')",
        params![ACCOUNT_ID, ORG1, window, at.timestamp(), u, resets_at],
    )
    .unwrap();
}

fn count(conn: &Connection, filter: &str) -> i64 {
    conn.query_row(
        &format!("SELECT COUNT(*) FROM readings WHERE {filter}"),
        [],
        |r| r.get(0),
    )
    .unwrap()
}

/// A five-hour window that rose from 7.5% half an hour ago to the payload's 37%: 59%/h,
/// 100% in 1h4m, before its reset in 1h12m.
fn burning() -> (FakeServer, TestEnv) {
    let (server, env) = refreshed();
    let conn = db(&env);
    let reset = five_hour_reset(&conn);
    insert(
        &conn,
        "five_hour",
        Utc::now() - Span::minutes(30),
        7.5,
        Some(reset),
    );
    drop(conn);
    let (code, _, err) = ql(&env, &["refresh", "--force"]);
    assert_eq!((code, err.as_str()), (0, ""));
    (server, env)
}

#[test]
fn every_refresh_records_one_reading_per_org_and_window_in_a_private_file() {
    use std::os::unix::fs::PermissionsExt;
    let (_server, env) = refreshed();
    let conn = db(&env);
    assert_eq!(count(&conn, "1"), FLAT_READINGS as i64);
    let (u, source): (f64, String) = conn
        .query_row(
            "SELECT utilization, source FROM readings WHERE org_uuid = ?1 AND window = 'seven_day_opus'",
            [ORG2],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((u, source.as_str()), (71.0, "claude.ai"));
    let mode = std::fs::metadata(env.cache_dir.join("history.db"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let journal: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
}

#[test]
fn segment_and_status_show_eta_and_pace_from_the_cache() {
    let (_server, env) = burning();
    let format = "5h {5h}( eta {5h_eta})( pace {5h_pace}) · 7d {7d}( eta {7d_eta})( {7d_pace})";
    let (code, out, err) = ql(&env, &["segment", "--format", format]);
    assert_eq!((code, err.as_str()), (0, ""));
    // 7d has a single reading: no ETA yet, but a pace (day 2.4 of 7: a steady user is at 34%).
    assert_eq!(out, "5h 37% eta 1h4m pace -39% · 7d 58% +24%\n");
    let (_, bare, _) = ql(&env, &["segment", "--format", "{7d_eta}|{opus_pace}"]);
    assert_eq!(bare, "–|+37%\n");

    let v = read_cache(&env);
    let pace = &v["snapshot"]["orgs"][0]["pace"]["five_hour"];
    assert_eq!(pace["hits_before_reset"], true);
    assert_eq!(pace["rate_per_hour"].as_f64().unwrap().round(), 59.0);
    assert_eq!(pace["expected"].as_f64().unwrap().round(), 76.0);
    assert_eq!(
        v["snapshot"]["orgs"][0]["pace"]["seven_day"]["rate_per_hour"],
        Value::Null
    );

    let (_, status, _) = ql(&env, &["status"]);
    assert!(
        status.contains(
            "  5h              37%  resets "
        ) && status.contains(
            "\n                burning 59%/h · 100% in 1h4m, before the reset · pace -39% (steady: 76%)\n"
        ),
        "{status}"
    );
    assert!(
        status.contains(
            "\n                burn rate: not enough history yet · pace +24% (steady: 34%)\n"
        ),
        "{status}"
    );
}

#[test]
fn an_eta_after_the_reset_is_not_shown_in_the_segment() {
    let (_server, env) = refreshed();
    let conn = db(&env);
    let reset = five_hour_reset(&conn);
    // 27% -> 37% in 40 minutes: 15%/h, 100% in 4h12m, well after the reset in 1h12m.
    insert(
        &conn,
        "five_hour",
        Utc::now() - Span::minutes(40),
        27.0,
        Some(reset),
    );
    drop(conn);
    ql(&env, &["refresh", "--force"]);
    let (_, out, _) = ql(&env, &["segment", "--format", "5h {5h}( eta {5h_eta})"]);
    assert_eq!(out, "5h 37%\n");
    let (_, status, _) = ql(&env, &["status"]);
    assert!(status.contains("burning 15%/h · 100% in 4h1"), "{status}");
    assert!(status.contains(", after the reset · pace"), "{status}");
}

#[test]
fn check_eta_fails_when_a_window_hits_the_wall_within_the_lookahead() {
    let (_server, env) = burning();
    let (code, out, err) = ql(&env, &["check", "--eta", "30m"]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    let (code, out, _) = ql(&env, &["check", "--eta", "2h"]);
    let eta = read_cache(&env)["snapshot"]["orgs"][0]["pace"]["five_hour"]["eta"]
        .as_str()
        .unwrap()
        .to_string();
    let eta = DateTime::parse_from_rfc3339(&eta).unwrap();
    assert_eq!(code, 1);
    assert_eq!(
        out,
        format!(
            "5h projected to hit 100% in 1h4m ({}), before its reset in 1h12m (at 59%/h, now 37%)\n",
            eta.format("%a %b %-d %H:%M")
        )
    );
    // Only the named window; and --eta alone does not apply the default 90% limit.
    let (code, out, _) = ql(&env, &["check", "--eta", "2h", "--window", "7d"]);
    assert_eq!((code, out.as_str()), (0, ""));
    let (code, out, _) = ql(&env, &["check", "--eta", "2h", "--window", "5h"]);
    assert_eq!(code, 1, "{out}");
    let (code, out, _) = ql(&env, &["check", "--eta", "1m", "--max", "50"]);
    assert_eq!(code, 1);
    assert!(out.starts_with("7d at 58% (limit 50%)"), "{out}");
    let (fresh_server, fresh) = refreshed();
    let (code, out, err) = ql(&fresh, &["check", "--eta", "30m"]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            0,
            "",
            "quotaline: no burn rate yet (it needs readings over 15 minutes for 5h, 6 hours for weekly windows)\n"
        )
    );
    drop(fresh_server);
    let (code, _, err) = ql(&env, &["check", "--eta", "30"]);
    assert_ne!(code, 0);
    assert!(err.contains("not a duration"), "{err}");
}

#[test]
fn history_json_prints_readings_oldest_first_for_scripts() {
    let (_server, env) = refreshed();
    let conn = db(&env);
    let reset = five_hour_reset(&conn);
    let old = (Utc::now() - Span::hours(2)).trunc_subsecs(0);
    let recent = (Utc::now() - Span::minutes(11)).trunc_subsecs(0);
    insert(&conn, "five_hour", old, 90.0, Some(reset - 5 * 3600));
    insert(&conn, "five_hour", recent, 30.0, Some(reset));
    drop(conn);
    let (code, out, err) = ql(&env, &["history", "--json", "--window", "5h"]);
    assert_eq!((code, err.as_str()), (0, ""));
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{out}");
    let iso = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let reset_at = DateTime::from_timestamp(reset, 0).unwrap();
    assert_eq!(
        lines[0],
        serde_json::json!({"org_uuid": ORG1, "account_uuid": ACCOUNT_ID, "window": "five_hour", "at": iso(old),
            "utilization": 90.0, "resets_at": iso(reset_at - Span::hours(5)), "source": "claude.ai"})
    );
    assert_eq!(lines[1]["at"], iso(recent));
    assert_eq!(lines[2]["utilization"], 37.0);
    assert_eq!(lines[2]["resets_at"], iso(reset_at));

    let (_, out, _) = ql(
        &env,
        &["history", "--json", "--window", "5h", "--since", "1h"],
    );
    assert_eq!(out.lines().count(), 2);
    let (_, out, _) = ql(&env, &["history", "--json", "--org", ORG2]);
    assert_eq!(out.lines().count(), FLAT_READINGS / 2);
    assert!(out.lines().all(|l| l.contains(ORG2)));

    // The table: one row per window by its short name, one sparkline scale by time: the 24
    // hours asked for, 30 minutes a column (the readings of the last half hour share the
    // last one, the highest shown).
    let (code, table, _) = ql(&env, &["history"]);
    assert_eq!(code, 0);
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 6, "{table}");
    assert!(rows[0].starts_with(&format!(
        "dev@example.com's Organization [{ORG1}] · account dev · "
    )));
    assert_eq!(
        rows[1],
        "  WINDOW                 READINGS FIRST  LAST    RATE HITS  HISTORY"
    );
    let spark = format!("{}▇{}▄", " ".repeat(43), " ".repeat(3));
    assert_eq!(
        rows[2],
        format!("  5h                            3   90%   37%       –    0  {spark}")
    );
    assert_eq!(
        rows[3],
        format!(
            "  7d                            1   58%   58%       –    0  {}▅",
            " ".repeat(47)
        )
    );

    let (code, _, err) = ql(&env, &["history", "--window", "sonnet"]);
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "quotaline: no `sonnet` readings in the last 1d\n\
             windows with readings: 5h, 7d, oauth_apps, opus\n"
        )
    );
}

#[test]
fn history_without_any_refresh_says_so() {
    let env = TestEnv::new();
    let (code, out, err) = ql(&env, &["history"]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            1,
            "",
            "quotaline: no history yet (every refresh adds to it)\n"
        )
    );
}

#[test]
fn corrupt_history_is_moved_aside_and_rebuilt_without_failing_the_refresh() {
    let server = claude_ai("usage_flat_windows.json");
    let env = TestEnv::with_server(&server);
    std::fs::create_dir_all(&env.cache_dir).unwrap();
    std::fs::write(
        env.cache_dir.join("history.db"),
        b"\x00\x01garbage, not SQLite at all\xff\xfe".repeat(200),
    )
    .unwrap();
    let (code, out, err) = ql(&env, &["refresh"]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    let (_, line, _) = ql(&env, &["segment"]);
    assert_eq!(line, "5h 37% · 7d 58% · opus 71% · ↻1h12m\n");
    assert!(env.cache_dir.join("history.db.corrupt").is_file());
    assert_eq!(count(&db(&env), "1"), FLAT_READINGS as i64);
    let (code, out, _) = ql(&env, &["history", "--json", "--org", ORG1]);
    assert_eq!((code, out.lines().count()), (0, FLAT_READINGS / 2));
}

#[test]
fn locked_history_is_skipped_and_the_refresh_and_segment_still_work() {
    let (server, env) = refreshed();
    let holder = db(&env);
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    holder
        .execute("DELETE FROM readings WHERE window = 'seven_day'", [])
        .unwrap();
    let started = Instant::now();
    let (code, out, err) = ql(&env, &["refresh", "--force"]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.count(&usage_path(ORG1)), 2);
    let (_, line, _) = ql(&env, &["segment", "--format", "5h {5h}( {5h_pace})"]);
    assert_eq!(line, "5h 37% -39%\n");
    holder.execute_batch("ROLLBACK").unwrap();
    // The refresh could not write; the next one can.
    assert_eq!(count(&holder, "1"), FLAT_READINGS as i64);
    drop(holder);
    ql(&env, &["refresh", "--force"]);
    assert!(count(&db(&env), "1") > FLAT_READINGS as i64);
}

#[test]
fn concurrent_writers_keep_every_row_and_a_consistent_file() {
    let server = claude_ai("usage_flat_windows.json");
    // A slow server: refreshes that do fetch land in distinct seconds.
    let usage = shifted("usage_flat_windows.json");
    for org in ORG_IDS {
        server.route(
            &usage_path(org),
            Reply::json(200, &usage).delay(Duration::from_millis(1100)),
        );
    }
    let env = TestEnv::with_server(&server);
    ql(&env, &["refresh"]);
    let writer = {
        let path = env.cache_dir.join("history.db");
        std::thread::spawn(move || {
            let conn = Connection::open(path).unwrap();
            conn.busy_timeout(Duration::from_secs(20)).unwrap();
            let now = Utc::now().timestamp();
            for i in 0..200 {
                conn.execute(
                    "INSERT INTO readings (org_uuid, window, at, utilization, resets_at, source)
                     VALUES ('other', 'five_hour', ?1, 1.0, NULL, 'test')",
                    [now - 1000 + i],
                )
                .unwrap();
            }
        })
    };
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let mut cmd = env.command(&BIN);
            cmd.args(["refresh", "--force"]);
            std::thread::spawn(move || {
                (0..2)
                    .map(|_| cmd.output().unwrap().status.code())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for r in runs {
        assert_eq!(r.join().unwrap(), [Some(0), Some(0)]);
    }
    writer.join().unwrap();
    let conn = db(&env);
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    assert_eq!(count(&conn, "org_uuid = 'other'"), 200);
    let fetches = server.count(&usage_path(ORG1)) as i64;
    assert!(fetches >= 2);
    assert_eq!(
        count(
            &conn,
            &format!("org_uuid = '{ORG1}' AND window = 'five_hour'")
        ),
        fetches
    );
}
