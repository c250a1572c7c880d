//! The client against a local HTTP server on 127.0.0.1: retries, rate limits,
//! time-outs, auth failures, and what ends up in errors.

use dora_core::SourceError;
use dora_http::{
    Auth, Error, HttpClient, InstantSleeper, ProgressEvent, RetryPolicy, Secret, StatusCode,
    WaitSource,
};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "tok-SECRET-0123456789";

fn client(server: &MockServer, sleeper: &InstantSleeper) -> HttpClient {
    HttpClient::builder(format!("{}/2.0", server.uri()))
        .with_auth(Auth::bearer(TOKEN))
        .with_timeout(Duration::from_secs(5))
        .with_retry_policy(RetryPolicy::default().with_seed(7))
        .with_sleeper(sleeper.clone())
        .build()
        .expect("client builds")
}

fn ok_body() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"name": "ok"}))
}

#[derive(serde::Deserialize, Debug)]
struct Named {
    name: String,
}

async fn get(client: &HttpClient) -> Result<Named, Error> {
    let req = client.request("thing", &["thing"]);
    client.get_json(&req).await
}

#[tokio::test]
async fn honours_retry_after_seconds_on_429() {
    let server = MockServer::start().await;
    Mock::given(path("/2.0/thing"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "7")
                .set_body_json(json!({"type":"error","error":{"message":"Rate limit for this resource has been exceeded"}})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/2.0/thing"))
        .respond_with(ok_body())
        .with_priority(2)
        .mount(&server)
        .await;
    let sleeper = InstantSleeper::new();
    let client = client(&server, &sleeper);

    let named = get(&client).await.expect("succeeds after the wait");
    assert_eq!(named.name, "ok");
    assert_eq!(sleeper.delays(), vec![Duration::from_secs(7)]);
    let stats = client.stats();
    assert_eq!(stats.requests("thing"), 2);
    assert_eq!(stats.endpoints["thing"].rate_limited, 1);
    assert_eq!(stats.rate_limit_waits.len(), 1);
    assert_eq!(stats.rate_limit_waits[0].wait, Duration::from_secs(7));
    assert_eq!(stats.rate_limit_waits[0].source, WaitSource::RetryAfter);
}

#[tokio::test]
async fn honours_retry_after_http_date_and_reset_header() {
    let server = MockServer::start().await;
    let soon = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(20));
    Mock::given(path("/2.0/thing"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", soon.as_str()))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/2.0/thing"))
        .respond_with(ResponseTemplate::new(429).insert_header("ratelimit-reset", "3"))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(path("/2.0/thing"))
        .respond_with(ok_body())
        .with_priority(3)
        .mount(&server)
        .await;
    let sleeper = InstantSleeper::new();
    let client = client(&server, &sleeper);
    get(&client).await.expect("succeeds");
    let delays = sleeper.delays();
    assert_eq!(delays.len(), 2);
    // HTTP dates have one-second resolution.
    assert!(
        delays[0] >= Duration::from_secs(18) && delays[0] <= Duration::from_secs(20),
        "{delays:?}"
    );
    assert_eq!(delays[1], Duration::from_secs(3));
    let sources: Vec<_> = client
        .stats()
        .rate_limit_waits
        .iter()
        .map(|w| w.source)
        .collect();
    assert_eq!(sources, [WaitSource::RetryAfter, WaitSource::ResetHeader]);
}

#[tokio::test]
async fn backs_off_exponentially_on_429_without_header() {
    let server = MockServer::start().await;
    Mock::given(path("/2.0/thing"))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/2.0/thing"))
        .respond_with(ok_body())
        .with_priority(2)
        .mount(&server)
        .await;
    let sleeper = InstantSleeper::new();
    let client = client(&server, &sleeper);
    get(&client).await.expect("succeeds after backoff");
    let delays = sleeper.delays();
    assert_eq!(delays.len(), 3);
    // Default rate-limit backoff starts at 5 s, doubles, jitter adds up to 100 %.
    let bases = [5.0, 10.0, 20.0];
    for (d, base) in delays.iter().zip(bases) {
        let s = d.as_secs_f64();
        assert!(s >= base * 0.999 && s <= base * 2.001, "{delays:?}");
    }
    assert!(
        client
            .stats()
            .rate_limit_waits
            .iter()
            .all(|w| w.source == WaitSource::Backoff)
    );
    assert_eq!(client.stats().requests("thing"), 4);
}

#[tokio::test]
async fn same_seed_gives_same_jitter() {
    async fn delays_with_seed(seed: u64) -> Vec<Duration> {
        let server = MockServer::start().await;
        Mock::given(path("/2.0/thing"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(3)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(path("/2.0/thing"))
            .respond_with(ok_body())
            .with_priority(2)
            .mount(&server)
            .await;
        let sleeper = InstantSleeper::new();
        let client = HttpClient::builder(format!("{}/2.0", server.uri()))
            .with_retry_policy(RetryPolicy::default().with_seed(seed))
            .with_sleeper(sleeper.clone())
            .build()
            .expect("client");
        get(&client).await.expect("ok");
        sleeper.delays()
    }
    let a = delays_with_seed(1).await;
    assert_eq!(a, delays_with_seed(1).await);
    assert_ne!(a, delays_with_seed(2).await);
}

#[tokio::test]
async fn gives_up_when_server_asks_for_too_long_a_wait() {
    let server = MockServer::start().await;
    Mock::given(path("/2.0/thing"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "3600"))
        .mount(&server)
        .await;
    let sleeper = InstantSleeper::new();
    let client = client(&server, &sleeper);
    let err = get(&client).await.expect_err("must fail");
    match &err {
        Error::RateLimited {
            retry_after,
            attempts,
            ..
        } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(3600)));
            assert_eq!(*attempts, 1);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(sleeper.delays().is_empty(), "did not sleep an hour");
    assert!(err.to_string().contains("wait 3600s"), "{err}");
    match err.into_source_error("bitbucket") {
        SourceError::RateLimited {
            retry_after,
            endpoint,
            ..
        } => {
            assert_eq!(endpoint, "thing");
            assert_eq!(retry_after, Some(Duration::from_secs(3600)));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn rate_limit_retries_are_bounded() {
    let server = MockServer::start().await;
    Mock::given(path("/2.0/thing"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .mount(&server)
        .await;
    let sleeper = InstantSleeper::new();
    let client = HttpClient::builder(format!("{}/2.0", server.uri()))
        .with_retry_policy(RetryPolicy::default().with_max_rate_limit_retries(2))
        .with_sleeper(sleeper.clone())
        .build()
        .expect("client");
    let err = get(&client).await.expect_err("must fail");
    assert!(
        matches!(err, Error::RateLimited { attempts: 3, .. }),
        "{err:?}"
    );
    assert_eq!(sleeper.delays().len(), 2);
    assert_eq!(client.stats().requests("thing"), 3);
}

#[tokio::test]
async fn retries_a_burst_of_503s() {
    let server = MockServer::start().await;
    Mock::given(path("/2.0/thing"))
        .respond_with(
            ResponseTemplate::new(503).set_body_string("<html>Service Unavailable</html>"),
        )
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/2.0/thing"))
        .respond_with(ok_body())
        .with_priority(2)
        .mount(&server)
        .await;
    let sleeper = InstantSleeper::new();
    let client = client(&server, &sleeper);
    get(&client).await.expect("recovers");
    assert_eq!(sleeper.delays().len(), 3);
    let stats = client.stats();
    assert_eq!(stats.requests("thing"), 4);
    assert_eq!(stats.endpoints["thing"].retries, 3);
    assert!(stats.rate_limit_waits.is_empty());
}

#[tokio::test]
async fn a_persistent_5xx_fails_after_bounded_retries() {
    let server = MockServer::start().await;
    Mock::given(path("/2.0/thing"))
        .respond_with(
            ResponseTemplate::new(502)
                .set_body_json(json!({"type":"error","error":{"message":"upstream down"}})),
        )
        .mount(&server)
        .await;
    let sleeper = InstantSleeper::new();
    let client = client(&server, &sleeper);
    let err = get(&client).await.expect_err("fails");
    match &err {
        Error::Status {
            status,
            attempts,
            message,
            endpoint,
        } => {
            assert_eq!(*status, StatusCode::BAD_GATEWAY);
            assert_eq!(*attempts, 5, "1 + 4 retries");
            assert_eq!(message.as_deref(), Some("upstream down"));
            assert_eq!(endpoint, "thing");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "thing: HTTP 502 Bad Gateway: upstream down (after 5 attempts)"
    );
    assert_eq!(sleeper.delays().len(), 4);
}

#[tokio::test]
async fn times_out_then_retries_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(path("/2.0/thing"))
        .respond_with(ok_body().set_delay(Duration::from_secs(3)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/2.0/thing"))
        .respond_with(ok_body())
        .with_priority(2)
        .mount(&server)
        .await;
    let sleeper = InstantSleeper::new();
    let client = HttpClient::builder(format!("{}/2.0", server.uri()))
        .with_timeout(Duration::from_millis(150))
        .with_sleeper(sleeper.clone())
        .build()
        .expect("client");
    let started = Instant::now();
    get(&client).await.expect("second attempt answers in time");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(client.stats().endpoints["thing"].retries, 1);
}

#[tokio::test]
async fn a_persistent_timeout_is_a_clear_error() {
    let server = MockServer::start().await;
    Mock::given(path("/2.0/thing"))
        .respond_with(ok_body().set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let client = HttpClient::builder(format!("{}/2.0", server.uri()))
        .with_timeout(Duration::from_millis(100))
        .with_retry_policy(RetryPolicy::default().with_max_retries(1))
        .with_sleeper(InstantSleeper::new())
        .build()
        .expect("client");
    let err = get(&client).await.expect_err("times out");
    assert!(matches!(err, Error::Timeout { attempts: 2, .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "thing: timed out after 100ms (after 2 attempts)"
    );
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported() {
    // Bind and drop to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let sleeper = InstantSleeper::new();
    let client = HttpClient::builder(format!("http://127.0.0.1:{port}"))
        .with_auth(Auth::bearer(TOKEN))
        .with_retry_policy(RetryPolicy::default().with_max_retries(2))
        .with_sleeper(sleeper.clone())
        .build()
        .expect("client");
    let err = get(&client).await.expect_err("no server");
    assert!(
        matches!(err, Error::Transport { attempts: 3, .. }),
        "{err:?}"
    );
    assert_eq!(sleeper.delays().len(), 2);
    assert!(!format!("{err} {err:?}").contains(TOKEN));
}

#[tokio::test]
async fn client_errors_are_not_retried_and_never_leak_the_token() {
    let server = MockServer::start().await;
    Mock::given(path("/2.0/unauthorized"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "type": "error",
            // A server echoing the credential back must not leak it either.
            "error": {"message": format!("Token {TOKEN} is invalid, expired, or not supported for this endpoint.")}
        })))
        .mount(&server)
        .await;
    Mock::given(path("/2.0/forbidden"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"type":"error","error":{"message":"Your credentials lack one or more required privilege scopes."}})))
        .mount(&server)
        .await;
    let sleeper = InstantSleeper::new();
    let client = client(&server, &sleeper);
    for (endpoint, status) in [("unauthorized", 401u16), ("forbidden", 403)] {
        let req = client.request(endpoint, &[endpoint]);
        let err = client.get_json::<Named>(&req).await.expect_err("fails");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        let text = format!("{err} | {err:?} | {client:?}");
        assert!(!text.contains(TOKEN), "{text}");
        let source_err = err.into_source_error("bitbucket");
        assert!(
            matches!(source_err, SourceError::Auth { .. }),
            "{source_err:?}"
        );
        let text = format!("{source_err} | {source_err:?}");
        assert!(!text.contains(TOKEN), "{text}");
    }
    assert!(sleeper.delays().is_empty(), "4xx is not retried");
    assert_eq!(client.stats().total_requests(), 2);
}

#[tokio::test]
async fn sends_each_auth_scheme() {
    let server = MockServer::start().await;
    // base64("me@example.com:tok-basic")
    Mock::given(method("GET"))
        .and(path("/basic"))
        .and(header(
            "authorization",
            "Basic bWVAZXhhbXBsZS5jb206dG9rLWJhc2lj",
        ))
        .respond_with(ok_body())
        .mount(&server)
        .await;
    Mock::given(path("/bearer"))
        .and(header("authorization", "Bearer tok-bearer"))
        .respond_with(ok_body())
        .mount(&server)
        .await;
    Mock::given(path("/pd"))
        .and(header("authorization", "Token token=tok-pd"))
        .and(header("accept", "application/vnd.pagerduty+json;version=2"))
        .respond_with(ok_body())
        .mount(&server)
        .await;
    Mock::given(path("/og"))
        .and(header("authorization", "GenieKey tok-og"))
        .respond_with(ok_body())
        .mount(&server)
        .await;
    let cases = [
        ("basic", Auth::basic("me@example.com", "tok-basic"), None),
        ("bearer", Auth::bearer("tok-bearer"), None),
        (
            "pd",
            Auth::pagerduty_token(&Secret::new("tok-pd")),
            Some("application/vnd.pagerduty+json;version=2"),
        ),
        ("og", Auth::genie_key(&Secret::new("tok-og")), None),
    ];
    for (endpoint, auth, accept) in cases {
        let mut builder = HttpClient::builder(server.uri())
            .with_auth(auth)
            .with_retry_policy(RetryPolicy::none());
        if let Some(accept) = accept {
            builder = builder.with_default_header("accept", accept);
        }
        let client = builder.build().expect("client");
        let req = client.request(endpoint, &[endpoint]);
        client
            .get_json::<Named>(&req)
            .await
            .unwrap_or_else(|e| panic!("{endpoint}: {e}"));
    }
}

#[tokio::test]
async fn concurrency_is_bounded() {
    let server = MockServer::start().await;
    Mock::given(path("/thing"))
        .respond_with(ok_body().set_delay(Duration::from_millis(150)))
        .mount(&server)
        .await;
    let client = HttpClient::builder(server.uri())
        .with_concurrency(2)
        .build()
        .expect("client");
    let started = Instant::now();
    let calls = (0..6).map(|_| {
        let client = client.clone();
        async move { get(&client).await }
    });
    for result in futures_join_all(calls).await {
        result.expect("ok");
    }
    // Six 150 ms requests, two at a time: at least three rounds.
    assert!(
        started.elapsed() >= Duration::from_millis(440),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(client.stats().requests("thing"), 6);
}

async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

#[tokio::test]
async fn progress_hook_sees_requests_retries_and_waits() {
    let server = MockServer::start().await;
    Mock::given(path("/thing"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "2"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/thing"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(path("/thing"))
        .respond_with(ok_body())
        .with_priority(3)
        .mount(&server)
        .await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    let client = HttpClient::builder(server.uri())
        .with_sleeper(InstantSleeper::new())
        .on_progress(move |e| seen.lock().expect("lock").push(e.clone()))
        .build()
        .expect("client");
    get(&client).await.expect("ok");
    let events = events.lock().expect("lock").clone();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            ProgressEvent::Request { .. } => "request",
            ProgressEvent::RateLimitWait { .. } => "wait",
            ProgressEvent::Retry { .. } => "retry",
            ProgressEvent::Page { .. } => "page",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["request", "wait", "request", "retry", "request"]);
    assert!(matches!(
        events.last(),
        Some(ProgressEvent::Request {
            requests_done: 3,
            status: Some(200),
            ..
        })
    ));
}

#[tokio::test]
async fn fresh_stats_count_separately() {
    let server = MockServer::start().await;
    Mock::given(path("/thing"))
        .respond_with(ok_body())
        .mount(&server)
        .await;
    let client = HttpClient::builder(server.uri()).build().expect("client");
    get(&client).await.expect("ok");
    let scoped = client.with_fresh_stats();
    get(&scoped).await.expect("ok");
    get(&scoped).await.expect("ok");
    assert_eq!(client.stats().total_requests(), 1);
    assert_eq!(scoped.stats().total_requests(), 2);
}

#[test]
fn bad_configuration_is_an_error() {
    assert!(matches!(
        HttpClient::builder("not a url").build(),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        HttpClient::builder("ftp://example.com").build(),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        HttpClient::builder("http://127.0.0.1")
            .with_default_header("bad header", "x")
            .build(),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        HttpClient::builder("http://127.0.0.1")
            .with_auth(Auth::header("line\nbreak"))
            .build(),
        Err(Error::Credentials(_))
    ));
}
