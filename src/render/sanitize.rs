//! The one rule for text a person reads: nothing in it may steer the terminal, the bar or the
//! reader's eye. Server text that names things (org, email, plan, model, currency, an error's
//! message) is data everywhere, and every human-readable output is cleaned where it leaves the
//! program: the segment's spans in `markup::escape` (every target, the waybar tooltip, the
//! statusLine), the reports and messages as [`Lines`] (`status`, `check`, `history`,
//! `doctor`) and `cmd::warn` (every error). quotaline's own colour codes are added after
//! cleaning, so they are the only control sequences that reach an output. `json` is not text
//! for a person: the serializer escapes it.
//!
//! What a forbidden character becomes:
//! - a line or tab break (`\t \n \v \f \r`, NEL, U+2028, U+2029): one space, so a name
//!   holding a newline stays on its line and reads as words, and cannot forge a line of a
//!   report;
//! - a bidirectional control (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C):
//!   nothing, since they are invisible, harmless in a right-to-left name without their effect,
//!   and only that effect (reordering what the reader sees) has to go;
//! - any other C0 or C1 control, or DEL: U+FFFD (`�`), so the reader sees that something was
//!   there (an escape sequence shows as `�]0;title�`) and two words never run together.

use std::borrow::Cow;

/// What `c` is shown as: itself, a replacement, or nothing.
fn shown(c: char) -> Option<char> {
    match c {
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' => Some(' '),
        '\u{200e}' | '\u{200f}' | '\u{61c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
            None
        }
        c if c.is_control() => Some('\u{fffd}'),
        c => Some(c),
    }
}

/// The bytes that may start a forbidden character: C0 controls and DEL, and the UTF-8 lead
/// bytes of C1 (0xC2), U+061C (0xD8) and U+200E-U+2069 (0xE2). A table, so the scan costs one
/// load per byte.
const SUSPECT: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[0x7f] = true;
    table[0xc2] = true;
    table[0xd8] = true;
    table[0xe2] = true;
    table
};

/// Whether `text` holds a forbidden character, decided on its UTF-8 bytes without decoding:
/// the prompt path runs this on every span. Continuation bytes are 0x80-0xBF, so a suspect
/// byte always starts a character, and the bytes after it tell which.
fn needs_cleaning(text: &str) -> bool {
    let mut rest = text.as_bytes();
    while let Some(at) = rest.iter().position(|&b| SUSPECT[b as usize]) {
        rest = &rest[at..];
        match rest {
            [0x00..=0x1f | 0x7f, ..]
            | [0xc2, 0x80..=0x9f, ..]
            | [0xd8, 0x9c, ..]
            | [0xe2, 0x80, 0x8e | 0x8f | 0xa8..=0xae, ..]
            | [0xe2, 0x81, 0xa6..=0xa9, ..] => return true,
            _ => rest = &rest[1..],
        }
    }
    false
}

/// `text` as it may be shown, on one line; borrowed as it is when nothing needs cleaning.
pub fn clean(text: &str) -> Cow<'_, str> {
    if !needs_cleaning(text) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().filter_map(shown).collect())
}

/// Whether `c` may never reach an output: what [`clean`] replaces or drops.
pub fn forbidden(c: char) -> bool {
    shown(c) != Some(c)
}

/// Human-readable output, built a line at a time: each line is cleaned as it is added, so
/// what leaves the program holds no control character but the line breaks between lines.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lines(String);

impl Lines {
    pub fn new() -> Lines {
        Lines::default()
    }

    /// Adds `text` as one line (a newline inside it becomes a space).
    pub fn line(&mut self, text: impl AsRef<str>) {
        self.0.push_str(&clean(text.as_ref()));
        self.0.push('\n');
    }

    pub fn blank(&mut self) {
        self.0.push('\n');
    }

    /// The text, each line ending in `\n`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_become_marks_breaks_become_spaces_and_bidi_controls_vanish() {
        assert_eq!(
            clean("Evil\x1b]0;title\x07 \x1b[2J\u{202e}Name\u{9b}\x7f"),
            "Evil\u{fffd}]0;title\u{fffd} \u{fffd}[2JName\u{fffd}\u{fffd}"
        );
        assert_eq!(clean("a\nb\r\nc\td\u{2028}e"), "a b  c d e");
        assert_eq!(
            clean("\u{200e}\u{200f}\u{61c}\u{202a}\u{202d}\u{2066}\u{2069}x"),
            "x"
        );
        for c in [
            '\0', '\x1b', '\x7f', '\u{80}', '\u{9f}', '\u{202e}', '\u{2067}',
        ] {
            assert!(forbidden(c), "{c:?}");
        }
    }

    #[test]
    fn the_byte_scan_agrees_with_the_rule_for_every_character() {
        for c in (0..0x11_0000).filter_map(char::from_u32) {
            let text = format!("a{c}b");
            assert_eq!(needs_cleaning(&text), forbidden(c), "{c:?}");
        }
    }

    #[test]
    fn ordinary_text_is_borrowed_untouched() {
        for text in [
            "5h 37% · 7d 58% · ↻1h12m",
            "Ünïcödé Örg — ½ €",
            "مؤسسة",
            "#(x) $(y) %F{red} `z` <b>&",
        ] {
            assert!(
                matches!(clean(text), Cow::Borrowed(t) if t == text),
                "{text}"
            );
        }
    }

    #[test]
    fn a_line_never_holds_a_break_of_its_own() {
        let mut lines = Lines::new();
        lines.line("org: Evil\nlast error: none");
        lines.blank();
        lines.line(String::from("done"));
        assert_eq!(lines.as_str(), "org: Evil last error: none\n\ndone\n");
    }
}
