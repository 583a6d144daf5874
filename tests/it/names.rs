//! Issue 22: one name and one clock for each thing. A window has one short name (`5h`, `7d`,
//! `fable`), shown and accepted by `check`, `history`, `verify`, `events` and `status` (the
//! server's key an alias, and kept in `json` and the metrics); every time a person reads is
//! in the local zone, in one format.

use crate::common::programs::*;
use crate::common::*;
use serde_json::Value;
use std::process::Command;

/// `t` (RFC 3339) as quotaline shows every time, in zone `tz`, told by `date`.
fn clock_in(tz: &str, t: &str) -> String {
    let out = Command::new("date")
        .env("TZ", tz)
        .arg("-d")
        .arg(t)
        .arg("+%a %b %-d %H:%M")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn a_window_has_one_short_name_shown_and_accepted_everywhere() {
    // usage_limits_array.json with a Fable window at 12%.
    let (_server, env) = refreshed_with_models(&["Fable"]);
    for name in ["fable", "seven_day_fable"] {
        let (code, out, err) = ql(&env, &["check", "--window", name, "--max", "10"]);
        assert_eq!((code, err.as_str()), (1, ""), "{name}");
        assert!(
            out.starts_with("fable at 12% (limit 10%), resets in "),
            "{name}: {out}"
        );
    }
    let (code, out, err) = ql(&env, &["check", "--window", "fabel"]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            2,
            "",
            "quotaline: cannot check: no window `fabel` for this org\n\
             did you mean `fable`? windows: 5h, 7d, fable, opus, sonnet\n"
        )
    );
    let (_, status, _) = ql(&env, &["status"]);
    assert!(
        status.contains("\n  fable           12%  resets "),
        "{status}"
    );
    for name in ["fable", "seven_day_fable"] {
        let (code, table, _) = ql(&env, &["history", "--window", name]);
        assert_eq!(code, 0, "{name}");
        assert!(
            table.lines().nth(2).unwrap().starts_with("  fable  "),
            "{table}"
        );
    }
    let (code, _, err) = ql(&env, &["history", "--window", "fabel"]);
    assert_eq!(code, 1);
    assert_eq!(
        err.lines().nth(1),
        Some("did you mean `fable`? windows with readings: 5h, 7d, fable, opus, sonnet")
    );
    // Scripts keep the server's keys.
    let (_, lines, _) = ql(&env, &["history", "--json", "--window", "fable"]);
    let first: Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(first["window"], "seven_day_fable");
    let v: Value = serde_json::from_str(&ql(&env, &["json"]).1).unwrap();
    assert_eq!(
        v["orgs"][0]["windows"]["seven_day_fable"]["utilization"],
        12.0
    );
    let (_, metrics, _) = ql(&env, &["metrics"]);
    assert!(metrics.contains("window=\"seven_day_fable\""), "{metrics}");
    // verify: the capture's rows by the same names.
    let capture = env.home.path().join("capture.json");
    std::fs::write(&capture, v["orgs"][0]["raw"]["usage"].to_string()).unwrap();
    let (_, out, _) = ql(&env, &["verify", capture.to_str().unwrap()]);
    let names: Vec<&str> = out
        .lines()
        .skip(1)
        .take(5)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(names, ["5h", "7d", "fable", "opus", "sonnet"], "{out}");
}

/// With `TZ=America/New_York`, every time `status`, `check` and `doctor` print is New York's,
/// in one format; `json` keeps UTC.
#[test]
fn every_time_a_person_reads_is_local_in_one_format() {
    let (_server, mut env) = refreshed();
    env.set("TZ", "America/New_York");
    let v: Value = serde_json::from_str(&ql(&env, &["json"]).1).unwrap();
    let fetched = v["fetched_at"].as_str().unwrap();
    assert!(fetched.ends_with('Z'), "json keeps UTC: {fetched}");
    let reset = v["orgs"][0]["windows"]["seven_day"]["resets_at"]
        .as_str()
        .unwrap();
    let (_, status, _) = ql(&env, &["status"]);
    assert!(
        status.starts_with(&format!(
            "source claude.ai · fetched {} · updated ",
            clock_in("America/New_York", fetched)
        )),
        "{status}"
    );
    assert!(
        status.contains(&format!(
            "resets {} (in ",
            clock_in("America/New_York", reset)
        )),
        "{status}"
    );
    assert!(!status.contains("UTC"), "{status}");
    let (code, out, _) = ql(&env, &["check", "--window", "7d", "--max", "50"]);
    assert_eq!(code, 1);
    assert!(
        out.trim_end()
            .ends_with(&format!("({})", clock_in("America/New_York", reset))),
        "{out}"
    );
    let (_, doctor, _) = ql(&env, &["doctor"]);
    assert!(
        doctor.contains(&format!(
            "last fetch: ok {} from claude.ai",
            clock_in("America/New_York", fetched)
        )),
        "{doctor}"
    );
    assert!(!doctor.contains("UTC"), "{doctor}");
}

/// Issue 22: where an org's numbers came from is one short line per org, aligned with the
/// other fields, not a line per part.
#[test]
fn status_says_where_numbers_came_from_in_one_aligned_line_per_org() {
    let (_server, env) = refreshed();
    let (_, status, _) = ql(&env, &["status"]);
    let from: Vec<&str> = status
        .lines()
        .filter(|l| l.starts_with("  from "))
        .collect();
    assert_eq!(from.len(), 2, "one per org:\n{status}");
    for line in from {
        let rest = line
            .strip_prefix("  from          claude.ai ")
            .unwrap_or_else(|| panic!("{line:?}"));
        assert!(rest.ends_with("s ago"), "{line:?}");
    }
    assert!(!status.contains("from ("), "{status}");
}
