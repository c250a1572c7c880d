//! Errors of the core.

/// Errors of the core: invalid configuration or an unreadable dataset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A serialised dataset could not be read.
    #[error("invalid dataset: {0}")]
    Dataset(String),
}
