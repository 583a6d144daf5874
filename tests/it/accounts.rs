//! Issue 26: several Claude accounts. Readings are keyed by account and org, never by org
//! alone: two logins in one Team org keep their own numbers, and Claude Code's status line
//! shows the account of the config dir it runs with.

use crate::common::*;
use serde_json::{json, Value};
use std::path::Path;

const ORG1: &str = ORG_IDS[0];

fn in_secs(secs: i64) -> i64 {
    chrono::Utc::now().timestamp() + secs
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
    let a = team_login(&env, "claude-a", "acc-a");
    let b = team_login(&env, "claude-b", "acc-b");

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
    relogin(&a, "acc-b");
    assert_eq!(line_in(&mut env, &a, None), "5h 7% · 7d 3%");
    assert_eq!(
        team_entries(&env),
        [(json!("acc-a"), json!(50.0)), (json!("acc-b"), json!(7.0))]
    );

    // The second login crosses 90% in the shared org: the event (and the hook's JSON) names
    // its account, and the first login's 50% fires nothing.
    assert_eq!(line_in(&mut env, &b, Some((95.0, 3.0))), "5h 95% · 7d 3%");
    let (code, out, err) = ql(&env, &["events", "--json"]);
    assert_eq!((code, err.as_str()), (0, ""));
    let fired: Vec<(Value, Value, Value)> = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|e| (e["kind"].clone(), e["level"].clone(), e["account"].clone()))
        .collect();
    assert_eq!(fired, [(json!("threshold"), json!("crit"), json!("acc-b"))]);
}

const PERSONAL_KEY: &str = "sk-ant-sid01-PERSONAL-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const WORK_KEY: &str = "sk-ant-sid01-WORKSEAT-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const WORK_ID: &str = "0b0b0b0b-0000-4000-8000-00000000a0c2";
const WORK_ORG: &str = "3c3c3c3c-3333-4a2b-9c3d-000000000003";

/// One Chromium profile logged in to claude.ai with `key`, last used `ago` seconds ago.
fn chrome_profile(env: &TestEnv, profile: &str, key: &str, ago: i64) {
    use crate::common::browsers::*;
    let at = chrono::Utc::now().timestamp() - ago;
    write_chromium_db(
        &env.home
            .path()
            .join(".config/google-chrome")
            .join(profile)
            .join("Cookies"),
        24,
        &[
            ChromiumCookie::new(".claude.ai", "sessionKey", key, Stored::v10_linux())
                .last_access(at),
        ],
    );
}

/// The fake claude.ai for two logins: the personal one (the fake's usual account, both
/// usual orgs, 37%/58%) and a work one in an org of its own (12%/64%).
fn two_logins() -> FakeServer {
    let server = claude_ai("usage_flat_windows.json");
    let work = json!({
        "uuid": WORK_ID,
        "email_address": "me@work.example",
        "memberships": [{"organization": {
            "uuid": WORK_ORG, "name": "Work Team",
            "rate_limit_tier": "default_claude_max_5x", "capabilities": ["chat"]
        }}]
    });
    server.route_for_cookie(
        "/api/account",
        WORK_KEY,
        vec![Reply::json(200, &work.to_string())],
    );
    let usage = json!({
        "five_hour": {"utilization": 12.0, "resets_at": (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339()},
        "seven_day": {"utilization": 64.0, "resets_at": (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339()}
    });
    let base = format!("/api/organizations/{WORK_ORG}");
    server.route(
        &format!("{base}/usage"),
        Reply::json(200, &usage.to_string()),
    );
    server.route(
        &format!("{base}/overage_spend_limit"),
        Reply::json(200, &payload("overage_spend_limit.json")),
    );
    server.route(
        &format!("{base}/subscription_details"),
        Reply::json(200, &payload("subscription_details.json")),
    );
    server
}

fn two_profiles(server: &FakeServer) -> TestEnv {
    let mut env = TestEnv::with_server(server);
    env.remove("QUOTALINE_SESSION_KEY");
    env.set("NO_COLOR", "1");
    chrome_profile(&env, "Default", PERSONAL_KEY, 10);
    chrome_profile(&env, "Profile 1", WORK_KEY, 3600);
    env
}

/// From now on the login `needle` names (a session key, an OAuth token) gets a 401 at `path`,
/// and the personal account's orgs have moved on (23%).
fn expire(server: &FakeServer, path: &str, needle: &str) {
    server.route_for_cookie(path, needle, vec![Reply::expired()]);
    for org in ORG_IDS {
        server.route(
            &usage_path(org),
            Reply::json(200, &shifted("usage_limits_array.json")),
        );
    }
}

/// The org `org` in `json`'s output.
fn org_in<'a>(v: &'a Value, org: &str) -> &'a Value {
    v["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["org_uuid"] == org)
        .unwrap()
}

fn json_of(env: &TestEnv) -> Value {
    let (_, out, err) = ql(env, &["json"]);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"))
}

/// Each org in `json` as (account, org, five-hour percent).
fn readings(v: &Value) -> Vec<(String, String, f64)> {
    v["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["account_uuid"].as_str().unwrap_or("-").to_string(),
                o["org_uuid"].as_str().unwrap().to_string(),
                o["windows"]["five_hour"]["utilization"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// Refreshes, and `json` after it: the personal account's two orgs at 37%, the work one's at
/// 12%, each under its own account.
fn both_accounts_read(env: &TestEnv) -> Value {
    let (code, _, err) = ql(env, &["refresh"]);
    assert_eq!((code, err.as_str()), (0, ""));
    let v = json_of(env);
    let mine = |org: &str| (ACCOUNT_ID.to_string(), org.to_string(), 37.0);
    assert_eq!(
        readings(&v),
        [
            mine(ORG_IDS[0]),
            mine(ORG_IDS[1]),
            (WORK_ID.to_string(), WORK_ORG.to_string(), 12.0)
        ]
    );
    v
}

#[test]
fn two_browser_profiles_logged_in_to_two_accounts_each_keep_their_numbers() {
    let server = two_logins();
    let env = two_profiles(&server);
    let v = both_accounts_read(&env);
    assert_eq!(v["accounts"][1]["account_uuid"], WORK_ID);
    assert_eq!(v["accounts"][1]["email"], "me@work.example");
    assert_eq!(v["accounts"][1]["orgs"], json!([WORK_ORG]));
    assert_eq!(v["accounts"][1]["session"], "Chrome (Profile 1)");
    // The most recently used profile's account is the one the line shows.
    let (_, line, _) = ql(&env, &["segment"]);
    assert!(line.starts_with("5h 37% · 7d 58%"), "{line:?}");
    // `{5h@NAME}` reaches the other account; each goes by its email's local part.
    let (_, line, err) = ql(
        &env,
        &[
            "segment",
            "--format",
            "{5h} {7d} · work {5h@me} {7d@me} · {5h@dev}",
        ],
    );
    assert_eq!(
        (line.as_str(), err.as_str()),
        ("37% 58% · work 12% 64% · 37%\n", "")
    );
    // Each org was asked for with its own login's key only.
    for r in server.requests() {
        let cookie = r.header("cookie").unwrap_or_default();
        if r.path.contains(WORK_ORG) {
            assert!(
                cookie.contains(WORK_KEY) && !cookie.contains(PERSONAL_KEY),
                "{}",
                r.path
            );
        } else if r.path.contains("/api/organizations/") {
            assert!(
                cookie.contains(PERSONAL_KEY) && !cookie.contains(WORK_KEY),
                "{}",
                r.path
            );
        }
    }

    // Both accounts in the metrics, told apart by their `account` label.
    let (_, metrics, _) = ql(&env, &["metrics"]);
    crate::metrics::assert_promtool_accepts(&metrics);
    for (account, org, pct) in [(ACCOUNT_ID, ORG_IDS[0], 37), (WORK_ID, WORK_ORG, 12)] {
        let series =
            format!("quotaline_utilization_percent{{org_uuid=\"{org}\",account=\"{account}\",");
        let line = metrics
            .lines()
            .find(|l| l.starts_with(&series) && l.contains("five_hour"));
        assert!(
            line.is_some_and(|l| l.ends_with(&format!(" {pct}"))),
            "{series}\n{metrics}"
        );
    }

    // `check` judges the shown account, the one named, or every one.
    let code = |args: &[&str]| {
        ql(
            &env,
            &[&["check", "--max", "30", "--window", "5h"][..], args].concat(),
        )
        .0
    };
    assert_eq!(code(&[]), 1, "dev is at 37%");
    assert_eq!(code(&["--account", "me"]), 0, "me is at 12%");
    assert_eq!(code(&["--account", "dev"]), 1);
    assert_eq!(code(&["--account", "all"]), 1);
    let (_, out, _) = ql(&env, &["check", "--max", "50", "--account", "all"]);
    assert!(
        out.starts_with("dev:\n") && out.contains("\nme:\n"),
        "{out}"
    );
    let (no, _, err) = ql(&env, &["check", "--account", "mee"]);
    assert_eq!(
        (no, err.as_str()),
        (
            2,
            "quotaline: no account `mee` here\ndid you mean `me`? accounts: dev, me\n"
        )
    );

    let (code, out, err) = ql(&env, &["accounts"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out,
        "* dev: dev@example.com, from Chrome (Default); orgs: dev@example.com's Organization, \
         Example Team\n  me: me@work.example, from Chrome (Profile 1); orgs: Work Team\n"
    );

    // The work session expires: its numbers stay, with their age and its own error; the
    // personal account refreshes as usual.
    expire(&server, "/api/account", WORK_KEY);
    let (code, _, err) = ql(&env, &["refresh", "--force"]);
    assert_eq!((code, err.as_str()), (0, ""));
    let v = json_of(&env);
    let work = org_in(&v, WORK_ORG);
    assert_eq!(work["windows"]["five_hour"]["utilization"], 12.0);
    assert_eq!(work["account_uuid"], WORK_ID);
    assert_eq!(
        v["error"],
        Value::Null,
        "the personal account's refresh is clean"
    );
    let error = &v["accounts"][1]["error"];
    assert_eq!(error["kind"], "unauthorized", "{v}");
    assert!(!error.to_string().contains("WORKSEAT") && !error.to_string().contains("PERSONAL"));
    let personal = org_in(&v, ORG_IDS[0]);
    assert_eq!(personal["windows"]["five_hour"]["utilization"], 23.0);
    let (_, line, _) = ql(&env, &["segment"]);
    assert!(line.starts_with("5h 23% · 7d 64%"), "{line:?}");
    // `status` names each org's account, and the expired one's own error under its org.
    let (_, status, _) = ql(&env, &["status"]);
    let work = &status[status.find("Work Team").unwrap()..];
    assert!(
        work.contains("\n  account       me@work.example (me)\n"),
        "{status}"
    );
    assert!(
        work.contains("\n  its error     claude.ai session expired or invalid (HTTP 401) ("),
        "{status}"
    );
    assert!(
        status.contains("account       dev@example.com (dev)\n"),
        "{status}"
    );
    assert_eq!(status.matches("its error").count(), 1, "{status}");
    let (_, out, _) = ql(&env, &["accounts"]);
    assert_eq!(
        out.lines().nth(2).unwrap_or_default(),
        "    last error: claude.ai session expired or invalid (HTTP 401)",
        "{out}"
    );
}

#[test]
fn config_names_accounts_picks_the_shown_one_and_doctor_names_one_not_found() {
    let server = two_logins();
    let env = two_profiles(&server);
    env.config(
        "[account.work]\nbrowser = \"Profile 1\"\ndefault = true\n\
         [account.old]\nclaude_config_dir = \"/nowhere/claude\"\n",
    );
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!((code, err.as_str()), (0, ""));
    // The configured name, and the line shows that account.
    let (_, out, _) = ql(&env, &["accounts"]);
    assert_eq!(
        out,
        "  dev: dev@example.com, from Chrome (Default); orgs: dev@example.com's Organization, \
         Example Team\n* work: me@work.example, from Chrome (Profile 1); orgs: Work Team\n"
    );
    let (_, line, _) = ql(&env, &["segment"]);
    assert!(line.starts_with("5h 12% · 7d 64%"), "{line:?}");
    let (_, line, _) = ql(&env, &["segment", "--format", "{5h@dev} {5h@work}"]);
    assert_eq!(line, "37% 12%\n");
    // `check` judges the account the line shows (work at 12%), as its help says.
    assert_eq!(ql(&env, &["check", "--max", "30", "--window", "5h"]).0, 0);
    assert_eq!(
        ql(
            &env,
            &["check", "--max", "30", "--window", "5h", "--account", "dev"]
        )
        .0,
        1
    );
    let (_, doctor, _) = ql(&env, &["doctor"]);
    let said: Vec<&str> = doctor
        .lines()
        .filter(|l| l.starts_with("account:"))
        .collect();
    assert_eq!(
        said,
        [
            "account: [account.old] names no account found: no session or Claude Code login \
          where it says has been read (see `quotaline accounts`)"
        ]
    );
}

const WORK_TOKEN: &str = "sk-ant-oat01-WORKDIR";

/// Claude Code's login in `dir` (its `.credentials.json` holding `token`, its `.claude.json`
/// naming `account` in `org`).
fn claude_code_login(dir: &Path, token_tail: &str, account: &str, email: &str, org: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join(".credentials.json"),
        payload("claude_credentials.json").replace("EXAMPLE-NOT-A-REAL-TOKEN", token_tail),
    )
    .unwrap();
    let doc = json!({"oauthAccount": {
        "accountUuid": account, "emailAddress": email,
        "organizationUuid": org, "organizationName": "Work Team",
        "organizationRateLimitTier": "default_claude_max_5x"
    }});
    std::fs::write(dir.join(".claude.json"), doc.to_string()).unwrap();
}

/// The OAuth endpoint answering the work login's token only (12%/64%).
fn work_over_oauth(server: &FakeServer) {
    let usage = json!({
        "five_hour": {"utilization": 12.0, "resets_at": (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339()},
        "seven_day": {"utilization": 64.0, "resets_at": (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339()}
    });
    server.route_for_cookie(
        "/api/oauth/usage",
        WORK_TOKEN,
        vec![Reply::json(200, &usage.to_string())],
    );
}

/// The personal account's browser profile, and the fake's OAuth endpoint answering the work
/// login's token.
fn personal_browser(server: &FakeServer) -> TestEnv {
    work_over_oauth(server);
    let mut env = TestEnv::with_server(server);
    env.remove("QUOTALINE_SESSION_KEY").set("NO_COLOR", "1");
    chrome_profile(&env, "Default", PERSONAL_KEY, 10);
    env
}

/// Claude Code's usual login (`~/.claude`, `~/.claude.json`); its config dir.
fn usual_login(
    env: &TestEnv,
    token_tail: &str,
    account: &str,
    email: &str,
    org: &str,
) -> std::path::PathBuf {
    let usual = env.home.path().join(".claude");
    claude_code_login(&usual, token_tail, account, email, org);
    std::fs::rename(
        usual.join(".claude.json"),
        env.home.path().join(".claude.json"),
    )
    .unwrap();
    usual
}

fn bearers(server: &FakeServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .filter(|r| r.path_only() == "/api/oauth/usage")
        .map(|r| r.header("authorization").unwrap_or_default().to_string())
        .collect()
}

#[test]
fn a_claude_code_config_dir_named_in_config_is_refreshed_over_oauth_on_its_own() {
    let server = two_logins();
    let env = personal_browser(&server);
    // Claude Code's usual login is the browser's account: it is not asked again.
    usual_login(
        &env,
        "EXAMPLE-NOT-A-REAL-TOKEN",
        ACCOUNT_ID,
        "dev@example.com",
        ORG_IDS[0],
    );
    let work = env.home.path().join("work-claude");
    claude_code_login(&work, "WORKDIR", WORK_ID, "me@work.example", WORK_ORG);
    env.config("[account.work]\nclaude_config_dir = \"~/work-claude\"\n");

    both_accounts_read(&env);
    // Only the named dir's token went to the OAuth endpoint, once.
    assert_eq!(bearers(&server), [format!("Bearer {WORK_TOKEN}")]);
    let (_, out, _) = ql(&env, &["accounts"]);
    assert_eq!(
        out,
        format!(
            "* dev: dev@example.com, from Chrome (Default), Claude Code's login; orgs: \
             dev@example.com's Organization, Example Team\n  work: me@work.example, from \
             Claude Code ({}); orgs: Work Team\n",
            work.display()
        )
    );
    let (_, line, _) = ql(&env, &["segment", "--format", "{5h} {5h@work} {7d@work}"]);
    assert_eq!(line, "37% 12% 64%\n");
    let (_, doctor, _) = ql(&env, &["doctor"]);
    assert!(
        !doctor.contains("[account.work] names no account"),
        "{doctor}"
    );
    assert!(
        doctor.contains(&format!(
            "Claude Code ({}) ([account.NAME] claude_config_dir)\n  Claude Code login: \
             {}/.credentials.json · sk-ant-…",
            work.display(),
            work.display()
        )),
        "{doctor}"
    );
    assert!(!doctor.contains("WORKDIR"), "{doctor}");

    // Within its interval it is not asked again; a refresh that is due asks it again.
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    assert_eq!(bearers(&server).len(), 1);

    // Its login expires: its numbers stay with its own error; the browser's account
    // refreshes as usual, and the line is clean.
    expire(&server, "/api/oauth/usage", WORK_TOKEN);
    let (code, _, err) = ql(&env, &["refresh", "--force"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(bearers(&server).len(), 2);
    let v = json_of(&env);
    assert_eq!(v["error"], Value::Null);
    let work_org = org_in(&v, WORK_ORG);
    assert_eq!(work_org["windows"]["five_hour"]["utilization"], 12.0);
    assert_eq!(v["accounts"][1]["error"]["kind"], "unauthorized", "{v}");
    assert!(!v.to_string().contains("WORKDIR"), "no token in json");
    let (_, out, _) = ql(&env, &["accounts"]);
    assert_eq!(
        out.lines().nth(2).unwrap_or_default(),
        "    last error: Claude Code login expired or revoked: run `claude` once (HTTP 401 \
         from api.anthropic.com)",
        "{out}"
    );
    let (_, line, _) = ql(&env, &["segment"]);
    assert!(line.starts_with("5h 23% · 7d 64%"), "{line:?}");
    for file in std::fs::read_dir(&env.cache_dir).unwrap() {
        let bytes = std::fs::read(file.unwrap().path()).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains("WORKDIR"));
    }
    // Its `.claude.json` is read again only after Claude Code wrote it: `/login` there with
    // the browser's account makes it a login already read, and it is not asked again.
    let origin = format!("Claude Code ({})", work.display());
    assert_eq!(
        read_cache(&env)["sessions"][&origin]["claude_json"]["value"],
        WORK_ID
    );
    claude_code_login(&work, "WORKDIR", ACCOUNT_ID, "dev@example.com", ORG_IDS[0]);
    assert_eq!(ql(&env, &["refresh", "--force"]).0, 0);
    assert_eq!(
        bearers(&server).len(),
        2,
        "not asked for an account read already"
    );
    assert_eq!(
        read_cache(&env)["sessions"][&origin]["claude_json"]["value"],
        ACCOUNT_ID
    );
}

#[test]
fn claude_codes_usual_login_to_another_account_is_refreshed_beside_the_browsers() {
    let server = two_logins();
    let env = personal_browser(&server);
    let usual = usual_login(&env, "WORKDIR", WORK_ID, "me@work.example", WORK_ORG);

    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(bearers(&server), [format!("Bearer {WORK_TOKEN}")]);
    let v = json_of(&env);
    assert!(readings(&v).contains(&(WORK_ID.to_string(), WORK_ORG.to_string(), 12.0)));
    let (_, out, _) = ql(&env, &["accounts"]);
    assert!(
        out.contains(&format!(
            "me: me@work.example, from Claude Code ({}), Claude Code's login; orgs: Work Team",
            usual.display()
        )),
        "{out}"
    );
    // Claude Code's login is the one the line shows when it is known (issue 26).
    let (_, line, _) = ql(&env, &["segment"]);
    assert!(line.starts_with("5h 12% · 7d 64%"), "{line:?}");
}

#[test]
fn a_session_file_beside_the_session_key_variable_is_another_login() {
    let server = two_logins();
    let mut env = TestEnv::with_server(&server);
    env.set("QUOTALINE_SESSION_KEY", PERSONAL_KEY)
        .set("NO_COLOR", "1");
    let file = env.home.path().join(".config/quotaline/session");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, WORK_KEY).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    env.config(&format!(
        "[account.work]\nsession = \"{}\"\n",
        file.display()
    ));

    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!((code, err.as_str()), (0, ""));
    let v = json_of(&env);
    assert!(
        readings(&v).contains(&(WORK_ID.to_string(), WORK_ORG.to_string(), 12.0)),
        "{v}"
    );
    let (_, out, _) = ql(&env, &["accounts"]);
    assert!(
        out.starts_with("* dev: dev@example.com, from QUOTALINE_SESSION_KEY; "),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "  work: me@work.example, from {}; orgs: Work Team",
            file.display()
        )),
        "{out}"
    );
    let (_, line, _) = ql(&env, &["segment", "--format", "{5h} {5h@work}"]);
    assert_eq!(line, "37% 12%\n");
}
