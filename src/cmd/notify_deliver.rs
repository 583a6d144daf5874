//! `quotaline notify-deliver` (hidden): started detached by `notify::dispatch` with a batch of
//! events as JSON on stdin; shows them and runs the hook (`notify.rs`). Always exits 0: nobody
//! waits for it.

use crate::notify;
use std::io::Read;

pub fn run() -> i32 {
    let mut input = Vec::new();
    let _ = std::io::stdin()
        .lock()
        // One byte more than a batch may be, to tell a batch cut short from a whole one.
        .take(notify::MAX_INPUT + 1)
        .read_to_end(&mut input);
    notify::deliver(&crate::settings::cache(), &input);
    0
}
