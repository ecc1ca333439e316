//! Snapshot of the projection of every example: what each role does, as `chor project` prints it.

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
