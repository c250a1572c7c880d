//! The `dora` command: DORA metrics from Bitbucket Cloud and an incident tool.
//!
//! ```text
//! dora report --workspace acme [--repo web ...] [--incidents pagerduty] [--days 90] [--until DATE]
//!             [--format table|json|csv|prometheus|html] [--output FILE] [--config dora.toml]
//! dora inventory --workspace acme [--repo web ...] [--incidents pagerduty] [--format table|json|html]
//!                                                     # read-only audit: what the workspace exposes, and what to fix
//! dora demo   [--format ...] [--output FILE]          # bundled sample, no network, no credentials
//! dora sync   --store dora.db --workspace acme [...]  # incremental sync into a SQLite store
//! dora sync   --store postgres://u@db/dora --workspace acme [--worker-id W]
//!                                                     # or PostgreSQL: any number of workers share the repositories
//! dora report --store dora.db [--offline]             # sync (unless --offline), then compute from the store
//! ```
//!
//! Exit codes: 0 success, 1 unexpected error, 2 usage or configuration error,
//! 3 authentication error (missing or rejected credentials), 4 a source failed
//! (network, not found, rate limit, bad answer), 5 the output could not be written,
//! 6 the store could not be opened, read or written.

use clap::{Parser, Subcommand};
use commands::demo::{DemoArgs, run_demo};
use commands::inventory::{InventoryArgs, run_inventory};
use commands::report::{ReportArgs, run_report};
use commands::sync::{SyncArgs, run_sync};
use std::process::ExitCode;

mod commands;
mod common;
mod failure;
mod sources;

/// DORA metrics (deployment frequency, lead time, change failure rate, recovery
/// time, rework rate) from Bitbucket Cloud and PagerDuty / Opsgenie / incident.io /
/// Jira Service Management Operations.
#[derive(Debug, Parser)]
#[command(name = "dora", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Audit what a workspace (and an incident tool) exposes before trusting
    /// any number: production environments, deployments by environment and
    /// status, pipelines without deployments, the branching model, merge
    /// strategies, bots and scopes that answered 403, each finding with a
    /// stable code and a one-line fix. Read-only; at most 8 requests per
    /// repository. Credentials as for `dora report`.
    Inventory(InventoryArgs),
    /// Collect from Bitbucket (one repository or a workspace) and optionally one
    /// incident tool, compute the metrics and print them.
    ///
    /// Credentials come only from the environment: BITBUCKET_EMAIL +
    /// BITBUCKET_API_TOKEN (Atlassian API token, basic auth) or
    /// BITBUCKET_ACCESS_TOKEN (access/OAuth token, bearer); PAGERDUTY_TOKEN,
    /// OPSGENIE_API_KEY, INCIDENTIO_API_KEY; for JSM Operations,
    /// ATLASSIAN_EMAIL + ATLASSIAN_API_TOKEN (else BITBUCKET_EMAIL +
    /// BITBUCKET_API_TOKEN) and JSM_CLOUD_ID or JSM_SITE.
    Report(ReportArgs),
    /// The same pipeline on a bundled sample workspace (4 repositories, six
    /// months, PagerDuty incidents) served by a local HTTP server: no network,
    /// no credentials.
    Demo(DemoArgs),
    /// Collect incrementally into a store (a SQLite file, or PostgreSQL with
    /// `--store postgres://user@host:port/db`): the first run backfills the
    /// window (plus the history attribution needs), later runs fetch only what
    /// changed. With PostgreSQL, any number of `dora sync` processes (each with
    /// its own credentials) split the repositories between them. Read the store
    /// with `dora report --store … --offline`, or directly from Grafana/Metabase
    /// (see the dora-store docs for the tables).
    Sync(SyncArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inventory(args) => run_inventory(args),
        Command::Report(args) => run_report(args),
        Command::Demo(args) => run_demo(args),
        Command::Sync(args) => run_sync(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
