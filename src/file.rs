//! Reading a file that nobody may wait on: the cache on the prompt path, Claude Code's
//! `.claude.json` on every statusLine call. Whatever sits at the path (a FIFO, a socket, a
//! device, a directory, a file of gigabytes), [`read`] returns at once: one open that cannot
//! block, one `fstat` on the open file, at most `cap` bytes.
//!
//! The open does not refuse symlinks (`O_NOFOLLOW`): dotfile managers link `~/.claude.json`
//! into place, and `fstat` judges what the link leads to, so a link to a FIFO is refused all
//! the same.

use rustix::fs::OFlags;
use serde::{Deserialize, Serialize};
use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The whole file at `path`, if it is a regular file of at most `cap` bytes. A missing file
/// is `ErrorKind::NotFound` (callers treat it as absent); anything else that cannot be read
/// is an error that names the path and what was found there.
pub fn read(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    read_bounded(path, cap, false)
}

/// The last `cap` bytes of the regular file at `path` (all of it when smaller), with the same
/// guarantees as [`read`]: nothing at the path can make it wait, and no more is read.
pub fn tail(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    read_bounded(path, cap, true)
}

fn read_bounded(path: &Path, cap: u64, tail: bool) -> io::Result<Vec<u8>> {
    let refused = |what: String| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {what}: not read", path.display()),
        )
    };
    // O_NONBLOCK: opening a FIFO for reading otherwise waits for a writer, forever.
    // O_NOCTTY: a terminal device must not become the controlling terminal of a segment
    // started without one (waybar, tmux).
    let file = OpenOptions::new()
        .read(true)
        .custom_flags((OFlags::NONBLOCK | OFlags::NOCTTY).bits() as i32)
        .open(path)
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => e,
            // A socket cannot be opened at all (ENXIO): say what it is rather than the errno.
            _ => match std::fs::metadata(path) {
                Ok(meta) if !meta.is_file() => refused(kind(&meta.file_type())),
                _ => io::Error::new(e.kind(), format!("{}: {e}", path.display())),
            },
        })?;
    // A read can fail after the open succeeded (`/proc/self/mem` answers EIO): the error
    // still names the file.
    let failed = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    let meta = file.metadata().map_err(failed)?;
    if !meta.is_file() {
        return Err(refused(kind(&meta.file_type())));
    }
    if tail {
        // Only the last `cap` bytes of a file that may be of any size (Codex's session logs):
        // the first line of the tail is usually cut, which is the caller's to skip.
        let from = meta.len().saturating_sub(cap);
        let mut file = file;
        io::Seek::seek(&mut file, io::SeekFrom::Start(from)).map_err(failed)?;
        let mut bytes = Vec::with_capacity(meta.len().min(cap) as usize);
        file.take(cap).read_to_end(&mut bytes).map_err(failed)?;
        return Ok(bytes);
    }
    if meta.len() > cap {
        return Err(refused(format!(
            "{}, more than the {} quotaline reads",
            size(meta.len()),
            size(cap)
        )));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // A file that grows after the fstat is cut at the cap: the caller's parse then fails.
    file.take(cap).read_to_end(&mut bytes).map_err(failed)?;
    Ok(bytes)
}

/// What a non-regular file is, in words.
fn kind(t: &std::fs::FileType) -> String {
    let what = if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "something else"
    };
    format!("{what}, not a regular file")
}

/// A byte count for a message: `512 bytes`, `4 MiB`, `200.0 MiB`.
fn size(bytes: u64) -> String {
    const MIB: u64 = 1 << 20;
    match bytes {
        b if b < 1024 => format!("{b} bytes"),
        b if b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b < MIB => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{:.1} MiB", b as f64 / MIB as f64),
    }
}

/// A file's identity: a changed file has another inode (an editor's rename), size or mtime;
/// a `chmod` or `chown` changes its ctime (who may write it is part of what it is: see
/// [`others_can_change`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileId {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    #[serde(default)]
    ctime_ns: i128,
}

impl FileId {
    /// One `stat`; `None` when there is nothing there.
    pub fn of(path: &Path) -> Option<FileId> {
        let m = std::fs::metadata(path).ok()?;
        Some(FileId {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            ctime_ns: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
        })
    }
}

/// Who besides this user (and root) could change what is read from `path`, the way ssh and
/// git judge their files: `None` when nobody else can; else the first thing in the way, in
/// words (`/tmp/q is writable by others (mode 1777; chmod go-w /tmp/q)`).
///
/// Judged: the file the path leads to (its owner and mode), and every directory above it,
/// up to and including `home` for a path under it, else up to `/`, both along the path as
/// written (whoever can write a directory on it can put another file or link in its place)
/// and along the path the links lead to. A directory writable by others counts even with the
/// sticky bit (`/tmp`): ssh refuses it too, and a file there is where anyone could have put it
/// first; one writable only by its group counts unless it is root's and sticky.
pub fn others_can_change(path: &Path, home: Option<&Path>) -> Option<String> {
    let me = rustix::process::geteuid().as_raw();
    let path = std::path::absolute(path).ok()?;
    let judge = |p: &Path| -> Option<String> {
        let meta = std::fs::metadata(p).ok()?;
        let mode = meta.mode() & 0o7777;
        let shown = p.display();
        if meta.uid() != me && meta.uid() != 0 {
            return Some(format!(
                "{shown} belongs to uid {}, not to you (uid {me}) or root",
                meta.uid()
            ));
        }
        // Root's sticky directory that its group may write (Nix's store, 1775 root:nixbld,
        // where home-manager links config files): the group can add entries but not replace
        // one it does not own, so the file there stays the user's or root's.
        let store = meta.is_dir() && meta.uid() == 0 && mode & 0o1002 == 0o1000;
        let who = match (mode & 0o020 != 0 && !store, mode & 0o002 != 0) {
            (true, true) => "group and others",
            (true, false) => "group",
            (false, true) => "others",
            (false, false) => return None,
        };
        Some(format!(
            "{shown} is writable by {who} (mode {mode:04o}; chmod go-w {shown})"
        ))
    };
    let chain = |file: &Path, home: Option<&Path>| -> Option<String> {
        if let Some(why) = judge(file) {
            return Some(why);
        }
        let stop = home.filter(|h| file.starts_with(h));
        for dir in file.ancestors().skip(1) {
            if let Some(why) = judge(dir) {
                return Some(why);
            }
            if Some(dir) == stop {
                break;
            }
        }
        None
    };
    let real = std::fs::canonicalize(&path).ok();
    let real_home = home.and_then(|h| std::fs::canonicalize(h).ok());
    chain(&path, home).or_else(|| chain(real.as_deref()?, real_home.as_deref()))
}

/// A value read from files, with the files' identities as they were then (a missing file
/// too: its appearing is a change). It holds while none of them changed, so a large file
/// (Claude Code's `.claude.json`) is read again only after an edit, at one `stat` a file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Memo<T> {
    pub files: Vec<(PathBuf, Option<FileId>)>,
    /// `account`: the name caches written before this type was generic used.
    #[serde(alias = "account")]
    pub value: T,
}

/// The identities of `paths` now, to compare with a memo's and to keep in a new one.
pub fn identify(paths: Vec<PathBuf>) -> Vec<(PathBuf, Option<FileId>)> {
    paths
        .into_iter()
        .map(|p| {
            let id = FileId::of(&p);
            (p, id)
        })
        .collect()
}

impl<T: Clone> Memo<T> {
    /// `kept` while none of `paths` changed since it was made; else a new memo, its value
    /// `read` from the files as they are now.
    pub fn reuse_or(
        kept: Option<&Memo<T>>,
        paths: Vec<PathBuf>,
        read: impl FnOnce(&[(PathBuf, Option<FileId>)]) -> T,
    ) -> Memo<T> {
        let files = identify(paths);
        if let Some(k) = kept.filter(|k| k.files == files) {
            return k.clone();
        }
        let value = read(&files);
        Memo { files, value }
    }
}

/// An executable file called `name` in one of the absolute directories of `path_var`.
/// Relative entries (like `.`) are skipped: they would run whatever the current directory
/// holds.
pub fn find_on_path(path_var: Option<&OsStr>, name: &str) -> Option<PathBuf> {
    std::env::split_paths(path_var?)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_read_and_everything_else_is_named_and_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name);
        std::fs::write(path("ok.json"), b"{}").unwrap();
        assert_eq!(read(&path("ok.json"), 2).unwrap(), b"{}");

        let big = std::fs::File::create(path("big")).unwrap();
        big.set_len(200 << 20).unwrap();
        let err = read(&path("big"), 4 << 20).unwrap_err().to_string();
        assert!(
            err.ends_with("big: 200 MiB, more than the 4 MiB quotaline reads: not read"),
            "{err}"
        );

        let status = std::process::Command::new("mkfifo")
            .arg(path("fifo"))
            .status()
            .unwrap();
        assert!(status.success());
        let err = read(&path("fifo"), 1024).unwrap_err().to_string();
        assert!(
            err.contains("a FIFO (named pipe), not a regular file"),
            "{err}"
        );

        let err = read(dir.path(), 1024).unwrap_err().to_string();
        assert!(err.contains("a directory, not a regular file"), "{err}");
        let _socket = std::os::unix::net::UnixListener::bind(path("sock")).unwrap();
        let err = read(&path("sock"), 1024).unwrap_err().to_string();
        assert!(err.contains("a socket, not a regular file"), "{err}");
        let err = read(Path::new("/dev/zero"), 1024).unwrap_err().to_string();
        assert!(err.contains("a character device"), "{err}");

        let missing = read(&path("missing"), 1024).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn a_file_others_could_change_is_named_with_the_first_thing_in_the_way() {
        use std::os::unix::fs::PermissionsExt;
        let home = tempfile::tempdir().unwrap();
        let chmod = |p: &Path, mode: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap()
        };
        let dir = home.path().join("conf");
        std::fs::create_dir(&dir).unwrap();
        let file = dir.join("config.toml");
        std::fs::write(&file, "").unwrap();
        chmod(home.path(), 0o700);
        chmod(&dir, 0o755);
        chmod(&file, 0o644);
        let judge = || others_can_change(&file, Some(home.path()));
        assert_eq!(judge(), None);
        chmod(&file, 0o646);
        let shown = file.display();
        assert_eq!(
            judge(),
            Some(format!(
                "{shown} is writable by others (mode 0646; chmod go-w {shown})"
            ))
        );
        chmod(&file, 0o644);
        chmod(&dir, 0o775);
        assert!(judge().unwrap().contains("is writable by group (mode 0775"));
        // Sticky and root's (the tests run as root, so the directory is): like Nix's store.
        chmod(&dir, 0o1775);
        let root = rustix::process::geteuid().is_root();
        assert_eq!(judge().is_none(), root);
        chmod(&dir, 0o1777);
        assert!(judge()
            .unwrap()
            .contains("is writable by group and others (mode 1777"));
        // Above the home directory nothing is judged; a link is judged where it leads.
        chmod(&dir, 0o755);
        let link = home.path().join("link.toml");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(others_can_change(&link, Some(home.path())), None);
        chmod(&file, 0o664);
        assert!(others_can_change(&link, Some(home.path()))
            .unwrap()
            .contains("is writable by group (mode 0664"));
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size(512), "512 bytes");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(64 << 20), "64 MiB");
        assert_eq!(size((1 << 20) + (1 << 19)), "1.5 MiB");
    }
}
