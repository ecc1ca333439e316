//! The integration test binary: ui diagnostics, the examples, robustness (no panics),
//! incremental re-parsing and re-checking.

mod check_reuse;
mod codes;
mod examples;
mod incremental;
mod robustness;
mod support;
mod ui;
