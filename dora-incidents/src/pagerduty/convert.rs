//! PagerDuty wire → normalised [`Incident`].

use super::wire;
use crate::normalization::{MappingKeys, Normalization};
use dora_core::{Incident, IncidentStatus, Severity, Timestamp};

/// The source name on every incident.
pub(crate) const SOURCE: &str = "pagerduty";

/// Severity and the raw value it came from. The raw value is the priority's
/// label when the incident has a priority, else its urgency. An override by
/// that raw name wins; else `P1`..`P5` labels parse, and without a priority
/// urgency `high` is P2 and `low` is P4.
pub(crate) fn severity(
    priority: Option<&wire::Priority>,
    urgency: Option<&str>,
    norm: &Normalization,
) -> (Option<Severity>, Option<String>) {
    let label = priority.and_then(|p| p.summary.as_deref().or(p.name.as_deref()));
    if let Some(label) = label {
        let sev = norm
            .severities
            .get(label)
            .or_else(|| Severity::parse(label));
        return (sev, Some(label.to_string()));
    }
    let Some(urgency) = urgency else {
        return (None, None);
    };
    let sev = norm.severities.get(urgency).or_else(|| {
        match urgency.trim().to_ascii_lowercase().as_str() {
            "high" => Some(Severity::P2),
            "low" => Some(Severity::P4),
            _ => None,
        }
    });
    (sev, Some(urgency.to_string()))
}

/// PagerDuty status → lifecycle state (unknown values are read by whether the
/// incident carries a resolution time).
fn status(raw: &str, resolved: bool) -> IncidentStatus {
    match raw {
        "triggered" => IncidentStatus::Open,
        "acknowledged" => IncidentStatus::Acknowledged,
        "resolved" => IncidentStatus::Resolved,
        _ if resolved => IncidentStatus::Resolved,
        _ => IncidentStatus::Open,
    }
}

/// Whether the listing lacks a resolution time that the log entries can give.
pub(crate) fn needs_resolve_log(incident: &wire::Incident) -> bool {
    incident.status == "resolved" && incident.resolved_at.is_none()
}

/// The resolution time from log entries: the latest `resolve_log_entry`
/// (an incident can be resolved, reopened and resolved again).
pub(crate) fn resolve_time_from_log(entries: &[wire::LogEntry]) -> Option<Timestamp> {
    entries
        .iter()
        .filter(|e| e.kind == "resolve_log_entry")
        .map(|e| e.created_at)
        .max()
}

/// Normalise one incident. `resolved_from_log` is the resolve log entry's time
/// when the listing had no `resolved_at`.
pub(crate) fn to_incident(
    incident: wire::Incident,
    resolved_from_log: Option<Timestamp>,
    norm: &Normalization,
) -> Incident {
    let (severity, raw_severity) = severity(
        incident.priority.as_ref(),
        incident.urgency.as_deref(),
        norm,
    );
    let is_resolved = incident.status == "resolved";
    // Only a resolved incident has a resolution: `resolved_at` first, then the
    // resolve log entry, then (older payloads) the last status change.
    let resolved_at = if is_resolved {
        incident
            .resolved_at
            .or(resolved_from_log)
            .or(incident.last_status_change_at)
    } else {
        None
    };
    let status = status(&incident.status, resolved_at.is_some());
    let mut keys = MappingKeys::default();
    if let Some(service) = &incident.service {
        keys.services.push(service.id.clone());
        keys.services.extend(service.summary.clone());
    }
    for team in &incident.teams {
        keys.teams.push(team.id.clone());
        keys.teams.extend(team.summary.clone());
    }
    let title = incident
        .title
        .filter(|t| !t.is_empty())
        .or(incident.summary)
        .unwrap_or_default();
    let service = incident
        .service
        .map(|s| s.summary.filter(|n| !n.is_empty()).unwrap_or(s.id));
    let mut out = Incident::new(
        SOURCE,
        incident.id,
        severity,
        incident.created_at,
        resolved_at,
    );
    out.title = title;
    out.service = service;
    out.raw_severity = raw_severity;
    out.status = status;
    out.repositories = norm.repositories.repositories_for(&keys);
    out.url = incident.html_url.filter(|u| !u.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalization::RepositoryMapping;
    use chrono::{TimeZone, Utc};

    fn page() -> wire::IncidentsPage {
        serde_json::from_str(include_str!(
            "../../tests/fixtures/pagerduty/incidents.json"
        ))
        .expect("fixture")
    }

    fn prio(label: &str) -> wire::Priority {
        wire::Priority {
            summary: Some(label.into()),
            name: None,
        }
    }

    #[test]
    fn severity_defaults() {
        let n = Normalization::default();
        assert_eq!(
            severity(Some(&prio("P1")), Some("high"), &n),
            (Some(Severity::P1), Some("P1".into()))
        );
        assert_eq!(
            severity(Some(&prio("p5")), Some("high"), &n),
            (Some(Severity::P5), Some("p5".into()))
        );
        assert_eq!(
            severity(None, Some("high"), &n),
            (Some(Severity::P2), Some("high".into()))
        );
        assert_eq!(
            severity(None, Some("low"), &n),
            (Some(Severity::P4), Some("low".into()))
        );
        assert_eq!(severity(None, None, &n), (None, None));
        // A custom priority name without an override has no severity but keeps its raw value.
        assert_eq!(
            severity(Some(&prio("SEV-1")), Some("high"), &n),
            (None, Some("SEV-1".into()))
        );
    }

    #[test]
    fn severity_overrides_win() {
        let mut n = Normalization::default();
        n.severities.insert("sev-1", Severity::P1);
        n.severities.insert("low", Severity::P5);
        n.severities.insert("P2", Severity::P3);
        assert_eq!(
            severity(Some(&prio("SEV-1")), None, &n).0,
            Some(Severity::P1)
        );
        assert_eq!(severity(None, Some("low"), &n).0, Some(Severity::P5));
        assert_eq!(severity(Some(&prio("P2")), None, &n).0, Some(Severity::P3));
    }

    #[test]
    fn maps_the_documented_page() {
        let norm = Normalization {
            repositories: RepositoryMapping::new()
                .service("checkout-web", ["checkout"])
                .team("PTEAM01", ["payments"]),
            ..Normalization::default()
        };
        let mut incidents = page().incidents.into_iter();
        let first = incidents.next().expect("first");
        assert!(!needs_resolve_log(&first));
        let a = to_incident(first, None, &norm);
        assert_eq!(a.id, "Q1ABCDEF000001");
        assert_eq!(a.source, "pagerduty");
        assert_eq!(a.title, "Checkout 5xx spike");
        assert_eq!(a.service.as_deref(), Some("checkout-web"));
        assert_eq!(a.severity, Some(Severity::P1));
        assert_eq!(a.raw_severity.as_deref(), Some("P1"));
        assert_eq!(
            a.opened_at,
            Utc.with_ymd_and_hms(2024, 3, 5, 10, 12, 0).unwrap()
        );
        assert_eq!(
            a.resolved_at,
            Some(Utc.with_ymd_and_hms(2024, 3, 5, 11, 3, 30).unwrap())
        );
        assert_eq!(a.status, IncidentStatus::Resolved);
        assert_eq!(a.repositories, vec!["checkout", "payments"]);

        let b = to_incident(incidents.next().expect("second"), None, &norm);
        assert_eq!(b.severity, Some(Severity::P4));
        assert_eq!(b.raw_severity.as_deref(), Some("low"));
        assert_eq!(b.status, IncidentStatus::Acknowledged);
        assert_eq!(b.resolved_at, None);
        assert!(b.repositories.is_empty());
    }

    #[test]
    fn resolution_falls_back_to_log_then_last_status_change() {
        let json = r#"{"id":"X","created_at":"2024-03-05T10:00:00Z","status":"resolved",
            "last_status_change_at":"2024-03-05T12:00:00Z","urgency":"high"}"#;
        let inc = || serde_json::from_str::<wire::Incident>(json).expect("incident");
        assert!(needs_resolve_log(&inc()));
        let log_time = Utc.with_ymd_and_hms(2024, 3, 5, 11, 0, 0).unwrap();
        let n = Normalization::default();
        assert_eq!(
            to_incident(inc(), Some(log_time), &n).resolved_at,
            Some(log_time)
        );
        assert_eq!(
            to_incident(inc(), None, &n).resolved_at,
            Some(Utc.with_ymd_and_hms(2024, 3, 5, 12, 0, 0).unwrap())
        );
        // The title falls back to the summary, the service to its id.
        let inc = serde_json::from_str::<wire::Incident>(
            r#"{"id":"Y","summary":"[#9] Disk full","created_at":"2024-03-05T10:00:00Z","status":"triggered",
                "resolved_at":"2024-03-05T11:00:00Z","service":{"id":"PSVC9"}}"#,
        )
        .expect("incident");
        let y = to_incident(inc, None, &n);
        assert_eq!(y.title, "[#9] Disk full");
        assert_eq!(y.service.as_deref(), Some("PSVC9"));
        // Not resolved: no resolution time, whatever the payload says.
        assert_eq!((y.status, y.resolved_at), (IncidentStatus::Open, None));
        assert_eq!((y.severity, y.raw_severity), (None, None));
    }

    #[test]
    fn latest_resolve_entry_wins() {
        let log: wire::LogEntriesPage = serde_json::from_str(
            r#"{"log_entries":[
              {"type":"resolve_log_entry","created_at":"2024-03-05T11:00:00Z"},
              {"type":"unacknowledge_log_entry","created_at":"2024-03-05T13:00:00Z"},
              {"type":"resolve_log_entry","created_at":"2024-03-05T12:30:00Z"},
              {"type":"trigger_log_entry","created_at":"2024-03-05T10:00:00Z"}],"more":false}"#,
        )
        .expect("log");
        assert_eq!(
            resolve_time_from_log(&log.log_entries),
            Some(Utc.with_ymd_and_hms(2024, 3, 5, 12, 30, 0).unwrap())
        );
        assert_eq!(resolve_time_from_log(&[]), None);
    }
}
