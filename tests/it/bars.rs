//! Issue 4: `--target` markup, colours and thresholds; the pre-rendered prompt files; `init`;
//! and the bars in the real programs: tmux renders the shipped status-right, starship shows
//! the shipped `[custom.quotaline]` block, waybar gets one valid JSON line.

use crate::common::programs::*;
use crate::common::*;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn segment(env: &TestEnv, args: &[&str]) -> String {
    let mut all = vec!["segment"];
    all.extend_from_slice(args);
    let (code, out, err) = ql(env, &all);
    assert_eq!((code, err.as_str()), (0, ""), "segment {args:?}");
    out.strip_suffix('\n')
        .unwrap_or_else(|| panic!("no newline: {out:?}"))
        .to_string()
}

#[test]
fn each_target_marks_up_the_line_its_own_way() {
    let (_server, env) = refreshed();
    assert_eq!(segment(&env, &["--target", "plain"]), LIMITS_LINE);
    assert_eq!(segment(&env, &["--target", "starship"]), LIMITS_LINE);
    assert_eq!(segment(&env, &[]), LIMITS_LINE, "not a terminal: plain");
    assert_eq!(segment(&env, &["--target", "ansi"]), ANSI_LINE);
    assert_eq!(segment(&env, &["--target", "fish"]), ANSI_LINE);
    assert_eq!(segment(&env, &["--target", "zsh"]), ZSH_LINE);
    assert_eq!(
        segment(&env, &["--target", "tmux"]),
        "5h 23% · 7d 64% · opus #[fg=black,bg=yellow]81%#[fg=default,bg=default] · sonnet 9% · ↻42m"
    );
    assert_eq!(
        segment(&env, &["--target", "polybar"]),
        "5h %{F#98c379}23%%{F-} · 7d %{F#98c379}64%%{F-} · opus %{F#e5c07b}81%%{F-} · \
         sonnet %{F#98c379}9%%{F-} · ↻42m"
    );
}

#[test]
fn target_comes_from_the_environment_too() {
    let (_server, mut env) = refreshed();
    env.set("QUOTALINE_TARGET", "zsh");
    assert_eq!(segment(&env, &[]), ZSH_LINE);
    assert_eq!(
        segment(&env, &["--target", "plain"]),
        LIMITS_LINE,
        "flag wins"
    );
}

#[test]
fn unknown_target_is_a_usage_error_suggesting_the_one_meant() {
    let (_server, env) = refreshed();
    let (code, out, err) = ql(&env, &["segment", "--target", "tmuxx"]);
    assert_eq!((code, out.as_str()), (64, ""));
    assert_eq!(
        err,
        "quotaline: unknown target `tmuxx`\ndid you mean `tmux`? targets: plain, ansi, zsh, \
         bash, fish, tmux, polybar, waybar, starship, xbar, i3blocks\n"
    );
}

/// A bad QUOTALINE_TARGET is configuration, not a command line: the prompt still gets its
/// line (exit 0), and stderr says what was wrong and what was used.
#[test]
fn unknown_target_in_the_environment_is_said_and_the_line_printed() {
    let (_server, mut env) = refreshed();
    env.set("QUOTALINE_TARGET", "tmuxx");
    let (code, out, err) = ql(&env, &["segment"]);
    assert_eq!(
        (code, out.as_str()),
        (0, format!("{LIMITS_LINE}\n").as_str())
    );
    assert_eq!(
        err,
        "quotaline: QUOTALINE_TARGET: unknown target \"tmuxx\" (did you mean `tmux`? one of: \
         plain, ansi, zsh, bash, fish, tmux, polybar, waybar, starship, xbar, i3blocks); using \
         plain\n"
    );
}

#[test]
fn no_color_drops_colour_but_keeps_escaping() {
    let (_server, mut env) = refreshed();
    env.set("NO_COLOR", "1");
    assert_eq!(
        segment(&env, &["--target", "zsh"]),
        "5h 23%% · 7d 64%% · opus 81%% · sonnet 9%% · ↻42m"
    );
    assert_eq!(segment(&env, &["--target", "ansi"]), LIMITS_LINE);
}

#[test]
fn warn_and_crit_thresholds_move_the_colours() {
    let (_server, mut env) = refreshed();
    assert_eq!(
        segment(&env, &["--target", "ansi", "--warn", "20", "--crit", "64"]),
        "5h \x1b[33m23%\x1b[39m · 7d \x1b[31m64%\x1b[39m · opus \x1b[31m81%\x1b[39m · \
         sonnet \x1b[32m9%\x1b[39m · ↻42m"
    );
    env.set("QUOTALINE_WARN", "82").set("QUOTALINE_CRIT", "95");
    assert_eq!(
        segment(&env, &["--target", "tmux"]),
        LIMITS_LINE,
        "81% is ok below 82"
    );
}

#[test]
fn stale_marker_is_grey() {
    let (_server, env) = refreshed();
    age_cache(&env, 600);
    let out = segment(&env, &["--target", "zsh"]);
    assert_eq!(out, format!("{ZSH_LINE}%F{{8}} · stale 10m%f"));
}

#[test]
fn refresh_writes_a_prompt_file_per_shell_private_and_due_one_ttl_later() {
    let (_server, env) = refreshed();
    let now = chrono::Utc::now().timestamp();
    for (shell, line) in [
        ("zsh", ZSH_LINE.to_string()),
        ("fish", ANSI_LINE.to_string()),
        ("bash", bash_line()),
    ] {
        let path = env.cache_dir.join(format!("segment.{shell}"));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{shell}");
        let text = std::fs::read_to_string(&path).unwrap();
        let (due, rest) = text.split_once('\n').unwrap();
        let due: i64 = due.parse().unwrap();
        // One TTL later, stretched by the schedule's jitter (up to a tenth).
        assert!(
            (now + 30..=now + 67).contains(&due),
            "{shell}: due {due}, now {now}"
        );
        assert_eq!(rest, format!("{line}\n"), "{shell}");
    }
}

#[test]
fn init_prints_the_integration_files_verbatim() {
    let env = TestEnv::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("integrations");
    for (name, file) in [
        ("zsh", "quotaline.zsh"),
        ("bash", "quotaline.bash"),
        ("fish", "quotaline.fish"),
        ("tmux", "tmux.conf"),
        ("starship", "starship.toml"),
        ("waybar", "waybar.jsonc"),
        ("waybar-css", "waybar.css"),
        ("polybar", "polybar.ini"),
        ("i3blocks", "i3blocks.conf"),
        ("xbar", "quotaline.1m.sh"),
    ] {
        let (code, out, _) = ql(&env, &["init", name]);
        assert_eq!(code, 0, "{name}");
        assert_eq!(
            out,
            std::fs::read_to_string(dir.join(file)).unwrap(),
            "{name}"
        );
    }
    let (code, out, err) = ql(&env, &["init", "csh"]);
    assert_eq!((code, out.as_str()), (64, ""));
    assert!(
        err.starts_with("quotaline: unknown program `csh`\ndid you mean `zsh`? programs: zsh"),
        "{err}"
    );
}

/// The inner tmux server (started with `conf`) as a client in an outer tmux pane draws it:
/// the outer pane's screen is what a user of the inner tmux sees, status line included.
fn tmux_status_line(env: &TestEnv, conf: &Path, width: u32, expected: &str) -> (String, String) {
    let inner = Tmux::start_sized(env, "inner", conf, "sh", width);
    drawn_status_line(env, &inner, width, expected)
}

/// The status line of `inner` as an outer tmux draws it: the line ending with `expected`,
/// and the last screen line with its colours (`capture-pane -e`).
fn drawn_status_line(env: &TestEnv, inner: &Tmux, width: u32, expected: &str) -> (String, String) {
    let attach = format!("env -u TMUX tmux -S '{}' attach", inner.socket().display());
    // A server of its own per inner one: a test may draw several in turn.
    let name = format!(
        "outer-{}",
        inner.socket().file_stem().unwrap().to_string_lossy()
    );
    let outer = Tmux::start_sized(env, &name, Path::new("/dev/null"), &attach, width);
    let screen = outer.wait_for_screen("the inner status line", |l| l.ends_with(expected));
    let line = screen.into_iter().find(|l| l.ends_with(expected)).unwrap();
    let coloured = outer.run(&["capture-pane", "-p", "-e"]);
    let coloured = coloured.lines().last().unwrap_or_default().to_string();
    (line, coloured)
}

#[test]
fn tmux_renders_the_segment_at_the_end_of_its_status_line() {
    let (_server, env) = refreshed();
    let conf = snippet(&env, "tmux");
    let (status, coloured) = tmux_status_line(&env, &conf, 160, LIMITS_LINE);
    // The default status-right (pane title, time, date) is kept, before the segment.
    let today = chrono::Utc::now().format("%d-%b-%y").to_string();
    assert!(
        status.ends_with(&format!("{today} | {LIMITS_LINE}")),
        "{status}"
    );
    assert!(
        coloured.contains("opus \x1b[43m81%\x1b[42m"),
        "{coloured:?}"
    );
}

#[test]
fn tmux_shows_server_text_literally_and_runs_nothing() {
    let (_server, env) = refreshed_nasty();
    let snip = std::fs::read_to_string(snippet(&env, "tmux")).unwrap();
    let conf = env.home.path().join("wide.conf");
    std::fs::write(&conf, format!("set -g status-right-length 300\n{snip}")).unwrap();
    tmux_status_line(&env, &conf, 300, &nasty_models_line());
    assert_nothing_ran(&env);
}

fn starship(env: &mut TestEnv, config: &str, args: &[&str]) -> String {
    let path = env.home.path().join("starship.toml");
    std::fs::write(&path, config).unwrap();
    let cache = env.home.path().join("starship-cache");
    env.set("STARSHIP_CONFIG", path.to_str().unwrap())
        .set("STARSHIP_CACHE", cache.to_str().unwrap());
    let (code, out, err) = run_in_home(env, "starship", args);
    assert_eq!(code, 0, "starship {args:?}: {err}");
    strip_sgr(&out)
}

#[test]
fn starship_shows_the_shipped_custom_module_left_and_right() {
    let (_server, mut env) = refreshed();
    let block = std::fs::read_to_string(snippet(&env, "starship")).unwrap();
    let left = starship(&mut env, &block, &["prompt"]);
    assert!(left.contains(&format!("{LIMITS_LINE} ")), "{left:?}");
    let right_config =
        format!("format = \"$character\"\nright_format = \"${{custom.quotaline}}\"\n{block}");
    let right = starship(&mut env, &right_config, &["prompt", "--right"]);
    assert_eq!(right.trim_end(), LIMITS_LINE);
    let left = starship(&mut env, &right_config, &["prompt"]);
    assert!(!left.contains("5h"), "{left:?}");
}

fn waybar(env: &TestEnv, args: &[&str]) -> Value {
    let mut all = vec!["--target", "waybar"];
    all.extend_from_slice(args);
    let out = segment(env, &all);
    assert!(!out.contains('\n'), "one line: {out:?}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn waybar_gets_one_json_line_with_class_percentage_and_the_report_as_tooltip() {
    let (_server, env) = refreshed();
    let v = waybar(&env, &[]);
    assert_eq!(v["text"], LIMITS_LINE);
    assert_eq!(v["class"], "warn", "opus 81%");
    assert_eq!(v["alt"], "warn");
    assert_eq!(v["percentage"], 81);
    let tooltip = v["tooltip"].as_str().unwrap();
    assert!(
        tooltip.contains("\n  opus            81%  resets "),
        "{tooltip}"
    );
    assert!(tooltip.ends_with("last error: none"), "{tooltip}");
    assert_eq!(waybar(&env, &["--crit", "80"])["class"], "critical");
    assert_eq!(waybar(&env, &["--warn", "85"])["class"], "ok");
}

#[test]
fn waybar_classes_an_old_line_stale() {
    let (_server, env) = refreshed();
    age_cache(&env, 600);
    let v = waybar(&env, &[]);
    assert_eq!(
        (v["class"].as_str(), v["alt"].as_str()),
        (Some("stale"), Some("stale"))
    );
    assert_eq!(v["percentage"], 81);
    assert!(v["text"].as_str().unwrap().ends_with("· stale 10m"), "{v}");
}

#[test]
fn waybar_says_error_when_there_is_no_data_but_a_failure() {
    let server = FakeServer::claude_ai("usage_limits_array.json");
    server.route("/api/account", Reply::expired());
    let env = env_for(&server);
    assert_eq!(ql(&env, &["refresh"]).0, 1);
    let v = waybar(&env, &[]);
    assert_eq!(v["text"], "quotaline: unauthorized");
    assert_eq!(
        (v["class"].as_str(), v["alt"].as_str()),
        (Some("error"), Some("error"))
    );
    assert_eq!(v.get("percentage"), None, "no number is invented");
    assert!(
        v["tooltip"].as_str().unwrap().contains("last error: "),
        "{v}"
    );
}

#[test]
fn waybar_escapes_server_text_for_pango() {
    let (_server, env) = refreshed_nasty();
    let v = waybar(&env, &[]);
    let expected = nasty_models_line()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    assert_eq!(v["text"], expected);
    assert!(
        v["tooltip"]
            .as_str()
            .unwrap()
            .contains("\n  &lt;b&gt;&amp;            17%"),
        "{v}"
    );
}

/// Issue 22: `tmux source ~/.tmux.conf` once more, and once more again, leaves one segment:
/// status-right names it once, the bar draws it once, after the clock and a separator, and
/// sourcing says nothing.
#[test]
fn tmux_conf_sourced_two_and_three_times_shows_the_segment_once() {
    let (_server, env) = refreshed();
    let conf = snippet(&env, "tmux");
    let inner = Tmux::start_sized(&env, "inner", &conf, "sh", 160);
    for _ in 0..2 {
        let mut cmd = env.command("tmux");
        cmd.arg("-S")
            .arg(inner.socket())
            .arg("source-file")
            .arg(&conf);
        assert_eq!(output(cmd), (0, String::new(), String::new()));
        let right = inner.run(&["show-options", "-gv", "status-right"]);
        assert_eq!(right.matches("quotaline segment").count(), 1, "{right}");
    }
    let (status, _) = drawn_status_line(&env, &inner, 160, LIMITS_LINE);
    assert_eq!(status.matches("5h 23%").count(), 1, "{status}");
    let today = chrono::Utc::now().format("%d-%b-%y").to_string();
    assert!(
        status.ends_with(&format!("{today} | {LIMITS_LINE}")),
        "{status}"
    );
}

/// Issue 22: one rule for a line without numbers, on every surface: nothing before anything
/// happened; after a failure, `quotaline: <what>` in the error colour (prompts, tmux,
/// starship, the bars alike); numbers for other orgs only, `quotaline: unknown org`.
#[test]
fn every_surface_says_the_same_when_there_are_no_numbers() {
    let server = FakeServer::claude_ai("usage_limits_array.json");
    server.route("/api/account", Reply::expired());
    // Each surface's first call, in a HOME of its own: it prints before it starts the
    // first refresh.
    for target in ["plain", "zsh", "tmux", "starship", "i3blocks", "waybar"] {
        let env = env_for(&server);
        let out = segment(&env, &["--target", target]);
        let shown = match target {
            "waybar" => serde_json::from_str::<Value>(&out).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_string(),
            _ => out.lines().next().unwrap_or("").to_string(),
        };
        assert_eq!(shown, "", "{target}");
    }
    let env = env_for(&server);
    let line = |target: &str| segment(&env, &["--target", target]);
    assert_eq!(ql(&env, &["refresh"]).0, 1);
    let said = "quotaline: unauthorized";
    assert_eq!(line("plain"), said);
    assert_eq!(line("starship"), said);
    assert_eq!(line("zsh"), format!("%F{{red}}{said}%f"));
    assert_eq!(
        line("tmux"),
        format!("#[fg=white,bg=red]{said}#[fg=default,bg=default]")
    );
    assert_eq!(line("i3blocks").lines().next(), Some(said));
    assert_eq!(waybar(&env, &[])["text"], said);
    let zsh_file = std::fs::read_to_string(env.cache_dir.join("segment.zsh")).unwrap();
    assert_eq!(
        zsh_file.lines().nth(1),
        Some(format!("%F{{red}}{said}%f").as_str())
    );
}

#[test]
fn an_org_that_is_not_there_is_said_in_the_line() {
    let (_server, env) = refreshed();
    assert_eq!(
        segment(&env, &["--target", "plain", "--org", "nope"]),
        "quotaline: unknown org"
    );
}

/// Issue 22: a `refresh` that asks nothing (the numbers are fresh) says so, and how to
/// fetch anyway, instead of exiting 0 in silence.
#[test]
fn refresh_inside_the_ttl_says_it_is_fresh_and_how_to_fetch_now() {
    let (server, env) = refreshed();
    age_cache(&env, 20);
    let asked = server.requests().len();
    let (code, out, err) = ql(&env, &["refresh"]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            0,
            "",
            "quotaline: fresh: fetched 20s ago; --force fetches now\n"
        )
    );
    assert_eq!(server.requests().len(), asked, "nothing asked");
    let (code, _, err) = ql(&env, &["refresh", "--force"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(server.requests().len() > asked);
}

/// The cells of a line `capture-pane -e` printed: each character with the SGR foreground
/// and background in force (`None` for the terminal's default).
fn cells(line: &str) -> Vec<(char, Option<u8>, Option<u8>)> {
    let (mut fg, mut bg) = (None, None);
    let mut out = Vec::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push((c, fg, bg));
            continue;
        }
        let seq: String = chars.by_ref().take_while(|&c| c != 'm').collect();
        for code in seq.trim_start_matches('[').split(';') {
            match code.parse::<u8>().unwrap_or(0) {
                0 => (fg, bg) = (None, None),
                n @ (30..=37 | 90..=97) => fg = Some(n),
                39 => fg = None,
                n @ (40..=47 | 100..=107) => bg = Some(n),
                49 => bg = None,
                _ => {}
            }
        }
    }
    out
}

/// The colours of the cells showing `text`, which must all be alike.
fn colours_of(cells: &[(char, Option<u8>, Option<u8>)], text: &str) -> (Option<u8>, Option<u8>) {
    let chars: Vec<char> = text.chars().collect();
    let at = cells
        .windows(chars.len())
        .position(|w| w.iter().map(|c| c.0).eq(chars.iter().copied()))
        .unwrap_or_else(|| panic!("{text:?} not drawn"));
    let run = &cells[at..at + chars.len()];
    assert!(
        run.iter().all(|c| (c.1, c.2) == (run[0].1, run[0].2)),
        "{text:?}: {run:?}"
    );
    (run[0].1, run[0].2)
}

/// Issue 22: warn and crit are blocks of colour (background and foreground together) that
/// read on tmux's stock green bar and on dark and light themes, and the bar's own colours
/// come back after each: the cells as the real tmux draws them (`capture-pane -e`).
#[test]
fn tmux_draws_warn_and_crit_as_readable_blocks_and_returns_to_the_bar() {
    let (_server, mut env) = refreshed();
    env.set("QUOTALINE_WARN", "60").set("QUOTALINE_CRIT", "80");
    let snip = std::fs::read_to_string(snippet(&env, "tmux")).unwrap();
    let (black, white, red, green, yellow) = (Some(30), Some(37), Some(41), Some(42), Some(43));
    for (name, style, bar) in [
        ("stock", "", (black, green)),
        (
            "dark",
            "set -g status-style fg=white,bg=black\n",
            (white, Some(40)),
        ),
        (
            "light",
            "set -g status-style fg=black,bg=white\n",
            (black, Some(47)),
        ),
    ] {
        let conf = env.home.path().join(format!("{name}.conf"));
        std::fs::write(&conf, format!("{style}{snip}")).unwrap();
        let inner = Tmux::start_sized(&env, name, &conf, "sh", 160);
        let (_, coloured) = drawn_status_line(&env, &inner, 160, LIMITS_LINE);
        let cells = cells(&coloured);
        assert_eq!(colours_of(&cells, "64%"), (black, yellow), "{name}: warn");
        assert_eq!(colours_of(&cells, "81%"), (white, red), "{name}: crit");
        for text in [" | 5h 23% · 7d ", " · opus ", " · sonnet 9% · ↻42m"] {
            assert_eq!(colours_of(&cells, text), bar, "{name}: {text:?}");
        }
    }
}
