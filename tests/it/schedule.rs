//! Issue 25: gentle on the server, same freshness. An hour of prompts under a moved clock
//! (`QUOTALINE_TEST_NOW`, honoured by debug builds only) against the loopback fake, counting
//! every request; Claude Code's cached reading that costs none; Claude's own status page.

use crate::common::*;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const ORG1: &str = ORG_IDS[0];
const ORG2: &str = ORG_IDS[1];
const SUMMARY: &str = "/api/v2/summary.json";
/// The ladder the README promises (seconds): TTL, 2, 5, 10 minutes.
const LADDER: [i64; 4] = [60, 120, 300, 600];
/// A prompt redrawn every 15 s, for an hour.
const STEP: i64 = 15;
const STEPS: i64 = 240;

/// The time every process of a test sees, moved by the test.
struct Clock {
    start: DateTime<Utc>,
}

impl Clock {
    fn new() -> Clock {
        let now = Utc::now().timestamp();
        Clock {
            start: DateTime::from_timestamp(now, 0).unwrap(),
        }
    }

    /// Moves the clock to `secs` after the start, for every process `env` starts next.
    fn set(&self, env: &mut TestEnv, secs: i64) -> DateTime<Utc> {
        let t = self.start + chrono::Duration::seconds(secs);
        env.set("QUOTALINE_TEST_NOW", &t.to_rfc3339());
        t
    }
}

/// Waits for the refresh a segment started in the background (it holds the refresh lock
/// until it has written the cache).
fn wait_for_refresh(env: &TestEnv) {
    use fs4::fs_std::FileExt;
    let path = env.cache_dir.join("refresh.lock");
    if let Ok(lock) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
    {
        lock.lock_exclusive().unwrap();
    }
}

/// The flat windows (none at `warn`, the next reset more than an hour away) with extra usage
/// on and a spend that does not move: a body that never changes.
fn idle_body() -> String {
    let mut v: Value = serde_json::from_str(&shifted("usage_flat_windows.json")).unwrap();
    v["extra_usage"] = json!({"is_enabled": true, "monthly_limit": 5000, "used_credits": 1234,
                              "currency": "USD", "utilization": 24.68});
    v.to_string()
}

/// The same, with the five-hour window one step further at each reading.
fn moving_bodies() -> Vec<Reply> {
    (0..120)
        .map(|i| {
            let mut v: Value = serde_json::from_str(&idle_body()).unwrap();
            v["five_hour"]["utilization"] = json!(10.0 + f64::from(i) * 0.5);
            Reply::json(200, &v.to_string())
        })
        .collect()
}

/// A fake claude.ai whose two orgs answer `usage` (a sequence: the last one repeats).
fn server_with(usage: impl Fn() -> Vec<Reply>) -> FakeServer {
    let server = FakeServer::claude_ai("usage_flat_windows.json");
    for org in ORG_IDS {
        server.route_seq(&usage_path(org), usage());
    }
    server
}

fn requests_by_path(server: &FakeServer) -> BTreeMap<String, usize> {
    let mut by = BTreeMap::new();
    for r in server.requests() {
        let short = r.path_only().replace(ORG1, "ORG1").replace(ORG2, "ORG2");
        *by.entry(short).or_insert(0) += 1;
    }
    by
}

/// Seconds since each org's last full reading, and the interval the schedule the README
/// describes allows it (the ladder step for its unchanged readings, stretched by its jitter).
fn ages_and_allowances(env: &TestEnv, now: DateTime<Utc>) -> Vec<(String, i64, i64)> {
    let cache = read_cache(env);
    cache["snapshot"]["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let uuid = o["org_uuid"].as_str().unwrap().to_string();
            let at = o["sources"]["usage"]["at"].as_str().unwrap();
            let at = DateTime::parse_from_rfc3339(at).unwrap();
            // One ladder per login and org (`schedule::cadence_key`).
            let key = match o["account_uuid"].as_str() {
                Some(account) => format!("{account}/{uuid}"),
                None => uuid.clone(),
            };
            let cadence = &cache["cadence"][&key];
            let unchanged = cadence["unchanged"].as_u64().unwrap() as usize;
            let jitter = cadence["jitter"].as_i64().unwrap();
            let step = LADDER[unchanged.min(3)];
            (
                uuid,
                (now - at.with_timezone(&Utc)).num_seconds(),
                step + step * jitter / 1000,
            )
        })
        .collect()
}

/// An hour of prompts as tmux or starship make them: `quotaline segment` every 15 s, each
/// starting the background refresh the schedule says is due. After every prompt (and the
/// refresh it started) no org's numbers are older than the schedule allows, and a line shows
/// `stale` only at the prompt that starts its refresh. Returns the steps at which each path
/// was asked.
fn an_hour_of_segments(
    server: &FakeServer,
    env: &mut TestEnv,
    clock: &Clock,
) -> BTreeMap<String, Vec<i64>> {
    let mut asked: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for k in 0..STEPS {
        let now = clock.set(env, k * STEP);
        let before = server.requests().len();
        let (code, out, _) = ql(env, &["segment", "--target", "plain"]);
        assert_eq!(code, 0);
        wait_for_refresh(env);
        let new = server.requests()[before..].to_vec();
        for r in &new {
            let short = r.path_only().replace(ORG1, "ORG1").replace(ORG2, "ORG2");
            asked.entry(short).or_default().push(k);
        }
        if out.contains(" · stale ") {
            assert!(!new.is_empty(), "step {k}: stale and no refresh: {out}");
        }
        for (org, age, allowed) in ages_and_allowances(env, now) {
            assert!(
                age < allowed,
                "step {k}: {org} is {age} s old, the schedule allows {allowed} s"
            );
            assert!(age <= 660, "step {k}: {org} is {age} s old");
        }
    }
    asked
}

#[test]
fn an_idle_hour_of_prompts_with_two_orgs_costs_at_most_30_requests() {
    let server = server_with(|| vec![Reply::json(200, &idle_body())]);
    let mut env = TestEnv::with_server(&server);
    let clock = Clock::new();
    let asked = an_hour_of_segments(&server, &mut env, &clock);
    let total = server.requests().len();
    eprintln!(
        "idle hour: {total} requests: {:?}",
        requests_by_path(&server)
    );
    assert!(total <= 30, "{total}: {:?}", requests_by_path(&server));
    // The parts that change once a month, once; the overage endpoint once (its copy in
    // `/usage` never moved); `/usage` on the ladder: 0, 1, 3, 8, 18, 28, 38, 48, 58 minutes.
    for (path, n) in [
        ("/api/account", 1),
        ("/api/organizations/ORG1/subscription_details", 1),
        ("/api/organizations/ORG2/subscription_details", 1),
        ("/api/organizations/ORG1/overage_spend_limit", 1),
        ("/api/organizations/ORG2/overage_spend_limit", 1),
    ] {
        assert_eq!(asked[path].len(), n, "{path}");
    }
    for org in ["ORG1", "ORG2"] {
        let usage = &asked[&format!("/api/organizations/{org}/usage")];
        assert!((8..=9).contains(&usage.len()), "{org}: {usage:?}");
        let gaps: Vec<i64> = usage.windows(2).map(|w| (w[1] - w[0]) * STEP).collect();
        assert_eq!(
            gaps.iter().map(|g| ladder_step(*g)).collect::<Vec<_>>(),
            [60, 120, 300, 600, 600, 600, 600, 600][..gaps.len()],
            "{org}: {gaps:?}"
        );
    }

    // `status` and `doctor` say when the next refresh is due, and why.
    let (_, status, _) = ql(&env, &["status"]);
    let line = status
        .lines()
        .find(|l| l.starts_with("next refresh: "))
        .unwrap_or_else(|| panic!("{status}"));
    assert!(
        line.contains(": unchanged for ") && line.contains(" readings, so every 10m for "),
        "{line}"
    );
    let (_, doctor, _) = ql(&env, &["doctor"]);
    assert!(doctor.contains(line), "{doctor}");
}

/// The ladder step a gap between two readings belongs to: the gap is the step, stretched by
/// at most a tenth and rounded up to the next prompt, or taken up to 30 s early along with
/// the other org's reading.
fn ladder_step(gap: i64) -> i64 {
    *LADDER
        .iter()
        .find(|&&s| gap >= s - 30 && gap <= s + s / 10 + STEP)
        .unwrap_or_else(|| panic!("a gap of {gap} s is on no step of the ladder"))
}

#[test]
fn an_active_hour_reads_usage_once_a_ttl_and_the_monthly_parts_once() {
    let server = server_with(moving_bodies);
    let mut env = TestEnv::with_server(&server);
    let clock = Clock::new();
    let asked = an_hour_of_segments(&server, &mut env, &clock);
    eprintln!(
        "active hour: {} requests: {:?}",
        server.requests().len(),
        requests_by_path(&server)
    );
    for org in ["ORG1", "ORG2"] {
        let usage = &asked[&format!("/api/organizations/{org}/usage")];
        // Once a TTL (60 s, stretched by up to 6 s, seen at the next 15-s prompt).
        let gaps: Vec<i64> = usage.windows(2).map(|w| (w[1] - w[0]) * STEP).collect();
        assert!(
            gaps.iter().all(|g| (60..=75).contains(g)),
            "{org}: {gaps:?}"
        );
        assert!((48..=60).contains(&usage.len()), "{org}: {}", usage.len());
        for part in ["subscription_details", "overage_spend_limit"] {
            let n = asked[&format!("/api/organizations/{org}/{part}")].len();
            assert!(n <= 2, "{org} {part}: {n}");
        }
    }
    assert!(asked["/api/account"].len() <= 2);
}

#[test]
fn an_idle_hour_of_zsh_prompts_refreshes_when_the_prompt_file_says_due() {
    // The zsh hook's logic: read `segment.zsh`, start `quotaline refresh` once its due time
    // has passed. The file's due time is the schedule's, so the same hour costs the same.
    let server = server_with(|| vec![Reply::json(200, &idle_body())]);
    let mut env = TestEnv::with_server(&server);
    let clock = Clock::new();
    let file = env.cache_dir.join("segment.zsh");
    let mut refreshes = 0;
    for k in 0..STEPS {
        let now = clock.set(&mut env, k * STEP).timestamp();
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let mut lines = text.lines();
        let due: i64 = lines.next().and_then(|d| d.parse().ok()).unwrap_or(0);
        assert!(
            !lines.next().unwrap_or("").contains("stale"),
            "step {k}: {text}"
        );
        if now >= due {
            assert_eq!(ql(&env, &["refresh"]).0, 0);
            refreshes += 1;
        }
    }
    let total = server.requests().len();
    eprintln!("idle hour (zsh): {refreshes} refreshes, {total} requests");
    assert!(total <= 30, "{total}: {:?}", requests_by_path(&server));
    assert!((8..=9).contains(&refreshes), "{refreshes}");
}

#[test]
fn a_persons_refresh_and_wait_still_fetch_while_the_schedule_waits() {
    let server = server_with(|| vec![Reply::json(200, &idle_body())]);
    let mut env = TestEnv::with_server(&server);
    let clock = Clock::new();
    // Four unchanged readings: the next is ten minutes away.
    for at in [0, 61, 190, 500] {
        clock.set(&mut env, at);
        assert_eq!(ql(&env, &["refresh"]).0, 0);
    }
    let usage = || server.count(&usage_path(ORG1));
    assert_eq!(usage(), 4);
    clock.set(&mut env, 620);
    ql(&env, &["segment"]);
    wait_for_refresh(&env);
    assert_eq!(usage(), 4, "the schedule waits");
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    assert_eq!(
        usage(),
        5,
        "a person's refresh fetches numbers older than the TTL"
    );
    clock.set(&mut env, 700);
    assert_eq!(ql(&env, &["segment", "--wait"]).0, 0);
    assert_eq!(usage(), 6, "so does --wait");
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    assert_eq!(usage(), 6, "within the TTL there is nothing to fetch");
}

#[test]
fn an_org_that_fails_alone_keeps_its_numbers_and_waits_its_interval_to_be_asked_again() {
    let server = claude_ai("usage_flat_windows.json");
    let mut env = TestEnv::with_server(&server);
    let clock = Clock::new();
    clock.set(&mut env, 0);
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    server.route(&usage_path(ORG2), Reply::json(500, "{}"));
    clock.set(&mut env, 70);
    assert_eq!(ql(&env, &["refresh"]).0, 0, "the active org answered");
    assert_eq!(server.count(&usage_path(ORG2)), 2);
    // Prompts that follow do not ask it at each redraw: it was asked, a TTL ago at most.
    for at in [85, 100, 115] {
        clock.set(&mut env, at);
        ql(&env, &["segment"]);
        wait_for_refresh(&env);
    }
    assert_eq!(server.count(&usage_path(ORG2)), 2);
    let (_, status, _) = ql(&env, &["status"]);
    assert!(
        status.contains("  last asked    claude.ai at ") && status.contains(", no usable answer"),
        "{status}"
    );
    clock.set(&mut env, 145);
    ql(&env, &["segment"]);
    wait_for_refresh(&env);
    assert_eq!(server.count(&usage_path(ORG2)), 3);
}

/// `~/.claude.json` naming ORG1 as the login's org, holding Claude Code's own last reading of
/// `usage` fetched at `fetched_at`, for the account `owner`.
fn claude_json(env: &TestEnv, owner: &str, fetched_at: DateTime<Utc>, usage: &str) {
    let doc = json!({
        "projects": {"/home/dev/src/demo": {"history": ["x"]}},
        "oauthAccount": {
            "accountUuid": ACCOUNT_ID,
            "emailAddress": "dev@example.com",
            "organizationUuid": ORG1,
            "organizationName": "Dev Org",
        },
        "cachedUsageUtilization": {
            "fetchedAtMs": fetched_at.timestamp_millis(),
            "accountUuid": owner,
            "utilization": serde_json::from_str::<Value>(usage).unwrap(),
        }
    });
    std::fs::write(env.home.path().join(".claude.json"), doc.to_string()).unwrap();
}

/// A cache ten minutes old, and Claude Code's own `/usage` copy of five seconds ago (other
/// numbers) in `.claude.json`, fetched at the time returned.
fn claude_code_cached_newer() -> (FakeServer, TestEnv, DateTime<Utc>) {
    let (server, env) = refreshed_with("usage_flat_windows.json");
    age_cache(&env, 600);
    let fetched_at = Utc::now() - chrono::Duration::seconds(5);
    claude_json(
        &env,
        ACCOUNT_ID,
        fetched_at,
        &shifted("usage_limits_array.json"),
    );
    (server, env, fetched_at)
}

fn plain(env: &TestEnv) -> String {
    ql(env, &["segment", "--target", "plain"]).1
}

#[test]
fn claude_codes_cached_reading_newer_than_the_cache_shows_without_a_request_for_its_org() {
    let (server, env, fetched_at) = claude_code_cached_newer();
    let (org1, org2) = (
        server.count(&usage_path(ORG1)),
        server.count(&usage_path(ORG2)),
    );
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        server.count(&usage_path(ORG1)),
        org1,
        "Claude Code read it already"
    );
    assert_eq!(
        server.count(&usage_path(ORG2)),
        org2 + 1,
        "the other org was due"
    );
    assert_eq!(
        plain(&env),
        "5h 23% · 7d 64% · opus 81% · sonnet 9% · ↻42m\n"
    );
    let cache = read_cache(&env);
    let org = &cache["snapshot"]["orgs"][0];
    assert_eq!(org["org_uuid"], ORG1);
    assert_eq!(org["sources"]["usage"]["source"], "claude-code-cache");
    assert_eq!(
        org["sources"]["usage"]["at"]
            .as_str()
            .map(|t| DateTime::parse_from_rfc3339(t).unwrap().timestamp_millis()),
        Some(fetched_at.timestamp_millis())
    );
    // What only claude.ai says stays, with its own age.
    assert_eq!(org["subscription"]["status"], "active");
    assert_eq!(org["sources"]["subscription"]["source"], "claude.ai");
    // The cache keeps when Claude Code fetched, not its body: every prompt reads the cache.
    let kept = &cache["claude_account"]["value"]["cached_usage"];
    assert_eq!(
        kept.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["fetched_at"]
    );
    let (_, doctor, _) = ql(&env, &["doctor"]);
    assert!(
        doctor.contains(&format!(
            "Claude Code's cached usage (cachedUsageUtilization): fetched {}",
            // The one clock format, in the local zone (the suite runs in UTC).
            fetched_at.format("%a %b %-d %H:%M")
        )),
        "{doctor}"
    );
    // Taken once: the next refresh finds nothing newer and asks ORG1 only when it is due.
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    assert_eq!(server.count(&usage_path(ORG1)), org1);
}

#[test]
fn claude_codes_statusline_takes_its_cached_reading_in_with_the_same_memo() {
    let (server, env, _) = claude_code_cached_newer();
    // A statusLine call without rate_limits (a session before its first answer).
    let org1 = server.count(&usage_path(ORG1));
    let (code, out, _) = ql_statusline(&env, br#"{"version": "2.1.250"}"#);
    assert_eq!(code, 0);
    assert!(out.contains("23%"), "{out}");
    // The other org was due: the background refresh it started asks for that one only.
    wait_for_refresh(&env);
    assert_eq!(
        server.count(&usage_path(ORG1)),
        org1,
        "no request for Claude Code's org"
    );
    assert_eq!(
        read_cache(&env)["snapshot"]["orgs"][0]["sources"]["usage"]["source"],
        "claude-code-cache"
    );
}

#[test]
fn a_cached_reading_of_another_login_or_older_than_the_cache_is_not_taken() {
    let (server, env) = refreshed_with("usage_flat_windows.json");
    age_cache(&env, 600);
    let recent = Utc::now() - chrono::Duration::seconds(5);
    claude_json(&env, "acc-2", recent, &shifted("usage_limits_array.json"));
    let org1 = server.count(&usage_path(ORG1));
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    assert_eq!(server.count(&usage_path(ORG1)), org1 + 1);
    assert_eq!(plain(&env), "5h 37% · 7d 58% · opus 71% · ↻1h12m\n");

    // The login's own, but older than the reading just taken.
    claude_json(
        &env,
        ACCOUNT_ID,
        recent,
        &shifted("usage_limits_array.json"),
    );
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    assert_eq!(plain(&env), "5h 37% · 7d 58% · opus 71% · ↻1h12m\n");
    assert_eq!(
        read_cache(&env)["snapshot"]["orgs"][0]["sources"]["usage"]["source"],
        "claude.ai"
    );
}

#[test]
fn a_404_for_an_org_reads_the_org_list_at_once() {
    let (server, env) = refreshed_with("usage_flat_windows.json");
    assert_eq!(server.count("/api/account"), 1);
    // The user left the second org: its `/usage` is gone, the list names only the first.
    let mut account: Value = serde_json::from_str(&payload("account.json")).unwrap();
    account["memberships"].as_array_mut().unwrap().truncate(1);
    server.route("/api/account", Reply::json(200, &account.to_string()));
    server.route(&usage_path(ORG2), Reply::json(404, r#"{"type":"error"}"#));
    age_cache(&env, 120);
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        server.count("/api/account"),
        2,
        "read at once, not within the hour"
    );
    let orgs: Vec<Value> = read_cache(&env)["snapshot"]["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["org_uuid"].clone())
        .collect();
    assert_eq!(orgs, [ORG1]);
}

#[test]
fn an_org_that_appears_through_claude_code_has_the_org_list_read_at_the_next_refresh() {
    let (server, env) = refreshed_with("usage_flat_windows.json");
    let new_org = "0a0b0c0d-3333-4a2b-9c3d-000000000003";
    let doc = json!({"oauthAccount": {"accountUuid": "acc-9", "organizationUuid": new_org}});
    std::fs::write(env.home.path().join(".claude.json"), doc.to_string()).unwrap();
    let stdin = json!({"rate_limits": {"five_hour": {"used_percentage": 12,
        "resets_at": Utc::now().timestamp() + 3600}}});
    assert_eq!(ql_statusline(&env, stdin.to_string().as_bytes()).0, 0);
    let (_, status, _) = ql(&env, &["status"]);
    assert!(
        status.contains(&format!(
            "to read the org list: org {new_org} appeared through statusline"
        )),
        "{status}"
    );
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    assert_eq!(server.count("/api/account"), 2);
    assert_eq!(server.count(&usage_path(ORG1)), 1, "only the list was due");
    // Read once: the org is not in this account's list, and that is not asked again.
    age_cache(&env, 61);
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    assert_eq!(server.count("/api/account"), 2);
}

/// A Statuspage summary with `indicator` and the given unresolved incidents.
fn summary(indicator: &str, description: &str, incidents: Value) -> Reply {
    Reply::json(
        200,
        &json!({
            "page": {"id": "tymt9n04zgry", "name": "Claude", "url": "https://status.claude.com"},
            "status": {"indicator": indicator, "description": description},
            "components": [{"name": "claude.ai", "status": "operational"}],
            "incidents": incidents,
        })
        .to_string(),
    )
}

fn opus_incident(impact: &str, status: &str) -> Value {
    json!([{
        "id": "x1y2z3", "name": "Elevated errors on Claude Opus", "status": status,
        "impact": impact, "shortlink": "https://stspg.io/x1y2z3",
        "created_at": "2026-11-22T11:40:00Z", "started_at": "2026-11-22T11:38:00Z",
        "components": [{"name": "claude.ai"}, {"name": "Claude Code"}]
    }])
}

/// From `at` seconds on the status page answers `page`; a forced refresh reads it, and the
/// line (plain) is what it then shows.
fn line_after_page(
    server: &FakeServer,
    env: &mut TestEnv,
    clock: &Clock,
    at: i64,
    page: Reply,
) -> String {
    server.route(SUMMARY, page);
    clock.set(env, at);
    assert_eq!(ql(env, &["refresh", "--force"]).0, 0);
    plain(env)
}

fn incident_events(env: &TestEnv) -> Vec<(String, String)> {
    let (_, out, _) = ql(env, &["events", "--json"]);
    out.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["kind"] == "incident")
        .map(|e| {
            (
                e["level"].as_str().unwrap().to_string(),
                e["title"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn status_shows_claudes_outage_from_its_status_page_and_nothing_when_operational() {
    let server = claude_ai("usage_flat_windows.json");
    server.route(
        SUMMARY,
        summary("none", "All Systems Operational", json!([])),
    );
    let mut env = TestEnv::with_server(&server);
    env.set("QUOTALINE_STATUS_URL", &server.url());
    let clock = Clock::new();
    clock.set(&mut env, 0);
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    assert_eq!(plain(&env), "5h 37% · 7d 58% · opus 71% · ↻1h12m\n");
    let (_, status, _) = ql(&env, &["status"]);
    assert!(
        status.contains("\nClaude status: operational, read 0s ago\n"),
        "{status}"
    );

    let page = summary(
        "minor",
        "Minor Service Outage",
        opus_incident("minor", "identified"),
    );
    assert_eq!(
        line_after_page(&server, &mut env, &clock, 300, page),
        "5h 37% · 7d 58% · opus 71% · ↻1h7m · minor outage\n"
    );
    let (_, status, _) = ql(&env, &["status"]);
    assert!(
        status.contains(
            "\nClaude status: minor outage (Minor Service Outage), read 0s ago\n  incident: \
             Elevated errors on Claude Opus (identified, minor); affects claude.ai, Claude Code \
             https://stspg.io/x1y2z3\n"
        ),
        "{status}"
    );

    let page = summary(
        "major",
        "Partial System Outage",
        opus_incident("major", "identified"),
    );
    assert_eq!(
        line_after_page(&server, &mut env, &clock, 600, page),
        "5h 37% · 7d 58% · opus 71% · ↻1h2m · major outage\n"
    );
    // The bars' dropdowns carry the report's line.
    let (_, waybar, _) = ql(&env, &["segment", "--target", "waybar"]);
    let waybar: Value = serde_json::from_str(&waybar).unwrap();
    assert!(
        waybar["tooltip"]
            .as_str()
            .unwrap()
            .contains("Claude status: major outage (Partial System Outage), read 0s ago"),
        "{waybar}"
    );
    let (_, xbar, _) = ql(&env, &["segment", "--target", "xbar"]);
    assert!(
        xbar.contains("Claude status: major outage (Partial System Outage), read 0s ago"),
        "{xbar}"
    );
    // A refresh within five minutes does not ask the page again.
    clock.set(&mut env, 700);
    assert_eq!(ql(&env, &["refresh", "--force"]).0, 0);
    assert_eq!(server.count(SUMMARY), 3);

    let page = summary("none", "All Systems Operational", json!([]));
    assert_eq!(
        line_after_page(&server, &mut env, &clock, 900, page),
        "5h 37% · 7d 58% · opus 71% · ↻57m\n"
    );
    assert_eq!(server.count(SUMMARY), 4);
    // One event when the incident started, one when it was resolved: the first reading of
    // the page is no news, and the impact growing is the same incident.
    assert_eq!(
        incident_events(&env),
        [
            (
                "started".to_string(),
                "Claude incident: Elevated errors on Claude Opus".to_string()
            ),
            (
                "resolved".to_string(),
                "Claude incident resolved: Elevated errors on Claude Opus".to_string()
            ),
        ]
    );
}

#[test]
fn a_status_page_that_hangs_costs_the_refresh_its_timeout_and_nothing_else() {
    let server = claude_ai("usage_flat_windows.json");
    server.route(SUMMARY, Reply::hang());
    let mut env = TestEnv::with_server(&server);
    env.set("QUOTALINE_STATUS_URL", &server.url())
        // claude.ai's own requests may take 30 s: only the page's short timeout ends the wait.
        .set("QUOTALINE_TIMEOUT", "30");
    // A still clock, so that `doctor` reads the try's age exactly.
    Clock::new().set(&mut env, 0);
    let started = Instant::now();
    let (code, _, err) = ql(&env, &["refresh"]);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(server.count(SUMMARY), 1);
    assert_eq!(plain(&env), "5h 37% · 7d 58% · opus 71% · ↻1h12m\n");
    assert_eq!(read_cache(&env)["state"]["error"], Value::Null);
    let (_, doctor, _) = ql(&env, &["doctor"]);
    assert!(
        doctor.contains(
            "Claude status page: not read 0s ago: status.claude.com did not answer \
             /api/v2/summary.json within 3 s (never fails a refresh)"
        ),
        "{doctor}"
    );
    let (_, status, _) = ql(&env, &["status"]);
    assert!(!status.contains("Claude status"), "{status}");
}
