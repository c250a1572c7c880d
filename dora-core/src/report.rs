//! The report: one serde struct whose JSON is the documented, stable schema.

use crate::diagnostics::Diagnostic;
use crate::model::{Severity, Timestamp};
use crate::tiers::Tier;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The window a report covers: `[start, end)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowInfo {
    /// Inclusive start (RFC 3339).
    pub start: Timestamp,
    /// Exclusive end (RFC 3339).
    pub end: Timestamp,
    /// Length in days.
    pub days: u32,
}

/// What the report covers.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Scope {
    /// Repository slugs included.
    pub repositories: Vec<String>,
    /// Number of commits, pull requests, deployments and incidents in the dataset.
    pub commits: usize,
    /// Pull requests in the dataset.
    pub pull_requests: usize,
    /// Deployments in the dataset (all environments, all times).
    pub deployments: usize,
    /// Incidents in the dataset.
    pub incidents: usize,
}

/// Median, p90 and mean of a set of durations, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct DurationStats {
    /// How many values.
    pub count: usize,
    /// Median (mean of the two middle values for an even count).
    pub median_seconds: Option<f64>,
    /// 90th percentile, nearest rank.
    pub p90_seconds: Option<f64>,
    /// Arithmetic mean.
    pub mean_seconds: Option<f64>,
}

/// One week of a series: a calendar week (ISO, from Monday 00:00 UTC); the
/// first and last weeks of a window may be partial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeekPoint {
    /// First instant of the week.
    pub week_start: Timestamp,
    /// Number of samples in the week.
    pub count: usize,
    /// The metric's value for the week (`None` when undefined, e.g. no samples).
    pub value: Option<f64>,
}

/// Where deployments were taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentSource {
    /// Production deployments.
    Deployments,
    /// Merges into the production branch (no production deployments exist).
    Merges,
    /// Some repositories use deployments, others merges.
    Mixed,
}

/// Deployment frequency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentFrequency {
    /// Successful production deployments in the window.
    pub count: usize,
    /// `count / (days / 7)`.
    pub per_week: f64,
    /// `count / days`.
    pub per_day: f64,
    /// Distinct UTC days with a successful production deployment.
    pub deploy_days: usize,
    /// Performance tier.
    pub tier: Option<Tier>,
    /// Deployments or merge fallback.
    pub source: DeploymentSource,
    /// Successful production deployments per week.
    pub weekly: Vec<WeekPoint>,
}

/// Median/p90/mean of one lead-time phase.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Phases {
    /// First commit → PR created.
    pub coding: DurationStats,
    /// PR created → first review (→ merged when unreviewed).
    pub pickup: DurationStats,
    /// First review → merged.
    pub review: DurationStats,
    /// Merged → deployed.
    pub deploy: DurationStats,
}

/// Why pull requests were left out of lead time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LeadTimeExclusions {
    /// Authored by a bot.
    pub bots: usize,
    /// Merged, but no successful production deployment shipped them yet.
    pub not_deployed: usize,
    /// Shipped by the earliest deployment known, whose predecessors are unknown.
    pub baseline: usize,
    /// Merge commit unknown or not in the fetched history.
    pub merge_commit_unknown: usize,
    /// The source could not reach the pull request's branch history within its
    /// budget (`Dataset.collection.history_truncated`): its first commit, hence
    /// its lead time, would be wrong. Counted only when lead time starts at the
    /// first commit (the default) and the PR would otherwise have a lead time.
    #[serde(default)]
    pub history_truncated: usize,
    /// Promotions (`develop → main`, `release/* → main`, back-merges out of
    /// the production branch; see [`crate::config::PromotionRules`]): they
    /// carry changes merged before, which have lead times of their own.
    #[serde(default)]
    pub promotion: usize,
}

/// Lead time for changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadTime {
    /// Changes (merged, non-bot PRs) deployed in the window.
    pub count: usize,
    /// Median total lead time.
    pub median_seconds: Option<f64>,
    /// p90 total lead time.
    pub p90_seconds: Option<f64>,
    /// Mean total lead time.
    pub mean_seconds: Option<f64>,
    /// Performance tier (by the median).
    pub tier: Option<Tier>,
    /// The four phases.
    pub phases: Phases,
    /// Changes merged without any review activity.
    pub unreviewed: usize,
    /// What was left out, and why.
    pub excluded: LeadTimeExclusions,
    /// Median lead time per week (by deployment time).
    pub weekly: Vec<WeekPoint>,
}

/// Per-signal counts of failed deployments (a deployment may fire several).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SignalCounts {
    /// Status failed.
    pub failed_deployment: usize,
    /// A later commit reverted a commit it shipped.
    pub revert: usize,
    /// A hotfix PR merged soon after it.
    pub hotfix: usize,
    /// The next deployment rolled back to an older commit.
    pub rollback: usize,
    /// An incident opened soon after it.
    pub incident: usize,
}

/// Change failure rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeFailureRate {
    /// Production deployments in the window (successful and failed attempts).
    pub deployments: usize,
    /// Of which failed (any signal).
    pub failed: usize,
    /// `failed / deployments` (`None` with no deployments).
    pub rate: Option<f64>,
    /// Performance tier.
    pub tier: Option<Tier>,
    /// Failed deployments per signal.
    pub by_signal: SignalCounts,
    /// Failed deployments whose failure was excused by a quick successful re-run.
    pub excused_reruns: usize,
    /// Failure rate per week.
    pub weekly: Vec<WeekPoint>,
}

/// Incident-based recovery time (MTTR).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentRecovery {
    /// Resolved, severity-filtered incidents opened in the window.
    pub count: usize,
    /// Severity-filtered incidents opened in the window and not resolved.
    pub unresolved: usize,
    /// Median resolution time.
    pub median_seconds: Option<f64>,
    /// p90.
    pub p90_seconds: Option<f64>,
    /// Mean.
    pub mean_seconds: Option<f64>,
    /// Incidents left out by the severity filter.
    pub excluded_by_severity: usize,
}

/// Deployment-based recovery time (DORA's failed deployment recovery time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentRecovery {
    /// Failed deployments in the window whose recovery is known.
    pub count: usize,
    /// Failed deployments in the window not (yet) recovered.
    pub unrecovered: usize,
    /// Median.
    pub median_seconds: Option<f64>,
    /// p90.
    pub p90_seconds: Option<f64>,
    /// Mean.
    pub mean_seconds: Option<f64>,
}

/// Recovery time, both measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecoveryTime {
    /// Incident-based.
    pub incidents: IncidentRecovery,
    /// Deployment-based.
    pub deployments: DeploymentRecovery,
    /// Tier of the deployment-based median, else of the incident-based one.
    pub tier: Option<Tier>,
    /// Median deployment-based recovery per week (by the failed deployment's time).
    pub weekly: Vec<WeekPoint>,
}

impl RecoveryTime {
    /// The headline recovery figure, decided here only: the deployment-based
    /// median (DORA's failed deployment recovery time) when the window has
    /// failed deployments with a known recovery, else the incident-based
    /// median (MTTR). The tier, the benchmarks and every front end's summary
    /// show this figure.
    pub fn headline_seconds(&self) -> Option<f64> {
        if self.deployments.count > 0 {
            self.deployments.median_seconds
        } else {
            self.incidents.median_seconds
        }
    }
}

/// Rework rate (DORA's fifth metric).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReworkRate {
    /// Production deployments in the window (the change failure rate's denominator).
    pub deployments: usize,
    /// Of which unplanned remediation (shipped a revert or hotfix, or a rollback).
    pub rework: usize,
    /// `rework / deployments`.
    pub rate: Option<f64>,
    /// Rate per week.
    pub weekly: Vec<WeekPoint>,
}

/// The five metrics for one scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Deployment frequency.
    pub deployment_frequency: DeploymentFrequency,
    /// Lead time for changes.
    pub lead_time: LeadTime,
    /// Change failure rate.
    pub change_failure_rate: ChangeFailureRate,
    /// Recovery time.
    pub recovery_time: RecoveryTime,
    /// Rework rate.
    pub rework_rate: ReworkRate,
    /// Overall tier: the floor of the mean rank of the metric tiers present.
    pub overall_tier: Option<Tier>,
}

/// One change (merged PR) behind lead time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeRow {
    /// Repository slug.
    pub repository: String,
    /// Pull request id.
    pub pull_request: u64,
    /// Title.
    pub title: String,
    /// Author display name.
    pub author: String,
    /// Start of lead time.
    pub first_commit_at: Timestamp,
    /// PR opened.
    pub created_at: Timestamp,
    /// First review, if any.
    pub first_review_at: Option<Timestamp>,
    /// Merged.
    pub merged_at: Timestamp,
    /// Deployed (finish of the first successful production deployment shipping it).
    pub deployed_at: Timestamp,
    /// That deployment's id.
    pub deployment: String,
    /// Total lead time.
    pub lead_time_seconds: f64,
    /// Coding phase.
    pub coding_seconds: f64,
    /// Pickup phase.
    pub pickup_seconds: f64,
    /// Review phase.
    pub review_seconds: f64,
    /// Deploy phase.
    pub deploy_seconds: f64,
    /// From a hotfix branch.
    pub hotfix: bool,
    /// The pull request's web page, when the source gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A failure signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// The deployment's status is failed.
    FailedDeployment,
    /// A later commit reverted a commit it shipped.
    Revert,
    /// A hotfix PR merged soon after.
    Hotfix,
    /// The next deployment rolled back to an ancestor.
    Rollback,
    /// An incident opened soon after.
    Incident,
}

impl Signal {
    /// Every signal, in report order.
    pub const ALL: [Signal; 5] = [
        Self::FailedDeployment,
        Self::Revert,
        Self::Hotfix,
        Self::Rollback,
        Self::Incident,
    ];

    /// The stable name used in JSON, CSV, metrics labels and frames.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FailedDeployment => "failed_deployment",
            Self::Revert => "revert",
            Self::Hotfix => "hotfix",
            Self::Rollback => "rollback",
            Self::Incident => "incident",
        }
    }
}

/// Why a deployment failed: the signal and the evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureReason {
    /// Which signal.
    pub signal: Signal,
    /// Evidence: the revert commit, hotfix PR, rollback deployment or incident id.
    pub evidence: String,
    /// When service was restored for this signal, if known.
    pub restored_at: Option<Timestamp>,
}

/// One production deployment attempt in the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentRow {
    /// Repository slug.
    pub repository: String,
    /// Deployment id.
    pub id: String,
    /// Environment name.
    pub environment: String,
    /// Deployed commit.
    pub commit: String,
    /// Deployment time (finish, else start).
    pub deployed_at: Timestamp,
    /// `succeeded` or `failed`.
    pub status: crate::model::DeploymentStatus,
    /// Pull requests it shipped first.
    pub changes: usize,
    /// Failure reasons (empty when it did not fail).
    pub failures: Vec<FailureReason>,
    /// Failed but excused by a quick successful re-run.
    pub excused_rerun: bool,
    /// Unplanned remediation (rework).
    pub rework: bool,
    /// Recovery time, when failed and recovered.
    pub recovery_seconds: Option<f64>,
    /// Synthesised from a merge (merge fallback).
    pub from_merge: bool,
    /// The release's name (`#186`), when the source gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// The deployment's web page (the pipeline run; for a merge, its pull request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The deployed commit's web page, when the repository's page is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_url: Option<String>,
}

/// One incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentRow {
    /// Source system.
    pub source: String,
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Service.
    pub service: Option<String>,
    /// Normalised severity.
    pub severity: Option<Severity>,
    /// Opened.
    pub opened_at: Timestamp,
    /// Resolved.
    pub resolved_at: Option<Timestamp>,
    /// Resolution time.
    pub recovery_seconds: Option<f64>,
    /// Passed the severity filter.
    pub counted: bool,
    /// `repository/deployment` it was attributed to, if any.
    pub deployment: Option<String>,
    /// The incident's page in its tool, when the payload gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// One kind's ledger: every item fetched is either used or excluded for a
/// named reason, and `fetched == used + sum(excluded)` holds exactly.
///
/// The engine's reasons are the constants of [`reasons`]; items a source
/// fetched but could not convert are counted under their own
/// [`SkippedEvent::reason`](crate::model::SkippedEvent) (e.g. `missing_status`)
/// and reported by the `skipped_events` diagnostic.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Ledger {
    /// Items the sources delivered (after de-duplication by id), plus the ones
    /// they fetched but could not convert.
    pub fetched: usize,
    /// Items behind a number of the report.
    pub used: usize,
    /// Items left out, by stable snake_case reason.
    pub excluded: BTreeMap<String, usize>,
}

impl Ledger {
    /// Whether `fetched == used + sum(excluded)`.
    pub fn balances(&self) -> bool {
        self.used + self.excluded.values().sum::<usize>() == self.fetched
    }

    /// Count one item excluded for `reason`.
    pub fn exclude(&mut self, reason: &str) {
        *self.excluded.entry(reason.to_owned()).or_default() += 1;
    }

    /// How many items were excluded for `reason` (0 when none).
    pub fn excluded_for(&self, reason: &str) -> usize {
        self.excluded.get(reason).copied().unwrap_or(0)
    }
}

pub mod reasons {
    //! The engine's stable reasons in `accounting.<kind>.excluded` (the JSON keys).
    //!
    //! Each item is counted once, under the first reason that applies in the
    //! order listed per kind. Items a source could not convert are counted under
    //! the source's own reason besides these.
    //!
    //! **Pull requests** (`used`: changes with a lead time in the window, i.e.
    //! `lead_time.count`). `bots`, `not_deployed`, `baseline`,
    //! `merge_commit_unknown`, `history_truncated` and `promotion` equal the
    //! `lead_time.excluded` counts of the same names.
    //! 1. [`NOT_MERGED`]: open, declined or superseded.
    //! 2. [`MERGE_TIME_UNKNOWN`]: state merged, but no merge time.
    //! 3. [`OUTSIDE_WINDOW`]: its shipping deployment is outside the window (or,
    //!    when nothing shipped it or its merge commit is unknown, its merge is).
    //! 4. [`BOTS`]: authored by a bot.
    //! 5. [`MERGE_COMMIT_UNKNOWN`]: merge commit missing from the fetched history.
    //! 6. [`NOT_DEPLOYED`]: merged in the window, shipped by no successful
    //!    production deployment yet.
    //! 7. [`BASELINE`]: shipped by the earliest known production deployment, whose
    //!    predecessors are unknown.
    //! 8. [`HISTORY_TRUNCATED`]: its branch history was not reached
    //!    (`Dataset.collection.history_truncated`).
    //! 9. [`PROMOTION`]: a promotion (`develop → main`, `release/* → main`, a
    //!    back-merge out of the production branch), not a change: the changes
    //!    it carries have lead times of their own. (Checked after bots.)
    //!
    //! **Deployments**, every environment (`used`: production deployment attempts
    //! in the window, the change failure rate's denominator apart from merges
    //! standing in for deployments under `merge_fallback`).
    //! 1. [`NOT_PRODUCTION`]: to a non-production environment.
    //! 2. [`NOT_RUN`]: planned (`UNDEPLOYED`) or still in progress.
    //! 3. [`STOPPED`]: stopped by a person before it completed.
    //! 4. [`UNDATED`]: neither a start nor a finish time.
    //! 5. [`OUTSIDE_WINDOW`]: finished before the window (the baseline and the
    //!    history attribution needs) or after it.
    //!
    //! **Incidents** (`used`: severity-filtered incidents opened in the window).
    //! 1. [`DISMISSED`]: not a real incident (declined, merged, canceled).
    //! 2. [`OUTSIDE_WINDOW`]: opened outside the window.
    //! 3. [`BELOW_SEVERITY`]: left out by the severity filter, incidents without a
    //!    severity included (`recovery_time.incidents.excluded_by_severity`).
    //!
    //! **Commits** (`used`: commits that joined the commit graph).
    //! 1. [`DUPLICATE_SHA`]: a second commit with the same sha in one repository
    //!    (not expected after de-duplication).

    /// Pull request open, declined or superseded.
    pub const NOT_MERGED: &str = "not_merged";
    /// Pull request in state merged without a merge time.
    pub const MERGE_TIME_UNKNOWN: &str = "merge_time_unknown";
    /// Pull request authored by a bot.
    pub const BOTS: &str = "bots";
    /// Pull request merged in the window, not shipped by a successful production deployment.
    pub const NOT_DEPLOYED: &str = "not_deployed";
    /// Pull request shipped by the earliest known production deployment.
    pub const BASELINE: &str = "baseline";
    /// Pull request whose merge commit is unknown or not in the fetched history.
    pub const MERGE_COMMIT_UNKNOWN: &str = "merge_commit_unknown";
    /// Pull request whose branch history the source could not reach.
    pub const HISTORY_TRUNCATED: &str = "history_truncated";
    /// A promotion pull request (gitflow), not a change of its own.
    pub const PROMOTION: &str = "promotion";
    /// Any kind: the event's time is outside the window.
    pub const OUTSIDE_WINDOW: &str = "outside_window";
    /// Deployment to a non-production environment.
    pub const NOT_PRODUCTION: &str = "not_production";
    /// Production deployment planned (`UNDEPLOYED`) or in progress.
    pub const NOT_RUN: &str = "not_run";
    /// Production deployment stopped before it completed.
    pub const STOPPED: &str = "stopped";
    /// Production deployment with neither a start nor a finish time.
    pub const UNDATED: &str = "undated";
    /// Incident dismissed (not a real incident).
    pub const DISMISSED: &str = "dismissed";
    /// Incident left out by the severity filter (or without a severity).
    pub const BELOW_SEVERITY: &str = "below_severity";
    /// Commit whose sha repeats another commit of the same repository.
    pub const DUPLICATE_SHA: &str = "duplicate_sha";
}

/// The report's ledger per kind of event (`accounting` in the JSON); the
/// reasons of `excluded` are documented in [`reasons`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Accounting {
    /// Pull requests: used = changes with a lead time in the window.
    pub pull_requests: Ledger,
    /// Deployments: used = production deployment attempts in the window.
    pub deployments: Ledger,
    /// Incidents: used = severity-filtered incidents opened in the window.
    pub incidents: Ledger,
    /// Commits: used = commits that joined the commit graph.
    pub commits: Ledger,
}

impl Accounting {
    /// The ledgers with their JSON names.
    pub fn ledgers(&self) -> [(&'static str, &Ledger); 4] {
        [
            ("pull_requests", &self.pull_requests),
            ("deployments", &self.deployments),
            ("incidents", &self.incidents),
            ("commits", &self.commits),
        ]
    }

    /// The ledger of one kind of event.
    pub fn ledger(&self, kind: crate::model::EventKind) -> &Ledger {
        use crate::model::EventKind;
        match kind {
            EventKind::PullRequest => &self.pull_requests,
            EventKind::Deployment => &self.deployments,
            EventKind::Incident => &self.incidents,
            EventKind::Commit => &self.commits,
        }
    }

    /// Whether every ledger balances.
    pub fn balances(&self) -> bool {
        self.ledgers().iter().all(|(_, l)| l.balances())
    }
}

/// A full DORA report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Schema version of this JSON.
    pub schema_version: u32,
    /// The window.
    pub window: WindowInfo,
    /// What is covered.
    pub scope: Scope,
    /// Tier year used.
    pub tier_year: u16,
    /// Workspace-level metrics, computed over the union of events.
    #[serde(flatten)]
    pub metrics: Metrics,
    /// Per-repository metrics, when more than one repository is in scope.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub repositories: BTreeMap<String, Metrics>,
    /// Where the workspace stands in the DORA 2025 distributions (null when
    /// the configured group is unknown).
    #[serde(default)]
    pub benchmarks: Option<crate::benchmarks::Benchmarks>,
    /// Every fetched event used or excluded for a named reason.
    #[serde(default)]
    pub accounting: Accounting,
    /// Data-quality findings.
    pub diagnostics: Vec<Diagnostic>,
    /// Changes behind lead time.
    pub changes: Vec<ChangeRow>,
    /// Production deployment attempts in the window.
    pub deployments: Vec<DeploymentRow>,
    /// Incidents opened in the window.
    pub incidents: Vec<IncidentRow>,
}

impl Report {
    /// The report as JSON (the documented schema).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The report as pretty-printed JSON.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::Signal;

    #[test]
    fn signal_names_are_the_serde_names() {
        for s in Signal::ALL {
            assert_eq!(
                serde_json::to_value(s).ok(),
                Some(serde_json::Value::from(s.as_str()))
            );
        }
    }
}
