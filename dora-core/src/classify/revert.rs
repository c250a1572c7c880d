//! Reverts: a later commit that reverts a commit a successful deployment shipped
//! fails that deployment (and the deployment shipping the revert is rework).

use crate::attribution::{Attempts, ShippingLabels};
use crate::graph::{CommitGraph, NodeId, UNLABELLED};
use crate::model::Commit;
use crate::report::{DeploymentRow, FailureReason, Signal};
use std::collections::BTreeMap;

/// What a commit message says it reverts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevertInfo {
    /// Shas (possibly abbreviated) named by `This reverts commit <sha>.` lines.
    pub shas: Vec<String>,
    /// The quoted subject of `Revert "<subject>"`, when present.
    pub subject: Option<String>,
}

/// Parse a commit message for git's revert conventions.
///
/// Recognises `This reverts commit <sha>` anywhere in the message (so a
/// squash-merged PR whose message carries the original revert's body counts)
/// with a sha of 7 to 40 hex digits, and a subject `Revert "<subject>"`.
/// Returns `None` for a message that is not a revert.
///
/// ```
/// use dora_core::classify::parse_revert;
/// let r = parse_revert("Revert \"Add cache\"\n\nThis reverts commit 1a2b3c4d5e6f.\n").unwrap();
/// assert_eq!(r.shas, vec!["1a2b3c4d5e6f".to_string()]);
/// assert_eq!(r.subject.as_deref(), Some("Add cache"));
/// ```
pub fn parse_revert(message: &str) -> Option<RevertInfo> {
    const MARKER: &str = "this reverts commit ";
    let lower = message.to_ascii_lowercase();
    let mut shas = Vec::new();
    let mut from = 0;
    while let Some(pos) = lower[from..].find(MARKER) {
        let start = from + pos + MARKER.len();
        let sha: String = lower[start..]
            .chars()
            .take_while(|c| c.is_ascii_hexdigit())
            .collect();
        if (7..=40).contains(&sha.len()) && !shas.contains(&sha) {
            shas.push(sha.clone());
        }
        from = start + sha.len();
    }
    let subject = revert_subject(message.lines().next().unwrap_or(""));
    if shas.is_empty() && subject.is_none() {
        return None;
    }
    Some(RevertInfo { shas, subject })
}

/// The quoted subject of a `Revert "<subject>"` line.
fn revert_subject(line: &str) -> Option<String> {
    let rest = line.trim().strip_prefix("Revert \"")?;
    let end = rest.rfind('"')?;
    Some(rest[..end].to_string())
}

/// A cheap pre-filter so only plausible messages are parsed.
fn might_be_revert(message: &str) -> bool {
    message
        .as_bytes()
        .windows(6)
        .any(|w| w.eq_ignore_ascii_case(b"revert"))
}

/// The revert commits and what each reverts, with which graph node each
/// commit became marked (the first copy of a sha wins).
fn revert_commits<'a>(
    graph: &CommitGraph,
    commits: &[&'a Commit],
) -> (Vec<bool>, Vec<(&'a Commit, RevertInfo)>) {
    let mut is_revert_node = vec![false; graph.len()];
    let mut reverts = Vec::new();
    for c in commits {
        if !might_be_revert(&c.message) {
            continue;
        }
        let Some(info) = parse_revert(&c.message) else {
            continue;
        };
        if let Some(n) = graph
            .resolve(&c.sha)
            .filter(|&n| !is_revert_node[n as usize])
        {
            is_revert_node[n as usize] = true;
            reverts.push((*c, info));
        }
    }
    (is_revert_node, reverts)
}

/// Reverts: a later commit reverting a commit a successful deployment shipped
/// fails that deployment; the deployment that shipped the revert is rework.
pub(crate) fn mark_reverts(
    graph: &CommitGraph,
    commits: &[&Commit],
    attempts: &Attempts,
    shipping: &ShippingLabels,
    rows: &mut [DeploymentRow],
) {
    let (is_revert_node, reverts) = revert_commits(graph, commits);
    // One revert reason per (deployment, reverted commit): a revert PR's branch
    // commit and its merge commit often both carry the marker. Keep the one that
    // restored service first (ties: the smaller sha), whatever the input order.
    let mut revert_reasons: BTreeMap<(usize, NodeId), FailureReason> = BTreeMap::new();
    for (c, info) in &reverts {
        let Some(r) = graph.resolve(&c.sha) else {
            continue;
        };
        let r_label = shipping.label(r);
        for sha in &info.shas {
            let Some(x) = graph.resolve(sha) else {
                continue;
            };
            if is_revert_node[x as usize] {
                continue; // a revert of a revert is a re-land
            }
            let Some(reason) = revert_reason(c, r_label, shipping.label(x), attempts) else {
                continue;
            };
            keep_earliest(&mut revert_reasons, (reason.0, x), reason.1);
            if r_label != UNLABELLED {
                rows[r_label as usize].rework = true;
            }
        }
    }
    for ((k, _), reason) in revert_reasons {
        rows[k].failures.push(reason);
    }
}

/// The deployment a revert commit fails and the reason, when the reverted
/// commit (shipped by `k`) was shipped before the revert (shipped by `r_label`).
fn revert_reason(
    c: &Commit,
    r_label: u32,
    k: u32,
    attempts: &Attempts,
) -> Option<(usize, FailureReason)> {
    if k == UNLABELLED {
        return None;
    }
    let k = k as usize;
    let later = if r_label == UNLABELLED {
        c.committed_at > attempts.list[k].time
    } else {
        (r_label as usize) > k
    };
    if !later {
        return None;
    }
    let restored = (r_label != UNLABELLED).then(|| attempts.list[r_label as usize].time);
    Some((
        k,
        FailureReason {
            signal: Signal::Revert,
            evidence: c.sha.clone(),
            restored_at: restored,
        },
    ))
}

/// Keep, per key, the reason that restored service first (ties: the smaller evidence).
fn keep_earliest(
    reasons: &mut BTreeMap<(usize, NodeId), FailureReason>,
    key: (usize, NodeId),
    reason: FailureReason,
) {
    let rank = |f: &FailureReason| (f.restored_at.is_none(), f.restored_at, f.evidence.clone());
    match reasons.get(&key) {
        Some(kept) if rank(kept) <= rank(&reason) => {}
        _ => {
            reasons.insert(key, reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_revert_message() {
        let r = parse_revert(
            "Revert \"Add feature flag\"\n\nThis reverts commit 0123456789abcdef0123456789abcdef01234567.\n",
        )
        .unwrap();
        assert_eq!(r.shas, vec!["0123456789abcdef0123456789abcdef01234567"]);
        assert_eq!(r.subject.as_deref(), Some("Add feature flag"));
    }

    #[test]
    fn revert_of_revert_subject() {
        let r =
            parse_revert("Revert \"Revert \"Add x\"\"\n\nThis reverts commit abcdef1.").unwrap();
        assert_eq!(r.subject.as_deref(), Some("Revert \"Add x\""));
        assert_eq!(r.shas, vec!["abcdef1"]);
    }

    #[test]
    fn squash_message_carries_revert() {
        let msg = "Merged in revert-pr (pull request #12)\n\nRevert \"x\"\n\n* Revert \"x\"\n\nThis reverts commit ABCDEF12.\n\nApproved-by: Bob";
        assert_eq!(parse_revert(msg).unwrap().shas, vec!["abcdef12"]);
    }

    #[test]
    fn not_a_revert() {
        assert_eq!(parse_revert("Add revert button\n\nreverts nothing"), None);
        assert_eq!(parse_revert("This reverts commit xyz."), None);
        assert_eq!(
            parse_revert("This reverts commit abc12."),
            None,
            "too short"
        );
    }
}
