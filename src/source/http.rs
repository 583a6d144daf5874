//! One GET, bounded in time and size, with every failure mapped to an `ErrorKind` and a
//! message that names the cause. Only the refresh path builds this (TLS set-up included).

use crate::error::{ErrorKind, FetchError};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use std::io::Read;

/// Bodies over this are not payloads: refuse them instead of growing without bound.
pub const MAX_BODY: u64 = 1 << 20;

/// Per-request timeout; a server that accepts and never answers fails within it.
pub fn timeout() -> std::time::Duration {
    std::time::Duration::from_secs(crate::settings::timeout_secs())
}

/// A base URL must be https, except http to a loopback address (which tests use): a cookie
/// must never travel in clear text over a network. The URL is parsed as the client will
/// connect (`url`, which ureq itself uses), so `http://localhost:1@evil` is the host `evil`;
/// credentials in a URL are refused outright.
pub fn check_base_url(var: &str, url: &str) -> Result<String, FetchError> {
    let refuse = |why: &str| {
        FetchError::new(
            ErrorKind::Config,
            format!(
                "{var} is not allowed: {why} (use https; plain http only to a loopback address)"
            ),
        )
    };
    let parsed = url::Url::parse(url.trim()).map_err(|e| refuse(&format!("not a URL ({e})")))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(refuse("it holds a user name or password"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(refuse("it holds a query or fragment"));
    }
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(refuse("it names no host")),
    };
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(refuse(&format!(
                "{} to {}",
                parsed.scheme(),
                parsed.host_str().unwrap_or("")
            )))
        }
    }
    Ok(parsed.as_str().trim_end_matches('/').to_string())
}

/// A GET's outcome when the caller treats 404 as "not there" rather than a failure.
pub enum Optional {
    Found(Value),
    NotFound,
}

pub struct Client {
    agent: ureq::Agent,
    base: String,
    /// Host name for messages ("claude.ai", "api.anthropic.com").
    pub service: &'static str,
    headers: Vec<(&'static str, String)>,
    timeout: std::time::Duration,
}

impl Client {
    /// A client whose requests each take at most the `timeout` setting.
    pub fn new(
        service: &'static str,
        base: String,
        headers: Vec<(&'static str, String)>,
    ) -> Client {
        Client::with_timeout(service, base, headers, timeout())
    }

    /// A client whose requests each take at most `timeout` (Claude's status page: a few
    /// seconds, whatever the setting, since it only ever adds to a refresh).
    pub fn with_timeout(
        service: &'static str,
        base: String,
        headers: Vec<(&'static str, String)>,
        timeout: std::time::Duration,
    ) -> Client {
        let agent = ureq::AgentBuilder::new()
            .timeout(timeout)
            .redirects(0)
            .build();
        Client {
            agent,
            base,
            service,
            headers,
            timeout,
        }
    }

    pub fn get_json(&self, path: &str) -> Result<Value, FetchError> {
        match self.get(path, false)? {
            Optional::Found(v) => Ok(v),
            Optional::NotFound => unreachable!("404 is an error unless asked for"),
        }
    }

    /// 404 is `NotFound` (free orgs have no billing endpoints), anything else as `get_json`.
    pub fn get_optional(&self, path: &str) -> Result<Optional, FetchError> {
        self.get(path, true)
    }

    fn get(&self, path: &str, soft_404: bool) -> Result<Optional, FetchError> {
        let mut request = self.agent.get(&format!("{}{path}", self.base));
        for (name, value) in &self.headers {
            request = request.set(name, value);
        }
        let response = match request.call() {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => return Err(self.transport_error(path, &t)),
        };
        let status = response.status();
        let cf_mitigated = response.header("cf-mitigated").map(str::to_string);
        let retry_after = response.header("retry-after").map(str::to_string);
        let location = response.header("location").map(str::to_string);
        let body = self.read_body(path, response)?;
        judge(
            self.service,
            path,
            &Answer {
                status,
                cf_mitigated: cf_mitigated.as_deref(),
                retry_after: retry_after.as_deref(),
                location: location.as_deref(),
                body: &body,
            },
            soft_404,
        )
    }

    fn read_body(&self, path: &str, response: ureq::Response) -> Result<Vec<u8>, FetchError> {
        let too_big = || {
            FetchError::new(
                ErrorKind::Http,
                format!("{} sent more than 1 MiB for {path}: refused", self.service),
            )
        };
        let declared = response
            .header("content-length")
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BODY) {
            return Err(too_big());
        }
        let mut body = Vec::new();
        response
            .into_reader()
            .take(MAX_BODY + 1)
            .read_to_end(&mut body)
            .map_err(|e| self.io_error(path, &e))?;
        if body.len() as u64 > MAX_BODY {
            return Err(too_big());
        }
        Ok(body)
    }

    fn io_error(&self, path: &str, e: &std::io::Error) -> FetchError {
        if matches!(
            e.kind(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
        ) {
            self.timeout_error(path)
        } else {
            FetchError::new(
                ErrorKind::Network,
                format!("reading {path} from {} failed: {e}", self.service),
            )
        }
    }

    fn timeout_error(&self, path: &str) -> FetchError {
        FetchError::new(
            ErrorKind::Timeout,
            format!(
                "{} did not answer {path} within {} s",
                self.service,
                self.timeout.as_secs()
            ),
        )
    }

    fn transport_error(&self, path: &str, t: &ureq::Transport) -> FetchError {
        let io = std::error::Error::source(t).and_then(|s| s.downcast_ref::<std::io::Error>());
        if let Some(e) = io {
            if matches!(
                e.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) {
                return self.timeout_error(path);
            }
        }
        let detail = t
            .message()
            .map(str::to_string)
            .or_else(|| io.map(|e| e.to_string()))
            .unwrap_or_else(|| t.kind().to_string());
        if detail.contains("timed out") {
            return self.timeout_error(path);
        }
        FetchError::new(
            ErrorKind::Network,
            format!("cannot reach {} ({}): {detail}", self.service, self.base),
        )
    }
}

/// One answer to a GET, before it is judged: the HTTP client's response, or what the
/// browser extension fetched for the same path inside the user's session.
pub struct Answer<'a> {
    pub status: u16,
    pub cf_mitigated: Option<&'a str>,
    pub retry_after: Option<&'a str>,
    pub location: Option<&'a str>,
    pub body: &'a [u8],
}

/// The rules every answer is judged by, whoever fetched it: a challenge, a lost login, a
/// rate limit or a body that is not JSON each become their own `ErrorKind`.
pub fn judge(
    service: &str,
    path: &str,
    answer: &Answer,
    soft_404: bool,
) -> Result<Optional, FetchError> {
    let status = answer.status;
    let cf_challenge = answer
        .cf_mitigated
        .is_some_and(|v| v.eq_ignore_ascii_case("challenge"));
    let retry_after = answer.retry_after;
    let location = answer.location;
    let body = answer.body;
    let text = String::from_utf8_lossy(body);
    let now = crate::clock::now();

    if cf_challenge || ((status == 403 || status == 503) && looks_like_challenge(&text)) {
        return Err(FetchError::new(
            ErrorKind::Cloudflare,
            format!(
                "{} answered with a Cloudflare bot challenge (HTTP {status} \"Just a moment...\"), \
                 not a login problem: open {} in your browser, or try again later",
                service, service
            ),
        ));
    }
    match status {
        200..=299 => {}
        401 => {
            return Err(FetchError::new(
                ErrorKind::Unauthorized,
                // What to do is `ErrorKind::fix`'s, said on the line below.
                format!("{} session expired or invalid (HTTP 401)", service),
            ));
        }
        403 => {
            let reason = server_message(&text).unwrap_or_else(|| "no reason given".into());
            return Err(FetchError::new(
                ErrorKind::Forbidden,
                format!("{} refused {path} (HTTP 403): {reason}", service),
            ));
        }
        404 if soft_404 => return Ok(Optional::NotFound),
        429 => {
            let retry_at = retry_after.and_then(|v| parse_retry_after(v, now));
            let mut err = FetchError::new(
                ErrorKind::RateLimited,
                format!(
                    "{} rate limit (HTTP 429){}",
                    service,
                    match retry_at {
                        // The time itself is `retry_at`, shown in the reader's zone when shown.
                        Some(t) if t > now => format!(
                            ": Retry-After {}",
                            crate::duration::short_duration((t - now).num_seconds())
                        ),
                        _ => ": no Retry-After given".to_string(),
                    }
                ),
            );
            err.retry_at = retry_at;
            return Err(err);
        }
        300..=399 => {
            return Err(FetchError::new(
                ErrorKind::Http,
                format!(
                    "{} redirected {path} (HTTP {status}) to {}: usually a lost login",
                    service,
                    location.map(printable).unwrap_or_default()
                ),
            ))
        }
        _ => {
            return Err(FetchError::new(
                ErrorKind::Http,
                format!("{} answered HTTP {status} for {path}", service),
            ))
        }
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => Ok(Optional::Found(v)),
        Err(_) if looks_like_challenge(&text) => Err(FetchError::new(
            ErrorKind::Cloudflare,
            format!(
                "{} answered {path} with a Cloudflare challenge page",
                service
            ),
        )),
        Err(e) => Err(FetchError::new(
            ErrorKind::Parse,
            format!("{} sent a body that is not JSON for {path}: {e}", service),
        )),
    }
}

fn looks_like_challenge(text: &str) -> bool {
    text.contains("Just a moment") || text.contains("_cf_chl_opt")
}

/// The server's own reason from `{"error": {"message": ...}}`, made printable and short.
fn server_message(text: &str) -> Option<String> {
    let v: Value = serde_json::from_str(text).ok()?;
    let msg = v.pointer("/error/message")?.as_str()?;
    Some(printable(msg))
}

/// Server text is shown to users and written to the cache: no control characters, bounded.
pub fn printable(text: &str) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
    clean
}

/// `Retry-After` is seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let value = value.trim();
    let at = match value.parse::<i64>() {
        Ok(secs) => now + Duration::seconds(secs.min(86_400)),
        Err(_) => DateTime::parse_from_rfc2822(value)
            .ok()?
            .with_timezone(&Utc),
    };
    // "0" or a date already past says nothing: the caller's floor applies.
    (at > now).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn base_url_must_be_https_or_loopback_http() {
        let ok = |u: &str| check_base_url("X", u).is_ok();
        assert!(ok("https://claude.ai"));
        assert!(ok("http://127.0.0.1:8080"));
        assert!(ok("http://localhost:1/"));
        assert!(ok("http://[::1]:9000"));
        assert!(!ok("http://claude.ai"));
        assert!(!ok("http://127.0.0.1.evil.com"));
        assert!(!ok("http://10.0.0.1"));
        assert!(!ok("ftp://x"));
        // The host the client connects to is after the userinfo: refused, whatever it says.
        for url in [
            "http://localhost:1@192.0.2.2:8080",
            "http://127.0.0.1:1@192.0.2.2",
            "http://[::1]:1@192.0.2.2",
            "https://user:pw@claude.ai",
        ] {
            assert!(!ok(url), "{url}");
        }
        assert!(!ok("http://localhost.evil.com"));
        assert_eq!(
            check_base_url("X", "http://127.0.0.1:9/").unwrap(),
            "http://127.0.0.1:9"
        );
    }

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Utc.with_ymd_and_hms(2026, 11, 22, 12, 2, 0).unwrap())
        );
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 12:10:00 GMT", now),
            Some(Utc.with_ymd_and_hms(2026, 11, 22, 12, 10, 0).unwrap())
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("0", now), None);
    }
}
