//! Incidents: a counted incident fails the latest successful production
//! deployment that finished strictly before it opened (within
//! `incident_window_hours`), in the incident's repositories.

use crate::TimeRange;
use crate::accounting::Tally;
use crate::attribution::RepoResult;
use crate::config::Config;
use crate::model::{Dataset, DeploymentStatus, Incident, IncidentStatus, Timestamp};
use crate::report::{FailureReason, IncidentRow, Signal, reasons};
use crate::time::seconds;
use chrono::Duration;

/// An incident row and the repositories it belongs to.
pub(crate) struct AttributedIncident {
    pub(crate) row: IncidentRow,
    /// The incident's repositories; empty means every repository in scope,
    /// unless `unmapped`.
    pub(crate) repositories: Vec<String>,
    /// A service mapping applied and named none of the incident's repositories:
    /// counted for the workspace only.
    pub(crate) unmapped: bool,
}

impl AttributedIncident {
    /// Does the incident count in `slug`'s metrics?
    pub(crate) fn belongs_to(&self, slug: &str) -> bool {
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
pub(crate) fn attribute_incidents(
    data: &Dataset,
    config: &Config,
    window: TimeRange,
    repos: &mut [RepoResult],
) -> (Vec<AttributedIncident>, Tally) {
    let successes = successes_by_time(repos);
    let horizon = Duration::hours(i64::from(config.incident_window_hours));
    let mapping = data.collection.service_mapping;
    let (incidents, tally) = incidents_in_order(data, config, window);

    let mut out = Vec::new();
    for inc in incidents {
        let counted = config.counts_severity(inc.severity);
        let attributed = if counted {
            failed_deployment(inc, &successes, horizon, mapping, repos)
        } else {
            None
        };
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
            row: incident_row(inc, counted, attributed, repos),
            repositories: inc.repositories.clone(),
            unmapped: mapping && inc.repositories.is_empty(),
        });
    }
    (out, tally)
}

/// (time, repo index, row index) of successful attempts, sorted by time.
fn successes_by_time(repos: &[RepoResult]) -> Vec<(Timestamp, usize, usize)> {
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
    successes
}

/// The incidents that are not dismissed, in opening order, and the ledger tally.
fn incidents_in_order<'a>(
    data: &'a Dataset,
    config: &Config,
    window: TimeRange,
) -> (Vec<&'a Incident>, Tally) {
    let mut tally = Tally::default();
    let mut incidents: Vec<&Incident> = Vec::with_capacity(data.incidents.len());
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
    (incidents, tally)
}

/// The (repo, row) of the latest success before the incident, within the horizon,
/// in one of the incident's repositories.
fn failed_deployment(
    inc: &Incident,
    successes: &[(Timestamp, usize, usize)],
    horizon: Duration,
    mapping: bool,
    repos: &[RepoResult],
) -> Option<(usize, usize)> {
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
            return Some((ri, di));
        }
    }
    None
}

fn incident_row(
    inc: &Incident,
    counted: bool,
    attributed: Option<(usize, usize)>,
    repos: &[RepoResult],
) -> IncidentRow {
    IncidentRow {
        source: inc.source.clone(),
        id: inc.id.clone(),
        title: inc.title.clone(),
        service: inc.service.clone(),
        severity: inc.severity,
        opened_at: inc.opened_at,
        resolved_at: inc.resolved_at,
        recovery_seconds: inc.resolved_at.map(|r| seconds(r - inc.opened_at).max(0.0)),
        counted,
        deployment: attributed
            .map(|(ri, di)| format!("{}/{}", repos[ri].slug, repos[ri].deployments[di].id)),
        url: inc.url.clone(),
    }
}
