//! What the `dora` command's integration tests share: a hermetic `dora`
//! process, a runtime, a temporary directory and the PostgreSQL test server.
#![allow(dead_code)] // each test binary uses a part

use std::path::Path;

/// Variables of the caller's environment that would change what `dora` does:
/// every credential and every `DORA_*` setting (the environment layer of
/// `dora_settings`), the PostgreSQL password and the log filter. Tests start
/// `dora` without them, then set what they mean to.
pub const HOST_VARS: &[&str] = &[
    "BITBUCKET_EMAIL",
    "BITBUCKET_API_TOKEN",
    "BITBUCKET_ACCESS_TOKEN",
    "PAGERDUTY_TOKEN",
    "OPSGENIE_API_KEY",
    "INCIDENTIO_API_KEY",
    "ATLASSIAN_EMAIL",
    "ATLASSIAN_API_TOKEN",
    "DORA_DAYS",
    "DORA_UNTIL",
    "DORA_WORKSPACE",
    "DORA_REPOS",
    "DORA_INCIDENTS",
    "DORA_MAX_WAIT",
    "JSM_CLOUD_ID",
    "JSM_SITE",
    "PGPASSWORD",
    "RUST_LOG",
];

/// `dora` in `dir` (no stray dora.toml) with none of [`HOST_VARS`] set.
pub fn dora(dir: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("dora").expect("the dora binary is built");
    cmd.current_dir(dir);
    for var in HOST_VARS {
        cmd.env_remove(var);
    }
    cmd
}

/// [`dora`] with test tokens for Bitbucket and PagerDuty (the demo server
/// accepts any).
pub fn dora_with_tokens(dir: &Path) -> assert_cmd::Command {
    let mut cmd = dora(dir);
    cmd.env("BITBUCKET_ACCESS_TOKEN", "test-access-token")
        .env("PAGERDUTY_TOKEN", "test-pd-token");
    cmd
}

/// A multi-threaded tokio runtime for the in-process servers.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("tokio runtime")
}

/// A temporary directory, removed when dropped.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

/// The PostgreSQL server for the tests (`DORA_TEST_POSTGRES_URL`, started by
/// scripts/test-all.sh). Unset, a test fails when `DORA_REQUIRE_POSTGRES=1`
/// or `CI` is set, and is skipped (`None`, said on stderr) otherwise.
pub fn postgres_server() -> Option<String> {
    match std::env::var("DORA_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            let required = std::env::var("DORA_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
                || std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0");
            assert!(
                !required,
                "DORA_TEST_POSTGRES_URL is not set but PostgreSQL tests are required: run `bash scripts/test-all.sh`"
            );
            eprintln!("SKIPPED: PostgreSQL test (DORA_TEST_POSTGRES_URL unset)");
            None
        }
    }
}

/// The demo workspace (default seed and options) served on 127.0.0.1.
pub fn demo_server(rt: &tokio::runtime::Runtime) -> dora_testkit::DemoServer {
    rt.block_on(dora_testkit::DemoServer::start(
        dora_testkit::generate(dora_testkit::DEFAULT_SEED),
        dora_testkit::ServerOptions::default(),
    ))
    .expect("the demo server starts")
}
