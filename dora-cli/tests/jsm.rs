//! `dora report --incidents jsm` against local fakes: one set of alerts served
//! as Opsgenie and as JSM Operations gives the same report; credentials,
//! target and auth failures say what to do.

mod common;
use common::*;
use dora_core::Severity;
use dora_incidents::conformance::{
    FaultPlan, HarnessOptions, JSM_SUITE_CLOUD_ID, JSM_SUITE_EMAIL, JsmWire, MockServer,
    OpsgenieAlertsWire, SUITE_TOKEN, Scenario, ScenarioIncident,
};
use dora_testkit as demo;
use predicates::prelude::*;
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

const UNTIL: &str = "2026-11-02";
/// The demo sample's incidents as a tool-independent scenario (the
/// severity of an incident without priority as PagerDuty's urgency maps it).
fn sample_scenario(sample: &demo::Sample) -> Scenario {
    let incidents = sample
        .incidents
        .iter()
        .map(|i| ScenarioIncident {
            id: i.id.clone(),
            title: i.title.clone(),
            service: i.service.clone(),
            severity: i
                .priority
                .and_then(Severity::parse)
                .unwrap_or(if i.urgency == "high" {
                    Severity::P2
                } else {
                    Severity::P4
                }),
            opened_at: i.created_at,
            resolved_at: i.resolved_at,
            acknowledged: i.acknowledged_at.is_some(),
        })
        .collect();
    Scenario {
        range: Scenario::march_2024(),
        incidents,
    }
}

/// `[sources]` with the sample's services mapped to their repositories.
fn write_config(dir: &Path, sample: &demo::Sample, extra: &str) {
    let mut text = String::from("[sources.mapping.services]\n");
    for r in &sample.repositories {
        if let Some(s) = &r.service {
            text.push_str(&format!("{s:?} = [{:?}]\n", r.slug));
        }
    }
    text.push_str(extra);
    std::fs::write(dir.join("dora.toml"), text).expect("write dora.toml");
}

/// The report with the tool's name taken out (`source`, `<source>:<id>` references).
fn neutral(report: &Value) -> String {
    report
        .to_string()
        .replace("\"jsm\"", "\"TOOL\"")
        .replace("\"opsgenie\"", "\"TOOL\"")
        .replace("\"jsm:", "\"TOOL:")
        .replace("\"opsgenie:", "\"TOOL:")
}

#[test]
fn the_same_alerts_as_opsgenie_and_as_jsm_give_identical_reports() {
    let rt = runtime();
    let bitbucket = demo_server(&rt);
    let scenario = sample_scenario(bitbucket.sample());
    let serve = |wire: Arc<dyn dora_incidents::conformance::WireFormat>| {
        rt.block_on(MockServer::start(
            wire,
            scenario.clone(),
            HarnessOptions::new(),
            SUITE_TOKEN,
            FaultPlan::none(),
        ))
        .expect("incident fake")
    };
    let genie = serve(Arc::new(OpsgenieAlertsWire));
    let jsm = serve(Arc::new(JsmWire::new()));
    let dir = tempfile::tempdir().expect("tempdir");
    write_config(dir.path(), bitbucket.sample(), "");
    let report = |tool: &str, url_flag: &str, url: String, env: &[(&str, &str)]| {
        let mut cmd = dora(dir.path());
        cmd.env("BITBUCKET_ACCESS_TOKEN", "test-access-token");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd
            .args([
                "report",
                "--quiet",
                "--format",
                "json",
                "--workspace",
                "acme",
            ])
            .args(["--until", UNTIL, "--incidents", tool, url_flag, &url])
            .args(["--bitbucket-url", &bitbucket.bitbucket_url()])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        serde_json::from_slice::<Value>(&out).expect("JSON report")
    };
    let from_opsgenie = report(
        "opsgenie",
        "--opsgenie-url",
        genie.base_url().to_string(),
        &[("OPSGENIE_API_KEY", SUITE_TOKEN)],
    );
    let from_jsm = report(
        "jsm",
        "--jsm-url",
        format!("{}/jsm/ops/api/{JSM_SUITE_CLOUD_ID}", jsm.base_url()),
        &[
            ("ATLASSIAN_EMAIL", JSM_SUITE_EMAIL),
            ("ATLASSIAN_API_TOKEN", SUITE_TOKEN),
        ],
    );
    // The comparison means something: incidents recovered and failed deployments.
    let incidents = &from_jsm["recovery_time"]["incidents"];
    assert!(
        incidents["count"].as_u64().is_some_and(|n| n > 0),
        "{incidents}"
    );
    assert!(
        from_jsm["change_failure_rate"]["by_signal"]["incident"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{}",
        from_jsm["change_failure_rate"]
    );
    assert_eq!(
        from_jsm["recovery_time"], from_opsgenie["recovery_time"],
        "recovery times"
    );
    assert_eq!(
        from_jsm["change_failure_rate"], from_opsgenie["change_failure_rate"],
        "incident signals"
    );
    assert_eq!(neutral(&from_jsm), neutral(&from_opsgenie), "whole reports");
    assert!(
        jsm.requests()
            .iter()
            .all(|r| r.request.path == format!("/jsm/ops/api/{JSM_SUITE_CLOUD_ID}/v1/alerts")),
        "requests go to {{--jsm-url}}/v1/alerts"
    );
}

#[test]
fn jsm_reads_bitbucket_credentials_and_the_file_and_explains_what_is_missing() {
    let rt = runtime();
    let bitbucket = demo_server(&rt);
    let jsm = rt
        .block_on(MockServer::start(
            Arc::new(JsmWire::new()),
            sample_scenario(bitbucket.sample()),
            HarnessOptions::new(),
            SUITE_TOKEN,
            FaultPlan::none(),
        ))
        .expect("jsm fake");
    let dir = tempfile::tempdir().expect("tempdir");
    let base = || {
        let mut cmd = dora(dir.path());
        cmd.args([
            "report",
            "--quiet",
            "--format",
            "json",
            "--workspace",
            "acme",
        ])
        .args([
            "--repo",
            "checkout-web",
            "--until",
            UNTIL,
            "--incidents",
            "jsm",
        ])
        .args(["--bitbucket-url", &bitbucket.bitbucket_url()]);
        cmd
    };
    // No Atlassian credentials at all.
    base()
        .env("BITBUCKET_ACCESS_TOKEN", "x")
        .assert()
        .code(3)
        .stderr(
            predicate::str::contains("ATLASSIAN_EMAIL")
                .and(predicate::str::contains("ATLASSIAN_API_TOKEN"))
                .and(predicate::str::contains("BITBUCKET_API_TOKEN")),
        );
    // Credentials but nowhere to send them.
    base()
        .env("ATLASSIAN_EMAIL", JSM_SUITE_EMAIL)
        .env("ATLASSIAN_API_TOKEN", SUITE_TOKEN)
        .env("BITBUCKET_ACCESS_TOKEN", "x")
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("JSM_CLOUD_ID")
                .and(predicate::str::contains("JSM_SITE"))
                .and(predicate::str::contains("--jsm-url")),
        );
    // The Bitbucket Atlassian API token serves both, the URL comes from dora.toml.
    write_config(
        dir.path(),
        bitbucket.sample(),
        &format!(
            "[sources.jsm]\nurl = \"{}/jsm/ops/api/{JSM_SUITE_CLOUD_ID}\"\n",
            jsm.base_url()
        ),
    );
    let out = base()
        .env("BITBUCKET_EMAIL", JSM_SUITE_EMAIL)
        .env("BITBUCKET_API_TOKEN", SUITE_TOKEN)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let r: Value = serde_json::from_slice(&out).expect("JSON");
    assert!(
        r["incidents"]
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(|i| i["source"] == "jsm")),
        "{}",
        r["incidents"]
    );
    // A rejected token: exit 3, the scope and the service-account caveat, never the token.
    let out = base()
        .env("ATLASSIAN_EMAIL", JSM_SUITE_EMAIL)
        .env("ATLASSIAN_API_TOKEN", "wrong-jsm-token-31337")
        .env("BITBUCKET_ACCESS_TOKEN", "x")
        .assert()
        .code(3)
        .stderr(
            predicate::str::contains("read:ops-alert:jira-service-management")
                .and(predicate::str::contains("service accounts cannot call")),
        )
        .get_output()
        .clone();
    let all = [out.stdout, out.stderr].concat();
    assert!(!String::from_utf8_lossy(&all).contains("wrong-jsm-token-31337"));
}

#[test]
fn jsm_incidents_sync_into_the_store_and_report_offline_as_live() {
    let rt = runtime();
    let bitbucket = demo_server(&rt);
    let jsm = rt
        .block_on(MockServer::start(
            Arc::new(JsmWire::new().with_absolute_next()),
            sample_scenario(bitbucket.sample()),
            HarnessOptions::new(),
            SUITE_TOKEN,
            FaultPlan::none(),
        ))
        .expect("jsm fake");
    let dir = tempfile::tempdir().expect("tempdir");
    write_config(dir.path(), bitbucket.sample(), "");
    let jsm_url = format!("{}/jsm/ops/api/{JSM_SUITE_CLOUD_ID}", jsm.base_url());
    let bb = bitbucket.bitbucket_url();
    let sources = [
        "--workspace",
        "acme",
        "--until",
        UNTIL,
        "--incidents",
        "jsm",
        "--jsm-url",
        jsm_url.as_str(),
        "--bitbucket-url",
        bb.as_str(),
    ];
    let run = |args: &[&str]| {
        dora(dir.path())
            .env("BITBUCKET_ACCESS_TOKEN", "test-access-token")
            .env("ATLASSIAN_EMAIL", JSM_SUITE_EMAIL)
            .env("ATLASSIAN_API_TOKEN", SUITE_TOKEN)
            .args(args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    let sync = run(&[&["sync", "--quiet", "--store", "dora.db"][..], &sources[..]].concat());
    assert!(
        String::from_utf8_lossy(&sync).contains("jsm:"),
        "{}",
        String::from_utf8_lossy(&sync)
    );
    let live: Value = serde_json::from_slice(&run(&[
        &["report", "--quiet", "--format", "json"][..],
        &sources[..],
    ]
    .concat()))
    .expect("JSON");
    let stored: Value = serde_json::from_slice(&run(&[
        "report",
        "--quiet",
        "--format",
        "json",
        "--store",
        "dora.db",
        "--offline",
        "--until",
        UNTIL,
    ]))
    .expect("JSON");
    assert!(live["recovery_time"]["incidents"]["count"].as_u64() > Some(0));
    assert_eq!(stored["recovery_time"], live["recovery_time"]);
    assert_eq!(stored["change_failure_rate"], live["change_failure_rate"]);
}
