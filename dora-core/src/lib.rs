//! # dora-core: the DORA metrics engine
//!
//! A pure crate (no network, no files, no async runtime) that turns normalised
//! delivery events into a complete DORA report: deployment frequency, lead time
//! for changes with its four phases, change failure rate with per-signal
//! evidence, recovery time (incident- and deployment-based), rework rate,
//! performance tiers by DORA report year, weekly trends and data-quality
//! diagnostics.
//!
//! Sources (Bitbucket, PagerDuty, your own) implement [`DeliverySource`] and
//! [`IncidentSource`] and produce a [`Dataset`]; [`compute`] does the rest.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use dora_core::{compute, Actor, Commit, Config, Dataset, Deployment, DeploymentStatus, PullRequest};
//!
//! let t = |d: u32, h: u32| Utc.with_ymd_and_hms(2026, 3, d, h, 0, 0).unwrap();
//! let mut data = Dataset::new();
//! data.commits = vec![
//!     Commit::new("api", "a1", vec![], t(1, 9), "initial"),
//!     Commit::new("api", "b2", vec!["a1".into()], t(2, 9), "add endpoint"),
//!     Commit::new("api", "m3", vec!["a1".into(), "b2".into()], t(3, 12), "Merged in feature/x (pull request #1)"),
//! ];
//! data.pull_requests = vec![PullRequest::merged(
//!     "api", 1, Actor::user("u1", "Jane"), "feature/x", "main", t(2, 12), t(3, 12), "m3",
//! )];
//! data.deployments = vec![
//!     Deployment::production("api", "d0", "a1", t(1, 10), DeploymentStatus::Succeeded),
//!     Deployment::production("api", "d1", "m3", t(3, 15), DeploymentStatus::Succeeded),
//! ];
//! let config = Config { days: 30, until: Some(t(20, 0)), ..Config::default() };
//! let report = compute(&data, &config);
//! assert_eq!(report.metrics.deployment_frequency.count, 2);
//! // b2 was committed on the 2nd at 09:00 and deployed on the 3rd at 15:00: 30 hours.
//! assert_eq!(report.metrics.lead_time.median_seconds, Some(30.0 * 3600.0));
//! ```

#![forbid(unsafe_code)]

mod accounting;
pub mod attribution;
pub mod benchmarks;
pub mod classify;
pub mod config;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod diagnostics;
mod engine;
mod error;
pub mod graph;
mod metrics;
pub mod model;
pub mod report;
pub mod source;
pub mod stats;
pub mod tiers;
pub mod time;

pub use config::{
    BotRules, BranchRules, Config, HotfixRules, LeadTimeStart, PromotionRules, RepositoryRules,
    TierYear,
};
pub use diagnostics::{Diagnostic, DiagnosticSeverity};
pub use engine::{compute, compute_at};
pub use error::Error;
pub use model::{
    Actor, ActorKind, ClockSkew, CollectionNotes, Commit, Coverage, Dataset, Deployment,
    DeploymentStatus, Duplicates, Environment, EnvironmentKind, EventKind, HistoryGap, Incident,
    IncidentStatus, PipelineRuns, PullRequest, PullRequestState, Repository, Severity,
    SkippedEvent, Timestamp,
};
pub use report::{Accounting, Ledger, Metrics, Report, Signal};
pub use source::{
    CollectRequest, DeliverySource, IncidentBatch, IncidentRequest, IncidentSource,
    IncrementalSource, MemorySource, Scope, ScopeList, SourceError, SourceExt, SyncDelta,
    TimeRange,
};
pub use tiers::Tier;
