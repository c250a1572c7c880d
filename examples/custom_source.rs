//! A vendor implements dora-core's source traits *outside* our crates (here for
//! an imaginary internal deploy tool and on-call tool) and reuses every metric.
//!
//! ```sh
//! cargo run -p dora-examples --example custom_source
//! ```
//!
//! The vendor's source also proves the trait contract with dora-core's
//! delivery-source conformance suite (`cargo test -p dora-examples --example
//! custom_source`).

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use dora_core::{
    Actor, CollectRequest, Commit, Config, Dataset, DeliverySource, Deployment, DeploymentStatus,
    Environment, EnvironmentKind, Incident, IncidentRequest, IncidentSource, PullRequest,
    Repository, Severity, SourceError, SourceExt, compute,
};

/// The vendor's own record of a release, as their API returns it.
struct Release {
    number: u32,
    sha: &'static str,
    finished: DateTime<Utc>,
    ok: bool,
}

/// A deploy tool that knows releases and the commits behind them.
struct ShipIt {
    t0: DateTime<Utc>,
}

#[async_trait]
impl DeliverySource for ShipIt {
    fn name(&self) -> &str {
        "shipit"
    }

    async fn collect(&self, request: &CollectRequest) -> Result<Dataset, SourceError> {
        let t = |h: i64| self.t0 + Duration::hours(h);
        let releases = [
            Release {
                number: 1,
                sha: "aaaaaaa0",
                finished: t(1),
                ok: true,
            },
            Release {
                number: 2,
                sha: "bbbbbbb1",
                finished: t(30),
                ok: false,
            },
            Release {
                number: 3,
                sha: "bbbbbbb1",
                finished: t(31),
                ok: true,
            },
        ];
        if releases.iter().any(|r| r.finished >= request.range.end) {
            return Err(SourceError::Config {
                source_name: self.name().into(),
                message: "the sample releases must end before the window".into(),
            });
        }
        let mut data = Dataset::new();
        data.repositories.push(Repository::new("billing", "trunk"));
        data.environments.push(Environment::new(
            "billing",
            "prod",
            EnvironmentKind::Production,
        ));
        data.commits
            .push(Commit::new("billing", "aaaaaaa0", vec![], t(0), "init"));
        data.commits.push(Commit::new(
            "billing",
            "fffffff1",
            vec!["aaaaaaa0".into()],
            t(10),
            "work",
        ));
        data.commits.push(Commit::new(
            "billing",
            "bbbbbbb1",
            vec!["aaaaaaa0".into(), "fffffff1".into()],
            t(28),
            "merge",
        ));
        let mut pr = PullRequest::merged(
            "billing",
            7,
            Actor::user("42", "Grace"),
            "feature/invoices",
            "trunk",
            t(12),
            t(28),
            "bbbbbbb1",
        );
        pr.first_review_at = Some(t(20));
        data.pull_requests.push(pr);
        for r in releases {
            let status = if r.ok {
                DeploymentStatus::Succeeded
            } else {
                DeploymentStatus::Failed
            };
            let mut d = Deployment::production(
                "billing",
                format!("release-{}", r.number),
                r.sha,
                r.finished,
                status,
            );
            d.environment = "prod".into();
            data.deployments.push(d);
        }
        Ok(data)
    }
}

/// An on-call tool.
struct Pager {
    t0: DateTime<Utc>,
}

#[async_trait]
impl IncidentSource for Pager {
    fn name(&self) -> &str {
        "pager"
    }

    async fn incidents(&self, _request: &IncidentRequest) -> Result<Vec<Incident>, SourceError> {
        let t = |h: i64| self.t0 + Duration::hours(h);
        let mut i = Incident::new("pager", "INC-9", Some(Severity::P2), t(33), Some(t(35)));
        i.title = "invoices 500".into();
        Ok(vec![i])
    }
}

/// When the vendor's sample history starts.
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0)
        .single()
        .expect("valid date")
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), SourceError> {
    let t0 = start();
    let config = Config {
        days: 30,
        until: Some(t0 + Duration::days(30)),
        ..Config::default()
    };
    let range = config.window(Utc::now());
    let data = ShipIt { t0 }
        .collect_with_incidents(Some(&Pager { t0 }), range)
        .await?;
    let report = compute(&data, &config);
    println!("{}", report.to_json_pretty());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dora_core::TimeRange;
    use dora_core::conformance::DeliverySuite;

    #[tokio::test]
    async fn shipit_passes_the_delivery_source_conformance_suite() {
        let t0 = start();
        DeliverySuite::new(
            move || ShipIt { t0 },
            TimeRange::new(t0, t0 + Duration::days(30)),
        )
        .run()
        .await;
    }
}
