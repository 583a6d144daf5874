//! One file per subcommand.

pub mod accounts;
pub mod args;
pub mod check;
pub mod completions;
pub mod config;
pub mod doctor;
pub mod events;
pub mod history;
pub mod init;
pub mod json;
pub mod metrics;
pub mod native_host;
pub mod notify_deliver;
pub mod refresh;
pub mod segment;
pub mod status;
pub mod statusline;
pub mod verify;

use crate::render::sanitize::{clean, Lines};
use std::io::Write;

/// The exit code of a usage error (sysexits.h EX_USAGE), for every command.
pub const EX_USAGE: i32 = 64;

/// Prints to stdout exactly, ignoring a closed pipe (`quotaline json | head`): `print!` would
/// panic. For what is not text for a person (JSON, snippets); a report is [`show`]n.
pub fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Prints human-readable lines (cleaned as they were added) to stdout.
pub fn show(lines: &Lines) {
    out(lines.as_str());
}

/// Prints `quotaline: <message>` to stderr, cleaned (`sanitize`): every error and warning a
/// command prints goes through here (or [`fail`]), whatever server or file text it carries.
pub fn warn(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "quotaline: {}", clean(message));
}

/// The one error style: `quotaline: <what>` on stderr and, when there is one, the fix on
/// the line below it; both cleaned, like [`warn`].
pub fn fail(what: &str, fix: Option<&str>) {
    let mut text = format!("quotaline: {}\n", clean(what));
    if let Some(fix) = fix.filter(|f| !f.is_empty()) {
        text.push_str(&clean(fix));
        text.push('\n');
    }
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// The accounts `--account NAME|all` picks of `names` (`Snapshot::account_names`: each
/// account's name and uuid); `None` once it has said that no account goes by that name.
pub fn chosen_accounts<'a>(
    asked: &str,
    names: &'a [(String, &'a str)],
) -> Option<Vec<&'a (String, &'a str)>> {
    if asked == "all" {
        return Some(names.iter().collect());
    }
    if let Some(name) = names.iter().find(|(n, _)| n == asked) {
        return Some(vec![name]);
    }
    let names: Vec<&str> = names.iter().map(|(n, _)| n.as_str()).collect();
    no_account(asked, &names);
    None
}

/// `--account NAME` names none of `names` (`Snapshot::account_names`): says so, with the
/// closest name and the list, in the words every command uses for it.
pub fn no_account(asked: &str, names: &[&str]) {
    let meant = crate::suggest::did_you_mean(asked, names.iter().copied());
    let there = crate::suggest::listed(names, "none yet");
    fail(
        &format!("no account `{asked}` here"),
        Some(&format!("{meant}accounts: {there}")),
    );
}

/// A usage error ([`fail`]); returns [`EX_USAGE`] for the command to exit with.
pub fn usage(what: &str, fix: Option<&str>) -> i32 {
    fail(what, fix);
    EX_USAGE
}
