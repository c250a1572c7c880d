//! A failed command: its exit code and the message (with a hint) it prints.

use crate::sources;
use dora_core::SourceError;

/// A failure with its exit code and a message that says what to do next.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            message: message.into(),
        }
    }

    pub(crate) fn auth(message: impl Into<String>) -> Self {
        Self {
            code: 3,
            message: message.into(),
        }
    }

    pub(crate) fn output(message: impl Into<String>) -> Self {
        Self {
            code: 5,
            message: message.into(),
        }
    }

    pub(crate) fn store(error: impl std::fmt::Display) -> Self {
        let message = error.to_string();
        let hint = if message.contains("postgres://") || message.contains("postgresql://") {
            "check the --store URL (user, host, port, database), that the server accepts the \
             connection and the user may create tables; the password comes from the URL or PGPASSWORD"
        } else {
            "check the --store path is a dora SQLite store you can write to"
        };
        Self {
            code: 6,
            message: format!("{message}\n  hint: {hint}"),
        }
    }

    pub(crate) fn sync(error: dora_store::SyncError) -> Self {
        match error {
            dora_store::SyncError::Source {
                completed_scopes,
                source,
            } => {
                let mut f = Self::source(source);
                f.message = format!(
                    "sync stopped after {completed_scopes} repositor{} (kept in the store; the next run resumes): {}",
                    if completed_scopes == 1 { "y" } else { "ies" },
                    f.message
                );
                f
            }
            other => Self::store(other),
        }
    }

    pub(crate) fn internal(error: anyhow::Error) -> Self {
        Self {
            code: 1,
            message: format!("{error:#}"),
        }
    }

    /// A source error, classified.
    pub(crate) fn source(error: SourceError) -> Self {
        let code = match &error {
            SourceError::Auth { .. } => 3,
            SourceError::Config { .. } => 2,
            _ => 4,
        };
        let hint = match &error {
            // The source's own advice is part of its message: say it once.
            _ if error.hint().is_some() => String::new(),
            SourceError::Auth { source_name, .. } => sources::auth_hint(source_name),
            SourceError::NotFound { source_name, .. } if source_name == "jsm" => {
                "check JSM_CLOUD_ID, JSM_SITE or --jsm-url (the base up to and including the cloud id)"
                    .to_string()
            }
            SourceError::NotFound { .. } => {
                "check the workspace and repository slugs (and that the credentials can see them)"
                    .to_string()
            }
            SourceError::RateLimited { .. } => {
                "wait for the rate limit to reset and run again".to_string()
            }
            SourceError::Other {
                source: Some(cause),
                ..
            } if matches!(
                cause.downcast_ref::<dora_http::Error>(),
                Some(dora_http::Error::WaitBudgetExhausted { .. })
            ) =>
            {
                "run again later, or allow more waiting with --max-wait (e.g. --max-wait 30m) or `[http] max_wait_seconds` in dora.toml".to_string()
            }
            SourceError::Config { .. } => String::new(),
            _ => "check the base URL and network, then run again".to_string(),
        };
        let mut message = error.to_string();
        if !hint.is_empty() {
            message.push_str(&format!("\n  hint: {hint}"));
        }
        Self { code, message }
    }
}
