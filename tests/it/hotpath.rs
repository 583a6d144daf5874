//! The prompt path, watched with strace: a `segment` opens the cache file once and nothing
//! else of its own (no SQLite database, config, locale or time zone file), makes no network
//! syscall, and on a fresh cache starts no process.
//! strace is required (scripts/test installs it): a missing strace fails, never skips.

use crate::common::{age_cache, claude_ai, ql, ql_statusline, shifted, TestEnv, BIN, ORG_IDS};
use std::io::Write;
use std::path::Path;
use std::process::Stdio;

/// Runs `quotaline args` under `strace -e trace=<calls>` (`-f` to follow children) and
/// returns the trace, one syscall per line.
fn strace(env: &TestEnv, follow: bool, calls: &str, args: &[&str]) -> String {
    strace_fed(env, follow, calls, args, b"").0
}

/// Like `strace`, with `stdin` fed through a pipe as Claude Code does; returns the trace and
/// what the process printed.
fn strace_fed(
    env: &TestEnv,
    follow: bool,
    calls: &str,
    args: &[&str],
    stdin: &[u8],
) -> (String, String) {
    let log = env.home.path().join("strace.log");
    let mut cmd = env.command("strace");
    if follow {
        cmd.arg("-f");
    }
    cmd.args(["-qq", "-e", &format!("trace={calls}"), "-o"])
        .arg(&log)
        .arg(&*BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("strace is required (scripts/test installs it): {e}"));
    // Smaller than a pipe buffer: written whole before the process reads; then EOF.
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "strace failed: {out:?}");
    let trace = std::fs::read_to_string(&log).unwrap();
    (trace, String::from_utf8(out.stdout).unwrap())
}

/// Lines of the trace naming any of `calls` (as `name(`).
fn calls<'a>(trace: &'a str, calls: &[&str]) -> Vec<&'a str> {
    trace
        .lines()
        .filter(|l| calls.iter().any(|c| l.contains(&format!("{c}("))))
        .collect()
}

/// The syscalls that open a file: glibc calls `openat`, musl (the static build) `open`.
const OPENS: &str = "open,openat";

/// Paths passed to `open` or `openat` that exist in the trace, in order.
fn opened(trace: &str) -> Vec<String> {
    trace
        .lines()
        .filter(|l| l.contains("openat(") || l.contains("open("))
        .filter_map(|l| l.split('"').nth(1).map(str::to_string))
        .collect()
}

/// `~/.claude.json` naming the first org as Claude Code's.
fn claude_json(env: &TestEnv) {
    let doc = format!(
        "{{\"oauthAccount\": {{\"organizationUuid\": \"{}\", \"organizationName\": \"Dev\"}}}}",
        ORG_IDS[0]
    );
    std::fs::write(env.home.path().join(".claude.json"), doc).unwrap();
}

fn fresh_cache_env() -> (crate::common::FakeServer, TestEnv) {
    let server = claude_ai("usage_limits_array.json");
    let env = TestEnv::with_server(&server);
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 0, "{err}");
    (server, env)
}

#[test]
fn fresh_segment_makes_no_network_syscall_opens_no_db_and_reads_the_cache_once() {
    let (server, env) = fresh_cache_env();
    let before = server.requests().len();
    let trace = strace(&env, true, "network,open,openat,process", &["segment"]);

    let network: Vec<&str> = trace
        .lines()
        .filter(|l| {
            ["socket(", "connect(", "sendto(", "recvfrom("]
                .iter()
                .any(|c| l.contains(c))
        })
        .collect();
    assert_eq!(network, Vec::<&str>::new(), "network syscalls:\n{trace}");

    let paths = opened(&trace);
    let databases: Vec<&String> = paths
        .iter()
        .filter(|p| {
            let name = Path::new(p)
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("");
            name.ends_with(".db") || name.ends_with(".sqlite") || name == "Cookies"
        })
        .collect();
    assert_eq!(databases, Vec::<&String>::new(), "opened:\n{trace}");
    let cache = env.cache_dir.join("cache.json").display().to_string();
    assert_eq!(
        paths.iter().filter(|p| **p == cache).count(),
        1,
        "the cache is read exactly once:\n{trace}"
    );

    // Nothing else is read: no config, no locale, no time zone database. What remains is the
    // dynamic loader's and std's own start-up (the main thread's stack bounds).
    let unexpected: Vec<&String> = paths
        .iter()
        .filter(|p| {
            let system = p.as_str() == "/etc/ld.so.cache"
                || p.as_str() == "/proc/self/maps"
                || p.ends_with(".so")
                || p.contains(".so.");
            !system && **p != cache
        })
        .collect();
    assert_eq!(unexpected, Vec::<&String>::new(), "opened:\n{trace}");

    // One execve (the binary itself), no fork or clone: a fresh cache starts nothing.
    let spawned: Vec<&str> = trace
        .lines()
        .filter(|l| {
            ["clone(", "clone3(", "fork(", "vfork("]
                .iter()
                .any(|c| l.contains(c))
        })
        .collect();
    assert_eq!(spawned, Vec::<&str>::new(), "{trace}");
    assert_eq!(trace.matches("execve(").count(), 1, "{trace}");
    assert_eq!(
        server.requests().len(),
        before,
        "no request reached the server"
    );
}

#[test]
fn stale_segment_itself_makes_no_network_syscall_and_leaves_the_fetch_to_its_child() {
    let (server, env) = fresh_cache_env();
    age_cache(&env, 3600);
    let before = server.count("/api/account");
    // Not following children: this is the segment process alone.
    let trace = strace(&env, false, "network,open,openat", &["segment"]);
    let network: Vec<&str> = trace
        .lines()
        .filter(|l| l.contains("socket(") || l.contains("connect("))
        .collect();
    assert_eq!(network, Vec::<&str>::new(), "{trace}");
    assert!(
        !opened(&trace).iter().any(|p| p.ends_with(".db")),
        "{trace}"
    );
    // ...while the refresh it started does reach the server.
    assert!(server.wait_for(
        "/api/account",
        before + 1,
        std::time::Duration::from_secs(10)
    ));
}

/// With a config.toml, the prompt path reads it only after an edit: the settings parsed at
/// the last ingest live in the cache, and one `stat` tells the file did not change.
#[test]
fn segment_with_a_config_file_does_not_open_it_until_it_changes() {
    let (_server, env) = fresh_cache_env();
    let conf = env.config("format = \"{5h}\"\n");
    // An ingest keeps the parsed file in the cache.
    assert_eq!(ql(&env, &["refresh", "--render-only"]).0, 0);
    let name = conf.to_str().unwrap().to_string();
    let trace = strace(&env, false, OPENS, &["segment"]);
    assert!(!opened(&trace).contains(&name), "{trace}");
    let (_, out, _) = ql(&env, &["segment"]);
    assert_eq!(out, "23%\n");

    env.config("format = \"{7d} \"\n");
    let trace = strace(&env, false, OPENS, &["segment"]);
    assert!(opened(&trace).contains(&name), "an edit is read: {trace}");
}

/// An edit of config.toml made after the last cache write is parsed by the first prompt that
/// sees it, which keeps it in the cache: the prompts after it `stat` the file once and read
/// nothing, until the next edit (not every prompt until the next refresh).
#[test]
fn an_edited_config_is_parsed_by_one_prompt_and_kept_for_the_next() {
    let (_server, env) = fresh_cache_env();
    let conf = env.config("format = \"{5h}\"\n");
    assert_eq!(ql(&env, &["refresh", "--render-only"]).0, 0);
    let name = conf.to_str().unwrap().to_string();
    let seen = |trace: &str| trace.lines().filter(|l| l.contains(&name)).count();
    // Every variant of stat: glibc calls statx, musl stat.
    let calls = "open,openat,%%stat";

    // A different size: the edit is seen even within the file system's mtime granularity.
    env.config("format = \"{7d} \"\n");
    let first = strace(&env, false, calls, &["segment"]);
    assert!(opened(&first).contains(&name), "the edit is read:\n{first}");
    let second = strace(&env, false, calls, &["segment"]);
    assert!(!opened(&second).contains(&name), "{second}");
    assert_eq!(seen(&second), 1, "one stat:\n{second}");
    assert_eq!(ql(&env, &["segment"]).1, "64% \n");

    // A statusLine call that brings nothing new keeps an edit the same way.
    claude_json(&env);
    let stdin = shifted("statusline_stdin.json");
    assert_eq!(ql_statusline(&env, stdin.as_bytes()).0, 0);
    env.config("format = \"{5h}/{7d}\"\n");
    let cache = env.cache_dir.join("cache.json");
    let before = std::fs::read(&cache).unwrap();
    assert_eq!(ql_statusline(&env, stdin.as_bytes()).0, 0);
    assert_ne!(std::fs::read(&cache).unwrap(), before, "the edit is kept");
    let third = strace(&env, false, calls, &["segment"]);
    assert_eq!(seen(&third), 1, "one stat:\n{third}");
    let (_, out, _) = ql(&env, &["segment"]);
    assert_eq!(
        (out.matches('%').count(), out.contains("%/")),
        (2, true),
        "{out}"
    );
}

/// Claude Code's `.claude.json` is often megabytes of project history: the status line reads
/// it again only when it changed, so its cost does not grow with the file.
#[test]
fn statusline_reads_a_large_claude_json_only_after_it_changed() {
    let (_server, env) = fresh_cache_env();
    let path = env.home.path().join(".claude.json");
    let projects: String = (0..20_000)
        .map(|i| {
            format!(
                "\"/home/dev/project-{i}\": {{\"history\": [\"{}\"]}},",
                "x".repeat(200)
            )
        })
        .collect();
    let account = format!(
        "{{\"projects\": {{{} \"last\": {{}}}}, \"oauthAccount\": {{\"organizationUuid\": \"{}\", \
         \"organizationName\": \"Big\"}}}}",
        projects,
        crate::common::ORG_IDS[0]
    );
    std::fs::write(&path, &account).unwrap();
    assert!(account.len() > 4_000_000);
    let name = path.to_str().unwrap().to_string();
    let first = strace(&env, false, OPENS, &["statusline"]);
    assert!(opened(&first).contains(&name), "{first}");
    let second = strace(&env, false, OPENS, &["statusline"]);
    assert!(!opened(&second).contains(&name), "{second}");
    // Changed: read again.
    std::fs::write(&path, account.replace("\"Big\"", "\"Bigger\"")).unwrap();
    let third = strace(&env, false, OPENS, &["statusline"]);
    assert!(opened(&third).contains(&name), "{third}");
}

/// Claude Code runs `statusline` on every message, mostly with numbers the cache already
/// holds: then it writes nothing, opens no SQLite database, and starts no thread (stdin is
/// bounded by `poll`, not by a reader thread waited on with a timeout).
#[test]
fn statusline_with_unchanged_numbers_writes_nothing_opens_no_db_and_starts_no_thread() {
    let (_server, env) = fresh_cache_env();
    claude_json(&env);
    let stdin = shifted("statusline_stdin.json");
    // The first reading is news, and is written.
    let (code, first, _) = ql_statusline(&env, stdin.as_bytes());
    assert_eq!(code, 0);
    assert!(first.contains("42%"), "{first}");
    let cache = env.cache_dir.join("cache.json");
    let before = std::fs::read(&cache).unwrap();

    let (trace, out) = strace_fed(
        &env,
        true,
        "open,openat,process,rename,renameat,renameat2,unlink,unlinkat",
        &["statusline"],
        stdin.as_bytes(),
    );
    assert_eq!(out, first);
    assert_eq!(
        calls(&trace, &["clone", "clone3", "fork", "vfork"]),
        Vec::<&str>::new(),
        "no thread, no process:\n{trace}"
    );
    assert_eq!(calls(&trace, &["execve"]).len(), 1, "{trace}");
    let databases: Vec<String> = opened(&trace)
        .into_iter()
        .filter(|p| p.contains(".db") || p.contains("history"))
        .collect();
    assert_eq!(databases, Vec::<String>::new(), "{trace}");
    let written: Vec<&str> = calls(&trace, &["open", "openat"])
        .into_iter()
        .filter(|l| {
            ["O_WRONLY", "O_RDWR", "O_CREAT"]
                .iter()
                .any(|f| l.contains(f))
        })
        .collect();
    assert_eq!(written, Vec::<&str>::new(), "opened for writing:\n{trace}");
    assert_eq!(
        calls(
            &trace,
            &["rename", "renameat", "renameat2", "unlink", "unlinkat"]
        ),
        Vec::<&str>::new(),
        "{trace}"
    );
    assert_eq!(
        std::fs::read(&cache).unwrap(),
        before,
        "the cache is untouched"
    );
}
