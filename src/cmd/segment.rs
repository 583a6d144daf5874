//! `quotaline segment`: the prompt path. It reads one file, prints one line and exits 0,
//! whatever happens (a mistyped flag or name on its command line is a usage error, exit 64,
//! caught before it runs: `args.rs`). When the cache is
//! stale it starts one detached background refresh and does not wait for it. No network, no
//! SQLite, no TLS here.

use crate::refresh;
use crate::render::markup::{self, Target};
use crate::render::{report, Line};
use crate::settings::{self, Scope};
use std::io::Write;

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
    // `--target` was checked with the other arguments (`args.rs`); a bad QUOTALINE_TARGET
    // is said on stderr and the line is printed all the same, for the prompt's sake.
    let target = settings::target(opts.target).unwrap_or_else(|e| {
        super::warn(&e);
        settings::default_target()
    });
    let cache = crate::settings::cache();
    if opts.wait {
        let _ = refresh::refresh(&cache, refresh::Asker::Person);
    }
    let now = crate::clock::now();
    // Read before any setting: the cache carries the parsed config file.
    let file = cache.read_for_display();
    let org = settings::shown_org(opts.org, &file);
    let format = settings::format(Some(target), opts.format, Scope::Process);
    let line = Line {
        cache: &file,
        org: org.as_deref(),
        format: format.as_deref(),
        now,
        thresholds: settings::thresholds(Some(target), opts.warn, opts.crit, Scope::Process),
    };
    let spans = line.spans();
    let color = settings::color(Some(target), Scope::Process);
    let text = match target {
        Target::Waybar => markup::waybar(&line, &spans, &report::report(&file, now)),
        Target::Xbar => {
            let exe = std::env::current_exe().ok();
            let exe = exe.as_deref().and_then(|p| p.to_str());
            markup::xbar(
                &line,
                &spans,
                report::report(&file, now).as_str(),
                color,
                exe,
                settings::menu_bar(),
            )
        }
        Target::I3blocks => markup::i3blocks(&line, &spans, color),
        t => markup::markup(&spans, t, color),
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
    drop(out);
    // After an edit of config.toml, this prompt parsed it; the next ones need not.
    let _ = crate::ingest::keep_config(&cache);
    if !opts.wait {
        refresh::spawn_if_due(&cache, &file, now);
    }
    0
}
