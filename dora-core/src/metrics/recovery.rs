//! Recovery time: from a failed deployment to the earliest restoration among
//! its signals, and from an incident's opening to its resolution.

use super::weekly::Weeks;
use crate::attribution::RepoResult;
use crate::config::TierYear;
use crate::report::{
    DeploymentRecovery, DeploymentRow, IncidentRecovery, IncidentRow, RecoveryTime,
};
use crate::stats::{duration_stats, median};
use crate::tiers;
use crate::time::seconds;

/// Recovery per failed deployment: the earliest restoration among its signals
/// (sorted by signal, then evidence).
pub(crate) fn settle_deployments(repos: &mut [RepoResult]) {
    for r in repos.iter_mut() {
        for d in &mut r.deployments {
            d.failures
                .sort_by(|a, b| (a.signal, &a.evidence).cmp(&(b.signal, &b.evidence)));
            d.recovery_seconds = d
                .failures
                .iter()
                .filter_map(|f| f.restored_at)
                .min()
                .map(|t| seconds(t - d.deployed_at).max(0.0));
        }
    }
}

/// Recovery time over the window's failed attempts and incidents; the tier
/// rates deployment recovery, else incident recovery.
pub(crate) fn measure(
    year: TierYear,
    weeks: &Weeks,
    deploys: &[&DeploymentRow],
    incidents: &[&IncidentRow],
) -> RecoveryTime {
    let failed: Vec<&&DeploymentRow> = deploys.iter().filter(|d| !d.failures.is_empty()).collect();
    let counted: Vec<&&IncidentRow> = incidents.iter().filter(|i| i.counted).collect();
    let mut inc_values: Vec<f64> = counted.iter().filter_map(|i| i.recovery_seconds).collect();
    let inc = duration_stats(&mut inc_values);
    let mut dep_values: Vec<f64> = failed.iter().filter_map(|d| d.recovery_seconds).collect();
    let dep = duration_stats(&mut dep_values);
    let mut recovery = RecoveryTime {
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
        tier: None,
        weekly: weeks.series(
            failed
                .iter()
                .filter_map(|d| d.recovery_seconds.map(|r| (d.deployed_at, r))),
            |b| median(b),
        ),
    };
    recovery.tier = recovery
        .headline_seconds()
        .map(|m| tiers::recovery_time(year, m));
    recovery
}
