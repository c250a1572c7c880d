//! Opsgenie wire → normalised [`Incident`].

use super::wire;
use crate::normalization::{MappingKeys, Normalization};
use chrono::Duration;
use dora_core::{Incident, IncidentStatus, Severity};

/// The source name on every incident.
pub(crate) const SOURCE: &str = "opsgenie";

/// What the conversion needs besides the payload.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Severity overrides and the repository mapping.
    pub norm: Normalization,
    /// A tag with this prefix names the service (`service:checkout-web`);
    /// `None` turns this off.
    pub service_tag_prefix: Option<String>,
}

/// Priority → severity: an override by the raw name wins, else `P1`..`P5`.
pub(crate) fn severity(
    priority: Option<&str>,
    norm: &Normalization,
) -> (Option<Severity>, Option<String>) {
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
        head.eq_ignore_ascii_case(prefix)
            .then(|| t[prefix.len()..].trim().to_string())
            .filter(|s| !s.is_empty())
    })
}

fn team_keys(responders: &[wire::Responder], keys: &mut MappingKeys) {
    for r in responders.iter().filter(|r| r.kind == "team") {
        keys.teams.extend(r.id.clone());
        keys.teams.extend(r.name.clone());
    }
}

/// Normalise an alert. A closed alert resolves at `createdAt + report.closeTime`
/// (milliseconds); without `closeTime`, at `updatedAt` (an upper bound: later
/// notes also move it).
pub(crate) fn alert_to_incident(alert: wire::Alert, opts: &Options) -> Incident {
    let (severity, raw_severity) = severity(alert.priority.as_deref(), &opts.norm);
    let closed = alert.status.eq_ignore_ascii_case("closed");
    let resolved_at = if closed {
        alert
            .report
            .as_ref()
            .and_then(|r| r.close_time)
            .filter(|ms| *ms >= 0)
            .map(|ms| alert.created_at + Duration::milliseconds(ms))
            .or(alert.updated_at)
    } else {
        None
    };
    let status = if closed {
        IncidentStatus::Resolved
    } else if alert.acknowledged {
        IncidentStatus::Acknowledged
    } else {
        IncidentStatus::Open
    };
    let service = service_from_tags(&alert.tags, opts.service_tag_prefix.as_deref());
    let mut keys = MappingKeys::default();
    keys.services.extend(service.clone());
    for t in &alert.teams {
        keys.teams.push(t.id.clone());
        keys.teams.extend(t.name.clone());
    }
    team_keys(&alert.responders, &mut keys);
    keys.tags = alert.tags.clone();
    let mut out = Incident::new(SOURCE, alert.id, severity, alert.created_at, resolved_at);
    out.title = alert.message.unwrap_or_default();
    out.service = service;
    out.raw_severity = raw_severity;
    out.status = status;
    out.repositories = opts.norm.repositories.repositories_for(&keys);
    out
}

/// Normalise an incident: opened at `impactStartDate` (else `createdAt`);
/// resolved or closed at `impactEndDate` (else `updatedAt`).
pub(crate) fn incident_to_incident(incident: wire::Incident, opts: &Options) -> Incident {
    let (severity, raw_severity) = severity(incident.priority.as_deref(), &opts.norm);
    let done = matches!(
        incident.status.to_ascii_lowercase().as_str(),
        "resolved" | "closed"
    );
    let opened_at = incident.impact_start_date.unwrap_or(incident.created_at);
    let resolved_at = if done {
        incident.impact_end_date.or(incident.updated_at)
    } else {
        None
    };
    let service = service_from_tags(&incident.tags, opts.service_tag_prefix.as_deref())
        .or_else(|| incident.impacted_services.first().cloned());
    let mut keys = MappingKeys::default();
    keys.services.extend(service.clone());
    keys.services
        .extend(incident.impacted_services.iter().cloned());
    keys.teams.extend(incident.owner_team.clone());
    team_keys(&incident.responders, &mut keys);
    keys.tags = incident.tags.clone();
    let mut out = Incident::new(SOURCE, incident.id, severity, opened_at, resolved_at);
    out.title = incident.message.unwrap_or_default();
    out.service = service;
    out.raw_severity = raw_severity;
    out.status = if done {
        IncidentStatus::Resolved
    } else {
        IncidentStatus::Open
    };
    out.repositories = opts.norm.repositories.repositories_for(&keys);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalization::RepositoryMapping;
    use chrono::{TimeZone, Utc};

    fn opts() -> Options {
        Options {
            norm: Normalization {
                repositories: RepositoryMapping::new()
                    .service("checkout-web", ["checkout"])
                    .team("8418d193-2dab-4490-b331-8c02cdd196b7", ["payments"])
                    .tag("env:prod", ["infra"]),
                ..Normalization::default()
            },
            service_tag_prefix: Some("service:".into()),
        }
    }

    #[test]
    fn maps_documented_alerts() {
        let page: wire::Page<wire::Alert> =
            serde_json::from_str(include_str!("../../tests/fixtures/opsgenie/alerts.json"))
                .expect("fixture");
        let mut it = page.data.into_iter();
        let a = alert_to_incident(it.next().expect("first"), &opts());
        assert_eq!(a.source, "opsgenie");
        assert_eq!(a.title, "Checkout 5xx rate above 5%");
        assert_eq!(a.service.as_deref(), Some("checkout-web"));
        assert_eq!(
            (a.severity, a.raw_severity.as_deref()),
            (Some(Severity::P1), Some("P1"))
        );
        assert_eq!(
            a.opened_at,
            Utc.with_ymd_and_hms(2024, 3, 5, 10, 12, 0).unwrap()
        );
        // createdAt 10:12:00 + 3,090,000 ms = 11:03:30.
        assert_eq!(
            a.resolved_at,
            Some(Utc.with_ymd_and_hms(2024, 3, 5, 11, 3, 30).unwrap())
        );
        assert_eq!(a.status, IncidentStatus::Resolved);
        assert_eq!(a.repositories, vec!["checkout", "infra", "payments"]);
        let b = alert_to_incident(it.next().expect("second"), &opts());
        assert_eq!(
            (b.severity, b.status, b.resolved_at),
            (Some(Severity::P3), IncidentStatus::Open, None)
        );
        assert_eq!(b.service.as_deref(), Some("search-api"));
        assert!(b.repositories.is_empty());
    }

    #[test]
    fn closed_alert_without_close_time_uses_updated_at_and_acknowledged_is_kept() {
        let json = |status: &str| {
            format!(
                r#"{{"id":"a","status":"{status}","acknowledged":true,"createdAt":"2024-03-05T10:00:00Z",
                "updatedAt":"2024-03-05T10:30:00.5Z","priority":"P2","report":{{"ackTime":1000}}}}"#
            )
        };
        let closed: wire::Alert = serde_json::from_str(&json("closed")).expect("alert");
        let c = alert_to_incident(closed, &opts());
        assert_eq!(
            c.resolved_at,
            Some(
                Utc.with_ymd_and_hms(2024, 3, 5, 10, 30, 0).unwrap() + Duration::milliseconds(500)
            )
        );
        let open: wire::Alert = serde_json::from_str(&json("open")).expect("alert");
        let o = alert_to_incident(open, &opts());
        assert_eq!(
            (o.status, o.resolved_at),
            (IncidentStatus::Acknowledged, None)
        );
    }

    #[test]
    fn maps_documented_incidents() {
        let page: wire::Page<wire::Incident> =
            serde_json::from_str(include_str!("../../tests/fixtures/opsgenie/incidents.json"))
                .expect("fixture");
        let mut it = page.data.into_iter();
        let a = incident_to_incident(it.next().expect("first"), &opts());
        assert_eq!(a.title, "Checkout outage");
        // Impact start, not creation, opens it.
        assert_eq!(
            a.opened_at,
            Utc.with_ymd_and_hms(2024, 3, 5, 10, 12, 0).unwrap()
        );
        assert_eq!(
            a.resolved_at,
            Some(Utc.with_ymd_and_hms(2024, 3, 5, 11, 3, 30).unwrap())
        );
        assert_eq!(
            a.service.as_deref(),
            Some("2c5b1f8e-0000-4000-8000-000000000010")
        );
        assert_eq!(a.repositories, vec!["payments"]);
        let b = incident_to_incident(it.next().expect("second"), &opts());
        assert_eq!(
            (b.status, b.resolved_at, b.severity),
            (IncidentStatus::Open, None, Some(Severity::P3))
        );
        assert_eq!(b.service, None);
    }

    #[test]
    fn overrides_and_prefix_matching() {
        let mut o = opts();
        o.norm.severities.insert("P3", Severity::P2);
        assert_eq!(
            severity(Some("p3"), &o.norm),
            (Some(Severity::P2), Some("p3".into()))
        );
        assert_eq!(severity(Some(" "), &o.norm), (None, None));
        assert_eq!(
            severity(Some("urgent"), &o.norm),
            (None, Some("urgent".into()))
        );
        let tags = vec!["Service:Billing".to_string(), "é".to_string()];
        assert_eq!(
            service_from_tags(&tags, Some("service:")),
            Some("Billing".into())
        );
        assert_eq!(
            service_from_tags(&["é".to_string()], Some("service:")),
            None
        );
        assert_eq!(service_from_tags(&tags, None), None);
    }
}
