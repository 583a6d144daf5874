//! Issue 14: warn before the wall, without a daemon. Events are decided once per reading
//! under the cache lock and delivered detached: to a real notification daemon (dunst, on a
//! private session bus and a private Xvfb display, read back from `dunstctl history`) and to
//! a command hook. `quotaline events` and `history`'s limit hits read them back.
//! dbus, Xvfb, dunst and notify-send are required (scripts/test installs them): a missing
//! one fails, never skips.

use crate::common::programs::{first_line, kill_group, start_xvfb, wait_until};
use crate::common::*;
use chrono::{DateTime, Duration as Span, Utc};
use serde_json::{json, Value};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ORG1: &str = ORG_IDS[0];
const ORG1_NAME: &str = "dev@example.com's Organization";

/// dunst's history renders each notification through these formats, so a history entry
/// says its urgency, summary and body: `critical|<summary>|<body>`.
const DUNSTRC: &str = "[global]
stack_duplicates = false
history_length = 200
notification_limit = 0
idle_threshold = 0
[urgency_low]
format = \"low|%s|%b\"
[urgency_normal]
format = \"normal|%s|%b\"
[urgency_critical]
format = \"critical|%s|%b\"
";

/// Xvfb on a display it picks itself (`-displayfd`: always a free one), a session bus of
/// its own (`dbus-run-session`) and dunst on both. Everything is stopped on drop.
struct Desktop {
    xvfb: Child,
    session: Child,
    bus: String,
    home: PathBuf,
}

impl Desktop {
    /// Up to three tries: on a loaded machine dunst has been seen never to come up (and
    /// never to say why on a null stderr); a desktop that does not answer within 20 s is
    /// stopped and started afresh, and the last try's dunst log is in the failure.
    fn start(env: &TestEnv) -> Desktop {
        for _ in 0..2 {
            let desktop = Desktop::start_once(env);
            if desktop.answers(Duration::from_secs(20)) {
                return desktop;
            }
        }
        let desktop = Desktop::start_once(env);
        if !desktop.answers(Duration::from_secs(30)) {
            let log = std::fs::read_to_string(desktop.home.join("dunst.log")).unwrap_or_default();
            panic!("dunst never answered on the bus (three tries); its log:\n{log}");
        }
        desktop
    }

    fn start_once(env: &TestEnv) -> Desktop {
        let home = env.home.path().to_path_buf();
        let (xvfb, display) = start_xvfb(env, "800x600x24");
        let rc = home.join("dunstrc");
        std::fs::write(&rc, DUNSTRC).unwrap();
        let log = std::fs::File::create(home.join("dunst.log")).unwrap();
        let mut session = env.command("dbus-run-session");
        session
            .args([
                "--",
                "sh",
                "-c",
                "printf '%s\\n' \"$DBUS_SESSION_BUS_ADDRESS\"; exec dunst -config \"$0\"",
            ])
            .arg(&rc)
            .env("DISPLAY", &display)
            .stdout(Stdio::piped())
            .stderr(log)
            .process_group(0);
        let mut session = session
            .spawn()
            .expect("dbus-run-session is required (scripts/test installs dbus)");
        let bus = first_line(&mut session, "dbus-run-session");
        Desktop {
            xvfb,
            session,
            bus,
            home,
        }
    }

    /// Whether dunst answers on the bus within `limit`.
    fn answers(&self, limit: Duration) -> bool {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if self.dunstctl(&["count"]).is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    fn dunstctl(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("dunstctl")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus)
            .stderr(Stdio::null())
            .output()
            .expect("dunstctl is required (scripts/test installs dunst)");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Every notification dunst has received, oldest first, as a person reads it
    /// (`urgency|summary|body`, markup rendered), once there are at least `n`.
    fn shown(&self, n: usize) -> Vec<String> {
        let mut last = Vec::new();
        let found = (0..400).find_map(|_| {
            // Displayed notifications reach the history when closed.
            self.dunstctl(&["close-all"]);
            let history: Value = serde_json::from_str(&self.dunstctl(&["history"])?).ok()?;
            last = history["data"][0]
                .as_array()?
                .iter()
                .rev()
                .map(|n| rendered(n["message"]["data"].as_str().unwrap_or("")))
                .collect();
            if last.len() >= n {
                return Some(last.clone());
            }
            std::thread::sleep(Duration::from_millis(50));
            None
        });
        found.unwrap_or_else(|| panic!("dunst shows {} of {n}: {last:?}", last.len()))
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        for child in [&mut self.session, &mut self.xvfb] {
            kill_group(child, 15);
            let _ = child.wait();
        }
    }
}

/// Pango markup as it renders: tags gone, entities decoded.
fn rendered(markup: &str) -> String {
    let mut out = String::new();
    let mut rest = markup;
    while let Some(c) = rest.chars().next() {
        if c == '<' {
            rest = rest.split_once('>').map_or("", |(_, r)| r);
        } else if c == '&' {
            let (entity, r) = rest.split_once(';').unwrap();
            out.push_str(match entity {
                "&amp" => "&",
                "&lt" => "<",
                "&gt" => ">",
                "&quot" => "\"",
                "&apos" => "'",
                other => panic!("entity {other} in {markup:?}"),
            });
            rest = r;
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// `env` with notifications to `desktop`.
fn on_desktop(server: &FakeServer, desktop: &Desktop) -> TestEnv {
    let mut env = TestEnv::with_server(server);
    env.set("DBUS_SESSION_BUS_ADDRESS", &desktop.bus);
    env
}

/// usage_flat_windows.json, shifted to the real clock, with ORG1's five-hour window at `u`
/// and its reset `later` after the payload's (1h12m30s from now).
pub(crate) fn flat(u: f64, later: Span) -> String {
    let mut v: Value = serde_json::from_str(&shifted("usage_flat_windows.json")).unwrap();
    let reset = DateTime::parse_from_rfc3339(v["five_hour"]["resets_at"].as_str().unwrap())
        .unwrap()
        + later;
    v["five_hour"] = json!({"utilization": u, "resets_at": reset.to_rfc3339()});
    v.to_string()
}

pub(crate) fn serve(server: &FakeServer, usage: &str) {
    server.route(&usage_path(ORG1), Reply::json(200, usage));
}

/// The five-hour reset of `usage` as a notification tells it: `Fri Dec 4 19:00 (in 1h12m)`
/// (the tests run in UTC).
fn reset_text(usage: &str) -> String {
    let v: Value = serde_json::from_str(usage).unwrap();
    let reset: DateTime<Utc> = v["five_hour"]["resets_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let now = Utc::now();
    let clock = reset.format("%a %b %-d %H:%M");
    let mins = (reset - now).num_minutes();
    match mins % 60 {
        0 => format!("{clock} (in {}h)", mins / 60),
        m => format!("{clock} (in {}h{m}m)", mins / 60),
    }
}

/// `t` as quotaline shows every time (`Fri Dec 4 14:00`) in zone `tz`, told by `date`.
pub fn clock_in(tz: &str, t: DateTime<Utc>) -> String {
    let out = Command::new("date")
        .env("TZ", tz)
        .arg("-d")
        .arg(format!("@{}", t.timestamp()))
        .arg("+%a %b %-d %H:%M")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

pub(crate) fn refresh(env: &TestEnv) {
    let (code, out, err) = ql(env, &["refresh", "--force"]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
}

/// Waits until `n` deliveries have ended (the cache counts them).
pub(crate) fn deliveries(env: &TestEnv, n: u64) -> Value {
    wait_until(Duration::from_secs(30), "the deliveries", || {
        let v = read_cache(env);
        let report = v["notify"]["delivery"].clone();
        (report["runs"].as_u64() == Some(n)).then_some(report)
    })
}

fn events(env: &TestEnv) -> Vec<Value> {
    let (code, out, err) = ql(env, &["events", "--json"]);
    assert_eq!((code, err.as_str()), (0, ""));
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn names(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let level = e["level"]
                .as_str()
                .map(|l| format!(".{l}"))
                .unwrap_or_default();
            format!("{}{level}", e["kind"].as_str().unwrap())
        })
        .collect()
}

#[test]
fn a_crossing_fires_once_even_with_twenty_concurrent_refreshes() {
    let desktop_env = TestEnv::new();
    let desktop = Desktop::start(&desktop_env);
    let server = claude_ai("usage_flat_windows.json");
    let env = on_desktop(&server, &desktop);
    refresh(&env);
    let usage = flat(92.0, Span::zero());
    serve(&server, &usage);
    let runs: Vec<_> = (0..20)
        .map(|_| {
            let mut cmd = env.command(&BIN);
            cmd.args(["refresh", "--force"])
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            std::thread::spawn(move || cmd.status().unwrap().code())
        })
        .collect();
    for r in runs {
        assert_eq!(r.join().unwrap(), Some(0));
    }
    let report = deliveries(&env, 1);
    assert_eq!(report["desktop"], "shown with notify-send");
    assert_eq!(
        desktop.shown(1),
        [format!(
            "critical|Claude 5h limit at 92%|critical from 90% · resets {} · {ORG1_NAME}",
            reset_text(&usage)
        )]
    );
    assert_eq!(names(&events(&env)), ["threshold.crit"]);
    // Later readings of the same period, even dipping below and back, fire nothing more.
    serve(&server, &flat(89.0, Span::zero()));
    refresh(&env);
    serve(&server, &flat(93.0, Span::zero()));
    refresh(&env);
    assert_eq!(names(&events(&env)), ["threshold.crit"]);
    assert_eq!(read_cache(&env)["notify"]["delivery"]["runs"], 1);
}

#[test]
fn nothing_fires_on_the_first_reading_and_the_reset_fires() {
    let desktop_env = TestEnv::new();
    let desktop = Desktop::start(&desktop_env);
    let server = claude_ai("usage_flat_windows.json");
    // The first reading ever is already at the limit, out of credits: old news.
    serve(&server, &flat(100.0, Span::zero()));
    server.route(
        &format!("/api/organizations/{ORG1}/overage_spend_limit"),
        Reply::json(200, &payload("overage_out_of_credits.json")),
    );
    let env = on_desktop(&server, &desktop);
    refresh(&env);
    assert_eq!(events(&env), Vec::<Value>::new());
    // The next period: the limit's window reset.
    let next = flat(3.0, Span::hours(5));
    serve(&server, &next);
    refresh(&env);
    deliveries(&env, 1);
    assert_eq!(
        desktop.shown(1),
        [format!(
            "low|Claude 5h limit reset|now 3%: you can go again · resets {} · {ORG1_NAME}",
            reset_text(&next)
        )]
    );
    assert_eq!(names(&events(&env)), ["reset"]);
}

#[test]
fn server_text_with_markup_and_escapes_shows_literally() {
    let desktop_env = TestEnv::new();
    let desktop = Desktop::start(&desktop_env);
    let name = "<b>Opus</b> &amp; \\n \\\\ $(x) <i>";
    let usage = |percent: u32| -> String {
        let mut v: Value = serde_json::from_str(&shifted("usage_limits_array.json")).unwrap();
        for limit in v["limits"].as_array_mut().unwrap() {
            if limit["scope"]["model"]["display_name"] == "Opus" {
                limit["scope"]["model"]["display_name"] = json!(name);
                limit["percent"] = json!(percent);
            }
        }
        v.to_string()
    };
    let server = claude_ai("usage_limits_array.json");
    let mut account: Value = serde_json::from_str(&payload("account.json")).unwrap();
    let org_name = "Acme <u>Labs</u> & \"Co\" \\t";
    account["memberships"][0]["organization"]["name"] = json!(org_name);
    server.route("/api/account", Reply::json(200, &account.to_string()));
    serve(&server, &usage(81));
    let env = on_desktop(&server, &desktop);
    refresh(&env);
    serve(&server, &usage(96));
    refresh(&env);
    deliveries(&env, 1);
    let shown = desktop.shown(1);
    // The model's name is lowercased into its window key (`window::model_key`).
    let label = "<b>opus</b> &amp; \\n \\\\ $(x) <i>";
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(
        shown[0].starts_with(&format!(
            "critical|Claude {label} limit at 96%|critical from 90% · resets "
        )),
        "{shown:?}"
    );
    assert!(shown[0].ends_with(&format!(" · {org_name}")), "{shown:?}");
    let event = &events(&env)[0];
    assert_eq!(event["org_name"], org_name);
    assert_eq!(
        event["title"],
        format!("Claude {label} limit at 96%"),
        "{event}"
    );
}

/// A hook script recording each event it gets on stdin, one per line, in `out`.
fn recording_hook(env: &TestEnv) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let hook = env.home.path().join("hook.sh");
    std::fs::write(&hook, "#!/bin/sh\ncat >> \"$1\"\n").unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    (hook, env.home.path().join("events.jsonl"))
}

fn hook_config(env: &TestEnv, argv: &[&Path], extra: &str) {
    let argv: Vec<String> = argv
        .iter()
        .map(|p| format!("{:?}", p.display().to_string()))
        .collect();
    env.config(&format!(
        "[notify]\ndesktop = false\ncommand = [{}]\n{extra}",
        argv.join(", ")
    ));
}

fn recorded(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_hook_gets_each_event_as_json_on_stdin() {
    let server = claude_ai("usage_flat_windows.json");
    let mut env = TestEnv::with_server(&server);
    let (hook, out) = recording_hook(&env);
    hook_config(
        &env,
        &[&hook, &out],
        "events = [\"warn\", \"crit\", \"limit\"]\n",
    );
    refresh(&env);
    let usage = flat(80.0, Span::zero());
    serve(&server, &usage);
    refresh(&env);
    deliveries(&env, 1);
    serve(&server, &flat(100.0, Span::zero()));
    refresh(&env);
    let report = deliveries(&env, 2);
    assert_eq!(report["desktop"], Value::Null);
    assert_eq!(report["hook"]["error"], Value::Null);
    let got = recorded(&out);
    assert_eq!(got.len(), 2, "{got:?}");
    let reset: DateTime<Utc> = serde_json::from_str::<Value>(&usage).unwrap()["five_hour"]
        ["resets_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let warn = &got[0];
    assert_eq!(warn["kind"], "threshold");
    assert_eq!(warn["level"], "warn");
    assert_eq!(warn["org"], ORG1);
    assert_eq!(warn["org_name"], ORG1_NAME);
    assert_eq!(warn["window"], "five_hour");
    assert_eq!(warn["utilization"], 80.0);
    assert_eq!(warn["threshold"], 75.0);
    assert_eq!(warn["urgency"], "normal");
    let resets_at: DateTime<Utc> = warn["resets_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(resets_at, reset);
    assert_eq!(warn["eta"], Value::Null);
    assert_eq!(
        warn["message"],
        format!(
            "Claude 5h limit at 80%: warning from 75% · resets {} · {ORG1_NAME}",
            reset_text(&usage)
        )
    );
    assert_eq!(got[1]["kind"], "limit");
    assert_eq!(got[1]["utilization"], 100.0);
    assert!(
        got[1]["message"]
            .as_str()
            .unwrap()
            .starts_with("Claude 5h limit reached (100%): resets "),
        "{}",
        got[1]
    );
    // The history has them, as the hook got them.
    assert_eq!(events(&env), got);
    let (code, text, _) = ql(&env, &["events"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].ends_with(&format!(
            "  warn     {}",
            got[0]["message"].as_str().unwrap()
        )),
        "{text}"
    );
    assert!(
        lines[1].contains("  limit    Claude 5h limit reached"),
        "{text}"
    );
    // Issue 22: worded when shown, not frozen as recorded: read under New York's clock, the
    // same events say their times in New York.
    let at: DateTime<Utc> = got[0]["at"].as_str().unwrap().parse().unwrap();
    let message = got[0]["message"].as_str().unwrap().replace(
        &clock_in("UTC", reset),
        &clock_in("America/New_York", reset),
    );
    assert_ne!(message, got[0]["message"].as_str().unwrap());
    env.set("TZ", "America/New_York");
    let (_, text, _) = ql(&env, &["events"]);
    assert_eq!(
        text.lines().next(),
        Some(format!("{}  warn     {message}", clock_in("America/New_York", at)).as_str())
    );
    // `history` counts the hit.
    let (_, table, _) = ql(&env, &["history", "--org", ORG1]);
    let row = table
        .lines()
        .find(|l| l.trim_start().starts_with("5h "))
        .unwrap();
    assert_eq!(
        row.split_whitespace().nth(5),
        Some("1"),
        "the HITS column: {table}"
    );
    let seven = table
        .lines()
        .find(|l| l.trim_start().starts_with("7d "))
        .unwrap();
    assert_eq!(seven.split_whitespace().nth(5), Some("0"), "{table}");
}

#[test]
fn a_hook_that_hangs_never_holds_the_refresh_and_is_killed_at_its_timeout() {
    use std::os::unix::fs::PermissionsExt;
    let server = claude_ai("usage_flat_windows.json");
    let env = TestEnv::with_server(&server);
    let hook = env.home.path().join("hang.sh");
    // Records its stdin, then waits on a child of its own: the kill must take both.
    std::fs::write(
        &hook,
        "#!/bin/sh\ncat > \"$1\"\nsleep 600 &\necho $$ $! > \"$1.pids\"\nwait\n",
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = env.home.path().join("got.json");
    hook_config(&env, &[&hook, &out], "timeout = \"1s\"\n");
    refresh(&env);
    serve(&server, &flat(95.0, Span::zero()));
    // The refresh returns (within the harness's own limit) whatever the hook does.
    refresh(&env);
    let report = deliveries(&env, 1);
    assert_eq!(
        report["hook"]["error"],
        format!("`{}` killed after 1s", hook.display())
    );
    let got: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(got["level"], "crit");
    let pids = std::fs::read_to_string(env.home.path().join("got.json.pids")).unwrap();
    for pid in pids.split_whitespace() {
        wait_until(
            Duration::from_secs(10),
            "the hook's processes to die",
            || {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                // Gone, or a zombie waiting for init.
                (stat.is_empty() || stat.split_whitespace().nth(2) == Some("Z")).then_some(())
            },
        );
    }
    let (_, status, _) = ql(&env, &["status"]);
    let line = status
        .lines()
        .find(|l| l.starts_with("notify command: failed "))
        .unwrap_or_else(|| panic!("{status}"));
    assert!(
        line.ends_with(&format!(" ago: `{}` killed after 1s", hook.display())),
        "{status}"
    );
    let (_, doctor, _) = ql(&env, &["doctor"]);
    assert!(doctor.contains("killed after 1s"), "{doctor}");
}

#[test]
fn a_failing_hook_is_recorded_and_shown() {
    use std::os::unix::fs::PermissionsExt;
    let server = claude_ai("usage_flat_windows.json");
    let env = TestEnv::with_server(&server);
    let hook = env.home.path().join("fail.sh");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'ntfy: \x1b[31mno such topic' >&2\nexit 3\n",
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    hook_config(&env, &[&hook], "");
    refresh(&env);
    serve(&server, &flat(95.0, Span::zero()));
    refresh(&env);
    let report = deliveries(&env, 1);
    assert_eq!(
        report["hook"]["error"],
        format!(
            // The hook's own text is cleaned like any other (`sanitize`): ESC shows as U+FFFD.
            "`{}` failed (exit status: 3): ntfy: \u{fffd}[31mno such topic",
            hook.display()
        )
    );
    let (_, status, _) = ql(&env, &["status"]);
    assert!(status.contains("notify command: failed "), "{status}");
}

#[test]
fn eta_extra_and_failing_events_name_what_and_when() {
    let server = claude_ai("usage_flat_windows.json");
    let env = TestEnv::with_server(&server);
    let (hook, out) = recording_hook(&env);
    hook_config(&env, &[&hook, &out], "eta_warning = \"2h\"\n");
    refresh(&env);
    // The five-hour window rose from 7.5% half an hour ago: 59%/h, 100% in 1h4m.
    let conn = rusqlite::Connection::open(env.cache_dir.join("history.db")).unwrap();
    let reset: i64 = conn
        .query_row(
            "SELECT resets_at FROM readings WHERE org_uuid = ?1 AND window = 'five_hour'",
            [ORG1],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute(
        "INSERT INTO readings (org_uuid, window, at, utilization, resets_at, source)
         VALUES (?1, 'five_hour', ?2, 7.5, ?3, 'claude.ai')",
        rusqlite::params![ORG1, (Utc::now() - Span::minutes(30)).timestamp(), reset],
    )
    .unwrap();
    drop(conn);
    // Extra usage runs out of credits, paused for two days.
    let until = (Utc::now() + Span::days(2))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let overage = json!({"is_enabled": true, "monthly_credit_limit": 20000, "currency": "USD",
        "used_credits": 20214, "disabled_reason": "<b>out</b>_of_credits",
        "disabled_until": until, "out_of_credits": true});
    server.route(
        &format!("/api/organizations/{ORG1}/overage_spend_limit"),
        Reply::json(200, &overage.to_string()),
    );
    refresh(&env);
    deliveries(&env, 1);
    let got = recorded(&out);
    assert_eq!(names(&got), ["eta", "extra.out_of_credits"], "{got:?}");
    let usage = shifted("usage_flat_windows.json");
    assert_eq!(
        got[0]["message"],
        format!(
            "Claude 5h limit in 1h4m: now 37% · at 59%/h · resets {} · {ORG1_NAME}",
            reset_text(&usage)
        )
    );
    let until: DateTime<Utc> = until.parse().unwrap();
    assert_eq!(
        got[1]["message"],
        format!(
            "Claude extra usage: out of credits: $202.14 of $200 spent · paused until {} (in 1d23h) \
             · <b>out</b>_of_credits · {ORG1_NAME}",
            until.format("%a %b %-d %H:%M")
        )
    );
    assert_eq!(got[1]["extra_usage"]["used"], 202.14);

    // The session expires; 31 minutes on, the numbers are stale because of it: once.
    server.route("/api/account", Reply::json(401, "{}"));
    age_cache(&env, 31 * 60);
    for _ in 0..2 {
        let (code, _, _) = ql(&env, &["refresh", "--force"]);
        assert_eq!(code, 1);
    }
    deliveries(&env, 2);
    let got = recorded(&out);
    assert_eq!(names(&got)[2..], ["failing.unauthorized"]);
    assert_eq!(
        got[2]["message"],
        format!(
            "quotaline: no fresh numbers for 31m: claude.ai session expired or invalid (HTTP 401) \
             · fix: log in to claude.ai again (Claude Code's login: run `claude` once) · {ORG1_NAME}"
        )
    );
    assert_eq!(got[2]["error"]["kind"], "unauthorized");
}

#[test]
fn no_event_repeats_after_the_cache_is_lost() {
    let server = claude_ai("usage_flat_windows.json");
    let env = TestEnv::with_server(&server);
    env.config("[notify]\ndesktop = false\n");
    refresh(&env);
    serve(&server, &flat(91.0, Span::zero()));
    refresh(&env);
    assert_eq!(names(&events(&env)), ["threshold.crit"]);
    // A corrupt cache reads as empty: the next reading is a first one, and the one after it
    // crosses 90% again (from 89%) in the same period. The history remembers.
    std::fs::write(env.cache_dir.join("cache.json"), b"{ not json").unwrap();
    serve(&server, &flat(89.0, Span::zero()));
    refresh(&env);
    serve(&server, &flat(92.0, Span::zero()));
    refresh(&env);
    assert_eq!(names(&events(&env)), ["threshold.crit"]);
}

#[test]
fn doctor_says_once_when_there_is_no_desktop_and_events_still_work() {
    let server = claude_ai("usage_flat_windows.json");
    let env = TestEnv::with_server(&server);
    refresh(&env);
    serve(&server, &flat(96.0, Span::zero()));
    refresh(&env);
    let report = deliveries(&env, 1);
    let why = "no session D-Bus (a headless box or SSH: DBUS_SESSION_BUS_ADDRESS is unset)";
    assert_eq!(report["desktop"], format!("skipped: {why}"));
    let (code, doctor, _) = ql(&env, &["doctor"]);
    assert_eq!(code, 0);
    assert_eq!(doctor.matches(why).count(), 1, "{doctor}");
    assert!(
        doctor.contains(&format!(
            "  desktop        skipped from this environment: {why}\n"
        )),
        "{doctor}"
    );
    assert!(
        doctor.contains("  delivered      crit, eta, limit, reset, extra, failing\n"),
        "{doctor}"
    );
    let last = doctor
        .lines()
        .find(|l| l.starts_with("  last delivery  "))
        .unwrap_or_else(|| panic!("{doctor}"));
    assert!(last.ends_with(" ago; desktop skipped"), "{doctor}");
    assert!(
        doctor.contains("  events         1 in the last 7 days (`quotaline events`)\n"),
        "{doctor}"
    );
    let (_, status, _) = ql(&env, &["status"]);
    assert!(!status.contains("notify"), "{status}");
}

#[test]
fn a_window_can_have_its_own_thresholds_and_config_shows_them() {
    let server = claude_ai("usage_flat_windows.json");
    let env = TestEnv::with_server(&server);
    env.config("[notify]\ndesktop = false\nevents = [\"warn\", \"crit\"]\n\n[notify.window.5h]\ncrit = 95\n");
    refresh(&env);
    serve(&server, &flat(92.0, Span::zero()));
    refresh(&env);
    serve(&server, &flat(96.0, Span::zero()));
    refresh(&env);
    let got = events(&env);
    assert_eq!(names(&got), ["threshold.warn", "threshold.crit"]);
    assert_eq!(got[1]["threshold"], 95.0);
    let (out, rows) = config_rows(&env);
    for row in [
        "[notify]",
        "events warn, crit config.toml:3",
        "desktop false config.toml:2",
        "command (none) default",
        "eta_warning 30m default",
        "[notify.window.5h]",
        "crit 95 config.toml:6",
    ] {
        assert!(rows.iter().any(|r| r == row), "{row:?} in:\n{out}");
    }
}

#[test]
fn twenty_statusline_updates_carrying_the_same_crossing_fire_it_once() {
    // Claude Code's stdin is the only source: every process ingests its own copy.
    let mut env = TestEnv::new();
    env.remove("QUOTALINE_SESSION_KEY");
    let (hook, out) = recording_hook(&env);
    hook_config(&env, &[&hook, &out], "");
    let reset = Utc::now().timestamp() + 3 * 3600;
    let stdin = |u: u32| {
        json!({"rate_limits": {"five_hour": {"used_percentage": u, "resets_at": reset}}})
            .to_string()
            .into_bytes()
    };
    let (code, _, _) = ql_statusline(&env, &stdin(50));
    assert_eq!(code, 0);
    let runs: Vec<_> = (0..20)
        .map(|_| {
            let mut cmd = env.command(&BIN);
            cmd.arg("statusline")
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let input = stdin(95);
            std::thread::spawn(move || {
                use std::io::Write;
                let mut child = cmd.spawn().unwrap();
                child.stdin.take().unwrap().write_all(&input).unwrap();
                child.wait().unwrap().code()
            })
        })
        .collect();
    for r in runs {
        assert_eq!(r.join().unwrap(), Some(0));
    }
    deliveries(&env, 1);
    let got = recorded(&out);
    assert_eq!(names(&got), ["threshold.crit"]);
    assert_eq!(got[0]["org"], "claude-code");
    assert_eq!(names(&events(&env)), ["threshold.crit"]);
}
