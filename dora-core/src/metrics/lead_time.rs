//! Lead time for changes: from a pull request's start (first commit or
//! creation) to the deployment that shipped it, in four phases — coding,
//! pickup, review and deploy.

use super::weekly::Weeks;
use crate::attribution::attempts::Attempt;
use crate::config::{Config, LeadTimeStart, TierYear};
use crate::model::{PullRequest, Timestamp};
use crate::report::{ChangeRow, LeadTime, LeadTimeExclusions, Phases};
use crate::stats::{duration_stats, median};
use crate::tiers;
use crate::time::seconds;
use chrono::Duration;

/// Lead time over the change rows.
pub(crate) fn measure(
    year: TierYear,
    weeks: &Weeks,
    changes: &[&ChangeRow],
    excluded: LeadTimeExclusions,
) -> LeadTime {
    let mut totals: Vec<f64> = changes.iter().map(|c| c.lead_time_seconds).collect();
    let total = duration_stats(&mut totals);
    let phase = |f: fn(&ChangeRow) -> f64| {
        duration_stats(&mut changes.iter().map(|c| f(c)).collect::<Vec<_>>())
    };
    LeadTime {
        count: total.count,
        median_seconds: total.median_seconds,
        p90_seconds: total.p90_seconds,
        mean_seconds: total.mean_seconds,
        tier: total.median_seconds.map(|m| tiers::lead_time(year, m)),
        phases: Phases {
            coding: phase(|c| c.coding_seconds),
            pickup: phase(|c| c.pickup_seconds),
            review: phase(|c| c.review_seconds),
            deploy: phase(|c| c.deploy_seconds),
        },
        unreviewed: changes
            .iter()
            .filter(|c| c.first_review_at.is_none())
            .count(),
        excluded,
        weekly: weeks.series(
            changes.iter().map(|c| (c.deployed_at, c.lead_time_seconds)),
            |b| median(b),
        ),
    }
}

/// The lead-time row of a pull request shipped by `deployment`.
pub(crate) fn change_row(
    config: &Config,
    hotfix: bool,
    pr: &PullRequest,
    merged_at: Timestamp,
    first_commit: Option<Timestamp>,
    deployment: &Attempt,
) -> ChangeRow {
    // Clamp so that phases are never negative and always add up to the total.
    let deployed = deployment.time;
    let merged = merged_at.min(deployed);
    let created = pr.created_at.min(merged);
    let start = match config.lead_time_start {
        LeadTimeStart::FirstCommit => first_commit.unwrap_or(created).min(created),
        LeadTimeStart::PrCreated => created,
    };
    let review = pr
        .first_review_at
        .filter(|&r| r <= merged)
        .map(|r| r.max(created));
    let (pickup, review_span) = match review {
        Some(r) => (r - created, merged - r),
        None => (merged - created, Duration::zero()),
    };
    ChangeRow {
        repository: pr.repository.clone(),
        pull_request: pr.id,
        title: pr.title.clone(),
        author: pr.author.display_name.clone(),
        first_commit_at: start,
        created_at: pr.created_at,
        first_review_at: review,
        merged_at,
        deployed_at: deployed,
        deployment: deployment.id.clone(),
        lead_time_seconds: seconds(deployed - start),
        coding_seconds: seconds(created - start),
        pickup_seconds: seconds(pickup),
        review_seconds: seconds(review_span),
        deploy_seconds: seconds(deployed - merged),
        hotfix,
        url: pr.url.clone(),
    }
}

/// The sum of two repositories' exclusions.
pub(crate) fn add_exclusions(a: LeadTimeExclusions, b: LeadTimeExclusions) -> LeadTimeExclusions {
    LeadTimeExclusions {
        bots: a.bots + b.bots,
        not_deployed: a.not_deployed + b.not_deployed,
        baseline: a.baseline + b.baseline,
        merge_commit_unknown: a.merge_commit_unknown + b.merge_commit_unknown,
        history_truncated: a.history_truncated + b.history_truncated,
        promotion: a.promotion + b.promotion,
    }
}
