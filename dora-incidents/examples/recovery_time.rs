//! Incident recovery time (MTTR) from PagerDuty, Opsgenie or incident.io.
//!
//! ```text
//! PAGERDUTY_TOKEN=...    cargo run -p dora-incidents --example recovery_time -- pagerduty [DAYS] [BASE_URL]
//! OPSGENIE_API_KEY=...   cargo run -p dora-incidents --example recovery_time -- opsgenie
//! INCIDENTIO_API_KEY=... cargo run -p dora-incidents --example recovery_time -- incidentio 30
//! ```
//!
//! Credentials come from the environment only (never a flag that lands in
//! shell history). `DAYS` defaults to 90; `BASE_URL` points at another region
//! or a local server. The incidents go into a dataset of their own and
//! `dora_core::compute` does the rest: the default severity filter (P1, P2),
//! unresolved incidents counted but not averaged.

use anyhow::{Context, bail};
use chrono::Utc;
use dora_core::{Config, Dataset, IncidentRequest, IncidentSource, compute};
use dora_incidents::{IncidentIoBuilder, OpsgenieBuilder, PagerDutyBuilder};

fn source(tool: &str, base_url: Option<String>) -> anyhow::Result<Box<dyn IncidentSource>> {
    Ok(match tool {
        "pagerduty" => {
            let mut b = PagerDutyBuilder::from_env()?;
            if let Some(url) = base_url {
                b = b.with_base_url(url);
            }
            Box::new(b.build()?)
        }
        "opsgenie" => {
            let mut b = OpsgenieBuilder::from_env()?;
            if let Some(url) = base_url {
                b = b.with_base_url(url);
            }
            Box::new(b.build()?)
        }
        "incidentio" | "incident.io" => {
            let mut b = IncidentIoBuilder::from_env()?;
            if let Some(url) = base_url {
                b = b.with_base_url(url);
            }
            Box::new(b.build()?)
        }
        other => bail!("unknown tool `{other}`: use pagerduty, opsgenie or incidentio"),
    })
}

fn hours(seconds: Option<f64>) -> String {
    seconds.map_or_else(|| "-".to_string(), |s| format!("{:.1} h", s / 3600.0))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(tool) = args.next() else {
        bail!("usage: recovery_time <pagerduty|opsgenie|incidentio> [DAYS] [BASE_URL]");
    };
    let days: u32 = match args.next() {
        Some(d) => d
            .parse()
            .with_context(|| format!("DAYS must be a whole number, not `{d}`"))?,
        None => 90,
    };
    let base_url = args.next();

    let config = Config {
        days,
        until: Some(Utc::now()),
        ..Config::default()
    };
    config.validate()?;
    let range = config.window(Utc::now());
    let source = source(&tool, base_url)?;
    let incidents = source.incidents(&IncidentRequest::new(range)).await?;

    let mut data = Dataset::new();
    data.incidents = incidents;
    let report = compute(&data, &config);
    let mttr = &report.metrics.recovery_time.incidents;

    println!(
        "{} incidents opened {} .. {}",
        source.name(),
        range.start.format("%Y-%m-%d"),
        range.end.format("%Y-%m-%d")
    );
    println!("  fetched:               {}", data.incidents.len());
    println!("  counted (P1, P2):      {}", mttr.count + mttr.unresolved);
    println!("  excluded by severity:  {}", mttr.excluded_by_severity);
    println!("  unresolved:            {}", mttr.unresolved);
    println!("  median recovery time:  {}", hours(mttr.median_seconds));
    println!("  p90 recovery time:     {}", hours(mttr.p90_seconds));
    println!("  mean recovery time:    {}", hours(mttr.mean_seconds));
    for d in report
        .diagnostics
        .iter()
        .filter(|d| d.code.contains("incident") || d.code == "few_samples")
    {
        println!("  note [{}]: {}", d.code, d.message);
    }
    Ok(())
}
