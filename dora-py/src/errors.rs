//! The one place where Rust errors become Python exceptions.
//!
//! Every fallible function of the extension returns [`DoraErr`]; its conversion
//! into [`PyErr`] below is the only mapping from `dora_core::Error`,
//! `dora_core::SourceError`, the store's errors and caught panics to the Python hierarchy:
//!
//! ```text
//! DoraError
//! ├── AuthError          credentials missing, wrong or lacking a scope
//! ├── RateLimitError     rate limit exhausted (.retry_after seconds or None)
//! ├── SourceError        the server failed or answered something unusable
//! │   └── NotFoundError  workspace / repository / resource does not exist
//! ├── ConfigError        invalid configuration (Config, source settings)
//! ├── DatasetError       a dataset (JSON, records, frames) could not be read
//! └── StoreError         the event store could not be opened, read or written
//! ```

use dora_core::SourceError as CoreSourceError;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::{PyErr, create_exception};
use std::any::Any;

create_exception!(
    dora_metrics,
    DoraError,
    PyException,
    "Base class of every error raised by dora_metrics."
);
create_exception!(
    dora_metrics,
    AuthError,
    DoraError,
    "Credentials are missing, wrong or lack a scope."
);
create_exception!(
    dora_metrics,
    RateLimitError,
    DoraError,
    "A rate limit was exhausted and retries gave up; `retry_after` holds the server's hint in seconds."
);
create_exception!(
    dora_metrics,
    SourceError,
    DoraError,
    "A source (Bitbucket, an incident tool) failed or answered something unusable."
);
create_exception!(
    dora_metrics,
    NotFoundError,
    SourceError,
    "A workspace, repository or other resource does not exist (or is hidden)."
);
create_exception!(
    dora_metrics,
    ConfigError,
    DoraError,
    "The configuration (of a report or of a source) is invalid."
);
create_exception!(
    dora_metrics,
    DatasetError,
    DoraError,
    "A dataset (JSON, records or frames) could not be read."
);
create_exception!(
    dora_metrics,
    StoreError,
    DoraError,
    "The event store (a SQLite file) could not be opened, read or written."
);

/// Everything that can go wrong inside the extension.
#[derive(Debug)]
pub enum DoraErr {
    /// An error of the pure core.
    Core(dora_core::Error),
    /// An error of a source.
    Source(CoreSourceError),
    /// Invalid input detected by the binding itself (config keyword, table name).
    Config(String),
    /// Unreadable dataset input detected by the binding itself.
    Dataset(String),
    /// The event store failed (open, read, write) or was used after `close()`.
    Store(String),
    /// A source failed during a store sync; the scopes stored before it are kept.
    Sync {
        /// Scopes fully stored before the failure.
        completed_scopes: usize,
        /// The source's error.
        source: CoreSourceError,
    },
    /// A bug: a panic caught before it could reach Python.
    Internal(String),
    /// A Python exception raised while calling back into Python; passed through.
    Python(PyErr),
}

impl From<dora_core::Error> for DoraErr {
    fn from(e: dora_core::Error) -> Self {
        Self::Core(e)
    }
}

impl From<CoreSourceError> for DoraErr {
    fn from(e: CoreSourceError) -> Self {
        Self::Source(e)
    }
}

impl From<dora_store::StoreError> for DoraErr {
    fn from(e: dora_store::StoreError) -> Self {
        Self::Store(e.to_string())
    }
}

impl From<dora_store::SyncError> for DoraErr {
    fn from(e: dora_store::SyncError) -> Self {
        match e {
            dora_store::SyncError::Source {
                completed_scopes,
                source,
            } => Self::Sync {
                completed_scopes,
                source,
            },
            // `SyncError` is non-exhaustive: anything else is the store's.
            other => Self::Store(other.to_string()),
        }
    }
}

impl From<PyErr> for DoraErr {
    fn from(e: PyErr) -> Self {
        Self::Python(e)
    }
}

/// Result of the extension's fallible functions.
pub type DoraResult<T> = Result<T, DoraErr>;

/// Attach attributes to a freshly created exception (best effort: an exception
/// without its extra attributes is still the right exception).
fn with_attrs(err: PyErr, attrs: &[(&str, Option<String>)], retry_after: Option<f64>) -> PyErr {
    Python::attach(|py| {
        let value = err.value(py);
        for (name, v) in attrs {
            let _ = value.setattr(*name, v.clone());
        }
        if value.is_instance_of::<RateLimitError>() {
            let _ = value.setattr("retry_after", retry_after);
        }
    });
    err
}

impl From<DoraErr> for PyErr {
    fn from(e: DoraErr) -> PyErr {
        match e {
            DoraErr::Core(dora_core::Error::Config(_)) => ConfigError::new_err(e_to_string(&e)),
            DoraErr::Core(dora_core::Error::Dataset(_)) => DatasetError::new_err(e_to_string(&e)),
            // `dora_core::Error` is non-exhaustive: newer variants are still DoraErrors.
            DoraErr::Core(_) => DoraError::new_err(e_to_string(&e)),
            DoraErr::Source(source) => source_error(source, String::new()),
            DoraErr::Sync {
                completed_scopes,
                source,
            } => source_error(
                source,
                format!(
                    "sync stopped after {completed_scopes} scope(s) (kept in the store; the next sync resumes): "
                ),
            ),
            DoraErr::Store(message) => StoreError::new_err(message),
            DoraErr::Config(message) => ConfigError::new_err(message),
            DoraErr::Dataset(message) => DatasetError::new_err(message),
            DoraErr::Internal(message) => DoraError::new_err(format!(
                "internal error in dora_metrics (please report it): {message}"
            )),
            DoraErr::Python(err) => err,
        }
    }
}

/// The exception of a source error, its message prefixed with `context`.
fn source_error(source: CoreSourceError, context: String) -> PyErr {
    let message = format!("{context}{source}");
    let name = Some(source.source_name().to_string());
    match source {
        CoreSourceError::Auth { .. } => {
            with_attrs(AuthError::new_err(message), &[("source_name", name)], None)
        }
        CoreSourceError::RateLimited {
            endpoint,
            retry_after,
            ..
        } => with_attrs(
            RateLimitError::new_err(message),
            &[("source_name", name), ("endpoint", Some(endpoint))],
            retry_after.map(|d| d.as_secs_f64()),
        ),
        CoreSourceError::NotFound { .. } => with_attrs(
            NotFoundError::new_err(message),
            &[("source_name", name)],
            None,
        ),
        CoreSourceError::Config { .. } => with_attrs(
            ConfigError::new_err(message),
            &[("source_name", name)],
            None,
        ),
        CoreSourceError::Protocol { endpoint, .. } => with_attrs(
            SourceError::new_err(message),
            &[("source_name", name), ("endpoint", Some(endpoint))],
            None,
        ),
        _ => with_attrs(
            SourceError::new_err(message),
            &[("source_name", name)],
            None,
        ),
    }
}

fn e_to_string(e: &DoraErr) -> String {
    match e {
        DoraErr::Core(core) => core.to_string(),
        DoraErr::Source(source) => source.to_string(),
        DoraErr::Sync { source, .. } => source.to_string(),
        DoraErr::Config(m) | DoraErr::Dataset(m) | DoraErr::Store(m) | DoraErr::Internal(m) => {
            m.clone()
        }
        DoraErr::Python(err) => err.to_string(),
    }
}

/// The message of a caught panic.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// Run `f`, turning a panic into [`DoraErr::Internal`] so none reaches Python.
pub fn guard<T>(f: impl FnOnce() -> DoraResult<T>) -> DoraResult<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => Err(DoraErr::Internal(panic_message(payload.as_ref()))),
    }
}

/// Register the exception classes on the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("DoraError", py.get_type::<DoraError>())?;
    m.add("AuthError", py.get_type::<AuthError>())?;
    m.add("RateLimitError", py.get_type::<RateLimitError>())?;
    m.add("SourceError", py.get_type::<SourceError>())?;
    m.add("NotFoundError", py.get_type::<NotFoundError>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("DatasetError", py.get_type::<DatasetError>())?;
    m.add("StoreError", py.get_type::<StoreError>())?;
    Ok(())
}
