//! Settings read from the environment, in one place so every command agrees on them.

use crate::render::markup::Target;
use crate::render::Thresholds;
use std::io::IsTerminal;

/// Seconds a snapshot counts as fresh (`QUOTALINE_TTL`, default 60, at least 30: the
/// server's numbers move slowly and polling faster only invites rate limits).
pub fn ttl() -> i64 {
    std::env::var("QUOTALINE_TTL")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(60)
        .max(30)
}

fn non_empty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The org a segment shows: `--org`, else `QUOTALINE_ORG`, else the active one.
pub fn org(flag: Option<String>) -> Option<String> {
    flag.or_else(|| non_empty("QUOTALINE_ORG"))
}

/// `--format`, else `QUOTALINE_FORMAT`.
pub fn format(flag: Option<String>) -> Option<String> {
    flag.or_else(|| non_empty("QUOTALINE_FORMAT"))
}

/// `--target`, else `QUOTALINE_TARGET`, else ANSI colour on a terminal and plain text
/// elsewhere. An unknown name is an error that names the known ones.
pub fn target(flag: Option<String>) -> Result<Target, String> {
    match flag.or_else(|| non_empty("QUOTALINE_TARGET")) {
        Some(name) => Target::from_name(&name).ok_or_else(|| {
            let known: Vec<&str> = Target::ALL.iter().map(|t| t.name()).collect();
            format!("unknown target {name:?} (one of: {})", known.join(", "))
        }),
        None if std::io::stdout().is_terminal() => Ok(Target::Ansi),
        None => Ok(Target::Plain),
    }
}

/// Colour unless `NO_COLOR` is set to anything non-empty (no-color.org).
pub fn color() -> bool {
    non_empty("NO_COLOR").is_none()
}

/// `--warn` / `--crit`, else `QUOTALINE_WARN` / `QUOTALINE_CRIT`, else 75 / 90. The
/// variables matter for pre-rendered prompt lines, which a background refresh renders.
pub fn thresholds(warn: Option<f64>, crit: Option<f64>) -> Thresholds {
    let pick = |flag: Option<f64>, var: &str, default: f64| {
        flag.or_else(|| non_empty(var).and_then(|v| v.trim().parse().ok()))
            .filter(|v: &f64| v.is_finite())
            .unwrap_or(default)
    };
    let defaults = Thresholds::default();
    Thresholds {
        warn: pick(warn, "QUOTALINE_WARN", defaults.warn),
        crit: pick(crit, "QUOTALINE_CRIT", defaults.crit),
    }
}
