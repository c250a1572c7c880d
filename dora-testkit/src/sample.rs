//! The bundled sample: a deterministic simulation of one Bitbucket workspace and
//! its PagerDuty account over six months.
//!
//! Four repositories with different delivery styles:
//!
//! | repository       | style                                                        |
//! |------------------|--------------------------------------------------------------|
//! | `checkout-web`   | continuous delivery: every push to `main` goes to staging and production; failed deployments and re-runs, reverts (and one re-land), hotfixes |
//! | `payments-api`   | daily manual promotion to an environment named `Production EU` (type Production); undeployed manual steps; two rollbacks |
//! | `search-service` | twice-weekly releases to production; every push goes to test |
//! | `design-system`  | a library without deployments: the merge fallback applies    |
//!
//! Pull requests come from eight people and two bots (Renovate and Dependabot,
//! both `app_user` accounts); some are declined, some still open, some squash
//! merged. PagerDuty holds background incidents of every priority (and some
//! without one) plus the incidents that bad deployments caused.

use crate::rng::Rng;
use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc, Weekday};
use std::collections::{BTreeMap, HashMap, HashSet};

/// A UTC timestamp.
pub type Ts = DateTime<Utc>;

/// The sample's workspace slug.
pub const WORKSPACE: &str = "acme";

/// The seed `dora demo` uses.
pub const DEFAULT_SEED: u64 = 20_261_102;

/// A Bitbucket account (a person or an app user).
#[derive(Debug, Clone)]
pub struct Person {
    /// `{uuid}`.
    pub uuid: String,
    /// Atlassian account id.
    pub account_id: String,
    /// Display name.
    pub name: String,
    /// Nickname.
    pub nickname: String,
    /// Email, for the commit author's raw string.
    pub email: String,
    /// An `app_user` (bot).
    pub bot: bool,
}

/// What a pull request is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrKind {
    /// A feature.
    Feature,
    /// A bug fix (branch `bugfix/`, not a hotfix).
    Bugfix,
    /// Maintenance.
    Chore,
    /// A dependency update by a bot.
    Bot,
    /// An urgent fix after a bad deployment (branch `hotfix/`).
    Hotfix,
    /// Reverts the pull request at this index of [`RepoSample::pull_requests`]'s
    /// generation order (resolved to an id when rendering).
    Revert(usize),
}

/// A review event on a pull request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewKind {
    /// A comment.
    Comment,
    /// An approval.
    Approval,
    /// A change request.
    ChangesRequested,
}

/// One review event.
#[derive(Debug, Clone)]
pub struct Review {
    /// When.
    pub at: Ts,
    /// Reviewer (index into [`Sample::people`]).
    pub by: usize,
    /// What.
    pub kind: ReviewKind,
}

/// How a pull request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Merged with a merge commit, or squashed.
    Merged {
        /// Merge time.
        at: Ts,
        /// Squash merge (one new commit on the destination, branch commits unreachable).
        squash: bool,
    },
    /// Declined.
    Declined {
        /// When.
        at: Ts,
    },
    /// Still open at the end of the sample.
    Open,
}

/// A generated pull request and its commits.
#[derive(Debug, Clone)]
pub struct PullRequest {
    /// Id (in creation order, starting above 100: the repository has older history).
    pub id: u64,
    /// Author (index into [`Sample::people`]).
    pub author: usize,
    /// Kind.
    pub kind: PrKind,
    /// Title.
    pub title: String,
    /// Source branch.
    pub branch: String,
    /// Destination branch.
    pub destination: String,
    /// First commit of the branch.
    pub first_commit_at: Ts,
    /// Opened.
    pub created_at: Ts,
    /// Number of branch commits.
    pub n_commits: usize,
    /// Review events, oldest first.
    pub reviews: Vec<Review>,
    /// Outcome.
    pub outcome: Outcome,
    /// Branch commits (shas), oldest first.
    pub commits: Vec<String>,
    /// The commit that landed on the destination.
    pub merge_commit: Option<String>,
    /// Destination head when the branch started.
    pub base: Option<String>,
}

impl PullRequest {
    /// Merge time, when merged.
    pub fn merged_at(&self) -> Option<Ts> {
        match self.outcome {
            Outcome::Merged { at, .. } => Some(at),
            _ => None,
        }
    }

    /// Last update time.
    pub fn updated_at(&self) -> Ts {
        match self.outcome {
            Outcome::Merged { at, .. } | Outcome::Declined { at } => at,
            Outcome::Open => self.reviews.last().map_or(self.created_at, |r| r.at),
        }
    }
}

/// A git commit.
#[derive(Debug, Clone)]
pub struct Commit {
    /// 40-hex sha.
    pub sha: String,
    /// Parent shas.
    pub parents: Vec<String>,
    /// Author date.
    pub date: Ts,
    /// Full message.
    pub message: String,
    /// Author (index into [`Sample::people`]).
    pub author: usize,
}

/// A deployment environment.
#[derive(Debug, Clone)]
pub struct Environment {
    /// `{uuid}`.
    pub uuid: String,
    /// Name as configured.
    pub name: String,
    /// Slug.
    pub slug: String,
    /// Type: `Test`, `Staging` or `Production`.
    pub kind: &'static str,
    /// Type rank (Test 0, Staging 1, Production 2).
    pub rank: u32,
}

/// A pipeline step.
#[derive(Debug, Clone)]
pub struct Step {
    /// `{uuid}`.
    pub uuid: String,
    /// Name.
    pub name: String,
    /// Started (none when it never ran).
    pub started: Option<Ts>,
    /// Completed.
    pub completed: Option<Ts>,
    /// `SUCCESSFUL`, `FAILED`, `NOT_RUN`; `None` while running.
    pub result: Option<&'static str>,
    /// Run number (re-runs count up).
    pub run_number: u32,
    /// Manual trigger.
    pub manual: bool,
}

/// A pipeline run for one push.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// `{uuid}`.
    pub uuid: String,
    /// Build number.
    pub build_number: u64,
    /// Target commit.
    pub commit: String,
    /// Target branch.
    pub branch: String,
    /// Created.
    pub created: Ts,
    /// Steps, in order.
    pub steps: Vec<Step>,
}

impl Pipeline {
    /// Completion time: the last step's completion, unless a step still runs.
    pub fn completed(&self) -> Option<Ts> {
        if self
            .steps
            .iter()
            .any(|s| s.started.is_some() && s.result.is_none())
        {
            return None;
        }
        self.steps.iter().filter_map(|s| s.completed).max()
    }

    /// `SUCCESSFUL`, `FAILED` or `None` while running.
    pub fn result(&self) -> Option<&'static str> {
        self.completed()?;
        // The latest run of each step name decides.
        let mut last: BTreeMap<&str, &Step> = BTreeMap::new();
        for s in &self.steps {
            if s.result.is_some_and(|r| r != "NOT_RUN") {
                last.insert(&s.name, s);
            }
        }
        Some(if last.values().any(|s| s.result == Some("FAILED")) {
            "FAILED"
        } else {
            "SUCCESSFUL"
        })
    }
}

/// A deployment's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployState {
    /// Completed successfully.
    Successful,
    /// Completed with a failure.
    Failed,
    /// Still running at the end of the sample.
    InProgress,
    /// A manual deployment step that never ran.
    Undeployed,
}

/// A deployment.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// `{uuid}`.
    pub uuid: String,
    /// Index into the repository's environments.
    pub env: usize,
    /// Index into the repository's pipelines.
    pub pipeline: usize,
    /// The step that deployed.
    pub step_uuid: String,
    /// Deployed commit.
    pub commit: String,
    /// Started.
    pub started: Option<Ts>,
    /// Completed.
    pub completed: Option<Ts>,
    /// State.
    pub state: DeployState,
}

/// One repository of the sample.
#[derive(Debug, Clone)]
pub struct RepoSample {
    /// Slug.
    pub slug: String,
    /// `{uuid}`.
    pub uuid: String,
    /// Main branch.
    pub main_branch: String,
    /// Language shown in the repository object.
    pub language: String,
    /// Project key.
    pub project: String,
    /// PagerDuty service, if any.
    pub service: Option<String>,
    /// Pull requests, by id.
    pub pull_requests: Vec<PullRequest>,
    /// Every commit (main history and branches), oldest first.
    pub commits: Vec<Commit>,
    /// Environments.
    pub environments: Vec<Environment>,
    /// Pipelines, oldest first.
    pub pipelines: Vec<Pipeline>,
    /// Deployments, oldest first.
    pub deployments: Vec<Deployment>,
    /// Created.
    pub created_on: Ts,
}

/// A PagerDuty incident.
#[derive(Debug, Clone)]
pub struct Incident {
    /// Id, e.g. `Q3K…`.
    pub id: String,
    /// Incident number.
    pub number: u64,
    /// Title.
    pub title: String,
    /// Service name (equals a repository slug).
    pub service: String,
    /// Service id.
    pub service_id: String,
    /// `P1`..`P5`, or none (priorities not set).
    pub priority: Option<&'static str>,
    /// `high` or `low`.
    pub urgency: &'static str,
    /// Triggered.
    pub created_at: Ts,
    /// Acknowledged.
    pub acknowledged_at: Option<Ts>,
    /// Resolved.
    pub resolved_at: Option<Ts>,
}

impl Incident {
    /// `triggered`, `acknowledged` or `resolved`.
    pub fn status(&self) -> &'static str {
        if self.resolved_at.is_some() {
            "resolved"
        } else if self.acknowledged_at.is_some() {
            "acknowledged"
        } else {
            "triggered"
        }
    }
}

/// The whole sample.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Workspace slug.
    pub workspace: String,
    /// First instant simulated.
    pub start: Ts,
    /// The sample's "now": its end.
    pub end: Ts,
    /// Accounts.
    pub people: Vec<Person>,
    /// Repositories.
    pub repositories: Vec<RepoSample>,
    /// PagerDuty incidents, oldest first.
    pub incidents: Vec<Incident>,
}

/// Figures the sample must produce, for checks against a computed report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    /// Successful production deployments in the window, merges for repositories
    /// without any (the merge fallback).
    pub successful_production: usize,
    /// Failed production deployments in the window (by status).
    pub failed_status: usize,
    /// Pull requests in the sample.
    pub pull_requests: usize,
    /// Incidents opened in the window.
    pub incidents: usize,
}

impl Sample {
    /// The repository with this slug.
    pub fn repository(&self, slug: &str) -> Option<&RepoSample> {
        self.repositories.iter().find(|r| r.slug == slug)
    }

    /// Ground truth for the window `[start, end)`.
    pub fn expected(&self, start: Ts, end: Ts) -> Expected {
        let inside = |t: Option<Ts>| t.is_some_and(|t| t >= start && t < end);
        let mut e = Expected {
            incidents: self
                .incidents
                .iter()
                .filter(|i| inside(Some(i.created_at)))
                .count(),
            ..Expected::default()
        };
        for r in &self.repositories {
            e.pull_requests += r.pull_requests.len();
            let prod: Vec<&Deployment> = r
                .deployments
                .iter()
                .filter(|d| r.environments[d.env].kind == "Production")
                .collect();
            if prod.iter().all(|d| d.state == DeployState::Undeployed) {
                e.successful_production += r
                    .pull_requests
                    .iter()
                    .filter(|p| p.destination == r.main_branch && inside(p.merged_at()))
                    .count();
                continue;
            }
            for d in prod {
                let t = d.completed.or(d.started);
                match d.state {
                    DeployState::Successful if inside(t) => e.successful_production += 1,
                    DeployState::Failed if inside(t) => e.failed_status += 1,
                    _ => {}
                }
            }
        }
        e
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// Every push deploys to staging, then production.
    Continuous,
    /// Pushes deploy to staging; production is promoted manually each weekday.
    DailyPromotion,
    /// Pushes deploy to test; staging and production on Tuesdays and Thursdays.
    TwiceWeekly,
    /// No deployments at all.
    MergesOnly,
}

struct RepoSpec {
    slug: &'static str,
    main: &'static str,
    language: &'static str,
    project: &'static str,
    prs: usize,
    style: Style,
    /// Multiplies coding and review times (bigger is slower).
    pace: f64,
    service: Option<&'static str>,
    topics: &'static [&'static str],
    key: &'static str,
}

const SPECS: [RepoSpec; 4] = [
    RepoSpec {
        slug: "checkout-web",
        main: "main",
        language: "typescript",
        project: "WEB",
        prs: 170,
        style: Style::Continuous,
        pace: 0.7,
        service: Some("checkout-web"),
        topics: &[
            "cart badge",
            "address autocomplete",
            "payment form",
            "order summary",
            "coupon field",
            "checkout retry",
            "guest checkout",
            "shipping options",
            "tax display",
            "saved cards",
            "error banner",
            "loading skeleton",
            "basket sync",
            "gift wrap",
            "delivery slots",
        ],
        key: "WEB",
    },
    RepoSpec {
        slug: "payments-api",
        main: "main",
        language: "go",
        project: "PAY",
        prs: 120,
        style: Style::DailyPromotion,
        pace: 1.0,
        service: Some("payments-api"),
        topics: &[
            "idempotency keys",
            "refund webhook",
            "3ds challenge",
            "ledger export",
            "payout batching",
            "card tokenisation",
            "currency rounding",
            "fraud score",
            "settlement report",
            "retry queue",
            "psp failover",
            "audit log",
        ],
        key: "PAY",
    },
    RepoSpec {
        slug: "search-service",
        main: "master",
        language: "java",
        project: "SRCH",
        prs: 75,
        style: Style::TwiceWeekly,
        pace: 1.6,
        service: Some("search-service"),
        topics: &[
            "synonym index",
            "typo tolerance",
            "facet counts",
            "query cache",
            "ranking boost",
            "shard rebalance",
            "autocomplete",
            "stemming",
            "index warmup",
        ],
        key: "SRCH",
    },
    RepoSpec {
        slug: "design-system",
        main: "main",
        language: "typescript",
        project: "WEB",
        prs: 55,
        style: Style::MergesOnly,
        pace: 1.2,
        service: None,
        topics: &[
            "button tokens",
            "dark mode",
            "focus ring",
            "date picker",
            "modal a11y",
            "icon set",
            "spacing scale",
            "tooltip",
        ],
        key: "DS",
    },
];

const HUMANS: [(&str, &str); 8] = [
    ("Jane Doe", "jdoe"),
    ("Sam Lee", "slee"),
    ("Priya Natarajan", "priya"),
    ("Tomás García", "tgarcia"),
    ("Aiko Tanaka", "aiko"),
    ("Olu Adeyemi", "olu"),
    ("Marta Kowalska", "marta"),
    ("Chen Wei", "chenwei"),
];

const RENOVATE: usize = 8;
const DEPENDABOT: usize = 9;

fn people(rng: &mut Rng) -> Vec<Person> {
    let mut out: Vec<Person> = HUMANS
        .iter()
        .map(|(name, nick)| Person {
            uuid: rng.uuid(),
            account_id: format!("557058:{}", rng.hex(8)),
            name: (*name).to_string(),
            nickname: (*nick).to_string(),
            email: format!("{nick}@acme.io"),
            bot: false,
        })
        .collect();
    for (name, nick) in [
        ("Renovate Bot", "renovate-bot"),
        ("Dependabot", "dependabot"),
    ] {
        out.push(Person {
            uuid: rng.uuid(),
            account_id: format!("712020:{}", rng.hex(8)),
            name: name.to_string(),
            nickname: nick.to_string(),
            email: format!("{nick}@noreply.acme.io"),
            bot: true,
        });
    }
    out
}

/// Generate the sample for `seed`; the same seed always gives the same sample.
pub fn generate(seed: u64) -> Sample {
    let mut rng = Rng::new(seed);
    let end = Utc
        .with_ymd_and_hms(2026, 11, 2, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let start = end - Duration::days(182);
    let people = people(&mut rng);
    let mut incidents = Vec::new();
    let repositories = SPECS
        .iter()
        .map(|spec| generate_repo(&mut rng, spec, start, end, &mut incidents))
        .collect();
    background_incidents(&mut rng, start, end, &mut incidents);
    incidents.sort_by_key(|i| i.created_at);
    for (n, i) in incidents.iter_mut().enumerate() {
        i.number = 1200 + n as u64;
    }
    Sample {
        workspace: WORKSPACE.to_string(),
        start,
        end,
        people,
        repositories,
        incidents,
    }
}

/// Move `t` into working hours (Mon–Fri, 08:00–19:00 UTC).
fn working(t: Ts, rng: &mut Rng) -> Ts {
    let mut t = t;
    for _ in 0..8 {
        let weekend = matches!(t.weekday(), Weekday::Sat | Weekday::Sun);
        if weekend || t.hour() >= 19 {
            let next = (t + Duration::days(1)).date_naive();
            t = Utc.from_utc_datetime(&next.and_hms_opt(8, 0, 0).unwrap_or_default())
                + Duration::minutes(rng.range(0, 120));
        } else if t.hour() < 8 {
            t = Utc.from_utc_datetime(&t.date_naive().and_hms_opt(8, 0, 0).unwrap_or_default())
                + Duration::minutes(rng.range(0, 120));
        } else {
            return t;
        }
    }
    t
}

fn secs(s: f64) -> Duration {
    Duration::seconds(s.round() as i64)
}

const MIN: f64 = 60.0;
const HOUR: f64 = 3600.0;
const DAY: f64 = 86_400.0;

fn human(rng: &mut Rng, except: Option<usize>) -> usize {
    loop {
        let i = rng.index(HUMANS.len());
        if Some(i) != except {
            return i;
        }
    }
}

fn slugify(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// A human pull request created at `created`.
fn human_pr(rng: &mut Rng, spec: &RepoSpec, created: Ts, end: Ts, n: usize) -> PullRequest {
    let author = human(rng, None);
    let topic = spec.topics[rng.index(spec.topics.len())];
    let roll = rng.unit();
    let (kind, title, branch) = if roll < 0.6 {
        let verb = ["Add", "Improve", "Support", "Rework"][rng.index(4)];
        (
            PrKind::Feature,
            format!("{verb} {topic}"),
            format!("feature/{}-{}-{}", spec.key, 100 + n, slugify(topic)),
        )
    } else if roll < 0.85 {
        (
            PrKind::Bugfix,
            format!("Fix {topic} edge case"),
            format!("bugfix/{}-{}-{}", spec.key, 100 + n, slugify(topic)),
        )
    } else {
        let what = ["Refactor", "Tidy up", "Add tests for", "Document"][rng.index(4)];
        (
            PrKind::Chore,
            format!("{what} {topic}"),
            format!("chore/{}", slugify(topic)),
        )
    };
    let coding = rng.log_uniform(20.0 * MIN, 4.0 * DAY) * spec.pace;
    let first_commit_at = created - secs(coding);
    let n_commits = rng.range(1, 6) as usize;
    let mut reviews = Vec::new();
    let mut t = created;
    let merge_at;
    if rng.chance(0.88) {
        t = working(
            t + secs(rng.log_uniform(5.0 * MIN, 30.0 * HOUR) * spec.pace),
            rng,
        );
        let first_kind = match rng.index(10) {
            0..=4 => ReviewKind::Comment,
            5..=8 => ReviewKind::Approval,
            _ => ReviewKind::ChangesRequested,
        };
        let reviewer = human(rng, Some(author));
        reviews.push(Review {
            at: t,
            by: reviewer,
            kind: first_kind,
        });
        for _ in 0..rng.range(0, 3) {
            t += secs(rng.log_uniform(10.0 * MIN, 10.0 * HOUR) * spec.pace);
            let by = if rng.chance(0.3) {
                author
            } else {
                human(rng, Some(author))
            };
            reviews.push(Review {
                at: t,
                by,
                kind: ReviewKind::Comment,
            });
        }
        if first_kind != ReviewKind::Approval || rng.chance(0.3) {
            t += secs(rng.log_uniform(10.0 * MIN, 8.0 * HOUR) * spec.pace);
            reviews.push(Review {
                at: t,
                by: reviewer,
                kind: ReviewKind::Approval,
            });
        }
        merge_at = working(t + secs(rng.log_uniform(3.0 * MIN, 6.0 * HOUR)), rng);
    } else {
        merge_at = working(t + secs(rng.log_uniform(10.0 * MIN, 10.0 * HOUR)), rng);
    }
    let outcome = if rng.chance(0.07) {
        Outcome::Declined {
            at: created + secs(rng.log_uniform(2.0 * HOUR, 6.0 * DAY)),
        }
    } else {
        Outcome::Merged {
            at: merge_at,
            squash: rng.chance(0.15),
        }
    };
    PullRequest {
        id: 0,
        author,
        kind,
        title,
        branch,
        destination: spec.main.to_string(),
        first_commit_at,
        created_at: created,
        n_commits,
        reviews,
        outcome: close_before(outcome, end),
        commits: Vec::new(),
        merge_commit: None,
        base: None,
    }
}

/// Outcomes after the end of the sample have not happened yet.
fn close_before(outcome: Outcome, end: Ts) -> Outcome {
    match outcome {
        Outcome::Merged { at, .. } | Outcome::Declined { at } if at >= end => Outcome::Open,
        o => o,
    }
}

fn bot_pr(rng: &mut Rng, spec: &RepoSpec, created: Ts, end: Ts) -> PullRequest {
    const DEPS: [&str; 8] = [
        "eslint",
        "jackson-databind",
        "grpc",
        "react",
        "zod",
        "slf4j",
        "aws-sdk",
        "lodash",
    ];
    let dep = DEPS[rng.index(DEPS.len())];
    let (major, minor) = (rng.range(1, 9), rng.range(0, 30));
    let renovate = rng.chance(0.6);
    let (author, title, branch) = if renovate {
        (
            RENOVATE,
            format!("Update dependency {dep} to v{major}.{minor}.0"),
            format!("renovate/{dep}-{major}.x"),
        )
    } else {
        (
            DEPENDABOT,
            format!(
                "Bump {dep} from {major}.{}.0 to {major}.{minor}.0",
                minor.saturating_sub(1)
            ),
            format!("dependabot/npm_and_yarn/{dep}-{major}.{minor}.0"),
        )
    };
    let mut reviews = Vec::new();
    let merge_at = if rng.chance(0.5) {
        let at = working(
            created + secs(rng.log_uniform(30.0 * MIN, 20.0 * HOUR)),
            rng,
        );
        reviews.push(Review {
            at,
            by: human(rng, None),
            kind: ReviewKind::Approval,
        });
        at + secs(rng.log_uniform(MIN, 30.0 * MIN))
    } else {
        created + secs(rng.log_uniform(HOUR, 3.0 * HOUR))
    };
    PullRequest {
        id: 0,
        author,
        kind: PrKind::Bot,
        title,
        branch,
        destination: spec.main.to_string(),
        first_commit_at: created - Duration::seconds(rng.range(20, 90)),
        created_at: created,
        n_commits: 1,
        reviews,
        outcome: close_before(
            Outcome::Merged {
                at: merge_at,
                squash: false,
            },
            end,
        ),
        commits: Vec::new(),
        merge_commit: None,
        base: None,
    }
}

/// A quick pull request (hotfix or revert) created at `created`.
fn quick_pr(
    rng: &mut Rng,
    spec: &RepoSpec,
    created: Ts,
    end: Ts,
    kind: PrKind,
    title: String,
    branch: String,
) -> PullRequest {
    let author = human(rng, None);
    let review_at = created + secs(rng.log_uniform(4.0 * MIN, 35.0 * MIN));
    let merge_at = review_at + secs(rng.log_uniform(2.0 * MIN, 25.0 * MIN));
    PullRequest {
        id: 0,
        author,
        kind,
        title,
        branch,
        destination: spec.main.to_string(),
        first_commit_at: created - secs(rng.log_uniform(8.0 * MIN, 50.0 * MIN)),
        created_at: created,
        n_commits: 1,
        reviews: vec![Review {
            at: review_at,
            by: human(rng, Some(author)),
            kind: ReviewKind::Approval,
        }],
        outcome: close_before(
            Outcome::Merged {
                at: merge_at,
                squash: false,
            },
            end,
        ),
        commits: Vec::new(),
        merge_commit: None,
        base: None,
    }
}

/// Fixed promotion times of a release calendar.
fn calendar(rng: &mut Rng, start: Ts, end: Ts, days: &[Weekday], hour: u32) -> Vec<Ts> {
    let mut out = Vec::new();
    let mut day = start.date_naive();
    while day < end.date_naive() {
        if days.contains(&day.weekday()) {
            let t = Utc.from_utc_datetime(&day.and_hms_opt(hour, 0, 0).unwrap_or_default())
                + Duration::minutes(rng.range(0, 55));
            out.push(t);
        }
        day = day.succ_opt().unwrap_or(day);
        if out.len() > 400 {
            break;
        }
    }
    out
}

struct Bad {
    /// Approximate deployment time the trouble follows.
    at: Ts,
    /// Roll back instead of hotfixing.
    rollback: bool,
}

fn generate_repo(
    rng: &mut Rng,
    spec: &RepoSpec,
    start: Ts,
    end: Ts,
    incidents: &mut Vec<Incident>,
) -> RepoSample {
    let span = (end - start).num_seconds() - 2 * 86_400;
    // 1. Ordinary pull requests.
    let mut prs: Vec<PullRequest> = (0..spec.prs)
        .map(|n| {
            let created = working(start + Duration::seconds(rng.range(0, span)), rng);
            if rng.chance(0.12) {
                bot_pr(rng, spec, created, end)
            } else {
                human_pr(rng, spec, created, end, n)
            }
        })
        .collect();
    // 2. Reverts of merged human changes (one of them re-landed later).
    let mut relanded = spec.style != Style::Continuous;
    for i in 0..prs.len() {
        let Some(merged) = prs[i].merged_at() else {
            continue;
        };
        if prs[i].author >= RENOVATE || !rng.chance(0.035) {
            continue;
        }
        let created = merged + secs(rng.log_uniform(HOUR, 20.0 * HOUR));
        let tail = prs[i]
            .branch
            .split_once('/')
            .map_or(prs[i].branch.as_str(), |(_, t)| t)
            .to_string();
        let revert = quick_pr(
            rng,
            spec,
            created,
            end,
            PrKind::Revert(i),
            format!("Revert \"{}\"", prs[i].title),
            format!("revert/{tail}"),
        );
        let revert_merged = revert.merged_at();
        prs.push(revert);
        if let (false, Some(m)) = (relanded, revert_merged) {
            {
                relanded = true;
                let idx = prs.len() - 1;
                let title = format!("Revert \"{}\"", prs[idx].title);
                let reland = quick_pr(
                    rng,
                    spec,
                    m + Duration::days(2),
                    end,
                    PrKind::Revert(idx),
                    title,
                    format!("reland/{tail}"),
                );
                prs.push(reland);
            }
        }
    }
    // 3. Release calendar and trouble after some deployments.
    let calendar = match spec.style {
        Style::DailyPromotion => calendar(
            rng,
            start + Duration::days(1),
            end,
            &[
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
            14,
        ),
        Style::TwiceWeekly => calendar(
            rng,
            start + Duration::days(1),
            end,
            &[Weekday::Tue, Weekday::Thu],
            10,
        ),
        _ => Vec::new(),
    };
    let mut bad: Vec<Bad> = Vec::new();
    match spec.style {
        Style::Continuous => {
            let merges: Vec<Ts> = prs.iter().filter_map(PullRequest::merged_at).collect();
            for m in merges {
                if rng.chance(0.035) {
                    bad.push(Bad {
                        at: m + Duration::minutes(14),
                        rollback: false,
                    });
                }
            }
        }
        Style::DailyPromotion | Style::TwiceWeekly => {
            let n = calendar.len();
            for (k, &t) in calendar.iter().enumerate() {
                // Two rollbacks in payments-api: one before the 90-day window, one inside.
                let rollback =
                    spec.style == Style::DailyPromotion && (k == n / 4 || k == n * 4 / 5);
                if rollback || rng.chance(0.05) {
                    bad.push(Bad {
                        at: t + Duration::minutes(8),
                        rollback,
                    });
                }
            }
        }
        Style::MergesOnly => {}
    }
    let service = spec.service.unwrap_or(spec.slug);
    let service_id = format!("PSV{}", &spec.key.to_ascii_uppercase());
    let mut extra_promotions: Vec<Ts> = Vec::new();
    let mut rollbacks: Vec<(Ts, Ts)> = Vec::new();
    for b in &bad {
        let opened = b.at + secs(rng.log_uniform(10.0 * MIN, 3.0 * HOUR));
        if opened >= end {
            continue;
        }
        if b.rollback {
            let rollback_at = b.at + secs(rng.log_uniform(35.0 * MIN, 70.0 * MIN));
            let opened = b.at + secs(rng.log_uniform(8.0 * MIN, 25.0 * MIN));
            rollbacks.push((b.at, rollback_at));
            let title = format!("{service}: error rate above 5% after release");
            let resolved = rollback_at + secs(rng.log_uniform(3.0 * MIN, 15.0 * MIN));
            // Revert the newest change the bad release shipped.
            if let Some(i) = prs
                .iter()
                .enumerate()
                .filter(|(_, p)| {
                    p.author < RENOVATE
                        && p.merged_at()
                            .is_some_and(|m| m < b.at - Duration::minutes(10))
                })
                .max_by_key(|(_, p)| p.merged_at())
                .map(|(i, _)| i)
            {
                let tail = prs[i]
                    .branch
                    .split_once('/')
                    .map_or(prs[i].branch.as_str(), |(_, t)| t)
                    .to_string();
                let created = rollback_at + secs(rng.log_uniform(HOUR, 3.0 * HOUR));
                let t = format!("Revert \"{}\"", prs[i].title);
                let revert = quick_pr(
                    rng,
                    spec,
                    created,
                    end,
                    PrKind::Revert(i),
                    t,
                    format!("revert/{tail}"),
                );
                prs.push(revert);
            }
            incidents.push(Incident {
                id: String::new(),
                number: 0,
                title,
                service: service.to_string(),
                service_id: service_id.clone(),
                priority: Some("P1"),
                urgency: "high",
                created_at: opened,
                acknowledged_at: Some(opened + Duration::minutes(rng.range(1, 6))),
                resolved_at: Some(resolved).filter(|&r| r < end),
            });
            continue;
        }
        let topic = spec.topics[rng.index(spec.topics.len())];
        let created = opened + secs(rng.log_uniform(15.0 * MIN, 80.0 * MIN));
        let hotfix = quick_pr(
            rng,
            spec,
            created,
            end,
            PrKind::Hotfix,
            format!("Hotfix: {topic} failing in production"),
            format!("hotfix/{}-{}", spec.key, slugify(topic)),
        );
        let fix_deployed = hotfix
            .merged_at()
            .map(|m| m + secs(rng.log_uniform(12.0 * MIN, 30.0 * MIN)));
        if let Some(m) = hotfix.merged_at() {
            extra_promotions.push(m + Duration::minutes(rng.range(15, 30)));
        }
        prs.push(hotfix);
        let title = format!("{service}: {topic} errors");
        let resolved = fix_deployed.map(|t| t + secs(rng.log_uniform(3.0 * MIN, 20.0 * MIN)));
        incidents.push(Incident {
            id: String::new(),
            number: 0,
            title,
            service: service.to_string(),
            service_id: service_id.clone(),
            priority: Some(if rng.chance(0.3) { "P1" } else { "P2" }),
            urgency: "high",
            created_at: opened,
            acknowledged_at: Some(opened + Duration::minutes(rng.range(1, 10))),
            resolved_at: resolved.filter(|&r| r < end),
        });
    }
    // 4. Ids in creation order (revert targets are remapped to the new order).
    let mut order: Vec<usize> = (0..prs.len()).collect();
    order.sort_by_key(|&i| (prs[i].created_at, i));
    let mut new_pos = vec![0usize; prs.len()];
    for (new, &old) in order.iter().enumerate() {
        new_pos[old] = new;
    }
    let mut prs: Vec<PullRequest> = order
        .iter()
        .map(|&old| {
            let mut p = prs[old].clone();
            if let PrKind::Revert(target) = p.kind {
                p.kind = PrKind::Revert(new_pos[target]);
            }
            p
        })
        .collect();
    for (n, p) in prs.iter_mut().enumerate() {
        p.id = 101 + n as u64;
    }

    // 5. Git history, in time order.
    let mut commits: Vec<Commit> = Vec::new();
    let mut heads: Vec<(Ts, String)> = Vec::new();
    let created_on = start - Duration::days(400);
    let mut prev: Option<String> = None;
    for k in 0..4 {
        let sha = rng.hex(40);
        let date = start - Duration::days(30 - 9 * k);
        commits.push(Commit {
            sha: sha.clone(),
            parents: prev.iter().cloned().collect(),
            date,
            message: if k == 0 {
                "Initial import\n".to_string()
            } else {
                format!("Release housekeeping {k}\n")
            },
            author: human(rng, None),
        });
        heads.push((date, sha.clone()));
        prev = Some(sha);
    }
    enum Ev {
        Branch(usize),
        Merge(usize),
    }
    let mut events: Vec<(Ts, u8, usize, Ev)> = Vec::new();
    for (i, p) in prs.iter().enumerate() {
        events.push((p.first_commit_at, 0, i, Ev::Branch(i)));
        if let Some(m) = p.merged_at() {
            events.push((m, 1, i, Ev::Merge(i)));
        }
    }
    events.sort_by_key(|(t, o, i, _)| (*t, *o, *i));
    let mut by_sha: HashMap<String, usize> = HashMap::new();
    for (i, c) in commits.iter().enumerate() {
        by_sha.insert(c.sha.clone(), i);
    }
    for (_, _, _, ev) in events {
        let head = heads.last().map(|h| h.1.clone()).unwrap_or_default();
        let head_date = heads.last().map(|h| h.0).unwrap_or(start);
        match ev {
            Ev::Branch(i) => {
                let p = &prs[i];
                let n = p.n_commits.max(1);
                let span = (p.created_at - p.first_commit_at)
                    .num_seconds()
                    .max(n as i64);
                let mut parent = head.clone();
                let mut shas = Vec::new();
                let mut last_date = head_date;
                for c in 0..n {
                    let date = (p.first_commit_at + Duration::seconds(span * c as i64 / n as i64))
                        .max(last_date + Duration::seconds(1));
                    last_date = date;
                    let message = match p.kind {
                        PrKind::Revert(target) => {
                            // Reverting a revert targets the revert commit itself (a re-land).
                            let target_sha = if matches!(prs[target].kind, PrKind::Revert(_)) {
                                prs[target].commits.last().cloned().unwrap_or_default()
                            } else {
                                prs[target].merge_commit.clone().unwrap_or_default()
                            };
                            let target_msg = by_sha
                                .get(&target_sha)
                                .map(|&k| {
                                    commits[k].message.lines().next().unwrap_or("").to_string()
                                })
                                .unwrap_or_default();
                            let parent_sha = by_sha
                                .get(&target_sha)
                                .and_then(|&k| commits[k].parents.first().cloned())
                                .unwrap_or_default();
                            if by_sha
                                .get(&target_sha)
                                .is_some_and(|&k| commits[k].parents.len() > 1)
                            {
                                format!(
                                    "Revert \"{target_msg}\"\n\nThis reverts commit {target_sha}, reversing\nchanges made to {parent_sha}.\n"
                                )
                            } else {
                                format!(
                                    "Revert \"{target_msg}\"\n\nThis reverts commit {target_sha}.\n"
                                )
                            }
                        }
                        _ if c == 0 => format!("{}\n", p.title),
                        _ => [
                            "Address review comments\n",
                            "Add tests\n",
                            "Fix lint\n",
                            "WIP\n",
                            "Update snapshots\n",
                        ][rng.index(5)]
                        .to_string(),
                    };
                    let sha = rng.hex(40);
                    commits.push(Commit {
                        sha: sha.clone(),
                        parents: vec![parent.clone()],
                        date,
                        message,
                        author: p.author,
                    });
                    by_sha.insert(sha.clone(), commits.len() - 1);
                    shas.push(sha.clone());
                    parent = sha;
                }
                let p = &mut prs[i];
                p.commits = shas;
                p.base = Some(head);
            }
            Ev::Merge(i) => {
                let p = &prs[i];
                let Outcome::Merged { at, squash } = p.outcome else {
                    continue;
                };
                let tip_date = p
                    .commits
                    .last()
                    .and_then(|s| by_sha.get(s))
                    .map_or(head_date, |&k| commits[k].date);
                let at = at
                    .max(head_date + Duration::seconds(1))
                    .max(tip_date + Duration::seconds(1));
                let approvers: Vec<&str> = p
                    .reviews
                    .iter()
                    .filter(|r| r.kind == ReviewKind::Approval)
                    .map(|r| HUMANS[r.by.min(HUMANS.len() - 1)].0)
                    .collect();
                let trailer = approvers
                    .first()
                    .map(|a| format!("\n\nApproved-by: {a}"))
                    .unwrap_or_default();
                let sha = rng.hex(40);
                let (parents, message) = if squash {
                    (
                        vec![head.clone()],
                        format!(
                            "{} (pull request #{})\n\n{}{trailer}\n",
                            p.title, p.id, p.title
                        ),
                    )
                } else {
                    let tip = p.commits.last().cloned().unwrap_or_else(|| head.clone());
                    (
                        vec![head.clone(), tip],
                        format!(
                            "Merged in {} (pull request #{})\n\n{}{trailer}\n",
                            p.branch, p.id, p.title
                        ),
                    )
                };
                let merger = p.reviews.last().map_or(p.author, |r| r.by);
                commits.push(Commit {
                    sha: sha.clone(),
                    parents,
                    date: at,
                    message,
                    author: merger,
                });
                by_sha.insert(sha.clone(), commits.len() - 1);
                heads.push((at, sha.clone()));
                prs[i].merge_commit = Some(sha);
            }
        }
    }
    let head_at = |t: Ts| -> Option<String> {
        heads
            .iter()
            .rev()
            .find(|(h, _)| *h <= t)
            .map(|(_, s)| s.clone())
    };

    // 6. Environments, pipelines and deployments.
    let environments: Vec<Environment> = {
        let mut env = |name: &str, kind: &'static str, rank: u32| Environment {
            uuid: rng.uuid(),
            name: name.to_string(),
            slug: slugify(name),
            kind,
            rank,
        };
        match spec.style {
            Style::Continuous => vec![
                env("staging", "Staging", 1),
                env("production", "Production", 2),
            ],
            Style::DailyPromotion => vec![
                env("Staging", "Staging", 1),
                env("Production EU", "Production", 2),
            ],
            Style::TwiceWeekly => vec![
                env("Test", "Test", 0),
                env("Staging", "Staging", 1),
                env("Production", "Production", 2),
            ],
            Style::MergesOnly => Vec::new(),
        }
    };
    let prod_env = environments.iter().position(|e| e.kind == "Production");
    let pre_env = environments.iter().position(|e| e.kind != "Production");
    let mut pipelines: Vec<Pipeline> = Vec::new();
    let mut deployments: Vec<Deployment> = Vec::new();
    let mut pipeline_of: HashMap<String, usize> = HashMap::new();
    let first_build = 641 + rng.range(0, 300) as u64;
    // One pipeline per push to the main branch (the initial history included).
    for (build_number, (t, sha)) in (first_build..).zip(heads.iter()) {
        let created = *t + Duration::seconds(rng.range(15, 60));
        let build_start = created + Duration::seconds(rng.range(10, 40));
        let build_end = build_start + secs(rng.log_uniform(3.0 * MIN, 8.0 * MIN));
        let build_failed = spec.style == Style::Continuous && rng.chance(0.03);
        let mut steps = vec![Step {
            uuid: rng.uuid(),
            name: "Build and test".into(),
            started: Some(build_start),
            completed: Some(build_end),
            result: Some(if build_failed { "FAILED" } else { "SUCCESSFUL" }),
            run_number: 1,
            manual: false,
        }];
        let idx = pipelines.len();
        if let (Some(env), false) = (pre_env, build_failed) {
            let s = build_end + Duration::seconds(rng.range(5, 30));
            let e = s + secs(rng.log_uniform(90.0, 200.0));
            let step = Step {
                uuid: rng.uuid(),
                name: format!("Deploy to {}", environments[env].slug),
                started: Some(s),
                completed: Some(e),
                result: Some("SUCCESSFUL"),
                run_number: 1,
                manual: false,
            };
            deployments.push(Deployment {
                uuid: rng.uuid(),
                env,
                pipeline: idx,
                step_uuid: step.uuid.clone(),
                commit: sha.clone(),
                started: Some(s),
                completed: Some(e),
                state: DeployState::Successful,
            });
            steps.push(step);
        }
        if build_failed {
            steps.push(Step {
                uuid: rng.uuid(),
                name: "Deploy to production".into(),
                started: None,
                completed: None,
                result: Some("NOT_RUN"),
                run_number: 1,
                manual: false,
            });
        }
        pipeline_of.insert(sha.clone(), idx);
        pipelines.push(Pipeline {
            uuid: rng.uuid(),
            build_number,
            commit: sha.clone(),
            branch: spec.main.to_string(),
            created,
            steps,
        });
    }
    // Production deployments.
    if let Some(prod) = prod_env {
        let mut last_end = start - Duration::days(40);
        let mut last_ok: Option<String> = None;
        // (time, commit, is_rollback)
        let mut plan: Vec<(Ts, String, bool)> = Vec::new();
        match spec.style {
            Style::Continuous => {
                for p in &pipelines {
                    if p.result_hint_failed() {
                        continue;
                    }
                    let staged = p
                        .steps
                        .iter()
                        .filter_map(|s| s.completed)
                        .max()
                        .unwrap_or(p.created);
                    plan.push((
                        staged + Duration::seconds(rng.range(10, 40)),
                        p.commit.clone(),
                        false,
                    ));
                }
            }
            _ => {
                // The initial history was released before the sample starts.
                if let Some((t, sha)) = heads.first() {
                    plan.push((*t + Duration::hours(3), sha.clone(), false));
                }
                if let Some((t, sha)) = heads.get(3) {
                    plan.push((*t + Duration::hours(3), sha.clone(), false));
                }
                let mut times: Vec<(Ts, bool)> = calendar.iter().map(|&t| (t, false)).collect();
                times.extend(extra_promotions.iter().map(|&t| (t, false)));
                times.extend(rollbacks.iter().map(|&(_, r)| (r, true)));
                times.sort();
                for (t, rollback) in times {
                    if let Some(head) = head_at(t) {
                        plan.push((t, head, rollback));
                    }
                }
            }
        }
        let mut previous_ok: Option<String> = None;
        for (t, commit, rollback) in plan {
            let commit = if rollback {
                match previous_ok.clone() {
                    Some(c) => c,
                    None => continue,
                }
            } else {
                commit
            };
            if !rollback
                && spec.style != Style::Continuous
                && last_ok.as_deref() == Some(commit.as_str())
            {
                continue; // nothing new to release
            }
            let Some(&pipe) = pipeline_of.get(&commit) else {
                continue;
            };
            let mut start_at = t.max(last_end + Duration::seconds(30));
            let run = pipelines[pipe]
                .steps
                .iter()
                .filter(|s| s.name.contains("production"))
                .count() as u32
                + 1;
            let fails = !rollback
                && rng.chance(if spec.style == Style::Continuous {
                    0.06
                } else {
                    0.08
                });
            let mut attempts = vec![fails];
            if fails && rng.chance(0.75) {
                attempts.push(false);
            }
            for (failed, run) in attempts.into_iter().zip(run..) {
                if start_at >= end {
                    break;
                }
                let finish = start_at + secs(rng.log_uniform(100.0, 300.0));
                let running = finish >= end;
                let step = Step {
                    uuid: rng.uuid(),
                    name: "Deploy to production".into(),
                    started: Some(start_at),
                    completed: (!running).then_some(finish),
                    result: if running {
                        None
                    } else if failed {
                        Some("FAILED")
                    } else {
                        Some("SUCCESSFUL")
                    },
                    run_number: run,
                    manual: spec.style != Style::Continuous,
                };
                deployments.push(Deployment {
                    uuid: rng.uuid(),
                    env: prod,
                    pipeline: pipe,
                    step_uuid: step.uuid.clone(),
                    commit: commit.clone(),
                    started: Some(start_at),
                    completed: (!running).then_some(finish),
                    state: if running {
                        DeployState::InProgress
                    } else if failed {
                        DeployState::Failed
                    } else {
                        DeployState::Successful
                    },
                });
                pipelines[pipe].steps.push(step);
                last_end = finish;
                if !failed && !running {
                    if last_ok.as_deref() != Some(commit.as_str()) {
                        previous_ok = last_ok.take();
                    }
                    last_ok = Some(commit.clone());
                }
                start_at = finish + secs(rng.log_uniform(8.0 * MIN, 35.0 * MIN));
            }
        }
        // Manual production steps that never ran leave UNDEPLOYED deployments.
        if spec.style != Style::Continuous {
            for (idx, p) in pipelines.iter_mut().enumerate() {
                if p.steps.iter().any(|s| s.name.contains("production")) {
                    continue;
                }
                let step = Step {
                    uuid: rng.uuid(),
                    name: "Deploy to production".into(),
                    started: None,
                    completed: None,
                    result: None,
                    run_number: 1,
                    manual: true,
                };
                deployments.push(Deployment {
                    uuid: rng.uuid(),
                    env: prod,
                    pipeline: idx,
                    step_uuid: step.uuid.clone(),
                    commit: p.commit.clone(),
                    started: None,
                    completed: None,
                    state: DeployState::Undeployed,
                });
                p.steps.push(step);
            }
        }
    }
    deployments.sort_by_key(|d| (d.started.or(Some(pipelines[d.pipeline].created)), d.env));
    commits.sort_by(|a, b| (a.date, &a.sha).cmp(&(b.date, &b.sha)));
    RepoSample {
        slug: spec.slug.to_string(),
        uuid: rng.uuid(),
        main_branch: spec.main.to_string(),
        language: spec.language.to_string(),
        project: spec.project.to_string(),
        service: spec.service.map(str::to_string),
        pull_requests: prs,
        commits,
        environments,
        pipelines,
        deployments,
        created_on,
    }
}

impl Pipeline {
    fn result_hint_failed(&self) -> bool {
        self.steps.iter().any(|s| s.result == Some("FAILED"))
    }
}

fn background_incidents(rng: &mut Rng, start: Ts, end: Ts, out: &mut Vec<Incident>) {
    const SERVICES: [(&str, &str); 3] = [
        ("checkout-web", "PSVWEB"),
        ("payments-api", "PSVPAY"),
        ("search-service", "PSVSRCH"),
    ];
    const ALERTS: [&str; 8] = [
        "p95 latency above SLO",
        "disk usage above 85%",
        "5xx rate elevated",
        "queue backlog growing",
        "certificate expires in 7 days",
        "memory pressure on pods",
        "synthetic check failing",
        "error budget burn",
    ];
    for k in 0..44 {
        let (service, service_id) = SERVICES[rng.index(SERVICES.len())];
        let created =
            start + Duration::seconds(rng.range(0, (end - start).num_seconds() - 6 * 3600));
        let roll = rng.unit();
        let (priority, urgency) = if roll < 0.04 {
            (Some("P1"), "high")
        } else if roll < 0.16 {
            (Some("P2"), "high")
        } else if roll < 0.5 {
            (Some("P3"), "high")
        } else if roll < 0.74 {
            (Some("P4"), "low")
        } else if roll < 0.86 {
            (Some("P5"), "low")
        } else if rng.chance(0.5) {
            (None, "high")
        } else {
            (None, "low")
        };
        let duration = match priority {
            Some("P1" | "P2") => rng.log_uniform(15.0 * MIN, 5.0 * HOUR),
            _ => rng.log_uniform(5.0 * MIN, 20.0 * HOUR),
        };
        let resolved = created + secs(duration);
        let ack = (priority.is_some() || rng.chance(0.5))
            .then(|| created + Duration::minutes(rng.range(1, 20)));
        out.push(Incident {
            id: String::new(),
            number: 0,
            title: format!("{service}: {}", ALERTS[k % ALERTS.len()]),
            service: service.to_string(),
            service_id: service_id.to_string(),
            priority,
            urgency,
            created_at: created,
            acknowledged_at: ack,
            resolved_at: Some(resolved).filter(|&r| r < end),
        });
    }
    // Two incidents still open at the end of the sample.
    for (k, (priority, ack)) in [(Some("P2"), true), (Some("P3"), false)]
        .into_iter()
        .enumerate()
    {
        let created = end - Duration::hours(5 + 20 * k as i64);
        out.push(Incident {
            id: String::new(),
            number: 0,
            title: format!("{}: {}", SERVICES[k].0, ALERTS[(k + 2) % ALERTS.len()]),
            service: SERVICES[k].0.to_string(),
            service_id: SERVICES[k].1.to_string(),
            priority,
            urgency: "high",
            created_at: created,
            acknowledged_at: ack.then(|| created + Duration::minutes(4)),
            resolved_at: None,
        });
    }
    let mut seen = HashSet::new();
    for i in out.iter_mut() {
        loop {
            const ALNUM: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
            let id: String = std::iter::once('Q')
                .chain((0..13).map(|_| ALNUM[rng.index(ALNUM.len())] as char))
                .collect();
            if seen.insert(id.clone()) {
                i.id = id;
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_is_deterministic_and_realistic() {
        let a = generate(DEFAULT_SEED);
        let b = generate(DEFAULT_SEED);
        assert_eq!(a.repositories.len(), 4);
        let prs: usize = a.repositories.iter().map(|r| r.pull_requests.len()).sum();
        assert!(prs >= 400, "{prs} pull requests");
        assert_eq!(
            a.repositories
                .iter()
                .map(|r| r.commits.len())
                .collect::<Vec<_>>(),
            b.repositories
                .iter()
                .map(|r| r.commits.len())
                .collect::<Vec<_>>()
        );
        for r in &a.repositories {
            let reverts = r
                .pull_requests
                .iter()
                .filter(|p| matches!(p.kind, PrKind::Revert(_)))
                .count();
            let bots = r
                .pull_requests
                .iter()
                .filter(|p| p.kind == PrKind::Bot)
                .count();
            assert!(bots > 0, "{} has no bot PRs", r.slug);
            if r.slug != "design-system" {
                assert!(
                    reverts
                        + r.pull_requests
                            .iter()
                            .filter(|p| p.kind == PrKind::Hotfix)
                            .count()
                        > 0
                );
            }
            // Every commit's parents exist and are older.
            let dates: HashMap<&str, Ts> =
                r.commits.iter().map(|c| (c.sha.as_str(), c.date)).collect();
            for c in &r.commits {
                for p in &c.parents {
                    let pd = dates.get(p.as_str()).copied();
                    assert!(
                        pd.is_some_and(|d| d < c.date),
                        "{}: parent {p} of {} missing or newer",
                        r.slug,
                        c.sha
                    );
                }
            }
            for p in &r.pull_requests {
                if p.merged_at().is_some() {
                    assert!(
                        p.merge_commit.is_some(),
                        "{}#{} merged without a commit",
                        r.slug,
                        p.id
                    );
                }
            }
        }
        let pay = a.repository("payments-api").map(|r| {
            r.deployments
                .iter()
                .filter(|d| d.state == DeployState::Undeployed)
                .count()
        });
        assert!(pay.unwrap_or(0) > 0);
        let design = a.repository("design-system").map(|r| r.deployments.len());
        assert_eq!(design, Some(0));
        let e = a.expected(a.end - Duration::days(90), a.end);
        assert!(e.successful_production > 100, "{e:?}");
        assert!(e.failed_status > 3, "{e:?}");
        assert!(a.incidents.iter().any(|i| i.priority.is_none()));
        assert!(a.incidents.iter().any(|i| i.resolved_at.is_none()));
    }
}
