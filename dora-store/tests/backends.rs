//! One store test suite, run against both backends (SQLite and a real
//! PostgreSQL server): round trips, upserts, atomic batches and cursors,
//! concurrent writers, fresh stores opened by several processes at once, the
//! BI views, collection notes, incremental sync, and cooperating workers.
#![allow(clippy::unwrap_used)]

mod common;

use async_trait::async_trait;
use chrono::{Duration, TimeZone, Utc};
use common::TestDb;
use dora_core::*;
use dora_store::{
    Backend, SqlValue, Store, SyncBatch, WorkerOptions, sync_delivery, sync_delivery_with,
};
use std::sync::Mutex;

fn t(h: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap() + Duration::hours(h)
}

fn sample() -> Dataset {
    let mut d = Dataset::new();
    d.repositories.push(Repository::new("api", "main"));
    d.repositories.push(Repository {
        slug: "Web".into(),
        development_branch: Some("develop".into()),
        hotfix_prefix: Some("urgent/".into()),
        ..Repository::default()
    });
    let mut prev = "a0".to_string();
    d.commits
        .push(Commit::new("api", &prev, vec![], t(0), "init"));
    for i in 1..30 {
        let f = format!("f{i}");
        let m = format!("m{i}");
        let mut c = Commit::new(
            "api",
            &f,
            vec![prev.clone()],
            t(i * 24 - 10),
            format!("work {i} ünïcode"),
        );
        c.author = Some(Actor::user("u1", "Ada"));
        d.commits.push(c);
        d.commits.push(Commit::new(
            "api",
            &m,
            vec![prev.clone(), f.clone()],
            t(i * 24),
            format!("Merged in f{i}"),
        ));
        let mut pr = PullRequest::merged(
            "api",
            i as u64,
            Actor::user("u1", "Ada"),
            format!("feature/{i}"),
            "main",
            t(i * 24 - 8),
            t(i * 24),
            &m,
        );
        pr.first_review_at = Some(t(i * 24 - 4));
        pr.commits = vec![f.clone()];
        d.pull_requests.push(pr);
        let status = if i % 7 == 0 {
            DeploymentStatus::Failed
        } else {
            DeploymentStatus::Succeeded
        };
        d.deployments.push(Deployment::production(
            "api",
            format!("{{dep-{i}}}"),
            &m,
            t(i * 24 + 2),
            status,
        ));
        prev = m;
    }
    d.pull_requests.push(PullRequest::merged(
        "api",
        99,
        Actor::bot("b", "renovate[bot]"),
        "renovate/x",
        "main",
        t(5),
        t(6),
        "m1",
    ));
    d.environments.push(Environment::new(
        "api",
        "production",
        EnvironmentKind::Production,
    ));
    d.environments
        .push(Environment::new("api", "staging", EnvironmentKind::Staging));
    let mut open = Incident::new("pagerduty", "Q1", Some(Severity::P1), t(50), None);
    open.repositories = vec!["api".into()];
    open.raw_severity = Some("P1".into());
    d.incidents.push(open);
    d.incidents
        .push(Incident::new("pagerduty", "Q2", None, t(80), Some(t(81))));
    d.collection.history_truncated = vec![HistoryGap {
        repository: "api".into(),
        pull_request: 3,
        remedy: "raise --max-commit-pages".into(),
    }];
    d.collection.skipped = vec![SkippedEvent::new(
        EventKind::Deployment,
        Some("api".into()),
        Some("{d9}".into()),
        "missing_status",
        "deployment {d9}: state COMPLETED without status",
    )];
    d
}

fn config() -> Config {
    Config {
        days: 30,
        until: Some(t(30 * 24)),
        ..Config::default()
    }
}

fn count(store: &Store, sql: &str) -> i64 {
    store.query_values(sql, &[]).unwrap()[0][0]
        .as_i64()
        .unwrap()
}

both!(
    round_trip_and_report_equality,
    upserts_pick_up_changed_state,
    a_failed_batch_leaves_nothing_behind_and_cursors_move_with_data,
    concurrent_writers_serialise,
    fresh_store_opened_by_several_at_once,
    report_rows_are_readable_through_views,
    incremental_sync_and_progress,
    load_is_the_same_on_both_backends,
    the_world_changing_between_syncs,
);

fn round_trip_and_report_equality(db: &TestDb) {
    let data = sample();
    let mut store = db.open();
    assert_eq!(
        store.backend(),
        if db.postgres {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    );
    assert_eq!(store.schema_version().unwrap(), 6);
    store.save(&data).unwrap();
    let back = store.load().unwrap();
    assert_eq!(back.commits.len(), data.commits.len());
    let pr = back.pull_requests.iter().find(|p| p.id == 3).unwrap();
    assert_eq!(pr, data.pull_requests.iter().find(|p| p.id == 3).unwrap());
    assert_eq!(
        back.incidents.iter().find(|i| i.id == "Q1").unwrap(),
        &data.incidents[0]
    );
    assert_eq!(
        back.collection.history_truncated,
        data.collection.history_truncated
    );
    assert_eq!(back.collection.skipped, data.collection.skipped);
    // What the branching model says travels with the repository, and a
    // later read that says otherwise replaces it (models are read again).
    let sorted = |mut r: Vec<Repository>| {
        r.sort_by(|a, b| a.slug.cmp(&b.slug));
        r
    };
    assert_eq!(back.repositories, sorted(data.repositories.clone()));
    let mut edited = data.clone();
    edited.repositories[1].hotfix_prefix = None;
    edited.repositories[1].release_prefix = Some("rel-".into());
    store.save(&edited).unwrap();
    assert_eq!(
        store.load().unwrap().repositories,
        sorted(edited.repositories)
    );
    store.save(&data).unwrap();
    let now = t(1000);
    assert_eq!(
        compute_at(&back, &config(), now).to_json(),
        compute_at(&data, &config(), now).to_json()
    );
    store.save(&data).unwrap();
    assert_eq!(store.counts().unwrap().commits, data.commits.len());
    assert_eq!(store.counts().unwrap().repositories, 2);
    // Reopening migrates nothing and reads the same.
    drop(store);
    let again = db.open();
    assert_eq!(again.load().unwrap(), back);
}

fn upserts_pick_up_changed_state(db: &TestDb) {
    let mut store = db.open();
    let mut d = Dataset::new();
    let mut dep =
        Deployment::production("api", "{x}", "abc1234", t(1), DeploymentStatus::InProgress);
    dep.finished_at = None;
    dep.started_at = Some(t(1));
    d.deployments.push(dep.clone());
    store.save(&d).unwrap();
    assert_eq!(store.deployments_in_progress("api").unwrap(), vec!["{x}"]);
    dep.status = DeploymentStatus::Succeeded;
    dep.finished_at = Some(t(2));
    d.deployments = vec![dep.clone()];
    let mut inc = Incident::new("opsgenie", "A", Some(Severity::P2), t(3), None);
    d.incidents.push(inc.clone());
    store.save(&d).unwrap();
    assert!(store.deployments_in_progress("api").unwrap().is_empty());
    assert_eq!(store.unresolved_incidents("opsgenie").unwrap(), vec!["A"]);
    assert_eq!(
        store.oldest_unresolved_incident("opsgenie").unwrap(),
        Some(t(3))
    );
    inc.resolved_at = Some(t(4));
    inc.status = IncidentStatus::Resolved;
    store
        .save(&Dataset {
            incidents: vec![inc],
            ..Dataset::new()
        })
        .unwrap();
    assert!(store.unresolved_incidents("opsgenie").unwrap().is_empty());
    assert_eq!(store.load().unwrap().deployments, vec![dep]);
}

fn a_failed_batch_leaves_nothing_behind_and_cursors_move_with_data(db: &TestDb) {
    let mut store = db.open();
    let boom = if db.postgres {
        "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk on fire'; END $$;
         CREATE TRIGGER boom BEFORE INSERT ON incidents FOR EACH ROW EXECUTE FUNCTION boom();"
    } else {
        "CREATE TRIGGER boom BEFORE INSERT ON incidents BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;"
    };
    store.execute_batch(boom).unwrap();
    let batch = SyncBatch::new(sample()).with_cursor("bitbucket", "acme/api", "{\"prs\":\"x\"}");
    let err = store.apply(&batch).unwrap_err();
    assert!(err.to_string().contains("disk on fire"), "{err}");
    assert_eq!(
        store.counts().unwrap().commits,
        0,
        "the whole batch rolled back"
    );
    assert_eq!(store.cursor("bitbucket", "acme/api").unwrap(), None);
    store
        .execute_batch(if db.postgres {
            "DROP TRIGGER boom ON incidents;"
        } else {
            "DROP TRIGGER boom;"
        })
        .unwrap();
    store.apply(&batch).unwrap();
    assert_eq!(
        store.cursor("bitbucket", "acme/api").unwrap().as_deref(),
        Some("{\"prs\":\"x\"}")
    );
    store
        .apply(&SyncBatch::default().with_cursor("bitbucket", "acme/api", "{}"))
        .unwrap();
    assert_eq!(
        store.cursor("bitbucket", "acme/api").unwrap().as_deref(),
        Some("{}")
    );
}

fn concurrent_writers_serialise(db: &TestDb) {
    db.open();
    let handles: Vec<_> = (0..3)
        .map(|w| {
            let location = db.location.clone();
            std::thread::spawn(move || {
                let mut store = Store::open_location(&location).unwrap();
                for round in 0..10 {
                    let mut d = Dataset::new();
                    for k in 0..30 {
                        d.commits.push(Commit::new(
                            "api",
                            format!("w{w}-r{round}-c{k}"),
                            vec![],
                            t(k),
                            "x",
                        ));
                    }
                    // Overlapping keys too: the same commit written by every worker.
                    d.commits.push(Commit::new(
                        "api",
                        format!("shared-{round}"),
                        vec![],
                        t(0),
                        "x",
                    ));
                    store
                        .apply(&SyncBatch::new(d).with_cursor(
                            "src",
                            &format!("w{w}"),
                            round.to_string(),
                        ))
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let store = db.open();
    assert_eq!(store.counts().unwrap().commits, 3 * 10 * 30 + 10);
    assert_eq!(store.cursor("src", "w2").unwrap().as_deref(), Some("9"));
}

/// Several processes (here threads with their own connections) opening a
/// fresh store at the same moment all succeed; the schema is made once.
fn fresh_store_opened_by_several_at_once(db: &TestDb) {
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let location = db.location.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let mut store = Store::open_location(&location)?;
                store.save(&sample())?;
                store.schema_version()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().unwrap(), 6);
    }
    assert_eq!(db.open().counts().unwrap().commits, sample().commits.len());
}

fn report_rows_are_readable_through_views(db: &TestDb) {
    let mut store = db.open();
    store.save(&sample()).unwrap();
    let report = compute_at(&store.load().unwrap(), &config(), t(1000));
    let run1 = store.save_report(&report).unwrap();
    let run2 = store.save_report(&report).unwrap();
    assert_eq!(run2, run1 + 1);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM v_changes") as usize,
        report.changes.len()
    );
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM v_deployments WHERE failed = 1"
        ) as usize,
        report.metrics.change_failure_rate.failed
    );
    let rows = store
        .query_values(
            "SELECT signals FROM v_deployments WHERE status = ?1 ORDER BY deployed_at LIMIT 1",
            &[SqlValue::from("failed")],
        )
        .unwrap();
    assert!(
        rows[0][0].as_str().unwrap().contains("failed_deployment"),
        "{rows:?}"
    );
    let median = store
        .query_values(
            "SELECT lead_time_seconds FROM v_changes ORDER BY lead_time_seconds LIMIT 1 OFFSET (SELECT (COUNT(*) - 1) / 2 FROM v_changes)",
            &[],
        )
        .unwrap();
    assert!(
        matches!(median[0][0], SqlValue::Real(x) if x > 0.0),
        "{median:?}"
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM v_production_deployments"),
        29
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM v_incidents") as usize,
        report.incidents.len()
    );
    // Every value as text, whatever the type: what a dashboard shows.
    let text = store
        .query_text("SELECT COUNT(*), MAX(lead_time_seconds), MIN(deployed_at) FROM v_changes")
        .unwrap();
    assert_eq!(
        text[0][0].as_deref(),
        Some(report.changes.len().to_string().as_str())
    );
}

/// A remote serving deployments per repository with a version cursor.
struct Remote {
    deployments: Mutex<Vec<(u64, Deployment)>>,
    scopes: Vec<String>,
    fail_on: Mutex<Option<String>>,
    delay: std::time::Duration,
}

impl Remote {
    fn new(scopes: &[&str]) -> Self {
        Self {
            deployments: Mutex::new(Vec::new()),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            fail_on: Mutex::new(None),
            delay: std::time::Duration::ZERO,
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
        Ok(self.scopes.clone())
    }

    async fn sync_scope(
        &self,
        scope: &str,
        _range: TimeRange,
        cursor: Option<&str>,
    ) -> Result<SyncDelta, SourceError> {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
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

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn incremental_sync_and_progress(db: &TestDb) {
    let rt = rt();
    let remote = Remote::new(&["api", "web"]);
    remote.push(Deployment::production(
        "api",
        "1",
        "aaaaaaa",
        t(1),
        DeploymentStatus::Succeeded,
    ));
    remote.push(Deployment::production(
        "web",
        "2",
        "bbbbbbb",
        t(2),
        DeploymentStatus::Succeeded,
    ));
    let mut store = db.open();
    let first = rt
        .block_on(sync_delivery(&mut store, &remote, range()))
        .unwrap();
    assert_eq!((first.scopes, first.events, first.requests), (2, 2, 2));
    assert_eq!(first.taken, vec!["api", "web"]);
    let again = rt
        .block_on(sync_delivery(&mut store, &remote, range()))
        .unwrap();
    assert_eq!((again.events, again.requests), (0, 2));

    // Interrupted on the second scope: the first is kept and `web` is named
    // as unfinished; the re-run completes.
    remote.push(Deployment::production(
        "api",
        "3",
        "ccccccc",
        t(5),
        DeploymentStatus::Succeeded,
    ));
    *remote.fail_on.lock().unwrap() = Some("web".into());
    let err = rt
        .block_on(sync_delivery(&mut store, &remote, range()))
        .unwrap_err();
    assert!(err.to_string().contains("after 1 scope"), "{err}");
    assert_eq!(store.load().unwrap().deployments.len(), 3);
    assert_eq!(
        store.load().unwrap().collection.incomplete_sync,
        vec!["web"]
    );
    *remote.fail_on.lock().unwrap() = None;
    let resumed = rt
        .block_on(sync_delivery(&mut store, &remote, range()))
        .unwrap();
    // SQLite re-syncs every scope; PostgreSQL resumes the unfinished round
    // (the failed worker gave its lease back), so only `web` is left.
    if db.postgres {
        assert_eq!((resumed.scopes, resumed.started_round), (1, false));
        assert_eq!(resumed.taken, vec!["web"]);
    } else {
        assert_eq!(resumed.scopes, 2);
    }
    assert!(store.load().unwrap().collection.incomplete_sync.is_empty());
    drop(store);
}

fn load_is_the_same_on_both_backends(db: &TestDb) {
    let mut store = db.open();
    let mut data = sample();
    // Keys whose order differs between collations: upper case, punctuation.
    data.repositories.push(Repository::new("a-b", "main"));
    data.repositories.push(Repository::new("aB", "main"));
    data.repositories.push(Repository::new("_x", "main"));
    store.save(&data).unwrap();
    let mut reference = Store::open_in_memory().unwrap();
    reference.save(&data).unwrap();
    assert_eq!(store.load().unwrap(), reference.load().unwrap());
}

// ---- PostgreSQL only: cooperating workers, redaction ----

fn postgres_db() -> Option<TestDb> {
    TestDb::postgres()
}

#[test]
fn workers_split_the_scopes_and_equal_one_worker() {
    let Some(db) = postgres_db() else { return };
    let scopes: Vec<String> = (0..12).map(|i| format!("acme/r{i:02}")).collect();
    let refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let make = || {
        let mut remote = Remote::new(&refs);
        remote.delay = std::time::Duration::from_millis(150);
        for (i, s) in scopes.iter().enumerate() {
            remote.push(Deployment::production(
                s,
                format!("{i}"),
                "abc1234",
                t(i as i64),
                DeploymentStatus::Succeeded,
            ));
        }
        remote
    };
    let handles: Vec<_> = (0..3)
        .map(|w| {
            let location = db.location.clone();
            let remote = make();
            std::thread::spawn(move || {
                let mut store = Store::open_location(&location).unwrap();
                let options = WorkerOptions {
                    worker_id: format!("w{w}"),
                    ..WorkerOptions::default()
                };
                rt().block_on(sync_delivery_with(&mut store, &remote, range(), &options))
                    .unwrap()
            })
        })
        .collect();
    let summaries: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let mut taken: Vec<String> = summaries.iter().flat_map(|s| s.taken.clone()).collect();
    taken.sort();
    assert_eq!(
        taken, scopes,
        "every scope synced exactly once: {summaries:?}"
    );
    assert!(summaries.iter().all(|s| s.scopes >= 1), "{summaries:?}");
    assert_eq!(summaries.iter().filter(|s| s.started_round).count(), 1);
    let store = db.open();
    let mut single = Store::open_in_memory().unwrap();
    rt().block_on(sync_delivery(&mut single, &make(), range()))
        .unwrap();
    assert_eq!(store.load().unwrap(), single.load().unwrap());
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM sync_leases WHERE state = 'done'"
        ),
        12
    );
}

#[test]
fn a_dead_workers_lease_expires_and_is_taken_over() {
    let Some(db) = postgres_db() else { return };
    let remote = Remote::new(&["acme/a", "acme/b"]);
    remote.push(Deployment::production(
        "acme/a",
        "1",
        "abc1234",
        t(1),
        DeploymentStatus::Succeeded,
    ));
    let mut store = db.open();
    // A worker starts a round, claims `acme/a` for 2 seconds, then dies.
    store
        .execute_batch(
            "INSERT INTO sync_leases (source, scope, state, worker, expires_at, updated_at) VALUES
             ('remote', 'acme/a', 'pending', 'dead', EXTRACT(EPOCH FROM clock_timestamp())::bigint + 2, 'x'),
             ('remote', 'acme/b', 'pending', NULL, NULL, 'x');",
        )
        .unwrap();
    let started = std::time::Instant::now();
    let options = WorkerOptions {
        worker_id: "survivor".into(),
        poll: std::time::Duration::from_millis(100),
        ..WorkerOptions::default()
    };
    let summary = rt()
        .block_on(sync_delivery_with(&mut store, &remote, range(), &options))
        .unwrap();
    assert!(!summary.started_round, "joined the dead worker's round");
    assert_eq!(summary.taken, vec!["acme/b", "acme/a"]);
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "waited for the expiry"
    );
    assert_eq!(store.load().unwrap().deployments.len(), 1);
    // The next run starts a new round.
    let next = rt()
        .block_on(sync_delivery_with(&mut store, &remote, range(), &options))
        .unwrap();
    assert!(next.started_round);
    assert_eq!(next.taken, vec!["acme/a", "acme/b"]);
}

#[test]
fn a_wrong_password_is_never_printed() {
    let Some(url) = common::postgres_server_url() else {
        return;
    };
    // The test server trusts every local connection, so use a port nobody
    // listens on: the error must still name the URL without the password.
    let _ = url;
    let bad = "postgres://dora:hunter2-secret@127.0.0.1:1/metrics";
    let err = Store::open_location(bad).unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(
        text.contains("postgres://dora:***@127.0.0.1:1/metrics"),
        "{text}"
    );
    // The cause is named, not only "error".
    assert!(err.to_string().contains("Connection refused"), "{err}");
}

#[test]
fn a_lease_renewed_while_fetching_is_not_taken_over() {
    let Some(db) = postgres_db() else { return };
    // One worker fetches in 0.5 s, the other in 3.5 s, longer than the 2 s
    // lease: only renewal (every 0.5 s) keeps the fast worker, idle after its
    // own scope, from taking the slow worker's scope over.
    db.open();
    let handles: Vec<_> = [500u64, 3500]
        .into_iter()
        .enumerate()
        .map(|(w, delay_ms)| {
            let location = db.location.clone();
            let mut remote = Remote::new(&["acme/a", "acme/b"]);
            remote.delay = std::time::Duration::from_millis(delay_ms);
            std::thread::spawn(move || {
                let mut store = Store::open_location(&location).unwrap();
                let options = WorkerOptions {
                    worker_id: format!("w{w}"),
                    lease: std::time::Duration::from_secs(2),
                    renew_every: std::time::Duration::from_millis(500),
                    poll: std::time::Duration::from_millis(100),
                    ..WorkerOptions::default()
                };
                rt().block_on(sync_delivery_with(&mut store, &remote, range(), &options))
                    .unwrap()
            })
        })
        .collect();
    let summaries: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(
        summaries.iter().all(|s| s.taken.len() == 1),
        "each worker synced one scope, none twice: {summaries:?}"
    );
}

/// Renames followed by id, departures, force-pushed commits marked
/// unreachable, covered spans and clock-skew notes: the same on both backends.
fn the_world_changing_between_syncs(db: &TestDb) {
    let mut store = db.open();
    let mut data = Dataset::new();
    for slug in ["a", "b"] {
        data.repositories.push(Repository::new(slug, "main"));
        data.commits
            .push(Commit::new(slug, format!("{slug}0"), vec![], t(0), "init"));
        data.commits.push(Commit::new(
            slug,
            format!("{slug}1"),
            vec![format!("{slug}0")],
            t(10),
            "work",
        ));
    }
    let range = TimeRange::new(t(0), t(100));
    store
        .apply(
            &SyncBatch::new(data)
                .with_cursor("bitbucket", "acme/a", "{}")
                .with_cursor("bitbucket", "acme/b", "{}")
                .with_span("bitbucket", "acme/a", range)
                .with_span("bitbucket", "acme/b", range),
        )
        .unwrap();
    let list = |names: &[(&str, &str)]| {
        let mut list = ScopeList::named(Vec::new());
        list.scopes = names
            .iter()
            .map(|(n, id)| Scope::new(*n, Some((*id).to_string())))
            .collect();
        list.exhaustive = true;
        list
    };
    let changes = store
        .reconcile_scopes("bitbucket", &list(&[("acme/a", "{1}"), ("acme/b", "{2}")]))
        .unwrap();
    assert_eq!(changes, dora_store::ScopeChanges::default());

    // `a` renamed `a2`, `b` deleted.
    let changes = store
        .reconcile_scopes("bitbucket", &list(&[("acme/a2", "{1}")]))
        .unwrap();
    assert_eq!(
        changes.renamed,
        [("acme/a".to_string(), "acme/a2".to_string())]
    );
    assert_eq!(changes.departed, ["acme/b"]);
    assert!(store.cursor("bitbucket", "acme/a2").unwrap().is_some());
    assert_eq!(store.span("bitbucket", "acme/a2").unwrap(), Some(range));
    let loaded = store.load().unwrap();
    let slugs: Vec<&str> = loaded
        .repositories
        .iter()
        .map(|r| r.slug.as_str())
        .collect();
    assert_eq!(slugs, ["a2"]);
    assert!(loaded.commits.iter().all(|c| c.repository == "a2"));
    assert_eq!(loaded.commits.len(), 2);
    assert_eq!(loaded.collection.departed, ["b"]);
    assert_eq!(loaded.collection.coverage.len(), 1);
    assert_eq!(loaded.collection.coverage[0].scope, "a2");

    // A force-push: `a21` replaced by `a2x`; the batch holds the whole history.
    let mut rewrite = Dataset::new();
    rewrite.repositories.push(Repository::new("a2", "main"));
    rewrite
        .commits
        .push(Commit::new("a2", "a0", vec![], t(0), "init"));
    rewrite.commits.push(Commit::new(
        "a2",
        "a2x",
        vec!["a0".into()],
        t(11),
        "rewritten",
    ));
    rewrite.collection.rewritten.push("a2".into());
    rewrite.collection.clock_skew.push(ClockSkew {
        scope: "a2".into(),
        item: "pull request #1 updated_on".into(),
        dated: t(10_000),
        observed_at: t(100),
    });
    store
        .apply(&SyncBatch::new(rewrite).with_span(
            "bitbucket",
            "acme/a2",
            TimeRange::new(t(-50), t(120)),
        ))
        .unwrap();
    let loaded = store.load().unwrap();
    let mut shas: Vec<&str> = loaded.commits.iter().map(|c| c.sha.as_str()).collect();
    shas.sort_unstable();
    assert_eq!(shas, ["a0", "a2x"], "the vanished commit is not loaded");
    let marked = store
        .query_text("SELECT sha FROM commits WHERE unreachable_since IS NOT NULL")
        .unwrap();
    assert_eq!(marked, [[Some("a1".to_string())]], "but kept, marked");
    assert_eq!(
        store.span("bitbucket", "acme/a2").unwrap(),
        Some(TimeRange::new(t(-50), t(120)))
    );
    assert_eq!(loaded.collection.clock_skew.len(), 1);
    // The next batch of the repository without the note clears it.
    let mut quiet = Dataset::new();
    quiet.repositories.push(Repository::new("a2", "main"));
    store.apply(&SyncBatch::new(quiet)).unwrap();
    assert!(store.load().unwrap().collection.clock_skew.is_empty());

    // `b` comes back: no longer departed.
    store
        .reconcile_scopes("bitbucket", &list(&[("acme/a2", "{1}"), ("acme/b", "{2}")]))
        .unwrap();
    let loaded = store.load().unwrap();
    assert!(loaded.collection.departed.is_empty());
    assert_eq!(loaded.repositories.len(), 2);
}
