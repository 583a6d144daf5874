//! `quotaline accounts`: every Claude account the cache holds numbers for, the name each goes
//! by (for `{5h@NAME}`), where its login was found, its orgs, and its own last error. Reads
//! the cache only.

use crate::cache::CacheFile;
use crate::render::sanitize::Lines;
use crate::snapshot::{part, Snapshot};

pub fn run() -> i32 {
    let file = crate::settings::cache().read_for_display();
    let Some(snapshot) = file.snapshot.as_ref().filter(|s| !s.orgs.is_empty()) else {
        super::fail(
            "no accounts yet",
            Some(
                "run `quotaline refresh`, or `quotaline doctor` to see where logins are looked for",
            ),
        );
        return 1;
    };
    let shown = file
        .org(crate::settings::shown_org(None, &file).as_deref())
        .and_then(|o| o.account_uuid.as_deref());
    let mut lines = Lines::new();
    for (name, uuid) in snapshot.account_names(&crate::settings::named_accounts(&file).0) {
        let orgs: Vec<&str> = snapshot
            .orgs
            .iter()
            .filter(|o| o.account_uuid.as_deref() == Some(uuid))
            .map(|o| o.org_name.as_deref().unwrap_or(&o.org_uuid))
            .collect();
        let email = snapshot
            .orgs
            .iter()
            .filter(|o| o.account_uuid.as_deref() == Some(uuid))
            .find_map(|o| o.email.as_deref())
            .unwrap_or("no email known");
        let mark = if shown == Some(uuid) { '*' } else { ' ' };
        lines.line(format!(
            "{mark} {name}: {email}, from {}; orgs: {}",
            found_in(&file, snapshot, uuid).join(", "),
            orgs.join(", ")
        ));
        if let Some(e) = file
            .session_of(uuid)
            .and_then(|(_, b)| b.state.error.as_ref())
        {
            lines.line(format!("    last error: {}", e.message));
        }
    }
    if snapshot.orgs.iter().any(|o| o.account_uuid.is_none()) {
        lines.line(
            "  (orgs read before accounts were known: their account is named at the next refresh)",
        );
    }
    super::show(&lines);
    0
}

/// Where the account's login was found: the browser profile of its own session, the first
/// session (the session key set, or the most recently used profile), Claude Code's login.
fn found_in(file: &CacheFile, snapshot: &Snapshot, uuid: &str) -> Vec<String> {
    let mut places = Vec::new();
    let own = file.session_of(uuid);
    let read_by = |source: &str| {
        snapshot.orgs.iter().any(|o| {
            o.account_uuid.as_deref() == Some(uuid)
                && o.sources
                    .get(part::ACCOUNT)
                    .is_some_and(|p| p.source == source)
        })
    };
    match own {
        Some((origin, _)) => places.push(origin.clone()),
        None if read_by(crate::source::claude_ai::SOURCE) => places.push(
            file.first_session
                .clone()
                .unwrap_or_else(|| "claude.ai".into()),
        ),
        None => {}
    }
    if read_by(crate::source::extension::SOURCE) {
        places.push("the browser extension".into());
    }
    let claude_code = file
        .claude_account
        .as_ref()
        .and_then(|m| m.value.as_ref())
        .and_then(|a| a.account_uuid.as_deref());
    if claude_code == Some(uuid) {
        places.push("Claude Code's login".into());
    }
    if places.is_empty() {
        places.push("an earlier reading".into());
    }
    places
}
