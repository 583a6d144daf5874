//! Markup and escaping per target, in one place: the spans of a line become text for the
//! program that will show it. Every span's text is escaped, whatever its origin (model
//! names, plan and currency come from the server), so it renders literally: `#(...)` never
//! runs in tmux, `%F` and `$(...)` never expand in zsh or bash, and no control character
//! (an escape sequence, a bell, a newline) reaches any output (`sanitize`).

use super::sanitize::{clean, forbidden, Lines};
use super::{Line, Severity, Span};
pub use crate::target::{MenuBar, Target};

impl Severity {
    /// The CSS class (waybar) and the word used in docs.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Warn => "warn",
            Severity::Critical => "critical",
            Severity::Stale => "stale",
            Severity::Error => "error",
        }
    }

    /// Worst first: what a whole line is classed as when its parts differ.
    fn rank(self) -> u8 {
        match self {
            Severity::Ok => 0,
            Severity::Warn => 1,
            Severity::Critical => 2,
            Severity::Stale => 3,
            Severity::Error => 4,
        }
    }

    fn sgr(self) -> &'static str {
        match self {
            Severity::Ok => "32",
            Severity::Warn => "33",
            Severity::Critical | Severity::Error => "31",
            Severity::Stale => "90",
        }
    }

    fn zsh(self) -> &'static str {
        match self {
            Severity::Ok => "green",
            Severity::Warn => "yellow",
            Severity::Critical | Severity::Error => "red",
            Severity::Stale => "8",
        }
    }

    /// A tmux style. Warn and crit set the background and the foreground together: text
    /// alone in yellow or red is unreadable on tmux's stock green bar, and a block of
    /// colour reads the same on dark and light themes. Stale is grey text (readable on green,
    /// black and white), ok keeps the bar's own colours.
    fn tmux(self) -> &'static str {
        match self {
            Severity::Ok => "fg=default",
            Severity::Warn => "fg=black,bg=yellow",
            Severity::Critical | Severity::Error => "fg=white,bg=red",
            Severity::Stale => "fg=brightblack",
        }
    }

    fn hex(self) -> &'static str {
        match self {
            Severity::Ok => "#98c379",
            Severity::Warn => "#e5c07b",
            Severity::Critical | Severity::Error => "#e06c75",
            Severity::Stale => "#7f848e",
        }
    }
}

/// `text` made literal for `target`: cleaned (`sanitize::clean`), then escaped for the
/// program's own markup.
pub fn escape(text: &str, target: Target) -> String {
    literal(&clean(text), target)
}

/// What goes between a text `%` and a text `{` for polybar: a zero-width space.
///
/// polybar's tag parser opens a tag wherever `%` is followed by `{` and takes every other
/// `%` literally; it has no escape at all (`parser::parse_step` in polybar's
/// `src/tags/parser.cpp`, the same in 3.6.0 to 3.7.2 and master; 3.5's
/// `components/parser.cpp` splits text at `%{` alike). `%%` is not an escape there: it
/// draws two signs, and `%%{F#f00}` is a `%` and then a tag. Upstream PR #2748 (lemonbar's
/// `%%` escape) was never merged, because it would turn `Text%` followed by polybar's own
/// `%{PR}` into text. So quotaline writes its own `%` as one `%`, and breaks every `%{` in
/// text with a character polybar draws as nothing (or drops, when the font lacks it): the
/// name still reads as the server sent it, and is never a colour, font or click action.
const POLYBAR_TAG_BREAK: char = '\u{200b}';

/// Already clean `text` escaped for `target`'s markup.
fn literal(text: &str, target: Target) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (target, c) {
            (Target::Zsh, '%') => out.push_str("%%"),
            (Target::Polybar, '%') if chars.peek() == Some(&'{') => {
                out.push('%');
                out.push(POLYBAR_TAG_BREAK);
            }
            (Target::Tmux, '#') => out.push_str("##"),
            // PS1 is decoded (`\\` -> `\`) and then expanded like a double-quoted word, so
            // each of these needs a backslash that survives the first round.
            (Target::Bash, '\\') => out.push_str(r"\\\\"),
            (Target::Bash, '$') => out.push_str(r"\\$"),
            (Target::Bash, '`') => out.push_str(r"\\`"),
            (Target::Waybar, '&') => out.push_str("&amp;"),
            (Target::Waybar, '<') => out.push_str("&lt;"),
            (Target::Waybar, '>') => out.push_str("&gt;"),
            // The plugin protocol has no escape for its attribute separator: a broken bar
            // looks the same and starts nothing.
            (Target::Xbar, '|') => out.push('¦'),
            _ => out.push(c),
        }
    }
    out
}

/// `text` as an OpenMetrics label value (what goes between the quotes): backslash, quote and
/// newline escaped as the exposition format says, everything else as it is, so the label
/// holds exactly what the server sent.
pub fn label_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '"' => out.push_str(r#"\""#),
            '\n' => out.push_str(r"\n"),
            _ => out.push(c),
        }
    }
    out
}

/// A desktop notification's body, for `notify-send`: notification servers read the body as
/// markup (dunst and GNOME as Pango's subset of HTML), so `& < >` become entities, and
/// `notify-send` decodes backslash escapes in it (`\n`), so `\` is doubled. The summary is
/// plain text for both and needs only [`escape`].
pub fn notification_body(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().filter(|&c| !forbidden(c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' => out.push_str("\\\\"),
            _ => out.push(c),
        }
    }
    out
}

/// The opening and closing markup that colours a run for `target`, if it has colour.
fn colour(severity: Severity, target: Target) -> Option<(String, &'static str)> {
    Some(match target {
        Target::Ansi | Target::Fish => (format!("\x1b[{}m", severity.sgr()), "\x1b[39m"),
        Target::Bash => (
            format!("\x01\x1b[{}m\x02", severity.sgr()),
            "\x01\x1b[39m\x02",
        ),
        Target::Zsh => (format!("%F{{{}}}", severity.zsh()), "%f"),
        // tmux's stock status bar is green: "ok" keeps the bar's own colour to stay readable.
        Target::Tmux if severity == Severity::Ok => return None,
        // `fg=default,bg=default` rather than `default`: back to the colours of the status
        // line, whatever style the user's status-right had set before the segment.
        Target::Tmux => (
            format!("#[{}]", severity.tmux()),
            "#[fg=default,bg=default]",
        ),
        Target::Polybar => (format!("%{{F{}}}", severity.hex()), "%{F-}"),
        Target::Plain | Target::Starship | Target::Waybar | Target::Xbar | Target::I3blocks => {
            return None
        }
    })
}

/// The line as text for `target`; `color: false` (`NO_COLOR`) leaves colour out but still
/// escapes. For waybar this is the `text` field's content, before JSON encoding.
pub fn markup(spans: &[Span], target: Target, color: bool) -> String {
    let mut out = String::new();
    for span in spans {
        let text = escape(&span.text, target);
        match span
            .severity
            .filter(|_| color)
            .and_then(|s| colour(s, target))
        {
            Some((open, close)) if !text.is_empty() => {
                out.push_str(&open);
                out.push_str(&text);
                out.push_str(close);
            }
            _ => {
                // Two texts side by side can form a tag too (`…%` then `{…`); a `%` at the
                // end of `out` is always text, since every tag ends with `}`.
                if target == Target::Polybar && out.ends_with('%') && text.starts_with('{') {
                    out.push(POLYBAR_TAG_BREAK);
                }
                out.push_str(&text);
            }
        }
    }
    out
}

/// What a bar shows, unescaped, and the severity it is classed as (the worst of its parts):
/// the line as every surface shows it (`Line::spans`: with no numbers, what went wrong), and
/// `stale` for a line with nothing in it yet.
fn headline(line: &Line, spans: &[Span]) -> (String, Severity) {
    if line.cache.org(line.org).is_none() && spans.is_empty() {
        return (String::new(), Severity::Stale);
    }
    (
        spans.iter().map(|s| s.text.as_str()).collect(),
        spans
            .iter()
            .filter_map(|s| s.severity)
            .max_by_key(|s| s.rank())
            .unwrap_or(Severity::Ok),
    )
}

/// The one JSON line waybar's custom module reads (`"return-type": "json"`): `text`, a
/// multi-line `tooltip` (the status report), `class` and `alt` (`ok`, `warn`, `critical`,
/// `stale` or `error`, for CSS and `format-icons`) and `percentage` (the org's worst current
/// window, left out when it has none: a window past its reset has no number). Waybar parses
/// both texts as Pango markup, so they are escaped for it; the tooltip keeps its newlines (its
/// lines are clean already).
pub fn waybar(line: &Line, spans: &[Span], tooltip: &Lines) -> String {
    let worst = line.cache.org(line.org).and_then(|o| o.worst(line.now));
    let (text, class) = headline(line, spans);
    let text = escape(&text, Target::Waybar);
    let tooltip: String = tooltip
        .as_str()
        .trim_end()
        .split('\n')
        .map(|l| literal(l, Target::Waybar))
        .collect::<Vec<_>>()
        .join("\n");
    let mut json = serde_json::json!({
        "text": text,
        "tooltip": tooltip,
        "class": class.name(),
        "alt": class.name(),
    });
    if let Some(pct) = worst {
        json["percentage"] = serde_json::json!(pct.round() as i64);
    }
    json.to_string()
}

impl MenuBar {
    /// The attributes on every line that make the program show the text literally.
    fn literal(self) -> &'static str {
        match self {
            // `:emoji:` names; ANSI parsing, which also unquotes backslash escapes.
            MenuBar::Xbar => "emojize=false ansi=false",
            // The same, and SF Symbol names.
            MenuBar::SwiftBar => "emojize=false ansi=false symbolize=false",
            // Pango markup, backslash escapes and `:emoji:` names.
            MenuBar::Argos => "useMarkup=false unescape=false emojize=false",
        }
    }
}

/// One plugin line: the text escaped, with a leading `-` made a hyphen so that server text
/// never becomes a `---` separator or a `--` submenu item, then the attributes.
fn xbar_line(text: &str, attrs: &str, bar: MenuBar) -> String {
    let text = escape(text, Target::Xbar);
    let text = match text.strip_prefix('-') {
        Some(rest) => format!("\u{2010}{rest}"),
        None => text,
    };
    let attrs = [attrs, bar.literal()].join(" ");
    format!("{text} | {}", attrs.trim_start())
}

/// The output of an xbar / SwiftBar / Argos plugin: the bar line (coloured by its worst part;
/// `ok` keeps the menu bar's own colour, which follows light and dark mode), `---`, then the
/// status report line by line in a monospace font (its blank lines become separators), and
/// the actions: refresh now (runs `exe`, this binary) and open the usage page.
pub fn xbar(
    line: &Line,
    spans: &[Span],
    report: &str,
    color: bool,
    exe: Option<&str>,
    bar: MenuBar,
) -> String {
    let (text, severity) = headline(line, spans);
    // An empty title hides the menu, and with it the report that says why.
    let text = if text.is_empty() { "–".into() } else { text };
    let attrs = match severity {
        Severity::Ok => String::new(),
        _ if !color => String::new(),
        s => format!("color={}", s.hex()),
    };
    let mut out = vec![xbar_line(&text, &attrs, bar), "---".to_string()];
    for l in report.trim_end().split('\n') {
        out.push(match l.trim() {
            "" => "---".to_string(),
            _ => xbar_line(l, "font=Menlo size=12 trim=false", bar),
        });
    }
    out.push("---".into());
    // A quoted value may hold spaces; a path that holds a quote cannot be written at all.
    if let Some(exe) = exe.filter(|p| !p.contains(['"', '|']) && !p.chars().any(forbidden)) {
        let run =
            format!("bash=\"{exe}\" param1=refresh param2=--force terminal=false refresh=true");
        out.push(xbar_line("Refresh now", &run, bar));
    }
    out.push(xbar_line(
        "Open claude.ai usage",
        "href=https://claude.ai/settings/usage",
        bar,
    ));
    out.join("\n")
}

/// The lines an i3blocks block's command prints: the full text, the short text (the worst
/// current window's percent, for a crowded bar; the full text when there is none) and, with
/// colour, the colour.
pub fn i3blocks(line: &Line, spans: &[Span], color: bool) -> String {
    let (text, severity) = headline(line, spans);
    let full = escape(&text, Target::I3blocks);
    let short = match line.cache.org(line.org).and_then(|o| o.worst(line.now)) {
        Some(pct) => super::text::percent(pct),
        None => full.clone(),
    };
    let mut out = format!("{full}\n{short}");
    if color {
        out.push('\n');
        out.push_str(severity.hex());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::sanitize::forbidden;

    const NASTY: &str = "#(touch x) $(touch y)%F{red} `z` \\ \x1b[31m\x07\n\u{202e}<b>&";

    fn spans() -> Vec<Span> {
        vec![
            Span::text("5h "),
            Span {
                text: "37%".into(),
                severity: Some(Severity::Ok),
            },
            Span::text(" · "),
            Span {
                text: "95%".into(),
                severity: Some(Severity::Critical),
            },
        ]
    }

    #[test]
    fn each_target_colours_with_its_own_markup() {
        let s = spans();
        assert_eq!(markup(&s, Target::Plain, true), "5h 37% · 95%");
        assert_eq!(markup(&s, Target::Starship, true), "5h 37% · 95%");
        assert_eq!(
            markup(&s, Target::Ansi, true),
            "5h \x1b[32m37%\x1b[39m · \x1b[31m95%\x1b[39m"
        );
        assert_eq!(
            markup(&s, Target::Fish, true),
            markup(&s, Target::Ansi, true)
        );
        assert_eq!(
            markup(&s, Target::Bash, true),
            "5h \x01\x1b[32m\x0237%\x01\x1b[39m\x02 · \x01\x1b[31m\x0295%\x01\x1b[39m\x02"
        );
        assert_eq!(
            markup(&s, Target::Zsh, true),
            "5h %F{green}37%%%f · %F{red}95%%%f"
        );
        assert_eq!(
            markup(&s, Target::Tmux, true),
            "5h 37% · #[fg=white,bg=red]95%#[fg=default,bg=default]"
        );
        assert_eq!(
            markup(&s, Target::Polybar, true),
            // polybar: `%` then `%{F-}`: the first `%` is text (no `{` follows), one sign.
            "5h %{F#98c379}37%%{F-} · %{F#e06c75}95%%{F-}"
        );
    }

    #[test]
    fn no_color_drops_colour_but_still_escapes() {
        let s = spans();
        assert_eq!(markup(&s, Target::Zsh, false), "5h 37%% · 95%%");
        assert_eq!(markup(&s, Target::Ansi, false), "5h 37% · 95%");
        assert_eq!(markup(&s, Target::Tmux, false), "5h 37% · 95%");
        assert_eq!(markup(&s, Target::Polybar, false), "5h 37% · 95%");
    }

    #[test]
    fn polybar_text_never_opens_a_tag_and_keeps_single_percents() {
        let zwsp = POLYBAR_TAG_BREAK;
        assert_eq!(
            escape(
                "x%{F#ff0000}red %{A1:touch y:}z%{A} 50% %%{B-} {",
                Target::Polybar
            ),
            format!(
                "x%{zwsp}{{F#ff0000}}red %{zwsp}{{A1:touch y:}}z%{zwsp}{{A}} 50% %%{zwsp}{{B-}} {{"
            )
        );
        // Across two texts: a name ending in `%`, the next beginning with `{`.
        let s = [
            Span::text("a%"),
            Span::text("{F#ff0000}b"),
            Span {
                text: "{T2}".into(),
                severity: Some(Severity::Warn),
            },
        ];
        assert_eq!(
            markup(&s, Target::Polybar, true),
            format!("a%{zwsp}{{F#ff0000}}b%{{F#e5c07b}}{{T2}}%{{F-}}")
        );
        assert_eq!(
            markup(&s, Target::Polybar, false),
            format!("a%{zwsp}{{F#ff0000}}b{{T2}}")
        );
    }

    #[test]
    fn server_text_is_escaped_and_control_characters_never_pass() {
        let e = |t| escape(NASTY, t);
        assert_eq!(
            e(Target::Plain),
            "#(touch x) $(touch y)%F{red} `z` \\ \u{fffd}[31m\u{fffd} <b>&"
        );
        assert_eq!(e(Target::Ansi), e(Target::Plain));
        assert_eq!(
            e(Target::Zsh),
            "#(touch x) $(touch y)%%F{red} `z` \\ \u{fffd}[31m\u{fffd} <b>&"
        );
        assert_eq!(
            e(Target::Tmux),
            "##(touch x) $(touch y)%F{red} `z` \\ \u{fffd}[31m\u{fffd} <b>&"
        );
        assert_eq!(
            e(Target::Bash),
            "#(touch x) \\\\$(touch y)%F{red} \\\\`z\\\\` \\\\\\\\ \u{fffd}[31m\u{fffd} <b>&"
        );
        assert_eq!(
            e(Target::Waybar),
            "#(touch x) $(touch y)%F{red} `z` \\ \u{fffd}[31m\u{fffd} &lt;b&gt;&amp;"
        );
        assert_eq!(e(Target::Polybar), e(Target::Plain), "no `%{{` in it");
        for t in Target::ALL {
            assert!(!e(t).chars().any(forbidden), "{t:?}");
        }
        assert_eq!(
            notification_body(NASTY),
            "#(touch x) $(touch y)%F{red} `z` \\\\ [31m&lt;b&gt;&amp;"
        );
    }

    #[test]
    fn xbar_text_never_starts_attributes_separators_or_submenus() {
        assert_eq!(
            xbar_line("--- a|b\nc href=x", "color=red", MenuBar::Xbar),
            // The sanitizer makes the line break a space: one plugin line stays one line.
            format!("\u{2010}-- a¦b c href=x | color=red emojize=false ansi=false")
        );
        assert_eq!(
            xbar_line("plain", "", MenuBar::Argos),
            "plain | useMarkup=false unescape=false emojize=false"
        );
    }

    #[test]
    fn target_names_round_trip() {
        for t in Target::ALL {
            assert_eq!(Target::from_name(t.name()), Some(t));
        }
        assert_eq!(Target::from_name("xterm"), None);
    }
}
