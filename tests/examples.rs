//! Every example program checks without errors (warnings are allowed) and has a `main`.

use crate::support::{Sources, check, render};

#[test]
fn examples_check_without_errors() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("examples directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "chor"))
        .collect();
    entries.sort();
    assert!(!entries.is_empty(), "no examples found");
    let mut failures = String::new();
    for path in entries {
        let name = format!(
            "examples/{}",
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        );
        let sources = Sources {
            root_name: name.clone(),
            root: std::fs::read_to_string(&path).expect("readable example"),
            imports: Vec::new(),
        };
        let (p, checked) = check(&sources);
        let errors: Vec<_> = checked
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .cloned()
            .collect();
        if !errors.is_empty() {
            failures.push_str(&render(&errors, &sources));
        }
        if let Some(d) = chor_check::check_entry(&p) {
            failures.push_str(&format!("{name}: {}\n", d.message));
        }
    }
    assert!(failures.is_empty(), "examples with errors:\n{failures}");
}

#[test]
fn stdlib_checks_clean() {
    let sources = Sources {
        root_name: "empty.chor".into(),
        root: String::new(),
        imports: Vec::new(),
    };
    let (_, checked) = check(&sources);
    assert!(
        checked.diagnostics.is_empty(),
        "the standard library has diagnostics:\n{}",
        render(&checked.diagnostics, &sources)
    );
}
