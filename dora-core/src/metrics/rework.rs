//! Rework rate: the share of production attempts that were unplanned work
//! (a rollback, or shipping a revert or a hotfix).

use super::ratio;
use super::weekly::Weeks;
use crate::report::{DeploymentRow, ReworkRate};

/// Rework rate over the window's attempts.
pub(crate) fn measure(weeks: &Weeks, deploys: &[&DeploymentRow]) -> ReworkRate {
    let rework = deploys.iter().filter(|d| d.rework).count();
    ReworkRate {
        deployments: deploys.len(),
        rework,
        rate: ratio(rework, deploys.len()),
        weekly: weeks.series(deploys.iter().map(|d| (d.deployed_at, d.rework)), |b| {
            ratio(b.iter().filter(|f| **f).count(), b.len())
        }),
    }
}
