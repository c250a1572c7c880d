//! The HTTP layer's error, and its conversion into `dora_core::SourceError`.

use dora_core::SourceError;
use reqwest::StatusCode;
use std::time::Duration;

/// Everything that can go wrong talking to an API.
///
/// Every variant names the endpoint (the label the adapter gave, e.g.
/// `pullrequests`). Messages never contain credentials: server messages are
/// scrubbed of the client's secrets before they are stored here.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a non-success status (after any retries).
    #[error("{endpoint}: HTTP {status}{}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default(), attempts_suffix(*attempts))]
    Status {
        /// Endpoint label.
        endpoint: String,
        /// HTTP status.
        status: StatusCode,
        /// The server's own error message, when its body had one.
        message: Option<String>,
        /// Attempts made (1 = no retry).
        attempts: usize,
    },
    /// HTTP 429 and the retries (or the accepted wait) ran out.
    #[error("{endpoint}: rate limited{}{}", retry_after.map(|d| format!(", server asks to wait {}s", d.as_secs())).unwrap_or_default(), attempts_suffix(*attempts))]
    RateLimited {
        /// Endpoint label.
        endpoint: String,
        /// The wait the server asked for, when it said.
        retry_after: Option<Duration>,
        /// The server's message.
        message: Option<String>,
        /// Attempts made.
        attempts: usize,
    },
    /// No answer within the per-request time-out.
    #[error("{endpoint}: timed out after {timeout:?}{}", attempts_suffix(*attempts))]
    Timeout {
        /// Endpoint label.
        endpoint: String,
        /// The per-request time-out.
        timeout: Duration,
        /// Attempts made.
        attempts: usize,
    },
    /// Connection or transfer failure.
    #[error("{endpoint}: request failed: {message}{}", attempts_suffix(*attempts))]
    Transport {
        /// Endpoint label.
        endpoint: String,
        /// What failed.
        message: String,
        /// Attempts made.
        attempts: usize,
        /// The underlying reqwest error.
        #[source]
        source: reqwest::Error,
    },
    /// A response body (or page) did not decode.
    #[error("{endpoint}{}: invalid response{}: {message}", page.map(|p| format!(" page {p}")).unwrap_or_default(), if path.is_empty() { String::new() } else { format!(" at `{path}`") })]
    Decode {
        /// Endpoint label.
        endpoint: String,
        /// 1-based page number, for paginated calls.
        page: Option<usize>,
        /// The JSON path of the field at fault (`values[3].state.name`), empty
        /// when the body is not valid JSON at all.
        path: String,
        /// What was wrong.
        message: String,
    },
    /// The pagination links are inconsistent (a `next` that repeats, goes
    /// backwards or leaves the API's origin; too many pages).
    #[error("{endpoint} page {page}: pagination error: {message}")]
    Pagination {
        /// Endpoint label.
        endpoint: String,
        /// The page whose links were at fault.
        page: usize,
        /// What was wrong.
        message: String,
    },
    /// A URL could not be built or is not allowed.
    #[error("{endpoint}: invalid URL: {message}")]
    Url {
        /// Endpoint label.
        endpoint: String,
        /// What was wrong.
        message: String,
    },
    /// The server redirected to another origin (scheme, host or port). The
    /// redirect is not followed: its answer would be taken for the API's, and
    /// credentials stay with the API's origin.
    #[error("{endpoint}: refused a redirect from {from} to {to}: another origin than the API's")]
    Redirect {
        /// Endpoint label.
        endpoint: String,
        /// The origin redirected from (`https://api.example.com:443`).
        from: String,
        /// The origin redirected to.
        to: String,
    },
    /// The response body is larger than the client accepts (counted after
    /// decompression; see `HttpClientBuilder::with_max_response_size`). Not retried.
    #[error("{endpoint}: the response is larger than the {} limit (after decompression); not read further (raise it with HttpClientBuilder::max_response_size)", size_text(*limit))]
    TooLarge {
        /// Endpoint label.
        endpoint: String,
        /// The limit, in bytes.
        limit: u64,
    },
    /// The next wait (for a 429, a 5xx or a transport failure) would take the
    /// time spent waiting past the total wait budget (see
    /// `HttpClientBuilder::with_max_total_wait` / `wait_budget`): the request gives
    /// up instead of waiting.
    #[error("{endpoint}: gave up{}: the total wait budget of {} is spent ({} waited already, {} needs {} more); raise it with --max-wait or `[http] max_wait_seconds` in dora.toml (Python: max_wait_seconds=; Rust: HttpClientBuilder::max_total_wait)", attempts_suffix(*attempts), secs_text(*budget), secs_text(*spent), cause_text(*status), secs_text(*wait))]
    WaitBudgetExhausted {
        /// Endpoint label.
        endpoint: String,
        /// The status of the last answer, `None` after a transport failure.
        status: Option<StatusCode>,
        /// The wait that did not fit.
        wait: Duration,
        /// Time already spent waiting.
        spent: Duration,
        /// The budget.
        budget: Duration,
        /// Attempts made.
        attempts: usize,
    },
    /// The client could not be configured.
    #[error("invalid HTTP client configuration: {0}")]
    Config(String),
    /// The credentials cannot be sent as given (e.g. a token with a newline
    /// pasted into the environment). The message never holds the secret.
    #[error("{0}")]
    Credentials(String),
}

/// The longest decode message kept whole, in characters.
const MAX_MESSAGE_CHARS: usize = 300;

/// A decode message cut to [`MAX_MESSAGE_CHARS`]: serde quotes the whole
/// offending value (`invalid type: string "<a whole page>"`), which would
/// flood a terminal or a log and echo the server's data. The start (what was
/// wrong) and the end (`expected …`, the line and column) are kept.
pub(crate) fn shorten(message: String) -> String {
    let count = message.chars().count();
    if count <= MAX_MESSAGE_CHARS {
        return message;
    }
    let head: String = message.chars().take(180).collect();
    let tail: String = message.chars().skip(count - 100).collect();
    format!("{head} … ({} characters left out) … {tail}", count - 280)
}

/// `text` cut to its first `max` characters (a link a server handed out may
/// be any length).
pub(crate) fn shorten_text(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_owned();
    }
    let head: String = text.chars().take(max).collect();
    format!("{head}… ({} more characters)", count - max)
}

/// `64 MiB`, `1 KiB`, else `1000 bytes`.
fn size_text(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// `90s`, `10m`, `2m 30s`, `1.5s`.
fn secs_text(d: Duration) -> String {
    let secs = d.as_secs();
    if d.subsec_millis() != 0 && secs < 60 {
        return format!("{:.1}s", d.as_secs_f64());
    }
    match (secs / 60, secs % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m {s}s"),
    }
}

/// What a wait was for: `HTTP 429 Too Many Requests`, else `the retry`.
fn cause_text(status: Option<StatusCode>) -> String {
    match status {
        Some(s) => format!("HTTP {s}"),
        None => "the retry after a failed connection".to_owned(),
    }
}

fn attempts_suffix(attempts: usize) -> String {
    if attempts > 1 {
        format!(" (after {attempts} attempts)")
    } else {
        String::new()
    }
}

impl Error {
    /// The same error with `scrub` applied to every text it holds (the
    /// client passes its redaction, so that no credential, in any encoding,
    /// reaches a message, `Display` or `Debug`).
    pub(crate) fn scrubbed(self, scrub: &dyn Fn(&str) -> String) -> Self {
        let opt = |m: Option<String>| m.map(|m| scrub(&m));
        match self {
            Self::Status {
                endpoint,
                status,
                message,
                attempts,
            } => Self::Status {
                endpoint: scrub(&endpoint),
                status,
                message: opt(message),
                attempts,
            },
            Self::RateLimited {
                endpoint,
                retry_after,
                message,
                attempts,
            } => Self::RateLimited {
                endpoint: scrub(&endpoint),
                retry_after,
                message: opt(message),
                attempts,
            },
            Self::Timeout {
                endpoint,
                timeout,
                attempts,
            } => Self::Timeout {
                endpoint: scrub(&endpoint),
                timeout,
                attempts,
            },
            Self::Transport {
                endpoint,
                message,
                attempts,
                source,
            } => Self::Transport {
                endpoint: scrub(&endpoint),
                message: scrub(&message),
                attempts,
                source,
            },
            Self::Decode {
                endpoint,
                page,
                path,
                message,
            } => Self::Decode {
                endpoint: scrub(&endpoint),
                page,
                path: scrub(&path),
                message: scrub(&message),
            },
            Self::Pagination {
                endpoint,
                page,
                message,
            } => Self::Pagination {
                endpoint: scrub(&endpoint),
                page,
                message: scrub(&message),
            },
            Self::Url { endpoint, message } => Self::Url {
                endpoint: scrub(&endpoint),
                message: scrub(&message),
            },
            Self::Redirect { endpoint, from, to } => Self::Redirect {
                endpoint: scrub(&endpoint),
                from: scrub(&from),
                to: scrub(&to),
            },
            Self::TooLarge { endpoint, limit } => Self::TooLarge {
                endpoint: scrub(&endpoint),
                limit,
            },
            Self::WaitBudgetExhausted {
                endpoint,
                status,
                wait,
                spent,
                budget,
                attempts,
            } => Self::WaitBudgetExhausted {
                endpoint: scrub(&endpoint),
                status,
                wait,
                spent,
                budget,
                attempts,
            },
            Self::Config(message) => Self::Config(scrub(&message)),
            Self::Credentials(message) => Self::Credentials(scrub(&message)),
        }
    }

    /// The endpoint label, when the error concerns one.
    pub fn endpoint(&self) -> Option<&str> {
        match self {
            Self::Status { endpoint, .. }
            | Self::RateLimited { endpoint, .. }
            | Self::Timeout { endpoint, .. }
            | Self::Transport { endpoint, .. }
            | Self::Decode { endpoint, .. }
            | Self::Pagination { endpoint, .. }
            | Self::Url { endpoint, .. }
            | Self::Redirect { endpoint, .. }
            | Self::TooLarge { endpoint, .. }
            | Self::WaitBudgetExhausted { endpoint, .. } => Some(endpoint),
            Self::Config(_) | Self::Credentials(_) => None,
        }
    }

    /// The HTTP status, when the server answered with an error status.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Status { status, .. } => Some(*status),
            Self::RateLimited { .. } => Some(StatusCode::TOO_MANY_REQUESTS),
            _ => None,
        }
    }

    /// The server's error message, when it sent one.
    pub fn server_message(&self) -> Option<&str> {
        match self {
            Self::Status { message, .. } | Self::RateLimited { message, .. } => message.as_deref(),
            _ => None,
        }
    }

    /// Convert into the core's semantic error with generic, actionable
    /// messages. Adapters that know more (which scope, which repository) match
    /// on [`Error::status`] first and fall back to this.
    pub fn into_source_error(self, source_name: &str) -> SourceError {
        let source_name = source_name.to_owned();
        let server = self
            .server_message()
            .map(|m| format!(" (server said: {m})"))
            .unwrap_or_default();
        match self {
            Self::Status {
                ref endpoint,
                status,
                ..
            } if status == StatusCode::UNAUTHORIZED => {
                let message = format!(
                    "{endpoint}: the credentials were rejected (HTTP 401){server}; check that the token is valid, not expired, and sent with the right scheme"
                );
                SourceError::auth(source_name, message).with_source(self)
            }
            Self::Status {
                ref endpoint,
                status,
                ..
            } if status == StatusCode::FORBIDDEN => {
                let message = format!(
                    "{endpoint}: permission denied (HTTP 403){server}; the token lacks a scope or access to this resource"
                );
                SourceError::auth(source_name, message).with_source(self)
            }
            Self::Status {
                ref endpoint,
                status,
                ..
            } if status == StatusCode::NOT_FOUND => {
                let what = format!("{endpoint}{server}");
                SourceError::not_found(source_name, what).with_source(self)
            }
            Self::RateLimited {
                endpoint,
                retry_after,
                ..
            } => SourceError::RateLimited {
                source_name,
                endpoint,
                retry_after,
            },
            err @ (Self::Decode { .. } | Self::Pagination { .. }) => {
                let endpoint = err.endpoint().unwrap_or_default().to_owned();
                let message = err.to_string();
                SourceError::protocol(source_name, endpoint, message).with_source(err)
            }
            other => {
                let message = other.to_string();
                SourceError::Other {
                    source_name,
                    message,
                    source: Some(Box::new(other)),
                }
            }
        }
    }
}

/// Pull a human-readable message out of an error body.
///
/// Understands Bitbucket (`{"type":"error","error":{"message":..,"detail":..}}`),
/// PagerDuty (`{"error":{"message":..,"errors":[..]}}`), Opsgenie
/// (`{"message":..}`) and incident.io (`{"errors":[{"message":..}]}`); falls back
/// to the start of a non-JSON body.
pub fn extract_message(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        let short: String = text.chars().take(200).collect();
        return Some(short);
    };
    let str_at = |pointer: &str| {
        value
            .pointer(pointer)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let mut message = str_at("/error/message")
        .or_else(|| str_at("/message"))
        .or_else(|| str_at("/errors/0/message"))
        .or_else(|| str_at("/error"))
        .or_else(|| str_at("/errors/0"));
    let detail = str_at("/error/detail").or_else(|| {
        value
            .pointer("/error/errors")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .filter(|s| !s.is_empty())
    });
    if let (Some(m), Some(d)) = (&mut message, detail) {
        m.push_str(": ");
        m.push_str(&d);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_each_vendor_shape() {
        let bb = br#"{"type":"error","error":{"message":"Token is invalid, expired, or not supported for this endpoint."}}"#;
        assert_eq!(
            extract_message(bb).as_deref(),
            Some("Token is invalid, expired, or not supported for this endpoint.")
        );
        let bb_detail =
            br#"{"type":"error","error":{"message":"Bad request","detail":"pagelen too large"}}"#;
        assert_eq!(
            extract_message(bb_detail).as_deref(),
            Some("Bad request: pagelen too large")
        );
        let pd = br#"{"error":{"message":"Invalid Input Provided","code":2001,"errors":["Offset must be less than 10000"]}}"#;
        assert_eq!(
            extract_message(pd).as_deref(),
            Some("Invalid Input Provided: Offset must be less than 10000")
        );
        let og = br#"{"message":"TooManyRequests","took":0.0,"requestId":"x"}"#;
        assert_eq!(extract_message(og).as_deref(), Some("TooManyRequests"));
        let iio = br#"{"type":"validation_error","status":422,"errors":[{"code":"x","message":"bad cursor"}]}"#;
        assert_eq!(extract_message(iio).as_deref(), Some("bad cursor"));
        assert_eq!(
            extract_message(b"<html>Bad Gateway</html>").as_deref(),
            Some("<html>Bad Gateway</html>")
        );
        assert_eq!(extract_message(b"  "), None);
    }

    #[test]
    fn long_decode_messages_keep_their_start_and_end() {
        let short = "invalid type: null, expected a string".to_owned();
        assert_eq!(shorten(short.clone()), short);
        let long = format!(
            "invalid type: string \"{}\", expected a sequence at line 1 column 9999",
            "é".repeat(10_000)
        );
        let cut = shorten(long);
        assert!(cut.chars().count() < 360, "{cut}");
        assert!(cut.starts_with("invalid type: string \"éé"), "{cut}");
        assert!(
            cut.ends_with("expected a sequence at line 1 column 9999"),
            "{cut}"
        );
        assert!(cut.contains("characters left out"), "{cut}");
    }

    #[test]
    fn converts_to_semantic_errors() {
        let status = |code: u16| Error::Status {
            endpoint: "pullrequests".into(),
            status: StatusCode::from_u16(code).expect("valid"),
            message: Some("nope".into()),
            attempts: 1,
        };
        assert!(matches!(
            status(401).into_source_error("x"),
            SourceError::Auth { .. }
        ));
        assert!(matches!(
            status(403).into_source_error("x"),
            SourceError::Auth { .. }
        ));
        assert!(matches!(
            status(404).into_source_error("x"),
            SourceError::NotFound { .. }
        ));
        assert!(matches!(
            status(500).into_source_error("x"),
            SourceError::Other { .. }
        ));
        let limited = Error::RateLimited {
            endpoint: "commits".into(),
            retry_after: Some(Duration::from_secs(9)),
            message: None,
            attempts: 3,
        };
        match limited.into_source_error("x") {
            SourceError::RateLimited {
                endpoint,
                retry_after,
                ..
            } => {
                assert_eq!(endpoint, "commits");
                assert_eq!(retry_after, Some(Duration::from_secs(9)));
            }
            other => panic!("unexpected {other:?}"),
        }
        let decode = Error::Decode {
            endpoint: "deployments".into(),
            page: Some(2),
            path: "values[1].state".into(),
            message: "invalid type".into(),
        };
        let text = decode.to_string();
        assert_eq!(
            text,
            "deployments page 2: invalid response at `values[1].state`: invalid type"
        );
        assert!(matches!(
            decode.into_source_error("x"),
            SourceError::Protocol { .. }
        ));
    }

    #[test]
    fn semantic_errors_keep_their_cause() {
        use std::error::Error as _;
        let cause_of = |e: &SourceError| {
            e.source()
                .and_then(|c| c.downcast_ref::<Error>())
                .map(ToString::to_string)
        };
        let status = |code: u16| Error::Status {
            endpoint: "pullrequests".into(),
            status: StatusCode::from_u16(code).expect("valid"),
            message: Some("nope".into()),
            attempts: 1,
        };
        for code in [401, 403, 404] {
            let original = status(code).to_string();
            let converted = status(code).into_source_error("x");
            assert_eq!(cause_of(&converted), Some(original), "{code}");
            // The generic conversion has no source-specific advice.
            assert_eq!(converted.hint(), None, "{code}");
        }
        let decode = Error::Decode {
            endpoint: "deployments".into(),
            page: Some(2),
            path: "values[1].state".into(),
            message: "invalid type".into(),
        };
        let converted = decode.into_source_error("x");
        assert!(matches!(converted, SourceError::Protocol { .. }));
        assert_eq!(
            cause_of(&converted).as_deref(),
            Some("deployments page 2: invalid response at `values[1].state`: invalid type")
        );
    }
}
