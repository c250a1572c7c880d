//! The metrics engine: attribution per repository, then aggregation.
//!
//! Per repository, in time order and in a constant number of passes over the
//! commit graph (O(V+E) in all):
//! 1. production deployment attempts are chosen and sorted (merge fallback when
//!    the repository has none at all);
//! 2. one [`Labeler`] pass over successful deployments finds the first deployment
//!    that shipped every commit (in any production environment), and spots
//!    rollbacks on the way (against the previous deployment to the *same*
//!    environment, as failed-deployment recovery and excused re-runs are);
//! 3. one pass over merged PRs in merge order finds each PR's branch-only commits
//!    (the divergence point) against the destination's first parent;
//! 4. classifiers attach failure signals (failed status, revert, hotfix, rollback)
//!    and rework flags.
//!
//! Then incidents are attributed across repositories and every metric is
//! aggregated from the traceable rows (changes, deployments, incidents).
//! Every event read is classified on the way (used, or excluded for a named
//! reason) into the report's `accounting`; see [`crate::accounting`].

use crate::TimeRange;
use crate::accounting::{self, PrFate, Tallies, Tally};
use crate::classify::parse_revert;
use crate::config::{Config, LeadTimeStart};
use crate::diagnostics::{Diagnostic, DiagnosticSeverity as Sev, codes};
use crate::graph::{CommitGraph, Labeler, NodeId, UNLABELLED};
use crate::model::{
    Dataset, Deployment, DeploymentStatus, EnvironmentKind, IncidentStatus, PullRequest,
    PullRequestState, Timestamp,
};
use crate::report::*;
use crate::stats::{duration_stats, median};
use crate::tiers;
use chrono::{Datelike, Duration, Utc};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Compute a report with the window ending at `config.until`, or now.
pub fn compute(data: &Dataset, config: &Config) -> Report {
    compute_at(data, config, Utc::now())
}

/// Compute a report, with `now` standing in for a missing `config.until`.
/// A deterministic function of its arguments.
///
/// Items listed twice under one id (pages that shifted during collection) are
/// counted once, the last copy winning, as [`Dataset::dedup`] does; the
/// dataset is cloned only when it has such repeats.
pub fn compute_at(data: &Dataset, config: &Config, now: Timestamp) -> Report {
    let window = config.window(now);
    let mut data = Cow::Borrowed(data);
    if accounting::has_repeated_events(&data) {
        data.to_mut().dedup();
    }
    let (mut slugs, mut repos) = analyse_repositories(&data, config, window);
    // Repeated commits show up in the commit graph, which drops them anyway:
    // only then is the history copied and analysed again, the last copy winning.
    if repos.iter().any(|r| r.repeated_commits) && matches!(data, Cow::Borrowed(_)) {
        data.to_mut().dedup();
        (slugs, repos) = analyse_repositories(&data, config, window);
    }
    let mut report = finish(&data, config, window, slugs, repos);
    report
        .diagnostics
        .extend(crate::diagnostics::no_events_in_window(&data, window));
    if window.end > now {
        report.diagnostics.push(Diagnostic::new(
            codes::UNTIL_IN_FUTURE,
            Sev::Warning,
            format!(
                "the window ends at {}, after now ({}): the days still to come count as days without deployments, lowering deployment frequency",
                window.end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        ));
    }
    report
}

/// The repositories in scope and the analysis of each.
fn analyse_repositories(
    data: &Dataset,
    config: &Config,
    window: TimeRange,
) -> (Vec<String>, Vec<RepoResult>) {
    let groups = group_by_repository(data);
    // The same set as `Dataset::repository_slugs`, without a second pass over
    // every event: the declared repositories plus every slug an event names.
    let mut slugs: Vec<String> = groups
        .keys()
        .copied()
        .chain(data.repositories.iter().map(|r| r.slug.as_str()))
        .map(str::to_string)
        .collect();
    slugs.sort_unstable();
    slugs.dedup();
    let repos = slugs
        .iter()
        .map(|slug| {
            let empty = RepoEvents::default();
            let events = groups.get(slug.as_str()).unwrap_or(&empty);
            analyse_repository(data, events, config, slug, window)
        })
        .collect();
    (slugs, repos)
}

/// Incidents, aggregation, diagnostics and accounting over analysed repositories.
fn finish(
    data: &Dataset,
    config: &Config,
    window: TimeRange,
    slugs: Vec<String>,
    mut repos: Vec<RepoResult>,
) -> Report {
    let mut diagnostics = Vec::new();
    let (incident_rows, incident_tally) = attribute_incidents(data, config, window, &mut repos);

    for r in &repos {
        diagnostics.extend(r.diagnostics.iter().cloned());
    }

    let all_changes: Vec<&ChangeRow> = repos.iter().flat_map(|r| r.changes.iter()).collect();
    let all_deploys: Vec<&DeploymentRow> = repos
        .iter()
        .flat_map(|r| r.deployments.iter())
        .filter(|d| window.contains(d.deployed_at))
        .collect();
    let exclusions = repos
        .iter()
        .fold(LeadTimeExclusions::default(), |a, r| add(a, r.excluded));
    let source = deployment_source(repos.iter().map(|r| r.fallback));
    let bot_count = exclusions.bots;
    let metrics = build_metrics(
        config,
        window,
        &all_changes,
        &all_deploys,
        &incident_rows.iter().collect::<Vec<_>>(),
        exclusions,
        source,
        repos.iter().map(|r| r.excused).sum(),
    );

    let mut per_repo = BTreeMap::new();
    if repos.len() > 1 {
        for r in &repos {
            let changes: Vec<&ChangeRow> = r.changes.iter().collect();
            let deploys: Vec<&DeploymentRow> = r
                .deployments
                .iter()
                .filter(|d| window.contains(d.deployed_at))
                .collect();
            let incidents: Vec<&IncidentRow> = incident_rows
                .iter()
                .filter(|i| i.belongs_to(&r.slug))
                .map(|i| &i.row)
                .collect();
            let m = build_metrics_rows(
                config,
                window,
                &changes,
                &deploys,
                &incidents,
                r.excluded,
                deployment_source([r.fallback].into_iter()),
                r.excused,
            );
            per_repo.insert(r.slug.clone(), m);
        }
    }

    global_diagnostics(
        data,
        config,
        window,
        &metrics,
        bot_count,
        &incident_rows,
        &mut diagnostics,
    );
    diagnostics.extend(accounting::skipped_events(&data.collection, &slugs));
    diagnostics.extend(accounting::incomplete_sync(&data.collection));
    diagnostics.extend(accounting::store_span(&data.collection, window));
    diagnostics.extend(accounting::repositories_departed(&data.collection));
    diagnostics.extend(accounting::clock_skew(&data.collection));
    if data.collection.service_mapping {
        let mut services: BTreeMap<String, usize> = BTreeMap::new();
        for i in incident_rows.iter().filter(|i| i.unmapped && i.row.counted) {
            let service = i.row.service.as_deref().unwrap_or("(no service)");
            *services.entry(service.to_string()).or_default() += 1;
        }
        diagnostics.extend(accounting::unmapped_incidents(&services));
    }
    let mut tallies = Tallies::default();
    for r in &repos {
        tallies.add(&r.tallies);
    }
    tallies.incidents = incident_tally;
    let accounting = accounting::accounting(data, &tallies);
    debug_assert!(accounting.balances(), "{accounting:?}");

    let mut deployments: Vec<DeploymentRow> = all_deploys.into_iter().cloned().collect();
    deployments.sort_by(|a, b| {
        (a.deployed_at, &a.repository, &a.id).cmp(&(b.deployed_at, &b.repository, &b.id))
    });
    // The rows are not needed any more: move them (same order) instead of cloning.
    let mut changes: Vec<ChangeRow> = repos.into_iter().flat_map(|r| r.changes).collect();
    changes.sort_by(|a, b| {
        (a.deployed_at, &a.repository, a.pull_request).cmp(&(
            b.deployed_at,
            &b.repository,
            b.pull_request,
        ))
    });
    let incidents: Vec<IncidentRow> = incident_rows.into_iter().map(|i| i.row).collect();

    let benchmarks = config
        .benchmark_group()
        .ok()
        .and_then(|g| crate::benchmarks::benchmark(&metrics, &g));
    Report {
        schema_version: 1,
        window: WindowInfo {
            start: window.start,
            end: window.end,
            days: config.days,
        },
        scope: Scope {
            repositories: slugs,
            commits: data.commits.len(),
            pull_requests: data.pull_requests.len(),
            deployments: data.deployments.len(),
            incidents: data.incidents.len(),
        },
        tier_year: config.tier_year.into(),
        metrics,
        repositories: per_repo,
        benchmarks,
        accounting,
        diagnostics,
        changes,
        deployments,
        incidents,
    }
}

fn add(a: LeadTimeExclusions, b: LeadTimeExclusions) -> LeadTimeExclusions {
    LeadTimeExclusions {
        bots: a.bots + b.bots,
        not_deployed: a.not_deployed + b.not_deployed,
        baseline: a.baseline + b.baseline,
        merge_commit_unknown: a.merge_commit_unknown + b.merge_commit_unknown,
        history_truncated: a.history_truncated + b.history_truncated,
    }
}

fn deployment_source(fallbacks: impl Iterator<Item = bool>) -> DeploymentSource {
    let (mut merges, mut deploys) = (false, false);
    for f in fallbacks {
        if f {
            merges = true;
        } else {
            deploys = true;
        }
    }
    match (deploys, merges) {
        (true, true) => DeploymentSource::Mixed,
        (false, true) => DeploymentSource::Merges,
        _ => DeploymentSource::Deployments,
    }
}

/// One repository's events, grouped in a single pass over the dataset.
#[derive(Default)]
struct RepoEvents<'a> {
    commits: Vec<&'a crate::model::Commit>,
    pull_requests: Vec<&'a PullRequest>,
    deployments: Vec<&'a Deployment>,
}

fn group_by_repository(data: &Dataset) -> HashMap<&str, RepoEvents<'_>> {
    let mut groups: HashMap<&str, RepoEvents> = HashMap::new();
    // Events come grouped by repository in practice: one map lookup per run
    // of events sharing a slug, not per event.
    for run in data.commits.chunk_by(|a, b| a.repository == b.repository) {
        groups
            .entry(run[0].repository.as_str())
            .or_default()
            .commits
            .extend(run);
    }
    for run in data
        .pull_requests
        .chunk_by(|a, b| a.repository == b.repository)
    {
        groups
            .entry(run[0].repository.as_str())
            .or_default()
            .pull_requests
            .extend(run);
    }
    for run in data
        .deployments
        .chunk_by(|a, b| a.repository == b.repository)
    {
        groups
            .entry(run[0].repository.as_str())
            .or_default()
            .deployments
            .extend(run);
    }
    groups
}

/// What the analysis of one repository produced.
struct RepoResult {
    slug: String,
    fallback: bool,
    /// Every production attempt (all times), with signals so far.
    deployments: Vec<DeploymentRow>,
    /// Lead-time rows deployed in the window.
    changes: Vec<ChangeRow>,
    excluded: LeadTimeExclusions,
    excused: usize,
    diagnostics: Vec<Diagnostic>,
    /// Pull requests, deployments and commits used or excluded (incidents are
    /// tallied across repositories).
    tallies: Tallies,
    /// The commit list repeats a sha (the graph kept one copy).
    repeated_commits: bool,
}

/// A production attempt being analysed.
struct Attempt<'a> {
    id: String,
    environment: String,
    commit: String,
    time: Timestamp,
    status: DeploymentStatus,
    from_merge: Option<&'a PullRequest>,
    release: Option<String>,
    url: Option<String>,
}

fn production_branch_matches(config: &Config, main_branch: Option<&str>, branch: &str) -> bool {
    match (&config.production_branch, main_branch) {
        (Some(b), _) => b == branch,
        (None, Some(m)) => m == branch,
        (None, None) => branch == "main" || branch == "master",
    }
}

fn sha_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    !a.is_empty() && !b.is_empty() && (a.starts_with(&b) || b.starts_with(&a))
}

#[allow(clippy::too_many_lines)]
fn analyse_repository(
    data: &Dataset,
    events: &RepoEvents,
    config: &Config,
    slug: &str,
    window: TimeRange,
) -> RepoResult {
    let mut diagnostics = Vec::new();
    let repository = data.repositories.iter().find(|r| r.slug == slug);
    let main_branch = repository.and_then(|r| r.main_branch.as_deref());
    let repo_url = repository.and_then(|r| r.url.as_deref());

    // 1. Production attempts.
    let mut tallies = Tallies::default();
    let mut undated = 0usize;
    let mut production = 0usize;
    let mut attempts: Vec<Attempt> = Vec::new();
    for d in &events.deployments {
        if !config.is_production(d) {
            tallies.deployments.exclude(reasons::NOT_PRODUCTION);
            continue;
        }
        production += 1;
        match d.status {
            DeploymentStatus::Succeeded | DeploymentStatus::Failed => {}
            DeploymentStatus::Stopped => {
                tallies.deployments.exclude(reasons::STOPPED);
                continue;
            }
            _ => {
                tallies.deployments.exclude(reasons::NOT_RUN);
                continue;
            }
        }
        let Some(time) = d.time() else {
            undated += 1;
            tallies.deployments.exclude(reasons::UNDATED);
            continue;
        };
        if window.contains(time) {
            tallies.deployments.used();
        } else {
            tallies.deployments.exclude(reasons::OUTSIDE_WINDOW);
        }
        attempts.push(attempt_of(d, time));
    }
    if undated > 0 {
        diagnostics.push(
            Diagnostic::new(
                codes::UNDATED_DEPLOYMENTS,
                Sev::Warning,
                format!("{undated} production deployment(s) have neither a start nor a finish time and were ignored"),
            )
            .for_repository(slug),
        );
    }
    let repo_prs: &[&PullRequest] = &events.pull_requests;
    let fallback = attempts.is_empty();
    if fallback {
        let has_env = data
            .environments
            .iter()
            .any(|e| e.repository == slug && e.kind == EnvironmentKind::Production);
        // Say what was seen: deployments the source could not read may well
        // have been production ones.
        let message = match accounting::skipped_deployments_phrase(&data.collection, slug) {
            Some(skipped) => format!(
                "no production deployment could be used: {skipped} (see `skipped_events`){}; merges into the production branch stand in until they can be read",
                if production > 0 {
                    format!(", and the {production} production deployment(s) read have not completed or have no time")
                } else {
                    String::new()
                }
            ),
            None if production > 0 => format!(
                "{production} production deployment(s) were found but none completed with a time (in progress, stopped, never run or undated): merges into the production branch stand in until one completes"
            ),
            None if has_env => "a production environment exists but has no deployments: check that the deploy step has `deployment: production`".to_string(),
            None => "no production environment and no production deployments: add `deployment: production` to the deploy step of bitbucket-pipelines.yml".to_string(),
        };
        diagnostics.push(
            Diagnostic::new(codes::NO_PRODUCTION_ENVIRONMENT, Sev::Warning, message)
                .for_repository(slug),
        );
        for pr in repo_prs {
            if pr.state != PullRequestState::Merged
                || !production_branch_matches(config, main_branch, &pr.destination_branch)
            {
                continue;
            }
            if let Some(merged) = pr.merged_at {
                attempts.push(Attempt {
                    id: format!("merge-pr-{}", pr.id),
                    environment: pr.destination_branch.clone(),
                    commit: pr.merge_commit.clone().unwrap_or_default(),
                    time: merged,
                    status: DeploymentStatus::Succeeded,
                    from_merge: Some(pr),
                    release: None,
                    url: pr.url.clone(),
                });
            }
        }
        if !attempts.is_empty() {
            let in_window = attempts.iter().filter(|a| window.contains(a.time)).count();
            diagnostics.push(
                Diagnostic::new(
                    codes::MERGE_FALLBACK,
                    Sev::Warning,
                    format!(
                        "deployment frequency counts {in_window} merge(s) into the production branch in the window instead of deployments; the deploy phase of lead time is 0",
                    ),
                )
                .for_repository(slug),
            );
        }
    }
    attempts.sort_by(|a, b| (a.time, &a.id).cmp(&(b.time, &b.id)));
    // Merge fallback: the attempt synthesised from each PR.
    let merge_attempt: HashMap<u64, usize> = attempts
        .iter()
        .enumerate()
        .filter_map(|(i, a)| a.from_merge.map(|p| (p.id, i)))
        .collect();

    // 2. Commit graph and first shipping deployment of every commit.
    let commits: &[&crate::model::Commit] = &events.commits;
    let graph = CommitGraph::build(commits.iter().copied());
    let repeated_commits = graph.len() < commits.len();
    tallies.commits.used_n(graph.len());
    tallies
        .commits
        .exclude_n(reasons::DUPLICATE_SHA, commits.len() - graph.len());
    let mut rows: Vec<DeploymentRow> = attempts
        .iter()
        .map(|a| DeploymentRow {
            repository: slug.to_string(),
            id: a.id.clone(),
            environment: a.environment.clone(),
            commit: a.commit.clone(),
            deployed_at: a.time,
            status: a.status,
            changes: 0,
            failures: Vec::new(),
            excused_rerun: false,
            rework: false,
            recovery_seconds: None,
            from_merge: a.from_merge.is_some(),
            release: a.release.clone(),
            url: a.url.clone(),
            commit_url: repo_url
                .filter(|_| !a.commit.is_empty())
                .map(|u| format!("{}/commits/{}", u.trim_end_matches('/'), a.commit)),
        })
        .collect();
    let successful: Vec<usize> = (0..attempts.len())
        .filter(|&i| attempts[i].status == DeploymentStatus::Succeeded)
        .collect();
    // "The next successful production deployment" is judged per environment:
    // a lagging `prod-us` catching up with what `prod-eu` runs is no rollback.
    let mut successful_in: HashMap<&str, Vec<usize>> = HashMap::new();
    for &i in &successful {
        successful_in
            .entry(attempts[i].environment.as_str())
            .or_default()
            .push(i);
    }
    let mut shipping = Labeler::new(&graph);
    let mut prev_in: HashMap<&str, (usize, Option<NodeId>)> = HashMap::new();
    for &i in &successful {
        let node = graph.resolve(&attempts[i].commit);
        let prev = prev_in.insert(attempts[i].environment.as_str(), (i, node));
        if let (Some((p, Some(prev_node))), Some(n)) = (prev, node) {
            // A redeploy of something already shipped is a rollback candidate;
            // the exact ancestry test runs only for those (rare) candidates.
            if shipping.label(n) != UNLABELLED && crate::classify::is_rollback(&graph, prev_node, n)
            {
                rows[p].failures.push(FailureReason {
                    signal: Signal::Rollback,
                    evidence: attempts[i].id.clone(),
                    restored_at: Some(attempts[i].time),
                });
                rows[i].rework = true;
            }
        }
        if let Some(n) = node {
            shipping.mark(n, i as u32, |_| {});
        }
    }
    let baseline = if fallback {
        None
    } else {
        successful.first().copied()
    };

    // Failed status, and re-runs excused by policy.
    let mut excused = 0usize;
    for i in 0..attempts.len() {
        if attempts[i].status != DeploymentStatus::Failed {
            continue;
        }
        // Successes in the same environment, sorted: the later ones start here.
        let same_env = successful_in
            .get(attempts[i].environment.as_str())
            .map_or(&[][..], Vec::as_slice);
        let later = &same_env[same_env.partition_point(|&j| j < i)..];
        let next_ok = later.first().copied();
        if let Some(limit) = config.rerun_excuse_minutes {
            let limit = Duration::minutes(i64::from(limit));
            let rerun = later
                .iter()
                .copied()
                .take_while(|&j| attempts[j].time - attempts[i].time <= limit)
                .find(|&j| sha_eq(&attempts[j].commit, &attempts[i].commit));
            if rerun.is_some() {
                rows[i].excused_rerun = true;
                if window.contains(attempts[i].time) {
                    excused += 1;
                }
                continue;
            }
        }
        rows[i].failures.push(FailureReason {
            signal: Signal::FailedDeployment,
            evidence: attempts[i].id.clone(),
            restored_at: next_ok.map(|j| attempts[j].time),
        });
    }

    // 3. Divergence points: merged PRs in merge order, one shared traversal.
    let mut merged: Vec<&PullRequest> = repo_prs
        .iter()
        .copied()
        .filter(|p| p.state == PullRequestState::Merged && p.merged_at.is_some())
        .collect();
    merged.sort_by_key(|p| (p.merged_at, p.id));
    // Each merge commit's node, resolved once (abbreviated shas are the slow path).
    let merge_nodes: Vec<Option<NodeId>> = merged
        .iter()
        .map(|pr| pr.merge_commit.as_deref().and_then(|s| graph.resolve(s)))
        .collect();
    let shipped_by_node = |n: NodeId| -> Option<usize> {
        let l = shipping.label(n);
        (l != UNLABELLED).then_some(l as usize)
    };
    let mut first_commit: HashMap<u64, Timestamp> = HashMap::new();
    {
        const MAINLINE: u32 = u32::MAX - 1;
        let mut branch = Labeler::new(&graph);
        for (i, pr) in merged.iter().enumerate() {
            let Some(m) = merge_nodes[i] else {
                continue;
            };
            let mut earliest: Option<Timestamp> = None;
            // Branch-only commits of a merge: reachable from the other parents
            // once everything reachable from the first parent is marked.
            if let Some(p1) = graph.first_parent(m).filter(|_| graph.parent_count(m) >= 2) {
                branch.mark(p1, MAINLINE, |_| {});
                for p in graph.parents(m).filter(|&p| p != p1).collect::<Vec<_>>() {
                    branch.mark(p, i as u32, |n| {
                        let t = graph.authored_at(n);
                        earliest = Some(earliest.map_or(t, |e| e.min(t)));
                    });
                }
            }
            branch.mark(m, MAINLINE, |_| {});
            // A PR's commits are usually listed next to each other.
            let mut near = None;
            for sha in &pr.commits {
                near = graph.resolve_near(sha, near);
                if let Some(n) = near {
                    let t = graph.authored_at(n);
                    earliest = Some(earliest.map_or(t, |e| e.min(t)));
                }
            }
            if let Some(t) = earliest {
                first_commit.insert(pr.id, t);
            }
        }
    }

    // 4. Lead-time rows and exclusions: every pull request gets one fate,
    // counted in the ledger and (in-window exclusions) in `lead_time.excluded`.
    let mut excluded = LeadTimeExclusions::default();
    for pr in repo_prs {
        if pr.state != PullRequestState::Merged {
            accounting::record_pr(PrFate::NotMerged, &mut tallies.pull_requests, &mut excluded);
        } else if pr.merged_at.is_none() {
            accounting::record_pr(
                PrFate::MergeTimeUnknown,
                &mut tallies.pull_requests,
                &mut excluded,
            );
        }
    }
    // Lead time from the first commit cannot be measured without the branch
    // history; from the PR's creation it can.
    // A merge commit the capped walk never reached is a truncation too, whatever
    // the lead-time start: without it the PR cannot be attributed at all.
    let gaps: HashSet<u64> = (data.collection.history_truncated.iter())
        .filter(|g| g.repository == slug)
        .map(|g| g.pull_request)
        .collect();
    let truncated: HashSet<u64> = if config.lead_time_start == LeadTimeStart::FirstCommit {
        gaps.clone()
    } else {
        HashSet::new()
    };
    let mut truncated_excluded: Vec<u64> = Vec::new();
    let mut changes = Vec::new();
    let mut unknown_merge = 0usize;
    for (pr, &merge_node) in merged.iter().zip(&merge_nodes) {
        let Some(merged_at) = pr.merged_at else {
            continue;
        };
        let merged_in_window = window.contains(merged_at);
        let known = fallback || merge_node.is_some();
        if !known && merged_in_window && !gaps.contains(&pr.id) {
            unknown_merge += 1;
        }
        let deployment = if fallback {
            merge_attempt.get(&pr.id).copied()
        } else {
            merge_node.and_then(shipped_by_node)
        };
        if let Some(k) = deployment {
            rows[k].changes += 1;
        }
        // The window rule: the shipping deployment's time, else the merge's.
        let in_window = deployment.map_or(merged_in_window, |k| window.contains(attempts[k].time));
        let fate = if !in_window {
            PrFate::OutsideWindow
        } else if config.is_bot(pr) {
            PrFate::Bot
        } else if !known && gaps.contains(&pr.id) {
            truncated_excluded.push(pr.id);
            PrFate::HistoryTruncated
        } else if !known {
            PrFate::MergeCommitUnknown
        } else if deployment.is_none() {
            PrFate::NotDeployed
        } else if deployment == baseline {
            PrFate::Baseline
        } else if truncated.contains(&pr.id) {
            truncated_excluded.push(pr.id);
            PrFate::HistoryTruncated
        } else {
            PrFate::Used
        };
        accounting::record_pr(fate, &mut tallies.pull_requests, &mut excluded);
        if let (PrFate::Used, Some(k)) = (fate, deployment) {
            changes.push(change_row(
                config,
                pr,
                merged_at,
                first_commit.get(&pr.id).copied(),
                &attempts[k],
            ));
        }
    }
    if !truncated_excluded.is_empty() {
        truncated_excluded.sort_unstable();
        diagnostics.push(accounting::history_truncated(
            slug,
            &truncated_excluded,
            &data.collection.history_truncated,
        ));
    }
    if unknown_merge > 0 {
        diagnostics.push(
            Diagnostic::new(
                codes::MISSING_HISTORY,
                Sev::Warning,
                format!("{unknown_merge} merged pull request(s) in the window have a merge commit missing from the fetched history; they are left out of lead time"),
            )
            .for_repository(slug),
        );
    }
    if excluded.baseline > 0 {
        diagnostics.push(
            Diagnostic::new(
                codes::NO_BASELINE_DEPLOYMENT,
                Sev::Warning,
                format!(
                    "the earliest known production deployment is inside the window, so what it shipped may have been deployed before; {} change(s) it shipped are left out of lead time: fetch deployments from before the window",
                    excluded.baseline
                ),
            )
            .for_repository(slug),
        );
    }

    // Reverts: a later commit reverting a commit a successful deployment shipped.
    // Which graph node each commit became (the first copy of a sha wins).
    let mut is_revert_node = vec![false; graph.len()];
    let mut reverts = Vec::new();
    for c in commits {
        if !might_be_revert(&c.message) {
            continue;
        }
        let Some(info) = parse_revert(&c.message) else {
            continue;
        };
        if let Some(n) = graph
            .resolve(&c.sha)
            .filter(|&n| !is_revert_node[n as usize])
        {
            is_revert_node[n as usize] = true;
            reverts.push((*c, info));
        }
    }
    // One revert reason per (deployment, reverted commit): a revert PR's branch
    // commit and its merge commit often both carry the marker. Keep the one that
    // restored service first (ties: the smaller sha), whatever the input order.
    let mut revert_reasons: BTreeMap<(usize, NodeId), FailureReason> = BTreeMap::new();
    for (c, info) in &reverts {
        let Some(r) = graph.resolve(&c.sha) else {
            continue;
        };
        let r_label = shipping.label(r);
        for sha in &info.shas {
            let Some(x) = graph.resolve(sha) else {
                continue;
            };
            if is_revert_node[x as usize] {
                continue; // a revert of a revert is a re-land
            }
            let k = shipping.label(x);
            if k == UNLABELLED {
                continue;
            }
            let k = k as usize;
            let later = if r_label == UNLABELLED {
                c.committed_at > attempts[k].time
            } else {
                (r_label as usize) > k
            };
            if !later {
                continue;
            }
            let restored = (r_label != UNLABELLED).then(|| attempts[r_label as usize].time);
            let reason = FailureReason {
                signal: Signal::Revert,
                evidence: c.sha.clone(),
                restored_at: restored,
            };
            let rank =
                |f: &FailureReason| (f.restored_at.is_none(), f.restored_at, f.evidence.clone());
            match revert_reasons.get(&(k, x)) {
                Some(kept) if rank(kept) <= rank(&reason) => {}
                _ => {
                    revert_reasons.insert((k, x), reason);
                }
            }
            if r_label != UNLABELLED {
                rows[r_label as usize].rework = true;
            }
        }
    }
    for ((k, _), reason) in revert_reasons {
        rows[k].failures.push(reason);
    }

    // Hotfixes: attributed to the latest successful deployment strictly before the merge.
    let hotfix_window = Duration::hours(i64::from(config.hotfix.window_hours));
    let success_times: Vec<Timestamp> = successful.iter().map(|&i| attempts[i].time).collect();
    for (pr, &merge_node) in merged.iter().zip(&merge_nodes) {
        if !config.hotfix.is_hotfix(pr) {
            continue;
        }
        let Some(merged_at) = pr.merged_at else {
            continue;
        };
        let shipper = if fallback {
            merge_attempt.get(&pr.id).copied()
        } else {
            merge_node.and_then(shipped_by_node)
        };
        if let Some(s) = shipper {
            rows[s].rework = true;
        }
        let idx = success_times.partition_point(|&t| t < merged_at);
        if idx == 0 {
            continue;
        }
        let k = successful[idx - 1];
        if merged_at - attempts[k].time > hotfix_window {
            continue;
        }
        rows[k].failures.push(FailureReason {
            signal: Signal::Hotfix,
            evidence: format!("pull request #{}", pr.id),
            restored_at: shipper.map(|s| attempts[s].time),
        });
    }

    RepoResult {
        slug: slug.to_string(),
        fallback,
        deployments: rows,
        changes,
        excluded,
        excused,
        diagnostics,
        tallies,
        repeated_commits,
    }
}

/// A cheap pre-filter so only plausible messages are parsed.
fn might_be_revert(message: &str) -> bool {
    message
        .as_bytes()
        .windows(6)
        .any(|w| w.eq_ignore_ascii_case(b"revert"))
}

fn attempt_of(d: &Deployment, time: Timestamp) -> Attempt<'static> {
    Attempt {
        id: d.id.clone(),
        environment: d.environment.clone(),
        commit: d.commit.clone(),
        time,
        status: d.status,
        from_merge: None,
        release: d.release.clone(),
        url: d.url.clone(),
    }
}

fn secs(d: Duration) -> f64 {
    d.num_milliseconds() as f64 / 1000.0
}

fn change_row(
    config: &Config,
    pr: &PullRequest,
    merged_at: Timestamp,
    first_commit: Option<Timestamp>,
    deployment: &Attempt,
) -> ChangeRow {
    // Clamp so that phases are never negative and always add up to the total.
    let deployed = deployment.time;
    let merged = merged_at.min(deployed);
    let created = pr.created_at.min(merged);
    let start = match config.lead_time_start {
        LeadTimeStart::FirstCommit => first_commit.unwrap_or(created).min(created),
        LeadTimeStart::PrCreated => created,
    };
    let review = pr
        .first_review_at
        .filter(|&r| r <= merged)
        .map(|r| r.max(created));
    let (pickup, review_span) = match review {
        Some(r) => (r - created, merged - r),
        None => (merged - created, Duration::zero()),
    };
    ChangeRow {
        repository: pr.repository.clone(),
        pull_request: pr.id,
        title: pr.title.clone(),
        author: pr.author.display_name.clone(),
        first_commit_at: start,
        created_at: pr.created_at,
        first_review_at: review,
        merged_at,
        deployed_at: deployed,
        deployment: deployment.id.clone(),
        lead_time_seconds: secs(deployed - start),
        coding_seconds: secs(created - start),
        pickup_seconds: secs(pickup),
        review_seconds: secs(review_span),
        deploy_seconds: secs(deployed - merged),
        hotfix: config.hotfix.is_hotfix(pr),
        url: pr.url.clone(),
    }
}

/// An incident row and the repositories it belongs to.
struct AttributedIncident {
    row: IncidentRow,
    /// The incident's repositories; empty means every repository in scope,
    /// unless `unmapped`.
    repositories: Vec<String>,
    /// A service mapping applied and named none of the incident's repositories:
    /// counted for the workspace only.
    unmapped: bool,
}

impl AttributedIncident {
    /// Does the incident count in `slug`'s metrics?
    fn belongs_to(&self, slug: &str) -> bool {
        if self.repositories.is_empty() {
            !self.unmapped
        } else {
            self.repositories.iter().any(|r| r == slug)
        }
    }
}

/// Attribute severity-filtered incidents to the latest successful production
/// deployment that finished strictly before they opened (within the window of
/// hours), in the incident's repositories; return rows for incidents opened in
/// the report window, and the incidents' ledger tally.
///
/// With a service mapping (`collection.service_mapping`), an incident without
/// repositories is unmapped: it fails no deployment.
fn attribute_incidents(
    data: &Dataset,
    config: &Config,
    window: TimeRange,
    repos: &mut [RepoResult],
) -> (Vec<AttributedIncident>, Tally) {
    // (time, repo index, row index) of successful attempts, sorted by time.
    let mut successes: Vec<(Timestamp, usize, usize)> = Vec::new();
    for (ri, r) in repos.iter().enumerate() {
        for (di, d) in r.deployments.iter().enumerate() {
            if d.status == DeploymentStatus::Succeeded {
                successes.push((d.deployed_at, ri, di));
            }
        }
    }
    successes.sort_by(|a, b| {
        (a.0, &repos[a.1].slug, &repos[a.1].deployments[a.2].id).cmp(&(
            b.0,
            &repos[b.1].slug,
            &repos[b.1].deployments[b.2].id,
        ))
    });
    let horizon = Duration::hours(i64::from(config.incident_window_hours));
    let mapping = data.collection.service_mapping;

    let mut tally = Tally::default();
    let mut incidents: Vec<&crate::model::Incident> = Vec::with_capacity(data.incidents.len());
    for inc in &data.incidents {
        if inc.status == IncidentStatus::Dismissed {
            tally.exclude(reasons::DISMISSED);
            continue;
        }
        if !window.contains(inc.opened_at) {
            tally.exclude(reasons::OUTSIDE_WINDOW);
        } else if config.counts_severity(inc.severity) {
            tally.used();
        } else {
            tally.exclude(reasons::BELOW_SEVERITY);
        }
        incidents.push(inc);
    }
    // The dataset is de-duplicated: (source, id) is unique.
    incidents.sort_by(|a, b| (a.opened_at, &a.source, &a.id).cmp(&(b.opened_at, &b.source, &b.id)));

    let mut out = Vec::new();
    for inc in incidents {
        let counted = config.counts_severity(inc.severity);
        let mut attributed = None;
        if counted {
            let idx = successes.partition_point(|s| s.0 < inc.opened_at);
            for &(t, ri, di) in successes[..idx].iter().rev() {
                if inc.opened_at - t > horizon {
                    break;
                }
                let belongs = if inc.repositories.is_empty() {
                    !mapping
                } else {
                    inc.repositories.contains(&repos[ri].slug)
                };
                if belongs {
                    attributed = Some((ri, di));
                    break;
                }
            }
        }
        if let Some((ri, di)) = attributed {
            repos[ri].deployments[di].failures.push(FailureReason {
                signal: Signal::Incident,
                evidence: format!("{}:{}", inc.source, inc.id),
                restored_at: inc.resolved_at,
            });
        }
        if !window.contains(inc.opened_at) {
            continue;
        }
        out.push(AttributedIncident {
            row: IncidentRow {
                source: inc.source.clone(),
                id: inc.id.clone(),
                title: inc.title.clone(),
                service: inc.service.clone(),
                severity: inc.severity,
                opened_at: inc.opened_at,
                resolved_at: inc.resolved_at,
                recovery_seconds: inc.resolved_at.map(|r| secs(r - inc.opened_at).max(0.0)),
                counted,
                deployment: attributed
                    .map(|(ri, di)| format!("{}/{}", repos[ri].slug, repos[ri].deployments[di].id)),
                url: inc.url.clone(),
            },
            repositories: inc.repositories.clone(),
            unmapped: mapping && inc.repositories.is_empty(),
        });
    }
    // Recovery per failed deployment: the earliest restoration among its signals.
    for r in repos.iter_mut() {
        for d in &mut r.deployments {
            d.failures
                .sort_by(|a, b| (a.signal, &a.evidence).cmp(&(b.signal, &b.evidence)));
            d.recovery_seconds = d
                .failures
                .iter()
                .filter_map(|f| f.restored_at)
                .min()
                .map(|t| secs(t - d.deployed_at).max(0.0));
        }
    }
    (out, tally)
}

#[allow(clippy::too_many_arguments)]
fn build_metrics(
    config: &Config,
    window: TimeRange,
    changes: &[&ChangeRow],
    deploys: &[&DeploymentRow],
    incidents: &[&AttributedIncident],
    excluded: LeadTimeExclusions,
    source: DeploymentSource,
    excused: usize,
) -> Metrics {
    let rows: Vec<&IncidentRow> = incidents.iter().map(|i| &i.row).collect();
    build_metrics_rows(
        config, window, changes, deploys, &rows, excluded, source, excused,
    )
}

/// Weekly buckets of the window: calendar weeks (ISO, Monday 00:00 UTC), so
/// week starts do not move with the window's end; the first and last weeks
/// may be partial (clipped to the window).
struct Weeks {
    start: Timestamp,
    count: usize,
}

impl Weeks {
    fn new(window: TimeRange) -> Self {
        let start = iso_week_start(window.start);
        let days = (window.end - start).num_seconds().max(0) as f64 / 86_400.0;
        Self {
            start,
            count: ((days / 7.0).ceil() as usize).max(1),
        }
    }

    fn index(&self, t: Timestamp) -> usize {
        (((t - self.start).num_seconds().max(0) / (7 * 86_400)) as usize).min(self.count - 1)
    }

    fn series<T>(
        &self,
        items: impl Iterator<Item = (Timestamp, T)>,
        value: impl Fn(&mut Vec<T>) -> Option<f64>,
    ) -> Vec<WeekPoint> {
        let mut buckets: Vec<Vec<T>> = (0..self.count).map(|_| Vec::new()).collect();
        for (t, v) in items {
            buckets[self.index(t)].push(v);
        }
        buckets
            .into_iter()
            .enumerate()
            .map(|(i, mut b)| WeekPoint {
                week_start: self.start + Duration::days(7 * i as i64),
                count: b.len(),
                value: value(&mut b),
            })
            .collect()
    }
}

/// Monday 00:00 UTC of the ISO week holding `t`.
fn iso_week_start(t: Timestamp) -> Timestamp {
    let monday = t.date_naive() - Duration::days(i64::from(t.weekday().num_days_from_monday()));
    monday.and_time(chrono::NaiveTime::MIN).and_utc()
}

fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

#[allow(clippy::too_many_arguments)]
fn build_metrics_rows(
    config: &Config,
    window: TimeRange,
    changes: &[&ChangeRow],
    deploys: &[&DeploymentRow],
    incidents: &[&IncidentRow],
    excluded: LeadTimeExclusions,
    source: DeploymentSource,
    excused: usize,
) -> Metrics {
    let year = config.tier_year;
    let weeks = Weeks::new(window);
    let days = f64::from(config.days);

    // Deployment frequency.
    let ok: Vec<&&DeploymentRow> = deploys
        .iter()
        .filter(|d| d.status == DeploymentStatus::Succeeded)
        .collect();
    let mut day_set: Vec<chrono::NaiveDate> =
        ok.iter().map(|d| d.deployed_at.date_naive()).collect();
    day_set.sort();
    day_set.dedup();
    let per_day = ok.len() as f64 / days;
    let deployment_frequency = DeploymentFrequency {
        count: ok.len(),
        per_week: ok.len() as f64 / (days / 7.0),
        per_day,
        deploy_days: day_set.len(),
        // With no production attempt at all there is nothing to rate.
        tier: (!deploys.is_empty()).then(|| tiers::deployment_frequency(year, per_day)),
        source,
        weekly: weeks.series(ok.iter().map(|d| (d.deployed_at, ())), |b| {
            Some(b.len() as f64)
        }),
    };

    // Lead time.
    let mut totals: Vec<f64> = changes.iter().map(|c| c.lead_time_seconds).collect();
    let total = duration_stats(&mut totals);
    let phase = |f: fn(&ChangeRow) -> f64| {
        duration_stats(&mut changes.iter().map(|c| f(c)).collect::<Vec<_>>())
    };
    let lead_time = LeadTime {
        count: total.count,
        median_seconds: total.median_seconds,
        p90_seconds: total.p90_seconds,
        mean_seconds: total.mean_seconds,
        tier: total.median_seconds.map(|m| tiers::lead_time(year, m)),
        phases: Phases {
            coding: phase(|c| c.coding_seconds),
            pickup: phase(|c| c.pickup_seconds),
            review: phase(|c| c.review_seconds),
            deploy: phase(|c| c.deploy_seconds),
        },
        unreviewed: changes
            .iter()
            .filter(|c| c.first_review_at.is_none())
            .count(),
        excluded,
        weekly: weeks.series(
            changes.iter().map(|c| (c.deployed_at, c.lead_time_seconds)),
            |b| median(b),
        ),
    };

    // Change failure rate.
    let failed: Vec<&&DeploymentRow> = deploys.iter().filter(|d| !d.failures.is_empty()).collect();
    let has = |d: &DeploymentRow, s: Signal| d.failures.iter().any(|f| f.signal == s);
    let count = |s: Signal| failed.iter().filter(|d| has(d, s)).count();
    let rate = ratio(failed.len(), deploys.len());
    let change_failure_rate = ChangeFailureRate {
        deployments: deploys.len(),
        failed: failed.len(),
        rate,
        tier: rate.map(|r| tiers::change_failure_rate(year, r)),
        by_signal: SignalCounts {
            failed_deployment: count(Signal::FailedDeployment),
            revert: count(Signal::Revert),
            hotfix: count(Signal::Hotfix),
            rollback: count(Signal::Rollback),
            incident: count(Signal::Incident),
        },
        excused_reruns: excused,
        weekly: weeks.series(
            deploys
                .iter()
                .map(|d| (d.deployed_at, !d.failures.is_empty())),
            |b| ratio(b.iter().filter(|f| **f).count(), b.len()),
        ),
    };

    // Recovery time.
    let counted: Vec<&&IncidentRow> = incidents.iter().filter(|i| i.counted).collect();
    let mut inc_values: Vec<f64> = counted.iter().filter_map(|i| i.recovery_seconds).collect();
    let inc = duration_stats(&mut inc_values);
    let mut dep_values: Vec<f64> = failed.iter().filter_map(|d| d.recovery_seconds).collect();
    let dep = duration_stats(&mut dep_values);
    let recovery_time = RecoveryTime {
        incidents: IncidentRecovery {
            count: inc.count,
            unresolved: counted.iter().filter(|i| i.resolved_at.is_none()).count(),
            median_seconds: inc.median_seconds,
            p90_seconds: inc.p90_seconds,
            mean_seconds: inc.mean_seconds,
            excluded_by_severity: incidents.len() - counted.len(),
        },
        deployments: DeploymentRecovery {
            count: dep.count,
            unrecovered: failed.len() - dep.count,
            median_seconds: dep.median_seconds,
            p90_seconds: dep.p90_seconds,
            mean_seconds: dep.mean_seconds,
        },
        tier: dep
            .median_seconds
            .or(inc.median_seconds)
            .map(|m| tiers::recovery_time(year, m)),
        weekly: weeks.series(
            failed
                .iter()
                .filter_map(|d| d.recovery_seconds.map(|r| (d.deployed_at, r))),
            |b| median(b),
        ),
    };

    // Rework rate.
    let rework = deploys.iter().filter(|d| d.rework).count();
    let rework_rate = ReworkRate {
        deployments: deploys.len(),
        rework,
        rate: ratio(rework, deploys.len()),
        weekly: weeks.series(deploys.iter().map(|d| (d.deployed_at, d.rework)), |b| {
            ratio(b.iter().filter(|f| **f).count(), b.len())
        }),
    };

    let overall_tier = tiers::overall(&[
        deployment_frequency.tier,
        lead_time.tier,
        change_failure_rate.tier,
        recovery_time.tier,
    ]);
    Metrics {
        deployment_frequency,
        lead_time,
        change_failure_rate,
        recovery_time,
        rework_rate,
        overall_tier,
    }
}

fn global_diagnostics(
    data: &Dataset,
    config: &Config,
    window: TimeRange,
    metrics: &Metrics,
    bots: usize,
    incidents: &[AttributedIncident],
    out: &mut Vec<Diagnostic>,
) {
    if config.days < 30 {
        out.push(Diagnostic::new(
            codes::SHORT_WINDOW,
            Sev::Warning,
            format!("a {}-day window has high variance; DORA metrics are meaningful over 30, 60 or 90 days", config.days),
        ));
    }
    if bots > 0 {
        out.push(Diagnostic::new(
            codes::BOT_PRS_EXCLUDED,
            Sev::Info,
            format!("{bots} bot pull request(s) were excluded from lead time (their deployments still count)"),
        ));
    }
    let nd = metrics.lead_time.excluded.not_deployed;
    if nd > 0 {
        out.push(Diagnostic::new(
            codes::MERGED_NOT_DEPLOYED,
            Sev::Info,
            format!("{nd} pull request(s) merged in the window were not shipped by any successful production deployment yet"),
        ));
    }
    let in_window: Vec<&AttributedIncident> = incidents.iter().collect();
    let no_sev = in_window
        .iter()
        .filter(|i| i.row.severity.is_none())
        .count();
    if no_sev > 0 {
        out.push(Diagnostic::new(
            codes::INCIDENTS_WITHOUT_SEVERITY,
            Sev::Warning,
            format!("{no_sev} incident(s) have no severity and are excluded by the severity filter; set priorities in the incident tool or map them in config"),
        ));
    }
    let unresolved = metrics.recovery_time.incidents.unresolved;
    if unresolved > 0 {
        out.push(Diagnostic::new(
            codes::UNRESOLVED_INCIDENTS,
            Sev::Info,
            format!(
                "{unresolved} counted incident(s) are unresolved; they are counted, not averaged"
            ),
        ));
    }
    if data.incidents.is_empty() {
        out.push(Diagnostic::new(
            codes::NO_INCIDENT_DATA,
            Sev::Info,
            "no incidents were supplied: incident-based recovery time and the incident failure signal are unavailable",
        ));
    }
    let mut few = Vec::new();
    let deploys = metrics.change_failure_rate.deployments;
    if deploys < 10 {
        few.push(format!("{deploys} production deployment(s)"));
    }
    if metrics.lead_time.count < 10 {
        few.push(format!(
            "{} change(s) with a lead time",
            metrics.lead_time.count
        ));
    }
    let resolved = metrics.recovery_time.incidents.count;
    if !in_window.is_empty() && resolved < 5 {
        few.push(format!("{resolved} resolved incident(s)"));
    }
    if !few.is_empty() {
        out.push(Diagnostic::new(
            codes::FEW_SAMPLES,
            Sev::Warning,
            format!(
                "too few samples for a stable median between {} and {}: {}",
                window.start.format("%Y-%m-%d"),
                window.end.format("%Y-%m-%d"),
                few.join(", ")
            ),
        ));
    }
}
