//! Reading a Chromium browser's cookie password from the desktop keyring, by running the
//! keyring's own command-line helpers (`secret-tool`, `kwallet-query`, `security`).
//!
//! A missing helper simply means "no secret": most desktops have only one of them. Helpers
//! run with a short timeout because a locked keyring can sit waiting for a password dialog.
//! Their stderr is swallowed, never shown: it could echo what was asked for.

use crate::file::find_on_path;
use std::ffi::OsStr;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Long enough for a healthy keyring (tens of milliseconds), short enough that a hung unlock
/// prompt does not stall discovery.
pub(super) const HELPER_TIMEOUT: Duration = Duration::from_secs(2);

/// Where macOS keeps `security` when `PATH` does not name one.
const MACOS_SECURITY: &str = "/usr/bin/security";

/// What the keyring gave for one browser: candidate passwords, best first, and notes on
/// helpers that failed in a way worth reporting (never the secrets themselves).
#[derive(Default)]
pub(super) struct Lookup {
    pub secrets: Vec<String>,
    pub notes: Vec<String>,
}

impl Lookup {
    fn record(&mut self, helper: &str, output: HelperOutput) {
        match output {
            HelperOutput::Secret(secret) => {
                if !self.secrets.contains(&secret) {
                    self.secrets.push(secret);
                }
            }
            HelperOutput::Nothing => {}
            HelperOutput::Failed(note) => self.notes.push(format!("{helper} {note}")),
        }
    }
}

/// Linux: the Secret Service entry Chromium writes (the `_v2` schema, then the older `_v1`),
/// and the KWallet entry ("Chrome Safe Storage" in folder "Chrome Keys").
pub(super) fn linux_lookup(
    path_var: Option<&OsStr>,
    libsecret_app: &str,
    keyring_name: &str,
) -> Lookup {
    let mut lookup = Lookup::default();
    if let Some(secret_tool) = find_on_path(path_var, "secret-tool") {
        for schema in [
            "chrome_libsecret_os_crypt_password_v2",
            "chrome_libsecret_os_crypt_password_v1",
        ] {
            let args = ["lookup", "xdg:schema", schema, "application", libsecret_app];
            let output = run_helper(&secret_tool, &args, HELPER_TIMEOUT);
            let found = matches!(output, HelperOutput::Secret(_));
            lookup.record("secret-tool", output);
            if found {
                break;
            }
        }
    }
    if let Some(kwallet_query) = find_on_path(path_var, "kwallet-query") {
        let entry = format!("{keyring_name} Safe Storage");
        let folder = format!("{keyring_name} Keys");
        let args = ["-r", entry.as_str(), "-f", folder.as_str(), "kdewallet"];
        let output = run_helper(&kwallet_query, &args, HELPER_TIMEOUT);
        lookup.record("kwallet-query", output);
    }
    lookup
}

/// macOS: the login keychain item "<Name> Safe Storage". `security` is taken from `PATH`
/// first (so tests can supply a fake), then from its fixed place.
pub(super) fn macos_lookup(path_var: Option<&OsStr>, service: &str, account: &str) -> Lookup {
    let mut lookup = Lookup::default();
    let security = find_on_path(path_var, "security")
        .or_else(|| Some(PathBuf::from(MACOS_SECURITY)).filter(|path| path.is_file()));
    if let Some(security) = security {
        let args = ["find-generic-password", "-w", "-s", service, "-a", account];
        let output = run_helper(&security, &args, HELPER_TIMEOUT);
        lookup.record("security", output);
    }
    lookup
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum HelperOutput {
    /// The helper exited 0 and printed this (trailing newline removed).
    Secret(String),
    /// The helper ran and has no such entry (non-zero exit, or nothing printed).
    Nothing,
    /// The helper could not be run to completion; a note safe to show, e.g. "timed out
    /// after 2s".
    Failed(String),
}

/// Runs `program args` with stdin closed, and kills it when it outlives `timeout`.
pub(super) fn run_helper(program: &Path, args: &[&str], timeout: Duration) -> HelperOutput {
    let mut child = match spawn(program, args) {
        Ok(child) => child,
        Err(error) => return HelperOutput::Failed(format!("could not start: {}", error.kind())),
    };
    // Both pipes are drained on threads so a chatty helper cannot block on a full pipe while
    // we wait for it to exit.
    let (stdout_tx, stdout_rx) = mpsc::channel();
    if let Some(mut stdout) = child.stdout.take() {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stdout.read_to_end(&mut bytes);
            let _ = stdout_tx.send(bytes);
        });
    }
    if let Some(mut stderr) = child.stderr.take() {
        thread::spawn(move || {
            let _ = io::copy(&mut stderr, &mut io::sink());
        });
    }
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return HelperOutput::Failed(format!("timed out after {timeout:?}"));
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(error) => {
                let _ = child.kill();
                let _ = child.wait();
                return HelperOutput::Failed(format!("could not be waited for: {}", error.kind()));
            }
        }
    };
    if !status.success() {
        return HelperOutput::Nothing;
    }
    // A grandchild may still hold stdout open; don't let it stall us past the deadline.
    let grace = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(100));
    let Ok(bytes) = stdout_rx.recv_timeout(grace) else {
        return HelperOutput::Failed("kept its output open after exiting".to_string());
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return HelperOutput::Failed("printed something that is not UTF-8".to_string());
    };
    let secret = text.trim_end_matches(['\n', '\r']);
    if secret.is_empty() {
        HelperOutput::Nothing
    } else {
        HelperOutput::Secret(secret.to_string())
    }
}

fn spawn(program: &Path, args: &[&str]) -> io::Result<Child> {
    /// ETXTBSY: a script written a moment ago is briefly "busy" while another thread of
    /// this process forks (it happens in tests); it clears within milliseconds.
    const TEXT_FILE_BUSY: i32 = 26;
    let mut attempt = 0;
    loop {
        let mut cmd = Command::new(program);
        // A keyring helper needs no session of ours.
        crate::settings::without_secrets(&mut cmd);
        let spawned = cmd
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        match spawned {
            Err(error)
                if cfg!(unix) && error.raw_os_error() == Some(TEXT_FILE_BUSY) && attempt < 10 =>
            {
                attempt += 1;
                thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::super::fixtures;
    use super::*;
    use std::fs;

    #[test]
    fn a_hung_helper_is_killed_at_the_timeout() {
        let bin = tempfile::tempdir().unwrap();
        let script = fixtures::write_script(bin.path(), "secret-tool", "while :; do :; done");
        let started = Instant::now();
        let output = run_helper(&script, &[], Duration::from_millis(200));
        assert_eq!(
            output,
            HelperOutput::Failed("timed out after 200ms".to_string())
        );
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn helper_output_loses_its_trailing_newline_and_stderr_is_not_kept() {
        let bin = tempfile::tempdir().unwrap();
        let body = "printf 'oops: %s\\n' \"$1\" >&2\nprintf 's3cr3t\\n'";
        let script = fixtures::write_script(bin.path(), "kwallet-query", body);
        assert_eq!(
            run_helper(&script, &["x"], HELPER_TIMEOUT),
            HelperOutput::Secret("s3cr3t".to_string())
        );
    }

    #[test]
    fn a_failing_or_silent_helper_gives_nothing() {
        let bin = tempfile::tempdir().unwrap();
        let failing = fixtures::write_script(bin.path(), "failing", "printf 'x'; exit 1");
        let silent = fixtures::write_script(bin.path(), "silent", "exit 0");
        assert_eq!(
            run_helper(&failing, &[], HELPER_TIMEOUT),
            HelperOutput::Nothing
        );
        assert_eq!(
            run_helper(&silent, &[], HELPER_TIMEOUT),
            HelperOutput::Nothing
        );
    }

    #[test]
    fn missing_helpers_mean_no_secret() {
        let bin = tempfile::tempdir().unwrap();
        let lookup = linux_lookup(Some(bin.path().as_os_str()), "chrome", "Chrome");
        assert!(lookup.secrets.is_empty());
        assert!(lookup.notes.is_empty());
        assert!(linux_lookup(None, "chrome", "Chrome").secrets.is_empty());
    }

    #[test]
    fn path_lookup_skips_non_executables_and_relative_dirs() {
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        fs::write(first.path().join("secret-tool"), "#!/bin/sh\n").unwrap();
        let real = fixtures::write_script(second.path(), "secret-tool", "exit 0");
        let path = std::env::join_paths([
            PathBuf::from("."),
            first.path().to_path_buf(),
            second.path().to_path_buf(),
        ])
        .unwrap();
        assert_eq!(find_on_path(Some(&path), "secret-tool"), Some(real));
    }

    #[test]
    fn secret_service_v2_is_preferred_and_v1_is_the_fallback() {
        let bin = tempfile::tempdir().unwrap();
        fixtures::write_fake_secret_tool(
            bin.path(),
            &[
                (
                    "chrome_libsecret_os_crypt_password_v1",
                    "chrome",
                    "chrome-v1",
                ),
                ("chrome_libsecret_os_crypt_password_v2", "brave", "brave-v2"),
                ("chrome_libsecret_os_crypt_password_v1", "brave", "brave-v1"),
            ],
        );
        let path = Some(bin.path().as_os_str());
        assert_eq!(
            linux_lookup(path, "chrome", "Chrome").secrets,
            ["chrome-v1"]
        );
        assert_eq!(linux_lookup(path, "brave", "Brave").secrets, ["brave-v2"]);
    }

    #[test]
    fn kwallet_entry_is_named_after_the_browser() {
        let bin = tempfile::tempdir().unwrap();
        fixtures::write_fake_kwallet_query(
            bin.path(),
            &[(
                "Microsoft Edge Keys",
                "Microsoft Edge Safe Storage",
                "edge-pw",
            )],
        );
        let path = Some(bin.path().as_os_str());
        let lookup = linux_lookup(path, "microsoft-edge", "Microsoft Edge");
        assert_eq!(lookup.secrets, ["edge-pw"]);
        assert!(linux_lookup(path, "chrome", "Chrome").secrets.is_empty());
    }

    #[test]
    fn macos_keychain_item_is_found_through_security() {
        let bin = tempfile::tempdir().unwrap();
        fixtures::write_fake_security(bin.path(), &[("Arc Safe Storage", "Arc", "arc-pw")]);
        let path = Some(bin.path().as_os_str());
        assert_eq!(
            macos_lookup(path, "Arc Safe Storage", "Arc").secrets,
            ["arc-pw"]
        );
        assert!(macos_lookup(path, "Chrome Safe Storage", "Chrome")
            .secrets
            .is_empty());
    }
}
