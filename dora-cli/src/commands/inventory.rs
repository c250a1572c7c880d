//! `dora inventory`: the read-only audit of a workspace (and an incident
//! tool) that a new user runs first. The audit itself is
//! `dora_bitbucket::Bitbucket::inventory`; this module parses the flags and
//! renders it as a table, JSON or an HTML section.

use crate::common::*;
use crate::failure::Failure;
use crate::sources;
use chrono::Utc;
use clap::Args;
use dora_bitbucket::inventory::{Finding, Inventory, RepositoryInventory};
use dora_cli::output::Format;
use dora_cli::output::html::{STYLE, escape};
use dora_cli::progress::Progress;
use std::fmt::Write as _;

#[derive(Debug, Args)]
pub(crate) struct InventoryArgs {
    #[command(flatten)]
    pub(crate) common: CommonArgs,
    #[command(flatten)]
    pub(crate) sources: SourceArgs,
}

pub(crate) fn run_inventory(args: InventoryArgs) -> Result<(), Failure> {
    if matches!(args.common.format, Format::Csv | Format::Prometheus) {
        return Err(Failure::usage(
            "dora inventory prints --format table (default), json or html",
        ));
    }
    let file = load_file(args.common.config.as_deref())?;
    let settings = resolve(&overrides(&args.common, Some(&args.sources)), &file)?;
    let config = settings.config.clone();
    let plan = plan_from(&settings)?;
    let credentials = sources::Credentials::from_env(&plan)?;
    let progress = Progress::stderr(!args.common.quiet);
    let window = config.window(Utc::now());
    let rt = runtime()?;
    let inventory = rt.block_on(async {
        let built = sources::build(&plan, &credentials, &progress)?;
        progress.phase("bitbucket: inventory");
        let mut inventory = built
            .bitbucket
            .inventory(window, &config)
            .await
            .map_err(Failure::source)?;
        if let Some(source) = built.incidents.as_deref() {
            progress.phase(&format!("{}: inventory", source.name()));
            let incidents = dora_bitbucket::incident_inventory(source, window, &config)
                .await
                .map_err(Failure::source)?;
            inventory = inventory.with_incidents(incidents);
        }
        progress.finish();
        Ok::<_, Failure>(inventory)
    })?;
    let text = match args.common.format {
        Format::Json => {
            let mut s = inventory.to_json_pretty();
            s.push('\n');
            s
        }
        Format::Html => html(&inventory),
        _ => table(&inventory),
    };
    match &args.common.output {
        Some(path) => {
            std::fs::write(path, text)
                .map_err(|e| Failure::output(format!("cannot write {}: {e}", path.display())))?;
            if !args.common.quiet {
                eprintln!("wrote {}", path.display());
            }
            Ok(())
        }
        None => {
            use std::io::Write as _;
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                Err(e) => Err(Failure::output(format!("cannot write to stdout: {e}"))),
            }
        }
    }
}

fn environments(r: &RepositoryInventory) -> String {
    if r.environments.is_empty() {
        return "none".to_string();
    }
    r.environments
        .iter()
        .map(|e| {
            format!(
                "{} ({})",
                e.name,
                e.environment_type.as_deref().unwrap_or("no type")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn deployments(r: &RepositoryInventory) -> String {
    if r.deployments.is_empty() {
        return "none in the window".to_string();
    }
    let mut by_env: Vec<(String, Vec<String>)> = Vec::new();
    for d in &r.deployments {
        let item = format!("{} {}", d.count, d.status);
        match by_env.iter_mut().find(|(e, _)| *e == d.environment) {
            Some((_, items)) => items.push(item),
            None => by_env.push((d.environment.clone(), vec![item])),
        }
    }
    by_env
        .into_iter()
        .map(|(e, items)| format!("{e}: {}", items.join(", ")))
        .collect::<Vec<_>>()
        .join(" · ")
}

fn pipelines(r: &RepositoryInventory) -> String {
    match (&r.pipelines_listed, &r.pipelines) {
        (None, _) => "not readable".to_string(),
        (Some(n), None) => {
            format!("{n} on the newest page; none on the production branch in the window")
        }
        (Some(n), Some(p)) => format!(
            "{n} on the newest page; {} on `{}` in the window (latest {}{})",
            p.runs,
            p.branch,
            p.latest_at.format("%Y-%m-%d %H:%M"),
            p.latest_url
                .as_deref()
                .map(|u| format!(", {u}"))
                .unwrap_or_default()
        ),
    }
}

fn branching(r: &RepositoryInventory) -> String {
    match &r.branching_model {
        None => "not readable".to_string(),
        Some(m) => {
            let prefixes: Vec<String> = m
                .branch_types
                .iter()
                .map(|t| format!("{} {}", t.kind, t.prefix))
                .collect();
            format!(
                "production {} · development {} · {}",
                m.production.as_deref().unwrap_or("(not enabled)"),
                m.development.as_deref().unwrap_or("(none)"),
                if prefixes.is_empty() {
                    "no branch types".to_string()
                } else {
                    prefixes.join(", ")
                }
            )
        }
    }
}

fn merges(r: &RepositoryInventory) -> String {
    let m = &r.merge_strategies;
    format!(
        "{} merge commit, {} squash, {} fast-forward, {} unknown (recent merged pull requests)",
        m.merge_commit, m.squash, m.fast_forward, m.unknown
    )
}

fn forbidden(r: &RepositoryInventory) -> String {
    if r.forbidden.is_empty() {
        return "none".to_string();
    }
    r.forbidden
        .iter()
        .map(|f| format!("{} (needs {})", f.endpoint, f.scope))
        .collect::<Vec<_>>()
        .join(", ")
}

fn count_map(m: &std::collections::BTreeMap<String, u32>) -> String {
    if m.is_empty() {
        return "none".to_string();
    }
    m.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn rows(r: &RepositoryInventory) -> [(&'static str, String); 8] {
    [
        ("environments", environments(r)),
        ("deployments", deployments(r)),
        ("pipelines", pipelines(r)),
        ("branching model", branching(r)),
        ("merge strategies", merges(r)),
        (
            "bots",
            if r.bots.is_empty() {
                "none seen".to_string()
            } else {
                r.bots.join(", ")
            },
        ),
        ("403 (scopes)", forbidden(r)),
        ("requests", r.requests.to_string()),
    ]
}

/// The human-readable audit.
pub(crate) fn table(inv: &Inventory) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Inventory of {} · {} → {} · {} repositor{} · read-only",
        inv.workspace,
        inv.window_start.format("%Y-%m-%d"),
        inv.window_end.format("%Y-%m-%d"),
        inv.repositories.len(),
        if inv.repositories.len() == 1 {
            "y"
        } else {
            "ies"
        }
    );
    for r in &inv.repositories {
        let _ = writeln!(
            out,
            "\n{} (main branch {})",
            r.slug,
            r.main_branch.as_deref().unwrap_or("none")
        );
        for (label, value) in rows(r) {
            let _ = writeln!(out, "  {label:<17} {value}");
        }
    }
    if let Some(i) = &inv.incidents {
        let _ = writeln!(out, "\nincidents ({})", i.source);
        let _ = writeln!(
            out,
            "  {:<17} {} in the window; the severity filter ({}) keeps {}",
            "incidents",
            i.incidents,
            i.severity_filter.join(", "),
            i.kept
        );
        let _ = writeln!(out, "  {:<17} {}", "services", count_map(&i.services));
        let _ = writeln!(out, "  {:<17} {}", "severities", count_map(&i.severities));
    }
    let _ = writeln!(out, "\nFindings ({})", inv.findings.len());
    if inv.findings.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for f in &inv.findings {
        let _ = writeln!(
            out,
            "  {:<7} {}{}: {}\n          fix: {}",
            severity(f),
            f.repository
                .as_deref()
                .map(|r| format!("{r} "))
                .unwrap_or_default(),
            f.code,
            f.message,
            f.fix
        );
    }
    out
}

fn severity(f: &Finding) -> &'static str {
    match f.severity {
        dora_core::DiagnosticSeverity::Error => "error",
        dora_core::DiagnosticSeverity::Warning => "warning",
        _ => "info",
    }
}

/// The audit as an HTML section, wrapped in a page with the dashboard's style.
pub(crate) fn html(inv: &Inventory) -> String {
    let mut out = String::new();
    let title = format!("Inventory — {}", inv.workspace);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>",
        escape(&title)
    );
    let _ = write!(
        out,
        "<header><h1>{}</h1><div class=\"muted\">{} → {} · read-only audit</div></header><main><section id=\"inventory\">",
        escape(&title),
        inv.window_start.format("%Y-%m-%d"),
        inv.window_end.format("%Y-%m-%d"),
    );
    out.push_str("<h2>Repositories</h2><table><tr><th>Repository</th>");
    for (label, _) in inv.repositories.first().map(rows).unwrap_or_default() {
        let _ = write!(out, "<th>{}</th>", escape(label));
    }
    out.push_str("</tr>");
    for r in &inv.repositories {
        let _ = write!(out, "<tr><td><code>{}</code></td>", escape(&r.slug));
        for (_, value) in rows(r) {
            let _ = write!(out, "<td>{}</td>", escape(&value));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    if let Some(i) = &inv.incidents {
        let _ = write!(
            out,
            "<h2>Incidents ({})</h2><table><tr><th>Incidents</th><th>Kept by the severity filter ({})</th><th>Services</th><th>Severities</th></tr><tr><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr></table>",
            escape(&i.source),
            escape(&i.severity_filter.join(", ")),
            i.incidents,
            i.kept,
            escape(&count_map(&i.services)),
            escape(&count_map(&i.severities)),
        );
    }
    out.push_str("<h2>Findings</h2><table><tr><th>Severity</th><th>Code</th><th>Repository</th><th>Finding</th><th>Fix</th></tr>");
    for f in &inv.findings {
        let _ = write!(
            out,
            "<tr><td class=\"sev-{0}\">{0}</td><td><code>{1}</code></td><td>{2}</td><td>{3}</td><td>{4}</td></tr>",
            severity(f),
            escape(&f.code),
            escape(f.repository.as_deref().unwrap_or("")),
            escape(&f.message),
            escape(&f.fix),
        );
    }
    out.push_str("</table></section></main></body></html>\n");
    out
}
