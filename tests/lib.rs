//! chor-tests: the integration test suite of the workspace; all tests live in `main.rs`.
