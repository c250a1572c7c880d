//! `dora inventory`: a read-only audit of what a Bitbucket workspace (and an
//! incident tool) exposes, before any number is trusted.
//!
//! Per repository, at most 8 requests, all `GET`:
//!
//! | # | request | answers |
//! |---|---------|---------|
//! | 1 | `/repositories/{ws}/{repo}` (only with explicit `--repo`; a workspace listing already names the main branch) | main branch |
//! | 2 | `…/environments` (one page of 100) | environments and their types |
//! | 3–4 | `…/deployments` (at most two pages of 100) | deployments in the window by environment and status |
//! | 5 | `…/branching-model` | production and development branch, branch type prefixes |
//! | 6 | `…/pullrequests?state=MERGED` (one page of 50, newest first) | merge strategies, bot authors |
//! | 7 | `…/commits/{production branch}` (one page of 100) | merge commits' parents, bot committers |
//! | 8 | `…/pipelines` (newest page of 50) | pipelines on the production branch without production deployments |
//!
//! Nothing is written, anywhere. A 403 on any endpoint is a finding naming the
//! scope the token lacks (the rest of the audit goes on); a 401 or a network
//! failure is an error.
//!
//! The branching model is read with the same wire types as the collection
//! path ([`BranchingModel`] is its public summary); the collection takes only
//! its production branch from it.

use crate::Bitbucket;
use crate::convert;
use crate::error::{convert as convert_error, scope_of};
use crate::source::{endpoint, pipeline_runs_on, sha_matches};
use crate::wire::{self, fields};
use dora_core::diagnostics::codes;
use dora_core::{
    Config, DiagnosticSeverity, EnvironmentKind, IncidentRequest, IncidentSource, PipelineRuns,
    SourceError, TimeRange, Timestamp,
};
use dora_http::{Pagination, StatusCode};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Stable finding codes of the inventory. Where a finding is also a report
/// diagnostic, the code is the diagnostic's
/// ([`codes::NO_PRODUCTION_ENVIRONMENT`], [`codes::PIPELINES_WITHOUT_DEPLOYMENTS`],
/// [`codes::INCIDENTS_WITHOUT_SEVERITY`], [`codes::NO_INCIDENT_DATA`]).
pub mod finding_codes {
    /// An endpoint answered 403: the token lacks a scope.
    pub const MISSING_SCOPE: &str = "missing_scope";
    /// The repository has production environments but no production
    /// deployment in the window.
    pub const NO_PRODUCTION_DEPLOYMENTS: &str = "no_production_deployments";
    /// The branching model has no production branch enabled.
    pub const NO_PRODUCTION_BRANCH: &str = "no_production_branch";
    /// The branching model's production branch is not the main branch.
    pub const PRODUCTION_BRANCH_NOT_MAIN: &str = "production_branch_not_main";
    /// Bot accounts authored pull requests or commits.
    pub const BOT_ACCOUNTS: &str = "bot_accounts";
    /// More deployments in the window than the inventory reads (two pages).
    pub const DEPLOYMENTS_TRUNCATED: &str = "deployments_truncated";
    /// How many incidents the severity filter keeps.
    pub const SEVERITY_FILTER: &str = "severity_filter";
    /// The default severity filter keeps none of the incidents in the window.
    pub const SEVERITY_FILTER_KEEPS_NONE: &str = "severity_filter_keeps_none";
}

/// One finding: a stable code, a severity, what was seen and the fix in one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable snake_case code (the report diagnostic's where they overlap).
    pub code: String,
    /// How serious.
    pub severity: DiagnosticSeverity,
    /// The repository concerned (`None`: the workspace or the incident tool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// What was seen.
    pub message: String,
    /// What to change, in one line.
    pub fix: String,
}

impl Finding {
    fn new(
        code: &str,
        severity: DiagnosticSeverity,
        repository: Option<&str>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            code: code.to_owned(),
            severity,
            repository: repository.map(str::to_owned),
            message: message.into(),
            fix: fix.into(),
        }
    }
}

/// A deployment environment as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentInfo {
    /// Name (`production`, `prod-eu`, ...).
    pub name: String,
    /// Bitbucket's environment type (`Production`, `Staging`, `Test`), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_type: Option<String>,
    /// Counted as production (by type, never by name).
    pub production: bool,
}

/// Deployments in the window of one environment with one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentCount {
    /// Environment name.
    pub environment: String,
    /// Whether the environment is production.
    pub production: bool,
    /// `succeeded`, `failed`, `stopped`, `in_progress`, `undeployed`, or
    /// `unreadable` (a deployment the converter could not read).
    pub status: String,
    /// How many.
    pub count: u32,
}

/// A branch type of the branching model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchType {
    /// `feature`, `bugfix`, `release`, `hotfix`.
    pub kind: String,
    /// Its prefix (`release/`).
    pub prefix: String,
}

/// The repository's effective branching model (`GET …/branching-model`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchingModel {
    /// The production branch, when enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production: Option<String>,
    /// The development branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub development: Option<String>,
    /// Enabled branch types and their prefixes.
    #[serde(default)]
    pub branch_types: Vec<BranchType>,
}

/// Merge strategies of the recent merged pull requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeStrategies {
    /// Merge commits (two parents).
    pub merge_commit: u32,
    /// Squash merges (one parent, not the source branch's commit).
    pub squash: u32,
    /// Fast-forward merges (the merge commit is the source branch's commit).
    pub fast_forward: u32,
    /// The merge commit was not on the production branch's newest page (or
    /// the pull request names none): unknown.
    pub unknown: u32,
}

/// An endpoint that answered 403.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forbidden {
    /// The endpoint (`pipelines`, `deployments`, ...).
    pub endpoint: String,
    /// The granular API-token scope it needs (`read:pipeline:bitbucket`).
    pub scope: String,
    /// The classic OAuth scope (`pipeline`).
    pub oauth_scope: String,
}

/// What one repository exposes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepositoryInventory {
    /// Slug.
    pub slug: String,
    /// The main branch (`None`: empty repository).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main_branch: Option<String>,
    /// Environments.
    pub environments: Vec<EnvironmentInfo>,
    /// Deployments in the window, by environment and status.
    pub deployments: Vec<DeploymentCount>,
    /// Pipeline runs on the production branch in the window (newest page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipelines: Option<PipelineRuns>,
    /// Pipelines listed on the newest page, any branch (`None`: not readable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipelines_listed: Option<u32>,
    /// The branching model (`None`: not readable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branching_model: Option<BranchingModel>,
    /// Merge strategies of the recent merged pull requests.
    pub merge_strategies: MergeStrategies,
    /// Bot accounts seen (pull request authors and committers).
    pub bots: Vec<String>,
    /// Endpoints that answered 403.
    pub forbidden: Vec<Forbidden>,
    /// Requests this repository cost.
    pub requests: u64,
}

/// What the incident tool exposes in the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentInventory {
    /// The tool (`pagerduty`, ...).
    pub source: String,
    /// Incidents opened in the window.
    pub incidents: u32,
    /// Incidents per service (`(none)` for none).
    pub services: BTreeMap<String, u32>,
    /// Incidents per normalised severity (`none` when the tool gave none).
    pub severities: BTreeMap<String, u32>,
    /// The severities the configured filter counts (default P1, P2).
    pub severity_filter: Vec<String>,
    /// Incidents the filter keeps.
    pub kept: u32,
}

/// The whole audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    /// The workspace.
    pub workspace: String,
    /// The window audited: its start (inclusive)...
    pub window_start: Timestamp,
    /// ...and end (exclusive).
    pub window_end: Timestamp,
    /// One entry per repository.
    pub repositories: Vec<RepositoryInventory>,
    /// The incident tool, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incidents: Option<IncidentInventory>,
    /// Every finding, repositories first.
    pub findings: Vec<Finding>,
}

impl Inventory {
    /// Pretty JSON (the `--format json` output).
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// Add the incident tool's audit and its findings.
    pub fn with_incidents(mut self, incidents: IncidentInventory) -> Self {
        self.findings.extend(incident_findings(&incidents));
        self.incidents = Some(incidents);
        self
    }
}

// The few fields the audit needs beyond the shared wire types (the branching
// model's are in `wire`, shared with the collection path).
#[derive(Debug, Default, Deserialize)]
struct WireCommitRef {
    hash: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct WireSource {
    commit: Option<WireCommitRef>,
}

#[derive(Debug, Default, Deserialize)]
struct WirePullRequest {
    author: Option<wire::Account>,
    source: Option<WireSource>,
    merge_commit: Option<WireCommitRef>,
    links: Option<wire::Links>,
}

#[derive(Debug, Default, Deserialize)]
struct WireCommitAuthor {
    user: Option<wire::Account>,
    raw: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct WireCommit {
    hash: Option<String>,
    author: Option<WireCommitAuthor>,
    #[serde(default)]
    parents: Vec<WireCommitRef>,
}

#[derive(Debug, Default, Deserialize)]
struct WirePage<T> {
    #[serde(default = "Vec::new")]
    values: Vec<T>,
}

use crate::source::endpoint::BRANCHING_MODEL;
const INVENTORY_PULL_REQUESTS: &str =
    "next,values.author,values.source.commit.hash,values.merge_commit.hash,values.links.html.href";
const INVENTORY_COMMITS: &str =
    "next,values.hash,values.parents.hash,values.author.raw,values.author.user";
const INVENTORY_ENVIRONMENTS: &str = "next,values.uuid,values.name,values.environment_type.name";

/// The granular scope, and what to do, for an endpoint that answered 403.
fn forbidden(endpoint: &str) -> Forbidden {
    let (oauth, scope) = if endpoint == BRANCHING_MODEL {
        ("repository", "read:repository:bitbucket")
    } else {
        scope_of(endpoint)
    };
    Forbidden {
        endpoint: endpoint.to_owned(),
        scope: scope.to_owned(),
        oauth_scope: oauth.to_owned(),
    }
}

/// A 403 is a finding; anything else an error.
enum Answer<T> {
    Ok(T),
    Forbidden,
    /// 404 (pipelines disabled, no branching model): nothing to say.
    Absent,
}

fn answer<T>(
    result: Result<T, dora_http::Error>,
    inv: &Bitbucket,
    slug: &str,
) -> Result<Answer<T>, SourceError> {
    match result {
        Ok(v) => Ok(Answer::Ok(v)),
        Err(e) if e.status() == Some(StatusCode::FORBIDDEN) => Ok(Answer::Forbidden),
        Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(Answer::Absent),
        Err(e) => Err(convert_error(e, inv.ctx(Some(slug)))),
    }
}

fn is_bot(account: &wire::Account, config: &Config) -> Option<String> {
    let name = account
        .display_name
        .clone()
        .or_else(|| account.nickname.clone())?;
    let by_type = config.bots.use_account_type && account.kind.as_deref() == Some("app_user");
    let lower = name.to_lowercase();
    let by_name = config
        .bots
        .name_patterns
        .iter()
        .any(|p| !p.is_empty() && lower.contains(&p.to_lowercase()));
    (by_type || by_name).then_some(name)
}

impl Bitbucket {
    /// Audit the workspace (or the listed repositories) for `window`: at most
    /// 8 `GET` requests per repository (see the [module docs](crate::inventory)),
    /// never a write. Bots are recognised by `config.bots`.
    ///
    /// Errors: authentication (401), the workspace listing, or a network or
    /// server failure of any request. A 403 is not an error: it becomes a
    /// [`finding_codes::MISSING_SCOPE`] finding and the audit goes on.
    pub async fn inventory(
        &self,
        window: TimeRange,
        config: &Config,
    ) -> Result<Inventory, SourceError> {
        let listing = self.client.with_fresh_stats();
        let repos = self.repositories(&listing).await?;
        let mut inventory = Inventory {
            workspace: self.workspace.clone(),
            window_start: window.start,
            window_end: window.end,
            repositories: Vec::new(),
            incidents: None,
            findings: Vec::new(),
        };
        for (slug, main, _) in repos {
            let (repo, findings) = self
                .inventory_repository(&slug, main, window, config)
                .await?;
            inventory.repositories.push(repo);
            inventory.findings.extend(findings);
        }
        Ok(inventory)
    }

    async fn inventory_repository(
        &self,
        slug: &str,
        main_branch: Option<String>,
        window: TimeRange,
        config: &Config,
    ) -> Result<(RepositoryInventory, Vec<Finding>), SourceError> {
        let client = self.client.with_fresh_stats();
        let ws = self.workspace.clone();
        let mut forbidden_at: Vec<&str> = Vec::new();

        // 1. Main branch (only when not listed).
        let main_branch = match main_branch {
            Some(m) => m,
            None => {
                let req = client
                    .request(endpoint::REPOSITORY, &["repositories", &ws, slug])
                    .query("fields", fields::REPOSITORY);
                match answer(client.get_json::<wire::Repository>(&req).await, self, slug)? {
                    Answer::Ok(r) => r.mainbranch.and_then(|b| b.name).unwrap_or_default(),
                    Answer::Forbidden => {
                        forbidden_at.push(endpoint::REPOSITORY);
                        String::new()
                    }
                    Answer::Absent => String::new(),
                }
            }
        };
        let main_branch = (!main_branch.is_empty()).then_some(main_branch);

        // 2–5. Environments, deployments (two pages at most), branching model,
        //      concurrently.
        let env_req = client
            .request(
                endpoint::ENVIRONMENTS,
                &["repositories", &ws, slug, "environments"],
            )
            .query("pagelen", "100")
            .query("fields", INVENTORY_ENVIRONMENTS);
        let dep_req = client
            .request(
                endpoint::DEPLOYMENTS,
                &["repositories", &ws, slug, "deployments"],
            )
            .query("pagelen", "100")
            .query("fields", fields::DEPLOYMENTS);
        let model_req = client.request(
            BRANCHING_MODEL,
            &["repositories", &ws, slug, "branching-model"],
        );
        let deployments_two_pages = async {
            let mut pager = client.pages::<wire::Deployment>(dep_req, Pagination::bitbucket());
            let mut all = Vec::new();
            let mut more = false;
            // Two pages at most: the rest is left unread (and said).
            for _ in 0..2 {
                let Some(page) = pager.next_page().await? else {
                    break;
                };
                all.extend(page.items);
                more = page.has_next;
            }
            Ok::<_, dora_http::Error>((all, more))
        };
        let (envs, deps, model) = tokio::join!(
            client.get_json::<WirePage<wire::Environment>>(&env_req),
            deployments_two_pages,
            client.get_json::<wire::BranchingModel>(&model_req),
        );
        let envs = match answer(envs, self, slug)? {
            Answer::Ok(p) => p.values,
            Answer::Forbidden => {
                forbidden_at.push(endpoint::ENVIRONMENTS);
                Vec::new()
            }
            Answer::Absent => Vec::new(),
        };
        let (deps, deps_truncated) = match answer(deps, self, slug)? {
            Answer::Ok(d) => d,
            Answer::Forbidden => {
                forbidden_at.push(endpoint::DEPLOYMENTS);
                (Vec::new(), false)
            }
            Answer::Absent => (Vec::new(), false),
        };
        let branching_model = match answer(model, self, slug)? {
            Answer::Ok(m) => Some(branching_model(m, main_branch.as_deref())),
            Answer::Forbidden => {
                forbidden_at.push(BRANCHING_MODEL);
                None
            }
            Answer::Absent => None,
        };
        let production_branch = branching_model
            .as_ref()
            .and_then(|m| m.production.clone())
            .or_else(|| main_branch.clone());

        let environments_by_uuid = convert::environments(slug, &envs);
        let mut environments: Vec<EnvironmentInfo> = envs
            .iter()
            .map(|e| {
                let environment_type = e.environment_type.as_ref().and_then(|t| t.name.clone());
                EnvironmentInfo {
                    name: e
                        .name
                        .clone()
                        .or_else(|| e.uuid.clone())
                        .unwrap_or_default(),
                    production: convert::environment_kind(environment_type.as_deref())
                        == EnvironmentKind::Production,
                    environment_type,
                }
            })
            .collect();
        environments.sort_by(|a, b| (!a.production, &a.name).cmp(&(!b.production, &b.name)));

        // Two pages read while more exist: the counts are short only when the
        // oldest deployment read is still inside the window.
        let deps_truncated = deps_truncated
            && deps
                .iter()
                .filter_map(|d| {
                    let s = d.state.as_ref()?;
                    convert::time(s.started_on.as_deref().or(s.start_date.as_deref()))
                })
                .min()
                .is_none_or(|oldest| oldest >= window.start);
        let mut counts: BTreeMap<(bool, String, String), u32> = BTreeMap::new();
        for d in &deps {
            let key = match convert::deployment(slug, d, &environments_by_uuid) {
                Ok(d) => {
                    // Undated (planned) deployments count where they are listed.
                    if d.time()
                        .is_some_and(|t| t < window.start || t >= window.end)
                    {
                        continue;
                    }
                    (
                        d.environment_kind != EnvironmentKind::Production,
                        d.environment,
                        d.status.as_str().to_owned(),
                    )
                }
                Err(_) => {
                    let env = d
                        .environment
                        .as_ref()
                        .and_then(|e| {
                            e.name.clone().or_else(|| {
                                e.uuid
                                    .as_ref()
                                    .and_then(|u| environments_by_uuid.get(u))
                                    .map(|e| e.name.clone())
                            })
                        })
                        .unwrap_or_else(|| "(unknown)".to_owned());
                    (true, env, "unreadable".to_owned())
                }
            };
            *counts.entry(key).or_default() += 1;
        }
        let deployments: Vec<DeploymentCount> = counts
            .into_iter()
            .map(|((not_prod, environment, status), count)| DeploymentCount {
                environment,
                production: !not_prod,
                status,
                count,
            })
            .collect();

        // 6–8. Merged pull requests, the production branch's newest commits,
        //      the newest pipelines, concurrently.
        let pr_req = client
            .request(
                endpoint::PULL_REQUESTS,
                &["repositories", &ws, slug, "pullrequests"],
            )
            .query("state", "MERGED")
            .query("sort", "-updated_on")
            .query("pagelen", "50")
            .query("fields", INVENTORY_PULL_REQUESTS);
        let commits = async {
            match production_branch.as_deref() {
                Some(branch) => {
                    let req = client
                        .request(
                            endpoint::COMMITS,
                            &["repositories", &ws, slug, "commits", branch],
                        )
                        .query("pagelen", "100")
                        .query("fields", INVENTORY_COMMITS);
                    client.get_json::<WirePage<WireCommit>>(&req).await
                }
                None => Ok(WirePage::default()),
            }
        };
        let (prs, commits, pipelines) = tokio::join!(
            client.get_json::<WirePage<WirePullRequest>>(&pr_req),
            commits,
            self.pipelines_page(&client, slug),
        );
        let prs = match answer(prs, self, slug)? {
            Answer::Ok(p) => p.values,
            Answer::Forbidden => {
                forbidden_at.push(endpoint::PULL_REQUESTS);
                Vec::new()
            }
            Answer::Absent => Vec::new(),
        };
        let commits = match answer(commits, self, slug)? {
            Answer::Ok(p) => p.values,
            Answer::Forbidden => {
                forbidden_at.push(endpoint::COMMITS);
                Vec::new()
            }
            Answer::Absent => Vec::new(),
        };
        let pipelines = match answer(pipelines, self, slug)? {
            Answer::Ok(p) => Some(p),
            Answer::Forbidden => {
                forbidden_at.push(endpoint::PIPELINES);
                None
            }
            Answer::Absent => None,
        };

        let merge_strategies = merge_strategies(&prs, &commits);
        let mut bots = BTreeSet::new();
        for p in &prs {
            if let Some(name) = p.author.as_ref().and_then(|a| is_bot(a, config)) {
                bots.insert(name);
            }
        }
        for c in &commits {
            let Some(author) = &c.author else { continue };
            let name = match &author.user {
                Some(user) => is_bot(user, config),
                None => author.raw.as_deref().and_then(|raw| {
                    let name = raw.split('<').next().unwrap_or(raw).trim();
                    let lower = raw.to_lowercase();
                    config
                        .bots
                        .name_patterns
                        .iter()
                        .any(|p| !p.is_empty() && lower.contains(&p.to_lowercase()))
                        .then(|| name.to_owned())
                }),
            };
            if let Some(name) = name {
                bots.insert(name);
            }
        }
        let repo_url = prs.iter().find_map(|p| {
            p.links
                .as_ref()
                .and_then(|l| l.html.as_ref())
                .and_then(|h| h.href.as_deref())
                .and_then(|u| u.rsplit_once("/pull-requests/"))
                .map(|(root, _)| root.to_owned())
        });
        let runs = match (&pipelines, production_branch.as_deref()) {
            (Some(page), Some(branch)) => {
                pipeline_runs_on(page, slug, branch, repo_url.as_deref(), window)
            }
            _ => None,
        };

        let repo = RepositoryInventory {
            slug: slug.to_owned(),
            main_branch,
            environments,
            deployments,
            pipelines: runs,
            pipelines_listed: pipelines
                .as_ref()
                .map(|p| u32::try_from(p.values.len()).unwrap_or(u32::MAX)),
            branching_model,
            merge_strategies,
            bots: bots.into_iter().collect(),
            forbidden: forbidden_at.iter().map(|e| forbidden(e)).collect(),
            requests: client.stats().total_requests(),
        };
        let findings = repository_findings(&repo, deps_truncated);
        Ok((repo, findings))
    }
}

pub(crate) fn branching_model(m: wire::BranchingModel, main: Option<&str>) -> BranchingModel {
    let name = |b: wire::ModelBranch| -> Option<String> {
        if b.enabled == Some(false) {
            return None;
        }
        if b.use_mainbranch == Some(true) {
            return main
                .map(str::to_owned)
                .or(b.branch.and_then(|r| r.name))
                .or(b.name);
        }
        b.branch.and_then(|r| r.name).or(b.name)
    };
    BranchingModel {
        production: m.production.and_then(name),
        development: m.development.and_then(name),
        branch_types: m
            .branch_types
            .into_iter()
            .filter(|t| t.enabled != Some(false))
            .filter_map(|t| {
                Some(BranchType {
                    kind: t.kind?,
                    prefix: t.prefix.unwrap_or_default(),
                })
            })
            .collect(),
    }
}

/// Merge commit (two parents), squash (one parent, a new commit) or
/// fast-forward (the merge commit is the source branch's own commit), from
/// the production branch's newest commits; unknown when the merge commit is
/// not among them.
fn merge_strategies(prs: &[WirePullRequest], commits: &[WireCommit]) -> MergeStrategies {
    let mut out = MergeStrategies::default();
    for p in prs {
        let Some(merge) = p.merge_commit.as_ref().and_then(|m| m.hash.as_deref()) else {
            out.unknown += 1;
            continue;
        };
        let found = commits
            .iter()
            .find(|c| c.hash.as_deref().is_some_and(|h| sha_matches(h, merge)));
        let source = p
            .source
            .as_ref()
            .and_then(|s| s.commit.as_ref())
            .and_then(|c| c.hash.as_deref());
        match found {
            Some(c) if c.parents.len() >= 2 => out.merge_commit += 1,
            Some(c) if c.parents.len() == 1 => {
                if source.is_some_and(|s| sha_matches(s, merge)) {
                    out.fast_forward += 1;
                } else {
                    out.squash += 1;
                }
            }
            _ => out.unknown += 1,
        }
    }
    out
}

fn repository_findings(repo: &RepositoryInventory, deployments_truncated: bool) -> Vec<Finding> {
    use DiagnosticSeverity::{Error, Info, Warning};
    let slug = Some(repo.slug.as_str());
    let mut out = Vec::new();
    for f in &repo.forbidden {
        out.push(Finding::new(
            finding_codes::MISSING_SCOPE,
            Error,
            slug,
            format!(
                "`{}` answered 403: the token lacks `{}`",
                f.endpoint, f.scope
            ),
            format!(
                "give the token the scope `{}` (OAuth: `{}`)",
                f.scope, f.oauth_scope
            ),
        ));
    }
    let can_see_deployments = !repo
        .forbidden
        .iter()
        .any(|f| f.endpoint == endpoint::ENVIRONMENTS || f.endpoint == endpoint::DEPLOYMENTS);
    let has_prod_env = repo.environments.iter().any(|e| e.production);
    // Planned deployments that never ran (`undeployed`) are not deployments.
    let prod_deployments: u32 = repo
        .deployments
        .iter()
        .filter(|d| d.production && d.status != "undeployed")
        .map(|d| d.count)
        .sum();
    if can_see_deployments && !has_prod_env {
        out.push(Finding::new(
            codes::NO_PRODUCTION_ENVIRONMENT,
            Warning,
            slug,
            "no deployment environment of type Production: deployment frequency falls back to merges",
            "add an environment of type Production (Repository settings → Deployments) and `deployment: <its name>` on the deploy step",
        ));
    } else if can_see_deployments && prod_deployments == 0 {
        out.push(Finding::new(
            finding_codes::NO_PRODUCTION_DEPLOYMENTS,
            Warning,
            slug,
            "production environments exist but no production deployment is recorded in the window",
            "check that the deploy step of bitbucket-pipelines.yml names the production environment (`deployment: production`)",
        ));
    }
    if let Some(p) = &repo.pipelines
        && prod_deployments == 0
    {
        out.push(Finding::new(
            codes::PIPELINES_WITHOUT_DEPLOYMENTS,
            Warning,
            slug,
            format!(
                "pipelines ran {} time(s) on `{}` in the window (latest {}{}) but no production deployment is recorded",
                p.runs,
                p.branch,
                p.latest_at.format("%Y-%m-%d %H:%M"),
                p.latest_url
                    .as_deref()
                    .map(|u| format!(", {u}"))
                    .unwrap_or_default()
            ),
            "add `deployment: production` to the deploy step of bitbucket-pipelines.yml (pipeline runs are not taken as deployments)",
        ));
    }
    if deployments_truncated {
        out.push(Finding::new(
            finding_codes::DEPLOYMENTS_TRUNCATED,
            Info,
            slug,
            "more than 200 deployments in the window: the counts cover the newest 200",
            "nothing to change: `dora report` reads every page",
        ));
    }
    match &repo.branching_model {
        Some(m) if m.production.is_none() => out.push(Finding::new(
            finding_codes::NO_PRODUCTION_BRANCH,
            Info,
            slug,
            format!(
                "the branching model has no production branch: the main branch `{}` is taken as production",
                repo.main_branch.as_deref().unwrap_or("?")
            ),
            "enable a production branch in Repository settings → Branching model if another branch ships",
        )),
        Some(m) if m.production.is_some() && m.production != repo.main_branch => {
            out.push(Finding::new(
                finding_codes::PRODUCTION_BRANCH_NOT_MAIN,
                Info,
                slug,
                format!(
                    "the branching model's production branch `{}` is not the main branch `{}`",
                    m.production.as_deref().unwrap_or_default(),
                    repo.main_branch.as_deref().unwrap_or("?")
                ),
                format!(
                    "nothing to change if `{}` is what ships: merges and pipelines are read on it",
                    m.production.as_deref().unwrap_or_default()
                ),
            ))
        }
        _ => {}
    }
    if !repo.bots.is_empty() {
        out.push(Finding::new(
            finding_codes::BOT_ACCOUNTS,
            Info,
            slug,
            format!("bot accounts seen: {}", repo.bots.join(", ")),
            "their pull requests are left out of lead time; add other automation to `[bots] name_patterns` in dora.toml",
        ));
    }
    out
}

/// Audit an incident tool for `window`: incidents per service and severity,
/// and how many `config.severities` (default P1, P2) keeps. One collection of
/// the window, read-only.
pub async fn incident_inventory(
    source: &dyn IncidentSource,
    window: TimeRange,
    config: &Config,
) -> Result<IncidentInventory, SourceError> {
    let incidents = source.incidents(&IncidentRequest::new(window)).await?;
    let mut services = BTreeMap::new();
    let mut severities = BTreeMap::new();
    let mut kept = 0u32;
    for i in &incidents {
        *services
            .entry(i.service.clone().unwrap_or_else(|| "(none)".to_owned()))
            .or_insert(0u32) += 1;
        *severities
            .entry(
                i.severity
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "none".to_owned()),
            )
            .or_insert(0u32) += 1;
        if config.counts_severity(i.severity) {
            kept += 1;
        }
    }
    Ok(IncidentInventory {
        source: source.name().to_owned(),
        incidents: u32::try_from(incidents.len()).unwrap_or(u32::MAX),
        services,
        severities,
        severity_filter: config.severities.iter().map(|s| s.to_string()).collect(),
        kept,
    })
}

fn incident_findings(inc: &IncidentInventory) -> Vec<Finding> {
    use DiagnosticSeverity::{Info, Warning};
    let mut out = Vec::new();
    if inc.incidents == 0 {
        out.push(Finding::new(
            codes::NO_INCIDENT_DATA,
            Warning,
            None,
            format!("{}: no incident opened in the window", inc.source),
            "check the token's account and the window (--days, --until); recovery time needs incidents",
        ));
        return out;
    }
    let none = inc.severities.get("none").copied().unwrap_or(0);
    if none > 0 {
        out.push(Finding::new(
            codes::INCIDENTS_WITHOUT_SEVERITY,
            Warning,
            None,
            format!(
                "{}: {none} of {} incident(s) have no severity and are never counted",
                inc.source, inc.incidents
            ),
            "set priorities (PagerDuty) or severities on incidents in the tool",
        ));
    }
    if inc.kept == 0 {
        out.push(Finding::new(
            finding_codes::SEVERITY_FILTER_KEEPS_NONE,
            Warning,
            None,
            format!(
                "{}: the severity filter ({}) keeps none of {} incident(s)",
                inc.source,
                inc.severity_filter.join(", "),
                inc.incidents
            ),
            "set `severities` in dora.toml to the severities your tool uses",
        ));
    } else {
        out.push(Finding::new(
            finding_codes::SEVERITY_FILTER,
            Info,
            None,
            format!(
                "{}: the severity filter ({}) keeps {} of {} incident(s)",
                inc.source,
                inc.severity_filter.join(", "),
                inc.kept,
                inc.incidents
            ),
            "widen `severities` in dora.toml if lower severities are outages too",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(hash: &str, parents: usize) -> WireCommit {
        WireCommit {
            hash: Some(hash.into()),
            author: None,
            parents: (0..parents)
                .map(|i| WireCommitRef {
                    hash: Some(format!("p{i}")),
                })
                .collect(),
        }
    }

    fn pr(merge: Option<&str>, source: &str) -> WirePullRequest {
        WirePullRequest {
            merge_commit: merge.map(|m| WireCommitRef {
                hash: Some(m.into()),
            }),
            source: Some(WireSource {
                commit: Some(WireCommitRef {
                    hash: Some(source.into()),
                }),
            }),
            ..WirePullRequest::default()
        }
    }

    #[test]
    fn merge_strategies_from_parents_and_source_commit() {
        let commits = [
            commit("aaaaaaaaaaaa1111", 2),
            commit("bbbbbbbbbbbb2222", 1),
            commit("cccccccccccc3333", 1),
        ];
        let prs = [
            pr(Some("aaaaaaaaaaaa"), "f1f1f1f1f1f1"),
            pr(Some("bbbbbbbbbbbb"), "ffffffffffff"),
            pr(Some("cccccccccccc"), "cccccccccccc3333"),
            pr(Some("dddddddddddd"), "eeeeeeeeeeee"),
            pr(None, "eeeeeeeeeeee"),
        ];
        let s = merge_strategies(&prs, &commits);
        assert_eq!(
            s,
            MergeStrategies {
                merge_commit: 1,
                squash: 1,
                fast_forward: 1,
                unknown: 2
            }
        );
    }

    #[test]
    fn branching_model_uses_the_main_branch_when_told() {
        let m: wire::BranchingModel = serde_json::from_str(
            r#"{"development":{"name":"develop","use_mainbranch":false,"branch":{"name":"develop"}},
                "production":{"name":"main","use_mainbranch":true},
                "branch_types":[{"kind":"release","prefix":"release/"}]}"#,
        )
        .expect("model");
        let m = branching_model(m, Some("master"));
        assert_eq!(m.production.as_deref(), Some("master"));
        assert_eq!(m.development.as_deref(), Some("develop"));
        assert_eq!(m.branch_types[0].prefix, "release/");
    }

    #[tokio::test]
    async fn incident_audit_counts_services_severities_and_what_the_filter_keeps() {
        use chrono::TimeZone;
        use dora_core::{Dataset, Incident, MemorySource, Severity};
        let at = |d| chrono::Utc.with_ymd_and_hms(2026, 9, d, 12, 0, 0).unwrap();
        let mut data = Dataset::new();
        for (id, sev, day) in [
            ("a", Some(Severity::P1), 2),
            ("b", Some(Severity::P3), 3),
            ("c", None, 4),
            ("old", Some(Severity::P1), 30),
        ] {
            let mut i = Incident::new("pagerduty", id, sev, at(day), None);
            i.service = (id != "c").then(|| "web".to_string());
            data.incidents.push(i);
        }
        let window = TimeRange::new(at(1), at(20));
        let source = MemorySource::new(data);
        let audit = incident_inventory(&source, window, &Config::default())
            .await
            .expect("audit");
        assert_eq!(audit.incidents, 3);
        assert_eq!(audit.kept, 1);
        assert_eq!(audit.services.get("web"), Some(&2));
        assert_eq!(audit.services.get("(none)"), Some(&1));
        assert_eq!(audit.severities.get("none"), Some(&1));
        let codes: Vec<String> = incident_findings(&audit)
            .into_iter()
            .map(|f| f.code)
            .collect();
        assert_eq!(codes, ["incidents_without_severity", "severity_filter"]);
        let none = IncidentInventory { kept: 0, ..audit };
        assert!(
            incident_findings(&none)
                .iter()
                .any(|f| f.code == finding_codes::SEVERITY_FILTER_KEEPS_NONE)
        );
    }
}
