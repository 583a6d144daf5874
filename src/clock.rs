//! The one clock: every "now" quotaline acts on (a refresh's times, ages, the schedule, the
//! prompt files' due time) comes from here, so a test can move it for every process at once.

use chrono::{DateTime, Utc};

/// The time now: the system clock, or in a debug build the time the test suite set
/// (`settings::test_now`).
pub fn now() -> DateTime<Utc> {
    crate::settings::test_now().unwrap_or_else(Utc::now)
}
