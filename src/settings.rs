//! Settings read from the environment, in one place so every command agrees on them.

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
