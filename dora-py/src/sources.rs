//! Sources usable from Python: `Bitbucket`, `PagerDuty`, `Opsgenie`,
//! `IncidentIo`, `Jsm`, each building the Rust adapter at construction (so a missing
//! credential fails early, with the variable to set), and a `Dataset`, served
//! from memory by `dora_core::MemorySource`.

use crate::dataset::PyDataset;
use crate::errors::{DoraErr, DoraResult};
use dora_bitbucket::Bitbucket;
use dora_core::{DeliverySource, IncidentSource, IncrementalSource, MemorySource, Severity};
use dora_incidents::{IncidentSettings, IncidentTool, Normalization, RepositoryMapping};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Bitbucket Cloud as a delivery source.
#[pyclass(module = "dora_metrics._native", name = "Bitbucket", frozen)]
pub struct PyBitbucket {
    source: Arc<Bitbucket>,
    workspace: String,
    repos: Vec<String>,
    base_url: String,
    auth: &'static str,
}

#[pymethods]
impl PyBitbucket {
    /// A Bitbucket Cloud workspace (all its repositories, or `repos`).
    ///
    /// Credentials: `email` + `api_token` (an Atlassian API token, basic auth)
    /// or `access_token` (a repository/project/workspace access token or OAuth
    /// token, bearer); by default the environment's `BITBUCKET_EMAIL` +
    /// `BITBUCKET_API_TOKEN`, else `BITBUCKET_ACCESS_TOKEN`.
    ///
    /// `max_commit_pages` caps the production-branch commit walk (pages of
    /// 100 commits per repository, default 50); pull requests whose history
    /// lies beyond it are counted in `lead_time.excluded.history_truncated`.
    ///
    /// `max_wait_seconds` bounds the total time spent waiting on rate limits
    /// and retries (default 600; 0 never waits); past it, collection fails
    /// with a message saying so.
    #[new]
    #[pyo3(signature = (workspace, repos = None, *, base_url = None, email = None, api_token = None, access_token = None, max_commit_pages = None, max_wait_seconds = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        workspace: String,
        repos: Option<Vec<String>>,
        base_url: Option<String>,
        email: Option<String>,
        api_token: Option<String>,
        access_token: Option<String>,
        max_commit_pages: Option<usize>,
        max_wait_seconds: Option<f64>,
    ) -> DoraResult<Self> {
        let repos = repos.unwrap_or_default();
        let mut builder = Bitbucket::builder(workspace.clone()).with_repos(repos.clone());
        if let Some(limit) = wait_limit("bitbucket", max_wait_seconds)? {
            builder = builder.with_max_wait(limit);
        }
        if let Some(pages) = max_commit_pages {
            if pages == 0 {
                return Err(DoraErr::Config(
                    "bitbucket: max_commit_pages must be at least 1".into(),
                ));
            }
            builder = builder.with_max_commit_pages(pages);
        }
        let base_url = base_url.unwrap_or_else(|| dora_bitbucket::DEFAULT_BASE_URL.to_string());
        builder = builder.with_base_url(base_url.clone());
        // Where the credentials come from, for `repr` (never the values); the
        // builder checks them, as it checks the environment's.
        let auth = match (&email, &api_token, &access_token) {
            (None, None, None) => "environment",
            (_, _, Some(_)) => "bearer",
            _ => "basic",
        };
        builder = builder.with_credentials(email, api_token, access_token);
        let source = builder.build()?;
        Ok(Self {
            source: Arc::new(source),
            workspace,
            repos,
            base_url,
            auth,
        })
    }

    /// The workspace.
    #[getter]
    fn workspace(&self) -> &str {
        &self.workspace
    }

    /// Repository slugs; empty means every repository of the workspace.
    #[getter]
    fn repos(&self) -> Vec<String> {
        self.repos.clone()
    }

    /// The API root.
    #[getter]
    fn base_url(&self) -> &str {
        &self.base_url
    }

    fn __repr__(&self) -> String {
        // Never the credentials: only where they came from.
        format!(
            "Bitbucket(workspace={:?}, repos={:?}, base_url={:?}, auth={})",
            self.workspace, self.repos, self.base_url, self.auth
        )
    }
}

/// The `services=` and `severity_overrides=` keyword arguments of the three
/// incident sources, as the adapters' shared normalisation settings.
fn normalization(
    services: Option<BTreeMap<String, Vec<String>>>,
    overrides: Option<BTreeMap<String, String>>,
) -> DoraResult<Normalization> {
    let mut norm = Normalization {
        repositories: services
            .unwrap_or_default()
            .into_iter()
            .fold(RepositoryMapping::new(), |m, (service, repos)| {
                m.service(service, repos)
            }),
        ..Normalization::default()
    };
    for (raw, sev) in overrides.unwrap_or_default() {
        let severity = Severity::parse(&sev).ok_or_else(|| {
            DoraErr::Config(format!(
                "severity_overrides[{raw:?}]: {sev:?} is not P1..P5"
            ))
        })?;
        norm.severities.insert(raw, severity);
    }
    Ok(norm)
}

/// Build `tool`'s source with the `token=` keyword argument (else the
/// environment's), and what `repr` shows of it.
fn build(
    tool: IncidentTool,
    settings: IncidentSettings,
    token: Option<String>,
    name: &'static str,
) -> DoraResult<(Arc<dyn IncidentSource>, IncidentInfo)> {
    let base_url = settings.base_url.clone();
    let source = tool.build(&with_token(settings, token))?;
    Ok((Arc::new(source), IncidentInfo { name, base_url }))
}

/// The `token=` keyword argument, when given (else the environment's).
fn with_token(settings: IncidentSettings, token: Option<String>) -> IncidentSettings {
    match token {
        Some(t) => settings.with_token(t),
        None => settings,
    }
}

/// The `max_wait_seconds=` keyword argument: a finite, non-negative number
/// of seconds.
fn wait_limit(source: &str, seconds: Option<f64>) -> DoraResult<Option<std::time::Duration>> {
    match seconds {
        None => Ok(None),
        Some(s) => std::time::Duration::try_from_secs_f64(s)
            .map(Some)
            .map_err(|_| {
                DoraErr::Config(format!(
                    "{source}: max_wait_seconds must be a non-negative number of seconds, got {s}"
                ))
            }),
    }
}

/// Common parts of the three incident sources, for `__repr__`.
struct IncidentInfo {
    name: &'static str,
    base_url: Option<String>,
}

impl IncidentInfo {
    fn repr(&self) -> String {
        match &self.base_url {
            Some(url) => format!("{}(base_url={url:?})", self.name),
            None => format!("{}()", self.name),
        }
    }
}

/// PagerDuty incidents (`PAGERDUTY_TOKEN` by default).
#[pyclass(module = "dora_metrics._native", name = "PagerDuty", frozen)]
pub struct PyPagerDuty {
    source: Arc<dyn IncidentSource>,
    info: IncidentInfo,
}

#[pymethods]
impl PyPagerDuty {
    /// PagerDuty incidents. `token` defaults to `PAGERDUTY_TOKEN`; `services`
    /// maps PagerDuty service names to repository slugs; `severity_overrides`
    /// maps raw priority/urgency names to `P1`..`P5`.
    #[new]
    #[pyo3(signature = (token = None, *, base_url = None, service_ids = None, services = None, severity_overrides = None, max_wait_seconds = None))]
    fn new(
        token: Option<String>,
        base_url: Option<String>,
        service_ids: Option<Vec<String>>,
        services: Option<BTreeMap<String, Vec<String>>>,
        severity_overrides: Option<BTreeMap<String, String>>,
        max_wait_seconds: Option<f64>,
    ) -> DoraResult<Self> {
        let settings = IncidentSettings {
            base_url,
            pagerduty_service_ids: service_ids.unwrap_or_default(),
            normalization: normalization(services, severity_overrides)?,
            max_wait: wait_limit("pagerduty", max_wait_seconds)?,
            ..IncidentSettings::default()
        };
        let (source, info) = build(IncidentTool::Pagerduty, settings, token, "PagerDuty")?;
        Ok(Self { source, info })
    }

    fn __repr__(&self) -> String {
        self.info.repr()
    }
}

/// Opsgenie alerts or incidents (`OPSGENIE_API_KEY` by default).
#[pyclass(module = "dora_metrics._native", name = "Opsgenie", frozen)]
pub struct PyOpsgenie {
    source: Arc<dyn IncidentSource>,
    info: IncidentInfo,
}

#[pymethods]
impl PyOpsgenie {
    /// Opsgenie. `token` defaults to `OPSGENIE_API_KEY`; `region` is `"us"` or
    /// `"eu"`; `incidents_api=True` reads `/v1/incidents` (Standard and
    /// Enterprise plans) instead of `/v2/alerts`.
    #[new]
    #[pyo3(signature = (token = None, *, base_url = None, region = "us", incidents_api = false, services = None, severity_overrides = None, max_wait_seconds = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        token: Option<String>,
        base_url: Option<String>,
        region: &str,
        incidents_api: bool,
        services: Option<BTreeMap<String, Vec<String>>>,
        severity_overrides: Option<BTreeMap<String, String>>,
        max_wait_seconds: Option<f64>,
    ) -> DoraResult<Self> {
        let region = region
            .parse::<dora_settings::OpsgenieRegionChoice>()
            .map_err(|e| DoraErr::Config(format!("opsgenie: {e}")))?;
        let settings = IncidentSettings {
            base_url,
            opsgenie_region: region.region(),
            opsgenie_api: if incidents_api {
                dora_incidents::OpsgenieApi::Incidents
            } else {
                dora_incidents::OpsgenieApi::Alerts
            },
            normalization: normalization(services, severity_overrides)?,
            max_wait: wait_limit("opsgenie", max_wait_seconds)?,
            ..IncidentSettings::default()
        };
        let (source, info) = build(IncidentTool::Opsgenie, settings, token, "Opsgenie")?;
        Ok(Self { source, info })
    }

    fn __repr__(&self) -> String {
        self.info.repr()
    }
}

/// incident.io incidents (`INCIDENTIO_API_KEY` by default).
#[pyclass(module = "dora_metrics._native", name = "IncidentIo", frozen)]
pub struct PyIncidentIo {
    source: Arc<dyn IncidentSource>,
    info: IncidentInfo,
}

#[pymethods]
impl PyIncidentIo {
    /// incident.io. `token` defaults to `INCIDENTIO_API_KEY`; severities map
    /// by rank among the organisation's severities unless overridden.
    #[new]
    #[pyo3(signature = (token = None, *, base_url = None, services = None, severity_overrides = None, max_wait_seconds = None))]
    fn new(
        token: Option<String>,
        base_url: Option<String>,
        services: Option<BTreeMap<String, Vec<String>>>,
        severity_overrides: Option<BTreeMap<String, String>>,
        max_wait_seconds: Option<f64>,
    ) -> DoraResult<Self> {
        let settings = IncidentSettings {
            base_url,
            normalization: normalization(services, severity_overrides)?,
            max_wait: wait_limit("incidentio", max_wait_seconds)?,
            ..IncidentSettings::default()
        };
        let (source, info) = build(IncidentTool::Incidentio, settings, token, "IncidentIo")?;
        Ok(Self { source, info })
    }

    fn __repr__(&self) -> String {
        self.info.repr()
    }
}

/// Jira Service Management Operations alerts (Opsgenie's successor).
#[pyclass(module = "dora_metrics._native", name = "Jsm", frozen)]
pub struct PyJsm {
    source: Arc<dyn IncidentSource>,
    target: String,
}

#[pymethods]
impl PyJsm {
    /// JSM Operations alerts, normalised as Opsgenie alerts. `email` +
    /// `api_token` (an Atlassian account's API token, HTTP Basic) default to
    /// `ATLASSIAN_EMAIL` + `ATLASSIAN_API_TOKEN`, else `BITBUCKET_EMAIL` +
    /// `BITBUCKET_API_TOKEN`. Where: `base_url` (up to and including the cloud
    /// id), else `cloud_id`, else `site` (`acme.atlassian.net`, cloud id
    /// discovered), else `JSM_CLOUD_ID` / `JSM_SITE`. Atlassian service
    /// accounts cannot call this API; a scoped token needs
    /// `read:ops-alert:jira-service-management`.
    #[new]
    #[pyo3(signature = (cloud_id = None, *, site = None, email = None, api_token = None, base_url = None, services = None, severity_overrides = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        cloud_id: Option<String>,
        site: Option<String>,
        email: Option<String>,
        api_token: Option<String>,
        base_url: Option<String>,
        services: Option<BTreeMap<String, Vec<String>>>,
        severity_overrides: Option<BTreeMap<String, String>>,
    ) -> DoraResult<Self> {
        let env = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        // For `repr` only: where the alerts are, in `IncidentTool::build`'s order.
        let target = if let Some(url) = &base_url {
            format!("base_url={url:?}")
        } else if let Some(id) = cloud_id.clone().or_else(|| env("JSM_CLOUD_ID")) {
            format!("cloud_id={id:?}")
        } else if let Some(site) = site.clone().or_else(|| env("JSM_SITE")) {
            format!("site={site:?}")
        } else {
            String::new()
        };
        let settings = IncidentSettings {
            email,
            base_url,
            jsm_cloud_id: cloud_id,
            jsm_site: site,
            normalization: normalization(services, severity_overrides)?,
            ..IncidentSettings::default()
        };
        Ok(Self {
            source: Arc::new(IncidentTool::Jsm.build(&with_token(settings, api_token))?),
            target,
        })
    }

    fn __repr__(&self) -> String {
        // Never the credentials.
        format!("Jsm({})", self.target)
    }
}

/// The delivery source behind a Python object: `Bitbucket` or a `Dataset`.
pub fn delivery_source(obj: &Bound<'_, PyAny>) -> DoraResult<Arc<dyn DeliverySource>> {
    if let Ok(b) = obj.cast::<PyBitbucket>() {
        let source: Arc<dyn DeliverySource> = Arc::clone(&b.get().source) as _;
        return Ok(source);
    }
    if let Ok(d) = obj.cast::<PyDataset>() {
        return Ok(Arc::new(MemorySource::new(d.get().inner.clone())));
    }
    Err(DoraErr::Python(PyTypeError::new_err(format!(
        "source must be a dora_metrics.Bitbucket or a Dataset, got {}",
        obj.get_type().name()?
    ))))
}

/// The Bitbucket source behind a Python object (for `inventory`).
pub fn bitbucket_source(obj: &Bound<'_, PyAny>) -> DoraResult<Arc<Bitbucket>> {
    if let Ok(b) = obj.cast::<PyBitbucket>() {
        return Ok(Arc::clone(&b.get().source));
    }
    Err(DoraErr::Python(PyTypeError::new_err(format!(
        "source must be a dora_metrics.Bitbucket, got {}",
        obj.get_type().name()?
    ))))
}

/// The incremental (store-syncing) source behind a Python object: only
/// `Bitbucket` keeps per-repository cursors.
pub fn incremental_source(obj: &Bound<'_, PyAny>) -> DoraResult<Arc<dyn IncrementalSource>> {
    if let Ok(b) = obj.cast::<PyBitbucket>() {
        let source: Arc<dyn IncrementalSource> = Arc::clone(&b.get().source) as _;
        return Ok(source);
    }
    Err(DoraErr::Python(PyTypeError::new_err(format!(
        "source must be a dora_metrics.Bitbucket, got {} (to store a Dataset, use Store.save)",
        obj.get_type().name()?
    ))))
}

/// The incident source behind a Python object: `PagerDuty`, `Opsgenie`,
/// `IncidentIo` or a `Dataset` (its incidents).
pub fn incident_source(obj: &Bound<'_, PyAny>) -> DoraResult<Arc<dyn IncidentSource>> {
    if let Ok(s) = obj.cast::<PyPagerDuty>() {
        return Ok(Arc::clone(&s.get().source));
    }
    if let Ok(s) = obj.cast::<PyOpsgenie>() {
        return Ok(Arc::clone(&s.get().source));
    }
    if let Ok(s) = obj.cast::<PyIncidentIo>() {
        return Ok(Arc::clone(&s.get().source));
    }
    if let Ok(s) = obj.cast::<PyJsm>() {
        return Ok(Arc::clone(&s.get().source));
    }
    if let Ok(d) = obj.cast::<PyDataset>() {
        return Ok(Arc::new(MemorySource::new(d.get().inner.clone())));
    }
    Err(DoraErr::Python(PyTypeError::new_err(format!(
        "incidents must be a dora_metrics.PagerDuty, Opsgenie, IncidentIo, Jsm or a Dataset, got {}",
        obj.get_type().name()?
    ))))
}

/// Register the source classes.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyBitbucket>()?;
    m.add_class::<PyPagerDuty>()?;
    m.add_class::<PyOpsgenie>()?;
    m.add_class::<PyIncidentIo>()?;
    m.add_class::<PyJsm>()?;
    Ok(())
}
