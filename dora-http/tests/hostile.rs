//! The client against hostile and flaky local servers on 127.0.0.1:
//! redirects to other origins, servers echoing credentials, bodies cut short,
//! oversized and gzip-bomb bodies.

use dora_http::{Auth, Error, HttpClient, InstantSleeper, RetryPolicy};
use serde_json::json;
use std::time::Duration;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "tok-SECRET-0123456789";

#[derive(serde::Deserialize, Debug)]
struct Named {
    name: String,
}

fn client_for(base: &str, auth: Auth) -> HttpClient {
    HttpClient::builder(base)
        .auth(auth)
        .timeout(Duration::from_secs(10))
        .retry(RetryPolicy::default().with_seed(7))
        .sleeper(InstantSleeper::new())
        .build()
        .expect("client builds")
}

// ------------------------------------------------------------- redirects

#[tokio::test]
async fn a_redirect_to_another_origin_is_refused_and_never_followed() {
    let api = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(path("/thing"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name": "forged"})))
        .mount(&elsewhere)
        .await;
    for status in [301u16, 302, 307, 308] {
        Mock::given(path(format!("/2.0/moved-{status}")))
            .respond_with(
                ResponseTemplate::new(status)
                    .insert_header("location", format!("{}/thing", elsewhere.uri())),
            )
            .mount(&api)
            .await;
    }
    let client = client_for(&format!("{}/2.0", api.uri()), Auth::bearer(TOKEN));
    for status in [301u16, 302, 307, 308] {
        let label = format!("moved-{status}");
        let req = client.request(&label, &[&label]);
        let err = client
            .get_json::<Named>(&req)
            .await
            .expect_err("a cross-origin redirect must fail");
        match &err {
            Error::Redirect { endpoint, from, to } => {
                assert_eq!(endpoint, &label);
                assert_eq!(from, &api.uri());
                assert_eq!(to, &elsewhere.uri());
            }
            other => panic!("expected a redirect error, got {other:?}"),
        }
        let text = err.to_string();
        assert!(
            text.contains(&api.uri()) && text.contains(&elsewhere.uri()),
            "the error names both origins: {text}"
        );
        assert!(!format!("{err:?}").contains(TOKEN));
    }
    assert!(
        elsewhere
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty(),
        "the other origin was contacted"
    );
    // Not retried: a redirect will not change its mind.
    assert_eq!(client.stats().total_requests(), 4);
}

#[tokio::test]
async fn a_redirect_to_another_port_of_the_same_host_is_refused() {
    let api = MockServer::start().await;
    let other_port = MockServer::start().await;
    Mock::given(path("/thing"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name": "forged"})))
        .mount(&other_port)
        .await;
    // Same host (127.0.0.1), another port.
    let target = other_port.uri();
    Mock::given(path("/2.0/thing"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("location", format!("{target}/thing")),
        )
        .mount(&api)
        .await;
    let client = client_for(&format!("{}/2.0", api.uri()), Auth::None);
    let req = client.request("thing", &["thing"]);
    let err = client.get_json::<Named>(&req).await.expect_err("refused");
    assert!(matches!(err, Error::Redirect { .. }), "{err:?}");
    assert!(
        other_port
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test]
async fn same_origin_redirects_are_followed_without_a_referer() {
    let api = MockServer::start().await;
    Mock::given(path("/2.0/old"))
        .respond_with(ResponseTemplate::new(301).insert_header("location", "/2.0/new?x=1"))
        .mount(&api)
        .await;
    Mock::given(path("/2.0/new"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name": "moved"})))
        .mount(&api)
        .await;
    let client = client_for(&format!("{}/2.0", api.uri()), Auth::bearer(TOKEN));
    let req = client.request("old", &["old"]).query("secret_query", "s3");
    let got: Named = client.get_json(&req).await.expect("followed");
    assert_eq!(got.name, "moved");
    let requests = api.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert!(
            !r.headers.contains_key("referer"),
            "a Referer header was sent to {}",
            r.url
        );
    }
    assert_eq!(requests[1].url.path(), "/2.0/new");
}
