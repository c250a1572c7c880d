//! `dora_metrics._native.Dataset`: the normalised events behind a report.

use crate::errors::{DoraErr, DoraResult, guard};
use crate::time::extract_timestamp;
use arrow_array::RecordBatch;
use dora_core::Dataset as CoreDataset;
use dora_core::Timestamp;
use pyo3::prelude::*;
use pyo3_arrow::PyTable;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, BTreeSet};

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
            serde_path_to_error::deserialize(row).map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                if path == "." {
                    DoraErr::Dataset(format!("{table}[{i}]: {inner}"))
                } else {
                    DoraErr::Dataset(format!("{table}[{i}]: {path}: {inner}"))
                }
            })
        })
        .collect()
}

/// Keep the last row of each key, in first-seen order.
fn dedup_by_key<T, K: Ord>(rows: &mut Vec<T>, key: impl Fn(&T) -> K) {
    let mut last = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        last.insert(key(row), i);
    }
    let keep: std::collections::BTreeSet<usize> = last.into_values().collect();
    let mut i = 0;
    rows.retain(|_| {
        i += 1;
        keep.contains(&(i - 1))
    });
}

/// Sort rows by key, ties by their JSON, so equal sets compare equal.
fn sort_rows<T: serde::Serialize, K: Ord>(rows: &mut [T], key: impl Fn(&T) -> K) {
    rows.sort_by(|a, b| {
        key(a).cmp(&key(b)).then_with(|| {
            let json = |r: &T| serde_json::to_string(r).unwrap_or_default();
            json(a).cmp(&json(b))
        })
    });
}

/// The dataset with every table in one order (row order carries no meaning).
fn canonical(data: &CoreDataset) -> CoreDataset {
    let mut d = data.clone();
    sort_rows(&mut d.repositories, |r| r.slug.clone());
    sort_rows(&mut d.commits, |c| (c.repository.clone(), c.sha.clone()));
    sort_rows(&mut d.pull_requests, |p| (p.repository.clone(), p.id));
    sort_rows(&mut d.environments, |e| {
        (e.repository.clone(), e.name.clone())
    });
    sort_rows(&mut d.deployments, |x| (x.repository.clone(), x.id.clone()));
    sort_rows(&mut d.incidents, |i| (i.source.clone(), i.id.clone()));
    sort_rows(&mut d.collection.skipped, |s| s.reason.clone());
    sort_rows(&mut d.collection.history_truncated, |h| {
        (h.repository.clone(), h.pull_request)
    });
    d.collection.incomplete_sync.sort();
    sort_rows(&mut d.collection.coverage, |c| {
        (c.source.clone(), c.scope.clone(), c.start)
    });
    sort_rows(&mut d.collection.clock_skew, |c| {
        (c.scope.clone(), c.item.clone())
    });
    d.collection.departed.sort();
    d.collection.rewritten.sort();
    d
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

    /// Build from Arrow tables (anything with `__arrow_c_stream__`), read
    /// column by column with the GIL released; also gives each table's
    /// columns that are not dataset fields. Raises `DatasetError` on a column
    /// it cannot read (the caller then takes the row-by-row path).
    #[staticmethod]
    fn from_arrow(
        py: Python<'_>,
        tables: BTreeMap<String, PyTable>,
    ) -> DoraResult<(Self, BTreeMap<String, Vec<String>>)> {
        let batches: BTreeMap<String, Vec<RecordBatch>> = tables
            .into_iter()
            .map(|(name, table)| (name, table.into_inner().0))
            .collect();
        let (inner, extra) = py.detach(move || guard(|| crate::ingest::dataset(&batches)))?;
        Ok((Self { inner }, extra))
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

    /// The events of some repositories and/or a time range `[since, until)`.
    ///
    /// `repositories`: repository rows, commits, pull requests, environments and
    /// deployments of those slugs, and incidents naming one of them or none
    /// (an incident without repositories concerns every repository).
    /// `since`/`until` keep each event by its own time: commits by
    /// `committed_at`, pull requests by `merged_at` (`created_at` when not
    /// merged), deployments by finish (else start) time, incidents by
    /// `opened_at`; a deployment without a time is kept.
    #[pyo3(signature = (repositories = None, since = None, until = None))]
    fn filter(
        &self,
        repositories: Option<Vec<String>>,
        since: Option<&Bound<'_, PyAny>>,
        until: Option<&Bound<'_, PyAny>>,
    ) -> DoraResult<Self> {
        let bound = |v: Option<&Bound<'_, PyAny>>, name: &str| {
            v.filter(|v| !v.is_none())
                .map(|v| extract_timestamp(v, name))
                .transpose()
        };
        let (since, until) = (bound(since, "since")?, bound(until, "until")?);
        if let (Some(s), Some(u)) = (since, until)
            && s >= u
        {
            return Err(DoraErr::Config(format!(
                "since ({s}) must be before until ({u})"
            )));
        }
        let repos: Option<BTreeSet<String>> = repositories.map(|r| r.into_iter().collect());
        let in_repo = |slug: &str| repos.as_ref().is_none_or(|r| r.contains(slug));
        let in_time = |t: Timestamp| since.is_none_or(|s| t >= s) && until.is_none_or(|u| t < u);
        let mut d = self.inner.clone();
        d.repositories.retain(|r| in_repo(&r.slug));
        d.commits
            .retain(|c| in_repo(&c.repository) && in_time(c.committed_at));
        d.pull_requests
            .retain(|p| in_repo(&p.repository) && in_time(p.merged_at.unwrap_or(p.created_at)));
        d.environments.retain(|e| in_repo(&e.repository));
        d.deployments
            .retain(|x| in_repo(&x.repository) && x.time().is_none_or(in_time));
        d.incidents.retain(|i| {
            (i.repositories.is_empty() || i.repositories.iter().any(|r| in_repo(r)))
                && in_time(i.opened_at)
        });
        Ok(Self { inner: d })
    }

    /// Repository slugs in scope (declared ones plus any slug an event names).
    fn repository_slugs(&self) -> Vec<String> {
        self.inner.repository_slugs()
    }

    /// A new dataset holding this one's events and `other`'s, each event once:
    /// an event of both (same key) is kept once, `other`'s copy winning.
    fn merged(&self, other: &PyDataset) -> Self {
        let mut data = self.inner.clone();
        data.extend(other.inner.clone());
        data.dedup();
        dedup_by_key(&mut data.environments, |e| {
            (e.repository.clone(), e.name.clone())
        });
        Self { inner: data }
    }

    /// Equal when both hold the same events, whatever their order.
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyDataset>()
            .map(|o| canonical(&o.get().inner) == canonical(&self.inner))
            .unwrap_or(false)
    }

    /// Pickle support: rebuilt from its JSON.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        Ok((
            slf.get_type().getattr("from_json")?,
            (slf.get().inner.to_json(),),
        ))
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
