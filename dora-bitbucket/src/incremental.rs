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
    Bitbucket, BranchWalk, Reach, RepoMeta, endpoint, pr_activity, sha_matches, task_error,
    truncation_note,
};
use crate::walk::Frontier;
use crate::wire::{self, fields};
use async_trait::async_trait;
use chrono::Duration;
use dora_core::{
    CollectionNotes, Dataset, DeploymentStatus, Environment, EnvironmentKind, EventKind,
    IncrementalSource, PullRequestState, Repository, SourceError, SyncDelta, TimeRange, Timestamp,
};
use dora_http::{HttpClient, Pagination, StatusCode};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use tokio::task::JoinSet;

/// The cursor format; a cursor of another version is re-backfilled.
const CURSOR_VERSION: u32 = 1;
/// Re-read this much before the newest pull request update and activity entry
/// seen, for entries that became visible late.
const OVERLAP_MINUTES: i64 = 10;
/// Finished deployments remembered to recognise the listing's known part.
const KNOWN_DEPLOYMENTS: usize = 100;

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
    /// The newest finished deployments, newest first.
    known_deployments: Vec<String>,
    /// Deployments in progress at the last sync, to re-check.
    in_progress: Vec<String>,
    /// The newest pull request `updated_on` seen.
    pr_watermark: Timestamp,
    /// Pull requests seen within the overlap of the watermark: id → `updated_on`.
    recent_prs: BTreeMap<u64, Timestamp>,
    /// The newest activity-stream entry seen.
    activity_watermark: Timestamp,
    /// Open pull requests: what their earlier activity said.
    open_prs: BTreeMap<u64, OpenPr>,
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

fn recent_prs(
    updates: impl IntoIterator<Item = (u64, Timestamp)>,
    watermark: Timestamp,
) -> BTreeMap<u64, Timestamp> {
    let mut out = BTreeMap::new();
    for (id, t) in updates {
        if t >= watermark - overlap() {
            let slot = out.entry(id).or_insert(t);
            *slot = (*slot).max(t);
        }
    }
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
        .take(KNOWN_DEPLOYMENTS)
        .map(str::to_owned)
        .collect()
}

impl Cursor {
    fn from_backfill(window_start: Timestamp, data: &Dataset, meta: RepoMeta) -> Self {
        let pr_watermark = meta
            .pr_updates
            .iter()
            .map(|(_, t)| *t)
            .max()
            .unwrap_or(meta.cutoff);
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
                    .filter(|(_, s)| *s != DeploymentStatus::InProgress)
                    .map(|(id, _)| id.as_str()),
                &[],
            ),
            in_progress: data
                .deployments
                .iter()
                .filter(|d| d.status == DeploymentStatus::InProgress)
                .map(|d| d.id.clone())
                .collect(),
            pr_watermark,
            recent_prs: recent_prs(meta.pr_updates, pr_watermark),
            activity_watermark: meta.newest_activity.unwrap_or(meta.cutoff),
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
        let (data, next) = match previous {
            None => {
                let (data, meta) = self
                    .sync_repository(&client, slug, None, range, &mut stats)
                    .await?;
                let next = Cursor::from_backfill(range.start, &data, meta);
                (data, next)
            }
            Some(previous) => {
                self.sync_changes(&client, slug, previous, &mut stats)
                    .await?
            }
        };
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

    /// Everything that changed since `cur`, and the next cursor.
    async fn sync_changes(
        &self,
        client: &HttpClient,
        slug: &str,
        mut cur: Cursor,
        stats: &mut SyncStats,
    ) -> Result<(Dataset, Cursor), SourceError> {
        let ctx = self.ctx(Some(slug));
        let err = |e: dora_http::Error| convert_error(e, ctx);
        let ws = self.workspace.as_str();
        let act_since = cur.activity_watermark - overlap();

        let (deps, prs, stream, commits) = tokio::join!(
            self.changed_deployments(client, slug, &cur),
            self.pull_requests(client, slug, cur.pr_watermark - overlap()),
            self.activity(client, slug, act_since),
            self.new_commits(client, slug, &cur),
        );

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
        let mut listed_final = Vec::new();
        let mut emitted_ids = HashSet::new();
        for (i, d) in deps.listed.iter().chain(&deps.rechecked).enumerate() {
            match convert::deployment(slug, d, &environments) {
                Ok(d) => {
                    if i < deps.listed.len() && d.status != DeploymentStatus::InProgress {
                        listed_final.push(d.id.clone());
                    }
                    if !known.contains(d.id.as_str()) && emitted_ids.insert(d.id.clone()) {
                        data.deployments.push(d);
                    }
                }
                Err(why) => self.note_skip(stats, &mut notes, slug, &why),
            }
        }
        for id in &deps.gone {
            stats.warnings.push(format!(
                "{ws}/{slug}: deployment {id}, in progress at the last sync, no longer exists"
            ));
        }
        cur.known_deployments = known_deployments(
            listed_final.iter().map(String::as_str),
            &cur.known_deployments,
        );
        cur.in_progress = data
            .deployments
            .iter()
            .filter(|d| d.status == DeploymentStatus::InProgress)
            .map(|d| d.id.clone())
            .collect();

        // Production-branch commits.
        let commits = commits.map_err(err)?;
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
            let state = convert::pr_state(p.state.as_deref());
            let open = cur.open_prs.get(&id);
            let in_stream = stream.as_ref().and_then(|s| s.by_pr.get(&id));
            let closed_before = state.is_some_and(|s| s != PullRequestState::Open)
                && open.is_none()
                && stream.is_some()
                && in_stream
                    .and_then(|a| a.closed_at)
                    .is_none_or(|t| t < act_since);
            if closed_before {
                // Merged or declined before the last sync: stored then, final.
                continue;
            }
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
        data.commits = commits;
        data.collection = notes;
        data.dedup();
        let url = convert::repository_url(&data.pull_requests);
        data.repositories.push(Repository {
            slug: slug.to_owned(),
            main_branch: cur.main_branch.clone(),
            url,
        });

        // Watermarks.
        let updates: Vec<(u64, Timestamp)> = listed_prs
            .iter()
            .filter_map(|p| Some((p.id?, convert::time(p.updated_on.as_deref())?)))
            .collect();
        let watermark = updates
            .iter()
            .map(|(_, t)| *t)
            .fold(cur.pr_watermark, Timestamp::max);
        let previous_recent = std::mem::take(&mut cur.recent_prs);
        cur.recent_prs = recent_prs(previous_recent.into_iter().chain(updates), watermark);
        cur.pr_watermark = watermark;
        if let Some(newest) = stream.as_ref().and_then(|s| s.newest) {
            cur.activity_watermark = cur.activity_watermark.max(newest);
        }
        Ok((data, cur))
    }

    /// Deployments newest first until a page holds a known finished one, and
    /// the deployments in progress at the last sync that those pages missed.
    async fn changed_deployments(
        &self,
        client: &HttpClient,
        slug: &str,
        cur: &Cursor,
    ) -> Result<DeploymentDelta, dora_http::Error> {
        let ws = self.workspace.as_str();
        let known: HashSet<&str> = cur.known_deployments.iter().map(String::as_str).collect();
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
            let reached = page
                .items
                .iter()
                .any(|d| d.uuid.as_deref().is_some_and(|u| known.contains(u)));
            listed.extend(page.items);
            if reached {
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
            let req = client
                .request(
                    endpoint::DEPLOYMENT,
                    &["repositories", ws, slug, "deployments", id],
                )
                .query("fields", fields::DEPLOYMENT);
            match client.get_json::<wire::Deployment>(&req).await {
                Ok(d) => rechecked.push(d),
                Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => gone.push(id.clone()),
                Err(e) => return Err(e),
            }
        }
        Ok(DeploymentDelta {
            listed,
            rechecked,
            gone,
        })
    }

    /// The production-branch commits not reachable from the last head; when
    /// that walk is impossible (no head, or the branch or head is gone), the
    /// main branch is looked up again and walked back to the cut-off.
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
                Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => {}
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
            .map(|(slug, _)| format!("{}/{slug}", self.workspace))
            .collect())
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
