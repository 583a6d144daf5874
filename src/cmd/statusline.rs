//! `quotaline statusline`: Claude Code's statusLine command. Reads the JSON Claude Code pipes
//! on stdin (bounded in size and time, with `poll`), folds its `rate_limits` into the shared
//! cache, and prints one segment line. Exits 0 whatever it was fed. No network here: a
//! refresh, when one is due and stdin brought no numbers, runs detached as for `segment`.

use crate::auth::claude_code;
use crate::cache::CacheFile;
use crate::ingest::{self, Arrival};
use crate::refresh;
use crate::render::markup::Target;
use crate::render::{self, Line};
use crate::settings::{self, Scope};
use crate::source::statusline::{self, Reading};
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use std::io::Write;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

/// Claude Code's object is a few KiB; anything this large is not it.
pub const MAX_STDIN: usize = 256 * 1024;

/// Claude Code writes its object at once. A pipe left open with nothing (or half an object)
/// on it must not hold the status line longer than this.
pub const STDIN_DEADLINE: Duration = Duration::from_millis(500);

pub fn run(format: Option<String>) -> i32 {
    let input = read_stdin();
    let reading = statusline::parse(&input);
    let cache = crate::settings::cache();
    let now = crate::clock::now();
    // Only shown, never written back: `ingest` reads the whole cache itself.
    let mut file = cache.read_for_display();
    let memo = claude_code::account_cached(file.claude_account.as_ref());
    let account = memo.value.clone();

    let version_news = reading.version.is_some() && reading.version != file.claude_code_version;
    let account_news = file.claude_account.as_ref() != Some(&memo);
    let news = statusline::worth_writing(&file.snapshot, &reading, account.as_ref(), now)
        || version_news
        || account_news;
    if news {
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
    if !news {
        // After an edit of config.toml, this call parsed it; the next ones need not (an
        // ingest keeps the config it read anyway).
        let _ = ingest::keep_config(&cache);
    }
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
        // Its account's own entry: in a Team org another login's numbers are not its own.
        Some(a) => Some(match &a.account_uuid {
            Some(login) => crate::snapshot::login_key(login, &a.org_uuid),
            None => a.org_uuid.clone(),
        }),
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
        now: crate::clock::now(),
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

/// Reads stdin up to `MAX_STDIN` bytes and `STDIN_DEADLINE`, stopping early once a complete
/// JSON value has arrived (Claude Code may leave the pipe open). Every read first waits in
/// `poll` for what is left of the deadline, so no read blocks past it and no thread is
/// started (a thread cost Claude Code's every message a `clone` and a stack mapping). Too
/// much, too late or unreadable is an empty input.
fn read_stdin() -> Vec<u8> {
    let deadline = Instant::now() + STDIN_DEADLINE;
    let stdin = std::io::stdin();
    let fd = stdin.as_fd();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        // A writer that keeps sending without ever completing an object also meets the
        // deadline: poll alone would say "readable" forever.
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Vec::new();
        }
        let Ok(timeout) = Timespec::try_from(left) else {
            return Vec::new();
        };
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        match poll(&mut fds, Some(&timeout)) {
            Ok(0) => return Vec::new(),
            // Not a descriptor poll can wait on (closed; on macOS a terminal or /dev/null):
            // a read could block with no deadline.
            Ok(_) if fds[0].revents().contains(PollFlags::NVAL) => return Vec::new(),
            Ok(_) => {}
            Err(Errno::INTR) => continue,
            Err(_) => return Vec::new(),
        }
        // Readable, or the writer hung up: this read returns at once.
        match rustix::io::read(fd, &mut chunk) {
            Ok(0) => return buf,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > MAX_STDIN {
                    return Vec::new();
                }
                if complete_json(&buf) {
                    return buf;
                }
            }
            Err(Errno::INTR | Errno::AGAIN) => {}
            Err(_) => return buf,
        }
    }
}

fn complete_json(buf: &[u8]) -> bool {
    buf.iter().rev().find(|b| !b.is_ascii_whitespace()) == Some(&b'}')
        && serde_json::from_slice::<serde::de::IgnoredAny>(buf).is_ok()
}
