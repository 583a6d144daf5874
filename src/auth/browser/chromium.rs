//! Chromium-family cookie jars (Chrome, Chromium, Brave, Edge, Vivaldi, Opera, Arc) on Linux
//! and macOS.
//!
//! Values are encrypted with AES-128-CBC under a key derived (PBKDF2-HMAC-SHA1, salt
//! `saltysalt`) from a password: on Linux `v10` uses the fixed "peanuts" and `v11` the secret
//! in the desktop keyring; on macOS `v10` uses the keychain's "<Name> Safe Storage". Windows
//! (DPAPI, app-bound `v20`) is out of reach without the user's session keys, so it is skipped.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use super::keyring::{self, Lookup};
use super::{
    is_claude_host, open_snapshot, sqlite_outcome, without_repeats, Cookie, Discovery, Env,
    Outcome, Place, Platform, Probe, ReadCookie,
};

/// One Chromium-family browser: where it keeps its profiles, and what it calls its keyring
/// entry.
struct Browser {
    /// What `QUOTALINE_BROWSER` names: "chrome".
    id: &'static str,
    /// For messages: "Chrome".
    name: &'static str,
    /// The user-data dir under `~/.config` (and under a Flatpak's `config`) on Linux.
    linux_dir: Option<&'static str>,
    flatpak_id: Option<&'static str>,
    /// The user-data dir of the snap, relative to home.
    snap_dir: Option<&'static str>,
    /// The user-data dir under `~/Library/Application Support` on macOS.
    macos_dir: Option<&'static str>,
    /// The user-data dir under `%USERPROFILE%\AppData\Local`, only to say it cannot be read.
    windows_dir: Option<&'static str>,
    /// The `application` attribute of its Secret Service entry.
    libsecret_app: &'static str,
    /// The name in "<Name> Safe Storage" (KWallet entry, macOS keychain service) and
    /// "<Name> Keys" (KWallet folder).
    keyring_name: &'static str,
    /// The account of its macOS keychain item.
    macos_account: &'static str,
}

const BROWSERS: &[Browser] = &[
    Browser {
        id: "chrome",
        name: "Chrome",
        linux_dir: Some("google-chrome"),
        flatpak_id: Some("com.google.Chrome"),
        snap_dir: None,
        macos_dir: Some("Google/Chrome"),
        windows_dir: Some("Google/Chrome/User Data"),
        libsecret_app: "chrome",
        keyring_name: "Chrome",
        macos_account: "Chrome",
    },
    Browser {
        id: "chromium",
        name: "Chromium",
        linux_dir: Some("chromium"),
        flatpak_id: Some("org.chromium.Chromium"),
        snap_dir: Some("snap/chromium/common/chromium"),
        macos_dir: Some("Chromium"),
        windows_dir: Some("Chromium/User Data"),
        libsecret_app: "chromium",
        keyring_name: "Chromium",
        macos_account: "Chromium",
    },
    Browser {
        id: "brave",
        name: "Brave",
        linux_dir: Some("BraveSoftware/Brave-Browser"),
        flatpak_id: Some("com.brave.Browser"),
        snap_dir: None,
        macos_dir: Some("BraveSoftware/Brave-Browser"),
        windows_dir: Some("BraveSoftware/Brave-Browser/User Data"),
        libsecret_app: "brave",
        keyring_name: "Brave",
        macos_account: "Brave",
    },
    Browser {
        id: "edge",
        name: "Edge",
        linux_dir: Some("microsoft-edge"),
        flatpak_id: Some("com.microsoft.Edge"),
        snap_dir: None,
        macos_dir: Some("Microsoft Edge"),
        windows_dir: Some("Microsoft/Edge/User Data"),
        libsecret_app: "microsoft-edge",
        keyring_name: "Microsoft Edge",
        macos_account: "Microsoft Edge",
    },
    Browser {
        id: "vivaldi",
        name: "Vivaldi",
        linux_dir: Some("vivaldi"),
        flatpak_id: Some("com.vivaldi.Vivaldi"),
        snap_dir: None,
        macos_dir: Some("Vivaldi"),
        windows_dir: Some("Vivaldi/User Data"),
        libsecret_app: "vivaldi",
        keyring_name: "Vivaldi",
        macos_account: "Vivaldi",
    },
    Browser {
        id: "opera",
        name: "Opera",
        linux_dir: Some("opera"),
        flatpak_id: Some("com.opera.Opera"),
        snap_dir: None,
        macos_dir: None,
        windows_dir: None,
        libsecret_app: "opera",
        keyring_name: "Opera",
        macos_account: "Opera",
    },
    Browser {
        id: "arc",
        name: "Arc",
        linux_dir: None,
        flatpak_id: None,
        snap_dir: None,
        macos_dir: Some("Arc/User Data"),
        windows_dir: None,
        libsecret_app: "arc",
        keyring_name: "Arc",
        macos_account: "Arc",
    },
];

/// Chromium stores times as microseconds since 1601-01-01.
const EPOCH_1601_TO_1970_SECS: i64 = 11_644_473_600;

/// From meta version 24 on, the plaintext starts with SHA-256(host_key), binding each value
/// to its domain.
const HOST_HASH_META_VERSION: i64 = 24;

const IV: [u8; 16] = [b' '; 16];
const SALT: &[u8] = b"saltysalt";
const LINUX_ITERATIONS: u32 = 1;
const MACOS_ITERATIONS: u32 = 1003;
const LINUX_V10_PASSWORD: &str = "peanuts";

pub(super) fn discover(env: &Env, out: &mut Discovery) {
    if env.platform == Platform::Windows {
        note_windows_browsers(env, out);
        return;
    }
    // Keyring answers are per browser (Flatpak and native share them), asked at most once.
    let mut keyrings: HashMap<&'static str, Lookup> = HashMap::new();
    for browser in BROWSERS {
        for user_data in user_data_dirs(env, browser) {
            out.looked_in.push(user_data.clone());
            if user_data.is_absolute() && user_data.is_dir() {
                scan_user_data(env, browser, &user_data, &mut keyrings, out);
            }
        }
    }
}

/// Chromium on Windows encrypts cookies with DPAPI and app-bound (`v20`) keys that only the
/// browser itself can use; where such a browser is installed, say so rather than stay silent.
fn note_windows_browsers(env: &Env, out: &mut Discovery) {
    for browser in BROWSERS {
        let Some(dir) = browser.windows_dir else {
            continue;
        };
        let user_data = env.home.join("AppData").join("Local").join(dir);
        if user_data.is_absolute() && user_data.is_dir() {
            let why = format!(
                "{} on Windows encrypts cookies with DPAPI and app-bound keys, \
                 which quotaline cannot use",
                browser.name
            );
            out.probes.push(Probe {
                browser_name: browser.name.to_string(),
                profile: String::new(),
                path: user_data,
                outcome: Outcome::Undecryptable(why),
            });
        }
    }
}

fn user_data_dirs(env: &Env, browser: &Browser) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    match env.platform {
        Platform::Linux => {
            if let Some(dir) = browser.linux_dir {
                dirs.push(env.config_dir().join(dir));
                if let Some(id) = browser.flatpak_id {
                    dirs.push(env.home.join(".var/app").join(id).join("config").join(dir));
                }
            }
            if let Some(dir) = browser.snap_dir {
                dirs.push(env.home.join(dir));
            }
        }
        Platform::MacOs => {
            if let Some(dir) = browser.macos_dir {
                dirs.push(env.home.join("Library/Application Support").join(dir));
            }
        }
        Platform::Windows => {}
    }
    without_repeats(dirs)
}

fn scan_user_data(
    env: &Env,
    browser: &'static Browser,
    user_data: &Path,
    keyrings: &mut HashMap<&'static str, Lookup>,
    out: &mut Discovery,
) {
    let nowhere = Place {
        browser: browser.id,
        browser_name: browser.name,
        profile: "",
        db_path: user_data,
    };
    let profiles = match profile_dirs(user_data) {
        Ok(profiles) => profiles,
        Err(error) => {
            let why = format!("cannot list {}: {error}", user_data.display());
            out.probes
                .push(nowhere.probe(user_data, Outcome::Error(why)));
            return;
        }
    };
    if profiles.is_empty() {
        out.probes
            .push(nowhere.probe(user_data, Outcome::NoCookieDb));
    }
    for (profile, dir) in profiles {
        // Chrome 96 moved the file into `Network/`; older profiles still have it at the top.
        let dbs: Vec<PathBuf> = [dir.join("Network").join("Cookies"), dir.join("Cookies")]
            .into_iter()
            .filter(|db| db.is_file())
            .collect();
        if dbs.is_empty() {
            let place = Place {
                profile: &profile,
                ..nowhere
            };
            out.probes
                .push(place.probe(&dir.join("Cookies"), Outcome::NoCookieDb));
        }
        for db in dbs {
            let place = Place {
                browser: browser.id,
                browser_name: browser.name,
                profile: &profile,
                db_path: &db,
            };
            read_jar(env, browser, &place, keyrings, out);
        }
    }
}

/// The profiles of a user-data dir: `Default`, `Profile N`, and any other dir holding a
/// cookie database (`Guest Profile`, renamed profiles). `Default` first, then by number.
fn profile_dirs(user_data: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut profiles = Vec::new();
    for entry in fs::read_dir(user_data)? {
        let entry = entry?;
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let has_db = path.join("Cookies").is_file() || path.join("Network/Cookies").is_file();
        if name == "Default" || name.starts_with("Profile ") || has_db {
            profiles.push((name, path));
        }
    }
    profiles.sort_by_key(|(name, _)| {
        let number = name
            .strip_prefix("Profile ")
            .and_then(|number| number.parse::<u32>().ok());
        (name != "Default", number.unwrap_or(u32::MAX), name.clone())
    });
    Ok(profiles)
}

fn read_jar(
    env: &Env,
    browser: &'static Browser,
    place: &Place,
    keyrings: &mut HashMap<&'static str, Lookup>,
    out: &mut Discovery,
) {
    let snapshot = match open_snapshot(place.db_path) {
        Ok(snapshot) => snapshot,
        Err(outcome) => {
            out.probes.push(place.probe(place.db_path, outcome));
            return;
        }
    };
    let rows = match meta_version(&snapshot.conn)
        .and_then(|version| claude_rows(&snapshot.conn).map(|rows| (version, rows)))
    {
        Ok(read) => read,
        Err(error) => {
            out.probes
                .push(place.probe(place.db_path, sqlite_outcome(&error)));
            return;
        }
    };
    drop(snapshot);
    let (meta_version, rows) = rows;

    let mut decrypter = Decrypter {
        env,
        browser,
        meta_version,
        keyrings,
        keys: HashMap::new(),
    };
    let mut read = Vec::new();
    let mut failure = None;
    for row in rows {
        if !is_claude_host(&row.host_key) {
            continue;
        }
        let expires_unix = (row.expires_utc != 0).then(|| to_unix(row.expires_utc));
        if expires_unix.is_some_and(|expires| expires <= env.now_unix) {
            continue;
        }
        let value = if row.value.is_empty() && !row.encrypted_value.is_empty() {
            match decrypter.decrypt(&row.host_key, &row.encrypted_value) {
                Ok(value) => value,
                Err(reason) => {
                    failure.get_or_insert(reason);
                    continue;
                }
            }
        } else {
            row.value
        };
        read.push(ReadCookie {
            cookie: Cookie {
                host: row.host_key,
                name: row.name,
                value,
                expires_unix,
            },
            last_access_unix: to_unix(row.last_access_utc),
        });
    }
    place.conclude(read, failure, out);
}

fn to_unix(chromium_time: i64) -> i64 {
    chromium_time / 1_000_000 - EPOCH_1601_TO_1970_SECS
}

/// The schema version in `meta`, stored as TEXT by Chromium (read an INTEGER too, in case).
fn meta_version(conn: &Connection) -> rusqlite::Result<i64> {
    let value: Option<Value> = conn
        .query_row("SELECT value FROM meta WHERE key = 'version'", [], |row| {
            row.get(0)
        })
        .optional()?;
    Ok(match value {
        Some(Value::Integer(version)) => version,
        Some(Value::Text(text)) => text.trim().parse().unwrap_or(0),
        _ => 0,
    })
}

/// One row of the `cookies` table, value still encrypted.
struct Row {
    host_key: String,
    name: String,
    value: String,
    encrypted_value: Vec<u8>,
    expires_utc: i64,
    last_access_utc: i64,
}

fn claude_rows(conn: &Connection) -> rusqlite::Result<Vec<Row>> {
    let mut statement = conn.prepare(
        "SELECT host_key, name, value, encrypted_value, expires_utc, last_access_utc
         FROM cookies WHERE host_key = 'claude.ai' OR host_key LIKE '%.claude.ai'",
    )?;
    let rows = statement.query_map([], |row| {
        Ok(Row {
            host_key: row.get(0)?,
            name: row.get(1)?,
            value: row.get::<_, Option<String>>(2)?.unwrap_or_default(),
            encrypted_value: row.get::<_, Option<Vec<u8>>>(3)?.unwrap_or_default(),
            expires_utc: row.get::<_, Option<i64>>(4)?.unwrap_or(0),
            last_access_utc: row.get::<_, Option<i64>>(5)?.unwrap_or(0),
        })
    })?;
    rows.collect()
}

/// An AES key to try, and whether its password came from the keyring (so that failing with
/// it means the keyring holds the wrong secret).
struct Key {
    aes: [u8; 16],
    from_keyring: bool,
}

/// The keys for one encryption prefix, or why there are none worth trying.
struct KeySet {
    keys: Vec<Key>,
    /// "no keyring secret for Chrome": reported when no key works.
    missing_secret: Option<String>,
}

/// Why one key did not decrypt a value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyFailure {
    BadPadding,
    /// The SHA-256(host_key) prefix (meta version >= 24) did not match, or the plaintext was
    /// not text: either way, not the key the value was encrypted with.
    WrongPlaintext,
}

/// Decrypts the values of one database, deriving keys only when a value needs them, so a
/// database without `v11` values never touches the keyring.
struct Decrypter<'a> {
    env: &'a Env,
    browser: &'static Browser,
    meta_version: i64,
    keyrings: &'a mut HashMap<&'static str, Lookup>,
    keys: HashMap<[u8; 3], KeySet>,
}

impl Decrypter<'_> {
    /// The plaintext, or a reason for the probe ("wrong key", ...) that never holds a value.
    fn decrypt(&mut self, host_key: &str, blob: &[u8]) -> Result<String, String> {
        let Some((prefix, ciphertext)) = blob.split_first_chunk::<3>() else {
            return Err("value too short to be encrypted".to_string());
        };
        let meta_version = self.meta_version;
        let Some(key_set) = self.key_set(*prefix) else {
            return Err(format!(
                "unknown encryption prefix {}",
                prefix.escape_ascii()
            ));
        };
        let mut first_failure = None;
        for key in &key_set.keys {
            match decrypt_with(&key.aes, ciphertext, host_key, meta_version) {
                Ok(value) => return Ok(value),
                Err(failure) => {
                    first_failure.get_or_insert(failure);
                }
            }
        }
        if let Some(missing) = &key_set.missing_secret {
            return Err(missing.clone());
        }
        let keyring_key_failed = key_set.keys.iter().any(|key| key.from_keyring);
        Err(match first_failure {
            // A fixed password cannot be wrong; failing padding with it means a corrupt value.
            Some(KeyFailure::BadPadding) if !keyring_key_failed => "bad padding".to_string(),
            _ => "wrong key".to_string(),
        })
    }

    /// The keys for `prefix` on this platform, `None` for a prefix this platform never
    /// writes.
    fn key_set(&mut self, prefix: [u8; 3]) -> Option<&KeySet> {
        if !self.keys.contains_key(&prefix) {
            let key_set = match (self.env.platform, &prefix) {
                (Platform::Linux, b"v10") => KeySet {
                    // Chromium retries with the empty password too, after an old bug.
                    keys: [LINUX_V10_PASSWORD, ""]
                        .iter()
                        .map(|password| Key {
                            aes: derive_key(password, LINUX_ITERATIONS),
                            from_keyring: false,
                        })
                        .collect(),
                    missing_secret: None,
                },
                (Platform::Linux, b"v11") => self.keyring_key_set(LINUX_ITERATIONS, true),
                (Platform::MacOs, b"v10") => self.keyring_key_set(MACOS_ITERATIONS, false),
                _ => return None,
            };
            self.keys.insert(prefix, key_set);
        }
        self.keys.get(&prefix)
    }

    /// Keys from the keyring's passwords; on Linux the empty password comes last, because
    /// Chromium falls back to it when the keyring was unavailable at the time of writing.
    fn keyring_key_set(&mut self, iterations: u32, try_empty: bool) -> KeySet {
        let browser_name = self.browser.name;
        let lookup = self.keyring();
        let mut keys: Vec<Key> = lookup
            .secrets
            .iter()
            .map(|secret| Key {
                aes: derive_key(secret, iterations),
                from_keyring: true,
            })
            .collect();
        let missing_secret = if keys.is_empty() {
            let mut reason = format!("no keyring secret for {browser_name}");
            if !lookup.notes.is_empty() {
                reason.push_str(&format!(" ({})", lookup.notes.join("; ")));
            }
            Some(reason)
        } else {
            None
        };
        if try_empty {
            keys.push(Key {
                aes: derive_key("", iterations),
                from_keyring: false,
            });
        }
        KeySet {
            keys,
            missing_secret,
        }
    }

    fn keyring(&mut self) -> &Lookup {
        let env = self.env;
        let browser = self.browser;
        self.keyrings
            .entry(browser.id)
            .or_insert_with(|| match env.platform {
                Platform::MacOs => keyring::macos_lookup(
                    env.path_var(),
                    &format!("{} Safe Storage", browser.keyring_name),
                    browser.macos_account,
                ),
                _ => keyring::linux_lookup(
                    env.path_var(),
                    browser.libsecret_app,
                    browser.keyring_name,
                ),
            })
    }
}

fn derive_key(password: &str, iterations: u32) -> [u8; 16] {
    let mut key = [0u8; 16];
    pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password.as_bytes(), SALT, iterations, &mut key);
    key
}

/// AES-128-CBC with strict PKCS#7, then the host hash check at meta version >= 24.
fn decrypt_with(
    key: &[u8; 16],
    ciphertext: &[u8],
    host_key: &str,
    meta_version: i64,
) -> Result<String, KeyFailure> {
    if ciphertext.is_empty() || ciphertext.len() % 16 != 0 {
        return Err(KeyFailure::BadPadding);
    }
    let mut buffer = ciphertext.to_vec();
    let plaintext = cbc::Decryptor::<aes::Aes128>::new(key.into(), &IV.into())
        .decrypt_padded_mut::<Pkcs7>(&mut buffer)
        .map_err(|_| KeyFailure::BadPadding)?;
    let value = if meta_version >= HOST_HASH_META_VERSION {
        match plaintext.split_at_checked(32) {
            Some((hash, value)) if hash == Sha256::digest(host_key.as_bytes()).as_slice() => value,
            _ => return Err(KeyFailure::WrongPlaintext),
        }
    } else {
        plaintext
    };
    String::from_utf8(value.to_vec()).map_err(|_| KeyFailure::WrongPlaintext)
}

#[cfg(all(test, unix))]
mod tests {
    use super::super::fixtures::{self, ChromiumCookie, Stored};
    use super::super::{discover, pick, searched_summary, Jar};
    use super::*;
    use std::ffi::OsString;

    #[test]
    fn the_config_knows_every_browser_read_here() {
        let mut ids: Vec<&str> = BROWSERS.iter().map(|b| b.id).collect();
        ids.push(super::super::firefox::BROWSER);
        assert_eq!(crate::config::KNOWN_BROWSERS, ids.as_slice());
    }

    const NOW: i64 = 1_750_000_000;

    /// A home directory and an empty bin dir that is the whole `PATH`.
    struct World {
        home: tempfile::TempDir,
        bin: tempfile::TempDir,
        platform: Platform,
    }

    impl World {
        fn linux() -> World {
            World {
                home: tempfile::tempdir().unwrap(),
                bin: tempfile::tempdir().unwrap(),
                platform: Platform::Linux,
            }
        }

        fn macos() -> World {
            World {
                platform: Platform::MacOs,
                ..World::linux()
            }
        }

        fn env(&self) -> Env {
            Env {
                home: self.home.path().to_path_buf(),
                xdg_config_home: None,
                appdata: None,
                platform: self.platform,
                path_var: Some(OsString::from(self.bin.path())),
                now_unix: NOW,
            }
        }

        fn path(&self, relative: &str) -> PathBuf {
            self.home.path().join(relative)
        }

        fn chrome_db(&self, profile: &str) -> PathBuf {
            self.path(&format!(".config/google-chrome/{profile}/Network/Cookies"))
        }
    }

    fn session(host: &str, value: &str, stored: Stored) -> ChromiumCookie {
        ChromiumCookie::new(host, "sessionKey", value, stored)
    }

    fn only_jar(d: &Discovery) -> &Jar {
        assert_eq!(d.jars.len(), 1, "{:?}", d.probes);
        &d.jars[0]
    }

    fn outcomes(d: &Discovery) -> Vec<Outcome> {
        d.probes.iter().map(|probe| probe.outcome.clone()).collect()
    }

    #[test]
    fn v10_at_meta_24_is_decrypted_and_the_host_hash_stripped() {
        let world = World::linux();
        let db = world.chrome_db("Default");
        fixtures::write_chromium_db(
            &db,
            24,
            &[
                session(".claude.ai", "sk-ant-sid01-abc", Stored::v10_linux()),
                ChromiumCookie::new(".claude.ai", "lastActiveOrg", "org-1", Stored::v10_linux()),
            ],
        );
        let d = discover(&world.env());
        let jar = only_jar(&d);
        assert_eq!(jar.session_key(), Some("sk-ant-sid01-abc"));
        assert_eq!(jar.last_active_org(), Some("org-1"));
        assert_eq!(jar.label(), "chrome:Default");
        assert_eq!(jar.browser_name, "Chrome");
        assert_eq!(jar.db_path, db);
        assert_eq!(
            d.probes,
            [Probe {
                browser_name: "Chrome".to_string(),
                profile: "Default".to_string(),
                path: db,
                outcome: Outcome::Usable { cookies: 2 },
            }]
        );
    }

    #[test]
    fn v10_at_meta_23_has_no_host_hash() {
        let world = World::linux();
        fixtures::write_chromium_db(
            &world.chrome_db("Default"),
            23,
            &[session(
                "claude.ai",
                "sk-ant-sid01-old",
                Stored::v10_linux(),
            )],
        );
        let d = discover(&world.env());
        assert_eq!(only_jar(&d).session_key(), Some("sk-ant-sid01-old"));
    }

    #[test]
    fn a_host_hash_for_another_host_means_wrong_key_not_a_value() {
        let world = World::linux();
        let blob = fixtures::chromium_encrypt("v10", "peanuts", 1, 24, ".evil.com", "sk-x");
        fixtures::write_chromium_db(
            &world.chrome_db("Default"),
            24,
            &[session(".claude.ai", "", Stored::Raw(blob))],
        );
        let d = discover(&world.env());
        assert!(d.jars.is_empty());
        assert_eq!(outcomes(&d), [Outcome::Undecryptable("wrong key".into())]);
    }

    #[test]
    fn corrupt_v10_value_is_bad_padding() {
        let world = World::linux();
        let mut blob = fixtures::chromium_encrypt("v10", "peanuts", 1, 24, ".claude.ai", "sk");
        let last = blob.len() - 1;
        blob[last] ^= 0x55;
        fixtures::write_chromium_db(
            &world.chrome_db("Default"),
            24,
            &[session(".claude.ai", "", Stored::Raw(blob))],
        );
        let d = discover(&world.env());
        assert_eq!(outcomes(&d), [Outcome::Undecryptable("bad padding".into())]);
    }

    #[test]
    fn v11_uses_the_secret_service_password() {
        let world = World::linux();
        fixtures::write_fake_secret_tool(
            world.bin.path(),
            &[("chrome_libsecret_os_crypt_password_v2", "chrome", "kr-pw")],
        );
        fixtures::write_chromium_db(
            &world.chrome_db("Default"),
            24,
            &[session(
                ".claude.ai",
                "sk-ant-sid01-v11",
                Stored::v11_linux("kr-pw"),
            )],
        );
        let d = discover(&world.env());
        assert_eq!(only_jar(&d).session_key(), Some("sk-ant-sid01-v11"));
    }

    #[test]
    fn v11_uses_the_kwallet_password() {
        let world = World::linux();
        fixtures::write_fake_kwallet_query(
            world.bin.path(),
            &[("Brave Keys", "Brave Safe Storage", "kw-pw")],
        );
        fixtures::write_chromium_db(
            &world.path(".config/BraveSoftware/Brave-Browser/Profile 2/Cookies"),
            24,
            &[session(
                ".claude.ai",
                "sk-ant-sid01-kw",
                Stored::v11_linux("kw-pw"),
            )],
        );
        let d = discover(&world.env());
        let jar = only_jar(&d);
        assert_eq!(jar.session_key(), Some("sk-ant-sid01-kw"));
        assert_eq!(jar.label(), "brave:Profile 2");
    }

    #[test]
    fn a_wrong_keyring_secret_falls_back_to_the_empty_password() {
        let world = World::linux();
        fixtures::write_fake_secret_tool(
            world.bin.path(),
            &[("chrome_libsecret_os_crypt_password_v2", "chrome", "not-it")],
        );
        fixtures::write_chromium_db(
            &world.chrome_db("Default"),
            24,
            &[session(
                ".claude.ai",
                "sk-ant-sid01-empty",
                Stored::v11_linux(""),
            )],
        );
        let d = discover(&world.env());
        assert_eq!(only_jar(&d).session_key(), Some("sk-ant-sid01-empty"));
    }

    #[test]
    fn a_truly_wrong_keyring_secret_is_wrong_key() {
        let world = World::linux();
        fixtures::write_fake_secret_tool(
            world.bin.path(),
            &[("chrome_libsecret_os_crypt_password_v2", "chrome", "not-it")],
        );
        fixtures::write_chromium_db(
            &world.chrome_db("Default"),
            24,
            &[session(
                ".claude.ai",
                "sk-ant-sid01-x",
                Stored::v11_linux("the-real-one"),
            )],
        );
        let d = discover(&world.env());
        assert!(d.jars.is_empty());
        assert_eq!(outcomes(&d), [Outcome::Undecryptable("wrong key".into())]);
    }

    #[test]
    fn v11_without_any_keyring_helper_says_so() {
        let world = World::linux();
        fixtures::write_chromium_db(
            &world.chrome_db("Default"),
            24,
            &[session(
                ".claude.ai",
                "sk-ant-sid01-x",
                Stored::v11_linux("kr-pw"),
            )],
        );
        let d = discover(&world.env());
        assert_eq!(
            outcomes(&d),
            [Outcome::Undecryptable(
                "no keyring secret for Chrome".into()
            )]
        );
    }

    #[test]
    fn unknown_prefix_is_reported_by_name() {
        let world = World::linux();
        fixtures::write_chromium_db(
            &world.chrome_db("Default"),
            24,
            &[session(
                ".claude.ai",
                "sk",
                Stored::encrypted("v12", "peanuts", 1),
            )],
        );
        let d = discover(&world.env());
        assert_eq!(
            outcomes(&d),
            [Outcome::Undecryptable(
                "unknown encryption prefix v12".into()
            )]
        );
    }

    #[test]
    fn v10_only_databases_never_ask_the_keyring() {
        let world = World::linux();
        fixtures::write_fake_secret_tool(world.bin.path(), &[]);
        fixtures::write_chromium_db(
            &world.chrome_db("Default"),
            24,
            &[session(
                ".claude.ai",
                "sk-ant-sid01-abc",
                Stored::v10_linux(),
            )],
        );
        discover(&world.env());
        assert!(!world.bin.path().join("secret-tool.log").exists());
    }

    #[test]
    fn the_keyring_is_asked_once_per_browser() {
        let world = World::linux();
        fixtures::write_fake_secret_tool(
            world.bin.path(),
            &[("chrome_libsecret_os_crypt_password_v2", "chrome", "kr-pw")],
        );
        for profile in ["Default", "Profile 1"] {
            fixtures::write_chromium_db(
                &world.chrome_db(profile),
                24,
                &[session(
                    ".claude.ai",
                    "sk-ant-sid01-x",
                    Stored::v11_linux("kr-pw"),
                )],
            );
        }
        let d = discover(&world.env());
        assert_eq!(d.jars.len(), 2);
        let log = fs::read_to_string(world.bin.path().join("secret-tool.log")).unwrap();
        assert_eq!(
            log,
            "lookup xdg:schema chrome_libsecret_os_crypt_password_v2 application chrome\n"
        );
    }

    #[test]
    fn only_claude_ai_and_its_subdomains_are_read_and_expired_cookies_are_dropped() {
        let world = World::linux();
        let plain = Stored::Plain;
        fixtures::write_chromium_db(
            &world.chrome_db("Default"),
            24,
            &[
                session("claude.ai", "sk-host-only", Stored::v10_linux()),
                ChromiumCookie::new(".claude.ai", "cf_clearance", "cf", plain.clone())
                    .expires(NOW + 60),
                ChromiumCookie::new(".claude.ai", "expired", "old", plain.clone()).expires(NOW - 1),
                ChromiumCookie::new("support.claude.ai", "sub", "s", plain.clone()),
                ChromiumCookie::new(".anthropic.com", "sessionKey", "a", plain.clone()),
                ChromiumCookie::new("notclaude.ai", "sessionKey", "b", plain.clone()),
                ChromiumCookie::new(".notclaude.ai", "sessionKey", "c", plain.clone()),
                ChromiumCookie::new("claude.ai.evil.com", "sessionKey", "d", plain),
            ],
        );
        let d = discover(&world.env());
        let jar = only_jar(&d);
        let seen: Vec<(&str, &str, Option<i64>)> = jar
            .cookies
            .iter()
            .map(|c| (c.host.as_str(), c.name.as_str(), c.expires_unix))
            .collect();
        assert_eq!(
            seen,
            [
                ("support.claude.ai", "sub", None),
                ("claude.ai", "sessionKey", None),
                (".claude.ai", "cf_clearance", Some(NOW + 60)),
            ]
        );
        assert_eq!(
            jar.cookie_header(),
            "sessionKey=sk-host-only; cf_clearance=cf"
        );
    }

    #[test]
    fn cookies_without_session_key_are_reported_as_such() {
        let world = World::linux();
        fixtures::write_chromium_db(
            &world.chrome_db("Default"),
            24,
            &[ChromiumCookie::new(
                ".claude.ai",
                "__cf_bm",
                "x",
                Stored::v10_linux(),
            )],
        );
        fixtures::write_chromium_db(&world.chrome_db("Profile 1"), 24, &[]);
        let d = discover(&world.env());
        assert!(d.jars.is_empty());
        assert_eq!(
            outcomes(&d),
            [
                Outcome::NoSessionKey { cookies: 1 },
                Outcome::NoClaudeCookies
            ]
        );
    }

    #[test]
    fn a_database_under_an_exclusive_lock_is_still_read() {
        let world = World::linux();
        let db = world.chrome_db("Default");
        fixtures::write_chromium_db(
            &db,
            24,
            &[session(
                ".claude.ai",
                "sk-ant-sid01-locked",
                Stored::v10_linux(),
            )],
        );
        let _browser = fixtures::lock_exclusively(&db);
        // The lock is real: opening the original directly fails.
        let direct = Connection::open(&db).unwrap();
        direct.busy_timeout(std::time::Duration::ZERO).unwrap();
        assert!(direct
            .query_row("SELECT count(*) FROM cookies", [], |_| Ok(()))
            .is_err());
        let d = discover(&world.env());
        assert_eq!(only_jar(&d).session_key(), Some("sk-ant-sid01-locked"));
    }

    #[test]
    fn every_profile_is_read_and_the_most_recently_used_wins() {
        let world = World::linux();
        let recent = |value: &str, at: i64| {
            vec![session(".claude.ai", value, Stored::v10_linux()).last_access(at)]
        };
        fixtures::write_chromium_db(&world.chrome_db("Default"), 24, &recent("sk-d", 100));
        fixtures::write_chromium_db(
            &world.path(".config/google-chrome/Profile 10/Cookies"),
            23,
            &recent("sk-10", 300),
        );
        fixtures::write_chromium_db(&world.chrome_db("Profile 2"), 24, &recent("sk-2", 200));
        fixtures::write_chromium_db(
            &world.path(".config/BraveSoftware/Brave-Browser/Profile 2/Network/Cookies"),
            24,
            &recent("sk-brave", 250),
        );
        fs::create_dir_all(world.path(".config/google-chrome/Profile 3")).unwrap();
        fs::create_dir_all(world.path(".config/google-chrome/Crashpad")).unwrap();

        let d = discover(&world.env());
        let labels: Vec<String> = d.jars.iter().map(Jar::label).collect();
        assert_eq!(
            labels,
            [
                "chrome:Profile 10",
                "brave:Profile 2",
                "chrome:Profile 2",
                "chrome:Default"
            ]
        );
        assert_eq!(d.jars[0].last_used_unix, 300);
        let probed: Vec<&str> = d.probes.iter().map(|p| p.profile.as_str()).collect();
        assert_eq!(
            probed,
            [
                "Default",
                "Profile 2",
                "Profile 3",
                "Profile 10",
                "Profile 2"
            ]
        );
        assert_eq!(d.probes[2].outcome, Outcome::NoCookieDb);

        assert_eq!(pick(&d, None).unwrap().session_key(), Some("sk-10"));
        assert_eq!(
            pick(&d, Some("chrome")).unwrap().session_key(),
            Some("sk-10")
        );
        assert_eq!(
            pick(&d, Some("Brave:Profile 2")).unwrap().session_key(),
            Some("sk-brave")
        );
        assert_eq!(
            pick(&d, Some("chrome:Default")).unwrap().session_key(),
            Some("sk-d")
        );
        assert_eq!(
            searched_summary(&d),
            "Chrome (3 profiles), Brave (1 profile)"
        );
    }

    #[test]
    fn both_cookie_locations_of_a_profile_are_read() {
        let world = World::linux();
        let top = world.path(".config/chromium/Default/Cookies");
        let network = world.path(".config/chromium/Default/Network/Cookies");
        fixtures::write_chromium_db(&top, 24, &[]);
        fixtures::write_chromium_db(
            &network,
            24,
            &[session(".claude.ai", "sk-net", Stored::v10_linux())],
        );
        let d = discover(&world.env());
        let paths: Vec<&Path> = d.probes.iter().map(|p| p.path.as_path()).collect();
        assert_eq!(paths, [network.as_path(), top.as_path()]);
        assert_eq!(only_jar(&d).session_key(), Some("sk-net"));
        assert_eq!(searched_summary(&d), "Chromium (1 profile)");
    }

    #[test]
    fn flatpak_snap_and_xdg_config_home_locations_are_searched() {
        let world = World::linux();
        let xdg = world.path("xdg");
        let dbs = [
            (xdg.join("vivaldi/Default/Cookies"), "vivaldi"),
            (
                world.path(".var/app/com.microsoft.Edge/config/microsoft-edge/Default/Cookies"),
                "edge",
            ),
            (
                world.path("snap/chromium/common/chromium/Default/Cookies"),
                "chromium",
            ),
            (
                world.path(".config/opera/Default/Cookies"),
                "ignored: not under XDG",
            ),
        ];
        for (db, value) in &dbs {
            fixtures::write_chromium_db(db, 24, &[session(".claude.ai", value, Stored::Plain)]);
        }
        let env = Env {
            xdg_config_home: Some(xdg),
            ..world.env()
        };
        let d = discover(&env);
        let mut found: Vec<(String, &str)> = d
            .jars
            .iter()
            .map(|jar| (jar.label(), jar.session_key().unwrap()))
            .collect();
        found.sort();
        assert_eq!(
            found,
            [
                ("chromium:Default".to_string(), "chromium"),
                ("edge:Default".to_string(), "edge"),
                ("vivaldi:Default".to_string(), "vivaldi"),
            ]
        );
    }

    #[test]
    fn macos_uses_the_keychain_password_and_1003_iterations() {
        let world = World::macos();
        fixtures::write_fake_security(
            world.bin.path(),
            &[
                ("Chrome Safe Storage", "Chrome", "mac-chrome"),
                ("Arc Safe Storage", "Arc", "mac-arc"),
            ],
        );
        fixtures::write_chromium_db(
            &world.path("Library/Application Support/Google/Chrome/Default/Cookies"),
            24,
            &[session(
                ".claude.ai",
                "sk-mac",
                Stored::v10_macos("mac-chrome"),
            )],
        );
        fixtures::write_chromium_db(
            &world.path("Library/Application Support/Arc/User Data/Default/Cookies"),
            23,
            &[session(".claude.ai", "sk-arc", Stored::v10_macos("mac-arc")).last_access(5)],
        );
        // Linux layouts mean nothing on macOS.
        fixtures::write_chromium_db(
            &world.chrome_db("Default"),
            24,
            &[session(".claude.ai", "sk-linux", Stored::Plain)],
        );
        let d = discover(&world.env());
        let found: Vec<(String, &str)> = d
            .jars
            .iter()
            .map(|jar| (jar.label(), jar.session_key().unwrap()))
            .collect();
        assert_eq!(
            found,
            [
                ("chrome:Default".to_string(), "sk-mac"),
                ("arc:Default".to_string(), "sk-arc"),
            ]
        );
        let log = fs::read_to_string(world.bin.path().join("security.log")).unwrap();
        assert_eq!(
            log,
            "find-generic-password -w -s Chrome Safe Storage -a Chrome\n\
             find-generic-password -w -s Arc Safe Storage -a Arc\n"
        );
    }

    #[test]
    fn macos_value_with_the_linux_iteration_count_is_wrong_key() {
        let world = World::macos();
        fixtures::write_fake_security(
            world.bin.path(),
            &[("Chrome Safe Storage", "Chrome", "mac-chrome")],
        );
        fixtures::write_chromium_db(
            &world.path("Library/Application Support/Google/Chrome/Default/Cookies"),
            24,
            &[session(
                ".claude.ai",
                "sk",
                Stored::encrypted("v10", "mac-chrome", 1),
            )],
        );
        let d = discover(&world.env());
        assert_eq!(outcomes(&d), [Outcome::Undecryptable("wrong key".into())]);
    }

    #[test]
    fn chromium_on_windows_is_reported_as_out_of_reach() {
        let world = World {
            platform: Platform::Windows,
            ..World::linux()
        };
        let user_data = world.path("AppData/Local/Google/Chrome/User Data");
        fixtures::write_chromium_db(
            &user_data.join("Default/Network/Cookies"),
            24,
            &[session(".claude.ai", "sk", Stored::Plain)],
        );
        let d = discover(&world.env());
        assert!(d.jars.is_empty());
        let why = "Chrome on Windows encrypts cookies with DPAPI and app-bound keys, which \
                   quotaline cannot use";
        assert_eq!(
            d.probes,
            [Probe {
                browser_name: "Chrome".to_string(),
                profile: String::new(),
                path: user_data,
                outcome: Outcome::Undecryptable(why.to_string()),
            }]
        );
    }

    #[test]
    fn probes_and_errors_never_carry_secret_values() {
        let world = World::linux();
        fixtures::write_fake_secret_tool(
            world.bin.path(),
            &[(
                "chrome_libsecret_os_crypt_password_v2",
                "chrome",
                "KEYRING-SECRET",
            )],
        );
        fixtures::write_chromium_db(
            &world.chrome_db("Default"),
            24,
            &[
                session(
                    ".claude.ai",
                    "COOKIE-SECRET",
                    Stored::v11_linux("KEYRING-SECRET"),
                ),
                ChromiumCookie::new(".claude.ai", "x", "OTHER", Stored::v11_linux("nope")),
            ],
        );
        let d = discover(&world.env());
        let printed = format!("{d:?} {}", d.probes[0]);
        for secret in ["KEYRING-SECRET", "COOKIE-SECRET", "OTHER"] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }
}
