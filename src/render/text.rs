//! Small formatting rules shared by every output: durations, percents, money.

/// `1h12m`, `3d4h`, `12m`, `45s`: short enough for a prompt.
pub fn short_duration(secs: i64) -> String {
    let secs = secs.max(0);
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h{m}m"),
        (d, h, _) => format!("{d}d{h}h"),
    }
}

/// A percent as shown: whole numbers, rounded half away from zero (`24.68` -> `25%`).
pub fn percent(utilization: f64) -> String {
    format!("{}%", utilization.round() as i64)
}

/// `$12.34`, `$50`, `€3.10`, `12.00 CHF`.
pub fn money(amount: f64, currency: Option<&str>) -> String {
    let number = if amount.fract().abs() < 0.005 {
        format!("{}", amount.round() as i64)
    } else {
        format!("{amount:.2}")
    };
    match currency.unwrap_or("USD") {
        "USD" => format!("${number}"),
        "EUR" => format!("€{number}"),
        "GBP" => format!("£{number}"),
        other => format!("{number} {other}"),
    }
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
        assert_eq!(percent(24.68), "25%");
        assert_eq!(percent(37.0), "37%");
        assert_eq!(percent(0.5), "1%");
        assert_eq!(money(12.34, Some("USD")), "$12.34");
        assert_eq!(money(50.0, Some("USD")), "$50");
        assert_eq!(money(3.1, Some("EUR")), "€3.10");
        assert_eq!(money(12.0, Some("CHF")), "12 CHF");
    }
}
