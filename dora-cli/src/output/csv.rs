//! CSV of the rows behind the metrics.
//!
//! Three tables: `changes` (one row per change in lead time), `deployments`
//! (one row per production deployment attempt in the window, with its failure
//! signals) and `incidents`. To standard output (or one `--output` file) they
//! are written as three sections, each introduced by a `# <name>` line and
//! separated by a blank line; with `--output DIR/` each goes to its own file
//! (`changes.csv`, `deployments.csv`, `incidents.csv`) that spreadsheets and
//! `pandas.read_csv` read directly.

use dora_core::report::{ChangeRow, DeploymentRow, IncidentRow};
use dora_core::{DeploymentStatus, Report, Signal, Timestamp};

/// File names of the tables, in section order.
pub const TABLES: [&str; 4] = ["changes", "deployments", "incidents", "accounting"];

fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn line(cells: &[String]) -> String {
    let mut s = cells.iter().map(|c| field(c)).collect::<Vec<_>>().join(",");
    s.push('\n');
    s
}

fn time(t: Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn opt_time(t: Option<Timestamp>) -> String {
    t.map(time).unwrap_or_default()
}

fn num(x: f64) -> String {
    format!("{}", x.round() as i64)
}

fn opt_num(x: Option<f64>) -> String {
    x.map(num).unwrap_or_default()
}

/// The serde name of a signal (`failed_deployment`, `revert`, ...).
pub fn signal_name(s: Signal) -> &'static str {
    s.as_str()
}

/// The serde name of a deployment status.
pub fn status_name(s: DeploymentStatus) -> &'static str {
    s.as_str()
}

/// The `changes` table.
pub fn changes(rows: &[ChangeRow]) -> String {
    let mut out = line(
        &[
            "repository",
            "pull_request",
            "title",
            "author",
            "first_commit_at",
            "created_at",
            "first_review_at",
            "merged_at",
            "deployed_at",
            "deployment",
            "lead_time_seconds",
            "coding_seconds",
            "pickup_seconds",
            "review_seconds",
            "deploy_seconds",
            "hotfix",
        ]
        .map(str::to_string),
    );
    for r in rows {
        out.push_str(&line(&[
            r.repository.clone(),
            r.pull_request.to_string(),
            r.title.clone(),
            r.author.clone(),
            time(r.first_commit_at),
            time(r.created_at),
            opt_time(r.first_review_at),
            time(r.merged_at),
            time(r.deployed_at),
            r.deployment.clone(),
            num(r.lead_time_seconds),
            num(r.coding_seconds),
            num(r.pickup_seconds),
            num(r.review_seconds),
            num(r.deploy_seconds),
            r.hotfix.to_string(),
        ]));
    }
    out
}

/// The `deployments` table; `signals` lists the failure signals (`;`-separated)
/// and `evidence` the matching evidence in the same order.
pub fn deployments(rows: &[DeploymentRow]) -> String {
    let mut out = line(
        &[
            "repository",
            "id",
            "environment",
            "commit",
            "deployed_at",
            "status",
            "changes",
            "failed",
            "signals",
            "evidence",
            "excused_rerun",
            "rework",
            "recovery_seconds",
            "from_merge",
        ]
        .map(str::to_string),
    );
    for r in rows {
        let signals: Vec<&str> = r.failures.iter().map(|f| signal_name(f.signal)).collect();
        let evidence: Vec<&str> = r.failures.iter().map(|f| f.evidence.as_str()).collect();
        out.push_str(&line(&[
            r.repository.clone(),
            r.id.clone(),
            r.environment.clone(),
            r.commit.clone(),
            time(r.deployed_at),
            status_name(r.status).to_string(),
            r.changes.to_string(),
            (!r.failures.is_empty()).to_string(),
            signals.join(";"),
            evidence.join(";"),
            r.excused_rerun.to_string(),
            r.rework.to_string(),
            opt_num(r.recovery_seconds),
            r.from_merge.to_string(),
        ]));
    }
    out
}

/// The `incidents` table.
pub fn incidents(rows: &[IncidentRow]) -> String {
    let mut out = line(
        &[
            "source",
            "id",
            "title",
            "service",
            "severity",
            "opened_at",
            "resolved_at",
            "recovery_seconds",
            "counted",
            "deployment",
        ]
        .map(str::to_string),
    );
    for r in rows {
        out.push_str(&line(&[
            r.source.clone(),
            r.id.clone(),
            r.title.clone(),
            r.service.clone().unwrap_or_default(),
            r.severity.map(|s| s.to_string()).unwrap_or_default(),
            time(r.opened_at),
            opt_time(r.resolved_at),
            opt_num(r.recovery_seconds),
            r.counted.to_string(),
            r.deployment.clone().unwrap_or_default(),
        ]));
    }
    out
}

/// The report's ledger, one row per (kind, outcome): `used` or the exclusion
/// reason; each kind's counts sum to its `fetched`.
pub fn accounting(report: &Report) -> String {
    let mut out = line(&[
        "kind".into(),
        "fetched".into(),
        "outcome".into(),
        "count".into(),
    ]);
    for (kind, ledger) in report.accounting.ledgers() {
        out.push_str(&line(&[
            kind.into(),
            ledger.fetched.to_string(),
            "used".into(),
            ledger.used.to_string(),
        ]));
        for (reason, n) in &ledger.excluded {
            out.push_str(&line(&[
                kind.into(),
                ledger.fetched.to_string(),
                field(reason),
                n.to_string(),
            ]));
        }
    }
    out
}

/// The tables by name, in [`TABLES`] order.
pub fn tables(report: &Report) -> [(&'static str, String); 4] {
    [
        (TABLES[0], changes(&report.changes)),
        (TABLES[1], deployments(&report.deployments)),
        (TABLES[2], incidents(&report.incidents)),
        (TABLES[3], accounting(report)),
    ]
}

/// All tables in one stream: `# name` line, the table, a blank line between.
pub fn render_sections(report: &Report) -> String {
    tables(report)
        .iter()
        .map(|(name, body)| format!("# {name}\n{body}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_when_needed() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(line(&["x".into(), "y\nz".into()]), "x,\"y\nz\"\n");
    }
}
