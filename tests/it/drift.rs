//! Issue 13 (with the payload parts of 17 and 18): truth under drift and time. Every shape
//! the server has been seen to send, through the real binary and the loopback fake: a window
//! is the unit of truth, unreadable payloads keep the last numbers, nonsense numbers are
//! rejected on every source, a window past its reset is no longer shown as current, and
//! `verify` diffs quotaline against a DevTools capture.

use crate::common::*;
use crate::native_host::{reading, send};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const ORG1: &str = ORG_IDS[0];

fn json_of(env: &TestEnv) -> Value {
    let (_, out, err) = ql(env, &["json"]);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"))
}

fn segment(env: &TestEnv, args: &[&str]) -> String {
    let mut all = vec!["segment"];
    all.extend_from_slice(args);
    let (code, out, err) = ql(env, &all);
    assert_eq!((code, err.as_str()), (0, ""));
    out
}

fn status(env: &TestEnv) -> String {
    let (code, out, _) = ql(env, &["status"]);
    assert_eq!(code, 0);
    out
}

fn assert_contains(haystack: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            haystack.contains(needle),
            "missing {needle:?} in:\n{haystack}"
        );
    }
}

/// The billing endpoints answer 404, so `/usage`'s own money is what is shown.
fn without_overage(server: &FakeServer) {
    for org in ORG_IDS {
        server.route(
            &format!("/api/organizations/{org}/overage_spend_limit"),
            Reply::json(404, "{}"),
        );
    }
}

#[test]
fn a_window_without_a_number_is_missing_and_the_rest_of_the_payload_counts() {
    let (_server, env) = refreshed_with("usage_partial_windows.json");
    // five_hour is null flat and 37 in limits[]; sonnet is 12 flat and null in limits[].
    assert_eq!(
        segment(&env, &[]),
        "5h 37% · 7d 58% · opus 71% · sonnet 12% · ↻1h12m\n"
    );
    // Codenames and unknown kinds are kept under their own names, usable in a format.
    assert_eq!(
        segment(
            &env,
            &["--format", "{tangelo} {daily_design} {routines} {omelette}"]
        ),
        "18% 5% 8% 3%\n"
    );
    let v = json_of(&env);
    let org = &v["orgs"][0];
    assert_eq!(org["windows"].get("seven_day_oauth_apps"), None);
    assert_eq!(org["windows"]["tangelo"]["utilization"], 17.5);
    assert_eq!(org["windows"]["seven_day_sonnet"]["resets_at"], Value::Null);
    assert_eq!(
        org["unusable"]["seven_day_oauth_apps"],
        json!({"problem": "no_number", "detail": "sent without a number",
               "source": "claude.ai"})
    );
    assert_contains(
        &status(&env),
        &[
            "sonnet          12%  no reset time",
            "not shown     seven_day_oauth_apps: sent without a number (no number, from claude.ai)",
            "no label      daily_design, seven_day_routines, tangelo (shown under these names)",
        ],
    );
    let (_, doctor, _) = ql(&env, &["doctor"]);
    assert_contains(
        &doctor,
        &[
            "seven_day_oauth_apps: sent without a number (no number, from claude.ai)",
            "no label: daily_design, seven_day_routines, tangelo",
        ],
    );
}

#[test]
fn payloads_quotaline_cannot_read_are_parse_errors_that_keep_the_last_numbers() {
    for (fixture, why) in [
        (
            "usage_renamed_fields.json",
            "five_hour: limits[0]: no `percent` (unknown fields: \"pct\")",
        ),
        (
            "usage_percent_strings.json",
            "five_hour: limits[0]: `percent` is a string (\"97\")",
        ),
        (
            "usage_bare_numbers.json",
            "five_hour: 97 is a bare number, not a window object",
        ),
        ("usage_empty_limits.json", "no window has a number"),
    ] {
        let (server, env) = refreshed_with("usage_flat_windows.json");
        server.route(&usage_path(ORG1), Reply::json(200, &payload(fixture)));
        let (code, _, err) = ql(&env, &["refresh", "--force"]);
        assert_eq!(code, 1, "{fixture}");
        assert!(
            err.contains("unrecognized usage payload"),
            "{fixture}: {err}"
        );
        assert!(err.contains(why), "{fixture}: {err}");
        let v = json_of(&env);
        assert_eq!(v["error"]["kind"], "parse", "{fixture}");
        assert_eq!(v["orgs"][0]["windows"]["five_hour"]["utilization"], 37.0);
        assert!(
            segment(&env, &[]).starts_with("5h 37% · 7d 58%"),
            "{fixture}"
        );
        // The guard says its numbers are not the server's latest.
        let (_, _, err) = ql(&env, &["check"]);
        assert!(err.contains("the last refresh failed"), "{fixture}: {err}");
    }
}

#[test]
fn an_unknown_kind_is_a_window_under_its_own_name_and_check_judges_it() {
    let (_server, env) = refreshed_with("usage_unknown_kind.json");
    let (code, out, _) = ql(&env, &["check", "--max", "90"]);
    assert_eq!(code, 1);
    assert!(out.starts_with("rolling_daily at 97% (limit 90%)"), "{out}");
    assert_eq!(segment(&env, &["--format", "{rolling_daily}"]), "97%\n");
}

#[test]
fn an_org_whose_windows_vanish_keeps_them_unless_the_server_says_none() {
    let (server, env) = refreshed_with("usage_flat_windows.json");
    server.route(
        &usage_path(ORG1),
        Reply::json(200, &payload("usage_windows_vanished.json")),
    );
    let (code, _, err) = ql(&env, &["refresh", "--force"]);
    assert_eq!(code, 1);
    assert!(err.contains("this org had windows"), "{err}");
    assert_eq!(
        json_of(&env)["orgs"][0]["windows"]["seven_day"]["utilization"],
        58.0
    );
    // `five_hour: null, seven_day: null` is the server saying so: a credit-only org now.
    server.route(
        &usage_path(ORG1),
        Reply::json(200, &payload("usage_enterprise.json")),
    );
    assert_eq!(ql(&env, &["refresh", "--force"]).0, 0);
    assert_eq!(segment(&env, &[]), "extra $12.34/$50\n");
}

#[test]
fn nonsense_numbers_from_claude_ai_are_rejected_and_the_rest_counts() {
    let (_server, env) = refreshed_with("usage_nonsense_numbers.json");
    assert_eq!(segment(&env, &[]), "5h 37% · 7d – · ↻1h12m\n");
    let v = json_of(&env);
    let org = &v["orgs"][0];
    let keys: Vec<&String> = org["windows"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["five_hour", "seven_day_oauth_apps"]);
    // 105% is real: kept, and judged.
    assert_eq!(org["windows"]["seven_day_oauth_apps"]["utilization"], 105.0);
    assert_eq!(org["unusable"]["seven_day"]["problem"], "rejected");
    assert_contains(
        &status(&env),
        &[
            "seven_day: 1e308 is not a percent the server can mean (0 to 1000) (rejected, from claude.ai)",
            "seven_day_opus: -5 is not a percent the server can mean (0 to 1000) (rejected, from claude.ai)",
            "seven_day_sonnet: 1500 is not a percent",
            "seven_day_cowork: reset time 1970-01-",
            "is not one the server can mean (2020 to 2100) (rejected, from claude.ai)",
            "seven_day_omelette: reset time 2150-01-",
        ],
    );
    let (code, out, _) = ql(&env, &["check", "--max", "90"]);
    assert_eq!(code, 1);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.starts_with("oauth_apps at 105% (limit 90%)"), "{out}");
}

#[test]
fn nonsense_numbers_from_oauth_are_rejected_and_the_rest_counts() {
    let server = FakeServer::start();
    server.route(
        "/api/oauth/usage",
        Reply::json(200, &shifted("usage_nonsense_numbers.json")),
    );
    let mut env = TestEnv::with_server(&server);
    env.remove("QUOTALINE_SESSION_KEY")
        .set("QUOTALINE_SOURCES", "oauth");
    let creds = env.home.path().join(".claude/.credentials.json");
    std::fs::create_dir_all(creds.parent().unwrap()).unwrap();
    std::fs::write(&creds, payload("claude_credentials.json")).unwrap();
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(segment(&env, &[]), "5h 37% · 7d – · ↻1h12m\n");
    let org = &json_of(&env)["orgs"][0];
    assert_eq!(org["unusable"]["seven_day"]["source"], "oauth");
    assert_eq!(org["unusable"]["seven_day_opus"]["problem"], "rejected");
}

#[test]
fn nonsense_numbers_on_statusline_stdin_are_rejected_and_105_is_kept() {
    let env = TestEnv::new();
    let stdin = shifted("statusline_nonsense.json");
    let (code, out, err) = ql_statusline(&env, stdin.as_bytes());
    assert_eq!((code, err.as_str()), (0, ""));
    let plain = crate::common::programs::strip_sgr(&out);
    assert_eq!(plain, "5h – · 7d – · sonnet 105% · ↻5d16h\n");
    let v = json_of(&env);
    let org = &v["orgs"][0];
    assert_eq!(org["windows"]["seven_day_sonnet"]["utilization"], 105.0);
    assert_eq!(
        org["unusable"]["five_hour"],
        json!({"problem": "rejected", "source": "statusline",
               "detail": "rate_limits.five_hour: 1e308 is not a percent the server can mean (0 to 1000)"})
    );
    assert_contains(
        &status(&env),
        &[
            "seven_day: rate_limits.seven_day: -5 is not a percent",
            "seven_day_opus: rate_limits.seven_day_opus: reset time 1970-01-01T00:00:01+00:00 is not one",
        ],
    );
}

#[test]
fn statusline_folds_per_model_windows_and_extra_usage_when_claude_code_sends_them() {
    let env = TestEnv::new();
    let stdin = shifted("statusline_extended.json");
    let (code, out, _) = ql_statusline(&env, stdin.as_bytes());
    assert_eq!(code, 0);
    assert_eq!(
        crate::common::programs::strip_sgr(&out),
        "5h 105% · 7d 15% · opus 34% · ↻1h12m\n"
    );
    let org = &json_of(&env)["orgs"][0];
    assert_eq!(org["extra_usage"]["used"], 7.77);
    assert_eq!(org["extra_usage"]["limit"], 50.0);
    assert_eq!(org["extra_usage"]["currency"], "EUR");
    assert_eq!(org["sources"]["extra_usage"]["source"], "statusline");
}

#[test]
fn nonsense_numbers_in_the_extensions_message_are_rejected_and_the_rest_counts() {
    let env = TestEnv::new();
    let reply = send(&env, &reading("usage_nonsense_numbers.json", 0));
    assert_eq!(reply["ok"], true, "{reply}");
    assert_eq!(reply["percent"], 105.0);
    assert_eq!(reply["line"], "5h 37% · 7d – · ↻1h12m");
    let org = &json_of(&env)["orgs"][0];
    assert_eq!(org["unusable"]["seven_day"]["source"], "extension");
    assert_eq!(org["unusable"]["seven_day_cowork"]["problem"], "rejected");
}

#[test]
fn money_is_scaled_by_its_own_exponent_or_its_currency_and_no_cap_is_no_cap() {
    for (fixture, extra, report) in [
        (
            "usage_spend_jpy.json",
            "1234 JPY",
            "extra usage   1234 JPY spent, no cap · balance 5000 JPY",
        ),
        (
            "usage_spend_out_of_credits.json",
            "12.345 KWD/12.345 KWD",
            "extra usage   12.345 KWD / 12.345 KWD spent · OUT OF CREDITS (out_of_credits)",
        ),
        (
            "usage_extra_no_cap.json",
            "$43.21",
            "extra usage   $43.21 spent, no cap",
        ),
    ] {
        let server = claude_ai(fixture);
        without_overage(&server);
        let env = TestEnv::with_server(&server);
        assert_eq!(ql(&env, &["refresh"]).0, 0, "{fixture}");
        assert_eq!(
            segment(&env, &["--format", "{extra}"]),
            format!("{extra}\n"),
            "{fixture}"
        );
        assert_contains(&status(&env), &[report]);
    }
}

/// As if `secs` had passed since the cache was written: its readings are older and the
/// windows' resets that much nearer (or past).
fn pass_time(env: &TestEnv, secs: i64) {
    age_cache(env, secs);
    let mut v = read_cache(env);
    for org in v["snapshot"]["orgs"].as_array_mut().unwrap() {
        for w in org["windows"].as_object_mut().unwrap().values_mut() {
            if let Some(t) = w["resets_at"].as_str() {
                let t = chrono::DateTime::parse_from_rfc3339(t).unwrap();
                w["resets_at"] = json!((t - chrono::Duration::seconds(secs)).to_rfc3339());
            }
        }
    }
    std::fs::write(env.cache_dir.join("cache.json"), v.to_string()).unwrap();
}

/// Polls the cache until `done` holds (a detached refresh finishing), for up to 20 s.
fn wait_for_cache(env: &TestEnv, done: impl Fn(&Value) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if done(&read_cache(env)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the cache never got there: {}", read_cache(env));
}

#[test]
fn a_window_past_its_reset_is_shown_as_reset_not_checked_and_refreshed_at_once() {
    let server = claude_ai("usage_near_reset.json");
    let mut env = TestEnv::with_server(&server);
    // A TTL of ten hours: only the reset can make a refresh due.
    env.set("QUOTALINE_TTL", "36000");
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    let reset = read_cache(&env)["snapshot"]["orgs"][0]["windows"]["five_hour"]["resets_at"]
        .as_str()
        .map(|t| chrono::DateTime::parse_from_rfc3339(t).unwrap().timestamp())
        .unwrap();
    let zsh = std::fs::read_to_string(env.cache_dir.join("segment.zsh")).unwrap();
    assert_eq!(
        zsh.lines().next(),
        Some(reset.to_string().as_str()),
        "the prompt file is due at the five-hour reset"
    );

    // Twenty minutes later the five-hour window has reset, and the server is down.
    server.route(&usage_path(ORG1), Reply::json(503, "{}"));
    pass_time(&env, 20 * 60);
    assert_eq!(segment(&env, &[]), "5h reset · 7d 40% · ↻4d14h\n");
    assert!(
        server.wait_for(&usage_path(ORG1), 2, Duration::from_secs(20)),
        "the reset started a refresh at once"
    );
    wait_for_cache(&env, |c| c["state"]["error"]["kind"] == "http");

    let (code, out, err) = ql(&env, &["check", "--max", "50"]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert!(
        err.contains("5h reset 7m ago; a new reading is due (not checked)"),
        "{err}"
    );
    let report = status(&env);
    assert_contains(
        &report,
        &["5h            reset  ", "(7m ago); a new reading is due"],
    );
    let (_, bar, _) = ql(&env, &["segment", "--target", "waybar"]);
    let bar: Value = serde_json::from_str(&bar).unwrap();
    assert_eq!(bar["percentage"], 40);
    assert_eq!(bar["class"], "ok");
    assert!(
        bar["text"]
            .as_str()
            .unwrap()
            .starts_with("5h reset · 7d 40%"),
        "{bar}"
    );
}

#[test]
fn the_extension_badge_does_not_show_a_window_past_its_reset() {
    let env = TestEnv::new();
    let mut message = reading("usage_near_reset.json", 0);
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    for answer in message["responses"].as_array_mut().unwrap() {
        if answer["path"].as_str().unwrap().ends_with("/usage") {
            let mut body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
            body["five_hour"]["resets_at"] = json!(past);
            answer["body"] = json!(body.to_string());
        }
    }
    let reply = send(&env, &message);
    assert_eq!(reply["percent"], 40.0, "{reply}");
    assert_eq!(reply["severity"], "ok");
    assert_eq!(reply["line"], "5h reset · 7d 40% · ↻4d15h");
}

/// A DevTools capture of `/usage` ("Copy response"), saved to a file in the test's home.
fn capture(env: &TestEnv, body: &str) -> String {
    let path = env.home.path().join("usage-devtools.json");
    std::fs::write(&path, body).unwrap();
    path.display().to_string()
}

#[test]
fn verify_matches_a_capture_of_the_same_reading() {
    let (_server, env) = refreshed_with("usage_flat_windows.json");
    let file = capture(&env, &shifted("usage_flat_windows.json"));
    let (code, out, err) = ql(&env, &["verify", &file]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out.lines().take(5).collect::<Vec<_>>(),
        [
            "window      DevTools  quotaline  match",
            "5h               37%        37%  yes",
            "7d               58%        58%  yes",
            "oauth_apps       12%        12%  yes",
            "opus             71%        71%  yes",
        ]
    );
    assert!(out.contains("\nevery number matches"), "{out}");
    // `-` reads the capture from stdin.
    let (code, out, _) = env.run_stdin(
        &BIN,
        &["verify", "-"],
        shifted("usage_flat_windows.json").as_bytes(),
        Duration::from_secs(30),
    );
    assert_eq!(code, 0, "{out}");
}

#[test]
fn verify_shows_which_numbers_differ_and_that_quotaline_is_older() {
    let (_server, env) = refreshed_with("usage_flat_windows.json");
    age_cache(&env, 600);
    let mut body: Value = serde_json::from_str(&shifted("usage_flat_windows.json")).unwrap();
    body["five_hour"]["utilization"] = json!(45.5);
    body["tangelo"] = json!({"utilization": 2, "resets_at": null});
    let file = capture(&env, &body.to_string());
    let (code, out, _) = ql(&env, &["verify", &file, "--org", ORG1]);
    assert_eq!(code, 1, "{out}");
    assert_contains(
        &out,
        &[
            "5h             45.5%        37%  NO",
            "tangelo           2%          –  NO",
            "7d               58%        58%  yes",
            "quotaline's reading (claude.ai, ",
            ") is 10m older than the capture (",
            "run `quotaline refresh --force` and verify again",
        ],
    );
}

#[test]
fn verify_exits_two_on_a_file_it_cannot_read() {
    let (_server, env) = refreshed_with("usage_flat_windows.json");
    let missing = env.home.path().join("nope.json").display().to_string();
    let (code, _, err) = ql(&env, &["verify", &missing]);
    assert_eq!(code, 2);
    assert!(err.contains("nope.json"), "{err}");
    let (code, _, err) = ql(
        &env,
        &["verify", &capture(&env, "<html>Just a moment...</html>")],
    );
    assert_eq!(code, 2);
    assert!(err.contains("not JSON"), "{err}");
    let (code, _, err) = ql(&env, &["verify", &capture(&env, r#"{"fiveHour": 3}"#)]);
    assert_eq!(code, 2);
    assert!(err.contains("unrecognized usage payload"), "{err}");
}
