//! Pre-rendered prompt lines, so that a shell prompt never starts a process when nothing
//! changed. After every cache update `outputs.rs` writes what [`files`] renders from the cache
//! just written (a refresh, Claude Code's statusLine, the browser extension alike); the
//! snippets of `quotaline init zsh|bash|fish` read `segment.<shell>` with shell builtins only.
//!
//! Each file holds two lines:
//!
//! ```text
//! 1795000060          <- unix time from which the shell should start `quotaline refresh`
//! 5h 37% · 7d 58% …   <- the line, marked up and escaped for that shell
//! ```
//!
//! The first line lets a shell decide "refresh due?" by comparing two integers, without
//! knowing the TTL, the backoff or the clock of the last attempt.

use super::markup::{markup, Target};
use super::Line;
use crate::cache::CacheFile;
use crate::schedule;
use crate::settings::{self, Scope};
use chrono::{DateTime, Duration, Utc};
use std::path::{Path, PathBuf};

/// The shells whose prompts read a pre-rendered line.
pub const SHELLS: [Target; 3] = [Target::Zsh, Target::Bash, Target::Fish];

/// How long a stale line may show an outdated age: a shell asks for a new rendering (through
/// `quotaline refresh`, which re-renders even when a backoff keeps it from fetching) at
/// least this often while the line is stale.
const STALE_RERENDER_SECS: i64 = 60;

/// `segment.zsh`, `segment.bash`, `segment.fish` in the cache dir.
pub fn path(cache_dir: &Path, shell: Target) -> PathBuf {
    cache_dir.join(format!("segment.{}", shell.name()))
}

/// When a shell showing a line rendered from `file` at `now` should start a refresh: when a
/// refresh is due (`schedule::refresh_due_at`, as the segment decides), and, while the
/// shown org's line is stale, within a minute so its age keeps up.
pub fn due(file: &CacheFile, org: Option<&str>, now: DateTime<Utc>) -> DateTime<Utc> {
    let refresh_at = schedule::refresh_due_at(file, now);
    if schedule::is_stale(file, org, now) {
        refresh_at.min(now + Duration::seconds(STALE_RERENDER_SECS))
    } else {
        refresh_at
    }
}

/// Each shell's file in `SHELLS`, rendered from `file` (the cache as just written) at `now`:
/// the time from which a refresh is due, and the line. The line follows the config file only
/// (`[target.zsh]` and so on, then the top level), never the writer's environment: whichever
/// process ingested last, every shell sees the same line (`Scope::Shared`).
pub fn files(file: &CacheFile, now: DateTime<Utc>) -> Vec<(Target, String)> {
    let org = settings::org_setting(None, Scope::Shared)
        .value
        .or_else(|| settings::shown_account(file));
    let due = due(file, org.as_deref(), now).timestamp();
    SHELLS
        .into_iter()
        .map(|shell| {
            let target = Some(shell);
            let format = settings::format(target, None, Scope::Shared);
            let line = Line {
                cache: file,
                org: org.as_deref(),
                format: format.as_deref(),
                now,
                thresholds: settings::thresholds(target, None, None, Scope::Shared),
            };
            let text = markup(&line.spans(), shell, settings::color(target, Scope::Shared));
            (shell, format!("{due}\n{text}\n"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::State;
    use crate::error::{ErrorKind, FetchError};
    use crate::snapshot::Snapshot;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_795_000_000 + secs, 0).unwrap()
    }

    fn fetched(secs: i64) -> CacheFile {
        CacheFile {
            schema: 1,
            snapshot: Some(Snapshot {
                source: "claude.ai".into(),
                fetched_at: at(secs),
                active_org: None,
                orgs: vec![],
            }),
            state: State {
                last_attempt: Some(at(secs)),
                ..State::default()
            },
            ..CacheFile::default()
        }
    }

    #[test]
    fn fresh_line_is_due_one_ttl_after_the_fetch() {
        assert_eq!(due(&fetched(0), None, at(5)), at(60));
    }

    #[test]
    fn stale_line_is_rerendered_every_minute_even_during_a_backoff() {
        let mut file = fetched(0);
        file.state
            .record_failure(&FetchError::new(ErrorKind::Http, "HTTP 502"), at(600));
        file.state.failures = 5; // the next backoff is long
        file.state
            .record_failure(&FetchError::new(ErrorKind::Http, "HTTP 502"), at(600));
        assert_eq!(file.state.backoff_until(at(600)), Some(at(600 + 1800)));
        assert_eq!(due(&file, None, at(600)), at(660));
    }

    /// A fetch at `secs` whose five-hour window resets at `reset`.
    fn with_reset(secs: i64, reset: i64) -> CacheFile {
        let mut file = fetched(secs);
        let org: crate::snapshot::Org = serde_json::from_value(serde_json::json!({
            "org_uuid": "o", "org_name": null, "email": null, "plan": null,
            "extra_usage": null, "subscription": null,
            "windows": {"five_hour": {"utilization": 96.0, "resets_at": at(reset)}},
            "sources": {"usage": {"source": "claude.ai", "at": at(secs)}},
        }))
        .unwrap();
        file.snapshot.as_mut().unwrap().orgs.push(org);
        file
    }

    #[test]
    fn a_window_resetting_before_the_ttl_makes_the_line_due_at_its_reset() {
        let file = with_reset(0, 20);
        assert_eq!(due(&file, None, at(5)), at(20));
        assert!(!schedule::refresh_due(&file, at(19)) && schedule::refresh_due(&file, at(20)));
        let plan = schedule::plan(&file, at(21), schedule::Asker::Schedule);
        assert_eq!(
            plan.usage,
            Some(["o".to_string()].into()),
            "a refresh fetches after the reset"
        );
    }

    #[test]
    fn a_reset_a_fetch_already_tried_to_see_waits_the_ttl_and_a_backoff_binds() {
        // The server still sent a reset in the past: no refresh loop.
        assert_eq!(due(&with_reset(30, 20), None, at(31)), at(90));
        let mut file = with_reset(0, 20);
        file.state
            .record_failure(&FetchError::new(ErrorKind::Http, "HTTP 502"), at(10));
        assert_eq!(due(&file, None, at(10)), at(70));
    }

    #[test]
    fn no_data_and_no_attempt_is_due_at_once() {
        assert_eq!(due(&CacheFile::default(), None, at(0)), at(0));
    }

    #[test]
    fn failure_without_data_waits_for_its_backoff() {
        let mut file = CacheFile::default();
        file.state.record_failure(
            &FetchError::new(ErrorKind::Network, "connection refused"),
            at(0),
        );
        assert_eq!(due(&file, None, at(1)), at(60));
    }
}
