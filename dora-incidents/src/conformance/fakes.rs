//! Fakes of the PagerDuty, Opsgenie and incident.io APIs over a [`Scenario`],
//! in the shapes of `shared/api-reference.md`, with each tool's filters and
//! pagination. They write JSON by hand (not with the adapters' wire types) so
//! that a drift between the two is caught.

use super::{
    HarnessOptions, Scenario, ScenarioIncident, ServedRequest, ServedResponse, WireFormat,
};
use crate::{IncidentIoBuilder, OpsgenieBuilder, PagerDutyBuilder};
use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use dora_core::{Incident, IncidentSource, IncidentStatus, Severity, SourceError, Timestamp};
use serde_json::{Value, json};

fn param_usize(request: &ServedRequest, key: &str, default: usize) -> usize {
    request
        .param(key)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn parse_time(text: &str) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn not_found(path: &str) -> ServedResponse {
    ServedResponse::status_json(404, &json!({"message": format!("no route for {path}")}))
}

fn severity_number(s: Severity) -> usize {
    Severity::ALL
        .iter()
        .position(|x| *x == s)
        .map_or(5, |i| i + 1)
}

fn fast_retry(options: &HarnessOptions) -> Option<dora_http::RetryPolicy> {
    options.fast_retries.then(|| {
        dora_http::RetryPolicy::default().with_delays(
            std::time::Duration::from_millis(1),
            std::time::Duration::from_millis(5),
        )
    })
}

// ---------------------------------------------------------------- PagerDuty

/// PagerDuty REST v2: `GET /incidents` (since/until, offset pagination with
/// the offset ceiling answered by HTTP 400, `total=true`) and
/// `GET /incidents/{id}/log_entries`. A P2 incident is expressed without a
/// priority (urgency `high`); resolved P5 incidents lack `resolved_at` (an older
/// payload), so their resolution comes from the resolve log entry.
#[derive(Debug, Clone, Copy, Default)]
pub struct PagerDutyWire;

impl PagerDutyWire {
    fn legacy(incident: &ScenarioIncident) -> bool {
        incident.severity == Severity::P5 && incident.resolved_at.is_some()
    }

    fn incident_json(incident: &ScenarioIncident) -> Value {
        let t = |t: Timestamp| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        let status = match incident.status() {
            IncidentStatus::Resolved => "resolved",
            IncidentStatus::Acknowledged => "acknowledged",
            _ => "triggered",
        };
        let priority = if incident.severity == Severity::P2 {
            Value::Null
        } else {
            json!({"id": format!("PPRI{}", severity_number(incident.severity)), "type": "priority_reference",
                   "summary": incident.severity.to_string(), "self": "https://api.pagerduty.com/priorities/X"})
        };
        let urgency = if incident.severity <= Severity::P3 {
            "high"
        } else {
            "low"
        };
        let changed = incident.resolved_at.unwrap_or(incident.opened_at);
        let mut v = json!({
            "id": incident.id, "type": "incident", "summary": format!("[#1] {}", incident.title),
            "self": format!("https://api.pagerduty.com/incidents/{}", incident.id),
            "incident_number": 1, "title": incident.title,
            "created_at": t(incident.opened_at), "updated_at": t(changed), "status": status,
            "incident_key": null,
            "service": {"id": format!("PSVC-{}", incident.service), "type": "service_reference", "summary": incident.service},
            "assignments": [], "assigned_via": "escalation_policy",
            "last_status_change_at": t(changed),
            "resolved_at": incident.resolved_at.map(t),
            "alert_counts": {"all": 1, "triggered": 0, "resolved": 1},
            "teams": [{"id": "PTEAM01", "type": "team_reference", "summary": "Platform"}],
            "priority": priority, "urgency": urgency,
        });
        if Self::legacy(incident)
            && let Some(map) = v.as_object_mut()
        {
            map.remove("resolved_at");
            // Later than the real resolution: the log entry must win.
            map.insert(
                "last_status_change_at".into(),
                json!(t(changed + Duration::hours(1))),
            );
        }
        v
    }

    fn page(
        options: &HarnessOptions,
        request: &ServedRequest,
        key: &str,
        items: Vec<Value>,
        total: bool,
    ) -> ServedResponse {
        options.offset_paging().page(request, key, items, total)
    }
}

impl WireFormat for PagerDutyWire {
    fn source_name(&self) -> &str {
        "pagerduty"
    }

    fn respond(
        &self,
        scenario: &Scenario,
        options: &HarnessOptions,
        request: &ServedRequest,
    ) -> ServedResponse {
        let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
        match segments.as_slice() {
            ["incidents"] => {
                let since = request.param("since").and_then(parse_time);
                let until = request.param("until").and_then(parse_time);
                let statuses = request.params("statuses[]");
                let urgencies = request.params("urgencies[]");
                let mut selected: Vec<&ScenarioIncident> = scenario
                    .incidents
                    .iter()
                    .filter(|i| {
                        since.is_none_or(|s| i.opened_at >= s)
                            && until.is_none_or(|u| i.opened_at < u)
                    })
                    .collect();
                selected.sort_by(|a, b| (a.opened_at, &a.id).cmp(&(b.opened_at, &b.id)));
                let items: Vec<Value> = selected
                    .into_iter()
                    .map(|i| (i, Self::incident_json(i)))
                    .filter(|(_, v)| {
                        statuses.is_empty() || statuses.iter().any(|s| v["status"] == *s)
                    })
                    .filter(|(_, v)| {
                        urgencies.is_empty() || urgencies.iter().any(|u| v["urgency"] == *u)
                    })
                    .map(|(i, mut v)| {
                        options.spoil(&i.id, &mut v, "created_at");
                        v
                    })
                    .collect();
                let total = request.param("total") == Some("true");
                Self::page(options, request, "incidents", items, total)
            }
            ["incidents", id, "log_entries"] => {
                let Some(incident) = scenario.incidents.iter().find(|i| i.id == *id) else {
                    return not_found(&request.path);
                };
                let t = |t: Timestamp| t.to_rfc3339_opts(SecondsFormat::Secs, true);
                let mut entries = vec![
                    json!({"id": "L1", "type": "trigger_log_entry", "created_at": t(incident.opened_at),
                    "agent": {"id": "PSVC", "type": "service_reference"}, "channel": {"type": "api"},
                    "incident": {"id": incident.id, "type": "incident_reference"}}),
                ];
                if let Some(resolved) = incident.resolved_at {
                    entries.push(json!({"id": "L2", "type": "acknowledge_log_entry", "created_at": t(incident.opened_at + Duration::minutes(1)),
                        "incident": {"id": incident.id, "type": "incident_reference"}}));
                    entries.push(json!({"id": "L3", "type": "resolve_log_entry", "created_at": t(resolved),
                        "agent": {"id": "PUSER01", "type": "user_reference"}, "channel": {"type": "web_ui"},
                        "incident": {"id": incident.id, "type": "incident_reference"}}));
                }
                entries.reverse(); // newest first
                Self::page(options, request, "log_entries", entries, false)
            }
            _ => not_found(&request.path),
        }
    }

    fn authorized(&self, request: &ServedRequest, token: &str) -> bool {
        request.header("authorization") == Some(format!("Token token={token}").as_str())
    }

    fn unauthorized(&self) -> ServedResponse {
        ServedResponse::status_json(
            401,
            &json!({"error": {"message": "Unauthorized", "code": 2006}}),
        )
    }

    fn source(
        &self,
        base_url: &str,
        token: &str,
        options: &HarnessOptions,
    ) -> Result<Box<dyn IncidentSource>, SourceError> {
        let mut b = PagerDutyBuilder::new(token)
            .with_base_url(base_url)
            .with_page_size(options.page_size)
            .with_repository_mapping(options.mapping.clone());
        if let Some(c) = options.result_ceiling {
            b = b.with_offset_ceiling(c);
        }
        if let Some(policy) = fast_retry(options) {
            b = b.with_retry_policy(policy);
        }
        Ok(Box::new(b.build()?))
    }

    fn raw_severity(&self, incident: &ScenarioIncident) -> Option<String> {
        Some(if incident.severity == Severity::P2 {
            "high".into()
        } else {
            incident.severity.to_string()
        })
    }

    fn has_result_ceiling(&self) -> bool {
        true
    }
}

// ---------------------------------------------------------------- Opsgenie

fn og_time(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `createdAt` range terms of an Opsgenie query (`createdAt>=1709251200000`);
/// other terms are not interpreted (the fake is lenient, like an unknown
/// server-side filter would be).
fn created_at_matches(query: &str, created: Timestamp) -> bool {
    let ms = created.timestamp_millis();
    query.split(" AND ").map(str::trim).all(|term| {
        let Some(rest) = term.strip_prefix("createdAt") else {
            return true;
        };
        let (op, value) = if let Some(v) = rest.strip_prefix(">=") {
            (">=", v)
        } else if let Some(v) = rest.strip_prefix("<=") {
            ("<=", v)
        } else if let Some(v) = rest.strip_prefix('>') {
            (">", v)
        } else if let Some(v) = rest.strip_prefix('<') {
            ("<", v)
        } else {
            return true;
        };
        let Ok(bound) = value.trim().parse::<i64>() else {
            return true;
        };
        match op {
            ">=" => ms >= bound,
            "<=" => ms <= bound,
            ">" => ms > bound,
            _ => ms < bound,
        }
    })
}

/// Opsgenie's `paging` over `items`, with `next` as an absolute URL.
fn og_page(
    options: &HarnessOptions,
    request: &ServedRequest,
    path: &str,
    items: Vec<Value>,
    default_limit: usize,
) -> ServedResponse {
    let asked = param_usize(request, "limit", default_limit).clamp(1, 100);
    // A capped server pages by what it serves; its links say so.
    let limit = options.served(asked);
    let offset = param_usize(request, "offset", 0);
    let start = options.page_start(offset, limit);
    let count = items.len();
    let link = |offset: usize| {
        let mut url = url::Url::parse(&format!("{}{path}", request.base_url)).ok();
        if let Some(url) = url.as_mut() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in request.query.iter().filter(|(k, _)| k != "offset") {
                pairs.append_pair(k, v);
            }
            pairs.append_pair("offset", &offset.to_string());
        }
        url.map(|u| u.to_string())
    };
    let mut paging =
        json!({"first": link(0), "last": link(count.saturating_sub(1) / limit * limit)});
    if start + limit < count {
        paging["next"] = json!(link(offset + limit));
    }
    if offset > 0 {
        paging["prev"] = json!(link(offset.saturating_sub(limit)));
    }
    let page: Vec<Value> = items.into_iter().skip(start).take(limit).collect();
    ServedResponse::json(
        &json!({"data": page, "paging": paging, "took": 0.01, "requestId": "9ae63dd7-ed00-4c81-86f0-c4ffd33142c9"}),
    )
}

fn og_sorted<'a>(
    scenario: &'a Scenario,
    request: &ServedRequest,
    created: impl Fn(&ScenarioIncident) -> Timestamp,
) -> Vec<&'a ScenarioIncident> {
    let query = request.param("query").unwrap_or_default();
    let mut v: Vec<&ScenarioIncident> = scenario
        .incidents
        .iter()
        .filter(|i| created_at_matches(query, created(i)))
        .collect();
    v.sort_by(|a, b| (created(a), &a.id).cmp(&(created(b), &b.id)));
    if request.param("order") != Some("asc") {
        v.reverse();
    }
    v
}

fn og_unauthorized() -> ServedResponse {
    ServedResponse::status_json(
        401,
        &json!({"message": "Could not authenticate", "took": 0.0, "requestId": "c0d6e1f2-0000-4000-8000-000000000001"}),
    )
}

fn og_authorized(request: &ServedRequest, token: &str) -> bool {
    request.header("authorization") == Some(format!("GenieKey {token}").as_str())
}

/// Opsgenie `GET /v2/alerts`: `createdAt` range terms in `query`,
/// offset/limit with `paging.next`, `report.closeTime` in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpsgenieAlertsWire;

impl WireFormat for OpsgenieAlertsWire {
    fn source_name(&self) -> &str {
        "opsgenie"
    }

    fn respond(
        &self,
        scenario: &Scenario,
        options: &HarnessOptions,
        request: &ServedRequest,
    ) -> ServedResponse {
        if request.path.trim_end_matches('/') != "/v2/alerts" {
            return not_found(&request.path);
        }
        let items = og_sorted(scenario, request, |i| i.opened_at)
            .into_iter()
            .map(|i| {
                let mut report = json!({});
                if i.acknowledged {
                    report["ackTime"] = json!(60_000);
                    report["acknowledgedBy"] = json!("jane@acme.io");
                }
                if let Some(r) = i.resolved_at {
                    report["closeTime"] = json!((r - i.opened_at).num_milliseconds());
                    report["closedBy"] = json!("jane@acme.io");
                }
                let mut v = json!({
                    "id": i.id, "tinyId": "17", "alias": i.id, "message": i.title,
                    "status": if i.resolved_at.is_some() { "closed" } else { "open" },
                    "acknowledged": i.acknowledged, "isSeen": true,
                    "tags": [format!("service:{}", i.service), "env:prod"], "snoozed": false, "count": 1,
                    "lastOccurredAt": og_time(i.opened_at), "createdAt": og_time(i.opened_at),
                    // Later than the close: closeTime must win over updatedAt.
                    "updatedAt": og_time(i.resolved_at.unwrap_or(i.opened_at) + Duration::hours(2)),
                    "source": "Datadog", "owner": "", "priority": i.severity.to_string(),
                    "teams": [{"id": "8418d193-2dab-4490-b331-8c02cdd196b7"}],
                    "responders": [{"type": "team", "id": "8418d193-2dab-4490-b331-8c02cdd196b7"}],
                    "integration": {"id": "4513b7ea", "name": "Datadog", "type": "Datadog"},
                    "report": report,
                });
                options.spoil(&i.id, &mut v, "createdAt");
                v
            })
            .collect();
        og_page(options, request, "/v2/alerts", items, 20)
    }

    fn authorized(&self, request: &ServedRequest, token: &str) -> bool {
        og_authorized(request, token)
    }

    fn unauthorized(&self) -> ServedResponse {
        og_unauthorized()
    }

    fn source(
        &self,
        base_url: &str,
        token: &str,
        options: &HarnessOptions,
    ) -> Result<Box<dyn IncidentSource>, SourceError> {
        let mut b = OpsgenieBuilder::new(token)
            .with_base_url(base_url)
            .with_page_size(options.page_size)
            .with_repository_mapping(options.mapping.clone());
        if let Some(policy) = fast_retry(options) {
            b = b.with_retry_policy(policy);
        }
        Ok(Box::new(b.build()?))
    }

    fn raw_severity(&self, incident: &ScenarioIncident) -> Option<String> {
        Some(incident.severity.to_string())
    }
}

/// Opsgenie `GET /v1/incidents/`: `query` required, impact start/end dates
/// (opened a few minutes before the incident was created), no
/// "acknowledged" (unresolved incidents are simply open).
#[derive(Debug, Clone, Copy, Default)]
pub struct OpsgenieIncidentsWire;

impl OpsgenieIncidentsWire {
    fn created(incident: &ScenarioIncident) -> Timestamp {
        incident.opened_at + Duration::minutes(3)
    }
}

impl WireFormat for OpsgenieIncidentsWire {
    fn source_name(&self) -> &str {
        "opsgenie"
    }

    fn respond(
        &self,
        scenario: &Scenario,
        options: &HarnessOptions,
        request: &ServedRequest,
    ) -> ServedResponse {
        if request.path.trim_end_matches('/') != "/v1/incidents" {
            return not_found(&request.path);
        }
        if request.param("query").is_none() {
            return ServedResponse::status_json(
                422,
                &json!({"message": "Query is required", "took": 0.0}),
            );
        }
        let items = og_sorted(scenario, request, Self::created)
            .into_iter()
            .map(|i| {
                let mut v = json!({
                    "id": i.id, "tinyId": "17", "message": i.title, "description": "",
                    "status": if i.resolved_at.is_some() { "resolved" } else { "open" },
                    "tags": [format!("service:{}", i.service)], "priority": i.severity.to_string(),
                    "ownerTeam": "8418d193-2dab-4490-b331-8c02cdd196b7",
                    "responders": [{"type": "team", "id": "8418d193-2dab-4490-b331-8c02cdd196b7"}],
                    "impactedServices": [format!("svc-{}", i.service)],
                    "createdAt": og_time(Self::created(i)),
                    "updatedAt": og_time(i.resolved_at.unwrap_or(i.opened_at) + Duration::hours(2)),
                    "impactStartDate": og_time(i.opened_at), "extraProperties": {},
                });
                if let Some(r) = i.resolved_at {
                    v["impactEndDate"] = json!(og_time(r));
                }
                options.spoil(&i.id, &mut v, "createdAt");
                v
            })
            .collect();
        og_page(options, request, "/v1/incidents", items, 20)
    }

    fn authorized(&self, request: &ServedRequest, token: &str) -> bool {
        og_authorized(request, token)
    }

    fn unauthorized(&self) -> ServedResponse {
        og_unauthorized()
    }

    fn source(
        &self,
        base_url: &str,
        token: &str,
        options: &HarnessOptions,
    ) -> Result<Box<dyn IncidentSource>, SourceError> {
        let mut b = OpsgenieBuilder::new(token)
            .with_base_url(base_url)
            .with_incidents_api()
            .with_page_size(options.page_size)
            .with_repository_mapping(options.mapping.clone());
        if let Some(policy) = fast_retry(options) {
            b = b.with_retry_policy(policy);
        }
        Ok(Box::new(b.build()?))
    }

    fn raw_severity(&self, incident: &ScenarioIncident) -> Option<String> {
        Some(incident.severity.to_string())
    }

    fn expected(&self, incident: &ScenarioIncident, options: &HarnessOptions) -> Incident {
        let mut out = super::scenario_expectation(
            self.source_name(),
            self.raw_severity(incident),
            incident,
            options,
        );
        if out.status == IncidentStatus::Acknowledged {
            out.status = IncidentStatus::Open;
        }
        out
    }
}

// ---------------------------------------------------------------- incident.io

const IIO_SEVERITIES: [(&str, &str, i64); 5] = [
    ("01SEV000000000000000000001", "Critical", 50),
    ("01SEV000000000000000000002", "Major", 40),
    ("01SEV000000000000000000003", "Moderate", 30),
    ("01SEV000000000000000000004", "Minor", 20),
    ("01SEV000000000000000000005", "Cosmetic", 10),
];

/// incident.io: `GET /v1/severities` (ranks 50..10, listed least severe
/// first) and `GET /v2/incidents` (`created_at[gte]`/`[lte]` dates, cursor
/// `pagination_meta.after`). Incidents are created two minutes after impact
/// started; resolved P5 incidents have no "Resolved at" value, only the
/// "Lasted" metric. A declined incident inside the range must be dropped.
#[derive(Debug, Clone, Copy, Default)]
pub struct IncidentIoWire;

impl IncidentIoWire {
    fn severity_json(s: Severity) -> Value {
        let (id, name, rank) = IIO_SEVERITIES[severity_number(s) - 1];
        json!({"id": id, "name": name, "description": "", "rank": rank,
               "created_at": "2023-01-01T00:00:00.000000Z", "updated_at": "2023-01-01T00:00:00.000000Z"})
    }

    fn incident_json(i: &ScenarioIncident, declined: bool) -> Value {
        let t = |t: Timestamp| t.to_rfc3339_opts(SecondsFormat::Micros, true);
        let (category, name) = if declined {
            ("declined", "Declined")
        } else {
            match i.status() {
                IncidentStatus::Resolved => ("closed", "Closed"),
                IncidentStatus::Acknowledged => ("live", "Investigating"),
                _ => ("triage", "Triage"),
            }
        };
        let lasted_only = i.severity == Severity::P5;
        let resolved_value = match i.resolved_at {
            Some(r) if !lasted_only => json!({"value": t(r)}),
            _ => json!({}),
        };
        let lasted = match i.resolved_at {
            Some(r) => {
                json!({"duration_metric": {"id": "01DM1", "name": "Lasted"}, "status": "success",
                              "value_seconds": (r - i.opened_at).num_seconds()})
            }
            None => {
                json!({"duration_metric": {"id": "01DM1", "name": "Lasted"}, "status": "timestamps_missing"})
            }
        };
        json!({
            "id": i.id, "reference": "INC-1", "name": i.title, "summary": "", "mode": "standard", "visibility": "public",
            "permalink": format!("https://app.incident.io/acme/incidents/{}", i.id),
            "incident_status": {"id": "01ST1", "name": name, "description": "", "rank": 1, "category": category,
                                "created_at": "2023-01-01T00:00:00.000000Z", "updated_at": "2023-01-01T00:00:00.000000Z"},
            "severity": Self::severity_json(i.severity),
            "incident_type": {"id": "01IT1", "name": "Production Outage", "description": "", "is_default": true,
                              "private_incidents_only": false, "create_in_triage": "optional",
                              "created_at": "2023-01-01T00:00:00.000000Z", "updated_at": "2023-01-01T00:00:00.000000Z"},
            "creator": {"api_key": {"id": "01AK1", "name": "alert-router"}},
            "incident_role_assignments": [],
            "custom_field_entries": [
                {"custom_field": {"id": "01CF1", "name": "Affected services", "description": "", "field_type": "multi_select"},
                 "values": [{"value_catalog_entry": {"id": "01CE1", "name": i.service, "external_id": i.service}}]}
            ],
            "incident_timestamp_values": [
                {"incident_timestamp": {"id": "01TS1", "name": "Impact started", "rank": 1}, "value": {"value": t(i.opened_at)}},
                {"incident_timestamp": {"id": "01TS4", "name": "Resolved at", "rank": 4}, "value": resolved_value}
            ],
            "duration_metrics": [lasted],
            "created_at": t(Self::created(i)), "updated_at": t(i.resolved_at.unwrap_or(i.opened_at) + Duration::hours(3)),
        })
    }

    fn created(i: &ScenarioIncident) -> Timestamp {
        i.opened_at + Duration::minutes(2)
    }

    /// Bounds as dates (inclusive) or timestamps.
    fn bound(text: &str, end_of_day: bool) -> Option<Timestamp> {
        if let Some(t) = parse_time(text) {
            return Some(t);
        }
        let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
        let time = if end_of_day {
            date.and_hms_milli_opt(23, 59, 59, 999)
        } else {
            date.and_hms_opt(0, 0, 0)
        };
        time.map(|t| t.and_utc())
    }
}

impl WireFormat for IncidentIoWire {
    fn source_name(&self) -> &str {
        "incidentio"
    }

    fn respond(
        &self,
        scenario: &Scenario,
        options: &HarnessOptions,
        request: &ServedRequest,
    ) -> ServedResponse {
        match request.path.trim_end_matches('/') {
            "/v1/severities" => {
                // Deliberately least severe first: order must come from the rank.
                let list: Vec<Value> = Severity::ALL
                    .iter()
                    .rev()
                    .map(|s| Self::severity_json(*s))
                    .collect();
                ServedResponse::json(&json!({"severities": list}))
            }
            "/v2/incidents" => {
                let gte = request
                    .param("created_at[gte]")
                    .and_then(|v| Self::bound(v, false));
                let lte = request
                    .param("created_at[lte]")
                    .and_then(|v| Self::bound(v, true));
                let size = param_usize(request, "page_size", 25).clamp(1, 250);
                let mut all: Vec<(Timestamp, String, Value)> = scenario
                    .incidents
                    .iter()
                    .map(|i| {
                        (
                            Self::created(i),
                            i.id.clone(),
                            Self::incident_json(i, false),
                        )
                    })
                    .collect();
                // Noise every listing carries: declined within the range.
                if let Some(first) = scenario.in_range().first() {
                    let mut noise = (*first).clone();
                    noise.id = "inc-declined-000".into();
                    noise.title = "Not an incident".into();
                    all.push((
                        Self::created(&noise),
                        noise.id.clone(),
                        Self::incident_json(&noise, true),
                    ));
                }
                let mut all: Vec<(Timestamp, String, Value)> = all
                    .into_iter()
                    .filter(|(c, _, _)| gte.is_none_or(|g| *c >= g) && lte.is_none_or(|l| *c <= l))
                    .collect();
                all.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
                if request.param("sort_by") != Some("created_at_oldest_first") {
                    all.reverse();
                }
                let size = options.served(size);
                let start = match request.param("after") {
                    None => 0,
                    // With repeats, the page starts at the cursor's own item
                    // (the listing shifted by one since the last page).
                    Some(after) => match all.iter().position(|(_, id, _)| id == after) {
                        Some(p) if options.repeat_across_pages => p,
                        Some(p) => p + 1,
                        None => {
                            return ServedResponse::status_json(
                                422,
                                &json!({"type": "validation_error", "status": 422, "errors": [{"code": "invalid_cursor", "message": "bad cursor"}]}),
                            );
                        }
                    },
                };
                let page: Vec<&(Timestamp, String, Value)> =
                    all.iter().skip(start).take(size).collect();
                let mut meta = json!({"page_size": size, "total_record_count": all.len()});
                if start + size < all.len()
                    && let Some(last) = page.last()
                {
                    meta["after"] = json!(last.1);
                }
                let items: Vec<Value> = page
                    .iter()
                    .map(|(_, id, v)| {
                        let mut v = v.clone();
                        options.spoil(id, &mut v, "created_at");
                        v
                    })
                    .collect();
                ServedResponse::json(&json!({"incidents": items, "pagination_meta": meta}))
            }
            _ => not_found(&request.path),
        }
    }

    fn authorized(&self, request: &ServedRequest, token: &str) -> bool {
        request.header("authorization") == Some(format!("Bearer {token}").as_str())
    }

    fn unauthorized(&self) -> ServedResponse {
        ServedResponse::status_json(
            401,
            &json!({"type": "authentication_error", "status": 401, "errors": [{"code": "unauthenticated", "message": "Invalid API key"}]}),
        )
    }

    fn source(
        &self,
        base_url: &str,
        token: &str,
        options: &HarnessOptions,
    ) -> Result<Box<dyn IncidentSource>, SourceError> {
        let mut b = IncidentIoBuilder::new(token)
            .with_base_url(base_url)
            .with_page_size(options.page_size)
            .with_repository_mapping(options.mapping.clone());
        if let Some(policy) = fast_retry(options) {
            b = b.with_retry_policy(policy);
        }
        Ok(Box::new(b.build()?))
    }

    fn raw_severity(&self, incident: &ScenarioIncident) -> Option<String> {
        Some(
            IIO_SEVERITIES[severity_number(incident.severity) - 1]
                .1
                .to_string(),
        )
    }
}
