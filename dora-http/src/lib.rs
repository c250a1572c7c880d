//! # dora-http: HTTP plumbing shared by the source adapters
//!
//! Written once so that the Bitbucket, PagerDuty, Opsgenie and incident.io
//! adapters do not each grow their own retry, rate-limit and pagination code.
//!
//! - [`Secret`]: a redacting newtype for credentials; [`Auth`]: basic, bearer or
//!   a custom `Authorization` value (PagerDuty `Token token=…`, Opsgenie
//!   `GenieKey …`).
//! - [`HttpClient`]: base URL, auth, per-request time-out, bounded concurrency,
//!   retries ([`RetryPolicy`]): 429 honours `Retry-After` (seconds or HTTP
//!   date) or a rate-limit reset header, capped; otherwise jittered exponential
//!   backoff with an injectable seed; 5xx / connection errors / bodies cut
//!   short / time-outs are retried a bounded number of times (one budget);
//!   other 4xx fail at once. A 429 and a 5xx naming a wait are treated alike:
//!   waited for up to [`RetryPolicy::max_rate_limit_wait`], refused beyond.
//! - A total wait budget ([`WaitBudget`], default 10 minutes, shareable by
//!   every client of a run): a wait that would go past it is not started and
//!   the request fails with [`Error::WaitBudgetExhausted`], which says how to
//!   raise it; progress events say what is waited for and the budget used.
//! - A response body is capped (default 64 MiB, counted after decompression
//!   and checked while it streams in, so a gzip bomb fails fast with bounded
//!   memory): [`HttpClientBuilder::with_max_response_size`], [`Error::TooLarge`].
//! - Redirects are followed within the request's origin only: one to another
//!   scheme, host or port is refused ([`Error::Redirect`], naming both), and
//!   no `Referer` header is ever sent.
//! - Request accounting per endpoint label ([`HttpStats`]) and a progress hook
//!   ([`ProgressEvent`]).
//! - [`Pager`]: one pager for next-link, offset/limit and cursor pagination,
//!   with loop detection and decode errors that name endpoint, page and field.
//! - [`Error`]: names the endpoint, carries the server's message, never a
//!   credential — in no encoding: raw, base64 of `user:token` (what a Basic
//!   header carries) or of `:token`, URL-encoded or JSON-escaped; [`Error::into_source_error`] converts to
//!   [`dora_core::SourceError`].
//!
//! ```no_run
//! use dora_http::{Auth, HttpClient, Pagination, RetryPolicy, Secret};
//! use std::time::Duration;
//!
//! #[derive(serde::Deserialize)]
//! struct Environment { name: String }
//!
//! # async fn run() -> Result<(), dora_http::Error> {
//! let client = HttpClient::builder("https://api.bitbucket.org/2.0")
//!     .with_auth(Auth::basic("me@example.com", Secret::new("atlassian-api-token")))
//!     .with_timeout(Duration::from_secs(20))
//!     .with_concurrency(4)
//!     .with_retry_policy(RetryPolicy::default())
//!     .build()?;
//! let first = client
//!     .request("environments", &["repositories", "acme", "web", "environments"])
//!     .query("pagelen", "100");
//! let environments: Vec<Environment> = client.pages(first, Pagination::bitbucket()).collect_all().await?;
//! println!("{} environments, {} requests", environments.len(), client.stats().total_requests());
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod auth;
mod client;
mod error;
mod paginate;
mod retry;
mod secret;
mod stats;

pub use auth::Auth;
pub use client::{HttpClient, HttpClientBuilder, Request, Response, decode_value};
pub use error::{Error, extract_message};
pub use paginate::{Page, Pager, Pagination};
pub use retry::{
    InstantSleeper, RetryPolicy, Sleeper, TokioSleeper, WaitBudget, WaitSource, requested_wait,
};
pub use secret::Secret;
pub use stats::{EndpointStats, HttpStats, ProgressEvent, ProgressHook, RateLimitWait};

/// Re-exported so adapters name the same types.
pub use reqwest::StatusCode;
pub use reqwest::header;
