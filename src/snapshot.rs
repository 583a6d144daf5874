//! The domain model: what one refresh learned about each organization, built from the
//! server's payloads. Every field the server may omit is an `Option`: a missing number stays
//! missing and is never turned into a zero.

use crate::window;
use chrono::{DateTime, Utc};
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::cell::Cell;
use std::collections::BTreeMap;

/// One rolling window as the server reported it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// Percent used, 0-100, exactly as the server sent it (so it can be diffed against
    /// DevTools).
    pub utilization: f64,
    pub resets_at: Option<DateTime<Utc>>,
    /// The server's name for the model a per-model window is about ("Opus 4"), when the key
    /// was derived from it (`limits[]`): shown in labels, cleaned, and never part of a key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// Extra usage (metered billing) posture, money in currency units (dollars, not cents).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExtraUsage {
    pub enabled: bool,
    pub used: Option<f64>,
    pub limit: Option<f64>,
    pub currency: Option<String>,
    pub out_of_credits: Option<bool>,
    pub disabled_reason: Option<String>,
    pub disabled_until: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Card {
    pub brand: Option<String>,
    pub last4: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub status: Option<String>,
    pub next_charge_date: Option<String>,
    pub billing_interval: Option<String>,
    pub currency: Option<String>,
    pub card: Option<Card>,
}

/// The names of an org's parts in `Org::sources`, each with its provenance.
pub mod part {
    /// The windows from a full reading (claude.ai, OAuth, the browser extension).
    pub const USAGE: &str = "usage";
    pub const EXTRA_USAGE: &str = "extra_usage";
    pub const SUBSCRIPTION: &str = "subscription";
    /// When Claude Code's statusLine stdin last brought this org's windows (whether or not
    /// the high-water rule kept an earlier number).
    pub const STATUSLINE: &str = "statusline";

    /// The part of one window whose number came from stdin; a full reading's windows are
    /// under `USAGE`.
    pub fn window(key: &str) -> String {
        format!("window.{key}")
    }
}

/// Where one part of an org's snapshot came from, and when: parts can come from different
/// sources (claude.ai, OAuth, Claude Code's statusLine stdin) at different times.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub source: String,
    pub at: DateTime<Utc>,
}

/// The server bodies, verbatim, so a user can compare with what the settings page saw.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Raw {
    #[serde(default)]
    pub usage: Value,
    #[serde(default)]
    pub overage_spend_limit: Value,
    #[serde(default)]
    pub subscription_details: Value,
}

/// One organization's numbers. Each org is its own snapshot: tiers and caps differ per org,
/// so they are never averaged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Org {
    pub org_uuid: String,
    pub org_name: Option<String>,
    pub email: Option<String>,
    pub plan: Option<String>,
    pub windows: BTreeMap<String, Window>,
    pub extra_usage: Option<ExtraUsage>,
    pub subscription: Option<Subscription>,
    /// Per part (`part::USAGE`, ...): which source, and when.
    #[serde(default)]
    pub sources: BTreeMap<String, Provenance>,
    /// Skipped unparsed when the cache is read for display (see [`without_raw`]).
    #[serde(default, deserialize_with = "raw_unless_skipped")]
    pub raw: Raw,
    /// Per window key: burn rate, ETA and pace, computed from the history when a reading is
    /// ingested (`ingest.rs`, `pace.rs`) so the prompt path never opens the history.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pace: BTreeMap<String, Pace>,
}

impl Pace {
    /// A rate below this (percentage points per hour) is "not burning": no ETA.
    pub const MIN_RATE: f64 = 0.1;
}

/// Where one window is heading, as of the reading it was computed with. Every part is
/// missing rather than guessed when the history does not support it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Pace {
    /// Percentage points per hour over the recent span of the current reset period.
    pub rate_per_hour: Option<f64>,
    /// When the window reaches 100% at that rate (the reading's time when already there);
    /// missing when the rate is zero or the history too short.
    pub eta: Option<DateTime<Utc>>,
    /// Whether `eta` comes before the window resets (missing without a reset time).
    pub hits_before_reset: Option<bool>,
    /// Where a steady user would be: the elapsed fraction of the window, in percent.
    pub expected: Option<f64>,
    /// Utilization minus `expected`: ahead of pace (+) or behind it (-).
    pub delta: Option<f64>,
}

thread_local! {
    static SKIP_RAW: Cell<bool> = const { Cell::new(false) };
}

/// Runs `parse` with every org's `raw` bodies skipped unparsed (left empty). The prompt path
/// never shows them, yet they are two thirds of the cache file and building them as JSON
/// trees was a third of a segment's instructions (callgrind: 743k -> 474k). Whatever is read
/// this way must never be written back.
pub fn without_raw<T>(parse: impl FnOnce() -> T) -> T {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            SKIP_RAW.with(|skip| skip.set(false));
        }
    }
    SKIP_RAW.with(|skip| skip.set(true));
    let _reset = Reset;
    parse()
}

fn raw_unless_skipped<'de, D: Deserializer<'de>>(d: D) -> Result<Raw, D::Error> {
    if SKIP_RAW.with(Cell::get) {
        IgnoredAny::deserialize(d)?;
        Ok(Raw::default())
    } else {
        Raw::deserialize(d)
    }
}

/// Everything one successful refresh produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub source: String,
    pub fetched_at: DateTime<Utc>,
    pub active_org: Option<String>,
    pub orgs: Vec<Org>,
}

impl Snapshot {
    /// The org a segment shows: the one asked for, else the active one, else the first.
    pub fn org(&self, wanted: Option<&str>) -> Option<&Org> {
        match wanted {
            Some(uuid) => self.orgs.iter().find(|o| o.org_uuid == uuid),
            None => self
                .active_org
                .as_deref()
                .and_then(|a| self.orgs.iter().find(|o| o.org_uuid == a))
                .or_else(|| self.orgs.first()),
        }
    }
}

impl Org {
    /// Per-model weekly windows, as (the key's model part, window), e.g. ("opus", ...).
    pub fn model_windows(&self) -> impl Iterator<Item = (&str, &Window)> {
        self.windows
            .iter()
            .filter_map(|(key, w)| Some((window::model(key)?, w)))
    }

    /// The highest utilization among the windows (the badge's and the bar's number).
    pub fn worst(&self) -> Option<f64> {
        self.windows
            .values()
            .map(|w| w.utilization)
            .fold(None, |m: Option<f64>, u| Some(m.map_or(u, |m| m.max(u))))
    }

    /// When this org's windows were last read, from whichever source (a refresh, Claude
    /// Code's statusLine stdin, the browser extension): the one definition of an org's age.
    pub fn read_at(&self) -> Option<DateTime<Utc>> {
        [part::USAGE, part::STATUSLINE]
            .into_iter()
            .filter_map(|p| self.sources.get(p))
            .map(|p| p.at)
            .max()
    }
}

/// The plan's display name from a membership's `rate_limit_tier`.
pub fn plan_from_tier(tier: &str) -> Option<String> {
    let plan = match tier {
        "default_claude_ai" => "Pro",
        "default_claude_max_5x" => "Max 5x",
        "default_claude_max_20x" => "Max 20x",
        t if t.contains("enterprise") => "Enterprise",
        t if t.contains("team") || t.contains("raven") => "Team",
        _ => return None,
    };
    Some(plan.to_string())
}

/// What `/usage` (claude.ai or OAuth, same shape) tells.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Usage {
    pub windows: BTreeMap<String, Window>,
    pub extra_usage: Option<ExtraUsage>,
}

/// Keys of `/usage` that are not windows even though some carry a `utilization`.
const NOT_WINDOWS: &[&str] = &["extra_usage", "spend", "limits"];

/// Parses a `/usage` body, older flat shape and newer `limits[]` alike (`limits[]` wins).
/// A body in which no known window key can be found is an error, never 0%.
pub fn parse_usage(body: &Value) -> Result<Usage, String> {
    let obj = body
        .as_object()
        .ok_or("unrecognized usage payload: not a JSON object")?;
    let mut usage = Usage::default();
    let mut recognized = false;
    for (key, value) in obj {
        if NOT_WINDOWS.contains(&key.as_str()) {
            continue;
        }
        let known = window::is_known(key);
        recognized |= known;
        let Some(fields) = value.as_object() else {
            continue;
        };
        match fields.get("utilization").and_then(Value::as_f64) {
            Some(utilization) => {
                recognized = true;
                usage.windows.insert(
                    key.clone(),
                    Window {
                        utilization,
                        resets_at: fields.get("resets_at").and_then(parse_time),
                        display_name: None,
                    },
                );
            }
            // A known window that is present but has no number means the server renamed a
            // field: showing nothing (or 0%) would be a lie.
            None if known => {
                return Err(format!(
                    "unrecognized usage payload: `{key}` has no numeric utilization"
                ))
            }
            None => {}
        }
    }
    if let Some(limits) = obj.get("limits").and_then(Value::as_array) {
        recognized = true;
        for limit in limits {
            if let Some((key, window)) = parse_limit(limit) {
                usage.windows.insert(key, window);
            }
        }
    }
    if !recognized {
        return Err("unrecognized usage payload: no known window \
                    (five_hour, seven_day, limits[])"
            .to_string());
    }
    usage.extra_usage = obj
        .get("spend")
        .and_then(parse_spend)
        .or_else(|| obj.get("extra_usage").and_then(parse_extra_usage));
    Ok(usage)
}

/// One `limits[]` entry as a window key: session -> five_hour, weekly_all -> seven_day,
/// weekly_scoped -> seven_day_<slug of the model's display name> (`window::model_key`).
fn parse_limit(limit: &Value) -> Option<(String, Window)> {
    let mut display_name = None;
    let key = match limit.get("kind")?.as_str()? {
        "session" => window::FIVE_HOUR.to_string(),
        "weekly_all" => window::SEVEN_DAY.to_string(),
        "weekly_scoped" => {
            let name = limit.pointer("/scope/model/display_name")?.as_str()?;
            display_name = Some(name.to_string());
            window::model_key(name)?
        }
        _ => return None,
    };
    let window = Window {
        utilization: limit.get("percent")?.as_f64()?,
        resets_at: limit.get("resets_at").and_then(parse_time),
        display_name,
    };
    Some((key, window))
}

pub fn parse_time(value: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value.as_str()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Minor units to currency units: 1234 with exponent 2 is 12.34.
fn money(minor: Option<f64>, exponent: i32) -> Option<f64> {
    minor.map(|m| m / 10f64.powi(exponent))
}

fn str_field(obj: &Value, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_string)
}

/// The newer `spend` object: `{enabled, used: {amount_minor, currency, exponent}, limit, cap}`.
fn parse_spend(spend: &Value) -> Option<ExtraUsage> {
    spend.as_object()?;
    let amount = |v: Option<&Value>| -> Option<(f64, Option<String>)> {
        let v = v?;
        let exponent = v.get("exponent").and_then(Value::as_i64).unwrap_or(2) as i32;
        let value = money(v.get("amount_minor").and_then(Value::as_f64), exponent)?;
        Some((value, str_field(v, "currency")))
    };
    let used = amount(spend.get("used"));
    let limit = amount(spend.get("limit")).or_else(|| amount(spend.pointer("/cap/money")));
    Some(ExtraUsage {
        enabled: spend
            .get("enabled")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        currency: used
            .as_ref()
            .and_then(|u| u.1.clone())
            .or_else(|| limit.as_ref().and_then(|l| l.1.clone())),
        used: used.map(|u| u.0),
        limit: limit.map(|l| l.0),
        out_of_credits: None,
        disabled_reason: str_field(spend, "disabled_reason"),
        disabled_until: None,
    })
}

/// The older `extra_usage` object: minor units with optional `decimal_places`.
fn parse_extra_usage(extra: &Value) -> Option<ExtraUsage> {
    extra.as_object()?;
    let exponent = extra
        .get("decimal_places")
        .and_then(Value::as_i64)
        .unwrap_or(2) as i32;
    let minor = |key: &str| extra.get(key).and_then(Value::as_f64);
    Some(ExtraUsage {
        enabled: extra
            .get("is_enabled")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        used: money(minor("used_credits"), exponent),
        limit: money(minor("monthly_limit"), exponent),
        currency: str_field(extra, "currency"),
        out_of_credits: extra.get("spend_limit_reached").and_then(Value::as_bool),
        disabled_reason: str_field(extra, "disabled_reason"),
        disabled_until: None,
    })
}

/// `/overage_spend_limit`. It is the dedicated endpoint for the spend posture, so when it
/// answered it is preferred over the copy inside `/usage`.
pub fn parse_overage(body: &Value) -> Option<ExtraUsage> {
    body.as_object()?;
    let minor = |key: &str| body.get(key).and_then(Value::as_f64);
    Some(ExtraUsage {
        enabled: body
            .get("is_enabled")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        used: money(minor("used_credits"), 2),
        limit: money(minor("monthly_credit_limit"), 2),
        currency: str_field(body, "currency"),
        out_of_credits: body.get("out_of_credits").and_then(Value::as_bool),
        disabled_reason: str_field(body, "disabled_reason"),
        disabled_until: str_field(body, "disabled_until"),
    })
}

/// Fills what the overage endpoint left out from the copy inside `/usage`.
pub fn merge_extra(overage: Option<ExtraUsage>, usage: Option<ExtraUsage>) -> Option<ExtraUsage> {
    match (overage, usage) {
        (Some(mut o), Some(u)) => {
            o.used = o.used.or(u.used);
            o.limit = o.limit.or(u.limit);
            o.currency = o.currency.or(u.currency);
            o.out_of_credits = o.out_of_credits.or(u.out_of_credits);
            o.disabled_reason = o.disabled_reason.or(u.disabled_reason);
            Some(o)
        }
        (o, u) => o.or(u),
    }
}

pub fn parse_subscription(body: &Value) -> Option<Subscription> {
    body.as_object()?;
    let card = body
        .get("payment_method")
        .filter(|c| c.is_object())
        .map(|c| Card {
            brand: str_field(c, "brand"),
            last4: str_field(c, "last4"),
        });
    Some(Subscription {
        status: str_field(body, "status"),
        next_charge_date: str_field(body, "next_charge_date"),
        billing_interval: str_field(body, "billing_interval"),
        currency: str_field(body, "currency"),
        card,
    })
}

/// One membership from `/api/account`.
#[derive(Clone, Debug, PartialEq)]
pub struct Membership {
    pub uuid: String,
    pub name: Option<String>,
    pub plan: Option<String>,
    pub chat: bool,
}

/// `/api/account`: the email and every membership.
pub fn parse_account(body: &Value) -> Result<(Option<String>, Vec<Membership>), String> {
    let memberships = body
        .get("memberships")
        .and_then(Value::as_array)
        .ok_or("unrecognized account payload: no memberships")?;
    let orgs = memberships
        .iter()
        .filter_map(|m| {
            let org = m.get("organization")?;
            let capabilities = org.get("capabilities").and_then(Value::as_array);
            Some(Membership {
                uuid: str_field(org, "uuid")?,
                name: str_field(org, "name"),
                plan: org
                    .get("rate_limit_tier")
                    .and_then(Value::as_str)
                    .and_then(plan_from_tier),
                chat: capabilities
                    .is_none_or(|caps| caps.iter().any(|c| c.as_str() == Some("chat"))),
            })
        })
        .collect();
    Ok((str_field(body, "email_address"), orgs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(name: &str) -> Value {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn display_reads_skip_raw_bodies_and_keep_everything_else() {
        let org = Org {
            org_uuid: "o".to_string(),
            org_name: Some("Org".to_string()),
            email: None,
            plan: Some("Pro".to_string()),
            windows: BTreeMap::from([(
                "five_hour".to_string(),
                Window {
                    utilization: 12.0,
                    resets_at: None,
                    display_name: None,
                },
            )]),
            extra_usage: None,
            subscription: None,
            sources: BTreeMap::new(),
            raw: Raw {
                usage: payload("usage_limits_array.json"),
                ..Raw::default()
            },
            pace: BTreeMap::new(),
        };
        let json = serde_json::to_string(&org).unwrap();
        let lean: Org = without_raw(|| serde_json::from_str(&json).unwrap());
        assert_eq!(lean.raw, Raw::default());
        assert_eq!(
            Org {
                raw: org.raw.clone(),
                ..lean
            },
            org
        );
        // The skip ends with the closure: a full read still has the bodies.
        let full: Org = serde_json::from_str(&json).unwrap();
        assert_eq!(full, org);
    }

    fn pct(u: &Usage, key: &str) -> Option<f64> {
        u.windows.get(key).map(|w| w.utilization)
    }

    #[test]
    fn flat_windows_payload_gives_every_non_null_window() {
        let u = parse_usage(&payload("usage_flat_windows.json")).unwrap();
        let keys: Vec<&str> = u.windows.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "five_hour",
                "seven_day",
                "seven_day_oauth_apps",
                "seven_day_opus"
            ]
        );
        assert_eq!(pct(&u, "five_hour"), Some(37.0));
        assert_eq!(pct(&u, "seven_day_opus"), Some(71.0));
        assert_eq!(u.windows["seven_day_oauth_apps"].resets_at, None);
        assert_eq!(
            u.windows["five_hour"].resets_at.unwrap().to_rfc3339(),
            "2026-11-22T19:00:00.512201+00:00"
        );
        let extra = u.extra_usage.unwrap();
        assert!(!extra.enabled);
        assert_eq!((extra.used, extra.limit), (None, None));
    }

    #[test]
    fn limits_array_wins_and_names_model_windows() {
        let u = parse_usage(&payload("usage_limits_array.json")).unwrap();
        assert_eq!(pct(&u, "five_hour"), Some(23.0));
        assert_eq!(pct(&u, "seven_day"), Some(64.0));
        assert_eq!(pct(&u, "seven_day_opus"), Some(81.0));
        assert_eq!(pct(&u, "seven_day_sonnet"), Some(9.0));
        assert_eq!(u.windows.len(), 4);
        // The key is a slug; the server's name for the model is kept for labels.
        assert_eq!(
            u.windows["seven_day_opus"].display_name.as_deref(),
            Some("Opus")
        );
        assert_eq!(u.windows["five_hour"].display_name, None);
        let extra = u.extra_usage.unwrap();
        assert!(extra.enabled);
        assert_eq!(extra.used, Some(12.34));
        assert_eq!(extra.limit, Some(50.0));
        assert_eq!(extra.currency.as_deref(), Some("USD"));
    }

    #[test]
    fn enterprise_payload_has_no_windows_but_is_recognized() {
        let u = parse_usage(&payload("usage_enterprise.json")).unwrap();
        assert!(u.windows.is_empty());
        let extra = u.extra_usage.unwrap();
        assert_eq!(extra.used, Some(41.32));
        assert_eq!(extra.limit, Some(1000.0));
    }

    #[test]
    fn renamed_fields_are_a_parse_error_not_zero() {
        let err = parse_usage(&serde_json::json!({"5h": {"pct": 3}})).unwrap_err();
        assert!(err.starts_with("unrecognized usage payload"), "{err}");
        let err = parse_usage(&serde_json::json!({"five_hour": {"pct": 3}})).unwrap_err();
        assert!(err.contains("five_hour"), "{err}");
        assert!(parse_usage(&serde_json::json!([1, 2])).is_err());
    }

    #[test]
    fn overage_payloads_convert_cents_to_dollars() {
        let o = parse_overage(&payload("overage_out_of_credits.json")).unwrap();
        assert_eq!(o.used, Some(202.14));
        assert_eq!(o.limit, Some(200.0));
        assert_eq!(o.out_of_credits, Some(true));
        assert_eq!(o.disabled_until.as_deref(), Some("2026-12-01T00:00:00Z"));
        let o = parse_overage(&payload("overage_spend_limit.json")).unwrap();
        assert_eq!((o.used, o.limit), (Some(12.34), Some(50.0)));
    }

    #[test]
    fn subscription_and_account_payloads() {
        let s = parse_subscription(&payload("subscription_details.json")).unwrap();
        assert_eq!(s.status.as_deref(), Some("active"));
        assert_eq!(s.next_charge_date.as_deref(), Some("2026-12-04"));
        let card = s.card.unwrap();
        assert_eq!(card.brand.as_deref(), Some("visa"));
        assert_eq!(card.last4.as_deref(), Some("4242"));
        let (email, orgs) = parse_account(&payload("account.json")).unwrap();
        assert_eq!(email.as_deref(), Some("dev@example.com"));
        assert_eq!(orgs.len(), 2);
        assert_eq!(orgs[0].plan.as_deref(), Some("Max 20x"));
        assert_eq!(orgs[1].plan.as_deref(), Some("Pro"));
    }
}
