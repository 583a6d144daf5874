//! The claude.ai three-endpoint join, after `/api/account`: the same JSON the settings page
//! reads. Requests go one after another, as a page reload does, at most four per org, and
//! only for the parts the schedule says are due (`schedule::plan`).

use super::http::{check_base_url, Client, Optional};
use crate::auth::Credentials;
use crate::error::{ErrorKind, FetchError};
use crate::schedule::Plan;
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
    /// Who answers, for messages ("claude.ai").
    fn service(&self) -> &str;
}

impl Endpoints for Client {
    fn get_json(&self, path: &str) -> Result<Value, FetchError> {
        Client::get_json(self, path)
    }
    fn get_optional(&self, path: &str) -> Result<Optional, FetchError> {
        Client::get_optional(self, path)
    }
    fn service(&self) -> &str {
        self.service
    }
}

/// Fetches what `plan` asks for (`schedule::plan`). `previous` supplies the rest: the org
/// list when it is not due, the parts not asked, what a soft failure keeps.
pub fn fetch(
    creds: &Credentials,
    previous: Option<&Snapshot>,
    plan: &Plan,
) -> Result<Snapshot, FetchError> {
    let client = client(creds)?;
    join(
        &client,
        SOURCE,
        crate::clock::now(),
        creds.last_active_org(),
        previous,
        plan,
    )
}

/// The org list as last read (the orgs that carry an `/api/account` provenance), in the
/// order it was read; `None` when there is none to go by.
fn held_list(previous: Option<&Snapshot>) -> Option<(Option<String>, Vec<Membership>)> {
    let orgs: Vec<&Org> = previous?
        .orgs
        .iter()
        .filter(|o| o.sources.contains_key(part::ACCOUNT))
        .collect();
    let email = orgs.iter().find_map(|o| o.email.clone());
    let list: Vec<Membership> = orgs
        .iter()
        .map(|o| Membership {
            uuid: o.org_uuid.clone(),
            account: o.account_uuid.clone(),
            name: o.org_name.clone(),
            plan: o.plan.clone(),
            chat: true,
        })
        .collect();
    (!list.is_empty()).then_some((email, list))
}

/// `/api/account`: the email and every membership, or, when it fails softly, the org a
/// cookie or a setting names.
fn read_list(
    client: &impl Endpoints,
    previous: Option<&Snapshot>,
    known_org: Option<String>,
) -> Result<(Option<String>, Vec<Membership>), FetchError> {
    match client
        .get_json("/api/account")
        .and_then(|body| parse_account(&body).map_err(|m| FetchError::new(ErrorKind::Parse, m)))
    {
        Ok(account) => Ok(account),
        // Without the account there is no org list, unless the org is known otherwise.
        Err(e) if ends_the_tick(e.kind) => Err(e),
        Err(e) => {
            let Some(uuid) = known_org else {
                return Err(e);
            };
            let known = previous.and_then(|p| p.org(Some(&uuid)));
            let membership = Membership {
                uuid: uuid.clone(),
                account: known.and_then(|o| o.account_uuid.clone()),
                name: known.and_then(|o| o.org_name.clone()),
                plan: known.and_then(|o| o.plan.clone()),
                chat: true,
            };
            Ok((known.and_then(|o| o.email.clone()), vec![membership]))
        }
    }
}

/// Why one org's reading failed: the server's answer, or a sign that the org list moved (a
/// 404, or a 403, for an org taken from a list this refresh did not read).
enum OrgFailure {
    Fetch(FetchError),
    Moved(FetchError),
}

/// The join: the org list (`/api/account`, when `plan` asks for it), then per membership
/// `/usage` and the billing parts that are due, into one snapshot whose parts carry `source`
/// and `now` as their provenance. The orgs and parts not asked keep what `previous` held,
/// with their own ages. `cookie_org` is the `lastActiveOrg` cookie, which names the active org.
pub fn join(
    client: &impl Endpoints,
    source: &str,
    now: DateTime<Utc>,
    cookie_org: Option<String>,
    previous: Option<&Snapshot>,
    plan: &Plan,
) -> Result<Snapshot, FetchError> {
    // Ids from a cookie or a setting go into request paths too: uuids only.
    let pinned = settings::org(None).filter(|o| is_org_uuid(o));
    let cookie_org = cookie_org.filter(|o| is_org_uuid(o));
    let held = held_list(previous);
    // The list is read when it is due, when none is held, or at once when an org's answer
    // says it moved.
    let mut fresh_list = plan.account.is_some() || held.is_none();
    // Orgs read before the list turned out to have moved: not asked twice.
    let mut read: BTreeMap<String, Org> = BTreeMap::new();
    'list: loop {
        let (email, memberships) = if fresh_list {
            read_list(client, previous, cookie_org.clone().or(pinned.clone()))?
        } else {
            held.clone().unwrap_or_default()
        };
        if memberships.is_empty() {
            return Err(FetchError::new(
                ErrorKind::Parse,
                "claude.ai account has no organization memberships",
            ));
        }
        let listed = |id: &Option<String>| {
            id.clone()
                .filter(|c| memberships.iter().any(|m| &m.uuid == c))
        };
        let kept_active = if fresh_list {
            None
        } else {
            listed(&previous.and_then(|p| p.active_org.clone()))
        };
        let active = listed(&cookie_org)
            .or(listed(&pinned))
            .or(kept_active)
            .or_else(|| memberships.iter().find(|m| m.chat).map(|m| m.uuid.clone()))
            .unwrap_or_else(|| memberships[0].uuid.clone());

        let here = Provenance {
            source: source.to_string(),
            at: now,
        };
        let mut orgs = Vec::new();
        for m in &memberships {
            if let Some(org) = read.get(&m.uuid) {
                orgs.push(listed_org(org.clone(), m, &email, &here, fresh_list));
                continue;
            }
            let before = previous.and_then(|p| p.login_org(m.account.as_deref(), &m.uuid));
            let read_before = before.is_some_and(|o| o.sources.contains_key(part::USAGE));
            if read_before && !plan.wants_usage(&m.uuid) {
                // Not due: as held, with the list's news when the list was read.
                orgs.extend(before.map(|o| listed_org(o.clone(), m, &email, &here, fresh_list)));
                continue;
            }
            let part_of = Part {
                membership: m,
                email: email.clone(),
                before,
                here: here.clone(),
                fresh_list,
            };
            match fetch_org(client, part_of, plan) {
                Ok(org) => {
                    read.insert(m.uuid.clone(), org.clone());
                    orgs.push(org)
                }
                Err(OrgFailure::Moved(_)) if !fresh_list => {
                    fresh_list = true;
                    continue 'list;
                }
                Err(OrgFailure::Moved(e) | OrgFailure::Fetch(e))
                    if ends_the_tick(e.kind) || m.uuid == active =>
                {
                    return Err(e)
                }
                // Another org failing (an API-only membership, say) keeps its last numbers,
                // and waits its interval before it is asked again.
                Err(_) => orgs.extend(before.cloned().map(|mut o| {
                    o.sources.insert(part::ASKED.into(), here.clone());
                    o
                })),
            }
        }
        return Ok(Snapshot {
            source: source.to_string(),
            fetched_at: now,
            active_org: Some(active),
            orgs,
        });
    }
}

/// `org` as held, with its entry of a list read now (name, plan, email, the list's age).
fn listed_org(
    mut org: Org,
    m: &Membership,
    email: &Option<String>,
    here: &Provenance,
    fresh_list: bool,
) -> Org {
    if fresh_list {
        org.account_uuid = m.account.clone().or(org.account_uuid);
        org.org_name = m.name.clone().or(org.org_name);
        org.plan = m.plan.clone().or(org.plan);
        org.email = email.clone().or(org.email);
        org.sources.insert(part::ACCOUNT.into(), here.clone());
    }
    org
}

/// One org to read, and what is known of it.
struct Part<'a> {
    membership: &'a Membership,
    email: Option<String>,
    before: Option<&'a Org>,
    here: Provenance,
    /// Whether the org list was read in this refresh (else it is the one held).
    fresh_list: bool,
}

fn fetch_org(client: &impl Endpoints, p: Part, plan: &Plan) -> Result<Org, OrgFailure> {
    let Part {
        membership: m,
        email,
        before,
        here,
        fresh_list,
    } = p;
    let base = format!("/api/organizations/{}", m.uuid);
    let usage_path = format!("{base}/usage");
    let usage_body = match client.get_optional(&usage_path) {
        Ok(Optional::Found(body)) => body,
        // The org is gone from this account: the list moved under the one held.
        Ok(Optional::NotFound) => {
            return Err(OrgFailure::Moved(FetchError::new(
                ErrorKind::Http,
                format!("{} answered HTTP 404 for {usage_path}", client.service()),
            )))
        }
        Err(e) if e.kind == ErrorKind::Forbidden => return Err(OrgFailure::Moved(e)),
        Err(e) => return Err(OrgFailure::Fetch(e)),
    };
    let usage = parse_usage(&usage_body, &here.source, before)
        .map_err(|msg| FetchError::new(ErrorKind::Parse, format!("{msg} (from {usage_path})")))
        .map_err(OrgFailure::Fetch)?;
    let mut sources = BTreeMap::from([(part::USAGE.to_string(), here.clone())]);
    match (
        fresh_list,
        before.and_then(|o| o.sources.get(part::ACCOUNT)),
    ) {
        (true, _) => {
            sources.insert(part::ACCOUNT.into(), here.clone());
        }
        (false, Some(p)) => {
            sources.insert(part::ACCOUNT.into(), p.clone());
        }
        (false, None) => {}
    }
    let previous_body_extra = before.and_then(|o| {
        let body = &o.raw.usage;
        crate::snapshot::parse_extra(body.get("spend"), body.get("extra_usage"))
    });
    let mut raw = Raw {
        usage: usage_body,
        ..Raw::default()
    };
    let soft = |path: &str| soft(client, path).map_err(OrgFailure::Fetch);
    let held = |part: &str| before.and_then(|o| o.sources.get(part)).map(|p| p.at);

    // The overage endpoint is the word on extra usage (`/usage` carries a copy, not always in
    // step): asked at the first reading, whenever the copy in `/usage` changed (the spend
    // moved, or it was switched on or off), and hourly while it is on. Off and unchanged,
    // nothing is asked.
    let held_on = before.and_then(|o| o.extra_usage.as_ref().map(|e| e.enabled));
    let ask_overage = plan.everything
        || held(part::EXTRA_USAGE).is_none()
        || usage.extra_usage != previous_body_extra
        || (held_on != Some(false) && plan.wants_hourly(held(part::EXTRA_USAGE)));
    // The billing endpoints are soft: 404 means "none" (free orgs), and any failure that is
    // not account-wide keeps what was known before, with its own age; so does a part that was
    // not asked for (its body as held, too).
    let overage = if ask_overage {
        soft(&format!("{base}/overage_spend_limit"))?
    } else {
        raw.overage_spend_limit = before
            .map(|o| o.raw.overage_spend_limit.clone())
            .unwrap_or_default();
        None
    };
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
    let details = if plan.wants_hourly(held(part::SUBSCRIPTION)) {
        soft(&format!("{base}/subscription_details"))?
    } else {
        raw.subscription_details = before
            .map(|o| o.raw.subscription_details.clone())
            .unwrap_or_default();
        None
    };
    let subscription = match details {
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
        account_uuid: m.account.clone(),
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
