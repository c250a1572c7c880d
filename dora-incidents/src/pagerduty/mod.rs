//! PagerDuty REST API v2.
//!
//! - Auth: `Authorization: Token token=<key>` (env `PAGERDUTY_TOKEN`), with the
//!   versioned `Accept: application/vnd.pagerduty+json;version=2`.
//! - `GET /incidents` with `since`/`until` (at most six months per request, so
//!   longer ranges are cut into chunks), optional `service_ids[]`, `team_ids[]`,
//!   `urgencies[]` and `statuses[]` filters, classic offset pagination.
//! - The offset ceiling: `offset + limit` may not exceed 10,000 (PagerDuty
//!   answers 400 beyond). The first page asks for `total=true`; a window
//!   holding more than the ceiling is split into smaller time windows (and
//!   again, should a window still reach the ceiling while paging).
//! - Resolution: `resolved_at`; when a resolved incident lacks it (older
//!   payloads), the latest `resolve_log_entry` of
//!   `GET /incidents/{id}/log_entries`, else `last_status_change_at`.
//! - Severity: `priority.summary` `P1`..`P5`; without a priority, urgency
//!   `high` → P2 and `low` → P4; any raw name can be overridden.

pub(crate) mod convert;
pub(crate) mod wire;

use crate::intake::Intake;
use crate::normalization::{Normalization, RepositoryMapping};
use crate::transport::{Transport, convert as http_error, require_token, token_from_env};
use async_trait::async_trait;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use dora_core::{
    Incident, IncidentBatch, IncidentRequest, IncidentSource, Severity, SourceError, TimeRange,
    Timestamp,
};
use dora_http::{Auth, HttpClient, HttpStats, Pagination, Request, RetryPolicy, Secret};
use std::fmt;

const SOURCE: &str = convert::SOURCE;
const ENV: &str = "PAGERDUTY_TOKEN";
/// PagerDuty's maximum `since`..`until` span is six months; stay inside it.
const MAX_SPAN_DAYS: i64 = 180;

/// Builds a [`PagerDuty`] source.
///
/// ```
/// use dora_incidents::PagerDutyBuilder;
/// use dora_core::Severity;
/// let source = PagerDutyBuilder::new("u+example-token")
///     .with_base_url("https://api.eu.pagerduty.com")
///     .with_service_ids(["PSVC001"])
///     .with_severity_override("SEV-1", Severity::P1)
///     .build()?;
/// assert!(!format!("{source:?}").contains("example-token"));
/// # Ok::<(), dora_core::SourceError>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct PagerDutyBuilder {
    token: Secret,
    transport: Transport,
    norm: Normalization,
    service_ids: Vec<String>,
    team_ids: Vec<String>,
    urgencies: Vec<String>,
    statuses: Vec<String>,
    page_size: u64,
    offset_ceiling: u64,
}

impl fmt::Debug for PagerDutyBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PagerDutyBuilder")
            .field("token", &self.token)
            .field("base_url", &self.transport.base_url)
            .field("service_ids", &self.service_ids)
            .field("team_ids", &self.team_ids)
            .field("urgencies", &self.urgencies)
            .field("statuses", &self.statuses)
            .finish_non_exhaustive()
    }
}

impl PagerDutyBuilder {
    /// The US service region.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.pagerduty.com";
    /// The EU service region.
    pub const EU_BASE_URL: &'static str = "https://api.eu.pagerduty.com";
    /// PagerDuty's hard limit on `offset + limit`.
    pub const OFFSET_CEILING: u64 = 10_000;

    /// A builder with an API key (sent as `Token token=<key>`).
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: Secret::new(token.into()),
            transport: Transport::new(Self::DEFAULT_BASE_URL),
            norm: Normalization::default(),
            service_ids: Vec::new(),
            team_ids: Vec::new(),
            urgencies: Vec::new(),
            statuses: Vec::new(),
            page_size: 100,
            offset_ceiling: Self::OFFSET_CEILING,
        }
    }

    /// A builder with the key from `PAGERDUTY_TOKEN`.
    pub fn from_env() -> Result<Self, SourceError> {
        let token = token_from_env(SOURCE, ENV)?;
        Ok(Self::new(token.expose()))
    }

    /// The API root (default `https://api.pagerduty.com`; a local server in tests).
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.transport.base_url = url.into();
        self
    }

    /// Only incidents of these services (`service_ids[]`).
    pub fn with_service_ids<I: IntoIterator<Item = S>, S: Into<String>>(mut self, ids: I) -> Self {
        self.service_ids = ids.into_iter().map(Into::into).collect();
        self
    }

    /// Only incidents of these teams (`team_ids[]`).
    pub fn with_team_ids<I: IntoIterator<Item = S>, S: Into<String>>(mut self, ids: I) -> Self {
        self.team_ids = ids.into_iter().map(Into::into).collect();
        self
    }

    /// Only these urgencies (`high`, `low`). By default all: severity is
    /// filtered by the core, not here.
    pub fn with_urgencies<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        urgencies: I,
    ) -> Self {
        self.urgencies = urgencies.into_iter().map(Into::into).collect();
        self
    }

    /// Only these statuses (`triggered`, `acknowledged`, `resolved`). By
    /// default all: unresolved incidents are returned with no resolution time.
    pub fn with_statuses<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        statuses: I,
    ) -> Self {
        self.statuses = statuses.into_iter().map(Into::into).collect();
        self
    }

    /// Incidents per page (1..=100, default 100).
    pub fn with_page_size(mut self, n: usize) -> Self {
        self.page_size = u64::try_from(n).unwrap_or(100).clamp(1, 100);
        self
    }

    /// The `offset + limit` ceiling (default 10,000, PagerDuty's). Lower it only
    /// to test the time-window splitting against a local server.
    pub fn with_offset_ceiling(mut self, n: usize) -> Self {
        self.offset_ceiling = u64::try_from(n).unwrap_or(Self::OFFSET_CEILING).max(1);
        self
    }

    /// Map a raw priority name or urgency to a severity (wins over the defaults).
    pub fn with_severity_override(mut self, raw: impl Into<String>, severity: Severity) -> Self {
        self.norm.severities.insert(raw, severity);
        self
    }

    /// Services (id or name) and teams (id or name) → repositories.
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
    pub fn build(self) -> Result<PagerDuty, SourceError> {
        require_token(SOURCE, &self.token, ENV)?;
        check_values(&self.urgencies, &["high", "low"], "urgency")?;
        check_values(
            &self.statuses,
            &["triggered", "acknowledged", "resolved"],
            "status",
        )?;
        if self.page_size > self.offset_ceiling {
            return Err(config(format!(
                "page size {} is above the offset ceiling {}",
                self.page_size, self.offset_ceiling
            )));
        }
        let client = self.transport.client(
            SOURCE,
            Auth::pagerduty_token(&self.token),
            &[("accept", "application/vnd.pagerduty+json;version=2")],
        )?;
        Ok(PagerDuty {
            client,
            norm: self.norm,
            service_ids: self.service_ids,
            team_ids: self.team_ids,
            urgencies: self.urgencies,
            statuses: self.statuses,
            page_size: self.page_size,
            offset_ceiling: self.offset_ceiling,
        })
    }
}

fn config(message: String) -> SourceError {
    SourceError::Config {
        source_name: SOURCE.into(),
        message,
    }
}

fn check_values(values: &[String], allowed: &[&str], what: &str) -> Result<(), SourceError> {
    match values.iter().find(|v| !allowed.contains(&v.as_str())) {
        Some(bad) => Err(config(format!(
            "unknown {what} `{bad}`; expected one of {}",
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

/// PagerDuty incidents as a [`dora_core::IncidentSource`]. Made by [`PagerDutyBuilder`].
#[derive(Debug, Clone)]
pub struct PagerDuty {
    client: HttpClient,
    norm: Normalization,
    service_ids: Vec<String>,
    team_ids: Vec<String>,
    urgencies: Vec<String>,
    statuses: Vec<String>,
    page_size: u64,
    offset_ceiling: u64,
}

/// What one time window gave.
enum Window {
    /// Every incident of the window, as raw JSON items.
    Done(Vec<serde_json::Value>),
    /// More than the ceiling: split into this many parts.
    TooMany(u64),
}

/// The `offset` a request asks for.
fn offset_of(request: &Request) -> u64 {
    request
        .url()
        .query_pairs()
        .find(|(k, _)| k == "offset")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

fn pd_time(t: Timestamp, round_up: bool) -> String {
    // Whole seconds, widened outwards: the client filters precisely afterwards.
    let secs = t.timestamp();
    let secs = if round_up && t.timestamp_subsec_nanos() > 0 {
        secs + 1
    } else {
        secs
    };
    DateTime::<Utc>::from_timestamp(secs, 0)
        .unwrap_or(t)
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Cut `range` into consecutive windows of at most `days` days.
fn chunks(range: TimeRange, days: i64) -> Vec<TimeRange> {
    let mut out = Vec::new();
    let mut start = range.start;
    while start < range.end {
        let end = (start + Duration::days(days)).min(range.end);
        out.push(TimeRange::new(start, end));
        start = end;
    }
    out
}

/// Split a window into `parts` windows on whole seconds; `None` when it is too short.
fn split(window: TimeRange, parts: u64) -> Option<Vec<TimeRange>> {
    let span = (window.end - window.start).num_seconds();
    let parts = i64::try_from(parts.max(2)).unwrap_or(2).min(span);
    if parts < 2 {
        return None;
    }
    let step = span / parts;
    let mut out = Vec::new();
    let mut start = window.start;
    for i in 1..=parts {
        let end = if i == parts {
            window.end
        } else {
            window.start + Duration::seconds(step * i)
        };
        out.push(TimeRange::new(start, end));
        start = end;
    }
    Some(out)
}

impl PagerDuty {
    /// A builder with an API key.
    pub fn builder(token: impl Into<String>) -> PagerDutyBuilder {
        PagerDutyBuilder::new(token)
    }

    /// Requests made so far, per endpoint (`incidents`, `log_entries`).
    pub fn stats(&self) -> HttpStats {
        self.client.stats()
    }

    fn list_request(&self, window: TimeRange) -> Request {
        let mut r = self
            .client
            .request("incidents", &["incidents"])
            .query("since", pd_time(window.start, false))
            .query("until", pd_time(window.end, true))
            .query("time_zone", "UTC")
            .query("sort_by", "created_at:asc");
        for id in &self.service_ids {
            r = r.query("service_ids[]", id);
        }
        for id in &self.team_ids {
            r = r.query("team_ids[]", id);
        }
        for u in &self.urgencies {
            r = r.query("urgencies[]", u);
        }
        for s in &self.statuses {
            r = r.query("statuses[]", s);
        }
        r
    }

    /// Fetch one window, or report that it holds more than the ceiling.
    async fn window(&self, window: TimeRange) -> Result<Window, SourceError> {
        let limit = self.page_size;
        let ceiling = self.offset_ceiling;
        let first_request = self
            .list_request(window)
            .query("limit", limit.to_string())
            .query("offset", "0")
            .query("total", "true");
        let first: wire::IncidentsPage<serde_json::Value> = self
            .client
            .get_json(&first_request)
            .await
            .map_err(|e| http_error(SOURCE, ENV, e))?;
        if let Some(total) = first.total
            && total > ceiling
        {
            return Ok(Window::TooMany(total.div_ceil(ceiling)));
        }
        let mut incidents = first.incidents;
        if !first.more {
            return Ok(Window::Done(incidents));
        }
        if incidents.is_empty() {
            return Err(SourceError::protocol(
                SOURCE,
                "incidents",
                "incidents page 1: the server says there is more but sent an empty page",
            ));
        }
        // The rest through the shared pager, from the second page on. Offsets
        // advance by the incidents received (a server may send fewer than the
        // limit asked for); stop before any request whose offset + limit would
        // pass the ceiling.
        let next_offset = u64::try_from(incidents.len()).unwrap_or(u64::MAX);
        if next_offset.saturating_add(limit) > ceiling {
            return Ok(Window::TooMany(2));
        }
        let rest = self
            .list_request(window)
            .query("offset", next_offset.to_string());
        let mut pager = self
            .client
            .pages::<serde_json::Value>(rest, Pagination::pagerduty("incidents", limit));
        while let Some(page) = pager
            .next_page()
            .await
            .map_err(|e| http_error(SOURCE, ENV, e))?
        {
            incidents.extend(page.items);
            let Some(next) = pager.next_request() else {
                return Ok(Window::Done(incidents));
            };
            if offset_of(next).saturating_add(limit) > ceiling {
                return Ok(Window::TooMany(2));
            }
        }
        Ok(Window::Done(incidents))
    }

    /// The resolve time from an incident's log entries.
    async fn resolve_time(&self, id: &str) -> Result<Option<Timestamp>, SourceError> {
        let request = self
            .client
            .request("log_entries", &["incidents", id, "log_entries"])
            .query("is_overview", "true")
            .query("time_zone", "UTC");
        let entries = self
            .client
            .pages::<wire::LogEntry>(
                request,
                Pagination::pagerduty("log_entries", 100.min(self.offset_ceiling)),
            )
            .collect_all()
            .await
            .map_err(|e| http_error(SOURCE, ENV, e))?;
        Ok(convert::resolve_time_from_log(&entries))
    }
}

#[async_trait]
impl IncidentSource for PagerDuty {
    fn name(&self) -> &str {
        SOURCE
    }

    /// Incidents created in `request.range` (all statuses, urgencies and
    /// priorities unless the builder narrowed them). Items that do not decode
    /// are left out here; [`IncidentSource::incidents_with_notes`] reports them.
    async fn incidents(&self, request: &IncidentRequest) -> Result<Vec<Incident>, SourceError> {
        Ok(self.incidents_with_notes(request).await?.incidents)
    }

    /// The incidents (each id once: a copy repeated across pages because the
    /// listing shifted is de-duplicated, the last copy winning), the listed
    /// items that could not be read as [`dora_core::SkippedEvent`]s
    /// (`missing_id`, `missing_timestamp`, `invalid_timestamp`,
    /// `missing_field`, `invalid_field`, `not_an_object`), and whether a
    /// service/team → repository mapping is configured.
    async fn incidents_with_notes(
        &self,
        request: &IncidentRequest,
    ) -> Result<IncidentBatch, SourceError> {
        let range = request.range;
        let service_mapping = !self.norm.repositories.is_empty();
        if crate::transport::is_empty(&range) {
            return Ok(IncidentBatch {
                service_mapping,
                ..IncidentBatch::default()
            });
        }
        let mut intake = Intake::<wire::Incident>::new(SOURCE);
        // A stack of windows, earliest on top.
        let mut pending: Vec<TimeRange> = chunks(range, MAX_SPAN_DAYS);
        pending.reverse();
        while let Some(window) = pending.pop() {
            match self.window(window).await? {
                Window::Done(incidents) => intake.extend(incidents),
                Window::TooMany(parts) => {
                    let Some(mut parts) = split(window, parts) else {
                        return Err(SourceError::protocol(
                            SOURCE,
                            "incidents",
                            format!(
                                "the listing reports more than {} incidents (field `total`, or `more` past the offset ceiling) created within one second at {}; cannot split the time range further",
                                self.offset_ceiling, window.start
                            ),
                        ));
                    };
                    tracing::debug!(%window.start, %window.end, parts = parts.len(), "pagerduty: window above the offset ceiling, splitting");
                    parts.reverse();
                    pending.extend(parts);
                }
            }
        }
        let (found, skipped) = intake.finish();
        if !skipped.is_empty() {
            tracing::warn!(
                skipped = skipped.len(),
                "pagerduty: some listed incidents could not be read"
            );
        }
        let mut out = Vec::with_capacity(found.len());
        for incident in found.into_iter().filter(|i| range.contains(i.created_at)) {
            let from_log = if convert::needs_resolve_log(&incident) {
                self.resolve_time(&incident.id).await?
            } else {
                None
            };
            out.push(convert::to_incident(incident, from_log, &self.norm));
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
    use chrono::TimeZone;

    fn t(d: u32, h: u32) -> Timestamp {
        Utc.with_ymd_and_hms(2024, 3, d, h, 0, 0).unwrap()
    }

    #[test]
    fn chunks_respect_the_six_month_limit() {
        let start = Utc.with_ymd_and_hms(2023, 1, 1, 0, 0, 0).unwrap();
        let range = TimeRange::new(start, start + Duration::days(400));
        let c = chunks(range, MAX_SPAN_DAYS);
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].start, range.start);
        assert_eq!(c[2].end, range.end);
        assert!(c.windows(2).all(|w| w[0].end == w[1].start));
        assert!(
            c.iter()
                .all(|w| w.end - w.start <= Duration::days(MAX_SPAN_DAYS))
        );
    }

    #[test]
    fn split_covers_the_window_on_whole_seconds() {
        let w = TimeRange::new(t(1, 0), t(2, 0));
        let parts = split(w, 3).expect("splittable");
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0].start, w.start);
        assert_eq!(parts[2].end, w.end);
        assert_eq!(parts[1].start, t(1, 8));
        assert!(
            split(
                TimeRange::new(t(1, 0), t(1, 0) + Duration::milliseconds(900)),
                2
            )
            .is_none()
        );
        // Never more parts than seconds.
        assert_eq!(
            split(TimeRange::new(t(1, 0), t(1, 0) + Duration::seconds(3)), 10).map(|p| p.len()),
            Some(3)
        );
    }

    #[test]
    fn times_widen_to_whole_seconds() {
        let x = t(1, 0) + Duration::milliseconds(1500);
        assert_eq!(pd_time(x, false), "2024-03-01T00:00:01Z");
        assert_eq!(pd_time(x, true), "2024-03-01T00:00:02Z");
        assert_eq!(pd_time(t(1, 0), true), "2024-03-01T00:00:00Z");
    }

    #[test]
    fn builder_validates_and_redacts() {
        assert!(PagerDutyBuilder::new("").build().is_err());
        let err = PagerDutyBuilder::new("k")
            .with_urgencies(["urgent"])
            .build()
            .expect_err("bad urgency");
        assert!(err.to_string().contains("urgent"), "{err}");
        assert!(
            PagerDutyBuilder::new("k")
                .with_statuses(["closed"])
                .build()
                .is_err()
        );
        assert!(
            PagerDutyBuilder::new("k")
                .with_offset_ceiling(10)
                .with_page_size(20)
                .build()
                .is_err()
        );
        let b = PagerDutyBuilder::new("tok-123-secret");
        assert!(!format!("{b:?}").contains("tok-123-secret"));
        let s = b.build().expect("valid");
        assert!(!format!("{s:?}").contains("tok-123-secret"));
    }
}
