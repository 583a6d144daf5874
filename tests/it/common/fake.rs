//! Test support: a fake claude.ai / api.anthropic.com HTTP server and an
//! isolated environment for spawning the CLI.
//!
//! The server is deliberately tiny and synchronous: std only, one thread per
//! connection, one request per connection (`Connection: close`). It binds only
//! to 127.0.0.1 on a random port so tests can run in parallel and never touch
//! the network.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The two organisation uuids present in `account.json`.
#[allow(dead_code)]
pub const ORG_IDS: [&str; 2] = [
    "5b7c2f0e-1111-4a2b-9c3d-000000000001",
    "9e8d7c6b-2222-4a2b-9c3d-000000000002",
];

/// Body of the 404 answered for unrouted paths (shaped like Anthropic's errors).
const NOT_FOUND_BODY: &str =
    r#"{"type":"error","error":{"type":"not_found_error","message":"Not found"}}"#;

/// How long a `hang` reply holds its socket if the server is never dropped.
const HANG_MAX: Duration = Duration::from_secs(60);

/// How long a connection may dawdle while sending its request before we give up
/// on it; keeps a stuck client from pinning a thread forever.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Caps on request size so a misbehaving client cannot exhaust memory.
const MAX_HEAD_BYTES: usize = 64 * 1024;
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Reads a payload from the repository's fixtures (`tests/fixtures/`). Panics with the full
/// path if it is missing, because a missing fixture is a broken checkout, not a test outcome.
#[allow(dead_code)]
pub fn payload(name: &str) -> String {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/")).join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => panic!("missing test payload {}: {e}", path.display()),
    }
}

/// What the fake server answers for a route.
#[allow(dead_code)]
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Sleep this long before answering (the request is already recorded).
    pub delay: Duration,
    /// Read the request, then never answer: the socket stays open until the
    /// server is dropped (or 60 s pass). Used to exercise client timeouts.
    pub hang: bool,
}

#[allow(dead_code)]
impl Reply {
    fn with_type(status: u16, content_type: &str, body: &[u8]) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".to_string(), content_type.to_string())],
            body: body.to_vec(),
            delay: Duration::ZERO,
            hang: false,
        }
    }

    /// A JSON reply (`Content-Type: application/json`).
    /// claude.ai's answer to an expired or revoked session: 401 and its error body.
    pub fn expired() -> Reply {
        Reply::json(
            401,
            r#"{"type":"error","error":{"type":"authentication_error"}}"#,
        )
    }

    pub fn json(status: u16, body: &str) -> Reply {
        Reply::with_type(status, "application/json", body.as_bytes())
    }

    /// An HTML reply (`Content-Type: text/html`), e.g. a Cloudflare challenge.
    pub fn html(status: u16, body: &str) -> Reply {
        Reply::with_type(status, "text/html; charset=utf-8", body.as_bytes())
    }

    /// Adds a response header. `Content-Length` given here overrides the
    /// computed one (lets a test lie about the length).
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Sleeps `d` before answering.
    pub fn delay(mut self, d: Duration) -> Reply {
        self.delay = d;
        self
    }

    /// Never answers (see [`Reply::hang`] field).
    pub fn hang() -> Reply {
        Reply {
            hang: true,
            ..Reply::json(200, "")
        }
    }

    /// A JSON-looking body of exactly `bytes` bytes (`{"x":"aaaa…"}`), to test
    /// response size limits. Below 8 bytes the prefix is simply truncated.
    pub fn huge(status: u16, bytes: usize) -> Reply {
        let mut body = Vec::with_capacity(bytes);
        body.extend_from_slice(b"{\"x\":\"");
        body.resize(bytes.saturating_sub(2).max(body.len()), b'a');
        body.extend_from_slice(b"\"}");
        body.truncate(bytes);
        Reply {
            body,
            ..Reply::json(status, "")
        }
    }
}

/// One request as the server received it.
#[allow(dead_code)]
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// Path plus query string, exactly as sent in the request line.
    pub path: String,
    /// Header names lowercased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[allow(dead_code)]
impl Request {
    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The path without its query string.
    pub fn path_only(&self) -> &str {
        strip_query(&self.path)
    }
}

fn strip_query(path: &str) -> &str {
    path.split('?').next().unwrap_or(path)
}

/// A list of replies for one path; `next` advances and sticks at the last one.
struct Route {
    replies: Vec<Reply>,
    next: usize,
}

/// State shared between the test thread and the server threads.
#[derive(Default)]
struct Shared {
    routes: Mutex<HashMap<String, Route>>,
    /// Routes that answer only requests whose Cookie header holds a given text (one session
    /// key of several), checked before `routes`.
    by_cookie: Mutex<Vec<(String, String, Route)>>,
    requests: Mutex<Vec<Request>>,
    stop: AtomicBool,
}

impl Shared {
    /// Picks the reply for `path` (query ignored), advancing sequences.
    fn reply_for(&self, path: &str, cookie: Option<&str>) -> Reply {
        let mut by_cookie = lock(&self.by_cookie);
        let session = by_cookie.iter_mut().find(|(p, needle, _)| {
            p == strip_query(path) && cookie.is_some_and(|c| c.contains(needle.as_str()))
        });
        if let Some((_, _, route)) = session {
            let i = route.next.min(route.replies.len() - 1);
            route.next = i + 1;
            return route.replies[i].clone();
        }
        drop(by_cookie);
        let mut routes = lock(&self.routes);
        match routes.get_mut(strip_query(path)) {
            Some(route) => {
                let i = route.next.min(route.replies.len() - 1);
                route.next = i + 1;
                route.replies[i].clone()
            }
            None => Reply::json(404, NOT_FOUND_BODY),
        }
    }
}

/// Locks a mutex even if a server thread panicked while holding it: a panic
/// there must not turn every later assertion into a confusing PoisonError.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A fake HTTP/1.1 server on 127.0.0.1:random. Dropping it stops accepting
/// connections and releases any hanging replies.
#[allow(dead_code)]
pub struct FakeServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

#[allow(dead_code)]
impl FakeServer {
    /// Binds 127.0.0.1:0 and starts the accept loop in a background thread.
    pub fn start() -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let shared = Arc::new(Shared::default());
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || accept_loop(listener, shared))
        };
        FakeServer {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// Base URL, e.g. `http://127.0.0.1:43127` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers `path` (exact match, query ignored) with `reply`, replacing any
    /// earlier route for it.
    pub fn route(&self, path: &str, reply: Reply) {
        self.route_seq(path, vec![reply]);
    }

    /// Successive requests to `path` get successive replies; the last repeats.
    pub fn route_seq(&self, path: &str, replies: Vec<Reply>) {
        assert!(
            !replies.is_empty(),
            "route_seq({path}) needs at least one reply"
        );
        lock(&self.shared.routes).insert(path.to_string(), Route { replies, next: 0 });
    }

    /// Answers `path` with `replies` (in turn, the last repeating) for requests whose Cookie
    /// or Authorization header holds `needle` (a session key, an OAuth token): one fake
    /// claude.ai (or api.anthropic.com) for several logins.
    pub fn route_for_cookie(&self, path: &str, needle: &str, replies: Vec<Reply>) {
        let mut by_cookie = lock(&self.shared.by_cookie);
        by_cookie.retain(|(p, n, _)| !(p == path && n == needle));
        by_cookie.push((path.into(), needle.into(), Route { replies, next: 0 }));
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.shared.requests).clone()
    }

    /// How many requests hit `path` (query ignored unless `path` has one).
    pub fn count(&self, path: &str) -> usize {
        let with_query = path.contains('?');
        lock(&self.shared.requests)
            .iter()
            .filter(|r| {
                if with_query {
                    r.path == path
                } else {
                    r.path_only() == path
                }
            })
            .count()
    }

    /// Polls until `count(path) >= n`; false if `timeout` passes first.
    pub fn wait_for(&self, path: &str, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.count(path) >= n {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// A server pre-loaded with realistic claude.ai answers: `/api/account`
    /// (two orgs, see [`ORG_IDS`]) and, for both orgs,
    /// `/api/organizations/{org}/usage` (from `usage_payload`),
    /// `.../overage_spend_limit` and `.../subscription_details`.
    pub fn claude_ai(usage_payload: &str) -> FakeServer {
        let server = FakeServer::start();
        server.route("/api/account", Reply::json(200, &payload("account.json")));
        let usage = payload(usage_payload);
        let overage = payload("overage_spend_limit.json");
        let subscription = payload("subscription_details.json");
        for org in ORG_IDS {
            let base = format!("/api/organizations/{org}");
            server.route(&format!("{base}/usage"), Reply::json(200, &usage));
            server.route(
                &format!("{base}/overage_spend_limit"),
                Reply::json(200, &overage),
            );
            server.route(
                &format!("{base}/subscription_details"),
                Reply::json(200, &subscription),
            );
        }
        server
    }
}

impl Drop for FakeServer {
    /// Sets the stop flag, then connects to ourselves so the blocking
    /// `accept` returns and sees it. The accept thread is joined only if that
    /// wake-up connection succeeded, so Drop can never hang; connection
    /// threads are never joined (hanging ones notice the flag and exit).
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let woke = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok();
        if let Some(handle) = self.acceptor.take() {
            if woke {
                let _ = handle.join();
            }
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for conn in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        // Accept errors (e.g. a client reset before accept) are not fatal.
        if let Ok(stream) = conn {
            let shared = Arc::clone(&shared);
            thread::spawn(move || handle_connection(stream, &shared));
        }
    }
}

/// Serves one request on `stream`. Any I/O error (client went away, garbage
/// input, timeout) just drops the connection: nothing here may panic.
fn handle_connection(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let request = match read_request(&stream) {
        Some(r) => r,
        None => return,
    };
    let head_only = request.method.eq_ignore_ascii_case("HEAD");
    let path = request.path.clone();
    // Who asks: the Cookie header (a claude.ai session) and the bearer token (an OAuth
    // login), for the routes that answer one login only.
    let cookie = Some(format!(
        "{} {}",
        request.header("cookie").unwrap_or_default(),
        request.header("authorization").unwrap_or_default()
    ));
    // Record before answering: tests count requests as soon as the client returns.
    lock(&shared.requests).push(request);
    let reply = shared.reply_for(&path, cookie.as_deref());

    if reply.hang {
        let start = Instant::now();
        while !shared.stop.load(Ordering::SeqCst) && start.elapsed() < HANG_MAX {
            thread::sleep(Duration::from_millis(20));
        }
        return;
    }
    if !reply.delay.is_zero() {
        thread::sleep(reply.delay);
    }
    let _ = write_reply(&stream, &reply, head_only);
    // Half-close then briefly drain so the kernel does not reset the
    // connection (and eat our response) if the client sent extra bytes.
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let _ = std::io::copy(&mut (&stream).take(1 << 20), &mut std::io::sink());
}

/// Parses request line, headers and a Content-Length body. Returns None on
/// EOF, timeout or malformed input.
fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut head_bytes = 0usize;
    let mut read_line = |reader: &mut BufReader<&TcpStream>| -> Option<String> {
        let mut line = Vec::new();
        let n = reader
            .by_ref()
            .take((MAX_HEAD_BYTES - head_bytes) as u64)
            .read_until(b'\n', &mut line)
            .ok()?;
        head_bytes += n;
        if n == 0 || !line.ends_with(b"\n") {
            return None; // EOF mid-line or head too large
        }
        let text = String::from_utf8_lossy(&line);
        Some(text.trim_end_matches(['\r', '\n']).to_string())
    };

    let request_line = read_line(&mut reader)?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();

    let mut headers = Vec::new();
    loop {
        let line = read_line(&mut reader)?;
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }

    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(Some(0))?;
    if length > MAX_BODY_BYTES {
        return None;
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;

    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn write_reply(mut stream: &TcpStream, reply: &Reply, head_only: bool) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
    let has = |name: &str| {
        reply
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    };
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !has("content-length") {
        head.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
    }
    if !has("connection") {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if !head_only {
        stream.write_all(&reply.body)?;
    }
    stream.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        529 => "Overloaded",
        _ => "Status",
    }
}

/// An isolated environment for running the CLI: a fresh HOME (deleted on
/// drop), a private cache dir, and a cleared environment so the developer's
/// real config, cache and credentials can never leak into a test.
#[allow(dead_code)]
pub struct TestEnv {
    pub home: tempfile::TempDir,
    /// `home/cache`, created with mode 0700.
    pub cache_dir: PathBuf,
    /// Extra variables, applied after the defaults (so they override them).
    pub vars: Vec<(String, String)>,
    /// Variables to leave out entirely, including defaults such as HOME.
    pub unset: Vec<String>,
}

impl Default for TestEnv {
    fn default() -> Self {
        TestEnv::new()
    }
}

#[allow(dead_code)]
impl TestEnv {
    /// Fresh HOME in a temp dir, with `cache/` (0700) inside it.
    pub fn new() -> TestEnv {
        use std::os::unix::fs::DirBuilderExt;
        let home = tempfile::tempdir().expect("create temp HOME");
        let cache_dir = home.path().join("cache");
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&cache_dir)
            .expect("create cache dir");
        let mut env = TestEnv {
            home,
            cache_dir,
            vars: Vec::new(),
            unset: Vec::new(),
        };
        // Even a test without a fake server must never reach the real claude.ai (or Claude's
        // status page): port 9 (discard) on loopback refuses the connection.
        env.set("QUOTALINE_CLAUDE_AI_URL", "http://127.0.0.1:9")
            .set("QUOTALINE_ANTHROPIC_API_URL", "http://127.0.0.1:9")
            .set("QUOTALINE_STATUS_URL", "http://127.0.0.1:9");
        env
    }

    /// Like `new`, with both API base URLs pointed at `server` and a fake
    /// session key set.
    pub fn with_server(server: &FakeServer) -> TestEnv {
        let mut env = TestEnv::new();
        env.set("QUOTALINE_CLAUDE_AI_URL", &server.url())
            .set("QUOTALINE_ANTHROPIC_API_URL", &server.url())
            .set("QUOTALINE_SESSION_KEY", "sk-ant-sid01-TESTKEY");
        env
    }

    /// Writes `config.toml` where quotaline looks for it (`$XDG_CONFIG_HOME/quotaline`), only
    /// its owner able to change it (0644 in 0755 directories) whatever the umask: a config
    /// others could change is refused its hook and textfile.
    pub fn config(&self, text: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let config = self.home.path().join(".config");
        let dir = config.join("quotaline");
        std::fs::create_dir_all(&dir).unwrap();
        for d in [&config, &dir] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let path = dir.join("config.toml");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        path
    }

    /// Sets (or replaces) a variable.
    pub fn set(&mut self, k: &str, v: &str) -> &mut Self {
        self.vars.retain(|(name, _)| name != k);
        self.unset.retain(|name| name != k);
        self.vars.push((k.to_string(), v.to_string()));
        self
    }

    /// Removes a variable, whether set via `set` or one of the defaults.
    pub fn remove(&mut self, k: &str) -> &mut Self {
        self.vars.retain(|(name, _)| name != k);
        if !self.unset.iter().any(|name| name == k) {
            self.unset.push(k.to_string());
        }
        self
    }

    /// A Command for `bin` with a cleared environment plus: PATH (inherited),
    /// HOME, XDG_CONFIG_HOME, XDG_CACHE_HOME, QUOTALINE_CACHE_DIR, LANG=C.UTF-8,
    /// TZ=UTC, then `vars`; `unset` names are removed. stdin is null.
    pub fn command(&self, bin: &str) -> Command {
        let home = self.home.path();
        let mut cmd = Command::new(bin);
        cmd.env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        cmd.env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("QUOTALINE_CACHE_DIR", &self.cache_dir)
            .env("LANG", "C.UTF-8")
            .env("TZ", "UTC");
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        for k in &self.unset {
            cmd.env_remove(k);
        }
        cmd.stdin(Stdio::null());
        cmd
    }

    /// Runs `bin args`, killing it after `limit`. Returns (exit code, stdout,
    /// stderr); the code is 128+signal if it died from a signal, and -1 if it
    /// was killed for overrunning `limit` (stderr then says so).
    pub fn run(&self, bin: &str, args: &[&str], limit: Duration) -> (i32, String, String) {
        lossy(self.run_raw(bin, args, None, limit))
    }

    /// Like `run`, feeding `stdin` to the process.
    pub fn run_stdin(
        &self,
        bin: &str,
        args: &[&str],
        stdin: &[u8],
        limit: Duration,
    ) -> (i32, String, String) {
        lossy(self.run_raw(bin, args, Some(stdin), limit))
    }

    /// Like `run` (with `stdin` fed when given), returning stdout and stderr as the bytes
    /// the process wrote.
    pub fn run_raw(
        &self,
        bin: &str,
        args: &[&str],
        stdin: Option<&[u8]>,
        limit: Duration,
    ) -> (i32, Vec<u8>, Vec<u8>) {
        use std::os::unix::process::ExitStatusExt;

        let mut cmd = self.command(bin);
        cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        if stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {bin}: {e}"));

        // Feed stdin and drain the pipes on threads so a chatty child can't
        // deadlock against full pipe buffers. Output is shared incrementally,
        // so if a grandchild keeps a pipe open we still get what was written.
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            let input = input.to_vec();
            thread::spawn(move || {
                let _ = pipe.write_all(&input); // BrokenPipe if child ignores stdin
            });
        }
        let out = drain(child.stdout.take());
        let err = drain(child.stderr.take());

        let deadline = Instant::now() + limit;
        let mut timed_out = false;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() >= deadline => {
                    timed_out = true;
                    let _ = child.kill();
                    break child.wait().ok();
                }
                Ok(None) => thread::sleep(Duration::from_millis(10)),
                Err(_) => break None,
            }
        };

        let stdout = out.finish();
        let mut stderr = err.finish();
        let code = if timed_out {
            stderr.extend_from_slice(
                format!("\n[test harness: killed after {limit:?}]\n").as_bytes(),
            );
            -1
        } else {
            match status {
                Some(s) => s
                    .code()
                    .or_else(|| s.signal().map(|n| 128 + n))
                    .unwrap_or(-1),
                None => -1,
            }
        };
        (code, stdout, stderr)
    }
}

fn lossy((code, out, err): (i32, Vec<u8>, Vec<u8>)) -> (i32, String, String) {
    (
        code,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

/// Output collected from a child pipe by a background thread.
struct Drain {
    buf: Arc<Mutex<Vec<u8>>>,
    handle: JoinHandle<()>,
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> Drain {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&buf);
    let handle = thread::spawn(move || {
        let Some(mut pipe) = pipe else { return };
        let mut chunk = [0u8; 8192];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => lock(&sink).extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    });
    Drain { buf, handle }
}

impl Drain {
    /// Waits up to 2 s for EOF (longer only if a grandchild holds the pipe),
    /// then returns whatever was read.
    fn finish(self) -> Vec<u8> {
        let deadline = Instant::now() + Duration::from_secs(2);
        while !self.handle.is_finished() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        lock(&self.buf).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A parsed raw HTTP response.
    struct Resp {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl Resp {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.body).into_owned()
        }
    }

    fn connect(server: &FakeServer) -> TcpStream {
        let s = TcpStream::connect(server.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    /// Sends raw bytes, reads to EOF (the server always closes), parses.
    fn raw(server: &FakeServer, request: &[u8]) -> Resp {
        let mut s = connect(server);
        s.write_all(request).unwrap();
        let mut bytes = Vec::new();
        s.read_to_end(&mut bytes).unwrap();
        parse(&bytes)
    }

    fn parse(bytes: &[u8]) -> Resp {
        let split = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("end of head");
        let head = String::from_utf8(bytes[..split].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
        let status = status_line[9..12].parse().unwrap();
        let headers = lines
            .map(|l| {
                let (k, v) = l.split_once(':').unwrap();
                (k.trim().to_string(), v.trim().to_string())
            })
            .collect();
        Resp {
            status,
            headers,
            body: bytes[split + 4..].to_vec(),
        }
    }

    fn get(server: &FakeServer, path: &str) -> Resp {
        raw(
            server,
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").as_bytes(),
        )
    }

    #[test]
    fn url_is_loopback() {
        let server = FakeServer::start();
        assert!(server.url().starts_with("http://127.0.0.1:"));
        assert_ne!(server.addr.port(), 0);
    }

    #[test]
    fn serves_route_with_length_and_close_and_records_request() {
        let server = FakeServer::start();
        server.route(
            "/api/x",
            Reply::json(200, r#"{"ok":true}"#).header("X-Extra", "1"),
        );
        let resp = raw(
            &server,
            b"POST /api/x?a=1&b=2 HTTP/1.1\r\nHost: h\r\nCookie: sessionKey=abc\r\nX-Mixed-Case: V\r\nContent-Length: 5\r\n\r\nhello",
        );
        assert_eq!(resp.status, 200);
        assert_eq!(resp.text(), r#"{"ok":true}"#);
        assert_eq!(resp.header("content-type"), Some("application/json"));
        assert_eq!(resp.header("content-length"), Some("11"));
        assert_eq!(resp.header("connection"), Some("close"));
        assert_eq!(resp.header("x-extra"), Some("1"));

        let reqs = server.requests();
        assert_eq!(reqs.len(), 1);
        let r = &reqs[0];
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/api/x?a=1&b=2");
        assert_eq!(r.body, b"hello");
        assert_eq!(r.headers[0], ("host".to_string(), "h".to_string()));
        assert_eq!(r.header("COOKIE"), Some("sessionKey=abc"));
        assert_eq!(r.header("x-mixed-case"), Some("V"));
        assert_eq!(r.header("missing"), None);
        assert_eq!(server.count("/api/x"), 1);
        assert_eq!(server.count("/api/x?a=1&b=2"), 1);
        assert_eq!(server.count("/api/y"), 0);
    }

    #[test]
    fn unknown_path_is_json_404() {
        let server = FakeServer::start();
        let resp = get(&server, "/nope");
        assert_eq!(resp.status, 404);
        assert_eq!(resp.text(), NOT_FOUND_BODY);
        let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
        assert_eq!(v["error"]["type"], "not_found_error");
        assert_eq!(server.count("/nope"), 1);
    }

    #[test]
    fn html_and_unknown_method() {
        let server = FakeServer::start();
        server.route("/cf", Reply::html(403, "<html>Just a moment...</html>"));
        let resp = raw(&server, b"BREW /cf HTTP/1.1\r\n\r\n");
        assert_eq!(resp.status, 403);
        assert!(resp
            .header("content-type")
            .unwrap()
            .starts_with("text/html"));
        assert_eq!(server.requests()[0].method, "BREW");
    }

    #[test]
    fn head_gets_no_body() {
        let server = FakeServer::start();
        server.route("/h", Reply::json(200, "12345"));
        let resp = raw(&server, b"HEAD /h HTTP/1.1\r\n\r\n");
        assert_eq!(resp.header("content-length"), Some("5"));
        assert!(resp.body.is_empty());
    }

    #[test]
    fn route_seq_advances_and_last_repeats_and_route_replaces() {
        let server = FakeServer::start();
        server.route_seq(
            "/s",
            vec![
                Reply::json(500, "a"),
                Reply::json(429, "b"),
                Reply::json(200, "c"),
            ],
        );
        let got: Vec<(u16, String)> = (0..5)
            .map(|_| {
                let r = get(&server, "/s?q=1");
                (r.status, r.text())
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (500, "a".into()),
                (429, "b".into()),
                (200, "c".into()),
                (200, "c".into()),
                (200, "c".into())
            ]
        );
        server.route("/s", Reply::json(201, "new"));
        assert_eq!(get(&server, "/s").status, 201);
        assert_eq!(server.count("/s"), 6);
    }

    #[test]
    fn delay_sleeps_before_answering() {
        let server = FakeServer::start();
        server.route(
            "/slow",
            Reply::json(200, "{}").delay(Duration::from_millis(300)),
        );
        let t = Instant::now();
        let resp = get(&server, "/slow");
        assert_eq!(resp.status, 200);
        assert!(t.elapsed() >= Duration::from_millis(300));
    }

    #[test]
    fn hang_records_then_never_answers_until_drop() {
        let server = FakeServer::start();
        server.route("/hang", Reply::hang());
        let mut s = connect(&server);
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        s.write_all(b"GET /hang HTTP/1.1\r\n\r\n").unwrap();
        let mut buf = [0u8; 16];
        let err = s.read(&mut buf).unwrap_err();
        assert!(matches!(
            err.kind(),
            ErrorKind::WouldBlock | ErrorKind::TimedOut
        ));
        assert_eq!(server.count("/hang"), 1, "recorded before hanging");

        let t = Instant::now();
        drop(server);
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let n = s.read(&mut buf).unwrap_or(0);
        assert_eq!(n, 0, "closed without a response");
        assert!(t.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn huge_has_exact_size() {
        let r = Reply::huge(200, 1_000_000);
        assert_eq!(r.body.len(), 1_000_000);
        assert!(r.body.starts_with(b"{\"x\":\"aaa"));
        assert!(r.body.ends_with(b"a\"}"));
        assert_eq!(Reply::huge(200, 3).body, b"{\"x");
        assert_eq!(Reply::huge(200, 8).body, b"{\"x\":\"\"}");

        let server = FakeServer::start();
        server.route("/big", Reply::huge(200, 3_000_000));
        let resp = get(&server, "/big");
        assert_eq!(resp.body.len(), 3_000_000);
        assert_eq!(resp.header("content-length"), Some("3000000"));
        let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
        assert!(v["x"].is_string());
    }

    #[test]
    fn survives_clients_that_disconnect_mid_request() {
        let server = FakeServer::start();
        server.route("/ok", Reply::json(200, "{}"));
        {
            let mut s = connect(&server);
            s.write_all(b"GET /ok HT").unwrap();
        }
        {
            let mut s = connect(&server);
            s.write_all(b"POST /ok HTTP/1.1\r\nContent-Length: 100\r\n\r\nshort")
                .unwrap();
        }
        {
            let _ = connect(&server);
        }
        {
            let mut s = connect(&server);
            s.write_all(b"\x00\xff garbage\r\n\r\n").unwrap();
        }
        // A client that leaves right after sending, before the delayed reply.
        server.route(
            "/late",
            Reply::json(200, "{}").delay(Duration::from_millis(100)),
        );
        {
            let mut s = connect(&server);
            s.write_all(b"GET /late HTTP/1.1\r\n\r\n").unwrap();
        }
        assert!(server.wait_for("/late", 1, Duration::from_secs(5)));
        thread::sleep(Duration::from_millis(200));
        assert_eq!(get(&server, "/ok").status, 200);
        assert_eq!(
            server.count("/ok"),
            1,
            "incomplete requests are not recorded"
        );
    }

    #[test]
    fn concurrent_requests_and_wait_for() {
        let server = Arc::new(FakeServer::start());
        server.route(
            "/c",
            Reply::json(200, "{}").delay(Duration::from_millis(50)),
        );
        assert!(!server.wait_for("/c", 1, Duration::from_millis(50)));
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let server = Arc::clone(&server);
                thread::spawn(move || get(&server, "/c").status)
            })
            .collect();
        assert!(server.wait_for("/c", 20, Duration::from_secs(10)));
        for h in handles {
            assert_eq!(h.join().unwrap(), 200);
        }
        assert_eq!(server.requests().len(), 20);
    }

    #[test]
    fn drop_stops_accepting() {
        let server = FakeServer::start();
        let addr = server.addr;
        let t = Instant::now();
        drop(server);
        assert!(t.elapsed() < Duration::from_secs(2));
        assert!(TcpStream::connect(addr).is_err(), "listener closed");
    }

    #[test]
    fn claude_ai_serves_payloads_for_both_orgs() {
        let server = FakeServer::claude_ai("usage_flat_windows.json");
        let account = get(&server, "/api/account");
        assert_eq!(account.status, 200);
        let v: serde_json::Value = serde_json::from_slice(&account.body).unwrap();
        let orgs: Vec<&str> = v["memberships"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["organization"]["uuid"].as_str().unwrap())
            .collect();
        assert_eq!(orgs, ORG_IDS);
        for org in ORG_IDS {
            let base = format!("/api/organizations/{org}");
            let usage = get(&server, &format!("{base}/usage"));
            assert_eq!(usage.text(), payload("usage_flat_windows.json"));
            let overage = get(&server, &format!("{base}/overage_spend_limit"));
            assert_eq!(overage.text(), payload("overage_spend_limit.json"));
            let sub = get(&server, &format!("{base}/subscription_details"));
            assert_eq!(sub.text(), payload("subscription_details.json"));
        }
        assert_eq!(get(&server, "/api/organizations/other/usage").status, 404);
    }

    #[test]
    #[should_panic(expected = "missing test payload")]
    fn payload_panics_clearly_when_missing() {
        payload("no_such_file.json");
    }

    const SH: &str = "/bin/sh";

    #[test]
    fn test_env_isolates_environment() {
        use std::os::unix::fs::PermissionsExt;
        let server = FakeServer::start();
        let mut env = TestEnv::with_server(&server);
        env.set("EXTRA", "one")
            .set("EXTRA", "two")
            .set("GONE", "x")
            .remove("GONE");
        env.remove("TZ");
        let mode = std::fs::metadata(&env.cache_dir)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        assert!(env.cache_dir.starts_with(env.home.path()));

        let (code, out, err) = env.run(SH, &["-c", "env | sort"], Duration::from_secs(10));
        assert_eq!(code, 0, "{err}");
        let home = env.home.path().display().to_string();
        let vars: HashMap<&str, &str> = out.lines().filter_map(|l| l.split_once('=')).collect();
        assert_eq!(vars["HOME"], home);
        assert_eq!(vars["XDG_CONFIG_HOME"], format!("{home}/.config"));
        assert_eq!(vars["XDG_CACHE_HOME"], format!("{home}/.cache"));
        assert_eq!(vars["QUOTALINE_CACHE_DIR"], format!("{home}/cache"));
        assert_eq!(vars["QUOTALINE_CLAUDE_AI_URL"], server.url());
        assert_eq!(vars["QUOTALINE_ANTHROPIC_API_URL"], server.url());
        assert_eq!(vars["QUOTALINE_SESSION_KEY"], "sk-ant-sid01-TESTKEY");
        assert_eq!(vars["LANG"], "C.UTF-8");
        assert_eq!(vars["EXTRA"], "two");
        assert!(vars.contains_key("PATH"));
        assert!(!vars.contains_key("TZ"));
        assert!(!vars.contains_key("GONE"));
        // Nothing else leaks from the parent (sh itself may add PWD, SHLVL, _).
        let allowed = [
            "PATH",
            "HOME",
            "XDG_CONFIG_HOME",
            "XDG_CACHE_HOME",
            "QUOTALINE_CACHE_DIR",
            "LANG",
            "QUOTALINE_CLAUDE_AI_URL",
            "QUOTALINE_ANTHROPIC_API_URL",
            "QUOTALINE_STATUS_URL",
            "QUOTALINE_SESSION_KEY",
            "EXTRA",
            "PWD",
            "OLDPWD",
            "SHLVL",
            "_",
        ];
        let extra: Vec<_> = vars.keys().filter(|k| !allowed.contains(k)).collect();
        assert!(extra.is_empty(), "unexpected vars: {extra:?}");
    }

    #[test]
    fn run_reports_exit_code_and_both_streams() {
        let env = TestEnv::new();
        let (code, out, err) = env.run(
            SH,
            &["-c", "echo out; echo err >&2; exit 3"],
            Duration::from_secs(10),
        );
        assert_eq!((code, out.as_str(), err.as_str()), (3, "out\n", "err\n"));
        // stdin is null by default: cat sees EOF at once.
        let (code, out, _) = env.run("/usr/bin/env", &["cat"], Duration::from_secs(10));
        assert_eq!((code, out.as_str()), (0, ""));
    }

    #[test]
    fn run_stdin_feeds_input() {
        let env = TestEnv::new();
        let input = payload("statusline_stdin.json");
        let (code, out, _) = env.run_stdin(
            SH,
            &["-c", "cat"],
            input.as_bytes(),
            Duration::from_secs(10),
        );
        assert_eq!(code, 0);
        assert_eq!(out, input);
        // A child that ignores a large stdin must not wedge the harness.
        let big = vec![b'x'; 4 << 20];
        let (code, _, _) = env.run_stdin(SH, &["-c", "exit 0"], &big, Duration::from_secs(10));
        assert_eq!(code, 0);
    }

    #[test]
    fn run_kills_on_timeout() {
        let env = TestEnv::new();
        let t = Instant::now();
        let (code, out, err) = env.run(
            SH,
            &["-c", "echo started; exec sleep 30"],
            Duration::from_millis(300),
        );
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        assert_eq!(code, -1);
        assert_eq!(out, "started\n");
        assert!(err.contains("killed after"), "{err}");
    }

    #[test]
    fn cli_style_client_against_server_via_env() {
        // The URL a spawned CLI sees in its env really reaches the server.
        let server = FakeServer::claude_ai("usage_limits_array.json");
        let env = TestEnv::with_server(&server);
        let (_, out, _) = env.run(
            SH,
            &["-c", "printf %s \"$QUOTALINE_CLAUDE_AI_URL\""],
            Duration::from_secs(10),
        );
        let addr = out.trim_start_matches("http://");
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(
            b"GET /api/account HTTP/1.1\r\nCookie: sessionKey=sk-ant-sid01-TESTKEY\r\n\r\n",
        )
        .unwrap();
        let mut bytes = Vec::new();
        s.read_to_end(&mut bytes).unwrap();
        assert_eq!(parse(&bytes).status, 200);
        assert_eq!(
            server.requests()[0].header("cookie"),
            Some("sessionKey=sk-ant-sid01-TESTKEY")
        );
    }
}
