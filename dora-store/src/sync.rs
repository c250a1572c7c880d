//! Incremental sync drivers: fetch what changed, store it atomically per scope.

use crate::{INCIDENT_SCOPE, Store, StoreError, SyncBatch};
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
    /// Scopes synced.
    pub scopes: usize,
    /// Requests the source reported.
    pub requests: u64,
    /// Events upserted (all kinds).
    pub events: usize,
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
pub async fn sync_delivery(
    store: &mut Store,
    source: &dyn IncrementalSource,
    range: TimeRange,
) -> Result<SyncSummary, SyncError> {
    let scopes = source.scopes().await.map_err(|source| SyncError::Source {
        completed_scopes: 0,
        source,
    })?;
    store.begin_sync(source.name(), &scopes)?;
    let mut summary = SyncSummary::default();
    for scope in scopes {
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
        store.apply(&SyncBatch::new(data).with_cursor(source.name(), &scope, delta.cursor))?;
        summary.scopes += 1;
    }
    Ok(summary)
}

/// Sync incidents: from the last sync's end minus `overlap` (or the range start
/// on the first sync), extended back to the oldest unresolved incident so those
/// are re-fetched, up to `range.end`.
pub async fn sync_incidents(
    store: &mut Store,
    source: &dyn IncidentSource,
    range: TimeRange,
    overlap: Duration,
) -> Result<SyncSummary, SyncError> {
    let name = source.name().to_string();
    let mut start = match store.cursor(&name, "incidents")? {
        Some(c) => DateTime::parse_from_rfc3339(c.trim_matches('"'))
            .map(|t| t.with_timezone(&Utc) - overlap)
            .unwrap_or(range.start)
            .max(range.start),
        None => range.start,
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
    let mut data = dora_core::Dataset {
        incidents: batch.incidents,
        ..Default::default()
    };
    data.collection.skipped = batch.skipped;
    data.dedup();
    store.set_service_mapping(batch.service_mapping)?;
    let cursor = format!(
        "\"{}\"",
        range.end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    store.apply(&SyncBatch::new(data).with_cursor(&name, INCIDENT_SCOPE, cursor))?;
    Ok(SyncSummary {
        scopes: 1,
        requests: 0,
        events,
    })
}
