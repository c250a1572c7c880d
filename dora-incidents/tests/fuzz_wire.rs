//! Property-based fuzzing of the PagerDuty, Opsgenie (alerts and incidents)
//! and incident.io wire decoders through the public sources, against a
//! local 127.0.0.1 server serving the fixture pages with one page mutated:
//! wrong types, missing keys, huge and negative numbers, odd unicode,
//! truncated JSON, random bytes.
//!
//! Properties: nothing panics (in any task); a listing that fails says where
//! (a JSON path, a line/column, or the field); every skipped item says why,
//! naming the field. Bounded cases by default (`DORA_FUZZ_CASES` raises it).

#[path = "../../dora-http/tests/support/mutate.rs"]
mod mutate;

use chrono::{TimeZone, Utc};
use dora_core::{IncidentRequest, IncidentSource, TimeRange};
use dora_incidents::{
    IncidentIoBuilder, OpsgenieApi, OpsgenieBuilder, PagerDutyBuilder, RetryPolicy,
};
use mutate::Op;
use quickcheck::{QuickCheck, TestResult};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

/// (source, path served, fixture file).
const PAGES: [(usize, &str, &str); 6] = [
    (0, "/incidents", "pagerduty/incidents.json"),
    (0, "/log_entries", "pagerduty/log_entries.json"),
    (1, "/v2/alerts", "opsgenie/alerts.json"),
    (2, "/v1/incidents", "opsgenie/incidents.json"),
    (3, "/v2/incidents", "incidentio/incidents.json"),
    (3, "/v1/severities", "incidentio/severities.json"),
];

/// The page to spoil (its index in `PAGES`) and its bytes.
type Spoiled = Arc<Mutex<Option<(usize, Vec<u8>)>>>;

#[derive(Clone, Default)]
struct Fixtures {
    pages: Arc<Vec<Value>>,
    spoiled: Spoiled,
}

impl Respond for Fixtures {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path().trim_end_matches('/');
        let found = PAGES.iter().position(|(_, p, _)| {
            path == *p || (*p == "/log_entries" && path.ends_with("/log_entries"))
        });
        let Some(index) = found else {
            return ResponseTemplate::new(404)
                .set_body_json(serde_json::json!({"message": "not found"}));
        };
        if let Ok(spoiled) = self.spoiled.lock()
            && let Some((i, bytes)) = &*spoiled
            && *i == index
        {
            return ResponseTemplate::new(200).set_body_raw(bytes.clone(), "application/json");
        }
        ResponseTemplate::new(200).set_body_json(self.pages[index].clone())
    }
}

struct World {
    runtime: tokio::runtime::Runtime,
    fixtures: Fixtures,
    sources: Vec<Box<dyn IncidentSource>>,
    errors: Mutex<BTreeSet<String>>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let server = runtime.block_on(MockServer::start());
        let base = server.uri();
        let pages = PAGES
            .iter()
            .map(|(_, _, file)| {
                let path = format!("{}/tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
                let text = std::fs::read_to_string(&path).expect("fixture");
                let mut doc: Value = serde_json::from_str(&text).expect("fixture JSON");
                // One page each: no cursor to a second page.
                if let Some(meta) = doc
                    .get_mut("pagination_meta")
                    .and_then(Value::as_object_mut)
                {
                    meta.remove("after");
                }
                doc
            })
            .collect();
        let fixtures = Fixtures {
            pages: Arc::new(pages),
            spoiled: Arc::default(),
        };
        runtime.block_on(
            wiremock::Mock::given(wiremock::matchers::any())
                .respond_with(fixtures.clone())
                .mount(&server),
        );
        let sources: Vec<Box<dyn IncidentSource>> = vec![
            Box::new(
                PagerDutyBuilder::new("pd-key")
                    .with_base_url(base.clone())
                    .with_retry_policy(RetryPolicy::none())
                    .build()
                    .expect("pagerduty"),
            ),
            Box::new(
                OpsgenieBuilder::new("og-key")
                    .with_base_url(base.clone())
                    .with_retry_policy(RetryPolicy::none())
                    .build()
                    .expect("opsgenie alerts"),
            ),
            Box::new(
                OpsgenieBuilder::new("og-key")
                    .with_base_url(base.clone())
                    .with_api(OpsgenieApi::Incidents)
                    .with_retry_policy(RetryPolicy::none())
                    .build()
                    .expect("opsgenie incidents"),
            ),
            Box::new(
                IncidentIoBuilder::new("iio-key")
                    .with_base_url(base)
                    .with_retry_policy(RetryPolicy::none())
                    .build()
                    .expect("incident.io"),
            ),
        ];
        std::mem::forget(server);
        World {
            runtime,
            fixtures,
            sources,
            errors: Mutex::default(),
        }
    })
}

fn march() -> TimeRange {
    TimeRange::new(
        Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2024, 4, 1, 0, 0, 0).unwrap(),
    )
}

fn list_with(index: usize, body: Vec<u8>) -> TestResult {
    // The tests of this binary share one server and its spoiled-page slot:
    // one listing at a time, or a test would read another's spoiled page
    // (as the Bitbucket fuzz tests already do).
    let _serial = mutate::serial();
    let w = world();
    let (source, _, file) = PAGES[index];
    let panics = mutate::count_panics();
    let before = panics.load(Ordering::SeqCst);
    if let Ok(mut s) = w.fixtures.spoiled.lock() {
        *s = Some((index, body));
    }
    let result = w
        .runtime
        .block_on(w.sources[source].incidents_with_notes(&IncidentRequest::new(march())));
    if panics.load(Ordering::SeqCst) != before {
        return TestResult::error(format!("a panic while decoding {file}"));
    }
    match result {
        Ok(batch) => {
            for skipped in &batch.skipped {
                if skipped.reason.is_empty() || skipped.detail.is_empty() {
                    return TestResult::error(format!(
                        "{file}: a skipped item without a reason: {skipped:?}"
                    ));
                }
            }
            TestResult::passed()
        }
        Err(e) => {
            let text = e.to_string();
            if let Ok(mut seen) = w.errors.lock() {
                seen.insert(text.clone());
            }
            // The fallback route answers 404 (e.g. for a branch renamed by a
            // mutation): the server's own answer, not a decoding failure.
            if mutate::names_a_place(&text) || text.contains("not found") {
                TestResult::passed()
            } else {
                TestResult::error(format!("{file}: the error names no place: {text}"))
            }
        }
    }
}

fn mutated_page(which: u8, ops: Vec<Op>, cut: Option<u16>) -> TestResult {
    let index = which as usize % PAGES.len();
    let mut doc = world().fixtures.pages[index].clone();
    mutate::mutate(&mut doc, &ops);
    list_with(index, mutate::render(&doc, cut))
}

fn random_page(which: u8, bytes: Vec<u8>) -> TestResult {
    list_with(which as usize % PAGES.len(), bytes)
}

#[test]
fn mutated_pages_never_panic_and_errors_say_where() {
    QuickCheck::new()
        .rng(quickcheck::Gen::new(mutate::GEN_SIZE))
        .tests(mutate::cases(400))
        .max_tests(10_000)
        .quickcheck(mutated_page as fn(u8, Vec<Op>, Option<u16>) -> TestResult);
    if std::env::var("DORA_FUZZ_SHOW").is_ok()
        && let Ok(seen) = world().errors.lock()
    {
        for e in seen.iter() {
            eprintln!("{e}");
        }
    }
}

#[test]
fn random_bytes_never_panic_and_errors_say_where() {
    QuickCheck::new()
        .rng(quickcheck::Gen::new(mutate::GEN_SIZE))
        .tests(mutate::cases(100))
        .quickcheck(random_page as fn(u8, Vec<u8>) -> TestResult);
}

#[test]
fn every_mutation_kind_on_every_page() {
    for (index, page) in PAGES.iter().enumerate() {
        for kind in 0..18u8 {
            for target in [0u32, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89] {
                let op = (kind, target, 0, "ü\u{0}💥".to_owned(), -7);
                let result = mutated_page(index as u8, vec![op], None);
                assert!(
                    !result.is_failure(),
                    "{}: kind {kind}, node {target}: {result:?}",
                    page.2
                );
            }
        }
    }
}
