//! Classifiers: revert commits, hotfix pull requests, rollbacks and bots.
//!
//! Hotfix and bot rules live on [`crate::Config`] ([`crate::HotfixRules::is_hotfix`],
//! [`crate::Config::is_bot`]) because they are configuration; this module holds
//! the message parsing and the rollback test.

use crate::graph::{CommitGraph, NodeId};

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

/// Is the deployed commit `next` a rollback from `previous`: a strict ancestor of it?
pub fn is_rollback(graph: &CommitGraph, previous: NodeId, next: NodeId) -> bool {
    graph.is_strict_ancestor(next, previous)
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
