//! # dora-cli: the `dora` command as a library
//!
//! The binary (`dora`) is a thin shell over this library so that tests and other
//! tools can reuse its parts:
//!
//! - [`output`]: the report renderers (table, JSON, CSV, OpenMetrics, HTML);
//! - [`settings`]: `dora.toml` and flag precedence (the `dora-settings` crate,
//!   shared with the Python bindings).

#![forbid(unsafe_code)]

pub mod output;
pub mod progress;
pub use dora_settings as settings;
