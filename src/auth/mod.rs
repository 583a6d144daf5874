//! Where claude.ai credentials come from: what the user set explicitly, else the logged-in
//! session in their browsers. Everything here runs on the refresh path only (and `doctor`).
//! A credential lives in memory for one refresh and is never written anywhere.

pub mod browser;
pub mod claude_code;

use crate::error::{ErrorKind, FetchError};
use crate::settings::{self, Secret};
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
        // Known before anything can fail, so no message of this process can quote it.
        crate::redact::register(&cookie);
        if cookie.trim().is_empty() || cookie.chars().any(|c| c.is_control()) {
            return Err(FetchError::new(
                ErrorKind::Config,
                format!("{origin} is empty or contains a line break or control character"),
            ));
        }
        crate::redact::check_header_value(cookie.trim(), "the claude.ai cookie", &origin)
            .map_err(|e| FetchError::new(ErrorKind::Config, e))?;
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

/// `$XDG_CONFIG_HOME/quotaline/session`, else `~/.config/quotaline/session`.
pub fn session_file() -> Option<PathBuf> {
    Some(settings::config_home()?.join("quotaline").join("session"))
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
    explicit_all().into_iter().next().transpose()
}

/// Every session set explicitly, in the order the first is taken: `QUOTALINE_COOKIE`,
/// `QUOTALINE_SESSION_KEY`, the session file. The ones after the first are other logins
/// (another account's key kept in the file while the variable names this one).
fn explicit_all() -> Vec<Result<Credentials, FetchError>> {
    let mut all = Vec::new();
    if let Some(cookie) = Secret::Cookie.get() {
        all.push(Credentials::new(cookie, Secret::Cookie.var().into()));
    }
    if let Some(key) = Secret::SessionKey.get() {
        all.push(Credentials::new(
            as_cookie(&key),
            Secret::SessionKey.var().into(),
        ));
    }
    if let Some(file) = session_file().and_then(|p| read_session_file(&p)) {
        all.push(file);
    }
    all
}

/// The session file's credentials; `None` when there is no file.
fn read_session_file(path: &std::path::Path) -> Option<Result<Credentials, FetchError>> {
    let meta = std::fs::metadata(path).ok()?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Some(Err(FetchError::new(
            ErrorKind::Config,
            format!(
                "{} is readable by others (mode {mode:04o}): run `chmod 600 {}`",
                path.display(),
                path.display()
            ),
        )));
    }
    Some(
        std::fs::read_to_string(path)
            .map_err(|e| FetchError::new(ErrorKind::Config, format!("{}: {e}", path.display())))
            .and_then(|text| Credentials::new(as_cookie(&text), path.display().to_string())),
    )
}

/// Picks the jar a refresh uses: the pinned one; else, with `QUOTALINE_ORG` set, a jar whose
/// `lastActiveOrg` is that org (several accounts in several browsers); else the most recently
/// used one.
pub fn pick_jar(found: &browser::Discovery) -> Option<&browser::Jar> {
    if let Some(pin) = settings::browser_pin() {
        return browser::pick(found, Some(&pin));
    }
    let org = settings::org(None);
    org.as_deref()
        .and_then(|org| found.jars.iter().find(|j| j.last_active_org() == Some(org)))
        .or_else(|| browser::pick(found, None))
}

/// Why no browser session could be used, in a few words: every error that repeats it
/// (`refresh`, `status`, `json`, `check`) stays short, and what was searched, where, and
/// why each profile could not be used is `doctor`'s to say (`ErrorKind::fix` sends people
/// there).
pub fn no_browser_session(found: &browser::Discovery) -> FetchError {
    let pin = settings::browser_setting();
    let message = match &pin.value {
        Some(p) => format!(
            "no claude.ai session: the browser pin {p:?} ({}) matches no profile logged in to \
             claude.ai",
            match &pin.origin {
                settings::Origin::Env(name) => name.to_string(),
                other => other.to_string(),
            }
        ),
        None if found.probes.is_empty() => {
            "no claude.ai session: no browser profile found".to_string()
        }
        None => {
            let troubled = found.probes.iter().any(|p| {
                matches!(
                    p.outcome,
                    browser::Outcome::Undecryptable(_) | browser::Outcome::Locked(_)
                )
            });
            format!(
                "no claude.ai session in {}{}",
                browser::searched_summary(found),
                if troubled {
                    " (some could not be read)"
                } else {
                    ""
                }
            )
        }
    };
    FetchError::new(ErrorKind::NoCredentials, message)
}

/// Every claude.ai login one search found: the one a refresh uses first (the session set
/// explicitly, else the picked browser profile's) and where it was found, and every other
/// browser profile's session with a key of its own (one per distinct key, in the order the
/// browsers were searched), each another login refreshed on its own (`refresh`). The browsers
/// are searched once: with v11 profiles every search asks the keyring.
pub struct Sessions {
    pub first: Result<Credentials, FetchError>,
    pub first_origin: Option<String>,
    pub others: Vec<Credentials>,
}

pub fn sessions() -> Sessions {
    let mut explicit_all = explicit_all().into_iter();
    let explicit = explicit_all.next().transpose();
    // The explicit ones after the first (a session file beside the variable) come first
    // among the others; one that cannot be used is the first one's business only.
    let more: Vec<Credentials> = explicit_all.filter_map(Result::ok).collect();
    let found = browser::discover(&browser::Env::from_process());
    let picked = pick_jar(&found);
    let jar_creds = |jar: &browser::Jar| {
        Credentials::new(
            jar.cookie_header(),
            format!("{} ({})", jar.browser_name, jar.profile),
        )
    };
    let (first, first_origin) = match explicit {
        Ok(Some(c)) => {
            let origin = c.origin.clone();
            (Ok(c), Some(origin))
        }
        Err(e) => (
            Err(e),
            picked.map(|j| format!("{} ({})", j.browser_name, j.profile)),
        ),
        Ok(None) => match picked {
            Some(jar) => (
                jar_creds(jar),
                Some(format!("{} ({})", jar.browser_name, jar.profile)),
            ),
            None => (Err(no_browser_session(&found)), None),
        },
    };
    let mut seen: Vec<String> = match &first {
        Ok(c) => cookie_value(c.cookie_header(), "sessionKey"),
        Err(_) => picked.and_then(|j| j.session_key().map(str::to_string)),
    }
    .into_iter()
    .collect();
    let mut others = Vec::new();
    for creds in more {
        let Some(key) = cookie_value(creds.cookie_header(), "sessionKey") else {
            continue;
        };
        if !seen.contains(&key) {
            seen.push(key);
            others.push(creds);
        }
    }
    for jar in &found.jars {
        let Some(key) = jar.session_key() else {
            continue;
        };
        if seen.iter().any(|k| k == key) {
            continue;
        }
        seen.push(key.to_string());
        if let Ok(creds) = jar_creds(jar) {
            others.push(creds);
        }
    }
    Sessions {
        first,
        first_origin,
        others,
    }
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
