//! Claude Code's own cache as a source: the `/usage` body it last fetched, kept in
//! `.claude.json` as `cachedUsageUtilization` (`auth::claude_code` reads it, with the memo
//! that keeps the statusLine's cost flat). When it is newer than what quotaline holds for
//! that account's org, it is a full reading that cost no request.

use crate::auth::claude_code::Account;
use crate::snapshot::{parse_usage, part, Snapshot};
use chrono::{DateTime, Utc};

pub const SOURCE: &str = "claude-code-cache";

/// The reading `account`'s cache holds for its org, as a one-org snapshot to merge; `None`
/// when there is none or it is not newer than the org's last full reading; `Err` when its body
/// cannot be read (the last numbers stay). A time "from the future" is taken as `now`.
pub fn reading(
    account: &Account,
    previous: Option<&Snapshot>,
    now: DateTime<Utc>,
) -> Option<Result<Snapshot, String>> {
    let cached = account.cached_usage.as_ref()?;
    // Only the process that read `.claude.json` holds the body (`CachedUsage::body`).
    let body = cached.body.as_ref()?;
    let at = cached.fetched_at.min(now);
    let held =
        previous.and_then(|p| p.login_org(account.account_uuid.as_deref(), &account.org_uuid));
    if held
        .and_then(|o| o.sources.get(part::USAGE))
        .is_some_and(|p| p.at >= at)
    {
        return None;
    }
    let usage = match parse_usage(body, SOURCE, held) {
        Ok(u) => u,
        Err(e) => {
            return Some(Err(format!(
                "{e} (from Claude Code's cachedUsageUtilization)"
            )))
        }
    };
    let org = super::claude_code_org(account, usage, body.clone(), held, (SOURCE, at));
    Some(Ok(Snapshot {
        source: SOURCE.to_string(),
        fetched_at: at,
        active_org: None,
        orgs: vec![org],
    }))
}
