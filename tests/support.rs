//! Shared helpers: check in-memory sources and render their diagnostics like `chor check`.

use chor_check::{Checked, Program, check_program, program, stdlib};
use chor_diagnostics::{Diagnostic, FileId, SourceMap};

/// The texts of one test program: the root file (id 0), its in-memory imports (ids 1…), and the
/// standard library.
pub struct Sources {
    pub root_name: String,
    pub root: String,
    pub imports: Vec<(String, String)>,
}

impl SourceMap for Sources {
    fn name(&self, file: FileId) -> String {
        if file.0 == 0 {
            return self.root_name.clone();
        }
        if let Some((_, name, _)) = stdlib::by_file(file) {
            return name.to_owned();
        }
        self.imports
            .get(file.0 as usize - 1)
            .map_or_else(|| "?".to_owned(), |(n, _)| n.clone())
    }
    fn text(&self, file: FileId) -> String {
        if file.0 == 0 {
            return self.root.clone();
        }
        if let Some((_, _, text)) = stdlib::by_file(file) {
            return text.to_owned();
        }
        self.imports
            .get(file.0 as usize - 1)
            .map_or_else(String::new, |(_, t)| t.clone())
    }
}

pub fn check(sources: &Sources) -> (Program, Checked) {
    let p = program::from_source(&sources.root_name, &sources.root, sources.imports.clone());
    let mut c = check_program(&p);
    // A ui file is never part of a project, so its externs have no crate (as in `chor check`).
    c.diagnostics.extend(chor_check::externs::without_crate(&p));
    // Knowledge of choice (projection) runs once the program parses, as in `chor check`.
    if !p.diagnostics.iter().any(Diagnostic::is_error) {
        // On the resolved program, as `chor check` does: receives carry the checked types.
        let mut resolved = p.clone();
        resolved.ir = std::sync::Arc::new(c.ir.clone());
        c.diagnostics.extend(chor_project::check_choices(&resolved));
        // And on its instances, as `chor check` does once nothing else is wrong.
        if !c.diagnostics.iter().any(Diagnostic::is_error) {
            c.diagnostics
                .extend(chor_project::check_choices_of_instances(&resolved));
        }
        c.diagnostics
            .sort_by_key(|d| d.primary_span().map(|s| (s.file, s.start)));
    }
    (p, c)
}

pub fn render(diags: &[Diagnostic], sources: &Sources) -> String {
    chor_diagnostics::render(diags, sources, false)
}

/// 1-based line of a byte offset.
pub fn line_of(text: &str, offset: u32) -> usize {
    chor_diagnostics::line_col(text, offset).0
}

/// The text of every `.chor` file directly in each of `dirs` (relative to this crate), in
/// sorted order per folder: the corpus of the property tests.
pub fn chor_sources(dirs: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for dir in dirs {
        let dir = format!("{}/{dir}", env!("CARGO_MANIFEST_DIR"));
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .expect("test sources")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "chor"))
            .collect();
        paths.sort();
        for p in paths {
            out.push(std::fs::read_to_string(p).expect("readable source"));
        }
    }
    out
}
