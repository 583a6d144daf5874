//! Driving the real programs (zsh, bash, fish, tmux, starship) against a loopback fake:
//! every environment puts the test binary first on PATH (the snippets call `quotaline` from
//! PATH, and the refreshes they start must reach the fake, never the internet), and a
//! tmux server that owns its own pty, so no test needs a terminal.

use super::{claude_ai, ql, shifted, FakeServer, Reply, TestEnv, BIN, ORG_IDS};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// `5h 23% · 7d 64% · opus 81% · sonnet 9% · ↻42m`, from usage_limits_array.json.
pub const LIMITS_LINE: &str = "5h 23% · 7d 64% · opus 81% · sonnet 9% · ↻42m";

/// LIMITS_LINE as zsh prompt markup.
pub const ZSH_LINE: &str = "5h %F{green}23%%%f · 7d %F{green}64%%%f · opus %F{yellow}81%%%f · \
                        sonnet %F{green}9%%%f · ↻42m";
/// LIMITS_LINE as a terminal shows it (SGR colours).
pub const ANSI_LINE: &str = "5h \x1b[32m23%\x1b[39m · 7d \x1b[32m64%\x1b[39m · opus \
                         \x1b[33m81%\x1b[39m · sonnet \x1b[32m9%\x1b[39m · ↻42m";

/// LIMITS_LINE as bash's PS1 text: SGR inside `\x01..\x02`.
pub fn bash_line() -> String {
    ANSI_LINE
        .replace("\x1b[32m", "\x01\x1b[32m\x02")
        .replace("\x1b[33m", "\x01\x1b[33m\x02")
        .replace("\x1b[39m", "\x01\x1b[39m\x02")
}

/// Model display names that try to run a command or inject markup in each program.
pub const NASTY_MODELS: &[&str] = &[
    "#(touch $HOME/pwned)",
    "$(touch $HOME/pwned)%F{red}",
    "#(touch pwned-tmux)",
    "$(touch pwned-sh)",
    "`touch pwned-bt`",
    "<b>&",
];

/// Where an injected command would have left a file (the line shows a display name
/// lowercased, so `$HOME` becomes `$home`, which is empty: `/pwned`).
pub fn assert_nothing_ran(env: &TestEnv) {
    for f in ["pwned", "pwned-tmux", "pwned-sh", "pwned-bt"] {
        for dir in [env.home.path(), Path::new("/")] {
            assert!(
                !dir.join(f).exists(),
                "{f} was created in {}",
                dir.display()
            );
        }
    }
}

/// An environment whose PATH starts with the test binary's directory.
pub fn env_for(server: &FakeServer) -> TestEnv {
    let mut env = TestEnv::with_server(server);
    let bin_dir = Path::new(&*BIN).parent().unwrap().to_path_buf();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin_dir];
    dirs.extend(std::env::split_paths(&path));
    env.set(
        "PATH",
        std::env::join_paths(dirs).unwrap().to_str().unwrap(),
    );
    env.set("TERM", "xterm-256color");
    env
}

/// A fake serving usage_limits_array.json, an environment for it, and one refresh done.
pub fn refreshed() -> (FakeServer, TestEnv) {
    let server = claude_ai("usage_limits_array.json");
    let env = env_for(&server);
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 0, "refresh failed: {err}");
    (server, env)
}

/// Like `refreshed`, with `NASTY_MODELS` added to the payload's `limits[]` as
/// weekly_scoped windows (12%, 13%, ...), and `QUOTALINE_FORMAT={models}` so the line is
/// short enough for any status bar.
pub fn refreshed_nasty() -> (FakeServer, TestEnv) {
    refreshed_with_models(NASTY_MODELS)
}

/// Like `refreshed_nasty`, with these model names.
pub fn refreshed_with_models(models: &[&str]) -> (FakeServer, TestEnv) {
    let mut usage: Value = serde_json::from_str(&shifted("usage_limits_array.json")).unwrap();
    let resets = usage["seven_day"]["resets_at"].clone();
    for (i, name) in models.iter().enumerate() {
        usage["limits"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
                "kind": "weekly_scoped", "group": "weekly", "percent": 12 + i,
                "resets_at": resets, "is_active": false, "severity": "normal",
                "scope": {"model": {"id": null, "display_name": name}, "surface": null},
            }));
    }
    let server = claude_ai("usage_limits_array.json");
    for org in ORG_IDS {
        server.route(
            &format!("/api/organizations/{org}/usage"),
            Reply::json(200, &usage.to_string()),
        );
    }
    let env = env_for(&server);
    // The prompt files every shell reads follow config.toml (whoever refreshes).
    env.config("format = \"{models}\"\n");
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 0, "refresh failed: {err}");
    (server, env)
}

/// The nasty payload's models as the `{models}` placeholder shows them: each display name
/// lowercased, in the order of their window keys, which are slugs (`seven_day_b` for `<b>&`,
/// `seven_day_touch_home_pwned` for `#(touch $HOME/pwned)`, ...).
pub fn nasty_models_line() -> String {
    [
        "<b>& 17%",
        "opus 81%",
        "sonnet 9%",
        "#(touch $home/pwned) 12%",
        "$(touch $home/pwned)%f{red} 13%",
        "`touch pwned-bt` 16%",
        "$(touch pwned-sh) 15%",
        "#(touch pwned-tmux) 14%",
    ]
    .join(" · ")
}

/// Writes `quotaline init <program>` to a file in HOME and returns its path.
pub fn snippet(env: &TestEnv, program: &str) -> PathBuf {
    let (code, out, err) = ql(env, &["init", program]);
    assert_eq!((code, err.as_str()), (0, ""), "init {program}");
    let path = env.home.path().join(format!("snippet.{program}"));
    std::fs::write(&path, out).unwrap();
    path
}

/// Runs `program args` in `env`, in HOME, with a 30 s limit; returns (code, stdout, stderr).
pub fn run_in_home(env: &TestEnv, program: &str, args: &[&str]) -> (i32, String, String) {
    let mut cmd = env.command(program);
    cmd.args(args).current_dir(env.home.path());
    output(cmd)
}

pub fn output(mut cmd: Command) -> (i32, String, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Removes SGR sequences (`ESC [ ... m`), for asserting what a reader sees.
pub fn strip_sgr(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Sets the first line (the refresh-due time) of every pre-rendered prompt file to 0, as
/// if the TTL had passed, replacing each file as quotaline does (a new file renamed over
/// the old one), with an mtime a minute earlier than the old one.
pub fn make_prompt_files_due(env: &TestEnv) {
    for shell in ["zsh", "bash", "fish"] {
        let path = env.cache_dir.join(format!("segment.{shell}"));
        let text = std::fs::read_to_string(&path).unwrap();
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        let (_, line) = text.split_once('\n').unwrap();
        let tmp = env.cache_dir.join("segment.tmp");
        std::fs::write(&tmp, format!("0\n{line}")).unwrap();
        let file = std::fs::File::options().write(true).open(&tmp).unwrap();
        file.set_modified(mtime - Duration::from_secs(60)).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }
}

/// Polls `check` every 50 ms until it returns Some, or panics with `what` after `limit`.
pub fn wait_until<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A tmux server of its own (socket in the test's HOME), started with `conf`, one session
/// `size` big running `command` in HOME. Killed on drop.
pub struct Tmux<'a> {
    env: &'a TestEnv,
    socket: PathBuf,
}

impl<'a> Tmux<'a> {
    pub fn start(env: &'a TestEnv, name: &str, conf: &Path, command: &str) -> Tmux<'a> {
        Tmux::start_sized(env, name, conf, command, 160)
    }

    pub fn start_sized(
        env: &'a TestEnv,
        name: &str,
        conf: &Path,
        command: &str,
        width: u32,
    ) -> Tmux<'a> {
        let width = width.to_string();
        let tmux = Tmux {
            env,
            socket: env.home.path().join(format!("{name}.sock")),
        };
        let home = env.home.path().to_str().unwrap();
        let (code, _, err) = tmux.run_with_conf(
            conf,
            &[
                "new-session",
                "-d",
                "-x",
                &width,
                "-y",
                "12",
                "-c",
                home,
                command,
            ],
        );
        assert_eq!(code, 0, "tmux new-session: {err}");
        tmux
    }

    fn run_with_conf(&self, conf: &Path, args: &[&str]) -> (i32, String, String) {
        let mut cmd = self.env.command("tmux");
        cmd.arg("-S")
            .arg(&self.socket)
            .arg("-f")
            .arg(conf)
            .args(args)
            .current_dir(self.env.home.path());
        output(cmd)
    }

    /// `tmux <args>` against this server; panics when tmux fails.
    pub fn run(&self, args: &[&str]) -> String {
        let mut cmd = self.env.command("tmux");
        cmd.arg("-S")
            .arg(&self.socket)
            .args(args)
            .current_dir(self.env.home.path());
        let (code, out, err) = output(cmd);
        assert_eq!(code, 0, "tmux {args:?}: {err}");
        out
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The pane's screen as text, trailing blanks trimmed per line.
    pub fn screen(&self) -> Vec<String> {
        self.run(&["capture-pane", "-p", "-J"])
            .lines()
            .map(|l| l.trim_end().to_string())
            .collect()
    }

    /// Types `keys` and presses Enter.
    pub fn type_line(&self, keys: &str) {
        self.run(&["send-keys", "-l", keys]);
        self.run(&["send-keys", "Enter"]);
    }

    /// Waits until some line of the screen satisfies `pred`, returning the whole screen.
    pub fn wait_for_screen(&self, what: &str, pred: impl Fn(&str) -> bool) -> Vec<String> {
        let mut last = Vec::new();
        let found = wait_until_or(Duration::from_secs(15), || {
            last = self.screen();
            last.iter().any(|l| pred(l)).then(|| last.clone())
        });
        found
            .unwrap_or_else(|| panic!("timed out waiting for {what}; screen:\n{}", last.join("\n")))
    }
}

fn wait_until_or<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Tmux<'_> {
    fn drop(&mut self) {
        let mut cmd = self.env.command("tmux");
        cmd.arg("-S").arg(&self.socket).arg("kill-server");
        let _ = cmd.output();
    }
}

extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}

/// Signals a whole process group (each program here leads its own).
pub fn kill_group(child: &mut Child, signal: i32) {
    // SAFETY: a plain system call on a process group this test started.
    unsafe {
        kill(-(child.id() as i32), signal);
    }
}

/// The first line `child` prints, within 20 s.
/// Xvfb with one `size` screen (`800x600x24`) on a display it picks itself (`-displayfd`:
/// always a free one), in a process group of its own; the child and its display (`:N`).
/// `-noreset`: otherwise Xvfb resets whenever its last client leaves, and a client between
/// connections (polybar during a screenshot, dunst) loses its display.
pub fn start_xvfb(env: &TestEnv, size: &str) -> (Child, String) {
    use std::os::unix::process::CommandExt;
    let mut cmd = env.command("Xvfb");
    cmd.args([
        "-displayfd",
        "1",
        "-nolisten",
        "tcp",
        "-noreset",
        "-screen",
        "0",
        size,
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::null())
    .process_group(0);
    let mut child = cmd
        .spawn()
        .expect("Xvfb is required (scripts/test installs xvfb)");
    let display = format!(":{}", first_line(&mut child, "Xvfb"));
    (child, display)
}

pub fn first_line(child: &mut Child, what: &str) -> String {
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(out).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{what} did not start"));
    assert!(!line.trim().is_empty(), "{what} did not start");
    line.trim().to_string()
}
