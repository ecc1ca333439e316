//! The driver's database as the language server's [`chor_lsp::Analysis`]: `chor lsp` runs the
//! same salsa queries as `chor check`, over editor buffers registered with `set_text`.

use crate::db::{self, Database, Db};
use chor_check::{Checked, Program, stdlib};
use chor_diagnostics::{Diagnostic, FileId};
use std::path::{Path, PathBuf};
use std::sync::Arc;

impl chor_lsp::Analysis for Database {
    fn set_text(&mut self, path: &Path, text: String) -> FileId {
        let f = Database::set_text(self, path, text);
        f.id(self)
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
