//! chor-project.
