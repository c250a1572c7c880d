//! What every adapter does with the raw items of a listing before converting
//! them: de-duplicate by id (an item repeated across pages because the list
//! shifted during collection is kept once, the last copy winning) and keep
//! the items that do not decode as [`SkippedEvent`]s with a stable reason,
//! instead of failing the whole listing or dropping them silently.
//!
//! Reasons (stable snake_case, counted by the report under
//! `accounting.incidents.excluded` and the `skipped_events` diagnostic):
//!
//! | reason | the item ... |
//! |---|---|
//! | `missing_id` / `invalid_id` | has no readable `id` |
//! | `missing_timestamp` / `invalid_timestamp` | lacks a required time (`created_at`, `createdAt`, ...) or has one that is not RFC 3339 |
//! | `missing_field` / `invalid_field` | lacks another required field (`status`, ...) or has one of the wrong type |
//! | `not_an_object` | is not a JSON object at all |

use dora_core::{EventKind, SkippedEvent};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// The raw items of one source's listings, de-duplicated and decoded.
#[derive(Debug)]
pub(crate) struct Intake<T> {
    source: &'static str,
    /// Decoded items by id (last copy wins).
    items: BTreeMap<String, T>,
    /// Items that did not decode, keyed by id (or by their JSON when they have none).
    skipped: BTreeMap<String, SkippedEvent>,
}

impl<T: DeserializeOwned> Intake<T> {
    pub(crate) fn new(source: &'static str) -> Self {
        Self {
            source,
            items: BTreeMap::new(),
            skipped: BTreeMap::new(),
        }
    }

    /// Take one raw item: decode it, or keep why it could not be.
    pub(crate) fn push(&mut self, raw: serde_json::Value) {
        let id = id_of(&raw);
        match decode::<T>(&raw) {
            Ok(item) => {
                // Decoding succeeded, so `T` read an id: `id` is `Some`.
                if let Some(id) = id {
                    self.skipped.remove(&format!("id:{id}"));
                    self.items.insert(id, item);
                }
            }
            Err((reason, detail)) => {
                let key = match &id {
                    Some(id) => {
                        self.items.remove(id);
                        format!("id:{id}")
                    }
                    None => format!("raw:{raw}"),
                };
                self.skipped.insert(
                    key,
                    SkippedEvent::new(
                        EventKind::Incident,
                        Some(self.source.to_owned()),
                        id,
                        reason,
                        detail,
                    ),
                );
            }
        }
    }

    /// Take every item of a page.
    pub(crate) fn extend(&mut self, raw: impl IntoIterator<Item = serde_json::Value>) {
        for item in raw {
            self.push(item);
        }
    }

    /// The decoded items, each id once (in id order), and the skipped ones.
    pub(crate) fn finish(self) -> (Vec<T>, Vec<SkippedEvent>) {
        (
            self.items.into_values().collect(),
            self.skipped.into_values().collect(),
        )
    }
}

/// The item's `id` (a string, or a number written as one).
pub(crate) fn id_of(raw: &serde_json::Value) -> Option<String> {
    match raw.get("id")? {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn is_time_field(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    name.ends_with("_at")
        || name.ends_with("At")
        || lower.ends_with("date")
        || lower.ends_with("time")
}

/// Decode one item, or a `(reason, detail)` naming the field at fault.
pub(crate) fn decode<T: DeserializeOwned>(raw: &serde_json::Value) -> Result<T, (String, String)> {
    if !raw.is_object() {
        return Err((
            "not_an_object".into(),
            format!("expected an object, got {}", kind_of(raw)),
        ));
    }
    dora_http::decode_value::<T>("", None, raw).map_err(|e| {
        let (path, message) = match e {
            dora_http::Error::Decode { path, message, .. } => (path, message),
            other => (String::new(), other.to_string()),
        };
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned);
        let field = match &missing {
            Some(name) if path.is_empty() => name.clone(),
            Some(name) => format!("{path}.{name}"),
            None => path,
        };
        let leaf = field.rsplit('.').next().unwrap_or_default();
        let what = if field == "id" {
            "id"
        } else if is_time_field(leaf) {
            "timestamp"
        } else {
            "field"
        };
        let (reason, detail) = match missing {
            Some(_) => (format!("missing_{what}"), format!("`{field}` is missing")),
            None => (
                format!("invalid_{what}"),
                format!("`{field}` cannot be read: {message}"),
            ),
        };
        (reason, detail)
    })
}

fn kind_of(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Item {
        id: String,
        created_at: chrono::DateTime<chrono::Utc>,
        status: String,
        #[serde(default)]
        title: Option<String>,
    }

    #[test]
    fn dedups_by_id_last_copy_wins_and_keeps_the_unreadable() {
        let mut intake = Intake::<Item>::new("pagerduty");
        intake.extend([
            json!({"id": "A", "created_at": "2024-03-01T00:00:00Z", "status": "triggered", "title": "first"}),
            json!({"id": "B", "status": "resolved"}),
            json!({"created_at": "2024-03-01T00:00:00Z", "status": "triggered"}),
            json!({"id": "C", "created_at": "yesterday", "status": "triggered"}),
            json!({"id": "D", "created_at": "2024-03-01T00:00:00Z"}),
            json!({"id": "E", "created_at": "2024-03-01T00:00:00Z", "status": 7}),
            json!("not an incident"),
            // Repeated: the later copy wins.
            json!({"id": "A", "created_at": "2024-03-01T00:00:00Z", "status": "resolved", "title": "second"}),
            json!({"id": "B", "status": "resolved"}),
            json!({"created_at": "2024-03-01T00:00:00Z", "status": "triggered"}),
        ]);
        let (items, skipped) = intake.finish();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].title.as_deref(), Some("second"));
        assert_eq!(items[0].status, "resolved");
        let reasons: Vec<(Option<&str>, &str)> = skipped
            .iter()
            .map(|s| (s.id.as_deref(), s.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                (Some("B"), "missing_timestamp"),
                (Some("C"), "invalid_timestamp"),
                (Some("D"), "missing_field"),
                (Some("E"), "invalid_field"),
                (None, "not_an_object"),
                (None, "missing_id"),
            ]
        );
        assert!(skipped.iter().all(|s| s.kind == EventKind::Incident
            && s.scope.as_deref() == Some("pagerduty")
            && !s.detail.is_empty()));
        assert!(skipped[0].detail.contains("created_at"), "{:?}", skipped[0]);
    }

    #[test]
    fn a_later_unreadable_copy_replaces_a_readable_one_and_back() {
        let ok = json!({"id": "A", "created_at": "2024-03-01T00:00:00Z", "status": "triggered"});
        let bad = json!({"id": "A", "status": "triggered"});
        let mut intake = Intake::<Item>::new("x");
        intake.extend([ok.clone(), bad.clone()]);
        let (items, skipped) = intake.finish();
        assert_eq!((items.len(), skipped.len()), (0, 1));
        let mut intake = Intake::<Item>::new("x");
        intake.extend([bad, ok]);
        let (items, skipped) = intake.finish();
        assert_eq!((items.len(), skipped.len()), (1, 0));
    }

    #[test]
    fn numeric_ids_and_nested_paths() {
        assert_eq!(id_of(&json!({"id": 42})).as_deref(), Some("42"));
        assert_eq!(id_of(&json!({"id": " "})), None);
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Outer {
            id: String,
            report: Report,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        #[serde(rename_all = "camelCase")]
        struct Report {
            close_time: i64,
        }
        let err = decode::<Outer>(&json!({"id": "x", "report": {}})).expect_err("missing");
        assert_eq!(err.0, "missing_timestamp");
        assert!(err.1.contains("report.closeTime"), "{}", err.1);
    }
}
