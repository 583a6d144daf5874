//! The claude.ai three-endpoint join, after `/api/account`: the same JSON the settings page
//! reads. Requests go one after another, as a page reload does, at most four per org.

use super::http::{check_base_url, Client, Optional};
use crate::auth::Credentials;
use crate::error::{ErrorKind, FetchError};
use crate::settings;
use crate::snapshot::{
    is_org_uuid, merge_extra, parse_account, parse_overage, parse_subscription, parse_usage, part,
    Membership, Org, Provenance, Raw, Snapshot,
};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::BTreeMap;

pub const SOURCE: &str = "claude.ai";

/// A desktop browser's User-Agent: the CDN treats anything else as a bot.
const USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                          Chrome/142.0.0.0 Safari/537.36";

pub fn client(creds: &Credentials) -> Result<Client, FetchError> {
    let (var, base) = settings::claude_ai_url();
    let base = check_base_url(var, &base)?;
    Ok(Client::new(
        "claude.ai",
        base,
        vec![
            ("Cookie", creds.cookie_header().to_string()),
            // claude.ai checks it as CSRF protection: without it the same request is a 403.
            ("Referer", "https://claude.ai/settings/usage".to_string()),
            ("Accept", "*/*".to_string()),
            ("User-Agent", USER_AGENT.to_string()),
        ],
    ))
}

/// Failures that hit every request alike: asking the next endpoint would only repeat them
/// (and, for a challenge or a rate limit, make things worse).
fn ends_the_tick(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Cloudflare
            | ErrorKind::RateLimited
            | ErrorKind::Unauthorized
            | ErrorKind::Network
            | ErrorKind::Timeout
            | ErrorKind::Config
    )
}

/// Where the join's bodies come from: claude.ai over HTTP, or the answers the browser
/// extension fetched inside the user's session (`quotaline native-host`). Either way the
/// same join and the same parsers turn them into a snapshot.
pub trait Endpoints {
    fn get_json(&self, path: &str) -> Result<Value, FetchError>;
    /// 404 is `NotFound`.
    fn get_optional(&self, path: &str) -> Result<Optional, FetchError>;
}

impl Endpoints for Client {
    fn get_json(&self, path: &str) -> Result<Value, FetchError> {
        Client::get_json(self, path)
    }
    fn get_optional(&self, path: &str) -> Result<Optional, FetchError> {
        Client::get_optional(self, path)
    }
}

/// Fetches every org the account belongs to. `previous` supplies what a soft failure keeps
/// (names when `/api/account` failed, a billing part that errored this time).
pub fn fetch(creds: &Credentials, previous: Option<&Snapshot>) -> Result<Snapshot, FetchError> {
    let client = client(creds)?;
    join(
        &client,
        SOURCE,
        Utc::now(),
        creds.last_active_org(),
        previous,
    )
}

/// The join: `/api/account`, then per membership `/usage` and the two billing endpoints,
/// into one snapshot whose parts carry `source` and `now` as their provenance.
/// `cookie_org` is the `lastActiveOrg` cookie, which names the active org.
pub fn join(
    client: &impl Endpoints,
    source: &str,
    now: DateTime<Utc>,
    cookie_org: Option<String>,
    previous: Option<&Snapshot>,
) -> Result<Snapshot, FetchError> {
    // Ids from a cookie or a setting go into request paths too: uuids only.
    let pinned = settings::org(None).filter(|o| is_org_uuid(o));
    let cookie_org = cookie_org.filter(|o| is_org_uuid(o));

    let (email, memberships) = match client
        .get_json("/api/account")
        .and_then(|body| parse_account(&body).map_err(|m| FetchError::new(ErrorKind::Parse, m)))
    {
        Ok(account) => account,
        // Without the account there is no org list, unless the org is known otherwise.
        Err(e) if ends_the_tick(e.kind) => return Err(e),
        Err(e) => {
            let Some(uuid) = cookie_org.clone().or(pinned.clone()) else {
                return Err(e);
            };
            let known = previous.and_then(|p| p.org(Some(&uuid)));
            let membership = Membership {
                uuid: uuid.clone(),
                name: known.and_then(|o| o.org_name.clone()),
                plan: known.and_then(|o| o.plan.clone()),
                chat: true,
            };
            (known.and_then(|o| o.email.clone()), vec![membership])
        }
    };
    if memberships.is_empty() {
        return Err(FetchError::new(
            ErrorKind::Parse,
            "claude.ai account has no organization memberships",
        ));
    }
    let active = cookie_org
        .filter(|c| memberships.iter().any(|m| &m.uuid == c))
        .or(pinned.filter(|p| memberships.iter().any(|m| &m.uuid == p)))
        .or_else(|| memberships.iter().find(|m| m.chat).map(|m| m.uuid.clone()))
        .unwrap_or_else(|| memberships[0].uuid.clone());

    let mut orgs = Vec::new();
    for m in &memberships {
        let before = previous.and_then(|p| p.org(Some(&m.uuid)));
        let here = Provenance {
            source: source.to_string(),
            at: now,
        };
        match fetch_org(client, m, email.clone(), before, here) {
            Ok(org) => orgs.push(org),
            Err(e) if ends_the_tick(e.kind) || m.uuid == active => return Err(e),
            // Another org failing (an API-only membership, say) keeps its last numbers.
            Err(_) => orgs.extend(before.cloned()),
        }
    }
    Ok(Snapshot {
        source: source.to_string(),
        fetched_at: now,
        active_org: Some(active),
        orgs,
    })
}

fn fetch_org(
    client: &impl Endpoints,
    m: &Membership,
    email: Option<String>,
    before: Option<&Org>,
    here: Provenance,
) -> Result<Org, FetchError> {
    let base = format!("/api/organizations/{}", m.uuid);
    let usage_body = client.get_json(&format!("{base}/usage"))?;
    let usage = parse_usage(&usage_body, &here.source, before)
        .map_err(|msg| FetchError::new(ErrorKind::Parse, format!("{msg} (from {base}/usage)")))?;
    let mut sources = BTreeMap::from([(part::USAGE.to_string(), here.clone())]);
    let mut raw = Raw {
        usage: usage_body,
        ..Raw::default()
    };

    // The billing endpoints are soft: 404 means "none" (free orgs), and any failure that is
    // not account-wide keeps what was known before, with its own age.
    let overage = soft(client, &format!("{base}/overage_spend_limit"))?;
    let extra_usage = match overage {
        Some(Some(body)) => {
            let extra = merge_extra(parse_overage(&body), usage.extra_usage);
            raw.overage_spend_limit = body;
            sources.insert(part::EXTRA_USAGE.into(), here.clone());
            extra
        }
        Some(None) => {
            sources.insert(part::EXTRA_USAGE.into(), here.clone());
            usage.extra_usage
        }
        None => carry(before, &mut sources, part::EXTRA_USAGE, |o| {
            o.extra_usage.clone()
        })
        .or(usage.extra_usage),
    };
    let subscription = match soft(client, &format!("{base}/subscription_details"))? {
        Some(Some(body)) => {
            let sub = parse_subscription(&body);
            raw.subscription_details = body;
            sources.insert(part::SUBSCRIPTION.into(), here.clone());
            sub
        }
        Some(None) => {
            sources.insert(part::SUBSCRIPTION.into(), here);
            None
        }
        None => carry(before, &mut sources, part::SUBSCRIPTION, |o| {
            o.subscription.clone()
        }),
    };
    Ok(Org {
        org_uuid: m.uuid.clone(),
        org_name: m.name.clone(),
        email,
        plan: m.plan.clone(),
        windows: usage.windows,
        extra_usage,
        subscription,
        sources,
        raw,
        pace: BTreeMap::new(),
        unusable: usage.unusable,
    })
}

/// `Some(Some(body))` found, `Some(None)` a 404, `None` a soft failure (keep the old value).
fn soft(client: &impl Endpoints, path: &str) -> Result<Option<Option<Value>>, FetchError> {
    match client.get_optional(path) {
        Ok(Optional::Found(v)) => Ok(Some(Some(v))),
        Ok(Optional::NotFound) => Ok(Some(None)),
        Err(e) if ends_the_tick(e.kind) => Err(e),
        Err(_) => Ok(None),
    }
}

fn carry<T>(
    before: Option<&Org>,
    sources: &mut BTreeMap<String, Provenance>,
    part: &str,
    get: impl Fn(&Org) -> Option<T>,
) -> Option<T> {
    let before = before?;
    if let Some(p) = before.sources.get(part) {
        sources.insert(part.to_string(), p.clone());
    }
    get(before)
}
