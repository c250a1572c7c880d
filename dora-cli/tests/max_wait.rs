//! `--max-wait` and `[http] max_wait_seconds`: the run's total wait budget,
//! against the in-process demo server answering 429 + `Retry-After: 1`.

mod common;
use common::*;
use dora_testkit::{self as demo, DemoServer, ServerOptions};
use predicates::prelude::*;
use std::path::Path;

fn dora(dir: &Path) -> assert_cmd::Command {
    let mut cmd = common::dora(dir);
    cmd.env("BITBUCKET_ACCESS_TOKEN", "test-access-token");
    cmd
}

fn throttled(rt: &tokio::runtime::Runtime, first: u64) -> DemoServer {
    rt.block_on(DemoServer::start(
        demo::generate(demo::DEFAULT_SEED),
        ServerOptions {
            rate_limit_first: first,
            ..ServerOptions::default()
        },
    ))
    .expect("server")
}

fn report(dir: &Path, server: &DemoServer, extra: &[&str]) -> assert_cmd::assert::Assert {
    dora(dir)
        .args([
            "report",
            "--quiet",
            "--format",
            "json",
            "--workspace",
            "acme",
        ])
        .args(["--repo", "payments-api", "--until", "2026-11-02"])
        .arg("--bitbucket-url")
        .arg(server.bitbucket_url())
        .args(extra)
        .assert()
}

/// Before: there was no total budget (a 429 that never lifts took 5 waits
/// per request). Now `--max-wait 0` gives up at the first 429 (exit 4), and
/// the message says the budget ran out and how to raise it.
#[test]
fn a_spent_budget_fails_with_how_to_raise_it() {
    let rt = runtime();
    let server = throttled(&rt, 1_000);
    let dir = tempfile::tempdir().expect("dir");
    report(dir.path(), &server, &["--max-wait", "0"])
        .code(4)
        .stderr(
            predicate::str::contains("wait budget of 0s is spent")
                .and(predicate::str::contains("--max-wait"))
                .and(predicate::str::contains("max_wait_seconds"))
                .and(predicate::str::contains("hint: run again later")),
        );
    // The same from dora.toml.
    std::fs::write(
        dir.path().join("dora.toml"),
        "[http]\nmax_wait_seconds = 0\n",
    )
    .expect("write");
    report(dir.path(), &server, &[])
        .code(4)
        .stderr(predicate::str::contains("wait budget of 0s is spent"));
    // The flag wins over the file: one 1 s wait fits in 5 s.
    let once = throttled(&rt, 1);
    report(dir.path(), &once, &["--max-wait", "5s"]).success();
}

#[test]
fn a_bad_max_wait_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("dir");
    dora(dir.path())
        .args(["report", "--workspace", "acme", "--max-wait", "soon"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid wait"));
    dora(dir.path())
        .args([
            "sync",
            "--store",
            "x.db",
            "--workspace",
            "acme",
            "--max-wait",
            "-1",
        ])
        .assert()
        .code(2);
    std::fs::write(dir.path().join("dora.toml"), "[http]\nmax_wait = 5\n").expect("write");
    dora(dir.path())
        .args(["report", "--workspace", "acme"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("max_wait"));
}
