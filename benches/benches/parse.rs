//! Parse throughput (bytes/second) of realistic Bitbucket API pages — a
//! 50-PR `pullrequests` page and a 100-commit `commits` page, default fields —
//! with serde_json into typed structs that mirror the fields an adapter reads
//! (our own mirror: `dora-bitbucket`'s wire types are not public yet).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dora_benches::{Rng, pages};
use serde::Deserialize;
use std::hint::black_box;

#[derive(Deserialize)]
#[allow(dead_code)]
struct Page<T> {
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    pagelen: Option<u32>,
    values: Vec<T>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Account {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    uuid: Option<String>,
    #[serde(default)]
    account_id: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    nickname: Option<String>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Branch {
    name: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct CommitRef {
    hash: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Endpoint {
    branch: Branch,
    #[serde(default)]
    commit: Option<CommitRef>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct PullRequest {
    id: u64,
    title: String,
    state: String,
    author: Account,
    source: Endpoint,
    destination: Endpoint,
    #[serde(default)]
    merge_commit: Option<CommitRef>,
    #[serde(default)]
    closed_by: Option<Account>,
    created_on: String,
    updated_on: String,
    #[serde(default)]
    comment_count: u32,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Author {
    raw: String,
    #[serde(default)]
    user: Option<Account>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Commit {
    hash: String,
    date: String,
    message: String,
    author: Author,
    parents: Vec<CommitRef>,
}

fn parse(c: &mut Criterion) {
    let mut rng = Rng::new(42);
    let prs = pages::pull_requests_page(&mut rng, 50);
    let commits = pages::commits_page(&mut rng, 100);
    // Sanity: the mirrors read every value.
    let p: Page<PullRequest> = serde_json::from_str(&prs).expect("PR page parses");
    assert_eq!(p.values.len(), 50);
    let k: Page<Commit> = serde_json::from_str(&commits).expect("commit page parses");
    assert_eq!(k.values.len(), 100);

    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(prs.len() as u64));
    group.bench_function(format!("pullrequests_page_50/{}B", prs.len()), |b| {
        b.iter(|| serde_json::from_str::<Page<PullRequest>>(black_box(&prs)))
    });
    group.throughput(Throughput::Bytes(commits.len() as u64));
    group.bench_function(format!("commits_page_100/{}B", commits.len()), |b| {
        b.iter(|| serde_json::from_str::<Page<Commit>>(black_box(&commits)))
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
