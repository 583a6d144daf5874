//! Issue 22: the conventions people type without thinking. `-h` and `--help` on every
//! command, `--version` and `-V`, a suggestion for a mistyped command, flag, target, window or
//! placeholder, one error style (`quotaline: <what>`, then the fix), exit 64 for every usage
//! error, and bare `quotaline --format T` as the segment.

use crate::common::programs::*;
use crate::common::*;

/// Every command `quotaline --help` lists.
fn commands(env: &TestEnv) -> Vec<String> {
    let (_, help, _) = ql(env, &["--help"]);
    let (_, list) = help.split_once("\nCommands:\n").unwrap();
    list.split("\n\n")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("  ").filter(|l| !l.starts_with(' ')))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn h_and_help_work_for_quotaline_and_every_command() {
    let env = TestEnv::new();
    let (code, long, err) = ql(&env, &["--help"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(
        long.starts_with("Usage: quotaline [<command>] [<args>]\n"),
        "{long}"
    );
    assert_eq!(ql(&env, &["-h"]), (0, long.clone(), String::new()));
    let all = commands(&env);
    assert_eq!(all.len(), 16, "{all:?}");
    for command in all {
        let (code, out, err) = ql(&env, &[&command, "-h"]);
        assert_eq!((code, err.as_str()), (0, ""), "{command} -h");
        assert!(
            out.starts_with(&format!("Usage: quotaline {command}")),
            "{command}: {out}"
        );
        assert!(out.contains("-h, --help"), "{command}: {out}");
        assert_eq!(ql(&env, &[&command, "--help"]).1, out, "{command} --help");
        assert_eq!(ql(&env, &["help", &command]).1, out, "help {command}");
    }
}

#[test]
fn version_and_v_print_the_version() {
    let env = TestEnv::new();
    let version = format!("quotaline {}\n", env!("CARGO_PKG_VERSION"));
    for flag in ["--version", "-V"] {
        assert_eq!(
            ql(&env, &[flag]),
            (0, version.clone(), String::new()),
            "{flag}"
        );
    }
}

/// The mistakes of the issue, each answered on stderr in two lines, exit 64.
#[test]
fn typos_get_a_suggestion_and_exit_64() {
    let env = TestEnv::new();
    for (args, what, fix) in [
        (
            &["statu"][..],
            "unknown command `statu`",
            "did you mean `status`? `quotaline --help` lists the commands",
        ),
        (
            &["refresh", "--forc"],
            "unknown flag `--forc` for `refresh`",
            "did you mean `--force`? `quotaline refresh --help` lists its flags",
        ),
        (
            &["--target", "tmuxx"],
            "unknown target `tmuxx`",
            "did you mean `tmux`? targets: plain, ansi, zsh, bash, fish, tmux, polybar, waybar, \
             starship, xbar, i3blocks",
        ),
        (
            &["init", "vim"],
            "unknown program `vim`",
            "programs: zsh, bash, fish, tmux, starship, waybar, waybar-css, polybar, i3blocks, \
             xbar, swiftbar, argos, claude-code, node-exporter, native-host",
        ),
        (
            &["init", "zhs"],
            "unknown program `zhs`",
            "did you mean `zsh`? programs: zsh, bash, fish, tmux, starship, waybar, waybar-css, \
             polybar, i3blocks, xbar, swiftbar, argos, claude-code, node-exporter, native-host",
        ),
        (
            &["completions", "powershell"],
            "unknown shell `powershell`",
            "shells: zsh, bash, fish",
        ),
        (
            &["init", "zsh", "--browser", "chrome"],
            "`--browser` is only for `quotaline init native-host`",
            "leave it out: `quotaline init zsh` prints the same snippet for every browser",
        ),
        (
            &["check", "--max", "lots"],
            "--max: `lots` is not a number",
            "`quotaline check --help` lists its flags",
        ),
        (
            &["history", "--since", "soon"],
            "--since: `soon` is not a duration (e.g. 30m, 24h, 7d, 1h30m)",
            "`quotaline history --help` lists its flags",
        ),
        (
            &["init"],
            "`init` needs a program",
            "e.g. `quotaline init zsh`",
        ),
    ] {
        let (code, out, err) = ql(&env, args);
        assert_eq!(
            (code, out.as_str(), err),
            (64, "", format!("quotaline: {what}\n{fix}\n")),
            "{args:?}"
        );
    }
}

#[test]
fn an_unknown_placeholder_in_format_is_a_usage_error_with_the_one_meant() {
    let (_server, env) = refreshed();
    for (args, what, meant) in [
        (
            &["--format", "{5hh}"][..],
            "unknown placeholder {5hh} at character 1",
            "{5h}",
        ),
        (
            &["segment", "--format", "5h {5h_rset}"],
            "unknown placeholder {5h_rset} at character 4",
            "{5h_reset}",
        ),
        (
            &["statusline", "--format", "{opsu}"],
            "unknown placeholder {opsu} at character 1",
            "{opus}",
        ),
    ] {
        let (code, out, err) = ql(&env, args);
        assert_eq!((code, out.as_str()), (64, ""), "{args:?}");
        let (first, second) = err.split_once('\n').unwrap();
        assert_eq!(first, format!("quotaline: --format: {what}"), "{args:?}");
        assert!(
            second.starts_with(&format!("did you mean {meant}? placeholders: a window")),
            "{args:?}: {second}"
        );
    }
}

/// The README's Interface table: bare `quotaline` is the segment and takes its flags, with
/// `=` or a space before a value.
#[test]
fn bare_quotaline_takes_the_segments_flags() {
    let (_server, env) = refreshed();
    for args in [
        &["--format", "{5h}/{7d}"][..],
        &["--format={5h}/{7d}"],
        &["segment", "--format", "{5h}/{7d}"],
    ] {
        assert_eq!(
            ql(&env, args),
            (0, "23%/64%\n".to_string(), String::new()),
            "{args:?}"
        );
    }
    let (code, out, _) = ql(&env, &["--target", "zsh"]);
    assert_eq!((code, out), (0, format!("{ZSH_LINE}\n")));
}
