//! `quotaline status`: the human-readable report. Reads the cache only.

use crate::render::report;

pub fn run() -> i32 {
    let (file, cache_line) = report::read_cache(&crate::settings::cache());
    let mut lines = report::report(&file, crate::clock::now());
    lines.line(cache_line);
    super::show(&lines);
    0
}
