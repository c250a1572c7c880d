//! JSM Operations alert → normalised [`Incident`].
//!
//! The same normalisation as Opsgenie alerts (whose successor this API is), so
//! that a migrated site reports the same incidents: severity from `priority`
//! `P1`..`P5` (overridable by name), the service from a `service:` tag, teams
//! from the `team` responders, the mapping to repositories through the shared
//! [`RepositoryMapping`](crate::RepositoryMapping). JSM adds `entity` (a
//! service key for the mapping) and `extraProperties` (`key:value` tag keys).

use super::wire::Alert;
use crate::normalization::{MappingKeys, Normalization};
use dora_core::{Incident, IncidentStatus, Severity, Timestamp};
use std::collections::BTreeMap;

/// The source name on every incident.
pub(crate) const SOURCE: &str = "jsm";

/// What the conversion needs besides the payload.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    /// Severity overrides and the repository mapping.
    pub norm: Normalization,
    /// A tag with this prefix names the service (`service:checkout-web`).
    pub service_tag_prefix: Option<String>,
}

/// Why an alert that was read cannot become an incident.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ConvertError {
    /// A `status` outside the spec's `open`, `acked`, `snoozed`, `closed`, `resolved`.
    #[error("`status` is `{0}`, not one of open, acked, snoozed, closed, resolved")]
    UnknownStatus(String),
    /// A closed alert with no close time anywhere (list item, alert, logs, `updatedAt`).
    #[error(
        "`status` is `{0}` but no close time was found (`closeTime` in the list and in GET /v1/alerts/{{id}}, the activity log, `updatedAt`)"
    )]
    MissingCloseTime(String),
    /// `closeTime` before `createdAt`.
    #[error("`closeTime` {close} is before `createdAt` {created}")]
    CloseBeforeOpen {
        /// RFC 3339.
        close: String,
        /// RFC 3339.
        created: String,
    },
}

impl ConvertError {
    /// The skipped event's reason.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Self::UnknownStatus(_) => "unknown_status",
            Self::MissingCloseTime(_) => "missing_close_time",
            Self::CloseBeforeOpen { .. } => "close_before_open",
        }
    }
}

/// Where an alert is in its lifecycle, from `status` (and `acknowledged`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifecycle {
    /// `closed` or `resolved`: terminal, needs a close time.
    Closed,
    /// `open`/`snoozed` (acknowledged or not) or `acked`.
    Unresolved(IncidentStatus),
}

/// The lifecycle an alert's `status` says. Without a `status` (no field is
/// required by the spec), a close time means closed.
pub(crate) fn lifecycle(alert: &Alert) -> Result<Lifecycle, ConvertError> {
    let acked = if alert.acknowledged {
        IncidentStatus::Acknowledged
    } else {
        IncidentStatus::Open
    };
    match alert.status.as_deref() {
        Some("closed" | "resolved") => Ok(Lifecycle::Closed),
        Some("acked" | "acknowledged") => Ok(Lifecycle::Unresolved(IncidentStatus::Acknowledged)),
        Some("open" | "snoozed") => Ok(Lifecycle::Unresolved(acked)),
        Some(other) => Err(ConvertError::UnknownStatus(other.to_string())),
        None if alert.close_time.is_some() => Ok(Lifecycle::Closed),
        None => Ok(Lifecycle::Unresolved(acked)),
    }
}

/// Priority → severity: an override by the raw name wins, else `P1`..`P5`.
fn severity(priority: Option<&str>, norm: &Normalization) -> (Option<Severity>, Option<String>) {
    match priority.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => (
            norm.severities.get(p).or_else(|| Severity::parse(p)),
            Some(p.to_string()),
        ),
        None => (None, None),
    }
}

fn service_from_tags(tags: &[String], prefix: Option<&str>) -> Option<String> {
    let prefix = prefix?;
    tags.iter().find_map(|t| {
        let head = t.get(..prefix.len())?;
        let rest = t.get(prefix.len()..)?.trim();
        (head.eq_ignore_ascii_case(prefix) && !rest.is_empty()).then(|| rest.to_string())
    })
}

/// Build the incident. `resolved_at` is the close time found (in the list
/// item or by a fallback); `team_names` maps team ids to names when known.
pub(crate) fn to_incident(
    alert: Alert,
    lifecycle: Lifecycle,
    resolved_at: Option<Timestamp>,
    opts: &Options,
    team_names: &BTreeMap<String, String>,
) -> Result<Incident, ConvertError> {
    let (status, resolved_at) = match lifecycle {
        Lifecycle::Closed => {
            let status = alert.status.clone().unwrap_or_else(|| "closed".into());
            let at = resolved_at.ok_or(ConvertError::MissingCloseTime(status))?;
            if at < alert.created_at {
                return Err(ConvertError::CloseBeforeOpen {
                    close: at.to_rfc3339(),
                    created: alert.created_at.to_rfc3339(),
                });
            }
            (IncidentStatus::Resolved, Some(at))
        }
        Lifecycle::Unresolved(status) => (status, None),
    };
    let (severity, raw_severity) = severity(alert.priority.as_deref(), &opts.norm);
    let service = service_from_tags(&alert.tags, opts.service_tag_prefix.as_deref());
    let mut keys = MappingKeys::default();
    keys.services.extend(service.clone());
    keys.services.extend(alert.entity.clone());
    for r in alert.responders.iter().filter(|r| r.kind == "team") {
        if let Some(id) = &r.id {
            keys.teams.push(id.clone());
            keys.teams.extend(team_names.get(id).cloned());
        }
        keys.teams.extend(r.name.clone());
    }
    keys.tags = alert.tags.clone();
    keys.tags.extend(
        alert
            .extra_properties
            .iter()
            .map(|(k, v)| format!("{k}:{v}")),
    );
    let mut out = Incident::new(SOURCE, alert.id, severity, alert.created_at, resolved_at);
    out.title = alert.message.unwrap_or_default();
    out.service = service;
    out.raw_severity = raw_severity;
    out.status = status;
    out.repositories = opts.norm.repositories.repositories_for(&keys);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalization::RepositoryMapping;
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    fn opts() -> Options {
        Options {
            norm: Normalization {
                repositories: RepositoryMapping::new()
                    .service("DatabaseServer1", ["db"])
                    .team("Red Team", ["red"])
                    .tag("environment:production", ["prod-infra"]),
                ..Normalization::default()
            },
            service_tag_prefix: Some("service:".into()),
        }
    }

    fn alert(v: serde_json::Value) -> Alert {
        match Alert::read(&v) {
            Ok(a) => a,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn maps_the_documented_alerts() {
        let page: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/jsm/alerts.json"))
                .unwrap_or_default();
        let teams = BTreeMap::from([(
            "4513b7ea-3b91-438f-b7e4-e3e54af9147c".to_string(),
            "Red Team".to_string(),
        )]);
        let a = alert(page["values"][0].clone());
        let close = a.close_time.map(|c| c.at(a.created_at));
        let l = lifecycle(&a).expect("status");
        let a = to_incident(a, l, close, &opts(), &teams).expect("converts");
        assert_eq!(a.source, "jsm");
        assert_eq!(
            (a.severity, a.raw_severity.as_deref(), a.status),
            (Some(Severity::P2), Some("P2"), IncidentStatus::Resolved)
        );
        // closeTime − createdAt = 2 h.
        assert_eq!(
            a.resolved_at.map(|r| (r - a.opened_at).num_seconds()),
            Some(7200)
        );
        assert_eq!(a.repositories, vec!["db", "prod-infra", "red"]);
        assert_eq!(a.service, None);
        let b = alert(page["values"][1].clone());
        let l = lifecycle(&b).expect("status");
        let b = to_incident(b, l, None, &opts(), &BTreeMap::new()).expect("converts");
        assert_eq!(
            (b.status, b.resolved_at, b.severity),
            (IncidentStatus::Open, None, Some(Severity::P3))
        );
    }

    #[test]
    fn every_status_of_the_spec_and_the_live_flag() {
        let st = |status: serde_json::Value, ack: bool| {
            lifecycle(&alert(
                json!({"id": "a", "createdAt": "2024-01-05T07:00:00Z",
                "status": status, "acknowledged": ack}),
            ))
        };
        use IncidentStatus::*;
        assert_eq!(st(json!("open"), false), Ok(Lifecycle::Unresolved(Open)));
        assert_eq!(
            st(json!("open"), true),
            Ok(Lifecycle::Unresolved(Acknowledged))
        );
        assert_eq!(
            st(json!("acked"), false),
            Ok(Lifecycle::Unresolved(Acknowledged))
        );
        assert_eq!(st(json!("snoozed"), false), Ok(Lifecycle::Unresolved(Open)));
        assert_eq!(st(json!("Closed"), false), Ok(Lifecycle::Closed));
        assert_eq!(st(json!("resolved"), false), Ok(Lifecycle::Closed));
        assert_eq!(
            st(json!(null), true),
            Ok(Lifecycle::Unresolved(Acknowledged))
        );
        let e = st(json!("merged"), false).expect_err("unknown");
        assert_eq!(e.reason(), "unknown_status");
        assert!(e.to_string().contains("`merged`"), "{e}");
        let no_status = alert(json!({"id": "a", "createdAt": "2024-01-05T07:00:00Z",
            "closeTime": "2024-01-05T08:00:00Z"}));
        assert_eq!(lifecycle(&no_status), Ok(Lifecycle::Closed));
    }

    #[test]
    fn closed_alerts_need_a_sane_close_time() {
        let a = alert(
            json!({"id": "a", "createdAt": "2024-01-05T07:00:00Z", "status": "closed",
            "priority": "urgent", "tags": ["Service:Billing"]}),
        );
        let e = to_incident(
            a.clone(),
            Lifecycle::Closed,
            None,
            &opts(),
            &BTreeMap::new(),
        )
        .expect_err("no close");
        assert_eq!(e.reason(), "missing_close_time");
        let before = Utc.with_ymd_and_hms(2024, 1, 5, 6, 0, 0).single();
        let e = to_incident(
            a.clone(),
            Lifecycle::Closed,
            before,
            &opts(),
            &BTreeMap::new(),
        )
        .expect_err("before");
        assert_eq!(e.reason(), "close_before_open");
        let i = to_incident(
            a,
            Lifecycle::Unresolved(IncidentStatus::Open),
            None,
            &opts(),
            &BTreeMap::new(),
        )
        .expect("open");
        assert_eq!(
            (i.severity, i.raw_severity.as_deref()),
            (None, Some("urgent"))
        );
        assert_eq!(i.service.as_deref(), Some("Billing"));
        let mut o = opts();
        o.norm.severities.insert("urgent", Severity::P1);
        o.service_tag_prefix = None;
        let a = alert(
            json!({"id": "a", "createdAt": "2024-01-05T07:00:00Z", "priority": "urgent", "tags": ["service:x"]}),
        );
        let i = to_incident(
            a,
            Lifecycle::Unresolved(IncidentStatus::Open),
            None,
            &o,
            &BTreeMap::new(),
        )
        .expect("open");
        assert_eq!((i.severity, i.service), (Some(Severity::P1), None));
        assert_eq!(service_from_tags(&["é".into()], Some("service:")), None);
    }
}
