//! Shared test support: the loopback fake server, an isolated environment, and helpers
//! for payloads and cache ages.

pub mod browsers;
pub mod fake;
pub mod programs;

#[allow(unused_imports)]
pub use fake::{payload, FakeServer, Reply, TestEnv, ORG_IDS};
use serde_json::Value;
use std::sync::LazyLock;
use std::time::Duration;

/// The binary under test: this build's, or the one `QUOTALINE_TEST_BIN` names
/// (scripts/test-package runs the suite against the installed package's static binary).
pub static BIN: LazyLock<String> = LazyLock::new(|| {
    std::env::var("QUOTALINE_TEST_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_quotaline").to_string())
});

/// Runs quotaline with a 30 s safety limit.
pub fn ql(env: &TestEnv, args: &[&str]) -> (i32, String, String) {
    env.run(&BIN, args, Duration::from_secs(30))
}

/// Runs `quotaline statusline` fed `stdin`, as Claude Code does, with the same limit.
#[allow(dead_code)]
pub fn ql_statusline(env: &TestEnv, stdin: &[u8]) -> (i32, String, String) {
    env.run_stdin(&BIN, &["statusline"], stdin, Duration::from_secs(30))
}

/// The instant the shared payloads are read "as of": their `resets_at` values are moved so
/// that they lie as far ahead of the real clock as they lay ahead of this moment (the flat
/// payload's five-hour window then resets in 1h12m30s).
const PAYLOAD_NOW: &str = "2026-11-22T17:47:30Z";

/// A shared payload with every `resets_at` shifted to the real clock: ISO-8601 strings, and
/// Unix seconds as statusLine stdin sends them (smaller numbers, such as a nonsense `1`,
/// stay as they are).
pub fn shifted(name: &str) -> String {
    let mut v: Value = serde_json::from_str(&payload(name)).unwrap();
    let then = chrono::DateTime::parse_from_rfc3339(PAYLOAD_NOW).unwrap();
    let delta = chrono::Utc::now() - then.with_timezone(&chrono::Utc);
    shift(&mut v, delta);
    v.to_string()
}

fn shift(v: &mut Value, delta: chrono::Duration) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if k == "resets_at" {
                    if let Some(t) = child
                        .as_str()
                        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                    {
                        *child = Value::String((t + delta).to_rfc3339());
                    } else if let Some(secs) = child.as_i64().filter(|&s| s >= 1_000_000_000) {
                        *child = Value::from(secs + delta.num_seconds());
                    }
                } else {
                    shift(child, delta);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|c| shift(c, delta)),
        _ => {}
    }
}

/// A fake claude.ai serving `usage` (shifted to the real clock) for both orgs.
pub fn claude_ai(usage: &str) -> FakeServer {
    let server = FakeServer::claude_ai(usage);
    for org in ORG_IDS {
        server.route(
            &format!("/api/organizations/{org}/usage"),
            Reply::json(200, &shifted(usage)),
        );
    }
    server
}

/// A fake claude.ai serving `usage`, an environment for it, and one refresh done.
#[allow(dead_code)]
pub fn refreshed_with(usage: &str) -> (FakeServer, TestEnv) {
    let server = claude_ai(usage);
    let env = TestEnv::with_server(&server);
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 0, "refresh failed: {err}");
    (server, env)
}

pub fn usage_path(org: &str) -> String {
    format!("/api/organizations/{org}/usage")
}

/// Claude Code's config dir `name` under HOME, its `.claude.json` logged in to `account` in
/// the first usual org (a Team org two logins share: `accounts.rs`, `history.rs`).
pub fn team_login(env: &TestEnv, name: &str, account: &str) -> std::path::PathBuf {
    let dir = env.home.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    relogin(&dir, account);
    dir
}

/// What `/login` leaves in `dir`'s `.claude.json`: `account`, in the Team org.
pub fn relogin(dir: &std::path::Path, account: &str) {
    let doc = serde_json::json!({
        "oauthAccount": {
            "accountUuid": account,
            "emailAddress": format!("{account}@example.com"),
            "organizationUuid": ORG_IDS[0],
            "organizationName": "Team Org",
            "organizationRateLimitTier": "default_claude_max_5x"
        }
    });
    std::fs::write(dir.join(".claude.json"), doc.to_string()).unwrap();
}

/// `quotaline config` (which must succeed), and its lines with the columns' padding collapsed
/// to one space (`events warn, crit config.toml:3`), for asserting a setting's row.
pub fn config_rows(env: &TestEnv) -> (String, Vec<String>) {
    let (code, out, err) = ql(env, &["config"]);
    assert_eq!(code, 0, "{out}{err}");
    let rows = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    (out, rows)
}

pub fn read_cache(env: &TestEnv) -> Value {
    let text = std::fs::read_to_string(env.cache_dir.join("cache.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Makes the cached snapshot (and the last attempt) `secs` older, as if time had passed.
pub fn age_cache(env: &TestEnv, secs: i64) {
    let mut v = read_cache(env);
    let older = |t: &Value| -> Value {
        let t = chrono::DateTime::parse_from_rfc3339(t.as_str().unwrap()).unwrap();
        Value::String((t - chrono::Duration::seconds(secs)).to_rfc3339())
    };
    let fetched = older(&v["snapshot"]["fetched_at"]);
    v["snapshot"]["fetched_at"] = fetched;
    if v["state"]["last_attempt"].is_string() {
        let attempt = older(&v["state"]["last_attempt"]);
        v["state"]["last_attempt"] = attempt;
    }
    // Each org's provenance ages with the clock too: the segment shows an org's own age.
    if let Some(orgs) = v["snapshot"]["orgs"].as_array_mut() {
        for org in orgs {
            if let Some(sources) = org["sources"].as_object_mut() {
                for p in sources.values_mut() {
                    if p["at"].is_string() {
                        p["at"] = older(&p["at"]);
                    }
                }
            }
        }
    }
    std::fs::write(env.cache_dir.join("cache.json"), v.to_string()).unwrap();
}

/// The account the fake's `/api/account` answers for (its `uuid`): a Claude Code login in
/// tests that is the same person as the browser's session uses it as its `accountUuid`.
#[allow(dead_code)]
pub const ACCOUNT_ID: &str = "7d0c1a52-0000-4000-8000-00000000acc7";
