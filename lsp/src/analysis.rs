//! What the language server needs from the compiler: the driver's incremental database, seen
//! through a small trait.
//!
//! The driver (crate `chor`) owns the salsa database and depends on this crate for `chor lsp`,
//! so this crate cannot name the database type; the driver implements [`Analysis`] for it
//! instead. Every method is a query of that database (parse, assemble, check), so the server
//! duplicates no phase and unchanged work is reused between edits.

use chor_check::{Checked, Program};
use chor_diagnostics::{Diagnostic, FileId};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The compiler's queries over one database, keyed by the root file of a program.
pub trait Analysis: Send {
    /// Register or replace the text of a file (an editor buffer); returns its id.
    fn set_text(&mut self, path: &Path, text: String) -> FileId;
    /// The text of a source file on disk, bounded as `chor check` reads it: a file that is not
    /// regular, too large or not UTF-8 is an error naming it.
    fn read_source(&self, path: &Path) -> Result<String, String>;
    /// The path of a file on disk (`None` for the embedded standard library).
    fn path(&self, file: FileId) -> Option<PathBuf>;
    /// The text of any file of the database, including the standard library.
    fn text(&self, file: FileId) -> Option<Arc<str>>;
    /// Every file the database holds that came from a path (open buffers and the files that
    /// programs imported from disk); not the standard library.
    fn files(&self) -> Vec<FileId>;
    /// Every diagnostic `chor check` prints for the program rooted at `root`.
    fn diagnostics(&self, root: FileId) -> Arc<Vec<Diagnostic>>;
    /// The assembled program rooted at `root` (its imports and the standard library).
    fn program(&self, root: FileId) -> Arc<Program>;
    /// The same program with the resolved program of its checks attached (for projection).
    fn resolved(&self, root: FileId) -> Arc<Program>;
    /// The static checks of that program, with hovers and references.
    fn checked(&self, root: FileId) -> Arc<Checked>;
    /// Read again the project settings (`chor.toml`) that the programs of the files depend
    /// on, as `chor check` would read them now: the `[sizes]` of each file's project. Returns
    /// the files whose settings changed.
    fn refresh_projects(&mut self) -> Vec<FileId>;
}

/// Read again from disk every file of the database that is not open in the editor (`open`),
/// and give the database the new text of those that changed: a program that imports an
/// unopened file sees the file as it is on disk now. Returns the files that changed.
///
/// The reading goes through [`Analysis::read_source`] (the driver's bounded reader); a file
/// that cannot be read any more keeps its last text (the editor may be in the middle of
/// replacing it).
pub fn refresh_unopened(db: &mut dyn Analysis, open: &HashSet<FileId>) -> Vec<FileId> {
    let mut changed = Vec::new();
    for file in db.files() {
        if open.contains(&file) {
            continue;
        }
        let Some(path) = db.path(file) else { continue };
        let Ok(text) = db.read_source(&path) else {
            continue;
        };
        if db.text(file).is_some_and(|old| *old != *text) {
            db.set_text(&path, text);
            changed.push(file);
        }
    }
    changed
}
