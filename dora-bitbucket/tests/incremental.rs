//! Incremental sync of the fixture repository into a `dora-store`, against a
//! local server that holds the repository's state and answers like Bitbucket
//! (pagination with `next`, BBQL `updated_on >=`, `exclude=` on commits), so
//! the state can change between syncs.

mod common;

use common::*;
use dora_bitbucket::Bitbucket;
use dora_core::{
    CollectRequest, Config, Dataset, DeliverySource, DeploymentStatus, EventKind,
    IncrementalSource, PullRequestState, compute_at,
};
use dora_http::{InstantSleeper, RetryPolicy};
use dora_store::{Store, SyncError, sync_delivery};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const JANE: &str = "{5a1e0f7c-1111-4c9b-9a38-0c2f0a6b7e01}";
const SAM: &str = "{7b2c9d10-3333-4e2a-b1c4-5d6e7f809a1b}";
const PROD: &str = "{e1a2b3c4-0000-4000-8000-000000000003}";

/// One repository's state, every list newest first.
#[derive(Clone)]
struct Repo {
    repository: Value,
    environments: Vec<Value>,
    deployments: Vec<Value>,
    pull_requests: Vec<Value>,
    activity: Vec<Value>,
    commits: Vec<Value>,
    pr_commits: HashMap<u64, Vec<Value>>,
}

/// Page sizes the server uses (at most the client's `pagelen`).
#[derive(Clone, Copy)]
struct PageSizes {
    deployments: usize,
    pull_requests: usize,
    activity: usize,
    commits: usize,
}

impl Default for PageSizes {
    /// The fixture files' page boundaries.
    fn default() -> Self {
        Self {
            deployments: 8,
            pull_requests: 5,
            activity: 7,
            commits: 5,
        }
    }
}

/// A persistent failure: every request whose path contains `path` (and, when
/// given, asks for `page`) answers 500.
#[derive(Clone)]
struct Fault {
    path: String,
    page: Option<String>,
}

struct World {
    /// The server's address, for `next` links.
    base: String,
    repos: BTreeMap<String, Repo>,
    pages: PageSizes,
    fault: Option<Fault>,
}

#[derive(Clone)]
struct Live(Arc<Mutex<World>>);

fn values(server: &MockServer, files: &[&str]) -> Vec<Value> {
    files
        .iter()
        .flat_map(|f| {
            fixture(server, f)["values"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

impl Live {
    /// A server holding the fixture repository as `acme/web` and, for each
    /// extra slug, a copy of it.
    async fn start(extra: &[&str], pages: PageSizes) -> (MockServer, Live) {
        let server = MockServer::start().await;
        let web = Repo {
            repository: fixture(&server, "repository.json"),
            environments: values(&server, &["environments.json"]),
            deployments: values(&server, &["deployments_1.json", "deployments_2.json"]),
            pull_requests: values(&server, &["pullrequests_1.json", "pullrequests_2.json"]),
            activity: values(
                &server,
                &[
                    "activity_1.json",
                    "activity_2.json",
                    "activity_3.json",
                    "activity_4.json",
                ],
            ),
            commits: values(
                &server,
                &[
                    "commits_main_1.json",
                    "commits_main_2.json",
                    "commits_main_3.json",
                    "commits_main_4.json",
                ],
            ),
            pr_commits: HashMap::from([(47, values(&server, &["pr47_commits.json"]))]),
        };
        let mut repos = BTreeMap::new();
        for slug in extra {
            let mut copy = web.clone();
            copy.repository["slug"] = json!(slug);
            copy.repository["full_name"] = json!(format!("acme/{slug}"));
            repos.insert(slug.to_string(), copy);
        }
        repos.insert("web".into(), web);
        let live = Live(Arc::new(Mutex::new(World {
            base: server.uri(),
            repos,
            pages,
            fault: None,
        })));
        Mock::given(any())
            .respond_with(live.clone())
            .mount(&server)
            .await;
        (server, live)
    }

    fn with<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        f(&mut self.0.lock().expect("world lock"))
    }

    fn repo<R>(&self, slug: &str, f: impl FnOnce(&mut Repo) -> R) -> R {
        self.with(|w| f(w.repos.get_mut(slug).expect("repository")))
    }

    fn fail(&self, fault: Option<Fault>) {
        self.with(|w| w.fault = fault);
    }
}

fn not_found() -> ResponseTemplate {
    ResponseTemplate::new(404)
        .set_body_json(json!({"type": "error", "error": {"message": "Resource not found"}}))
}

fn time_of(v: &Value, field: &str) -> chrono::DateTime<chrono::Utc> {
    at(v[field].as_str().expect("time field"))
}

/// One page of `items` with a `next` link to the following page.
fn page(base: &str, request: &Request, items: &[Value], size: usize) -> ResponseTemplate {
    let param = |k: &str| {
        request
            .url
            .query_pairs()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.into_owned())
    };
    let pagelen: usize = param("pagelen").and_then(|v| v.parse().ok()).unwrap_or(10);
    let size = size.min(pagelen).max(1);
    let number: usize = param("page").and_then(|v| v.parse().ok()).unwrap_or(1);
    let start = (number - 1) * size;
    let slice: Vec<Value> = items.iter().skip(start).take(size).cloned().collect();
    let mut body = json!({"pagelen": size, "page": number, "values": slice});
    if start + size < items.len() {
        let mut next = request.url.clone();
        let base = url::Url::parse(base).expect("server address");
        next.set_host(base.host_str()).expect("host");
        next.set_port(base.port()).expect("port");
        let pairs: Vec<(String, String)> = next
            .query_pairs()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        next.query_pairs_mut()
            .clear()
            .extend_pairs(pairs)
            .append_pair("page", &(number + 1).to_string());
        body["next"] = json!(next.to_string());
    }
    ResponseTemplate::new(200).set_body_json(body)
}

/// Commits of `all` reachable from `from` through their parents.
fn reachable(all: &[Value], from: &str) -> HashSet<String> {
    let by_hash: HashMap<&str, &Value> = all
        .iter()
        .filter_map(|c| Some((c["hash"].as_str()?, c)))
        .collect();
    let mut seen = HashSet::new();
    let mut todo = vec![from.to_string()];
    while let Some(h) = todo.pop() {
        if !seen.insert(h.clone()) {
            continue;
        }
        if let Some(parents) = by_hash
            .get(h.as_str())
            .and_then(|c| c["parents"].as_array())
        {
            todo.extend(
                parents
                    .iter()
                    .filter_map(|p| p["hash"].as_str().map(String::from)),
            );
        }
    }
    seen
}

impl Respond for Live {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let world = self.0.lock().expect("world lock");
        let path = request.url.path().replace("%7B", "{").replace("%7D", "}");
        if let Some(fault) = &world.fault {
            let page = request
                .url
                .query_pairs()
                .find(|(k, _)| k == "page")
                .map(|(_, v)| v.into_owned());
            if path.contains(&fault.path) && (fault.page.is_none() || fault.page == page) {
                return ResponseTemplate::new(500)
                    .set_body_json(json!({"type": "error", "error": {"message": "boom"}}));
            }
        }
        let Some(rest) = path.strip_prefix("/2.0/repositories/acme/") else {
            return not_found();
        };
        let parts: Vec<&str> = rest.split('/').collect();
        let Some(repo) = world.repos.get(parts[0]) else {
            return not_found();
        };
        let sizes = world.pages;
        let param = |k: &str| {
            request
                .url
                .query_pairs()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.into_owned())
        };
        match &parts[1..] {
            [] => ResponseTemplate::new(200).set_body_json(repo.repository.clone()),
            ["environments"] => page(&world.base, request, &repo.environments, 100),
            ["deployments"] => page(&world.base, request, &repo.deployments, sizes.deployments),
            ["deployments", uuid] => match repo.deployments.iter().find(|d| d["uuid"] == *uuid) {
                Some(d) => ResponseTemplate::new(200).set_body_json(d.clone()),
                None => not_found(),
            },
            ["pullrequests"] => {
                let mut prs = repo.pull_requests.clone();
                if let Some(q) = param("q") {
                    let (op, t) = q
                        .trim_start_matches("updated_on")
                        .trim()
                        .split_once(' ')
                        .expect("q = updated_on OP time");
                    let t = at(t.trim().trim_matches('"'));
                    prs.retain(|p| match op {
                        ">=" => time_of(p, "updated_on") >= t,
                        ">" => time_of(p, "updated_on") > t,
                        other => panic!("unexpected BBQL operator {other}"),
                    });
                }
                prs.sort_by_key(|p| std::cmp::Reverse(time_of(p, "updated_on")));
                page(&world.base, request, &prs, sizes.pull_requests)
            }
            ["pullrequests", "activity"] => {
                page(&world.base, request, &repo.activity, sizes.activity)
            }
            ["pullrequests", id, "activity"] => {
                let id: u64 = id.parse().expect("PR id");
                let own: Vec<Value> = repo
                    .activity
                    .iter()
                    .filter(|a| a["pull_request"]["id"] == id)
                    .cloned()
                    .collect();
                page(&world.base, request, &own, 50)
            }
            ["pullrequests", id, "commits"] => {
                let id: u64 = id.parse().expect("PR id");
                match repo.pr_commits.get(&id) {
                    Some(commits) => page(&world.base, request, commits, 100),
                    None => not_found(),
                }
            }
            ["commits", "main"] => {
                let mut commits = repo.commits.clone();
                if let Some(exclude) = param("exclude") {
                    if !commits.iter().any(|c| c["hash"] == exclude.as_str()) {
                        return not_found();
                    }
                    let old = reachable(&repo.commits, &exclude);
                    commits.retain(|c| !old.contains(c["hash"].as_str().unwrap_or_default()));
                }
                page(&world.base, request, &commits, sizes.commits)
            }
            _ => not_found(),
        }
    }
}

fn source_for(server: &MockServer, repos: &[&str]) -> Bitbucket {
    Bitbucket::builder("acme")
        .repos(repos.iter().copied())
        .base_url(format!("{}/2.0", server.uri()))
        .basic_auth(EMAIL, TOKEN)
        .timeout(Duration::from_secs(5))
        .retry(RetryPolicy::default().with_seed(42))
        .configure_http(|http| http.sleeper(InstantSleeper::new()))
        .build()
        .expect("source builds")
}

/// Requests per endpoint among `requests`, labelled like the crate's stats.
fn per_endpoint(requests: &[Request]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for r in requests {
        let path = r.url.path();
        let rest = path.strip_prefix("/2.0/repositories/acme/").unwrap_or(path);
        let parts: Vec<&str> = rest.split('/').skip(1).collect();
        let label = match parts.as_slice() {
            [] => "repository".to_string(),
            ["pullrequests", "activity"] => "pullrequests/activity".into(),
            ["pullrequests", _, tail] => format!("pullrequest/{tail}"),
            ["deployments", _] => "deployment".into(),
            [first, ..] => (*first).to_string(),
        };
        *out.entry(label).or_insert(0) += 1;
    }
    out
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.expect("request log")
}

fn store() -> Store {
    Store::open_in_memory().expect("store")
}

fn config() -> Config {
    Config {
        days: 30,
        until: Some(window().end),
        ..Config::default()
    }
}

/// Everything stored.
fn load(store: &Store) -> Dataset {
    store.load().expect("load")
}

/// The history cut-off of the fixture window: the baseline (#180) minus 14 days.
fn cutoff() -> chrono::DateTime<chrono::Utc> {
    at("2024-02-06T10:05:00Z")
}

/// The stored events equal a fresh collect's, except that the store may also
/// hold production-branch commits older than the history cut-off: a first
/// sync's walk ends at a page boundary past it, and the store keeps them.
fn assert_same_events(stored: &Dataset, fresh: &Dataset) {
    fn sorted<T: Clone, K: Ord>(v: &[T], key: impl Fn(&T) -> K) -> Vec<T> {
        let mut v = v.to_vec();
        v.sort_by_key(key);
        v
    }
    assert_eq!(
        sorted(&stored.deployments, |d| (
            d.repository.clone(),
            d.id.clone()
        )),
        sorted(&fresh.deployments, |d| (d.repository.clone(), d.id.clone()))
    );
    assert_eq!(
        sorted(&stored.pull_requests, |p| (p.repository.clone(), p.id)),
        sorted(&fresh.pull_requests, |p| (p.repository.clone(), p.id))
    );
    let key = |c: &dora_core::Commit| (c.repository.clone(), c.sha.clone());
    let recent: Vec<_> = stored
        .commits
        .iter()
        .filter(|c| fresh.commits.iter().any(|f| key(f) == key(c)) || c.committed_at >= cutoff())
        .cloned()
        .collect();
    assert_eq!(sorted(&recent, key), sorted(&fresh.commits, key));
    assert_eq!(
        sorted(&stored.environments, |e| (
            e.repository.clone(),
            e.name.clone()
        )),
        sorted(&fresh.environments, |e| (
            e.repository.clone(),
            e.name.clone()
        ))
    );
    assert_eq!(
        sorted(&stored.repositories, |r| r.slug.clone()),
        sorted(&fresh.repositories, |r| r.slug.clone())
    );
}

/// The report from the store equals the fresh collect's; only the count of
/// commits in the dataset may differ (older history, see [`assert_same_events`]).
fn assert_same_report(stored: &Dataset, fresh: &Dataset) -> dora_core::Report {
    assert_same_events(stored, fresh);
    let mut from_store = compute_at(stored, &config(), window().end);
    let from_collect = compute_at(fresh, &config(), window().end);
    assert!(from_store.scope.commits >= from_collect.scope.commits);
    from_store.scope.commits = from_collect.scope.commits;
    // The same older history shows in the commit ledger: more fetched, all used.
    let (stored_commits, fresh_commits) = (
        &from_store.accounting.commits,
        &from_collect.accounting.commits,
    );
    assert!(stored_commits.fetched >= fresh_commits.fetched && stored_commits.balances());
    from_store.accounting.commits = from_collect.accounting.commits.clone();
    assert_eq!(from_store, from_collect);
    from_store
}

fn commit(hash: &str, date: &str, parents: &[&str], message: &str) -> Value {
    json!({
        "type": "commit", "hash": hash, "date": date, "message": message,
        "author": {"type": "author", "raw": "Jane Doe <jane@acme.io>",
                   "user": {"type": "user", "display_name": "Jane Doe", "uuid": JANE}},
        "parents": parents.iter().map(|p| json!({"type": "commit", "hash": p})).collect::<Vec<_>>()
    })
}

fn account(uuid: &str) -> Value {
    let name = if uuid == JANE { "Jane Doe" } else { "Sam Lee" };
    json!({"type": "user", "display_name": name, "uuid": uuid})
}

fn update(pr: u64, state: &str, date: &str) -> Value {
    json!({"update": {"state": state, "date": date, "author": account(SAM)},
           "pull_request": {"type": "pullrequest", "id": pr}})
}

fn approval(pr: u64, who: &str, date: &str) -> Value {
    json!({"approval": {"date": date, "user": account(who)},
           "pull_request": {"type": "pullrequest", "id": pr}})
}

fn comment(pr: u64, who: &str, date: &str) -> Value {
    json!({"comment": {"created_on": date, "updated_on": date, "user": account(who), "deleted": false},
           "pull_request": {"type": "pullrequest", "id": pr}})
}

fn deployment(n: u32, env: &str, commit: &str, state: Value) -> Value {
    json!({
        "type": "deployment", "uuid": format!("{{de000000-0000-4000-8000-000000000{n:03}}}"),
        "environment": {"type": "deployment_environment", "uuid": env},
        "release": {"type": "deployment_release", "name": format!("#{n}"), "commit": {"type": "commit", "hash": commit}},
        "state": state
    })
}

fn completed(start: &str, end: &str) -> Value {
    json!({"type": "deployment_state_completed", "name": "COMPLETED",
           "status": {"type": "deployment_state_completed_status_successful", "name": "SUCCESSFUL"},
           "started_on": start, "completed_on": end})
}

const M50: &str = "5000000000000000000000000000000000000050";
const B50: &str = "5a00000000000000000000000000000000000050";
const HEAD47: &str = "4700000000000000000000000000000000000047";

/// A new pull request #50 merged with a merge commit and deployed to
/// production (#196), and the staging deployment #192 completes.
fn ship_pr_50(live: &Live, slug: &str) {
    live.repo(slug, |r| {
        r.commits.insert(
            0,
            commit(B50, "2024-03-24T09:00:00+00:00", &[HEAD47], "Dark mode toggle\n"),
        );
        r.commits.insert(
            0,
            commit(
                M50,
                "2024-03-25T10:00:00+00:00",
                &[HEAD47, B50],
                "Merged in feature/toggle (pull request #50)\n",
            ),
        );
        r.pull_requests.push(json!({
            "type": "pullrequest", "id": 50, "title": "Dark mode toggle", "state": "MERGED",
            "author": account(JANE),
            "source": {"branch": {"name": "feature/toggle"}},
            "destination": {"branch": {"name": "main"}},
            "merge_commit": {"type": "commit", "hash": "500000000000", "date": "2024-03-25T10:00:00+00:00"},
            "created_on": "2024-03-24T08:00:00.000000+00:00",
            "updated_on": "2024-03-25T10:00:01.000000+00:00"
        }));
        for entry in [
            update(50, "OPEN", "2024-03-24T08:00:00.000000+00:00"),
            approval(50, SAM, "2024-03-24T15:00:00.000000+00:00"),
            update(50, "MERGED", "2024-03-25T10:00:00.500000+00:00"),
        ] {
            r.activity.insert(0, entry);
        }
        r.deployments.insert(
            0,
            deployment(
                196,
                PROD,
                M50,
                completed("2024-03-25T11:00:00.00000Z", "2024-03-25T11:05:00.00000Z"),
            ),
        );
        let d192 = r
            .deployments
            .iter_mut()
            .find(|d| d["uuid"] == "{de000000-0000-4000-8000-000000000192}")
            .expect("#192");
        d192["state"] = completed("2024-03-11T11:00:00.11111Z", "2024-03-25T12:00:00.00000Z");
        d192["last_update_time"] = json!("2024-03-25T12:00:00.00000Z");
    });
}

fn dep_id(n: u32) -> String {
    format!("{{de000000-0000-4000-8000-000000000{n:03}}}")
}

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
    assert_eq!(delta.requests, 13);
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
    assert_eq!(first.requests, 13);
    assert_eq!(requests(&server).await.len(), 13);
    let stored = load(&store);
    assert_eq!(stored.deployments.len(), 12);
    assert_eq!(stored.pull_requests.len(), 8);

    let again = sync_delivery(&mut store, &source, window())
        .await
        .expect("second sync");
    let log = requests(&server).await;
    let counts = per_endpoint(&log[13..]);
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
    for scope in ["acme/api", "acme/web"] {
        assert_eq!(
            resumed.cursor("bitbucket", scope).expect("cursor"),
            clean.cursor("bitbucket", scope).expect("cursor"),
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
        assert_eq!(stats.total_requests(), 13, "{cursor}");
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
    assert_eq!(counts.get("deployment"), Some(&2), "#193 and #192: {counts:?}");
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
