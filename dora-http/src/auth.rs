//! How a client authenticates.

use crate::secret::{Secret, encoded_forms};
use std::fmt;

/// The `Authorization` a client sends with every request.
///
/// Credentials are [`Secret`]s, so `Debug` never shows them.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Auth {
    /// No credentials (public endpoints, tests).
    #[default]
    None,
    /// HTTP Basic: `username:password` (Bitbucket: Atlassian account email and API token).
    Basic {
        /// User name (Bitbucket: the Atlassian account email).
        username: String,
        /// Password or API token.
        password: Secret,
    },
    /// `Authorization: Bearer <token>` (OAuth, Bitbucket access tokens, incident.io).
    Bearer(Secret),
    /// A complete custom `Authorization` value, e.g. PagerDuty's
    /// `Token token=<key>` or Opsgenie's `GenieKey <key>`.
    Header(Secret),
}

impl Auth {
    /// HTTP Basic credentials.
    pub fn basic(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    /// A bearer token.
    pub fn bearer(token: impl Into<Secret>) -> Self {
        Self::Bearer(token.into())
    }

    /// A complete `Authorization` header value.
    pub fn header(value: impl Into<Secret>) -> Self {
        Self::Header(value.into())
    }

    /// PagerDuty's `Authorization: Token token=<key>`.
    pub fn pagerduty_token(key: &Secret) -> Self {
        Self::Header(Secret::new(format!("Token token={}", key.expose())))
    }

    /// Opsgenie's `Authorization: GenieKey <key>`.
    pub fn genie_key(key: &Secret) -> Self {
        Self::Header(Secret::new(format!("GenieKey {}", key.expose())))
    }

    /// Why these credentials cannot be sent, if they cannot: a secret that is
    /// empty or holds control characters (a token pasted with its newline),
    /// which no header can carry. Never includes the secret itself.
    pub fn problem(&self) -> Option<String> {
        fn check(what: &str, value: &str) -> Option<String> {
            if value.trim().is_empty() {
                return Some(format!("the {what} is empty"));
            }
            if value.chars().any(|c| c.is_control()) {
                return Some(format!(
                    "the {what} contains a newline or another control character (was it pasted or exported with one? strip it)"
                ));
            }
            None
        }
        match self {
            Self::None => None,
            Self::Basic { username, password } => check("user name", username)
                .or_else(|| check("password / API token", password.expose())),
            Self::Bearer(token) => check("access token", token.expose()),
            // A complete value (`Token token=<key>`, `GenieKey <key>`) has a space
            // by design: only control characters are fatal.
            Self::Header(value) => value
                .expose()
                .chars()
                .any(|c| c.is_control())
                .then(|| {
                    "the API key contains a newline or another control character (was it pasted or exported with one? strip it)".to_string()
                }),
        }
    }

    /// A short name of the scheme for messages (`basic`, `bearer`, `header`, `none`).
    pub fn scheme(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Basic { .. } => "basic",
            Self::Bearer(_) => "bearer",
            Self::Header(_) => "header",
        }
    }

    /// The secrets to scrub from anything printed: each credential in every
    /// form a server may echo it (raw, base64 of `user:secret` as a Basic
    /// header carries it, base64 of `:secret`, URL-encoded, JSON-escaped).
    pub(crate) fn secrets(&self) -> Vec<Secret> {
        let mut out = match self {
            Self::None => Vec::new(),
            Self::Basic { username, password } => {
                encoded_forms(password.expose(), Some(username.as_str()))
            }
            Self::Bearer(token) => encoded_forms(token.expose(), None),
            Self::Header(value) => {
                // Also scrub the bare key inside `Token token=<key>` / `GenieKey <key>`.
                let value = value.expose();
                let mut out = encoded_forms(value, None);
                let keys = [
                    value.strip_prefix("Token token="),
                    value.split_once(' ').map(|(_, key)| key),
                    value.rsplit_once(['=', ' ']).map(|(_, key)| key),
                ];
                for key in keys.into_iter().flatten() {
                    if !key.trim().is_empty() {
                        out.extend(encoded_forms(key, None));
                    }
                }
                out
            }
        };
        out.sort_by(|a, b| {
            b.expose()
                .len()
                .cmp(&a.expose().len())
                .then_with(|| a.expose().cmp(b.expose()))
        });
        out.dedup();
        out
    }

    pub(crate) fn apply(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Self::None => request,
            // reqwest marks both headers as sensitive, so its Debug hides them.
            Self::Basic { username, password } => {
                request.basic_auth(username, Some(password.expose()))
            }
            Self::Bearer(token) => request.bearer_auth(token.expose()),
            Self::Header(value) => match reqwest::header::HeaderValue::from_str(value.expose()) {
                Ok(mut header) => {
                    header.set_sensitive(true);
                    request.header(reqwest::header::AUTHORIZATION, header)
                }
                // Checked in `HttpClientBuilder::build`; unreachable in practice.
                Err(_) => request,
            },
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"***")
                .finish(),
            Self::Bearer(_) => f.write_str("Bearer(***)"),
            Self::Header(_) => f.write_str("Header(***)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_credentials() {
        let all = [
            Auth::basic("me@example.com", "tok-basic-1"),
            Auth::bearer("tok-bearer-2"),
            Auth::pagerduty_token(&Secret::new("tok-pd-3")),
            Auth::genie_key(&Secret::new("tok-og-4")),
        ];
        for auth in all {
            let text = format!("{auth:?}");
            assert!(!text.contains("tok-"), "{text}");
        }
    }

    #[test]
    fn custom_header_secrets_include_the_bare_key() {
        let auth = Auth::pagerduty_token(&Secret::new("tok-pd-3"));
        let secrets = auth.secrets();
        assert!(secrets.iter().any(|s| s.expose() == "tok-pd-3"));
        let auth = Auth::genie_key(&Secret::new("tok-og-4"));
        assert!(auth.secrets().iter().any(|s| s.expose() == "tok-og-4"));
    }

    #[test]
    fn basic_secrets_include_the_header_value_encoding() {
        let auth = Auth::basic("me@example.com", "tok-basic-1");
        let secrets = auth.secrets();
        // base64("me@example.com:tok-basic-1"), as `Authorization: Basic ...` carries it.
        assert!(
            secrets
                .iter()
                .any(|s| s.expose() == "bWVAZXhhbXBsZS5jb206dG9rLWJhc2ljLTE=")
        );
        assert!(secrets.iter().any(|s| s.expose() == "tok-basic-1"));
    }
}
