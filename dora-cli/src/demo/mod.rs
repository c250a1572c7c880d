//! The bundled demo: a realistic sample workspace served over HTTP in the
//! Bitbucket Cloud and PagerDuty wire formats, so that `dora demo` runs the real
//! collectors end to end without network access or credentials.
//!
//! - [`sample`] generates the data deterministically from a seed;
//! - [`wire`] renders it as the JSON the real APIs return;
//! - [`server`] serves it on `127.0.0.1` with pagination, for the demo and for
//!   integration tests.

pub mod rng;
pub mod sample;
pub mod server;
pub mod wire;

pub use sample::{DEFAULT_SEED, Sample, WORKSPACE, generate};
pub use server::{DemoServer, ServerOptions};
