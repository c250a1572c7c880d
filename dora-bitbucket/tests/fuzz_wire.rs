//! Property-based fuzzing of every Bitbucket wire decoder (repository,
//! environments, deployments, pull requests, activity, commits pages) through
//! the public source, against a local 127.0.0.1 server serving the fixture
//! repository with one page mutated: wrong types, missing keys, huge and
//! negative numbers, odd unicode, truncated JSON, random bytes.
//!
//! Properties: nothing panics (in any task), and a collection that fails
//! says where: a JSON path, a line/column, or the field. A bounded number of
//! cases runs by default (`DORA_FUZZ_CASES` raises it).

#[path = "../../dora-http/tests/support/mutate.rs"]
mod mutate;

use chrono::{TimeZone, Utc};
use dora_bitbucket::Bitbucket;
use dora_core::{CollectRequest, DeliverySource, TimeRange};
use dora_http::{InstantSleeper, RetryPolicy};
use mutate::Op;
use quickcheck::{QuickCheck, TestResult};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

/// Every page the fixture repository serves, by (path suffix, `page`).
const PAGES: [(&str, Option<&str>, &str); 15] = [
    ("", None, "repository.json"),
    ("/environments", None, "environments.json"),
    ("/deployments", None, "deployments_1.json"),
    ("/deployments", Some("2"), "deployments_2.json"),
    ("/pullrequests", None, "pullrequests_1.json"),
    ("/pullrequests", Some("2"), "pullrequests_2.json"),
    ("/pullrequests/activity", None, "activity_1.json"),
    ("/pullrequests/activity", Some("2"), "activity_2.json"),
    ("/pullrequests/activity", Some("3"), "activity_3.json"),
    ("/pullrequests/activity", Some("4"), "activity_4.json"),
    ("/commits/main", None, "commits_main_1.json"),
    ("/commits/main", Some("8a1e2f"), "commits_main_2.json"),
    ("/commits/main", Some("9b2f30"), "commits_main_3.json"),
    ("/commits/main", Some("ac3041"), "commits_main_4.json"),
    ("/pullrequests/47/commits", None, "pr47_commits.json"),
];

const REPO: &str = "/2.0/repositories/acme/web";

/// Serves the fixtures, the page named in `spoiled` replaced by its bytes.
/// The page to spoil (its index in `PAGES`) and its bytes.
type Spoiled = Arc<Mutex<Option<(usize, Vec<u8>)>>>;

#[derive(Clone, Default)]
struct Fixtures {
    pages: Arc<Vec<Value>>,
    spoiled: Spoiled,
}

impl Respond for Fixtures {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let page = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "page")
            .map(|(_, v)| v.into_owned());
        let found = PAGES.iter().position(|(suffix, p, _)| {
            request.url.path() == format!("{REPO}{suffix}") && p.map(str::to_owned) == page
        });
        let Some(index) = found else {
            return ResponseTemplate::new(404).set_body_json(
                serde_json::json!({"type": "error", "error": {"message": "Resource not found"}}),
            );
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
    source: Bitbucket,
    errors: Mutex<BTreeSet<String>>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let server = runtime.block_on(MockServer::start());
        let base = format!("{}/2.0", server.uri());
        let pages = PAGES
            .iter()
            .map(|(_, _, file)| {
                let path = format!("{}/tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
                let text = std::fs::read_to_string(&path).expect("fixture");
                serde_json::from_str(&text.replace("{{BASE}}", &base)).expect("fixture JSON")
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
        let source = Bitbucket::builder("acme")
            .with_repo("web")
            .with_base_url(base)
            .with_bearer("fuzz-token")
            .with_timeout(Duration::from_secs(5))
            .with_retry_policy(RetryPolicy::none())
            .with_http(|http| http.with_sleeper(InstantSleeper::new()))
            .build()
            .expect("source");
        // The server lives as long as the process.
        std::mem::forget(server);
        World {
            runtime,
            fixtures,
            source,
            errors: Mutex::default(),
        }
    })
}

fn window() -> TimeRange {
    TimeRange::new(
        Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2024, 3, 31, 0, 0, 0).unwrap(),
    )
}

/// Collect with page `index` served as `body`; fail the case on a panic or
/// on an error that does not say where.
fn collect_with(index: usize, body: Vec<u8>) -> TestResult {
    let w = world();
    let _serial = mutate::serial();
    let panics = mutate::count_panics();
    let before = panics.load(Ordering::SeqCst);
    if let Ok(mut s) = w.fixtures.spoiled.lock() {
        *s = Some((index, body));
    }
    let result = w
        .runtime
        .block_on(w.source.collect(&CollectRequest::new(window())));
    if panics.load(Ordering::SeqCst) != before {
        return TestResult::error(format!("a panic while decoding {}", PAGES[index].2));
    }
    match result {
        Ok(_) => TestResult::passed(),
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
                TestResult::error(format!(
                    "{}: the error names no place: {text}",
                    PAGES[index].2
                ))
            }
        }
    }
}

fn mutated_page(which: u8, ops: Vec<Op>, cut: Option<u16>) -> TestResult {
    let index = which as usize % PAGES.len();
    let mut doc = world().fixtures.pages[index].clone();
    mutate::mutate(&mut doc, &ops);
    collect_with(index, mutate::render(&doc, cut))
}

fn random_page(which: u8, bytes: Vec<u8>) -> TestResult {
    collect_with(which as usize % PAGES.len(), bytes)
}

#[test]
fn mutated_pages_never_panic_and_errors_say_where() {
    QuickCheck::new()
        .rng(quickcheck::Gen::new(mutate::GEN_SIZE))
        .tests(mutate::cases(250))
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

/// Each mutation kind on each page at least once, deterministically (the
/// random cases above may miss a rare one): two kinds per case, on nodes
/// spread over the page.
#[test]
fn every_mutation_kind_on_every_page() {
    for (index, page) in PAGES.iter().enumerate() {
        for kind in 0..9u8 {
            let target = (kind as u32 * 37 + index as u32 * 11) % 97;
            let ops = vec![
                (kind, target, 0, "ü\u{0}💥".to_owned(), -7),
                (kind + 9, target * 3 + 1, 0, "\u{202e}".to_owned(), i64::MIN),
            ];
            let result = mutated_page(index as u8, ops, None);
            assert!(
                !result.is_failure(),
                "{}: kinds {kind}, {}: {result:?}",
                page.2,
                kind + 9
            );
        }
    }
}
