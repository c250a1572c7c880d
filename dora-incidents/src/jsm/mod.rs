//! Jira Service Management (JSM) Operations alerts: Opsgenie's successor.
//!
//! Atlassian moves every Opsgenie customer to JSM Operations (Opsgenie's REST
//! API stops answering on 2027-04-05; a migrated site loses Opsgenie 120 days
//! after migrating). This source reads the same alerts through JSM's API and
//! normalises them exactly as [`Opsgenie`](crate::Opsgenie) alerts, so a
//! migrated site keeps its recovery times and incident signals.
//!
//! - Base: `https://api.atlassian.com/jsm/ops/api/{cloudId}`; requests go to
//!   `{base}/v1/alerts…`. The cloud id is given ([`JsmBuilder::with_cloud_id`],
//!   `JSM_CLOUD_ID`) or discovered from the site
//!   ([`JsmBuilder::with_site`], `JSM_SITE=acme.atlassian.net` →
//!   `GET https://acme.atlassian.net/_edge/tenant_info`, sent without credentials).
//! - Auth: HTTP Basic with an Atlassian account email and API token
//!   (`ATLASSIAN_EMAIL` + `ATLASSIAN_API_TOKEN`, else `BITBUCKET_EMAIL` +
//!   `BITBUCKET_API_TOKEN`). A scoped token needs
//!   `read:ops-alert:jira-service-management`. Atlassian **service accounts
//!   cannot call this API** (JSDCLOUD-17685): use a real user's account, one
//!   that can see every alert (a team member sees only the alerts they may
//!   see, and the list is then silently partial).
//! - Listing: `GET …/v1/alerts?query=createdAt >= <ms> AND createdAt < <ms>
//!   &sort=createdAt&order=asc&offset&size`, pages built here (`offset +=
//!   len(values)`), stopping on a short or empty page, `offset >= count`, or —
//!   without `count` — no `links.next`. At most 20,000 alerts can be reached
//!   by one listing (`offset + size < 20,000`): a range whose `count` exceeds
//!   that (or that reaches the limit without `count`) is split in halves
//!   until each half fits. Every `createdAt` is checked again here.
//! - Times: an alert opens at `createdAt` and, when `closed` or `resolved`,
//!   resolves at `closeTime` (absolute, RFC 3339). Fallbacks when a list item
//!   has no close time: the alert itself (`GET …/v1/alerts/{id}`), then its
//!   activity log (`GET …/v1/alerts/{id}/logs`, the first entry that closes or
//!   resolves it), then `updatedAt` (an upper bound, as for Opsgenie).
//! - Severity: `priority` `P1`..`P5`, overridable by name. Teams: the `team`
//!   responders' ids (and names from `GET …/v1/teams` when the mapping names
//!   teams). Services: a `service:` tag; `entity` is a service key of the
//!   mapping, `extraProperties` are `key:value` tag keys.
//!
//! # Unconfirmed shapes, handled both ways
//!
//! `api-reference.md` §3b marks several details unconfirmed against live data.
//! The source accepts every documented shape and records which one it saw in
//! [`JsmWireNotes`] ([`Jsm::wire_notes`], logged with `tracing` and printed by
//! `dora report`); items it cannot convert are skipped events whose detail
//! names the field:
//!
//! | unconfirmed | handled |
//! |---|---|
//! | `links.next` relative or absolute | both accepted (pages are built here); the form seen is noted |
//! | `count` present or not | with it the range is split up front; without it, at the limit |
//! | the `query` time unit | epoch milliseconds; when that finds nothing, one probe in seconds |
//! | `status`: `open`/`closed` + `acknowledged`, or `acked`/`snoozed`/`resolved` | every value; others are skipped as `unknown_status` |
//! | `closeTime` RFC 3339, epoch ms, or Opsgenie's `report.closeTime` | each read; the shape is noted |
//! | list items thinner than `GET …/v1/alerts/{id}` | a closed item without a close time is fetched (then its log) |
//! | `ackTime`/`closeTime`/`snoozedUntil` missing or `null` | both are "absent" |
//! | `extraProperties` values not strings | read as text |
//! | `from`/`to` (int32, unit undocumented) | not sent: the range goes in `query` |
//! | `GET …/v1/teams` needs another scope | asked only when the mapping names teams; without it, team ids only |

pub(crate) mod convert;
pub(crate) mod wire;

use crate::normalization::{Normalization, RepositoryMapping};
use crate::transport::{Transport, require_token};
use async_trait::async_trait;
use dora_core::{
    EventKind, Incident, IncidentBatch, IncidentRequest, IncidentSource, Severity, SkippedEvent,
    SourceError, Timestamp,
};
use dora_http::{Auth, HttpClient, HttpStats, Request, RetryPolicy, Secret, StatusCode};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

const SOURCE: &str = convert::SOURCE;

/// The JSM Operations API root; a cloud id follows it.
pub const JSM_API_ROOT: &str = "https://api.atlassian.com/jsm/ops/api";

/// The OAuth / scoped-token scope that reading alerts needs.
pub const JSM_ALERTS_SCOPE: &str = "read:ops-alert:jira-service-management";

/// Alerts one listing can reach: `offset + size` must stay below this.
pub const JSM_RESULT_WINDOW: usize = 20_000;

/// The credential variables, in the order they are tried.
const EMAIL_VARS: [&str; 2] = ["ATLASSIAN_EMAIL", "BITBUCKET_EMAIL"];
const TOKEN_VARS: [&str; 2] = ["ATLASSIAN_API_TOKEN", "BITBUCKET_API_TOKEN"];

/// Where the alerts are.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JsmTarget {
    /// The base URL up to and including the cloud id
    /// (`https://api.atlassian.com/jsm/ops/api/<cloud-id>`, or a local fake).
    BaseUrl(String),
    /// A cloud id: requests go to `{api root}/{cloud id}/v1/…`.
    CloudId(String),
    /// A site (`acme.atlassian.net`, or a URL) whose cloud id is read from
    /// `/_edge/tenant_info` before the first request.
    Site(String),
}

/// What the source saw of the shapes `api-reference.md` marks unconfirmed,
/// for the last call of [`Jsm`]. Each map counts occurrences by shape.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct JsmWireNotes {
    /// `links.next` on pages that had more: `relative`, `absolute`, `absent`.
    pub next_links: BTreeMap<String, u64>,
    /// Pages without `count`.
    pub pages_without_count: u64,
    /// Pages read.
    pub pages: u64,
    /// `status` values seen (lower-cased).
    pub statuses: BTreeMap<String, u64>,
    /// Where closed alerts' close times came from.
    pub close_times: BTreeMap<String, u64>,
    /// The `createdAt` unit the search query worked with (`milliseconds`,
    /// `seconds`), `None` when nothing was found either way.
    pub query_time_unit: Option<String>,
    /// Alerts the server returned outside the range asked for (dropped).
    pub outside_range: u64,
    /// Time ranges split to stay within the 20,000-alert window.
    pub range_splits: u64,
    /// Team names: `resolved N teams`, or why not.
    pub team_names: Option<String>,
}

fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    *map.entry(key.to_string()).or_default() += 1;
}

impl JsmWireNotes {
    /// One line for humans, e.g. `3 pages; links.next relative ×2; status closed ×4, open ×1;
    /// close time from closeTime (RFC 3339) ×4; query time unit milliseconds`.
    pub fn summary(&self) -> String {
        let list = |m: &BTreeMap<String, u64>| {
            m.iter()
                .map(|(k, n)| format!("{k} ×{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = vec![format!(
            "{} page{}",
            self.pages,
            if self.pages == 1 { "" } else { "s" }
        )];
        if !self.next_links.is_empty() {
            parts.push(format!("links.next {}", list(&self.next_links)));
        }
        if self.pages_without_count > 0 {
            parts.push(format!("{} pages without count", self.pages_without_count));
        }
        if !self.statuses.is_empty() {
            parts.push(format!("status {}", list(&self.statuses)));
        }
        if !self.close_times.is_empty() {
            parts.push(format!("close time from {}", list(&self.close_times)));
        }
        if let Some(unit) = &self.query_time_unit {
            parts.push(format!("query time unit {unit}"));
        }
        if self.outside_range > 0 {
            parts.push(format!(
                "{} alerts outside the range dropped",
                self.outside_range
            ));
        }
        if self.range_splits > 0 {
            parts.push(format!(
                "range split {} times (20,000-alert window)",
                self.range_splits
            ));
        }
        if let Some(t) = &self.team_names {
            parts.push(format!("team names: {t}"));
        }
        parts.join("; ")
    }
}

/// Builds a [`Jsm`] source.
///
/// ```
/// use dora_incidents::JsmBuilder;
/// let source = JsmBuilder::new("jane@acme.io", "example-api-token")
///     .with_site("acme.atlassian.net")
///     .with_priorities(["P1", "P2"])
///     .build()?;
/// assert!(!format!("{source:?}").contains("example-api-token"));
/// # Ok::<(), dora_core::SourceError>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct JsmBuilder {
    email: String,
    token: Secret,
    target: Option<JsmTarget>,
    api_root: String,
    retry: Option<RetryPolicy>,
    timeout: Option<std::time::Duration>,
    norm: Normalization,
    service_tag_prefix: Option<String>,
    priorities: Vec<String>,
    query: Option<String>,
    page_size: usize,
    result_window: usize,
    fetch_missing_close_times: bool,
    wait_budget: Option<dora_http::WaitBudget>,
}

impl fmt::Debug for JsmBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsmBuilder")
            .field("email", &self.email)
            .field("token", &self.token)
            .field("target", &self.target)
            .field("priorities", &self.priorities)
            .field("query", &self.query)
            .finish_non_exhaustive()
    }
}

/// The first set variable of `names`, trimmed, by `lookup`.
fn first_set<'a>(
    names: &[&'a str],
    lookup: &impl Fn(&str) -> Option<String>,
) -> Option<(&'a str, String)> {
    names.iter().find_map(|n| {
        lookup(n)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .map(|v| (*n, v))
    })
}

impl JsmBuilder {
    /// A builder with an Atlassian account email and API token (HTTP Basic).
    pub fn new(email: impl Into<String>, api_token: impl Into<String>) -> Self {
        Self {
            email: email.into().trim().to_string(),
            token: Secret::new(api_token.into().trim().to_string()),
            target: None,
            api_root: JSM_API_ROOT.into(),
            retry: None,
            timeout: None,
            norm: Normalization::default(),
            service_tag_prefix: Some("service:".into()),
            priorities: Vec::new(),
            query: None,
            page_size: 100,
            result_window: JSM_RESULT_WINDOW,
            fetch_missing_close_times: true,
            wait_budget: None,
        }
    }

    /// Credentials and target from the environment: `ATLASSIAN_EMAIL` +
    /// `ATLASSIAN_API_TOKEN` (else `BITBUCKET_EMAIL` + `BITBUCKET_API_TOKEN`),
    /// `JSM_CLOUD_ID` (else `JSM_SITE`, else set one with a `with_*` method).
    pub fn from_env() -> Result<Self, SourceError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`JsmBuilder::from_env`] with another variable lookup (tests, a config layer).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SourceError> {
        let (email, token) = credentials(&lookup)?;
        let mut b = Self::new(email, token);
        if let Some((_, id)) = first_set(&["JSM_CLOUD_ID"], &lookup) {
            b = b.with_cloud_id(id);
        } else if let Some((_, site)) = first_set(&["JSM_SITE"], &lookup) {
            b = b.with_site(site);
        }
        Ok(b)
    }

    /// The cloud id (requests go to `https://api.atlassian.com/jsm/ops/api/{id}`).
    pub fn with_cloud_id(mut self, cloud_id: impl Into<String>) -> Self {
        self.target = Some(JsmTarget::CloudId(cloud_id.into().trim().to_string()));
        self
    }

    /// The site (`acme.atlassian.net`, `acme`, or a URL) whose cloud id is
    /// discovered from `/_edge/tenant_info`.
    pub fn with_site(mut self, site: impl Into<String>) -> Self {
        self.target = Some(JsmTarget::Site(site.into().trim().to_string()));
        self
    }

    /// The base URL up to and including the cloud id (the CLI's `--jsm-url`;
    /// a local server in tests). Wins over a cloud id or a site.
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.target = Some(JsmTarget::BaseUrl(url.into().trim().to_string()));
        self
    }

    /// The API root a cloud id is appended to (default [`JSM_API_ROOT`]).
    pub fn with_api_root(mut self, url: impl Into<String>) -> Self {
        self.api_root = url.into();
        self
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

    /// An extra search query, ANDed with the time range (e.g. `source:Datadog`).
    pub fn with_query(mut self, query: impl Into<String>) -> Self {
        self.query = Some(query.into());
        self
    }

    /// The tag prefix naming the service (default `service:`); `None` turns it off.
    pub fn with_service_tag_prefix(mut self, prefix: Option<String>) -> Self {
        self.service_tag_prefix = prefix;
        self
    }

    /// Alerts per page (1..=100, default 100).
    pub fn with_page_size(mut self, n: usize) -> Self {
        self.page_size = n.clamp(1, 100);
        self
    }

    /// The listing window (`offset + size` below it; default 20,000). Lower
    /// it to test range splitting against a fake.
    pub fn with_result_window(mut self, n: usize) -> Self {
        self.result_window = n.max(2);
        self
    }

    /// Whether a closed list item without a close time is completed from
    /// `GET …/v1/alerts/{id}` and its log (default `true`); without, it falls
    /// back to `updatedAt` at once.
    pub fn with_fetch_missing_close_times(mut self, on: bool) -> Self {
        self.fetch_missing_close_times = on;
        self
    }

    /// Map a raw priority to a severity (wins over `P1`..`P5`).
    pub fn with_severity_override(mut self, raw: impl Into<String>, severity: Severity) -> Self {
        self.norm.severities.insert(raw, severity);
        self
    }

    /// Services (`service:` tags, `entity`), teams (ids or names) and tags → repositories.
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
        self.retry = Some(policy);
        self
    }

    /// Per-request time-out (default: dora-http's, 30 s).
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Share a total wait budget (rate limits and retries) with other sources
    /// of the run (default: this source's own, dora-http's 10 minutes).
    pub fn with_wait_budget(mut self, budget: dora_http::WaitBudget) -> Self {
        self.wait_budget = Some(budget);
        self
    }

    fn transport(&self, base_url: &str) -> Transport {
        let mut t = Transport::new(base_url);
        t.retry.clone_from(&self.retry);
        t.timeout = self.timeout;
        t.wait_budget.clone_from(&self.wait_budget);
        t
    }

    /// Check the settings and build the source.
    pub fn build(self) -> Result<Jsm, SourceError> {
        let config = |message: String| SourceError::Config {
            source_name: SOURCE.into(),
            message,
        };
        if self.email.is_empty() {
            return Err(config(
                "no Atlassian account email: pass one to the builder or set ATLASSIAN_EMAIL (or BITBUCKET_EMAIL)".into(),
            ));
        }
        require_token(SOURCE, &self.token, "ATLASSIAN_API_TOKEN")?;
        if let Some(bad) = self
            .priorities
            .iter()
            .find(|p| Severity::parse(p).is_none())
        {
            return Err(config(format!(
                "unknown priority `{bad}`; JSM priorities are P1..P5"
            )));
        }
        let target = self.target.clone().ok_or_else(|| {
            config("no cloud id: set JSM_CLOUD_ID, or JSM_SITE (e.g. acme.atlassian.net) to discover it, or pass the base URL (--jsm-url)".into())
        })?;
        let (api_base, site) = match &target {
            JsmTarget::BaseUrl(url) => (url.clone(), None),
            JsmTarget::CloudId(id) => {
                if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    return Err(config(format!(
                        "cloud id `{id}` is not a cloud id (a UUID such as 0f5c7a1e-…; find it at https://<site>.atlassian.net/_edge/tenant_info)"
                    )));
                }
                (self.api_root.clone(), None)
            }
            JsmTarget::Site(site) => (self.api_root.clone(), Some(site_url(site).map_err(config)?)),
        };
        let auth = Auth::basic(self.email.clone(), self.token.clone());
        let api = self.transport(&api_base).client(SOURCE, auth, &[])?;
        // The site is asked for its cloud id without credentials.
        let site = match site {
            Some(url) => Some(self.transport(&url).client(SOURCE, Auth::None, &[])?),
            None => None,
        };
        Ok(Jsm {
            api,
            site,
            target,
            cloud_id: Arc::new(Mutex::new(None)),
            page_size: self.page_size,
            result_window: self.result_window,
            priorities: self.priorities,
            query: self.query,
            fetch_missing_close_times: self.fetch_missing_close_times,
            options: convert::Options {
                norm: self.norm,
                service_tag_prefix: self.service_tag_prefix,
            },
            notes: Arc::new(Mutex::new(JsmWireNotes::default())),
        })
    }
}

/// The credentials from `lookup`: the Atlassian pair when either is set,
/// else the Bitbucket pair.
fn credentials(lookup: &impl Fn(&str) -> Option<String>) -> Result<(String, String), SourceError> {
    let get = |name: &str| first_set(&[name], lookup).map(|(_, v)| v);
    let pair = |i: usize| (get(EMAIL_VARS[i]), get(TOKEN_VARS[i]));
    let message = match (pair(0), pair(1)) {
        ((Some(e), Some(t)), _) | ((None, None), (Some(e), Some(t))) => return Ok((e, t)),
        ((Some(_), None), _) => "ATLASSIAN_EMAIL is set but ATLASSIAN_API_TOKEN is not".into(),
        ((None, Some(_)), _) => "ATLASSIAN_API_TOKEN is set but ATLASSIAN_EMAIL is not".into(),
        _ => "set ATLASSIAN_EMAIL + ATLASSIAN_API_TOKEN (or BITBUCKET_EMAIL + BITBUCKET_API_TOKEN): an Atlassian account email and API token".to_string(),
    };
    Err(SourceError::Config {
        source_name: SOURCE.into(),
        message,
    })
}

/// `acme` → `https://acme.atlassian.net`; `acme.atlassian.net` → `https://…`;
/// a URL keeps its scheme, host and port.
fn site_url(site: &str) -> Result<String, String> {
    let site = site.trim().trim_end_matches('/');
    if site.is_empty() {
        return Err("the JSM site is empty".into());
    }
    let with_scheme = if site.contains("://") {
        site.to_string()
    } else if site.contains('.') || site.contains(':') {
        format!("https://{site}")
    } else {
        format!("https://{site}.atlassian.net")
    };
    let url = url::Url::parse(&with_scheme).map_err(|e| format!("site `{site}`: {e}"))?;
    let host = url
        .host_str()
        .ok_or_else(|| format!("site `{site}` has no host"))?;
    Ok(match url.port() {
        Some(p) => format!("{}://{host}:{p}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    })
}

/// JSM Operations alerts as a [`dora_core::IncidentSource`]. Made by [`JsmBuilder`].
///
/// Clones share the discovered cloud id and the [`JsmWireNotes`].
#[derive(Debug, Clone)]
pub struct Jsm {
    api: HttpClient,
    site: Option<HttpClient>,
    target: JsmTarget,
    cloud_id: Arc<Mutex<Option<String>>>,
    page_size: usize,
    result_window: usize,
    priorities: Vec<String>,
    query: Option<String>,
    fetch_missing_close_times: bool,
    options: convert::Options,
    notes: Arc<Mutex<JsmWireNotes>>,
}

/// The `createdAt` unit of the search query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Millis,
    Seconds,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Self::Millis => "milliseconds",
            Self::Seconds => "seconds",
        }
    }
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

fn created_ms(v: &Value) -> Option<i64> {
    let t = v.get("createdAt")?;
    match t {
        Value::String(s) => wire::parse_time(s).map(|t| t.timestamp_millis()),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// The hint every 401/403 carries.
fn auth_advice() -> String {
    format!(
        "JSM Operations takes HTTP Basic auth with an Atlassian account email and API token (ATLASSIAN_EMAIL + ATLASSIAN_API_TOKEN, else BITBUCKET_EMAIL + BITBUCKET_API_TOKEN); a scoped token needs the scope {JSM_ALERTS_SCOPE}; Atlassian service accounts cannot call this API (JSDCLOUD-17685): use a real user's account that can see every alert"
    )
}

impl Jsm {
    /// A builder with an Atlassian account email and API token.
    pub fn builder(email: impl Into<String>, api_token: impl Into<String>) -> JsmBuilder {
        JsmBuilder::new(email, api_token)
    }

    /// Requests made so far, per endpoint (`alerts`, `alert`, `alert logs`, `teams`).
    pub fn stats(&self) -> HttpStats {
        let mut stats = self.api.stats();
        if let Some(site) = &self.site {
            for (k, v) in site.stats().endpoints {
                stats.endpoints.insert(k, v);
            }
        }
        stats
    }

    /// What the last call saw of the unconfirmed wire shapes.
    pub fn wire_notes(&self) -> JsmWireNotes {
        match self.notes.lock() {
            Ok(n) => n.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Where the alerts are.
    pub fn target(&self) -> &JsmTarget {
        &self.target
    }

    /// Convert a transport error; 401/403 name the scope and the account kind.
    fn error(&self, error: dora_http::Error) -> SourceError {
        let endpoint = error.endpoint().unwrap_or("jsm").to_string();
        let server = error
            .server_message()
            .map(|m| format!(" (server said: {m})"))
            .unwrap_or_default();
        match error.status() {
            Some(StatusCode::UNAUTHORIZED) => SourceError::auth(
                SOURCE,
                format!("{endpoint}: the credentials were rejected (HTTP 401){server}."),
            )
            .with_hint(auth_advice())
            .with_source(error),
            Some(StatusCode::FORBIDDEN) => SourceError::auth(
                SOURCE,
                format!("{endpoint}: permission denied (HTTP 403){server}."),
            )
            .with_hint(auth_advice())
            .with_source(error),
            Some(StatusCode::NOT_FOUND) => {
                SourceError::not_found(SOURCE, format!("{endpoint}{server}."))
                    .with_hint("Check the cloud id (JSM_CLOUD_ID, JSM_SITE or the base URL) and that the site has JSM Operations.")
                    .with_source(error)
            }
            Some(s) if s == StatusCode::BAD_REQUEST || s == StatusCode::UNPROCESSABLE_ENTITY => {
                let message = format!(
                    "{endpoint}: the request was refused (HTTP {}){server}: the search query, or a page beyond the 20,000-alert window",
                    s.as_u16()
                );
                SourceError::protocol(SOURCE, endpoint, message).with_source(error)
            }
            _ => error.into_source_error(SOURCE),
        }
    }

    fn protocol(endpoint: &str, message: String) -> SourceError {
        SourceError::protocol(SOURCE, endpoint, format!("{endpoint}: {message}"))
    }

    /// The priority filter, applied again here (the server's search may not).
    fn wanted(&self, priority: Option<&str>) -> bool {
        self.priorities.is_empty()
            || priority.is_some_and(|p| {
                self.priorities
                    .iter()
                    .any(|want| want.trim().eq_ignore_ascii_case(p.trim()))
            })
    }

    /// The cloud id path segment, if the target needs one (discovered once).
    async fn cloud_segment(&self) -> Result<Option<String>, SourceError> {
        match &self.target {
            JsmTarget::BaseUrl(_) => Ok(None),
            JsmTarget::CloudId(id) => Ok(Some(id.clone())),
            JsmTarget::Site(site) => {
                if let Ok(cached) = self.cloud_id.lock()
                    && let Some(id) = cached.as_ref()
                {
                    return Ok(Some(id.clone()));
                }
                let Some(client) = &self.site else {
                    return Err(Self::protocol("tenant_info", "no site client".into()));
                };
                let req = client.request("tenant_info", &["_edge", "tenant_info"]);
                let body: Value = client.get_json(&req).await.map_err(|e| match e.status() {
                    Some(StatusCode::NOT_FOUND) => SourceError::not_found(
                        SOURCE,
                        format!("tenant_info: site `{site}` has no /_edge/tenant_info."),
                    )
                    .with_hint(
                        "Is it an Atlassian Cloud site (acme.atlassian.net)? Or set JSM_CLOUD_ID.",
                    )
                    .with_source(e),
                    _ => self.error(e),
                })?;
                let id = wire::cloud_id(&body).ok_or_else(|| {
                    Self::protocol(
                        "tenant_info",
                        format!("no `cloudId` in the answer of site `{site}`"),
                    )
                })?;
                if let Ok(mut cached) = self.cloud_id.lock() {
                    *cached = Some(id.clone());
                }
                Ok(Some(id))
            }
        }
    }

    fn request(&self, cloud: Option<&str>, endpoint: &str, path: &[&str]) -> Request {
        let mut segments: Vec<&str> = cloud.into_iter().collect();
        segments.extend_from_slice(path);
        self.api.request(endpoint, &segments)
    }

    /// The search query for `[start_ms, end_ms)` in `unit`.
    fn search_query(&self, start_ms: i64, end_ms: i64, unit: Unit) -> String {
        let (a, b) = match unit {
            Unit::Millis => (start_ms, end_ms),
            Unit::Seconds => (start_ms.div_euclid(1000), (end_ms + 999).div_euclid(1000)),
        };
        let mut terms = vec![format!("createdAt >= {a}"), format!("createdAt < {b}")];
        match self.priorities.as_slice() {
            [] => {}
            [one] => terms.push(format!("priority:{}", quote(one))),
            many => terms.push(format!(
                "({})",
                many.iter()
                    .map(|p| format!("priority:{}", quote(p)))
                    .collect::<Vec<_>>()
                    .join(" OR ")
            )),
        }
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

    /// Every alert created in `[start_ms, end_ms)` (raw list items), splitting
    /// ranges that exceed the listing window.
    async fn list(
        &self,
        cloud: Option<&str>,
        start_ms: i64,
        end_ms: i64,
        unit: Unit,
        notes: &mut JsmWireNotes,
    ) -> Result<Vec<Value>, SourceError> {
        // Alerts one listing reaches: offset + size < window.
        let reach = self.result_window.saturating_sub(1).max(1);
        let mut items = Vec::new();
        let mut stack = vec![(start_ms, end_ms)];
        while let Some((s, e)) = stack.pop() {
            let query = self.search_query(s, e, unit);
            let mut offset = 0usize;
            loop {
                let size = self.page_size.min(reach - offset);
                let req = self
                    .request(cloud, "alerts", &["v1", "alerts"])
                    .query("query", &query)
                    .query("offset", offset.to_string())
                    .query("size", size.to_string())
                    .query("sort", "createdAt")
                    .query("order", "asc");
                let body: Value = self.api.get_json(&req).await.map_err(|e| self.error(e))?;
                notes.pages += 1;
                let page = wire::ListPage::read(body).map_err(|err| {
                    Self::protocol("alerts", format!("page at offset {offset}: {err}"))
                })?;
                if page.count.is_none() {
                    notes.pages_without_count += 1;
                }
                let n = page.values.len();
                // Outside the asked range: only in milliseconds is that the
                // server ignoring the filter (seconds round the bounds).
                let outside = page
                    .values
                    .iter()
                    .filter(|v| created_ms(v).is_some_and(|t| t < s || t >= e))
                    .count();
                let ignored = unit == Unit::Millis && outside > 0;
                if offset == 0 && page.count.is_some_and(|c| c > reach as u64) {
                    self.split(&mut stack, (s, e), unit, ignored, notes)?;
                    break;
                }
                notes.outside_range += outside as u64;
                let has_next = page.next.is_some();
                // Either signal of more is followed: a listing that shifts while
                // it is read (new alerts) repeats items, so the count alone
                // would stop short; an empty page ends it either way.
                let more = has_next || page.count.is_some_and(|c| ((offset + n) as u64) < c);
                if more && n > 0 {
                    let form = match page.next.as_deref() {
                        Some(link) if link.contains("://") => "absolute",
                        Some(_) => "relative",
                        None => "absent",
                    };
                    bump(&mut notes.next_links, form);
                }
                items.extend(
                    page.values
                        .into_iter()
                        .filter(|v| !created_ms(v).is_some_and(|t| t < s || t >= e)),
                );
                offset += n;
                // A short page is not the last one: servers may serve fewer
                // than asked; only the count or the next link says "done".
                if n == 0 || !more {
                    break;
                }
                if offset >= reach {
                    // More remain beyond the window and the server sent no count.
                    self.split(&mut stack, (s, e), unit, ignored, notes)?;
                    break;
                }
            }
        }
        Ok(items)
    }

    /// Push the halves of `range` (first half on top), or fail when it
    /// cannot be split usefully.
    fn split(
        &self,
        stack: &mut Vec<(i64, i64)>,
        (s, e): (i64, i64),
        unit: Unit,
        filter_ignored: bool,
        notes: &mut JsmWireNotes,
    ) -> Result<(), SourceError> {
        let reach = self.result_window.saturating_sub(1).max(1);
        if filter_ignored {
            return Err(Self::protocol(
                "alerts",
                format!(
                    "more than {reach} alerts match and the server returns alerts outside the createdAt range of `query`, so the range cannot be split to stay within the 20,000-alert window"
                ),
            ));
        }
        let min_span = match unit {
            Unit::Millis => 1,
            Unit::Seconds => 1000,
        };
        if e - s <= min_span {
            let at = chrono::DateTime::from_timestamp_millis(s)
                .map(|t| t.to_rfc3339())
                .unwrap_or_else(|| s.to_string());
            return Err(Self::protocol(
                "alerts",
                format!(
                    "more than {reach} alerts were created within {min_span} ms of {at}: beyond the API's 20,000-alert window"
                ),
            ));
        }
        let mid = s + (e - s) / 2;
        stack.push((mid, e));
        stack.push((s, mid));
        notes.range_splits += 1;
        Ok(())
    }

    /// The close time of a closed alert whose list item had none: the alert
    /// itself, then its activity log. 403/404 fall through (the alert may be
    /// gone, or the log may need more rights).
    async fn close_time_fallback(
        &self,
        cloud: Option<&str>,
        id: &str,
    ) -> Result<Option<(Timestamp, &'static str)>, SourceError> {
        let soft = |e: &dora_http::Error| {
            matches!(
                e.status(),
                Some(StatusCode::NOT_FOUND | StatusCode::FORBIDDEN)
            )
        };
        let req = self.request(cloud, "alert", &["v1", "alerts", id]);
        match self.api.get_json::<Value>(&req).await {
            Ok(body) => {
                // A bare object (the spec), or wrapped in `data`.
                let body = match body.get("data") {
                    Some(d) if d.is_object() => d.clone(),
                    _ => body,
                };
                if let Ok(alert) = wire::Alert::read(&body)
                    && let Some(close) = alert.close_time
                {
                    return Ok(Some((close.at(alert.created_at), "GET /v1/alerts/{id}")));
                }
            }
            Err(e) if soft(&e) => {}
            Err(e) => return Err(self.error(e)),
        }
        let mut after: Option<String> = None;
        let mut earliest: Option<Timestamp> = None;
        for _ in 0..10 {
            let mut req = self
                .request(cloud, "alert logs", &["v1", "alerts", id, "logs"])
                .query("size", "100");
            if let Some(a) = &after {
                req = req.query("after", a);
            }
            let body: Value = match self.api.get_json(&req).await {
                Ok(b) => b,
                Err(e) if soft(&e) => break,
                Err(e) => return Err(self.error(e)),
            };
            let (at, next) = wire::close_log(&body);
            earliest = match (earliest, at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            // The cursor is the `after` parameter of `links.next` (relative or absolute).
            let cursor = next.and_then(|n| {
                let absolute = if n.contains("://") {
                    n
                } else {
                    format!(
                        "http://x{}",
                        if n.starts_with('/') {
                            n
                        } else {
                            format!("/{n}")
                        }
                    )
                };
                url::Url::parse(&absolute).ok().and_then(|u| {
                    u.query_pairs()
                        .find(|(k, _)| k == "after")
                        .map(|(_, v)| v.into_owned())
                })
            });
            match cursor {
                Some(c) if after.as_deref() != Some(c.as_str()) => after = Some(c),
                _ => break,
            }
        }
        Ok(earliest.map(|t| (t, "the activity log")))
    }

    /// Team id → name, when the mapping names teams (needs
    /// `read:ops-config:jira-service-management`; without it, ids only).
    async fn team_names(
        &self,
        cloud: Option<&str>,
        notes: &mut JsmWireNotes,
    ) -> Result<BTreeMap<String, String>, SourceError> {
        if self.options.norm.repositories.teams.is_empty() {
            return Ok(BTreeMap::new());
        }
        let req = self.request(cloud, "teams", &["v1", "teams"]);
        match self.api.get_json::<Value>(&req).await {
            Ok(body) => {
                let teams: BTreeMap<String, String> = wire::teams(&body).into_iter().collect();
                notes.team_names = Some(format!("{} teams", teams.len()));
                Ok(teams)
            }
            Err(e) => {
                let why = e
                    .status()
                    .map(|s| format!("HTTP {}", s.as_u16()))
                    .unwrap_or_else(|| "no answer".into());
                notes.team_names = Some(format!(
                    "unavailable ({why}; map teams by id, or grant read:ops-config:jira-service-management)"
                ));
                tracing::warn!(target: "dora_incidents::jsm", "team names unavailable: {why}");
                Ok(BTreeMap::new())
            }
        }
    }

    async fn collect(
        &self,
        request: &IncidentRequest,
        notes: &mut JsmWireNotes,
    ) -> Result<IncidentBatch, SourceError> {
        let range = request.range;
        let mut batch = IncidentBatch {
            service_mapping: !self.options.norm.repositories.is_empty(),
            ..IncidentBatch::default()
        };
        if crate::transport::is_empty(&range) {
            return Ok(batch);
        }
        let cloud = self.cloud_segment().await?;
        let cloud = cloud.as_deref();
        let (start, end) = (range.start.timestamp_millis(), range.end.timestamp_millis());
        let mut raw = self.list(cloud, start, end, Unit::Millis, notes).await?;
        let mut unit = Unit::Millis;
        if raw.is_empty() {
            // The query's time unit is unconfirmed: one probe in seconds.
            let probe = self.list(cloud, start, end, Unit::Seconds, notes).await?;
            if probe
                .iter()
                .any(|v| created_ms(v).is_some_and(|t| t >= start && t < end))
            {
                unit = Unit::Seconds;
                raw = probe;
            }
        }
        if !raw.is_empty() {
            notes.query_time_unit = Some(unit.name().into());
        }
        let teams = self.team_names(cloud, notes).await?;
        let skip = |id: Option<String>, reason: &str, detail: String| {
            SkippedEvent::new(EventKind::Incident, Some(SOURCE.into()), id, reason, detail)
        };
        // One item per id: the last listed wins (a list that shifted between pages).
        let mut by_id: BTreeMap<String, Value> = BTreeMap::new();
        for item in raw {
            match wire::Alert::id_of(&item) {
                Some(id) => {
                    by_id.insert(id, item);
                }
                None => {
                    let err = wire::Alert::read(&item).err();
                    let reason = err.as_ref().map_or("missing_id", |e| e.reason());
                    let detail = err.map_or_else(|| "`id` is missing".into(), |e| e.to_string());
                    batch
                        .skipped
                        .push(skip(None, reason, format!("alerts: {detail}")));
                }
            }
        }
        let mut out: BTreeMap<String, Incident> = BTreeMap::new();
        for (id, item) in by_id {
            let alert = match wire::Alert::read(&item) {
                Ok(a) => a,
                Err(e) => {
                    batch
                        .skipped
                        .push(skip(Some(id), e.reason(), format!("alerts: {e}")));
                    continue;
                }
            };
            if !range.contains(alert.created_at) || !self.wanted(alert.priority.as_deref()) {
                continue;
            }
            if let Some(s) = &alert.status {
                bump(&mut notes.statuses, s);
            } else {
                bump(&mut notes.statuses, "(absent)");
            }
            let lifecycle = match convert::lifecycle(&alert) {
                Ok(l) => l,
                Err(e) => {
                    batch
                        .skipped
                        .push(skip(Some(id), e.reason(), format!("alerts: {e}")));
                    continue;
                }
            };
            let mut resolved_at = None;
            if lifecycle == convert::Lifecycle::Closed {
                if let Some(close) = alert.close_time {
                    bump(&mut notes.close_times, close.shape());
                    resolved_at = Some(close.at(alert.created_at));
                } else {
                    let found = if self.fetch_missing_close_times {
                        self.close_time_fallback(cloud, &id).await?
                    } else {
                        None
                    };
                    let found = found
                        .or_else(|| alert.updated_at.map(|t| (t, "updatedAt (an upper bound)")));
                    if let Some((at, from)) = found {
                        bump(&mut notes.close_times, from);
                        resolved_at = Some(at);
                    }
                }
            }
            match convert::to_incident(alert, lifecycle, resolved_at, &self.options, &teams) {
                Ok(incident) => {
                    out.insert(incident.id.clone(), incident);
                }
                Err(e) => batch
                    .skipped
                    .push(skip(Some(id), e.reason(), format!("alerts: {e}"))),
            }
        }
        batch.incidents = out.into_values().collect();
        Ok(batch)
    }
}

#[async_trait]
impl IncidentSource for Jsm {
    fn name(&self) -> &str {
        SOURCE
    }

    /// Alerts created in `request.range`, in every status.
    async fn incidents(&self, request: &IncidentRequest) -> Result<Vec<Incident>, SourceError> {
        Ok(self.incidents_with_notes(request).await?.incidents)
    }

    /// The alerts, the items that could not be converted (with a reason and
    /// the field at fault), and whether a repository mapping was applied.
    async fn incidents_with_notes(
        &self,
        request: &IncidentRequest,
    ) -> Result<IncidentBatch, SourceError> {
        let mut notes = JsmWireNotes::default();
        let result = self.collect(request, &mut notes).await;
        tracing::info!(target: "dora_incidents::jsm", "jsm: {}", notes.summary());
        match self.notes.lock() {
            Ok(mut n) => *n = notes,
            Err(p) => *p.into_inner() = notes,
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_combines_range_priorities_and_extra() {
        let s = JsmBuilder::new("me@acme.io", "t")
            .with_cloud_id("0f5c7a1e-0000-4000-8000-000000000001")
            .with_priorities(["P1", "P2"])
            .with_query("source:Datadog")
            .build()
            .expect("valid");
        assert_eq!(
            s.search_query(1_500, 2_001, Unit::Millis),
            "createdAt >= 1500 AND createdAt < 2001 AND (priority:P1 OR priority:P2) AND (source:Datadog)"
        );
        let plain = JsmBuilder::new("me@acme.io", "t")
            .with_base_url("http://127.0.0.1:1/jsm/ops/api/x")
            .build()
            .expect("valid");
        assert_eq!(
            plain.search_query(1_500, 2_001, Unit::Seconds),
            "createdAt >= 1 AND createdAt < 3"
        );
        let req = plain.request(None, "alerts", &["v1", "alerts"]);
        assert_eq!(
            req.url().as_str(),
            "http://127.0.0.1:1/jsm/ops/api/x/v1/alerts"
        );
        let by_id = JsmBuilder::new("me@acme.io", "t")
            .with_cloud_id("abc-1")
            .build()
            .expect("valid");
        let req = by_id.request(Some("abc-1"), "alerts", &["v1", "alerts"]);
        assert_eq!(
            req.url().as_str(),
            "https://api.atlassian.com/jsm/ops/api/abc-1/v1/alerts"
        );
    }

    #[test]
    fn builder_checks_and_redacts() {
        let ok = || JsmBuilder::new("me@acme.io", "jsm-secret-1").with_cloud_id("abc");
        assert!(
            JsmBuilder::new("me@acme.io", " ")
                .with_cloud_id("a")
                .build()
                .is_err()
        );
        assert!(
            JsmBuilder::new(" ", "t")
                .with_cloud_id("a")
                .build()
                .is_err()
        );
        assert!(ok().with_priorities(["urgent"]).build().is_err());
        let no_target = JsmBuilder::new("me@acme.io", "t")
            .build()
            .expect_err("no target");
        assert!(
            no_target.to_string().contains("JSM_CLOUD_ID"),
            "{no_target}"
        );
        let bad_id = ok().with_cloud_id("a/b").build().expect_err("bad id");
        assert!(bad_id.to_string().contains("tenant_info"), "{bad_id}");
        let b = ok();
        assert!(!format!("{b:?}").contains("jsm-secret-1"));
        let s = b.build().expect("valid");
        assert!(!format!("{s:?}").contains("jsm-secret-1"));
        assert_eq!(s.target(), &JsmTarget::CloudId("abc".into()));
    }

    #[test]
    fn sites() {
        assert_eq!(
            site_url("acme").as_deref(),
            Ok("https://acme.atlassian.net")
        );
        assert_eq!(
            site_url(" acme.atlassian.net/ ").as_deref(),
            Ok("https://acme.atlassian.net")
        );
        assert_eq!(
            site_url("http://127.0.0.1:8080/x").as_deref(),
            Ok("http://127.0.0.1:8080")
        );
        assert!(site_url("").is_err());
    }

    #[test]
    fn credentials_prefer_the_atlassian_pair() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_string())
            }
        };
        let both = env(&[
            ("ATLASSIAN_EMAIL", "a@x.io"),
            ("ATLASSIAN_API_TOKEN", "ta"),
            ("BITBUCKET_EMAIL", "b@x.io"),
            ("BITBUCKET_API_TOKEN", "tb"),
        ]);
        assert_eq!(
            credentials(&both).ok(),
            Some(("a@x.io".into(), "ta".into()))
        );
        let bb = env(&[("BITBUCKET_EMAIL", "b@x.io"), ("BITBUCKET_API_TOKEN", "tb")]);
        assert_eq!(credentials(&bb).ok(), Some(("b@x.io".into(), "tb".into())));
        let half = env(&[
            ("ATLASSIAN_EMAIL", "a@x.io"),
            ("BITBUCKET_EMAIL", "b@x.io"),
            ("BITBUCKET_API_TOKEN", "tb"),
        ]);
        let e = credentials(&half).expect_err("half a pair");
        assert!(e.to_string().contains("ATLASSIAN_API_TOKEN"), "{e}");
        let none = credentials(&env(&[])).expect_err("nothing");
        assert!(none.to_string().contains("BITBUCKET_API_TOKEN"), "{none}");
        let b = JsmBuilder::from_lookup(env(&[
            ("BITBUCKET_EMAIL", "b@x.io"),
            ("BITBUCKET_API_TOKEN", "tb"),
            ("JSM_SITE", "acme"),
        ]))
        .expect("from env");
        assert_eq!(b.target, Some(JsmTarget::Site("acme".into())));
    }

    #[test]
    fn auth_errors_name_the_scope_and_service_accounts() {
        let s = JsmBuilder::new("me@acme.io", "t")
            .with_cloud_id("abc")
            .build()
            .expect("valid");
        for status in [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN] {
            let err = s.error(dora_http::Error::Status {
                endpoint: "alerts".into(),
                status,
                message: Some("scope does not match".into()),
                attempts: 1,
            });
            let text = err.to_string();
            assert!(matches!(err, SourceError::Auth { .. }), "{text}");
            assert!(
                text.contains(JSM_ALERTS_SCOPE)
                    && text.contains("service accounts cannot call this API")
                    && text.contains("alerts")
                    && text.contains("ATLASSIAN_API_TOKEN"),
                "{text}"
            );
        }
        let err = s.error(dora_http::Error::Status {
            endpoint: "alerts".into(),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: None,
            attempts: 1,
        });
        assert!(matches!(err, SourceError::Protocol { .. }), "{err}");
    }

    #[test]
    fn notes_summarise() {
        let mut n = JsmWireNotes::default();
        assert_eq!(n.summary(), "0 pages");
        n.pages = 2;
        bump(&mut n.next_links, "relative");
        bump(&mut n.close_times, "closeTime (RFC 3339)");
        n.query_time_unit = Some("milliseconds".into());
        assert_eq!(
            n.summary(),
            "2 pages; links.next relative ×1; close time from closeTime (RFC 3339) ×1; query time unit milliseconds"
        );
    }
}
