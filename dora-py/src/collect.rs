//! `collect`: run the sources' async code on a private runtime, GIL released.

use crate::dataset::PyDataset;
use crate::errors::{DoraErr, DoraResult};
use crate::runtime::block_on;
use crate::sources::{delivery_source, incident_source};
use chrono::{Duration, Utc};
use dora_core::{SourceExt, TimeRange};
use pyo3::prelude::*;

/// Collect the window `[until - days, until)` from `source` (and incidents
/// from `incidents`) into a dataset. The GIL is released while the sources work.
#[pyfunction]
#[pyo3(signature = (source, incidents = None, *, days = 90, until = None))]
pub fn collect(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    incidents: Option<&Bound<'_, PyAny>>,
    days: i64,
    until: Option<&Bound<'_, PyAny>>,
) -> DoraResult<PyDataset> {
    if !(1..=3660).contains(&days) {
        return Err(DoraErr::Config(format!(
            "days must be between 1 and 3660, got {days}"
        )));
    }
    let end = match until.filter(|u| !u.is_none()) {
        Some(u) => crate::time::extract_timestamp(u, "until")?,
        None => Utc::now(),
    };
    let range = TimeRange::new(end - Duration::days(days), end);
    let delivery = delivery_source(source)?;
    let incidents = incidents
        .filter(|i| !i.is_none())
        .map(incident_source)
        .transpose()?;
    let data = block_on(py, async move {
        let incidents = incidents.as_deref();
        Ok(delivery.collect_with_incidents(incidents, range).await?)
    })?;
    Ok(PyDataset { inner: data })
}
