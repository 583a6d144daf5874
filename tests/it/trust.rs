//! Issue 23: trust boundaries. A hook (or a textfile to write) only from a config file no one
//! else can change; no credential in the environment of a program quotaline starts; a hook's
//! group killed at its timeout even after the hook itself exited.

use crate::common::browsers::{write_chromium_db, write_script, ChromiumCookie, Stored};
use crate::common::programs::wait_until;
use crate::common::*;
use crate::notify::{deliveries, flat, refresh, serve};
use chrono::Duration as Span;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `chown uid path` (the tests run as root, as scripts/test does).
fn chown(path: &Path, uid: u32) {
    std::os::unix::fs::chown(path, Some(uid), None)
        .unwrap_or_else(|e| panic!("chown {}: {e} (the tests run as root)", path.display()));
}

/// The uid of `nobody`: a user other than the one running the tests.
const NOBODY: u32 = 65534;

/// A config with a format, a hook that leaves a mark and a metrics textfile, at `path`.
fn write_hook_config(env: &TestEnv, path: &Path) -> (PathBuf, PathBuf) {
    let mark = env.home.path().join("hook-ran");
    let prom = env.home.path().join("metrics/quotaline.prom");
    std::fs::create_dir_all(prom.parent().unwrap()).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        path,
        format!(
            "format = \"T {{5h}}\"\n[notify]\ncommand = [\"touch\", {:?}]\n[metrics]\n\
             textfile = {:?}\n",
            mark.display().to_string(),
            prom.display().to_string()
        ),
    )
    .unwrap();
    (mark, prom)
}

/// The line `config`, `status` and `doctor` give for a refused hook and textfile.
fn refusal(why: &str) -> String {
    format!(
        "[notify] command (line 3) and [metrics] textfile (line 5) not taken: {why}; a command \
         to run or a file to write is taken only from a config file that no one but you (or \
         root) can change"
    )
}

struct Case {
    name: &'static str,
    /// Makes the file or a directory above it changeable by others; returns the file and
    /// what quotaline says about it.
    setup: fn(&mut TestEnv) -> (PathBuf, String),
    /// Undoes it, without editing the file.
    fix: Option<fn(&TestEnv, &Path)>,
}

fn default_path(env: &TestEnv) -> PathBuf {
    env.config("")
}

const CASES: &[Case] = &[
    Case {
        name: "a file of mode 0666",
        setup: |env| {
            let path = default_path(env);
            write_hook_config(env, &path);
            chmod(&path, 0o666);
            let why = format!(
                "{0} is writable by group and others (mode 0666; chmod go-w {0})",
                path.display()
            );
            (path, why)
        },
        fix: Some(|_, path| chmod(path, 0o600)),
    },
    Case {
        name: "a group-writable file",
        setup: |env| {
            let path = default_path(env);
            write_hook_config(env, &path);
            chmod(&path, 0o620);
            let why = format!(
                "{0} is writable by group (mode 0620; chmod go-w {0})",
                path.display()
            );
            (path, why)
        },
        fix: Some(|_, path| chmod(path, 0o644)),
    },
    Case {
        name: "another user's file in a 0777 directory",
        setup: |env| {
            let dir = env.home.path().join("shared");
            std::fs::create_dir(&dir).unwrap();
            chmod(&dir, 0o777);
            let path = dir.join("config.toml");
            write_hook_config(env, &path);
            chmod(&path, 0o644);
            chown(&path, NOBODY);
            env.set("QUOTALINE_CONFIG", path.to_str().unwrap());
            let why = format!(
                "{} belongs to uid {NOBODY}, not to you (uid 0) or root",
                path.display()
            );
            (path, why)
        },
        fix: None,
    },
    Case {
        name: "a directory above it that others can write",
        setup: |env| {
            let path = default_path(env);
            write_hook_config(env, &path);
            let dir = env.home.path().join(".config");
            chmod(&dir, 0o777);
            let why = format!(
                "{0} is writable by group and others (mode 0777; chmod go-w {0})",
                dir.display()
            );
            (path, why)
        },
        // A directory's mode changes nothing the file's identity sees: judged again.
        fix: Some(|env, _| chmod(&env.home.path().join(".config"), 0o755)),
    },
    Case {
        name: "a file in /tmp named by QUOTALINE_CONFIG",
        setup: |env| {
            let file = tempfile::Builder::new()
                .prefix("quotaline-config-")
                .suffix(".toml")
                .tempfile_in("/tmp")
                .unwrap();
            let (_, path) = file.keep().unwrap();
            write_hook_config(env, &path);
            env.set("QUOTALINE_CONFIG", path.to_str().unwrap());
            let why = format!(
                "/tmp is writable by group and others (mode {:04o}; chmod go-w /tmp)",
                std::fs::metadata("/tmp").unwrap().permissions().mode() & 0o7777
            );
            (path, why)
        },
        fix: None,
    },
];

/// Removes a file when dropped.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn a_hook_or_textfile_from_a_config_others_can_change_is_refused_and_said_everywhere() {
    for case in CASES {
        let server = claude_ai("usage_flat_windows.json");
        let mut env = TestEnv::with_server(&server);
        let (path, why) = (case.setup)(&mut env);
        // A file the case made in /tmp goes with the test, passed or failed.
        let _gone = (path.parent() == Some(Path::new("/tmp"))).then(|| RemoveOnDrop(path.clone()));
        let mark = env.home.path().join("hook-ran");
        let prom = env.home.path().join("metrics/quotaline.prom");
        refresh(&env);
        serve(&server, &flat(95.0, Span::zero()));
        refresh(&env);
        // Delivered (the desktop is skipped here), and the hook never ran.
        deliveries(&env, 1);
        assert!(!mark.exists(), "{}: the hook ran", case.name);
        assert!(!prom.exists(), "{}: the textfile was written", case.name);

        let line = refusal(&why);
        let (config, rows) = config_rows(&env);
        assert!(
            config.contains(&format!("\nrefused: {line}\n")),
            "{}: {config}",
            case.name
        );
        for row in [
            "command REFUSED (see above) config.toml:3",
            "textfile REFUSED (see above) config.toml:5",
            "format \"T {5h}\" config.toml:1",
        ] {
            assert!(
                rows.iter().any(|r| r == row),
                "{}: {row:?} in {config}",
                case.name
            );
        }
        let (_, status, _) = ql(&env, &["status"]);
        assert!(
            status.contains(&format!("\nconfig refused: {line}\n")),
            "{}: {status}",
            case.name
        );
        let (_, doctor, _) = ql(&env, &["doctor"]);
        assert!(
            doctor.contains(&format!("\nconfig refused: {line}\n")),
            "{}: {doctor}",
            case.name
        );
        assert!(
            doctor.contains(
                "  command        REFUSED: others could change config.toml (see \"config \
                 refused\" above)\n"
            ),
            "{}: {doctor}",
            case.name
        );
        // The rest of the file is in force.
        let (_, line, _) = ql(&env, &["segment", "--target", "plain"]);
        assert!(line.starts_with("T 95%"), "{}: {line}", case.name);

        // Made right again (no edit of the file): the next event runs the hook.
        if let Some(fix) = case.fix {
            fix(&env, &path);
            serve(&server, &flat(100.0, Span::zero()));
            refresh(&env);
            let report = deliveries(&env, 2);
            assert_eq!(report["hook"]["error"], serde_json::Value::Null, "{report}");
            assert!(
                mark.exists(),
                "{}: the hook did not run once fixed",
                case.name
            );
            assert!(prom.exists(), "{}: no textfile once fixed", case.name);
            let (_, config, _) = ql(&env, &["config"]);
            assert!(!config.contains("refused"), "{}: {config}", case.name);
        }
    }
}

/// The credential variables and values a test sets, none of which may reach a child.
const SECRETS: [(&str, &str); 3] = [
    ("QUOTALINE_SESSION_KEY", "sk-ant-sid01-TESTKEY"),
    ("QUOTALINE_COOKIE", "sessionKey=sk-ant-sid01-COOKIEVALUE"),
    ("CLAUDE_CODE_OAUTH_TOKEN", "sk-ant-oat01-OAUTHVALUE"),
];

fn assert_no_secret(what: &str, dump: &str) {
    assert!(
        dump.contains("MY_VAR=kept\n"),
        "{what} lost the rest: {dump}"
    );
    for (name, value) in SECRETS {
        assert!(!dump.contains(name), "{what} got {name}: {dump}");
        assert!(!dump.contains(value), "{what} got {name}'s value: {dump}");
    }
}

#[test]
fn no_credential_reaches_the_hook_or_notify_send() {
    let server = claude_ai("usage_flat_windows.json");
    let mut env = TestEnv::with_server(&server);
    for (name, value) in SECRETS {
        env.set(name, value);
    }
    env.set("MY_VAR", "kept");
    let home = env.home.path().to_path_buf();
    // notify-send that writes down what it was given, on a bus that need not exist.
    let bin = home.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    write_script(&bin, "notify-send", "env > \"$HOME/notify-send.env\"");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    env.set("PATH", &path)
        .set("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent");
    let hook_env = home.join("hook.env");
    env.config(&format!(
        "[notify]\ncommand = [\"/bin/sh\", \"-c\", \"env > \\\"$0\\\"\", {:?}]\n",
        hook_env.display().to_string()
    ));
    refresh(&env);
    serve(&server, &flat(95.0, Span::zero()));
    refresh(&env);
    let report = deliveries(&env, 1);
    assert_eq!(report["desktop"], "shown with notify-send", "{report}");
    assert_eq!(report["hook"]["error"], serde_json::Value::Null, "{report}");
    let dump = |p: &Path| std::fs::read_to_string(p).unwrap();
    assert_no_secret("the hook", &dump(&hook_env));
    assert_no_secret("notify-send", &dump(&home.join("notify-send.env")));
}

#[test]
fn no_credential_reaches_a_keyring_helper() {
    let server = claude_ai("usage_flat_windows.json");
    let mut env = TestEnv::with_server(&server);
    // The browser is the claude.ai session; Claude Code's token is in the environment.
    env.remove("QUOTALINE_SESSION_KEY")
        .set("CLAUDE_CODE_OAUTH_TOKEN", SECRETS[2].1)
        .set("MY_VAR", "kept");
    let home = env.home.path().to_path_buf();
    let bin = home.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    write_script(
        &bin,
        "secret-tool",
        "env > \"$HOME/secret-tool.env\"\nprintf '%s' brave-secret",
    );
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    env.set("PATH", &path);
    let db = home.join(".config/BraveSoftware/Brave-Browser/Default/Cookies");
    let key = "sk-ant-sid01-FROMBRAVE";
    write_chromium_db(
        &db,
        24,
        &[ChromiumCookie::new(
            ".claude.ai",
            "sessionKey",
            key,
            Stored::v11_linux("brave-secret"),
        )],
    );
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 0, "{err}");
    let cookie = server.requests()[0].header("cookie").unwrap().to_string();
    assert!(cookie.contains(key), "{cookie}");
    let dump = std::fs::read_to_string(home.join("secret-tool.env")).unwrap();
    assert_no_secret("secret-tool", &dump);
}

/// Gone, or a zombie no one reaped yet.
fn dead(pid: &str) -> Option<()> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    (stat.is_empty() || stat.split_whitespace().nth(2) == Some("Z")).then_some(())
}

#[test]
fn what_a_hook_leaves_running_is_killed_at_its_timeout() {
    let server = claude_ai("usage_flat_windows.json");
    let env = TestEnv::with_server(&server);
    let pidfile = env.home.path().join("child.pid");
    // The hook exits at once; the child it started runs on.
    env.config(&format!(
        "[notify]\ndesktop = false\ntimeout = \"1s\"\n\
         command = [\"/bin/sh\", \"-c\", \"sleep 60 & echo $! > \\\"$0\\\"\", {:?}]\n",
        pidfile.display().to_string()
    ));
    refresh(&env);
    serve(&server, &flat(95.0, Span::zero()));
    refresh(&env);
    let report = deliveries(&env, 1);
    assert_eq!(
        report["hook"]["error"],
        "`/bin/sh` left processes running: killed after 1s"
    );
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    wait_until(Duration::from_secs(5), "the hook's child to die", || {
        dead(pid.trim())
    });
}

/// A `/usage` body with the five-hour and weekly windows and `n` per-model windows, every one
/// at `percent`, the model names made by `name(i)`; resets in three hours.
fn many_windows(n: usize, percent: u32, name: impl Fn(usize) -> String) -> String {
    let reset = (chrono::Utc::now() + Span::hours(3)).to_rfc3339();
    let mut limits = vec![
        serde_json::json!({"kind": "session", "percent": percent, "resets_at": reset}),
        serde_json::json!({"kind": "weekly_all", "percent": percent, "resets_at": reset}),
    ];
    for i in 0..n {
        limits.push(serde_json::json!({
            "kind": "weekly_scoped", "percent": percent, "resets_at": reset,
            "scope": {"model": {"id": null, "display_name": name(i)}},
        }));
    }
    serde_json::json!({ "limits": limits }).to_string()
}

/// A server whose first org sends `usage`.
fn serving(usage: &str) -> (FakeServer, TestEnv) {
    let server = claude_ai("usage_flat_windows.json");
    serve(&server, usage);
    let env = TestEnv::with_server(&server);
    (server, env)
}

fn org1(env: &TestEnv) -> serde_json::Value {
    let (code, out, err) = ql(env, &["json", "--org", ORG_IDS[0]]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["org_uuid"] == ORG_IDS[0])
        .unwrap()
        .clone()
}

#[test]
fn a_thousand_windows_with_700_character_names_are_listed_as_unusable_not_kept() {
    let usage = many_windows(1000, 95, |i| format!("M{i} {}", "x".repeat(700)));
    assert!(usage.len() > 700_000 && usage.len() < 1 << 20);
    let (_server, env) = serving(&usage);
    refresh(&env);
    let (_, line, _) = ql(&env, &["segment", "--target", "plain", "--org", ORG_IDS[0]]);
    assert!(line.starts_with("5h 95% · 7d 95% · ↻2h59m"), "{line}");
    assert!(line.len() < 64, "{line}");
    let org = org1(&env);
    assert_eq!(org["windows"].as_object().unwrap().len(), 2);
    let unusable = org["unusable"].as_object().unwrap();
    assert_eq!(unusable.len(), 20);
    assert_eq!(
        unusable["limits[100]"]["detail"],
        "a model name of 704 characters, longer than the 64 quotaline shows"
    );
    assert_eq!(
        unusable["(more)"]["detail"],
        "981 more not listed (quotaline lists 19 per org)"
    );
    // The body is not kept verbatim: the cache stays readable, whatever the server sent.
    assert_eq!(
        org["raw"]["usage"],
        format!(
            "not kept: {} bytes, more than the 65536 quotaline keeps",
            usage.len()
        )
    );
    let cache = std::fs::metadata(env.cache_dir.join("cache.json")).unwrap();
    assert!(cache.len() < 256 << 10, "{} bytes", cache.len());
    let (_, status, _) = ql(&env, &["status"]);
    assert!(
        status.contains(
            "  not shown     (more): 981 more not listed (quotaline lists 19 per org) \
             (rejected, from claude.ai)\n"
        ),
        "{status}"
    );
    assert_eq!(status.matches("  not shown ").count(), 20, "{status}");
}

/// The characters each target's escaping makes longest (waybar's `&amp;`, bash's `\\\\`,
/// polybar's `%{`, zsh's `%%`, tmux's `##`) and a four-byte one.
const WIDE: [&str; 6] = ["&", "\\", "%{", "%", "#", "\u{1f600}"];

/// The segment's line in `target` for the first org: waybar's `text`, the first line of a
/// menu bar's or i3blocks' output, the line itself elsewhere.
fn line_in(env: &TestEnv, target: &str) -> String {
    let (code, out, _) = env.run_raw(
        &BIN,
        &["segment", "--target", target, "--org", ORG_IDS[0]],
        None,
        Duration::from_secs(30),
    );
    assert_eq!(code, 0);
    match target {
        "waybar" => {
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
            v["text"].as_str().unwrap().to_string()
        }
        _ => String::from_utf8(out)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_string(),
    }
}

const TARGETS: [&str; 11] = [
    "plain", "ansi", "zsh", "bash", "fish", "tmux", "polybar", "waybar", "starship", "xbar",
    "i3blocks",
];

#[test]
fn whatever_the_server_sends_an_org_keeps_twenty_windows_and_the_line_stays_under_4_kb() {
    // Short names: twenty windows, five-hour, weekly and eighteen models.
    let (_server, env) = serving(&many_windows(1000, 95, |i| format!("M{i:03}")));
    refresh(&env);
    let org = org1(&env);
    assert_eq!(org["windows"].as_object().unwrap().len(), 20);
    assert_eq!(
        org["unusable"]["seven_day_m018"]["detail"],
        "more windows than quotaline keeps for one org (20)"
    );
    let line = line_in(&env, "plain");
    assert!(
        line.contains("m017 95%") && !line.contains("m018"),
        "{line}"
    );
    // Names of the 64 characters a name may have, in the characters each target's escaping
    // makes longest: 512 characters of names an org, so eight models.
    for wide in WIDE {
        let name = |i: usize| {
            let mut n = format!("{i:03}");
            while n.chars().count() < 64 {
                n.push_str(wide);
            }
            n.chars().take(64).collect::<String>()
        };
        let (_server, env) = serving(&many_windows(1000, 95, name));
        refresh(&env);
        let org = org1(&env);
        assert_eq!(org["windows"].as_object().unwrap().len(), 10, "{wide}");
        assert_eq!(
            org["unusable"]["seven_day_008"]["detail"],
            "more characters of model names than quotaline keeps for one org (512)"
        );
        for target in TARGETS {
            let line = line_in(&env, target);
            assert!(
                line.contains("007") && !line.contains("008"),
                "{wide} {target}: {line}"
            );
            assert!(
                line.len() < 4096,
                "{wide} {target}: {} bytes: {line}",
                line.len()
            );
        }
        for shell in ["zsh", "bash", "fish"] {
            let file = std::fs::read(env.cache_dir.join(format!("segment.{shell}"))).unwrap();
            assert!(file.len() < 4096, "{wide} segment.{shell}: {}", file.len());
        }
    }
}

#[test]
fn the_events_of_a_thousand_windows_over_crit_reach_the_hook() {
    let name = |i: usize| format!("Model {i}");
    let (server, env) = serving(&many_windows(1000, 10, name));
    let out = env.home.path().join("events.jsonl");
    env.config(&format!(
        "[notify]\ndesktop = false\ncommand = [\"/bin/sh\", \"-c\", \"cat >> \\\"$0\\\"\", {:?}]\n",
        out.display().to_string()
    ));
    refresh(&env);
    serve(&server, &many_windows(1000, 95, name));
    refresh(&env);
    let report = deliveries(&env, 1);
    assert_eq!(report["hook"]["error"], serde_json::Value::Null, "{report}");
    let got = std::fs::read_to_string(&out).unwrap();
    // Five-hour, weekly and eighteen models: twenty windows, each crossing crit once.
    assert_eq!(got.lines().count(), 20, "{got}");
    let (_, events, _) = ql(&env, &["events", "--json"]);
    assert_eq!(events.lines().count(), 20);
}

#[test]
fn a_delivery_that_cannot_read_its_batch_is_recorded_and_shown() {
    let env = TestEnv::new();
    let batch = vec![b'['; (1 << 20) + 10];
    let (code, _, _) = env.run_stdin(&BIN, &["notify-deliver"], &batch, Duration::from_secs(30));
    assert_eq!(code, 0);
    let why = "a batch of events larger than the 1 MiB a delivery reads: none delivered \
               (`quotaline events` lists them)";
    let (_, status, _) = ql(&env, &["status"]);
    assert!(
        status.contains(&format!("notify delivery: failed 0s ago: {why}\n")),
        "{status}"
    );
    let (_, doctor, _) = ql(&env, &["doctor"]);
    assert!(
        doctor.contains(&format!(" ago; NOTHING DELIVERED: {why}\n")),
        "{doctor}"
    );
    let (code, _, _) = env.run_stdin(&BIN, &["notify-deliver"], b"[1,", Duration::from_secs(30));
    assert_eq!(code, 0);
    let (_, status, _) = ql(&env, &["status"]);
    assert!(
        status.contains(
            "notify delivery: failed 0s ago: a batch of events that could not be read \
             (invalid type: integer `1`, expected struct Event at line 1 column 2): none delivered\n"
        ),
        "{status}"
    );
}

/// What the extension sends after a poll, fetched at `at`, with every org's five-hour window
/// at `five_hour`.
fn frame_at(at: chrono::DateTime<chrono::Utc>, five_hour: f64) -> serde_json::Value {
    let mut m = crate::native_host::reading("usage_flat_windows.json", 0);
    m["fetched_at"] = serde_json::json!(at.to_rfc3339());
    for r in m["responses"].as_array_mut().unwrap() {
        if r["path"].as_str().unwrap().ends_with("/usage") {
            r["body"] = serde_json::json!(flat(five_hour, Span::zero()));
        }
    }
    m
}

fn five_hour(env: &TestEnv) -> serde_json::Value {
    org1(env)["windows"]["five_hour"]["utilization"].clone()
}

fn event_names(env: &TestEnv) -> Vec<String> {
    let (_, out, _) = ql(env, &["events", "--json"]);
    out.lines()
        .map(|l| {
            let e: serde_json::Value = serde_json::from_str(l).unwrap();
            format!("{} {}", e["kind"], e["level"])
        })
        .collect()
}

#[test]
fn a_frame_stamped_like_the_one_held_never_lowers_a_number_or_fires_an_event() {
    use crate::native_host::send;
    let env = TestEnv::new();
    let now = chrono::Utc::now();
    let at = now - Span::seconds(20);
    send(&env, &frame_at(at - Span::seconds(10), 80.0));
    assert_eq!(send(&env, &frame_at(at, 96.0))["stored"], true);
    assert_eq!(event_names(&env), ["\"threshold\" \"crit\""; 2]);
    // The same fetched_at, a lower number (seen in a storm of concurrent hosts).
    // Its parts are no newer than those held: the held numbers stay, and the reply's line
    // says so.
    let reply = send(&env, &frame_at(at, 50.0));
    assert!(
        reply["line"].as_str().unwrap().starts_with("5h 96%"),
        "{reply}"
    );
    assert_eq!(five_hour(&env), 96.0);
    let (_, line, _) = ql(&env, &["segment", "--target", "plain", "--org", ORG_IDS[0]]);
    assert!(line.starts_with("5h 96%"), "{line}");
    assert_eq!(event_names(&env), ["\"threshold\" \"crit\""; 2], "no reset");
}

#[test]
fn a_fetch_that_began_before_the_browsers_reading_landed_never_lowers_it() {
    use crate::native_host::send;
    let server = claude_ai("usage_flat_windows.json");
    serve(&server, &flat(90.0, Span::zero()));
    let env = TestEnv::with_server(&server);
    refresh(&env);
    // The next fetch is slow; while it is under way, the browser reports 96%.
    server.route(
        &usage_path(ORG_IDS[0]),
        Reply::json(200, &flat(50.0, Span::zero())).delay(Duration::from_secs(2)),
    );
    let mut slow = env.command(&BIN);
    slow.args(["refresh", "--force"]);
    let slow = std::thread::spawn(move || slow.output().unwrap());
    assert!(server.wait_for(&usage_path(ORG_IDS[0]), 2, Duration::from_secs(20)));
    assert_eq!(
        send(&env, &frame_at(chrono::Utc::now(), 96.0))["stored"],
        true
    );
    let done = slow.join().unwrap();
    assert!(done.status.success(), "{done:?}");
    assert_eq!(five_hour(&env), 96.0);
    let names = event_names(&env);
    assert!(
        !names.iter().any(|n| n.starts_with("\"reset\"")),
        "{names:?}"
    );
}

#[test]
fn a_write_removes_the_old_temp_files_of_its_own_dead_writers_only() {
    let server = claude_ai("usage_flat_windows.json");
    let env = TestEnv::with_server(&server);
    refresh(&env);
    let dir = env.cache_dir.clone();
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    let plant = |name: &str, old: bool| -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, b"torn").unwrap();
        if old {
            let f = std::fs::File::options().write(true).open(&path).unwrap();
            f.set_modified(hour_ago).unwrap();
        }
        path
    };
    // Left by writers killed mid-write: removed.
    let dead = [
        plant(".segment.zsh.0123456789abcdef.tmp", true),
        plant(".segment.fish.00000000deadbeef.tmp", true),
        plant(".cache.json.fedcba9876543210.tmp", true),
    ];
    // A writer at work, another user's, not ours by name: kept.
    let kept = [
        plant(".segment.zsh.1111111111111111.tmp", false),
        plant(".segment.zsh.2222222222222222.tmp", true),
        plant(".notes.0123456789abcdef.tmp", true),
        plant(".segment.zsh.not-a-temp-name.tmp", true),
    ];
    chown(&kept[1], NOBODY);
    // Links, even old ones, are never removed or followed.
    let victim = env.home.path().join("victim");
    std::fs::write(&victim, b"mine").unwrap();
    let symlink = dir.join(".segment.bash.3333333333333333.tmp");
    std::os::unix::fs::symlink(&victim, &symlink).unwrap();
    let status = std::process::Command::new("touch")
        .args(["-h", "-d", "1 hour ago"])
        .arg(&symlink)
        .status()
        .unwrap();
    assert!(status.success());
    let hardlink = dir.join(".segment.bash.4444444444444444.tmp");
    std::fs::hard_link(&victim, &hardlink).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&victim)
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();

    let (code, _, err) = ql(&env, &["refresh", "--force"]);
    assert_eq!(code, 0, "{err}");
    for p in &dead {
        assert!(!p.exists(), "{} is still there", p.display());
    }
    for p in kept.iter().chain([&symlink, &hardlink]) {
        assert!(
            std::fs::symlink_metadata(p).is_ok(),
            "{} was removed",
            p.display()
        );
    }
    assert_eq!(std::fs::read(&victim).unwrap(), b"mine");
}

#[test]
fn verify_escapes_control_characters_in_the_file_name_and_reads_a_capture_with_a_bom() {
    let (_server, env) = refreshed_with("usage_flat_windows.json");
    let dir = env.home.path().display().to_string();
    let name = format!("{dir}/\u{1b}]0;owned\u{7}\u{1b}[2J\u{202e}x\ny.json");
    let (code, out, err) = ql(&env, &["verify", &name]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err,
        format!(
            "quotaline: cannot verify: {dir}/\\u{{1b}}]0;owned\\u{{7}}\\u{{1b}}[2J\\u{{202e}}x\\ny.json: \
             No such file or directory (os error 2)\n"
        )
    );
    // Saved with a byte order mark: still the server's body.
    let path = env.home.path().join("usage-devtools.json");
    let mut body = b"\xef\xbb\xbf".to_vec();
    body.extend_from_slice(shifted("usage_flat_windows.json").as_bytes());
    std::fs::write(&path, body).unwrap();
    let (code, out, err) = ql(&env, &["verify", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("\nevery number matches"), "{out}");
}

#[test]
fn a_config_that_is_a_loop_a_dangling_link_or_unreadable_is_named_with_its_cause() {
    let mut env = TestEnv::new();
    let dir = env.home.path().join("conf");
    std::fs::create_dir(&dir).unwrap();
    // The C library words the OS errors (glibc "Too many levels of symbolic links", musl
    // "Symbolic link loop"): the binary under test may be either, so those are matched by the
    // error number every libc appends.
    let cases = [
        ("loop", None, "(os error 40)".to_string()),
        ("mem", Some("/proc/self/mem"), "(os error 5)".to_string()),
        (
            "dangling",
            Some("gone.toml"),
            "a symbolic link to gone.toml, which does not exist".to_string(),
        ),
    ];
    for (name, target, cause) in cases {
        let path = dir.join(name);
        std::os::unix::fs::symlink(target.unwrap_or(name), &path).unwrap();
        env.set("QUOTALINE_CONFIG", path.to_str().unwrap());
        let (code, out, _) = ql(&env, &["config"]);
        assert_eq!(code, 1, "{name}: {out}");
        let error_line = format!("error: {}: ", path.display());
        let header = format!("config file: {}\n{error_line}", path.display());
        assert!(out.starts_with(&header), "{name}: {out}");
        let line = out.lines().nth(1).unwrap_or_default();
        assert!(line.ends_with(&cause), "{name}: {out}");
        // `status` and `doctor` name the path and the same cause.
        let said = |text: &str| {
            let at = format!("config error: {}: ", path.display());
            text.lines()
                .find_map(|l| l.trim_start().strip_prefix(&at))
                .is_some_and(|rest| rest.contains(&cause))
        };
        let (_, status, _) = ql(&env, &["status"]);
        assert!(said(&status), "{name}: {status}");
        let (_, doctor, _) = ql(&env, &["doctor"]);
        assert!(said(&doctor), "{name}: {doctor}");
    }
}

#[test]
fn the_readme_lists_every_target_a_target_table_may_name() {
    let env = TestEnv::new();
    let (_, _, err) = ql(&env, &["segment", "--target", "nope"]);
    let known = err
        .split_once("\ntargets: ")
        .map(|(_, rest)| rest.trim_end())
        .unwrap_or_else(|| panic!("{err}"));
    // The settings' reference moved from the README to doc/configuration.md (issue 22).
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/doc/configuration.md"))
            .unwrap();
    let row = readme
        .lines()
        .find(|l| l.starts_with("| `[target.NAME]` |"))
        .unwrap();
    let listed = row
        .split_once("for one target (")
        .and_then(|(_, rest)| rest.split_once(')'))
        .unwrap()
        .0
        .replace('`', "");
    assert_eq!(listed, known);
}
