//! Issue 3: the session comes from the user's browser profiles, end to end.

use crate::common::browsers::*;
use crate::common::*;
use std::path::{Path, PathBuf};

const KEY: &str = "sk-ant-sid01-FROMCHROME-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A test env with no explicit key, so the browsers are the only source, and a private
/// TMPDIR to prove the temporary copies of cookie DBs are removed.
fn browser_env(server: &FakeServer) -> (TestEnv, PathBuf) {
    let mut env = TestEnv::with_server(server);
    env.remove("QUOTALINE_SESSION_KEY");
    let tmp = env.home.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    env.set("TMPDIR", tmp.to_str().unwrap());
    (env, tmp)
}

fn chrome_db(home: &Path, profile: &str) -> PathBuf {
    home.join(".config/google-chrome")
        .join(profile)
        .join("Cookies")
}

fn claude_cookies(key: &str, stored: Stored, last_access: i64) -> Vec<ChromiumCookie> {
    vec![
        ChromiumCookie::new(".claude.ai", "sessionKey", key, stored.clone())
            .last_access(last_access),
        ChromiumCookie::new("claude.ai", "lastActiveOrg", ORG_IDS[1], stored.clone())
            .last_access(last_access),
        ChromiumCookie::new(".claude.ai", "cf_clearance", "cf-token", stored.clone()),
        ChromiumCookie::new(".claude.ai", "old", "gone", stored.clone()).expires(now() - 3600),
        ChromiumCookie::new(
            ".anthropic.com",
            "sessionKey",
            "WRONG-DOMAIN",
            stored.clone(),
        ),
        ChromiumCookie::new("claude.ai.evil.com", "sessionKey", "EVIL", stored.clone()),
        ChromiumCookie::new("notclaude.ai", "sessionKey", "NOT", stored),
    ]
}

fn sent_cookie(server: &FakeServer) -> String {
    server.requests()[0].header("cookie").unwrap().to_string()
}

#[test]
fn refresh_sends_the_decrypted_chrome_jar_and_nothing_else() {
    let server = claude_ai("usage_flat_windows.json");
    let (env, tmp) = browser_env(&server);
    write_chromium_db(
        &chrome_db(env.home.path(), "Default"),
        24,
        &claude_cookies(KEY, Stored::v10_linux(), now()),
    );
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 0, "{err}");
    let cookie = sent_cookie(&server);
    assert!(cookie.contains(&format!("sessionKey={KEY}")), "{cookie}");
    assert!(
        cookie.contains(&format!("lastActiveOrg={}", ORG_IDS[1])),
        "{cookie}"
    );
    assert!(cookie.contains("cf_clearance=cf-token"), "{cookie}");
    for never in ["WRONG-DOMAIN", "EVIL", "NOT", "gone"] {
        assert!(!cookie.contains(never), "{never} sent: {cookie}");
    }
    assert_eq!(read_cache(&env)["snapshot"]["active_org"], ORG_IDS[1]);
    let cache = std::fs::read_to_string(env.cache_dir.join("cache.json")).unwrap();
    assert!(
        !cache.contains("FROMCHROME"),
        "the cache holds the session key"
    );
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "a DB copy was left behind"
    );
}

#[test]
fn keyring_v11_newest_jar_wins_and_pinning_picks_another() {
    let server = claude_ai("usage_flat_windows.json");
    let (mut env, _) = browser_env(&server);
    let bin = env.home.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    write_fake_secret_tool(
        &bin,
        &[(
            "chrome_libsecret_os_crypt_password_v2",
            "brave",
            "brave-secret",
        )],
    );
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    env.set("PATH", &path);
    let brave = env
        .home
        .path()
        .join(".config/BraveSoftware/Brave-Browser/Profile 2/Cookies");
    write_chromium_db(
        &brave,
        24,
        &claude_cookies(
            "sk-ant-sid01-BRAVE",
            Stored::v11_linux("brave-secret"),
            now() - 60,
        ),
    );
    let firefox = env.home.path().join(".mozilla/firefox");
    std::fs::create_dir_all(firefox.join("abc.default-release")).unwrap();
    std::fs::write(
        firefox.join("profiles.ini"),
        "[Profile0]\nName=default-release\nIsRelative=1\nPath=abc.default-release\nDefault=1\n",
    )
    .unwrap();
    // Rows only in the WAL: a fresh login the browser has not checkpointed yet.
    let _open = write_firefox_db(
        &firefox.join("abc.default-release/cookies.sqlite"),
        16,
        &[],
        &[
            FirefoxCookie::new(".claude.ai", "sessionKey", "sk-ant-sid01-FIREFOX")
                .expires(now() + 86_400)
                .last_accessed(now() - 3600),
        ],
    );
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    assert!(sent_cookie(&server).contains("sessionKey=sk-ant-sid01-BRAVE"));
    // One search of the browsers a refresh: the keyring is asked once, not once for the
    // session used and again for the other profiles' sessions.
    let asked = std::fs::read_to_string(bin.join("secret-tool.log")).unwrap();
    assert_eq!(asked.lines().count(), 1, "{asked}");

    let server = claude_ai("usage_flat_windows.json");
    env.set("QUOTALINE_CLAUDE_AI_URL", &server.url())
        .set("QUOTALINE_BROWSER", "firefox");
    assert_eq!(ql(&env, &["refresh", "--force"]).0, 0);
    assert_eq!(sent_cookie(&server), "sessionKey=sk-ant-sid01-FIREFOX");
}

#[test]
fn a_locked_cookie_db_is_still_read() {
    let server = claude_ai("usage_flat_windows.json");
    let (env, _) = browser_env(&server);
    let db = chrome_db(env.home.path(), "Default");
    write_chromium_db(&db, 23, &claude_cookies(KEY, Stored::v10_linux(), now()));
    let _held = lock_exclusively(&db);
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 0, "{err}");
    assert!(sent_cookie(&server).contains(KEY));
}

#[test]
fn no_session_anywhere_names_what_was_searched() {
    let server = claude_ai("usage_flat_windows.json");
    let (env, _) = browser_env(&server);
    write_chromium_db(
        &chrome_db(env.home.path(), "Default"),
        24,
        &[ChromiumCookie::new(
            ".example.com",
            "a",
            "b",
            Stored::v10_linux(),
        )],
    );
    write_chromium_db(&chrome_db(env.home.path(), "Profile 1"), 24, &[]);
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 1);
    // The source chain then tries Claude Code's login, and says that failed too, in two
    // short lines; where it looked is `doctor`'s.
    assert_eq!(
        err,
        "quotaline: no claude.ai session in Chrome (2 profiles), no Claude Code login\n\
         log in to claude.ai in a browser, or set QUOTALINE_SESSION_KEY; run `quotaline doctor`\n"
    );
    assert_eq!(read_cache(&env)["state"]["error"]["kind"], "no_credentials");
    assert!(server.requests().is_empty());
    let (code, out, _) = ql(&env, &["doctor"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("next refresh uses: nothing (claude.ai: no claude.ai session in Chrome (2 profiles); oauth: no Claude Code login)"),
        "{out}"
    );
}

#[test]
fn undecryptable_cookies_name_browser_profile_and_reason() {
    let server = claude_ai("usage_flat_windows.json");
    let (env, _) = browser_env(&server);
    write_chromium_db(
        &chrome_db(env.home.path(), "Default"),
        24,
        &claude_cookies(KEY, Stored::v11_linux("keyring-only"), now()),
    );
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with(
            "quotaline: no claude.ai session in Chrome (1 profile) (some could not be read)"
        ),
        "{err}"
    );
    let (_, doctor, _) = ql(&env, &["doctor"]);
    assert!(
        doctor.contains("cannot decrypt: no keyring secret for Chrome"),
        "{doctor}"
    );
}

#[test]
fn doctor_reports_every_place_with_fingerprints_only() {
    let server = claude_ai("usage_flat_windows.json");
    let (env, _) = browser_env(&server);
    write_chromium_db(
        &chrome_db(env.home.path(), "Default"),
        24,
        &claude_cookies(KEY, Stored::v10_linux(), now()),
    );
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    let (code, out, _) = ql(&env, &["doctor"]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("FROMCHROME"), "secret printed:\n{out}");
    for needle in [
        "QUOTALINE_SESSION_KEY  not set",
        "browsers searched (Chrome (1 profile))",
        "Chrome Default (",
        "usable (3 claude.ai cookies)",
        &format!(
            "chrome:Default sessionKey sk-ant-sid01-…({} chars)",
            KEY.len()
        ),
        "out of reach",
        "next refresh uses: claude.ai with Chrome (Default)",
        "last fetch: ok ",
        "backoff: none",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
}

/// Issue 22: nothing anywhere. Every command that repeats the error (`refresh`, `json`,
/// `check`, `status`) says it in two short lines ending with the way to the details, and
/// `doctor` says where it looked: every browser's folders and Claude Code's login.
#[test]
fn no_session_anywhere_is_two_short_lines_and_doctor_says_where_it_looked() {
    let mut env = TestEnv::new();
    env.remove("QUOTALINE_SESSION_KEY");
    let what = "no claude.ai session: no browser profile found, no Claude Code login";
    let fix = "log in to claude.ai in a browser, or set QUOTALINE_SESSION_KEY; run `quotaline \
               doctor`";
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!((code, err), (1, format!("quotaline: {what}\n{fix}\n")));
    let (code, _, err) = ql(&env, &["json"]);
    assert_eq!(
        (code, err),
        (1, format!("quotaline: no data: {what}\n{fix}\n"))
    );
    let (code, _, err) = ql(&env, &["check"]);
    assert_eq!(
        (code, err),
        (2, format!("quotaline: cannot check: {what}\n{fix}\n"))
    );
    let (_, status, _) = ql(&env, &["status"]);
    assert!(
        status.contains(&format!(
            "last error: {what} (no_credentials, 0s ago)\n  fix: {fix}\n"
        )),
        "{status}"
    );
    let (code, doctor, _) = ql(&env, &["doctor"]);
    assert_eq!(code, 1);
    for place in [
        "looked in ~/.config/google-chrome",
        "~/.config/chromium",
        "~/.config/BraveSoftware/Brave-Browser",
        "~/snap/chromium/common/chromium",
        "~/.mozilla/firefox",
        "no Claude Code login (looked in CLAUDE_CODE_OAUTH_TOKEN, ",
        "/.claude/.credentials.json",
    ] {
        assert!(doctor.contains(place), "{place} not in: {doctor}");
    }
}

/// Issue 22: with a session key set that the server refuses, the error is about that key,
/// not also about Claude Code's login, which nobody asked for.
#[test]
fn a_refused_session_key_is_the_whole_error() {
    let server = claude_ai("usage_flat_windows.json");
    server.route("/api/account", Reply::expired());
    let env = TestEnv::with_server(&server);
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "quotaline: claude.ai session expired or invalid (HTTP 401)\n\
         log in to claude.ai again (Claude Code's login: run `claude` once)\n"
    );
}
