//! Issue 16: `quotaline completions zsh|bash|fish`, in the real shells, checked against
//! every subcommand and flag `--help` lists, so the completions cannot fall behind.

use crate::common::programs::*;
use crate::common::*;
use std::path::{Path, PathBuf};

/// Every subcommand `quotaline --help` lists.
fn subcommands(env: &TestEnv) -> Vec<String> {
    let (code, out, _) = ql(env, &["--help"]);
    assert_eq!(code, 0);
    let (_, commands) = out.split_once("\nCommands:\n").unwrap();
    // The list ends at the blank line before the notes.
    let commands = commands.split("\n\n").next().unwrap();
    commands
        .lines()
        .filter_map(|l| l.strip_prefix("  ").filter(|l| !l.starts_with(' ')))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Every flag `quotaline <command> --help` lists, `--help` included.
fn flags(env: &TestEnv, command: &str) -> Vec<String> {
    let (code, out, _) = ql(env, &[command, "--help"]);
    assert_eq!(code, 0, "{command} --help");
    let Some((_, options)) = out.split_once("\nOptions:\n") else {
        return Vec::new();
    };
    options
        .lines()
        .filter_map(|l| l.trim_start().split([' ', ',']).next())
        .filter(|w| w.starts_with("--"))
        .map(str::to_string)
        .collect()
}

fn script(env: &TestEnv, shell: &str) -> PathBuf {
    let (code, out, err) = ql(env, &["completions", shell]);
    assert_eq!((code, err.as_str()), (0, ""), "completions {shell}");
    let path = env.home.path().join(format!("completion.{shell}"));
    std::fs::write(&path, out).unwrap();
    path
}

/// What bash's completion function offers for the words typed so far (the last is the
/// word being completed).
fn bash_complete(env: &TestEnv, typed: &[&str]) -> Vec<String> {
    let file = script(env, "bash");
    let words: Vec<String> = typed.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}'; COMP_WORDS=(quotaline {}); COMP_CWORD={}; _quotaline; \
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        file.display(),
        words.join(" "),
        typed.len()
    );
    let (code, out, err) = run_in_home(env, "bash", &["--norc", "--noprofile", "-c", &program]);
    assert_eq!((code, err.as_str()), (0, ""), "{typed:?}");
    out.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn fish_complete(env: &TestEnv, line: &str) -> Vec<String> {
    let file = script(env, "fish");
    let program = format!("source '{}'; complete -C '{line}'", file.display());
    let (code, out, err) = run_in_home(env, "fish", &["--no-config", "-c", &program]);
    assert_eq!((code, err.as_str()), (0, ""), "{line:?}");
    out.lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect()
}

/// zsh, interactive in a pty (`zpty`) with `compinit`: types `line` and a Tab, and returns
/// what the terminal shows once `expected` appears (or after 20 s).
fn zsh_complete(env: &TestEnv, line: &str, expected: &str) -> String {
    let file = script(env, "zsh");
    let driver = format!(
        r#"zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z 'autoload -Uz compinit && compinit -D -u && source {file} && PS1="> "'
zpty -w -n z $'{line}\t'
out=''
for i in {{1..200}}; do
  zpty -r -t z chunk && out+=$chunk
  [[ $out == *{expected:?}* ]] && break
  sleep 0.1
done
zpty -d z
print -r -- "$out""#,
        file = file.display(),
    );
    let (code, out, err) = run_in_home(env, "zsh", &["-f", "-c", &driver]);
    assert_eq!((code, err.as_str()), (0, ""), "{line:?}");
    out
}

#[test]
fn every_subcommand_completes_in_every_shell() {
    let env = TestEnv::new();
    let commands = subcommands(&env);
    assert!(
        commands.contains(&"completions".to_string()),
        "{commands:?}"
    );
    let mut bash = bash_complete(&env, &[""]);
    bash.sort();
    let mut expected = commands.clone();
    expected.push("--help".into());
    expected.sort();
    assert_eq!(bash, expected, "bash");
    let fish = fish_complete(&env, "quotaline ");
    let zsh = zsh_complete(&env, "quotaline ", "verify");
    // zsh lists the candidates under the line, one `name -- help` per line.
    let listed: Vec<&str> = zsh
        .lines()
        .filter(|l| l.contains(" -- "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for c in &commands {
        assert!(fish.contains(c), "fish lacks {c}: {fish:?}");
        assert!(listed.contains(&c.as_str()), "zsh lacks {c}: {zsh}");
    }
}

#[test]
fn every_flag_of_every_subcommand_completes() {
    let env = TestEnv::new();
    for command in subcommands(&env) {
        let bash = bash_complete(&env, &[&command, "--"]);
        let fish = fish_complete(&env, &format!("quotaline {command} --"));
        for flag in flags(&env, &command) {
            assert!(bash.contains(&flag), "bash: {command} {flag}: {bash:?}");
            if flag != "--help" {
                assert!(fish.contains(&flag), "fish: {command} {flag}: {fish:?}");
            }
        }
    }
}

#[test]
fn values_complete_targets_programs_windows_and_shells() {
    let env = TestEnv::new();
    assert_eq!(bash_complete(&env, &["segment", "--target", "x"]), ["xbar"]);
    assert_eq!(bash_complete(&env, &["init", "i3"]), ["i3blocks"]);
    assert_eq!(bash_complete(&env, &["check", "--window", "5"]), ["5h"]);
    assert_eq!(bash_complete(&env, &["completions", "f"]), ["fish"]);
    assert!(bash_complete(&env, &["segment", "--format", ""]).is_empty());
    assert_eq!(
        fish_complete(&env, "quotaline segment --target i"),
        ["i3blocks"]
    );
    assert_eq!(fish_complete(&env, "quotaline init argo"), ["argos"]);
    let zsh = zsh_complete(&env, "quotaline segment --target xb", "--target xbar ");
    assert!(zsh.contains("--target xbar "), "{zsh}");
    let zsh = zsh_complete(&env, "quotaline init i3", "init i3blocks ");
    assert!(zsh.contains("init i3blocks "), "{zsh}");
}

#[test]
fn bash_registers_the_function_and_the_scripts_lint_clean() {
    let env = TestEnv::new();
    let bash = script(&env, "bash");
    let program = format!("source '{}'; complete -p quotaline", bash.display());
    let (code, out, _) = run_in_home(&env, "bash", &["--norc", "-c", &program]);
    assert_eq!(
        (code, out.as_str()),
        (0, "complete -F _quotaline quotaline\n")
    );
    let (code, out, _) = run_in_home(&env, "shellcheck", &[bash.to_str().unwrap()]);
    assert_eq!((code, out.as_str()), (0, ""), "shellcheck");
    let fish = script(&env, "fish");
    let (code, _, err) = run_in_home(&env, "fish", &["--no-execute", fish.to_str().unwrap()]);
    assert_eq!((code, err.as_str()), (0, ""), "fish --no-execute");
    let zsh = script(&env, "zsh");
    let (code, _, err) = run_in_home(&env, "zsh", &["-n", zsh.to_str().unwrap()]);
    assert_eq!((code, err.as_str()), (0, ""), "zsh -n");
    let (code, out, err) = ql(&env, &["completions", "csh"]);
    assert_eq!((code, out.as_str()), (64, ""));
    assert_eq!(
        err,
        "quotaline: unknown shell `csh`\ndid you mean `zsh`? shells: zsh, bash, fish\n"
    );
}

#[test]
fn shipped_completion_files_are_what_the_binary_prints() {
    let env = TestEnv::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("integrations/completions");
    for (shell, file) in [
        ("bash", "quotaline.bash"),
        ("zsh", "_quotaline"),
        ("fish", "quotaline.fish"),
    ] {
        let (_, out, _) = ql(&env, &["completions", shell]);
        let shipped = std::fs::read_to_string(dir.join(file)).unwrap();
        assert!(
            shipped == out,
            "integrations/completions/{file} is out of date: \
             quotaline completions {shell} > integrations/completions/{file}"
        );
    }
}
