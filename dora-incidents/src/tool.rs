//! One way to build any of the incident sources from settings:
//! [`IncidentTool::build`]. The `dora` command (flags, `dora.toml`, the
//! environment) and the Python classes both come here, so every knob an
//! adapter has (severity overrides, the service mapping, PagerDuty service ids,
//! the Opsgenie region and API, the JSM site) is reachable from each.

use crate::{
    IncidentIo, IncidentIoBuilder, Jsm, JsmBuilder, Normalization, Opsgenie, OpsgenieApi,
    OpsgenieBuilder, OpsgenieRegion, PagerDuty, PagerDutyBuilder,
};
use async_trait::async_trait;
use dora_core::{Incident, IncidentBatch, IncidentRequest, IncidentSource, SourceError};
use dora_http::{Secret, WaitBudget};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// An incident-management tool, as `--incidents`, `dora.toml`'s
/// `[sources] incidents` and messages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentTool {
    /// PagerDuty (`PAGERDUTY_TOKEN`).
    Pagerduty,
    /// Opsgenie (`OPSGENIE_API_KEY`).
    Opsgenie,
    /// incident.io (`INCIDENTIO_API_KEY`).
    Incidentio,
    /// Jira Service Management Operations alerts (`ATLASSIAN_EMAIL` +
    /// `ATLASSIAN_API_TOKEN`, `JSM_CLOUD_ID` or `JSM_SITE`).
    Jsm,
}

impl IncidentTool {
    /// Every tool, in the order help texts list them.
    pub const ALL: [Self; 4] = [Self::Pagerduty, Self::Opsgenie, Self::Incidentio, Self::Jsm];

    /// The name used in flags, `dora.toml` and messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pagerduty => "pagerduty",
            Self::Opsgenie => "opsgenie",
            Self::Incidentio => "incidentio",
            Self::Jsm => "jsm",
        }
    }

    /// The environment variable holding the tool's API token (for JSM, the
    /// Atlassian API token, which goes with `ATLASSIAN_EMAIL`).
    pub fn token_var(self) -> &'static str {
        match self {
            Self::Pagerduty => "PAGERDUTY_TOKEN",
            Self::Opsgenie => "OPSGENIE_API_KEY",
            Self::Incidentio => "INCIDENTIO_API_KEY",
            Self::Jsm => "ATLASSIAN_API_TOKEN",
        }
    }

    /// Check that the credentials this tool needs are in `settings` or its
    /// environment, without building anything: the message names the
    /// variables to set. Front ends call it to report every missing credential
    /// of a run at once.
    pub fn check_credentials(self, settings: &IncidentSettings) -> Result<(), SourceError> {
        match self {
            Self::Jsm => self.jsm_builder(settings).map(|_| ()),
            _ => settings.token(self).map(|_| ()),
        }
    }

    /// Build this tool's source from `settings`: the one construction path of
    /// the command line and the Python classes.
    ///
    /// ```
    /// use dora_incidents::{IncidentSettings, IncidentTool, OpsgenieRegion, SeverityOverrides};
    /// use dora_core::Severity;
    /// let mut settings = IncidentSettings::default().with_token("example-genie-key");
    /// settings.opsgenie_region = OpsgenieRegion::Eu;
    /// settings.normalization.severities = SeverityOverrides::new().with("P3", Severity::P2);
    /// let source = IncidentTool::Opsgenie.build(&settings)?;
    /// assert_eq!(dora_core::IncidentSource::name(&source), "opsgenie");
    /// # Ok::<(), dora_core::SourceError>(())
    /// ```
    pub fn build(self, settings: &IncidentSettings) -> Result<AnyIncidentSource, SourceError> {
        let norm = settings.normalization.clone();
        // What every builder shares: the base URL and the wait budget.
        macro_rules! common {
            ($builder:expr) => {{
                let mut b = $builder.with_normalization(norm);
                if let Some(url) = &settings.base_url {
                    b = b.with_base_url(url.clone());
                }
                if let Some(budget) = settings.budget() {
                    b = b.with_wait_budget(budget);
                }
                b
            }};
        }
        Ok(match self {
            Self::Pagerduty => {
                let mut b = common!(PagerDutyBuilder::new(settings.token(self)?.expose()));
                if !settings.pagerduty_service_ids.is_empty() {
                    b = b.with_service_ids(settings.pagerduty_service_ids.clone());
                }
                AnyIncidentSource::PagerDuty(b.build()?)
            }
            Self::Opsgenie => AnyIncidentSource::Opsgenie(
                common!(
                    OpsgenieBuilder::new(settings.token(self)?.expose())
                        .with_region(settings.opsgenie_region)
                        .with_api(settings.opsgenie_api)
                )
                .build()?,
            ),
            Self::Incidentio => AnyIncidentSource::IncidentIo(
                common!(IncidentIoBuilder::new(settings.token(self)?.expose())).build()?,
            ),
            // The JSM builder takes its base URL in `jsm_builder`, with the target.
            Self::Jsm => {
                let mut b = self.jsm_builder(settings)?.with_normalization(norm);
                if let Some(budget) = settings.budget() {
                    b = b.with_wait_budget(budget);
                }
                AnyIncidentSource::Jsm(b.build()?)
            }
        })
    }

    /// JSM: credentials from `settings` (else the environment), and where the
    /// alerts are: `base_url`, else `jsm_cloud_id`, else `JSM_CLOUD_ID`, else
    /// `jsm_site`, else `JSM_SITE` (none: `build` says which to set).
    fn jsm_builder(self, settings: &IncidentSettings) -> Result<JsmBuilder, SourceError> {
        let lookup = |name: &str| settings.var(name);
        let b = match (&settings.email, &settings.token) {
            (Some(email), Some(token)) => JsmBuilder::new(email.clone(), token.expose()),
            (None, None) => JsmBuilder::from_lookup(lookup)?,
            (Some(_), None) => {
                return Err(config_error(
                    self,
                    "email needs api_token (an Atlassian API token)",
                ));
            }
            (None, Some(_)) => {
                return Err(config_error(
                    self,
                    "api_token needs email (the Atlassian account's email is the user name)",
                ));
            }
        };
        Ok(if let Some(url) = &settings.base_url {
            b.with_base_url(url.clone())
        } else if let Some(id) = settings
            .jsm_cloud_id
            .clone()
            .or_else(|| lookup("JSM_CLOUD_ID"))
        {
            b.with_cloud_id(id)
        } else if let Some(site) = settings.jsm_site.clone().or_else(|| lookup("JSM_SITE")) {
            b.with_site(site)
        } else {
            b
        })
    }
}

fn config_error(tool: IncidentTool, message: &str) -> SourceError {
    SourceError::Config {
        source_name: tool.name().into(),
        message: format!("{}: {message}", tool.name()),
    }
}

impl fmt::Display for IncidentTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not an [`IncidentTool`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown incident tool {0:?}: use pagerduty, opsgenie, incidentio or jsm")]
pub struct UnknownIncidentTool(pub String);

impl std::str::FromStr for IncidentTool {
    type Err = UnknownIncidentTool;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownIncidentTool(s.to_string()))
    }
}

/// Reads an environment variable by name (tests and embedders pass their own).
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Everything that shapes an incident source besides its tool; the default
/// reads the credentials from the process environment. Fields a tool does not
/// have are ignored by it (`pagerduty_service_ids` by Opsgenie, ...).
#[derive(Clone, Default)]
pub struct IncidentSettings {
    /// The API token (PagerDuty, Opsgenie, incident.io; for JSM the Atlassian
    /// API token, with `email`). `None`: from the environment.
    pub token: Option<Secret>,
    /// JSM: the Atlassian account email that goes with `token`.
    pub email: Option<String>,
    /// Where credentials and `JSM_CLOUD_ID` / `JSM_SITE` are read when not
    /// given here. `None`: the process environment.
    pub env: Option<EnvLookup>,
    /// The API base URL (the test seam; for JSM, up to and including the cloud id).
    pub base_url: Option<String>,
    /// Severity overrides and the service/team/tag → repository mapping.
    pub normalization: Normalization,
    /// PagerDuty: only incidents of these service ids (default: all).
    pub pagerduty_service_ids: Vec<String>,
    /// Opsgenie: the region (default US).
    pub opsgenie_region: OpsgenieRegion,
    /// Opsgenie: alerts (default) or incidents.
    pub opsgenie_api: OpsgenieApi,
    /// JSM: the site's cloud id.
    pub jsm_cloud_id: Option<String>,
    /// JSM: the site (`acme.atlassian.net`), whose cloud id is discovered.
    pub jsm_site: Option<String>,
    /// The most time the source may wait on rate limits and retries.
    pub max_wait: Option<std::time::Duration>,
    /// A wait budget shared with other sources of a run (wins over `max_wait`).
    pub wait_budget: Option<WaitBudget>,
}

impl IncidentSettings {
    /// These settings with an API token.
    #[must_use]
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Secret::new(token.into()));
        self
    }

    /// These settings reading the environment through `lookup`.
    #[must_use]
    pub fn with_env(
        mut self,
        lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.env = Some(Arc::new(lookup));
        self
    }

    /// A variable from `env` (else the process environment), trimmed; empty is unset.
    fn var(&self, name: &str) -> Option<String> {
        match &self.env {
            Some(lookup) => lookup(name),
            None => std::env::var(name).ok(),
        }
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
    }

    /// The wait budget: the shared one, else a new one of `max_wait`.
    fn budget(&self) -> Option<WaitBudget> {
        self.wait_budget
            .clone()
            .or_else(|| self.max_wait.map(WaitBudget::new))
    }

    /// The token of a one-key tool: given, else its variable.
    fn token(&self, tool: IncidentTool) -> Result<Secret, SourceError> {
        if let Some(token) = &self.token {
            return Ok(token.clone());
        }
        let var = tool.token_var();
        self.var(var)
            .map(Secret::new)
            .ok_or_else(|| SourceError::Config {
                source_name: tool.name().into(),
                message: format!(
                    "{var} is not set: set it to a {} API token, or pass a token",
                    tool.name()
                ),
            })
    }
}

impl fmt::Debug for IncidentSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the token: only whether one was given.
        f.debug_struct("IncidentSettings")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("email", &self.email)
            .field("base_url", &self.base_url)
            .field("normalization", &self.normalization)
            .field("pagerduty_service_ids", &self.pagerduty_service_ids)
            .field("opsgenie_region", &self.opsgenie_region)
            .field("opsgenie_api", &self.opsgenie_api)
            .field("jsm_cloud_id", &self.jsm_cloud_id)
            .field("jsm_site", &self.jsm_site)
            .field("max_wait", &self.max_wait)
            .finish_non_exhaustive()
    }
}

/// Any of the incident sources, as [`IncidentTool::build`] returns it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AnyIncidentSource {
    /// PagerDuty.
    PagerDuty(PagerDuty),
    /// Opsgenie.
    Opsgenie(Opsgenie),
    /// incident.io.
    IncidentIo(IncidentIo),
    /// JSM Operations (its wire notes say what the API left out).
    Jsm(Jsm),
}

impl AnyIncidentSource {
    fn inner(&self) -> &dyn IncidentSource {
        match self {
            Self::PagerDuty(s) => s,
            Self::Opsgenie(s) => s,
            Self::IncidentIo(s) => s,
            Self::Jsm(s) => s,
        }
    }
}

#[async_trait]
impl IncidentSource for AnyIncidentSource {
    fn name(&self) -> &str {
        self.inner().name()
    }

    async fn incidents(&self, request: &IncidentRequest) -> Result<Vec<Incident>, SourceError> {
        self.inner().incidents(request).await
    }

    async fn incidents_with_notes(
        &self,
        request: &IncidentRequest,
    ) -> Result<IncidentBatch, SourceError> {
        self.inner().incidents_with_notes(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> IncidentSettings {
        IncidentSettings::default().with_env(move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_string())
        })
    }

    #[test]
    fn names_round_trip() {
        for tool in IncidentTool::ALL {
            assert_eq!(tool.name().parse::<IncidentTool>(), Ok(tool));
            assert_eq!(tool.to_string(), tool.name());
        }
        assert_eq!(
            " PagerDuty ".parse::<IncidentTool>(),
            Ok(IncidentTool::Pagerduty)
        );
        assert!("servicenow".parse::<IncidentTool>().is_err());
    }

    #[test]
    fn every_tool_builds_from_the_environment_or_says_which_variable() {
        for tool in [
            IncidentTool::Pagerduty,
            IncidentTool::Opsgenie,
            IncidentTool::Incidentio,
        ] {
            let e = tool.build(&env(&[])).map(|_| ()).map_err(|e| e.to_string());
            assert!(
                e.as_ref().is_err_and(|m| m.contains(tool.token_var())),
                "{tool}: {e:?}"
            );
            assert!(tool.check_credentials(&env(&[])).is_err());
        }
        let s = env(&[
            ("PAGERDUTY_TOKEN", "pd"),
            ("OPSGENIE_API_KEY", "og"),
            ("INCIDENTIO_API_KEY", "io"),
            ("ATLASSIAN_EMAIL", "me@example.com"),
            ("ATLASSIAN_API_TOKEN", "at"),
            ("JSM_CLOUD_ID", "c-1"),
        ]);
        for tool in IncidentTool::ALL {
            assert!(tool.check_credentials(&s).is_ok(), "{tool}");
            let built = tool.build(&s).map_err(|e| e.to_string());
            assert_eq!(
                built.map(|b| b.name().to_string()),
                Ok(tool.name().to_string())
            );
        }
    }

    #[test]
    fn jsm_target_order_and_half_credentials() {
        let s = IncidentSettings {
            email: Some("me@example.com".into()),
            ..IncidentSettings::default()
        };
        let e = IncidentTool::Jsm
            .build(&s)
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(e.is_err_and(|m| m.contains("api_token")));
        let mut s = env(&[
            ("ATLASSIAN_EMAIL", "me@example.com"),
            ("ATLASSIAN_API_TOKEN", "at"),
            ("JSM_SITE", "env.atlassian.net"),
        ]);
        s.jsm_cloud_id = Some("from-settings".into());
        let b = IncidentTool::Jsm.jsm_builder(&s).map(|b| format!("{b:?}"));
        assert!(
            b.as_ref().is_ok_and(|d| d.contains("from-settings")),
            "{b:?}"
        );
        assert!(!b.is_ok_and(|d| d.contains("\"at\"")), "no token in Debug");
    }

    #[test]
    fn debug_never_shows_the_token() {
        let s = IncidentSettings::default().with_token("super-secret-token");
        assert!(!format!("{s:?}").contains("super-secret-token"));
    }
}
