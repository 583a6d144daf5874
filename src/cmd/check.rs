//! `quotaline check [--max PCT] [--eta 30m] [--window KEY]`: a guard for scripts. Exit 0
//! below the limit, 1 at or over it or projected to reach 100% within `--eta` (saying which
//! window and when), 2 when there is no data. A window past its reset is not judged: its
//! number is no longer the truth.

use crate::cache::Cache;
use crate::error::ErrorKind;
use crate::refresh::load_fresh;
use crate::render::sanitize::Lines;
use crate::render::{text, View};
use crate::settings;
use crate::window;
use chrono::Utc;

pub fn run(max: Option<f64>, eta: Option<i64>, window: Option<String>, org: Option<String>) -> i32 {
    // `--eta` alone looks ahead only; without either flag the guard is 90%.
    let max = max.or(eta.is_none().then_some(90.0));
    let cache = Cache::locate();
    let file = load_fresh(&cache);
    let now = Utc::now();
    let org_id = settings::org(org);
    let Some(org) = file.org(org_id.as_deref()) else {
        let why = file
            .state
            .error
            .as_ref()
            .map(|e| e.message.clone())
            .unwrap_or_else(|| "no usage data yet".into());
        super::warn(&format!("cannot check: {why}"));
        return 2;
    };
    let age = file.age(org_id.as_deref(), now).unwrap_or(0);
    // The server answered after this reading with a payload quotaline could not read: its
    // numbers may already differ from these, however fresh they look. The guard says so.
    let unread_since = file
        .state
        .error
        .as_ref()
        .filter(|e| e.kind == ErrorKind::Parse && org.read_at().is_none_or(|at| e.at > at));
    if let Some(e) = unread_since {
        super::warn(&format!(
            "the last refresh failed ({}): the server's numbers may differ; \
             checking numbers from {} ago",
            e.message,
            text::short_duration(age)
        ));
    } else if file.is_stale(org_id.as_deref(), now) {
        super::warn(&format!(
            "checking numbers from {} ago (refresh failed or backing off)",
            text::short_duration(age)
        ));
    }
    let view = View {
        org,
        now,
        age,
        thresholds: Default::default(),
    };
    let windows: Vec<(String, &crate::snapshot::Window)> = match &window {
        Some(name) => match view.window(name) {
            Some(w) => vec![(name.clone(), w)],
            None => {
                super::warn(&format!("no `{name}` window for this org"));
                return 2;
            }
        },
        None => org.windows.iter().map(|(k, w)| (k.clone(), w)).collect(),
    };
    let mut said = Lines::new();
    let mut over = false;
    let mut any_rate = false;
    for (name, w) in windows {
        // Its number belongs to the period that ended; the new one is not known yet.
        if let Some(reset) = w.resets_at.filter(|_| w.has_reset(now)) {
            eprintln!(
                "quotaline: {name} reset {} ago; a new reading is due (not checked)",
                text::short_duration((now - reset).num_seconds())
            );
            continue;
        }
        if let Some(within) = eta {
            let key = window::resolve(org.windows.keys(), &name).unwrap_or(&name);
            let pace = org.pace.get(key);
            any_rate |= pace.is_some_and(|p| p.rate_per_hour.is_some());
            over |= looks_ahead(&mut said, &name, w, pace, within, now);
        }
        let Some(max) = max else { continue };
        if w.utilization >= max {
            over = true;
            let reset = match w.resets_at {
                Some(t) => format!(
                    ", resets in {} ({})",
                    text::short_duration((t - now).num_seconds()),
                    t.format("%Y-%m-%d %H:%M UTC")
                ),
                None => String::new(),
            };
            said.line(format!(
                "{name} at {} (limit {}){reset}",
                text::percent(w.utilization),
                text::percent(max)
            ));
        }
    }
    super::show(&said);
    if eta.is_some() && !any_rate {
        // Not a failure (nothing is projected), but the guard could not look ahead.
        super::warn("no burn rate yet (it needs readings over 15 minutes for 5h, 6 hours for weekly windows)");
    }
    i32::from(over)
}

/// `--eta`: says so in `said` and returns true when `w` is due to reach 100% within `within`
/// seconds and before it resets.
fn looks_ahead(
    said: &mut Lines,
    name: &str,
    w: &crate::snapshot::Window,
    pace: Option<&crate::snapshot::Pace>,
    within: i64,
    now: chrono::DateTime<Utc>,
) -> bool {
    let Some(pace) = pace else { return false };
    let Some(eta) = pace.eta else { return false };
    if pace.hits_before_reset == Some(false) || (eta - now).num_seconds() > within {
        return false;
    }
    let secs = (eta - now).num_seconds();
    let when = if secs <= 0 {
        format!("{name} at 100% now")
    } else {
        format!(
            "{name} projected to hit 100% in {} ({})",
            text::short_duration(secs),
            eta.format("%Y-%m-%d %H:%M UTC")
        )
    };
    let reset = match w.resets_at {
        Some(t) => format!(
            ", before its reset in {}",
            text::short_duration((t - now).num_seconds())
        ),
        None => String::new(),
    };
    let rate = pace
        .rate_per_hour
        .map(|r| {
            format!(
                " (at {}, now {})",
                text::rate_text(r),
                text::percent(w.utilization)
            )
        })
        .unwrap_or_default();
    said.line(format!("{when}{reset}{rate}"));
    true
}
