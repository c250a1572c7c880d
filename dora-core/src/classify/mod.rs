//! Classifiers: the failure signals of a deployment, and the rework it was.
//!
//! One module per signal of the change failure rate:
//! `revert` (a later commit reverts what a deployment shipped),
//! `hotfix` (a hotfix pull request merged soon after a deployment),
//! `rollback` (the next deployment to the same environment runs an older commit),
//! `rerun` (a failed deployment, unless re-run successfully within the excuse window)
//! and `incident` (an incident opened soon after a deployment).
//!
//! Hotfix and bot rules live on [`crate::Config`] ([`crate::HotfixRules::is_hotfix`],
//! [`crate::Config::is_bot`]) because they are configuration; the modules here
//! hold the message parsing, the rollback test and how each signal is attributed.

pub(crate) mod hotfix;
pub(crate) mod incident;
pub(crate) mod rerun;
pub(crate) mod revert;
pub(crate) mod rollback;

pub use revert::{RevertInfo, parse_revert};
pub use rollback::is_rollback;
