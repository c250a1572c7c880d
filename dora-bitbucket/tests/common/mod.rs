//! A local Bitbucket: the fixture repository `acme/web` served on 127.0.0.1.
#![allow(dead_code)] // each test binary uses a different subset

use chrono::{DateTime, TimeZone, Utc};
use dora_bitbucket::Bitbucket;
use dora_core::TimeRange;
use dora_http::{InstantSleeper, RetryPolicy};
use serde_json::Value;
use std::time::Duration;
use wiremock::matchers::{any, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const EMAIL: &str = "jane@acme.io";
pub const TOKEN: &str = "ATATT3xFfGF0-super-secret-token-value";
/// Priority of the fixture mocks; fault tests mount overrides with priority 1.
pub const FIXTURE_PRIORITY: u8 = 10;

pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("test timestamp")
        .with_timezone(&Utc)
}

/// The report window: March 2024.
pub fn window() -> TimeRange {
    TimeRange::new(
        Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2024, 3, 31, 0, 0, 0).unwrap(),
    )
}

/// A fixture file with `{{BASE}}` replaced by the server's API root.
pub fn fixture(server: &MockServer, name: &str) -> Value {
    let file = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
    let text = text.replace("{{BASE}}", &format!("{}/2.0", server.uri()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

pub fn json(server: &MockServer, name: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(fixture(server, name))
}

const REPO: &str = "/2.0/repositories/acme/web";

/// Mount every endpoint of the fixture repository. Pages that a correct sync
/// never needs are mounted with `expect(0)`.
pub async fn mount_fixture_repo(server: &MockServer) {
    let p = FIXTURE_PRIORITY;
    let get = |route: String| Mock::given(method("GET")).and(path(route));
    get(REPO.into())
        .and(query_param("fields", "slug,full_name,mainbranch.name"))
        .respond_with(json(server, "repository.json"))
        .with_priority(p)
        .mount(server)
        .await;
    get(format!("{REPO}/environments"))
        .and(query_param("pagelen", "100"))
        .respond_with(json(server, "environments.json"))
        .with_priority(p)
        .mount(server)
        .await;
    get(format!("{REPO}/deployments"))
        .and(query_param_is_missing("page"))
        .and(query_param("pagelen", "100"))
        .respond_with(json(server, "deployments_1.json"))
        .with_priority(p)
        .mount(server)
        .await;
    get(format!("{REPO}/deployments"))
        .and(query_param("page", "2"))
        .respond_with(json(server, "deployments_2.json"))
        .with_priority(p)
        .mount(server)
        .await;
    // The PR list must carry every state, the BBQL cut-off, the sort, the page
    // size and the merge_commit.date field; otherwise it falls through to 404.
    get(format!("{REPO}/pullrequests"))
        .and(query_param_is_missing("page"))
        .and(query_param("state", "OPEN"))
        .and(query_param("state", "MERGED"))
        .and(query_param("state", "DECLINED"))
        .and(query_param("state", "SUPERSEDED"))
        .and(query_param("q", "updated_on >= 2024-02-06T10:05:00+00:00"))
        .and(query_param("sort", "-updated_on"))
        .and(query_param("pagelen", "50"))
        .and(FieldsContain("values.merge_commit.date"))
        .respond_with(json(server, "pullrequests_1.json"))
        .with_priority(p)
        .mount(server)
        .await;
    get(format!("{REPO}/pullrequests"))
        .and(query_param("page", "2"))
        .respond_with(json(server, "pullrequests_2.json"))
        .with_priority(p)
        .mount(server)
        .await;
    for (page, file) in [
        (None, "activity_1.json"),
        (Some("2"), "activity_2.json"),
        (Some("3"), "activity_3.json"),
    ] {
        let m = get(format!("{REPO}/pullrequests/activity"));
        let m = match page {
            None => m
                .and(query_param_is_missing("page"))
                .and(query_param("pagelen", "50")),
            Some(n) => m.and(query_param("page", n)),
        };
        m.respond_with(json(server, file))
            .with_priority(p)
            .mount(server)
            .await;
    }
    get(format!("{REPO}/pullrequests/activity"))
        .and(query_param("page", "4"))
        .respond_with(json(server, "activity_4.json"))
        .with_priority(p)
        .expect(0)
        .named("activity page 4 (older than the cut-off)")
        .mount(server)
        .await;
    for (page, file) in [
        (None, "commits_main_1.json"),
        (Some("8a1e2f"), "commits_main_2.json"),
        (Some("9b2f30"), "commits_main_3.json"),
    ] {
        let m = get(format!("{REPO}/commits/main"));
        let m = match page {
            None => m
                .and(query_param_is_missing("page"))
                .and(query_param("pagelen", "100")),
            Some(n) => m.and(query_param("page", n)),
        };
        m.respond_with(json(server, file))
            .with_priority(p)
            .mount(server)
            .await;
    }
    get(format!("{REPO}/commits/main"))
        .and(query_param("page", "ac3041"))
        .respond_with(json(server, "commits_main_4.json"))
        .with_priority(p)
        .expect(0)
        .named("commits page 4 (older than the cut-off)")
        .mount(server)
        .await;
    get(format!("{REPO}/pullrequests/47/commits"))
        .respond_with(json(server, "pr47_commits.json"))
        .with_priority(p)
        .mount(server)
        .await;
    // Anything else is a request the sync should not make.
    Mock::given(any())
        .respond_with(ResponseTemplate::new(404).set_body_json(
            serde_json::json!({"type": "error", "error": {"message": "Resource not found"}}),
        ))
        .with_priority(u8::MAX)
        .mount(server)
        .await;
}

/// Matches when the `fields` parameter lists `field`.
pub struct FieldsContain(pub &'static str);

impl wiremock::Match for FieldsContain {
    fn matches(&self, request: &wiremock::Request) -> bool {
        request
            .url
            .query_pairs()
            .any(|(k, v)| k == "fields" && v.split(',').any(|f| f == self.0))
    }
}

/// A source for `acme/web` on the server, with instant (recorded) sleeps.
pub fn source(server: &MockServer) -> Bitbucket {
    source_with(server, InstantSleeper::new(), Duration::from_secs(5))
}

pub fn source_with(server: &MockServer, sleeper: InstantSleeper, timeout: Duration) -> Bitbucket {
    Bitbucket::builder("acme")
        .with_repo("web")
        .with_base_url(format!("{}/2.0", server.uri()))
        .with_basic_auth(EMAIL, TOKEN)
        .with_timeout(timeout)
        .with_retry_policy(RetryPolicy::default().with_seed(42))
        .with_http(move |http| http.with_sleeper(sleeper))
        .build()
        .expect("source builds")
}
