//! quotaline: the command line. Checks the arguments (`cmd::args`: typos, `-h`,
//! `--version`, bare flags), parses them (argh), dispatches to a command in `cmd/`, exits
//! with its code: a usage error (an unknown command, flag or name, a bad value) is 64,
//! EX_USAGE, for every command. Everything else is the library (`lib.rs`).

use argh::FromArgs;
use quotaline::{cmd, notify, render};

/// Claude plan usage (server truth) on one line, for prompts and status bars.
#[derive(FromArgs)]
#[argh(
    help_triggers("-h", "--help"),
    note = "Without a command, quotaline prints the segment and takes its flags:\n  \
            quotaline --format '{{5h}} {{7d}}'\n\
            `quotaline <command> -h` shows a command's flags; `quotaline --version` (-V)\n\
            the version. A usage error exits 64, with the fix on stderr."
)]
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
    Accounts(AccountsArgs),
    Check(CheckArgs),
    Init(InitArgs),
    Doctor(DoctorArgs),
    NativeHost(NativeHostArgs),
    Statusline(StatuslineArgs),
    History(HistoryArgs),
    Events(EventsArgs),
    Config(ConfigArgs),
    Verify(VerifyArgs),
    Completions(CompletionsArgs),
}

/// The settings in force and where each came from (config.toml, environment, default); exit
/// 1 when the config file has an error.
#[derive(FromArgs)]
#[argh(subcommand, name = "config", help_triggers("-h", "--help"))]
struct ConfigArgs {
    /// print a complete, commented config.toml to start from
    #[argh(switch)]
    default: bool,
}

/// Print the one-line segment from the cache (never waits on the network; always exits 0).
#[derive(FromArgs)]
#[argh(subcommand, name = "segment", help_triggers("-h", "--help"))]
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
    #[argh(option, from_str_fn(number))]
    warn: Option<f64>,
    /// critical colour from this percent (default 90); also QUOTALINE_CRIT
    #[argh(option, from_str_fn(number))]
    crit: Option<f64>,
}

/// Fetch from the server now (exit 1 with the reason on failure).
#[derive(FromArgs)]
#[argh(subcommand, name = "refresh", help_triggers("-h", "--help"))]
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
#[argh(subcommand, name = "json", help_triggers("-h", "--help"))]
struct JsonArgs {
    /// only this org
    #[argh(option)]
    org: Option<String>,
}

/// Print the cached snapshot as OpenMetrics text for Prometheus (never fetches; the same
/// text `[metrics] textfile` holds).
#[derive(FromArgs)]
#[argh(subcommand, name = "metrics", help_triggers("-h", "--help"))]
struct MetricsArgs {}

/// Human-readable report: windows, extra usage, plan, billing, age, last error.
#[derive(FromArgs)]
#[argh(subcommand, name = "status", help_triggers("-h", "--help"))]
struct StatusArgs {}

/// Every Claude account found: the name each goes by ({5h@NAME}), where its login came
/// from, its orgs, and its own last error.
#[derive(FromArgs)]
#[argh(subcommand, name = "accounts", help_triggers("-h", "--help"))]
struct AccountsArgs {}

/// A guard for scripts and CI: exit 0 ok (judged on current numbers), 1 over a limit (a
/// window at or over --max, due to hit 100% within --eta, or extra-usage spend at or over
/// --max-spend), 2 no data: none, older than --max-age, superseded by an unreadable payload,
/// or no window that could be judged (0 with --fail-open), 64 a usage error.
#[derive(FromArgs)]
#[argh(subcommand, name = "check", help_triggers("-h", "--help"))]
struct CheckArgs {
    /// limit in percent (default 90 unless --eta or --max-spend is given)
    #[argh(option, from_str_fn(number))]
    max: Option<f64>,
    /// also exit 1 when a window is projected to hit 100% within this long, e.g. 30m
    #[argh(option, from_str_fn(render::text::parse_duration))]
    eta: Option<i64>,
    /// also exit 1 when extra usage has spent this much or more (in the org's currency,
    /// e.g. 20 for $20)
    #[argh(option, from_str_fn(number))]
    max_spend: Option<f64>,
    /// exit 0 instead of 2 when there is no data (a CI that must not block on a tracker)
    #[argh(switch)]
    fail_open: bool,
    /// only this window: 5h, 7d, opus, or a window key
    #[argh(option)]
    window: Option<String>,
    /// org uuid (default: the active org)
    #[argh(option)]
    org: Option<String>,
    /// whose plan: claude (default), codex (OpenAI Codex's windows) or all (both, the
    /// worse exit wins)
    #[argh(option)]
    provider: Option<String>,
    /// the account to judge, by the name `quotaline accounts` gives it, or `all` (default:
    /// the one the line shows)
    #[argh(option)]
    account: Option<String>,
    /// numbers older than this are no data (exit 2), e.g. 10m (default 30m, or [check]
    /// max_age)
    #[argh(option, from_str_fn(render::text::parse_duration))]
    max_age: Option<i64>,
}

/// The recorded readings: a table with a sparkline per window, a block per org and account,
/// or JSON lines.
#[derive(FromArgs)]
#[argh(subcommand, name = "history", help_triggers("-h", "--help"))]
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
    /// org uuid: every account's readings of it, each its own block (default: the org and
    /// account the line shows)
    #[argh(option)]
    org: Option<String>,
    /// only this account's readings, by the name `quotaline accounts` gives it, or `all`
    #[argh(option)]
    account: Option<String>,
}

/// Compare a /usage body saved from the browser's DevTools ("Copy response") with what
/// quotaline holds, window by window (exit 0 all match, 1 one differs, 2 unreadable file).
#[derive(FromArgs)]
#[argh(subcommand, name = "verify", help_triggers("-h", "--help"))]
struct VerifyArgs {
    /// the saved body, or - to read it from stdin
    #[argh(positional)]
    file: String,
    /// org uuid (default: the active org)
    #[argh(option)]
    org: Option<String>,
}

/// The events fired (thresholds, ETA, limits, resets, extra usage, failing refreshes), from
/// the history, oldest first.
#[derive(FromArgs)]
#[argh(subcommand, name = "events", help_triggers("-h", "--help"))]
struct EventsArgs {
    /// how far back, e.g. 24h, 7d, 30d (default 7d)
    #[argh(
        option,
        default = "7 * 86_400",
        from_str_fn(render::text::parse_duration)
    )]
    since: i64,
    /// one JSON object per event, as the hook gets it
    #[argh(switch)]
    json: bool,
}

/// Print the snippet that puts the segment in a program: zsh, bash, fish, tmux, starship,
/// waybar, waybar-css, polybar, i3blocks, xbar, swiftbar, argos, claude-code, node-exporter;
/// `native-host` registers the browser extension's host.
#[derive(FromArgs)]
#[argh(subcommand, name = "init", help_triggers("-h", "--help"))]
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
#[argh(subcommand, name = "completions", help_triggers("-h", "--help"))]
struct CompletionsArgs {
    /// the shell, e.g. zsh
    #[argh(positional)]
    shell: String,
}

/// Where credentials come from, what every browser profile holds (fingerprints only), the
/// cache and the last fetch: a report to paste into a bug (exit 1 when no session is usable).
#[derive(FromArgs)]
#[argh(subcommand, name = "doctor", help_triggers("-h", "--help"))]
struct DoctorArgs {}

/// Native messaging host for the quotaline browser extension (the browser starts it).
#[derive(FromArgs)]
#[argh(subcommand, name = "native-host", help_triggers("-h", "--help"))]
struct NativeHostArgs {
    /// what the browser passes (the caller's origin, a window handle): ignored
    #[argh(positional, greedy)]
    browser_args: Vec<String>,
}

/// Claude Code's statusLine command: reads its JSON on stdin (rate_limits go into the
/// cache), prints one line (always exits 0).
#[derive(FromArgs)]
#[argh(subcommand, name = "statusline", help_triggers("-h", "--help"))]
struct StatuslineArgs {
    /// template, as for `segment`; also QUOTALINE_FORMAT
    #[argh(option)]
    format: Option<String>,
}

/// A number for `--max`, `--warn` and the like, with an error in quotaline's words.
fn number(value: &str) -> Result<f64, String> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("`{value}` is not a number"))
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

fn main() {
    let Some(args) = std::env::args_os()
        .skip(1)
        .map(|a| a.into_string().ok())
        .collect::<Option<Vec<String>>>()
    else {
        std::process::exit(cmd::usage(
            "an argument is not valid UTF-8",
            Some("quotaline's names and values are text"),
        ));
    };
    // A browser starts the host manifest's `path` with the caller as the only arguments
    // (Chrome: `chrome-extension://<id>/`; Firefox: the manifest path and the add-on id),
    // so the manifest can name this binary itself, with no wrapper script.
    if quotaline::source::extension::started_by_browser(&args) {
        std::process::exit(cmd::native_host::run(args));
    }
    // Started by `notify::dispatch` only, so not in `--help`.
    if args.first().map(String::as_str) == Some(notify::DELIVER) {
        std::process::exit(cmd::notify_deliver::run());
    }
    let args = match cmd::args::prepare(args) {
        Ok(cmd::args::Prepared::Parse(args)) => args,
        Ok(cmd::args::Prepared::Version) => {
            cmd::out(&format!("quotaline {}\n", env!("CARGO_PKG_VERSION")));
            std::process::exit(0);
        }
        Err(e) => std::process::exit(cmd::usage(&e.what, Some(&e.fix))),
    };
    let cli = parse(&stdin_dash_last(args));
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
        Some(Command::Accounts(_)) => cmd::accounts::run(),
        Some(Command::Check(a)) => cmd::check::run(cmd::check::Options {
            max: a.max,
            eta: a.eta,
            max_spend: a.max_spend,
            fail_open: a.fail_open,
            window: a.window,
            org: a.org,
            account: a.account,
            max_age: a.max_age,
            provider: a.provider,
        }),
        Some(Command::History(a)) => cmd::history::run(cmd::history::Options {
            window: a.window,
            since: a.since,
            json: a.json,
            org: a.org,
            account: a.account,
        }),
        Some(Command::Events(a)) => cmd::events::run(a.since, a.json),
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

/// The arguments as argh reads them (`cmd::args` checked the names already), except that a
/// usage error exits 64 (EX_USAGE), not 1: `check`'s 1 means "over a limit", and a script
/// must be able to tell the two apart. argh's words are put in quotaline's error style.
fn parse(args: &[String]) -> Cli {
    let strs: Vec<&str> = args.iter().map(String::as_str).collect();
    Cli::from_args(&["quotaline"], &strs).unwrap_or_else(|early| match early.status {
        Ok(()) => {
            cmd::out(&format!("{}\n", early.output));
            std::process::exit(0)
        }
        Err(()) => {
            let command = args.first().map_or("", String::as_str);
            let (what, fix) = argh_error(&early.output, command);
            std::process::exit(cmd::usage(&what, Some(&fix)))
        }
    })
}

/// argh's message as `quotaline: <what>` and a fix: `Error parsing option '--since' with
/// value 'soon': <why>` becomes `--since: <why>`.
fn argh_error(output: &str, command: &str) -> (String, String) {
    let text = output.trim();
    let what = text
        .strip_prefix("Error parsing option '")
        .and_then(|rest| {
            let (flag, rest) = rest.split_once("' with value '")?;
            let (_, why) = rest.split_once("': ")?;
            Some(format!("{flag}: {}", why.trim()))
        })
        .unwrap_or_else(|| text.split_whitespace().collect::<Vec<_>>().join(" "));
    let fix = if command.is_empty() {
        "`quotaline --help` lists the commands".to_string()
    } else {
        format!("`quotaline {command} --help` lists its flags")
    };
    (what, fix)
}
