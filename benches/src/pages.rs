//! Realistic Bitbucket Cloud API pages, as the adapter receives them, for
//! parse-throughput benchmarks: the pull-request list
//! (`GET /2.0/repositories/{ws}/{repo}/pullrequests?state=MERGED&pagelen=50`)
//! and the commit list (`GET …/commits/main?pagelen=100`), default fields
//! (links, rendered summaries, accounts). The JSON is written by the
//! testkit's Bitbucket wire fake ([`dora_testkit::wire`], what the demo server
//! answers), over a sample seeded from the given [`Rng`]: deterministic for a
//! given [`Rng`] state.

use crate::Rng;
use dora_testkit::{Sample, generate, wire};
use serde_json::{Value, json};

const API: &str = "https://api.bitbucket.org/2.0";

fn page(values: Vec<Value>, next: String, pagelen: usize) -> String {
    json!({"pagelen": pagelen, "size": 4_321, "page": 1, "next": next, "values": values})
        .to_string()
}

/// The first `n` of the sample's merged pull requests, every repository in
/// turn, as the list endpoint renders them (with `merge_commit.date`).
fn merged_pull_requests(sample: &Sample, n: usize) -> Vec<Value> {
    sample
        .repositories
        .iter()
        .flat_map(|repo| repo.pull_requests.iter().map(move |pr| (repo, pr)))
        .filter(|(_, pr)| pr.merged_at().is_some())
        .take(n)
        .map(|(repo, pr)| wire::pull_request(sample, repo, pr, API, false, true))
        .collect()
}

/// A page of `n` merged pull requests (the API caps `pagelen` at 50).
pub fn pull_requests_page(rng: &mut Rng, n: usize) -> String {
    let sample = generate(rng.next_u64());
    page(
        merged_pull_requests(&sample, n),
        format!(
            "{API}/repositories/{}/web/pullrequests?state=MERGED&pagelen={n}&page=2",
            sample.workspace
        ),
        n,
    )
}

/// A page of `n` commits, newest first (`pagelen` up to 100).
pub fn commits_page(rng: &mut Rng, n: usize) -> String {
    let sample = generate(rng.next_u64());
    let values = sample
        .repositories
        .iter()
        .flat_map(|repo| repo.commits.iter().rev().map(move |c| (repo, c)))
        .take(n)
        .map(|(repo, c)| wire::commit(&sample, repo, c, API))
        .collect();
    page(
        values,
        format!(
            "{API}/repositories/{}/web/commits/main?page=7f3a9c2e",
            sample.workspace
        ),
        n,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_hold_what_the_parse_bench_asks_for() {
        let mut rng = Rng::new(42);
        let prs: Value = serde_json::from_str(&pull_requests_page(&mut rng, 50)).expect("JSON");
        let commits: Value = serde_json::from_str(&commits_page(&mut rng, 100)).expect("JSON");
        assert_eq!(prs["values"].as_array().map(Vec::len), Some(50));
        assert!(
            prs["values"]
                .as_array()
                .is_some_and(|v| v.iter().all(|p| p["state"] == "MERGED"))
        );
        assert_eq!(commits["values"].as_array().map(Vec::len), Some(100));
        let mut again = Rng::new(42);
        assert_eq!(
            pull_requests_page(&mut again, 50),
            serde_json::to_string(&prs).expect("JSON")
        );
    }
}
