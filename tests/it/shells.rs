//! Issue 4: the zsh, bash and fish snippets of `quotaline init`, sourced in clean shells (no
//! rc files), their prompt hooks run, the exact prompt text asserted; the same in
//! interactive shells inside tmux (the background refresh they start is silent); the
//! snippets linted; forks per prompt counted with strace.

use crate::common::programs::*;
use crate::common::*;
use std::path::Path;
use std::time::Duration;

fn zsh(env: &TestEnv, script: &str, snippet: &Path) -> String {
    let (code, out, err) = run_in_home(
        env,
        "zsh",
        &["-f", "-c", script, "zsh", snippet.to_str().unwrap()],
    );
    assert_eq!((code, err.as_str()), (0, ""), "zsh: {out}");
    out
}

fn bash(env: &TestEnv, script: &str, snippet: &Path) -> String {
    let (code, out, err) = run_in_home(
        env,
        "bash",
        &[
            "--norc",
            "--noprofile",
            "-c",
            script,
            "bash",
            snippet.to_str().unwrap(),
        ],
    );
    assert_eq!((code, err.as_str()), (0, ""), "bash: {out}");
    out
}

fn fish(env: &TestEnv, script: &str, snippet: &Path) -> String {
    let (code, out, err) = run_in_home(
        env,
        "fish",
        &["--no-config", "-c", script, snippet.to_str().unwrap()],
    );
    assert_eq!((code, err.as_str()), (0, ""), "fish: {out}");
    out
}

/// `RPROMPT` as set, then `|`, then as zsh expands it.
const ZSH_SHOW: &str = r#"source $1; __quotaline_precmd; __quotaline_precmd
print -rn -- "$RPROMPT|"; print -Pn -- "$RPROMPT""#;

#[test]
fn zsh_hook_puts_the_prerendered_line_in_rprompt() {
    let (_server, env) = refreshed();
    let snip = snippet(&env, "zsh");
    let out = zsh(&env, ZSH_SHOW, &snip);
    assert_eq!(out, format!("{ZSH_LINE}|{ANSI_LINE}"));
}

#[test]
fn zsh_with_prompt_subst_refers_to_the_line_instead_of_embedding_it() {
    let (_server, env) = refreshed();
    let snip = snippet(&env, "zsh");
    let out = zsh(&env, &format!("setopt prompt_subst; {ZSH_SHOW}"), &snip);
    assert_eq!(out, format!("${{__quotaline_segment}}|{ANSI_LINE}"));
}

#[test]
fn zsh_keeps_the_users_rprompt_and_never_stacks_the_line() {
    let (_server, env) = refreshed();
    let snip = snippet(&env, "zsh");
    let script = r#"RPROMPT='%~'; source $1
repeat 3 __quotaline_precmd; print -rn -- "$RPROMPT""#;
    assert_eq!(zsh(&env, script, &snip), format!("{ZSH_LINE} %~"));
}

#[test]
fn zsh_shows_nothing_before_the_first_refresh() {
    let server = claude_ai("usage_limits_array.json");
    let env = env_for(&server);
    let snip = snippet(&env, "zsh");
    let script = r#"RPROMPT='%~'; source $1; __quotaline_precmd; print -rn -- "$RPROMPT""#;
    assert_eq!(zsh(&env, script, &snip), "%~");
}

#[test]
fn zsh_prompt_shows_server_text_literally_and_runs_nothing() {
    let (_server, env) = refreshed_nasty();
    let snip = snippet(&env, "zsh");
    for opts in ["", "setopt prompt_subst; "] {
        let out = zsh(&env, &format!("{opts}{ZSH_SHOW}"), &snip);
        let (_, shown) = out.split_once('|').unwrap();
        assert_eq!(strip_sgr(shown), nasty_models_line(), "{opts}");
    }
    assert_nothing_ran(&env);
}

/// `PS1` as bash expands it for the prompt, after two prompts.
const BASH_SHOW: &str = r#"PS1='> '; source "$1"; __quotaline_prompt; __quotaline_prompt
printf '%s' "${PS1@P}""#;

#[test]
fn bash_hook_puts_the_prerendered_line_in_front_of_ps1() {
    let (_server, env) = refreshed();
    let snip = snippet(&env, "bash");
    let out = bash(&env, BASH_SHOW, &snip);
    assert_eq!(out, format!("{} > ", bash_line()));
}

#[test]
fn bash_prompt_shows_server_text_literally_and_runs_nothing() {
    let (_server, env) = refreshed_nasty();
    let snip = snippet(&env, "bash");
    let out = bash(&env, BASH_SHOW, &snip);
    let shown = strip_sgr(&out).replace(['\x01', '\x02'], "");
    assert_eq!(shown, format!("{} > ", nasty_models_line()));
    assert_nothing_ran(&env);
}

#[test]
fn bash_hook_is_added_once_and_keeps_prompt_command() {
    let (_server, env) = refreshed();
    let snip = snippet(&env, "bash");
    let script = r#"PROMPT_COMMAND='echo mine'; source "$1"; source "$1"
printf '%s' "$PROMPT_COMMAND""#;
    assert_eq!(bash(&env, script, &snip), "__quotaline_prompt;echo mine");
}

#[test]
fn fish_right_prompt_prints_the_prerendered_line_and_keeps_the_users() {
    let (_server, env) = refreshed();
    let snip = snippet(&env, "fish");
    assert_eq!(
        fish(&env, "source $argv[1]; fish_right_prompt", &snip),
        ANSI_LINE
    );
    let mine = "function fish_right_prompt; printf mine; end; source $argv[1]; fish_right_prompt";
    assert_eq!(fish(&env, mine, &snip), format!("{ANSI_LINE} mine"));
}

#[test]
fn fish_prompt_shows_server_text_literally_and_runs_nothing() {
    let (_server, env) = refreshed_nasty();
    let snip = snippet(&env, "fish");
    let out = fish(&env, "source $argv[1]; fish_right_prompt", &snip);
    assert_eq!(strip_sgr(&out), nasty_models_line());
    assert_nothing_ran(&env);
}

#[test]
fn snippets_pass_shellcheck_zsh_n_fish_no_execute_and_fish_indent() {
    let server = FakeServer::start();
    let env = env_for(&server);
    let bash = snippet(&env, "bash");
    let (code, out, err) = run_in_home(&env, "shellcheck", &["-s", "bash", bash.to_str().unwrap()]);
    assert_eq!(code, 0, "shellcheck:\n{out}{err}");
    let zsh = snippet(&env, "zsh");
    let (code, out, err) = run_in_home(&env, "zsh", &["-f", "-n", zsh.to_str().unwrap()]);
    assert_eq!(code, 0, "zsh -n:\n{out}{err}");
    let fish = snippet(&env, "fish");
    let (code, out, err) = run_in_home(&env, "fish", &["--no-execute", fish.to_str().unwrap()]);
    assert_eq!(code, 0, "fish --no-execute:\n{out}{err}");
    let (code, out, err) = run_in_home(&env, "fish_indent", &["--check", fish.to_str().unwrap()]);
    assert_eq!(code, 0, "fish_indent --check:\n{out}{err}");
}

/// Processes started and programs run (clone, clone3, fork, vfork, execve) by `shell args`
/// and its children, counted by strace. Threads (fish starts one) are not processes.
fn forks(env: &TestEnv, shell_args: &[&str]) -> usize {
    let log = env.home.path().join("strace.log");
    let mut args = vec![
        "-f",
        "-qq",
        "-o",
        log.to_str().unwrap(),
        "-e",
        "trace=clone,clone3,fork,vfork,execve",
    ];
    args.extend_from_slice(shell_args);
    let (code, out, err) = run_in_home(env, "strace", &args);
    assert_eq!(code, 0, "strace {shell_args:?}: {out}{err}");
    let text = std::fs::read_to_string(&log).unwrap();
    text.lines()
        .filter(|l| !l.contains("resumed>") && !l.contains("+++") && !l.contains("---"))
        .filter(|l| !l.contains("CLONE_THREAD"))
        .count()
}

#[test]
fn prompt_redraws_on_a_fresh_cache_start_no_process() {
    let (_server, env) = refreshed();
    let cases: [(&str, &str, Vec<&str>); 3] = [
        (
            "zsh",
            "source $1; repeat $2 __quotaline_precmd",
            vec!["-f", "-c"],
        ),
        (
            "bash",
            r#"source "$1"; for ((i = 0; i < $2; i++)); do __quotaline_prompt; done"#,
            vec!["--norc", "--noprofile", "-c"],
        ),
        (
            "fish",
            "source $argv[1]; set i 0
             while test $i -lt $argv[2]; set i (math $i + 1); fish_right_prompt >/dev/null; end",
            vec!["--no-config", "-c"],
        ),
    ];
    for (shell, script, flags) in cases {
        let snip = snippet(&env, shell);
        let run = |n: &str| {
            let mut args = vec![shell];
            args.extend(flags.iter().copied());
            args.push(script);
            if shell != "fish" {
                args.push(shell);
            }
            args.push(snip.to_str().unwrap());
            args.push(n);
            forks(&env, &args)
        };
        let (none, hundred) = (run("0"), run("100"));
        assert_eq!(
            hundred,
            none,
            "{shell}: 100 prompt hooks forked {} times",
            hundred - none
        );
    }
}

/// An interactive `shell` in tmux with the snippet sourced: the line shows in the prompt;
/// when the pre-rendered file says a refresh is due, the next prompt starts one in the
/// background (reaching the fake), without a word on the terminal, and the prompt after it
/// shows the new numbers.
fn interactive(shell: &str, command: &str, setup: &str) {
    let (server, env) = refreshed();
    let snip = snippet(&env, shell);
    let tmux = Tmux::start(&env, shell, Path::new("/dev/null"), command);
    tmux.type_line(&format!("{setup}source {}", snip.display()));
    tmux.wait_for_screen("the line in the prompt", |l| l.contains(LIMITS_LINE));

    server.route(
        &usage_path(ORG_IDS[0]),
        Reply::json(200, &shifted("usage_flat_windows.json")),
    );
    age_cache(&env, 120);
    make_prompt_files_due(&env);
    tmux.type_line("");
    assert!(
        server.wait_for(&usage_path(ORG_IDS[0]), 2, Duration::from_secs(15)),
        "{shell}: no background refresh reached the fake"
    );
    let new_line = "5h 37% · 7d 58% · opus 71% · ↻1h12m";
    let screen = wait_until(Duration::from_secs(15), "the refreshed line", || {
        tmux.type_line("");
        std::thread::sleep(Duration::from_millis(200));
        let screen = tmux.screen();
        screen
            .iter()
            .any(|l| l.contains(new_line))
            .then_some(screen)
    });
    let text = screen.join("\n");
    for noise in ["[1]", "Done", "Job", "refresh", "quotaline"] {
        assert!(!text.contains(noise), "{shell} printed {noise:?}:\n{text}");
    }
}

#[test]
fn interactive_zsh_shows_the_line_and_refreshes_silently_in_the_background() {
    interactive("zsh", "zsh -f -i", "PS1='> '; ");
}

#[test]
fn interactive_bash_shows_the_line_and_refreshes_silently_in_the_background() {
    interactive("bash", "bash --norc --noprofile -i", "PS1='> '; ");
}

#[test]
fn interactive_fish_shows_the_line_and_refreshes_silently_in_the_background() {
    interactive(
        "fish",
        "fish --no-config -i -C 'set -g fish_greeting'",
        "function fish_prompt; printf '> '; end; ",
    );
}

/// Each shell's prompt after config.toml was edited (made newer than the prompt file): the
/// very next prompt follows the file, and the one after reads the re-rendered file alone.
#[test]
fn an_edited_config_shows_at_the_next_prompt_in_every_shell() {
    let (_server, env) = refreshed();
    let conf = env.config("format = \"{5h}/{7d}\"\n");
    // The edit comes after the prompt files were written.
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&conf)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let plain = |s: &str| strip_sgr(s).replace(['\x01', '\x02'], "");

    let snip = snippet(&env, "zsh");
    let out = zsh(
        &env,
        "source $1; __quotaline_precmd; print -Pn -- \"$RPROMPT\"",
        &snip,
    );
    assert_eq!(plain(&out), "23%/64%");
    let snip = snippet(&env, "bash");
    let out = bash(
        &env,
        "PS1='> '; source \"$1\"; __quotaline_prompt; printf '%s' \"${PS1@P}\"",
        &snip,
    );
    assert_eq!(plain(&out), "23%/64% > ");
    let snip = snippet(&env, "fish");
    let out = fish(&env, "source $argv[1]; fish_right_prompt", &snip);
    assert_eq!(plain(&out), "23%/64%");
}

/// Issue 22: an rc file with the README's line, sourced again and again as people do after an
/// edit (`source ~/.zshrc`), a prompt drawn after each: one line, the user's own right prompt
/// after it, nothing on stderr. Both when the rc sets the user's prompt itself and when it
/// was set once before.
#[test]
fn zsh_rc_sourced_two_and_three_times_shows_one_line_and_keeps_rprompt() {
    let (_server, env) = refreshed();
    let rc = env.home.path().join("zshrc");
    for (rc_text, before) in [
        ("RPROMPT='%~'\neval \"$(quotaline init zsh)\"\n", ""),
        ("eval \"$(quotaline init zsh)\"\n", "RPROMPT='%~'; "),
    ] {
        std::fs::write(&rc, rc_text).unwrap();
        for times in [2, 3] {
            let script = format!(
                "{before}for i in {{1..{times}}}; do source $1; __quotaline_precmd; done
print -rn -- \"$RPROMPT\""
            );
            assert_eq!(
                zsh(&env, &script, &rc),
                format!("{ZSH_LINE} %~"),
                "{rc_text:?} sourced {times} times"
            );
        }
    }
}

/// The same in bash, the hook run as bash runs it (`PROMPT_COMMAND`).
#[test]
fn bash_rc_sourced_two_and_three_times_shows_one_line_and_keeps_ps1() {
    let (_server, env) = refreshed();
    let rc = env.home.path().join("bashrc");
    for (rc_text, before) in [
        ("PS1='> '\neval \"$(quotaline init bash)\"\n", ""),
        ("eval \"$(quotaline init bash)\"\n", "PS1='> '; "),
    ] {
        std::fs::write(&rc, rc_text).unwrap();
        for times in [2, 3] {
            let script = format!(
                "{before}for ((i = 0; i < {times}; i++)); do source \"$1\"; eval \"$PROMPT_COMMAND\"; done
printf '%s|%s' \"$PROMPT_COMMAND\" \"${{PS1@P}}\""
            );
            assert_eq!(
                bash(&env, &script, &rc),
                format!("__quotaline_prompt|{} > ", bash_line()),
                "{rc_text:?} sourced {times} times"
            );
        }
    }
}

/// The same in fish, whose snippet once copied its own right prompt as the user's and then
/// called itself until the stack ran out.
#[test]
fn fish_config_sourced_two_and_three_times_shows_one_line_and_keeps_the_users() {
    let (_server, env) = refreshed();
    let rc = env.home.path().join("config.fish");
    for (rc_text, expected) in [
        (
            "function fish_right_prompt; printf mine; end\nquotaline init fish | source\n",
            format!("{ANSI_LINE} mine"),
        ),
        ("quotaline init fish | source\n", ANSI_LINE.to_string()),
    ] {
        std::fs::write(&rc, rc_text).unwrap();
        for times in [2, 3] {
            let script = format!(
                "for i in (seq {times}); source $argv[1]; fish_right_prompt >/dev/null; end
fish_right_prompt"
            );
            assert_eq!(
                fish(&env, &script, &rc),
                expected,
                "{rc_text:?} sourced {times} times"
            );
        }
    }
}
