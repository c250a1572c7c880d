//! The commit graph, on `petgraph`.
//!
//! Built from commits whose parents may be missing (history fetched only in
//! part): a parent that is not in the dataset is simply not an edge. Edges point
//! from a commit to its parents, so "reachable from X" means "an ancestor of X
//! (or X itself)".
//!
//! ```text
//!   a ── b ─────── m      main: a, b, m (m merges f2)
//!         \       /
//!          f1 ── f2       feature branch
//! ```
//!
//! Here the divergence point of the branch tip `f2` against the destination `b`
//! is `f1`: the earliest commit reachable from `f2` and not from `b`.
//!
//! Batch questions share one traversal: [`Labeler`] walks tips in order and
//! labels each commit with the first tip that reaches it, visiting every commit
//! and edge at most once in total (O(V+E) for all tips together). That is how
//! the engine finds the first deployment that shipped each commit and each PR's
//! branch-only commits.

use crate::model::{Commit, Timestamp};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use std::collections::HashMap;

/// A commit's position in a [`CommitGraph`].
pub type NodeId = u32;

/// Label value meaning "not labelled yet".
pub const UNLABELLED: u32 = u32::MAX;

/// A repository's commit graph.
#[derive(Debug, Clone, Default)]
pub struct CommitGraph {
    graph: DiGraph<(), (), u32>,
    shas: Vec<String>,
    by_sha: HashMap<String, NodeId>,
    /// (sha, node) sorted by sha, for abbreviated-sha lookup.
    sorted: Vec<(String, NodeId)>,
    authored: Vec<Timestamp>,
    committed: Vec<Timestamp>,
    first_parent: Vec<Option<NodeId>>,
    parent_count: Vec<u8>,
    missing_parents: usize,
}

impl CommitGraph {
    /// Build from commits (duplicates by sha are ignored; missing parents tolerated).
    pub fn build<'a>(commits: impl IntoIterator<Item = &'a Commit>) -> Self {
        let mut g = CommitGraph::default();
        let mut pending: Vec<&'a Commit> = Vec::new();
        for c in commits {
            if g.by_sha.contains_key(&c.sha) {
                continue;
            }
            let id = g.graph.add_node(()).index() as NodeId;
            g.by_sha.insert(c.sha.clone(), id);
            g.shas.push(c.sha.clone());
            g.authored.push(c.authored_at);
            g.committed.push(c.committed_at);
            pending.push(c);
        }
        g.sorted = g
            .by_sha
            .iter()
            .map(|(s, &n)| (s.to_ascii_lowercase(), n))
            .collect();
        g.sorted.sort();
        g.first_parent = vec![None; pending.len()];
        g.parent_count = vec![0; pending.len()];
        for (i, c) in pending.iter().enumerate() {
            for (k, p) in c.parents.iter().enumerate() {
                match g.lookup(p) {
                    Some(pid) => {
                        g.graph
                            .add_edge(NodeIndex::new(i), NodeIndex::new(pid as usize), ());
                        if k == 0 {
                            g.first_parent[i] = Some(pid);
                        }
                    }
                    None => g.missing_parents += 1,
                }
            }
            g.parent_count[i] = c.parents.len().min(255) as u8;
        }
        g
    }

    fn lookup(&self, sha: &str) -> Option<NodeId> {
        self.by_sha.get(sha).copied().or_else(|| self.resolve(sha))
    }

    /// Number of commits.
    pub fn len(&self) -> usize {
        self.shas.len()
    }

    /// No commits?
    pub fn is_empty(&self) -> bool {
        self.shas.is_empty()
    }

    /// Parent references that point outside the fetched history.
    pub fn missing_parents(&self) -> usize {
        self.missing_parents
    }

    /// Resolve a full or abbreviated sha (at least 7 characters, unique prefix).
    pub fn resolve(&self, sha: &str) -> Option<NodeId> {
        if let Some(&n) = self.by_sha.get(sha) {
            return Some(n);
        }
        let sha = sha.trim();
        if sha.len() < 7 {
            return None;
        }
        let lower = sha.to_ascii_lowercase();
        let start = self
            .sorted
            .partition_point(|(s, _)| s.as_str() < lower.as_str());
        let mut hits = self.sorted[start..]
            .iter()
            .take_while(|(s, _)| s.starts_with(&lower));
        let first = hits.next()?;
        if hits.next().is_some() {
            return None; // ambiguous
        }
        Some(first.1)
    }

    /// The sha of a node.
    pub fn sha(&self, n: NodeId) -> &str {
        &self.shas[n as usize]
    }

    /// Author time of a node.
    pub fn authored_at(&self, n: NodeId) -> Timestamp {
        self.authored[n as usize]
    }

    /// Committer time of a node.
    pub fn committed_at(&self, n: NodeId) -> Timestamp {
        self.committed[n as usize]
    }

    /// First parent, when it is in the graph.
    pub fn first_parent(&self, n: NodeId) -> Option<NodeId> {
        self.first_parent[n as usize]
    }

    /// Number of parents the commit declares (including missing ones).
    pub fn parent_count(&self, n: NodeId) -> usize {
        usize::from(self.parent_count[n as usize])
    }

    /// Parents present in the graph.
    pub fn parents(&self, n: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.graph
            .edges(NodeIndex::new(n as usize))
            .map(|e| e.target().index() as NodeId)
    }

    /// Is `ancestor` reachable from `descendant` (a node is its own ancestor)?
    pub fn is_ancestor(&self, ancestor: NodeId, descendant: NodeId) -> bool {
        if ancestor == descendant {
            return true;
        }
        let mut seen = vec![false; self.len()];
        let mut stack = vec![descendant];
        seen[descendant as usize] = true;
        while let Some(n) = stack.pop() {
            for p in self.parents(n) {
                if p == ancestor {
                    return true;
                }
                if !seen[p as usize] {
                    seen[p as usize] = true;
                    stack.push(p);
                }
            }
        }
        false
    }

    /// Is `ancestor` a strict ancestor of `descendant`?
    pub fn is_strict_ancestor(&self, ancestor: NodeId, descendant: NodeId) -> bool {
        ancestor != descendant && self.is_ancestor(ancestor, descendant)
    }

    /// Commits reachable from `tip` and not from `destination`.
    pub fn branch_only(&self, tip: NodeId, destination: Option<NodeId>) -> Vec<NodeId> {
        let mut labeler = Labeler::new(self);
        if let Some(d) = destination {
            labeler.mark(d, 0, |_| {});
        }
        let mut out = Vec::new();
        labeler.mark(tip, 1, |n| out.push(n));
        out
    }

    /// The divergence point of a branch: its earliest-dated (author time) commit
    /// not reachable from the destination. `None` when every commit of the branch
    /// is already in the destination.
    pub fn divergence_point(&self, tip: NodeId, destination: Option<NodeId>) -> Option<NodeId> {
        self.branch_only(tip, destination)
            .into_iter()
            .min_by_key(|&n| (self.authored_at(n), self.sha(n).to_string()))
    }
}

/// Labels commits with the first of a sequence of tips that reaches them,
/// sharing one traversal across all tips (each node and edge visited once).
#[derive(Debug)]
pub struct Labeler<'g> {
    graph: &'g CommitGraph,
    labels: Vec<u32>,
    stack: Vec<NodeId>,
}

impl<'g> Labeler<'g> {
    /// A labeler with every commit unlabelled.
    pub fn new(graph: &'g CommitGraph) -> Self {
        Self {
            graph,
            labels: vec![UNLABELLED; graph.len()],
            stack: Vec::new(),
        }
    }

    /// Label every not-yet-labelled commit reachable from `tip` with `label`,
    /// calling `on_new` for each; the walk stops at labelled commits.
    pub fn mark(&mut self, tip: NodeId, label: u32, mut on_new: impl FnMut(NodeId)) {
        if self.labels[tip as usize] != UNLABELLED {
            return;
        }
        self.labels[tip as usize] = label;
        on_new(tip);
        self.stack.push(tip);
        while let Some(n) = self.stack.pop() {
            for p in self.graph.parents(n) {
                if self.labels[p as usize] == UNLABELLED {
                    self.labels[p as usize] = label;
                    on_new(p);
                    self.stack.push(p);
                }
            }
        }
    }

    /// The label of a commit (`UNLABELLED` when none).
    pub fn label(&self, n: NodeId) -> u32 {
        self.labels[n as usize]
    }

    /// All labels, indexed by node.
    pub fn into_labels(self) -> Vec<u32> {
        self.labels
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn c(sha: &str, parents: &[&str], hour: u32) -> Commit {
        Commit::new(
            "r",
            sha,
            parents.iter().map(|s| s.to_string()).collect(),
            Utc.with_ymd_and_hms(2026, 1, 1, hour, 0, 0).unwrap(),
            "",
        )
    }

    fn sample() -> CommitGraph {
        // a - b ------ m
        //      \      /
        //       f1 - f2
        let commits = vec![
            c("aaaaaaa1", &[], 1),
            c("bbbbbbb2", &["aaaaaaa1"], 2),
            c("fff00001", &["bbbbbbb2"], 3),
            c("fff00002", &["fff00001"], 4),
            c("mmmmmmm3", &["bbbbbbb2", "fff00002"], 5),
        ];
        CommitGraph::build(&commits)
    }

    #[test]
    fn ancestry_and_divergence() {
        let g = sample();
        let id = |s: &str| g.resolve(s).unwrap();
        assert!(g.is_ancestor(id("aaaaaaa1"), id("mmmmmmm3")));
        assert!(!g.is_ancestor(id("mmmmmmm3"), id("aaaaaaa1")));
        assert!(!g.is_strict_ancestor(id("bbbbbbb2"), id("bbbbbbb2")));
        assert_eq!(
            g.divergence_point(id("fff00002"), Some(id("bbbbbbb2"))),
            Some(id("fff00001"))
        );
        assert_eq!(
            g.divergence_point(id("bbbbbbb2"), Some(id("mmmmmmm3"))),
            None
        );
        assert_eq!(g.first_parent(id("mmmmmmm3")), Some(id("bbbbbbb2")));
        assert_eq!(g.parent_count(id("mmmmmmm3")), 2);
    }

    #[test]
    fn abbreviated_and_missing() {
        let commits = vec![
            c("abcdef1234", &["0000000000missing"], 1),
            c("abcdef1999", &[], 2),
        ];
        let g = CommitGraph::build(&commits);
        assert_eq!(g.missing_parents(), 1);
        assert_eq!(g.resolve("abcdef1"), None, "ambiguous prefix");
        assert_eq!(g.resolve("abcdef12"), Some(0));
        assert_eq!(g.resolve("abc"), None, "too short");
        assert_eq!(g.resolve("ABCDEF19"), Some(1));
    }

    #[test]
    fn labeler_visits_each_commit_once() {
        let g = sample();
        let mut l = Labeler::new(&g);
        let mut seen = Vec::new();
        l.mark(g.resolve("bbbbbbb2").unwrap(), 0, |n| seen.push(n));
        assert_eq!(seen.len(), 2);
        seen.clear();
        l.mark(g.resolve("mmmmmmm3").unwrap(), 1, |n| seen.push(n));
        assert_eq!(seen.len(), 3);
        assert_eq!(l.label(g.resolve("aaaaaaa1").unwrap()), 0);
        assert_eq!(l.label(g.resolve("fff00001").unwrap()), 1);
    }
}
