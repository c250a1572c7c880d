//! Divergence: where each merged pull request's branch left the destination,
//! the start of its lead time (from the first commit).

use crate::graph::{CommitGraph, Labeler, NodeId};
use crate::model::{PullRequest, PullRequestState};

/// The label of commits reachable from a destination's first parent.
const MAINLINE: u32 = u32::MAX - 1;

/// The divergence point of every merged pull request, in the order given:
/// the earliest commit (by author time, then sha) of its branch, one shared
/// traversal for all of them (O(V+E) in all).
///
/// Each item is a PR's merge commit (`None` when it is not in the graph: its
/// answer is `None`) and the shas the PR lists as its own commits. The
/// branch's commits are those reachable from the merge's other parents and
/// from no earlier merge or first parent (so the first PR to reach a commit
/// owns it), plus the listed commits (a squash merge has only those). Give
/// the PRs in merge order.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use dora_core::Commit;
/// use dora_core::attribution::divergence_points;
/// use dora_core::graph::CommitGraph;
///
/// let t = |h| Utc.with_ymd_and_hms(2026, 3, 1, h, 0, 0).unwrap();
/// let commits = [
///     Commit::new("api", "a1", vec![], t(1), "initial"),
///     Commit::new("api", "b2", vec!["a1".into()], t(2), "branch work"),
///     Commit::new("api", "c3", vec!["b2".into()], t(3), "more branch work"),
///     Commit::new("api", "m4", vec!["a1".into(), "c3".into()], t(4), "Merged in feature"),
/// ];
/// let graph = CommitGraph::build(&commits);
/// let merge = graph.resolve("m4");
/// let points = divergence_points(&graph, [(merge, &[][..])]);
/// assert_eq!(points, vec![graph.resolve("b2")]);
/// ```
pub fn divergence_points<'a>(
    graph: &CommitGraph,
    merges: impl IntoIterator<Item = (Option<NodeId>, &'a [String])>,
) -> Vec<Option<NodeId>> {
    let mut branch = Labeler::new(graph);
    let mut out = Vec::new();
    for (i, (merge, listed)) in merges.into_iter().enumerate() {
        let Some(m) = merge else {
            out.push(None);
            continue;
        };
        let mut best: Option<NodeId> = None;
        // Branch-only commits of a merge: reachable from the other parents
        // once everything reachable from the first parent is marked.
        if let Some(p1) = graph.first_parent(m).filter(|_| graph.parent_count(m) >= 2) {
            branch.mark(p1, MAINLINE, |_| {});
            for p in graph.parents(m).filter(|&p| p != p1).collect::<Vec<_>>() {
                branch.mark(p, i as u32, |n| best = earlier(graph, best, n));
            }
        }
        branch.mark(m, MAINLINE, |_| {});
        // A PR's commits are usually listed next to each other.
        let mut near = None;
        for sha in listed {
            near = graph.resolve_near(sha, near);
            if let Some(n) = near {
                best = earlier(graph, best, n);
            }
        }
        out.push(best);
    }
    out
}

/// The earlier of two commits by (author time, sha). The shas are read only
/// on a tie: reading every commit's sha costs a cache miss each at a million.
fn earlier(g: &CommitGraph, best: Option<NodeId>, n: NodeId) -> Option<NodeId> {
    let Some(b) = best else {
        return Some(n);
    };
    let (tb, tn) = (g.authored_at(b), g.authored_at(n));
    if tb < tn || (tb == tn && g.sha(b) <= g.sha(n)) {
        Some(b)
    } else {
        Some(n)
    }
}

/// A repository's merged pull requests in merge order, with each merge
/// commit's node, resolved once (abbreviated shas are the slow path).
pub(crate) struct MergedPrs<'a> {
    pub(crate) prs: Vec<&'a PullRequest>,
    pub(crate) nodes: Vec<Option<NodeId>>,
}

impl<'a> MergedPrs<'a> {
    /// The merged pull requests (with a merge time) among `pull_requests`.
    pub(crate) fn new(graph: &CommitGraph, pull_requests: &[&'a PullRequest]) -> Self {
        let mut prs: Vec<&PullRequest> = pull_requests
            .iter()
            .copied()
            .filter(|p| p.state == PullRequestState::Merged && p.merged_at.is_some())
            .collect();
        prs.sort_by_key(|p| (p.merged_at, p.id));
        let nodes = prs
            .iter()
            .map(|pr| pr.merge_commit.as_deref().and_then(|s| graph.resolve(s)))
            .collect();
        Self { prs, nodes }
    }

    /// The divergence point of each PR, in merge order.
    pub(crate) fn divergence_points(&self, graph: &CommitGraph) -> Vec<Option<NodeId>> {
        divergence_points(
            graph,
            self.nodes
                .iter()
                .zip(&self.prs)
                .map(|(&n, pr)| (n, pr.commits.as_slice())),
        )
    }
}
