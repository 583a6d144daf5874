//! How full is too full: the `warn` and `crit` percents, and the severity a number gets from
//! them. The settings resolve them, the renderers colour by them, the events fire on them.

/// Percent thresholds for colour (`--warn`, `--crit`).
#[derive(Clone, Copy, Debug)]
pub struct Thresholds {
    pub warn: f64,
    pub crit: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            warn: 75.0,
            crit: 90.0,
        }
    }
}

impl Thresholds {
    pub fn severity(&self, pct: f64) -> Severity {
        if pct >= self.crit {
            Severity::Critical
        } else if pct >= self.warn {
            Severity::Warn
        } else {
            Severity::Ok
        }
    }
}

/// How a piece of the line should be coloured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Ok,
    Warn,
    Critical,
    Stale,
    /// No numbers, only a failure (waybar's `error` class).
    Error,
}
