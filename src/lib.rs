//! quotaline: Claude Pro/Max plan usage, read from the server, on one line.
//!
//! Data flows one way: source -> snapshot -> ingest -> cache -> render -> outputs. A reading
//! enters through `ingest` only; `refresh` decides when to fetch; commands in `cmd` are leaves
//! that get a reading or read the cache, and print.
//!
//! Floors, lowest first. A file imports only from its own floor or below, and no files
//! import each other round about (`tests/it/layers.rs` reads this table and checks both):
//!
//! 1. vocabulary: window snapshot error redact event target thresholds duration template claude_status suggest
//! 2. storage: file cache history config
//! 3. logic: pace events schedule settings clock
//! 4. render: render/
//! 5. outputs: outputs notify
//! 6. sources: source/ auth/
//! 7. orchestration: ingest refresh
//! 8. commands: cmd/ lib main
//!
//! vocabulary is plain data with no I/O; storage keeps files (the cache, the SQLite history,
//! the config file's parser); logic decides (pace, which events fire, when to refresh, which
//! setting wins) without writing anything; render turns a model into strings and writes no
//! file; outputs put rendered text where it goes after a cache write (prompt files, the metrics
//! textfile, notifications); sources and auth fetch and find credentials.

pub mod auth;
pub mod cache;
pub mod claude_status;
pub mod clock;
pub mod cmd;
pub mod config;
pub mod duration;
pub mod error;
pub mod event;
pub mod events;
pub mod file;
pub mod history;
pub mod ingest;
pub mod notify;
pub mod outputs;
pub mod pace;
pub mod redact;
pub mod refresh;
pub mod render;
pub mod schedule;
pub mod settings;
pub mod snapshot;
pub mod source;
pub mod suggest;
pub mod target;
pub mod template;
pub mod thresholds;
pub mod window;
