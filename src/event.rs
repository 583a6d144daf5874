//! The events' vocabulary: what kinds there are, the record of one (as the hook gets it, the
//! history keeps it and `quotaline events` shows it), the mark that tells a repeat, and the
//! books the cache keeps. Which events an arrival fires is decided in `events.rs`.

use crate::claude_status::Incident;
use crate::error::ErrorRecord;
use crate::snapshot::{ExtraUsage, Org};
use crate::window::same_period;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A window crossed its `warn` or `crit` percent (`level`).
    Threshold,
    /// At the current burn rate a window reaches 100% within `eta_warning`, before its reset.
    Eta,
    /// A window reached 100%.
    Limit,
    /// A window that had crossed `warn` reset: the user can go again.
    Reset,
    /// Extra usage ran out of credits, or its spending was paused (`level` says which).
    Extra,
    /// No fresh numbers for `stale_warning` because refreshes fail (`level`: the error kind).
    Failing,
    /// Claude's status page opened an incident, or resolved one (`level`: `started` or
    /// `resolved`).
    Incident,
}

impl Kind {
    /// As in the JSON and the history.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Threshold => "threshold",
            Kind::Eta => "eta",
            Kind::Limit => "limit",
            Kind::Reset => "reset",
            Kind::Extra => "extra",
            Kind::Failing => "failing",
            Kind::Incident => "incident",
        }
    }
}

/// The names `[notify] events` switches on: the kinds, with a threshold's two levels apart.
pub const NAMES: &[&str] = &[
    "warn", "crit", "eta", "limit", "reset", "extra", "failing", "incident",
];
/// On unless the file says otherwise. `warn` is off: the prompt's colour already says it,
/// and `crit` and `eta` warn before the wall. `incident` is off: Claude's status page opens
/// incidents about products a user may never touch, and `{status}` shows the outages.
pub const DEFAULT_ON: &[&str] = &["crit", "eta", "limit", "reset", "extra", "failing"];

/// How loud: the desktop notification's urgency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Low,
    Normal,
    Critical,
}

impl Urgency {
    pub fn name(self) -> &'static str {
        match self {
            Urgency::Low => "low",
            Urgency::Normal => "normal",
            Urgency::Critical => "critical",
        }
    }
}

/// One event, as the hook gets it on stdin and the history keeps it. Optional parts are
/// missing, never invented.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub kind: Kind,
    /// `warn` or `crit` for a threshold; `out_of_credits` or `paused` for extra; the error
    /// kind for failing.
    pub level: Option<String>,
    /// The org's uuid.
    pub org: String,
    /// The Claude account whose numbers these are (`Org::account_uuid`), when known: two
    /// logins in one Team org are two subjects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub org_name: Option<String>,
    /// The window key (`five_hour`, `seven_day_opus`...), for the window events.
    pub window: Option<String>,
    /// The model's own name for a per-model window (its key is only a slug), for the label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_name: Option<String>,
    pub utilization: Option<f64>,
    /// The percent crossed (threshold).
    pub threshold: Option<f64>,
    pub resets_at: Option<DateTime<Utc>>,
    /// When the window reaches 100% at the current burn rate.
    pub eta: Option<DateTime<Utc>>,
    pub rate_per_hour: Option<f64>,
    /// The posture that made an `extra` event.
    pub extra_usage: Option<ExtraUsage>,
    /// The failure behind a `failing` event.
    pub error: Option<ErrorRecord>,
    /// The status page's incident behind an `incident` event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<Incident>,
    /// The period it fires once in: the window's reset time (for `reset`, the reset time of
    /// the period that ended), the pause's end or the month (extra), the time of the last
    /// good reading (failing).
    pub period: Option<DateTime<Utc>>,
    /// When it fired.
    pub at: DateTime<Utc>,
    pub urgency: Urgency,
    /// One short line (a notification's summary).
    pub title: String,
    /// The details (a notification's body).
    pub body: String,
    /// Title and body in one line.
    pub message: String,
}

impl Event {
    /// The name `[notify] events` uses for it.
    pub fn name(&self) -> &str {
        match self.kind {
            Kind::Threshold => self.level.as_deref().unwrap_or("crit"),
            kind => kind.name(),
        }
    }

    /// An event of `kind` about `org` at `at`; the rest is filled in by who knows it.
    pub fn about(kind: Kind, urgency: Urgency, org: &Org, at: DateTime<Utc>) -> Event {
        Event {
            account: org.account_uuid.clone(),
            ..Event::new(
                kind,
                urgency,
                org.org_uuid.clone(),
                org.org_name.clone(),
                at,
            )
        }
    }

    /// An event of `kind` about the org `org` (empty for Claude itself, an incident).
    pub fn new(
        kind: Kind,
        urgency: Urgency,
        org: String,
        org_name: Option<String>,
        at: DateTime<Utc>,
    ) -> Event {
        Event {
            kind,
            level: None,
            org,
            account: None,
            org_name,
            window: None,
            window_name: None,
            utilization: None,
            threshold: None,
            resets_at: None,
            eta: None,
            rate_per_hour: None,
            extra_usage: None,
            error: None,
            incident: None,
            period: None,
            at,
            urgency,
            title: String::new(),
            body: String::new(),
            message: String::new(),
        }
    }

    pub fn mark(&self) -> Mark {
        Mark {
            kind: self.kind,
            level: self.level.clone(),
            org: self.org.clone(),
            account: self.account.clone(),
            window: self.window.clone(),
            period: self.period,
            at: self.at,
            incident: self.incident.as_ref().map(|i| i.id.clone()),
        }
    }

    /// Whether `fired` (an event that fired earlier) makes this one a repeat: the same
    /// subject in the same period, and for a window's levels, the same level or a higher one.
    pub fn repeats(&self, fired: &Event) -> bool {
        self.mark().repeats(&fired.mark())
    }
}

/// What fired, in brief: enough to tell a repeat.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    pub kind: Kind,
    pub level: Option<String>,
    pub org: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub window: Option<String>,
    pub period: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
    /// The status page's incident id, for `incident` events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
}

impl Mark {
    /// warn < crit < limit: a window's levels, each higher one covering the lower ones.
    fn rank(&self) -> Option<u8> {
        match (self.kind, self.level.as_deref()) {
            (Kind::Threshold, Some("warn")) => Some(1),
            (Kind::Threshold, _) => Some(2),
            (Kind::Limit, _) => Some(3),
            _ => None,
        }
    }

    /// See [`Event::repeats`]: `self` is the new one.
    pub fn repeats(&self, fired: &Mark) -> bool {
        let same_subject = self.org == fired.org
            && self.account == fired.account
            && self.window == fired.window
            && self.incident == fired.incident
            && same_period(self.period, fired.period);
        same_subject
            && match (self.rank(), fired.rank()) {
                (Some(new), Some(old)) => old >= new,
                _ => self.kind == fired.kind && self.level == fired.level,
            }
    }
}

/// The cache's part: what fired lately (the fast answer to "did this fire already?"; the
/// history is asked only when this says no) and how the last delivery went.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Books {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fired: Vec<Mark>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Report>,
}

impl Books {
    pub fn is_empty(&self) -> bool {
        *self == Books::default()
    }

    /// Marks older than a weekly window are no use to the fast answer; the history keeps them.
    pub const KEEP_DAYS: i64 = 8;
}

/// How the last delivery went (kept in the cache's `notify` books).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// When the last delivery ended.
    pub at: DateTime<Utc>,
    /// Deliveries so far (each one a batch of events from one reading).
    pub runs: u64,
    /// What became of the desktop notifications: `shown with notify-send`, or why they
    /// were skipped; `None` when `desktop = false`.
    pub desktop: Option<String>,
    /// The hook's last run, when there is a hook.
    pub hook: Option<HookRun>,
    /// Why the last batch was not delivered at all (it could not be read), when so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One run of the hook.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HookRun {
    pub at: DateTime<Utc>,
    /// Why it failed (`exit status 3: ...`, `killed after 10s`); `None` when it succeeded.
    pub error: Option<String>,
}
