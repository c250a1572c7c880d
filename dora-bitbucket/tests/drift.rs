//! The store's promise: after every `sync`, a report from the store equals a
//! report from a fresh collection, whatever changed between syncs, while a
//! re-sync fetches only what changed.
//!
//! A local Bitbucket (three repositories) and a local PagerDuty serve a world
//! that a random sequence of changes edits between syncs: pull requests
//! shipped, planned (`UNDEPLOYED`) deployments that run later, edits to merged
//! pull requests, reverts and force-pushes, a pull request dated in the future
//! and corrected, repositories renamed and deleted, incidents raised in
//! priority after resolution and new ones, a window that starts earlier, and
//! branching models that change.
//! After each sync the store's report is compared with a fresh collection's,
//! and the sync's requests with the budget below.
//!
//! Budget (requests of one re-sync, the workspace listing included):
//! - no change: the listing, then at most one request per endpoint per
//!   repository (`deployments`, `pullrequests`, `pullrequests/activity`,
//!   `commits`, and the slow checks, run on every sync here: the
//!   `branching-model` and a second `commits` request for the branch head
//!   when no commit is new), plus one `deployment` re-check per planned
//!   deployment listed past the first page;
//! - one change: the no-change cost plus at most [`CHANGE_EXTRA`] requests;
//! - a force-push or a reset: plus a full collect of that repository;
//! - a window that starts earlier: a full collect of every repository.

mod common;
#[path = "common/live.rs"]
mod live;

use chrono::{DateTime, Duration, Utc};
use common::*;
use dora_bitbucket::Bitbucket;
use dora_core::{
    CollectRequest, Config, Dataset, IncidentRequest, IncidentSource, Report, Severity, TimeRange,
    compute_at,
};
use dora_incidents::conformance::{
    self, FaultPlan, HarnessOptions, PagerDutyWire, Scenario, ScenarioIncident, WireFormat,
};
use dora_store::{IncidentSyncOptions, Store, sync_delivery, sync_incidents_with};
use live::*;
use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use wiremock::MockServer;

/// Requests one change may add to a re-sync beyond the no-change cost (a new
/// pull request's activity and commits, a deployment re-check, environments).
const CHANGE_EXTRA: u64 = 8;

/// What changes between two syncs. Each applies to the repository (or
/// incident) its number picks among those present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Nothing,
    /// A pull request merged with a merge commit and deployed to production.
    Ship(u8),
    /// A production deployment planned (`UNDEPLOYED`) at the head.
    Plan(u8),
    /// The oldest still-planned deployment runs (keeping its uuid and place).
    RunPlanned(u8),
    /// A merged pull request's title edited (its `updated_on` moves).
    EditMerged(u8),
    /// A revert of the newest shipped change committed to the main branch.
    Revert(u8),
    /// The main branch's newest commit replaced by another (a force-push).
    ForcePush(u8),
    /// A pull request dated in 2099 (a server with a wrong clock).
    FutureDate(u8),
    /// Every pull request dated in the future dated now again.
    CorrectDates,
    Rename(u8),
    Delete(u8),
    /// A resolved incident's priority raised to P1.
    RaiseIncident(u8),
    NewIncident,
    /// Every open incident resolved (then only the re-read horizon brings
    /// back edits to old ones).
    ResolveIncidents,
    /// The sync and report window starts a week earlier.
    Widen,
    /// The repository's branching model toggled: a hotfix type with the
    /// `feature/` prefix (every shipped change becomes a hotfix) and back.
    Model(u8),
    /// The main branch reset to an older commit, nothing pushed on top.
    Reset(u8),
}

impl Change {
    fn kind(self) -> &'static str {
        match self {
            Change::Nothing => "nothing",
            Change::Ship(_) => "ship",
            Change::Plan(_) => "plan",
            Change::RunPlanned(_) => "run_planned",
            Change::EditMerged(_) => "edit_merged",
            Change::Revert(_) => "revert",
            Change::ForcePush(_) => "force_push",
            Change::FutureDate(_) => "future_date",
            Change::CorrectDates => "correct_dates",
            Change::Rename(_) => "rename",
            Change::Delete(_) => "delete",
            Change::RaiseIncident(_) => "raise_incident",
            Change::NewIncident => "new_incident",
            Change::ResolveIncidents => "resolve_incidents",
            Change::Widen => "widen",
            Change::Model(_) => "branching_model",
            Change::Reset(_) => "reset",
        }
    }
}

impl Arbitrary for Change {
    fn arbitrary(g: &mut Gen) -> Self {
        let n = u8::arbitrary(g);
        let all = [
            Change::Nothing,
            Change::Ship(n),
            Change::Ship(n),
            Change::Plan(n),
            Change::RunPlanned(n),
            Change::EditMerged(n),
            Change::Revert(n),
            Change::ForcePush(n),
            Change::FutureDate(n),
            Change::CorrectDates,
            Change::Rename(n),
            Change::Delete(n),
            Change::RaiseIncident(n),
            Change::NewIncident,
            Change::ResolveIncidents,
            Change::Widen,
            Change::Model(n),
            Change::Reset(n),
        ];
        *g.choose(&all).unwrap_or(&Change::Nothing)
    }
}

/// A sequence of one to eight changes (shrinks to shorter and simpler ones).
#[derive(Debug, Clone)]
struct Changes(Vec<Change>);

impl Arbitrary for Changes {
    fn arbitrary(g: &mut Gen) -> Self {
        let n = 1 + usize::from(u8::arbitrary(g)) % 8;
        Changes((0..n).map(|_| Change::arbitrary(g)).collect())
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        let all = self.0.clone();
        Box::new(
            (0..all.len())
                .map(move |i| {
                    let mut fewer = all.clone();
                    fewer.remove(i);
                    Changes(fewer)
                })
                .filter(|c| !c.0.is_empty()),
        )
    }
}

/// The world both collections read, and what the changes need to remember.
struct World {
    server: MockServer,
    live: Live,
    incidents: conformance::MockServer,
    pagerduty: Arc<dyn WireFormat>,
    options: HarnessOptions,
    /// The sync and report window.
    range: TimeRange,
    /// Numbers for new pull requests, deployments, incidents and commits.
    next: AtomicU32,
    /// Repositories deleted (their stored events leave reports).
    deleted: Vec<String>,
    /// Renames of the last change, `(old, new)` slugs.
    renamed: Vec<(String, String)>,
}

const REPOS: &[&str] = &["api", "app"];

impl World {
    async fn start() -> Self {
        let (server, live) = Live::start(REPOS, PageSizes::default()).await;
        let pagerduty: Arc<dyn WireFormat> = Arc::new(PagerDutyWire);
        let options = HarnessOptions::new();
        let incidents = conformance::MockServer::start(
            Arc::clone(&pagerduty),
            Scenario::standard(),
            options.clone(),
            conformance::SUITE_TOKEN,
            FaultPlan::none(),
        )
        .await
        .expect("incident server");
        Self {
            server,
            live,
            incidents,
            pagerduty,
            options,
            range: window(),
            next: AtomicU32::new(1),
            deleted: Vec::new(),
            renamed: Vec::new(),
        }
    }

    fn next(&self) -> u32 {
        self.next.fetch_add(1, Ordering::SeqCst)
    }

    /// The source (it reads the branching model on every sync: the default
    /// daily refresh would let a model change reach the store a day late).
    fn bitbucket(&self) -> Bitbucket {
        Bitbucket::builder("acme")
            .with_slow_check_interval(std::time::Duration::ZERO)
            .with_base_url(format!("{}/2.0", self.server.uri()))
            .with_basic_auth(EMAIL, TOKEN)
            .with_timeout(std::time::Duration::from_secs(5))
            .with_http(|http| http.with_sleeper(dora_http::InstantSleeper::new()))
            .build()
            .expect("source builds")
    }

    fn pagerduty(&self) -> Box<dyn IncidentSource> {
        self.pagerduty
            .source(
                self.incidents.base_url(),
                conformance::SUITE_TOKEN,
                &self.options,
            )
            .expect("incident source builds")
    }

    fn config(&self) -> Config {
        Config {
            days: u32::try_from((self.range.end - self.range.start).num_days()).unwrap_or(30),
            until: Some(self.range.end),
            ..Config::default()
        }
    }

    /// The slug `n` picks, if any repository is left.
    fn pick(&self, n: u8) -> Option<String> {
        let slugs = self.live.slugs();
        (!slugs.is_empty()).then(|| slugs[usize::from(n) % slugs.len()].clone())
    }

    /// A time inside the window, after every fixture event, for the `k`-th
    /// change.
    fn event_time(k: u32) -> DateTime<Utc> {
        at("2024-03-26T00:00:00Z") + Duration::minutes(i64::from(k) * 30)
    }

    fn apply(&mut self, change: Change) {
        self.renamed.clear();
        let k = self.next();
        let when = Self::event_time(k);
        let stamp = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string();
        // Edits happen now: a pull request's `updated_on` is the server's clock.
        let now = stamp(Utc::now() + Duration::milliseconds(i64::from(k)));
        match change {
            Change::Nothing => {}
            Change::Ship(n) => {
                let Some(slug) = self.pick(n) else { return };
                let id = 100 + u64::from(k);
                self.live.repo(&slug, |r| {
                    let head = head(r);
                    let branch = sha(0xB0, k);
                    let merge = sha(0x3E, k);
                    r.commits.insert(0, commit(&branch, &stamp(when - Duration::minutes(20)), &[&head], &format!("Change {id}\n")));
                    r.commits.insert(0, commit(&merge, &stamp(when), &[&head, &branch], &format!("Merged in feature/{id} (pull request #{id})\n")));
                    r.pull_requests.push(json!({
                        "type": "pullrequest", "id": id, "title": format!("Change {id}"), "state": "MERGED",
                        "author": account(JANE),
                        "source": {"branch": {"name": format!("feature/{id}")}},
                        "destination": {"branch": {"name": "main"}},
                        "merge_commit": {"type": "commit", "hash": &merge[..12], "date": stamp(when)},
                        "created_on": stamp(when - Duration::minutes(25)),
                        "updated_on": now,
                    }));
                    for entry in [
                        update(id, "OPEN", &stamp(when - Duration::minutes(25))),
                        approval(id, SAM, &stamp(when - Duration::minutes(10))),
                        update(id, "MERGED", &stamp(when)),
                    ] {
                        r.activity.insert(0, entry);
                    }
                    let deployed = completed(&stamp(when + Duration::minutes(5)), &stamp(when + Duration::minutes(9)));
                    r.deployments.insert(0, deployment(500 + k, PROD, &merge, deployed));
                });
            }
            Change::Plan(n) => {
                let Some(slug) = self.pick(n) else { return };
                self.live.repo(&slug, |r| {
                    let head = head(r);
                    let planned =
                        json!({"type": "deployment_state_undeployed", "name": "UNDEPLOYED"});
                    r.deployments
                        .insert(0, deployment(500 + k, PROD, &head, planned));
                });
            }
            Change::RunPlanned(n) => {
                let Some(slug) = self.pick(n) else { return };
                self.live.repo(&slug, |r| {
                    let planned = r
                        .deployments
                        .iter_mut()
                        .rev()
                        .find(|d| d["state"]["name"] == "UNDEPLOYED");
                    if let Some(d) = planned {
                        d["state"] = completed(&stamp(when), &stamp(when + Duration::minutes(4)));
                        d["last_update_time"] = json!(stamp(when + Duration::minutes(4)));
                    }
                });
            }
            Change::EditMerged(n) => {
                let Some(slug) = self.pick(n) else { return };
                self.live.repo(&slug, |r| {
                    let merged: Vec<usize> = (0..r.pull_requests.len())
                        .filter(|i| r.pull_requests[*i]["state"] == "MERGED")
                        .collect();
                    if let Some(i) = merged.get(usize::from(n) % merged.len().max(1)) {
                        let p = &mut r.pull_requests[*i];
                        p["title"] = json!(format!(
                            "{} (edited {k})",
                            p["title"].as_str().unwrap_or("")
                        ));
                        p["updated_on"] = json!(now);
                    }
                });
            }
            Change::Revert(n) => {
                let Some(slug) = self.pick(n) else { return };
                self.live.repo(&slug, |r| {
                    let head = head(r);
                    let reverted = r
                        .commits
                        .iter()
                        .find(|c| c["parents"].as_array().is_some_and(|p| p.len() == 2))
                        .and_then(|c| c["hash"].as_str())
                        .unwrap_or(&head)
                        .to_string();
                    let message =
                        format!("Revert \"a change\"\n\nThis reverts commit {reverted}.\n");
                    r.commits
                        .insert(0, commit(&sha(0x7E, k), &stamp(when), &[&head], &message));
                    let deployed = completed(
                        &stamp(when + Duration::minutes(5)),
                        &stamp(when + Duration::minutes(9)),
                    );
                    r.deployments
                        .insert(0, deployment(500 + k, PROD, &sha(0x7E, k), deployed));
                });
            }
            Change::ForcePush(n) => {
                let Some(slug) = self.pick(n) else { return };
                self.live.repo(&slug, |r| {
                    if r.commits.len() < 2 {
                        return;
                    }
                    let gone = r.commits.remove(0);
                    let parents: Vec<String> = gone["parents"]
                        .as_array()
                        .map(|p| {
                            p.iter()
                                .filter_map(|p| p["hash"].as_str().map(String::from))
                                .collect()
                        })
                        .unwrap_or_default();
                    let parents: Vec<&str> = parents.iter().map(String::as_str).collect();
                    r.commits.insert(
                        0,
                        commit(&sha(0xF0, k), &stamp(when), &parents, "Rewritten history\n"),
                    );
                });
            }
            Change::FutureDate(n) => {
                let Some(slug) = self.pick(n) else { return };
                self.live.repo(&slug, |r| {
                    let i = usize::from(n) % r.pull_requests.len().max(1);
                    if let Some(p) = r.pull_requests.get_mut(i) {
                        p["updated_on"] = json!("2099-01-01T00:00:00.000000+00:00");
                    }
                });
            }
            Change::CorrectDates => {
                for slug in self.live.slugs() {
                    self.live.repo(&slug, |r| {
                        for p in &mut r.pull_requests {
                            if p["updated_on"]
                                .as_str()
                                .is_some_and(|t| t.starts_with("2099"))
                            {
                                p["updated_on"] = json!(now);
                            }
                        }
                    });
                }
            }
            Change::Rename(n) => {
                if let Some(slug) = self.pick(n) {
                    let new = format!("{slug}-{k}");
                    self.live.rename(&slug, &new);
                    self.renamed
                        .push((format!("acme/{slug}"), format!("acme/{new}")));
                }
            }
            Change::Delete(n) => {
                if self.live.slugs().len() > 1
                    && let Some(slug) = self.pick(n)
                {
                    self.live.delete(&slug);
                    // (A repository renamed earlier leaves under its new name.)
                    self.deleted.push(slug);
                }
            }
            Change::RaiseIncident(n) => self.incidents.update_scenario(|s| {
                let resolved: Vec<usize> = (0..s.incidents.len())
                    .filter(|i| {
                        let inc = &s.incidents[*i];
                        inc.resolved_at.is_some() && inc.severity != Severity::P1
                    })
                    .collect();
                if let Some(i) = resolved.get(usize::from(n) % resolved.len().max(1)) {
                    s.incidents[*i].severity = Severity::P1;
                }
            }),
            Change::NewIncident => self.incidents.update_scenario(|s| {
                s.incidents.push(ScenarioIncident {
                    id: format!("inc-new-{k}"),
                    title: format!("New incident {k}"),
                    service: "checkout-web".into(),
                    severity: Severity::P1,
                    opened_at: when,
                    resolved_at: Some(when + Duration::minutes(45)),
                    acknowledged: true,
                });
            }),
            Change::ResolveIncidents => self.incidents.update_scenario(|s| {
                for i in &mut s.incidents {
                    if i.resolved_at.is_none() {
                        i.resolved_at = Some(i.opened_at + Duration::hours(3));
                    }
                }
            }),
            Change::Widen => {
                self.range = TimeRange::new(self.range.start - Duration::days(7), self.range.end);
            }
            Change::Reset(n) => {
                let Some(slug) = self.pick(n) else { return };
                self.live.repo(&slug, |r| {
                    if r.commits.len() > 8 {
                        let gone = r.commits.remove(0);
                        r.orphans.push(gone);
                    }
                });
            }
            Change::Model(n) => {
                let Some(slug) = self.pick(n) else { return };
                self.live.repo(&slug, |r| {
                    r.branching_model = match r.branching_model {
                        Some(_) => None,
                        None => Some(json!({
                            "type": "branching_model",
                            "development": {"name": "main", "use_mainbranch": true,
                                            "branch": {"type": "branch", "name": "main"}},
                            "branch_types": [{"kind": "hotfix", "prefix": "feature/"}]
                        })),
                    };
                });
            }
        }
    }
}

/// The newest commit of a repository's main branch.
fn head(r: &Repo) -> String {
    r.commits
        .first()
        .and_then(|c| c["hash"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// A 40-hex sha from a tag and a number.
fn sha(tag: u8, k: u32) -> String {
    format!("{tag:02x}{k:08x}{}", "0".repeat(30))
}

/// A sync of the store (delivery and incidents): its Bitbucket requests per
/// (repository, endpoint), the workspace listing under ("", "repositories").
async fn sync(world: &World, store: &mut Store) -> (u64, BTreeMap<(String, String), u64>) {
    let before = requests(&world.server).await.len();
    let summary = sync_delivery(store, &world.bitbucket(), world.range)
        .await
        .expect("delivery sync");
    let options = IncidentSyncOptions::default();
    sync_incidents_with(store, world.pagerduty().as_ref(), world.range, &options)
        .await
        .expect("incident sync");
    let log = requests(&world.server).await;
    let mut counts = BTreeMap::new();
    for r in &log[before..] {
        *counts.entry(endpoint_of(r)).or_insert(0) += 1;
    }
    let total: u64 = counts.values().sum();
    assert_eq!(summary.changes.renamed, world.renamed, "renames followed");
    assert_eq!(
        summary.requests, total,
        "the sync counts every request it made: {counts:?}"
    );
    (total, counts)
}

/// A fresh collection of the world, and its request count.
async fn fresh(world: &World) -> (Dataset, u64) {
    let (mut data, stats) = world
        .bitbucket()
        .collect_with_stats(&CollectRequest::new(world.range))
        .await
        .expect("fresh collect");
    let batch = world
        .pagerduty()
        .incidents_with_notes(&IncidentRequest::new(world.range))
        .await
        .expect("fresh incidents");
    batch.apply_to(&mut data);
    data.dedup();
    (data, stats.total_requests())
}

/// Codes only a store's report can carry (they describe the store).
const STORE_ONLY: &[&str] = &["store_span", "clock_skew", "repositories_departed"];

/// What only the store's report says is true: `clock_skew` while a pull
/// request is dated in the future, `repositories_departed` naming every
/// deleted repository, and `store_span` for a window reaching earlier than the
/// syncs did (not for theirs).
fn assert_store_notes(world: &World, stored: &Dataset, report: &Report, step: &str) {
    let has = |r: &Report, code: &str| r.diagnostics.iter().any(|d| d.code == code);
    let future = world.live.slugs().iter().any(|slug| {
        world.live.repo(slug, |r| {
            r.pull_requests.iter().any(|p| {
                p["updated_on"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("2099"))
            })
        })
    });
    assert_eq!(has(report, "clock_skew"), future, "{step}: clock_skew");
    let mut departed = stored.collection.departed.clone();
    departed.sort();
    let mut deleted = world.deleted.clone();
    deleted.sort();
    assert_eq!(departed, deleted, "{step}: departed repositories");
    assert_eq!(
        has(report, "repositories_departed"),
        !deleted.is_empty(),
        "{step}: repositories_departed"
    );
    assert!(
        !has(report, "store_span"),
        "{step}: the synced window is covered"
    );
    let mut earlier = world.config();
    earlier.days += 7;
    let wider = compute_at(stored, &earlier, world.range.end);
    assert!(
        has(&wider, "store_span"),
        "{step}: a wider window warns store_span"
    );
}

/// The store's report equals the fresh collection's. Volatile by nature: the
/// store may hold older production-branch history (a first sync's walk ends
/// at a page boundary past the cut-off) and incidents of earlier windows; and
/// it notes what only a store knows.
fn assert_same(world: &World, stored: &Dataset, fresh: &Dataset, step: &str) -> Report {
    let mut stored = stored.clone();
    stored
        .incidents
        .retain(|i| i.opened_at >= world.range.start && i.opened_at < world.range.end);
    let end = world.range.end;
    let mut from_store = compute_at(&stored, &world.config(), end);
    let from_fresh = compute_at(fresh, &world.config(), end);
    assert!(
        from_store.scope.commits >= from_fresh.scope.commits,
        "{step}: the store lost commits"
    );
    from_store.scope.commits = from_fresh.scope.commits;
    from_store.accounting.commits = from_fresh.accounting.commits.clone();
    assert_store_notes(world, &stored, &from_store, step);
    from_store
        .diagnostics
        .retain(|d| !STORE_ONLY.contains(&d.code.as_str()));
    let slugs = |d: &Dataset| {
        let mut s: Vec<String> = d.repositories.iter().map(|r| r.slug.clone()).collect();
        s.sort();
        s
    };
    assert_eq!(slugs(&stored), slugs(fresh), "{step}: repositories");
    assert_eq!(
        from_store.metrics.deployment_frequency, from_fresh.metrics.deployment_frequency,
        "{step}: deployment frequency"
    );
    assert_eq!(
        from_store.changes, from_fresh.changes,
        "{step}: lead-time rows"
    );
    assert_eq!(
        from_store.deployments, from_fresh.deployments,
        "{step}: deployment rows"
    );
    assert_eq!(
        from_store.incidents, from_fresh.incidents,
        "{step}: incident rows"
    );
    assert_eq!(
        from_store.accounting, from_fresh.accounting,
        "{step}: accounting"
    );
    assert_eq!(
        from_store.diagnostics, from_fresh.diagnostics,
        "{step}: diagnostics"
    );
    assert_eq!(from_store.metrics, from_fresh.metrics, "{step}: metrics");
    assert_eq!(from_store, from_fresh, "{step}: the whole report");
    from_store
}

/// Run `changes` against a fresh world: sync after each and compare; returns
/// the requests of each re-sync by change kind, and the fresh collections'.
async fn run(changes: &[Change]) -> Vec<(&'static str, u64, u64)> {
    let mut world = World::start().await;
    let mut store = Store::open_in_memory().expect("store");
    let (first, _) = sync(&world, &mut store).await;
    let (data, full) = fresh(&world).await;
    assert_same(&world, &store.load().expect("load"), &data, "first sync");
    assert!(
        first <= full,
        "a first sync costs what a fresh collection does: {first} > {full}"
    );
    let mut costs = vec![("first sync", first, full)];
    for (i, change) in changes.iter().enumerate() {
        world.apply(*change);
        let repos = world.live.slugs().len() as u64;
        let (cost, counts) = sync(&world, &mut store).await;
        let (data, full) = fresh(&world).await;
        let step = format!("step {i} ({change:?}) of {changes:?}");
        assert_same(&world, &store.load().expect("load"), &data, &step);
        // The budget.
        // The slow checks run on every sync here: the branching model, and
        // the branch head (a second `commits` request) when no commit is new.
        let per_endpoint_ok = counts.iter().all(|((_, endpoint), n)| {
            *n <= 1 || endpoint == "deployment" || (endpoint == "commits" && *n <= 2)
        });
        let no_change = 1 + 6 * repos;
        match change {
            Change::Nothing
            | Change::RaiseIncident(_)
            | Change::NewIncident
            | Change::ResolveIncidents => {
                assert!(
                    per_endpoint_ok,
                    "{step}: more than one request to an endpoint: {counts:?}"
                );
            }
            // The repository read again whole (each repository for a wider
            // window), with its main-branch lookup.
            Change::ForcePush(_) | Change::Reset(_) | Change::Widen => {
                assert!(
                    cost <= no_change + full + repos,
                    "{step}: {cost} requests: {counts:?}"
                );
            }
            _ => {
                assert!(
                    cost <= no_change + CHANGE_EXTRA + planned_rechecks(&counts),
                    "{step}: {cost} requests: {counts:?}"
                );
            }
        }
        costs.push((change.kind(), cost, full));
    }
    costs
}

/// Deployment re-checks of planned deployments (each costs one `deployment`).
fn planned_rechecks(counts: &BTreeMap<(String, String), u64>) -> u64 {
    counts
        .iter()
        .filter(|((_, e), _)| e == "deployment")
        .map(|(_, n)| *n)
        .sum()
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// Each change kind once, in an order where each matters; prints the request
/// counts of every sync beside a fresh collection's.
#[test]
fn every_kind_of_change_reaches_the_store() {
    let tour = [
        Change::Nothing,
        Change::Ship(0),
        Change::Model(0),
        Change::Plan(1),
        Change::Nothing,
        Change::RunPlanned(1),
        Change::EditMerged(2),
        Change::Revert(0),
        Change::Model(0),
        Change::ForcePush(0),
        Change::Reset(1),
        Change::FutureDate(1),
        Change::EditMerged(1),
        Change::CorrectDates,
        Change::ResolveIncidents,
        Change::RaiseIncident(0),
        Change::NewIncident,
        Change::Rename(2),
        Change::Delete(0),
        Change::Widen,
        Change::Nothing,
    ];
    let costs = block_on(run(&tour));
    println!("re-sync requests by change (fresh collection for comparison):");
    for (kind, cost, full) in costs {
        println!("  {kind:<16} {cost:>4}   (fresh {full})");
    }
}

/// The promise over random sequences of changes.
#[test]
fn the_store_equals_a_fresh_collection_after_any_changes() {
    fn property(changes: Changes) -> TestResult {
        block_on(run(&changes.0));
        TestResult::passed()
    }
    let cases = std::env::var("DORA_DRIFT_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    QuickCheck::new()
        .tests(cases)
        .max_tests(cases)
        .quickcheck(property as fn(Changes) -> TestResult);
}
