//! Integration tests: the real binary against a loopback fake of claude.ai and
//! api.anthropic.com, each test with its own HOME and cache dir.

mod accounts;
mod adversarial;
mod bars;
mod browsers;
mod check;
mod claude_code;
mod cli;
mod codex;
mod common;
mod completions;
mod config;
mod core;
mod drawn;
mod drift;
mod extension_browser;
mod history;
mod hostile;
mod hotpath;
mod house;
mod layers;
mod menubar;
mod metrics;
mod names;
mod native_host;
mod notify;
mod package;
mod schedule;
mod shells;
mod trust;
