//! The generator is deterministic, well-formed, and the one-pass answers equal
//! the naive per-PR oracle on small histories.

use dora_benches::answers::{self, RepoView, Scan};
use dora_benches::{Scale, generate};
use dora_core::{DeploymentStatus, PullRequestState};

#[test]
fn same_seed_same_dataset_other_seed_other_dataset() {
    let a = generate(&Scale::commits(3_000).repositories(2).seed(11));
    let b = generate(&Scale::commits(3_000).repositories(2).seed(11));
    let c = generate(&Scale::commits(3_000).repositories(2).seed(12));
    assert_eq!(a.dataset, b.dataset);
    assert_eq!(a.now, b.now);
    assert_eq!(a.dataset.to_json(), b.dataset.to_json());
    assert_ne!(a.dataset, c.dataset);
}

#[test]
fn generated_history_is_well_formed_and_has_every_ingredient() {
    let s = generate(&Scale::commits(20_000).repositories(3));
    let d = &s.dataset;
    assert_eq!(d.repository_slugs().len(), 3);
    let n = d.commits.len();
    assert!((18_000..=22_000).contains(&n), "{n} commits");
    assert!(d.commits.iter().all(|c| {
        c.sha.len() == 40
            && c.sha
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    }));
    let merged = d
        .pull_requests
        .iter()
        .filter(|p| p.state == PullRequestState::Merged)
        .count();
    assert!(merged > 1_500 && merged < d.pull_requests.len());
    assert!(d.pull_requests.iter().any(|p| p.first_review_at.is_some()));
    assert!(
        d.pull_requests.iter().any(|p| !p.commits.is_empty()),
        "squash merges"
    );
    assert!(
        d.pull_requests
            .iter()
            .any(|p| p.merge_commit.as_ref().is_some_and(|m| m.len() == 12))
    );
    assert!(
        d.commits.iter().any(|c| c.parents.len() == 2),
        "merge commits"
    );
    assert!(
        d.commits
            .iter()
            .any(|c| c.message.contains("This reverts commit"))
    );
    assert!(
        d.deployments
            .iter()
            .any(|x| x.status == DeploymentStatus::Failed)
    );
    assert!(d.deployments.iter().any(|x| x.environment == "Staging"));
    assert!(
        (300..=500).contains(&d.deployments.len()),
        "{} deployments",
        d.deployments.len()
    );
    assert!(
        (90..=110).contains(&d.incidents.len()),
        "{} incidents",
        d.incidents.len()
    );

    let report = dora_core::compute_at(d, &s.config(), s.now);
    let sig = report.metrics.change_failure_rate.by_signal;
    assert!(report.metrics.lead_time.count > 1_000);
    assert!(sig.failed_deployment > 0 && sig.revert > 0 && sig.hotfix > 0);
    assert!(sig.rollback > 0 && sig.incident > 0);
}

#[test]
fn one_pass_answers_equal_the_naive_per_pr_oracle() {
    for seed in 1..=4 {
        let s = generate(&Scale::commits(4_000).repositories(2).seed(seed));
        for slug in s.dataset.repository_slugs() {
            let view = RepoView::new(&s.dataset, &slug);
            let fast = answers::one_pass(&view);
            assert_eq!(
                fast,
                answers::naive(&view, Scan::All, 1),
                "seed {seed} {slug}"
            );
            assert_eq!(fast, answers::naive(&view, Scan::FromMerge, 1));
            assert!(fast.iter().filter(|a| a.divergence.is_some()).count() > fast.len() / 2);
            assert!(fast.iter().filter(|a| a.shipped_by.is_some()).count() > fast.len() / 2);
        }
    }
}
