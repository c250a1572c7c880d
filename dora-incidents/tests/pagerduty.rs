//! PagerDuty against a local mock server: the requests we send (auth,
//! version header, filters, `total`), fixture pages, and the log-entry fallback.

use chrono::{TimeZone, Utc};
use dora_core::{IncidentRequest, IncidentSource, IncidentStatus, Severity, TimeRange};
use dora_incidents::{PagerDutyBuilder, RepositoryMapping};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PAGE: &str = include_str!("fixtures/pagerduty/incidents.json");
const LOG: &str = include_str!("fixtures/pagerduty/log_entries.json");

fn march() -> TimeRange {
    TimeRange::new(
        Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2024, 4, 1, 0, 0, 0).unwrap(),
    )
}

#[tokio::test]
async fn sends_auth_version_filters_and_maps_the_fixture() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/incidents"))
        .and(header("authorization", "Token token=pd-key-1"))
        .and(header("accept", "application/vnd.pagerduty+json;version=2"))
        .and(query_param("since", "2024-03-01T00:00:00Z"))
        .and(query_param("until", "2024-04-01T00:00:00Z"))
        .and(query_param("service_ids[]", "PSVC001"))
        .and(query_param("urgencies[]", "high"))
        .and(query_param("statuses[]", "resolved"))
        .and(query_param("total", "true"))
        .and(query_param("offset", "0"))
        .and(query_param("limit", "100"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(PAGE, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let source = PagerDutyBuilder::new("pd-key-1")
        .with_base_url(server.uri())
        .with_service_ids(["PSVC001"])
        .with_urgencies(["high"])
        .with_statuses(["resolved"])
        .with_repository_mapping(RepositoryMapping::new().service("checkout-web", ["checkout"]))
        .build()
        .expect("valid");
    let mut got = source
        .incidents(&IncidentRequest::new(march()))
        .await
        .expect("incidents");
    got.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(got.len(), 2);
    assert_eq!(
        (got[0].severity, got[0].raw_severity.as_deref()),
        (Some(Severity::P1), Some("P1"))
    );
    assert_eq!(got[0].repositories, vec!["checkout"]);
    assert_eq!(
        (got[1].severity, got[1].raw_severity.as_deref()),
        (Some(Severity::P4), Some("low"))
    );
    assert_eq!(
        (got[1].status, got[1].resolved_at),
        (IncidentStatus::Acknowledged, None)
    );
    assert_eq!(source.stats().requests("incidents"), 1);
}

#[tokio::test]
async fn filters_the_range_itself_and_reads_the_resolve_log_entry() {
    let server = MockServer::start().await;
    // A server that ignores since/until and an incident without `resolved_at`.
    let page = r#"{"incidents":[
        {"id":"Q1ABCDEF000001","title":"Checkout 5xx spike","created_at":"2024-03-05T10:12:00Z","status":"resolved",
         "last_status_change_at":"2024-03-05T12:00:00Z","service":{"id":"PSVC001","summary":"checkout-web"},
         "priority":null,"urgency":"high"},
        {"id":"Q0OLD","title":"February","created_at":"2024-02-27T10:00:00Z","status":"resolved",
         "resolved_at":"2024-02-27T11:00:00Z","urgency":"low"}],
      "limit":100,"offset":0,"more":false,"total":2}"#;
    Mock::given(method("GET"))
        .and(path("/incidents"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/incidents/Q1ABCDEF000001/log_entries"))
        .and(query_param("is_overview", "true"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(LOG, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let source = PagerDutyBuilder::new("k")
        .with_base_url(server.uri())
        .build()
        .expect("valid");
    let got = source
        .incidents(&IncidentRequest::new(march()))
        .await
        .expect("incidents");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].id, "Q1ABCDEF000001");
    // From the resolve log entry, not last_status_change_at.
    assert_eq!(
        got[0].resolved_at,
        Some(Utc.with_ymd_and_hms(2024, 3, 5, 11, 3, 30).unwrap())
    );
    assert_eq!(
        (got[0].severity, got[0].raw_severity.as_deref()),
        (Some(Severity::P2), Some("high"))
    );
    assert_eq!(source.stats().requests("log_entries"), 1);
}

#[tokio::test]
async fn long_ranges_are_cut_into_six_month_requests() {
    let server = MockServer::start().await;
    let empty = r#"{"incidents":[],"limit":100,"offset":0,"more":false,"total":0}"#;
    Mock::given(method("GET"))
        .and(path("/incidents"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(empty, "application/json"))
        .expect(3)
        .mount(&server)
        .await;
    let source = PagerDutyBuilder::new("k")
        .with_base_url(server.uri())
        .build()
        .expect("valid");
    let start = Utc.with_ymd_and_hms(2023, 1, 1, 0, 0, 0).unwrap();
    let range = TimeRange::new(start, start + chrono::Duration::days(365));
    let got = source
        .incidents(&IncidentRequest::new(range))
        .await
        .expect("incidents");
    assert!(got.is_empty());
}

#[tokio::test]
async fn an_offset_error_is_reported_with_the_endpoint() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/incidents"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            r#"{"error":{"message":"Invalid Input Provided","code":2001,"errors":["Offset must be less than 10000"]}}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    let source = PagerDutyBuilder::new("secret-pd-key")
        .with_base_url(server.uri())
        .build()
        .expect("valid");
    let err = source
        .incidents(&IncidentRequest::new(march()))
        .await
        .expect_err("400");
    let text = format!("{err} {err:?}");
    assert!(
        text.contains("incidents") && text.contains("Offset must be less than 10000"),
        "{text}"
    );
    assert!(!text.contains("secret-pd-key"), "{text}");
}

/// A PagerDuty that ignores `total=true` (answers `null`): the ceiling is only
/// noticed while paging, and the window must still be split.
struct NoTotal {
    created: Vec<chrono::DateTime<Utc>>,
    ceiling: usize,
}

impl wiremock::Respond for NoTotal {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let param = |k: &str| {
            request
                .url
                .query_pairs()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.into_owned())
        };
        let time = |k: &str| {
            param(k)
                .and_then(|v| chrono::DateTime::parse_from_rfc3339(&v).ok())
                .map(|t| t.with_timezone(&Utc))
        };
        let (Some(since), Some(until)) = (time("since"), time("until")) else {
            return ResponseTemplate::new(400);
        };
        let offset: usize = param("offset").and_then(|v| v.parse().ok()).unwrap_or(0);
        let limit: usize = param("limit").and_then(|v| v.parse().ok()).unwrap_or(25);
        if offset + limit > self.ceiling {
            return ResponseTemplate::new(400)
                .set_body_string(r#"{"error":{"message":"Invalid Input Provided"}}"#);
        }
        let all: Vec<serde_json::Value> = self
            .created
            .iter()
            .enumerate()
            .filter(|(_, t)| **t >= since && **t < until)
            .map(|(i, t)| {
                serde_json::json!({"id": format!("P{i:03}"), "title": "t", "status": "triggered", "urgency": "high",
                                   "created_at": t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)})
            })
            .collect();
        let page: Vec<_> = all.iter().skip(offset).take(limit).cloned().collect();
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "incidents": page, "limit": limit, "offset": offset, "more": offset + limit < all.len(), "total": null
        }))
    }
}

#[tokio::test]
async fn splits_a_window_when_the_ceiling_is_only_seen_while_paging() {
    let server = MockServer::start().await;
    let start = march().start;
    let created: Vec<_> = (0..30)
        .map(|i| start + chrono::Duration::hours(i * 20))
        .collect();
    Mock::given(method("GET"))
        .and(path("/incidents"))
        .respond_with(NoTotal {
            created: created.clone(),
            ceiling: 8,
        })
        .mount(&server)
        .await;
    let source = PagerDutyBuilder::new("k")
        .with_base_url(server.uri())
        .with_page_size(2)
        .with_offset_ceiling(8)
        .build()
        .expect("valid");
    let got = source
        .incidents(&IncidentRequest::new(march()))
        .await
        .expect("incidents");
    let mut ids: Vec<_> = got.iter().map(|i| i.id.clone()).collect();
    ids.sort();
    let want: Vec<_> = (0..30)
        .filter(|i| march().contains(created[*i]))
        .map(|i| format!("P{i:03}"))
        .collect();
    assert_eq!(ids, want);
    assert!(
        got.iter()
            .all(|i| i.status == IncidentStatus::Open && i.resolved_at.is_none())
    );
}

#[tokio::test]
async fn too_many_incidents_in_one_second_is_a_clear_error() {
    let server = MockServer::start().await;
    let t = march().start + chrono::Duration::days(3);
    Mock::given(method("GET"))
        .and(path("/incidents"))
        .respond_with(NoTotal {
            created: vec![t; 12],
            ceiling: 8,
        })
        .mount(&server)
        .await;
    let source = PagerDutyBuilder::new("k")
        .with_base_url(server.uri())
        .with_page_size(2)
        .with_offset_ceiling(8)
        .build()
        .expect("valid");
    let err = source
        .incidents(&IncidentRequest::new(march()))
        .await
        .expect_err("unsplittable");
    assert!(err.to_string().contains("within one second"), "{err}");
}

#[tokio::test]
async fn an_oversized_answer_is_refused_with_the_endpoint_and_limit() {
    let server = MockServer::start().await;
    let padding = "x".repeat(10_000);
    Mock::given(path("/incidents"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"incidents": [], "more": false, "padding": padding}),
            ),
        )
        .mount(&server)
        .await;
    let source = PagerDutyBuilder::new("k")
        .with_base_url(server.uri())
        .with_max_response_size(4096)
        .build()
        .expect("valid");
    let err = source
        .incidents(&IncidentRequest::new(march()))
        .await
        .expect_err("too large");
    let text = err.to_string();
    assert!(
        text.contains("incidents") && text.contains("4 KiB"),
        "{text}"
    );
}
