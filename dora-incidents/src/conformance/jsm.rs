//! A fake of Jira Service Management Operations' alerts API over a
//! [`Scenario`], in the shapes of `api-reference.md` §3b, written by hand (not
//! with the adapter's wire code) so that a drift between the two is caught.
//!
//! Served under `/jsm/ops/api/{cloudId}/v1/…` with `/_edge/tenant_info` at the
//! root, so one local server stands for both `api.atlassian.com` and the site.
//! Where the reference marks a shape unconfirmed, a [`JsmWire`] option serves
//! the other one.

use super::{
    HarnessOptions, Scenario, ScenarioIncident, ServedRequest, ServedResponse, WireFormat,
};
use crate::JsmBuilder;
use chrono::{Duration, SecondsFormat};
use dora_core::{IncidentSource, IncidentStatus, Severity, SourceError, Timestamp};
use serde_json::{Value, json};

/// The cloud id the fake answers for.
pub const JSM_SUITE_CLOUD_ID: &str = "0f5c7a1e-5b2d-4c3e-9a8b-7d6e5f4a3b2c";

/// The Atlassian account email the suite's source sends with the suite's token.
pub const JSM_SUITE_EMAIL: &str = "conformance@example.com";

const TEAM: &str = "4513b7ea-3b91-438f-b7e4-e3e54af9147c";

/// JSM Operations `GET …/v1/alerts` (`query` with `createdAt` bounds, `sort`,
/// `order`, `offset` + `size` below the 20,000-alert window, answered with
/// HTTP 400 beyond it; `{values, count, links.next}`), `GET …/v1/alerts/{id}`,
/// `GET …/v1/alerts/{id}/logs` and `GET https://<site>/_edge/tenant_info`.
///
/// By default: `links.next` relative (null on the last page), `count` sent,
/// `status` `open`/`closed` with the `acknowledged` flag, `closeTime` in every
/// closed list item, open alerts' `closeTime` `null` (P2) or absent (others),
/// `createdAt` bounds in epoch milliseconds, the base URL given with the cloud id.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsmWire {
    absolute_next: bool,
    thin_list: bool,
    full_statuses: bool,
    discover: bool,
    seconds_query: bool,
    no_count: bool,
}

impl JsmWire {
    /// The default shapes.
    pub fn new() -> Self {
        Self::default()
    }

    /// `links.next` as an absolute URL (absent on the last page).
    pub fn with_absolute_next(mut self) -> Self {
        self.absolute_next = true;
        self
    }

    /// List items without `closeTime`: the alert (`GET …/v1/alerts/{id}`)
    /// has it, except for P5 alerts, whose close is only in the activity log.
    pub fn with_thin_list(mut self) -> Self {
        self.thin_list = true;
        self
    }

    /// The spec's full `status` enum: `acked` for acknowledged alerts,
    /// `resolved` for closed P2/P4 alerts.
    pub fn with_full_status_vocabulary(mut self) -> Self {
        self.full_statuses = true;
        self
    }

    /// The source is given the site (this server) and discovers the cloud id.
    pub fn with_site_discovery(mut self) -> Self {
        self.discover = true;
        self
    }

    /// `createdAt` bounds in the query read as epoch seconds.
    pub fn with_query_in_seconds(mut self) -> Self {
        self.seconds_query = true;
        self
    }

    /// Pages without `count`.
    pub fn without_count(mut self) -> Self {
        self.no_count = true;
        self
    }

    fn status(&self, i: &ScenarioIncident) -> &'static str {
        match i.status() {
            IncidentStatus::Resolved
                if self.full_statuses && matches!(i.severity, Severity::P2 | Severity::P4) =>
            {
                "resolved"
            }
            IncidentStatus::Resolved => "closed",
            IncidentStatus::Acknowledged if self.full_statuses => "acked",
            _ => "open",
        }
    }

    /// The alert as `GET …/v1/alerts/{id}` serves it; `list` thins it.
    fn alert_json(&self, i: &ScenarioIncident, list: bool) -> Value {
        let t = |t: Timestamp| t.to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut v = json!({
            "id": i.id, "tinyId": "1234",
            "createdAt": t(i.opened_at),
            // Later than the close: closeTime must win over updatedAt.
            "updatedAt": t(i.resolved_at.unwrap_or(i.opened_at) + Duration::hours(2)),
            "message": i.title, "entity": format!("{}-host", i.service), "source": "Datadog",
            "status": self.status(i), "alias": format!("{}-alias", i.id),
            "tags": [format!("service:{}", i.service), "env:prod"],
            "extraProperties": {"environment": "production", "paged": true},
            "description": "", "acknowledged": i.acknowledged, "count": 1, "owner": "Jane Doe",
            "snoozed": false, "lastOccuredAt": t(i.opened_at),
            "integrationType": "API", "integrationName": "Default API",
            "priority": i.severity.to_string(),
            "responders": [{"id": TEAM, "type": "team"}, {"id": "bb4d9938-c3c2-455d-aaab-727aa701c0d8", "type": "user"}],
            "actions": [], "seen": true,
        });
        if i.acknowledged {
            v["ackTime"] = json!(t(i.opened_at + Duration::minutes(1)));
        }
        match i.resolved_at {
            Some(r) => {
                let thin = self.thin_list && list;
                let log_only = self.thin_list && i.severity == Severity::P5;
                if !thin && !log_only {
                    v["closeTime"] = json!(t(r));
                }
            }
            // Both shapes of "not closed".
            None if i.severity == Severity::P2 => {
                v["closeTime"] = Value::Null;
                v["snoozedUntil"] = Value::Null;
            }
            None => {}
        }
        v
    }

    fn matches(&self, query: &str, created: Timestamp) -> bool {
        let at = if self.seconds_query {
            created.timestamp()
        } else {
            created.timestamp_millis()
        };
        query.split(" AND ").map(str::trim).all(|term| {
            let Some(rest) = term.strip_prefix("createdAt") else {
                return true;
            };
            let rest = rest.trim_start();
            let (op, value) = [">=", "<=", ">", "<"]
                .iter()
                .find_map(|op| rest.strip_prefix(op).map(|v| (*op, v)))
                .unwrap_or(("?", ""));
            let Ok(bound) = value.trim().parse::<i64>() else {
                return true;
            };
            match op {
                ">=" => at >= bound,
                "<=" => at <= bound,
                ">" => at > bound,
                "<" => at < bound,
                _ => true,
            }
        })
    }

    fn list(
        &self,
        scenario: &Scenario,
        options: &HarnessOptions,
        r: &ServedRequest,
    ) -> ServedResponse {
        let size = match r.param("size").map(str::parse::<usize>) {
            None => 20,
            Some(Ok(n)) if (1..=100).contains(&n) => n,
            _ => return errors(422, "size must be between 1 and 100"),
        };
        let Ok(offset) = r.param("offset").unwrap_or("0").parse::<usize>() else {
            return errors(422, "offset must be a non-negative integer");
        };
        let window = options.result_ceiling.unwrap_or(20_000);
        if offset + size >= window {
            return errors(400, "More than 20000 alerts cannot be retrieved");
        }
        let query = r.param("query").unwrap_or_default();
        let mut selected: Vec<&ScenarioIncident> = scenario
            .incidents
            .iter()
            .filter(|i| self.matches(query, i.opened_at))
            .collect();
        selected.sort_by(|a, b| (a.opened_at, &a.id).cmp(&(b.opened_at, &b.id)));
        if r.param("order") != Some("asc") {
            selected.reverse();
        }
        let count = selected.len();
        // A server may serve fewer than asked (short pages), and a listing
        // that shifts while it is read repeats the previous page's last item.
        let served = options.served(size);
        let start = options.page_start(offset, served);
        let values: Vec<Value> = selected
            .into_iter()
            .skip(start)
            .take(served)
            .map(|i| {
                let mut v = self.alert_json(i, true);
                options.spoil(&i.id, &mut v, "createdAt");
                v
            })
            .collect();
        let next = offset + values.len();
        let more = start + served < count;
        let links = match (more, self.absolute_next) {
            (true, false) => {
                json!({"next": format!("/v1/alerts?offset={next}&size={size}")})
            }
            (true, true) => json!({"next": format!(
                "{}/jsm/ops/api/{JSM_SUITE_CLOUD_ID}/v1/alerts?offset={next}&size={size}",
                r.base_url
            )}),
            (false, false) => json!({"next": null}),
            (false, true) => json!({}),
        };
        let mut body = json!({"values": values, "links": links});
        if !self.no_count {
            body["count"] = json!(count);
        }
        ServedResponse::json(&body)
    }
}

fn errors(status: u16, title: &str) -> ServedResponse {
    ServedResponse::status_json(
        status,
        &json!({"errors": [{"title": title, "code": status.to_string()}]}),
    )
}

/// Standard base64 with padding (the fake checks the Basic header itself).
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl WireFormat for JsmWire {
    fn source_name(&self) -> &str {
        "jsm"
    }

    fn respond(
        &self,
        scenario: &Scenario,
        options: &HarnessOptions,
        request: &ServedRequest,
    ) -> ServedResponse {
        let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
        match segments.as_slice() {
            ["_edge", "tenant_info"] => {
                ServedResponse::json(&json!({"cloudId": JSM_SUITE_CLOUD_ID}))
            }
            ["jsm", "ops", "api", cloud, rest @ ..] if *cloud == JSM_SUITE_CLOUD_ID => match rest {
                ["v1", "alerts"] => self.list(scenario, options, request),
                ["v1", "alerts", id] => match scenario.incidents.iter().find(|i| i.id == *id) {
                    Some(i) => ServedResponse::json(&self.alert_json(i, false)),
                    None => errors(404, "Alert not found"),
                },
                ["v1", "alerts", id, "logs"] => {
                    match scenario.incidents.iter().find(|i| i.id == *id) {
                        Some(i) => {
                            let t = |t: Timestamp| t.to_rfc3339_opts(SecondsFormat::Millis, true);
                            let mut values =
                                vec![json!({"logTime": t(i.opened_at), "logType": "system",
                            "log": "Alert created via API", "owner": "System"})];
                            if let Some(r) = i.resolved_at {
                                values.push(json!({"logTime": t(r), "logType": "close",
                                "log": "Alert closed by Jane Doe", "owner": "Jane Doe"}));
                            }
                            ServedResponse::json(
                                &json!({"values": values, "links": {"next": null}}),
                            )
                        }
                        None => errors(404, "Alert not found"),
                    }
                }
                ["v1", "teams"] => ServedResponse::json(
                    &json!({"platformTeams": [{"teamId": TEAM, "teamName": "Platform"}]}),
                ),
                _ => errors(404, "Not Found"),
            },
            _ => errors(404, "Not Found"),
        }
    }

    fn authorized(&self, request: &ServedRequest, token: &str) -> bool {
        // The site's tenant_info is public.
        request.path.starts_with("/_edge/")
            || request.header("authorization")
                == Some(
                    format!(
                        "Basic {}",
                        base64(format!("{JSM_SUITE_EMAIL}:{token}").as_bytes())
                    )
                    .as_str(),
                )
    }

    fn unauthorized(&self) -> ServedResponse {
        ServedResponse::status_json(
            401,
            &json!({"code": 401, "message": "Unauthorized; scope does not match"}),
        )
    }

    fn source(
        &self,
        base_url: &str,
        token: &str,
        options: &HarnessOptions,
    ) -> Result<Box<dyn IncidentSource>, SourceError> {
        let mut b = JsmBuilder::new(JSM_SUITE_EMAIL, token)
            .with_page_size(options.page_size)
            .with_repository_mapping(options.mapping.clone());
        b = if self.discover {
            b.with_site(base_url)
                .with_api_root(format!("{base_url}/jsm/ops/api"))
        } else {
            b.with_base_url(format!("{base_url}/jsm/ops/api/{JSM_SUITE_CLOUD_ID}"))
        };
        if let Some(c) = options.result_ceiling {
            b = b.with_result_window(c);
        }
        if options.fast_retries {
            b = b.with_retry_policy(dora_http::RetryPolicy::default().with_delays(
                std::time::Duration::from_millis(1),
                std::time::Duration::from_millis(5),
            ));
        }
        Ok(Box::new(b.build()?))
    }

    fn raw_severity(&self, incident: &ScenarioIncident) -> Option<String> {
        Some(incident.severity.to_string())
    }

    fn has_result_ceiling(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
