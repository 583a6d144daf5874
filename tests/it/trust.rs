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

#[test]
fn a_hook_or_textfile_from_a_config_others_can_change_is_refused_and_said_everywhere() {
    for case in CASES {
        let server = claude_ai("usage_flat_windows.json");
        let mut env = TestEnv::with_server(&server);
        let (path, why) = (case.setup)(&mut env);
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
        let (code, config, _) = ql(&env, &["config"]);
        assert_eq!(code, 0, "{}: {config}", case.name);
        assert!(
            config.contains(&format!("\nrefused: {line}\n")),
            "{}: {config}",
            case.name
        );
        let rows: Vec<String> = config
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        for row in [
            "command REFUSED (see above) config.toml:3",
            "textfile REFUSED (see above) config.toml:5",
            "format \"T {5h}\" config.toml:1",
        ] {
            assert!(rows.iter().any(|r| r == row), "{}: {row:?} in {config}", case.name);
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
            assert!(mark.exists(), "{}: the hook did not run once fixed", case.name);
            assert!(prom.exists(), "{}: no textfile once fixed", case.name);
            let (_, config, _) = ql(&env, &["config"]);
            assert!(!config.contains("refused"), "{}: {config}", case.name);
        }
        if path.starts_with("/tmp/quotaline-config-") {
            let _ = std::fs::remove_file(&path);
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
    assert!(dump.contains("MY_VAR=kept\n"), "{what} lost the rest: {dump}");
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
