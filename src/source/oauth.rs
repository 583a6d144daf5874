//! The OAuth usage endpoint, with Claude Code's own login: the same `/usage` shape as
//! claude.ai, for one org, with no overage or subscription. One request per refresh (two
//! when `.claude.json` does not say which org the login belongs to).

use super::http::{check_base_url, printable, Client};
use crate::auth::claude_code::{self, Account, Login, OauthToken, PROFILE_SCOPE};
use crate::error::{ErrorKind, FetchError};
use crate::snapshot::{parse_usage, Snapshot};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::path::Path;

pub const SOURCE: &str = "oauth";

/// Sent when the installed Claude Code's version cannot be read: other User-Agents land in a
/// much stricter rate-limit bucket.
pub const FALLBACK_VERSION: &str = "2.1.230";

/// The endpoint punishes polling: after a 429 wait at least this long, doubling while it
/// repeats.
pub const RATE_LIMIT_FLOOR_SECS: i64 = 5 * 60;

/// The org uuid numbers are kept under when Claude Code's `.claude.json` names no org and
/// the profile endpoint did not answer.
pub const UNKNOWN_ORG: &str = "claude-code";

fn base_url() -> Result<String, FetchError> {
    let (var, base) = crate::settings::anthropic_api_url();
    check_base_url(var, &base)
}

/// A version string safe to put in a header: digits and dots only.
pub fn clean_version(v: &str) -> Option<String> {
    let v = v.trim();
    let ok = !v.is_empty()
        && v.len() <= 20
        && v.starts_with(|c: char| c.is_ascii_digit())
        && v.chars().all(|c| c.is_ascii_digit() || c == '.');
    ok.then(|| v.to_string())
}

/// The installed Claude Code's version without running it (`claude --version` starts a
/// Node runtime): the native installer's `claude` links to `.../versions/<version>`, an npm
/// install's `cli.js` sits next to its `package.json`, and the "local" install's wrapper
/// script points into `~/.claude/local`.
fn installed_version() -> Option<String> {
    let path = crate::settings::path_var()?;
    let exe = std::env::split_paths(&path)
        .map(|dir| dir.join("claude"))
        .find(|p| p.is_file());
    if let Some(real) = exe.and_then(|e| std::fs::canonicalize(e).ok()) {
        let by_name = real
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(clean_version);
        let by_package = || package_version(&real.parent()?.join("package.json"));
        if let Some(v) = by_name.or_else(by_package) {
            return Some(v);
        }
    }
    let home = crate::settings::home()?;
    package_version(&home.join(".claude/local/node_modules/@anthropic-ai/claude-code/package.json"))
}

fn package_version(package: &Path) -> Option<String> {
    let doc: Value = serde_json::from_slice(&std::fs::read(package).ok()?).ok()?;
    if doc.get("name")?.as_str()? != "@anthropic-ai/claude-code" {
        return None;
    }
    clean_version(doc.get("version")?.as_str()?)
}

/// The version for `User-Agent: claude-code/<version>`: the installed one, else the one
/// Claude Code last reported on statusLine stdin, else a recent release.
pub fn user_agent_version(seen_on_stdin: Option<&str>) -> String {
    installed_version()
        .or_else(|| seen_on_stdin.and_then(clean_version))
        .unwrap_or_else(|| FALLBACK_VERSION.to_string())
}

fn client(token: &OauthToken, version: &str) -> Result<Client, FetchError> {
    crate::redact::register(token.bearer());
    crate::redact::check_header_value(token.bearer(), "Claude Code's OAuth token", &token.origin)
        .map_err(|e| FetchError::new(ErrorKind::Config, e))?;
    Ok(Client::new(
        "api.anthropic.com",
        base_url()?,
        vec![
            ("Authorization", format!("Bearer {}", token.bearer())),
            ("anthropic-beta", "oauth-2025-04-20".to_string()),
            ("Accept", "application/json".to_string()),
            ("User-Agent", format!("claude-code/{version}")),
        ],
    ))
}

fn scope_hint() -> String {
    format!(
        "tokens from `claude setup-token` (CLAUDE_CODE_OAUTH_TOKEN) lack the `{PROFILE_SCOPE}` \
         scope this endpoint needs: log in with `claude` instead, or let Claude Code's \
         statusLine feed quotaline (`quotaline init claude-code`)"
    )
}

/// The HTTP client's generic messages, said the way a Claude Code user can act on.
fn explain(mut e: FetchError) -> FetchError {
    match e.kind {
        ErrorKind::Unauthorized => {
            e.message = "Claude Code login expired or revoked: run `claude` once (HTTP 401 from \
                 api.anthropic.com)"
                .to_string();
        }
        ErrorKind::Forbidden => e.message = format!("{}; {}", e.message, scope_hint()),
        ErrorKind::RateLimited => {
            e.rate_limit_floor = Some(RATE_LIMIT_FLOOR_SECS);
            e.message.push_str(
                " (this endpoint punishes polling: waiting at least 5 min, doubling while \
                 it repeats)",
            );
        }
        _ => {}
    }
    e
}

/// `/api/oauth/profile`, asked only when `.claude.json` does not name the org.
fn profile(client: &Client) -> Option<Account> {
    let body = client.get_json("/api/oauth/profile").ok()?;
    let text = |p: &str| body.pointer(p).and_then(Value::as_str).map(printable);
    Some(Account {
        org_uuid: text("/organization/uuid").filter(|u| !u.is_empty())?,
        org_name: text("/organization/name"),
        email: text("/account/email"),
        ..Account::default()
    })
}

/// One reading of the org of Claude Code's `login`. `previous` decides whether the usage
/// body's copy of extra usage is worth keeping (only when claude.ai never said anything
/// better).
pub fn fetch(
    login: &Login,
    previous: Option<&Snapshot>,
    seen_version: Option<&str>,
) -> Result<Snapshot, FetchError> {
    let now = crate::clock::now();
    let token = claude_code::token(login, now)?;
    if !token.may_read_usage() {
        return Err(FetchError::new(
            ErrorKind::Forbidden,
            format!(
                "the Claude Code login in {} has no `{PROFILE_SCOPE}` scope; {}",
                token.origin,
                scope_hint()
            ),
        ));
    }
    let client = client(&token, &user_agent_version(seen_version))?;
    let body = client.get_json("/api/oauth/usage").map_err(explain)?;
    let account = claude_code::account(login)
        .or_else(|| profile(&client))
        .unwrap_or_else(|| Account {
            org_uuid: UNKNOWN_ORG.to_string(),
            org_name: Some("Claude Code".to_string()),
            ..Account::default()
        });
    let before =
        previous.and_then(|p| p.login_org(account.account_uuid.as_deref(), &account.org_uuid));
    let usage = parse_usage(&body, SOURCE, before)
        .map_err(|m| FetchError::new(ErrorKind::Parse, format!("{m} (from /api/oauth/usage)")))?;
    Ok(snapshot(account, &token, usage, body, previous, now))
}

fn snapshot(
    account: Account,
    token: &OauthToken,
    usage: crate::snapshot::Usage,
    body: Value,
    previous: Option<&Snapshot>,
    now: DateTime<Utc>,
) -> Snapshot {
    let before =
        previous.and_then(|p| p.login_org(account.account_uuid.as_deref(), &account.org_uuid));
    let mut org = super::claude_code_org(&account, usage, body, before, (SOURCE, now));
    org.plan = org.plan.or_else(|| token.plan());
    Snapshot {
        source: SOURCE.to_string(),
        fetched_at: now,
        active_org: previous
            .and_then(|p| p.active_org.clone())
            .or(Some(account.org_uuid)),
        orgs: vec![org],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_digits_and_dots_only() {
        assert_eq!(clean_version("2.1.230").as_deref(), Some("2.1.230"));
        assert_eq!(clean_version(" 2.1.9\n").as_deref(), Some("2.1.9"));
        assert_eq!(clean_version("2.1.0\r\nX-Evil: 1"), None);
        assert_eq!(clean_version("claude"), None);
        assert_eq!(clean_version(""), None);
    }
}
