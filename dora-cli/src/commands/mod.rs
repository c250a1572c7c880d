//! One module a subcommand: its flags and how it runs.

pub(crate) mod demo;
pub(crate) mod inventory;
pub(crate) mod report;
pub(crate) mod sync;
