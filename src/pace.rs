//! Where a window is heading: the burn rate (the change of the server's own utilization over
//! time; never tokens), the ETA to 100%, and the pace. Pure arithmetic on readings (the
//! history hands them over; nothing here opens it), no clock (the caller says what "now" is),
//! so every rule is a unit test.

use crate::history::Reading;
use crate::snapshot::{Pace, Snapshot, Window};
use crate::window::{self, same_period, RESET_DROP};
use chrono::{DateTime, Duration, Utc};

/// One reading of one window, as the analysis sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub at: DateTime<Utc>,
    pub utilization: f64,
    pub resets_at: Option<DateTime<Utc>>,
}

/// Rate, ETA and pace of window `key` (currently `current`) from its history `points` (any
/// order, the current reading included or not).
///
/// The rate is the rise of the running maximum over the span, first to last reading: within
/// a period the server's number only grows, so a dip is lag and the maximum is the truth;
/// the average rise does not depend on how often readings were taken (a burst of refreshes
/// weighs nothing extra). Readings from another period (another `resets_at`, or before a
/// fall of more than `RESET_DROP` points) and readings stamped after `now` (a clock that
/// was ahead) are left out. At least a quarter of the span must be covered.
pub fn analyze(key: &str, current: &Window, points: &[Point], now: DateTime<Utc>) -> Pace {
    let span = window::rate_span(key);
    let mut pace = Pace::default();
    if let (Some(length), Some(reset)) = (window::length(key), current.resets_at) {
        // Checked: a reset time at the edge of what chrono holds must not panic the ingest.
        let Some(start) = reset.checked_sub_signed(length) else {
            return pace;
        };
        let elapsed = (now - start).num_seconds() as f64;
        let expected = (elapsed / length.num_seconds() as f64).clamp(0.0, 1.0) * 100.0;
        pace.expected = Some(expected);
        pace.delta = Some(current.utilization - expected);
    }

    let mut period: Vec<Point> = points
        .iter()
        .filter(|p| p.at <= now && same_period(p.resets_at, current.resets_at))
        .copied()
        .collect();
    period.sort_by_key(|p| p.at);
    // Running maximum; a large fall starts the period over.
    let mut envelope: Vec<(DateTime<Utc>, f64)> = Vec::new();
    for p in period {
        match envelope.last() {
            Some(&(_, max)) if p.utilization < max - RESET_DROP => {
                envelope.clear();
                envelope.push((p.at, p.utilization));
            }
            Some(&(_, max)) => envelope.push((p.at, p.utilization.max(max))),
            None => envelope.push((p.at, p.utilization)),
        }
    }
    let Some(&(last_at, level)) = envelope.last() else {
        return pace;
    };
    if level >= 100.0 {
        pace.eta = Some(last_at);
    }
    let first = envelope.iter().find(|(at, _)| *at >= last_at - span);
    if let Some(&(first_at, first_level)) = first {
        let covered = last_at - first_at;
        if covered >= span / 4 && covered > Duration::zero() {
            let rate = (level - first_level) / (covered.num_seconds() as f64 / 3_600.0);
            pace.rate_per_hour = Some(rate);
            if level < 100.0 && rate >= Pace::MIN_RATE {
                let hours = (100.0 - level) / rate;
                // Checked: no number from a server may panic the arithmetic.
                pace.eta = Duration::try_seconds((hours * 3_600.0).round() as i64)
                    .and_then(|d| last_at.checked_add_signed(d));
            }
        }
    }
    pace.hits_before_reset = match (pace.eta, current.resets_at) {
        (Some(eta), Some(reset)) => Some(eta <= reset),
        _ => None,
    };
    pace
}

/// Sets every org entry's `pace` from `past` (the recent history of its windows, this
/// snapshot's readings included: `history::record`): only its own account's readings, so one
/// login of a Team org never moves the pace of another.
pub fn annotate(snapshot: &mut Snapshot, past: &[Reading], now: DateTime<Utc>) {
    for org in &mut snapshot.orgs {
        org.pace = org
            .windows
            .iter()
            .map(|(key, w)| {
                let points: Vec<Point> = past
                    .iter()
                    .filter(|r| {
                        r.account == org.account_uuid
                            && r.org_uuid == org.org_uuid
                            && &r.window == key
                    })
                    .map(Point::from)
                    .collect();
                (key.clone(), analyze(key, w, &points, now))
            })
            .collect();
    }
}

impl From<&Reading> for Point {
    fn from(r: &Reading) -> Point {
        Point {
            at: r.at,
            utilization: r.utilization,
            resets_at: r.resets_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// 2026-11-22 12:00 UTC plus `mins` minutes.
    fn t(mins: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap() + Duration::minutes(mins)
    }

    fn window(utilization: f64, reset_min: i64) -> Window {
        Window {
            utilization,
            resets_at: Some(t(reset_min)),
            display_name: None,
        }
    }

    fn pts(reset_min: i64, series: &[(i64, f64)]) -> Vec<Point> {
        series
            .iter()
            .map(|&(m, u)| Point {
                at: t(m),
                utilization: u,
                resets_at: Some(t(reset_min)),
            })
            .collect()
    }

    fn approx(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-6)
    }

    #[test]
    fn steady_burn_gives_rate_eta_and_pace() {
        // 10 points per hour since 60 minutes ago: 30% -> 40%, reset in 2h.
        let series: Vec<(i64, f64)> = (0..=6)
            .map(|i| (i * 10, 30.0 + i as f64 * 10.0 / 6.0))
            .collect();
        let now = t(60);
        let pace = analyze("five_hour", &window(40.0, 180), &pts(180, &series), now);
        assert!(approx(pace.rate_per_hour, 10.0), "{pace:?}");
        assert_eq!(pace.eta, Some(t(60 + 360)));
        assert_eq!(pace.hits_before_reset, Some(false));
        // The window began at t(-120): 3 of 5 hours elapsed -> a steady user is at 60%.
        assert!(approx(pace.expected, 60.0));
        assert!(approx(pace.delta, -20.0));
    }

    #[test]
    fn fast_burn_hits_before_the_reset() {
        let pace = analyze(
            "five_hour",
            &window(80.0, 240),
            &pts(240, &[(0, 50.0), (30, 65.0), (60, 80.0)]),
            t(60),
        );
        assert!(approx(pace.rate_per_hour, 30.0));
        assert_eq!(pace.eta, Some(t(100)));
        assert_eq!(pace.hits_before_reset, Some(true));
    }

    #[test]
    fn a_burst_of_readings_weighs_nothing_extra() {
        // Steady 12%/h sampled every 10 minutes, then 30 readings within the last minute
        // all at the same level: the rate is the hour's rise, not the burst's flat line.
        let mut series: Vec<(i64, f64)> =
            (0..=5).map(|i| (i * 10, 20.0 + 2.0 * i as f64)).collect();
        series.extend((0..30).map(|_| (60, 32.0)));
        let pace = analyze("five_hour", &window(32.0, 200), &pts(200, &series), t(60));
        assert!(approx(pace.rate_per_hour, 12.0), "{pace:?}");
    }

    #[test]
    fn a_sudden_burst_raises_the_rate_over_the_span() {
        // Flat for 50 minutes, then +20 points in 10: the hour's rate is 20%/h.
        let pace = analyze(
            "five_hour",
            &window(60.0, 200),
            &pts(
                200,
                &[(0, 40.0), (25, 40.0), (50, 40.0), (55, 50.0), (60, 60.0)],
            ),
            t(60),
        );
        assert!(approx(pace.rate_per_hour, 20.0), "{pace:?}");
        assert_eq!(pace.eta, Some(t(60 + 120)));
    }

    #[test]
    fn a_reset_mid_history_starts_a_new_period() {
        // The old period climbed fast to 95%; the new one (resets 5h later) rises 6%/h.
        let mut points = pts(0, &[(-60, 60.0), (-30, 80.0), (-1, 95.0)]);
        points.extend(pts(300, &[(0, 0.0), (10, 1.0), (20, 2.0)]));
        let pace = analyze("five_hour", &window(2.0, 300), &points, t(20));
        assert!(approx(pace.rate_per_hour, 6.0), "{pace:?}");
        assert_eq!(pace.hits_before_reset, Some(false));
    }

    #[test]
    fn a_large_fall_without_a_new_reset_time_is_a_reset() {
        let pace = analyze(
            "five_hour",
            &window(3.0, 200),
            &pts(
                200,
                &[(0, 70.0), (30, 80.0), (35, 0.0), (50, 1.0), (60, 3.0)],
            ),
            t(60),
        );
        // 3 points in the 25 minutes since the fall.
        assert!(approx(pace.rate_per_hour, 7.2), "{pace:?}");
    }

    #[test]
    fn clock_skew_out_of_order_and_future_readings_are_handled() {
        // Stored out of order; one reading stamped two hours ahead with a wild value.
        let mut points = pts(200, &[(60, 40.0), (0, 30.0), (30, 35.0)]);
        points.extend(pts(200, &[(180, 99.0)]));
        let pace = analyze("five_hour", &window(40.0, 200), &points, t(60));
        assert!(approx(pace.rate_per_hour, 10.0), "{pace:?}");
        assert_eq!(pace.eta, Some(t(60 + 360)));
    }

    #[test]
    fn reset_time_jitter_stays_one_period() {
        let mut points = pts(200, &[(0, 30.0)]);
        points[0].resets_at = Some(t(200) + Duration::milliseconds(512));
        points.extend(pts(200, &[(60, 40.0)]));
        let pace = analyze("five_hour", &window(40.0, 200), &points, t(60));
        assert!(approx(pace.rate_per_hour, 10.0));
    }

    #[test]
    fn annotate_keeps_two_logins_of_one_org_apart() {
        // One Team org, two logins: ana climbs 10%/h, bo 30%/h. Each entry's pace is its own
        // account's; mixed, ana's level would be bo's 50% and her rate 20%/h.
        let entry = |account: &str, u: f64| crate::snapshot::Org {
            account_uuid: Some(account.into()),
            ..crate::snapshot::five_hour_org("team", u, Some(t(200)), t(60))
        };
        let mut snapshot = Snapshot {
            source: "claude.ai".into(),
            fetched_at: t(60),
            active_org: Some("team".into()),
            orgs: vec![entry("ana", 40.0), entry("bo", 50.0)],
        };
        let reading = |account: &str, m: i64, u: f64| Reading {
            account: Some(account.into()),
            org_uuid: "team".into(),
            window: "five_hour".into(),
            at: t(m),
            utilization: u,
            resets_at: Some(t(200)),
            source: "claude.ai".into(),
        };
        let past = [
            reading("ana", 0, 30.0),
            reading("bo", 0, 20.0),
            reading("ana", 30, 35.0),
            reading("bo", 30, 35.0),
            reading("ana", 60, 40.0),
            reading("bo", 60, 50.0),
        ];
        annotate(&mut snapshot, &past, t(60));
        let rate = |i: usize| snapshot.orgs[i].pace["five_hour"].rate_per_hour;
        assert!(approx(rate(0), 10.0), "{:?}", rate(0));
        assert!(approx(rate(1), 30.0), "{:?}", rate(1));
        assert_eq!(snapshot.orgs[0].pace["five_hour"].eta, Some(t(60 + 360)));
        assert_eq!(snapshot.orgs[1].pace["five_hour"].eta, Some(t(60 + 100)));
    }

    #[test]
    fn decreasing_values_within_a_period_are_lag_not_negative_rate() {
        let pace = analyze(
            "five_hour",
            &window(41.0, 200),
            &pts(200, &[(0, 40.0), (20, 44.0), (40, 42.0), (60, 41.0)]),
            t(60),
        );
        assert!(approx(pace.rate_per_hour, 4.0), "{pace:?}");
        // From the highest level the server said (44%), at 4%/h.
        assert_eq!(pace.eta, Some(t(60 + 14 * 60)));
    }

    #[test]
    fn zero_rate_has_no_eta() {
        let pace = analyze(
            "five_hour",
            &window(40.0, 200),
            &pts(200, &[(0, 40.0), (30, 40.0), (60, 40.0)]),
            t(60),
        );
        assert_eq!(pace.rate_per_hour, Some(0.0));
        assert_eq!(pace.eta, None);
        assert_eq!(pace.hits_before_reset, None);
    }

    #[test]
    fn too_little_history_has_no_rate_but_still_a_pace() {
        // One reading; then two readings 5 minutes apart (a quarter of the hour is needed).
        for series in [&[(60, 40.0)][..], &[(55, 38.0), (60, 40.0)][..]] {
            let pace = analyze("five_hour", &window(40.0, 200), &pts(200, series), t(60));
            assert_eq!((pace.rate_per_hour, pace.eta), (None, None), "{series:?}");
            assert!(pace.expected.is_some());
        }
        let empty = analyze("five_hour", &window(40.0, 200), &[], t(60));
        assert_eq!(empty.rate_per_hour, None);
    }

    #[test]
    fn a_gap_longer_than_the_span_is_not_enough_history() {
        // Laptop asleep for three hours: the old reading is outside the hour.
        let pace = analyze(
            "five_hour",
            &window(40.0, 400),
            &pts(400, &[(0, 20.0), (180, 40.0)]),
            t(180),
        );
        assert_eq!(pace.rate_per_hour, None);
        // Within the span, a gap is simply averaged over.
        let pace = analyze(
            "five_hour",
            &window(40.0, 400),
            &pts(400, &[(120, 30.0), (180, 40.0)]),
            t(180),
        );
        assert!(approx(pace.rate_per_hour, 10.0));
    }

    #[test]
    fn weekly_windows_use_a_day_and_seven_day_pace() {
        // Day 3 of 7 -> 3/7 of the week elapsed.
        let reset = 4 * 24 * 60;
        let pace = analyze(
            "seven_day_opus",
            &window(50.0, reset),
            &pts(reset, &[(-24 * 60, 26.0), (-12 * 60, 38.0), (0, 50.0)]),
            t(0),
        );
        assert!(approx(pace.rate_per_hour, 1.0));
        assert!(approx(pace.expected, 300.0 / 7.0));
        assert_eq!(pace.eta, Some(t(50 * 60)));
        assert_eq!(pace.hits_before_reset, Some(true));
    }

    #[test]
    fn already_at_the_limit_is_now() {
        let pace = analyze(
            "five_hour",
            &window(100.0, 200),
            &pts(200, &[(0, 90.0), (60, 100.0)]),
            t(60),
        );
        assert_eq!(pace.eta, Some(t(60)));
        assert_eq!(pace.hits_before_reset, Some(true));
    }

    #[test]
    fn unknown_windows_and_missing_reset_times_have_no_pace() {
        let w = Window {
            utilization: 12.0,
            resets_at: None,
            display_name: None,
        };
        let points: Vec<Point> = [(0, 10.0), (60, 12.0)]
            .iter()
            .map(|&(m, u)| Point {
                at: t(m),
                utilization: u,
                resets_at: None,
            })
            .collect();
        let pace = analyze("seven_day_oauth_apps", &w, &points, t(60));
        assert_eq!(
            (pace.expected, pace.delta, pace.hits_before_reset),
            (None, None, None)
        );
        let pace = analyze("iguana", &w, &points, t(60));
        assert!(approx(pace.rate_per_hour, 2.0));
        assert_eq!(pace.expected, None);
    }
}
