//! Issue 11: one ingest path, one definition of age. Every surface tells the same age and
//! staleness for an org fed only by Claude Code's statusLine stdin, and the scripting
//! commands survive a closed pipe.

use crate::common::*;
use serde_json::{json, Value};
use std::process::Stdio;

/// Claude Code's stdin with five-hour and weekly windows resetting in 2 h and 3 d.
fn stdin() -> Vec<u8> {
    let now = chrono::Utc::now().timestamp();
    let mut v: Value = serde_json::from_str(&payload("statusline_stdin.json")).unwrap();
    v["rate_limits"] = json!({
        "five_hour": {"used_percentage": 42, "resets_at": now + 2 * 3600},
        "seven_day": {"used_percentage": 15, "resets_at": now + 3 * 86_400},
    });
    v.to_string().into_bytes()
}

/// Each surface's word on staleness: (segment's stale marker, json's `stale`, status's
/// "(stale)", check's warning about old numbers, waybar's class).
fn verdicts(env: &TestEnv) -> (bool, bool, bool, bool, bool) {
    let (_, segment, _) = ql(env, &["segment", "--target", "plain"]);
    let (_, json, _) = ql(env, &["json"]);
    let json: Value = serde_json::from_str(&json).unwrap();
    let (_, status, _) = ql(env, &["status"]);
    let (_, _, check) = ql(env, &["check", "--max", "99"]);
    let (_, waybar, _) = ql(env, &["segment", "--target", "waybar"]);
    let waybar: Value = serde_json::from_str(&waybar).unwrap();
    (
        segment.contains(" · stale "),
        json["stale"] == true,
        status.contains("(stale)"),
        check.contains("checking numbers from"),
        waybar["class"] == "stale",
    )
}

#[test]
fn a_statusline_fed_org_has_one_age_in_segment_json_status_check_and_waybar() {
    // No credentials anywhere: stdin is the only source, and refreshes fail without a
    // request (the dead base URLs are never reached).
    let mut env = TestEnv::new();
    env.remove("QUOTALINE_SESSION_KEY");
    let (code, out, _) = ql_statusline(&env, &stdin());
    assert_eq!(code, 0);
    assert!(out.contains("42%"), "{out}");
    assert_eq!(verdicts(&env), (false, false, false, false, false));

    // Ten minutes without stdin: every surface says so.
    age_cache(&env, 600);
    assert_eq!(verdicts(&env), (true, true, true, true, true));
    let (_, json, _) = ql(&env, &["json"]);
    let json: Value = serde_json::from_str(&json).unwrap();
    assert!(json["age_seconds"].as_i64().unwrap() >= 600, "{json}");
    let (_, segment, _) = ql(&env, &["segment", "--target", "plain"]);
    assert!(segment.ends_with(" · stale 10m\n"), "{segment}");

    // A new stdin reading makes the org fresh again everywhere, full refresh or not.
    let (code, _, _) = ql_statusline(&env, &stdin());
    assert_eq!(code, 0);
    assert_eq!(verdicts(&env), (false, false, false, false, false));
}

#[test]
fn every_reading_renders_the_prompt_files_from_the_cache_it_wrote() {
    let mut env = TestEnv::new();
    env.remove("QUOTALINE_SESSION_KEY");
    ql_statusline(&env, &stdin());
    let zsh = std::fs::read_to_string(env.cache_dir.join("segment.zsh")).unwrap();
    let line = zsh.lines().nth(1).unwrap();
    assert!(
        line.starts_with("5h %F{green}42%%%f · 7d %F{green}15%%%f · ↻"),
        "{zsh}"
    );
}

#[test]
fn history_json_into_a_closed_pipe_exits_zero() {
    let server = claude_ai("usage_flat_windows.json");
    let env = TestEnv::with_server(&server);
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    // Thousands of readings: far more than one pipe buffer holds.
    let conn = rusqlite::Connection::open(env.cache_dir.join("history.db")).unwrap();
    let now = chrono::Utc::now().timestamp();
    for i in 1..3000 {
        conn.execute(
            "INSERT INTO readings (account_uuid, org_uuid, window, at, utilization, resets_at, source)
             VALUES (?1, ?2, 'five_hour', ?3, 10.0, NULL, 'claude.ai')",
            rusqlite::params![ACCOUNT_ID, ORG_IDS[0], now - i * 10],
        )
        .unwrap();
    }
    drop(conn);
    for args in [&["history", "--json"][..], &["history"][..], &["json"][..]] {
        let mut child = env
            .command(&BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read one line, then close the pipe as `head -1` does.
        let mut out = child.stdout.take().unwrap();
        let mut first = [0u8; 1];
        use std::io::Read;
        out.read_exact(&mut first).unwrap();
        drop(out);
        let result = child.wait_with_output().unwrap();
        assert_eq!(
            result.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&result.stderr)
        );
    }
}
