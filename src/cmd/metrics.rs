//! `quotaline metrics`: the cached snapshot as OpenMetrics text (`render::metrics`, the same
//! text the `[metrics] textfile` holds). Reads the cache only, never fetches: a scrape must
//! not turn into a request to the server.

use crate::render::metrics;
use crate::settings;

pub fn run() -> i32 {
    let file = crate::settings::cache().read_for_display();
    let labels = settings::metrics_labels_setting().value;
    super::out(&metrics::render(&file, &labels, crate::clock::now()));
    0
}
