//! chor-runtime: the small messaging runtime that every role executable links against.
//!
//! - [`value`]: the wire value ([`value::Value`]) and what travels ([`value::Message`]);
//! - [`codec`]: its compact, versioned binary encoding (decoding untrusted bytes never panics);
//! - [`decode`]: the typed decoder, which builds each back end's own values from a frame;
//! - [`config`]: the deployment file (`deploy.toml`) read through `--config PATH`;
//! - [`desc`]: [`desc::RoleDesc`], the program description the code generator embeds in a
//!   native role executable;
//! - [`session`]: one role's connections to its peers, in-process ([`session::Session::local_mesh`])
//!   or over TCP with an authenticated handshake ([`session::Session::connect_tcp`]);
//! - [`startup`]: a role executable's command line, deployment file and parent watch;
//! - [`types`]: the message types each receive expects, and the check of received values;
//! - [`error`]: [`error::RtError`], the runtime error that names role, peer and source location;
//! - [`rt`]: what generated native code links against: values, builtins and the `extern "C"`
//!   entry points of `rt::ffi`.
//!
//! Only this crate knows sockets (see docs/architecture.md); it uses plain std threads and
//! `std::net`, so a native executable links it statically without an async runtime.

pub mod codec;
pub mod config;
pub mod decode;
pub mod desc;
pub mod error;
pub mod rt;
pub mod session;
pub mod startup;
pub mod types;
pub mod value;

pub use config::DeployConfig;
pub use error::RtError;
pub use session::{Fingerprint, PeerId, Session};
pub use value::{Message, Value};
