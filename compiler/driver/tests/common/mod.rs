//! Shared helpers for the driver's integration tests (each test binary uses a part of them).
#![allow(dead_code)]

pub mod generate;

use std::collections::BTreeMap;

/// Group `(role, line)` output by role, keeping each role's order.
pub fn by_role(lines: &[(String, String)]) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (r, l) in lines {
        m.entry(r.clone()).or_default().push(l.clone());
    }
    m
}

/// Parse an `.expected` file of `[Role] line` lines.
pub fn parse_expected(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut pairs = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix('[') {
            if let Some((role, l)) = rest.split_once("] ") {
                pairs.push((role.to_owned(), l.to_owned()));
            } else if let Some(role) = rest.strip_suffix(']') {
                pairs.push((role.to_owned(), String::new()));
            }
        }
    }
    by_role(&pairs)
}

/// The repository's `examples/*.chor`, sorted.
pub fn examples() -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples/ exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "chor"))
        .collect();
    v.sort();
    v
}
