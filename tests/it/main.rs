//! Integration tests: the real binary against a loopback fake of claude.ai and
//! api.anthropic.com, each test with its own HOME and cache dir.

mod bars;
mod browsers;
mod check;
mod claude_code;
mod common;
mod config;
mod core;
mod extension_browser;
mod history;
mod hotpath;
mod house;
mod native_host;
mod notify;
mod shells;
