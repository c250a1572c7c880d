//! Time users can reason about: calendar weeks (ISO, Monday 00:00 UTC) whatever the
//! window's end, and a warning when the window misses every event.
#![allow(clippy::unwrap_used)]

use chrono::{Datelike, Duration, TimeZone, Timelike, Utc, Weekday};
use dora_core::{Config, Dataset, Deployment, DeploymentStatus, Timestamp, compute_at};

fn at(d: u32, h: u32, m: u32, s: u32) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 10, d, h, m, s).unwrap()
}

/// A production deployment every day of October 2026 at noon.
fn daily() -> Dataset {
    let mut data = Dataset::new();
    data.deployments = (1..=31)
        .map(|d| {
            Deployment::production(
                "api",
                format!("d{d}"),
                "c",
                at(d, 12, 0, 0),
                DeploymentStatus::Succeeded,
            )
        })
        .collect();
    data
}

#[test]
fn weeks_start_on_monday_midnight_utc() {
    let config = Config {
        days: 30,
        ..Config::default()
    };
    // Thursday 29 October 2026, 03:02:46: the window starts on a Tuesday at 03:02:46.
    let report = compute_at(&daily(), &config, at(29, 3, 2, 46));
    let weeks: Vec<Timestamp> = report
        .metrics
        .deployment_frequency
        .weekly
        .iter()
        .map(|p| p.week_start)
        .collect();
    assert_eq!(
        weeks.first(),
        Some(&Utc.with_ymd_and_hms(2026, 9, 28, 0, 0, 0).unwrap())
    );
    for w in &weeks {
        assert_eq!(
            (w.weekday(), w.hour(), w.minute(), w.second()),
            (Weekday::Mon, 0, 0, 0)
        );
    }
    for pair in weeks.windows(2) {
        assert_eq!(pair[1] - pair[0], Duration::days(7));
    }
    // The last week holds the window's end; no week lies past it.
    let last = *weeks.last().unwrap();
    assert!(last <= report.window.end && report.window.end < last + Duration::days(7));
    // Every deployment of the window is counted once: partial first and last weeks too.
    let counted: usize = report
        .metrics
        .deployment_frequency
        .weekly
        .iter()
        .map(|p| p.count)
        .sum();
    assert_eq!(counted, report.metrics.deployment_frequency.count);
    // Monday 5 October to Sunday 11 October: seven daily deployments.
    let full = report
        .metrics
        .deployment_frequency
        .weekly
        .iter()
        .find(|p| p.week_start == at(5, 0, 0, 0))
        .unwrap();
    assert_eq!(full.count, 7);
}

#[test]
fn week_starts_do_not_move_with_the_clock() {
    let config = Config::default();
    let a = compute_at(&daily(), &config, at(29, 3, 2, 46));
    let b = compute_at(&daily(), &config, at(29, 17, 45, 0));
    let starts = |r: &dora_core::Report| -> Vec<Timestamp> {
        r.metrics
            .lead_time
            .weekly
            .iter()
            .map(|p| p.week_start)
            .collect()
    };
    assert_eq!(starts(&a), starts(&b));
}

#[test]
fn a_window_missing_every_event_says_so() {
    let code = "no_events_in_window";
    let config = Config::default();
    // A year after the data: nothing in the window.
    let late = compute_at(&daily(), &config, at(29, 0, 0, 0) + Duration::days(365));
    let d = late.diagnostics.iter().find(|d| d.code == code).unwrap();
    assert!(d.message.contains("31 events"), "{}", d.message);
    assert!(
        d.message.contains("2026-10-01 .. 2026-10-31"),
        "{}",
        d.message
    );
    // A window holding the data, or no data at all: no such warning.
    let inside = compute_at(&daily(), &config, at(29, 0, 0, 0));
    assert!(inside.diagnostics.iter().all(|d| d.code != code));
    let empty = compute_at(&Dataset::new(), &config, at(29, 0, 0, 0));
    assert!(empty.diagnostics.iter().all(|d| d.code != code));
}
