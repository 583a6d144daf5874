//! The command line before argh reads it. argh parses; this answers what argh does not: bare
//! `quotaline --format T` is the segment, `--flag=value` is `--flag value`, and every
//! command, flag, target, program, shell and browser is checked against the table the
//! completions are made from (`completions::COMMANDS`), so a typo is a usage error that
//! suggests the name meant, in quotaline's own words, exit 64.

use super::completions::{Arg, Command, COMMANDS, SHELLS};
use crate::suggest::did_you_mean;
use crate::target::Target;

/// A usage error: what is wrong, and how to put it right.
#[derive(Debug, PartialEq)]
pub struct Usage {
    pub what: String,
    pub fix: String,
}

/// What the command line asks before any command runs.
#[derive(Debug, PartialEq)]
pub enum Prepared {
    /// Arguments for argh.
    Parse(Vec<String>),
    /// `--version` / `-V`.
    Version,
}

const HELP: [&str; 2] = ["-h", "--help"];

/// Checks `args` (without the program name) and rewrites them for argh.
pub fn prepare(mut args: Vec<String>) -> Result<Prepared, Usage> {
    let Some(first) = args.first().map(String::as_str) else {
        return Ok(Prepared::Parse(args));
    };
    match first {
        "--version" | "-V" => return Ok(Prepared::Version),
        // `quotaline help status` is `quotaline status --help`.
        "help" if args.len() > 1 => {
            args.remove(0);
            args.truncate(1);
            args.push("--help".into());
        }
        "-h" | "--help" | "help" => return Ok(Prepared::Parse(vec!["--help".into()])),
        // Bare `quotaline` is the segment, and takes its flags.
        f if f.starts_with('-') => args.insert(0, "segment".into()),
        _ => {}
    }
    let name = args[0].clone();
    let Some(command) = COMMANDS.iter().find(|c| c.name == name) else {
        let names: Vec<&str> = COMMANDS.iter().map(|c| c.name).collect();
        return Err(Usage {
            what: format!("unknown command `{name}`"),
            fix: format!(
                "{}`quotaline --help` lists the commands",
                did_you_mean(&name, names.iter().copied())
            ),
        });
    };
    // The browser passes its own arguments to the host; they are not quotaline's.
    if command.name == "native-host" {
        return Ok(Prepared::Parse(args));
    }
    let rest = check(command, args.split_off(1))?;
    args.extend(rest);
    Ok(Prepared::Parse(args))
}

/// The arguments after the command's name, checked, with `--flag=value` split in two.
fn check(command: &Command, args: Vec<String>) -> Result<Vec<String>, Usage> {
    let help = format!("`quotaline {} --help` lists its flags", command.name);
    let mut out = Vec::with_capacity(args.len() + 1);
    let mut positionals = Vec::new();
    let mut browser = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--" {
            out.push(arg);
            for a in args.by_ref() {
                positionals.push(a.clone());
                out.push(a);
            }
            break;
        }
        if HELP.contains(&arg.as_str()) {
            // argh prints the command's help, whatever else is there.
            return Ok(vec![arg]);
        }
        if !arg.starts_with('-') || arg == "-" {
            positionals.push(arg.clone());
            out.push(arg);
            continue;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => {
                (name.to_string(), Some(value.to_string()))
            }
            _ => (arg.clone(), None),
        };
        let Some(flag) = command.flags.iter().find(|f| f.name == name) else {
            let known = command.flags.iter().map(|f| f.name).chain(HELP);
            return Err(Usage {
                what: format!("unknown flag `{name}` for `{}`", command.name),
                fix: format!("{}{help}", did_you_mean(&name, known)),
            });
        };
        out.push(name.clone());
        let Some(kind) = flag.value else {
            if inline.is_some() {
                return Err(Usage {
                    what: format!("`{name}` takes no value"),
                    fix: help,
                });
            }
            continue;
        };
        let Some(value) = inline.or_else(|| args.next()) else {
            return Err(Usage {
                what: format!("`{name}` needs a value"),
                fix: help,
            });
        };
        check_value(kind, &name, &value)?;
        browser |= name == "--browser";
        out.push(value);
    }
    match (command.positional, positionals.as_slice()) {
        (None, []) => {}
        (Some(kind), [one]) => check_value(kind, command.name, one)?,
        (Some(kind), []) => {
            return Err(Usage {
                what: format!("`{}` needs {}", command.name, what_is(kind)),
                fix: format!("e.g. `quotaline {} {}`", command.name, example(kind)),
            })
        }
        (_, [.., extra]) => {
            return Err(Usage {
                what: format!("unexpected argument `{extra}` for `{}`", command.name),
                fix: help,
            })
        }
    }
    if browser && positionals.first().map(String::as_str) != Some("native-host") {
        return Err(Usage {
            what: "`--browser` is only for `quotaline init native-host`".into(),
            fix: format!(
                "leave it out: `quotaline init {}` prints the same snippet for every browser",
                positionals.first().map_or("zsh", String::as_str)
            ),
        });
    }
    Ok(out)
}

fn what_is(kind: Arg) -> &'static str {
    match kind {
        Arg::Program => "a program",
        Arg::Shell => "a shell",
        Arg::File => "a file (or - for stdin)",
        _ => "an argument",
    }
}

fn example(kind: Arg) -> &'static str {
    match kind {
        Arg::Program | Arg::Shell => "zsh",
        Arg::File => "usage.json",
        _ => "…",
    }
}

/// The names a value of `kind` may take; `None` when any value goes (text, files, and
/// windows, which only the cache knows).
fn names(kind: Arg) -> Option<Vec<&'static str>> {
    match kind {
        Arg::Target => Some(Target::ALL.iter().map(|t| t.name()).collect()),
        Arg::Program => Some(super::init::programs()),
        Arg::Shell => Some(SHELLS.to_vec()),
        Arg::Browser => Some(super::init::browsers()),
        Arg::Text | Arg::Window | Arg::File => None,
    }
}

fn check_value(kind: Arg, name: &str, value: &str) -> Result<(), Usage> {
    if name == "--format" {
        return crate::template::check(value).map_err(|e| Usage {
            what: format!("--format: {}", e.message),
            fix: e.fix(),
        });
    }
    let Some(known) = names(kind) else {
        return Ok(());
    };
    if known.contains(&value) {
        return Ok(());
    }
    let noun = match kind {
        Arg::Target => "target",
        Arg::Program => "program",
        Arg::Shell => "shell",
        _ => "browser",
    };
    Err(Usage {
        what: format!("unknown {noun} `{value}`"),
        fix: format!(
            "{}{noun}s: {}",
            did_you_mean(value, known.iter().copied()),
            known.join(", ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepare(args: &[&str]) -> Result<Prepared, Usage> {
        super::prepare(args.iter().map(|s| s.to_string()).collect())
    }

    fn parsed(args: &[&str]) -> Vec<String> {
        match prepare(args) {
            Ok(Prepared::Parse(a)) => a,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn bare_flags_are_the_segment_and_values_may_follow_an_equals_sign() {
        assert_eq!(
            parsed(&["--format", "{5h}"]),
            ["segment", "--format", "{5h}"]
        );
        assert_eq!(parsed(&["refresh", "--force"]), ["refresh", "--force"]);
        assert_eq!(
            parsed(&["check", "--max=80", "--window", "5h"]),
            ["check", "--max", "80", "--window", "5h"]
        );
        assert_eq!(parsed(&["verify", "-"]), ["verify", "-"]);
        assert_eq!(parsed(&["status", "-h"]), ["status", "-h"]);
        assert_eq!(parsed(&["help", "status"]), ["status", "--help"]);
        assert_eq!(parsed(&["-h"]), ["--help"]);
        assert_eq!(prepare(&["-V"]), Ok(Prepared::Version));
    }

    #[test]
    fn typos_are_usage_errors_that_suggest_the_name_meant() {
        let e = prepare(&["statu"]).unwrap_err();
        assert_eq!(e.what, "unknown command `statu`");
        assert_eq!(
            e.fix,
            "did you mean `status`? `quotaline --help` lists the commands"
        );
        let e = prepare(&["refresh", "--forc"]).unwrap_err();
        assert_eq!(e.what, "unknown flag `--forc` for `refresh`");
        assert!(e.fix.starts_with("did you mean `--force`?"), "{e:?}");
        let e = prepare(&["segment", "--target", "tmuxx"]).unwrap_err();
        assert_eq!(e.what, "unknown target `tmuxx`");
        assert!(e
            .fix
            .starts_with("did you mean `tmux`? targets: plain, ansi"));
        let e = prepare(&["init", "zhs"]).unwrap_err();
        assert!(e.fix.starts_with("did you mean `zsh`?"), "{e:?}");
        let e = prepare(&["--format", "{5hh}"]).unwrap_err();
        assert_eq!(e.what, "--format: unknown placeholder {5hh} at character 1");
        assert!(e.fix.starts_with("did you mean {5h}?"), "{e:?}");
    }

    #[test]
    fn positionals_and_the_browser_flag() {
        let e = prepare(&["init"]).unwrap_err();
        assert_eq!(e.what, "`init` needs a program");
        let e = prepare(&["status", "now"]).unwrap_err();
        assert_eq!(e.what, "unexpected argument `now` for `status`");
        let e = prepare(&["init", "zsh", "--browser", "chrome"]).unwrap_err();
        assert_eq!(
            e.what,
            "`--browser` is only for `quotaline init native-host`"
        );
        assert_eq!(
            parsed(&["init", "native-host", "--browser", "chrome"]),
            ["init", "native-host", "--browser", "chrome"]
        );
    }
}
