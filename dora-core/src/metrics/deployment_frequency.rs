//! Deployment frequency: successful production deployments per day and week.

use super::weekly::Weeks;
use crate::config::TierYear;
use crate::report::{DeploymentFrequency, DeploymentRow, DeploymentSource};
use crate::tiers;

/// Deployment frequency over `days` days of `deploys` (the window's attempts).
pub(crate) fn measure(
    year: TierYear,
    weeks: &Weeks,
    days: f64,
    deploys: &[&DeploymentRow],
    source: DeploymentSource,
) -> DeploymentFrequency {
    let ok: Vec<&&DeploymentRow> = deploys
        .iter()
        .filter(|d| d.status == crate::model::DeploymentStatus::Succeeded)
        .collect();
    let mut day_set: Vec<chrono::NaiveDate> =
        ok.iter().map(|d| d.deployed_at.date_naive()).collect();
    day_set.sort();
    day_set.dedup();
    let per_day = ok.len() as f64 / days;
    DeploymentFrequency {
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
    }
}

/// What deployment frequency counted across repositories, from whether each
/// fell back on merges.
pub(crate) fn deployment_source(fallbacks: impl Iterator<Item = bool>) -> DeploymentSource {
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
