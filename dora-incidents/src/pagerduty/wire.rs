//! PagerDuty REST v2 wire types (private): only the fields we read, every
//! optional field tolerant of absence or `null`.

use dora_core::Timestamp;
use serde::Deserialize;

/// `GET /incidents` page (items typed, or raw JSON so that an item that does
/// not decode is skipped and counted rather than failing the page).
#[derive(Debug, Deserialize)]
pub(crate) struct IncidentsPage<T = Incident> {
    pub incidents: Vec<T>,
    #[serde(default)]
    pub more: bool,
    /// Only with `total=true`; `null` otherwise.
    #[serde(default)]
    pub total: Option<u64>,
}

/// An incident, as listed.
#[derive(Debug, Deserialize)]
pub(crate) struct Incident {
    pub id: String,
    #[serde(default)]
    pub title: Option<String>,
    /// `"[#1234] title"`; used when `title` is missing.
    #[serde(default)]
    pub summary: Option<String>,
    pub created_at: Timestamp,
    pub status: String,
    #[serde(default)]
    pub service: Option<Reference>,
    #[serde(default)]
    pub teams: Vec<Reference>,
    /// `null` when priorities are disabled or unset.
    #[serde(default)]
    pub priority: Option<Priority>,
    #[serde(default)]
    pub urgency: Option<String>,
    /// Newer than many client libraries: may be absent in older payloads.
    #[serde(default)]
    pub resolved_at: Option<Timestamp>,
    #[serde(default)]
    pub last_status_change_at: Option<Timestamp>,
    /// The incident's page in PagerDuty.
    #[serde(default)]
    pub html_url: Option<String>,
}

/// A `*_reference` object.
#[derive(Debug, Deserialize)]
pub(crate) struct Reference {
    pub id: String,
    #[serde(default)]
    pub summary: Option<String>,
}

/// `priority_reference` (or the full `Priority` with `include[]=priorities`).
#[derive(Debug, Deserialize)]
pub(crate) struct Priority {
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// `GET /incidents/{id}/log_entries` page (checked against fixtures; the
/// shared pager reads the live pages).
#[cfg(test)]
#[derive(Debug, Deserialize)]
pub(crate) struct LogEntriesPage {
    pub log_entries: Vec<LogEntry>,
    #[serde(default)]
    pub more: bool,
}

/// One log entry: only its type and time matter here.
#[derive(Debug, Deserialize)]
pub(crate) struct LogEntry {
    #[serde(rename = "type")]
    pub kind: String,
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_documented_page() {
        let page: IncidentsPage = serde_json::from_str(include_str!(
            "../../tests/fixtures/pagerduty/incidents.json"
        ))
        .expect("fixture");
        assert_eq!(page.incidents.len(), 2);
        assert!(!page.more);
        assert_eq!(page.total, None);
        let first = &page.incidents[0];
        assert_eq!(
            first.priority.as_ref().and_then(|p| p.summary.as_deref()),
            Some("P1")
        );
        assert!(first.resolved_at.is_some());
        assert!(page.incidents[1].priority.is_none());
        let log: LogEntriesPage = serde_json::from_str(include_str!(
            "../../tests/fixtures/pagerduty/log_entries.json"
        ))
        .expect("fixture");
        assert_eq!(log.log_entries[0].kind, "resolve_log_entry");
        assert!(!log.more);
    }
}
