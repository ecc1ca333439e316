//! chor-teach: the tools that help people learn and read choreographies — the formatter
//! (`chor fmt`) and sequence diagrams of a choreography or of one run (`chor diagram`,
//! `chor simulate --trace --diagram`) as SVG or Mermaid text.

pub mod diagram;
pub mod fmt;
pub mod mermaid;
pub mod svg;

pub use diagram::{
    Diagram, MessageKind, RunEvent, Section, Step, from_choreography, from_choreography_marked,
    from_run,
};
