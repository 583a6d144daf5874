//! `quotaline verify FILE|-`: step two of the trust protocol (doc/sources.md "Checking quotaline
//! against the server"). Takes a `/usage` body saved from the browser's DevTools ("Copy
//! response") and compares it, window by window, with what quotaline holds for that org.
//! The capture goes through the same parser as quotaline's own readings, so both sides name
//! their windows alike; the numbers are compared exactly, as the server sent them.
//!
//! Exit 0 when every number matches, 1 when one differs (saying whether quotaline's reading
//! is older or newer than the capture), 2 when the capture cannot be read. It reads the
//! cache only and never fetches: it checks what quotaline shows, not what it could show.

use crate::render::text::{clock, short_duration};
use crate::settings;
use crate::snapshot::{parse_usage, Org, Problem, Usage, Window};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt::Write;
use std::io::Read;

/// The source named on what a capture sent that cannot be shown.
const CAPTURE: &str = "DevTools";
/// A `/usage` body is a few kilobytes: a file this large is something else.
const MAX_BYTES: u64 = 1 << 20;

pub fn run(file: &str, org: Option<String>) -> i32 {
    let (capture, captured_at) = match read(file) {
        Ok(read) => read,
        Err(why) => {
            // A file that was read but holds no `/usage` body: what to capture instead.
            let read_but_not_usage = why.contains(": not JSON") || why.contains("usage payload");
            super::fail(
                &format!("cannot verify: {why}"),
                read_but_not_usage.then_some(
                    "in DevTools: Network, the `usage` request, Copy response; save it to a \
                     file (doc/sources.md)",
                ),
            );
            return 2;
        }
    };
    let cached = crate::settings::cache().read();
    let held = cached.org(settings::shown_org(org, &cached).as_deref());
    let (table, differ) = table(&capture, held);
    let mut out = table;
    if differ == 0 {
        out.push_str("every number matches");
        if let Some(p) = held.and_then(Org::newest_reading) {
            let _ = write!(
                out,
                " (quotaline's reading from {} at {}; the capture from {})",
                p.source,
                clock(p.at),
                clock(captured_at)
            );
        }
        out.push('\n');
        super::out(&out);
        return 0;
    }
    let _ = writeln!(out, "{differ} window(s) differ");
    let unreadable = capture
        .unusable
        .values()
        .filter(|u| u.problem != Problem::NoNumber)
        .count();
    if unreadable > 0 {
        let _ = writeln!(
            out,
            "quotaline cannot use {unreadable} window(s) of the capture: compare with doc/sources.md \
             \"Known payload shapes\" and report the shape if it is new"
        );
    }
    match held.and_then(Org::newest_reading) {
        None => out.push_str("quotaline holds no reading for this org\n"),
        Some(p) if p.at < captured_at => {
            let _ = writeln!(
                out,
                "quotaline's reading ({}, {}) is {} older than the capture ({}): run \
                 `quotaline refresh --force` and verify again",
                p.source,
                clock(p.at),
                short_duration((captured_at - p.at).num_seconds()),
                clock(captured_at)
            );
        }
        Some(p) => {
            let _ = writeln!(
                out,
                "quotaline's reading ({}, {}) is {} newer than the capture ({}): the numbers \
                 may have moved since; capture again and verify at once",
                p.source,
                clock(p.at),
                short_duration((p.at - captured_at).num_seconds()),
                clock(captured_at)
            );
        }
    }
    super::out(&out);
    1
}

/// The capture, parsed, and when it was taken: the file's modification time (when DevTools'
/// response was saved), or now for stdin.
fn read(file: &str) -> Result<(Usage, DateTime<Utc>), String> {
    // The name as typed, its control characters escaped (`\u{1b}`): it is echoed in errors,
    // and a name is no way to steer the terminal.
    let shown = escaped(file);
    let (name, bytes, at) = if file == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .take(MAX_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("stdin: {e}"))?;
        ("stdin".to_string(), bytes, crate::clock::now())
    } else {
        let meta = std::fs::metadata(file).map_err(|e| format!("{shown}: {e}"))?;
        if !meta.is_file() {
            return Err(format!("{shown}: not a regular file"));
        }
        let bytes = std::fs::File::open(file)
            .and_then(|f| {
                let mut bytes = Vec::new();
                f.take(MAX_BYTES + 1).read_to_end(&mut bytes).map(|_| bytes)
            })
            .map_err(|e| format!("{shown}: {e}"))?;
        let at = meta
            .modified()
            .map_or_else(|_| crate::clock::now(), DateTime::from);
        (shown.clone(), bytes, at)
    };
    if bytes.len() as u64 > MAX_BYTES {
        return Err(format!("{name}: more than 1 MiB, not a /usage body"));
    }
    // Editors on Windows (and some "Save as") start UTF-8 with a byte order mark; JSON has
    // none, but the capture is still the server's body.
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
    let body: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("{name}: not JSON ({e})"))?;
    let usage = parse_usage(&body, CAPTURE, None).map_err(|e| format!("{name}: {e}"))?;
    Ok((usage, at.min(crate::clock::now())))
}

/// `text` with every control character written as an escape (`\u{1b}`, `\n`), the rest as
/// it is.
fn escaped(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            c if c.is_control() || crate::render::sanitize::forbidden(c) => {
                c.escape_default().to_string()
            }
            c => c.to_string(),
        })
        .collect()
}

/// The table (window, DevTools number, quotaline number, match) and how many rows differ.
/// A window both sides lack a number for matches; one only one side has, or that the
/// capture sent in a shape quotaline cannot use, differs.
fn table(capture: &Usage, held: Option<&Org>) -> (String, usize) {
    let ours = |key: &str| held.and_then(|o| o.windows.get(key));
    let keys: BTreeSet<&String> = capture
        .windows
        .keys()
        .chain(capture.unusable.keys())
        .chain(held.into_iter().flat_map(|o| o.windows.keys()))
        .collect();
    // Each window by the short name every command shows (`window::label`).
    let name = |key: &str| {
        let display = capture
            .windows
            .get(key)
            .or_else(|| ours(key))
            .and_then(|w| w.display_name.as_deref());
        crate::window::label(key, display)
    };
    let width = keys
        .iter()
        .map(|k| name(k).chars().count())
        .chain(["window".len()])
        .max()
        .unwrap_or(0);
    let number =
        |w: Option<&Window>| w.map_or("–".to_string(), |w| format!("{}%", w.utilization));
    let mut out = format!(
        "{:<width$}  {:>8}  {:>9}  match\n",
        "window", "DevTools", "quotaline"
    );
    let mut differ = 0;
    for key in keys {
        let theirs = capture.windows.get(key);
        let note = capture.unusable.get(key);
        let same = match (theirs, ours(key)) {
            (Some(a), Some(b)) => a.utilization == b.utilization,
            (None, None) => note.is_none_or(|u| u.problem == Problem::NoNumber),
            _ => false,
        };
        differ += usize::from(!same);
        let shown = match (theirs, note) {
            (None, Some(u)) => u.problem.words().to_string(),
            _ => number(theirs),
        };
        let _ = writeln!(
            out,
            "{:<width$}  {shown:>8}  {:>9}  {}",
            name(key),
            number(ours(key)),
            if same { "yes" } else { "NO" }
        );
    }
    (out, differ)
}
