//! Pagination styles the fakes share, written once: PagerDuty's classic
//! offset pagination (the demo's PagerDuty and the incident conformance
//! fake both serve it).

use crate::mock::{ServedRequest, ServedResponse};
use serde_json::{Value, json};

/// How an offset-paginated fake pages: PagerDuty's `offset` / `limit`
/// (default 25, at most 100) / `more` / `total=true`, with a hard ceiling on
/// `offset + limit` answered by HTTP 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetPaging {
    /// The most results one listing may reach (PagerDuty: 10,000).
    pub ceiling: usize,
    /// The most items one page serves, whatever the client asks (a capped
    /// server; its `limit` then says so).
    pub cap: Option<usize>,
    /// Each page after the first starts with the previous page's last item
    /// again, as a listing that shifts while it is read does.
    pub repeat_across_pages: bool,
}

impl Default for OffsetPaging {
    /// PagerDuty as it is: a 10,000 ceiling, no cap, no repeats.
    fn default() -> Self {
        Self {
            ceiling: 10_000,
            cap: None,
            repeat_across_pages: false,
        }
    }
}

impl OffsetPaging {
    /// The items one page serves when `requested` are asked for (after the
    /// cap), at least 1.
    pub fn served(&self, requested: usize) -> usize {
        self.cap.map_or(requested, |cap| requested.min(cap)).max(1)
    }

    /// The index of the first item of the page asked for at `offset` when
    /// `served` items are served per page: with repeats, each earlier page
    /// shifted the listing by one.
    pub fn page_start(&self, offset: usize, served: usize) -> usize {
        if self.repeat_across_pages {
            offset - offset / served.max(1)
        } else {
            offset
        }
    }

    /// The page of `items` (under `key`, e.g. `incidents`) that `request`
    /// asks for; `total` adds the item count, as `total=true` asks.
    pub fn page(
        &self,
        request: &ServedRequest,
        key: &str,
        items: Vec<Value>,
        total: bool,
    ) -> ServedResponse {
        let number = |key: &str| {
            request
                .param(key)
                .and_then(|v| v.trim().parse::<usize>().ok())
        };
        let limit = number("limit").unwrap_or(25).clamp(1, 100);
        let offset = number("offset").unwrap_or(0);
        let ceiling = self.ceiling;
        if offset + limit > ceiling {
            return ServedResponse::status_json(
                400,
                &json!({"error": {"message": "Invalid Input Provided", "code": 2001,
                                  "errors": [format!("Offset must be less than {ceiling}")]}}),
            );
        }
        let count = items.len();
        let served = self.served(limit);
        let start = self.page_start(offset, served);
        let page: Vec<Value> = items.into_iter().skip(start).take(served).collect();
        ServedResponse::json(&json!({
            key: page, "limit": served, "offset": offset, "more": start + served < count,
            "total": if total { json!(count) } else { Value::Null },
        }))
    }
}
