//! `quotaline config [--default]`: the settings in force and where each came from (a flag
//! is per command, so only the environment, the file and the defaults show here), or a
//! complete commented file to start from. Exit 1 when the file has an error.

use crate::config::DEFAULT_FILE;
use crate::render::markup::Target;
use crate::render::text::short_duration;
use crate::settings::{self, Origin, Scope, Setting};
use std::fmt::Write;

fn row<T>(out: &mut String, key: &str, setting: &Setting<T>, shown: String) {
    let _ = writeln!(out, "{key:<16} {shown:<46} {}", setting.origin);
}

fn quoted(value: &Option<String>, none: &str) -> String {
    match value {
        Some(v) => format!("{v:?}"),
        None => none.to_string(),
    }
}

pub fn run(default: bool) -> i32 {
    if default {
        super::out(DEFAULT_FILE);
        return 0;
    }
    // Read first: the cache carries the last good settings, in force while the file has an
    // error.
    let _ = crate::settings::cache().read();
    let config = settings::config();
    let mut out = String::new();
    match (&config.path, &config.id, &config.error) {
        // There, or something there that cannot be read: the error below says what.
        (Some(p), Some(_), _) | (Some(p), None, Some(_)) => {
            let _ = writeln!(out, "config file: {}", p.display());
        }
        (Some(p), None, None) => {
            let _ = writeln!(
                out,
                "config file: {} (not present: defaults; `quotaline config --default` prints one)",
                p.display()
            );
        }
        (None, _, _) => out.push_str("config file: none (no HOME or XDG_CONFIG_HOME)\n"),
    }
    if let Some(e) = &config.error {
        let _ = writeln!(
            out,
            "error: {e}\n  (the last good settings below stay in force)"
        );
    }
    for w in &config.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    if let Some(refusal) = config.refusal() {
        let _ = writeln!(out, "refused: {refusal}");
    }
    for w in settings::env_warnings() {
        let _ = writeln!(out, "warning: {w}");
    }
    out.push('\n');

    let format = settings::format_setting(None, None, Scope::Process);
    row(
        &mut out,
        "format",
        &format,
        quoted(&format.value, "(built in)"),
    );
    let org = settings::org_setting(None, Scope::Process);
    row(
        &mut out,
        "org",
        &org,
        quoted(&org.value, "(the active org)"),
    );
    match settings::sources_setting() {
        Ok(s) => row(&mut out, "sources", &s, s.value.join(", ")),
        Err(e) => {
            let _ = writeln!(out, "{:<16} error: {e}", "sources");
        }
    }
    let browser = settings::browser_setting();
    row(
        &mut out,
        "browser",
        &browser,
        quoted(&browser.value, "(most recent profile)"),
    );
    let ttl = settings::ttl_setting();
    row(&mut out, "ttl", &ttl, short_duration(ttl.value));
    let timeout = settings::timeout_setting();
    row(
        &mut out,
        "timeout",
        &timeout,
        short_duration(timeout.value as i64),
    );
    let (warn, crit) = settings::threshold_settings(None, None, None, Scope::Process);
    row(&mut out, "warn", &warn, warn.value.to_string());
    row(&mut out, "crit", &crit, crit.value.to_string());
    let color = settings::color_setting(None, Scope::Process);
    row(&mut out, "color", &color, color.value.to_string());

    let textfile = settings::metrics_textfile_setting();
    let shown = match &textfile.value {
        Some(p) => format!("{:?}", p.display().to_string()),
        None => "(none)".to_string(),
    };
    let refused = config.refused();
    // A refused key shows where it is, and that it is not in force (the reason is above).
    let refused_row = |out: &mut String, row: &str, key: &str| -> bool {
        let Some((_, line)) = refused.iter().find(|(k, _)| *k == key) else {
            return false;
        };
        let _ = writeln!(
            out,
            "{row:<16} {:<46} config.toml:{line}",
            "REFUSED (see above)"
        );
        true
    };
    let _ = writeln!(out, "\n[metrics]");
    if !refused_row(&mut out, "  textfile", "[metrics] textfile") {
        row(&mut out, "  textfile", &textfile, shown);
    }
    let labels = settings::metrics_labels_setting();
    let shown: Vec<String> = labels
        .value
        .iter()
        .map(|(k, v)| format!("{k} = {v:?}"))
        .collect();
    row(
        &mut out,
        "  labels",
        &labels,
        format!("{{ {} }}", shown.join(", ")),
    );

    for name in config.file.target.keys() {
        let Some(target) = Target::from_name(name) else {
            continue;
        };
        let t = Some(target);
        let _ = writeln!(out, "\n[target.{name}]");
        let f = settings::format_setting(t, None, Scope::Process);
        row(&mut out, "  format", &f, quoted(&f.value, "(built in)"));
        let (w, c) = settings::threshold_settings(t, None, None, Scope::Process);
        row(&mut out, "  warn", &w, w.value.to_string());
        row(&mut out, "  crit", &c, c.value.to_string());
        let colored = settings::color_setting(t, Scope::Process);
        row(&mut out, "  color", &colored, colored.value.to_string());
    }

    let n = settings::notify();
    let _ = writeln!(out, "\n[notify]");
    row(&mut out, "  events", &n.events, n.events.value.join(", "));
    row(
        &mut out,
        "  desktop",
        &n.desktop,
        n.desktop.value.to_string(),
    );
    let command = match &n.command.value {
        Some(argv) => format!("{argv:?}"),
        None => "(none)".into(),
    };
    if !refused_row(&mut out, "  command", "[notify] command") {
        row(&mut out, "  command", &n.command, command);
    }
    for (key, s) in [
        ("  timeout", &n.timeout),
        ("  eta_warning", &n.eta_warning),
        ("  stale_warning", &n.stale_warning),
    ] {
        row(&mut out, key, s, short_duration(s.value));
    }
    for (name, w) in &config.file.notify.window {
        let _ = writeln!(out, "\n[notify.window.{name}]");
        for (key, at) in [("  warn", &w.warn), ("  crit", &w.crit)] {
            if let Some(at) = at {
                let _ = writeln!(out, "{key:<16} {:<46} config.toml:{}", at.value, at.line);
            }
        }
    }

    let max_age = settings::check_max_age_setting(None);
    let _ = writeln!(out, "\n[check]");
    row(
        &mut out,
        "  max_age",
        &max_age,
        short_duration(max_age.value),
    );

    // Display settings taken from this environment: shown so that a line in another surface
    // (which does not have it) is no surprise.
    let from_env: Vec<&str> = [
        format.origin,
        org.origin,
        warn.origin,
        crit.origin,
        color.origin,
    ]
    .into_iter()
    .filter_map(|o| match o {
        Origin::Env(name) => Some(name),
        _ => None,
    })
    .collect();
    if !from_env.is_empty() {
        let _ = writeln!(
            out,
            "\nthe environment wins over the file for commands started with it: {}. The shells' \
             prompt files and the extension's line are shared by every surface, so they \
             follow the file only.",
            from_env.join(", ")
        );
    }
    super::out(&out);
    i32::from(config.error.is_some())
}
