//! The resolved program: what names resolve to, the types inference found and the roles of
//! expressions and statements, as later phases read them.

use chor_check::ir::{Binding, ItemIr, Res, Type};
use chor_check::{Program, program};
use chor_syntax::ast::*;

const SRC: &str = r#"enum Shape { Dot, Circle(Int) }

fn area(s: Shape) -> Int {
    match s {
        Dot => 0,
        Circle(r) => r * r,
    }
}

fn twice(x: Int) -> Int {
    let x = x + x;
    let ys = [];
    let ys = list::push(ys, x);
    list::len(ys) + x
}

choreography main(A, B) {
    let A.d = Dot;
    let A.n = area(Circle(2)) + area(d);
    A.n -> B.m;
    B.print(to_string(twice(m)));
}
"#;

fn prog() -> Program {
    let p = program::from_source("t.chor", SRC, Vec::new());
    let c = chor_check::check_program(&p);
    assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
    p
}

/// Every expression of a function body or choreography, in pre-order.
fn exprs(item: &Item) -> Vec<Expr> {
    fn walk(e: &Expr, out: &mut Vec<Expr>) {
        out.push(e.clone());
        match &e.kind {
            ExprKind::Call(f, args) => {
                walk(f, out);
                args.iter().for_each(|a| walk(a, out));
            }
            ExprKind::Binary(_, a, b) => {
                walk(a, out);
                walk(b, out);
            }
            ExprKind::Match { scrutinee, arms } => {
                walk(scrutinee, out);
                arms.iter().for_each(|a| walk(&a.body, out));
            }
            ExprKind::Block(b) => {
                for s in &b.stmts {
                    if let Stmt::Let { value, .. } | Stmt::Expr(value) = s {
                        walk(value, out);
                    }
                }
                if let Some(t) = &b.tail {
                    walk(t, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    match item {
        Item::Fn(f) => walk(f.body.as_ref().expect("body"), &mut out),
        Item::Chor(c) => {
            for s in &c.body.stmts {
                match &s.kind {
                    ChorStmtKind::Let { value: e, .. }
                    | ChorStmtKind::Comm { expr: e, .. }
                    | ChorStmtKind::Effect { expr: e, .. } => walk(e, &mut out),
                    _ => {}
                }
            }
        }
        _ => {}
    }
    out
}

fn item<'p>(p: &'p Program, name: &str) -> (&'p Item, &'p ItemIr) {
    let r = p
        .fns
        .get(&chor_check::QualName::global(name))
        .or_else(|| p.chors.get(name))
        .copied()
        .expect("item");
    (&p.units[r.unit].ast.items[r.item], p.ir_of(r))
}

fn path<'e>(es: &'e [Expr], name: &str, nth: usize) -> &'e Expr {
    es.iter()
        .filter(|e| matches!(&e.kind, ExprKind::Path(p) if p.text() == name))
        .nth(nth)
        .expect("path")
}

#[test]
fn names_resolve_to_bindings_functions_and_variants() {
    let p = prog();
    let (twice, ir) = item(&p, "twice");
    let es = exprs(twice);
    // `x + x` reads the parameter; `list::len(ys) + x` the `let x` that shadows it.
    assert_eq!(ir.res(path(&es, "x", 0)), Res::Param(0));
    let Res::Local(shadow) = ir.res(path(&es, "x", 3)) else {
        panic!("a local")
    };
    assert_eq!(ir.res(path(&es, "x", 2)), Res::Local(shadow));
    // The second `ys` binding is read by `list::len`, the first by `list::push`.
    let first_ys = ir.res(path(&es, "ys", 0));
    let second_ys = ir.res(path(&es, "ys", 1));
    assert!(matches!(first_ys, Res::Local(_)) && matches!(second_ys, Res::Local(_)));
    assert_ne!(first_ys, second_ys);
    assert!(matches!(ir.res(path(&es, "list::len", 0)), Res::Builtin(_)));
    assert_eq!(
        first_ys.binding(),
        Some(Binding::Node(match first_ys {
            Res::Local(id) => id,
            _ => unreachable!(),
        }))
    );

    let (main, ir) = item(&p, "main");
    let es = exprs(main);
    let Res::Variant {
        index: 0,
        nullary: true,
        ..
    } = ir.res(path(&es, "Dot", 0))
    else {
        panic!("`Dot` is the nullary variant")
    };
    let Res::Variant {
        index: 1,
        nullary: false,
        ..
    } = ir.res(path(&es, "Circle", 0))
    else {
        panic!("`Circle` is a constructor")
    };
    let area = p.fns[&chor_check::QualName::global("area")];
    assert_eq!(ir.res(path(&es, "area", 0)), Res::Fn(area));

    // In a pattern, `Dot` names the variant and `r` binds a variable.
    let (area_item, ir) = item(&p, "area");
    let Item::Fn(f) = area_item else { panic!() };
    let Some(Expr {
        kind: ExprKind::Match { arms, .. },
        ..
    }) = f.body.as_ref().and_then(|b| match &b.kind {
        ExprKind::Block(b) => b.tail.as_deref(),
        _ => None,
    })
    else {
        panic!("a match")
    };
    assert!(!ir.binds(&arms[0].pat));
    let PatternKind::Variant { args, .. } = &arms[1].pat.kind else {
        panic!()
    };
    assert!(ir.binds(&args[0]));
    assert_eq!(ir.node(args[0].id).ty, Type::Int);
}

#[test]
fn types_are_what_inference_found() {
    let p = prog();
    let (twice, ir) = item(&p, "twice");
    let es = exprs(twice);
    // `[]` is written without a type; its later use fixes it.
    let empty = es
        .iter()
        .find(|e| matches!(&e.kind, ExprKind::List(xs) if xs.is_empty()))
        .expect("[]");
    assert_eq!(*ir.ty(empty), Type::List(Type::Int.into()));
    // A generic function's instance: `list::push` at `List<Int>`.
    let push = path(&es, "list::push", 0);
    let Type::Fn(params, ret) = ir.ty(push) else {
        panic!("a function type")
    };
    assert_eq!(params[1], Type::Int);
    assert_eq!(**ret, Type::List(Type::Int.into()));

    let (main, ir) = item(&p, "main");
    let es = exprs(main);
    let shape = p.enums[&chor_check::QualName::global("Shape")];
    assert_eq!(
        *ir.ty(path(&es, "d", 0)),
        Type::Adt(shape, Vec::new().into())
    );
}

#[test]
fn expressions_and_statements_carry_their_roles() {
    let p = prog();
    let (main, ir) = item(&p, "main");
    let Item::Chor(c) = main else { panic!() };
    let es = exprs(main);
    // Roles are indices into the choreography's roles: A = 0, B = 1.
    assert_eq!(ir.node(path(&es, "d", 0).id).role, Some(0));
    assert_eq!(ir.node(path(&es, "m", 0).id).role, Some(1));
    assert_eq!(ir.node(c.body.stmts[2].id).roles, vec![0, 1]);
    assert_eq!(ir.node(c.body.stmts[3].id).roles, vec![1]);
    let ChorStmtKind::Comm { to, .. } = &c.body.stmts[2].kind else {
        panic!("a communication")
    };
    // The receiver binds `m` at B with the sent type.
    assert_eq!(ir.node(to[0].id).ty, Type::Int);
    assert_eq!(ir.node(to[0].id).role, Some(1));
    assert_eq!(ir.res(path(&es, "m", 0)), Res::Local(to[0].id));
    // Local functions have no roles.
    let (twice, ir) = item(&p, "twice");
    assert_eq!(ir.node(exprs(twice)[0].id).role, None);
}
