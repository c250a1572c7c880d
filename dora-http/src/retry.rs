//! Retry policy, backoff schedule and rate-limit header parsing.
//!
//! The schedule for 5xx answers, connection errors and time-outs is an
//! exponential backoff with jitter from [`backon`], seeded from an injectable
//! seed so tests are deterministic. `backon` knows nothing about `Retry-After`,
//! so 429 handling lives here: the server's `Retry-After` (seconds or HTTP date)
//! or rate-limit reset header wins, capped by [`RetryPolicy::max_rate_limit_wait`];
//! without one, the same jittered exponential schedule is used with a longer
//! minimum delay. A 5xx that names a wait is treated exactly like a 429: the
//! wait is honoured within the same cap, and a longer one fails at once. Every
//! wait, whatever caused it, is charged to one [`WaitBudget`] per client (or
//! per run, when clients share one).

use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::header::HeaderMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// When and how often to retry.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after a 5xx answer, a connection error or a time-out (not counting
    /// the first attempt).
    pub max_retries: usize,
    /// First backoff delay for 5xx / transport errors.
    pub min_delay: Duration,
    /// Largest backoff delay.
    pub max_delay: Duration,
    /// Retries after HTTP 429 before giving up with a rate-limited error.
    pub max_rate_limit_retries: usize,
    /// First backoff delay after a 429 that names no wait.
    pub rate_limit_min_delay: Duration,
    /// The longest single wait we accept from `Retry-After` or a reset header,
    /// on a 429 and a 5xx alike. A server asking for longer makes the request
    /// fail at once with the wait in the error, rather than blocking a sync
    /// for an hour. (All waits together are bounded by the client's
    /// [`WaitBudget`].)
    pub max_rate_limit_wait: Duration,
    /// Add jitter to backoff delays (spreads concurrent retries).
    pub jitter: bool,
    /// Seed for the jitter; `None` draws one from the OS.
    pub seed: Option<u64>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_rate_limit_retries: 5,
            rate_limit_min_delay: Duration::from_secs(5),
            max_rate_limit_wait: Duration::from_secs(300),
            jitter: true,
            seed: None,
        }
    }
}

impl RetryPolicy {
    /// Never retry (every failure is returned at once).
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            max_rate_limit_retries: 0,
            ..Self::default()
        }
    }

    /// Set the number of retries for 5xx / transport errors.
    pub fn with_max_retries(mut self, n: usize) -> Self {
        self.max_retries = n;
        self
    }

    /// Set the backoff delays for 5xx / transport errors.
    pub fn with_delays(mut self, min: Duration, max: Duration) -> Self {
        self.min_delay = min;
        self.max_delay = max.max(min);
        self
    }

    /// Set the number of retries after HTTP 429.
    pub fn with_max_rate_limit_retries(mut self, n: usize) -> Self {
        self.max_rate_limit_retries = n;
        self
    }

    /// Set the first delay after a 429 without a wait header.
    pub fn with_rate_limit_min_delay(mut self, d: Duration) -> Self {
        self.rate_limit_min_delay = d;
        self
    }

    /// Set the longest accepted server-requested wait.
    pub fn with_max_rate_limit_wait(mut self, d: Duration) -> Self {
        self.max_rate_limit_wait = d;
        self
    }

    /// Fix the jitter seed (deterministic delays).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Turn jitter on or off.
    pub fn with_jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// The backoff schedule for 5xx / transport errors of one request.
    pub(crate) fn error_backoff(&self, seed: u64) -> impl Iterator<Item = Duration> + Send + use<> {
        self.schedule(self.min_delay, self.max_retries, seed)
    }

    /// The backoff schedule for 429s without a wait header, for one request.
    pub(crate) fn rate_limit_backoff(
        &self,
        seed: u64,
    ) -> impl Iterator<Item = Duration> + Send + use<> {
        let max = self.max_delay.max(self.rate_limit_min_delay);
        let builder = ExponentialBuilder::new()
            .with_min_delay(self.rate_limit_min_delay)
            .with_max_delay(max)
            .with_max_times(self.max_rate_limit_retries)
            .with_jitter_seed(seed);
        let builder = if self.jitter {
            builder.with_jitter()
        } else {
            builder
        };
        builder.build()
    }

    fn schedule(
        &self,
        min: Duration,
        times: usize,
        seed: u64,
    ) -> impl Iterator<Item = Duration> + Send + use<> {
        let builder = ExponentialBuilder::new()
            .with_min_delay(min)
            .with_max_delay(self.max_delay.max(min))
            .with_max_times(times)
            .with_jitter_seed(seed);
        let builder = if self.jitter {
            builder.with_jitter()
        } else {
            builder
        };
        builder.build()
    }
}

/// Where a rate-limit wait came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WaitSource {
    /// The `Retry-After` header.
    RetryAfter,
    /// A rate-limit reset header (`RateLimit-Reset`, `X-RateLimit-Reset`,
    /// Opsgenie's `X-RateLimit-Period-In-Sec`).
    ResetHeader,
    /// No header: our own exponential backoff.
    Backoff,
}

/// The wait a response asks for, from `Retry-After` (delta seconds or HTTP
/// date) or, failing that, from a rate-limit reset header.
///
/// Reset headers holding a value above 10⁹ are read as Unix epoch seconds
/// (GitHub style), smaller ones as seconds to wait (PagerDuty style).
pub fn requested_wait(headers: &HeaderMap, now: SystemTime) -> Option<(Duration, WaitSource)> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(value) = text("retry-after") {
        if let Some(d) = parse_seconds(value) {
            return Some((d, WaitSource::RetryAfter));
        }
        if let Ok(at) = httpdate::parse_http_date(value) {
            let d = at.duration_since(now).unwrap_or(Duration::ZERO);
            return Some((d, WaitSource::RetryAfter));
        }
    }
    for name in ["ratelimit-reset", "x-ratelimit-reset"] {
        if let Some(value) = text(name).and_then(parse_seconds) {
            let d = if value.as_secs() > 1_000_000_000 {
                let at = SystemTime::UNIX_EPOCH + value;
                at.duration_since(now).unwrap_or(Duration::ZERO)
            } else {
                value
            };
            return Some((d, WaitSource::ResetHeader));
        }
    }
    text("x-ratelimit-period-in-sec")
        .and_then(parse_seconds)
        .map(|d| (d, WaitSource::ResetHeader))
}

fn parse_seconds(value: &str) -> Option<Duration> {
    let secs: f64 = value.parse().ok()?;
    (0.0..1e12)
        .contains(&secs)
        .then(|| Duration::from_secs_f64(secs))
}

/// The total time one or more clients may spend waiting (429 waits, 5xx and
/// transport-error backoff alike) before a request gives up.
///
/// Clones share the account, so one budget can bound a whole run across every
/// client of it (`HttpClientBuilder::with_wait_budget`). Waits that overlap in time
/// (several requests in flight, limited together) are counted once: the
/// budget measures the time during which something was waiting, on the
/// [`Sleeper`]'s clock. A wait that would take the total past the limit is not
/// started: the request fails at once with [`crate::Error::WaitBudgetExhausted`].
#[derive(Debug, Clone)]
pub struct WaitBudget {
    limit: Duration,
    state: Arc<Mutex<BudgetState>>,
}

#[derive(Debug, Default)]
struct BudgetState {
    spent: Duration,
    covered_until: Option<Instant>,
}

impl Default for WaitBudget {
    fn default() -> Self {
        Self::new(Self::DEFAULT_LIMIT)
    }
}

impl WaitBudget {
    /// The default limit: 10 minutes.
    pub const DEFAULT_LIMIT: Duration = Duration::from_secs(600);

    /// A fresh budget of `limit` (zero: never wait at all).
    pub fn new(limit: Duration) -> Self {
        Self {
            limit,
            state: Arc::default(),
        }
    }

    /// The limit.
    pub fn limit(&self) -> Duration {
        self.limit
    }

    /// Time spent waiting so far (overlapping waits counted once).
    pub fn spent(&self) -> Duration {
        self.lock().spent
    }

    /// What is left.
    pub fn remaining(&self) -> Duration {
        self.limit.saturating_sub(self.spent())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BudgetState> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Reserve a wait of `wait` starting at `now`: `Ok(spent after)` when it
    /// fits, `Err(spent so far)` (nothing reserved) when it does not.
    pub(crate) fn charge(&self, now: Instant, wait: Duration) -> Result<Duration, Duration> {
        let mut state = self.lock();
        let end = now + wait;
        let start = state.covered_until.map_or(now, |c| c.max(now));
        let added = end.saturating_duration_since(start);
        let total = state.spent.saturating_add(added);
        if total > self.limit {
            return Err(state.spent);
        }
        state.spent = total;
        state.covered_until = Some(state.covered_until.map_or(end, |c| c.max(end)));
        Ok(total)
    }
}

/// Something that waits. The default sleeps on the tokio timer; tests inject
/// [`InstantSleeper`] so retry tests finish at once while still recording every
/// delay the policy chose.
pub trait Sleeper: Send + Sync + fmt::Debug {
    /// Wait for `duration`.
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;

    /// The clock the waits run on (the [`WaitBudget`] counts overlapping
    /// waits once on it). Default: the system's monotonic clock.
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// Sleeps with `tokio::time::sleep` (honours paused test time).
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(duration))
    }

    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }
}

/// Returns at once and records each requested delay (for tests). Its clock
/// ([`Sleeper::now`]) advances by each delay, as if it had slept.
#[derive(Debug, Clone)]
pub struct InstantSleeper {
    delays: Arc<Mutex<Vec<Duration>>>,
    start: Instant,
}

impl Default for InstantSleeper {
    fn default() -> Self {
        Self {
            delays: Arc::default(),
            start: Instant::now(),
        }
    }
}

impl InstantSleeper {
    /// A new sleeper with an empty record.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every delay requested so far, in order.
    pub fn delays(&self) -> Vec<Duration> {
        self.delays.lock().map(|d| d.clone()).unwrap_or_default()
    }
}

impl Sleeper for InstantSleeper {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        if let Ok(mut delays) = self.delays.lock() {
            delays.push(duration);
        }
        Box::pin(std::future::ready(()))
    }

    fn now(&self) -> Instant {
        self.start + self.delays().iter().sum::<Duration>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_str(v).expect("valid header"));
        }
        map
    }

    #[test]
    fn retry_after_seconds_and_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(
            requested_wait(&headers(&[("retry-after", "7")]), now),
            Some((Duration::from_secs(7), WaitSource::RetryAfter))
        );
        assert_eq!(
            requested_wait(
                &headers(&[("retry-after", "Sun, 06 Nov 1994 08:50:07 GMT")]),
                now
            ),
            Some((Duration::from_secs(30), WaitSource::RetryAfter))
        );
        // A date in the past means "now".
        assert_eq!(
            requested_wait(
                &headers(&[("retry-after", "Sun, 06 Nov 1994 08:00:00 GMT")]),
                now
            ),
            Some((Duration::ZERO, WaitSource::RetryAfter))
        );
    }

    #[test]
    fn reset_headers_delta_and_epoch() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            requested_wait(&headers(&[("ratelimit-reset", "12")]), now),
            Some((Duration::from_secs(12), WaitSource::ResetHeader))
        );
        assert_eq!(
            requested_wait(&headers(&[("x-ratelimit-reset", "1700000045")]), now),
            Some((Duration::from_secs(45), WaitSource::ResetHeader))
        );
        assert_eq!(
            requested_wait(&headers(&[("x-ratelimit-period-in-sec", "60")]), now),
            Some((Duration::from_secs(60), WaitSource::ResetHeader))
        );
        // Retry-After wins over reset headers; garbage is ignored.
        assert_eq!(
            requested_wait(
                &headers(&[("retry-after", "3"), ("ratelimit-reset", "50")]),
                now
            ),
            Some((Duration::from_secs(3), WaitSource::RetryAfter))
        );
        assert_eq!(
            requested_wait(&headers(&[("retry-after", "soon")]), now),
            None
        );
        assert_eq!(
            requested_wait(&headers(&[("retry-after", "-5")]), now),
            None
        );
        assert_eq!(requested_wait(&HeaderMap::new(), now), None);
    }

    #[test]
    fn backoff_is_bounded_exponential_and_seeded() {
        let policy = RetryPolicy::default()
            .with_delays(Duration::from_millis(100), Duration::from_secs(1))
            .with_max_retries(5)
            .with_jitter(false);
        let delays: Vec<_> = policy.error_backoff(1).collect();
        // backon multiplies in f32: compare to the millisecond.
        let millis: Vec<u128> = delays
            .iter()
            .map(|d| (d.as_micros() + 500) / 1000)
            .collect();
        assert_eq!(millis, [100, 200, 400, 800, 1000]);

        let jittered = policy.clone().with_jitter(true);
        let a: Vec<_> = jittered.error_backoff(42).collect();
        let b: Vec<_> = jittered.error_backoff(42).collect();
        assert_eq!(a, b, "same seed, same delays");
        assert_eq!(a.len(), 5);
        for (d, base) in a.iter().zip(&delays) {
            let (d, base) = (d.as_secs_f64(), base.as_secs_f64());
            assert!(d >= base * 0.999 && d <= base * 2.001, "{d} vs {base}");
        }
        let c: Vec<_> = jittered.error_backoff(43).collect();
        assert_ne!(a, c, "different seed, different jitter");
    }

    #[test]
    fn the_budget_counts_overlapping_waits_once() {
        let budget = WaitBudget::new(Duration::from_secs(100));
        let t0 = Instant::now();
        assert_eq!(
            budget.charge(t0, Duration::from_secs(60)),
            Ok(Duration::from_secs(60))
        );
        // Two more requests limited at the same moment wait alongside: free.
        assert_eq!(
            budget.charge(t0, Duration::from_secs(60)),
            Ok(Duration::from_secs(60))
        );
        // Half overlapping: only the part beyond the first wait counts.
        let t30 = t0 + Duration::from_secs(30);
        assert_eq!(
            budget.charge(t30, Duration::from_secs(60)),
            Ok(Duration::from_secs(90))
        );
        // Past the limit: refused, nothing reserved.
        let t90 = t0 + Duration::from_secs(90);
        assert_eq!(
            budget.charge(t90, Duration::from_secs(20)),
            Err(Duration::from_secs(90))
        );
        assert_eq!(budget.spent(), Duration::from_secs(90));
        assert_eq!(budget.remaining(), Duration::from_secs(10));
        assert_eq!(
            budget.charge(t90, Duration::from_secs(10)),
            Ok(Duration::from_secs(100))
        );
        // Clones share the account.
        assert_eq!(budget.clone().remaining(), Duration::ZERO);
    }

    #[test]
    fn none_policy_never_retries() {
        let policy = RetryPolicy::none();
        assert_eq!(policy.error_backoff(0).count(), 0);
        assert_eq!(policy.rate_limit_backoff(0).count(), 0);
    }
}
