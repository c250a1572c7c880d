//! The `dora` binary driven as a user would: demo in every format, config-file
//! precedence, credentials and failure exit codes, against the in-process demo
//! server (the same one `dora demo` uses).

mod common;
use chrono::{DateTime, Duration, Utc};
use common::*;
use dora_testkit::{self as demo, DemoServer, ServerOptions};
use predicates::prelude::*;
use serde_json::Value;
use std::path::Path;

fn json_of(output: &[u8]) -> Value {
    serde_json::from_slice(output).expect("stdout is JSON")
}

fn demo_json(dir: &Path, extra: &[&str]) -> Value {
    let out = dora(dir)
        .args(["demo", "--quiet", "--format", "json"])
        .args(extra)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    json_of(&out)
}

fn window(report: &Value) -> (DateTime<Utc>, DateTime<Utc>) {
    let t = |k: &str| {
        report["window"][k]
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
            .expect("window bounds are RFC 3339")
    };
    (t("start"), t("end"))
}

fn assert_schema(report: &Value) {
    let has = |path: &str| {
        let mut v = report;
        for key in path.split('.') {
            v = v.get(key).unwrap_or_else(|| panic!("missing field {path}"));
        }
    };
    for path in [
        "window.start",
        "window.end",
        "deployment_frequency.count",
        "deployment_frequency.per_week",
        "deployment_frequency.deploy_days",
        "deployment_frequency.tier",
        "deployment_frequency.source",
        "lead_time.count",
        "lead_time.median_seconds",
        "lead_time.p90_seconds",
        "lead_time.mean_seconds",
        "lead_time.tier",
        "lead_time.phases.coding.median_seconds",
        "lead_time.phases.pickup.median_seconds",
        "lead_time.phases.review.median_seconds",
        "lead_time.phases.deploy.median_seconds",
        "change_failure_rate.deployments",
        "change_failure_rate.failed",
        "change_failure_rate.rate",
        "change_failure_rate.tier",
        "change_failure_rate.by_signal.failed_deployment",
        "change_failure_rate.by_signal.revert",
        "change_failure_rate.by_signal.hotfix",
        "change_failure_rate.by_signal.rollback",
        "change_failure_rate.by_signal.incident",
        "recovery_time.incidents.count",
        "recovery_time.incidents.unresolved",
        "recovery_time.incidents.median_seconds",
        "recovery_time.incidents.mean_seconds",
        "recovery_time.deployments.count",
        "recovery_time.deployments.median_seconds",
        "recovery_time.deployments.mean_seconds",
        "recovery_time.tier",
        "rework_rate.deployments",
        "rework_rate.rework",
        "rework_rate.rate",
        "scope.repositories",
        "diagnostics",
    ] {
        has(path);
    }
    for d in report["diagnostics"]
        .as_array()
        .expect("diagnostics is an array")
    {
        assert!(d["code"].is_string() && d["message"].is_string());
        assert!(matches!(
            d["severity"].as_str(),
            Some("info" | "warning" | "error")
        ));
    }
}

#[test]
fn demo_json_is_the_documented_schema_and_matches_the_sample() {
    let dir = tempdir();
    let report = demo_json(dir.path(), &[]);
    assert_schema(&report);
    let repos: Vec<&str> = report["scope"]["repositories"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        repos,
        [
            "checkout-web",
            "design-system",
            "payments-api",
            "search-service"
        ]
    );
    for slug in &repos {
        assert!(
            report["repositories"][slug]["lead_time"]["median_seconds"].is_number(),
            "{slug}"
        );
    }
    // The sample's own ground truth, through the real collectors and the core.
    let sample = demo::generate(demo::DEFAULT_SEED);
    let (start, end) = window(&report);
    assert_eq!(end, sample.end);
    assert_eq!(end - start, Duration::days(90));
    let expected = sample.expected(start, end);
    assert_eq!(
        report["deployment_frequency"]["count"].as_u64(),
        Some(expected.successful_production as u64)
    );
    assert!(
        report["change_failure_rate"]["by_signal"]["failed_deployment"].as_u64()
            >= Some(expected.failed_status as u64)
    );
    assert_eq!(report["deployment_frequency"]["source"], "mixed");
    assert_eq!(
        report["repositories"]["design-system"]["deployment_frequency"]["source"],
        "merges"
    );
    let codes: Vec<&str> = report["diagnostics"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    for code in [
        "merge_fallback",
        "no_production_environment",
        "bot_prs_excluded",
    ] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
    for signal in [
        "failed_deployment",
        "revert",
        "hotfix",
        "rollback",
        "incident",
    ] {
        assert!(
            report["change_failure_rate"]["by_signal"][signal].as_u64() > Some(0),
            "the sample should fire {signal}"
        );
    }
    // Deterministic: the same command gives the same bytes.
    assert_eq!(report, demo_json(dir.path(), &[]));
}

#[test]
fn demo_table_shows_tiers_and_repositories() {
    let dir = tempdir();
    dora(dir.path())
        .args(["demo", "--quiet"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("Deployment frequency")
                .and(predicate::str::contains("Lead time for changes"))
                .and(predicate::str::contains("Change failure rate"))
                .and(predicate::str::contains("Recovery time"))
                .and(predicate::str::contains("Rework rate"))
                .and(predicate::str::contains("Per repository"))
                .and(predicate::str::contains("payments-api"))
                .and(predicate::str::contains("merge_fallback")),
        );
}

#[test]
fn demo_csv_sections_and_directory() {
    let dir = tempdir();
    let report = demo_json(dir.path(), &[]);
    let out = dora(dir.path())
        .args(["demo", "--quiet", "--format", "csv"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).expect("utf-8");
    let sections: Vec<&str> = text.split("\n# ").collect();
    assert_eq!(sections.len(), 4, "four sections");
    assert!(text.starts_with("# changes\nrepository,pull_request,"));
    assert!(text.contains("# deployments\nrepository,id,environment,commit,deployed_at,status,"));
    assert!(text.contains("# incidents\nsource,id,title,"));
    assert!(text.contains("# accounting\nkind,fetched,outcome,count\n"));

    let target = dir.path().join("csv-out/");
    dora(dir.path())
        .args(["demo", "--quiet", "--format", "csv", "--output"])
        .arg(&target)
        .assert()
        .success();
    let changes = std::fs::read_to_string(target.join("changes.csv")).expect("changes.csv");
    let deployments =
        std::fs::read_to_string(target.join("deployments.csv")).expect("deployments.csv");
    assert!(target.join("incidents.csv").exists());
    let rows = |s: &str| s.lines().count() - 1;
    assert_eq!(
        rows(&changes),
        report["changes"].as_array().map_or(0, Vec::len)
    );
    assert_eq!(
        rows(&deployments),
        report["deployments"].as_array().map_or(0, Vec::len)
    );
    assert!(deployments.contains("failed_deployment") && deployments.contains("rollback"));
    // The ledger: per kind, used + every exclusion = fetched, as in the JSON.
    let accounting =
        std::fs::read_to_string(target.join("accounting.csv")).expect("accounting.csv");
    for kind in ["pull_requests", "deployments", "incidents", "commits"] {
        let rows: Vec<Vec<&str>> = accounting
            .lines()
            .skip(1)
            .map(|l| l.split(',').collect())
            .filter(|r: &Vec<&str>| r[0] == kind)
            .collect();
        let fetched: u64 = rows[0][1].parse().expect("fetched");
        let sum: u64 = rows
            .iter()
            .map(|r| r[3].parse::<u64>().expect("count"))
            .sum();
        assert_eq!(sum, fetched, "{kind}");
        assert_eq!(
            report["accounting"][kind]["fetched"].as_u64(),
            Some(fetched)
        );
    }
}

#[test]
fn demo_prometheus_is_openmetrics() {
    let dir = tempdir();
    let out = dora(dir.path())
        .args(["demo", "--quiet", "--format", "prometheus"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).expect("utf-8");
    assert!(text.ends_with("# EOF\n"));
    for needle in [
        "dora_repository_deployment_frequency_per_week{repository=\"checkout-web\"} ",
        "dora_lead_time_seconds{quantile=\"0.5\"} ",
        "dora_lead_time_seconds_count ",
        "dora_change_failure_rate ",
        "dora_rework_rate ",
        "dora_recovery_time_seconds{measure=\"incidents\",quantile=\"0.5\"} ",
        "dora_failed_deployments_by_signal{signal=\"rollback\"} ",
        "# TYPE dora_lead_time_seconds summary",
    ] {
        assert!(text.contains(needle), "missing {needle}");
    }
    // Every sample line is `name{labels} number`, every family declared once.
    let mut declared = std::collections::HashSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let name = rest.split(' ').next().unwrap_or_default();
            assert!(declared.insert(name.to_string()), "{name} declared twice");
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (name_labels, value) = line.rsplit_once(' ').expect("name and value");
        assert!(value.parse::<f64>().is_ok(), "bad value in {line}");
        let name = name_labels.split('{').next().unwrap_or_default();
        let family = ["_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .filter(|f| declared.contains(*f))
            .unwrap_or(name);
        assert!(declared.contains(family), "{name} has no TYPE line");
    }
}

#[test]
fn demo_html_is_one_self_contained_page() {
    let dir = tempdir();
    let file = dir.path().join("report.html");
    dora(dir.path())
        .args(["demo", "--quiet", "--format", "html", "--output"])
        .arg(&file)
        .assert()
        .success();
    let html = std::fs::read_to_string(&file).expect("html written");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        html.matches("<svg class=\"chart\"").count() >= 5,
        "five trend charts"
    );
    assert!(html.contains("Median lead time by phase"));
    assert!(html.contains("Failed deployments ("));
    assert!(html.contains("class=\"signal\">rollback"));
    assert!(html.contains("Diagnostics ("));
    assert!(!html.contains("<script"), "no JavaScript");
    for attr in ["src=\"http", "url(http", "@import", "<link"] {
        assert!(!html.contains(attr), "external asset: {attr}");
    }
    // Hyperlinks out (to the PR, commit, pipeline run or incident) are not
    // assets: every `href="http…` is an anchor's.
    let hrefs = html.matches("href=\"http").count();
    let anchors = html.matches("<a href=\"http").count();
    assert_eq!(hrefs, anchors, "only anchors point outside the page");
}

#[test]
fn config_file_and_flag_precedence() {
    let dir = tempdir();
    std::fs::write(
        dir.path().join("dora.toml"),
        "days = 30\nseverities = [\"P1\"]\n",
    )
    .expect("write");
    // ./dora.toml is read by default...
    let r = demo_json(dir.path(), &[]);
    assert_eq!(r["window"]["days"], 30);
    // ...flags override it...
    let r = demo_json(dir.path(), &["--days", "45", "--until", "2026-10-01"]);
    assert_eq!(r["window"]["days"], 45);
    assert_eq!(r["window"]["end"], "2026-10-01T00:00:00Z");
    // ...and an explicit --config wins over ./dora.toml.
    let other = dir.path().join("other.toml");
    std::fs::write(&other, "days = 60\n").expect("write");
    let r = demo_json(
        dir.path(),
        &["--config", other.to_str().expect("utf-8 path")],
    );
    assert_eq!(r["window"]["days"], 60);

    // A typo is an error that names the key (exit 2).
    std::fs::write(&other, "dayz = 60\n").expect("write");
    dora(dir.path())
        .args(["demo", "--quiet", "--config"])
        .arg(&other)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("dayz"));
    dora(dir.path())
        .args(["demo", "--quiet", "--until", "last tuesday"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("YYYY-MM-DD"));
}

#[test]
fn report_against_a_local_server_uses_file_then_flags() {
    let rt = runtime();
    let server = demo_server(&rt);
    let dir = tempdir();
    std::fs::write(
        dir.path().join("dora.toml"),
        format!(
            "days = 30\nuntil = \"2026-11-02\"\n[sources]\nworkspace = \"acme\"\nrepos = [\"checkout-web\"]\nincidents = \"pagerduty\"\nbitbucket_url = \"{}\"\npagerduty_url = \"{}\"\n",
            server.bitbucket_url(),
            server.pagerduty_url()
        ),
    )
    .expect("write");
    let run = |extra: &[&str]| {
        let out = dora(dir.path())
            .env("BITBUCKET_ACCESS_TOKEN", "test-access-token")
            .env("PAGERDUTY_TOKEN", "test-pd-token")
            .args(["report", "--quiet", "--format", "json"])
            .args(extra)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        json_of(&out)
    };
    let r = run(&[]);
    assert_schema(&r);
    assert_eq!(
        r["scope"]["repositories"],
        serde_json::json!(["checkout-web"])
    );
    assert_eq!(r["window"]["days"], 30);
    assert!(
        r["incidents"].as_array().is_some_and(|a| !a.is_empty()),
        "incidents collected"
    );
    let r = run(&[
        "--repo",
        "payments-api",
        "--repo",
        "search-service",
        "--days",
        "90",
    ]);
    assert_eq!(
        r["scope"]["repositories"],
        serde_json::json!(["payments-api", "search-service"])
    );
    assert_eq!(r["window"]["days"], 90);
    // The whole workspace (no --repo in the file either) equals the demo.
    std::fs::write(
        dir.path().join("dora.toml"),
        format!(
            "[sources]\nbitbucket_url = \"{}\"\n",
            server.bitbucket_url()
        ),
    )
    .expect("write");
    let r = run(&["--workspace", "acme", "--until", "2026-11-02"]);
    let sample = server.sample();
    let (start, end) = window(&r);
    assert_eq!(
        r["deployment_frequency"]["count"].as_u64(),
        Some(sample.expected(start, end).successful_production as u64)
    );
    assert!(server.requests() > 10);
}

#[test]
fn missing_credentials_name_the_variables() {
    let dir = tempdir();
    dora(dir.path())
        .args(["report", "--workspace", "acme"])
        .assert()
        .code(3)
        .stderr(
            predicate::str::contains("BITBUCKET_EMAIL")
                .and(predicate::str::contains("BITBUCKET_API_TOKEN"))
                .and(predicate::str::contains("BITBUCKET_ACCESS_TOKEN")),
        );
    dora(dir.path())
        .env("BITBUCKET_EMAIL", "me@example.com")
        .args(["report", "--workspace", "acme", "--incidents", "pagerduty"])
        .assert()
        .code(3)
        .stderr(
            predicate::str::contains("BITBUCKET_API_TOKEN")
                .and(predicate::str::contains("PAGERDUTY_TOKEN")),
        );
    // No workspace at all is a usage error.
    dora(dir.path())
        .env("BITBUCKET_ACCESS_TOKEN", "x")
        .args(["report"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--workspace"));
    // Credentials are never flags.
    dora(dir.path())
        .args(["report", "--workspace", "acme", "--token", "secret"])
        .assert()
        .code(2);
}

#[test]
fn bad_base_urls_fail_with_distinct_codes() {
    let dir = tempdir();
    // Not a URL: a configuration error.
    dora(dir.path())
        .env("BITBUCKET_ACCESS_TOKEN", "x")
        .args([
            "report",
            "--quiet",
            "--workspace",
            "acme",
            "--bitbucket-url",
            "not a url",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bitbucket"));
    // Nothing listening: a source failure.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    dora(dir.path())
        .env("BITBUCKET_ACCESS_TOKEN", "x")
        .args([
            "report",
            "--quiet",
            "--workspace",
            "acme",
            "--repo",
            "web",
            "--until",
            "2026-11-02",
            "--bitbucket-url",
        ])
        .arg(format!("http://127.0.0.1:{port}/2.0"))
        .timeout(std::time::Duration::from_secs(120))
        .assert()
        .code(4)
        .stderr(predicate::str::contains("hint:"));
    // A workspace that does not exist on the server.
    let rt = runtime();
    let server = rt
        .block_on(DemoServer::start(
            demo::generate(1),
            ServerOptions::default(),
        ))
        .expect("server");
    dora(dir.path())
        .env("BITBUCKET_ACCESS_TOKEN", "x")
        .args([
            "report",
            "--quiet",
            "--workspace",
            "nope",
            "--until",
            "2026-11-02",
            "--bitbucket-url",
            &server.bitbucket_url(),
        ])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("nope"));
}

#[test]
fn a_401_is_an_auth_error_without_the_token() {
    let rt = runtime();
    let server = rt
        .block_on(DemoServer::start(
            demo::generate(demo::DEFAULT_SEED),
            ServerOptions {
                reject_auth: true,
                ..ServerOptions::default()
            },
        ))
        .expect("server");
    let dir = tempdir();
    let out = dora(dir.path())
        .env("BITBUCKET_EMAIL", "me@example.com")
        .env("BITBUCKET_API_TOKEN", "super-secret-token-123")
        .args([
            "report",
            "--quiet",
            "--workspace",
            "acme",
            "--until",
            "2026-11-02",
            "--bitbucket-url",
            &server.bitbucket_url(),
        ])
        .assert()
        .code(3)
        .stderr(
            predicate::str::contains("App passwords")
                .and(predicate::str::contains("BITBUCKET_API_TOKEN")),
        )
        .get_output()
        .clone();
    // The adapter's advice (it knows the auth scheme), and no second, generic one.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("App passwords").count(), 1, "{stderr}");
    let all = [out.stdout, out.stderr].concat();
    assert!(!String::from_utf8_lossy(&all).contains("super-secret-token-123"));
    // The incident tool's 401 is an auth error too.
    let ok = demo_server(&rt);
    dora(dir.path())
        .env("BITBUCKET_ACCESS_TOKEN", "x")
        .env("PAGERDUTY_TOKEN", "pd-secret-456")
        .args([
            "report",
            "--quiet",
            "--workspace",
            "acme",
            "--repo",
            "checkout-web",
            "--until",
            "2026-11-02",
            "--incidents",
            "pagerduty",
        ])
        .args([
            "--bitbucket-url",
            &ok.bitbucket_url(),
            "--pagerduty-url",
            &server.pagerduty_url(),
        ])
        .assert()
        .code(3)
        .stderr(
            predicate::str::contains("PAGERDUTY_TOKEN")
                .and(predicate::str::contains("pd-secret-456").not()),
        );
}

#[test]
fn opsgenie_incidents_api_is_selectable_from_flag_and_file() {
    use dora_incidents::conformance::{
        FaultPlan, HarnessOptions, MockServer, OpsgenieIncidentsWire, Scenario,
    };
    let rt = runtime();
    let bitbucket = demo_server(&rt);
    let genie = rt
        .block_on(MockServer::start(
            std::sync::Arc::new(OpsgenieIncidentsWire),
            Scenario::standard(),
            HarnessOptions::new(),
            "genie-key",
            FaultPlan::none(),
        ))
        .expect("opsgenie fake");
    let dir = tempdir();
    let run = |extra: &[&str]| {
        let out = dora(dir.path())
            .env("BITBUCKET_ACCESS_TOKEN", "test-access-token")
            .env("OPSGENIE_API_KEY", "genie-key")
            .args([
                "report",
                "--quiet",
                "--format",
                "json",
                "--workspace",
                "acme",
            ])
            .args(["--repo", "checkout-web", "--incidents", "opsgenie"])
            .args(["--opsgenie-url", genie.base_url(), "--bitbucket-url"])
            .arg(bitbucket.bitbucket_url())
            .args(["--until", "2024-04-01", "--days", "31"])
            .args(extra)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        json_of(&out)
    };
    let incident_paths = || {
        genie
            .requests()
            .iter()
            .filter(|r| r.request.path.starts_with("/v1/incidents"))
            .count()
    };
    let r = run(&["--opsgenie-api", "incidents"]);
    assert!(incident_paths() > 0, "the flag selects /v1/incidents");
    assert!(
        r["incidents"].as_array().is_some_and(|a| !a.is_empty()),
        "incidents collected from the incidents API"
    );
    let before = incident_paths();
    std::fs::write(
        dir.path().join("dora.toml"),
        "[sources.opsgenie]\napi = \"incidents\"\n",
    )
    .expect("write");
    run(&[]);
    assert!(incident_paths() > before, "dora.toml selects /v1/incidents");
}

#[test]
fn max_commit_pages_flag_is_validated_and_accepted() {
    let dir = tempdir();
    dora(dir.path())
        .env("BITBUCKET_ACCESS_TOKEN", "test-access-token")
        .args(["report", "--workspace", "acme", "--max-commit-pages", "0"])
        .assert()
        .code(2);
    let rt = runtime();
    let server = demo_server(&rt);
    let out = dora(dir.path())
        .env("BITBUCKET_ACCESS_TOKEN", "test-access-token")
        .args([
            "report",
            "--quiet",
            "--format",
            "json",
            "--workspace",
            "acme",
        ])
        .args([
            "--repo",
            "payments-api",
            "--until",
            "2026-11-02",
            "--bitbucket-url",
        ])
        .arg(server.bitbucket_url())
        .args(["--max-commit-pages", "1"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let capped = json_of(&out);
    let commit_pages = server
        .requests_by_endpoint()
        .iter()
        .filter(|(k, _)| k.contains("commits"))
        .map(|(k, n)| (k.clone(), *n))
        .collect::<Vec<_>>();
    // One page of history cannot cover 90 days of the sample: the report says
    // which pull requests lost their history and how to raise the cap.
    let truncated = capped["lead_time"]["excluded"]["history_truncated"]
        .as_u64()
        .unwrap_or(0);
    let diag = capped["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["code"] == "history_truncated");
    assert!(
        truncated > 0
            && diag.is_some_and(|d| d["message"]
                .as_str()
                .is_some_and(|m| m.contains("--max-commit-pages"))),
        "{commit_pages:?} {}",
        capped["diagnostics"]
    );
}

#[test]
fn slugs_and_credentials_are_checked_before_any_request() {
    let rt = runtime();
    let server = demo_server(&rt);
    let dir = tempdir();
    for (flag, value) in [
        ("--repo", ".."),
        ("--repo", "."),
        ("--repo", "acme/web"),
        ("--repo", "web%2f.."),
        ("--workspace", ".."),
    ] {
        let workspace = if flag == "--workspace" { value } else { "acme" };
        let mut cmd = dora(dir.path());
        cmd.env("BITBUCKET_ACCESS_TOKEN", "test-access-token")
            .args(["report", "--quiet", "--workspace", workspace])
            .arg("--bitbucket-url")
            .arg(server.bitbucket_url());
        if flag == "--repo" {
            cmd.args(["--repo", value]);
        }
        let out = cmd.assert().code(2).get_output().stderr.clone();
        let err = String::from_utf8_lossy(&out);
        assert!(err.contains("slug"), "{flag} {value}: {err}");
    }
    assert_eq!(server.requests(), 0, "no request left with a bad slug");

    // A token pasted with its newline is a credentials error, not a network one.
    let token = "secret-token-value\n";
    let out = dora(dir.path())
        .env("BITBUCKET_ACCESS_TOKEN", "x")
        .env_remove("BITBUCKET_ACCESS_TOKEN")
        .env("BITBUCKET_EMAIL", "jane@example.com")
        .env("BITBUCKET_API_TOKEN", format!("ab{token}cd"))
        .args([
            "report",
            "--quiet",
            "--workspace",
            "acme",
            "--bitbucket-url",
        ])
        .arg(server.bitbucket_url())
        .assert()
        .code(3)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
    assert!(err.contains("newline"), "{err}");
    assert!(!err.contains("secret-token-value"), "{err}");
    assert_eq!(server.requests(), 0);
}

#[test]
fn a_closed_stdout_is_an_output_error() {
    let bin = assert_cmd::cargo::cargo_bin("dora");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("'{}' demo --quiet >&-", bin.display()))
        .status()
        .expect("sh");
    assert_eq!(status.code(), Some(5));
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("'{}' demo --quiet > /dev/null", bin.display()))
        .status()
        .expect("sh");
    assert_eq!(
        status.code(),
        Some(0),
        "/dev/null is a fine place for a report"
    );
}

#[test]
fn inventory_audits_the_demo_workspace_as_a_table_and_as_json() {
    let rt = runtime();
    let server = rt
        .block_on(DemoServer::start(
            demo::generate(demo::DEFAULT_SEED),
            ServerOptions {
                forbidden: vec!["search-service/pipelines".to_string()],
                ..ServerOptions::default()
            },
        ))
        .expect("server");
    let dir = tempdir();
    let args = |format: &str| {
        vec![
            "inventory".to_string(),
            "--quiet".into(),
            "--workspace".into(),
            "acme".into(),
            "--incidents".into(),
            "pagerduty".into(),
            "--until".into(),
            "2026-11-02".into(),
            "--bitbucket-url".into(),
            server.bitbucket_url(),
            "--pagerduty-url".into(),
            server.pagerduty_url(),
            "--format".into(),
            format.into(),
        ]
    };
    let secret = "inventory-secret-token-42";
    let before = server.requests_by_endpoint();
    let table = dora(dir.path())
        .env("BITBUCKET_ACCESS_TOKEN", secret)
        .env("PAGERDUTY_TOKEN", "pd-secret-token-43")
        .args(args("table"))
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8(table.stdout).expect("utf-8");
    for needle in [
        "Inventory of acme",
        "design-system (main branch main)",
        "pipelines_without_deployments",
        "no_production_environment",
        "missing_scope",
        "read:pipeline:bitbucket",
        "branching model",
        "merge strategies",
        "the severity filter (P1, P2) keeps",
        "fix: ",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    let stderr = String::from_utf8_lossy(&table.stderr);
    assert!(!text.contains(secret) && !stderr.contains(secret));
    // Read-only, and within the budget: at most 8 Bitbucket requests per
    // repository (plus the workspace listing).
    let after = server.requests_by_endpoint();
    let bitbucket: u64 = after
        .iter()
        .filter(|(k, _)| k.starts_with("bitbucket"))
        .map(|(k, v)| v - before.get(k).copied().unwrap_or(0))
        .sum();
    assert!(bitbucket <= 1 + 8 * 4, "{bitbucket} requests: {after:?}");

    let out = dora(dir.path())
        .env("BITBUCKET_ACCESS_TOKEN", secret)
        .env("PAGERDUTY_TOKEN", "pd-secret-token-43")
        .args(args("json"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json = json_of(&out);
    let repos = json["repositories"].as_array().expect("repositories");
    assert_eq!(repos.len(), 4);
    for r in repos {
        assert!(r["requests"].as_u64().expect("requests") <= 8, "{r}");
    }
    let search = repos
        .iter()
        .find(|r| r["slug"] == "search-service")
        .expect("search-service");
    assert_eq!(search["forbidden"][0]["scope"], "read:pipeline:bitbucket");
    assert!(json["incidents"]["kept"].as_u64().expect("kept") > 0);
    let findings = json["findings"].as_array().expect("findings");
    assert!(findings.iter().all(|f| f["code"].is_string()
        && f["severity"].is_string()
        && f["fix"].as_str().is_some_and(|s| !s.is_empty())));
    assert!(findings.iter().any(
        |f| f["code"] == "pipelines_without_deployments" && f["repository"] == "design-system"
    ));

    let html = dora(dir.path())
        .env("BITBUCKET_ACCESS_TOKEN", secret)
        .args([
            "inventory",
            "--quiet",
            "--workspace",
            "acme",
            "--until",
            "2026-11-02",
            "--bitbucket-url",
            &server.bitbucket_url(),
            "--format",
            "html",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let html = String::from_utf8(html).expect("utf-8");
    assert!(html.contains("<section id=\"inventory\">") && html.contains("missing_scope"));

    dora(dir.path())
        .env("BITBUCKET_ACCESS_TOKEN", secret)
        .args(["inventory", "--workspace", "acme", "--format", "csv"])
        .assert()
        .code(2);
}

#[test]
fn per_repository_settings_in_dora_toml() {
    let dir = tempdir();
    let hotfixes = |r: &Value| r["metrics"]["change_failure_rate"]["by_signal"]["hotfix"].clone();
    let plain = demo_json(dir.path(), &[]);
    let flagged = |r: &Value, repo: &str| {
        r["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .filter(|c| c["repository"] == repo && c["hotfix"] == true)
            .count()
    };
    assert!(
        flagged(&plain, "payments-api") > 0,
        "the demo has hotfixes there"
    );
    // `payments-api` declares no hotfix prefixes: its hotfix branches are
    // ordinary changes; the other repositories keep theirs.
    std::fs::write(
        dir.path().join("dora.toml"),
        "[repositories.payments-api]\nhotfix_prefixes = []\n",
    )
    .expect("write");
    let r = demo_json(dir.path(), &[]);
    assert_eq!(flagged(&r, "payments-api"), 0);
    for repo in ["checkout-web", "search-service"] {
        assert_eq!(flagged(&r, repo), flagged(&plain, repo), "{repo}");
    }
    assert!(hotfixes(&r).as_u64() <= hotfixes(&plain).as_u64());
    // A typo under a repository is an error naming the key (exit 2).
    std::fs::write(
        dir.path().join("dora.toml"),
        "[repositories.payments-api]\nhotfix_prefix = [\"x/\"]\n",
    )
    .expect("write");
    dora(dir.path())
        .args(["demo", "--quiet"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("hotfix_prefix"));
}

#[test]
fn until_reads_a_date_time_without_offset_as_python_does() {
    // `2026-11-01T00:00:00` failed here and worked in Python: one parser now.
    let dir = tempdir();
    for until in [
        "2026-11-01T00:00:00",
        "2026-11-01",
        "2026-11-01T00:00:00Z",
        "2026-11-01T01:00:00+01:00",
    ] {
        let r = demo_json(dir.path(), &["--until", until]);
        assert_eq!(r["window"]["end"], "2026-11-01T00:00:00Z", "{until}");
    }
}

#[test]
fn settings_precedence_flags_then_environment_then_file() {
    let dir = tempdir();
    std::fs::write(
        dir.path().join("dora.toml"),
        "days = 30\nuntil = \"2026-10-01T00:00:00\"\n",
    )
    .expect("write");
    let run = |env: &[(&str, &str)], extra: &[&str]| {
        let mut cmd = dora(dir.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd
            .args(["demo", "--quiet", "--format", "json"])
            .args(extra)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        json_of(&out)
    };
    let r = run(&[], &[]);
    assert_eq!(
        (r["window"]["days"].as_u64(), r["window"]["end"].as_str()),
        (Some(30), Some("2026-10-01T00:00:00Z"))
    );
    let env = [("DORA_DAYS", "45"), ("DORA_UNTIL", "2026-10-15")];
    let r = run(&env, &[]);
    assert_eq!(
        (r["window"]["days"].as_u64(), r["window"]["end"].as_str()),
        (Some(45), Some("2026-10-15T00:00:00Z"))
    );
    let r = run(&env, &["--days", "60", "--until", "2026-10-20T00:00:00"]);
    assert_eq!(
        (r["window"]["days"].as_u64(), r["window"]["end"].as_str()),
        (Some(60), Some("2026-10-20T00:00:00Z"))
    );
    // A bad value names the layer it came from.
    dora(dir.path())
        .env("DORA_DAYS", "ninety")
        .args(["demo", "--quiet"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("DORA_DAYS"));
}

#[test]
fn severity_overrides_reach_the_incident_source() {
    let rt = runtime();
    let server = demo_server(&rt);
    let dir = tempdir();
    let run = |extra: &[&str]| {
        let out = dora(dir.path())
            .env("BITBUCKET_ACCESS_TOKEN", "test-access-token")
            .env("PAGERDUTY_TOKEN", "test-pd-token")
            .args([
                "report",
                "--quiet",
                "--format",
                "json",
                "--workspace",
                "acme",
            ])
            .args(["--incidents", "pagerduty", "--until", "2026-11-02T00:00:00"])
            .args(["--bitbucket-url", &server.bitbucket_url()])
            .args(["--pagerduty-url", &server.pagerduty_url()])
            .args(extra)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        json_of(&out)
    };
    let counted = |r: &Value| {
        r["recovery_time"]["incidents"]["count"]
            .as_u64()
            .unwrap_or(0)
            + r["recovery_time"]["incidents"]["unresolved"]
                .as_u64()
                .unwrap_or(0)
    };
    let plain = run(&[]);
    assert!(counted(&plain) > 0, "the sample has P1/P2 incidents");
    let mut all_p5 = Vec::new();
    for raw in ["P1", "P2", "P3", "P4", "P5", "high", "low"] {
        all_p5.push("--severity-override".to_string());
        all_p5.push(format!("{raw}=P5"));
    }
    let args: Vec<&str> = all_p5.iter().map(String::as_str).collect();
    let overridden = run(&args);
    assert_eq!(
        counted(&overridden),
        0,
        "every incident is P5 now: none counts"
    );
    dora(dir.path())
        .args([
            "report",
            "--workspace",
            "acme",
            "--severity-override",
            "SEV1",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("RAW=P1"));
}

#[test]
fn incident_knob_flags_are_checked_before_any_request() {
    let dir = tempdir();
    for (args, needle) in [
        (&["--opsgenie-region", "apac"][..], "apac"),
        (&["--opsgenie-api", "events"][..], "events"),
        (&["--incidents", "servicenow"][..], "servicenow"),
        (&["--severity-override", "minor=P9"][..], "P9"),
    ] {
        dora(dir.path())
            .args(["report", "--workspace", "acme"])
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(needle));
    }
    // A bad value in dora.toml names the file and the key.
    std::fs::write(
        dir.path().join("dora.toml"),
        "[sources.opsgenie]\nregion = \"apac\"\n",
    )
    .expect("write");
    dora(dir.path())
        .args(["report", "--workspace", "acme"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("dora.toml").and(predicate::str::contains("region")));
}
