//! The Grafana dashboard (dashboards/grafana/dora.json) against a real
//! PostgreSQL store filled by `dora sync` and `dora report --store`: every
//! panel's SQL, with Grafana's macros substituted, runs and returns rows.
//!
//! Needs `DORA_TEST_POSTGRES_URL` (scripts/test-all.sh starts a throwaway
//! server); unset, the test fails when `DORA_REQUIRE_POSTGRES=1` or `CI` is set
//! and is skipped otherwise.

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const FROM: &str = "'2026-05-01T00:00:00Z'::timestamptz";
const TO: &str = "'2026-11-02T00:00:00Z'::timestamptz";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// Every panel, rows' nested panels included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    let mut stack: Vec<&Value> = dashboard["panels"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    while let Some(p) = stack.pop() {
        if let Some(inner) = p["panels"].as_array() {
            stack.extend(inner.iter());
        }
        out.push(p);
    }
    out
}

/// Grafana's PostgreSQL macros, as Grafana expands them for a fixed range.
fn substitute_macros(sql: &str) -> String {
    let mut out = sql
        .replace("$__timeFrom()", FROM)
        .replace("$__timeTo()", TO);
    while let Some(start) = out.find("$__timeFilter(") {
        let open = start + "$__timeFilter".len();
        let mut depth = 0;
        let mut close = None;
        for (i, c) in out[open..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(open + i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let close = close.unwrap_or_else(|| panic!("unbalanced $__timeFilter in {sql}"));
        let expr = &out[open + 1..close];
        let expanded = format!("({expr}) BETWEEN {FROM} AND {TO}");
        out.replace_range(start..=close, &expanded);
    }
    assert!(
        !out.contains("$__"),
        "a Grafana macro the test does not expand: {out}"
    );
    out
}

#[test]
fn macros_expand() {
    assert_eq!(
        substitute_macros("WHERE $__timeFilter((w ->> 'x')::timestamptz) AND a < $__timeTo()"),
        format!("WHERE ((w ->> 'x')::timestamptz) BETWEEN {FROM} AND {TO} AND a < {TO}")
    );
}

#[test]
fn provisioning_names_the_dashboards_data_source() {
    let root = repo_root().join("dashboards/grafana");
    let datasource = std::fs::read_to_string(root.join("provisioning/datasources/dora.yaml"))
        .expect("datasource provisioning");
    assert!(datasource.contains("uid: dora-postgres"));
    assert!(datasource.contains("type: grafana-postgresql-datasource"));
    assert!(
        !datasource.to_lowercase().contains("password: ")
            || datasource.contains("${DORA_PG_PASSWORD}"),
        "no password in the file: {datasource}"
    );
    let providers = std::fs::read_to_string(root.join("provisioning/dashboards/dora.yaml"))
        .expect("dashboard provisioning");
    assert!(providers.contains("type: file"));
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("dora.json")).expect("dora.json"))
            .expect("dora.json is JSON");
    for p in panels(&dashboard) {
        if p["type"] == "row" {
            continue;
        }
        assert_eq!(p["datasource"]["uid"], "dora-postgres", "{}", p["title"]);
        for t in p["targets"].as_array().expect("targets") {
            assert_eq!(t["datasource"]["uid"], "dora-postgres", "{}", p["title"]);
        }
    }
}

#[test]
fn every_panel_query_runs_on_a_synced_store_and_returns_rows() {
    let Some(server_url) = postgres_server() else {
        return;
    };
    let name = format!("dora_grafana_{}", std::process::id());
    for sql in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        let status = Command::new("psql")
            .env("PGOPTIONS", "--client-min-messages=warning")
            .args([server_url.as_str(), "-q", "-c", &sql])
            .status()
            .expect("psql (postgresql-client) runs");
        assert!(status.success(), "{sql}");
    }
    let base = server_url
        .rsplit_once('/')
        .map_or(server_url.as_str(), |(b, _)| b);
    let store = format!("{base}/{name}");

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let server = demo_server(&rt);
    let dir = tempfile::tempdir().expect("tempdir");
    // The sample's PagerDuty services are named after the repositories.
    let mut toml = String::from("[sources.mapping.services]\n");
    for r in &server.sample().repositories {
        if let Some(service) = &r.service {
            toml.push_str(&format!("\"{service}\" = [\"{}\"]\n", r.slug));
        }
    }
    std::fs::write(dir.path().join("dora.toml"), toml).expect("dora.toml");
    let dora = || {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("dora"));
        for var in HOST_VARS {
            cmd.env_remove(var);
        }
        cmd.current_dir(dir.path())
            .env("BITBUCKET_ACCESS_TOKEN", "t")
            .env("PAGERDUTY_TOKEN", "t");
        cmd
    };
    let bb = server.bitbucket_url();
    let pd = server.pagerduty_url();
    let out = dora()
        .args([
            "sync",
            "--quiet",
            "--store",
            &store,
            "--workspace",
            "acme",
            "--incidents",
            "pagerduty",
            "--until",
            "2026-11-02",
            "--bitbucket-url",
            &bb,
            "--pagerduty-url",
            &pd,
        ])
        .output()
        .expect("dora sync runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = dora()
        .args([
            "report",
            "--quiet",
            "--format",
            "json",
            "--offline",
            "--store",
            &store,
            "--until",
            "2026-11-02",
        ])
        .output()
        .expect("dora report runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("dashboards/grafana/dora.json"))
            .expect("dora.json"),
    )
    .expect("dora.json is JSON");
    let db = dora_store::Store::open_location(&store).expect("the store opens");
    let mut queries = 0;
    for p in panels(&dashboard) {
        let Some(targets) = p["targets"].as_array() else {
            continue;
        };
        for t in targets {
            let sql = t["rawSql"].as_str().expect("every target is raw SQL");
            let sql = substitute_macros(sql);
            let rows = db
                .query_text(&sql)
                .unwrap_or_else(|e| panic!("panel {:?}: {e}\n{sql}", p["title"]));
            assert!(
                !rows.is_empty(),
                "panel {:?} returned no rows:\n{sql}",
                p["title"]
            );
            assert!(
                rows[0].iter().any(Option::is_some),
                "panel {:?} returned only NULLs:\n{sql}",
                p["title"]
            );
            queries += 1;
        }
    }
    assert!(queries >= 12, "{queries} panel queries");
}
