//! # dora-store: the embedded event store
//!
//! A SQLite database (the library is bundled: nothing to install) holding the
//! normalised events of `dora-core`, per-source sync cursors, and the rows behind
//! the last computed report, laid out so BI tools (Grafana's and Metabase's SQLite
//! support) can read them directly. It lives outside `dora-core`, which stays pure.
//!
//! - Every write is one transaction: a sync interrupted half-way leaves the store
//!   as it was before that batch, and the next run resumes from the stored cursors.
//! - The database runs in WAL mode with a busy timeout, so two processes syncing
//!   the same store serialise their writes instead of corrupting it.
//! - The schema is versioned with migrations (`PRAGMA user_version`).
//!
//! ```
//! use dora_core::{Dataset, Repository};
//! use dora_store::{Store, SyncBatch};
//!
//! let mut store = Store::open_in_memory()?;
//! let mut data = Dataset::new();
//! data.repositories.push(Repository::new("api", "main"));
//! store.apply(&SyncBatch::new(data).with_cursor("bitbucket", "acme/api", "{\"prs\":\"2026-01-01T00:00:00Z\"}"))?;
//! assert_eq!(store.load()?.repositories.len(), 1);
//! assert!(store.cursor("bitbucket", "acme/api")?.is_some());
//! # Ok::<(), dora_store::StoreError>(())
//! ```
//!
//! ## Tables
//!
//! | table | key | what |
//! |---|---|---|
//! | `repositories` | `slug` | repositories in scope and their main branch |
//! | `commits` | `repository, sha` | commits; `parents` is a JSON array |
//! | `pull_requests` | `repository, id` | pull requests; `commits` is a JSON array |
//! | `environments` | `repository, name` | deployment environments and their kind |
//! | `deployments` | `repository, id` | deployments to every environment |
//! | `incidents` | `source, id` | incidents; `repositories` is a JSON array |
//! | `sync_cursors` | `source, scope` | opaque JSON cursors of each source's incremental sync |
//! | `sync_progress` | `source, scope` | `pending` until a scope of the last sync was stored, then `done`: a report names the unfinished ones (`incomplete_sync`) |
//! | `skipped_events` | `kind, scope, item_id, reason` | items a source fetched but could not convert (`skipped_events` diagnostic, `accounting`) |
//! | `history_gaps` | `repository, pull_request` | merged PRs whose branch history the commit walk did not reach (`history_truncated`) |
//! | `store_flags` | `name` | facts about the stored data, e.g. `service_mapping` (incidents were mapped to repositories) |
//! | `report_runs` | `id` | each stored report (window, time, full JSON) |
//! | `report_changes`, `report_deployments`, `report_incidents` | `run_id, …` | the rows behind a report's metrics |
//!
//! Views for dashboards: `v_changes`, `v_deployments`, `v_incidents` (the rows of
//! the latest report run) and `v_production_deployments` (raw events). Times are
//! RFC 3339 text in UTC (`2026-01-31T12:00:00Z`), which SQLite's date functions read.

#![forbid(unsafe_code)]

mod schema;
mod sync;

pub use sync::{SyncError, SyncSummary, sync_delivery, sync_incidents};

use chrono::{DateTime, SecondsFormat, Utc};
use dora_core::report::Report;
use dora_core::{
    Actor, ActorKind, CollectionNotes, Commit, Dataset, Deployment, DeploymentStatus, Environment,
    EnvironmentKind, EventKind, HistoryGap, Incident, IncidentStatus, PullRequest,
    PullRequestState, Repository, Severity, SkippedEvent,
};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be opened or queried.
    #[error("store {path}: {source}")]
    Sqlite {
        /// The database file (`:memory:` for an in-memory store).
        path: String,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// A schema migration failed.
    #[error("store {path}: migrating the schema failed: {message}")]
    Migration {
        /// The database file.
        path: String,
        /// What failed.
        message: String,
    },
}

/// One sync's worth of writes, applied atomically: events to upsert and the
/// cursors that say how far the sync got.
#[derive(Debug, Clone, Default)]
pub struct SyncBatch {
    /// Events to insert or update (matched by their keys).
    pub data: Dataset,
    /// `(source, scope, cursor JSON)` to store with the events.
    pub cursors: Vec<(String, String, String)>,
}

impl SyncBatch {
    /// A batch of events.
    pub fn new(data: Dataset) -> Self {
        Self {
            data,
            cursors: Vec::new(),
        }
    }

    /// Store a cursor with the events.
    pub fn with_cursor(mut self, source: &str, scope: &str, cursor: impl Into<String>) -> Self {
        self.cursors
            .push((source.to_string(), scope.to_string(), cursor.into()));
        self
    }
}

/// How many rows each table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoreCounts {
    /// Repositories.
    pub repositories: usize,
    /// Commits.
    pub commits: usize,
    /// Pull requests.
    pub pull_requests: usize,
    /// Environments.
    pub environments: usize,
    /// Deployments.
    pub deployments: usize,
    /// Incidents.
    pub incidents: usize,
}

/// The event store.
pub struct Store {
    conn: Connection,
    path: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn opt_ts(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(ts)
}

fn enum_text<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

impl Store {
    /// Open (or create) the store at `path`, migrating its schema.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path_buf: PathBuf = path.as_ref().to_path_buf();
        let name = path_buf.display().to_string();
        let conn = Connection::open(&path_buf).map_err(|source| StoreError::Sqlite {
            path: name.clone(),
            source,
        })?;
        Self::init(conn, name)
    }

    /// An in-memory store (for tests and notebooks).
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Sqlite {
            path: ":memory:".into(),
            source,
        })?;
        Self::init(conn, ":memory:".into())
    }

    fn init(mut conn: Connection, path: String) -> Result<Self, StoreError> {
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        conn.busy_timeout(Duration::from_secs(30)).map_err(sql)?;
        // WAL lets readers (dashboards) work while a sync writes; in-memory
        // databases answer "memory", which is fine.
        let _mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sql)?;
        schema::migrations()
            .to_latest(&mut conn)
            .map_err(|e| StoreError::Migration {
                path: path.clone(),
                message: e.to_string(),
            })?;
        Ok(Self { conn, path })
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// The schema version (the number of applied migrations).
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(self.sql())
    }

    /// Insert or update events and store cursors, in one transaction.
    pub fn apply(&mut self, batch: &SyncBatch) -> Result<(), StoreError> {
        self.write(|tx| {
            upsert(tx, &batch.data)?;
            let mut stmt = tx.prepare_cached(
                "INSERT INTO sync_cursors (source, scope, cursor, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (source, scope) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
            )?;
            let mut done = tx.prepare_cached(
                "INSERT INTO sync_progress (source, scope, state, updated_at) VALUES (?1, ?2, 'done', ?3)
                 ON CONFLICT (source, scope) DO UPDATE SET state = 'done', updated_at = excluded.updated_at",
            )?;
            for (source, scope, cursor) in &batch.cursors {
                stmt.execute(params![source, scope, cursor, ts(Utc::now())])?;
                done.execute(params![source, scope, ts(Utc::now())])?;
            }
            Ok(())
        })
    }

    /// Record that a sync of `source` over `scopes` begins: each scope stays
    /// `pending` until a batch with its cursor is applied, so a sync that stops
    /// part-way leaves the unfinished scopes named (a report from the store then
    /// warns `incomplete_sync`). Scopes of earlier runs not listed are forgotten.
    pub fn begin_sync(&mut self, source: &str, scopes: &[String]) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute("DELETE FROM sync_progress WHERE source = ?1", params![source])?;
            let mut s = tx.prepare_cached(
                "INSERT INTO sync_progress (source, scope, state, updated_at) VALUES (?1, ?2, 'pending', ?3)",
            )?;
            for scope in scopes {
                s.execute(params![source, scope, ts(Utc::now())])?;
            }
            Ok(())
        })
    }

    /// Record whether incidents were attributed through a service mapping (an
    /// incident sync sets it each run, so removing the mapping clears it).
    pub fn set_service_mapping(&mut self, on: bool) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO store_flags (name, value) VALUES ('service_mapping', ?1)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                params![if on { "true" } else { "false" }],
            )
            .map(|_| ())
        })
    }

    /// Scopes (`source`, `scope`) whose last sync did not finish.
    pub fn incomplete_scopes(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.query(
            "SELECT source, scope FROM sync_progress WHERE state = 'pending' ORDER BY source, scope",
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Insert or update events (no cursor).
    pub fn save(&mut self, data: &Dataset) -> Result<(), StoreError> {
        self.write(|tx| upsert(tx, data))
    }

    /// Run `f` in one immediate (write-locking) transaction, committed when it
    /// succeeds and rolled back otherwise.
    fn write<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let path = &self.path;
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let out = f(&tx).map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(out)
    }

    /// The cursor a source stored for a scope.
    pub fn cursor(&self, source: &str, scope: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT cursor FROM sync_cursors WHERE source = ?1 AND scope = ?2",
                params![source, scope],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.sql())
    }

    /// Row counts per table.
    pub fn counts(&self) -> Result<StoreCounts, StoreError> {
        let count = |table: &str| -> Result<usize, StoreError> {
            self.conn
                .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| {
                    r.get::<_, i64>(0)
                })
                .map(|n| n.max(0) as usize)
                .map_err(self.sql())
        };
        Ok(StoreCounts {
            repositories: count("repositories")?,
            commits: count("commits")?,
            pull_requests: count("pull_requests")?,
            environments: count("environments")?,
            deployments: count("deployments")?,
            incidents: count("incidents")?,
        })
    }

    /// Load every stored event as a dataset (in key order).
    pub fn load(&self) -> Result<Dataset, StoreError> {
        let mut data = Dataset::new();
        data.repositories = self.query(
            "SELECT slug, main_branch, url FROM repositories ORDER BY slug",
            |r| {
                Ok(Repository {
                    slug: r.get(0)?,
                    main_branch: r.get(1)?,
                    url: r.get(2)?,
                })
            },
        )?;
        data.commits = self.query(
            "SELECT repository, sha, parents, authored_at, committed_at, author_id, author_name, author_kind, message
             FROM commits ORDER BY repository, sha",
            |r| {
                Ok(Commit {
                    repository: r.get(0)?,
                    sha: r.get(1)?,
                    parents: json_col(r, 2)?,
                    authored_at: time_col(r, 3)?,
                    committed_at: time_col(r, 4)?,
                    author: actor_cols(r, 5)?,
                    message: r.get(8)?,
                })
            },
        )?;
        data.pull_requests = self.query(
            "SELECT repository, id, title, author_id, author_name, author_kind, source_branch, destination_branch,
                    state, created_at, first_review_at, merged_at, merge_commit, commits, url
             FROM pull_requests ORDER BY repository, id",
            |r| {
                Ok(PullRequest {
                    repository: r.get(0)?,
                    id: r.get::<_, i64>(1)?.max(0) as u64,
                    title: r.get(2)?,
                    author: actor_cols(r, 3)?.unwrap_or_default(),
                    source_branch: r.get(6)?,
                    destination_branch: r.get(7)?,
                    state: enum_col::<PullRequestState>(r, 8)?,
                    created_at: time_col(r, 9)?,
                    first_review_at: opt_time_col(r, 10)?,
                    merged_at: opt_time_col(r, 11)?,
                    merge_commit: r.get(12)?,
                    commits: json_col(r, 13)?,
                    url: r.get(14)?,
                })
            },
        )?;
        data.environments = self.query(
            "SELECT repository, name, kind FROM environments ORDER BY repository, name",
            |r| {
                Ok(Environment {
                    repository: r.get(0)?,
                    name: r.get(1)?,
                    kind: enum_col::<EnvironmentKind>(r, 2)?,
                })
            },
        )?;
        data.deployments = self.query(
            "SELECT repository, id, environment, environment_kind, commit_sha, started_at, finished_at, status, release, url
             FROM deployments ORDER BY repository, id",
            |r| {
                Ok(Deployment {
                    repository: r.get(0)?,
                    id: r.get(1)?,
                    environment: r.get(2)?,
                    environment_kind: enum_col::<EnvironmentKind>(r, 3)?,
                    commit: r.get(4)?,
                    started_at: opt_time_col(r, 5)?,
                    finished_at: opt_time_col(r, 6)?,
                    status: enum_col::<DeploymentStatus>(r, 7)?,
                    release: r.get(8)?,
                    url: r.get(9)?,
                })
            },
        )?;
        data.incidents = self.query(
            "SELECT source, id, title, service, severity, raw_severity, opened_at, resolved_at, status, repositories, url
             FROM incidents ORDER BY source, id",
            |r| {
                let severity: Option<String> = r.get(4)?;
                Ok(Incident {
                    source: r.get(0)?,
                    id: r.get(1)?,
                    title: r.get(2)?,
                    service: r.get(3)?,
                    severity: severity.as_deref().and_then(Severity::parse),
                    raw_severity: r.get(5)?,
                    opened_at: time_col(r, 6)?,
                    resolved_at: opt_time_col(r, 7)?,
                    status: enum_col::<IncidentStatus>(r, 8)?,
                    repositories: json_col(r, 9)?,
                    url: r.get(10)?,
                })
            },
        )?;
        data.collection = self.load_notes()?;
        Ok(data)
    }

    /// The stored collection notes (skipped items, history gaps, unfinished
    /// scopes, whether incidents were mapped to repositories).
    fn load_notes(&self) -> Result<CollectionNotes, StoreError> {
        let mut notes = CollectionNotes::default();
        let skipped: Vec<(String, String, String, String, String, i64)> = self.query(
            "SELECT kind, scope, item_id, reason, detail, n FROM skipped_events ORDER BY kind, scope, item_id, reason",
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )?;
        for (kind, scope, id, reason, detail, n) in skipped {
            let Ok(kind) = serde_json::from_value::<EventKind>(serde_json::Value::String(kind))
            else {
                continue;
            };
            let event = SkippedEvent::new(
                kind,
                (!scope.is_empty()).then_some(scope),
                (!id.is_empty()).then_some(id),
                reason,
                detail,
            );
            for _ in 0..n.max(1) {
                notes.skipped.push(event.clone());
            }
        }
        notes.history_truncated = self.query(
            "SELECT repository, pull_request, remedy FROM history_gaps ORDER BY repository, pull_request",
            |r| {
                Ok(HistoryGap {
                    repository: r.get(0)?,
                    pull_request: r.get::<_, i64>(1)?.max(0) as u64,
                    remedy: r.get(2)?,
                })
            },
        )?;
        for (source, scope) in self.incomplete_scopes()? {
            // Delivery scopes are `workspace/slug`: the report names repositories.
            let name = if scope == INCIDENT_SCOPE {
                format!("{source} incidents")
            } else {
                scope.rsplit('/').next().unwrap_or(&scope).to_string()
            };
            if !notes.incomplete_sync.contains(&name) {
                notes.incomplete_sync.push(name);
            }
        }
        notes.service_mapping = self
            .conn
            .query_row(
                "SELECT value FROM store_flags WHERE name = 'service_mapping'",
                [],
                |r| r.get::<_, String>(0),
            )
            .optional()
            .map_err(self.sql())?
            .is_some_and(|v| v == "true");
        Ok(notes)
    }

    /// Deployments whose state can still change (in progress), for re-checking.
    pub fn deployments_in_progress(&self, repository: &str) -> Result<Vec<String>, StoreError> {
        self.query_params(
            "SELECT id FROM deployments WHERE repository = ?1 AND status = 'in_progress' ORDER BY id",
            params![repository],
            |r| r.get(0),
        )
    }

    /// Incidents not yet resolved, for re-fetching.
    pub fn unresolved_incidents(&self, source: &str) -> Result<Vec<String>, StoreError> {
        self.query_params(
            "SELECT id FROM incidents WHERE source = ?1 AND resolved_at IS NULL AND status != 'dismissed' ORDER BY id",
            params![source],
            |r| r.get(0),
        )
    }

    /// Opening time of the oldest unresolved incident of a source.
    pub fn oldest_unresolved_incident(
        &self,
        source: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let t: Option<String> = self
            .conn
            .query_row(
                "SELECT MIN(opened_at) FROM incidents WHERE source = ?1 AND resolved_at IS NULL AND status != 'dismissed'",
                params![source],
                |r| r.get(0),
            )
            .map_err(self.sql())?;
        Ok(t.and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc)))
    }

    /// Store a computed report and the rows behind it (the `v_*` views show the latest).
    pub fn save_report(&mut self, report: &Report) -> Result<i64, StoreError> {
        self.write(|tx| insert_report(tx, report))
    }

    fn query<T>(
        &self,
        sql: &str,
        f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        self.query_params(sql, [], f)
    }

    fn query_params<T, P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
        f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut stmt = self.conn.prepare(sql).map_err(self.sql())?;
        let rows = stmt.query_map(params, f).map_err(self.sql())?;
        rows.collect::<Result<Vec<T>, _>>().map_err(self.sql())
    }

    /// The underlying connection, for ad-hoc read queries.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

fn conversion(col: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(col, rusqlite::types::Type::Text, message.into())
}

fn time_col(r: &Row<'_>, col: usize) -> rusqlite::Result<DateTime<Utc>> {
    let s: String = r.get(col)?;
    DateTime::parse_from_rfc3339(&s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| conversion(col, format!("bad time {s:?}: {e}")))
}

fn opt_time_col(r: &Row<'_>, col: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let s: Option<String> = r.get(col)?;
    s.map(|s| {
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| conversion(col, format!("bad time {s:?}: {e}")))
    })
    .transpose()
}

fn json_col(r: &Row<'_>, col: usize) -> rusqlite::Result<Vec<String>> {
    let s: String = r.get(col)?;
    serde_json::from_str(&s).map_err(|e| conversion(col, format!("bad JSON array {s:?}: {e}")))
}

fn enum_col<T: serde::de::DeserializeOwned>(r: &Row<'_>, col: usize) -> rusqlite::Result<T> {
    let s: String = r.get(col)?;
    serde_json::from_value(serde_json::Value::String(s.clone()))
        .map_err(|e| conversion(col, format!("unknown value {s:?}: {e}")))
}

fn actor_cols(r: &Row<'_>, col: usize) -> rusqlite::Result<Option<Actor>> {
    let id: Option<String> = r.get(col)?;
    let name: Option<String> = r.get(col + 1)?;
    let kind: Option<String> = r.get(col + 2)?;
    if id.is_none() && name.is_none() {
        return Ok(None);
    }
    let kind = match kind {
        Some(k) => {
            serde_json::from_value(serde_json::Value::String(k)).unwrap_or(ActorKind::Unknown)
        }
        None => ActorKind::Unknown,
    };
    Ok(Some(Actor {
        id: id.unwrap_or_default(),
        display_name: name.unwrap_or_default(),
        kind,
    }))
}

fn json_array(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// The scope name incident syncs use in `sync_cursors` and `sync_progress`.
pub(crate) const INCIDENT_SCOPE: &str = "incidents";

/// Store a batch's collection notes. A skipped item that later arrives readable
/// leaves `skipped_events`; a pull request re-read without a history gap leaves
/// `history_gaps` (the latest word about each item wins).
fn upsert_notes(tx: &rusqlite::Transaction<'_>, data: &Dataset) -> rusqlite::Result<()> {
    let notes = &data.collection;
    let any_skipped: bool =
        tx.query_row("SELECT EXISTS (SELECT 1 FROM skipped_events)", [], |r| {
            r.get(0)
        })?;
    if any_skipped {
        let mut clear = tx.prepare_cached(
            "DELETE FROM skipped_events WHERE kind = ?1 AND scope = ?2 AND item_id = ?3",
        )?;
        for p in &data.pull_requests {
            clear.execute(params!["pull_request", p.repository, p.id.to_string()])?;
        }
        for d in &data.deployments {
            clear.execute(params!["deployment", d.repository, d.id])?;
        }
        for i in &data.incidents {
            clear.execute(params!["incident", i.source, i.id])?;
        }
    }
    let mut counts: BTreeMap<(&str, &str, &str, &str), (&str, i64)> = BTreeMap::new();
    for e in &notes.skipped {
        let key = (
            e.kind.as_str(),
            e.scope.as_deref().unwrap_or(""),
            e.id.as_deref().unwrap_or(""),
            e.reason.as_str(),
        );
        counts.entry(key).or_insert((e.detail.as_str(), 0)).1 += 1;
    }
    let mut s = tx.prepare_cached(
        "INSERT INTO skipped_events (kind, scope, item_id, reason, detail, n, seen_at) VALUES (?1,?2,?3,?4,?5,?6,?7)
         ON CONFLICT (kind, scope, item_id, reason) DO UPDATE SET detail = excluded.detail, n = excluded.n, seen_at = excluded.seen_at",
    )?;
    for ((kind, scope, id, reason), (detail, n)) in counts {
        s.execute(params![kind, scope, id, reason, detail, n, ts(Utc::now())])?;
    }
    let gaps: HashSet<(&str, u64)> = notes
        .history_truncated
        .iter()
        .map(|g| (g.repository.as_str(), g.pull_request))
        .collect();
    let any_gaps: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM history_gaps)", [], |r| {
        r.get(0)
    })?;
    if any_gaps {
        let mut clear = tx.prepare_cached(
            "DELETE FROM history_gaps WHERE repository = ?1 AND pull_request = ?2",
        )?;
        for p in &data.pull_requests {
            if !gaps.contains(&(p.repository.as_str(), p.id)) {
                clear.execute(params![p.repository, p.id as i64])?;
            }
        }
    }
    let mut s = tx.prepare_cached(
        "INSERT INTO history_gaps (repository, pull_request, remedy) VALUES (?1, ?2, ?3)
         ON CONFLICT (repository, pull_request) DO UPDATE SET remedy = excluded.remedy",
    )?;
    for g in &notes.history_truncated {
        s.execute(params![g.repository, g.pull_request as i64, g.remedy])?;
    }
    if notes.service_mapping {
        tx.execute(
            "INSERT INTO store_flags (name, value) VALUES ('service_mapping', 'true')
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            [],
        )?;
    }
    Ok(())
}

fn upsert(tx: &rusqlite::Transaction<'_>, data: &Dataset) -> rusqlite::Result<()> {
    upsert_notes(tx, data)?;
    let mut s = tx.prepare_cached(
        "INSERT INTO repositories (slug, main_branch, url) VALUES (?1, ?2, ?3)
         ON CONFLICT (slug) DO UPDATE SET main_branch = COALESCE(excluded.main_branch, repositories.main_branch),
           url = COALESCE(excluded.url, repositories.url)",
    )?;
    for r in &data.repositories {
        s.execute(params![r.slug, r.main_branch, r.url])?;
    }
    let mut s = tx.prepare_cached(
        "INSERT INTO commits (repository, sha, parents, authored_at, committed_at, author_id, author_name, author_kind, message)
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)
         ON CONFLICT (repository, sha) DO UPDATE SET parents = excluded.parents, authored_at = excluded.authored_at,
           committed_at = excluded.committed_at, author_id = excluded.author_id, author_name = excluded.author_name,
           author_kind = excluded.author_kind, message = excluded.message",
    )?;
    for c in &data.commits {
        s.execute(params![
            c.repository,
            c.sha,
            json_array(&c.parents),
            ts(c.authored_at),
            ts(c.committed_at),
            c.author.as_ref().map(|a| a.id.clone()),
            c.author.as_ref().map(|a| a.display_name.clone()),
            c.author.as_ref().map(|a| enum_text(&a.kind)),
            c.message
        ])?;
    }
    let mut s = tx.prepare_cached(
        "INSERT INTO pull_requests (repository, id, title, author_id, author_name, author_kind, source_branch,
           destination_branch, state, created_at, first_review_at, merged_at, merge_commit, commits, url)
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)
         ON CONFLICT (repository, id) DO UPDATE SET title = excluded.title, author_id = excluded.author_id,
           author_name = excluded.author_name, author_kind = excluded.author_kind, source_branch = excluded.source_branch,
           destination_branch = excluded.destination_branch, state = excluded.state, created_at = excluded.created_at,
           first_review_at = excluded.first_review_at, merged_at = excluded.merged_at,
           merge_commit = excluded.merge_commit, commits = excluded.commits, url = excluded.url",
    )?;
    for p in &data.pull_requests {
        s.execute(params![
            p.repository,
            p.id as i64,
            p.title,
            p.author.id,
            p.author.display_name,
            enum_text(&p.author.kind),
            p.source_branch,
            p.destination_branch,
            enum_text(&p.state),
            ts(p.created_at),
            opt_ts(p.first_review_at),
            opt_ts(p.merged_at),
            p.merge_commit,
            json_array(&p.commits),
            p.url
        ])?;
    }
    let mut s = tx.prepare_cached(
        "INSERT INTO environments (repository, name, kind) VALUES (?1, ?2, ?3)
         ON CONFLICT (repository, name) DO UPDATE SET kind = excluded.kind",
    )?;
    for e in &data.environments {
        s.execute(params![e.repository, e.name, enum_text(&e.kind)])?;
    }
    let mut s = tx.prepare_cached(
        "INSERT INTO deployments (repository, id, environment, environment_kind, commit_sha, started_at, finished_at, status, release, url)
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)
         ON CONFLICT (repository, id) DO UPDATE SET environment = excluded.environment,
           environment_kind = excluded.environment_kind, commit_sha = excluded.commit_sha,
           started_at = excluded.started_at, finished_at = excluded.finished_at, status = excluded.status,
           release = excluded.release, url = excluded.url",
    )?;
    for d in &data.deployments {
        s.execute(params![
            d.repository,
            d.id,
            d.environment,
            enum_text(&d.environment_kind),
            d.commit,
            opt_ts(d.started_at),
            opt_ts(d.finished_at),
            enum_text(&d.status),
            d.release,
            d.url
        ])?;
    }
    let mut s = tx.prepare_cached(
        "INSERT INTO incidents (source, id, title, service, severity, raw_severity, opened_at, resolved_at, status, repositories, url)
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)
         ON CONFLICT (source, id) DO UPDATE SET title = excluded.title, service = excluded.service,
           severity = excluded.severity, raw_severity = excluded.raw_severity, opened_at = excluded.opened_at,
           resolved_at = excluded.resolved_at, status = excluded.status, repositories = excluded.repositories,
           url = excluded.url",
    )?;
    for i in &data.incidents {
        s.execute(params![
            i.source,
            i.id,
            i.title,
            i.service,
            i.severity.map(|s| s.to_string()),
            i.raw_severity,
            ts(i.opened_at),
            opt_ts(i.resolved_at),
            enum_text(&i.status),
            json_array(&i.repositories),
            i.url
        ])?;
    }
    Ok(())
}

fn insert_report(tx: &rusqlite::Transaction<'_>, report: &Report) -> rusqlite::Result<i64> {
    tx.execute(
        "INSERT INTO report_runs (computed_at, window_start, window_end, report) VALUES (?1, ?2, ?3, ?4)",
        params![ts(Utc::now()), ts(report.window.start), ts(report.window.end), report.to_json()],
    )?;
    let run = tx.last_insert_rowid();
    {
        let mut s = tx
            .prepare_cached(
                "INSERT INTO report_changes (run_id, repository, pull_request, title, author, first_commit_at, created_at,
                 first_review_at, merged_at, deployed_at, deployment, lead_time_seconds, coding_seconds, pickup_seconds,
                 review_seconds, deploy_seconds, hotfix) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)",
            )?;
        for c in &report.changes {
            s.execute(params![
                run,
                c.repository,
                c.pull_request as i64,
                c.title,
                c.author,
                ts(c.first_commit_at),
                ts(c.created_at),
                opt_ts(c.first_review_at),
                ts(c.merged_at),
                ts(c.deployed_at),
                c.deployment,
                c.lead_time_seconds,
                c.coding_seconds,
                c.pickup_seconds,
                c.review_seconds,
                c.deploy_seconds,
                c.hotfix
            ])?;
        }
        let mut s = tx
            .prepare_cached(
                "INSERT INTO report_deployments (run_id, repository, id, environment, commit_sha, deployed_at, status,
                 changes, failed, signals, excused_rerun, rework, recovery_seconds, from_merge)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)",
            )?;
        for d in &report.deployments {
            let signals: Vec<String> = d.failures.iter().map(|f| enum_text(&f.signal)).collect();
            s.execute(params![
                run,
                d.repository,
                d.id,
                d.environment,
                d.commit,
                ts(d.deployed_at),
                enum_text(&d.status),
                d.changes as i64,
                !d.failures.is_empty(),
                signals.join(","),
                d.excused_rerun,
                d.rework,
                d.recovery_seconds,
                d.from_merge
            ])?;
        }
        let mut s = tx
            .prepare_cached(
                "INSERT INTO report_incidents (run_id, source, id, title, service, severity, opened_at, resolved_at,
                 recovery_seconds, counted, deployment) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
            )?;
        for i in &report.incidents {
            s.execute(params![
                run,
                i.source,
                i.id,
                i.title,
                i.service,
                i.severity.map(|s| s.to_string()),
                ts(i.opened_at),
                opt_ts(i.resolved_at),
                i.recovery_seconds,
                i.counted,
                i.deployment
            ])?;
        }
    }
    Ok(run)
}
