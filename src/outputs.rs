//! Where rendered text goes after a cache write: the shells' prompt files, node_exporter's
//! textfile, and the events' delivery. Ingest calls [`publish`] once per arrival, with the
//! cache exactly as it was written; the renderers only make the text.

use crate::cache::{write_atomic, write_atomic_mode, Cache, CacheFile};
use crate::event::Event;
use crate::render::{metrics, prerender};
use crate::settings;
use std::io;

/// Everything that follows a cache write. The prompt files' error is returned (a caller with
/// nothing new to store has nothing else to report); the textfile and the delivery never fail
/// an ingest.
pub fn publish(cache: &Cache, file: &CacheFile, events: &[Event]) -> io::Result<()> {
    let prompts = prompt_files(cache, file);
    metrics_textfile(cache, file);
    // After the write, detached: a slow hook never holds the cache or the caller.
    crate::notify::dispatch(events);
    prompts
}

/// Replaces each shell's pre-rendered prompt file atomically (0600).
fn prompt_files(cache: &Cache, file: &CacheFile) -> io::Result<()> {
    cache.ensure_dir()?;
    for (shell, text) in prerender::files(file, crate::clock::now()) {
        write_atomic(&prerender::path(&cache.dir, shell), text.as_bytes())?;
    }
    Ok(())
}

/// Rewrites the textfile `[metrics] textfile` names, if any, and keeps in the cache why the
/// last write failed, for `status` and `doctor`. Never fails: node_exporter's directory is the
/// user's to fix, not a failed refresh. Temp file and rename, so node_exporter never reads a
/// torn file; readable by all (0644): node_exporter runs as another user, and the file holds
/// no secret and no email.
fn metrics_textfile(cache: &Cache, file: &CacheFile) {
    let error = settings::metrics_textfile_setting().value.and_then(|path| {
        let text = metrics::render(
            file,
            &settings::metrics_labels_setting().value,
            crate::clock::now(),
        );
        write_atomic_mode(&path, text.as_bytes(), 0o644)
            .map_err(|e| e.to_string())
            .err()
    });
    if error != file.textfile_error {
        let _ = cache.update(|c| c.textfile_error = error);
    }
}
