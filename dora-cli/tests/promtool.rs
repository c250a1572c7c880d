//! The Prometheus output checked by Prometheus's own linter, and its
//! workspace and per-repository series kept in separate families.
//!
//! `promtool` comes from Debian's `prometheus` package (scripts/test-all.sh
//! installs it when missing and sets DORA_REQUIRE_PROMTOOL=1 when it is there);
//! without it the promtool check fails if DORA_REQUIRE_PROMTOOL=1 and is skipped
//! otherwise.

mod common;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Stdio};

fn demo_prometheus() -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut dora = Command::new(assert_cmd::cargo::cargo_bin!("dora"));
    for var in common::HOST_VARS {
        dora.env_remove(var);
    }
    let out = dora
        .current_dir(dir.path())
        .args(["demo", "--quiet", "--format", "prometheus"])
        .output()
        .expect("dora runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn promtool_check_metrics_passes() {
    let text = demo_prometheus();
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            assert!(
                std::env::var("DORA_REQUIRE_PROMTOOL").map_or(true, |v| v != "1"),
                "promtool is required (DORA_REQUIRE_PROMTOOL=1) but cannot run: {e}"
            );
            eprintln!("SKIPPED: promtool not found (apt-get install prometheus)");
            return;
        }
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn workspace_and_repository_series_never_share_a_family() {
    let text = demo_prometheus();
    // family -> (samples with a repository label, samples without)
    let mut families: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            current = rest.split(' ').next().unwrap_or_default().to_string();
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let entry = families.entry(current.clone()).or_default();
        if line.contains("repository=\"") {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
    }
    for (family, (labelled, unlabelled)) in &families {
        assert!(
            *labelled == 0 || *unlabelled == 0,
            "{family} mixes {labelled} per-repository and {unlabelled} workspace samples"
        );
        if *labelled > 0 {
            assert!(family.starts_with("dora_repository_"), "{family}");
        }
    }
    assert!(families.contains_key("dora_deployments"));
    assert!(families.contains_key("dora_repository_deployments"));
    assert!(families.contains_key("dora_deploy_dates"));
    // The per-repository deployments add up to the workspace's.
    let value = |prefix: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
            .sum()
    };
    assert_eq!(
        value("dora_repository_deployments{"),
        value("dora_deployments ")
    );
}
