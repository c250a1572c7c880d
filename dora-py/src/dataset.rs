//! `dora_metrics._native.Dataset`: the normalised events behind a report.

use crate::errors::{DoraErr, DoraResult};
use dora_core::Dataset as CoreDataset;
use pyo3::prelude::*;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// The tables of a dataset, in schema order.
pub const TABLES: [&str; 6] = [
    "repositories",
    "commits",
    "pull_requests",
    "environments",
    "deployments",
    "incidents",
];

/// Everything the metrics need for one scope: repositories, commits, pull
/// requests, environments, deployments and incidents.
#[pyclass(module = "dora_metrics._native", name = "Dataset", frozen)]
#[derive(Debug, Clone)]
pub struct PyDataset {
    pub(crate) inner: CoreDataset,
}

/// Parse one table (a JSON array), naming the row and field at fault.
fn parse_rows<T: DeserializeOwned>(table: &str, json: &str) -> DoraResult<Vec<T>> {
    let rows: Vec<serde_json::Value> = serde_json::from_str(json)
        .map_err(|e| DoraErr::Dataset(format!("{table}: not a JSON array of records: {e}")))?;
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| {
            serde_json::from_value(row).map_err(|e| DoraErr::Dataset(format!("{table}[{i}]: {e}")))
        })
        .collect()
}

#[pymethods]
impl PyDataset {
    /// An empty dataset.
    #[new]
    fn new() -> Self {
        Self {
            inner: CoreDataset::new(),
        }
    }

    /// Parse the dataset JSON written by `to_json` (or by the `dora` command).
    #[staticmethod]
    fn from_json(text: &str) -> DoraResult<Self> {
        Ok(Self {
            inner: CoreDataset::from_json(text)?,
        })
    }

    /// Build from tables, each a JSON array of records in the dataset schema;
    /// errors name the table, row and field.
    #[staticmethod]
    fn from_tables(tables: BTreeMap<String, String>) -> DoraResult<Self> {
        let mut data = CoreDataset::new();
        for (name, json) in &tables {
            match name.as_str() {
                "repositories" => data.repositories = parse_rows(name, json)?,
                "commits" => data.commits = parse_rows(name, json)?,
                "pull_requests" => data.pull_requests = parse_rows(name, json)?,
                "environments" => data.environments = parse_rows(name, json)?,
                "deployments" => data.deployments = parse_rows(name, json)?,
                "incidents" => data.incidents = parse_rows(name, json)?,
                other => {
                    return Err(DoraErr::Dataset(format!(
                        "unknown table {other:?}: expected one of {}",
                        TABLES.join(", ")
                    )));
                }
            }
        }
        Ok(Self { inner: data })
    }

    /// The dataset as JSON (the schema `from_json` reads).
    #[pyo3(signature = (pretty = false))]
    fn to_json(&self, pretty: bool) -> String {
        if pretty {
            serde_json::to_string_pretty(&self.inner).unwrap_or_default()
        } else {
            self.inner.to_json()
        }
    }

    /// One table as a JSON array of records.
    fn table_json(&self, name: &str) -> DoraResult<String> {
        let d = &self.inner;
        let json = match name {
            "repositories" => serde_json::to_string(&d.repositories),
            "commits" => serde_json::to_string(&d.commits),
            "pull_requests" => serde_json::to_string(&d.pull_requests),
            "environments" => serde_json::to_string(&d.environments),
            "deployments" => serde_json::to_string(&d.deployments),
            "incidents" => serde_json::to_string(&d.incidents),
            other => {
                return Err(DoraErr::Config(format!(
                    "unknown table {other:?}: expected one of {}",
                    TABLES.join(", ")
                )));
            }
        };
        json.map_err(|e| DoraErr::Internal(e.to_string()))
    }

    /// Number of rows per table.
    fn counts(&self) -> BTreeMap<&'static str, usize> {
        let d = &self.inner;
        BTreeMap::from([
            ("repositories", d.repositories.len()),
            ("commits", d.commits.len()),
            ("pull_requests", d.pull_requests.len()),
            ("environments", d.environments.len()),
            ("deployments", d.deployments.len()),
            ("incidents", d.incidents.len()),
        ])
    }

    /// Repository slugs in scope (declared ones plus any slug an event names).
    fn repository_slugs(&self) -> Vec<String> {
        self.inner.repository_slugs()
    }

    /// A new dataset holding this one's events and `other`'s.
    fn merged(&self, other: &PyDataset) -> Self {
        let mut data = self.inner.clone();
        data.extend(other.inner.clone());
        Self { inner: data }
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyDataset>()
            .map(|o| o.get().inner == self.inner)
            .unwrap_or(false)
    }

    fn __repr__(&self) -> String {
        let parts: Vec<String> = self
            .counts()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!("Dataset({})", parts.join(", "))
    }
}
