//! Write one repository of a [`Dataset`] as a `git fast-import` stream, so git
//! itself can answer the same graph questions (the baseline).
//!
//! Every commit gets mark `node + 1` (its [`CommitGraph`] node id plus one);
//! run fast-import with `--export-marks=FILE` to map marks to git's own shas
//! (ours are synthetic). Trees are empty: only the graph, dates and messages
//! matter. `refs/heads/main` points at the tip of the last merged PR's merge
//! commit's first-parent line (the newest production deployment, else the
//! newest commit), and `refs/pull-requests/<id>/from` at each PR branch tip so
//! squash-merged branches stay reachable.

use crate::answers::RepoView;
use dora_core::Dataset;
use dora_core::graph::{CommitGraph, NodeId};
use std::io::{self, Write};

/// Commits in an order where every parent comes before its children.
pub fn parents_first(graph: &CommitGraph) -> Vec<NodeId> {
    let n = graph.len();
    let mut state = vec![0u8; n]; // 0 new, 1 open, 2 done
    let mut order = Vec::with_capacity(n);
    let mut stack: Vec<(NodeId, bool)> = Vec::new();
    for root in 0..n as NodeId {
        if state[root as usize] != 0 {
            continue;
        }
        stack.push((root, false));
        while let Some((v, expanded)) = stack.pop() {
            if expanded {
                if state[v as usize] != 2 {
                    state[v as usize] = 2;
                    order.push(v);
                }
                continue;
            }
            if state[v as usize] != 0 {
                continue;
            }
            state[v as usize] = 1;
            stack.push((v, true));
            for p in graph.parents(v) {
                if state[p as usize] == 0 {
                    stack.push((p, false));
                }
            }
        }
    }
    order
}

fn ident(c: &dora_core::Commit) -> String {
    let name = c
        .author
        .as_ref()
        .map_or("Unknown", |a| a.display_name.as_str());
    let email: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    format!("{name} <{email}@example.com>")
}

/// Write repository `slug` of `data` (whose graph is `view.graph`) as a
/// fast-import stream. Returns the number of commits written.
pub fn write_stream(
    data: &Dataset,
    slug: &str,
    view: &RepoView,
    out: &mut impl Write,
) -> io::Result<usize> {
    let g = &view.graph;
    // The first commit of the dataset with each node's sha.
    let mut by_node: Vec<Option<&dora_core::Commit>> = vec![None; g.len()];
    for c in data.commits.iter().filter(|c| c.repository == slug) {
        if let Some(n) = g.resolve(&c.sha) {
            by_node[n as usize].get_or_insert(c);
        }
    }
    let order = parents_first(g);
    for &n in &order {
        let Some(c) = by_node[n as usize] else {
            continue;
        };
        let parents: Vec<NodeId> = {
            // Keep the declared parent order (first parent first).
            let mut ps: Vec<NodeId> = c.parents.iter().filter_map(|p| g.resolve(p)).collect();
            ps.dedup();
            ps
        };
        if parents.is_empty() {
            writeln!(out, "reset refs/heads/scratch\n")?;
        }
        let who = ident(c);
        writeln!(out, "commit refs/heads/scratch")?;
        writeln!(out, "mark :{}", n + 1)?;
        writeln!(out, "author {who} {} +0000", c.authored_at.timestamp())?;
        writeln!(out, "committer {who} {} +0000", c.committed_at.timestamp())?;
        writeln!(out, "data {}", c.message.len())?;
        out.write_all(c.message.as_bytes())?;
        writeln!(out)?;
        for (k, p) in parents.iter().enumerate() {
            let verb = if k == 0 { "from" } else { "merge" };
            writeln!(out, "{verb} :{}", p + 1)?;
        }
        writeln!(out)?;
    }
    let main_tip = view
        .deployment_nodes
        .iter()
        .rev()
        .flatten()
        .next()
        .copied()
        .or_else(|| order.last().copied());
    if let Some(t) = main_tip {
        writeln!(out, "reset refs/heads/main\nfrom :{}\n", t + 1)?;
    }
    for pr in &view.merged {
        if let Some(t) = view.branch_tip(pr) {
            writeln!(
                out,
                "reset refs/pull-requests/{}/from\nfrom :{}\n",
                pr.id,
                t + 1
            )?;
        }
    }
    Ok(order.len())
}
