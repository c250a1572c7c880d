//! Sources usable from Python, turned into the core's source traits.

use crate::dataset::PyDataset;
use crate::errors::{DoraErr, DoraResult};
use dora_core::{DeliverySource, IncidentSource, MemorySource};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use std::sync::Arc;

/// The delivery source behind a Python object: a `Dataset` (served from memory).
pub fn delivery_source(obj: &Bound<'_, PyAny>) -> DoraResult<Arc<dyn DeliverySource>> {
    if let Ok(d) = obj.cast::<PyDataset>() {
        return Ok(Arc::new(MemorySource::new(d.get().inner.clone())));
    }
    Err(DoraErr::Python(PyTypeError::new_err(format!(
        "source must be a dora_metrics.Bitbucket or a Dataset, got {}",
        obj.get_type().name()?
    ))))
}

/// The incident source behind a Python object: a `Dataset` (its incidents).
pub fn incident_source(obj: &Bound<'_, PyAny>) -> DoraResult<Arc<dyn IncidentSource>> {
    if let Ok(d) = obj.cast::<PyDataset>() {
        return Ok(Arc::new(MemorySource::new(d.get().inner.clone())));
    }
    Err(DoraErr::Python(PyTypeError::new_err(format!(
        "incidents must be a dora_metrics.PagerDuty, Opsgenie, IncidentIo or a Dataset, got {}",
        obj.get_type().name()?
    ))))
}
