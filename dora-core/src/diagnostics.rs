//! Data-quality findings: each common configuration mistake, caught automatically.

use serde::{Deserialize, Serialize};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiagnosticSeverity {
    /// Worth knowing.
    Info,
    /// A number is probably skewed.
    Warning,
    /// A number is wrong or missing.
    Error,
}

/// One finding. `code` is a stable snake_case identifier dashboards filter on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Stable identifier, e.g. `merge_fallback`.
    pub code: String,
    /// How serious.
    pub severity: DiagnosticSeverity,
    /// What happened and what to do about it.
    pub message: String,
    /// Repository concerned, when the finding is about one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub repository: Option<String>,
}

impl Diagnostic {
    /// A finding about the whole scope.
    pub fn new(code: &str, severity: DiagnosticSeverity, message: impl Into<String>) -> Self {
        Self {
            code: code.to_string(),
            severity,
            message: message.into(),
            repository: None,
        }
    }

    /// Attach the repository concerned.
    pub fn for_repository(mut self, slug: impl Into<String>) -> Self {
        self.repository = Some(slug.into());
        self
    }
}

/// Stable diagnostic codes.
pub mod codes {
    /// No production environment or no production deployments at all.
    pub const NO_PRODUCTION_ENVIRONMENT: &str = "no_production_environment";
    /// Merges into the production branch stand in for deployments.
    pub const MERGE_FALLBACK: &str = "merge_fallback";
    /// Bot pull requests were excluded from lead time.
    pub const BOT_PRS_EXCLUDED: &str = "bot_prs_excluded";
    /// Incidents without a severity (excluded by the severity filter).
    pub const INCIDENTS_WITHOUT_SEVERITY: &str = "incidents_without_severity";
    /// The window is shorter than 30 days.
    pub const SHORT_WINDOW: &str = "short_window";
    /// Merged pull requests that no production deployment shipped.
    pub const MERGED_NOT_DEPLOYED: &str = "merged_not_deployed";
    /// Incidents still unresolved.
    pub const UNRESOLVED_INCIDENTS: &str = "unresolved_incidents";
    /// Too few samples for a stable median.
    pub const FEW_SAMPLES: &str = "few_samples";
    /// The earliest known production deployment is inside the window.
    pub const NO_BASELINE_DEPLOYMENT: &str = "no_baseline_deployment";
    /// No incident data was supplied.
    pub const NO_INCIDENT_DATA: &str = "no_incident_data";
    /// Some merge commits are missing from the fetched history.
    pub const MISSING_HISTORY: &str = "missing_history";
    /// Deployments with no time at all were ignored.
    pub const UNDATED_DEPLOYMENTS: &str = "undated_deployments";
    /// Items a source fetched but could not convert (counted in `accounting`
    /// under their reasons): counts per kind and reason, with sample ids.
    pub const SKIPPED_EVENTS: &str = "skipped_events";
    /// The window ends in the future (`until` after now).
    pub const UNTIL_IN_FUTURE: &str = "until_in_future";
    /// Merged pull requests whose branch history the source could not reach
    /// within its cap: left out of lead time (`lead_time.excluded.history_truncated`).
    pub const HISTORY_TRUNCATED: &str = "history_truncated";
    /// Repositories whose last sync into the store did not finish.
    pub const INCOMPLETE_SYNC: &str = "incomplete_sync";
    /// Counted incidents of services the service-to-repository mapping does not
    /// name: in the workspace's recovery time, attributed to no repository.
    pub const UNMAPPED_INCIDENTS: &str = "unmapped_incidents";
    /// A report from a store over a window the store's syncs did not cover
    /// (per source and repository): events of the uncovered span are missing.
    pub const STORE_SPAN: &str = "store_span";
    /// Repositories that left the workspace (deleted, or moved out): kept in
    /// the store, left out of the report.
    pub const REPOSITORIES_DEPARTED: &str = "repositories_departed";
    /// The source dated items after the sync's own clock (clock skew or a bad
    /// date): its cursor was held at the clock so later changes are not missed.
    pub const CLOCK_SKEW: &str = "clock_skew";
    /// CI ran on the production branch while no production deployment was
    /// recorded: the deploy step lacks `deployment: production`.
    pub const PIPELINES_WITHOUT_DEPLOYMENTS: &str = "pipelines_without_deployments";
    /// The dataset has events, but none in the window (an `until` outside the data).
    pub const NO_EVENTS_IN_WINDOW: &str = "no_events_in_window";
}

/// A warning when `data` holds dated events but none lies in `window`: the
/// report is then empty because of the window, not the data.
pub fn no_events_in_window(data: &crate::Dataset, window: crate::TimeRange) -> Option<Diagnostic> {
    let times = (data.pull_requests.iter())
        .map(|p| p.merged_at.unwrap_or(p.created_at))
        .chain(data.deployments.iter().filter_map(|d| d.time()))
        .chain(data.incidents.iter().map(|i| i.opened_at))
        .chain(data.commits.iter().map(|c| c.committed_at));
    let (mut first, mut last, mut count) = (None, None, 0usize);
    for t in times {
        if window.start <= t && t < window.end {
            return None;
        }
        first = Some(first.map_or(t, |f: crate::Timestamp| f.min(t)));
        last = Some(last.map_or(t, |l: crate::Timestamp| l.max(t)));
        count += 1;
    }
    let (first, last) = (first?, last?);
    let day = |t: crate::Timestamp| t.format("%Y-%m-%d").to_string();
    Some(Diagnostic::new(
        codes::NO_EVENTS_IN_WINDOW,
        DiagnosticSeverity::Warning,
        format!(
            "none of the dataset's {count} events lies in the window {} .. {}: they span {} .. {}; set until (and days) to cover them",
            day(window.start),
            day(window.end),
            day(first),
            day(last)
        ),
    ))
}

/// Findings about the report as a whole: the window, bot exclusions, merged
/// but undeployed changes, incidents without severity or unresolved, missing
/// incident data and too few samples.
pub(crate) fn report_wide(
    data: &crate::Dataset,
    config: &crate::Config,
    window: crate::TimeRange,
    metrics: &crate::Metrics,
    bots: usize,
    incidents: &[crate::classify::incident::AttributedIncident],
    out: &mut Vec<Diagnostic>,
) {
    use DiagnosticSeverity as Sev;
    if config.days < 30 {
        out.push(Diagnostic::new(
            codes::SHORT_WINDOW,
            Sev::Warning,
            format!("a {}-day window has high variance; DORA metrics are meaningful over 30, 60 or 90 days", config.days),
        ));
    }
    if bots > 0 {
        out.push(Diagnostic::new(
            codes::BOT_PRS_EXCLUDED,
            Sev::Info,
            format!("{bots} bot pull request(s) were excluded from lead time (their deployments still count)"),
        ));
    }
    let nd = metrics.lead_time.excluded.not_deployed;
    if nd > 0 {
        out.push(Diagnostic::new(
            codes::MERGED_NOT_DEPLOYED,
            Sev::Info,
            format!("{nd} pull request(s) merged in the window were not shipped by any successful production deployment yet"),
        ));
    }
    incident_findings(data, metrics, incidents, out);
    out.extend(few_samples(window, metrics, !incidents.is_empty()));
}

/// Incidents without severity, unresolved, or none at all.
fn incident_findings(
    data: &crate::Dataset,
    metrics: &crate::Metrics,
    incidents: &[crate::classify::incident::AttributedIncident],
    out: &mut Vec<Diagnostic>,
) {
    use DiagnosticSeverity as Sev;
    let no_sev = incidents
        .iter()
        .filter(|i| i.row.severity.is_none())
        .count();
    if no_sev > 0 {
        out.push(Diagnostic::new(
            codes::INCIDENTS_WITHOUT_SEVERITY,
            Sev::Warning,
            format!("{no_sev} incident(s) have no severity and are excluded by the severity filter; set priorities in the incident tool or map them in config"),
        ));
    }
    let unresolved = metrics.recovery_time.incidents.unresolved;
    if unresolved > 0 {
        out.push(Diagnostic::new(
            codes::UNRESOLVED_INCIDENTS,
            Sev::Info,
            format!(
                "{unresolved} counted incident(s) are unresolved; they are counted, not averaged"
            ),
        ));
    }
    if data.incidents.is_empty() {
        out.push(Diagnostic::new(
            codes::NO_INCIDENT_DATA,
            Sev::Info,
            "no incidents were supplied: incident-based recovery time and the incident failure signal are unavailable",
        ));
    }
}

/// Too few samples for a stable median, when any.
fn few_samples(
    window: crate::TimeRange,
    metrics: &crate::Metrics,
    any_incident: bool,
) -> Option<Diagnostic> {
    let mut few = Vec::new();
    let deploys = metrics.change_failure_rate.deployments;
    if deploys < 10 {
        few.push(format!("{deploys} production deployment(s)"));
    }
    if metrics.lead_time.count < 10 {
        few.push(format!(
            "{} change(s) with a lead time",
            metrics.lead_time.count
        ));
    }
    let resolved = metrics.recovery_time.incidents.count;
    if any_incident && resolved < 5 {
        few.push(format!("{resolved} resolved incident(s)"));
    }
    (!few.is_empty()).then(|| {
        Diagnostic::new(
            codes::FEW_SAMPLES,
            DiagnosticSeverity::Warning,
            format!(
                "too few samples for a stable median between {} and {}: {}",
                window.start.format("%Y-%m-%d"),
                window.end.format("%Y-%m-%d"),
                few.join(", ")
            ),
        )
    })
}
