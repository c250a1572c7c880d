//! A real HTTP server on 127.0.0.1 (random port) that answers every request
//! with a [`Responder`]'s answer, with scripted faults and a log of every
//! request: the one mock server under the demo's Bitbucket and PagerDuty
//! fake ([`crate::DemoServer`]) and the incident tools' conformance fakes
//! (`dora_incidents::conformance`).

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::task::JoinHandle;

/// One request as the fake API sees it.
#[derive(Debug, Clone)]
pub struct ServedRequest {
    /// HTTP method.
    pub method: String,
    /// Path, e.g. `/incidents`.
    pub path: String,
    /// Decoded query pairs, in order (repeated keys repeat).
    pub query: Vec<(String, String)>,
    /// Headers, names lower-case.
    pub headers: BTreeMap<String, String>,
    /// The server's base URL (`http://127.0.0.1:port`), for absolute links.
    pub base_url: String,
    /// The request body (e.g. a form of `include`/`exclude` revisions).
    pub body: String,
}

impl ServedRequest {
    /// The first value of a query parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a (repeated) query parameter.
    pub fn params(&self, key: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The path's segments, percent-decoded (`{uuid}` from `%7Buuid%7D`).
    pub fn segments(&self) -> Vec<String> {
        path_segments(&self.path)
    }

    /// The body read as a form (`a=1&b=2`), decoded pairs in order.
    pub fn form(&self) -> Vec<(String, String)> {
        decode_pairs(&self.body)
    }
}

/// A path's non-empty segments, percent-decoded.
pub fn path_segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}

/// `a=1&b=x+y` as decoded pairs, in order.
fn decode_pairs(text: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A fake API's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedResponse {
    /// HTTP status.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body (JSON for every real answer).
    pub body: String,
}

impl ServedResponse {
    /// `200` with a JSON body.
    pub fn json(value: &serde_json::Value) -> Self {
        Self::status_json(200, value)
    }

    /// A status with a JSON body.
    pub fn status_json(status: u16, value: &serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: value.to_string(),
        }
    }

    /// Add a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A fault injected instead of the fake's answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this response instead (429, 503, ...).
    Respond(ServedResponse),
    /// Answer 200 with the fake's body cut in half (malformed JSON).
    Truncate,
}

/// Which requests (1-based, in arrival order) get a [`Fault`].
#[derive(Debug, Clone, Default)]
pub struct FaultPlan {
    faults: BTreeMap<usize, Fault>,
}

impl FaultPlan {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// Inject `fault` at the `n`th request (1-based).
    pub fn at(mut self, n: usize, fault: Fault) -> Self {
        self.faults.insert(n, fault);
        self
    }
}

/// A request the server received, with when it arrived and what it answered.
#[derive(Debug, Clone)]
pub struct LoggedRequest {
    /// The request.
    pub request: ServedRequest,
    /// When it arrived.
    pub at: Instant,
    /// The status answered.
    pub status: u16,
}

/// What answers the mock server's requests: any
/// `Fn(&ServedRequest) -> ServedResponse` that can be shared across threads.
pub trait Responder: Send + Sync + 'static {
    /// The answer to `request`.
    fn respond(&self, request: &ServedRequest) -> ServedResponse;
}

impl<F> Responder for F
where
    F: Fn(&ServedRequest) -> ServedResponse + Send + Sync + 'static,
{
    fn respond(&self, request: &ServedRequest) -> ServedResponse {
        self(request)
    }
}

struct Shared {
    responder: Box<dyn Responder>,
    faults: FaultPlan,
    counter: AtomicUsize,
    log: Mutex<Vec<LoggedRequest>>,
    base_url: String,
}

/// The running mock server. Stops when dropped or on [`MockServer::shutdown`].
pub struct MockServer {
    addr: SocketAddr,
    base_url: String,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl MockServer {
    /// Serve `responder`'s answers on a free port of 127.0.0.1, injecting
    /// `faults`, on the current tokio runtime.
    pub async fn start(responder: impl Responder, faults: FaultPlan) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}");
        let shared = Arc::new(Shared {
            responder: Box::new(responder),
            faults,
            counter: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
            base_url: base_url.clone(),
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            // A serve error ends the server; clients then see connection errors.
            let _ = serve.await;
        });
        Ok(Self {
            addr,
            base_url,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        match self.shared.log.lock() {
            Ok(log) => log.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Stop serving and wait for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let request = ServedRequest {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: decode_pairs(uri.query().unwrap_or_default()),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        base_url: shared.base_url.clone(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    // Numbered on arrival, so concurrent requests never share a number.
    let number = shared.counter.fetch_add(1, Ordering::SeqCst) + 1;
    let answer = match shared.faults.faults.get(&number) {
        Some(Fault::Respond(r)) => r.clone(),
        fault => {
            let mut answer = shared.responder.respond(&request);
            if fault == Some(&Fault::Truncate) && answer.status == 200 {
                let half = answer.body.len() / 2;
                // Cut on a character boundary.
                let cut = (0..=half)
                    .rev()
                    .find(|i| answer.body.is_char_boundary(*i))
                    .unwrap_or(0);
                answer.body.truncate(cut);
            }
            answer
        }
    };
    {
        let mut log = match shared.log.lock() {
            Ok(log) => log,
            Err(poisoned) => poisoned.into_inner(),
        };
        log.push(LoggedRequest {
            request,
            at,
            status: answer.status,
        });
    }
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    for (name, value) in &answer.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder.body(Body::from(answer.body)).unwrap_or_else(|_| {
        let mut r = Response::new(Body::from("bad fake response"));
        *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}
