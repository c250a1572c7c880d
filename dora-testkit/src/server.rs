//! A local HTTP server (axum, `127.0.0.1`, random port) serving a [`Sample`] in
//! the Bitbucket Cloud and PagerDuty wire formats.
//!
//! - Bitbucket under `/2.0` (also without the prefix): workspaces, repositories,
//!   pull requests (`state` filter, loose `q` on `updated_on`/`created_on`,
//!   `sort`), activity, PR commits, commits by revision (`include`/`exclude`,
//!   GET and POST), environments, deployments, pipelines and steps; `page` /
//!   `pagelen` with absolute `next` links. `fields` is not applied, except that
//!   `merge_commit.date` and the deployment environment's name and type are
//!   only present when `fields` asks for them, as on the real API.
//! - PagerDuty under `/pagerduty`: `/incidents` (`since`/`until` on creation,
//!   `statuses[]`, `urgencies[]`, `offset`/`limit`/`more`), incident log entries,
//!   `/log_entries`, `/priorities`, `/services`.
//!
//! Every request must carry an `Authorization` header (any value): the demo's
//! dummy credentials pass, a client that forgot to authenticate does not.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use dora_testkit::{DEFAULT_SEED, DemoServer, ServerOptions, generate};
//!
//! let server = DemoServer::start(generate(DEFAULT_SEED), ServerOptions::default()).await?;
//! println!("Bitbucket at {}, PagerDuty at {}", server.bitbucket_url(), server.pagerduty_url());
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```

use crate::mock::{
    FaultPlan, MockServer, ServedRequest, ServedResponse, path_segments as segments,
};
use crate::paging::OffsetPaging;
use crate::sample::{Outcome, RepoSample, Sample};
use crate::wire;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// How the server behaves.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Answer every request with 401 (for testing authentication failures).
    pub reject_auth: bool,
    /// Answer the first this many requests with 429 and `Retry-After: 1`.
    pub rate_limit_first: u64,
    /// Answer these `{repository}/{endpoint}` paths (e.g.
    /// `search-service/pipelines`) with 403 and Bitbucket's scope message: a
    /// token without that scope, for `dora inventory`.
    pub forbidden: Vec<String>,
    /// Start every Bitbucket page after the first with the previous page's
    /// last item again, as a list that shifts while it is read does (a
    /// source must return each item once).
    pub repeat_across_pages: bool,
}

struct Inner {
    sample: Sample,
    options: ServerOptions,
    requests: AtomicU64,
    by_endpoint: Mutex<BTreeMap<String, u64>>,
}

/// A running demo server; it stops when dropped or on [`DemoServer::shutdown`].
pub struct DemoServer {
    server: MockServer,
    inner: Arc<Inner>,
}

impl std::fmt::Debug for DemoServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoServer")
            .field("addr", &self.server.addr())
            .finish()
    }
}

impl DemoServer {
    /// Bind `127.0.0.1` on a free port and serve `sample` on the current tokio runtime.
    pub async fn start(sample: Sample, options: ServerOptions) -> std::io::Result<Self> {
        let inner = Arc::new(Inner {
            sample,
            options,
            requests: AtomicU64::new(0),
            by_endpoint: Mutex::new(BTreeMap::new()),
        });
        let served = Arc::clone(&inner);
        let server = MockServer::start(
            move |request: &ServedRequest| handle(&served, request),
            FaultPlan::none(),
        )
        .await?;
        Ok(Self { server, inner })
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Base URL of the Bitbucket API (`http://127.0.0.1:PORT/2.0`).
    pub fn bitbucket_url(&self) -> String {
        format!("{}/2.0", self.server.base_url())
    }

    /// Base URL of the PagerDuty API (`http://127.0.0.1:PORT/pagerduty`).
    pub fn pagerduty_url(&self) -> String {
        format!("{}/pagerduty", self.server.base_url())
    }

    /// The sample served.
    pub fn sample(&self) -> &Sample {
        &self.inner.sample
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// Requests answered so far per endpoint kind (e.g. `bitbucket pullrequests`).
    pub fn requests_by_endpoint(&self) -> BTreeMap<String, u64> {
        self.inner
            .by_endpoint
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    /// Stop serving and wait for the server task to end.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// A whole-number query parameter.
fn number(query: &ServedRequest, key: &str) -> Option<usize> {
    query.param(key).and_then(|v| v.trim().parse().ok())
}

/// The request's query with `key` set to `value` (for `next` and `previous` links).
fn encode_with(query: &ServedRequest, key: &str, value: &str) -> String {
    let mut parts: Vec<String> = query
        .query
        .iter()
        .filter(|(k, _)| k != key)
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    parts.push(format!("{}={}", encode(key), encode(value)));
    parts.join("&")
}

fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn json_response(status: StatusCode, body: Value) -> ServedResponse {
    ServedResponse::status_json(status.as_u16(), &body)
}

fn bitbucket_error(status: StatusCode, message: &str) -> ServedResponse {
    json_response(
        status,
        json!({"type": "error", "error": {"message": message}}),
    )
}

fn handle(inner: &Inner, request: &ServedRequest) -> ServedResponse {
    let n = inner.requests.fetch_add(1, Ordering::Relaxed);
    let path = request.path.as_str();
    let mut query = request.clone();
    if request.method == "POST" {
        // Bitbucket accepts long include/exclude lists as a form body.
        query.query.extend(request.form());
    }
    let pagerduty = path.starts_with("/pagerduty");
    if inner.options.reject_auth {
        return if pagerduty {
            json_response(
                StatusCode::UNAUTHORIZED,
                json!({"error": {"message": "Unauthorized", "code": 2006}}),
            )
        } else {
            bitbucket_error(StatusCode::UNAUTHORIZED, "Unauthorized")
        };
    }
    if request.header("authorization").is_none() {
        return bitbucket_error(
            StatusCode::UNAUTHORIZED,
            "Authentication required: send an Authorization header",
        );
    }
    if n < inner.options.rate_limit_first {
        return bitbucket_error(
            StatusCode::TOO_MANY_REQUESTS,
            "Rate limit for this resource has been exceeded",
        )
        .with_header("retry-after", "1");
    }
    if !matches!(request.method.as_str(), "GET" | "POST") {
        return bitbucket_error(StatusCode::METHOD_NOT_ALLOWED, "read-only demo server");
    }
    let ctx = Ctx {
        inner,
        origin: &request.base_url,
        path,
        query: &query,
    };
    if let Some(rest) = path.strip_prefix("/pagerduty") {
        return pagerduty_route(&ctx, rest);
    }
    let rest = path.strip_prefix("/2.0").unwrap_or(path);
    bitbucket_route(&ctx, rest)
}

struct Ctx<'a> {
    inner: &'a Inner,
    /// `http://127.0.0.1:PORT`, for absolute links.
    origin: &'a str,
    path: &'a str,
    query: &'a ServedRequest,
}

impl Ctx<'_> {
    fn api(&self) -> String {
        format!("{}/2.0", self.origin)
    }

    fn count(&self, endpoint: &str) {
        if let Ok(mut m) = self.inner.by_endpoint.lock() {
            *m.entry(endpoint.to_string()).or_default() += 1;
        }
    }

    fn fields_mention(&self, needle: &str) -> bool {
        self.query
            .param("fields")
            .is_some_and(|f| f.contains(needle))
    }

    /// A Bitbucket page of `values` honouring `page` and `pagelen`.
    fn bitbucket_page(
        &self,
        values: Vec<Value>,
        default_len: usize,
        max_len: usize,
        with_size: bool,
    ) -> ServedResponse {
        let pagelen = number(self.query, "pagelen")
            .unwrap_or(default_len)
            .clamp(1, max_len);
        let page = number(self.query, "page").unwrap_or(1).max(1);
        let total = values.len();
        let from = (page - 1).saturating_mul(pagelen);
        let repeat = usize::from(self.inner.options.repeat_across_pages && from > 0);
        let slice: Vec<Value> = values
            .into_iter()
            .skip(from - repeat)
            .take(pagelen + repeat)
            .collect();
        let mut body = json!({"pagelen": pagelen, "page": page, "values": slice});
        if with_size {
            body["size"] = json!(total);
        }
        let link = |p: usize| {
            format!(
                "{}{}?{}",
                self.origin,
                self.path,
                encode_with(self.query, "page", &p.to_string())
            )
        };
        if from + pagelen < total {
            body["next"] = json!(link(page + 1));
        }
        if page > 1 {
            body["previous"] = json!(link(page - 1));
        }
        json_response(StatusCode::OK, body)
    }
}

fn bitbucket_route(ctx: &Ctx<'_>, path: &str) -> ServedResponse {
    let sample = &ctx.inner.sample;
    let api = ctx.api();
    let seg = segments(path);
    let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
    match seg.as_slice() {
        ["user"] => {
            ctx.count("bitbucket user");
            json_response(StatusCode::OK, wire::account(&sample.people[0]))
        }
        ["workspaces", ws] if *ws == sample.workspace => {
            ctx.count("bitbucket workspace");
            json_response(
                StatusCode::OK,
                json!({"type": "workspace", "slug": sample.workspace, "name": "Acme", "uuid": "{a1b2c3d4-0000-4000-8000-00000000acme}"}),
            )
        }
        ["repositories", ws] => {
            if *ws != sample.workspace {
                return bitbucket_error(
                    StatusCode::NOT_FOUND,
                    &format!("Workspace {ws} not found"),
                );
            }
            ctx.count("bitbucket repositories");
            let values = sample
                .repositories
                .iter()
                .map(|r| wire::repository(sample, r, &api))
                .collect();
            ctx.bitbucket_page(values, 10, 100, true)
        }
        ["repositories", ws, slug, rest @ ..] => {
            let Some(repo) = (*ws == sample.workspace)
                .then(|| sample.repository(slug))
                .flatten()
            else {
                return bitbucket_error(
                    StatusCode::NOT_FOUND,
                    &format!("Repository {ws}/{slug} not found"),
                );
            };
            repository_route(ctx, repo, rest)
        }
        _ => bitbucket_error(
            StatusCode::NOT_FOUND,
            &format!("Resource not found: {path}"),
        ),
    }
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim().trim_matches('"');
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

/// Loosely apply `field >= time` / `field > time` terms of a BBQL query.
fn bbql_lower_bound(q: &str, field: &str) -> Option<DateTime<Utc>> {
    let pos = q.find(field)?;
    let rest = q[pos + field.len()..].trim_start();
    let rest = rest.strip_prefix(">=").or_else(|| rest.strip_prefix('>'))?;
    let token: String = rest
        .trim_start()
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != ')')
        .collect();
    parse_time(&token)
}

fn repository_route(ctx: &Ctx<'_>, repo: &RepoSample, rest: &[&str]) -> ServedResponse {
    let sample = &ctx.inner.sample;
    let api = ctx.api();
    if let Some(first) = rest.first() {
        let target = format!("{}/{first}", repo.slug);
        if ctx.inner.options.forbidden.contains(&target) {
            ctx.count(&format!("bitbucket {first} (403)"));
            return bitbucket_error(
                StatusCode::FORBIDDEN,
                "Your credentials lack one or more required privilege scopes.",
            );
        }
    }
    match rest {
        [] => {
            ctx.count("bitbucket repository");
            json_response(StatusCode::OK, wire::repository(sample, repo, &api))
        }
        ["pullrequests"] => {
            ctx.count("bitbucket pullrequests");
            let states: Vec<String> = ctx
                .query
                .params("state")
                .iter()
                .map(|s| s.to_ascii_uppercase())
                .collect();
            let states = if states.is_empty() {
                vec!["OPEN".to_string()]
            } else {
                states
            };
            let q = ctx.query.param("q").unwrap_or("");
            let updated_since = bbql_lower_bound(q, "updated_on");
            let created_since = bbql_lower_bound(q, "created_on");
            let mut prs: Vec<_> = repo
                .pull_requests
                .iter()
                .filter(|p| states.iter().any(|s| s == "ALL" || s == wire::pr_state(p)))
                .filter(|p| updated_since.is_none_or(|t| p.updated_at() >= t))
                .filter(|p| created_since.is_none_or(|t| p.created_at >= t))
                .collect();
            match ctx.query.param("sort").unwrap_or("-id") {
                "updated_on" => prs.sort_by_key(|p| (p.updated_at(), p.id)),
                "-updated_on" => prs.sort_by_key(|p| std::cmp::Reverse((p.updated_at(), p.id))),
                "created_on" | "id" => prs.sort_by_key(|p| p.id),
                _ => prs.sort_by_key(|p| std::cmp::Reverse(p.id)),
            }
            let merge_date = ctx.fields_mention("merge_commit.date");
            let values = prs
                .into_iter()
                .map(|p| wire::pull_request(sample, repo, p, &api, false, merge_date))
                .collect();
            ctx.bitbucket_page(values, 10, 50, true)
        }
        ["pullrequests", "activity"] => {
            ctx.count("bitbucket pullrequests activity");
            let mut all: Vec<(String, Value)> = Vec::new();
            for p in &repo.pull_requests {
                for v in wire::activity(sample, repo, p, &api) {
                    all.push((activity_date(&v), v));
                }
            }
            all.sort_by(|a, b| b.0.cmp(&a.0));
            ctx.bitbucket_page(all.into_iter().map(|(_, v)| v).collect(), 20, 50, false)
        }
        ["pullrequests", id, tail @ ..] => {
            let Some(pr) = id
                .parse::<u64>()
                .ok()
                .and_then(|id| repo.pull_requests.iter().find(|p| p.id == id))
            else {
                return bitbucket_error(
                    StatusCode::NOT_FOUND,
                    &format!("Pull request {id} not found"),
                );
            };
            match tail {
                [] => {
                    ctx.count("bitbucket pullrequest");
                    let merge_date = ctx.fields_mention("merge_commit.date");
                    json_response(
                        StatusCode::OK,
                        wire::pull_request(sample, repo, pr, &api, true, merge_date),
                    )
                }
                ["activity"] => {
                    ctx.count("bitbucket pullrequest activity");
                    ctx.bitbucket_page(wire::activity(sample, repo, pr, &api), 20, 50, false)
                }
                ["commits"] => {
                    ctx.count("bitbucket pullrequest commits");
                    let values = pr
                        .commits
                        .iter()
                        .rev()
                        .filter_map(|sha| repo.commits.iter().find(|c| &c.sha == sha))
                        .map(|c| wire::commit(sample, repo, c, &api))
                        .collect();
                    ctx.bitbucket_page(values, 10, 100, false)
                }
                _ => bitbucket_error(StatusCode::NOT_FOUND, "Resource not found"),
            }
        }
        ["commits", revision @ ..] => {
            ctx.count("bitbucket commits");
            let mut include: Vec<String> = ctx
                .query
                .params("include")
                .iter()
                .map(|s| s.to_string())
                .collect();
            if !revision.is_empty() {
                include.push(revision.join("/"));
            }
            let exclude: Vec<String> = ctx
                .query
                .params("exclude")
                .iter()
                .map(|s| s.to_string())
                .collect();
            let Some(tips) = resolve_all(repo, &include, revision.is_empty()) else {
                return bitbucket_error(
                    StatusCode::NOT_FOUND,
                    &format!("Commit not found: {}", revision.join("/")),
                );
            };
            let hidden = resolve_all(repo, &exclude, false).unwrap_or_default();
            let hidden = reachable(repo, &hidden);
            let shown = reachable(repo, &tips);
            let values = repo
                .commits
                .iter()
                .rev()
                .filter(|c| shown.contains(c.sha.as_str()) && !hidden.contains(c.sha.as_str()))
                .map(|c| wire::commit(sample, repo, c, &api))
                .collect();
            ctx.bitbucket_page(values, 30, 100, false)
        }
        ["commit", sha] => {
            ctx.count("bitbucket commit");
            match find_commit(repo, sha) {
                Some(c) => json_response(StatusCode::OK, wire::commit(sample, repo, c, &api)),
                None => bitbucket_error(StatusCode::NOT_FOUND, &format!("Commit {sha} not found")),
            }
        }
        ["refs", "branches"] | ["refs"] => {
            ctx.count("bitbucket refs");
            let mut values = Vec::new();
            if let Some(head) = head_of_main(repo) {
                values.push(json!({"type": "branch", "name": repo.main_branch, "target": wire::commit(sample, repo, head, &api)}));
            }
            for p in repo
                .pull_requests
                .iter()
                .filter(|p| p.outcome == Outcome::Open)
            {
                if let Some(c) = p.commits.last().and_then(|s| find_commit(repo, s)) {
                    values.push(json!({"type": "branch", "name": p.branch, "target": wire::commit(sample, repo, c, &api)}));
                }
            }
            ctx.bitbucket_page(values, 10, 100, true)
        }
        ["branching-model"] => {
            ctx.count("bitbucket branching-model");
            json_response(StatusCode::OK, wire::branching_model(repo, &ctx.api()))
        }
        ["environments"] => {
            ctx.count("bitbucket environments");
            let values = repo.environments.iter().map(wire::environment).collect();
            ctx.bitbucket_page(values, 10, 100, true)
        }
        ["environments", uuid] => {
            ctx.count("bitbucket environment");
            match repo.environments.iter().find(|e| e.uuid == *uuid) {
                Some(e) => json_response(StatusCode::OK, wire::environment(e)),
                None => bitbucket_error(StatusCode::NOT_FOUND, "Environment not found"),
            }
        }
        ["deployments"] => {
            ctx.count("bitbucket deployments");
            let detail = ctx.fields_mention("environment.");
            let mut deployments: Vec<_> = repo.deployments.iter().collect();
            // Newest first, as the UI lists them, unless asked otherwise.
            if ctx.query.param("sort").is_none_or(|s| s.starts_with('-')) {
                deployments.reverse();
            }
            let values = deployments
                .into_iter()
                .map(|d| wire::deployment(sample, repo, d, detail))
                .collect();
            ctx.bitbucket_page(values, 10, 100, true)
        }
        ["deployments", uuid] => {
            ctx.count("bitbucket deployment");
            match repo.deployments.iter().find(|d| d.uuid == *uuid) {
                Some(d) => json_response(StatusCode::OK, wire::deployment(sample, repo, d, true)),
                None => bitbucket_error(StatusCode::NOT_FOUND, "Deployment not found"),
            }
        }
        ["pipelines"] => {
            ctx.count("bitbucket pipelines");
            let mut pipelines: Vec<_> = repo.pipelines.iter().collect();
            if ctx.query.param("sort").is_some_and(|s| s.starts_with('-')) {
                pipelines.reverse();
            }
            let values = pipelines
                .into_iter()
                .map(|p| wire::pipeline(sample, repo, p, &api))
                .collect();
            ctx.bitbucket_page(values, 10, 100, true)
        }
        ["pipelines", uuid, tail @ ..] => {
            let Some(p) = repo.pipelines.iter().find(|p| p.uuid == *uuid) else {
                return bitbucket_error(StatusCode::NOT_FOUND, "Pipeline not found");
            };
            match tail {
                [] => {
                    ctx.count("bitbucket pipeline");
                    json_response(StatusCode::OK, wire::pipeline(sample, repo, p, &api))
                }
                ["steps"] => {
                    ctx.count("bitbucket pipeline steps");
                    let values = p.steps.iter().map(|s| wire::step(p, s)).collect();
                    ctx.bitbucket_page(values, 10, 100, true)
                }
                _ => bitbucket_error(StatusCode::NOT_FOUND, "Resource not found"),
            }
        }
        _ => bitbucket_error(StatusCode::NOT_FOUND, "Resource not found"),
    }
}

fn activity_date(v: &Value) -> String {
    for (key, field) in [
        ("update", "date"),
        ("approval", "date"),
        ("changes_requested", "date"),
        ("comment", "created_on"),
    ] {
        if let Some(d) = v
            .get(key)
            .and_then(|o| o.get(field))
            .and_then(Value::as_str)
        {
            return d.to_string();
        }
    }
    String::new()
}

fn find_commit<'a>(repo: &'a RepoSample, rev: &str) -> Option<&'a crate::sample::Commit> {
    let rev = rev.to_ascii_lowercase();
    if rev.len() < 7 {
        return None;
    }
    repo.commits.iter().find(|c| c.sha.starts_with(&rev))
}

fn head_of_main(repo: &RepoSample) -> Option<&crate::sample::Commit> {
    let tips = resolve_all(repo, std::slice::from_ref(&repo.main_branch), false)?;
    tips.first().and_then(|s| find_commit(repo, s))
}

/// Tips for revisions (branch names or shas); `all_refs` with no revision means every ref.
fn resolve_all(repo: &RepoSample, revisions: &[String], all_refs: bool) -> Option<Vec<String>> {
    if revisions.is_empty() && all_refs {
        // Every branch: main plus every PR branch (its tip).
        let mut tips = vec![main_tip(repo)?];
        tips.extend(
            repo.pull_requests
                .iter()
                .filter_map(|p| p.commits.last().cloned()),
        );
        return Some(tips);
    }
    let mut out = Vec::new();
    for rev in revisions {
        if *rev == repo.main_branch || rev == "HEAD" {
            out.push(main_tip(repo)?);
        } else if let Some(p) = repo.pull_requests.iter().find(|p| p.branch == *rev) {
            out.push(p.commits.last()?.clone());
        } else {
            out.push(find_commit(repo, rev)?.sha.clone());
        }
    }
    Some(out)
}

/// The newest merge (or squash) commit, else the newest initial-history commit.
fn main_tip(repo: &RepoSample) -> Option<String> {
    let merge_commits: HashSet<&str> = repo
        .pull_requests
        .iter()
        .filter_map(|p| p.merge_commit.as_deref())
        .collect();
    let branch_commits: HashSet<&str> = repo
        .pull_requests
        .iter()
        .flat_map(|p| p.commits.iter().map(String::as_str))
        .collect();
    repo.commits
        .iter()
        .rev()
        .find(|c| {
            merge_commits.contains(c.sha.as_str()) || !branch_commits.contains(c.sha.as_str())
        })
        .map(|c| c.sha.clone())
}

fn reachable(repo: &RepoSample, tips: &[String]) -> HashSet<String> {
    let index: std::collections::HashMap<&str, &crate::sample::Commit> =
        repo.commits.iter().map(|c| (c.sha.as_str(), c)).collect();
    crate::walk::reachable(tips.iter().cloned(), |sha| {
        index
            .get(sha)
            .map(|c| c.parents.clone())
            .unwrap_or_default()
    })
}

fn pagerduty_route(ctx: &Ctx<'_>, path: &str) -> ServedResponse {
    let sample = &ctx.inner.sample;
    let api = format!("{}/pagerduty", ctx.origin);
    let seg = segments(path);
    let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
    let pd_error = |status: StatusCode, message: &str| {
        json_response(status, json!({"error": {"message": message, "code": 2100}}))
    };
    let offset_page = |key: &str, values: Vec<Value>| -> ServedResponse {
        let total = ctx.query.param("total") == Some("true");
        OffsetPaging::default().page(ctx.query, key, values, total)
    };
    let all_dates = ctx.query.param("date_range") == Some("all");
    let since = ctx
        .query
        .param("since")
        .and_then(parse_time)
        .filter(|_| !all_dates);
    let until = ctx
        .query
        .param("until")
        .and_then(parse_time)
        .filter(|_| !all_dates);
    let in_range = |t: DateTime<Utc>| since.is_none_or(|s| t >= s) && until.is_none_or(|u| t < u);
    match seg.as_slice() {
        ["incidents"] => {
            ctx.count("pagerduty incidents");
            let statuses = ctx.query.params("statuses[]");
            let urgencies = ctx.query.params("urgencies[]");
            let mut incidents: Vec<_> = sample
                .incidents
                .iter()
                .filter(|i| in_range(i.created_at))
                .filter(|i| statuses.is_empty() || statuses.contains(&i.status()))
                .filter(|i| urgencies.is_empty() || urgencies.contains(&i.urgency))
                .collect();
            if ctx
                .query
                .param("sort_by")
                .is_some_and(|s| s.contains("desc"))
            {
                incidents.reverse();
            }
            let values = incidents
                .into_iter()
                .map(|i| wire::pagerduty_incident(i, &api))
                .collect();
            offset_page("incidents", values)
        }
        ["incidents", id] => {
            ctx.count("pagerduty incident");
            match sample.incidents.iter().find(|i| i.id == *id) {
                Some(i) => json_response(
                    StatusCode::OK,
                    json!({"incident": wire::pagerduty_incident(i, &api)}),
                ),
                None => pd_error(StatusCode::NOT_FOUND, "Incident Not Found"),
            }
        }
        ["incidents", id, "log_entries"] => {
            ctx.count("pagerduty log_entries");
            match sample.incidents.iter().find(|i| i.id == *id) {
                Some(i) => offset_page("log_entries", wire::pagerduty_log_entries(i)),
                None => pd_error(StatusCode::NOT_FOUND, "Incident Not Found"),
            }
        }
        ["log_entries"] => {
            ctx.count("pagerduty log_entries");
            let mut entries: Vec<(String, Value)> = sample
                .incidents
                .iter()
                .flat_map(wire::pagerduty_log_entries)
                .map(|v| (v["created_at"].as_str().unwrap_or("").to_string(), v))
                .filter(|(t, _)| parse_time(t).is_some_and(in_range))
                .collect();
            entries.sort_by(|a, b| b.0.cmp(&a.0));
            offset_page("log_entries", entries.into_iter().map(|(_, v)| v).collect())
        }
        ["priorities"] => {
            ctx.count("pagerduty priorities");
            let values = (1..=5)
                .map(|k| json!({"id": format!("PPRI00{k}"), "type": "priority", "summary": format!("P{k}"),
                                "name": format!("P{k}"), "description": "", "self": format!("{api}/priorities/PPRI00{k}")}))
                .collect();
            offset_page("priorities", values)
        }
        ["services"] => {
            ctx.count("pagerduty services");
            let mut seen = Vec::new();
            for i in &sample.incidents {
                if !seen.iter().any(|(id, _)| *id == i.service_id) {
                    seen.push((i.service_id.clone(), i.service.clone()));
                }
            }
            let values = seen
                .into_iter()
                .map(|(id, name)| json!({"id": id, "type": "service", "name": name, "summary": name, "status": "active"}))
                .collect();
            offset_page("services", values)
        }
        ["users", "me"] => {
            ctx.count("pagerduty user");
            json_response(
                StatusCode::OK,
                json!({"user": {"id": "PUSER01", "type": "user", "name": "Jane Doe", "email": "jdoe@acme.io"}}),
            )
        }
        _ => pd_error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parsing_and_encoding() {
        let form = ServedRequest {
            method: "POST".into(),
            path: "/2.0/repositories/acme/%7Babc%7D/100%".into(),
            query: Vec::new(),
            headers: BTreeMap::new(),
            base_url: "http://127.0.0.1:1".into(),
            body: "state=MERGED&state=DECLINED&q=updated_on+%3E%3D+2026-01-01T00%3A00%3A00%2B00%3A00&page=2".into(),
        };
        let q = ServedRequest {
            query: form.form(),
            ..form.clone()
        };
        assert_eq!(q.params("state"), vec!["MERGED", "DECLINED"]);
        assert_eq!(number(&q, "page"), Some(2));
        let bound = bbql_lower_bound(q.param("q").unwrap_or(""), "updated_on");
        assert_eq!(
            bound.map(|t| t.to_rfc3339()),
            Some("2026-01-01T00:00:00+00:00".to_string())
        );
        let next = encode_with(&q, "page", "3");
        assert!(next.contains("state=MERGED&state=DECLINED"));
        assert!(next.ends_with("page=3"));
        assert_eq!(segments(&q.path)[3..], ["{abc}", "100%"]);
    }
}
