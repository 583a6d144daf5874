//! `quotaline json [--org UUID]`: the snapshot for scripts (schema 1).

use crate::cache::SCHEMA;
use crate::error::ErrorRecord;
use crate::refresh::load_fresh;
use crate::settings;
use crate::snapshot::Org;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// The documented JSON shape; field order is the order in the docs.
#[derive(Serialize)]
struct Output<'a> {
    schema: u32,
    source: Option<&'a str>,
    fetched_at: Option<DateTime<Utc>>,
    stale: bool,
    age_seconds: Option<i64>,
    error: Option<&'a ErrorRecord>,
    active_org: Option<&'a str>,
    orgs: Vec<OrgOut<'a>>,
    /// The logins the orgs belong to (`Org::account_uuid`), each with its orgs, and, for a
    /// session refreshed on its own (another browser profile), where it was found and its
    /// own last error.
    accounts: Vec<AccountView<'a>>,
}

/// One org, with whose plan it is: `claude`, or `codex` for OpenAI Codex's windows.
#[derive(Serialize)]
struct OrgOut<'a> {
    provider: &'static str,
    #[serde(flatten)]
    org: &'a Org,
}

#[derive(Serialize)]
struct AccountView<'a> {
    account_uuid: &'a str,
    email: Option<&'a str>,
    orgs: Vec<&'a str>,
    session: Option<&'a str>,
    error: Option<&'a ErrorRecord>,
}

/// Every account the orgs name, in the order they first appear.
fn accounts<'a>(file: &'a crate::cache::CacheFile, orgs: &[OrgOut<'a>]) -> Vec<AccountView<'a>> {
    let mut out: Vec<AccountView> = Vec::new();
    for org in orgs.iter().map(|o| o.org) {
        let Some(uuid) = org.account_uuid.as_deref() else {
            continue;
        };
        if let Some(view) = out.iter_mut().find(|v| v.account_uuid == uuid) {
            view.orgs.push(&org.org_uuid);
            view.email = view.email.or(org.email.as_deref());
            continue;
        }
        let session = file.session_of(uuid);
        out.push(AccountView {
            account_uuid: uuid,
            email: org.email.as_deref(),
            orgs: vec![&org.org_uuid],
            session: session.map(|(origin, _)| origin.as_str()),
            error: session.and_then(|(_, s)| s.state.error.as_ref()),
        });
    }
    out
}

pub fn run(org: Option<String>) -> i32 {
    let cache = crate::settings::cache();
    let file = load_fresh(&cache);
    let now = crate::clock::now();
    let snapshot = file.snapshot.as_ref();
    let orgs: Vec<OrgOut> = snapshot
        .map(|s| {
            s.orgs
                .iter()
                .filter(|o| org.as_deref().is_none_or(|u| o.org_uuid == u))
                .map(|o| OrgOut {
                    provider: o.provider(),
                    org: o,
                })
                .collect()
        })
        .unwrap_or_default();
    // The age of the org `--org` names, else of the one a segment shows (`CacheFile::age`).
    let shown = settings::shown_org(org.clone(), &file);
    let age = file.age(shown.as_deref(), now);
    let out = Output {
        schema: SCHEMA,
        source: snapshot.map(|s| s.source.as_str()),
        fetched_at: snapshot.map(|s| s.fetched_at),
        stale: age.is_none() || crate::schedule::is_stale(&file, shown.as_deref(), now),
        age_seconds: age,
        error: file.state.error.as_ref(),
        active_org: snapshot.and_then(|s| s.active_org.as_deref()),
        accounts: accounts(&file, &orgs),
        orgs,
    };
    match serde_json::to_string_pretty(&out) {
        Ok(text) => super::out(&format!("{text}\n")),
        Err(e) => {
            super::warn(&e.to_string());
            return 1;
        }
    }
    // Asked for an org the cache does not hold (`--org`, QUOTALINE_ORG, config.toml): the
    // JSON above has every other org, and the exit says the one asked for is not there.
    let asked = settings::org_setting(org, settings::Scope::Process);
    if let Some((what, fix)) = crate::render::report::missing_org(&file, &asked) {
        super::fail(&what, Some(&fix));
        return 1;
    }
    if out.orgs.is_empty() {
        if let Some(e) = &file.state.error {
            super::fail(&format!("no data: {}", e.message), Some(e.kind.fix()));
        }
        1
    } else {
        0
    }
}
