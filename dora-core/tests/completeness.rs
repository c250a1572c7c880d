//! "Nothing is silently lost": the accounting ledgers and the completeness
//! diagnostics, on hand-computed datasets.
#![allow(clippy::unwrap_used)]

mod common;
use chrono::Duration;
use common::*;
use dora_core::report::reasons;
use dora_core::*;
use std::collections::BTreeMap;

/// a ── f1 ── f2 merged as m1 (PR 1), deployed by d1; d0 is the baseline.
/// Then a squash merge (PR 2), a rebased fast-forward (PR 3) and a merge (PR 4),
/// all three shipped by d2. (The `batch()` timeline of `scenarios.rs`.)
fn batch() -> Builder {
    let mut b = Builder::new("api");
    b.commit("a", &[], t(1, 0))
        .commit("f1", &["a"], t(2, 9))
        .commit("f2", &["f1"], t(2, 15))
        .commit("m1", &["a", "f2"], t(3, 12))
        .pr(
            1,
            "feature/x",
            t(2, 12),
            Some(t(2, 18)),
            t(3, 12),
            "m1",
            &[],
        )
        .ok("d0", "a", t(1, 1))
        .ok("d1", "m1", t(3, 14))
        .commit("s1", &["m1"], t(5, 10))
        .commit("q", &["m1"], t(6, 10))
        .pr(2, "feature/squash", t(5, 11), None, t(6, 10), "q", &["s1"]);
    let mut r1 = Commit::new("api", sha("r1"), vec![sha("q")], t(8, 9), "r1");
    r1.authored_at = t(7, 8);
    let mut r2 = Commit::new("api", sha("r2"), vec![sha("r1")], t(8, 9), "r2");
    r2.authored_at = t(7, 9);
    b.data.commits.extend([r1, r2]);
    b.pr(
        3,
        "feature/rebase",
        t(7, 10),
        Some(t(7, 12)),
        t(8, 9),
        "r2",
        &["r1", "r2"],
    )
    .commit("g1", &["r2"], t(8, 10))
    .commit("m4", &["r2", "g1"], t(8, 11))
    .pr(4, "feature/g", t(8, 10), None, t(8, 11), "m4", &[])
    .ok("d2", "m4", t(8, 12));
    b
}

fn skipped(kind: EventKind, scope: &str, id: &str, reason: &str) -> SkippedEvent {
    SkippedEvent::new(
        kind,
        Some(scope.to_string()),
        Some(id.to_string()),
        reason,
        format!("{kind} {id}: {reason}"),
    )
}

fn excluded(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(r, n)| (r.to_string(), *n)).collect()
}

/// Every kind of exclusion once or twice, every item accounted for.
fn everything() -> Dataset {
    let mut b = batch();
    let before = t(1, 0) - Duration::days(5);
    // Pull requests: 5 open, 6 declined, 7 a bot whose merge commit is not in
    // the history, 8 a person's likewise, 9 merged but not shipped, 10 merged
    // before the window; 4's branch history was truncated.
    b.commit("h1", &["m4"], t(27, 10))
        .commit("m5", &["m4", "h1"], t(28, 10))
        .pr(9, "feature/late", t(27, 11), None, t(28, 10), "m5", &[])
        .pr(7, "renovate/x", t(9, 1), None, t(9, 2), "unknown7", &[])
        .pr(8, "feature/y", t(9, 1), None, t(9, 2), "unknown8", &[])
        .pr(
            10,
            "feature/old",
            before,
            None,
            before + Duration::hours(1),
            "unknown10",
            &[],
        );
    for (id, state) in [(5, PullRequestState::Open), (6, PullRequestState::Declined)] {
        let mut pr = b.data.pull_requests[0].clone();
        pr.id = id;
        pr.state = state;
        pr.merged_at = None;
        pr.merge_commit = None;
        b.data.pull_requests.push(pr);
    }
    let bot = b.data.pull_requests.iter_mut().find(|p| p.id == 7).unwrap();
    bot.author = Actor::bot("bot", "renovate[bot]");
    b.data.collection.history_truncated.push(HistoryGap {
        repository: "api".into(),
        pull_request: 4,
        remedy: "pass --max-commits 50000 (dora.toml `max_commits`)".into(),
    });
    // Deployments: staging, in progress, stopped, undated, before the window.
    let mut staging = Deployment::production(
        "api",
        "s1",
        sha("m4"),
        t(8, 11),
        DeploymentStatus::Succeeded,
    );
    staging.environment = "staging".into();
    staging.environment_kind = EnvironmentKind::Staging;
    let mut undated =
        Deployment::production("api", "p3", sha("m5"), t(29, 0), DeploymentStatus::Failed);
    undated.finished_at = None;
    b.data.deployments.extend([
        staging,
        Deployment::production(
            "api",
            "p1",
            sha("m5"),
            t(29, 1),
            DeploymentStatus::InProgress,
        ),
        Deployment::production("api", "p2", sha("m5"), t(29, 2), DeploymentStatus::Stopped),
        undated,
        Deployment::production("api", "dm1", sha("a"), before, DeploymentStatus::Succeeded),
    ]);
    // Incidents: dismissed, opened before the window, P3, no severity, two P1s.
    let inc = |id: &str, sev, open| {
        Incident::new("pagerduty", id, sev, open, Some(open + Duration::hours(1)))
    };
    let mut dismissed = inc("i-dismissed", Some(Severity::P1), t(10, 0));
    dismissed.status = IncidentStatus::Dismissed;
    b.data.incidents = vec![
        dismissed,
        inc("i-old", Some(Severity::P1), before),
        inc("i-p3", Some(Severity::P3), t(11, 0)),
        inc("i-none", None, t(12, 0)),
        inc("i-p1a", Some(Severity::P1), t(13, 0)),
        inc("i-p1b", Some(Severity::P1), t(14, 0)),
    ];
    // Items the converters could not read.
    b.data.collection.skipped = vec![
        skipped(EventKind::Deployment, "api", "{u1}", "missing_status"),
        skipped(EventKind::Deployment, "api", "{u2}", "missing_status"),
        skipped(EventKind::PullRequest, "api", "11", "missing_timestamp"),
        skipped(EventKind::Commit, "api", "deadbeef", "bad_date"),
        skipped(EventKind::Incident, "pagerduty", "Q1", "unknown_urgency"),
    ];
    b.data
}

/// `data` with a few items listed twice: an earlier, staler copy of each.
fn with_repeats(data: &Dataset) -> Dataset {
    let mut d = data.clone();
    let mut stale_deploy = d.deployments.iter().find(|x| x.id == "d2").unwrap().clone();
    stale_deploy.status = DeploymentStatus::InProgress;
    d.deployments.insert(0, stale_deploy);
    let mut stale_pr = d.pull_requests.iter().find(|p| p.id == 3).unwrap().clone();
    stale_pr.state = PullRequestState::Open;
    d.pull_requests.insert(0, stale_pr);
    let mut stale_inc = d
        .incidents
        .iter()
        .find(|i| i.id == "i-p1b")
        .unwrap()
        .clone();
    stale_inc.resolved_at = None;
    d.incidents.insert(0, stale_inc);
    let q = d
        .commits
        .iter()
        .find(|c| c.sha == sha("q"))
        .unwrap()
        .clone();
    d.commits.insert(0, q);
    d
}

#[test]
fn every_fetched_event_is_used_or_excluded_for_a_named_reason() {
    let data = everything();
    let r = run(&data, &january());
    let a = &r.accounting;
    assert!(a.balances(), "{a:#?}");

    // 10 pull requests + 1 unreadable. Used: PRs 1, 2 and 3.
    assert_eq!(a.pull_requests.fetched, 11);
    assert_eq!(a.pull_requests.used, 3);
    assert_eq!(
        a.pull_requests.excluded,
        excluded(&[
            (reasons::NOT_MERGED, 2),
            (reasons::BOTS, 1),
            (reasons::MERGE_COMMIT_UNKNOWN, 1),
            (reasons::NOT_DEPLOYED, 1),
            (reasons::OUTSIDE_WINDOW, 1),
            (reasons::HISTORY_TRUNCATED, 1),
            ("missing_timestamp", 1),
        ])
    );
    // The ledger agrees with lead time where they overlap.
    let lt = &r.metrics.lead_time;
    assert_eq!(lt.count, a.pull_requests.used);
    assert_eq!(
        (
            lt.excluded.bots,
            lt.excluded.not_deployed,
            lt.excluded.baseline,
            lt.excluded.merge_commit_unknown,
            lt.excluded.history_truncated
        ),
        (1, 1, 0, 1, 1)
    );
    // 29 h (PR 1), 74 h (PR 2), 28 h (PR 3); PR 4 is left out.
    assert_eq!(lt.median_seconds, Some(29.0 * HOUR));

    // 8 deployments + 2 unreadable. Used: d0, d1, d2.
    assert_eq!(a.deployments.fetched, 10);
    assert_eq!(a.deployments.used, 3);
    assert_eq!(
        a.deployments.used,
        r.metrics.change_failure_rate.deployments
    );
    assert_eq!(
        a.deployments.excluded,
        excluded(&[
            (reasons::NOT_PRODUCTION, 1),
            (reasons::NOT_RUN, 1),
            (reasons::STOPPED, 1),
            (reasons::UNDATED, 1),
            (reasons::OUTSIDE_WINDOW, 1),
            ("missing_status", 2),
        ])
    );

    // 6 incidents + 1 unreadable. Used: the two P1s opened in the window.
    assert_eq!(a.incidents.fetched, 7);
    assert_eq!(a.incidents.used, 2);
    assert_eq!(
        a.incidents.excluded,
        excluded(&[
            (reasons::DISMISSED, 1),
            (reasons::OUTSIDE_WINDOW, 1),
            (reasons::BELOW_SEVERITY, 2),
            ("unknown_urgency", 1),
        ])
    );
    assert_eq!(r.metrics.recovery_time.incidents.excluded_by_severity, 2);
    assert_eq!(r.metrics.recovery_time.incidents.count, 2);

    assert_eq!(a.ledger(EventKind::Incident), &a.incidents);
    // 12 commits + 1 unreadable.
    assert_eq!(a.commits.fetched, 13);
    assert_eq!(a.commits.used, 12);
    assert_eq!(a.commits.excluded, excluded(&[("bad_date", 1)]));

    // The JSON names of the contract.
    let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(
        v["accounting"]["deployments"]["excluded"]["not_production"],
        1
    );
    assert_eq!(v["accounting"]["pull_requests"]["used"], 3);
    assert_eq!(v["lead_time"]["excluded"]["history_truncated"], 1);
}

#[test]
fn repeated_items_are_counted_once_and_the_last_copy_wins() {
    let data = everything();
    let repeated = with_repeats(&data);
    let clean = run(&data, &january());
    let r = run(&repeated, &january());
    assert_eq!(r.to_json(), clean.to_json());
    assert_eq!(r.scope.deployments, data.deployments.len());
    assert_eq!(r.accounting.deployments.fetched, 10);
    // The stale copies came first: had they won, d2 would not have run, PR 3
    // would be open and i-p1b unresolved.
    assert_eq!(r.metrics.deployment_frequency.count, 3);
    assert_eq!(r.metrics.lead_time.count, 3);
    assert_eq!(r.metrics.recovery_time.incidents.unresolved, 0);
    let mut deduped = repeated.clone();
    deduped.dedup();
    assert_eq!(run(&deduped, &january()).to_json(), r.to_json());
}

#[test]
fn a_repeated_commit_alone_is_deduplicated_too_last_copy_winning() {
    // d1 ships c1; v1 is listed twice: first as a revert of c1 (stale), last
    // as a plain commit. The last copy wins: no revert signal.
    let mut b = Builder::new("api");
    b.commit("a", &[], t(1, 0))
        .ok("d0", "a", t(1, 1))
        .commit("c1", &["a"], t(2, 10))
        .ok("d1", "c1", t(2, 12))
        .commit_msg(
            "v1",
            &["c1"],
            t(3, 9),
            &format!("Revert \"c1\"\n\nThis reverts commit {}.", sha("c1")),
        )
        .commit("v1", &["c1"], t(3, 9))
        .ok("d2", "v1", t(3, 11));
    let r = run(&b.data, &january());
    assert_eq!(r.metrics.change_failure_rate.failed, 0);
    assert_eq!(r.accounting.commits.fetched, 3);
    assert_eq!(r.accounting.commits.used, 3);
    assert_eq!(r.scope.commits, 3);
    // The other way round, the revert is the freshest copy.
    b.data.commits.swap(2, 3);
    let r = run(&b.data, &january());
    assert_eq!(r.metrics.change_failure_rate.by_signal.revert, 1);
}

#[test]
fn skipped_events_are_reported_per_repository_with_reasons_and_samples() {
    let r = run(&everything(), &january());
    let skipped: Vec<&Diagnostic> = r
        .diagnostics
        .iter()
        .filter(|d| d.code == "skipped_events")
        .collect();
    assert_eq!(skipped.len(), 2, "{skipped:#?}");
    let api = skipped
        .iter()
        .find(|d| d.repository.as_deref() == Some("api"))
        .unwrap();
    assert_eq!(api.severity, DiagnosticSeverity::Warning);
    for part in [
        "4 item(s)",
        "2 deployment(s) `missing_status` ({u1}, {u2}",
        "1 pull_request(s) `missing_timestamp` (11",
        "1 commit(s) `bad_date` (deadbeef",
    ] {
        assert!(
            api.message.contains(part),
            "{part:?} not in {}",
            api.message
        );
    }
    let other = skipped.iter().find(|d| d.repository.is_none()).unwrap();
    assert!(
        other
            .message
            .contains("1 incident(s) `unknown_urgency` (pagerduty:Q1"),
        "{}",
        other.message
    );
    // A few samples, then a count.
    let mut data = everything();
    for i in 0..5 {
        data.collection.skipped.push(skipped_deployment(i));
    }
    let r = run(&data, &january());
    let api = r
        .diagnostics
        .iter()
        .find(|d| d.code == "skipped_events" && d.repository.as_deref() == Some("api"))
        .unwrap();
    assert!(
        api.message
            .contains("7 deployment(s) `missing_status` ({u1}, {u2}, {x0} and 4 more"),
        "{}",
        api.message
    );
}

fn skipped_deployment(i: usize) -> SkippedEvent {
    skipped(
        EventKind::Deployment,
        "api",
        &format!("{{x{i}}}"),
        "missing_status",
    )
}

#[test]
fn no_skips_no_skipped_events_and_empty_ledgers_balance() {
    let r = run(&batch().data, &january());
    assert!(!codes(&r).contains(&"skipped_events".to_string()));
    assert!(r.accounting.balances());
    assert_eq!(r.accounting.pull_requests.fetched, 4);
    assert_eq!(r.accounting.pull_requests.used, 4);
    let empty = run(&Dataset::new(), &january());
    assert!(empty.accounting.balances());
    assert_eq!(empty.accounting.commits.fetched, 0);
}

#[test]
fn history_truncated_prs_are_named_with_the_remedy() {
    let r = run(&everything(), &january());
    let d = r
        .diagnostics
        .iter()
        .find(|d| d.code == "history_truncated")
        .unwrap();
    assert_eq!(d.severity, DiagnosticSeverity::Warning);
    assert_eq!(d.repository.as_deref(), Some("api"));
    assert!(
        d.message.starts_with("1 merged pull request(s)"),
        "{}",
        d.message
    );
    assert!(d.message.contains("(#4)"), "{}", d.message);
    assert!(d.message.contains("--max-commits 50000"), "{}", d.message);

    // Lead time from the PR's creation does not need the branch history.
    let from_created = Config {
        lead_time_start: LeadTimeStart::PrCreated,
        ..january()
    };
    let r = run(&everything(), &from_created);
    assert_eq!(r.metrics.lead_time.count, 4);
    assert_eq!(r.metrics.lead_time.excluded.history_truncated, 0);
    assert!(!codes(&r).contains(&"history_truncated".to_string()));

    // Many: a few ids and a count.
    let mut data = batch().data;
    for id in 1..=4 {
        data.collection.history_truncated.push(HistoryGap {
            repository: "api".into(),
            pull_request: id,
            remedy: String::new(),
        });
    }
    let r = run(&data, &january());
    assert_eq!(r.metrics.lead_time.count, 0);
    assert_eq!(r.metrics.lead_time.excluded.history_truncated, 4);
    let d = r
        .diagnostics
        .iter()
        .find(|d| d.code == "history_truncated")
        .unwrap();
    assert!(
        d.message.contains("(#1, #2, #3 and 1 more)"),
        "{}",
        d.message
    );
}

#[test]
fn lead_time_exclusions_without_history_truncated_still_parse() {
    let old = r#"{"bots":1,"not_deployed":2,"baseline":3,"merge_commit_unknown":4}"#;
    let e: report::LeadTimeExclusions = serde_json::from_str(old).unwrap();
    assert_eq!((e.bots, e.history_truncated), (1, 0));
}

#[test]
fn incomplete_sync_names_the_repositories() {
    let mut data = batch().data;
    data.collection.incomplete_sync = vec!["web".into(), "api".into()];
    let r = run(&data, &january());
    let d = r
        .diagnostics
        .iter()
        .find(|d| d.code == "incomplete_sync")
        .unwrap();
    assert_eq!(d.severity, DiagnosticSeverity::Warning);
    assert!(
        d.message.contains("2 repositories (api, web)"),
        "{}",
        d.message
    );
    assert!(!codes(&run(&batch().data, &january())).contains(&"incomplete_sync".to_string()));
}

#[test]
fn no_production_environment_tells_what_was_seen() {
    // Only merges, and two deployments the converter could not read.
    let mut b = batch();
    b.data.deployments.clear();
    b.data.collection.skipped = vec![
        skipped(EventKind::Deployment, "api", "{u1}", "missing_status"),
        skipped(EventKind::Deployment, "api", "{u2}", "unknown_state"),
    ];
    let r = run(&b.data, &january());
    let d = r
        .diagnostics
        .iter()
        .find(|d| d.code == "no_production_environment")
        .unwrap();
    assert!(
        d.message
            .contains("2 deployment(s) could not be read (missing_status: 1, unknown_state: 1)"),
        "{}",
        d.message
    );
    assert!(
        !d.message.contains("no completed deployments"),
        "{}",
        d.message
    );
    assert!(
        !d.message.contains("no production environment and"),
        "{}",
        d.message
    );

    // Production deployments seen, none completed.
    let mut b = batch();
    for d in &mut b.data.deployments {
        d.status = DeploymentStatus::InProgress;
    }
    let r = run(&b.data, &january());
    let d = r
        .diagnostics
        .iter()
        .find(|d| d.code == "no_production_environment")
        .unwrap();
    assert!(
        d.message
            .starts_with("3 production deployment(s) were found but none completed"),
        "{}",
        d.message
    );
    assert_eq!(r.accounting.deployments.excluded_for(reasons::NOT_RUN), 3);

    // Nothing at all: the original advice.
    let mut b = batch();
    b.data.deployments.clear();
    let r = run(&b.data, &january());
    let d = r
        .diagnostics
        .iter()
        .find(|d| d.code == "no_production_environment")
        .unwrap();
    assert!(
        d.message
            .starts_with("no production environment and no production deployments"),
        "{}",
        d.message
    );
}

#[test]
fn merge_fallback_counts_the_merges_in_the_window() {
    // Four merges into main in the window, one before it.
    let mut b = batch();
    b.data.deployments.clear();
    let before = t(1, 0) - Duration::days(3);
    b.commit("old", &["a"], before)
        .pr(20, "feature/old", before, None, before, "old", &[]);
    let r = run(&b.data, &january());
    assert_eq!(r.metrics.deployment_frequency.count, 4);
    let d = r
        .diagnostics
        .iter()
        .find(|d| d.code == "merge_fallback")
        .unwrap();
    assert!(
        d.message
            .contains("counts 4 merge(s) into the production branch in the window"),
        "{}",
        d.message
    );
    // The ledger: no deployment was fetched; PR 20 is outside the window.
    assert_eq!(r.accounting.deployments.fetched, 0);
    assert_eq!(r.accounting.pull_requests.used, 4);
    assert_eq!(
        r.accounting
            .pull_requests
            .excluded_for(reasons::OUTSIDE_WINDOW),
        1
    );
}

#[test]
fn a_window_ending_in_the_future_is_flagged() {
    let now = chrono::DateTime::parse_from_rfc3339("2026-03-10T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let config = Config {
        days: 30,
        until: Some(now + Duration::days(5)),
        ..Config::default()
    };
    let report = compute_at(&Dataset::new(), &config, now);
    let d = report
        .diagnostics
        .iter()
        .find(|d| d.code == "until_in_future")
        .expect("until_in_future");
    assert_eq!(d.severity, DiagnosticSeverity::Warning);
    assert!(d.message.contains("2026-03-15T00:00:00Z"), "{}", d.message);
    let past = Config {
        until: Some(now),
        ..config
    };
    assert!(
        compute_at(&Dataset::new(), &past, now)
            .diagnostics
            .iter()
            .all(|d| d.code != "until_in_future")
    );
}

#[test]
fn a_merge_commit_beyond_a_capped_walk_is_history_truncated_not_unknown() {
    use chrono::TimeZone;
    let t = |d: u32| chrono::Utc.with_ymd_and_hms(2026, 3, d, 12, 0, 0).unwrap();
    let mut data = Dataset::new();
    data.commits = vec![
        Commit::new("api", "a1", vec![], t(1), "initial"),
        Commit::new("api", "m2", vec!["a1".into()], t(5), "merge"),
    ];
    data.pull_requests = vec![
        // Its merge commit was never reached by the capped walk.
        PullRequest::merged(
            "api",
            7,
            Actor::user("u", "U"),
            "f/x",
            "main",
            t(3),
            t(4),
            "zz9",
        ),
        // Unknown for another reason: no gap says why.
        PullRequest::merged(
            "api",
            8,
            Actor::user("u", "U"),
            "f/y",
            "main",
            t(3),
            t(4),
            "yy8",
        ),
    ];
    data.deployments = vec![
        Deployment::production("api", "d0", "a1", t(2), DeploymentStatus::Succeeded),
        Deployment::production("api", "d1", "m2", t(6), DeploymentStatus::Succeeded),
    ];
    data.collection.history_truncated.push(HistoryGap {
        repository: "api".into(),
        pull_request: 7,
        remedy: "raise the cap".into(),
    });
    let config = Config {
        days: 30,
        until: Some(t(20)),
        ..Config::default()
    };
    for start in [LeadTimeStart::FirstCommit, LeadTimeStart::PrCreated] {
        let report = compute(
            &data,
            &Config {
                lead_time_start: start,
                ..config.clone()
            },
        );
        let excl = report.metrics.lead_time.excluded;
        assert_eq!(
            (excl.history_truncated, excl.merge_commit_unknown),
            (1, 1),
            "{start:?}"
        );
        assert!(report.accounting.pull_requests.balances());
        let d = report
            .diagnostics
            .iter()
            .find(|d| d.code == "history_truncated")
            .expect("history_truncated");
        assert!(d.message.contains("#7") && d.message.contains("raise the cap"));
        let missing = report
            .diagnostics
            .iter()
            .find(|d| d.code == "missing_history");
        assert!(
            missing.is_some_and(|d| d.message.starts_with("1 ")),
            "{missing:?}"
        );
    }
}
