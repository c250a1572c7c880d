//! `Bitbucket::inventory` against a local HTTP server (wiremock): a repository
//! whose pipelines run on the production branch with no deployment
//! environment, a gitflow repository whose branching model's production branch
//! is not the main branch and whose `/pipelines` answers 403, and the request
//! budget (≤ 8 per repository, all GET).

use chrono::{TimeZone, Utc};
use dora_bitbucket::Bitbucket;
use dora_bitbucket::inventory::{MergeStrategies, finding_codes};
use dora_core::{Config, DiagnosticSeverity, TimeRange};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn page(values: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"pagelen": 100, "page": 1, "values": values}))
}

fn window() -> TimeRange {
    TimeRange::new(
        Utc.with_ymd_and_hms(2026, 9, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap(),
    )
}

async fn get(server: &MockServer, p: &str, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(response)
        .mount(server)
        .await;
}

fn pipeline(n: u64, branch: &str, at: &str) -> Value {
    json!({"type": "pipeline", "build_number": n, "created_on": at,
           "target": {"type": "pipeline_ref_target", "ref_type": "branch", "ref_name": branch}})
}

fn commit(hash: &str, parents: &[&str]) -> Value {
    json!({"hash": hash, "parents": parents.iter().map(|p| json!({"hash": p})).collect::<Vec<_>>(),
           "author": {"raw": "Jane Doe <jane@example.com>", "user": {"type": "user", "display_name": "Jane Doe"}}})
}

async fn workspace() -> MockServer {
    let server = MockServer::start().await;
    get(
        &server,
        "/2.0/repositories/acme",
        page(json!([
            {"slug": "ci-only", "full_name": "acme/ci-only", "mainbranch": {"name": "main"}},
            {"slug": "gitflow", "full_name": "acme/gitflow", "mainbranch": {"name": "develop"}},
        ])),
    )
    .await;

    // ci-only: pipelines on main, no deployment environment.
    let r = "/2.0/repositories/acme/ci-only";
    get(&server, &format!("{r}/environments"), page(json!([]))).await;
    get(&server, &format!("{r}/deployments"), page(json!([]))).await;
    get(
        &server,
        &format!("{r}/branching-model"),
        ResponseTemplate::new(200).set_body_json(json!({
            "type": "branching_model",
            "development": {"name": "main", "use_mainbranch": true, "branch": {"type": "branch", "name": "main"}},
            "branch_types": [{"kind": "feature", "prefix": "feature/"}]
        })),
    )
    .await;
    get(
        &server,
        &format!("{r}/pullrequests"),
        page(json!([
            {"author": {"type": "user", "display_name": "Jane Doe"},
             "source": {"commit": {"hash": "f1f1f1f1f1f1"}},
             "merge_commit": {"hash": "aaaaaaaaaaaa"},
             "links": {"html": {"href": "https://bitbucket.org/acme/ci-only/pull-requests/2"}}},
            {"author": {"type": "app_user", "display_name": "Renovate Bot"},
             "source": {"commit": {"hash": "bbbbbbbbbbbb"}},
             "merge_commit": {"hash": "bbbbbbbbbbbb"},
             "links": {"html": {"href": "https://bitbucket.org/acme/ci-only/pull-requests/1"}}},
        ])),
    )
    .await;
    get(
        &server,
        &format!("{r}/commits/main"),
        page(json!([
            commit("aaaaaaaaaaaa1111", &["cccc", "f1f1f1f1f1f1"]),
            commit("bbbbbbbbbbbb2222", &["cccc"]),
        ])),
    )
    .await;
    get(
        &server,
        &format!("{r}/pipelines"),
        page(json!([
            pipeline(12, "main", "2026-09-20T10:00:00.000000+00:00"),
            pipeline(11, "feature/x", "2026-09-19T10:00:00.000000+00:00"),
            pipeline(10, "main", "2026-09-18T10:00:00.000000+00:00"),
            pipeline(9, "main", "2026-08-18T10:00:00.000000+00:00"),
        ])),
    )
    .await;

    // gitflow: production branch `main` while the main branch is `develop`;
    // the token cannot read pipelines.
    let r = "/2.0/repositories/acme/gitflow";
    get(
        &server,
        &format!("{r}/environments"),
        page(json!([
            {"uuid": "{p}", "name": "prod", "environment_type": {"name": "Production"}},
            {"uuid": "{s}", "name": "staging", "environment_type": {"name": "Staging"}},
        ])),
    )
    .await;
    get(
        &server,
        &format!("{r}/deployments"),
        page(json!([
            {"uuid": "{d2}", "environment": {"uuid": "{p}"},
             "state": {"name": "COMPLETED", "status": {"name": "FAILED"},
                       "started_on": "2026-09-10T10:00:00Z", "completed_on": "2026-09-10T10:05:00Z"},
             "release": {"commit": {"hash": "dddd"}}},
            {"uuid": "{d1}", "environment": {"uuid": "{p}"},
             "state": {"name": "COMPLETED", "status": {"name": "SUCCESSFUL"},
                       "started_on": "2026-09-05T10:00:00Z", "completed_on": "2026-09-05T10:05:00Z"},
             "release": {"commit": {"hash": "eeee"}}},
            {"uuid": "{d0}", "environment": {"uuid": "{s}"},
             "state": {"name": "COMPLETED", "status": {"name": "SUCCESSFUL"},
                       "started_on": "2026-09-04T10:00:00Z", "completed_on": "2026-09-04T10:05:00Z"},
             "release": {"commit": {"hash": "eeee"}}},
            {"uuid": "{old}", "environment": {"uuid": "{p}"},
             "state": {"name": "COMPLETED", "status": {"name": "SUCCESSFUL"},
                       "started_on": "2026-06-04T10:00:00Z", "completed_on": "2026-06-04T10:05:00Z"},
             "release": {"commit": {"hash": "ffff"}}},
        ])),
    )
    .await;
    get(
        &server,
        &format!("{r}/branching-model"),
        ResponseTemplate::new(200).set_body_json(json!({
            "type": "branching_model",
            "development": {"name": "develop", "use_mainbranch": true, "branch": {"type": "branch", "name": "develop"}},
            "production": {"name": "main", "use_mainbranch": false, "branch": {"type": "branch", "name": "main"}},
            "branch_types": [{"kind": "release", "prefix": "release/"}, {"kind": "hotfix", "prefix": "hotfix/"}]
        })),
    )
    .await;
    get(
        &server,
        &format!("{r}/pullrequests"),
        page(json!([
            {"author": {"type": "user", "display_name": "Sam Lee"},
             "source": {"commit": {"hash": "1234567890ab"}},
             "merge_commit": {"hash": "9999999999aa"}},
        ])),
    )
    .await;
    get(
        &server,
        &format!("{r}/commits/main"),
        page(json!([commit("9999999999aa0000", &["8888"])])),
    )
    .await;
    get(
        &server,
        &format!("{r}/pipelines"),
        ResponseTemplate::new(403).set_body_json(json!({"type": "error", "error": {"message": "Your credentials lack one or more required privilege scopes."}})),
    )
    .await;
    server
}

fn source(server: &MockServer) -> Bitbucket {
    Bitbucket::builder("acme")
        .with_base_url(format!("{}/2.0", server.uri()))
        .with_bearer("inventory-test-token")
        .build()
        .expect("source")
}

#[tokio::test]
async fn inventory_of_a_workspace_reports_what_to_fix_within_the_budget() {
    let server = workspace().await;
    let inv = source(&server)
        .inventory(window(), &Config::default())
        .await
        .expect("inventory");
    assert_eq!(inv.repositories.len(), 2);

    // ci-only: pipelines on main, no deployment environment.
    let ci = &inv.repositories[0];
    assert_eq!(ci.slug, "ci-only");
    assert!(ci.environments.is_empty());
    let runs = ci.pipelines.as_ref().expect("runs on main");
    assert_eq!((runs.runs, runs.branch.as_str()), (2, "main"));
    assert_eq!(
        runs.latest_url.as_deref(),
        Some("https://bitbucket.org/acme/ci-only/addon/pipelines/home#!/results/12")
    );
    assert_eq!(
        ci.merge_strategies,
        MergeStrategies {
            merge_commit: 1,
            fast_forward: 1,
            ..MergeStrategies::default()
        }
    );
    assert_eq!(ci.bots, ["Renovate Bot"]);
    let codes = |slug: &str| -> Vec<&str> {
        inv.findings
            .iter()
            .filter(|f| f.repository.as_deref() == Some(slug))
            .map(|f| f.code.as_str())
            .collect()
    };
    let ci_codes = codes("ci-only");
    assert!(
        ci_codes.contains(&"pipelines_without_deployments"),
        "{ci_codes:?}"
    );
    assert!(
        ci_codes.contains(&"no_production_environment"),
        "{ci_codes:?}"
    );
    assert!(ci_codes.contains(&finding_codes::NO_PRODUCTION_BRANCH));
    assert!(ci_codes.contains(&finding_codes::BOT_ACCOUNTS));

    // gitflow: production branch `main`, not the main branch `develop`.
    let gf = &inv.repositories[1];
    let model = gf.branching_model.as_ref().expect("model");
    assert_eq!(model.production.as_deref(), Some("main"));
    assert_eq!(model.development.as_deref(), Some("develop"));
    assert_eq!(gf.main_branch.as_deref(), Some("develop"));
    assert_eq!(
        gf.merge_strategies.squash, 1,
        "read on the production branch"
    );
    let counts: BTreeMap<(String, String), u32> = gf
        .deployments
        .iter()
        .map(|d| ((d.environment.clone(), d.status.clone()), d.count))
        .collect();
    assert_eq!(
        counts,
        BTreeMap::from([
            (("prod".into(), "failed".into()), 1),
            (("prod".into(), "succeeded".into()), 1),
            (("staging".into(), "succeeded".into()), 1),
        ]),
        "the June deployment is outside the window"
    );
    // The 403 on /pipelines is a finding naming the scope, not a failure.
    assert_eq!(gf.forbidden.len(), 1);
    assert_eq!(gf.forbidden[0].endpoint, "pipelines");
    assert_eq!(gf.forbidden[0].scope, "read:pipeline:bitbucket");
    let missing = inv
        .findings
        .iter()
        .find(|f| f.code == finding_codes::MISSING_SCOPE)
        .expect("missing scope");
    assert_eq!(missing.repository.as_deref(), Some("gitflow"));
    assert_eq!(missing.severity, DiagnosticSeverity::Error);
    assert!(
        missing.fix.contains("read:pipeline:bitbucket"),
        "{}",
        missing.fix
    );
    let gf_codes = codes("gitflow");
    assert!(gf_codes.contains(&finding_codes::PRODUCTION_BRANCH_NOT_MAIN));
    assert!(!gf_codes.contains(&"no_production_environment"));
    for f in &inv.findings {
        assert!(!f.fix.is_empty() && !f.fix.contains('\n'), "{f:?}");
    }

    // The budget: ≤ 8 requests per repository, all GET, and the production
    // branch's commits (not the main branch's) were read.
    let requests = server.received_requests().await.expect("recorded");
    let mut per_repo: BTreeMap<String, u64> = BTreeMap::new();
    for r in &requests {
        assert_eq!(r.method.as_str(), "GET", "{}", r.url);
        let segments: Vec<&str> = r.url.path().split('/').collect();
        if let Some(slug) = segments.get(4) {
            *per_repo.entry((*slug).to_owned()).or_default() += 1;
        }
    }
    assert_eq!(per_repo.len(), 2, "{per_repo:?}");
    for (slug, n) in &per_repo {
        assert!(*n <= 8, "{slug}: {n} requests");
    }
    for r in &inv.repositories {
        assert_eq!(Some(&r.requests), per_repo.get(&r.slug), "{}", r.slug);
    }
    assert!(
        requests
            .iter()
            .any(|r| r.url.path() == "/2.0/repositories/acme/gitflow/commits/main")
    );
    // The token never appears in the output.
    assert!(!inv.to_json_pretty().contains("inventory-test-token"));
}

#[tokio::test]
async fn a_repository_given_by_name_costs_one_more_request_and_stays_in_budget() {
    let server = workspace().await;
    get(
        &server,
        "/2.0/repositories/acme/ci-only",
        ResponseTemplate::new(200)
            .set_body_json(json!({"slug": "ci-only", "mainbranch": {"name": "main"}})),
    )
    .await;
    let inv = Bitbucket::builder("acme")
        .with_repo("ci-only")
        .with_base_url(format!("{}/2.0", server.uri()))
        .with_bearer("t")
        .build()
        .expect("source")
        .inventory(window(), &Config::default())
        .await
        .expect("inventory");
    assert_eq!(inv.repositories[0].main_branch.as_deref(), Some("main"));
    assert_eq!(inv.repositories[0].requests, 7);
}

#[tokio::test]
async fn a_401_is_an_error_not_a_finding() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let err = source(&server)
        .inventory(window(), &Config::default())
        .await
        .expect_err("401");
    assert!(!err.to_string().contains("inventory-test-token"));
}
