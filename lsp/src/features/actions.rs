//! Quick fixes: every diagnostic that carries a machine-applicable fix (the knowledge-of-choice
//! error E0501 inserts the missing selections; some syntax errors insert a missing token).

use crate::Analysis;
use chor_diagnostics::{Diagnostic, FileId, Span};

/// A fix offered at the cursor: its title, the diagnostic it fixes and the edits.
#[derive(Debug, Clone, PartialEq)]
pub struct QuickFix {
    pub title: String,
    pub diagnostic: Diagnostic,
    pub edits: Vec<(Span, String)>,
}

/// The fixes of the diagnostics of `file` offered for the range `start..end`: those whose
/// labels touch it, or whose primary label is on a line it touches (so the fix is offered
/// anywhere on `if A.x > 0 {`, not only on the condition).
pub fn quick_fixes(db: &dyn Analysis, file: FileId, start: u32, end: u32) -> Vec<QuickFix> {
    let text = db.text(file).unwrap_or_else(|| std::sync::Arc::from(""));
    let line_of = |s: Span| -> (u32, u32) {
        let (a, b) = (s.start as usize, s.end as usize);
        let from = text
            .get(..a)
            .and_then(|t| t.rfind('\n'))
            .map_or(0, |i| i + 1);
        let to = text
            .get(b..)
            .and_then(|t| t.find('\n'))
            .map_or(text.len(), |i| b + i);
        (from as u32, to as u32)
    };
    super::diagnostics(db, file)
        .into_iter()
        .filter(|d| {
            let on_line = d.primary_span().is_some_and(|p| {
                let (from, to) = line_of(p);
                from <= end && start <= to
            });
            on_line
                || d.labels
                    .iter()
                    .any(|l| l.span.file == file && l.span.start <= end && start <= l.span.end)
        })
        .filter_map(|d| {
            let fix = d.fix.clone()?;
            let mut edits = vec![(fix.span, fix.replacement.clone())];
            edits.extend(fix.more.iter().cloned());
            Some(QuickFix {
                title: fix.message.clone(),
                diagnostic: d,
                edits,
            })
        })
        .collect()
}
