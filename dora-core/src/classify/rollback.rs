//! Rollbacks: the next successful deployment to the same environment runs a
//! commit that an earlier deployment already shipped and that is a strict
//! ancestor of what ran before. The earlier deployment failed; the rollback
//! itself is rework.

use crate::attribution::{Attempts, ShippingLabels};
use crate::graph::{CommitGraph, NodeId};
use crate::report::{DeploymentRow, FailureReason, Signal};
use std::collections::HashMap;

/// Is the deployed commit `next` a rollback from `previous`: a strict ancestor of it?
pub fn is_rollback(graph: &CommitGraph, previous: NodeId, next: NodeId) -> bool {
    graph.is_strict_ancestor(next, previous)
}

/// Mark rollbacks among the successful attempts (`nodes`: the commit node of
/// each, in [`Attempts::successful`] order).
///
/// "The next successful production deployment" is judged per environment:
/// a lagging `prod-us` catching up with what `prod-eu` runs is no rollback.
pub(crate) fn mark_rollbacks(
    graph: &CommitGraph,
    attempts: &Attempts,
    nodes: &[Option<NodeId>],
    shipping: &ShippingLabels,
    rows: &mut [DeploymentRow],
) {
    let mut prev_in: HashMap<&str, (usize, Option<NodeId>)> = HashMap::new();
    for (&i, &node) in attempts.successful.iter().zip(nodes) {
        let prev = prev_in.insert(attempts.list[i].environment.as_str(), (i, node));
        if let (Some((p, Some(prev_node))), Some(n)) = (prev, node) {
            // A redeploy of something an earlier deployment shipped is a rollback
            // candidate; the exact ancestry test runs only for those (rare) candidates.
            if shipping.shipped_before(n, i) && is_rollback(graph, prev_node, n) {
                rows[p].failures.push(FailureReason {
                    signal: Signal::Rollback,
                    evidence: attempts.list[i].id.clone(),
                    restored_at: Some(attempts.list[i].time),
                });
                rows[i].rework = true;
            }
        }
    }
}
