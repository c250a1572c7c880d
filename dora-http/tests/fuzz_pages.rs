//! The pager's decoding under mutated and random pages, for the three
//! pagination styles (next link, offset/`more`, cursor), against a local
//! 127.0.0.1 server; and the pagination fields of the wrong type, which used
//! to end a listing silently.

mod support;

use dora_http::{Error, HttpClient, InstantSleeper, Pagination, RetryPolicy};
use quickcheck::{QuickCheck, TestResult};
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};
use support::mutate::{self, Op};
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

/// An item with the field kinds the adapters decode.
#[derive(serde::Deserialize, Debug)]
#[allow(dead_code)]
struct Item {
    id: u64,
    name: Option<String>,
    created_on: Option<String>,
    tags: Option<Vec<String>>,
    nested: Option<Nested>,
}

#[derive(serde::Deserialize, Debug)]
#[allow(dead_code)]
struct Nested {
    ok: Option<bool>,
    score: Option<f64>,
}

fn item(id: u64) -> Value {
    json!({"id": id, "name": format!("item {id}"), "created_on": "2024-03-05T10:12:00Z",
           "tags": ["a", "b"], "nested": {"ok": true, "score": 1.5}})
}

/// Serves `body` for page 1, an empty last page for anything else.
#[derive(Clone, Default)]
struct OnePage {
    body: Arc<Mutex<Vec<u8>>>,
}

impl Respond for OnePage {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let first = !request
            .url
            .query_pairs()
            .any(|(k, v)| k == "page" || k == "after" || (k == "offset" && v != "0"));
        if first {
            let body = self.body.lock().map(|b| b.clone()).unwrap_or_default();
            ResponseTemplate::new(200).set_body_raw(body, "application/json")
        } else {
            ResponseTemplate::new(200).set_body_json(json!({}))
        }
    }
}

struct World {
    runtime: tokio::runtime::Runtime,
    page: OnePage,
    client: HttpClient,
    base: String,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let server = runtime.block_on(MockServer::start());
        let page = OnePage::default();
        runtime.block_on(
            wiremock::Mock::given(wiremock::matchers::any())
                .respond_with(page.clone())
                .mount(&server),
        );
        let base = format!("{}/api", server.uri());
        let client = HttpClient::builder(base.clone())
            .with_retry_policy(RetryPolicy::none())
            .with_sleeper(InstantSleeper::new())
            .build()
            .expect("client");
        std::mem::forget(server);
        World {
            runtime,
            page,
            client,
            base,
        }
    })
}

/// (pagination, realistic first page).
fn styles(base: &str) -> Vec<(Pagination, Value)> {
    vec![
        (
            Pagination::bitbucket(),
            json!({"pagelen": 2, "size": 3, "page": 1, "values": [item(1), item(2)],
                   "next": format!("{base}/items?page=2")}),
        ),
        (
            Pagination::opsgenie(),
            json!({"data": [item(1), item(2)], "paging": {"next": format!("{base}/items?offset=2"),
                   "first": format!("{base}/items?offset=0")}, "took": 0.1, "requestId": "r"}),
        ),
        (
            Pagination::pagerduty("incidents", 2),
            json!({"incidents": [item(1), item(2)], "limit": 2, "offset": 0, "more": true, "total": null}),
        ),
        (
            Pagination::incident_io("incidents"),
            json!({"incidents": [item(1), item(2)], "pagination_meta": {"after": "01HQ", "page_size": 2}}),
        ),
    ]
}

fn list(style: usize, body: Vec<u8>) -> Result<Vec<Item>, Error> {
    let w = world();
    let _serial = mutate::serial();
    if let Ok(mut b) = w.page.body.lock() {
        *b = body;
    }
    let (pagination, _) = styles(&w.base).swap_remove(style);
    let first = w.client.request("items", &["items"]);
    w.runtime
        .block_on(w.client.pages::<Item>(first, pagination).collect_all())
}

fn check(style: usize, body: Vec<u8>) -> TestResult {
    let panics = mutate::count_panics();
    let before = panics.load(Ordering::SeqCst);
    let result = list(style, body);
    if panics.load(Ordering::SeqCst) != before {
        return TestResult::error("a panic in the pager");
    }
    match result {
        Ok(_) => TestResult::passed(),
        Err(e) => {
            let text = e.to_string();
            let short = text.chars().count() < 600;
            if mutate::names_a_place(&text) && short {
                TestResult::passed()
            } else {
                TestResult::error(format!("style {style}: {text}"))
            }
        }
    }
}

#[test]
fn mutated_pages_never_panic_and_errors_say_where() {
    fn prop(style: u8, ops: Vec<Op>, cut: Option<u16>) -> TestResult {
        let style = style as usize % 4;
        let (_, mut doc) = styles(&world().base).swap_remove(style);
        mutate::mutate(&mut doc, &ops);
        check(style, mutate::render(&doc, cut))
    }
    QuickCheck::new()
        .rng(quickcheck::Gen::new(mutate::GEN_SIZE))
        .tests(mutate::cases(600))
        .quickcheck(prop as fn(u8, Vec<Op>, Option<u16>) -> TestResult);
}

#[test]
fn random_bytes_never_panic_and_errors_say_where() {
    fn prop(style: u8, bytes: Vec<u8>) -> TestResult {
        check(style as usize % 4, bytes)
    }
    QuickCheck::new()
        .tests(mutate::cases(300))
        .quickcheck(prop as fn(u8, Vec<u8>) -> TestResult);
}

fn decode_error(style: usize, body: Value) -> (String, String) {
    match list(style, serde_json::to_vec(&body).expect("json")) {
        Err(Error::Decode { path, message, .. }) => (path, message),
        other => panic!("expected a decode error, got {other:?}"),
    }
}

/// Before: a `next` link, cursor or `more` flag of the wrong type was read
/// as "no more pages" and the listing ended without a word, losing every
/// later page. Now it is a decode error naming the field.
#[test]
fn pagination_fields_of_the_wrong_type_are_errors_naming_the_field() {
    let (path, message) = decode_error(0, json!({"values": [item(1)], "next": 2}));
    assert_eq!(
        (path.as_str(), message.as_str()),
        ("next", "invalid type: number, expected a string")
    );
    let (path, _) = decode_error(
        1,
        json!({"data": [item(1)], "paging": {"next": {"href": "x"}}}),
    );
    assert_eq!(path, "paging.next");
    let (path, message) = decode_error(2, json!({"incidents": [item(1)], "more": "true"}));
    assert_eq!(
        (path.as_str(), message.as_str()),
        ("more", "invalid type: string, expected a boolean")
    );
    let (path, _) = decode_error(
        3,
        json!({"incidents": [item(1)], "pagination_meta": {"after": 7}}),
    );
    assert_eq!(path, "pagination_meta.after");
    // Null, absent and empty still mean "last page".
    for body in [
        json!({"values": [item(1)], "next": null}),
        json!({"values": [item(1)], "next": ""}),
        json!({"values": [item(1)]}),
    ] {
        let items = list(0, serde_json::to_vec(&body).expect("json")).expect("one page");
        assert_eq!(items.len(), 1);
    }
    // A bad link names the field too.
    let err = list(
        0,
        serde_json::to_vec(&json!({"values": [], "next": "not a url"})).expect("json"),
    )
    .expect_err("bad link");
    assert!(err.to_string().contains("bad `next` link"), "{err}");
}

/// Before: a `next` link of any length was quoted whole in the error (10 kB
/// of `xxx…` on stderr). Now it is cut.
#[test]
fn bad_links_are_quoted_short() {
    let long = "x".repeat(10_000);
    let body = serde_json::to_vec(&json!({"values": [], "next": long})).expect("json");
    let text = list(0, body).expect_err("bad link").to_string();
    assert!(
        text.contains("bad `next` link") && text.chars().count() < 400,
        "{text}"
    );
    let elsewhere = format!("https://elsewhere.example/{long}");
    let body = serde_json::to_vec(&json!({"values": [], "next": elsewhere})).expect("json");
    let text = list(0, body).expect_err("another origin").to_string();
    assert!(
        text.contains("outside the API base") && text.chars().count() < 500,
        "{text}"
    );
}

/// Before: serde quoted the whole offending value, so one bad field could put
/// a whole page (or a 10 MB string) into an error. Now the message keeps its
/// start and its end (expected type, line and column).
#[test]
fn decode_errors_stay_short() {
    let huge = "é".repeat(50_000);
    let (path, message) = decode_error(0, json!({"values": [{"id": huge}]}));
    assert_eq!(path, "values[0].id");
    assert!(
        message.chars().count() < 400,
        "{} chars",
        message.chars().count()
    );
    assert!(message.starts_with("invalid type: string"), "{message}");
    assert!(message.ends_with("expected u64"), "{message}");
    let (path, message) = decode_error(2, json!({"incidents": huge}));
    assert_eq!(path, "incidents");
    assert_eq!(message, "expected an array of items");
}
