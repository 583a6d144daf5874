//! Fills in a `--format` (parsed by `crate::template`): a bare placeholder with no value shows
//! as `–`, missing, never zero; a group with a missing placeholder disappears.

use super::Span;
use crate::template::MISSING;
use crate::template::{parse, Node};

/// Renders `format`, asking `lookup` for each placeholder's spans.
pub fn render(format: &str, lookup: &dyn Fn(&str) -> Option<Vec<Span>>) -> Vec<Span> {
    let mut out = Vec::new();
    render_nodes(&parse(format), lookup, &mut out, false);
    out
}

/// Returns false when a placeholder had no value and `strict` (inside a group) is set.
fn render_nodes(
    nodes: &[Node],
    lookup: &dyn Fn(&str) -> Option<Vec<Span>>,
    out: &mut Vec<Span>,
    strict: bool,
) -> bool {
    for node in nodes {
        match node {
            Node::Text(t) => out.push(Span::text(t)),
            Node::Var(name) => match lookup(name) {
                Some(spans) => out.extend(spans),
                None if strict => return false,
                None => out.push(Span::text(MISSING)),
            },
            Node::Group(inner) => {
                let mut group = Vec::new();
                if render_nodes(inner, lookup, &mut group, true) {
                    out.extend(group);
                }
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(format: &str) -> String {
        let lookup = |name: &str| match name {
            "5h" => Some(vec![Span::text("37%")]),
            "empty" => Some(vec![]),
            _ => None,
        };
        render(format, &lookup)
            .iter()
            .map(|s| s.text.as_str())
            .collect()
    }

    #[test]
    fn groups_vanish_when_a_placeholder_inside_has_no_value() {
        assert_eq!(plain("5h {5h}( · opus {opus})"), "5h 37%");
        assert_eq!(plain("(5h {5h})( opus {opus} {5h})"), "5h 37%");
        assert_eq!(plain("[(a{5h}(b{nope}))]"), "[a37%]");
    }

    #[test]
    fn bare_missing_placeholder_shows_a_dash_not_zero() {
        assert_eq!(plain("opus {opus}"), "opus –");
    }

    #[test]
    fn escapes_and_unbalanced_input_are_literal() {
        assert_eq!(plain(r"\(x\) \{5h\}"), "(x) {5h}");
        assert_eq!(plain("a) b"), "a) b");
        assert_eq!(plain("(unclosed {5h}"), "unclosed 37%");
        assert_eq!(plain("{5h"), "37%");
    }
}
