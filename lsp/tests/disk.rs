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

/// A member that exists only at the size the project gives its family.
const SIZED: &str = "choreography main(Boss, Workers[]) {\n    Boss.1 -> Workers[4].x;\n    Workers[4].print(to_string(x));\n}\n";

fn out_of_range(db: &Database, root: chor_diagnostics::FileId) -> bool {
    db.diagnostics(root)
        .iter()
        .any(|d| d.is_error() && d.code == "E0753")
}

/// A file inside a project is checked at the project's `[sizes]`, as `chor check` checks it;
/// a file outside any project, or whose `main` lacks the family, at the default size; and a
/// changed chor.toml is seen at the next refresh.
#[test]
fn the_projects_sizes_size_the_families_of_its_files() {
    let dir = temp_dir("sizes");
    let project = dir.join("p");
    std::fs::create_dir_all(project.join("src")).expect("src");
    let manifest = project.join("chor.toml");
    std::fs::write(
        &manifest,
        "[package]\nname = \"p\"\n\n[sizes]\nWorkers = 5\n",
    )
    .expect("write");
    let entry = project.join("src/main.chor");
    std::fs::write(&entry, SIZED).expect("write");
    let mut db = Database::default();
    let main = Analysis::set_text(&mut db, &entry, SIZED.to_owned());
    assert_eq!(
        errors(&db, main),
        Vec::<String>::new(),
        "Workers has 5 members"
    );

    // The same program outside the project: 3 members, so Workers[4] is out of range.
    let outside = Analysis::set_text(&mut db, &dir.join("loose.chor"), SIZED.to_owned());
    assert!(out_of_range(&db, outside), "{:?}", errors(&db, outside));

    // Another file of the project whose `main` has another family: the project's sizes are
    // the entry's, so its family keeps the default size.
    let other = Analysis::set_text(
        &mut db,
        &project.join("src/other.chor"),
        SIZED.replace("Workers", "Ws"),
    );
    assert!(out_of_range(&db, other), "{:?}", errors(&db, other));

    // The manifest changes on disk: the next refresh sees it.
    std::fs::write(
        &manifest,
        "[package]\nname = \"p\"\n\n[sizes]\nWorkers = 2\n",
    )
    .expect("write");
    let changed = db.refresh_projects();
    assert_eq!(
        changed,
        vec![main, other],
        "the files of the project, not the loose one"
    );
    assert!(out_of_range(&db, main), "{:?}", errors(&db, main));
    std::fs::write(
        &manifest,
        "[package]\nname = \"p\"\n\n[sizes]\nWorkers = 6\n",
    )
    .expect("write");
    assert_eq!(db.refresh_projects(), vec![main, other]);
    assert_eq!(errors(&db, main), Vec::<String>::new());
    assert!(db.refresh_projects().is_empty(), "nothing changed since");
    assert!(out_of_range(&db, other), "{:?}", errors(&db, other));
    let _ = std::fs::remove_dir_all(&dir);
}
