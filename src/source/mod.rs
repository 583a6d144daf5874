//! Where numbers come from. Sources return a `Snapshot` or a `FetchError`; they never
//! format anything and never touch the cache.

pub mod claude_ai;
pub mod claude_code_cache;
pub mod codex;
pub mod extension;
pub mod http;
pub mod oauth;
pub mod status_page;
pub mod statusline;

use crate::error::{ErrorKind, FetchError};
use crate::snapshot::{part, Account, Org, Provenance, Raw, Snapshot, Usage};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::BTreeMap;

/// The sources to try, in order (`settings::sources_setting`), checked before any request.
pub fn sources() -> Result<Vec<String>, FetchError> {
    crate::settings::sources_setting()
        .map(|s| s.value)
        .map_err(|e| FetchError::new(ErrorKind::Config, e))
}

/// The org a `/usage` body read on Claude Code's login stands for (its OAuth request, or the
/// copy Claude Code keeps): named by Claude Code's account, read by `source` at `at`. Extra
/// usage only when claude.ai's overage endpoint has not said more (out of credits, paused
/// until): that value is kept by the merge, with its own age, whenever there is one.
pub fn claude_code_org(
    account: &Account,
    usage: Usage,
    body: Value,
    held: Option<&Org>,
    (source, at): (&str, DateTime<Utc>),
) -> Org {
    let here = Provenance {
        source: source.to_string(),
        at,
    };
    let mut sources = BTreeMap::from([(part::USAGE.to_string(), here.clone())]);
    let known_better = held.is_some_and(|o| o.sources.contains_key(part::EXTRA_USAGE));
    let extra_usage = match usage.extra_usage {
        Some(extra) if !known_better => {
            sources.insert(part::EXTRA_USAGE.to_string(), here);
            Some(extra)
        }
        _ => None,
    };
    Org {
        org_uuid: account.org_uuid.clone(),
        account_uuid: account.account_uuid.clone(),
        org_name: account.org_name.clone(),
        email: account.email.clone(),
        plan: account.plan.clone(),
        windows: usage.windows,
        extra_usage,
        subscription: None,
        sources,
        raw: Raw {
            usage: body,
            ..Raw::default()
        },
        pace: BTreeMap::new(),
        unusable: usage.unusable,
    }
}

/// Failures that say "this source cannot answer here", not "stop asking": the next source
/// is tried within the same refresh. A rate limit or a server error ends the refresh, so the
/// backoff binds.
fn try_next(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Cloudflare | ErrorKind::Unauthorized | ErrorKind::NoCredentials
    )
}

/// The part of `previous` that is one login's: the orgs `keep` says are its by their
/// account. A claude.ai session's refresh goes by its own account's org list only (another
/// account's orgs are not its to ask for); `None` when nothing is left.
pub fn of_account(
    previous: Option<&Snapshot>,
    keep: impl Fn(Option<&str>) -> bool,
) -> Option<Snapshot> {
    let previous = previous?;
    let orgs: Vec<Org> = previous
        .orgs
        .iter()
        .filter(|o| keep(o.account_uuid.as_deref()))
        .cloned()
        .collect();
    (!orgs.is_empty()).then(|| Snapshot {
        orgs,
        ..previous.clone()
    })
}

/// One refresh: the configured sources in order, the first that answers wins, asking for
/// what `plan` says is due. `claude_ai` is the session the claude.ai source uses (found by
/// the refresh's one search: `auth::sessions`); `seen_version` is the Claude Code version
/// statusLine stdin last reported (for the OAuth User-Agent); `own` is the part of `previous`
/// that is the first session's (the other logins' orgs are theirs to ask for): claude.ai is
/// asked by its org list.
pub fn fetch(
    previous: Option<&Snapshot>,
    claude_ai: Result<&crate::auth::Credentials, FetchError>,
    seen_version: Option<&str>,
    plan: &crate::schedule::Plan,
    own: Option<&Snapshot>,
) -> Result<Snapshot, FetchError> {
    let mut claude_ai = Some(claude_ai);
    let mut failed: Vec<(String, FetchError)> = Vec::new();
    for name in sources()? {
        let result = match name.as_str() {
            claude_ai::SOURCE => match claude_ai.take() {
                Some(creds) => creds.and_then(|c| claude_ai::fetch(c, own, plan)),
                None => continue, // named twice in `sources`: asked once
            },
            _ => oauth::fetch(
                &crate::auth::claude_code::Login::Here,
                previous,
                seen_version,
            ),
        };
        match result {
            Ok(snapshot) => return Ok(snapshot),
            Err(e) if try_next(e.kind) => failed.push((name, e)),
            Err(e) => {
                failed.push((name, e));
                return Err(combined(failed));
            }
        }
    }
    if failed.is_empty() {
        return Err(FetchError::new(
            ErrorKind::Config,
            "no source to fetch from",
        ));
    }
    Err(combined(failed))
}

/// One error for the whole refresh: the last one from a source that had credentials (its
/// kind decides the backoff; a source with no login here is not why the refresh failed),
/// then what the other sources that had credentials said. With credentials somewhere, a
/// source without any is not mentioned (a session key that expired is the news, not that
/// Claude Code is not logged in); with none anywhere, each says so in a few words.
fn combined(mut failed: Vec<(String, FetchError)>) -> FetchError {
    let Some(primary) = failed
        .iter()
        .rposition(|(_, e)| e.kind != ErrorKind::NoCredentials)
    else {
        let (_, mut error) = failed.remove(0);
        for (_, e) in failed {
            error.message = format!("{}, {}", error.message, e.message);
        }
        return error;
    };
    let (_, mut error) = failed.remove(primary);
    for (name, e) in failed {
        if e.kind != ErrorKind::NoCredentials {
            error.message = format!("{}; {name}: {}", error.message, e.message);
        }
    }
    error
}

/// Folds a refresh's snapshot into the cached one: claude.ai lists every membership, so
/// orgs it no longer lists go; the OAuth source knows only Claude Code's org, so the others
/// stay as they were.
pub fn merge_fetched(previous: Option<&Snapshot>, new: Snapshot) -> Snapshot {
    let complete_org_list = new.source == claude_ai::SOURCE;
    merge(previous, new, complete_org_list)
}

/// Folds a new reading into the previous snapshot. Parts the new reading did not cover
/// (no provenance for them) keep their earlier value and provenance; orgs the new reading
/// did not mention are kept unless it came with the full membership list.
pub fn merge(previous: Option<&Snapshot>, mut new: Snapshot, complete_org_list: bool) -> Snapshot {
    let Some(previous) = previous else {
        return new;
    };
    for org in &mut new.orgs {
        let Some(old) = previous.login_org(org.account_uuid.as_deref(), &org.org_uuid) else {
            continue;
        };
        org.account_uuid = org.account_uuid.take().or_else(|| old.account_uuid.clone());
        org.org_name = org.org_name.take().or_else(|| old.org_name.clone());
        org.email = org.email.take().or_else(|| old.email.clone());
        org.plan = org.plan.take().or_else(|| old.plan.clone());
        // A part read no later than the one held (a fetch that began before the browser's
        // reading landed, a frame sent twice) says nothing newer: the held numbers stay,
        // so none goes down and no event fires on a stale one.
        for name in [part::USAGE, part::EXTRA_USAGE, part::SUBSCRIPTION] {
            if !newer(org.sources.get(name), old.sources.get(name)) {
                org.sources.remove(name);
                if name == part::USAGE {
                    org.windows = old.windows.clone();
                    org.unusable = old.unusable.clone();
                    org.raw.usage = old.raw.usage.clone();
                    if let Some(p) = old.sources.get(name) {
                        org.sources.insert(name.to_string(), p.clone());
                    }
                }
            }
        }
        statusline::keep_high_water(old, org);
        // A reading that carries no org list leaves the org's place in the one held.
        if let Some(p) = old.sources.get(part::ACCOUNT) {
            org.sources
                .entry(part::ACCOUNT.to_string())
                .or_insert_with(|| p.clone());
        }
        for name in [part::EXTRA_USAGE, part::SUBSCRIPTION] {
            if org.sources.contains_key(name) {
                continue;
            }
            if let Some(p) = old.sources.get(name) {
                org.sources.insert(name.to_string(), p.clone());
            }
            match name {
                part::EXTRA_USAGE => {
                    org.extra_usage = old.extra_usage.clone();
                    org.raw.overage_spend_limit = old.raw.overage_spend_limit.clone();
                }
                _ => {
                    org.subscription = old.subscription.clone();
                    org.raw.subscription_details = old.raw.subscription_details.clone();
                }
            }
        }
    }
    let reported: Vec<Option<String>> = new.orgs.iter().map(|o| o.account_uuid.clone()).collect();
    for old in &previous.orgs {
        // A full membership list speaks only for the orgs that source reported: Claude
        // Code's org, known from OAuth or statusLine stdin, may belong to another account.
        // Nor for another account's orgs: each account's list speaks for its own.
        let owned = old
            .sources
            .get(part::USAGE)
            .is_some_and(|p| p.source == new.source)
            && (old.account_uuid.is_none() || reported.contains(&old.account_uuid));
        let held = new
            .login_org(old.account_uuid.as_deref(), &old.org_uuid)
            .is_some();
        if (!complete_org_list || !owned) && !held {
            new.orgs.push(old.clone());
        }
    }
    if !complete_org_list && new.active_org.is_none() {
        new.active_org = previous.active_org.clone();
    }
    new
}

/// Whether a part read at `new` replaces the one held from `old`: when the held one is
/// older, or was stamped beyond the clock skew ahead of the new one (a clock that was wrong
/// must not hold numbers forever).
fn newer(new: Option<&Provenance>, old: Option<&Provenance>) -> bool {
    match (new, old) {
        (Some(new), Some(old)) => {
            old.at < new.at
                || old.at > new.at + chrono::Duration::seconds(crate::cache::MAX_SKEW_SECS)
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Org, Window};
    use chrono::{DateTime, Duration, TimeZone, Utc};

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_795_000_000 + secs, 0).unwrap()
    }

    /// A snapshot of one org read at `t`, its five-hour window at `u`.
    fn read(t: DateTime<Utc>, u: f64) -> Snapshot {
        let here = Provenance {
            source: "extension".into(),
            at: t,
        };
        Snapshot {
            source: "extension".into(),
            fetched_at: t,
            active_org: None,
            orgs: vec![Org {
                org_uuid: "o".into(),
                windows: [("five_hour".to_string(), Window::checked(u, None).unwrap())].into(),
                sources: [(part::USAGE.to_string(), here)].into(),
                ..Org::default()
            }],
        }
    }

    fn five_hour(s: &Snapshot) -> f64 {
        s.orgs[0].windows["five_hour"].utilization
    }

    #[test]
    fn a_part_read_no_later_than_the_one_held_keeps_the_held_numbers() {
        let held = read(at(10), 96.0);
        assert_eq!(
            five_hour(&merge(Some(&held), read(at(10), 50.0), true)),
            96.0
        );
        assert_eq!(
            five_hour(&merge(Some(&held), read(at(5), 50.0), true)),
            96.0
        );
        assert_eq!(
            five_hour(&merge(Some(&held), read(at(11), 50.0), true)),
            50.0
        );
        // Held under a clock that ran far ahead: it does not hold the numbers forever.
        let ahead = read(at(10) + Duration::hours(2), 96.0);
        assert_eq!(
            five_hour(&merge(Some(&ahead), read(at(11), 50.0), true)),
            50.0
        );
    }

    /// `read` as `account`'s reading.
    fn read_by(account: Option<&str>, t: DateTime<Utc>, u: f64) -> Snapshot {
        let mut s = read(t, u);
        s.orgs[0].account_uuid = account.map(str::to_string);
        s
    }

    #[test]
    fn readings_are_keyed_by_account_and_org_and_an_old_entry_is_adopted() {
        // A cache from before accounts: its entry is the first account's to take.
        let old = read_by(None, at(10), 96.0);
        let one = merge(Some(&old), read_by(Some("a"), at(20), 50.0), false);
        assert_eq!(one.orgs.len(), 1);
        assert_eq!(one.orgs[0].account_uuid.as_deref(), Some("a"));
        // Another login in the same org, with a lower number: its own entry, and the
        // first account's number stays, even from a source that lists every org.
        let two = merge(Some(&one), read_by(Some("b"), at(30), 7.0), true);
        let seen: Vec<_> = two
            .orgs
            .iter()
            .map(|o| {
                (
                    o.account_uuid.as_deref(),
                    o.windows["five_hour"].utilization,
                )
            })
            .collect();
        assert_eq!(seen, [(Some("b"), 7.0), (Some("a"), 50.0)]);
        assert_eq!(
            two.login_org(Some("a"), "o").unwrap().windows["five_hour"].utilization,
            50.0
        );
        assert_eq!(
            two.org(Some("b/o")).unwrap().windows["five_hour"].utilization,
            7.0
        );
    }

    #[test]
    fn the_settings_know_every_source() {
        assert_eq!(
            crate::config::KNOWN_SOURCES,
            [super::claude_ai::SOURCE, super::oauth::SOURCE]
        );
    }
}
