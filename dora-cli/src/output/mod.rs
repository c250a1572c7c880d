//! Report renderers: human table, JSON, CSV, OpenMetrics (Prometheus) and a
//! self-contained HTML dashboard.
//!
//! Every renderer is a pure function of the [`Report`] (and a title), so the
//! same report always renders to the same bytes.

pub mod csv;
pub mod html;
pub mod prometheus;
pub mod table;

use dora_core::Report;
use dora_core::Tier;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable table with tiers (default).
    Table,
    /// The report's JSON (the documented schema), pretty-printed.
    Json,
    /// The rows behind the metrics: changes, deployments and incidents.
    Csv,
    /// OpenMetrics text for Prometheus (ends with `# EOF`).
    Prometheus,
    /// One self-contained HTML page with charts.
    Html,
}

/// What the report is about, for titles (e.g. `acme` or `acme/checkout-web`).
#[derive(Debug, Clone)]
pub struct Context {
    /// Title of the report.
    pub title: String,
    /// A note shown under the title (e.g. "demo data").
    pub note: Option<String>,
}

/// Render `report` in `format` as one document.
pub fn render(report: &Report, format: Format, ctx: &Context) -> String {
    match format {
        Format::Table => table::render(report, ctx),
        Format::Json => {
            let mut s = report.to_json_pretty();
            s.push('\n');
            s
        }
        Format::Csv => csv::render_sections(report),
        Format::Prometheus => prometheus::render(report),
        Format::Html => html::render(report, ctx),
    }
}

/// A duration in seconds, human-readable: `2d 4h`, `5h 12m`, `12m`, `45s`.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "–".into();
    }
    let s = seconds.max(0.0).round() as u64;
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m")
    } else {
        format!("{s}s")
    }
}

/// An optional duration; `–` when undefined.
pub fn opt_duration(seconds: Option<f64>) -> String {
    seconds.map_or_else(|| "–".to_string(), duration)
}

/// A rate in [0, 1] as a percentage with one decimal; `–` when undefined.
pub fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "–".to_string(), |r| format!("{:.1}%", r * 100.0))
}

/// A tier name; `–` when undefined.
pub fn tier(t: Option<Tier>) -> String {
    t.map_or_else(|| "–".to_string(), |t| t.as_str().to_string())
}

/// One kind's exclusions in words, largest first: `19 bots, 1 not_deployed`.
pub fn exclusions(ledger: &dora_core::Ledger) -> String {
    let mut reasons: Vec<(&String, &usize)> =
        ledger.excluded.iter().filter(|(_, n)| **n > 0).collect();
    reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    if reasons.is_empty() {
        return "nothing".to_string();
    }
    reasons
        .iter()
        .map(|(reason, n)| format!("{n} {}", reason.replace('_', " ")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The five benchmarked metrics with their JSON names, in report order.
pub fn benchmark_rows(
    b: &dora_core::benchmarks::Benchmarks,
) -> [(&'static str, Option<dora_core::benchmarks::MetricBenchmark>); 5] {
    [
        ("deployment_frequency", b.deployment_frequency),
        ("lead_time", b.lead_time),
        ("change_failure_rate", b.change_failure_rate),
        ("recovery_time", b.recovery_time),
        ("rework_rate", b.rework_rate),
    ]
}

/// A metric's JSON name in words.
pub fn metric_title(metric: &str) -> &'static str {
    match metric {
        "deployment_frequency" => "Deployment frequency",
        "lead_time" => "Lead time",
        "change_failure_rate" => "Change failure rate",
        "recovery_time" => "Recovery time",
        "rework_rate" => "Rework rate",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(45.0), "45s");
        assert_eq!(duration(720.0), "12m");
        assert_eq!(duration(5.0 * 3600.0 + 12.0 * 60.0), "5h 12m");
        assert_eq!(duration(2.0 * 86_400.0 + 4.0 * 3600.0 + 59.0), "2d 4h");
        assert_eq!(opt_duration(None), "–");
        assert_eq!(percent(Some(0.0952)), "9.5%");
    }
}
