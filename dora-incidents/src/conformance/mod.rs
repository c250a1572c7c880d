//! The conformance suite every [`IncidentSource`] should pass: ours and yours.
//!
//! One tool-independent [`Scenario`] of incidents is expressed in a tool's wire
//! format by a [`WireFormat`] (a small fake of the tool's API) and served by a
//! real HTTP server on 127.0.0.1 ([`MockServer`]). The source under test, pointed
//! at that server, must return exactly the normalised incidents the scenario
//! describes — whatever the tool. The suite then repeats the exercise across
//! several pages, at a result ceiling (PagerDuty's offset limit), behind a 429
//! with `Retry-After`, behind a burst of 5xx answers, with a malformed page,
//! with unreadable items (reported as skipped with a stable reason, never
//! dropped silently), with pages shorter than asked for, with items repeated
//! across pages (each incident once) and with bad credentials (a clear error
//! that never contains the token).
//!
//! The fakes of PagerDuty, Opsgenie (alerts and incidents) and incident.io are
//! public ([`PagerDutyWire`], [`OpsgenieAlertsWire`], [`OpsgenieIncidentsWire`],
//! [`IncidentIoWire`]). A vendor writes a [`WireFormat`] for their own tool and
//! calls [`run_all`]:
//!
//! ```no_run
//! # async fn demo() {
//! use dora_incidents::conformance::{run_all, PagerDutyWire};
//! run_all(PagerDutyWire::default()).await; // panics with a clear message on failure
//! # }
//! ```
//!
//! The checks are plain `async fn`s that panic on failure, like `assert!`, so
//! they drop into any `#[tokio::test]`.

mod fakes;
mod jsm;
mod server;

pub use fakes::{IncidentIoWire, OpsgenieAlertsWire, OpsgenieIncidentsWire, PagerDutyWire};
pub use jsm::{JSM_SUITE_CLOUD_ID, JSM_SUITE_EMAIL, JsmWire};
pub use server::{Fault, FaultPlan, LoggedRequest, MockServer, ServedRequest, ServedResponse};

use crate::normalization::{MappingKeys, RepositoryMapping};
use chrono::{Duration, TimeZone, Utc};
use dora_core::{
    EventKind, Incident, IncidentBatch, IncidentRequest, IncidentSource, IncidentStatus, Severity,
    SourceError, TimeRange, Timestamp,
};
use std::sync::Arc;

/// One incident of a [`Scenario`], independent of any tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioIncident {
    /// Id (every fake uses it verbatim as the tool's id).
    pub id: String,
    /// Title.
    pub title: String,
    /// The service's name.
    pub service: String,
    /// Severity (every fake expresses it in its own way).
    pub severity: Severity,
    /// When it opened (impact started / triggered).
    pub opened_at: Timestamp,
    /// When it was resolved; `None` while open.
    pub resolved_at: Option<Timestamp>,
    /// Whether someone acknowledged it (for unresolved incidents).
    pub acknowledged: bool,
}

impl ScenarioIncident {
    /// The lifecycle state the scenario implies.
    pub fn status(&self) -> IncidentStatus {
        match (self.resolved_at, self.acknowledged) {
            (Some(_), _) => IncidentStatus::Resolved,
            (None, true) => IncidentStatus::Acknowledged,
            (None, false) => IncidentStatus::Open,
        }
    }
}

/// Incidents to serve and the range to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// The range the source is asked for.
    pub range: TimeRange,
    /// Every incident the fake holds (some outside the range).
    pub incidents: Vec<ScenarioIncident>,
}

fn at(day: u32, hour: u32, minute: u32, second: u32) -> Timestamp {
    Utc.with_ymd_and_hms(2024, 3, day, hour, minute, second)
        .single()
        .unwrap_or_else(|| Utc.timestamp_opt(0, 0).single().unwrap_or_default())
}

impl Scenario {
    /// The range every scenario asks for: March 2024.
    pub fn march_2024() -> TimeRange {
        TimeRange::new(at(1, 0, 0, 0), at(1, 0, 0, 0) + Duration::days(31))
    }

    /// The standard scenario: every severity, resolved and unresolved (open and
    /// acknowledged) incidents, and incidents just outside the range that must
    /// not be returned.
    pub fn standard() -> Self {
        let inc = |id: &str,
                   title: &str,
                   service: &str,
                   severity,
                   opened: Timestamp,
                   resolved: Option<Timestamp>,
                   ack| {
            ScenarioIncident {
                id: id.into(),
                title: title.into(),
                service: service.into(),
                severity,
                opened_at: opened,
                resolved_at: resolved,
                acknowledged: ack,
            }
        };
        let range = Self::march_2024();
        Self {
            range,
            incidents: vec![
                inc(
                    "inc-checkout-101",
                    "Checkout 5xx spike",
                    "checkout-web",
                    Severity::P1,
                    at(5, 10, 12, 0),
                    Some(at(5, 11, 3, 30)),
                    true,
                ),
                inc(
                    "inc-search-102",
                    "Slow search",
                    "search-api",
                    Severity::P2,
                    at(6, 8, 0, 0),
                    None,
                    true,
                ),
                inc(
                    "inc-billing-103",
                    "Invoice emails delayed",
                    "billing",
                    Severity::P3,
                    at(12, 22, 45, 0),
                    Some(at(13, 1, 15, 0)),
                    true,
                ),
                inc(
                    "inc-search-104",
                    "Search index lagging",
                    "search-api",
                    Severity::P4,
                    at(20, 7, 30, 0),
                    None,
                    false,
                ),
                inc(
                    "inc-checkout-105",
                    "Checkout banner typo",
                    "checkout-web",
                    Severity::P5,
                    at(28, 16, 0, 0),
                    Some(at(29, 9, 0, 0)),
                    true,
                ),
                // Just before and at the (exclusive) end of the range: never returned.
                inc(
                    "inc-checkout-099",
                    "Old outage",
                    "checkout-web",
                    Severity::P1,
                    range.start - Duration::hours(2),
                    Some(range.start + Duration::hours(1)),
                    true,
                ),
                inc(
                    "inc-checkout-106",
                    "Next month's outage",
                    "checkout-web",
                    Severity::P1,
                    range.end,
                    Some(range.end + Duration::hours(1)),
                    true,
                ),
            ],
        }
    }

    /// `n` resolved incidents spread evenly over the range (for pagination and
    /// result ceilings), severities cycling P1..P5, services alternating.
    pub fn many(n: usize) -> Self {
        let range = Self::march_2024();
        let span = (range.end - range.start).num_seconds().max(1);
        let step = span / i64::try_from(n.max(1)).unwrap_or(i64::MAX);
        let incidents = (0..n)
            .map(|i| {
                let offset = i64::try_from(i).unwrap_or(0) * step;
                let opened = range.start + Duration::seconds(offset);
                ScenarioIncident {
                    id: format!("inc-bulk-{i:05}"),
                    title: format!("Bulk incident {i}"),
                    service: if i % 2 == 0 {
                        "checkout-web"
                    } else {
                        "search-api"
                    }
                    .into(),
                    severity: Severity::ALL[i % 5],
                    opened_at: opened,
                    resolved_at: Some(
                        opened + Duration::minutes(30 + i64::try_from(i % 7).unwrap_or(0)),
                    ),
                    acknowledged: true,
                }
            })
            .collect();
        Self { range, incidents }
    }

    /// The incidents in the range, in id order.
    pub fn in_range(&self) -> Vec<&ScenarioIncident> {
        let mut v: Vec<&ScenarioIncident> = self
            .incidents
            .iter()
            .filter(|i| self.range.contains(i.opened_at))
            .collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }
}

/// Knobs the suite hands to a [`WireFormat`] for the source and the fake alike.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HarnessOptions {
    /// Items per page the source should ask for (and the fake should serve at most).
    pub page_size: usize,
    /// The mapping the source should apply.
    pub mapping: RepositoryMapping,
    /// The most results one listing may reach (PagerDuty: offset + limit);
    /// `None` for the tool's own (or no) limit.
    pub result_ceiling: Option<usize>,
    /// Shrink retry back-off (not server-requested waits) so fault tests stay fast.
    pub fast_retries: bool,
    /// The most items the fake serves per page, whatever the source asks for
    /// (a server capping its page size); `None` serves what was asked.
    pub server_page_cap: Option<usize>,
    /// Every page after the first starts with the previous page's last item,
    /// as when new items shift the listing while it is being collected.
    pub repeat_across_pages: bool,
    /// Items (by scenario id) the fake serves in an unreadable form.
    pub spoiled: Vec<(String, Spoil)>,
}

/// How a fake spoils one item (see [`HarnessOptions::with_spoiled`]), and the
/// reason the source must report it under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Spoil {
    /// No `id`: reason `missing_id`.
    MissingId,
    /// No creation time: reason `missing_timestamp`.
    MissingTimestamp,
    /// A creation time that is not a timestamp: reason `invalid_timestamp`.
    InvalidTimestamp,
    /// A JSON string instead of an object: reason `not_an_object`.
    NotAnObject,
}

impl Spoil {
    /// The [`dora_core::SkippedEvent::reason`] a source reports.
    pub fn reason(self) -> &'static str {
        match self {
            Self::MissingId => "missing_id",
            Self::MissingTimestamp => "missing_timestamp",
            Self::InvalidTimestamp => "invalid_timestamp",
            Self::NotAnObject => "not_an_object",
        }
    }

    /// Whether the spoiled item still carries its id.
    pub fn keeps_id(self) -> bool {
        matches!(self, Self::MissingTimestamp | Self::InvalidTimestamp)
    }
}

impl HarnessOptions {
    /// The defaults: 25 per page, the suite's mapping, fast retries.
    pub fn new() -> Self {
        Self {
            page_size: 25,
            mapping: suite_mapping(),
            result_ceiling: None,
            fast_retries: true,
            server_page_cap: None,
            repeat_across_pages: false,
            spoiled: Vec::new(),
        }
    }

    /// Serve at most `n` items per page whatever the source asks for.
    pub fn with_server_page_cap(mut self, n: usize) -> Self {
        self.server_page_cap = Some(n.max(1));
        self
    }

    /// Start every page after the first with the previous page's last item.
    pub fn with_repeats_across_pages(mut self) -> Self {
        self.repeat_across_pages = true;
        self
    }

    /// Serve the incident `id` spoiled in the way `how` says.
    pub fn with_spoiled(mut self, id: impl Into<String>, how: Spoil) -> Self {
        self.spoiled.push((id.into(), how));
        self
    }

    /// For an offset-paginated fake: the testkit's PagerDuty-style paging
    /// with these options' ceiling, page cap and repeats.
    pub fn offset_paging(&self) -> dora_testkit::paging::OffsetPaging {
        dora_testkit::paging::OffsetPaging {
            ceiling: self.result_ceiling.unwrap_or(10_000),
            cap: self.server_page_cap,
            repeat_across_pages: self.repeat_across_pages,
        }
    }

    /// For a fake: the items one page serves when asked for `requested`
    /// (after [`HarnessOptions::server_page_cap`]), at least 1.
    pub fn served(&self, requested: usize) -> usize {
        self.offset_paging().served(requested)
    }

    /// For an offset-paginated fake: the index of the first item of the page
    /// the source asked for at `offset` when `served` items are served per
    /// page. With [`HarnessOptions::repeat_across_pages`], each earlier page
    /// shifted the listing by one, so the page starts one item earlier per page
    /// already served (repeating the previous page's last item).
    pub fn page_start(&self, offset: usize, served: usize) -> usize {
        self.offset_paging().page_start(offset, served)
    }

    /// For a fake: spoil `item` (the JSON of scenario incident `id`) as
    /// [`HarnessOptions::spoiled`] asks; `time_key` names the tool's creation
    /// time field.
    pub fn spoil(&self, id: &str, item: &mut serde_json::Value, time_key: &str) {
        let Some((_, how)) = self.spoiled.iter().find(|(s, _)| s == id) else {
            return;
        };
        match how {
            Spoil::MissingId => {
                if let Some(map) = item.as_object_mut() {
                    map.remove("id");
                }
            }
            Spoil::MissingTimestamp => {
                if let Some(map) = item.as_object_mut() {
                    map.remove(time_key);
                }
            }
            Spoil::InvalidTimestamp => {
                item[time_key] = serde_json::json!("the day before yesterday");
            }
            Spoil::NotAnObject => {
                *item = serde_json::json!(format!("incident {id}"));
            }
        }
    }

    /// Set the page size.
    pub fn with_page_size(mut self, n: usize) -> Self {
        self.page_size = n.max(1);
        self
    }

    /// Set a result ceiling.
    pub fn with_result_ceiling(mut self, n: usize) -> Self {
        self.result_ceiling = Some(n);
        self
    }
}

impl Default for HarnessOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// The mapping every check installs: services and a team → repositories.
pub fn suite_mapping() -> RepositoryMapping {
    RepositoryMapping::new()
        .service("checkout-web", ["checkout"])
        .service("search-api", ["search", "search-indexer"])
}

/// A tool's wire format: a fake of its API over a [`Scenario`], and how to
/// build the source under test pointed at that fake.
pub trait WireFormat: Send + Sync + 'static {
    /// The source's name (`Incident::source` of everything it returns).
    fn source_name(&self) -> &str;

    /// Answer one (authorised) request: the tool's real response shapes,
    /// filters and pagination over `scenario.incidents`.
    fn respond(
        &self,
        scenario: &Scenario,
        options: &HarnessOptions,
        request: &ServedRequest,
    ) -> ServedResponse;

    /// Does `request` carry `token` the way the tool expects?
    fn authorized(&self, request: &ServedRequest, token: &str) -> bool;

    /// The tool's answer to missing or wrong credentials.
    fn unauthorized(&self) -> ServedResponse {
        ServedResponse::status_json(401, &serde_json::json!({"message": "Unauthorized"}))
    }

    /// The source under test, pointed at `base_url` with `token`.
    fn source(
        &self,
        base_url: &str,
        token: &str,
        options: &HarnessOptions,
    ) -> Result<Box<dyn IncidentSource>, SourceError>;

    /// The raw severity the tool reports for `incident` (`Incident::raw_severity`).
    fn raw_severity(&self, incident: &ScenarioIncident) -> Option<String>;

    /// The most results one listing may reach, when the tool has a hard
    /// ceiling the source must work around (PagerDuty: 10,000). The suite
    /// lowers it with [`HarnessOptions::result_ceiling`].
    fn has_result_ceiling(&self) -> bool {
        false
    }

    /// The normalised incident the source must return for `incident`. The
    /// default follows the scenario; a tool that cannot express a detail
    /// (Opsgenie incidents have no "acknowledged") adjusts it.
    fn expected(&self, incident: &ScenarioIncident, options: &HarnessOptions) -> Incident {
        scenario_expectation(
            self.source_name(),
            self.raw_severity(incident),
            incident,
            options,
        )
    }
}

/// The normalised incident a scenario incident should become, for a source
/// named `source` reporting `raw_severity` (the default of [`WireFormat::expected`]).
pub fn scenario_expectation(
    source: &str,
    raw_severity: Option<String>,
    incident: &ScenarioIncident,
    options: &HarnessOptions,
) -> Incident {
    let mut out = Incident::new(
        source,
        incident.id.clone(),
        Some(incident.severity),
        incident.opened_at,
        incident.resolved_at,
    );
    out.title = incident.title.clone();
    out.service = Some(incident.service.clone());
    out.raw_severity = raw_severity;
    out.status = incident.status();
    out.repositories = options.mapping.repositories_for(&MappingKeys {
        services: vec![incident.service.clone()],
        ..MappingKeys::default()
    });
    out
}

/// A token no real account uses; every error message is searched for it.
pub const SUITE_TOKEN: &str = "conformance-token-5f3a9c";

/// Start a fake serving `scenario` in `wire`'s format.
pub async fn serve(
    wire: Arc<dyn WireFormat>,
    scenario: Scenario,
    options: &HarnessOptions,
    faults: FaultPlan,
) -> MockServer {
    let server = MockServer::start(wire, scenario, options.clone(), SUITE_TOKEN, faults).await;
    match server {
        Ok(s) => s,
        Err(e) => panic!("conformance: cannot bind a local HTTP server: {e}"),
    }
}

/// Sorted by id, without the web links: a link is the tool's own (PagerDuty
/// `html_url`, incident.io `permalink`; Opsgenie alerts have none), not part
/// of what the suite compares.
fn sorted(mut incidents: Vec<Incident>) -> Vec<Incident> {
    incidents.sort_by(|a, b| a.id.cmp(&b.id));
    for i in &mut incidents {
        i.url = None;
    }
    incidents
}

async fn fetch(
    wire: &dyn WireFormat,
    server: &MockServer,
    token: &str,
    options: &HarnessOptions,
    range: TimeRange,
) -> Result<Vec<Incident>, SourceError> {
    let source = match wire.source(server.base_url(), token, options) {
        Ok(s) => s,
        Err(e) => panic!("{}: cannot build the source: {e}", wire.source_name()),
    };
    assert_eq!(source.name(), wire.source_name(), "the source's name");
    source.incidents(&IncidentRequest::new(range)).await
}

async fn fetch_batch(
    wire: &dyn WireFormat,
    server: &MockServer,
    options: &HarnessOptions,
    range: TimeRange,
) -> Result<IncidentBatch, SourceError> {
    let source = match wire.source(server.base_url(), SUITE_TOKEN, options) {
        Ok(s) => s,
        Err(e) => panic!("{}: cannot build the source: {e}", wire.source_name()),
    };
    source
        .incidents_with_notes(&IncidentRequest::new(range))
        .await
}

fn expected(wire: &dyn WireFormat, scenario: &Scenario, options: &HarnessOptions) -> Vec<Incident> {
    sorted(
        scenario
            .in_range()
            .into_iter()
            .map(|i| wire.expected(i, options))
            .collect(),
    )
}

fn assert_same(name: &str, what: &str, got: Vec<Incident>, want: Vec<Incident>) {
    let got = sorted(got);
    let ids = |v: &[Incident]| v.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
    assert_eq!(
        ids(&got),
        ids(&want),
        "{name} ({what}): incident ids differ"
    );
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w, "{name} ({what}): incident {} differs", w.id);
    }
}

fn assert_no_token(name: &str, err: &SourceError, tokens: &[&str]) {
    let text = format!("{err} {err:?}");
    let mut chain = String::new();
    let mut cause = std::error::Error::source(err);
    while let Some(c) = cause {
        chain.push_str(&format!(" {c} {c:?}"));
        cause = c.source();
    }
    for token in tokens {
        assert!(
            !text.contains(token) && !chain.contains(token),
            "{name}: an error message reveals the token: {text}{chain}"
        );
    }
}

/// The standard scenario maps to exactly the scenario's normalised incidents:
/// ids, titles, services, severities (all of P1..P5: a source never filters by
/// severity unless asked), raw severities, opened and resolved times (none for
/// unresolved incidents), statuses and repositories; nothing outside the range.
pub async fn maps_the_standard_scenario<W: WireFormat>(wire: W) {
    let wire: Arc<dyn WireFormat> = Arc::new(wire);
    let scenario = Scenario::standard();
    let options = HarnessOptions::new();
    let server = serve(
        Arc::clone(&wire),
        scenario.clone(),
        &options,
        FaultPlan::none(),
    )
    .await;
    let got = fetch(
        wire.as_ref(),
        &server,
        SUITE_TOKEN,
        &options,
        scenario.range,
    )
    .await;
    let got =
        got.unwrap_or_else(|e| panic!("{}: standard scenario failed: {e}", wire.source_name()));
    assert_same(
        wire.source_name(),
        "standard scenario",
        got,
        expected(wire.as_ref(), &scenario, &options),
    );
}

/// 23 incidents at 5 per page: every incident once, over at least 5 pages.
pub async fn paginates<W: WireFormat>(wire: W) {
    let wire: Arc<dyn WireFormat> = Arc::new(wire);
    let scenario = Scenario::many(23);
    let options = HarnessOptions::new().with_page_size(5);
    let server = serve(
        Arc::clone(&wire),
        scenario.clone(),
        &options,
        FaultPlan::none(),
    )
    .await;
    let got = fetch(
        wire.as_ref(),
        &server,
        SUITE_TOKEN,
        &options,
        scenario.range,
    )
    .await;
    let got = got.unwrap_or_else(|e| panic!("{}: pagination failed: {e}", wire.source_name()));
    assert_same(
        wire.source_name(),
        "23 incidents, 5 per page",
        got,
        expected(wire.as_ref(), &scenario, &options),
    );
    let requests = server.requests().len();
    assert!(
        requests >= 5,
        "{}: 23 incidents at 5 per page took only {requests} request(s)",
        wire.source_name()
    );
}

/// A range holding more incidents than one listing may reach (45 at a
/// ceiling of 20, 5 per page) is split: every incident once, and no request
/// beyond the ceiling (the fake answers those with the tool's 400).
/// Does nothing for tools without a ceiling.
pub async fn works_around_the_result_ceiling<W: WireFormat>(wire: W) {
    let wire: Arc<dyn WireFormat> = Arc::new(wire);
    if !wire.has_result_ceiling() {
        return;
    }
    let scenario = Scenario::many(45);
    let options = HarnessOptions::new()
        .with_page_size(5)
        .with_result_ceiling(20);
    let server = serve(
        Arc::clone(&wire),
        scenario.clone(),
        &options,
        FaultPlan::none(),
    )
    .await;
    let got = fetch(
        wire.as_ref(),
        &server,
        SUITE_TOKEN,
        &options,
        scenario.range,
    )
    .await;
    let got = got.unwrap_or_else(|e| {
        panic!(
            "{}: result ceiling not worked around: {e}",
            wire.source_name()
        )
    });
    assert_same(
        wire.source_name(),
        "45 incidents, ceiling 20",
        got,
        expected(wire.as_ref(), &scenario, &options),
    );
    let refused: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.status == 400)
        .collect();
    assert!(
        refused.is_empty(),
        "{}: requests beyond the ceiling: {refused:?}",
        wire.source_name()
    );
}

/// A 429 with `Retry-After: 1` in the middle of pagination: the source waits
/// (at least ~1 s) and carries on to the same result.
pub async fn honours_retry_after<W: WireFormat>(wire: W) {
    let wire: Arc<dyn WireFormat> = Arc::new(wire);
    let scenario = Scenario::many(8);
    let options = HarnessOptions::new().with_page_size(5);
    let limited =
        ServedResponse::status_json(429, &serde_json::json!({"message": "TooManyRequests"}))
            .with_header("retry-after", "1");
    let server = serve(
        Arc::clone(&wire),
        scenario.clone(),
        &options,
        FaultPlan::none().at(2, Fault::Respond(limited)),
    )
    .await;
    let got = fetch(
        wire.as_ref(),
        &server,
        SUITE_TOKEN,
        &options,
        scenario.range,
    )
    .await;
    let got =
        got.unwrap_or_else(|e| panic!("{}: did not recover from a 429: {e}", wire.source_name()));
    assert_same(
        wire.source_name(),
        "after a 429",
        got,
        expected(wire.as_ref(), &scenario, &options),
    );
    let log = server.requests();
    assert!(
        log.len() >= 3,
        "{}: the rate-limited request was not retried",
        wire.source_name()
    );
    let waited = log[2].at.duration_since(log[1].at);
    assert!(
        waited >= std::time::Duration::from_millis(900),
        "{}: retried after {waited:?}, but Retry-After said 1 s",
        wire.source_name()
    );
    assert_eq!(
        log[2].request.path,
        log[1].request.path,
        "{}: the retry asked for another page",
        wire.source_name()
    );
}

/// Three 5xx answers in a row (502, 503, 500) are retried to the same result.
pub async fn retries_server_errors<W: WireFormat>(wire: W) {
    let wire: Arc<dyn WireFormat> = Arc::new(wire);
    let scenario = Scenario::standard();
    let options = HarnessOptions::new();
    let fault = |status| {
        Fault::Respond(ServedResponse::status_json(
            status,
            &serde_json::json!({"message": "upstream"}),
        ))
    };
    let plan = FaultPlan::none()
        .at(1, fault(502))
        .at(2, fault(503))
        .at(3, fault(500));
    let server = serve(Arc::clone(&wire), scenario.clone(), &options, plan).await;
    let got = fetch(
        wire.as_ref(),
        &server,
        SUITE_TOKEN,
        &options,
        scenario.range,
    )
    .await;
    let got = got.unwrap_or_else(|e| {
        panic!(
            "{}: did not recover from a 5xx burst: {e}",
            wire.source_name()
        )
    });
    assert_same(
        wire.source_name(),
        "after a 5xx burst",
        got,
        expected(wire.as_ref(), &scenario, &options),
    );
}

/// A page cut in half (invalid JSON) is a [`SourceError::Protocol`] naming the
/// endpoint, never a panic, a partial result or a token in the message.
pub async fn rejects_a_malformed_page<W: WireFormat>(wire: W) {
    let wire: Arc<dyn WireFormat> = Arc::new(wire);
    let scenario = Scenario::many(8);
    let options = HarnessOptions::new().with_page_size(5);
    // Learn how many requests a clean run takes, then spoil the last one (a later page).
    let clean = serve(
        Arc::clone(&wire),
        scenario.clone(),
        &options,
        FaultPlan::none(),
    )
    .await;
    let clean_result = fetch(wire.as_ref(), &clean, SUITE_TOKEN, &options, scenario.range).await;
    if let Err(e) = clean_result {
        panic!("{}: clean run failed: {e}", wire.source_name());
    }
    let last = clean.requests().len();
    let server = serve(
        Arc::clone(&wire),
        scenario.clone(),
        &options,
        FaultPlan::none().at(last, Fault::Truncate),
    )
    .await;
    match fetch(
        wire.as_ref(),
        &server,
        SUITE_TOKEN,
        &options,
        scenario.range,
    )
    .await
    {
        Ok(v) => panic!(
            "{}: a malformed page gave {} incidents instead of an error",
            wire.source_name(),
            v.len()
        ),
        Err(err) => {
            assert_no_token(wire.source_name(), &err, &[SUITE_TOKEN]);
            match &err {
                SourceError::Protocol {
                    endpoint,
                    source_name,
                    ..
                } => {
                    assert!(
                        !endpoint.is_empty(),
                        "{}: the error does not name the endpoint: {err}",
                        wire.source_name()
                    );
                    assert_eq!(source_name, wire.source_name());
                    assert!(err.to_string().contains(endpoint.as_str()), "{err}");
                }
                other => panic!(
                    "{}: a malformed page should be a protocol error, got {other:?}",
                    wire.source_name()
                ),
            }
        }
    }
}

/// Wrong credentials are a [`SourceError::Auth`] that names the source and
/// contains neither the wrong nor the right token.
pub async fn rejects_bad_credentials<W: WireFormat>(wire: W) {
    let wire: Arc<dyn WireFormat> = Arc::new(wire);
    let scenario = Scenario::standard();
    let options = HarnessOptions::new();
    let server = serve(
        Arc::clone(&wire),
        scenario.clone(),
        &options,
        FaultPlan::none(),
    )
    .await;
    let wrong = "wrong-token-77d1e0";
    match fetch(wire.as_ref(), &server, wrong, &options, scenario.range).await {
        Ok(v) => panic!(
            "{}: bad credentials gave {} incidents instead of an error",
            wire.source_name(),
            v.len()
        ),
        Err(err) => {
            assert_no_token(wire.source_name(), &err, &[wrong, SUITE_TOKEN]);
            assert!(
                matches!(err, SourceError::Auth { .. }),
                "{}: bad credentials should be an auth error, got {err:?}",
                wire.source_name()
            );
            assert_eq!(err.source_name(), wire.source_name());
        }
    }
    // Never retried: a 401 will not get better.
    assert_eq!(
        server.requests().len(),
        1,
        "{}: a 401 was retried",
        wire.source_name()
    );
}

/// Items the source fetched but cannot read are reported, not dropped: in the
/// standard scenario three in-range incidents are served spoiled (no creation
/// time, a creation time that is not one, no id) and one is not even an
/// object. `incidents_with_notes` returns the others exactly, and one
/// [`dora_core::SkippedEvent`] per spoiled item with the source's name as
/// scope, the item's id when it has one and a stable reason
/// ([`Spoil::reason`]); `incidents` returns the same incidents. With a
/// repository mapping configured the batch says `service_mapping`; without
/// one it does not.
pub async fn reports_skipped_items<W: WireFormat>(wire: W) {
    let wire: Arc<dyn WireFormat> = Arc::new(wire);
    let name = wire.source_name().to_string();
    let scenario = Scenario::standard();
    let spoils = [
        ("inc-search-102", Spoil::MissingTimestamp),
        ("inc-billing-103", Spoil::InvalidTimestamp),
        ("inc-search-104", Spoil::MissingId),
        ("inc-checkout-105", Spoil::NotAnObject),
    ];
    let mut options = HarnessOptions::new();
    for (id, how) in spoils {
        options = options.with_spoiled(id, how);
    }
    let server = serve(
        Arc::clone(&wire),
        scenario.clone(),
        &options,
        FaultPlan::none(),
    )
    .await;
    let batch = fetch_batch(wire.as_ref(), &server, &options, scenario.range)
        .await
        .unwrap_or_else(|e| panic!("{name}: spoiled items failed the listing: {e}"));
    let want: Vec<Incident> = expected(wire.as_ref(), &scenario, &options)
        .into_iter()
        .filter(|i| !spoils.iter().any(|(id, _)| *id == i.id))
        .collect();
    assert_same(
        &name,
        "spoiled items",
        batch.incidents.clone(),
        want.clone(),
    );
    let mut got: Vec<(Option<String>, String)> = batch
        .skipped
        .iter()
        .map(|s| (s.id.clone(), s.reason.clone()))
        .collect();
    got.sort();
    let mut wanted: Vec<(Option<String>, String)> = spoils
        .iter()
        .map(|(id, how)| {
            (
                how.keeps_id().then(|| (*id).to_string()),
                how.reason().to_string(),
            )
        })
        .collect();
    wanted.sort();
    assert_eq!(got, wanted, "{name}: skipped items (id, reason)");
    for skipped in &batch.skipped {
        assert_eq!(skipped.kind, EventKind::Incident, "{name}: {skipped:?}");
        assert_eq!(
            skipped.scope.as_deref(),
            Some(name.as_str()),
            "{name}: the skipped item's scope names the source"
        );
        assert!(
            !skipped.detail.is_empty(),
            "{name}: a skipped item says why: {skipped:?}"
        );
    }
    assert!(
        batch.service_mapping,
        "{name}: a repository mapping is configured, so the batch must say service_mapping"
    );
    let plain = fetch(
        wire.as_ref(),
        &server,
        SUITE_TOKEN,
        &options,
        scenario.range,
    )
    .await
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_same(&name, "incidents() with spoiled items", plain, want);

    let mut unmapped = HarnessOptions::new();
    unmapped.mapping = RepositoryMapping::new();
    let server = serve(
        Arc::clone(&wire),
        scenario.clone(),
        &unmapped,
        FaultPlan::none(),
    )
    .await;
    let batch = fetch_batch(wire.as_ref(), &server, &unmapped, scenario.range)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(
        !batch.service_mapping,
        "{name}: no repository mapping is configured, yet the batch says service_mapping"
    );
    assert!(
        batch.skipped.is_empty(),
        "{name}: clean items reported as skipped: {:?}",
        batch.skipped
    );
}

/// A server that sends shorter pages than asked for (at most 3 of the 10
/// asked, its own `limit`/links saying so): every incident exactly once —
/// nothing skipped, nothing doubled — over at least 8 requests.
pub async fn survives_short_pages<W: WireFormat>(wire: W) {
    let wire: Arc<dyn WireFormat> = Arc::new(wire);
    let scenario = Scenario::many(23);
    let options = HarnessOptions::new()
        .with_page_size(10)
        .with_server_page_cap(3);
    let server = serve(
        Arc::clone(&wire),
        scenario.clone(),
        &options,
        FaultPlan::none(),
    )
    .await;
    let batch = fetch_batch(wire.as_ref(), &server, &options, scenario.range)
        .await
        .unwrap_or_else(|e| panic!("{}: short pages failed: {e}", wire.source_name()));
    assert_same(
        wire.source_name(),
        "23 incidents, 10 asked per page, 3 served",
        batch.incidents,
        expected(wire.as_ref(), &scenario, &options),
    );
    assert!(
        batch.skipped.is_empty(),
        "{}: {:?}",
        wire.source_name(),
        batch.skipped
    );
    let requests = server.requests().len();
    assert!(
        requests >= 8,
        "{}: 23 incidents at 3 per page took only {requests} request(s)",
        wire.source_name()
    );
}

/// A listing that shifts while it is collected (every page after the first
/// starts with the previous page's last item, also with short pages): every
/// incident exactly once, none reported as skipped.
pub async fn deduplicates_repeated_items<W: WireFormat>(wire: W) {
    let wire: Arc<dyn WireFormat> = Arc::new(wire);
    let scenario = Scenario::many(23);
    for options in [
        HarnessOptions::new()
            .with_page_size(5)
            .with_repeats_across_pages(),
        HarnessOptions::new()
            .with_page_size(10)
            .with_server_page_cap(4)
            .with_repeats_across_pages(),
    ] {
        let server = serve(
            Arc::clone(&wire),
            scenario.clone(),
            &options,
            FaultPlan::none(),
        )
        .await;
        let batch = fetch_batch(wire.as_ref(), &server, &options, scenario.range)
            .await
            .unwrap_or_else(|e| panic!("{}: repeated items failed: {e}", wire.source_name()));
        let mut ids: Vec<&str> = batch.incidents.iter().map(|i| i.id.as_str()).collect();
        let before = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(
            before,
            ids.len(),
            "{}: an incident repeated across pages was returned twice",
            wire.source_name()
        );
        assert_same(
            wire.source_name(),
            "23 incidents, pages overlapping by one",
            batch.incidents,
            expected(wire.as_ref(), &scenario, &options),
        );
        assert!(
            batch.skipped.is_empty(),
            "{}: {:?}",
            wire.source_name(),
            batch.skipped
        );
    }
}

/// Every check, in order.
pub async fn run_all<W: WireFormat + Clone>(wire: W) {
    maps_the_standard_scenario(wire.clone()).await;
    paginates(wire.clone()).await;
    works_around_the_result_ceiling(wire.clone()).await;
    honours_retry_after(wire.clone()).await;
    retries_server_errors(wire.clone()).await;
    rejects_a_malformed_page(wire.clone()).await;
    reports_skipped_items(wire.clone()).await;
    survives_short_pages(wire.clone()).await;
    deduplicates_repeated_items(wire.clone()).await;
    rejects_bad_credentials(wire).await;
}

/// The same scenario served by every format maps to the same normalised
/// incidents, apart from `source` and `raw_severity` (which name the tool).
pub async fn same_incidents_across(formats: &[Arc<dyn WireFormat>]) {
    let scenario = Scenario::standard();
    let options = HarnessOptions::new();
    let mut results: Vec<(String, Vec<Incident>)> = Vec::new();
    for wire in formats {
        let server = serve(
            Arc::clone(wire),
            scenario.clone(),
            &options,
            FaultPlan::none(),
        )
        .await;
        let got = fetch(
            wire.as_ref(),
            &server,
            SUITE_TOKEN,
            &options,
            scenario.range,
        )
        .await;
        let got = got.unwrap_or_else(|e| panic!("{}: {e}", wire.source_name()));
        let neutral = sorted(got)
            .into_iter()
            .map(|mut i| {
                i.source.clear();
                i.raw_severity = None;
                i
            })
            .collect();
        results.push((wire.source_name().to_string(), neutral));
    }
    if let Some((first_name, first)) = results.first() {
        for (name, other) in &results[1..] {
            assert_eq!(
                first, other,
                "{first_name} and {name} disagree on the same scenario"
            );
        }
    }
}
