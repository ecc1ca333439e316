//! Inlay hints and semantic tokens read the checker's resolved program, not its hover text.
//! Hovers are made from the same inference by another route (the checker's own type printer
//! and role names), so on every example the two must tell the same story: each inlay hint's
//! type is the one the hover at that binding shows, and each variable's colour is the role
//! the hover names. Then the finer cases the hover text could not carry well.

use chor_diagnostics::{FileId, Span};
use chor_driver::db::Database;
use chor_lsp::Analysis;
use chor_lsp::features::{self, TokenKind};
use std::path::{Path, PathBuf};

fn examples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut out = Vec::new();
    let mut dirs = vec![root];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("examples").flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "chor") {
                out.push(p);
            }
        }
    }
    out.sort();
    assert!(out.len() >= 15, "examples found: {}", out.len());
    out
}

fn load(path: &Path) -> (Database, FileId) {
    let text = std::fs::read_to_string(path).expect("example");
    let mut db = Database::default();
    let file = Analysis::set_text(&mut db, path, text);
    (db, file)
}

/// The first hover at exactly `span`, split into its type and role text (`x: T @ R`).
fn hover_at(db: &Database, file: FileId, span: Span) -> Option<(String, Option<String>)> {
    hovers_at(db, file, span).into_iter().next()
}

/// Every hover at exactly `span`: a gather (`Ws.v -> R.vs`) binds a member's value and then
/// the list at the span of `vs`.
fn hovers_at(db: &Database, file: FileId, span: Span) -> Vec<(String, Option<String>)> {
    let checked = db.checked(file);
    let split = |text: &str| {
        let (_, rest) = text.split_once(": ")?;
        Some(match rest.rsplit_once(" @ ") {
            Some((ty, role)) => (ty.to_owned(), Some(role.to_owned())),
            None => (rest.to_owned(), None),
        })
    };
    (checked.hovers.iter())
        .filter(|(s, _)| *s == span)
        .filter_map(|(_, t)| split(t))
        .collect()
}

/// The identifier that ends at `offset`.
fn name_before(text: &str, offset: u32) -> Span {
    let end = offset as usize;
    let start = text[..end]
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(0, |i| i + 1);
    Span::new(FileId(0), start, end)
}

#[test]
fn inlay_hints_agree_with_hovers_on_every_example() {
    let mut compared = 0;
    for path in examples() {
        let (db, file) = load(&path);
        let text = db.text(file).expect("text");
        for h in features::inlay_hints(&db, file) {
            let mut span = name_before(&text, h.offset);
            span.file = file;
            let tys: Vec<String> = (hovers_at(&db, file, span).into_iter())
                .map(|(ty, _)| format!(": {ty}"))
                .collect();
            assert!(
                tys.contains(&h.label),
                "{}: `{}` hinted {} but hovers say {tys:?}",
                path.display(),
                &text[span.start as usize..span.end as usize],
                h.label
            );
            compared += 1;
        }
    }
    assert!(compared > 100, "only {compared} hints compared");
}

#[test]
fn variable_colours_agree_with_the_roles_hovers_name() {
    let (mut compared, mut agreed) = (0, 0);
    for path in examples() {
        let (db, file) = load(&path);
        let program = db.program(file);
        for t in features::semantic_tokens(&db, file) {
            if t.kind != TokenKind::Variable || !t.declaration {
                continue;
            }
            let Some((_, Some(role))) = hover_at(&db, file, t.span) else {
                continue;
            };
            // An agreed value (`@ (A, B)`) has no one role's colour.
            if role.starts_with('(') {
                assert_eq!(t.role, None, "{}: agreed {:?}", path.display(), t.span);
                agreed += 1;
                continue;
            }
            let first = role.as_str();
            let chor = program
                .units
                .iter()
                .flat_map(|u| u.ast.iter())
                .filter_map(|i| match i {
                    chor_syntax::ast::Item::Chor(c) => Some(c),
                    _ => None,
                })
                .find(|c| {
                    c.span.file == file && c.span.start <= t.span.start && t.span.end <= c.span.end
                })
                .expect("a variable with a role is inside a choreography");
            let index = chor.roles.iter().position(|r| r.name == first);
            assert_eq!(
                t.role,
                index.map(|i| i % features::ROLE_MODIFIERS),
                "{}: {:?} held by {role}",
                path.display(),
                t.span
            );
            compared += 1;
        }
    }
    assert!(compared > 100, "only {compared} variables compared");
    assert!(agreed > 3, "only {agreed} agreed variables seen");
}

fn hinted(src: &str) -> String {
    let mut db = Database::default();
    let file = Analysis::set_text(&mut db, Path::new("/resolved/main.chor"), src.to_owned());
    let mut text = src.to_owned();
    let mut hints = features::inlay_hints(&db, file);
    hints.reverse();
    for h in hints {
        text.insert_str(h.offset as usize, &format!("«{}»", h.label));
    }
    text
}

#[test]
fn inlay_hints_write_inferred_types_as_the_source_does() {
    let src = r#"enum Shape { Dot, Box(Int, Int) }
fn pick<T>(xs: List<T>, d: T) -> T { match xs { [x, ..] => x, [] => d } }
fn area(s: Shape) -> Int { match s { Dot => 0, Box(w, h) => { let (a, b) = (w, h); a * b } } }
choreography main(A, B) {
    let A.f = area;
    let A.pair = (1, [Box(2, 3)]);
    let A.one = (true,);
    let A.m = map::insert(map::empty(), "k", 1.5);
    let A.n = pick([1, 2], 0);
    let A.none = [];
    A.pair -> B.got;
    B.print(to_string(got.0));
    A.print(to_string(f(Dot)) ++ to_string(one.0) ++ to_string(n) ++ to_string(list::len(none)));
    A.print(to_string(map::len(m)));
}
"#;
    let out = hinted(src);
    for want in [
        "A.f«: fn(Shape) -> Int»",
        "A.pair«: (Int, List<Shape>)»",
        "A.one«: (Bool,)»",
        "A.m«: Map<String, Float>»",
        "A.n«: Int»",
        "B.got«: (Int, List<Shape>)»",
        "let (a«: Int», b«: Int»)",
    ] {
        assert!(out.contains(want), "missing {want} in\n{out}");
    }
    // The element type of a list nothing puts anything in is unknown: no hint.
    assert!(out.contains("A.none ="), "{out}");
    // A nullary variant in a pattern is not a binding.
    assert!(!out.contains("Dot«"), "{out}");
}

#[test]
fn a_parameter_takes_the_colour_of_its_role() {
    let src = "choreography helper(A, B)(x: Int @ B) -> Int @ B { return B.x; }\n\
               choreography main(A, B) { let B.y = helper(A, B)(B.1); B.print(to_string(y)); }\n";
    let mut db = Database::default();
    let file = Analysis::set_text(&mut db, Path::new("/resolved/param.chor"), src.to_owned());
    let x = src.find("x: Int").expect("x") as u32;
    let t = features::semantic_tokens(&db, file)
        .into_iter()
        .find(|t| t.span.start == x)
        .expect("a token at the parameter");
    assert_eq!(
        (t.kind, t.role, t.declaration),
        (TokenKind::Variable, Some(1), true)
    );
}
