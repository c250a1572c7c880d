//! The sample rendered as the JSON Bitbucket Cloud REST 2.0 and PagerDuty REST v2
//! return (shapes as in `api-reference.md` §1.16 and §2.5).
//!
//! `api` is the API base URL the server is reachable at (used in `links.self`).

use crate::sample::{
    Commit, DeployState, Deployment, Environment, Incident, Outcome, Person, Pipeline, PullRequest,
    RepoSample, ReviewKind, Sample, Step, Ts,
};
use serde_json::{Value, json};

/// PR and activity timestamps: microseconds and a `+00:00` offset.
pub fn pr_time(t: Ts) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

/// Pipeline and deployment timestamps: `Z` with 5–6 fraction digits.
pub fn pipeline_time(t: Ts) -> String {
    let s = t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
    // Real responses drop a trailing zero now and then ("…47.20339Z").
    let s = s.strip_suffix('0').map_or(s.clone(), str::to_string);
    format!("{s}Z")
}

/// Commit dates: whole seconds with `+00:00`.
pub fn commit_time(t: Ts) -> String {
    t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

/// PagerDuty timestamps: `YYYY-MM-DDTHH:MM:SSZ`.
pub fn pagerduty_time(t: Ts) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// An account object (`user` or `app_user`).
pub fn account(p: &Person) -> Value {
    let avatar = format!("https://avatar-management.example/{}/128", p.account_id);
    if p.bot {
        json!({
            "type": "app_user", "display_name": p.name, "uuid": p.uuid, "account_id": p.account_id,
            "account_status": "active", "kind": "repository_access_token",
            "links": {"avatar": {"href": avatar}}
        })
    } else {
        json!({
            "type": "user", "display_name": p.name, "uuid": p.uuid, "account_id": p.account_id,
            "nickname": p.nickname,
            "links": {"avatar": {"href": avatar}, "html": {"href": format!("https://bitbucket.org/{}/", p.uuid.replace('{', "%7B").replace('}', "%7D"))}}
        })
    }
}

fn person(sample: &Sample, i: usize) -> &Person {
    &sample.people[i.min(sample.people.len().saturating_sub(1))]
}

fn repo_ref(sample: &Sample, repo: &RepoSample) -> Value {
    json!({"type": "repository", "full_name": format!("{}/{}", sample.workspace, repo.slug), "name": repo.slug, "uuid": repo.uuid})
}

/// A repository object.
pub fn repository(sample: &Sample, repo: &RepoSample, api: &str) -> Value {
    let full = format!("{}/{}", sample.workspace, repo.slug);
    json!({
        "type": "repository",
        "uuid": repo.uuid,
        "full_name": full,
        "name": repo.slug,
        "slug": repo.slug,
        "is_private": true,
        "scm": "git",
        "language": repo.language,
        "description": "",
        "mainbranch": {"type": "branch", "name": repo.main_branch},
        "project": {"type": "project", "key": repo.project, "name": repo.project},
        "workspace": {"type": "workspace", "slug": sample.workspace, "name": "Acme"},
        "created_on": pr_time(repo.created_on),
        "updated_on": pr_time(sample.end),
        "links": {
            "self": {"href": format!("{api}/repositories/{full}")},
            "html": {"href": format!("https://bitbucket.org/{full}")}
        }
    })
}

/// Bitbucket's state name.
pub fn pr_state(pr: &PullRequest) -> &'static str {
    match pr.outcome {
        Outcome::Merged { .. } => "MERGED",
        Outcome::Declined { .. } => "DECLINED",
        Outcome::Open => "OPEN",
    }
}

/// A pull request. `detail` adds `participants` and `reviewers` (single-PR
/// endpoint only); `merge_date` adds `merge_commit.date` (only when asked via `fields`).
pub fn pull_request(
    sample: &Sample,
    repo: &RepoSample,
    pr: &PullRequest,
    api: &str,
    detail: bool,
    merge_date: bool,
) -> Value {
    let full = format!("{}/{}", sample.workspace, repo.slug);
    let self_url = format!("{api}/repositories/{full}/pullrequests/{}", pr.id);
    let merge_commit = match (&pr.merge_commit, pr.merged_at()) {
        (Some(sha), Some(at)) => {
            let mut m = json!({"type": "commit", "hash": &sha[..12.min(sha.len())]});
            if merge_date {
                m["date"] = json!(commit_time(at));
            }
            m
        }
        _ => Value::Null,
    };
    let closed_by = match pr.outcome {
        Outcome::Open => Value::Null,
        _ => account(person(
            sample,
            pr.reviews.last().map_or(pr.author, |r| r.by),
        )),
    };
    let source_hash = pr.commits.last().map_or("", |s| &s[..12.min(s.len())]);
    let dest_hash = pr.base.as_deref().map_or("", |s| &s[..12.min(s.len())]);
    let mut v = json!({
        "type": "pullrequest",
        "id": pr.id,
        "title": pr.title,
        "summary": {"type": "rendered", "raw": "", "markup": "markdown", "html": ""},
        "state": pr_state(pr),
        "author": account(person(sample, pr.author)),
        "source": {"branch": {"name": pr.branch}, "commit": {"type": "commit", "hash": source_hash}, "repository": repo_ref(sample, repo)},
        "destination": {"branch": {"name": pr.destination}, "commit": {"type": "commit", "hash": dest_hash}, "repository": repo_ref(sample, repo)},
        "merge_commit": merge_commit,
        "close_source_branch": true,
        "closed_by": closed_by,
        "reason": if matches!(pr.outcome, Outcome::Declined { .. }) { "Not needed any more" } else { "" },
        "comment_count": pr.reviews.iter().filter(|r| r.kind == ReviewKind::Comment).count(),
        "task_count": 0,
        "created_on": pr_time(pr.created_at),
        "updated_on": pr_time(pr.updated_at()),
        "links": {
            "self": {"href": self_url},
            "html": {"href": format!("https://bitbucket.org/{full}/pull-requests/{}", pr.id)},
            "commits": {"href": format!("{self_url}/commits")},
            "activity": {"href": format!("{self_url}/activity")},
            "diff": {"href": format!("{api}/repositories/{full}/diff/{}", pr.id)}
        }
    });
    if detail {
        let mut participants: Vec<Value> = Vec::new();
        let mut seen: Vec<usize> = Vec::new();
        for r in &pr.reviews {
            if r.by == pr.author || seen.contains(&r.by) {
                continue;
            }
            seen.push(r.by);
            let approved = pr
                .reviews
                .iter()
                .any(|x| x.by == r.by && x.kind == ReviewKind::Approval);
            participants.push(json!({
                "type": "participant", "user": account(person(sample, r.by)), "role": "REVIEWER",
                "approved": approved, "state": if approved { Value::from("approved") } else { Value::Null },
                "participated_on": pr_time(r.at)
            }));
        }
        v["participants"] = json!(participants);
        v["reviewers"] = json!(
            seen.iter()
                .map(|&i| account(person(sample, i)))
                .collect::<Vec<_>>()
        );
    }
    v
}

/// A pull request's activity, newest first.
pub fn activity(sample: &Sample, repo: &RepoSample, pr: &PullRequest, api: &str) -> Vec<Value> {
    let full = format!("{}/{}", sample.workspace, repo.slug);
    let pr_ref = json!({"type": "pullrequest", "id": pr.id, "title": pr.title,
        "links": {"self": {"href": format!("{api}/repositories/{full}/pullrequests/{}", pr.id)}}});
    let branch = |name: &str, hash: &str| json!({"branch": {"name": name}, "commit": {"type": "commit", "hash": &hash[..12.min(hash.len())]}});
    let source_hash = pr.commits.last().cloned().unwrap_or_default();
    let dest_hash = pr.base.clone().unwrap_or_default();
    let update = |state: &str, at: Ts, by: usize| {
        json!({"update": {
            "state": state, "date": pr_time(at), "title": pr.title, "description": "", "reason": "",
            "author": account(person(sample, by)),
            "source": branch(&pr.branch, &source_hash),
            "destination": branch(&pr.destination, &dest_hash)
        }, "pull_request": pr_ref})
    };
    let mut entries: Vec<(Ts, Value)> =
        vec![(pr.created_at, update("OPEN", pr.created_at, pr.author))];
    for (k, r) in pr.reviews.iter().enumerate() {
        let who = account(person(sample, r.by));
        let v = match r.kind {
            ReviewKind::Approval => {
                json!({"approval": {"date": pr_time(r.at), "user": who, "pullrequest": pr_ref}, "pull_request": pr_ref})
            }
            ReviewKind::ChangesRequested => {
                json!({"changes_requested": {"date": pr_time(r.at), "user": who, "pullrequest": pr_ref}, "pull_request": pr_ref})
            }
            ReviewKind::Comment => json!({"comment": {
                "id": pr.id * 1000 + k as u64, "type": "pullrequest_comment",
                "created_on": pr_time(r.at), "updated_on": pr_time(r.at),
                "content": {"type": "rendered", "raw": "Looks reasonable; one question inline.", "markup": "markdown", "html": "<p>Looks reasonable; one question inline.</p>"},
                "user": who, "deleted": false, "pullrequest": pr_ref,
                "links": {"html": {"href": format!("https://bitbucket.org/{full}/pull-requests/{}#comment-{}", pr.id, pr.id * 1000 + k as u64)}}
            }, "pull_request": pr_ref}),
        };
        entries.push((r.at, v));
    }
    match pr.outcome {
        Outcome::Merged { at, .. } => {
            let by = pr.reviews.last().map_or(pr.author, |r| r.by);
            entries.push((at, update("MERGED", at, by)));
        }
        Outcome::Declined { at } => entries.push((at, update("DECLINED", at, pr.author))),
        Outcome::Open => {}
    }
    entries.sort_by_key(|e| std::cmp::Reverse(e.0));
    entries.into_iter().map(|(_, v)| v).collect()
}

/// A commit.
pub fn commit(sample: &Sample, repo: &RepoSample, c: &Commit, api: &str) -> Value {
    let full = format!("{}/{}", sample.workspace, repo.slug);
    let author = person(sample, c.author);
    let mut author_json =
        json!({"type": "author", "raw": format!("{} <{}>", author.name, author.email)});
    // Bots' commit emails map to no Bitbucket account.
    if !author.bot {
        author_json["user"] = account(author);
    }
    json!({
        "type": "commit",
        "hash": c.sha,
        "date": commit_time(c.date),
        "message": c.message,
        "summary": {"type": "rendered", "raw": c.message, "markup": "markdown", "html": ""},
        "author": author_json,
        "parents": c.parents.iter().map(|p| json!({"type": "commit", "hash": p,
            "links": {"self": {"href": format!("{api}/repositories/{full}/commit/{p}")}}})).collect::<Vec<_>>(),
        "repository": repo_ref(sample, repo),
        "links": {
            "self": {"href": format!("{api}/repositories/{full}/commit/{}", c.sha)},
            "html": {"href": format!("https://bitbucket.org/{full}/commits/{}", c.sha)}
        }
    })
}

/// An environment.
pub fn environment(env: &Environment) -> Value {
    json!({
        "type": "deployment_environment", "uuid": env.uuid, "name": env.name, "slug": env.slug,
        "rank": env.rank, "hidden": false, "environment_lock_enabled": false, "deployment_gate_enabled": false,
        "environment_type": {"type": "deployment_environment_type", "name": env.kind, "rank": env.rank}
    })
}

/// A deployment; `env_detail` adds the environment's name and type (asked via `fields`).
pub fn deployment(sample: &Sample, repo: &RepoSample, d: &Deployment, env_detail: bool) -> Value {
    let full = format!("{}/{}", sample.workspace, repo.slug);
    let p = &repo.pipelines[d.pipeline];
    let env = &repo.environments[d.env];
    let mut environment = json!({"type": "deployment_environment", "uuid": env.uuid});
    if env_detail {
        environment["name"] = json!(env.name);
        environment["slug"] = json!(env.slug);
        environment["environment_type"] =
            json!({"type": "deployment_environment_type", "name": env.kind, "rank": env.rank});
    }
    let results = format!(
        "https://bitbucket.org/{full}/addon/pipelines/home#!/results/{}",
        p.build_number
    );
    let deployer = account(person(sample, 0));
    let state = match d.state {
        DeployState::Successful | DeployState::Failed => {
            let (t, n) = if d.state == DeployState::Successful {
                ("deployment_state_completed_status_successful", "SUCCESSFUL")
            } else {
                ("deployment_state_completed_status_failed", "FAILED")
            };
            json!({"type": "deployment_state_completed", "name": "COMPLETED", "url": results, "deployer": deployer,
                   "status": {"type": t, "name": n},
                   "started_on": d.started.map(pipeline_time), "completed_on": d.completed.map(pipeline_time)})
        }
        DeployState::InProgress => {
            json!({"type": "deployment_state_in_progress", "name": "IN_PROGRESS", "url": results,
            "deployer": deployer, "started_on": d.started.map(pipeline_time)})
        }
        DeployState::Undeployed => {
            json!({"type": "deployment_state_undeployed", "name": "UNDEPLOYED",
            "trigger_url": format!("{results}/steps/{}", d.step_uuid)})
        }
    };
    let last = d.completed.or(d.started).unwrap_or(p.created);
    json!({
        "type": "deployment",
        "uuid": d.uuid,
        "version": 1,
        "step": {"uuid": d.step_uuid},
        "environment": environment,
        "release": {
            "type": "deployment_release", "uuid": format!("{{{}}}", &p.uuid[1..p.uuid.len() - 1]),
            "name": format!("#{}", p.build_number),
            "key": format!("pipelines-{}", p.uuid), "url": results,
            "pipeline": {"type": "pipeline", "uuid": p.uuid},
            "commit": {"type": "commit", "hash": p.commit,
                       "links": {"html": {"href": format!("https://bitbucket.org/{full}/commits/{}", p.commit)}}},
            "created_on": pipeline_time(p.created)
        },
        "state": state,
        "last_update_time": pipeline_time(last)
    })
}

/// A pipeline.
pub fn pipeline(sample: &Sample, repo: &RepoSample, p: &Pipeline, api: &str) -> Value {
    let full = format!("{}/{}", sample.workspace, repo.slug);
    let state = match p.result() {
        Some(r) => json!({"type": "pipeline_state_completed", "name": "COMPLETED",
            "result": {"type": format!("pipeline_state_completed_{}", r.to_ascii_lowercase()), "name": r}}),
        None => json!({"type": "pipeline_state_in_progress", "name": "IN_PROGRESS",
            "stage": {"type": "pipeline_state_in_progress_running", "name": "RUNNING"}}),
    };
    let completed = p.completed();
    let duration = completed.map_or(0, |c| (c - p.created).num_seconds());
    json!({
        "type": "pipeline", "uuid": p.uuid, "build_number": p.build_number,
        "creator": account(person(sample, 0)),
        "repository": repo_ref(sample, repo),
        "state": state,
        "target": {"type": "pipeline_ref_target", "ref_type": "branch", "ref_name": p.branch,
                   "commit": {"type": "commit", "hash": p.commit},
                   "selector": {"type": "branches", "pattern": p.branch}},
        "trigger": {"type": "pipeline_trigger_push"},
        "created_on": pipeline_time(p.created),
        "completed_on": completed.map(pipeline_time),
        "duration_in_seconds": duration, "build_seconds_used": duration,
        "links": {"self": {"href": format!("{api}/repositories/{full}/pipelines/{}", p.uuid)}}
    })
}

/// A pipeline step.
pub fn step(p: &Pipeline, s: &Step) -> Value {
    let state = match (s.started, s.result) {
        (_, Some(r)) => json!({"name": "COMPLETED", "result": {"name": r}}),
        (Some(_), None) => json!({"name": "IN_PROGRESS"}),
        (None, None) => json!({"name": "PENDING"}),
    };
    let duration = match (s.started, s.completed) {
        (Some(a), Some(b)) => (b - a).num_seconds(),
        _ => 0,
    };
    json!({
        "type": "pipeline_step", "uuid": s.uuid, "name": s.name, "pipeline": {"uuid": p.uuid},
        "trigger": {"type": if s.manual { "pipeline_step_trigger_manual" } else { "pipeline_step_trigger_automatic" }},
        "state": state,
        "started_on": s.started.map(pipeline_time), "completed_on": s.completed.map(pipeline_time),
        "duration_in_seconds": duration, "build_seconds_used": duration, "run_number": s.run_number
    })
}

/// A PagerDuty incident.
pub fn pagerduty_incident(i: &Incident, api: &str) -> Value {
    let priority = i.priority.map_or(Value::Null, |p| {
        json!({"id": format!("PPRI00{}", &p[1..]), "type": "priority_reference", "summary": p,
               "self": format!("{api}/priorities/PPRI00{}", &p[1..])})
    });
    let last_change = i.resolved_at.or(i.acknowledged_at).unwrap_or(i.created_at);
    let assignments = if i.resolved_at.is_some() {
        json!([])
    } else {
        json!([{"at": pagerduty_time(i.created_at), "assignee": {"id": "PUSER01", "type": "user_reference", "summary": "Jane Doe"}}])
    };
    json!({
        "id": i.id, "type": "incident",
        "summary": format!("[#{}] {}", i.number, i.title),
        "self": format!("{api}/incidents/{}", i.id),
        "html_url": format!("https://acme.pagerduty.com/incidents/{}", i.id),
        "incident_number": i.number, "title": i.title,
        "created_at": pagerduty_time(i.created_at), "updated_at": pagerduty_time(last_change),
        "status": i.status(),
        "incident_key": format!("{}-{}", i.service, i.number),
        "service": {"id": i.service_id, "type": "service_reference", "summary": i.service,
                    "self": format!("{api}/services/{}", i.service_id),
                    "html_url": format!("https://acme.pagerduty.com/service-directory/{}", i.service_id)},
        "assignments": assignments, "assigned_via": "escalation_policy",
        "last_status_change_at": pagerduty_time(last_change),
        "resolved_at": i.resolved_at.map(pagerduty_time),
        "first_trigger_log_entry": {"id": format!("R{}T", &i.id[1..]), "type": "trigger_log_entry_reference"},
        "alert_counts": {"all": 1, "triggered": u8::from(i.resolved_at.is_none()), "resolved": u8::from(i.resolved_at.is_some())},
        "is_mergeable": true,
        "escalation_policy": {"id": "PESC001", "type": "escalation_policy_reference", "summary": "Default"},
        "teams": [{"id": "PTEAM01", "type": "team_reference", "summary": "Platform"}],
        "pending_actions": [], "acknowledgements": [],
        "priority": priority,
        "urgency": i.urgency,
        "incident_type": {"name": "incident_default"}
    })
}

/// A PagerDuty incident's log entries, newest first.
pub fn pagerduty_log_entries(i: &Incident) -> Vec<Value> {
    let reference = json!({"id": i.id, "type": "incident_reference"});
    let mut out = Vec::new();
    let entry = |kind: &str, suffix: &str, at: Ts, summary: &str| {
        json!({"id": format!("R{}{suffix}", &i.id[1..]), "type": kind, "summary": summary,
               "created_at": pagerduty_time(at),
               "agent": {"id": "PUSER01", "type": "user_reference", "summary": "Jane Doe"},
               "channel": {"type": "web_ui"}, "incident": reference})
    };
    if let Some(r) = i.resolved_at {
        out.push(entry("resolve_log_entry", "R", r, "Resolved by Jane Doe"));
    }
    if let Some(a) = i.acknowledged_at {
        out.push(entry(
            "acknowledge_log_entry",
            "A",
            a,
            "Acknowledged by Jane Doe",
        ));
    }
    out.push(entry(
        "trigger_log_entry",
        "T",
        i.created_at,
        "Triggered through the API",
    ));
    out
}

/// `GET …/branching-model` (api-reference §1.17): repositories with a
/// release flow (daily promotion, twice-weekly releases) enable a production
/// branch (the main branch) and release/hotfix prefixes; the others only have
/// a development branch (the main branch), as Bitbucket's default model does.
pub fn branching_model(repo: &RepoSample, api: &str) -> Value {
    let main = json!({"type": "branch", "name": repo.main_branch});
    let releases = repo.environments.iter().any(|e| e.kind == "Staging")
        && repo.environments.len() > 1
        && repo.slug != "checkout-web";
    let mut model = json!({
        "type": "branching_model",
        "development": {"name": repo.main_branch, "use_mainbranch": true, "branch": main},
        "branch_types": [
            {"kind": "feature", "prefix": "feature/"},
            {"kind": "bugfix", "prefix": "bugfix/"},
        ],
        "links": {"self": {"href": format!("{api}/repositories/{}/{}/branching-model", crate::WORKSPACE, repo.slug)}},
    });
    if releases {
        model["production"] =
            json!({"name": repo.main_branch, "use_mainbranch": true, "branch": main});
        model["branch_types"] = json!([
            {"kind": "feature", "prefix": "feature/"},
            {"kind": "bugfix", "prefix": "bugfix/"},
            {"kind": "release", "prefix": "release/"},
            {"kind": "hotfix", "prefix": "hotfix/"},
        ]);
    }
    model
}
