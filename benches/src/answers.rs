//! The two graph questions of lead time, for every merged pull request of a
//! repository, answered two ways:
//!
//! - [`one_pass`]: what `dora_core` does — the engine's own
//!   [`shipping_labels`] (one shared traversal over successful production
//!   deployments: the first deployment that shipped each commit) and
//!   [`divergence_points`](dora_core::attribution::divergence_points) (one over
//!   merged PRs in merge order: each PR's branch-only commits), O(V+E) in total;
//! - [`naive`]: a straightforward per-PR implementation: a fresh ancestry walk
//!   per PR for the branch-only commits, and an ancestry test per PR per
//!   deployment until one contains the merge. O(PRs × V) or worse; the oracle.
//!
//! Both assume, as the generator guarantees, that every PR merges into the
//! production branch (stacked PRs merged into other branches are where the
//! engine's "first PR to reach a commit owns it" rule and a per-PR walk can differ).

use dora_core::attribution::shipping_labels;
use dora_core::graph::{CommitGraph, NodeId, UNLABELLED};
use dora_core::{
    Dataset, Deployment, DeploymentStatus, EnvironmentKind, PullRequest, PullRequestState,
};

/// One repository's graph, merged PRs (merge order) and successful production
/// deployments (time order), ready for the graph questions.
#[derive(Debug)]
pub struct RepoView<'a> {
    /// The commit graph.
    pub graph: CommitGraph,
    /// Merged PRs sorted by (merge time, id).
    pub merged: Vec<&'a PullRequest>,
    /// Successful production deployments sorted by (time, id).
    pub deployments: Vec<&'a Deployment>,
    /// The node of each deployment's commit.
    pub deployment_nodes: Vec<Option<NodeId>>,
}

impl<'a> RepoView<'a> {
    /// Build the view of repository `slug` (graph included).
    pub fn new(data: &'a Dataset, slug: &str) -> Self {
        let graph = CommitGraph::build(data.commits.iter().filter(|c| c.repository == slug));
        let mut merged: Vec<&PullRequest> = data
            .pull_requests
            .iter()
            .filter(|p| {
                p.repository == slug && p.state == PullRequestState::Merged && p.merged_at.is_some()
            })
            .collect();
        merged.sort_by_key(|p| (p.merged_at, p.id));
        let mut deployments: Vec<&Deployment> = data
            .deployments
            .iter()
            .filter(|d| {
                d.repository == slug
                    && d.environment_kind == EnvironmentKind::Production
                    && d.status == DeploymentStatus::Succeeded
                    && d.time().is_some()
            })
            .collect();
        deployments.sort_by(|a, b| (a.time(), &a.id).cmp(&(b.time(), &b.id)));
        let deployment_nodes = deployments
            .iter()
            .map(|d| graph.resolve(&d.commit))
            .collect();
        Self {
            graph,
            merged,
            deployments,
            deployment_nodes,
        }
    }

    /// The node of a PR's merge commit.
    pub fn merge_node(&self, pr: &PullRequest) -> Option<NodeId> {
        pr.merge_commit
            .as_deref()
            .and_then(|s| self.graph.resolve(s))
    }

    /// The tip of a PR's branch: the merge's second parent, else the last of
    /// its listed commits (squash merges).
    pub fn branch_tip(&self, pr: &PullRequest) -> Option<NodeId> {
        let m = self.merge_node(pr)?;
        if self.graph.parent_count(m) >= 2 {
            let p1 = self.graph.first_parent(m);
            return self.graph.parents(m).find(|&p| Some(p) != p1);
        }
        pr.commits.last().and_then(|s| self.graph.resolve(s))
    }
}

/// The answers for one merged pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrAnswer {
    /// The PR id.
    pub pull_request: u64,
    /// Its divergence point: the earliest (author time, then sha) commit of
    /// the branch not reachable from the destination, or listed by the PR.
    pub divergence: Option<NodeId>,
    /// Index (into [`RepoView::deployments`]) of the first deployment that
    /// shipped the merge commit.
    pub shipped_by: Option<usize>,
}

/// Label every commit with the index of the first deployment that shipped it
/// (`UNLABELLED` when none did): one pass, the engine's [`shipping_labels`].
pub fn first_deployment_per_commit(view: &RepoView) -> Vec<u32> {
    let tips = view
        .deployment_nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| n.map(|n| (n, i as u32)));
    shipping_labels(&view.graph, tips)
}

/// Divergence points of all merged PRs (in [`RepoView::merged`] order): one
/// pass, the engine's [`dora_core::attribution::divergence_points`].
pub fn divergence_points(view: &RepoView) -> Vec<Option<NodeId>> {
    dora_core::attribution::divergence_points(
        &view.graph,
        view.merged
            .iter()
            .map(|pr| (view.merge_node(pr), pr.commits.as_slice())),
    )
}

/// Both answers for every merged PR, the way the engine computes them.
pub fn one_pass(view: &RepoView) -> Vec<PrAnswer> {
    let shipped = first_deployment_per_commit(view);
    let divergence = divergence_points(view);
    view.merged
        .iter()
        .zip(divergence)
        .map(|(pr, divergence)| PrAnswer {
            pull_request: pr.id,
            divergence,
            shipped_by: view
                .merge_node(pr)
                .map(|m| shipped[m as usize])
                .filter(|&l| l != UNLABELLED)
                .map(|l| l as usize),
        })
        .collect()
}

/// Which deployments the naive search tests for a PR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// Every deployment from the first: the oracle, correct for any history.
    All,
    /// Only deployments that finished at or after the merge (a deployment
    /// cannot ship a commit made after it when clocks are sane, as in
    /// generated data): what a practical script would do.
    FromMerge,
}

/// Both answers for one merged PR, straightforwardly: a fresh walk for the
/// branch-only commits, and an ancestry test per deployment in time order.
pub fn naive_one(view: &RepoView, pr: &PullRequest, scan: Scan) -> PrAnswer {
    let g = &view.graph;
    let m = view.merge_node(pr);
    // Every commit of the branch, then the earliest by (author time, sha).
    let mut branch: Vec<NodeId> = Vec::new();
    if let Some(m) = m
        && let Some(p1) = g.first_parent(m).filter(|_| g.parent_count(m) >= 2)
    {
        for p in g.parents(m).filter(|&p| p != p1) {
            branch.extend(g.branch_only(p, Some(p1)));
        }
    }
    if m.is_some() {
        branch.extend(pr.commits.iter().filter_map(|sha| g.resolve(sha)));
    }
    let best = branch
        .into_iter()
        .min_by_key(|&n| (g.authored_at(n), g.sha(n)));
    let shipped_by = m.and_then(|m| {
        let from = match (scan, pr.merged_at) {
            (Scan::FromMerge, Some(t)) => view.deployments.partition_point(|d| d.time() < Some(t)),
            _ => 0,
        };
        (from..view.deployments.len())
            .find(|&i| view.deployment_nodes[i].is_some_and(|d| g.is_ancestor(m, d)))
    });
    PrAnswer {
        pull_request: pr.id,
        divergence: best,
        shipped_by,
    }
}

/// [`naive_one`] for every merged PR (or every `step`-th one).
pub fn naive(view: &RepoView, scan: Scan, step: usize) -> Vec<PrAnswer> {
    view.merged
        .iter()
        .step_by(step.max(1))
        .map(|pr| naive_one(view, pr, scan))
        .collect()
}
