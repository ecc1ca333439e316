//! chor-check.
