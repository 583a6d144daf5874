//! Firefox cookie jars: every profile listed in each `profiles.ini`, default first.
//!
//! Values are plaintext. The database runs in WAL mode, so a fresh login may exist only in
//! `cookies.sqlite-wal`; the snapshot copies both files.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::{
    is_claude_host, open_snapshot, sqlite_outcome, without_repeats, Cookie, Discovery, Env,
    Outcome, Place, Platform, ReadCookie,
};

pub(super) const BROWSER: &str = "firefox";
const BROWSER_NAME: &str = "Firefox";

/// From schema version 16 on, `expiry` is in milliseconds rather than seconds.
const EXPIRY_IN_MS_USER_VERSION: i64 = 16;

pub(super) fn discover(env: &Env, out: &mut Discovery) {
    for root in roots(env) {
        out.looked_in.push(root.clone());
        if root.is_absolute() && root.is_dir() {
            scan_root(env, &root, out);
        }
    }
}

/// The directories that hold a `profiles.ini`, for this platform.
fn roots(env: &Env) -> Vec<PathBuf> {
    let roots = match env.platform {
        Platform::Linux => vec![
            env.home.join(".mozilla/firefox"),
            // Firefox 147 and later follow XDG when no `~/.mozilla` exists.
            env.config_dir().join("mozilla/firefox"),
            env.home
                .join(".var/app/org.mozilla.firefox/.mozilla/firefox"),
            env.home
                .join(".var/app/org.mozilla.firefox/config/mozilla/firefox"),
            env.home.join("snap/firefox/common/.mozilla/firefox"),
        ],
        Platform::MacOs => vec![env.home.join("Library/Application Support/Firefox")],
        Platform::Windows => env
            .appdata
            .iter()
            .map(|appdata| appdata.join("Mozilla").join("Firefox"))
            .collect(),
    };
    without_repeats(roots)
}

fn scan_root(env: &Env, root: &Path, out: &mut Discovery) {
    let ini_path = root.join("profiles.ini");
    let nowhere = Place {
        browser: BROWSER,
        browser_name: BROWSER_NAME,
        profile: "",
        db_path: &ini_path,
    };
    let ini = match std::fs::read_to_string(&ini_path) {
        Ok(ini) => ini,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            out.probes
                .push(nowhere.probe(&ini_path, Outcome::NoCookieDb));
            return;
        }
        Err(error) => {
            let why = format!("cannot read {}: {error}", ini_path.display());
            out.probes
                .push(nowhere.probe(&ini_path, Outcome::Error(why)));
            return;
        }
    };
    for profile in profiles(&ini, root) {
        let db = profile.dir.join("cookies.sqlite");
        let place = Place {
            browser: BROWSER,
            browser_name: BROWSER_NAME,
            profile: &profile.name,
            db_path: &db,
        };
        if db.is_file() {
            read_jar(env, &place, out);
        } else {
            out.probes.push(place.probe(&db, Outcome::NoCookieDb));
        }
    }
}

fn read_jar(env: &Env, place: &Place, out: &mut Discovery) {
    let read = open_snapshot(place.db_path).and_then(|snapshot| {
        read_cookies(&snapshot.conn, env.now_unix).map_err(|e| sqlite_outcome(&e))
    });
    match read {
        Ok(read) => place.conclude(read, None, out),
        Err(outcome) => out.probes.push(place.probe(place.db_path, outcome)),
    }
}

/// The unexpired claude.ai cookies of normal browsing. Container tabs, private windows and
/// partitioned (third-party) cookies carry `originAttributes` and are left out: they are
/// other logins, or not sent to claude.ai at all.
fn read_cookies(conn: &Connection, now_unix: i64) -> rusqlite::Result<Vec<ReadCookie>> {
    let user_version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let expiry_divisor = if user_version >= EXPIRY_IN_MS_USER_VERSION {
        1000
    } else {
        1
    };
    let mut statement = conn.prepare(
        "SELECT host, name, value, expiry, lastAccessed FROM moz_cookies
         WHERE (host = 'claude.ai' OR host LIKE '%.claude.ai') AND originAttributes = ''",
    )?;
    let rows = statement.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, Option<String>>(1)?.unwrap_or_default(),
            row.get::<_, Option<String>>(2)?.unwrap_or_default(),
            row.get::<_, Option<i64>>(3)?.unwrap_or(0),
            row.get::<_, Option<i64>>(4)?.unwrap_or(0),
        ))
    })?;
    let mut read = Vec::new();
    for row in rows {
        let (host, name, value, expiry, last_accessed) = row?;
        if !is_claude_host(&host) {
            continue;
        }
        let expires_unix = (expiry > 0).then_some(expiry / expiry_divisor);
        if expires_unix.is_some_and(|expires| expires <= now_unix) {
            continue;
        }
        read.push(ReadCookie {
            cookie: Cookie {
                host,
                name,
                value,
                expires_unix,
            },
            // `lastAccessed` is in microseconds since 1970.
            last_access_unix: last_accessed / 1_000_000,
        });
    }
    Ok(read)
}

/// A profile listed in `profiles.ini`.
#[derive(Debug, PartialEq, Eq)]
struct Profile {
    name: String,
    dir: PathBuf,
}

/// The profiles of `profiles.ini`, the default first: an `[Install...]` section's `Default=`
/// (what the installed Firefox really opens) wins over a `[ProfileN]` with `Default=1` (the
/// pre-67 notion), then the rest in file order.
fn profiles(ini: &str, root: &Path) -> Vec<Profile> {
    let sections = parse_ini(ini);
    let mut listed = Vec::new();
    let mut legacy_default = None;
    for section in sections.iter().filter(|s| s.name.starts_with("Profile")) {
        let Some(path) = section.get("Path") else {
            continue;
        };
        let relative = section.get("IsRelative") != Some("0");
        let dir = resolve(root, path, relative);
        let name = section.get("Name").map(str::to_string).unwrap_or_else(|| {
            dir.file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        if section.get("Default") == Some("1") && legacy_default.is_none() {
            legacy_default = Some(dir.clone());
        }
        listed.push((path.to_string(), Profile { name, dir }));
    }

    let mut ordered_dirs: Vec<PathBuf> = Vec::new();
    let mut ordered: Vec<Profile> = Vec::new();
    for section in sections.iter().filter(|s| s.name.starts_with("Install")) {
        let Some(default) = section.get("Default") else {
            continue;
        };
        // `Default=` repeats a profile's `Path=` verbatim.
        let profile = match listed.iter().find(|(path, _)| path == default) {
            Some((_, profile)) => Profile {
                name: profile.name.clone(),
                dir: profile.dir.clone(),
            },
            None => {
                let dir = resolve(root, default, !Path::new(default).is_absolute());
                let name = dir
                    .file_name()
                    .map(|name| name.to_string_lossy().into_owned())
                    .unwrap_or_default();
                Profile { name, dir }
            }
        };
        if !ordered_dirs.contains(&profile.dir) {
            ordered_dirs.push(profile.dir.clone());
            ordered.push(profile);
        }
    }
    let legacy_first = listed
        .iter()
        .position(|(_, profile)| Some(&profile.dir) == legacy_default.as_ref());
    if let Some(index) = legacy_first {
        let entry = listed.remove(index);
        listed.insert(0, entry);
    }
    for (_, profile) in listed {
        if !ordered_dirs.contains(&profile.dir) {
            ordered_dirs.push(profile.dir.clone());
            ordered.push(profile);
        }
    }
    ordered
}

/// `profiles.ini` writes paths with `/` on every platform.
fn resolve(root: &Path, path: &str, relative: bool) -> PathBuf {
    if relative {
        path.split('/')
            .filter(|part| !part.is_empty())
            .fold(root.to_path_buf(), |dir, part| dir.join(part))
    } else {
        PathBuf::from(path)
    }
}

struct Section {
    name: String,
    entries: Vec<(String, String)>,
}

impl Section {
    fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, value)| value.as_str())
    }
}

/// A plain INI reader: `[section]`, `key=value`, `;` and `#` comments.
fn parse_ini(text: &str) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            sections.push(Section {
                name: name.trim().to_string(),
                entries: Vec::new(),
            });
        } else if let (Some(section), Some((key, value))) =
            (sections.last_mut(), line.split_once('='))
        {
            section
                .entries
                .push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    sections
}

#[cfg(all(test, unix))]
mod tests {
    use super::super::fixtures::{self, FirefoxCookie};
    use super::super::{discover, pick, searched_summary, Jar};
    use super::*;
    use std::ffi::OsString;
    use std::fs;

    const NOW: i64 = 1_750_000_000;

    fn env(home: &Path, platform: Platform) -> Env {
        Env {
            home: home.to_path_buf(),
            xdg_config_home: None,
            appdata: None,
            platform,
            path_var: Some(OsString::new()),
            now_unix: NOW,
        }
    }

    const INI: &str = "\
[Install4F96D1932A9F858E]
Default=abcd.default-release
Locked=1

[Profile1]
Name=default
IsRelative=1
Path=wxyz.default
Default=1

[Profile0]
Name=default-release
IsRelative=1
Path=abcd.default-release

[Profile2]
Name=work
IsRelative=0
Path=ABSOLUTE

[General]
StartWithLastProfile=1
Version=2
";

    fn session(value: &str, last_accessed: i64) -> FirefoxCookie {
        FirefoxCookie::new(".claude.ai", "sessionKey", value).last_accessed(last_accessed)
    }

    #[test]
    fn install_default_wins_then_default_1_then_the_rest() {
        let root = Path::new("/r");
        let ini = INI.replace("ABSOLUTE", "/elsewhere/work");
        let found = profiles(&ini, root);
        let expected = [
            ("default-release", "/r/abcd.default-release"),
            ("default", "/r/wxyz.default"),
            ("work", "/elsewhere/work"),
        ];
        let found: Vec<(&str, &Path)> = found
            .iter()
            .map(|p| (p.name.as_str(), p.dir.as_path()))
            .collect();
        let expected: Vec<(&str, &Path)> =
            expected.iter().map(|(n, d)| (*n, Path::new(*d))).collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn without_an_install_section_default_1_comes_first() {
        let ini = "[Profile0]\nName=a\nIsRelative=1\nPath=Profiles/a\n\n\
                   [Profile1]\nName=b\nIsRelative=1\nPath=Profiles/b\nDefault=1\n";
        let names: Vec<String> = profiles(ini, Path::new("/r"))
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["b", "a"]);
        assert_eq!(
            profiles(ini, Path::new("/r"))[0].dir,
            Path::new("/r/Profiles/b")
        );
    }

    #[test]
    fn rows_only_in_the_wal_file_are_found_and_every_listed_profile_is_read() {
        let home = tempfile::tempdir().unwrap();
        let root = home.path().join(".mozilla/firefox");
        let elsewhere = home.path().join("elsewhere/work");
        fs::create_dir_all(&root).unwrap();
        fs::write(
            root.join("profiles.ini"),
            INI.replace("ABSOLUTE", &elsewhere.to_string_lossy()),
        )
        .unwrap();
        let release_db = root.join("abcd.default-release/cookies.sqlite");
        let _release = fixtures::write_firefox_db(
            &release_db,
            16,
            &[FirefoxCookie::new(".claude.ai", "lastActiveOrg", "org-1").last_accessed(90)],
            &[session("sk-ant-sid01-wal", 100)],
        );
        // The test is only meaningful if the login really is in the WAL alone.
        let main_only = tempfile::tempdir().unwrap();
        fs::copy(&release_db, main_only.path().join("c.sqlite")).unwrap();
        let count: i64 = Connection::open(main_only.path().join("c.sqlite"))
            .unwrap()
            .query_row("SELECT count(*) FROM moz_cookies", [], |row| row.get(0))
            .unwrap();
        assert_eq!(count, 1);
        let _work = fixtures::write_firefox_db(
            &elsewhere.join("cookies.sqlite"),
            16,
            &[session("sk-ant-sid01-work", 50)],
            &[],
        );

        let d = discover(&env(home.path(), Platform::Linux));
        let found: Vec<(String, &str, Option<&str>)> = d
            .jars
            .iter()
            .map(|jar| {
                (
                    jar.label(),
                    jar.session_key().unwrap(),
                    jar.last_active_org(),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                (
                    "firefox:default-release".to_string(),
                    "sk-ant-sid01-wal",
                    Some("org-1")
                ),
                ("firefox:work".to_string(), "sk-ant-sid01-work", None),
            ]
        );
        assert_eq!(d.jars[0].last_used_unix, 100);
        let probed: Vec<(&str, &Outcome)> = d
            .probes
            .iter()
            .map(|p| (p.profile.as_str(), &p.outcome))
            .collect();
        assert_eq!(
            probed,
            [
                ("default-release", &Outcome::Usable { cookies: 2 }),
                ("default", &Outcome::NoCookieDb),
                ("work", &Outcome::Usable { cookies: 1 }),
            ]
        );
        assert_eq!(
            pick(&d, Some("firefox:work")).map(Jar::label).as_deref(),
            Some("firefox:work")
        );
        assert_eq!(
            pick(&d, Some("FIREFOX")).unwrap().profile,
            "default-release"
        );
        assert_eq!(searched_summary(&d), "Firefox (2 profiles)");
    }

    #[test]
    fn expiry_is_milliseconds_from_user_version_16_and_seconds_before() {
        for user_version in [15, 16] {
            let home = tempfile::tempdir().unwrap();
            let root = home.path().join(".mozilla/firefox");
            fs::create_dir_all(&root).unwrap();
            fs::write(
                root.join("profiles.ini"),
                "[Profile0]\nName=p\nIsRelative=1\nPath=p\nDefault=1\n",
            )
            .unwrap();
            let _db = fixtures::write_firefox_db(
                &root.join("p/cookies.sqlite"),
                user_version,
                &[
                    session("sk-live", 10).expires(NOW + 3600),
                    FirefoxCookie::new("claude.ai", "old", "x").expires(NOW - 1),
                ],
                &[],
            );
            let d = discover(&env(home.path(), Platform::Linux));
            let jar = &d.jars[0];
            assert_eq!(jar.cookies.len(), 1, "user_version {user_version}");
            assert_eq!(jar.cookies[0].expires_unix, Some(NOW + 3600));
        }
    }

    #[test]
    fn other_domains_and_container_cookies_are_left_out() {
        let home = tempfile::tempdir().unwrap();
        let root = home.path().join("snap/firefox/common/.mozilla/firefox");
        fs::create_dir_all(&root).unwrap();
        fs::write(root.join("profiles.ini"), "[Profile0]\nName=snap\nPath=s\n").unwrap();
        let _db = fixtures::write_firefox_db(
            &root.join("s/cookies.sqlite"),
            16,
            &[
                session("sk-main", 10),
                session("sk-container", 20).in_container("^userContextId=2"),
                FirefoxCookie::new(".anthropic.com", "sessionKey", "a"),
                FirefoxCookie::new("notclaude.ai", "sessionKey", "b"),
                FirefoxCookie::new("claude.ai.evil.com", "sessionKey", "c"),
            ],
            &[],
        );
        let d = discover(&env(home.path(), Platform::Linux));
        assert_eq!(d.jars.len(), 1);
        assert_eq!(d.jars[0].label(), "firefox:snap");
        assert_eq!(d.jars[0].cookie_header(), "sessionKey=sk-main");
        assert_eq!(d.jars[0].cookies.len(), 1);
    }

    #[test]
    fn flatpak_xdg_macos_and_windows_roots_are_searched() {
        let ini = "[Profile0]\nName=p\nIsRelative=1\nPath=Profiles/p\nDefault=1\n";
        let cases = [
            (
                Platform::Linux,
                ".var/app/org.mozilla.firefox/.mozilla/firefox",
            ),
            (Platform::Linux, ".config/mozilla/firefox"),
            (Platform::MacOs, "Library/Application Support/Firefox"),
            (Platform::Windows, "AppData/Roaming/Mozilla/Firefox"),
        ];
        for (platform, root) in cases {
            let home = tempfile::tempdir().unwrap();
            let root = home.path().join(root);
            fs::create_dir_all(&root).unwrap();
            fs::write(root.join("profiles.ini"), ini).unwrap();
            let _db = fixtures::write_firefox_db(
                &root.join("Profiles/p/cookies.sqlite"),
                16,
                &[session("sk", 1)],
                &[],
            );
            let env = Env {
                appdata: Some(home.path().join("AppData/Roaming")),
                ..env(home.path(), platform)
            };
            let d = discover(&env);
            assert_eq!(d.jars.len(), 1, "{platform:?} {}", root.display());
            assert_eq!(d.jars[0].db_path, root.join("Profiles/p/cookies.sqlite"));
        }
    }

    #[test]
    fn a_root_without_profiles_ini_is_noted() {
        let home = tempfile::tempdir().unwrap();
        let root = home.path().join(".mozilla/firefox");
        fs::create_dir_all(&root).unwrap();
        let d = discover(&env(home.path(), Platform::Linux));
        assert_eq!(d.probes.len(), 1);
        assert_eq!(d.probes[0].path, root.join("profiles.ini"));
        assert_eq!(d.probes[0].outcome, Outcome::NoCookieDb);
        assert_eq!(searched_summary(&d), "no browser profiles");
    }
}
