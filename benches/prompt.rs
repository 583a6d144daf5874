//! The prompt path measured against the process floor (`cargo bench`; a report, never a
//! pass/fail test).
//!
//! Every scenario spawns the release binary, exactly as a prompt does: stdout piped and read
//! to EOF, then the child reaped. The floor is a minimal Rust program built here with `rustc`
//! that opens the cache file, takes a shared lock, reads it and prints one line: no process
//! that shows the cache can do less. Scenarios run
//! interleaved, one of each per round in a rotating order, so machine noise (two shared
//! cores) lands on all of them alike, and each is reported as a ratio to the floor.
//!
//! Peak RSS comes from a separate, untimed pass through a tiny C launcher (built here with
//! `cc`, which the bundled SQLite needs anyway) that forks, execs and `wait4`s. Linux folds
//! the RSS of the image a process replaces at exec into its `ru_maxrss`, so a child spawned
//! straight from this (large) bench would report the bench's size; forked from the launcher
//! it reports its own, with the launcher's ~1 MiB as the lowest reading.
//!
//! `QUOTALINE_BENCH_RUNS` sets the measured rounds (default 300, after 20 warm-up rounds);
//! `QUOTALINE_BENCH_BIN` measures another build of quotaline instead of this one.

#[path = "../tests/it/common/mod.rs"]
#[allow(dead_code)]
mod common;

use common::browsers::{write_chromium_db, ChromiumCookie, Stored};
use common::{claude_ai, payload, Reply, TestEnv, BIN};
use fs4::fs_std::FileExt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WARMUP: usize = 20;
const REFRESH_RUNS: usize = 40;
/// Untimed rounds through the RSS launcher.
const RSS_RUNS: usize = 20;
/// How long the fake server sits on `/api/account` in the stale scenario, so the refresh the
/// segment starts is certainly still running when the segment exits.
const STALE_DELAY: Duration = Duration::from_millis(100);

/// fork, exec argv[2..], wait4; writes the child's peak RSS (KiB) to argv[1].
const LAUNCHER_SRC: &str = r#"
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 3) return 125;
    pid_t pid = fork();
    if (pid == 0) {
        execv(argv[2], argv + 2);
        _exit(127);
    }
    int status;
    struct rusage usage;
    if (pid < 0 || wait4(pid, &status, 0, &usage) != pid) return 125;
    FILE *out = fopen(argv[1], "w");
    if (!out) return 125;
    fprintf(out, "%ld\n", usage.ru_maxrss);
    fclose(out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
"#;

/// Minimal program: the floor any cache-reading prompt process stands on.
const FLOOR_SRC: &str = r#"
use std::io::{Read, Write};
fn main() {
    let path = std::env::args_os().nth(1).expect("cache path");
    let mut file = std::fs::File::open(path).expect("open");
    file.lock_shared().expect("lock");
    let mut text = String::new();
    file.read_to_string(&mut text).expect("read");
    let line = text.get(..48).unwrap_or(&text);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}
"#;

/// How a scenario is spawned: timed directly, or through the RSS launcher.
#[derive(Clone, Copy)]
enum Pass {
    Warmup,
    Timed,
    Rss,
}

/// Untimed work around a spawn.
type Hook = Box<dyn Fn(&TestEnv)>;

struct Scenario {
    name: String,
    program: PathBuf,
    args: Vec<String>,
    env: TestEnv,
    stdin: Option<Vec<u8>>,
    /// Whether a successful run prints something (a refresh prints nothing).
    prints: bool,
    /// Runs before each spawn, outside the timing (e.g. make the cache stale again).
    before: Option<Hook>,
    /// Runs after each spawn, outside the timing (e.g. wait for the background refresh).
    after: Option<Hook>,
    walls: Vec<Duration>,
    rss_kib: Vec<u64>,
}

impl Scenario {
    fn new(name: &str, program: &Path, args: &[&str], env: TestEnv) -> Scenario {
        Scenario {
            name: name.to_string(),
            program: program.to_path_buf(),
            args: args.iter().map(|a| a.to_string()).collect(),
            env,
            stdin: None,
            prints: true,
            before: None,
            after: None,
            walls: Vec::new(),
            rss_kib: Vec::new(),
        }
    }

    fn run(&mut self, pass: Pass, tools: &Tools) {
        if let Some(before) = &self.before {
            before(&self.env);
        }
        let mut args = self.args.clone();
        let mut program = self.program.clone();
        if let Pass::Rss = pass {
            args.splice(0..0, [tools.rss_out(), program.display().to_string()]);
            program = tools.launcher.clone();
        }
        let start = Instant::now();
        let (code, out) = spawn(&self.env, &program, &args, &self.stdin);
        let wall = start.elapsed();
        if let Some(after) = &self.after {
            after(&self.env);
        }
        assert!(
            code == 0 && out.trim().is_empty() != self.prints,
            "{}: exit {code}, output {out:?}",
            self.name
        );
        match pass {
            Pass::Warmup => {}
            Pass::Timed => self.walls.push(wall),
            Pass::Rss => self.rss_kib.push(tools.rss()),
        }
    }
}

/// The programs this bench builds, in a temp dir.
struct Tools {
    dir: tempfile::TempDir,
    floor: PathBuf,
    launcher: PathBuf,
}

impl Tools {
    fn build() -> Tools {
        let dir = tempfile::tempdir().expect("temp dir");
        let floor = build_floor(dir.path());
        let launcher = build_launcher(dir.path());
        Tools {
            dir,
            floor,
            launcher,
        }
    }

    fn rss_out(&self) -> String {
        self.dir.path().join("rss").display().to_string()
    }

    fn rss(&self) -> u64 {
        let text = std::fs::read_to_string(self.rss_out()).expect("launcher output");
        text.trim().parse().expect("launcher output")
    }
}

/// Spawns like a prompt does; returns the exit code and stdout once it has exited.
fn spawn(env: &TestEnv, program: &Path, args: &[String], stdin: &Option<Vec<u8>>) -> (i32, String) {
    let mut cmd = env.command(program.to_str().expect("utf-8 path"));
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::null());
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().expect("spawn");
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // Smaller than a pipe buffer: this never blocks, even if the child does not read.
        let _ = pipe.write_all(input);
    }
    let mut out = String::new();
    let _ = child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out);
    let status = child.wait().expect("wait");
    (status.code().unwrap_or(-1), out)
}

fn build_launcher(dir: &Path) -> PathBuf {
    let src = dir.join("launcher.c");
    let bin = dir.join("launcher");
    std::fs::write(&src, LAUNCHER_SRC).expect("write launcher.c");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let status = Command::new(cc)
        .args(["-O2", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .expect("run cc");
    assert!(status.success(), "cc failed to build the RSS launcher");
    bin
}

fn build_floor(dir: &Path) -> PathBuf {
    let src = dir.join("floor.rs");
    let bin = dir.join("floor");
    std::fs::write(&src, FLOOR_SRC).expect("write floor.rs");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let status = Command::new(rustc)
        .args([
            "--edition",
            "2021",
            "-C",
            "opt-level=3",
            "-C",
            "panic=abort",
        ])
        .args(["-C", "codegen-units=1", "-C", "strip=symbols", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .expect("run rustc");
    assert!(status.success(), "rustc failed to build the floor");
    bin
}

/// Whether `bin <help_args> --help` mentions `word` (a command or an option), so that a
/// command that exists but fails is a loud failure of the bench, not a silent fallback.
fn knows(bin: &str, env: &TestEnv, help_args: &[&str], word: &str) -> bool {
    let mut args: Vec<String> = help_args.iter().map(|a| a.to_string()).collect();
    args.push("--help".to_string());
    let (_, out) = spawn(env, Path::new(bin), &args, &None);
    out.split_whitespace().any(|w| w == word)
}

/// A cache dir holding a real cache, written by `quotaline refresh` against the fake.
fn env_with_cache(server: &common::FakeServer) -> TestEnv {
    let mut env = TestEnv::with_server(server);
    // Long enough that the fresh cache stays fresh for the whole bench.
    env.set("QUOTALINE_TTL", "3600");
    let (code, _, err) = common::ql(&env, &["refresh"]);
    assert_eq!(code, 0, "refresh against the fake failed: {err}");
    env
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

struct Summary {
    median: Duration,
    p90: Duration,
    p99: Duration,
    rss_kib: u64,
}

fn summarize(s: &Scenario) -> Summary {
    let mut walls = s.walls.clone();
    walls.sort();
    Summary {
        median: percentile(&walls, 0.5),
        p90: percentile(&walls, 0.9),
        p99: percentile(&walls, 0.99),
        rss_kib: s.rss_kib.iter().copied().max().unwrap_or(0),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

fn row(name: &str, s: &Summary, floor: Option<&Summary>) {
    let ratio = floor.map_or("-".to_string(), |f| {
        format!("{:.2}x", s.median.as_secs_f64() / f.median.as_secs_f64())
    });
    println!(
        "{name:<46} {:>8} {:>8} {:>8} {:>7} {:>7.1}",
        ms(s.median),
        ms(s.p90),
        ms(s.p99),
        ratio,
        s.rss_kib as f64 / 1024.0
    );
}

fn main() {
    let runs: usize = std::env::var("QUOTALINE_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    // Another build to compare (another opt-level, the main branch): its path here.
    let bin = std::env::var("QUOTALINE_BENCH_BIN").unwrap_or_else(|_| BIN.to_string());
    let tools = Tools::build();

    // Realistic data: the limits[] payload (per-model windows) for both orgs.
    let server = claude_ai("usage_limits_array.json");
    let fresh = env_with_cache(&server);
    let cache_path = fresh.cache_dir.join("cache.json");
    let fresh_bytes = std::fs::read(&cache_path).expect("read cache");

    let floor = Scenario::new(
        "floor (open, shared lock, read, print)",
        &tools.floor,
        &[cache_path.to_str().unwrap()],
        TestEnv::new(),
    );

    let segment = Scenario::new(
        "segment, fresh cache",
        Path::new(&bin),
        &["segment"],
        env_with_cache(&server),
    );

    // Stale: the cache is two hours old, so every run takes the refresh lock and starts a
    // detached refresh; the fake sits on the first request so that refresh is still running
    // when the segment exits. Between runs (untimed) the bench waits for the refresh to
    // release its lock and puts the stale cache back.
    let slow = claude_ai("usage_limits_array.json");
    slow.route(
        "/api/account",
        Reply::json(200, &payload("account.json")).delay(STALE_DELAY),
    );
    let mut stale_env = TestEnv::with_server(&slow);
    stale_env.set("QUOTALINE_TTL", "3600");
    std::fs::write(stale_env.cache_dir.join("cache.json"), &fresh_bytes).expect("write cache");
    common::age_cache(&stale_env, 2 * 3600);
    let stale_bytes = std::fs::read(stale_env.cache_dir.join("cache.json")).unwrap();
    let mut stale = Scenario::new(
        "segment, stale cache (starts a refresh)",
        Path::new(&bin),
        &["segment"],
        stale_env,
    );
    stale.before = Some(Box::new(move |env: &TestEnv| {
        std::fs::write(env.cache_dir.join("cache.json"), &stale_bytes).expect("reset cache");
    }));
    stale.after = Some(Box::new(|env: &TestEnv| {
        // The refresh inherited the lock the segment took: it is free once the refresh ends.
        let lock = std::fs::File::open(env.cache_dir.join("refresh.lock")).expect("lock file");
        lock.lock_exclusive().expect("wait for the refresh");
    }));

    // `--target waybar` and `statusline` come from other branches; until they are merged the
    // bench measures the nearest existing command and says so in the report.
    let waybar_env = env_with_cache(&server);
    let waybar_args: &[&str] = if knows(&bin, &waybar_env, &["segment"], "--target") {
        &["segment", "--target", "waybar"]
    } else {
        &["status"]
    };
    let waybar = Scenario::new(
        &waybar_args.join(" "),
        Path::new(&bin),
        waybar_args,
        waybar_env,
    );

    let stdin = Some(payload("statusline_stdin.json").into_bytes());
    let statusline_env = env_with_cache(&server);
    let statusline_args: &[&str] = if knows(&bin, &statusline_env, &[], "statusline") {
        &["statusline"]
    } else {
        &["json"]
    };
    let mut statusline = Scenario::new(
        &format!("{} < statusline_stdin.json", statusline_args.join(" ")),
        Path::new(&bin),
        statusline_args,
        statusline_env,
    );
    statusline.stdin = stdin;
    // No reset between statusline runs: Claude Code sends the same numbers again and again,
    // and an identical reading is not written (a write, with its fsync, is the first run's).

    // A config.toml in place: its parsed settings ride in the cache, so the segment only
    // `stat`s it (a build without configuration ignores the file).
    let mut config_env = TestEnv::with_server(&server);
    config_env.set("QUOTALINE_TTL", "3600");
    config_env.config(
        "format = \"5h {5h} · 7d {7d}( · {models})( · ↻{reset})\"\nwarn = 70\ncrit = 90\n\
         [target.tmux]\nformat = \"{5h}/{7d}\"\n",
    );
    let (code, _, err) = common::ql(&config_env, &["refresh"]);
    assert_eq!(code, 0, "refresh against the fake failed: {err}");
    let configured = Scenario::new(
        "segment, fresh cache, config.toml present",
        Path::new(&bin),
        &["segment"],
        config_env,
    );

    // Claude Code's `.claude.json` at 5 MB of project history, as real ones grow: the
    // statusline's cost must not depend on it.
    let big_env = env_with_cache(&server);
    let projects: String = (0..24_000)
        .map(|i| {
            format!(
                "\"/home/dev/project-{i}\": {{\"history\": [\"{}\"]}},",
                "x".repeat(180)
            )
        })
        .collect();
    std::fs::write(
        big_env.home.path().join(".claude.json"),
        format!(
            "{{\"projects\": {{{projects} \"last\": {{}}}}, \"oauthAccount\": \
             {{\"organizationUuid\": \"{}\", \"organizationName\": \"Dev Org\"}}}}",
            common::ORG_IDS[0]
        ),
    )
    .expect("write .claude.json");
    let mut big_statusline = Scenario::new(
        &format!("{} < stdin, 5 MB ~/.claude.json", statusline_args.join(" ")),
        Path::new(&bin),
        statusline_args,
        big_env,
    );
    big_statusline.stdin = Some(payload("statusline_stdin.json").into_bytes());

    let mut scenarios = vec![
        floor,
        segment,
        stale,
        waybar,
        statusline,
        configured,
        big_statusline,
    ];
    let started = Instant::now();
    let n = scenarios.len();
    for round in 0..WARMUP + runs + RSS_RUNS {
        let pass = match round {
            r if r < WARMUP => Pass::Warmup,
            r if r < WARMUP + runs => Pass::Timed,
            _ => Pass::Rss,
        };
        for k in 0..n {
            scenarios[(round + k) % n].run(pass, &tools);
        }
    }
    let elapsed = started.elapsed();

    // A refresh round: from start to the new cache written (the process exits after the
    // atomic rename), against the loopback fake with no delay; then the same with no key set,
    // the session found in a Chrome profile (cookie discovery and decryption included).
    let mut refresh = Scenario::new(
        "refresh --force (loopback fake)",
        Path::new(&bin),
        &["refresh", "--force"],
        env_with_cache(&server),
    );
    let mut discovery_env = env_with_cache(&server);
    discovery_env.remove("QUOTALINE_SESSION_KEY");
    let cookies = discovery_env
        .home
        .path()
        .join(".config/google-chrome/Default/Cookies");
    let key = "sk-ant-sid01-BENCH-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let cookie = ChromiumCookie::new(".claude.ai", "sessionKey", key, Stored::v10_linux())
        .last_access(chrono::Utc::now().timestamp());
    write_chromium_db(&cookies, 24, &[cookie]);
    let mut discovery = Scenario::new(
        "refresh --force, session from Chrome profile",
        Path::new(&bin),
        &["refresh", "--force"],
        discovery_env,
    );
    for scenario in [&mut refresh, &mut discovery] {
        scenario.prints = false;
        for i in 0..3 + REFRESH_RUNS + RSS_RUNS {
            let pass = match i {
                i if i < 3 => Pass::Warmup,
                i if i < 3 + REFRESH_RUNS => Pass::Timed,
                _ => Pass::Rss,
            };
            scenario.run(pass, &tools);
        }
    }

    let size = std::fs::metadata(&bin).map(|m| m.len()).unwrap_or(0);
    println!();
    println!(
        "quotaline prompt bench: {runs} interleaved rounds after {WARMUP} warm-up ({:.1} s)",
        elapsed.as_secs_f64()
    );
    println!("binary {bin}: {:.2} MiB", size as f64 / (1 << 20) as f64);
    println!("RSS: peak over {RSS_RUNS} runs each, forked from a ~1 MiB launcher");
    println!();
    println!(
        "{:<46} {:>8} {:>8} {:>8} {:>7} {:>7}",
        "", "median", "p90", "p99", "/floor", "RSS"
    );
    println!(
        "{:<46} {:>8} {:>8} {:>8} {:>7} {:>7}",
        "", "ms", "ms", "ms", "", "MiB"
    );
    let floor_summary = summarize(&scenarios[0]);
    for s in &scenarios {
        row(&s.name, &summarize(s), Some(&floor_summary));
    }
    row(&refresh.name, &summarize(&refresh), None);
    row(&discovery.name, &summarize(&discovery), None);
    if waybar_args[0] == "status" {
        println!("note: `segment --target waybar` is not in this build; measured `status`");
    }
    if statusline_args[0] == "json" {
        println!("note: `statusline` is not in this build; measured `json` with the same stdin");
    }

    let ratio = |i: usize| {
        summarize(&scenarios[i]).median.as_secs_f64() / floor_summary.median.as_secs_f64()
    };
    let peak = scenarios[1..]
        .iter()
        .map(|s| summarize(s).rss_kib)
        .max()
        .unwrap_or(0);
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!();
    println!("goals:");
    let fresh_ratio = ratio(1);
    println!(
        "  fresh segment <= 1.3x floor: {fresh_ratio:.2}x {}",
        verdict(fresh_ratio <= 1.3)
    );
    let stale_ratio = ratio(2);
    println!(
        "  stale segment <= 2x floor:   {stale_ratio:.2}x {}",
        verdict(stale_ratio <= 2.0)
    );
    let mib = peak as f64 / 1024.0;
    println!(
        "  peak RSS <= 4 MiB:           {mib:.1} MiB {}",
        verdict(mib <= 4.0)
    );
    let size_mib = size as f64 / (1 << 20) as f64;
    println!(
        "  binary <= 5 MiB stripped:    {size_mib:.2} MiB {}",
        verdict(size_mib <= 5.0)
    );
    drop(slow);
}
