//! Every choice a metric makes, as a knob with a documented default.
//!
//! Loadable from TOML (all fields optional):
//!
//! ```toml
//! days = 90
//! until = "2026-11-01T00:00:00Z"
//! production_branch = "main"
//! production_environments = ["prod-eu", "prod-us"]
//! severities = ["P1", "P2"]
//! lead_time_start = "first_commit"
//! tier_year = 2024
//! incident_window_hours = 24
//! rerun_excuse_minutes = 30
//!
//! [hotfix]
//! prefixes = ["hotfix/", "hot-fix/", "fix/"]
//! window_hours = 24
//!
//! [bots]
//! name_patterns = ["renovate", "dependabot", "[bot]"]
//! min_pr_seconds = 60
//!
//! [promotions]
//! branches = ["develop", "development"]
//! prefixes = ["release/", "release-"]
//!
//! [repositories.payments-api]                 # per-repository overrides
//! production_branch = "master"
//! hotfix_prefixes = ["hotfix/"]
//! ```

use crate::Error;
use crate::model::{Deployment, EnvironmentKind, PullRequest, Repository, Severity, Timestamp};
use chrono::Duration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where lead time starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadTimeStart {
    /// The earliest commit of the PR branch not reachable from the destination (DORA).
    #[default]
    FirstCommit,
    /// When the pull request was opened.
    PrCreated,
}

/// DORA report year whose performance clusters define the tiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub enum TierYear {
    /// Accelerate State of DevOps 2021.
    Y2021,
    /// State of DevOps 2022 (three clusters: no elite).
    Y2022,
    /// State of DevOps 2023.
    Y2023,
    /// State of DevOps 2024 (the latest report with tiers).
    #[default]
    Y2024,
}

impl TryFrom<u16> for TierYear {
    type Error = String;
    fn try_from(year: u16) -> Result<Self, String> {
        match year {
            2021 => Ok(Self::Y2021),
            2022 => Ok(Self::Y2022),
            2023 => Ok(Self::Y2023),
            2024 => Ok(Self::Y2024),
            other => Err(format!(
                "tier_year {other} is not supported: use 2021, 2022, 2023 or 2024 (2025 dropped tiers)"
            )),
        }
    }
}

impl From<TierYear> for u16 {
    fn from(year: TierYear) -> u16 {
        match year {
            TierYear::Y2021 => 2021,
            TierYear::Y2022 => 2022,
            TierYear::Y2023 => 2023,
            TierYear::Y2024 => 2024,
        }
    }
}

/// How promotion pull requests are recognised. A promotion moves changes
/// that were already merged elsewhere — `develop → main`, `release/x → main`
/// in gitflow, or a back-merge out of the production branch — so it is not a
/// change of its own: it is left out of lead time (`promotion`), while the
/// pull requests merged into the development branch get their lead times
/// when their merge commits reach a production deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PromotionRules {
    /// Source branches whose merges into the production branch are promotions
    /// (case-insensitive exact names).
    pub branches: Vec<String>,
    /// Source-branch prefixes whose merges into the production branch are
    /// promotions (case-insensitive).
    pub prefixes: Vec<String>,
}

impl Default for PromotionRules {
    fn default() -> Self {
        Self {
            branches: vec!["develop".into(), "development".into()],
            prefixes: vec!["release/".into(), "release-".into()],
        }
    }
}

impl PromotionRules {
    /// Is `pr`, merged into a repository whose production branch is
    /// `production`, a promotion rather than a change? Merges into the
    /// production branch from a development or release branch, and merges
    /// out of the production branch (back-merges), are.
    pub fn is_promotion(&self, pr: &PullRequest, production: &str) -> bool {
        let (source, destination) = (pr.source_branch.as_str(), pr.destination_branch.as_str());
        if source.eq_ignore_ascii_case(production) {
            return !destination.eq_ignore_ascii_case(production);
        }
        if destination.eq_ignore_ascii_case(production) {
            return self.is_development(source) || self.is_release(source);
        }
        // A back-merge of a release branch into the development branch.
        self.is_release(source) && self.is_development(destination)
    }

    /// Is `branch` one of the development branches?
    pub fn is_development(&self, branch: &str) -> bool {
        self.branches.iter().any(|b| b.eq_ignore_ascii_case(branch))
    }

    /// Does `branch` start with a release prefix?
    pub fn is_release(&self, branch: &str) -> bool {
        self.prefixes
            .iter()
            .any(|p| !p.is_empty() && starts_with_ignore_ascii_case(branch, p))
    }
}

/// `branch` starts with `prefix`, ignoring ASCII case.
fn starts_with_ignore_ascii_case(branch: &str, prefix: &str) -> bool {
    branch.len() >= prefix.len()
        && branch.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Per-repository settings (`[repositories.<slug>]` in `dora.toml`). A value
/// set here replaces, for that repository, both the workspace-wide setting
/// and what the repository's branching model says; an unset value inherits
/// them.
///
/// ```toml
/// [repositories.payments-api]
/// production_branch = "master"
/// development_branch = "develop"
/// hotfix_prefixes = ["hotfix/"]
/// release_prefixes = ["release/"]
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RepositoryRules {
    /// The branch whose merges and commits matter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub production_branch: Option<String>,
    /// The development branch: its merges into the production branch are
    /// promotions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub development_branch: Option<String>,
    /// Hotfix source-branch prefixes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hotfix_prefixes: Option<Vec<String>>,
    /// Release source-branch prefixes: their merges into the production
    /// branch are promotions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_prefixes: Option<Vec<String>>,
}

/// The branch rules one repository is analysed with: the workspace-wide
/// knobs, the repository's branching model and its `[repositories.<slug>]`
/// overrides, resolved ([`Config::branch_rules`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchRules {
    /// The production branch when one is configured (per repository, else
    /// workspace-wide); `None`: the repository's main branch.
    pub production_branch: Option<String>,
    /// Which pull requests are hotfixes.
    pub hotfix: HotfixRules,
    /// Which pull requests are promotions.
    pub promotions: PromotionRules,
}

/// `list` plus `extra` when `extra` is set and not already in it (ASCII case
/// ignored).
fn with_extra(mut list: Vec<String>, extra: Option<&str>) -> Vec<String> {
    if let Some(x) = extra.filter(|x| !x.is_empty())
        && !list.iter().any(|v| v.eq_ignore_ascii_case(x))
    {
        list.push(x.to_string());
    }
    list
}

/// How hotfix pull requests are recognised and attributed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HotfixRules {
    /// Source-branch prefixes (case-insensitive).
    pub prefixes: Vec<String>,
    /// A hotfix merged within this many hours after a deployment fails it.
    pub window_hours: u32,
}

impl Default for HotfixRules {
    fn default() -> Self {
        Self {
            prefixes: vec!["hotfix/".into(), "hot-fix/".into(), "fix/".into()],
            window_hours: 24,
        }
    }
}

impl HotfixRules {
    /// Is `pr` a hotfix?
    pub fn is_hotfix(&self, pr: &PullRequest) -> bool {
        self.prefixes
            .iter()
            .any(|p| starts_with_ignore_ascii_case(&pr.source_branch, p))
    }
}

/// How bot pull requests are recognised (they are excluded from lead time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BotRules {
    /// Author names or ids containing any of these (case-insensitive) are bots.
    pub name_patterns: Vec<String>,
    /// Trust the source's account type (Bitbucket `app_user`).
    pub use_account_type: bool,
    /// PRs merged less than this many seconds after creation are automation.
    pub min_pr_seconds: Option<i64>,
}

impl Default for BotRules {
    fn default() -> Self {
        Self {
            name_patterns: vec![
                "renovate".into(),
                "dependabot".into(),
                "[bot]".into(),
                "snyk-bot".into(),
                "github-actions".into(),
            ],
            use_account_type: true,
            min_pr_seconds: None,
        }
    }
}

/// The full configuration of a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Window length in days (default 90).
    pub days: u32,
    /// Window end (exclusive); `None` means "now".
    pub until: Option<Timestamp>,
    /// Environment names counted as production besides those of kind production
    /// (case-insensitive exact names).
    pub production_environments: Vec<String>,
    /// Production branch for the merge fallback and revert detection; `None`
    /// uses each repository's main branch (else `main`/`master`).
    pub production_branch: Option<String>,
    /// Bot rules.
    pub bots: BotRules,
    /// Incident severities that count (default P1 and P2).
    pub severities: Vec<Severity>,
    /// Excuse a failed deployment when a successful re-run of the same commit to
    /// the same environment finishes within this many minutes (default: never).
    pub rerun_excuse_minutes: Option<u32>,
    /// Hotfix rules.
    pub hotfix: HotfixRules,
    /// Promotion rules (gitflow: `develop → main`, `release/* → main`).
    pub promotions: PromotionRules,
    /// An incident opening within this many hours after a deployment fails it.
    pub incident_window_hours: u32,
    /// Where lead time starts.
    pub lead_time_start: LeadTimeStart,
    /// Which report year's tiers to use.
    pub tier_year: TierYear,
    /// Industry to compare against in the DORA 2025 benchmarks (key such as
    /// `technology` or its name); default: all industries. Not with `org_size`.
    pub industry: Option<String>,
    /// Organisation size to compare against in the DORA 2025 benchmarks (key
    /// such as `fewer_than_100`). Not with `industry`.
    pub org_size: Option<String>,
    /// Per-repository overrides by slug (`[repositories.<slug>]`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub repositories: BTreeMap<String, RepositoryRules>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            days: 90,
            until: None,
            production_environments: Vec::new(),
            production_branch: None,
            bots: BotRules::default(),
            severities: vec![Severity::P1, Severity::P2],
            rerun_excuse_minutes: None,
            hotfix: HotfixRules::default(),
            promotions: PromotionRules::default(),
            incident_window_hours: 24,
            lead_time_start: LeadTimeStart::FirstCommit,
            tier_year: TierYear::default(),
            industry: None,
            org_size: None,
            repositories: BTreeMap::new(),
        }
    }
}

impl Config {
    /// Parse a TOML document; unknown keys are errors (typos must not pass silently).
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        let config: Config = toml::from_str(text).map_err(|e| Error::Config(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// The longest window, in days (ten years).
    pub const MAX_DAYS: u32 = 3660;

    /// Check a window length given from outside (a flag, a Python argument):
    /// 1 to [`Config::MAX_DAYS`] days. Every front end checks the window here.
    pub fn check_days(days: i64) -> Result<u32, Error> {
        match u32::try_from(days) {
            Ok(0) => Err(Error::Config("days must be at least 1".into())),
            Ok(d) if d > Self::MAX_DAYS => Err(Error::Config(format!(
                "days = {d} is more than ten years; pass a shorter window"
            ))),
            Ok(d) => Ok(d),
            Err(_) => Err(Error::Config(format!(
                "days must be between 1 and {}, got {days}",
                Self::MAX_DAYS
            ))),
        }
    }

    /// Check the values make sense.
    pub fn validate(&self) -> Result<(), Error> {
        Self::check_days(i64::from(self.days))?;
        self.benchmark_group()?;
        Ok(())
    }

    /// The DORA 2025 benchmark group `industry` / `org_size` select.
    pub fn benchmark_group(&self) -> Result<crate::benchmarks::BenchmarkGroup, Error> {
        crate::benchmarks::BenchmarkGroup::from_config(
            self.industry.as_deref(),
            self.org_size.as_deref(),
        )
    }

    /// The window `[until - days, until)` of a length given from outside,
    /// checked by [`Config::check_days`]; `now` stands in for a missing `until`.
    pub fn window_of(
        days: i64,
        until: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<crate::TimeRange, Error> {
        let days = Self::check_days(days)?;
        let end = until.unwrap_or(now);
        Ok(crate::TimeRange::new(
            end - Duration::days(i64::from(days)),
            end,
        ))
    }

    /// The window `[until - days, until)`, with `now` standing in for a missing `until`.
    pub fn window(&self, now: Timestamp) -> crate::TimeRange {
        let end = self.until.unwrap_or(now);
        crate::TimeRange::new(end - Duration::days(i64::from(self.days)), end)
    }

    /// The branch rules of repository `slug` (described by `repository` when
    /// the dataset declares it): its `[repositories.<slug>]` overrides win,
    /// then the workspace-wide knobs joined by what the repository's
    /// branching model says (its hotfix prefix, development branch and
    /// release prefix).
    pub fn branch_rules(&self, slug: &str, repository: Option<&Repository>) -> BranchRules {
        let own = self.repositories.get(slug);
        let model = |f: fn(&Repository) -> Option<&str>| repository.and_then(f);
        let production_branch = own
            .and_then(|o| o.production_branch.clone())
            .or_else(|| self.production_branch.clone());
        let hotfix = HotfixRules {
            prefixes: match own.and_then(|o| o.hotfix_prefixes.clone()) {
                Some(prefixes) => prefixes,
                None => with_extra(
                    self.hotfix.prefixes.clone(),
                    model(|r| r.hotfix_prefix.as_deref()),
                ),
            },
            window_hours: self.hotfix.window_hours,
        };
        let promotions = PromotionRules {
            branches: match own.and_then(|o| o.development_branch.clone()) {
                Some(branch) => vec![branch],
                None => with_extra(
                    self.promotions.branches.clone(),
                    model(|r| r.development_branch.as_deref()),
                ),
            },
            prefixes: match own.and_then(|o| o.release_prefixes.clone()) {
                Some(prefixes) => prefixes,
                None => with_extra(
                    self.promotions.prefixes.clone(),
                    model(|r| r.release_prefix.as_deref()),
                ),
            },
        };
        BranchRules {
            production_branch,
            hotfix,
            promotions,
        }
    }

    /// Is this a production deployment (by kind or configured name)?
    pub fn is_production(&self, deployment: &Deployment) -> bool {
        deployment.environment_kind == EnvironmentKind::Production
            || self
                .production_environments
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&deployment.environment))
    }

    /// Is this pull request's author a bot?
    pub fn is_bot(&self, pr: &PullRequest) -> bool {
        if self.bots.use_account_type && pr.author.kind == crate::model::ActorKind::Bot {
            return true;
        }
        let (name, id) = (&pr.author.display_name, &pr.author.id);
        if self.bots.name_patterns.iter().any(|p| {
            !p.is_empty()
                && (contains_ignore_ascii_case(name, p) || contains_ignore_ascii_case(id, p))
        }) {
            return true;
        }
        matches!((self.bots.min_pr_seconds, pr.merged_at),
            (Some(min), Some(merged)) if (merged - pr.created_at).num_seconds() < min)
    }

    /// Does this severity count?
    pub fn counts_severity(&self, severity: Option<Severity>) -> bool {
        severity.is_some_and(|s| self.severities.contains(&s))
    }
}

/// `haystack.to_ascii_lowercase().contains(&needle.to_ascii_lowercase())`, without allocating.
fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod window_tests {
    use super::Config;
    use chrono::{TimeZone, Utc};

    #[test]
    fn window_lengths_are_checked_in_one_place() {
        assert_eq!(Config::check_days(1).ok(), Some(1));
        assert_eq!(Config::check_days(3660).ok(), Some(3660));
        for (days, fragment) in [
            (0, "days must be at least 1"),
            (-1, "days must be between 1 and 3660, got -1"),
            (3661, "more than ten years"),
            (i64::MAX, "days must be between"),
        ] {
            let e = Config::check_days(days).map_err(|e| e.to_string());
            assert!(
                e.as_ref().is_err_and(|m| m.contains(fragment)),
                "{days}: {e:?}"
            );
        }
        let now = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).single();
        let until = Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).single();
        let (Some(now), Some(until)) = (now, until) else {
            panic!("valid dates")
        };
        let w = Config::window_of(30, Some(until), now).map_err(|e| e.to_string());
        assert_eq!(
            w.map(|w| (w.start, w.end)),
            Ok((until - chrono::Duration::days(30), until))
        );
        let w = Config::window_of(7, None, now).map_err(|e| e.to_string());
        assert_eq!(w.map(|w| w.end), Ok(now));
        assert!(Config::window_of(0, None, now).is_err());
    }
}
