//! What every command shares: the window and output flags, the sources
//! flags, `dora.toml`, the runtime, collecting and writing the report.

use crate::failure::Failure;
use crate::sources;
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Args;
use dora_cli::output::{self, Context, Format};
use dora_cli::progress::Progress;
use dora_cli::settings::{FileSettings, IncidentTool, OpsgenieApiChoice, parse_date};
use dora_core::{Config, DeliverySource, IncidentSource, Report};
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub(crate) struct CommonArgs {
    /// Window length in days, ending at --until.
    #[arg(long, value_name = "N")]
    pub(crate) days: Option<u32>,
    /// Window end (exclusive): RFC 3339 or YYYY-MM-DD (midnight UTC). Default: now
    /// (for the demo: the end of the sample).
    #[arg(long, value_name = "DATE")]
    pub(crate) until: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Write the output to FILE instead of stdout. With --format csv, a
    /// directory (an existing one, or a path ending in `/`) receives
    /// changes.csv, deployments.csv and incidents.csv.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Settings file (metric knobs and a [sources] section); flags override it.
    /// Default: ./dora.toml when it exists.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// No progress on stderr.
    #[arg(long, short = 'q')]
    pub(crate) quiet: bool,
    /// Compare against this industry in the DORA 2025 benchmarks (e.g.
    /// `technology`, `financial_services`; default: all industries).
    #[arg(long, value_name = "NAME", conflicts_with = "org_size")]
    pub(crate) industry: Option<String>,
    /// Compare against this organisation size in the DORA 2025 benchmarks
    /// (e.g. `fewer_than_100`, `more_than_9999`).
    #[arg(long, value_name = "NAME")]
    pub(crate) org_size: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SourceArgs {
    /// Bitbucket workspace (slug or {UUID}).
    #[arg(long, value_name = "W")]
    pub(crate) workspace: Option<String>,
    /// Repository slug; repeat for several. Default: every repository of the workspace.
    #[arg(long = "repo", value_name = "SLUG")]
    pub(crate) repos: Vec<String>,
    /// Incident tool to collect incidents from.
    #[arg(long, value_enum, value_name = "TOOL")]
    pub(crate) incidents: Option<IncidentTool>,
    /// Bitbucket API base URL.
    #[arg(long, value_name = "URL")]
    pub(crate) bitbucket_url: Option<String>,
    /// PagerDuty API base URL.
    #[arg(long, value_name = "URL")]
    pub(crate) pagerduty_url: Option<String>,
    /// Opsgenie API base URL.
    #[arg(long, value_name = "URL")]
    pub(crate) opsgenie_url: Option<String>,
    /// incident.io API base URL.
    #[arg(long, value_name = "URL")]
    pub(crate) incidentio_url: Option<String>,
    /// JSM Operations API base up to and including the cloud id
    /// (https://api.atlassian.com/jsm/ops/api/<cloud-id>); requests go to
    /// URL/v1/alerts. Default: from JSM_CLOUD_ID, or the cloud id of JSM_SITE.
    #[arg(long, value_name = "URL")]
    pub(crate) jsm_url: Option<String>,
    /// Pages of 100 commits the production-branch walk may read per repository
    /// (default 50). Pull requests whose history lies beyond the cap are left
    /// out of lead time as `history_truncated`; raise it when the report says so.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_commit_pages: Option<u64>,
    /// With --incidents opsgenie: read alerts (default, every plan) or
    /// incidents (`/v1/incidents`, Standard and Enterprise plans).
    #[arg(long, value_enum, value_name = "API")]
    pub(crate) opsgenie_api: Option<OpsgenieApiChoice>,
    /// The most time the run may spend waiting on rate limits and retries,
    /// every source together: seconds (600), minutes (10m) or hours (1h).
    /// Default 10m (or `[http] max_wait_seconds` in dora.toml); 0 never waits.
    #[arg(long, value_name = "DURATION", value_parser = dora_cli::settings::parse_wait)]
    pub(crate) max_wait: Option<std::time::Duration>,
}

/// Settings from the file (explicit, or ./dora.toml when present).
pub(crate) fn load_file(path: Option<&Path>) -> Result<FileSettings, Failure> {
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
pub(crate) fn config_from(common: &CommonArgs, file: &FileSettings) -> Result<Config, Failure> {
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

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .map_err(Failure::internal)
}

/// Collect, compute and return the report.
pub(crate) async fn collect_and_compute(
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
pub(crate) fn plan_from(args: &SourceArgs, file: &FileSettings) -> Result<sources::Plan, Failure> {
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

pub(crate) fn plan_title(plan: &sources::Plan) -> String {
    match plan.repos.as_slice() {
        [one] => format!("{}/{one}", plan.workspace),
        _ => plan.workspace.clone(),
    }
}

/// Whether the process started with stdout closed (`>&-`). Rust's runtime
/// reopens a closed descriptor 0–2 on `/dev/null` read-write at start-up, so a
/// write would vanish silently; a shell's `> /dev/null` opens it write-only,
/// which stays allowed. Linux only (elsewhere: false).
pub(crate) fn stdout_was_closed() -> bool {
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

pub(crate) fn write_output(
    report: &Report,
    common: &CommonArgs,
    ctx: &Context,
) -> Result<(), Failure> {
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
