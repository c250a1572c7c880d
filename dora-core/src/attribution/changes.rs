//! Changes: every pull request gets one fate — a lead-time row, or excluded
//! for a named reason — counted in the ledger and (in-window exclusions) in
//! `lead_time.excluded`.

use super::{Attribution, Findings, RepoScope};
use crate::accounting::{self, PrFate, Tallies};
use crate::config::LeadTimeStart;
use crate::diagnostics::{Diagnostic, DiagnosticSeverity as Sev, codes};
use crate::metrics::lead_time::change_row;
use crate::model::{PullRequest, PullRequestState, Timestamp};
use crate::report::{ChangeRow, DeploymentRow, LeadTimeExclusions};
use std::collections::{HashMap, HashSet};

/// What the pull requests of a repository gave.
pub(crate) struct Changes {
    /// Lead-time rows deployed in the window.
    pub(crate) rows: Vec<ChangeRow>,
    pub(crate) excluded: LeadTimeExclusions,
}

/// What a merged pull request's fate depends on besides itself.
struct MergeFacts {
    /// A promotion (gitflow), not a change.
    promotion: bool,
    /// The merge commit is in the graph (or stands in for a deployment).
    known: bool,
    /// The capped history walk left the PR's history out.
    gap: bool,
    /// Lead time from the first commit cannot be measured for it.
    truncated: bool,
    in_window: bool,
    deployment: Option<usize>,
    baseline: Option<usize>,
}

/// The fate of every pull request, and the lead-time rows of those used; the
/// attempts that shipped them count their changes.
pub(crate) fn lead_time_rows(
    scope: &RepoScope,
    pull_requests: &[&PullRequest],
    attribution: &Attribution,
    first_commit: &HashMap<u64, Timestamp>,
    deployments: &mut [DeploymentRow],
    findings: &mut Findings,
) -> Changes {
    let (config, window) = (scope.config, scope.window);
    let Attribution {
        attempts,
        merged,
        shipping,
    } = attribution;
    let tallies = &mut findings.tallies;
    let mut excluded = LeadTimeExclusions::default();
    record_unmerged(pull_requests, tallies, &mut excluded);
    // Lead time from the first commit cannot be measured without the branch
    // history; from the PR's creation it can.
    // A merge commit the capped walk never reached is a truncation too, whatever
    // the lead-time start: without it the PR cannot be attributed at all.
    let gaps: HashSet<u64> = (scope.data.collection.history_truncated.iter())
        .filter(|g| g.repository == scope.slug)
        .map(|g| g.pull_request)
        .collect();
    let from_first_commit = config.lead_time_start == LeadTimeStart::FirstCommit;
    let production = scope.production_branch();
    let integration = IntegrationBranches::new(&merged.prs, production);
    let mut truncated_excluded: Vec<u64> = Vec::new();
    let mut rows = Vec::new();
    let mut unknown_merge = 0usize;
    for (pr, &merge_node) in merged.prs.iter().zip(&merged.nodes) {
        let Some(merged_at) = pr.merged_at else {
            continue;
        };
        let merged_in_window = window.contains(merged_at);
        let known = attempts.fallback || merge_node.is_some();
        if !known && merged_in_window && !gaps.contains(&pr.id) {
            unknown_merge += 1;
        }
        let deployment = attempts.shipper(pr, merge_node, shipping);
        let promotion = scope.rules.promotions.is_promotion(pr, production)
            || integration.carries(pr, production);
        if let (Some(k), false) = (deployment, promotion) {
            deployments[k].changes += 1;
        }
        // The window rule: the shipping deployment's time, else the merge's.
        let in_window =
            deployment.map_or(merged_in_window, |k| window.contains(attempts.list[k].time));
        let facts = MergeFacts {
            promotion,
            known,
            gap: gaps.contains(&pr.id),
            truncated: from_first_commit && gaps.contains(&pr.id),
            in_window,
            deployment,
            baseline: attempts.baseline(),
        };
        let fate = merged_fate(scope, pr, &facts);
        if fate == PrFate::HistoryTruncated {
            truncated_excluded.push(pr.id);
        }
        accounting::record_pr(fate, &mut tallies.pull_requests, &mut excluded);
        if let (PrFate::Used, Some(k)) = (fate, deployment) {
            rows.push(change_row(
                config,
                scope.rules.hotfix.is_hotfix(pr),
                pr,
                merged_at,
                first_commit.get(&pr.id).copied(),
                &attempts.list[k],
            ));
        }
    }
    explain_exclusions(
        scope,
        truncated_excluded,
        unknown_merge,
        &excluded,
        &mut findings.diagnostics,
    );
    Changes { rows, excluded }
}

/// Branches other pull requests were merged into (besides the production
/// branch), with the earliest such merge: a pull request from one of them
/// into the production branch, merged after it received a merge, carries
/// changes that have pull requests of their own — a promotion (DESIGN:
/// "the destination of other merged PRs in the dataset").
struct IntegrationBranches<'a> {
    first_merge: HashMap<&'a str, Timestamp>,
}

impl<'a> IntegrationBranches<'a> {
    fn new(merged: &[&'a PullRequest], production: &str) -> Self {
        let mut first_merge: HashMap<&'a str, Timestamp> = HashMap::new();
        for pr in merged {
            let (branch, Some(at)) = (pr.destination_branch.as_str(), pr.merged_at) else {
                continue;
            };
            if branch.eq_ignore_ascii_case(production) {
                continue;
            }
            first_merge
                .entry(branch)
                .and_modify(|t| *t = (*t).min(at))
                .or_insert(at);
        }
        Self { first_merge }
    }

    /// Does `pr` promote an integration branch into `production`?
    fn carries(&self, pr: &PullRequest, production: &str) -> bool {
        pr.destination_branch.eq_ignore_ascii_case(production)
            && matches!(
                (self.first_merge.get(pr.source_branch.as_str()), pr.merged_at),
                (Some(&first), Some(merged)) if first < merged
            )
    }
}

/// Pull requests that were not merged, or whose merge time is unknown.
fn record_unmerged(
    pull_requests: &[&PullRequest],
    tallies: &mut Tallies,
    excluded: &mut LeadTimeExclusions,
) {
    for pr in pull_requests {
        if pr.state != PullRequestState::Merged {
            accounting::record_pr(PrFate::NotMerged, &mut tallies.pull_requests, excluded);
        } else if pr.merged_at.is_none() {
            accounting::record_pr(
                PrFate::MergeTimeUnknown,
                &mut tallies.pull_requests,
                excluded,
            );
        }
    }
}

/// The fate of a merged pull request, the first rule that applies winning.
fn merged_fate(scope: &RepoScope, pr: &PullRequest, f: &MergeFacts) -> PrFate {
    if !f.in_window {
        PrFate::OutsideWindow
    } else if scope.config.is_bot(pr) {
        PrFate::Bot
    } else if f.promotion {
        PrFate::Promotion
    } else if !f.known && f.gap {
        PrFate::HistoryTruncated
    } else if !f.known {
        PrFate::MergeCommitUnknown
    } else if f.deployment.is_none() {
        PrFate::NotDeployed
    } else if f.deployment == f.baseline {
        PrFate::Baseline
    } else if f.truncated {
        PrFate::HistoryTruncated
    } else {
        PrFate::Used
    }
}

/// Diagnostics for truncated histories, unknown merge commits and the baseline.
fn explain_exclusions(
    scope: &RepoScope,
    mut truncated_excluded: Vec<u64>,
    unknown_merge: usize,
    excluded: &LeadTimeExclusions,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let slug = scope.slug;
    if !truncated_excluded.is_empty() {
        truncated_excluded.sort_unstable();
        diagnostics.push(accounting::history_truncated(
            slug,
            &truncated_excluded,
            &scope.data.collection.history_truncated,
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
}
