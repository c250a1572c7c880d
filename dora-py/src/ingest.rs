//! Dataset tables from Arrow (anything with `__arrow_c_stream__`: pandas,
//! polars and pyarrow frames), read column by column in Rust.
//!
//! It applies the conveniences of the row-by-row path (`_records.py`): flat
//! `author_*` columns, comma-separated lists, naive times read as UTC, numeric
//! ids, lowercase enums, `P1`..`P5` or 1..5 severities, defaults for `state`,
//! `status`, `committed_at` and `environment_kind`. Any column it cannot read
//! is an error; the Python side then falls back to the row-by-row path, whose
//! errors name the table, row and field.

use crate::errors::{DoraErr, DoraResult};
use crate::time::parse_timestamp;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType, UInt64Type};
use arrow_array::{Array, ArrayRef, GenericListArray, OffsetSizeTrait, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use chrono::DateTime;
use dora_core::{
    Actor, Commit, Dataset, Deployment, Environment, EnvironmentKind, Incident, PullRequest,
    Repository, Severity, Timestamp,
};
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A value as given (its text) and, for a whole number, the number (severities).
type Given = (String, Option<i64>);

/// The columns of one record batch of a table, read by name.
struct Columns<'a> {
    table: &'static str,
    batch: &'a RecordBatch,
    /// Row number of the batch's first row in the whole table.
    offset: usize,
}

impl Columns<'_> {
    fn column(&self, name: &str) -> Option<&ArrayRef> {
        self.batch.column_by_name(name)
    }

    fn error(&self, name: &str, what: impl std::fmt::Display) -> DoraErr {
        DoraErr::Dataset(format!("{}.{name}: {what}", self.table))
    }

    fn cast(&self, name: &str, array: &ArrayRef, to: &DataType) -> DoraResult<ArrayRef> {
        arrow_cast::cast(array, to).map_err(|e| self.error(name, e))
    }

    /// Text values (numbers as their integer text when integral: ids).
    fn strings(&self, name: &str) -> DoraResult<Option<Vec<Option<String>>>> {
        let Some(array) = self.column(name) else {
            return Ok(None);
        };
        if matches!(
            array.data_type(),
            DataType::Float16 | DataType::Float32 | DataType::Float64
        ) {
            let floats = self.cast(name, array, &DataType::Float64)?;
            let floats = floats.as_primitive::<Float64Type>();
            return Ok(Some(
                floats
                    .iter()
                    .map(|v| {
                        v.filter(|v| !v.is_nan()).map(|v| {
                            if v.fract() == 0.0 && v.abs() < 9.0e15 {
                                format!("{v:.0}")
                            } else {
                                v.to_string()
                            }
                        })
                    })
                    .collect(),
            ));
        }
        if !is_text_or_int(array.data_type()) {
            return Err(self.error(name, format!("unsupported type {}", array.data_type())));
        }
        let text = self.cast(name, array, &DataType::Utf8)?;
        Ok(Some(
            text.as_string::<i32>()
                .iter()
                .map(|v| v.map(str::to_string))
                .collect(),
        ))
    }

    /// Times: Arrow timestamps (naive ones are UTC), dates, or text.
    fn times(&self, name: &str) -> DoraResult<Option<Vec<Option<Timestamp>>>> {
        let Some(array) = self.column(name) else {
            return Ok(None);
        };
        let micros = match array.data_type() {
            DataType::Timestamp(_, tz) => self.cast(
                name,
                array,
                &DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
            )?,
            DataType::Date32 | DataType::Date64 => self.cast(
                name,
                array,
                &DataType::Timestamp(TimeUnit::Microsecond, None),
            )?,
            DataType::Null => return Ok(Some(vec![None; array.len()])),
            _ => {
                let Some(text) = self.strings(name)? else {
                    return Ok(None);
                };
                return text
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| {
                        v.map(|v| {
                            parse_timestamp(&v).ok_or_else(|| {
                                DoraErr::Dataset(format!(
                                    "{}[{}]: {name}: cannot read {v:?} as a time",
                                    self.table,
                                    self.offset + i
                                ))
                            })
                        })
                        .transpose()
                    })
                    .collect::<DoraResult<Vec<_>>>()
                    .map(Some);
            }
        };
        let micros = micros.as_primitive::<TimestampMicrosecondType>();
        micros
            .iter()
            .map(|v| {
                v.map(|us| {
                    DateTime::from_timestamp_micros(us)
                        .ok_or_else(|| self.error(name, format!("{us} µs is out of range")))
                })
                .transpose()
            })
            .collect::<DoraResult<Vec<_>>>()
            .map(Some)
    }

    /// Whole numbers (integral floats too: pandas' integers with missing values).
    fn integers(&self, name: &str) -> DoraResult<Option<Vec<Option<u64>>>> {
        let Some(array) = self.column(name) else {
            return Ok(None);
        };
        match array.data_type() {
            DataType::Float16 | DataType::Float32 | DataType::Float64 => {
                let floats = self.cast(name, array, &DataType::Float64)?;
                floats
                    .as_primitive::<Float64Type>()
                    .iter()
                    .map(|v| match v.filter(|v| !v.is_nan()) {
                        None => Ok(None),
                        Some(v) if v.fract() == 0.0 && (0.0..9.0e15).contains(&v) => {
                            Ok(Some(v as u64))
                        }
                        Some(v) => Err(self.error(name, format!("{v} is not a whole number"))),
                    })
                    .collect::<DoraResult<Vec<_>>>()
                    .map(Some)
            }
            DataType::Null => Ok(Some(vec![None; array.len()])),
            t if t.is_integer() => {
                let ints = self.cast(name, array, &DataType::UInt64)?;
                Ok(Some(ints.as_primitive::<UInt64Type>().iter().collect()))
            }
            other => Err(self.error(name, format!("unsupported type {other}"))),
        }
    }

    /// Small whole numbers or text, as text (severities).
    fn int_or_text(&self, name: &str) -> DoraResult<Option<Vec<Option<Given>>>> {
        let Some(array) = self.column(name) else {
            return Ok(None);
        };
        if array.data_type().is_integer() || array.data_type().is_floating() {
            if array.data_type().is_floating() {
                // pandas' integers with missing values: whole floats are numbers.
                return Ok(self.integers(name)?.map(|v| {
                    v.into_iter()
                        .map(|v| v.map(|n| (n.to_string(), i64::try_from(n).ok())))
                        .collect()
                }));
            }
            let ints = self.cast(name, array, &DataType::Int64)?;
            return Ok(Some(
                ints.as_primitive::<Int64Type>()
                    .iter()
                    .map(|v| v.map(|v| (v.to_string(), Some(v))))
                    .collect(),
            ));
        }
        Ok(self
            .strings(name)?
            .map(|v| v.into_iter().map(|v| v.map(|s| (s, None))).collect()))
    }

    /// Lists of text: Arrow lists, or comma/space-separated text.
    fn lists(&self, name: &str) -> DoraResult<Option<Vec<Vec<String>>>> {
        let Some(array) = self.column(name) else {
            return Ok(None);
        };
        let list_of = |values: &ArrayRef, offsets: Vec<(usize, usize)>| -> DoraResult<_> {
            let text = self.cast(name, values, &DataType::Utf8)?;
            let text = text.as_string::<i32>();
            Ok(offsets
                .into_iter()
                .map(|(start, end)| {
                    (start..end)
                        .filter(|&j| text.is_valid(j))
                        .map(|j| text.value(j).to_string())
                        .collect()
                })
                .collect())
        };
        match array.data_type() {
            DataType::List(_) => {
                let l = array.as_list::<i32>();
                list_of(l.values(), spans(l)).map(Some)
            }
            DataType::LargeList(_) => {
                let l = array.as_list::<i64>();
                list_of(l.values(), spans(l)).map(Some)
            }
            DataType::Null => Ok(Some(vec![Vec::new(); array.len()])),
            _ => Ok(self.strings(name)?.map(|values| {
                values
                    .into_iter()
                    .map(|v| {
                        v.map(|s| {
                            s.replace(',', " ")
                                .split_whitespace()
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default()
                    })
                    .collect()
            })),
        }
    }
}

/// Each list's `[start, end)` in the values (empty for a null list).
fn spans<O: OffsetSizeTrait>(lists: &GenericListArray<O>) -> Vec<(usize, usize)> {
    let o = lists.value_offsets();
    (0..lists.len())
        .map(|i| {
            let (start, end) = (o[i].as_usize(), o[i + 1].as_usize());
            if lists.is_valid(i) {
                (start, end)
            } else {
                (start, start)
            }
        })
        .collect()
}

fn is_text_or_int(t: &DataType) -> bool {
    t.is_integer()
        || matches!(
            t,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
        )
        || matches!(t, DataType::Dictionary(_, v) if is_text_or_int(v))
}

/// A unit enum from its (lowercased) serde name.
fn variant<T: DeserializeOwned>(table: &str, row: usize, field: &str, text: &str) -> DoraResult<T> {
    serde_json::from_value(serde_json::Value::String(text.trim().to_lowercase()))
        .map_err(|e| DoraErr::Dataset(format!("{table}[{row}]: {field}: {e}")))
}

/// Reads a table's rows: value `i` of a column, or an error naming the field.
struct Rows {
    table: &'static str,
    offset: usize,
}

impl Rows {
    /// Value `i` of `column`, taken out of it (each is read once).
    fn required<T>(
        &self,
        column: &mut Option<Vec<Option<T>>>,
        i: usize,
        name: &str,
    ) -> DoraResult<T> {
        optional(column, i).ok_or_else(|| {
            DoraErr::Dataset(format!(
                "{}[{}]: missing field `{name}`",
                self.table,
                self.offset + i
            ))
        })
    }
}

/// Value `i` of `column`, taken out of it (each is read once).
fn optional<T>(column: &mut Option<Vec<Option<T>>>, i: usize) -> Option<T> {
    column
        .as_mut()
        .and_then(|c| c.get_mut(i))
        .and_then(Option::take)
}

fn list_at(column: &mut Option<Vec<Vec<String>>>, i: usize) -> Vec<String> {
    column
        .as_mut()
        .and_then(|c| c.get_mut(i))
        .map(std::mem::take)
        .unwrap_or_default()
}

/// The author of row `i` from `author` (a name) and flat `author_*` columns.
struct Authors {
    author: Option<Vec<Option<String>>>,
    id: Option<Vec<Option<String>>>,
    name: Option<Vec<Option<String>>>,
    kind: Option<Vec<Option<String>>>,
}

impl Authors {
    fn read(c: &Columns<'_>) -> DoraResult<Self> {
        Ok(Self {
            author: c.strings("author")?,
            id: c.strings("author_id")?,
            name: c.strings("author_name")?,
            kind: c.strings("author_kind")?,
        })
    }

    fn at(&mut self, table: &str, row: usize, i: usize) -> DoraResult<Option<Actor>> {
        let base = optional(&mut self.author, i);
        let id = optional(&mut self.id, i).or_else(|| base.clone());
        let name = optional(&mut self.name, i).or(base);
        let (id, name) = match (id, name) {
            (None, None) => return Ok(None),
            (id, name) => (
                id.clone().or_else(|| name.clone()).unwrap_or_default(),
                name.or(id).unwrap_or_default(),
            ),
        };
        let mut actor = Actor::user(id, name);
        if let Some(kind) = optional(&mut self.kind, i) {
            actor.kind = variant(table, row, "author.kind", &kind)?;
        }
        Ok(Some(actor))
    }
}

/// The fields each table reads (a column by another name is a dimension).
const USED: [(&str, &[&str]); 6] = [
    (
        "repositories",
        &[
            "slug",
            "main_branch",
            "url",
            "development_branch",
            "hotfix_prefix",
            "release_prefix",
        ],
    ),
    (
        "commits",
        &[
            "repository",
            "sha",
            "parents",
            "authored_at",
            "committed_at",
            "author",
            "author_id",
            "author_name",
            "author_kind",
            "message",
        ],
    ),
    (
        "pull_requests",
        &[
            "repository",
            "id",
            "title",
            "author",
            "author_id",
            "author_name",
            "author_kind",
            "source_branch",
            "destination_branch",
            "state",
            "created_at",
            "first_review_at",
            "merged_at",
            "merge_commit",
            "commits",
            "url",
        ],
    ),
    ("environments", &["repository", "name", "kind"]),
    (
        "deployments",
        &[
            "repository",
            "id",
            "environment",
            "environment_kind",
            "commit",
            "started_at",
            "finished_at",
            "status",
            "release",
            "url",
        ],
    ),
    (
        "incidents",
        &[
            "id",
            "source",
            "title",
            "service",
            "severity",
            "raw_severity",
            "opened_at",
            "resolved_at",
            "status",
            "repositories",
            "url",
        ],
    ),
];

fn batches_of<'a>(
    tables: &'a BTreeMap<String, Vec<RecordBatch>>,
    table: &'static str,
) -> impl Iterator<Item = Columns<'a>> {
    let mut offset = 0;
    tables.get(table).into_iter().flatten().map(move |batch| {
        let c = Columns {
            table,
            batch,
            offset,
        };
        offset += batch.num_rows();
        c
    })
}

/// A dataset from Arrow record batches per table, and each table's columns
/// that are not dataset fields (its dimensions).
pub fn dataset(
    tables: &BTreeMap<String, Vec<RecordBatch>>,
) -> DoraResult<(Dataset, BTreeMap<String, Vec<String>>)> {
    let mut extra = BTreeMap::new();
    for (name, batches) in tables {
        let used = USED
            .iter()
            .find(|(t, _)| t == name)
            .map(|(_, fields)| *fields)
            .ok_or_else(|| DoraErr::Dataset(format!("unknown table {name:?}")))?;
        let unused: BTreeSet<String> = batches
            .iter()
            .flat_map(|b| {
                b.schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect::<Vec<_>>()
            })
            .filter(|n| !used.contains(&n.as_str()))
            .collect();
        if !unused.is_empty() {
            extra.insert(name.clone(), unused.into_iter().collect());
        }
    }
    let mut d = Dataset::new();
    for c in batches_of(tables, "repositories") {
        let rows = rows(&c);
        let (mut slug, mut main, mut url) = (
            c.strings("slug")?,
            c.strings("main_branch")?,
            c.strings("url")?,
        );
        let (mut development, mut hotfix, mut release) = (
            c.strings("development_branch")?,
            c.strings("hotfix_prefix")?,
            c.strings("release_prefix")?,
        );
        for i in 0..c.batch.num_rows() {
            d.repositories.push(Repository {
                slug: rows.required(&mut slug, i, "slug")?,
                main_branch: optional(&mut main, i),
                url: optional(&mut url, i),
                development_branch: optional(&mut development, i),
                hotfix_prefix: optional(&mut hotfix, i),
                release_prefix: optional(&mut release, i),
            });
        }
    }
    for c in batches_of(tables, "commits") {
        let rows = rows(&c);
        let (mut repo, mut sha, mut msg) = (
            c.strings("repository")?,
            c.strings("sha")?,
            c.strings("message")?,
        );
        let (mut authored, mut committed) = (c.times("authored_at")?, c.times("committed_at")?);
        let mut parents = c.lists("parents")?;
        let mut authors = Authors::read(&c)?;
        for i in 0..c.batch.num_rows() {
            let authored_at = rows.required(&mut authored, i, "authored_at")?;
            d.commits.push(Commit {
                repository: rows.required(&mut repo, i, "repository")?,
                sha: rows.required(&mut sha, i, "sha")?,
                parents: list_at(&mut parents, i),
                authored_at,
                committed_at: optional(&mut committed, i).unwrap_or(authored_at),
                author: authors.at(c.table, c.offset + i, i)?,
                message: optional(&mut msg, i).unwrap_or_default(),
            });
        }
    }
    for c in batches_of(tables, "pull_requests") {
        let rows = rows(&c);
        let text = |n| c.strings(n);
        let (mut repo, mut title, mut source, mut dest) = (
            text("repository")?,
            text("title")?,
            text("source_branch")?,
            text("destination_branch")?,
        );
        let (mut state, mut merge_commit, mut url) =
            (text("state")?, text("merge_commit")?, text("url")?);
        let mut id = c.integers("id")?;
        let (mut created, mut reviewed, mut merged) = (
            c.times("created_at")?,
            c.times("first_review_at")?,
            c.times("merged_at")?,
        );
        let mut commits = c.lists("commits")?;
        let mut authors = Authors::read(&c)?;
        for i in 0..c.batch.num_rows() {
            let row = c.offset + i;
            let merged_at = optional(&mut merged, i);
            let state = match optional(&mut state, i) {
                Some(s) => variant(c.table, row, "state", &s)?,
                None if merged_at.is_some() => dora_core::PullRequestState::Merged,
                None => dora_core::PullRequestState::Open,
            };
            d.pull_requests.push(PullRequest {
                repository: rows.required(&mut repo, i, "repository")?,
                id: rows.required(&mut id, i, "id")?,
                title: optional(&mut title, i).unwrap_or_default(),
                author: authors.at(c.table, row, i)?.ok_or_else(|| {
                    DoraErr::Dataset(format!("{}[{row}]: missing field `author`", c.table))
                })?,
                source_branch: rows.required(&mut source, i, "source_branch")?,
                destination_branch: rows.required(&mut dest, i, "destination_branch")?,
                state,
                created_at: rows.required(&mut created, i, "created_at")?,
                first_review_at: optional(&mut reviewed, i),
                merged_at,
                merge_commit: optional(&mut merge_commit, i),
                commits: list_at(&mut commits, i),
                url: optional(&mut url, i),
            });
        }
    }
    for c in batches_of(tables, "environments") {
        let rows = rows(&c);
        let (mut repo, mut name, mut kind) = (
            c.strings("repository")?,
            c.strings("name")?,
            c.strings("kind")?,
        );
        for i in 0..c.batch.num_rows() {
            d.environments.push(Environment {
                repository: rows.required(&mut repo, i, "repository")?,
                name: rows.required(&mut name, i, "name")?,
                kind: variant(
                    c.table,
                    c.offset + i,
                    "kind",
                    &rows.required(&mut kind, i, "kind")?,
                )?,
            });
        }
    }
    let kinds: HashMap<(&str, &str), EnvironmentKind> = d
        .environments
        .iter()
        .map(|e| ((e.repository.as_str(), e.name.as_str()), e.kind))
        .collect();
    let mut deployments = Vec::new();
    for c in batches_of(tables, "deployments") {
        let rows = rows(&c);
        let text = |n| c.strings(n);
        let (mut repo, mut id, mut env, mut kind) = (
            text("repository")?,
            text("id")?,
            text("environment")?,
            text("environment_kind")?,
        );
        let (mut commit, mut status, mut release, mut url) = (
            text("commit")?,
            text("status")?,
            text("release")?,
            text("url")?,
        );
        let (mut started, mut finished) = (c.times("started_at")?, c.times("finished_at")?);
        for i in 0..c.batch.num_rows() {
            let row = c.offset + i;
            let repository = rows.required(&mut repo, i, "repository")?;
            let environment = rows.required(&mut env, i, "environment")?;
            let environment_kind = match optional(&mut kind, i) {
                Some(k) => variant(c.table, row, "environment_kind", &k)?,
                None => *kinds
                    .get(&(repository.as_str(), environment.as_str()))
                    .ok_or_else(|| {
                        DoraErr::Dataset(format!(
                            "{}[{row}]: missing field `environment_kind`",
                            c.table
                        ))
                    })?,
            };
            deployments.push(Deployment {
                repository,
                id: rows.required(&mut id, i, "id")?,
                environment,
                environment_kind,
                commit: rows.required(&mut commit, i, "commit")?,
                started_at: optional(&mut started, i),
                finished_at: optional(&mut finished, i),
                status: variant(
                    c.table,
                    row,
                    "status",
                    &rows.required(&mut status, i, "status")?,
                )?,
                release: optional(&mut release, i),
                url: optional(&mut url, i),
            });
        }
    }
    d.deployments = deployments;
    for c in batches_of(tables, "incidents") {
        let rows = rows(&c);
        let text = |n| c.strings(n);
        let (mut id, mut source, mut title, mut service) = (
            text("id")?,
            text("source")?,
            text("title")?,
            text("service")?,
        );
        let (mut raw, mut status, mut url) = (text("raw_severity")?, text("status")?, text("url")?);
        let mut severity = c.int_or_text("severity")?;
        let (mut opened, mut resolved) = (c.times("opened_at")?, c.times("resolved_at")?);
        let mut repositories = c.lists("repositories")?;
        for i in 0..c.batch.num_rows() {
            let row = c.offset + i;
            let resolved_at = optional(&mut resolved, i);
            let given = optional(&mut severity, i);
            let parsed = match &given {
                None => None,
                Some((_, Some(n))) if (1..=5).contains(n) => Severity::parse(&format!("P{n}")),
                Some((text, _)) => Some(Severity::parse(text).ok_or_else(|| {
                    DoraErr::Dataset(format!(
                        "{}[{row}]: severity: {text:?} is not P1..P5",
                        c.table
                    ))
                })?),
            };
            let status = match optional(&mut status, i) {
                Some(s) => variant(c.table, row, "status", &s)?,
                None if resolved_at.is_some() => dora_core::IncidentStatus::Resolved,
                None => dora_core::IncidentStatus::Open,
            };
            d.incidents.push(Incident {
                id: rows.required(&mut id, i, "id")?,
                source: rows.required(&mut source, i, "source")?.to_lowercase(),
                title: optional(&mut title, i).unwrap_or_default(),
                service: optional(&mut service, i),
                severity: parsed,
                raw_severity: optional(&mut raw, i).or_else(|| given.map(|(text, _)| text)),
                opened_at: rows.required(&mut opened, i, "opened_at")?,
                resolved_at,
                status,
                repositories: list_at(&mut repositories, i),
                url: optional(&mut url, i),
            });
        }
    }
    Ok((d, extra))
}

fn rows(c: &Columns<'_>) -> Rows {
    Rows {
        table: c.table,
        offset: c.offset,
    }
}
