//! The integration test binary: ui diagnostics, the examples, and robustness (no panics).

mod examples;
mod robustness;
mod support;
mod ui;
