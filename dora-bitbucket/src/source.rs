//! The sync: which calls answer which question, and in what order.
//!
//! Per repository (sequentially; calls within a repository run concurrently,
//! bounded by the client's concurrency):
//!
//! 1. `GET /repositories/{ws}/{repo}` for `mainbranch.name` (skipped when the
//!    workspace listing already gave it).
//! 2. `GET …/environments` and `GET …/deployments` (every page: deployments
//!    have no documented filter or sort). The last successful production
//!    deployment before the window is the *baseline*; the history cut-off is
//!    `min(window start, baseline) − history margin`.
//! 3. Concurrently:
//!    - `GET …/pullrequests?state=OPEN&state=MERGED&state=DECLINED&state=SUPERSEDED&q=updated_on >= cut-off&sort=-updated_on&pagelen=50`
//!      with `fields=` including `merge_commit.date`;
//!    - `GET …/pullrequests/activity` (repository-wide: merges, approvals,
//!      change requests and comments of every PR in one stream) back to the
//!      cut-off, instead of one activity call per PR;
//!    - then (it needs the merge commits the pull requests name)
//!      `GET …/commits/{mainbranch}` newest first until the first-parent line
//!      is past the cut-off, every merge commit named was reached, the branch
//!      side of every merge attributable in the window is closed and the
//!      baseline commit was seen (see [`crate::walk`]), or the budget ends.
//! 4. Only where those leave a gap: `GET …/pullrequests/{id}/activity` for a
//!    merged PR older than the activity stream covers, and
//!    `GET …/pullrequests/{id}/commits` for a merged PR whose merge commit does
//!    not give its branch commits (squash or fast-forward merges, or a branch
//!    side still open when the walk stopped). A merged PR whose history the
//!    page cap kept out of reach is noted in the dataset's
//!    `collection.history_truncated`, with the knob that raises the cap.

use crate::SyncStats;
use crate::convert::{self, PrActivity, Skip};
use crate::error::{Context, convert as convert_error};
use crate::walk::Frontier;
use crate::wire::{self, fields};
use async_trait::async_trait;
use chrono::SecondsFormat;
use dora_core::{
    CollectRequest, CollectionNotes, Commit, Dataset, DeliverySource, Deployment, DeploymentStatus,
    EnvironmentKind, HistoryGap, PipelineRuns, PullRequest, PullRequestState, Repository,
    SourceError, TimeRange, Timestamp,
};
use dora_http::{HttpClient, Pagination, StatusCode};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use tokio::task::JoinSet;

pub(crate) mod endpoint {
    pub const REPOSITORIES: &str = "repositories";
    pub const REPOSITORY: &str = "repository";
    pub const ENVIRONMENTS: &str = "environments";
    pub const DEPLOYMENTS: &str = "deployments";
    pub const PULL_REQUESTS: &str = "pullrequests";
    pub const ACTIVITY: &str = "pullrequests/activity";
    pub const PR_ACTIVITY: &str = "pullrequest/activity";
    pub const PR_COMMITS: &str = "pullrequest/commits";
    pub const COMMITS: &str = "commits";
    pub const DEPLOYMENT: &str = "deployment";
    pub const PIPELINES: &str = "pipelines";
    pub const BRANCHING_MODEL: &str = "branching-model";
}

type RepoFilter = Arc<dyn Fn(&str) -> bool + Send + Sync>;

pub(crate) enum Scope {
    Repos(Vec<String>),
    Workspace {
        filter: Option<RepoFilter>,
        query: Option<String>,
    },
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Repos(repos) => f.debug_tuple("Repos").field(repos).finish(),
            Self::Workspace { filter, query } => f
                .debug_struct("Workspace")
                .field("filter", &filter.is_some())
                .field("query", query)
                .finish(),
        }
    }
}

/// A Bitbucket Cloud delivery source. Build it with [`Bitbucket::builder`].
#[derive(Debug)]
pub struct Bitbucket {
    pub(crate) workspace: String,
    pub(crate) scope: Scope,
    pub(crate) client: HttpClient,
    pub(crate) history_margin: chrono::Duration,
    pub(crate) max_commit_pages: usize,
    /// How often an incremental sync re-reads what rarely changes (the
    /// branching model, dormant planned deployments).
    pub(crate) slow_check_interval: chrono::Duration,
    /// Main branches the last workspace listing gave, by slug, so that a
    /// scope's first sync need not look its repository up again.
    pub(crate) listed_main: std::sync::Mutex<HashMap<String, String>>,
}

/// What one repository's full sync saw besides its events: what an
/// incremental cursor starts from.
#[derive(Debug, Default)]
pub(crate) struct RepoMeta {
    /// The history cut-off used.
    pub cutoff: Timestamp,
    /// The newest production-branch commit (the branch head), if any.
    pub head: Option<String>,
    /// Environments by uuid.
    pub environments: HashMap<String, dora_core::Environment>,
    /// Every listed deployment with a uuid, in listing order (newest first): its status (an unreadable one's:
    /// see [`convert::unreadable_status`]).
    pub listed_deployments: Vec<(String, Option<DeploymentStatus>)>,
    /// Every listed pull request: id and `updated_on`.
    pub pr_updates: Vec<(u64, Timestamp)>,
    /// The newest activity-stream entry seen.
    pub newest_activity: Option<Timestamp>,
    /// The oldest time the activity stream covered (`None`: all of it).
    pub activity_covered_since: Option<Timestamp>,
    /// The repository's own main branch.
    pub repo_main: Option<String>,
    /// What its branching model said.
    pub model: ModelRules,
}

/// The repository-wide activity stream back to a time.
#[derive(Debug, Default)]
pub(crate) struct Stream {
    /// Entries grouped by pull request.
    pub by_pr: HashMap<u64, PrActivity>,
    /// The oldest time covered (`None`: the whole history).
    pub covered_since: Option<Timestamp>,
    /// The newest entry's time.
    pub newest: Option<Timestamp>,
}

/// Bitbucket's BBQL wants `+00:00`, not `Z`.
pub(crate) fn bbql_time(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

impl Bitbucket {
    /// Start building a source for `workspace` (slug or `{uuid}`).
    pub fn builder(workspace: impl Into<String>) -> crate::BitbucketBuilder {
        crate::BitbucketBuilder::new(workspace)
    }

    /// A source for `workspace` with credentials from the environment
    /// (`BITBUCKET_EMAIL` + `BITBUCKET_API_TOKEN`, or `BITBUCKET_ACCESS_TOKEN`)
    /// and every other setting at its default: every repository of the
    /// workspace. Like the incident sources' `from_env`, a missing or
    /// half-given credential is an error naming the variable.
    pub fn from_env(workspace: impl Into<String>) -> Result<Self, SourceError> {
        Self::builder(workspace).with_env_credentials().build()
    }

    /// The workspace.
    pub fn workspace(&self) -> &str {
        &self.workspace
    }

    /// Record a skipped item: in the stats (a line) and in the dataset's notes.
    pub(crate) fn note_skip(
        &self,
        stats: &mut SyncStats,
        notes: &mut CollectionNotes,
        slug: &str,
        why: &Skip,
    ) {
        stats
            .skipped
            .push(format!("{}/{slug}: {why}", self.workspace));
        let event = why.event(slug);
        // The same item skipped twice (listed on two pages) is one item.
        if event.id.is_none() || !notes.skipped.contains(&event) {
            notes.skipped.push(event);
        }
    }

    pub(crate) fn ctx<'a>(&'a self, repo: Option<&'a str>) -> Context<'a> {
        Context {
            workspace: &self.workspace,
            repo,
            auth_scheme: self.client.auth_scheme(),
        }
    }

    /// Collect, and report what it cost: requests per endpoint, rate-limit
    /// waits, and what was skipped.
    pub async fn collect_with_stats(
        &self,
        request: &CollectRequest,
    ) -> Result<(Dataset, SyncStats), SourceError> {
        // Count this sync's requests on their own.
        let client = self.client.with_fresh_stats();
        let mut stats = SyncStats::default();
        let repos = self.repositories(&client).await?;
        let mut data = Dataset::new();
        for (slug, main_branch, _) in repos {
            let (part, _) = self
                .sync_repository(&client, &slug, main_branch, request.range, &mut stats)
                .await?;
            data.extend(part);
        }
        data.dedup();
        stats.repositories = data.repositories.len();
        stats.pull_requests = data.pull_requests.len();
        stats.merged_pull_requests = data
            .pull_requests
            .iter()
            .filter(|p| p.state == PullRequestState::Merged)
            .count();
        stats.deployments = data.deployments.len();
        stats.commits = data.commits.len();
        stats.http = client.stats();
        Ok((data, stats))
    }

    /// (slug, main branch when already known, uuid when listed) of every
    /// repository in scope.
    pub(crate) async fn repositories(
        &self,
        client: &HttpClient,
    ) -> Result<Vec<(String, Option<String>, Option<String>)>, SourceError> {
        match &self.scope {
            Scope::Repos(repos) => Ok(repos.iter().map(|r| (r.clone(), None, None)).collect()),
            Scope::Workspace { filter, query } => {
                let mut req = client
                    .request(endpoint::REPOSITORIES, &["repositories", &self.workspace])
                    .query("pagelen", "100")
                    .query("fields", fields::REPOSITORIES);
                if let Some(q) = query {
                    req = req.query("q", q);
                }
                let listed: Vec<wire::Repository> = client
                    .pages(req, Pagination::bitbucket())
                    .collect_all()
                    .await
                    .map_err(|e| convert_error(e, self.ctx(None)))?;
                let mut repos: Vec<(String, Option<String>, Option<String>)> = listed
                    .into_iter()
                    .filter_map(|r| {
                        let slug = r.slug.or_else(|| {
                            r.full_name
                                .as_deref()
                                .and_then(|f| f.rsplit_once('/'))
                                .map(|(_, s)| s.to_owned())
                        })?;
                        // An empty repository has no main branch; say so with `Some("")`
                        // to skip the per-repository lookup.
                        let main = r.mainbranch.and_then(|b| b.name).unwrap_or_default();
                        Some((slug, Some(main), r.uuid.filter(|u| !u.is_empty())))
                    })
                    .filter(|(slug, _, _)| filter.as_ref().is_none_or(|f| f(slug)))
                    .collect();
                repos.sort();
                repos.dedup_by(|a, b| a.0 == b.0);
                Ok(repos)
            }
        }
    }

    /// The full sync of one repository: its events and what an incremental
    /// cursor needs.
    pub(crate) async fn sync_repository(
        &self,
        client: &HttpClient,
        slug: &str,
        main_branch: Option<String>,
        range: TimeRange,
        stats: &mut SyncStats,
    ) -> Result<(Dataset, RepoMeta), SourceError> {
        let ctx = self.ctx(Some(slug));
        let err = |e: dora_http::Error| convert_error(e, ctx);
        let ws = self.workspace.as_str();

        // 1. Main branch.
        let main_branch = match main_branch {
            Some(name) => name,
            None => {
                let req = client
                    .request(endpoint::REPOSITORY, &["repositories", ws, slug])
                    .query("fields", fields::REPOSITORY);
                let repo: wire::Repository = client.get_json(&req).await.map_err(err)?;
                repo.mainbranch.and_then(|b| b.name).unwrap_or_default()
            }
        };
        let main_branch = (!main_branch.is_empty()).then_some(main_branch);
        // The branching model's production branch, when enabled, is the one
        // whose merges and commits matter (gitflow teams often make
        // `develop` the main branch and ship `master`); its development
        // branch and hotfix and release prefixes name the branches.
        let model = self
            .branching_model(client, slug, main_branch.as_deref(), stats)
            .await
            .rules()
            .unwrap_or_default();
        let repo_main = main_branch.clone();
        let main_branch = model.production.clone().or(main_branch);
        if main_branch.is_none() {
            stats.warnings.push(format!(
                "{ws}/{slug}: no main branch (empty repository?); commits were not fetched"
            ));
        }

        // 2. Environments and deployments.
        let env_req = client
            .request(
                endpoint::ENVIRONMENTS,
                &["repositories", ws, slug, "environments"],
            )
            .query("pagelen", "100")
            .query("fields", fields::ENVIRONMENTS);
        let dep_req = client
            .request(
                endpoint::DEPLOYMENTS,
                &["repositories", ws, slug, "deployments"],
            )
            .query("pagelen", "100")
            .query("fields", fields::DEPLOYMENTS);
        let (envs, deps) = tokio::join!(
            client
                .pages::<wire::Environment>(env_req, Pagination::bitbucket())
                .collect_all(),
            client
                .pages::<wire::Deployment>(dep_req, Pagination::bitbucket())
                .collect_all(),
        );
        let environments = convert::environments(slug, &envs.map_err(err)?);
        let mut notes = CollectionNotes::default();
        let mut deployments = Vec::new();
        // A deployment listed on two pages (the list shifted) counts once.
        let deps = dedup_last(deps.map_err(err)?, |d| d.uuid.clone());
        let mut listed_deployments: Vec<(String, Option<DeploymentStatus>)> = Vec::new();
        for d in &deps {
            match convert::deployment(slug, d, &environments) {
                Ok(d) => {
                    listed_deployments.push((d.id.clone(), Some(d.status)));
                    deployments.push(d);
                }
                Err(why) => {
                    if let Some(uuid) = &d.uuid {
                        listed_deployments.push((uuid.clone(), convert::unreadable_status(d)));
                    }
                    self.note_skip(stats, &mut notes, slug, &why);
                }
            }
        }
        let baseline = baseline_deployments(&deployments, range.start);
        let cutoff = baseline
            .iter()
            .filter_map(|d| d.time())
            .chain([range.start])
            .min()
            .unwrap_or(range.start)
            - self.history_margin;
        let baseline_ids: HashSet<String> = baseline.iter().map(|d| d.id.clone()).collect();
        let required: Vec<String> = baseline.iter().map(|d| d.commit.clone()).collect();
        deployments
            .retain(|d| baseline_ids.contains(&d.id) || d.time().is_none_or(|t| t >= cutoff));

        // 3. Pull requests, then the production branch back to their merges;
        //    the repository-wide activity concurrently.
        let main_name = main_branch.as_deref();
        let prs_then_walk = async {
            let prs = self.pull_requests(client, slug, cutoff).await?;
            let targets = merge_targets(&prs, main_name, cutoff);
            let walk = self
                .branch_commits(client, slug, main_name, cutoff, &required, &targets)
                .await?;
            Ok::<_, dora_http::Error>((prs, walk))
        };
        let (prs_walk, activity) = tokio::join!(prs_then_walk, self.activity(client, slug, cutoff));
        let (prs, walk) = prs_walk.map_err(err)?;
        let (mut activity, covered_since, newest_activity) = match activity {
            Ok(stream) => (stream.by_pr, stream.covered_since, stream.newest),
            // Not every deployment may serve the repository-wide stream: fall
            // back to one activity call per PR.
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => {
                stats
                    .warnings
                    .push(format!("{ws}/{slug}: repository-wide pull request activity unavailable; fetched it per pull request"));
                (HashMap::new(), Some(Timestamp::MAX_UTC), None)
            }
            Err(e) => return Err(err(e)),
        };
        for why in &walk.skipped {
            self.note_skip(stats, &mut notes, slug, why);
        }
        if !walk.missing.is_empty() {
            stats.warnings.push(format!(
                "{ws}/{slug}: the commit(s) {} of the last production deployment before the window are not on `{}` near the cut-off; the baseline may be incomplete",
                walk.missing.join(", "),
                main_branch.as_deref().unwrap_or_default()
            ));
        }
        let head = walk.commits.first().map(|c| c.sha.clone());

        // 4a. Per-PR activity where the stream does not reach.
        let mut tasks = JoinSet::new();
        for p in &prs {
            let Some(id) = p.id else { continue };
            let merged = convert::pr_state(p.state.as_deref()) == Some(PullRequestState::Merged);
            let known = activity.get(&id).is_some_and(|a| a.merged_at.is_some());
            let created = convert::time(p.created_on.as_deref());
            let older_than_stream = match (created, covered_since) {
                (Some(c), Some(since)) => c < since,
                _ => false,
            };
            if merged && (!known || older_than_stream) {
                let client = client.clone();
                let (ws, slug) = (ws.to_owned(), slug.to_owned());
                tasks.spawn(async move { (id, pr_activity(&client, &ws, &slug, id).await) });
            }
        }
        while let Some(joined) = tasks.join_next().await {
            let (id, result) = joined.map_err(|e| task_error(slug, e))?;
            let entries = result.map_err(err)?;
            let mut acc = PrActivity::default();
            for a in &entries {
                acc.add(a);
            }
            activity.insert(id, acc);
        }

        let mut pull_requests = Vec::new();
        for p in &prs {
            match convert::pull_request(slug, p, p.id.and_then(|id| activity.get(&id))) {
                Ok(pr) => pull_requests.push(pr),
                Err(why) => self.note_skip(stats, &mut notes, slug, &why),
            }
        }

        // 4b. PR commits where the walk does not give the branch.
        let mut commits = walk.commits;
        let reach = Reach {
            cutoff,
            main_branch: main_name,
            capped: walk.capped,
            open: &walk.open,
            exclusive: false,
        };
        self.complete_branches(
            client,
            slug,
            &mut pull_requests,
            &mut commits,
            &reach,
            stats,
            &mut notes,
        )
        .await?;
        if walk.capped {
            stats.warnings.push(format!(
                "{ws}/{slug}: stopped walking `{}` after {} pages, before the history cut-off{}",
                main_name.unwrap_or_default(),
                self.max_commit_pages,
                truncation_note(&notes)
            ));
        }

        let meta = RepoMeta {
            repo_main,
            model: model.clone(),
            cutoff,
            head,
            environments: environments.clone(),
            listed_deployments,
            pr_updates: prs
                .iter()
                .filter_map(|p| Some((p.id?, convert::time(p.updated_on.as_deref())?)))
                .collect(),
            newest_activity,
            activity_covered_since: covered_since,
        };
        let mut data = Dataset::new();
        let url = convert::repository_url(&pull_requests);
        data.repositories
            .push(model.repository(slug, main_branch, url));
        let mut envs: Vec<_> = environments.into_values().collect();
        envs.sort_by(|a, b| a.name.cmp(&b.name));
        data.environments = envs;
        // 5. A repository without production deployments: do pipelines run
        //    on its production branch (the deploy step lacks `deployment:
        //    production`)? One page, only for such repositories.
        let production = deployments
            .iter()
            .any(|d| d.environment_kind == EnvironmentKind::Production);
        if !production && let Some(branch) = data.repositories[0].main_branch.clone() {
            let url = data.repositories[0].url.clone();
            if let Some(runs) = self
                .pipeline_runs(client, slug, &branch, url.as_deref(), range, stats)
                .await
            {
                notes.pipelines.push(runs);
            }
        }
        data.deployments = deployments;
        data.pull_requests = pull_requests;
        data.commits = commits;
        data.collection = notes;
        data.dedup();
        Ok((data, meta))
    }

    /// The repository's branching model ([`ModelRules`]), or why it has
    /// none: a repository without the endpoint (404) has no model; any other
    /// failure (a 403: the token lacks repository read) is a warning and
    /// [`ModelRead::Unreadable`] — what an earlier sync read stays.
    pub(crate) async fn branching_model(
        &self,
        client: &HttpClient,
        slug: &str,
        main_branch: Option<&str>,
        stats: &mut SyncStats,
    ) -> ModelRead {
        let ws = self.workspace.as_str();
        let req = client.request(
            endpoint::BRANCHING_MODEL,
            &["repositories", ws, slug, "branching-model"],
        );
        match client.get_json::<wire::BranchingModel>(&req).await {
            Ok(model) => ModelRead::Read(ModelRules::new(model, main_branch)),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => {
                ModelRead::Read(ModelRules::default())
            }
            Err(e) => {
                stats.warnings.push(format!(
                    "{ws}/{slug}: the branching model could not be read ({e}); the main branch is taken as the production branch and only the configured hotfix and promotion rules apply"
                ));
                ModelRead::Unreadable
            }
        }
    }

    /// The pipelines that ran on `branch` in `range`, from the newest page of
    /// `/pipelines` (50 runs); `None` when none did or the listing is not
    /// available (pipelines disabled, or the token lacks `pipeline` read
    /// access: said in a warning, not an error — it is evidence for a
    /// diagnostic, never data).
    pub(crate) async fn pipeline_runs(
        &self,
        client: &HttpClient,
        slug: &str,
        branch: &str,
        repo_url: Option<&str>,
        range: TimeRange,
        stats: &mut SyncStats,
    ) -> Option<PipelineRuns> {
        let ws = self.workspace.as_str();
        let page = match self.pipelines_page(client, slug).await {
            Ok(page) => page,
            Err(e) => {
                let why = match e.status() {
                    Some(StatusCode::FORBIDDEN) => {
                        "HTTP 403: the token lacks read access to pipelines (scope `read:pipeline:bitbucket`)".to_string()
                    }
                    Some(StatusCode::NOT_FOUND) => "HTTP 404: pipelines are not enabled".to_string(),
                    _ => e.to_string(),
                };
                stats.warnings.push(format!(
                    "{ws}/{slug}: no production deployments, and the pipelines could not be read to say why ({why})"
                ));
                return None;
            }
        };
        pipeline_runs_on(&page, slug, branch, repo_url, range)
    }

    /// The newest page of `/pipelines` (50 runs, newest first): one request.
    pub(crate) async fn pipelines_page(
        &self,
        client: &HttpClient,
        slug: &str,
    ) -> Result<wire::PipelinesPage, dora_http::Error> {
        let req = client
            .request(
                endpoint::PIPELINES,
                &["repositories", &self.workspace, slug, "pipelines"],
            )
            .query("sort", "-created_on")
            .query("pagelen", "50")
            .query("fields", fields::PIPELINES);
        client.get_json(&req).await
    }

    /// PRs updated since the cut-off (BBQL on the server; re-checked here in
    /// case a server ignores `q`, stopping at the first older page since the
    /// list is sorted by `-updated_on`).
    pub(crate) async fn pull_requests(
        &self,
        client: &HttpClient,
        slug: &str,
        cutoff: Timestamp,
    ) -> Result<Vec<wire::PullRequest>, dora_http::Error> {
        let req = client
            .request(
                endpoint::PULL_REQUESTS,
                &["repositories", &self.workspace, slug, "pullrequests"],
            )
            .query("state", "OPEN")
            .query("state", "MERGED")
            .query("state", "DECLINED")
            .query("state", "SUPERSEDED")
            .query("q", format!("updated_on >= {}", bbql_time(cutoff)))
            .query("sort", "-updated_on")
            .query("pagelen", "50")
            .query("fields", fields::PULL_REQUESTS);
        let mut pager = client.pages::<wire::PullRequest>(req, Pagination::bitbucket());
        let mut out = Vec::new();
        while let Some(page) = pager.next_page().await? {
            let mut past = false;
            for p in page.items {
                match convert::time(p.updated_on.as_deref()) {
                    Some(t) if t < cutoff => past = true,
                    _ => out.push(p),
                }
            }
            if past {
                break;
            }
        }
        // A pull request listed on two pages (the list shifted) counts once.
        Ok(dedup_last(out, |p| p.id))
    }

    /// The repository-wide activity stream back to the cut-off, grouped by PR,
    /// with the oldest time it covers (`None`: the whole history).
    pub(crate) async fn activity(
        &self,
        client: &HttpClient,
        slug: &str,
        cutoff: Timestamp,
    ) -> Result<Stream, dora_http::Error> {
        let req = client
            .request(
                endpoint::ACTIVITY,
                &[
                    "repositories",
                    &self.workspace,
                    slug,
                    "pullrequests",
                    "activity",
                ],
            )
            .query("pagelen", "50")
            .query("fields", fields::ACTIVITY);
        let mut pager = client.pages::<wire::Activity>(req, Pagination::bitbucket());
        let mut by_pr: HashMap<u64, PrActivity> = HashMap::new();
        let mut oldest: Option<Timestamp> = None;
        let mut newest: Option<Timestamp> = None;
        while let Some(page) = pager.next_page().await? {
            let mut past = false;
            for a in &page.items {
                let Some(id) = a.pull_request.as_ref().and_then(|p| p.id) else {
                    continue;
                };
                if let Some(t) = convert::activity_time(a) {
                    oldest = Some(oldest.map_or(t, |o| o.min(t)));
                    newest = Some(newest.map_or(t, |n| n.max(t)));
                    past |= t < cutoff;
                }
                by_pr.entry(id).or_default().add(a);
            }
            if !page.has_next {
                return Ok(Stream {
                    by_pr,
                    covered_since: None,
                    newest,
                });
            }
            if past {
                break;
            }
        }
        Ok(Stream {
            by_pr,
            covered_since: oldest,
            newest,
        })
    }

    /// Commits reachable from the main branch, newest first, until the walk
    /// has what attribution needs (see [`crate::walk`]): the first-parent line
    /// past the cut-off with every merge commit in `targets` reached, the
    /// branch side of every attributable merge closed, and every `required`
    /// commit seen; or the budget (a few pages past the cut-off, and the page
    /// cap) ends.
    pub(crate) async fn branch_commits(
        &self,
        client: &HttpClient,
        slug: &str,
        main_branch: Option<&str>,
        cutoff: Timestamp,
        required: &[String],
        targets: &[String],
    ) -> Result<BranchWalk, dora_http::Error> {
        /// Pages walked once the first-parent line is past the cut-off, to close
        /// branch sides and to look for a baseline commit that may not be on
        /// the main branch at all (deployed from another branch).
        const EXTRA_PAGES: usize = 5;
        let mut walk = BranchWalk::default();
        let Some(branch) = main_branch else {
            return Ok(walk);
        };
        let req = client
            .request(
                endpoint::COMMITS,
                &["repositories", &self.workspace, slug, "commits", branch],
            )
            .query("pagelen", "100")
            .query("fields", fields::COMMITS);
        let mut pager = client.pages::<wire::Commit>(req, Pagination::bitbucket());
        let mut frontier = Frontier::new(Some(cutoff), targets);
        let mut missing: Vec<&str> = required.iter().map(String::as_str).collect();
        let mut pages_past = 0usize;
        while let Some(page) = pager.next_page().await? {
            for c in &page.items {
                if let Some(hash) = c.hash.as_deref() {
                    missing.retain(|sha| !sha_matches(sha, hash));
                }
                walk.take(slug, c, &mut frontier);
            }
            if frontier.first_parent_done() {
                pages_past += 1;
                let open = frontier.open_merges().len();
                // A page more costs a request, as does one pull request's own
                // commit list: walk on for open branch sides only while more of
                // them are open than pages were walked for them.
                let worth_it = open > pages_past - 1;
                if (missing.is_empty() && (open == 0 || !worth_it)) || pages_past > EXTRA_PAGES {
                    break;
                }
            }
            if pager.pages_fetched() >= self.max_commit_pages && page.has_next {
                walk.capped = !frontier.first_parent_done();
                break;
            }
        }
        walk.open = frontier.open_merges();
        walk.missing = missing.into_iter().map(str::to_owned).collect();
        Ok(walk)
    }

    /// Where the walk leaves a merged pull request's branch incomplete: its own
    /// commits (`GET …/pullrequests/{id}/commits`) for a squash or fast-forward
    /// merge and for a branch side still open; a history gap for a merge the
    /// capped walk never reached, or an open branch whose commit list is empty.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn complete_branches(
        &self,
        client: &HttpClient,
        slug: &str,
        pull_requests: &mut [PullRequest],
        commits: &mut Vec<Commit>,
        reach: &Reach<'_>,
        stats: &mut SyncStats,
        notes: &mut CollectionNotes,
    ) -> Result<(), SourceError> {
        let ctx = self.ctx(Some(slug));
        let err = |e: dora_http::Error| convert_error(e, ctx);
        let ws = self.workspace.as_str();
        *commits = dedup_commits(std::mem::take(commits));
        let by_sha = ShaIndex::new(commits);
        let mut gaps = Vec::new();
        let mut tasks = JoinSet::new();
        for (i, pr) in pull_requests.iter().enumerate() {
            if pr.state != PullRequestState::Merged || pr.merged_at.is_none_or(|m| m < reach.cutoff)
            {
                continue;
            }
            let merge = pr.merge_commit.as_deref();
            let visibility = if reach.exclusive {
                new_merge_visibility(merge, &by_sha)
            } else {
                branch_visibility(merge, &by_sha)
            };
            let open = match visibility {
                Visibility::Visible => {
                    let still_open = merge
                        .and_then(|m| by_sha.get(m))
                        .is_some_and(|c| reach.open.contains(&c.sha.to_ascii_lowercase()));
                    if !still_open {
                        continue;
                    }
                    true
                }
                Visibility::Hidden => false,
                // The merge commit is not in the walked history: when the cap
                // cut the walk short, the PR's history is out of reach;
                // otherwise it is not on the production branch at all, so the
                // core cannot attribute it and its commits would not help.
                Visibility::NotInGraph => {
                    if reach.capped
                        && merge.is_some()
                        && reach.main_branch == Some(pr.destination_branch.as_str())
                    {
                        gaps.push(pr.id);
                    }
                    continue;
                }
            };
            let client = client.clone();
            let (ws, slug, id) = (ws.to_owned(), slug.to_owned(), pr.id);
            tasks.spawn(async move { (i, open, pr_commits(&client, &ws, &slug, id).await) });
        }
        drop(by_sha);
        let mut extra = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            let (i, open, result) = joined.map_err(|e| task_error(slug, e))?;
            for c in &result.map_err(err)? {
                match convert::commit(slug, c) {
                    Ok(c) => {
                        pull_requests[i].commits.push(c.sha.clone());
                        extra.push(c);
                    }
                    Err(why) => self.note_skip(stats, notes, slug, &why),
                }
            }
            if open && pull_requests[i].commits.is_empty() {
                gaps.push(pull_requests[i].id);
            }
        }
        commits.extend(extra);
        *commits = dedup_commits(std::mem::take(commits));
        gaps.sort_unstable();
        gaps.dedup();
        notes
            .history_truncated
            .extend(gaps.into_iter().map(|id| HistoryGap {
                repository: slug.to_owned(),
                pull_request: id,
                remedy: HISTORY_REMEDY.to_owned(),
            }));
        Ok(())
    }
}

/// The knob that raises the commit-walk cap, in words.
pub(crate) const HISTORY_REMEDY: &str = "raise the commit-walk cap: `--max-commit-pages N` (dora.toml `[sources.bitbucket] max_commit_pages`, Python `max_commit_pages=`)";

/// What a walk reached, for [`Bitbucket::complete_branches`].
pub(crate) struct Reach<'a> {
    /// Merged pull requests before it are not attributed.
    pub cutoff: Timestamp,
    pub main_branch: Option<&'a str>,
    /// The page cap stopped the walk before the first-parent line was done.
    pub capped: bool,
    /// Merge commits (lower-case full shas) whose branch side is still open.
    pub open: &'a HashSet<String>,
    /// The walk listed only commits new since the last sync (`exclude=`).
    pub exclusive: bool,
}

/// The sentence a capped walk's warning ends with.
pub(crate) fn truncation_note(notes: &CollectionNotes) -> String {
    let ids: Vec<String> = notes
        .history_truncated
        .iter()
        .map(|g| format!("#{}", g.pull_request))
        .collect();
    if ids.is_empty() {
        return String::new();
    }
    let shown = ids.iter().take(10).cloned().collect::<Vec<_>>().join(", ");
    let more = if ids.len() > 10 { ", …" } else { "" };
    format!(
        ": {} merged pull request(s) ({shown}{more}) are left out of lead time; {HISTORY_REMEDY}",
        ids.len()
    )
}

/// The merge commits of pull requests merged into `main` since `cutoff`: the
/// walk goes on until it reaches them.
fn merge_targets(prs: &[wire::PullRequest], main: Option<&str>, cutoff: Timestamp) -> Vec<String> {
    let Some(main) = main else {
        return Vec::new();
    };
    prs.iter()
        .filter(|p| convert::pr_state(p.state.as_deref()) == Some(PullRequestState::Merged))
        .filter(|p| {
            p.destination
                .as_ref()
                .and_then(|d| d.branch.as_ref())
                .and_then(|b| b.name.as_deref())
                == Some(main)
        })
        .filter_map(|p| p.merge_commit.as_ref())
        .filter(|m| convert::time(m.date.as_deref()).is_some_and(|t| t >= cutoff))
        .filter_map(|m| m.hash.clone())
        .collect()
}

/// The runs of one `/pipelines` page on `branch` in `range` (`None` when
/// none ran): their count and the newest run's link.
pub(crate) fn pipeline_runs_on(
    page: &wire::PipelinesPage,
    slug: &str,
    branch: &str,
    repo_url: Option<&str>,
    range: TimeRange,
) -> Option<PipelineRuns> {
    let on_branch: Vec<(u64, Timestamp)> = page
        .values
        .iter()
        .filter(|p| {
            p.target.as_ref().is_some_and(|t| {
                t.ref_name.as_deref() == Some(branch)
                    && t.ref_type
                        .as_deref()
                        .is_none_or(|k| k == "branch" || k == "named_branch")
            })
        })
        .filter_map(|p| {
            let at = convert::time(p.created_on.as_deref())?;
            (at >= range.start && at < range.end).then_some((p.build_number.unwrap_or(0), at))
        })
        .collect();
    let (number, latest_at) = on_branch.iter().max_by_key(|(_, at)| *at).copied()?;
    Some(PipelineRuns {
        repository: slug.to_owned(),
        branch: branch.to_owned(),
        runs: u32::try_from(on_branch.len()).unwrap_or(u32::MAX),
        latest_at,
        latest_url: repo_url
            .filter(|_| number > 0)
            .map(|u| format!("{u}/addon/pipelines/home#!/results/{number}")),
    })
}

/// Keep the last item of each key (items without a key are all kept), in the
/// order of first appearance of the kept items.
pub(crate) fn dedup_last<T, K: std::hash::Hash + Eq>(
    items: Vec<T>,
    key: impl Fn(&T) -> Option<K>,
) -> Vec<T> {
    let mut last: HashMap<K, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        if let Some(k) = key(item) {
            last.insert(k, i);
        }
    }
    items
        .into_iter()
        .enumerate()
        .filter(|(i, item)| key(item).is_none_or(|k| last.get(&k) == Some(i)))
        .map(|(_, item)| item)
        .collect()
}

/// The result of walking the main branch.
#[derive(Debug, Default)]
pub(crate) struct BranchWalk {
    pub commits: Vec<Commit>,
    /// Required commits not found.
    pub missing: Vec<String>,
    /// Stopped by the page cap before the first-parent line was done.
    pub capped: bool,
    /// Attributable merges (lower-case full shas) whose branch side was still
    /// open when the walk stopped.
    pub open: HashSet<String>,
    /// Listed commits that could not be converted.
    pub skipped: Vec<Skip>,
}

impl BranchWalk {
    /// Take one listed commit: into the graph walk, and converted.
    pub(crate) fn take(&mut self, slug: &str, c: &wire::Commit, frontier: &mut Frontier) {
        if let Some(hash) = c.hash.as_deref().filter(|h| !h.is_empty()) {
            let parents: Vec<String> = c.parents.iter().filter_map(|p| p.hash.clone()).collect();
            if !frontier.visit(hash, &parents, convert::time(c.date.as_deref())) {
                return; // listed on an earlier page too
            }
        }
        match convert::commit(slug, c) {
            Ok(commit) => self.commits.push(commit),
            Err(why) => self.skipped.push(why),
        }
    }
}

/// Per environment of kind production, the last successful deployment before `start`.
fn baseline_deployments(deployments: &[Deployment], start: Timestamp) -> Vec<Deployment> {
    let mut latest: HashMap<&str, &Deployment> = HashMap::new();
    for d in deployments {
        if d.environment_kind != EnvironmentKind::Production
            || d.status != DeploymentStatus::Succeeded
        {
            continue;
        }
        let Some(t) = d.time().filter(|t| *t < start) else {
            continue;
        };
        let slot = latest.entry(d.environment.as_str()).or_insert(d);
        if slot.time().is_some_and(|s| s < t) {
            *slot = d;
        }
    }
    latest.into_values().cloned().collect()
}

pub(crate) use dora_core::graph::sha_matches;

pub(crate) enum Visibility {
    /// A merge commit with every parent fetched: the branch is in the graph.
    Visible,
    /// A squash or fast-forward merge, or a merge whose branch side is older
    /// than the fetched history: the PR's own commits are needed.
    Hidden,
    /// The merge commit is not in the fetched history.
    NotInGraph,
}

/// Commits by full sha, and by abbreviated sha (Bitbucket lists give 12
/// characters) through a sorted index: O(log n) per lookup, not a scan.
pub(crate) struct ShaIndex<'a> {
    exact: HashMap<&'a str, &'a Commit>,
    sorted: Vec<(String, &'a Commit)>,
}

impl<'a> ShaIndex<'a> {
    pub(crate) fn new(commits: &'a [Commit]) -> Self {
        let exact = commits.iter().map(|c| (c.sha.as_str(), c)).collect();
        let mut sorted: Vec<(String, &Commit)> = commits
            .iter()
            .map(|c| (c.sha.to_ascii_lowercase(), c))
            .collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        Self { exact, sorted }
    }

    /// The commit with this full sha, or the one commit an abbreviation (at
    /// least 7 characters) names.
    pub(crate) fn get(&self, sha: &str) -> Option<&'a Commit> {
        if let Some(c) = self.exact.get(sha) {
            return Some(c);
        }
        if sha.len() < 7 {
            return None;
        }
        let key = sha.to_ascii_lowercase();
        let start = self
            .sorted
            .partition_point(|(s, _)| s.as_str() < key.as_str());
        let mut hits = self.sorted[start..]
            .iter()
            .take_while(|(s, _)| s.starts_with(&key));
        let first = hits.next()?;
        // An ambiguous abbreviation names nothing.
        hits.next().is_none().then_some(first.1)
    }

    /// Is this exact sha known?
    pub(crate) fn contains(&self, sha: &str) -> bool {
        self.exact.contains_key(sha)
    }
}

pub(crate) fn branch_visibility(merge: Option<&str>, by_sha: &ShaIndex<'_>) -> Visibility {
    let Some(commit) = merge.and_then(|m| by_sha.get(m)) else {
        return Visibility::NotInGraph;
    };
    if commit.parents.len() >= 2 && commit.parents.iter().all(|p| by_sha.contains(p)) {
        Visibility::Visible
    } else {
        Visibility::Hidden
    }
}

/// Like [`branch_visibility`] for the commits new since the last sync: a
/// parent that is not new was on the branch before, so it is known.
pub(crate) fn new_merge_visibility(merge: Option<&str>, by_sha: &ShaIndex<'_>) -> Visibility {
    let commit = merge.and_then(|m| by_sha.get(m));
    match commit {
        None => Visibility::NotInGraph,
        Some(c) if c.parents.len() >= 2 => Visibility::Visible,
        Some(_) => Visibility::Hidden,
    }
}

pub(crate) fn dedup_commits(mut commits: Vec<Commit>) -> Vec<Commit> {
    let mut seen = HashSet::new();
    commits.retain(|c| seen.insert(c.sha.clone()));
    commits
}

pub(crate) fn task_error(slug: &str, e: tokio::task::JoinError) -> SourceError {
    SourceError::Other {
        source_name: crate::error::SOURCE.into(),
        message: format!("{slug}: a concurrent request task failed"),
        source: Some(Box::new(e)),
    }
}

pub(crate) async fn pr_activity(
    client: &HttpClient,
    ws: &str,
    slug: &str,
    id: u64,
) -> Result<Vec<wire::Activity>, dora_http::Error> {
    let id = id.to_string();
    let req = client
        .request(
            endpoint::PR_ACTIVITY,
            &["repositories", ws, slug, "pullrequests", &id, "activity"],
        )
        .query("pagelen", "50")
        .query("fields", fields::ACTIVITY);
    client
        .pages(req, Pagination::bitbucket())
        .collect_all()
        .await
}

/// A PR's own commits; 404 (source branch deleted) is "none known".
pub(crate) async fn pr_commits(
    client: &HttpClient,
    ws: &str,
    slug: &str,
    id: u64,
) -> Result<Vec<wire::Commit>, dora_http::Error> {
    let id = id.to_string();
    let req = client
        .request(
            endpoint::PR_COMMITS,
            &["repositories", ws, slug, "pullrequests", &id, "commits"],
        )
        .query("pagelen", "100")
        .query("fields", fields::COMMITS);
    match client
        .pages(req, Pagination::bitbucket())
        .collect_all()
        .await
    {
        Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(Vec::new()),
        other => other,
    }
}

#[async_trait]
impl DeliverySource for Bitbucket {
    fn name(&self) -> &str {
        crate::error::SOURCE
    }

    async fn collect(&self, request: &CollectRequest) -> Result<Dataset, SourceError> {
        Ok(self.collect_with_stats(request).await?.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono::Utc;

    #[test]
    fn sha_index_resolves_abbreviations_without_scanning() {
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let commits = vec![
            Commit::new(
                "r",
                "6a2c16e4a152aaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                vec![],
                at,
                "",
            ),
            Commit::new(
                "r",
                "6a2c16e4a152bbbbbbbbbbbbbbbbbbbbbbbbbbbb",
                vec![],
                at,
                "",
            ),
            Commit::new(
                "r",
                "0123456789ab0000000000000000000000000000",
                vec![],
                at,
                "",
            ),
        ];
        let index = ShaIndex::new(&commits);
        assert_eq!(
            index.get("0123456789AB").map(|c| c.sha.as_str()),
            Some(commits[2].sha.as_str())
        );
        assert!(index.get("6a2c16e4a152").is_none(), "ambiguous");
        assert!(index.get("6a2c16e4a152b").is_some());
        assert!(index.get("012345").is_none(), "too short");
        assert!(index.contains(&commits[0].sha));
    }

    #[test]
    fn bbql_times_use_offsets() {
        let t = Utc.with_ymd_and_hms(2024, 2, 6, 10, 5, 0).unwrap();
        assert_eq!(bbql_time(t), "2024-02-06T10:05:00+00:00");
    }

    #[test]
    fn baseline_is_the_last_success_before_the_window_per_environment() {
        let t = |d| Utc.with_ymd_and_hms(2024, 2, d, 0, 0, 0).unwrap();
        let mut failed = Deployment::production("web", "f", "c3", t(25), DeploymentStatus::Failed);
        failed.environment = "production".into();
        let all = vec![
            Deployment::production("web", "a", "c1", t(10), DeploymentStatus::Succeeded),
            Deployment::production("web", "b", "c2", t(20), DeploymentStatus::Succeeded),
            failed,
            Deployment::production("web", "in", "c4", t(28), DeploymentStatus::Succeeded),
        ];
        let base = baseline_deployments(&all, t(27));
        assert_eq!(base.len(), 1);
        assert_eq!(base[0].id, "b");
    }

    #[test]
    fn abbreviated_shas_match() {
        assert!(sha_matches(
            "470000000000",
            "4700000000000000000000000000000000000047"
        ));
        assert!(!sha_matches(
            "47000",
            "4700000000000000000000000000000000000047"
        ));
        assert!(!sha_matches(
            "470000000001",
            "4700000000000000000000000000000000000047"
        ));
    }
}

/// What a repository's branching model says about its branches, resolved
/// against its main branch: the production branch (only when enabled, not
/// the main branch, and existing), the development branch (when not the
/// production branch) and the enabled hotfix and release prefixes.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ModelRules {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) production: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) development: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) hotfix_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) release_prefix: Option<String>,
}

impl ModelRules {
    /// The rules of `model`, for a repository whose main branch is `main`.
    pub(crate) fn new(model: wire::BranchingModel, main: Option<&str>) -> Self {
        let production = model.production.as_ref().and_then(|p| {
            if p.use_mainbranch == Some(true) || p.enabled == Some(false) {
                return None;
            }
            // Only a branch that exists (`branch` is absent otherwise).
            p.branch
                .as_ref()
                .and_then(|b| b.name.clone())
                .filter(|n| !n.is_empty())
        });
        let summary = crate::inventory::branching_model(model, main);
        let prefix = |kind: &str| {
            summary
                .branch_types
                .iter()
                .find(|t| t.kind == kind)
                .map(|t| t.prefix.clone())
                .filter(|p| !p.is_empty())
        };
        let shipped = production.as_deref().or(main);
        let development = summary
            .development
            .clone()
            .filter(|d| !d.is_empty() && Some(d.as_str()) != shipped);
        Self {
            hotfix_prefix: prefix("hotfix"),
            release_prefix: prefix("release"),
            production,
            development,
        }
    }

    /// The repository `slug` these rules describe.
    pub(crate) fn repository(
        &self,
        slug: &str,
        main_branch: Option<String>,
        url: Option<String>,
    ) -> Repository {
        Repository {
            slug: slug.to_owned(),
            main_branch,
            url,
            development_branch: self.development.clone(),
            hotfix_prefix: self.hotfix_prefix.clone(),
            release_prefix: self.release_prefix.clone(),
        }
    }
}

/// The outcome of reading a branching model.
pub(crate) enum ModelRead {
    /// Read (a repository without the endpoint has the empty model).
    Read(ModelRules),
    /// Not readable this time (said in a warning).
    Unreadable,
}

impl ModelRead {
    /// The rules read, if any.
    pub(crate) fn rules(self) -> Option<ModelRules> {
        match self {
            Self::Read(rules) => Some(rules),
            Self::Unreadable => None,
        }
    }
}
