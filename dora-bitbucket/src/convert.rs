//! Wire types → `dora_core` events. Records missing what the core needs are
//! skipped with a reason (collected in [`crate::SyncStats::skipped`]); nothing
//! here fails a sync.

use crate::wire;
use chrono::{DateTime, Utc};
use dora_core::{
    Actor, ActorKind, Commit, Deployment, DeploymentStatus, Environment, EnvironmentKind,
    EventKind, PullRequest, PullRequestState, SkippedEvent, Timestamp,
};
use std::collections::HashMap;
use std::fmt;

/// Why an item could not be converted: a stable snake_case reason code, the
/// item's id when readable, and a sentence naming the field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Skip {
    pub kind: EventKind,
    pub reason: &'static str,
    pub id: Option<String>,
    pub detail: String,
}

/// Reason codes (the `skipped_events` keys).
pub(crate) mod reason {
    pub const MISSING_ID: &str = "missing_id";
    pub const MISSING_COMMIT: &str = "missing_commit";
    pub const MISSING_STATE: &str = "missing_state";
    pub const MISSING_STATUS: &str = "missing_status";
    pub const MISSING_TIMESTAMP: &str = "missing_timestamp";
    pub const UNKNOWN_DEPLOYMENT_STATE: &str = "unknown_deployment_state";
    pub const UNKNOWN_DEPLOYMENT_STATUS: &str = "unknown_deployment_status";
    pub const UNKNOWN_PULL_REQUEST_STATE: &str = "unknown_pull_request_state";
}

impl Skip {
    pub(crate) fn new(
        kind: EventKind,
        reason: &'static str,
        id: Option<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            reason,
            id,
            detail: detail.into(),
        }
    }

    /// The core's record of it, for the repository `slug`.
    pub(crate) fn event(&self, slug: &str) -> SkippedEvent {
        SkippedEvent::new(
            self.kind,
            Some(slug.to_owned()),
            self.id.clone(),
            self.reason,
            self.detail.clone(),
        )
    }
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

/// Parse any RFC 3339 timestamp (Bitbucket sends `+00:00` with microseconds
/// and `Z` with 5–6 fraction digits).
pub(crate) fn time(text: Option<&str>) -> Option<Timestamp> {
    let text = text?.trim();
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The identity used to tell the author from reviewers.
pub(crate) fn account_key(account: &wire::Account) -> Option<String> {
    account
        .uuid
        .clone()
        .or_else(|| account.account_id.clone())
        .or_else(|| account.display_name.clone())
        .filter(|s| !s.is_empty())
}

pub(crate) fn actor(account: Option<&wire::Account>) -> Actor {
    let Some(account) = account else {
        return Actor {
            id: String::new(),
            display_name: String::new(),
            kind: ActorKind::Unknown,
        };
    };
    let kind = match account.kind.as_deref() {
        Some("user") => ActorKind::User,
        // Bitbucket's apps and access tokens (repository/project/workspace).
        Some("app_user") => ActorKind::Bot,
        _ => ActorKind::Unknown,
    };
    let display_name = account
        .display_name
        .clone()
        .or_else(|| account.nickname.clone())
        .unwrap_or_default();
    Actor {
        id: account_key(account).unwrap_or_default(),
        display_name,
        kind,
    }
}

pub(crate) fn environment_kind(type_name: Option<&str>) -> EnvironmentKind {
    match type_name.map(str::trim) {
        Some(t) if t.eq_ignore_ascii_case("production") => EnvironmentKind::Production,
        Some(t) if t.eq_ignore_ascii_case("staging") => EnvironmentKind::Staging,
        Some(t) if t.eq_ignore_ascii_case("test") => EnvironmentKind::Test,
        _ => EnvironmentKind::Other,
    }
}

/// Environments keyed by uuid.
pub(crate) fn environments(repo: &str, wire: &[wire::Environment]) -> HashMap<String, Environment> {
    wire.iter()
        .filter_map(|e| {
            let uuid = e.uuid.clone()?;
            let name = e.name.clone().unwrap_or_else(|| uuid.clone());
            let kind =
                environment_kind(e.environment_type.as_ref().and_then(|t| t.name.as_deref()));
            Some((uuid, Environment::new(repo, name, kind)))
        })
        .collect()
}

/// What the incremental sync makes of a deployment it could not read: a
/// completed one is final (`None`: known, never re-read); any other state
/// (queued, running, planned) may still run and become readable, so it is
/// re-checked like one in progress.
pub(crate) fn unreadable_status(d: &wire::Deployment) -> Option<DeploymentStatus> {
    let completed = d
        .state
        .as_ref()
        .and_then(|s| s.name.as_deref())
        .is_some_and(|n| n.eq_ignore_ascii_case("COMPLETED"));
    (!completed).then_some(DeploymentStatus::InProgress)
}

pub(crate) fn deployment(
    repo: &str,
    d: &wire::Deployment,
    environments: &HashMap<String, Environment>,
) -> Result<Deployment, Skip> {
    let skip = |reason, id: Option<&String>, detail: String| {
        Skip::new(EventKind::Deployment, reason, id.cloned(), detail)
    };
    let id = d
        .uuid
        .clone()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| skip(reason::MISSING_ID, None, "deployment without uuid".into()))?;
    let commit = [&d.release, &d.deployable]
        .into_iter()
        .flatten()
        .find_map(|r| r.commit.as_ref().and_then(|c| c.hash.clone()))
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            skip(
                reason::MISSING_COMMIT,
                Some(&id),
                format!("deployment {id} names no commit"),
            )
        })?;
    let env_ref = d.environment.as_ref();
    let env_uuid = env_ref.and_then(|e| e.uuid.clone()).unwrap_or_default();
    let (environment, kind) = match environments.get(&env_uuid) {
        Some(e) => (e.name.clone(), e.kind),
        None => (
            env_ref
                .and_then(|e| e.name.clone())
                .unwrap_or_else(|| env_uuid.clone()),
            environment_kind(
                env_ref
                    .and_then(|e| e.environment_type.as_ref())
                    .and_then(|t| t.name.as_deref()),
            ),
        ),
    };
    let state = d.state.clone().unwrap_or_default();
    let status = match state.name.as_deref() {
        Some("COMPLETED") => match state.status.as_ref().and_then(|s| s.name.as_deref()) {
            Some("SUCCESSFUL") => DeploymentStatus::Succeeded,
            Some("FAILED") => DeploymentStatus::Failed,
            Some("STOPPED") => DeploymentStatus::Stopped,
            Some(other) => {
                return Err(skip(
                    reason::UNKNOWN_DEPLOYMENT_STATUS,
                    Some(&id),
                    format!("deployment {id}: unknown completed status {other:?}"),
                ));
            }
            // A completed deployment that does not say how it ended.
            None => {
                return Err(skip(
                    reason::MISSING_STATUS,
                    Some(&id),
                    format!("deployment {id}: COMPLETED without `state.status.name`"),
                ));
            }
        },
        Some("IN_PROGRESS") => DeploymentStatus::InProgress,
        Some("UNDEPLOYED") => DeploymentStatus::Undeployed,
        Some(other) => {
            return Err(skip(
                reason::UNKNOWN_DEPLOYMENT_STATE,
                Some(&id),
                format!("deployment {id}: unknown state {other:?}"),
            ));
        }
        None => {
            return Err(skip(
                reason::MISSING_STATE,
                Some(&id),
                format!("deployment {id}: no `state.name`"),
            ));
        }
    };
    let started_at =
        time(state.started_on.as_deref()).or_else(|| time(state.start_date.as_deref()));
    let mut finished_at =
        time(state.completed_on.as_deref()).or_else(|| time(state.completion_date.as_deref()));
    if finished_at.is_none()
        && matches!(
            status,
            DeploymentStatus::Succeeded | DeploymentStatus::Failed | DeploymentStatus::Stopped
        )
    {
        // A completed deployment without its own finish time: its last update is it.
        finished_at = time(d.last_update_time.as_deref());
    }
    let release = d.release.as_ref().or(d.deployable.as_ref());
    Ok(Deployment {
        repository: repo.to_owned(),
        id,
        environment,
        environment_kind: kind,
        commit,
        started_at,
        finished_at,
        status,
        release: release
            .and_then(|r| r.name.clone())
            .filter(|n| !n.is_empty()),
        url: release
            .and_then(|r| r.url.clone())
            .filter(|u| !u.is_empty()),
    })
}

/// `Name <email>` (the git author, `author.raw`) split into name and email.
fn raw_author(raw: Option<&str>) -> (String, String) {
    let raw = raw.unwrap_or_default();
    match raw.split_once('<') {
        Some((name, rest)) => (
            name.trim().to_owned(),
            rest.trim().trim_end_matches('>').trim().to_owned(),
        ),
        None => (raw.trim().to_owned(), String::new()),
    }
}

pub(crate) fn commit(repo: &str, c: &wire::Commit) -> Result<Commit, Skip> {
    let sha = c.hash.clone().filter(|h| !h.is_empty()).ok_or_else(|| {
        Skip::new(
            EventKind::Commit,
            reason::MISSING_ID,
            None,
            "commit without hash",
        )
    })?;
    let at = time(c.date.as_deref()).ok_or_else(|| {
        Skip::new(
            EventKind::Commit,
            reason::MISSING_TIMESTAMP,
            Some(sha.clone()),
            format!("commit {sha} has no valid date"),
        )
    })?;
    let author = c.author.as_ref().map(|a| {
        let (name, email) = raw_author(a.raw.as_deref());
        match &a.user {
            Some(user) => {
                let mut actor = actor(Some(user));
                // A Bitbucket user without a display name: the git author's.
                if user
                    .display_name
                    .as_deref()
                    .is_none_or(|n| n.trim().is_empty())
                    && !name.is_empty()
                {
                    actor.display_name = name;
                }
                if actor.id.is_empty() {
                    actor.id = email;
                }
                actor
            }
            None => Actor {
                id: if email.is_empty() {
                    name.clone()
                } else {
                    email
                },
                display_name: name,
                kind: ActorKind::Unknown,
            },
        }
    });
    let mut commit = Commit::new(
        repo,
        sha,
        c.parents.iter().filter_map(|p| p.hash.clone()).collect(),
        at,
        c.message.clone().unwrap_or_default(),
    );
    commit.author = author;
    Ok(commit)
}

pub(crate) fn pr_state(state: Option<&str>) -> Option<PullRequestState> {
    match state? {
        "OPEN" => Some(PullRequestState::Open),
        "MERGED" => Some(PullRequestState::Merged),
        "DECLINED" => Some(PullRequestState::Declined),
        "SUPERSEDED" => Some(PullRequestState::Superseded),
        _ => None,
    }
}

/// What the activity stream told us about one pull request.
#[derive(Debug, Clone, Default)]
pub(crate) struct PrActivity {
    /// The MERGED update's date.
    pub merged_at: Option<Timestamp>,
    /// (who, when) of every comment, approval and change request.
    pub reviews: Vec<(Option<String>, Timestamp)>,
    /// The latest MERGED, DECLINED or SUPERSEDED update's date.
    pub closed_at: Option<Timestamp>,
}

impl PrActivity {
    pub(crate) fn add(&mut self, a: &wire::Activity) {
        if let Some(update) = &a.update {
            if let Some(t) = time(update.date.as_deref()) {
                let state = update.state.as_deref();
                if state == Some("MERGED") {
                    self.merged_at = Some(self.merged_at.map_or(t, |m| m.min(t)));
                }
                if matches!(state, Some("MERGED" | "DECLINED" | "SUPERSEDED")) {
                    self.closed_at = Some(self.closed_at.map_or(t, |c| c.max(t)));
                }
            }
            return;
        }
        if let Some(c) = &a.comment {
            if c.deleted != Some(true)
                && let Some(t) = time(c.created_on.as_deref())
            {
                self.reviews
                    .push((c.user.as_ref().and_then(account_key), t));
            }
            return;
        }
        for approval in [&a.approval, &a.changes_requested].into_iter().flatten() {
            if let Some(t) = time(approval.date.as_deref()) {
                self.reviews
                    .push((approval.user.as_ref().and_then(account_key), t));
            }
        }
    }

    /// First review by someone other than `author`, no later than the merge.
    pub(crate) fn first_review(
        &self,
        author: &str,
        merged_at: Option<Timestamp>,
    ) -> Option<Timestamp> {
        self.reviews
            .iter()
            .filter(|(who, _)| who.as_deref().is_some_and(|w| w != author))
            .map(|(_, t)| *t)
            .filter(|t| merged_at.is_none_or(|m| *t <= m))
            .min()
    }
}

/// The date an activity entry carries.
pub(crate) fn activity_time(a: &wire::Activity) -> Option<Timestamp> {
    if let Some(u) = &a.update {
        return time(u.date.as_deref());
    }
    if let Some(c) = &a.comment {
        return time(c.created_on.as_deref());
    }
    [&a.approval, &a.changes_requested]
        .into_iter()
        .flatten()
        .find_map(|x| time(x.date.as_deref()))
}

/// A pull request, merge time and first review from its activity.
pub(crate) fn pull_request(
    repo: &str,
    p: &wire::PullRequest,
    activity: Option<&PrActivity>,
) -> Result<PullRequest, Skip> {
    let skip = |reason, id: Option<u64>, detail: String| {
        Skip::new(
            EventKind::PullRequest,
            reason,
            id.map(|i| i.to_string()),
            detail,
        )
    };
    let id =
        p.id.ok_or_else(|| skip(reason::MISSING_ID, None, "pull request without id".into()))?;
    let state = pr_state(p.state.as_deref()).ok_or_else(|| {
        let reason = if p.state.is_some() {
            reason::UNKNOWN_PULL_REQUEST_STATE
        } else {
            reason::MISSING_STATE
        };
        skip(
            reason,
            Some(id),
            format!("pull request #{id}: unknown state {:?}", p.state),
        )
    })?;
    let created_at = time(p.created_on.as_deref()).ok_or_else(|| {
        skip(
            reason::MISSING_TIMESTAMP,
            Some(id),
            format!("pull request #{id} has no valid created_on"),
        )
    })?;
    let author = actor(p.author.as_ref());
    let merge_commit = p
        .merge_commit
        .as_ref()
        .and_then(|m| m.hash.clone())
        .filter(|h| !h.is_empty());
    // Merge time: the MERGED update, else the merge commit's date (requested
    // through `fields=`); never `updated_on`, which moves with every comment.
    let merged_at = if state == PullRequestState::Merged {
        activity
            .and_then(|a| a.merged_at)
            .or_else(|| time(p.merge_commit.as_ref().and_then(|m| m.date.as_deref())))
    } else {
        None
    };
    let author_key = p.author.as_ref().and_then(account_key).unwrap_or_default();
    let first_review_at = activity.and_then(|a| a.first_review(&author_key, merged_at));
    let branch = |e: &Option<wire::PrEndpoint>| {
        e.as_ref()
            .and_then(|e| e.branch.as_ref())
            .and_then(|b| b.name.clone())
            .unwrap_or_default()
    };
    Ok(PullRequest {
        repository: repo.to_owned(),
        id,
        title: p.title.clone().unwrap_or_default(),
        author,
        source_branch: branch(&p.source),
        destination_branch: branch(&p.destination),
        state,
        created_at,
        first_review_at,
        merged_at,
        merge_commit,
        url: p
            .links
            .as_ref()
            .and_then(|l| l.html.as_ref())
            .and_then(|h| h.href.clone())
            .filter(|u| !u.is_empty()),
        commits: Vec::new(),
    })
}

/// A repository's web page from one of its pull requests' pages
/// (`https://bitbucket.org/acme/web/pull-requests/42` → `https://bitbucket.org/acme/web`).
pub(crate) fn repository_url(pull_requests: &[PullRequest]) -> Option<String> {
    pull_requests.iter().find_map(|p| {
        p.url
            .as_deref()
            .and_then(|u| u.rsplit_once("/pull-requests/"))
            .map(|(root, _)| root.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn parses_both_timestamp_styles() {
        let a = time(Some("2019-09-27T00:33:46.039178+00:00")).expect("pr style");
        assert_eq!(
            a.timestamp_micros(),
            Utc.with_ymd_and_hms(2019, 9, 27, 0, 33, 46)
                .unwrap()
                .timestamp_micros()
                + 39_178
        );
        let b = time(Some("2023-02-20T09:38:47.20339Z")).expect("pipeline style");
        assert_eq!(b.timestamp_subsec_micros(), 203_390);
        assert_eq!(time(Some("yesterday")), None);
        assert_eq!(time(None), None);
    }

    #[test]
    fn unknown_values_degrade_gracefully() {
        assert_eq!(environment_kind(Some("Canary")), EnvironmentKind::Other);
        assert_eq!(environment_kind(None), EnvironmentKind::Other);
        assert_eq!(pr_state(Some("DRAFT")), None);
        let team = wire::Account {
            kind: Some("team".into()),
            uuid: Some("{t}".into()),
            ..Default::default()
        };
        assert_eq!(actor(Some(&team)).kind, ActorKind::Unknown);
        let app = wire::Account {
            kind: Some("app_user".into()),
            ..Default::default()
        };
        assert_eq!(actor(Some(&app)).kind, ActorKind::Bot);
    }

    #[test]
    fn deployment_state_mapping_and_timestamp_fallback() {
        let envs = HashMap::new();
        let parse = |v: serde_json::Value| {
            let d: wire::Deployment = serde_json::from_value(v).expect("wire");
            deployment("web", &d, &envs)
        };
        let d = parse(serde_json::json!({
            "uuid": "{d}", "release": {"commit": {"hash": "abc"}},
            "state": {"name": "COMPLETED", "status": {"name": "FAILED"}, "start_date": "2024-03-01T10:00:00Z", "completion_date": "2024-03-01T10:05:00Z"}
        }))
        .expect("mapped");
        assert_eq!(d.status, DeploymentStatus::Failed);
        assert_eq!(
            d.finished_at,
            Utc.with_ymd_and_hms(2024, 3, 1, 10, 5, 0).single()
        );
        assert_eq!(d.environment_kind, EnvironmentKind::Other);
        let unknown = parse(
            serde_json::json!({"uuid": "{e}", "release": {"commit": {"hash": "abc"}}, "state": {"name": "PAUSED"}}),
        );
        assert!(unknown.is_err());
        let no_commit = parse(serde_json::json!({"uuid": "{f}", "state": {"name": "UNDEPLOYED"}}));
        assert!(no_commit.is_err());
        let deployable = parse(serde_json::json!({"uuid": "{g}", "deployable": {"commit": {"hash": "def"}}, "state": {"name": "UNDEPLOYED"}}))
            .expect("deployable commit");
        assert_eq!(deployable.commit, "def");
        assert_eq!(deployable.status, DeploymentStatus::Undeployed);
    }

    #[test]
    fn first_review_ignores_author_and_post_merge_activity() {
        let t = |h| Utc.with_ymd_and_hms(2024, 3, 1, h, 0, 0).unwrap();
        let act = PrActivity {
            merged_at: Some(t(12)),
            closed_at: Some(t(12)),
            reviews: vec![
                (Some("author".into()), t(8)),
                (Some("rev".into()), t(13)),
                (Some("rev".into()), t(10)),
                (None, t(9)),
            ],
        };
        assert_eq!(act.first_review("author", act.merged_at), Some(t(10)));
        let only_late = PrActivity {
            merged_at: Some(t(12)),
            closed_at: Some(t(12)),
            reviews: vec![(Some("rev".into()), t(13))],
        };
        assert_eq!(only_late.first_review("author", only_late.merged_at), None);
    }

    #[test]
    fn commit_author_from_raw() {
        let c: wire::Commit = serde_json::from_value(serde_json::json!({
            "hash": "abc1234", "date": "2024-03-01T10:00:00+00:00", "message": "x\n",
            "author": {"raw": "Jane Doe <jane@acme.io>"}, "parents": [{"hash": "p1"}]
        }))
        .expect("wire");
        let c = commit("web", &c).expect("mapped");
        let author = c.author.expect("author");
        assert_eq!(author.id, "jane@acme.io");
        assert_eq!(author.display_name, "Jane Doe");
        assert_eq!(c.parents, vec!["p1".to_string()]);
    }

    #[test]
    fn commit_author_name_falls_back_to_raw_without_display_name() {
        let c: wire::Commit = serde_json::from_value(serde_json::json!({
            "hash": "abc1234", "date": "2024-03-01T10:00:00+00:00",
            "author": {"raw": "Jane Doe <jane@acme.io>", "user": {"type": "user", "uuid": "{j}"}}
        }))
        .expect("wire");
        let author = commit("web", &c).expect("mapped").author.expect("author");
        assert_eq!(author.display_name, "Jane Doe");
        assert_eq!(author.id, "{j}");
        assert_eq!(author.kind, ActorKind::User);
        let named: wire::Commit = serde_json::from_value(serde_json::json!({
            "hash": "abc1234", "date": "2024-03-01T10:00:00+00:00",
            "author": {"raw": "jd <jane@acme.io>", "user": {"type": "user", "uuid": "{j}", "display_name": "Jane D."}}
        }))
        .expect("wire");
        let author = commit("web", &named)
            .expect("mapped")
            .author
            .expect("author");
        assert_eq!(author.display_name, "Jane D.");
    }

    #[test]
    fn skips_carry_a_reason_code_and_the_id() {
        let envs = HashMap::new();
        let parse = |v: serde_json::Value| {
            let d: wire::Deployment = serde_json::from_value(v).expect("wire");
            deployment("web", &d, &envs)
        };
        let no_status = parse(serde_json::json!({
            "uuid": "{d}", "release": {"commit": {"hash": "abc"}},
            "state": {"name": "COMPLETED", "completed_on": "2024-03-01T10:05:00Z"}
        }))
        .expect_err("a completed deployment without a status is skipped");
        assert_eq!(
            (no_status.kind, no_status.reason, no_status.id.as_deref()),
            (EventKind::Deployment, reason::MISSING_STATUS, Some("{d}"))
        );
        let event = no_status.event("web");
        assert_eq!(event.scope.as_deref(), Some("web"));
        assert_eq!(event.reason, "missing_status");
        let paused = parse(serde_json::json!({"uuid": "{e}", "release": {"commit": {"hash": "abc"}}, "state": {"name": "PAUSED"}}))
            .expect_err("unknown");
        assert_eq!(paused.reason, reason::UNKNOWN_DEPLOYMENT_STATE);
        let stateless =
            parse(serde_json::json!({"uuid": "{e}", "release": {"commit": {"hash": "abc"}}}))
                .expect_err("no state");
        assert_eq!(stateless.reason, reason::MISSING_STATE);
        let odd = parse(serde_json::json!({"uuid": "{e}", "release": {"commit": {"hash": "abc"}}, "state": {"name": "COMPLETED", "status": {"name": "SKIPPED"}}}))
            .expect_err("unknown status");
        assert_eq!(odd.reason, reason::UNKNOWN_DEPLOYMENT_STATUS);
        let anonymous = parse(serde_json::json!({"release": {"commit": {"hash": "abc"}}, "state": {"name": "UNDEPLOYED"}}))
            .expect_err("no uuid");
        assert_eq!((anonymous.reason, anonymous.id), (reason::MISSING_ID, None));
        let commitless = parse(serde_json::json!({"uuid": "{f}", "state": {"name": "UNDEPLOYED"}}))
            .expect_err("no commit");
        assert_eq!(commitless.reason, reason::MISSING_COMMIT);

        let c: wire::Commit =
            serde_json::from_value(serde_json::json!({"hash": "abc1234", "date": "soon"}))
                .expect("wire");
        let undated = commit("web", &c).expect_err("undated");
        assert_eq!(
            (undated.kind, undated.reason, undated.id.as_deref()),
            (
                EventKind::Commit,
                reason::MISSING_TIMESTAMP,
                Some("abc1234")
            )
        );
        let hashless = commit("web", &wire::Commit::default()).expect_err("hashless");
        assert_eq!(hashless.reason, reason::MISSING_ID);

        let pr = |v: serde_json::Value| {
            let p: wire::PullRequest = serde_json::from_value(v).expect("wire");
            pull_request("web", &p, None)
        };
        let draft = pr(serde_json::json!({"id": 7, "state": "DRAFT", "created_on": "2024-03-01T10:00:00+00:00"}))
            .expect_err("unknown state");
        assert_eq!(
            (draft.kind, draft.reason, draft.id.as_deref()),
            (
                EventKind::PullRequest,
                reason::UNKNOWN_PULL_REQUEST_STATE,
                Some("7")
            )
        );
        let undated = pr(serde_json::json!({"id": 8, "state": "OPEN"})).expect_err("no created_on");
        assert_eq!(undated.reason, reason::MISSING_TIMESTAMP);
        let anonymous = pr(serde_json::json!({"state": "OPEN"})).expect_err("no id");
        assert_eq!(anonymous.reason, reason::MISSING_ID);
    }
}
