//! JSM Operations against local servers: the request shape, cloud-id
//! discovery, the shapes `api-reference.md` §3b marks unconfirmed (and what the
//! source says it saw), skipped items, de-duplication, and auth errors.

use chrono::{Duration, TimeZone, Utc};
use dora_core::{
    IncidentRequest, IncidentSource, IncidentStatus, Severity, SourceError, TimeRange,
};
use dora_incidents::{JSM_ALERTS_SCOPE, JsmBuilder, RepositoryMapping};
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ALERTS: &str = include_str!("fixtures/jsm/alerts.json");
const CLOUD: &str = "0f5c7a1e-5b2d-4c3e-9a8b-7d6e5f4a3b2c";
/// base64("jane@acme.io:jsm-token-1")
const BASIC: &str = "Basic amFuZUBhY21lLmlvOmpzbS10b2tlbi0x";

fn january() -> TimeRange {
    TimeRange::new(
        Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default(),
        Utc.with_ymd_and_hms(2024, 2, 1, 0, 0, 0)
            .single()
            .unwrap_or_default(),
    )
}

fn source(server: &MockServer) -> JsmBuilder {
    JsmBuilder::new("jane@acme.io", "jsm-token-1")
        .with_base_url(format!("{}/jsm/ops/api/{CLOUD}", server.uri()))
        .with_retry_policy(dora_incidents::RetryPolicy::none())
}

#[tokio::test]
async fn lists_alerts_by_time_range_with_basic_auth_and_maps_the_documented_page() {
    let server = MockServer::start().await;
    // The documented page says count 57 and has a next link, but holds two
    // alerts of a page of 100: a short page does not end the listing (servers
    // may serve fewer than asked), so the next page is read; it is empty here.
    Mock::given(method("GET"))
        .and(path(format!("/jsm/ops/api/{CLOUD}/v1/alerts")))
        .and(query_param("offset", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"values": [], "count": 57, "links": {}}"#,
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/jsm/ops/api/{CLOUD}/v1/alerts")))
        .and(header("authorization", BASIC))
        .and(query_param(
            "query",
            "createdAt >= 1704067200000 AND createdAt < 1706745600000 AND priority:P2",
        ))
        .and(query_param("sort", "createdAt"))
        .and(query_param("order", "asc"))
        .and(query_param("offset", "0"))
        .and(query_param("size", "100"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(ALERTS, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let jsm = source(&server)
        .with_priorities(["P2"])
        .with_repository_mapping(RepositoryMapping::new().service("DatabaseServer1", ["db"]))
        .build()
        .expect("valid");
    let batch = jsm
        .incidents_with_notes(&IncidentRequest::new(january()))
        .await
        .expect("alerts");
    assert!(batch.skipped.is_empty(), "{:?}", batch.skipped);
    assert!(batch.service_mapping, "a mapping is configured");
    // The P3 alert of the page is filtered out again here.
    let ids: Vec<&str> = batch.incidents.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["e0caa0ce-d52f-4500-81b9-d592d06970b6"]);
    let closed = &batch.incidents[0];
    assert_eq!(closed.source, "jsm");
    assert_eq!(
        (closed.severity, closed.status),
        (Some(Severity::P2), IncidentStatus::Resolved)
    );
    assert_eq!(
        closed.resolved_at.map(|r| r - closed.opened_at),
        Some(Duration::hours(2))
    );
    assert_eq!(closed.repositories, vec!["db"], "entity is a service key");
    let notes = jsm.wire_notes();
    assert_eq!(notes.next_links.get("relative"), Some(&1), "{notes:?}");
    assert_eq!(notes.close_times.get("closeTime (RFC 3339)"), Some(&1));
    assert_eq!(notes.query_time_unit.as_deref(), Some("milliseconds"));
    assert!(
        notes.summary().contains("links.next relative"),
        "{}",
        notes.summary()
    );
}

#[tokio::test]
async fn unreadable_items_are_skipped_with_reasons_and_repeats_count_once() {
    let server = MockServer::start().await;
    let t = |h: u32| format!("2024-01-05T{h:02}:00:00.000Z");
    let page1 = json!({"count": 8, "links": {"next": "/v1/alerts?offset=4&size=4"}, "values": [
        {"id": "a-1", "createdAt": t(1), "status": "closed", "closeTime": t(2), "priority": "P1"},
        {"createdAt": t(1), "status": "open"},
        {"id": "a-3", "status": "open"},
        {"id": "a-4", "createdAt": t(3), "status": "merged"},
    ]});
    let page2 = json!({"count": 8, "links": {"next": null}, "values": [
        // Repeated from page 1 (the list shifted): counted once, last copy wins.
        {"id": "a-1", "createdAt": t(1), "status": "closed", "closeTime": t(4), "priority": "P1"},
        {"id": "a-6", "createdAt": t(5), "status": "closed", "closeTime": t(4)},
        {"id": "a-7", "createdAt": t(6), "status": "closed"},
        {"id": "a-8", "createdAt": "soon", "status": "open"},
    ]});
    for (offset, body) in [("0", page1), ("4", page2)] {
        Mock::given(method("GET"))
            .and(path(format!("/jsm/ops/api/{CLOUD}/v1/alerts")))
            .and(query_param("offset", offset))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .expect(1)
            .mount(&server)
            .await;
    }
    // a-7 is closed without a close time anywhere: the alert and its log are gone.
    Mock::given(method("GET"))
        .and(path(format!("/jsm/ops/api/{CLOUD}/v1/alerts/a-7")))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"errors": [{"title": "Alert not found", "code": "404"}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/jsm/ops/api/{CLOUD}/v1/alerts/a-7/logs")))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let jsm = source(&server).with_page_size(4).build().expect("valid");
    let batch = jsm
        .incidents_with_notes(&IncidentRequest::new(january()))
        .await
        .expect("alerts");
    assert!(!batch.service_mapping);
    let ids: Vec<&str> = batch.incidents.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["a-1"]);
    assert_eq!(
        batch.incidents[0]
            .resolved_at
            .map(|r| r - batch.incidents[0].opened_at),
        Some(Duration::hours(3)),
        "the last copy wins"
    );
    let mut reasons: Vec<(Option<&str>, &str)> = batch
        .skipped
        .iter()
        .map(|s| (s.id.as_deref(), s.reason.as_str()))
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            (None, "missing_id"),
            (Some("a-3"), "missing_timestamp"),
            (Some("a-4"), "unknown_status"),
            (Some("a-6"), "close_before_open"),
            (Some("a-7"), "missing_close_time"),
            (Some("a-8"), "invalid_timestamp"),
        ]
    );
    for s in &batch.skipped {
        assert_eq!(s.scope.as_deref(), Some("jsm"));
        assert!(s.detail.starts_with("alerts: "), "{}", s.detail);
    }
    let detail = |id: &str| {
        batch
            .skipped
            .iter()
            .find(|s| s.id.as_deref() == Some(id))
            .map(|s| s.detail.clone())
            .unwrap_or_default()
    };
    assert!(detail("a-4").contains("`merged`"), "{}", detail("a-4"));
    assert!(detail("a-8").contains("`createdAt`"), "{}", detail("a-8"));
    assert!(
        detail("a-7").contains("GET /v1/alerts/{id}"),
        "{}",
        detail("a-7")
    );
}

#[tokio::test]
async fn a_closed_item_without_close_time_falls_back_to_updated_at_when_fetching_is_off() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/jsm/ops/api/{CLOUD}/v1/alerts")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"count": 1, "values": [
            {"id": "a-1", "createdAt": "2024-01-05T01:00:00Z", "updatedAt": "2024-01-05T01:30:00Z",
             "status": "resolved", "acknowledged": true}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let jsm = source(&server)
        .with_fetch_missing_close_times(false)
        .build()
        .expect("valid");
    let got = jsm
        .incidents(&IncidentRequest::new(january()))
        .await
        .expect("alerts");
    assert_eq!(
        got.first()
            .and_then(|i| i.resolved_at.map(|r| r - i.opened_at)),
        Some(Duration::minutes(30))
    );
    let notes = jsm.wire_notes();
    assert_eq!(
        notes.close_times.get("updatedAt (an upper bound)"),
        Some(&1)
    );
    assert_eq!(notes.statuses.get("resolved"), Some(&1));
}

#[tokio::test]
async fn auth_failures_name_the_scope_and_service_accounts_never_the_token() {
    for status in [401u16, 403] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(status)
                    .set_body_json(json!({"code": status, "message": "scope does not match"})),
            )
            .expect(1)
            .mount(&server)
            .await;
        let err = source(&server)
            .build()
            .expect("valid")
            .incidents(&IncidentRequest::new(january()))
            .await
            .expect_err("rejected");
        let text = format!("{err} {err:?}");
        assert!(matches!(err, SourceError::Auth { .. }), "{text}");
        assert!(text.contains(JSM_ALERTS_SCOPE), "{text}");
        assert!(
            text.contains("service accounts cannot call this API"),
            "{text}"
        );
        assert!(text.contains(&format!("HTTP {status}")), "{text}");
        assert!(!text.contains("jsm-token-1"), "{text}");
    }
}

#[tokio::test]
async fn an_unknown_cloud_id_is_not_found_and_an_empty_range_asks_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"errors": [{"title": "Not Found", "code": "404"}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let jsm = source(&server).build().expect("valid");
    let err = jsm
        .incidents(&IncidentRequest::new(january()))
        .await
        .expect_err("404");
    assert!(matches!(err, SourceError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("JSM_CLOUD_ID"), "{err}");
    let t = january().start;
    let none = jsm
        .incidents(&IncidentRequest::new(TimeRange::new(t, t)))
        .await
        .expect("empty range");
    assert!(none.is_empty());
}

#[tokio::test]
async fn a_site_without_tenant_info_is_not_found() {
    let server = MockServer::start().await;
    let err = JsmBuilder::new("jane@acme.io", "jsm-token-1")
        .with_site(server.uri())
        .with_api_root(format!("{}/jsm/ops/api", server.uri()))
        .with_retry_policy(dora_incidents::RetryPolicy::none())
        .build()
        .expect("valid")
        .incidents(&IncidentRequest::new(january()))
        .await
        .expect_err("no tenant_info");
    assert!(matches!(err, SourceError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("tenant_info"), "{err}");
}

#[cfg(feature = "conformance")]
mod against_the_fake {
    use super::*;
    use dora_incidents::Jsm;
    use dora_incidents::conformance::{
        FaultPlan, HarnessOptions, JSM_SUITE_CLOUD_ID, JSM_SUITE_EMAIL, JsmWire, MockServer,
        SUITE_TOKEN, Scenario, WireFormat,
    };
    use std::sync::Arc;

    async fn run(
        wire: JsmWire,
        build: impl Fn(&str) -> JsmBuilder,
    ) -> (Jsm, MockServer, Vec<dora_core::Incident>) {
        let scenario = Scenario::standard();
        let options = HarnessOptions::new();
        let server = MockServer::start(
            Arc::new(wire),
            scenario.clone(),
            options.clone(),
            SUITE_TOKEN,
            FaultPlan::none(),
        )
        .await
        .expect("fake");
        let jsm = build(server.base_url())
            .with_repository_mapping(options.mapping.clone())
            .build()
            .expect("valid");
        let got = jsm
            .incidents(&IncidentRequest::new(scenario.range))
            .await
            .expect("alerts");
        let mut want: Vec<_> = scenario
            .in_range()
            .into_iter()
            .map(|i| wire.expected(i, &options))
            .collect();
        want.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(got, want);
        (jsm, server, got)
    }

    fn by_base(base: &str) -> JsmBuilder {
        JsmBuilder::new(JSM_SUITE_EMAIL, SUITE_TOKEN)
            .with_base_url(format!("{base}/jsm/ops/api/{JSM_SUITE_CLOUD_ID}"))
    }

    #[tokio::test]
    async fn discovers_the_cloud_id_from_the_site_once() {
        let build = |base: &str| {
            JsmBuilder::new(JSM_SUITE_EMAIL, SUITE_TOKEN)
                .with_site(base)
                .with_api_root(format!("{base}/jsm/ops/api"))
        };
        let (jsm, server, _) = run(JsmWire::new(), build).await;
        let _ = jsm
            .incidents(&IncidentRequest::new(Scenario::march_2024()))
            .await
            .expect("again");
        let log = server.requests();
        let tenant: Vec<_> = log
            .iter()
            .filter(|r| r.request.path == "/_edge/tenant_info")
            .collect();
        assert_eq!(tenant.len(), 1, "the cloud id is discovered once");
        assert!(
            tenant[0].request.header("authorization").is_none(),
            "no credentials to the site"
        );
        assert!(
            log.iter()
                .filter(|r| r.request.path != "/_edge/tenant_info")
                .all(|r| r
                    .request
                    .path
                    .starts_with(&format!("/jsm/ops/api/{JSM_SUITE_CLOUD_ID}/v1/alerts"))),
            "requests go to {{base}}/v1/alerts"
        );
    }

    #[tokio::test]
    async fn a_query_in_seconds_is_found_by_the_probe() {
        let (jsm, _, got) = run(JsmWire::new().with_query_in_seconds(), by_base).await;
        assert_eq!(got.len(), 5);
        assert_eq!(jsm.wire_notes().query_time_unit.as_deref(), Some("seconds"));
    }

    #[tokio::test]
    async fn thin_list_items_are_completed_from_the_alert_and_its_log() {
        let (jsm, server, _) = run(
            JsmWire::new().with_thin_list().with_absolute_next(),
            by_base,
        )
        .await;
        let notes = jsm.wire_notes();
        // Resolved in range: P1 and P3 from the alert, P5 from its log.
        assert_eq!(
            notes.close_times.get("GET /v1/alerts/{id}"),
            Some(&2),
            "{notes:?}"
        );
        assert_eq!(
            notes.close_times.get("the activity log"),
            Some(&1),
            "{notes:?}"
        );
        let stats = jsm.stats();
        assert_eq!(
            (stats.requests("alert"), stats.requests("alert logs")),
            (3, 1)
        );
        assert_eq!(server.requests().len(), 5);
    }

    #[tokio::test]
    async fn the_full_status_vocabulary_is_read_and_reported() {
        let (jsm, _, got) = run(JsmWire::new().with_full_status_vocabulary(), by_base).await;
        assert!(got.iter().any(|i| i.status == IncidentStatus::Acknowledged));
        let notes = jsm.wire_notes();
        assert!(notes.statuses.contains_key("acked"), "{notes:?}");
        assert!(notes.statuses.contains_key("closed"), "{notes:?}");
    }

    #[tokio::test]
    async fn team_names_are_resolved_when_the_mapping_names_teams() {
        let scenario = Scenario::standard();
        let server = MockServer::start(
            Arc::new(JsmWire::new()),
            scenario.clone(),
            HarnessOptions::new(),
            SUITE_TOKEN,
            FaultPlan::none(),
        )
        .await
        .expect("fake");
        let jsm = by_base(server.base_url())
            .with_repository_mapping(RepositoryMapping::new().team("Platform", ["platform"]))
            .build()
            .expect("valid");
        let got = jsm
            .incidents(&IncidentRequest::new(scenario.range))
            .await
            .expect("alerts");
        assert!(
            got.iter().all(|i| i.repositories == ["platform"]),
            "{got:?}"
        );
        assert_eq!(jsm.wire_notes().team_names.as_deref(), Some("1 teams"));
    }
}
