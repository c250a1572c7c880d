//! The normalised, source-independent event model.
//!
//! Every timestamp is UTC. Every struct has public fields and a constructor so
//! that vendors can build events outside this crate; optional fields default to
//! "unknown" and can be filled in with struct-update syntax or the `with_*`
//! helpers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A UTC timestamp.
pub type Timestamp = DateTime<Utc>;

/// Whether an account is a person or an automation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ActorKind {
    /// A human user.
    #[default]
    User,
    /// A bot or app account (Bitbucket `app_user`, GitHub `Bot`, ...).
    Bot,
    /// The source could not tell.
    Unknown,
}

/// A person or automation that authored a commit or pull request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Actor {
    /// Stable identifier in the source system (Bitbucket account UUID, email, ...).
    pub id: String,
    /// Human-readable name.
    pub display_name: String,
    /// Person or automation, as the source reports it.
    #[serde(default)]
    pub kind: ActorKind,
}

impl Actor {
    /// A human user.
    pub fn user(id: impl Into<String>, display_name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            display_name: display_name.into(),
            kind: ActorKind::User,
        }
    }

    /// A bot account.
    pub fn bot(id: impl Into<String>, display_name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            display_name: display_name.into(),
            kind: ActorKind::Bot,
        }
    }
}

/// A repository in scope, with what attribution needs to know about it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Repository {
    /// The repository's slug, unique within the dataset (e.g. `payments-api`).
    pub slug: String,
    /// Its main (production) branch, when the source knows it.
    #[serde(default)]
    pub main_branch: Option<String>,
    /// The repository's web page (e.g. `https://bitbucket.org/acme/web`);
    /// commit links are `{url}/commits/{sha}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The development branch of the repository's branching model (gitflow's
    /// `develop`), when the source knows one: its merges into the production
    /// branch are promotions ([`crate::PromotionRules`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub development_branch: Option<String>,
    /// The branching model's hotfix branch prefix (e.g. `hotfix/`), when
    /// enabled: it joins the configured hotfix prefixes for this repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hotfix_prefix: Option<String>,
    /// The branching model's release branch prefix (e.g. `release/`), when
    /// enabled: it joins the configured promotion prefixes for this repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_prefix: Option<String>,
}

impl Repository {
    /// A repository with a known main branch.
    pub fn new(slug: impl Into<String>, main_branch: impl Into<String>) -> Self {
        Self {
            slug: slug.into(),
            main_branch: Some(main_branch.into()),
            url: None,
            development_branch: None,
            hotfix_prefix: None,
            release_prefix: None,
        }
    }
}

/// A git commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    /// Repository slug.
    pub repository: String,
    /// Full 40-hex sha (abbreviated shas are accepted but resolve less reliably).
    pub sha: String,
    /// Parent shas; parents absent from the dataset are tolerated (partial history).
    #[serde(default)]
    pub parents: Vec<String>,
    /// Author time.
    pub authored_at: Timestamp,
    /// Committer time (equal to the author time when the source has only one date).
    pub committed_at: Timestamp,
    /// The author, when known.
    #[serde(default)]
    pub author: Option<Actor>,
    /// Full message, subject and body.
    #[serde(default)]
    pub message: String,
}

impl Commit {
    /// A commit whose author and committer times are the same.
    pub fn new(
        repository: impl Into<String>,
        sha: impl Into<String>,
        parents: Vec<String>,
        at: Timestamp,
        message: impl Into<String>,
    ) -> Self {
        Self {
            repository: repository.into(),
            sha: sha.into(),
            parents,
            authored_at: at,
            committed_at: at,
            author: None,
            message: message.into(),
        }
    }
}

/// A pull request's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PullRequestState {
    /// Still open.
    Open,
    /// Merged.
    Merged,
    /// Declined (closed without merging).
    Declined,
    /// Superseded by another pull request.
    Superseded,
}

/// A pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    /// Repository slug.
    pub repository: String,
    /// Id, unique within the repository.
    pub id: u64,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Author.
    pub author: Actor,
    /// Source branch name.
    pub source_branch: String,
    /// Destination branch name.
    pub destination_branch: String,
    /// State.
    pub state: PullRequestState,
    /// When it was opened.
    pub created_at: Timestamp,
    /// First comment, approval or change request by anyone but the author.
    #[serde(default)]
    pub first_review_at: Option<Timestamp>,
    /// When it was merged (from the merge event, never from `updated_on`).
    #[serde(default)]
    pub merged_at: Option<Timestamp>,
    /// The merge commit's sha (may be abbreviated, as Bitbucket lists return 12 chars).
    #[serde(default)]
    pub merge_commit: Option<String>,
    /// The PR's own commits, when the source knows them.
    #[serde(default)]
    pub commits: Vec<String>,
    /// The pull request's web page (Bitbucket `links.html.href`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl PullRequest {
    /// A merged pull request.
    #[allow(clippy::too_many_arguments)]
    pub fn merged(
        repository: impl Into<String>,
        id: u64,
        author: Actor,
        source_branch: impl Into<String>,
        destination_branch: impl Into<String>,
        created_at: Timestamp,
        merged_at: Timestamp,
        merge_commit: impl Into<String>,
    ) -> Self {
        Self {
            repository: repository.into(),
            id,
            title: String::new(),
            author,
            source_branch: source_branch.into(),
            destination_branch: destination_branch.into(),
            state: PullRequestState::Merged,
            created_at,
            first_review_at: None,
            merged_at: Some(merged_at),
            merge_commit: Some(merge_commit.into()),
            commits: Vec::new(),
            url: None,
        }
    }
}

/// What an environment is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EnvironmentKind {
    /// Production: what users run.
    Production,
    /// Staging / pre-production.
    Staging,
    /// Test.
    Test,
    /// Anything else, or unknown.
    #[default]
    Other,
}

/// A deployment environment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Environment {
    /// Repository slug.
    pub repository: String,
    /// Name as configured (`production`, `prod-eu`, ...).
    pub name: String,
    /// Kind (Bitbucket's environment *type*).
    pub kind: EnvironmentKind,
}

impl Environment {
    /// An environment.
    pub fn new(
        repository: impl Into<String>,
        name: impl Into<String>,
        kind: EnvironmentKind,
    ) -> Self {
        Self {
            repository: repository.into(),
            name: name.into(),
            kind,
        }
    }
}

/// A deployment's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeploymentStatus {
    /// Completed successfully.
    Succeeded,
    /// Completed with a failure.
    Failed,
    /// Stopped by a person before it completed.
    Stopped,
    /// Still running.
    InProgress,
    /// Planned, never ran (Bitbucket `UNDEPLOYED`).
    Undeployed,
}

impl DeploymentStatus {
    /// The stable name used in JSON, CSV and frames (`succeeded`, `in_progress`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Stopped => "stopped",
            Self::InProgress => "in_progress",
            Self::Undeployed => "undeployed",
        }
    }
}

/// A deployment of one commit to one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    /// Repository slug.
    pub repository: String,
    /// Id, unique within the repository.
    pub id: String,
    /// Environment name.
    pub environment: String,
    /// Environment kind.
    pub environment_kind: EnvironmentKind,
    /// The deployed commit's sha.
    pub commit: String,
    /// When it started.
    #[serde(default)]
    pub started_at: Option<Timestamp>,
    /// When it finished.
    #[serde(default)]
    pub finished_at: Option<Timestamp>,
    /// Outcome.
    pub status: DeploymentStatus,
    /// The release's name as people know it (Bitbucket `release.name`, e.g. `#186`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// The deployment's web page (Bitbucket `release.url`: the pipeline run), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Deployment {
    /// A finished deployment to a production-kind environment.
    pub fn production(
        repository: impl Into<String>,
        id: impl Into<String>,
        commit: impl Into<String>,
        finished_at: Timestamp,
        status: DeploymentStatus,
    ) -> Self {
        Self {
            repository: repository.into(),
            id: id.into(),
            environment: "production".into(),
            environment_kind: EnvironmentKind::Production,
            commit: commit.into(),
            started_at: None,
            finished_at: Some(finished_at),
            status,
            release: None,
            url: None,
        }
    }

    /// The deployment's time: when it finished, else when it started.
    pub fn time(&self) -> Option<Timestamp> {
        self.finished_at.or(self.started_at)
    }
}

/// Incident severity normalised to P1 (worst) .. P5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Severity {
    /// Critical.
    P1,
    /// High.
    P2,
    /// Moderate.
    P3,
    /// Low.
    P4,
    /// Informational.
    P5,
}

impl Severity {
    /// All severities, worst first.
    pub const ALL: [Severity; 5] = [Self::P1, Self::P2, Self::P3, Self::P4, Self::P5];

    /// Parse `P1`..`P5` (case-insensitive, surrounding whitespace ignored).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_uppercase().as_str() {
            "P1" => Some(Self::P1),
            "P2" => Some(Self::P2),
            "P3" => Some(Self::P3),
            "P4" => Some(Self::P4),
            "P5" => Some(Self::P5),
            _ => None,
        }
    }

    /// The severity with the given 1-based rank (1 → P1); ranks above 5 are P5.
    pub fn from_rank(rank: usize) -> Self {
        match rank {
            0 | 1 => Self::P1,
            2 => Self::P2,
            3 => Self::P3,
            4 => Self::P4,
            _ => Self::P5,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Self::P1 => "P1",
            Self::P2 => "P2",
            Self::P3 => "P3",
            Self::P4 => "P4",
            Self::P5 => "P5",
        };
        f.write_str(s)
    }
}

/// An incident's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum IncidentStatus {
    /// Open (triggered, investigating, ...).
    Open,
    /// Acknowledged.
    Acknowledged,
    /// Resolved / closed.
    Resolved,
    /// Not a real incident (declined, merged, canceled): excluded from metrics.
    Dismissed,
}

/// A production incident from an incident-management tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// Id in the source system.
    pub id: String,
    /// Source system (`pagerduty`, `opsgenie`, `incidentio`, ...).
    pub source: String,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Service (or team) the incident belongs to.
    #[serde(default)]
    pub service: Option<String>,
    /// Normalised severity, when the source gave one.
    #[serde(default)]
    pub severity: Option<Severity>,
    /// The raw severity/priority/urgency value as the source named it.
    #[serde(default)]
    pub raw_severity: Option<String>,
    /// When it opened (triggered).
    pub opened_at: Timestamp,
    /// When it was resolved.
    #[serde(default)]
    pub resolved_at: Option<Timestamp>,
    /// Lifecycle state.
    pub status: IncidentStatus,
    /// Repositories the incident is attributed to (from a service mapping);
    /// empty means "any repository in scope".
    #[serde(default)]
    pub repositories: Vec<String>,
    /// The incident's web page in its tool (PagerDuty `html_url`, incident.io
    /// `permalink`), when the payload has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Incident {
    /// An incident with the given severity, opened and (optionally) resolved.
    pub fn new(
        source: impl Into<String>,
        id: impl Into<String>,
        severity: Option<Severity>,
        opened_at: Timestamp,
        resolved_at: Option<Timestamp>,
    ) -> Self {
        Self {
            id: id.into(),
            source: source.into(),
            title: String::new(),
            service: None,
            severity,
            raw_severity: severity.map(|s| s.to_string()),
            opened_at,
            resolved_at,
            status: if resolved_at.is_some() {
                IncidentStatus::Resolved
            } else {
                IncidentStatus::Open
            },
            repositories: Vec::new(),
            url: None,
        }
    }
}

/// Everything the metrics need for one scope (a repository, several, a team).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    /// Repositories in scope.
    #[serde(default)]
    pub repositories: Vec<Repository>,
    /// Commits (production-branch history, PR commits).
    #[serde(default)]
    pub commits: Vec<Commit>,
    /// Pull requests.
    #[serde(default)]
    pub pull_requests: Vec<PullRequest>,
    /// Deployment environments.
    #[serde(default)]
    pub environments: Vec<Environment>,
    /// Deployments, to every environment.
    #[serde(default)]
    pub deployments: Vec<Deployment>,
    /// Incidents.
    #[serde(default)]
    pub incidents: Vec<Incident>,
    /// What the sources said about their own completeness: items they fetched
    /// but could not convert, pull requests whose history they could not reach,
    /// repositories whose last sync did not finish. The report's `accounting`
    /// and diagnostics are built from it, so nothing is lost silently.
    #[serde(default, skip_serializing_if = "CollectionNotes::is_empty")]
    pub collection: CollectionNotes,
}

/// The kinds of events the report's `accounting` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Pull requests.
    PullRequest,
    /// Deployments (every environment).
    Deployment,
    /// Incidents.
    Incident,
    /// Commits.
    Commit,
}

impl EventKind {
    /// Every kind, in report order.
    pub const ALL: [EventKind; 4] = [
        EventKind::PullRequest,
        EventKind::Deployment,
        EventKind::Incident,
        EventKind::Commit,
    ];

    /// The stable snake_case name (the serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::PullRequest => "pull_request",
            EventKind::Deployment => "deployment",
            EventKind::Incident => "incident",
            EventKind::Commit => "commit",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An item a source fetched but could not turn into an event. Sources keep it
/// (in [`CollectionNotes::skipped`]) instead of dropping it, so the report can
/// count it under `accounting.<kind>.excluded.<reason>` and the
/// `skipped_events` diagnostic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedEvent {
    /// What kind of item it was.
    pub kind: EventKind,
    /// Repository slug (delivery events) or incident source name, when known.
    #[serde(default)]
    pub scope: Option<String>,
    /// The item's id (PR number, deployment uuid, incident id, sha), when readable.
    #[serde(default)]
    pub id: Option<String>,
    /// Stable snake_case reason, e.g. `unknown_deployment_state`, `missing_timestamp`.
    pub reason: String,
    /// A human sentence naming the field at fault.
    #[serde(default)]
    pub detail: String,
}

impl SkippedEvent {
    /// A skipped item.
    pub fn new(
        kind: EventKind,
        scope: Option<String>,
        id: Option<String>,
        reason: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            scope,
            id,
            reason: reason.into(),
            detail: detail.into(),
        }
    }
}

/// A merged pull request whose branch commits the source could not reach
/// within its budget (a capped commit walk): its lead time would be wrong, so
/// the engine excludes it as `history_truncated` and says how to raise the cap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryGap {
    /// Repository slug.
    pub repository: String,
    /// Pull request id.
    pub pull_request: u64,
    /// The knob that raises the cap, in words (flag, `dora.toml` key, Python kwarg).
    #[serde(default)]
    pub remedy: String,
}

/// What the sources said about their own completeness.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionNotes {
    /// Items fetched but not convertible.
    #[serde(default)]
    pub skipped: Vec<SkippedEvent>,
    /// Merged pull requests whose branch history was not reached.
    #[serde(default)]
    pub history_truncated: Vec<HistoryGap>,
    /// Repositories whose last sync into a store did not finish.
    #[serde(default)]
    pub incomplete_sync: Vec<String>,
    /// The incident source attributed incidents through a configured
    /// service-to-repository mapping: an incident with no repositories is then
    /// *unmapped* (counted in the workspace's recovery time, attributed to no
    /// repository, listed by `unmapped_incidents`), not workspace-wide.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub service_mapping: bool,
    /// The spans a store's syncs covered, per source and scope (set when the
    /// dataset comes from a store; a report over a wider window warns
    /// `store_span`). Empty for a fresh collection.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coverage: Vec<Coverage>,
    /// Repositories that left the workspace since they were stored (deleted or
    /// moved out): their events are kept in the store, not in the dataset.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub departed: Vec<String>,
    /// Items dated after the collecting machine's clock.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clock_skew: Vec<ClockSkew>,
    /// Repositories whose production-branch history was rewritten (a
    /// force-push) since their last sync: this dataset holds their whole
    /// current history, and a store marks the commits it no longer holds as
    /// unreachable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rewritten: Vec<String>,
    /// Repositories whose CI ran on the production branch while no production
    /// deployment was recorded (the deploy step lacks `deployment:
    /// production`): evidence the source found, for
    /// `pipelines_without_deployments`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pipelines: Vec<PipelineRuns>,
}

/// CI runs on a repository's production branch in the window, seen while no
/// production deployment was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineRuns {
    /// The repository slug.
    pub repository: String,
    /// The production branch.
    pub branch: String,
    /// Runs on it in the window (of the newest page the source read).
    pub runs: u32,
    /// The newest run's start.
    pub latest_at: Timestamp,
    /// The newest run's web page, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_url: Option<String>,
}

/// The span one sync scope of a store covers: events from `start` to `end`
/// were fetched (and kept up to date by later syncs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// The source (`bitbucket`, `pagerduty`, ...).
    pub source: String,
    /// The scope: a repository slug, or `incidents`.
    pub scope: String,
    /// The earliest window start synced.
    pub start: Timestamp,
    /// The latest window end synced.
    pub end: Timestamp,
}

/// An item dated after the clock of the machine that collected it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockSkew {
    /// Where: a repository slug or an incident source.
    pub scope: String,
    /// What, e.g. `pull request #12 updated_on`.
    pub item: String,
    /// The date the source gave.
    pub dated: Timestamp,
    /// The collecting machine's clock at the time.
    pub observed_at: Timestamp,
}

impl CollectionNotes {
    /// Nothing noted (a dataset then serialises without `collection`).
    pub fn is_empty(&self) -> bool {
        self.skipped.is_empty()
            && self.history_truncated.is_empty()
            && self.incomplete_sync.is_empty()
            && !self.service_mapping
            && self.coverage.is_empty()
            && self.departed.is_empty()
            && self.clock_skew.is_empty()
            && self.rewritten.is_empty()
            && self.pipelines.is_empty()
    }

    /// Append `other`'s notes (incomplete repositories de-duplicated).
    pub fn extend(&mut self, other: CollectionNotes) {
        self.skipped.extend(other.skipped);
        self.history_truncated.extend(other.history_truncated);
        self.service_mapping |= other.service_mapping;
        self.coverage.extend(other.coverage);
        self.clock_skew.extend(other.clock_skew);
        self.rewritten.extend(other.rewritten);
        self.pipelines.extend(other.pipelines);
        for slug in other.departed {
            if !self.departed.contains(&slug) {
                self.departed.push(slug);
            }
        }
        for slug in other.incomplete_sync {
            if !self.incomplete_sync.contains(&slug) {
                self.incomplete_sync.push(slug);
            }
        }
    }
}

/// How many repeated items [`Dataset::dedup`] removed, per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Duplicates {
    /// Pull requests repeated (same repository and id).
    pub pull_requests: usize,
    /// Deployments repeated (same repository and id).
    pub deployments: usize,
    /// Incidents repeated (same source and id).
    pub incidents: usize,
    /// Commits repeated (same repository and sha).
    pub commits: usize,
}

impl Duplicates {
    /// Total removed.
    pub fn total(&self) -> usize {
        self.pull_requests + self.deployments + self.incidents + self.commits
    }
}

/// Keep the last occurrence of each key, in order of first appearance of the kept items.
fn dedup_last<T, K: std::hash::Hash + Eq>(items: &mut Vec<T>, key: impl Fn(&T) -> K) -> usize {
    use std::collections::HashMap;
    let mut last: HashMap<K, usize> = HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        last.insert(key(item), i);
    }
    if last.len() == items.len() {
        return 0;
    }
    let before = items.len();
    let mut i = 0;
    items.retain(|item| {
        let keep = last.get(&key(item)) == Some(&i);
        i += 1;
        keep
    });
    before - items.len()
}

impl Dataset {
    /// An empty dataset.
    pub fn new() -> Self {
        Self::default()
    }

    /// Append everything from `other` (repositories are de-duplicated by slug).
    pub fn extend(&mut self, other: Dataset) {
        for repo in other.repositories {
            if !self.repositories.iter().any(|r| r.slug == repo.slug) {
                self.repositories.push(repo);
            }
        }
        self.commits.extend(other.commits);
        self.pull_requests.extend(other.pull_requests);
        self.environments.extend(other.environments);
        self.deployments.extend(other.deployments);
        self.incidents.extend(other.incidents);
        self.collection.extend(other.collection);
    }

    /// Remove items repeated by id (an item listed on two pages because the
    /// list shifted during collection), keeping the last one seen (the freshest).
    /// Every collection path calls it, so the live and the store paths agree.
    pub fn dedup(&mut self) -> Duplicates {
        Duplicates {
            pull_requests: dedup_last(&mut self.pull_requests, |p| (p.repository.clone(), p.id)),
            deployments: dedup_last(&mut self.deployments, |d| {
                (d.repository.clone(), d.id.clone())
            }),
            incidents: dedup_last(&mut self.incidents, |i| (i.source.clone(), i.id.clone())),
            commits: dedup_last(&mut self.commits, |c| (c.repository.clone(), c.sha.clone())),
        }
    }

    /// Repository slugs in scope: the declared repositories plus any slug an event names.
    pub fn repository_slugs(&self) -> Vec<String> {
        // Events come grouped by repository in practice: skip repeats of the
        // previous slug before sorting, and clone only the distinct ones.
        let all = (self.repositories.iter().map(|r| r.slug.as_str()))
            .chain(self.commits.iter().map(|c| c.repository.as_str()))
            .chain(self.pull_requests.iter().map(|p| p.repository.as_str()))
            .chain(self.deployments.iter().map(|d| d.repository.as_str()));
        let mut slugs: Vec<&str> = Vec::new();
        for s in all {
            if slugs.last() != Some(&s) {
                slugs.push(s);
            }
        }
        slugs.sort_unstable();
        slugs.dedup();
        slugs.into_iter().map(str::to_string).collect()
    }

    /// Serialise to JSON.
    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parse from JSON, naming the field at fault on error.
    pub fn from_json(text: &str) -> Result<Self, crate::Error> {
        serde_json::from_str(text).map_err(|e| crate::Error::Dataset(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::DeploymentStatus as S;
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn dedup_keeps_the_last_copy_in_first_order() {
        let t = |h| {
            Utc.with_ymd_and_hms(2026, 3, 1, h, 0, 0)
                .single()
                .unwrap_or_default()
        };
        let mut data = Dataset::new();
        data.deployments = vec![
            Deployment::production("api", "d1", "a", t(1), S::InProgress),
            Deployment::production("api", "d2", "b", t(2), S::Succeeded),
            Deployment::production("api", "d1", "a", t(3), S::Succeeded),
            Deployment::production("web", "d1", "c", t(4), S::Succeeded),
        ];
        let removed = data.dedup();
        assert_eq!(removed.deployments, 1);
        assert_eq!(removed.total(), 1);
        let ids: Vec<_> = data
            .deployments
            .iter()
            .map(|d| (d.repository.as_str(), d.id.as_str(), d.status))
            .collect();
        assert_eq!(
            ids,
            vec![
                ("api", "d2", S::Succeeded),
                ("api", "d1", S::Succeeded),
                ("web", "d1", S::Succeeded)
            ]
        );
        assert_eq!(data.dedup().total(), 0);
    }

    #[test]
    fn collection_notes_round_trip_and_stay_out_of_empty_json() {
        let mut data = Dataset::new();
        assert!(!data.to_json().contains("collection"));
        data.collection.skipped.push(SkippedEvent::new(
            EventKind::Deployment,
            Some("api".into()),
            Some("{u1}".into()),
            "missing_status",
            "deployment {u1}: state COMPLETED without status",
        ));
        data.collection.incomplete_sync.push("web".into());
        let back = Dataset::from_json(&data.to_json()).ok();
        assert_eq!(back.as_ref(), Some(&data));
    }

    #[test]
    fn a_service_mapping_alone_survives_a_json_round_trip() {
        let mut data = Dataset::new();
        data.collection.service_mapping = true;
        let back = Dataset::from_json(&data.to_json()).ok();
        assert_eq!(back.map(|d| d.collection.service_mapping), Some(true));
    }

    #[test]
    fn status_names_are_the_serde_names() {
        for s in [
            S::Succeeded,
            S::Failed,
            S::Stopped,
            S::InProgress,
            S::Undeployed,
        ] {
            assert_eq!(
                serde_json::to_value(s).ok(),
                Some(serde_json::Value::from(s.as_str()))
            );
        }
    }
}
