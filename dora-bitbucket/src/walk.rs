//! When a walk of the production branch's commits may stop.
//!
//! `GET …/commits/{branch}` lists commits newest first in topological order
//! (no commit before all of its children, like `git log`). Dates are not
//! monotonic in that order: a rebased topic lists commits authored years ago
//! right after the merge that brought them in, and a long-lived branch lists
//! its first commits long after the first-parent line passed them. So the walk
//! never stops on one commit's date; it stops when
//!
//! - the first-parent line is past the cut-off (a first-parent commit dated
//!   before it was listed, and every merge commit the pull request list says
//!   was merged since the cut-off was reached), and
//! - the branch side of every attributable merge (a first-parent merge dated
//!   at or after the cut-off, or one a pull request names) is closed: none of
//!   its commits is still unlisted.
//!
//! The second condition is tracked exactly from the listing's topological
//! order. Number the first-parent line `F0` (the head), `F1`, … and give each
//! commit `X` its *depth* `d(X)`: the largest `k` with `X` reachable from
//! `Fk`. Then `X`'s branch, for a commit off the first-parent line, is that of
//! the merge `F(d(X))`: `X` is in `git rev-list F(k)^1..F(k)^2` exactly when
//! `d(X) = k`. Depth is the maximum over a commit's children (and its own
//! first-parent index), so when a commit is listed its depth is final; for an
//! unlisted commit the children listed so far give a lower bound. If merge
//! `Fk`'s branch still has an unlisted commit, some unlisted parent of a listed
//! commit has the bound `k` exactly, so the branch of `Fk` is closed once no
//! pending parent has the bound `k`. (A pending parent can also be an old
//! commit of the first-parent line that a long-lived branch forked from, which
//! looks open until the walk reaches it; such a merge's pull request gets its
//! own commit list when the walk's budget runs out first.)

use crate::source::sha_matches;
use dora_core::Timestamp;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The state of one walk.
#[derive(Debug, Default)]
pub(crate) struct Frontier {
    /// Merges dated before it are not attributable (`None`: every merge is).
    cutoff: Option<Timestamp>,
    /// Merge commits pull requests name (abbreviations allowed), by their
    /// first seven characters, not reached yet.
    targets: HashMap<String, Vec<String>>,
    /// First-parent commits listed so far (the next one's index).
    fp_count: usize,
    /// The next first-parent commit expected.
    fp_next: Option<String>,
    /// Listed commits.
    listed: HashSet<String>,
    /// Unlisted parents of listed commits: the lower bound of their depth.
    pending: HashMap<String, usize>,
    /// Attributable first-parent merges: first-parent index → sha.
    attributable: BTreeMap<usize, String>,
    /// A first-parent commit dated before the cut-off was listed.
    fp_past: bool,
}

fn key(sha: &str) -> String {
    sha.to_ascii_lowercase()
}

impl Frontier {
    /// A walk back to `cutoff` (`None`: everything listed is attributable),
    /// which must also reach the merge commits `targets`.
    pub(crate) fn new(cutoff: Option<Timestamp>, targets: &[String]) -> Self {
        let mut by_prefix: HashMap<String, Vec<String>> = HashMap::new();
        for t in targets.iter().filter(|t| t.len() >= 7) {
            let t = key(t);
            by_prefix.entry(t[..7].to_owned()).or_default().push(t);
        }
        Self {
            cutoff,
            targets: by_prefix,
            ..Self::default()
        }
    }

    /// Record a listed commit; `false` when it was listed before (a repeat
    /// across pages).
    pub(crate) fn visit(&mut self, sha: &str, parents: &[String], date: Option<Timestamp>) -> bool {
        let sha = key(sha);
        if !self.listed.insert(sha.clone()) {
            return false;
        }
        let bound = self.pending.remove(&sha);
        let first_parent = self.fp_count == 0 || self.fp_next.as_deref() == Some(sha.as_str());
        let depth = if first_parent {
            let k = self.fp_count;
            self.fp_count += 1;
            self.fp_next = parents.first().map(|p| key(p));
            let targeted = self.reach_target(&sha);
            let recent = match (self.cutoff, date) {
                (None, _) => true,
                (Some(c), Some(t)) => t >= c,
                (Some(_), None) => false,
            };
            if parents.len() >= 2 && (recent || targeted) {
                self.attributable.insert(k, sha.clone());
            }
            if let (Some(c), Some(t)) = (self.cutoff, date) {
                self.fp_past |= t < c;
            }
            k.max(bound.unwrap_or(0))
        } else {
            self.reach_target(&sha);
            // Not announced by a child (an ordering the server should not
            // use): as deep as the first-parent line so far.
            bound.unwrap_or(self.fp_count.saturating_sub(1))
        };
        for (i, p) in parents.iter().enumerate() {
            let p = key(p);
            if self.listed.contains(&p) {
                continue;
            }
            let d = if first_parent && i == 0 {
                depth + 1
            } else {
                depth
            };
            let slot = self.pending.entry(p).or_insert(d);
            *slot = (*slot).max(d);
        }
        true
    }

    /// Was `sha` a target? (Removes it.)
    fn reach_target(&mut self, sha: &str) -> bool {
        if self.targets.is_empty() {
            return false;
        }
        let Some(list) = self.targets.get_mut(&sha[..sha.len().min(7)]) else {
            return false;
        };
        let before = list.len();
        list.retain(|t| !sha_matches(t, sha));
        let hit = list.len() < before;
        if list.is_empty() {
            self.targets.remove(&sha[..sha.len().min(7)]);
        }
        hit
    }

    /// Merge commits named by pull requests and not reached yet.
    #[cfg(test)]
    pub(crate) fn missing_targets(&self) -> usize {
        self.targets.values().map(Vec::len).sum()
    }

    /// The first-parent line is past the cut-off and every target was reached.
    pub(crate) fn first_parent_done(&self) -> bool {
        self.fp_past && self.targets.is_empty()
    }

    /// Attributable merges whose branch side may still have unlisted commits.
    pub(crate) fn open_merges(&self) -> HashSet<String> {
        self.pending
            .values()
            .filter_map(|d| self.attributable.get(d).cloned())
            .collect()
    }

    /// Is any attributable merge's branch side still open?
    #[cfg(test)]
    pub(crate) fn any_open(&self) -> bool {
        self.pending
            .values()
            .any(|d| self.attributable.contains_key(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn t(day: u32) -> Timestamp {
        Utc.with_ymd_and_hms(2024, 3, day, 0, 0, 0).unwrap()
    }

    fn sha(name: &str) -> String {
        format!("{name:0<40}")
    }

    fn visit(f: &mut Frontier, name: &str, parents: &[&str], day: u32) {
        let parents: Vec<String> = parents.iter().map(|p| sha(p)).collect();
        f.visit(&sha(name), &parents, Some(t(day)));
    }

    #[test]
    fn a_branch_forked_before_the_cut_off_stays_open_until_its_base() {
        // main: m2 (merge of b2 ← b1 ← base) ← c1 ← base ← old
        let mut f = Frontier::new(Some(t(10)), &[]);
        visit(&mut f, "a2", &["a1", "b2"], 20);
        assert!(f.any_open());
        visit(&mut f, "a1", &["ba5e"], 15);
        // A rebased commit authored long ago is listed next: not the end.
        visit(&mut f, "b2", &["b1"], 2);
        assert!(!f.first_parent_done());
        visit(&mut f, "ba5e", &["01d"], 5);
        assert!(f.first_parent_done());
        // b1 is still unlisted: the merge's branch is open.
        assert_eq!(f.open_merges(), HashSet::from([sha("a2")]));
        visit(&mut f, "b1", &["ba5e"], 1);
        assert!(!f.any_open());
    }

    #[test]
    fn a_branch_that_took_main_in_closes_where_it_meets_main() {
        // F0 = merge(F1, x2); x2 = merge(x1, F2) (main taken in); x1 ← F3.
        let mut f = Frontier::new(Some(t(1)), &[]);
        visit(&mut f, "f0", &["f1", "c2"], 20);
        visit(&mut f, "c2", &["c1", "f2"], 19);
        visit(&mut f, "f1", &["f2"], 18);
        visit(&mut f, "c1", &["f3"], 17);
        assert!(f.any_open(), "f3 may still be the branch's");
        visit(&mut f, "f2", &["f3"], 16);
        assert!(!f.any_open(), "f3 is main's (depth 3)");
    }

    #[test]
    fn targets_keep_the_first_parent_line_going() {
        let target = sha("f2")[..12].to_owned();
        let mut f = Frontier::new(Some(t(10)), &[target]);
        visit(&mut f, "f0", &["f1"], 20);
        visit(&mut f, "f1", &["f2"], 2);
        assert!(!f.first_parent_done());
        assert_eq!(f.missing_targets(), 1);
        visit(&mut f, "f2", &["f3", "x1"], 3);
        assert!(f.first_parent_done());
        // Named by a pull request: attributable although dated before the cut-off.
        assert!(f.any_open());
        assert!(!f.visit(&sha("f2"), &[], None), "repeats are ignored");
    }
}
