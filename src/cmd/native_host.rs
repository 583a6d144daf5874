//! `quotaline native-host`: the browser's end of the in-browser path. The browser starts this
//! process itself (no daemon, no port, nothing another local process can talk to) and hands
//! it the extension's answers; `source::extension` checks them and `ingest` takes them in.
//!
//! Protocol: each message is a 4-byte native-endian length and that many bytes of UTF-8
//! JSON, on stdin; each reply the same on stdout. Nothing else may reach stdout.

use crate::cache::{Cache, CacheFile};
use crate::ingest::{self, Arrival, Verdict};
use crate::render::{self, Line, Severity};
use crate::settings::{self, Scope};
use crate::source::extension::{Message, MAX_MESSAGE};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::io::{self, Read, Write};

/// Stores one message's reading and says what happened, as the reply's JSON.
pub fn handle(cache: &Cache, bytes: &[u8], now: DateTime<Utc>) -> Value {
    let message = match Message::parse(bytes) {
        Ok(m) => m,
        Err(e) => return json!({"ok": false, "error": e}),
    };
    match ingest::ingest(cache, Arrival::Extension(&message), now) {
        Err(e) => json!({"ok": false, "error": format!("cannot use the cache: {e}")}),
        Ok((_, Verdict::Refused(e))) => json!({"ok": false, "error": e}),
        Ok((_, Verdict::Older)) => json!({"ok": true, "stored": false,
            "note": "the cache already holds a newer reading"}),
        Ok((file, _)) => summary(&file, now),
    }
}

/// The `ok` reply: the segment line and the worst current window, so the extension's badge
/// shows what the prompt shows without parsing anything itself (no number for a window past
/// its reset, as on the line).
fn summary(file: &CacheFile, now: DateTime<Utc>) -> Value {
    // The popup shows what every surface shows: the config file's settings, not this
    // process's environment (the browser started it).
    let target = Some(render::markup::Target::Plain);
    let org = settings::org_setting(None, Scope::Shared)
        .value
        .or_else(|| settings::shown_account(file));
    let format = settings::format(target, None, Scope::Shared);
    let thresholds = settings::thresholds(target, None, None, Scope::Shared);
    let line = render::markup::markup(
        &Line {
            cache: file,
            org: org.as_deref(),
            format: format.as_deref(),
            now,
            thresholds,
        }
        .spans(),
        render::markup::Target::Plain,
        false,
    );
    let shown = file.org(org.as_deref());
    let worst = shown.and_then(|o| o.worst(now));
    let severity = worst.map(|p| match thresholds.severity(p) {
        Severity::Critical => "critical",
        Severity::Warn => "warn",
        _ => "ok",
    });
    json!({
        "ok": true,
        "stored": true,
        "line": line,
        "percent": worst,
        "severity": severity,
        "org": shown.and_then(|o| o.org_name.clone()),
    })
}

/// Reads until `buf` is full or the input ends; returns how many bytes arrived (a pipe may
/// deliver a message in pieces).
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn reply(output: &mut impl Write, value: &Value) -> io::Result<()> {
    let bytes = serde_json::to_vec(value).map_err(io::Error::other)?;
    output.write_all(&(bytes.len() as u32).to_ne_bytes())?;
    output.write_all(&bytes)?;
    output.flush()
}

fn error(message: String) -> Value {
    json!({"ok": false, "error": message})
}

/// Answers messages until the input ends. Returns the exit code: 0 at a clean end, 1 when
/// the stream broke off inside a message (after saying so).
pub fn serve(input: &mut impl Read, output: &mut impl Write, cache: &Cache) -> io::Result<i32> {
    loop {
        let mut header = [0u8; 4];
        match read_full(input, &mut header)? {
            0 => return Ok(0),
            4 => {}
            n => {
                reply(
                    output,
                    &error(format!(
                        "input ended inside a length prefix ({n} of 4 bytes)"
                    )),
                )?;
                return Ok(1);
            }
        }
        let len = u32::from_ne_bytes(header);
        if len > MAX_MESSAGE {
            reply(
                output,
                &error(format!(
                    "message of {len} bytes refused: the limit is {MAX_MESSAGE} bytes"
                )),
            )?;
            // Skip it without holding it, so the next message is read from its start.
            let skipped = io::copy(&mut input.take(u64::from(len)), &mut io::sink())?;
            if skipped < u64::from(len) {
                return Ok(1);
            }
            continue;
        }
        let mut body = vec![0u8; len as usize];
        let got = read_full(input, &mut body)?;
        if got < body.len() {
            reply(
                output,
                &error(format!(
                    "input ended inside a message ({got} of {len} bytes)"
                )),
            )?;
            return Ok(1);
        }
        reply(output, &handle(cache, &body, crate::clock::now()))?;
    }
}

/// `quotaline native-host [ARGS...]`. The browser passes the caller's origin (Chrome:
/// `chrome-extension://<id>/`, plus `--parent-window=` on Windows; Firefox: the manifest
/// path and the extension id); the host manifest's `allowed_origins` already decided who
/// may call, so the arguments are ignored.
pub fn run(_browser_args: Vec<String>) -> i32 {
    let cache = crate::settings::cache();
    let mut stdin = io::stdin().lock();
    let mut stdout = io::stdout().lock();
    match serve(&mut stdin, &mut stdout, &cache) {
        Ok(code) => code,
        Err(e) => {
            super::warn(&format!("native-host: {e}"));
            1
        }
    }
}
