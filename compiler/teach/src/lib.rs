//! chor-teach: the tools that help people learn and read choreographies — the formatter
//! (`chor fmt`) and sequence diagrams of a choreography or of one run (`chor diagram`,
//! `chor simulate --trace --diagram`) as SVG or Mermaid text.

pub mod fmt;
