//! The `--format` language, its syntax only: text, `{placeholder}`, and `( ... )` groups that
//! disappear when a placeholder inside them has no value (like starship's conditional
//! groups); `\` escapes the next char. Parsing and checking live here, below the settings
//! that check a format and the renderer that fills one in (`render/template.rs`).

use crate::window;

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Text(String),
    Var(String),
    Group(Vec<Node>),
}

/// Shown for a bare placeholder that has no value.
pub const MISSING: &str = "–";

/// Groups nest at most this deep; a deeper `(` is plain text. Real formats use one or two
/// levels, and the parser recurses once per level: 50,000 `(` must not overflow the stack.
pub const MAX_DEPTH: usize = 16;

pub fn parse(format: &str) -> Vec<Node> {
    let mut chars = format.chars().peekable();
    parse_until(&mut chars, 0)
}

fn parse_until(chars: &mut std::iter::Peekable<std::str::Chars>, depth: usize) -> Vec<Node> {
    let in_group = depth > 0;
    let mut nodes = Vec::new();
    let mut text = String::new();
    let flush = |text: &mut String, nodes: &mut Vec<Node>| {
        if !text.is_empty() {
            nodes.push(Node::Text(std::mem::take(text)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => text.extend(chars.next()),
            '{' => {
                let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                flush(&mut text, &mut nodes);
                nodes.push(Node::Var(name.trim().to_string()));
            }
            '(' if depth < MAX_DEPTH => {
                flush(&mut text, &mut nodes);
                nodes.push(Node::Group(parse_until(chars, depth + 1)));
            }
            ')' if in_group => break,
            c => text.push(c),
        }
    }
    flush(&mut text, &mut nodes);
    nodes
}

/// Why a format cannot be used: the message (with the character it is at) and, for an
/// unknown placeholder, the one probably meant.
#[derive(Clone, Debug, PartialEq)]
pub struct Bad {
    pub message: String,
    /// The character the problem is at, counted from 0.
    pub at: usize,
    /// `{5h}` for `{5hh}`.
    pub suggestion: Option<String>,
}

impl Bad {
    fn at(at: usize, message: String) -> Bad {
        Bad {
            message,
            at,
            suggestion: None,
        }
    }

    /// The second line of the error: the placeholder meant, and what there is.
    pub fn fix(&self) -> String {
        let meant = self
            .suggestion
            .as_deref()
            .map(|s| format!("did you mean {s}? "))
            .unwrap_or_default();
        format!(
            "{meant}placeholders: a window ({{5h}}, {{7d}}, {{opus}}, any key the server \
             sends), its {{…_reset}}, {{…_eta}}, {{…_pace}}, and {}",
            PLACEHOLDERS
                .iter()
                .map(|p| format!("{{{p}}}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

impl std::fmt::Display for Bad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(s) = &self.suggestion {
            write!(f, " (did you mean {s}?)")?;
        }
        Ok(())
    }
}

/// The placeholders that are not about one window (`render::View::value` answers them).
pub const PLACEHOLDERS: &[&str] = &[
    "models",
    "reset",
    "extra",
    "plan",
    "email",
    "org",
    "age",
    "status",
    "codex",
    "codex_5h",
    "codex_7d",
    "codex_reset",
];
/// What follows a window's name for its countdown, time to 100% and pace.
pub const SUFFIXES: &[&str] = &["_reset", "_eta", "_pace"];

/// Every placeholder quotaline knows without a reading: the fixed ones, and each window it
/// has a name for, bare and with each suffix. Typos are measured against these.
/// Built once: a long format has many placeholders.
fn vocabulary() -> &'static [String] {
    static VOCABULARY: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    VOCABULARY.get_or_init(|| {
        let mut names: Vec<String> = PLACEHOLDERS.iter().map(|p| p.to_string()).collect();
        for w in window::known_names() {
            names.push(w.to_string());
            names.extend(SUFFIXES.iter().map(|s| format!("{w}{s}")));
        }
        names
    })
}

/// Whether `name` may stand in a template, and if not, the placeholder probably meant.
///
/// Windows are open-ended (the server adds models and codenames, and a template may name
/// one before it first arrives), so the rule cannot be "a window in the cache": a config
/// file would turn invalid the day a codename window goes away. It is: the fixed
/// placeholders; a window quotaline knows (`5h`, `7d`, `opus`, `tangelo`, ...); any
/// per-model weekly key (`seven_day_…`); a known model's version (`opus_4_5`); and any other
/// name that is not one or two edits from a known placeholder (`{5hh}`, `{5h_rset}`,
/// `{opsu}` are typos, `{daily_design}` is a window the server may send), each of the
/// windows also with `_reset`, `_eta` or `_pace`. Only `5h` and `7d` start with a digit.
fn placeholder(name: &str) -> Result<(), Option<String>> {
    // `{5h@work}`: any placeholder, for the account named `work` (any name: accounts are
    // found at refresh time, not known to a format).
    if let Some((base, account)) = name.split_once('@') {
        let named = !account.is_empty()
            && account
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '@'));
        if !named {
            return Err(None);
        }
        return placeholder(base);
    }
    // The typo vocabulary is built only for a name that is not plainly known: a prompt with
    // a format checks every placeholder.
    let meant = || {
        crate::suggest::closest(name, vocabulary().iter().map(String::as_str))
            .map(|s| format!("{{{s}}}"))
    };
    if !window::is_name(name) {
        return Err(meant());
    }
    if PLACEHOLDERS.contains(&name) {
        return Ok(());
    }
    let base = SUFFIXES
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .filter(|b| !b.is_empty())
        .unwrap_or(name);
    let window_ok = if window::known_names().any(|w| w == base) || base.starts_with("seven_day_") {
        true
    } else if base.starts_with(|c: char| c.is_ascii_digit()) {
        false
    } else if let Some(version) = window::MODELS
        .iter()
        .find_map(|m| base.strip_prefix(m)?.strip_prefix('_'))
    {
        // `opus_4_5` is a model; `opus_rest` is `opus_reset` mistyped.
        let suffixes = SUFFIXES.iter().map(|s| &s[1..]);
        crate::suggest::closest(version, suffixes).is_none()
    } else {
        crate::suggest::closest(base, vocabulary().iter().map(String::as_str)).is_none()
    };
    if window_ok {
        Ok(())
    } else {
        Err(meant())
    }
}

/// Checks a format before it is used: every `(` closed, every `{` closed, and every
/// placeholder one quotaline can answer ([`placeholder`] says which).
pub fn check(format: &str) -> Result<(), Bad> {
    check_chars(format.chars())
}

/// [`check`] over the characters as they come, each looked at once: a format of 240 KB in
/// `config.toml` is checked on the prompt path after every edit, and it must cost nothing
/// there (an earlier `chars().nth()` per placeholder made it quadratic: 5 s a prompt).
fn check_chars(chars: impl Iterator<Item = char>) -> Result<(), Bad> {
    let mut open_groups = Vec::new();
    let mut chars = chars.enumerate();
    while let Some((i, c)) = chars.next() {
        let column = i + 1;
        match c {
            '\\' => {
                chars.next();
            }
            '{' => {
                let mut name = String::new();
                let mut closed = false;
                for (_, c) in chars.by_ref() {
                    if c == '}' {
                        closed = true;
                        break;
                    }
                    name.push(c);
                }
                if !closed {
                    return Err(Bad::at(
                        i,
                        format!(
                            "unbalanced {{ }}: the placeholder at character {column} is never \
                             closed"
                        ),
                    ));
                }
                if let Err(suggestion) = placeholder(name.trim()) {
                    return Err(Bad {
                        message: format!(
                            "unknown placeholder {{{}}} at character {column}",
                            name.trim()
                        ),
                        at: i,
                        suggestion,
                    });
                }
            }
            '(' if open_groups.len() == MAX_DEPTH => {
                return Err(Bad::at(
                    i,
                    format!("groups nested deeper than {MAX_DEPTH} (at character {column})"),
                ));
            }
            '(' => open_groups.push(i),
            // Every `)` closes the innermost group; one with none open is the error.
            ')' if open_groups.pop().is_none() => {
                return Err(Bad::at(
                    i,
                    format!(
                        "unbalanced ( ): the `)` at character {column} closes no group (write \
                         \\) for a literal one)"
                    ),
                ));
            }
            _ => {}
        }
    }
    match open_groups.last() {
        Some(&i) => Err(Bad::at(
            i,
            format!(
                "unbalanced ( ): the group opened at character {} is never closed (write \\( \
                 for a literal one)",
                i + 1
            ),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// Counts every character handed out: a check that looks at each once asks for each once.
    struct Counted<'a, I> {
        inner: I,
        asked: &'a Cell<usize>,
    }

    impl<I: Iterator<Item = char>> Iterator for Counted<'_, I> {
        type Item = char;
        fn next(&mut self) -> Option<char> {
            self.asked.set(self.asked.get() + 1);
            self.inner.next()
        }
    }

    fn asked(format: &str) -> (Result<(), Bad>, usize) {
        let asked = Cell::new(0);
        let result = check_chars(Counted {
            inner: format.chars(),
            asked: &asked,
        });
        (result, asked.get())
    }

    #[test]
    fn a_megabyte_format_is_checked_in_one_pass() {
        let unit = "5h {5h} · 7d {7d}( · {models})( · ↻{reset}) \\( ";
        let format = unit.repeat((1 << 20) / unit.len());
        let n = format.chars().count();
        let (result, calls) = asked(&format);
        assert_eq!(result, Ok(()));
        // Each character once, and the one `None` that ends the pass.
        assert_eq!(calls, n + 1);
        // An unclosed placeholder that runs to the end: still one pass.
        let open = format!("{{{}", "a".repeat(1 << 20));
        let (result, calls) = asked(&open);
        assert!(result.unwrap_err().message.contains("never closed"));
        assert_eq!(calls, open.chars().count() + 1);
    }

    fn meant(format: &str) -> Option<String> {
        check(format).unwrap_err().suggestion
    }

    #[test]
    fn known_and_open_ended_placeholders_pass() {
        for ok in [
            "5h {5h} · 7d {7d}( · {models})( · ↻{reset})",
            "{opus} {fable} {haiku} {sonnet_eta} {7d_pace} {5h_reset}",
            "{seven_day_oauth_apps} {tangelo} {routines} {daily_design} {mythos}",
            "{opus_4_5} {seven_day_opus_4} {five_hour} {extra} {plan} {email} {org} {age} {status}",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn any_placeholder_may_name_an_account_and_its_own_typos_still_count() {
        let ok = "{5h@work} {7d_reset@ana} {opus@me@work.example} {plan@ana.b-2}";
        assert_eq!(check(ok), Ok(()));
        assert_eq!(meant("{5hh@work}").as_deref(), Some("{5h}"));
        assert!(check("{5h@}").is_err());
        assert!(check("{5h@a b}").is_err());
    }

    #[test]
    fn typos_of_known_placeholders_are_errors_with_the_one_meant() {
        assert_eq!(meant("{5hh}").as_deref(), Some("{5h}"));
        assert_eq!(meant("5h {5h_rset}").as_deref(), Some("{5h_reset}"));
        assert_eq!(meant("{opsu}").as_deref(), Some("{opus}"));
        assert_eq!(meant("{orgs}").as_deref(), Some("{org}"));
        assert_eq!(meant("{statsu}").as_deref(), Some("{status}"));
        assert_eq!(meant("{opus_rest}").as_deref(), Some("{opus_reset}"));
        assert_eq!(meant("{24h}"), None, "a digit, and nothing close");
        let e = check("5h {5hh} · 7d {7d}").unwrap_err();
        assert_eq!(e.message, "unknown placeholder {5hh} at character 4");
        assert_eq!(e.at, 3);
        assert!(e
            .fix()
            .starts_with("did you mean {5h}? placeholders: a window"));
        assert_eq!(meant("{5 h}").as_deref(), Some("{5h}"));
    }

    #[test]
    fn groups_and_braces_must_balance() {
        assert!(check("5h {5h} (· {7d}")
            .unwrap_err()
            .message
            .contains("never closed"));
        assert!(check("a) b")
            .unwrap_err()
            .message
            .contains("closes no group"));
        assert!(check("{5h").unwrap_err().message.contains("never closed"));
        assert_eq!(check(r"\(x\) \{5h\}"), Ok(()));
    }
}
