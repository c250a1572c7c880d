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
//! With the `libgit2` feature, the same two questions are also answered in
//! process with libgit2 (`git2`: `merge_base`, then `graph_descendant_of` per
//! deployment from the merge time on) for the sample and for every merged PR,
//! so the speed-up compares algorithms, not process start-up.
//!
//! `cargo run -p dora-benches --release --features libgit2 --bin git-baseline -- --commits 100000 [--sample 500] [--seed N] [--keep DIR]`

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
    /// The first deployment (index into [`RepoView::deployments`]) from the
    /// merge time on: the candidates run from here to the last.
    from: usize,
}

/// Every deployment's commit, as a git sha (`None` when not in the history).
type DeploymentShas = Vec<Option<String>>;

/// Does our answer for `q` agree with `base` and `shipped`? Prints the first
/// few mismatches.
fn agrees(
    q: &Question,
    ours: &[PrAnswer],
    view: &RepoView,
    mark_sha: &HashMap<u32, String>,
    (base, shipped): (&str, Option<usize>),
    mismatches: &mut usize,
) {
    let a = &ours[q.index];
    let our_base = a
        .divergence
        .and_then(|d| view.graph.first_parent(d))
        .and_then(|p| mark_sha.get(&p));
    if our_base.map(String::as_str) != Some(base) || a.shipped_by != shipped {
        *mismatches += 1;
        if *mismatches <= 5 {
            eprintln!(
                "MISMATCH PR #{}: base {base} shipped {shipped:?}; ours base {our_base:?} shipped {:?}",
                a.pull_request, a.shipped_by
            );
        }
    }
}

struct Run {
    elapsed: Duration,
    processes: usize,
    mismatches: usize,
}

fn ask(
    dir: &Path,
    questions: &[Question],
    deployments: &DeploymentShas,
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
        for (i, d) in deployments.iter().enumerate().skip(q.from) {
            let Some(d) = d else { continue };
            processes += 1;
            let o = git(dir, &["merge-base", "--is-ancestor", &q.merge, d]);
            if o.status.success() {
                shipped = Some(i);
                break;
            }
        }
        agrees(q, ours, view, mark_sha, (&base, shipped), &mut mismatches);
    }
    Run {
        elapsed: t.elapsed(),
        processes,
        mismatches,
    }
}

/// The same questions in process with libgit2: `merge_base`, then
/// `graph_descendant_of` per deployment from the merge time on (a deployment
/// of the merge commit itself ships it, as `git merge-base --is-ancestor` says).
#[cfg(feature = "libgit2")]
fn ask_libgit2(
    dir: &Path,
    questions: &[Question],
    deployments: &DeploymentShas,
    ours: &[PrAnswer],
    view: &RepoView,
    mark_sha: &HashMap<u32, String>,
) -> Result<Run, git2::Error> {
    let repo = git2::Repository::open_bare(dir)?;
    let oids: Vec<Option<git2::Oid>> = deployments
        .iter()
        .map(|d| d.as_deref().and_then(|d| git2::Oid::from_str(d).ok()))
        .collect();
    let t = Instant::now();
    let mut calls = 0;
    let mut mismatches = 0;
    for q in questions {
        let base = repo.merge_base(
            git2::Oid::from_str(&q.first_parent)?,
            git2::Oid::from_str(&q.branch_tip)?,
        )?;
        calls += 1;
        let merge = git2::Oid::from_str(&q.merge)?;
        let mut shipped = None;
        for (i, d) in oids.iter().enumerate().skip(q.from) {
            let Some(d) = *d else { continue };
            calls += 1;
            if d == merge || repo.graph_descendant_of(d, merge)? {
                shipped = Some(i);
                break;
            }
        }
        let base = base.to_string();
        agrees(q, ours, view, mark_sha, (&base, shipped), &mut mismatches);
    }
    Ok(Run {
        elapsed: t.elapsed(),
        processes: calls,
        mismatches,
    })
}

/// The questions for every `step`-th merged PR, in git shas.
fn questions(view: &RepoView, mark_sha: &HashMap<u32, String>, step: usize) -> Vec<Question> {
    let sha_of = |n: u32| mark_sha.get(&n).cloned().unwrap_or_default();
    let mut questions = Vec::new();
    for (index, pr) in view.merged.iter().enumerate().step_by(step) {
        let (Some(m), Some(tip)) = (view.merge_node(pr), view.branch_tip(pr)) else {
            continue;
        };
        let Some(p1) = view.graph.first_parent(m) else {
            continue;
        };
        questions.push(Question {
            index,
            first_parent: sha_of(p1),
            branch_tip: sha_of(tip),
            merge: sha_of(m),
            from: view
                .deployments
                .partition_point(|d| d.time() < pr.merged_at),
        });
    }
    questions
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
    let deployments: DeploymentShas = view
        .deployment_nodes
        .iter()
        .map(|n| n.and_then(|n| mark_sha.get(&n).cloned()))
        .collect();
    let questions = questions(&view, &mark_sha, step);

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
    #[allow(unused_mut)]
    let mut mismatches = 0;
    #[cfg(feature = "libgit2")]
    let all = self::questions(&view, &mark_sha, 1);
    #[cfg(feature = "libgit2")]
    let libgit2 = |when: &str, mismatches: &mut usize| {
        // All PRs first: the sample then runs on a warm object database, as
        // the git loop's processes do on a warm page cache.
        for (label, qs) in [("all PRs", &all), ("sample", &questions)] {
            match ask_libgit2(&dir, qs, &deployments, &ours, &view, &mark_sha) {
                Ok(r) => {
                    *mismatches += r.mismatches;
                    let per_pr = r.elapsed.as_secs_f64() / qs.len() as f64;
                    println!(
                        "libgit2 in process, {when}, {label}: {} PRs, {} calls, {:.2?} ({:.1} µs/PR; {:.2} s for all {prs} PRs) -> ours is {:.0}x faster per PR ({:.0}x with the graph build); mismatches: {}",
                        qs.len(),
                        r.processes,
                        r.elapsed,
                        per_pr * 1e6,
                        per_pr * prs as f64,
                        per_pr * prs as f64 / one_pass.as_secs_f64(),
                        per_pr * prs as f64 / (one_pass + built).as_secs_f64(),
                        r.mismatches
                    );
                }
                Err(e) => {
                    eprintln!("libgit2: {e}");
                    std::process::exit(2);
                }
            }
        }
    };
    #[cfg(feature = "libgit2")]
    libgit2("without commit-graph", &mut mismatches);
    let plain = ask(&dir, &questions, &deployments, &ours, &view, &mark_sha);
    report("without commit-graph", &plain);
    let t = Instant::now();
    git_ok(&dir, &["commit-graph", "write", "--reachable"]);
    println!("git commit-graph write --reachable: {:.2?}", t.elapsed());
    let graph = ask(&dir, &questions, &deployments, &ours, &view, &mark_sha);
    report("with commit-graph", &graph);
    #[cfg(feature = "libgit2")]
    libgit2("with commit-graph", &mut mismatches);

    if arg("--keep").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if plain.mismatches + graph.mismatches + mismatches > 0 || naive_ok != naive.len() {
        std::process::exit(1);
    }
}
