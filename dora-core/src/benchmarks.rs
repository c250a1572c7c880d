//! DORA 2025 benchmarks: where a team's metrics fall among the teams DORA
//! surveyed in 2025.
//!
//! The 2025 DORA report dropped the elite/high/medium/low tiers for per-metric
//! distributions. This module places each of the five metrics in the **DORA
//! Quick Check 2025** distributions (survey means and standard deviations of a
//! 0–10 score, per industry and per organisation size), bundled in
//! `data/dora-2025-benchmarks.json`. Source: the DORA team's `dora-team/dora.dev`
//! repository (Quick Check, 2025 edition), licensed CC-BY-4.0 / Apache-2.0 by the
//! DORA team — see [`SOURCE`].
//!
//! For lead time, failed deployment recovery time and deployment frequency the
//! measured value is first turned into the survey's answer bucket (1 worst … 6
//! best), then into a score `(bucket − 1) × 2`; change failure rate and rework
//! rate score `10 − percent / 10`. Against the group's published `mean`/`std`:
//! `z = (score − mean) / std` for the bucketed metrics and
//! `z = (score − (10 − mean)) / std` for the two percentages (whose published
//! mean is `percent / 10`), and `percentile = 100 · Φ(z)`, the share of surveyed
//! teams this team does better than.
//!
//! ```
//! use dora_core::benchmarks::{lead_time_bucket, BenchmarkGroup};
//! assert_eq!(lead_time_bucket(3.0 * 3600.0), 5); // three hours: "less than one day"
//! let group = BenchmarkGroup::industry("technology").unwrap();
//! assert_eq!(group.name(), "Technology");
//! ```

use crate::Error;
use crate::report::Metrics;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The bundled distributions (DORA Quick Check 2025).
const DATA: &str = include_str!("../data/dora-2025-benchmarks.json");

/// The edition of the bundled distributions.
pub const EDITION: u16 = 2025;

/// Where the distributions come from, and their licence (to attribute them).
pub const SOURCE: &str = "DORA Quick Check, 2025 edition (dora-team/dora.dev); data licensed CC-BY-4.0 / Apache-2.0 by the DORA team";

#[derive(Debug, Deserialize)]
struct Distribution {
    mean: f64,
    std: f64,
}

#[derive(Debug, Deserialize)]
struct Group {
    name: String,
    leadtime: Distribution,
    deployfreq: Distribution,
    changefailure: Distribution,
    failurerecovery: Distribution,
    rework: Distribution,
}

#[derive(Debug, Deserialize)]
struct Data {
    industry: BTreeMap<String, Group>,
    organization_size: BTreeMap<String, Group>,
}

fn data() -> Option<&'static Data> {
    static DATA_CELL: OnceLock<Option<Data>> = OnceLock::new();
    DATA_CELL
        .get_or_init(|| serde_json::from_str(DATA).ok())
        .as_ref()
}

/// Which survey population to compare against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenchmarkGroup {
    /// `industry` or `organization_size`.
    pub kind: String,
    /// The group's key, e.g. `all`, `technology`, `fewer_than_100`.
    pub key: String,
}

impl Default for BenchmarkGroup {
    fn default() -> Self {
        Self {
            kind: "industry".into(),
            key: "all".into(),
        }
    }
}

fn normalise(name: &str) -> String {
    name.trim()
        .to_ascii_lowercase()
        .replace(['-', ' ', '/', '&'], "_")
        .split('_')
        .filter(|s| !s.is_empty() && *s != "and")
        .collect::<Vec<_>>()
        .join("_")
}

fn find(kind: &str, groups: &BTreeMap<String, Group>, name: &str) -> Result<String, Error> {
    let wanted = normalise(name);
    groups
        .iter()
        .find(|(key, g)| normalise(key) == wanted || normalise(&g.name) == wanted)
        .map(|(key, _)| key.clone())
        .ok_or_else(|| {
            Error::Config(format!(
                "unknown {kind} {name:?} for the DORA 2025 benchmarks; one of: {}",
                groups.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })
}

impl BenchmarkGroup {
    /// An industry by key (`financial_services`) or name (`Financial services`),
    /// case-insensitively; `all` for every industry.
    pub fn industry(name: &str) -> Result<Self, Error> {
        let d = data().ok_or_else(|| Error::Config("benchmark data unreadable".into()))?;
        Ok(Self {
            kind: "industry".into(),
            key: find("industry", &d.industry, name)?,
        })
    }

    /// An organisation size by key (`fewer_than_100`), case-insensitively.
    pub fn org_size(name: &str) -> Result<Self, Error> {
        let d = data().ok_or_else(|| Error::Config("benchmark data unreadable".into()))?;
        Ok(Self {
            kind: "organization_size".into(),
            key: find("organisation size", &d.organization_size, name)?,
        })
    }

    /// The group from a config's `industry` / `org_size` (both set is an error).
    pub fn from_config(industry: Option<&str>, org_size: Option<&str>) -> Result<Self, Error> {
        match (industry, org_size) {
            (Some(_), Some(_)) => Err(Error::Config(
                "benchmarks compare against an industry or an organisation size, not both: set one of industry / org_size".into(),
            )),
            (Some(i), None) => Self::industry(i),
            (None, Some(s)) => Self::org_size(s),
            (None, None) => Ok(Self::default()),
        }
    }

    fn group(&self) -> Option<&'static Group> {
        let d = data()?;
        match self.kind.as_str() {
            "organization_size" => d.organization_size.get(&self.key),
            _ => d.industry.get(&self.key),
        }
    }

    /// The group's display name (`All industries`, `Technology`, …).
    pub fn name(&self) -> String {
        self.group().map(|g| g.name.clone()).unwrap_or_default()
    }

    /// Every key of a kind (`industry` or `organization_size`).
    pub fn keys(kind: &str) -> Vec<String> {
        data()
            .map(|d| match kind {
                "organization_size" => d.organization_size.keys().cloned().collect(),
                _ => d.industry.keys().cloned().collect(),
            })
            .unwrap_or_default()
    }
}

/// The distribution a report was placed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenchmarkReference {
    /// Survey edition (2025).
    pub edition: u16,
    /// `industry` or `organization_size`.
    pub group: String,
    /// The group's key (`all`, `technology`, `fewer_than_100`, …).
    pub key: String,
    /// The group's name (`All industries`, …).
    pub name: String,
    /// Source and licence of the distributions.
    pub source: String,
}

/// One metric against the distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MetricBenchmark {
    /// Survey answer bucket, 1 (worst) … 6 (best); only for lead time,
    /// deployment frequency and recovery time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<u8>,
    /// The 0–10 score (higher is better).
    pub score: f64,
    /// Standard score against the group.
    pub z: f64,
    /// Share of surveyed teams this team does better than, 0–100.
    pub percentile: f64,
}

/// `benchmarks` in the report: each metric (null without a value) and the reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Benchmarks {
    /// Lead time for changes (median).
    pub lead_time: Option<MetricBenchmark>,
    /// Deployment frequency (successful production deployments per day).
    pub deployment_frequency: Option<MetricBenchmark>,
    /// Change failure rate.
    pub change_failure_rate: Option<MetricBenchmark>,
    /// Failed deployment recovery time (deployment-based median when there are
    /// failed deployments, else incident-based).
    pub recovery_time: Option<MetricBenchmark>,
    /// Rework rate.
    pub rework_rate: Option<MetricBenchmark>,
    /// The distribution used.
    pub reference: BenchmarkReference,
}

const HOUR: f64 = 3600.0;
const DAY: f64 = 24.0 * HOUR;

/// The survey bucket of a duration (lead time, recovery time), in seconds:
/// 6 `< 1 hour`, 5 `< 1 day`, 4 `< 1 week`, 3 `< 30 days`, 2 `< 182 days`, else 1.
pub fn lead_time_bucket(seconds: f64) -> u8 {
    match seconds {
        s if s < HOUR => 6,
        s if s < DAY => 5,
        s if s < 7.0 * DAY => 4,
        s if s < 30.0 * DAY => 3,
        s if s < 182.0 * DAY => 2,
        _ => 1,
    }
}

/// The survey bucket of a deployment frequency in deployments per day:
/// 6 `≥ 2/day`, 5 `≥ 1/day`, 4 `≥ 1/week`, 3 `≥ 1/30 days`, 2 `≥ 1/182 days`, else 1.
pub fn deployment_frequency_bucket(per_day: f64) -> u8 {
    match per_day {
        f if f >= 2.0 => 6,
        f if f >= 1.0 => 5,
        f if f >= 1.0 / 7.0 => 4,
        f if f >= 1.0 / 30.0 => 3,
        f if f >= 1.0 / 182.0 => 2,
        _ => 1,
    }
}

/// The standard normal CDF Φ(z), to about 1e-7 (Abramowitz & Stegun 7.1.26 on erf).
pub fn normal_cdf(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    if z >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

fn bucketed(bucket: u8, d: &Distribution) -> MetricBenchmark {
    let score = f64::from(bucket.saturating_sub(1)) * 2.0;
    let z = if d.std > 0.0 {
        (score - d.mean) / d.std
    } else {
        0.0
    };
    MetricBenchmark {
        bucket: Some(bucket),
        score,
        z: round(z, 3),
        percentile: round(100.0 * normal_cdf(z), 1),
    }
}

fn percentage(rate: f64, d: &Distribution) -> MetricBenchmark {
    let score = 10.0 - rate * 100.0 / 10.0;
    let z = if d.std > 0.0 {
        (score - (10.0 - d.mean)) / d.std
    } else {
        0.0
    };
    MetricBenchmark {
        bucket: None,
        score: round(score, 3),
        z: round(z, 3),
        percentile: round(100.0 * normal_cdf(z), 1),
    }
}

/// Place `metrics` in `group`'s 2025 distributions.
pub fn benchmark(metrics: &Metrics, group: &BenchmarkGroup) -> Option<Benchmarks> {
    let g = group.group()?;
    let recovery = metrics.recovery_time.headline_seconds();
    let df = &metrics.deployment_frequency;
    Some(Benchmarks {
        lead_time: metrics
            .lead_time
            .median_seconds
            .map(|m| bucketed(lead_time_bucket(m), &g.leadtime)),
        deployment_frequency: (df.count > 0)
            .then(|| bucketed(deployment_frequency_bucket(df.per_day), &g.deployfreq)),
        change_failure_rate: metrics
            .change_failure_rate
            .rate
            .map(|r| percentage(r, &g.changefailure)),
        recovery_time: recovery.map(|m| bucketed(lead_time_bucket(m), &g.failurerecovery)),
        rework_rate: metrics.rework_rate.rate.map(|r| percentage(r, &g.rework)),
        reference: BenchmarkReference {
            edition: EDITION,
            group: group.kind.clone(),
            key: group.key.clone(),
            name: g.name.clone(),
            source: SOURCE.to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_at_their_edges() {
        assert_eq!(lead_time_bucket(HOUR - 1.0), 6);
        assert_eq!(lead_time_bucket(HOUR), 5);
        assert_eq!(lead_time_bucket(DAY), 4);
        assert_eq!(lead_time_bucket(7.0 * DAY), 3);
        assert_eq!(lead_time_bucket(30.0 * DAY), 2);
        assert_eq!(lead_time_bucket(182.0 * DAY), 1);
        assert_eq!(deployment_frequency_bucket(2.0), 6);
        assert_eq!(deployment_frequency_bucket(1.999), 5);
        assert_eq!(deployment_frequency_bucket(1.0 / 7.0), 4);
        assert_eq!(deployment_frequency_bucket(0.1), 3);
        assert_eq!(deployment_frequency_bucket(1.0 / 30.0), 3);
        assert_eq!(deployment_frequency_bucket(0.01), 2);
        assert_eq!(deployment_frequency_bucket(0.0), 1);
    }

    #[test]
    fn normal_cdf_known_values() {
        for (z, p) in [
            (0.0, 0.5),
            (1.0, 0.841_344_7),
            (-1.96, 0.024_997_9),
            (2.5, 0.993_790_3),
        ] {
            assert!((normal_cdf(z) - p).abs() < 1e-6, "{z}: {}", normal_cdf(z));
        }
    }

    #[test]
    fn the_data_parses_and_groups_are_found_by_key_or_name() {
        assert!(data().is_some());
        assert_eq!(
            BenchmarkGroup::industry("all")
                .map(|g| g.name())
                .ok()
                .as_deref(),
            Some("All industries")
        );
        let by_name = BenchmarkGroup::industry("Financial Services").ok();
        assert_eq!(
            by_name.map(|g| g.key).as_deref(),
            Some("financial_services")
        );
        assert!(BenchmarkGroup::org_size("fewer-than-100").is_ok());
        let e = BenchmarkGroup::industry("fintech")
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(e.is_err_and(|m| m.contains("fintech") && m.contains("technology")));
        assert!(BenchmarkGroup::from_config(Some("all"), Some("solo")).is_err());
        assert_eq!(BenchmarkGroup::keys("organization_size").len(), 9);
    }
}
