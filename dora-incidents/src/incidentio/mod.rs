//! incident.io: `GET /v2/incidents` with `GET /v1/severities`.
//!
//! - Auth: `Authorization: Bearer <key>` (env `INCIDENTIO_API_KEY`).
//! - Pagination: cursor `pagination_meta.after` sent back as `?after=`.
//! - Range: `created_at[gte]`/`[lte]` take dates (full timestamps are
//!   unconfirmed), so the server is asked for whole days — including the day
//!   after the range, since an incident is usually declared after its impact
//!   started — and the range is applied exactly here.
//! - Severity by rank among the organisation's severities: the highest rank is
//!   P1, the next P2, and so on (P5 and below share P5); overridable by name.
//! - Status category: `triage` → open, `live`/`paused` → acknowledged,
//!   `learning`/`closed` → resolved; `declined`, `merged` and `canceled` are not
//!   incidents and are dropped (or kept as `Dismissed` on request).
//! - Times: opened at the "Impact started" timestamp (else "Reported at", else
//!   `created_at`); resolved at "Resolved at", else opened + the "Lasted"
//!   duration metric. Names are configurable, matched case-insensitively.

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
const ENV: &str = "INCIDENTIO_API_KEY";

/// Builds an [`IncidentIo`] source.
///
/// ```
/// use dora_incidents::IncidentIoBuilder;
/// use dora_core::Severity;
/// let source = IncidentIoBuilder::new("example-incidentio-key")
///     .with_severity_override("Minor", Severity::P4)
///     .with_resolved_timestamps(["Resolved at", "Fixed at"])
///     .build()?;
/// assert!(!format!("{source:?}").contains("example-incidentio-key"));
/// # Ok::<(), dora_core::SourceError>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct IncidentIoBuilder {
    token: Secret,
    transport: Transport,
    options: convert::Options,
    page_size: usize,
}

impl fmt::Debug for IncidentIoBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IncidentIoBuilder")
            .field("token", &self.token)
            .field("base_url", &self.transport.base_url)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl IncidentIoBuilder {
    /// The API root.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.incident.io";

    /// A builder with an API key (sent as a bearer token).
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: Secret::new(token.into()),
            transport: Transport::new(Self::DEFAULT_BASE_URL),
            options: convert::Options::default(),
            page_size: 250,
        }
    }

    /// A builder with the key from `INCIDENTIO_API_KEY`.
    pub fn from_env() -> Result<Self, SourceError> {
        let token = token_from_env(SOURCE, ENV)?;
        Ok(Self::new(token.expose()))
    }

    /// The API root (default `https://api.incident.io`; a local server in tests).
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.transport.base_url = url.into();
        self
    }

    /// Incidents per page (1..=250, default 250: the documented maximum).
    pub fn with_page_size(mut self, n: usize) -> Self {
        self.page_size = n.clamp(1, 250);
        self
    }

    /// Timestamp names that open an incident, first set one wins (default
    /// "Impact started", "Reported at"; else `created_at`).
    pub fn with_opened_timestamps<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        names: I,
    ) -> Self {
        self.options.opened_timestamps = names.into_iter().map(Into::into).collect();
        self
    }

    /// Timestamp names that resolve an incident, first set one wins (default "Resolved at").
    pub fn with_resolved_timestamps<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        names: I,
    ) -> Self {
        self.options.resolved_timestamps = names.into_iter().map(Into::into).collect();
        self
    }

    /// The duration metric measuring opened → resolved (default "Lasted").
    pub fn with_duration_metric(mut self, name: impl Into<String>) -> Self {
        self.options.duration_metric = name.into();
        self
    }

    /// The custom field naming affected services (default "Affected services").
    pub fn with_service_field(mut self, name: Option<String>) -> Self {
        self.options.service_field = name;
        self
    }

    /// Return declined, merged and canceled incidents as `Dismissed` (default: drop them).
    pub fn with_dismissed(mut self, include: bool) -> Self {
        self.options.include_dismissed = include;
        self
    }

    /// Map a severity name to a severity (wins over the rank).
    pub fn with_severity_override(mut self, raw: impl Into<String>, severity: Severity) -> Self {
        self.options.norm.severities.insert(raw, severity);
        self
    }

    /// Services (the service custom field), and tags (every custom-field value
    /// and the incident type) → repositories.
    pub fn with_repository_mapping(mut self, mapping: RepositoryMapping) -> Self {
        self.options.norm.repositories = mapping;
        self
    }

    /// Replace all normalisation settings at once.
    pub fn with_normalization(mut self, norm: Normalization) -> Self {
        self.options.norm = norm;
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
    pub fn build(self) -> Result<IncidentIo, SourceError> {
        require_token(SOURCE, &self.token, ENV)?;
        let client = self
            .transport
            .client(SOURCE, Auth::bearer(self.token.clone()), &[])?;
        Ok(IncidentIo {
            client,
            options: self.options,
            page_size: self.page_size,
        })
    }
}

/// incident.io incidents as a [`dora_core::IncidentSource`]. Made by [`IncidentIoBuilder`].
#[derive(Debug, Clone)]
pub struct IncidentIo {
    client: HttpClient,
    options: convert::Options,
    page_size: usize,
}

impl IncidentIo {
    /// A builder with an API key.
    pub fn builder(token: impl Into<String>) -> IncidentIoBuilder {
        IncidentIoBuilder::new(token)
    }

    /// Requests made so far, per endpoint (`severities`, `incidents`).
    pub fn stats(&self) -> HttpStats {
        self.client.stats()
    }

    async fn ladder(&self) -> Result<convert::SeverityLadder, SourceError> {
        let request = self.client.request("severities", &["v1", "severities"]);
        let response: wire::SeveritiesResponse = self
            .client
            .get_json(&request)
            .await
            .map_err(|e| http_error(SOURCE, ENV, e))?;
        Ok(convert::SeverityLadder::new(&response.severities))
    }
}

#[async_trait]
impl IncidentSource for IncidentIo {
    fn name(&self) -> &str {
        SOURCE
    }

    /// Incidents opened in `request.range` (standard and retrospective modes,
    /// every status but declined / merged / canceled). Items that do not
    /// decode are left out here; [`IncidentSource::incidents_with_notes`]
    /// reports them.
    async fn incidents(&self, request: &IncidentRequest) -> Result<Vec<Incident>, SourceError> {
        Ok(self.incidents_with_notes(request).await?.incidents)
    }

    /// The incidents, each id once (a copy repeated across pages because the
    /// listing shifted is de-duplicated, the last copy winning), the listed
    /// items that could not be read as [`dora_core::SkippedEvent`]s
    /// (`missing_id`, `missing_timestamp`, `invalid_timestamp`,
    /// `missing_field`, `invalid_field`, `not_an_object`), and whether a
    /// service/tag → repository mapping is configured.
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
        let ladder = self.ladder().await?;
        let first = self
            .client
            .request("incidents", &["v2", "incidents"])
            .query("page_size", self.page_size.to_string())
            .query("sort_by", "created_at_oldest_first")
            .query(
                "created_at[gte]",
                range.start.date_naive().format("%Y-%m-%d").to_string(),
            )
            .query(
                "created_at[lte]",
                (range.end + Duration::days(1))
                    .date_naive()
                    .format("%Y-%m-%d")
                    .to_string(),
            );
        let raw: Vec<serde_json::Value> = self
            .client
            .pages(first, Pagination::incident_io("incidents"))
            .collect_all()
            .await
            .map_err(|e| http_error(SOURCE, ENV, e))?;
        let mut intake = Intake::<wire::Incident>::new(SOURCE);
        intake.extend(raw);
        let (incidents, skipped) = intake.finish();
        if !skipped.is_empty() {
            tracing::warn!(
                skipped = skipped.len(),
                "incidentio: some listed incidents could not be read"
            );
        }
        let out = incidents
            .into_iter()
            .filter_map(|incident| convert::to_incident(incident, &ladder, &self.options))
            .filter(|i| range.contains(i.opened_at))
            .collect();
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
    fn builder_redacts_and_refuses_empty_keys() {
        assert!(IncidentIoBuilder::new("").build().is_err());
        let b = IncidentIoBuilder::new("iio-secret-9").with_page_size(10_000);
        assert_eq!(b.page_size, 250);
        assert!(!format!("{b:?}").contains("iio-secret-9"));
        let s = b.build().expect("valid");
        assert!(!format!("{s:?}").contains("iio-secret-9"));
    }
}
