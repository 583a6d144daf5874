//! `quotaline init <target>`: prints the snippet a user pastes (or evals) to wire quotaline
//! into a program. The snippets are plain files under `integrations/`.

/// Target name -> snippet.
const SNIPPETS: &[(&str, &str)] = &[(
    "claude-code",
    include_str!("../../integrations/claude-code.json"),
)];

pub fn run(target: &str) -> i32 {
    match SNIPPETS.iter().find(|(name, _)| *name == target) {
        Some((_, snippet)) => {
            print!("{snippet}");
            0
        }
        None => {
            let known: Vec<&str> = SNIPPETS.iter().map(|(n, _)| *n).collect();
            eprintln!(
                "quotaline: no snippet for `{target}` (known: {})",
                known.join(", ")
            );
            2
        }
    }
}
