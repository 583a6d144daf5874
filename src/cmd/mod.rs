//! One file per subcommand.

pub mod check;
pub mod config;
pub mod doctor;
pub mod events;
pub mod history;
pub mod init;
pub mod json;
pub mod native_host;
pub mod notify_deliver;
pub mod refresh;
pub mod segment;
pub mod status;
pub mod statusline;

/// The exit code of a usage error (sysexits.h EX_USAGE), for every command.
pub const EX_USAGE: i32 = 64;

/// Prints to stdout, ignoring a closed pipe (`quotaline json | head`): `print!` would panic.
pub fn out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}
