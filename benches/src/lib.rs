//! # dora-benches: synthetic delivery histories at any scale
//!
//! A deterministic, seeded generator of realistic delivery histories
//! ([`generate`]), the per-PR answers the engine computes in one pass and a
//! straightforward per-PR oracle for them ([`answers`]), Bitbucket API page
//! generators for parse benchmarks ([`pages`]) and a `git fast-import` writer
//! for the git baseline ([`gitimport`]).
//!
//! The generator needs no RNG crate: the workspace's small seeded PRNG
//! ([`Rng`], from `dora-testkit`, the one the demo sample uses) drives every
//! choice, so the same [`Scale`] (seed included) always yields the same
//! [`dora_core::Dataset`], byte for byte.
//!
//! ```
//! use dora_benches::{generate, Scale};
//! let s = generate(&Scale::commits(2_000).seed(7));
//! assert!(s.dataset.commits.len() >= 1_500);
//! assert!(s.dataset.commits.iter().all(|c| c.sha.len() == 40));
//! let report = dora_core::compute_at(&s.dataset, &s.config(), s.now);
//! assert!(report.metrics.deployment_frequency.count > 0);
//! ```
//!
//! What one repository's history looks like:
//! - a `main` line of merge commits (70 %) and squash merges (30 %), plus a
//!   few direct commits and revert commits (`This reverts commit <sha>.`);
//! - one feature branch per pull request, forked from one of the last few
//!   `main` commits (so branches overlap and merge bases are not the tip),
//!   1 to `2b - 1` commits long where `b` is the commits-per-PR budget;
//!   squash-merged PRs list their branch commits in `PullRequest::commits` and
//!   their branch commits stay in the dataset (as fetched `refs/pull-requests/*`);
//!   half the merge commits are given abbreviated (12-char) as Bitbucket lists do;
//! - declined and open PRs, hotfix branches (`hotfix/…`), bot PRs (`renovate[bot]`),
//!   review activity (first review before the merge for most PRs);
//! - production deployments of the `main` tip (some failed then re-run, some
//!   rolled back to the previous release), staging deployments before them;
//! - incidents (PagerDuty-like, P1–P5 or no severity, most resolved), many of
//!   them opening a few hours after a production deployment.

use chrono::{DateTime, Duration, TimeZone, Utc};
use dora_core::{
    Actor, Commit, Config, Dataset, Deployment, DeploymentStatus, Environment, EnvironmentKind,
    Incident, IncidentStatus, PullRequest, PullRequestState, Repository, Severity, Timestamp,
};

pub mod answers;
pub mod gitimport;
pub mod pages;

pub use dora_testkit::Rng;

/// How big a history to generate. Counts are totals over all repositories and
/// approximate (within a few percent); the seed fixes everything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scale {
    /// Number of repositories (the history is split evenly between them).
    pub repositories: usize,
    /// Commits (main line, branches, merges, reverts).
    pub commits: usize,
    /// Pull requests (about 90 % merged).
    pub pull_requests: usize,
    /// Deployments, production (about 75 %) and staging.
    pub deployments: usize,
    /// Incidents.
    pub incidents: usize,
    /// Length of the history in days.
    pub days: u32,
    /// Seed of the PRNG.
    pub seed: u64,
}

impl Scale {
    /// A history of about `commits` commits with the proportions of the large
    /// target (1M commits : 100k PRs : 20k deployments : 5k incidents), one
    /// repository, a year long.
    pub fn commits(commits: usize) -> Self {
        Self {
            repositories: 1,
            commits,
            pull_requests: (commits / 10).max(1),
            deployments: (commits / 50).max(1),
            incidents: (commits / 200).max(1),
            days: 365,
            seed: 0x00d0_7a00,
        }
    }

    /// 10k commits, 1k PRs, 200 deployments, 50 incidents.
    pub fn small() -> Self {
        Self::commits(10_000)
    }

    /// 100k commits, 10k PRs, 2k deployments, 500 incidents.
    pub fn medium() -> Self {
        Self::commits(100_000)
    }

    /// 1M commits, 100k PRs, 20k deployments, 5k incidents.
    pub fn large() -> Self {
        Self::commits(1_000_000)
    }

    /// The same scale with another seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The same scale split over `n` repositories.
    pub fn repositories(mut self, n: usize) -> Self {
        self.repositories = n.max(1);
        self
    }
}

/// A generated history and the report parameters that cover all of it.
#[derive(Debug, Clone)]
pub struct Synthetic {
    /// The history.
    pub dataset: Dataset,
    /// First instant of the history.
    pub start: Timestamp,
    /// A moment just after the history ends (pass to `compute_at`).
    pub now: Timestamp,
}

impl Synthetic {
    /// A config whose window covers the whole history (every change counts).
    pub fn config(&self) -> Config {
        let days = (self.now - self.start).num_days() + 1;
        Config {
            days: u32::try_from(days).unwrap_or(3660).min(3660),
            until: Some(self.now),
            ..Config::default()
        }
    }
}

/// Generate a history (deterministic for a given [`Scale`]).
pub fn generate(scale: &Scale) -> Synthetic {
    let start = Utc
        .with_ymd_and_hms(2025, 1, 6, 8, 0, 0)
        .single()
        .unwrap_or_default();
    let repos = scale.repositories.max(1);
    let mut data = Dataset::new();
    let mut end = start;
    for r in 0..repos {
        let share = |total: usize| total / repos + usize::from(r < total % repos);
        let part = RepoGen {
            slug: format!("service-{r:02}"),
            rng: Rng::new(
                scale
                    .seed
                    .wrapping_add((r as u64 + 1).wrapping_mul(0x9e37_79b9)),
            ),
            start,
            days: scale.days.max(1),
            commits: share(scale.commits),
            prs: share(scale.pull_requests).max(1),
            deployments: share(scale.deployments),
            incidents: share(scale.incidents),
        }
        .run();
        end = end.max(part.1);
        data.extend(part.0);
    }
    Synthetic {
        dataset: data,
        start,
        now: end + Duration::days(1),
    }
}

struct RepoGen {
    slug: String,
    rng: Rng,
    start: Timestamp,
    days: u32,
    commits: usize,
    prs: usize,
    deployments: usize,
    incidents: usize,
}

const NOUNS: [&str; 12] = [
    "checkout", "cache", "login", "search", "billing", "invoice", "profile", "cart", "metrics",
    "webhook", "export", "session",
];
const VERBS: [&str; 8] = [
    "Add", "Fix", "Refactor", "Speed up", "Remove", "Rename", "Harden", "Document",
];
const PEOPLE: [&str; 16] = [
    "Jane Doe",
    "Sam Lee",
    "Ana Souza",
    "Kenji Sato",
    "Priya Nair",
    "Lars Berg",
    "Ola Nowak",
    "Tom Reed",
    "Mia Chen",
    "Omar Haddad",
    "Eva Novak",
    "Luis Romero",
    "Zoe Park",
    "Ivan Petrov",
    "Nora Kim",
    "Ben Adler",
];

struct MainCommit {
    sha: String,
    at: Timestamp,
}

impl RepoGen {
    fn person(&mut self) -> Actor {
        let i = self.rng.below(PEOPLE.len() as u64) as usize;
        Actor::user(format!("{{user-{i:04}}}"), PEOPLE[i])
    }

    fn commit(
        &self,
        out: &mut Dataset,
        sha: String,
        parents: Vec<String>,
        at: Timestamp,
        author: &Actor,
        message: String,
    ) {
        let mut c = Commit::new(&self.slug, sha, parents, at, message);
        c.author = Some(author.clone());
        out.commits.push(c);
    }

    #[allow(clippy::too_many_lines)]
    fn run(mut self) -> (Dataset, Timestamp) {
        let mut out = Dataset::new();
        out.repositories.push(Repository::new(&self.slug, "main"));
        out.environments.push(Environment::new(
            &self.slug,
            "Staging",
            EnvironmentKind::Staging,
        ));
        out.environments.push(Environment::new(
            &self.slug,
            "Production",
            EnvironmentKind::Production,
        ));
        out.commits.reserve(self.commits + self.prs);
        out.pull_requests.reserve(self.prs);

        // Commits per PR, merge commit included: b + 1.
        let per_pr = (self.commits as f64 / self.prs as f64).max(2.0);
        // Merge commit (90 % merged) and direct commits take about 0.98 per PR;
        // hotfix and bot branches are about 1.5 commits long (5 % of PRs).
        let branch_mean = ((per_pr - 0.98 - 0.075) / 0.95).max(1.0);
        let max_branch = ((2.0 * branch_mean).round() as i64 - 1).max(1);
        let slot = Duration::seconds(i64::from(self.days) * 86_400 / self.prs as i64);
        // Deployments per PR: production 3/4, staging 1/4 of the total.
        let prod_rate = 0.75 * self.deployments as f64 / self.prs as f64;
        let staging_share = 1.0 / 3.0; // staging per production deploy
        let incidents_rate = self.incidents as f64 / self.prs as f64;

        let mut clock = self.start;
        let root_author = self.person();
        let root = MainCommit {
            sha: self.rng.sha(),
            at: clock,
        };
        self.commit(
            &mut out,
            root.sha.clone(),
            vec![],
            clock,
            &root_author,
            "Initial commit\n".into(),
        );
        let mut main: Vec<MainCommit> = vec![root];
        let mut merges: Vec<(String, String)> = Vec::new(); // (merge sha, title)
        let mut deploy_acc = 0.0f64;
        let mut incident_acc = 0.0f64;
        let mut last_ok: Option<String> = None;
        let mut dep_no = 0u64;
        let mut last_deploy_at = self.start;
        let mut inc_no = 0u64;

        for id in 1..=self.prs as u64 {
            clock += slot + Duration::seconds(self.rng.range(-60, 60));
            let merged_at = clock;
            // Branch shape and identity.
            let kind = self.rng.below(100);
            let (author, branch, hotfix) = if kind < 3 {
                (
                    Actor::bot("{renovate-bot}", "renovate[bot]"),
                    format!("renovate/dep-{id}"),
                    false,
                )
            } else if kind < 5 {
                (
                    self.person(),
                    format!("hotfix/{}-{id}", NOUNS[(id % 12) as usize]),
                    true,
                )
            } else {
                (
                    self.person(),
                    format!("feature/{}-{id}", NOUNS[(id % 12) as usize]),
                    false,
                )
            };
            let title = format!(
                "{} {} ({id})",
                VERBS[self.rng.below(8) as usize],
                NOUNS[self.rng.below(12) as usize]
            );
            let len = if hotfix || author.kind == dora_core::ActorKind::Bot {
                1 + self.rng.below(2) as i64
            } else {
                self.rng.range(1, max_branch)
            };
            let back = self.rng.below(main.len().min(5) as u64) as usize;
            let fork = &main[main.len() - 1 - back];
            let fork_sha = fork.sha.clone();
            let fork_at = fork.at;
            let span = if hotfix {
                self.rng.range(600, 4 * 3600)
            } else {
                self.rng.range(3600, 4 * 86_400)
            };
            let earliest = fork_at + Duration::seconds(60);
            let first_at = (merged_at - Duration::seconds(span)).max(earliest);
            // The merge comes after the branch's last commit, whatever the slot.
            let merged_at = merged_at.max(first_at + Duration::seconds(60 * (len + 2)));
            clock = merged_at;
            let step = ((merged_at - first_at).num_seconds() / (len + 2)).max(1);
            let mut tip = fork_sha;
            let mut branch_shas = Vec::with_capacity(len as usize);
            for k in 0..len {
                let sha = self.rng.sha();
                let at = first_at + Duration::seconds(step * k);
                let msg = format!("wip: {} step {}\n", branch, k + 1);
                self.commit(&mut out, sha.clone(), vec![tip], at, &author, msg);
                branch_shas.push(sha.clone());
                tip = sha;
            }
            let last_commit_at = first_at + Duration::seconds(step * (len - 1));
            let created_at = last_commit_at + Duration::seconds(self.rng.range(0, step.max(1)));
            let review = self.rng.chance(0.85).then(|| {
                created_at
                    + Duration::seconds(
                        self.rng
                            .range(60, (merged_at - created_at).num_seconds().max(61)),
                    )
            });
            let outcome = self.rng.below(100);
            let state = if outcome < 8 {
                PullRequestState::Declined
            } else if outcome < 10 && id + 20 > self.prs as u64 {
                PullRequestState::Open
            } else if outcome < 10 {
                PullRequestState::Declined
            } else {
                PullRequestState::Merged
            };
            let mut pr = PullRequest {
                repository: self.slug.clone(),
                id,
                title: title.clone(),
                author: author.clone(),
                source_branch: branch.clone(),
                destination_branch: "main".into(),
                state,
                created_at: created_at.min(merged_at),
                first_review_at: review.filter(|&r| r <= merged_at),
                merged_at: None,
                merge_commit: None,
                commits: Vec::new(),
                url: None,
            };
            if state == PullRequestState::Merged {
                let main_tip = main.last().map(|m| m.sha.clone()).unwrap_or_default();
                let sha = self.rng.sha();
                let squash = self.rng.chance(0.3);
                let merger = self.person();
                let msg = format!(
                    "Merged in {branch} (pull request #{id})\n\n{title}\n\nApproved-by: {}\n",
                    merger.display_name
                );
                let parents = if squash {
                    pr.commits = branch_shas;
                    vec![main_tip]
                } else {
                    vec![main_tip, tip]
                };
                self.commit(&mut out, sha.clone(), parents, merged_at, &merger, msg);
                pr.merged_at = Some(merged_at);
                pr.merge_commit = Some(if self.rng.chance(0.5) {
                    sha[..12].to_string()
                } else {
                    sha.clone()
                });
                merges.push((sha.clone(), title.clone()));
                main.push(MainCommit { sha, at: merged_at });
            }
            out.pull_requests.push(pr);

            // A direct commit or a revert on main, now and then.
            let extra = self.rng.below(1000);
            if extra < 15 && merges.len() > 2 {
                let back = 1 + self.rng.below(merges.len().min(20) as u64 - 1) as usize;
                let (target, t_title) = merges[merges.len() - 1 - back].clone();
                let at =
                    clock + Duration::seconds(self.rng.range(1, slot.num_seconds().max(3) / 3));
                let sha = self.rng.sha();
                let parent = main.last().map(|m| m.sha.clone()).unwrap_or_default();
                let who = self.person();
                let msg = format!("Revert \"{t_title}\"\n\nThis reverts commit {target}.\n");
                self.commit(&mut out, sha.clone(), vec![parent], at, &who, msg);
                main.push(MainCommit { sha, at });
            } else if extra < 80 {
                let at =
                    clock + Duration::seconds(self.rng.range(1, slot.num_seconds().max(3) / 3));
                let sha = self.rng.sha();
                let parent = main.last().map(|m| m.sha.clone()).unwrap_or_default();
                let who = self.person();
                let msg = format!("Bump version to 1.{}.{}\n", id / 100, id % 100);
                self.commit(&mut out, sha.clone(), vec![parent], at, &who, msg);
                main.push(MainCommit { sha, at });
            }
            // Keep only a short tail of main for fork points.
            if main.len() > 64 {
                main.drain(..main.len() - 8);
            }
            if merges.len() > 64 {
                merges.drain(..merges.len() - 24);
            }

            // Deployments of the main tip.
            deploy_acc += prod_rate;
            while deploy_acc >= 1.0 {
                deploy_acc -= 1.0;
                let Some(tip) = main.last() else { break };
                let tip_sha = tip.sha.clone();
                let mut at = tip.at.max(clock).max(last_deploy_at)
                    + Duration::seconds(self.rng.range(300, 1800));
                if self.rng.chance(staging_share) {
                    dep_no += 1;
                    self.deploy(
                        &mut out,
                        dep_no,
                        "Staging",
                        &tip_sha,
                        at - Duration::minutes(15),
                        DeploymentStatus::Succeeded,
                    );
                }
                dep_no += 1;
                let roll = self.rng.below(100);
                if roll < 8 {
                    // Fails, then a re-run succeeds.
                    self.deploy(
                        &mut out,
                        dep_no,
                        "Production",
                        &tip_sha,
                        at,
                        DeploymentStatus::Failed,
                    );
                    at += Duration::seconds(self.rng.range(600, 3600));
                    dep_no += 1;
                }
                self.deploy(
                    &mut out,
                    dep_no,
                    "Production",
                    &tip_sha,
                    at,
                    DeploymentStatus::Succeeded,
                );
                let previous = last_ok.replace(tip_sha.clone());
                if roll >= 97
                    && let Some(prev) = previous.filter(|p| *p != tip_sha)
                {
                    // Rolled back to the previous release.
                    dep_no += 1;
                    let back_at = at + Duration::seconds(self.rng.range(600, 7200));
                    self.deploy(
                        &mut out,
                        dep_no,
                        "Production",
                        &prev,
                        back_at,
                        DeploymentStatus::Succeeded,
                    );
                    last_ok = Some(prev);
                    at = back_at;
                }
                last_deploy_at = at;
                // Incidents, most of them a few hours after a production deployment.
                incident_acc += incidents_rate / prod_rate.max(1e-9);
                while incident_acc >= 1.0 {
                    incident_acc -= 1.0;
                    inc_no += 1;
                    let opened = if self.rng.chance(0.6) {
                        at + Duration::seconds(self.rng.range(300, 12 * 3600))
                    } else {
                        at + Duration::seconds(self.rng.range(2 * 86_400, 10 * 86_400))
                    };
                    let inc = self.incident(inc_no, opened);
                    out.incidents.push(inc);
                }
            }
        }
        (out, clock + Duration::days(11))
    }

    fn deploy(
        &mut self,
        out: &mut Dataset,
        n: u64,
        env: &str,
        commit: &str,
        at: Timestamp,
        status: DeploymentStatus,
    ) {
        let kind = if env == "Production" {
            EnvironmentKind::Production
        } else {
            EnvironmentKind::Staging
        };
        let took = self.rng.range(60, 600);
        out.deployments.push(Deployment {
            repository: self.slug.clone(),
            id: format!("{}#{n}", self.rng.uuid()),
            environment: env.into(),
            environment_kind: kind,
            commit: commit.into(),
            started_at: Some(at - Duration::seconds(took)),
            finished_at: Some(at),
            status,
            release: Some(format!("#{n}")),
            url: None,
        });
    }

    fn incident(&mut self, n: u64, opened: DateTime<Utc>) -> Incident {
        let sev = match self.rng.below(100) {
            0..10 => Some(Severity::P1),
            10..40 => Some(Severity::P2),
            40..80 => Some(Severity::P3),
            80..95 => Some(Severity::P4),
            _ => None,
        };
        let resolved = self
            .rng
            .chance(0.95)
            .then(|| opened + Duration::seconds(self.rng.range(600, 2 * 86_400)));
        let mut inc = Incident::new(
            "pagerduty",
            format!("{}-P{n:06}", self.slug),
            sev,
            opened,
            resolved,
        );
        inc.title = format!("{} errors elevated", NOUNS[self.rng.below(12) as usize]);
        inc.service = Some(format!("svc-{}", self.slug));
        if self.rng.chance(0.02) {
            inc.status = IncidentStatus::Dismissed;
        }
        if self.rng.chance(0.8) {
            inc.repositories = vec![self.slug.clone()];
        }
        inc
    }
}
