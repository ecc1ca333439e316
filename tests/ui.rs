//! The ui harness: every `tests/ui/*.chor` marks the diagnostics it expects inline, on the line
//! the diagnostic points at, with `//~ ERROR <part of the message>` or `//~ WARNING <…>`.
//! Every expected diagnostic must appear on its line and no other diagnostic may appear. The
//! rendered report is snapshotted (`tests/snapshots/`), so wording changes show up in review.
//!
//! The unused-variable and unused-role warnings (W0003, W0004) are only checked in files that
//! expect one of them.
//!
//! Files under `tests/ui/lib/` are importable as `"lib/<name>.chor"`. A file containing the
//! comment `// check-entry` also runs the entry-point check (`main` must exist).

use crate::support::{Sources, check, line_of, render};
use chor_diagnostics::Severity;
use std::path::Path;

struct Expected {
    line: usize,
    severity: Severity,
    text: String,
}

fn expectations(src: &str) -> Vec<Expected> {
    let mut out = Vec::new();
    for (i, line) in src.lines().enumerate() {
        // Several markers may share a line: `//~ ERROR a //~ WARNING b`.
        for part in line.split("//~").skip(1) {
            let rest = part.trim();
            let (severity, text) = if let Some(t) = rest.strip_prefix("ERROR") {
                (Severity::Error, t)
            } else if let Some(t) = rest.strip_prefix("WARNING") {
                (Severity::Warning, t)
            } else {
                panic!("line {}: `//~` must be followed by ERROR or WARNING", i + 1);
            };
            out.push(Expected {
                line: i + 1,
                severity,
                text: text.trim().to_owned(),
            });
        }
    }
    out
}

fn read_dir_chor(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p: &std::path::PathBuf| p.extension().is_some_and(|x| x == "chor"));
    v.sort();
    v
}

#[test]
fn ui() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
    let imports: Vec<(String, String)> = read_dir_chor(&dir.join("lib"))
        .into_iter()
        .map(|p| {
            let name = format!(
                "lib/{}",
                p.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            );
            (
                name,
                std::fs::read_to_string(&p).expect("readable ui lib file"),
            )
        })
        .collect();
    let files = read_dir_chor(&dir);
    assert!(
        files.len() >= 40,
        "expected at least 40 ui cases, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    let mut snapshots = Vec::new();
    for path in &files {
        let stem = path
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let src = std::fs::read_to_string(path).expect("readable ui file");
        let sources = Sources {
            root_name: format!("ui/{stem}.chor"),
            root: src.clone(),
            imports: imports.clone(),
        };
        let (p, checked) = check(&sources);
        let mut diags = checked.diagnostics.clone();
        // The unused-variable and unused-role warnings (W0003, W0004) are checked only in the
        // files that are about them (that expect one): elsewhere a case's leftover bindings
        // would bury what it tests.
        if !src.contains("is never used") && !src.contains("takes no part") {
            diags.retain(|d| d.code != "W0003" && d.code != "W0004");
        }
        if src.contains("// check-entry") {
            diags.extend(chor_check::check_entry(&p));
        }
        let mut expected = expectations(&src);
        let mut problems = Vec::new();
        for d in &diags {
            let Some(span) = d.primary_span() else {
                problems.push(format!("diagnostic without a span: {}", d.message));
                continue;
            };
            let line = if span.file.0 == 0 {
                line_of(&src, span.start)
            } else {
                0
            };
            match expected.iter().position(|e| {
                e.line == line && e.severity == d.severity && d.message.contains(&e.text)
            }) {
                Some(k) => {
                    expected.remove(k);
                }
                None => problems.push(format!(
                    "unexpected {:?} [{}] on line {line}: {}",
                    d.severity, d.code, d.message
                )),
            }
        }
        for e in expected {
            problems.push(format!(
                "missing {:?} on line {}: {}",
                e.severity, e.line, e.text
            ));
        }
        let rendered = render(&diags, &sources);
        if !problems.is_empty() {
            failures.push(format!(
                "ui/{stem}.chor:\n  {}\n{rendered}",
                problems.join("\n  ")
            ));
        }
        if !diags.is_empty() {
            snapshots.push((stem, rendered));
        }
    }
    assert!(
        failures.is_empty(),
        "{} ui case(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
    for (stem, rendered) in snapshots {
        insta::with_settings!({
            snapshot_path => "snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("ui__{stem}"), rendered);
        });
    }
}
