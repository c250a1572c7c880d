//! The pager against a local HTTP server: the four pagination styles, loop
//! detection and decode errors.

use dora_http::{Error, HttpClient, InstantSleeper, Pagination, RetryPolicy};
use serde_json::json;
use std::time::Duration;
use wiremock::matchers::{path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[derive(serde::Deserialize, Debug, PartialEq)]
struct Item {
    id: u64,
}

fn client(server: &MockServer) -> HttpClient {
    HttpClient::builder(format!("{}/2.0", server.uri()))
        .with_retry_policy(RetryPolicy::default().with_seed(1))
        .with_sleeper(InstantSleeper::new())
        .with_timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

async fn page(server: &MockServer, page: &str, body: serde_json::Value) {
    Mock::given(path("/2.0/items"))
        .and(query_param("page", page))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

#[tokio::test]
async fn follows_bitbucket_next_links() {
    let server = MockServer::start().await;
    let base = format!("{}/2.0/items", server.uri());
    page(&server, "1", json!({"pagelen": 2, "values": [{"id": 1}, {"id": 2}], "next": format!("{base}?pagelen=2&page=2")})).await;
    page(
        &server,
        "2",
        json!({"pagelen": 2, "values": [{"id": 3}], "next": format!("{base}?pagelen=2&page=3")}),
    )
    .await;
    page(&server, "3", json!({"pagelen": 2, "values": []})).await;
    let client = client(&server);
    let first = client
        .request("items", &["items"])
        .query("pagelen", "2")
        .query("page", "1");
    let items: Vec<Item> = client
        .pages(first, Pagination::bitbucket())
        .collect_all()
        .await
        .expect("pages");
    assert_eq!(items, vec![Item { id: 1 }, Item { id: 2 }, Item { id: 3 }]);
    let stats = client.stats();
    assert_eq!(stats.requests("items"), 3);
    assert_eq!(stats.pages("items"), 3);
    assert_eq!(stats.endpoints["items"].items, 3);
}

#[tokio::test]
async fn stops_early_when_asked() {
    let server = MockServer::start().await;
    let base = format!("{}/2.0/items", server.uri());
    page(
        &server,
        "1",
        json!({"values": [{"id": 1}], "next": format!("{base}?page=2")}),
    )
    .await;
    let client = client(&server);
    let mut pager = client.pages::<Item>(
        client.request("items", &["items"]).query("page", "1"),
        Pagination::bitbucket(),
    );
    let first = pager.next_page().await.expect("page").expect("some");
    assert!(first.has_next);
    assert_eq!(first.number, 1);
    drop(pager);
    assert_eq!(client.stats().requests("items"), 1);
}

#[tokio::test]
async fn a_repeating_next_link_is_an_error_not_a_hang() {
    let server = MockServer::start().await;
    let base = format!("{}/2.0/items", server.uri());
    page(
        &server,
        "1",
        json!({"values": [{"id": 1}], "next": format!("{base}?page=2")}),
    )
    .await;
    page(
        &server,
        "2",
        json!({"values": [{"id": 2}], "next": format!("{base}?page=2")}),
    )
    .await;
    let client = client(&server);
    let first = client.request("items", &["items"]).query("page", "1");
    let err = client
        .pages::<Item>(first, Pagination::bitbucket())
        .collect_all()
        .await
        .expect_err("loop");
    assert!(matches!(err, Error::Pagination { page: 2, .. }), "{err:?}");
    assert!(err.to_string().contains("repeats an earlier page"), "{err}");
    assert_eq!(client.stats().requests("items"), 2);
}

#[tokio::test]
async fn a_backwards_next_link_is_an_error() {
    let server = MockServer::start().await;
    let base = format!("{}/2.0/items", server.uri());
    page(
        &server,
        "1",
        json!({"values": [{"id": 1}], "next": format!("{base}?page=2")}),
    )
    .await;
    page(
        &server,
        "2",
        json!({"values": [{"id": 2}], "next": format!("{base}?page=1&x=1")}),
    )
    .await;
    let client = client(&server);
    let first = client.request("items", &["items"]).query("page", "1");
    let err = client
        .pages::<Item>(first, Pagination::bitbucket())
        .collect_all()
        .await
        .expect_err("backwards");
    assert!(
        err.to_string().contains("goes backwards (page 2 → 1)"),
        "{err}"
    );
}

#[tokio::test]
async fn a_next_link_to_another_host_is_refused() {
    let server = MockServer::start().await;
    page(
        &server,
        "1",
        json!({"values": [], "next": "https://evil.example.com/2.0/items?page=2"}),
    )
    .await;
    let client = client(&server);
    let first = client.request("items", &["items"]).query("page", "1");
    let err = client
        .pages::<Item>(first, Pagination::bitbucket())
        .collect_all()
        .await
        .expect_err("refused");
    assert!(
        err.to_string().contains("refusing to send credentials"),
        "{err}"
    );
}

#[tokio::test]
async fn a_truncated_page_names_endpoint_and_page() {
    let server = MockServer::start().await;
    let base = format!("{}/2.0/items", server.uri());
    page(
        &server,
        "1",
        json!({"values": [{"id": 1}], "next": format!("{base}?page=2")}),
    )
    .await;
    Mock::given(path("/2.0/items"))
        .and(query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(r#"{"values": [{"id": 2}, {"id": "#),
        )
        .mount(&server)
        .await;
    let client = client(&server);
    let first = client.request("items", &["items"]).query("page", "1");
    let err = client
        .pages::<Item>(first, Pagination::bitbucket())
        .collect_all()
        .await
        .expect_err("truncated");
    match &err {
        Error::Decode {
            endpoint,
            page,
            message,
            ..
        } => {
            assert_eq!(endpoint, "items");
            assert_eq!(*page, Some(2));
            assert!(message.contains("EOF"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("items page 2: invalid response"),
        "{err}"
    );
}

#[tokio::test]
async fn a_bad_field_names_its_path() {
    let server = MockServer::start().await;
    page(&server, "1", json!({"values": [{"id": 1}, {"id": "two"}]})).await;
    let client = client(&server);
    let first = client.request("items", &["items"]).query("page", "1");
    let err = client
        .pages::<Item>(first, Pagination::bitbucket())
        .collect_all()
        .await
        .expect_err("bad field");
    match &err {
        Error::Decode { path, page, .. } => {
            assert_eq!(path, "values[1].id");
            assert_eq!(*page, Some(1));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn pagerduty_offset_pagination() {
    let server = MockServer::start().await;
    Mock::given(path("/incidents"))
        .and(query_param("offset", "0"))
        .and(query_param("limit", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"incidents": [{"id": 1}, {"id": 2}], "limit": 2, "offset": 0, "more": true, "total": null})))
        .mount(&server)
        .await;
    Mock::given(path("/incidents"))
        .and(query_param("offset", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"incidents": [{"id": 3}], "limit": 2, "offset": 2, "more": false}),
        ))
        .mount(&server)
        .await;
    let client = HttpClient::builder(server.uri()).build().expect("client");
    let first = client
        .request("incidents", &["incidents"])
        .query("statuses[]", "resolved");
    let items: Vec<Item> = client
        .pages(first, Pagination::pagerduty("incidents", 2))
        .collect_all()
        .await
        .expect("pages");
    assert_eq!(items.len(), 3);
    assert_eq!(client.stats().requests("incidents"), 2);
}

#[tokio::test]
async fn pagerduty_more_with_an_empty_page_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(path("/incidents"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"incidents": [], "more": true})),
        )
        .mount(&server)
        .await;
    let client = HttpClient::builder(server.uri()).build().expect("client");
    let first = client.request("incidents", &["incidents"]);
    let err = client
        .pages::<Item>(first, Pagination::pagerduty("incidents", 100))
        .collect_all()
        .await
        .expect_err("must not loop");
    assert!(matches!(err, Error::Pagination { page: 1, .. }), "{err:?}");
}

#[tokio::test]
async fn opsgenie_paging_next() {
    let server = MockServer::start().await;
    let next = format!("{}/v2/alerts?limit=1&offset=1", server.uri());
    Mock::given(path("/v2/alerts"))
        .and(query_param_is_missing("offset"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"data": [{"id": 1}], "paging": {"next": next, "first": "x"}, "took": 0.1}),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/v2/alerts"))
        .and(query_param("offset", "1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": [{"id": 2}], "paging": {"first": "x"}})),
        )
        .mount(&server)
        .await;
    let client = HttpClient::builder(server.uri()).build().expect("client");
    let first = client
        .request("alerts", &["v2", "alerts"])
        .query("limit", "1");
    let items: Vec<Item> = client
        .pages(first, Pagination::opsgenie())
        .collect_all()
        .await
        .expect("pages");
    assert_eq!(items, vec![Item { id: 1 }, Item { id: 2 }]);
}

#[tokio::test]
async fn incident_io_cursor_and_repeated_cursor() {
    let server = MockServer::start().await;
    Mock::given(path("/v2/incidents"))
        .and(query_param_is_missing("after"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"incidents": [{"id": 1}], "pagination_meta": {"after": "01A", "page_size": 1}}),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/v2/incidents"))
        .and(query_param("after", "01A"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"incidents": [{"id": 2}], "pagination_meta": {"after": "01B", "page_size": 1}}),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/v2/incidents"))
        .and(query_param("after", "01B"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"incidents": [{"id": 3}], "pagination_meta": {"page_size": 1}}),
            ),
        )
        .mount(&server)
        .await;
    let client = HttpClient::builder(server.uri()).build().expect("client");
    let first = client
        .request("incidents", &["v2", "incidents"])
        .query("page_size", "1");
    let items: Vec<Item> = client
        .pages(first.clone(), Pagination::incident_io("incidents"))
        .collect_all()
        .await
        .expect("pages");
    assert_eq!(items.len(), 3);

    // A server that hands back the same cursor forever.
    let looping = MockServer::start().await;
    Mock::given(path("/v2/incidents"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"incidents": [{"id": 1}], "pagination_meta": {"after": "01A"}}),
            ),
        )
        .mount(&looping)
        .await;
    let client = HttpClient::builder(looping.uri()).build().expect("client");
    let first = client.request("incidents", &["v2", "incidents"]);
    let err = client
        .pages::<Item>(first, Pagination::incident_io("incidents"))
        .collect_all()
        .await
        .expect_err("loop");
    assert!(matches!(err, Error::Pagination { page: 2, .. }), "{err:?}");
}

#[tokio::test]
async fn max_pages_guards_against_endless_listings() {
    let server = MockServer::start().await;
    let base = format!("{}/2.0/items", server.uri());
    for n in 1..=3 {
        page(
            &server,
            &n.to_string(),
            json!({"values": [{"id": n}], "next": format!("{base}?page={}", n + 1)}),
        )
        .await;
    }
    let client = client(&server);
    let first = client.request("items", &["items"]).query("page", "1");
    let err = client
        .pages::<Item>(first, Pagination::bitbucket())
        .max_pages(2)
        .collect_all()
        .await
        .expect_err("too many");
    assert!(matches!(err, Error::Pagination { page: 3, .. }), "{err:?}");
}

/// A listing of `total` items (ids 0..total) whose server sends at most `cap`
/// items per page, whatever the client asks for, in one of the four styles.
struct ShortPages {
    total: u64,
    cap: u64,
    style: &'static str,
}

impl wiremock::Respond for ShortPages {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let param = |key: &str| {
            request
                .url
                .query_pairs()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.into_owned())
        };
        let num = |key: &str, default: u64| {
            param(key)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(default)
        };
        let host = request
            .headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        let base = format!("http://{host}{}", request.url.path());
        let items = |from: u64, n: u64| {
            (from..(from + n).min(self.total))
                .map(|id| json!({"id": id}))
                .collect::<Vec<_>>()
        };
        let body = match self.style {
            "bitbucket" => {
                let page = num("page", 1).max(1);
                let from = (page - 1) * self.cap;
                let mut body =
                    json!({"pagelen": self.cap, "page": page, "values": items(from, self.cap)});
                if from + self.cap < self.total {
                    body["next"] = json!(format!("{base}?pagelen={}&page={}", self.cap, page + 1));
                }
                body
            }
            "pagerduty" => {
                let offset = num("offset", 0);
                let limit = num("limit", 25).min(self.cap);
                json!({"incidents": items(offset, limit), "limit": limit, "offset": offset,
                       "more": offset + limit < self.total, "total": null})
            }
            "opsgenie" => {
                let offset = num("offset", 0);
                let limit = num("limit", 20).min(self.cap);
                let mut body =
                    json!({"data": items(offset, limit), "paging": {"first": "x"}, "took": 0.1});
                if offset + limit < self.total {
                    body["paging"]["next"] = json!(format!(
                        "{base}?limit={}&offset={}",
                        num("limit", 20),
                        offset + limit
                    ));
                }
                body
            }
            _ => {
                let from = param("after")
                    .and_then(|v| v.parse::<u64>().ok())
                    .map_or(0, |after| after + 1);
                let size = num("page_size", 25).min(self.cap);
                let page = items(from, size);
                let mut meta = json!({"page_size": size});
                if from + size < self.total {
                    meta["after"] = json!((from + size - 1).to_string());
                }
                json!({"incidents": page, "pagination_meta": meta})
            }
        };
        ResponseTemplate::new(200).set_body_json(body)
    }
}

/// Every pagination style against a server that sends pages shorter than
/// asked for: every item exactly once, in order — nothing skipped, nothing
/// doubled.
#[tokio::test]
async fn short_pages_lose_and_double_nothing_in_every_style() {
    let total = 23u64;
    for style in ["bitbucket", "pagerduty", "opsgenie", "incidentio"] {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(ShortPages {
                total,
                cap: 4,
                style,
            })
            .mount(&server)
            .await;
        let client = HttpClient::builder(server.uri()).build().expect("client");
        let (first, pagination) = match style {
            "bitbucket" => (
                client
                    .request("items", &["items"])
                    .query("pagelen", "10")
                    .query("page", "1"),
                Pagination::bitbucket(),
            ),
            "pagerduty" => (
                client.request("items", &["incidents"]),
                Pagination::pagerduty("incidents", 10),
            ),
            "opsgenie" => (
                client
                    .request("items", &["v2", "alerts"])
                    .query("limit", "10")
                    .query("offset", "0"),
                Pagination::opsgenie(),
            ),
            _ => (
                client
                    .request("items", &["v2", "incidents"])
                    .query("page_size", "10"),
                Pagination::incident_io("incidents"),
            ),
        };
        let items: Vec<Item> = client
            .pages(first, pagination)
            .collect_all()
            .await
            .unwrap_or_else(|e| panic!("{style}: {e}"));
        let ids: Vec<u64> = items.iter().map(|i| i.id).collect();
        assert_eq!(ids, (0..total).collect::<Vec<_>>(), "{style}");
        assert_eq!(
            client.stats().requests("items"),
            total.div_ceil(4),
            "{style}: one request per short page"
        );
    }
}

/// PagerDuty with a server that caps `limit` (asked 10, answers 3 with
/// `"limit": 3`): offsets advance by 3.
#[tokio::test]
async fn pagerduty_offset_advances_by_items_received() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ShortPages {
            total: 7,
            cap: 3,
            style: "pagerduty",
        })
        .mount(&server)
        .await;
    let client = HttpClient::builder(server.uri()).build().expect("client");
    let mut pager = client.pages::<Item>(
        client.request("incidents", &["incidents"]),
        Pagination::pagerduty("incidents", 10),
    );
    let mut offsets = Vec::new();
    let mut ids = Vec::new();
    while let Some(next) = pager.next_request() {
        let offset = next
            .url()
            .query_pairs()
            .find(|(k, _)| k == "offset")
            .map(|(_, v)| v.into_owned());
        offsets.push(offset.unwrap_or_default());
        match pager.next_page().await.expect("page") {
            Some(page) => ids.extend(page.items.into_iter().map(|i| i.id)),
            None => break,
        }
    }
    assert_eq!(offsets, ["0", "3", "6"]);
    assert_eq!(ids, (0..7).collect::<Vec<_>>());
    let requests = server.received_requests().await.unwrap_or_default();
    assert!(
        requests
            .iter()
            .all(|r| r.url.query_pairs().any(|(k, v)| k == "limit" && v == "10")),
        "the limit asked for stays the same"
    );
}

/// A server that ignores `offset` and always answers the same page with
/// `more: true` would be paged 10,000 times: the pager stops at the first
/// repeat with an error that says why.
#[tokio::test]
async fn an_offset_server_that_ignores_the_offset_is_caught_at_once() {
    let server = MockServer::start().await;
    Mock::given(path("/incidents"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "incidents": [{"id": 1}, {"id": 2}], "limit": 2, "offset": 0, "more": true
        })))
        .mount(&server)
        .await;
    let client = HttpClient::builder(server.uri()).build().expect("client");
    let err = client
        .pages::<Item>(
            client.request("incidents", &["incidents"]),
            Pagination::pagerduty("incidents", 2),
        )
        .collect_all()
        .await
        .expect_err("a loop");
    assert!(err.to_string().contains("same page again"), "{err}");
    let requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 2, "stopped at the first repeat");
}
