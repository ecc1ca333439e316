//! Snapshot of the projection of every example: what each role does, as `chor project` prints it.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)] // tests read the examples from disk (the crate itself does no I/O)

use chor_check::program::from_source;
use std::path::Path;

#[test]
fn projections_of_examples() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples/")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "chor"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for path in files {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("example")
            .to_owned();
        let src = std::fs::read_to_string(&path).expect("readable");
        let prog = from_source(&name, &src, vec![]);
        let locals = chor_project::project_program(&prog, "main").expect("every example projects");
        let text: Vec<String> = locals.iter().map(|l| l.to_text()).collect();
        insta::assert_snapshot!(name, text.join("\n"));
    }
}

/// The first action of each role with each peer, looking into called procedures.
#[test]
fn first_action_with_each_peer() {
    let src = "choreography Hello(X, Y)(v: Int@X) {
    X.print(v);
    X.v -> Y.w;
}

choreography main(A, B, C) {
    let A.n = 1;
    A.print(n);
    Hello(C, A)(C.2);
    if A.n > 0 {
        A -> B[Go];
        A.n -> B.m;
    } else {
        A -> B[Stop];
    }
}
";
    let prog = from_source("t.chor", src, vec![]);
    let locals = chor_project::project_program(&prog, "main").expect("projects");
    let line = |span: chor_diagnostics::Span| src[..span.start as usize].matches('\n').count() + 1;
    let first = |role: &str| -> Vec<(String, usize)> {
        let lp = locals.iter().find(|l| l.role == role).expect("role");
        lp.first_actions()
            .into_iter()
            .map(|(peer, span)| (peer, line(span)))
            .collect()
    };
    // A first meets C inside Hello (where A is Y: the receive on line 3), then B at the selection.
    assert_eq!(first("A"), [("B".to_owned(), 11), ("C".to_owned(), 3)]);
    // B waits for the selection of line 11.
    assert_eq!(first("B"), [("A".to_owned(), 11)]);
    assert_eq!(first("C"), [("A".to_owned(), 3)]);
}
