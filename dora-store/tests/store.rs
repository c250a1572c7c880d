//! The store against realistic datasets: round trips, upserts, atomicity,
//! concurrent writers, and reports from the store equal reports from memory.

use chrono::{Duration, TimeZone, Utc};
use dora_core::*;
use dora_store::{Store, SyncBatch};

fn t(h: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap() + Duration::hours(h)
}

fn sample() -> Dataset {
    let mut d = Dataset::new();
    d.repositories.push(Repository::new("api", "main"));
    d.repositories.push(Repository {
        slug: "web".into(),
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
            format!("work {i}"),
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
    let mut bot = PullRequest::merged(
        "api",
        99,
        Actor::bot("b", "renovate[bot]"),
        "renovate/x",
        "main",
        t(5),
        t(6),
        "m1",
    );
    bot.state = PullRequestState::Merged;
    d.pull_requests.push(bot);
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
    d
}

fn config() -> Config {
    Config {
        days: 30,
        until: Some(t(30 * 24)),
        ..Config::default()
    }
}

#[test]
fn round_trip_and_report_equality() {
    let dir = tempfile::tempdir().unwrap();
    let data = sample();
    let mut store = Store::open(dir.path().join("dora.db")).unwrap();
    assert_eq!(store.schema_version().unwrap(), 6);
    store.save(&data).unwrap();
    let back = store.load().unwrap();
    assert_eq!(back.commits.len(), data.commits.len());
    assert_eq!(back.pull_requests.len(), data.pull_requests.len());
    let pr = back.pull_requests.iter().find(|p| p.id == 3).unwrap();
    assert_eq!(pr, data.pull_requests.iter().find(|p| p.id == 3).unwrap());
    let inc = back.incidents.iter().find(|i| i.id == "Q1").unwrap();
    assert_eq!(inc, &data.incidents[0]);
    let now = t(1000);
    assert_eq!(
        compute_at(&back, &config(), now).to_json(),
        compute_at(&data, &config(), now).to_json()
    );

    // Saving the same events again changes nothing.
    store.save(&data).unwrap();
    assert_eq!(store.counts().unwrap().commits, data.commits.len());
    assert_eq!(store.counts().unwrap().repositories, 2);
}

#[test]
fn upserts_pick_up_changed_state() {
    let mut store = Store::open_in_memory().unwrap();
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

#[test]
fn a_failed_batch_leaves_nothing_behind_and_cursors_move_with_data() {
    let mut store = Store::open_in_memory().unwrap();
    store
        .connection()
        .expect("a SQLite store")
        .execute_batch("CREATE TRIGGER boom BEFORE INSERT ON incidents BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;")
        .unwrap();
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
        .connection()
        .expect("a SQLite store")
        .execute_batch("DROP TRIGGER boom;")
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

#[test]
fn two_writers_on_one_file_do_not_corrupt_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    Store::open(&path).unwrap();
    let handles: Vec<_> = (0..2)
        .map(|w| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut store = Store::open(&path).unwrap();
                for round in 0..20 {
                    let mut d = Dataset::new();
                    for k in 0..50 {
                        d.commits.push(Commit::new(
                            "api",
                            format!("w{w}-r{round}-c{k}"),
                            vec![],
                            t(k),
                            "x",
                        ));
                    }
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
    let store = Store::open(&path).unwrap();
    assert_eq!(store.counts().unwrap().commits, 2 * 20 * 50);
    assert_eq!(store.cursor("src", "w1").unwrap().as_deref(), Some("19"));
    let ok: String = store
        .connection()
        .expect("a SQLite store")
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}

#[test]
fn report_rows_are_readable_through_views() {
    let mut store = Store::open_in_memory().unwrap();
    let data = sample();
    store.save(&data).unwrap();
    let report = compute_at(&store.load().unwrap(), &config(), t(1000));
    store.save_report(&report).unwrap();
    let run2 = store.save_report(&report).unwrap();
    assert_eq!(run2, 2);
    let conn = store.connection().expect("a SQLite store");
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM v_changes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n as usize, report.changes.len());
    let failed: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM v_deployments WHERE failed = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(failed as usize, report.metrics.change_failure_rate.failed);
    let signals: String = conn
        .query_row(
            "SELECT signals FROM v_deployments WHERE status = 'failed' ORDER BY deployed_at LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(signals.contains("failed_deployment"), "{signals}");
    let median: f64 = conn
        .query_row(
            "SELECT lead_time_seconds FROM v_changes ORDER BY lead_time_seconds LIMIT 1 OFFSET (SELECT (COUNT(*) - 1) / 2 FROM v_changes)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(median > 0.0);
    let prod: i64 = conn
        .query_row("SELECT COUNT(*) FROM v_production_deployments", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(prod, 29);
}

#[test]
fn opening_a_non_database_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(
        &path,
        "this is not a database, just some text that is long enough to have a header",
    )
    .unwrap();
    let err = Store::open(&path).unwrap_err().to_string();
    assert!(err.contains("notes.txt"), "{err}");
}

#[test]
fn collection_notes_survive_the_store_and_clear_when_items_arrive_readable() {
    let mut store = Store::open_in_memory().unwrap();
    let mut data = sample();
    let pr = data.pull_requests[0].clone();
    data.collection.skipped = vec![
        SkippedEvent::new(
            EventKind::Deployment,
            Some("api".into()),
            Some("{d9}".into()),
            "missing_status",
            "deployment {d9}: state COMPLETED without status",
        ),
        // Two id-less items with the same reason are both counted.
        SkippedEvent::new(
            EventKind::Commit,
            Some("api".into()),
            None,
            "missing_hash",
            "a commit without hash",
        ),
        SkippedEvent::new(
            EventKind::Commit,
            Some("api".into()),
            None,
            "missing_hash",
            "a commit without hash",
        ),
    ];
    data.collection.history_truncated = vec![HistoryGap {
        repository: pr.repository.clone(),
        pull_request: pr.id,
        remedy: "raise --max-commit-pages".into(),
    }];
    store.save(&data).unwrap();
    let back = store.load().unwrap();
    assert_eq!(back.collection.skipped.len(), 3);
    assert_eq!(
        back.collection.history_truncated,
        data.collection.history_truncated
    );

    // Later the deployment is readable and the PR's history was reached.
    let mut later = Dataset::new();
    later.deployments = vec![Deployment::production(
        "api",
        "{d9}",
        "abc1234",
        data.deployments[0].time().unwrap(),
        DeploymentStatus::Succeeded,
    )];
    later.pull_requests = vec![pr];
    store.save(&later).unwrap();
    let back = store.load().unwrap();
    assert_eq!(
        back.collection.skipped.len(),
        2,
        "{:?}",
        back.collection.skipped
    );
    assert!(
        back.collection
            .skipped
            .iter()
            .all(|e| e.kind == EventKind::Commit)
    );
    assert!(back.collection.history_truncated.is_empty());
}

/// Items listed twice (a list that shifted between pages during collection)
/// give the same report on both paths: computed straight from the collected
/// dataset (`dora report`) and through the store (`dora sync` + `report
/// --store --offline`), and both equal the report without repeats.
#[test]
fn repeated_items_count_once_on_both_paths() {
    fn prop(picks: Vec<(u8, u16)>) -> bool {
        let clean = sample();
        let mut noisy = clean.clone();
        for (kind, index) in picks.into_iter().take(12) {
            let i = usize::from(index);
            // An earlier, stale copy of an item, inserted before the real one
            // (the last copy is the freshest and wins).
            match kind % 4 {
                0 => {
                    let k = i % noisy.deployments.len();
                    let mut stale = noisy.deployments[k].clone();
                    stale.status = DeploymentStatus::InProgress;
                    noisy.deployments.insert(k, stale);
                }
                1 => {
                    let k = i % noisy.pull_requests.len();
                    let mut stale = noisy.pull_requests[k].clone();
                    stale.title = "stale title".into();
                    stale.first_review_at = None;
                    noisy.pull_requests.insert(k, stale);
                }
                2 => {
                    let k = i % noisy.incidents.len();
                    let mut stale = noisy.incidents[k].clone();
                    stale.severity = Some(Severity::P5);
                    noisy.incidents.insert(k, stale);
                }
                _ => {
                    let k = i % noisy.commits.len();
                    let copy = noisy.commits[k].clone();
                    noisy.commits.insert(k, copy);
                }
            }
        }
        let now = t(1000);
        let expected = compute_at(&clean, &config(), now);
        let live = compute_at(&noisy, &config(), now);
        let Ok(mut store) = Store::open_in_memory() else {
            return false;
        };
        if store.save(&noisy).is_err() {
            return false;
        }
        let Ok(back) = store.load() else { return false };
        let stored = compute_at(&back, &config(), now);
        live.metrics == expected.metrics
            && stored.metrics == expected.metrics
            && live.accounting == expected.accounting
            && stored.accounting == expected.accounting
    }
    quickcheck::QuickCheck::new()
        .tests(60)
        .quickcheck(prop as fn(Vec<(u8, u16)>) -> bool);
}

/// A file that is not ours is refused before anything is written to it.
#[test]
fn foreign_and_future_files_are_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    // Another program's SQLite database.
    let foreign = dir.path().join("app.db");
    {
        let conn = rusqlite::Connection::open(&foreign).unwrap();
        conn.execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);")
            .unwrap();
    }
    let before = std::fs::read(&foreign).unwrap();
    let err = Store::open(&foreign).map(|_| ()).unwrap_err().to_string();
    assert!(
        err.contains("not a dora store") && err.contains("users"),
        "{err}"
    );
    assert_eq!(std::fs::read(&foreign).unwrap(), before, "not modified");
    assert!(
        !dir.path().join("app.db-wal").exists(),
        "not switched to WAL"
    );

    // Not SQLite at all.
    let text = dir.path().join("notes.txt");
    std::fs::write(
        &text,
        "just some notes, long enough to look like a file header\n".repeat(20),
    )
    .unwrap();
    let err = Store::open(&text).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("not a database"), "{err}");

    // A store from a newer dora.
    let future = dir.path().join("future.db");
    Store::open(&future).unwrap();
    {
        let conn = rusqlite::Connection::open(&future).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    let err = Store::open(&future).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("newer than this program"), "{err}");
}

#[test]
fn a_read_only_store_reads_and_refuses_every_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dora.db");
    {
        let mut store = Store::open(&path).unwrap();
        store.apply(&SyncBatch::new(sample())).unwrap();
    }
    let mut store = Store::open_read_only(&path).unwrap();
    assert!(store.is_read_only());
    let data = store.load().unwrap();
    assert_eq!(data.deployments.len(), sample().deployments.len());
    let err = store.apply(&SyncBatch::new(sample())).unwrap_err();
    assert!(
        matches!(err, dora_store::StoreError::ReadOnly { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("read-only"), "{err}");
    let report = compute_at(&data, &Config::default(), Utc::now());
    assert!(store.save_report(&report).is_err());
    drop(store);

    // A store of an older schema needs migrating, which writes: refused, with
    // the way out.
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 4)
        .unwrap();
    let err = Store::open_read_only(&path).unwrap_err().to_string();
    assert!(
        err.contains("schema version 4") && err.contains("dora sync"),
        "{err}"
    );
    // And a missing file is not created.
    let missing = dir.path().join("missing.db");
    assert!(Store::open_read_only(&missing).is_err());
    assert!(!missing.exists());
}
