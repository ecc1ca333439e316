//! chor-syntax.
