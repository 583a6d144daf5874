//! `quotaline notify-deliver` (hidden): started detached by `notify::dispatch` with a batch of
//! events as JSON on stdin; shows them and runs the hook (`notify.rs`). Always exits 0: nobody
//! waits for it.

use crate::notify;
use std::io::Read;

pub fn run() -> i32 {
    let mut input = Vec::new();
    let _ = std::io::stdin()
        .lock()
        .take(notify::MAX_INPUT)
        .read_to_end(&mut input);
    notify::deliver(&crate::settings::cache(), &input);
    0
}
