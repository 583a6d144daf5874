//! The one vocabulary for windows: what a key means, what the short names in templates and
//! `--window` stand for, how long a window runs and what a person calls it. Every module
//! that needs to know "is this a window, and which" asks here.
//!
//! Keys are the server's (`five_hour`, `seven_day`, `seven_day_opus`, ...). Per-model weekly
//! windows are `seven_day_<model>`; `limits[]` entries name their model by display name, whose
//! slug becomes the key's suffix through [`model_key`] (the name itself is kept for labels).

use chrono::{DateTime, Duration, Utc};

/// A fall of more than this many points within one period is a reset (the server has reset
/// everyone's limits without moving `resets_at` before); smaller falls are lag.
pub const RESET_DROP: f64 = 5.0;
/// Two readings belong to the same reset period when their `resets_at` differ by at most
/// this (the server's fraction of a second jitters; real periods are hours apart).
pub const SAME_RESET: i64 = 10 * 60;

/// Whether two readings (or events) belong to one period: their reset times are the same
/// within [`SAME_RESET`], or neither has one.
pub fn same_period(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).num_seconds().abs() <= SAME_RESET,
        (None, None) => true,
        _ => false,
    }
}

pub const FIVE_HOUR: &str = "five_hour";
pub const SEVEN_DAY: &str = "seven_day";
/// OpenAI Codex's 5-hour and weekly windows (`source::codex`): keys of their own provider,
/// which no Claude key can be.
pub const CODEX_5H: &str = "codex_5h";
pub const CODEX_7D: &str = "codex_7d";
/// Prefix of the weekly windows scoped to one model or product.
const WEEKLY_PREFIX: &str = "seven_day_";

/// Weekly keys that are products or codenames rather than models: they are shown only when a
/// template names them.
const NOT_MODELS: &[&str] = &["oauth_apps", "cowork", "omelette", "routines", "design"];

/// The keys quotaline has a name for besides the per-model weekly windows (doc/sources.md "Known
/// payload shapes"). Any other key the server sends is kept under its own name, and
/// `status` and `doctor` list it so that a new codename is noticed.
const LABELLED: &[&str] = &[
    FIVE_HOUR,
    SEVEN_DAY,
    "seven_day_oauth_apps",
    "seven_day_cowork",
    "seven_day_omelette",
    CODEX_5H,
    CODEX_7D,
];

/// The models quotaline knows by name (the slugs of the display names the server sends):
/// `{opus}`, `--window fable`. Others work the same once the server sends them.
pub const MODELS: &[&str] = &["opus", "sonnet", "haiku", "fable"];

/// Every window name quotaline knows without a reading, for typo suggestions and the
/// template check: the short names, the server's general keys, the models ([`MODELS`]), and
/// the products and codenames seen so far.
pub fn known_names() -> impl Iterator<Item = &'static str> + Clone {
    ["5h", "7d", FIVE_HOUR, SEVEN_DAY]
        .into_iter()
        .chain(MODELS.iter().copied())
        .chain(NOT_MODELS.iter().copied())
        .chain(["tangelo"])
}

/// Whether the server's `key` names a rolling window quotaline knows how to read.
pub fn is_known(key: &str) -> bool {
    key == FIVE_HOUR || key == SEVEN_DAY || key.starts_with(WEEKLY_PREFIX)
}

/// Whether quotaline has a label for `key`: the windows it knows, and the per-model weekly
/// windows, which are named after their model.
pub fn is_labelled(key: &str) -> bool {
    LABELLED.contains(&key) || model(key).is_some()
}

/// Whether a name the server sent (a key, a `limits[]` kind) can be kept as a window key:
/// the server's identifiers are lowercase snake_case, and a key is typed in templates and
/// `--window`. Anything else is reported as unreadable rather than shown.
pub fn is_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The key a short name stands for: `5h` -> `five_hour`, `7d` -> `seven_day`; anything else
/// is itself.
pub fn alias(name: &str) -> &str {
    match name {
        "5h" => FIVE_HOUR,
        "7d" => SEVEN_DAY,
        other => other,
    }
}

/// Resolves a name as templates and `--window` use it to one of `keys`: the short name
/// every command shows ([`label`]: `5h`, `7d`, `opus`, `opus 4.5`, `oauth_apps`), or the
/// server's key (`seven_day_opus`), which stays an alias.
pub fn resolve<'a>(keys: impl Iterator<Item = &'a String> + Clone, name: &str) -> Option<&'a str> {
    let key = alias(name.trim());
    let weekly = format!("{WEEKLY_PREFIX}{key}");
    keys.clone()
        .find(|k| k.as_str() == key)
        .or_else(|| keys.clone().find(|k| **k == weekly))
        .or_else(|| {
            // A model's name as a line shows it ("opus 4.5") is its key's slug.
            let slug = model_key(key);
            keys.clone().find(|k| Some(k.as_str()) == slug.as_deref())
        })
        .map(String::as_str)
}

/// The model a per-model weekly key is about (`seven_day_opus` -> `opus`); `None` for the
/// general windows and for products and codenames.
pub fn model(key: &str) -> Option<&str> {
    let model = key.strip_prefix(WEEKLY_PREFIX)?;
    (!NOT_MODELS.contains(&model)).then_some(model)
}

/// The weekly key of a model's display name, a slug of `[a-z0-9_]`: "Opus 4" ->
/// `seven_day_opus_4`, "Opus 4.5" -> `seven_day_opus_4_5`. Keys go where only plain names are
/// safe (templates, `--window`, the history database, messages), so nothing of a hostile name
/// survives in them; the name itself is kept in `Window::display_name` and shown cleaned. A
/// name without an ASCII letter or digit gets a stable `model_<hash>` rather than no window.
pub fn model_key(display_name: &str) -> Option<String> {
    let mut slug = String::new();
    for c in display_name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('_') {
            slug.push('_');
        }
    }
    let slug = slug.trim_end_matches('_');
    if !slug.is_empty() {
        return Some(format!("{WEEKLY_PREFIX}{slug}"));
    }
    if display_name.trim().is_empty() {
        return None;
    }
    use sha2::{Digest, Sha256};
    let hash = Sha256::digest(display_name.as_bytes());
    let hex: String = hash.iter().take(4).map(|b| format!("{b:02x}")).collect();
    Some(format!("{WEEKLY_PREFIX}model_{hex}"))
}

/// What a line calls the model of a per-model window: the server's display name when it sent
/// one, lowercased and on one line like the line's other names ("Opus 4" -> "opus 4"), else
/// the key's model part (`seven_day_opus` -> "opus").
pub fn model_label(model: &str, display_name: Option<&str>) -> String {
    match display_name.map(|n| n.split_whitespace().collect::<Vec<_>>().join(" ")) {
        Some(name) if !name.is_empty() => name.to_lowercase(),
        _ => model.replace('_', " "),
    }
}

/// How long a window runs (for the pace); `None` for keys of unknown length.
pub fn length(key: &str) -> Option<Duration> {
    if key == FIVE_HOUR || key == CODEX_5H {
        Some(Duration::hours(5))
    } else if key == SEVEN_DAY || key == CODEX_7D || key.starts_with(WEEKLY_PREFIX) {
        Some(Duration::days(7))
    } else {
        None
    }
}

/// The span a burn rate looks back on: recent enough to follow a change of pace, long enough
/// to smooth whole-percent steps. An hour of a five-hour window, a day of a weekly one (a day
/// also evens out sleep).
pub fn rate_span(key: &str) -> Duration {
    match length(key) {
        Some(l) if l >= Duration::days(1) => Duration::hours(24),
        _ => Duration::minutes(60),
    }
}

/// The one short name a window goes by, the same in the segment, `status`, `check`,
/// `history`, `verify`, `events` and the notifications, and accepted wherever a window is
/// named ([`resolve`]; the server's key stays an alias, and `json` and the metrics keep
/// keys): `5h`, `7d`, a per-model window by its model (`opus`, or the display name as the
/// line shows it: `opus 4.5`), another weekly key without its prefix (`oauth_apps`), any
/// other key as it is (`tangelo`).
pub fn label(key: &str, display_name: Option<&str>) -> String {
    match key {
        FIVE_HOUR => "5h".into(),
        SEVEN_DAY => "7d".into(),
        CODEX_5H => "codex 5h".into(),
        CODEX_7D => "codex 7d".into(),
        k => match k.strip_prefix(WEEKLY_PREFIX) {
            Some(rest) if model(k).is_some() => model_label(rest, display_name),
            Some(rest) => rest.to_string(),
            None => k.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_models_and_weekly_names_resolve_to_keys() {
        let keys: Vec<String> = ["five_hour", "seven_day", "seven_day_opus"]
            .iter()
            .map(|k| k.to_string())
            .collect();
        assert_eq!(resolve(keys.iter(), "5h"), Some("five_hour"));
        assert_eq!(resolve(keys.iter(), "7d"), Some("seven_day"));
        assert_eq!(resolve(keys.iter(), "opus"), Some("seven_day_opus"));
        assert_eq!(
            resolve(keys.iter(), "seven_day_opus"),
            Some("seven_day_opus")
        );
        assert_eq!(resolve(keys.iter(), "sonnet"), None);
        let keys = ["seven_day_opus_4_5".to_string()];
        assert_eq!(resolve(keys.iter(), "opus 4.5"), Some("seven_day_opus_4_5"));
        assert_eq!(resolve(keys.iter(), "opus_4_5"), Some("seven_day_opus_4_5"));
    }

    #[test]
    fn models_exclude_products_and_codenames() {
        assert_eq!(model("seven_day_opus"), Some("opus"));
        assert_eq!(model("seven_day_oauth_apps"), None);
        assert_eq!(model("seven_day_routines"), None);
        assert_eq!(model("seven_day"), None);
        assert_eq!(model("five_hour"), None);
    }

    #[test]
    fn model_display_names_become_slugs_and_stay_whole_in_labels() {
        assert_eq!(model_key("Opus 4").as_deref(), Some("seven_day_opus_4"));
        assert_eq!(model_key("Opus 4.5").as_deref(), Some("seven_day_opus_4_5"));
        assert_eq!(
            model_key("#(touch $HOME/pwned)").as_deref(),
            Some("seven_day_touch_home_pwned")
        );
        assert_eq!(
            model_key("z\x1b]0;owned\x07 \u{202e}X").as_deref(),
            Some("seven_day_z_0_owned_x")
        );
        let hashed = model_key("作家").unwrap();
        assert!(hashed.starts_with("seven_day_model_"), "{hashed}");
        assert_eq!(model_key("作家"), Some(hashed));
        assert_eq!(model_key("  "), None);
        assert_eq!(model_label("opus_4", Some(" Opus\n 4 ")), "opus 4");
        assert_eq!(model_label("opus_4", None), "opus 4");
        assert_eq!(label("seven_day_touch", Some("$(touch)")), "$(touch)");
    }

    #[test]
    fn codenames_have_no_label_and_only_identifiers_are_names() {
        for key in [
            "five_hour",
            "seven_day_omelette",
            "seven_day_opus",
            "seven_day_fable",
        ] {
            assert!(is_labelled(key), "{key}");
        }
        for key in ["tangelo", "seven_day_routines", "daily_design"] {
            assert!(!is_labelled(key), "{key}");
        }
        assert!(is_name("seven_day_opus_4"));
        for bad in ["", "Five Hour", "a\u{1b}]0;x", "five-hour", &"x".repeat(65)] {
            assert!(!is_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn lengths_spans_and_labels() {
        assert_eq!(length("five_hour"), Some(Duration::hours(5)));
        assert_eq!(length("seven_day_opus"), Some(Duration::days(7)));
        assert_eq!(length("tangelo"), None);
        assert_eq!(rate_span("five_hour"), Duration::minutes(60));
        assert_eq!(rate_span("seven_day"), Duration::hours(24));
        assert_eq!(rate_span("tangelo"), Duration::minutes(60));
        assert_eq!(label("five_hour", None), "5h");
        assert_eq!(label("seven_day", None), "7d");
        assert_eq!(label("seven_day_opus", None), "opus");
        assert_eq!(label("seven_day_opus_4_5", Some("Opus 4.5")), "opus 4.5");
        assert_eq!(label("seven_day_oauth_apps", None), "oauth_apps");
        assert_eq!(label("tangelo", None), "tangelo");
    }
}
