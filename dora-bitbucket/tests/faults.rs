//! Faults injected into the fixture repository: each ends in the right retry
//! behaviour or a clear, actionable error, and no output carries the token.

mod common;

use common::*;
use dora_bitbucket::Bitbucket;
use dora_core::{CollectRequest, SourceError};
use dora_http::{InstantSleeper, WaitSource};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::matchers::{path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const REPO: &str = "/2.0/repositories/acme/web";

async fn server() -> MockServer {
    let server = MockServer::start().await;
    mount_fixture_repo(&server).await;
    server
}

fn error_body(message: &str) -> serde_json::Value {
    serde_json::json!({"type": "error", "error": {"message": message}})
}

/// Serve `template` `times` times (all requests when `None`) on `route`
/// (matching `page` when given, the first page otherwise), ahead of the fixture.
async fn fault(
    server: &MockServer,
    route: &str,
    page: Option<&str>,
    template: ResponseTemplate,
    times: Option<u64>,
) {
    let mock = Mock::given(path(format!("{REPO}{route}")));
    let mock = match page {
        Some(p) => mock.and(query_param("page", p)),
        None => mock.and(query_param_is_missing("page")),
    };
    let mock = mock.respond_with(template).with_priority(1);
    let mock = match times {
        Some(n) => mock.up_to_n_times(n),
        None => mock,
    };
    mock.mount(server).await;
}

async fn sync(
    source: &Bitbucket,
) -> Result<(dora_core::Dataset, dora_bitbucket::SyncStats), SourceError> {
    source
        .collect_with_stats(&CollectRequest::new(window()))
        .await
}

fn assert_no_token(text: &str) {
    assert!(!text.contains(TOKEN), "token leaked: {text}");
}

#[tokio::test]
async fn rate_limit_with_retry_after_is_waited_out() {
    let server = server().await;
    let limited = ResponseTemplate::new(429)
        .insert_header("Retry-After", "7")
        .set_body_json(error_body("Rate limit for this resource has been exceeded"));
    fault(&server, "/deployments", Some("2"), limited, Some(1)).await;
    let sleeper = InstantSleeper::new();
    let (data, stats) = sync(&source_with(
        &server,
        sleeper.clone(),
        Duration::from_secs(5),
    ))
    .await
    .expect("sync succeeds");
    assert_eq!(data.deployments.len(), 12);
    assert_eq!(stats.requests("deployments"), 3);
    // (13 of the full collect, including the branching model, and the retry.)
    assert_eq!(stats.total_requests(), 15);
    let waits = &stats.http.rate_limit_waits;
    assert_eq!(waits.len(), 1);
    assert_eq!(
        (waits[0].endpoint.as_str(), waits[0].wait, waits[0].source),
        (
            "deployments",
            Duration::from_secs(7),
            WaitSource::RetryAfter
        )
    );
    assert_eq!(sleeper.delays(), [Duration::from_secs(7)]);
}

#[tokio::test]
async fn rate_limit_without_retry_after_backs_off() {
    let server = server().await;
    let limited = ResponseTemplate::new(429)
        .insert_header("X-RateLimit-Limit", "1000")
        .insert_header("X-RateLimit-NearLimit", "true")
        .set_body_json(error_body("Rate limit for this resource has been exceeded"));
    fault(&server, "/commits/main", None, limited, Some(2)).await;
    let sleeper = InstantSleeper::new();
    let (_, stats) = sync(&source_with(
        &server,
        sleeper.clone(),
        Duration::from_secs(5),
    ))
    .await
    .expect("sync succeeds");
    assert_eq!(stats.requests("commits"), 5);
    let waits = &stats.http.rate_limit_waits;
    assert_eq!(waits.len(), 2);
    assert!(
        waits
            .iter()
            .all(|w| w.source == WaitSource::Backoff && w.endpoint == "commits")
    );
    // Exponential from 5 s with up to 100 % jitter: [5, 10) then [10, 20).
    assert!(
        waits[0].wait >= Duration::from_secs(5) && waits[0].wait < Duration::from_secs(10),
        "{waits:?}"
    );
    assert!(
        waits[1].wait >= Duration::from_secs(10) && waits[1].wait < Duration::from_secs(20),
        "{waits:?}"
    );
}

#[tokio::test]
async fn rate_limit_that_never_lifts_is_a_rate_limited_error() {
    let server = server().await;
    let limited = ResponseTemplate::new(429).insert_header("Retry-After", "3600");
    fault(&server, "/pullrequests", None, limited, None).await;
    let err = sync(&source(&server)).await.expect_err("gives up");
    match &err {
        SourceError::RateLimited {
            endpoint,
            retry_after,
            ..
        } => {
            assert!(
                endpoint.contains("pullrequests") && endpoint.contains("acme/web"),
                "{endpoint}"
            );
            assert_eq!(*retry_after, Some(Duration::from_secs(3600)));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("retry after 3600s"), "{err}");
}

#[tokio::test]
async fn a_burst_of_503s_is_retried() {
    let server = server().await;
    let unavailable =
        ResponseTemplate::new(503).set_body_string("<html><body>Service Unavailable</body></html>");
    fault(&server, "/pullrequests", None, unavailable, Some(3)).await;
    let sleeper = InstantSleeper::new();
    let (data, stats) = sync(&source_with(
        &server,
        sleeper.clone(),
        Duration::from_secs(5),
    ))
    .await
    .expect("sync succeeds");
    assert_eq!(data.pull_requests.len(), 8);
    assert_eq!(stats.requests("pullrequests"), 5);
    assert_eq!(stats.http.endpoints["pullrequests"].retries, 3);
    assert_eq!(sleeper.delays().len(), 3);
}

#[tokio::test]
async fn a_persistent_5xx_names_endpoint_and_repository() {
    let server = server().await;
    fault(
        &server,
        "/environments",
        None,
        ResponseTemplate::new(500).set_body_json(error_body("Something went wrong")),
        None,
    )
    .await;
    let err = sync(&source(&server)).await.expect_err("fails");
    let text = err.to_string();
    assert!(matches!(err, SourceError::Other { .. }), "{err:?}");
    assert!(
        text.contains("acme/web") && text.contains("environments") && text.contains("HTTP 500"),
        "{text}"
    );
    assert!(
        text.contains("Something went wrong") && text.contains("after 5 attempts"),
        "{text}"
    );
}

#[tokio::test]
async fn a_timeout_is_retried_and_then_reported() {
    let server = server().await;
    let slow = json(&server, "environments.json").set_delay(Duration::from_secs(3));
    fault(&server, "/environments", None, slow.clone(), Some(1)).await;
    // One slow answer: retried, and the sync completes.
    let (_, stats) = sync(&source_with(
        &server,
        InstantSleeper::new(),
        Duration::from_millis(300),
    ))
    .await
    .expect("recovers");
    assert_eq!(stats.http.endpoints["environments"].retries, 1);

    // Always slow: a clear error.
    let server = server_with_slow_environments(slow).await;
    let err = sync(&source_with(
        &server,
        InstantSleeper::new(),
        Duration::from_millis(300),
    ))
    .await
    .expect_err("times out");
    let text = err.to_string();
    assert!(
        text.contains("environments") && text.contains("timed out") && text.contains("acme/web"),
        "{text}"
    );
}

async fn server_with_slow_environments(slow: ResponseTemplate) -> MockServer {
    let server = server().await;
    fault(&server, "/environments", None, slow, None).await;
    server
}

#[tokio::test]
async fn a_truncated_page_is_an_error_naming_endpoint_and_page() {
    let server = server().await;
    let full = serde_json::to_string(&fixture(&server, "activity_2.json")).expect("json");
    let truncated = ResponseTemplate::new(200).set_body_raw(
        full.as_bytes()[..full.len() / 2].to_vec(),
        "application/json",
    );
    fault(
        &server,
        "/pullrequests/activity",
        Some("2"),
        truncated,
        None,
    )
    .await;
    let err = sync(&source(&server)).await.expect_err("malformed page");
    match &err {
        SourceError::Protocol {
            endpoint, message, ..
        } => {
            assert!(
                endpoint.contains("acme/web") && endpoint.contains("pullrequests/activity"),
                "{endpoint}"
            );
            assert!(
                message.contains("page 2") && message.contains("EOF"),
                "{message}"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn a_field_of_the_wrong_type_names_its_path() {
    let server = server().await;
    let mut page = fixture(&server, "pullrequests_2.json");
    page["values"][1]["id"] = serde_json::json!("forty-three");
    fault(
        &server,
        "/pullrequests",
        Some("2"),
        ResponseTemplate::new(200).set_body_json(page),
        None,
    )
    .await;
    let err = sync(&source(&server)).await.expect_err("bad field");
    let text = err.to_string();
    assert!(
        text.contains("pullrequests page 2") && text.contains("values[1].id"),
        "{text}"
    );
}

#[tokio::test]
async fn a_repeating_next_link_is_an_error_not_a_hang() {
    let server = server().await;
    let mut page = fixture(&server, "commits_main_2.json");
    // Page 2 points back at itself.
    page["next"] = serde_json::json!(format!(
        "{}/2.0/repositories/acme/web/commits/main?pagelen=100&page=8a1e2f",
        server.uri()
    ));
    fault(
        &server,
        "/commits/main",
        Some("8a1e2f"),
        ResponseTemplate::new(200).set_body_json(page),
        None,
    )
    .await;
    let err = tokio::time::timeout(Duration::from_secs(10), sync(&source(&server)))
        .await
        .expect("no hang")
        .expect_err("loop detected");
    match &err {
        SourceError::Protocol {
            endpoint, message, ..
        } => {
            assert!(endpoint.contains("commits"), "{endpoint}");
            assert!(message.contains("repeats an earlier page"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn unauthorized_with_basic_auth_explains_api_tokens() {
    let server = server().await;
    let denied = ResponseTemplate::new(401).set_body_json(error_body(
        "Token is invalid, expired, or not supported for this endpoint.",
    ));
    fault(&server, "", None, denied, None).await;
    let err = sync(&source(&server)).await.expect_err("401");
    assert!(matches!(err, SourceError::Auth { .. }), "{err:?}");
    let text = err.to_string();
    for needle in [
        "HTTP 401",
        "acme/web",
        "Atlassian user API token",
        "BITBUCKET_EMAIL",
        "App passwords",
        "2026-07-28",
        "bearer",
    ] {
        assert!(text.contains(needle), "missing {needle:?}: {text}");
    }
    assert!(
        text.contains("Token is invalid"),
        "server message kept: {text}"
    );
    assert_eq!(
        server.received_requests().await.expect("recorded").len(),
        1,
        "401 is not retried"
    );
    assert_no_token(&format!("{err} {err:?}"));
}

#[tokio::test]
async fn unauthorized_with_a_bearer_token_says_what_a_bearer_token_is() {
    let server = server().await;
    fault(
        &server,
        "",
        None,
        ResponseTemplate::new(401).set_body_json(error_body("Invalid token")),
        None,
    )
    .await;
    let source = Bitbucket::builder("acme")
        .with_repo("web")
        .with_base_url(format!("{}/2.0", server.uri()))
        .with_bearer(TOKEN)
        .build()
        .expect("source");
    let err = sync(&source).await.expect_err("401");
    let text = err.to_string();
    assert!(
        text.contains("BITBUCKET_ACCESS_TOKEN") && text.contains("not a bearer token"),
        "{text}"
    );
    assert_no_token(&format!("{err} {err:?}"));
}

#[tokio::test]
async fn forbidden_names_the_missing_scope() {
    for (route, scope) in [
        ("/deployments", "`pipeline`"),
        ("/pullrequests", "`pullrequest`"),
        ("/commits/main", "`repository`"),
    ] {
        let server = server().await;
        let forbidden = ResponseTemplate::new(403).set_body_json(error_body(
            "Your credentials lack one or more required privilege scopes.",
        ));
        fault(&server, route, None, forbidden, None).await;
        let err = sync(&source(&server)).await.expect_err("403");
        assert!(matches!(err, SourceError::Auth { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("HTTP 403") && text.contains(scope) && text.contains("acme/web"),
            "{route}: {text}"
        );
        assert_no_token(&text);
    }
}

#[tokio::test]
async fn not_found_names_workspace_and_repository() {
    let server = MockServer::start().await;
    // Nothing mounted: every path is unknown.
    let err = sync(&source(&server)).await.expect_err("404");
    match &err {
        SourceError::NotFound { what, .. } => {
            assert!(what.contains("repository acme/web"), "{what}")
        }
        other => panic!("unexpected {other:?}"),
    }
    let listing = Bitbucket::builder("nope")
        .with_base_url(format!("{}/2.0", server.uri()))
        .with_basic_auth(EMAIL, TOKEN)
        .build()
        .expect("source");
    let err = sync(&listing).await.expect_err("404");
    assert!(err.to_string().contains("workspace nope"), "{err}");
}

#[tokio::test]
async fn a_missing_pr_commit_list_is_treated_as_empty() {
    let server = server().await;
    fault(
        &server,
        "/pullrequests/47/commits",
        None,
        ResponseTemplate::new(404).set_body_json(error_body("Branch deleted")),
        None,
    )
    .await;
    let (data, _) = sync(&source(&server)).await.expect("sync succeeds");
    let squash = data.pull_requests.iter().find(|p| p.id == 47).expect("#47");
    assert!(squash.commits.is_empty());
    assert_eq!(data.commits.len(), 14);
}

/// A `tracing` writer collecting every log line.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_error_debug_output_or_log_line_contains_the_token() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut outputs = Vec::new();
    // A server that echoes the token back in its error message, on every status we handle.
    for status in [400u16, 401, 403, 404, 429, 500, 503] {
        let server = server().await;
        let echo = ResponseTemplate::new(status)
            .insert_header("Retry-After", "1")
            .set_body_json(error_body(&format!("bad credentials {EMAIL}:{TOKEN}")));
        fault(&server, "/deployments", None, echo, None).await;
        let source = source(&server);
        outputs.push(format!("{source:?}"));
        let err = sync(&source).await.expect_err("fails");
        outputs.push(format!("{err} | {err:?}"));
        let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(&err);
        while let Some(c) = cause {
            outputs.push(format!("{c} | {c:?}"));
            cause = c.source();
        }
    }
    // And a successful sync's stats.
    let server = server().await;
    let (_, stats) = sync(&source(&server)).await.expect("sync");
    outputs.push(format!("{stats} {stats:?}"));
    outputs.push(format!(
        "{:?}",
        Bitbucket::builder("acme").with_basic_auth(EMAIL, TOKEN)
    ));

    let logged = String::from_utf8_lossy(&logs.0.lock().expect("logs")).into_owned();
    assert!(!logged.is_empty(), "retries and waits were logged");
    outputs.push(logged);
    for text in &outputs {
        assert_no_token(text);
    }
    // The echoed message is kept, scrubbed.
    assert!(
        outputs
            .iter()
            .any(|t| t.contains("bad credentials jane@acme.io:***")),
        "{outputs:#?}"
    );
}
