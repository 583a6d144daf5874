//! quotaline: Claude Pro/Max plan usage, read from the server, on one line.

mod auth;
mod cache;
mod cmd;
mod error;
mod history;
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
    History(HistoryArgs),
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

/// Exit 1 when a window is at or over --max percent (or due to hit 100% within --eta), 2 when
/// there is no data.
#[derive(FromArgs)]
#[argh(subcommand, name = "check")]
struct CheckArgs {
    /// limit in percent (default 90 unless only --eta is given)
    #[argh(option)]
    max: Option<f64>,
    /// also exit 1 when a window is projected to hit 100% within this long, e.g. 30m
    #[argh(option, from_str_fn(history::parse_duration))]
    eta: Option<i64>,
    /// only this window: 5h, 7d, opus, or a window key
    #[argh(option)]
    window: Option<String>,
    /// org uuid (default: the active org)
    #[argh(option)]
    org: Option<String>,
}

/// The recorded readings: a table with a sparkline per window, or JSON lines.
#[derive(FromArgs)]
#[argh(subcommand, name = "history")]
struct HistoryArgs {
    /// only this window: 5h, 7d, opus, or a window key
    #[argh(option)]
    window: Option<String>,
    /// how far back, e.g. 30m, 24h, 7d (default 24h)
    #[argh(option, default = "86_400", from_str_fn(history::parse_duration))]
    since: i64,
    /// one JSON object per reading, oldest first
    #[argh(switch)]
    json: bool,
    /// org uuid (default: the active org)
    #[argh(option)]
    org: Option<String>,
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
        Some(Command::Check(a)) => cmd::check::run(a.max, a.eta, a.window, a.org),
        Some(Command::History(a)) => cmd::history::run(cmd::history::Options {
            window: a.window,
            since: a.since,
            json: a.json,
            org: a.org,
        }),
    };
    std::process::exit(code);
}
