//! Examples live beside this crate's manifest.
