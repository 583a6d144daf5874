//! One file per subcommand.

pub mod check;
pub mod init;
pub mod json;
pub mod refresh;
pub mod segment;
pub mod status;
pub mod statusline;
