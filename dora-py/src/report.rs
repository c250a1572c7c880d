//! `dora_metrics._native.Report` and `compute`.

use crate::config::PyConfig;
use crate::dataset::PyDataset;
use crate::errors::{DoraErr, DoraResult, guard};
use crate::frames;
use arrow_array::RecordBatch;
use dora_core::report::Metrics;
use dora_core::{Config as CoreConfig, Report as CoreReport};
use pyo3::prelude::*;
use pyo3_arrow::PyTable;
use std::sync::Arc;

/// A report's JSON fields but its rows, serialized as `Report` is.
#[derive(serde::Serialize)]
struct Head<'a> {
    schema_version: u32,
    window: &'a dora_core::report::WindowInfo,
    scope: &'a dora_core::report::Scope,
    tier_year: u16,
    #[serde(flatten)]
    metrics: &'a Metrics,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    repositories: &'a std::collections::BTreeMap<String, Metrics>,
    benchmarks: &'a Option<dora_core::benchmarks::Benchmarks>,
    accounting: &'a dora_core::Accounting,
    diagnostics: &'a [dora_core::Diagnostic],
}

impl<'a> Head<'a> {
    fn of(r: &'a CoreReport) -> Self {
        Self {
            schema_version: r.schema_version,
            window: &r.window,
            scope: &r.scope,
            tier_year: r.tier_year,
            metrics: &r.metrics,
            repositories: &r.repositories,
            benchmarks: &r.benchmarks,
            accounting: &r.accounting,
            diagnostics: &r.diagnostics,
        }
    }
}

/// What `__reduce__` gives pickle: the constructor and its arguments
/// (the report's JSON and its configuration's).
type Reduced<'py> = (Bound<'py, PyAny>, (String, Option<String>));

/// A computed DORA report (the Rust `dora_core::Report`).
#[pyclass(module = "dora_metrics._native", name = "Report", frozen)]
#[derive(Debug, Clone)]
pub struct PyReport {
    pub(crate) inner: Arc<CoreReport>,
    /// The configuration it was computed with, its `until` set to the window
    /// end; `None` for a report read from JSON.
    pub(crate) config: Option<CoreConfig>,
}

#[pymethods]
impl PyReport {
    /// The report as JSON, in the documented schema (built with the GIL released).
    #[pyo3(signature = (pretty = false))]
    fn to_json(&self, py: Python<'_>, pretty: bool) -> String {
        let report = Arc::clone(&self.inner);
        py.detach(move || {
            if pretty {
                report.to_json_pretty()
            } else {
                report.to_json()
            }
        })
    }

    /// The report's JSON without its row lists (`changes`, `deployments`,
    /// `incidents`): every metric, small whatever the dataset's size.
    fn head_json(&self, py: Python<'_>) -> String {
        let report = Arc::clone(&self.inner);
        py.detach(move || serde_json::to_string(&Head::of(&report)).unwrap_or_default())
    }

    /// Read a report back from its JSON; `config` (a `Config`'s JSON) is the
    /// configuration it was computed with, when known.
    #[staticmethod]
    #[pyo3(signature = (text, config = None))]
    fn from_json(text: &str, config: Option<&str>) -> DoraResult<Self> {
        let inner: CoreReport = serde_json::from_str(text)
            .map_err(|e| DoraErr::Dataset(format!("not a dora report: {e}")))?;
        let config = config
            .map(|c| {
                serde_json::from_str::<CoreConfig>(c)
                    .map_err(|e| DoraErr::Config(format!("not a dora config: {e}")))
            })
            .transpose()?;
        Ok(Self {
            inner: Arc::new(inner),
            config,
        })
    }

    /// The configuration the report was computed with (`until` is the window
    /// end it used), or `None` for a report read from JSON.
    #[getter]
    fn config(&self) -> Option<PyConfig> {
        self.config.clone().map(|inner| PyConfig { inner })
    }

    /// The headline recovery figure in seconds (`None` without data), as
    /// `dora_core::RecoveryTime::headline_seconds` decides it: failed
    /// deployment recovery, else incident recovery.
    #[getter]
    fn recovery_headline_seconds(&self) -> Option<f64> {
        self.inner.metrics.recovery_time.headline_seconds()
    }

    /// Pickle support: rebuilt from its JSON and its configuration's.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let this = slf.get();
        let config = this
            .config
            .as_ref()
            .map(|c| serde_json::to_string(c).unwrap_or_default());
        Ok((
            slf.get_type().getattr("from_json")?,
            (this.inner.to_json(), config),
        ))
    }

    /// One table of rows as Arrow (`__arrow_c_stream__`): `changes`,
    /// `deployments`, `incidents` or `weekly`; `repository` selects one
    /// repository's weekly series, `by="repository"` gives every repository's
    /// weekly series in one long table with a `repository` column.
    #[pyo3(signature = (name, repository = None, by = None))]
    fn table(
        &self,
        py: Python<'_>,
        name: &str,
        repository: Option<&str>,
        by: Option<&str>,
    ) -> DoraResult<PyTable> {
        let report = Arc::clone(&self.inner);
        let name = name.to_string();
        let repository = repository.map(str::to_string);
        let by = by.map(str::to_string);
        // Building columns needs no Python: let other threads run meanwhile.
        let batches = py.detach(move || {
            guard(|| {
                let one = |b: DoraResult<RecordBatch>| b.map(|b| vec![b]);
                match (name.as_str(), repository.as_deref(), by.as_deref()) {
                    (_, Some(_), Some(_)) => Err(DoraErr::Config(
                        "give repository= or by=, not both".into(),
                    )),
                    ("weekly", None, Some("repository")) => frames::weekly_by_repository(
                        per_repository(&report),
                        &report.metrics,
                    ),
                    (_, None, Some(other)) => Err(DoraErr::Config(format!(
                        "by={other:?}: only by=\"repository\" on the weekly table is supported (the other tables have a repository column)"
                    ))),
                    ("weekly", None, None) => one(frames::weekly(&report.metrics)),
                    ("weekly", Some(repo), None) => {
                        match per_repository(&report).find(|(slug, _)| *slug == repo) {
                            Some((_, m)) => one(frames::weekly(m)),
                            None => Err(DoraErr::Config(format!(
                                "repository {repo:?} is not in this report (it has: {})",
                                report.scope.repositories.join(", ")
                            ))),
                        }
                    }
                    (_, Some(_), None) => Err(DoraErr::Config(format!(
                        "repository= applies to the weekly table only; filter the {name} frame by its repository column"
                    ))),
                    ("metrics", None, None) => one(frames::metrics(
                        &report.metrics,
                        per_repository(&report),
                    )),
                    ("changes", None, None) => one(frames::changes(&report.changes)),
                    ("deployments", None, None) => one(frames::deployments(&report.deployments)),
                    ("incidents", None, None) => one(frames::incidents(&report.incidents)),
                    (other, None, None) => Err(DoraErr::Config(format!(
                        "unknown table {other:?}: expected one of {}",
                        frames::FRAME_TABLES.join(", ")
                    ))),
                }
            })
        })?;
        let schema = batches
            .first()
            .map(RecordBatch::schema)
            .ok_or_else(|| DoraErr::Internal("a table without a batch".into()))?;
        Ok(PyTable::try_new(batches, schema)?)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyReport>()
            .map(|o| o.get().inner == self.inner && o.get().config == self.config)
            .unwrap_or(false)
    }

    fn __repr__(&self) -> String {
        let r = &self.inner;
        format!(
            "Report(window={}..{}, repositories={}, deployments={}, changes={}, incidents={})",
            r.window.start.to_rfc3339(),
            r.window.end.to_rfc3339(),
            r.scope.repositories.len(),
            r.metrics.deployment_frequency.count,
            r.changes.len(),
            r.incidents.len()
        )
    }
}

/// Each repository's metrics by slug; a single-repository report (whose
/// per-repository metrics are the workspace's) gives its one repository.
fn per_repository(report: &CoreReport) -> impl Iterator<Item = (&str, &Metrics)> {
    let single = (report.repositories.is_empty() && report.scope.repositories.len() == 1)
        .then(|| (report.scope.repositories[0].as_str(), &report.metrics));
    report
        .repositories
        .iter()
        .map(|(slug, m)| (slug.as_str(), m))
        .chain(single)
}

/// Midnight UTC at the start of `t`'s day.
fn start_of_day(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    t.date_naive().and_time(chrono::NaiveTime::MIN).and_utc()
}

/// Compute the report of `dataset` under `config` (defaults when `None`).
/// `now` (a datetime or RFC 3339 string) stands in for a missing `config.until`;
/// without it, the window ends at the start of the current UTC day.
#[pyfunction]
#[pyo3(signature = (dataset, config = None, now = None))]
pub fn compute(
    py: Python<'_>,
    dataset: &Bound<'_, PyDataset>,
    config: Option<&Bound<'_, PyConfig>>,
    now: Option<&Bound<'_, PyAny>>,
) -> DoraResult<PyReport> {
    let data = &dataset.get().inner;
    let config = config.map(|c| c.get().inner.clone()).unwrap_or_default();
    let now = match now.filter(|n| !n.is_none()) {
        Some(n) => crate::time::extract_timestamp(n, "now")?,
        // The start of the current UTC day: the same window all day long.
        None => start_of_day(chrono::Utc::now()),
    };
    config.validate()?;
    let (report, config) = py.detach(move || {
        guard(|| {
            let report = dora_core::compute_at(data, &config, now);
            let used = CoreConfig {
                until: Some(report.window.end),
                ..config
            };
            Ok((report, used))
        })
    })?;
    Ok(PyReport {
        inner: Arc::new(report),
        config: Some(config),
    })
}
