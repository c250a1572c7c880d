//! `collect`: run the sources' async code on a private runtime, GIL released.

use crate::dataset::PyDataset;
use crate::errors::DoraResult;
use crate::runtime::block_on;
use crate::sources::{delivery_source, incident_source};
use dora_core::SourceExt;
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
    let range = crate::time::window(days, until)?;
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
