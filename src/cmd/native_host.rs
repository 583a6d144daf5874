//! `quotaline native-host`: the browser's end of the in-browser path. The extension in
//! `integrations/browser-extension/` calls the claude.ai endpoints inside the user's own
//! session (the one client the CDN never challenges) and hands the raw answers here through
//! native messaging: the browser starts this process itself, so there is no daemon, no
//! port, and nothing another local process can talk to.
//!
//! Protocol: each message is a 4-byte native-endian length and that many bytes of UTF-8
//! JSON, on stdin; each reply the same on stdout. Nothing else may reach stdout.

use crate::cache::{Cache, CacheFile, ExtensionReport};
use crate::error::{ErrorKind, FetchError};
use crate::render::text::short_duration;
use crate::render::{self, Line, Severity};
use crate::settings;
use crate::source::claude_ai::{self, Endpoints};
use crate::source::http::{judge, printable, Answer, Optional};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{self, Read, Write};

/// The name the extension calls (`chrome.runtime.sendNativeMessage`) and the host
/// manifest's file name.
pub const HOST_NAME: &str = "com.quotaline.bridge";
/// The extension's id, fixed by the `key` in its manifest.json (the first 32 hex digits of
/// the SHA-256 of that public key, written with the letters a-p).
pub const EXTENSION_ID: &str = "jhacddcpicflnojofenlnbbbcdifeaap";
/// The extension's id in Firefox (`browser_specific_settings.gecko.id`).
pub const GECKO_ID: &str = "bridge@quotaline.dev";
/// Provenance of every part an extension reading stores.
pub const SOURCE: &str = "extension";
/// The largest message accepted. The browser allows up to 4 GiB towards a host; a usage
/// reading is a few kilobytes, so anything near this is not one.
pub const MAX_MESSAGE: u32 = 1 << 20;
/// While the extension's reading is younger than this, `quotaline refresh` leaves the
/// fetching to the browser: it polls every minute, so two missed minutes mean it stopped
/// (browser closed, extension off) and quotaline's own sources take over.
pub const FRESH_FOR_SECS: i64 = 120;
/// The service named in error messages about answers the browser fetched.
const SERVICE: &str = "claude.ai (in the browser)";
/// More answers than any account needs (1 + 3 per org).
const MAX_ANSWERS: usize = 64;

/// What the extension sends: the answers exactly as the browser got them.
#[derive(Debug, Deserialize)]
struct Message {
    #[serde(rename = "type")]
    kind: String,
    /// RFC 3339, checked by `parse` (serde's own message would not name the field).
    fetched_at: String,
    /// The `lastActiveOrg` cookie, which names the active org.
    #[serde(default)]
    last_active_org: Option<String>,
    responses: Vec<Response>,
}

/// One request's outcome: `status` and the body text, or `error` when the browser could not
/// fetch at all.
#[derive(Debug, Deserialize)]
struct Response {
    path: String,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    body: Option<String>,
    /// Lowercased names; only `cf-mitigated`, `retry-after` and `location` are read.
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    error: Option<String>,
}

impl Message {
    fn parse(bytes: &[u8]) -> Result<Message, String> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| format!("invalid message: not JSON: {e}"))?;
        if !value.is_object() {
            return Err("invalid message: not a JSON object".into());
        }
        let message: Message =
            serde_json::from_value(value).map_err(|e| format!("invalid message: {e}"))?;
        if message.kind != "usage" {
            return Err(format!(
                "invalid message: unknown type {:?} (expected \"usage\")",
                printable(&message.kind)
            ));
        }
        if message.fetched_at().is_none() {
            return Err(format!(
                "invalid message: fetched_at {:?} is not an RFC 3339 time",
                printable(&message.fetched_at)
            ));
        }
        if message.responses.len() > MAX_ANSWERS {
            return Err(format!(
                "invalid message: {} responses (at most {MAX_ANSWERS})",
                message.responses.len()
            ));
        }
        for r in &message.responses {
            if !r.path.starts_with("/api/") || r.path.chars().any(|c| c.is_control()) {
                return Err(format!(
                    "invalid message: path {:?} is not a claude.ai API path",
                    printable(&r.path)
                ));
            }
            if r.status.is_some() == r.error.is_some() {
                return Err(format!(
                    "invalid message: {} needs exactly one of status and error",
                    r.path
                ));
            }
        }
        let org_ok = |o: &String| {
            !o.is_empty()
                && o.len() <= 64
                && o.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        if message.last_active_org.as_ref().is_some_and(|o| !org_ok(o)) {
            return Err("invalid message: last_active_org is not an org uuid".into());
        }
        Ok(message)
    }

    fn fetched_at(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.fetched_at)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

/// The answers as the join's `Endpoints`: judged by the same rules as quotaline's own
/// requests, parsed by the same parsers.
impl Endpoints for Message {
    fn get_json(&self, path: &str) -> Result<Value, FetchError> {
        match self.answer(path, false)? {
            Optional::Found(v) => Ok(v),
            Optional::NotFound => unreachable!("404 is an error unless asked for"),
        }
    }
    fn get_optional(&self, path: &str) -> Result<Optional, FetchError> {
        self.answer(path, true)
    }
}

impl Message {
    fn answer(&self, path: &str, soft_404: bool) -> Result<Optional, FetchError> {
        let Some(r) = self.responses.iter().find(|r| r.path == path) else {
            // The extension stops after an answer that ends the tick; a missing billing
            // part then keeps its earlier value, a missing usage fails its org.
            return Err(FetchError::new(
                ErrorKind::Parse,
                format!("the extension sent no answer for {path}"),
            ));
        };
        if let Some(e) = &r.error {
            return Err(FetchError::new(
                ErrorKind::Network,
                format!("the browser could not fetch {path}: {}", printable(e)),
            ));
        }
        let header = |name: &str| r.headers.get(name).map(String::as_str);
        let answer = Answer {
            status: r.status.unwrap_or(0),
            cf_mitigated: header("cf-mitigated"),
            retry_after: header("retry-after"),
            location: header("location"),
            body: r.body.as_deref().unwrap_or("").as_bytes(),
        };
        judge(SERVICE, path, &answer, soft_404)
    }
}

/// Stores one message's reading and says what happened, as the reply's JSON.
pub fn handle(cache: &Cache, bytes: &[u8], now: DateTime<Utc>) -> Value {
    let message = match Message::parse(bytes) {
        Ok(m) => m,
        Err(e) => return json!({"ok": false, "error": e}),
    };
    // The browser runs on this machine's clock; a reading "from the future" is now.
    let fetched_at = message.fetched_at().unwrap_or(now).min(now);
    let stored = cache.update(|c| {
        if c.snapshot
            .as_ref()
            .is_some_and(|s| s.fetched_at > fetched_at)
        {
            return Ok(false); // a newer reading is already there
        }
        let joined = claude_ai::join(
            &message,
            SOURCE,
            fetched_at,
            message.last_active_org.clone(),
            c.snapshot.as_ref(),
        );
        let mut report = ExtensionReport {
            at: now,
            fetched_at,
            error: None,
        };
        let result = match joined {
            Ok(snapshot) => {
                // The browser read `/api/account` too: its org list is complete.
                let mut merged = crate::source::merge(c.snapshot.as_ref(), snapshot, true);
                // While the browser reports, `refresh` stands back: its readings are the
                // history that burn rate and pace are computed from.
                crate::history::annotate(&cache.dir, &mut merged, now);
                c.snapshot = Some(merged);
                // The numbers are fresh: an earlier failure of quotaline's own requests is
                // over as far as the user can tell.
                c.state.record_success(now);
                Ok(true)
            }
            Err(e) => {
                report.error = Some(e.message.clone());
                Err(e.message)
            }
        };
        c.extension = Some(report);
        result
    });
    match stored {
        Err(e) => json!({"ok": false, "error": format!("cannot use the cache: {e}")}),
        Ok(Err(e)) => json!({"ok": false, "error": e}),
        Ok(Ok(false)) => json!({"ok": true, "stored": false,
            "note": "the cache already holds a newer reading"}),
        Ok(Ok(true)) => {
            let file = cache.read();
            // The zero-fork shell prompts read pre-rendered lines: bring them up to date.
            let _ = render::prerender::write_all(cache, &file);
            summary(&file, now)
        }
    }
}

/// The `ok` reply: the segment line and the worst window, so the extension's badge shows
/// what the prompt shows without parsing anything itself.
fn summary(file: &CacheFile, now: DateTime<Utc>) -> Value {
    let org = settings::org(None);
    let thresholds = settings::thresholds(None, None);
    let line = render::markup::markup(
        &Line {
            cache: file,
            org: org.as_deref(),
            format: None,
            now,
            ttl: settings::ttl(),
            thresholds,
        }
        .spans(),
        render::markup::Target::Plain,
        false,
    );
    let shown = file.snapshot.as_ref().and_then(|s| s.org(org.as_deref()));
    let worst = shown.and_then(|o| {
        o.windows
            .values()
            .map(|w| w.utilization)
            .fold(None, |m: Option<f64>, u| Some(m.map_or(u, |m| m.max(u))))
    });
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
        reply(output, &handle(cache, &body, Utc::now()))?;
    }
}

/// `quotaline native-host [ARGS...]`. The browser passes the caller's origin (Chrome:
/// `chrome-extension://<id>/`, plus `--parent-window=` on Windows; Firefox: the manifest
/// path and the extension id); the host manifest's `allowed_origins` already decided who
/// may call, so the arguments are ignored.
pub fn run(_browser_args: Vec<String>) -> i32 {
    let cache = Cache::locate();
    let mut stdin = io::stdin().lock();
    let mut stdout = io::stdout().lock();
    match serve(&mut stdin, &mut stdout, &cache) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("quotaline native-host: {e}");
            1
        }
    }
}

/// Whether these arguments are how a browser starts a native host (see `main`).
pub fn started_by_browser(args: &[String]) -> bool {
    let chrome = args
        .first()
        .is_some_and(|a| a.starts_with("chrome-extension://"));
    let firefox = args.len() >= 2 && args[0].ends_with(".json") && args[1] == GECKO_ID;
    chrome || firefox
}

/// Whether the shown org holds an extension reading young enough that `refresh` should
/// not fetch on its own.
pub fn browser_is_fresh(file: &CacheFile, now: DateTime<Utc>) -> bool {
    let org = settings::org(None);
    file.snapshot
        .as_ref()
        .and_then(|s| s.org(org.as_deref()))
        .and_then(|o| o.sources.get("usage"))
        .is_some_and(|p| p.source == SOURCE && (now - p.at).num_seconds() < FRESH_FOR_SECS)
}

/// One line on when the extension last reported, for `status` and `doctor`; `None` when it
/// never did.
pub fn last_report(file: &CacheFile, now: DateTime<Utc>) -> Option<String> {
    let r = file.extension.as_ref()?;
    let age = (now - r.fetched_at).num_seconds().max(0);
    let ago = short_duration(age);
    let when = r.fetched_at.format("%H:%M:%S UTC");
    Some(match &r.error {
        None if age < FRESH_FOR_SECS => {
            format!("reported {ago} ago ({when}); quotaline leaves the fetching to the browser")
        }
        None => format!(
            "reported {ago} ago ({when}); silent for over {} min, so quotaline fetches itself",
            FRESH_FOR_SECS / 60
        ),
        Some(e) => format!("reported {ago} ago ({when}) without numbers: {e}"),
    })
}
