//! # dora-testkit: one set of fakes for tests, benches and the demo
//!
//! Support code shared by the workspace's tests, benches and `dora demo`; not
//! an API for metrics users (it is published only because the published
//! `dora` command serves its sample in `dora demo`).
//!
//! - [`rng`]: a tiny seeded random number generator, the same on every machine;
//! - [`sample`]: a deterministic simulation of one Bitbucket workspace and its
//!   PagerDuty account ([`generate`]);
//! - [`walk`]: the reachability walk over commit parents the Bitbucket fakes
//!   share;
//! - [`wire`]: the sample rendered as the JSON Bitbucket Cloud and PagerDuty
//!   return;
//! - [`mock`]: a mock HTTP server on `127.0.0.1` answering with any
//!   [`Responder`](mock::Responder), with scripted faults and a request log
//!   (under the demo server and the incident tools' conformance fakes);
//! - [`paging`]: pagination styles the fakes share (PagerDuty's offsets);
//! - [`server`]: a local HTTP server on `127.0.0.1` serving a sample in those
//!   wire formats, with pagination ([`DemoServer`]).
//!
//! ```
//! use dora_testkit::{DEFAULT_SEED, WORKSPACE, generate};
//!
//! let sample = generate(DEFAULT_SEED);
//! assert_eq!(sample.workspace, WORKSPACE);
//! assert!(sample.repositories.iter().any(|r| !r.pull_requests.is_empty()));
//! // The same seed gives the same sample, byte for byte.
//! assert_eq!(
//!     generate(DEFAULT_SEED).repositories[0].commits[0].sha,
//!     sample.repositories[0].commits[0].sha
//! );
//! ```
//!
//! Serving it on `127.0.0.1` is [`DemoServer`]'s job (feature `server`, on by
//! default; the benches turn it off and keep the sample, its RNG and its
//! wire rendering).

#![forbid(unsafe_code)]

#[cfg(feature = "server")]
pub mod mock;
#[cfg(feature = "server")]
pub mod paging;
pub mod rng;
pub mod sample;
#[cfg(feature = "server")]
pub mod server;
pub mod walk;
pub mod wire;

pub use rng::Rng;
pub use sample::{DEFAULT_SEED, Sample, WORKSPACE, generate};
#[cfg(feature = "server")]
pub use server::{DemoServer, ServerOptions};
