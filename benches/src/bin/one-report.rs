//! Generate a history and run one full report on it, printing timings: the
//! binary to run under `/usr/bin/time -v` for peak memory.
//!
//! `cargo run -p dora-benches --release --bin one-report -- --commits 1000000 [--repos 1] [--runs 1] [--seed N]`

use dora_benches::{Scale, generate};
use std::time::Instant;

fn arg(name: &str) -> Option<u64> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.replace('_', "").parse().ok())
}

/// Peak resident set size so far (Linux `VmHWM`), in MiB.
fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() {
    let commits = arg("--commits").unwrap_or(1_000_000) as usize;
    let repos = arg("--repos").unwrap_or(1) as usize;
    let runs = arg("--runs").unwrap_or(1).max(1);
    let mut scale = Scale::commits(commits).repositories(repos);
    if let Some(seed) = arg("--seed") {
        scale = scale.seed(seed);
    }
    let t = Instant::now();
    let s = generate(&scale);
    let d = &s.dataset;
    eprintln!(
        "generated {} commits, {} PRs, {} deployments, {} incidents in {} repos in {:.2?}",
        d.commits.len(),
        d.pull_requests.len(),
        d.deployments.len(),
        d.incidents.len(),
        d.repository_slugs().len(),
        t.elapsed()
    );
    eprintln!("peak RSS after generating: {:.0?} MiB", peak_mib());
    let config = s.config();
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let report = dora_core::compute_at(d, &config, s.now);
        let e = t.elapsed();
        times.push(e);
        eprintln!(
            "compute_at: {e:.2?} (changes {}, deployments {}, failed {}, lead time median {:?} s)",
            report.changes.len(),
            report.metrics.change_failure_rate.deployments,
            report.metrics.change_failure_rate.failed,
            report.metrics.lead_time.median_seconds
        );
        std::hint::black_box(report);
    }
    eprintln!("peak RSS after computing: {:.0?} MiB", peak_mib());
    times.sort();
    println!(
        "median compute_at over {runs} run(s): {:.2?}",
        times[times.len() / 2]
    );
}
