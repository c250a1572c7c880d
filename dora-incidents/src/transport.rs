//! What the three adapters share on top of `dora-http`: client construction,
//! credentials from the environment, and error conversion with a hint naming
//! where the credential came from.

use dora_core::{SourceError, TimeRange};
use dora_http::{Auth, HttpClient, RetryPolicy, Secret, WaitBudget};
use std::time::Duration;

/// Transport settings every builder carries.
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    pub base_url: String,
    pub retry: Option<RetryPolicy>,
    pub timeout: Option<Duration>,
    pub max_response_size: Option<u64>,
    /// The total wait budget (default: dora-http's, 10 minutes per client).
    pub wait_budget: Option<WaitBudget>,
}

impl Transport {
    pub(crate) fn new(base_url: &str) -> Self {
        Self {
            base_url: base_url.to_string(),
            retry: None,
            timeout: None,
            max_response_size: None,
            wait_budget: None,
        }
    }

    /// Build the client for `source` with `auth` and extra default headers.
    pub(crate) fn client(
        &self,
        source: &str,
        auth: Auth,
        headers: &[(&str, &str)],
    ) -> Result<HttpClient, SourceError> {
        let mut builder = HttpClient::builder(self.base_url.trim()).with_auth(auth);
        for (name, value) in headers {
            builder = builder.with_default_header(*name, *value);
        }
        if let Some(policy) = &self.retry {
            builder = builder.with_retry_policy(policy.clone());
        }
        if let Some(timeout) = self.timeout {
            builder = builder.with_timeout(timeout);
        }
        if let Some(bytes) = self.max_response_size {
            builder = builder.with_max_response_size(bytes);
        }
        if let Some(budget) = &self.wait_budget {
            builder = builder.with_wait_budget(budget.clone());
        }
        builder.build().map_err(|e| match e {
            dora_http::Error::Credentials(message) => SourceError::auth(source, message),
            e => SourceError::Config {
                source_name: source.to_string(),
                message: e.to_string(),
            },
        })
    }
}

/// A credential from the environment; a missing or empty variable is a
/// configuration error naming the variable.
pub(crate) fn token_from_env(source: &str, var: &str) -> Result<Secret, SourceError> {
    token_from(source, var, |name| std::env::var(name).ok())
}

fn token_from(
    source: &str,
    var: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Secret, SourceError> {
    match lookup(var) {
        Some(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim())),
        found => Err(SourceError::Config {
            source_name: source.to_string(),
            message: format!(
                "{var} is {}",
                if found.is_some() { "empty" } else { "not set" }
            ),
        }),
    }
}

/// Reject an empty credential before any request.
pub(crate) fn require_token(source: &str, token: &Secret, var: &str) -> Result<(), SourceError> {
    if token.is_empty() {
        return Err(SourceError::Config {
            source_name: source.to_string(),
            message: format!("no API token: pass one to the builder or set {var}"),
        });
    }
    Ok(())
}

/// Convert a transport error, adding where the rejected credential came from.
pub(crate) fn convert(source: &str, var: &str, error: dora_http::Error) -> SourceError {
    match error.into_source_error(source) {
        SourceError::Auth {
            source_name,
            message,
            hint,
            source,
        } => SourceError::Auth {
            source_name,
            message: format!("{message} (the key is read from {var} unless passed to the builder)"),
            hint,
            source,
        },
        other => other,
    }
}

/// A half-open range is empty when it does not advance.
pub(crate) fn is_empty(range: &TimeRange) -> bool {
    range.start >= range.end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_errors_name_the_variable_and_never_the_token() {
        let err = dora_http::Error::Status {
            endpoint: "incidents".into(),
            status: dora_http::StatusCode::UNAUTHORIZED,
            message: Some("Unauthorized".into()),
            attempts: 1,
        };
        let converted = convert("pagerduty", "PAGERDUTY_TOKEN", err);
        assert!(matches!(converted, SourceError::Auth { .. }));
        let text = converted.to_string();
        assert!(
            text.contains("PAGERDUTY_TOKEN") && text.contains("incidents"),
            "{text}"
        );
    }

    #[test]
    fn tokens_from_the_environment() {
        let env = |value: Option<&'static str>| move |_: &str| value.map(str::to_string);
        let ok =
            token_from("pagerduty", "PAGERDUTY_TOKEN", env(Some(" pd-secret\n"))).expect("set");
        assert_eq!(ok.expose(), "pd-secret");
        let missing = token_from("pagerduty", "PAGERDUTY_TOKEN", env(None)).expect_err("unset");
        assert_eq!(
            missing.to_string(),
            "pagerduty: invalid configuration: PAGERDUTY_TOKEN is not set"
        );
        let empty = token_from("pagerduty", "PAGERDUTY_TOKEN", env(Some(" "))).expect_err("empty");
        assert!(empty.to_string().ends_with("PAGERDUTY_TOKEN is empty"));
    }

    #[test]
    fn empty_tokens_are_refused() {
        assert!(require_token("opsgenie", &Secret::new("  "), "OPSGENIE_API_KEY").is_err());
        assert!(require_token("opsgenie", &Secret::new("k"), "OPSGENIE_API_KEY").is_ok());
        let t = Transport::new("not a url");
        let err = t.client("opsgenie", Auth::None, &[]).expect_err("bad url");
        assert!(matches!(err, SourceError::Config { .. }), "{err}");
    }
}
