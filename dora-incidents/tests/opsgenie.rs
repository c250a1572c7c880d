//! Opsgenie against a local mock server: GenieKey auth, the search query, the
//! Incidents API path, `paging.next`, and client-side filters.

use chrono::{TimeZone, Utc};
use dora_core::{IncidentRequest, IncidentSource, IncidentStatus, Severity, TimeRange};
use dora_incidents::{OpsgenieApi, OpsgenieBuilder};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ALERTS: &str = include_str!("fixtures/opsgenie/alerts.json");
const INCIDENTS: &str = include_str!("fixtures/opsgenie/incidents.json");

fn march() -> TimeRange {
    TimeRange::new(
        Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2024, 4, 1, 0, 0, 0).unwrap(),
    )
}

#[tokio::test]
async fn alerts_query_and_client_side_priority_filter() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/alerts"))
        .and(header("authorization", "GenieKey og-key-1"))
        .and(query_param(
            "query",
            "createdAt>=1709251200000 AND createdAt<1711929600000 AND (priority:P1 OR priority:P2) AND tag:\"env:prod\"",
        ))
        .and(query_param("sort", "createdAt"))
        .and(query_param("order", "asc"))
        .and(query_param("limit", "100"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(ALERTS, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let source = OpsgenieBuilder::new("og-key-1")
        .with_base_url(server.uri())
        .with_priorities(["P1", "P2"])
        .with_tags(["env:prod"])
        .build()
        .expect("valid");
    // The fixture also holds a P3 alert: the server's answer is filtered again here.
    let got = source
        .incidents(&IncidentRequest::new(march()))
        .await
        .expect("alerts");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].severity, Some(Severity::P1));
    assert_eq!(
        got[0].resolved_at,
        Some(Utc.with_ymd_and_hms(2024, 3, 5, 11, 3, 30).unwrap())
    );
}

#[tokio::test]
async fn follows_paging_next_and_reads_the_incidents_api() {
    let server = MockServer::start().await;
    let page1 = INCIDENTS.replace(
        "\"paging\": {",
        &format!(
            "\"paging\": {{\"next\": \"{}/v1/incidents?query=x&offset=2&limit=2\",",
            server.uri()
        ),
    );
    let page2 = r#"{"data":[{"id":"i3","message":"Third","status":"closed","priority":"P2",
        "createdAt":"2024-03-09T10:00:00.000Z","updatedAt":"2024-03-09T12:00:00.000Z"}],
        "paging":{},"took":0.1,"requestId":"r"}"#;
    Mock::given(method("GET"))
        .and(path("/v1/incidents/"))
        .and(header("authorization", "GenieKey og-key-2"))
        .and(query_param("offset", "0"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page1, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/incidents"))
        .and(query_param("offset", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page2, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let source = OpsgenieBuilder::new("og-key-2")
        .with_base_url(server.uri())
        .with_api(OpsgenieApi::Incidents)
        .build()
        .expect("valid");
    let mut got = source
        .incidents(&IncidentRequest::new(march()))
        .await
        .expect("incidents");
    got.sort_by_key(|i| i.opened_at);
    assert_eq!(got.len(), 3);
    assert_eq!(
        got[0].opened_at,
        Utc.with_ymd_and_hms(2024, 3, 5, 10, 12, 0).unwrap()
    );
    assert_eq!(
        got[0].resolved_at,
        Some(Utc.with_ymd_and_hms(2024, 3, 5, 11, 3, 30).unwrap())
    );
    assert_eq!(
        (got[1].status, got[1].resolved_at),
        (IncidentStatus::Open, None)
    );
    // Closed without impactEndDate: updatedAt.
    assert_eq!(
        got[2].resolved_at,
        Some(Utc.with_ymd_and_hms(2024, 3, 9, 12, 0, 0).unwrap())
    );
    assert_eq!(source.stats().requests("incidents"), 2);
}

#[tokio::test]
async fn a_next_link_to_another_host_is_refused() {
    let server = MockServer::start().await;
    let page = ALERTS.replace(
        "\"paging\": {",
        "\"paging\": {\"next\": \"https://evil.example/v2/alerts?offset=2\",",
    );
    Mock::given(method("GET"))
        .and(path("/v2/alerts"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page, "application/json"))
        .mount(&server)
        .await;
    let source = OpsgenieBuilder::new("og-key-3")
        .with_base_url(server.uri())
        .build()
        .expect("valid");
    let err = source
        .incidents(&IncidentRequest::new(march()))
        .await
        .expect_err("foreign link");
    let text = err.to_string();
    assert!(
        text.contains("alerts") && !text.contains("og-key-3"),
        "{text}"
    );
}
