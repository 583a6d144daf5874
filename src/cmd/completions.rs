//! `quotaline completions zsh|bash|fish`: the shell completion script, generated from one
//! table (`COMMANDS`) so the three shells cannot drift apart; a test checks the table against
//! every subcommand's `--help`. Target names, `init` programs and browsers come from where
//! they are defined.

use crate::render::markup::Target;

/// What a flag's value or a positional argument completes to (and what `args.rs` checks
/// it against).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Arg {
    /// Anything: nothing to offer.
    Text,
    Target,
    /// The window names every command accepts (`5h`, `7d` and the model aliases).
    Window,
    /// `init`'s programs.
    Program,
    Browser,
    Shell,
    File,
}

pub(super) struct Flag {
    pub(super) name: &'static str,
    help: &'static str,
    /// `None` for a switch.
    pub(super) value: Option<Arg>,
}

pub(super) struct Command {
    pub(super) name: &'static str,
    help: &'static str,
    pub(super) flags: &'static [Flag],
    pub(super) positional: Option<Arg>,
}

const fn flag(name: &'static str, help: &'static str, value: Arg) -> Flag {
    Flag {
        name,
        help,
        value: Some(value),
    }
}

const fn switch(name: &'static str, help: &'static str) -> Flag {
    Flag {
        name,
        help,
        value: None,
    }
}

const fn command(
    name: &'static str,
    help: &'static str,
    flags: &'static [Flag],
    positional: Option<Arg>,
) -> Command {
    Command {
        name,
        help,
        flags,
        positional,
    }
}

const ORG: Flag = flag("--org", "org uuid", Arg::Text);
const WINDOW: Flag = flag("--window", "only this window", Arg::Window);

/// Every subcommand and its flags. A new subcommand is one entry here (the test fails
/// until it is). `args.rs` checks the command line against it too.
pub(super) const COMMANDS: &[Command] = &[
    command(
        "segment",
        "print the one-line segment",
        &[
            flag("--format", "template", Arg::Text),
            ORG,
            switch("--wait", "refresh before printing"),
            flag("--target", "the program that shows the line", Arg::Target),
            flag("--warn", "warn colour from this percent", Arg::Text),
            flag("--crit", "critical colour from this percent", Arg::Text),
        ],
        None,
    ),
    command(
        "refresh",
        "fetch from the server now",
        &[
            switch("--force", "fetch even when the cache is fresh"),
            switch("--render-only", "only re-render the prompt files"),
        ],
        None,
    ),
    command("json", "print the snapshot as JSON", &[ORG], None),
    command("metrics", "the snapshot as OpenMetrics text", &[], None),
    command("status", "human-readable report", &[], None),
    command("accounts", "every Claude account found", &[], None),
    command(
        "check",
        "exit 1 when a window is over the limit",
        &[
            flag("--max", "limit in percent", Arg::Text),
            flag(
                "--eta",
                "also when due to hit 100% within this long",
                Arg::Text,
            ),
            flag(
                "--max-spend",
                "also when extra usage spent reaches this",
                Arg::Text,
            ),
            switch("--fail-open", "exit 0 when there is no data"),
            flag("--max-age", "older numbers are no data", Arg::Text),
            flag("--provider", "claude, codex or all", Arg::Text),
            flag("--account", "an account name, or all", Arg::Text),
            WINDOW,
            ORG,
        ],
        None,
    ),
    command(
        "events",
        "the events fired, from the history",
        &[
            flag("--since", "how far back, e.g. 7d", Arg::Text),
            switch("--json", "one JSON object per event"),
        ],
        None,
    ),
    command(
        "init",
        "print the snippet for a program",
        &[flag("--browser", "for native-host", Arg::Browser)],
        Some(Arg::Program),
    ),
    command("doctor", "where credentials come from", &[], None),
    command("native-host", "the browser extension host", &[], None),
    command(
        "statusline",
        "Claude Code statusLine command",
        &[flag("--format", "template", Arg::Text)],
        None,
    ),
    command(
        "history",
        "the recorded readings",
        &[
            WINDOW,
            flag("--since", "how far back, e.g. 24h", Arg::Text),
            switch("--json", "one JSON object per reading"),
            ORG,
            flag("--account", "an account name, or all", Arg::Text),
        ],
        None,
    ),
    command(
        "config",
        "the settings in force and their origin",
        &[switch("--default", "print a commented config.toml")],
        None,
    ),
    command(
        "verify",
        "compare a saved /usage body with the cache",
        &[ORG],
        Some(Arg::File),
    ),
    command(
        "completions",
        "print the shell completion script",
        &[],
        Some(Arg::Shell),
    ),
];

/// The words an argument completes to; empty for free text and files.
fn words(arg: Arg, programs: &[&'static str], browsers: &[&'static str]) -> Vec<&'static str> {
    match arg {
        Arg::Text | Arg::File => Vec::new(),
        Arg::Target => Target::ALL.iter().map(|t| t.name()).collect(),
        Arg::Window => vec!["5h", "7d", "opus", "sonnet"],
        Arg::Program => programs.to_vec(),
        Arg::Browser => browsers.to_vec(),
        Arg::Shell => SHELLS.to_vec(),
    }
}

pub const SHELLS: [&str; 3] = ["zsh", "bash", "fish"];

/// The script for `shell`, or `None` for a shell it does not know.
pub fn script(shell: &str, programs: &[&'static str], browsers: &[&'static str]) -> Option<String> {
    let words = |arg| words(arg, programs, browsers).join(" ");
    Some(match shell {
        "bash" => bash(&words),
        "zsh" => zsh(&words),
        "fish" => fish(&words),
        _ => return None,
    })
}

pub fn run(shell: &str, programs: &[&'static str], browsers: &[&'static str]) -> i32 {
    match script(shell, programs, browsers) {
        Some(text) => {
            super::out(&text);
            0
        }
        None => super::usage(
            &format!("unknown shell `{shell}`"),
            Some(&format!("shells: {}", SHELLS.join(", "))),
        ),
    }
}

/// bash: file names for the word being completed.
const FILES: &str = "mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")";

fn bash(words: &dyn Fn(Arg) -> String) -> String {
    let names: Vec<&str> = COMMANDS.iter().map(|c| c.name).collect();
    let mut s = String::from(
        "# quotaline completions for bash: source this file, or install it as\n\
         # /usr/share/bash-completion/completions/quotaline\n\
         _quotaline() {\n\
         \x20 local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} words=''\n\
         \x20 COMPREPLY=()\n",
    );
    s += &format!(
        "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n    words='{} --help'\n  else\n    case \"$prev\" in\n",
        names.join(" ")
    );
    // A flag's value: its words, files, or nothing for free text; then stop.
    let mut seen = Vec::new();
    let mut free = Vec::new();
    for f in COMMANDS.iter().flat_map(|c| c.flags) {
        let Some(arg) = f.value.filter(|_| !seen.contains(&f.name)) else {
            continue;
        };
        seen.push(f.name);
        match arg {
            Arg::Text => free.push(f.name),
            Arg::File => s += &format!("      {}) {FILES}; return ;;\n", f.name),
            _ => {
                s += &format!(
                    "      {}) mapfile -t COMPREPLY < <(compgen -W '{}' -- \"$cur\"); return ;;\n",
                    f.name,
                    words(arg)
                )
            }
        }
    }
    s += &format!("      {}) return ;;\n", free.join("|"));
    s += "    esac\n    case \"${COMP_WORDS[1]}\" in\n";
    for c in COMMANDS {
        let mut list: Vec<String> = c.flags.iter().map(|f| f.name.to_string()).collect();
        let files = match c.positional {
            Some(Arg::File) => format!(" {FILES};"),
            Some(arg) => {
                list.push(words(arg));
                String::new()
            }
            None => String::new(),
        };
        list.push("--help".into());
        s += &format!("      {}){files} words='{}' ;;\n", c.name, list.join(" "));
    }
    s += "    esac\n  fi\n  mapfile -t -O \"${#COMPREPLY[@]}\" COMPREPLY < <(compgen -W \"$words\" -- \"$cur\")\n}\ncomplete -F _quotaline quotaline\n";
    s
}

fn zsh(words: &dyn Fn(Arg) -> String) -> String {
    let mut s = String::from(
        "#compdef quotaline\n\
         # quotaline completions for zsh: put this file as _quotaline in a directory of $fpath\n\
         # (before compinit), or source it after compinit.\n\
         _quotaline() {\n\
         \x20 local -a commands\n\
         \x20 commands=(\n",
    );
    for c in COMMANDS {
        s += &format!("    '{}:{}'\n", c.name, c.help);
    }
    s += "  )\n  if (( CURRENT == 2 )); then\n    _describe -t commands 'quotaline command' commands\n    return\n  fi\n  local cmd=$words[2]\n  shift words\n  (( CURRENT-- ))\n  case $cmd in\n";
    for c in COMMANDS {
        s += &format!("    {})\n      _arguments", c.name);
        for f in c.flags {
            let value = match f.value {
                None => String::new(),
                Some(Arg::File) => ":file:_files".into(),
                Some(Arg::Text) => format!(":{}: ", f.help),
                Some(arg) => format!(":{}:({})", f.help, words(arg)),
            };
            s += &format!(" \\\n        '{}[{}]{value}'", f.name, f.help);
        }
        match c.positional {
            Some(Arg::File) => s += " \\\n        '1:file:_files'",
            Some(arg) => s += &format!(" \\\n        '1:argument:({})'", words(arg)),
            None => {}
        }
        s += " ;;\n";
    }
    s += "  esac\n}\n\
          # Loaded by compinit from $fpath, the file is the function's body; sourced, it\n\
          # registers the function.\n\
          if [ \"$funcstack[1]\" = _quotaline ]; then\n  _quotaline \"$@\"\nelse\n  compdef _quotaline quotaline\nfi\n";
    s
}

fn fish(words: &dyn Fn(Arg) -> String) -> String {
    let mut s = String::from(
        "# quotaline completions for fish: save as ~/.config/fish/completions/quotaline.fish\n\
         complete -c quotaline -f\n",
    );
    for c in COMMANDS {
        s += &format!(
            "complete -c quotaline -n '__fish_use_subcommand' -a {} -d '{}'\n",
            c.name, c.help
        );
    }
    for c in COMMANDS {
        let when = format!("-n '__fish_seen_subcommand_from {}'", c.name);
        for f in c.flags {
            let value = match f.value {
                None => String::new(),
                Some(Arg::File) => " -r -F".into(),
                Some(Arg::Text) => " -x".into(),
                Some(arg) => format!(" -x -a '{}'", words(arg)),
            };
            s += &format!(
                "complete -c quotaline {when} -l {}{value} -d '{}'\n",
                f.name.trim_start_matches("--"),
                f.help
            );
        }
        match c.positional {
            Some(Arg::File) => s += &format!("complete -c quotaline {when} -F\n"),
            Some(arg) => s += &format!("complete -c quotaline {when} -a '{}'\n", words(arg)),
            None => {}
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Help texts are written inside single quotes (all three shells) and zsh's `[...]` and
    /// `name:help` syntax: none of those characters may appear.
    #[test]
    fn help_texts_need_no_quoting_in_any_shell() {
        let helps = COMMANDS
            .iter()
            .map(|c| c.help)
            .chain(COMMANDS.iter().flat_map(|c| c.flags).map(|f| f.help));
        for h in helps {
            assert!(!h.contains(['\'', '[', ']', ':', '\\', '"']), "{h:?}");
        }
    }
}
