//! `extern fn` declarations: functions implemented in the project's Rust crate.
//!
//! Only values that have an owned Rust counterpart can cross (Int, Float, Bool, String, (),
//! tuples, List, Map, Option, Result and structs and enums made of those); a function or a
//! generic parameter cannot, and says so where the type is written.

use crate::cx::{Checker, FnSig};
use crate::program::Program;
use crate::types::{Ty, TyCon};
use chor_diagnostics::Diagnostic;
use chor_syntax::ast::{FnDef, Item};

impl Checker<'_> {
    pub(crate) fn check_extern(&mut self, f: &FnDef, sig: &FnSig) {
        let written = f
            .params
            .iter()
            .map(|p| p.ty.span())
            .zip(sig.params.iter().map(|(_, t)| t.clone()))
            .chain(f.ret.as_ref().map(|t| (t.span(), sig.ret.clone())));
        for (span, ty) in written.collect::<Vec<_>>() {
            if let Some(why) = self.cannot_cross(&ty, 0) {
                let shown = self.show(&ty);
                self.emit(
                    Diagnostic::error(
                        "E0600",
                        format!(
                            "the type `{shown}` cannot cross between chor and Rust in the extern \
                             `{}`",
                            f.name.name
                        ),
                        span,
                        why,
                    )
                    .with_help(
                        "an extern takes and returns Int, Float, Bool, String, (), tuples, List, \
                         Map, Option, Result and structs and enums made of them",
                    ),
                );
            }
        }
    }

    /// Why `t` has no Rust counterpart, or None when it can cross.
    fn cannot_cross(&mut self, t: &Ty, depth: usize) -> Option<&'static str> {
        if depth > 32 {
            return None;
        }
        match self.tys.zonk(t) {
            Ty::Fn(..) => Some("a function cannot be passed to or returned from Rust"),
            Ty::Param(_) | Ty::Var(_) => Some("a generic type has no single Rust type"),
            Ty::Error => None,
            Ty::Con(c, args) => {
                if let TyCon::Adt(id) = c
                    && self.env.adt_fn.get(id as usize).copied().unwrap_or(false)
                {
                    return Some("this type holds a function, which cannot cross to Rust");
                }
                args.iter().find_map(|a| self.cannot_cross(a, depth + 1))
            }
        }
    }
}

/// The `extern fn`s of the user's files, in source order.
pub fn extern_fns(p: &Program) -> Vec<&FnDef> {
    p.units
        .iter()
        .filter(|u| !u.is_stdlib)
        .flat_map(|u| u.ast.items.iter())
        .filter_map(|i| match &**i {
            Item::Fn(f) if f.is_extern() => Some(f),
            _ => None,
        })
        .collect()
}

/// E0601 for every `extern fn` of a program that has no Rust crate to implement it (a file
/// outside a project, or a project without `[extern] crate`).
pub fn without_crate(p: &Program) -> Vec<Diagnostic> {
    extern_fns(p)
        .into_iter()
        .map(|f| {
            let at = f
                .attrs
                .iter()
                .find(|a| a.name.name == "extern")
                .map_or(f.name.span, |a| a.span);
            Diagnostic::error(
                "E0601",
                format!(
                    "the extern `{}` has no Rust crate to implement it",
                    f.name.name
                ),
                at,
                "an `extern fn` is implemented by the Rust crate of a project",
            )
            .with_help(
                "create a project with `chor new NAME` and name the crate in its chor.toml: \
                 `[extern]` `crate = \"native\"`",
            )
        })
        .collect()
}
