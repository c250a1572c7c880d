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
use std::sync::Arc;

/// The tables a report exposes as frames.
pub const FRAME_TABLES: [&str; 4] = ["changes", "deployments", "incidents", "weekly"];

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

/// Assemble a batch; a column is nullable when it holds a null.
fn batch(columns: Vec<(&str, ArrayRef)>) -> DoraResult<RecordBatch> {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, a)| Field::new(*name, a.data_type().clone(), a.null_count() > 0))
        .collect();
    let arrays = columns.into_iter().map(|(_, a)| a).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .map_err(|e| DoraErr::Internal(format!("building an Arrow batch: {e}")))
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
    batch(vec![
        ("repository", Arc::new(repository.finish())),
        ("pull_request", Arc::new(UInt64Array::from(pull_request))),
        ("title", Arc::new(title.finish())),
        ("author", Arc::new(author.finish())),
        ("first_commit_at", ts(first_commit_at)),
        ("created_at", ts(created_at)),
        ("first_review_at", ts(first_review_at)),
        ("merged_at", ts(merged_at)),
        ("deployed_at", ts(deployed_at)),
        ("deployment", Arc::new(deployment.finish())),
        ("lead_time_seconds", f64s(lead)),
        ("coding_seconds", f64s(coding)),
        ("pickup_seconds", f64s(pickup)),
        ("review_seconds", f64s(review)),
        ("deploy_seconds", f64s(deploy)),
        ("reviewed", Arc::new(BooleanArray::from(reviewed))),
        ("hotfix", Arc::new(BooleanArray::from(hotfix))),
    ])
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
    ]);
    batch(columns)
}

/// One row per incident opened in the window.
pub fn incidents(rows: &[IncidentRow]) -> DoraResult<RecordBatch> {
    batch(vec![
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
    ])
}

/// Value of `series` in the week starting at `week`, matched by start time.
fn point(series: &[WeekPoint], week: Timestamp) -> Option<&WeekPoint> {
    series.iter().find(|p| p.week_start == week)
}

/// One row per week of the window: every metric's weekly series side by side.
pub fn weekly(m: &Metrics) -> DoraResult<RecordBatch> {
    let weeks: Vec<Timestamp> = m
        .deployment_frequency
        .weekly
        .iter()
        .map(|p| p.week_start)
        .collect();
    let value = |s: &[WeekPoint]| float(weeks.iter().map(|w| point(s, *w).and_then(|p| p.value)));
    let count = |s: &[WeekPoint]| int(weeks.iter().map(|w| point(s, *w).map_or(0, |p| p.count)));
    batch(vec![
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
