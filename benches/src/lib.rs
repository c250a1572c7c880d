//! Synthetic history generator for the benchmarks.
