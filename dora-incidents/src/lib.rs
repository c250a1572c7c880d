//! # dora-incidents: PagerDuty, Opsgenie and incident.io as incident sources
//!
//! Each adapter implements [`dora_core::IncidentSource`] and returns one
//! normalised [`dora_core::Incident`] shape:
//!
//! | | [`PagerDuty`] | [`Opsgenie`] | [`IncidentIo`] |
//! |---|---|---|---|
//! | credential (env) | `PAGERDUTY_TOKEN` | `OPSGENIE_API_KEY` | `INCIDENTIO_API_KEY` |
//! | severity | `priority.summary` P1..P5; else urgency high → P2, low → P4 | `priority` P1..P5 | rank among `/v1/severities`: highest → P1 |
//! | opened | `created_at` | alert `createdAt`; incident `impactStartDate` | "Impact started" (else `created_at`) |
//! | resolved | `resolved_at`, else the resolve log entry | alert `createdAt + report.closeTime`; incident `impactEndDate` | "Resolved at", else opened + "Lasted" |
//!
//! Sources return **every** incident opened in the requested range, whatever
//! its severity (the core filters severity, so a report can say how many it
//! left out) and whatever its status (unresolved incidents have
//! `resolved_at: None`). Every severity mapping can be overridden by the raw
//! name ([`SeverityOverrides`]), and a [`RepositoryMapping`] from services,
//! teams and tags fills [`dora_core::Incident::repositories`].
//!
//! Nothing is lost silently: every source overrides
//! [`dora_core::IncidentSource::incidents_with_notes`]. An item repeated across
//! pages (the listing shifted while it was collected) is returned once, the
//! last copy winning; an item that cannot be read is returned as a
//! [`dora_core::SkippedEvent`] with a stable reason (`missing_id`,
//! `invalid_id`, `missing_timestamp`, `invalid_timestamp`, `missing_field`,
//! `invalid_field`, `not_an_object`) instead of failing the listing or being
//! dropped; and the batch's `service_mapping` says whether a
//! [`RepositoryMapping`] is configured. `incidents` returns the same incidents
//! without the notes.
//!
//! HTTP (retries with backoff, `Retry-After`, time-outs, pagination with loop
//! detection, request counting, redacted credentials) comes from `dora-http`.
//! Errors are [`dora_core::SourceError`]s naming the endpoint, never the token.
//!
//! ```no_run
//! use chrono::{Duration, Utc};
//! use dora_core::{IncidentRequest, IncidentSource, TimeRange};
//! use dora_incidents::{PagerDutyBuilder, RepositoryMapping};
//!
//! # async fn run() -> Result<(), dora_core::SourceError> {
//! let pagerduty = PagerDutyBuilder::from_env()? // PAGERDUTY_TOKEN
//!     .with_repository_mapping(RepositoryMapping::new().service("checkout-web", ["checkout"]))
//!     .build()?;
//! let now = Utc::now();
//! let range = TimeRange::new(now - Duration::days(90), now);
//! for incident in pagerduty.incidents(&IncidentRequest::new(range)).await? {
//!     println!("{} {:?} {:?} → {:?}", incident.id, incident.severity, incident.opened_at, incident.resolved_at);
//! }
//! # Ok(()) }
//! ```
//!
//! [`IncidentTool::build`] builds any of them from one [`IncidentSettings`]
//! (token or environment, base URL, normalisation, PagerDuty service ids, the
//! Opsgenie region and API, the JSM site): the path the `dora` command and the
//! Python bindings share.
//!
//! With the `conformance` feature, `conformance` holds the suite every
//! source here passes, public so that vendors can run it on theirs.

#![forbid(unsafe_code)]

mod incidentio;
mod intake;
mod jsm;
pub mod normalization;
mod opsgenie;
mod pagerduty;
mod tool;
mod transport;

/// The former name of [`normalization`], kept so existing paths still resolve.
#[doc(hidden)]
pub use normalization as config;

#[cfg(feature = "conformance")]
pub mod conformance;

/// Re-exported so builders' retry settings name the same type.
pub use dora_http::RetryPolicy;
pub use incidentio::{IncidentIo, IncidentIoBuilder};
pub use jsm::{
    JSM_ALERTS_SCOPE, JSM_API_ROOT, JSM_RESULT_WINDOW, Jsm, JsmBuilder, JsmTarget, JsmWireNotes,
};
pub use normalization::{MappingKeys, Normalization, RepositoryMapping, SeverityOverrides};
pub use opsgenie::{Opsgenie, OpsgenieApi, OpsgenieBuilder, OpsgenieRegion};
pub use pagerduty::{PagerDuty, PagerDutyBuilder};
pub use tool::{AnyIncidentSource, EnvLookup, IncidentSettings, IncidentTool, UnknownIncidentTool};
