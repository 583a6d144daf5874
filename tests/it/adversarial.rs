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
