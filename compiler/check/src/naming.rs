//! Naming conventions (warnings, W0001): roles, types and variants are Capitalized; variables,
//! fields and functions are snake_case.

use crate::cx::Checker;
use chor_diagnostics::Diagnostic;
use chor_syntax::ast::{Ident, Item};

fn is_snake(s: &str) -> bool {
    // `#` appears only in the names the family expansion makes (`xs#2`, see families.rs).
    s.chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '#')
}

fn is_capitalized(s: &str) -> bool {
    let t = s.trim_start_matches('_');
    t.chars().next().is_none_or(|c| c.is_ascii_uppercase()) && !t.contains('_')
}

fn to_snake(s: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else {
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            out.push(c);
        }
    }
    out
}

fn to_capitalized(s: &str) -> String {
    let mut out = String::new();
    let mut up = true;
    for c in s.chars() {
        if c == '_' {
            up = true;
            continue;
        }
        if up {
            out.push(c.to_ascii_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

pub fn check_snake(cx: &mut Checker<'_>, id: &Ident, what: &str) {
    if is_snake(&id.name) {
        return;
    }
    let better = to_snake(&id.name);
    cx.emit(
        Diagnostic::warning(
            "W0001",
            format!("{what} `{}` should have a snake_case name", id.name),
            id.span,
            format!("rename to `{better}`"),
        )
        .with_help(format!(
            "variables, fields and functions are snake_case, e.g. `{better}`"
        )),
    );
}

pub fn check_capitalized(cx: &mut Checker<'_>, id: &Ident, what: &str) {
    if is_capitalized(&id.name) {
        return;
    }
    let better = to_capitalized(&id.name);
    cx.emit(
        Diagnostic::warning(
            "W0001",
            format!("{what} `{}` should have a Capitalized name", id.name),
            id.span,
            format!("rename to `{better}`"),
        )
        .with_help(format!(
            "roles, types and variants are Capitalized, e.g. `{better}`"
        )),
    );
}

/// Naming of the items of user files (bindings are checked where they are bound).
pub fn check_items(cx: &mut Checker<'_>) {
    let p = cx.p;
    for unit in p
        .units
        .iter()
        .filter(|u| !u.is_stdlib && u.name != crate::mono::INSTANCES_UNIT)
    {
        for item in unit.ast.iter() {
            match item {
                Item::Struct(s) => {
                    check_capitalized(cx, &s.name, "type");
                    for f in &s.fields {
                        check_snake(cx, &f.name, "field");
                    }
                }
                Item::Enum(e) => {
                    check_capitalized(cx, &e.name, "type");
                    for v in &e.variants {
                        check_capitalized(cx, &v.name, "variant");
                    }
                }
                Item::Fn(f) => check_snake(cx, &f.name, "function"),
                Item::Chor(c) => {
                    for r in &c.roles {
                        check_capitalized(cx, r, "role");
                    }
                }
                Item::Import(_) | Item::Error(_) => {}
            }
        }
    }
}
