//! Test databases of both backends. PostgreSQL tests read the server's URL
//! from `DORA_TEST_POSTGRES_URL` (`scripts/test-all.sh` starts a throwaway
//! server and sets it). The rule when it is unset: with `DORA_REQUIRE_POSTGRES=1`
//! or `CI` set (as `scripts/test-all.sh` and `.ci/run` do) the test FAILS;
//! otherwise (a plain `cargo test` on a laptop) it is skipped with a notice.
#![allow(dead_code, clippy::unwrap_used)]

use dora_store::Store;
use std::sync::atomic::{AtomicU32, Ordering};

/// The backend a test body runs against.
pub struct TestDb {
    pub postgres: bool,
    /// A SQLite file path or a PostgreSQL URL of a database of its own.
    pub location: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let location = dir.path().join("dora.db").display().to_string();
        Self {
            postgres: false,
            location,
            _dir: Some(dir),
        }
    }

    /// A fresh PostgreSQL database, or None when the test is to be skipped.
    pub fn postgres() -> Option<Self> {
        let url = postgres_server_url()?;
        Some(Self {
            postgres: true,
            location: fresh_database(&url),
            _dir: None,
        })
    }

    pub fn open(&self) -> Store {
        Store::open_location(&self.location).unwrap()
    }
}

/// The server URL, None (skip) or a panic (required but missing).
pub fn postgres_server_url() -> Option<String> {
    match std::env::var("DORA_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            let required = std::env::var("DORA_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
                || std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0");
            assert!(
                !required,
                "DORA_TEST_POSTGRES_URL is not set but PostgreSQL tests are required \
                 (DORA_REQUIRE_POSTGRES=1 or CI): run `bash scripts/test-all.sh`, which starts a \
                 throwaway server, or `eval \"$(bash scripts/pg-test-server.sh start)\"`"
            );
            eprintln!(
                "SKIPPED: PostgreSQL test (DORA_TEST_POSTGRES_URL unset; scripts/test-all.sh sets it)"
            );
            None
        }
    }
}

/// Create a database of its own for one test; its URL.
pub fn fresh_database(server: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "dora_t_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let server = server.to_string();
    let sql = format!("CREATE DATABASE {name}");
    // The blocking client must not run on an async runtime's thread.
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&server, postgres::NoTls).unwrap();
        client.batch_execute(&sql).unwrap();
    })
    .join()
    .unwrap();
    let base = server_base(&std::env::var("DORA_TEST_POSTGRES_URL").unwrap());
    format!("{base}/{name}")
}

/// `postgres://user@host:port` of a `postgres://user@host:port/db` URL.
fn server_base(url: &str) -> String {
    let after = url.find("://").map_or(0, |i| i + 3);
    match url[after..].find('/') {
        Some(slash) => url[..after + slash].to_string(),
        None => url.to_string(),
    }
}

/// Run a test body against SQLite and PostgreSQL: `both!(body_fn);` makes
/// `body_fn::sqlite` and `body_fn::postgres`.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                super::$name(&super::common::TestDb::sqlite());
            }
            #[test]
            fn postgres() {
                if let Some(db) = super::common::TestDb::postgres() {
                    super::$name(&db);
                }
            }
        }
    )*};
}
