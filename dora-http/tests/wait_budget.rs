//! The total wait budget and the single wait policy for 429 and 5xx, against
//! a local HTTP server on 127.0.0.1. Waits go through `InstantSleeper`, whose
//! clock advances by every delay, so the tests run at once while the budget
//! sees the time pass.

use dora_core::SourceError;
use dora_http::{
    Error, HttpClient, InstantSleeper, ProgressEvent, RetryPolicy, StatusCode, WaitBudget,
    WaitSource,
};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[derive(serde::Deserialize, Debug)]
struct Named {
    #[allow(dead_code)]
    name: String,
}

fn ok_body() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"name": "ok"}))
}

fn builder(server: &MockServer, sleeper: &InstantSleeper) -> dora_http::HttpClientBuilder {
    HttpClient::builder(format!("{}/2.0", server.uri()))
        .with_retry_policy(RetryPolicy::default().with_seed(3))
        .with_sleeper(sleeper.clone())
}

async fn get(client: &HttpClient) -> Result<Named, Error> {
    let req = client.request("deployments", &["thing"]);
    client.get_json(&req).await
}

async fn always(status: u16, retry_after: Option<&str>) -> MockServer {
    let server = MockServer::start().await;
    let mut answer = ResponseTemplate::new(status)
        .set_body_json(json!({"type": "error", "error": {"message": "slow down"}}));
    if let Some(value) = retry_after {
        answer = answer.insert_header("Retry-After", value);
    }
    Mock::given(path("/2.0/thing"))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

/// Before: a 429 with `Retry-After: 300` that never lifts waited 5 × 300 s
/// (25 minutes) before failing. Now the default 10-minute budget stops it
/// after two waits, and the error says so and how to raise it.
#[tokio::test]
async fn a_429_that_never_lifts_stops_at_the_default_budget() {
    let server = always(429, Some("300")).await;
    let sleeper = InstantSleeper::new();
    let client = builder(&server, &sleeper).build().expect("client");
    let err = get(&client).await.expect_err("never lifts");
    assert_eq!(sleeper.delays(), [Duration::from_secs(300); 2]);
    match &err {
        Error::WaitBudgetExhausted {
            endpoint,
            status,
            wait,
            spent,
            budget,
            attempts,
            ..
        } => {
            assert_eq!(endpoint, "deployments");
            assert_eq!(*status, Some(StatusCode::TOO_MANY_REQUESTS));
            assert_eq!(*wait, Duration::from_secs(300));
            assert_eq!(*spent, Duration::from_secs(600));
            assert_eq!(*budget, WaitBudget::DEFAULT_LIMIT);
            assert_eq!(*attempts, 3);
        }
        other => panic!("expected the budget error, got {other:?}"),
    }
    let text = err.to_string();
    for needle in [
        "deployments",
        "wait budget of 10m is spent",
        "10m waited already",
        "HTTP 429 Too Many Requests needs 5m more",
        "--max-wait",
        "[http] max_wait_seconds",
        "max_wait_seconds=",
        "(after 3 attempts)",
    ] {
        assert!(text.contains(needle), "`{needle}` missing from: {text}");
    }
    assert_eq!(client.stats().requests("deployments"), 3);
    assert_eq!(client.wait_budget().spent(), Duration::from_secs(600));
    // Through the core's error, the message (and the hint) survive.
    match err.into_source_error("bitbucket") {
        SourceError::Other {
            message, source, ..
        } => {
            assert!(message.contains("--max-wait"), "{message}");
            assert!(
                source
                    .as_deref()
                    .and_then(|s| s.downcast_ref::<Error>())
                    .is_some_and(|e| matches!(e, Error::WaitBudgetExhausted { .. }))
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// Before: a 503 with `Retry-After: 3600` waited 5 minutes per attempt (20
/// minutes in all) while a 429 with the same header failed at once. Now both
/// fail at once, without sleeping, naming the wait asked for.
#[tokio::test]
async fn a_503_and_a_429_asking_for_an_hour_both_fail_at_once() {
    for status in [429u16, 503] {
        let server = always(status, Some("3600")).await;
        let sleeper = InstantSleeper::new();
        let client = builder(&server, &sleeper).build().expect("client");
        let err = get(&client).await.expect_err("an hour is too long");
        assert!(
            sleeper.delays().is_empty(),
            "{status}: slept {:?}",
            sleeper.delays()
        );
        assert_eq!(client.stats().requests("deployments"), 1, "{status}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        let text = err.to_string();
        assert!(text.contains("3600s"), "{status}: {text}");
        match (status, &err) {
            (
                429,
                Error::RateLimited {
                    retry_after,
                    attempts: 1,
                    ..
                },
            ) => {
                assert_eq!(*retry_after, Some(Duration::from_secs(3600)));
            }
            (
                503,
                Error::Status {
                    attempts: 1,
                    message,
                    ..
                },
            ) => {
                let message = message.as_deref().unwrap_or_default();
                assert!(message.starts_with("slow down"), "{message}");
                assert!(
                    message.contains("longer than the 300s accepted for one wait"),
                    "{message}"
                );
            }
            _ => panic!("{status}: unexpected {err:?}"),
        }
    }
}

/// A 429 and a 503 naming the same acceptable wait are waited for alike and
/// charged to the budget alike.
#[tokio::test]
async fn a_429_and_a_503_with_the_same_retry_after_are_treated_alike() {
    let mut outcomes = Vec::new();
    for status in [429u16, 503] {
        let server = always(status, Some("120")).await;
        let sleeper = InstantSleeper::new();
        let client = builder(&server, &sleeper)
            .with_max_total_wait(Duration::from_secs(300))
            .build()
            .expect("client");
        let err = get(&client).await.expect_err("never lifts");
        let Error::WaitBudgetExhausted {
            status: got,
            wait,
            spent,
            budget,
            attempts,
            ..
        } = err
        else {
            panic!("{status}: expected the budget error, got {err:?}");
        };
        assert_eq!(got.map(|s| s.as_u16()), Some(status));
        outcomes.push((sleeper.delays(), wait, spent, budget, attempts));
    }
    let expected = (
        vec![Duration::from_secs(120); 2],
        Duration::from_secs(120),
        Duration::from_secs(240),
        Duration::from_secs(300),
        3,
    );
    assert_eq!(outcomes, [expected.clone(), expected]);
}

/// The budget is one account across requests, endpoints and clients sharing
/// it: what one request waited is not available to the next.
#[tokio::test]
async fn the_budget_is_enforced_across_requests_and_shared_clients() {
    let limited = always(429, Some("6")).await;
    let flaky = MockServer::start().await;
    Mock::given(path("/2.0/thing"))
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "6"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&flaky)
        .await;
    Mock::given(path("/2.0/thing"))
        .respond_with(ok_body())
        .with_priority(2)
        .mount(&flaky)
        .await;
    let sleeper = InstantSleeper::new();
    let budget = WaitBudget::new(Duration::from_secs(10));
    let a = builder(&flaky, &sleeper)
        .with_wait_budget(budget.clone())
        .build()
        .expect("client a");
    let b = builder(&limited, &sleeper)
        .with_wait_budget(budget.clone())
        .build()
        .expect("client b");
    get(&a).await.expect("a recovers after one 6 s wait");
    assert_eq!(budget.spent(), Duration::from_secs(6));
    let err = get(&b).await.expect_err("b has only 4 s left");
    assert!(
        matches!(
            err,
            Error::WaitBudgetExhausted { attempts: 1, spent, .. } if spent == Duration::from_secs(6)
        ),
        "{err:?}"
    );
    assert_eq!(sleeper.delays(), [Duration::from_secs(6)]);
    // A clone of a client shares its budget too.
    assert_eq!(
        a.with_fresh_stats().wait_budget().remaining(),
        Duration::from_secs(4)
    );
}

/// Backoff after transport failures is charged to the same budget.
#[tokio::test]
async fn backoff_after_connection_failures_counts_too() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let sleeper = InstantSleeper::new();
    let client = HttpClient::builder(format!("http://127.0.0.1:{port}"))
        .with_retry_policy(
            RetryPolicy::default()
                .with_delays(Duration::from_secs(1), Duration::from_secs(8))
                .with_jitter(false),
        )
        .with_max_total_wait(Duration::from_secs(4))
        .with_sleeper(sleeper.clone())
        .build()
        .expect("client");
    let err = get(&client).await.expect_err("no server");
    // 1 s + 2 s fit, the next 4 s does not.
    assert_eq!(sleeper.delays().len(), 2);
    match &err {
        Error::WaitBudgetExhausted {
            status: None,
            attempts: 3,
            ..
        } => {}
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        err.to_string()
            .contains("the retry after a failed connection"),
        "{err}"
    );
}

/// A zero budget never waits: the first retryable failure is final.
#[tokio::test]
async fn a_zero_budget_never_waits() {
    let server = always(503, None).await;
    let sleeper = InstantSleeper::new();
    let client = builder(&server, &sleeper)
        .with_max_total_wait(Duration::ZERO)
        .build()
        .expect("client");
    let err = get(&client).await.expect_err("fails");
    assert!(
        matches!(err, Error::WaitBudgetExhausted { attempts: 1, .. }),
        "{err:?}"
    );
    assert!(sleeper.delays().is_empty());
}

/// With the real timer: a budget smaller than the server's wait makes the
/// request fail without sleeping at all.
#[tokio::test]
async fn the_real_timer_is_not_slept_past_the_budget() {
    let server = always(429, Some("30")).await;
    let client = HttpClient::builder(format!("{}/2.0", server.uri()))
        .with_max_total_wait(Duration::from_secs(5))
        .build()
        .expect("client");
    let started = Instant::now();
    let err = get(&client).await.expect_err("30 s > 5 s");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(err, Error::WaitBudgetExhausted { .. }), "{err:?}");
}

/// Progress events say what is being waited for and how much budget is used.
#[tokio::test]
async fn progress_events_name_the_cause_and_the_budget() {
    let server = MockServer::start().await;
    Mock::given(path("/2.0/thing"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "7"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/2.0/thing"))
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "5"))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(path("/2.0/thing"))
        .respond_with(ok_body())
        .with_priority(3)
        .mount(&server)
        .await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    let sleeper = InstantSleeper::new();
    let client = builder(&server, &sleeper)
        .with_max_total_wait(Duration::from_secs(60))
        .on_progress(move |e| seen.lock().expect("lock").push(e.clone()))
        .build()
        .expect("client");
    get(&client).await.expect("ok");
    let waits: Vec<_> = events
        .lock()
        .expect("lock")
        .iter()
        .filter_map(|e| match e {
            ProgressEvent::RateLimitWait {
                wait,
                source,
                waited,
                budget,
                ..
            } => Some((Some(429), *wait, *source, *waited, *budget)),
            ProgressEvent::Retry {
                delay,
                status,
                source,
                waited,
                budget,
                ..
            } => Some((*status, *delay, *source, *waited, *budget)),
            _ => None,
        })
        .collect();
    let s = Duration::from_secs;
    assert_eq!(
        waits,
        [
            (Some(429), s(7), WaitSource::RetryAfter, s(7), s(60)),
            (Some(503), s(5), WaitSource::RetryAfter, s(12), s(60)),
        ]
    );
}
