//! The programs quotaline writes lines for, by name: `--target`, `[target.NAME]` in the
//! config file, the shells' prompt files. How each one is marked up is `render/markup.rs`.

/// The program a line is for (`--target`, `QUOTALINE_TARGET`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// No colour: pipes, scripts.
    Plain,
    /// SGR colours for a terminal.
    Ansi,
    /// A zsh prompt string: `%F{..}..%f`, `%` doubled.
    Zsh,
    /// Text placed in bash's PS1 (which bash decodes and then expands again): SGR inside
    /// `\001..\002`, `\` `$` and backtick escaped for both rounds.
    Bash,
    /// What a fish prompt function prints: SGR, like `Ansi`.
    Fish,
    /// tmux status output (re-expanded by tmux): `#[fg=..]`, `#` doubled.
    Tmux,
    /// polybar script output: `%{F#rrggbb}..%{F-}`; a `%` stays one `%`, and text never
    /// opens a `%{` tag (`render::markup`).
    Polybar,
    /// One JSON line for waybar's custom module; colour comes from CSS via `class`.
    Waybar,
    /// starship colours the module with `style`: plain text.
    Starship,
    /// The menu-bar plugin protocol of xbar, SwiftBar (macOS) and Argos (GNOME Shell): the
    /// bar line, `---`, dropdown lines with `| key=value` attributes; `|` is never literal.
    Xbar,
    /// An i3blocks block: full text, short text and colour, one line each.
    I3blocks,
}

impl Target {
    pub const ALL: [Target; 11] = [
        Target::Plain,
        Target::Ansi,
        Target::Zsh,
        Target::Bash,
        Target::Fish,
        Target::Tmux,
        Target::Polybar,
        Target::Waybar,
        Target::Starship,
        Target::Xbar,
        Target::I3blocks,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::Plain => "plain",
            Target::Ansi => "ansi",
            Target::Zsh => "zsh",
            Target::Bash => "bash",
            Target::Fish => "fish",
            Target::Tmux => "tmux",
            Target::Polybar => "polybar",
            Target::Waybar => "waybar",
            Target::Starship => "starship",
            Target::Xbar => "xbar",
            Target::I3blocks => "i3blocks",
        }
    }

    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// The program running the plugin. All three read the same protocol, but each takes its own
/// attributes, and xbar refuses a whole plugin over one it does not know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MenuBar {
    Xbar,
    SwiftBar,
    Argos,
}
