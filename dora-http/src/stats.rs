//! Request accounting and progress reporting.

use crate::retry::WaitSource;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Counters for one endpoint label.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct EndpointStats {
    /// HTTP requests sent (every attempt, retries included): what the API's
    /// rate limit counts.
    pub requests: u64,
    /// Pages decoded (paginated calls).
    pub pages: u64,
    /// Items decoded from those pages.
    pub items: u64,
    /// Retries after 5xx / connection errors / time-outs.
    pub retries: u64,
    /// HTTP 429 answers.
    pub rate_limited: u64,
    /// Total time spent waiting because of 429s.
    pub rate_limit_wait: Duration,
}

/// One wait caused by a rate limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RateLimitWait {
    /// The endpoint that was limited.
    pub endpoint: String,
    /// How long we waited.
    pub wait: Duration,
    /// Where the wait came from.
    pub source: WaitSource,
}

/// A snapshot of a client's request accounting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct HttpStats {
    /// Counters per endpoint label.
    pub endpoints: BTreeMap<String, EndpointStats>,
    /// Every rate-limit wait, in order.
    pub rate_limit_waits: Vec<RateLimitWait>,
}

impl HttpStats {
    /// Requests sent to all endpoints.
    pub fn total_requests(&self) -> u64 {
        self.endpoints.values().map(|e| e.requests).sum()
    }

    /// Requests sent to one endpoint label (0 when never called).
    pub fn requests(&self, endpoint: &str) -> u64 {
        self.endpoints.get(endpoint).map_or(0, |e| e.requests)
    }

    /// Pages decoded from one endpoint label.
    pub fn pages(&self, endpoint: &str) -> u64 {
        self.endpoints.get(endpoint).map_or(0, |e| e.pages)
    }

    /// Total time spent waiting on rate limits.
    pub fn total_rate_limit_wait(&self) -> Duration {
        self.rate_limit_waits.iter().map(|w| w.wait).sum()
    }
}

impl fmt::Display for HttpStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<28} {:>8} {:>6} {:>8} {:>8}",
            "endpoint", "requests", "pages", "retries", "429s"
        )?;
        for (name, e) in &self.endpoints {
            writeln!(
                f,
                "{name:<28} {:>8} {:>6} {:>8} {:>8}",
                e.requests, e.pages, e.retries, e.rate_limited
            )?;
        }
        write!(
            f,
            "total: {} requests, {} rate-limit waits ({:.1}s)",
            self.total_requests(),
            self.rate_limit_waits.len(),
            self.total_rate_limit_wait().as_secs_f64()
        )
    }
}

/// What just happened, for progress displays.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProgressEvent {
    /// A request got an answer (any status) or failed at the transport level.
    Request {
        /// Endpoint label.
        endpoint: String,
        /// HTTP status, when there was an answer.
        status: Option<u16>,
        /// Requests sent by this client so far.
        requests_done: u64,
    },
    /// A page was decoded.
    Page {
        /// Endpoint label.
        endpoint: String,
        /// 1-based page number.
        page: usize,
        /// Items on the page.
        items: usize,
    },
    /// A retry is scheduled after a 5xx or transport error.
    #[non_exhaustive]
    Retry {
        /// Endpoint label.
        endpoint: String,
        /// The attempt that failed (1-based).
        attempt: usize,
        /// The delay before the next attempt.
        delay: Duration,
        /// The status that failed, `None` for a transport failure (connection,
        /// time-out, body cut short).
        status: Option<u16>,
        /// Where the delay came from (a 503's `Retry-After`, or our backoff).
        source: WaitSource,
        /// Time spent waiting so far, this delay included.
        waited: Duration,
        /// The total wait budget.
        budget: Duration,
    },
    /// Waiting because of a rate limit.
    #[non_exhaustive]
    RateLimitWait {
        /// Endpoint label.
        endpoint: String,
        /// How long.
        wait: Duration,
        /// Why that long.
        source: WaitSource,
        /// Time spent waiting so far, this wait included.
        waited: Duration,
        /// The total wait budget.
        budget: Duration,
    },
}

/// A progress callback.
pub type ProgressHook = Arc<dyn Fn(&ProgressEvent) + Send + Sync>;

/// Shared mutable counters behind a client.
#[derive(Default)]
pub(crate) struct Recorder {
    stats: Mutex<HttpStats>,
    hook: Option<ProgressHook>,
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("stats", &self.snapshot())
            .field("hook", &self.hook.is_some())
            .finish()
    }
}

impl Recorder {
    pub(crate) fn new(hook: Option<ProgressHook>) -> Self {
        Self {
            stats: Mutex::default(),
            hook,
        }
    }

    pub(crate) fn hook(&self) -> Option<ProgressHook> {
        self.hook.clone()
    }

    pub(crate) fn snapshot(&self) -> HttpStats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn update(&self, f: impl FnOnce(&mut HttpStats)) {
        // A poisoned lock only means another thread panicked mid-update; the
        // counters are still usable.
        let mut guard = match self.stats.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard);
    }

    fn emit(&self, event: ProgressEvent) {
        if let Some(hook) = &self.hook {
            hook(&event);
        }
    }

    pub(crate) fn request(&self, endpoint: &str, status: Option<u16>) {
        let mut done = 0;
        self.update(|s| {
            s.endpoints.entry(endpoint.to_owned()).or_default().requests += 1;
            done = s.total_requests();
        });
        self.emit(ProgressEvent::Request {
            endpoint: endpoint.to_owned(),
            status,
            requests_done: done,
        });
    }

    pub(crate) fn page(&self, endpoint: &str, page: usize, items: usize) {
        self.update(|s| {
            let e = s.endpoints.entry(endpoint.to_owned()).or_default();
            e.pages += 1;
            e.items += items as u64;
        });
        self.emit(ProgressEvent::Page {
            endpoint: endpoint.to_owned(),
            page,
            items,
        });
    }

    pub(crate) fn retry(&self, endpoint: &str, attempt: usize, wait: &Wait) {
        self.update(|s| s.endpoints.entry(endpoint.to_owned()).or_default().retries += 1);
        self.emit(ProgressEvent::Retry {
            endpoint: endpoint.to_owned(),
            attempt,
            delay: wait.delay,
            status: wait.status,
            source: wait.source,
            waited: wait.waited,
            budget: wait.budget,
        });
    }

    pub(crate) fn rate_limited(&self, endpoint: &str, wait: Option<&Wait>) {
        self.update(|s| {
            let e = s.endpoints.entry(endpoint.to_owned()).or_default();
            e.rate_limited += 1;
            if let Some(w) = wait {
                e.rate_limit_wait += w.delay;
                s.rate_limit_waits.push(RateLimitWait {
                    endpoint: endpoint.to_owned(),
                    wait: w.delay,
                    source: w.source,
                });
            }
        });
        if let Some(w) = wait {
            self.emit(ProgressEvent::RateLimitWait {
                endpoint: endpoint.to_owned(),
                wait: w.delay,
                source: w.source,
                waited: w.waited,
                budget: w.budget,
            });
        }
    }
}

/// One wait the client is about to make, as recorded and reported.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wait {
    pub delay: Duration,
    pub source: WaitSource,
    pub status: Option<u16>,
    pub waited: Duration,
    pub budget: Duration,
}
