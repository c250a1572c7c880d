//! What every command shares: the window and output flags, the sources
//! flags, `dora.toml`, the runtime, collecting and writing the report.

use crate::failure::Failure;
use crate::sources;
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Args;
use dora_cli::output::{self, Context, Format};
use dora_cli::progress::Progress;
use dora_cli::settings::{
    FileSettings, IncidentTool, OpsgenieApiChoice, OpsgenieRegionChoice, Overrides, Settings,
};
use dora_core::{Config, DeliverySource, IncidentSource, Report, Severity};
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub(crate) struct CommonArgs {
    /// Window length in days, ending at --until (default: DORA_DAYS, dora.toml, 90).
    #[arg(long, value_name = "N")]
    pub(crate) days: Option<u32>,
    /// Window end (exclusive): RFC 3339 (2026-11-01T00:00:00Z), a date-time
    /// without offset (2026-11-01T00:00:00, UTC) or YYYY-MM-DD (midnight UTC).
    /// Default: DORA_UNTIL, else now (for the demo: the end of the sample).
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
    /// Incident tool to collect incidents from (default: DORA_INCIDENTS, dora.toml).
    #[arg(long, value_name = "TOOL", value_parser = tool_parser())]
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
    /// (`https://api.atlassian.com/jsm/ops/api/<cloud-id>`); requests go to
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
    #[arg(long, value_name = "API", value_parser = choice_parser::<OpsgenieApiChoice>(OpsgenieApiChoice::NAMES))]
    pub(crate) opsgenie_api: Option<OpsgenieApiChoice>,
    /// With --incidents opsgenie: the region, us (default) or eu
    /// (dora.toml `[sources.opsgenie] region`).
    #[arg(long, value_name = "REGION", value_parser = choice_parser::<OpsgenieRegionChoice>(OpsgenieRegionChoice::NAMES))]
    pub(crate) opsgenie_region: Option<OpsgenieRegionChoice>,
    /// With --incidents pagerduty: only incidents of this service id; repeat
    /// for several (default: every service; dora.toml `[sources.pagerduty]
    /// service_ids`).
    #[arg(long = "pagerduty-service-id", value_name = "ID")]
    pub(crate) pagerduty_service_ids: Vec<String>,
    /// Map a raw severity name of the incident tool to P1..P5, winning over the
    /// default mapping (e.g. `SEV-1=P1`, `high=P2`); repeatable, added to
    /// dora.toml's `[sources.severity_overrides]`.
    #[arg(long = "severity-override", value_name = "RAW=P1", value_parser = parse_severity_override)]
    pub(crate) severity_overrides: Vec<(String, Severity)>,
    /// The most time the run may spend waiting on rate limits and retries,
    /// every source together: seconds (600), minutes (10m) or hours (1h).
    /// Default 10m (or DORA_MAX_WAIT, or `[http] max_wait_seconds` in
    /// dora.toml); 0 never waits.
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

/// `--incidents`: the tools' names.
fn tool_parser() -> impl clap::builder::TypedValueParser<Value = IncidentTool> {
    choice_parser::<IncidentTool>(IncidentTool::ALL.map(IncidentTool::name))
}

/// A flag whose values are `names`, read by the type's `FromStr`.
fn choice_parser<T>(
    names: impl IntoIterator<Item = &'static str>,
) -> impl clap::builder::TypedValueParser<Value = T>
where
    T: std::str::FromStr + Clone + Send + Sync + 'static,
{
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(names).try_map(|name| {
        name.parse::<T>()
            .map_err(|_| format!("unknown value {name:?}"))
    })
}

/// `--severity-override RAW=P1`.
fn parse_severity_override(text: &str) -> Result<(String, Severity), String> {
    let (raw, severity) = text
        .rsplit_once('=')
        .ok_or_else(|| format!("{text:?}: use RAW=P1 (the tool's severity name, then P1..P5)"))?;
    let severity = Severity::parse(severity.trim())
        .ok_or_else(|| format!("{:?} is not a severity (use P1..P5)", severity.trim()))?;
    if raw.trim().is_empty() {
        return Err(format!("{text:?}: the raw severity name is empty"));
    }
    Ok((raw.trim().to_string(), severity))
}

/// What the flags say (the sources flags when the command has them).
pub(crate) fn overrides(common: &CommonArgs, sources: Option<&SourceArgs>) -> Overrides {
    let mut o = Overrides {
        days: common.days,
        until: common.until.clone(),
        industry: common.industry.clone(),
        org_size: common.org_size.clone(),
        ..Overrides::default()
    };
    if let Some(a) = sources {
        o.workspace = a.workspace.clone();
        o.repos = a.repos.clone();
        o.incidents = a.incidents;
        o.bitbucket_url = a.bitbucket_url.clone();
        o.pagerduty_url = a.pagerduty_url.clone();
        o.opsgenie_url = a.opsgenie_url.clone();
        o.incidentio_url = a.incidentio_url.clone();
        o.jsm_url = a.jsm_url.clone();
        o.max_commit_pages = a.max_commit_pages.and_then(|n| usize::try_from(n).ok());
        o.opsgenie_api = a.opsgenie_api;
        o.opsgenie_region = a.opsgenie_region;
        o.pagerduty_service_ids = a.pagerduty_service_ids.clone();
        o.severity_overrides = a.severity_overrides.clone();
        o.max_wait = a.max_wait;
    }
    o
}

/// Every setting of the run: flags > environment > file > defaults.
pub(crate) fn resolve(flags: &Overrides, file: &FileSettings) -> Result<Settings, Failure> {
    Settings::resolve(flags, &|name| std::env::var(name).ok(), file)
        .map_err(|e| Failure::usage(e.to_string()))
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

/// Where to collect from, as the settings say.
pub(crate) fn plan_from(settings: &Settings) -> Result<sources::Plan, Failure> {
    let workspace = settings
        .workspace()
        .map_err(|e| Failure::usage(e.to_string()))?;
    Ok(sources::Plan {
        workspace: workspace.to_string(),
        repos: settings.repos.value.clone(),
        bitbucket_url: settings.bitbucket_url.as_ref().map(|u| u.value.clone()),
        max_commit_pages: settings.max_commit_pages.as_ref().map(|n| n.value),
        max_wait: Some(settings.max_wait.value),
        incidents: settings.incidents.as_ref().map(|t| t.value),
        incident: settings.incident_settings(),
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
