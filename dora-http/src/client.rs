//! The HTTP client: base URL, auth, time-outs, bounded concurrency, retries.

use crate::auth::Auth;
use crate::error::{Error, extract_message};
use crate::paginate::{Pager, Pagination};
use crate::retry::{RetryPolicy, Sleeper, TokioSleeper, WaitBudget, WaitSource, requested_wait};
use crate::secret::{Secret, redact};
use crate::stats::{HttpStats, ProgressHook, Recorder, Wait};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use serde::de::DeserializeOwned;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::Semaphore;
use url::Url;

/// Builds an [`HttpClient`].
#[must_use]
pub struct HttpClientBuilder {
    base_url: String,
    auth: Auth,
    timeout: Duration,
    connect_timeout: Duration,
    concurrency: usize,
    policy: RetryPolicy,
    sleeper: Arc<dyn Sleeper>,
    hook: Option<ProgressHook>,
    headers: Vec<(String, String)>,
    user_agent: String,
    max_response_size: u64,
    wait_budget: Option<WaitBudget>,
}

impl fmt::Debug for HttpClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClientBuilder")
            .field("base_url", &self.base_url)
            .field("auth", &self.auth)
            .field("timeout", &self.timeout)
            .field("concurrency", &self.concurrency)
            .field("policy", &self.policy)
            .field("max_response_size", &self.max_response_size)
            .field("wait_budget", &self.wait_budget)
            .finish_non_exhaustive()
    }
}

impl HttpClientBuilder {
    /// The most time all the client's requests together may spend waiting
    /// (429 waits, 5xx and transport-error backoff alike; overlapping waits
    /// counted once). A wait that would go past it is not started: the
    /// request fails with [`Error::WaitBudgetExhausted`]. Default
    /// [`WaitBudget::DEFAULT_LIMIT`] (10 minutes) per client; zero never waits.
    pub fn with_max_total_wait(self, limit: Duration) -> Self {
        self.with_wait_budget(WaitBudget::new(limit))
    }

    /// Charge waits to `budget`, which other clients may share (one budget
    /// for a whole run). Replaces [`HttpClientBuilder::with_max_total_wait`].
    pub fn with_wait_budget(mut self, budget: WaitBudget) -> Self {
        self.wait_budget = Some(budget);
        self
    }

    /// The largest response body accepted, in bytes, counted after
    /// decompression and checked while the body streams in (a gzip bomb fails
    /// as soon as it inflates past the limit, with bounded memory). A larger
    /// answer is an [`Error::TooLarge`], not retried. Default
    /// [`HttpClient::DEFAULT_MAX_RESPONSE_SIZE`] (64 MiB); at least 1.
    pub fn with_max_response_size(mut self, bytes: u64) -> Self {
        self.max_response_size = bytes.max(1);
        self
    }

    /// Credentials sent with every request.
    pub fn with_auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Per-request time-out (connect + headers + body). Default 30 s.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connect time-out. Default 10 s.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Requests in flight at once (at least 1). Default 4.
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Retry policy. Default [`RetryPolicy::default`].
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// How to wait between retries (tests inject [`crate::InstantSleeper`]).
    pub fn with_sleeper(mut self, sleeper: impl Sleeper + 'static) -> Self {
        self.sleeper = Arc::new(sleeper);
        self
    }

    /// Called after every request, page, retry and rate-limit wait.
    pub fn on_progress(
        mut self,
        hook: impl Fn(&crate::ProgressEvent) + Send + Sync + 'static,
    ) -> Self {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// A header sent with every request (e.g. PagerDuty's versioned `Accept`).
    /// Invalid names or values are reported by [`HttpClientBuilder::build`].
    pub fn with_default_header(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The `User-Agent`. Default `dora-metrics/<version>`.
    pub fn with_user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = agent.into();
        self
    }

    /// Build the client.
    pub fn build(self) -> Result<HttpClient, Error> {
        let base = Url::parse(self.base_url.trim_end_matches('/'))
            .map_err(|e| Error::Config(format!("base URL `{}`: {e}", self.base_url)))?;
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            return Err(Error::Config(format!(
                "base URL `{}` is not an http(s) URL",
                self.base_url
            )));
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::Config(format!("`{name}` is not a valid header name")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| Error::Config(format!("the value of header `{name}` is not valid")))?;
            headers.insert(name, value);
        }
        if let Some(problem) = self.auth.problem() {
            return Err(Error::Credentials(problem));
        }
        if let Auth::Header(value) = &self.auth
            && HeaderValue::from_str(value.expose()).is_err()
        {
            return Err(Error::Config(
                "the Authorization value contains invalid characters".into(),
            ));
        }
        if let Auth::Basic { username, .. } = &self.auth
            && username.contains(':')
        {
            return Err(Error::Config(
                "a basic-auth user name cannot contain `:`".into(),
            ));
        }
        if !headers.contains_key(ACCEPT) {
            headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        }
        let agent = HeaderValue::from_str(&self.user_agent)
            .map_err(|_| Error::Config("the user agent contains invalid characters".into()))?;
        headers.insert(USER_AGENT, agent);
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(self.connect_timeout)
            // Never tell a server where a request came from, and never follow
            // a redirect to another origin (its answer would be trusted as
            // the API's).
            .referer(false)
            .redirect(redirect_policy())
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        let rng = match self.policy.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        let secrets = Arc::new(self.auth.secrets());
        Ok(HttpClient {
            inner: Arc::new(Inner {
                http,
                base,
                auth: self.auth,
                secrets,
                timeout: self.timeout,
                semaphore: Semaphore::new(self.concurrency),
                concurrency: self.concurrency,
                policy: self.policy,
                sleeper: self.sleeper,
                seeds: Mutex::new(rng),
                max_response_size: self.max_response_size,
                budget: self.wait_budget.unwrap_or_default(),
            }),
            recorder: Arc::new(Recorder::new(self.hook)),
        })
    }
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    auth: Auth,
    secrets: Arc<Vec<Secret>>,
    timeout: Duration,
    semaphore: Semaphore,
    concurrency: usize,
    policy: RetryPolicy,
    sleeper: Arc<dyn Sleeper>,
    seeds: Mutex<StdRng>,
    max_response_size: u64,
    budget: WaitBudget,
}

/// An API client shared by all requests of an adapter.
///
/// Cheap to clone (clones share the connection pool, the concurrency limit
/// and the request counters). Every request carries an *endpoint label* (e.g.
/// `pullrequests`) under which it is counted and named in errors.
///
/// Retries: a 5xx answer, a connection error, a body cut short or a time-out
/// is retried up to
/// [`RetryPolicy::max_retries`] times with jittered exponential backoff; HTTP
/// 429 is retried up to [`RetryPolicy::max_rate_limit_retries`] times; other
/// 4xx answers fail at once. A 429 or a 5xx that names a wait
/// (`Retry-After`, a rate-limit reset header) is waited for as it says when
/// that is at most [`RetryPolicy::max_rate_limit_wait`], and fails at once
/// when it is longer (one rule for both). Every wait is charged to the
/// client's [`WaitBudget`]; one that does not fit fails the request with
/// [`Error::WaitBudgetExhausted`].
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
    recorder: Arc<Recorder>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("base_url", &self.inner.base.as_str())
            .field("auth", &self.inner.auth)
            .field("timeout", &self.inner.timeout)
            .field("concurrency", &self.inner.concurrency)
            .field("policy", &self.inner.policy)
            .finish_non_exhaustive()
    }
}

/// A GET request to send: an endpoint label, a URL and extra headers.
#[derive(Debug, Clone)]
pub struct Request {
    endpoint: String,
    url: Url,
    headers: HeaderMap,
}

impl Request {
    /// Append a query parameter (repeat the call for repeated keys such as
    /// Bitbucket's `state=MERGED&state=DECLINED`). Values are URL-encoded.
    #[must_use]
    pub fn query(mut self, key: &str, value: impl AsRef<str>) -> Self {
        self.url.query_pairs_mut().append_pair(key, value.as_ref());
        self
    }

    /// Set a query parameter, replacing any existing values of `key`.
    #[must_use]
    pub fn set_query(mut self, key: &str, value: impl AsRef<str>) -> Self {
        let kept: Vec<(String, String)> = self
            .url
            .query_pairs()
            .filter(|(k, _)| k != key)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        {
            let mut pairs = self.url.query_pairs_mut();
            pairs.clear();
            for (k, v) in &kept {
                pairs.append_pair(k, v);
            }
            pairs.append_pair(key, value.as_ref());
        }
        self
    }

    /// Add a header to this request only.
    #[must_use]
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// The endpoint label.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The full URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    pub(crate) fn with_url(&self, url: Url) -> Self {
        Self {
            endpoint: self.endpoint.clone(),
            url,
            headers: self.headers.clone(),
        }
    }
}

/// A successful answer, body read in full.
#[derive(Clone)]
pub struct Response {
    endpoint: String,
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
    secrets: Arc<Vec<Secret>>,
}

impl fmt::Debug for Response {
    /// The body's size only: a body may echo a credential.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("endpoint", &self.endpoint)
            .field("status", &self.status)
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl Response {
    /// HTTP status (2xx).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The raw body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Decode the body, naming the JSON path of a field that fails.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        decode(&self.endpoint, None, &self.body).map_err(|e| self.scrub(e))
    }

    /// The error with the client's credentials (every encoding) scrubbed.
    pub(crate) fn scrub(&self, error: Error) -> Error {
        error.scrubbed(&|text| redact(text, &self.secrets))
    }
}

/// Decode JSON with the field path of the first error.
pub(crate) fn decode<T: DeserializeOwned>(
    endpoint: &str,
    page: Option<usize>,
    body: &[u8],
) -> Result<T, Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| Error::Decode {
        endpoint: endpoint.to_owned(),
        page,
        path: clean_path(&e.path().to_string()),
        message: crate::error::shorten(e.inner().to_string()),
    })?;
    de.end().map_err(|e| Error::Decode {
        endpoint: endpoint.to_owned(),
        page,
        path: String::new(),
        message: crate::error::shorten(e.to_string()),
    })?;
    Ok(value)
}

/// Decode one JSON value (e.g. one item of a page fetched as raw
/// `serde_json::Value`s, so that an adapter can keep the items that do not
/// decode instead of failing the page), naming the JSON path of the field at
/// fault in [`Error::Decode`] (`path` is relative to `value`; for a missing
/// field it is the field's parent and the message names the field).
pub fn decode_value<T: DeserializeOwned>(
    endpoint: &str,
    page: Option<usize>,
    value: &serde_json::Value,
) -> Result<T, Error> {
    serde_path_to_error::deserialize(value).map_err(|e| Error::Decode {
        endpoint: endpoint.to_owned(),
        page,
        path: clean_path(&e.path().to_string()),
        message: crate::error::shorten(e.into_inner().to_string()),
    })
}

/// serde_path_to_error prints `.` for the root, and `?` for a segment it
/// could not name (the text broke off inside a key): both are left out, so
/// `values[0].?` reads `values[0]` (the message then gives line and column).
pub(crate) fn clean_path(path: &str) -> String {
    let mut path = path;
    while let Some(rest) = path.strip_suffix(".?") {
        path = rest;
    }
    if path == "." || path == "?" {
        String::new()
    } else {
        path.to_owned()
    }
}

enum Outcome {
    Done(Response),
    Fail(Error),
    Retry { delay: Duration },
}

impl HttpClient {
    /// The default [`HttpClientBuilder::with_max_response_size`]: 64 MiB.
    pub const DEFAULT_MAX_RESPONSE_SIZE: u64 = 64 * 1024 * 1024;

    /// Start building a client for the API rooted at `base_url`
    /// (e.g. `https://api.bitbucket.org/2.0`).
    pub fn builder(base_url: impl Into<String>) -> HttpClientBuilder {
        HttpClientBuilder {
            base_url: base_url.into(),
            auth: Auth::None,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            concurrency: 4,
            policy: RetryPolicy::default(),
            sleeper: Arc::new(TokioSleeper),
            hook: None,
            headers: Vec::new(),
            user_agent: concat!("dora-metrics/", env!("CARGO_PKG_VERSION")).to_owned(),
            max_response_size: Self::DEFAULT_MAX_RESPONSE_SIZE,
            wait_budget: None,
        }
    }

    /// The budget this client's waits are charged to (shared with its clones
    /// and with any client built with the same [`WaitBudget`]).
    pub fn wait_budget(&self) -> &WaitBudget {
        &self.inner.budget
    }

    /// The base URL.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The auth scheme in use (`basic`, `bearer`, `header`, `none`).
    pub fn auth_scheme(&self) -> &'static str {
        self.inner.auth.scheme()
    }

    /// Replace every credential in `text` with `***`: raw, base64 (of
    /// `user:token` as a Basic header carries it, of `:token`, of the token),
    /// URL-encoded and JSON-escaped.
    pub fn redact(&self, text: &str) -> String {
        redact(text, &self.inner.secrets)
    }

    /// The error with every credential scrubbed from its texts.
    pub(crate) fn scrub(&self, error: Error) -> Error {
        error.scrubbed(&|text| self.redact(text))
    }

    /// A request to the base URL plus `segments`, each percent-encoded (so a
    /// `{uuid}` or a slug with odd characters is safe).
    ///
    /// ```
    /// # fn main() -> Result<(), dora_http::Error> {
    /// let client = dora_http::HttpClient::builder("https://api.bitbucket.org/2.0").build()?;
    /// let req = client.request("environments", &["repositories", "acme", "{0d6a}", "environments"]).query("pagelen", "100");
    /// assert_eq!(req.url().as_str(), "https://api.bitbucket.org/2.0/repositories/acme/%7B0d6a%7D/environments?pagelen=100");
    /// # Ok(()) }
    /// ```
    pub fn request(&self, endpoint: &str, segments: &[&str]) -> Request {
        let mut url = self.inner.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            for segment in segments {
                path.push(segment);
            }
        }
        Request {
            endpoint: endpoint.to_owned(),
            url,
            headers: HeaderMap::new(),
        }
    }

    /// A request to an absolute URL the API handed out (a `next` link).
    ///
    /// The URL must share the base URL's scheme, host, port and path prefix:
    /// credentials are never sent anywhere else.
    pub fn request_url(&self, endpoint: &str, url: &str) -> Result<Request, Error> {
        let url = self.check_url(endpoint, url).map_err(|e| self.scrub(e))?;
        Ok(Request {
            endpoint: endpoint.to_owned(),
            url,
            headers: HeaderMap::new(),
        })
    }

    pub(crate) fn check_url(&self, endpoint: &str, url: &str) -> Result<Url, Error> {
        let parsed = Url::parse(url).map_err(|e| Error::Url {
            endpoint: endpoint.to_owned(),
            message: format!("`{}`: {e}", crate::error::shorten_text(url, 200)),
        })?;
        let base = &self.inner.base;
        let same_origin = parsed.scheme() == base.scheme()
            && parsed.host_str() == base.host_str()
            && parsed.port_or_known_default() == base.port_or_known_default()
            && parsed.path().starts_with(base.path().trim_end_matches('/'));
        if !same_origin {
            return Err(Error::Url {
                endpoint: endpoint.to_owned(),
                message: format!(
                    "`{}` is outside the API base `{base}`; refusing to send credentials there",
                    crate::error::shorten_text(parsed.as_str(), 200)
                ),
            });
        }
        Ok(parsed)
    }

    /// Requests counted so far (per endpoint), and rate-limit waits.
    pub fn stats(&self) -> HttpStats {
        self.recorder.snapshot()
    }

    /// A clone sharing the connection pool, concurrency limit and progress
    /// hook, but counting requests afresh: one per sync, so a sync can report
    /// its own requests.
    pub fn with_fresh_stats(&self) -> HttpClient {
        Self {
            inner: Arc::clone(&self.inner),
            recorder: Arc::new(Recorder::new(self.recorder.hook())),
        }
    }

    /// Paginate from `first`: see [`Pager`].
    pub fn pages<T: DeserializeOwned>(&self, first: Request, pagination: Pagination) -> Pager<T> {
        Pager::new(self.clone(), first, pagination)
    }

    /// Send `request` and decode the JSON answer.
    pub async fn get_json<T: DeserializeOwned>(&self, request: &Request) -> Result<T, Error> {
        self.send(request).await?.json()
    }

    pub(crate) fn record_page(&self, endpoint: &str, page: usize, items: usize) {
        self.recorder.page(endpoint, page, items);
    }

    /// Send a GET with retries; returns the first 2xx answer.
    pub async fn send(&self, request: &Request) -> Result<Response, Error> {
        let seed = match self.inner.seeds.lock() {
            Ok(mut rng) => rng.next_u64(),
            Err(poisoned) => poisoned.into_inner().next_u64(),
        };
        let policy = &self.inner.policy;
        let mut error_backoff = policy.error_backoff(seed);
        let mut limit_backoff = policy.rate_limit_backoff(seed.rotate_left(17));
        let mut limit_hits = 0usize;
        let mut attempts = 0usize;
        loop {
            attempts += 1;
            match self
                .attempt(
                    request,
                    attempts,
                    &mut error_backoff,
                    &mut limit_backoff,
                    &mut limit_hits,
                )
                .await
            {
                Outcome::Done(response) => return Ok(response),
                Outcome::Fail(error) => return Err(self.scrub(error)),
                Outcome::Retry { delay } => {
                    if !delay.is_zero() {
                        self.inner.sleeper.sleep(delay).await;
                    }
                }
            }
        }
    }

    async fn attempt(
        &self,
        request: &Request,
        attempts: usize,
        error_backoff: &mut (impl Iterator<Item = Duration> + Send),
        limit_backoff: &mut (impl Iterator<Item = Duration> + Send),
        limit_hits: &mut usize,
    ) -> Outcome {
        let endpoint = request.endpoint.as_str();
        let builder = self
            .inner
            .http
            .get(request.url.clone())
            .headers(request.headers.clone())
            .timeout(self.inner.timeout);
        let builder = self.inner.auth.apply(builder);
        let max = self.inner.max_response_size;
        let result = {
            let Ok(_permit) = self.inner.semaphore.acquire().await else {
                return Outcome::Fail(Error::Config(
                    "the client's request limiter was closed".into(),
                ));
            };
            async {
                let mut response = builder.send().await.map_err(Failure::Send)?;
                let status = response.status();
                let headers = response.headers().clone();
                // Checked before reading (a declared length) and while
                // reading (decompressed bytes), so memory stays bounded.
                if response.content_length().is_some_and(|n| n > max) {
                    return Err(Failure::TooLarge);
                }
                let mut body = Vec::new();
                while let Some(chunk) = response.chunk().await.map_err(Failure::Body)? {
                    let size = u64::try_from(body.len() + chunk.len()).unwrap_or(u64::MAX);
                    if size > max {
                        return Err(Failure::TooLarge);
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok::<_, Failure>((status, headers, body))
            }
            .await
        };
        let (status, headers, body) = match result {
            Ok(ok) => ok,
            Err(failure) => {
                self.recorder.request(endpoint, None);
                // A body that stops before its end (the connection dropped
                // mid-body) is as transient as a reset before the answer.
                let (err, in_body) = match failure {
                    Failure::Send(err) => (err, false),
                    Failure::Body(err) => (err, true),
                    Failure::TooLarge => {
                        tracing::warn!(
                            endpoint,
                            limit = max,
                            "response larger than the limit; not read"
                        );
                        return Outcome::Fail(Error::TooLarge {
                            endpoint: endpoint.to_owned(),
                            limit: max,
                        });
                    }
                };
                if let Some(refused) = refused_redirect(&err) {
                    return Outcome::Fail(Error::Redirect {
                        endpoint: endpoint.to_owned(),
                        from: refused.from.clone(),
                        to: refused.to.clone(),
                    });
                }
                let retryable = in_body
                    || err.is_timeout()
                    || err.is_connect()
                    || err.is_request()
                    || err.is_body();
                if retryable && let Some(delay) = error_backoff.next() {
                    let wait =
                        match self.charge(endpoint, None, delay, WaitSource::Backoff, attempts) {
                            Ok(wait) => wait,
                            Err(error) => return Outcome::Fail(error),
                        };
                    tracing::debug!(
                        endpoint,
                        attempt = attempts,
                        ?delay,
                        "request failed, retrying: {}",
                        self.redact(&err.without_url().to_string())
                    );
                    self.recorder.retry(endpoint, attempts, &wait);
                    return Outcome::Retry { delay };
                }
                if err.is_timeout() {
                    return Outcome::Fail(Error::Timeout {
                        endpoint: endpoint.to_owned(),
                        timeout: self.inner.timeout,
                        attempts,
                    });
                }
                let message = self.redact(&error_chain(&err, in_body));
                return Outcome::Fail(Error::Transport {
                    endpoint: endpoint.to_owned(),
                    message,
                    attempts,
                    source: err.without_url(),
                });
            }
        };
        self.recorder.request(endpoint, Some(status.as_u16()));
        if status.is_success() {
            return Outcome::Done(Response {
                endpoint: endpoint.to_owned(),
                status,
                headers,
                body,
                secrets: Arc::clone(&self.inner.secrets),
            });
        }
        // Scrub the whole body before extracting (and truncating) a message,
        // so that a credential cut in half by the truncation cannot leak.
        let text = self.redact(&String::from_utf8_lossy(&body));
        let message = extract_message(text.as_bytes()).map(|m| self.redact(&m));
        let asked = requested_wait(&headers, SystemTime::now());
        let limited = status == StatusCode::TOO_MANY_REQUESTS;
        let retryable =
            limited || status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT;
        let fail = |retry_after: Option<Duration>, message: Option<String>| {
            if limited {
                Outcome::Fail(Error::RateLimited {
                    endpoint: endpoint.to_owned(),
                    retry_after,
                    message,
                    attempts,
                })
            } else {
                Outcome::Fail(Error::Status {
                    endpoint: endpoint.to_owned(),
                    status,
                    message,
                    attempts,
                })
            }
        };
        if !retryable {
            return fail(None, message);
        }
        if limited {
            *limit_hits += 1;
        }
        // One rule for a 429 and a 5xx: a server asking for a longer wait than
        // one wait may last is not waited for (it would stall the sync).
        let cap = self.inner.policy.max_rate_limit_wait;
        if let Some((wait, _)) = asked
            && wait > cap
        {
            if limited {
                self.recorder.rate_limited(endpoint, None);
                return fail(Some(wait), message);
            }
            let asks = format!(
                "the server asks to wait {}s, longer than the {}s accepted for one wait",
                wait.as_secs(),
                cap.as_secs()
            );
            let message = Some(match message {
                Some(m) => format!("{m} ({asks})"),
                None => asks,
            });
            return fail(Some(wait), message);
        }
        // The attempt budgets: 429s and other failures are counted apart.
        let backoff = if limited {
            if *limit_hits > self.inner.policy.max_rate_limit_retries {
                self.recorder.rate_limited(endpoint, None);
                return fail(asked.map(|(d, _)| d), message);
            }
            limit_backoff.next()
        } else {
            let Some(backoff) = error_backoff.next() else {
                return fail(None, message);
            };
            Some(backoff)
        };
        let (delay, source) = match (asked, backoff) {
            (Some(asked), _) => asked,
            (None, Some(backoff)) => (backoff, WaitSource::Backoff),
            (None, None) => {
                self.recorder.rate_limited(endpoint, None);
                return fail(None, message);
            }
        };
        let wait = match self.charge(endpoint, Some(status), delay, source, attempts) {
            Ok(wait) => wait,
            Err(error) => {
                if limited {
                    self.recorder.rate_limited(endpoint, None);
                }
                return Outcome::Fail(error);
            }
        };
        if limited {
            tracing::info!(endpoint, ?delay, ?source, "rate limited, waiting");
            self.recorder.rate_limited(endpoint, Some(&wait));
        } else {
            tracing::debug!(
                endpoint,
                attempt = attempts,
                status = status.as_u16(),
                ?delay,
                "server error, retrying"
            );
            self.recorder.retry(endpoint, attempts, &wait);
        }
        Outcome::Retry { delay }
    }

    /// Charge a wait to the budget, or the error saying it ran out.
    fn charge(
        &self,
        endpoint: &str,
        status: Option<StatusCode>,
        delay: Duration,
        source: WaitSource,
        attempts: usize,
    ) -> Result<Wait, Error> {
        let budget = &self.inner.budget;
        match budget.charge(self.inner.sleeper.now(), delay) {
            Ok(waited) => Ok(Wait {
                delay,
                source,
                status: status.map(|s| s.as_u16()),
                waited,
                budget: budget.limit(),
            }),
            Err(spent) => {
                tracing::warn!(endpoint, ?delay, ?spent, "wait budget spent; giving up");
                Err(Error::WaitBudgetExhausted {
                    endpoint: endpoint.to_owned(),
                    status,
                    wait: delay,
                    spent,
                    budget: budget.limit(),
                    attempts,
                })
            }
        }
    }
}

/// Most redirects followed for one request.
const MAX_REDIRECTS: usize = 10;

/// `scheme://host:port` of a URL (the port spelled out even when default).
pub(crate) fn origin(url: &Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or_default()
    )
}

/// A redirect the policy refused; carried through reqwest's error to
/// [`Error::Redirect`].
#[derive(Debug)]
struct CrossOriginRedirect {
    from: String,
    to: String,
}

impl fmt::Display for CrossOriginRedirect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redirect from {} to {} refused", self.from, self.to)
    }
}

impl std::error::Error for CrossOriginRedirect {}

/// Follow redirects within the request's origin only (scheme, host and port
/// of the first URL), at most [`MAX_REDIRECTS`].
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let Some(first) = attempt.previous().first() else {
            return attempt.follow();
        };
        let (from, to) = (origin(first), origin(attempt.url()));
        if from != to {
            return attempt.error(CrossOriginRedirect { from, to });
        }
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
        }
        attempt.follow()
    })
}

/// The refused cross-origin redirect behind a reqwest error, if that is what it is.
fn refused_redirect(err: &reqwest::Error) -> Option<&CrossOriginRedirect> {
    let mut cause = std::error::Error::source(err);
    while let Some(c) = cause {
        if let Some(found) = c.downcast_ref::<CrossOriginRedirect>() {
            return Some(found);
        }
        cause = c.source();
    }
    None
}

/// Why one attempt got no complete answer.
enum Failure {
    /// Sending, connecting or reading the status line and headers failed.
    Send(reqwest::Error),
    /// The body failed while it was read (cut short, bad encoding).
    Body(reqwest::Error),
    /// The body is larger than the client accepts.
    TooLarge,
}

/// The error and its causes on one line, without the URL.
fn error_chain(err: &reqwest::Error, in_body: bool) -> String {
    let mut text = if err.is_connect() {
        "connection failed".to_owned()
    } else if in_body {
        "reading the response body failed (cut short or undecodable)".to_owned()
    } else if err.is_body() {
        "reading the response body failed".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut cause = std::error::Error::source(err);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_leave_out_the_root_and_unnamed_segments() {
        assert_eq!(clean_path("."), "");
        assert_eq!(clean_path("?"), "");
        assert_eq!(clean_path("values[0].?"), "values[0]");
        assert_eq!(
            clean_path("incidents[1].updated_at"),
            "incidents[1].updated_at"
        );
        // An unnamed segment inside a path is kept: it still says where.
        assert_eq!(clean_path("a.?.b"), "a.?.b");
    }
}
