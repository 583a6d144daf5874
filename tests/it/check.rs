//! Issue 14: `check` as a CI contract. 0 ok, 1 over a limit, 2 no data (0 with
//! `--fail-open`), 64 a usage error.

use crate::common::*;

fn refreshed(usage: &str) -> (FakeServer, TestEnv) {
    let server = claude_ai(usage);
    let env = TestEnv::with_server(&server);
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!((code, err.as_str()), (0, ""));
    (server, env)
}

#[test]
fn check_exits_0_below_and_1_over_a_window_limit() {
    // Five-hour 37%, weekly 58%, opus 71%.
    let (_server, env) = refreshed("usage_flat_windows.json");
    assert_eq!(ql(&env, &["check"]), (0, String::new(), String::new()));
    let (code, out, err) = ql(&env, &["check", "--max", "60"]);
    assert_eq!((code, err.as_str()), (1, ""));
    assert!(
        out.starts_with("opus at 71% (limit 60%), resets in "),
        "{out}"
    );
    assert_eq!(ql(&env, &["check", "--max", "60", "--window", "5h"]).0, 0);
}

#[test]
fn check_max_spend_fails_at_or_over_the_amount() {
    // Extra usage: $12.34 of $50 spent.
    let (_server, env) = refreshed("usage_flat_windows.json");
    let (code, out, err) = ql(&env, &["check", "--max-spend", "12.34"]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (1, "extra usage spent $12.34 (limit $12.34)\n", "")
    );
    assert_eq!(ql(&env, &["check", "--max-spend", "20"]).0, 0);
    // --max-spend alone checks only the spend; with --max both apply.
    assert_eq!(
        ql(&env, &["check", "--max-spend", "20", "--max", "50"]).0,
        1
    );
}

#[test]
fn check_without_data_exits_2_or_0_with_fail_open() {
    let env = TestEnv::new();
    let (code, out, err) = ql(&env, &["check"]);
    assert_eq!(code, 2);
    assert_eq!(out, "");
    assert!(err.starts_with("quotaline: cannot check: "), "{err}");
    let (code, _, err) = ql(&env, &["check", "--fail-open"]);
    assert_eq!(code, 0);
    assert!(
        err.lines()
            .next()
            .unwrap()
            .ends_with(" (--fail-open: exit 0)"),
        "{err}"
    );

    let (_server, env) = refreshed("usage_flat_windows.json");
    let (code, _, err) = ql(&env, &["check", "--window", "sonnet"]);
    assert_eq!(
        (code, err.as_str()),
        (
            2,
            "quotaline: cannot check: no window `sonnet` for this org\n\
             windows: 5h, 7d, oauth_apps, opus\n"
        )
    );
    assert_eq!(
        ql(&env, &["check", "--window", "sonnet", "--fail-open"]).0,
        0
    );
    // Over a limit wins over missing data: what is known to be over is over.
    assert_eq!(
        ql(&env, &["check", "--window", "sonnet", "--max-spend", "1"]).0,
        1
    );
}

#[test]
fn check_max_spend_without_spend_figures_is_no_data() {
    // An org read from Claude Code's statusLine alone: windows, no extra usage.
    let mut env = TestEnv::new();
    env.remove("QUOTALINE_SESSION_KEY");
    let now = chrono::Utc::now().timestamp();
    let stdin = serde_json::json!({"rate_limits": {
        "five_hour": {"used_percentage": 42, "resets_at": now + 3600}}});
    let (code, _, _) = ql_statusline(&env, stdin.to_string().as_bytes());
    assert_eq!(code, 0);
    assert_eq!(ql(&env, &["check", "--max", "50"]).0, 0);
    let (code, _, err) = ql(&env, &["check", "--max-spend", "5"]);
    assert_eq!(code, 2);
    assert!(err.contains("no extra-usage figures"), "{err}");
    assert_eq!(ql(&env, &["check", "--max-spend", "5", "--fail-open"]).0, 0);
}

#[test]
fn usage_errors_exit_64_for_every_command() {
    let env = TestEnv::new();
    for args in [
        &["check", "--max"][..],
        &["check", "--max", "lots"],
        &["check", "--max", "-5"],
        &["check", "--max-spend", "NaN"],
        &["check", "--eta", "30"],
        &["check", "--bogus"],
        &["events", "--since", "a week"],
        &["history", "--bogus"],
        &["no-such-command"],
    ] {
        let (code, out, err) = ql(&env, args);
        assert_eq!((code, out.as_str()), (64, ""), "{args:?}: {err}");
        assert!(!err.is_empty(), "{args:?}");
    }
    let (code, out, _) = ql(&env, &["check", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("--fail-open"), "{out}");
}

/// Issue 23: exit 0 only when a window (or the one named) was judged on current numbers.
/// A body whose every window reset `ago` seconds ago.
fn all_past_reset(ago: i64) -> String {
    let past = (chrono::Utc::now() - chrono::Duration::seconds(ago)).to_rfc3339();
    serde_json::json!({
        "five_hour": {"utilization": 37, "resets_at": past},
        "seven_day": {"utilization": 58, "resets_at": past},
    })
    .to_string()
}

#[test]
fn check_with_every_window_past_its_reset_has_no_data() {
    let server = claude_ai("usage_flat_windows.json");
    server.route(
        &usage_path(ORG_IDS[0]),
        Reply::json(200, &all_past_reset(420)),
    );
    let env = TestEnv::with_server(&server);
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 0, "{err}");
    // The server is down now.
    for org in ORG_IDS {
        server.route(&usage_path(org), Reply::json(503, "{}"));
    }
    let org = ["--org", ORG_IDS[0]];
    let why = "5h reset 7m ago; a new reading is due (not checked)\n\
               quotaline: 7d reset 7m ago; a new reading is due (not checked)\n\
               quotaline: cannot check: no window could be judged: 5h, 7d past their reset; a \
               new reading is due";
    for args in [&["check"][..], &["check", "--max", "5"]] {
        let (code, out, err) = ql(&env, &[args, &org].concat());
        assert_eq!((code, out.as_str()), (2, ""), "{args:?}: {err}");
        assert!(err.ends_with(&format!("{why}\n")), "{args:?}: {err}");
    }
    let (code, _, err) = ql(&env, &["check", "--window", "5h", "--org", ORG_IDS[0]]);
    assert_eq!(code, 2);
    assert!(
        err.ends_with("quotaline: cannot check: `5h` is past its reset; a new reading is due\n"),
        "{err}"
    );
    let (code, _, err) = ql(&env, &["check", "--fail-open", "--org", ORG_IDS[0]]);
    assert_eq!(code, 0);
    assert!(err.ends_with(" (--fail-open: exit 0)\n"), "{err}");
}

#[test]
fn check_after_a_payload_it_could_not_read_has_no_data() {
    let (server, env) = refreshed("usage_flat_windows.json");
    server.route(
        &usage_path(ORG_IDS[0]),
        Reply::json(200, &payload("usage_empty_limits.json")),
    );
    let (code, _, _) = ql(&env, &["refresh", "--force"]);
    assert_eq!(code, 1);
    let (code, out, err) = ql(&env, &["check"]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.starts_with(
            "quotaline: cannot check: the last refresh failed (unrecognized usage payload: "
        ),
        "{err}"
    );
    assert!(
        err.ends_with(
            "): the server's newest numbers could not be read, and the ones left, from 0s \
             ago, may differ\n"
        ),
        "{err}"
    );
    assert_eq!(ql(&env, &["check", "--fail-open"]).0, 0);
}

#[test]
fn check_with_numbers_older_than_max_age_has_no_data() {
    let (server, env) = refreshed("usage_flat_windows.json");
    for org in ORG_IDS {
        server.route(&usage_path(org), Reply::json(503, "{}"));
    }
    age_cache(&env, 2 * 3600);
    let (code, out, err) = ql(&env, &["check"]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.starts_with(
            "quotaline: cannot check: the numbers are from 2h ago, older than the 30m \
             --max-age allows (the last refresh failed: "
        ),
        "{err}"
    );
    let (code, _, err) = ql(&env, &["check", "--max-age", "3h"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("checking numbers from 2h ago"), "{err}");
    assert_eq!(ql(&env, &["check", "--max-age", "90m"]).0, 2);
    assert_eq!(ql(&env, &["check", "--fail-open"]).0, 0);
    // The config key, and the flag over it.
    env.config("[check]\nmax_age = \"3h\"\n");
    assert_eq!(ql(&env, &["check"]).0, 0);
    assert_eq!(ql(&env, &["check", "--max-age", "1h"]).0, 2);
    let (config, rows) = config_rows(&env);
    let row = rows.iter().find(|r| r.starts_with("max_age"));
    assert_eq!(
        row.map(String::as_str),
        Some("max_age 3h config.toml:2"),
        "{config}"
    );
    for bad in ["0s", "soon"] {
        let (code, _, err) = ql(&env, &["check", "--max-age", bad]);
        assert_eq!(code, 64, "{bad}: {err}");
    }
}
