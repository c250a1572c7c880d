//! DORA performance tiers by report year.
//!
//! DORA's clusters come from survey cluster analysis and have gaps and overlaps
//! (2021's change failure rate is 16–30 % for high, medium and low alike; 2024's
//! high cluster has a worse failure rate than medium). A classifier needs
//! contiguous bands, so each year's verbatim table is turned into ordered upper
//! bounds, documented per metric below. Deployment frequency "on demand
//! (multiple deploys per day)" is read as at least one deployment per day on average.
//!
//! `docs/tier-bands.md` in the repository tabulates every edge per year with
//! its derivation from the published figures (a test checks the page against
//! these functions).

use crate::config::TierYear;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A performance tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Low performers.
    Low,
    /// Medium performers.
    Medium,
    /// High performers.
    High,
    /// Elite performers (absent from the 2022 report).
    Elite,
}

impl Tier {
    /// 0 (low) .. 3 (elite).
    pub fn rank(self) -> u8 {
        match self {
            Self::Low => 0,
            Self::Medium => 1,
            Self::High => 2,
            Self::Elite => 3,
        }
    }

    fn from_rank(rank: u8) -> Self {
        match rank {
            0 => Self::Low,
            1 => Self::Medium,
            2 => Self::High,
            _ => Self::Elite,
        }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Elite => "elite",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const HOUR: f64 = 3600.0;
const DAY: f64 = 24.0 * HOUR;
const WEEK: f64 = 7.0 * DAY;
const MONTH: f64 = 30.0 * DAY;
const SIX_MONTHS: f64 = 182.0 * DAY;

/// Bands are (tier, inclusive-or-exclusive bound) checked best first.
fn first_match(value: f64, bands: &[(Tier, f64)], fallback: Tier) -> Tier {
    bands
        .iter()
        .find(|(_, bound)| value < *bound)
        .map(|(t, _)| *t)
        .unwrap_or(fallback)
}

/// Tier of a deployment frequency given as deployments per day.
///
/// - 2021: elite ≥ 1/day; high ≥ 1/month; medium ≥ 1 per 6 months; else low.
/// - 2022: high ≥ 1/week (the top cluster was on demand); medium ≥ 1/month; else low.
/// - 2023, 2024: elite ≥ 1/day; high ≥ 1/week; medium ≥ 1/month; else low.
pub fn deployment_frequency(year: TierYear, per_day: f64) -> Tier {
    let bands: &[(Tier, f64)] = match year {
        TierYear::Y2021 => &[
            (Tier::Elite, 1.0),
            (Tier::High, 1.0 / 30.0),
            (Tier::Medium, 1.0 / 182.0),
        ],
        TierYear::Y2022 => &[(Tier::High, 1.0 / 7.0), (Tier::Medium, 1.0 / 30.0)],
        TierYear::Y2023 | TierYear::Y2024 => &[
            (Tier::Elite, 1.0),
            (Tier::High, 1.0 / 7.0),
            (Tier::Medium, 1.0 / 30.0),
        ],
    };
    bands
        .iter()
        .find(|(_, min)| per_day >= *min)
        .map(|(t, _)| *t)
        .unwrap_or(Tier::Low)
}

/// Tier of a median lead time in seconds.
///
/// - 2021: elite < 1 h; high < 1 week; medium < 6 months; else low.
/// - 2022: high < 1 week; medium < 1 month; else low.
/// - 2023, 2024: elite < 1 day; high < 1 week; medium < 1 month; else low.
pub fn lead_time(year: TierYear, seconds: f64) -> Tier {
    let bands: &[(Tier, f64)] = match year {
        TierYear::Y2021 => &[
            (Tier::Elite, HOUR),
            (Tier::High, WEEK),
            (Tier::Medium, SIX_MONTHS),
        ],
        TierYear::Y2022 => &[(Tier::High, WEEK), (Tier::Medium, MONTH)],
        TierYear::Y2023 | TierYear::Y2024 => &[
            (Tier::Elite, DAY),
            (Tier::High, WEEK),
            (Tier::Medium, MONTH),
        ],
    };
    first_match(seconds, bands, Tier::Low)
}

/// Tier of a change failure rate in [0, 1].
///
/// - 2021: elite ≤ 15 %; high ≤ 20 %; medium ≤ 30 %; else low (the report gives
///   16–30 % to all three lower clusters; the split follows Apache DevLake).
/// - 2022: high ≤ 15 %; medium ≤ 30 %; else low.
/// - 2023: elite ≤ 5 %; high ≤ 10 %; medium ≤ 15 %; else low.
/// - 2024: elite ≤ 5 %; high ≤ 10 %; medium ≤ 20 %; else low (the report's high
///   and medium cluster centres, 20 % and 10 %, are ordered by value).
pub fn change_failure_rate(year: TierYear, rate: f64) -> Tier {
    let bands: &[(Tier, f64)] = match year {
        TierYear::Y2021 => &[
            (Tier::Elite, 0.15),
            (Tier::High, 0.20),
            (Tier::Medium, 0.30),
        ],
        TierYear::Y2022 => &[(Tier::High, 0.15), (Tier::Medium, 0.30)],
        TierYear::Y2023 => &[
            (Tier::Elite, 0.05),
            (Tier::High, 0.10),
            (Tier::Medium, 0.15),
        ],
        TierYear::Y2024 => &[
            (Tier::Elite, 0.05),
            (Tier::High, 0.10),
            (Tier::Medium, 0.20),
        ],
    };
    bands
        .iter()
        .find(|(_, max)| rate <= *max + 1e-12)
        .map(|(t, _)| *t)
        .unwrap_or(Tier::Low)
}

/// Tier of a median recovery time in seconds.
///
/// - 2021, 2023, 2024: elite < 1 h; high < 1 day; medium < 1 week; else low.
/// - 2022: high < 1 day; medium < 1 week; else low.
pub fn recovery_time(year: TierYear, seconds: f64) -> Tier {
    let bands: &[(Tier, f64)] = match year {
        TierYear::Y2022 => &[(Tier::High, DAY), (Tier::Medium, WEEK)],
        _ => &[(Tier::Elite, HOUR), (Tier::High, DAY), (Tier::Medium, WEEK)],
    };
    first_match(seconds, bands, Tier::Low)
}

/// Overall tier: the floor of the mean rank of the tiers present.
pub fn overall(tiers: &[Option<Tier>]) -> Option<Tier> {
    let present: Vec<u8> = tiers.iter().flatten().map(|t| t.rank()).collect();
    if present.is_empty() {
        return None;
    }
    let sum: u32 = present.iter().map(|&r| u32::from(r)).sum();
    Some(Tier::from_rank((sum / present.len() as u32) as u8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lead_time_bands_2024() {
        assert_eq!(lead_time(TierYear::Y2024, 3599.0), Tier::Elite);
        assert_eq!(lead_time(TierYear::Y2024, DAY), Tier::High);
        assert_eq!(lead_time(TierYear::Y2024, WEEK), Tier::Medium);
        assert_eq!(lead_time(TierYear::Y2024, MONTH), Tier::Low);
        assert_eq!(lead_time(TierYear::Y2022, 60.0), Tier::High);
    }

    #[test]
    fn frequency_bands() {
        assert_eq!(deployment_frequency(TierYear::Y2024, 2.0), Tier::Elite);
        assert_eq!(deployment_frequency(TierYear::Y2024, 1.0), Tier::Elite);
        assert_eq!(deployment_frequency(TierYear::Y2024, 0.5), Tier::High);
        assert_eq!(deployment_frequency(TierYear::Y2024, 0.1), Tier::Medium);
        assert_eq!(deployment_frequency(TierYear::Y2024, 0.01), Tier::Low);
        assert_eq!(deployment_frequency(TierYear::Y2021, 0.1), Tier::High);
        assert_eq!(deployment_frequency(TierYear::Y2022, 5.0), Tier::High);
    }

    #[test]
    fn failure_rate_bands() {
        assert_eq!(change_failure_rate(TierYear::Y2024, 0.0), Tier::Elite);
        assert_eq!(change_failure_rate(TierYear::Y2024, 0.05), Tier::Elite);
        assert_eq!(change_failure_rate(TierYear::Y2024, 0.1), Tier::High);
        assert_eq!(change_failure_rate(TierYear::Y2024, 0.2), Tier::Medium);
        assert_eq!(change_failure_rate(TierYear::Y2024, 0.21), Tier::Low);
        assert_eq!(change_failure_rate(TierYear::Y2021, 0.15), Tier::Elite);
    }

    #[test]
    fn recovery_bands_and_overall() {
        assert_eq!(recovery_time(TierYear::Y2024, 600.0), Tier::Elite);
        assert_eq!(recovery_time(TierYear::Y2024, 2.0 * DAY), Tier::Medium);
        assert_eq!(recovery_time(TierYear::Y2024, 8.0 * DAY), Tier::Low);
        assert_eq!(
            overall(&[Some(Tier::Elite), Some(Tier::Low), None]),
            Some(Tier::Medium)
        );
        assert_eq!(overall(&[None]), None);
    }
}
