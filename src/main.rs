//! quotaline: the command line. Parses arguments (argh), dispatches to a command in
//! `cmd/`, exits with its code. Everything else is the library (`lib.rs`).

use argh::FromArgs;
use quotaline::{cmd, render};

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
    Metrics(MetricsArgs),
    Status(StatusArgs),
    Check(CheckArgs),
    Init(InitArgs),
    Doctor(DoctorArgs),
    NativeHost(NativeHostArgs),
    Statusline(StatuslineArgs),
    History(HistoryArgs),
    Config(ConfigArgs),
    Verify(VerifyArgs),
    Completions(CompletionsArgs),
}

/// The settings in force and where each came from (config.toml, environment, default); exit
/// 1 when the config file has an error.
#[derive(FromArgs)]
#[argh(subcommand, name = "config")]
struct ConfigArgs {
    /// print a complete, commented config.toml to start from
    #[argh(switch)]
    default: bool,
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
    /// plain, ansi, zsh, bash, fish, tmux, polybar, waybar, starship, xbar, i3blocks; also
    /// QUOTALINE_TARGET
    /// (default: ansi on a terminal, else plain)
    #[argh(option)]
    target: Option<String>,
    /// warn colour from this percent (default 75); also QUOTALINE_WARN
    #[argh(option)]
    warn: Option<f64>,
    /// critical colour from this percent (default 90); also QUOTALINE_CRIT
    #[argh(option)]
    crit: Option<f64>,
}

/// Fetch from the server now (exit 1 with the reason on failure).
#[derive(FromArgs)]
#[argh(subcommand, name = "refresh")]
struct RefreshArgs {
    /// fetch even when the cache is fresh or a backoff is in force
    #[argh(switch)]
    force: bool,
    /// fetch nothing: only re-render the shells' prompt files from the cache and config.toml
    /// (the zsh, bash and fish snippets run it once after config.toml changed)
    #[argh(switch)]
    render_only: bool,
}

/// Print the snapshot as JSON (exit 1 when there is no data).
#[derive(FromArgs)]
#[argh(subcommand, name = "json")]
struct JsonArgs {
    /// only this org
    #[argh(option)]
    org: Option<String>,
}

/// Print the cached snapshot as OpenMetrics text for Prometheus (never fetches; the same
/// text `[metrics] textfile` holds).
#[derive(FromArgs)]
#[argh(subcommand, name = "metrics")]
struct MetricsArgs {}

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
    #[argh(option, from_str_fn(render::text::parse_duration))]
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
    #[argh(option, default = "86_400", from_str_fn(render::text::parse_duration))]
    since: i64,
    /// one JSON object per reading, oldest first
    #[argh(switch)]
    json: bool,
    /// org uuid (default: the active org)
    #[argh(option)]
    org: Option<String>,
}

/// Compare a /usage body saved from the browser's DevTools ("Copy response") with what
/// quotaline holds, window by window (exit 0 all match, 1 one differs, 2 unreadable file).
#[derive(FromArgs)]
#[argh(subcommand, name = "verify")]
struct VerifyArgs {
    /// the saved body, or - to read it from stdin
    #[argh(positional)]
    file: String,
    /// org uuid (default: the active org)
    #[argh(option)]
    org: Option<String>,
}

/// Print the snippet that puts the segment in a program: zsh, bash, fish, tmux, starship,
/// waybar, waybar-css, polybar, i3blocks, xbar, swiftbar, argos, claude-code, node-exporter;
/// `native-host` registers the browser extension's host.
#[derive(FromArgs)]
#[argh(subcommand, name = "init")]
struct InitArgs {
    /// the program, e.g. zsh
    #[argh(positional)]
    program: String,
    /// for native-host: chrome, chromium, brave, edge, vivaldi or firefox (default: every
    /// one installed)
    #[argh(option)]
    browser: Option<String>,
}

/// Print the shell completion script: zsh, bash or fish.
#[derive(FromArgs)]
#[argh(subcommand, name = "completions")]
struct CompletionsArgs {
    /// the shell, e.g. zsh
    #[argh(positional)]
    shell: String,
}

/// Where credentials come from, what every browser profile holds (fingerprints only), the
/// cache and the last fetch: a report to paste into a bug (exit 1 when no session is usable).
#[derive(FromArgs)]
#[argh(subcommand, name = "doctor")]
struct DoctorArgs {}

/// Native messaging host for the quotaline browser extension (the browser starts it).
#[derive(FromArgs)]
#[argh(subcommand, name = "native-host")]
struct NativeHostArgs {
    /// what the browser passes (the caller's origin, a window handle): ignored
    #[argh(positional, greedy)]
    browser_args: Vec<String>,
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

/// argh takes a lone `-` for an unknown flag; as the conventional name of stdin (`verify -`)
/// it is moved behind a `--`, where argh takes it for the positional it is.
fn stdin_dash_last(mut args: Vec<String>) -> Vec<String> {
    let verify = args.first().is_some_and(|a| a == "verify");
    if verify && !args.iter().any(|a| a == "--") {
        if let Some(i) = args.iter().position(|a| a == "-") {
            args.remove(i);
            args.extend(["--".to_string(), "-".to_string()]);
        }
    }
    args
}

/// `argh::from_env` on arguments already read: `--help` to stdout (exit 0), a usage error to
/// stderr (exit 1).
fn parse(args: Vec<String>) -> Cli {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Cli::from_args(&["quotaline"], &args).unwrap_or_else(|early| {
        std::process::exit(match early.status {
            Ok(()) => {
                println!("{}", early.output);
                0
            }
            Err(()) => {
                eprintln!(
                    "{}\nRun quotaline --help for more information.",
                    early.output
                );
                1
            }
        })
    })
}

fn main() {
    // A browser starts the host manifest's `path` with the caller as the only arguments
    // (Chrome: `chrome-extension://<id>/`; Firefox: the manifest path and the add-on id),
    // so the manifest can name this binary itself, with no wrapper script.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if quotaline::source::extension::started_by_browser(&args) {
        std::process::exit(cmd::native_host::run(args));
    }
    let cli = parse(stdin_dash_last(args));
    let code = match cli.command {
        None => cmd::segment::run(cmd::segment::Options {
            format: None,
            org: None,
            wait: false,
            target: None,
            warn: None,
            crit: None,
        }),
        Some(Command::Segment(a)) => cmd::segment::run(cmd::segment::Options {
            format: a.format,
            org: a.org,
            wait: a.wait,
            target: a.target,
            warn: a.warn,
            crit: a.crit,
        }),
        Some(Command::Refresh(a)) => cmd::refresh::run(a.force, a.render_only),
        Some(Command::Json(a)) => cmd::json::run(a.org),
        Some(Command::Metrics(_)) => cmd::metrics::run(),
        Some(Command::Status(_)) => cmd::status::run(),
        Some(Command::Check(a)) => cmd::check::run(a.max, a.eta, a.window, a.org),
        Some(Command::History(a)) => cmd::history::run(cmd::history::Options {
            window: a.window,
            since: a.since,
            json: a.json,
            org: a.org,
        }),
        Some(Command::Init(a)) => cmd::init::run(&a.program, a.browser.as_deref()),
        Some(Command::Doctor(_)) => cmd::doctor::run(),
        Some(Command::NativeHost(a)) => cmd::native_host::run(a.browser_args),
        Some(Command::Statusline(a)) => cmd::statusline::run(a.format),
        Some(Command::Config(a)) => cmd::config::run(a.default),
        Some(Command::Verify(a)) => cmd::verify::run(&a.file, a.org),
        Some(Command::Completions(a)) => {
            cmd::completions::run(&a.shell, &cmd::init::programs(), &cmd::init::browsers())
        }
    };
    std::process::exit(code);
}
