//! The driver's database as the language server's [`chor_lsp::Analysis`]: `chor lsp` runs the
//! same salsa queries as `chor check`, over editor buffers registered with `set_text`.

use crate::db::{self, Database, Db};
use chor_check::{Checked, Program, stdlib};
use chor_diagnostics::{Diagnostic, FileId};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The `[sizes]` of the `chor.toml` around `path`, as `chor check` reads them (none outside a
/// project, and none when the manifest cannot be read: `chor check` reports that manifest,
/// the editor checks at the default sizes meanwhile). `manifests` keeps each directory's
/// answer for one round.
fn project_sizes(
    path: &Path,
    manifests: &mut HashMap<PathBuf, chor_check::families::Sizes>,
) -> chor_check::families::Sizes {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    manifests
        .entry(dir)
        .or_insert_with(|| match crate::manifest::around(path) {
            Ok(Some(m)) => m.sizes,
            _ => chor_check::families::Sizes::new(),
        })
        .clone()
}

impl chor_lsp::Analysis for Database {
    fn set_text(&mut self, path: &Path, text: String) -> FileId {
        let f = Database::set_text(self, path, text);
        // The `[sizes]` of its project, read again with each text (a small file): a buffer
        // sees a changed chor.toml at its next edit, every file at `refresh_projects`.
        let sizes = project_sizes(path, &mut HashMap::new());
        self.set_project_sizes(f, sizes);
        f.id(self)
    }

    fn refresh_projects(&mut self) -> Vec<FileId> {
        let mut manifests = HashMap::new();
        let mut changed = Vec::new();
        for file in self.file_ids() {
            let Some(f) = self.file_by_id(file) else {
                continue;
            };
            if stdlib::by_file(file).is_some() {
                continue;
            }
            let path = f.path(self).clone();
            let sizes = project_sizes(&path, &mut manifests);
            if self.set_project_sizes(f, sizes) {
                changed.push(file);
            }
        }
        changed
    }

    fn read_source(&self, path: &Path) -> Result<String, String> {
        crate::source::read_source(path)
    }

    fn path(&self, file: FileId) -> Option<PathBuf> {
        if stdlib::by_file(file).is_some() {
            return None;
        }
        self.file_by_id(file).map(|f| f.path(self).clone())
    }

    fn text(&self, file: FileId) -> Option<Arc<str>> {
        if let Some((_, _, text)) = stdlib::by_file(file) {
            return Some(Arc::from(text));
        }
        self.file_by_id(file)
            .map(|f| Arc::from(f.text(self).as_str()))
    }

    fn files(&self) -> Vec<FileId> {
        self.file_ids()
    }

    fn diagnostics(&self, root: FileId) -> Arc<Vec<Diagnostic>> {
        match self.file_by_id(root) {
            Some(f) => db::check_query(self, f),
            None => Arc::default(),
        }
    }

    fn program(&self, root: FileId) -> Arc<Program> {
        match self.file_by_id(root) {
            Some(f) => db::program(self, f),
            None => Arc::default(),
        }
    }

    fn resolved(&self, root: FileId) -> Arc<Program> {
        match self.file_by_id(root) {
            Some(f) => db::resolved(self, f),
            None => Arc::default(),
        }
    }

    fn checked(&self, root: FileId) -> Arc<Checked> {
        match self.file_by_id(root) {
            Some(f) => db::checked(self, f),
            None => Arc::default(),
        }
    }
}
