//! The human-readable table (the default output).

use super::{Context, opt_duration, percent, tier};
use dora_core::report::{DeploymentSource, Metrics};
use dora_core::{DiagnosticSeverity, Report};
use std::fmt::Write as _;

fn source_name(s: DeploymentSource) -> &'static str {
    match s {
        DeploymentSource::Deployments => "deployments",
        DeploymentSource::Merges => "merges",
        DeploymentSource::Mixed => "mixed",
    }
}

/// The five metric rows for one scope: (metric, value, tier).
fn rows(m: &Metrics) -> Vec<(String, String, String)> {
    let df = &m.deployment_frequency;
    let lt = &m.lead_time;
    let cfr = &m.change_failure_rate;
    let rt = &m.recovery_time;
    let rw = &m.rework_rate;
    let s = &cfr.by_signal;
    let mut signals = Vec::new();
    for (name, n) in [
        ("failed", s.failed_deployment),
        ("revert", s.revert),
        ("hotfix", s.hotfix),
        ("rollback", s.rollback),
        ("incident", s.incident),
    ] {
        if n > 0 {
            signals.push(format!("{name} {n}"));
        }
    }
    let signals = if signals.is_empty() {
        String::new()
    } else {
        format!(" ({})", signals.join(", "))
    };
    let from = if df.source == DeploymentSource::Deployments {
        String::new()
    } else {
        format!(", from {}", source_name(df.source))
    };
    vec![
        (
            "Deployment frequency".into(),
            format!(
                "{:.1}/week · {} deployments on {} days{from}",
                df.per_week, df.count, df.deploy_days
            ),
            tier(df.tier),
        ),
        (
            "Lead time for changes".into(),
            format!(
                "median {} · p90 {} · {} changes",
                opt_duration(lt.median_seconds),
                opt_duration(lt.p90_seconds),
                lt.count
            ),
            tier(lt.tier),
        ),
        (
            "  phases (median)".into(),
            format!(
                "coding {} · pickup {} · review {} · deploy {}",
                opt_duration(lt.phases.coding.median_seconds),
                opt_duration(lt.phases.pickup.median_seconds),
                opt_duration(lt.phases.review.median_seconds),
                opt_duration(lt.phases.deploy.median_seconds)
            ),
            String::new(),
        ),
        (
            "Change failure rate".into(),
            format!(
                "{} · {} of {}{signals}",
                percent(cfr.rate),
                cfr.failed,
                cfr.deployments
            ),
            tier(cfr.tier),
        ),
        (
            "Recovery time".into(),
            format!(
                "deployments median {} ({}) · incidents median {} ({}{})",
                opt_duration(rt.deployments.median_seconds),
                rt.deployments.count,
                opt_duration(rt.incidents.median_seconds),
                rt.incidents.count,
                if rt.incidents.unresolved > 0 {
                    format!(", {} open", rt.incidents.unresolved)
                } else {
                    String::new()
                }
            ),
            tier(rt.tier),
        ),
        (
            "Rework rate".into(),
            format!("{} · {} of {}", percent(rw.rate), rw.rework, rw.deployments),
            String::new(),
        ),
    ]
}

/// Render the table.
pub fn render(report: &Report, ctx: &Context) -> String {
    let mut out = String::new();
    let repos = &report.scope.repositories;
    let _ = writeln!(
        out,
        "DORA metrics — {} — {} repositor{}",
        ctx.title,
        repos.len(),
        if repos.len() == 1 { "y" } else { "ies" }
    );
    if let Some(note) = &ctx.note {
        let _ = writeln!(out, "{note}");
    }
    let _ = writeln!(
        out,
        "Window {} → {} ({} days) · tiers: DORA {} · overall: {}",
        report.window.start.format("%Y-%m-%d %H:%M"),
        report.window.end.format("%Y-%m-%d %H:%M"),
        report.window.days,
        report.tier_year,
        tier(report.metrics.overall_tier)
    );
    out.push('\n');
    let rows = rows(&report.metrics);
    let w0 = rows
        .iter()
        .map(|r| r.0.chars().count())
        .max()
        .unwrap_or(0)
        .max(6);
    let w1 = rows
        .iter()
        .map(|r| r.1.chars().count())
        .max()
        .unwrap_or(0)
        .max(5);
    let _ = writeln!(out, "{:<w0$}  {:<w1$}  Tier", "Metric", "Value");
    let _ = writeln!(out, "{}", "─".repeat(w0 + w1 + 10));
    for (name, value, t) in &rows {
        let _ = writeln!(
            out,
            "{}",
            format!("{name:<w0$}  {value:<w1$}  {t}").trim_end()
        );
    }

    if let Some(b) = &report.benchmarks {
        out.push('\n');
        let _ = writeln!(
            out,
            "Where you stand — DORA {} survey, {} (better than N % of teams)",
            b.reference.edition, b.reference.name
        );
        for (metric, value) in super::benchmark_rows(b) {
            let text = match value {
                Some(v) => format!(
                    "better than {:>5.1} %   score {:>4.1}/10{}",
                    v.percentile,
                    v.score,
                    v.bucket
                        .map(|k| format!("   answer {k}/6"))
                        .unwrap_or_default()
                ),
                None => "no value in this window".to_string(),
            };
            let _ = writeln!(out, "  {:<22} {text}", super::metric_title(metric));
        }
    }

    if !report.repositories.is_empty() {
        out.push('\n');
        let _ = writeln!(out, "Per repository");
        let header = [
            "Repository",
            "Deploys/wk",
            "Source",
            "Lead time",
            "CFR",
            "Recovery",
            "Rework",
            "Tier",
        ];
        let mut table: Vec<[String; 8]> = vec![header.map(str::to_string)];
        for (slug, m) in &report.repositories {
            let rt = &m.recovery_time;
            table.push([
                slug.clone(),
                format!("{:.1}", m.deployment_frequency.per_week),
                source_name(m.deployment_frequency.source).to_string(),
                opt_duration(m.lead_time.median_seconds),
                percent(m.change_failure_rate.rate),
                opt_duration(rt.headline_seconds()),
                percent(m.rework_rate.rate),
                tier(m.overall_tier),
            ]);
        }
        let widths: Vec<usize> = (0..8)
            .map(|c| {
                table
                    .iter()
                    .map(|r| r[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for (i, row) in table.iter().enumerate() {
            let line: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(c, cell)| {
                    if c == 0 || c == 2 || c == 7 {
                        format!("{cell:<w$}", w = widths[c])
                    } else {
                        format!("{cell:>w$}", w = widths[c])
                    }
                })
                .collect();
            let _ = writeln!(out, "{}", line.join("  ").trim_end());
            if i == 0 {
                let _ = writeln!(out, "{}", "─".repeat(widths.iter().sum::<usize>() + 14));
            }
        }
    }

    let failed: Vec<_> = report
        .deployments
        .iter()
        .filter(|d| !d.failures.is_empty())
        .collect();
    if !failed.is_empty() {
        out.push('\n');
        let _ = writeln!(
            out,
            "Failed deployments: {} (run with --format html or csv for the list)",
            failed.len()
        );
    }
    let prs = &report.accounting.pull_requests;
    let _ = writeln!(
        out,
        "Lead time leaves out: {} of {} pull requests; {} unreviewed changes",
        super::exclusions(prs),
        prs.fetched,
        report.metrics.lead_time.unreviewed
    );
    out.push('\n');
    let _ = writeln!(out, "Accounting (every fetched item used or excluded)");
    for (kind, ledger) in report.accounting.ledgers() {
        let _ = writeln!(
            out,
            "  {:<14} {:>7} fetched = {:>7} used + excluded: {}",
            kind.replace('_', " "),
            ledger.fetched,
            ledger.used,
            super::exclusions(ledger)
        );
    }

    if !report.diagnostics.is_empty() {
        out.push('\n');
        let _ = writeln!(out, "Diagnostics");
        for d in &report.diagnostics {
            let sev = match d.severity {
                DiagnosticSeverity::Info => "info",
                DiagnosticSeverity::Warning => "warning",
                DiagnosticSeverity::Error => "error",
            };
            let repo = d
                .repository
                .as_deref()
                .map(|r| format!("{r}: "))
                .unwrap_or_default();
            let _ = writeln!(out, "  {sev:<7}  {:<27}  {repo}{}", d.code, d.message);
        }
    }
    out
}
