//! chor-interp.
