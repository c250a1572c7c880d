//! Bitbucket-specific, actionable conversions of HTTP errors into
//! `dora_core::SourceError`.

use dora_core::SourceError;
use dora_http::{Error, StatusCode};

pub(crate) const SOURCE: &str = "bitbucket";

/// Where a request was going, for messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'a> {
    pub workspace: &'a str,
    pub repo: Option<&'a str>,
    /// `basic`, `bearer` or `none`.
    pub auth_scheme: &'static str,
}

impl Context<'_> {
    fn target(&self) -> String {
        match self.repo {
            Some(repo) => format!("repository {}/{}", self.workspace, repo),
            None => format!("workspace {}", self.workspace),
        }
    }
}

/// The OAuth scope (and granular API-token scope) an endpoint needs.
pub(crate) fn scope_of(endpoint: &str) -> (&'static str, &'static str) {
    if endpoint.starts_with("pullrequest") {
        ("pullrequest", "read:pullrequest:bitbucket")
    } else if endpoint.starts_with("deployments")
        || endpoint.starts_with("environments")
        || endpoint.starts_with("pipelines")
    {
        ("pipeline", "read:pipeline:bitbucket")
    } else {
        ("repository", "read:repository:bitbucket")
    }
}

pub(crate) fn convert(err: Error, ctx: Context<'_>) -> SourceError {
    let endpoint = err.endpoint().unwrap_or("bitbucket").to_owned();
    let server = err
        .server_message()
        .map(|m| format!(" Bitbucket said: \"{m}\"."))
        .unwrap_or_default();
    match err.status() {
        Some(StatusCode::UNAUTHORIZED) => {
            let advice = match ctx.auth_scheme {
                "basic" => {
                    "Basic auth needs an Atlassian user API token (BITBUCKET_API_TOKEN) with the Atlassian account email as the user name (BITBUCKET_EMAIL). App passwords no longer work (Atlassian removed them on 2026-07-28), and a repository/project/workspace access token must be sent as a bearer token (BITBUCKET_ACCESS_TOKEN) instead."
                }
                "bearer" => {
                    "The bearer token (BITBUCKET_ACCESS_TOKEN) must be a repository, project or workspace access token or an OAuth access token that has not expired or been revoked. An Atlassian user API token is not a bearer token: send it as basic auth with the account email (BITBUCKET_EMAIL + BITBUCKET_API_TOKEN)."
                }
                _ => {
                    "No credentials were sent: set BITBUCKET_EMAIL + BITBUCKET_API_TOKEN (Atlassian user API token, basic auth) or BITBUCKET_ACCESS_TOKEN (access token, bearer)."
                }
            };
            SourceError::auth(
                SOURCE,
                format!(
                    "HTTP 401 on {endpoint} for {}: the credentials were rejected.{server}",
                    ctx.target()
                ),
            )
            .with_hint(advice)
            .with_source(err)
        }
        Some(StatusCode::FORBIDDEN) => {
            let (scope, granular) = scope_of(&endpoint);
            SourceError::auth(
                SOURCE,
                format!(
                    "HTTP 403 on {endpoint} for {}: the credentials lack the `{scope}` scope (`{granular}` for API tokens) or read access to it.{server}",
                    ctx.target()
                ),
            )
            .with_hint("Grant the scope to the token, or use an account that can read this repository.")
            .with_source(err)
        }
        Some(StatusCode::NOT_FOUND) => SourceError::not_found(
            SOURCE,
            format!("{} ({endpoint}).{server}", ctx.target()),
        )
        .with_hint("Check the workspace and repository slugs, and that the credentials can see it.")
        .with_source(err),
        _ => match err {
            Error::RateLimited { retry_after, .. } => SourceError::RateLimited {
                source_name: SOURCE.into(),
                endpoint: format!("{endpoint} ({})", ctx.target()),
                retry_after,
            },
            err @ (Error::Decode { .. } | Error::Pagination { .. } | Error::Url { .. }) => {
                let message = err.to_string();
                SourceError::protocol(SOURCE, format!("{} {endpoint}", ctx.target()), message)
                    .with_source(err)
            }
            other => SourceError::Other {
                source_name: SOURCE.into(),
                message: format!("{}: {other}", ctx.target()),
                source: Some(Box::new(other)),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, endpoint: &str) -> Error {
        // Build through the public shape: a Status error.
        Error::Status {
            endpoint: endpoint.into(),
            status: StatusCode::from_u16(code).expect("status"),
            message: Some("msg".into()),
            attempts: 1,
        }
    }

    #[test]
    fn scopes_per_endpoint() {
        assert_eq!(scope_of("pullrequests").0, "pullrequest");
        assert_eq!(scope_of("pullrequests/activity").0, "pullrequest");
        assert_eq!(scope_of("pullrequest/commits").0, "pullrequest");
        assert_eq!(scope_of("deployments").0, "pipeline");
        assert_eq!(scope_of("environments").0, "pipeline");
        assert_eq!(scope_of("commits").0, "repository");
        assert_eq!(scope_of("repository").0, "repository");
    }

    #[test]
    fn messages_are_actionable() {
        let ctx = Context {
            workspace: "acme",
            repo: Some("web"),
            auth_scheme: "basic",
        };
        let e = convert(status(401, "repository"), ctx).to_string();
        assert!(
            e.contains("API token") && e.contains("email") && e.contains("App passwords"),
            "{e}"
        );
        let e = convert(
            status(401, "repository"),
            Context {
                auth_scheme: "bearer",
                ..ctx
            },
        )
        .to_string();
        assert!(e.contains("bearer token"), "{e}");
        let e = convert(status(403, "deployments"), ctx).to_string();
        assert!(
            e.contains("`pipeline`") && e.contains("read:pipeline:bitbucket"),
            "{e}"
        );
        let e = convert(status(404, "repository"), ctx);
        assert!(matches!(e, SourceError::NotFound { .. }));
        assert!(e.to_string().contains("acme/web"), "{e}");
        let e = convert(status(404, "repositories"), Context { repo: None, ..ctx });
        assert!(e.to_string().contains("workspace acme"), "{e}");
    }

    #[test]
    fn advice_is_a_hint_said_once_and_the_cause_is_kept() {
        use std::error::Error as _;
        let ctx = Context {
            workspace: "acme",
            repo: Some("web"),
            auth_scheme: "basic",
        };
        for (code, advice) in [
            (401, "App passwords"),
            (403, "Grant the scope"),
            (404, "Check the workspace"),
        ] {
            let e = convert(status(code, "repository"), ctx);
            let hint = e.hint().expect("a hint");
            assert!(hint.contains(advice), "{code}: {hint}");
            let text = e.to_string();
            assert_eq!(text.matches(advice).count(), 1, "{code}: {text}");
            assert!(text.ends_with(hint), "{code}: {text}");
            let cause = e.source().and_then(|c| c.downcast_ref::<Error>());
            assert!(
                matches!(cause, Some(Error::Status { status, .. }) if status.as_u16() == code),
                "{code}: {cause:?}"
            );
        }
    }
}
