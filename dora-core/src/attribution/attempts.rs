//! Production attempts: the deployments that count (production, completed,
//! dated), sorted by time; when a repository has none at all, merges into the
//! production branch stand in (the merge fallback).

use super::{Findings, RepoScope, ShippingLabels};
use crate::accounting;
use crate::diagnostics::{Diagnostic, DiagnosticSeverity as Sev, codes};
use crate::graph::NodeId;
use crate::model::{
    Deployment, DeploymentStatus, EnvironmentKind, PullRequest, PullRequestState, Timestamp,
};
use crate::report::{DeploymentRow, reasons};
use std::collections::HashMap;

/// A production attempt being analysed.
pub(crate) struct Attempt<'a> {
    pub(crate) id: String,
    pub(crate) environment: String,
    pub(crate) commit: String,
    pub(crate) time: Timestamp,
    pub(crate) status: DeploymentStatus,
    pub(crate) from_merge: Option<&'a PullRequest>,
    pub(crate) release: Option<String>,
    pub(crate) url: Option<String>,
}

/// A repository's production attempts, sorted by (time, id).
pub(crate) struct Attempts<'a> {
    pub(crate) list: Vec<Attempt<'a>>,
    /// Merges into the production branch stand in for deployments.
    pub(crate) fallback: bool,
    /// Merge fallback: the attempt synthesised from each PR.
    merge_attempt: HashMap<u64, usize>,
    /// The successful attempts' indices, in time order.
    pub(crate) successful: Vec<usize>,
}

impl<'a> Attempts<'a> {
    /// Choose the repository's production attempts, tallying every deployment
    /// and explaining an undated deployment or a merge fallback.
    pub(crate) fn select(
        scope: &RepoScope,
        deployments: &[&Deployment],
        pull_requests: &[&'a PullRequest],
        findings: &mut Findings,
    ) -> Self {
        let (mut list, production) = production_attempts(scope, deployments, findings);
        let fallback = list.is_empty();
        if fallback {
            findings.diagnostics.push(
                Diagnostic::new(
                    codes::NO_PRODUCTION_ENVIRONMENT,
                    Sev::Warning,
                    no_production_message(scope, production),
                )
                .for_repository(scope.slug),
            );
            list = merge_attempts(scope, pull_requests, &mut findings.diagnostics);
        }
        list.sort_by(|a, b| (a.time, &a.id).cmp(&(b.time, &b.id)));
        let merge_attempt = list
            .iter()
            .enumerate()
            .filter_map(|(i, a)| a.from_merge.map(|p| (p.id, i)))
            .collect();
        let successful = (0..list.len())
            .filter(|&i| list[i].status == DeploymentStatus::Succeeded)
            .collect();
        Self {
            list,
            fallback,
            merge_attempt,
            successful,
        }
    }

    /// The attempt that shipped a merged pull request: its merge in the
    /// fallback, else the first deployment that shipped its merge commit.
    pub(crate) fn shipper(
        &self,
        pr: &PullRequest,
        merge_node: Option<NodeId>,
        shipping: &ShippingLabels,
    ) -> Option<usize> {
        if self.fallback {
            self.merge_attempt.get(&pr.id).copied()
        } else {
            merge_node.and_then(|n| shipping.deployment(n))
        }
    }

    /// The baseline: the earliest successful deployment, whose changes may
    /// have been deployed before (none in the merge fallback).
    pub(crate) fn baseline(&self) -> Option<usize> {
        if self.fallback {
            None
        } else {
            self.successful.first().copied()
        }
    }

    /// A report row for every attempt, without signals yet.
    pub(crate) fn rows(&self, slug: &str, repo_url: Option<&str>) -> Vec<DeploymentRow> {
        self.list
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
            .collect()
    }
}

/// The completed, dated production deployments, and how many production
/// deployments were read at all.
fn production_attempts(
    scope: &RepoScope,
    deployments: &[&Deployment],
    findings: &mut Findings,
) -> (Vec<Attempt<'static>>, usize) {
    let tallies = &mut findings.tallies;
    let mut undated = 0usize;
    let mut production = 0usize;
    let mut attempts = Vec::new();
    for d in deployments {
        if !scope.config.is_production(d) {
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
        if scope.window.contains(time) {
            tallies.deployments.used();
        } else {
            tallies.deployments.exclude(reasons::OUTSIDE_WINDOW);
        }
        attempts.push(attempt_of(d, time));
    }
    if undated > 0 {
        findings.diagnostics.push(
            Diagnostic::new(
                codes::UNDATED_DEPLOYMENTS,
                Sev::Warning,
                format!("{undated} production deployment(s) have neither a start nor a finish time and were ignored"),
            )
            .for_repository(scope.slug),
        );
    }
    (attempts, production)
}

/// Why no production deployment could be used, saying what was seen:
/// deployments the source could not read may well have been production ones.
fn no_production_message(scope: &RepoScope, production: usize) -> String {
    let data = scope.data;
    let slug = scope.slug;
    let has_env = data
        .environments
        .iter()
        .any(|e| e.repository == slug && e.kind == EnvironmentKind::Production);
    match accounting::skipped_deployments_phrase(&data.collection, slug) {
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
    }
}

/// The merge fallback: one successful attempt per merge into the production branch.
fn merge_attempts<'a>(
    scope: &RepoScope,
    pull_requests: &[&'a PullRequest],
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Attempt<'a>> {
    let mut attempts = Vec::new();
    for pr in pull_requests {
        if pr.state != PullRequestState::Merged
            || !scope.is_production_branch(&pr.destination_branch)
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
        let in_window = attempts
            .iter()
            .filter(|a| scope.window.contains(a.time))
            .count();
        diagnostics.push(
            Diagnostic::new(
                codes::MERGE_FALLBACK,
                Sev::Warning,
                format!(
                    "deployment frequency counts {in_window} merge(s) into the production branch in the window instead of deployments; the deploy phase of lead time is 0",
                ),
            )
            .for_repository(scope.slug),
        );
    }
    attempts
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
