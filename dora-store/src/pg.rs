//! The PostgreSQL backend: connecting (password from the URL or `PGPASSWORD`,
//! never printed), migrations under an advisory lock, and the leases through
//! which cooperating sync workers split a source's scopes.
//!
//! The client is the synchronous `postgres` crate, which drives
//! `tokio-postgres` on a private runtime. Every call runs on a short-lived
//! scoped thread, so a store used from inside an async runtime (the sync
//! drivers) never nests one runtime in another.

use crate::backend::{DbError, PgExec};
use crate::schema;
use std::collections::HashMap;

/// Key of the advisory lock held while migrating (any constant; "dora" in ASCII).
const MIGRATION_LOCK: i64 = 0x646f_7261;
/// Key of the advisory lock held while a sync round starts.
const ROUND_LOCK: i64 = 0x646f_7272;

/// Whether `location` names a PostgreSQL database rather than a SQLite file.
pub fn is_postgres_url(location: &str) -> bool {
    let lower = location.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// `location` with any password (in the user part or a `password=` parameter)
/// replaced by `***`, for messages and logs.
pub fn redact(location: &str) -> String {
    if !is_postgres_url(location) {
        return location.to_string();
    }
    let Some(scheme_end) = location.find("://") else {
        return location.to_string();
    };
    let (scheme, rest) = location.split_at(scheme_end + 3);
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => {
            let (user_info, host) = authority.split_at(at);
            match user_info.find(':') {
                Some(colon) => format!("{}:***{host}", &user_info[..colon]),
                None => authority.to_string(),
            }
        }
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}{authority}{tail}")
}

/// A connected client and its prepared statements.
pub(crate) struct PgConn {
    client: Option<postgres::Client>,
    pub cache: HashMap<String, postgres::Statement>,
}

impl PgConn {
    /// Connect to `url` (password from the URL, else `PGPASSWORD`) and migrate.
    pub fn connect(url: &str) -> Result<Self, DbError> {
        let mut config: postgres::Config = url.parse()?;
        if config.get_password().is_none()
            && let Ok(password) = std::env::var("PGPASSWORD")
        {
            config.password(password);
        }
        if config.get_application_name().is_none() {
            config.application_name("dora");
        }
        let client = off_runtime(move || config.connect(postgres::NoTls))?;
        let mut conn = Self {
            client: Some(client),
            cache: HashMap::new(),
        };
        conn.run(migrate)?;
        Ok(conn)
    }

    /// Run `f` with the client on a scoped thread (outside any async runtime).
    pub fn run<T: Send>(
        &mut self,
        f: impl FnOnce(
            &mut postgres::Client,
            &mut HashMap<String, postgres::Statement>,
        ) -> Result<T, DbError>
        + Send,
    ) -> Result<T, DbError> {
        let Self { client, cache } = self;
        let client = client
            .as_mut()
            .ok_or_else(|| DbError::Decode("the connection is closed".into()))?;
        off_runtime(move || f(client, cache))
    }

    /// Run `f` in one transaction, committed when it succeeds.
    pub fn write<T: Send>(
        &mut self,
        f: impl FnOnce(&mut PgExec<'_, postgres::Transaction<'_>>) -> Result<T, DbError> + Send,
    ) -> Result<T, DbError> {
        self.run(move |client, cache| {
            let mut tx = client.transaction()?;
            let out = f(&mut PgExec {
                client: &mut tx,
                cache,
            })?;
            tx.commit()?;
            Ok(out)
        })
    }
}

impl Drop for PgConn {
    fn drop(&mut self) {
        // Closing drives the client's runtime: do it off any caller's runtime.
        if let Some(client) = self.client.take() {
            off_runtime(move || drop(client));
        }
    }
}

/// Run `f` on a scoped thread, where no async runtime is entered.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| match s.spawn(f).join() {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// Apply missing migrations under a session advisory lock: concurrent
/// openers of a fresh database wait, and only the first migrates.
fn migrate(
    client: &mut postgres::Client,
    _cache: &mut HashMap<String, postgres::Statement>,
) -> Result<(), DbError> {
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
    let result = migrate_locked(client);
    let unlock = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
    result?;
    unlock?;
    Ok(())
}

fn migrate_locked(client: &mut postgres::Client) -> Result<(), DbError> {
    client.batch_execute("CREATE TABLE IF NOT EXISTS dora_schema (version BIGINT NOT NULL)")?;
    let current: i64 = client
        .query_one("SELECT COALESCE(MAX(version), 0) FROM dora_schema", &[])?
        .try_get(0)?;
    let current = usize::try_from(current).unwrap_or(0);
    if current > schema::MIGRATIONS.len() {
        return Err(DbError::Decode(format!(
            "the store has schema version {current}, newer than this program's {}: upgrade dora",
            schema::MIGRATIONS.len()
        )));
    }
    for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(current) {
        let mut tx = client.transaction()?;
        tx.batch_execute(&schema::postgres_sql(sql))?;
        tx.execute("DELETE FROM dora_schema", &[])?;
        tx.execute(
            "INSERT INTO dora_schema (version) VALUES ($1)",
            &[&((i + 1) as i64)],
        )?;
        tx.commit()?;
    }
    Ok(())
}

pub(crate) fn schema_version(client: &mut postgres::Client) -> Result<u32, DbError> {
    let v: i64 = client
        .query_one("SELECT COALESCE(MAX(version), 0) FROM dora_schema", &[])?
        .try_get(0)?;
    Ok(u32::try_from(v).unwrap_or(0))
}

/// What joining a sync round found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RoundStart {
    /// No round of these scopes was under way: this worker started one.
    Started,
    /// Another worker's round is under way: this worker joins it.
    Joined,
}

/// Start a round over `scopes` of `source`, or join the one under way. A
/// round is under way while any of these scopes is `pending`. Starting one
/// marks every scope pending (and `sync_progress` likewise).
pub(crate) fn start_or_join_round(
    client: &mut postgres::Client,
    source: &str,
    scopes: &[String],
) -> Result<RoundStart, DbError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&ROUND_LOCK])?;
    let pending: i64 = tx
        .query_one(
            "SELECT COUNT(*) FROM sync_leases WHERE source = $1 AND scope = ANY($2) AND state = 'pending'",
            &[&source, &scopes],
        )?
        .try_get(0)?;
    if pending > 0 {
        tx.commit()?;
        return Ok(RoundStart::Joined);
    }
    let now = crate::ts(chrono::Utc::now());
    tx.execute(
        "INSERT INTO sync_leases (source, scope, state, updated_at)
         SELECT $1, s, 'pending', $3 FROM unnest($2::text[]) AS s
         ON CONFLICT (source, scope) DO UPDATE SET state = 'pending', worker = NULL, expires_at = NULL,
           round = sync_leases.round + 1, updated_at = excluded.updated_at",
        &[&source, &scopes, &now],
    )?;
    tx.execute("DELETE FROM sync_progress WHERE source = $1", &[&source])?;
    tx.execute(
        "INSERT INTO sync_progress (source, scope, state, updated_at)
         SELECT $1, s, 'pending', $3 FROM unnest($2::text[]) AS s",
        &[&source, &scopes, &now],
    )?;
    tx.commit()?;
    Ok(RoundStart::Started)
}

/// What claiming a lease found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Claim {
    /// This worker now holds the lease of this scope.
    Scope(String),
    /// Nothing claimable now, but other workers hold leases of pending scopes:
    /// wait (their leases may expire).
    Wait,
    /// Every scope of the round is done.
    Done,
}

/// Claim a pending scope whose lease is free or expired, for `lease_secs`.
pub(crate) fn claim(
    client: &mut postgres::Client,
    source: &str,
    scopes: &[String],
    worker: &str,
    lease_secs: i64,
) -> Result<Claim, DbError> {
    let row = client.query_opt(
        "UPDATE sync_leases SET worker = $3,
            expires_at = EXTRACT(EPOCH FROM clock_timestamp())::bigint + $4, updated_at = $5
         WHERE (source, scope) = (
            SELECT source, scope FROM sync_leases
            WHERE source = $1 AND scope = ANY($2) AND state = 'pending'
              AND (expires_at IS NULL OR worker = $3
                   OR expires_at <= EXTRACT(EPOCH FROM clock_timestamp())::bigint)
            ORDER BY scope LIMIT 1
            FOR UPDATE SKIP LOCKED)
         RETURNING scope",
        &[
            &source,
            &scopes,
            &worker,
            &lease_secs,
            &crate::ts(chrono::Utc::now()),
        ],
    )?;
    if let Some(row) = row {
        return Ok(Claim::Scope(row.try_get(0)?));
    }
    let pending: i64 = client
        .query_one(
            "SELECT COUNT(*) FROM sync_leases WHERE source = $1 AND scope = ANY($2) AND state = 'pending'",
            &[&source, &scopes],
        )?
        .try_get(0)?;
    Ok(if pending > 0 {
        Claim::Wait
    } else {
        Claim::Done
    })
}

/// Extend this worker's lease of `scope`; false when it is no longer held.
pub(crate) fn renew(
    client: &mut postgres::Client,
    source: &str,
    scope: &str,
    worker: &str,
    lease_secs: i64,
) -> Result<bool, DbError> {
    let n = client.execute(
        "UPDATE sync_leases SET expires_at = EXTRACT(EPOCH FROM clock_timestamp())::bigint + $4
         WHERE source = $1 AND scope = $2 AND worker = $3 AND state = 'pending'",
        &[&source, &scope, &worker, &lease_secs],
    )?;
    Ok(n > 0)
}

/// Give a lease back (this worker failed on the scope): another worker, or
/// the next run, may take it at once.
pub(crate) fn release(
    client: &mut postgres::Client,
    source: &str,
    scope: &str,
    worker: &str,
) -> Result<(), DbError> {
    client.execute(
        "UPDATE sync_leases SET worker = NULL, expires_at = NULL
         WHERE source = $1 AND scope = $2 AND worker = $3 AND state = 'pending'",
        &[&source, &scope, &worker],
    )?;
    Ok(())
}

/// SQL marking a lease done (run in the transaction storing the scope's events).
pub(crate) const LEASE_DONE: &str =
    "UPDATE sync_leases SET state = 'done', worker = ?3, expires_at = NULL, updated_at = ?4
     WHERE source = ?1 AND scope = ?2";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://dora:s3cret@db.example:5432/metrics"),
            "postgres://dora:***@db.example:5432/metrics"
        );
        assert_eq!(
            redact("postgresql://dora@db/metrics?password=s3cret&sslmode=disable"),
            "postgresql://dora@db/metrics?password=***&sslmode=disable"
        );
        assert_eq!(redact("postgres://u:p%40ss@h/d"), "postgres://u:***@h/d");
        assert_eq!(redact("/tmp/dora.db"), "/tmp/dora.db");
        assert!(is_postgres_url("PostgreSQL://h/d"));
        assert!(!is_postgres_url("postgres.db"));
    }
}
