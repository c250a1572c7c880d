//! `dora sync`: incremental collection into a SQLite or PostgreSQL store.

use crate::common::*;
use crate::failure::Failure;
use crate::sources;
use chrono::Utc;
use clap::Args;
use dora_cli::output::Format;
use dora_cli::progress::Progress;
use dora_core::Config;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    /// The store to sync into: a SQLite file (created when missing) or a
    /// `postgres://user@host:port/db` (also `postgresql://`) URL, password
    /// from the URL or PGPASSWORD.
    #[arg(long, value_name = "PATH|URL")]
    pub(crate) store: String,
    /// Names this worker in the store's leases and in progress lines
    /// (PostgreSQL; default: host-pid).
    #[arg(long, value_name = "ID")]
    pub(crate) worker_id: Option<String>,
    /// Seconds a worker's lease on a repository lasts without renewal: a
    /// killed worker's repositories are taken over after this long.
    #[arg(long, hide = true, value_name = "S", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(2..))]
    pub(crate) lease_seconds: u64,
    /// Days before the window's end within which every incident is read again
    /// on each sync, so edits (a priority raised after resolution, a corrected
    /// resolve time) reach the store (default 30; dora.toml `[sync]
    /// incident_horizon_days`).
    #[arg(long, value_name = "DAYS")]
    pub(crate) incident_horizon: Option<u32>,
    #[command(flatten)]
    pub(crate) sources: SourceArgs,
    /// Window length in days, ending at --until: what a first sync backfills.
    #[arg(long, value_name = "N")]
    pub(crate) days: Option<u32>,
    /// Window end: RFC 3339, a date-time without offset (UTC) or YYYY-MM-DD.
    /// Default: DORA_UNTIL, else now.
    #[arg(long, value_name = "DATE")]
    pub(crate) until: Option<String>,
    /// Settings file; flags override it. Default: ./dora.toml when it exists.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// No progress on stderr.
    #[arg(long, short = 'q')]
    pub(crate) quiet: bool,
}

pub(crate) fn open_store(location: &str) -> Result<dora_store::Store, Failure> {
    dora_store::Store::open_location(location).map_err(Failure::store)
}

/// How this process takes part in a sync (PostgreSQL stores share the work).
pub(crate) struct WorkerArgs {
    pub(crate) worker_id: Option<String>,
    pub(crate) lease_seconds: u64,
    /// Days of incidents re-read on each sync.
    pub(crate) incident_horizon_days: u32,
}

impl Default for WorkerArgs {
    fn default() -> Self {
        Self {
            worker_id: None,
            lease_seconds: 60,
            incident_horizon_days: dora_cli::settings::DEFAULT_INCIDENT_HORIZON_DAYS,
        }
    }
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "y" } else { "ies" }
}

/// Sync Bitbucket (and the incident tool, if any) into the store.
pub(crate) fn sync_into(
    store: &mut dora_store::Store,
    plan: &sources::Plan,
    config: &Config,
    quiet: bool,
    worker: &WorkerArgs,
) -> Result<String, Failure> {
    let credentials = sources::Credentials::from_env(plan)?;
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
        let phase = |name: &str| progress.phase(name);
        let all = dora_store::SyncAllOptions {
            worker: options,
            // The overlap is the library's default (a day, for incidents
            // created late); the horizon re-reads recent incidents edited since.
            incidents: dora_store::IncidentSyncOptions::default().with_horizon(
                chrono::Duration::days(i64::from(worker.incident_horizon_days)),
            ),
            on_phase: Some(&phase),
        };
        let summary = dora_store::sync_all(
            store,
            built.bitbucket.as_ref(),
            built.incidents.as_deref(),
            range,
            &all,
        )
        .await
        .map_err(Failure::sync)?;
        let delivery = summary.delivery;
        let mut line = if shared {
            format!(
                "bitbucket: worker {} synced {} of {} repositor{} ({} the round) in {} requests, {} events stored{}{}",
                worker_id,
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
        if let (Some(source), Some(incidents)) = (built.incidents.as_deref(), summary.incidents)
        {
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

pub(crate) fn run_sync(args: SyncArgs) -> Result<(), Failure> {
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
    let mut flags = overrides(&common, Some(&args.sources));
    flags.incident_horizon_days = args.incident_horizon;
    let settings = resolve(&flags, &file)?;
    let config = settings.config.clone();
    let plan = plan_from(&settings)?;
    let mut store = open_store(&args.store)?;
    let worker = WorkerArgs {
        worker_id: args.worker_id.clone(),
        lease_seconds: args.lease_seconds,
        incident_horizon_days: settings.incident_horizon_days.value,
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
