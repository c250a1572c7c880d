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
//! ```

use crate::Error;
use crate::model::{Deployment, EnvironmentKind, PullRequest, Severity, Timestamp};
use chrono::Duration;
use serde::{Deserialize, Serialize};

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
        let source = pr.source_branch.as_str();
        if source.eq_ignore_ascii_case(production) {
            return !pr.destination_branch.eq_ignore_ascii_case(production);
        }
        if !pr.destination_branch.eq_ignore_ascii_case(production) {
            return false;
        }
        self.branches.iter().any(|b| b.eq_ignore_ascii_case(source))
            || self.prefixes.iter().any(|p| {
                !p.is_empty()
                    && source.len() >= p.len()
                    && source.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
            })
    }
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
        let branch = pr.source_branch.as_bytes();
        self.prefixes.iter().any(|p| {
            branch.len() >= p.len() && branch[..p.len()].eq_ignore_ascii_case(p.as_bytes())
        })
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
