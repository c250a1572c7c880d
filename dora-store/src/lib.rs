//! # dora-store: the event store
//!
//! A database holding the normalised events of `dora-core`, per-source sync
//! cursors, and the rows behind the last computed report, laid out so BI tools
//! (Grafana, Metabase) can read them directly. It lives outside `dora-core`,
//! which stays pure. One interface, two backends:
//!
//! - **SQLite** (the default): a file, or memory; the library is bundled, nothing
//!   to install. [`Store::open`], [`Store::open_in_memory`].
//! - **PostgreSQL**: a server a team already runs, shared by any number of sync
//!   workers (see [`sync_delivery_with`]): [`Store::open_location`] with a
//!   `postgres://user@host:port/db` (or `postgresql://`) URL. The password comes
//!   from the URL or `PGPASSWORD` and is never printed: errors and `Debug` show
//!   the URL with the password as `***`. Connections are unencrypted (`NoTls`):
//!   use a local server, a private network or an SSH tunnel.
//!
//! Both hold the same tables and views and answer [`Store::load`] alike (text
//! columns sort byte-wise in both, PostgreSQL's via `COLLATE "C"`).
//!
//! - Every write is one transaction: a sync interrupted half-way leaves the store
//!   as it was before that batch, and the next run resumes from the stored cursors.
//! - The database runs in WAL mode with a busy timeout, so two processes syncing
//!   the same store serialise their writes instead of corrupting it.
//! - The schema is versioned with migrations (SQLite: `PRAGMA user_version`;
//!   PostgreSQL: the `dora_schema` table). They run under the database's own lock
//!   (SQLite: an immediate transaction and the busy timeout; PostgreSQL: an
//!   advisory lock), so several processes opening a fresh store at once all
//!   succeed and only the first migrates.
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
//! ## The store equals a fresh collection
//!
//! A report from the store gives what a fresh collection would, whatever
//! changed between syncs, while a re-sync fetches only what changed. Each kind
//! of change and how it reaches the store (checked by a property test over
//! random change sequences, `dora-bitbucket/tests/drift.rs`):
//!
//! | change between syncs | how the sync sees it |
//! |---|---|
//! | a deployment runs, finishes, or a planned (`UNDEPLOYED`) or queued one runs later | every deployment that can still change is re-checked (running and queued ones all; the ten newest planned ones per repository); the listing reads on while a page holds anything new |
//! | a pull request changes in any state (merged and declined ones included) | BBQL `updated_on >=` the cursor; the branch commits and history gaps stored for an old merged one are kept unless the batch proves otherwise |
//! | a force-push rewrote the production branch | `exclude=<old head>` answers 404, or the new commits do not descend from it: the repository is read again whole and the commits it no longer holds are marked `unreachable_since` (kept, not loaded) |
//! | a repository was renamed | repositories are keyed by uuid (`sync_scopes`): the rows move to the new slug |
//! | a repository was deleted or left the sync's selection | marked departed: kept in the store, out of loads, named by `repositories_departed` |
//! | a date in the future (a wrong server clock) | cursors are held at this machine's clock less five minutes; the item is named by `clock_skew` |
//! | an incident is edited (priority raised after resolution, resolve time corrected) | incidents opened within the re-read horizon of the window's end (default 30 days: `--incident-horizon`, `[sync] incident_horizon_days`, Python `incident_horizon_days=`) are read again, as are all unresolved ones. PagerDuty, Opsgenie, incident.io and JSM alike: their list endpoints filter by creation time, and the change feeds (PagerDuty log entries, an `updatedAt` query) are not used yet, so an edit to an incident older than the horizon is not seen |
//! | a later sync's window starts earlier | Bitbucket reads each repository again from the new start; incidents are read from it |
//! | a report's window reaches outside what the syncs covered | `sync_spans` records each scope's span; the report warns `store_span` |
//!
//! ## Tables
//!
//! | table | key | what |
//! |---|---|---|
//! | `repositories` | `slug` | repositories in scope and their main branch |
//! | `commits` | `repository, sha` | commits; `parents` is a JSON array; `unreachable_since` set when a force-push removed it from the branch |
//! | `pull_requests` | `repository, id` | pull requests; `commits` is a JSON array |
//! | `environments` | `repository, name` | deployment environments and their kind |
//! | `deployments` | `repository, id` | deployments to every environment |
//! | `incidents` | `source, id` | incidents; `repositories` is a JSON array |
//! | `sync_cursors` | `source, scope` | opaque JSON cursors of each source's incremental sync |
//! | `sync_progress` | `source, scope` | `pending` until a scope of the last sync was stored, then `done`: a report names the unfinished ones (`incomplete_sync`) |
//! | `skipped_events` | `kind, scope, item_id, reason` | items a source fetched but could not convert (`skipped_events` diagnostic, `accounting`) |
//! | `history_gaps` | `repository, pull_request` | merged PRs whose branch history the commit walk did not reach (`history_truncated`) |
//! | `store_flags` | `name` | facts about the stored data, e.g. `service_mapping` (incidents were mapped to repositories) |
//! | `sync_scopes` | `source, scope` | each scope's stable id (a repository's uuid: renames follow it) and when it departed |
//! | `sync_spans` | `source, scope` | the span each scope's syncs covered (`store_span`) |
//! | `clock_skews` | `scope, item` | items dated after the syncing machine's clock (`clock_skew`) |
//! | `pipeline_runs` | `repository` | pipelines run on the production branch of a repository without production deployments (`pipelines_without_deployments`) |
//! | `sync_leases` | `source, scope` | which sync worker holds which scope of the current round, until when (`expires_at`, seconds since the epoch, server clock) |
//! | `report_runs` | `id` | each stored report (window, time, full JSON) |
//! | `report_changes`, `report_deployments`, `report_incidents` | `run_id, …` | the rows behind a report's metrics |
//!
//! Views for dashboards: `v_changes`, `v_deployments`, `v_incidents` (the rows of
//! the latest report run) and `v_production_deployments` (raw events). Times are
//! RFC 3339 text in UTC (`2026-01-31T12:00:00Z`), which SQLite's date functions
//! read and PostgreSQL casts with `::timestamptz`. Integers are 64-bit in both
//! (booleans 0/1), reals are `REAL` / `DOUBLE PRECISION`.

#![forbid(unsafe_code)]

mod backend;
mod drift;
mod pg;
mod schema;
mod sync;

pub use backend::SqlValue;
pub use drift::ScopeChanges;
pub use pg::{is_postgres_url, redact};
pub use sync::{
    IncidentSyncOptions, SyncAllOptions, SyncAllSummary, SyncError, SyncSummary, WorkerOptions,
    sync_all, sync_delivery, sync_delivery_with, sync_incidents, sync_incidents_with,
};

use backend::{DbError, Exec, vals};
use chrono::{DateTime, SecondsFormat, Utc};
use dora_core::report::Report;
use dora_core::{
    Actor, ActorKind, CollectionNotes, Commit, Dataset, Deployment, DeploymentStatus, Environment,
    EnvironmentKind, EventKind, HistoryGap, Incident, IncidentStatus, PullRequest,
    PullRequestState, Repository, Severity, SkippedEvent, TimeRange,
};
use rusqlite::{Connection, TransactionBehavior};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Errors of the store. Messages name the store by its path or its URL with
/// the password redacted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The SQLite database could not be opened or queried.
    #[error("store {path}: {source}")]
    Sqlite {
        /// The database file (`:memory:` for an in-memory store).
        path: String,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// The PostgreSQL database could not be reached or queried.
    #[error("store {url}: {}", postgres_message(source))]
    Postgres {
        /// The URL, password redacted.
        url: String,
        /// The client's error.
        #[source]
        source: postgres::Error,
    },
    /// A schema migration failed.
    #[error("store {path}: migrating the schema failed: {message}")]
    Migration {
        /// The database file or URL (password redacted).
        path: String,
        /// What failed.
        message: String,
    },
    /// The file is not a dora store (another program's database, not SQLite,
    /// or a newer dora's store); nothing was written to it.
    #[error("store {path}: {message}")]
    NotAStore {
        /// The database file.
        path: String,
        /// What it is instead, and what to do.
        message: String,
    },
    /// The store was opened read-only ([`Store::open_read_only`]) and a write
    /// was asked of it.
    #[error(
        "store {path} is open read-only: {what} needs write access to the file and its directory"
    )]
    ReadOnly {
        /// The database file.
        path: String,
        /// What needed to write.
        what: String,
    },
    /// A stored value could not be read back.
    #[error("store {path}: {message}")]
    Data {
        /// The database file or URL (password redacted).
        path: String,
        /// What was wrong.
        message: String,
    },
}

/// A PostgreSQL error with its cause: the server's message (e.g. `database
/// "x" does not exist`) or the connection's (e.g. `Connection refused`), not
/// only the client's one-word summary.
fn postgres_message(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut m = format!("{}: {}", db.severity(), db.message());
        if let Some(detail) = db.detail() {
            m.push_str(&format!(" ({detail})"));
        }
        if let Some(hint) = db.hint() {
            m.push_str(&format!("; hint: {hint}"));
        }
        return m;
    }
    let mut m = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !m.contains(&text) {
            m.push_str(&format!(": {text}"));
        }
        source = s.source();
    }
    m
}

/// One sync's worth of writes, applied atomically: events to upsert and the
/// cursors that say how far the sync got.
#[derive(Debug, Clone, Default)]
pub struct SyncBatch {
    /// Events to insert or update (matched by their keys).
    pub data: Dataset,
    /// `(source, scope, cursor JSON)` to store with the events.
    pub cursors: Vec<(String, String, String)>,
    /// `(source, scope, window)`: the span a scope's sync covered, to widen the
    /// scope's recorded coverage with.
    pub spans: Vec<(String, String, TimeRange)>,
}

impl SyncBatch {
    /// A batch of events.
    pub fn new(data: Dataset) -> Self {
        Self {
            data,
            cursors: Vec::new(),
            spans: Vec::new(),
        }
    }

    /// Record that the sync of `scope` covered `range`.
    pub fn with_span(mut self, source: &str, scope: &str, range: TimeRange) -> Self {
        self.spans
            .push((source.to_string(), scope.to_string(), range));
        self
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

/// Which database a store lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// A SQLite file or in-memory database.
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

enum Db {
    Sqlite(Connection),
    Postgres(Box<Mutex<pg::PgConn>>),
}

/// The event store.
pub struct Store {
    db: Db,
    /// The path, or the URL with its password redacted.
    path: String,
    /// Opened with [`Store::open_read_only`]: every write is refused.
    read_only: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .field("path", &self.path)
            .finish()
    }
}

pub(crate) fn ts(t: DateTime<Utc>) -> String {
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

/// A SQLite connection (or transaction) seen through the shared interface.
struct SqliteExec<'a>(&'a Connection);

impl Exec for SqliteExec<'_> {
    fn exec(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64, DbError> {
        let mut stmt = self.0.prepare_cached(sql)?;
        let n = stmt.execute(rusqlite::params_from_iter(
            params.iter().map(backend::to_sqlite),
        ))?;
        Ok(n as u64)
    }

    fn rows(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<Vec<SqlValue>>, DbError> {
        backend::sqlite_rows(self.0, sql, params)
    }
}

impl Store {
    /// Open (or create) the SQLite store at `path`, migrating its schema.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path_buf: PathBuf = path.as_ref().to_path_buf();
        let name = path_buf.display().to_string();
        let conn = Connection::open(&path_buf).map_err(|source| StoreError::Sqlite {
            path: name.clone(),
            source,
        })?;
        Self::init(conn, name)
    }

    /// Open the store `location` names: a `postgres://` or `postgresql://` URL
    /// selects PostgreSQL (password from the URL or `PGPASSWORD`), anything
    /// else is a SQLite file path (`:memory:` an in-memory database). The
    /// schema is created or migrated.
    pub fn open_location(location: &str) -> Result<Self, StoreError> {
        if pg::is_postgres_url(location) {
            Self::open_postgres(location)
        } else if location == ":memory:" {
            Self::open_in_memory()
        } else {
            Self::open(location)
        }
    }

    /// Connect to the PostgreSQL database at `url` and migrate its schema.
    pub fn open_postgres(url: &str) -> Result<Self, StoreError> {
        let path = pg::redact(url);
        let conn = pg::PgConn::connect(url).map_err(|e| match e {
            DbError::Postgres(source) => StoreError::Postgres {
                url: path.clone(),
                source,
            },
            DbError::Decode(message) => StoreError::Migration {
                path: path.clone(),
                message,
            },
            DbError::Sqlite(source) => StoreError::Sqlite {
                path: path.clone(),
                source,
            },
        })?;
        Ok(Self {
            db: Db::Postgres(Box::new(Mutex::new(conn))),
            path,
            read_only: false,
        })
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
        // Refuse what is not ours before anything is written to it (switching
        // to WAL already writes): another program's database, a file that is
        // not SQLite at all, or a store from a newer dora.
        schema::check_foreign_sqlite(&conn).map_err(|message| StoreError::NotAStore {
            path: path.clone(),
            message,
        })?;
        // WAL lets readers (dashboards) work while a sync writes; in-memory
        // databases answer "memory", which is fine.
        // Several processes opening a fresh file at once: switching the journal
        // mode and migrating take locks SQLite may refuse at once (`database
        // is locked`, without calling the busy handler); retry those for as
        // long as the busy timeout.
        let _mode: String = retry_busy(|| {
            conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
        })
        .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sql)?;
        retry_while(
            |message: &String| message.contains("database is locked"),
            || schema::migrate_sqlite(&mut conn),
        )
        .map_err(|message| StoreError::Migration {
            path: path.clone(),
            message,
        })?;
        Ok(Self {
            db: Db::Sqlite(conn),
            path,
            read_only: false,
        })
    }

    /// Open the SQLite store at `path` for reading only: nothing is written to
    /// the file or its directory, so a store on read-only media, in a directory
    /// this user cannot write, or shared read-only with dashboards can still be
    /// reported on. The store must exist at this program's schema version
    /// (migrating is a write); every write ([`Store::apply`],
    /// [`Store::save_report`], …) answers [`StoreError::ReadOnly`].
    ///
    /// When SQLite cannot open the write-ahead log's shared-memory file
    /// (`-shm`: a WAL store in a directory this user cannot write), the file
    /// is opened as immutable: no locks, so a sync writing it at the same
    /// moment is not seen consistently.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        use rusqlite::OpenFlags;
        let path_buf: PathBuf = path.as_ref().to_path_buf();
        let name = path_buf.display().to_string();
        let sql = |source| StoreError::Sqlite {
            path: name.clone(),
            source,
        };
        if !path_buf.exists() {
            return Err(StoreError::NotAStore {
                path: name.clone(),
                message: "no such file: run `dora sync --store <path>` first".into(),
            });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let open = || -> rusqlite::Result<Connection> {
            let conn = Connection::open_with_flags(&path_buf, flags)?;
            conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))?;
            Ok(conn)
        };
        let conn = match open() {
            Ok(conn) => conn,
            Err(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly)
                ) =>
            {
                let mut uri = url_path(&path_buf);
                uri.push_str("?immutable=1");
                Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI).map_err(sql)?
            }
            Err(e) => return Err(sql(e)),
        };
        schema::check_foreign_sqlite(&conn).map_err(|message| StoreError::NotAStore {
            path: name.clone(),
            message,
        })?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sql)?;
        let known = schema::MIGRATIONS.len() as i64;
        if version < known {
            return Err(StoreError::Migration {
                path: name.clone(),
                message: format!(
                    "the store has schema version {version} and this program reads version {known}; migrating writes to it: open it once with write access (e.g. `dora sync --store {name}`)"
                ),
            });
        }
        Ok(Self {
            db: Db::Sqlite(conn),
            path: name,
            read_only: true,
        })
    }

    /// Whether the store was opened read-only ([`Store::open_read_only`]).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Which backend holds the store.
    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// The store's path, or its URL with the password redacted.
    pub fn name(&self) -> &str {
        &self.path
    }

    fn error(&self, e: DbError) -> StoreError {
        match e {
            DbError::Sqlite(source) => StoreError::Sqlite {
                path: self.path.clone(),
                source,
            },
            DbError::Postgres(source) => StoreError::Postgres {
                url: self.path.clone(),
                source,
            },
            DbError::Decode(message) => StoreError::Data {
                path: self.path.clone(),
                message,
            },
        }
    }

    fn pg_lock(m: &Mutex<pg::PgConn>) -> MutexGuard<'_, pg::PgConn> {
        // Every write is one transaction: a panic mid-way leaves nothing half done.
        m.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Run read-only statements `f` (outside a transaction).
    fn read<T: Send>(
        &self,
        f: impl FnOnce(&mut dyn Exec) -> Result<T, DbError> + Send,
    ) -> Result<T, StoreError> {
        let out = match &self.db {
            Db::Sqlite(conn) => f(&mut SqliteExec(conn)),
            Db::Postgres(m) => {
                Self::pg_lock(m).run(|client, cache| f(&mut backend::PgExec { client, cache }))
            }
        };
        out.map_err(|e| self.error(e))
    }

    /// Run `f` in one write transaction (SQLite: immediate, write-locking),
    /// committed when it succeeds and rolled back otherwise.
    fn write<T: Send>(
        &mut self,
        f: impl FnOnce(&mut dyn Exec) -> Result<T, DbError> + Send,
    ) -> Result<T, StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly {
                path: self.path.clone(),
                what: "writing".into(),
            });
        }
        let out = match &mut self.db {
            Db::Sqlite(conn) => (|| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let out = f(&mut SqliteExec(&tx))?;
                tx.commit()?;
                Ok(out)
            })(),
            Db::Postgres(m) => Self::pg_lock(m).write(|tx| f(tx)),
        };
        out.map_err(|e| self.error(e))
    }

    /// Run `f` with the PostgreSQL client (None for SQLite).
    pub(crate) fn with_postgres<T: Send>(
        &self,
        f: impl FnOnce(&mut postgres::Client) -> Result<T, DbError> + Send,
    ) -> Option<Result<T, StoreError>> {
        match &self.db {
            Db::Sqlite(_) => None,
            Db::Postgres(m) => Some(
                Self::pg_lock(m)
                    .run(|client, _| f(client))
                    .map_err(|e| self.error(e)),
            ),
        }
    }

    /// The schema version (the number of applied migrations).
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        match &self.db {
            Db::Sqlite(conn) => conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(|e| self.error(e.into())),
            Db::Postgres(m) => Self::pg_lock(m)
                .run(|client, _| pg::schema_version(client))
                .map_err(|e| self.error(e)),
        }
    }

    /// Insert or update events and store cursors, in one transaction.
    pub fn apply(&mut self, batch: &SyncBatch) -> Result<(), StoreError> {
        self.apply_with_lease(batch, None)
    }

    /// [`Store::apply`], also marking the lease of each cursor's scope done
    /// (for `worker`) in the same transaction.
    pub(crate) fn apply_with_lease(
        &mut self,
        batch: &SyncBatch,
        worker: Option<&str>,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            upsert(tx, &batch.data)?;
            for (source, scope, range) in &batch.spans {
                drift::extend_span(tx, source, scope, *range)?;
            }
            for (source, scope, cursor) in &batch.cursors {
                let now = ts(Utc::now());
                tx.exec(
                    "INSERT INTO sync_cursors (source, scope, cursor, updated_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (source, scope) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
                    vals![source, scope, cursor, &now],
                )?;
                tx.exec(
                    "INSERT INTO sync_progress (source, scope, state, updated_at) VALUES (?1, ?2, 'done', ?3)
                     ON CONFLICT (source, scope) DO UPDATE SET state = 'done', updated_at = excluded.updated_at",
                    vals![source, scope, &now],
                )?;
                if let Some(worker) = worker {
                    tx.exec(pg::LEASE_DONE, vals![source, scope, worker, &now])?;
                }
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
            tx.exec("DELETE FROM sync_progress WHERE source = ?1", vals![source])?;
            let now = ts(Utc::now());
            for scope in scopes {
                tx.exec(
                    "INSERT INTO sync_progress (source, scope, state, updated_at) VALUES (?1, ?2, 'pending', ?3)",
                    vals![source, scope, &now],
                )?;
            }
            Ok(())
        })
    }

    /// Bring the stored scopes of `source` in line with a fresh listing: a
    /// scope listed under a new name with a known id (a renamed repository)
    /// has its rows moved to the new name; with an exhaustive listing, a stored
    /// scope missing from it is marked departed (its events stay in the store,
    /// out of loads, and loads name it in `collection.departed`).
    pub fn reconcile_scopes(
        &mut self,
        source: &str,
        list: &dora_core::ScopeList,
    ) -> Result<ScopeChanges, StoreError> {
        self.write(|tx| drift::reconcile(tx, source, list))
    }

    /// The span the syncs of `scope` covered, if it was ever synced.
    pub fn span(&self, source: &str, scope: &str) -> Result<Option<TimeRange>, StoreError> {
        self.read(|db| drift::span(db, source, scope))
    }

    /// Record whether incidents were attributed through a service mapping (an
    /// incident sync sets it each run, so removing the mapping clears it).
    pub fn set_service_mapping(&mut self, on: bool) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.exec(
                "INSERT INTO store_flags (name, value) VALUES ('service_mapping', ?1)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                vals![if on { "true" } else { "false" }],
            )
            .map(|_| ())
        })
    }

    /// Scopes (`source`, `scope`) whose last sync did not finish.
    pub fn incomplete_scopes(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.read(|db| {
            db.rows(
                "SELECT source, scope FROM sync_progress WHERE state = 'pending' ORDER BY source, scope",
                &[],
            )?
            .iter()
            .map(|r| Ok((text(r, 0)?, text(r, 1)?)))
            .collect()
        })
    }

    /// Insert or update events (no cursor).
    pub fn save(&mut self, data: &Dataset) -> Result<(), StoreError> {
        self.write(|tx| upsert(tx, data))
    }

    /// The cursor a source stored for a scope.
    pub fn cursor(&self, source: &str, scope: &str) -> Result<Option<String>, StoreError> {
        self.read(|db| {
            let rows = db.rows(
                "SELECT cursor FROM sync_cursors WHERE source = ?1 AND scope = ?2",
                vals![source, scope],
            )?;
            rows.first().map(|r| text(r, 0)).transpose()
        })
    }

    /// Row counts per table.
    pub fn counts(&self) -> Result<StoreCounts, StoreError> {
        self.read(|db| {
            let mut count = |table: &str| -> Result<usize, DbError> {
                let rows = db.rows(&format!("SELECT COUNT(*) FROM {table}"), &[])?;
                Ok(rows.first().map_or(Ok(0), |r| int(r, 0))?.max(0) as usize)
            };
            Ok(StoreCounts {
                repositories: count("repositories")?,
                commits: count("commits")?,
                pull_requests: count("pull_requests")?,
                environments: count("environments")?,
                deployments: count("deployments")?,
                incidents: count("incidents")?,
            })
        })
    }

    /// Load every stored event as a dataset (in key order).
    pub fn load(&self) -> Result<Dataset, StoreError> {
        self.read(load)
    }

    /// Deployments whose state can still change (in progress), for re-checking.
    pub fn deployments_in_progress(&self, repository: &str) -> Result<Vec<String>, StoreError> {
        self.read(|db| {
            db.rows(
                "SELECT id FROM deployments WHERE repository = ?1 AND status = 'in_progress' ORDER BY id",
                vals![repository],
            )?
            .iter()
            .map(|r| text(r, 0))
            .collect()
        })
    }

    /// Incidents not yet resolved, for re-fetching.
    pub fn unresolved_incidents(&self, source: &str) -> Result<Vec<String>, StoreError> {
        self.read(|db| {
            db.rows(
                "SELECT id FROM incidents WHERE source = ?1 AND resolved_at IS NULL AND status != 'dismissed' ORDER BY id",
                vals![source],
            )?
            .iter()
            .map(|r| text(r, 0))
            .collect()
        })
    }

    /// Opening time of the oldest unresolved incident of a source.
    pub fn oldest_unresolved_incident(
        &self,
        source: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let t: Option<String> = self.read(|db| {
            let rows = db.rows(
                "SELECT MIN(opened_at) FROM incidents WHERE source = ?1 AND resolved_at IS NULL AND status != 'dismissed'",
                vals![source],
            )?;
            rows.first().map_or(Ok(None), |r| opt_text(r, 0))
        })?;
        Ok(t.and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc)))
    }

    /// Store a computed report and the rows behind it (the `v_*` views show the latest).
    pub fn save_report(&mut self, report: &Report) -> Result<i64, StoreError> {
        self.write(|tx| insert_report(tx, report))
    }

    /// The underlying SQLite connection, for ad-hoc read queries (None for
    /// PostgreSQL: use [`Store::query_text`] and [`Store::execute_batch`],
    /// which serve both backends).
    pub fn connection(&self) -> Option<&Connection> {
        match &self.db {
            Db::Sqlite(conn) => Some(conn),
            Db::Postgres(_) => None,
        }
    }

    /// Run SQL statements (separated by `;`, no parameters) on either backend,
    /// outside the store's transactions: for set-up, tests and maintenance.
    pub fn execute_batch(&mut self, sql: &str) -> Result<(), StoreError> {
        let out = match &mut self.db {
            Db::Sqlite(conn) => conn.execute_batch(sql).map_err(DbError::from),
            Db::Postgres(m) => {
                Self::pg_lock(m).run(|client, _| client.batch_execute(sql).map_err(DbError::from))
            }
        };
        out.map_err(|e| self.error(e))
    }

    /// Run one ad-hoc read query on either backend; every value as text
    /// (NULL as None), whatever its SQL type: what a dashboard would show.
    pub fn query_text(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>, StoreError> {
        let out = match &self.db {
            Db::Sqlite(conn) => backend::sqlite_rows(conn, sql, &[]).map(|rows| {
                rows.into_iter()
                    .map(|r| {
                        r.into_iter()
                            .map(|v| match v {
                                SqlValue::Null => None,
                                SqlValue::Int(n) => Some(n.to_string()),
                                SqlValue::Real(x) => Some(x.to_string()),
                                SqlValue::Text(s) => Some(s),
                            })
                            .collect()
                    })
                    .collect()
            }),
            Db::Postgres(m) => Self::pg_lock(m).run(|client, _| {
                let mut out = Vec::new();
                for msg in client.simple_query(sql)? {
                    if let postgres::SimpleQueryMessage::Row(row) = msg {
                        out.push(
                            (0..row.len())
                                .map(|i| row.get(i).map(str::to_string))
                                .collect(),
                        );
                    }
                }
                Ok(out)
            }),
        };
        out.map_err(|e| self.error(e))
    }

    /// Run one read query with parameters (`?1`, `?2`, … in both backends);
    /// its rows as values.
    pub fn query_values(
        &self,
        sql: &str,
        params: &[SqlValue],
    ) -> Result<Vec<Vec<SqlValue>>, StoreError> {
        self.read(|db| db.rows(sql, params))
    }
}

fn bad(col: usize, message: String) -> DbError {
    DbError::Decode(format!("column {col}: {message}"))
}

fn value(r: &[SqlValue], col: usize) -> Result<&SqlValue, DbError> {
    r.get(col)
        .ok_or_else(|| bad(col, "missing from the row".into()))
}

pub(crate) fn opt_text(r: &[SqlValue], col: usize) -> Result<Option<String>, DbError> {
    match value(r, col)? {
        SqlValue::Null => Ok(None),
        SqlValue::Text(s) => Ok(Some(s.clone())),
        SqlValue::Int(n) => Ok(Some(n.to_string())),
        SqlValue::Real(x) => Ok(Some(x.to_string())),
    }
}

pub(crate) fn text(r: &[SqlValue], col: usize) -> Result<String, DbError> {
    opt_text(r, col)?.ok_or_else(|| bad(col, "unexpected NULL".into()))
}

pub(crate) fn int(r: &[SqlValue], col: usize) -> Result<i64, DbError> {
    match value(r, col)? {
        SqlValue::Int(n) => Ok(*n),
        SqlValue::Text(s) => s
            .parse()
            .map_err(|_| bad(col, format!("not an integer: {s:?}"))),
        other => Err(bad(col, format!("not an integer: {other:?}"))),
    }
}

pub(crate) fn time_col(r: &[SqlValue], col: usize) -> Result<DateTime<Utc>, DbError> {
    let s = text(r, col)?;
    DateTime::parse_from_rfc3339(&s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| bad(col, format!("bad time {s:?}: {e}")))
}

fn opt_time_col(r: &[SqlValue], col: usize) -> Result<Option<DateTime<Utc>>, DbError> {
    opt_text(r, col)?
        .map(|s| {
            DateTime::parse_from_rfc3339(&s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| bad(col, format!("bad time {s:?}: {e}")))
        })
        .transpose()
}

fn json_col(r: &[SqlValue], col: usize) -> Result<Vec<String>, DbError> {
    let s = text(r, col)?;
    serde_json::from_str(&s).map_err(|e| bad(col, format!("bad JSON array {s:?}: {e}")))
}

fn enum_col<T: serde::de::DeserializeOwned>(r: &[SqlValue], col: usize) -> Result<T, DbError> {
    let s = text(r, col)?;
    serde_json::from_value(serde_json::Value::String(s.clone()))
        .map_err(|e| bad(col, format!("unknown value {s:?}: {e}")))
}

fn actor_cols(r: &[SqlValue], col: usize) -> Result<Option<Actor>, DbError> {
    let id = opt_text(r, col)?;
    let name = opt_text(r, col + 1)?;
    let kind = opt_text(r, col + 2)?;
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

/// Run `f` again while its error is `retryable` (up to 30 s, backing off).
fn retry_while<T, E>(
    retryable: impl Fn(&E) -> bool,
    mut f: impl FnMut() -> Result<T, E>,
) -> Result<T, E> {
    let started = std::time::Instant::now();
    let mut delay = Duration::from_millis(10);
    loop {
        match f() {
            Err(e) if retryable(&e) && started.elapsed() < Duration::from_secs(30) => {
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_millis(500));
            }
            other => return other,
        }
    }
}

/// Run `f` again while SQLite answers "busy" (see [`retry_while`]).
fn retry_busy<T>(f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    retry_while(
        |e: &rusqlite::Error| {
            matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            )
        },
        f,
    )
}

/// The scope name incident syncs use in `sync_cursors` and `sync_progress`.
pub(crate) const INCIDENT_SCOPE: &str = "incidents";

fn load(db: &mut dyn Exec) -> Result<Dataset, DbError> {
    let mut data = Dataset::new();
    data.repositories = db
        .rows(
            "SELECT slug, main_branch, url, development_branch, hotfix_prefix, release_prefix
             FROM repositories ORDER BY slug",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(Repository {
                slug: text(r, 0)?,
                main_branch: opt_text(r, 1)?,
                url: opt_text(r, 2)?,
                development_branch: opt_text(r, 3)?,
                hotfix_prefix: opt_text(r, 4)?,
                release_prefix: opt_text(r, 5)?,
            })
        })
        .collect::<Result<_, DbError>>()?;
    data.commits = db
        .rows(
            "SELECT repository, sha, parents, authored_at, committed_at, author_id, author_name, author_kind, message
             FROM commits WHERE unreachable_since IS NULL ORDER BY repository, sha",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(Commit {
                repository: text(r, 0)?,
                sha: text(r, 1)?,
                parents: json_col(r, 2)?,
                authored_at: time_col(r, 3)?,
                committed_at: time_col(r, 4)?,
                author: actor_cols(r, 5)?,
                message: text(r, 8)?,
            })
        })
        .collect::<Result<_, DbError>>()?;
    data.pull_requests = db
        .rows(
            "SELECT repository, id, title, author_id, author_name, author_kind, source_branch, destination_branch,
                    state, created_at, first_review_at, merged_at, merge_commit, commits, url
             FROM pull_requests ORDER BY repository, id",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(PullRequest {
                repository: text(r, 0)?,
                id: int(r, 1)?.max(0) as u64,
                title: text(r, 2)?,
                author: actor_cols(r, 3)?.unwrap_or_default(),
                source_branch: text(r, 6)?,
                destination_branch: text(r, 7)?,
                state: enum_col::<PullRequestState>(r, 8)?,
                created_at: time_col(r, 9)?,
                first_review_at: opt_time_col(r, 10)?,
                merged_at: opt_time_col(r, 11)?,
                merge_commit: opt_text(r, 12)?,
                commits: json_col(r, 13)?,
                url: opt_text(r, 14)?,
            })
        })
        .collect::<Result<_, DbError>>()?;
    data.environments = db
        .rows(
            "SELECT repository, name, kind FROM environments ORDER BY repository, name",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(Environment {
                repository: text(r, 0)?,
                name: text(r, 1)?,
                kind: enum_col::<EnvironmentKind>(r, 2)?,
            })
        })
        .collect::<Result<_, DbError>>()?;
    data.deployments = db
        .rows(
            "SELECT repository, id, environment, environment_kind, commit_sha, started_at, finished_at, status, release, url
             FROM deployments ORDER BY repository, id",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(Deployment {
                repository: text(r, 0)?,
                id: text(r, 1)?,
                environment: text(r, 2)?,
                environment_kind: enum_col::<EnvironmentKind>(r, 3)?,
                commit: text(r, 4)?,
                started_at: opt_time_col(r, 5)?,
                finished_at: opt_time_col(r, 6)?,
                status: enum_col::<DeploymentStatus>(r, 7)?,
                release: opt_text(r, 8)?,
                url: opt_text(r, 9)?,
            })
        })
        .collect::<Result<_, DbError>>()?;
    data.incidents = db
        .rows(
            "SELECT source, id, title, service, severity, raw_severity, opened_at, resolved_at, status, repositories, url
             FROM incidents ORDER BY source, id",
            &[],
        )?
        .iter()
        .map(|r| {
            let severity = opt_text(r, 4)?;
            Ok(Incident {
                source: text(r, 0)?,
                id: text(r, 1)?,
                title: text(r, 2)?,
                service: opt_text(r, 3)?,
                severity: severity.as_deref().and_then(Severity::parse),
                raw_severity: opt_text(r, 5)?,
                opened_at: time_col(r, 6)?,
                resolved_at: opt_time_col(r, 7)?,
                status: enum_col::<IncidentStatus>(r, 8)?,
                repositories: json_col(r, 9)?,
                url: opt_text(r, 10)?,
            })
        })
        .collect::<Result<_, DbError>>()?;
    data.collection = load_notes(db)?;
    drift::load_into(db, &mut data)?;
    Ok(data)
}

/// The stored collection notes (skipped items, history gaps, unfinished
/// scopes, whether incidents were mapped to repositories).
fn load_notes(db: &mut dyn Exec) -> Result<CollectionNotes, DbError> {
    let mut notes = CollectionNotes::default();
    let skipped = db.rows(
        "SELECT kind, scope, item_id, reason, detail, n FROM skipped_events ORDER BY kind, scope, item_id, reason",
        &[],
    )?;
    for r in &skipped {
        let (kind, scope, id, reason, detail, n) = (
            text(r, 0)?,
            text(r, 1)?,
            text(r, 2)?,
            text(r, 3)?,
            text(r, 4)?,
            int(r, 5)?,
        );
        let Ok(kind) = serde_json::from_value::<EventKind>(serde_json::Value::String(kind)) else {
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
    notes.history_truncated = db
        .rows(
            "SELECT repository, pull_request, remedy FROM history_gaps ORDER BY repository, pull_request",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(HistoryGap {
                repository: text(r, 0)?,
                pull_request: int(r, 1)?.max(0) as u64,
                remedy: text(r, 2)?,
            })
        })
        .collect::<Result<_, DbError>>()?;
    let incomplete = db.rows(
        "SELECT source, scope FROM sync_progress WHERE state = 'pending' ORDER BY source, scope",
        &[],
    )?;
    for r in &incomplete {
        let (source, scope) = (text(r, 0)?, text(r, 1)?);
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
    notes.service_mapping = db
        .rows(
            "SELECT value FROM store_flags WHERE name = 'service_mapping'",
            &[],
        )?
        .first()
        .map(|r| text(r, 0))
        .transpose()?
        .is_some_and(|v| v == "true");
    Ok(notes)
}

/// Store a batch's collection notes. A skipped item that later arrives readable
/// leaves `skipped_events`; a pull request re-read without a history gap leaves
/// `history_gaps` (the latest word about each item wins).
fn upsert_notes(tx: &mut dyn Exec, data: &Dataset) -> Result<(), DbError> {
    let notes = &data.collection;
    let any_skipped = !tx
        .rows("SELECT 1 FROM skipped_events LIMIT 1", &[])?
        .is_empty();
    if any_skipped {
        let mut keys: Vec<Vec<SqlValue>> = Vec::new();
        for p in &data.pull_requests {
            keys.push(vals!["pull_request", &p.repository, p.id.to_string()].to_vec());
        }
        for d in &data.deployments {
            keys.push(vals!["deployment", &d.repository, &d.id].to_vec());
        }
        for i in &data.incidents {
            keys.push(vals!["incident", &i.source, &i.id].to_vec());
        }
        delete_keys(
            tx,
            "DELETE FROM skipped_events WHERE (kind, scope, item_id) IN",
            &keys,
        )?;
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
    for ((kind, scope, id, reason), (detail, n)) in counts {
        tx.exec(
            "INSERT INTO skipped_events (kind, scope, item_id, reason, detail, n, seen_at) VALUES (?1,?2,?3,?4,?5,?6,?7)
             ON CONFLICT (kind, scope, item_id, reason) DO UPDATE SET detail = excluded.detail, n = excluded.n, seen_at = excluded.seen_at",
            vals![kind, scope, id, reason, detail, n, ts(Utc::now())],
        )?;
    }
    let gaps: HashSet<(&str, u64)> = notes
        .history_truncated
        .iter()
        .map(|g| (g.repository.as_str(), g.pull_request))
        .collect();
    let any_gaps = !tx
        .rows("SELECT 1 FROM history_gaps LIMIT 1", &[])?
        .is_empty();
    if any_gaps {
        // A gap closes when the batch proves the history: the pull request's
        // own commits, or its merge commit on the walked branch. (A later
        // sync re-reading an edited old pull request proves nothing.)
        // (Merge commits may be abbreviated: matched as prefixes.)
        let walked: std::collections::BTreeSet<(&str, &str)> = data
            .commits
            .iter()
            .map(|c| (c.repository.as_str(), c.sha.as_str()))
            .collect();
        let on_walk = |repo: &str, m: &str| {
            walked
                .range((repo, m)..)
                .next()
                .is_some_and(|(r, sha)| *r == repo && sha.starts_with(m))
        };
        let keys: Vec<Vec<SqlValue>> = data
            .pull_requests
            .iter()
            .filter(|p| !gaps.contains(&(p.repository.as_str(), p.id)))
            .filter(|p| {
                p.state != PullRequestState::Merged
                    || !p.commits.is_empty()
                    || p.merge_commit
                        .as_deref()
                        .is_some_and(|m| on_walk(&p.repository, m))
            })
            .map(|p| vals![&p.repository, p.id as i64].to_vec())
            .collect();
        delete_keys(
            tx,
            "DELETE FROM history_gaps WHERE (repository, pull_request) IN",
            &keys,
        )?;
    }
    for g in &notes.history_truncated {
        tx.exec(
            "INSERT INTO history_gaps (repository, pull_request, remedy) VALUES (?1, ?2, ?3)
             ON CONFLICT (repository, pull_request) DO UPDATE SET remedy = excluded.remedy",
            vals![&g.repository, g.pull_request as i64, &g.remedy],
        )?;
    }
    if notes.service_mapping {
        tx.exec(
            "INSERT INTO store_flags (name, value) VALUES ('service_mapping', 'true')
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            &[],
        )?;
    }
    Ok(())
}

/// Delete the rows whose key tuple is one of `keys`: `delete` ends with
/// `WHERE (k1, …) IN`; a `VALUES` list follows (chunks of 300 keys).
fn delete_keys(tx: &mut dyn Exec, delete: &str, keys: &[Vec<SqlValue>]) -> Result<(), DbError> {
    for part in keys.chunks(300) {
        let mut sql = format!("{delete} (VALUES ");
        let mut params = Vec::new();
        for (r, key) in part.iter().enumerate() {
            if r > 0 {
                sql.push(',');
            }
            let cols: Vec<String> = key
                .iter()
                .map(|v| {
                    params.push(v.clone());
                    // A VALUES list does not type its parameters from the
                    // compared columns in PostgreSQL: integers say so.
                    match v {
                        SqlValue::Int(_) => format!("CAST(?{} AS BIGINT)", params.len()),
                        _ => format!("?{}", params.len()),
                    }
                })
                .collect();
            sql.push_str(&format!("({})", cols.join(",")));
        }
        sql.push(')');
        tx.exec(&sql, &params)?;
    }
    Ok(())
}

fn upsert(tx: &mut dyn Exec, data: &Dataset) -> Result<(), DbError> {
    upsert_notes(tx, data)?;
    drift::upsert_repository_notes(tx, data)?;
    drift::mark_rewritten(tx, data)?;
    for r in &data.repositories {
        tx.exec(
            "INSERT INTO repositories (slug, main_branch, url, development_branch, hotfix_prefix, release_prefix)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (slug) DO UPDATE SET main_branch = COALESCE(excluded.main_branch, repositories.main_branch),
               url = COALESCE(excluded.url, repositories.url),
               development_branch = excluded.development_branch,
               hotfix_prefix = excluded.hotfix_prefix,
               release_prefix = excluded.release_prefix",
            vals![
                &r.slug,
                r.main_branch.as_ref(),
                r.url.as_ref(),
                r.development_branch.as_ref(),
                r.hotfix_prefix.as_ref(),
                r.release_prefix.as_ref()
            ],
        )?;
    }
    let rows: Vec<Vec<SqlValue>> = data
        .commits
        .iter()
        .map(|c| {
            vals![
                &c.repository,
                &c.sha,
                json_array(&c.parents),
                ts(c.authored_at),
                ts(c.committed_at),
                c.author.as_ref().map(|a| a.id.clone()),
                c.author.as_ref().map(|a| a.display_name.clone()),
                c.author.as_ref().map(|a| enum_text(&a.kind)),
                &c.message
            ]
            .to_vec()
        })
        .collect();
    tx.insert_rows(
        "INSERT INTO commits (repository, sha, parents, authored_at, committed_at, author_id, author_name, author_kind, message)",
        "ON CONFLICT (repository, sha) DO UPDATE SET parents = excluded.parents, authored_at = excluded.authored_at,
               committed_at = excluded.committed_at, author_id = excluded.author_id, author_name = excluded.author_name,
               author_kind = excluded.author_kind, message = excluded.message, unreachable_since = NULL",
        2,
        &rows,
    )?;
    let rows: Vec<Vec<SqlValue>> = data
        .pull_requests
        .iter()
        .map(|p| {
            vals![
                &p.repository,
                p.id as i64,
                &p.title,
                &p.author.id,
                &p.author.display_name,
                enum_text(&p.author.kind),
                &p.source_branch,
                &p.destination_branch,
                enum_text(&p.state),
                ts(p.created_at),
                opt_ts(p.first_review_at),
                opt_ts(p.merged_at),
                p.merge_commit.as_ref(),
                json_array(&p.commits),
                p.url.as_ref()
            ]
            .to_vec()
        })
        .collect();
    tx.insert_rows(
        "INSERT INTO pull_requests (repository, id, title, author_id, author_name, author_kind, source_branch,
               destination_branch, state, created_at, first_review_at, merged_at, merge_commit, commits, url)",
        "ON CONFLICT (repository, id) DO UPDATE SET title = excluded.title, author_id = excluded.author_id,
               author_name = excluded.author_name, author_kind = excluded.author_kind, source_branch = excluded.source_branch,
               destination_branch = excluded.destination_branch, state = excluded.state, created_at = excluded.created_at,
               first_review_at = excluded.first_review_at, merged_at = excluded.merged_at,
               merge_commit = excluded.merge_commit,
               commits = CASE WHEN excluded.commits = '[]' AND COALESCE(excluded.merge_commit, '') = COALESCE(pull_requests.merge_commit, '')
                              THEN pull_requests.commits ELSE excluded.commits END,
               url = excluded.url",
        2,
        &rows,
    )?;
    let rows: Vec<Vec<SqlValue>> = data
        .environments
        .iter()
        .map(|e| vals![&e.repository, &e.name, enum_text(&e.kind)].to_vec())
        .collect();
    tx.insert_rows(
        "INSERT INTO environments (repository, name, kind)",
        "ON CONFLICT (repository, name) DO UPDATE SET kind = excluded.kind",
        2,
        &rows,
    )?;
    let rows: Vec<Vec<SqlValue>> = data
        .deployments
        .iter()
        .map(|d| {
            vals![
                &d.repository,
                &d.id,
                &d.environment,
                enum_text(&d.environment_kind),
                &d.commit,
                opt_ts(d.started_at),
                opt_ts(d.finished_at),
                enum_text(&d.status),
                d.release.as_ref(),
                d.url.as_ref()
            ]
            .to_vec()
        })
        .collect();
    tx.insert_rows(
        "INSERT INTO deployments (repository, id, environment, environment_kind, commit_sha, started_at, finished_at, status, release, url)",
        "ON CONFLICT (repository, id) DO UPDATE SET environment = excluded.environment,
               environment_kind = excluded.environment_kind, commit_sha = excluded.commit_sha,
               started_at = excluded.started_at, finished_at = excluded.finished_at, status = excluded.status,
               release = excluded.release, url = excluded.url",
        2,
        &rows,
    )?;
    let rows: Vec<Vec<SqlValue>> = data
        .incidents
        .iter()
        .map(|i| {
            vals![
                &i.source,
                &i.id,
                &i.title,
                i.service.as_ref(),
                i.severity.map(|s| s.to_string()),
                i.raw_severity.as_ref(),
                ts(i.opened_at),
                opt_ts(i.resolved_at),
                enum_text(&i.status),
                json_array(&i.repositories),
                i.url.as_ref()
            ]
            .to_vec()
        })
        .collect();
    tx.insert_rows(
        "INSERT INTO incidents (source, id, title, service, severity, raw_severity, opened_at, resolved_at, status, repositories, url)",
        "ON CONFLICT (source, id) DO UPDATE SET title = excluded.title, service = excluded.service,
               severity = excluded.severity, raw_severity = excluded.raw_severity, opened_at = excluded.opened_at,
               resolved_at = excluded.resolved_at, status = excluded.status, repositories = excluded.repositories,
               url = excluded.url",
        2,
        &rows,
    )?;
    Ok(())
}

fn insert_report(tx: &mut dyn Exec, report: &Report) -> Result<i64, DbError> {
    let rows = tx.rows(
        "INSERT INTO report_runs (computed_at, window_start, window_end, report) VALUES (?1, ?2, ?3, ?4) RETURNING id",
        vals![
            ts(Utc::now()),
            ts(report.window.start),
            ts(report.window.end),
            report.to_json()
        ],
    )?;
    let run = rows
        .first()
        .map(|r| int(r, 0))
        .transpose()?
        .ok_or_else(|| DbError::Decode("inserting a report run returned no id".into()))?;
    let rows: Vec<Vec<SqlValue>> = report
        .changes
        .iter()
        .map(|c| {
            vals![
                run,
                &c.repository,
                c.pull_request as i64,
                &c.title,
                &c.author,
                ts(c.first_commit_at),
                ts(c.created_at),
                opt_ts(c.first_review_at),
                ts(c.merged_at),
                ts(c.deployed_at),
                &c.deployment,
                c.lead_time_seconds,
                c.coding_seconds,
                c.pickup_seconds,
                c.review_seconds,
                c.deploy_seconds,
                c.hotfix
            ]
            .to_vec()
        })
        .collect();
    tx.insert_rows(
        "INSERT INTO report_changes (run_id, repository, pull_request, title, author, first_commit_at, created_at,
             first_review_at, merged_at, deployed_at, deployment, lead_time_seconds, coding_seconds, pickup_seconds,
             review_seconds, deploy_seconds, hotfix)",
        "",
        0,
        &rows,
    )?;
    let rows: Vec<Vec<SqlValue>> = report
        .deployments
        .iter()
        .map(|d| {
            let signals: Vec<String> = d.failures.iter().map(|f| enum_text(&f.signal)).collect();
            vals![
                run,
                &d.repository,
                &d.id,
                &d.environment,
                &d.commit,
                ts(d.deployed_at),
                enum_text(&d.status),
                d.changes as i64,
                !d.failures.is_empty(),
                signals.join(","),
                d.excused_rerun,
                d.rework,
                d.recovery_seconds,
                d.from_merge
            ]
            .to_vec()
        })
        .collect();
    tx.insert_rows(
        "INSERT INTO report_deployments (run_id, repository, id, environment, commit_sha, deployed_at, status,
             changes, failed, signals, excused_rerun, rework, recovery_seconds, from_merge)",
        "",
        0,
        &rows,
    )?;
    let rows: Vec<Vec<SqlValue>> = report
        .incidents
        .iter()
        .map(|i| {
            vals![
                run,
                &i.source,
                &i.id,
                &i.title,
                i.service.as_ref(),
                i.severity.map(|s| s.to_string()),
                ts(i.opened_at),
                opt_ts(i.resolved_at),
                i.recovery_seconds,
                i.counted,
                i.deployment.as_ref()
            ]
            .to_vec()
        })
        .collect();
    tx.insert_rows(
        "INSERT INTO report_incidents (run_id, source, id, title, service, severity, opened_at, resolved_at,
             recovery_seconds, counted, deployment)",
        "",
        0,
        &rows,
    )?;
    Ok(run)
}

/// `path` as an SQLite `file:` URI (absolute, percent-encoded where a URI
/// needs it).
fn url_path(path: &Path) -> String {
    let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = String::from("file:");
    for b in absolute.to_string_lossy().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}
