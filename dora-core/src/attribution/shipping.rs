//! Shipping: the first successful production deployment that shipped each
//! commit, in any production environment.

use crate::graph::{CommitGraph, Labeler, NodeId, UNLABELLED};

/// Label every commit with the label of the first tip (in the order given)
/// that reaches it, [`UNLABELLED`] when none does: one shared traversal,
/// O(V+E) for all tips together.
///
/// With the commits of successful production deployments in time order as
/// tips, and each deployment's index as its label, a commit's label is the
/// deployment that first shipped it: what the engine attributes a change to.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use dora_core::Commit;
/// use dora_core::attribution::shipping_labels;
/// use dora_core::graph::{CommitGraph, UNLABELLED};
///
/// let t = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
/// let commits = [
///     Commit::new("api", "a1", vec![], t, "first"),
///     Commit::new("api", "b2", vec!["a1".into()], t, "second"),
///     Commit::new("api", "c3", vec!["b2".into()], t, "not deployed"),
/// ];
/// let graph = CommitGraph::build(&commits);
/// let node = |sha| graph.resolve(sha).unwrap();
/// // Deployment 0 ran a1, deployment 1 ran b2.
/// let labels = shipping_labels(&graph, [(node("a1"), 0), (node("b2"), 1)]);
/// assert_eq!(labels[node("a1") as usize], 0);
/// assert_eq!(labels[node("b2") as usize], 1);
/// assert_eq!(labels[node("c3") as usize], UNLABELLED);
/// ```
pub fn shipping_labels(
    graph: &CommitGraph,
    tips: impl IntoIterator<Item = (NodeId, u32)>,
) -> Vec<u32> {
    let mut labeler = Labeler::new(graph);
    for (node, label) in tips {
        labeler.mark(node, label, |_| {});
    }
    labeler.into_labels()
}

/// Which attempt (by index) first shipped each commit of a repository.
pub(crate) struct ShippingLabels {
    labels: Vec<u32>,
}

impl ShippingLabels {
    /// Label the graph with the successful attempts (`successful`, in time
    /// order) whose commits are `nodes`.
    pub(crate) fn new(graph: &CommitGraph, successful: &[usize], nodes: &[Option<NodeId>]) -> Self {
        let tips = successful
            .iter()
            .zip(nodes)
            .filter_map(|(&i, n)| n.map(|n| (n, i as u32)));
        Self {
            labels: shipping_labels(graph, tips),
        }
    }

    /// The label of a commit: the attempt that shipped it, or [`UNLABELLED`].
    pub(crate) fn label(&self, n: NodeId) -> u32 {
        self.labels[n as usize]
    }

    /// The attempt that first shipped a commit.
    pub(crate) fn deployment(&self, n: NodeId) -> Option<usize> {
        let l = self.label(n);
        (l != UNLABELLED).then_some(l as usize)
    }

    /// Was the commit shipped by an attempt before attempt `i`?
    pub(crate) fn shipped_before(&self, n: NodeId, i: usize) -> bool {
        // Labels are attempt indices set in time order, each commit once: a
        // label below `i` was set before attempt `i` was marked.
        (self.label(n) as usize) < i
    }
}
