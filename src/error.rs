//! Why a refresh failed, in words a user can act on. The kinds are part of the JSON
//! interface (`error.kind`), so scripts can switch on them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The CDN's bot challenge: not an auth failure.
    Cloudflare,
    /// 401: the session expired.
    Unauthorized,
    /// 403 with a JSON error: the server's own reason.
    Forbidden,
    RateLimited,
    /// Any other HTTP status, or a body too large to be a payload.
    Http,
    Network,
    Timeout,
    /// A body quotaline does not recognize: previous numbers are kept, nothing shows as 0%.
    Parse,
    NoCredentials,
    /// The user's own settings are unusable (a non-https base URL, a world-readable key file).
    Config,
}

impl ErrorKind {
    /// Every kind: `quotaline metrics` has one `quotaline_last_error` series per kind.
    pub const ALL: [ErrorKind; 10] = [
        ErrorKind::Cloudflare,
        ErrorKind::Unauthorized,
        ErrorKind::Forbidden,
        ErrorKind::RateLimited,
        ErrorKind::Http,
        ErrorKind::Network,
        ErrorKind::Timeout,
        ErrorKind::Parse,
        ErrorKind::NoCredentials,
        ErrorKind::Config,
    ];

    /// The name as JSON spells it (`rate_limited`).
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// What a line with no numbers shows for this failure, after `quotaline: ` (the one
    /// rule, `render::Line::spans`): the kind in words, `no session` for no credentials.
    pub fn words(self) -> String {
        match self {
            ErrorKind::NoCredentials => "no session".into(),
            kind => kind.name().replace('_', " "),
        }
    }

    /// What to do about a failure of this kind (the message says what happened): the line
    /// under every error a command prints, and the `fix:` of a `failing` event.
    pub fn fix(self) -> &'static str {
        match self {
            ErrorKind::Cloudflare => {
                "open claude.ai in your browser, or let the browser extension read it"
            }
            ErrorKind::Unauthorized => {
                "log in to claude.ai again (Claude Code's login: run `claude` once)"
            }
            ErrorKind::Forbidden => "check the account and org: run `quotaline doctor`",
            ErrorKind::RateLimited => "nothing to do: quotaline waits and tries again",
            ErrorKind::Parse => "the server changed its answers: update quotaline",
            ErrorKind::NoCredentials => {
                "log in to claude.ai in a browser, or set QUOTALINE_SESSION_KEY; run `quotaline \
                 doctor`"
            }
            ErrorKind::Config => "correct the setting it names; run `quotaline doctor`",
            ErrorKind::Http | ErrorKind::Network | ErrorKind::Timeout => {
                "check the network: quotaline keeps trying, backing off"
            }
        }
    }

    /// Failures that say "stop asking for a while": the backoff binds every process.
    pub fn backs_off(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited | ErrorKind::Http | ErrorKind::Network | ErrorKind::Timeout
        )
    }
}

/// A failed fetch. `message` never holds a cookie or token: it is written to the cache and
/// shown in prompts and bug reports.
#[derive(Clone, Debug, PartialEq)]
pub struct FetchError {
    pub kind: ErrorKind,
    pub message: String,
    /// When the server said to come back (429 `Retry-After`).
    pub retry_at: Option<DateTime<Utc>>,
    /// The least a 429 waits, doubling while it repeats, for endpoints that punish polling
    /// (OAuth usage); `None` is the usual 60 s.
    pub rate_limit_floor: Option<i64>,
}

impl FetchError {
    /// The message is scrubbed of every secret this process knows (`redact::scrub`): it may
    /// quote a server's or a library's text.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> FetchError {
        FetchError {
            kind,
            message: crate::redact::scrub(&message.into()),
            retry_at: None,
            rate_limit_floor: None,
        }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The last failure as `quotaline json` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorRecord {
    pub kind: ErrorKind,
    pub message: String,
    pub at: DateTime<Utc>,
    pub retry_at: Option<DateTime<Utc>>,
}
