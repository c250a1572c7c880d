//! Hand-computed scenarios: small timelines worked out on paper.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use dora_core::report::{DeploymentSource, Signal};
use dora_core::*;

/// a ── f1 ── f2 merged as m1 (PR 1), deployed by d1; d0 is the baseline.
fn base() -> Builder {
    let mut b = Builder::new("api");
    b.commit("a", &[], t(1, 0))
        .commit("f1", &["a"], t(2, 9))
        .commit("f2", &["f1"], t(2, 15))
        .commit_msg(
            "m1",
            &["a", "f2"],
            t(3, 12),
            "Merged in feature/x (pull request #1)",
        )
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
        .ok("d1", "m1", t(3, 14));
    b
}

#[test]
fn empty_dataset_gives_an_empty_report() {
    let r = run(&Dataset::new(), &january());
    assert_eq!(r.metrics.deployment_frequency.count, 0);
    assert_eq!(r.metrics.deployment_frequency.tier, None);
    assert_eq!(r.metrics.lead_time.median_seconds, None);
    assert_eq!(r.metrics.change_failure_rate.rate, None);
    assert_eq!(r.metrics.overall_tier, None);
    assert!(codes(&r).contains(&"no_incident_data".to_string()));
    assert!(codes(&r).contains(&"few_samples".to_string()));
    assert_eq!(r.window.start, t(1, 0));
    assert_eq!(r.window.end, t(31, 0));
}

#[test]
fn lead_time_phases_add_up() {
    let r = run(&base().data, &january());
    let lt = &r.metrics.lead_time;
    assert_eq!(lt.count, 1);
    assert_eq!(lt.median_seconds, Some(29.0 * HOUR));
    assert_eq!(lt.phases.coding.median_seconds, Some(3.0 * HOUR));
    assert_eq!(lt.phases.pickup.median_seconds, Some(6.0 * HOUR));
    assert_eq!(lt.phases.review.median_seconds, Some(18.0 * HOUR));
    assert_eq!(lt.phases.deploy.median_seconds, Some(2.0 * HOUR));
    assert_eq!(lt.tier, Some(Tier::High));
    let df = &r.metrics.deployment_frequency;
    assert_eq!(df.count, 2);
    assert_eq!(df.deploy_days, 2);
    assert!((df.per_week - 2.0 / (30.0 / 7.0)).abs() < 1e-12);
    assert_eq!(df.source, DeploymentSource::Deployments);
    assert_eq!(r.metrics.change_failure_rate.rate, Some(0.0));
    assert_eq!(r.metrics.rework_rate.rate, Some(0.0));
    assert_eq!(row(&r, "d1").changes, 1);
    assert_eq!(r.changes[0].first_commit_at, t(2, 9));
}

/// Adds a squash merge (PR 2), a rebased fast-forward (PR 3) and a merge (PR 4),
/// all three shipped by one deployment d2.
fn batch() -> Builder {
    let mut b = base();
    b.commit("s1", &["m1"], t(5, 10))
        .commit_msg("q", &["m1"], t(6, 10), "Squashed PR 2")
        .pr(2, "feature/squash", t(5, 11), None, t(6, 10), "q", &["s1"]);
    // Rebased: authored on the 7th, committed (rebased) on the 8th.
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

#[test]
fn squash_rebase_and_a_deployment_shipping_many_prs() {
    let r = run(&batch().data, &january());
    let lt = &r.metrics.lead_time;
    assert_eq!(lt.count, 4);
    // 29 h (PR 1), 74 h (PR 2), 28 h (PR 3), 2 h (PR 4).
    assert_eq!(lt.median_seconds, Some(28.5 * HOUR));
    assert_eq!(lt.p90_seconds, Some(74.0 * HOUR));
    assert_eq!(lt.mean_seconds, Some(33.25 * HOUR));
    assert_eq!(lt.unreviewed, 2);
    assert_eq!(row(&r, "d2").changes, 3);
    let pr2 = r.changes.iter().find(|c| c.pull_request == 2).unwrap();
    assert_eq!(pr2.lead_time_seconds, 74.0 * HOUR);
    assert_eq!(pr2.coding_seconds, HOUR);
    assert_eq!(pr2.pickup_seconds, 23.0 * HOUR);
    assert_eq!(pr2.review_seconds, 0.0);
    assert_eq!(pr2.deploy_seconds, 50.0 * HOUR);
    let pr3 = r.changes.iter().find(|c| c.pull_request == 3).unwrap();
    assert_eq!(
        pr3.first_commit_at,
        t(7, 8),
        "author time of the rebased commit"
    );
    assert_eq!(pr3.lead_time_seconds, 28.0 * HOUR);
    assert_eq!(pr3.review_seconds, 21.0 * HOUR);
    let pr4 = r.changes.iter().find(|c| c.pull_request == 4).unwrap();
    assert_eq!(pr4.lead_time_seconds, 2.0 * HOUR);
}

#[test]
fn merged_but_not_deployed() {
    let mut b = batch();
    b.commit("h1", &["m4"], t(27, 10))
        .commit("m5", &["m4", "h1"], t(28, 10))
        .pr(5, "feature/late", t(27, 11), None, t(28, 10), "m5", &[]);
    let r = run(&b.data, &january());
    assert_eq!(r.metrics.lead_time.count, 4);
    assert_eq!(r.metrics.lead_time.excluded.not_deployed, 1);
    assert!(codes(&r).contains(&"merged_not_deployed".to_string()));
}

#[test]
fn failed_then_rerun() {
    let mut b = batch();
    b.deploy("d3", "m4", t(10, 10), DeploymentStatus::Failed)
        .ok("d4", "m4", tm(10, 10, 20));
    let r = run(&b.data, &january());
    let cfr = &r.metrics.change_failure_rate;
    assert_eq!(cfr.deployments, 5);
    assert_eq!(cfr.failed, 1);
    assert_eq!(cfr.rate, Some(0.2));
    assert_eq!(cfr.by_signal.failed_deployment, 1);
    assert_eq!(
        r.metrics.deployment_frequency.count, 4,
        "failed attempts are not deployments"
    );
    assert_eq!(row(&r, "d3").recovery_seconds, Some(1200.0));
    assert_eq!(
        r.metrics.recovery_time.deployments.median_seconds,
        Some(1200.0)
    );

    let excuse = Config {
        rerun_excuse_minutes: Some(30),
        ..january()
    };
    let r = run(&b.data, &excuse);
    assert_eq!(r.metrics.change_failure_rate.failed, 0);
    assert_eq!(r.metrics.change_failure_rate.excused_reruns, 1);
    assert!(row(&r, "d3").excused_rerun);

    let strict = Config {
        rerun_excuse_minutes: Some(10),
        ..january()
    };
    assert_eq!(run(&b.data, &strict).metrics.change_failure_rate.failed, 1);
}

fn linear(names: &[(&str, u32)]) -> Builder {
    let mut b = Builder::new("api");
    b.commit("a", &[], t(1, 0)).ok("d0", "a", t(1, 1));
    let mut prev = "a".to_string();
    for (name, day) in names {
        b.commit(name, &[&prev], t(*day, 10));
        prev = name.to_string();
    }
    b
}

#[test]
fn revert_fails_the_deployment_that_shipped_the_reverted_commit() {
    let mut b = linear(&[("c1", 2)]);
    b.ok("d1", "c1", t(2, 12))
        .commit_msg(
            "v1",
            &["c1"],
            t(3, 9),
            &format!(
                "Revert \"commit c1\"\n\nThis reverts commit {}.\n",
                &sha("c1")[..12]
            ),
        )
        .ok("d2", "v1", t(3, 11))
        .commit_msg(
            "vv",
            &["v1"],
            t(4, 9),
            &format!(
                "Revert \"Revert \"commit c1\"\"\n\nThis reverts commit {}.\n",
                sha("v1")
            ),
        )
        .ok("d3", "vv", t(4, 11));
    let r = run(&b.data, &january());
    let d1 = row(&r, "d1");
    assert_eq!(d1.failures.len(), 1);
    assert_eq!(d1.failures[0].signal, Signal::Revert);
    assert_eq!(d1.failures[0].evidence, sha("v1"));
    assert_eq!(d1.recovery_seconds, Some(23.0 * HOUR));
    assert!(
        row(&r, "d2").failures.is_empty(),
        "a revert of a revert is a re-land"
    );
    assert!(row(&r, "d2").rework);
    assert!(!row(&r, "d3").rework);
    let cfr = &r.metrics.change_failure_rate;
    assert_eq!(
        (cfr.deployments, cfr.failed, cfr.by_signal.revert),
        (4, 1, 1)
    );
    assert_eq!(r.metrics.rework_rate.rate, Some(0.25));
}

#[test]
fn revert_before_shipping_is_not_a_failure() {
    let mut b = linear(&[("c1", 2)]);
    b.commit_msg(
        "v1",
        &["c1"],
        t(2, 11),
        &format!("Revert \"commit c1\"\n\nThis reverts commit {}.", sha("c1")),
    )
    .ok("d1", "v1", t(2, 12));
    let r = run(&b.data, &january());
    assert_eq!(r.metrics.change_failure_rate.failed, 0);
}

#[test]
fn hotfix_after_a_deployment() {
    let mut b = linear(&[("c1", 2)]);
    b.ok("d1", "c1", t(2, 12))
        .commit("hb", &["c1"], t(3, 7))
        .commit("hf", &["c1", "hb"], t(3, 8))
        .pr(
            7,
            "hotfix/login",
            t(3, 7),
            Some(t(3, 7)),
            t(3, 8),
            "hf",
            &[],
        )
        .ok("d2", "hf", t(3, 10))
        .commit("fb", &["hf"], t(10, 9))
        .commit("f8", &["hf", "fb"], t(10, 10))
        .pr(8, "fix/typo", t(10, 9), None, t(10, 10), "f8", &[])
        .ok("d3", "f8", t(10, 12));
    let r = run(&b.data, &january());
    let d1 = row(&r, "d1");
    assert_eq!(d1.failures.len(), 1);
    assert_eq!(d1.failures[0].signal, Signal::Hotfix);
    assert_eq!(d1.failures[0].evidence, "pull request #7");
    assert_eq!(d1.recovery_seconds, Some(22.0 * HOUR));
    assert!(
        row(&r, "d2").failures.is_empty(),
        "PR 8 came 7 days after d2"
    );
    assert!(row(&r, "d2").rework && row(&r, "d3").rework);
    assert_eq!(r.metrics.change_failure_rate.rate, Some(0.25));
    assert_eq!(r.metrics.rework_rate.rate, Some(0.5));
    assert!(
        r.changes
            .iter()
            .find(|c| c.pull_request == 7)
            .unwrap()
            .hotfix
    );
}

#[test]
fn rollback_to_an_ancestor() {
    let mut b = linear(&[("c1", 2), ("c2", 3), ("c3", 5)]);
    b.ok("d1", "c1", t(2, 12))
        .ok("d2", "c2", t(3, 12))
        .ok("d3", "c1", t(3, 13))
        .ok("d4", "c2", t(4, 10))
        .ok("d5", "c3", t(5, 12));
    let r = run(&b.data, &january());
    let d2 = row(&r, "d2");
    assert_eq!(d2.failures.len(), 1);
    assert_eq!(d2.failures[0].signal, Signal::Rollback);
    assert_eq!(d2.failures[0].evidence, "d3");
    assert_eq!(d2.recovery_seconds, Some(HOUR));
    assert!(row(&r, "d3").rework);
    assert!(row(&r, "d4").failures.is_empty() && row(&r, "d3").failures.is_empty());
    assert_eq!(r.metrics.change_failure_rate.failed, 1);
    assert_eq!(r.metrics.change_failure_rate.deployments, 6);
    assert_eq!(r.metrics.rework_rate.rework, 1);
    assert_eq!(r.metrics.deployment_frequency.count, 6);
}

#[test]
fn incidents_recovery_and_attribution() {
    let mut b = linear(&[("c1", 2), ("c2", 5)]);
    b.ok("d1", "c1", t(2, 12)).ok("d2", "c2", t(5, 12));
    let inc =
        |id: &str, sev: Option<Severity>, open, res| Incident::new("pagerduty", id, sev, open, res);
    let mut other = inc("i6", Some(Severity::P1), t(5, 14), Some(t(5, 15)));
    other.repositories = vec!["web".into()];
    b.data.incidents = vec![
        inc("i1", Some(Severity::P1), t(2, 20), Some(t(2, 22))),
        inc("i2", Some(Severity::P3), t(3, 1), Some(t(3, 2))),
        inc("i3", Some(Severity::P2), t(9, 0), Some(t(9, 3))),
        inc("i4", Some(Severity::P1), t(5, 13), None),
        inc("i5", None, t(6, 0), Some(t(6, 1))),
        other,
    ];
    let r = run(&b.data, &january());
    let rec = &r.metrics.recovery_time;
    // Counted: i1 (2 h), i3 (3 h), i6 (1 h) resolved; i4 unresolved.
    assert_eq!(rec.incidents.count, 3);
    assert_eq!(rec.incidents.median_seconds, Some(2.0 * HOUR));
    assert_eq!(rec.incidents.unresolved, 1);
    assert_eq!(rec.incidents.excluded_by_severity, 2);
    let d1 = row(&r, "d1");
    assert_eq!(d1.failures[0].signal, Signal::Incident);
    assert_eq!(d1.failures[0].evidence, "pagerduty:i1");
    assert_eq!(d1.recovery_seconds, Some(10.0 * HOUR));
    let d2 = row(&r, "d2");
    assert_eq!(d2.failures.len(), 1, "i6 belongs to another repository");
    assert_eq!(d2.recovery_seconds, None);
    let cfr = &r.metrics.change_failure_rate;
    assert_eq!(
        (cfr.deployments, cfr.failed, cfr.by_signal.incident),
        (3, 2, 2)
    );
    assert_eq!(rec.deployments.count, 1);
    assert_eq!(rec.deployments.unrecovered, 1);
    let c = codes(&r);
    assert!(c.contains(&"incidents_without_severity".to_string()));
    assert!(c.contains(&"unresolved_incidents".to_string()));
    let i3 = r.incidents.iter().find(|i| i.id == "i3").unwrap();
    assert_eq!(i3.deployment, None, "four days after d2: outside 24 h");
}

#[test]
fn window_edges_are_half_open() {
    let mut b = Builder::new("api");
    b.commit("a", &[], t(1, 0))
        .commit("b", &["a"], t(30, 0))
        .ok("d0", "a", t(1, 0))
        .ok("d1", "b", t(31, 0));
    b.data.incidents = vec![
        Incident::new("pd", "in", Some(Severity::P1), t(1, 0), Some(t(1, 1))),
        Incident::new("pd", "out", Some(Severity::P1), t(31, 0), Some(t(31, 1))),
    ];
    let r = run(&b.data, &january());
    assert_eq!(
        r.metrics.deployment_frequency.count, 1,
        "start included, end excluded"
    );
    assert_eq!(r.deployments[0].id, "d0");
    assert_eq!(r.incidents.len(), 1);
    assert_eq!(r.incidents[0].id, "in");
}

#[test]
fn merge_fallback_without_production_deployments() {
    let mut b = base();
    b.data.deployments.clear();
    b.commit("x1", &["m1"], t(5, 9))
        .commit("x2", &["m1", "x1"], t(6, 10))
        .pr(2, "feature/y", t(5, 10), None, t(6, 10), "x2", &[]);
    let mut dev = PullRequest::merged(
        "api",
        9,
        Actor::user("u", "U"),
        "feature/z",
        "develop",
        t(4, 1),
        t(4, 2),
        sha("m1"),
    );
    dev.title = "to develop".into();
    b.data.pull_requests.push(dev);
    let r = run(&b.data, &january());
    let df = &r.metrics.deployment_frequency;
    assert_eq!(df.count, 2);
    assert_eq!(df.source, DeploymentSource::Merges);
    assert_eq!(r.metrics.lead_time.phases.deploy.median_seconds, Some(0.0));
    // PR 1: f1 (2nd 09:00) → merge (3rd 12:00) = 27 h; PR 2: x1 (5th 09:00) → 6th 10:00 = 25 h.
    assert_eq!(r.metrics.lead_time.median_seconds, Some(26.0 * HOUR));
    let c = codes(&r);
    assert!(c.contains(&"merge_fallback".to_string()));
    assert!(c.contains(&"no_production_environment".to_string()));
    assert!(r.deployments.iter().all(|d| d.from_merge));
}

#[test]
fn bot_prs_are_excluded_from_lead_time_but_their_deployments_count() {
    let mut b = base();
    b.commit("bot1", &["m1"], t(4, 1))
        .commit("bm", &["m1", "bot1"], t(4, 2))
        .pr(2, "renovate/serde-1.x", t(4, 1), None, t(4, 2), "bm", &[])
        .ok("d2", "bm", t(4, 3));
    b.data.pull_requests[1].author = Actor::bot("renovate-uuid", "Renovate Bot");
    let r = run(&b.data, &january());
    assert_eq!(r.metrics.lead_time.count, 1);
    assert_eq!(r.metrics.lead_time.excluded.bots, 1);
    assert_eq!(r.metrics.deployment_frequency.count, 3);
    assert!(codes(&r).contains(&"bot_prs_excluded".to_string()));

    // By name pattern alone, and by minimum duration.
    b.data.pull_requests[1].author = Actor::user("x", "dependabot[bot]");
    assert_eq!(run(&b.data, &january()).metrics.lead_time.excluded.bots, 1);
    b.data.pull_requests[1].author = Actor::user("x", "Jane");
    let quick = Config {
        bots: BotRules {
            min_pr_seconds: Some(2 * 3600),
            ..BotRules::default()
        },
        ..january()
    };
    assert_eq!(run(&b.data, &quick).metrics.lead_time.excluded.bots, 1);
}

#[test]
fn a_single_deployment_is_its_own_baseline() {
    let mut b = base();
    b.data.deployments.retain(|d| d.id == "d1");
    let r = run(&b.data, &january());
    assert_eq!(r.metrics.deployment_frequency.count, 1);
    assert_eq!(r.metrics.lead_time.count, 0);
    assert_eq!(r.metrics.lead_time.excluded.baseline, 1);
    assert!(codes(&r).contains(&"no_baseline_deployment".to_string()));
}

#[test]
fn multi_repository_reports_per_repository_and_union() {
    let mut b = base();
    let mut web = Builder::new("web");
    web.commit("w0", &[], t(1, 0))
        .ok("w-d0", "w0", t(2, 0))
        .ok("w-d1", "w0", t(3, 0));
    b.data.extend(web.data);
    let r = run(&b.data, &january());
    assert_eq!(r.scope.repositories, vec!["api", "web"]);
    assert_eq!(r.metrics.deployment_frequency.count, 4);
    assert_eq!(r.repositories["api"].deployment_frequency.count, 2);
    assert_eq!(r.repositories["web"].deployment_frequency.count, 2);
    assert_eq!(r.repositories["web"].lead_time.count, 0);
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(json["repositories"]["api"]["lead_time"]["count"], 1);
    assert_eq!(json["deployment_frequency"]["source"], "deployments");
}

#[test]
fn short_window_and_json_schema_fields() {
    let config = Config {
        days: 7,
        until: Some(t(8, 0)),
        ..Config::default()
    };
    let r = run(&base().data, &config);
    assert!(codes(&r).contains(&"short_window".to_string()));
    let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    for path in [
        "/window/start",
        "/window/end",
        "/deployment_frequency/count",
        "/deployment_frequency/per_week",
        "/deployment_frequency/deploy_days",
        "/deployment_frequency/tier",
        "/deployment_frequency/source",
        "/lead_time/count",
        "/lead_time/median_seconds",
        "/lead_time/p90_seconds",
        "/lead_time/mean_seconds",
        "/lead_time/tier",
        "/lead_time/phases/coding/median_seconds",
        "/lead_time/phases/pickup/median_seconds",
        "/lead_time/phases/review/median_seconds",
        "/lead_time/phases/deploy/median_seconds",
        "/change_failure_rate/deployments",
        "/change_failure_rate/failed",
        "/change_failure_rate/rate",
        "/change_failure_rate/tier",
        "/change_failure_rate/by_signal/failed_deployment",
        "/change_failure_rate/by_signal/revert",
        "/change_failure_rate/by_signal/hotfix",
        "/change_failure_rate/by_signal/rollback",
        "/change_failure_rate/by_signal/incident",
        "/recovery_time/incidents/count",
        "/recovery_time/incidents/unresolved",
        "/recovery_time/incidents/median_seconds",
        "/recovery_time/incidents/mean_seconds",
        "/recovery_time/deployments/count",
        "/recovery_time/deployments/median_seconds",
        "/recovery_time/deployments/mean_seconds",
        "/recovery_time/tier",
        "/rework_rate/deployments",
        "/rework_rate/rework",
        "/rework_rate/rate",
        "/diagnostics/0/code",
        "/diagnostics/0/severity",
        "/diagnostics/0/message",
        "/scope/repositories/0",
    ] {
        assert!(v.pointer(path).is_some(), "missing {path}");
    }
    assert_eq!(v["window"]["start"], "2026-01-01T00:00:00Z");
}

#[test]
fn config_from_toml() {
    let c = Config::from_toml(
        "days = 60\nuntil = \"2026-01-31T00:00:00Z\"\nseverities = [\"P1\"]\ntier_year = 2021\nrerun_excuse_minutes = 15\n[hotfix]\nprefixes = [\"urgent/\"]\n",
    )
    .unwrap();
    assert_eq!(c.days, 60);
    assert_eq!(c.severities, vec![Severity::P1]);
    assert_eq!(c.tier_year, TierYear::Y2021);
    assert_eq!(c.hotfix.prefixes, vec!["urgent/"]);
    assert_eq!(c.hotfix.window_hours, 24, "defaults kept");
    assert!(
        Config::from_toml("dayz = 3")
            .unwrap_err()
            .to_string()
            .contains("dayz")
    );
    assert!(
        Config::from_toml("tier_year = 2025")
            .unwrap_err()
            .to_string()
            .contains("2025")
    );
    assert!(Config::from_toml("days = 0").is_err());
}

#[test]
fn dataset_json_round_trip() {
    let data = batch().data;
    let back = Dataset::from_json(&data.to_json()).unwrap();
    assert_eq!(back, data);
    let err = Dataset::from_json("{\"commits\": [{\"sha\": 1}]}").unwrap_err();
    assert!(err.to_string().contains("invalid"), "{err}");
}

#[test]
fn a_revert_pr_whose_branch_and_merge_commits_both_carry_the_marker_counts_once() {
    let mut b = linear(&[("c1", 2)]);
    let marker = format!("Revert \"commit c1\"\n\nThis reverts commit {}.", sha("c1"));
    b.ok("d1", "c1", t(2, 12))
        .commit_msg("rb", &["c1"], t(3, 8), &marker)
        .commit_msg(
            "rm",
            &["c1", "rb"],
            t(3, 9),
            &format!("Merged in revert-c1 (pull request #4)\n\n{marker}"),
        )
        .pr(4, "revert-c1", t(3, 8), None, t(3, 9), "rm", &[])
        .ok("d2", "rm", t(3, 11));
    for data in [b.data.clone(), {
        let mut d = b.data.clone();
        d.commits.reverse();
        d
    }] {
        let r = run(&data, &january());
        let d1 = row(&r, "d1");
        assert_eq!(d1.failures.len(), 1, "{:?}", d1.failures);
        assert_eq!(d1.failures[0].evidence, std::cmp::min(sha("rb"), sha("rm")));
        assert_eq!(d1.recovery_seconds, Some(23.0 * HOUR));
    }
}

/// a ── c1 ── c2, deployed to two production environments.
fn two_regions() -> Builder {
    let mut b = Builder::new("api");
    b.commit("a", &[], t(1, 0))
        .commit("c1", &["a"], t(2, 10))
        .commit("c2", &["c1"], t(3, 10))
        .deploy_to("prod-eu", "eu-0", "a", t(1, 1), DeploymentStatus::Succeeded)
        .deploy_to("prod-us", "us-0", "a", t(1, 2), DeploymentStatus::Succeeded);
    b
}

#[test]
fn a_lagging_region_catching_up_is_not_a_rollback() {
    let ok = DeploymentStatus::Succeeded;
    let mut b = two_regions();
    b.deploy_to("prod-eu", "eu-1", "c1", t(2, 12), ok)
        .deploy_to("prod-eu", "eu-2", "c2", t(3, 12), ok)
        // prod-us lags: c1 after prod-eu already runs c2. Judged against the
        // previous deployment to any environment (eu-2), this would roll back.
        .deploy_to("prod-us", "us-1", "c1", t(3, 13), ok)
        .deploy_to("prod-us", "us-2", "c2", t(4, 12), ok)
        // A real rollback in prod-us: c2 → c1.
        .deploy_to("prod-us", "us-3", "c1", t(4, 13), ok);
    let r = run(&b.data, &january());
    assert!(row(&r, "eu-2").failures.is_empty(), "{:?}", row(&r, "eu-2"));
    assert!(!row(&r, "us-1").rework);
    let us2 = row(&r, "us-2");
    assert_eq!(us2.failures.len(), 1);
    assert_eq!(us2.failures[0].signal, Signal::Rollback);
    assert_eq!(us2.failures[0].evidence, "us-3");
    assert_eq!(us2.recovery_seconds, Some(HOUR));
    assert!(row(&r, "us-3").rework);
    let cfr = &r.metrics.change_failure_rate;
    assert_eq!(
        (cfr.deployments, cfr.failed, cfr.by_signal.rollback),
        (7, 1, 1)
    );
    assert_eq!(r.metrics.rework_rate.rework, 1);
    assert_eq!(r.metrics.deployment_frequency.count, 7);
}

#[test]
fn failed_deployment_recovery_and_reruns_are_judged_per_environment() {
    let mut b = two_regions();
    // eu-f ran 11:00–12:00 and failed; prod-us shipped the same commit at
    // 12:10; the prod-eu re-run ran 12:05–12:40.
    b.deploy_to("prod-eu", "eu-f", "c1", t(2, 12), DeploymentStatus::Failed)
        .deploy_to(
            "prod-us",
            "us-1",
            "c1",
            tm(2, 12, 10),
            DeploymentStatus::Succeeded,
        )
        .deploy_to(
            "prod-eu",
            "eu-r",
            "c1",
            tm(2, 12, 40),
            DeploymentStatus::Succeeded,
        );
    b.data.deployments[2].started_at = Some(t(2, 11));
    b.data.deployments[4].started_at = Some(tm(2, 12, 5));
    let r = run(&b.data, &january());
    let f = row(&r, "eu-f");
    assert_eq!(f.failures.len(), 1);
    assert_eq!(f.failures[0].signal, Signal::FailedDeployment);
    // Restored by the prod-eu re-run (40 min), not by prod-us (10 min).
    assert_eq!(f.recovery_seconds, Some(40.0 * 60.0));
    assert_eq!(
        r.metrics.recovery_time.deployments.median_seconds,
        Some(2400.0)
    );

    // Excused re-runs: finish to finish, same environment. The re-run started
    // 5 min after the failure finished but finished 40 min after it.
    let within = |minutes| Config {
        rerun_excuse_minutes: Some(minutes),
        ..january()
    };
    let r = run(&b.data, &within(30));
    assert_eq!(
        r.metrics.change_failure_rate.failed, 1,
        "us-1 is another environment"
    );
    assert_eq!(r.metrics.change_failure_rate.excused_reruns, 0);
    let r = run(&b.data, &within(40));
    let cfr = &r.metrics.change_failure_rate;
    assert_eq!((cfr.failed, cfr.excused_reruns), (0, 1));
    assert!(row(&r, "eu-f").excused_rerun);
    assert_eq!(
        cfr.deployments, 5,
        "an excused attempt stays in the denominator"
    );
    assert_eq!(r.metrics.rework_rate.deployments, 5);
}

/// api deploys b at 2nd 12:00; web deploys at 1st 02:00. An incident mapped
/// to web opens an hour after web's deployment; an unmapped one (service
/// `checkout`) two hours after api's.
fn mapped_incidents() -> Dataset {
    let mut b = Builder::new("api");
    b.commit("a", &[], t(1, 0))
        .ok("api-d0", "a", t(1, 1))
        .commit("b", &["a"], t(2, 10))
        .ok("api-d1", "b", t(2, 12));
    let mut web = Builder::new("web");
    web.commit("w0", &[], t(1, 0)).ok("web-d0", "w0", t(1, 2));
    b.data.extend(web.data);
    let mut to_web = Incident::new(
        "pagerduty",
        "i-web",
        Some(Severity::P1),
        t(1, 3),
        Some(t(1, 4)),
    );
    to_web.repositories = vec!["web".into()];
    to_web.service = Some("storefront".into());
    let mut unmapped = Incident::new(
        "pagerduty",
        "i-co",
        Some(Severity::P2),
        t(2, 14),
        Some(t(2, 16)),
    );
    unmapped.service = Some("checkout".into());
    b.data.incidents = vec![to_web, unmapped];
    b.data
}

#[test]
fn with_a_service_mapping_unmapped_incidents_fail_no_repository() {
    let mut data = mapped_incidents();
    data.collection.service_mapping = true;
    let r = run(&data, &january());
    // Counted for the workspace: 1 h and 2 h.
    let inc = &r.metrics.recovery_time.incidents;
    assert_eq!(inc.count, 2);
    assert_eq!(inc.median_seconds, Some(1.5 * HOUR));
    assert!(row(&r, "api-d1").failures.is_empty());
    assert_eq!(row(&r, "web-d0").failures[0].evidence, "pagerduty:i-web");
    assert_eq!(r.metrics.change_failure_rate.failed, 1);
    assert_eq!(r.repositories["api"].recovery_time.incidents.count, 0);
    assert_eq!(r.repositories["web"].recovery_time.incidents.count, 1);
    let co = r.incidents.iter().find(|i| i.id == "i-co").unwrap();
    assert_eq!(co.deployment, None);
    let d = r
        .diagnostics
        .iter()
        .find(|d| d.code == "unmapped_incidents")
        .unwrap();
    assert!(
        d.message.starts_with("1 counted incident(s)"),
        "{}",
        d.message
    );
    assert!(d.message.contains("checkout (1)"), "{}", d.message);
    assert!(!d.message.contains("storefront"), "{}", d.message);
    assert_eq!(r.accounting.incidents.used, 2);

    // Without a mapping, no repositories means every repository in scope.
    let r = run(&mapped_incidents(), &january());
    assert_eq!(row(&r, "api-d1").failures[0].evidence, "pagerduty:i-co");
    assert_eq!(r.metrics.change_failure_rate.failed, 2);
    assert_eq!(r.repositories["api"].recovery_time.incidents.count, 1);
    assert_eq!(r.repositories["web"].recovery_time.incidents.count, 2);
    assert!(!codes(&r).contains(&"unmapped_incidents".to_string()));
}
