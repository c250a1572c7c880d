//! The DORA 2025 benchmarks of a hand-computed report.
#![allow(clippy::unwrap_used)]

use chrono::{TimeZone, Utc};
use dora_core::{
    Actor, Commit, Config, Dataset, Deployment, DeploymentStatus, PullRequest, compute,
};

fn t(d: u32, h: u32) -> dora_core::Timestamp {
    Utc.with_ymd_and_hms(2026, 3, d, h, 0, 0).unwrap()
}

/// The crate example: one change with a 30-hour lead time, two successful
/// production deployments in a 30-day window.
fn data() -> Dataset {
    let mut data = Dataset::new();
    data.commits = vec![
        Commit::new("api", "a1", vec![], t(1, 9), "initial"),
        Commit::new("api", "b2", vec!["a1".into()], t(2, 9), "add endpoint"),
        Commit::new(
            "api",
            "m3",
            vec!["a1".into(), "b2".into()],
            t(3, 12),
            "Merged in feature/x (pull request #1)",
        ),
    ];
    data.pull_requests = vec![PullRequest::merged(
        "api",
        1,
        Actor::user("u1", "Jane"),
        "feature/x",
        "main",
        t(2, 12),
        t(3, 12),
        "m3",
    )];
    data.deployments = vec![
        Deployment::production("api", "d0", "a1", t(1, 10), DeploymentStatus::Succeeded),
        Deployment::production("api", "d1", "m3", t(3, 15), DeploymentStatus::Succeeded),
    ];
    data
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn benchmarks_by_hand_against_all_industries() {
    let config = Config {
        days: 30,
        until: Some(t(20, 0)),
        ..Config::default()
    };
    let report = compute(&data(), &config);
    let b = report.benchmarks.expect("benchmarks");
    assert_eq!(b.reference.edition, 2025);
    assert_eq!(
        (b.reference.group.as_str(), b.reference.key.as_str()),
        ("industry", "all")
    );
    assert_eq!(b.reference.name, "All industries");

    // Lead time 30 h: bucket 4 (< 1 week), score (4 − 1) × 2 = 6,
    // z = (6 − 5.5) / 2.4 = 0.208, Φ(0.2083) = 0.5825.
    let lt = b.lead_time.unwrap();
    assert_eq!(lt.bucket, Some(4));
    assert!(close(lt.score, 6.0));
    assert!(close(lt.z, 0.208), "{}", lt.z);
    assert!(close(lt.percentile, 58.3), "{}", lt.percentile);

    // Two deployments in 30 days = 0.0667/day: bucket 3 (≥ 1/30 days), score 4,
    // z = (4 − 4.8) / 2.8 = −0.286, Φ = 0.3875.
    let df = b.deployment_frequency.unwrap();
    assert_eq!(df.bucket, Some(3));
    assert!(close(df.score, 4.0));
    assert!(close(df.z, -0.286), "{}", df.z);
    assert!(close(df.percentile, 38.8), "{}", df.percentile);

    // No failure: 0 %, score 10, z = (10 − (10 − 1.9)) / 2.1 = 0.905, Φ = 0.8172.
    let cfr = b.change_failure_rate.unwrap();
    assert_eq!(cfr.bucket, None);
    assert!(close(cfr.score, 10.0));
    assert!(close(cfr.z, 0.905), "{}", cfr.z);
    assert!(close(cfr.percentile, 81.7), "{}", cfr.percentile);
    // Rework 0 %: z = (10 − 7.8) / 2.2 = 1.0, Φ = 0.8413.
    let rw = b.rework_rate.unwrap();
    assert!(close(rw.z, 1.0) && close(rw.percentile, 84.1), "{rw:?}");
    // No failed deployment and no incident: no recovery time to place.
    assert!(b.recovery_time.is_none());

    let json: serde_json::Value = serde_json::from_str(&report_json(&config)).unwrap();
    assert_eq!(json["benchmarks"]["lead_time"]["bucket"], 4);
    assert!(json["benchmarks"]["recovery_time"].is_null());
    assert!(
        json["benchmarks"]["change_failure_rate"]
            .get("bucket")
            .is_none()
    );
}

fn report_json(config: &Config) -> String {
    compute(&data(), config).to_json()
}

#[test]
fn another_group_and_a_bad_one() {
    let config = Config {
        days: 30,
        until: Some(t(20, 0)),
        industry: Some("technology".into()),
        ..Config::default()
    };
    let b = compute(&data(), &config).benchmarks.unwrap();
    // Technology: lead time mean 5.7, std 2.4: z = (6 − 5.7) / 2.4 = 0.125.
    assert!(close(b.lead_time.unwrap().z, 0.125));
    assert_eq!(b.reference.name, "Technology");
    let bad = Config {
        org_size: Some("huge".into()),
        ..Config::default()
    };
    let e = bad.validate().map_err(|e| e.to_string());
    assert!(e.is_err_and(|m| m.contains("huge") && m.contains("fewer_than_100")));
    assert!(Config::from_toml("org_size = \"fewer_than_100\"\n").is_ok());
}
