//! Incremental sync drivers: fetch what changed, store it atomically per scope.
//!
//! On PostgreSQL, any number of processes (on any machines) syncing the same
//! scopes cooperate: each claims one scope at a time through a lease in
//! `sync_leases` (`FOR UPDATE SKIP LOCKED`, so a scope is synced by one worker
//! at a time), renews it while fetching, and stores the scope's events, cursor
//! and "done" mark in one transaction. A worker that dies leaves its lease to
//! expire, then another takes the scope over. A round ends when every scope is
//! done; each worker returns then. A worker starting when no round is under way
//! starts one (all scopes pending again, `sync_progress` reset); otherwise it
//! joins the round under way, over the scopes both know.

use crate::{Backend, INCIDENT_SCOPE, ScopeChanges, Store, StoreError, SyncBatch, pg};
use chrono::{DateTime, Duration, Utc};
use dora_core::{IncidentRequest, IncidentSource, IncrementalSource, SourceError, TimeRange};

/// Why a sync stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The source failed; scopes stored before the failure are kept.
    #[error("sync stopped after {completed_scopes} scope(s): {source}")]
    Source {
        /// Scopes fully stored before the failure.
        completed_scopes: usize,
        /// The source's error.
        #[source]
        source: SourceError,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncSummary {
    /// Scopes synced (by this process).
    pub scopes: usize,
    /// The scopes this process synced, in order (with cooperating workers, the
    /// ones it took).
    pub taken: Vec<String>,
    /// Scopes of the round (this process's and other workers').
    pub round_scopes: usize,
    /// Whether this process started the round (false: it joined another
    /// worker's round; always true on SQLite).
    pub started_round: bool,
    /// Requests the source reported, the scope listing's included.
    pub requests: u64,
    /// Events upserted (all kinds).
    pub events: usize,
    /// Scopes renamed since the last sync, and scopes that left.
    pub changes: ScopeChanges,
}

fn event_count(data: &dora_core::Dataset) -> usize {
    data.commits.len()
        + data.pull_requests.len()
        + data.deployments.len()
        + data.environments.len()
        + data.incidents.len()
        + data.repositories.len()
}

/// Sync every scope of `source` into `store`, each scope's events and cursor in
/// one transaction: an interruption keeps the scopes already done, and the next
/// run resumes from their cursors.
///
/// On PostgreSQL this is [`sync_delivery_with`] with default [`WorkerOptions`]:
/// concurrent processes split the scopes.
pub async fn sync_delivery(
    store: &mut Store,
    source: &dyn IncrementalSource,
    range: TimeRange,
) -> Result<SyncSummary, SyncError> {
    sync_delivery_with(store, source, range, &WorkerOptions::default()).await
}

/// How a cooperating sync worker behaves (PostgreSQL stores).
pub struct WorkerOptions<'a> {
    /// Names this worker in leases and logs (default: `host-pid`).
    pub worker_id: String,
    /// How long a claimed lease lasts without renewal; a dead worker's scopes
    /// are taken over after this long (default 60 s).
    pub lease: std::time::Duration,
    /// How often the lease is renewed while a scope is fetched (default: a
    /// third of the lease).
    pub renew_every: std::time::Duration,
    /// How long to wait before looking again when every pending scope is
    /// leased by another worker (default 500 ms).
    pub poll: std::time::Duration,
    /// Called with each scope this worker takes, before fetching it.
    pub on_take: Option<&'a (dyn Fn(&str) + Send + Sync)>,
}

impl Default for WorkerOptions<'_> {
    fn default() -> Self {
        let host = std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .or_else(|| {
                std::fs::read_to_string("/etc/hostname")
                    .ok()
                    .map(|h| h.trim().to_string())
                    .filter(|h| !h.is_empty())
            })
            .unwrap_or_else(|| "worker".into());
        Self {
            worker_id: format!("{host}-{}", std::process::id()),
            lease: std::time::Duration::from_secs(60),
            renew_every: std::time::Duration::from_secs(20),
            poll: std::time::Duration::from_millis(500),
            on_take: None,
        }
    }
}

impl std::fmt::Debug for WorkerOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerOptions")
            .field("worker_id", &self.worker_id)
            .field("lease", &self.lease)
            .field("renew_every", &self.renew_every)
            .field("poll", &self.poll)
            .finish_non_exhaustive()
    }
}

/// [`sync_delivery`] with explicit worker options. SQLite stores sync every
/// scope in this process, in order (the options' `on_take` is still called).
pub async fn sync_delivery_with(
    store: &mut Store,
    source: &dyn IncrementalSource,
    range: TimeRange,
    options: &WorkerOptions<'_>,
) -> Result<SyncSummary, SyncError> {
    let list = source
        .scope_list()
        .await
        .map_err(|source| SyncError::Source {
            completed_scopes: 0,
            source,
        })?;
    let changes = store.reconcile_scopes(source.name(), &list)?;
    let scopes = list.names();
    if store.backend() == Backend::Postgres {
        let mut summary = cooperate(store, source, range, scopes, options).await?;
        summary.requests += list.requests;
        summary.changes = changes;
        return Ok(summary);
    }
    store.begin_sync(source.name(), &scopes)?;
    let mut summary = SyncSummary {
        round_scopes: scopes.len(),
        started_round: true,
        requests: list.requests,
        changes,
        ..SyncSummary::default()
    };
    for scope in scopes {
        if let Some(on_take) = options.on_take {
            on_take(&scope);
        }
        let cursor = store.cursor(source.name(), &scope)?;
        let delta = source
            .sync_scope(&scope, range, cursor.as_deref())
            .await
            .map_err(|e| SyncError::Source {
                completed_scopes: summary.scopes,
                source: e,
            })?;
        summary.requests += delta.requests;
        let mut data = delta.data;
        data.dedup();
        summary.events += event_count(&data);
        store.apply(
            &SyncBatch::new(data)
                .with_cursor(source.name(), &scope, delta.cursor)
                .with_span(source.name(), &scope, range),
        )?;
        summary.scopes += 1;
        summary.taken.push(scope);
    }
    Ok(summary)
}

fn pg_call<T: Send>(
    store: &Store,
    f: impl FnOnce(&mut postgres::Client) -> Result<T, crate::backend::DbError> + Send,
) -> Result<T, StoreError> {
    store.with_postgres(f).unwrap_or_else(|| {
        Err(StoreError::Data {
            path: store.name().to_string(),
            message: "leases need a PostgreSQL store".into(),
        })
    })
}

/// The cooperating worker loop (PostgreSQL).
async fn cooperate(
    store: &mut Store,
    source: &dyn IncrementalSource,
    range: TimeRange,
    scopes: Vec<String>,
    options: &WorkerOptions<'_>,
) -> Result<SyncSummary, SyncError> {
    let name = source.name().to_string();
    let worker = options.worker_id.as_str();
    let lease_secs = i64::try_from(options.lease.as_secs().max(1)).unwrap_or(60);
    let start = pg_call(store, |c| pg::start_or_join_round(c, &name, &scopes))?;
    let mut summary = SyncSummary {
        round_scopes: scopes.len(),
        started_round: start == pg::RoundStart::Started,
        ..SyncSummary::default()
    };
    loop {
        let claim = pg_call(store, |c| pg::claim(c, &name, &scopes, worker, lease_secs))?;
        let scope = match claim {
            pg::Claim::Scope(scope) => scope,
            pg::Claim::Wait => {
                tokio::time::sleep(options.poll).await;
                continue;
            }
            pg::Claim::Done => break,
        };
        if let Some(on_take) = options.on_take {
            on_take(&scope);
        }
        let cursor = store.cursor(&name, &scope)?;
        let fetch = source.sync_scope(&scope, range, cursor.as_deref());
        tokio::pin!(fetch);
        let delta = loop {
            tokio::select! {
                delta = &mut fetch => break delta,
                () = tokio::time::sleep(options.renew_every) => {
                    // A lost lease (expired while this worker stalled) is not an
                    // error: the other worker's writes and ours are the same upserts.
                    pg_call(store, |c| pg::renew(c, &name, &scope, worker, lease_secs))?;
                }
            }
        };
        let delta = match delta {
            Ok(delta) => delta,
            Err(e) => {
                // Best effort: an unreleased lease expires anyway.
                let _ = pg_call(store, |c| pg::release(c, &name, &scope, worker));
                return Err(SyncError::Source {
                    completed_scopes: summary.scopes,
                    source: e,
                });
            }
        };
        summary.requests += delta.requests;
        let mut data = delta.data;
        data.dedup();
        summary.events += event_count(&data);
        store.apply_with_lease(
            &SyncBatch::new(data)
                .with_cursor(&name, &scope, delta.cursor)
                .with_span(&name, &scope, range),
            Some(worker),
        )?;
        summary.scopes += 1;
        summary.taken.push(scope.clone());
    }
    Ok(summary)
}

/// How an incident sync decides what to read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct IncidentSyncOptions {
    /// Re-read from the last sync's end minus this much (incidents that
    /// became visible late). Default 24 hours.
    pub overlap: Duration,
    /// Re-read every incident opened this long before the window's end, so
    /// that edits to recent incidents (a priority raised after resolution, a
    /// corrected resolve time) reach the store. Default 30 days. The incident
    /// tools' list endpoints filter by creation time only (see the crate docs),
    /// so this horizon is how edits are found; an edit to an incident older
    /// than it is not seen.
    pub horizon: Duration,
}

impl Default for IncidentSyncOptions {
    fn default() -> Self {
        Self {
            overlap: Duration::hours(24),
            horizon: Duration::days(30),
        }
    }
}

impl IncidentSyncOptions {
    /// These options with another re-read horizon.
    pub fn with_horizon(mut self, horizon: Duration) -> Self {
        self.horizon = horizon;
        self
    }

    /// These options with another overlap.
    pub fn with_overlap(mut self, overlap: Duration) -> Self {
        self.overlap = overlap;
        self
    }
}

/// Sync incidents with the default re-read horizon ([`sync_incidents_with`]).
pub async fn sync_incidents(
    store: &mut Store,
    source: &dyn IncidentSource,
    range: TimeRange,
    overlap: Duration,
) -> Result<SyncSummary, SyncError> {
    let options = IncidentSyncOptions::default().with_overlap(overlap);
    sync_incidents_with(store, source, range, &options).await
}

/// Sync incidents. Read from the earliest of: the last sync's end minus the
/// overlap, the window's end minus the re-read horizon, and the oldest
/// unresolved incident stored; but from the window's start when the store's
/// span does not reach back that far yet (a first sync, or a wider window).
pub async fn sync_incidents_with(
    store: &mut Store,
    source: &dyn IncidentSource,
    range: TimeRange,
    options: &IncidentSyncOptions,
) -> Result<SyncSummary, SyncError> {
    let name = source.name().to_string();
    let covered = store.span(&name, INCIDENT_SCOPE)?;
    let last_end = store.cursor(&name, INCIDENT_SCOPE)?.and_then(|c| {
        DateTime::parse_from_rfc3339(c.trim_matches('"'))
            .ok()
            .map(|t| t.with_timezone(&Utc))
    });
    let mut start = match (last_end, covered) {
        // Stores synced before spans were recorded covered from their first
        // window on: trust the cursor as they did.
        (Some(end), None) => (end - options.overlap).max(range.start),
        (Some(end), Some(span)) if span.start <= range.start => (end - options.overlap)
            .min(range.end - options.horizon)
            .max(range.start),
        _ => range.start,
    };
    if let Some(oldest) = store.oldest_unresolved_incident(&name)? {
        start = start.min(oldest);
    }
    store.begin_sync(&name, &[INCIDENT_SCOPE.to_string()])?;
    let batch = source
        .incidents_with_notes(&IncidentRequest::new(TimeRange::new(start, range.end)))
        .await
        .map_err(|source| SyncError::Source {
            completed_scopes: 0,
            source,
        })?;
    let events = batch.incidents.len();
    // Written explicitly every run (true or false), so removing a mapping clears it.
    store.set_service_mapping(batch.service_mapping)?;
    let mut data = dora_core::Dataset::default();
    batch.apply_to(&mut data);
    data.dedup();
    let end = last_end.map_or(range.end, |e| e.max(range.end));
    let cursor = format!(
        "\"{}\"",
        end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    store.apply(
        &SyncBatch::new(data)
            .with_cursor(&name, INCIDENT_SCOPE, cursor)
            .with_span(
                &name,
                INCIDENT_SCOPE,
                TimeRange::new(start.min(range.start), range.end),
            ),
    )?;
    Ok(SyncSummary {
        scopes: 1,
        taken: vec![INCIDENT_SCOPE.to_string()],
        round_scopes: 1,
        started_round: true,
        requests: 0,
        events,
        changes: ScopeChanges::default(),
    })
}

/// How [`sync_all`] runs: the worker's options for the delivery source, the
/// incident sync's (a 24 hour overlap and a 30 day re-read horizon by
/// default), and a callback told as each phase starts.
#[derive(Default)]
pub struct SyncAllOptions<'a> {
    /// The delivery sync's worker options.
    pub worker: WorkerOptions<'a>,
    /// The incident sync's options.
    pub incidents: IncidentSyncOptions,
    /// Called with `"{source}: syncing"` and `"{source}: syncing incidents"`
    /// as each phase starts (progress displays).
    pub on_phase: Option<&'a (dyn Fn(&str) + Send + Sync)>,
}

impl std::fmt::Debug for SyncAllOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncAllOptions")
            .field("worker", &self.worker)
            .field("incidents", &self.incidents)
            .finish_non_exhaustive()
    }
}

/// What [`sync_all`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncAllSummary {
    /// The delivery source's sync.
    pub delivery: SyncSummary,
    /// The incident source's sync, when there was one.
    pub incidents: Option<SyncSummary>,
}

/// The one sync order every front end uses: every scope of `delivery` (see
/// [`sync_delivery_with`]), then, when given, the incidents of `incidents`
/// (see [`sync_incidents_with`]; the overlap and horizon are the options'),
/// both over `range`. A failure stops the sync; what was stored before it is
/// kept, and the next run resumes from the cursors.
pub async fn sync_all(
    store: &mut Store,
    delivery: &dyn IncrementalSource,
    incidents: Option<&dyn IncidentSource>,
    range: TimeRange,
    options: &SyncAllOptions<'_>,
) -> Result<SyncAllSummary, SyncError> {
    if let Some(on_phase) = options.on_phase {
        on_phase(&format!("{}: syncing", delivery.name()));
    }
    let delivery = sync_delivery_with(store, delivery, range, &options.worker).await?;
    let incidents = match incidents {
        Some(source) => {
            if let Some(on_phase) = options.on_phase {
                on_phase(&format!("{}: syncing incidents", source.name()));
            }
            Some(sync_incidents_with(store, source, range, &options.incidents).await?)
        }
        None => None,
    };
    Ok(SyncAllSummary {
        delivery,
        incidents,
    })
}
