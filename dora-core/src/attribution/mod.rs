//! Attribution: which production attempts count, which deployment first
//! shipped each commit, where each pull request's branch diverged, and which
//! pull requests give a lead time.
//!
//! Per repository, in time order and in a constant number of passes over the
//! commit graph (O(V+E) in all):
//! 1. `attempts`: production deployment attempts are chosen and sorted (merge
//!    fallback when the repository has none at all);
//! 2. [`shipping`]: one [`Labeler`](crate::graph::Labeler) pass over successful
//!    deployments finds the first deployment that shipped every commit (in any
//!    production environment);
//! 3. [`divergence`]: one pass over merged PRs in merge order finds each PR's
//!    branch-only commits (the divergence point) against the destination's
//!    first parent;
//! 4. `changes`: every pull request gets one fate (a lead-time row, or
//!    excluded for a named reason).
//!
//! The public functions, [`shipping_labels`] and [`divergence_points`], are the
//! engine's definitions of "shipped by" and "divergence point" over a
//! [`CommitGraph`]: the benches and anyone checking
//! a figure call the same code the report uses.

pub(crate) mod attempts;
pub(crate) mod changes;
pub mod divergence;
pub mod shipping;

pub(crate) use attempts::Attempts;
pub(crate) use divergence::MergedPrs;
pub use divergence::divergence_points;
pub(crate) use shipping::ShippingLabels;
pub use shipping::shipping_labels;

use crate::TimeRange;
use crate::accounting::Tallies;
use crate::config::{BranchRules, Config};
use crate::diagnostics::Diagnostic;
use crate::graph::CommitGraph;
use crate::model::{Commit, Dataset, Deployment, PullRequest};
use crate::report::{ChangeRow, DeploymentRow, LeadTimeExclusions, reasons};
use std::collections::HashMap;

/// One repository's events, grouped in a single pass over the dataset.
#[derive(Default)]
pub(crate) struct RepoEvents<'a> {
    pub(crate) commits: Vec<&'a Commit>,
    pub(crate) pull_requests: Vec<&'a PullRequest>,
    pub(crate) deployments: Vec<&'a Deployment>,
}

/// Every repository's events, by slug.
pub(crate) fn group_by_repository(data: &Dataset) -> HashMap<&str, RepoEvents<'_>> {
    let mut groups: HashMap<&str, RepoEvents> = HashMap::new();
    // Events come grouped by repository in practice: one map lookup per run
    // of events sharing a slug, not per event.
    for run in data.commits.chunk_by(|a, b| a.repository == b.repository) {
        groups
            .entry(run[0].repository.as_str())
            .or_default()
            .commits
            .extend(run);
    }
    for run in data
        .pull_requests
        .chunk_by(|a, b| a.repository == b.repository)
    {
        groups
            .entry(run[0].repository.as_str())
            .or_default()
            .pull_requests
            .extend(run);
    }
    for run in data
        .deployments
        .chunk_by(|a, b| a.repository == b.repository)
    {
        groups
            .entry(run[0].repository.as_str())
            .or_default()
            .deployments
            .extend(run);
    }
    groups
}

/// What every step of one repository's analysis reads.
pub(crate) struct RepoScope<'a> {
    pub(crate) data: &'a Dataset,
    pub(crate) config: &'a Config,
    pub(crate) slug: &'a str,
    pub(crate) window: TimeRange,
    /// The repository's main branch, when declared.
    pub(crate) main_branch: Option<&'a str>,
    /// The repository's web address, when declared.
    pub(crate) url: Option<&'a str>,
    /// Its production branch, hotfix and promotion rules.
    pub(crate) rules: BranchRules,
}

impl<'a> RepoScope<'a> {
    /// The production branch: the configured one, else the repository's main
    /// branch, else `main`.
    pub(crate) fn production_branch(&self) -> &str {
        self.rules
            .production_branch
            .as_deref()
            .or(self.main_branch)
            .unwrap_or("main")
    }

    /// Is `branch` the production branch? Without a configured or declared
    /// one, `main` and `master` both are.
    pub(crate) fn is_production_branch(&self, branch: &str) -> bool {
        match (self.rules.production_branch.as_deref(), self.main_branch) {
            (Some(b), _) | (None, Some(b)) => b == branch,
            (None, None) => branch == "main" || branch == "master",
        }
    }

    /// The scope of repository `slug`.
    pub(crate) fn new(
        data: &'a Dataset,
        config: &'a Config,
        slug: &'a str,
        window: TimeRange,
    ) -> Self {
        let repository = data.repositories.iter().find(|r| r.slug == slug);
        Self {
            data,
            config,
            slug,
            window,
            main_branch: repository.and_then(|r| r.main_branch.as_deref()),
            url: repository.and_then(|r| r.url.as_deref()),
            rules: config.branch_rules(slug, repository),
        }
    }
}

/// What attribution established for a repository: its production attempts,
/// its merged pull requests and which attempt first shipped each commit.
pub(crate) struct Attribution<'a> {
    pub(crate) attempts: Attempts<'a>,
    pub(crate) merged: MergedPrs<'a>,
    pub(crate) shipping: ShippingLabels,
}

/// The ledger tallies and diagnostics of one repository, as its analysis goes.
#[derive(Default)]
pub(crate) struct Findings {
    pub(crate) tallies: Tallies,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

/// What the analysis of one repository produced.
pub(crate) struct RepoResult {
    pub(crate) slug: String,
    pub(crate) fallback: bool,
    /// Every production attempt (all times), with signals so far.
    pub(crate) deployments: Vec<DeploymentRow>,
    /// Lead-time rows deployed in the window.
    pub(crate) changes: Vec<ChangeRow>,
    pub(crate) excluded: LeadTimeExclusions,
    pub(crate) excused: usize,
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// Pull requests, deployments and commits used or excluded (incidents are
    /// tallied across repositories).
    pub(crate) tallies: Tallies,
    /// The commit list repeats a sha (the graph kept one copy).
    pub(crate) repeated_commits: bool,
}

/// The repository's commit graph; the commits are tallied (a repeated sha is
/// kept once).
pub(crate) fn commit_graph(commits: &[&Commit], tallies: &mut Tallies) -> CommitGraph {
    let graph = CommitGraph::build(commits.iter().copied());
    tallies.commits.used_n(graph.len());
    tallies
        .commits
        .exclude_n(reasons::DUPLICATE_SHA, commits.len() - graph.len());
    graph
}
