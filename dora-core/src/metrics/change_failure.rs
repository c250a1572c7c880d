//! Change failure rate: the share of production attempts that failed, by any
//! signal (failed status, revert, hotfix, rollback, incident).

use super::ratio;
use super::weekly::Weeks;
use crate::config::TierYear;
use crate::report::{ChangeFailureRate, DeploymentRow, Signal, SignalCounts};
use crate::tiers;

/// Change failure rate over the window's attempts.
pub(crate) fn measure(
    year: TierYear,
    weeks: &Weeks,
    deploys: &[&DeploymentRow],
    excused: usize,
) -> ChangeFailureRate {
    let failed: Vec<&&DeploymentRow> = deploys.iter().filter(|d| !d.failures.is_empty()).collect();
    let has = |d: &DeploymentRow, s: Signal| d.failures.iter().any(|f| f.signal == s);
    let count = |s: Signal| failed.iter().filter(|d| has(d, s)).count();
    let rate = ratio(failed.len(), deploys.len());
    ChangeFailureRate {
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
    }
}
