//! The sync drivers with a source that serves only what changed since its cursor.
#![allow(clippy::unwrap_used)]

use async_trait::async_trait;
use chrono::{Duration, TimeZone, Utc};
use dora_core::*;
use dora_store::{
    IncidentSyncOptions, Store, SyncAllOptions, SyncError, sync_all, sync_delivery, sync_incidents,
    sync_incidents_with,
};
use std::sync::Mutex;

fn t(h: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap() + Duration::hours(h)
}

/// A fake remote: deployments per repository, each with a version number that
/// grows on every change; the cursor is the highest version seen.
struct Remote {
    deployments: Mutex<Vec<(u64, Deployment)>>,
    fail_on: Mutex<Option<String>>,
    requests: Mutex<u64>,
}

impl Remote {
    fn new() -> Self {
        Self {
            deployments: Mutex::new(Vec::new()),
            fail_on: Mutex::new(None),
            requests: Mutex::new(0),
        }
    }

    fn push(&self, d: Deployment) {
        let mut all = self.deployments.lock().unwrap();
        let version = all.iter().map(|(v, _)| *v).max().unwrap_or(0) + 1;
        all.retain(|(_, x)| !(x.repository == d.repository && x.id == d.id));
        all.push((version, d));
    }
}

#[async_trait]
impl IncrementalSource for Remote {
    fn name(&self) -> &str {
        "remote"
    }

    async fn scopes(&self) -> Result<Vec<String>, SourceError> {
        Ok(vec!["api".into(), "web".into()])
    }

    async fn sync_scope(
        &self,
        scope: &str,
        _range: TimeRange,
        cursor: Option<&str>,
    ) -> Result<SyncDelta, SourceError> {
        *self.requests.lock().unwrap() += 1;
        if self.fail_on.lock().unwrap().as_deref() == Some(scope) {
            return Err(SourceError::protocol(
                "remote",
                format!("/{scope}/deployments"),
                "connection reset",
            ));
        }
        let since: u64 = cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
        let all = self.deployments.lock().unwrap();
        let changed: Vec<&(u64, Deployment)> = all
            .iter()
            .filter(|(v, d)| *v > since && d.repository == scope)
            .collect();
        let max = changed.iter().map(|(v, _)| *v).max().unwrap_or(since);
        Ok(SyncDelta {
            data: Dataset {
                deployments: changed.into_iter().map(|(_, d)| d.clone()).collect(),
                ..Dataset::default()
            },
            cursor: max.to_string(),
            requests: 1,
        })
    }
}

fn range() -> TimeRange {
    TimeRange::new(t(0), t(24 * 30))
}

#[tokio::test]
async fn incremental_sync_picks_up_changes_and_resumes_after_interruption() {
    let remote = Remote::new();
    remote.push(Deployment::production(
        "api",
        "1",
        "aaaaaaa",
        t(1),
        DeploymentStatus::Succeeded,
    ));
    let mut running =
        Deployment::production("web", "2", "bbbbbbb", t(2), DeploymentStatus::InProgress);
    running.finished_at = None;
    running.started_at = Some(t(2));
    remote.push(running.clone());

    let mut store = Store::open_in_memory().unwrap();
    let first = sync_delivery(&mut store, &remote, range()).await.unwrap();
    assert_eq!((first.scopes, first.events, first.requests), (2, 2, 2));

    // Nothing changed: one request per scope, nothing stored.
    let again = sync_delivery(&mut store, &remote, range()).await.unwrap();
    assert_eq!((again.events, again.requests), (0, 2));

    // The in-progress deployment completes and a new one appears.
    running.status = DeploymentStatus::Succeeded;
    running.finished_at = Some(t(3));
    remote.push(running.clone());
    remote.push(Deployment::production(
        "api",
        "3",
        "ccccccc",
        t(4),
        DeploymentStatus::Failed,
    ));
    let delta = sync_delivery(&mut store, &remote, range()).await.unwrap();
    assert_eq!(delta.events, 2);
    assert!(store.deployments_in_progress("web").unwrap().is_empty());

    // Interrupted on the second scope: the first is kept, the re-run completes.
    remote.push(Deployment::production(
        "api",
        "4",
        "ddddddd",
        t(5),
        DeploymentStatus::Succeeded,
    ));
    remote.push(Deployment::production(
        "web",
        "5",
        "eeeeeee",
        t(6),
        DeploymentStatus::Succeeded,
    ));
    *remote.fail_on.lock().unwrap() = Some("web".into());
    let err = sync_delivery(&mut store, &remote, range())
        .await
        .unwrap_err();
    // The store remembers which scope did not finish, and a report says so.
    assert_eq!(
        store.load().unwrap().collection.incomplete_sync,
        vec!["web".to_string()]
    );
    let stale = compute(&store.load().unwrap(), &Config::default());
    assert!(
        stale
            .diagnostics
            .iter()
            .any(|d| d.code == "incomplete_sync" && d.message.contains("web")),
        "{:?}",
        stale.diagnostics
    );
    assert!(
        matches!(
            err,
            SyncError::Source {
                completed_scopes: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("/web/deployments"), "{err}");
    assert_eq!(store.counts().unwrap().deployments, 4);
    *remote.fail_on.lock().unwrap() = None;
    sync_delivery(&mut store, &remote, range()).await.unwrap();
    assert!(store.load().unwrap().collection.incomplete_sync.is_empty());

    // Same store as one uninterrupted sync from scratch.
    let mut fresh = Store::open_in_memory().unwrap();
    sync_delivery(&mut fresh, &remote, range()).await.unwrap();
    assert_eq!(store.load().unwrap(), fresh.load().unwrap());
    assert_eq!(store.counts().unwrap().deployments, 5);
}

struct Pager(Mutex<Vec<Incident>>, Mutex<Vec<TimeRange>>);

#[async_trait]
impl IncidentSource for Pager {
    fn name(&self) -> &str {
        "pager"
    }

    async fn incidents(&self, request: &IncidentRequest) -> Result<Vec<Incident>, SourceError> {
        self.1.lock().unwrap().push(request.range);
        Ok(self
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|i| request.range.contains(i.opened_at))
            .cloned()
            .collect())
    }
}

#[tokio::test]
async fn incident_sync_refetches_unresolved_incidents() {
    let pager = Pager(
        Mutex::new(vec![Incident::new(
            "pager",
            "I1",
            Some(Severity::P1),
            t(10),
            None,
        )]),
        Mutex::new(vec![]),
    );
    let mut store = Store::open_in_memory().unwrap();
    sync_incidents(
        &mut store,
        &pager,
        TimeRange::new(t(0), t(100)),
        Duration::hours(1),
    )
    .await
    .unwrap();
    assert_eq!(store.unresolved_incidents("pager").unwrap(), vec!["I1"]);

    pager.0.lock().unwrap()[0].resolved_at = Some(t(150));
    pager.0.lock().unwrap()[0].status = IncidentStatus::Resolved;
    // (A ten-hour re-read horizon, so that the unresolved incident is what
    // reaches furthest back.)
    let short = IncidentSyncOptions::default()
        .with_overlap(Duration::hours(1))
        .with_horizon(Duration::hours(10));
    sync_incidents_with(&mut store, &pager, TimeRange::new(t(0), t(200)), &short)
        .await
        .unwrap();
    let ranges = pager.1.lock().unwrap().clone();
    assert_eq!(
        ranges[1].start,
        t(10),
        "reaches back to the unresolved incident"
    );
    assert!(store.unresolved_incidents("pager").unwrap().is_empty());

    // With the ten-hour horizon, the last end minus the overlap is earlier.
    sync_incidents_with(&mut store, &pager, TimeRange::new(t(0), t(300)), &short)
        .await
        .unwrap();
    assert_eq!(
        pager.1.lock().unwrap()[2].start,
        t(199),
        "last end minus the overlap"
    );
    // The default 30-day horizon re-reads every recent incident (here back to
    // the window's start), so edits to resolved ones reach the store.
    sync_incidents(
        &mut store,
        &pager,
        TimeRange::new(t(0), t(400)),
        Duration::hours(1),
    )
    .await
    .unwrap();
    assert_eq!(pager.1.lock().unwrap()[3].start, t(0), "the horizon");
    // A window reaching further back than the store covers reads from its start.
    sync_incidents_with(&mut store, &pager, TimeRange::new(t(-50), t(400)), &short)
        .await
        .unwrap();
    assert_eq!(pager.1.lock().unwrap()[4].start, t(-50), "the added span");
    assert_eq!(
        store.span("pager", "incidents").unwrap(),
        Some(TimeRange::new(t(-50), t(400)))
    );
}

/// An incident source whose converter refused an item and which maps services.
struct Refusing;

#[async_trait]
impl IncidentSource for Refusing {
    fn name(&self) -> &str {
        "refusing"
    }

    async fn incidents(&self, request: &IncidentRequest) -> Result<Vec<Incident>, SourceError> {
        Ok(self.incidents_with_notes(request).await?.incidents)
    }

    async fn incidents_with_notes(
        &self,
        _request: &IncidentRequest,
    ) -> Result<IncidentBatch, SourceError> {
        let ok = Incident::new("refusing", "I1", Some(Severity::P1), t(10), Some(t(11)));
        Ok(IncidentBatch {
            // Listed twice (the list shifted between pages): stored once.
            incidents: vec![ok.clone(), ok],
            skipped: vec![SkippedEvent::new(
                EventKind::Incident,
                Some("refusing".into()),
                Some("I2".into()),
                "missing_timestamp",
                "incident I2: no created_at",
            )],
            service_mapping: true,
        })
    }
}

#[tokio::test]
async fn incident_sync_keeps_skipped_items_and_the_mapping_flag() {
    let mut store = Store::open_in_memory().unwrap();
    let summary = sync_incidents(
        &mut store,
        &Refusing,
        TimeRange::new(t(0), t(100)),
        Duration::hours(1),
    )
    .await
    .unwrap();
    assert_eq!(summary.events, 2, "events as the source listed them");
    let data = store.load().unwrap();
    assert_eq!(data.incidents.len(), 1);
    assert!(data.collection.service_mapping);
    assert_eq!(data.collection.skipped.len(), 1);
    assert_eq!(data.collection.skipped[0].reason, "missing_timestamp");
    assert!(data.collection.incomplete_sync.is_empty());
}

#[tokio::test]
async fn sync_all_syncs_deliveries_then_incidents_with_a_day_of_overlap() {
    let remote = Remote::new();
    remote.push(Deployment::production(
        "api",
        "1",
        "aaaaaaa",
        t(1),
        DeploymentStatus::Succeeded,
    ));
    let pager = Pager(
        Mutex::new(vec![Incident::new(
            "pager",
            "I1",
            Some(Severity::P1),
            t(10),
            Some(t(11)),
        )]),
        Mutex::new(vec![]),
    );
    let phases = Mutex::new(Vec::new());
    let on_phase = |p: &str| phases.lock().unwrap().push(p.to_string());
    let short_horizon = IncidentSyncOptions::default().with_horizon(Duration::hours(1));
    assert_eq!(
        short_horizon.overlap,
        Duration::hours(24),
        "the overlap is a default"
    );
    let options = SyncAllOptions {
        incidents: short_horizon,
        on_phase: Some(&on_phase),
        ..SyncAllOptions::default()
    };
    let mut store = Store::open_in_memory().unwrap();
    let first = sync_all(&mut store, &remote, Some(&pager), range(), &options)
        .await
        .unwrap();
    assert_eq!((first.delivery.scopes, first.delivery.events), (2, 1));
    assert_eq!(first.incidents.map(|i| i.events), Some(1));
    assert_eq!(
        *phases.lock().unwrap(),
        ["remote: syncing", "pager: syncing incidents"]
    );
    // The next sync reads incidents again from a day before the last end.
    let later = TimeRange::new(range().start, range().end + Duration::hours(48));
    sync_all(&mut store, &remote, Some(&pager), later, &options)
        .await
        .unwrap();
    let ranges = pager.1.lock().unwrap().clone();
    assert_eq!(ranges[1].start, range().end - Duration::hours(24));
    // Without an incident source, only deliveries.
    let only = sync_all(&mut store, &remote, None, later, &options)
        .await
        .unwrap();
    assert!(only.incidents.is_none());
}
