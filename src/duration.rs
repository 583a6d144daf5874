//! Durations as people write them in flags, the environment and the config file (`30m`,
//! `24h`, `7d`) and as quotaline prints them: here, below both the settings and the renderers
//! that use them.

/// `1h12m`, `3d4h`, `12m`, `45s`: short enough for a prompt, two units at most, and no unit
/// that is zero (`7d`, `1h`, not `7d0h`, `1h0m`).
pub fn short_duration(secs: i64) -> String {
    let secs = secs.max(0);
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    let unit = |n: i64, u: &str| {
        if n > 0 {
            format!("{n}{u}")
        } else {
            String::new()
        }
    };
    match (d, h, m) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h{}", unit(m, "m")),
        (d, h, _) => format!("{d}d{}", unit(h, "h")),
    }
}

/// The longest duration accepted: ten years.
pub const MAX_DURATION_SECS: i64 = 3650 * 86_400;

/// `30m`, `24h`, `7d`, `90s`, `1h30m`. A bare number is refused: `30` could mean either.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let bad = || format!("`{s}` is not a duration (e.g. 30m, 24h, 7d, 1h30m)");
    let s = s.trim();
    if s.is_empty() {
        return Err(bad());
    }
    let mut total: i64 = 0;
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(bad()),
        };
        let n: i64 = digits.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(bad());
    }
    // Ten years covers any history kept (14 days) many times over; beyond it, date
    // arithmetic would overflow.
    if total > MAX_DURATION_SECS {
        return Err(format!("`{s}` is too long (at most 3650d)"));
    }
    Ok(total)
}
