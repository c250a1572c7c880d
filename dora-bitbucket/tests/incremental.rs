//! Incremental sync of the fixture repository into a `dora-store`, against a
//! local server that holds the repository's state and answers like Bitbucket
//! (pagination with `next`, BBQL `updated_on >=`, `exclude=` on commits), so
//! the state can change between syncs.

mod common;
#[path = "common/live.rs"]
mod live;

use common::*;
use dora_bitbucket::Bitbucket;
use dora_core::{
    CollectRequest, DeliverySource, DeploymentStatus, EventKind, IncrementalSource,
    PullRequestState,
};
use dora_store::{Store, SyncError, sync_delivery};
use live::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use wiremock::MockServer;

#[tokio::test]
async fn first_sync_is_the_full_collect_of_the_repository() {
    // On the fixture repository's own mocks: same requests, same events.
    let server = MockServer::start().await;
    mount_fixture_repo(&server).await;
    let source = source(&server);
    let (delta, stats) = source
        .sync_scope_with_stats("acme/web", window(), None)
        .await
        .expect("first sync");
    let (collected, full) = source
        .collect_with_stats(&CollectRequest::new(window()))
        .await
        .expect("collect");
    assert_eq!(delta.data, collected);
    assert_eq!(stats.http.endpoints, full.http.endpoints);
    assert_eq!(delta.requests, 14);
    println!("first sync of acme/web:\n{}", stats.http);
    let cursor: Value = serde_json::from_str(&delta.cursor).expect("JSON cursor");
    assert_eq!(cursor["head"], HEAD47);
    assert_eq!(cursor["main_branch"], "main");
    // Re-checked next time: the queued #195 (unreadable until it runs), the
    // planned #193 (UNDEPLOYED keeps its uuid when it runs) and the running #192.
    assert_eq!(
        cursor["in_progress"],
        json!([dep_id(195), dep_id(193), dep_id(192)])
    );
    assert_eq!(
        cursor["open_prs"]["48"]["first_review"],
        "2024-03-21T10:00:00Z"
    );
}

#[tokio::test]
async fn a_sync_without_changes_makes_at_most_one_request_per_endpoint() {
    let (server, _live) = Live::start(&[], PageSizes::default()).await;
    let source = source_for(&server, &["web"]);
    let mut store = store();
    let first = sync_delivery(&mut store, &source, window())
        .await
        .expect("first sync");
    // (The full collect: 13 requests and the branching model.)
    assert_eq!(first.requests, 14);
    assert_eq!(requests(&server).await.len(), 14);
    let stored = load(&store);
    assert_eq!(stored.deployments.len(), 12);
    assert_eq!(stored.pull_requests.len(), 8);

    let again = sync_delivery(&mut store, &source, window())
        .await
        .expect("second sync");
    let log = requests(&server).await;
    let counts = per_endpoint(&log[14..]);
    println!("no-change re-sync of acme/web: {counts:?}");
    assert!(counts.values().all(|n| *n <= 1), "{counts:?}");
    assert_eq!(
        counts,
        BTreeMap::from([
            ("commits".to_string(), 1),
            ("deployments".to_string(), 1),
            ("pullrequests".to_string(), 1),
            ("pullrequests/activity".to_string(), 1),
        ])
    );
    assert_eq!(again.requests, 4);
    assert_eq!(load(&store), stored, "nothing changed");
    // The commit walk excluded the known head.
    let commits = log[13..]
        .iter()
        .find(|r| r.url.path().ends_with("/commits/main"))
        .expect("commits request");
    assert!(
        commits
            .url
            .query_pairs()
            .any(|(k, v)| k == "exclude" && v == HEAD47),
        "{}",
        commits.url
    );

    // And per endpoint, from the source's own accounting.
    let cursor = store.cursor("bitbucket", "acme/web").expect("cursor");
    let (delta, stats) = source
        .sync_scope_with_stats("acme/web", window(), cursor.as_deref())
        .await
        .expect("third sync");
    for endpoint in [
        "deployments",
        "pullrequests",
        "pullrequests/activity",
        "commits",
    ] {
        assert_eq!(stats.requests(endpoint), 1, "{endpoint}");
    }
    assert_eq!(stats.total_requests(), 4);
    assert!(delta.data.pull_requests.is_empty() && delta.data.commits.is_empty());
    // Only the deployments that can still change are returned again (the
    // planned #193, the running #192; the queued #195 is noted unreadable).
    let ids: Vec<&str> = delta
        .data
        .deployments
        .iter()
        .map(|d| d.id.as_str())
        .collect();
    assert_eq!(ids, [dep_id(193), dep_id(192)]);
    assert_eq!(Some(delta.cursor), cursor);
}

#[tokio::test]
async fn new_pr_new_deployment_and_completed_deployment_are_picked_up() {
    let (server, live) = Live::start(&[], PageSizes::default()).await;
    let source = source_for(&server, &["web"]);
    let mut store = store();
    sync_delivery(&mut store, &source, window())
        .await
        .expect("first sync");
    ship_pr_50(&live, "web");
    let before = requests(&server).await.len();
    let summary = sync_delivery(&mut store, &source, window())
        .await
        .expect("second sync");
    let counts = per_endpoint(&requests(&server).await[before..]);
    println!("sync with a new PR and deployment: {counts:?}");
    assert_eq!(summary.requests, counts.values().sum::<u64>());
    assert_eq!(
        counts.get("pullrequest/activity"),
        None,
        "the stream held #50's activity"
    );
    assert_eq!(
        counts.get("pullrequest/commits"),
        None,
        "a merge commit gives the branch"
    );

    let data = load(&store);
    let pr = data
        .pull_requests
        .iter()
        .find(|p| p.id == 50)
        .expect("#50 stored");
    assert_eq!(pr.state, PullRequestState::Merged);
    assert_eq!(pr.merged_at, Some(at("2024-03-25T10:00:00.500Z")));
    assert_eq!(pr.first_review_at, Some(at("2024-03-24T15:00:00Z")));
    let d196 = data
        .deployments
        .iter()
        .find(|d| d.id == dep_id(196))
        .expect("#196 stored");
    assert_eq!(
        (d196.status, d196.commit.as_str(), d196.environment.as_str()),
        (DeploymentStatus::Succeeded, M50, "prod-eu")
    );
    let d192 = data
        .deployments
        .iter()
        .find(|d| d.id == dep_id(192))
        .expect("#192");
    assert_eq!(d192.status, DeploymentStatus::Succeeded);
    assert_eq!(d192.finished_at, Some(at("2024-03-25T12:00:00Z")));
    assert!(
        store
            .deployments_in_progress("web")
            .expect("query")
            .is_empty()
    );
    for sha in [M50, B50] {
        assert!(data.commits.iter().any(|c| c.sha == sha), "{sha}");
    }

    // The next sync without changes is back to one request per endpoint,
    // and the deployment that completed is no longer re-checked.
    let before = requests(&server).await.len();
    let quiet = sync_delivery(&mut store, &source, window())
        .await
        .expect("third sync");
    assert_eq!(quiet.requests, 4);
    assert_eq!(
        quiet.events, 2,
        "the repository row and the planned #193, re-checked"
    );
    assert_eq!(requests(&server).await.len() - before, 4);
    assert_eq!(load(&store), data);
}

#[tokio::test]
async fn report_from_the_store_equals_the_report_from_a_fresh_collect() {
    let (server, live) = Live::start(&[], PageSizes::default()).await;
    let source = source_for(&server, &["web"]);
    let mut store = store();
    sync_delivery(&mut store, &source, window())
        .await
        .expect("first sync");
    ship_pr_50(&live, "web");
    sync_delivery(&mut store, &source, window())
        .await
        .expect("second sync");
    let fresh = source
        .collect(&CollectRequest::new(window()))
        .await
        .expect("collect");
    let stored = load(&store);
    let from_store = assert_same_report(&stored, &fresh);
    // Not vacuous: #50 shipped with #196 and counts in the lead time.
    assert!(
        from_store
            .changes
            .iter()
            .any(|c| c.pull_request == 50 && c.deployment == dep_id(196)),
        "{:?}",
        from_store.changes
    );
    assert_eq!(from_store.metrics.deployment_frequency.count, 6);
}

#[tokio::test]
async fn a_review_from_an_earlier_sync_survives_the_merge() {
    // One activity entry per page, so that the stream walked at the merge
    // stops before #48's review (2024-03-21), read two syncs earlier.
    let pages = PageSizes {
        activity: 1,
        ..PageSizes::default()
    };
    let (server, live) = Live::start(&[], pages).await;
    let source = source_for(&server, &["web"]);
    let mut store = store();
    sync_delivery(&mut store, &source, window())
        .await
        .expect("first sync");

    // A comment on the merged #47 (an edit to a closed pull request: read
    // again, its activity in full, as it precedes the stream's reach) and one
    // by #48's own author.
    live.repo("web", |r| {
        r.activity
            .insert(0, comment(47, SAM, "2024-03-22T12:00:00.000000+00:00"));
        r.activity
            .insert(0, comment(48, JANE, "2024-03-23T12:00:00.000000+00:00"));
        for p in &mut r.pull_requests {
            match p["id"].as_u64() {
                Some(47) => p["updated_on"] = json!("2024-03-22T12:00:00.000000+00:00"),
                Some(48) => p["updated_on"] = json!("2024-03-23T12:00:00.000000+00:00"),
                _ => {}
            }
        }
    });
    let before = requests(&server).await.len();
    sync_delivery(&mut store, &source, window())
        .await
        .expect("second sync");
    let counts = per_endpoint(&requests(&server).await[before..]);
    assert_eq!(counts.get("pullrequest/activity"), Some(&1), "{counts:?}");

    // #48 is squash-merged.
    const S48: &str = "4800000000000000000000000000000000000048";
    const F48: &str = "4810000000000000000000000000000000000048";
    live.repo("web", |r| {
        r.commits.insert(
            0,
            commit(
                S48,
                "2024-03-26T09:00:00+00:00",
                &[HEAD47],
                "WIP: dark mode (pull request #48)\n",
            ),
        );
        r.pr_commits.insert(
            48,
            vec![commit(
                F48,
                "2024-03-20T08:00:00+00:00",
                &[HEAD47],
                "Dark mode\n",
            )],
        );
        r.activity
            .insert(0, update(48, "MERGED", "2024-03-26T09:00:00.000000+00:00"));
        let p48 = r
            .pull_requests
            .iter_mut()
            .find(|p| p["id"] == 48)
            .expect("#48");
        p48["state"] = json!("MERGED");
        p48["updated_on"] = json!("2024-03-26T09:00:01.000000+00:00");
        p48["merge_commit"] = json!({"hash": "480000000000", "date": "2024-03-26T09:00:00+00:00"});
    });
    let before = requests(&server).await.len();
    sync_delivery(&mut store, &source, window())
        .await
        .expect("third sync");
    let log = requests(&server).await;
    let counts = per_endpoint(&log[before..]);
    assert_eq!(counts.get("pullrequest/activity"), None, "{counts:?}");
    assert_eq!(counts.get("pullrequest/commits"), Some(&1), "{counts:?}");
    assert!(
        !log[before..].iter().any(
            |r| r.url.query_pairs().any(|(k, v)| k == "page" && v == "4")
                && r.url.path().ends_with("/pullrequests/activity")
        ),
        "the stream was walked back only to the previous sync"
    );

    let data = load(&store);
    let p48 = data.pull_requests.iter().find(|p| p.id == 48).expect("#48");
    assert_eq!(p48.state, PullRequestState::Merged);
    assert_eq!(p48.merged_at, Some(at("2024-03-26T09:00:00Z")));
    assert_eq!(
        p48.first_review_at,
        Some(at("2024-03-21T10:00:00Z")),
        "Sam's review from the first sync, not Jane's own comment"
    );
    assert_eq!(p48.commits, [F48]);
    let p47 = data.pull_requests.iter().find(|p| p.id == 47).expect("#47");
    assert_eq!(p47.merged_at, Some(at("2024-03-11T10:00:05Z")));

    let fresh = source
        .collect(&CollectRequest::new(window()))
        .await
        .expect("collect");
    assert_same_report(&data, &fresh);
}

/// Sync until it succeeds, with `fault` on for the first attempt.
async fn interrupted(
    store: &mut Store,
    source: &Bitbucket,
    live: &Live,
    fault: Fault,
) -> dora_store::SyncSummary {
    live.fail(Some(fault));
    let err = sync_delivery(store, source, window())
        .await
        .expect_err("the fault stops the sync");
    match &err {
        SyncError::Source {
            completed_scopes, ..
        } => assert_eq!(*completed_scopes, 1, "{err}"),
        other => panic!("unexpected error {other}"),
    }
    assert!(err.to_string().contains("acme/web"), "{err}");
    live.fail(None);
    sync_delivery(store, source, window())
        .await
        .expect("the re-run completes")
}

#[tokio::test]
async fn an_interrupted_sync_re_run_gives_the_same_store() {
    let (server, live) = Live::start(&["api"], PageSizes::default()).await;
    let source = source_for(&server, &["api", "web"]);
    assert_eq!(
        source.scopes().await.expect("scopes"),
        ["acme/api", "acme/web"]
    );

    // Uninterrupted: a first sync, then the changes.
    let mut clean = store();
    sync_delivery(&mut clean, &source, window())
        .await
        .expect("first sync");

    // Interrupted on the second repository's second page of pull requests.
    let mut resumed = store();
    interrupted(
        &mut resumed,
        &source,
        &live,
        Fault {
            path: "/acme/web/pullrequests".into(),
            page: Some("2".into()),
        },
    )
    .await;
    assert_eq!(load(&resumed), load(&clean));

    ship_pr_50(&live, "api");
    ship_pr_50(&live, "web");
    sync_delivery(&mut clean, &source, window())
        .await
        .expect("incremental sync");
    // Interrupted in the incremental sync, on the second repository's commits.
    interrupted(
        &mut resumed,
        &source,
        &live,
        Fault {
            path: "/acme/web/commits/main".into(),
            page: None,
        },
    )
    .await;
    let (a, b) = (load(&resumed), load(&clean));
    assert_eq!(a, b);
    assert!(
        a.pull_requests
            .iter()
            .filter(|p| p.id == 50)
            .map(|p| p.repository.as_str())
            .eq(["api", "web"])
    );
    // The cursors agree but for when each run read the branching model (the
    // clock's time, different in two runs).
    let timeless = |store: &Store, scope: &str| {
        let text = store.cursor("bitbucket", scope).expect("cursor");
        let mut cursor: Value = serde_json::from_str(&text.expect("stored")).expect("JSON");
        assert!(cursor["slow_checked_at"].is_string(), "{cursor}");
        cursor["slow_checked_at"] = Value::Null;
        cursor
    };
    for scope in ["acme/api", "acme/web"] {
        assert_eq!(
            timeless(&resumed, scope),
            timeless(&clean, scope),
            "{scope}"
        );
    }
}

#[tokio::test]
async fn an_unusable_cursor_or_an_earlier_window_backfills_and_bad_scopes_are_refused() {
    let (server, _live) = Live::start(&[], PageSizes::default()).await;
    let source = source_for(&server, &["web"]);
    let (first, _) = source
        .sync_scope_with_stats("acme/web", window(), None)
        .await
        .expect("first");
    for cursor in ["not json", r#"{"version": 99}"#] {
        let (delta, stats) = source
            .sync_scope_with_stats("acme/web", window(), Some(cursor))
            .await
            .expect("backfill");
        assert_eq!(stats.total_requests(), 14, "{cursor}");
        assert_eq!(delta.data, first.data);
    }
    let earlier = dora_core::TimeRange::new(at("2024-02-15T00:00:00Z"), window().end);
    let (_, stats) = source
        .sync_scope_with_stats("acme/web", earlier, Some(&first.cursor))
        .await
        .expect("backfill for an earlier window");
    assert!(stats.requests("repository") == 1 && stats.requests("environments") == 1);
    for bad in ["web", "other/web", "acme/", "acme/web/x"] {
        let err = source
            .sync_scope(bad, window(), None)
            .await
            .expect_err("not a scope of this source");
        assert!(err.to_string().contains(bad), "{err}");
    }
}

#[tokio::test]
async fn an_in_progress_deployment_past_the_first_page_is_re_checked_on_its_own() {
    // Two deployments per page: the planned #193 and the running #192 are on
    // page 2, the queued #195 and the known #194 on page 1.
    let pages = PageSizes {
        deployments: 2,
        ..PageSizes::default()
    };
    let (server, live) = Live::start(&[], pages).await;
    let source = source_for(&server, &["web"]);
    let mut store = store();
    sync_delivery(&mut store, &source, window())
        .await
        .expect("first sync");
    let before = requests(&server).await.len();
    sync_delivery(&mut store, &source, window())
        .await
        .expect("still in progress");
    let counts = per_endpoint(&requests(&server).await[before..]);
    assert_eq!(counts.get("deployments"), Some(&1), "{counts:?}");
    assert_eq!(
        counts.get("deployment"),
        Some(&2),
        "#193 and #192: {counts:?}"
    );
    assert!(
        counts
            .iter()
            .all(|(endpoint, n)| endpoint == "deployment" || *n <= 1),
        "{counts:?}"
    );
    assert_eq!(
        store.deployments_in_progress("web").expect("query"),
        [dep_id(192)]
    );

    live.repo("web", |r| {
        let d192 = r
            .deployments
            .iter_mut()
            .find(|d| d["uuid"] == dep_id(192).as_str())
            .expect("#192");
        d192["state"] = json!({"name": "COMPLETED", "status": {"name": "FAILED"},
            "started_on": "2024-03-11T11:00:00.11111Z", "completed_on": "2024-03-11T11:30:00Z"});
    });
    sync_delivery(&mut store, &source, window())
        .await
        .expect("completed");
    let data = load(&store);
    let d192 = data
        .deployments
        .iter()
        .find(|d| d.id == dep_id(192))
        .expect("#192");
    assert_eq!(d192.status, DeploymentStatus::Failed);
    assert_eq!(d192.finished_at, Some(at("2024-03-11T11:30:00Z")));
    assert!(
        store
            .deployments_in_progress("web")
            .expect("query")
            .is_empty()
    );
    // No longer in progress: not re-checked (the planned #193 still is).
    let before = requests(&server).await.len();
    sync_delivery(&mut store, &source, window())
        .await
        .expect("quiet");
    let counts = per_endpoint(&requests(&server).await[before..]);
    assert_eq!(counts.get("deployment"), Some(&1), "{counts:?}");
}

#[tokio::test]
async fn a_later_sync_notes_what_it_skipped() {
    let (server, live) = Live::start(&[], PageSizes::default()).await;
    let source = source_for(&server, &["web"]);
    let (first, _) = source
        .sync_scope_with_stats("acme/web", window(), None)
        .await
        .expect("first sync");
    ship_pr_50(&live, "web");
    live.repo("web", |r| {
        // Completed without saying how it ended.
        r.deployments.insert(
            0,
            deployment(
                197,
                PROD,
                M50,
                json!({"type": "deployment_state_completed", "name": "COMPLETED",
                       "completed_on": "2024-03-25T13:00:00.00000Z"}),
            ),
        );
        // Opened without a readable `created_on`.
        r.pull_requests.push(json!({
            "type": "pullrequest", "id": 51, "title": "Broken", "state": "OPEN",
            "author": account(JANE),
            "source": {"branch": {"name": "feature/broken"}},
            "destination": {"branch": {"name": "main"}},
            "updated_on": "2024-03-25T13:00:00.000000+00:00"
        }));
    });
    let (second, stats) = source
        .sync_scope_with_stats("acme/web", window(), Some(&first.cursor))
        .await
        .expect("second sync");
    let notes = &second.data.collection.skipped;
    let reason_of = |id: &str| {
        notes
            .iter()
            .find(|s| s.id.as_deref() == Some(id))
            .map(|s| (s.kind, s.reason.as_str(), s.scope.as_deref()))
    };
    assert_eq!(
        reason_of(&dep_id(197)),
        Some((EventKind::Deployment, "missing_status", Some("web"))),
        "{notes:?}"
    );
    assert_eq!(
        reason_of("51"),
        Some((EventKind::PullRequest, "missing_timestamp", Some("web"))),
        "{notes:?}"
    );
    assert_eq!(notes.len(), stats.skipped.len(), "{:?}", stats.skipped);
    assert!(second.data.pull_requests.iter().any(|p| p.id == 50));
    assert!(second.data.collection.history_truncated.is_empty());
}

#[tokio::test]
async fn pipelines_without_production_deployments_are_diagnosed_fresh_and_from_the_store() {
    let (server, live) = Live::start(&[], PageSizes::default()).await;
    live.repo("web", |r| {
        r.deployments.retain(|d| d["environment"]["uuid"] != PROD);
        r.pipelines = vec![
            pipeline(31, "main", "2024-03-20T10:00:00.000000Z"),
            pipeline(30, "feature/x", "2024-03-19T10:00:00.000000Z"),
            pipeline(29, "main", "2024-03-18T10:00:00.000000Z"),
            pipeline(12, "main", "2024-01-05T10:00:00.000000Z"),
        ];
    });
    let source = source_for(&server, &["web"]);
    let diagnosed = |data: &dora_core::Dataset| {
        let report = dora_core::compute_at(data, &config(), window().end);
        let message = report
            .diagnostics
            .iter()
            .find(|d| d.code == "pipelines_without_deployments")
            .map(|d| d.message.clone());
        if message.is_some() {
            assert_eq!(
                report.metrics.deployment_frequency.source,
                dora_core::report::DeploymentSource::Merges,
                "pipeline runs are not deployments"
            );
        }
        message
    };
    let fresh = source
        .collect(&CollectRequest::new(window()))
        .await
        .expect("collect");
    let message = diagnosed(&fresh).expect("diagnosed");
    assert!(
        message.contains("2 time(s) on `main`") && message.contains("deployment: production"),
        "{message}"
    );
    assert!(
        message.contains("/addon/pipelines/home#!/results/31"),
        "{message}"
    );

    // The store says the same, and follows new runs.
    let mut store = store();
    sync_delivery(&mut store, &source, window())
        .await
        .expect("first sync");
    assert_eq!(diagnosed(&load(&store)), Some(message));
    live.repo("web", |r| {
        r.pipelines
            .insert(0, pipeline(32, "main", "2024-03-22T10:00:00.000000Z"));
    });
    sync_delivery(&mut store, &source, window())
        .await
        .expect("second sync");
    let again = diagnosed(&load(&store)).expect("still diagnosed");
    assert!(again.contains("3 time(s)"), "{again}");

    // A production deployment recorded at last: the evidence goes.
    ship_pr_50(&live, "web");
    sync_delivery(&mut store, &source, window())
        .await
        .expect("third sync");
    assert_eq!(diagnosed(&load(&store)), None);
    let before = requests(&server).await.len();
    sync_delivery(&mut store, &source, window())
        .await
        .expect("quiet");
    let counts = per_endpoint(&requests(&server).await[before..]);
    assert_eq!(
        counts.get("pipelines"),
        None,
        "not read once production deployments exist"
    );
}

#[tokio::test]
async fn unreadable_pipelines_are_a_warning_not_a_failure() {
    let (server, live) = Live::start(&[], PageSizes::default()).await;
    live.repo("web", |r| {
        r.deployments.retain(|d| d["environment"]["uuid"] != PROD);
        r.pipelines_status = 403;
    });
    let (data, stats) = source_for(&server, &["web"])
        .collect_with_stats(&CollectRequest::new(window()))
        .await
        .expect("the collection succeeds");
    assert!(data.collection.pipelines.is_empty());
    assert!(
        stats
            .warnings
            .iter()
            .any(|w| w.contains("pipelines could not be read") && w.contains("403")),
        "{:?}",
        stats.warnings
    );
}

#[tokio::test]
async fn the_branching_models_production_branch_is_walked_not_the_main_branch() {
    // Gitflow as teams often set it up: `develop` is Bitbucket's main branch,
    // `main` the production branch of the branching model.
    let (server, live) = Live::start(&[], PageSizes::default()).await;
    let source = source_for(&server, &["web"]);
    let before = source
        .collect(&CollectRequest::new(window()))
        .await
        .expect("collect");
    live.repo("web", |r| {
        r.repository["mainbranch"]["name"] = json!("develop");
        r.branching_model = Some(json!({
            "type": "branching_model",
            "development": {"name": "develop", "use_mainbranch": true,
                            "branch": {"type": "branch", "name": "develop"}},
            "production": {"name": "main", "use_mainbranch": false,
                           "branch": {"type": "branch", "name": "main"}},
            "branch_types": [{"kind": "release", "prefix": "release/"}]
        }));
    });
    let after = source
        .collect(&CollectRequest::new(window()))
        .await
        .expect("collect with the model");
    assert_eq!(after.repositories[0].main_branch.as_deref(), Some("main"));
    // The model names the development branch and the release prefix
    // (promotions); no hotfix type is enabled.
    let repo = &after.repositories[0];
    assert_eq!(
        (
            repo.development_branch.as_deref(),
            repo.release_prefix.as_deref(),
            repo.hotfix_prefix.as_deref()
        ),
        (Some("develop"), Some("release/"), None)
    );
    let mut same_history = after.clone();
    same_history.repositories = before.repositories.clone();
    assert_eq!(
        same_history, before,
        "the production branch's history, as before"
    );
    // The store's first sync reads the same.
    let mut store = store();
    sync_delivery(&mut store, &source, window())
        .await
        .expect("sync");
    assert_eq!(load(&store).repositories, after.repositories);
    // A model that keeps production on the main branch changes nothing.
    live.repo("web", |r| {
        r.repository["mainbranch"]["name"] = json!("main");
        r.branching_model = Some(
            json!({"production": {"name": "main", "use_mainbranch": true,
            "branch": {"name": "main"}}}),
        );
    });
    let same = source
        .collect(&CollectRequest::new(window()))
        .await
        .expect("collect");
    assert_eq!(same, before);
}

#[tokio::test]
async fn a_changed_branching_model_reaches_the_store() {
    let (server, live) = Live::start(&[], PageSizes::default()).await;
    let every_sync = || slow_every_sync(&server);
    let mut store = store();
    sync_delivery(&mut store, &source_for(&server, &["web"]), window())
        .await
        .expect("first sync");
    let stored = load(&store);
    assert_eq!(stored.repositories[0].hotfix_prefix, None);

    // A hotfix type is enabled. The default source (model read daily) does
    // not look yet: one request per endpoint, as before.
    live.repo("web", |r| {
        r.branching_model = Some(json!({
            "development": {"name": "main", "use_mainbranch": true, "branch": {"name": "main"}},
            "branch_types": [{"kind": "hotfix", "prefix": "urgent/"}]
        }));
    });
    let before = requests(&server).await.len();
    let quiet = sync_delivery(&mut store, &source_for(&server, &["web"]), window())
        .await
        .expect("quiet sync");
    assert_eq!(quiet.requests, 4);
    assert_eq!(requests(&server).await.len() - before, 4);
    assert_eq!(load(&store).repositories[0].hotfix_prefix, None);

    // A source told to read it every sync does (with the other slow checks), and the store
    // says what a fresh collection says.
    let synced = sync_delivery(&mut store, &every_sync(), window())
        .await
        .expect("sync reading the model");
    // (+1: the branching model; +1: the branch head, as no commit is new.)
    assert_eq!(synced.requests, 6);
    let fresh = every_sync()
        .collect(&CollectRequest::new(window()))
        .await
        .expect("fresh");
    assert_eq!(
        fresh.repositories[0].hotfix_prefix.as_deref(),
        Some("urgent/")
    );
    assert_eq!(load(&store).repositories, fresh.repositories);

    // The model's production branch moves to `release`, which holds only
    // the initial history: the repository is read again whole, from it.
    live.repo("web", |r| {
        let oldest = r.commits[r.commits.len() - 3..].to_vec();
        r.branches.insert("release".into(), oldest);
        r.branching_model = Some(json!({
            "production": {"name": "release", "use_mainbranch": false,
                           "branch": {"name": "release"}},
        }));
    });
    read_again_whole(
        &store,
        &every_sync(),
        "the production branch is now `release`, was `main`",
    )
    .await;
    sync_delivery(&mut store, &every_sync(), window())
        .await
        .expect("sync after the production branch moved");
    let fresh = every_sync()
        .collect(&CollectRequest::new(window()))
        .await
        .expect("fresh");
    assert_eq!(
        fresh.repositories[0].main_branch.as_deref(),
        Some("release")
    );
    let stored = load(&store);
    assert_eq!(stored.repositories, fresh.repositories);
    let shas = |d: &dora_core::Dataset| {
        let mut v: Vec<String> = d.commits.iter().map(|c| c.sha.clone()).collect();
        v.sort();
        v
    };
    assert_eq!(shas(&stored), shas(&fresh));
}

#[tokio::test]
async fn a_planned_deployment_deep_in_the_listing_that_runs_late_reaches_the_store() {
    // Twelve planned deployments pile up at the head (one per pipeline run
    // that was not promoted); the oldest of them, past the ten re-checked on
    // every sync, is promoted much later and keeps its place in the listing.
    let (server, live) = Live::start(&[], PageSizes::default()).await;
    let source = source_for(&server, &["web"]);
    let mut store = store();
    sync_delivery(&mut store, &source, window())
        .await
        .expect("first sync");
    let planned = || json!({"type": "deployment_state_undeployed", "name": "UNDEPLOYED"});
    live.repo("web", |r| {
        let head = r.commits[0]["hash"].as_str().expect("head").to_owned();
        for n in 0..12 {
            r.deployments
                .insert(0, deployment(600 + n, PROD, &head, planned()));
        }
    });
    sync_delivery(&mut store, &source, window())
        .await
        .expect("the planned ones listed");
    let cursor: Value = serde_json::from_str(
        &store
            .cursor("bitbucket", "acme/web")
            .expect("cursor")
            .expect("stored"),
    )
    .expect("JSON");
    let dormant: Vec<&str> = cursor["dormant"]
        .as_array()
        .expect("dormant")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(dormant.contains(&dep_id(600).as_str()), "{cursor}");

    live.repo("web", |r| {
        let oldest = r
            .deployments
            .iter_mut()
            .find(|d| d["uuid"] == dep_id(600))
            .expect("#600");
        oldest["state"] = completed("2024-03-25T11:00:00Z", "2024-03-25T11:04:00Z");
    });
    // Dormant planned deployments are re-checked with the slow checks (once
    // a day by default): the sync right after does not see the run yet...
    let fresh = source
        .collect(&CollectRequest::new(window()))
        .await
        .expect("fresh");
    let ran = |d: &dora_core::Dataset| {
        d.deployments
            .iter()
            .find(|x| x.id == dep_id(600))
            .map(|x| x.status)
    };
    assert_eq!(ran(&fresh), Some(DeploymentStatus::Succeeded));
    sync_delivery(&mut store, &source, window())
        .await
        .expect("sync");
    assert_eq!(ran(&load(&store)), Some(DeploymentStatus::Undeployed));
    // ...the next slow check does (twenty per check, in rotation), and the
    // store says what a fresh collection says.
    assert!(dormant.len() <= 20);
    let slow_now = slow_every_sync(&server);
    sync_delivery(&mut store, &slow_now, window())
        .await
        .expect("sync with the slow checks");
    let stored = load(&store);
    assert_eq!(ran(&stored), Some(DeploymentStatus::Succeeded));
    assert_same_report(&stored, &fresh);
}

#[tokio::test]
async fn a_branch_reset_to_an_older_commit_is_seen_by_the_slow_checks() {
    // `main` is reset two commits back and nothing is pushed on top: the
    // `exclude=` walk lists nothing, as for a branch that did not move.
    let (server, live) = Live::start(&[], PageSizes::default()).await;
    let slow_now = || slow_every_sync(&server);
    let mut store = store();
    sync_delivery(&mut store, &slow_now(), window())
        .await
        .expect("first sync");
    let before = load(&store).commits.len();
    live.repo("web", |r| {
        let gone: Vec<Value> = r.commits.drain(..2).collect();
        r.orphans.extend(gone);
    });
    // The default source does not look (its slow checks ran at the first sync).
    let quiet = sync_delivery(&mut store, &source_for(&server, &["web"]), window())
        .await
        .expect("quiet sync");
    assert_eq!(load(&store).commits.len(), before, "{quiet:?}");
    // The slow checks read the branch head, see it moved back, and read the
    // repository again: the store equals a fresh collection.
    read_again_whole(&store, &slow_now(), "with no new commit").await;
    sync_delivery(&mut store, &slow_now(), window())
        .await
        .expect("sync");
    let fresh = slow_now()
        .collect(&CollectRequest::new(window()))
        .await
        .expect("fresh");
    let stored = load(&store);
    let shas = |d: &dora_core::Dataset| {
        let mut v: Vec<String> = d.commits.iter().map(|c| c.sha.clone()).collect();
        v.sort();
        v
    };
    // The two commits and the branch sides only they reached are gone.
    assert_eq!(shas(&stored), shas(&fresh));
    assert!(stored.commits.len() <= before - 2);
    // The report is a fresh collection's. (The store keeps the branch
    // commits it had read for #47, whose merge commit the reset took away; a
    // fresh collection does not read them: neither uses them.)
    let report =
        |d: &dora_core::Dataset| dora_core::compute_at(d, &config(), window().end).to_json();
    assert_eq!(report(&stored), report(&fresh));
}

/// A source for `acme/web` whose slow checks (branching model, dormant
/// planned deployments, branch head) run on every sync.
fn slow_every_sync(server: &MockServer) -> Bitbucket {
    Bitbucket::builder("acme")
        .with_repos(["web"])
        .with_base_url(format!("{}/2.0", server.uri()))
        .with_basic_auth(EMAIL, TOKEN)
        .with_slow_check_interval(std::time::Duration::ZERO)
        .build()
        .expect("source")
}

/// The next sync of `acme/web` from the store's cursor reads the repository
/// again whole, saying why (`why` is part of the warning).
async fn read_again_whole(store: &Store, source: &Bitbucket, why: &str) {
    let cursor = store
        .cursor("bitbucket", "acme/web")
        .expect("cursor")
        .expect("stored");
    let (delta, stats) = source
        .sync_scope_with_stats("acme/web", window(), Some(&cursor))
        .await
        .expect("the sync");
    assert!(
        stats
            .warnings
            .iter()
            .any(|w| w.contains("history rewritten") && w.contains(why)),
        "{:?}",
        stats.warnings
    );
    assert_eq!(delta.data.collection.rewritten, ["web"]);
}
