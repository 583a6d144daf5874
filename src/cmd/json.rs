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
}

/// One org, with whose plan it is: `claude`, or `codex` for OpenAI Codex's windows.
#[derive(Serialize)]
struct OrgOut<'a> {
    provider: &'static str,
    #[serde(flatten)]
    org: &'a Org,
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
    let shown = settings::org(org.clone());
    let age = file.age(shown.as_deref(), now);
    let out = Output {
        schema: SCHEMA,
        source: snapshot.map(|s| s.source.as_str()),
        fetched_at: snapshot.map(|s| s.fetched_at),
        stale: age.is_none() || crate::schedule::is_stale(&file, shown.as_deref(), now),
        age_seconds: age,
        error: file.state.error.as_ref(),
        active_org: snapshot.and_then(|s| s.active_org.as_deref()),
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
