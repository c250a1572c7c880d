//! `dora sync` and `dora report --store` against the in-process demo server:
//! incremental re-syncs are cheap, and reports from the store equal reports
//! from a fresh collection.

use assert_cmd::Command;
use dora_cli::demo::{self, DemoServer, ServerOptions};
use serde_json::Value;
use std::path::Path;

fn dora(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("dora").expect("the dora binary is built");
    cmd.current_dir(dir);
    for var in [
        "BITBUCKET_EMAIL",
        "BITBUCKET_API_TOKEN",
        "OPSGENIE_API_KEY",
        "INCIDENTIO_API_KEY",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("BITBUCKET_ACCESS_TOKEN", "test-access-token")
        .env("PAGERDUTY_TOKEN", "test-pd-token");
    cmd
}

fn json(out: &[u8]) -> Value {
    serde_json::from_slice(out).expect("stdout is JSON")
}

#[test]
fn sync_then_report_from_the_store() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let server = rt
        .block_on(DemoServer::start(
            demo::generate(demo::DEFAULT_SEED),
            ServerOptions::default(),
        ))
        .expect("server");
    let dir = tempfile::tempdir().expect("tempdir");
    let bb = server.bitbucket_url();
    let pd = server.pagerduty_url();
    let source_args = [
        "--workspace",
        "acme",
        "--incidents",
        "pagerduty",
        "--until",
        "2026-11-02",
        "--bitbucket-url",
        bb.as_str(),
        "--pagerduty-url",
        pd.as_str(),
    ];

    let before = server.requests();
    let out = dora(dir.path())
        .args(["sync", "--quiet", "--store", "dora.db"])
        .args(source_args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let first = server.requests() - before;
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("4 repositories synced"), "{text}");

    let before = server.requests();
    let by_endpoint = server.requests_by_endpoint();
    dora(dir.path())
        .args(["sync", "--quiet", "--store", "dora.db"])
        .args(source_args)
        .assert()
        .success();
    let again = server.requests() - before;
    let mut spent = server.requests_by_endpoint();
    for (endpoint, n) in &by_endpoint {
        if let Some(m) = spent.get_mut(endpoint) {
            *m -= n;
        }
    }
    spent.retain(|_, n| *n > 0);
    // Per repository at most one request per endpoint (deployments, pull
    // requests, activity, commits), plus listing the workspace and the
    // incidents; and one re-check of each planned (UNDEPLOYED) production
    // deployment listed past the first page, which may still run.
    let rechecks = spent.get("bitbucket deployment").copied().unwrap_or(0);
    assert!(rechecks <= 10, "{spent:?}");
    assert!(
        again <= 4 * 4 + 2 + 2 + rechecks,
        "no-change re-sync made {again} requests (first: {first}): {spent:?}"
    );
    assert!(again * 4 < first, "re-sync {again} vs first {first}");

    let from_store = json(
        &dora(dir.path())
            .args([
                "report",
                "--quiet",
                "--format",
                "json",
                "--store",
                "dora.db",
                "--offline",
                "--until",
                "2026-11-02",
            ])
            .assert()
            .success()
            .get_output()
            .stdout,
    );
    let fresh = json(
        &dora(dir.path())
            .args(["report", "--quiet", "--format", "json"])
            .args(source_args)
            .assert()
            .success()
            .get_output()
            .stdout,
    );
    for key in [
        "window",
        "deployment_frequency",
        "lead_time",
        "change_failure_rate",
        "recovery_time",
        "rework_rate",
        "repositories",
        "changes",
        "deployments",
        "incidents",
        "diagnostics",
    ] {
        assert_eq!(
            from_store[key], fresh[key],
            "{key} differs between the store and a fresh collection"
        );
    }

    // Sync and report in one go, and the report rows land in the store's views.
    dora(dir.path())
        .args([
            "report", "--quiet", "--format", "json", "--store", "dora.db",
        ])
        .args(source_args)
        .assert()
        .success();
    let store = dora_store::Store::open(dir.path().join("dora.db")).expect("store");
    let changes: i64 = store
        .connection()
        .expect("a SQLite store")
        .query_row("SELECT COUNT(*) FROM v_changes", [], |r| r.get(0))
        .expect("v_changes");
    assert_eq!(
        changes as usize,
        fresh["changes"].as_array().map_or(0, Vec::len)
    );
}

#[test]
fn offline_report_without_a_store_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dora(dir.path())
        .args(["report", "--store", "missing.db", "--offline"])
        .assert()
        .code(6)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
    assert!(err.contains("dora sync --store missing.db"), "{err}");
    assert!(!dir.path().join("missing.db").exists(), "nothing created");
}
