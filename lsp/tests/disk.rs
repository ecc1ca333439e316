//! Unopened files are read through the database: a program whose import changes on disk sees
//! the new text at the next refresh (what the server does before each round of diagnostics),
//! while the text of an open buffer is never replaced by the file on disk.
#![allow(clippy::disallowed_methods)] // the test writes the files it then changes

use chor_driver::db::Database;
use chor_lsp::{Analysis, refresh_unopened};
use std::collections::HashSet;
use std::path::PathBuf;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chor-lsp-disk-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

const MAIN: &str = r#"import "lib.chor";
choreography main(A, B) {
    let A.p = price_of("Dune");
    A.p -> B.q;
    B.print(to_string(q));
}
"#;

fn errors(db: &Database, root: chor_diagnostics::FileId) -> Vec<String> {
    db.diagnostics(root)
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.clone())
        .collect()
}

#[test]
fn an_import_that_changes_on_disk_is_seen() {
    let dir = temp_dir("import");
    let lib = dir.join("lib.chor");
    std::fs::write(&lib, "fn price_of(title: String) -> Int { 87 }\n").expect("write");
    let mut db = Database::default();
    // Only main.chor is open in the editor; lib.chor is read from disk by the import.
    let main = Analysis::set_text(&mut db, &dir.join("main.chor"), MAIN.to_owned());
    let open: HashSet<_> = [main].into_iter().collect();
    assert_eq!(errors(&db, main), Vec::<String>::new());
    assert!(
        refresh_unopened(&mut db, &open).is_empty(),
        "nothing changed yet"
    );

    // The function is renamed on disk: the open program now calls a missing function.
    std::fs::write(&lib, "fn cost_of(title: String) -> Int { 87 }\n").expect("write");
    let changed = refresh_unopened(&mut db, &open);
    assert_eq!(changed.len(), 1, "lib.chor changed");
    let errs = errors(&db, main);
    assert!(
        errs.iter().any(|e| e.contains("price_of")),
        "the call of the vanished function is an error: {errs:?}"
    );

    // And back: fixed on disk, fixed in the program.
    std::fs::write(&lib, "fn price_of(title: String) -> Int { 12 }\n").expect("write");
    assert_eq!(refresh_unopened(&mut db, &open).len(), 1);
    assert_eq!(errors(&db, main), Vec::<String>::new());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_open_buffer_is_not_replaced_by_the_file_on_disk() {
    let dir = temp_dir("open");
    let lib = dir.join("lib.chor");
    std::fs::write(&lib, "fn price_of(title: String) -> Int { 87 }\n").expect("write");
    let mut db = Database::default();
    let main_path = dir.join("main.chor");
    std::fs::write(&main_path, "this is not what the editor shows\n").expect("write");
    let main = Analysis::set_text(&mut db, &main_path, MAIN.to_owned());
    // lib.chor is open too, with unsaved text that differs from the disk.
    let lib_id = Analysis::set_text(
        &mut db,
        &lib,
        "fn price_of(title: String) -> Int { 5 }\n".to_owned(),
    );
    let open: HashSet<_> = [main, lib_id].into_iter().collect();
    assert!(refresh_unopened(&mut db, &open).is_empty());
    assert_eq!(
        db.text(main).as_deref(),
        Some(MAIN),
        "the open buffer keeps its text"
    );
    assert!(db.text(lib_id).is_some_and(|t| t.contains("{ 5 }")));
    let _ = std::fs::remove_dir_all(&dir);
}
