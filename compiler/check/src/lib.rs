//! chor-check: the program model (files, imports, stdlib, item index) and the static checks:
//! name resolution, types, locations of variables at roles, and role discipline.

pub mod program;
pub mod stdlib;

pub use program::{ItemRef, Loader, Program, QualName, Unit};
