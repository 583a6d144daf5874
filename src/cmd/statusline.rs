//! `quotaline statusline`: Claude Code's statusLine command. Reads the JSON Claude Code pipes
//! on stdin (bounded in size and time), folds its `rate_limits` into the shared cache, and
//! prints one segment line. Exits 0 whatever it was fed. No network here: a refresh, when
//! one is due and stdin brought no numbers, runs detached as for `segment`.

use crate::auth::claude_code;
use crate::cache::CacheFile;
use crate::ingest::{self, Arrival};
use crate::refresh;
use crate::render::markup::Target;
use crate::render::{self, Line};
use crate::settings::{self, Scope};
use crate::source::statusline::{self, Reading};
use chrono::Utc;
use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::Duration;

/// Claude Code's object is a few KiB; anything this large is not it.
pub const MAX_STDIN: usize = 256 * 1024;

/// Claude Code writes its object at once. A pipe left open with nothing (or half an object)
/// on it must not hold the status line longer than this.
pub const STDIN_DEADLINE: Duration = Duration::from_millis(500);

pub fn run(format: Option<String>) -> i32 {
    let input = read_stdin();
    let reading = statusline::parse(&input);
    let cache = crate::settings::cache();
    let now = Utc::now();
    // Only shown, never written back: `ingest` reads the whole cache itself.
    let mut file = cache.read_for_display();
    let memo = claude_code::account_cached(file.claude_account.as_ref());
    let account = memo.value.clone();

    let version_news = reading.version.is_some() && reading.version != file.claude_code_version;
    let account_news = file.claude_account.as_ref() != Some(&memo);
    if statusline::worth_writing(&file.snapshot, &reading, account.as_ref(), now)
        || version_news
        || account_news
    {
        let arrival = Arrival::Statusline {
            reading: &reading,
            account: &memo,
        };
        match ingest::ingest(&cache, arrival, now) {
            Ok((written, _)) => file = written,
            // An unwritable cache still gets this reading on the line.
            Err(_) => statusline::apply(&mut file.snapshot, &reading, account.as_ref(), now),
        }
    } else {
        // Nothing new: the line still shows this reading, without a write.
        statusline::apply(&mut file.snapshot, &reading, account.as_ref(), now);
    }

    print_line(&file, &reading, account.as_ref(), format);
    if reading.windows.is_empty() {
        refresh::spawn_if_due(&cache, &file, now);
    }
    0
}

/// The org Claude Code is logged in to when the cache knows it; else, when Claude Code's
/// account is unknown, the one a segment would show. A known account that the cache does
/// not hold prints nothing rather than another account's numbers.
fn print_line(
    file: &CacheFile,
    reading: &Reading,
    account: Option<&claude_code::Account>,
    format: Option<String>,
) {
    let pinned = settings::org(None);
    let claude_code_org = match account {
        Some(a) => Some(a.org_uuid.clone()),
        None if !reading.windows.is_empty() => Some(statusline::org_uuid(None)),
        None => None,
    };
    let org = pinned.or(claude_code_org);
    // Claude Code shows ANSI colour from a pipe, so no terminal check here.
    let target = Some(Target::Ansi);
    let format = settings::format(target, format, Scope::Process);
    let line = Line {
        cache: file,
        org: org.as_deref(),
        format: format.as_deref(),
        now: Utc::now(),
        thresholds: settings::thresholds(target, None, None, Scope::Process),
    };
    let text = render::markup::markup(
        &line.spans(),
        Target::Ansi,
        settings::color(target, Scope::Process),
    );
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// Reads stdin on a thread, up to `MAX_STDIN` bytes and `STDIN_DEADLINE`, stopping early
/// once a complete JSON value has arrived (Claude Code may leave the pipe open). Too much,
/// too late or unreadable is an empty input.
fn read_stdin() -> Vec<u8> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        let mut stdin = std::io::stdin().lock();
        loop {
            match stdin.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    if buf.len() > MAX_STDIN {
                        buf.clear();
                        break;
                    }
                    if complete_json(&buf) {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = tx.send(buf);
    });
    // On a timeout the reader thread stays blocked; the process exits without it.
    rx.recv_timeout(STDIN_DEADLINE).unwrap_or_default()
}

fn complete_json(buf: &[u8]) -> bool {
    buf.iter().rev().find(|b| !b.is_ascii_whitespace()) == Some(&b'}')
        && serde_json::from_slice::<serde::de::IgnoredAny>(buf).is_ok()
}
