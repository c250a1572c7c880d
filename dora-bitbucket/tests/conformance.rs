//! The Bitbucket source passes the delivery-source conformance suite against
//! the testkit's Bitbucket wire fake (the server `dora demo` collects from):
//! window filtering, each item once (also when pages repeat items), stable
//! ids, typed errors, and the incremental cursor round trip.

use chrono::Duration;
use dora_bitbucket::Bitbucket;
use dora_core::conformance::{self, DeliverySuite};
use dora_core::{CollectRequest, DeliverySource, TimeRange};
use dora_http::RetryPolicy;
use dora_testkit::{DEFAULT_SEED, DemoServer, ServerOptions, WORKSPACE, generate};

fn source(url: &str, workspace: &str) -> Bitbucket {
    Bitbucket::builder(workspace)
        .with_base_url(url)
        .with_basic_auth("demo@example.com", "demo-api-token")
        .with_retry_policy(RetryPolicy::default().with_seed(7))
        .build()
        .expect("source builds")
}

/// The sample's last 90 days, as `dora demo` reports them.
fn window() -> TimeRange {
    let end = generate(DEFAULT_SEED).end;
    TimeRange::new(end - Duration::days(90), end)
}

async fn serve(options: ServerOptions) -> DemoServer {
    DemoServer::start(generate(DEFAULT_SEED), options)
        .await
        .expect("wire fake starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitbucket_passes_the_delivery_suite_against_the_wire_fake() {
    let server = serve(ServerOptions::default()).await;
    let rejecting = serve(ServerOptions {
        reject_auth: true,
        ..ServerOptions::default()
    })
    .await;
    let (url, missing_url, rejected_url) = (
        server.bitbucket_url(),
        server.bitbucket_url(),
        rejecting.bitbucket_url(),
    );
    DeliverySuite::new(move || source(&url, WORKSPACE), window())
        .not_found(move || source(&missing_url, "no-such-workspace"))
        .unauthorized(move || source(&rejected_url, WORKSPACE))
        .run()
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_repeated_across_pages_come_back_once() {
    let server = serve(ServerOptions {
        repeat_across_pages: true,
        ..ServerOptions::default()
    })
    .await;
    let plain = serve(ServerOptions::default()).await;
    let repeated =
        conformance::check_collect(&source(&server.bitbucket_url(), WORKSPACE), window()).await;
    let once = source(&plain.bitbucket_url(), WORKSPACE)
        .collect(&CollectRequest::new(window()))
        .await
        .expect("collects");
    assert_eq!(repeated.pull_requests.len(), once.pull_requests.len());
    assert_eq!(repeated.deployments.len(), once.deployments.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitbucket_incremental_cursors_round_trip_against_the_wire_fake() {
    let server = serve(ServerOptions::default()).await;
    let bitbucket = source(&server.bitbucket_url(), WORKSPACE);
    let collected = conformance::check_collect(&bitbucket, window()).await;
    conformance::check_incremental(&bitbucket, window(), &collected).await;
}
