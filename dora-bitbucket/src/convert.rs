//! Wire types → `dora_core` events. Records missing what the core needs are
//! skipped with a reason (collected in [`crate::SyncStats::skipped`]); nothing
//! here fails a sync.

use crate::wire;
use chrono::{DateTime, Utc};
use dora_core::{
    Actor, ActorKind, Commit, Deployment, DeploymentStatus, Environment, EnvironmentKind,
    PullRequest, PullRequestState, Timestamp,
};
use std::collections::HashMap;

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

pub(crate) fn deployment(
    repo: &str,
    d: &wire::Deployment,
    environments: &HashMap<String, Environment>,
) -> Result<Deployment, String> {
    let id = d.uuid.clone().ok_or("deployment without uuid")?;
    let commit = [&d.release, &d.deployable]
        .into_iter()
        .flatten()
        .find_map(|r| r.commit.as_ref().and_then(|c| c.hash.clone()))
        .filter(|h| !h.is_empty())
        .ok_or_else(|| format!("deployment {id} names no commit"))?;
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
            other => {
                return Err(format!(
                    "deployment {id}: unknown completed status {other:?}"
                ));
            }
        },
        Some("IN_PROGRESS") => DeploymentStatus::InProgress,
        Some("UNDEPLOYED") => DeploymentStatus::Undeployed,
        other => return Err(format!("deployment {id}: unknown state {other:?}")),
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
    Ok(Deployment {
        repository: repo.to_owned(),
        id,
        environment,
        environment_kind: kind,
        commit,
        started_at,
        finished_at,
        status,
    })
}

pub(crate) fn commit(repo: &str, c: &wire::Commit) -> Result<Commit, String> {
    let sha = c
        .hash
        .clone()
        .filter(|h| !h.is_empty())
        .ok_or("commit without hash")?;
    let at = time(c.date.as_deref()).ok_or_else(|| format!("commit {sha} has no valid date"))?;
    let author = c.author.as_ref().map(|a| match &a.user {
        Some(user) => actor(Some(user)),
        None => {
            // `raw` is the git author, `Name <email>`.
            let raw = a.raw.clone().unwrap_or_default();
            let (name, email) = match raw.split_once('<') {
                Some((name, rest)) => (
                    name.trim().to_owned(),
                    rest.trim_end_matches('>').trim().to_owned(),
                ),
                None => (raw.trim().to_owned(), String::new()),
            };
            Actor {
                id: if email.is_empty() {
                    name.clone()
                } else {
                    email
                },
                display_name: name,
                kind: ActorKind::Unknown,
            }
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
) -> Result<PullRequest, String> {
    let id = p.id.ok_or("pull request without id")?;
    let state = pr_state(p.state.as_deref())
        .ok_or_else(|| format!("pull request #{id}: unknown state {:?}", p.state))?;
    let created_at = time(p.created_on.as_deref())
        .ok_or_else(|| format!("pull request #{id} has no valid created_on"))?;
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
        commits: Vec::new(),
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
}
