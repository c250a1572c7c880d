//! The git baseline: write a generated history into a real git repository
//! with `git fast-import`, then answer, for a sample of merged PRs, the same
//! two questions the engine answers for all of them in one pass:
//!
//! - divergence: `git merge-base <first parent> <branch tip>` (the commit the
//!   branch forked from; our divergence point's parent must equal it);
//! - shipped-by: `git merge-base --is-ancestor <merge> <deployment>` over
//!   successful production deployments from the merge time on, stopping at the
//!   first that contains the merge (ours must be the same deployment).
//!
//! Every sampled answer is checked against ours. Timings are reported per PR
//! and extrapolated to all PRs, without and with `git commit-graph write`.
//!
//! `cargo run -p dora-benches --release --bin git-baseline -- --commits 100000 [--sample 500] [--seed N] [--keep DIR]`

use dora_benches::answers::{self, PrAnswer, RepoView};
use dora_benches::{Scale, generate, gitimport};
use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn num(name: &str, default: u64) -> u64 {
    arg(name)
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn git(dir: &Path, args: &[&str]) -> std::process::Output {
    match Command::new("git").arg("-C").arg(dir).args(args).output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("cannot run git: {e}");
            std::process::exit(2);
        }
    }
}

fn git_ok(dir: &Path, args: &[&str]) -> String {
    let o = git(dir, args);
    if !o.status.success() {
        eprintln!(
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        std::process::exit(2);
    }
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// One PR's question inputs, in git shas.
struct Question {
    index: usize,
    first_parent: String,
    branch_tip: String,
    merge: String,
    /// Deployment indices and git shas from the merge time on.
    candidates: Vec<(usize, String)>,
}

struct Run {
    elapsed: Duration,
    processes: usize,
    mismatches: usize,
}

fn ask(
    dir: &Path,
    questions: &[Question],
    ours: &[PrAnswer],
    view: &RepoView,
    mark_sha: &HashMap<u32, String>,
) -> Run {
    let t = Instant::now();
    let mut processes = 0;
    let mut mismatches = 0;
    for q in questions {
        let base = git_ok(dir, &["merge-base", &q.first_parent, &q.branch_tip]);
        processes += 1;
        let mut shipped = None;
        for (i, d) in &q.candidates {
            processes += 1;
            let o = git(dir, &["merge-base", "--is-ancestor", &q.merge, d]);
            if o.status.success() {
                shipped = Some(*i);
                break;
            }
        }
        // Check against the one-pass answers.
        let a = &ours[q.index];
        let our_base = a
            .divergence
            .and_then(|d| view.graph.first_parent(d))
            .and_then(|p| mark_sha.get(&p));
        if our_base != Some(&base) || a.shipped_by != shipped {
            mismatches += 1;
            if mismatches <= 5 {
                eprintln!(
                    "MISMATCH PR #{}: git base {base} shipped {shipped:?}; ours base {our_base:?} shipped {:?}",
                    a.pull_request, a.shipped_by
                );
            }
        }
    }
    Run {
        elapsed: t.elapsed(),
        processes,
        mismatches,
    }
}

fn main() {
    let commits = num("--commits", 100_000) as usize;
    let sample = num("--sample", 500) as usize;
    let mut scale = Scale::commits(commits);
    if let Some(seed) = arg("--seed").and_then(|s| s.parse().ok()) {
        scale = scale.seed(seed);
    }
    let dir: PathBuf = arg("--keep").map_or_else(
        || std::env::temp_dir().join(format!("dora-git-baseline-{}", std::process::id())),
        PathBuf::from,
    );
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {e}", dir.display());
        std::process::exit(2);
    }

    let s = generate(&scale);
    let data = &s.dataset;
    let slug = data.repositories[0].slug.clone();

    // Ours: graph build + both one-pass answers for every merged PR.
    let t = Instant::now();
    let view = RepoView::new(data, &slug);
    let built = t.elapsed();
    let t = Instant::now();
    let ours = answers::one_pass(&view);
    let one_pass = t.elapsed();
    let prs = view.merged.len();
    println!(
        "history: {} commits, {} merged PRs, {} successful production deployments",
        view.graph.len(),
        prs,
        view.deployments.len()
    );
    println!(
        "ours: graph build {built:.2?}, divergence + shipped-by for all {prs} PRs {one_pass:.2?} ({:.3} µs/PR; {:.3} µs/PR with the build)",
        one_pass.as_secs_f64() * 1e6 / prs as f64,
        (one_pass + built).as_secs_f64() * 1e6 / prs as f64
    );

    // The naive per-PR implementation on a sample (same sample as git's).
    let step = (prs / sample.max(1)).max(1);
    let t = Instant::now();
    let naive = answers::naive(&view, answers::Scan::FromMerge, step);
    let naive_time = t.elapsed();
    let naive_ok = naive
        .iter()
        .zip(ours.iter().step_by(step))
        .filter(|(a, b)| a == b)
        .count();
    let naive_per_pr = naive_time.as_secs_f64() / naive.len() as f64;
    println!(
        "naive per-PR: {} PRs in {naive_time:.2?} ({:.1} µs/PR, extrapolated {:.2} s for all), {naive_ok}/{} equal to ours",
        naive.len(),
        naive_per_pr * 1e6,
        naive_per_pr * prs as f64,
        naive.len()
    );

    // Write the repository.
    let t = Instant::now();
    git_ok(&dir, &["init", "-q", "--bare"]);
    let marks = dir.join("marks");
    let mut child = match Command::new("git")
        .arg("-C")
        .arg(&dir)
        .args(["fast-import", "--quiet"])
        .arg(format!("--export-marks={}", marks.display()))
        .stdin(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot run git fast-import: {e}");
            std::process::exit(2);
        }
    };
    let written = {
        let Some(stdin) = child.stdin.take() else {
            eprintln!("no stdin for fast-import");
            std::process::exit(2);
        };
        let mut w = BufWriter::with_capacity(1 << 20, stdin);
        let n = gitimport::write_stream(data, &slug, &view, &mut w);
        let _ = w.flush();
        n
    };
    let status = child.wait();
    if !matches!(status, Ok(s) if s.success()) || written.is_err() {
        eprintln!("fast-import failed: {status:?} {written:?}");
        std::process::exit(2);
    }
    let mut mark_sha: HashMap<u32, String> = HashMap::new();
    for line in std::fs::read_to_string(&marks).unwrap_or_default().lines() {
        if let Some((m, sha)) = line.strip_prefix(':').and_then(|l| l.split_once(' '))
            && let Ok(m) = m.parse::<u32>()
        {
            mark_sha.insert(m - 1, sha.to_string());
        }
    }
    println!(
        "git fast-import: {} commits in {:.2?}",
        mark_sha.len(),
        t.elapsed()
    );

    // The questions for the sampled PRs, in git shas.
    let sha_of = |n: u32| mark_sha.get(&n).cloned().unwrap_or_default();
    let mut questions = Vec::new();
    for (index, pr) in view.merged.iter().enumerate().step_by(step) {
        let (Some(m), Some(tip)) = (view.merge_node(pr), view.branch_tip(pr)) else {
            continue;
        };
        let Some(p1) = view.graph.first_parent(m) else {
            continue;
        };
        let from = view
            .deployments
            .partition_point(|d| d.time() < pr.merged_at);
        let candidates = (from..view.deployments.len())
            .filter_map(|i| view.deployment_nodes[i].map(|n| (i, sha_of(n))))
            .collect();
        questions.push(Question {
            index,
            first_parent: sha_of(p1),
            branch_tip: sha_of(tip),
            merge: sha_of(m),
            candidates,
        });
    }

    let report = |label: &str, r: &Run| {
        let per_pr = r.elapsed.as_secs_f64() / questions.len() as f64;
        let all = per_pr * prs as f64;
        println!(
            "git {label}: {} PRs, {} git processes, {:.2?} ({:.2} ms/PR; extrapolated {:.1} s for all {prs} PRs) -> ours is {:.0}x faster per PR ({:.0}x with the graph build); mismatches: {}",
            questions.len(),
            r.processes,
            r.elapsed,
            per_pr * 1e3,
            all,
            all / one_pass.as_secs_f64(),
            all / (one_pass + built).as_secs_f64(),
            r.mismatches
        );
    };
    let plain = ask(&dir, &questions, &ours, &view, &mark_sha);
    report("without commit-graph", &plain);
    let t = Instant::now();
    git_ok(&dir, &["commit-graph", "write", "--reachable"]);
    println!("git commit-graph write --reachable: {:.2?}", t.elapsed());
    let graph = ask(&dir, &questions, &ours, &view, &mark_sha);
    report("with commit-graph", &graph);

    if arg("--keep").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if plain.mismatches + graph.mismatches > 0 || naive_ok != naive.len() {
        std::process::exit(1);
    }
}
