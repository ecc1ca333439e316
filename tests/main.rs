//! The integration test binary: ui diagnostics, the examples, robustness (no panics), and
//! incremental re-parsing.

mod examples;
mod incremental;
mod robustness;
mod support;
mod ui;
