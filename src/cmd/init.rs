//! `quotaline init <program>`: prints the snippet that puts the segment in that program.
//! The snippets are the files in `integrations/`, printed verbatim, so copying a file and
//! running `init` give the same result. They call `quotaline` from PATH.
//! `native-host` is the one target that writes a file: the browser's host manifest.

mod host_manifest;

/// Program name -> snippet.
const SNIPPETS: &[(&str, &str)] = &[
    ("zsh", include_str!("../../integrations/quotaline.zsh")),
    ("bash", include_str!("../../integrations/quotaline.bash")),
    ("fish", include_str!("../../integrations/quotaline.fish")),
    ("tmux", include_str!("../../integrations/tmux.conf")),
    ("starship", include_str!("../../integrations/starship.toml")),
    ("waybar", include_str!("../../integrations/waybar.jsonc")),
    ("waybar-css", include_str!("../../integrations/waybar.css")),
    ("polybar", include_str!("../../integrations/polybar.ini")),
    ("i3blocks", include_str!("../../integrations/i3blocks.conf")),
    // One plugin protocol, three menu-bar programs.
    ("xbar", include_str!("../../integrations/quotaline.1m.sh")),
    (
        "swiftbar",
        include_str!("../../integrations/quotaline.1m.sh"),
    ),
    ("argos", include_str!("../../integrations/quotaline.1m.sh")),
    (
        "claude-code",
        include_str!("../../integrations/claude-code.json"),
    ),
    (
        "node-exporter",
        include_str!("../../integrations/node-exporter.txt"),
    ),
];

/// Every program `init` knows, for its error message and the shell completions.
pub fn programs() -> Vec<&'static str> {
    let mut names: Vec<&str> = SNIPPETS.iter().map(|(name, _)| *name).collect();
    names.push("native-host");
    names
}

/// The browsers `init native-host --browser` knows.
pub fn browsers() -> Vec<&'static str> {
    host_manifest::browsers()
}

pub fn run(program: &str, browser: Option<&str>) -> i32 {
    if program == "native-host" {
        return host_manifest::install(browser);
    }
    match SNIPPETS.iter().find(|(name, _)| *name == program) {
        Some((_, text)) => {
            super::out(text);
            0
        }
        // `args.rs` refuses unknown programs before this runs; a library caller gets the
        // same answer.
        None => super::usage(
            &format!("unknown program `{program}`"),
            Some(&format!("programs: {}", programs().join(", "))),
        ),
    }
}
