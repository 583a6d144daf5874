//! quotaline: Claude Pro/Max plan usage, read from the server, on one line.

mod auth;
mod cache;
mod cmd;
mod error;
mod render;
mod settings;
mod snapshot;
mod source;

use argh::FromArgs;

/// Claude plan usage (server truth) on one line, for prompts and status bars.
#[derive(FromArgs)]
struct Cli {
    #[argh(subcommand)]
    command: Option<Command>,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum Command {
    Segment(SegmentArgs),
    Refresh(RefreshArgs),
    Json(JsonArgs),
    Status(StatusArgs),
    Check(CheckArgs),
    Statusline(StatuslineArgs),
    Init(InitArgs),
}

/// Print the one-line segment from the cache (never waits on the network; always exits 0).
#[derive(FromArgs)]
#[argh(subcommand, name = "segment")]
struct SegmentArgs {
    /// template, e.g. "5h {5h} · 7d {7d}( · opus {opus})"; also QUOTALINE_FORMAT
    #[argh(option)]
    format: Option<String>,
    /// org uuid to show instead of the active one; also QUOTALINE_ORG
    #[argh(option)]
    org: Option<String>,
    /// refresh synchronously before printing
    #[argh(switch)]
    wait: bool,
}

/// Fetch from the server now (exit 1 with the reason on failure).
#[derive(FromArgs)]
#[argh(subcommand, name = "refresh")]
struct RefreshArgs {
    /// fetch even when the cache is fresh (a backoff still binds)
    #[argh(switch)]
    force: bool,
}

/// Print the snapshot as JSON (exit 1 when there is no data).
#[derive(FromArgs)]
#[argh(subcommand, name = "json")]
struct JsonArgs {
    /// only this org
    #[argh(option)]
    org: Option<String>,
}

/// Human-readable report: windows, extra usage, plan, billing, age, last error.
#[derive(FromArgs)]
#[argh(subcommand, name = "status")]
struct StatusArgs {}

/// Exit 1 when a window is at or over --max percent, 2 when there is no data.
#[derive(FromArgs)]
#[argh(subcommand, name = "check")]
struct CheckArgs {
    /// limit in percent (default 90)
    #[argh(option, default = "90.0")]
    max: f64,
    /// only this window: 5h, 7d, opus, or a window key
    #[argh(option)]
    window: Option<String>,
    /// org uuid (default: the active org)
    #[argh(option)]
    org: Option<String>,
}

/// Claude Code's statusLine command: reads its JSON on stdin (rate_limits go into the
/// cache), prints one line (always exits 0).
#[derive(FromArgs)]
#[argh(subcommand, name = "statusline")]
struct StatuslineArgs {
    /// template, as for `segment`; also QUOTALINE_FORMAT
    #[argh(option)]
    format: Option<String>,
}

/// Print the snippet that wires quotaline into a program (claude-code).
#[derive(FromArgs)]
#[argh(subcommand, name = "init")]
struct InitArgs {
    /// claude-code
    #[argh(positional)]
    target: String,
}

fn main() {
    let cli: Cli = argh::from_env();
    let code = match cli.command {
        None => cmd::segment::run(cmd::segment::Options {
            format: None,
            org: None,
            wait: false,
        }),
        Some(Command::Segment(a)) => cmd::segment::run(cmd::segment::Options {
            format: a.format,
            org: a.org,
            wait: a.wait,
        }),
        Some(Command::Refresh(a)) => cmd::refresh::run(a.force),
        Some(Command::Json(a)) => cmd::json::run(a.org),
        Some(Command::Status(_)) => cmd::status::run(),
        Some(Command::Check(a)) => cmd::check::run(a.max, a.window, a.org),
        Some(Command::Statusline(a)) => cmd::statusline::run(a.format),
        Some(Command::Init(a)) => cmd::init::run(&a.target),
    };
    std::process::exit(code);
}
