//! Source traits that adapters and vendors implement.
//!
//! Two small traits, each holding only what an implementer must write:
//! [`DeliverySource`] (pull requests with review activity, commits, deployments,
//! environments) and [`IncidentSource`]. Conveniences live in [`SourceExt`],
//! implemented for every pair of sources. Neither trait depends on any HTTP
//! code: a vendor implements them with whatever client they like.
//!
//! # Contract
//!
//! - Times are UTC; a source converts before returning.
//! - Events are returned in any order, de-duplicated by their id within the
//!   repository (the core never relies on order; it sorts itself).
//! - A source returns what overlaps the requested [`TimeRange`] **plus the history
//!   attribution needs**: production deployments from before `range.start` (so the
//!   baseline of what was already deployed is known) and the commits those
//!   deployments and the PRs reach. Returning more than asked is fine.
//! - "Nothing found" is an empty list, not an error. A repository or workspace
//!   that does not exist is [`SourceError::NotFound`].
//!
//! The public suite `dora_core::conformance` (feature `conformance`) checks
//! any source against this contract: run it in your source's tests.

use crate::model::{Dataset, Incident, SkippedEvent};
pub use crate::time::TimeRange;
use async_trait::async_trait;
use std::time::Duration;

/// Why a source failed. Adapters convert their private errors into these.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// Credentials missing, wrong or lacking a scope.
    #[error("{source_name}: authentication failed: {message}{}", hint_suffix(hint))]
    Auth {
        /// Which source (`bitbucket`, `pagerduty`, ...).
        source_name: String,
        /// What was rejected, and where.
        message: String,
        /// What to do about it, when the source knows better than a generic
        /// "check the credentials" (see [`SourceError::hint`]).
        hint: Option<String>,
        /// The underlying error (e.g. the HTTP status error).
        #[source]
        source: Option<BoxError>,
    },
    /// The rate limit was exhausted and retries gave up.
    #[error("{source_name}: rate limited on {endpoint}{}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// Which source.
        source_name: String,
        /// The endpoint that was limited.
        endpoint: String,
        /// When the server said to retry.
        retry_after: Option<Duration>,
    },
    /// A workspace, repository or other resource does not exist (or is hidden).
    #[error("{source_name}: not found: {what}{}", hint_suffix(hint))]
    NotFound {
        /// Which source.
        source_name: String,
        /// What was not found.
        what: String,
        /// What to check, when the source knows (see [`SourceError::hint`]).
        hint: Option<String>,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
    /// The server answered with something we could not use.
    #[error("{source_name}: {endpoint}: {message}")]
    Protocol {
        /// Which source.
        source_name: String,
        /// The endpoint at fault (and page, when paginated).
        endpoint: String,
        /// What was wrong.
        message: String,
        /// The underlying error (e.g. the JSON decode error).
        #[source]
        source: Option<BoxError>,
    },
    /// Configuration of the source is invalid.
    #[error("{source_name}: invalid configuration: {message}")]
    Config {
        /// Which source.
        source_name: String,
        /// What is wrong.
        message: String,
    },
    /// Anything else, with its cause.
    #[error("{source_name}: {message}")]
    Other {
        /// Which source.
        source_name: String,
        /// What failed.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
}

/// The cause an error keeps.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A hint as the error's message shows it: after the message, one space apart.
fn hint_suffix(hint: &Option<String>) -> String {
    hint.as_deref().map(|h| format!(" {h}")).unwrap_or_default()
}

impl SourceError {
    /// The name of the source that failed.
    pub fn source_name(&self) -> &str {
        match self {
            Self::Auth { source_name, .. }
            | Self::RateLimited { source_name, .. }
            | Self::NotFound { source_name, .. }
            | Self::Protocol { source_name, .. }
            | Self::Config { source_name, .. }
            | Self::Other { source_name, .. } => source_name,
        }
    }

    /// Credentials were rejected: `message` says what and where.
    pub fn auth(source_name: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Auth {
            source_name: source_name.into(),
            message: message.into(),
            hint: None,
            source: None,
        }
    }

    /// A resource does not exist (or is hidden): `what` names it.
    pub fn not_found(source_name: impl Into<String>, what: impl Into<String>) -> Self {
        Self::NotFound {
            source_name: source_name.into(),
            what: what.into(),
            hint: None,
            source: None,
        }
    }

    /// The server answered `endpoint` with something unusable.
    pub fn protocol(
        source_name: impl Into<String>,
        endpoint: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::Protocol {
            source_name: source_name.into(),
            endpoint: endpoint.into(),
            message: message.into(),
            source: None,
        }
    }

    /// The same error with the advice a user needs (authentication and
    /// not-found errors; other variants are returned unchanged). The message
    /// shows it; callers that print their own advice print it only when
    /// [`hint`](Self::hint) is `None`, so it is said once.
    ///
    /// ```
    /// use dora_core::SourceError;
    /// let e = SourceError::auth("bitbucket", "HTTP 401 on repositories: the credentials were rejected.")
    ///     .with_hint("Use an Atlassian API token.");
    /// assert_eq!(e.hint(), Some("Use an Atlassian API token."));
    /// assert_eq!(
    ///     e.to_string(),
    ///     "bitbucket: authentication failed: HTTP 401 on repositories: the credentials were rejected. Use an Atlassian API token."
    /// );
    /// ```
    #[must_use]
    pub fn with_hint(mut self, advice: impl Into<String>) -> Self {
        if let Self::Auth { hint, .. } | Self::NotFound { hint, .. } = &mut self {
            *hint = Some(advice.into());
        }
        self
    }

    /// The same error keeping its cause as [`source()`](std::error::Error::source)
    /// (rate-limit and configuration errors carry none and are returned unchanged).
    #[must_use]
    pub fn with_source(mut self, cause: impl Into<BoxError>) -> Self {
        if let Self::Auth { source, .. }
        | Self::NotFound { source, .. }
        | Self::Protocol { source, .. }
        | Self::Other { source, .. } = &mut self
        {
            *source = Some(cause.into());
        }
        self
    }

    /// The source's own advice, when it gave one (already part of the message).
    pub fn hint(&self) -> Option<&str> {
        match self {
            Self::Auth { hint, .. } | Self::NotFound { hint, .. } => hint.as_deref(),
            _ => None,
        }
    }
}

/// Options for [`DeliverySource::collect`]; new knobs never break the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CollectRequest {
    /// The window the report will cover.
    pub range: TimeRange,
}

impl CollectRequest {
    /// A request for `range`.
    pub fn new(range: TimeRange) -> Self {
        Self { range }
    }
}

/// Options for [`IncidentSource::incidents`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IncidentRequest {
    /// Incidents *opened* in this range are returned, resolved or not (an
    /// unresolved incident has `resolved_at: None`).
    pub range: TimeRange,
}

impl IncidentRequest {
    /// A request for `range`.
    pub fn new(range: TimeRange) -> Self {
        Self { range }
    }
}

/// A source of delivery data: repositories, commits, pull requests (with first
/// review activity), environments and deployments. See the module docs for the
/// contract.
#[async_trait]
pub trait DeliverySource: Send + Sync {
    /// A short name for messages (`bitbucket`, `github`, ...).
    fn name(&self) -> &str;

    /// Collect everything for the request. The returned dataset's `incidents` is
    /// ignored by callers that also use an [`IncidentSource`].
    async fn collect(&self, request: &CollectRequest) -> Result<Dataset, SourceError>;
}

/// A source of production incidents.
#[async_trait]
pub trait IncidentSource: Send + Sync {
    /// A short name for messages (`pagerduty`, `opsgenie`, ...).
    fn name(&self) -> &str;

    /// Incidents opened in `request.range`, with their resolution when known.
    async fn incidents(&self, request: &IncidentRequest) -> Result<Vec<Incident>, SourceError>;

    /// The incidents plus the items fetched but not convertible, so the report
    /// can account for them (`skipped_events`). The default has no skips;
    /// sources whose converters can refuse an item override it.
    async fn incidents_with_notes(
        &self,
        request: &IncidentRequest,
    ) -> Result<IncidentBatch, SourceError> {
        Ok(IncidentBatch {
            incidents: self.incidents(request).await?,
            ..IncidentBatch::default()
        })
    }
}

impl IncidentBatch {
    /// Put the batch into `data`: its incidents replace `data`'s, its skipped
    /// items join the collection notes, and the mapping flag carries over.
    pub fn apply_to(self, data: &mut Dataset) {
        data.incidents = self.incidents;
        data.collection.skipped.extend(self.skipped);
        data.collection.service_mapping |= self.service_mapping;
    }
}

/// What an [`IncidentSource`] returns from
/// [`incidents_with_notes`](IncidentSource::incidents_with_notes).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentBatch {
    /// The incidents, each once.
    pub incidents: Vec<Incident>,
    /// Items fetched but not convertible, with their reasons.
    pub skipped: Vec<SkippedEvent>,
    /// Whether a service-to-repository mapping was applied (see
    /// [`CollectionNotes::service_mapping`](crate::CollectionNotes::service_mapping)).
    pub service_mapping: bool,
}

/// Conveniences over the source traits, implemented for every [`DeliverySource`].
#[async_trait]
pub trait SourceExt: DeliverySource {
    /// Collect delivery data and, optionally, incidents into one dataset.
    async fn collect_with_incidents(
        &self,
        incidents: Option<&(dyn IncidentSource + '_)>,
        range: TimeRange,
    ) -> Result<Dataset, SourceError> {
        let mut data = self.collect(&CollectRequest::new(range)).await?;
        if let Some(source) = incidents {
            let batch = source
                .incidents_with_notes(&IncidentRequest::new(range))
                .await?;
            batch.apply_to(&mut data);
        }
        data.dedup();
        Ok(data)
    }
}

impl<T: DeliverySource + ?Sized> SourceExt for T {}

/// A source serving a dataset held in memory: the reference implementation,
/// for tests and for data loaded from files.
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    data: Dataset,
}

impl MemorySource {
    /// Serve `data`.
    pub fn new(data: Dataset) -> Self {
        Self { data }
    }
}

#[async_trait]
impl DeliverySource for MemorySource {
    fn name(&self) -> &str {
        "memory"
    }

    async fn collect(&self, _request: &CollectRequest) -> Result<Dataset, SourceError> {
        let mut data = self.data.clone();
        data.incidents.clear();
        Ok(data)
    }
}

#[async_trait]
impl IncidentSource for MemorySource {
    fn name(&self) -> &str {
        "memory"
    }

    async fn incidents(&self, request: &IncidentRequest) -> Result<Vec<Incident>, SourceError> {
        Ok(self
            .data
            .incidents
            .iter()
            .filter(|i| request.range.contains(i.opened_at))
            .cloned()
            .collect())
    }
}

/// What one incremental sync of one scope produced: events to upsert and the
/// cursor to resume from next time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncDelta {
    /// New or changed events (upserted by their keys).
    pub data: Dataset,
    /// Opaque cursor (JSON by convention) the source reads back next time.
    pub cursor: String,
    /// Requests made, for the caller's accounting.
    pub requests: u64,
}

/// One scope of an [`IncrementalSource`] and its stable identity.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Scope {
    /// The scope's name (e.g. `workspace/slug`), the key of its cursor.
    pub name: String,
    /// What identifies the scope across renames (a repository's uuid), when
    /// the source knows it.
    pub id: Option<String>,
}

impl Scope {
    /// A scope with a name and, when known, an identity.
    pub fn new(name: impl Into<String>, id: Option<String>) -> Self {
        Self {
            name: name.into(),
            id,
        }
    }
}

/// The scopes an [`IncrementalSource`] lists for one sync.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScopeList {
    /// The scopes, in sync order.
    pub scopes: Vec<Scope>,
    /// Whether these are all the source's scopes (a whole workspace listed):
    /// a stored scope not among them has left (deleted, or moved out).
    pub exhaustive: bool,
    /// Requests the listing made.
    pub requests: u64,
}

impl ScopeList {
    /// Scopes by name only, not exhaustive, listed without requests.
    pub fn named(names: impl IntoIterator<Item = String>) -> Self {
        Self {
            scopes: names.into_iter().map(|n| Scope::new(n, None)).collect(),
            exhaustive: false,
            requests: 0,
        }
    }

    /// The scopes' names.
    pub fn names(&self) -> Vec<String> {
        self.scopes.iter().map(|s| s.name.clone()).collect()
    }
}

/// A source that can fetch only what changed since its last sync.
///
/// # Contract
///
/// - Work is split into independent *scopes* (e.g. one per repository), each with
///   its own cursor, so an interrupted sync keeps the scopes already stored.
/// - `cursor` is what the previous [`SyncDelta`] of the same scope returned, or
///   `None` on the first sync, which must backfill `range` plus the history
///   attribution needs (as [`DeliverySource::collect`] does).
/// - A delta may repeat events already returned (the store upserts); it must
///   re-fetch events whose state can still change (in-progress deployments,
///   unresolved incidents) and events edited since (by their update time).
/// - When a scope's history was rewritten (a force-push), the delta holds the
///   scope's whole current history and names the repository in
///   `data.collection.rewritten`: the store then marks the commits it no longer
///   holds as unreachable.
#[async_trait]
pub trait IncrementalSource: Send + Sync {
    /// A short name, also the store's cursor namespace (`bitbucket`, `pagerduty`).
    fn name(&self) -> &str;

    /// The scopes to sync.
    async fn scopes(&self) -> Result<Vec<String>, SourceError>;

    /// The scopes to sync with their stable identities (a repository's uuid),
    /// whether the list is every scope the source has (so a stored scope
    /// missing from it has left), and the requests the listing took.
    ///
    /// The default lists [`IncrementalSource::scopes`] without identities and
    /// as not exhaustive: renames are then not followed and no scope is ever
    /// taken to have left.
    async fn scope_list(&self) -> Result<ScopeList, SourceError> {
        Ok(ScopeList::named(self.scopes().await?))
    }

    /// Sync one scope from its cursor.
    async fn sync_scope(
        &self,
        scope: &str,
        range: TimeRange,
        cursor: Option<&str>,
    ) -> Result<SyncDelta, SourceError>;
}
