//! Report rows as Arrow record batches, column by column (never row by row
//! through Python). Times are `timestamp[us, UTC]`, durations `float64` seconds.

use crate::errors::{DoraErr, DoraResult};
use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray, UInt64Array,
};
use arrow_schema::{Field, Schema};
use dora_core::report::{ChangeRow, DeploymentRow, IncidentRow, Metrics, WeekPoint};
use dora_core::{Signal, Timestamp};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// The tables a report exposes as frames.
pub const FRAME_TABLES: [&str; 5] = ["changes", "deployments", "incidents", "weekly", "metrics"];

/// The snake_case name serde gives a unit enum variant.
pub fn serde_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

fn ts<I: IntoIterator<Item = Option<Timestamp>>>(values: I) -> ArrayRef {
    Arc::new(
        TimestampMicrosecondArray::from_iter(
            values.into_iter().map(|t| t.map(|t| t.timestamp_micros())),
        )
        .with_timezone("UTC"),
    )
}

fn text<I: IntoIterator<Item = Option<S>>, S: AsRef<str>>(values: I) -> ArrayRef {
    Arc::new(StringArray::from_iter(values))
}

fn float<I: IntoIterator<Item = Option<f64>>>(values: I) -> ArrayRef {
    Arc::new(Float64Array::from_iter(values))
}

fn boolean<I: IntoIterator<Item = bool>>(values: I) -> ArrayRef {
    Arc::new(BooleanArray::from_iter(values.into_iter().map(Some)))
}

fn int<I: IntoIterator<Item = usize>>(values: I) -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(
        values
            .into_iter()
            .map(|v| i64::try_from(v).unwrap_or(i64::MAX)),
    ))
}

/// One column of a report table, as the column dictionary documents it.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Column name.
    pub name: &'static str,
    /// What a null means, or `None` when the column never holds one. Fixed per
    /// column (never data-dependent), so tables of two reports concatenate.
    pub nulls: Option<&'static str>,
    /// Unit of the values (`""` when none applies).
    pub unit: &'static str,
    /// What the column holds.
    pub meaning: &'static str,
}

const fn col(name: &'static str, unit: &'static str, meaning: &'static str) -> Column {
    Column {
        name,
        nulls: None,
        unit,
        meaning,
    }
}

const fn nullable(
    name: &'static str,
    unit: &'static str,
    meaning: &'static str,
    nulls: &'static str,
) -> Column {
    Column {
        name,
        nulls: Some(nulls),
        unit,
        meaning,
    }
}

const UTC: &str = "UTC time (microseconds)";
const SECONDS: &str = "seconds";

/// The columns of `changes`, in order.
pub const CHANGES: &[Column] = &[
    col("repository", "", "Repository slug"),
    col("pull_request", "", "Pull request id within its repository"),
    col("title", "", "Pull request title"),
    col("author", "", "Pull request author (display name)"),
    col(
        "first_commit_at",
        UTC,
        "Start of lead time: the first commit (the PR opened with lead_time_start pr_created)",
    ),
    col("created_at", UTC, "Pull request opened"),
    nullable(
        "first_review_at",
        UTC,
        "First review before the merge",
        "no review before the merge",
    ),
    col("merged_at", UTC, "Pull request merged"),
    col(
        "deployed_at",
        UTC,
        "First successful production deployment shipping the merge",
    ),
    col(
        "deployment",
        "",
        "Id of that deployment (same as deployment_id)",
    ),
    col(
        "lead_time_seconds",
        SECONDS,
        "Lead time for the change: from lead_time_start to deployed_at",
    ),
    col(
        "coding_seconds",
        SECONDS,
        "Start of lead time to pull request opened",
    ),
    col(
        "pickup_seconds",
        SECONDS,
        "Opened to first review (opened to merge when never reviewed)",
    ),
    col(
        "review_seconds",
        SECONDS,
        "First review to merge (0 when never reviewed)",
    ),
    col("deploy_seconds", SECONDS, "Merge to deployed_at"),
    col("reviewed", "", "Reviewed before the merge"),
    col(
        "hotfix",
        "",
        "The pull request is a hotfix (source-branch prefix)",
    ),
    col(
        "deployment_id",
        "",
        "Join key: with repository, matches deployments.deployment_id",
    ),
];

/// The columns of `deployments`, in order.
pub const DEPLOYMENTS: &[Column] = &[
    col("repository", "", "Repository slug"),
    col(
        "id",
        "",
        "Deployment id within its repository (same as deployment_id)",
    ),
    col("environment", "", "Environment name"),
    col("commit", "", "Deployed commit sha"),
    col(
        "deployed_at",
        UTC,
        "Deployment finished (started when it never finished)",
    ),
    col(
        "status",
        "",
        "succeeded, failed, stopped, in_progress or undeployed",
    ),
    col(
        "changes",
        "count",
        "Changes (merged pull requests) it shipped first",
    ),
    col(
        "failed",
        "",
        "Any failure signal fired: counts in change failure rate",
    ),
    col(
        "signals",
        "",
        "Names of the failure signals that fired (empty list when none)",
    ),
    col(
        "failed_deployment",
        "",
        "Signal: the deployment's status is failed",
    ),
    col(
        "revert",
        "",
        "Signal: a later merged commit reverts one it shipped",
    ),
    col(
        "hotfix",
        "",
        "Signal: a hotfix merged within the hotfix window after it",
    ),
    col(
        "rollback",
        "",
        "Signal: the next deployment rolled back to an ancestor",
    ),
    col(
        "incident",
        "",
        "Signal: a counted incident opened within the incident window after it",
    ),
    nullable(
        "evidence",
        "",
        "Why each signal fired, signal: evidence; joined by ;",
        "not failed",
    ),
    nullable(
        "restored_at",
        UTC,
        "Earliest time service was restored after the failure",
        "not failed, or not restored yet",
    ),
    nullable(
        "recovery_seconds",
        SECONDS,
        "Failed deployment recovery time: deployed_at to restored_at",
        "not failed, or not restored yet",
    ),
    col(
        "excused_rerun",
        "",
        "A failed attempt excused by a successful re-run within rerun_excuse_minutes",
    ),
    col("rework", "", "Unplanned remediation: counts in rework rate"),
    col(
        "from_merge",
        "",
        "A merge to the production branch standing in for a deployment (no deployment data)",
    ),
    col(
        "deployment_id",
        "",
        "Join key: with repository, the deployment (same as id)",
    ),
];

/// The columns of `incidents`, in order.
pub const INCIDENTS: &[Column] = &[
    col(
        "source",
        "",
        "Incident tool: pagerduty, opsgenie, incidentio or jsm",
    ),
    col("id", "", "Incident id within its source"),
    col("title", "", "Incident title"),
    nullable(
        "service",
        "",
        "Service the incident was raised on",
        "the source names none",
    ),
    nullable(
        "severity",
        "",
        "Normalised severity P1 to P5",
        "the source gives none",
    ),
    col("opened_at", UTC, "Incident opened"),
    nullable("resolved_at", UTC, "Incident resolved", "still open"),
    nullable(
        "recovery_seconds",
        SECONDS,
        "Time to restore: opened_at to resolved_at",
        "still open",
    ),
    col(
        "counted",
        "",
        "Passed the severity filter: counts in recovery time and as a failure signal",
    ),
    nullable(
        "deployment",
        "",
        "repository/id of the deployment it was attributed to",
        "attributed to no deployment",
    ),
    nullable(
        "repository",
        "",
        "Join key: repository of the attributed deployment",
        "attributed to no deployment",
    ),
    nullable(
        "deployment_id",
        "",
        "Join key: with repository, matches deployments.deployment_id",
        "attributed to no deployment",
    ),
];

/// The columns of `weekly`, in order (`repository` only in the long form).
pub const WEEKLY: &[Column] = &[
    col(
        "repository",
        "",
        "Repository slug (long form: by=\"repository\")",
    ),
    col("week_start", UTC, "First instant of the week"),
    col("deployments", "count", "Successful production deployments"),
    col("lead_time_changes", "count", "Changes deployed"),
    nullable(
        "lead_time_median_seconds",
        SECONDS,
        "Median lead time of those changes",
        "no change deployed that week",
    ),
    col(
        "change_failure_deployments",
        "count",
        "Production deployment attempts",
    ),
    nullable(
        "change_failure_rate",
        "ratio 0..1",
        "Failed share of those attempts",
        "no deployment that week",
    ),
    col("recovered_failures", "count", "Failed deployments restored"),
    nullable(
        "recovery_median_seconds",
        SECONDS,
        "Median failed deployment recovery time",
        "no failure restored that week",
    ),
    nullable(
        "rework_rate",
        "ratio 0..1",
        "Share of deployments that were rework",
        "no deployment that week",
    ),
];

/// The columns of `metrics`, in order.
pub const METRICS: &[Column] = &[
    nullable("repository", "", "Repository slug", "the workspace row"),
    col(
        "level",
        "",
        "workspace (every repository together) or repository",
    ),
    col("deployments", "count", "Successful production deployments"),
    col("deployments_per_week", "per week", "Deployment frequency"),
    col(
        "deploy_days",
        "count",
        "Distinct UTC days with a successful production deployment",
    ),
    nullable(
        "deployment_frequency_tier",
        "",
        "Tier: elite, high, medium or low",
        "no data",
    ),
    col("lead_time_changes", "count", "Changes behind lead time"),
    nullable(
        "lead_time_median_seconds",
        SECONDS,
        "Median lead time for changes",
        "no change",
    ),
    nullable(
        "lead_time_p90_seconds",
        SECONDS,
        "90th percentile lead time",
        "no change",
    ),
    nullable(
        "lead_time_mean_seconds",
        SECONDS,
        "Mean lead time",
        "no change",
    ),
    nullable(
        "coding_median_seconds",
        SECONDS,
        "Median coding phase",
        "no change",
    ),
    nullable(
        "pickup_median_seconds",
        SECONDS,
        "Median pickup phase",
        "no change",
    ),
    nullable(
        "review_median_seconds",
        SECONDS,
        "Median review phase",
        "no change",
    ),
    nullable(
        "deploy_median_seconds",
        SECONDS,
        "Median deploy phase",
        "no change",
    ),
    nullable(
        "lead_time_tier",
        "",
        "Tier of the median lead time",
        "no change",
    ),
    col(
        "change_failure_deployments",
        "count",
        "Production deployment attempts",
    ),
    col(
        "failed_deployments",
        "count",
        "Of which failed (any signal)",
    ),
    nullable(
        "change_failure_rate",
        "ratio 0..1",
        "Change failure rate",
        "no deployment",
    ),
    nullable(
        "change_failure_tier",
        "",
        "Tier of the change failure rate",
        "no deployment",
    ),
    col(
        "resolved_incidents",
        "count",
        "Resolved counted incidents opened in the window",
    ),
    nullable(
        "incident_recovery_median_seconds",
        SECONDS,
        "Median time to restore from incidents (MTTR)",
        "no resolved incident",
    ),
    col(
        "recovered_failures",
        "count",
        "Failed deployments with a known recovery",
    ),
    nullable(
        "deployment_recovery_median_seconds",
        SECONDS,
        "Median failed deployment recovery time",
        "no recovered failure",
    ),
    nullable(
        "recovery_tier",
        "",
        "Tier of the deployment recovery median, else of the incident one",
        "no data",
    ),
    col(
        "rework_deployments",
        "count",
        "Unplanned remediation deployments",
    ),
    nullable("rework_rate", "ratio 0..1", "Rework rate", "no deployment"),
    nullable("overall_tier", "", "Overall tier", "no tier"),
];

/// The column dictionary of a report table, by name.
pub fn dictionary(table: &str) -> Option<&'static [Column]> {
    match table {
        "changes" => Some(CHANGES),
        "deployments" => Some(DEPLOYMENTS),
        "incidents" => Some(INCIDENTS),
        "weekly" => Some(WEEKLY),
        "metrics" => Some(METRICS),
        _ => None,
    }
}

/// Assemble a batch of `table`: each field's nullability and metadata
/// (`meaning`, `unit`, `nulls`) come from the column dictionary, never from the data.
fn batch(table: &'static [Column], columns: Vec<(&str, ArrayRef)>) -> DoraResult<RecordBatch> {
    let fields = columns
        .iter()
        .map(|(name, a)| {
            let c = table.iter().find(|c| c.name == *name).ok_or_else(|| {
                DoraErr::Internal(format!(
                    "column {name} is missing from the column dictionary"
                ))
            })?;
            let metadata = HashMap::from([
                ("meaning".to_string(), c.meaning.to_string()),
                ("unit".to_string(), c.unit.to_string()),
                ("nulls".to_string(), c.nulls.unwrap_or("never").to_string()),
            ]);
            Ok(Field::new(*name, a.data_type().clone(), c.nulls.is_some()).with_metadata(metadata))
        })
        .collect::<DoraResult<Vec<Field>>>()?;
    let arrays = columns.into_iter().map(|(_, a)| a).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .map_err(|e| DoraErr::Internal(format!("building an Arrow batch: {e}")))
}

/// Split an incident's `repository/id` deployment reference into its join keys.
fn split_deployment(reference: Option<&String>) -> (Option<&str>, Option<&str>) {
    match reference.and_then(|r| r.split_once('/')) {
        Some((repo, id)) => (Some(repo), Some(id)),
        None => (None, None),
    }
}

/// One row per change (merged PR) behind lead time, with its four phases.
///
/// Filled in a single pass over the rows, the largest table a report has.
pub fn changes(rows: &[ChangeRow]) -> DoraResult<RecordBatch> {
    let n = rows.len();
    let strings = || StringBuilder::with_capacity(n, n * 16);
    let (mut repository, mut title, mut author, mut deployment) =
        (strings(), strings(), strings(), strings());
    let mut pull_request = Vec::with_capacity(n);
    let mut times: [Vec<Option<i64>>; 5] = std::array::from_fn(|_| Vec::with_capacity(n));
    let mut secs: [Vec<f64>; 5] = std::array::from_fn(|_| Vec::with_capacity(n));
    let (mut reviewed, mut hotfix) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for r in rows {
        repository.append_value(&r.repository);
        pull_request.push(r.pull_request);
        title.append_value(&r.title);
        author.append_value(&r.author);
        let stamps = [
            Some(r.first_commit_at),
            Some(r.created_at),
            r.first_review_at,
            Some(r.merged_at),
            Some(r.deployed_at),
        ];
        for (column, t) in times.iter_mut().zip(stamps) {
            column.push(t.map(|t| t.timestamp_micros()));
        }
        deployment.append_value(&r.deployment);
        let values = [
            r.lead_time_seconds,
            r.coding_seconds,
            r.pickup_seconds,
            r.review_seconds,
            r.deploy_seconds,
        ];
        for (column, v) in secs.iter_mut().zip(values) {
            column.push(v);
        }
        reviewed.push(Some(r.first_review_at.is_some()));
        hotfix.push(Some(r.hotfix));
    }
    let [
        first_commit_at,
        created_at,
        first_review_at,
        merged_at,
        deployed_at,
    ] = times;
    let [lead, coding, pickup, review, deploy] = secs;
    let ts = |v: Vec<Option<i64>>| -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC"))
    };
    let f64s = |v: Vec<f64>| -> ArrayRef { Arc::new(Float64Array::from(v)) };
    let deployment = Arc::new(deployment.finish());
    batch(
        CHANGES,
        vec![
            ("repository", Arc::new(repository.finish())),
            ("pull_request", Arc::new(UInt64Array::from(pull_request))),
            ("title", Arc::new(title.finish())),
            ("author", Arc::new(author.finish())),
            ("first_commit_at", ts(first_commit_at)),
            ("created_at", ts(created_at)),
            ("first_review_at", ts(first_review_at)),
            ("merged_at", ts(merged_at)),
            ("deployed_at", ts(deployed_at)),
            ("deployment", Arc::clone(&deployment) as ArrayRef),
            ("lead_time_seconds", f64s(lead)),
            ("coding_seconds", f64s(coding)),
            ("pickup_seconds", f64s(pickup)),
            ("review_seconds", f64s(review)),
            ("deploy_seconds", f64s(deploy)),
            ("reviewed", Arc::new(BooleanArray::from(reviewed))),
            ("hotfix", Arc::new(BooleanArray::from(hotfix))),
            ("deployment_id", deployment),
        ],
    )
}

/// One row per production deployment attempt, with its failure signals.
pub fn deployments(rows: &[DeploymentRow]) -> DoraResult<RecordBatch> {
    let mut signals = ListBuilder::new(StringBuilder::new());
    for r in rows {
        for f in &r.failures {
            signals.values().append_value(serde_name(&f.signal));
        }
        signals.append(true);
    }
    let mut columns: Vec<(&str, ArrayRef)> = vec![
        ("repository", text(rows.iter().map(|r| Some(&r.repository)))),
        ("id", text(rows.iter().map(|r| Some(&r.id)))),
        (
            "environment",
            text(rows.iter().map(|r| Some(&r.environment))),
        ),
        ("commit", text(rows.iter().map(|r| Some(&r.commit)))),
        ("deployed_at", ts(rows.iter().map(|r| Some(r.deployed_at)))),
        (
            "status",
            text(rows.iter().map(|r| Some(serde_name(&r.status)))),
        ),
        ("changes", int(rows.iter().map(|r| r.changes))),
        (
            "failed",
            boolean(rows.iter().map(|r| !r.failures.is_empty())),
        ),
        ("signals", Arc::new(signals.finish())),
    ];
    for signal in Signal::ALL {
        columns.push((
            signal.as_str(),
            boolean(
                rows.iter()
                    .map(|r| r.failures.iter().any(|f| f.signal == signal)),
            ),
        ));
    }
    columns.extend([
        (
            "evidence",
            text(rows.iter().map(|r| {
                (!r.failures.is_empty()).then(|| {
                    r.failures
                        .iter()
                        .map(|f| format!("{}: {}", serde_name(&f.signal), f.evidence))
                        .collect::<Vec<_>>()
                        .join("; ")
                })
            })),
        ),
        (
            "restored_at",
            ts(rows
                .iter()
                .map(|r| r.failures.iter().filter_map(|f| f.restored_at).min())),
        ),
        (
            "recovery_seconds",
            float(rows.iter().map(|r| r.recovery_seconds)),
        ),
        (
            "excused_rerun",
            boolean(rows.iter().map(|r| r.excused_rerun)),
        ),
        ("rework", boolean(rows.iter().map(|r| r.rework))),
        ("from_merge", boolean(rows.iter().map(|r| r.from_merge))),
        ("deployment_id", text(rows.iter().map(|r| Some(&r.id)))),
    ]);
    batch(DEPLOYMENTS, columns)
}

/// One row per incident opened in the window.
pub fn incidents(rows: &[IncidentRow]) -> DoraResult<RecordBatch> {
    batch(
        INCIDENTS,
        vec![
            ("source", text(rows.iter().map(|r| Some(&r.source)))),
            ("id", text(rows.iter().map(|r| Some(&r.id)))),
            ("title", text(rows.iter().map(|r| Some(&r.title)))),
            ("service", text(rows.iter().map(|r| r.service.as_ref()))),
            (
                "severity",
                text(rows.iter().map(|r| r.severity.map(|s| s.to_string()))),
            ),
            ("opened_at", ts(rows.iter().map(|r| Some(r.opened_at)))),
            ("resolved_at", ts(rows.iter().map(|r| r.resolved_at))),
            (
                "recovery_seconds",
                float(rows.iter().map(|r| r.recovery_seconds)),
            ),
            ("counted", boolean(rows.iter().map(|r| r.counted))),
            (
                "deployment",
                text(rows.iter().map(|r| r.deployment.as_ref())),
            ),
            (
                "repository",
                text(
                    rows.iter()
                        .map(|r| split_deployment(r.deployment.as_ref()).0),
                ),
            ),
            (
                "deployment_id",
                text(
                    rows.iter()
                        .map(|r| split_deployment(r.deployment.as_ref()).1),
                ),
            ),
        ],
    )
}

/// Value of `series` in the week starting at `week`, matched by start time.
fn point(series: &[WeekPoint], week: Timestamp) -> Option<&WeekPoint> {
    series.iter().find(|p| p.week_start == week)
}

/// One row per week of the window: every metric's weekly series side by side.
pub fn weekly(m: &Metrics) -> DoraResult<RecordBatch> {
    weekly_columns(m).and_then(|columns| batch(WEEKLY, columns))
}

/// The long weekly table, one row per (repository, week) with `repository`
/// first, as one batch per repository. With no repository, an empty batch
/// shaped like `fallback`'s.
pub fn weekly_by_repository<'a>(
    repositories: impl IntoIterator<Item = (&'a str, &'a Metrics)>,
    fallback: &Metrics,
) -> DoraResult<Vec<RecordBatch>> {
    let long = |slug: &str, metrics: &Metrics| -> DoraResult<RecordBatch> {
        let mut columns = weekly_columns(metrics)?;
        let rows = columns.first().map_or(0, |(_, a)| a.len());
        columns.insert(
            0,
            ("repository", text(std::iter::repeat_n(Some(slug), rows))),
        );
        batch(WEEKLY, columns)
    };
    let parts = repositories
        .into_iter()
        .map(|(slug, metrics)| long(slug, metrics))
        .collect::<DoraResult<Vec<_>>>()?;
    if parts.is_empty() {
        return Ok(vec![long("", fallback)?.slice(0, 0)]);
    }
    Ok(parts)
}

fn weekly_columns(m: &Metrics) -> DoraResult<Vec<(&'static str, ArrayRef)>> {
    let weeks: Vec<Timestamp> = m
        .deployment_frequency
        .weekly
        .iter()
        .map(|p| p.week_start)
        .collect();
    let value = |s: &[WeekPoint]| float(weeks.iter().map(|w| point(s, *w).and_then(|p| p.value)));
    let count = |s: &[WeekPoint]| int(weeks.iter().map(|w| point(s, *w).map_or(0, |p| p.count)));
    Ok(vec![
        ("week_start", ts(weeks.iter().copied().map(Some))),
        ("deployments", count(&m.deployment_frequency.weekly)),
        ("lead_time_changes", count(&m.lead_time.weekly)),
        ("lead_time_median_seconds", value(&m.lead_time.weekly)),
        (
            "change_failure_deployments",
            count(&m.change_failure_rate.weekly),
        ),
        ("change_failure_rate", value(&m.change_failure_rate.weekly)),
        ("recovered_failures", count(&m.recovery_time.weekly)),
        ("recovery_median_seconds", value(&m.recovery_time.weekly)),
        ("rework_rate", value(&m.rework_rate.weekly)),
    ])
}

/// One row per scope, numbers only: the workspace first (`repository` null),
/// then each repository, with every metric's headline values as columns.
pub fn metrics<'a>(
    workspace: &'a Metrics,
    repositories: impl IntoIterator<Item = (&'a str, &'a Metrics)>,
) -> DoraResult<RecordBatch> {
    let rows: Vec<(Option<&str>, &Metrics)> = std::iter::once((None, workspace))
        .chain(repositories.into_iter().map(|(s, m)| (Some(s), m)))
        .collect();
    let of = |f: fn(&Metrics) -> Option<f64>| float(rows.iter().map(|(_, m)| f(m)));
    let counts = |f: fn(&Metrics) -> usize| int(rows.iter().map(|(_, m)| f(m)));
    let tier = |f: fn(&Metrics) -> Option<dora_core::Tier>| {
        text(rows.iter().map(|(_, m)| f(m).map(|t| serde_name(&t))))
    };
    batch(
        METRICS,
        vec![
            ("repository", text(rows.iter().map(|(s, _)| *s))),
            (
                "level",
                text(rows.iter().map(|(s, _)| {
                    Some(if s.is_some() {
                        "repository"
                    } else {
                        "workspace"
                    })
                })),
            ),
            ("deployments", counts(|m| m.deployment_frequency.count)),
            (
                "deployments_per_week",
                of(|m| Some(m.deployment_frequency.per_week)),
            ),
            (
                "deploy_days",
                counts(|m| m.deployment_frequency.deploy_days),
            ),
            (
                "deployment_frequency_tier",
                tier(|m| m.deployment_frequency.tier),
            ),
            ("lead_time_changes", counts(|m| m.lead_time.count)),
            (
                "lead_time_median_seconds",
                of(|m| m.lead_time.median_seconds),
            ),
            ("lead_time_p90_seconds", of(|m| m.lead_time.p90_seconds)),
            ("lead_time_mean_seconds", of(|m| m.lead_time.mean_seconds)),
            (
                "coding_median_seconds",
                of(|m| m.lead_time.phases.coding.median_seconds),
            ),
            (
                "pickup_median_seconds",
                of(|m| m.lead_time.phases.pickup.median_seconds),
            ),
            (
                "review_median_seconds",
                of(|m| m.lead_time.phases.review.median_seconds),
            ),
            (
                "deploy_median_seconds",
                of(|m| m.lead_time.phases.deploy.median_seconds),
            ),
            ("lead_time_tier", tier(|m| m.lead_time.tier)),
            (
                "change_failure_deployments",
                counts(|m| m.change_failure_rate.deployments),
            ),
            (
                "failed_deployments",
                counts(|m| m.change_failure_rate.failed),
            ),
            ("change_failure_rate", of(|m| m.change_failure_rate.rate)),
            ("change_failure_tier", tier(|m| m.change_failure_rate.tier)),
            (
                "resolved_incidents",
                counts(|m| m.recovery_time.incidents.count),
            ),
            (
                "incident_recovery_median_seconds",
                of(|m| m.recovery_time.incidents.median_seconds),
            ),
            (
                "recovered_failures",
                counts(|m| m.recovery_time.deployments.count),
            ),
            (
                "deployment_recovery_median_seconds",
                of(|m| m.recovery_time.deployments.median_seconds),
            ),
            ("recovery_tier", tier(|m| m.recovery_time.tier)),
            ("rework_deployments", counts(|m| m.rework_rate.rework)),
            ("rework_rate", of(|m| m.rework_rate.rate)),
            ("overall_tier", tier(|m| m.overall_tier)),
        ],
    )
}
