//! Issue 15: OpenMetrics for Prometheus, checked by the real programs: `promtool` on the
//! text, a real node_exporter serving the textfile, a real Prometheus scraping it, and the
//! shipped alert rules and Grafana dashboard.

use crate::common::programs::wait_until;
use crate::common::*;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ORG1: &str = ORG_IDS[0];
const ORG2: &str = ORG_IDS[1];

fn metrics(env: &TestEnv) -> String {
    let (code, out, err) = ql(env, &["metrics"]);
    assert_eq!((code, err.as_str()), (0, ""));
    out
}

/// `promtool check metrics` on `text`: its verdict (exit 0) and what it said.
pub(crate) fn promtool_check(text: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (apt install prometheus)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

pub fn assert_promtool_accepts(text: &str) {
    let (ok, said) = promtool_check(text);
    assert!(ok && said.trim().is_empty(), "promtool: {said}\n{text}");
}

/// The value of the one series of `name` whose line carries every label in `labels`
/// (`org_uuid="..."`), in any label order (node_exporter sorts them).
fn value(text: &str, name: &str, labels: &[&str]) -> Option<String> {
    let prefix = format!("{name}{{");
    let found: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(&prefix) && labels.iter().all(|x| l.contains(x)))
        .collect();
    assert!(found.len() <= 1, "several series match: {found:?}");
    Some(found.first()?.rsplit(' ').next()?.to_string())
}

/// Gives the active org's five-hour window a pace, as the history would after a while.
fn add_pace(env: &TestEnv) {
    let mut v = read_cache(env);
    let eta = (chrono::Utc::now() + chrono::Duration::seconds(1200)).to_rfc3339();
    v["snapshot"]["orgs"][0]["pace"]["five_hour"] = serde_json::json!({
        "rate_per_hour": 6.5, "eta": eta, "hits_before_reset": true
    });
    std::fs::write(env.cache_dir.join("cache.json"), v.to_string()).unwrap();
}

#[test]
fn promtool_accepts_every_org_and_model_window_with_exact_numbers() {
    let (_server, env) = refreshed_with("usage_limits_array.json");
    add_pace(&env);
    let text = metrics(&env);
    assert_promtool_accepts(&text);
    let org1 = format!("org_uuid=\"{ORG1}\"");
    let org2 = format!("org_uuid=\"{ORG2}\"");
    for org in [&org1, &org2] {
        for (window, number) in [("five_hour", "23"), ("seven_day_opus", "81")] {
            let w = format!("window=\"{window}\"");
            let got = value(&text, "quotaline_utilization_percent", &[org, &w]);
            assert_eq!(got.as_deref(), Some(number), "{text}");
        }
        let got = value(
            &text,
            "quotaline_extra_usage_used",
            &[org, "currency=\"USD\""],
        );
        assert_eq!(got.as_deref(), Some("12.34"), "{text}");
    }
    let five = "window=\"five_hour\"";
    let rate = value(
        &text,
        "quotaline_burn_rate_percent_per_hour",
        &[&org1, five],
    );
    assert_eq!(rate.as_deref(), Some("6.5"));
    assert!(value(&text, "quotaline_eta_seconds", &[&org2, five]).is_none());
    assert!(text.ends_with("# EOF\n"));
    // The personal org is named after its owner's email: never in a label.
    assert!(!text.contains("dev@example.com"), "{text}");
    assert!(
        text.contains("org_name=\"(email)'s Organization\""),
        "{text}"
    );
}

#[test]
fn promtool_accepts_a_stale_snapshot_with_its_error() {
    let (server, env) = refreshed_with("usage_flat_windows.json");
    age_cache(&env, 3600);
    server.route(&usage_path(ORG1), Reply::json(502, "{}"));
    let (code, _, _) = ql(&env, &["refresh", "--force"]);
    assert_eq!(code, 1);
    let text = metrics(&env);
    assert_promtool_accepts(&text);
    let org = format!("org_uuid=\"{ORG1}\"");
    let age: i64 = value(&text, "quotaline_snapshot_age_seconds", &[&org])
        .unwrap()
        .parse()
        .unwrap();
    assert!((3600..3700).contains(&age), "{age}");
    // The last good numbers stay, with their age; the error is the current kind.
    let w = "window=\"five_hour\"";
    let got = value(&text, "quotaline_utilization_percent", &[&org, w]);
    assert_eq!(got.as_deref(), Some("37"));
    let error = |kind: &str| value(&text, "quotaline_last_error", &[kind]);
    assert_eq!(error("kind=\"http\"").as_deref(), Some("1"));
    assert_eq!(error("kind=\"unauthorized\"").as_deref(), Some("0"));
}

#[test]
fn promtool_accepts_hostile_org_names_and_constant_labels() {
    let mut account: Value = serde_json::from_str(&payload("account.json")).unwrap();
    let hostile = "Evil \"org\"} 99\n# EOF\nquotaline_info{x=\"1\"} 1 \\ ∑ \u{202e}";
    account["memberships"][1]["organization"]["name"] = Value::from(hostile);
    let server = claude_ai("usage_flat_windows.json");
    server.route("/api/account", Reply::json(200, &account.to_string()));
    let env = TestEnv::with_server(&server);
    env.config("[metrics]\nlabels = { user = \"a\\\"na\", host = \"lap\\ntop\" }\n");
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 0, "{err}");
    let text = metrics(&env);
    assert_promtool_accepts(&text);
    assert!(text.contains(r#"org_name="Evil \"org\"} 99\n# EOF\nquotaline_info{x=\"1\"} 1 \\ ∑ "#));
    assert_eq!(text.lines().filter(|l| *l == "# EOF").count(), 1);
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("quotaline_info{"))
            .count(),
        1
    );
    // Constant labels come last, by name.
    assert!(
        text.contains(r#",host="lap\ntop",user="a\"na"} "#),
        "{text}"
    );
}

/// A real program of the test's, killed (and reaped) on drop, even when the test panics.
struct Daemon {
    child: Child,
    name: &'static str,
}

impl Daemon {
    fn start(name: &'static str, args: &[String]) -> Daemon {
        let child = Command::new(name)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: {e} (apt install {name})"));
        Daemon { child, name }
    }

    fn assert_running(&mut self) {
        let status = self.child.try_wait().unwrap();
        assert!(status.is_none(), "{} exited: {status:?}", self.name);
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A plain HTTP/1.0 GET on loopback: the body when the answer is 200.
fn get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200")
        .then(|| body.to_string())
        .or_else(|| head.starts_with("HTTP/1.0 200").then(|| body.to_string()))
}

fn usage_with_five_hour(percent: f64) -> String {
    let mut v: Value = serde_json::from_str(&shifted("usage_flat_windows.json")).unwrap();
    v["five_hour"]["utilization"] = Value::from(percent);
    v.to_string()
}

/// Until the query answers for ORG1: the value Prometheus holds.
fn query_five_hour(port: u16) -> Option<String> {
    let body = get(
        port,
        "/api/v1/query?query=quotaline_utilization_percent%7Bwindow%3D%22five_hour%22%7D",
    )?;
    let v: Value = serde_json::from_str(&body).ok()?;
    v["data"]["result"]
        .as_array()?
        .iter()
        .find(|r| r["metric"]["org_uuid"] == ORG1)
        .and_then(|r| r["value"][1].as_str().map(str::to_string))
}

#[test]
fn node_exporter_serves_the_textfile_and_prometheus_scrapes_it() {
    let server = claude_ai("usage_flat_windows.json");
    server.route(
        &usage_path(ORG1),
        Reply::json(200, &usage_with_five_hour(42.5)),
    );
    let env = TestEnv::with_server(&server);
    let dir = env.home.path().join("textfile");
    std::fs::create_dir(&dir).unwrap();
    env.config(&format!(
        "[metrics]\ntextfile = \"{}/quotaline.prom\"\nlabels = {{ user = \"ana\", host = \"laptop\" }}\n",
        dir.display()
    ));
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!(code, 0, "{err}");
    // What the command prints is what the file holds.
    let file = std::fs::read_to_string(dir.join("quotaline.prom")).unwrap();
    assert_promtool_accepts(&file);

    let node_port = free_port();
    let mut node = Daemon::start(
        "prometheus-node-exporter",
        &[
            "--collector.disable-defaults".into(),
            "--collector.textfile".into(),
            format!("--collector.textfile.directory={}", dir.display()),
            format!("--web.listen-address=127.0.0.1:{node_port}"),
        ],
    );
    let org = format!("org_uuid=\"{ORG1}\"");
    let five = "window=\"five_hour\"";
    let scraped = |want: &str| {
        let want = want.to_string();
        let org = org.clone();
        move || {
            let body = get(node_port, "/metrics")?;
            let got = value(&body, "quotaline_utilization_percent", &[&org, five]);
            (got.as_deref() == Some(want.as_str())).then_some(body)
        }
    };
    let body = wait_until(Duration::from_secs(20), "node_exporter", scraped("42.5"));
    node.assert_running();
    for label in ["user=\"ana\"", "host=\"laptop\"", "source=\"claude.ai\""] {
        let got = value(&body, "quotaline_utilization_percent", &[&org, five, label]);
        assert_eq!(got.as_deref(), Some("42.5"), "{label}");
    }
    // node_exporter read the file without complaint.
    assert!(
        body.lines().any(|l| l == "node_textfile_scrape_error 0"),
        "{body}"
    );

    // The next refresh rewrites the file; node_exporter serves the new number.
    server.route(
        &usage_path(ORG1),
        Reply::json(200, &usage_with_five_hour(64.0)),
    );
    let (code, _, err) = ql(&env, &["refresh", "--force"]);
    assert_eq!(code, 0, "{err}");
    wait_until(Duration::from_secs(20), "the new number", scraped("64"));

    // A real Prometheus scraping that node_exporter every second answers the query.
    let prom_port = free_port();
    let conf = env.home.path().join("prometheus.yml");
    std::fs::write(
        &conf,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  \
             - job_name: node\n    static_configs:\n      - targets: ['127.0.0.1:{node_port}']\n"
        ),
    )
    .unwrap();
    let mut prom = Daemon::start(
        "prometheus",
        &[
            format!("--config.file={}", conf.display()),
            format!(
                "--storage.tsdb.path={}",
                env.home.path().join("tsdb").display()
            ),
            format!("--web.listen-address=127.0.0.1:{prom_port}"),
        ],
    );
    let got = wait_until(Duration::from_secs(60), "prometheus's answer", || {
        query_five_hour(prom_port)
    });
    prom.assert_running();
    assert_eq!(got, "64");
}

#[test]
fn an_unwritable_textfile_is_an_error_in_status_and_doctor_not_a_failed_refresh() {
    let server = claude_ai("usage_flat_windows.json");
    let env = TestEnv::with_server(&server);
    let missing = env.home.path().join("no/such/dir/quotaline.prom");
    env.config(&format!(
        "[metrics]\ntextfile = \"{}\"\n",
        missing.display()
    ));
    let (code, _, err) = ql(&env, &["refresh"]);
    assert_eq!((code, err.as_str()), (0, ""));
    let (_, status, _) = ql(&env, &["status"]);
    let line = status
        .lines()
        .find(|l| l.starts_with("metrics textfile: "))
        .unwrap_or_else(|| panic!("{status}"));
    assert!(
        line.contains("NOT WRITTEN") && line.contains(&missing.display().to_string()),
        "{line}"
    );
    let (_, doctor, _) = ql(&env, &["doctor"]);
    assert!(doctor.contains(line), "{doctor}");
    // Fixed, the next refresh writes it, and the error is gone.
    std::fs::create_dir_all(missing.parent().unwrap()).unwrap();
    let (code, _, _) = ql(&env, &["refresh", "--force"]);
    assert_eq!(code, 0);
    let (_, status, _) = ql(&env, &["status"]);
    assert!(status.contains(&format!(
        "metrics textfile: {} (rewritten on every refresh)",
        missing.display()
    )));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&missing).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o644, "node_exporter runs as another user");
    assert_eq!(std::fs::read_to_string(&missing).unwrap(), metrics(&env));
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[test]
fn promtool_checks_and_unit_tests_the_shipped_alert_rules() {
    for args in [
        ["check", "rules", "alerts.yml"],
        ["test", "rules", "alerts_test.yml"],
    ] {
        let out = Command::new("promtool")
            .args(args)
            .current_dir(repo("integrations/prometheus"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Every `quotaline_*` name in `text`.
fn names(text: &str) -> std::collections::BTreeSet<String> {
    let mut found = std::collections::BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("quotaline_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        found.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    found
}

fn exprs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                match (k.as_str(), child) {
                    ("expr" | "query" | "definition", Value::String(s)) => out.push(s.clone()),
                    _ => exprs(child, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|c| exprs(c, out)),
        _ => {}
    }
}

#[test]
fn the_dashboard_and_the_rules_query_only_metrics_quotaline_emits() {
    let server = claude_ai("usage_limits_array.json");
    server.route(
        &format!("/api/organizations/{ORG1}/overage_spend_limit"),
        Reply::json(200, &payload("overage_out_of_credits.json")),
    );
    let env = TestEnv::with_server(&server);
    assert_eq!(ql(&env, &["refresh"]).0, 0);
    add_pace(&env);
    let emitted = names(
        &metrics(&env)
            .lines()
            .filter(|l| l.starts_with("# TYPE "))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(repo("integrations/grafana/quotaline.json")).unwrap(),
    )
    .expect("the dashboard is JSON");
    let mut queries = Vec::new();
    exprs(&dashboard, &mut queries);
    assert!(queries.len() >= 8, "{queries:?}");
    let queried = names(&queries.join("\n"));
    let rules =
        names(&std::fs::read_to_string(repo("integrations/prometheus/alerts.yml")).unwrap());
    for name in queried.iter().chain(&rules) {
        assert!(emitted.contains(name), "{name} is not emitted: {emitted:?}");
    }
    // The dashboard shows utilization, burn rate, time to reset and extra usage.
    for name in [
        "quotaline_utilization_percent",
        "quotaline_burn_rate_percent_per_hour",
        "quotaline_window_resets_at_seconds",
        "quotaline_extra_usage_used",
    ] {
        assert!(queried.contains(name), "{name}");
    }
}
