//! Instantiation of generic and higher-order choreographies in the resolved program: which
//! instances exist, how calls are renamed, and what the instances' tables say.

use chor_check::ir::{Res, Type};
use chor_check::mono::INSTANCES_UNIT;
use chor_check::program::from_source;
use chor_syntax::ast::*;

const SRC: &str = r#"
choreography Relay<T>(A, B)(x: T@A) -> T@B {
    A.x -> B.y;
    return B.y;
}

choreography Double(P, Q)(n: Int@P) -> Int@Q {
    P.(n * 2) -> Q.m;
    return Q.m;
}

choreography Twice(A, B)(step: chor(X, Y)(Int@X) -> Int@Y, n: Int@A) -> Int@B {
    let B.once = step(A, B)(A.n);
    B.once -> A.back;
    let B.twice = step(A, B)(A.back);
    return B.twice;
}

choreography main(A, B) {
    let B.s = Relay(A, B)(A."hi");
    let B.l = Relay(A, B)(A.[1, 2]);
    let B.t = Twice(A, B)(Double, A.(3));
    let B.u = Twice(A, B)(Relay, A.(4));
    B.print(s ++ to_string(l) ++ to_string(t + u));
}
"#;

/// The callees of a block's call statements, in order.
fn callees(b: &ChorBlock) -> Vec<String> {
    b.stmts
        .iter()
        .filter_map(|s| match &s.kind {
            ChorStmtKind::Call { call, .. } => Some(call.callee.name.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn every_instantiation_becomes_a_first_order_choreography() {
    let p = from_source("mono.chor", SRC, vec![]);
    let unit = p
        .units
        .iter()
        .position(|u| u.name == INSTANCES_UNIT)
        .expect("an instance unit");
    let mut names: Vec<String> = p.units[unit]
        .ast
        .iter()
        .filter_map(|i| i.name().map(|n| n.name.clone()))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "Relay<Int>",
            "Relay<List<Int>>",
            "Relay<String>",
            "Twice[Double]",
            "Twice[Relay<Int>]"
        ]
    );
    // main calls the instances, without choreography arguments.
    let main = p.chor("main").expect("main");
    assert_eq!(
        callees(&main.body),
        [
            "Relay<String>",
            "Relay<List<Int>>",
            "Twice[Double]",
            "Twice[Relay<Int>]"
        ]
    );
    for c in p.units[unit].ast.iter().filter_map(|i| match i {
        Item::Chor(c) => Some(c),
        _ => None,
    }) {
        assert!(
            c.generics.is_empty() && !c.is_higher_order(),
            "{}",
            c.name.name
        );
        let calls = |b: &ChorBlock| {
            b.stmts
                .iter()
                .filter_map(|s| match &s.kind {
                    ChorStmtKind::Call { call, .. } => Some(call.clone()),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        for call in calls(&c.body) {
            assert!(call.args.iter().all(|a| !a.chor), "{}", c.name.name);
        }
    }
    // A choreography parameter's calls call what was passed.
    let twice = p.chor("Twice[Relay<Int>]").expect("instance");
    assert_eq!(callees(&twice.body), ["Relay<Int>", "Relay<Int>"]);
    assert_eq!(
        twice.params.len(),
        1,
        "the choreography parameter is dropped"
    );
    // The instance's table: the parameter's type, with `T` replaced; `x` is parameter 0.
    let relay = p.chor_ir("Relay<List<Int>>");
    assert_eq!(
        relay.params,
        [Type::List(std::sync::Arc::new(Type::Int))],
        "{relay:?}"
    );
    let twice_ir = p.chor_ir("Twice[Double]");
    assert_eq!(twice_ir.params, [Type::Int]);
    let uses_n = twice_ir
        .nodes
        .iter()
        .any(|n| n.res == Res::Param(0) && n.ty == Type::Int);
    assert!(uses_n, "`n` moved to parameter 0: {twice_ir:?}");
}

#[test]
fn a_program_without_templates_is_left_as_it_is() {
    let src = "choreography main(A, B) {\n    A.1 -> B.x;\n    B.print(x);\n}\n";
    let p = from_source("plain.chor", src, vec![]);
    assert!(p.units.iter().all(|u| u.name != INSTANCES_UNIT));
}

#[test]
fn a_program_with_errors_is_not_instantiated() {
    let src = SRC.replace("Twice(A, B)(Double, A.(3))", "Twice(A, B)(A.(3), A.(3))");
    let p = from_source("bad.chor", &src, vec![]);
    assert!(p.units.iter().all(|u| u.name != INSTANCES_UNIT));
}
