//! chor-runtime.
