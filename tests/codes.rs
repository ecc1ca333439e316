//! The registry of diagnostic codes is complete and is what docs/types.md shows: every code
//! literal in the compiler's and language server's sources is registered, and the docs table
//! is the registry's table.

use chor_diagnostics::codes;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
}

fn rust_sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("readable") {
        let p = e.expect("entry").path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_dir() {
            if name != "target" && name != "tests" && name != "benches" {
                rust_sources(&p, out);
            }
        } else if name.ends_with(".rs") {
            out.push(p);
        }
    }
}

/// `"E0123"` / `"W0001"` string literals in a source text.
fn code_literals(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut found = Vec::new();
    for i in 0..b.len().saturating_sub(6) {
        if b[i] == b'"'
            && (b[i + 1] == b'E' || b[i + 1] == b'W')
            && b[i + 2..i + 6].iter().all(u8::is_ascii_digit)
            && b[i + 6] == b'"'
        {
            found.push(text[i + 1..i + 6].to_owned());
        }
    }
    found
}

#[test]
fn every_code_used_in_the_sources_is_registered() {
    let mut files = Vec::new();
    for dir in ["compiler", "lsp/src", "runtime/src"] {
        rust_sources(&root().join(dir), &mut files);
    }
    assert!(files.len() > 20, "sources not found: {files:?}");
    let mut used = 0;
    for f in files {
        let text = std::fs::read_to_string(&f).expect("readable");
        for code in code_literals(&text) {
            used += 1;
            assert!(
                codes::title(&code).is_some(),
                "{} uses {code}, which compiler/diagnostics/src/codes.rs does not register",
                f.display()
            );
        }
    }
    assert!(used > 50, "only {used} code literals found");
}

#[test]
fn docs_types_md_shows_the_registry() {
    let doc = std::fs::read_to_string(root().join("docs/types.md")).expect("docs/types.md");
    assert!(
        doc.contains(&codes::markdown_table()),
        "docs/types.md's table of codes differs from the registry; replace it with:\n{}",
        codes::markdown_table()
    );
    let mut sorted: Vec<_> = codes::CODES.iter().map(|c| c.code).collect();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), codes::CODES.len(), "codes are unique");
}

#[test]
fn code_literals_are_found() {
    assert_eq!(
        code_literals(r#"Diagnostic::error("E0215", "x") "W0002" "E12" "#),
        ["E0215", "W0002"]
    );
}
