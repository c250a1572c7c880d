//! Renders `dora demo --format html` in headless Chromium: a screenshot is
//! taken and the DOM holds the SVG charts.
//!
//! Needs `/usr/bin/chromium` (Debian: `apt-get install -y chromium`) or a
//! browser named by `DORA_CHROMIUM`. Without one the test fails, unless
//! `DORA_SKIP_BROWSER=1` is set.

mod common;
use std::path::PathBuf;
use std::process::Command as Process;

fn chromium() -> Option<PathBuf> {
    let candidates = [
        std::env::var("DORA_CHROMIUM").ok(),
        Some("/usr/bin/chromium".to_string()),
        Some("/usr/bin/chromium-browser".to_string()),
        Some("/usr/bin/google-chrome".to_string()),
    ];
    candidates
        .into_iter()
        .flatten()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

#[test]
fn html_dashboard_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        if std::env::var("DORA_SKIP_BROWSER").as_deref() == Ok("1") {
            eprintln!("skipped: no chromium and DORA_SKIP_BROWSER=1");
            return;
        }
        panic!(
            "headless Chromium is needed for this test but /usr/bin/chromium was not found: \
             install it (`apt-get install -y chromium`), point DORA_CHROMIUM at a Chrome/Chromium \
             binary, or set DORA_SKIP_BROWSER=1 to skip"
        );
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    let html = dir.path().join("dora.html");
    common::dora(dir.path())
        .args(["demo", "--quiet", "--format", "html", "--output"])
        .arg(&html)
        .assert()
        .success();
    let url = format!("file://{}", html.display());
    let profile = dir.path().join("profile");
    let common = |cmd: &mut Process| {
        cmd.arg("--headless")
            .arg("--no-sandbox")
            .arg("--disable-gpu")
            .arg("--disable-dev-shm-usage")
            .arg(format!("--user-data-dir={}", profile.display()));
    };

    let png = dir.path().join("shot.png");
    let mut shot = Process::new(&browser);
    common(&mut shot);
    let status = shot
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1200,800")
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(
        status.status.success(),
        "chromium --screenshot failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert!(bytes.len() > 10_000, "screenshot is {} bytes", bytes.len());
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG");

    let mut dump = Process::new(&browser);
    common(&mut dump);
    let out = dump
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium --dump-dom failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.matches("<svg class=\"chart").count() >= 6,
        "trend charts and the phase bar are in the DOM"
    );
    assert!(dom.contains("<rect class=\"bar\""), "deployment bars");
    assert!(dom.contains("<polyline class=\"line\""), "trend lines");
    assert!(dom.contains("Failed deployments"));
    assert!(dom.contains("merge_fallback"));

    // Click-through: every in-page link lands on an element the browser parsed,
    // each headline number links to its rows, and rows link out to where the
    // item lives (pull request, commit, pipeline run, incident).
    let ids: std::collections::HashSet<&str> = dom
        .split(" id=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    let internal: Vec<&str> = dom
        .split("href=\"#")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert!(internal.len() > 100, "{} in-page links", internal.len());
    for target in &internal {
        assert!(ids.contains(target), "link to #{target} has no target");
    }
    for rows in ["deployments", "changes", "failed-deployments", "incidents"] {
        assert!(ids.contains(rows), "#{rows} section");
    }
    assert_eq!(
        dom.matches("class=\"rows-link\"").count(),
        5,
        "five headline numbers link to rows"
    );
    for external in [
        "href=\"https://bitbucket.org/acme/",
        "/pull-requests/",
        "/commits/",
        "/addon/pipelines/home#!/results/",
        "href=\"https://acme.pagerduty.com/incidents/",
    ] {
        assert!(dom.contains(external), "a link containing {external}");
    }
    // Deployments are named by their release, not only a UUID.
    assert!(dom.contains(">#") && dom.contains("Release</th>"));
}
