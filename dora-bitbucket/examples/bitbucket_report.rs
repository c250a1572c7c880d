//! Collect a Bitbucket workspace (or some of its repositories) and print the
//! DORA report.
//!
//! ```text
//! export BITBUCKET_EMAIL=you@example.com BITBUCKET_API_TOKEN=...   # Atlassian user API token
//! # or: export BITBUCKET_ACCESS_TOKEN=...                           # access / OAuth token
//! cargo run -p dora-bitbucket --example bitbucket_report -- acme web api --days 90
//! ```
//!
//! Arguments: the workspace, then repository slugs (none: every repository of
//! the workspace), and `--days N` (default 90). `BITBUCKET_BASE_URL` points it
//! at another API root (a local test server). The request count per endpoint
//! goes to stderr, the report (a summary, then JSON) to stdout.

use dora_bitbucket::{Bitbucket, DEFAULT_BASE_URL};
use dora_core::{CollectRequest, Config, compute};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut workspace = None;
    let mut repos = Vec::new();
    let mut days = 90u32;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--days" => days = args.next().ok_or("--days needs a value")?.parse()?,
            "-h" | "--help" => {
                println!("usage: bitbucket_report WORKSPACE [REPO ...] [--days N]");
                return Ok(());
            }
            _ if workspace.is_none() => workspace = Some(arg),
            _ => repos.push(arg),
        }
    }
    let workspace = workspace.ok_or("usage: bitbucket_report WORKSPACE [REPO ...] [--days N]")?;
    let base_url =
        std::env::var("BITBUCKET_BASE_URL").unwrap_or_else(|_| DEFAULT_BASE_URL.to_owned());

    let source = Bitbucket::builder(workspace)
        .with_repos(repos)
        .with_base_url(base_url)
        .with_env_credentials()
        .with_http(|http| {
            http.on_progress(|event| {
                if let dora_http::ProgressEvent::RateLimitWait { endpoint, wait, .. } = event {
                    eprintln!("rate limited on {endpoint}: waiting {}s", wait.as_secs());
                }
            })
        })
        .build()?;

    let config = Config {
        days,
        ..Config::default()
    };
    config.validate()?;
    let window = config.window(chrono::Utc::now());
    let (data, stats) = source
        .collect_with_stats(&CollectRequest::new(window))
        .await?;
    eprintln!("{stats}");

    let report = compute(&data, &config);
    let m = &report.metrics;
    let secs = |s: Option<f64>| s.map_or("-".to_owned(), |s| format!("{:.1} h", s / 3600.0));
    println!("window: {} .. {}", report.window.start, report.window.end);
    println!("repositories: {}", report.scope.repositories.join(", "));
    println!(
        "deployment frequency: {} deployments, {:.2}/week, {} deploy days",
        m.deployment_frequency.count,
        m.deployment_frequency.per_week,
        m.deployment_frequency.deploy_days
    );
    println!(
        "lead time: median {}, p90 {} over {} changes",
        secs(m.lead_time.median_seconds),
        secs(m.lead_time.p90_seconds),
        m.lead_time.count
    );
    println!(
        "change failure rate: {}/{} ({})",
        m.change_failure_rate.failed,
        m.change_failure_rate.deployments,
        m.change_failure_rate
            .rate
            .map_or("-".to_owned(), |r| format!("{:.1} %", r * 100.0))
    );
    println!(
        "recovery (deployments): median {}",
        secs(m.recovery_time.deployments.median_seconds)
    );
    println!(
        "rework: {}/{}",
        m.rework_rate.rework, m.rework_rate.deployments
    );
    for d in &report.diagnostics {
        println!("{:?} {}: {}", d.severity, d.code, d.message);
    }
    println!("{}", report.to_json_pretty());
    Ok(())
}
