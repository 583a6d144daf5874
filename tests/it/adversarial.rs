//! Issue 18: nothing leaked, nothing lost, no clock trap. A hostile server, a hostile local
//! user and a broken machine, each against the real binary and the loopback fake.

use crate::common::*;
use serde_json::{json, Value};

/// Everything a user could see or a file could keep, after a round of commands.
fn everything(env: &TestEnv) -> String {
    let mut seen = String::new();
    for args in [
        &["refresh", "--force"][..],
        &["json"],
        &["status"],
        &["doctor"],
        &["segment", "--target", "waybar"],
        &["check"],
    ] {
        let (_, out, err) = ql(env, args);
        seen.push_str(&out);
        seen.push_str(&err);
    }
    for entry in std::fs::read_dir(&env.cache_dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap_or_default();
        seen.push_str(&String::from_utf8_lossy(&bytes));
    }
    seen
}

#[test]
fn a_credential_with_a_non_ascii_character_is_refused_by_name_and_never_echoed() {
    let server = claude_ai("usage_flat_windows.json");
    for (var, value, secret) in [
        (
            "QUOTALINE_SESSION_KEY",
            "sk-ant-sid01-LEAKCHECK-é-aaaa",
            "LEAKCHECK",
        ),
        (
            "QUOTALINE_SESSION_KEY",
            "sk-ant-sid01-NBSP\u{a0}LEAKCHECK",
            "LEAKCHECK",
        ),
        (
            "QUOTALINE_COOKIE",
            "sessionKey=sk-ant-sid01-VALIDLEAKCHECK; theme=clair-é",
            "VALIDLEAKCHECK",
        ),
    ] {
        let mut env = TestEnv::with_server(&server);
        env.remove("QUOTALINE_SESSION_KEY").set(var, value);
        let (code, _, err) = ql(&env, &["refresh"]);
        assert_eq!(code, 1);
        assert!(err.contains(var), "names where it came from: {err}");
        assert!(err.contains("cannot be sent in an HTTP header"), "{err}");
        let seen = everything(&env);
        assert!(!seen.contains(secret), "{var}={value} leaked:\n{seen}");
    }
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[test]
fn a_server_echoing_the_session_key_gets_it_redacted_before_it_is_stored() {
    let server = claude_ai("usage_flat_windows.json");
    let key = "sk-ant-sid01-TESTKEY";
    server.route(
        "/api/account",
        Reply::json(
            403,
            &json!({"type": "error", "error": {"type": "permission_error",
                "message": format!("bad cookie sessionKey={key} from proxy")}})
            .to_string(),
        ),
    );
    let env = TestEnv::with_server(&server);
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 1);
    assert!(err.contains("bad cookie [redacted "), "{err}");
    let seen = everything(&env);
    assert!(!seen.contains(key), "the key leaked:\n{seen}");
}

#[test]
fn userinfo_cannot_smuggle_plain_http_to_another_host() {
    for url in [
        "http://localhost:1@192.0.2.2:8080",
        "http://127.0.0.1:1@192.0.2.2:8080",
        "http://[::1]:1@192.0.2.2:8080",
    ] {
        let mut env = TestEnv::new();
        env.set("QUOTALINE_SESSION_KEY", "sk-ant-sid01-TESTKEY")
            .set("QUOTALINE_CLAUDE_AI_URL", url)
            .set("QUOTALINE_SOURCES", "claude.ai");
        let (code, _, err) = ql(&env, &["refresh"]);
        assert_eq!(code, 1, "{url}");
        assert!(
            err.contains(
                "QUOTALINE_CLAUDE_AI_URL is not allowed: it holds a user name or password"
            ),
            "{url}: {err}"
        );
        assert_eq!(read_cache(&env)["state"]["error"]["kind"], "config");
    }
}

#[test]
fn org_ids_that_are_not_uuids_never_reach_a_request_path() {
    let server = claude_ai("usage_flat_windows.json");
    let mut account: Value = serde_json::from_str(&payload("account.json")).unwrap();
    account["memberships"][0]["organization"]["uuid"] = json!("../../../oauth/usage");
    account["memberships"][1]["organization"]["uuid"] = json!("x?y=1#frag");
    account["memberships"]
        .as_array_mut()
        .unwrap()
        .push(json!({"organization": {"uuid": ORG_IDS[0], "name": "Real",
            "capabilities": ["chat"]}}));
    server.route("/api/account", Reply::json(200, &account.to_string()));
    let env = TestEnv::with_server(&server);
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    let paths: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.path_only().to_string())
        .collect();
    assert!(
        paths.iter().all(|p| p == "/api/account"
            || p.starts_with(&format!("/api/organizations/{}/", ORG_IDS[0]))),
        "{paths:?}"
    );
    let v: Value = serde_json::from_str(&ql(&env, &["json"]).1).unwrap();
    assert_eq!(v["orgs"].as_array().unwrap().len(), 1);
}

/// Waits (bounded) until the fake has seen more than `n` requests.
fn wait_requests(server: &FakeServer, n: usize) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < end {
        if server.requests().len() > n {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}

#[test]
fn a_snapshot_from_a_clock_a_year_ahead_is_refreshed_at_the_next_prompt() {
    let server = claude_ai("usage_flat_windows.json");
    let env = TestEnv::with_server(&server);
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    // As if that refresh ran under a clock a year ahead.
    age_cache(&env, -365 * 86_400);
    let before = server.requests().len();
    assert_eq!(ql(&env, &["segment"]).0, 0);
    assert!(
        wait_requests(&server, before),
        "the prompt started no refresh"
    );
}

#[test]
fn a_backoff_never_outlasts_a_day_and_force_always_fetches() {
    let server = claude_ai("usage_flat_windows.json");
    server.route(
        &usage_path(ORG_IDS[0]),
        Reply::json(429, &payload("error_rate_limit.json"))
            .header("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT"),
    );
    let env = TestEnv::with_server(&server);
    assert_eq!(ql(&env, &["refresh"]).0, 1);
    let v = read_cache(&env);
    let retry =
        chrono::DateTime::parse_from_rfc3339(v["state"]["error"]["retry_at"].as_str().unwrap())
            .unwrap();
    let secs = (retry.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds();
    assert!((86_000..=86_400).contains(&secs), "{secs}");
    let before = server.requests().len();
    assert_eq!(ql(&env, &["refresh"]).0, 1, "a plain refresh honours it");
    assert_eq!(server.requests().len(), before);
    ql(&env, &["refresh", "--force"]);
    assert!(server.requests().len() > before, "--force always fetches");
}

#[test]
fn a_body_nested_deep_is_stored_so_that_it_reads_back() {
    let mut usage: Value = serde_json::from_str(&shifted("usage_flat_windows.json")).unwrap();
    let mut deep = json!(1);
    for _ in 0..125 {
        deep = json!([deep]);
    }
    usage["deep"] = deep;
    let server = claude_ai("usage_flat_windows.json");
    for org in ORG_IDS {
        server.route(&usage_path(org), Reply::json(200, &usage.to_string()));
    }
    let env = TestEnv::with_server(&server);
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    let (code, out, _) = ql(&env, &["json"]);
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["orgs"].as_array().unwrap().len(), 2);
    assert_eq!(ql(&env, &["check", "--max", "99"]).0, 0);
}

#[test]
fn an_unreadable_cache_is_moved_aside_never_taken_for_empty() {
    let server = claude_ai("usage_flat_windows.json");
    let env = TestEnv::with_server(&server);
    std::fs::write(
        env.cache_dir.join("cache.json"),
        b"{\"schema\": 1, \"snapshot\": [trunc",
    )
    .unwrap();
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    assert!(env.cache_dir.join("cache.json.bad").is_file());
    let (_, status, _) = ql(&env, &["status"]);
    assert!(status.contains("cache recovered: "), "{status}");
    assert!(status.contains("moved aside to"), "{status}");
}

#[test]
fn twenty_prompts_on_a_cache_that_cannot_be_written_make_one_fetch() {
    let server = claude_ai("usage_flat_windows.json");
    let env = TestEnv::with_server(&server);
    // A directory where the cache should be, and a non-empty one where it would be moved:
    // every write fails, whoever runs it (root included).
    std::fs::create_dir_all(env.cache_dir.join("cache.json/x")).unwrap();
    std::fs::create_dir_all(env.cache_dir.join("cache.json.bad/x")).unwrap();
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 1, "{err}");
    let after_first = server.requests().len();
    assert!(after_first > 0);
    for _ in 0..20 {
        assert_eq!(ql(&env, &["segment"]).0, 0);
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        server.requests().len(),
        after_first,
        "no fetch within the TTL"
    );
}

#[test]
fn a_loose_cache_dir_is_tightened_and_another_users_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let server = claude_ai("usage_flat_windows.json");
    let env = TestEnv::with_server(&server);
    std::fs::set_permissions(&env.cache_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (_, doctor, _) = ql(&env, &["doctor"]);
    assert!(
        doctor.contains("cache dir: was mode 0777, tightened to 0700"),
        "{doctor}"
    );
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    let mode = std::fs::metadata(&env.cache_dir)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700);
    // Another user's dir (the tests run as root in CI: give it away to `nobody`).
    if rustix::process::geteuid().is_root() {
        std::os::unix::fs::chown(&env.cache_dir, Some(65534), Some(65534)).unwrap();
        let (code, _, err) = ql(&env, &["refresh", "--force"]);
        assert_eq!(code, 1);
        assert!(err.contains("owned by uid 65534"), "{err}");
        assert_eq!(ql(&env, &["segment"]).0, 0);
    }
}

#[test]
fn history_db_is_never_chmoded_through_a_link() {
    use std::os::unix::fs::PermissionsExt;
    let server = claude_ai("usage_flat_windows.json");
    let env = TestEnv::with_server(&server);
    let victim = env.home.path().join("victim");
    std::fs::write(&victim, b"mine").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::symlink(&victim, env.cache_dir.join("history.db")).unwrap();
    assert_eq!(ql(&env, &["refresh"]).0, 0, "history never fails a refresh");
    let mode = std::fs::metadata(&victim).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    assert_eq!(std::fs::read(&victim).unwrap(), b"mine");
}

#[test]
fn statusline_readings_are_stamped_when_they_arrive_and_never_rewrite_a_refreshs_row() {
    let server = claude_ai("usage_flat_windows.json");
    let env = TestEnv::with_server(&server);
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    // A second later: in the same second, the newer reading would be the one kept (issue 22).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let v = read_cache(&env);
    let reset = chrono::DateTime::parse_from_rfc3339(
        v["snapshot"]["orgs"][0]["windows"]["five_hour"]["resets_at"]
            .as_str()
            .unwrap(),
    )
    .unwrap()
    .timestamp();
    for pct in [40, 45, 50] {
        let stdin =
            json!({"rate_limits": {"five_hour": {"used_percentage": pct, "resets_at": reset}}});
        let (code, _, _) = ql_statusline(&env, stdin.to_string().as_bytes());
        assert_eq!(code, 0);
        std::thread::sleep(std::time::Duration::from_millis(1200));
    }
    let conn = rusqlite::Connection::open(env.cache_dir.join("history.db")).unwrap();
    let rows: Vec<(f64, String)> = conn
        .prepare("SELECT utilization, source FROM readings WHERE window = 'five_hour' ORDER BY at, source")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let from_stdin: Vec<f64> = rows
        .iter()
        .filter(|r| r.1 == "statusline")
        .map(|r| r.0)
        .collect();
    assert_eq!(from_stdin, [40.0, 45.0, 50.0], "{rows:?}");
    let from_refresh: Vec<f64> = rows
        .iter()
        .filter(|r| r.1 == "claude.ai")
        .map(|r| r.0)
        .collect();
    assert_eq!(
        from_refresh,
        [37.0, 37.0],
        "both orgs' refresh rows, unchanged: {rows:?}"
    );
}

#[test]
fn absurd_durations_and_nesting_are_clear_errors() {
    let env = TestEnv::new();
    let (code, _, err) = ql(&env, &["history", "--since", "300000000d"]);
    assert_ne!(code, 0);
    assert!(err.contains("too long (at most 3650d)"), "{err}");
    let deep = "(".repeat(50_000);
    let (code, _, err) = ql(&env, &["segment", "--format", &deep]);
    assert_eq!(code, 64);
    assert!(err.contains("groups nested deeper than 16"), "{err}");
    env.config(&format!("format = \"{deep}\"\n"));
    let (code, out, _) = ql(&env, &["config"]);
    assert_eq!(code, 1);
    assert!(out.contains("nested deeper than 16"), "{out}");
}
