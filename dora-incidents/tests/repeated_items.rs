//! Every adapter against a local server whose listing shifts while it is
//! collected: an item repeated across pages is returned once, and the last
//! copy wins; unreadable items are reported, not dropped.

use chrono::{TimeZone, Utc};
use dora_core::{IncidentRequest, IncidentSource, IncidentStatus, TimeRange};
use dora_incidents::{IncidentIoBuilder, OpsgenieBuilder, PagerDutyBuilder};
use serde_json::json;
use wiremock::matchers::{path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn march() -> TimeRange {
    TimeRange::new(
        Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2024, 4, 1, 0, 0, 0).unwrap(),
    )
}

async fn serve(server: &MockServer, p: &str, key: &str, value: &str, body: serde_json::Value) {
    Mock::given(path(p))
        .and(query_param(key, value))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

#[tokio::test]
async fn pagerduty_keeps_the_last_copy_and_reports_unreadable_items() {
    let server = MockServer::start().await;
    let pd = |id: &str, title: &str, status: &str| {
        json!({"id": id, "title": title, "created_at": "2024-03-05T10:00:00Z", "status": status,
               "urgency": "high", "resolved_at": if status == "resolved" { json!("2024-03-05T11:00:00Z") } else { json!(null) }})
    };
    serve(
        &server,
        "/incidents",
        "offset",
        "0",
        json!({"incidents": [pd("A", "old", "triggered"), pd("B", "b", "triggered")],
        "limit": 2, "offset": 0, "more": true, "total": 3}),
    )
    .await;
    serve(
        &server,
        "/incidents",
        "offset",
        "2",
        json!({"incidents": [pd("A", "new", "resolved"), {"id": "C", "status": "triggered"}],
        "limit": 2, "offset": 2, "more": false, "total": null}),
    )
    .await;
    let source = PagerDutyBuilder::new("k")
        .with_base_url(server.uri())
        .with_page_size(2)
        .build()
        .expect("valid");
    let batch = source
        .incidents_with_notes(&IncidentRequest::new(march()))
        .await
        .expect("incidents");
    let ids: Vec<&str> = batch.incidents.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["A", "B"]);
    assert_eq!(batch.incidents[0].title, "new");
    assert_eq!(batch.incidents[0].status, IncidentStatus::Resolved);
    assert_eq!(batch.skipped.len(), 1);
    assert_eq!(batch.skipped[0].id.as_deref(), Some("C"));
    assert_eq!(batch.skipped[0].reason, "missing_timestamp");
    assert_eq!(batch.skipped[0].scope.as_deref(), Some("pagerduty"));
    assert!(!batch.service_mapping);
}

#[tokio::test]
async fn opsgenie_keeps_the_last_copy() {
    let server = MockServer::start().await;
    let alert = |id: &str, message: &str, status: &str| {
        json!({"id": id, "message": message, "status": status, "createdAt": "2024-03-05T10:00:00Z",
               "priority": "P1", "report": {"closeTime": 60000}})
    };
    let next = format!(
        "{}/v2/alerts?limit=2&offset=2&query=x&sort=createdAt&order=asc",
        server.uri()
    );
    serve(
        &server,
        "/v2/alerts",
        "offset",
        "0",
        json!({"data": [alert("A", "old", "open"), alert("B", "b", "open")],
        "paging": {"next": next}}),
    )
    .await;
    serve(&server, "/v2/alerts", "offset", "2", json!({"data": [alert("A", "new", "closed"), {"id": "C", "status": "open", "createdAt": 17}],
        "paging": {}})).await;
    let source = OpsgenieBuilder::new("k")
        .with_base_url(server.uri())
        .with_page_size(2)
        .build()
        .expect("valid");
    let batch = source
        .incidents_with_notes(&IncidentRequest::new(march()))
        .await
        .expect("incidents");
    let ids: Vec<&str> = batch.incidents.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["A", "B"]);
    assert_eq!(batch.incidents[0].title, "new");
    assert_eq!(batch.incidents[0].status, IncidentStatus::Resolved);
    let skipped: Vec<(Option<&str>, &str)> = batch
        .skipped
        .iter()
        .map(|s| (s.id.as_deref(), s.reason.as_str()))
        .collect();
    assert_eq!(skipped, [(Some("C"), "invalid_timestamp")]);
}

#[tokio::test]
async fn incidentio_keeps_the_last_copy() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/severities"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"severities": [{"id": "s1", "name": "Critical", "rank": 10}]}),
            ),
        )
        .mount(&server)
        .await;
    let inc = |id: &str, name: &str, category: &str| {
        json!({"id": id, "name": name, "incident_status": {"category": category},
               "severity": {"name": "Critical", "rank": 10}, "created_at": "2024-03-05T10:00:00Z"})
    };
    Mock::given(path("/v2/incidents"))
        .and(query_param_is_missing("after"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "incidents": [inc("A", "old", "live"), inc("B", "b", "live")],
            "pagination_meta": {"after": "B", "page_size": 2}})))
        .mount(&server)
        .await;
    serve(&server, "/v2/incidents", "after", "B", json!({"incidents": [inc("A", "new", "closed"), {"name": "no id", "incident_status": {"category": "live"}, "created_at": "2024-03-05T10:00:00Z"}],
        "pagination_meta": {"page_size": 2}})).await;
    let source = IncidentIoBuilder::new("k")
        .with_base_url(server.uri())
        .with_page_size(2)
        .with_repository_mapping(dora_incidents::RepositoryMapping::new().service("x", ["y"]))
        .build()
        .expect("valid");
    let batch = source
        .incidents_with_notes(&IncidentRequest::new(march()))
        .await
        .expect("incidents");
    let ids: Vec<&str> = batch.incidents.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["A", "B"]);
    assert_eq!(batch.incidents[0].title, "new");
    assert_eq!(batch.incidents[0].status, IncidentStatus::Resolved);
    let skipped: Vec<(Option<&str>, &str)> = batch
        .skipped
        .iter()
        .map(|s| (s.id.as_deref(), s.reason.as_str()))
        .collect();
    assert_eq!(skipped, [(None, "missing_id")]);
    assert!(batch.service_mapping);
}
