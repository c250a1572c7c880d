//! One pager for the four pagination styles of our APIs.
//!
//! | API | style | items | next |
//! |---|---|---|---|
//! | Bitbucket | next link | `values` | `next` (absolute URL) |
//! | Opsgenie | next link | `data` | `paging.next` (absolute URL) |
//! | PagerDuty | offset/limit | `incidents`, `log_entries`, ... | `more == true` → `offset += items received` |
//! | incident.io | cursor | `incidents` | `pagination_meta.after` → `?after=` |
//!
//! The offset style advances by the number of items the server sent, not by
//! the limit asked for: a server that caps its page size (PagerDuty's response
//! `limit` says so) must not make the pager skip items.
//!
//! Loop detection: a next link or cursor that was already visited, or a next
//! link whose `page`/`offset` parameter does not increase, is a
//! [`Error::Pagination`], never a hang. A page that does not decode is an
//! [`Error::Decode`] naming the endpoint, the page number and the field path.

use crate::client::{HttpClient, Request, clean_path, decode};
use crate::error::Error;
use serde::de::DeserializeOwned;
use std::collections::HashSet;
use std::marker::PhantomData;
use url::Url;

/// How an API paginates. Pointers are JSON pointers (`/paging/next`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pagination {
    /// Follow an absolute URL found in the page (Bitbucket, Opsgenie).
    NextLink {
        /// Pointer to the items array.
        items: String,
        /// Pointer to the next URL; absent, null or empty on the last page.
        next: String,
    },
    /// Offset/limit with a "more" flag (PagerDuty classic pagination). The
    /// offset advances by the items received (a short page is not a gap).
    Offset {
        /// Pointer to the items array.
        items: String,
        /// Offset query parameter.
        offset_param: String,
        /// Limit query parameter.
        limit_param: String,
        /// Page size sent.
        limit: u64,
        /// Pointer to the boolean "more" flag.
        more: String,
    },
    /// An opaque cursor copied into a query parameter (incident.io).
    Cursor {
        /// Pointer to the items array.
        items: String,
        /// Query parameter carrying the cursor.
        param: String,
        /// Pointer to the next cursor; absent, null or empty on the last page.
        cursor: String,
    },
}

impl Pagination {
    /// Bitbucket Cloud: `values`, follow `next`.
    pub fn bitbucket() -> Self {
        Self::NextLink {
            items: "/values".into(),
            next: "/next".into(),
        }
    }

    /// Opsgenie: `data`, follow `paging.next`.
    pub fn opsgenie() -> Self {
        Self::NextLink {
            items: "/data".into(),
            next: "/paging/next".into(),
        }
    }

    /// PagerDuty: items under `items_key` (`incidents`, `log_entries`), `offset`
    /// and `limit` parameters, `more` flag.
    pub fn pagerduty(items_key: &str, limit: u64) -> Self {
        Self::Offset {
            items: format!("/{items_key}"),
            offset_param: "offset".into(),
            limit_param: "limit".into(),
            limit: limit.max(1),
            more: "/more".into(),
        }
    }

    /// incident.io: items under `items_key`, cursor `pagination_meta.after`
    /// sent back as `?after=`.
    pub fn incident_io(items_key: &str) -> Self {
        Self::Cursor {
            items: format!("/{items_key}"),
            param: "after".into(),
            cursor: "/pagination_meta/after".into(),
        }
    }

    fn items_pointer(&self) -> &str {
        match self {
            Self::NextLink { items, .. }
            | Self::Offset { items, .. }
            | Self::Cursor { items, .. } => items,
        }
    }
}

/// One decoded page.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Page<T> {
    /// 1-based page number.
    pub number: usize,
    /// The page's items.
    pub items: Vec<T>,
    /// Is there another page?
    pub has_next: bool,
}

/// Walks the pages of one listing. Made by [`HttpClient::pages`].
///
/// Call [`Pager::next_page`] to stop early (e.g. once commits are older than
/// the window) or [`Pager::collect_all`] for everything.
#[derive(Debug)]
pub struct Pager<T> {
    client: HttpClient,
    pagination: Pagination,
    next: Option<Request>,
    page: usize,
    max_pages: usize,
    seen: HashSet<String>,
    /// A digest of the previous page's items: a server that ignores the
    /// offset serves the same page forever.
    last_items: Option<u64>,
    _items: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Pager<T> {
    pub(crate) fn new(client: HttpClient, first: Request, pagination: Pagination) -> Self {
        let first = match &pagination {
            Pagination::Offset {
                offset_param,
                limit_param,
                limit,
                ..
            } => {
                let has_offset = first
                    .url()
                    .query_pairs()
                    .any(|(k, _)| k == offset_param.as_str());
                let first = first.set_query(limit_param, limit.to_string());
                if has_offset {
                    first
                } else {
                    first.set_query(offset_param, "0")
                }
            }
            _ => first,
        };
        Self {
            client,
            pagination,
            next: Some(first),
            page: 0,
            max_pages: 10_000,
            seen: HashSet::new(),
            last_items: None,
            _items: PhantomData,
        }
    }

    /// Fail instead of fetching more than `n` pages (default 10,000).
    #[must_use]
    pub fn max_pages(mut self, n: usize) -> Self {
        self.max_pages = n.max(1);
        self
    }

    /// Pages fetched so far.
    pub fn pages_fetched(&self) -> usize {
        self.page
    }

    /// The request the next call to [`Pager::next_page`] will send, if any
    /// (e.g. to check its `offset` against an API's offset ceiling first).
    pub fn next_request(&self) -> Option<&Request> {
        self.next.as_ref()
    }

    /// The next page, or `None` after the last.
    pub async fn next_page(&mut self) -> Result<Option<Page<T>>, Error> {
        let result = self.fetch_page().await;
        result.map_err(|e| self.client.scrub(e))
    }

    async fn fetch_page(&mut self) -> Result<Option<Page<T>>, Error> {
        let Some(request) = self.next.take() else {
            return Ok(None);
        };
        self.page += 1;
        let number = self.page;
        let endpoint = request.endpoint().to_owned();
        let pagination_error = |message: String| Error::Pagination {
            endpoint: endpoint.clone(),
            page: number,
            message,
        };
        if number > self.max_pages {
            return Err(pagination_error(format!(
                "more than {} pages; giving up",
                self.max_pages
            )));
        }
        self.seen.insert(request.url().as_str().to_owned());
        let response = self.client.send(&request).await?;
        let value: serde_json::Value = decode(&endpoint, Some(number), response.body())?;
        let items_pointer = self.pagination.items_pointer();
        let items = match value.pointer(items_pointer) {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(serde_json::Value::Array(values)) => {
                let field = items_pointer.trim_start_matches('/').replace('/', ".");
                let mut items = Vec::with_capacity(values.len());
                for (i, item) in values.iter().enumerate() {
                    let decoded: T = serde_path_to_error::deserialize(item).map_err(|e| {
                        let inner = clean_path(&e.path().to_string());
                        Error::Decode {
                            endpoint: endpoint.clone(),
                            page: Some(number),
                            path: if inner.is_empty() {
                                format!("{field}[{i}]")
                            } else {
                                format!("{field}[{i}].{inner}")
                            },
                            message: crate::error::shorten(e.into_inner().to_string()),
                        }
                    })?;
                    items.push(decoded);
                }
                items
            }
            Some(_) => {
                return Err(Error::Decode {
                    endpoint,
                    page: Some(number),
                    path: items_pointer.trim_start_matches('/').replace('/', "."),
                    message: "expected an array of items".into(),
                });
            }
        };
        let next = match &self.pagination {
            Pagination::NextLink { next, .. } => match link_at(&value, next, &endpoint, number)? {
                None => None,
                Some(link) => {
                    let field = dotted(next);
                    let url = self
                        .client
                        .check_url(&endpoint, link)
                        .map_err(|e| pagination_error(format!("bad `{field}` link: {e}")))?;
                    if self.seen.contains(url.as_str()) {
                        return Err(pagination_error(format!(
                            "`{field}` link `{url}` repeats an earlier page"
                        )));
                    }
                    if let (Some(now), Some(then)) = (position(request.url()), position(&url))
                        && then.1 <= now.1
                    {
                        return Err(pagination_error(format!(
                            "`{field}` link goes backwards ({} {} → {})",
                            now.0, now.1, then.1
                        )));
                    }
                    Some(request.with_url(url))
                }
            },
            Pagination::Offset {
                offset_param, more, ..
            } => {
                let has_more = match value.pointer(more) {
                    None | Some(serde_json::Value::Null) => false,
                    Some(serde_json::Value::Bool(b)) => *b,
                    Some(other) => {
                        return Err(Error::Decode {
                            endpoint,
                            page: Some(number),
                            path: dotted(more),
                            message: format!("invalid type: {}, expected a boolean", kind(other)),
                        });
                    }
                };
                if has_more {
                    let digest = {
                        use std::hash::{Hash, Hasher};
                        let mut h = std::collections::hash_map::DefaultHasher::new();
                        value
                            .pointer(items_pointer)
                            .map(|v| v.to_string())
                            .hash(&mut h);
                        h.finish()
                    };
                    if !items.is_empty() && self.last_items == Some(digest) {
                        return Err(pagination_error(format!(
                            "the server sent the same page again although `{}` asked for the next one: it seems to ignore `{offset_param}`; stopping instead of looping",
                            dotted(more),
                        )));
                    }
                    self.last_items = Some(digest);
                    if items.is_empty() {
                        return Err(pagination_error(format!(
                            "`{}` is true but `{}` is empty: the server says there is more but sent an empty page",
                            dotted(more),
                            dotted(self.pagination.items_pointer())
                        )));
                    }
                    // Advance by what the server actually sent, never by the
                    // limit we asked for: a server may cap the page size (its
                    // response `limit` says so), and skipping `limit` items
                    // after a short page would silently lose the rest.
                    let current = request
                        .url()
                        .query_pairs()
                        .find(|(k, _)| k == offset_param.as_str())
                        .and_then(|(_, v)| v.parse::<u64>().ok())
                        .unwrap_or(0);
                    let received = u64::try_from(items.len()).unwrap_or(u64::MAX);
                    Some(
                        request
                            .clone()
                            .set_query(offset_param, current.saturating_add(received).to_string()),
                    )
                } else {
                    None
                }
            }
            Pagination::Cursor { param, cursor, .. } => {
                match link_at(&value, cursor, &endpoint, number)? {
                    None => None,
                    Some(text) => {
                        let next = request.clone().set_query(param, text);
                        if self.seen.contains(next.url().as_str()) {
                            return Err(pagination_error(format!(
                                "`{}` cursor `{text}` repeats an earlier page",
                                dotted(cursor)
                            )));
                        }
                        Some(next)
                    }
                }
            }
        };
        self.client.record_page(&endpoint, number, items.len());
        let has_next = next.is_some();
        self.next = next;
        Ok(Some(Page {
            number,
            items,
            has_next,
        }))
    }

    /// Every item of every page.
    pub async fn collect_all(mut self) -> Result<Vec<T>, Error> {
        let mut all = Vec::new();
        while let Some(page) = self.next_page().await? {
            all.extend(page.items);
        }
        Ok(all)
    }
}

/// The link or cursor at `pointer`: absent, null or empty means the last
/// page; anything but a string is an error naming the field (a `next` of
/// the wrong type must not end the listing silently).
fn link_at<'a>(
    value: &'a serde_json::Value,
    pointer: &str,
    endpoint: &str,
    page: usize,
) -> Result<Option<&'a str>, Error> {
    match value.pointer(pointer) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.trim()).filter(|s| !s.is_empty())),
        Some(other) => Err(Error::Decode {
            endpoint: endpoint.to_owned(),
            page: Some(page),
            path: dotted(pointer),
            message: format!("invalid type: {}, expected a string", kind(other)),
        }),
    }
}

/// `/paging/next` → `paging.next`.
fn dotted(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".")
}

/// The JSON type of a value, as serde names it.
fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "sequence",
        serde_json::Value::Object(_) => "map",
    }
}

/// The numeric `page` or `offset` parameter of a URL, if any.
fn position(url: &Url) -> Option<(&'static str, u64)> {
    for key in ["page", "offset"] {
        if let Some(n) = url
            .query_pairs()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.parse::<u64>().ok())
        {
            return Some((key, n));
        }
    }
    None
}
