//! Issue 17: hostile text and hostile files. A server (or anyone who can name an org the user
//! belongs to) and Claude Code's own files put terminal escapes, bidi controls, markup for
//! every target and newlines into every name quotaline shows; a FIFO, a directory or a huge
//! file sits where quotaline reads. Every human-readable output stays inert, byte for byte,
//! and every command returns and says what it found.

use crate::common::*;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

const ORG1: &str = ORG_IDS[0];
const ORG2: &str = ORG_IDS[1];

/// A terminal retitle (OSC ... BEL), a screen clear, reverse video (a code quotaline never
/// writes), a right-to-left override, command and markup syntax of every target, a newline
/// that tries to start a line of its own, a C1 CSI, DEL and invisible bidi marks.
const HOSTILE: &str = "\u{1b}]0;owned\u{7}\u{1b}[2J\u{1b}[7m\u{202e}Evil #(touch pwned) \
                       $(touch pwned) `touch pwned` %F{red}%{F#f00} <b>bold</b> | pipe\n\
                       FORGED line\r\u{9b}5m\u{7f}\u{2066}\u{200f}\u{61c}";

/// `HOSTILE`, tagged so each field can be found in an output.
fn hostile(tag: &str) -> String {
    format!("{tag} {HOSTILE}")
}

/// `hostile(tag)` as a person is shown it (`render::sanitize`): escapes marked with U+FFFD,
/// breaks turned into spaces, bidi controls gone, everything else literal.
fn shown(tag: &str) -> String {
    format!(
        "{tag} \u{fffd}]0;owned\u{fffd}\u{fffd}[2J\u{fffd}[7mEvil #(touch pwned) $(touch pwned) \
         `touch pwned` %F{{red}}%{{F#f00}} <b>bold</b> | pipe FORGED line \u{fffd}5m\u{fffd}"
    )
}

/// A model's name within the 64 characters a window's name may have (`snapshot::MAX_NAME`,
/// issue 23), as hostile as `HOSTILE`: a retitle, a right-to-left override, zsh, bash and
/// tmux syntax, markup, xbar's separator and a newline.
const HOSTILE_MODEL: &str = "\u{1b}]0;m\u{7}\u{202e}%F{r}$(x)#(x)<b>|\nEvil";

/// `HOSTILE_MODEL` as `{models}` shows it: cleaned and lowercased.
const SHOWN_MODEL: &str = "\u{fffd}]0;m\u{fffd}%f{r}$(x)#(x)<b>| evil";

/// The hostile model's window key: its display name's slug (`window::model_key`).
const MODEL_KEY: &str = "seven_day_0_m_f_r_x_x_b_evil";

/// A window key as the server may send it: not derived from a display name, so it stays the
/// server's, and only the output's cleaning stands between it and the terminal.
const HOSTILE_KEY: &str = "seven_day_\u{1b}]0;key\u{7}\u{202e}";

/// quotaline's own colour codes, the only control sequences an output may hold: SGR green,
/// yellow, red, grey and default foreground, and bash's `\x01..\x02` around them.
fn without_own_colours(text: &str) -> String {
    let mut rest = text.to_string();
    for code in ["32", "33", "31", "90", "39"] {
        rest = rest
            .replace(&format!("\x01\x1b[{code}m\x02"), "")
            .replace(&format!("\x1b[{code}m"), "");
    }
    rest
}

/// Fails unless `bytes` are UTF-8 holding no C0 control but the line breaks between lines, no
/// DEL, no C1 control and no bidirectional control, once quotaline's own colour codes are set
/// aside; and unless no line starts where a name's newline would have started one.
fn assert_inert(what: &str, bytes: &[u8]) {
    let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{what}: not UTF-8: {e}"));
    let rest = without_own_colours(text);
    for (i, c) in rest.char_indices() {
        let forbidden = (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{61c}');
        assert!(
            !forbidden,
            "{what}: {c:?} at {i} (colours set aside) in:\n{text:?}"
        );
    }
    assert!(
        !rest.lines().any(|l| l.trim_start().starts_with("FORGED")),
        "{what}: a name's newline started a line:\n{text}"
    );
}

/// Runs quotaline (stdin fed when given), fails if it runs past 10 s, and checks that stdout
/// and stderr are inert. Returns (code, stdout, stderr).
fn run_inert(env: &TestEnv, args: &[&str], stdin: Option<&[u8]>) -> (i32, String, String) {
    let (code, out, err) = env.run_raw(&BIN, args, stdin, Duration::from_secs(10));
    let what = format!("quotaline {}", args.join(" "));
    assert_ne!(code, -1, "{what} hung: {}", String::from_utf8_lossy(&err));
    assert_inert(&format!("{what} (stdout)"), &out);
    assert_inert(&format!("{what} (stderr)"), &err);
    (
        code,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

/// A fake claude.ai whose every name is hostile: org names, email, plan tier, model display
/// names, a window key, currencies, the reason extra usage is paused, the subscription's
/// status, interval and card.
fn hostile_server() -> FakeServer {
    let account = json!({
        "email_address": hostile("mail"),
        "memberships": [
            {"organization": {"uuid": ORG1, "name": hostile("org"),
                              "rate_limit_tier": hostile("tier"), "capabilities": ["chat"]}},
            {"organization": {"uuid": ORG2, "name": hostile("team"),
                              "rate_limit_tier": hostile("tier team"), "capabilities": ["chat"]}},
        ],
    });
    let mut usage: Value = serde_json::from_str(&shifted("usage_limits_array.json")).unwrap();
    let resets = usage["seven_day"]["resets_at"].clone();
    usage["limits"].as_array_mut().unwrap().push(json!({
        "kind": "weekly_scoped", "group": "weekly", "percent": 95, "resets_at": resets,
        "scope": {"model": {"id": null, "display_name": HOSTILE_MODEL}, "surface": null},
    }));
    usage[HOSTILE_KEY] = json!({"utilization": 96, "resets_at": resets});
    usage["spend"]["used"]["currency"] = json!(hostile("cur"));
    let overage = json!({
        "is_enabled": true, "monthly_credit_limit": 5000, "used_credits": 1234,
        "currency": hostile("cur"), "out_of_credits": false,
        "disabled_reason": hostile("why"), "disabled_until": hostile("until"),
    });
    let subscription = json!({
        "status": hostile("status"), "next_charge_date": hostile("date"),
        "billing_interval": hostile("interval"), "currency": hostile("cur"),
        "payment_method": {"brand": hostile("brand"), "last4": hostile("last4")},
    });
    let server = FakeServer::start();
    server.route("/api/account", Reply::json(200, &account.to_string()));
    for org in ORG_IDS {
        let base = format!("/api/organizations/{org}");
        server.route(
            &format!("{base}/usage"),
            Reply::json(200, &usage.to_string()),
        );
        server.route(
            &format!("{base}/overage_spend_limit"),
            Reply::json(200, &overage.to_string()),
        );
        server.route(
            &format!("{base}/subscription_details"),
            Reply::json(200, &subscription.to_string()),
        );
    }
    server
}

/// Claude Code's files, hostile too: the account `.claude.json` names and the credentials'
/// subscription type.
fn hostile_claude_code(env: &TestEnv) {
    let home = env.home.path();
    let claude_json = json!({"oauthAccount": {
        "organizationUuid": "c1a0de00-0000-4000-8000-00000000c0de",
        "organizationName": hostile("ccorg"),
        "emailAddress": hostile("ccmail"),
        "organizationRateLimitTier": hostile("cctier"),
    }});
    std::fs::write(home.join(".claude.json"), claude_json.to_string()).unwrap();
    std::fs::create_dir_all(home.join(".claude")).unwrap();
    let credentials = json!({"claudeAiOauth": {
        "accessToken": "sk-ant-oat01-TEST", "expiresAt": 4_102_444_800_000_i64,
        "scopes": ["user:profile"], "subscriptionType": hostile("sub"),
    }});
    let path = home.join(".claude/.credentials.json");
    std::fs::write(&path, credentials.to_string()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A refresh that stored every hostile name, then one refused with a hostile 403 message,
/// then Claude Code's hostile files: the cache holds hostile names, numbers and error.
fn hostile_env() -> (FakeServer, TestEnv) {
    let server = hostile_server();
    let env = TestEnv::with_server(&server);
    let (code, _, err) = run_inert(&env, &["refresh"], None);
    assert_eq!(code, 0, "{err}");
    let refused = json!({"type": "error",
                         "error": {"type": "permission_error", "message": hostile("denied")}});
    for org in ORG_IDS {
        server.route(&usage_path(org), Reply::json(403, &refused.to_string()));
    }
    let (code, _, err) = run_inert(&env, &["refresh", "--force"], None);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("(HTTP 403): denied"), "{err}");
    hostile_claude_code(&env);
    (server, env)
}

#[test]
fn hostile_names_reach_every_human_readable_output_inert() {
    let (_server, env) = hostile_env();

    let every = "{org} · {email} · {plan} · {models} · {extra} · {5h} · {7d}";
    for target in [
        "plain", "ansi", "zsh", "bash", "fish", "tmux", "polybar", "waybar", "starship",
    ] {
        let (code, out, _) = run_inert(
            &env,
            &["segment", "--target", target, "--format", every],
            None,
        );
        assert_eq!(code, 0, "{target}");
        assert!(out.contains("Evil"), "{target}: the names are shown: {out}");
        if target == "plain" {
            for tag in ["org", "mail", "cur"] {
                assert!(out.contains(&shown(tag)), "{tag}: {out}");
            }
            // `{models}` lowercases a model's name, as it always did.
            assert!(out.contains(SHOWN_MODEL), "{out}");
        }
        if target == "polybar" {
            // polybar opens a tag at every `%{` (no escape exists): only quotaline's colours.
            let own = [
                "%{F#98c379}",
                "%{F#e5c07b}",
                "%{F#e06c75}",
                "%{F#7f848e}",
                "%{F-}",
            ];
            let tags: Vec<&str> = out.match_indices("%{").map(|(i, _)| &out[i..]).collect();
            for tag in &tags {
                assert!(own.iter().any(|o| tag.starts_with(o)), "{tag:?} in {out:?}");
            }
            assert!(out.contains("%\u{200b}{F#f00}"), "{out:?}");
        }
        if target == "waybar" {
            // Inert once decoded too: the tooltip is the report, one line per line.
            let v: Value = serde_json::from_str(&out).unwrap();
            for field in ["text", "tooltip"] {
                assert_inert(
                    &format!("waybar {field}"),
                    v[field].as_str().unwrap().as_bytes(),
                );
            }
        }
    }
    // The shells' pre-rendered lines, written by the refreshes.
    for shell in ["zsh", "bash", "fish"] {
        let bytes = std::fs::read(env.cache_dir.join(format!("segment.{shell}"))).unwrap();
        assert_inert(&format!("segment.{shell}"), &bytes);
    }

    let (code, status, _) = run_inert(&env, &["status"], None);
    assert_eq!(code, 0);
    for tag in [
        "org", "team", "mail", "cur", "why", "until", "status", "interval", "brand",
    ] {
        assert!(status.contains(&shown(tag)), "{tag} in:\n{status}");
    }
    assert!(status.contains("denied"), "{status}");

    // Over 90%: the hostile model (95%) by its name as the line shows it, cleaned; the
    // hostile key (96%) is no window.
    let (code, check, _) = run_inert(&env, &["check"], None);
    assert_eq!(code, 1);
    assert!(check.contains(&format!("{SHOWN_MODEL} at 95%")), "{check}");
    // A key with control characters is no window name (issue 13): not checked, listed (cleaned)
    // by `status` among what the server sent that quotaline cannot show.
    assert!(!check.contains("at 96%"), "{check}");
    assert!(
        status.contains(r#""seven_day_\u{1b}]0;key\u{7}\u{202e}": not a window name"#),
        "{status}"
    );
    let (code, _, err) = run_inert(&env, &["check", "--window", HOSTILE], None);
    assert_eq!(code, 2);
    assert!(err.contains("Evil"), "{err}");

    let (code, history, _) = run_inert(&env, &["history"], None);
    assert_eq!(code, 0);
    assert!(history.contains(&shown("org")), "{history}");

    let (_, doctor, _) = run_inert(&env, &["doctor"], None);
    for tag in ["ccorg", "ccmail", "sub"] {
        assert!(doctor.contains(&shown(tag)), "{tag} in:\n{doctor}");
    }
    assert!(doctor.contains("denied"), "{doctor}");

    let stdin = json!({
        "model": {"display_name": hostile("ccmodel")},
        "rate_limits": {
            "five_hour": {"used_percentage": 42, "resets_at": chrono::Utc::now().timestamp() + 3600},
            HOSTILE_KEY: {"used_percentage": 7, "resets_at": chrono::Utc::now().timestamp() + 86_400},
        },
    });
    let (code, line, _) = run_inert(
        &env,
        &[
            "statusline",
            "--format",
            "{org} · {email} · {models} · {5h}",
        ],
        Some(stdin.to_string().as_bytes()),
    );
    assert_eq!(code, 0);
    assert!(line.contains(&shown("ccorg")), "{line}");

    // `json` is for programs: exact, every name as the server sent it.
    let (_, out, _) = ql(&env, &["json", "--org", ORG1]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["orgs"][0]["org_name"], hostile("org"));
    assert_eq!(v["orgs"][0]["email"], hostile("mail"));
    let model = &v["orgs"][0]["windows"][MODEL_KEY];
    assert_eq!(model["display_name"], HOSTILE_MODEL, "{v}");
}

/// Something other than a small regular file, where quotaline expects one.
#[derive(Clone, Copy, Debug)]
enum Thing {
    Fifo,
    Directory,
    /// 200 MB, sparse (`set_len`): nothing is written to disk.
    Huge,
}

const THINGS: [Thing; 3] = [Thing::Fifo, Thing::Directory, Thing::Huge];

impl Thing {
    fn put(self, path: &Path) {
        let _ = std::fs::remove_file(path);
        match self {
            Thing::Fifo => {
                let ok = std::process::Command::new("mkfifo")
                    .arg(path)
                    .status()
                    .unwrap();
                assert!(ok.success());
            }
            Thing::Directory => std::fs::create_dir(path).unwrap(),
            Thing::Huge => std::fs::File::create(path)
                .unwrap()
                .set_len(200 << 20)
                .unwrap(),
        }
    }

    /// How quotaline names what it found.
    fn said(self) -> &'static str {
        match self {
            Thing::Fifo => "a FIFO (named pipe), not a regular file: not read",
            Thing::Directory => "a directory, not a regular file: not read",
            Thing::Huge => "200 MiB, more than the",
        }
    }
}

/// A statusLine object with a five-hour reading.
fn stdin_reading() -> Vec<u8> {
    let resets = chrono::Utc::now().timestamp() + 3600;
    json!({"rate_limits": {"five_hour": {"used_percentage": 42, "resets_at": resets}}})
        .to_string()
        .into_bytes()
}

#[test]
fn a_fifo_a_directory_or_a_huge_file_as_the_cache_hangs_nothing_and_is_named() {
    for thing in THINGS {
        let env = TestEnv::new();
        let path = env.cache_dir.join("cache.json");
        thing.put(&path);
        let named = format!("cache: {}: {}", path.display(), thing.said());
        // The readers first: they say what is there, and leave it there.
        let (code, status, _) = run_inert(&env, &["status"], None);
        assert_eq!(code, 0, "{thing:?}");
        assert!(status.contains(&named), "{thing:?}: {status}");
        assert!(status.contains("no usage data yet"), "{thing:?}: {status}");
        let (_, doctor, _) = run_inert(&env, &["doctor"], None);
        assert!(doctor.contains(&named), "{thing:?}: {doctor}");
        // Then every command that may replace it: each returns, the prompt's with 0.
        let (code, out, _) = run_inert(&env, &["segment"], None);
        assert_eq!((code, out.as_str()), (0, "\n"), "{thing:?}");
        let (code, _, _) = run_inert(&env, &["segment", "--target", "waybar"], None);
        assert_eq!(code, 0, "{thing:?}");
        let (code, line, _) = run_inert(&env, &["statusline"], Some(&stdin_reading()));
        assert_eq!(code, 0, "{thing:?}");
        assert!(
            without_own_colours(&line).starts_with("5h 42%"),
            "{thing:?}: {line}"
        );
        for args in [&["check"][..], &["json"], &["history"], &["refresh"]] {
            run_inert(&env, args, None);
        }
    }
}

#[test]
fn a_fifo_a_directory_or_a_huge_file_as_claude_json_hangs_nothing_and_is_named() {
    for thing in THINGS {
        let env = TestEnv::new();
        let path = env.home.path().join(".claude.json");
        thing.put(&path);
        let (_, doctor, _) = run_inert(&env, &["doctor"], None);
        let named = format!("Claude Code account: {}: {}", path.display(), thing.said());
        assert!(doctor.contains(&named), "{thing:?}: {doctor}");
        // The statusLine still shows stdin's numbers, under Claude Code's own org.
        let (code, line, _) = run_inert(&env, &["statusline"], Some(&stdin_reading()));
        assert_eq!(code, 0, "{thing:?}");
        assert!(
            without_own_colours(&line).starts_with("5h 42%"),
            "{thing:?}: {line}"
        );
        let (code, _, err) = run_inert(&env, &["refresh", "--force"], None);
        assert_eq!(code, 1, "{thing:?}: {err}");
        assert!(err.contains("no Claude Code login"), "{thing:?}: {err}");
    }
}
