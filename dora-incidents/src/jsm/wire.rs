//! JSM Operations wire shapes (private), read leniently from JSON values.
//!
//! The official OpenAPI (`jsm-ops` v3) marks no field required or nullable, and
//! several details are unconfirmed against live data (`api-reference.md` §3b),
//! so an alert is read field by field from a [`serde_json::Value`]: a field the
//! normalisation needs (`id`, `createdAt`) that is missing or unreadable is a
//! [`ReadError`] naming it, which the source reports as a skipped event; every
//! other field is optional and read in each shape seen in the documentation.

use dora_core::Timestamp;
use serde_json::{Map, Value};

/// Why an alert could not be read. `reason()` is the stable snake_case code of
/// the skipped event; `Display` names the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ReadError {
    /// The list item is not a JSON object.
    #[error("the list item is {found}, not an alert object")]
    NotAnObject {
        /// The JSON type found.
        found: &'static str,
    },
    /// No usable `id`.
    #[error("`id` is missing or empty")]
    MissingId,
    /// No `createdAt`: the alert cannot be placed in time.
    #[error("`createdAt` is missing")]
    MissingCreatedAt,
    /// A timestamp that is not RFC 3339 (nor epoch milliseconds).
    #[error("`{field}` is not a timestamp: {value}")]
    InvalidTimestamp {
        /// The field.
        field: &'static str,
        /// The value found (shortened).
        value: String,
    },
}

impl ReadError {
    /// The skipped event's reason.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Self::NotAnObject { .. } => "not_an_object",
            Self::MissingId => "missing_id",
            Self::MissingCreatedAt => "missing_timestamp",
            Self::InvalidTimestamp { .. } => "invalid_timestamp",
        }
    }
}

/// How an alert said when it closed: the shape is part of what the source
/// reports ([`super::JsmWireNotes::close_times`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseTime {
    /// `closeTime` as an RFC 3339 string (the spec's shape).
    Iso(Timestamp),
    /// `closeTime` as a number of epoch milliseconds.
    EpochMillis(Timestamp),
    /// Opsgenie's `report.closeTime`: milliseconds after `createdAt`.
    ReportMillis(i64),
}

impl CloseTime {
    /// The close instant of an alert created at `created`.
    pub(crate) fn at(self, created: Timestamp) -> Timestamp {
        match self {
            Self::Iso(t) | Self::EpochMillis(t) => t,
            Self::ReportMillis(ms) => created + chrono::Duration::milliseconds(ms),
        }
    }

    /// The shape's name in the notes.
    pub(crate) fn shape(self) -> &'static str {
        match self {
            Self::Iso(_) => "closeTime (RFC 3339)",
            Self::EpochMillis(_) => "closeTime (epoch ms)",
            Self::ReportMillis(_) => "report.closeTime (ms after createdAt)",
        }
    }
}

/// A `responders[]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Responder {
    /// `team`, `user`, `escalation`, `schedule`.
    pub kind: String,
    /// Its id.
    pub id: Option<String>,
    /// Its name, when the payload has one.
    pub name: Option<String>,
}

/// `AlertResponse`, as far as the normalisation needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Alert {
    pub id: String,
    pub message: Option<String>,
    /// Lower-cased; `None` when absent.
    pub status: Option<String>,
    pub acknowledged: bool,
    pub tags: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
    pub close_time: Option<CloseTime>,
    pub priority: Option<String>,
    pub entity: Option<String>,
    pub responders: Vec<Responder>,
    /// `extraProperties`, values as text (the spec declares strings, its own
    /// example holds a boolean).
    pub extra_properties: Vec<(String, String)>,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A string field (numbers are accepted and printed); empty is absent.
fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    match map.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parse an RFC 3339 timestamp with any number of fraction digits.
pub(crate) fn parse_time(s: &str) -> Option<Timestamp> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

/// A timestamp field: absent or null is `Ok(None)`, an RFC 3339 string or
/// epoch milliseconds is a time, anything else an error naming the field.
fn time(map: &Map<String, Value>, key: &'static str) -> Result<Option<Timestamp>, ReadError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => {
            parse_time(s)
                .map(Some)
                .ok_or_else(|| ReadError::InvalidTimestamp {
                    field: key,
                    value: shorten(s),
                })
        }
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(Some)
            .ok_or_else(|| ReadError::InvalidTimestamp {
                field: key,
                value: n.to_string(),
            }),
        Some(other) => Err(ReadError::InvalidTimestamp {
            field: key,
            value: type_name(other).to_string(),
        }),
    }
}

/// `closeTime` in any of its shapes, else Opsgenie's `report.closeTime`.
fn close_time(map: &Map<String, Value>) -> Result<Option<CloseTime>, ReadError> {
    let shape = match map.get("closeTime") {
        Some(Value::Number(_)) => time(map, "closeTime")?.map(CloseTime::EpochMillis),
        _ => time(map, "closeTime")?.map(CloseTime::Iso),
    };
    if shape.is_some() {
        return Ok(shape);
    }
    let report_ms = map
        .get("report")
        .and_then(|r| r.get("closeTime"))
        .and_then(Value::as_i64)
        .filter(|ms| *ms >= 0);
    Ok(report_ms.map(CloseTime::ReportMillis))
}

fn strings(map: &Map<String, Value>, key: &str) -> Vec<String> {
    map.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn responders(map: &Map<String, Value>) -> Vec<Responder> {
    map.get("responders")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_object)
                .filter_map(|r| {
                    Some(Responder {
                        kind: text(r, "type")?.to_ascii_lowercase(),
                        id: text(r, "id"),
                        name: text(r, "name"),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn extra_properties(map: &Map<String, Value>) -> Vec<(String, String)> {
    map.get("extraProperties")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        Value::Bool(_) | Value::Number(_) => v.to_string(),
                        _ => return None,
                    };
                    Some((k.clone(), v))
                })
                .collect()
        })
        .unwrap_or_default()
}

impl Alert {
    /// Read a list item or a `GET …/v1/alerts/{id}` body.
    pub(crate) fn read(value: &Value) -> Result<Self, ReadError> {
        let map = value.as_object().ok_or(ReadError::NotAnObject {
            found: type_name(value),
        })?;
        let id = text(map, "id").ok_or(ReadError::MissingId)?;
        let created_at = time(map, "createdAt")?.ok_or(ReadError::MissingCreatedAt)?;
        Ok(Self {
            id,
            message: text(map, "message"),
            status: text(map, "status").map(|s| s.to_ascii_lowercase()),
            acknowledged: map
                .get("acknowledged")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            tags: strings(map, "tags"),
            created_at,
            // An unreadable updatedAt only loses a fallback: not worth a skip.
            updated_at: time(map, "updatedAt").ok().flatten(),
            close_time: close_time(map)?,
            priority: text(map, "priority"),
            entity: text(map, "entity"),
            responders: responders(map),
            extra_properties: extra_properties(map),
        })
    }

    /// The id of an item that may not read as an alert, for a skipped event.
    pub(crate) fn id_of(value: &Value) -> Option<String> {
        value.as_object().and_then(|m| text(m, "id"))
    }
}

/// One list page: `{values, count, links: {next}}`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ListPage {
    pub values: Vec<Value>,
    /// Total matching alerts, when sent.
    pub count: Option<u64>,
    /// `links.next`, when present and not null/empty.
    pub next: Option<String>,
}

/// Why a list page could not be read: a protocol error naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum PageError {
    /// The body is not an object.
    #[error("the page is {found}, not an object")]
    NotAnObject {
        /// The JSON type found.
        found: &'static str,
    },
    /// `values` is not an array.
    #[error("`values` is {found}, not an array")]
    Values {
        /// The JSON type found.
        found: &'static str,
    },
}

impl ListPage {
    /// Read a page; a missing or null `values` is an empty page.
    pub(crate) fn read(value: Value) -> Result<Self, PageError> {
        let Value::Object(mut map) = value else {
            return Err(PageError::NotAnObject {
                found: type_name(&value),
            });
        };
        let values = match map.remove("values") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a,
            Some(other) => {
                return Err(PageError::Values {
                    found: type_name(&other),
                });
            }
        };
        let count = map.get("count").and_then(Value::as_u64);
        let next = map
            .get("links")
            .and_then(|l| l.get("next"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        Ok(Self {
            values,
            count,
            next,
        })
    }
}

/// `GET https://<site>/_edge/tenant_info` → the cloud id.
pub(crate) fn cloud_id(value: &Value) -> Option<String> {
    value
        .get("cloudId")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `GET …/v1/teams` → (team id, team name) pairs: `platformTeams` (the
/// spec) or `values`.
pub(crate) fn teams(value: &Value) -> Vec<(String, String)> {
    ["platformTeams", "values"]
        .iter()
        .filter_map(|k| value.get(*k).and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_object)
        .filter_map(|t| {
            Some((
                text(t, "teamId").or_else(|| text(t, "id"))?,
                text(t, "teamName").or_else(|| text(t, "name"))?,
            ))
        })
        .collect()
}

/// `GET …/v1/alerts/{id}/logs` → the earliest entry that closes or resolves
/// the alert (the log wording is not specified: `logType` or `log` mentioning
/// "close" or "resolve"), and `links.next`.
pub(crate) fn close_log(value: &Value) -> (Option<Timestamp>, Option<String>) {
    let closing = |entry: &Map<String, Value>| {
        ["logType", "log"].iter().any(|k| {
            text(entry, k).is_some_and(|t| {
                let t = t.to_ascii_lowercase();
                t.contains("close") || t.contains("resolve")
            })
        })
    };
    let at = value
        .get("values")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .filter(|e| closing(e))
        .filter_map(|e| time(e, "logTime").ok().flatten())
        .min();
    let next = value
        .get("links")
        .and_then(|l| l.get("next"))
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_string);
    (at, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn page() -> Value {
        serde_json::from_str(include_str!("../../tests/fixtures/jsm/alerts.json"))
            .unwrap_or(Value::Null)
    }

    #[test]
    fn reads_the_documented_page() {
        let p = ListPage::read(page()).expect("page");
        assert_eq!(p.count, Some(57));
        assert_eq!(p.next.as_deref(), Some("/v1/alerts?offset=2&size=2"));
        assert_eq!(p.values.len(), 2);
        let a = Alert::read(&p.values[0]).expect("alert");
        assert_eq!(a.id, "e0caa0ce-d52f-4500-81b9-d592d06970b6");
        assert_eq!(a.status.as_deref(), Some("closed"));
        let closed = Utc
            .with_ymd_and_hms(2024, 1, 5, 9, 6, 47)
            .single()
            .map(|t| t + chrono::Duration::milliseconds(958));
        assert_eq!(a.close_time.map(|c| c.at(a.created_at)), closed);
        assert_eq!(a.priority.as_deref(), Some("P2"));
        assert_eq!(a.entity.as_deref(), Some("DatabaseServer1"));
        assert_eq!(a.responders.len(), 2);
        assert!(
            a.extra_properties
                .contains(&("environment".into(), "production".into()))
        );
        let b = Alert::read(&p.values[1]).expect("alert");
        assert_eq!(b.id, "9b251e07-73c9-4907-9996-8cb53a6a20d0-1704440650350");
        assert_eq!(b.close_time, None);
    }

    #[test]
    fn close_time_shapes() {
        let created = "2024-01-05T07:00:00Z";
        let read = |extra: &str| {
            let v: Value =
                serde_json::from_str(&format!(r#"{{"id":"a","createdAt":"{created}"{extra}}}"#))
                    .unwrap_or(Value::Null);
            Alert::read(&v)
        };
        let t = |h, m| Utc.with_ymd_and_hms(2024, 1, 5, h, m, 0).single();
        let at = |r: Result<Alert, ReadError>| {
            r.ok()
                .and_then(|a| a.close_time.map(|c| (c.shape(), c.at(a.created_at))))
        };
        assert_eq!(
            at(read(r#","closeTime":"2024-01-05T08:00:00+01:00""#)),
            t(7, 0).map(|t| ("closeTime (RFC 3339)", t))
        );
        let ms = t(7, 30).map(|t| t.timestamp_millis()).unwrap_or(0);
        assert_eq!(
            at(read(&format!(r#","closeTime":{ms}"#))),
            t(7, 30).map(|t| ("closeTime (epoch ms)", t))
        );
        assert_eq!(
            at(read(r#","closeTime":null,"report":{"closeTime":600000}"#)),
            t(7, 10).map(|t| ("report.closeTime (ms after createdAt)", t))
        );
        assert_eq!(at(read(r#","closeTime":"""#)), None);
        assert_eq!(
            read(r#","closeTime":"yesterday""#)
                .err()
                .map(|e| e.reason()),
            Some("invalid_timestamp")
        );
    }

    #[test]
    fn unreadable_items_name_the_field() {
        let read = |s: &str| Alert::read(&serde_json::from_str(s).unwrap_or(Value::Null));
        let e = read("[1]").expect_err("array");
        assert_eq!(
            (e.reason(), e.to_string().as_str()),
            (
                "not_an_object",
                "the list item is an array, not an alert object"
            )
        );
        assert_eq!(
            read(r#"{"createdAt":"2024-01-05T07:00:00Z"}"#).err(),
            Some(ReadError::MissingId)
        );
        let e = read(r#"{"id":"x"}"#).expect_err("no createdAt");
        assert_eq!(e.reason(), "missing_timestamp");
        assert!(e.to_string().contains("createdAt"));
        let e = read(r#"{"id":7,"createdAt":{"a":1}}"#).expect_err("object time");
        assert_eq!(e.to_string(), "`createdAt` is not a timestamp: an object");
        assert_eq!(
            Alert::id_of(&serde_json::json!({"id": 7})),
            Some("7".into())
        );
    }

    #[test]
    fn pages_teams_and_logs() {
        assert!(ListPage::read(serde_json::json!([])).is_err());
        let e = ListPage::read(serde_json::json!({"values": {}})).expect_err("bad values");
        assert_eq!(e.to_string(), "`values` is an object, not an array");
        let empty = ListPage::read(serde_json::json!({"values": null, "links": {"next": null}}))
            .expect("empty");
        assert_eq!(
            (empty.values.len(), empty.count, empty.next),
            (0, None, None)
        );
        assert_eq!(
            cloud_id(&serde_json::json!({"cloudId": " abc "})),
            Some("abc".into())
        );
        assert_eq!(cloud_id(&serde_json::json!({})), None);
        assert_eq!(
            teams(
                &serde_json::json!({"platformTeams": [{"teamId": "t1", "teamName": "Red Team"}, {"teamId": "t2"}]})
            ),
            vec![("t1".to_string(), "Red Team".to_string())]
        );
        let (at, next) = close_log(&serde_json::json!({"values": [
            {"logTime": "2024-01-05T09:00:00Z", "logType": "system", "log": "Alert created"},
            {"logTime": "2024-01-05T10:00:00Z", "logType": "close", "log": "Alert closed by John"},
            {"logTime": "2024-01-05T09:30:00Z", "logType": "action", "log": "Resolved via API"}
        ], "links": {"next": "/v1/alerts/a/logs?after=x"}}));
        assert_eq!(at, Utc.with_ymd_and_hms(2024, 1, 5, 9, 30, 0).single());
        assert_eq!(next.as_deref(), Some("/v1/alerts/a/logs?after=x"));
    }
}
