//! `dora_metrics._native.Store`: the event store (`dora-store`): a SQLite file
//! or in-memory database, or a PostgreSQL database named by a URL.
//!
//! The Python wrapper `dora_metrics.Store` adds `Dataset`/`Report` wrapping and
//! path handling. Every method does its SQLite work with the GIL released, and
//! takes the store's lock only while released: a thread waiting for a long
//! `sync` never holds the GIL the sync needs to check for Ctrl-C.

use crate::dataset::PyDataset;
use crate::errors::{DoraErr, DoraResult, guard};
use crate::report::PyReport;
use crate::runtime::block_on_detached;
use crate::sources::{incident_source, incremental_source};
use chrono::Duration;
use dora_store::Store;
use pyo3::prelude::*;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

/// The name of an in-memory store.
const MEMORY: &str = ":memory:";

/// An event store: a SQLite file (or an in-memory database) of normalised
/// events, sync cursors and stored reports.
#[pyclass(module = "dora_metrics._native", name = "Store", frozen)]
pub struct PyStore {
    /// `None` once closed.
    store: Mutex<Option<Store>>,
    path: String,
}

impl PyStore {
    /// Lock the store (the caller has released the GIL).
    fn lock(&self) -> MutexGuard<'_, Option<Store>> {
        // A panic while locked is caught by `guard`/`block_on` and leaves the
        // store consistent (every write is one transaction): ignore poisoning.
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Run `f` on the open store with the GIL released, panics caught.
    fn with_store<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Store) -> DoraResult<T> + Send,
    ) -> DoraResult<T> {
        py.detach(|| {
            let mut slot = self.lock();
            match slot.as_mut() {
                Some(store) => guard(|| f(store)),
                None => Err(self.closed_error()),
            }
        })
    }

    fn closed_error(&self) -> DoraErr {
        DoraErr::Store(format!("store {}: closed", self.path))
    }
}

#[pymethods]
impl PyStore {
    /// Open (or create) the store at `path`, migrating its schema: a
    /// `postgres://` or `postgresql://` URL opens PostgreSQL (password from the
    /// URL or `PGPASSWORD`), anything else a SQLite file; `None` or
    /// `":memory:"` an in-memory store.
    #[new]
    #[pyo3(signature = (path = None))]
    fn new(py: Python<'_>, path: Option<String>) -> DoraResult<Self> {
        let path = path.filter(|p| p != MEMORY);
        let store = py.detach(|| {
            guard(|| {
                Ok(match &path {
                    Some(p) => Store::open_location(p)?,
                    None => Store::open_in_memory()?,
                })
            })
        })?;
        // A URL's password never reaches `path` or `repr()`.
        let name = store.name().to_string();
        Ok(Self {
            store: Mutex::new(Some(store)),
            path: name,
        })
    }

    /// The database file, `":memory:"`, or the URL with its password redacted.
    #[getter]
    fn path(&self) -> &str {
        &self.path
    }

    /// `"sqlite"` or `"postgres"`.
    #[getter]
    fn backend(&self, py: Python<'_>) -> DoraResult<&'static str> {
        self.with_store(py, |store| {
            Ok(match store.backend() {
                dora_store::Backend::Postgres => "postgres",
                _ => "sqlite",
            })
        })
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        py.detach(|| self.lock().is_none())
    }

    /// Sync `[until - days, until)` from `source` (a `Bitbucket`) and, if
    /// given, `incidents` into the store, resuming from the stored cursors.
    /// Returns `{"scopes", "requests", "events", "incidents"}`. Incidents
    /// opened within `incident_horizon_days` of `until` are read again on each
    /// sync, so edits to them reach the store. The GIL is released while the
    /// sources work.
    #[pyo3(signature = (source, incidents = None, *, days = 90, until = None, incident_horizon_days = 30))]
    fn sync(
        &self,
        py: Python<'_>,
        source: &Bound<'_, PyAny>,
        incidents: Option<&Bound<'_, PyAny>>,
        days: i64,
        until: Option<&Bound<'_, PyAny>>,
        incident_horizon_days: i64,
    ) -> DoraResult<BTreeMap<&'static str, u64>> {
        let max = i64::from(dora_core::Config::MAX_DAYS);
        if !(0..=max).contains(&incident_horizon_days) {
            return Err(DoraErr::Config(format!(
                "incident_horizon_days must be between 0 and {max}, got {incident_horizon_days}"
            )));
        }
        let range = crate::time::window(days, until)?;
        let delivery = incremental_source(source)?;
        let incidents = incidents
            .filter(|i| !i.is_none())
            .map(incident_source)
            .transpose()?;
        let (summary, incident_count) = py.detach(|| {
            let mut slot = self.lock();
            let store = slot.as_mut().ok_or_else(|| self.closed_error())?;
            // The runtime re-attaches only briefly, to check for Ctrl-C.
            block_on_detached(async move {
                // The command's sync order and overlap (the library's defaults).
                let options = dora_store::SyncAllOptions {
                    incidents: dora_store::IncidentSyncOptions::default()
                        .with_horizon(Duration::days(incident_horizon_days)),
                    ..dora_store::SyncAllOptions::default()
                };
                let all = dora_store::sync_all(
                    store,
                    delivery.as_ref(),
                    incidents.as_deref(),
                    range,
                    &options,
                )
                .await?;
                let incident_count = all.incidents.map_or(0, |i| i.events);
                let summary = all.delivery;
                Ok((summary, incident_count))
            })
        })?;
        Ok(BTreeMap::from([
            ("scopes", summary.scopes as u64),
            ("requests", summary.requests),
            ("events", summary.events as u64),
            ("incidents", incident_count as u64),
        ]))
    }

    /// Every stored event, as a dataset.
    fn load(&self, py: Python<'_>) -> DoraResult<PyDataset> {
        let inner = self.with_store(py, |store| Ok(store.load()?))?;
        Ok(PyDataset { inner })
    }

    /// Insert or update the events of `dataset` (matched by their keys), in
    /// one transaction.
    fn save(&self, py: Python<'_>, dataset: &Bound<'_, PyDataset>) -> DoraResult<()> {
        let data = &dataset.get().inner;
        self.with_store(py, |store| Ok(store.save(data)?))
    }

    /// Number of rows per event table.
    fn counts(&self, py: Python<'_>) -> DoraResult<BTreeMap<&'static str, usize>> {
        let c = self.with_store(py, |store| Ok(store.counts()?))?;
        Ok(BTreeMap::from([
            ("repositories", c.repositories),
            ("commits", c.commits),
            ("pull_requests", c.pull_requests),
            ("environments", c.environments),
            ("deployments", c.deployments),
            ("incidents", c.incidents),
        ]))
    }

    /// Store `report` and the rows behind it (the `v_changes`,
    /// `v_deployments` and `v_incidents` views show the latest); returns the
    /// run id.
    fn save_report(&self, py: Python<'_>, report: &Bound<'_, PyReport>) -> DoraResult<i64> {
        let report = &report.get().inner;
        self.with_store(py, |store| Ok(store.save_report(report)?))
    }

    /// Close the database; later calls raise `StoreError`. Idempotent.
    fn close(&self, py: Python<'_>) {
        let store = py.detach(|| self.lock().take());
        drop(store);
    }

    fn __repr__(&self) -> String {
        format!("Store({:?})", self.path)
    }
}
