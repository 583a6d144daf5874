//! "Did you mean": the closest of the names quotaline knows to one it was given (a command, a
//! flag, a target, a window, a placeholder), by edit distance. Ten lines do it; no crate.

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbours (`fabel` -> `fable` is one edit, as a person sees it), by characters.
pub fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // Three rows of the table: two back (for swaps), one back, and this one.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut last: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            row[j] = (last[j] + 1).min(row[j - 1] + 1).min(last[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                row[j] = row[j].min(before[j - 2] + 1);
            }
        }
        before = std::mem::replace(&mut last, row);
    }
    last[b.len()]
}

/// `did you mean `x`? ` for the closest of `known`, or nothing: the start of the second line
/// of every "no such name" error, before the list of what there is.
pub fn did_you_mean<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, known)
        .map(|s| format!("did you mean `{s}`? "))
        .unwrap_or_default()
}

/// What there is, for that list: `names` joined, or `none` when there is nothing.
pub fn listed(names: &[&str], none: &str) -> String {
    if names.is_empty() {
        none.to_string()
    } else {
        names.join(", ")
    }
}

/// How many edits still read as a typo of a word this long: one for short words (`5hh`,
/// `statu`), two from six characters (`--forc`), three from nine.
pub fn tolerance(word: &str) -> usize {
    (word.chars().count() / 3).clamp(1, 3)
}

/// The candidate closest to `word` within [`tolerance`], the first of equals; `None` when
/// `word` is one of them or nothing is close.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    let (len, reach) = (word.chars().count(), tolerance(word));
    for c in candidates {
        // Lengths further apart than the reach cannot be close: a megabyte-long name is not
        // measured against every candidate.
        if len.abs_diff(c.chars().count()) > reach {
            continue;
        }
        let d = distance(word, c);
        if d == 0 {
            return None;
        }
        if d <= reach && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_people_make_are_one_or_two_edits() {
        assert_eq!(distance("statu", "status"), 1);
        assert_eq!(distance("fabel", "fable"), 1);
        assert_eq!(distance("tmuxx", "tmux"), 1);
        assert_eq!(distance("5h_rset", "5h_reset"), 1);
        assert_eq!(distance("opsu", "opus"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn the_closest_name_within_reach_or_none() {
        let commands = ["segment", "status", "refresh", "check"];
        assert_eq!(closest("statu", commands), Some("status"));
        assert_eq!(closest("refesh", commands), Some("refresh"));
        assert_eq!(closest("status", commands), None, "itself");
        assert_eq!(closest("zzz", commands), None);
        assert_eq!(
            closest("--forc", ["--force", "--render-only"]),
            Some("--force")
        );
        assert_eq!(closest("5hh", ["5h", "7d", "opus"]), Some("5h"));
        assert_eq!(closest("x", ["5h", "7d"]), None);
        assert_eq!(closest(&"a".repeat(1 << 20), ["abc"]), None, "not measured");
    }
}
