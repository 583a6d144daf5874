//! `quotaline refresh [--force] [--render-only]`: fetch now (scheduling and locking:
//! `refresh.rs`), or only bring the shells' prompt files up to date.

use crate::duration::short_duration;
use crate::ingest::{self, Arrival};
use crate::refresh::{self, Failure, Outcome};

pub fn run(force: bool, render_only: bool) -> i32 {
    let cache = crate::settings::cache();
    if render_only {
        return match ingest::ingest(&cache, Arrival::Nothing, crate::clock::now()) {
            Ok(_) => 0,
            Err(e) => {
                super::warn(&format!("cannot use the cache: {e}"));
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
    // Whatever happened is said: a refresh that asked nothing is no silent success. The
    // background refreshes the prompts start send stderr nowhere.
    match refresh::refresh(&cache, asker) {
        Ok(Outcome::Fetched) => 0,
        Ok(Outcome::Reused) => {
            super::warn("another quotaline fetched just now: its numbers are in the cache");
            0
        }
        Ok(Outcome::Fresh(ago)) => {
            super::warn(&format!(
                "fresh: fetched {} ago; --force fetches now",
                short_duration(ago)
            ));
            0
        }
        Ok(Outcome::LeftToBrowser(ago)) => {
            super::warn(&format!(
                "fresh: the browser extension reported {} ago; --force fetches now",
                short_duration(ago)
            ));
            0
        }
        Err(Failure::Fetch(e)) => {
            super::fail(&e.message, Some(e.kind.fix()));
            1
        }
        Err(failure) => {
            super::warn(&failure.to_string());
            1
        }
    }
}
