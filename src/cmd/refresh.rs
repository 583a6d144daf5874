//! `quotaline refresh [--force] [--render-only]`: fetch now (scheduling and locking:
//! `refresh.rs`), or only bring the shells' prompt files up to date.

use crate::ingest::{self, Arrival};
use crate::refresh;
use chrono::Utc;

pub fn run(force: bool, render_only: bool) -> i32 {
    let cache = crate::settings::cache();
    if render_only {
        return match ingest::ingest(&cache, Arrival::Nothing, Utc::now()) {
            Ok(_) => 0,
            Err(e) => {
                eprintln!("quotaline: cannot use the cache: {e}");
                1
            }
        };
    }
    match refresh::refresh(&cache, force) {
        Ok(_) => 0,
        Err(failure) => {
            super::warn(&failure.to_string());
            1
        }
    }
}
