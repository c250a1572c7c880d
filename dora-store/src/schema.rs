//! The schema, as ordered migrations. SQLite records how many ran in `PRAGMA
//! user_version`, PostgreSQL in the `dora_schema` table. The SQL is written once,
//! in SQLite's dialect; [`postgres_sql`] maps its types to PostgreSQL's, so both
//! backends hold the same tables, columns and views.

const V1: &str = r#"
CREATE TABLE repositories (
    slug        TEXT PRIMARY KEY,
    main_branch TEXT
);
CREATE TABLE commits (
    repository   TEXT NOT NULL,
    sha          TEXT NOT NULL,
    parents      TEXT NOT NULL DEFAULT '[]',
    authored_at  TEXT NOT NULL,
    committed_at TEXT NOT NULL,
    author_id    TEXT,
    author_name  TEXT,
    author_kind  TEXT,
    message      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (repository, sha)
);
CREATE TABLE pull_requests (
    repository         TEXT NOT NULL,
    id                 INTEGER NOT NULL,
    title              TEXT NOT NULL DEFAULT '',
    author_id          TEXT,
    author_name        TEXT,
    author_kind        TEXT,
    source_branch      TEXT NOT NULL,
    destination_branch TEXT NOT NULL,
    state              TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    first_review_at    TEXT,
    merged_at          TEXT,
    merge_commit       TEXT,
    commits            TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (repository, id)
);
CREATE INDEX pull_requests_merged_at ON pull_requests (merged_at);
CREATE TABLE environments (
    repository TEXT NOT NULL,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    PRIMARY KEY (repository, name)
);
CREATE TABLE deployments (
    repository       TEXT NOT NULL,
    id               TEXT NOT NULL,
    environment      TEXT NOT NULL,
    environment_kind TEXT NOT NULL,
    commit_sha       TEXT NOT NULL,
    started_at       TEXT,
    finished_at      TEXT,
    status           TEXT NOT NULL,
    PRIMARY KEY (repository, id)
);
CREATE INDEX deployments_finished_at ON deployments (finished_at);
CREATE TABLE incidents (
    source       TEXT NOT NULL,
    id           TEXT NOT NULL,
    title        TEXT NOT NULL DEFAULT '',
    service      TEXT,
    severity     TEXT,
    raw_severity TEXT,
    opened_at    TEXT NOT NULL,
    resolved_at  TEXT,
    status       TEXT NOT NULL,
    repositories TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (source, id)
);
CREATE INDEX incidents_opened_at ON incidents (opened_at);
CREATE TABLE sync_cursors (
    source     TEXT NOT NULL,
    scope      TEXT NOT NULL,
    cursor     TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (source, scope)
);
CREATE TABLE report_runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    computed_at  TEXT NOT NULL,
    window_start TEXT NOT NULL,
    window_end   TEXT NOT NULL,
    report       TEXT NOT NULL
);
CREATE TABLE report_changes (
    run_id            INTEGER NOT NULL REFERENCES report_runs (id) ON DELETE CASCADE,
    repository        TEXT NOT NULL,
    pull_request      INTEGER NOT NULL,
    title             TEXT NOT NULL,
    author            TEXT NOT NULL,
    first_commit_at   TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    first_review_at   TEXT,
    merged_at         TEXT NOT NULL,
    deployed_at       TEXT NOT NULL,
    deployment        TEXT NOT NULL,
    lead_time_seconds REAL NOT NULL,
    coding_seconds    REAL NOT NULL,
    pickup_seconds    REAL NOT NULL,
    review_seconds    REAL NOT NULL,
    deploy_seconds    REAL NOT NULL,
    hotfix            INTEGER NOT NULL
);
CREATE TABLE report_deployments (
    run_id           INTEGER NOT NULL REFERENCES report_runs (id) ON DELETE CASCADE,
    repository       TEXT NOT NULL,
    id               TEXT NOT NULL,
    environment      TEXT NOT NULL,
    commit_sha       TEXT NOT NULL,
    deployed_at      TEXT NOT NULL,
    status           TEXT NOT NULL,
    changes          INTEGER NOT NULL,
    failed           INTEGER NOT NULL,
    signals          TEXT NOT NULL,
    excused_rerun    INTEGER NOT NULL,
    rework           INTEGER NOT NULL,
    recovery_seconds REAL,
    from_merge       INTEGER NOT NULL
);
CREATE TABLE report_incidents (
    run_id           INTEGER NOT NULL REFERENCES report_runs (id) ON DELETE CASCADE,
    source           TEXT NOT NULL,
    id               TEXT NOT NULL,
    title            TEXT NOT NULL,
    service          TEXT,
    severity         TEXT,
    opened_at        TEXT NOT NULL,
    resolved_at      TEXT,
    recovery_seconds REAL,
    counted          INTEGER NOT NULL,
    deployment       TEXT
);
CREATE VIEW v_changes AS
    SELECT * FROM report_changes WHERE run_id = (SELECT MAX(id) FROM report_runs);
CREATE VIEW v_deployments AS
    SELECT * FROM report_deployments WHERE run_id = (SELECT MAX(id) FROM report_runs);
CREATE VIEW v_incidents AS
    SELECT * FROM report_incidents WHERE run_id = (SELECT MAX(id) FROM report_runs);
CREATE VIEW v_production_deployments AS
    SELECT repository, id, environment, commit_sha, COALESCE(finished_at, started_at) AS deployed_at, status
    FROM deployments WHERE environment_kind = 'production';
"#;

/// Version 2: what the sources said about their own completeness, so a report
/// from the store accounts for it as a fresh collection would.
const V2: &str = r#"
CREATE TABLE skipped_events (
    kind TEXT NOT NULL,
    scope TEXT NOT NULL DEFAULT '',
    item_id TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    n INTEGER NOT NULL DEFAULT 1,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (kind, scope, item_id, reason)
);
CREATE TABLE history_gaps (
    repository TEXT NOT NULL,
    pull_request INTEGER NOT NULL,
    remedy TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (repository, pull_request)
);
CREATE TABLE sync_progress (
    source TEXT NOT NULL,
    scope TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (source, scope)
);
CREATE TABLE store_flags (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#;

/// Version 3: leases through which cooperating sync workers split a source's
/// scopes (used by the PostgreSQL backend; present in both so the tables match).
/// `expires_at` is seconds since the Unix epoch on the database server's clock.
const V3: &str = r#"
CREATE TABLE sync_leases (
    source     TEXT NOT NULL,
    scope      TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    worker     TEXT,
    expires_at INTEGER,
    round      INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (source, scope)
);
"#;

/// Version 4: where each item lives on the web (click-through links), and the
/// release name people know a deployment by (`#186`).
const V4: &str = r#"
ALTER TABLE repositories ADD COLUMN url TEXT;
ALTER TABLE pull_requests ADD COLUMN url TEXT;
ALTER TABLE deployments ADD COLUMN release TEXT;
ALTER TABLE deployments ADD COLUMN url TEXT;
ALTER TABLE incidents ADD COLUMN url TEXT;
"#;

/// Version 5: what keeps the store equal to a fresh collection when the
/// world changes between syncs: commits a force-push left behind (marked, not
/// used), each scope's identity (renames follow it) and departure, the span
/// each scope's syncs covered, items dated after the syncing clock, and the
/// pipeline runs seen on a production branch without production deployments.
const V5: &str = r#"
ALTER TABLE commits ADD COLUMN unreachable_since TEXT;
CREATE TABLE sync_scopes (
    source      TEXT NOT NULL,
    scope       TEXT NOT NULL,
    scope_id    TEXT,
    departed_at TEXT,
    PRIMARY KEY (source, scope)
);
CREATE TABLE sync_spans (
    source     TEXT NOT NULL,
    scope      TEXT NOT NULL,
    span_start TEXT NOT NULL,
    span_end   TEXT NOT NULL,
    PRIMARY KEY (source, scope)
);
CREATE TABLE clock_skews (
    scope       TEXT NOT NULL,
    item        TEXT NOT NULL,
    dated       TEXT NOT NULL,
    observed_at TEXT NOT NULL,
    PRIMARY KEY (scope, item)
);
CREATE TABLE pipeline_runs (
    repository TEXT PRIMARY KEY,
    branch     TEXT NOT NULL,
    runs       INTEGER NOT NULL,
    latest_at  TEXT NOT NULL,
    latest_url TEXT
);
"#;

/// Version 6: what each repository's branching model says (its development
/// branch, hotfix and release prefixes), re-read by every sync.
const V6: &str = r#"
ALTER TABLE repositories ADD COLUMN development_branch TEXT;
ALTER TABLE repositories ADD COLUMN hotfix_prefix TEXT;
ALTER TABLE repositories ADD COLUMN release_prefix TEXT;
"#;

/// Every migration, oldest first (SQLite's dialect).
pub(crate) const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6];

/// A migration in PostgreSQL's dialect: 64-bit integers, double precision,
/// identity keys, and byte-order (`"C"`) collation on text so that sorting and
/// comparisons agree with SQLite's.
pub(crate) fn postgres_sql(sqlite: &str) -> String {
    sqlite
        .replace(
            "INTEGER PRIMARY KEY AUTOINCREMENT",
            "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        )
        .replace(" INTEGER", " BIGINT")
        .replace(" REAL", " DOUBLE PRECISION")
        .replace(" TEXT", " TEXT COLLATE \"C\"")
}

/// Whether `conn` may be used as a dora store, checked without writing: a new
/// (empty) database, or one holding dora's tables at a schema version this
/// program knows. Another program's database, a file that is not SQLite, or a
/// store from a newer dora is refused with a message saying which.
pub(crate) fn check_foreign_sqlite(conn: &rusqlite::Connection) -> Result<(), String> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| {
        if matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::NotADatabase)) {
            "the file is not a database (neither SQLite nor a dora store): pass a new path or an existing dora store".to_string()
        } else {
            e.to_string()
        }
    })?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(format!(
            "the store has schema version {version}, newer than this program's {known}: upgrade dora (nothing was changed)"
        ));
    }
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .map_err(|e| e.to_string())?;
    let tables: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .map_err(|e| e.to_string())?
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let ours =
        tables.iter().any(|t| t == "repositories") && tables.iter().any(|t| t == "sync_cursors");
    // (Our tables with version 0 are another process migrating this very
    // moment: the migration re-reads the version under its lock.)
    if !tables.is_empty() && !ours {
        let shown: Vec<&str> = tables.iter().take(5).map(String::as_str).collect();
        return Err(format!(
            "not a dora store: the database holds other tables ({}{}); pass a new path (nothing was changed)",
            shown.join(", "),
            if tables.len() > 5 { ", …" } else { "" }
        ));
    }
    Ok(())
}

/// Apply the missing migrations to a SQLite database, all in one immediate
/// (write-locking) transaction: several processes opening a fresh file at the
/// same moment wait for each other (busy timeout) and only the first migrates.
pub(crate) fn migrate_sqlite(conn: &mut rusqlite::Connection) -> Result<(), String> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(|e| e.to_string())?;
    let current: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    let current = usize::try_from(current).unwrap_or(0);
    if current > MIGRATIONS.len() {
        return Err(format!(
            "the store has schema version {current}, newer than this program's {}: upgrade dora",
            MIGRATIONS.len()
        ));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        tx.execute_batch(sql)
            .map_err(|e| format!("migration {}: {e}", i + 1))?;
    }
    if current < MIGRATIONS.len() {
        tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)
            .map_err(|e| e.to_string())?;
    }
    tx.commit().map_err(|e| e.to_string())
}

/// The same migrations as `rusqlite_migration` would run them (kept to check
/// the SQL with its validator).
#[cfg(test)]
pub(crate) fn migrations() -> rusqlite_migration::Migrations<'static> {
    rusqlite_migration::Migrations::new(
        MIGRATIONS
            .iter()
            .map(|sql| rusqlite_migration::M::up(sql))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        assert!(super::migrations().validate().is_ok());
    }

    #[test]
    fn postgres_dialect_maps_types() {
        let sql = super::postgres_sql(super::V1);
        assert!(sql.contains("id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"));
        assert!(sql.contains("lead_time_seconds DOUBLE PRECISION NOT NULL"));
        assert!(sql.contains("slug        TEXT COLLATE \"C\" PRIMARY KEY"));
        assert!(!sql.contains("INTEGER"));
    }
}
