//! An editing session: after every change, the diagnostics and the hover and reference tables
//! of the long-lived database (which re-parses incrementally and reuses the results of
//! unchanged items) are exactly those of a new database given the same texts. The session types and deletes a statement character by
//! character (through states with syntax errors), adds and removes lines above messages that
//! quote line numbers, introduces and fixes a type error, renames a function in its header, and
//! edits an imported file.

use chor_diagnostics::Diagnostic;
use chor_driver::db::Database;
use chor_lsp::{Analysis, features};
use std::path::Path;

const ROOT: &str = "/chor-lsp-edits/main.chor";
const LIB: &str = "/chor-lsp-edits/lib.chor";

fn ui(name: &str) -> String {
    let path = format!("{}/../tests/ui/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).expect("ui test")
}

struct Session {
    db: Database,
    root: String,
    lib: String,
    steps: usize,
}

impl Session {
    fn new(root: String, lib: String) -> Session {
        let mut s = Session {
            db: Database::default(),
            root,
            lib,
            steps: 0,
        };
        Analysis::set_text(&mut s.db, Path::new(LIB), s.lib.clone());
        s.check();
        s
    }

    /// Diagnostics of the session's database and of a new one, for the current texts.
    fn check(&mut self) -> Vec<Diagnostic> {
        self.steps += 1;
        let file = Analysis::set_text(&mut self.db, Path::new(ROOT), self.root.clone());
        let got = features::diagnostics(&self.db, file);
        let mut fresh = Database::default();
        Analysis::set_text(&mut fresh, Path::new(LIB), self.lib.clone());
        let file = Analysis::set_text(&mut fresh, Path::new(ROOT), self.root.clone());
        let want = features::diagnostics(&fresh, file);
        assert_eq!(got, want, "step {}:\n{}", self.steps, self.root);
        // The hover and reference tables too (every other feature reads them).
        assert!(
            self.db.checked(file) == fresh.checked(file),
            "tables at step {}",
            self.steps
        );
        got
    }

    fn edit(&mut self, at: usize, remove: usize, insert: &str) -> Vec<Diagnostic> {
        self.root.replace_range(at..at + remove, insert);
        self.check()
    }

    fn edit_lib(&mut self, at: usize, remove: usize, insert: &str) -> Vec<Diagnostic> {
        self.lib.replace_range(at..at + remove, insert);
        Analysis::set_text(&mut self.db, Path::new(LIB), self.lib.clone());
        self.check()
    }

    fn find(&self, what: &str) -> usize {
        self.root
            .find(what)
            .unwrap_or_else(|| panic!("no {what:?} in the text"))
    }
}

#[test]
fn incremental_diagnostics_equal_those_of_a_new_database() {
    let lib = "fn helper(n: Int) -> Int { n * 2 }\n".to_owned();
    let root = format!(
        "import \"lib.chor\";\n{}\n{}\n{}",
        chor_tests::generated_program(300),
        ui("e0202_variable_at_other_role.chor").replace("main", "other"),
        ui("e0501_third_party.chor").replace("main", "third"),
    );
    let mut s = Session::new(root, lib);
    let initial = s.check();
    assert!(
        initial.iter().any(|d| d.code == "E0202") && initial.iter().any(|d| d.code == "E0501"),
        "{initial:?}"
    );

    // Type a statement character by character, then delete it the same way.
    let at = s.find("    let A.t = total_3(r, 3);");
    let statement = "    let A.z = helper(total_3(r, 30));\n";
    for (k, c) in statement.char_indices() {
        s.edit(at + k, 0, &c.to_string());
    }
    for k in (0..statement.len()).rev() {
        s.edit(at + k, 1, "");
    }

    // Lines above messages that quote line numbers, and between items.
    for what in ["choreography other", "fn total_5", "struct Rec4"] {
        let at = s.find(what);
        s.edit(at, 0, "\n");
        s.edit(at, 0, "// comment\n");
        s.edit(at, "// comment\n\n".len(), "");
    }
    let at = s.find("let Buyer.title");
    s.edit(at, 0, "\n    ");

    // A type error in a body, and its fix.
    let at = s.find("total_2(r, 3)") + "total_2(r, ".len();
    let with_error = s.edit(at, 1, "\"three\"");
    assert!(with_error.iter().any(|d| d.code == "E0300"));
    s.edit(at, "\"three\"".len(), "3");

    // A header: renaming a function and its use, one character at a time.
    let def = s.find("fn describe_4(");
    s.edit(def + "fn describe_4".len(), 0, "x");
    let call = s.find("describe_4(msg)");
    s.edit(call + "describe_4".len(), 0, "x");
    s.edit(def + "fn describe_4".len(), 1, "");
    let call = s.find("describe_4x(msg)");
    s.edit(call + "describe_4".len(), 1, "");

    // The imported file.
    let at = s.lib.find("n * 2").expect("lib site");
    s.edit_lib(at + "n * ".len(), 1, "3");
    s.edit_lib(at, 0, "\n");
    s.edit_lib(0, 0, "fn extra() {}\n");

    // An unterminated string and block comment in the middle, then removed.
    let at = s.find("fn total_1");
    for opener in ["\"", "/*"] {
        s.edit(at, 0, opener);
        s.edit(at, opener.len(), "");
    }
    assert!(s.steps > 100, "{} steps", s.steps);
}
