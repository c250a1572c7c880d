//! A full sync of the fixture repository `acme/web` from a local server:
//! mapped events field by field, the request budget, and the DORA report.

mod common;

use common::*;
use dora_bitbucket::Bitbucket;
use dora_core::{
    ActorKind, CollectRequest, Config, DeliverySource, DeploymentStatus, EnvironmentKind,
    EventKind, PullRequestState, Signal, compute_at,
};
use wiremock::MockServer;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

async fn synced() -> (MockServer, dora_core::Dataset, dora_bitbucket::SyncStats) {
    let server = MockServer::start().await;
    mount_fixture_repo(&server).await;
    let (data, stats) = source(&server)
        .collect_with_stats(&CollectRequest::new(window()))
        .await
        .expect("sync succeeds");
    (server, data, stats)
}

#[tokio::test]
async fn repository_environments_and_deployments_are_mapped() {
    let (_server, data, stats) = synced().await;
    assert_eq!(data.repositories.len(), 1);
    assert_eq!(data.repositories[0].slug, "web");
    assert_eq!(data.repositories[0].main_branch.as_deref(), Some("main"));

    let kinds: Vec<(&str, EnvironmentKind)> = data
        .environments
        .iter()
        .map(|e| (e.name.as_str(), e.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("Canary", EnvironmentKind::Other),
            ("Staging", EnvironmentKind::Staging),
            ("Test", EnvironmentKind::Test),
            // Named "prod-eu", typed Production: the type decides.
            ("prod-eu", EnvironmentKind::Production),
        ]
    );
    assert!(data.environments.iter().all(|e| e.repository == "web"));

    let dep = |n: u32| {
        let id = format!("{{de000000-0000-4000-8000-000000000{n:03}}}");
        data.deployments.iter().find(|d| d.id == id)
    };
    // #170 is older than the history cut-off and not the baseline; #195 has an
    // unknown state and is skipped with a reason.
    assert!(dep(170).is_none());
    assert!(dep(195).is_none());
    assert!(
        stats
            .skipped
            .iter()
            .any(|s| s.contains("000000000195") && s.contains("QUEUED")),
        "{:?}",
        stats.skipped
    );
    assert_eq!(data.deployments.len(), 12);

    let d186 = dep(186).expect("#186");
    assert_eq!(d186.repository, "web");
    assert_eq!(d186.environment, "prod-eu");
    assert_eq!(d186.environment_kind, EnvironmentKind::Production);
    assert_eq!(d186.commit, "4200000000000000000000000000000000000042");
    assert_eq!(d186.status, DeploymentStatus::Succeeded);
    assert_eq!(d186.started_at, Some(at("2024-03-02T14:45:47.20339Z")));
    assert_eq!(d186.finished_at, Some(at("2024-03-02T14:47:52.307323Z")));

    let d187 = dep(187).expect("#187");
    assert_eq!(d187.status, DeploymentStatus::Failed);
    assert_eq!(d187.finished_at, Some(at("2024-03-05T10:06:55.18038Z")));
    let d188 = dep(188).expect("#188 re-run");
    assert_eq!(
        (d188.status, d188.commit.as_str()),
        (DeploymentStatus::Succeeded, d187.commit.as_str())
    );
    // Swagger-style names are read when the real ones are absent.
    let d190 = dep(190).expect("#190");
    assert_eq!(d190.started_at, Some(at("2024-03-08T11:00:00Z")));
    assert_eq!(d190.finished_at, Some(at("2024-03-08T11:04:00Z")));
    let d192 = dep(192).expect("#192");
    assert_eq!(
        (d192.status, d192.environment_kind),
        (DeploymentStatus::InProgress, EnvironmentKind::Staging)
    );
    assert_eq!(d192.finished_at, None);
    let d193 = dep(193).expect("#193");
    assert_eq!(
        (d193.status, d193.started_at, d193.finished_at),
        (DeploymentStatus::Undeployed, None, None)
    );
    let d194 = dep(194).expect("#194");
    assert_eq!(
        (d194.status, d194.environment_kind),
        (DeploymentStatus::Stopped, EnvironmentKind::Test)
    );
    // The baseline from before the window is there.
    assert_eq!(
        dep(180).expect("baseline").finished_at,
        Some(at("2024-02-20T10:05:00Z"))
    );
}

#[tokio::test]
async fn pull_requests_are_mapped_with_merge_time_and_first_review() {
    let (_server, data, stats) = synced().await;
    let pr = |id: u64| {
        data.pull_requests
            .iter()
            .find(|p| p.id == id)
            .unwrap_or_else(|| panic!("PR #{id}"))
    };
    assert_eq!(data.pull_requests.len(), 8, "#49 has an unknown state");
    assert!(
        stats
            .skipped
            .iter()
            .any(|s| s.contains("#49") && s.contains("DRAFT"))
    );

    let p42 = pr(42);
    assert_eq!(p42.repository, "web");
    assert_eq!(p42.title, "Add checkout retry");
    assert_eq!(p42.author.id, "{5a1e0f7c-1111-4c9b-9a38-0c2f0a6b7e01}");
    assert_eq!(p42.author.display_name, "Jane Doe");
    assert_eq!(p42.author.kind, ActorKind::User);
    assert_eq!(p42.source_branch, "feature/checkout-retry");
    assert_eq!(p42.destination_branch, "main");
    assert_eq!(p42.state, PullRequestState::Merged);
    assert_eq!(p42.created_at, at("2024-03-01T16:00:00Z"));
    // Jane's own comment (17:00) is not a review; Sam's approval is.
    assert_eq!(p42.first_review_at, Some(at("2024-03-02T11:05:00Z")));
    // The MERGED update (14:40:11.6), not merge_commit.date (14:40:11) nor updated_on (15:10).
    assert_eq!(p42.merged_at, Some(at("2024-03-02T14:40:11.600Z")));
    assert_eq!(p42.merge_commit.as_deref(), Some("420000000000"));
    assert!(
        p42.commits.is_empty(),
        "a true merge commit gives the branch through the graph"
    );

    let p43 = pr(43);
    assert_eq!(p43.state, PullRequestState::Declined);
    assert_eq!((p43.merged_at, p43.merge_commit.as_deref()), (None, None));
    assert_eq!(p43.first_review_at, Some(at("2024-03-03T12:00:00Z")));

    // The deleted comment at 11:30 does not count; the change request at 15:00 does.
    assert_eq!(pr(44).first_review_at, Some(at("2024-03-03T15:00:00Z")));
    assert_eq!(pr(44).merged_at, Some(at("2024-03-04T18:00:00Z")));

    let bot = pr(45);
    assert_eq!(bot.author.kind, ActorKind::Bot);
    assert_eq!(bot.author.display_name, "Renovate Bot");
    assert_eq!(bot.first_review_at, None);

    let hotfix = pr(46);
    assert_eq!(hotfix.source_branch, "hotfix/search-timeout");
    assert_eq!(hotfix.first_review_at, Some(at("2024-03-05T13:30:00Z")));

    let squash = pr(47);
    assert_eq!(squash.merged_at, Some(at("2024-03-11T10:00:05Z")));
    assert_eq!(squash.first_review_at, Some(at("2024-03-10T16:00:00Z")));
    assert_eq!(
        squash.commits,
        [
            "1200000000000000000000000000000000000047",
            "1100000000000000000000000000000000000047"
        ]
    );

    let open = pr(48);
    assert_eq!((open.state, open.merged_at), (PullRequestState::Open, None));
    assert_eq!(open.first_review_at, Some(at("2024-03-21T10:00:00Z")));

    // From before the window, kept because it is newer than the cut-off.
    assert_eq!(pr(40).merged_at, Some(at("2024-02-12T10:00:00Z")));
}

#[tokio::test]
async fn commits_cover_the_history_back_to_the_cut_off() {
    let (_server, data, _stats) = synced().await;
    let commit = |sha: &str| data.commits.iter().find(|c| c.sha == sha);
    // 14 production-branch commits (pages 1–3) and the squash-merged PR's 2.
    assert_eq!(data.commits.len(), 16);
    assert!(
        commit("0b0000000000000000000000000000000000000b").is_none(),
        "page 4 is never fetched"
    );

    let merge = commit("4200000000000000000000000000000000000042").expect("m42");
    assert_eq!(merge.repository, "web");
    assert_eq!(
        merge.parents,
        [
            "4000000000000000000000000000000000000040",
            "a200000000000000000000000000000000000042"
        ]
    );
    assert_eq!(merge.authored_at, at("2024-03-02T14:40:11Z"));
    assert_eq!(merge.committed_at, merge.authored_at);
    assert!(
        merge
            .message
            .starts_with("Merged in feature/checkout-retry (pull request #42)\n")
    );
    let author = merge.author.as_ref().expect("author");
    assert_eq!(
        (author.id.as_str(), author.display_name.as_str()),
        ("{7b2c9d10-3333-4e2a-b1c4-5d6e7f809a1b}", "Sam Lee")
    );

    let revert = commit("e100000000000000000000000000000000000044").expect("revert");
    assert!(
        revert
            .message
            .contains("This reverts commit 4400000000000000000000000000000000000044")
    );

    // No Bitbucket user behind the git author: id from the email.
    let ci = commit("c000000000000000000000000000000000000000")
        .expect("c0")
        .author
        .clone()
        .expect("author");
    assert_eq!(
        (ci.id.as_str(), ci.display_name.as_str()),
        ("ci@acme.io", "Deploy Robot")
    );

    let l1 = commit("1100000000000000000000000000000000000047").expect("PR commit");
    assert_eq!(l1.parents, ["e100000000000000000000000000000000000044"]);
}

#[tokio::test]
async fn request_budget_per_endpoint() {
    let (server, data, stats) = synced().await;
    let expected = [
        ("repository", 1),
        ("environments", 1),
        ("deployments", 2),
        ("pullrequests", 2),
        ("pullrequests/activity", 3),
        ("commits", 3),
        ("pullrequest/commits", 1),
        ("pullrequest/activity", 0),
        ("branching-model", 1),
    ];
    for (endpoint, n) in expected {
        assert_eq!(stats.requests(endpoint), n, "{endpoint}");
    }
    assert_eq!(stats.total_requests(), 14);
    assert_eq!(stats.merged_pull_requests, 6);
    let per_pr = stats.requests_per_merged_pr().expect("merged PRs");
    assert!((per_pr - 14.0 / 6.0).abs() < 1e-9, "{per_pr}");
    assert_eq!(
        server.received_requests().await.expect("recorded").len(),
        14
    );
    assert!(stats.http.rate_limit_waits.is_empty());
    assert_eq!(
        (
            stats.repositories,
            stats.pull_requests,
            stats.deployments,
            stats.commits
        ),
        (1, 8, 12, 16)
    );
    assert_eq!(data.commits.len(), stats.commits);
    let text = stats.to_string();
    assert!(
        text.contains("2.33 requests per merged pull request"),
        "{text}"
    );
    server.verify().await;
}

#[tokio::test]
async fn report_matches_hand_computed_values() {
    let (_server, data, _stats) = synced().await;
    let config = Config {
        days: 30,
        until: Some(window().end),
        ..Config::default()
    };
    let report = compute_at(&data, &config, window().end);
    let m = &report.metrics;
    let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-6);

    // Deployment frequency: #186, #188, #189, #190, #191 on 4 distinct days.
    let df = &m.deployment_frequency;
    assert_eq!(df.count, 5);
    assert_eq!(df.deploy_days, 4);
    assert!(
        (df.per_week - 5.0 / (30.0 / 7.0)).abs() < 1e-9,
        "{}",
        df.per_week
    );

    // Lead time: #46 5700 s, #47 97500 s, #42 107272.307 s, #44 177600 s;
    // the bot PR is excluded and #40 shipped with the baseline.
    let lt = &m.lead_time;
    assert_eq!(lt.count, 4);
    assert!(
        close(lt.median_seconds, (97_500.0 + 107_272.307) / 2.0),
        "{:?}",
        lt.median_seconds
    );
    assert!(
        close(
            lt.mean_seconds,
            (5_700.0 + 97_500.0 + 107_272.307 + 177_600.0) / 4.0
        ),
        "{:?}",
        lt.mean_seconds
    );
    assert!(close(lt.p90_seconds, 177_600.0), "{:?}", lt.p90_seconds);
    assert!(close(
        lt.phases.coding.median_seconds,
        (7_200.0 + 18_000.0) / 2.0
    ));
    assert!(close(
        lt.phases.pickup.median_seconds,
        (7_200.0 + 14_400.0) / 2.0
    ));
    assert!(
        close(lt.phases.review.median_seconds, (12_911.6 + 64_805.0) / 2.0),
        "{:?}",
        lt.phases.review
    );
    assert!(
        close(lt.phases.deploy.median_seconds, (2_100.0 + 7_495.0) / 2.0),
        "{:?}",
        lt.phases.deploy
    );
    assert_eq!(lt.unreviewed, 0);
    assert_eq!(lt.excluded.bots, 1);
    let pr42 = report
        .changes
        .iter()
        .find(|c| c.pull_request == 42)
        .expect("#42 row");
    assert_eq!(pr42.first_commit_at, at("2024-03-01T09:00:00Z"));
    assert!((pr42.lead_time_seconds - 107_272.307).abs() < 1e-6);
    let pr47 = report
        .changes
        .iter()
        .find(|c| c.pull_request == 47)
        .expect("#47 row");
    assert_eq!(
        pr47.first_commit_at,
        at("2024-03-10T09:00:00Z"),
        "from the squash-merged PR's own commits"
    );

    // Change failure rate: 6 attempts; #187 failed, #188 was reverted (r1)
    // and needed a hotfix (#46).
    let cfr = &m.change_failure_rate;
    assert_eq!(cfr.deployments, 6);
    assert_eq!(cfr.failed, 2);
    assert!(close(cfr.rate, 2.0 / 6.0));
    assert_eq!(
        (
            cfr.by_signal.failed_deployment,
            cfr.by_signal.revert,
            cfr.by_signal.hotfix,
            cfr.by_signal.rollback,
            cfr.by_signal.incident
        ),
        (1, 1, 1, 0, 0)
    );
    let row = |n: u32| {
        let id = format!("{{de000000-0000-4000-8000-000000000{n:03}}}");
        report
            .deployments
            .iter()
            .find(|d| d.id == id)
            .unwrap_or_else(|| panic!("row {n}"))
    };
    let mut signals: Vec<Signal> = row(188).failures.iter().map(|f| f.signal).collect();
    signals.sort();
    assert_eq!(signals, [Signal::Revert, Signal::Hotfix]);
    assert_eq!(row(187).failures[0].signal, Signal::FailedDeployment);

    // Recovery: #187 → #188 (10:20:00 − 10:06:55.18038, whole milliseconds:
    // 784.819 s); #188 → the hotfix shipped by #189 (15300 s), earlier than the
    // revert shipped by #190.
    let rec = &m.recovery_time.deployments;
    assert_eq!(rec.count, 2);
    assert!(
        close(rec.median_seconds, (784.819 + 15_300.0) / 2.0),
        "{:?}",
        rec.median_seconds
    );
    assert_eq!(m.recovery_time.incidents.count, 0);

    // Rework: #189 shipped the hotfix, #190 the revert.
    assert_eq!((m.rework_rate.deployments, m.rework_rate.rework), (6, 2));
    assert!(row(189).rework && row(190).rework);
    assert_eq!(report.scope.repositories, ["web"]);
}

#[tokio::test]
async fn the_trait_returns_the_same_dataset() {
    let server = MockServer::start().await;
    mount_fixture_repo(&server).await;
    let source = source(&server);
    let via_trait = source
        .collect(&CollectRequest::new(window()))
        .await
        .expect("collect");
    let (direct, _) = source
        .collect_with_stats(&CollectRequest::new(window()))
        .await
        .expect("collect");
    assert_eq!(via_trait, direct);
    assert_eq!(DeliverySource::name(&source), "bitbucket");
}

#[tokio::test]
async fn falls_back_to_per_pr_activity_when_the_repository_stream_is_missing() {
    let server = MockServer::start().await;
    // The repository-wide stream 404s; each PR's activity is served from the fixture entries.
    Mock::given(path("/2.0/repositories/acme/web/pullrequests/activity"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(serde_json::json!({"type":"error","error":{"message":"Not found"}})),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    let mut entries = Vec::new();
    for file in ["activity_1.json", "activity_2.json", "activity_3.json"] {
        if let Some(values) = fixture(&server, file)["values"].as_array() {
            entries.extend(values.clone());
        }
    }
    for id in [40u64, 42, 44, 45, 46, 47] {
        let values: Vec<_> = entries
            .iter()
            .filter(|e| e["pull_request"]["id"] == id)
            .cloned()
            .collect();
        Mock::given(method("GET"))
            .and(path(format!(
                "/2.0/repositories/acme/web/pullrequests/{id}/activity"
            )))
            .and(query_param("pagelen", "50"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"pagelen": 50, "values": values})),
            )
            .expect(1)
            .with_priority(1)
            .mount(&server)
            .await;
    }
    mount_fixture_repo(&server).await;
    let (data, stats) = source(&server)
        .collect_with_stats(&CollectRequest::new(window()))
        .await
        .expect("sync");
    assert_eq!(
        stats.requests("pullrequest/activity"),
        6,
        "one per merged PR"
    );
    assert!(
        stats
            .warnings
            .iter()
            .any(|w| w.contains("per pull request")),
        "{:?}",
        stats.warnings
    );
    let p42 = data.pull_requests.iter().find(|p| p.id == 42).expect("#42");
    assert_eq!(p42.merged_at, Some(at("2024-03-02T14:40:11.600Z")));
    assert_eq!(p42.first_review_at, Some(at("2024-03-02T11:05:00Z")));
    server.verify().await;
}

#[tokio::test]
async fn a_whole_workspace_is_listed_and_filtered() {
    let server = MockServer::start().await;
    let base = format!("{}/2.0", server.uri());
    Mock::given(path("/2.0/repositories/acme"))
        .and(query_param("pagelen", "100"))
        .and(query_param("q", "project.key = \"WEB\""))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "pagelen": 100,
            "values": [
                {"type": "repository", "slug": "web", "full_name": "acme/web", "mainbranch": {"type": "branch", "name": "main"}},
                {"type": "repository", "slug": "legacy", "full_name": "acme/legacy", "mainbranch": {"name": "master"}}
            ],
            "next": format!("{base}/repositories/acme?pagelen=100&page=2")
        })))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/2.0/repositories/acme"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "pagelen": 100,
            "values": [{"type": "repository", "full_name": "acme/empty", "mainbranch": null}]
        })))
        .with_priority(1)
        .mount(&server)
        .await;
    // The empty repository has nothing at all.
    for tail in [
        "environments",
        "deployments",
        "pullrequests",
        "pullrequests/activity",
    ] {
        Mock::given(path(format!("/2.0/repositories/acme/empty/{tail}")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"pagelen": 50, "values": []})),
            )
            .with_priority(1)
            .mount(&server)
            .await;
    }
    mount_fixture_repo(&server).await;
    let source = Bitbucket::builder("acme")
        .with_base_url(format!("{}/2.0", server.uri()))
        .with_bearer(TOKEN)
        .with_repo_query("project.key = \"WEB\"")
        .with_repo_filter(|slug| slug != "legacy")
        .with_http(|h| h.with_sleeper(dora_http::InstantSleeper::new()))
        .build()
        .expect("source");
    let (data, stats) = source
        .collect_with_stats(&CollectRequest::new(window()))
        .await
        .expect("sync");
    let slugs: Vec<_> = data
        .repositories
        .iter()
        .map(|r| (r.slug.as_str(), r.main_branch.as_deref()))
        .collect();
    assert_eq!(slugs, [("empty", None), ("web", Some("main"))]);
    assert_eq!(stats.requests("repositories"), 2);
    assert_eq!(
        stats.requests("repository"),
        0,
        "the listing gave the main branch"
    );
    assert!(
        stats.warnings.iter().any(|w| w.contains("acme/empty")),
        "{:?}",
        stats.warnings
    );
    assert_eq!(data.pull_requests.len(), 8);
    assert!(
        !server
            .received_requests()
            .await
            .expect("recorded")
            .iter()
            .any(|r| r.url.path().contains("legacy"))
    );
}

#[test]
fn credentials_from_the_environment() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    let basic = Bitbucket::builder("acme")
        .with_credentials_from(env(&[
            ("BITBUCKET_EMAIL", "me@acme.io"),
            ("BITBUCKET_API_TOKEN", "tok-1234567"),
        ]))
        .build()
        .expect("basic");
    let text = format!("{basic:?}");
    assert!(
        text.contains("Basic") && text.contains("me@acme.io") && !text.contains("tok-1234567"),
        "{text}"
    );
    let bearer = Bitbucket::builder("acme")
        .with_credentials_from(env(&[("BITBUCKET_ACCESS_TOKEN", "tok-7654321")]))
        .build()
        .expect("bearer");
    let text = format!("{bearer:?}");
    assert!(
        text.contains("Bearer(***)") && !text.contains("tok-7654321"),
        "{text}"
    );
    let missing_email = Bitbucket::builder("acme")
        .with_credentials_from(env(&[("BITBUCKET_API_TOKEN", "tok-1234567")]))
        .build()
        .expect_err("needs the email");
    assert!(
        missing_email.to_string().contains("BITBUCKET_EMAIL"),
        "{missing_email}"
    );
    assert!(!missing_email.to_string().contains("tok-1234567"));
    let none = Bitbucket::builder("acme")
        .with_credentials_from(env(&[]))
        .build()
        .expect_err("no credentials");
    assert!(
        none.to_string().contains("BITBUCKET_ACCESS_TOKEN"),
        "{none}"
    );
    let bad_slug = Bitbucket::builder("acme")
        .with_repo("acme/web")
        .build()
        .expect_err("slug only");
    assert!(bad_slug.to_string().contains("acme/web"), "{bad_slug}");
}

#[tokio::test]
async fn a_baseline_commit_off_the_main_branch_bounds_the_walk_and_warns() {
    let server = MockServer::start().await;
    // The baseline deployment (#180) shipped a commit that is not on `main`.
    let mut page = fixture(&server, "deployments_2.json");
    let values = page["values"].as_array_mut().expect("values");
    let baseline = values
        .iter_mut()
        .find(|d| d["uuid"] == "{de000000-0000-4000-8000-000000000180}")
        .expect("#180");
    baseline["release"]["commit"]["hash"] =
        serde_json::json!("fe00000000000000000000000000000000000180");
    Mock::given(path("/2.0/repositories/acme/web/deployments"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page))
        .with_priority(1)
        .mount(&server)
        .await;
    // Looking for it, the walk goes on past the cut-off, to the end of history here.
    Mock::given(path("/2.0/repositories/acme/web/commits/main"))
        .and(query_param("page", "ac3041"))
        .respond_with(json(&server, "commits_main_4.json"))
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_fixture_repo(&server).await;
    let (data, stats) = source(&server)
        .collect_with_stats(&CollectRequest::new(window()))
        .await
        .expect("sync");
    assert_eq!(stats.requests("commits"), 4);
    assert!(
        stats
            .warnings
            .iter()
            .any(|w| w.contains("fe00000000000000000000000000000000000180")),
        "{:?}",
        stats.warnings
    );
    assert!(
        data.commits
            .iter()
            .any(|c| c.sha == "0b0000000000000000000000000000000000000b")
    );
}

#[tokio::test]
async fn skipped_items_are_noted_in_the_dataset_with_a_reason() {
    let (_server, data, stats) = synced().await;
    let notes = &data.collection.skipped;
    assert_eq!(notes.len(), stats.skipped.len(), "{notes:?}");
    let found = |kind: EventKind, id: &str| {
        notes
            .iter()
            .find(|s| s.kind == kind && s.id.as_deref() == Some(id))
            .unwrap_or_else(|| panic!("{kind} {id} in {notes:?}"))
    };
    let queued = found(
        EventKind::Deployment,
        "{de000000-0000-4000-8000-000000000195}",
    );
    assert_eq!(queued.reason, "unknown_deployment_state");
    assert_eq!(queued.scope.as_deref(), Some("web"));
    assert!(queued.detail.contains("QUEUED"), "{}", queued.detail);
    let draft = found(EventKind::PullRequest, "49");
    assert_eq!(draft.reason, "unknown_pull_request_state");
    assert!(data.collection.history_truncated.is_empty());
}

#[tokio::test]
async fn unreadable_deployments_and_commits_are_skipped_with_a_reason() {
    let server = MockServer::start().await;
    // #194 is COMPLETED without a status; commit d1 has no date.
    let mut deployments = fixture(&server, "deployments_1.json");
    for d in deployments["values"].as_array_mut().expect("values") {
        if d["uuid"] == "{de000000-0000-4000-8000-000000000194}" {
            d["state"].as_object_mut().expect("state").remove("status");
        }
    }
    Mock::given(path("/2.0/repositories/acme/web/deployments"))
        .and(wiremock::matchers::query_param_is_missing("page"))
        .respond_with(ResponseTemplate::new(200).set_body_json(deployments))
        .with_priority(1)
        .mount(&server)
        .await;
    let mut commits = fixture(&server, "commits_main_1.json");
    for c in commits["values"].as_array_mut().expect("values") {
        if c["hash"] == "d100000000000000000000000000000000000046" {
            c["date"] = serde_json::Value::Null;
        }
    }
    Mock::given(path("/2.0/repositories/acme/web/commits/main"))
        .and(wiremock::matchers::query_param_is_missing("page"))
        .respond_with(ResponseTemplate::new(200).set_body_json(commits))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_fixture_repo(&server).await;
    let (data, stats) = source(&server)
        .collect_with_stats(&CollectRequest::new(window()))
        .await
        .expect("sync");
    let notes = &data.collection.skipped;
    let status = notes
        .iter()
        .find(|s| s.id.as_deref() == Some("{de000000-0000-4000-8000-000000000194}"))
        .unwrap_or_else(|| panic!("{notes:?}"));
    assert_eq!(
        (status.kind, status.reason.as_str()),
        (EventKind::Deployment, "missing_status")
    );
    assert!(
        data.deployments
            .iter()
            .all(|d| d.id != "{de000000-0000-4000-8000-000000000194}")
    );
    let undated = notes
        .iter()
        .find(|s| s.kind == EventKind::Commit)
        .unwrap_or_else(|| panic!("{notes:?}"));
    assert_eq!(
        (undated.id.as_deref(), undated.reason.as_str()),
        (
            Some("d100000000000000000000000000000000000046"),
            "missing_timestamp"
        )
    );
    assert!(
        stats
            .skipped
            .iter()
            .any(|s| s.contains("d100000000000000000000000000000000000046")),
        "{:?}",
        stats.skipped
    );
}

#[tokio::test]
async fn items_repeated_across_pages_count_once() {
    let server = MockServer::start().await;
    // A deployment and a pull request landed while the lists were read: the
    // last item of each first page is listed again at the top of page 2.
    let deployments_1 = fixture(&server, "deployments_1.json");
    let mut deployments_2 = fixture(&server, "deployments_2.json");
    let repeated = deployments_1["values"]
        .as_array()
        .and_then(|v| v.last())
        .cloned()
        .expect("a deployment");
    deployments_2["values"]
        .as_array_mut()
        .expect("values")
        .insert(0, repeated);
    Mock::given(path("/2.0/repositories/acme/web/deployments"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(deployments_2))
        .with_priority(1)
        .mount(&server)
        .await;
    let prs_1 = fixture(&server, "pullrequests_1.json");
    let mut prs_2 = fixture(&server, "pullrequests_2.json");
    // #47 is squash merged: its commits are fetched once, not twice.
    let p47 = prs_1["values"]
        .as_array()
        .and_then(|v| v.iter().find(|p| p["id"] == 47))
        .cloned()
        .expect("#47");
    prs_2["values"]
        .as_array_mut()
        .expect("values")
        .insert(0, p47);
    Mock::given(path("/2.0/repositories/acme/web/pullrequests"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(prs_2))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_fixture_repo(&server).await;
    let (data, stats) = source(&server)
        .collect_with_stats(&CollectRequest::new(window()))
        .await
        .expect("sync");
    assert_eq!(data.deployments.len(), 12);
    assert_eq!(data.pull_requests.len(), 8);
    assert_eq!(
        (
            stats.deployments,
            stats.pull_requests,
            stats.merged_pull_requests
        ),
        (12, 8, 6)
    );
    assert_eq!(stats.requests("pullrequest/commits"), 1);
    let p47 = data.pull_requests.iter().find(|p| p.id == 47).expect("#47");
    assert_eq!(p47.commits.len(), 2);
    let mut ids: Vec<&str> = data.deployments.iter().map(|d| d.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 12);
    // The incremental path (a first sync is the full collect of the repository).
    let (delta, stats) = source(&server)
        .sync_scope_with_stats("acme/web", window(), None)
        .await
        .expect("sync");
    assert_eq!(
        (delta.data.deployments.len(), delta.data.pull_requests.len()),
        (12, 8)
    );
    assert_eq!(stats.requests("pullrequest/commits"), 1);
}

#[test]
fn credentials_given_as_values_are_checked_by_the_builder() {
    let some = |s: &str| Some(s.to_string());
    let basic = Bitbucket::builder("acme")
        .with_credentials(some("me@acme.io"), some("tok-1234567"), None)
        .build()
        .expect("basic");
    assert!(format!("{basic:?}").contains("Basic"));
    let bearer = Bitbucket::builder("acme")
        .with_credentials(None, None, some("tok-7654321"))
        .build()
        .expect("bearer");
    assert!(format!("{bearer:?}").contains("Bearer(***)"));
    for (email, api_token, access, needle) in [
        (some("me@acme.io"), None, None, "email needs api_token"),
        (None, some("tok"), None, "api_token needs email"),
        (some("me@acme.io"), some("tok"), some("tok2"), "not both"),
        (None, some("tok"), some("tok2"), "not both"),
    ] {
        let e = Bitbucket::builder("acme")
            .with_credentials(email, api_token, access)
            .build()
            .expect_err(needle);
        assert!(e.to_string().contains(needle), "{e}");
        assert!(!e.to_string().contains("tok2"), "{e}");
    }
}
