//! Turns a cached snapshot into the one-line segment. Renderers never fetch: they read a
//! `CacheFile` and a clock. The line is built as spans tagged with a severity, so colour and
//! escaping per target happen in one place.

pub mod markup;
pub mod metrics;
pub mod notice;
pub mod prerender;
pub mod report;
pub mod sanitize;
pub mod template;
pub mod text;

use crate::cache::CacheFile;
use crate::claude_status::ClaudeStatus;
use crate::snapshot::{Org, Pace, Window, CODEX_ORG};
pub use crate::thresholds::{Severity, Thresholds};
use crate::window;
use chrono::{DateTime, Utc};

/// A run of text and its colour; `severity: None` is plain text.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    pub text: String,
    pub severity: Option<Severity>,
}

impl Span {
    pub fn text(t: &str) -> Span {
        Span {
            text: t.to_string(),
            severity: None,
        }
    }
    fn colored(text: String, severity: Severity) -> Span {
        Span {
            text,
            severity: Some(severity),
        }
    }
}

/// Five-hour and weekly always (a missing one shows `–`), every per-model weekly window, the
/// countdown to the next reset, and Claude's own outage when its status page reports one.
/// Codex's windows follow, only when Codex is on the machine (`{codex}` is empty otherwise).
pub const DEFAULT_FORMAT: &str =
    "5h {5h} · 7d {7d}( · {models})( · ↻{reset})( · {status})( · {codex})";
/// For orgs without rolling windows (Enterprise, credit-only): the money is the news.
pub const CREDITS_FORMAT: &str = "extra {extra}";
/// Two marks, never one for both: `↻` is "resets in" (the default format's `↻{reset}`:
/// `↻1h12m`); `reset` is what a window past its reset shows in place of its percent (`5h
/// reset · 7d 40%`): its old number is no longer the truth, the new one is not known yet,
/// and a word cannot be read as a countdown or a number.
pub const RESET_MARK: &str = "reset";

/// Everything one line needs.
pub struct Line<'a> {
    pub cache: &'a CacheFile,
    pub org: Option<&'a str>,
    pub format: Option<&'a str>,
    pub now: DateTime<Utc>,
    pub thresholds: Thresholds,
}

impl Line<'_> {
    /// The segment as spans; [`Line::no_numbers`] when there are none to show.
    pub fn spans(&self) -> Vec<Span> {
        let Some(org) = self.cache.org(self.org) else {
            return self.no_numbers();
        };
        // An org is as old as its newest reading (`Org::age`): an org whose own fetch failed
        // keeps its old numbers and shows their age.
        let fetched = self
            .cache
            .snapshot
            .as_ref()
            .map_or(self.now, |s| s.fetched_at);
        let age = org.age(fetched, self.now);
        let view = View {
            org,
            now: self.now,
            age,
            thresholds: self.thresholds,
            status: self.cache.claude_status.current(self.now),
        };
        let format = self.format.unwrap_or_else(|| {
            let no_windows = !org.windows.contains_key(window::FIVE_HOUR)
                && !org.windows.contains_key(window::SEVEN_DAY);
            if no_windows && view.extra().is_some() {
                CREDITS_FORMAT
            } else {
                DEFAULT_FORMAT
            }
        });
        let codex = self.codex_view(fetched);
        // The names `[account.NAME]` gives, worked out once a line, only when one is asked.
        let named = std::cell::OnceCell::new();
        let other = |name: &str| {
            let (base, account) = name.split_once('@')?;
            let named = named.get_or_init(|| crate::settings::named_accounts(self.cache).0);
            let org = self.cache.snapshot.as_ref()?.account_org(account, named)?;
            View {
                org,
                age: org.age(fetched, self.now),
                ..view
            }
            .value(base)
        };
        let mut spans = template::render(format, &|name| match &codex {
            _ if name.contains('@') => other(name),
            Some(codex) if name.starts_with("codex") => codex.codex_value(name),
            None if name.starts_with("codex") => None,
            _ => view.value(name),
        });
        if crate::schedule::is_stale(self.cache, self.org, self.now) {
            spans.push(Span::colored(
                format!(" · stale {}", text::short_duration(age)),
                Severity::Stale,
            ));
        }
        // The line still follows the last good settings; `quotaline config` says what is wrong.
        if crate::settings::config().error.is_some() {
            spans.push(Span::colored(" · config error".into(), Severity::Error));
        }
        spans
    }
}

impl Line<'_> {
    /// Codex's windows (`source::codex`), when the cache holds them: the `{codex…}`
    /// placeholders are answered from them whichever Claude org the line shows.
    fn codex_view(&self, fetched: DateTime<Utc>) -> Option<View<'_>> {
        let org = self.cache.org(Some(CODEX_ORG))?;
        Some(View {
            org,
            now: self.now,
            age: org.age(fetched, self.now),
            thresholds: self.thresholds,
            status: None,
        })
    }

    /// The one rule for a line without numbers, the same on every surface (the prompts,
    /// tmux, starship, the bars, Claude Code's status line): nothing at all before anything
    /// happened (the first refresh is under way); after a failure, `quotaline: <what went
    /// wrong>` (`no session`, `unauthorized`, ...) in the error colour, so an empty prompt is
    /// never a mystery; with numbers for other orgs only, `quotaline: unknown org` (`status`
    /// names the orgs there are). Numbers that exist are always shown, however old: their age
    /// says the rest (`· stale 5m`).
    fn no_numbers(&self) -> Vec<Span> {
        let what = match (&self.cache.snapshot, &self.cache.state.error) {
            (Some(s), _) if s.orgs.iter().any(|o| !o.is_codex()) => "unknown org".to_string(),
            (_, Some(e)) => e.kind.words(),
            _ => return Vec::new(),
        };
        vec![Span::colored(format!("quotaline: {what}"), Severity::Error)]
    }
}

/// Answers placeholders for one org.
pub struct View<'a> {
    pub org: &'a Org,
    pub now: DateTime<Utc>,
    pub age: i64,
    pub thresholds: Thresholds,
    /// Claude's status page, while its reading is recent (`{status}`).
    pub status: Option<&'a ClaudeStatus>,
}

impl View<'_> {
    /// `5h`, `7d`, a model name (`opus`), or a raw window key.
    pub fn window(&self, name: &str) -> Option<&Window> {
        let key = window::resolve(self.org.windows.keys(), name)?;
        self.org.windows.get(key)
    }

    /// A window's percent, coloured; a window past its reset shows [`RESET_MARK`] instead:
    /// its old number is no longer the truth and the new one is not known yet (never 0%).
    fn pct_span(&self, w: &Window) -> Span {
        if w.has_reset(self.now) {
            return Span::text(RESET_MARK);
        }
        Span::colored(
            text::percent(w.utilization),
            self.thresholds.severity(w.utilization),
        )
    }

    /// The pace of the window `name` stands for, while the window is current: a reset
    /// window's burn rate and ETA belong to the period that ended.
    fn pace(&self, name: &str) -> Option<&Pace> {
        let key = window::resolve(self.org.windows.keys(), name)?;
        if self.org.windows.get(key)?.has_reset(self.now) {
            return None;
        }
        self.org.pace.get(key)
    }

    fn countdown(&self, at: DateTime<Utc>) -> String {
        let secs = (at - self.now).num_seconds();
        if secs <= 0 {
            "now".to_string()
        } else {
            text::short_duration(secs)
        }
    }

    /// The soonest reset among the windows a default line shows.
    fn next_reset(&self) -> Option<DateTime<Utc>> {
        let shown = [window::FIVE_HOUR, window::SEVEN_DAY]
            .iter()
            .filter_map(|k| self.org.windows.get(*k))
            .chain(self.org.model_windows().map(|(_, w)| w));
        shown
            .filter_map(|w| w.resets_at)
            .filter(|&t| t > self.now)
            .min()
    }

    fn extra(&self) -> Option<Vec<Span>> {
        let e = self.org.extra_usage.as_ref().filter(|e| e.enabled)?;
        let used = e.used?;
        let currency = e.currency.as_deref();
        let mut shown = text::money(used, currency);
        let severity = match e.limit {
            Some(limit) if limit > 0.0 => {
                shown = format!("{shown}/{}", text::money(limit, currency));
                self.thresholds.severity(used / limit * 100.0)
            }
            _ => Severity::Ok,
        };
        let severity = if e.out_of_credits == Some(true) {
            Severity::Critical
        } else {
            severity
        };
        Some(vec![Span::colored(shown, severity)])
    }

    /// The `{codex…}` placeholders, on a view of Codex's org: `{codex}` is the whole part of
    /// the default line (`codex 5h 12% · 7d 40%`), `{codex_5h}` `{codex_7d}` one window,
    /// `{codex_reset}` the countdown to the sooner of their resets.
    fn codex_value(&self, name: &str) -> Option<Vec<Span>> {
        let five = self.org.windows.get(window::CODEX_5H);
        let seven = self.org.windows.get(window::CODEX_7D);
        match name {
            "codex" => {
                let mut spans = vec![Span::text("codex")];
                for (label, w) in [("5h", five), ("7d", seven)] {
                    let Some(w) = w else { continue };
                    let sep = if spans.len() == 1 { " " } else { " · " };
                    spans.push(Span::text(&format!("{sep}{label} ")));
                    spans.push(self.pct_span(w));
                }
                (spans.len() > 1).then_some(spans)
            }
            "codex_reset" => {
                let at = [five, seven]
                    .into_iter()
                    .flatten()
                    .filter_map(|w| w.resets_at)
                    .filter(|&t| t > self.now)
                    .min()?;
                Some(vec![Span::text(&self.countdown(at))])
            }
            _ => self.value(name),
        }
    }

    pub fn value(&self, name: &str) -> Option<Vec<Span>> {
        let text = |s: &Option<String>| s.as_deref().map(|t| vec![Span::text(t)]);
        match name {
            "models" => {
                let mut spans = Vec::new();
                for (i, (model, w)) in self.org.model_windows().enumerate() {
                    if i > 0 {
                        spans.push(Span::text(" · "));
                    }
                    let label = window::model_label(model, w.display_name.as_deref());
                    spans.push(Span::text(&format!("{label} ")));
                    spans.push(self.pct_span(w));
                }
                (!spans.is_empty()).then_some(spans)
            }
            "reset" => Some(vec![Span::text(&self.countdown(self.next_reset()?))]),
            "extra" => self.extra(),
            // Nothing when all is operational (or the page is unknown): a group around it
            // vanishes.
            "status" => {
                let status = self.status?;
                let severity = match status.indicator.as_str() {
                    "major" | "critical" => Severity::Critical,
                    _ => Severity::Warn,
                };
                Some(vec![Span::colored(status.words()?.to_string(), severity)])
            }
            "plan" => text(&self.org.plan),
            "email" => text(&self.org.email),
            "org" => text(&self.org.org_name),
            "age" => Some(vec![Span::text(&text::short_duration(self.age))]),
            _ => {
                if let Some(window) = name.strip_suffix("_eta") {
                    // Empty unless the wall comes before the reset: nothing to say otherwise.
                    let pace = self.pace(window)?;
                    if pace.hits_before_reset == Some(false) {
                        return None;
                    }
                    return Some(vec![Span::text(&self.countdown(pace.eta?))]);
                }
                if let Some(window) = name.strip_suffix("_pace") {
                    let delta = self.pace(window)?.delta?;
                    return Some(vec![Span::text(&text::delta_text(delta))]);
                }
                if let Some(window) = name.strip_suffix("_reset") {
                    let at = self.window(window)?.resets_at?;
                    return Some(vec![Span::text(&self.countdown(at))]);
                }
                Some(vec![self.pct_span(self.window(name)?)])
            }
        }
    }
}
