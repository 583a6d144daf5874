//! The one rule for showing a secret (a session cookie, an OAuth token) without showing it:
//! `doctor`, error messages and `status` name a secret only by its fingerprint; and the one
//! place that takes secrets out of any text that may reach a user. Every credential this
//! process loads is registered here ([`register`]), and every error message is scrubbed
//! ([`scrub`], called by `FetchError::new`) before it is stored or printed: a server or a
//! proxy that echoes a cookie, or a library that quotes a header, leaks nothing.

use std::sync::Mutex;

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Shorter values are not secrets (and would scrub ordinary words).
const MIN_SECRET: usize = 8;

/// Remembers a secret for this process: the value, and each cookie value inside it when it
/// is a Cookie header.
pub fn register(secret: &str) {
    let mut parts = vec![secret.trim().to_string()];
    parts.extend(
        secret
            .split(';')
            .filter_map(|pair| pair.split_once('='))
            .map(|(_, v)| v.trim().to_string()),
    );
    let mut known = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    for part in parts {
        if part.chars().count() >= MIN_SECRET && !known.contains(&part) {
            known.push(part);
        }
    }
    // Longest first, so a header is replaced whole before its parts.
    known.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// `text` with every registered secret replaced by its fingerprint.
pub fn scrub(text: &str) -> String {
    let known = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = text.to_string();
    for secret in known.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(
                secret.as_str(),
                &format!("[redacted {}]", fingerprint(secret)),
            );
        }
    }
    out
}

/// Why a credential cannot be sent, naming it and where it came from but never its value:
/// an HTTP header carries visible ASCII only, and a library refusing it would quote it whole.
pub fn check_header_value(value: &str, what: &str, origin: &str) -> Result<(), String> {
    match value
        .chars()
        .position(|c| !(c == ' ' || c == '\t' || c.is_ascii_graphic()))
    {
        None => Ok(()),
        Some(i) => Err(format!(
            "{what} from {origin} has a character that cannot be sent in an HTTP header \
             (character {}: only visible ASCII is allowed); copy it again",
            i + 1
        )),
    }
}

/// A secret's fingerprint for display: "sk-ant-sid01-…(108 chars)". Shows the structural
/// prefix (up to three `-` groups) but never more than 13 characters, and never more than
/// half of the secret.
pub fn fingerprint(secret: &str) -> String {
    const MAX_PREFIX: usize = 13;
    let length = secret.chars().count();
    let mut prefix_len = 0;
    for (dashes, (index, _)) in secret.match_indices('-').enumerate() {
        let end = index + 1;
        if dashes >= 3 || end > MAX_PREFIX || end * 2 > length {
            break;
        }
        prefix_len = end;
    }
    // Dashes are ASCII, so `prefix_len` is a char boundary and counts characters.
    format!("{}…({length} chars)", &secret[..prefix_len])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_and_their_cookie_values_are_scrubbed() {
        register("sessionKey=sk-ant-sid01-SCRUBME-123; cf_clearance=cf-CLEAR-456");
        let text = "echo: sk-ant-sid01-SCRUBME-123 and cf-CLEAR-456 but not short";
        let out = scrub(text);
        assert!(
            !out.contains("SCRUBME") && !out.contains("CLEAR-456"),
            "{out}"
        );
        assert!(out.contains("[redacted sk-ant-…(24 chars)]"), "{out}");
        assert!(out.ends_with("but not short"));
    }

    #[test]
    fn header_values_must_be_visible_ascii() {
        assert!(check_header_value("sk-ant-sid01-abc", "the session key", "X").is_ok());
        let e = check_header_value(
            "sk-ant-sid01-abé",
            "the session key",
            "QUOTALINE_SESSION_KEY",
        )
        .unwrap_err();
        assert!(
            e.contains("character 16") && e.contains("QUOTALINE_SESSION_KEY"),
            "{e}"
        );
        assert!(!e.contains("abé"), "{e}");
        assert!(check_header_value("a\u{a0}b", "x", "y").is_err());
    }

    #[test]
    fn fingerprint_shows_the_structural_prefix_and_length_only() {
        let secret = format!("sk-ant-sid01-{}", "A".repeat(95));
        assert_eq!(fingerprint(&secret), "sk-ant-sid01-…(108 chars)");
    }

    #[test]
    fn fingerprint_never_shows_more_than_thirteen_chars_or_half_a_short_secret() {
        assert_eq!(fingerprint("abcdefghijklmnop-qrstuvwxyz"), "…(27 chars)");
        assert_eq!(
            fingerprint("0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e"),
            "0b1c2d3e-…(36 chars)"
        );
        assert_eq!(fingerprint("ab-cd"), "…(5 chars)");
        assert_eq!(fingerprint(""), "…(0 chars)");
    }
}
