//! OpenAI Codex on the same line: its 5-hour and weekly windows read from its own session
//! logs by `refresh` (never by the segment), beside Claude's.

use crate::common::{claude_ai, ql, read_cache, FakeServer, Reply, TestEnv};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};

fn fixture_lines(name: &str) -> Vec<String> {
    let path = format!("{}/tests/fixtures/codex/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn timestamp(line: &Value) -> DateTime<Utc> {
    line["timestamp"].as_str().unwrap().parse().unwrap()
}

/// A fixture log's lines moved in time so that its last line was written at `last`: every
/// `timestamp` and `resets_at` by the same amount (`resets_in_seconds` is relative already).
fn moved(name: &str, last: DateTime<Utc>) -> (Vec<String>, Duration) {
    let lines: Vec<Value> = fixture_lines(name)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let delta = last - timestamp(lines.last().unwrap());
    let out = lines
        .into_iter()
        .map(|mut v| {
            let t = timestamp(&v) + delta;
            v["timestamp"] = Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
            for w in ["primary", "secondary"] {
                let window = &mut v["payload"]["rate_limits"][w];
                if let Some(r) = window.get("resets_at").and_then(Value::as_i64) {
                    window["resets_at"] = Value::from(r + delta.num_seconds());
                }
            }
            v.to_string()
        })
        .collect();
    (out, delta)
}

/// Writes a session log where Codex puts it: `sessions/YYYY/MM/DD/rollout-*.jsonl`.
fn write_log(home: &Path, day: &str, name: &str, body: &[u8]) -> PathBuf {
    let dir = home.join("sessions").join(day);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path
}

/// The one session log most tests need (today's first rollout), holding `ls`.
fn rollout(home: &Path, ls: &[String]) -> PathBuf {
    write_log(
        home,
        "2026/12/04",
        "rollout-2026-12-04T10-00-00-a.jsonl",
        &lines(ls),
    )
}

/// Codex writes one more line to `log`.
fn append(log: &Path, line: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).open(log).unwrap();
    writeln!(f, "{line}").unwrap();
}

fn lines(ls: &[String]) -> Vec<u8> {
    let mut out = ls.join("\n").into_bytes();
    out.push(b'\n');
    out
}

/// A fake claude.ai and an environment whose `CODEX_HOME` is `codex-home` in its HOME.
fn with_codex() -> (FakeServer, TestEnv, PathBuf) {
    let server = claude_ai("usage_flat_windows.json");
    let mut env = TestEnv::with_server(&server);
    let home = env.home.path().join("codex-home");
    env.set("CODEX_HOME", home.to_str().unwrap());
    (server, env, home)
}

fn refresh(env: &TestEnv) {
    let (code, out, err) = ql(env, &["refresh", "--force"]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
}

fn json(env: &TestEnv) -> Value {
    let (code, out, err) = ql(env, &["json"]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    serde_json::from_str(&out).unwrap()
}

fn codex_org(v: &Value) -> Value {
    v["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["org_uuid"] == "codex")
        .cloned()
        .unwrap_or(Value::Null)
}

/// The Claude part of the default line for `usage_flat_windows.json`.
const CLAUDE_PART: &str = "5h 37% · 7d 58% · opus 71% · ↻1h12m";

fn segment(env: &TestEnv) -> String {
    let (code, out, err) = ql(env, &["segment"]);
    assert_eq!((code, err.as_str()), (0, ""));
    out.trim_end().to_string()
}

/// A token_count line of the resets_at fixture's shape, written at `at`, with these percents.
fn token_count(at: DateTime<Utc>, five: f64, seven: f64) -> String {
    let (ls, _) = moved("rollout_resets_at.jsonl", at);
    let mut v: Value = serde_json::from_str(ls.last().unwrap()).unwrap();
    v["payload"]["rate_limits"]["primary"]["used_percent"] = Value::from(five);
    v["payload"]["rate_limits"]["secondary"]["used_percent"] = Value::from(seven);
    v.to_string()
}

/// `codex`'s windows were read from the session log, as of the line written at `at` (the
/// line's own time, to the millisecond).
fn assert_read_from_log(codex: &Value, at: DateTime<Utc>) {
    assert_eq!(codex["sources"]["usage"]["source"], "codex-log");
    let read: DateTime<Utc> = codex["sources"]["usage"]["at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(read.timestamp_millis(), at.timestamp_millis());
}

#[test]
fn json_and_the_segment_show_the_newest_token_count_line_of_a_50_mb_log_with_a_torn_end() {
    let (_server, env, home) = with_codex();
    let now = Utc::now();
    // Yesterday's log (an older Codex, relative resets) holds other numbers.
    let (old, _) = moved("rollout_resets_in_seconds.jsonl", now - Duration::days(1));
    write_log(
        &home,
        "2026/12/03",
        "rollout-2026-12-03T08-00-00-old.jsonl",
        &lines(&old),
    );
    // Today's log: a long session of 50 MB, whose first line already had numbers, then the
    // fixture's lines (the newest token_count: 7% and 77%), then a line Codex is still
    // writing (99%, cut in the middle).
    let (today, delta) = moved("rollout_resets_at.jsonl", now - Duration::minutes(3));
    let last_at = now - Duration::minutes(3);
    let mut big = std::io::BufWriter::new(
        std::fs::File::create({
            let dir = home.join("sessions/2026/12/04");
            std::fs::create_dir_all(&dir).unwrap();
            dir.join("rollout-2026-12-04T09-00-00-big.jsonl")
        })
        .unwrap(),
    );
    writeln!(big, "{}", token_count(now - Duration::hours(2), 55.0, 55.0)).unwrap();
    let filler = format!(
        r#"{{"timestamp":"{}","type":"response_item","payload":{{"type":"function_call_output","output":"{}"}}}}"#,
        (now - Duration::hours(1)).to_rfc3339(),
        "x".repeat(1000)
    );
    for _ in 0..(50 << 20) / (filler.len() + 1) {
        writeln!(big, "{filler}").unwrap();
    }
    for l in &today {
        writeln!(big, "{l}").unwrap();
    }
    let torn = token_count(now - Duration::minutes(1), 99.0, 99.0);
    big.write_all(&torn.as_bytes()[..torn.len() / 2]).unwrap();
    drop(big);
    assert!(
        std::fs::metadata(home.join("sessions/2026/12/04/rollout-2026-12-04T09-00-00-big.jsonl"))
            .unwrap()
            .len()
            > 50 << 20
    );

    refresh(&env);
    let codex = codex_org(&json(&env));
    let reset = |unix: i64| {
        DateTime::from_timestamp(unix + delta.num_seconds(), 0)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    assert_eq!(
        codex["windows"],
        serde_json::json!({
            "codex_5h": {"utilization": 7.0, "resets_at": reset(1763483205)},
            "codex_7d": {"utilization": 77.0, "resets_at": reset(1763606387)},
        })
    );
    assert_eq!(codex["plan"], "plus");
    assert_eq!(codex["provider"], "codex");
    let providers: Vec<_> = json(&env)["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["provider"].clone())
        .collect();
    assert_eq!(providers, ["claude", "claude", "codex"]);
    assert_read_from_log(&codex, last_at);
    assert_eq!(
        segment(&env),
        format!("{CLAUDE_PART} · codex 5h 7% · 7d 77%")
    );
    let (code, metrics, err) = ql(&env, &["metrics"]);
    assert_eq!((code, err.as_str()), (0, ""));
    for (key, value) in [("codex_5h", "7"), ("codex_7d", "77")] {
        let series = format!(
            "quotaline_utilization_percent{{org_uuid=\"codex\",provider=\"codex\",\
             org_name=\"Codex\",window=\"{key}\",source=\"codex-log\"}} {value}\n"
        );
        assert!(metrics.contains(&series), "{series} in {metrics}");
    }
    assert!(metrics.contains(",provider=\"claude\","));
    let (ok, said) = crate::metrics::promtool_check(&metrics);
    assert!(ok, "{said}");
    let (code, out, err) = ql(
        &env,
        &["segment", "--format", "{codex_5h} {codex_7d} {codex_reset}"],
    );
    assert_eq!((code, err.as_str()), (0, ""));
    // The 5-hour window resets 1h30m48s after the line, written 3 minutes ago.
    let out = out.trim_end();
    assert!(["7% 77% 1h27m", "7% 77% 1h26m"].contains(&out), "{out}");
}

#[test]
fn resets_in_seconds_count_from_the_lines_own_timestamp() {
    let (_server, env, home) = with_codex();
    let written = Utc::now() - Duration::minutes(10);
    let (ls, _) = moved("rollout_resets_in_seconds.jsonl", written);
    rollout(&home, &ls);
    refresh(&env);
    let codex = codex_org(&json(&env));
    let at = |secs: i64| {
        (DateTime::from_timestamp(written.timestamp(), 0).unwrap() + Duration::seconds(secs))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    // 299 and 10079 minutes are an older Codex's rounding of the 5-hour and weekly windows.
    assert_eq!(
        codex["windows"],
        serde_json::json!({
            "codex_5h": {"utilization": 12.5, "resets_at": at(4200)},
            "codex_7d": {"utilization": 40.0, "resets_at": at(345600)},
        })
    );
    assert_eq!(
        segment(&env),
        format!("{CLAUDE_PART} · codex 5h 13% · 7d 40%")
    );
}

#[test]
fn without_codex_home_or_a_dot_codex_nothing_anywhere_says_codex() {
    let server = claude_ai("usage_flat_windows.json");
    let env = TestEnv::with_server(&server);
    assert!(!env.home.path().join(".codex").exists());
    refresh(&env);
    let cache = std::fs::read_to_string(env.cache_dir.join("cache.json")).unwrap();
    assert!(!cache.to_lowercase().contains("codex"), "{cache}");
    assert_eq!(segment(&env), CLAUDE_PART);
    for args in [&["json"][..], &["status"], &["metrics"], &["doctor"]] {
        let (_, out, err) = ql(&env, args);
        assert!(
            !(out.to_lowercase() + &err.to_lowercase()).contains("codex"),
            "{args:?}: {out}{err}"
        );
    }
    // The `{codex…}` placeholders are known (not typos) and empty.
    let (code, out, err) = ql(&env, &["segment", "--format", "[{codex_5h}]( {codex})"]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "[–]\n", ""));
}

#[test]
fn the_segment_shows_what_the_last_refresh_read_and_never_reads_the_logs_itself() {
    let (_server, env, home) = with_codex();
    let now = Utc::now();
    let log = rollout(
        &home,
        &[token_count(now - Duration::minutes(5), 20.0, 30.0)],
    );
    refresh(&env);
    assert_eq!(
        segment(&env),
        format!("{CLAUDE_PART} · codex 5h 20% · 7d 30%")
    );
    // Codex writes on; the prompt path keeps the cache's numbers until the next refresh.
    append(&log, &token_count(now - Duration::minutes(1), 25.0, 31.0));
    assert_eq!(
        segment(&env),
        format!("{CLAUDE_PART} · codex 5h 20% · 7d 30%")
    );
    refresh(&env);
    assert_eq!(
        segment(&env),
        format!("{CLAUDE_PART} · codex 5h 25% · 7d 31%")
    );
    assert_eq!(read_cache(&env)["codex_logs"]["value"], Value::Null);
}

#[test]
fn a_codex_window_crossing_crit_fires_one_event() {
    let (_server, env, home) = with_codex();
    let now = Utc::now();
    let log = rollout(
        &home,
        &[token_count(now - Duration::minutes(5), 20.0, 80.0)],
    );
    refresh(&env);
    append(&log, &token_count(now - Duration::minutes(2), 21.0, 92.0));
    refresh(&env);
    // A later line of the same period, still over crit, fires nothing more.
    append(&log, &token_count(now - Duration::minutes(1), 22.0, 93.0));
    refresh(&env);
    let (code, out, err) = ql(&env, &["events", "--json"]);
    assert_eq!((code, err.as_str()), (0, ""));
    let events: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let fired: Vec<_> = events
        .iter()
        .map(|e| {
            (
                e["kind"].clone(),
                e["level"].clone(),
                e["window"].clone(),
                e["title"].clone(),
            )
        })
        .collect();
    assert_eq!(
        fired,
        [(
            Value::from("threshold"),
            Value::from("crit"),
            Value::from("codex_7d"),
            Value::from("Codex 7d limit at 92%")
        )]
    );
}

/// The fixture's `/backend-api/wham/usage` body with its absolute resets moved `ahead` of now.
fn wham_usage(ahead: Duration) -> String {
    let path = format!(
        "{}/tests/fixtures/codex/wham_usage.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let reset = (Utc::now() + ahead).timestamp();
    v["rate_limit"]["primary_window"]["reset_at"] = Value::from(reset);
    v["rate_limit"]["secondary_window"]["reset_at"] = Value::from(reset + 86_400);
    v.to_string()
}

const ACCESS_TOKEN: &str = "eyJ-codex-access-token-SECRET";

/// Codex logged in (`auth.json`), one log line 20 minutes old, the API enabled in config and
/// pointed at `server`.
fn with_codex_api(server: &FakeServer) -> (TestEnv, PathBuf, DateTime<Utc>) {
    let mut env = TestEnv::with_server(server);
    let home = env.home.path().join("codex-home");
    env.set("CODEX_HOME", home.to_str().unwrap())
        .set("QUOTALINE_CODEX_URL", &server.url());
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("auth.json"),
        serde_json::json!({"OPENAI_API_KEY": null, "tokens": {"id_token": "x.y.z",
            "access_token": ACCESS_TOKEN, "refresh_token": "rt-SECRET", "account_id": "acc-123"},
            "last_refresh": "2026-12-01T00:00:00Z"})
        .to_string(),
    )
    .unwrap();
    let written = Utc::now() - Duration::minutes(20);
    rollout(&home, &[token_count(written, 20.0, 30.0)]);
    env.config("codex_api = true\n");
    (env, home, written)
}

#[test]
fn with_the_api_enabled_the_numbers_come_from_the_endpoint() {
    let server = claude_ai("usage_flat_windows.json");
    server.route(
        "/backend-api/wham/usage",
        Reply::json(200, &wham_usage(Duration::hours(2))),
    );
    let (env, home, _) = with_codex_api(&server);
    refresh(&env);
    let asked: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path_only() == "/backend-api/wham/usage")
        .collect();
    assert_eq!(asked.len(), 1);
    assert_eq!(
        asked[0].header("authorization"),
        Some(&*format!("Bearer {ACCESS_TOKEN}"))
    );
    assert_eq!(asked[0].header("chatgpt-account-id"), Some("acc-123"));
    let codex = codex_org(&json(&env));
    assert_eq!(codex["sources"]["usage"]["source"], "codex-api");
    assert_eq!(codex["windows"]["codex_5h"]["utilization"], 23.0);
    assert_eq!(codex["windows"]["codex_7d"]["utilization"], 41.0);
    assert_eq!(
        codex["windows"]["codex_gpt_5_3_codex_spark"]["utilization"],
        23.0
    );
    assert_eq!(
        segment(&env),
        format!("{CLAUDE_PART} · codex 5h 23% · 7d 41%")
    );
    // The login is Codex's: never written, and its token is in no file quotaline keeps.
    let cache = std::fs::read_to_string(env.cache_dir.join("cache.json")).unwrap();
    assert!(!cache.contains("SECRET"));
    assert!(std::fs::read_to_string(home.join("auth.json"))
        .unwrap()
        .contains("rt-SECRET"));
    // Within the TTL it is not asked again.
    refresh(&env);
    assert_eq!(server.count("/backend-api/wham/usage"), 1);
}

#[test]
fn a_401_from_the_api_keeps_the_logs_numbers_with_their_age() {
    let server = claude_ai("usage_flat_windows.json");
    server.route(
        "/backend-api/wham/usage",
        Reply::json(
            401,
            r#"{"detail":"Could not parse your authentication token."}"#,
        ),
    );
    let (env, _home, written) = with_codex_api(&server);
    refresh(&env);
    // An expired login is not asked again within the TTL.
    refresh(&env);
    assert_eq!(server.count("/backend-api/wham/usage"), 1);
    let codex = codex_org(&json(&env));
    assert_read_from_log(&codex, written);
    assert_eq!(
        segment(&env),
        format!("{CLAUDE_PART} · codex 5h 20% · 7d 30%")
    );
    let (_, status, _) = ql(&env, &["status"]);
    assert!(
        status.contains("from          codex-log 20m ago"),
        "{status}"
    );
    let cache = read_cache(&env);
    let why = cache["codex_api_error"].as_str().unwrap();
    assert!(why.contains("401"), "{why}");
    assert!(!cache.to_string().contains("SECRET"));
}

#[test]
fn doctor_says_where_codex_was_looked_for_and_what_was_found() {
    let server = claude_ai("usage_flat_windows.json");
    server.route(
        "/backend-api/wham/usage",
        Reply::json(
            401,
            r#"{"detail":"Could not parse your authentication token."}"#,
        ),
    );
    let (env, home, written) = with_codex_api(&server);
    let log = home.join("sessions/2026/12/04/rollout-2026-12-04T10-00-00-a.jsonl");
    // The log was last written when its line was.
    let touched = std::process::Command::new("touch")
        .arg("-d")
        .arg(format!("@{}", written.timestamp()))
        .arg(&log)
        .status()
        .unwrap();
    assert!(touched.success());
    refresh(&env);
    let (_, out, _) = ql(&env, &["doctor"]);
    let section: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("codex ("))
        .take_while(|l| !l.is_empty())
        .collect();
    let h = home.display();
    assert_eq!(
        section,
        [
            "codex (OpenAI Codex's plan, from its session logs; read by refresh)".to_string(),
            format!("  looked in      {h}/sessions (CODEX_HOME)"),
            format!("  newest log     {} (written 20m ago)", log.display()),
            "  login          present (auth.json; never written by quotaline)".to_string(),
            "  api            on (codex_api = true); last answer: chatgpt.com session expired \
             or invalid (HTTP 401)"
                .to_string(),
            "  reading        codex-log 20m ago".to_string(),
        ]
    );
    assert!(!out.contains("SECRET"));
}

#[test]
fn check_judges_claude_codex_or_both_with_provider() {
    let (_server, env, home) = with_codex();
    rollout(
        &home,
        &[token_count(Utc::now() - Duration::minutes(2), 20.0, 92.0)],
    );
    refresh(&env);
    let run = |args: &[&str]| {
        let mut all = vec!["check"];
        all.extend_from_slice(args);
        ql(&env, &all)
    };
    // Codex's numbers are as old as its last log line: no "refresh failed" warning.
    assert_eq!(
        run(&["--provider", "codex", "--max", "99"]),
        (0, String::new(), String::new())
    );
    let over = |out: &str| out.starts_with("codex 7d at 92% (limit 90%), resets in ");
    // Claude's windows (37%, 58%, opus 71%) are under 90%.
    assert_eq!(run(&[]), (0, String::new(), String::new()));
    assert_eq!(
        run(&["--provider", "claude"]),
        (0, String::new(), String::new())
    );
    let (code, out, err) = run(&["--provider", "codex"]);
    assert_eq!((code, over(&out), err.as_str()), (1, true, ""), "{out}");
    let (code, out, err) = run(&["--provider", "all"]);
    assert_eq!((code, over(&out), err.as_str()), (1, true, ""), "{out}");
    assert_eq!(
        run(&["--provider", "gpt"]),
        (
            64,
            String::new(),
            "quotaline: --provider must be claude, codex or all, not `gpt`\n".to_string()
        )
    );
    assert_eq!(run(&["--provider", "codex", "--org", "x"]).0, 64);
    // Codex has no Claude account: `--account` speaks for Claude's windows only.
    let (code, out, err) = run(&["--provider", "all", "--account", "dev"]);
    assert_eq!((code, over(&out), err.as_str()), (1, true, ""), "{out}");
    assert_eq!(run(&["--provider", "codex", "--account", "dev"]).0, 1);
}

#[test]
fn check_eta_judges_codexs_windows_by_their_own_burn_rate() {
    let (_server, env, home) = with_codex();
    let now = Utc::now();
    let first = token_count(now - Duration::minutes(40), 10.0, 50.0);
    let log = rollout(&home, std::slice::from_ref(&first));
    refresh(&env);
    // The same period (its resets_at as it was), read 39 minutes later.
    let mut later: Value = serde_json::from_str(&first).unwrap();
    later["timestamp"] = Value::from((now - Duration::minutes(1)).to_rfc3339());
    later["payload"]["rate_limits"]["primary"]["used_percent"] = Value::from(70.0);
    append(&log, &later.to_string());
    refresh(&env);
    // 10% -> 70% in 39 minutes: 100% within the hour.
    let (code, out, err) = ql(
        &env,
        &[
            "check",
            "--provider",
            "codex",
            "--window",
            "codex_5h",
            "--eta",
            "1h",
        ],
    );
    assert_eq!((code, err.as_str()), (1, ""), "{out}");
    assert!(out.starts_with("codex 5h "), "{out}");
}

#[test]
fn history_keeps_codexs_windows_under_their_own_names() {
    let (_server, env, home) = with_codex();
    rollout(
        &home,
        &[token_count(Utc::now() - Duration::minutes(2), 20.0, 92.0)],
    );
    refresh(&env);
    let (code, out, err) = ql(&env, &["history", "--window", "codex_7d", "--json"]);
    assert_eq!((code, err.as_str()), (0, ""));
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1, "{out}");
    assert_eq!(
        (
            &rows[0]["org_uuid"],
            &rows[0]["window"],
            &rows[0]["utilization"]
        ),
        (
            &Value::from("codex"),
            &Value::from("codex_7d"),
            &Value::from(92.0)
        )
    );
    let (code, out, _) = ql(&env, &["history", "--org", "codex"]);
    assert_eq!(code, 0);
    let names: Vec<&str> = out.lines().skip(2).filter_map(|l| l.get(2..10)).collect();
    assert_eq!(names, ["codex 5h", "codex 7d"], "{out}");
}
