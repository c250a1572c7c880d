//! incident.io wire → normalised [`Incident`].

use super::wire;
use crate::normalization::{MappingKeys, Normalization};
use chrono::Duration;
use dora_core::{Incident, IncidentStatus, Severity, Timestamp};

/// The source name on every incident.
pub(crate) const SOURCE: &str = "incidentio";

/// What the conversion needs besides the payload.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Severity overrides and the repository mapping.
    pub norm: Normalization,
    /// Timestamp names that open an incident, first set one wins; else `created_at`.
    pub opened_timestamps: Vec<String>,
    /// Timestamp names that resolve an incident, first set one wins.
    pub resolved_timestamps: Vec<String>,
    /// The duration metric measuring impact (opened → resolved).
    pub duration_metric: String,
    /// The custom field naming the affected service(s).
    pub service_field: Option<String>,
    /// Return declined / merged / canceled incidents as `Dismissed` instead of dropping them.
    pub include_dismissed: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            norm: Normalization::default(),
            opened_timestamps: vec!["Impact started".into(), "Reported at".into()],
            resolved_timestamps: vec!["Resolved at".into()],
            duration_metric: "Lasted".into(),
            service_field: Some("Affected services".into()),
            include_dismissed: false,
        }
    }
}

/// The organisation's severities, most severe (highest rank) first.
#[derive(Debug, Clone, Default)]
pub(crate) struct SeverityLadder {
    ranks: Vec<i64>,
}

impl SeverityLadder {
    /// Build from `/v1/severities` (any order).
    pub(crate) fn new(severities: &[wire::Severity]) -> Self {
        let mut ranks: Vec<i64> = severities.iter().map(|s| s.rank).collect();
        ranks.sort_unstable_by(|a, b| b.cmp(a));
        ranks.dedup();
        Self { ranks }
    }

    /// Highest rank → P1, next → P2, ... (P5 and below share P5). A rank the
    /// list does not hold (a severity added since) is placed by comparison.
    pub(crate) fn severity_of(&self, rank: i64) -> Severity {
        let above = self.ranks.iter().filter(|r| **r > rank).count();
        Severity::from_rank(above + 1)
    }
}

/// Status category → lifecycle state; `None` for declined, merged and canceled
/// (not real incidents).
fn status(category: &str) -> Option<IncidentStatus> {
    match category {
        "declined" | "merged" | "canceled" | "cancelled" => None,
        "learning" | "closed" => Some(IncidentStatus::Resolved),
        "live" | "paused" => Some(IncidentStatus::Acknowledged),
        // `triage` and anything new.
        _ => Some(IncidentStatus::Open),
    }
}

fn timestamp(incident: &wire::Incident, names: &[String]) -> Option<Timestamp> {
    names.iter().find_map(|name| {
        incident.incident_timestamp_values.iter().find_map(|tv| {
            let matches = tv
                .incident_timestamp
                .name
                .as_deref()
                .is_some_and(|n| n.trim().eq_ignore_ascii_case(name.trim()));
            if matches {
                tv.value.as_ref().and_then(|v| v.value)
            } else {
                None
            }
        })
    })
}

fn duration(incident: &wire::Incident, name: &str) -> Option<Duration> {
    incident.duration_metrics.iter().find_map(|m| {
        let named = m
            .duration_metric
            .name
            .as_deref()
            .is_some_and(|n| n.trim().eq_ignore_ascii_case(name.trim()));
        let ok = m.status.as_deref().is_none_or(|s| s == "success");
        match (named && ok, m.value_seconds) {
            (true, Some(secs)) if secs.is_finite() && secs >= 0.0 => {
                // Whole milliseconds: the metric is in seconds, possibly fractional.
                Some(Duration::milliseconds((secs * 1000.0).round() as i64))
            }
            _ => None,
        }
    })
}

/// Strings held by one custom-field entry's values (text, option, catalog entry, ...).
fn custom_field_values(entry: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    let values = entry.get("values").and_then(|v| v.as_array());
    for v in values.into_iter().flatten() {
        for path in [
            &["value_text"][..],
            &["value_option", "value"],
            &["value_catalog_entry", "name"],
            &["value_link"],
            &["value_numeric"],
        ] {
            let mut node = Some(v);
            for key in path {
                node = node.and_then(|n| n.get(*key));
            }
            if let Some(s) = node.and_then(|n| n.as_str()).filter(|s| !s.is_empty()) {
                out.push(s.to_string());
            }
        }
    }
    out
}

fn custom_field_name(entry: &serde_json::Value) -> Option<&str> {
    entry.get("custom_field")?.get("name")?.as_str()
}

/// Normalise one incident; `None` when it is declined / merged / canceled and
/// those are not wanted.
pub(crate) fn to_incident(
    incident: wire::Incident,
    ladder: &SeverityLadder,
    opts: &Options,
) -> Option<Incident> {
    let status = match status(&incident.incident_status.category) {
        Some(s) => s,
        None if opts.include_dismissed => IncidentStatus::Dismissed,
        None => return None,
    };
    let (severity, raw_severity) = match &incident.severity {
        Some(s) => (
            Some(
                opts.norm
                    .severities
                    .get(&s.name)
                    .unwrap_or_else(|| ladder.severity_of(s.rank)),
            ),
            Some(s.name.clone()),
        ),
        None => (None, None),
    };
    let opened_at = timestamp(&incident, &opts.opened_timestamps).unwrap_or(incident.created_at);
    let resolved_at = if status == IncidentStatus::Resolved {
        timestamp(&incident, &opts.resolved_timestamps)
            .or_else(|| duration(&incident, &opts.duration_metric).map(|d| opened_at + d))
    } else {
        None
    };
    let mut keys = MappingKeys::default();
    let mut service = None;
    for entry in &incident.custom_field_entries {
        let values = custom_field_values(entry);
        let is_service = match (custom_field_name(entry), opts.service_field.as_deref()) {
            (Some(n), Some(f)) => n.trim().eq_ignore_ascii_case(f.trim()),
            _ => false,
        };
        if is_service {
            if service.is_none() {
                service = values.first().cloned();
            }
            keys.services.extend(values.iter().cloned());
        }
        keys.tags.extend(values);
    }
    if let Some(kind) = incident.incident_type.as_ref().and_then(|t| t.name.clone()) {
        keys.tags.push(kind);
    }
    let mut out = Incident::new(SOURCE, incident.id, severity, opened_at, resolved_at);
    out.title = incident.name.unwrap_or_default();
    out.service = service;
    out.raw_severity = raw_severity;
    out.status = status;
    out.repositories = opts.norm.repositories.repositories_for(&keys);
    out.url = incident.permalink.filter(|u| !u.is_empty());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalization::RepositoryMapping;
    use chrono::{TimeZone, Utc};

    fn ladder() -> SeverityLadder {
        let sev: wire::SeveritiesResponse = serde_json::from_str(include_str!(
            "../../tests/fixtures/incidentio/severities.json"
        ))
        .expect("fixture");
        SeverityLadder::new(&sev.severities)
    }

    fn page() -> wire::IncidentsPage {
        serde_json::from_str(include_str!(
            "../../tests/fixtures/incidentio/incidents.json"
        ))
        .expect("fixture")
    }

    #[test]
    fn ladder_ranks_highest_first() {
        let l = ladder();
        assert_eq!(l.severity_of(3), Severity::P1);
        assert_eq!(l.severity_of(2), Severity::P2);
        assert_eq!(l.severity_of(1), Severity::P3);
        // Unknown ranks are placed by comparison.
        assert_eq!(l.severity_of(9), Severity::P1);
        assert_eq!(l.severity_of(0), Severity::P4);
        let many = SeverityLadder {
            ranks: (0..8).rev().collect(),
        };
        assert_eq!(many.severity_of(0), Severity::P5);
    }

    #[test]
    fn maps_the_documented_page() {
        let mut it = page().incidents.into_iter();
        let opts = Options::default();
        let a = to_incident(it.next().expect("first"), &ladder(), &opts).expect("kept");
        assert_eq!(a.source, "incidentio");
        assert_eq!(a.title, "Checkout returning 500s");
        assert_eq!(
            (a.severity, a.raw_severity.as_deref()),
            (Some(Severity::P1), Some("Critical"))
        );
        assert_eq!(
            a.opened_at,
            Utc.with_ymd_and_hms(2024, 3, 5, 10, 12, 0).unwrap()
        );
        assert_eq!(
            a.resolved_at,
            Some(Utc.with_ymd_and_hms(2024, 3, 5, 11, 3, 30).unwrap())
        );
        assert_eq!(a.status, IncidentStatus::Resolved);
        let b = to_incident(it.next().expect("second"), &ladder(), &opts).expect("kept");
        assert_eq!((b.severity, b.raw_severity), (None, None));
        assert_eq!(
            (b.status, b.resolved_at),
            (IncidentStatus::Acknowledged, None)
        );
        assert_eq!(
            b.opened_at,
            Utc.with_ymd_and_hms(2024, 3, 6, 8, 0, 0).unwrap()
        );
    }

    fn incident(category: &str, extra: &str) -> wire::Incident {
        serde_json::from_str(&format!(
            r#"{{"id":"01X","name":"n","incident_status":{{"category":"{category}"}},
                "created_at":"2024-03-05T10:14:00Z"{extra}}}"#
        ))
        .expect("incident")
    }

    #[test]
    fn resolution_from_lasted_when_resolved_at_is_unset() {
        let extra = r#","incident_timestamp_values":[
            {"incident_timestamp":{"name":"impact started"},"value":{"value":"2024-03-05T10:12:00Z"}},
            {"incident_timestamp":{"name":"Resolved at"},"value":{}}],
          "duration_metrics":[{"duration_metric":{"name":"Lasted"},"status":"success","value_seconds":3090.5}]"#;
        let i =
            to_incident(incident("learning", extra), &ladder(), &Options::default()).expect("kept");
        assert_eq!(
            i.resolved_at,
            Some(
                Utc.with_ymd_and_hms(2024, 3, 5, 11, 3, 30).unwrap() + Duration::milliseconds(500)
            )
        );
        // A metric that is still calculating is not used; created_at opens it without timestamps.
        let extra = r#","duration_metrics":[{"duration_metric":{"name":"Lasted"},"status":"calculating","value_seconds":10}]"#;
        let i =
            to_incident(incident("closed", extra), &ladder(), &Options::default()).expect("kept");
        assert_eq!(
            i.opened_at,
            Utc.with_ymd_and_hms(2024, 3, 5, 10, 14, 0).unwrap()
        );
        assert_eq!((i.status, i.resolved_at), (IncidentStatus::Resolved, None));
    }

    #[test]
    fn dismissed_categories_are_dropped_or_kept() {
        let mut opts = Options::default();
        for c in ["declined", "merged", "canceled"] {
            assert!(
                to_incident(incident(c, ""), &ladder(), &opts).is_none(),
                "{c}"
            );
        }
        opts.include_dismissed = true;
        let i = to_incident(incident("merged", ""), &ladder(), &opts).expect("kept");
        assert_eq!(i.status, IncidentStatus::Dismissed);
        assert_eq!(
            to_incident(incident("triage", ""), &ladder(), &opts).map(|i| i.status),
            Some(IncidentStatus::Open)
        );
        assert_eq!(
            to_incident(incident("paused", ""), &ladder(), &opts).map(|i| i.status),
            Some(IncidentStatus::Acknowledged)
        );
    }

    #[test]
    fn overrides_names_and_custom_fields_map_repositories() {
        let opts = Options {
            norm: Normalization {
                severities: crate::normalization::SeverityOverrides::new()
                    .with("minor", Severity::P5),
                repositories: RepositoryMapping::new()
                    .service("Checkout", ["checkout"])
                    .tag("Production Outage", ["platform"]),
            },
            ..Options::default()
        };
        let extra = r#","severity":{"id":"s1","name":"Minor","rank":1},
          "incident_type":{"name":"Production Outage"},
          "custom_field_entries":[
            {"custom_field":{"id":"cf1","name":"Affected services","field_type":"multi_select"},
             "values":[{"value_catalog_entry":{"id":"e1","name":"Checkout"}},{"value_option":{"id":"o","value":"Search"}}]},
            {"custom_field":{"id":"cf2","name":"Notes"},"values":[{"value_text":"db"}]}]"#;
        let i = to_incident(incident("live", extra), &ladder(), &opts).expect("kept");
        assert_eq!(
            (i.severity, i.raw_severity.as_deref()),
            (Some(Severity::P5), Some("Minor"))
        );
        assert_eq!(i.service.as_deref(), Some("Checkout"));
        assert_eq!(i.repositories, vec!["checkout", "platform"]);
    }
}
