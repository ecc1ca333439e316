//! The diagnostics of one file: exactly what `chor check FILE` reports, restricted to the
//! ones whose primary label is in that file (an imported file shows its own when it is open).

use crate::Analysis;
use chor_diagnostics::{Diagnostic, FileId};

pub fn diagnostics(db: &dyn Analysis, file: FileId) -> Vec<Diagnostic> {
    db.diagnostics(file)
        .iter()
        .filter(|d| d.primary_span().is_none_or(|s| s.file == file))
        .cloned()
        .collect()
}
