//! OpenMetrics text exposition (Prometheus), for a textfile collector or a
//! Pushgateway.
//!
//! Metric names are stable and pass `promtool check metrics`. Workspace-level
//! samples are the `dora_*` families below, without a `repository` label;
//! per-repository samples (reports over several repositories) are the same
//! figures in `dora_repository_*` families (`dora_deployments` →
//! `dora_repository_deployments`) with `repository="<slug>"`. The two never
//! share a family, so `sum(dora_repository_deployments)` adds repositories and
//! nothing is counted twice. Durations are in seconds, rates are ratios in
//! [0, 1]. Undefined values (no samples) are left out rather than written as NaN.
//!
//! | family (workspace) | type | labels (besides `repository` in `dora_repository_*`) |
//! |---|---|---|
//! | `dora_window_start_timestamp_seconds`, `dora_window_end_timestamp_seconds` | gauge | |
//! | `dora_deployments` | gauge | |
//! | `dora_deployment_frequency_per_week` | gauge | |
//! | `dora_deploy_dates` | gauge (distinct UTC dates with a deployment; was `dora_deploy_days`) | |
//! | `dora_lead_time_seconds` | summary (`quantile` 0.5, 0.9; `_sum`, `_count`) | |
//! | `dora_lead_time_phase_seconds` | summary | `phase` |
//! | `dora_change_failure_rate` | gauge | |
//! | `dora_production_deployments`, `dora_failed_deployments` | gauge | |
//! | `dora_failed_deployments_by_signal` | gauge | `signal` |
//! | `dora_recovery_time_seconds` | summary | `measure` (`deployments`, `incidents`) |
//! | `dora_unresolved_incidents` | gauge | |
//! | `dora_rework_rate` | gauge | |
//! | `dora_tier` | gauge: 0 low, 1 medium, 2 high, 3 elite | `metric` |
//! | `dora_diagnostics` | gauge (count) | `code`, `severity` |

use dora_core::report::{DurationStats, Metrics};
use dora_core::{DiagnosticSeverity, Report, Tier};
use std::collections::BTreeMap;
use std::fmt::Write as _;

struct Family {
    kind: &'static str,
    unit: Option<&'static str>,
    help: &'static str,
    samples: Vec<String>,
}

#[derive(Default)]
struct Exposition {
    families: Vec<(String, Family)>,
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn labels(pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

impl Exposition {
    fn family(
        &mut self,
        name: &str,
        kind: &'static str,
        unit: Option<&'static str>,
        help: &'static str,
    ) -> &mut Family {
        if let Some(pos) = self.families.iter().position(|(n, _)| *n == name) {
            return &mut self.families[pos].1;
        }
        self.families.push((
            name.to_string(),
            Family {
                kind,
                unit,
                help,
                samples: Vec::new(),
            },
        ));
        let last = self.families.len() - 1;
        &mut self.families[last].1
    }

    fn gauge(
        &mut self,
        name: &str,
        help: &'static str,
        unit: Option<&'static str>,
        l: &[(&str, &str)],
        value: Option<f64>,
    ) {
        let f = self.family(name, "gauge", unit, help);
        if let Some(v) = value.filter(|v| v.is_finite()) {
            f.samples.push(format!("{name}{} {}", labels(l), number(v)));
        }
    }

    fn summary(
        &mut self,
        name: &str,
        help: &'static str,
        l: &[(&str, &str)],
        stats: &DurationStats,
    ) {
        let f = self.family(name, "summary", Some("seconds"), help);
        for (q, v) in [("0.5", stats.median_seconds), ("0.9", stats.p90_seconds)] {
            if let Some(v) = v {
                let mut with_q: Vec<(&str, &str)> = l.to_vec();
                with_q.push(("quantile", q));
                f.samples
                    .push(format!("{name}{} {}", labels(&with_q), number(v)));
            }
        }
        let sum = stats.mean_seconds.map_or(0.0, |m| m * stats.count as f64);
        f.samples
            .push(format!("{name}_sum{} {}", labels(l), number(sum)));
        f.samples
            .push(format!("{name}_count{} {}", labels(l), stats.count));
    }

    fn finish(self) -> String {
        let mut out = String::new();
        for (name, f) in self.families {
            let _ = writeln!(out, "# TYPE {name} {}", f.kind);
            if let Some(unit) = f.unit {
                let _ = writeln!(out, "# UNIT {name} {unit}");
            }
            let _ = writeln!(out, "# HELP {name} {}", f.help);
            for s in f.samples {
                out.push_str(&s);
                out.push('\n');
            }
        }
        out.push_str("# EOF\n");
        out
    }
}

fn tier_value(t: Option<Tier>) -> Option<f64> {
    t.map(|t| f64::from(t.rank()))
}

fn metrics(e: &mut Exposition, m: &Metrics, repo: Option<&str>) {
    let base: Vec<(&str, &str)> = repo.map(|r| vec![("repository", r)]).unwrap_or_default();
    // Per-repository figures live in their own families (see the module docs).
    let family = |name: &str| -> String {
        match (repo, name.strip_prefix("dora_")) {
            (Some(_), Some(rest)) => format!("dora_repository_{rest}"),
            _ => name.to_string(),
        }
    };
    let with = |k: &'static str, v: &'static str| {
        let mut l = vec![(k, v)];
        l.extend(base.iter().copied());
        l
    };
    let df = &m.deployment_frequency;
    e.gauge(
        &family("dora_deployments"),
        "Successful production deployments in the window (merges under the merge fallback).",
        None,
        &base,
        Some(df.count as f64),
    );
    e.gauge(
        &family("dora_deployment_frequency_per_week"),
        "Successful production deployments per week.",
        None,
        &base,
        Some(df.per_week),
    );
    e.gauge(
        &family("dora_deploy_dates"),
        "Distinct UTC dates with a successful production deployment in the window.",
        None,
        &base,
        Some(df.deploy_days as f64),
    );
    let lt = &m.lead_time;
    let total = DurationStats {
        count: lt.count,
        median_seconds: lt.median_seconds,
        p90_seconds: lt.p90_seconds,
        mean_seconds: lt.mean_seconds,
    };
    e.summary(
        &family("dora_lead_time_seconds"),
        "Lead time for changes: first commit to production.",
        &base,
        &total,
    );
    for (phase, stats) in [
        ("coding", &lt.phases.coding),
        ("pickup", &lt.phases.pickup),
        ("review", &lt.phases.review),
        ("deploy", &lt.phases.deploy),
    ] {
        e.summary(
            &family("dora_lead_time_phase_seconds"),
            "Lead time phases: coding, pickup, review, deploy.",
            &with("phase", phase),
            stats,
        );
    }
    let cfr = &m.change_failure_rate;
    e.gauge(
        &family("dora_change_failure_rate"),
        "Failed production deployments / all production deployments in the window.",
        None,
        &base,
        cfr.rate,
    );
    e.gauge(
        &family("dora_production_deployments"),
        "Production deployment attempts in the window (successful and failed).",
        None,
        &base,
        Some(cfr.deployments as f64),
    );
    e.gauge(
        &family("dora_failed_deployments"),
        "Failed production deployments in the window (any signal).",
        None,
        &base,
        Some(cfr.failed as f64),
    );
    let s = &cfr.by_signal;
    for (signal, n) in [
        ("failed_deployment", s.failed_deployment),
        ("revert", s.revert),
        ("hotfix", s.hotfix),
        ("rollback", s.rollback),
        ("incident", s.incident),
    ] {
        e.gauge(
            &family("dora_failed_deployments_by_signal"),
            "Failed production deployments per failure signal (a deployment may fire several).",
            None,
            &with("signal", signal),
            Some(n as f64),
        );
    }
    let rt = &m.recovery_time;
    let by_deploy = DurationStats {
        count: rt.deployments.count,
        median_seconds: rt.deployments.median_seconds,
        p90_seconds: rt.deployments.p90_seconds,
        mean_seconds: rt.deployments.mean_seconds,
    };
    let by_incident = DurationStats {
        count: rt.incidents.count,
        median_seconds: rt.incidents.median_seconds,
        p90_seconds: rt.incidents.p90_seconds,
        mean_seconds: rt.incidents.mean_seconds,
    };
    e.summary(
        &family("dora_recovery_time_seconds"),
        "Recovery time: failed deployment to restoring deployment, or incident opened to resolved.",
        &with("measure", "deployments"),
        &by_deploy,
    );
    e.summary(
        &family("dora_recovery_time_seconds"),
        "Recovery time: failed deployment to restoring deployment, or incident opened to resolved.",
        &with("measure", "incidents"),
        &by_incident,
    );
    e.gauge(
        &family("dora_unresolved_incidents"),
        "Severity-filtered incidents opened in the window and not resolved.",
        None,
        &base,
        Some(rt.incidents.unresolved as f64),
    );
    e.gauge(
        &family("dora_rework_rate"),
        "Share of production deployments that were unplanned remediation.",
        None,
        &base,
        m.rework_rate.rate,
    );
    for (metric, t) in [
        ("deployment_frequency", df.tier),
        ("lead_time", lt.tier),
        ("change_failure_rate", cfr.tier),
        ("recovery_time", rt.tier),
        ("overall", m.overall_tier),
    ] {
        e.gauge(
            &family("dora_tier"),
            "DORA performance tier: 0 low, 1 medium, 2 high, 3 elite.",
            None,
            &with("metric", metric),
            tier_value(t),
        );
    }
}

/// Render the report as OpenMetrics text.
pub fn render(report: &Report) -> String {
    let mut e = Exposition::default();
    e.gauge(
        "dora_window_start_timestamp_seconds",
        "Start of the report window (inclusive).",
        Some("seconds"),
        &[],
        Some(report.window.start.timestamp() as f64),
    );
    e.gauge(
        "dora_window_end_timestamp_seconds",
        "End of the report window (exclusive).",
        Some("seconds"),
        &[],
        Some(report.window.end.timestamp() as f64),
    );
    metrics(&mut e, &report.metrics, None);
    for (slug, m) in &report.repositories {
        metrics(&mut e, m, Some(slug));
    }
    if let Some(b) = &report.benchmarks {
        for (metric, value) in super::benchmark_rows(b) {
            let l = [
                ("metric", metric),
                ("group", b.reference.group.as_str()),
                ("key", b.reference.key.as_str()),
            ];
            e.gauge(
                "dora_benchmark_percentile",
                "Share of teams in the DORA 2025 survey group this workspace does better than, per metric (0-100).",
                None,
                &l,
                value.map(|v| v.percentile),
            );
            e.gauge(
                "dora_benchmark_score",
                "DORA 2025 Quick Check score of the metric (0-10, higher is better).",
                None,
                &l,
                value.map(|v| v.score),
            );
        }
    }
    for (kind, ledger) in report.accounting.ledgers() {
        e.gauge(
            "dora_events_fetched",
            "Events the sources delivered, per kind (each used or excluded for a reason).",
            None,
            &[("kind", kind)],
            Some(ledger.fetched as f64),
        );
        e.gauge(
            "dora_events_used",
            "Events behind a number of the report, per kind.",
            None,
            &[("kind", kind)],
            Some(ledger.used as f64),
        );
        for (reason, n) in &ledger.excluded {
            e.gauge(
                "dora_events_excluded",
                "Events left out, per kind and reason.",
                None,
                &[("kind", kind), ("reason", reason)],
                Some(*n as f64),
            );
        }
    }
    let mut counts: BTreeMap<(String, &'static str), usize> = BTreeMap::new();
    for d in &report.diagnostics {
        let sev = match d.severity {
            DiagnosticSeverity::Info => "info",
            DiagnosticSeverity::Warning => "warning",
            DiagnosticSeverity::Error => "error",
        };
        *counts.entry((d.code.clone(), sev)).or_default() += 1;
    }
    e.family(
        "dora_diagnostics",
        "gauge",
        None,
        "Data-quality findings by code and severity.",
    );
    for ((code, sev), n) in counts {
        e.gauge(
            "dora_diagnostics",
            "Data-quality findings by code and severity.",
            None,
            &[("code", &code), ("severity", sev)],
            Some(n as f64),
        );
    }
    e.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        assert_eq!(labels(&[("a", "x\"y\\z")]), "{a=\"x\\\"y\\\\z\"}");
        assert_eq!(labels(&[]), "");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.25), "0.25");
    }
}
