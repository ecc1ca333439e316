//! chor-diagnostics.
