//! Opsgenie wire types (private): `GET /v2/alerts` and `GET /v1/incidents/`.

use dora_core::Timestamp;
use serde::Deserialize;

/// A list page of either endpoint. (The shared pager reads pages itself;
/// this envelope checks fixtures.)
#[cfg(test)]
#[derive(Debug, Deserialize)]
pub(crate) struct Page<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub paging: Option<Paging>,
}

/// Paging links; no `next` means the last page.
#[cfg(test)]
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Paging {
    #[serde(default)]
    pub next: Option<String>,
}

/// `BaseAlert`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Alert {
    pub id: String,
    #[serde(default)]
    pub message: Option<String>,
    /// `open` or `closed`.
    pub status: String,
    #[serde(default)]
    pub acknowledged: bool,
    #[serde(default)]
    pub tags: Vec<String>,
    pub created_at: Timestamp,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    #[serde(default)]
    pub priority: Option<String>,
    /// Not in the 2021 swagger's BaseAlert; optional.
    #[serde(default)]
    pub teams: Vec<TeamRef>,
    #[serde(default)]
    pub responders: Vec<Responder>,
    #[serde(default)]
    pub report: Option<Report>,
}

/// `{id}` (sometimes with a name).
#[derive(Debug, Deserialize)]
pub(crate) struct TeamRef {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// `{type, id}` (sometimes with a name).
#[derive(Debug, Deserialize)]
pub(crate) struct Responder {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// An alert's report: durations in milliseconds since `createdAt`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Report {
    #[serde(default)]
    pub close_time: Option<i64>,
}

/// An incident (Standard/Enterprise plans).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Incident {
    pub id: String,
    #[serde(default)]
    pub message: Option<String>,
    /// `open`, `resolved` or `closed` (enum unconfirmed).
    pub status: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default)]
    pub owner_team: Option<String>,
    #[serde(default)]
    pub responders: Vec<Responder>,
    #[serde(default)]
    pub impacted_services: Vec<String>,
    pub created_at: Timestamp,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    /// Probable but unconfirmed; optional.
    #[serde(default)]
    pub impact_start_date: Option<Timestamp>,
    #[serde(default)]
    pub impact_end_date: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_documented_pages() {
        let alerts: Page<Alert> =
            serde_json::from_str(include_str!("../../tests/fixtures/opsgenie/alerts.json"))
                .expect("fixture");
        assert_eq!(alerts.data.len(), 2);
        assert!(
            alerts
                .paging
                .as_ref()
                .and_then(|p| p.next.as_ref())
                .is_none()
        );
        assert_eq!(
            alerts.data[0].report.as_ref().and_then(|r| r.close_time),
            Some(3_090_000)
        );
        assert_eq!(
            alerts.data[1].report.as_ref().and_then(|r| r.close_time),
            None
        );
        let incidents: Page<Incident> =
            serde_json::from_str(include_str!("../../tests/fixtures/opsgenie/incidents.json"))
                .expect("fixture");
        assert_eq!(incidents.data.len(), 2);
        assert!(incidents.data[0].impact_end_date.is_some());
        assert!(incidents.data[1].impact_end_date.is_none());
    }
}
