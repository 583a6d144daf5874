//! `quotaline segment`: the prompt path. It reads one file, prints one line and exits 0,
//! whatever happens (only a misspelt `--target` is a usage error, exit 2). When the cache is
//! stale it starts one detached background refresh and does not wait for it. No network, no
//! SQLite, no TLS here.

use super::refresh::{self, LOCK_ON_STDIN};
use super::status;
use crate::cache::{Cache, CacheFile};
use crate::render::markup::{self, Target};
use crate::render::Line;
use crate::settings;
use chrono::{DateTime, Utc};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

pub struct Options {
    pub format: Option<String>,
    pub org: Option<String>,
    pub wait: bool,
    /// `--target`: the program that shows the line.
    pub target: Option<String>,
    pub warn: Option<f64>,
    pub crit: Option<f64>,
}

pub fn run(opts: Options) -> i32 {
    let target = match settings::target(opts.target) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("quotaline: {e}");
            return 2;
        }
    };
    let cache = Cache::locate();
    if opts.wait {
        let _ = refresh::refresh(&cache, false);
    }
    let now = Utc::now();
    let file = cache.read_for_display();
    let org = settings::org(opts.org);
    let format = settings::format(opts.format);
    let line = Line {
        cache: &file,
        org: org.as_deref(),
        format: format.as_deref(),
        now,
        ttl: settings::ttl(),
        thresholds: settings::thresholds(opts.warn, opts.crit),
    };
    let spans = line.spans();
    let text = match target {
        Target::Waybar => markup::waybar(&line, &spans, &status::report(&file, now)),
        t => markup::markup(&spans, t, settings::color()),
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
    drop(out);
    if !opts.wait {
        spawn_refresh_if_due(&cache, &file, now);
    }
    0
}

/// A refresh is due when neither a success nor a failure happened within the TTL and no
/// backoff is in force.
pub fn refresh_due(file: &CacheFile, now: DateTime<Utc>) -> bool {
    let ttl = settings::ttl();
    let recent = |t: Option<DateTime<Utc>>| t.is_some_and(|t| (now - t).num_seconds() < ttl);
    !recent(file.snapshot.as_ref().map(|s| s.fetched_at))
        && !recent(file.state.last_attempt)
        && file.state.backoff_until(now).is_none()
}

/// Starts `quotaline refresh` detached: own process group, stdout and stderr on /dev/null
/// (starship and tmux wait for stdout to close), stdin the refresh lock it holds. Every
/// failure here is silent: the prompt must not print garbage.
pub fn spawn_refresh_if_due(cache: &Cache, file: &CacheFile, now: DateTime<Utc>) {
    if !refresh_due(file, now) {
        return;
    }
    let Ok(Some(lock)) = cache.try_refresh_lock() else {
        return; // a refresh is already running, or the cache dir is unusable
    };
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let _ = Command::new(exe)
        .arg("refresh")
        .env(LOCK_ON_STDIN, "1")
        .stdin(Stdio::from(lock))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
}
