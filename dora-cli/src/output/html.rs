//! One self-contained HTML page: no external assets, no JavaScript.
//!
//! The four keys and rework rate with their tiers, weekly trend charts as
//! inline SVG, the lead-time phase breakdown, a per-repository comparison,
//! failed deployments with their signals and evidence, and the diagnostics.

use super::csv::signal_name;
use super::{Context, duration, opt_duration, percent, tier};
use dora_core::report::{DeploymentSource, Metrics, WeekPoint};
use dora_core::{DiagnosticSeverity, Report, Tier};
use std::fmt::Write as _;

/// Escape text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The dashboard's stylesheet, shared by other HTML pages (the inventory).
pub const STYLE: &str = r#"
:root { --fg:#1d2330; --muted:#5b6475; --line:#dde2ea; --bg:#f6f7f9; --card:#fff;
  --elite:#1a7f4b; --high:#2f6fd0; --medium:#c98a0b; --low:#c0392b; --none:#8a93a3; --accent:#2f6fd0; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--fg); background:var(--bg); }
header { padding:20px 28px 8px; }
h1 { font-size:22px; margin:0 0 4px; }
h2 { font-size:16px; margin:28px 0 10px; }
main { padding:0 28px 28px; max-width:1280px; }
.muted { color:var(--muted); }
.cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(210px,1fr)); gap:12px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:14px 16px; }
.card .label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.card .value { font-size:26px; font-weight:650; margin:4px 0; }
.card .sub { color:var(--muted); font-size:12px; }
.tier { display:inline-block; padding:1px 8px; border-radius:10px; color:#fff; font-size:12px; font-weight:600; background:var(--none); }
.tier.elite { background:var(--elite); } .tier.high { background:var(--high); }
.tier.medium { background:var(--medium); } .tier.low { background:var(--low); }
.charts { display:grid; grid-template-columns:repeat(auto-fit,minmax(360px,1fr)); gap:12px; }
.chart-card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:10px 12px; }
.chart-card h3 { font-size:13px; margin:0 0 4px; }
svg.chart { width:100%; height:auto; display:block; }
svg text { font-size:10px; fill:var(--muted); }
table { border-collapse:collapse; width:100%; background:var(--card); border:1px solid var(--line); border-radius:8px; }
th, td { text-align:left; padding:6px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
th { font-size:12px; color:var(--muted); font-weight:600; background:#fafbfc; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
.signal { display:inline-block; margin:0 4px 2px 0; padding:0 6px; border-radius:4px; background:#fde8e6; color:#8f2418; font-size:12px; }
.sev-warning { color:#9a6700; font-weight:600; } .sev-error { color:var(--low); font-weight:600; } .sev-info { color:var(--muted); font-weight:600; }
code { font-size:12px; }
a { color:var(--accent); text-decoration:none; } a:hover { text-decoration:underline; }
.card .value a.rows-link { color:inherit; }
details.rows { margin:8px 0; } details.rows summary { cursor:pointer; font-weight:600; margin:6px 0; }
tr:target { background:#fff6d6; }
.legend span { display:inline-block; margin-right:14px; font-size:12px; }
.legend i { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:4px; vertical-align:-1px; }
footer { padding:0 28px 28px; color:var(--muted); font-size:12px; }
"#;

const PHASE_COLOURS: [&str; 4] = ["#7aa6e8", "#f2b84b", "#9b7ede", "#4fb38a"];

fn tier_badge(t: Option<Tier>) -> String {
    match t {
        Some(t) => format!("<span class=\"tier {0}\">{0}</span>", t.as_str()),
        None => "<span class=\"tier\">no tier</span>".to_string(),
    }
}

/// How a chart draws its series.
#[derive(Clone, Copy)]
enum Kind {
    Bars,
    Line,
}

/// An inline SVG chart of a weekly series.
fn chart(title: &str, points: &[WeekPoint], kind: Kind, fmt: &dyn Fn(f64) -> String) -> String {
    const W: f64 = 360.0;
    const H: f64 = 140.0;
    const LEFT: f64 = 52.0;
    const RIGHT: f64 = 8.0;
    const TOP: f64 = 10.0;
    const BOTTOM: f64 = 22.0;
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let max = points
        .iter()
        .filter_map(|p| p.value)
        .fold(0.0_f64, f64::max);
    let max = if max > 0.0 { max } else { 1.0 };
    let n = points.len().max(1) as f64;
    let step = plot_w / n;
    let y = |v: f64| TOP + plot_h - (v / max) * plot_h;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
        escape(title)
    );
    let _ = write!(
        svg,
        "<line x1=\"{LEFT}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#c5ccd8\"/><line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{r}\" y2=\"{TOP}\" stroke=\"#eef0f4\"/>",
        b = TOP + plot_h,
        r = W - RIGHT
    );
    let _ = write!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>",
        LEFT - 4.0,
        TOP + 8.0,
        escape(&fmt(max)),
        LEFT - 4.0,
        TOP + plot_h
    );
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        let _ = write!(
            svg,
            "<text x=\"{LEFT}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            H - 6.0,
            first.week_start.format("%b %d"),
            W - RIGHT,
            H - 6.0,
            last.week_start.format("%b %d")
        );
    }
    match kind {
        Kind::Bars => {
            for (i, p) in points.iter().enumerate() {
                let Some(v) = p.value else { continue };
                let x = LEFT + i as f64 * step + step * 0.15;
                let top = y(v);
                let _ = write!(
                    svg,
                    "<rect class=\"bar\" x=\"{x:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#2f6fd0\"><title>week of {}: {} ({} samples)</title></rect>",
                    step * 0.7,
                    (TOP + plot_h - top).max(0.0),
                    p.week_start.format("%Y-%m-%d"),
                    escape(&fmt(v)),
                    p.count
                );
            }
        }
        Kind::Line => {
            let mut segment: Vec<(f64, f64)> = Vec::new();
            let mut segments: Vec<Vec<(f64, f64)>> = Vec::new();
            for (i, p) in points.iter().enumerate() {
                match p.value {
                    Some(v) => segment.push((LEFT + (i as f64 + 0.5) * step, y(v))),
                    None => {
                        if !segment.is_empty() {
                            segments.push(std::mem::take(&mut segment));
                        }
                    }
                }
            }
            if !segment.is_empty() {
                segments.push(segment);
            }
            for s in &segments {
                let pts: Vec<String> = s.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
                let _ = write!(
                    svg,
                    "<polyline class=\"line\" points=\"{}\" fill=\"none\" stroke=\"#2f6fd0\" stroke-width=\"2\"/>",
                    pts.join(" ")
                );
            }
            for (i, p) in points.iter().enumerate() {
                let Some(v) = p.value else { continue };
                let _ = write!(
                    svg,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"#2f6fd0\"><title>week of {}: {} ({} samples)</title></circle>",
                    LEFT + (i as f64 + 0.5) * step,
                    y(v),
                    p.week_start.format("%Y-%m-%d"),
                    escape(&fmt(v)),
                    p.count
                );
            }
        }
    }
    svg.push_str("</svg>");
    format!(
        "<div class=\"chart-card\"><h3>{}</h3>{svg}</div>",
        escape(title)
    )
}

/// A headline card; its number links to the rows behind it (`#rows`).
fn card(
    label: &str,
    value: &str,
    t: Option<Tier>,
    show_tier: bool,
    sub: &str,
    rows: &str,
) -> String {
    format!(
        "<div class=\"card\"><div class=\"label\">{}</div><div class=\"value\"><a class=\"rows-link\" href=\"#{rows}\" title=\"the rows behind this number\">{}</a></div>{}<div class=\"sub\">{}</div></div>",
        escape(label),
        escape(value),
        if show_tier {
            tier_badge(t)
        } else {
            String::new()
        },
        escape(sub)
    )
}

fn cards(m: &Metrics) -> String {
    let df = &m.deployment_frequency;
    let lt = &m.lead_time;
    let cfr = &m.change_failure_rate;
    let rt = &m.recovery_time;
    let rw = &m.rework_rate;
    let source = match df.source {
        DeploymentSource::Deployments => "",
        DeploymentSource::Merges => " · counted from merges",
        DeploymentSource::Mixed => " · partly counted from merges",
    };
    let recovery = rt.headline_seconds();
    let mut out = String::from("<div class=\"cards\">");
    out.push_str(&card(
        "Deployment frequency",
        &format!("{:.1} / week", df.per_week),
        df.tier,
        true,
        &format!(
            "{} deployments on {} days{source}",
            df.count, df.deploy_days
        ),
        "deployments",
    ));
    out.push_str(&card(
        "Lead time for changes",
        &opt_duration(lt.median_seconds),
        lt.tier,
        true,
        &format!(
            "median of {} changes · p90 {}",
            lt.count,
            opt_duration(lt.p90_seconds)
        ),
        "changes",
    ));
    out.push_str(&card(
        "Change failure rate",
        &percent(cfr.rate),
        cfr.tier,
        true,
        &format!(
            "{} of {} production deployments",
            cfr.failed, cfr.deployments
        ),
        "failed-deployments",
    ));
    out.push_str(&card(
        "Recovery time",
        &opt_duration(recovery),
        rt.tier,
        true,
        &format!(
            "deployments: median {} ({}) · incidents: median {} ({}, {} open)",
            opt_duration(rt.deployments.median_seconds),
            rt.deployments.count,
            opt_duration(rt.incidents.median_seconds),
            rt.incidents.count,
            rt.incidents.unresolved
        ),
        "failed-deployments",
    ));
    out.push_str(&card(
        "Rework rate",
        &percent(rw.rate),
        None,
        false,
        &format!(
            "{} of {} deployments were unplanned remediation",
            rw.rework, rw.deployments
        ),
        "deployments",
    ));
    out.push_str("</div>");
    out
}

fn phases(m: &Metrics) -> String {
    let p = &m.lead_time.phases;
    let rows = [
        ("Coding", "first commit → PR opened", &p.coding),
        ("Pickup", "PR opened → first review", &p.pickup),
        ("Review", "first review → merged", &p.review),
        ("Deploy", "merged → in production", &p.deploy),
    ];
    let total: f64 = rows.iter().filter_map(|r| r.2.median_seconds).sum();
    let mut out = String::new();
    out.push_str("<div class=\"chart-card\"><h3>Median lead time by phase</h3>");
    let _ = write!(
        out,
        "<svg class=\"chart phases\" viewBox=\"0 0 720 34\" role=\"img\" aria-label=\"lead time phases\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    let mut x = 0.0;
    for (i, (name, _, s)) in rows.iter().enumerate() {
        let v = s.median_seconds.unwrap_or(0.0);
        let w = if total > 0.0 { v / total * 720.0 } else { 0.0 };
        let _ = write!(
            out,
            "<rect x=\"{x:.1}\" y=\"4\" width=\"{w:.1}\" height=\"26\" fill=\"{}\"><title>{name}: {}</title></rect>",
            PHASE_COLOURS[i],
            duration(v)
        );
        x += w;
    }
    out.push_str("</svg><div class=\"legend\">");
    for (i, (name, _, s)) in rows.iter().enumerate() {
        let _ = write!(
            out,
            "<span><i style=\"background:{}\"></i>{name} {}</span>",
            PHASE_COLOURS[i],
            opt_duration(s.median_seconds)
        );
    }
    out.push_str("</div></div>");
    out.push_str("<table class=\"phases\"><tr><th>Phase</th><th>From → to</th><th class=\"num\">Median</th><th class=\"num\">p90</th><th class=\"num\">Mean</th><th class=\"num\">Changes</th></tr>");
    for (name, span, s) in rows {
        let _ = write!(
            out,
            "<tr><td>{name}</td><td class=\"muted\">{span}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            opt_duration(s.median_seconds),
            opt_duration(s.p90_seconds),
            opt_duration(s.mean_seconds),
            s.count
        );
    }
    out.push_str("</table>");
    out
}

fn per_repository(report: &Report) -> String {
    if report.repositories.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<h2>Per repository</h2><table class=\"repositories\"><tr><th>Repository</th><th class=\"num\">Deploys / week</th><th class=\"num\">Lead time</th><th class=\"num\">Change failure rate</th><th class=\"num\">Recovery</th><th class=\"num\">Rework</th><th>Overall</th></tr>",
    );
    for (slug, m) in &report.repositories {
        let rt = &m.recovery_time;
        let merges = if m.deployment_frequency.source == DeploymentSource::Merges {
            " <span class=\"muted\">(merges)</span>"
        } else {
            ""
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"num\">{:.1}{merges} {}</td><td class=\"num\">{} {}</td><td class=\"num\">{} {}</td><td class=\"num\">{} {}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            escape(slug),
            m.deployment_frequency.per_week,
            tier_badge(m.deployment_frequency.tier),
            opt_duration(m.lead_time.median_seconds),
            tier_badge(m.lead_time.tier),
            percent(m.change_failure_rate.rate),
            tier_badge(m.change_failure_rate.tier),
            opt_duration(rt.headline_seconds()),
            tier_badge(rt.tier),
            percent(m.rework_rate.rate),
            tier_badge(m.overall_tier)
        );
    }
    out.push_str("</table>");
    out
}

fn failed_deployments(report: &Report) -> String {
    let failed: Vec<_> = report
        .deployments
        .iter()
        .filter(|d| !d.failures.is_empty())
        .collect();
    let mut out = format!(
        "<h2 id=\"failed-deployments\">Failed deployments ({})</h2>",
        failed.len()
    );
    if failed.is_empty() {
        out.push_str("<p class=\"muted\">No production deployment in the window failed.</p>");
        return out;
    }
    out.push_str("<table class=\"failed\"><tr><th>Deployed</th><th>Repository</th><th>Deployment</th><th>Commit</th><th>Signals and evidence</th><th class=\"num\">Recovered after</th></tr>");
    for d in failed {
        let signals: Vec<String> = d
            .failures
            .iter()
            .map(|f| {
                format!(
                    "<span class=\"signal\">{}</span> <code>{}</code>",
                    signal_name(f.signal),
                    escape(&f.evidence)
                )
            })
            .collect();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td><a href=\"#{}\">{}</a> {} <span class=\"muted\">{}</span></td><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td></tr>",
            d.deployed_at.format("%Y-%m-%d %H:%M"),
            escape(&d.repository),
            anchor(&["dep", &d.repository, &d.id]),
            escape(&deployment_label(d.release.as_deref(), &d.id)),
            d.url
                .as_deref()
                .map(|u| link("pipeline", Some(u)))
                .unwrap_or_default(),
            escape(&d.environment),
            link(&short_sha(&d.commit), d.commit_url.as_deref()),
            signals.join("<br>"),
            opt_duration(d.recovery_seconds)
        );
    }
    out.push_str("</table>");
    out
}

fn diagnostics(report: &Report) -> String {
    let mut out = format!("<h2>Diagnostics ({})</h2>", report.diagnostics.len());
    if report.diagnostics.is_empty() {
        out.push_str("<p class=\"muted\">No data-quality findings.</p>");
        return out;
    }
    out.push_str("<table class=\"diagnostics\"><tr><th>Severity</th><th>Code</th><th>Repository</th><th>Message</th></tr>");
    for d in &report.diagnostics {
        let sev = match d.severity {
            DiagnosticSeverity::Info => "info",
            DiagnosticSeverity::Warning => "warning",
            DiagnosticSeverity::Error => "error",
        };
        let _ = write!(
            out,
            "<tr><td class=\"sev-{sev}\">{sev}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            escape(&d.code),
            escape(d.repository.as_deref().unwrap_or("")),
            escape(&d.message)
        );
    }
    out.push_str("</table>");
    out
}

/// What every number rests on: per kind, fetched = used + excluded by reason.
fn accounting(report: &Report) -> String {
    let mut out = String::from(
        "<h2>Accounting</h2><table class=\"accounting\"><tr><th>Kind</th><th>Fetched</th><th>Used</th><th>Excluded</th></tr>",
    );
    for (kind, ledger) in report.accounting.ledgers() {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&kind.replace('_', " ")),
            ledger.fetched,
            ledger.used,
            escape(&super::exclusions(ledger))
        );
    }
    out.push_str("</table>");
    out
}

/// "Where you stand": each metric's DORA 2025 distribution (a standard normal
/// curve over the group's scores) with one marker at this workspace's score.
fn benchmarks(report: &Report) -> String {
    let Some(b) = &report.benchmarks else {
        return String::new();
    };
    let mut out = format!(
        "<h2>Where you stand — DORA {} survey, {}</h2><div class=\"cards benchmarks\">",
        b.reference.edition,
        escape(&b.reference.name)
    );
    let (w, h) = (220.0_f64, 70.0_f64);
    // The curve over z in [-3, 3], once for every card.
    let xs = |z: f64| (z + 3.0) / 6.0 * w;
    let ys = |z: f64| h - 6.0 - (-(z * z) / 2.0).exp() * (h - 16.0);
    let curve: Vec<String> = (0..=60)
        .map(|i| {
            let z = -3.0 + f64::from(i) * 0.1;
            format!("{:.1},{:.1}", xs(z), ys(z))
        })
        .collect();
    for (metric, value) in super::benchmark_rows(b) {
        let title = super::metric_title(metric);
        let _ = write!(
            out,
            "<div class=\"card benchmark\" data-metric=\"{metric}\"><div class=\"muted\">{title}</div>"
        );
        match value {
            Some(v) => {
                let z = v.z.clamp(-3.0, 3.0);
                let shade: Vec<String> = curve
                    .iter()
                    .zip(0..)
                    .filter(|(_, i)| -3.0 + f64::from(*i) * 0.1 <= z)
                    .map(|(p, _)| p.clone())
                    .collect();
                let _ = write!(
                    out,
                    "<div class=\"value\">better than {:.0} %</div><svg viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" aria-label=\"{title}: better than {:.1} % of surveyed teams\">\
                     <polygon points=\"0,{base} {} {:.1},{base}\" fill=\"var(--accent)\" opacity=\"0.18\"/>\
                     <polyline points=\"{}\" fill=\"none\" stroke=\"var(--muted)\" stroke-width=\"1.5\"/>\
                     <line class=\"marker\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"4\" y2=\"{base}\" stroke=\"var(--accent)\" stroke-width=\"2.5\"/></svg>\
                     <div class=\"muted\">score {:.1}/10{} · z {:+.2}</div>",
                    v.percentile,
                    v.percentile,
                    shade.join(" "),
                    xs(z),
                    curve.join(" "),
                    v.score,
                    v.bucket
                        .map(|k| format!(" · answer {k}/6"))
                        .unwrap_or_default(),
                    v.z,
                    base = h - 6.0,
                    x = xs(z),
                );
            }
            None => out.push_str(
                "<div class=\"value\">—</div><div class=\"muted\">no value in this window</div>",
            ),
        }
        out.push_str("</div>");
    }
    let _ = write!(
        out,
        "</div><p class=\"muted\">Distributions: {}.</p>",
        escape(&b.reference.source)
    );
    out
}

/// An element id from free text (ids, slugs): letters, digits, `-` and `_`.
fn anchor(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| {
            p.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// `text` as a link to `url` when there is one (external pages open in a new tab).
fn link(text: &str, url: Option<&str>) -> String {
    match url.filter(|u| u.starts_with("https://") || u.starts_with("http://")) {
        Some(u) => format!(
            "<a href=\"{}\" target=\"_blank\" rel=\"noopener\">{}</a>",
            escape(u),
            escape(text)
        ),
        None => escape(text),
    }
}

fn short_sha(sha: &str) -> String {
    sha.chars().take(12).collect()
}

/// How a deployment is named on the page: its release (`#186`) and environment.
fn deployment_label(release: Option<&str>, id: &str) -> String {
    release.map_or_else(|| id.chars().take(13).collect(), str::to_string)
}

/// Every change behind lead time, each linked to its pull request and the
/// deployment that shipped it.
fn changes_table(report: &Report) -> String {
    let mut out = format!(
        "<details class=\"rows\" id=\"changes\"><summary>Changes behind lead time ({})</summary><table class=\"changes\"><tr><th>Repository</th><th>Pull request</th><th>Author</th><th class=\"num\">Lead time</th><th>Deployed</th><th>Shipped by</th></tr>",
        report.changes.len()
    );
    let by_id: std::collections::HashMap<(&str, &str), &dora_core::report::DeploymentRow> = report
        .deployments
        .iter()
        .map(|d| ((d.repository.as_str(), d.id.as_str()), d))
        .collect();
    for c in &report.changes {
        let dep = by_id.get(&(c.repository.as_str(), c.deployment.as_str()));
        let shipped = format!(
            "<a href=\"#{}\">{}</a>",
            anchor(&["dep", &c.repository, &c.deployment]),
            escape(&deployment_label(
                dep.and_then(|d| d.release.as_deref()),
                &c.deployment
            ))
        );
        let _ = write!(
            out,
            "<tr id=\"{}\"><td>{}</td><td>{} {}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{shipped}</td></tr>",
            anchor(&["pr", &c.repository, &c.pull_request.to_string()]),
            escape(&c.repository),
            link(&format!("#{}", c.pull_request), c.url.as_deref()),
            escape(&c.title),
            escape(&c.author),
            duration(c.lead_time_seconds),
            c.deployed_at.format("%Y-%m-%d %H:%M"),
        );
    }
    out.push_str("</table></details>");
    out
}

/// Every production deployment attempt in the window, linked to its pipeline
/// run and commit.
fn deployments_table(report: &Report) -> String {
    let mut out = format!(
        "<details class=\"rows\" id=\"deployments\"><summary>Production deployments ({})</summary><table class=\"deployments\"><tr><th>Deployed</th><th>Repository</th><th>Release</th><th>Environment</th><th>Commit</th><th>Status</th><th class=\"num\">Changes</th><th>Signals</th></tr>",
        report.deployments.len()
    );
    for d in &report.deployments {
        let signals: Vec<String> = d
            .failures
            .iter()
            .map(|f| format!("<span class=\"signal\">{}</span>", signal_name(f.signal)))
            .collect();
        let _ = write!(
            out,
            "<tr id=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            anchor(&["dep", &d.repository, &d.id]),
            d.deployed_at.format("%Y-%m-%d %H:%M"),
            escape(&d.repository),
            link(
                &deployment_label(d.release.as_deref(), &d.id),
                d.url.as_deref()
            ),
            escape(&d.environment),
            link(&short_sha(&d.commit), d.commit_url.as_deref()),
            d.status.as_str(),
            d.changes,
            signals.join(" ")
        );
    }
    out.push_str("</table></details>");
    out
}

/// Every incident opened in the window, linked to its page in the tool.
fn incidents_table(report: &Report) -> String {
    let mut out = format!(
        "<details class=\"rows\" id=\"incidents\"><summary>Incidents ({})</summary><table class=\"incidents\"><tr><th>Opened</th><th>Incident</th><th>Service</th><th>Severity</th><th class=\"num\">Recovered after</th><th>Counted</th><th>Failed deployment</th></tr>",
        report.incidents.len()
    );
    for i in &report.incidents {
        let dep = i.deployment.as_deref().map_or_else(String::new, |d| {
            let (repo, id) = d.split_once('/').unwrap_or(("", d));
            format!(
                "<a href=\"#{}\">{}</a>",
                anchor(&["dep", repo, id]),
                escape(d)
            )
        });
        let _ = write!(
            out,
            "<tr id=\"{}\"><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{dep}</td></tr>",
            anchor(&["inc", &i.source, &i.id]),
            i.opened_at.format("%Y-%m-%d %H:%M"),
            link(&i.id, i.url.as_deref()),
            escape(&i.title),
            escape(i.service.as_deref().unwrap_or("")),
            i.severity.map(|s| s.to_string()).unwrap_or_default(),
            opt_duration(i.recovery_seconds),
            if i.counted { "yes" } else { "no" },
        );
    }
    out.push_str("</table></details>");
    out
}

/// Render the dashboard.
pub fn render(report: &Report, ctx: &Context) -> String {
    let m = &report.metrics;
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    let _ = write!(out, "<title>DORA metrics — {}</title>", escape(&ctx.title));
    let _ = write!(out, "<style>{STYLE}</style></head><body>");
    let _ = write!(
        out,
        "<header><h1>DORA metrics — {}</h1><div class=\"muted\">{} → {} ({} days) · {} repositor{} · tiers: DORA {} · overall {}</div>{}</header><main>",
        escape(&ctx.title),
        report.window.start.format("%Y-%m-%d"),
        report.window.end.format("%Y-%m-%d"),
        report.window.days,
        report.scope.repositories.len(),
        if report.scope.repositories.len() == 1 {
            "y"
        } else {
            "ies"
        },
        report.tier_year,
        tier_badge(m.overall_tier),
        ctx.note
            .as_deref()
            .map(|n| format!("<div class=\"muted\">{}</div>", escape(n)))
            .unwrap_or_default()
    );
    out.push_str(&cards(m));
    out.push_str("<h2>Weekly trends</h2><div class=\"charts\">");
    out.push_str(&chart(
        "Production deployments per week",
        &m.deployment_frequency.weekly,
        Kind::Bars,
        &|v| format!("{v:.0}"),
    ));
    out.push_str(&chart(
        "Median lead time",
        &m.lead_time.weekly,
        Kind::Line,
        &duration,
    ));
    out.push_str(&chart(
        "Change failure rate",
        &m.change_failure_rate.weekly,
        Kind::Line,
        &|v| percent(Some(v)),
    ));
    out.push_str(&chart(
        "Median recovery time (deployments)",
        &m.recovery_time.weekly,
        Kind::Line,
        &duration,
    ));
    out.push_str(&chart(
        "Rework rate",
        &m.rework_rate.weekly,
        Kind::Line,
        &|v| percent(Some(v)),
    ));
    out.push_str("</div>");
    out.push_str(&benchmarks(report));
    out.push_str("<h2>Lead time phases</h2>");
    out.push_str(&phases(m));
    let _ = write!(
        out,
        "<p class=\"muted\">{} changes were merged without review. Left out of lead time: {} of {} pull requests.</p>",
        m.lead_time.unreviewed,
        escape(&super::exclusions(&report.accounting.pull_requests)),
        report.accounting.pull_requests.fetched
    );
    out.push_str(&per_repository(report));
    out.push_str(&failed_deployments(report));
    out.push_str("<h2>The rows behind every number</h2>");
    out.push_str(&changes_table(report));
    out.push_str(&deployments_table(report));
    out.push_str(&incidents_table(report));
    out.push_str(&accounting(report));
    out.push_str(&diagnostics(report));
    let _ = write!(
        out,
        "</main><footer>Generated by dora {} · {} changes, {} production deployments and {} incidents behind these numbers · tier {}</footer></body></html>",
        env!("CARGO_PKG_VERSION"),
        report.changes.len(),
        report.deployments.len(),
        report.incidents.len(),
        tier(m.overall_tier)
    );
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
