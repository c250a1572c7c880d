//! incident.io against a local mock server: bearer auth, severities by rank,
//! date filters and the `after` cursor.

use chrono::{TimeZone, Utc};
use dora_core::{IncidentRequest, IncidentSource, IncidentStatus, Severity, TimeRange};
use dora_incidents::IncidentIoBuilder;
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PAGE: &str = include_str!("fixtures/incidentio/incidents.json");
const SEVERITIES: &str = include_str!("fixtures/incidentio/severities.json");

#[tokio::test]
async fn pages_with_the_cursor_and_ranks_severities() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/severities"))
        .and(header("authorization", "Bearer iio-key-1"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(SEVERITIES, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/incidents"))
        .and(header("authorization", "Bearer iio-key-1"))
        .and(query_param("created_at[gte]", "2024-03-01"))
        .and(query_param("created_at[lte]", "2024-04-02"))
        .and(query_param("sort_by", "created_at_oldest_first"))
        .and(query_param("page_size", "2"))
        .and(query_param_is_missing("after"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(PAGE, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let last = r#"{"incidents":[
        {"id":"01HQ9Z","name":"Bad merge","incident_status":{"category":"merged"},"created_at":"2024-03-07T08:00:00Z"},
        {"id":"01HQA0","name":"Payments degraded","incident_status":{"category":"learning"},
         "severity":{"id":"01GBSQF3FHF7FWZQNWGHAVQ900","name":"Major","rank":2},
         "created_at":"2024-03-08T08:00:00Z",
         "duration_metrics":[{"duration_metric":{"name":"Lasted"},"status":"success","value_seconds":600}]}],
      "pagination_meta":{"page_size":2}}"#;
    Mock::given(method("GET"))
        .and(path("/v2/incidents"))
        .and(query_param("after", "01HQ9A1B2C3D4E5F6G7H8J9K0M"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(last, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let source = IncidentIoBuilder::new("iio-key-1")
        .with_base_url(server.uri())
        .with_page_size(2)
        .build()
        .expect("valid");
    let range = TimeRange::new(
        Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2024, 4, 1, 0, 0, 0).unwrap(),
    );
    let mut got = source
        .incidents(&IncidentRequest::new(range))
        .await
        .expect("incidents");
    got.sort_by_key(|i| i.opened_at);
    // The merged one is dropped.
    assert_eq!(
        got.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        [
            "01HQ8Z6K2N3P4Q5R6S7T8V9W0X",
            "01HQ9A1B2C3D4E5F6G7H8J9K0M",
            "01HQA0"
        ]
    );
    assert_eq!(
        (got[0].severity, got[0].raw_severity.as_deref()),
        (Some(Severity::P1), Some("Critical"))
    );
    assert_eq!(
        (got[1].severity, got[1].status),
        (None, IncidentStatus::Acknowledged)
    );
    assert_eq!(
        (got[2].severity, got[2].status),
        (Some(Severity::P2), IncidentStatus::Resolved)
    );
    assert_eq!(
        got[2].resolved_at,
        Some(Utc.with_ymd_and_hms(2024, 3, 8, 8, 10, 0).unwrap())
    );
    let stats = source.stats();
    assert_eq!(
        (stats.requests("severities"), stats.requests("incidents")),
        (1, 2)
    );
}

#[tokio::test]
async fn a_repeated_cursor_is_an_error_not_a_hang() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/severities"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(SEVERITIES, "application/json"))
        .mount(&server)
        .await;
    // Every page points at the same cursor.
    Mock::given(method("GET"))
        .and(path("/v2/incidents"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(PAGE, "application/json"))
        .mount(&server)
        .await;
    let source = IncidentIoBuilder::new("iio-key-2")
        .with_base_url(server.uri())
        .build()
        .expect("valid");
    let range = TimeRange::new(
        Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2024, 4, 1, 0, 0, 0).unwrap(),
    );
    let err = source
        .incidents(&IncidentRequest::new(range))
        .await
        .expect_err("loop");
    assert!(
        matches!(err, dora_core::SourceError::Protocol { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("incidents"), "{err}");
}
