//! Small formatting rules shared by every output: percents, money, burn rates and pace (and
//! durations, printed and parsed, from `duration.rs`).

use crate::snapshot::{minor_units, Pace};
use chrono::{DateTime, Local, Utc};

/// Every time a person reads, in one format and the local zone (`TZ`), rendered when it is
/// shown (never stored as text): `Fri Dec 4 14:00`. `json`, the metrics and the history
/// keep UTC (ISO 8601, Unix seconds).
pub fn clock(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local)
        .format("%a %b %-d %H:%M")
        .to_string()
}

/// [`clock`] and how far from `now`: `Fri Dec 4 14:00 (in 1h12m)`, `… (7m ago)`.
pub fn when(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (t - now).num_seconds();
    if secs >= 0 {
        format!("{} (in {})", clock(t), short_duration(secs))
    } else {
        format!("{} ({} ago)", clock(t), short_duration(-secs))
    }
}

/// A percent as shown: whole numbers, rounded half away from zero (`24.68` -> `25%`).
pub fn percent(utilization: f64) -> String {
    format!("{}%", utilization.round() as i64)
}

/// `$12.34`, `$50`, `€3.10`, `12 CHF`, `1234 JPY`, `12.345 KWD`: as many decimals as the
/// currency's minor unit has, none for a whole amount.
pub fn money(amount: f64, currency: Option<&str>) -> String {
    let decimals = minor_units(currency) as usize;
    let whole = (amount - amount.round()).abs() < 0.5 / 10f64.powi(decimals as i32);
    let number = if whole {
        format!("{}", amount.round() as i64)
    } else {
        format!("{amount:.decimals$}")
    };
    match currency.unwrap_or("USD") {
        "USD" => format!("${number}"),
        "EUR" => format!("€{number}"),
        "GBP" => format!("£{number}"),
        other => format!("{number} {other}"),
    }
}

pub use crate::duration::{parse_duration, short_duration, MAX_DURATION_SECS};

/// A burn rate as shown: `12%/h`, `0.8%/h`.
pub fn rate_text(rate: f64) -> String {
    if rate < 9.95 {
        format!("{rate:.1}%/h")
    } else {
        format!("{}%/h", rate.round() as i64)
    }
}

/// Ahead of or behind pace: `+12%`, `-5%`, `±0%`.
pub fn delta_text(delta: f64) -> String {
    match delta.round() as i64 {
        0 => "±0%".to_string(),
        n if n > 0 => format!("+{n}%"),
        n => format!("{n}%"),
    }
}

/// One window's outlook as `status` shows it:
/// `burning 12%/h · 100% in 1h12m, before the reset · pace +5% (steady: 32%)`.
pub fn pace_text(pace: &Pace, now: DateTime<Utc>) -> String {
    let mut parts = Vec::new();
    match pace.rate_per_hour {
        None => parts.push("burn rate: not enough history yet".to_string()),
        Some(r) if r < Pace::MIN_RATE => parts.push("not burning".to_string()),
        Some(r) => parts.push(format!("burning {}", rate_text(r))),
    }
    if let Some(eta) = pace.eta {
        let secs = (eta - now).num_seconds();
        let when = if secs <= 0 {
            "at 100% now".to_string()
        } else {
            format!("100% in {}", short_duration(secs))
        };
        parts.push(match pace.hits_before_reset {
            Some(true) => format!("{when}, before the reset"),
            Some(false) => format!("{when}, after the reset"),
            None => when,
        });
    }
    if let (Some(delta), Some(expected)) = (pace.delta, pace.expected) {
        parts.push(format!(
            "pace {} (steady: {})",
            delta_text(delta),
            percent(expected)
        ));
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_percents_and_money() {
        assert_eq!(short_duration(4_320), "1h12m");
        assert_eq!(short_duration(3 * 86_400 + 4 * 3_600 + 59), "3d4h");
        assert_eq!(short_duration(720), "12m");
        assert_eq!(short_duration(45), "45s");
        assert_eq!(short_duration(-5), "0s");
        assert_eq!(short_duration(7 * 86_400), "7d");
        assert_eq!(short_duration(3_600 + 59), "1h");
        assert_eq!(short_duration(86_400 + 3_600), "1d1h");
        assert_eq!(percent(24.68), "25%");
        assert_eq!(percent(37.0), "37%");
        assert_eq!(percent(0.5), "1%");
        assert_eq!(money(12.34, Some("USD")), "$12.34");
        assert_eq!(money(50.0, Some("USD")), "$50");
        assert_eq!(money(3.1, Some("EUR")), "€3.10");
        assert_eq!(money(12.0, Some("CHF")), "12 CHF");
        assert_eq!(money(1234.0, Some("JPY")), "1234 JPY");
        assert_eq!(money(12.345, Some("KWD")), "12.345 KWD");
        assert_eq!(money(12.3, Some("KWD")), "12.300 KWD");
    }

    #[test]
    fn durations_and_texts() {
        assert_eq!(parse_duration("30m"), Ok(1_800));
        assert_eq!(parse_duration("1h30m"), Ok(5_400));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert_eq!(parse_duration("90s"), Ok(90));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("3x").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("300000000d")
            .unwrap_err()
            .contains("too long"));
        assert_eq!(parse_duration("3650d"), Ok(MAX_DURATION_SECS));
        assert_eq!(rate_text(12.4), "12%/h");
        assert_eq!(rate_text(0.84), "0.8%/h");
        assert_eq!(delta_text(12.4), "+12%");
        assert_eq!(delta_text(-4.6), "-5%");
        assert_eq!(delta_text(-0.4), "±0%");
    }
}
