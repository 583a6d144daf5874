//! Issue 2: the three-endpoint join, the cache, and a segment that never waits.

use crate::common::*;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

const ORG1: &str = ORG_IDS[0];
const ORG2: &str = ORG_IDS[1];

fn json(env: &TestEnv) -> (i32, Value) {
    let (code, out, err) = ql(env, &["json"]);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    (code, v)
}

#[test]
fn segment_shows_windows_models_and_next_reset_from_flat_payload() {
    let (_server, env) = refreshed_with("usage_flat_windows.json");
    let (code, out, err) = ql(&env, &["segment"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, "5h 37% · 7d 58% · opus 71% · ↻1h12m\n");
    let (code, bare, _) = ql(&env, &[]);
    assert_eq!((code, bare), (0, out));
}

/// A host name, not an address: the name is resolved (`/etc/hosts`, the C library's resolver;
/// in the static build musl's own) before the fetch. The release binaries are static, so
/// this runs against one of them too (scripts/test-package).
#[test]
fn a_base_url_by_host_name_is_resolved_and_fetched() {
    let server = claude_ai("usage_flat_windows.json");
    let mut env = TestEnv::with_server(&server);
    let url = server.url().replace("127.0.0.1", "localhost");
    env.set("QUOTALINE_CLAUDE_AI_URL", &url)
        .set("QUOTALINE_ANTHROPIC_API_URL", &url);
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(server.count("/api/account"), 1);
    let (_, out, _) = ql(&env, &["segment"]);
    assert_eq!(out, "5h 37% · 7d 58% · opus 71% · ↻1h12m\n");
}

#[test]
fn limits_array_payload_names_every_model_window() {
    let (_server, env) = refreshed_with("usage_limits_array.json");
    let (_, out, _) = ql(&env, &["segment"]);
    assert_eq!(out, "5h 23% · 7d 64% · opus 81% · sonnet 9% · ↻42m\n");
    let (code, v) = json(&env);
    assert_eq!(code, 0);
    let org = &v["orgs"][0];
    assert_eq!(org["windows"]["seven_day_opus"]["utilization"], 81.0);
    assert_eq!(org["windows"]["five_hour"]["utilization"], 23.0);
    assert_eq!(org["extra_usage"]["used"], 12.34);
    assert_eq!(org["extra_usage"]["limit"], 50.0);
    assert_eq!(org["extra_usage"]["currency"], "USD");
}

#[test]
fn requests_are_exactly_the_settings_page_join_in_order() {
    let (server, _env) = refreshed_with("usage_flat_windows.json");
    let paths: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    let mut expected = vec!["/api/account".to_string()];
    for org in [ORG1, ORG2] {
        for part in ["usage", "overage_spend_limit", "subscription_details"] {
            expected.push(format!("/api/organizations/{org}/{part}"));
        }
    }
    assert_eq!(paths, expected);
    for r in server.requests() {
        assert_eq!(r.method, "GET");
        assert_eq!(r.header("cookie"), Some("sessionKey=sk-ant-sid01-TESTKEY"));
        assert_eq!(
            r.header("referer"),
            Some("https://claude.ai/settings/usage")
        );
        assert_eq!(r.header("accept"), Some("*/*"));
        assert!(r.header("user-agent").unwrap().starts_with("Mozilla/5.0"));
    }
}

#[test]
fn json_has_the_documented_schema_with_plan_money_and_billing() {
    let (_server, env) = refreshed_with("usage_flat_windows.json");
    let (code, v) = json(&env);
    assert_eq!(code, 0);
    assert_eq!(v["schema"], 1);
    assert_eq!(v["source"], "claude.ai");
    assert_eq!(v["stale"], false);
    assert!(v["age_seconds"].as_i64().unwrap() < 30);
    assert_eq!(v["error"], Value::Null);
    assert_eq!(v["active_org"], ORG1);
    let org = &v["orgs"][0];
    assert_eq!(org["org_uuid"], ORG1);
    assert_eq!(org["org_name"], "dev@example.com's Organization");
    assert_eq!(org["email"], "dev@example.com");
    assert_eq!(org["plan"], "Max 20x");
    assert_eq!(org["windows"]["five_hour"]["utilization"], 37.0);
    assert_eq!(
        org["windows"]["seven_day_oauth_apps"]["resets_at"],
        Value::Null
    );
    assert!(org["windows"].get("seven_day_sonnet").is_none());
    assert_eq!(org["extra_usage"]["used"], 12.34);
    assert_eq!(org["extra_usage"]["out_of_credits"], false);
    assert_eq!(org["subscription"]["status"], "active");
    assert_eq!(org["subscription"]["next_charge_date"], "2026-12-04");
    assert_eq!(org["subscription"]["card"]["last4"], "4242");
    assert_eq!(org["raw"]["usage"]["five_hour"]["utilization"], 37.0);
    assert_eq!(
        org["raw"]["subscription_details"]["billing_interval"],
        "monthly"
    );
    assert_eq!(v["orgs"][1]["plan"], "Pro");
    let (_, only) = {
        let (c, out, _) = ql(&env, &["json", "--org", ORG2]);
        (c, serde_json::from_str::<Value>(&out).unwrap())
    };
    assert_eq!(only["orgs"].as_array().unwrap().len(), 1);
    assert_eq!(only["orgs"][0]["org_uuid"], ORG2);
}

#[test]
fn enterprise_org_without_windows_shows_extra_usage_not_zero() {
    let (_server, env) = refreshed_with("usage_enterprise.json");
    let (_, v) = json(&env);
    assert_eq!(v["orgs"][0]["windows"], serde_json::json!({}));
    // The overage endpoint is the dedicated one: its numbers win over /usage's copy.
    assert_eq!(v["orgs"][0]["extra_usage"]["used"], 12.34);
    let (_, out, _) = ql(&env, &["segment"]);
    assert_eq!(out, "extra $12.34/$50\n");
}

#[test]
fn out_of_credits_is_reported_with_pause_date() {
    let server = claude_ai("usage_flat_windows.json");
    server.route(
        &format!("/api/organizations/{ORG1}/overage_spend_limit"),
        Reply::json(200, &payload("overage_out_of_credits.json")),
    );
    let env = TestEnv::with_server(&server);
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    let (_, v) = json(&env);
    let extra = &v["orgs"][0]["extra_usage"];
    assert_eq!(extra["used"], 202.14);
    assert_eq!(extra["limit"], 200.0);
    assert_eq!(extra["out_of_credits"], true);
    assert_eq!(extra["disabled_until"], "2026-12-01T00:00:00Z");
    let (_, status, _) = ql(&env, &["status"]);
    assert!(
        status
            .contains("$202.14 / $200 spent · OUT OF CREDITS · paused until 2026-12-01T00:00:00Z"),
        "{status}"
    );
}

#[test]
fn billing_404s_are_soft() {
    let server = claude_ai("usage_limits_array.json");
    for org in ORG_IDS {
        for part in ["overage_spend_limit", "subscription_details"] {
            server.route(
                &format!("/api/organizations/{org}/{part}"),
                Reply::json(
                    404,
                    r#"{"type":"error","error":{"type":"not_found_error"}}"#,
                ),
            );
        }
    }
    let env = TestEnv::with_server(&server);
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    let (_, v) = json(&env);
    assert_eq!(v["orgs"][0]["subscription"], Value::Null);
    assert_eq!(
        v["orgs"][0]["extra_usage"]["used"], 12.34,
        "from /usage's spend"
    );
}

#[test]
fn status_reports_windows_billing_and_source() {
    let (_server, env) = refreshed_with("usage_flat_windows.json");
    let (code, out, _) = ql(&env, &["status"]);
    assert_eq!(code, 0);
    for needle in [
        "dev@example.com's Organization (active)",
        "account       dev@example.com",
        "plan          Max 20x",
        "5h              37%  resets ",
        "(in 1h12m)",
        "opus            71%",
        "oauth_apps      12%  no reset time",
        "extra usage   $12.34 / $50 spent",
        "subscription  active, monthly · next charge 2026-12-04 · visa ••4242",
        "source claude.ai · fetched ",
        "last error: none",
        "Example Team [9e8d7c6b-2222-4a2b-9c3d-000000000002]",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
}

/// Runs a refresh that fails against `server`, after one that succeeded.
fn fail_after_success(server: &FakeServer, env: &TestEnv) -> (i32, String, Value) {
    let (code, _, err) = ql(env, &["refresh", "--force"]);
    let (_, v) = json(env);
    let _ = server;
    (code, err, v)
}

fn break_usage(server: &FakeServer, reply: Reply) {
    server.route(&usage_path(ORG1), reply);
}

#[test]
fn unrecognized_payload_is_a_parse_error_and_keeps_numbers() {
    let (server, env) = refreshed_with("usage_flat_windows.json");
    break_usage(&server, Reply::json(200, r#"{"fiveHour": {"pct": 12}}"#));
    let (code, err, v) = fail_after_success(&server, &env);
    assert_eq!(code, 1);
    assert!(err.contains("unrecognized usage payload"), "{err}");
    assert_eq!(v["error"]["kind"], "parse");
    assert_eq!(v["orgs"][0]["windows"]["five_hour"]["utilization"], 37.0);
    let (_, out, _) = ql(&env, &["segment"]);
    assert!(out.starts_with("5h 37% · 7d 58%"), "{out}");
}

#[test]
fn cloudflare_challenge_is_named_as_such() {
    let (server, env) = refreshed_with("usage_flat_windows.json");
    break_usage(
        &server,
        Reply::html(403, &payload("error_cloudflare_challenge.html"))
            .header("cf-mitigated", "challenge"),
    );
    let (code, err, v) = fail_after_success(&server, &env);
    assert_eq!(code, 1);
    assert!(err.contains("Cloudflare bot challenge"), "{err}");
    assert_eq!(v["error"]["kind"], "cloudflare");
    assert_eq!(v["orgs"][0]["windows"]["seven_day"]["utilization"], 58.0);
    // Without the header, the page itself gives it away.
    break_usage(
        &server,
        Reply::html(403, &payload("error_cloudflare_challenge.html")),
    );
    let (_, _, v) = fail_after_success(&server, &env);
    assert_eq!(v["error"]["kind"], "cloudflare");
}

#[test]
fn expired_session_says_log_in_again() {
    let (server, env) = refreshed_with("usage_flat_windows.json");
    server.route("/api/account", Reply::json(401, r#"{"type":"error"}"#));
    let (code, err, v) = fail_after_success(&server, &env);
    assert_eq!(code, 1);
    assert!(err.contains("log in to claude.ai again"), "{err}");
    assert_eq!(v["error"]["kind"], "unauthorized");
    assert_eq!(v["error"]["retry_at"], Value::Null);
}

#[test]
fn permission_error_carries_the_servers_message() {
    let (server, env) = refreshed_with("usage_flat_windows.json");
    break_usage(&server, Reply::json(403, &payload("error_permission.json")));
    let (code, err, v) = fail_after_success(&server, &env);
    assert_eq!(code, 1);
    assert!(err.contains("Missing permissions"), "{err}");
    assert_eq!(v["error"]["kind"], "forbidden");
}

fn retry_seconds(v: &Value) -> i64 {
    let at = |k: &str| chrono::DateTime::parse_from_rfc3339(v["error"][k].as_str().unwrap());
    (at("retry_at").unwrap() - at("at").unwrap()).num_seconds()
}

#[test]
fn rate_limit_honours_retry_after_and_binds_other_processes() {
    let (server, env) = refreshed_with("usage_flat_windows.json");
    break_usage(
        &server,
        Reply::json(429, &payload("error_rate_limit.json")).header("retry-after", "120"),
    );
    let (code, err, v) = fail_after_success(&server, &env);
    assert_eq!(code, 1);
    assert!(err.contains("rate limit"), "{err}");
    assert_eq!(v["error"]["kind"], "rate_limited");
    assert!((119..=121).contains(&retry_seconds(&v)), "{v}");
    let before = server.requests().len();
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 1);
    assert!(err.contains("backing off until"), "{err}");
    assert_eq!(
        server.requests().len(),
        before,
        "no request during a backoff"
    );
    // A person asking with --force always gets a fetch (issue 18).
    assert_eq!(ql(&env, &["refresh", "--force"]).0, 1);
    assert!(server.requests().len() > before);
}

#[test]
fn rate_limit_with_retry_after_zero_waits_at_least_a_minute() {
    let (server, env) = refreshed_with("usage_flat_windows.json");
    break_usage(
        &server,
        Reply::json(429, &payload("error_rate_limit.json")).header("retry-after", "0"),
    );
    let (_, _, v) = fail_after_success(&server, &env);
    assert!(retry_seconds(&v) >= 60, "{v}");
}

#[test]
fn server_errors_back_off_and_keep_numbers() {
    let (server, env) = refreshed_with("usage_flat_windows.json");
    break_usage(&server, Reply::json(502, "{}"));
    let (code, err, v) = fail_after_success(&server, &env);
    assert_eq!(code, 1);
    assert!(err.contains("HTTP 502"), "{err}");
    assert_eq!(v["error"]["kind"], "http");
    assert_eq!(retry_seconds(&v), 60);
    assert_eq!(v["orgs"][0]["windows"]["five_hour"]["utilization"], 37.0);
}

#[test]
fn unreachable_server_is_a_network_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut env = TestEnv::new();
    env.set(
        "QUOTALINE_CLAUDE_AI_URL",
        &format!("http://127.0.0.1:{port}"),
    )
    .set("QUOTALINE_SESSION_KEY", "sk-ant-sid01-TESTKEY");
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot reach claude.ai"), "{err}");
    assert_eq!(read_cache(&env)["state"]["error"]["kind"], "network");
    let (code, out, _) = ql(&env, &["segment"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "quotaline: network\n"),
        "never any data, and a failure: the line says which"
    );
}

#[test]
fn a_server_that_never_answers_times_out_within_fifteen_seconds() {
    let (server, env) = refreshed_with("usage_flat_windows.json");
    break_usage(&server, Reply::hang());
    let started = Instant::now();
    let (code, err, v) = fail_after_success(&server, &env);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(code, 1);
    assert_eq!(v["error"]["kind"], "timeout", "{err}");
}

#[test]
fn bodies_over_one_mebibyte_are_refused() {
    let (server, env) = refreshed_with("usage_flat_windows.json");
    break_usage(&server, Reply::huge(200, 3 << 20));
    let (code, err, v) = fail_after_success(&server, &env);
    assert_eq!(code, 1);
    assert!(err.contains("more than 1 MiB"), "{err}");
    assert_eq!(v["error"]["kind"], "http");
}

#[test]
fn cache_is_private_and_never_holds_the_session_key() {
    let (_server, env) = refreshed_with("usage_flat_windows.json");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&env.cache_dir.join("cache.json")), 0o600);
    assert_eq!(mode(&env.cache_dir), 0o700);
    for entry in std::fs::read_dir(&env.cache_dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            !text.contains("TESTKEY"),
            "{} holds the key",
            path.display()
        );
    }
    // A cache dir the user had to create first is made private too.
    let mut fresh = TestEnv::new();
    let nested = fresh.home.path().join("new/cache");
    fresh.set("QUOTALINE_CACHE_DIR", nested.to_str().unwrap());
    ql(&fresh, &["segment"]);
    assert_eq!(mode(&nested), 0o700);
}

#[test]
fn corrupt_cache_reads_as_empty_and_is_replaced() {
    let server = claude_ai("usage_flat_windows.json");
    let env = TestEnv::with_server(&server);
    std::fs::write(env.cache_dir.join("cache.json"), "{\"schema\": 1, \"snaps").unwrap();
    let (code, out, _) = ql(&env, &["segment"]);
    assert_eq!((code, out.as_str()), (0, "\n"));
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    assert_eq!(read_cache(&env)["schema"], 1);
}

#[test]
fn unwritable_cache_dir_is_a_clear_message_and_the_prompt_still_exits_zero() {
    let server = claude_ai("usage_flat_windows.json");
    let mut env = TestEnv::with_server(&server);
    let blocker = env.home.path().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    env.set(
        "QUOTALINE_CACHE_DIR",
        blocker.join("cache").to_str().unwrap(),
    );
    let (code, out, err) = ql(&env, &["segment"]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "\n", ""));
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 1);
    assert!(err.contains("not-a-dir/cache"), "{err}");
}

#[test]
fn stale_cache_prints_last_value_and_age_and_refreshes_in_background() {
    let (server, env) = refreshed_with("usage_flat_windows.json");
    age_cache(&env, 600);
    server.route(
        &usage_path(ORG1),
        Reply::json(200, &shifted("usage_limits_array.json")).delay(Duration::from_secs(5)),
    );
    // The server takes 5 s: a segment that waited for its refresh could not beat 3 s.
    let started = Instant::now();
    let (code, out, _) = ql(&env, &["segment"]);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the prompt waited"
    );
    assert_eq!(code, 0);
    assert!(out.ends_with(" · stale 10m\n"), "{out}");
    assert!(out.starts_with("5h 37% · 7d 58%"), "{out}");
    assert!(server.wait_for(&usage_path(ORG2), 2, Duration::from_secs(20)));
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut now_out = String::new();
    while Instant::now() < deadline {
        now_out = ql(&env, &["segment"]).1;
        if now_out.starts_with("5h 23%") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(now_out, "5h 23% · 7d 64% · opus 81% · sonnet 9% · ↻42m\n");
}

#[test]
fn twenty_segments_on_a_stale_cache_make_exactly_one_refresh() {
    let (server, env) = refreshed_with("usage_flat_windows.json");
    age_cache(&env, 120);
    server.route(
        &usage_path(ORG1),
        Reply::json(200, &shifted("usage_flat_windows.json")).delay(Duration::from_secs(4)),
    );
    // The server takes 4 s: a segment that waited for the refresh could not beat 3 s.
    let before = server.count(&usage_path(ORG1));
    let children: Vec<_> = (0..20)
        .map(|_| {
            let mut cmd = env.command(&BIN);
            cmd.arg("segment")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null());
            (Instant::now(), cmd.spawn().unwrap())
        })
        .collect();
    for (started, child) in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "a segment waited"
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("stale 2m"));
    }
    assert!(server.wait_for(&usage_path(ORG2), 2, Duration::from_secs(20)));
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(server.count(&usage_path(ORG1)) - before, 1);
    // The org list is two minutes old: it is read again within the hour, not at every refresh.
    assert_eq!(server.count("/api/account"), 1);
}

#[test]
fn concurrent_refreshes_wait_and_reuse_one_fetch() {
    let server = claude_ai("usage_flat_windows.json");
    server.route(
        &usage_path(ORG1),
        Reply::json(200, &shifted("usage_flat_windows.json")).delay(Duration::from_millis(500)),
    );
    let env = TestEnv::with_server(&server);
    let children: Vec<_> = (0..4)
        .map(|_| {
            let mut cmd = env.command(&BIN);
            cmd.args(["refresh", "--force"]);
            cmd.spawn().unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    assert_eq!(server.count(&usage_path(ORG1)), 1);
}

#[test]
fn fresh_cache_is_not_refetched_and_backoff_stops_the_background_refresh() {
    let (server, env) = refreshed_with("usage_flat_windows.json");
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    ql(&env, &["segment"]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.count("/api/account"), 1, "fresh cache: no fetch");
    break_usage(&server, Reply::json(503, "{}"));
    assert_eq!(ql(&env, &["refresh", "--force"]).0, 1);
    age_cache(&env, 600);
    let n = server.requests().len();
    let (_, out, _) = ql(&env, &["segment"]);
    assert!(out.contains("stale 10m"), "{out}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        server.requests().len(),
        n,
        "backoff in force: no refresh started"
    );
}

#[test]
fn segment_wait_refreshes_first() {
    let server = claude_ai("usage_flat_windows.json");
    let env = TestEnv::with_server(&server);
    let (code, out, _) = ql(&env, &["segment", "--wait"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "5h 37% · 7d 58% · opus 71% · ↻1h12m\n")
    );
}

#[test]
fn templates_with_conditional_groups_and_every_placeholder() {
    let (_server, env) = refreshed_with("usage_limits_array.json");
    let run = |f: &str| ql(&env, &["segment", "--format", f]).1;
    assert_eq!(
        run("{5h}|{7d}|{opus}|{sonnet}|{seven_day}"),
        "23%|64%|81%|9%|64%\n"
    );
    assert_eq!(run("{5h_reset} {7d_reset}"), "42m 3d15h\n");
    assert_eq!(
        run("{extra} {plan} {email}"),
        "$12.34/$50 Max 20x dev@example.com\n"
    );
    assert_eq!(run("a( fable {fable})b"), "ab\n");
    assert_eq!(run("fable {fable}"), "fable –\n");
    let mut with_env = env.command(&BIN);
    with_env
        .env("QUOTALINE_FORMAT", "opus={opus}")
        .arg("segment");
    let out = with_env.output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "opus=81%\n");
}

#[test]
fn active_org_follows_last_active_org_cookie_and_org_flag() {
    let server = claude_ai("usage_flat_windows.json");
    server.route(
        &usage_path(ORG2),
        Reply::json(200, &shifted("usage_limits_array.json")),
    );
    let mut env = TestEnv::with_server(&server);
    env.remove("QUOTALINE_SESSION_KEY").set(
        "QUOTALINE_COOKIE",
        &format!("sessionKey=sk-ant-sid01-TESTKEY; lastActiveOrg={ORG2}"),
    );
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    assert_eq!(json(&env).1["active_org"], ORG2);
    assert!(ql(&env, &["segment"]).1.starts_with("5h 23%"));
    assert!(ql(&env, &["segment", "--org", ORG1])
        .1
        .starts_with("5h 37%"));
    let cookie = server.requests()[0].header("cookie").unwrap().to_string();
    assert!(
        cookie.contains("lastActiveOrg="),
        "whole jar sent: {cookie}"
    );
}

#[test]
fn check_exit_codes_guard_scripts() {
    let (_server, env) = refreshed_with("usage_limits_array.json");
    assert_eq!(ql(&env, &["check"]).0, 0);
    let (code, out, _) = ql(&env, &["check", "--max", "80"]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with("opus at 81% (limit 80%), resets in 3d15h"),
        "{out}"
    );
    assert_eq!(ql(&env, &["check", "--max", "80", "--window", "5h"]).0, 0);
    assert_eq!(ql(&env, &["check", "--max", "64", "--window", "7d"]).0, 1);
    assert_eq!(ql(&env, &["check", "--window", "fable"]).0, 2);
    let empty = TestEnv::new();
    let (code, _, err) = ql(&empty, &["check"]);
    assert_eq!(code, 2);
    assert!(err.contains("no claude.ai session"), "{err}");
    assert_eq!(ql(&empty, &["json"]).0, 1);
}

#[test]
fn credentials_and_urls_are_checked_before_any_request() {
    let server = claude_ai("usage_flat_windows.json");
    let mut env = TestEnv::with_server(&server);
    env.set("QUOTALINE_CLAUDE_AI_URL", "http://claude.ai.example");
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 1);
    assert!(err.contains("use https"), "{err}");

    let mut env = TestEnv::with_server(&server);
    env.remove("QUOTALINE_SESSION_KEY");
    let file = env.home.path().join(".config/quotaline/session");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "sk-ant-sid01-FROMFILE\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 1);
    assert!(err.contains("chmod 600"), "{err}");
    assert!(!err.contains("FROMFILE"));
    assert_eq!(server.requests().len(), 0);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    assert_eq!(
        server.requests()[0].header("cookie"),
        Some("sessionKey=sk-ant-sid01-FROMFILE")
    );
}
