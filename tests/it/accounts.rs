//! Issue 26: several Claude accounts. Readings are keyed by account and org, never by org
//! alone: two logins in one Team org keep their own numbers, and Claude Code's status line
//! shows the account of the config dir it runs with.

use crate::common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const ORG1: &str = ORG_IDS[0];

fn in_secs(secs: i64) -> i64 {
    chrono::Utc::now().timestamp() + secs
}

/// Claude Code's config dir `name` under HOME, its `.claude.json` logged in to `account`
/// in ORG1 (a Team org both logins share).
fn config_dir(env: &TestEnv, name: &str, account: &str) -> PathBuf {
    let dir = env.home.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    login(&dir, account);
    dir
}

/// What `/login` leaves in `.claude.json`: the account and its org.
fn login(dir: &Path, account: &str) {
    let doc = json!({
        "oauthAccount": {
            "accountUuid": account,
            "emailAddress": format!("{account}@example.com"),
            "organizationUuid": ORG1,
            "organizationName": "Team Org",
            "organizationRateLimitTier": "default_claude_max_5x"
        }
    });
    std::fs::write(dir.join(".claude.json"), doc.to_string()).unwrap();
}

/// Claude Code's stdin object with these five-hour and weekly numbers, or none.
fn stdin(limits: Option<(f64, f64)>) -> Vec<u8> {
    let mut v: Value = serde_json::from_str(&payload("statusline_stdin.json")).unwrap();
    match limits {
        Some((five, seven)) => {
            v["rate_limits"] = json!({
                "five_hour": {"used_percentage": five, "resets_at": in_secs(7200)},
                "seven_day": {"used_percentage": seven, "resets_at": in_secs(3 * 86_400)}
            })
        }
        None => {
            v.as_object_mut().unwrap().remove("rate_limits");
        }
    }
    v.to_string().into_bytes()
}

/// The status line of Claude Code running with `dir` as its config dir, colour off, up to
/// the reset countdown.
fn line_in(env: &mut TestEnv, dir: &Path, limits: Option<(f64, f64)>) -> String {
    env.set("CLAUDE_CONFIG_DIR", &dir.display().to_string());
    let (code, out, err) = ql_statusline(env, &stdin(limits));
    assert_eq!((code, err.as_str()), (0, ""));
    out.split(" · ↻").next().unwrap().trim_end().to_string()
}

/// Each entry of ORG1 in the cache, as (account, five-hour percent).
fn team_entries(env: &TestEnv) -> Vec<(Value, Value)> {
    let v = read_cache(env);
    v["snapshot"]["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["org_uuid"] == ORG1)
        .map(|o| {
            (
                o["account_uuid"].clone(),
                o["windows"]["five_hour"]["utilization"].clone(),
            )
        })
        .collect()
}

#[test]
fn two_logins_in_one_team_org_keep_their_own_numbers_and_the_line_follows_login() {
    let mut env = TestEnv::new();
    env.set("NO_COLOR", "1");
    let a = config_dir(&env, "claude-a", "acc-a");
    let b = config_dir(&env, "claude-b", "acc-b");

    assert_eq!(line_in(&mut env, &a, Some((42.0, 15.0))), "5h 42% · 7d 15%");
    // The second login's lower number is its own, not a lagging reading of the first.
    assert_eq!(line_in(&mut env, &b, Some((7.0, 3.0))), "5h 7% · 7d 3%");
    assert_eq!(
        team_entries(&env),
        [(json!("acc-a"), json!(42.0)), (json!("acc-b"), json!(7.0))]
    );
    // Stdin without numbers: each config dir shows its own account's.
    assert_eq!(line_in(&mut env, &a, None), "5h 42% · 7d 15%");
    assert_eq!(line_in(&mut env, &b, None), "5h 7% · 7d 3%");
    // Stdin from one updates only its own account.
    assert_eq!(line_in(&mut env, &a, Some((50.0, 16.0))), "5h 50% · 7d 16%");
    assert_eq!(line_in(&mut env, &b, None), "5h 7% · 7d 3%");

    // `/login` with the other account in the first dir: the very next line is that
    // account's, never the previous one's.
    login(&a, "acc-b");
    assert_eq!(line_in(&mut env, &a, None), "5h 7% · 7d 3%");
    assert_eq!(
        team_entries(&env),
        [(json!("acc-a"), json!(50.0)), (json!("acc-b"), json!(7.0))]
    );
}
