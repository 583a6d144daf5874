//! `quotaline check [--max PCT] [--window KEY]`: a guard for scripts. Exit 0 below the
//! limit, 1 at or over it (saying which window and when it resets), 2 when there is no data.

use super::json::load_fresh;
use crate::cache::Cache;
use crate::render::{text, View};
use crate::settings;
use chrono::Utc;

pub fn run(max: f64, window: Option<String>, org: Option<String>) -> i32 {
    let cache = Cache::locate();
    let file = load_fresh(&cache);
    let now = Utc::now();
    let org_id = settings::org(org);
    let Some(org) = file
        .snapshot
        .as_ref()
        .and_then(|s| s.org(org_id.as_deref()))
    else {
        let why = file
            .state
            .error
            .as_ref()
            .map(|e| e.message.clone())
            .unwrap_or_else(|| "no usage data yet".into());
        eprintln!("quotaline: cannot check: {why}");
        return 2;
    };
    let age = file.age(now).unwrap_or(0);
    if age >= settings::ttl() {
        eprintln!(
            "quotaline: checking numbers from {} ago (refresh failed or backing off)",
            text::short_duration(age)
        );
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
                eprintln!("quotaline: no `{name}` window for this org");
                return 2;
            }
        },
        None => org.windows.iter().map(|(k, w)| (k.clone(), w)).collect(),
    };
    let mut over = false;
    for (name, w) in windows {
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
            println!(
                "{name} at {} (limit {}){reset}",
                text::percent(w.utilization),
                text::percent(max)
            );
        }
    }
    i32::from(over)
}
