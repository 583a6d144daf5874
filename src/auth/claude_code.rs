//! Claude Code's own login: the OAuth token it stores, and the account it is logged in to.
//! quotaline only reads these. It never refreshes or rewrites the token: refresh tokens
//! rotate, and refreshing behind Claude Code's back would log the user out of Claude Code.

use crate::error::{ErrorKind, FetchError};
use crate::file::Memo;
use crate::settings::{self, Secret};
use crate::snapshot::plan_from_tier;
pub use crate::snapshot::{Account, CachedUsage};
use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;
use std::path::PathBuf;

/// The scope `/api/oauth/usage` needs; `claude setup-token` tokens do not carry it.
pub const PROFILE_SCOPE: &str = "user:profile";

/// The keychain item Claude Code uses on macOS (a `-<hash>` suffix when
/// `CLAUDE_CONFIG_DIR` is set).
const KEYCHAIN_SERVICE: &str = "Claude Code-credentials";

/// An OAuth access token and what the credentials file says about it.
pub struct OauthToken {
    token: String,
    /// Where it was found, for messages: a path, an env var or the keychain item.
    pub origin: String,
    pub expires_at: Option<DateTime<Utc>>,
    /// `None` when the source does not say (`CLAUDE_CODE_OAUTH_TOKEN`).
    pub scopes: Option<Vec<String>>,
    pub subscription_type: Option<String>,
    pub rate_limit_tier: Option<String>,
}

impl fmt::Debug for OauthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "OauthToken {{ origin: {:?}, token: {} }}",
            self.origin,
            fingerprint(&self.token)
        )
    }
}

impl OauthToken {
    pub fn bearer(&self) -> &str {
        &self.token
    }

    pub fn fingerprint(&self) -> String {
        fingerprint(&self.token)
    }

    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }

    /// False only when the file lists scopes and `user:profile` is not among them.
    pub fn may_read_usage(&self) -> bool {
        self.scopes
            .as_ref()
            .is_none_or(|s| s.iter().any(|s| s == PROFILE_SCOPE))
    }

    /// The plan from the token's tier (`default_claude_max_20x`), else its
    /// `subscriptionType` (`max`, `pro`).
    pub fn plan(&self) -> Option<String> {
        self.rate_limit_tier
            .as_deref()
            .and_then(plan_from_tier)
            .or_else(|| {
                let t = self.subscription_type.as_deref()?;
                let mut chars = t.chars();
                let first = chars.next()?.to_uppercase();
                Some(first.chain(chars).collect())
            })
    }
}

use crate::redact::fingerprint;
use crate::render::text::clock;

/// Which Claude Code login: the one Claude Code uses here (`$CLAUDE_CONFIG_DIR`, else
/// `~/.claude` and `~/.claude.json`), or the one in a config dir that config.toml names
/// (`[account.NAME] claude_config_dir`: Claude Code run with `CLAUDE_CONFIG_DIR` set to it,
/// another account's login kept beside the usual one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Login {
    Here,
    Dir(PathBuf),
}

impl Login {
    /// The config dir this login lives in, for messages and as its session's name.
    pub fn dir(&self) -> Option<PathBuf> {
        match self {
            Login::Dir(d) => Some(d.clone()),
            Login::Here => settings::claude_config_dir()
                .map(PathBuf::from)
                .or_else(|| Some(settings::home()?.join(".claude"))),
        }
    }

    /// Where its numbers are said to come from (`quotaline accounts`, its own books in the
    /// cache): `Claude Code (DIR)`, never a secret.
    pub fn origin(&self) -> String {
        settings::claude_code_origin(self.dir().as_deref())
    }

    /// `CLAUDE_CONFIG_DIR` as this login's Claude Code sees it.
    fn config_dir(&self) -> Option<String> {
        match self {
            Login::Dir(d) => Some(d.display().to_string()),
            Login::Here => settings::claude_config_dir(),
        }
    }
}

/// The credential files in the order Claude Code itself prefers them.
fn credential_files(login: &Login) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Some(dir) = login.config_dir() {
        files.push(PathBuf::from(dir).join(".credentials.json"));
    }
    if let (Login::Here, Some(h)) = (login, settings::home()) {
        let default = h.join(".claude/.credentials.json");
        if !files.contains(&default) {
            files.push(default);
        }
    }
    files
}

fn config_error(origin: &str, why: impl fmt::Display) -> FetchError {
    FetchError::new(ErrorKind::Config, format!("{origin}: {why}"))
}

/// Parses a credentials document. `Ok(None)` when it holds no Claude login (only `mcpOAuth`,
/// say).
fn parse_credentials(text: &str, origin: &str) -> Result<Option<OauthToken>, FetchError> {
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| config_error(origin, format!("not valid JSON ({e})")))?;
    let Some(oauth) = doc.get("claudeAiOauth").filter(|v| v.is_object()) else {
        return Ok(None);
    };
    let Some(token) = oauth.get("accessToken").and_then(Value::as_str) else {
        return Ok(None);
    };
    let token = checked_token(token, origin)?;
    let str_field = |k: &str| oauth.get(k).and_then(Value::as_str).map(str::to_string);
    Ok(Some(OauthToken {
        token,
        origin: origin.to_string(),
        expires_at: oauth
            .get("expiresAt")
            .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single()),
        scopes: oauth.get("scopes").and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        }),
        subscription_type: str_field("subscriptionType"),
        rate_limit_tier: str_field("rateLimitTier"),
    }))
}

/// A token that would break the header (a pasted newline) is refused without echoing it.
fn checked_token(token: &str, origin: &str) -> Result<String, FetchError> {
    let token = token.trim();
    if token.is_empty() || token.chars().any(|c| c.is_control() || c == ' ') {
        return Err(config_error(
            origin,
            "the OAuth token is empty or contains a space or control character",
        ));
    }
    Ok(token.to_string())
}

/// The keychain items to try on macOS: the `-<hash>` variant Claude Code uses for a custom
/// `CLAUDE_CONFIG_DIR` (the first 8 hex digits of the SHA-256 of the path), then the plain
/// one.
fn keychain_services(login: &Login) -> Vec<String> {
    use sha2::{Digest, Sha256};
    let mut services = Vec::new();
    if let Some(dir) = login.config_dir() {
        let hash = Sha256::digest(dir.as_bytes());
        let hex: String = hash.iter().take(4).map(|b| format!("{b:02x}")).collect();
        services.push(format!("{KEYCHAIN_SERVICE}-{hex}"));
    }
    // The plain item is the usual login's, never a named dir's.
    if *login == Login::Here {
        services.push(KEYCHAIN_SERVICE.to_string());
    }
    services
}

fn keychain(service: &str) -> Option<String> {
    if !cfg!(target_os = "macos") {
        return None;
    }
    let mut cmd = std::process::Command::new("/usr/bin/security");
    settings::without_secrets(&mut cmd);
    let out = cmd
        .args(["find-generic-password", "-s", service, "-w"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Where Claude Code's login was looked for and what was there.
enum Found {
    Token(OauthToken),
    /// A credentials document with no Claude login in it.
    NoLogin(String),
    Broken(FetchError),
}

/// Every place Claude Code may keep `login`, in order, stopping at the first token.
fn search(login: &Login) -> Vec<Found> {
    let mut found = Vec::new();
    // The variable is the usual login's: a named config dir has its own files.
    if let Some(token) = Secret::ClaudeCodeToken
        .get()
        .filter(|_| *login == Login::Here)
    {
        let origin = "CLAUDE_CODE_OAUTH_TOKEN";
        found.push(match checked_token(&token, origin) {
            Ok(token) => Found::Token(OauthToken {
                token,
                origin: origin.to_string(),
                expires_at: None,
                scopes: None,
                subscription_type: None,
                rate_limit_tier: None,
            }),
            Err(e) => Found::Broken(e),
        });
        return found;
    }
    let files = credential_files(login).into_iter().filter_map(|path| {
        let text = String::from_utf8(crate::file::read(&path, CREDENTIALS_MAX).ok()?).ok()?;
        Some((text, path.display().to_string()))
    });
    let keychain = keychain_services(login).into_iter().filter_map(|service| {
        let text = keychain(&service)?;
        Some((text, format!("macOS keychain item `{service}`")))
    });
    for (text, origin) in files.chain(keychain) {
        match parse_credentials(&text, &origin) {
            Ok(Some(token)) => {
                found.push(Found::Token(token));
                return found;
            }
            Ok(None) => found.push(Found::NoLogin(origin)),
            Err(e) => found.push(Found::Broken(e)),
        }
    }
    found
}

/// The token the OAuth source will use for `login`: `NoCredentials` when Claude Code is not
/// logged in there, `Unauthorized` when its login expired (no request is made with an expired
/// token).
pub fn token(login: &Login, now: DateTime<Utc>) -> Result<OauthToken, FetchError> {
    let mut broken = None;
    for found in search(login) {
        match found {
            Found::Token(t) if t.expired(now) => {
                return Err(FetchError::new(
                    ErrorKind::Unauthorized,
                    // When it expired is `doctor`'s to say, in the reader's zone.
                    format!(
                        "Claude Code login expired: run `claude` once (token from {})",
                        t.origin
                    ),
                ));
            }
            Found::Token(t) => return Ok(t),
            // Where it looked, and what each file held, is `doctor`'s to say (`describe`).
            Found::NoLogin(_) => {}
            Found::Broken(e) => broken = broken.or(Some(e)),
        }
    }
    if let Some(e) = broken {
        return Err(e);
    }
    Err(FetchError::new(
        ErrorKind::NoCredentials,
        "no Claude Code login",
    ))
}

/// Only the keys quotaline needs: `.claude.json` also holds every project's history and can
/// be megabytes, so the rest is skipped without being built.
#[derive(Deserialize)]
struct ClaudeJson {
    #[serde(rename = "oauthAccount")]
    oauth_account: Option<OauthAccount>,
    /// `{fetchedAtMs, accountUuid, utilization: <the /usage body>}`, read leniently: a shape
    /// quotaline does not expect costs that reading, never the account.
    #[serde(rename = "cachedUsageUtilization")]
    cached_usage: Option<Value>,
}

#[derive(Deserialize)]
struct OauthAccount {
    #[serde(rename = "accountUuid")]
    account_uuid: Option<Value>,
    #[serde(rename = "organizationUuid")]
    organization_uuid: Option<String>,
    #[serde(rename = "organizationName")]
    organization_name: Option<String>,
    #[serde(rename = "emailAddress")]
    email_address: Option<String>,
    #[serde(rename = "organizationRateLimitTier")]
    organization_rate_limit_tier: Option<String>,
}

/// `$CLAUDE_CONFIG_DIR/.claude.json`, else `~/.claude.json`; a named dir's own file only.
fn claude_json_files(login: &Login) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Some(dir) = login.config_dir() {
        files.push(PathBuf::from(dir).join(".claude.json"));
    }
    if *login == Login::Here {
        files.extend(settings::home().map(|h| h.join(".claude.json")));
    }
    files
}

/// `.claude.json` keeps Claude Code's project history and has been seen at 65 and 101 MB in
/// the wild; every statusLine call reads it, so a larger one is refused (and `doctor` says
/// so) rather than parsed.
const CLAUDE_JSON_MAX: u64 = 64 << 20;

/// A credentials document is a few hundred bytes.
const CREDENTIALS_MAX: u64 = 1 << 20;

/// The account of Claude Code's `login`, if its `.claude.json` names one with an org.
pub fn account(login: &Login) -> Option<Account> {
    find_account(login).0
}

/// The account from the first `.claude.json` that names one, and why each file before it
/// could not be read (a FIFO, a directory, too large, not JSON), for `doctor`.
fn find_account(login: &Login) -> (Option<Account>, Vec<String>) {
    let mut problems = Vec::new();
    for path in claude_json_files(login) {
        match read_account(&path) {
            Ok(Some(account)) => return (Some(account), problems),
            Ok(None) => {}
            Err(e) => problems.push(e),
        }
    }
    (None, problems)
}

/// The account as last read from `.claude.json`, and which versions of the files it was read
/// from. Claude Code's file is often megabytes of project history: the status line reads it
/// again only when one of them changed (`stat` each), so its cost does not grow with it.
pub type AccountMemo = Memo<Option<Account>>;

/// [`account`], from `kept` when no candidate file changed since; the memo to keep next.
pub fn account_cached(kept: Option<&AccountMemo>) -> AccountMemo {
    Memo::reuse_or(kept, claude_json_files(&Login::Here), |files| {
        files
            .iter()
            .filter(|(_, id)| id.is_some())
            .find_map(|(p, _)| read_account(p).ok().flatten())
    })
}

/// The account uuid `login`'s `.claude.json` names, from `kept` while its file stands still
/// (a refresh of another login need not parse megabytes of project history each time); the
/// memo to keep next.
pub fn account_uuid_cached(
    login: &Login,
    kept: Option<&Memo<Option<String>>>,
) -> Memo<Option<String>> {
    Memo::reuse_or(kept, claude_json_files(login), |_| {
        account(login).and_then(|a| a.account_uuid)
    })
}

/// One `.claude.json`'s account: `Ok(None)` when there is no file or it names none, `Err`
/// when it cannot be read (bounded and non-blocking: `file::read`).
fn read_account(path: &std::path::Path) -> Result<Option<Account>, String> {
    let doc = crate::file::read(path, CLAUDE_JSON_MAX).and_then(|bytes| {
        serde_json::from_slice::<ClaudeJson>(&bytes)
            .map_err(|e| std::io::Error::other(format!("{}: not valid JSON ({e})", path.display())))
    });
    let (a, cached) = match doc {
        Ok(doc) => (doc.oauth_account, doc.cached_usage),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (None, None),
        Err(e) => return Err(e.to_string()),
    };
    Ok(a.and_then(|a| {
        let account_uuid = a
            .account_uuid
            .as_ref()
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
            .map(str::to_string);
        Some(Account {
            org_uuid: a.organization_uuid.filter(|u| !u.is_empty())?,
            org_name: a.organization_name,
            email: a.email_address,
            plan: a
                .organization_rate_limit_tier
                .as_deref()
                .and_then(plan_from_tier),
            cached_usage: cached
                .as_ref()
                .and_then(|c| cached_usage(c, account_uuid.as_deref())),
            account_uuid,
        })
    }))
}

/// `cachedUsageUtilization`, when it is the logged-in account's (its `accountUuid` is the
/// one `oauthAccount` names: a cache left by another login must never show as this one's)
/// and says when it was fetched.
fn cached_usage(v: &Value, account_uuid: Option<&str>) -> Option<CachedUsage> {
    let owner = v.get("accountUuid").and_then(Value::as_str)?;
    if Some(owner) != account_uuid {
        return None;
    }
    let ms = v
        .get("fetchedAtMs")
        .and_then(|m| m.as_i64().or_else(|| m.as_f64().map(|f| f as i64)))?;
    let body = v.get("utilization").filter(|b| b.is_object())?;
    Some(CachedUsage {
        fetched_at: Utc.timestamp_millis_opt(ms).single()?,
        body: Some(body.clone()),
    })
}

/// What `doctor` shows about Claude Code's login: where each candidate was looked for and
/// what it held, the token only as a fingerprint.
pub fn describe(login: &Login, now: DateTime<Utc>) -> Vec<String> {
    let mut lines = Vec::new();
    let found = search(login);
    if found.is_empty() {
        lines.push(format!(
            "no Claude Code login (looked in {}{}{})",
            if *login == Login::Here {
                "CLAUDE_CODE_OAUTH_TOKEN, "
            } else {
                ""
            },
            credential_files(login)
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            if cfg!(target_os = "macos") {
                ", the macOS keychain"
            } else {
                ""
            }
        ));
    }
    for f in found {
        lines.push(match f {
            Found::Token(t) => {
                let expiry = match t.expires_at {
                    Some(e) if e <= now => {
                        format!("EXPIRED {} (run `claude` once)", clock(e))
                    }
                    Some(e) => format!("expires {}", clock(e)),
                    None => "expiry unknown".to_string(),
                };
                let scopes = match &t.scopes {
                    Some(s) if !t.may_read_usage() => {
                        format!(
                            "scopes {} (no {PROFILE_SCOPE}: usage unreadable)",
                            s.join(" ")
                        )
                    }
                    Some(s) => format!("scopes {}", s.join(" ")),
                    None => "scopes unknown".to_string(),
                };
                let mut line = format!(
                    "Claude Code login: {} · {} · {expiry} · {scopes}",
                    t.origin,
                    t.fingerprint()
                );
                if let Some(s) = &t.subscription_type {
                    line.push_str(&format!(" · subscription {s}"));
                }
                line
            }
            Found::NoLogin(origin) => format!("{origin}: no Claude login (only MCP logins)"),
            Found::Broken(e) => e.message,
        });
    }
    let (account, problems) = find_account(login);
    for problem in problems {
        lines.push(format!("Claude Code account: {problem}"));
    }
    match account {
        Some(a) => {
            lines.push(format!(
                "Claude Code account: {} · org {} ({})",
                a.email.as_deref().unwrap_or("unknown email"),
                a.org_name.as_deref().unwrap_or("unnamed"),
                a.org_uuid
            ));
            if let Some(c) = &a.cached_usage {
                lines.push(format!(
                    "Claude Code's cached usage (cachedUsageUtilization): fetched {} (a \
                     reading when newer than quotaline's)",
                    clock(c.fetched_at)
                ));
            }
        }
        None => lines.push(format!(
            "Claude Code account: no oauthAccount in {} (numbers are kept under the org \
             `claude-code`)",
            claude_json_files(login)
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" or ")
        )),
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(name: &str) -> String {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn credentials_file_gives_token_expiry_scopes_and_plan() {
        let t = parse_credentials(&payload("claude_credentials.json"), "f")
            .unwrap()
            .unwrap();
        assert_eq!(t.bearer(), "sk-ant-oat01-EXAMPLE-NOT-A-REAL-TOKEN");
        assert_eq!(
            t.expires_at.unwrap().to_rfc3339(),
            "2100-01-01T00:00:00+00:00"
        );
        assert!(t.may_read_usage());
        assert_eq!(t.plan().as_deref(), Some("Max 20x"));
        let debug = format!("{t:?}");
        assert!(!debug.contains("EXAMPLE"), "{debug}");
        assert_eq!(t.fingerprint(), "sk-ant-oat01-…(37 chars)");
    }

    #[test]
    fn mcp_only_file_is_no_login_and_garbage_is_a_config_error() {
        let mcp = r#"{"mcpOAuth": {"server|abc": {"accessToken": "x"}}}"#;
        assert!(parse_credentials(mcp, "f").unwrap().is_none());
        let err = parse_credentials("{nope", "/x/.credentials.json")
            .err()
            .unwrap();
        assert_eq!(err.kind, ErrorKind::Config);
        assert!(err
            .message
            .starts_with("/x/.credentials.json: not valid JSON"));
        let evil = r#"{"claudeAiOauth": {"accessToken": "a\r\nX-Evil: 1"}}"#;
        let err = parse_credentials(evil, "f").err().unwrap();
        assert!(!err.message.contains("Evil"));
    }

    #[test]
    fn plan_falls_back_to_subscription_type() {
        let doc = r#"{"claudeAiOauth": {"accessToken": "t", "subscriptionType": "pro",
                      "scopes": ["user:inference"]}}"#;
        let t = parse_credentials(doc, "f").unwrap().unwrap();
        assert_eq!(t.plan().as_deref(), Some("Pro"));
        assert!(!t.may_read_usage());
        assert_eq!(t.expires_at, None);
        // One rule for every secret (`redact.rs`): no structural prefix, nothing shown.
        assert_eq!(fingerprint("abcdefgh"), "…(8 chars)");
    }
}
