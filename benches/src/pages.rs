//! Realistic Bitbucket Cloud API pages, as the adapter receives them, for
//! parse-throughput benchmarks: the pull-request list
//! (`GET /2.0/repositories/{ws}/{repo}/pullrequests?state=MERGED&pagelen=50`)
//! and the commit list (`GET …/commits/main?pagelen=100`), default fields
//! (links, rendered summaries, accounts) as in the API reference §1.7–1.11 and
//! the §1.16 fixtures. Deterministic for a given [`Rng`] state.

use crate::Rng;
use serde_json::{Value, json};

const WS: &str = "acme";
const REPO: &str = "web";
const API: &str = "https://api.bitbucket.org/2.0/repositories/acme/web";

fn date(rng: &mut Rng) -> String {
    format!(
        "2024-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        1 + rng.below(12),
        1 + rng.below(28),
        rng.below(24),
        rng.below(60),
        rng.below(60),
        rng.below(1_000_000)
    )
}

fn account(rng: &mut Rng) -> Value {
    let i = rng.below(40);
    let uuid = format!("{{5a1e0f7c-{i:04}-4c9b-9a38-0c2f0a6b7e01}}");
    json!({
        "type": "user",
        "display_name": format!("Developer {i}"),
        "uuid": uuid,
        "account_id": format!("557058:{i:08x}-aaaa-bbbb-cccc-{i:012x}"),
        "nickname": format!("dev{i}"),
        "links": {
            "self": {"href": format!("https://api.bitbucket.org/2.0/users/%7B5a1e0f7c-{i:04}-4c9b-9a38-0c2f0a6b7e01%7D")},
            "avatar": {"href": format!("https://secure.gravatar.com/avatar/{:032x}?d=https%3A%2F%2Favatar-management--avatars.us-west-2.prod.public.atl-paas.net%2Finitials%2FD-{i}.png", u128::from(rng.next_u64()))},
            "html": {"href": format!("https://bitbucket.org/%7B5a1e0f7c-{i:04}-4c9b-9a38-0c2f0a6b7e01%7D/")}
        }
    })
}

fn repository() -> Value {
    json!({
        "type": "repository",
        "full_name": format!("{WS}/{REPO}"),
        "name": REPO,
        "uuid": "{0d6a3c1e-2222-4d6f-8c1b-2f3e4a5b6c7d}",
        "links": {
            "self": {"href": API},
            "html": {"href": format!("https://bitbucket.org/{WS}/{REPO}")},
            "avatar": {"href": format!("https://bytebucket.org/ravatar/%7B0d6a3c1e-2222-4d6f-8c1b-2f3e4a5b6c7d%7D?ts=default")}
        }
    })
}

fn commit_ref(hash: &str) -> Value {
    json!({
        "type": "commit",
        "hash": hash,
        "links": {
            "self": {"href": format!("{API}/commit/{hash}")},
            "html": {"href": format!("https://bitbucket.org/{WS}/{REPO}/commits/{hash}")}
        }
    })
}

fn rendered(text: &str) -> Value {
    json!({"type": "rendered", "raw": text, "markup": "markdown", "html": format!("<p>{}</p>", text.replace('\n', "<br>"))})
}

/// One pull request as the list endpoint returns it (default fields).
pub fn pull_request(rng: &mut Rng, id: u64) -> Value {
    let merged = rng.below(10) < 8;
    let title = format!("Add checkout retry with exponential backoff ({id})");
    let description = format!(
        "This change adds retries to the checkout client.\n\n* backoff with jitter\n* circuit breaker after 5 failures\n\nFixes WEB-{}",
        rng.below(5000)
    );
    let merge = rng.sha();
    let links: Value = [
        "self",
        "html",
        "commits",
        "approve",
        "request-changes",
        "diff",
        "diffstat",
        "comments",
        "activity",
        "merge",
        "decline",
        "statuses",
    ]
    .iter()
    .map(|k| {
        let href = if *k == "html" {
            format!("https://bitbucket.org/{WS}/{REPO}/pull-requests/{id}")
        } else if *k == "self" {
            format!("{API}/pullrequests/{id}")
        } else {
            format!("{API}/pullrequests/{id}/{k}")
        };
        ((*k).to_string(), json!({"href": href}))
    })
    .collect::<serde_json::Map<_, _>>()
    .into();
    json!({
        "type": "pullrequest",
        "id": id,
        "title": title,
        "description": description,
        "summary": rendered(&description),
        "rendered": {"title": rendered(&title), "description": rendered(&description)},
        "state": if merged { "MERGED" } else { "DECLINED" },
        "author": account(rng),
        "source": {
            "branch": {"name": format!("feature/checkout-retry-{id}")},
            "commit": commit_ref(&rng.sha()[..12]),
            "repository": repository()
        },
        "destination": {
            "branch": {"name": "main"},
            "commit": commit_ref(&rng.sha()[..12]),
            "repository": repository()
        },
        "merge_commit": if merged { commit_ref(&merge[..12]) } else { Value::Null },
        "close_source_branch": true,
        "closed_by": account(rng),
        "reason": if merged { "" } else { "Superseded by a different approach" },
        "comment_count": rng.below(12),
        "task_count": rng.below(3),
        "created_on": date(rng),
        "updated_on": date(rng),
        "links": links
    })
}

/// One commit as the commits endpoint returns it (default fields).
pub fn commit(rng: &mut Rng) -> Value {
    let hash = rng.sha();
    let n = rng.below(100);
    let message = if n < 3 {
        format!(
            "Revert \"Add checkout retry\"\n\nThis reverts commit {}.\n",
            rng.sha()
        )
    } else if n < 40 {
        format!(
            "Merged in feature/checkout-retry-{n} (pull request #{n})\n\nAdd checkout retry\n\n* wip: retry client\n* tests\n\nApproved-by: Developer {}\n",
            rng.below(40)
        )
    } else {
        "Fix flaky test in checkout client\n".to_string()
    };
    let parents: Vec<Value> = (0..if n < 40 { 2 } else { 1 })
        .map(|_| commit_ref(&rng.sha()))
        .collect();
    let user = account(rng);
    json!({
        "type": "commit",
        "hash": hash,
        "date": date(rng),
        "author": {"type": "author", "raw": format!("{} <dev@acme.io>", user["display_name"].as_str().unwrap_or("")), "user": user},
        "message": message,
        "summary": rendered(&message),
        "links": {
            "self": {"href": format!("{API}/commit/{hash}")},
            "html": {"href": format!("https://bitbucket.org/{WS}/{REPO}/commits/{hash}")},
            "diff": {"href": format!("{API}/diff/{hash}")},
            "approve": {"href": format!("{API}/commit/{hash}/approve")},
            "comments": {"href": format!("{API}/commit/{hash}/comments")},
            "statuses": {"href": format!("{API}/commit/{hash}/statuses")},
            "patch": {"href": format!("{API}/patch/{hash}")}
        },
        "parents": parents,
        "repository": repository()
    })
}

fn page(values: Vec<Value>, next: String, pagelen: usize) -> String {
    json!({"pagelen": pagelen, "size": 4_321, "page": 1, "next": next, "values": values})
        .to_string()
}

/// A page of `n` pull requests (the API caps `pagelen` at 50).
pub fn pull_requests_page(rng: &mut Rng, n: usize) -> String {
    let values = (0..n as u64).map(|i| pull_request(rng, 1000 + i)).collect();
    page(
        values,
        format!("{API}/pullrequests?state=MERGED&pagelen={n}&page=2"),
        n,
    )
}

/// A page of `n` commits (`pagelen` up to 100).
pub fn commits_page(rng: &mut Rng, n: usize) -> String {
    let values = (0..n).map(|_| commit(rng)).collect();
    page(values, format!("{API}/commits/main?page=7f3a9c2e"), n)
}
