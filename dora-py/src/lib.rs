//! # dora-py: the `dora_metrics._native` Python extension
//!
//! A thin PyO3 layer over `dora-core` and the source adapters. The pure-Python
//! package `dora_metrics` (in `python/`) wraps it; users never import this
//! module directly. Errors are mapped to Python in one place ([`errors`]),
//! long work runs with the GIL released ([`runtime`]), and report rows leave
//! as Arrow tables ([`frames`]).

pub mod collect;
pub mod config;
pub mod dataset;
pub mod errors;
pub mod frames;
pub mod ingest;
pub mod inventory;
pub mod report;
pub mod runtime;
pub mod sources;
pub mod store;
pub mod time;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    m.add_class::<config::PyConfig>()?;
    m.add_class::<dataset::PyDataset>()?;
    m.add_class::<report::PyReport>()?;
    sources::register(m)?;
    m.add_class::<store::PyStore>()?;
    m.add_function(wrap_pyfunction!(report::compute, m)?)?;
    m.add_function(wrap_pyfunction!(collect::collect, m)?)?;
    m.add_function(wrap_pyfunction!(inventory::inventory, m)?)?;
    Ok(())
}
