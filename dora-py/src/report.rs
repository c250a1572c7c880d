//! `dora_metrics._native.Report` and `compute`.

use crate::config::PyConfig;
use crate::dataset::PyDataset;
use crate::errors::{DoraErr, DoraResult, guard};
use crate::frames;
use dora_core::Report as CoreReport;
use pyo3::prelude::*;
use pyo3_arrow::PyTable;
use std::sync::Arc;

/// A computed DORA report (the Rust `dora_core::Report`).
#[pyclass(module = "dora_metrics._native", name = "Report", frozen)]
#[derive(Debug, Clone)]
pub struct PyReport {
    pub(crate) inner: Arc<CoreReport>,
}

#[pymethods]
impl PyReport {
    /// The report as JSON, in the documented schema.
    #[pyo3(signature = (pretty = false))]
    fn to_json(&self, pretty: bool) -> String {
        if pretty {
            self.inner.to_json_pretty()
        } else {
            self.inner.to_json()
        }
    }

    /// Read a report back from its JSON.
    #[staticmethod]
    fn from_json(text: &str) -> DoraResult<Self> {
        let inner: CoreReport = serde_json::from_str(text)
            .map_err(|e| DoraErr::Dataset(format!("not a dora report: {e}")))?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// One table of rows as Arrow (`__arrow_c_stream__`): `changes`,
    /// `deployments`, `incidents` or `weekly`; `repository` selects one
    /// repository's weekly series in a multi-repository report.
    #[pyo3(signature = (name, repository = None))]
    fn table(&self, py: Python<'_>, name: &str, repository: Option<&str>) -> DoraResult<PyTable> {
        let report = Arc::clone(&self.inner);
        let name = name.to_string();
        let repository = repository.map(str::to_string);
        // Building columns needs no Python: let other threads run meanwhile.
        let batch = py.detach(move || {
            guard(|| match (name.as_str(), repository.as_deref()) {
                ("weekly", None) => frames::weekly(&report.metrics),
                ("weekly", Some(repo)) => match report.repositories.get(repo) {
                    Some(m) => frames::weekly(m),
                    None if report.scope.repositories.len() == 1
                        && report.scope.repositories[0] == repo =>
                    {
                        frames::weekly(&report.metrics)
                    }
                    None => Err(DoraErr::Config(format!(
                        "repository {repo:?} is not in this report (it has: {})",
                        report.scope.repositories.join(", ")
                    ))),
                },
                (_, Some(_)) => Err(DoraErr::Config(format!(
                    "repository= applies to the weekly table only; filter the {name} frame by its repository column"
                ))),
                ("changes", None) => frames::changes(&report.changes),
                ("deployments", None) => frames::deployments(&report.deployments),
                ("incidents", None) => frames::incidents(&report.incidents),
                (other, None) => Err(DoraErr::Config(format!(
                    "unknown table {other:?}: expected one of {}",
                    frames::FRAME_TABLES.join(", ")
                ))),
            })
        })?;
        let schema = batch.schema();
        Ok(PyTable::try_new(vec![batch], schema)?)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyReport>()
            .map(|o| o.get().inner == self.inner)
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

/// Compute the report of `dataset` under `config` (defaults when `None`).
/// `now` (a datetime or RFC 3339 string) stands in for a missing `config.until`.
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
        None => chrono::Utc::now(),
    };
    config.validate()?;
    let report = py.detach(move || guard(|| Ok(dora_core::compute_at(data, &config, now))))?;
    Ok(PyReport {
        inner: Arc::new(report),
    })
}
