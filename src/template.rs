//! The `--format` language, its syntax only: text, `{placeholder}`, and `( ... )` groups that
//! disappear when a placeholder inside them has no value (like starship's conditional
//! groups); `\` escapes the next char. Parsing and checking live here, below the settings
//! that check a format and the renderer that fills one in (`render/template.rs`).

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

/// Refuses a format nested deeper than [`MAX_DEPTH`] (for `--format`, which is otherwise
/// taken as written: a stray `)` is text there).
pub fn check_depth(format: &str) -> Result<(), String> {
    let (mut depth, mut escaped) = (0usize, false);
    for (i, c) in format.chars().enumerate() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '(' if depth == MAX_DEPTH => {
                return Err(format!(
                    "groups nested deeper than {MAX_DEPTH} (at character {})",
                    i + 1
                ))
            }
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Checks a format before it is saved as a setting: every `(` closed, every `{` closed, and
/// every placeholder a name (lowercase letters, digits, `_`: `5h`, `opus`, `seven_day_eta`).
/// Window names are open-ended (the server adds models), so a well-formed unknown name is
/// not an error: it shows as missing.
pub fn check(format: &str) -> Result<(), String> {
    check_chars(format.chars())
}

/// [`check`] over the characters as they come, each looked at once: a format of 240 KB in
/// `config.toml` is checked on the prompt path after every edit, and it must cost nothing
/// there (an earlier `chars().nth()` per placeholder made it quadratic: 5 s a prompt).
fn check_chars(chars: impl Iterator<Item = char>) -> Result<(), String> {
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
                    return Err(format!(
                        "unbalanced {{ }}: the placeholder at character {column} is never closed"
                    ));
                }
                let name = name.trim();
                let known = !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if !known {
                    return Err(format!(
                        "unknown placeholder {{{name}}} at character {column} (e.g. {{5h}}, {{7d}}, {{opus}}, {{reset}})"
                    ));
                }
            }
            '(' if open_groups.len() == MAX_DEPTH => {
                return Err(format!(
                    "groups nested deeper than {MAX_DEPTH} (at character {column})"
                ));
            }
            '(' => open_groups.push(column),
            // Every `)` closes the innermost group; one with none open is the error.
            ')' if open_groups.pop().is_none() => {
                return Err(format!(
                    "unbalanced ( ): the `)` at character {column} closes no group (write \\) for a literal one)"
                ));
            }
            _ => {}
        }
    }
    match open_groups.last() {
        Some(column) => Err(format!(
            "unbalanced ( ): the group opened at character {column} is never closed"
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

    fn asked(format: &str) -> (Result<(), String>, usize) {
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
        assert!(result.unwrap_err().contains("never closed"));
        assert_eq!(calls, open.chars().count() + 1);
    }

    #[test]
    fn formats_are_checked_as_before() {
        assert_eq!(check("5h {5h}( · {opus})"), Ok(()));
        assert_eq!(
            check("{5h"),
            Err("unbalanced { }: the placeholder at character 1 is never closed".into())
        );
        assert_eq!(
            check("a {5 h}"),
            Err(
                "unknown placeholder {5 h} at character 3 (e.g. {5h}, {7d}, {opus}, {reset})"
                    .into()
            )
        );
        assert_eq!(
            check("x)"),
            Err("unbalanced ( ): the `)` at character 2 closes no group (write \\) for a literal one)".into())
        );
        assert_eq!(
            check("(("),
            Err("unbalanced ( ): the group opened at character 2 is never closed".into())
        );
        assert_eq!(check("\\{ \\( {7d}"), Ok(()));
    }
}
