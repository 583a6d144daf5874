//! Builders for browser cookie databases written the way the browsers write them, and fake
//! keyring helpers, for tests. Uses std, rusqlite and the crypto crates only, so the same file
//! serves the unit tests of `browser` and the end-to-end tests (as `tests/common/browsers.rs`).
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use aes::cipher::{block_padding::Pkcs7, BlockEncryptMut, KeyIvInit};
use rusqlite::{params, Connection};
use sha2::{Digest, Sha256};

/// Seconds from 1601-01-01 (Chromium's epoch) to 1970-01-01.
pub const CHROMIUM_EPOCH_OFFSET_SECS: i64 = 11_644_473_600;

/// A Unix time as Chromium stores it: microseconds since 1601.
pub fn chromium_time(unix: i64) -> i64 {
    (unix + CHROMIUM_EPOCH_OFFSET_SECS) * 1_000_000
}

/// How a Chromium cookie value is stored in the `Cookies` database.
#[derive(Clone, Debug)]
pub enum Stored {
    /// In the `value` column, `encrypted_value` empty (what old or unencrypted builds do).
    Plain,
    /// In `encrypted_value`: `prefix` + AES-128-CBC with a key from PBKDF2(`password`).
    Encrypted {
        prefix: String,
        password: String,
        iterations: u32,
    },
    /// These exact bytes in `encrypted_value`, for corrupt or foreign blobs.
    Raw(Vec<u8>),
}

impl Stored {
    /// Linux `v10`: the hard-coded password "peanuts".
    pub fn v10_linux() -> Stored {
        Stored::encrypted("v10", "peanuts", 1)
    }

    /// Linux `v11`: the password the browser keeps in the desktop keyring.
    pub fn v11_linux(password: &str) -> Stored {
        Stored::encrypted("v11", password, 1)
    }

    /// macOS `v10`: the keychain password, 1003 PBKDF2 iterations.
    pub fn v10_macos(password: &str) -> Stored {
        Stored::encrypted("v10", password, 1003)
    }

    pub fn encrypted(prefix: &str, password: &str, iterations: u32) -> Stored {
        Stored::Encrypted {
            prefix: prefix.to_string(),
            password: password.to_string(),
            iterations,
        }
    }
}

/// One row of Chromium's `cookies` table.
#[derive(Clone, Debug)]
pub struct ChromiumCookie {
    pub host_key: String,
    pub name: String,
    pub value: String,
    /// `None` writes a session cookie (`expires_utc` 0).
    pub expires_unix: Option<i64>,
    pub last_access_unix: i64,
    pub stored: Stored,
}

impl ChromiumCookie {
    pub fn new(host_key: &str, name: &str, value: &str, stored: Stored) -> ChromiumCookie {
        ChromiumCookie {
            host_key: host_key.to_string(),
            name: name.to_string(),
            value: value.to_string(),
            expires_unix: None,
            last_access_unix: 1_700_000_000,
            stored,
        }
    }

    pub fn expires(mut self, unix: i64) -> ChromiumCookie {
        self.expires_unix = Some(unix);
        self
    }

    pub fn last_access(mut self, unix: i64) -> ChromiumCookie {
        self.last_access_unix = unix;
        self
    }
}

/// Encrypts `value` as Chromium does: at meta version >= 24 the plaintext is prefixed with
/// SHA-256(host_key); the blob is `prefix` + AES-128-CBC(key, IV of 16 spaces, PKCS#7).
pub fn chromium_encrypt(
    prefix: &str,
    password: &str,
    iterations: u32,
    meta_version: u32,
    host_key: &str,
    value: &str,
) -> Vec<u8> {
    let mut key = [0u8; 16];
    pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password.as_bytes(), b"saltysalt", iterations, &mut key);
    let mut plaintext = Vec::new();
    if meta_version >= 24 {
        plaintext.extend_from_slice(&Sha256::digest(host_key.as_bytes()));
    }
    plaintext.extend_from_slice(value.as_bytes());
    let length = plaintext.len();
    let mut buffer = plaintext;
    buffer.resize(length + 16, 0);
    let ciphertext = cbc::Encryptor::<aes::Aes128>::new(&key.into(), &[b' '; 16].into())
        .encrypt_padded_mut::<Pkcs7>(&mut buffer, length)
        .expect("buffer has room for a padding block")
        .to_vec();
    let mut blob = prefix.as_bytes().to_vec();
    blob.extend_from_slice(&ciphertext);
    blob
}

/// Writes a Chromium `Cookies` database with the current schema (meta `version` stored as
/// TEXT, as `sql::MetaTable` does). Creates parent directories.
pub fn write_chromium_db(path: &Path, meta_version: u32, cookies: &[ChromiumCookie]) {
    fs::create_dir_all(path.parent().expect("db path has a parent")).unwrap();
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TABLE meta(key LONGVARCHAR NOT NULL UNIQUE PRIMARY KEY, value LONGVARCHAR);
         CREATE TABLE cookies(creation_utc INTEGER NOT NULL, host_key TEXT NOT NULL,
           top_frame_site_key TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
           encrypted_value BLOB NOT NULL, path TEXT NOT NULL, expires_utc INTEGER NOT NULL,
           is_secure INTEGER NOT NULL, is_httponly INTEGER NOT NULL,
           last_access_utc INTEGER NOT NULL, has_expires INTEGER NOT NULL,
           is_persistent INTEGER NOT NULL, priority INTEGER NOT NULL, samesite INTEGER NOT NULL,
           source_scheme INTEGER NOT NULL, source_port INTEGER NOT NULL,
           last_update_utc INTEGER NOT NULL, source_type INTEGER NOT NULL,
           has_cross_site_ancestor INTEGER NOT NULL);
         CREATE UNIQUE INDEX cookies_unique_index ON cookies(host_key, top_frame_site_key,
           has_cross_site_ancestor, name, path, source_scheme, source_port);",
    )
    .unwrap();
    let version = meta_version.to_string();
    for (key, value) in [
        ("mmap_status", "-1"),
        ("version", version.as_str()),
        ("last_compatible_version", version.as_str()),
    ] {
        conn.execute(
            "INSERT INTO meta(key, value) VALUES (?1, ?2)",
            params![key, value],
        )
        .unwrap();
    }
    for (index, cookie) in cookies.iter().enumerate() {
        let (value, encrypted_value) = match &cookie.stored {
            Stored::Plain => (cookie.value.clone(), Vec::new()),
            Stored::Encrypted {
                prefix,
                password,
                iterations,
            } => (
                String::new(),
                chromium_encrypt(
                    prefix,
                    password,
                    *iterations,
                    meta_version,
                    &cookie.host_key,
                    &cookie.value,
                ),
            ),
            Stored::Raw(bytes) => (String::new(), bytes.clone()),
        };
        let created = chromium_time(1_600_000_000) + index as i64;
        let expires = cookie.expires_unix.map(chromium_time).unwrap_or(0);
        let persistent = i64::from(cookie.expires_unix.is_some());
        conn.execute(
            "INSERT INTO cookies(creation_utc, host_key, top_frame_site_key, name, value,
               encrypted_value, path, expires_utc, is_secure, is_httponly, last_access_utc,
               has_expires, is_persistent, priority, samesite, source_scheme, source_port,
               last_update_utc, source_type, has_cross_site_ancestor)
             VALUES (?1, ?2, '', ?3, ?4, ?5, '/', ?6, 1, 1, ?7, ?8, ?8, 1, -1, 2, 443, ?7, 0, 0)",
            params![
                created,
                cookie.host_key,
                cookie.name,
                value,
                encrypted_value,
                expires,
                chromium_time(cookie.last_access_unix),
                persistent,
            ],
        )
        .unwrap();
    }
}

/// Opens `path` and takes SQLite's exclusive lock the way a running Chromium holds its
/// `Cookies` file. Keep the connection alive for as long as the lock should be held.
pub fn lock_exclusively(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE;")
        .unwrap();
    conn
}

/// One row of Firefox's `moz_cookies` table.
#[derive(Clone, Debug)]
pub struct FirefoxCookie {
    pub host: String,
    pub name: String,
    pub value: String,
    pub expiry_unix: i64,
    pub last_accessed_unix: i64,
    /// Empty for normal browsing; `^userContextId=1` for a container tab.
    pub origin_attributes: String,
}

impl FirefoxCookie {
    pub fn new(host: &str, name: &str, value: &str) -> FirefoxCookie {
        FirefoxCookie {
            host: host.to_string(),
            name: name.to_string(),
            value: value.to_string(),
            expiry_unix: 2_000_000_000,
            last_accessed_unix: 1_700_000_000,
            origin_attributes: String::new(),
        }
    }

    pub fn expires(mut self, unix: i64) -> FirefoxCookie {
        self.expiry_unix = unix;
        self
    }

    pub fn last_accessed(mut self, unix: i64) -> FirefoxCookie {
        self.last_accessed_unix = unix;
        self
    }

    pub fn in_container(mut self, origin_attributes: &str) -> FirefoxCookie {
        self.origin_attributes = origin_attributes.to_string();
        self
    }
}

/// Writes a Firefox `cookies.sqlite` in WAL mode: `in_main` rows are checkpointed into the
/// main file, `in_wal` rows exist only in `cookies.sqlite-wal`. At `user_version` >= 16
/// `expiry` is written in milliseconds. The returned connection must stay open for as long as
/// the WAL rows should stay out of the main file (closing it checkpoints them).
pub fn write_firefox_db(
    path: &Path,
    user_version: u32,
    in_main: &[FirefoxCookie],
    in_wal: &[FirefoxCookie],
) -> Connection {
    fs::create_dir_all(path.parent().expect("db path has a parent")).unwrap();
    let conn = Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.execute_batch(&format!(
        "PRAGMA user_version = {user_version};
         CREATE TABLE moz_cookies (id INTEGER PRIMARY KEY, originAttributes TEXT NOT NULL
           DEFAULT '', name TEXT, value TEXT, host TEXT, path TEXT, expiry INTEGER,
           lastAccessed INTEGER, creationTime INTEGER, isSecure INTEGER, isHttpOnly INTEGER,
           inBrowserElement INTEGER DEFAULT 0, sameSite INTEGER DEFAULT 0,
           schemeMap INTEGER DEFAULT 0, isPartitionedAttributeSet INTEGER DEFAULT 0,
           CONSTRAINT moz_uniqueid UNIQUE (name, host, path, originAttributes));"
    ))
    .unwrap();
    insert_firefox_rows(&conn, user_version, in_main);
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    insert_firefox_rows(&conn, user_version, in_wal);
    conn
}

fn insert_firefox_rows(conn: &Connection, user_version: u32, cookies: &[FirefoxCookie]) {
    for cookie in cookies {
        let expiry = if user_version >= 16 {
            cookie.expiry_unix * 1000
        } else {
            cookie.expiry_unix
        };
        conn.execute(
            "INSERT INTO moz_cookies(originAttributes, name, value, host, path, expiry,
               lastAccessed, creationTime, isSecure, isHttpOnly, sameSite, schemeMap)
             VALUES (?1, ?2, ?3, ?4, '/', ?5, ?6, ?6, 1, 1, 1, 2)",
            params![
                cookie.origin_attributes,
                cookie.name,
                cookie.value,
                cookie.host,
                expiry,
                cookie.last_accessed_unix * 1_000_000,
            ],
        )
        .unwrap();
    }
}

/// Writes an executable `#!/bin/sh` script `bin/name` and returns its path.
pub fn write_script(bin: &Path, name: &str, body: &str) -> PathBuf {
    let path = bin.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

/// A fake `secret-tool` answering `lookup xdg:schema <schema> application <app>` from
/// `(schema, application, secret)` entries; it logs each call to `bin/secret-tool.log`.
pub fn write_fake_secret_tool(bin: &Path, entries: &[(&str, &str, &str)]) -> PathBuf {
    let arms: Vec<(String, String)> = entries
        .iter()
        .map(|(schema, app, secret)| (format!("{schema}|{app}"), secret.to_string()))
        .collect();
    write_lookup_script(bin, "secret-tool", "$3|$5", &arms, false)
}

/// A fake `kwallet-query` answering `-r <entry> -f <folder> kdewallet` from
/// `(folder, entry, secret)` entries; it logs each call to `bin/kwallet-query.log`.
pub fn write_fake_kwallet_query(bin: &Path, entries: &[(&str, &str, &str)]) -> PathBuf {
    let arms: Vec<(String, String)> = entries
        .iter()
        .map(|(folder, entry, secret)| (format!("{entry}|{folder}"), secret.to_string()))
        .collect();
    write_lookup_script(bin, "kwallet-query", "$2|$4", &arms, true)
}

/// A fake macOS `security` answering `find-generic-password -w -s <service> -a <account>`
/// from `(service, account, secret)` entries; it logs each call to `bin/security.log`.
pub fn write_fake_security(bin: &Path, entries: &[(&str, &str, &str)]) -> PathBuf {
    let arms: Vec<(String, String)> = entries
        .iter()
        .map(|(service, account, secret)| (format!("{service}|{account}"), secret.to_string()))
        .collect();
    write_lookup_script(bin, "security", "$4|$6", &arms, true)
}

fn write_lookup_script(
    bin: &Path,
    name: &str,
    key: &str,
    arms: &[(String, String)],
    newline: bool,
) -> PathBuf {
    let log = sh_quote(&bin.join(format!("{name}.log")).to_string_lossy());
    let format = if newline { "'%s\\n'" } else { "'%s'" };
    let mut body = format!("printf '%s\\n' \"$*\" >> {log}\ncase \"{key}\" in\n");
    for (pattern, secret) in arms {
        body.push_str(&format!(
            "  {}) printf {format} {}; exit 0 ;;\n",
            sh_quote(pattern),
            sh_quote(secret)
        ));
    }
    body.push_str("esac\necho 'no such entry' >&2\nexit 1");
    write_script(bin, name, &body)
}

/// Single-quotes `text` for sh, so patterns and secrets are taken literally.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}
