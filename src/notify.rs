//! Delivering events (`events.rs`) to the desktop and to the user's hook, never on the
//! prompt's time. `ingest` calls [`dispatch`] after its cache write: it starts
//! `quotaline notify-deliver` detached (own process group, the events as JSON on its stdin,
//! stdout and stderr on /dev/null) and returns at once. That child shows each event with
//! `notify-send` (Linux, freedesktop notifications on the session D-Bus) or `osascript`
//! (macOS), runs the hook once per event, kills whatever outlives `[notify] timeout`, and
//! records how it went in the cache (`doctor`, `status`).
//!
//! Server text reaches these programs only as arguments or as JSON on stdin, never through a
//! shell; the notification body is escaped for the markup notification servers read.

use crate::cache::Cache;
use crate::event::{Event, HookRun, Report};
use crate::file::find_on_path;
use crate::render::markup;
use crate::settings;
use chrono::Utc;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The hidden subcommand [`dispatch`] starts.
pub const DELIVER: &str = "notify-deliver";

/// More than any batch of events: what `notify-deliver` reads at most.
pub const MAX_INPUT: u64 = 1 << 20;

/// Starts the delivery of the events `[notify] events` switches on, detached; nothing when
/// there is nothing to deliver or nowhere to. Never waits and never fails: an event that
/// cannot be delivered is still in the history.
pub fn dispatch(events: &[Event]) {
    let notify = settings::notify();
    let wanted: Vec<&Event> = events
        .iter()
        .filter(|e| notify.delivers(e.name()))
        .collect();
    if wanted.is_empty() || (!notify.desktop.value && notify.command.value.is_none()) {
        return;
    }
    let (Ok(exe), Ok(json)) = (std::env::current_exe(), serde_json::to_vec(&wanted)) else {
        return;
    };
    let mut cmd = Command::new(exe);
    // It fetches nothing, and everything it starts is someone else's program.
    settings::without_secrets(&mut cmd);
    let child = cmd
        .arg(DELIVER)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
    let Ok(mut child) = child else { return };
    // A batch is far below a pipe's buffer: the write does not wait for the child to read.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&json);
    }
    // Reaped by a thread, so a long-lived caller (the browser's host) leaves no zombie; a
    // caller that exits first leaves the child to init.
    std::thread::spawn(move || child.wait());
}

/// `quotaline notify-deliver`: shows and hands over the events on stdin, then records how
/// it went. Desktop and hook run side by side, so a hanging hook delays no notification.
pub fn deliver(cache: &Cache, input: &[u8]) {
    let events = match batch(input) {
        Ok(events) => events,
        Err(why) => return record(cache, |_| (None, None, Some(why))),
    };
    // What a hook leaves running when it exits is handed to this process rather than to
    // init, so that `run` can tell when it ended and reap it (Linux; elsewhere init reaps).
    #[cfg(target_os = "linux")]
    let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
    // Read first: the cache carries the config as the ingesting process read it.
    let _ = cache.read();
    let notify = settings::notify();
    let timeout = Duration::from_secs(notify.timeout.value.max(1) as u64);
    let (desktop, hook) = std::thread::scope(|s| {
        let desktop = s.spawn(|| {
            let shown = notify
                .desktop
                .value
                .then(|| events.iter().map(|e| show(e, timeout)));
            shown.and_then(outcome)
        });
        let hook = s.spawn(|| {
            let argv = notify.command.value.as_ref()?;
            outcome(events.iter().map(|e| run_hook(argv, e, timeout)))
        });
        (desktop.join().ok().flatten(), hook.join().ok().flatten())
    });
    record(cache, |now| {
        let desktop = desktop.map(|d| d.unwrap_or_else(|why| format!("skipped: {why}")));
        let hook = hook.map(|result| HookRun {
            at: now,
            error: result.err(),
        });
        (desktop, hook, None)
    });
}

/// The events of a batch, or why it cannot be delivered: larger than [`MAX_INPUT`] (more
/// than one delivery reads, so cut short), or not a batch of events at all.
fn batch(input: &[u8]) -> Result<Vec<Event>, String> {
    if input.len() as u64 > MAX_INPUT {
        return Err(format!(
            "a batch of events larger than the {} MiB a delivery reads: none delivered \
             (`quotaline events` lists them)",
            MAX_INPUT >> 20
        ));
    }
    serde_json::from_slice(input)
        .map_err(|e| format!("a batch of events that could not be read ({e}): none delivered"))
}

/// Records how a delivery went in the cache (`doctor`, `status`): `outcome` gives, at the
/// time it ended, the desktop's result, the hook's run (the last one stays when there was
/// none) and why nothing was delivered.
fn record(
    cache: &Cache,
    outcome: impl FnOnce(chrono::DateTime<Utc>) -> (Option<String>, Option<HookRun>, Option<String>),
) {
    let now = crate::clock::now();
    // The cache dir went away meanwhile (a test's HOME, say): nothing to record into, and
    // `update` must not create it again.
    if !cache.dir.is_dir() {
        return;
    }
    let (desktop, hook, error) = outcome(now);
    let _ = cache.update(|c| {
        let last = c.notify.delivery.take();
        c.notify.delivery = Some(Report {
            at: now,
            runs: last.as_ref().map_or(0, |r| r.runs) + 1,
            desktop,
            hook: hook.or(last.and_then(|r| r.hook)),
            error,
        });
    });
}

/// A batch's outcome, every run done: its first failure, else the last success; `None` for
/// no runs.
fn outcome<T, E>(runs: impl Iterator<Item = Result<T, E>>) -> Option<Result<T, E>> {
    let mut results: Vec<Result<T, E>> = runs.collect();
    match results.iter().position(Result::is_err) {
        Some(i) => Some(results.swap_remove(i)),
        None => results.pop(),
    }
}

/// Where desktop notifications would go from this process, or why they cannot:
/// `notify-send` on the session bus (Linux), `osascript` (macOS).
pub fn desktop() -> Result<PathBuf, String> {
    if cfg!(target_os = "macos") {
        return find_on_path(settings::path_var().as_deref(), "osascript")
            .ok_or_else(|| "osascript not found".to_string());
    }
    if settings::session_bus().is_none() {
        return Err(
            "no session D-Bus (a headless box or SSH: DBUS_SESSION_BUS_ADDRESS is unset)"
                .to_string(),
        );
    }
    find_on_path(settings::path_var().as_deref(), "notify-send")
        .ok_or_else(|| "notify-send not found (Debian and Ubuntu: libnotify-bin)".to_string())
}

/// One desktop notification; `Ok` says with what.
fn show(e: &Event, timeout: Duration) -> Result<String, String> {
    let program = desktop()?;
    let title = markup::escape(&e.title, markup::Target::Plain);
    let mut cmd = Command::new(&program);
    if cfg!(target_os = "macos") {
        // The texts are the script's arguments, never part of its source.
        cmd.args([
            "-e",
            "on run argv",
            "-e",
            "display notification (item 2 of argv) with title (item 1 of argv)",
            "-e",
            "end run",
        ])
        .arg(&title)
        .arg(markup::escape(&e.body, markup::Target::Plain));
    } else {
        cmd.args(["--app-name=quotaline", "--urgency", e.urgency.name(), "--"])
            .arg(&title)
            .arg(markup::notification_body(&e.body));
    }
    let name = program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    run(cmd, None, timeout).map(|_| format!("shown with {name}"))
}

/// The hook, with the event as one JSON object on stdin.
fn run_hook(argv: &[String], e: &Event, timeout: Duration) -> Result<(), String> {
    let (program, args) = argv.split_first().ok_or("no program")?;
    let mut json = serde_json::to_vec(e).map_err(|e| e.to_string())?;
    json.push(b'\n');
    let mut cmd = Command::new(program);
    cmd.args(args);
    run(cmd, Some(json), timeout).map_err(|why| format!("`{program}` {why}"))
}

/// Runs `cmd` in its own process group with `input` on stdin (else nothing), stdout on
/// /dev/null; at `timeout` kills whatever of the group is still running, whether or not the
/// program itself has exited (`sh -c 'curl ... &'` exits at once and leaves its child).
/// `Err` says why it failed, with the first line of its stderr.
fn run(mut cmd: Command, input: Option<Vec<u8>>, timeout: Duration) -> Result<(), String> {
    settings::without_secrets(&mut cmd);
    let mut child = cmd
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("could not start: {e}"))?;
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        // A thread: a hook that does not read its stdin must not block us past the timeout.
        std::thread::spawn(move || stdin.write_all(&input));
    }
    let (said_tx, said) = std::sync::mpsc::channel();
    if let Some(pipe) = child.stderr.take() {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.take(4096).read_to_string(&mut text);
            let _ = said_tx.send(text);
        });
    }
    let killed = || {
        format!(
            "killed after {}",
            crate::render::text::short_duration(timeout.as_secs() as i64)
        )
    };
    let deadline = Instant::now() + timeout;
    let group = Group::of(&child);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                group.kill();
                let _ = child.kill();
                let _ = child.wait();
                group.reap();
                return Err(killed());
            }
        }
    };
    // The program is done; what it left running in its group gets the rest of the timeout.
    let lingered = group.wait_until(deadline);
    if status.success() && lingered {
        return Err(format!("left processes running: {}", killed()));
    }
    if status.success() {
        return Ok(());
    }
    // Its stderr, unless a child of the hook still holds it open.
    let said = said
        .recv_timeout(Duration::from_millis(500))
        .ok()
        .and_then(|t| {
            let line = t.lines().find(|l| !l.trim().is_empty())?.trim().to_string();
            Some(markup::escape(&line, markup::Target::Plain))
        })
        .map(|l| format!(": {}", l.chars().take(200).collect::<String>()))
        .unwrap_or_default();
    Err(format!("failed ({status}){said}"))
}

/// The process group a child leads (`process_group(0)`): the child and whatever it starts,
/// unless they leave the group on purpose.
struct Group(Option<rustix::process::Pid>);

impl Group {
    fn of(child: &Child) -> Group {
        Group(
            i32::try_from(child.id())
                .ok()
                .and_then(rustix::process::Pid::from_raw),
        )
    }

    /// SIGKILL to every process in the group, so a hook's own children die with it.
    fn kill(&self) {
        if let Some(pgid) = self.0 {
            let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
        }
    }

    /// Reaps members that ended and were handed to this process (it is their subreaper:
    /// [`deliver`]); true while any member is still there.
    fn alive(&self) -> bool {
        let Some(pgid) = self.0 else { return false };
        while let Ok(Some(_)) =
            rustix::process::waitpgid(pgid, rustix::process::WaitOptions::NOHANG)
        {}
        rustix::process::test_kill_process_group(pgid).is_ok()
    }

    /// Waits for the group to empty until `deadline`, then kills what is left; true when
    /// something had to be killed.
    fn wait_until(&self, deadline: Instant) -> bool {
        while self.alive() {
            if Instant::now() >= deadline {
                self.kill();
                self.reap();
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Reaps the members that were killed, for up to a second (a SIGKILLed process is gone
    /// within milliseconds; one in uninterruptible sleep is not worth waiting for).
    fn reap(&self) {
        let until = Instant::now() + Duration::from_secs(1);
        while self.alive() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_runs_every_event_and_reports_its_first_failure() {
        let mut ran = 0;
        let runs = [Ok(1), Err("a"), Ok(2), Err("b")];
        let got = outcome(runs.into_iter().inspect(|_| ran += 1));
        assert_eq!((got, ran), (Some(Err("a")), 4));
        assert_eq!(outcome([Ok::<_, ()>(1), Ok(2)].into_iter()), Some(Ok(2)));
        assert_eq!(outcome(std::iter::empty::<Result<(), ()>>()), None);
    }
}
