//! quotaline: Claude Pro/Max plan usage, read from the server, on one line.
//!
//! Data flows one way: `source` (and `auth`) -> `snapshot` -> `ingest` -> `cache` -> `render`.
//! A reading enters through `ingest` only, which decides its `events` and hands them to
//! `notify`; `refresh` decides when to fetch; commands in `cmd` are leaves that get a reading
//! or read the cache, and print.

pub mod auth;
pub mod cache;
pub mod cmd;
pub mod config;
pub mod error;
pub mod events;
pub mod file;
pub mod history;
pub mod ingest;
pub mod notify;
pub mod pace;
pub mod redact;
pub mod refresh;
pub mod render;
pub mod settings;
pub mod snapshot;
pub mod source;
pub mod window;
