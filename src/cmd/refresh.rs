//! `quotaline refresh [--force] [--render-only]`: fetch now (scheduling and locking:
//! `refresh.rs`), or only bring the shells' prompt files up to date.

use crate::ingest::{self, Arrival};
use crate::refresh;

pub fn run(force: bool, render_only: bool) -> i32 {
    let cache = crate::settings::cache();
    if render_only {
        return match ingest::ingest(&cache, Arrival::Nothing, crate::clock::now()) {
            Ok(_) => 0,
            Err(e) => {
                eprintln!("quotaline: cannot use the cache: {e}");
                1
            }
        };
    }
    // `--force` fetches everything; a refresh a prompt started (the refresh lock on its
    // stdin) follows the schedule; anyone else asking gets numbers no older than the TTL.
    let asker = if force {
        refresh::Asker::Force
    } else if crate::settings::lock_on_stdin() {
        refresh::Asker::Schedule
    } else {
        refresh::Asker::Person
    };
    match refresh::refresh(&cache, asker) {
        Ok(_) => 0,
        Err(failure) => {
            super::warn(&failure.to_string());
            1
        }
    }
}
