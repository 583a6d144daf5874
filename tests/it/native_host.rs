//! Issue 8: `quotaline native-host` (the native messaging framing, the merge into the cache),
//! `quotaline init native-host`, and `refresh` leaving the fetching to a fresh browser.

use crate::common::*;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::process::Stdio;
use std::time::Duration;

const ORG2: &str = ORG_IDS[1];
const EXTENSION_ID: &str = "jhacddcpicflnojofenlnbbbcdifeaap";

fn frame(bytes: &[u8]) -> Vec<u8> {
    let mut out = (bytes.len() as u32).to_ne_bytes().to_vec();
    out.extend_from_slice(bytes);
    out
}

/// Splits the host's stdout into its replies.
fn replies(mut out: &[u8]) -> Vec<Value> {
    let mut all = vec![];
    while out.len() >= 4 {
        let n = u32::from_ne_bytes(out[..4].try_into().unwrap()) as usize;
        all.push(serde_json::from_slice(&out[4..4 + n]).unwrap());
        out = &out[4 + n..];
    }
    assert!(out.is_empty(), "trailing bytes on stdout: {out:?}");
    all
}

fn answer(path: &str, status: u16, body: &str) -> Value {
    json!({"path": path, "status": status, "body": body, "headers": {}})
}

/// What the extension sends after a full poll: every answer, verbatim, `secs_ago` old.
pub(crate) fn reading(usage: &str, secs_ago: i64) -> Value {
    let mut responses = vec![answer("/api/account", 200, &payload("account.json"))];
    for org in ORG_IDS {
        let base = format!("/api/organizations/{org}");
        responses.push(answer(&format!("{base}/usage"), 200, &shifted(usage)));
        responses.push(answer(
            &format!("{base}/overage_spend_limit"),
            200,
            &payload("overage_spend_limit.json"),
        ));
        responses.push(answer(&format!("{base}/subscription_details"), 404, "{}"));
    }
    let at = chrono::Utc::now() - chrono::Duration::seconds(secs_ago);
    json!({
        "type": "usage",
        "fetched_at": at.to_rfc3339(),
        "last_active_org": ORG2,
        "responses": responses,
    })
}

/// Runs the host on `input`; returns (exit code, replies).
fn host(env: &TestEnv, input: &[u8]) -> (i32, Vec<Value>) {
    let mut cmd = env.command(&BIN);
    cmd.args([
        "native-host",
        &format!("chrome-extension://{EXTENSION_ID}/"),
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    (out.status.code().unwrap_or(-1), replies(&out.stdout))
}

pub(crate) fn send(env: &TestEnv, message: &Value) -> Value {
    let (code, mut r) = host(env, &frame(message.to_string().as_bytes()));
    assert_eq!((code, r.len()), (0, 1), "{r:?}");
    r.remove(0)
}

fn json_of(env: &TestEnv) -> Value {
    let (code, out, err) = ql(env, &["json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn a_reading_is_stored_as_source_extension_and_the_reply_carries_the_line() {
    let server = FakeServer::start();
    let env = TestEnv::with_server(&server);
    let reply = send(&env, &reading("usage_limits_array.json", 0));
    assert_eq!(
        reply,
        json!({"ok": true, "stored": true, "org": "Example Team", "percent": 81.0,
               "severity": "warn", "line": "5h 23% · 7d 64% · opus 81% · sonnet 9% · ↻42m"})
    );
    let v = json_of(&env);
    assert_eq!(v["source"], "extension");
    assert_eq!(v["active_org"], ORG2, "from last_active_org");
    assert_eq!(v["stale"], false);
    for org in v["orgs"].as_array().unwrap() {
        assert_eq!(org["windows"]["five_hour"]["utilization"], 23.0);
        assert_eq!(org["windows"]["seven_day_opus"]["utilization"], 81.0);
        assert_eq!(org["extra_usage"]["used"], 12.34);
        assert_eq!(org["subscription"], Value::Null, "404 is none");
        for part in ["usage", "extra_usage", "subscription"] {
            assert_eq!(org["sources"][part]["source"], "extension", "{part}");
        }
    }
    let plans: Vec<&Value> = v["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| &o["plan"])
        .collect();
    assert_eq!(plans, [&json!("Max 20x"), &json!("Pro")]);
    assert!(
        server.requests().is_empty(),
        "quotaline itself asked nothing"
    );
    let (_, status, _) = ql(&env, &["status"]);
    assert!(
        status.contains("browser extension: reported 0s ago ("),
        "{status}"
    );
}

#[test]
fn partial_reads_and_several_messages_in_one_run() {
    let env = TestEnv::new();
    let good = frame(reading("usage_flat_windows.json", 0).to_string().as_bytes());
    let bad = frame(b"{nope");
    let mut child = env
        .command(&BIN)
        .args(["native-host", "extra", "--args=ignored"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // The first message in pieces: two bytes of the length, the rest, the body in thirds.
    let third = (good.len() - 4) / 3;
    for piece in [
        &good[..2],
        &good[2..4],
        &good[4..4 + third],
        &good[4 + third..4 + 2 * third],
        &good[4 + 2 * third..],
    ] {
        stdin.write_all(piece).unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(Duration::from_millis(50));
    }
    stdin.write_all(&bad).unwrap();
    stdin.write_all(&good).unwrap();
    drop(stdin);
    let mut out = vec![];
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0), "EOF ends cleanly");
    let r = replies(&out);
    assert_eq!(r.len(), 3);
    assert_eq!(
        (r[0]["ok"].clone(), r[0]["stored"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(
        r[1],
        json!({"ok": false, "error": "invalid message: not JSON: key must be a string at line 1 column 2"})
    );
    assert_eq!(r[2]["line"], "5h 37% · 7d 58% · opus 71% · ↻1h12m");
}

#[test]
fn a_length_over_the_cap_is_refused_skipped_and_changes_nothing() {
    let env = TestEnv::new();
    let len: u32 = (1 << 20) + 1;
    let mut input = len.to_ne_bytes().to_vec();
    input.extend(std::iter::repeat_n(b'{', len as usize));
    input.extend(frame(b"[]"));
    let (code, r) = host(&env, &input);
    assert_eq!(code, 0);
    assert_eq!(
        r,
        [
            json!({"ok": false, "error": "message of 1048577 bytes refused: the limit is 1048576 bytes"}),
            json!({"ok": false, "error": "invalid message: not a JSON object"}),
        ]
    );
    assert!(!env.cache_dir.join("cache.json").exists());
}

#[test]
fn malformed_messages_get_an_error_each_and_change_nothing() {
    let env = TestEnv::new();
    let good = reading("usage_flat_windows.json", 0);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut m = good.clone();
        f(&mut m);
        frame(m.to_string().as_bytes())
    };
    let mut input = vec![];
    input.extend(with(&|m| m["type"] = json!("ping")));
    input.extend(with(&|m| m["fetched_at"] = json!("yesterday")));
    input.extend(with(&|m| {
        m["responses"][0]["path"] = json!("https://evil.example/")
    }));
    input.extend(with(&|m| m["responses"][0]["error"] = json!("both")));
    input.extend(with(&|m| m["last_active_org"] = json!("../../etc")));
    let (code, r) = host(&env, &input);
    assert_eq!(code, 0);
    let errors: Vec<&str> = r.iter().map(|v| v["error"].as_str().unwrap()).collect();
    assert_eq!(
        errors,
        [
            "invalid message: unknown type \"ping\" (expected \"usage\")",
            "invalid message: fetched_at \"yesterday\" is not an RFC 3339 time",
            "invalid message: path \"https://evil.example/\" is not a claude.ai API path",
            "invalid message: /api/account needs exactly one of status and error",
            "invalid message: last_active_org is not an org uuid",
        ][..]
    );
    assert!(!env.cache_dir.join("cache.json").exists());
}

#[test]
fn firefox_starts_the_host_with_the_manifest_path_and_the_addon_id() {
    let env = TestEnv::new();
    let mut cmd = env.command(&BIN);
    cmd.args([
        "/home/u/.mozilla/native-messaging-hosts/com.quotaline.bridge.json",
        "bridge@quotaline.dev",
    ]);
    let out = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(&frame(b"{}"))?;
            c.wait_with_output()
        })
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        replies(&out.stdout),
        [json!({"ok": false, "error": "invalid message: missing field `type`"})]
    );
}

#[test]
fn input_ending_inside_a_message_is_an_error_and_exit_1() {
    let env = TestEnv::new();
    let mut input = 100u32.to_ne_bytes().to_vec();
    input.extend_from_slice(b"{\"type\"");
    let (code, r) = host(&env, &input);
    assert_eq!(code, 1);
    assert_eq!(
        r,
        [json!({"ok": false, "error": "input ended inside a message (7 of 100 bytes)"})]
    );
    let (code, r) = host(&env, &[1, 0]);
    assert_eq!(code, 1);
    assert_eq!(
        r[0]["error"],
        "input ended inside a length prefix (2 of 4 bytes)"
    );
}

#[test]
fn a_logged_out_browser_is_reported_and_keeps_the_last_numbers() {
    let env = TestEnv::new();
    send(&env, &reading("usage_flat_windows.json", 0));
    let logged_out = json!({
        "type": "usage",
        "fetched_at": chrono::Utc::now().to_rfc3339(),
        "responses": [answer("/api/account", 401, r#"{"type":"error"}"#)],
    });
    assert_eq!(
        send(&env, &logged_out),
        json!({"ok": false, "error": "claude.ai (in the browser) session expired or invalid (HTTP 401)"})
    );
    let v = json_of(&env);
    assert_eq!(v["orgs"][0]["windows"]["five_hour"]["utilization"], 37.0);
    assert_eq!(
        v["error"],
        Value::Null,
        "the browser's failure is not quotaline's"
    );
    let (_, status, _) = ql(&env, &["status"]);
    assert!(
        status.contains("without numbers: claude.ai (in the browser) session expired"),
        "{status}"
    );
}

#[test]
fn an_older_reading_never_replaces_a_newer_one() {
    let env = TestEnv::new();
    send(&env, &reading("usage_flat_windows.json", 0));
    let reply = send(&env, &reading("usage_limits_array.json", 30));
    assert_eq!(
        reply,
        json!({"ok": true, "stored": false, "note": "the cache already holds a newer reading"})
    );
    assert_eq!(
        json_of(&env)["orgs"][0]["windows"]["five_hour"]["utilization"],
        37.0
    );
}

#[test]
fn refresh_leaves_a_reading_younger_than_two_minutes_to_the_browser() {
    let server = claude_ai("usage_limits_array.json");
    let env = TestEnv::with_server(&server);
    // Past the 60 s TTL, inside the two minutes: the browser is still polling.
    send(&env, &reading("usage_flat_windows.json", 70));
    let (code, _, err) = ql(&env, &["refresh"]);
    // Said, not silent.
    assert_eq!(
        (code, err.as_str()),
        (
            0,
            "quotaline: fresh: the browser extension reported 1m ago; --force fetches now\n"
        )
    );
    let v = json_of(&env);
    assert!(server.requests().is_empty(), "{:?}", server.requests());
    assert_eq!(v["source"], "extension");
    assert_eq!(v["stale"], true, "70 s old is past the TTL all the same");
}

#[test]
fn refresh_fetches_itself_after_two_missed_minutes() {
    let server = claude_ai("usage_limits_array.json");
    let env = TestEnv::with_server(&server);
    send(&env, &reading("usage_flat_windows.json", 121));
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!((code, err.as_str()), (0, ""));
    // The browser read the org list two minutes ago: quotaline asks for the numbers only.
    assert_eq!(server.count("/api/account"), 0);
    for org in ORG_IDS {
        assert_eq!(server.count(&usage_path(org)), 1);
    }
    let v = json_of(&env);
    assert_eq!(v["source"], "claude.ai");
    assert_eq!(v["orgs"][0]["sources"]["usage"]["source"], "claude.ai");
    let (_, status, _) = ql(&env, &["status"]);
    assert!(
        status.contains("silent for over 2 min, so quotaline fetches itself"),
        "{status}"
    );
}

#[test]
fn refresh_force_fetches_even_while_the_browser_reports() {
    let server = claude_ai("usage_limits_array.json");
    let env = TestEnv::with_server(&server);
    send(&env, &reading("usage_flat_windows.json", 0));
    let (code, _, err) = ql(&env, &["refresh", "--force"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(server.count("/api/account"), 1);
}

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn init_native_host_writes_the_manifest_for_chromium_and_firefox() {
    let env = TestEnv::new();
    let home = env.home.path();
    let exe = std::fs::canonicalize(&*BIN).unwrap();
    let (code, out, err) = ql(&env, &["init", "native-host", "--browser", "chromium"]);
    assert_eq!((code, err.as_str()), (0, ""));
    let path = home.join(".config/chromium/NativeMessagingHosts/com.quotaline.bridge.json");
    assert_eq!(
        read_json(&path),
        json!({
            "name": "com.quotaline.bridge",
            "description": "quotaline: stores the claude.ai usage the quotaline extension read",
            "path": exe,
            "type": "stdio",
            "allowed_origins": [format!("chrome-extension://{EXTENSION_ID}/")],
        })
    );
    assert!(
        out.starts_with(&format!("chromium: wrote {}\n", path.display())),
        "{out}"
    );

    let (code, _, _) = ql(&env, &["init", "native-host", "--browser", "firefox"]);
    assert_eq!(code, 0);
    let ff = read_json(&home.join(".mozilla/native-messaging-hosts/com.quotaline.bridge.json"));
    assert_eq!(ff["allowed_extensions"], json!(["bridge@quotaline.dev"]));
    assert_eq!(ff["allowed_origins"], Value::Null);
}

#[test]
fn init_native_host_without_browser_covers_the_installed_ones_only() {
    let env = TestEnv::new();
    let (code, _, err) = ql(&env, &["init", "native-host"]);
    assert_eq!(code, 2);
    assert!(err.contains("no browser profile found; name one with --browser (chrome, chromium, brave, edge, vivaldi, firefox)"), "{err}");
    std::fs::create_dir_all(env.home.path().join(".config/BraveSoftware/Brave-Browser")).unwrap();
    let (code, out, _) = ql(&env, &["init", "native-host"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("brave: wrote "), "{out}");
    assert_eq!(out.matches(": wrote ").count(), 1, "{out}");
    let (code, _, err) = ql(&env, &["init", "native-host", "--browser", "netscape"]);
    assert_eq!(code, 64);
    assert!(
        err.starts_with("quotaline: unknown browser `netscape`\n"),
        "{err}"
    );
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = vec![];
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|&c| c != b'=') {
        acc = (acc << 6) | ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[test]
fn the_shipped_extension_asks_claude_ai_only_and_its_key_gives_the_id_the_host_allows() {
    use sha2::Digest;
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/integrations/browser-extension"
    );
    let manifest = read_json(std::path::Path::new(&format!("{dir}/manifest.json")));
    assert_eq!(manifest["host_permissions"], json!(["https://claude.ai/*"]));
    assert_eq!(
        manifest["permissions"],
        json!([
            "alarms",
            "nativeMessaging",
            "storage",
            "cookies",
            "declarativeNetRequestWithHostAccess"
        ])
    );
    assert_eq!(manifest.get("content_scripts"), None);
    let der = base64_decode(manifest["key"].as_str().unwrap());
    let digest = sha2::Sha256::digest(&der);
    let id: String = digest[..16]
        .iter()
        .flat_map(|b| [b >> 4, b & 15])
        .map(|n| (b'a' + n) as char)
        .collect();
    assert_eq!(id, EXTENSION_ID);
    assert_eq!(
        manifest["browser_specific_settings"]["gecko"]["id"],
        "bridge@quotaline.dev"
    );
    let js = std::fs::read_to_string(format!("{dir}/background.js")).unwrap();
    assert!(js.contains("const BASE = \"https://claude.ai\";\n"));
    assert!(js.contains("const NATIVE_HOST = \"com.quotaline.bridge\";\n"));
}

#[test]
fn extension_readings_join_the_history() {
    let server = FakeServer::start();
    let env = TestEnv::with_server(&server);
    send(&env, &reading("usage_limits_array.json", 0));
    let (code, out, err) = ql(&env, &["history", "--json", "--org", ORG2]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let five_hour: Vec<&Value> = rows.iter().filter(|r| r["window"] == "five_hour").collect();
    assert_eq!(five_hour.len(), 1, "{out}");
    assert_eq!(five_hour[0]["utilization"], 23.0);
    assert_eq!(five_hour[0]["source"], "extension");
}

/// The browser starts the host with its own environment: the popup's line follows
/// config.toml, like every other shared line, never that environment.
#[test]
fn the_popup_line_follows_config_toml_not_the_browsers_environment() {
    let mut env = TestEnv::new();
    env.config("format = \"{5h} / {7d}\"\n[target.plain]\ncrit = 80\n");
    env.set("QUOTALINE_FORMAT", "from the browser's environment");
    let reply = send(&env, &reading("usage_limits_array.json", 0));
    assert_eq!(reply["line"], "23% / 64%");
    // opus at 81%: a warning by default, critical under the file's crit = 80.
    assert_eq!(reply["severity"], "critical");
}

/// Issue 22: an installed quotaline names the extension folder the package installed
/// (`<prefix>/share/quotaline/...`, `/usr/share/...` for the .deb), not a path of the source
/// tree an installed copy does not have.
#[test]
fn init_native_host_names_the_installed_extension_folder() {
    let env = TestEnv::new();
    let prefix = env.home.path().join("prefix");
    std::fs::create_dir_all(prefix.join("bin")).unwrap();
    let exe = prefix.join("bin/quotaline");
    std::fs::copy(&*BIN, &exe).unwrap();
    let folder = prefix.join("share/quotaline/integrations/browser-extension");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("manifest.json"), "{}").unwrap();
    let (code, out, err) = env.run(
        exe.to_str().unwrap(),
        &["init", "native-host", "--browser", "chrome"],
        std::time::Duration::from_secs(30),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.ends_with(&format!(
            "next: load {} in the browser (Load unpacked: doc/extension.md); it reports within \
             a minute (`quotaline status`)\n",
            folder.canonicalize().unwrap().display()
        )),
        "{out}"
    );
}
