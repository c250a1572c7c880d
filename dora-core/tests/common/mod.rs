//! Small builders for hand-computed timelines.
#![allow(dead_code, clippy::unwrap_used)]

use chrono::{TimeZone, Utc};
use dora_core::*;

/// 2026-01-`day` `hour`:00 UTC.
pub fn t(day: u32, hour: u32) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 1, day, hour, 0, 0).unwrap()
}

/// 2026-01-`day` `hour`:`minute` UTC.
pub fn tm(day: u32, hour: u32, minute: u32) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 1, day, hour, minute, 0).unwrap()
}

/// A deterministic, well-spread 40-hex sha for a name.
pub fn sha(name: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut out = String::new();
    let mut x = h;
    while out.len() < 40 {
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        out.push_str(&format!("{x:016x}"));
    }
    out.truncate(40);
    out
}

pub const HOUR: f64 = 3600.0;

pub struct Builder {
    pub data: Dataset,
    pub repo: String,
}

impl Builder {
    pub fn new(repo: &str) -> Self {
        let mut data = Dataset::new();
        data.repositories.push(Repository::new(repo, "main"));
        Self {
            data,
            repo: repo.to_string(),
        }
    }

    pub fn commit(&mut self, name: &str, parents: &[&str], at: Timestamp) -> &mut Self {
        self.commit_msg(name, parents, at, &format!("commit {name}"))
    }

    pub fn commit_msg(
        &mut self,
        name: &str,
        parents: &[&str],
        at: Timestamp,
        msg: &str,
    ) -> &mut Self {
        self.data.commits.push(Commit::new(
            &self.repo,
            sha(name),
            parents.iter().map(|p| sha(p)).collect(),
            at,
            msg,
        ));
        self
    }

    #[allow(clippy::too_many_arguments)]
    pub fn pr(
        &mut self,
        id: u64,
        branch: &str,
        created: Timestamp,
        review: Option<Timestamp>,
        merged: Timestamp,
        merge: &str,
        commits: &[&str],
    ) -> &mut Self {
        let mut pr = PullRequest::merged(
            &self.repo,
            id,
            Actor::user("u-jane", "Jane Doe"),
            branch,
            "main",
            created,
            merged,
            sha(merge),
        );
        pr.first_review_at = review;
        pr.commits = commits.iter().map(|c| sha(c)).collect();
        pr.title = format!("PR {id}");
        self.data.pull_requests.push(pr);
        self
    }

    pub fn deploy(
        &mut self,
        id: &str,
        commit: &str,
        at: Timestamp,
        status: DeploymentStatus,
    ) -> &mut Self {
        self.data.deployments.push(Deployment::production(
            &self.repo,
            id,
            sha(commit),
            at,
            status,
        ));
        self
    }

    pub fn ok(&mut self, id: &str, commit: &str, at: Timestamp) -> &mut Self {
        self.deploy(id, commit, at, DeploymentStatus::Succeeded)
    }

    /// A deployment to the production-kind environment `env` (`prod-eu`, ...).
    pub fn deploy_to(
        &mut self,
        env: &str,
        id: &str,
        commit: &str,
        at: Timestamp,
        status: DeploymentStatus,
    ) -> &mut Self {
        let mut d = Deployment::production(&self.repo, id, sha(commit), at, status);
        d.environment = env.to_string();
        self.data.deployments.push(d);
        self
    }
}

/// The default config with the window [Jan 1, Jan 31).
pub fn january() -> Config {
    Config {
        days: 30,
        until: Some(t(31, 0)),
        ..Config::default()
    }
}

pub fn run(data: &Dataset, config: &Config) -> Report {
    compute_at(data, config, t(31, 0))
}

pub fn codes(report: &Report) -> Vec<String> {
    report.diagnostics.iter().map(|d| d.code.clone()).collect()
}

pub fn row<'a>(report: &'a Report, id: &str) -> &'a report::DeploymentRow {
    report
        .deployments
        .iter()
        .find(|d| d.id == id)
        .unwrap_or_else(|| panic!("no deployment row {id}"))
}
