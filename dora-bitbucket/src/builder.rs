//! `Bitbucket::builder(workspace)…build()`.

use crate::error::SOURCE;
use crate::source::{Bitbucket, Scope};
use dora_core::SourceError;
use dora_http::{Auth, HttpClient, HttpClientBuilder, RetryPolicy, Secret};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The public Bitbucket Cloud API root.
pub const DEFAULT_BASE_URL: &str = "https://api.bitbucket.org/2.0";

type HttpTweak = Box<dyn FnOnce(HttpClientBuilder) -> HttpClientBuilder + Send>;
type RepoFilter = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// The environment variables of Bitbucket credentials, as messages name them.
pub const CREDENTIAL_VARS: &str = "BITBUCKET_EMAIL + BITBUCKET_API_TOKEN (an Atlassian API token, sent as basic auth) or BITBUCKET_ACCESS_TOKEN (a repository/project/workspace access token or OAuth token, sent as bearer)";

/// Bitbucket credentials from environment variables read through `lookup`:
/// `BITBUCKET_EMAIL` + `BITBUCKET_API_TOKEN` (basic), else
/// `BITBUCKET_ACCESS_TOKEN` (bearer). The one check of them: the builder's
/// [`BitbucketBuilder::with_credentials_from`] and the `dora` command (which reports
/// every missing credential of a run at once) both call it. The error says
/// which variable is missing and how to get the token.
pub fn credentials_from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Auth, String> {
    let get = |name: &str| {
        lookup(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    match (
        get("BITBUCKET_EMAIL"),
        get("BITBUCKET_API_TOKEN"),
        get("BITBUCKET_ACCESS_TOKEN"),
    ) {
        (Some(email), Some(token), _) => Ok(Auth::basic(email, Secret::new(token))),
        (_, _, Some(access)) => Ok(Auth::bearer(Secret::new(access))),
        (None, Some(_), None) => Err("BITBUCKET_API_TOKEN is set but BITBUCKET_EMAIL is not: an Atlassian API token is sent with your Atlassian account email as the user name".into()),
        (Some(_), None, None) => Err("BITBUCKET_EMAIL is set but BITBUCKET_API_TOKEN is not: create an Atlassian user API token (https://id.atlassian.com/manage-profile/security/api-tokens) with read scopes for pull requests, repositories and pipelines".into()),
        (None, None, None) => Err(format!("no Bitbucket credentials: set {CREDENTIAL_VARS}")),
    }
}

/// Builds a [`Bitbucket`] source.
#[must_use]
pub struct BitbucketBuilder {
    workspace: String,
    repos: Vec<String>,
    filter: Option<RepoFilter>,
    repo_query: Option<String>,
    base_url: String,
    auth: Auth,
    credential_error: Option<String>,
    timeout: Duration,
    concurrency: usize,
    retry: RetryPolicy,
    history_margin: Duration,
    max_commit_pages: usize,
    slow_check_interval: Duration,
    http: Vec<HttpTweak>,
}

impl fmt::Debug for BitbucketBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BitbucketBuilder")
            .field("workspace", &self.workspace)
            .field("repos", &self.repos)
            .field("repo_query", &self.repo_query)
            .field("base_url", &self.base_url)
            .field("auth", &self.auth)
            .field("timeout", &self.timeout)
            .field("concurrency", &self.concurrency)
            .field("history_margin", &self.history_margin)
            .finish_non_exhaustive()
    }
}

impl BitbucketBuilder {
    pub(crate) fn new(workspace: impl Into<String>) -> Self {
        Self {
            workspace: workspace.into(),
            repos: Vec::new(),
            filter: None,
            repo_query: None,
            base_url: DEFAULT_BASE_URL.into(),
            auth: Auth::None,
            credential_error: None,
            timeout: Duration::from_secs(30),
            concurrency: 4,
            retry: RetryPolicy::default(),
            history_margin: Duration::from_secs(14 * 24 * 3600),
            max_commit_pages: 50,
            slow_check_interval: Duration::from_secs(24 * 3600),
            http: Vec::new(),
        }
    }

    /// Add one repository (by slug). Without any, every repository of the
    /// workspace is collected.
    pub fn with_repo(mut self, slug: impl Into<String>) -> Self {
        self.repos.push(slug.into());
        self
    }

    /// Add repositories (by slug).
    pub fn with_repos<I, S>(mut self, slugs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.repos.extend(slugs.into_iter().map(Into::into));
        self
    }

    /// When collecting a whole workspace, keep only repositories whose slug
    /// passes `filter`.
    pub fn with_repo_filter(
        mut self,
        filter: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.filter = Some(Arc::new(filter));
        self
    }

    /// When collecting a whole workspace, a BBQL `q=` filter for the
    /// repository listing (e.g. `project.key = "WEB"`), applied by Bitbucket.
    pub fn with_repo_query(mut self, bbql: impl Into<String>) -> Self {
        self.repo_query = Some(bbql.into());
        self
    }

    /// The API root (default [`DEFAULT_BASE_URL`]); the test seam.
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Atlassian user API token: the account email and the token, sent as HTTP
    /// Basic auth.
    pub fn with_basic_auth(
        mut self,
        email: impl Into<String>,
        api_token: impl Into<Secret>,
    ) -> Self {
        self.auth = Auth::basic(email, api_token);
        self.credential_error = None;
        self
    }

    /// A repository/project/workspace access token or an OAuth access token,
    /// sent as `Authorization: Bearer`.
    pub fn with_bearer(mut self, token: impl Into<Secret>) -> Self {
        self.auth = Auth::bearer(token);
        self.credential_error = None;
        self
    }

    /// Credentials from the environment: `BITBUCKET_EMAIL` +
    /// `BITBUCKET_API_TOKEN` (basic), else `BITBUCKET_ACCESS_TOKEN` (bearer).
    /// Finding neither makes [`BitbucketBuilder::build`] fail with a message
    /// naming the variables.
    pub fn with_env_credentials(self) -> Self {
        self.with_credentials_from(|name| std::env::var(name).ok())
    }

    /// Like [`BitbucketBuilder::with_env_credentials`], reading variables through `lookup`
    /// (for tests and embedding applications with their own configuration).
    pub fn with_credentials_from(mut self, lookup: impl Fn(&str) -> Option<String>) -> Self {
        match credentials_from_env(lookup) {
            Ok(auth) => {
                self.auth = auth;
                self.credential_error = None;
            }
            Err(message) => self.credential_error = Some(message),
        }
        self
    }

    /// Credentials given as values, as the Python bindings take them:
    /// `email` + `api_token` (basic) or `access_token` (bearer); none of the
    /// three reads the environment ([`BitbucketBuilder::with_env_credentials`]). Giving
    /// both kinds, or half of the pair, makes [`BitbucketBuilder::build`] fail
    /// naming what is missing.
    pub fn with_credentials(
        self,
        email: Option<String>,
        api_token: Option<String>,
        access_token: Option<String>,
    ) -> Self {
        let mut b = match (email, api_token, access_token) {
            (Some(email), Some(token), None) => return self.with_basic_auth(email, token),
            (None, None, Some(token)) => return self.with_bearer(token),
            (None, None, None) => return self.with_env_credentials(),
            (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => (
                self,
                "give either email + api_token or access_token, not both",
            ),
            (Some(_), None, None) => (self, "email needs api_token (an Atlassian API token)"),
            (None, Some(_), None) => (
                self,
                "api_token needs email (the Atlassian account's email is the user name)",
            ),
        };
        b.0.credential_error = Some(b.1.to_string());
        b.0
    }

    /// Per-request time-out (default 30 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Requests in flight at once (default 4).
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Retry policy (default [`RetryPolicy::default`]).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// History fetched before the window (and before the last production
    /// deployment preceding it), so that the baseline and long-lived branches
    /// resolve. Default 14 days.
    pub fn with_history_margin(mut self, margin: Duration) -> Self {
        self.history_margin = margin;
        self
    }

    /// The most pages of production-branch commits walked per repository
    /// (default 50, i.e. 5,000 commits). A merged pull request whose merge
    /// commit the capped walk did not reach is listed in the dataset's
    /// `collection.history_truncated` (left out of lead time) instead of being
    /// measured from a partial history.
    pub fn with_max_commit_pages(mut self, pages: usize) -> Self {
        self.max_commit_pages = pages.max(1);
        self
    }

    /// How often an incremental sync also re-checks what rarely changes
    /// (default 24 hours; zero: every sync): the branching model (one request
    /// per repository, a quarter more than a sync that finds nothing new) and
    /// up to 20 planned deployments too old to be re-checked on every sync
    /// (in rotation). A change to either reaches the store within this time;
    /// a full collection always reads both.
    pub fn with_slow_check_interval(mut self, every: Duration) -> Self {
        self.slow_check_interval = every;
        self
    }

    /// The most time all waits together may take (429 waits, 5xx and
    /// transport-error backoff; default 10 minutes). A wait that would go past
    /// it fails the collection with a message saying so.
    pub fn with_max_wait(self, limit: Duration) -> Self {
        self.with_wait_budget(dora_http::WaitBudget::new(limit))
    }

    /// Charge waits to `budget`, shared with other sources (one budget per run).
    pub fn with_wait_budget(mut self, budget: dora_http::WaitBudget) -> Self {
        self.http
            .push(Box::new(move |b| b.with_wait_budget(budget)));
        self
    }

    /// Adjust the HTTP client further (progress hook, sleeper, user agent).
    pub fn with_http(
        mut self,
        tweak: impl FnOnce(HttpClientBuilder) -> HttpClientBuilder + Send + 'static,
    ) -> Self {
        self.http.push(Box::new(tweak));
        self
    }

    /// Build the source.
    pub fn build(self) -> Result<Bitbucket, SourceError> {
        let config_error = |message: String| SourceError::Config {
            source_name: SOURCE.into(),
            message,
        };
        if let Some(message) = self.credential_error {
            return Err(config_error(message));
        }
        if self.workspace.trim().is_empty() {
            return Err(config_error("the workspace is empty".into()));
        }
        if !is_slug(&self.workspace) && !is_uuid(&self.workspace) {
            return Err(config_error(format!(
                "`{}` is not a workspace slug or {{UUID}}: use letters, digits, `-`, `_` or `.`",
                self.workspace.escape_debug()
            )));
        }
        if let Some(bad) = self.repos.iter().find(|r| !is_slug(r)) {
            let why = if bad.contains('/') {
                "give the slug only, without the workspace"
            } else {
                "use letters, digits, `-`, `_` or `.`"
            };
            return Err(config_error(format!(
                "`{}` is not a repository slug ({why})",
                bad.escape_debug()
            )));
        }
        let mut http = HttpClient::builder(self.base_url)
            .with_auth(self.auth)
            .with_timeout(self.timeout)
            .with_concurrency(self.concurrency)
            .with_retry_policy(self.retry);
        for tweak in self.http {
            http = tweak(http);
        }
        let client = http.build().map_err(|e| match e {
            dora_http::Error::Credentials(message) => {
                SourceError::auth(SOURCE, format!("bitbucket: {message}"))
            }
            e => config_error(e.to_string()),
        })?;
        let scope = if self.repos.is_empty() {
            Scope::Workspace {
                filter: self.filter,
                query: self.repo_query,
            }
        } else {
            let mut repos = self.repos;
            repos.sort();
            repos.dedup();
            Scope::Repos(repos)
        };
        Ok(Bitbucket {
            workspace: self.workspace,
            scope,
            client,
            history_margin: chrono::Duration::from_std(self.history_margin)
                .unwrap_or(chrono::Duration::days(14)),
            max_commit_pages: self.max_commit_pages,
            slow_check_interval: chrono::Duration::from_std(self.slow_check_interval)
                .unwrap_or(chrono::Duration::MAX),
            listed_main: std::sync::Mutex::default(),
        })
    }
}

/// A Bitbucket slug as it may appear in a URL path segment: letters, digits,
/// `-`, `_`, `.`, and not `.` or `..` (which would climb the path).
pub(crate) fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A `{UUID}` (Bitbucket accepts a workspace's UUID in braces).
fn is_uuid(s: &str) -> bool {
    s.len() == 38
        && s.starts_with('{')
        && s.ends_with('}')
        && s[1..37].chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

#[cfg(test)]
mod slug_tests {
    use super::{is_slug, is_uuid};

    #[test]
    fn slugs_that_would_climb_or_break_the_path_are_refused() {
        for ok in ["web", "payments-api", "a_b.c", "X1"] {
            assert!(is_slug(ok), "{ok}");
        }
        for bad in [
            "", ".", "..", "acme/web", "a b", "web%2f..", "web?x", "we\nb", "é",
        ] {
            assert!(!is_slug(bad), "{bad}");
        }
        assert!(is_uuid("{5a1e0f7c-1111-4c9b-9a38-0c2f0a6b7e01}"));
        assert!(!is_uuid("{../../x}"));
    }
}
