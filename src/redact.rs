//! The one rule for showing a secret (a session cookie, an OAuth token) without showing it:
//! `doctor`, error messages and `status` name a secret only by its fingerprint.

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
