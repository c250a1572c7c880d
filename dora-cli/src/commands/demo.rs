//! `dora demo`: the same pipeline on the bundled sample, served locally.

use crate::common::*;
use crate::failure::Failure;
use crate::sources;
use anyhow::Context as _;
use clap::Args;
use dora_cli::output::Context;
use dora_cli::progress::Progress;
use dora_cli::settings::IncidentTool;
use dora_incidents::{IncidentSettings, Normalization};
use dora_testkit::{self as demo, DemoServer, ServerOptions};

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    #[command(flatten)]
    pub(crate) common: CommonArgs,
    /// Only serve the sample (Bitbucket and PagerDuty APIs) until interrupted,
    /// printing the base URLs, e.g. to try `dora report` against it.
    #[arg(long)]
    pub(crate) serve: bool,
    /// Seed of the generated sample.
    #[arg(long, hide = true, default_value_t = demo::DEFAULT_SEED)]
    pub(crate) seed: u64,
    /// Answer the first N requests with 429 + Retry-After: 1 (to see rate-limit
    /// handling and its progress display).
    #[arg(long, hide = true, default_value_t = 0, value_name = "N")]
    pub(crate) throttle: u64,
    /// With --serve: answer `{repository}/{endpoint}` (e.g.
    /// `search-service/pipelines`) with 403, as for a token without that
    /// scope (repeatable; to see `dora inventory` name the missing scope).
    #[arg(long, hide = true, value_name = "REPO/ENDPOINT")]
    pub(crate) forbid: Vec<String>,
}

pub(crate) fn run_demo(args: DemoArgs) -> Result<(), Failure> {
    let file = load_file(args.common.config.as_deref())?;
    let mut config = resolve(&overrides(&args.common, None), &file)?.config;
    let sample = demo::generate(args.seed);
    let now = sample.end;
    if config.until.is_none() {
        config.until = Some(now);
    }
    let rt = runtime()?;
    if args.serve {
        return rt.block_on(async {
            let options = ServerOptions {
                forbidden: args.forbid.clone(),
                ..ServerOptions::default()
            };
            let server = DemoServer::start(sample, options)
                .await
                .context("cannot start the demo server")
                .map_err(Failure::internal)?;
            println!("Bitbucket API:  {}", server.bitbucket_url());
            println!("PagerDuty API:  {}", server.pagerduty_url());
            println!("Workspace:      {}", demo::WORKSPACE);
            println!("Any credentials are accepted. Try, in another shell:");
            println!(
                "  BITBUCKET_ACCESS_TOKEN=demo PAGERDUTY_TOKEN=demo dora inventory --workspace {} --incidents pagerduty --until {} --bitbucket-url {} --pagerduty-url {}",
                demo::WORKSPACE,
                now.format("%Y-%m-%d"),
                server.bitbucket_url(),
                server.pagerduty_url()
            );
            println!(
                "  BITBUCKET_ACCESS_TOKEN=demo PAGERDUTY_TOKEN=demo dora report --workspace {} --incidents pagerduty --until {} --bitbucket-url {} --pagerduty-url {}",
                demo::WORKSPACE,
                now.format("%Y-%m-%d"),
                server.bitbucket_url(),
                server.pagerduty_url()
            );
            println!("Press Ctrl-C to stop.");
            let _ = tokio::signal::ctrl_c().await;
            server.shutdown().await;
            Ok(())
        });
    }
    let progress = Progress::stderr(!args.common.quiet);
    let started = std::time::Instant::now();
    let options = ServerOptions {
        rate_limit_first: args.throttle,
        ..ServerOptions::default()
    };
    let report = rt.block_on(async {
        let server = DemoServer::start(sample, options)
            .await
            .context("cannot start the demo server")
            .map_err(Failure::internal)?;
        let plan = sources::Plan {
            workspace: demo::WORKSPACE.to_string(),
            repos: Vec::new(),
            bitbucket_url: Some(server.bitbucket_url()),
            max_commit_pages: None,
            max_wait: None,
            incidents: Some(IncidentTool::Pagerduty),
            incident: IncidentSettings {
                base_url: Some(server.pagerduty_url()),
                // The sample's PagerDuty services are named after the repositories.
                normalization: Normalization {
                    repositories: server
                        .sample()
                        .repositories
                        .iter()
                        .filter_map(|r| r.service.clone().map(|s| (s, r.slug.clone())))
                        .fold(
                            dora_incidents::RepositoryMapping::new(),
                            |m, (service, slug)| m.service(service, [slug]),
                        ),
                    ..Normalization::default()
                },
                ..IncidentSettings::default()
            },
        };
        let built = sources::build(&plan, &sources::Credentials::demo(), &progress)?;
        let report = collect_and_compute(
            built.delivery.as_ref(),
            built.incidents.as_deref(),
            &config,
            now,
            &progress,
        )
        .await;
        progress.finish();
        if progress.enabled() {
            eprintln!(
                "{} · {:.1}s",
                built.summary(),
                started.elapsed().as_secs_f64()
            );
        }
        server.shutdown().await;
        report
    })?;
    let ctx = Context {
        title: format!("{} (demo)", demo::WORKSPACE),
        note: Some(
            "Demo data: a generated sample served in the Bitbucket and PagerDuty wire formats by a local server and collected with the real sources."
                .to_string(),
        ),
    };
    write_output(&report, &args.common, &ctx)
}
