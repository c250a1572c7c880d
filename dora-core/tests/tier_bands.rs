//! The tier-band tables in `docs/tier-bands.md` are the code's: every edge the
//! page states is checked on both sides against `dora_core::tiers`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dora_core::TierYear;
use dora_core::tiers::{self, Tier};

const DOC: &str = include_str!("../../docs/tier-bands.md");

const HOUR: f64 = 3600.0;
const DAY: f64 = 24.0 * HOUR;

/// A duration edge in seconds or a frequency edge in deployments per day.
fn edge(text: &str) -> Option<f64> {
    let t = text.trim();
    let value = t.trim_start_matches(['<', '≥', '≤']).trim();
    Some(match value {
        "1/day" => 1.0,
        "1/week" => 1.0 / 7.0,
        "1/month" => 1.0 / 30.0,
        "1 per 6 months" => 1.0 / 182.0,
        "1 hour" => HOUR,
        "1 day" => DAY,
        "1 week" => 7.0 * DAY,
        "1 month" => 30.0 * DAY,
        "6 months" => 182.0 * DAY,
        v if v.ends_with('%') => v.trim_end_matches('%').trim().parse::<f64>().ok()? / 100.0,
        _ => return None,
    })
}

fn tier(name: &str) -> Tier {
    match name {
        "elite" => Tier::Elite,
        "high" => Tier::High,
        "medium" => Tier::Medium,
        _ => Tier::Low,
    }
}

fn classify(year: TierYear, metric: &str, value: f64) -> Tier {
    match metric {
        "deployment frequency" => tiers::deployment_frequency(year, value),
        "lead time" => tiers::lead_time(year, value),
        "change failure rate" => tiers::change_failure_rate(year, value),
        "recovery time" => tiers::recovery_time(year, value),
        other => panic!("unknown metric row {other:?}"),
    }
}

#[test]
fn tier_bands_doc_matches_the_code() {
    let mut checked = 0;
    let mut year: Option<TierYear> = None;
    let mut header: Vec<String> = Vec::new();
    for line in DOC.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            year = h
                .split_whitespace()
                .next()
                .and_then(|y| y.parse::<u16>().ok())
                .and_then(|y| TierYear::try_from(y).ok());
            header.clear();
            continue;
        }
        let Some(year) = year else { continue };
        if !line.starts_with('|') || line.starts_with("|---") {
            continue;
        }
        let cells: Vec<String> = line
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect();
        if cells[0] == "metric" {
            header = cells;
            continue;
        }
        for (i, cell) in cells.iter().enumerate().skip(1) {
            let Some(e) = edge(cell) else { continue };
            let expected = tier(&header[i]);
            let metric = cells[0].as_str();
            let (inside, outside) = if cell.starts_with('≥') || cell.starts_with('≤') {
                // Inclusive: the edge itself is inside; a bit worse is outside.
                let worse = if cell.starts_with('≥') {
                    e * 0.999
                } else {
                    e + 0.001
                };
                (e, worse)
            } else {
                (e * 0.999, e)
            };
            assert_eq!(
                classify(year, metric, inside),
                expected,
                "{year:?} {metric} {cell} (inside)"
            );
            assert!(
                classify(year, metric, outside) < expected,
                "{year:?} {metric} {cell}: just outside should be worse than {expected:?}"
            );
            checked += 1;
        }
    }
    // 4 years, 4 metrics, 3 edges each (2 in 2022).
    assert_eq!(
        checked,
        3 * 4 * 3 + 4 * 2,
        "every documented edge was checked"
    );
    // The reader's question: 15.8 % in 2023 is low, in 2024 medium.
    assert_eq!(
        tiers::change_failure_rate(TierYear::Y2023, 0.158),
        Tier::Low
    );
    assert_eq!(
        tiers::change_failure_rate(TierYear::Y2024, 0.158),
        Tier::Medium
    );
}
