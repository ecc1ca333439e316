//! chor-lsp: the language server of the .chor language (`chor lsp`).
//!
//! Layers, from the protocol down:
//! - `server` speaks LSP over stdio (tower-lsp-server); it only converts positions and types;
//! - [`features`] are pure functions `(db, file, offset) -> data` (hover, completion, …) that
//!   tests call directly;
//! - [`Analysis`] is the compiler's incremental database (implemented by the driver), so the
//!   server runs exactly the queries of `chor check`, reusing unchanged work between edits.
//!
//! Only this crate knows the LSP protocol types.

mod analysis;
pub mod features;
pub mod line_index;
mod server;

pub use analysis::{Analysis, refresh_unopened};
pub use server::{COMMAND_SHOW_PROJECTION, run_stdio};
