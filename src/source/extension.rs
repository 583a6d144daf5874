//! The browser extension as a source. The extension in `integrations/browser-extension/`
//! calls the claude.ai endpoints inside the user's own session (the one client the CDN never
//! challenges) and hands the raw answers to `quotaline native-host`; this module checks such a
//! message and turns it into a snapshot with the same join and parsers as quotaline's own
//! requests.

use super::claude_ai::{self, Endpoints};
use super::http::{judge, printable, Answer, Optional};
use crate::error::{ErrorKind, FetchError};
use crate::snapshot::Snapshot;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

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
/// The service named in error messages about answers the browser fetched.
const SERVICE: &str = "claude.ai (in the browser)";
/// More answers than any account needs (1 + 3 per org).
const MAX_ANSWERS: usize = 64;

/// What the extension sends: the answers exactly as the browser got them.
#[derive(Debug, Deserialize)]
pub struct Message {
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
    /// Checks a message before anything in it is used; the error says what is wrong with it.
    pub fn parse(bytes: &[u8]) -> Result<Message, String> {
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
        if message
            .last_active_org
            .as_ref()
            .is_some_and(|o| !crate::snapshot::is_org_uuid(o))
        {
            return Err("invalid message: last_active_org is not an org uuid".into());
        }
        Ok(message)
    }

    pub fn fetched_at(&self) -> Option<DateTime<Utc>> {
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
    fn service(&self) -> &str {
        SERVICE
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

    /// The reading: the join over the browser's answers, stamped with when the browser
    /// fetched them (a time "from the future" on this machine's clock is `now`).
    pub fn read(
        &self,
        previous: Option<&Snapshot>,
        now: DateTime<Utc>,
    ) -> Result<Snapshot, FetchError> {
        // The browser asked for every part: each one it answered is taken.
        let at = self.received_at(now);
        claude_ai::join(
            self,
            SOURCE,
            at,
            self.last_active_org.clone(),
            previous,
            &crate::schedule::Plan::everything(at),
        )
    }

    /// When the browser fetched, as this machine's clock allows.
    pub fn received_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.fetched_at().unwrap_or(now).min(now)
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
