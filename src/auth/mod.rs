//! Where claude.ai credentials come from. Everything here runs on the refresh path only.
//! A credential lives in memory for one refresh and is never written anywhere.

pub mod claude_code;

use crate::error::{ErrorKind, FetchError};
use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

/// A claude.ai Cookie header and where it was found (for messages; never the value).
pub struct Credentials {
    cookie: String,
    pub origin: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Credentials {{ origin: {:?}, cookie: <redacted> }}",
            self.origin
        )
    }
}

impl Credentials {
    /// Refuses values that would break the header (a pasted newline) without echoing them.
    pub fn new(cookie: String, origin: String) -> Result<Credentials, FetchError> {
        if cookie.trim().is_empty() || cookie.chars().any(|c| c.is_control()) {
            return Err(FetchError::new(
                ErrorKind::Config,
                format!("{origin} is empty or contains a line break or control character"),
            ));
        }
        Ok(Credentials {
            cookie: cookie.trim().to_string(),
            origin,
        })
    }

    pub fn cookie_header(&self) -> &str {
        &self.cookie
    }

    /// The `lastActiveOrg` cookie: the org the user last used on claude.ai.
    pub fn last_active_org(&self) -> Option<String> {
        cookie_value(&self.cookie, "lastActiveOrg")
    }
}

fn cookie_value(header: &str, name: &str) -> Option<String> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_string())
    })
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `$XDG_CONFIG_HOME/quotaline/session`, else `~/.config/quotaline/session`.
pub fn session_file() -> Option<PathBuf> {
    let base = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("quotaline").join("session"))
}

/// A session key or a whole Cookie header, as the user gave it.
fn as_cookie(value: &str) -> String {
    let value = value.trim();
    if value.contains('=') {
        value.to_string()
    } else {
        format!("sessionKey={value}")
    }
}

/// The credentials the user set explicitly: `QUOTALINE_COOKIE`, `QUOTALINE_SESSION_KEY`,
/// or the session file (refused unless private). `Ok(None)` when none is set.
pub fn explicit() -> Result<Option<Credentials>, FetchError> {
    if let Some(cookie) = env("QUOTALINE_COOKIE") {
        return Credentials::new(cookie, "QUOTALINE_COOKIE".into()).map(Some);
    }
    if let Some(key) = env("QUOTALINE_SESSION_KEY") {
        return Credentials::new(as_cookie(&key), "QUOTALINE_SESSION_KEY".into()).map(Some);
    }
    let Some(path) = session_file() else {
        return Ok(None);
    };
    let Ok(meta) = std::fs::metadata(&path) else {
        return Ok(None);
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(FetchError::new(
            ErrorKind::Config,
            format!(
                "{} is readable by others (mode {mode:04o}): run `chmod 600 {}`",
                path.display(),
                path.display()
            ),
        ));
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| FetchError::new(ErrorKind::Config, format!("{}: {e}", path.display())))?;
    Credentials::new(as_cookie(&text), path.display().to_string()).map(Some)
}

/// The credentials the next claude.ai refresh will use.
pub fn claude_ai() -> Result<Credentials, FetchError> {
    explicit()?.ok_or_else(|| {
        FetchError::new(
            ErrorKind::NoCredentials,
            "no claude.ai session: set QUOTALINE_SESSION_KEY (the sessionKey cookie of claude.ai) \
             or put it in ~/.config/quotaline/session (mode 0600)",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_values_and_pasted_keys() {
        let c = Credentials::new(
            "sessionKey=sk-1; lastActiveOrg=org-9; cf_clearance=x".into(),
            "test".into(),
        )
        .unwrap();
        assert_eq!(c.last_active_org().as_deref(), Some("org-9"));
        assert_eq!(
            as_cookie("sk-ant-sid01-abc\n"),
            "sessionKey=sk-ant-sid01-abc"
        );
        let err = Credentials::new(
            "sessionKey=a\r\nX-Evil: 1".into(),
            "QUOTALINE_COOKIE".into(),
        )
        .unwrap_err();
        assert!(!err.message.contains("Evil"));
        assert!(format!("{c:?}").contains("<redacted>"));
    }
}
