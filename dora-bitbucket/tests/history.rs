//! The commit walk on a real git history: a repository built with the `git`
//! CLI (merges with `--no-ff`, rebased topic branches whose commits were
//! authored years before they merged, long-lived branches forked long before
//! the window that take main in along the way, squash merges, interleaved
//! work), served on 127.0.0.1 in the Bitbucket API shapes: `commits/main`
//! newest first in `git log --date-order` order with `pagelen` and `next`,
//! pull requests with their merge commits, the activity stream, production
//! deployments, and each pull request's own commits.
//!
//! The lead time of every merged pull request must start at the earliest author
//! date in `git rev-list M^1..M^2` (the PR's own commits after a squash merge),
//! for a few requests per merged pull request.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::{EMAIL, TOKEN};
use dora_bitbucket::{Bitbucket, SyncStats};
use dora_core::{CollectRequest, Config, Dataset, PullRequestState, TimeRange, compute_at};
use dora_http::{InstantSleeper, RetryPolicy};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

type Time = DateTime<Utc>;

const PROD: &str = "{e1a2b3c4-0000-4000-8000-000000000003}";
const JANE: &str = "{5a1e0f7c-1111-4c9b-9a38-0c2f0a6b7e01}";
const REMEDY: &str = "raise the commit-walk cap: `--max-commit-pages N` (dora.toml `[sources.bitbucket] max_commit_pages`, Python `max_commit_pages=`)";

fn day(y: i32, m: u32, d: u32) -> Time {
    Utc.with_ymd_and_hms(y, m, d, 9, 0, 0).unwrap()
}

fn window() -> TimeRange {
    TimeRange::new(day(2024, 1, 1), day(2024, 4, 1))
}

/// A git repository in a temporary directory, every commit dated explicitly.
struct Git {
    _dir: tempfile::TempDir,
    path: PathBuf,
    files: usize,
    /// The branch checked out.
    current: String,
}

impl Git {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().to_path_buf();
        let git = Self {
            _dir: dir,
            path,
            files: 0,
            current: "main".into(),
        };
        git.run(&["init", "-q", "-b", "main"], None, None);
        git
    }

    fn run(&self, args: &[&str], author: Option<Time>, committer: Option<Time>) -> String {
        let mut cmd = Command::new("git");
        cmd.current_dir(&self.path)
            .args([
                "-c",
                "commit.gpgsign=false",
                "-c",
                "core.hooksPath=/dev/null",
            ])
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("HOME", &self.path)
            .env("GIT_AUTHOR_NAME", "Jane Doe")
            .env("GIT_AUTHOR_EMAIL", "jane@acme.io")
            .env("GIT_COMMITTER_NAME", "Jane Doe")
            .env("GIT_COMMITTER_EMAIL", "jane@acme.io");
        if let Some(t) = author {
            cmd.env("GIT_AUTHOR_DATE", t.to_rfc3339());
        }
        if let Some(t) = committer {
            cmd.env("GIT_COMMITTER_DATE", t.to_rfc3339());
        }
        let out = cmd.output().expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_owned()
    }

    fn checkout(&mut self, branch: &str) {
        if self.current != branch {
            self.run(&["checkout", "-q", branch], None, None);
            self.current = branch.to_owned();
        }
    }

    /// An (empty) commit on the current branch: the graph and the dates are
    /// what matters, and empty commits keep checkouts and rebases fast.
    fn commit(&mut self, message: &str, author: Time, committer: Time) {
        self.files += 1;
        let message = format!("{message} ({})", self.files);
        self.run(
            &["commit", "-q", "--allow-empty", "-m", &message],
            Some(author),
            Some(committer),
        );
    }

    fn head(&self) -> String {
        self.run(&["rev-parse", "HEAD"], None, None)
    }

    fn rev_list(&self, range: &str) -> Vec<String> {
        let out = self.run(&["rev-list", range], None, None);
        out.lines().map(str::to_owned).collect()
    }

    /// `commits/main` as Bitbucket lists it: newest first, `git log` order.
    fn log(&self, rev: &str) -> Vec<Value> {
        let out = self.run(
            &[
                "log",
                "--date-order",
                "--format=%H%x1f%P%x1f%aI%x1f%an <%ae>%x1f%B%x1e",
                rev,
            ],
            None,
            None,
        );
        out.split('\x1e')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|record| {
                let f: Vec<&str> = record.split('\x1f').collect();
                let parents: Vec<Value> = f[1]
                    .split_whitespace()
                    .map(|p| json!({"type": "commit", "hash": p}))
                    .collect();
                json!({
                    "type": "commit", "hash": f[0], "date": f[2],
                    "author": {"type": "author", "raw": f[3]},
                    "message": format!("{}\n", f[4]), "parents": parents,
                })
            })
            .collect()
    }
}

/// One pull request of the history.
#[derive(Debug, Clone)]
struct Pr {
    id: u64,
    branch: String,
    created: Time,
    merged: Time,
    merge_commit: String,
    /// `git rev-list M^1..M^2`, or the squashed branch's commits.
    commits: Vec<String>,
    squash: bool,
}

/// What happens when, replayed in time order so that branches interleave.
#[derive(Debug, Clone)]
enum Event {
    /// A new branch from main (`back` commits behind its head).
    Fork {
        branch: String,
        back: usize,
    },
    Commit {
        branch: String,
        author: Time,
    },
    /// Rebase the branch onto main (author dates kept).
    Rebase {
        branch: String,
    },
    /// Take main into the branch (a long-lived branch catching up).
    CatchUp {
        branch: String,
    },
    Merge {
        branch: String,
        id: u64,
        squash: bool,
    },
    Direct,
    Deploy,
}

struct History {
    git: Git,
    prs: Vec<Pr>,
    /// (id, commit, finished), oldest first.
    deployments: Vec<(String, String, Time)>,
    /// Main's head over time, oldest first.
    main_heads: Vec<(Time, String)>,
    /// Every commit of every branch, as Bitbucket lists commits.
    all: Vec<Value>,
    author_dates: HashMap<String, Time>,
}

/// A few hundred commits over three years; 80-odd pull requests merged
/// since the history cut-off.
fn build_history() -> History {
    let mut events: Vec<(Time, Event)> = Vec::new();
    let mut at = |t: Time, e: Event| events.push((t, e));
    let h = Duration::hours;
    let mut id = 0u64;
    let mut next_id = || {
        id += 1;
        id
    };

    // Years of old history: direct commits and small merged topics.
    let mut t = day(2018, 1, 4);
    let mut n = 0;
    while t < day(2023, 11, 20) {
        n += 1;
        if n % 4 == 0 {
            let b = format!("old/topic-{n}");
            at(
                t,
                Event::Fork {
                    branch: b.clone(),
                    back: 0,
                },
            );
            at(
                t + h(1),
                Event::Commit {
                    branch: b.clone(),
                    author: t + h(1),
                },
            );
            at(
                t + h(2),
                Event::Commit {
                    branch: b.clone(),
                    author: t + h(2),
                },
            );
            at(
                t + h(3),
                Event::Merge {
                    branch: b,
                    id: next_id(),
                    squash: false,
                },
            );
        } else {
            at(t, Event::Direct);
        }
        t += Duration::days(3);
    }

    // Long-lived branches forked long before the window, merged inside it.
    for (k, (fork, merge, catch_up)) in [
        (day(2019, 6, 3), day(2024, 2, 15), Some(day(2023, 6, 1))),
        (day(2023, 8, 21), day(2024, 3, 1), Some(day(2024, 1, 10))),
        (day(2023, 11, 27), day(2024, 1, 22), None),
        (day(2023, 12, 12), day(2024, 3, 20), Some(day(2024, 2, 20))),
    ]
    .into_iter()
    .enumerate()
    {
        let b = format!("long/lived-{k}");
        at(
            fork,
            Event::Fork {
                branch: b.clone(),
                back: 0,
            },
        );
        let mut c = fork + h(5);
        while c < merge - Duration::days(2) {
            at(
                c,
                Event::Commit {
                    branch: b.clone(),
                    author: c,
                },
            );
            c += Duration::days(if k == 0 { 61 } else { 23 + 7 * k as i64 });
        }
        if let Some(t) = catch_up {
            at(t, Event::CatchUp { branch: b.clone() });
        }
        at(
            merge,
            Event::Merge {
                branch: b,
                id: 0,
                squash: false,
            },
        );
    }

    // Since the cut-off: topics of 1–5 commits, a third of them rebased
    // commits authored months or years earlier, some squash merged; they
    // overlap, so their commits interleave in `git log`.
    let mut t = day(2023, 12, 1);
    let mut k: u32 = 0;
    while t < day(2024, 3, 28) {
        k += 1;
        let b = format!("feature/topic-{k}");
        let commits = 1 + k % 5;
        let rebased = k.is_multiple_of(3);
        let squash = k.is_multiple_of(11);
        if rebased {
            // Written long ago on an old base, rebased just before review.
            let written = day(2019 + (k % 4) as i32, 1 + (k % 12), 3);
            at(
                t,
                Event::Fork {
                    branch: b.clone(),
                    back: 40,
                },
            );
            for c in 0..commits {
                at(
                    t + h(1 + c as i64),
                    Event::Commit {
                        branch: b.clone(),
                        author: written + Duration::days(c as i64 * 3),
                    },
                );
            }
            at(t + h(20), Event::Rebase { branch: b.clone() });
        } else {
            at(
                t,
                Event::Fork {
                    branch: b.clone(),
                    back: 0,
                },
            );
            for c in 0..commits {
                let when = t + h(3 + 7 * c as i64);
                at(
                    when,
                    Event::Commit {
                        branch: b.clone(),
                        author: when,
                    },
                );
            }
        }
        at(
            t + h(50 + (k % 4) as i64 * 13),
            Event::Merge {
                branch: b,
                id: 0,
                squash,
            },
        );
        if k.is_multiple_of(4) {
            at(t + h(30), Event::Direct);
        }
        t += h(31);
    }
    // Production deployments: the baseline before the window, then twice a week.
    at(day(2023, 12, 20) + h(7), Event::Deploy);
    let mut t = day(2024, 1, 2);
    while t < day(2024, 4, 1) {
        at(t + h(8), Event::Deploy);
        t += Duration::days(3);
    }

    // Replay in time order (stable for ties).
    events.sort_by_key(|(t, _)| *t);
    let mut git = Git::new();
    let start = day(2018, 1, 1);
    git.commit("Initial commit", start, start);
    let mut prs = Vec::new();
    let mut deployments = Vec::new();
    let mut pr_ids = 1000u64;
    let mut forked: HashMap<String, Time> = HashMap::new();
    let mut first_commit_at: HashMap<String, Time> = HashMap::new();
    let mut main_heads = vec![(start, git.head())];
    for (t, event) in events {
        match event {
            Event::Fork { branch, back } => {
                git.run(&["branch", &branch, &format!("main~{back}")], None, None);
                forked.insert(branch, t);
            }
            Event::Commit { branch, author } => {
                git.checkout(&branch);
                git.commit(&format!("Work on {branch}"), author, t);
                first_commit_at.entry(branch).or_insert(t);
            }
            Event::Rebase { branch } => {
                git.checkout(&branch);
                git.run(&["rebase", "-q", "--keep-empty", "main"], None, Some(t));
            }
            Event::CatchUp { branch } => {
                git.checkout(&branch);
                git.run(
                    &[
                        "merge",
                        "-q",
                        "--no-ff",
                        "--no-edit",
                        "-m",
                        "Merge main into branch",
                        "main",
                    ],
                    Some(t),
                    Some(t),
                );
            }
            Event::Merge { branch, id, squash } => {
                let id = if id == 0 {
                    pr_ids += 1;
                    pr_ids
                } else {
                    id
                };
                git.checkout("main");
                let before = git.head();
                let branch_commits = git.rev_list(&format!("{before}..{branch}"));
                let message =
                    format!("Merged in {branch} (pull request #{id})\n\nWork on {branch}");
                if squash {
                    git.run(&["merge", "-q", "--squash", &branch], None, None);
                    git.run(
                        &["commit", "-q", "--allow-empty", "-m", &message],
                        Some(t),
                        Some(t),
                    );
                } else {
                    git.run(
                        &["merge", "-q", "--no-ff", "-m", &message, &branch],
                        Some(t),
                        Some(t),
                    );
                }
                let merge_commit = git.head();
                main_heads.push((t, merge_commit.clone()));
                let commits = if squash {
                    branch_commits
                } else {
                    git.rev_list(&format!("{merge_commit}^1..{merge_commit}^2"))
                };
                let created = first_commit_at
                    .get(&branch)
                    .copied()
                    .unwrap_or(t - h(2))
                    .max(forked.get(&branch).copied().unwrap_or(t))
                    + h(1);
                // Opened once its commits were pushed.
                let created = created.max(t - h(4)).min(t - Duration::minutes(30));
                prs.push(Pr {
                    id,
                    branch,
                    created,
                    merged: t,
                    merge_commit,
                    commits,
                    squash,
                });
            }
            Event::Direct => {
                git.checkout("main");
                git.commit("Direct change on main", t, t);
                main_heads.push((t, git.head()));
            }
            Event::Deploy => {
                let n = deployments.len() + 1;
                deployments.push((
                    format!("{{de000000-0000-4000-8000-{n:012}}}"),
                    git.run(&["rev-parse", "main"], None, None),
                    t + Duration::minutes(10),
                ));
            }
        }
    }
    git.checkout("main");
    let all = git.log("--all");
    let author_dates = all
        .iter()
        .map(|c| {
            (
                c["hash"].as_str().unwrap_or_default().to_owned(),
                time_of(&c["date"]),
            )
        })
        .collect();
    History {
        git,
        prs,
        deployments,
        main_heads,
        all,
        author_dates,
    }
}

/// The repository's state as the server answers it.
struct Served {
    base: String,
    commits: Vec<Value>,
    prs: Vec<Value>,
    activity: Vec<Value>,
    deployments: Vec<Value>,
    pr_commits: HashMap<u64, Vec<Value>>,
    /// Page size of `commits/main` (at most the client's `pagelen`).
    commit_page: usize,
    /// Serve the deployments before the window (the baseline)?
    baseline: bool,
}

#[derive(Clone)]
struct Server(Arc<Mutex<Served>>);

fn param(request: &Request, key: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn page(base: &str, request: &Request, items: &[Value], max: usize) -> ResponseTemplate {
    let pagelen: usize = param(request, "pagelen")
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let size = max.min(pagelen).max(1);
    let number: usize = param(request, "page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let start = (number - 1) * size;
    let slice: Vec<Value> = items.iter().skip(start).take(size).cloned().collect();
    let mut body = json!({"pagelen": size, "page": number, "values": slice});
    if start + size < items.len() {
        let mut next = request.url.clone();
        let base = url::Url::parse(base).expect("server address");
        next.set_host(base.host_str()).expect("host");
        next.set_port(base.port()).expect("port");
        let pairs: Vec<(String, String)> = next
            .query_pairs()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        next.query_pairs_mut()
            .clear()
            .extend_pairs(pairs)
            .append_pair("page", &(number + 1).to_string());
        body["next"] = json!(next.to_string());
    }
    ResponseTemplate::new(200).set_body_json(body)
}

fn not_found() -> ResponseTemplate {
    ResponseTemplate::new(404)
        .set_body_json(json!({"type": "error", "error": {"message": "Resource not found"}}))
}

fn time_of(v: &Value) -> Time {
    DateTime::parse_from_rfc3339(v.as_str().expect("time"))
        .expect("time")
        .with_timezone(&Utc)
}

/// Hashes reachable from `from` in `commits`.
fn reachable(commits: &[Value], from: &str) -> HashSet<String> {
    let parents: HashMap<&str, Vec<&str>> = commits
        .iter()
        .map(|c| {
            (
                c["hash"].as_str().unwrap_or_default(),
                c["parents"]
                    .as_array()
                    .map(|ps| ps.iter().filter_map(|p| p["hash"].as_str()).collect())
                    .unwrap_or_default(),
            )
        })
        .collect();
    let mut seen = HashSet::new();
    let mut todo = vec![from];
    while let Some(h) = todo.pop() {
        if seen.insert(h.to_owned()) {
            todo.extend(parents.get(h).into_iter().flatten().copied());
        }
    }
    seen
}

impl Respond for Server {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let s = self.0.lock().expect("state");
        let path = request.url.path().to_owned();
        let Some(rest) = path.strip_prefix("/2.0/repositories/acme/hist") else {
            return not_found();
        };
        let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
        match parts.as_slice() {
            [] => ResponseTemplate::new(200).set_body_json(
                json!({"slug": "hist", "full_name": "acme/hist", "mainbranch": {"name": "main"}}),
            ),
            ["environments"] => page(
                &s.base,
                request,
                &[
                    json!({"uuid": PROD, "name": "Production", "environment_type": {"name": "Production"}}),
                ],
                100,
            ),
            ["deployments"] => page(&s.base, request, &s.deployments, 100),
            ["pullrequests"] => {
                let mut prs = s.prs.clone();
                if let Some(q) = param(request, "q") {
                    let t = q.trim_start_matches("updated_on >= ");
                    let t = time_of(&json!(t));
                    prs.retain(|p| time_of(&p["updated_on"]) >= t);
                }
                prs.sort_by_key(|p| std::cmp::Reverse(time_of(&p["updated_on"])));
                page(&s.base, request, &prs, 50)
            }
            ["pullrequests", "activity"] => page(&s.base, request, &s.activity, 50),
            ["pullrequests", id, "activity"] => {
                let id: u64 = id.parse().expect("id");
                let own: Vec<Value> = s
                    .activity
                    .iter()
                    .filter(|a| a["pull_request"]["id"] == id)
                    .cloned()
                    .collect();
                page(&s.base, request, &own, 50)
            }
            ["pullrequests", id, "commits"] => {
                let id: u64 = id.parse().expect("id");
                match s.pr_commits.get(&id) {
                    Some(commits) => page(&s.base, request, commits, 100),
                    None => not_found(),
                }
            }
            ["commits", "main"] => {
                let mut commits = s.commits.clone();
                if let Some(exclude) = param(request, "exclude") {
                    let old = reachable(&s.commits, &exclude);
                    commits.retain(|c| !old.contains(c["hash"].as_str().unwrap_or_default()));
                }
                page(&s.base, request, &commits, s.commit_page)
            }
            _ => not_found(),
        }
    }
}

fn account() -> Value {
    json!({"type": "user", "display_name": "Jane Doe", "uuid": JANE})
}

fn iso(t: Time) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

/// Serve the history `until` a time (commits, merges and deployments up to it).
async fn serve(
    history: &History,
    until: Time,
    commit_page: usize,
    baseline: bool,
) -> (MockServer, Server) {
    let server = MockServer::start().await;
    let state = Server(Arc::new(Mutex::new(Served {
        base: server.uri(),
        commits: Vec::new(),
        prs: Vec::new(),
        activity: Vec::new(),
        deployments: Vec::new(),
        pr_commits: HashMap::new(),
        commit_page,
        baseline,
    })));
    state.show(history, until);
    Mock::given(any())
        .respond_with(state.clone())
        .mount(&server)
        .await;
    (server, state)
}

impl Server {
    /// The repository as it was at `until`.
    fn show(&self, history: &History, until: Time) {
        let prs: Vec<&Pr> = history.prs.iter().filter(|p| p.merged <= until).collect();
        let head = history
            .main_heads
            .iter()
            .rev()
            .find(|(t, _)| *t <= until)
            .map(|(_, c)| c.clone())
            .expect("a head");
        let commits = history.git.log(&head);
        let by_hash: HashMap<&str, &Value> = history
            .all
            .iter()
            .map(|c| (c["hash"].as_str().unwrap_or_default(), c))
            .collect();
        let mut s = self.0.lock().expect("state");
        let baseline = s.baseline;
        s.commits = commits;
        s.prs = prs
            .iter()
            .map(|p| {
                json!({
                    "id": p.id, "title": format!("Change {}", p.branch), "state": "MERGED",
                    "author": account(),
                    "source": {"branch": {"name": p.branch}},
                    "destination": {"branch": {"name": "main"}},
                    "merge_commit": {"hash": &p.merge_commit[..12], "date": iso(p.merged)},
                    "created_on": iso(p.created), "updated_on": iso(p.merged + Duration::minutes(1)),
                })
            })
            .collect();
        let mut activity: Vec<(Time, Value)> = prs
            .iter()
            .map(|p| {
                (
                    p.merged,
                    json!({"update": {"state": "MERGED", "date": iso(p.merged), "author": account()},
                           "pull_request": {"id": p.id}}),
                )
            })
            .collect();
        activity.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
        s.activity = activity.into_iter().map(|(_, a)| a).collect();
        s.deployments = history
            .deployments
            .iter()
            .rev()
            .filter(|(_, _, t)| *t <= until && (baseline || *t >= window().start))
            .map(|(id, commit, t)| {
                json!({
                    "type": "deployment", "uuid": id,
                    "environment": {"uuid": PROD},
                    "release": {"commit": {"hash": commit}},
                    "state": {"name": "COMPLETED", "status": {"name": "SUCCESSFUL"},
                              "started_on": iso(*t - Duration::minutes(5)), "completed_on": iso(*t)},
                })
            })
            .collect();
        s.pr_commits = prs
            .iter()
            .map(|p| {
                let own = p
                    .commits
                    .iter()
                    .filter_map(|sha| by_hash.get(sha.as_str()).map(|c| (*c).clone()))
                    .collect();
                (p.id, own)
            })
            .collect();
    }
}

fn source(server: &MockServer, max_commit_pages: Option<usize>) -> Bitbucket {
    let mut builder = Bitbucket::builder("acme")
        .with_repo("hist")
        .with_base_url(format!("{}/2.0", server.uri()))
        .with_basic_auth(EMAIL, TOKEN)
        .with_timeout(StdDuration::from_secs(10))
        .with_retry_policy(RetryPolicy::default().with_seed(7))
        .with_http(|http| http.with_sleeper(InstantSleeper::new()));
    if let Some(pages) = max_commit_pages {
        builder = builder.with_max_commit_pages(pages);
    }
    builder.build().expect("source builds")
}

fn config() -> Config {
    Config {
        days: 91,
        until: Some(window().end),
        ..Config::default()
    }
}

/// Per merged PR of the window: expected first commit (earliest author date
/// of its branch commits) against the report's; returns the PRs that differ
/// or are missing, with a description.
fn compare(history: &History, data: &Dataset) -> (usize, Vec<String>) {
    compare_from(history, data, window().start)
}

/// [`compare`] for the PRs merged from `from` on.
fn compare_from(history: &History, data: &Dataset, from: Time) -> (usize, Vec<String>) {
    let report = compute_at(data, &config(), window().end);
    let rows: HashMap<u64, Time> = report
        .changes
        .iter()
        .map(|c| (c.pull_request, c.first_commit_at))
        .collect();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for pr in &history.prs {
        // Shipped by a deployment inside the window.
        if pr.merged < from || pr.merged >= day(2024, 3, 29) {
            continue;
        }
        checked += 1;
        let expected = pr
            .commits
            .iter()
            .map(|c| history.author_dates[c])
            .min()
            .unwrap_or(pr.created)
            .min(pr.created);
        match rows.get(&pr.id) {
            Some(got) if *got == expected => {}
            Some(got) => wrong.push(format!(
                "#{} ({}{}): first commit {got}, expected {expected} ({} days off)",
                pr.id,
                pr.branch,
                if pr.squash { ", squash" } else { "" },
                (*got - expected).num_days()
            )),
            None => wrong.push(format!("#{} ({}): no lead time", pr.id, pr.branch)),
        }
    }
    (checked, wrong)
}

/// Built once per test binary (a few seconds of `git`).
fn history() -> &'static History {
    static HISTORY: std::sync::OnceLock<History> = std::sync::OnceLock::new();
    HISTORY.get_or_init(build_history)
}

/// The history cut-off: the baseline deployment's finish minus the margin.
fn cutoff(history: &History) -> Time {
    let baseline = history
        .deployments
        .iter()
        .filter(|(_, _, t)| *t < window().start)
        .map(|(_, _, t)| *t)
        .max()
        .expect("a baseline");
    baseline.min(window().start) - Duration::days(14)
}

fn summary(stats: &SyncStats) -> String {
    format!(
        "{} requests for {} merged PRs ({:.3}/PR): {}",
        stats.total_requests(),
        stats.merged_pull_requests,
        stats.requests_per_merged_pr().unwrap_or_default(),
        stats.http
    )
}

#[tokio::test]
async fn every_merged_pr_starts_at_its_earliest_branch_commit() {
    let history = history();
    let total = history.git.rev_list("main").len();
    assert!(total > 1000, "{total} commits");
    let (server, _state) = serve(history, day(2024, 4, 1), 100, true).await;
    let (data, stats) = source(&server, None)
        .collect_with_stats(&CollectRequest::new(window()))
        .await
        .expect("collect");
    let (checked, wrong) = compare(history, &data);
    eprintln!(
        "real history ({total} commits): {checked} merged PRs in the window, {} wrong; {}",
        wrong.len(),
        summary(&stats)
    );
    assert!(checked >= 60, "{checked}");
    assert!(
        wrong.is_empty(),
        "{} of {checked}:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    let per_pr = stats.requests_per_merged_pr().expect("merged PRs");
    assert!(per_pr <= 0.3, "{}", summary(&stats));
    // Not the whole history: the long-lived branch forked in 2019 costs its
    // own commit list, not years of pages.
    let pages = stats.requests("commits") as usize;
    assert!(pages * 100 < total / 2, "{}", summary(&stats));
    assert!(data.collection.history_truncated.is_empty());
    assert!(data.collection.skipped.is_empty());
    let merged = data
        .pull_requests
        .iter()
        .filter(|p| p.state == PullRequestState::Merged)
        .count();
    assert_eq!(merged, stats.merged_pull_requests);
}

#[tokio::test]
async fn without_a_baseline_deployment_old_author_dates_do_not_stop_the_walk() {
    // No production deployment before the window: nothing but the history
    // itself says how far back to walk, and the first page already lists
    // rebased commits authored years ago.
    let history = history();
    let (server, _state) = serve(history, day(2024, 4, 1), 100, false).await;
    let (data, stats) = source(&server, None)
        .collect_with_stats(&CollectRequest::new(window()))
        .await
        .expect("collect");
    // What the first deployment in the window shipped may have shipped before:
    // the engine leaves it out.
    let first = history
        .deployments
        .iter()
        .map(|(_, _, t)| *t)
        .find(|t| *t >= window().start)
        .expect("a deployment in the window");
    let (checked, wrong) = compare_from(history, &data, first);
    eprintln!(
        "real history without a baseline: {checked} merged PRs in the window, {} wrong; {}",
        wrong.len(),
        summary(&stats)
    );
    assert!(
        wrong.is_empty(),
        "{} of {checked}:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    let per_pr = stats.requests_per_merged_pr().expect("merged PRs");
    assert!(per_pr <= 0.3, "{}", summary(&stats));
    assert!(data.collection.history_truncated.is_empty());
}

#[tokio::test]
async fn a_cap_that_truncates_names_the_prs_and_the_remedy() {
    let history = history();
    let (server, _state) = serve(history, day(2024, 4, 1), 100, true).await;
    let (data, stats) = source(&server, Some(1))
        .collect_with_stats(&CollectRequest::new(window()))
        .await
        .expect("collect");
    assert_eq!(stats.requests("commits"), 1);
    let gaps = &data.collection.history_truncated;
    assert!(!gaps.is_empty(), "{}", summary(&stats));
    let by_sha: HashSet<String> = data.commits.iter().map(|c| c.sha.clone()).collect();
    let merged_since_cutoff: BTreeMap<u64, &Pr> = history
        .prs
        .iter()
        .filter(|p| p.merged >= cutoff(history))
        .map(|p| (p.id, p))
        .collect();
    for gap in gaps {
        assert_eq!(gap.repository, "hist");
        assert_eq!(gap.remedy, REMEDY);
        let pr = merged_since_cutoff
            .get(&gap.pull_request)
            .unwrap_or_else(|| panic!("#{} was merged since the cut-off", gap.pull_request));
        assert!(!by_sha.contains(&pr.merge_commit), "#{} was reached", pr.id);
    }
    // Every PR merged since the cut-off is either reached or named.
    let named: HashSet<u64> = gaps.iter().map(|g| g.pull_request).collect();
    for pr in merged_since_cutoff.values() {
        assert!(
            by_sha.contains(&pr.merge_commit) || named.contains(&pr.id),
            "#{} neither reached nor named",
            pr.id
        );
    }
    assert!(
        stats
            .warnings
            .iter()
            .any(|w| w.contains("--max-commit-pages")),
        "{:?}",
        stats.warnings
    );
    // The PRs whose history was reached still measure correctly.
    let (_, wrong) = compare(history, &data);
    assert!(
        wrong.iter().all(|w| w.contains("no lead time")
            || named.iter().any(|id| w.starts_with(&format!("#{id} ")))),
        "{wrong:?}"
    );
}

#[tokio::test]
async fn the_incremental_sync_walks_the_same_history() {
    let history = history();
    let (server, state) = serve(history, day(2024, 2, 10), 100, true).await;
    let source = source(&server, None);
    let scope = "acme/hist";
    let (first, _) = source
        .sync_scope_with_stats(scope, window(), None)
        .await
        .expect("backfill");
    state.show(history, day(2024, 4, 1));
    let (second, stats) = source
        .sync_scope_with_stats(scope, window(), Some(&first.cursor))
        .await
        .expect("sync");
    let mut data = first.data.clone();
    data.extend(second.data.clone());
    data.dedup();
    let (checked, wrong) = compare(history, &data);
    eprintln!(
        "incremental: {checked} merged PRs, {} wrong; second sync {}",
        wrong.len(),
        summary(&stats)
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(second.data.collection.history_truncated.is_empty());
}

#[tokio::test]
async fn an_incremental_sync_stopped_by_the_cap_names_the_prs() {
    let history = history();
    let (server, state) = serve(history, day(2024, 2, 10), 100, true).await;
    let scope = "acme/hist";
    let (first, _) = source(&server, None)
        .sync_scope_with_stats(scope, window(), None)
        .await
        .expect("backfill");
    state.show(history, day(2024, 4, 1));
    let (second, stats) = source(&server, Some(1))
        .sync_scope_with_stats(scope, window(), Some(&first.cursor))
        .await
        .expect("sync");
    assert_eq!(stats.requests("commits"), 1);
    let gaps = &second.data.collection.history_truncated;
    assert!(!gaps.is_empty(), "{}", summary(&stats));
    assert!(
        gaps.iter()
            .all(|g| g.remedy == REMEDY && g.repository == "hist")
    );
    let named: HashSet<u64> = gaps.iter().map(|g| g.pull_request).collect();
    let reached: HashSet<&str> = second.data.commits.iter().map(|c| c.sha.as_str()).collect();
    for pr in history
        .prs
        .iter()
        .filter(|p| p.merged > day(2024, 2, 10) && p.merged <= day(2024, 4, 1))
    {
        assert!(
            reached.contains(pr.merge_commit.as_str()) != named.contains(&pr.id),
            "#{}: reached or named, not both",
            pr.id
        );
    }
    assert!(
        stats
            .warnings
            .iter()
            .any(|w| w.contains("new commits") && w.contains("--max-commit-pages")),
        "{:?}",
        stats.warnings
    );
}

#[tokio::test]
async fn an_open_branch_without_its_commit_list_is_noted() {
    let history = history();
    let (server, state) = serve(history, day(2024, 4, 1), 100, true).await;
    // The long-lived branch forked in 2019 stays open after the walk's budget;
    // its commit list is gone (source branch deleted).
    let long = history
        .prs
        .iter()
        .find(|p| p.branch == "long/lived-0")
        .expect("long-lived branch");
    state.0.lock().expect("state").pr_commits.remove(&long.id);
    let (data, stats) = source(&server, None)
        .collect_with_stats(&CollectRequest::new(window()))
        .await
        .expect("collect");
    let gaps: Vec<u64> = data
        .collection
        .history_truncated
        .iter()
        .map(|g| g.pull_request)
        .collect();
    assert_eq!(gaps, [long.id], "{}", summary(&stats));
    let (_, wrong) = compare(history, &data);
    assert_eq!(wrong.len(), 1, "{wrong:?}");
    assert!(wrong[0].starts_with(&format!("#{} ", long.id)), "{wrong:?}");
}
