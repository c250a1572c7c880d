//! Opsgenie: alerts (`GET /v2/alerts`, every plan) or incidents
//! (`GET /v1/incidents/`, Standard and Enterprise plans).
//!
//! - Auth: `Authorization: GenieKey <key>` (env `OPSGENIE_API_KEY`); US
//!   (`https://api.opsgenie.com`) or EU (`https://api.eu.opsgenie.com`) region.
//! - Filters go into Opsgenie's search `query`: `createdAt` bounds in epoch
//!   milliseconds, priorities, tags, teams, plus any query of your own.
//!   Range operators on `createdAt` are not confirmed by Opsgenie's docs, so
//!   the range (and the priority and tag filters) are applied again here.
//! - Pagination: `offset`/`limit`, following `paging.next`.
//! - Times: an alert opens at `createdAt` and closes at `createdAt +
//!   report.closeTime` ms (else `updatedAt`); an incident opens at
//!   `impactStartDate` (else `createdAt`) and resolves at `impactEndDate`
//!   (else `updatedAt`).
//! - Severity: `priority` `P1`..`P5`, overridable by name.
//!
//! Opsgenie reached end of sale on 2025-06-04; its REST API works until
//! 2027-04-05 (successor: Jira Service Management).

pub(crate) mod convert;
pub(crate) mod wire;

use crate::intake::Intake;
use crate::normalization::{Normalization, RepositoryMapping};
use crate::transport::{Transport, convert as http_error, require_token, token_from_env};
use async_trait::async_trait;
use chrono::Duration;
use dora_core::{Incident, IncidentBatch, IncidentRequest, IncidentSource, Severity, SourceError};
use dora_http::{Auth, HttpClient, HttpStats, Pagination, RetryPolicy, Secret};
use std::fmt;

const SOURCE: &str = convert::SOURCE;
const ENV: &str = "OPSGENIE_API_KEY";

/// Which Opsgenie listing to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OpsgenieApi {
    /// `GET /v2/alerts`: every plan has it.
    #[default]
    Alerts,
    /// `GET /v1/incidents/`: Standard and Enterprise plans only.
    Incidents,
}

/// Opsgenie's service regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OpsgenieRegion {
    /// `https://api.opsgenie.com`.
    #[default]
    Us,
    /// `https://api.eu.opsgenie.com`.
    Eu,
}

impl OpsgenieRegion {
    /// The region's API root.
    pub fn base_url(self) -> &'static str {
        match self {
            Self::Us => "https://api.opsgenie.com",
            Self::Eu => "https://api.eu.opsgenie.com",
        }
    }
}

/// Builds an [`Opsgenie`] source.
///
/// ```
/// use dora_incidents::{OpsgenieBuilder, OpsgenieRegion};
/// let source = OpsgenieBuilder::new("example-genie-key")
///     .with_region(OpsgenieRegion::Eu)
///     .with_priorities(["P1", "P2"])
///     .with_teams(["payments"])
///     .build()?;
/// assert!(!format!("{source:?}").contains("example-genie-key"));
/// # Ok::<(), dora_core::SourceError>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct OpsgenieBuilder {
    token: Secret,
    transport: Transport,
    api: OpsgenieApi,
    norm: Normalization,
    priorities: Vec<String>,
    tags: Vec<String>,
    teams: Vec<String>,
    query: Option<String>,
    service_tag_prefix: Option<String>,
    page_size: usize,
}

impl fmt::Debug for OpsgenieBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpsgenieBuilder")
            .field("token", &self.token)
            .field("base_url", &self.transport.base_url)
            .field("api", &self.api)
            .field("priorities", &self.priorities)
            .field("tags", &self.tags)
            .field("teams", &self.teams)
            .field("query", &self.query)
            .finish_non_exhaustive()
    }
}

impl OpsgenieBuilder {
    /// A builder with an API key (sent as `GenieKey <key>`), reading alerts in the US region.
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: Secret::new(token.into()),
            transport: Transport::new(OpsgenieRegion::Us.base_url()),
            api: OpsgenieApi::Alerts,
            norm: Normalization::default(),
            priorities: Vec::new(),
            tags: Vec::new(),
            teams: Vec::new(),
            query: None,
            service_tag_prefix: Some("service:".into()),
            page_size: 100,
        }
    }

    /// A builder with the key from `OPSGENIE_API_KEY`.
    pub fn from_env() -> Result<Self, SourceError> {
        let token = token_from_env(SOURCE, ENV)?;
        Ok(Self::new(token.expose()))
    }

    /// The region (sets the base URL).
    pub fn with_region(mut self, region: OpsgenieRegion) -> Self {
        self.transport.base_url = region.base_url().into();
        self
    }

    /// The API root (overrides the region; a local server in tests).
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.transport.base_url = url.into();
        self
    }

    /// Read alerts or incidents.
    pub fn with_api(mut self, api: OpsgenieApi) -> Self {
        self.api = api;
        self
    }

    /// Read the Incidents API (Standard/Enterprise plans) instead of alerts.
    pub fn with_incidents_api(self) -> Self {
        self.with_api(OpsgenieApi::Incidents)
    }

    /// Only these priorities (`P1`..`P5`). By default all: severity is
    /// filtered by the core, not here.
    pub fn with_priorities<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        priorities: I,
    ) -> Self {
        self.priorities = priorities.into_iter().map(Into::into).collect();
        self
    }

    /// Only alerts/incidents carrying any of these tags.
    pub fn with_tags<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tags: I) -> Self {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Only alerts/incidents of any of these teams (names, as the search query takes them).
    pub fn with_teams<I: IntoIterator<Item = S>, S: Into<String>>(mut self, teams: I) -> Self {
        self.teams = teams.into_iter().map(Into::into).collect();
        self
    }

    /// An extra search query, ANDed with the others (e.g. `source:Datadog`).
    pub fn with_query(mut self, query: impl Into<String>) -> Self {
        self.query = Some(query.into());
        self
    }

    /// The tag prefix naming the service (default `service:`, so a tag
    /// `service:checkout-web` sets the service); `None` turns it off.
    pub fn with_service_tag_prefix(mut self, prefix: Option<String>) -> Self {
        self.service_tag_prefix = prefix;
        self
    }

    /// Items per page (1..=100, default 100).
    pub fn with_page_size(mut self, n: usize) -> Self {
        self.page_size = n.clamp(1, 100);
        self
    }

    /// Map a raw priority to a severity (wins over `P1`..`P5`).
    pub fn with_severity_override(mut self, raw: impl Into<String>, severity: Severity) -> Self {
        self.norm.severities.insert(raw, severity);
        self
    }

    /// Services (from tags / impacted services), teams (ids) and tags → repositories.
    pub fn with_repository_mapping(mut self, mapping: RepositoryMapping) -> Self {
        self.norm.repositories = mapping;
        self
    }

    /// Replace all normalisation settings at once.
    pub fn with_normalization(mut self, norm: Normalization) -> Self {
        self.norm = norm;
        self
    }

    /// Retry policy for 5xx, 429 and transport errors (default: dora-http's).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.transport.retry = Some(policy);
        self
    }

    /// Per-request time-out (default: dora-http's, 30 s).
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.transport.timeout = Some(timeout);
        self
    }

    /// The largest response body accepted, in bytes after decompression
    /// (default: dora-http's, 64 MiB); a larger one fails the listing with a
    /// message naming the endpoint and the limit.
    pub fn with_max_response_size(mut self, bytes: u64) -> Self {
        self.transport.max_response_size = Some(bytes);
        self
    }

    /// The most time all waits together may take (429 waits, 5xx and
    /// transport-error backoff; default: dora-http's, 10 minutes). A wait
    /// that would go past it fails the listing with a message saying so.
    pub fn with_max_wait(self, limit: std::time::Duration) -> Self {
        self.with_wait_budget(dora_http::WaitBudget::new(limit))
    }

    /// Charge waits to `budget`, shared with other sources (one budget per run).
    pub fn with_wait_budget(mut self, budget: dora_http::WaitBudget) -> Self {
        self.transport.wait_budget = Some(budget);
        self
    }

    /// Check the settings and build the source.
    pub fn build(self) -> Result<Opsgenie, SourceError> {
        require_token(SOURCE, &self.token, ENV)?;
        if let Some(bad) = self
            .priorities
            .iter()
            .find(|p| Severity::parse(p).is_none())
        {
            return Err(SourceError::Config {
                source_name: SOURCE.into(),
                message: format!("unknown priority `{bad}`; Opsgenie priorities are P1..P5"),
            });
        }
        let client = self
            .transport
            .client(SOURCE, Auth::genie_key(&self.token), &[])?;
        Ok(Opsgenie {
            client,
            api: self.api,
            priorities: self.priorities,
            tags: self.tags,
            teams: self.teams,
            query: self.query,
            page_size: self.page_size,
            options: convert::Options {
                norm: self.norm,
                service_tag_prefix: self.service_tag_prefix,
            },
        })
    }
}

/// Opsgenie alerts or incidents as a [`dora_core::IncidentSource`]. Made by [`OpsgenieBuilder`].
#[derive(Debug, Clone)]
pub struct Opsgenie {
    client: HttpClient,
    api: OpsgenieApi,
    priorities: Vec<String>,
    tags: Vec<String>,
    teams: Vec<String>,
    query: Option<String>,
    page_size: usize,
    options: convert::Options,
}

/// Quote a search value unless it is a plain word.
fn quote(value: &str) -> String {
    if !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
    {
        value.to_string()
    } else {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

fn any_of(field: &str, values: &[String]) -> Option<String> {
    match values {
        [] => None,
        [one] => Some(format!("{field}:{}", quote(one))),
        many => Some(format!(
            "({})",
            many.iter()
                .map(|v| format!("{field}:{}", quote(v)))
                .collect::<Vec<_>>()
                .join(" OR ")
        )),
    }
}

impl Opsgenie {
    /// A builder with an API key.
    pub fn builder(token: impl Into<String>) -> OpsgenieBuilder {
        OpsgenieBuilder::new(token)
    }

    /// Requests made so far, per endpoint (`alerts` or `incidents`).
    pub fn stats(&self) -> HttpStats {
        self.client.stats()
    }

    /// The search query for `[start_ms, end_ms)`.
    fn search_query(&self, start_ms: i64, end_ms: i64) -> String {
        let mut terms = vec![
            format!("createdAt>={start_ms}"),
            format!("createdAt<{end_ms}"),
        ];
        terms.extend(any_of("priority", &self.priorities));
        terms.extend(any_of("tag", &self.tags));
        terms.extend(any_of("teams", &self.teams));
        if let Some(q) = self
            .query
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
        {
            terms.push(format!("({q})"));
        }
        terms.join(" AND ")
    }

    fn keep(&self, priority: Option<&str>, tags: &[String]) -> bool {
        let priority_ok = self.priorities.is_empty()
            || priority.is_some_and(|p| {
                self.priorities
                    .iter()
                    .any(|want| want.eq_ignore_ascii_case(p.trim()))
            });
        let tags_ok =
            self.tags.is_empty() || tags.iter().any(|t| self.tags.iter().any(|want| want == t));
        priority_ok && tags_ok
    }

    /// Every item of a listing, as raw JSON (decoded by [`Intake`]).
    async fn list(
        &self,
        endpoint: &str,
        path: &[&str],
        query: String,
    ) -> Result<Vec<serde_json::Value>, SourceError> {
        let first = self
            .client
            .request(endpoint, path)
            .query("query", query)
            .query("limit", self.page_size.to_string())
            .query("offset", "0")
            .query("sort", "createdAt")
            .query("order", "asc");
        self.client
            .pages::<serde_json::Value>(first, Pagination::opsgenie())
            .collect_all()
            .await
            .map_err(|e| http_error(SOURCE, ENV, e))
    }
}

#[async_trait]
impl IncidentSource for Opsgenie {
    fn name(&self) -> &str {
        SOURCE
    }

    /// Alerts (or incidents) opened in `request.range`, in every status.
    /// Items that do not decode are left out here;
    /// [`IncidentSource::incidents_with_notes`] reports them.
    async fn incidents(&self, request: &IncidentRequest) -> Result<Vec<Incident>, SourceError> {
        Ok(self.incidents_with_notes(request).await?.incidents)
    }

    /// The alerts (or incidents), each id once (a copy repeated across pages
    /// because the listing shifted is de-duplicated, the last copy winning),
    /// the listed items that could not be read as
    /// [`dora_core::SkippedEvent`]s (`missing_id`, `missing_timestamp`,
    /// `invalid_timestamp`, `missing_field`, `invalid_field`,
    /// `not_an_object`), and whether a service/team/tag → repository mapping
    /// is configured.
    async fn incidents_with_notes(
        &self,
        request: &IncidentRequest,
    ) -> Result<IncidentBatch, SourceError> {
        let range = request.range;
        let service_mapping = !self.options.norm.repositories.is_empty();
        if crate::transport::is_empty(&range) {
            return Ok(IncidentBatch {
                service_mapping,
                ..IncidentBatch::default()
            });
        }
        let start_ms = range.start.timestamp_millis();
        let mut out = Vec::new();
        let skipped = match self.api {
            OpsgenieApi::Alerts => {
                let end_ms = range.end.timestamp_millis();
                let raw = self
                    .list(
                        "alerts",
                        &["v2", "alerts"],
                        self.search_query(start_ms, end_ms),
                    )
                    .await?;
                let mut intake = Intake::<wire::Alert>::new(SOURCE);
                intake.extend(raw);
                let (alerts, skipped) = intake.finish();
                for alert in alerts {
                    if !self.keep(alert.priority.as_deref(), &alert.tags) {
                        continue;
                    }
                    let incident = convert::alert_to_incident(alert, &self.options);
                    if range.contains(incident.opened_at) {
                        out.push(incident);
                    }
                }
                skipped
            }
            OpsgenieApi::Incidents => {
                // An incident opens when its impact started, which precedes its
                // creation: also ask for incidents created up to a day after the range.
                let end_ms = (range.end + Duration::days(1)).timestamp_millis();
                let path = ["v1", "incidents", ""];
                let raw = self
                    .list("incidents", &path, self.search_query(start_ms, end_ms))
                    .await?;
                let mut intake = Intake::<wire::Incident>::new(SOURCE);
                intake.extend(raw);
                let (incidents, skipped) = intake.finish();
                for incident in incidents {
                    if !self.keep(incident.priority.as_deref(), &incident.tags) {
                        continue;
                    }
                    let incident = convert::incident_to_incident(incident, &self.options);
                    if range.contains(incident.opened_at) {
                        out.push(incident);
                    }
                }
                skipped
            }
        };
        if !skipped.is_empty() {
            tracing::warn!(
                skipped = skipped.len(),
                "opsgenie: some listed items could not be read"
            );
        }
        Ok(IncidentBatch {
            incidents: out,
            skipped,
            service_mapping,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_combines_filters() {
        let s = OpsgenieBuilder::new("k")
            .with_priorities(["P1", "P2"])
            .with_tags(["env:prod"])
            .with_teams(["Platform Team"])
            .with_query("source:Datadog")
            .build()
            .expect("valid");
        assert_eq!(
            s.search_query(1, 2),
            "createdAt>=1 AND createdAt<2 AND (priority:P1 OR priority:P2) AND tag:\"env:prod\" AND teams:\"Platform Team\" AND (source:Datadog)"
        );
        assert!(s.keep(Some("p1"), &["env:prod".into()]));
        assert!(!s.keep(Some("P3"), &["env:prod".into()]));
        assert!(!s.keep(Some("P1"), &["env:dev".into()]));
        let plain = OpsgenieBuilder::new("k").build().expect("valid");
        assert_eq!(plain.search_query(5, 9), "createdAt>=5 AND createdAt<9");
        assert!(plain.keep(None, &[]));
    }

    #[test]
    fn builder_validates_regions_and_redacts() {
        assert!(OpsgenieBuilder::new(" ").build().is_err());
        assert!(
            OpsgenieBuilder::new("k")
                .with_priorities(["urgent"])
                .build()
                .is_err()
        );
        let eu = OpsgenieBuilder::new("genie-secret-1").with_region(OpsgenieRegion::Eu);
        assert!(format!("{eu:?}").contains("api.eu.opsgenie.com"));
        assert!(!format!("{eu:?}").contains("genie-secret-1"));
        let s = eu.build().expect("valid");
        assert!(!format!("{s:?}").contains("genie-secret-1"));
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
    }
}
