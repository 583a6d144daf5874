//! Where numbers come from. Sources return a `Snapshot` or a `FetchError`; they never
//! format anything and never touch the cache.

pub mod claude_ai;
pub mod http;

use crate::error::FetchError;
use crate::snapshot::Snapshot;

/// One refresh: the configured sources, first with credentials first.
pub fn fetch(previous: Option<&Snapshot>) -> Result<Snapshot, FetchError> {
    let creds = crate::auth::claude_ai()?;
    claude_ai::fetch(&creds, previous)
}

/// Folds a new reading into the previous snapshot. Parts the new reading did not cover
/// (no provenance for them) keep their earlier value and provenance; orgs the new reading
/// did not mention are kept unless it came with the full membership list.
pub fn merge(previous: Option<&Snapshot>, mut new: Snapshot, complete_org_list: bool) -> Snapshot {
    let Some(previous) = previous else {
        return new;
    };
    for org in &mut new.orgs {
        let Some(old) = previous.org(Some(&org.org_uuid)) else {
            continue;
        };
        org.org_name = org.org_name.take().or_else(|| old.org_name.clone());
        org.email = org.email.take().or_else(|| old.email.clone());
        org.plan = org.plan.take().or_else(|| old.plan.clone());
        for part in ["extra_usage", "subscription"] {
            if org.sources.contains_key(part) {
                continue;
            }
            if let Some(p) = old.sources.get(part) {
                org.sources.insert(part.to_string(), p.clone());
            }
            match part {
                "extra_usage" => org.extra_usage = old.extra_usage.clone(),
                _ => org.subscription = old.subscription.clone(),
            }
        }
    }
    if !complete_org_list {
        for old in &previous.orgs {
            if new.org(Some(&old.org_uuid)).is_none() {
                new.orgs.push(old.clone());
            }
        }
        if new.active_org.is_none() {
            new.active_org = previous.active_org.clone();
        }
    }
    new
}
