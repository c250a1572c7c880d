//! The demo server speaks the wire formats: Bitbucket `page`/`pagelen`/`next`,
//! the `state` filter, PagerDuty `offset`/`limit`/`more`, and authentication.

use dora_testkit::{self as demo, DemoServer, ServerOptions};
use serde_json::Value;

async fn get(client: &reqwest::Client, url: &str) -> (u16, Value) {
    let r = client
        .get(url)
        .header("authorization", "Bearer demo")
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.expect("JSON body"))
}

#[tokio::test]
async fn bitbucket_and_pagerduty_pagination() {
    let server = DemoServer::start(demo::generate(demo::DEFAULT_SEED), ServerOptions::default())
        .await
        .expect("server");
    let client = reqwest::Client::new();
    let bb = server.bitbucket_url();

    // Follow `next` links verbatim until the last page.
    let mut url = format!(
        "{bb}/repositories/acme/checkout-web/pullrequests?state=MERGED&state=DECLINED&pagelen=50"
    );
    let (mut ids, mut pages) = (Vec::new(), 0);
    loop {
        let (status, page) = get(&client, &url).await;
        assert_eq!(status, 200);
        pages += 1;
        for pr in page["values"].as_array().expect("values") {
            assert!(matches!(pr["state"].as_str(), Some("MERGED" | "DECLINED")));
            ids.push(pr["id"].as_u64().expect("id"));
        }
        match page["next"].as_str() {
            Some(next) => url = next.to_string(),
            None => break,
        }
    }
    let repo = server.sample().repository("checkout-web").expect("repo");
    let expected = repo
        .pull_requests
        .iter()
        .filter(|p| demo::wire::pr_state(p) != "OPEN")
        .count();
    assert_eq!(ids.len(), expected);
    assert!(pages > 1);
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), expected, "no duplicates across pages");

    // The deployment's environment name only when `fields` asks for it.
    let (_, plain) = get(
        &client,
        &format!("{bb}/repositories/acme/payments-api/deployments?pagelen=1"),
    )
    .await;
    assert!(plain["values"][0]["environment"].get("name").is_none());
    let (_, rich) = get(
        &client,
        &format!("{bb}/repositories/acme/payments-api/deployments?pagelen=1&fields=%2Bvalues.environment.name"),
    )
    .await;
    assert!(rich["values"][0]["environment"]["name"].is_string());

    // PagerDuty: offset/limit/more.
    let pd = server.pagerduty_url();
    let (mut offset, mut seen) = (0, 0);
    loop {
        let (status, page) =
            get(&client, &format!("{pd}/incidents?limit=25&offset={offset}")).await;
        assert_eq!(status, 200);
        seen += page["incidents"].as_array().map_or(0, Vec::len);
        if page["more"] != true {
            break;
        }
        offset += 25;
    }
    assert_eq!(seen, server.sample().incidents.len());

    // Unknown repository: Bitbucket's error shape.
    let (status, body) = get(&client, &format!("{bb}/repositories/acme/nope/deployments")).await;
    assert_eq!(status, 404);
    assert_eq!(body["type"], "error");

    // No Authorization header: 401.
    let r = client
        .get(format!("{bb}/repositories/acme"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 401);
    assert!(server.requests() >= 5);
    server.shutdown().await;
}
