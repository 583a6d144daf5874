//! The snapshot as OpenMetrics text, for Prometheus: `quotaline metrics` prints it, and after
//! every ingest `outputs.rs` writes it to node_exporter's textfile directory (`[metrics]
//! textfile`) from the cache just written. One renderer for both, so the file and the command never disagree.
//!
//! A series exists only for a number the server sent (or the pace computed from those
//! numbers): a window without a burn rate has no `quotaline_burn_rate_percent_per_hour`
//! series, never a 0. Every type is `gauge` (node_exporter's textfile parser knows no
//! `info` or `stateset`), and no sample carries a timestamp (the textfile collector refuses
//! them): Prometheus stamps each scrape.

use super::markup::label_value;
use crate::cache::CacheFile;
use crate::error::ErrorKind;
use crate::settings;
use crate::snapshot::{part, Org, Snapshot};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::fmt::Write;

/// One metric family: its metadata and its samples, each a label set and a value.
struct Family {
    name: &'static str,
    help: &'static str,
    unit: Option<&'static str>,
    samples: Vec<(Labels, f64)>,
}

type Labels = Vec<(&'static str, String)>;

impl Family {
    fn new(name: &'static str, unit: Option<&'static str>, help: &'static str) -> Family {
        Family {
            name,
            help,
            unit,
            samples: Vec::new(),
        }
    }
}

/// An org name with every email address in it replaced by `(email)`: a personal org is named
/// `<email>'s Organization`, and an email must never become a label a team's Prometheus
/// keeps.
fn without_email(name: &str) -> String {
    let local = |c: char| c.is_alphanumeric() || "._%+-".contains(c);
    let domain = |c: char| c.is_alphanumeric() || ".-".contains(c);
    let mut out = String::new();
    let mut rest = name;
    while let Some(at) = rest.find('@') {
        let start = rest[..at]
            .char_indices()
            .rev()
            .take_while(|&(_, c)| local(c))
            .last()
            .map_or(at, |(i, _)| i);
        let host = &rest[at + 1..];
        let len = host.find(|c: char| !domain(c)).unwrap_or(host.len());
        let host = host[..len].trim_end_matches('.');
        if start < at && host.contains('.') {
            out.push_str(&rest[..start]);
            out.push_str("(email)");
            rest = &rest[at + 1 + host.len()..];
        } else {
            out.push_str(&rest[..=at]);
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
    out
}

fn seconds(t: DateTime<Utc>) -> f64 {
    t.timestamp() as f64
}

/// Every family `render` may print, in the order printed.
struct Families {
    utilization: Family,
    resets_at: Family,
    burn: Family,
    eta: Family,
    extra_used: Family,
    extra_limit: Family,
    out_of_credits: Family,
    age: Family,
    last_success: Family,
    last_error: Family,
    info: Family,
}

impl Families {
    fn new() -> Families {
        Families {
            utilization: Family::new(
                "quotaline_utilization_percent",
                Some("percent"),
                "Percent of the window used, as the server sent it (absent once the window has reset).",
            ),
            resets_at: Family::new(
                "quotaline_window_resets_at_seconds",
                Some("seconds"),
                "When the window resets, in Unix time.",
            ),
            burn: Family::new(
                "quotaline_burn_rate_percent_per_hour",
                Some("percent_per_hour"),
                "Percentage points of the window used per hour, from the recent readings.",
            ),
            eta: Family::new(
                "quotaline_eta_seconds",
                Some("seconds"),
                "Seconds until the window reaches 100% at its burn rate (absent when it resets first).",
            ),
            extra_used: Family::new(
                "quotaline_extra_usage_used",
                None,
                "Extra usage spent this month, in currency units.",
            ),
            extra_limit: Family::new(
                "quotaline_extra_usage_limit",
                None,
                "Monthly extra usage cap, in currency units (absent when there is no cap).",
            ),
            out_of_credits: Family::new(
                "quotaline_extra_usage_out_of_credits",
                None,
                "1 when the org's extra usage is out of credits.",
            ),
            age: Family::new(
                "quotaline_snapshot_age_seconds",
                Some("seconds"),
                "Seconds since the org's windows were last read, from any source.",
            ),
            last_success: Family::new(
                "quotaline_last_success_timestamp_seconds",
                Some("seconds"),
                "When the last full reading (a refresh or the browser extension) arrived, in Unix time.",
            ),
            last_error: Family::new(
                "quotaline_last_error",
                None,
                "1 for the kind of the last refresh's error, 0 for the others (all 0 after a success).",
            ),
            info: Family::new(
                "quotaline_info",
                None,
                "Always 1; the version of quotaline that wrote the snapshot.",
            ),
        }
    }

    /// One org's series: its windows, its extra usage, its age.
    fn org(&mut self, file: &CacheFile, snapshot: &Snapshot, org: &Org, now: DateTime<Utc>) {
        // `provider`: whose plan (`claude`, or `codex` for OpenAI Codex's windows), so that
        // a query can take one or the other. `account`: the account uuid, not the name
        // `{5h@NAME}` uses (an email's local part: no email becomes a label); two logins in
        // one Team org are two series.
        let account = org.account_uuid.clone().map(|a| ("account", a));
        let mut org_labels: Labels = vec![("org_uuid", org.org_uuid.clone())];
        org_labels.extend(account.clone());
        org_labels.push(("provider", org.provider().to_string()));
        if let Some(name) = &org.org_name {
            org_labels.push(("org_name", without_email(name)));
        }
        for (key, w) in &org.windows {
            // A window's own provenance when stdin brought its number, else the org's.
            let source = [part::window(key).as_str(), part::USAGE]
                .iter()
                .find_map(|p| org.sources.get(*p))
                .map_or(snapshot.source.clone(), |p| p.source.clone());
            let mut l = org_labels.clone();
            l.extend([("window", key.clone()), ("source", source)]);
            if let Some(t) = w.resets_at {
                self.resets_at.samples.push((l.clone(), seconds(t)));
            }
            // Past its reset, the number belongs to the period that ended: the new one is not
            // known until the next reading (as `Org::worst` has it).
            if w.has_reset(now) {
                continue;
            }
            self.utilization.samples.push((l.clone(), w.utilization));
            let Some(pace) = org.pace.get(key) else {
                continue;
            };
            if let Some(rate) = pace.rate_per_hour {
                self.burn.samples.push((l.clone(), rate));
            }
            if let Some(t) = pace.eta.filter(|_| pace.hits_before_reset != Some(false)) {
                let left = (t - now).num_seconds().max(0);
                self.eta.samples.push((l, left as f64));
            }
        }
        if let Some(e) = &org.extra_usage {
            let mut l: Labels = vec![("org_uuid", org.org_uuid.clone())];
            l.extend(account);
            if let Some(currency) = &e.currency {
                l.push(("currency", currency.clone()));
            }
            if let Some(used) = e.used {
                self.extra_used.samples.push((l.clone(), used));
            }
            if let Some(limit) = e.limit {
                self.extra_limit.samples.push((l.clone(), limit));
            }
            if let Some(out) = e.out_of_credits {
                self.out_of_credits
                    .samples
                    .push((l, f64::from(u8::from(out))));
            }
        }
        if let Some(s) = &file.snapshot {
            let secs = org.age(s.fetched_at, now);
            self.age.samples.push((org_labels, secs as f64));
        }
    }

    fn into_list(self) -> [Family; 11] {
        [
            self.utilization,
            self.resets_at,
            self.burn,
            self.eta,
            self.extra_used,
            self.extra_limit,
            self.out_of_credits,
            self.age,
            self.last_success,
            self.last_error,
            self.info,
        ]
    }
}

/// The OpenMetrics text for `file` at `now`, every series carrying the constant `labels`
/// (`[metrics] labels`, names checked by `config.rs`). Ends with `# EOF`.
pub fn render(file: &CacheFile, labels: &BTreeMap<String, String>, now: DateTime<Utc>) -> String {
    let mut families = Families::new();
    if let Some(snapshot) = &file.snapshot {
        for org in &snapshot.orgs {
            families.org(file, snapshot, org, now);
        }
        families
            .last_success
            .samples
            .push((Vec::new(), seconds(snapshot.fetched_at)));
    }
    let current = file.state.error.as_ref().map(|e| e.kind);
    for kind in ErrorKind::ALL {
        let value = f64::from(u8::from(current == Some(kind)));
        families
            .last_error
            .samples
            .push((vec![("kind", kind.name())], value));
    }
    families.info.samples.push((
        vec![("version", env!("CARGO_PKG_VERSION").to_string())],
        1.0,
    ));
    let mut out = String::new();
    for family in families.into_list() {
        write_family(&mut out, family, labels);
    }
    out.push_str("# EOF\n");
    out
}

/// A family's metadata and samples; nothing for a family without samples.
fn write_family(out: &mut String, family: Family, labels: &BTreeMap<String, String>) {
    if family.samples.is_empty() {
        return;
    }
    let name = family.name;
    let _ = writeln!(out, "# HELP {name} {}", family.help);
    let _ = writeln!(out, "# TYPE {name} gauge");
    if let Some(unit) = family.unit {
        let _ = writeln!(out, "# UNIT {name} {unit}");
    }
    for (own, value) in family.samples {
        let all: Vec<String> = own
            .iter()
            .map(|(k, v)| (*k, v))
            .chain(labels.iter().map(|(k, v)| (k.as_str(), v)))
            .map(|(k, v)| format!("{k}=\"{}\"", label_value(v)))
            .collect();
        let _ = writeln!(out, "{name}{{{}}} {value}", all.join(","));
    }
}

/// The textfile's state for `status` and `doctor`: `None` when `[metrics] textfile` is not
/// set.
pub fn textfile_report(file: &CacheFile) -> Option<String> {
    let path = settings::metrics_textfile_setting().value?;
    Some(match &file.textfile_error {
        Some(e) => format!("NOT WRITTEN: {e} (the refresh itself went on)"),
        None => format!("{} (rewritten on every refresh)", path.display()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorRecord;
    use crate::snapshot::{ExtraUsage, Org, Pace, Provenance, Snapshot, Window};
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_795_000_000 + secs, 0).unwrap()
    }

    fn org(uuid: &str, name: Option<&str>) -> Org {
        serde_json::from_value(serde_json::json!({
            "org_uuid": uuid, "org_name": name, "email": "ana@example.com", "plan": "Max 5x",
            "windows": {}, "extra_usage": null, "subscription": null,
        }))
        .unwrap()
    }

    fn file(orgs: Vec<Org>) -> CacheFile {
        CacheFile {
            snapshot: Some(Snapshot {
                source: "claude.ai".into(),
                fetched_at: at(-30),
                active_org: None,
                orgs,
            }),
            ..CacheFile::default()
        }
    }

    fn window(utilization: f64, reset: i64) -> Window {
        Window {
            utilization,
            resets_at: Some(at(reset)),
            display_name: None,
        }
    }

    #[test]
    fn windows_pace_and_extra_usage_are_series_with_the_exact_numbers() {
        let mut a = org("a1", Some("Ana's \"Team\"\\\nline"));
        a.windows.insert("five_hour".into(), window(37.5, 3600));
        a.windows
            .insert("seven_day_opus".into(), window(71.0, 86_400));
        a.sources.insert(
            part::USAGE.into(),
            Provenance {
                source: "claude.ai".into(),
                at: at(-30),
            },
        );
        a.sources.insert(
            part::window("seven_day_opus"),
            Provenance {
                source: "statusline".into(),
                at: at(-10),
            },
        );
        a.pace.insert(
            "five_hour".into(),
            Pace {
                rate_per_hour: Some(12.5),
                eta: Some(at(1800)),
                hits_before_reset: Some(true),
                ..Pace::default()
            },
        );
        a.extra_usage = Some(ExtraUsage {
            enabled: true,
            used: Some(12.34),
            limit: None,
            currency: Some("USD".into()),
            out_of_credits: Some(false),
            ..ExtraUsage::default()
        });
        let labels = BTreeMap::from([("host".to_string(), "laptop".to_string())]);
        let text = render(&file(vec![a]), &labels, at(0));
        let series: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        let org = r#"org_uuid="a1",provider="claude",org_name="Ana's \"Team\"\\\nline""#;
        assert_eq!(
            series[..7],
            [
                format!(
                    r#"quotaline_utilization_percent{{{org},window="five_hour",source="claude.ai",host="laptop"}} 37.5"#
                ),
                format!(
                    r#"quotaline_utilization_percent{{{org},window="seven_day_opus",source="statusline",host="laptop"}} 71"#
                ),
                format!(
                    r#"quotaline_window_resets_at_seconds{{{org},window="five_hour",source="claude.ai",host="laptop"}} 1795003600"#
                ),
                format!(
                    r#"quotaline_window_resets_at_seconds{{{org},window="seven_day_opus",source="statusline",host="laptop"}} 1795086400"#
                ),
                format!(
                    r#"quotaline_burn_rate_percent_per_hour{{{org},window="five_hour",source="claude.ai",host="laptop"}} 12.5"#
                ),
                format!(
                    r#"quotaline_eta_seconds{{{org},window="five_hour",source="claude.ai",host="laptop"}} 1800"#
                ),
                r#"quotaline_extra_usage_used{org_uuid="a1",currency="USD",host="laptop"} 12.34"#
                    .to_string(),
            ]
        );
        // No cap is no series, never a cap of 0; no email anywhere.
        assert!(!text.contains("quotaline_extra_usage_limit{"), "{text}");
        assert!(!text.contains("example.com"), "{text}");
        assert!(text.contains(&format!(
            "quotaline_snapshot_age_seconds{{{org},host=\"laptop\"}} 30\n"
        )));
        assert!(text.contains("# UNIT quotaline_eta_seconds seconds\n"));
        let version = env!("CARGO_PKG_VERSION");
        assert!(text.ends_with(&format!(
            "quotaline_info{{version=\"{version}\",host=\"laptop\"}} 1\n# EOF\n"
        )));
    }

    #[test]
    fn emails_in_org_names_never_become_labels() {
        assert_eq!(
            without_email("dev@example.com's Organization"),
            "(email)'s Organization"
        );
        assert_eq!(
            without_email("a.b+c@x.example.org and @team, q@r."),
            "(email) and @team, q@r."
        );
        assert_eq!(without_email("Example Team"), "Example Team");
    }

    #[test]
    fn a_reset_window_keeps_only_its_reset_time_and_an_eta_after_reset_is_none() {
        let mut a = org("a1", None);
        a.windows.insert("five_hour".into(), window(90.0, -60));
        a.windows.insert("seven_day".into(), window(20.0, 3600));
        let pace = Pace {
            rate_per_hour: Some(1.0),
            eta: Some(at(7200)),
            hits_before_reset: Some(false),
            ..Pace::default()
        };
        a.pace.insert("five_hour".into(), pace.clone());
        a.pace.insert("seven_day".into(), pace);
        let text = render(&file(vec![a]), &BTreeMap::new(), at(0));
        assert!(!text.contains("window=\"five_hour\",source=\"claude.ai\"} 90"));
        assert!(text.contains(
            "quotaline_window_resets_at_seconds{org_uuid=\"a1\",provider=\"claude\",window=\"five_hour\",source=\"claude.ai\"} 1794999940\n"
        ));
        assert!(!text.contains("quotaline_eta_seconds"), "{text}");
        assert!(text.contains("quotaline_burn_rate_percent_per_hour{org_uuid=\"a1\",provider=\"claude\",window=\"seven_day\",source=\"claude.ai\"} 1\n"));
    }

    #[test]
    fn no_data_is_the_error_and_the_version_only() {
        let mut f = CacheFile::default();
        f.state.error = Some(ErrorRecord {
            kind: ErrorKind::RateLimited,
            message: "HTTP 429".into(),
            at: at(0),
            retry_at: None,
        });
        let text = render(&f, &BTreeMap::new(), at(0));
        let series: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.ends_with(" 0"))
            .collect();
        let info = format!(
            "quotaline_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(
            series,
            [
                "quotaline_last_error{kind=\"rate_limited\"} 1",
                info.as_str()
            ]
        );
        assert_eq!(
            text.matches("quotaline_last_error{").count(),
            ErrorKind::ALL.len()
        );
        assert!(!text.contains("quotaline_utilization_percent"));
    }
}
