//! Parser tests: every construct of the design card parses; errors land at the right place.

use chor_syntax::ast::*;
use chor_syntax::parse;

fn ok(src: &str) -> File {
    let p = parse(FileId(0), src);
    assert!(
        p.errors.is_empty(),
        "unexpected errors for {src:?}: {:#?}",
        p.errors
    );
    (*p.file).clone()
}

fn errs(src: &str) -> Vec<(String, u32)> {
    parse(FileId(0), src)
        .errors
        .into_iter()
        .map(|d| (d.message.clone(), d.primary_span().map_or(0, |s| s.start)))
        .collect()
}

const BOOKSELLER: &str = r#"
struct Quote { title: String, price: Int }

fn price_of(title: String) -> Int {
    if title == "Types and Programming Languages" { 87 } else { 120 }
}

choreography main(Buyer, Seller) {
    let Buyer.title = "Types and Programming Languages";
    let Buyer.budget = 100;
    Buyer.title -> Seller.title;
    let Seller.quote = Quote { title: title, price: price_of(title) };
    Seller.quote.price -> Buyer.price;
    if Buyer.price <= budget {
        Buyer -> Seller[Buy];
        Buyer.print("buying for " ++ to_string(price));
        Seller.print("sold " ++ quote.title);
    } else {
        Buyer -> Seller[Quit];
        Buyer.print("too expensive");
    }
}
"#;

#[test]
fn bookseller_parses() {
    let f = ok(BOOKSELLER);
    assert_eq!(f.items.len(), 3);
    let Item::Chor(c) = &*f.items[2] else {
        panic!("expected choreography")
    };
    assert_eq!(c.roles.len(), 2);
    assert_eq!(c.body.stmts.len(), 6);
    assert!(matches!(c.body.stmts[2].kind, ChorStmtKind::Comm { .. }));
    let ChorStmtKind::If { role, cond, .. } = &c.body.stmts[5].kind else {
        panic!()
    };
    assert_eq!(role.name, "Buyer");
    assert!(matches!(cond.kind, ExprKind::Binary(BinOp::Le, _, _)));
}

#[test]
fn every_statement_form() {
    let f = ok(r#"
import "lib/auth.chor";
struct Pair<A, B> { a: A, b: B, }
enum Tree<T> { Leaf, Node(Tree<T>, T, Tree<T>), }
enum Reply { Accept(Int), Reject }
/// Pays.
choreography Pay(Buyer, Bank)(amount: Int@Buyer, note: String@Bank,) -> Bool@Bank {
    amount -> x;
}
choreography main(A, B, C) {
    let A.x: Int = 1;
    let A.(p, q) = (1, "a");
    A.x -> B.x, C.y;
    A -> B, C[Go];
    A.print(x);
    if A.x > 0 { A -> B[L]; } else if A.x < 0 { A -> B[R]; } else { A -> B[Z]; }
    match A.Some(x) {
        Some(v) => { A.print(v); },
        None => { }
    }
    Pay(A, B)(A.x, B.note);
    let B.ok = Pay(A, B)(A.x + 1, B.note);
    return B.ok;
}
"#
    .replace("    amount -> x;\n", "    return Bank.amount > 0;\n")
    .as_str());
    let Item::Chor(pay) = &*f.items[4] else {
        panic!()
    };
    assert_eq!(pay.doc.as_deref(), Some("Pays."));
    assert_eq!(pay.params.len(), 2);
    assert_eq!(pay.ret.as_ref().map(|r| r.1.name.as_str()), Some("Bank"));
    let Item::Chor(m) = &*f.items[5] else {
        panic!()
    };
    assert_eq!(m.body.stmts.len(), 10);
    let ChorStmtKind::If { els: Some(els), .. } = &m.body.stmts[5].kind else {
        panic!()
    };
    assert!(matches!(els.stmts[0].kind, ChorStmtKind::If { .. }));
    let ChorStmtKind::Let { value, .. } = &m.body.stmts[8].kind else {
        panic!()
    };
    let call = chor_syntax::as_chor_call(value, &|n| n == "Pay").expect("a choreography call");
    assert_eq!(call.roles.len(), 2);
    assert_eq!(call.args[0].role.name, "A");
    assert!(matches!(
        call.args[0].expr.kind,
        ExprKind::Binary(BinOp::Add, _, _)
    ));
    assert_eq!(call.args[1].role.name, "B");
}

#[test]
fn expressions_and_patterns() {
    let f = ok(r#"
fn f<T>(xs: List<(Int, String)>, g: fn(Int) -> Bool, m: Map<String, List<T>>) -> Int {
    let t = (1, "a",);
    let n = t.0 + -3 * 2 % 5 - 1;
    let s = "a" ++ "b" ++ to_string(1.5e3);
    let ok = !true && 1 <= 2 || false;
    if n > 0 { print("pos"); }
    match xs {
        [] => 0,
        [(a, _), ..rest] => a,
        [_, ..] => { 1 }
    }
    let q = Quote { title, price: 1 };
    match q { Quote { title: "x", .. } => 1, Quote { price, title } => price }
    let v = match n { 0 | _ => 1 };
    { 1 }
}
"#
    .replace("0 | _", "-1")
    .as_str());
    let Item::Fn(func) = &*f.items[0] else {
        panic!()
    };
    let Some(Expr {
        kind: ExprKind::Block(b),
        ..
    }) = &func.body
    else {
        panic!()
    };
    assert!(b.tail.is_some());
    assert_eq!(b.stmts.len(), 9);
}

#[test]
fn missing_semicolon_is_reported_at_end_of_line() {
    let src = "choreography main(A, B) {\n    let A.x = 1\n    A.x -> B.y;\n}\n";
    let e = errs(src);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].0, "expected `;`");
    assert_eq!(e[0].1 as usize, src.find("1\n").unwrap() + 1);
}

#[test]
fn recovers_and_reports_several_errors() {
    let src = "fn f( -> Int { 1 }\nstruct S { a: }\nchoreography main(A) { A.print(1); }\n";
    let p = parse(FileId(0), src);
    assert!(p.errors.len() >= 2, "{:#?}", p.errors);
    assert!(p.file.iter().any(|i| matches!(i, Item::Chor(_))));
}

#[test]
fn garbage_never_panics() {
    for src in [
        "",
        "}}}}",
        "choreography",
        "fn (",
        "\"",
        "/*",
        "let A.x = ;",
        "@@@ #[",
        "match A.x { => }",
    ] {
        let _ = parse(FileId(0), src);
    }
}

#[test]
fn struct_literal_not_taken_in_condition() {
    ok("fn f(x: Int) -> Int { if x == y { 1 } else { 2 } }");
    ok("choreography main(A) { if A.x == y { A.print(1); } }");
}

/// Section 10 of the design card: families of roles in every role position.
#[test]
fn family_forms_parse() {
    let f = ok(r#"
choreography Sum(Leader, Ws[])(xs: List<Int>@Leader, ys: Int@Ws) -> Int@Leader {
    for W in Ws {
        Leader.index(W) -> W.part;
        W.index(Ws) -> Ws[(index(W) + 1) % size(Ws)].from;
    }
    let Ws.s = part;
    Ws.s -> Leader.sums;
    Leader -> Ws[Done];
    Leader -> Ws[0], Ws[size(Ws) - 1][Go];
    Ws[1].print(s);
    if Ws[0].s > 1 { Ws[0] -> Leader[Big]; }
    P(Leader, Ws, Ws[0])(Ws.s, Ws[2].s);
    return Leader.list::len(sums);
}
"#);
    let Item::Chor(c) = &*f.items[0] else {
        panic!("a choreography")
    };
    let names: Vec<&str> = c.roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["Leader", "Ws"]);
    assert_eq!(c.families.len(), 1);
    assert!(c.is_family("Ws") && !c.is_family("Leader"));
    let ChorStmtKind::For { var, family, body } = &c.body.stmts[0].kind else {
        panic!("a for round: {:?}", c.body.stmts[0].kind)
    };
    assert_eq!((var.name.as_str(), family.name.as_str()), ("W", "Ws"));
    let ChorStmtKind::Comm { to, .. } = &body.stmts[1].kind else {
        panic!("a communication")
    };
    assert_eq!(to[0].role.name, "Ws[(index(W) + 1) % size(Ws)]");
    let m = c.member_at(to[0].role.span).expect("its member reference");
    assert_eq!(m.family.name, "Ws");
    // A selection to the whole family, and one to two members.
    let ChorStmtKind::Select { to, label, .. } = &c.body.stmts[3].kind else {
        panic!("a selection")
    };
    assert_eq!((to[0].name.as_str(), label.name.as_str()), ("Ws", "Done"));
    let ChorStmtKind::Select { to, label, .. } = &c.body.stmts[4].kind else {
        panic!("a selection")
    };
    let to: Vec<&str> = to.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(to, ["Ws[0]", "Ws[size(Ws) - 1]"]);
    assert_eq!(label.name, "Go");
    // Every member reference is in the table, by the span of its role.
    assert_eq!(c.members.len(), 8);
}

#[test]
fn a_selection_label_must_be_a_name() {
    let e = errs("choreography main(A, B) { A -> B[1 + 2]; }");
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].0, "a selection label must be a name");
    assert_eq!(e[0].1, 33);
}

/// The targets and the parts each branch yields, of the conditional expression `s`.
fn cond_expr(s: &ChorStmt) -> (Vec<String>, Vec<Vec<String>>) {
    let targets = |b: &[Target]| b.iter().map(|t| t.role.name.clone()).collect::<Vec<_>>();
    let yields = |b: &ChorBlock| match &b.stmts.last().map(|s| &s.kind) {
        Some(ChorStmtKind::Yield { parts }) => parts
            .iter()
            .map(|p| {
                format!(
                    "{}.{}",
                    p.role.name,
                    chor_syntax::pretty::expr_string(&p.expr)
                )
            })
            .collect(),
        other => vec![format!("{other:?}")],
    };
    match &s.kind {
        ChorStmtKind::If {
            then, els, bind, ..
        } => {
            let mut ys = vec![yields(then)];
            ys.extend(els.iter().map(yields));
            (targets(bind), ys)
        }
        ChorStmtKind::Match { arms, bind, .. } => (
            targets(bind),
            arms.iter().map(|a| yields(&a.body)).collect(),
        ),
        other => panic!("not a conditional: {other:?}"),
    }
}

#[test]
fn conditional_expressions_of_the_card_parse() {
    let f = ok(r#"
choreography main(A, B, C) {
    let B.y = if A.ok { A -> B[Yes]; A.v -> B.v; B.(v + 1) } else { A -> B[No]; B.(0) };
    let (B.x, C.y) = match A.r { Some(n) => { A -> B, C[Got]; A.n -> B.x; (B.x, C.(0)) }, None => { A -> B, C[Empty]; (B.(0), C.(1)) } };
    let (A, B).z = if (A, B).c { (A, B).(1) } else if (A, B).d { (A, B).(2) } else { (A, B).(3) };
    let B.w = if a.ok { 1 } else { 2 };
    let B.u: Int = if B.y > 1 { B.y } else { B.(0) };
}
"#);
    let Item::Chor(c) = &*f.items[0] else {
        panic!("a choreography")
    };
    let s = &c.body.stmts;
    assert_eq!(
        cond_expr(&s[0]),
        (
            vec!["B".into()],
            vec![vec!["B.v + 1".into()], vec!["B.0".into()]]
        )
    );
    assert_eq!(
        cond_expr(&s[1]),
        (
            vec!["B".into(), "C".into()],
            vec![
                vec!["B.x".into(), "C.0".into()],
                vec!["B.0".into(), "C.1".into()]
            ]
        )
    );
    // `else if`: the else block holds the nested conditional, whose blocks yield.
    let ChorStmtKind::If {
        els: Some(e),
        bind,
        group,
        ..
    } = &s[2].kind
    else {
        panic!("an agreed conditional expression")
    };
    assert!(group.is_some() && bind[0].group.is_some());
    assert!(matches!(
        e.stmts[..],
        [ChorStmt {
            kind: ChorStmtKind::If { .. },
            ..
        }]
    ));
    // A bare condition (no role in front) stays a local `if` at B.
    assert!(matches!(
        &s[3].kind,
        ChorStmtKind::Let {
            value: Expr {
                kind: ExprKind::If { .. },
                ..
            },
            ..
        }
    ));
    // `B.y > 1`: the condition starts with a role, so it is choreographic (B decides).
    assert_eq!(
        cond_expr(&s[4]),
        (
            vec!["B".into()],
            vec![vec!["B.y".into()], vec!["B.0".into()]]
        )
    );
}

#[test]
fn a_branch_without_a_yield_parses() {
    // The checker reports what the branch lacks (E0710), with the branch in view.
    let f = ok("choreography main(A, B) { let B.y = if A.ok { A -> B[Yes]; } else { B.(0) }; }");
    let Item::Chor(c) = &*f.items[0] else {
        panic!("a choreography")
    };
    let ChorStmtKind::If { then, bind, .. } = &c.body.stmts[0].kind else {
        panic!("a conditional expression")
    };
    assert_eq!(bind.len(), 1);
    assert!(matches!(
        then.stmts[..],
        [ChorStmt {
            kind: ChorStmtKind::Select { .. },
            ..
        }]
    ));
}

#[test]
fn conditional_expressions_parse_alike_after_an_unbalanced_edit_before_them() {
    // Which `if` starts a conditional expression depends only on the choreography it is in,
    // so an unclosed bracket in an earlier item changes nothing after it, and an incremental
    // re-parse (which reads only the edited item) agrees with a full one.
    let old = "fn f() -> Int { 1 }\nchoreography main(A, B) {\n    let B.y = if A.ok { A -> B[Y]; B.(1) } else { A -> B[N]; B.(2) };\n}\n";
    let new = old.replacen("{ 1 }", "{ { 1 }", 1);
    let before = parse(FileId(0), old);
    assert!(before.errors.is_empty(), "{:#?}", before.errors);
    let full = parse(FileId(0), &new);
    let re = chor_syntax::reparse(FileId(0), &before, old, &new);
    assert_eq!(re, full);
    let Some(Item::Chor(c)) = full.file.items.last().map(|i| &**i) else {
        panic!("the choreography survives: {:#?}", full.file)
    };
    assert!(matches!(
        &c.body.stmts[0].kind,
        ChorStmtKind::If { bind, .. } if bind.len() == 1
    ));
}

/// The located arguments of a call, as a statement call and as a call bound with `let`
/// (parsed as an expression, then read as a call): role and argument text.
type Args = Vec<(String, String)>;

fn call_args(src: &str) -> (Args, Args) {
    let f = ok(src);
    let Item::Chor(c) = &*f.items[0] else {
        panic!("a choreography")
    };
    let args = |call: &ChorCall| -> Args {
        call.args
            .iter()
            .map(|a| {
                let who = match &a.group {
                    Some(g) => g
                        .roles
                        .iter()
                        .map(|r| r.name.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                    None => a.role.name.clone(),
                };
                (who, chor_syntax::pretty::expr_string(&a.expr))
            })
            .collect()
    };
    let ChorStmtKind::Call { call, .. } = &c.body.stmts[0].kind else {
        panic!("a statement call: {:?}", c.body.stmts[0].kind)
    };
    let ChorStmtKind::Let { value, .. } = &c.body.stmts[1].kind else {
        panic!("a bound call: {:?}", c.body.stmts[1].kind)
    };
    let bound = chor_syntax::as_chor_call(value, &|n| n == "P").expect("read as a call");
    (args(call), args(&bound))
}

/// Every located argument takes a unary operator without parentheses, the same in a bound
/// call as in a statement call: after a role, a group and a member, with every kind of
/// operand, and with binary operators after it (which extend the argument, as in `R.e`).
#[test]
fn located_arguments_take_unary_operators_in_every_call() {
    let heads = ["A", "(A, B)", "Ws[0]", "Ws[size(Ws) - 1]"];
    let args = [
        "-1",
        "-x",
        "!ok",
        "- -1",
        "-!x",
        "-1.5",
        "-f(1)",
        "-x.0",
        "-x.field",
        "-(1 + 2)",
        "-1 + 2",
        "-x * 2 - 1",
        "!ok && done",
        "-x < 0",
        "-list::len(xs)",
        "-[1, 2]",
    ];
    for head in heads {
        for arg in args {
            let call = format!("P(A, B, Ws)({head}.{arg}, B.-2)");
            let src = format!(
                "choreography main(A, B, Ws[]) {{\n    {call};\n    let B.y = {call};\n}}\n"
            );
            let (stmt, bound) = call_args(&src);
            assert_eq!(stmt.len(), 2, "{src}");
            assert_eq!(stmt, bound, "{src}");
            // The unary operator applies to what follows it, up to the binary operators.
            let want = chor_syntax::pretty::expr_string(&{
                let e = ok(&format!("fn f() {{ {arg} }}"));
                let Item::Fn(f) = &*e.items[0] else { panic!() };
                let Some(Expr {
                    kind: ExprKind::Block(b),
                    ..
                }) = &f.body
                else {
                    panic!()
                };
                (**b.tail.as_ref().expect("a value")).clone()
            });
            assert_eq!(stmt[0].1, want, "{src}");
            assert_eq!(stmt[1], ("B".to_owned(), "-2".to_owned()), "{src}");
        }
    }
}

/// A signature names members where it names roles: results, parameters, groups, and
/// choreography types; each goes to the item's member table.
#[test]
fn signatures_name_members() {
    let f = ok(r#"
choreography P(L, Ws[])(x: Int@Ws[size(Ws) - 1], k: Int@(L, Ws[0]), step: chor(X, Ys[])(Int@Ys[1]) -> Int@Ys[0]) -> (Int@L, Int@Ws[1 % size(Ws)]) {
    return (L.1, Ws[1 % size(Ws)].2);
}
choreography Q(L, Ws[])() -> Int@Ws[0] {
    return Ws[0].1;
}
"#);
    let Item::Chor(p) = &*f.items[0] else {
        panic!("a choreography")
    };
    assert_eq!(p.params[0].role.name, "Ws[size(Ws) - 1]");
    let g: Vec<&str> = p.params[1]
        .group
        .as_ref()
        .expect("a group")
        .roles
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(g, ["L", "Ws[0]"]);
    let step = p.params[2].chor.as_ref().expect("a choreography type");
    assert_eq!(step.params[0].role.name, "Ys[1]");
    assert_eq!(step.ret.as_ref().expect("a result").1.name, "Ys[0]");
    assert_eq!(p.results[1].role.name, "Ws[1 % size(Ws)]");
    for r in [&p.params[0].role, &p.results[1].role, &step.params[0].role] {
        assert!(
            p.member_at(r.span).is_some(),
            "{} is in the member table",
            r.name
        );
    }
    let Item::Chor(q) = &*f.items[1] else {
        panic!("a choreography")
    };
    let (_, r) = q.ret.as_ref().expect("a result");
    assert_eq!(q.member_at(r.span).expect("in the table").family.name, "Ws");
}
