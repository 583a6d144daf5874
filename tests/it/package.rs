//! Issue 16: installed like a real tool. The man page lints clean in mandoc and covers
//! every command and variable; the crate metadata packages (`cargo publish --dry-run` runs
//! in scripts/test-package, with the Debian package).

use crate::common::programs::*;
use crate::common::*;
use std::path::Path;

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

#[test]
fn man_page_lints_clean_in_mandoc() {
    let env = TestEnv::new();
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("doc/quotaline.1");
    let (code, out, err) = run_in_home(
        &env,
        "mandoc",
        &["-T", "lint", "-W", "warning", page.to_str().unwrap()],
    );
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
}

#[test]
fn man_page_covers_every_command_and_variable() {
    let env = TestEnv::new();
    let page = repo_file("doc/quotaline.1");
    let (_, help, _) = ql(&env, &["--help"]);
    let (_, commands) = help.split_once("\nCommands:\n").unwrap();
    // The list ends at the blank line before the notes.
    let commands = commands.split("\n\n").next().unwrap();
    let commands = commands
        .lines()
        .filter_map(|l| l.strip_prefix("  ").filter(|l| !l.starts_with(' ')))
        .filter_map(|l| l.split_whitespace().next());
    for c in commands {
        assert!(page.contains(&format!("\n.It Cm {c}")), "no .It Cm {c}");
    }
    // Every variable of README's Environment table.
    let readme = repo_file("README.md");
    let (_, table) = readme.split_once("\n### Environment\n").unwrap();
    let vars = table
        .lines()
        .take_while(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with("| `"))
        .flat_map(|l| l.split('|').nth(1).unwrap().split('`'))
        .filter(|w| w.chars().all(|c| c.is_ascii_uppercase() || c == '_') && w.len() > 1)
        .collect::<Vec<_>>();
    assert!(vars.len() >= 15, "{vars:?}");
    for v in vars {
        assert!(page.contains(v), "no {v}");
    }
}
