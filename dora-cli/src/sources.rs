//! Building the Bitbucket and incident sources from settings and environment.

use crate::failure::Failure;
use dora_bitbucket::{Bitbucket, SyncStats};
use dora_cli::progress::Progress;
use dora_cli::settings::IncidentTool;
use dora_core::{
    CollectRequest, Dataset, DeliverySource, Incident, IncidentBatch, IncidentRequest,
    IncidentSource, SourceError,
};
use dora_incidents::{AnyIncidentSource, IncidentSettings, Jsm};
use std::sync::{Arc, Mutex};

/// Where to collect from.
#[derive(Debug, Clone)]
pub struct Plan {
    pub workspace: String,
    pub repos: Vec<String>,
    pub bitbucket_url: Option<String>,
    /// The commit-walk cap (pages per repository), when set.
    pub max_commit_pages: Option<usize>,
    /// The run's total wait budget (default dora-http's, 10 minutes).
    pub max_wait: Option<std::time::Duration>,
    pub incidents: Option<IncidentTool>,
    /// Everything the incident tool's source is built from
    /// ([`IncidentTool::build`]).
    pub incident: IncidentSettings,
}

/// Reads a credential by environment-variable name.
type Lookup = Box<dyn Fn(&str) -> Option<String>>;

/// Credentials, read only from the environment.
pub struct Credentials {
    lookup: Lookup,
    /// The incident tool's token, when given here (the demo); else the tool
    /// reads the environment through `lookup`.
    incident_token: Option<String>,
}

const JSM_VARS: &str = "ATLASSIAN_EMAIL + ATLASSIAN_API_TOKEN (or BITBUCKET_EMAIL + BITBUCKET_API_TOKEN): an Atlassian account email and API token";

use dora_bitbucket::CREDENTIAL_VARS as BITBUCKET_VARS;

fn get(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

impl Credentials {
    /// Read and check every credential the plan needs; report all that are missing.
    pub fn from_env(plan: &Plan) -> Result<Self, Failure> {
        let mut missing = Vec::new();
        if let Err(message) = dora_bitbucket::credentials_from_env(get) {
            missing.push(message);
        }
        if let Some(tool) = plan.incidents
            && let Err(e) = tool.check_credentials(&plan.incident)
        {
            missing.push(match (tool, &e) {
                (IncidentTool::Jsm, SourceError::Config { message, .. }) => {
                    format!("--incidents jsm: {message}")
                }
                (IncidentTool::Jsm, other) => format!("--incidents jsm: {other}"),
                _ => format!(
                    "--incidents {} needs {} in the environment",
                    tool.name(),
                    tool.token_var()
                ),
            });
        }
        if !missing.is_empty() {
            return Err(Failure::auth(format!(
                "{}\n  hint: credentials are read only from environment variables, never from flags or dora.toml",
                missing.join("\n  ")
            )));
        }
        Ok(Self {
            lookup: Box::new(get),
            incident_token: None,
        })
    }

    /// Dummy credentials for the demo server.
    pub fn demo() -> Self {
        Self {
            lookup: Box::new(|name| match name {
                "BITBUCKET_EMAIL" => Some("demo@example.com".to_string()),
                "BITBUCKET_API_TOKEN" => Some("demo-api-token".to_string()),
                _ => None,
            }),
            incident_token: Some("demo-pagerduty-token".to_string()),
        }
    }
}

/// What to tell a user whose credentials were rejected.
pub fn auth_hint(source: &str) -> String {
    match source {
        "bitbucket" => format!(
            "check {BITBUCKET_VARS}; the token needs read access to pull requests, repositories and pipelines. App passwords were removed by Atlassian on 2026-07-28: replace one with an Atlassian API token"
        ),
        "pagerduty" => "check PAGERDUTY_TOKEN (a PagerDuty REST API key)".to_string(),
        "opsgenie" => {
            "check OPSGENIE_API_KEY (an Opsgenie API integration key with read access)".to_string()
        }
        "incidentio" | "incident.io" => {
            "check INCIDENTIO_API_KEY (an incident.io API key that can view incidents)".to_string()
        }
        "jsm" => format!(
            "check {JSM_VARS} of a real user who can see every alert (a scoped token needs {}); Atlassian service accounts cannot call the JSM Operations API",
            dora_incidents::JSM_ALERTS_SCOPE
        ),
        _ => "check the credentials in the environment".to_string(),
    }
}

/// Bitbucket, keeping the stats of its last collection.
struct BitbucketSource {
    inner: Arc<Bitbucket>,
    stats: Arc<Mutex<Option<SyncStats>>>,
}

#[async_trait::async_trait]
impl DeliverySource for BitbucketSource {
    fn name(&self) -> &str {
        "bitbucket"
    }

    async fn collect(&self, request: &CollectRequest) -> Result<Dataset, SourceError> {
        let (data, stats) = self.inner.collect_with_stats(request).await?;
        if let Ok(mut s) = self.stats.lock() {
            *s = Some(stats);
        }
        Ok(data)
    }
}

/// An incident source, remembering how many incidents it returned.
struct Counted {
    inner: Box<dyn IncidentSource>,
    count: Arc<Mutex<Option<usize>>>,
}

#[async_trait::async_trait]
impl IncidentSource for Counted {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn incidents(&self, request: &IncidentRequest) -> Result<Vec<Incident>, SourceError> {
        Ok(self.incidents_with_notes(request).await?.incidents)
    }

    async fn incidents_with_notes(
        &self,
        request: &IncidentRequest,
    ) -> Result<IncidentBatch, SourceError> {
        let batch = self.inner.incidents_with_notes(request).await?;
        if let Ok(mut c) = self.count.lock() {
            *c = Some(batch.incidents.len());
        }
        Ok(batch)
    }
}

/// The sources of one run.
pub struct Built {
    pub delivery: Box<dyn DeliverySource>,
    /// The same Bitbucket source, for incremental sync into a store.
    pub bitbucket: Arc<Bitbucket>,
    pub incidents: Option<Box<dyn IncidentSource>>,
    stats: Arc<Mutex<Option<SyncStats>>>,
    incident_count: Arc<Mutex<Option<usize>>>,
    incident_tool: Option<IncidentTool>,
    /// The JSM source (shares its wire notes with the one collecting).
    jsm: Option<Jsm>,
}

impl Built {
    /// One line on what collection did and cost.
    pub fn summary(&self) -> String {
        let mut s = match self.stats.lock().ok().and_then(|s| s.clone()) {
            Some(st) => {
                let waits = st.http.rate_limit_waits.len();
                format!(
                    "bitbucket: {} repositories, {} pull requests, {} deployments, {} commits in {} requests{}",
                    st.repositories,
                    st.pull_requests,
                    st.deployments,
                    st.commits,
                    st.total_requests(),
                    if waits > 0 {
                        format!(
                            " ({waits} rate-limit waits, {:.0}s)",
                            st.http.total_rate_limit_wait().as_secs_f64()
                        )
                    } else {
                        String::new()
                    }
                )
            }
            None => "bitbucket: nothing collected".to_string(),
        };
        if let (Some(tool), Some(n)) = (
            self.incident_tool,
            self.incident_count.lock().ok().and_then(|c| *c),
        ) {
            s.push_str(&format!(" · {}: {n} incidents", tool.name()));
            if let Some(jsm) = &self.jsm {
                s.push_str(&format!(" ({})", jsm.wire_notes().summary()));
            }
        }
        s
    }
}

/// Build the sources for `plan`.
pub fn build(
    plan: &Plan,
    credentials: &Credentials,
    progress: &Progress,
) -> Result<Built, Failure> {
    let hook = progress.hook();
    // One wait budget for the whole run, every source together.
    let budget = dora_http::WaitBudget::new(
        plan.max_wait
            .unwrap_or(dora_http::WaitBudget::DEFAULT_LIMIT),
    );
    let mut builder = Bitbucket::builder(plan.workspace.clone())
        .with_wait_budget(budget.clone())
        .with_repos(plan.repos.clone())
        .with_credentials_from(|name| (credentials.lookup)(name))
        .with_http(move |http| http.on_progress(move |e| hook(e)));
    if let Some(url) = &plan.bitbucket_url {
        builder = builder.with_base_url(url.clone());
    }
    if let Some(pages) = plan.max_commit_pages {
        builder = builder.with_max_commit_pages(pages);
    }
    let bitbucket = Arc::new(builder.build().map_err(Failure::source)?);
    let stats = Arc::new(Mutex::new(None));
    let incident_count = Arc::new(Mutex::new(None));
    let mut jsm_source = None;
    let incidents: Option<Box<dyn IncidentSource>> = match plan.incidents {
        Some(tool) => {
            let mut settings = plan.incident.clone();
            settings.wait_budget = Some(budget.clone());
            if let Some(token) = &credentials.incident_token {
                settings = settings.with_token(token.clone());
            }
            let source = tool.build(&settings).map_err(Failure::source)?;
            if let AnyIncidentSource::Jsm(jsm) = &source {
                jsm_source = Some(jsm.clone());
            }
            Some(Box::new(Counted {
                inner: Box::new(source),
                count: incident_count.clone(),
            }))
        }
        None => None,
    };
    Ok(Built {
        delivery: Box::new(BitbucketSource {
            inner: bitbucket.clone(),
            stats: stats.clone(),
        }),
        bitbucket,
        incidents,
        stats,
        incident_count,
        incident_tool: plan.incidents,
        jsm: jsm_source,
    })
}
