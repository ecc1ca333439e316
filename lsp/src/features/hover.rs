//! Hover: the checker's type-and-role text at the cursor (`quote: Quote @ Seller`), or the
//! signature of the item named there, with its doc comment.

use super::index::{Index, target_at};
use super::{FileCx, touches};
use crate::Analysis;
use chor_diagnostics::{FileId, Span};
use chor_syntax::ast::Item;
use chor_syntax::pretty;

/// What to show: the hovered span, a one-line signature, and documentation if any.
#[derive(Debug, Clone, PartialEq)]
pub struct HoverInfo {
    pub span: Span,
    pub signature: String,
    pub doc: Option<String>,
}

pub fn hover(db: &dyn Analysis, file: FileId, offset: u32) -> Option<HoverInfo> {
    let cx = FileCx::new(db, file);
    let index = Index::new(&cx);
    let def = target_at(&cx, &index, offset);
    let doc = def.and_then(|d| item_doc(&cx, d));
    // The innermost checker hover at the cursor.
    if let Some((span, text)) = cx
        .checked
        .hovers
        .iter()
        .filter(|(s, _)| touches(*s, file, offset))
        .min_by_key(|(s, _)| (s.end - s.start, s.start))
    {
        return Some(HoverInfo {
            span: *span,
            signature: text.to_string(),
            doc,
        });
    }
    // Otherwise an item name (a type in a signature, a choreography in a call, …).
    let def = def?;
    let span = cx
        .checked
        .references
        .iter()
        .filter(|(u, _)| touches(*u, file, offset))
        .map(|(u, _)| *u)
        .min_by_key(|s| s.end - s.start)
        .unwrap_or(def);
    // A use whose definition has a hover of its own (a role named in a statement shows
    // `role Seller of main`), else the item's signature.
    let signature = cx
        .checked
        .hovers
        .iter()
        .find(|(s, _)| *s == def)
        .map(|(_, t)| t.to_string())
        .or_else(|| item_signature(&cx, def))?;
    Some(HoverInfo {
        span,
        signature,
        doc,
    })
}

fn find_item<'a>(cx: &'a FileCx<'_>, def: Span) -> Option<&'a Item> {
    cx.program
        .units
        .iter()
        .filter(|u| u.file == def.file)
        .flat_map(|u| u.ast.iter())
        .find(|it| it.name().is_some_and(|n| n.span == def))
}

fn item_doc(cx: &FileCx<'_>, def: Span) -> Option<String> {
    let doc = match find_item(cx, def)? {
        Item::Fn(f) => f.doc.clone(),
        Item::Struct(s) => s.doc.clone(),
        Item::Enum(e) => e.doc.clone(),
        Item::Chor(c) => c.doc.clone(),
        Item::Import(_) | Item::Error(_) => None,
    }?;
    let doc = doc.trim().to_owned();
    (!doc.is_empty()).then_some(doc)
}

fn generics(gs: &[chor_syntax::ast::Ident]) -> String {
    if gs.is_empty() {
        String::new()
    } else {
        let names: Vec<&str> = gs.iter().map(|g| g.name.as_str()).collect();
        format!("<{}>", names.join(", "))
    }
}

fn ty(t: &chor_syntax::ast::Type) -> String {
    let mut s = String::new();
    pretty::ty(t, &mut s);
    s
}

/// The header of the item defined at `def`, as it is written.
pub(crate) fn item_signature(cx: &FileCx<'_>, def: Span) -> Option<String> {
    Some(match find_item(cx, def)? {
        Item::Fn(f) => {
            let params: Vec<String> = f
                .params
                .iter()
                .map(|p| format!("{}: {}", p.name.name, ty(&p.ty)))
                .collect();
            let ret = f
                .ret
                .as_ref()
                .map(|t| format!(" -> {}", ty(t)))
                .unwrap_or_default();
            format!(
                "fn {}{}({}){ret}",
                f.name.name,
                generics(&f.generics),
                params.join(", ")
            )
        }
        Item::Struct(s) => {
            let fields: Vec<String> = s
                .fields
                .iter()
                .map(|f| format!("{}: {}", f.name.name, ty(&f.ty)))
                .collect();
            format!(
                "struct {}{} {{ {} }}",
                s.name.name,
                generics(&s.generics),
                fields.join(", ")
            )
        }
        Item::Enum(e) => {
            let variants: Vec<String> = e
                .variants
                .iter()
                .map(|v| {
                    if v.fields.is_empty() {
                        v.name.name.clone()
                    } else {
                        let fs: Vec<String> = v.fields.iter().map(ty).collect();
                        format!("{}({})", v.name.name, fs.join(", "))
                    }
                })
                .collect();
            format!(
                "enum {}{} {{ {} }}",
                e.name.name,
                generics(&e.generics),
                variants.join(", ")
            )
        }
        Item::Chor(c) => chor_signature(c),
        Item::Import(_) | Item::Error(_) => return None,
    })
}

pub(crate) fn chor_signature(c: &chor_syntax::ast::ChorDef) -> String {
    format!("choreography {}", sig_text(c))
}

/// `Name<T>(A, B)(x: T@A) -> T@B`; a choreography type prints as `chor(X, Y)(Int@X) -> …`.
fn sig_text(c: &chor_syntax::ast::ChorDef) -> String {
    let roles: Vec<&str> = c.roles.iter().map(|r| r.name.as_str()).collect();
    let mut s = c.name.name.clone();
    if !c.generics.is_empty() {
        let gs: Vec<&str> = c.generics.iter().map(|g| g.name.as_str()).collect();
        s.push_str(&format!("<{}>", gs.join(", ")));
    }
    s.push_str(&format!("({})", roles.join(", ")));
    if !c.params.is_empty() {
        let ps: Vec<String> = c
            .params
            .iter()
            .map(|p| {
                let t = match &p.chor {
                    Some(t) => sig_text(t),
                    None => format!("{}@{}", ty(&p.ty), p.role.name),
                };
                if p.name.name.is_empty() {
                    t
                } else {
                    format!("{}: {t}", p.name.name)
                }
            })
            .collect();
        s.push_str(&format!("({})", ps.join(", ")));
    }
    if let Some((t, r)) = &c.ret {
        s.push_str(&format!(" -> {}@{}", ty(t), r.name));
    }
    s
}
