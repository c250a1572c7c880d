//! The `dora` command: DORA metrics from Bitbucket Cloud and an incident tool.
//!
//! ```text
//! dora report --workspace acme [--repo web ...] [--incidents pagerduty] [--days 90] [--until DATE]
//!             [--format table|json|csv|prometheus|html] [--output FILE] [--config dora.toml]
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

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};
use dora_cli::demo::{self, DemoServer, ServerOptions};
use dora_cli::output::{self, Context, Format};
use dora_cli::progress::Progress;
use dora_cli::settings::{FileSettings, IncidentTool, OpsgenieApiChoice, parse_date};
use dora_core::{Config, DeliverySource, IncidentSource, Report, SourceError};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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

#[derive(Debug, Args)]
struct CommonArgs {
    /// Window length in days, ending at --until.
    #[arg(long, value_name = "N")]
    days: Option<u32>,
    /// Window end (exclusive): RFC 3339 or YYYY-MM-DD (midnight UTC). Default: now
    /// (for the demo: the end of the sample).
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the output to FILE instead of stdout. With --format csv, a
    /// directory (an existing one, or a path ending in `/`) receives
    /// changes.csv, deployments.csv and incidents.csv.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Settings file (metric knobs and a [sources] section); flags override it.
    /// Default: ./dora.toml when it exists.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// No progress on stderr.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Compare against this industry in the DORA 2025 benchmarks (e.g.
    /// `technology`, `financial_services`; default: all industries).
    #[arg(long, value_name = "NAME", conflicts_with = "org_size")]
    industry: Option<String>,
    /// Compare against this organisation size in the DORA 2025 benchmarks
    /// (e.g. `fewer_than_100`, `more_than_9999`).
    #[arg(long, value_name = "NAME")]
    org_size: Option<String>,
}

#[derive(Debug, Args)]
struct ReportArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    sources: SourceArgs,
    /// Keep events in this store (a SQLite file, or a `postgres://` /
    /// `postgresql://` URL; password from the URL or PGPASSWORD): sync into it
    /// incrementally, then compute from it (and store the report's rows for
    /// dashboards).
    #[arg(long, value_name = "PATH|URL")]
    store: Option<String>,
    /// With --store: compute from the store only, without any network access.
    #[arg(long, requires = "store")]
    offline: bool,
}

#[derive(Debug, Args)]
struct SyncArgs {
    /// The store to sync into: a SQLite file (created when missing) or a
    /// `postgres://user@host:port/db` (also `postgresql://`) URL, password
    /// from the URL or PGPASSWORD.
    #[arg(long, value_name = "PATH|URL")]
    store: String,
    /// Names this worker in the store's leases and in progress lines
    /// (PostgreSQL; default: host-pid).
    #[arg(long, value_name = "ID")]
    worker_id: Option<String>,
    /// Seconds a worker's lease on a repository lasts without renewal: a
    /// killed worker's repositories are taken over after this long.
    #[arg(long, hide = true, value_name = "S", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(2..))]
    lease_seconds: u64,
    /// Days before the window's end within which every incident is read again
    /// on each sync, so edits (a priority raised after resolution, a corrected
    /// resolve time) reach the store (default 30; dora.toml `[sync]
    /// incident_horizon_days`).
    #[arg(long, value_name = "DAYS")]
    incident_horizon: Option<u32>,
    #[command(flatten)]
    sources: SourceArgs,
    /// Window length in days, ending at --until: what a first sync backfills.
    #[arg(long, value_name = "N")]
    days: Option<u32>,
    /// Window end: RFC 3339 or YYYY-MM-DD. Default: now.
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
    /// Settings file; flags override it. Default: ./dora.toml when it exists.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// No progress on stderr.
    #[arg(long, short = 'q')]
    quiet: bool,
}

#[derive(Debug, Args)]
struct SourceArgs {
    /// Bitbucket workspace (slug or {UUID}).
    #[arg(long, value_name = "W")]
    workspace: Option<String>,
    /// Repository slug; repeat for several. Default: every repository of the workspace.
    #[arg(long = "repo", value_name = "SLUG")]
    repos: Vec<String>,
    /// Incident tool to collect incidents from.
    #[arg(long, value_enum, value_name = "TOOL")]
    incidents: Option<IncidentTool>,
    /// Bitbucket API base URL.
    #[arg(long, value_name = "URL")]
    bitbucket_url: Option<String>,
    /// PagerDuty API base URL.
    #[arg(long, value_name = "URL")]
    pagerduty_url: Option<String>,
    /// Opsgenie API base URL.
    #[arg(long, value_name = "URL")]
    opsgenie_url: Option<String>,
    /// incident.io API base URL.
    #[arg(long, value_name = "URL")]
    incidentio_url: Option<String>,
    /// JSM Operations API base up to and including the cloud id
    /// (https://api.atlassian.com/jsm/ops/api/<cloud-id>); requests go to
    /// URL/v1/alerts. Default: from JSM_CLOUD_ID, or the cloud id of JSM_SITE.
    #[arg(long, value_name = "URL")]
    jsm_url: Option<String>,
    /// Pages of 100 commits the production-branch walk may read per repository
    /// (default 50). Pull requests whose history lies beyond the cap are left
    /// out of lead time as `history_truncated`; raise it when the report says so.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_commit_pages: Option<u64>,
    /// With --incidents opsgenie: read alerts (default, every plan) or
    /// incidents (`/v1/incidents`, Standard and Enterprise plans).
    #[arg(long, value_enum, value_name = "API")]
    opsgenie_api: Option<OpsgenieApiChoice>,
    /// The most time the run may spend waiting on rate limits and retries,
    /// every source together: seconds (600), minutes (10m) or hours (1h).
    /// Default 10m (or `[http] max_wait_seconds` in dora.toml); 0 never waits.
    #[arg(long, value_name = "DURATION", value_parser = dora_cli::settings::parse_wait)]
    max_wait: Option<std::time::Duration>,
}

#[derive(Debug, Args)]
struct DemoArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Only serve the sample (Bitbucket and PagerDuty APIs) until interrupted,
    /// printing the base URLs, e.g. to try `dora report` against it.
    #[arg(long)]
    serve: bool,
    /// Seed of the generated sample.
    #[arg(long, hide = true, default_value_t = demo::DEFAULT_SEED)]
    seed: u64,
    /// Answer the first N requests with 429 + Retry-After: 1 (to see rate-limit
    /// handling and its progress display).
    #[arg(long, hide = true, default_value_t = 0, value_name = "N")]
    throttle: u64,
}

/// A failure with its exit code and a message that says what to do next.
#[derive(Debug)]
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            message: message.into(),
        }
    }

    fn auth(message: impl Into<String>) -> Self {
        Self {
            code: 3,
            message: message.into(),
        }
    }

    fn output(message: impl Into<String>) -> Self {
        Self {
            code: 5,
            message: message.into(),
        }
    }

    fn store(error: impl std::fmt::Display) -> Self {
        let message = error.to_string();
        let hint = if message.contains("postgres://") || message.contains("postgresql://") {
            "check the --store URL (user, host, port, database), that the server accepts the \
             connection and the user may create tables; the password comes from the URL or PGPASSWORD"
        } else {
            "check the --store path is a dora SQLite store you can write to"
        };
        Self {
            code: 6,
            message: format!("{message}\n  hint: {hint}"),
        }
    }

    fn sync(error: dora_store::SyncError) -> Self {
        match error {
            dora_store::SyncError::Source {
                completed_scopes,
                source,
            } => {
                let mut f = Self::source(source);
                f.message = format!(
                    "sync stopped after {completed_scopes} repositor{} (kept in the store; the next run resumes): {}",
                    if completed_scopes == 1 { "y" } else { "ies" },
                    f.message
                );
                f
            }
            other => Self::store(other),
        }
    }

    fn internal(error: anyhow::Error) -> Self {
        Self {
            code: 1,
            message: format!("{error:#}"),
        }
    }

    /// A source error, classified.
    fn source(error: SourceError) -> Self {
        let code = match &error {
            SourceError::Auth { .. } => 3,
            SourceError::Config { .. } => 2,
            _ => 4,
        };
        let hint = match &error {
            SourceError::Auth { source_name, .. } => sources::auth_hint(source_name),
            SourceError::NotFound { source_name, .. } if source_name == "jsm" => {
                "check JSM_CLOUD_ID, JSM_SITE or --jsm-url (the base up to and including the cloud id)"
                    .to_string()
            }
            SourceError::NotFound { .. } => {
                "check the workspace and repository slugs (and that the credentials can see them)"
                    .to_string()
            }
            SourceError::RateLimited { .. } => {
                "wait for the rate limit to reset and run again".to_string()
            }
            SourceError::Other {
                source: Some(cause),
                ..
            } if matches!(
                cause.downcast_ref::<dora_http::Error>(),
                Some(dora_http::Error::WaitBudgetExhausted { .. })
            ) =>
            {
                "run again later, or allow more waiting with --max-wait (e.g. --max-wait 30m) or `[http] max_wait_seconds` in dora.toml".to_string()
            }
            SourceError::Config { .. } => String::new(),
            _ => "check the base URL and network, then run again".to_string(),
        };
        let mut message = error.to_string();
        if !hint.is_empty() {
            message.push_str(&format!("\n  hint: {hint}"));
        }
        Self { code, message }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
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

/// Settings from the file (explicit, or ./dora.toml when present).
fn load_file(path: Option<&Path>) -> Result<FileSettings, Failure> {
    let (path, explicit) = match path {
        Some(p) => (p.to_path_buf(), true),
        None => (PathBuf::from("dora.toml"), false),
    };
    if !explicit && !path.exists() {
        return Ok(FileSettings::default());
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
    FileSettings::parse(&text, &path.display().to_string())
        .map_err(|e| Failure::usage(e.to_string()))
}

/// The metric configuration: file, then flags.
fn config_from(common: &CommonArgs, file: &FileSettings) -> Result<Config, Failure> {
    let mut config = file.config.clone();
    if let Some(days) = common.days {
        config.days = days;
    }
    if let Some(until) = &common.until {
        config.until =
            Some(parse_date(until).map_err(|e| Failure::usage(format!("--until: {e}")))?);
    }
    if common.industry.is_some() || common.org_size.is_some() {
        config.industry = common.industry.clone();
        config.org_size = common.org_size.clone();
    }
    config
        .validate()
        .map_err(|e| Failure::usage(e.to_string()))?;
    Ok(config)
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .map_err(Failure::internal)
}

/// Collect, compute and return the report.
async fn collect_and_compute(
    delivery: &dyn DeliverySource,
    incidents: Option<&(dyn IncidentSource + '_)>,
    config: &Config,
    now: DateTime<Utc>,
    progress: &Progress,
) -> Result<Report, Failure> {
    let range = config.window(now);
    progress.phase(&format!("{}: collecting", delivery.name()));
    let mut data = delivery
        .collect(&dora_core::CollectRequest::new(range))
        .await
        .map_err(Failure::source)?;
    if let Some(source) = incidents {
        progress.phase(&format!("{}: collecting incidents", source.name()));
        let batch = source
            .incidents_with_notes(&dora_core::IncidentRequest::new(range))
            .await
            .map_err(Failure::source)?;
        batch.apply_to(&mut data);
    }
    // Items listed twice (a list that shifted between pages) count once, as
    // in the store.
    data.dedup();
    progress.phase("computing");
    let report = dora_core::compute_at(&data, config, now);
    Ok(report)
}

/// Where to collect from: flags, then the file's [sources] section.
fn plan_from(args: &SourceArgs, file: &FileSettings) -> Result<sources::Plan, Failure> {
    let s = &file.sources;
    let workspace = args
        .workspace
        .clone()
        .or_else(|| s.workspace.clone())
        .ok_or_else(|| {
            Failure::usage(
                "no workspace: pass --workspace W (or set `workspace` under [sources] in dora.toml)",
            )
        })?;
    let repos = if args.repos.is_empty() {
        s.repos.clone()
    } else {
        args.repos.clone()
    };
    let tool = args.incidents.or(s.incidents);
    Ok(sources::Plan {
        workspace,
        repos,
        bitbucket_url: args
            .bitbucket_url
            .clone()
            .or_else(|| s.bitbucket_url.clone()),
        incidents: tool,
        incident_url: match tool {
            Some(IncidentTool::Pagerduty) => args
                .pagerduty_url
                .clone()
                .or_else(|| s.pagerduty_url.clone()),
            Some(IncidentTool::Opsgenie) => {
                args.opsgenie_url.clone().or_else(|| s.opsgenie_url.clone())
            }
            Some(IncidentTool::Incidentio) => args
                .incidentio_url
                .clone()
                .or_else(|| s.incidentio_url.clone()),
            Some(IncidentTool::Jsm) => args.jsm_url.clone().or_else(|| s.jsm.url.clone()),
            None => None,
        },
        jsm: s.jsm.clone(),
        mapping: s.mapping.clone(),
        max_commit_pages: args
            .max_commit_pages
            .and_then(|n| usize::try_from(n).ok())
            .or(s.bitbucket.max_commit_pages),
        opsgenie_api: args.opsgenie_api.or(s.opsgenie.api).unwrap_or_default(),
        max_wait: args.max_wait.or(file
            .http
            .max_wait_seconds
            .map(std::time::Duration::from_secs)),
    })
}

fn plan_title(plan: &sources::Plan) -> String {
    match plan.repos.as_slice() {
        [one] => format!("{}/{one}", plan.workspace),
        _ => plan.workspace.clone(),
    }
}

fn run_report(args: ReportArgs) -> Result<(), Failure> {
    let file = load_file(args.common.config.as_deref())?;
    let config = config_from(&args.common, &file)?;
    if let Some(path) = &args.store {
        return run_report_from_store(&args, path, &file, &config);
    }
    let plan = plan_from(&args.sources, &file)?;
    let credentials = sources::Credentials::from_env(plan.incidents)?;
    let progress = Progress::stderr(!args.common.quiet);
    let rt = runtime()?;
    let report = rt.block_on(async {
        let built = sources::build(&plan, &credentials, &progress)?;
        let report = collect_and_compute(
            built.delivery.as_ref(),
            built.incidents.as_deref(),
            &config,
            Utc::now(),
            &progress,
        )
        .await;
        progress.finish();
        if progress.enabled() {
            eprintln!("{}", built.summary());
        }
        report
    })?;
    let ctx = Context {
        title: plan_title(&plan),
        note: None,
    };
    write_output(&report, &args.common, &ctx)
}

fn open_store(location: &str) -> Result<dora_store::Store, Failure> {
    dora_store::Store::open_location(location).map_err(Failure::store)
}

/// Open a SQLite store to report from: with write access when this user has
/// it (the report is then saved for dashboards), else read-only (a store on
/// read-only media or in a directory this user cannot write), saying so.
fn open_store_for_reading(location: &str, quiet: bool) -> Result<dora_store::Store, Failure> {
    match dora_store::Store::open_location(location) {
        Ok(store) => Ok(store),
        Err(error) => match dora_store::Store::open_read_only(location) {
            Ok(store) => {
                if !quiet {
                    eprintln!(
                        "note: store {location} is not writable here ({error}); reporting from it read-only, without saving the report into it"
                    );
                }
                Ok(store)
            }
            // The first error says what is wrong with the store itself.
            Err(_) => Err(Failure::store(error)),
        },
    }
}

/// How this process takes part in a sync (PostgreSQL stores share the work).
struct WorkerArgs {
    worker_id: Option<String>,
    lease_seconds: u64,
    /// Days of incidents re-read on each sync.
    incident_horizon_days: u32,
}

impl Default for WorkerArgs {
    fn default() -> Self {
        Self {
            worker_id: None,
            lease_seconds: 60,
            incident_horizon_days: DEFAULT_INCIDENT_HORIZON_DAYS,
        }
    }
}

/// Incidents re-read on each sync, in days before the window's end.
const DEFAULT_INCIDENT_HORIZON_DAYS: u32 = 30;

fn plural(n: usize) -> &'static str {
    if n == 1 { "y" } else { "ies" }
}

/// Sync Bitbucket (and the incident tool, if any) into the store.
fn sync_into(
    store: &mut dora_store::Store,
    plan: &sources::Plan,
    config: &Config,
    quiet: bool,
    worker: &WorkerArgs,
) -> Result<String, Failure> {
    let credentials = sources::Credentials::from_env(plan.incidents)?;
    let progress = Progress::stderr(!quiet);
    let range = config.window(Utc::now());
    let shared = store.backend() == dora_store::Backend::Postgres;
    let mut options = dora_store::WorkerOptions::default();
    if let Some(id) = &worker.worker_id {
        options.worker_id = id.clone();
    }
    options.lease = std::time::Duration::from_secs(worker.lease_seconds);
    options.renew_every = options.lease / 3;
    let worker_id = options.worker_id.clone();
    // Which repositories this worker took: above the progress display on a
    // terminal, else plain lines on stderr (logs of scheduled runs).
    let take = |scope: &str| {
        if !shared || quiet {
            return;
        }
        let line = format!("worker {worker_id}: took {scope}");
        if progress.enabled() {
            progress.println(&line);
        } else {
            eprintln!("{line}");
        }
    };
    options.on_take = Some(&take);
    let rt = runtime()?;
    rt.block_on(async {
        let built = sources::build(plan, &credentials, &progress)?;
        progress.phase("bitbucket: syncing");
        let delivery =
            dora_store::sync_delivery_with(store, built.bitbucket.as_ref(), range, &options)
                .await
                .map_err(Failure::sync)?;
        let mut line = if shared {
            format!(
                "bitbucket: worker {} synced {} of {} repositor{} ({} the round) in {} requests, {} events stored{}{}",
                options.worker_id,
                delivery.scopes,
                delivery.round_scopes,
                plural(delivery.round_scopes),
                if delivery.started_round { "started" } else { "joined" },
                delivery.requests,
                delivery.events,
                if delivery.taken.is_empty() { "" } else { ": " },
                delivery.taken.join(", ")
            )
        } else {
            format!(
                "bitbucket: {} repositor{} synced in {} requests, {} events stored",
                delivery.scopes,
                plural(delivery.scopes),
                delivery.requests,
                delivery.events
            )
        };
        for (old, new) in &delivery.changes.renamed {
            line.push_str(&format!(" · renamed {old} → {new}"));
        }
        if !delivery.changes.departed.is_empty() {
            line.push_str(&format!(
                " · left the workspace (kept in the store, out of reports): {}",
                delivery.changes.departed.join(", ")
            ));
        }
        if let Some(source) = built.incidents.as_deref() {
            progress.phase(&format!("{}: syncing incidents", source.name()));
            // A day of overlap catches incidents created late; the horizon,
            // recent incidents edited since.
            let options = dora_store::IncidentSyncOptions::default().with_horizon(
                chrono::Duration::days(i64::from(worker.incident_horizon_days)),
            );
            let incidents = dora_store::sync_incidents_with(store, source, range, &options)
                .await
                .map_err(Failure::sync)?;
            line.push_str(&format!(
                " · {}: {} incidents",
                source.name(),
                incidents.events
            ));
        }
        progress.finish();
        Ok(line)
    })
}

fn run_sync(args: SyncArgs) -> Result<(), Failure> {
    let file = load_file(args.config.as_deref())?;
    let common = CommonArgs {
        days: args.days,
        until: args.until.clone(),
        format: Format::Table,
        output: None,
        config: None,
        quiet: args.quiet,
        industry: None,
        org_size: None,
    };
    let config = config_from(&common, &file)?;
    let plan = plan_from(&args.sources, &file)?;
    let mut store = open_store(&args.store)?;
    let worker = WorkerArgs {
        worker_id: args.worker_id.clone(),
        lease_seconds: args.lease_seconds,
        incident_horizon_days: args
            .incident_horizon
            .or(file.sync.incident_horizon_days)
            .unwrap_or(DEFAULT_INCIDENT_HORIZON_DAYS),
    };
    let line = sync_into(&mut store, &plan, &config, args.quiet, &worker)?;
    let counts = store.counts().map_err(Failure::store)?;
    let summary = format!(
        "{line}\nstore {}: {} repositories, {} commits, {} pull requests, {} deployments, {} incidents\n",
        store.name(),
        counts.repositories,
        counts.commits,
        counts.pull_requests,
        counts.deployments,
        counts.incidents
    );
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(summary.as_bytes())
        .and_then(|()| stdout.flush())
    {
        // A closed pipe (`dora sync … | head -1`) is not a failed sync.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::output(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

fn run_report_from_store(
    args: &ReportArgs,
    location: &str,
    file: &FileSettings,
    config: &Config,
) -> Result<(), Failure> {
    if args.offline && !dora_store::is_postgres_url(location) && !Path::new(location).exists() {
        return Err(Failure::store(format!(
            "store {location} does not exist: run `dora sync --store {location}` first"
        )));
    }
    let mut store = if args.offline && !dora_store::is_postgres_url(location) {
        open_store_for_reading(location, args.common.quiet)?
    } else {
        open_store(location)?
    };
    let title = if args.offline {
        store.name().to_string()
    } else {
        let plan = plan_from(&args.sources, file)?;
        let worker = WorkerArgs {
            incident_horizon_days: file
                .sync
                .incident_horizon_days
                .unwrap_or(DEFAULT_INCIDENT_HORIZON_DAYS),
            ..WorkerArgs::default()
        };
        let line = sync_into(&mut store, &plan, config, args.common.quiet, &worker)?;
        if !args.common.quiet {
            eprintln!("{line}");
        }
        plan_title(&plan)
    };
    let data = store.load().map_err(Failure::store)?;
    let report = dora_core::compute_at(&data, config, Utc::now());
    if !store.is_read_only() {
        store.save_report(&report).map_err(Failure::store)?;
    }
    let ctx = Context { title, note: None };
    write_output(&report, &args.common, &ctx)
}

fn run_demo(args: DemoArgs) -> Result<(), Failure> {
    let file = load_file(args.common.config.as_deref())?;
    let mut config = config_from(&args.common, &file)?;
    let sample = demo::generate(args.seed);
    let now = sample.end;
    if config.until.is_none() {
        config.until = Some(now);
    }
    let rt = runtime()?;
    if args.serve {
        return rt.block_on(async {
            let server = DemoServer::start(sample, ServerOptions::default())
                .await
                .context("cannot start the demo server")
                .map_err(Failure::internal)?;
            println!("Bitbucket API:  {}", server.bitbucket_url());
            println!("PagerDuty API:  {}", server.pagerduty_url());
            println!("Workspace:      {}", demo::WORKSPACE);
            println!("Any credentials are accepted. Try, in another shell:");
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
            incidents: Some(IncidentTool::Pagerduty),
            incident_url: Some(server.pagerduty_url()),
            // The sample's PagerDuty services are named after the repositories.
            mapping: server
                .sample()
                .repositories
                .iter()
                .filter_map(|r| r.service.clone().map(|s| (s, r.slug.clone())))
                .fold(
                    dora_incidents::RepositoryMapping::new(),
                    |m, (service, slug)| m.service(service, [slug]),
                ),
            max_commit_pages: None,
            max_wait: None,
            opsgenie_api: OpsgenieApiChoice::Alerts,
            jsm: dora_cli::settings::JsmSettings::default(),
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

/// Whether the process started with stdout closed (`>&-`). Rust's runtime
/// reopens a closed descriptor 0–2 on `/dev/null` read-write at start-up, so a
/// write would vanish silently; a shell's `> /dev/null` opens it write-only,
/// which stays allowed. Linux only (elsewhere: false).
fn stdout_was_closed() -> bool {
    let Ok(target) = std::fs::read_link("/proc/self/fd/1") else {
        return false;
    };
    if target != Path::new("/dev/null") {
        return false;
    }
    std::fs::read_to_string("/proc/self/fdinfo/1")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("flags:"))
                .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
        })
        .is_some_and(|flags| flags & 0o3 == 0o2)
}

fn write_output(report: &Report, common: &CommonArgs, ctx: &Context) -> Result<(), Failure> {
    let Some(path) = &common.output else {
        // `dora report >&-` would lose the report with exit 0: say so instead.
        if stdout_was_closed() {
            return Err(Failure::output(
                "stdout is closed: the report cannot be written (redirect it to a file or pass --output FILE)",
            ));
        }
        let text = output::render(report, common.format, ctx);
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        return match stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
        {
            Ok(()) => Ok(()),
            // A closed pipe (`dora demo | head`) is not an error worth reporting.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(Failure::output(format!("cannot write to stdout: {e}"))),
        };
    };
    let as_dir = common.format == Format::Csv
        && (path.is_dir() || path.as_os_str().to_string_lossy().ends_with('/'));
    if as_dir {
        std::fs::create_dir_all(path).map_err(|e| {
            Failure::output(format!("cannot create directory {}: {e}", path.display()))
        })?;
        for (name, body) in output::csv::tables(report) {
            let file = path.join(format!("{name}.csv"));
            std::fs::write(&file, body)
                .map_err(|e| Failure::output(format!("cannot write {}: {e}", file.display())))?;
        }
        if !common.quiet {
            eprintln!(
                "wrote changes.csv, deployments.csv and incidents.csv to {}",
                path.display()
            );
        }
        return Ok(());
    }
    let text = output::render(report, common.format, ctx);
    std::fs::write(path, text)
        .map_err(|e| Failure::output(format!("cannot write {}: {e}", path.display())))?;
    if !common.quiet {
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
