//! Code lenses over each choreography ("project for Buyer", …) and the projection they show:
//! the local program of one role, exactly as `chor project` prints it.

use super::FileCx;
use crate::Analysis;
use chor_diagnostics::{FileId, Span};
use chor_syntax::ast::Item;

/// One lens: shown above the choreography's name, it projects `chor` for `role`.
#[derive(Debug, Clone, PartialEq)]
pub struct Lens {
    pub span: Span,
    pub title: String,
    pub chor: String,
    pub role: String,
}

pub fn lenses(db: &dyn Analysis, file: FileId) -> Vec<Lens> {
    let cx = FileCx::new(db, file);
    let Some(unit) = cx.unit() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in unit.ast.iter() {
        if let Item::Chor(c) = item {
            for r in &c.roles {
                out.push(Lens {
                    span: c.name.span,
                    title: format!("project for {}", r.name),
                    chor: c.name.name.clone(),
                    role: r.name.clone(),
                });
            }
        }
    }
    out
}

/// The projection of choreography `chor` (and every choreography it calls) for `role`.
pub fn projection(
    db: &dyn Analysis,
    file: FileId,
    chor: &str,
    role: &str,
) -> Result<String, String> {
    let program = db.resolved(file);
    let Some(def) = program.chor(chor) else {
        return Err(format!("there is no choreography `{chor}`"));
    };
    let Some(index) = def.roles.iter().position(|r| r.name == role) else {
        return Err(format!("`{chor}` has no role `{role}`"));
    };
    if program.diagnostics.iter().any(|d| d.is_error()) {
        return Err(format!(
            "cannot project `{chor}`: the file has syntax or import errors"
        ));
    }
    match chor_project::project_program(&program, chor) {
        Ok(locals) => locals
            .get(index)
            .map(|l| l.to_text())
            .ok_or_else(|| format!("`{chor}` has no role `{role}`")),
        Err(diags) => {
            let msgs: Vec<String> = diags
                .iter()
                .map(|d| format!("{}: {}", d.code, d.message))
                .collect();
            Err(format!(
                "cannot project `{chor}` for {role}:\n{}",
                msgs.join("\n")
            ))
        }
    }
}
