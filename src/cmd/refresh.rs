//! `quotaline refresh [--force]`: fetch now (scheduling and locking: `refresh.rs`).

use crate::cache::Cache;
use crate::refresh;

pub fn run(force: bool) -> i32 {
    match refresh::refresh(&Cache::locate(), force) {
        Ok(_) => 0,
        Err(failure) => {
            super::warn(&failure.to_string());
            1
        }
    }
}
