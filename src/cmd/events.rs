//! `quotaline events [--since 7d] [--json]`: the events fired (`events.rs`), from the history,
//! oldest first: a line each, or the JSON object the hook got. Never fetches.

use crate::history;
use crate::render::{notice, text};
use chrono::Duration;

pub fn run(since: i64, json: bool) -> i32 {
    let cache = crate::settings::cache();
    let conn = match history::open_existing(&cache.dir) {
        None => {
            super::warn("no history yet (every refresh adds to it)");
            return 1;
        }
        Some(Err(e)) => {
            super::warn(&format!(
                "cannot read {}: {e}",
                cache.dir.join(history::FILE).display()
            ));
            return 1;
        }
        Some(Ok(c)) => c,
    };
    let events = match history::events(&conn, crate::clock::now() - Duration::seconds(since)) {
        Ok(events) => events,
        Err(e) => {
            super::warn(&format!("cannot read the history: {e}"));
            return 1;
        }
    };
    let text: String = if json {
        events
            .iter()
            .filter_map(|e| serde_json::to_string(e).ok())
            .map(|line| format!("{line}\n"))
            .collect()
    } else if events.is_empty() {
        format!("no events in the last {}\n", text::short_duration(since))
    } else {
        // Worded now, not as recorded: in this reader's zone and with today's names. The org
        // is named when the cache holds more than one, as the notification did.
        let several = cache.read().snapshot.is_some_and(|s| s.orgs.len() > 1);
        events
            .into_iter()
            .map(|mut e| {
                notice::word(&mut e, several);
                format!("{}  {:<7}  {}\n", text::clock(e.at), e.name(), e.message)
            })
            .collect()
    };
    super::out(&text);
    0
}
