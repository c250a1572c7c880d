//! `dora report`: collect (or read a store), compute and print the report.

use crate::commands::sync::{WorkerArgs, open_store, sync_into};
use crate::common::*;
use crate::failure::Failure;
use crate::sources;
use chrono::Utc;
use clap::Args;
use dora_cli::output::Context;
use dora_cli::progress::Progress;
use dora_cli::settings::Settings;
use std::path::Path;

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    #[command(flatten)]
    pub(crate) common: CommonArgs,
    #[command(flatten)]
    pub(crate) sources: SourceArgs,
    /// Keep events in this store (a SQLite file, or a `postgres://` /
    /// `postgresql://` URL; password from the URL or PGPASSWORD): sync into it
    /// incrementally, then compute from it (and store the report's rows for
    /// dashboards).
    #[arg(long, value_name = "PATH|URL")]
    pub(crate) store: Option<String>,
    /// With --store: compute from the store only, without any network access.
    #[arg(long, requires = "store")]
    pub(crate) offline: bool,
}

pub(crate) fn run_report(args: ReportArgs) -> Result<(), Failure> {
    let file = load_file(args.common.config.as_deref())?;
    let settings = resolve(&overrides(&args.common, Some(&args.sources)), &file)?;
    let config = &settings.config;
    if let Some(path) = &args.store {
        return run_report_from_store(&args, path, &settings);
    }
    let plan = plan_from(&settings)?;
    let credentials = sources::Credentials::from_env(&plan)?;
    let progress = Progress::stderr(!args.common.quiet);
    let rt = runtime()?;
    let report = rt.block_on(async {
        let built = sources::build(&plan, &credentials, &progress)?;
        let report = collect_and_compute(
            built.delivery.as_ref(),
            built.incidents.as_deref(),
            config,
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

pub(crate) fn run_report_from_store(
    args: &ReportArgs,
    location: &str,
    settings: &Settings,
) -> Result<(), Failure> {
    let config = &settings.config;
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
        let plan = plan_from(settings)?;
        let worker = WorkerArgs {
            incident_horizon_days: settings.incident_horizon_days.value,
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
