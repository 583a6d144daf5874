//! Issue 7: the history of readings (history.db), burn rate, ETA and pace, `history`,
//! `check --eta`, and a history that can never break a refresh or the prompt; issue 26: two
//! logins of one Team org each with their own readings and pace.

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

/// Claude Code's status line in config dir `dir`, its stdin carrying these five-hour and
/// weekly numbers (the five-hour window resetting at `reset`).
fn reports(env: &mut TestEnv, dir: &std::path::Path, five: f64, seven: f64, reset: i64) {
    let mut v: Value = serde_json::from_str(&payload("statusline_stdin.json")).unwrap();
    v["rate_limits"] = serde_json::json!({
        "five_hour": {"used_percentage": five, "resets_at": reset},
        "seven_day": {"used_percentage": seven, "resets_at": reset + 3 * 86_400}
    });
    env.set("CLAUDE_CONFIG_DIR", &dir.display().to_string());
    let (code, _, err) = ql_statusline(env, v.to_string().as_bytes());
    assert_eq!((code, err.as_str()), (0, ""));
}

/// A five-hour reading of ORG1 by `account`, `ago` minutes ago.
fn insert_by(conn: &Connection, account: &str, ago: i64, u: f64, reset: i64) {
    conn.execute(
        "INSERT INTO readings (account_uuid, org_uuid, window, at, utilization, resets_at, source)
         VALUES (?1, ?2, 'five_hour', ?3, ?4, ?5, 'statusline')",
        params![
            account,
            ORG1,
            (Utc::now() - Span::minutes(ago)).timestamp(),
            u,
            reset
        ],
    )
    .unwrap();
}

/// The table's lines up to the sparkline (its header's time cut off).
fn table_of(env: &TestEnv, args: &[&str]) -> Vec<String> {
    let (code, out, err) = ql(env, args);
    assert_eq!((code, err.as_str()), (0, ""), "{args:?}");
    out.lines()
        .map(|l| match l.split_once(" · ") {
            Some((org, rest)) if !l.starts_with(' ') => match rest.rsplit_once(" · ") {
                Some((account, _)) => format!("{org} · {account}"),
                None => org.to_string(),
            },
            _ => l
                .chars()
                .take(60)
                .collect::<String>()
                .trim_end()
                .to_string(),
        })
        .collect()
}

#[test]
fn two_logins_in_one_team_org_each_have_their_own_history_and_pace() {
    let mut env = TestEnv::new();
    env.set("NO_COLOR", "1");
    let a = team_login(&env, "claude-a", "acc-a");
    let b = team_login(&env, "claude-b", "acc-b");
    let reset = Utc::now().timestamp() + 7200;
    reports(&mut env, &a, 42.0, 15.0, reset);
    reports(&mut env, &b, 11.0, 3.0, reset);
    // Earlier readings of each: acc-a was at 27% half an hour ago, acc-b at 1% 50 minutes
    // ago. Mixed, acc-a's rate would start from acc-b's older 1% and acc-b's period from
    // acc-a's higher numbers.
    let conn = db(&env);
    insert_by(&conn, "acc-a", 30, 27.0, reset);
    insert_by(&conn, "acc-b", 50, 1.0, reset);
    drop(conn);
    // Readings are kept by the second: the next ones must not replace the first.
    std::thread::sleep(Duration::from_millis(1100));
    reports(&mut env, &a, 43.0, 15.0, reset);
    reports(&mut env, &b, 12.0, 3.0, reset);

    // Each entry's burn rate is its own login's: 27% -> 43% in 30 minutes, 1% -> 12% in 50.
    let (code, out, _) = ql(&env, &["json"]);
    assert_eq!(code, 0);
    let json: Value = serde_json::from_str(&out).unwrap();
    let rates: Vec<(Value, Option<f64>)> = json["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["org_uuid"] == ORG1)
        .map(|o| {
            let rate = o["pace"]["five_hour"]["rate_per_hour"].as_f64();
            (o["account_uuid"].clone(), rate.map(f64::round))
        })
        .collect();
    assert_eq!(
        rates,
        [("acc-a".into(), Some(32.0)), ("acc-b".into(), Some(13.0))]
    );

    // Every reading of the org, each with its own account.
    let (code, out, err) = ql(&env, &["history", "--json", "--org", ORG1]);
    assert_eq!((code, err.as_str()), (0, ""));
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let five_hour = |account: &str| -> Vec<f64> {
        lines
            .iter()
            .filter(|l| l["account_uuid"] == account && l["window"] == "five_hour")
            .map(|l| l["utilization"].as_f64().unwrap())
            .collect()
    };
    assert_eq!(five_hour("acc-a"), [27.0, 42.0, 43.0]);
    assert_eq!(five_hour("acc-b"), [1.0, 11.0, 12.0]);
    assert_eq!(lines.len(), 10, "{out}");
    // Without --org: the account the line shows (the last config dir's login) only.
    let (_, out, _) = ql(&env, &["history", "--json"]);
    assert!(
        out.lines().count() == 5 && out.lines().all(|l| l.contains(r#""account_uuid":"acc-b""#)),
        "{out}"
    );

    // The table: a block per account of the org, each by the name `accounts` gives it.
    let header = "  WINDOW                 READINGS FIRST  LAST    RATE HITS";
    let block_a = [
        format!("Team Org [{ORG1}] · account acc-a"),
        header.to_string(),
        "  5h                            3   27%   43%   32%/h    0".to_string(),
        "  7d                            2   15%   15%       –    0".to_string(),
    ];
    let block_b = [
        format!("Team Org [{ORG1}] · account acc-b"),
        header.to_string(),
        "  5h                            3    1%   12%   13%/h    0".to_string(),
        "  7d                            2    3%    3%       –    0".to_string(),
    ];
    let both: Vec<String> = block_a.iter().chain(&block_b).cloned().collect();
    assert_eq!(table_of(&env, &["history", "--org", ORG1]), both);
    assert_eq!(table_of(&env, &["history", "--account", "all"]), both);
    assert_eq!(table_of(&env, &["history", "--account", "acc-a"]), block_a);
    assert_eq!(table_of(&env, &["history"]), block_b);

    let (code, out, err) = ql(&env, &["history", "--account", "acca"]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            1,
            "",
            "quotaline: no account `acca` here\ndid you mean `acc-a`? accounts: acc-a, acc-b\n"
        )
    );

    // acc-b hits 100%: its own limit, counted in its own block only.
    reports(&mut env, &b, 100.0, 3.0, reset);
    let hits = |account: &str| table_of(&env, &["history", "--account", account])[2].clone();
    assert!(hits("acc-b").ends_with(" 1"), "{}", hits("acc-b"));
    assert!(hits("acc-a").ends_with(" 0"), "{}", hits("acc-a"));
}
