//! Build a small dataset in code and print its DORA report.
//!
//! ```sh
//! cargo run -p dora-examples --example small_dataset
//! ```

use chrono::{Duration, TimeZone, Utc};
use dora_core::{
    Actor, Commit, Config, Dataset, Deployment, DeploymentStatus, Incident, PullRequest,
    Repository, Severity, compute,
};

fn main() {
    let start = Utc
        .with_ymd_and_hms(2026, 9, 1, 9, 0, 0)
        .single()
        .expect("valid date");
    let h = |hours: i64| start + Duration::hours(hours);
    let mut data = Dataset::new();
    data.repositories.push(Repository::new("checkout", "main"));

    // A main line with one merged feature branch per day, deployed the same afternoon.
    let mut main = "c0".to_string();
    data.commits.push(Commit::new(
        "checkout",
        &main,
        vec![],
        h(0),
        "initial commit",
    ));
    data.deployments.push(Deployment::production(
        "checkout",
        "deploy-0",
        &main,
        h(1),
        DeploymentStatus::Succeeded,
    ));
    for day in 1..=40i64 {
        let base = day * 24;
        let work = format!("f{day}");
        let merge = format!("m{day}");
        data.commits.push(Commit::new(
            "checkout",
            &work,
            vec![main.clone()],
            h(base - 20),
            format!("feature {day}"),
        ));
        data.commits.push(Commit::new(
            "checkout",
            &merge,
            vec![main.clone(), work.clone()],
            h(base),
            format!("Merged in feature/{day} (pull request #{day})"),
        ));
        let mut pr = PullRequest::merged(
            "checkout",
            day as u64,
            Actor::user("u1", "Ada"),
            format!("feature/{day}"),
            "main",
            h(base - 6),
            h(base),
            &merge,
        );
        pr.first_review_at = Some(h(base - 3));
        data.pull_requests.push(pr);
        // Every tenth deployment fails and is re-run an hour later.
        let status = if day % 10 == 0 {
            DeploymentStatus::Failed
        } else {
            DeploymentStatus::Succeeded
        };
        data.deployments.push(Deployment::production(
            "checkout",
            format!("deploy-{day}"),
            &merge,
            h(base + 2),
            status,
        ));
        if status == DeploymentStatus::Failed {
            data.deployments.push(Deployment::production(
                "checkout",
                format!("deploy-{day}-rerun"),
                &merge,
                h(base + 3),
                DeploymentStatus::Succeeded,
            ));
        }
        main = merge;
    }
    data.incidents.push(Incident::new(
        "pagerduty",
        "PD-1",
        Some(Severity::P1),
        h(20 * 24 + 4),
        Some(h(20 * 24 + 5)),
    ));

    let config = Config {
        days: 30,
        until: Some(h(41 * 24)),
        ..Config::default()
    };
    let report = compute(&data, &config);
    let m = &report.metrics;
    println!("window: {} .. {}", report.window.start, report.window.end);
    println!(
        "deployment frequency: {} deployments, {:.1}/week ({:?})",
        m.deployment_frequency.count, m.deployment_frequency.per_week, m.deployment_frequency.tier
    );
    println!(
        "lead time: median {:.1} h over {} changes ({:?})",
        m.lead_time.median_seconds.unwrap_or(0.0) / 3600.0,
        m.lead_time.count,
        m.lead_time.tier
    );
    println!(
        "change failure rate: {}/{} ({:?})",
        m.change_failure_rate.failed, m.change_failure_rate.deployments, m.change_failure_rate.tier
    );
    println!(
        "recovery (incidents): median {:?} s",
        m.recovery_time.incidents.median_seconds
    );
    println!("rework rate: {:?}", m.rework_rate.rate);
    for d in &report.diagnostics {
        println!("diagnostic [{:?}] {}: {}", d.severity, d.code, d.message);
    }
}
