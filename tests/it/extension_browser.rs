//! Issue 8 in the real browser: headless Chromium runs a copy of the extension against the
//! loopback fake, starts `quotaline native-host` itself, and the numbers land in the cache
//! without quotaline sending a single request.

use crate::common::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ORG2: &str = ORG_IDS[1];

/// Kills the whole browser (its process group) when the test ends, pass or fail.
struct Browser(Child);

impl Drop for Browser {
    fn drop(&mut self) {
        // TERM first so Chromium reaps its own helpers, then KILL whatever is left.
        let pgid = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-TERM", "--", &pgid]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && matches!(self.0.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &pgid])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.wait();
    }
}

/// The shipped extension with its base URL pointed at the fake and the fake's origin added
/// to its host permissions (the shipped one asks for https://claude.ai/* only).
fn extension_copy(dir: &Path, base: &str) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("integrations/browser-extension");
    std::fs::create_dir_all(dir).unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    let js = std::fs::read_to_string(dir.join("background.js")).unwrap();
    let shipped = "const BASE = \"https://claude.ai\";";
    assert!(js.contains(shipped));
    let js = js.replace(shipped, &format!("const BASE = \"{base}\";"));
    std::fs::write(dir.join("background.js"), js).unwrap();
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    manifest["host_permissions"]
        .as_array_mut()
        .unwrap()
        .push(Value::String(format!("{base}/*")));
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
}

fn chromium() -> &'static str {
    for name in ["chromium", "chromium-browser"] {
        if Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            return name;
        }
    }
    panic!("chromium is not installed: `apt-get install chromium` (scripts/test does)");
}

fn cached_source(env: &TestEnv) -> Option<String> {
    let text = std::fs::read_to_string(env.cache_dir.join("cache.json")).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v["snapshot"]["source"].as_str().map(str::to_string)
}

#[test]
fn headless_chromium_hands_the_fakes_numbers_to_quotaline_through_native_messaging() {
    let browser_bin = chromium();
    let server = claude_ai("usage_limits_array.json");
    // The browser's cookie jar learns the active org the way claude.ai sets it.
    server.route(
        "/api/account",
        Reply::json(200, &payload("account.json"))
            .header("Set-Cookie", &format!("lastActiveOrg={ORG2}; Path=/")),
    );
    // quotaline could fetch on its own here (URLs and a key are set): the test checks it
    // does not.
    let env = TestEnv::with_server(&server);
    let home = env.home.path();

    // The host manifest, exactly as a user installs it, into the profile Chromium will use.
    let (code, out, err) = ql(&env, &["init", "native-host", "--browser", "chromium"]);
    assert_eq!(code, 0, "{out}{err}");
    let profile = home.join(".config/chromium");
    assert!(profile
        .join("NativeMessagingHosts/com.quotaline.bridge.json")
        .is_file());

    let ext = home.join("extension");
    extension_copy(&ext, &server.url());
    let log = std::fs::File::create(home.join("chromium.log")).unwrap();
    // The browser gets the test's environment (own HOME, cache dir, loopback URLs), and the
    // native host it starts inherits it.
    let mut cmd = env.command(browser_bin);
    cmd.args([
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-features=DisableLoadExtensionCommandLineSwitch",
        "--enable-logging=stderr",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .arg(format!("--load-extension={}", ext.display()))
    .arg("about:blank")
    .stdout(Stdio::null())
    .stderr(log);
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let _browser = Browser(cmd.spawn().expect("start chromium"));

    // The extension polls once when it is installed; Chromium is slow to start on 2 cores.
    let deadline = Instant::now() + Duration::from_secs(40);
    while cached_source(&env).as_deref() != Some("extension") {
        if Instant::now() >= deadline {
            let log = std::fs::read_to_string(home.join("chromium.log")).unwrap_or_default();
            let tail: String = log
                .lines()
                .filter(|l| !l.contains("dbus"))
                .rev()
                .take(30)
                .collect::<Vec<_>>()
                .join("\n");
            panic!(
                "no extension reading within 90 s; requests: {:?}\nchromium log (last lines, reversed):\n{tail}",
                server.requests().iter().map(|r| r.path.clone()).collect::<Vec<_>>()
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }

    let (code, out, err) = ql(&env, &["json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["source"], "extension");
    assert_eq!(v["active_org"], ORG2, "from the lastActiveOrg cookie");
    let org = &v["orgs"][0];
    assert_eq!(org["windows"]["five_hour"]["utilization"], 23.0);
    assert_eq!(org["windows"]["seven_day_opus"]["utilization"], 81.0);
    assert_eq!(org["extra_usage"]["used"], 12.34);
    assert_eq!(org["sources"]["usage"]["source"], "extension");
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 0);
    assert!(
        err.starts_with("quotaline: fresh: ") && err.ends_with("; --force fetches now\n"),
        "{err}"
    );

    // Every request came from the browser, in the settings page's order, with the referer
    // the extension sets.
    let requests = server.requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths[..7].to_vec(), {
        let mut p = vec!["/api/account".to_string()];
        for o in ORG_IDS {
            for part in ["usage", "overage_spend_limit", "subscription_details"] {
                p.push(format!("/api/organizations/{o}/{part}"));
            }
        }
        p
    });
    for r in &requests {
        let ua = r.header("user-agent").unwrap_or("");
        assert!(ua.contains("HeadlessChrome/"), "{} from {ua:?}", r.path);
        assert_eq!(
            r.header("referer"),
            Some(format!("{}/settings/usage", server.url()).as_str())
        );
    }
    // The cookie /api/account set travels with every later request, as on claude.ai.
    assert_eq!(requests[0].header("cookie"), None);
    for r in &requests[1..] {
        let expected = format!("lastActiveOrg={ORG2}");
        assert_eq!(r.header("cookie"), Some(expected.as_str()), "{}", r.path);
    }
    let (_, status, _) = ql(&env, &["status"]);
    assert!(status.contains("browser extension: reported "), "{status}");
}
