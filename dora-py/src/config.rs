//! `dora_metrics.Config`: every knob of `dora_core::Config`, same names and defaults.

use crate::errors::{DoraErr, DoraResult};
use crate::time::{extract_timestamp, to_py_datetime};
use chrono::SecondsFormat;
use dora_core::{Config as CoreConfig, LeadTimeStart, Severity, TierYear};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};

/// Report configuration: the window and every choice a metric makes.
///
/// Mirrors `dora_core::Config`; `Config.from_toml` reads the same TOML file as
/// the `dora` command.
#[pyclass(module = "dora_metrics._native", name = "Config", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct PyConfig {
    pub(crate) inner: CoreConfig,
}

fn parse_severities(values: Vec<String>) -> DoraResult<Vec<Severity>> {
    values
        .iter()
        .map(|v| {
            Severity::parse(v).ok_or_else(|| {
                DoraErr::Config(format!("severities: {v:?} is not a severity (use P1..P5)"))
            })
        })
        .collect()
}

fn parse_lead_time_start(value: &str) -> DoraResult<LeadTimeStart> {
    match value {
        "first_commit" => Ok(LeadTimeStart::FirstCommit),
        "pr_created" => Ok(LeadTimeStart::PrCreated),
        other => Err(DoraErr::Config(format!(
            "lead_time_start: {other:?} is not one of \"first_commit\", \"pr_created\""
        ))),
    }
}

fn non_negative(name: &str, value: Option<i64>) -> DoraResult<Option<u32>> {
    value
        .map(|v| {
            u32::try_from(v).map_err(|_| {
                DoraErr::Config(format!(
                    "{name} must be between 0 and {}, got {v}",
                    u32::MAX
                ))
            })
        })
        .transpose()
}

#[pymethods]
impl PyConfig {
    /// Build a configuration; every argument defaults to dora_core's default.
    #[new]
    #[pyo3(signature = (
        days = 90,
        until = None,
        *,
        production_environments = None,
        production_branch = None,
        severities = None,
        rerun_excuse_minutes = None,
        incident_window_hours = 24,
        lead_time_start = "first_commit",
        tier_year = 2024,
        hotfix_prefixes = None,
        hotfix_window_hours = 24,
        bot_name_patterns = None,
        bot_use_account_type = true,
        bot_min_pr_seconds = None,
        industry = None,
        org_size = None,
        promotion_branches = None,
        promotion_prefixes = None,
        repositories = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        days: i64,
        until: Option<&Bound<'_, PyAny>>,
        production_environments: Option<Vec<String>>,
        production_branch: Option<String>,
        severities: Option<Vec<String>>,
        rerun_excuse_minutes: Option<i64>,
        incident_window_hours: i64,
        lead_time_start: &str,
        tier_year: i64,
        hotfix_prefixes: Option<Vec<String>>,
        hotfix_window_hours: i64,
        bot_name_patterns: Option<Vec<String>>,
        bot_use_account_type: bool,
        bot_min_pr_seconds: Option<i64>,
        industry: Option<String>,
        org_size: Option<String>,
        promotion_branches: Option<Vec<String>>,
        promotion_prefixes: Option<Vec<String>>,
        repositories: Option<&Bound<'_, PyAny>>,
    ) -> DoraResult<Self> {
        let mut c = CoreConfig::default();
        c.days = non_negative("days", Some(days))?.unwrap_or(c.days);
        c.until = until
            .filter(|u| !u.is_none())
            .map(|u| extract_timestamp(u, "until"))
            .transpose()?;
        if let Some(envs) = production_environments {
            c.production_environments = envs;
        }
        c.production_branch = production_branch;
        if let Some(s) = severities {
            c.severities = parse_severities(s)?;
        }
        c.rerun_excuse_minutes = non_negative("rerun_excuse_minutes", rerun_excuse_minutes)?;
        c.incident_window_hours =
            non_negative("incident_window_hours", Some(incident_window_hours))?.unwrap_or(24);
        c.lead_time_start = parse_lead_time_start(lead_time_start)?;
        c.tier_year = u16::try_from(tier_year)
            .map_err(|_| format!("tier_year {tier_year} is not supported"))
            .and_then(TierYear::try_from)
            .map_err(DoraErr::Config)?;
        if let Some(p) = hotfix_prefixes {
            c.hotfix.prefixes = p;
        }
        c.hotfix.window_hours =
            non_negative("hotfix_window_hours", Some(hotfix_window_hours))?.unwrap_or(24);
        if let Some(p) = bot_name_patterns {
            c.bots.name_patterns = p;
        }
        c.bots.use_account_type = bot_use_account_type;
        c.bots.min_pr_seconds = bot_min_pr_seconds;
        c.industry = industry;
        c.org_size = org_size;
        if let Some(b) = promotion_branches {
            c.promotions.branches = b;
        }
        if let Some(p) = promotion_prefixes {
            c.promotions.prefixes = p;
        }
        if let Some(r) = repositories.filter(|r| !r.is_none()) {
            c.repositories = repository_rules(r)?;
        }
        c.validate()?;
        Ok(Self { inner: c })
    }

    /// Parse a `dora.toml`, the `dora` command's settings file: the metric
    /// knobs at the top level are taken; `[sources]`, `[http]` and `[sync]` are
    /// checked as the command checks them, then left to the sources. Unknown
    /// keys are errors naming the key.
    #[staticmethod]
    fn from_toml(text: &str) -> DoraResult<Self> {
        let file = dora_settings::FileSettings::parse(text, "dora.toml")
            .map_err(|e| DoraErr::Config(e.to_string()))?;
        Ok(Self { inner: file.config })
    }

    /// The configuration as JSON (dora_core's serde form, the TOML keys).
    fn to_json(&self) -> String {
        serde_json::to_string(&self.inner).unwrap_or_default()
    }

    /// Source branches whose merges into the production branch are
    /// promotions (gitflow's `develop`), not changes.
    #[getter]
    fn promotion_branches(&self) -> Vec<String> {
        self.inner.promotions.branches.clone()
    }

    /// Source-branch prefixes whose merges into the production branch are
    /// promotions (`release/`).
    #[getter]
    fn promotion_prefixes(&self) -> Vec<String> {
        self.inner.promotions.prefixes.clone()
    }

    /// Per-repository settings by slug (`[repositories.<slug>]` in
    /// `dora.toml`): `production_branch`, `development_branch`,
    /// `hotfix_prefixes`, `release_prefixes`; a value set replaces the
    /// workspace setting and the branching model's for that repository.
    #[getter]
    fn repositories<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let text = serde_json::to_string(&self.inner.repositories).unwrap_or_else(|_| "{}".into());
        py.import("json")?.call_method1("loads", (text,))
    }

    /// Window length in days.
    #[getter]
    fn days(&self) -> u32 {
        self.inner.days
    }

    /// Window end (exclusive, UTC); `None` means "now" at compute time.
    #[getter]
    fn until<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner.until.map(|t| to_py_datetime(py, t)).transpose()
    }

    /// Environment names counted as production besides those of kind production.
    #[getter]
    fn production_environments(&self) -> Vec<String> {
        self.inner.production_environments.clone()
    }

    /// Production branch; `None` uses each repository's main branch.
    #[getter]
    fn production_branch(&self) -> Option<String> {
        self.inner.production_branch.clone()
    }

    /// Incident severities that count (`["P1", "P2"]` by default).
    #[getter]
    fn severities(&self) -> Vec<String> {
        self.inner
            .severities
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    /// Excuse a failed deployment re-run successfully within this many minutes.
    #[getter]
    fn rerun_excuse_minutes(&self) -> Option<u32> {
        self.inner.rerun_excuse_minutes
    }

    /// An incident opening within this many hours after a deployment fails it.
    #[getter]
    fn incident_window_hours(&self) -> u32 {
        self.inner.incident_window_hours
    }

    /// Where lead time starts: `"first_commit"` or `"pr_created"`.
    #[getter]
    fn lead_time_start(&self) -> &'static str {
        match self.inner.lead_time_start {
            LeadTimeStart::FirstCommit => "first_commit",
            LeadTimeStart::PrCreated => "pr_created",
        }
    }

    /// DORA report year of the performance tiers.
    #[getter]
    fn tier_year(&self) -> u16 {
        self.inner.tier_year.into()
    }

    /// Industry compared against in the DORA 2025 benchmarks (None: all, or by size).
    #[getter]
    fn industry(&self) -> Option<String> {
        self.inner.industry.clone()
    }

    /// Organisation size compared against in the DORA 2025 benchmarks.
    #[getter]
    fn org_size(&self) -> Option<String> {
        self.inner.org_size.clone()
    }

    /// Source-branch prefixes of hotfix pull requests.
    #[getter]
    fn hotfix_prefixes(&self) -> Vec<String> {
        self.inner.hotfix.prefixes.clone()
    }

    /// A hotfix merged within this many hours after a deployment fails it.
    #[getter]
    fn hotfix_window_hours(&self) -> u32 {
        self.inner.hotfix.window_hours
    }

    /// Author names or ids containing any of these are bots.
    #[getter]
    fn bot_name_patterns(&self) -> Vec<String> {
        self.inner.bots.name_patterns.clone()
    }

    /// Trust the source's account type (Bitbucket `app_user`) to spot bots.
    #[getter]
    fn bot_use_account_type(&self) -> bool {
        self.inner.bots.use_account_type
    }

    /// PRs merged faster than this many seconds count as automation.
    #[getter]
    fn bot_min_pr_seconds(&self) -> Option<i64> {
        self.inner.bots.min_pr_seconds
    }

    /// Every setting as a plain, JSON-able dict of the constructor's keywords
    /// (`until` as an RFC 3339 string or None): `Config(**c.to_dict()) == c`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = &self.inner;
        let d = PyDict::new(py);
        d.set_item("days", c.days)?;
        d.set_item(
            "until",
            c.until
                .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        )?;
        d.set_item("production_environments", self.production_environments())?;
        d.set_item("production_branch", self.production_branch())?;
        d.set_item("severities", self.severities())?;
        d.set_item("rerun_excuse_minutes", c.rerun_excuse_minutes)?;
        d.set_item("incident_window_hours", c.incident_window_hours)?;
        d.set_item("lead_time_start", self.lead_time_start())?;
        d.set_item("tier_year", self.tier_year())?;
        d.set_item("hotfix_prefixes", self.hotfix_prefixes())?;
        d.set_item("hotfix_window_hours", c.hotfix.window_hours)?;
        d.set_item("bot_name_patterns", self.bot_name_patterns())?;
        d.set_item("bot_use_account_type", c.bots.use_account_type)?;
        d.set_item("bot_min_pr_seconds", c.bots.min_pr_seconds)?;
        d.set_item("industry", self.industry())?;
        d.set_item("org_size", self.org_size())?;
        d.set_item("promotion_branches", self.promotion_branches())?;
        d.set_item("promotion_prefixes", self.promotion_prefixes())?;
        d.set_item("repositories", self.repositories(py)?)?;
        Ok(d)
    }

    /// A configuration from a dict of constructor keywords (what `to_dict`
    /// gives); unknown keys raise `TypeError`, bad values `ConfigError`.
    #[classmethod]
    fn from_dict<'py>(
        cls: &Bound<'py, PyType>,
        values: &Bound<'py, PyDict>,
    ) -> PyResult<Bound<'py, PyAny>> {
        cls.call((), Some(values))
    }

    /// A copy with the given settings changed: `c.replace(days=30)`.
    #[pyo3(signature = (**changes))]
    fn replace<'py>(
        slf: &Bound<'py, Self>,
        changes: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let values = slf.get().to_dict(slf.py())?;
        if let Some(changes) = changes {
            values.update(changes.as_mapping())?;
        }
        slf.get_type().call((), Some(&values))
    }

    /// Read the JSON of `to_json` back.
    #[staticmethod]
    fn from_json(text: &str) -> DoraResult<Self> {
        let inner: CoreConfig = serde_json::from_str(text)
            .map_err(|e| DoraErr::Config(format!("not a dora config: {e}")))?;
        inner.validate()?;
        Ok(Self { inner })
    }

    /// Pickle support: rebuilt from its JSON.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        Ok((slf.get_type().getattr("from_json")?, (slf.get().to_json(),)))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let mut parts = Vec::new();
        for (key, value) in self.to_dict(py)?.iter() {
            parts.push(format!("{}={}", key.str()?, value.repr()?));
        }
        Ok(format!("Config({})", parts.join(", ")))
    }
}

/// `repositories=`: a mapping of slug to settings, read with the TOML file's
/// rules (unknown keys are errors naming the key).
fn repository_rules(
    value: &Bound<'_, PyAny>,
) -> DoraResult<std::collections::BTreeMap<String, dora_core::RepositoryRules>> {
    let py = value.py();
    let text: String = py
        .import("json")
        .and_then(|json| json.call_method1("dumps", (value,)))
        .and_then(|t| t.extract())
        .map_err(|e| {
            DoraErr::Config(format!(
                "repositories: expected a mapping of slug to settings ({e})"
            ))
        })?;
    let mut de = serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(&mut de)
        .map_err(|e| DoraErr::Config(format!("repositories.{}: {}", e.path(), e.inner())))
}
