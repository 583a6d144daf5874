//! Issue 12: one configuration for every surface. `config.toml` is read the same way by
//! every process, whatever its environment; `quotaline config` says what is in force and
//! where it came from; a bad file never breaks the prompt.

use crate::common::programs::{refreshed, strip_sgr};
use crate::common::*;
use serde_json::Value;
use std::time::Duration;

fn zsh_file_line(env: &TestEnv) -> String {
    let text = std::fs::read_to_string(env.cache_dir.join("segment.zsh")).unwrap();
    text.lines().nth(1).unwrap().to_string()
}

fn plain(env: &TestEnv, args: &[&str]) -> String {
    let mut all = vec!["segment", "--target", "plain"];
    all.extend_from_slice(args);
    ql(env, &all).1
}

#[test]
fn config_prints_each_setting_with_its_origin_and_the_file() {
    let mut env = TestEnv::new();
    let path = env.config(
        "# mine\nformat = \"{5h}/{7d}\"\nwarn = 70\nttl = \"2m\"\n\n[target.tmux]\nformat = \"T {5h}\"\n",
    );
    env.set("QUOTALINE_CRIT", "95");
    let (code, out, err) = ql(&env, &["config"]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert!(
        out.starts_with(&format!("config file: {}\n", path.display())),
        "{out}"
    );
    let row = |key: &str| -> String {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(key))
            .unwrap_or_else(|| panic!("no {key} in {out}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(row("format"), "format \"{5h}/{7d}\" config.toml:2");
    assert_eq!(row("warn"), "warn 70 config.toml:3");
    assert_eq!(row("crit"), "crit 95 env QUOTALINE_CRIT");
    assert_eq!(row("ttl"), "ttl 2m config.toml:4");
    assert_eq!(row("sources"), "sources claude.ai, oauth default");
    assert!(out.contains("[target.tmux]"), "{out}");
    assert!(out.contains("\"T {5h}\""), "{out}");
    assert!(
        out.contains(
            "the environment wins over the file for commands started with it: QUOTALINE_CRIT"
        ),
        "{out}"
    );
}

#[test]
fn the_default_file_is_complete_and_changes_nothing() {
    let env = TestEnv::new();
    let (code, text, _) = ql(&env, &["config", "--default"]);
    assert_eq!(code, 0);
    for key in [
        "format",
        "org",
        "sources",
        "browser",
        "ttl",
        "timeout",
        "warn",
        "crit",
        "color",
        "[target.tmux]",
        "[notify]",
        "events",
        "desktop",
        "command",
        "eta_warning",
        "stale_warning",
        "[notify.window.5h]",
    ] {
        assert!(
            text.contains(&format!("#{key}")),
            "{key} missing from:\n{text}"
        );
    }
    env.config(&text);
    let (code, out, _) = ql(&env, &["config"]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("warning:"), "{out}");
    assert!(!out.contains("config.toml:"), "nothing set: {out}");
}

#[test]
fn every_process_renders_the_prompt_files_from_the_config_not_its_environment() {
    let (server, mut env) = refreshed();
    env.config("format = \"{5h} of 5h\"\n[target.zsh]\nformat = \"zsh {7d}\"\n");
    // A refresh started by a surface with a different environment (tmux, waybar, the
    // browser's host have none of the shell's variables, or others).
    env.set("QUOTALINE_FORMAT", "from the environment {opus}");
    age_cache(&env, 3600);
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    assert_eq!(zsh_file_line(&env), "zsh %F{green}64%%%f");
    // ...and one without it.
    env.remove("QUOTALINE_FORMAT");
    age_cache(&env, 3600);
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    assert_eq!(zsh_file_line(&env), "zsh %F{green}64%%%f");
    let bash = std::fs::read_to_string(env.cache_dir.join("segment.bash")).unwrap();
    assert_eq!(
        strip_sgr(bash.lines().nth(1).unwrap()).replace(['\x01', '\x02'], ""),
        "23% of 5h"
    );
    assert!(server.count("/api/account") >= 3);
}

#[test]
fn targets_take_their_own_settings_and_the_environment_wins_in_its_process() {
    let (_server, mut env) = refreshed();
    env.config("format = \"{5h}\"\nwarn = 10\n[target.tmux]\nformat = \"T {7d}\"\ncolor = false\n");
    assert_eq!(plain(&env, &[]), "23%\n");
    assert_eq!(ql(&env, &["segment", "--target", "tmux"]).1, "T 64%\n");
    // warn = 10 colours 23% as a warning in ANSI.
    assert_eq!(
        ql(&env, &["segment", "--target", "ansi"]).1,
        "\x1b[33m23%\x1b[39m\n"
    );
    env.set("QUOTALINE_FORMAT", "env {7d}");
    assert_eq!(plain(&env, &[]), "env 64%\n");
    assert_eq!(plain(&env, &["--format", "flag {5h}"]), "flag 23%\n");
}

#[test]
fn an_edit_takes_effect_at_the_next_call_without_a_refresh() {
    let (server, env) = refreshed();
    let before = server.requests().len();
    env.config("format = \"one {5h}\"\n");
    assert_eq!(plain(&env, &[]), "one 23%\n");
    // Same size, same second: the inode (an editor's rename) or mtime tells the change.
    let path = env.config("format = \"two {5h}\"\n");
    let t = std::time::SystemTime::now() + Duration::from_secs(2);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(t)
        .unwrap();
    assert_eq!(plain(&env, &[]), "two 23%\n");
    assert_eq!(server.requests().len(), before, "no fetch needed");
}

#[test]
fn a_bad_file_names_file_line_column_and_key_everywhere_and_the_prompt_keeps_going() {
    let (_server, env) = refreshed();
    let path = env.config("format = \"{5h} good\"\n");
    // The good settings reach the cache with the next ingest.
    age_cache(&env, 3600);
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    env.config("format = \"{5h} good\"\nwarn = \"high\"\n");
    let expected = format!("{}:2:8: warn: must be a percent", path.display());

    let (code, out, _) = ql(&env, &["config"]);
    assert_eq!(code, 1);
    assert!(out.contains(&expected), "{out}");
    let (_, out, _) = ql(&env, &["doctor"]);
    assert!(out.contains(&expected), "{out}");
    let (code, out, _) = ql(&env, &["status"]);
    assert_eq!(code, 0);
    assert!(out.contains(&format!("config error: {expected}")), "{out}");
    let (_, out, _) = ql(&env, &["segment", "--target", "waybar"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["tooltip"]
            .as_str()
            .unwrap()
            .contains("warn: must be a percent"),
        "{v}"
    );
    // The segment exits 0 with the last good format and says the config has an error.
    let (code, out, err) = ql(&env, &["segment", "--target", "plain"]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, "23% good · config error\n", "")
    );

    // A syntax error, an unbalanced group and an unknown placeholder are errors too.
    for (text, needle) in [
        ("warn = = 3\n", ":1:8: not valid TOML"),
        ("format = \"(5h {5h}\"\n", ":1:11: format: unbalanced ( )"),
        (
            "format = \"{5 h}\"\n",
            ":1:11: format: unknown placeholder {5 h}",
        ),
        (
            "[target.tmux]\nformat = 3\n",
            ":2:10: target.tmux.format: must be a string, not integer",
        ),
    ] {
        env.config(text);
        let (code, out, _) = ql(&env, &["config"]);
        assert_eq!(code, 1, "{text}");
        assert!(out.contains(needle), "{text}: {out}");
        assert_eq!(plain(&env, &[]), "23% good · config error\n", "{text}");
    }
}

#[test]
fn unknown_keys_warn_and_secrets_are_refused_with_where_they_belong() {
    let env = TestEnv::new();
    env.config("fromat = \"{5h}\"\n");
    let (code, out, _) = ql(&env, &["config"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("config.toml:1:1: fromat: unknown key, ignored"),
        "{out}"
    );
    env.config("session_key = \"sk-ant-sid01-SECRET\"\n");
    let (code, out, err) = ql(&env, &["config"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("session_key: secrets never go in config.toml"),
        "{out}"
    );
    assert!(out.contains("~/.config/quotaline/session"), "{out}");
    assert!(
        !out.contains("SECRET") && !err.contains("SECRET"),
        "{out}{err}"
    );
}

#[test]
fn sources_ttl_and_browser_come_from_the_file() {
    let (server, mut env) = refreshed();
    env.config("sources = [\"oauth\"]\n");
    age_cache(&env, 3600);
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 1);
    assert!(err.contains("Claude Code"), "{err}");
    // claude.ai was not asked: the file left only the OAuth source.
    assert_eq!(server.count("/api/account"), 1);
    // The last fetch is 70 minutes old: stale under the default, fresh under ttl = 2h.
    env.config("ttl = \"2h\"\n");
    age_cache(&env, 600);
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    assert_eq!(server.count("/api/account"), 1);
    // Without an explicit key, the pinned browser is where the session must come from.
    env.remove("QUOTALINE_SESSION_KEY");
    env.config("browser = \"firefox\"\n");
    let (code, _, err) = ql(&env, &["refresh", "--force"]);
    assert_eq!(code, 1);
    assert!(err.contains("firefox"), "the pinned browser: {err}");
}

/// Issue 22: a placeholder quotaline cannot answer is an error at its own line and column,
/// with the one probably meant; the prompt keeps the last good settings.
#[test]
fn an_unknown_placeholder_in_the_file_is_an_error_with_the_one_meant() {
    let (_server, env) = refreshed();
    let path = env.config("format = \"{5h} good\"\n");
    // The good settings reach the cache with the next ingest.
    age_cache(&env, 3600);
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    assert_eq!(plain(&env, &[]), "23% good\n");
    for (text, at, meant) in [
        ("format = \"{5h_rset}\"\n", "1:11", "{5h_reset}"),
        (
            "\n[target.plain]\nformat = \"5h {5hh} · 7d {7d}\"\n",
            "3:14",
            "{5h}",
        ),
    ] {
        env.config(text);
        let (code, out, _) = ql(&env, &["config"]);
        assert_eq!(code, 1, "{text}");
        let expected = format!(
            "error: {}:{at}: {}format: unknown placeholder ",
            path.display(),
            if at.starts_with('3') {
                "target.plain."
            } else {
                ""
            },
        );
        assert!(out.contains(&expected), "{text}: {out}");
        assert!(out.contains(&format!("(did you mean {meant}?)")), "{out}");
        assert_eq!(plain(&env, &[]), "23% good · config error\n", "{text}");
    }
}

/// Issue 22: an environment value quotaline cannot use is never ignored without a word:
/// `config` and `doctor` say what was set and what is used instead. A duration as the config
/// file writes it is a duration in the environment too.
#[test]
fn environment_values_that_do_not_parse_are_warned_with_what_is_used() {
    let mut env = TestEnv::new();
    env.config("warn = 70\n");
    env.set("QUOTALINE_TTL", "2m")
        .set("QUOTALINE_TIMEOUT", "soon")
        .set("QUOTALINE_WARN", "abc")
        .set("QUOTALINE_CRIT", "120")
        .set("QUOTALINE_FORMAT", "{5hh}")
        .set("QUOTALINE_BROWSER", "safari");
    let (code, out, _) = ql(&env, &["config"]);
    assert_eq!(code, 0, "{out}");
    let warnings: Vec<&str> = out.lines().filter(|l| l.starts_with("warning: ")).collect();
    assert_eq!(
        warnings,
        [
            "warning: QUOTALINE_TIMEOUT=\"soon\" is not a duration (e.g. 90, 60s, 5m): using 10s \
             (default)",
            "warning: QUOTALINE_WARN=\"abc\" is not a percent (a number from 0 to 100): using 70 \
             (config.toml:1)",
            "warning: QUOTALINE_CRIT=\"120\" is not a percent (a number from 0 to 100): using 90 \
             (default)",
            "warning: QUOTALINE_FORMAT: unknown placeholder {5hh} at character 1 (did you mean \
             {5h}?): using the built-in format (default)",
            "warning: QUOTALINE_BROWSER=\"safari\": quotaline cannot read \"safari\"'s cookies \
             (known: chrome, chromium, brave, edge, vivaldi, opera, arc, firefox; a profile as \
             \"brave:Profile 2\"): using the most recent profile (default)",
        ]
    );
    let ttl = out.lines().find(|l| l.starts_with("ttl ")).unwrap();
    assert_eq!(
        ttl.split_whitespace().collect::<Vec<_>>(),
        ["ttl", "2m", "env", "QUOTALINE_TTL"]
    );
    let (_, doctor, _) = ql(&env, &["doctor"]);
    for w in &warnings {
        let line = w.replacen("warning: ", "environment: ", 1);
        assert!(doctor.contains(&line), "{line}\n{doctor}");
    }
    env.set("QUOTALINE_TTL", "10");
    let (_, out, _) = ql(&env, &["config"]);
    assert!(
        out.contains(
            "warning: QUOTALINE_TTL=\"10\" is outside 30s to 1d: using 30s (env QUOTALINE_TTL)"
        ),
        "{out}"
    );
}

/// Issue 22: `browser = "safari"` is refused, naming the browsers quotaline reads; a pin
/// from the file is shown in `doctor` as the file's, not as QUOTALINE_BROWSER.
#[test]
fn an_unknown_browser_is_refused_and_doctor_names_where_a_pin_came_from() {
    let env = TestEnv::new();
    let path = env.config("ttl = 90\nbrowser = \"safari\"\n");
    let (code, out, _) = ql(&env, &["config"]);
    assert_eq!(code, 1);
    assert!(
        out.contains(&format!(
            "error: {}:2:11: browser: quotaline cannot read \"safari\"'s cookies (known: chrome,",
            path.display()
        )),
        "{out}"
    );
    env.config("browser = \"firefox\"\n");
    let (_, doctor, _) = ql(&env, &["doctor"]);
    let line = doctor
        .lines()
        .find(|l| l.trim_start().starts_with("browser "))
        .unwrap();
    assert_eq!(
        line.split_whitespace().collect::<Vec<_>>(),
        ["browser", "firefox", "(config.toml:1)"]
    );
    assert!(!doctor.contains("QUOTALINE_BROWSER"), "{doctor}");
}

/// Issue 22: an org asked for that the cache does not hold is named, with who asked and the
/// orgs there are, in `status`, `check`, `json` and `doctor`.
#[test]
fn an_org_that_is_not_there_is_named_with_the_ones_that_are() {
    let (_server, mut env) = refreshed();
    let held = format!(
        "the orgs quotaline holds: dev@example.com's Organization [{}] (active), Example Team \
         [{}]; name one of them, or none for the active org",
        ORG_IDS[0], ORG_IDS[1]
    );
    env.set("QUOTALINE_ORG", "nope");
    let what = "no org \"nope\" here (asked for by QUOTALINE_ORG)";
    let (code, out, err) = ql(&env, &["check"]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(err, format!("quotaline: {what}\n{held}\n"));
    let (code, out, err) = ql(&env, &["json"]);
    assert_eq!(code, 1);
    assert!(out.contains("\"orgs\": ["), "{out}");
    assert_eq!(err, format!("quotaline: {what}\n{held}\n"));
    let (code, out, _) = ql(&env, &["status"]);
    assert_eq!(code, 0);
    assert!(out.starts_with(&format!("{what}\n{held}\n\n")), "{out}");
    let (_, doctor, _) = ql(&env, &["doctor"]);
    assert!(
        doctor.contains(&format!("org: {what}; {held}\n")),
        "{doctor}"
    );
    env.remove("QUOTALINE_ORG");
    let (code, _, err) = ql(&env, &["check", "--org", "nope"]);
    assert_eq!(
        (code, err.lines().next()),
        (
            2,
            Some("quotaline: no org \"nope\" here (asked for by --org)")
        )
    );
}
