//! `inventory`: the read-only audit of a Bitbucket workspace (and an incident
//! tool), as `dora inventory --format json` prints it.

use crate::config::PyConfig;
use crate::errors::DoraResult;
use crate::runtime::block_on;
use crate::sources::{bitbucket_source, incident_source};
use pyo3::prelude::*;

/// Audit `source` (a `Bitbucket`) over `[until - days, until)`, and
/// `incidents` when given; returns the inventory's JSON text. At most 8 GET
/// requests per repository, never a write; the GIL is released meanwhile.
#[pyfunction]
#[pyo3(signature = (source, incidents = None, *, days = 90, until = None, config = None))]
pub fn inventory(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    incidents: Option<&Bound<'_, PyAny>>,
    days: i64,
    until: Option<&Bound<'_, PyAny>>,
    config: Option<&Bound<'_, PyConfig>>,
) -> DoraResult<String> {
    let window = crate::time::window(days, until)?;
    let config = config.map(|c| c.get().inner.clone()).unwrap_or_default();
    let bitbucket = bitbucket_source(source)?;
    let incidents = incidents
        .filter(|i| !i.is_none())
        .map(incident_source)
        .transpose()?;
    block_on(py, async move {
        let mut inventory = bitbucket.inventory(window, &config).await?;
        if let Some(tool) = incidents.as_deref() {
            let audit = dora_bitbucket::incident_inventory(tool, window, &config).await?;
            inventory = inventory.with_incidents(audit);
        }
        Ok(inventory.to_json_pretty())
    })
}
