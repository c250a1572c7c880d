//! The metrics engine: attribution per repository, then aggregation.
//!
//! Per repository (`analyse_repository`), in time order and in a constant
//! number of passes over the commit graph (O(V+E) in all): production attempts
//! are chosen, the first deployment that shipped each commit is found, then
//! the failure signals are attached — failed status and excused re-runs,
//! rollbacks, reverts, hotfixes — and every pull request gets a lead-time row
//! or a named exclusion (see [`crate::attribution`] and [`crate::classify`]).
//!
//! Then incidents are attributed across repositories and every metric is
//! aggregated from the traceable rows (changes, deployments, incidents; see
//! `metrics`). Every event read is classified on the way (used, or
//! excluded for a named reason) into the report's `accounting`; see
//! [`crate::accounting`].

use crate::TimeRange;
use crate::accounting::{self, Tallies, Tally};
use crate::attribution::changes::lead_time_rows;
use crate::attribution::{
    self, Attempts, Attribution, Findings, MergedPrs, RepoEvents, RepoResult, RepoScope,
    ShippingLabels,
};
use crate::classify::incident::{AttributedIncident, attribute_incidents};
use crate::classify::{hotfix, rerun, revert, rollback};
use crate::config::Config;
use crate::diagnostics::{self, Diagnostic, DiagnosticSeverity as Sev, codes};
use crate::graph::{CommitGraph, NodeId};
use crate::metrics::deployment_frequency::deployment_source;
use crate::metrics::lead_time::add_exclusions;
use crate::metrics::{self, Rows, recovery};
use crate::model::{Dataset, Timestamp};
use crate::report::*;
use chrono::Utc;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

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
    let groups = attribution::group_by_repository(data);
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

/// Attribution and classification of one repository's events.
fn analyse_repository(
    data: &Dataset,
    events: &RepoEvents,
    config: &Config,
    slug: &str,
    window: TimeRange,
) -> RepoResult {
    let scope = RepoScope::new(data, config, slug, window);
    let mut findings = Findings::default();
    // 1. Production attempts (or merges into the production branch).
    let attempts = Attempts::select(
        &scope,
        &events.deployments,
        &events.pull_requests,
        &mut findings,
    );
    let graph = attribution::commit_graph(&events.commits, &mut findings.tallies);
    let mut rows = attempts.rows(slug, scope.url);
    // 2. What each deployment shipped; rollbacks, failures and excused re-runs.
    let nodes = successful_nodes(&graph, &attempts);
    let shipping = ShippingLabels::new(&graph, &attempts.successful, &nodes);
    rollback::mark_rollbacks(&graph, &attempts, &nodes, &shipping, &mut rows);
    let excused = rerun::mark_failed_deployments(config, window, &attempts, &mut rows);
    // 3. Where each merged pull request's branch diverged.
    let merged = MergedPrs::new(&graph, &events.pull_requests);
    let first_commit = first_commit_times(&graph, &merged);
    let attribution = Attribution {
        attempts,
        merged,
        shipping,
    };
    // 4. A lead-time row or a named exclusion for every pull request.
    let changes = lead_time_rows(
        &scope,
        &events.pull_requests,
        &attribution,
        &first_commit,
        &mut rows,
        &mut findings,
    );
    let Attribution {
        attempts, shipping, ..
    } = &attribution;
    // 5. Reverts and hotfixes.
    revert::mark_reverts(&graph, &events.commits, attempts, shipping, &mut rows);
    hotfix::mark_hotfixes(&scope.rules.hotfix, &attribution, &mut rows);
    RepoResult {
        slug: slug.to_string(),
        fallback: attribution.attempts.fallback,
        deployments: rows,
        changes: changes.rows,
        excluded: changes.excluded,
        excused,
        diagnostics: findings.diagnostics,
        tallies: findings.tallies,
        repeated_commits: graph.len() < events.commits.len(),
    }
}

/// The commit node of each successful attempt, in time order.
fn successful_nodes(graph: &CommitGraph, attempts: &Attempts) -> Vec<Option<NodeId>> {
    attempts
        .successful
        .iter()
        .map(|&i| graph.resolve(&attempts.list[i].commit))
        .collect()
}

/// The author time of each merged pull request's divergence point.
fn first_commit_times(graph: &CommitGraph, merged: &MergedPrs) -> HashMap<u64, Timestamp> {
    merged
        .prs
        .iter()
        .zip(merged.divergence_points(graph))
        .filter_map(|(pr, point)| point.map(|n| (pr.id, graph.authored_at(n))))
        .collect()
}

/// Incidents, aggregation, diagnostics and accounting over analysed repositories.
fn finish(
    data: &Dataset,
    config: &Config,
    window: TimeRange,
    slugs: Vec<String>,
    mut repos: Vec<RepoResult>,
) -> Report {
    let (incident_rows, incident_tally) = attribute_incidents(data, config, window, &mut repos);
    recovery::settle_deployments(&mut repos);
    let mut diagnostics: Vec<Diagnostic> = repos
        .iter()
        .flat_map(|r| r.diagnostics.iter().cloned())
        .collect();
    let metrics = workspace_metrics(config, window, &repos, &incident_rows);
    let per_repo = per_repository_metrics(config, window, &repos, &incident_rows);
    diagnostics::report_wide(
        data,
        config,
        window,
        &metrics,
        metrics.lead_time.excluded.bots,
        &incident_rows,
        &mut diagnostics,
    );
    collection_diagnostics(data, window, &slugs, &incident_rows, &mut diagnostics);
    let accounting = ledger(data, &repos, incident_tally);
    let deployments = deployment_rows(&repos, window);
    let changes = change_rows(repos);
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

/// The production attempts of a repository in the window.
fn in_window(r: &RepoResult, window: TimeRange) -> impl Iterator<Item = &DeploymentRow> {
    r.deployments
        .iter()
        .filter(move |d| window.contains(d.deployed_at))
}

/// The metrics over every repository.
fn workspace_metrics(
    config: &Config,
    window: TimeRange,
    repos: &[RepoResult],
    incidents: &[AttributedIncident],
) -> Metrics {
    let changes: Vec<&ChangeRow> = repos.iter().flat_map(|r| r.changes.iter()).collect();
    let deployments: Vec<&DeploymentRow> =
        repos.iter().flat_map(|r| in_window(r, window)).collect();
    let incidents: Vec<&IncidentRow> = incidents.iter().map(|i| &i.row).collect();
    let rows = Rows {
        changes: &changes,
        deployments: &deployments,
        incidents: &incidents,
        excluded: repos.iter().fold(LeadTimeExclusions::default(), |a, r| {
            add_exclusions(a, r.excluded)
        }),
        source: deployment_source(repos.iter().map(|r| r.fallback)),
        excused: repos.iter().map(|r| r.excused).sum(),
    };
    metrics::measure(config, window, &rows)
}

/// The metrics of each repository, when there are several.
fn per_repository_metrics(
    config: &Config,
    window: TimeRange,
    repos: &[RepoResult],
    incidents: &[AttributedIncident],
) -> BTreeMap<String, Metrics> {
    let mut per_repo = BTreeMap::new();
    if repos.len() <= 1 {
        return per_repo;
    }
    for r in repos {
        let changes: Vec<&ChangeRow> = r.changes.iter().collect();
        let deployments: Vec<&DeploymentRow> = in_window(r, window).collect();
        let incidents: Vec<&IncidentRow> = incidents
            .iter()
            .filter(|i| i.belongs_to(&r.slug))
            .map(|i| &i.row)
            .collect();
        let rows = Rows {
            changes: &changes,
            deployments: &deployments,
            incidents: &incidents,
            excluded: r.excluded,
            source: deployment_source([r.fallback].into_iter()),
            excused: r.excused,
        };
        per_repo.insert(r.slug.clone(), metrics::measure(config, window, &rows));
    }
    per_repo
}

/// What the collection notes say: skipped events, an incomplete sync, a store
/// that does not cover the window, departed repositories, clock skew and
/// incidents no service mapping names.
fn collection_diagnostics(
    data: &Dataset,
    window: TimeRange,
    slugs: &[String],
    incidents: &[AttributedIncident],
    diagnostics: &mut Vec<Diagnostic>,
) {
    diagnostics.extend(accounting::skipped_events(&data.collection, slugs));
    diagnostics.extend(accounting::incomplete_sync(&data.collection));
    diagnostics.extend(accounting::store_span(&data.collection, window));
    diagnostics.extend(accounting::repositories_departed(&data.collection));
    diagnostics.extend(accounting::clock_skew(&data.collection));
    diagnostics.extend(accounting::pipelines_without_deployments(&data.collection));
    if data.collection.service_mapping {
        let mut services: BTreeMap<String, usize> = BTreeMap::new();
        for i in incidents.iter().filter(|i| i.unmapped && i.row.counted) {
            let service = i.row.service.as_deref().unwrap_or("(no service)");
            *services.entry(service.to_string()).or_default() += 1;
        }
        diagnostics.extend(accounting::unmapped_incidents(&services));
    }
}

/// The ledger: every event read, used or excluded for a named reason.
fn ledger(data: &Dataset, repos: &[RepoResult], incidents: Tally) -> Accounting {
    let mut tallies = Tallies::default();
    for r in repos {
        tallies.add(&r.tallies);
    }
    tallies.incidents = incidents;
    let accounting = accounting::accounting(data, &tallies);
    debug_assert!(accounting.balances(), "{accounting:?}");
    accounting
}

/// The window's production attempts of every repository, by time.
fn deployment_rows(repos: &[RepoResult], window: TimeRange) -> Vec<DeploymentRow> {
    let mut deployments: Vec<DeploymentRow> = repos
        .iter()
        .flat_map(|r| in_window(r, window))
        .cloned()
        .collect();
    deployments.sort_by(|a, b| {
        (a.deployed_at, &a.repository, &a.id).cmp(&(b.deployed_at, &b.repository, &b.id))
    });
    deployments
}

/// Every repository's lead-time rows, by deployment time.
fn change_rows(repos: Vec<RepoResult>) -> Vec<ChangeRow> {
    // The rows are not needed any more: move them (same order) instead of cloning.
    let mut changes: Vec<ChangeRow> = repos.into_iter().flat_map(|r| r.changes).collect();
    changes.sort_by(|a, b| {
        (a.deployed_at, &a.repository, a.pull_request).cmp(&(
            b.deployed_at,
            &b.repository,
            b.pull_request,
        ))
    });
    changes
}
