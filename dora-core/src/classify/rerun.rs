//! Failed deployments, and re-runs excused by policy: a failed attempt re-run
//! successfully on the same commit within `rerun_excuse_minutes` is not a failure.

use crate::TimeRange;
use crate::attribution::Attempts;
use crate::config::Config;
use crate::graph::sha_matches;
use crate::model::DeploymentStatus;
use crate::report::{DeploymentRow, FailureReason, Signal};
use chrono::Duration;
use std::collections::HashMap;

/// Mark failed attempts as failures (restored by the next success in the same
/// environment), or as excused re-runs; returns how many in-window failures
/// were excused.
pub(crate) fn mark_failed_deployments(
    config: &Config,
    window: TimeRange,
    attempts: &Attempts,
    rows: &mut [DeploymentRow],
) -> usize {
    let list = &attempts.list;
    let successful_in = successful_by_environment(attempts);
    let mut excused = 0usize;
    for i in 0..list.len() {
        if list[i].status != DeploymentStatus::Failed {
            continue;
        }
        // Successes in the same environment, sorted: the later ones start here.
        let same_env = successful_in
            .get(list[i].environment.as_str())
            .map_or(&[][..], Vec::as_slice);
        let later = &same_env[same_env.partition_point(|&j| j < i)..];
        if is_excused_rerun(config, attempts, i, later) {
            rows[i].excused_rerun = true;
            if window.contains(list[i].time) {
                excused += 1;
            }
            continue;
        }
        rows[i].failures.push(FailureReason {
            signal: Signal::FailedDeployment,
            evidence: list[i].id.clone(),
            restored_at: later.first().map(|&j| list[j].time),
        });
    }
    excused
}

/// The successful attempts of each environment, in time order.
fn successful_by_environment<'a>(attempts: &'a Attempts) -> HashMap<&'a str, Vec<usize>> {
    let mut successful_in: HashMap<&str, Vec<usize>> = HashMap::new();
    for &i in &attempts.successful {
        successful_in
            .entry(attempts.list[i].environment.as_str())
            .or_default()
            .push(i);
    }
    successful_in
}

/// Is failed attempt `i` re-run successfully (one of `later`) on the same
/// commit within the excuse window?
fn is_excused_rerun(config: &Config, attempts: &Attempts, i: usize, later: &[usize]) -> bool {
    let Some(limit) = config.rerun_excuse_minutes else {
        return false;
    };
    let list = &attempts.list;
    let limit = Duration::minutes(i64::from(limit));
    later
        .iter()
        .copied()
        .take_while(|&j| list[j].time - list[i].time <= limit)
        .any(|j| sha_matches(&list[j].commit, &list[i].commit))
}
