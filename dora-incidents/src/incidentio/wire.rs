//! incident.io wire types (private): `GET /v2/incidents` and `GET /v1/severities`.

use dora_core::Timestamp;
use serde::Deserialize;

/// `GET /v2/incidents` page. Only `incidents` is required. (The shared pager
/// reads pages itself; this envelope checks fixtures.)
#[cfg(test)]
#[derive(Debug, Deserialize)]
pub(crate) struct IncidentsPage {
    pub incidents: Vec<Incident>,
    #[serde(default)]
    pub pagination_meta: Option<PaginationMeta>,
}

/// Cursor: `after` is absent on the last page.
#[cfg(test)]
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PaginationMeta {
    #[serde(default)]
    pub after: Option<String>,
}

/// `IncidentV2`.
#[derive(Debug, Deserialize)]
pub(crate) struct Incident {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    pub incident_status: IncidentStatus,
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub incident_type: Option<Named>,
    pub created_at: Timestamp,
    #[serde(default)]
    pub incident_timestamp_values: Vec<TimestampValue>,
    #[serde(default)]
    pub duration_metrics: Vec<DurationMetricValue>,
    /// Kept loose: entry shapes vary by field type; we only read strings out of them.
    #[serde(default)]
    pub custom_field_entries: Vec<serde_json::Value>,
    /// The incident's page in incident.io.
    #[serde(default)]
    pub permalink: Option<String>,
}

/// `{id, name, category, ...}`.
#[derive(Debug, Deserialize)]
pub(crate) struct IncidentStatus {
    pub category: String,
}

/// A severity (in an incident, and in `/v1/severities`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Severity {
    pub name: String,
    /// Higher is more severe.
    pub rank: i64,
}

/// Something with a name.
#[derive(Debug, Deserialize)]
pub(crate) struct Named {
    #[serde(default)]
    pub name: Option<String>,
}

/// `{incident_timestamp:{id,name,rank}, value?:{value?}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct TimestampValue {
    pub incident_timestamp: Named,
    #[serde(default)]
    pub value: Option<TimestampInner>,
}

/// `{value?: date-time}`.
#[derive(Debug, Deserialize)]
pub(crate) struct TimestampInner {
    #[serde(default)]
    pub value: Option<Timestamp>,
}

/// `{duration_metric:{id,name}, status, value_seconds?}`.
#[derive(Debug, Deserialize)]
pub(crate) struct DurationMetricValue {
    pub duration_metric: Named,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub value_seconds: Option<f64>,
}

/// `GET /v1/severities`.
#[derive(Debug, Deserialize)]
pub(crate) struct SeveritiesResponse {
    pub severities: Vec<Severity>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_documented_page_and_severities() {
        let page: IncidentsPage = serde_json::from_str(include_str!(
            "../../tests/fixtures/incidentio/incidents.json"
        ))
        .expect("fixture");
        assert_eq!(page.incidents.len(), 2);
        assert_eq!(
            page.pagination_meta.and_then(|m| m.after).as_deref(),
            Some("01HQ9A1B2C3D4E5F6G7H8J9K0M")
        );
        assert!(page.incidents[1].severity.is_none());
        assert!(
            page.incidents[1].incident_timestamp_values[1]
                .value
                .is_none()
        );
        let sev: SeveritiesResponse = serde_json::from_str(include_str!(
            "../../tests/fixtures/incidentio/severities.json"
        ))
        .expect("fixture");
        assert_eq!(sev.severities.len(), 3);
    }
}
