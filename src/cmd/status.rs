//! `quotaline status`: the human-readable report. Reads the cache only.

use crate::cache::Cache;
use crate::render::report;
use chrono::Utc;

pub fn run() -> i32 {
    let cache = Cache::locate();
    let text = report::report(&cache.read(), Utc::now());
    super::out(&format!("{text}cache: {}\n", cache.path().display()));
    0
}
