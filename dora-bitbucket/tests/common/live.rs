//! A live local Bitbucket for incremental-sync tests: a server on 127.0.0.1
//! that holds repositories' state and answers like Bitbucket (pagination
//! with `next`, BBQL `updated_on >=`, `exclude=` on commits), so the state can
//! change between syncs; plus builders of wire items and comparisons of a
//! store's data with a fresh collection's.
#![allow(dead_code)] // each test binary uses a different subset

use crate::common::*;
use dora_bitbucket::Bitbucket;
use dora_core::{Config, Dataset, compute_at};
use dora_http::{InstantSleeper, RetryPolicy};
use dora_store::Store;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const JANE: &str = "{5a1e0f7c-1111-4c9b-9a38-0c2f0a6b7e01}";
pub const SAM: &str = "{7b2c9d10-3333-4e2a-b1c4-5d6e7f809a1b}";
pub const PROD: &str = "{e1a2b3c4-0000-4000-8000-000000000003}";

/// One repository's state, every list newest first.
#[derive(Clone)]
pub struct Repo {
    pub repository: Value,
    pub environments: Vec<Value>,
    pub deployments: Vec<Value>,
    pub pull_requests: Vec<Value>,
    pub activity: Vec<Value>,
    pub commits: Vec<Value>,
    pub pr_commits: HashMap<u64, Vec<Value>>,
    /// Pipeline runs, newest first.
    pub pipelines: Vec<Value>,
    /// The status `/pipelines` answers (200; 403 without the scope).
    pub pipelines_status: u16,
    /// The branching model (`None`: the endpoint answers 404).
    pub branching_model: Option<Value>,
    /// Commits of branches other than `main`, newest first.
    pub branches: HashMap<String, Vec<Value>>,
    /// Commits no branch holds any more (a reset left them), which Bitbucket
    /// still knows: `exclude=` accepts them.
    pub orphans: Vec<Value>,
}

/// Page sizes the server uses (at most the client's `pagelen`).
#[derive(Clone, Copy)]
pub struct PageSizes {
    pub deployments: usize,
    pub pull_requests: usize,
    pub activity: usize,
    pub commits: usize,
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
pub struct Fault {
    pub path: String,
    pub page: Option<String>,
}

pub struct World {
    /// The server's address, for `next` links.
    pub base: String,
    pub repos: BTreeMap<String, Repo>,
    pub pages: PageSizes,
    pub fault: Option<Fault>,
}

#[derive(Clone)]
pub struct Live(pub Arc<Mutex<World>>);

pub fn values(server: &MockServer, files: &[&str]) -> Vec<Value> {
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
    pub async fn start(extra: &[&str], pages: PageSizes) -> (MockServer, Live) {
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
            pipelines: Vec::new(),
            pipelines_status: 200,
            branching_model: None,
            branches: HashMap::new(),
            orphans: Vec::new(),
        };
        let mut repos = BTreeMap::new();
        for (i, slug) in extra.iter().enumerate() {
            let mut copy = web.clone();
            copy.repository["slug"] = json!(slug);
            copy.repository["full_name"] = json!(format!("acme/{slug}"));
            copy.repository["uuid"] = json!(format!("{{0d6a3c1e-2222-4d6f-8c1b-{:012}}}", i + 1));
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

    pub fn with<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        f(&mut self.0.lock().expect("world lock"))
    }

    pub fn repo<R>(&self, slug: &str, f: impl FnOnce(&mut Repo) -> R) -> R {
        self.with(|w| f(w.repos.get_mut(slug).expect("repository")))
    }

    /// Rename repository `old` to `new` (its uuid stays).
    pub fn rename(&self, old: &str, new: &str) {
        self.with(|w| {
            let mut repo = w.repos.remove(old).expect("repository to rename");
            repo.repository["slug"] = json!(new);
            repo.repository["name"] = json!(new);
            repo.repository["full_name"] = json!(format!("acme/{new}"));
            w.repos.insert(new.to_string(), repo);
        });
    }

    /// Delete repository `slug`.
    pub fn delete(&self, slug: &str) {
        self.with(|w| w.repos.remove(slug).expect("repository to delete"));
    }

    /// The slugs the workspace holds.
    pub fn slugs(&self) -> Vec<String> {
        self.with(|w| w.repos.keys().cloned().collect())
    }

    pub fn fail(&self, fault: Option<Fault>) {
        self.with(|w| w.fault = fault);
    }
}

pub fn not_found() -> ResponseTemplate {
    ResponseTemplate::new(404)
        .set_body_json(json!({"type": "error", "error": {"message": "Resource not found"}}))
}

pub fn time_of(v: &Value, field: &str) -> chrono::DateTime<chrono::Utc> {
    at(v[field].as_str().expect("time field"))
}

/// One page of `items` with a `next` link to the following page.
pub fn page(base: &str, request: &Request, items: &[Value], size: usize) -> ResponseTemplate {
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

/// Commits of `all` reachable from `from` through their parents (the
/// testkit's walk, the one the demo server uses).
pub fn reachable(all: &[Value], from: &str) -> HashSet<String> {
    let by_hash: HashMap<&str, &Value> = all
        .iter()
        .filter_map(|c| Some((c["hash"].as_str()?, c)))
        .collect();
    dora_testkit::walk::reachable([from], |h| {
        by_hash
            .get(h)
            .and_then(|c| c["parents"].as_array())
            .map(|parents| {
                parents
                    .iter()
                    .filter_map(|p| p["hash"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    })
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
        if path.trim_end_matches('/') == "/2.0/repositories/acme" {
            // The workspace listing, by slug.
            let listed: Vec<Value> = world.repos.values().map(|r| r.repository.clone()).collect();
            return page(&world.base, request, &listed, 100);
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
            ["pipelines"] if repo.pipelines_status != 200 => {
                ResponseTemplate::new(repo.pipelines_status)
                    .set_body_json(json!({"type": "error", "error": {"message": "Access denied"}}))
            }
            ["pipelines"] => page(&world.base, request, &repo.pipelines, 50),
            ["branching-model"] => match &repo.branching_model {
                Some(model) => ResponseTemplate::new(200).set_body_json(model.clone()),
                None => not_found(),
            },
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
                    let known: Vec<Value> = commits.iter().chain(&repo.orphans).cloned().collect();
                    if !known.iter().any(|c| c["hash"] == exclude.as_str()) {
                        return not_found();
                    }
                    let old = reachable(&known, &exclude);
                    commits.retain(|c| !old.contains(c["hash"].as_str().unwrap_or_default()));
                }
                page(&world.base, request, &commits, sizes.commits)
            }
            ["commits", branch] if param("exclude").is_none() => match repo.branches.get(*branch) {
                Some(commits) => page(&world.base, request, commits, sizes.commits),
                None => not_found(),
            },
            _ => not_found(),
        }
    }
}

pub fn source_for(server: &MockServer, repos: &[&str]) -> Bitbucket {
    Bitbucket::builder("acme")
        .with_repos(repos.iter().copied())
        .with_base_url(format!("{}/2.0", server.uri()))
        .with_basic_auth(EMAIL, TOKEN)
        .with_timeout(Duration::from_secs(5))
        .with_retry_policy(RetryPolicy::default().with_seed(42))
        .with_http(|http| http.with_sleeper(InstantSleeper::new()))
        .build()
        .expect("source builds")
}

/// Requests per endpoint among `requests`, labelled like the crate's stats.
pub fn per_endpoint(requests: &[Request]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for r in requests {
        *out.entry(endpoint_of(r).1).or_insert(0) += 1;
    }
    out
}

/// A request's repository and endpoint label (the workspace listing is
/// `("", "repositories")`).
pub fn endpoint_of(request: &Request) -> (String, String) {
    let path = request.url.path();
    let Some(rest) = path.strip_prefix("/2.0/repositories/acme/") else {
        return (String::new(), "repositories".into());
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let label = match &parts[1..] {
        [] => "repository".to_string(),
        ["pullrequests", "activity"] => "pullrequests/activity".into(),
        ["pullrequests", _, tail] => format!("pullrequest/{tail}"),
        ["deployments", _] => "deployment".into(),
        [first, ..] => (*first).to_string(),
    };
    (parts[0].to_string(), label)
}

pub async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.expect("request log")
}

pub fn store() -> Store {
    Store::open_in_memory().expect("store")
}

pub fn config() -> Config {
    Config {
        days: 30,
        until: Some(window().end),
        ..Config::default()
    }
}

/// Everything stored.
pub fn load(store: &Store) -> Dataset {
    store.load().expect("load")
}

/// The history cut-off of the fixture window: the baseline (#180) minus 14 days.
pub fn cutoff() -> chrono::DateTime<chrono::Utc> {
    at("2024-02-06T10:05:00Z")
}

/// The stored events equal a fresh collect's, except that the store may also
/// hold production-branch commits older than the history cut-off: a first
/// sync's walk ends at a page boundary past it, and the store keeps them.
pub fn assert_same_events(stored: &Dataset, fresh: &Dataset) {
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
pub fn assert_same_report(stored: &Dataset, fresh: &Dataset) -> dora_core::Report {
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

pub fn commit(hash: &str, date: &str, parents: &[&str], message: &str) -> Value {
    json!({
        "type": "commit", "hash": hash, "date": date, "message": message,
        "author": {"type": "author", "raw": "Jane Doe <jane@acme.io>",
                   "user": {"type": "user", "display_name": "Jane Doe", "uuid": JANE}},
        "parents": parents.iter().map(|p| json!({"type": "commit", "hash": p})).collect::<Vec<_>>()
    })
}

pub fn account(uuid: &str) -> Value {
    let name = if uuid == JANE { "Jane Doe" } else { "Sam Lee" };
    json!({"type": "user", "display_name": name, "uuid": uuid})
}

pub fn update(pr: u64, state: &str, date: &str) -> Value {
    json!({"update": {"state": state, "date": date, "author": account(SAM)},
           "pull_request": {"type": "pullrequest", "id": pr}})
}

pub fn approval(pr: u64, who: &str, date: &str) -> Value {
    json!({"approval": {"date": date, "user": account(who)},
           "pull_request": {"type": "pullrequest", "id": pr}})
}

pub fn comment(pr: u64, who: &str, date: &str) -> Value {
    json!({"comment": {"created_on": date, "updated_on": date, "user": account(who), "deleted": false},
           "pull_request": {"type": "pullrequest", "id": pr}})
}

pub fn deployment(n: u32, env: &str, commit: &str, state: Value) -> Value {
    json!({
        "type": "deployment", "uuid": format!("{{de000000-0000-4000-8000-000000000{n:03}}}"),
        "environment": {"type": "deployment_environment", "uuid": env},
        "release": {"type": "deployment_release", "name": format!("#{n}"), "commit": {"type": "commit", "hash": commit}},
        "state": state
    })
}

pub fn completed(start: &str, end: &str) -> Value {
    json!({"type": "deployment_state_completed", "name": "COMPLETED",
           "status": {"type": "deployment_state_completed_status_successful", "name": "SUCCESSFUL"},
           "started_on": start, "completed_on": end})
}

pub const M50: &str = "5000000000000000000000000000000000000050";
pub const B50: &str = "5a00000000000000000000000000000000000050";
pub const HEAD47: &str = "4700000000000000000000000000000000000047";

/// A new pull request #50 merged with a merge commit and deployed to
/// production (#196), and the staging deployment #192 completes.
pub fn ship_pr_50(live: &Live, slug: &str) {
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

pub fn dep_id(n: u32) -> String {
    format!("{{de000000-0000-4000-8000-000000000{n:03}}}")
}

/// A pipeline run on `branch`.
pub fn pipeline(n: u64, branch: &str, at: &str) -> Value {
    json!({"type": "pipeline", "build_number": n, "created_on": at,
        "target": {"type": "pipeline_ref_target", "ref_type": "branch", "ref_name": branch}})
}
