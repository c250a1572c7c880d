//! `dora sync` and `dora report --store` against the in-process demo server:
//! incremental re-syncs are cheap, and reports from the store equal reports
//! from a fresh collection.

mod common;
use common::*;
use serde_json::Value;
use std::path::Path;

fn json(out: &[u8]) -> Value {
    serde_json::from_slice(out).expect("stdout is JSON")
}

#[test]
fn sync_then_report_from_the_store() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let server = demo_server(&rt);
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
    let out = dora_with_tokens(dir.path())
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
    dora_with_tokens(dir.path())
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
        &dora_with_tokens(dir.path())
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
        &dora_with_tokens(dir.path())
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
    dora_with_tokens(dir.path())
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
    let out = dora_with_tokens(dir.path())
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

/// Whether this process runs as root (then file modes do not stop it, and the
/// read-only test runs the report as `nobody`).
fn running_as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn offline_report_from_a_read_only_store() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let server = demo_server(&rt);
    let dir = tempfile::tempdir().expect("tempdir");
    let (bb, pd) = (server.bitbucket_url(), server.pagerduty_url());
    dora_with_tokens(dir.path())
        .args([
            "sync",
            "--quiet",
            "--store",
            "dora.db",
            "--workspace",
            "acme",
        ])
        .args(["--incidents", "pagerduty", "--until", "2026-11-02"])
        .args([
            "--bitbucket-url",
            bb.as_str(),
            "--pagerduty-url",
            pd.as_str(),
        ])
        .assert()
        .success();
    let report = [
        "report",
        "--offline",
        "--format",
        "json",
        "--until",
        "2026-11-02",
    ];
    let writable = json(
        &dora_with_tokens(dir.path())
            .args(report)
            .args(["--store", "dora.db"])
            .assert()
            .success()
            .get_output()
            .stdout,
    );

    // A store in a directory nobody may write, itself read-only; the report
    // runs as a user without write access (`nobody` when the tests run as
    // root, whom file modes do not stop), from a copy of the binary it can
    // reach.
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).expect("mkdir");
    let store = ro.join("dora.db");
    std::fs::copy(dir.path().join("dora.db"), &store).expect("copy the store");
    let bin = dir.path().join("dora");
    std::fs::copy(assert_cmd::cargo::cargo_bin("dora"), &bin).expect("copy the binary");
    let mode = |p: &Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).expect("chmod")
    };
    mode(&bin, 0o755);
    mode(&store, 0o444);
    mode(&ro, 0o555);
    mode(dir.path(), 0o755);
    let before = std::fs::metadata(&store)
        .expect("stat")
        .modified()
        .expect("mtime");
    let mut cmd = std::process::Command::new(&bin);
    cmd.current_dir(&ro)
        .args(report)
        .args(["--store", store.to_str().expect("utf-8 path")])
        .env_clear()
        .env("PATH", "/usr/bin:/bin");
    if running_as_root() {
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().expect("run dora");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("read-only"), "{stderr}");
    let read_only = json(&out.stdout);
    assert_eq!(read_only["metrics"], writable["metrics"]);
    assert_eq!(read_only["accounting"], writable["accounting"]);
    // Nothing was written: no journal beside the store, the file unchanged.
    let files: Vec<String> = std::fs::read_dir(&ro)
        .expect("ls")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    assert_eq!(files, ["dora.db"]);
    let after = std::fs::metadata(&store)
        .expect("stat")
        .modified()
        .expect("mtime");
    assert_eq!(before, after);
    mode(&ro, 0o755);
}
