//! Incremental sync: [`dora_core::IncrementalSource`] for [`Bitbucket`].
//!
//! One scope per repository, named `workspace/slug`, each with a JSON cursor.
//!
//! - **First sync** (no cursor, an unreadable or older-version cursor, or a
//!   window that starts before the one the cursor was built for): the full
//!   collect of that one repository ([`Bitbucket::collect_with_stats`]'s code
//!   path), so the window and the history attribution needs are backfilled.
//! - **Later syncs** fetch only what changed, concurrently:
//!   - `deployments`: newest first, until a page holds a deployment the cursor
//!     knows as finished. Deployments in progress at the last sync are
//!     re-checked: found on those pages, else `GET …/deployments/{uuid}`.
//!   - `pullrequests`: BBQL `updated_on >=` the newest `updated_on` seen, minus
//!     a ten-minute overlap; pull requests seen with the same `updated_on`
//!     are dropped.
//!   - `pullrequests/activity`: the repository-wide stream, back to the newest
//!     entry seen last time (minus the overlap). It gives the merge time and the
//!     new reviews of changed pull requests; reviews from earlier syncs of
//!     still-open pull requests are kept in the cursor. Only a changed pull
//!     request whose earlier activity is unknown costs a
//!     `pullrequests/{id}/activity` call.
//!   - `commits/{main}?exclude=<last head>`: the new production-branch commits
//!     (the walk also stops at the last head, should a server ignore
//!     `exclude`). A newly merged squash or fast-forward pull request costs a
//!     `pullrequests/{id}/commits` call, as in the full collect.
//!   - Environments are cached in the cursor and fetched again only when a
//!     deployment names an unknown one.
//!
//! A sync with no changes costs one request each to `deployments`,
//! `pullrequests`, `pullrequests/activity` and `commits`.
//!
//! Assumptions: the deployment listing is newest first (as observed); merges
//! and comments move a pull request's `updated_on`.

use crate::SyncStats;
use crate::convert::{self, PrActivity, Skip, reason};
use crate::error::{SOURCE, convert as convert_error};
use crate::source::{
    Bitbucket, BranchWalk, ModelRead, ModelRules, Reach, RepoMeta, endpoint, pr_activity,
    sha_matches, task_error, truncation_note,
};
use crate::walk::Frontier;
use crate::wire::{self, fields};
use async_trait::async_trait;
use chrono::Duration;
use dora_core::{
    CollectionNotes, Dataset, DeploymentStatus, Environment, EnvironmentKind, EventKind,
    IncrementalSource, PullRequestState, Scope, ScopeList, SourceError, SyncDelta, TimeRange,
    Timestamp,
};
use dora_http::{HttpClient, Pagination, StatusCode};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use tokio::task::JoinSet;

/// The cursor format; a cursor of another version is re-backfilled.
/// (2: undeployed deployments are re-checked like running ones, every
/// finished deployment is remembered, and closed pull requests are re-read.)
const CURSOR_VERSION: u32 = 2;
/// Re-read this much before the newest pull request update and activity entry
/// seen, for entries that became visible late.
const OVERLAP_MINUTES: i64 = 10;
/// How far the newest pull request update or activity entry may lie ahead of
/// this machine's clock before the cursor stops following it (clock skew).
const SKEW_MINUTES: i64 = 5;

/// Planned deployments (`UNDEPLOYED`) re-checked on every sync, the newest:
/// every pipeline run can leave one per environment it did not promote to,
/// and they pile up; one that runs long after it was planned is rare.
const PLANNED_RECHECKS: usize = 10;
/// Older planned deployments ("dormant") are re-checked in rotation, this
/// many at each slow check (at most once per the source's slow-check
/// interval, default a day): one that runs late reaches the store within
/// `dormant / DORMANT_RECHECKS` slow checks instead of never.
const DORMANT_RECHECKS: usize = 20;
/// The most dormant planned deployments remembered per repository (the
/// newest; older ones are given up, counted in a warning).
const DORMANT_CAP: usize = 1000;

/// The deployments to re-check on every sync, from `(id, status)` newest
/// first: every running one, and the newest planned ones; and the older
/// planned ones (dormant: re-checked in rotation).
fn to_recheck<'a>(
    deployments: impl IntoIterator<Item = (&'a str, DeploymentStatus)>,
) -> (Vec<String>, Vec<String>) {
    let mut planned = 0;
    let (mut out, mut dormant): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    for (id, status) in deployments {
        if out.iter().chain(&dormant).any(|o| o == id) {
            continue;
        }
        match status {
            DeploymentStatus::InProgress => out.push(id.to_owned()),
            DeploymentStatus::Undeployed => {
                planned += 1;
                if planned <= PLANNED_RECHECKS {
                    out.push(id.to_owned());
                } else {
                    dormant.push(id.to_owned());
                }
            }
            _ => {}
        }
    }
    (out, dormant)
}

/// What one repository's next sync resumes from (stored as JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Cursor {
    version: u32,
    /// The window start the backfill served; an earlier one backfills again.
    window_start: Timestamp,
    /// The history cut-off of the backfill.
    cutoff: Timestamp,
    main_branch: Option<String>,
    /// The production branch's newest commit at the last sync.
    head: Option<String>,
    /// Environments by uuid.
    environments: BTreeMap<String, CachedEnvironment>,
    /// Every finished deployment listed so far, newest first.
    known_deployments: Vec<String>,
    /// Deployments that could still change at the last sync (running, or
    /// planned and not yet run), to re-check.
    in_progress: Vec<String>,
    /// Older planned deployments, re-checked [`DORMANT_RECHECKS`] per slow
    /// check in rotation (the next ones first).
    #[serde(default)]
    dormant: Vec<String>,
    /// The newest pull request `updated_on` seen.
    pr_watermark: Timestamp,
    /// Pull requests seen within the overlap of the watermark: id → `updated_on`.
    recent_prs: BTreeMap<u64, Timestamp>,
    /// The newest activity-stream entry seen.
    activity_watermark: Timestamp,
    /// Open pull requests: what their earlier activity said.
    open_prs: BTreeMap<u64, OpenPr>,
    /// Whether a production deployment was ever listed (until then, each sync
    /// looks at the pipelines for `pipelines_without_deployments`).
    #[serde(default)]
    production_seen: bool,
    /// The repository's web page, once known.
    #[serde(default)]
    url: Option<String>,
    /// The repository's own main branch at the last read (the branching
    /// model may name another production branch).
    #[serde(default)]
    repo_main: Option<String>,
    /// What the branching model said at the last sync (read again on every
    /// sync: a changed production branch has the repository read again).
    #[serde(default)]
    model: ModelRules,
    /// When the slow checks last ran (the branching model read, dormant
    /// planned deployments re-checked; `None`: never by this cursor).
    #[serde(default)]
    slow_checked_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CachedEnvironment {
    name: String,
    kind: EnvironmentKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct OpenPr {
    /// The author's account key (reviews by the author do not count).
    author: String,
    /// The first review by someone else so far.
    first_review: Option<Timestamp>,
    /// Was all of its activity read (else a merge re-reads it in full)?
    complete: bool,
}

fn overlap() -> Duration {
    Duration::minutes(OVERLAP_MINUTES)
}

fn earliest(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Pull requests whose `updated_on` lies within the overlap of `watermark`:
/// `previous` (the last cursor's) updated by `listed` (this sync's listing,
/// which wins: a date corrected since replaces the old one; within the
/// listing, a pull request listed twice keeps its newest date).
fn recent_prs(
    previous: BTreeMap<u64, Timestamp>,
    listed: impl IntoIterator<Item = (u64, Timestamp)>,
    watermark: Timestamp,
) -> BTreeMap<u64, Timestamp> {
    let mut now: BTreeMap<u64, Timestamp> = BTreeMap::new();
    for (id, t) in listed {
        let slot = now.entry(id).or_insert(t);
        *slot = (*slot).max(t);
    }
    let mut out = previous;
    out.extend(now);
    out.retain(|_, t| *t >= watermark - overlap());
    out
}

/// Known finished deployments: `newest` (listing order) first, then `older`.
fn known_deployments<'a>(
    newest: impl IntoIterator<Item = &'a str>,
    older: &'a [String],
) -> Vec<String> {
    let mut seen = HashSet::new();
    newest
        .into_iter()
        .chain(older.iter().map(String::as_str))
        .filter(|id| seen.insert(*id))
        .map(str::to_owned)
        .collect()
}

impl Cursor {
    fn from_backfill(
        window_start: Timestamp,
        data: &Dataset,
        meta: RepoMeta,
        now: Timestamp,
    ) -> Self {
        let (in_progress, mut dormant) = to_recheck(
            meta.listed_deployments
                .iter()
                .filter_map(|(id, s)| Some((id.as_str(), (*s)?))),
        );
        dormant.truncate(DORMANT_CAP);
        let pr_watermark = meta
            .pr_updates
            .iter()
            .map(|(_, t)| *t)
            .max()
            .unwrap_or(meta.cutoff)
            .min(clock_cap(now));
        let covered = meta.activity_covered_since;
        Self {
            version: CURSOR_VERSION,
            window_start,
            cutoff: meta.cutoff,
            main_branch: data
                .repositories
                .first()
                .and_then(|r| r.main_branch.clone()),
            head: meta.head,
            environments: meta
                .environments
                .into_iter()
                .map(|(uuid, e)| {
                    (
                        uuid,
                        CachedEnvironment {
                            name: e.name,
                            kind: e.kind,
                        },
                    )
                })
                .collect(),
            known_deployments: known_deployments(
                meta.listed_deployments
                    .iter()
                    .map(|(id, _)| id.as_str())
                    .filter(|id| !in_progress.iter().any(|p| p == id)),
                &[],
            ),
            in_progress,
            dormant,
            production_seen: data
                .deployments
                .iter()
                .any(|d| d.environment_kind == EnvironmentKind::Production),
            url: data.repositories.first().and_then(|r| r.url.clone()),
            repo_main: meta.repo_main,
            model: meta.model,
            slow_checked_at: Some(now),
            pr_watermark,
            recent_prs: recent_prs(BTreeMap::new(), meta.pr_updates, pr_watermark),
            activity_watermark: meta
                .newest_activity
                .unwrap_or(meta.cutoff)
                .min(clock_cap(now)),
            open_prs: data
                .pull_requests
                .iter()
                .filter(|p| p.state == PullRequestState::Open)
                .map(|p| {
                    (
                        p.id,
                        OpenPr {
                            author: p.author.id.clone(),
                            first_review: p.first_review_at,
                            complete: covered.is_none_or(|c| p.created_at >= c),
                        },
                    )
                })
                .collect(),
        }
    }

    fn environment_map(&self, slug: &str) -> HashMap<String, Environment> {
        self.environments
            .iter()
            .map(|(uuid, e)| (uuid.clone(), Environment::new(slug, e.name.clone(), e.kind)))
            .collect()
    }
}

/// The newest time a cursor may hold: this machine's clock less the skew
/// allowance, so that an item dated in the future (a wrong clock or a bad
/// date) does not freeze the cursor past every later change.
fn clock_cap(now: Timestamp) -> Timestamp {
    now - Duration::minutes(SKEW_MINUTES)
}

/// What a later sync of one repository found.
enum Changes {
    /// The events that changed, and the next cursor.
    Found(Box<(Dataset, Cursor)>),
    /// The production branch no longer descends from the head of the last
    /// sync (why, in words).
    Rewritten(String),
}

/// Whether the new commits show that the branch was rewritten since `head`:
/// the `exclude=` walk was refused (the old head is gone), or it listed new
/// commits none of which has the old head as a parent (a fast-forward always
/// has one: the commit just after the old head on the path to the new one).
/// A capped walk cannot tell and is taken as a fast-forward.
fn rewritten(head: Option<&str>, commits: &CommitDelta) -> Option<String> {
    let head = head?;
    if !commits.exclusive {
        return Some(format!("the last head {head} is gone"));
    }
    let walk = &commits.walk;
    if walk.capped || walk.commits.is_empty() {
        return None;
    }
    let descends = walk
        .commits
        .iter()
        .any(|c| c.parents.iter().any(|p| sha_matches(p, head)));
    (!descends).then(|| format!("the new commits do not descend from the last head {head}"))
}

/// New production-branch commits.
struct CommitDelta {
    /// The main branch (looked up again when the walk needed it).
    main_branch: Option<String>,
    walk: BranchWalk,
    /// Only commits unknown at the last sync (`exclude=` walk); otherwise a
    /// full walk back to the cut-off.
    exclusive: bool,
}

/// Deployments listed until the known part, and re-checked ones.
struct DeploymentDelta {
    listed: Vec<wire::Deployment>,
    rechecked: Vec<wire::Deployment>,
    /// In-progress deployments that no longer exist.
    gone: Vec<String>,
    /// Dormant planned deployments re-checked this time (their ids), and
    /// what they are now (those that still exist).
    dormant_checked: Vec<String>,
    dormant: Vec<wire::Deployment>,
}

impl Bitbucket {
    /// The repository slug of a scope `workspace/slug` of this source.
    fn scope_slug<'a>(&self, scope: &'a str) -> Result<&'a str, SourceError> {
        match scope.split_once('/') {
            Some((ws, slug)) if ws == self.workspace && !slug.is_empty() && !slug.contains('/') => {
                Ok(slug)
            }
            _ => Err(SourceError::Config {
                source_name: SOURCE.into(),
                message: format!(
                    "scope `{scope}` is not a repository of workspace `{}` (expected `{}/<slug>`)",
                    self.workspace, self.workspace
                ),
            }),
        }
    }

    /// Sync one scope (`workspace/slug`) from its cursor, like
    /// [`IncrementalSource::sync_scope`], and report what it cost per endpoint.
    ///
    /// Without a cursor (or with one the source cannot use, or for a window
    /// starting before the one it was built for) this is the full collect of
    /// the repository; otherwise only what changed is fetched (see the crate
    /// docs). Warnings are also logged with `tracing`.
    pub async fn sync_scope_with_stats(
        &self,
        scope: &str,
        range: TimeRange,
        cursor: Option<&str>,
    ) -> Result<(SyncDelta, SyncStats), SourceError> {
        let slug = self.scope_slug(scope)?;
        let client = self.client.with_fresh_stats();
        let mut stats = SyncStats::default();
        let previous = cursor.and_then(|text| match serde_json::from_str::<Cursor>(text) {
            Ok(c) if c.version != CURSOR_VERSION => {
                tracing::info!(scope, "cursor version {} differs: backfilling", c.version);
                None
            }
            Ok(c) if range.start < c.window_start => {
                tracing::info!(
                    scope,
                    "the window starts before the synced one: backfilling"
                );
                None
            }
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(scope, "unreadable cursor ({e}): backfilling");
                None
            }
        });
        let now = chrono::Utc::now();
        let (mut data, next) = match previous {
            None => self.backfill(&client, slug, range, now, &mut stats).await?,
            Some(previous) => {
                let window_start = previous.window_start;
                match self
                    .sync_changes(&client, slug, previous, range, now, &mut stats)
                    .await?
                {
                    Changes::Found(found) => *found,
                    Changes::Rewritten(why) => {
                        // The history the store holds is no longer the
                        // branch's: read the repository again, whole, and say
                        // so (the store marks what is gone as unreachable).
                        stats.warnings.push(format!(
                            "{}/{slug}: history rewritten ({why}); read the repository again",
                            self.workspace
                        ));
                        let range = TimeRange::new(window_start.min(range.start), range.end);
                        let (mut data, next) =
                            self.backfill(&client, slug, range, now, &mut stats).await?;
                        data.collection.rewritten.push(slug.to_owned());
                        (data, next)
                    }
                }
            }
        };
        for (id, t) in &next.recent_prs {
            if *t > now + Duration::minutes(SKEW_MINUTES) {
                data.collection.clock_skew.push(dora_core::ClockSkew {
                    scope: slug.to_owned(),
                    item: format!("pull request #{id} updated_on"),
                    dated: *t,
                    observed_at: now,
                });
            }
        }
        stats.repositories = data.repositories.len();
        stats.pull_requests = data.pull_requests.len();
        stats.merged_pull_requests = data
            .pull_requests
            .iter()
            .filter(|p| p.state == PullRequestState::Merged)
            .count();
        stats.deployments = data.deployments.len();
        stats.commits = data.commits.len();
        stats.http = client.stats();
        for w in &stats.warnings {
            tracing::warn!(scope, "{w}");
        }
        let cursor = serde_json::to_string(&next).map_err(|e| SourceError::Other {
            source_name: SOURCE.into(),
            message: format!("{scope}: could not encode the cursor"),
            source: Some(Box::new(e)),
        })?;
        let delta = SyncDelta {
            data,
            cursor,
            requests: stats.total_requests(),
        };
        Ok((delta, stats))
    }

    /// The full collect of one repository and the cursor it gives.
    async fn backfill(
        &self,
        client: &HttpClient,
        slug: &str,
        range: TimeRange,
        now: Timestamp,
        stats: &mut SyncStats,
    ) -> Result<(Dataset, Cursor), SourceError> {
        // The main branch from the workspace listing, when this run listed it.
        let main = self.listed_main_branch(slug);
        let (data, meta) = self
            .sync_repository(client, slug, main, range, stats)
            .await?;
        let next = Cursor::from_backfill(range.start, &data, meta, now);
        Ok((data, next))
    }

    /// Everything that changed since `cur`, and the next cursor; or that the
    /// production branch's history was rewritten since.
    async fn sync_changes(
        &self,
        client: &HttpClient,
        slug: &str,
        mut cur: Cursor,
        range: TimeRange,
        now: Timestamp,
        stats: &mut SyncStats,
    ) -> Result<Changes, SourceError> {
        let ctx = self.ctx(Some(slug));
        let err = |e: dora_http::Error| convert_error(e, ctx);
        let ws = self.workspace.as_str();
        let act_since = cur.activity_watermark - overlap();

        // The repository's main branch: this run's workspace listing, else
        // the last read.
        let repo_main = self
            .listed_main_branch(slug)
            .or_else(|| cur.repo_main.clone());
        // What rarely changes is checked at most once per slow-check
        // interval: the branching model, and dormant planned deployments.
        let slow = cur
            .slow_checked_at
            .is_none_or(|t| now - t >= self.slow_check_interval);
        let (deps, prs, stream, commits, model) = tokio::join!(
            self.changed_deployments(client, slug, &cur, slow),
            self.pull_requests(client, slug, cur.pr_watermark - overlap()),
            self.activity(client, slug, act_since),
            self.new_commits(client, slug, &cur),
            async {
                if slow {
                    Some(
                        self.branching_model(client, slug, repo_main.as_deref(), stats)
                            .await,
                    )
                } else {
                    None
                }
            },
        );
        if slow {
            cur.slow_checked_at = Some(now);
        }

        // Deployments, with environments fetched again only for an unknown one.
        let deps = deps.map_err(err)?;
        let mut data = Dataset::new();
        let mut notes = CollectionNotes::default();
        let unknown_env = deps.listed.iter().chain(&deps.rechecked).any(|d| {
            d.environment
                .as_ref()
                .and_then(|e| e.uuid.as_deref())
                .is_some_and(|uuid| !cur.environments.contains_key(uuid))
        });
        if unknown_env {
            let req = client
                .request(
                    endpoint::ENVIRONMENTS,
                    &["repositories", ws, slug, "environments"],
                )
                .query("pagelen", "100")
                .query("fields", fields::ENVIRONMENTS);
            let listed: Vec<wire::Environment> = client
                .pages(req, Pagination::bitbucket())
                .collect_all()
                .await
                .map_err(err)?;
            let envs = convert::environments(slug, &listed);
            cur.environments = envs
                .iter()
                .map(|(uuid, e)| {
                    (
                        uuid.clone(),
                        CachedEnvironment {
                            name: e.name.clone(),
                            kind: e.kind,
                        },
                    )
                })
                .collect();
            let mut envs: Vec<_> = envs.into_values().collect();
            envs.sort_by(|a, b| a.name.cmp(&b.name));
            data.environments = envs;
        }
        let environments = cur.environment_map(slug);
        let known: HashSet<&str> = cur.known_deployments.iter().map(String::as_str).collect();
        let mut unreadable_pending = Vec::new();
        let mut emitted_ids = HashSet::new();
        for d in deps.listed.iter().chain(&deps.rechecked) {
            match convert::deployment(slug, d, &environments) {
                Ok(d) => {
                    if !known.contains(d.id.as_str()) && emitted_ids.insert(d.id.clone()) {
                        data.deployments.push(d);
                    }
                }
                Err(why) => {
                    if let (Some(uuid), Some(_)) = (&d.uuid, convert::unreadable_status(d)) {
                        unreadable_pending.push(uuid.clone());
                    }
                    self.note_skip(stats, &mut notes, slug, &why);
                }
            }
        }
        for id in &deps.gone {
            stats.warnings.push(format!(
                "{ws}/{slug}: deployment {id}, in progress at the last sync, no longer exists"
            ));
        }
        // Dormant planned deployments re-checked: one that ran (or changed
        // in any way) is emitted; one still planned goes to the back of the
        // rotation; one that no longer exists is forgotten.
        let mut still_planned = Vec::new();
        for d in &deps.dormant {
            match convert::deployment(slug, d, &environments) {
                Ok(d) if d.status == DeploymentStatus::Undeployed => still_planned.push(d.id),
                Ok(d) => {
                    if emitted_ids.insert(d.id.clone()) {
                        data.deployments.push(d);
                    }
                }
                Err(why) => self.note_skip(stats, &mut notes, slug, &why),
            }
        }
        let (in_progress, newly_dormant) = to_recheck(
            data.deployments
                .iter()
                .filter(|d| !still_planned.contains(&d.id))
                .map(|d| (d.id.as_str(), d.status))
                .chain(
                    unreadable_pending
                        .iter()
                        .map(|id| (id.as_str(), DeploymentStatus::InProgress)),
                ),
        );
        cur.in_progress = in_progress;
        let checked: HashSet<&str> = deps.dormant_checked.iter().map(String::as_str).collect();
        let mut dormant: Vec<String> = newly_dormant;
        dormant.extend(
            cur.dormant
                .iter()
                .filter(|id| !checked.contains(id.as_str()))
                .cloned(),
        );
        dormant.extend(still_planned);
        let mut seen_dormant = HashSet::new();
        dormant.retain(|id| seen_dormant.insert(id.clone()));
        if dormant.len() > DORMANT_CAP {
            stats.warnings.push(format!(
                "{ws}/{slug}: {} planned deployments are no longer re-checked (more than {DORMANT_CAP} were never run); one of them run later is not seen by incremental syncs until the store is re-synced whole",
                dormant.len() - DORMANT_CAP
            ));
            dormant.truncate(DORMANT_CAP);
        }
        cur.dormant = dormant;
        // Every listed deployment not to re-check is known from now on
        // (finished, or planned long ago: dormant ones are re-checked in rotation).
        let again: HashSet<&str> = cur.in_progress.iter().map(String::as_str).collect();
        let listed = deps
            .listed
            .iter()
            .filter_map(|d| d.uuid.as_deref())
            .filter(|id| !again.contains(id));
        cur.known_deployments = known_deployments(listed, &cur.known_deployments);

        // Production-branch commits.
        let commits = commits.map_err(err)?;
        if let Some(why) = rewritten(cur.head.as_deref(), &commits) {
            return Ok(Changes::Rewritten(why));
        }
        // A branch reset to an older commit with nothing new on top lists no
        // new commits, exactly like a branch that did not move: the slow
        // checks look at its head.
        if slow
            && commits.exclusive
            && commits.walk.commits.is_empty()
            && let (Some(branch), Some(head)) = (&cur.main_branch, &cur.head)
        {
            let now_head = self.branch_head(client, slug, branch).await.map_err(err)?;
            if !now_head.as_deref().is_some_and(|h| sha_matches(h, head)) {
                let short = |h: &str| h.chars().take(12).collect::<String>();
                return Ok(Changes::Rewritten(format!(
                    "`{branch}` moved back from {} to {} with no new commit",
                    short(head),
                    now_head.as_deref().map_or_else(|| "nothing".into(), short)
                )));
            }
        }
        // The branching model (read again when stale) and the main branch
        // name the production branch: another than the one walked has the
        // repository read again.
        let known = match model {
            Some(ModelRead::Read(rules)) => {
                cur.model = rules;
                true
            }
            Some(ModelRead::Unreadable) => false,
            None => true,
        };
        if known {
            let walked = commits.main_branch.clone();
            let expected = cur
                .model
                .production
                .clone()
                .or_else(|| repo_main.clone())
                .or_else(|| walked.clone());
            if expected.is_some() && expected != walked {
                return Ok(Changes::Rewritten(format!(
                    "the production branch is now `{}`, was `{}`",
                    expected.unwrap_or_default(),
                    walked.unwrap_or_default()
                )));
            }
        }
        if repo_main.is_some() {
            cur.repo_main.clone_from(&repo_main);
        }
        for why in &commits.walk.skipped {
            self.note_skip(stats, &mut notes, slug, why);
        }
        if commits.main_branch.is_none() {
            stats.warnings.push(format!(
                "{ws}/{slug}: no main branch (empty repository?); commits were not fetched"
            ));
        }
        let commits_exclusive = commits.exclusive;
        let walk_capped = commits.walk.capped;
        let walk_open = commits.walk.open;
        let new_commits = commits.walk.commits;
        if let Some(first) = new_commits.first() {
            cur.head = Some(first.sha.clone());
        } else if !commits.exclusive {
            cur.head = None;
        }
        cur.main_branch.clone_from(&commits.main_branch);
        let commits_main = commits.main_branch;

        // Pull requests that changed, with their activity.
        let listed_prs = prs.map_err(err)?;
        let stream = match stream {
            Ok(stream) => Some(stream),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => {
                stats.warnings.push(format!("{ws}/{slug}: repository-wide pull request activity unavailable; fetched it per pull request"));
                None
            }
            Err(e) => return Err(err(e)),
        };
        let mut changed: Vec<(&wire::PullRequest, bool)> = Vec::new();
        for p in &listed_prs {
            let Some(id) = p.id else {
                let why = Skip::new(
                    EventKind::PullRequest,
                    reason::MISSING_ID,
                    None,
                    "pull request without id",
                );
                self.note_skip(stats, &mut notes, slug, &why);
                continue;
            };
            let updated = convert::time(p.updated_on.as_deref());
            if updated.is_some() && cur.recent_prs.get(&id) == updated.as_ref() {
                continue; // seen at the last sync, unchanged
            }
            // Every state is re-read when `updated_on` moved: a merged or
            // declined pull request can still be edited (title, reviewers).
            let state = convert::pr_state(p.state.as_deref());
            let open = cur.open_prs.get(&id);
            let needs_full = match (&stream, open) {
                (None, _) => true,
                (Some(_), Some(o)) => !o.complete && state == Some(PullRequestState::Merged),
                (Some(s), None) => convert::time(p.created_on.as_deref())
                    .is_none_or(|c| s.covered_since.is_some_and(|since| c < since)),
            };
            changed.push((p, needs_full));
        }

        // Full activity where the stream and the cursor do not hold it.
        let mut full: HashMap<u64, PrActivity> = HashMap::new();
        let mut tasks = JoinSet::new();
        for (p, needs_full) in &changed {
            if let (true, Some(id)) = (*needs_full, p.id) {
                let client = client.clone();
                let (ws, slug) = (ws.to_owned(), slug.to_owned());
                tasks.spawn(async move { (id, pr_activity(&client, &ws, &slug, id).await) });
            }
        }
        while let Some(joined) = tasks.join_next().await {
            let (id, result) = joined.map_err(|e| task_error(slug, e))?;
            let mut acc = PrActivity::default();
            for a in &result.map_err(err)? {
                acc.add(a);
            }
            full.insert(id, acc);
        }

        let mut changed_ids = HashSet::new();
        for (p, needs_full) in &changed {
            let Some(id) = p.id else { continue };
            changed_ids.insert(id);
            let activity = full
                .get(&id)
                .or_else(|| stream.as_ref().and_then(|s| s.by_pr.get(&id)));
            let mut pr = match convert::pull_request(slug, p, activity) {
                Ok(pr) => pr,
                Err(why) => {
                    self.note_skip(stats, &mut notes, slug, &why);
                    continue;
                }
            };
            let previous = cur.open_prs.remove(&id);
            if let (Some(o), false) = (&previous, *needs_full) {
                let prior = o
                    .first_review
                    .filter(|t| pr.merged_at.is_none_or(|m| *t <= m));
                pr.first_review_at = earliest(pr.first_review_at, prior);
            }
            if pr.state == PullRequestState::Open {
                let complete = *needs_full || previous.as_ref().is_none_or(|o| o.complete);
                cur.open_prs.insert(
                    id,
                    OpenPr {
                        author: pr.author.id.clone(),
                        first_review: pr.first_review_at,
                        complete,
                    },
                );
            }
            data.pull_requests.push(pr);
        }
        // New reviews of open pull requests that did not change otherwise.
        if let Some(stream) = &stream {
            for (id, activity) in &stream.by_pr {
                if changed_ids.contains(id) {
                    continue;
                }
                if let Some(o) = cur.open_prs.get_mut(id) {
                    o.first_review =
                        earliest(o.first_review, activity.first_review(&o.author, None));
                }
            }
        }

        // The commits of newly merged pull requests whose merge commit does not
        // give the branch (squash and fast-forward merges, branch sides left open).
        let mut commits = new_commits;
        let reach = Reach {
            cutoff: cur.cutoff,
            main_branch: commits_main.as_deref(),
            capped: walk_capped,
            open: &walk_open,
            exclusive: commits_exclusive,
        };
        self.complete_branches(
            client,
            slug,
            &mut data.pull_requests,
            &mut commits,
            &reach,
            stats,
            &mut notes,
        )
        .await?;
        if walk_capped {
            stats.warnings.push(format!(
                "{ws}/{slug}: stopped walking `{}` after {} pages of {}{}",
                commits_main.as_deref().unwrap_or_default(),
                self.max_commit_pages,
                if commits_exclusive {
                    "new commits"
                } else {
                    "commits, before the history cut-off"
                },
                truncation_note(&notes)
            ));
        }
        // Still no production deployment: the pipelines say whether the
        // deploy step lacks `deployment: production`.
        cur.production_seen |= data
            .deployments
            .iter()
            .any(|d| d.environment_kind == EnvironmentKind::Production);
        let url = convert::repository_url(&data.pull_requests).or_else(|| cur.url.clone());
        cur.url.clone_from(&url);
        if !cur.production_seen
            && let Some(branch) = cur.main_branch.clone()
            && let Some(runs) = self
                .pipeline_runs(client, slug, &branch, url.as_deref(), range, stats)
                .await
        {
            notes.pipelines.push(runs);
        }
        data.commits = commits;
        data.collection = notes;
        data.dedup();
        data.repositories
            .push(cur.model.repository(slug, cur.main_branch.clone(), url));

        // Watermarks.
        let updates: Vec<(u64, Timestamp)> = listed_prs
            .iter()
            .filter_map(|p| Some((p.id?, convert::time(p.updated_on.as_deref())?)))
            .collect();
        let watermark = updates
            .iter()
            .map(|(_, t)| *t)
            .fold(cur.pr_watermark, Timestamp::max)
            .min(clock_cap(now));
        let previous_recent = std::mem::take(&mut cur.recent_prs);
        cur.recent_prs = recent_prs(previous_recent, updates, watermark);
        cur.pr_watermark = watermark;
        if let Some(newest) = stream.as_ref().and_then(|s| s.newest) {
            cur.activity_watermark = cur.activity_watermark.max(newest);
        }
        cur.activity_watermark = cur.activity_watermark.min(clock_cap(now));
        Ok(Changes::Found(Box::new((data, cur))))
    }

    /// Deployments newest first until a page holds nothing new (every item a
    /// finished deployment already stored, or one to re-check anyway), and the
    /// deployments that could still change at the last sync that those pages
    /// missed. A page with any new item is followed by the next: a new
    /// deployment may be listed below a known one.
    async fn changed_deployments(
        &self,
        client: &HttpClient,
        slug: &str,
        cur: &Cursor,
        slow: bool,
    ) -> Result<DeploymentDelta, dora_http::Error> {
        let ws = self.workspace.as_str();
        let known: HashSet<&str> = cur
            .known_deployments
            .iter()
            .chain(&cur.in_progress)
            .map(String::as_str)
            .collect();
        let req = client
            .request(
                endpoint::DEPLOYMENTS,
                &["repositories", ws, slug, "deployments"],
            )
            .query("pagelen", "100")
            .query("fields", fields::DEPLOYMENTS);
        let mut pager = client.pages::<wire::Deployment>(req, Pagination::bitbucket());
        let mut listed = Vec::new();
        while let Some(page) = pager.next_page().await? {
            let nothing_new = page
                .items
                .iter()
                .all(|d| d.uuid.as_deref().is_some_and(|u| known.contains(u)));
            listed.extend(page.items);
            if nothing_new {
                break;
            }
        }
        let seen: HashSet<&str> = listed.iter().filter_map(|d| d.uuid.as_deref()).collect();
        let mut rechecked = Vec::new();
        let mut gone = Vec::new();
        for id in cur
            .in_progress
            .iter()
            .filter(|id| !seen.contains(id.as_str()))
        {
            match self.deployment(client, slug, id).await? {
                Some(d) => rechecked.push(d),
                None => gone.push(id.clone()),
            }
        }
        // A few dormant planned deployments, in rotation (one that no longer
        // exists is forgotten).
        let mut dormant = Vec::new();
        let dormant_checked: Vec<String> = cur
            .dormant
            .iter()
            .filter(|id| !seen.contains(id.as_str()))
            .take(if slow { DORMANT_RECHECKS } else { 0 })
            .cloned()
            .collect();
        for id in &dormant_checked {
            dormant.extend(self.deployment(client, slug, id).await?);
        }
        Ok(DeploymentDelta {
            listed,
            rechecked,
            gone,
            dormant_checked,
            dormant,
        })
    }

    /// The production-branch commits not reachable from the last head. When
    /// the head or the branch is gone (`exclude=` answers 404), an empty
    /// non-exclusive delta: [`rewritten`] then has the repository read again.
    /// Without a head (an empty repository at the last sync), the main branch
    /// is looked up again and walked back to the cut-off.
    async fn new_commits(
        &self,
        client: &HttpClient,
        slug: &str,
        cur: &Cursor,
    ) -> Result<CommitDelta, dora_http::Error> {
        if let (Some(branch), Some(head)) = (&cur.main_branch, &cur.head) {
            match self.commits_since(client, slug, branch, head).await {
                Ok(walk) => {
                    return Ok(CommitDelta {
                        main_branch: Some(branch.clone()),
                        walk,
                        exclusive: true,
                    });
                }
                // The old head (or the branch) is gone: the history was
                // rewritten, and the repository is read again whole.
                Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => {
                    return Ok(CommitDelta {
                        main_branch: Some(branch.clone()),
                        walk: BranchWalk::default(),
                        exclusive: false,
                    });
                }
                Err(e) => return Err(e),
            }
        }
        let req = client
            .request(
                endpoint::REPOSITORY,
                &["repositories", &self.workspace, slug],
            )
            .query("fields", fields::REPOSITORY);
        let repo: wire::Repository = client.get_json(&req).await?;
        let main_branch = repo
            .mainbranch
            .and_then(|b| b.name)
            .filter(|n| !n.is_empty());
        let walk = self
            .branch_commits(client, slug, main_branch.as_deref(), cur.cutoff, &[], &[])
            .await?;
        Ok(CommitDelta {
            main_branch,
            walk,
            exclusive: false,
        })
    }

    /// `GET …/commits/{branch}?exclude={head}`, stopping at `head` too.
    /// The main branch of `slug` in this run's workspace listing, if any.
    fn listed_main_branch(&self, slug: &str) -> Option<String> {
        self.listed_main
            .lock()
            .ok()
            .and_then(|listed| listed.get(slug).cloned())
    }

    /// One deployment, read again (`None`: it no longer exists).
    async fn deployment(
        &self,
        client: &HttpClient,
        slug: &str,
        id: &str,
    ) -> Result<Option<wire::Deployment>, dora_http::Error> {
        let req = client
            .request(
                endpoint::DEPLOYMENT,
                &["repositories", &self.workspace, slug, "deployments", id],
            )
            .query("fields", fields::DEPLOYMENT);
        match client.get_json::<wire::Deployment>(&req).await {
            Ok(d) => Ok(Some(d)),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The newest commit of `branch` (`None`: the branch has none).
    async fn branch_head(
        &self,
        client: &HttpClient,
        slug: &str,
        branch: &str,
    ) -> Result<Option<String>, dora_http::Error> {
        let req = client
            .request(
                endpoint::COMMITS,
                &["repositories", &self.workspace, slug, "commits", branch],
            )
            .query("pagelen", "1")
            .query("fields", "values.hash");
        let mut pager = client.pages::<wire::Commit>(req, Pagination::bitbucket());
        Ok(pager
            .next_page()
            .await?
            .and_then(|page| page.items.into_iter().next())
            .and_then(|c| c.hash))
    }

    async fn commits_since(
        &self,
        client: &HttpClient,
        slug: &str,
        branch: &str,
        head: &str,
    ) -> Result<BranchWalk, dora_http::Error> {
        let req = client
            .request(
                endpoint::COMMITS,
                &["repositories", &self.workspace, slug, "commits", branch],
            )
            .query("exclude", head)
            .query("pagelen", "100")
            .query("fields", fields::COMMITS);
        let mut pager = client.pages::<wire::Commit>(req, Pagination::bitbucket());
        let mut walk = BranchWalk::default();
        // Every new merge is attributable; the branch sides matter only when
        // the cap stops the walk (`exclude=` lists every new commit otherwise).
        let mut frontier = Frontier::new(None, &[]);
        'pages: while let Some(page) = pager.next_page().await? {
            for c in &page.items {
                if c.hash.as_deref().is_some_and(|h| sha_matches(h, head)) {
                    break 'pages;
                }
                walk.take(slug, c, &mut frontier);
            }
            if pager.pages_fetched() >= self.max_commit_pages && page.has_next {
                walk.capped = true;
                walk.open = frontier.open_merges();
                break;
            }
        }
        Ok(walk)
    }
}

#[async_trait]
impl IncrementalSource for Bitbucket {
    fn name(&self) -> &str {
        SOURCE
    }

    /// `workspace/slug` of every repository in scope (listing a whole
    /// workspace costs its `repositories` requests here, outside any delta).
    async fn scopes(&self) -> Result<Vec<String>, SourceError> {
        let client = self.client.with_fresh_stats();
        Ok(self
            .repositories(&client)
            .await?
            .into_iter()
            .map(|(slug, _, _)| format!("{}/{slug}", self.workspace))
            .collect())
    }

    /// The repositories with their uuids (renames are followed by uuid); a
    /// workspace listing is exhaustive (a stored repository missing from it
    /// has left), an explicit repository list is not.
    async fn scope_list(&self) -> Result<ScopeList, SourceError> {
        let client = self.client.with_fresh_stats();
        let repos = self.repositories(&client).await?;
        let mut list = ScopeList::named(Vec::new());
        if let Ok(mut listed) = self.listed_main.lock() {
            listed.clear();
            listed.extend(
                repos
                    .iter()
                    .filter_map(|(slug, main, _)| Some((slug.clone(), main.clone()?))),
            );
        }
        list.scopes = repos
            .into_iter()
            .map(|(slug, _, uuid)| Scope::new(format!("{}/{slug}", self.workspace), uuid))
            .collect();
        list.exhaustive = matches!(self.scope, crate::source::Scope::Workspace { .. });
        list.requests = client.stats().total_requests();
        Ok(list)
    }

    async fn sync_scope(
        &self,
        scope: &str,
        range: TimeRange,
        cursor: Option<&str>,
    ) -> Result<SyncDelta, SourceError> {
        Ok(self.sync_scope_with_stats(scope, range, cursor).await?.0)
    }
}
