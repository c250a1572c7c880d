//! Commit-graph benchmarks: building the graph, divergence points for all
//! PRs, first deployment per commit (both one-pass, as the engine does them),
//! and the naive per-PR implementation for comparison.
//!
//! Small sizes (10k and 100k commits) by default; 1M commits with
//! `DORA_BENCH_LARGE=1`.

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dora_benches::answers::{self, RepoView, Scan};
use dora_benches::{Scale, generate};
use dora_core::graph::CommitGraph;
use std::hint::black_box;
use std::time::Duration;

fn sizes() -> Vec<usize> {
    let mut s = vec![10_000, 100_000];
    if std::env::var("DORA_BENCH_LARGE").is_ok_and(|v| v == "1") {
        s.push(1_000_000);
    }
    s
}

fn graph(c: &mut Criterion) {
    let mut group = c.benchmark_group("graph");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for n in sizes() {
        let s = generate(&Scale::commits(n));
        let data = &s.dataset;
        let slug = data.repositories[0].slug.clone();
        let view = RepoView::new(data, &slug);
        let commits = data.commits.len() as u64;
        group.throughput(Throughput::Elements(commits));
        group.bench_with_input(BenchmarkId::new("build", n), &n, |b, _| {
            b.iter_batched(
                || (),
                |()| CommitGraph::build(black_box(&data.commits)),
                BatchSize::PerIteration,
            );
        });
        group.bench_with_input(BenchmarkId::new("divergence_all_prs", n), &n, |b, _| {
            b.iter(|| answers::divergence_points(black_box(&view)));
        });
        group.bench_with_input(
            BenchmarkId::new("first_deployment_per_commit", n),
            &n,
            |b, _| {
                b.iter(|| answers::first_deployment_per_commit(black_box(&view)));
            },
        );
        group.bench_with_input(BenchmarkId::new("one_pass_both", n), &n, |b, _| {
            b.iter(|| answers::one_pass(black_box(&view)));
        });
        // The naive per-PR implementation on a sample of 100 PRs (per-PR cost).
        let step = (view.merged.len() / 100).max(1);
        group.throughput(Throughput::Elements(view.merged.len().div_ceil(step) as u64));
        group.bench_with_input(BenchmarkId::new("naive_per_pr_sample100", n), &n, |b, _| {
            b.iter(|| answers::naive(black_box(&view), Scan::FromMerge, step));
        });
    }
    group.finish();
}

criterion_group!(benches, graph);
criterion_main!(benches);
