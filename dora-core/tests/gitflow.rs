//! Gitflow: feature pull requests merge into `develop`, `develop` (or a
//! `release/*` branch) is promoted into `main`, and a production deployment
//! ships `main`. Each change is counted once, with its own lead time; the
//! promotions are left out of lead time as `promotion`.

use chrono::{Duration, TimeZone, Utc};
use dora_core::{
    Actor, Commit, Config, Dataset, Deployment, DeploymentStatus, PullRequest, Repository,
    Timestamp, compute_at,
};

fn t(h: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap() + Duration::hours(h)
}

/// `main`: m0 ─ P1 (develop promoted) ─ H (hotfix) ─ P2 (release/1.1 promoted).
/// `develop`: m0 ─ F1 (feature a) ─ F2 (feature b) ─ F3 (feature c).
/// Deployments ship P1 (after features a, b), H, and P2 (feature c).
fn gitflow() -> Dataset {
    let mut d = Dataset::new();
    d.repositories.push(Repository::new("web", "main"));
    let c = |sha: &str, parents: &[&str], at: Timestamp, msg: &str| {
        Commit::new(
            "web",
            sha,
            parents.iter().map(|p| p.to_string()).collect(),
            at,
            msg,
        )
    };
    d.commits.extend([
        c("m0", &[], t(0), "initial"),
        c("a1", &["m0"], t(1), "feature a"),
        c("F1", &["m0", "a1"], t(3), "Merged feature/a into develop"),
        c("b1", &["m0"], t(2), "feature b"),
        c("F2", &["F1", "b1"], t(5), "Merged feature/b into develop"),
        c("P1", &["m0", "F2"], t(8), "Merged develop into main"),
        c("h1", &["P1"], t(9), "fix the header"),
        c("H", &["P1", "h1"], t(10), "Merged hotfix/header into main"),
        c("c1", &["F2"], t(11), "feature c"),
        c("F3", &["F2", "c1"], t(13), "Merged feature/c into develop"),
        c("r1", &["F3"], t(14), "bump version"),
        c("P2", &["H", "r1"], t(16), "Merged release/1.1 into main"),
    ]);
    let jane = Actor::user("u1", "Jane");
    let pr = |id: u64, from: &str, to: &str, created: i64, merged: i64, merge: &str| {
        PullRequest::merged(
            "web",
            id,
            jane.clone(),
            from,
            to,
            t(created),
            t(merged),
            merge,
        )
    };
    d.pull_requests.extend([
        pr(1, "feature/a", "develop", 2, 3, "F1"),
        pr(2, "feature/b", "develop", 4, 5, "F2"),
        pr(3, "develop", "main", 7, 8, "P1"),
        pr(4, "hotfix/header", "main", 9, 10, "H"),
        pr(5, "feature/c", "develop", 12, 13, "F3"),
        pr(6, "release/1.1", "main", 15, 16, "P2"),
        // A back-merge of main into develop: not a change either.
        pr(7, "main", "develop", 17, 17, "F3"),
    ]);
    let dep = |id: &str, sha: &str, at: i64| {
        Deployment::production("web", id, sha, t(at), DeploymentStatus::Succeeded)
    };
    // A baseline deployment before the window's changes, then three.
    d.deployments.extend([
        dep("d0", "m0", 0),
        dep("d1", "P1", 9),
        dep("d2", "H", 11),
        dep("d3", "P2", 18),
    ]);
    d
}

#[test]
fn each_change_counts_once_and_promotions_are_left_out() {
    let config = Config {
        days: 30,
        until: Some(t(24 * 20)),
        ..Config::default()
    };
    let report = compute_at(&gitflow(), &config, t(24 * 20));
    let mut ids: Vec<u64> = report.changes.iter().map(|c| c.pull_request).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [1, 2, 4, 5],
        "the features and the hotfix, not the promotions"
    );
    assert_eq!(report.metrics.lead_time.excluded.promotion, 3);
    assert_eq!(
        report.accounting.pull_requests.excluded.get("promotion"),
        Some(&3)
    );
    assert!(report.accounting.pull_requests.balances());
    // Feature a: first commit at 1 h, shipped by d1 at 9 h.
    let a = report.changes.iter().find(|c| c.pull_request == 1).unwrap();
    assert_eq!((a.first_commit_at, a.deployed_at), (t(1), t(9)));
    assert_eq!(a.deployment, "d1");
    // Feature c: shipped by the release promotion's deployment.
    let c = report.changes.iter().find(|c| c.pull_request == 5).unwrap();
    assert_eq!((c.first_commit_at, c.deployed_at), (t(11), t(18)));
    // Deployments count the changes they shipped, promotions aside.
    let changes = |id: &str| {
        report
            .deployments
            .iter()
            .find(|d| d.id == id)
            .map(|d| d.changes)
    };
    assert_eq!(
        (changes("d1"), changes("d2"), changes("d3")),
        (Some(2), Some(1), Some(1))
    );
}

#[test]
fn promotion_rules_are_configurable() {
    let mut config = Config {
        days: 30,
        until: Some(t(24 * 20)),
        ..Config::default()
    };
    config.promotions.branches = vec!["integration".into()];
    config.promotions.prefixes = Vec::new();
    let report = compute_at(&gitflow(), &config, t(24 * 20));
    // `release/1.1` is a change again under these rules; the back-merge out
    // of `main` is always a promotion, and so is `develop → main`: feature
    // pull requests were merged into `develop` before it (an integration
    // branch whatever its name).
    assert_eq!(report.metrics.lead_time.excluded.promotion, 2);
    let mut ids: Vec<u64> = report.changes.iter().map(|c| c.pull_request).collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2, 4, 5, 6]);
    let toml = Config::from_toml("[promotions]\nbranches = [\"integration\"]\nprefixes = []\n")
        .expect("dora.toml");
    assert_eq!(toml.promotions, config.promotions);
}

/// The same history with Bitbucket-style custom names: the development
/// branch is `trunk`, releases are `rel-*`, hotfixes `urgent/*` — names no
/// default knows, declared by the repository's branching model.
fn custom_names() -> Dataset {
    let mut d = gitflow();
    let rename = |b: &mut String| {
        *b = match b.as_str() {
            "develop" => "trunk".into(),
            "release/1.1" => "rel-1.1".into(),
            "hotfix/header" => "urgent/header".into(),
            other => other.into(),
        }
    };
    for pr in &mut d.pull_requests {
        rename(&mut pr.source_branch);
        rename(&mut pr.destination_branch);
    }
    // No pull request is merged into `trunk` in this variant: the branching
    // model alone must say it is the development branch.
    d.pull_requests
        .retain(|pr| pr.destination_branch != "trunk");
    d
}

fn window() -> Config {
    Config {
        days: 30,
        until: Some(t(24 * 20)),
        ..Config::default()
    }
}

#[test]
fn the_branching_model_names_the_development_release_and_hotfix_branches() {
    // Without the model: `trunk → main` and `rel-1.1 → main` are changes, the
    // hotfix is not one.
    let plain = compute_at(&custom_names(), &window(), t(24 * 20));
    let used = |r: &dora_core::Report| {
        let mut ids: Vec<u64> = r.changes.iter().map(|c| c.pull_request).collect();
        ids.sort_unstable();
        ids
    };
    assert_eq!(used(&plain), [3, 4, 6]);
    assert!(plain.changes.iter().all(|c| !c.hotfix));

    let mut d = custom_names();
    d.repositories[0].development_branch = Some("trunk".into());
    d.repositories[0].release_prefix = Some("rel-".into());
    d.repositories[0].hotfix_prefix = Some("urgent/".into());
    let modelled = compute_at(&d, &window(), t(24 * 20));
    assert_eq!(used(&modelled), [4], "only the hotfix is a change");
    assert_eq!(
        modelled.metrics.lead_time.excluded.promotion, 2,
        "#3 and #6"
    );
    let hotfix = &modelled.changes[0];
    assert!(
        hotfix.hotfix,
        "urgent/header is a hotfix by the model's prefix"
    );
    // The hotfix, merged 1 h after d1, fails it.
    let d1 = modelled.deployments.iter().find(|x| x.id == "d1").unwrap();
    assert!(
        d1.failures.iter().any(|f| f.evidence == "pull request #4"),
        "{:?}",
        d1.failures
    );
    assert!(modelled.accounting.pull_requests.balances());
}

#[test]
fn per_repository_settings_win_over_the_branching_model() {
    let mut d = custom_names();
    d.repositories[0].development_branch = Some("trunk".into());
    d.repositories[0].release_prefix = Some("rel-".into());
    d.repositories[0].hotfix_prefix = Some("urgent/".into());
    let config = Config::from_toml(
        "days = 30\nuntil = \"2026-03-22T00:00:00Z\"\n\n[repositories.web]\nhotfix_prefixes = []\nrelease_prefixes = []\n",
    )
    .expect("dora.toml");
    let report = compute_at(&d, &config, t(24 * 20));
    let mut ids: Vec<u64> = report.changes.iter().map(|c| c.pull_request).collect();
    ids.sort_unstable();
    // `rel-1.1` is a change again and nothing is a hotfix; `trunk` stays the
    // development branch (the model's, not overridden).
    assert_eq!(ids, [4, 6]);
    assert!(report.changes.iter().all(|c| !c.hotfix));
    // Another repository's settings do not apply here.
    let other = Config::from_toml(
        "days = 30\nuntil = \"2026-03-22T00:00:00Z\"\n[repositories.api]\nhotfix_prefixes = []\n",
    )
    .expect("dora.toml");
    let report = compute_at(&d, &other, t(24 * 20));
    assert!(report.changes.iter().any(|c| c.hotfix));
    // A typo in a per-repository key is an error, not ignored.
    let typo = Config::from_toml("[repositories.web]\nhotfix_prefix = [\"x/\"]\n");
    assert!(typo.is_err());
}

#[test]
fn a_per_repository_production_branch_moves_the_merge_fallback() {
    // No deployments: merges into the production branch stand in for them.
    let mut d = gitflow();
    d.deployments.clear();
    let config = window();
    let main = compute_at(&d, &config, t(24 * 20));
    let on_main = main.deployments.len();
    assert_eq!(on_main, 3, "P1, H and P2 merged into main");
    let mut config = window();
    config.repositories.insert(
        "web".into(),
        dora_core::RepositoryRules {
            production_branch: Some("develop".into()),
            ..Default::default()
        },
    );
    let develop = compute_at(&d, &config, t(24 * 20));
    let envs: Vec<&str> = develop
        .deployments
        .iter()
        .map(|x| x.environment.as_str())
        .collect();
    assert_eq!(envs, ["develop"; 4], "PRs 1, 2, 5 and the back-merge 7");
}

#[test]
fn a_release_back_merged_into_develop_is_a_promotion() {
    let mut d = gitflow();
    let jane = Actor::user("u1", "Jane");
    d.commits.push(Commit::new(
        "web",
        "B1",
        vec!["F3".into(), "r1".into()],
        t(17),
        "Merged release/1.1 into develop",
    ));
    d.pull_requests.push(PullRequest::merged(
        "web",
        8,
        jane,
        "release/1.1",
        "develop",
        t(16),
        t(17),
        "B1",
    ));
    let report = compute_at(&d, &window(), t(24 * 20));
    let fate = report
        .accounting
        .pull_requests
        .excluded
        .get("promotion")
        .copied();
    assert_eq!(fate, Some(4), "#3, #6, #7 and the back-merge #8");
    assert!(report.changes.iter().all(|c| c.pull_request != 8));
}
