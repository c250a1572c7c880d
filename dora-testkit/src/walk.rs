//! The reachability walk the Bitbucket fakes share: which commits a revision
//! reaches through parent links (commit lists with `include` / `exclude`).

use std::collections::HashSet;

/// Every commit reachable from `tips` through `parents` (a commit's parent
/// hashes; none for a commit the caller does not know), the tips included.
///
/// ```
/// use dora_testkit::walk::reachable;
///
/// let parents = |sha: &str| match sha {
///     "c" => vec!["b".to_string()],
///     "b" => vec!["a".to_string()],
///     _ => Vec::new(),
/// };
/// let seen = reachable(["c"], parents);
/// assert!(seen.contains("a") && seen.contains("c"));
/// assert_eq!(reachable(["b"], parents).len(), 2);
/// ```
pub fn reachable<I, S>(tips: I, parents: impl Fn(&str) -> Vec<String>) -> HashSet<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut seen = HashSet::new();
    let mut todo: Vec<String> = tips.into_iter().map(Into::into).collect();
    while let Some(sha) = todo.pop() {
        if seen.contains(&sha) {
            continue;
        }
        todo.extend(parents(&sha));
        seen.insert(sha);
    }
    seen
}
