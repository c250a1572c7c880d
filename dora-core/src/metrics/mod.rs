//! The five metrics, aggregated from traceable rows (changes, deployments,
//! incidents) — for the whole report and for each repository alike.
//!
//! `deployment_frequency`, `lead_time`, `change_failure`, `recovery`
//! and `rework` each compute one metric with its tier and `weekly` trend.

pub(crate) mod change_failure;
pub(crate) mod deployment_frequency;
pub(crate) mod lead_time;
pub(crate) mod recovery;
pub(crate) mod rework;
pub(crate) mod weekly;

use crate::TimeRange;
use crate::config::Config;
use crate::report::{
    ChangeRow, DeploymentRow, DeploymentSource, IncidentRow, LeadTimeExclusions, Metrics,
};
use crate::tiers;
use weekly::Weeks;

/// The rows (and counts) the metrics of a scope are computed from.
pub(crate) struct Rows<'a> {
    /// Lead-time rows.
    pub(crate) changes: &'a [&'a ChangeRow],
    /// Production attempts in the window.
    pub(crate) deployments: &'a [&'a DeploymentRow],
    /// Incidents opened in the window.
    pub(crate) incidents: &'a [&'a IncidentRow],
    /// Pull requests left out of lead time, by reason.
    pub(crate) excluded: LeadTimeExclusions,
    /// What deployment frequency counts.
    pub(crate) source: DeploymentSource,
    /// Failed attempts excused as re-runs.
    pub(crate) excused: usize,
}

/// All five metrics and the overall tier.
pub(crate) fn measure(config: &Config, window: TimeRange, rows: &Rows) -> Metrics {
    let year = config.tier_year;
    let weeks = Weeks::new(window);
    let deployment_frequency = deployment_frequency::measure(
        year,
        &weeks,
        f64::from(config.days),
        rows.deployments,
        rows.source,
    );
    let lead_time = lead_time::measure(year, &weeks, rows.changes, rows.excluded);
    let change_failure_rate = change_failure::measure(year, &weeks, rows.deployments, rows.excused);
    let recovery_time = recovery::measure(year, &weeks, rows.deployments, rows.incidents);
    let rework_rate = rework::measure(&weeks, rows.deployments);
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

/// `num / den`, none for an empty denominator.
pub(crate) fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}
