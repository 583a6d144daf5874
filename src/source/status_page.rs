//! Claude's status page (Atlassian Statuspage at status.claude.com): one GET of
//! `/api/v2/summary.json`, bounded by a short timeout, at most every five minutes and only
//! within a refresh that runs anyway. What it says is `claude_status.rs`; its failure is
//! kept for `doctor` and is never a refresh's.

use super::http::{check_base_url, Client};
use crate::claude_status::{self, ClaudeStatus};
use crate::settings;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// The page is a static file behind a CDN: a few seconds is plenty, and a hanging page must
/// cost a refresh no more.
pub const TIMEOUT_SECS: u64 = 3;

const PATH: &str = "/api/v2/summary.json";

/// The page's summary now; `None` when the setting turns it off (`status_url = "off"`).
pub fn fetch(now: DateTime<Utc>) -> Option<Result<ClaudeStatus, String>> {
    let setting = settings::status_url_setting();
    let base = setting.value?;
    let var = match setting.origin {
        settings::Origin::File(_) => "status_url",
        _ => "QUOTALINE_STATUS_URL",
    };
    Some(read(var, &base, now))
}

fn read(var: &str, base: &str, now: DateTime<Utc>) -> Result<ClaudeStatus, String> {
    let base = check_base_url(var, base).map_err(|e| e.message)?;
    let timeout = Duration::from_secs(TIMEOUT_SECS.min(settings::timeout_secs()));
    let client = Client::with_timeout(
        "status.claude.com",
        base,
        vec![
            ("Accept", "application/json".to_string()),
            (
                "User-Agent",
                format!("quotaline/{}", env!("CARGO_PKG_VERSION")),
            ),
        ],
        timeout,
    );
    let body = client.get_json(PATH).map_err(|e| e.message)?;
    claude_status::parse(&body, now).map_err(|e| format!("status.claude.com sent {e}"))
}
