//! Issue 16: installed like a real tool. The man page lints clean in mandoc and covers
//! every command and variable; the crate metadata packages (`cargo publish --dry-run` runs
//! in scripts/test-package, with the Debian package). Issue 22: the man page agrees with the
//! binary, and the README gets a person to a working prompt in at most 250 lines, with the
//! reference in doc/.

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
    // Every variable of the Environment table (doc/configuration.md).
    let reference = repo_file("doc/configuration.md");
    let (_, table) = reference.split_once("\n## Environment\n").unwrap();
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

/// The man page as a reader sees it (mandoc, overstrikes dropped).
fn man_page(env: &TestEnv) -> String {
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("doc/quotaline.1");
    let (code, out, err) = run_in_home(env, "mandoc", &["-T", "utf8", page.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let mut text = String::new();
    let mut chars = out.chars().peekable();
    while let Some(c) = chars.next() {
        if chars.peek() == Some(&'\u{8}') {
            chars.next();
        } else {
            text.push(c);
        }
    }
    text
}

#[test]
fn man_page_agrees_with_the_binary() {
    let env = TestEnv::new();
    let page = man_page(&env);
    // -h and --version, as the binary answers them.
    for (option, args) in [("-h, --help", &["-h"][..]), ("-V, --version", &["-V"])] {
        assert!(
            page.contains(&format!("\n     {option}\n")),
            "{option}:\n{page}"
        );
        assert_eq!(ql(&env, args).0, 0, "{args:?}");
    }
    assert!(page.contains("quotaline [command] -h | --help"), "{page}");
    // The line's separator is the binary's `·`, not the dot operator.
    assert!(
        page.contains("\"5h {5h} · 7d {7d}( · opus {opus})\""),
        "{page}"
    );
    assert!(page.contains("“· stale 5m”"), "{page}");
    assert!(!page.contains('\u{22c5}'), "⋅ in the page");
    assert!(
        page.contains("\n     verify file | - [--org uuid]\n"),
        "{page}"
    );
    // Exit codes: 64 for a usage error, as every command exits on one.
    let (_, status) = page.split_once("\nEXIT STATUS\n").unwrap();
    assert!(
        status.contains("\n     64      A usage error (EX_USAGE), for every command"),
        "{status}"
    );
    assert!(!status.contains("also a usage error"), "{status}");
    for args in [
        &["statu"][..],
        &["init", "vim"],
        &["completions", "powershell"],
        &["--target", "tmuxx"],
    ] {
        assert_eq!(ql(&env, args).0, 64, "{args:?}");
    }
}

#[test]
fn the_readme_gets_a_person_started_and_links_the_reference() {
    let readme = repo_file("README.md");
    let lines = readme.lines().count();
    assert!(lines <= 250, "README.md has {lines} lines");
    // The first two commands: install and run, and the whole suite (saying what it installs
    // and that it wants root).
    let (_, block) = readme.split_once("```sh\n").unwrap();
    let commands: Vec<&str> = block.lines().take(2).collect();
    assert!(
        commands[0].starts_with("cargo install --locked --path . && quotaline status"),
        "{commands:?}"
    );
    assert!(
        commands[1].starts_with("bash scripts/test "),
        "{commands:?}"
    );
    assert!(readme.contains("it wants root"), "root");
    for tool in ["tmux", "zsh", "fish", "chromium", "Xvfb", "dunst"] {
        assert!(readme.contains(tool), "{tool} not said");
    }
    assert_eq!(
        repo_file(".ci/run").lines().last(),
        Some("exec bash scripts/test")
    );
    // A real picture, committed, made by a script in the repository.
    assert!(readme.contains("](doc/quotaline.png)"), "no picture");
    let png =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("doc/quotaline.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(repo_file("scripts/readme-picture").contains("import -window"));
    // How to get a session by hand.
    assert!(
        readme.contains("**Application** → **Cookies** → `https://claude.ai` →\n   `sessionKey`"),
        "DevTools steps"
    );
    // Install forms that work today only: no crates.io, no repository that does not exist.
    assert!(
        !readme.contains("cargo install --locked quotaline"),
        "crates.io"
    );
    assert!(!readme.contains("github.com/"), "a repository URL");
    assert!(
        !repo_file("Cargo.toml").contains("\nrepository"),
        "Cargo.toml repository"
    );
    // Every page in doc/ is linked from the README, and every link there exists.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("doc");
    let mut pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .collect();
    pages.sort();
    assert!(pages.len() >= 8, "{pages:?}");
    for page in &pages {
        assert!(
            readme.contains(&format!("](doc/{page})")),
            "doc/{page} not linked"
        );
    }
    for (_, rest) in readme
        .match_indices("](doc/")
        .map(|(i, _)| ((), &readme[i + 2..]))
    {
        let target = &rest[..rest.find(')').unwrap()];
        assert!(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(target).exists(),
            "{target}"
        );
    }
    // The performance text moved whole.
    assert!(repo_file("doc/performance.md").contains("benches/floor.c"));
}
