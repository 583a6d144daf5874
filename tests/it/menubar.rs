//! Issue 16: the menu-bar plugin (`--target xbar`, one format for xbar, SwiftBar and Argos)
//! and the i3blocks block, the latter in the real i3blocks.

use crate::common::programs::*;
use crate::common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

fn segment(env: &TestEnv, target: &str) -> String {
    let (code, out, err) = ql(env, &["segment", "--target", target]);
    assert_eq!((code, err.as_str()), (0, ""), "segment --target {target}");
    out
}

/// What every plugin line ends with under xbar, so it shows text literally (xbar refuses a
/// plugin over an attribute it does not know: only its own).
const LITERAL: &str = "emojize=false ansi=false";
const MONO: &str = "font=Menlo size=12 trim=false";

/// Model names aimed at the plugin protocol: attributes, line breaks, separators and
/// submenus, Pango, emoji names, backslash escapes, command substitution.
const MENU_NASTY: &[&str] = &[
    "a|b color=red href=file:///etc",
    "line\nbreak",
    "---",
    "--sub",
    "<b>&",
    ":fire:",
    "$(touch pwned-sh)",
    "back\\nslash",
];

/// Each line is a `---` separator or text, one ` | ` and our attributes: server text never
/// adds an attribute, a line, a separator or a submenu.
fn assert_plugin_shape(out: &str) {
    for line in out.lines() {
        if line == "---" {
            continue;
        }
        assert_eq!(line.matches('|').count(), 1, "{line:?}");
        let (text, attrs) = line.split_once(" | ").unwrap();
        assert!(!text.starts_with('-'), "{line:?}");
        assert!(attrs.ends_with(LITERAL), "{line:?}");
    }
}

#[test]
fn xbar_shows_the_line_coloured_and_the_report_and_actions_in_the_dropdown() {
    let (_server, env) = refreshed();
    let out = segment(&env, "xbar");
    assert_plugin_shape(&out);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], format!("{LIMITS_LINE} | color=#e5c07b {LITERAL}"));
    assert_eq!(lines[1], "---");
    let has = |prefix: &str| {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(prefix) && l.ends_with(&format!("| {MONO} {LITERAL}"))),
            "{prefix:?} in {out}"
        )
    };
    has("source claude.ai · fetched ");
    has("  plan          Max 20x");
    has("  opus            81%  resets ");
    has("                burn rate: ");
    has("  extra usage   $12.34 / $50 spent");
    has("  subscription  active, monthly · next charge 2026-12-04");
    has("last error: none");
    assert_eq!(
        lines[lines.len() - 3..],
        [
            "---".to_string(),
            format!(
                "Refresh now | bash=\"{}\" param1=refresh param2=--force terminal=false \
                 refresh=true {LITERAL}",
                *BIN
            ),
            format!("Open claude.ai usage | href=https://claude.ai/settings/usage {LITERAL}"),
        ]
    );
}

#[test]
fn xbar_without_colour_keeps_the_menu_bars_own() {
    let (_server, mut env) = refreshed();
    env.set("NO_COLOR", "1");
    let out = segment(&env, "xbar");
    assert_eq!(
        out.lines().next(),
        Some(format!("{LIMITS_LINE} | {LITERAL}").as_str())
    );
}

#[test]
fn xbar_says_why_when_there_is_no_data() {
    let server = FakeServer::claude_ai("usage_limits_array.json");
    server.route("/api/account", Reply::expired());
    let env = env_for(&server);
    assert_eq!(ql(&env, &["refresh"]).0, 1);
    let out = segment(&env, "xbar");
    assert_plugin_shape(&out);
    assert_eq!(
        out.lines().next(),
        Some(format!("quotaline: unauthorized | color=#e06c75 {LITERAL}").as_str())
    );
    assert!(out.contains("\nno usage data yet | "), "{out}");
    assert!(out.contains("\nlast error: "), "{out}");
}

#[test]
fn xbar_server_text_adds_no_attribute_line_or_menu_item() {
    let (_server, env) = refreshed_with_models(MENU_NASTY);
    let out = segment(&env, "xbar");
    assert_plugin_shape(&out);
    let bar = out.lines().next().unwrap();
    assert_eq!(
        bar,
        format!(
            // In the order of the windows' keys: the slugs of the model names.
            "a¦b color=red href=file:///etc 12% · <b>& 16% · back\\nslash 19% · :fire: 17% · \
             line break 13% · --- 14% · opus 81% · sonnet 9% · --sub 15% · \
             $(touch pwned-sh) 18% | color=#e5c07b {LITERAL}"
        )
    );
    assert!(out.contains("\n  ---             14%  resets "), "{out}");
    assert_nothing_ran(&env);
}

#[test]
fn the_menu_bar_plugin_is_one_script_for_xbar_swiftbar_and_argos() {
    let (_server, env) = refreshed();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("integrations/quotaline.1m.sh");
    let text = std::fs::read_to_string(&file).unwrap();
    for program in ["xbar", "swiftbar", "argos"] {
        let (code, out, _) = ql(&env, &["init", program]);
        assert_eq!((code, out.as_str()), (0, text.as_str()), "{program}");
    }
    let (code, _, err) = run_in_home(&env, "shellcheck", &[file.to_str().unwrap()]);
    assert_eq!((code, err.as_str()), (0, ""), "shellcheck");
    // The menu-bar app runs the file itself: it must be executable and print the plugin.
    let (code, out, err) = run_in_home(&env, file.to_str().unwrap(), &[]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, segment(&env, "xbar"));
}

/// The block i3blocks shows for the config `conf` (the status line JSON it writes to
/// stdout for i3bar), once the command has run.
fn i3blocks_block(env: &TestEnv, conf: &Path) -> Value {
    let mut child = env
        .command("i3blocks")
        .args(["-c", conf.to_str().unwrap()])
        .current_dir(env.home.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("i3blocks");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut block = None;
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(20)) {
        let Ok(Value::Array(blocks)) = serde_json::from_str(line.trim_start_matches(',')) else {
            continue;
        };
        block = blocks
            .into_iter()
            .find(|b| b["name"] == "quotaline" && b["full_text"] != "");
        if block.is_some() {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    block.expect("i3blocks showed no quotaline block within 20 s")
}

#[test]
fn i3blocks_shows_full_and_short_text_and_the_colour() {
    let (_server, env) = refreshed();
    assert_eq!(
        segment(&env, "i3blocks"),
        format!("{LIMITS_LINE}\n81%\n#e5c07b\n")
    );
    let block = i3blocks_block(&env, &snippet(&env, "i3blocks"));
    assert_eq!(block["full_text"], LIMITS_LINE);
    assert_eq!(block["short_text"], "81%");
    assert_eq!(block["color"], "#e5c07b");
}

#[test]
fn i3blocks_shows_server_text_literally_and_runs_nothing() {
    let (_server, env) = refreshed_with_models(MENU_NASTY);
    let plain = segment(&env, "plain");
    let block = i3blocks_block(&env, &snippet(&env, "i3blocks"));
    assert_eq!(block["full_text"], plain.trim_end());
    assert_eq!(block["short_text"], "81%");
    assert_nothing_ran(&env);
}

/// SwiftBar and Argos say who they are to their plugins; each gets its own literal-text
/// attributes, and xbar none of theirs.
#[test]
fn each_menu_bar_gets_only_the_attributes_it_knows() {
    let (_server, mut env) = refreshed();
    let first = |env: &TestEnv| segment(env, "xbar").lines().next().unwrap().to_string();
    assert!(
        first(&env).ends_with("| color=#e5c07b emojize=false ansi=false"),
        "{}",
        first(&env)
    );
    env.set("SWIFTBAR", "1");
    assert!(
        first(&env).ends_with("emojize=false ansi=false symbolize=false"),
        "{}",
        first(&env)
    );
    env.remove("SWIFTBAR").set("ARGOS_VERSION", "2");
    assert!(
        first(&env).ends_with("useMarkup=false unescape=false emojize=false"),
        "{}",
        first(&env)
    );
}
