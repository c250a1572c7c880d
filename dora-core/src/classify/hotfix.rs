//! Hotfixes: a hotfix pull request fails the latest successful deployment
//! strictly before its merge (within `hotfix.window_hours`); the deployment
//! that shipped the hotfix is rework.

use crate::attribution::Attribution;
use crate::config::HotfixRules;
use crate::model::Timestamp;
use crate::report::{DeploymentRow, FailureReason, Signal};
use chrono::Duration;

/// Attribute every hotfix among the merged pull requests.
pub(crate) fn mark_hotfixes(
    rules: &HotfixRules,
    attribution: &Attribution,
    rows: &mut [DeploymentRow],
) {
    let Attribution {
        attempts,
        merged,
        shipping,
    } = attribution;
    let hotfix_window = Duration::hours(i64::from(rules.window_hours));
    let success_times: Vec<Timestamp> = attempts
        .successful
        .iter()
        .map(|&i| attempts.list[i].time)
        .collect();
    for (pr, &merge_node) in merged.prs.iter().zip(&merged.nodes) {
        if !rules.is_hotfix(pr) {
            continue;
        }
        let Some(merged_at) = pr.merged_at else {
            continue;
        };
        let shipper = attempts.shipper(pr, merge_node, shipping);
        if let Some(s) = shipper {
            rows[s].rework = true;
        }
        let idx = success_times.partition_point(|&t| t < merged_at);
        if idx == 0 {
            continue;
        }
        let k = attempts.successful[idx - 1];
        if merged_at - attempts.list[k].time > hotfix_window {
            continue;
        }
        rows[k].failures.push(FailureReason {
            signal: Signal::Hotfix,
            evidence: format!("pull request #{}", pr.id),
            restored_at: shipper.map(|s| attempts.list[s].time),
        });
    }
}
