//! `inventory`: the read-only audit of a Bitbucket workspace (and an incident
//! tool), as `dora inventory --format json` prints it.

use crate::config::PyConfig;
use crate::errors::{DoraErr, DoraResult};
use crate::runtime::block_on;
use crate::sources::{bitbucket_source, incident_source};
use chrono::{Duration, Utc};
use dora_core::TimeRange;
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
    if !(1..=3660).contains(&days) {
        return Err(DoraErr::Config(format!(
            "days must be between 1 and 3660, got {days}"
        )));
    }
    let end = match until.filter(|u| !u.is_none()) {
        Some(u) => crate::time::extract_timestamp(u, "until")?,
        None => Utc::now(),
    };
    let window = TimeRange::new(end - Duration::days(days), end);
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
