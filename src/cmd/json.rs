//! `quotaline json [--org UUID]`: the snapshot for scripts (schema 1).

use super::refresh;
use crate::cache::{Cache, CacheFile, ErrorRecord, SCHEMA};
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
    orgs: Vec<&'a Org>,
}

/// Reads the cache, refreshing first (synchronously) when it is stale and no backoff binds.
pub fn load_fresh(cache: &Cache) -> CacheFile {
    let file = cache.read();
    let now = Utc::now();
    let stale = file.age(now).is_none_or(|age| age >= settings::ttl());
    if stale && file.state.backoff_until(now).is_none() {
        let _ = refresh::refresh(cache, false);
        return cache.read();
    }
    file
}

pub fn run(org: Option<String>) -> i32 {
    let cache = Cache::locate();
    let file = load_fresh(&cache);
    let now = Utc::now();
    let snapshot = file.snapshot.as_ref();
    let orgs: Vec<&Org> = snapshot
        .map(|s| {
            s.orgs
                .iter()
                .filter(|o| org.as_deref().is_none_or(|u| o.org_uuid == u))
                .collect()
        })
        .unwrap_or_default();
    let age = file.age(now);
    let out = Output {
        schema: SCHEMA,
        source: snapshot.map(|s| s.source.as_str()),
        fetched_at: snapshot.map(|s| s.fetched_at),
        stale: age.is_none_or(|a| a >= settings::ttl()),
        age_seconds: age,
        error: file.state.error.as_ref(),
        active_org: snapshot.and_then(|s| s.active_org.as_deref()),
        orgs,
    };
    match serde_json::to_string_pretty(&out) {
        Ok(text) => super::out(&format!("{text}\n")),
        Err(e) => {
            eprintln!("quotaline: {e}");
            return 1;
        }
    }
    if out.orgs.is_empty() {
        if let Some(e) = &file.state.error {
            eprintln!("quotaline: no data: {}", e.message);
        }
        1
    } else {
        0
    }
}
