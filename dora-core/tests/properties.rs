//! Metric invariants as quickcheck properties, plus a naive oracle for the
//! one-pass "first deployment that shipped each commit".
#![allow(clippy::unwrap_used)]

mod common;
use chrono::Duration;
use common::*;
use dora_core::graph::{CommitGraph, Labeler, UNLABELLED};
use dora_core::*;
use quickcheck::{Arbitrary, Gen};
use quickcheck_macros::quickcheck;

/// A random but well-formed history: a main line with merged feature branches
/// (merge and squash), reverts, hotfix branches, bots, deployments (some failed,
/// some rollbacks) and incidents.
#[derive(Debug, Clone)]
struct History(Dataset);

fn pick(g: &mut Gen, n: u32) -> u32 {
    u32::arbitrary(g) % n.max(1)
}

impl Arbitrary for History {
    fn arbitrary(g: &mut Gen) -> Self {
        let mut b = Builder::new("svc");
        let mut now = t(1, 0) - Duration::days(20);
        let mut main = "root".to_string();
        b.commit("root", &[], now);
        let mut mains = vec![main.clone()];
        let prs = 1 + pick(g, 25);
        let mut dep = 0;
        for i in 0..prs {
            let mut branch = Vec::new();
            let mut parent = main.clone();
            for k in 0..(1 + pick(g, 3)) {
                now += Duration::minutes(10 + i64::from(pick(g, 600)));
                let name = format!("p{i}c{k}");
                b.commit(&name, &[&parent], now);
                branch.push(name.clone());
                parent = name;
            }
            let created = now - Duration::minutes(i64::from(pick(g, 300)));
            now += Duration::minutes(5 + i64::from(pick(g, 2000)));
            let merge = format!("m{i}");
            let squash = bool::arbitrary(g);
            if squash {
                b.commit(&merge, &[&main], now);
            } else {
                b.commit(&merge, &[&main, &parent], now);
            }
            if pick(g, 6) == 0 && mains.len() > 1 {
                // The merge reverts an earlier main-line commit.
                let target = mains[pick(g, mains.len() as u32) as usize].clone();
                let last = b.data.commits.len() - 1;
                b.data.commits[last].message =
                    format!("Revert \"x\"\n\nThis reverts commit {}.", sha(&target));
            }
            let review =
                bool::arbitrary(g).then(|| created + Duration::minutes(i64::from(pick(g, 200))));
            let branch_name = match pick(g, 5) {
                0 => format!("hotfix/h{i}"),
                1 => format!("renovate/r{i}"),
                _ => format!("feature/f{i}"),
            };
            let refs: Vec<&str> = branch.iter().map(String::as_str).collect();
            b.pr(
                u64::from(i) + 1,
                &branch_name,
                created,
                review,
                now,
                &merge,
                if squash { &refs } else { &[] },
            );
            if branch_name.starts_with("renovate") {
                let last = b.data.pull_requests.len() - 1;
                b.data.pull_requests[last].author = Actor::bot("bot", "renovate[bot]");
            }
            main = merge;
            mains.push(main.clone());
            if bool::arbitrary(g) {
                dep += 1;
                let at = now + Duration::minutes(1 + i64::from(pick(g, 600)));
                let (commit, status) = match pick(g, 8) {
                    0 => (main.clone(), DeploymentStatus::Failed),
                    1 => (
                        mains[pick(g, mains.len() as u32) as usize].clone(),
                        DeploymentStatus::Succeeded,
                    ),
                    _ => (main.clone(), DeploymentStatus::Succeeded),
                };
                b.deploy(&format!("d{dep}"), &commit, at, status);
                now = at;
            }
            if pick(g, 4) == 0 {
                let sev = Severity::ALL.get(pick(g, 6) as usize).copied();
                let open = now + Duration::minutes(i64::from(pick(g, 1500)));
                let res = bool::arbitrary(g)
                    .then(|| open + Duration::minutes(1 + i64::from(pick(g, 900))));
                b.data
                    .incidents
                    .push(Incident::new("pd", format!("i{i}"), sev, open, res));
            }
        }
        History(b.data)
    }
}

fn config() -> Config {
    Config {
        days: 30,
        until: Some(t(31, 0)),
        ..Config::default()
    }
}

fn shuffled(data: &Dataset, seed: u64) -> Dataset {
    fn shuffle<T>(v: &mut [T], seed: &mut u64) {
        for i in (1..v.len()).rev() {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            v.swap(i, (*seed % (i as u64 + 1)) as usize);
        }
    }
    let mut d = data.clone();
    let mut s = seed | 1;
    shuffle(&mut d.commits, &mut s);
    shuffle(&mut d.pull_requests, &mut s);
    shuffle(&mut d.deployments, &mut s);
    shuffle(&mut d.incidents, &mut s);
    d
}

#[quickcheck]
fn input_order_never_changes_the_report(h: History, seed: u64) -> bool {
    run(&h.0, &config()).to_json() == run(&shuffled(&h.0, seed), &config()).to_json()
}

#[quickcheck]
fn rates_stay_in_unit_interval(h: History) -> bool {
    let r = run(&h.0, &config());
    let ok = |x: Option<f64>| x.is_none_or(|v| (0.0..=1.0).contains(&v));
    ok(r.metrics.change_failure_rate.rate)
        && ok(r.metrics.rework_rate.rate)
        && r.metrics.change_failure_rate.failed <= r.metrics.change_failure_rate.deployments
        && r.metrics
            .change_failure_rate
            .weekly
            .iter()
            .all(|w| ok(w.value))
}

#[quickcheck]
fn phases_add_up_to_lead_time(h: History) -> bool {
    run(&h.0, &config()).changes.iter().all(|c| {
        let sum = c.coding_seconds + c.pickup_seconds + c.review_seconds + c.deploy_seconds;
        (sum - c.lead_time_seconds).abs() < 1e-6
            && [
                c.coding_seconds,
                c.pickup_seconds,
                c.review_seconds,
                c.deploy_seconds,
            ]
            .iter()
            .all(|p| *p >= 0.0)
    })
}

#[quickcheck]
fn adding_a_failure_signal_never_lowers_the_failure_rate(h: History, hour: u16) -> bool {
    let before = run(&h.0, &config()).metrics.change_failure_rate;
    let mut more = h.0.clone();
    let open = t(1, 0) + Duration::hours(i64::from(hour % 720));
    more.incidents
        .push(Incident::new("pd", "extra", Some(Severity::P1), open, None));
    let after = run(&more, &config()).metrics.change_failure_rate;
    after.deployments == before.deployments && after.failed >= before.failed
}

#[quickcheck]
fn every_change_is_shipped_by_at_most_one_deployment(h: History) -> bool {
    let r = run(&h.0, &config());
    let mut ids: Vec<u64> = r.changes.iter().map(|c| c.pull_request).collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    let shipped: usize = r.deployments.iter().map(|d| d.changes).sum();
    ids.len() == n && shipped <= h.0.pull_requests.len()
}

/// The one-pass labeller agrees with a naive ancestry search per commit.
#[quickcheck]
fn one_pass_shipping_matches_naive_oracle(h: History) -> bool {
    let g = CommitGraph::build(&h.0.commits);
    let mut tips: Vec<_> =
        h.0.deployments
            .iter()
            .filter(|d| d.status == DeploymentStatus::Succeeded)
            .collect();
    tips.sort_by_key(|d| (d.time(), d.id.clone()));
    let nodes: Vec<u32> = tips.iter().filter_map(|d| g.resolve(&d.commit)).collect();
    let mut l = Labeler::new(&g);
    for (i, &n) in nodes.iter().enumerate() {
        l.mark(n, i as u32, |_| {});
    }
    (0..g.len() as u32).all(|c| {
        let naive = nodes
            .iter()
            .position(|&tip| g.is_ancestor(c, tip))
            .map_or(UNLABELLED, |i| i as u32);
        naive == l.label(c)
    })
}

#[test]
fn generated_histories_exercise_every_signal() {
    // At least 200 random histories, more (up to 2,000) until every signal
    // has fired: a rare signal (a revert) could miss 200 by chance.
    let mut g = Gen::new(60);
    let mut totals = [0usize; 6];
    for n in 0..2000 {
        if n >= 200 && totals.iter().all(|&v| v > 0) {
            break;
        }
        let r = run(&History::arbitrary(&mut g).0, &config());
        let s = r.metrics.change_failure_rate.by_signal;
        for (i, v) in [
            r.metrics.lead_time.count,
            s.failed_deployment,
            s.revert,
            s.hotfix,
            s.rollback,
            s.incident,
        ]
        .into_iter()
        .enumerate()
        {
            totals[i] += v;
        }
    }
    assert!(
        totals.iter().all(|&v| v > 0),
        "some signal never fires in generated data: {totals:?}"
    );
}

#[quickcheck]
fn scope_lists_every_repository_of_the_dataset(h: History, extra: bool) -> bool {
    let mut data = h.0;
    if extra {
        data.repositories
            .push(Repository::new("declared-but-empty", "main"));
    }
    run(&data, &config()).scope.repositories == data.repository_slugs()
}

/// A [`History`] with the mess real collections bring: PRs that are open,
/// declined or without a merge time, staging and unfinished deployments,
/// undated and dismissed ones, truncated PR histories, items a converter
/// could not read (`clean`) — and the same with some items listed twice, an
/// earlier stale copy before each (`repeated`).
#[derive(Debug, Clone)]
struct Noisy {
    clean: Dataset,
    repeated: Dataset,
}

const SKIP_REASONS: [&str; 3] = ["missing_status", "missing_timestamp", "bad_json"];

impl Arbitrary for Noisy {
    fn arbitrary(g: &mut Gen) -> Self {
        let mut d = History::arbitrary(g).0;
        for pr in &mut d.pull_requests {
            match pick(g, 12) {
                0 => {
                    pr.state = PullRequestState::Open;
                    pr.merged_at = None;
                }
                1 => pr.state = PullRequestState::Declined,
                2 => pr.merged_at = None,
                3 => pr.merge_commit = Some("0000000000ff".into()),
                _ => {}
            }
        }
        for dep in &mut d.deployments {
            match pick(g, 12) {
                0 => {
                    dep.environment = "staging".into();
                    dep.environment_kind = EnvironmentKind::Staging;
                }
                1 => dep.status = DeploymentStatus::InProgress,
                2 => dep.status = DeploymentStatus::Stopped,
                3 => dep.status = DeploymentStatus::Undeployed,
                4 => dep.finished_at = None,
                _ => {}
            }
        }
        if pick(g, 4) == 0 {
            // No deployment from before the window: the first is the baseline.
            d.deployments
                .retain(|dep| dep.time().is_none_or(|t0| t0 >= t(1, 0)));
        }
        for inc in &mut d.incidents {
            if pick(g, 8) == 0 {
                inc.status = IncidentStatus::Dismissed;
            }
        }
        let prs = d.pull_requests.len() as u32;
        for _ in 0..pick(g, 3) {
            d.collection.history_truncated.push(HistoryGap {
                repository: "svc".into(),
                pull_request: u64::from(1 + pick(g, prs)),
                remedy: "raise --max-commits".into(),
            });
        }
        for i in 0..pick(g, 6) {
            let kind = EventKind::ALL[pick(g, 4) as usize];
            let scope = match pick(g, 3) {
                0 => Some("svc".to_string()),
                1 => Some("pagerduty".to_string()),
                _ => None,
            };
            let id = bool::arbitrary(g).then(|| format!("x{i}"));
            let reason = SKIP_REASONS[pick(g, 3) as usize];
            d.collection
                .skipped
                .push(SkippedEvent::new(kind, scope, id, reason, ""));
        }
        let mut r = d.clone();
        for _ in 0..pick(g, 4) {
            if !r.deployments.is_empty() {
                let mut stale = r.deployments[pick(g, r.deployments.len() as u32) as usize].clone();
                stale.status = DeploymentStatus::InProgress;
                r.deployments.insert(0, stale);
            }
            if !r.pull_requests.is_empty() {
                let mut stale =
                    r.pull_requests[pick(g, r.pull_requests.len() as u32) as usize].clone();
                stale.state = PullRequestState::Open;
                r.pull_requests.insert(0, stale);
            }
            if !r.incidents.is_empty() {
                let mut stale = r.incidents[pick(g, r.incidents.len() as u32) as usize].clone();
                stale.severity = None;
                r.incidents.insert(0, stale);
            }
            let mut stale = r.commits[pick(g, r.commits.len() as u32) as usize].clone();
            stale.message = format!("Revert \"x\"\n\nThis reverts commit {}.", sha("root"));
            r.commits.insert(0, stale);
        }
        Noisy {
            clean: d,
            repeated: r,
        }
    }
}

fn skipped_of(data: &Dataset, kind: EventKind) -> usize {
    data.collection
        .skipped
        .iter()
        .filter(|s| s.kind == kind)
        .count()
}

/// Every ledger balances; `fetched` is the de-duplicated events plus the
/// unreadable ones; the ledgers agree with the metrics where they overlap.
#[quickcheck]
fn every_ledger_balances_exactly(n: Noisy) -> bool {
    let d = &n.clean;
    [&n.clean, &n.repeated].into_iter().all(|data| {
        let r = run(data, &config());
        let a = &r.accounting;
        let lt = &r.metrics.lead_time;
        let pr = &a.pull_requests;
        a.balances()
            && pr.fetched == d.pull_requests.len() + skipped_of(d, EventKind::PullRequest)
            && a.deployments.fetched == d.deployments.len() + skipped_of(d, EventKind::Deployment)
            && a.incidents.fetched == d.incidents.len() + skipped_of(d, EventKind::Incident)
            && a.commits.fetched == d.commits.len() + skipped_of(d, EventKind::Commit)
            && pr.used == lt.count
            && pr.excluded_for("bots") == lt.excluded.bots
            && pr.excluded_for("not_deployed") == lt.excluded.not_deployed
            && pr.excluded_for("baseline") == lt.excluded.baseline
            && pr.excluded_for("merge_commit_unknown") == lt.excluded.merge_commit_unknown
            && pr.excluded_for("history_truncated") == lt.excluded.history_truncated
            && a.deployments.used == r.deployments.iter().filter(|d| !d.from_merge).count()
            && a.incidents.used == r.incidents.iter().filter(|i| i.counted).count()
            && a.incidents.excluded_for("below_severity")
                == r.metrics.recovery_time.incidents.excluded_by_severity
            && a.commits.used == d.commits.len()
    })
}

/// Repeated items (an earlier, stale copy of each) change nothing: the last
/// copy wins, as `Dataset::dedup` keeps it.
#[quickcheck]
fn repeated_items_give_the_report_of_the_deduplicated_dataset(n: Noisy) -> bool {
    let mut deduped = n.repeated.clone();
    deduped.dedup();
    let repeated = run(&n.repeated, &config()).to_json();
    repeated == run(&deduped, &config()).to_json() && repeated == run(&n.clean, &config()).to_json()
}

#[quickcheck]
fn noisy_input_order_never_changes_the_report(n: Noisy, seed: u64) -> bool {
    run(&n.clean, &config()).to_json() == run(&shuffled(&n.clean, seed), &config()).to_json()
}

#[test]
fn noisy_datasets_exercise_every_reason() {
    use dora_core::report::reasons::*;
    let mut g = Gen::new(60);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..200 {
        let r = run(&Noisy::arbitrary(&mut g).repeated, &config());
        for (_, ledger) in r.accounting.ledgers() {
            seen.extend(ledger.excluded.keys().cloned());
        }
    }
    for reason in [
        NOT_MERGED,
        MERGE_TIME_UNKNOWN,
        BOTS,
        MERGE_COMMIT_UNKNOWN,
        NOT_DEPLOYED,
        BASELINE,
        HISTORY_TRUNCATED,
        OUTSIDE_WINDOW,
        NOT_PRODUCTION,
        NOT_RUN,
        STOPPED,
        UNDATED,
        DISMISSED,
        BELOW_SEVERITY,
        "missing_status",
        "missing_timestamp",
        "bad_json",
    ] {
        assert!(seen.contains(reason), "{reason} never seen: {seen:?}");
    }
}
