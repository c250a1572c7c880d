//! `dora sync` processes sharing one store: several processes opening a fresh
//! store at once (SQLite and PostgreSQL), and cooperating workers on
//! PostgreSQL splitting a 30-repository workspace served with per-request
//! latency: faster than one worker, and the same report.
//!
//! PostgreSQL tests read `DORA_TEST_POSTGRES_URL` (scripts/test-all.sh starts a
//! throwaway server); unset, they fail when `DORA_REQUIRE_POSTGRES=1` or `CI`
//! is set and are skipped otherwise.

mod common;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use common::*;
use dora_testkit::{self as demo, DemoServer, ServerOptions};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const UNTIL: &str = "2026-11-02";
const DAYS: &str = "30";

/// The tests of this file run one at a time: the timing test must not share
/// the two cores with the others.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn dora(dir: &Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("dora"));
    cmd.current_dir(dir);
    for var in HOST_VARS {
        cmd.env_remove(var);
    }
    cmd.env("BITBUCKET_ACCESS_TOKEN", "test-access-token")
        .env("PAGERDUTY_TOKEN", "test-pd-token");
    cmd
}

/// A fresh database on the test server; its URL.
fn fresh_database(server: &str, name: &str) -> String {
    let name = format!("{name}_{}", std::process::id());
    let status = Command::new("psql")
        .env("PGOPTIONS", "--client-min-messages=warning")
        .args([
            server,
            "-q",
            "-c",
            &format!("DROP DATABASE IF EXISTS {name}"),
        ])
        .status()
        .expect("psql (postgresql-client) runs");
    assert!(status.success());
    let status = Command::new("psql")
        .env("PGOPTIONS", "--client-min-messages=warning")
        .args([server, "-q", "-c", &format!("CREATE DATABASE {name}")])
        .status()
        .expect("psql runs");
    assert!(status.success());
    let base = server.rsplit_once('/').map_or(server, |(b, _)| b);
    format!("{base}/{name}")
}

/// The demo sample grown to `n` repositories (copies of the four, renamed).
fn sample_with(n: usize) -> demo::Sample {
    let mut sample = demo::generate(demo::DEFAULT_SEED);
    let base = sample.repositories.clone();
    sample.repositories = (0..n)
        .map(|k| {
            let mut r = base[k % base.len()].clone();
            r.slug = format!("{}-{k:02}", r.slug);
            r.uuid = format!("{{00000000-0000-4000-8000-{k:012}}}");
            r.service = None;
            r
        })
        .collect();
    sample.incidents.clear();
    sample
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

fn sync_args<'a>(store: &'a str, bb: &'a str) -> Vec<&'a str> {
    vec![
        "sync",
        "--store",
        store,
        "--workspace",
        "acme",
        "--until",
        UNTIL,
        "--days",
        DAYS,
        "--bitbucket-url",
        bb,
    ]
}

fn run_together(cmds: Vec<Command>) -> Vec<Output> {
    let children: Vec<_> = cmds
        .into_iter()
        .map(|mut c| {
            c.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("dora starts")
        })
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().expect("dora runs"))
        .collect()
}

fn report(dir: &Path, store: &str) -> Value {
    let out = dora(dir)
        .args([
            "report",
            "--quiet",
            "--format",
            "json",
            "--offline",
            "--until",
            UNTIL,
            "--days",
            DAYS,
            "--store",
            store,
        ])
        .output()
        .expect("dora runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON report")
}

fn three_syncs_on_a_fresh_store(store: &str) {
    let rt = runtime();
    let server = rt
        .block_on(DemoServer::start(sample_with(6), ServerOptions::default()))
        .expect("server");
    let dir = tempfile::tempdir().expect("tempdir");
    let bb = server.bitbucket_url();
    let cmds = (0..3)
        .map(|_| {
            let mut c = dora(dir.path());
            c.args(sync_args(store, &bb)).arg("--quiet");
            c
        })
        .collect();
    for out in run_together(cmds) {
        assert!(
            out.status.success(),
            "exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let r = report(dir.path(), store);
    assert_eq!(r["scope"]["repositories"].as_array().map(Vec::len), Some(6));
}

#[test]
fn three_syncs_starting_together_on_a_fresh_sqlite_file_all_succeed() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("fresh.db").display().to_string();
    three_syncs_on_a_fresh_store(&path);
}

#[test]
fn three_syncs_starting_together_on_a_fresh_postgres_database_all_succeed() {
    let _serial = serial();
    let Some(server) = postgres_server() else {
        return;
    };
    three_syncs_on_a_fresh_store(&fresh_database(&server, "dora_cli_fresh"));
}

/// A cached answer: status, content type, body.
type Answer = (StatusCode, Option<String>, Bytes);

/// A remote API with a fixed latency per request and (nearly) no CPU of its
/// own: a caching proxy in front of the demo server. Each distinct request is
/// fetched from the server once (a warm-up sync does that), then every answer
/// comes from memory after `latency`. Absolute links in the answers (next
/// pages) are rewritten to the proxy.
struct LatencyProxy {
    upstream: String,
    origin: String,
    latency: Duration,
    cache: tokio::sync::Mutex<HashMap<String, Answer>>,
    requests: AtomicU64,
    client: reqwest::Client,
}

impl LatencyProxy {
    async fn start(upstream_origin: String, latency: Duration) -> Arc<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let proxy = Arc::new(Self {
            upstream: upstream_origin,
            origin: format!("http://{addr}"),
            latency,
            cache: tokio::sync::Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            client: reqwest::Client::new(),
        });
        let app = axum::Router::new()
            .fallback(proxy_handle)
            .with_state(proxy.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        proxy
    }

    fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

async fn proxy_handle(
    State(p): State<Arc<LatencyProxy>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    p.requests.fetch_add(1, Ordering::SeqCst);
    let key = format!("{method} {uri} {}", String::from_utf8_lossy(&body));
    let cached = p.cache.lock().await.get(&key).cloned();
    let (status, content_type, bytes) = match cached {
        Some(hit) => {
            tokio::time::sleep(p.latency).await;
            hit
        }
        None => {
            let url = format!("{}{}", p.upstream, uri);
            let mut request = p.client.request(method.clone(), &url).body(body.to_vec());
            for name in ["authorization", "content-type", "accept"] {
                if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
                    request = request.header(name, v);
                }
            }
            let answer = request.send().await.expect("the demo server answers");
            let status = StatusCode::from_u16(answer.status().as_u16()).expect("status");
            let content_type = answer
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let text = answer.text().await.expect("body");
            let bytes = Bytes::from(text.replace(&p.upstream, &p.origin));
            let entry = (status, content_type, bytes);
            if status.is_success() {
                p.cache.lock().await.insert(key, entry.clone());
            }
            entry
        }
    };
    let mut response = (status, bytes).into_response();
    if let Some(ct) = content_type.and_then(|c| c.parse().ok()) {
        response.headers_mut().insert("content-type", ct);
    }
    response
}

/// Sync the 30-repository workspace with `workers` processes into `store`;
/// the wall time, the requests served and each worker's stdout.
fn sync_with_workers(
    proxy: &LatencyProxy,
    store: &str,
    workers: usize,
    dir: &Path,
) -> (Duration, u64, Vec<String>) {
    let bb = format!("{}/2.0", proxy.origin);
    let before = proxy.requests();
    let started = Instant::now();
    let cmds = (0..workers)
        .map(|w| {
            let mut c = dora(dir);
            c.args(sync_args(store, &bb))
                .args(["--worker-id", &format!("w{w}")]);
            c
        })
        .collect();
    let outs = run_together(cmds);
    let wall = started.elapsed();
    let mut stdouts = Vec::new();
    for out in outs {
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{stderr}");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            stderr.contains("took acme/"),
            "progress names the taken repositories: {stderr}"
        );
        stdouts.push(stdout);
    }
    (wall, proxy.requests() - before, stdouts)
}

/// Per-request latency of the simulated API (Bitbucket Cloud answers in
/// 100-500 ms). The demo server itself, a debug build on shared cores, spends
/// tens of milliseconds of CPU per page, which no number of workers can split:
/// the proxy in front of it answers from memory after this latency instead.
const LATENCY_MS: u64 = 60;

#[test]
fn three_workers_split_a_30_repository_first_sync() {
    let _serial = serial();
    let Some(pg) = postgres_server() else {
        return;
    };
    let rt = runtime();
    let server = rt
        .block_on(DemoServer::start(sample_with(30), ServerOptions::default()))
        .expect("server");
    let upstream = server.bitbucket_url().trim_end_matches("/2.0").to_string();
    let proxy = rt.block_on(LatencyProxy::start(
        upstream,
        Duration::from_millis(LATENCY_MS),
    ));
    let dir = tempfile::tempdir().expect("tempdir");
    // Warm-up: every distinct request reaches the demo server once.
    let warm = dir.path().join("warm-up.db").display().to_string();
    let bb = format!("{}/2.0", proxy.origin);
    let out = dora(dir.path())
        .args(sync_args(&warm, &bb))
        .arg("--quiet")
        .output()
        .expect("dora runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let one = fresh_database(&pg, "dora_cli_one_worker");
    let three = fresh_database(&pg, "dora_cli_three_workers");

    let (wall1, requests1, out1) = sync_with_workers(&proxy, &one, 1, dir.path());
    assert!(
        out1[0].contains("synced 30 of 30 repositories"),
        "{}",
        out1[0]
    );
    let (wall3, requests3, out3) = sync_with_workers(&proxy, &three, 3, dir.path());
    let mut taken = 0;
    for out in &out3 {
        let n: usize = out
            .split("synced ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("summary line: {out}"));
        assert!(n >= 1, "every worker took some repositories: {out3:?}");
        taken += n;
    }
    assert_eq!(taken, 30, "each repository synced once: {out3:?}");
    eprintln!(
        "30 repositories, {LATENCY_MS} ms per request: 1 worker {:.2}s / {requests1} requests; 3 workers {:.2}s / {requests3} requests",
        wall1.as_secs_f64(),
        wall3.as_secs_f64()
    );
    // Well under half (a third is the ideal; process start-up and the
    // listing each worker makes come on top).
    assert!(
        wall3.as_secs_f64() < 0.45 * wall1.as_secs_f64(),
        "3 workers {wall3:?} vs 1 worker {wall1:?}"
    );
    // Each worker lists the workspace once; the rest is the same work split.
    assert!(requests3 <= requests1 + 2 * 2, "{requests3} vs {requests1}");

    for out in &out3 {
        eprintln!("{}", out.lines().next().unwrap_or(""));
    }
    let (r3, r1) = (report(dir.path(), &three), report(dir.path(), &one));
    assert_eq!(
        r1["scope"]["repositories"].as_array().map(Vec::len),
        Some(30)
    );
    assert!(
        r3 == r1,
        "the 3-worker store's report differs from the 1-worker store's"
    );
}
