//! Issue 5: Claude Code as a source. The OAuth usage endpoint with Claude Code's own login,
//! statusLine stdin folded into the shared cache with no network, and the source chain.

use crate::common::*;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

const ORG1: &str = ORG_IDS[0];
const ORG2: &str = ORG_IDS[1];
const OAUTH_USAGE: &str = "/api/oauth/usage";
const TOKEN: &str = "sk-ant-oat01-EXAMPLE-NOT-A-REAL-TOKEN";
/// The version the fake native install in `bin/claude` points at.
const INSTALLED: &str = "2.1.250";

fn home(env: &TestEnv) -> PathBuf {
    env.home.path().to_path_buf()
}

fn write(path: PathBuf, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn credentials(env: &TestEnv, text: &str) {
    write(home(env).join(".claude/.credentials.json"), text);
}

/// `~/.claude.json` naming ORG1 as Claude Code's org.
fn claude_json(env: &TestEnv) {
    let doc = json!({
        "numStartups": 12,
        "projects": {"/home/dev/src/demo": {"history": ["x", "y", "z"]}},
        "oauthAccount": {
            "accountUuid": ACCOUNT_ID,
            "emailAddress": "dev@example.com",
            "organizationUuid": ORG1,
            "organizationName": "Dev Org",
            "organizationRateLimitTier": "default_claude_max_20x",
            "billingType": "stripe_subscription"
        }
    });
    write(home(env).join(".claude.json"), &doc.to_string());
}

/// PATH holding only a `claude` that links to a native install's versions directory.
fn installed_claude(env: &mut TestEnv) {
    let h = home(env);
    let version = h.join(format!(".local/share/claude/versions/{INSTALLED}"));
    write(version.clone(), "#!/bin/sh\n");
    std::fs::create_dir_all(h.join("bin")).unwrap();
    std::os::unix::fs::symlink(&version, h.join("bin/claude")).unwrap();
    let path = h.join("bin").display().to_string();
    env.set("PATH", &path);
}

/// Claude Code logged in (credentials, `.claude.json`, installed), no claude.ai session.
fn claude_code_env(server: &FakeServer) -> TestEnv {
    let mut env = TestEnv::with_server(server);
    env.remove("QUOTALINE_SESSION_KEY");
    credentials(&env, &payload("claude_credentials.json"));
    claude_json(&env);
    installed_claude(&mut env);
    env
}

fn oauth_server(usage: &str) -> FakeServer {
    let server = FakeServer::start();
    server.route(OAUTH_USAGE, Reply::json(200, &shifted(usage)));
    server
}

fn json_of(env: &TestEnv) -> Value {
    let (_, out, err) = ql(env, &["json"]);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"))
}

fn unix_in(secs: i64) -> i64 {
    chrono::Utc::now().timestamp() + secs
}

/// Claude Code's stdin object with the given `rate_limits` (`Value::Null` for `null`).
fn stdin_with(rate_limits: Option<Value>) -> Vec<u8> {
    let mut v: Value = serde_json::from_str(&payload("statusline_stdin.json")).unwrap();
    match rate_limits {
        Some(r) => v["rate_limits"] = r,
        None => {
            v.as_object_mut().unwrap().remove("rate_limits");
        }
    }
    v.to_string().into_bytes()
}

fn limits(five: f64, five_reset: i64, seven: f64, seven_reset: i64) -> Vec<u8> {
    stdin_with(Some(json!({
        "five_hour": {"used_percentage": five, "resets_at": five_reset},
        "seven_day": {"used_percentage": seven, "resets_at": seven_reset}
    })))
}

/// Runs the statusline; its output is returned without the ANSI colour (asserted apart in
/// `statusline_is_coloured_by_severity_for_claude_code`).
fn statusline(env: &TestEnv, stdin: &[u8]) -> (i32, String, String, Duration) {
    let start = Instant::now();
    let (code, out, err) = env.run_stdin(&BIN, &["statusline"], stdin, Duration::from_secs(30));
    (code, strip_sgr(&out), err, start.elapsed())
}

fn strip_sgr(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("\x1b[") {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 2..];
        let end = tail.find('m').map_or(tail.len(), |e| e + 1);
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// The child's exit, polled every 10 ms (the time it took is measured); killed, and the test
/// failed with `hung`, when it runs 10 s past `start`.
fn exit_within(
    child: &mut std::process::Child,
    start: Instant,
    hung: &str,
) -> std::process::ExitStatus {
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("{hung}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn statusline_is_coloured_by_severity_for_claude_code() {
    let mut env = TestEnv::new();
    let input = limits(42.0, unix_in(7200), 91.0, unix_in(86_400));
    let (code, out, _) = env.run_stdin(&BIN, &["statusline"], &input, Duration::from_secs(30));
    assert_eq!(code, 0);
    assert!(
        out.starts_with("5h \x1b[32m42%\x1b[39m · 7d \x1b[31m91%\x1b[39m"),
        "{out:?}"
    );
    env.set("NO_COLOR", "1");
    let (_, plain, _) = env.run_stdin(&BIN, &["statusline"], &input, Duration::from_secs(30));
    assert!(plain.starts_with("5h 42% · 7d 91%"), "{plain:?}");
}

fn window(v: &Value, org: &str, key: &str) -> Value {
    let org = v["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["org_uuid"] == org)
        .unwrap_or_else(|| panic!("no org {org} in {v}"));
    org["windows"][key]["utilization"].clone()
}

fn org_of<'a>(v: &'a Value, org: &str) -> &'a Value {
    v["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["org_uuid"] == org)
        .unwrap_or_else(|| panic!("no org {org} in {v}"))
}

#[test]
fn oauth_request_sends_exactly_claude_codes_headers() {
    let server = oauth_server("usage_flat_windows.json");
    let env = claude_code_env(&server);
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 0, "{err}");
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let r = &requests[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", OAUTH_USAGE));
    let mut names: Vec<&str> = r.headers.iter().map(|(k, _)| k.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "accept",
            "anthropic-beta",
            "authorization",
            "host",
            "user-agent"
        ]
    );
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(r.header("anthropic-beta"), Some("oauth-2025-04-20"));
    assert_eq!(r.header("accept"), Some("application/json"));
    assert_eq!(
        r.header("user-agent"),
        Some(format!("claude-code/{INSTALLED}").as_str())
    );

    let v = json_of(&env);
    assert_eq!(v["source"], "oauth");
    assert_eq!(v["active_org"], ORG1);
    let org = org_of(&v, ORG1);
    assert_eq!(org["org_name"], "Dev Org");
    assert_eq!(org["email"], "dev@example.com");
    assert_eq!(org["plan"], "Max 20x");
    assert_eq!(org["windows"]["five_hour"]["utilization"], 37.0);
    assert_eq!(org["sources"]["usage"]["source"], "oauth");
    assert_eq!(org["subscription"], Value::Null);
    let (_, line, _) = ql(&env, &["segment"]);
    assert_eq!(line, "5h 37% · 7d 58% · opus 71% · ↻1h12m\n");
    let cache = std::fs::read_to_string(env.cache_dir.join("cache.json")).unwrap();
    assert!(
        !cache.contains("EXAMPLE-NOT-A-REAL"),
        "token leaked to the cache"
    );
}

#[test]
fn user_agent_is_the_version_stdin_reported_else_a_recent_release() {
    let server = oauth_server("usage_flat_windows.json");
    let mut env = claude_code_env(&server);
    env.set("PATH", "/nonexistent");
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    // Claude Code reports its version on every statusLine call.
    let (code, _, _, _) = statusline(&env, &stdin_with(None));
    assert_eq!(code, 0);
    assert_eq!(ql(&env, &["refresh", "--force"]).0, 0);
    let agents: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.header("user-agent").unwrap().to_string())
        .collect();
    assert_eq!(agents, ["claude-code/2.1.230", "claude-code/2.1.230"]);
    let odd = String::from_utf8(stdin_with(None))
        .unwrap()
        .replace("2.1.230", "2.1.999");
    statusline(&env, odd.as_bytes());
    assert_eq!(ql(&env, &["refresh", "--force"]).0, 0);
    let last = server.requests().last().unwrap().clone();
    assert_eq!(last.header("user-agent"), Some("claude-code/2.1.999"));
}

#[test]
fn expired_token_makes_no_request_and_says_run_claude_once() {
    let server = oauth_server("usage_flat_windows.json");
    let env = claude_code_env(&server);
    credentials(
        &env,
        &payload("claude_credentials.json").replace("4102444800000", "1600000000000"),
    );
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("Claude Code login expired: run `claude` once"),
        "{err}"
    );
    assert!(!err.contains("EXAMPLE-NOT-A-REAL"), "{err}");
    assert_eq!(server.requests().len(), 0);
    let v = json_of(&env);
    assert_eq!(v["error"]["kind"], "unauthorized");
    assert_eq!(v["error"]["retry_at"], Value::Null);
    assert_eq!(server.requests().len(), 0);
}

#[test]
fn credentials_holding_only_mcp_logins_mean_no_claude_login() {
    let server = oauth_server("usage_flat_windows.json");
    let env = claude_code_env(&server);
    credentials(
        &env,
        r#"{"mcpOAuth": {"github|1": {"accessToken": "gho_x", "expiresAt": 0}}}"#,
    );
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 1);
    assert!(err.starts_with("quotaline: no claude.ai session"), "{err}");
    assert!(err.contains("no Claude Code login"), "{err}");
    let (_, doctor, _) = ql(&env, &["doctor"]);
    assert!(
        doctor.contains(".claude/.credentials.json: no Claude login (only MCP logins)"),
        "{doctor}"
    );
    assert_eq!(server.requests().len(), 0);
    assert_eq!(json_of(&env)["error"]["kind"], "no_credentials");
}

#[test]
fn env_token_wins_and_claude_config_dir_is_honoured() {
    let server = oauth_server("usage_flat_windows.json");
    let mut env = claude_code_env(&server);
    env.set("CLAUDE_CODE_OAUTH_TOKEN", "sk-ant-oat01-FROM-ENV");
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    env.remove("CLAUDE_CODE_OAUTH_TOKEN");
    let dir = home(&env).join("alt-claude");
    write(
        dir.join(".credentials.json"),
        &payload("claude_credentials.json").replace("EXAMPLE-NOT-A-REAL-TOKEN", "ALT"),
    );
    env.set("CLAUDE_CONFIG_DIR", &dir.display().to_string());
    assert_eq!(ql(&env, &["refresh", "--force"]).0, 0);
    let bearers: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_string())
        .collect();
    assert_eq!(
        bearers,
        ["Bearer sk-ant-oat01-FROM-ENV", "Bearer sk-ant-oat01-ALT"]
    );
}

#[test]
fn scope_403_explains_setup_token_and_401_says_expired_or_revoked() {
    let server = oauth_server("usage_flat_windows.json");
    let env = claude_code_env(&server);
    server.route(
        OAUTH_USAGE,
        Reply::json(403, &payload("error_permission.json")),
    );
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 1);
    assert!(err.contains("Missing permissions"), "{err}");
    assert!(
        err.contains("tokens from `claude setup-token` (CLAUDE_CODE_OAUTH_TOKEN) lack the `user:profile` scope"),
        "{err}"
    );
    assert_eq!(json_of(&env)["error"]["kind"], "forbidden");

    server.route(OAUTH_USAGE, Reply::json(401, r#"{"type":"error"}"#));
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("Claude Code login expired or revoked: run `claude` once"),
        "{err}"
    );
    assert_eq!(json_of(&env)["error"]["kind"], "unauthorized");

    // A login whose scopes lack user:profile is not even tried.
    let before = server.requests().len();
    credentials(
        &env,
        &payload("claude_credentials.json").replace(", \"user:profile\"", ""),
    );
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 1);
    assert!(err.contains("has no `user:profile` scope"), "{err}");
    assert_eq!(server.requests().len(), before);
}

/// Moves the recorded backoff into the past, as if it had run out.
fn expire_backoff(env: &TestEnv) {
    let mut v = read_cache(env);
    let past = (chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339();
    v["state"]["error"]["retry_at"] = Value::String(past.clone());
    v["state"]["last_attempt"] = Value::String(past);
    std::fs::write(env.cache_dir.join("cache.json"), v.to_string()).unwrap();
}

fn backoff_seconds(env: &TestEnv) -> i64 {
    let v = read_cache(env);
    let t = |k: &str| {
        chrono::DateTime::parse_from_rfc3339(v["state"]["error"][k].as_str().unwrap()).unwrap()
    };
    (t("retry_at") - t("at")).num_seconds()
}

#[test]
fn oauth_429_waits_five_minutes_and_doubles_across_processes() {
    let server = oauth_server("usage_flat_windows.json");
    let env = claude_code_env(&server);
    server.route(
        OAUTH_USAGE,
        Reply::json(429, &payload("error_rate_limit.json")).header("retry-after", "0"),
    );
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 1);
    assert!(err.contains("punishes polling"), "{err}");
    assert_eq!(backoff_seconds(&env), 300);
    // Every other process honours it: no request from a refresh or a prompt.
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 1);
    assert!(err.contains("backing off until"), "{err}");
    assert_eq!(ql(&env, &["segment"]).0, 0);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.count(OAUTH_USAGE), 1);

    let mut delays = vec![];
    for _ in 0..3 {
        expire_backoff(&env);
        assert_eq!(ql(&env, &["refresh"]).0, 1);
        delays.push(backoff_seconds(&env));
    }
    assert_eq!(delays, [600, 1200, 2400]);
    assert_eq!(server.count(OAUTH_USAGE), 4);

    // A success clears it; the next 429 (no Retry-After at all) starts at the floor again.
    server.route(
        OAUTH_USAGE,
        Reply::json(200, &shifted("usage_flat_windows.json")),
    );
    expire_backoff(&env);
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    server.route(OAUTH_USAGE, Reply::json(429, "{}"));
    assert_eq!(ql(&env, &["refresh", "--force"]).0, 1);
    assert_eq!(backoff_seconds(&env), 300);
}

#[test]
fn cloudflare_on_claude_ai_falls_back_to_oauth_within_one_refresh() {
    let server = claude_ai("usage_flat_windows.json");
    let env = {
        let mut env = claude_code_env(&server);
        env.set("QUOTALINE_SESSION_KEY", "sk-ant-sid01-TESTKEY");
        env
    };
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    let before = json_of(&env);
    assert_eq!(before["source"], "claude.ai");
    assert_eq!(server.count(OAUTH_USAGE), 0);

    server.route(
        "/api/account",
        Reply::html(403, &payload("error_cloudflare_challenge.html"))
            .header("cf-mitigated", "challenge"),
    );
    server.route(
        OAUTH_USAGE,
        Reply::json(200, &shifted("usage_limits_array.json")),
    );
    let (code, _, err) = ql(&env, &["refresh", "--force"]);
    assert_eq!((code, err.as_str()), (0, ""));
    let paths: Vec<String> = server.requests()[7..]
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(paths, ["/api/account", OAUTH_USAGE]);

    let v = json_of(&env);
    assert_eq!(v["source"], "oauth");
    assert_eq!(v["error"], Value::Null);
    let org = org_of(&v, ORG1);
    assert_eq!(org["windows"]["five_hour"]["utilization"], 23.0);
    assert_eq!(org["windows"]["seven_day_sonnet"]["utilization"], 9.0);
    assert_eq!(org["sources"]["usage"]["source"], "oauth");
    // OAuth has no overage or subscription: claude.ai's stay, with their own age.
    assert_eq!(org["extra_usage"]["used"], 12.34);
    assert_eq!(org["subscription"]["status"], "active");
    let old = org_of(&before, ORG1);
    assert_eq!(org["sources"]["extra_usage"], old["sources"]["extra_usage"]);
    assert_eq!(org["sources"]["subscription"]["source"], "claude.ai");
    assert_eq!(
        org["raw"]["subscription_details"]["billing_interval"],
        "monthly"
    );
    // The other org is not Claude Code's: it is kept as it was.
    assert_eq!(window(&v, ORG2, "five_hour"), 37.0);
    assert_eq!(org_of(&v, ORG2)["sources"]["usage"]["source"], "claude.ai");
}

#[test]
fn sources_setting_orders_and_restricts_the_chain() {
    let server = claude_ai("usage_flat_windows.json");
    server.route(
        OAUTH_USAGE,
        Reply::json(200, &shifted("usage_limits_array.json")),
    );
    let mut env = claude_code_env(&server);
    env.set("QUOTALINE_SESSION_KEY", "sk-ant-sid01-TESTKEY");
    env.set("QUOTALINE_SOURCES", "oauth,claude.ai");
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    assert_eq!(json_of(&env)["source"], "oauth");
    env.set("QUOTALINE_SOURCES", "claude.ai, oath");
    let (code, _, err) = ql(&env, &["refresh", "--force"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("QUOTALINE_SOURCES: unknown source `oath` (known: claude.ai, oauth)"),
        "{err}"
    );
    assert_eq!(server.requests().len(), 1);
    // claude.ai only: a challenge is the answer, OAuth is not asked.
    env.set("QUOTALINE_SOURCES", "claude.ai");
    server.route(
        "/api/account",
        Reply::html(403, &payload("error_cloudflare_challenge.html")),
    );
    assert_eq!(ql(&env, &["refresh", "--force"]).0, 1);
    assert_eq!(server.count(OAUTH_USAGE), 1);
}

#[test]
fn statusline_stdin_reaches_json_in_another_process_with_no_request() {
    let server = claude_ai("usage_flat_windows.json");
    let env = TestEnv::with_server(&server);
    claude_json(&env);
    let stdin = limits(42.0, unix_in(2 * 3600 + 30), 15.0, unix_in(3 * 86_400 + 60));
    let (code, out, err, took) = statusline(&env, &stdin);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, "5h 42% · 7d 15% · ↻2h\n");
    assert!(took < Duration::from_secs(2), "{took:?}");

    let v = json_of(&env);
    assert_eq!(v["stale"], false);
    let org = org_of(&v, ORG1);
    assert_eq!(org["org_name"], "Dev Org");
    assert_eq!(org["email"], "dev@example.com");
    assert_eq!(org["plan"], "Max 20x");
    assert_eq!(org["windows"]["five_hour"]["utilization"], 42.0);
    assert_eq!(org["windows"]["seven_day"]["utilization"], 15.0);
    assert_eq!(org["sources"]["window.five_hour"]["source"], "statusline");
    assert_eq!(org["sources"]["statusline"]["source"], "statusline");
    let (_, line, _) = ql(&env, &["segment"]);
    assert_eq!(line, out);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.requests().len(), 0, "{:?}", server.requests());
}

#[test]
fn statusline_without_claude_code_account_keeps_numbers_under_claude_code() {
    let env = TestEnv::new();
    let stdin = limits(5.0, unix_in(630), 1.0, unix_in(86_400 * 2));
    let (code, out, _, _) = statusline(&env, &stdin);
    assert_eq!((code, out.as_str()), (0, "5h 5% · 7d 1% · ↻10m\n"));
    let v = read_cache(&env);
    assert_eq!(v["snapshot"]["orgs"][0]["org_uuid"], "claude-code");
    assert_eq!(v["snapshot"]["orgs"][0]["org_name"], "Claude Code");
}

#[test]
fn statusline_prints_and_exits_zero_whatever_it_is_fed() {
    let env = TestEnv::new();
    claude_json(&env);
    let huge = {
        let mut v = stdin_with(Some(
            json!({"five_hour": {"used_percentage": 99, "resets_at": unix_in(60)}}),
        ));
        v.pop();
        v.extend_from_slice(b", \"pad\": \"");
        v.resize(10 << 20, b'a');
        v.extend_from_slice(b"\"}");
        v
    };
    let variants: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        (
            "invalid JSON",
            b"{\"rate_limits\": {\"five_hour\": ".to_vec(),
        ),
        ("binary", vec![0xff, 0x00, 0x1b, b'[', b'2', b'J']),
        ("huge", huge),
        ("missing rate_limits", stdin_with(None)),
        ("rate_limits null", stdin_with(Some(Value::Null))),
        (
            "rate_limits of strings",
            stdin_with(Some(json!({"five_hour": "42%"}))),
        ),
    ];
    // With nothing cached, and the refresh the statusline starts failing (no session in
    // this HOME), the line says why it has no numbers (`Line::no_numbers`).
    assert_eq!(ql(&env, &["refresh"]).0, 1);
    for (name, input) in &variants {
        let (code, out, err, took) = statusline(&env, input);
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (0, "quotaline: no session\n", ""),
            "{name}"
        );
        assert!(took < Duration::from_secs(3), "{name}: {took:?}");
    }
    // With numbers cached, the line shows them, untouched by what stdin lacked.
    let good = limits(42.0, unix_in(2 * 3600 + 30), 15.0, unix_in(3 * 86_400 + 60));
    assert_eq!(statusline(&env, &good).1, "5h 42% · 7d 15% · ↻2h\n");
    for (name, input) in &variants {
        let (code, out, _, _) = statusline(&env, input);
        assert_eq!(
            (code, out.as_str()),
            (0, "5h 42% · 7d 15% · ↻2h\n"),
            "{name}"
        );
    }
    assert_eq!(
        window(&read_cache(&env)["snapshot"], ORG1, "five_hour"),
        42.0
    );
}

#[test]
fn statusline_returns_promptly_when_the_pipe_stays_open() {
    let env = TestEnv::new();
    claude_json(&env);
    let run = |input: &[u8]| {
        let mut child = env
            .command(&BIN)
            .arg("statusline")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(input).unwrap();
        let start = Instant::now();
        let status = exit_within(&mut child, start, "statusline hung on an open pipe");
        let took = start.elapsed();
        drop(pipe);
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        (status.code(), strip_sgr(&out), took)
    };
    let (code, out, took) = run(b"");
    assert_eq!((code, out.as_str()), (Some(0), "\n"));
    assert!(took < Duration::from_secs(2), "{took:?}");
    // A whole object followed by no EOF is used (how fast is measured in benches/, not here).
    let good = limits(42.0, unix_in(2 * 3600 + 30), 15.0, unix_in(3 * 86_400 + 60));
    let (code, out, took) = run(&good);
    assert_eq!((code, out.as_str()), (Some(0), "5h 42% · 7d 15% · ↻2h\n"));
    assert!(took < Duration::from_secs(2), "{took:?}");
    // Half an object and an open pipe: the deadline, then the cached line.
    let (code, out, took) = run(&good[..good.len() / 2]);
    assert_eq!((code, out.as_str()), (Some(0), "5h 42% · 7d 15% · ↻2h\n"));
    assert!(took < Duration::from_secs(2), "{took:?}");
}

/// A writer that keeps sending without ever completing an object meets the same deadline as
/// a pipe left open with nothing on it: every read waits only for what is left of it.
#[test]
fn statusline_returns_promptly_when_stdin_trickles_and_never_completes() {
    let env = TestEnv::new();
    claude_json(&env);
    let mut child = env
        .command(&BIN)
        .arg("statusline")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let start = Instant::now();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(b"{\"rate_limits\": [");
        // Ten seconds of a byte pair every 20 ms, unless the reader is gone (EPIPE) first.
        for _ in 0..500 {
            if pipe.write_all(b"1,").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let status = exit_within(
        &mut child,
        start,
        "statusline kept reading a trickling stdin",
    );
    let took = start.elapsed();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!((status.code(), out.as_str()), (Some(0), "\n"));
    assert!(took < Duration::from_secs(2), "{took:?}");
    writer.join().unwrap();
}

#[test]
fn within_one_window_numbers_never_move_backwards() {
    let env = TestEnv::new();
    claude_json(&env);
    let (five, seven) = (unix_in(2 * 3600 + 30), unix_in(3 * 86_400 + 60));
    let feed = |a: f64, b: f64, five: i64| statusline(&env, &limits(a, five, b, seven)).1;
    assert_eq!(feed(42.0, 15.0, five), "5h 42% · 7d 15% · ↻2h\n");
    // A lagging reading of the same windows (resets_at equal to the second).
    assert_eq!(feed(40.0, 14.0, five), "5h 42% · 7d 15% · ↻2h\n");
    assert_eq!(feed(45.0, 15.0, five), "5h 45% · 7d 15% · ↻2h\n");
    // A new five-hour window starts afresh.
    let next = five + 5 * 3600;
    assert_eq!(feed(3.0, 15.0, next), "5h 3% · 7d 15% · ↻7h\n");
    // And a late reading from the window before is not news.
    assert_eq!(feed(46.0, 15.0, five), "5h 3% · 7d 15% · ↻7h\n");
}

#[test]
fn stdin_merges_into_the_claude_ai_org_and_keeps_what_it_does_not_carry() {
    let server = claude_ai("usage_flat_windows.json");
    let env = TestEnv::with_server(&server);
    claude_json(&env);
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    let before = json_of(&env);
    let five_reset = chrono::DateTime::parse_from_rfc3339(
        org_of(&before, ORG1)["windows"]["five_hour"]["resets_at"]
            .as_str()
            .unwrap(),
    )
    .unwrap()
    .timestamp();
    let seven_reset = chrono::DateTime::parse_from_rfc3339(
        org_of(&before, ORG1)["windows"]["seven_day"]["resets_at"]
            .as_str()
            .unwrap(),
    )
    .unwrap()
    .timestamp();
    // stdin: five-hour higher than claude.ai said (fresher), weekly lower (lagging).
    let (code, out, _, _) = statusline(&env, &limits(50.0, five_reset, 55.0, seven_reset));
    assert_eq!(code, 0);
    assert_eq!(out, "5h 50% · 7d 58% · opus 71% · ↻1h12m\n");
    let v = json_of(&env);
    let org = org_of(&v, ORG1);
    assert_eq!(org["sources"]["window.five_hour"]["source"], "statusline");
    assert!(org["sources"].get("window.seven_day").is_none());
    assert_eq!(
        org["sources"]["usage"],
        org_of(&before, ORG1)["sources"]["usage"]
    );
    assert_eq!(org["windows"]["seven_day_opus"]["utilization"], 71.0);
    assert_eq!(org["extra_usage"]["used"], 12.34);
    assert_eq!(v["fetched_at"], before["fetched_at"]);
    assert_eq!(window(&v, ORG2, "five_hour"), 37.0);

    // The next claude.ai refresh still says 37% for the same window: 50% stays.
    assert_eq!(ql(&env, &["refresh", "--force"]).0, 0);
    let v = json_of(&env);
    let org = org_of(&v, ORG1);
    assert_eq!(org["windows"]["five_hour"]["utilization"], 50.0);
    assert_eq!(org["sources"]["window.five_hour"]["source"], "statusline");
    assert_eq!(org["windows"]["seven_day"]["utilization"], 58.0);
    assert_eq!(v["source"], "claude.ai");
}

#[test]
fn init_claude_code_prints_the_settings_fragment() {
    let env = TestEnv::new();
    let (code, out, _) = ql(&env, &["init", "claude-code"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v,
        json!({"statusLine": {"type": "command", "command": "quotaline statusline", "padding": 0}})
    );
    let (code, _, err) = ql(&env, &["init", "emacs"]);
    assert_eq!(code, 64);
    assert!(
        err.starts_with("quotaline: unknown program `emacs`\n"),
        "{err}"
    );
}

#[test]
fn stdin_keeps_its_org_fresh_when_full_refreshes_fail() {
    let server = oauth_server("usage_flat_windows.json");
    let env = claude_code_env(&server);
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    // Ten minutes on, OAuth is rate limited and backing off...
    age_cache(&env, 600);
    server.route(OAUTH_USAGE, Reply::json(429, "{}"));
    assert_eq!(ql(&env, &["refresh"]).0, 1);
    let (_, line, _) = ql(&env, &["segment"]);
    assert_eq!(line, "5h 37% · 7d 58% · opus 71% · ↻1h12m · stale 10m\n");
    // ...but Claude Code's stdin keeps its windows current: no stale mark for its org.
    let v = json_of(&env);
    let five = org_of(&v, ORG1)["windows"]["five_hour"]["resets_at"]
        .as_str()
        .map(|t| chrono::DateTime::parse_from_rfc3339(t).unwrap().timestamp())
        .unwrap();
    let seven = org_of(&v, ORG1)["windows"]["seven_day"]["resets_at"]
        .as_str()
        .map(|t| chrono::DateTime::parse_from_rfc3339(t).unwrap().timestamp())
        .unwrap();
    let (code, out, _, _) = statusline(&env, &limits(39.0, five, 60.0, seven));
    assert_eq!(code, 0);
    assert_eq!(out, "5h 39% · 7d 60% · opus 71% · ↻1h12m\n");
    let (_, line, _) = ql(&env, &["segment"]);
    assert_eq!(line, out);
    // `json` agrees with the line (one definition of age: the org's newest reading), and
    // still tells when the last full refresh was and why the next one waits.
    let v = json_of(&env);
    assert_eq!(v["stale"], false);
    assert!(v["age_seconds"].as_i64().unwrap() < 60, "{v}");
    let fetched = chrono::DateTime::parse_from_rfc3339(v["fetched_at"].as_str().unwrap()).unwrap();
    assert!((chrono::Utc::now() - fetched.with_timezone(&chrono::Utc)).num_seconds() >= 600);
    assert_eq!(v["error"]["kind"], "rate_limited");
    assert_eq!(server.count(OAUTH_USAGE), 2);
}

#[test]
fn without_claude_json_the_profile_endpoint_names_the_org() {
    let server = oauth_server("usage_flat_windows.json");
    let env = claude_code_env(&server);
    std::fs::remove_file(home(&env).join(".claude.json")).unwrap();
    server.route(
        "/api/oauth/profile",
        Reply::json(
            200,
            &json!({"account": {"email": "cc@example.com"},
                    "organization": {"uuid": ORG2, "name": "Work\u{1b}[2J"}})
            .to_string(),
        ),
    );
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    let v = json_of(&env);
    let org = org_of(&v, ORG2);
    assert_eq!(org["email"], "cc@example.com");
    assert_eq!(org["org_name"], "Work[2J");
    // The plan comes from the token's own tier.
    assert_eq!(org["plan"], "Max 20x");
    let paths: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, [OAUTH_USAGE, "/api/oauth/profile"]);
}

#[test]
fn a_claude_ai_refresh_keeps_the_org_only_stdin_knows() {
    let server = claude_ai("usage_flat_windows.json");
    let env = TestEnv::with_server(&server);
    let stdin = limits(5.0, unix_in(630), 1.0, unix_in(86_400 * 2));
    assert_eq!(statusline(&env, &stdin).0, 0);
    assert_eq!(ql(&env, &["refresh", "--force"]).0, 0);
    let v = json_of(&env);
    assert_eq!(v["active_org"], ORG1);
    assert_eq!(window(&v, "claude-code", "five_hour"), 5.0);
    assert_eq!(window(&v, ORG2, "five_hour"), 37.0);
}

#[test]
fn a_repeated_reading_does_not_rewrite_the_cache() {
    use std::os::unix::fs::MetadataExt;
    let env = TestEnv::new();
    claude_json(&env);
    let stdin = limits(42.0, unix_in(2 * 3600 + 30), 15.0, unix_in(3 * 86_400 + 60));
    let inode = || {
        std::fs::metadata(env.cache_dir.join("cache.json"))
            .unwrap()
            .ino()
    };
    assert_eq!(statusline(&env, &stdin).0, 0);
    let first = inode();
    for _ in 0..3 {
        assert_eq!(statusline(&env, &stdin).1, "5h 42% · 7d 15% · ↻2h\n");
    }
    assert_eq!(inode(), first, "an identical reading rewrote the cache");
    let higher = limits(43.0, unix_in(2 * 3600 + 30), 15.0, unix_in(3 * 86_400 + 60));
    assert_eq!(statusline(&env, &higher).1, "5h 43% · 7d 15% · ↻2h\n");
    assert_ne!(inode(), first);
}

#[test]
fn user_agent_reads_an_npm_install_from_its_package_json() {
    let server = oauth_server("usage_flat_windows.json");
    let mut env = claude_code_env(&server);
    let h = home(&env);
    let pkg = h.join("npm/lib/node_modules/@anthropic-ai/claude-code");
    write(pkg.join("cli.js"), "#!/usr/bin/env node\n");
    write(
        pkg.join("package.json"),
        r#"{"name": "@anthropic-ai/claude-code", "version": "2.1.260"}"#,
    );
    std::fs::create_dir_all(h.join("npm/bin")).unwrap();
    std::os::unix::fs::symlink(pkg.join("cli.js"), h.join("npm/bin/claude")).unwrap();
    env.set("PATH", &h.join("npm/bin").display().to_string());
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    let r = server.requests()[0].clone();
    assert_eq!(r.header("user-agent"), Some("claude-code/2.1.260"));
}

#[test]
fn the_oauth_token_never_reaches_the_cache_or_any_output() {
    let server = oauth_server("usage_flat_windows.json");
    let env = claude_code_env(&server);
    let secret = "EXAMPLE-NOT-A-REAL-TOKEN";
    let mut seen = String::new();
    for args in [
        &["refresh"][..],
        &["json"],
        &["status"],
        &["doctor"],
        &["segment", "--target", "waybar"],
    ] {
        let (_, out, err) = ql(&env, args);
        seen.push_str(&out);
        seen.push_str(&err);
    }
    server.route(
        OAUTH_USAGE,
        Reply::json(403, &payload("error_permission.json")),
    );
    let (code, out, err) = ql(&env, &["refresh", "--force"]);
    assert_eq!(code, 1);
    seen.push_str(&out);
    seen.push_str(&err);
    let (_, out, _) = ql(&env, &["doctor"]);
    assert!(
        out.contains("sk-ant-oat01-…("),
        "doctor fingerprints the token:\n{out}"
    );
    seen.push_str(&out);
    assert!(!seen.contains(secret), "the token was printed:\n{seen}");
    for entry in std::fs::read_dir(&env.cache_dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(secret),
            "{} holds the token",
            path.display()
        );
    }
}
