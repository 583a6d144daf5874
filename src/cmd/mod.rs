//! One file per subcommand.

pub mod check;
pub mod doctor;
pub mod init;
pub mod json;
pub mod native_host;
pub mod refresh;
pub mod segment;
pub mod status;
