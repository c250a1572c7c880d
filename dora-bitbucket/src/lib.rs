//! # dora-bitbucket: Bitbucket Cloud as a DORA delivery source
//!
//! Implements [`dora_core::DeliverySource`] for the Bitbucket Cloud REST API 2.0:
//! environments and deployments (with the baseline from before the window),
//! pull requests with merge time and first review, and the production branch's
//! commit graph. HTTP, retries, rate limits and pagination come from
//! [`dora_http`]; every request is counted per endpoint and reported in
//! [`SyncStats`].
//!
//! ```no_run
//! use dora_bitbucket::Bitbucket;
//! use dora_core::{compute, CollectRequest, Config};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // BITBUCKET_EMAIL + BITBUCKET_API_TOKEN (Atlassian user API token, basic
//! // auth) or BITBUCKET_ACCESS_TOKEN (access or OAuth token, bearer).
//! let source = Bitbucket::builder("acme").with_repos(["web", "api"]).with_env_credentials().build()?;
//! let config = Config::default();
//! let window = config.window(chrono::Utc::now());
//! let (data, stats) = source.collect_with_stats(&CollectRequest::new(window)).await?;
//! println!("{stats}");
//! let report = compute(&data, &config);
//! println!("{}", report.to_json_pretty());
//! # Ok(()) }
//! ```
//!
//! ## What is fetched, and what it costs
//!
//! Per repository: the repository (main branch), environments, every page of
//! deployments, pull requests updated since the history cut-off (BBQL `q=`,
//! `fields=`, `pagelen=50`), the repository-wide pull request activity stream
//! back to the cut-off (merges, approvals, change requests, comments: one
//! stream instead of one call per PR), and the main branch's commits until
//! attribution has what it needs: the first-parent line past the cut-off with
//! every listed PR's merge commit reached, and the branch side of every merge
//! attributable in the window closed (never on one commit's date: rebased
//! topics list commits authored years earlier right after their merge). Only
//! a squash or fast-forward merged PR, or one whose branch side is still open
//! when the walk's budget ends (a long-lived branch forked long ago), costs
//! one extra call (its commits). A walk stopped by
//! [`BitbucketBuilder::with_max_commit_pages`] before reaching a merged PR's merge
//! commit puts that PR in the dataset's `collection.history_truncated` (the
//! engine leaves it out of lead time, naming the knob that raises the cap).
//! Deployments carry their commit and environment; pipeline runs are never
//! taken as deployments. Only a repository with no production deployment has
//! its newest page of `/pipelines` read, as evidence for the
//! `pipelines_without_deployments` diagnostic (a deploy step without
//! `deployment: production`). The branching model (`/branching-model`, one
//! request per full collect) names the production branch when one is enabled:
//! that branch, not the main branch, is walked and attributed.
//!
//! ## Incremental sync
//!
//! [`Bitbucket`] also implements [`dora_core::IncrementalSource`] (driven by
//! `dora_store::sync_delivery`): one scope per repository, `workspace/slug`,
//! with a JSON cursor. The first sync of a repository is the full collect
//! above; later ones fetch what changed since the cursor (deployments newest
//! first until known ones, pull requests by `updated_on`, the activity stream
//! back to the last sync, `commits/{main}?exclude=<last head>`), so a sync with
//! no changes costs one request each to `deployments`, `pullrequests`,
//! `pullrequests/activity` and `commits`, plus one `deployment` re-check per
//! running or recently planned (`UNDEPLOYED`, the ten newest) deployment.
//! What rarely changes is checked at most once per
//! [`BitbucketBuilder::with_slow_check_interval`] (default a day): the
//! branching model, up to twenty older planned deployments in rotation, and
//! the branch head when no commit is new (a branch reset to an older commit
//! lists no new commits, as a branch that did not move). A production branch
//! that changed, a force-push or a reset has the repository read again whole.
//! [`Bitbucket::sync_scope_with_stats`] reports the cost per endpoint.
//!
//! ## Inventory
//!
//! [`Bitbucket::inventory`] (the `dora inventory` command) audits what the
//! workspace exposes before any number is trusted: environments and their
//! types, deployments in the window by environment and status, pipelines on
//! the production branch without production deployments, the branching
//! model, merge strategies, bot accounts and endpoints that answered 403
//! (with the scope they need), each finding with a stable code and a one-line
//! fix; [`incident_inventory`] does the same for an incident tool. At most 8
//! `GET` requests per repository; it never writes. See [`inventory`].
//!
//! ## Mapping
//!
//! - Environment kind from `environment_type.name` (`Production`, `Staging`,
//!   `Test`; anything else is `Other`), never from the name.
//! - Deployment status from `state.name` / `state.status.name`; times from
//!   `started_on`/`completed_on`, else `start_date`/`completion_date`; the
//!   commit from `release.commit.hash`. Unknown states (and a `COMPLETED`
//!   deployment without a status) are skipped.
//! - Nothing is skipped silently: every item a converter cannot read (a
//!   deployment, pull request or commit without an id, a timestamp, a known
//!   state or status) is listed in [`SyncStats::skipped`] and noted in the
//!   dataset's `collection.skipped` with a stable reason code
//!   (`missing_id`, `missing_commit`, `missing_state`, `missing_status`,
//!   `missing_timestamp`, `unknown_deployment_state`,
//!   `unknown_deployment_status`, `unknown_pull_request_state`, and
//!   `unknown_environment` for a deployment whose environment is neither
//!   among the repository's environments nor typed on the deployment itself:
//!   deleted or renamed since; never counted as another environment).
//! - Items listed twice (the page-number pagination shifted while new
//!   deployments or pull requests landed) count once: every path calls
//!   [`dora_core::Dataset::dedup`].
//! - A commit's author name is the Bitbucket user's display name, else the
//!   name in the git author (`author.raw`, `Name <email>`).
//! - Merge time from the `MERGED` update of the activity stream, else
//!   `merge_commit.date`; never `updated_on`. First review: the first comment,
//!   approval or change request by anyone but the author, no later than the
//!   merge. `app_user` authors are bots.

#![forbid(unsafe_code)]

mod builder;
mod convert;
mod error;
mod incremental;
pub mod inventory;
mod source;
mod walk;
mod wire;

pub use builder::{BitbucketBuilder, CREDENTIAL_VARS, DEFAULT_BASE_URL, credentials_from_env};
pub use inventory::{Finding, Inventory, incident_inventory};
pub use source::Bitbucket;

use dora_http::HttpStats;
use serde::Serialize;
use std::fmt;

/// What a sync did and cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SyncStats {
    /// Requests per endpoint (`repository`, `environments`, `deployments`,
    /// `pullrequests`, `pullrequests/activity`, `pullrequest/activity`,
    /// `pullrequest/commits`, `commits`, `repositories`, and `deployment` for
    /// an incremental sync's re-check of one deployment), with retries and
    /// rate-limit waits.
    pub http: HttpStats,
    /// Repositories collected.
    pub repositories: usize,
    /// Pull requests returned.
    pub pull_requests: usize,
    /// Of which merged.
    pub merged_pull_requests: usize,
    /// Deployments returned.
    pub deployments: usize,
    /// Commits returned.
    pub commits: usize,
    /// Records left out, with the reason (unknown states, missing fields).
    pub skipped: Vec<String>,
    /// Things the user may want to know (fallbacks taken, walks cut short).
    pub warnings: Vec<String>,
}

impl SyncStats {
    /// All requests sent.
    pub fn total_requests(&self) -> u64 {
        self.http.total_requests()
    }

    /// Requests sent to one endpoint label.
    pub fn requests(&self, endpoint: &str) -> u64 {
        self.http.requests(endpoint)
    }

    /// Requests per merged pull request (`None` without merged PRs).
    pub fn requests_per_merged_pr(&self) -> Option<f64> {
        (self.merged_pull_requests > 0)
            .then(|| self.total_requests() as f64 / self.merged_pull_requests as f64)
    }
}

impl fmt::Display for SyncStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} repositories, {} pull requests ({} merged), {} deployments, {} commits",
            self.repositories,
            self.pull_requests,
            self.merged_pull_requests,
            self.deployments,
            self.commits
        )?;
        writeln!(f, "{}", self.http)?;
        if let Some(r) = self.requests_per_merged_pr() {
            writeln!(f, "{r:.2} requests per merged pull request")?;
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        if !self.skipped.is_empty() {
            writeln!(f, "{} records skipped", self.skipped.len())?;
        }
        Ok(())
    }
}
