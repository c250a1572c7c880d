//! The full report (`compute_at`) at 10k and 100k commits, and 1M commits
//! (100k PRs, 20k deployments, 5k incidents) with `DORA_BENCH_LARGE=1`; one
//! repository (the monorepo case: one 1M-commit graph) and, at each size,
//! the same history split over 8 repositories.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dora_benches::{Scale, generate};
use std::hint::black_box;
use std::time::Duration;

fn sizes() -> Vec<usize> {
    let mut s = vec![10_000, 100_000];
    if std::env::var("DORA_BENCH_LARGE").is_ok_and(|v| v == "1") {
        s.push(1_000_000);
    }
    s
}

fn report(c: &mut Criterion) {
    let mut group = c.benchmark_group("report");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    for n in sizes() {
        for repos in [1, 8] {
            let s = generate(&Scale::commits(n).repositories(repos));
            let config = s.config();
            group.throughput(Throughput::Elements(s.dataset.commits.len() as u64));
            group.bench_with_input(
                BenchmarkId::new(format!("compute_at/{repos}repo"), n),
                &n,
                |b, _| b.iter(|| dora_core::compute_at(black_box(&s.dataset), &config, s.now)),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, report);
criterion_main!(benches);
