//! The explorer on hand-built local programs: one correct protocol and one program per kind of
//! finding, checking the kind, the places and the trace.

use super::*;
use chor_diagnostics::FileId;
use chor_project::{LKind, LStmt, LocalProc, ProcKey};
use chor_syntax::ast::{Expr, ExprKind, Lit, Pattern, PatternKind};
use std::collections::BTreeMap;

/// A statement whose span starts at `at`: tests name source places by these numbers.
fn st(at: usize, kind: LKind) -> LStmt {
    LStmt {
        kind,
        span: Span::new(FileId(0), at, at + 1),
    }
}

fn unit() -> Expr {
    Expr {
        kind: ExprKind::Lit(Lit::Unit),
        span: Span::default(),
        id: Default::default(),
    }
}

fn names(rs: &[&str]) -> Vec<String> {
    rs.iter().map(|r| (*r).to_owned()).collect()
}

fn send(at: usize, to: &[&str]) -> LStmt {
    st(
        at,
        LKind::Send {
            to: names(to),
            expr: unit(),
        },
    )
}

fn recv(at: usize, from: &str) -> LStmt {
    st(
        at,
        LKind::Recv {
            from: from.to_owned(),
            var: "x".to_owned(),
            ty: chor_project::MsgType::any(),
        },
    )
}

fn select(at: usize, to: &[&str], label: &str) -> LStmt {
    st(
        at,
        LKind::Select {
            to: names(to),
            label: label.to_owned(),
        },
    )
}

fn branch(at: usize, from: &str, arms: Vec<(&str, Vec<LStmt>)>) -> LStmt {
    st(
        at,
        LKind::Branch {
            from: from.to_owned(),
            arms: arms.into_iter().map(|(l, b)| (l.to_owned(), b)).collect(),
        },
    )
}

fn iff(at: usize, then: Vec<LStmt>, els: Vec<LStmt>) -> LStmt {
    st(
        at,
        LKind::If {
            cond: unit(),
            then,
            els,
            group: Vec::new(),
        },
    )
}

fn call(at: usize, chor: &str, index: usize, callee_role: &str, roles: &[&str]) -> LStmt {
    st(
        at,
        LKind::Call {
            key: ProcKey {
                chor: chor.to_owned(),
                index,
            },
            callee_role: callee_role.to_owned(),
            roles: names(roles),
            args: vec![],
            bind: None,
        },
    )
}

fn proc_(chor: &str, roles: &[&str], index: usize, body: Vec<LStmt>) -> (ProcKey, LocalProc) {
    let key = ProcKey {
        chor: chor.to_owned(),
        index,
    };
    let p = LocalProc {
        key: key.clone(),
        role: roles[index].to_owned(),
        roles: names(roles),
        params: vec![],
        returns: false,
        body,
    };
    (key, p)
}

/// The program of `roles[index]` in `main(roles)`, with extra procedures.
fn role(
    roles: &[&str],
    index: usize,
    body: Vec<LStmt>,
    extra: Vec<(ProcKey, LocalProc)>,
) -> LocalProgram {
    let (key, main) = proc_("main", roles, index, body);
    let mut procs = BTreeMap::new();
    procs.insert(key.clone(), main);
    procs.extend(extra);
    LocalProgram {
        role: roles[index].to_owned(),
        entry: key,
        procs,
    }
}

fn run(locals: &[LocalProgram]) -> Report {
    verify(locals, &Options::default()).expect("well-formed")
}

fn at_spans(f: &Finding) -> Vec<(String, Option<u32>)> {
    f.at.iter()
        .map(|a| (a.role.clone(), a.span.map(|s| s.start)))
        .collect()
}

fn render(r: &Report) -> String {
    r.render(&|s: Span| format!("f:{}", s.start))
}

const AB: &[&str] = &["A", "B"];

#[test]
fn ping_pong_verifies_with_exactly_its_states() {
    let r = run(&[
        role(AB, 0, vec![send(1, &["B"]), recv(2, "B")], vec![]),
        role(AB, 1, vec![recv(1, "A"), send(2, &["A"])], vec![]),
    ]);
    assert!(r.ok(), "{}", render(&r));
    // start, sent, received, answered, received: one interleaving only.
    assert_eq!((r.states, r.transitions, r.cut), (5, 4, 0));
    assert!(render(&r).ends_with("verified: 5 states, 4 transitions, 0 findings\n"));
}

#[test]
fn independent_sends_are_interleaved_both_ways() {
    // A and B each send one value to C, which receives from A, then from B. Both orders of the
    // two sends are explored: 1 + 2 + 1 states before C moves, and so on.
    let abc = &["A", "B", "C"];
    let r = run(&[
        role(abc, 0, vec![send(1, &["C"])], vec![]),
        role(abc, 1, vec![send(2, &["C"])], vec![]),
        role(abc, 2, vec![recv(1, "A"), recv(2, "B")], vec![]),
    ]);
    assert!(r.ok(), "{}", render(&r));
    // {}, {a}, {b}, {a,b}, {a, C got a}, {a,b, C got a}, {all}
    assert_eq!(r.states, 7, "{}", render(&r));
}

#[test]
fn receiving_first_on_both_sides_is_a_deadlock() {
    let r = run(&[
        role(AB, 0, vec![recv(1, "B"), send(2, &["B"])], vec![]),
        role(AB, 1, vec![recv(3, "A"), send(4, &["A"])], vec![]),
    ]);
    assert_eq!(r.finding_count(), 1);
    let f = &r.findings[0];
    assert_eq!(f.kind, Kind::Deadlock);
    assert_eq!(
        at_spans(f),
        vec![("A".to_owned(), Some(1)), ("B".to_owned(), Some(3))]
    );
    assert!(f.trace.is_empty());
    let text = render(&r);
    assert!(text.contains("A waits for a value from B (f:1)"), "{text}");
    assert!(
        text.contains("not verified: 1 state, 0 transitions, 1 finding"),
        "{text}"
    );
}

#[test]
fn a_message_nobody_receives_is_an_orphan_named_by_its_send() {
    let r = run(&[
        role(AB, 0, vec![send(1, &["B"]), send(2, &["B"])], vec![]),
        role(AB, 1, vec![recv(3, "A")], vec![]),
    ]);
    assert_eq!(r.finding_count(), 1, "{}", render(&r));
    let f = &r.findings[0];
    assert_eq!(f.kind, Kind::OrphanMessage);
    // The second send is the one left over.
    assert_eq!(at_spans(f), vec![("A".to_owned(), Some(2))]);
    assert_eq!(f.trace.len(), 3);
}

#[test]
fn a_value_where_a_label_is_expected_is_unexpected() {
    let r = run(&[
        role(AB, 0, vec![send(1, &["B"])], vec![]),
        role(AB, 1, vec![branch(2, "A", vec![("L", vec![])])], vec![]),
    ]);
    assert_eq!(r.finding_count(), 1, "{}", render(&r));
    let f = &r.findings[0];
    assert_eq!(f.kind, Kind::UnexpectedMessage);
    assert_eq!(at_spans(f), vec![("B".to_owned(), Some(2))]);
    assert!(
        f.summary.contains("receives a value from A"),
        "{}",
        f.summary
    );
    assert_eq!(f.trace.len(), 1);
    assert_eq!(f.trace[0].text, "sends a value to B");
}

#[test]
fn a_label_where_a_value_is_expected_is_unexpected() {
    let r = run(&[
        role(AB, 0, vec![select(1, &["B"], "L")], vec![]),
        role(AB, 1, vec![recv(2, "A")], vec![]),
    ]);
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.findings[0].kind, Kind::UnexpectedMessage);
    assert!(r.findings[0].summary.contains("label L"));
}

#[test]
fn a_label_without_an_arm_is_unexpected() {
    let r = run(&[
        role(AB, 0, vec![select(1, &["B"], "Other")], vec![]),
        role(
            AB,
            1,
            vec![branch(2, "A", vec![("L", vec![]), ("R", vec![])])],
            vec![],
        ),
    ]);
    assert_eq!(r.findings.len(), 1);
    let f = &r.findings[0];
    assert_eq!(f.kind, Kind::UnexpectedMessage);
    assert!(f.at[0].text.contains("(L or R)"), "{}", f.at[0].text);
    assert!(f.at[0].text.contains("label Other"), "{}", f.at[0].text);
}

#[test]
fn every_branch_of_an_internal_choice_is_explored() {
    // Only the else-branch is wrong: B's arm R waits for a value that never comes.
    let a = role(
        AB,
        0,
        vec![iff(
            1,
            vec![select(2, &["B"], "L"), send(3, &["B"])],
            vec![select(4, &["B"], "R")],
        )],
        vec![],
    );
    let good_b = role(
        AB,
        1,
        vec![branch(
            5,
            "A",
            vec![("L", vec![recv(6, "A")]), ("R", vec![])],
        )],
        vec![],
    );
    assert!(run(&[a.clone(), good_b]).ok());
    let bad_b = role(
        AB,
        1,
        vec![branch(
            5,
            "A",
            vec![("L", vec![recv(6, "A")]), ("R", vec![recv(7, "A")])],
        )],
        vec![],
    );
    let r = run(&[a, bad_b]);
    assert_eq!(r.finding_count(), 1, "{}", render(&r));
    let f = &r.findings[0];
    assert_eq!(f.kind, Kind::Deadlock);
    assert_eq!(
        at_spans(f),
        vec![("B".to_owned(), Some(7)), ("A".to_owned(), None)]
    );
    let steps: Vec<&str> = f.trace.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(
        steps,
        vec![
            "takes the `else` branch of `if`",
            "selects R for B",
            "receives label R from A"
        ]
    );
}

/// `Loop(X, Y)`: X decides to go on (telling Y and sending a value) or stop; a tail call.
fn looping(bad_stop: bool) -> Vec<LocalProgram> {
    let xy = &["X", "Y"];
    let at_x = proc_(
        "Loop",
        xy,
        0,
        vec![iff(
            10,
            vec![
                select(11, &["Y"], "Go"),
                send(12, &["Y"]),
                call(13, "Loop", 0, "X", &["X", "Y"]),
            ],
            vec![select(14, &["Y"], "Stop")],
        )],
    );
    let stop = if bad_stop {
        vec![recv(17, "X")]
    } else {
        vec![]
    };
    let at_y = proc_(
        "Loop",
        xy,
        1,
        vec![branch(
            15,
            "X",
            vec![
                (
                    "Go",
                    vec![recv(12, "X"), call(16, "Loop", 1, "Y", &["X", "Y"])],
                ),
                ("Stop", stop),
            ],
        )],
    );
    vec![
        role(
            AB,
            0,
            vec![call(1, "Loop", 0, "X", &["A", "B"])],
            vec![at_x],
        ),
        role(
            AB,
            1,
            vec![call(1, "Loop", 1, "Y", &["A", "B"])],
            vec![at_y],
        ),
    ]
}

#[test]
fn recursion_is_unrolled_to_the_depth_bound_and_cut_paths_are_counted() {
    let mut states = Vec::new();
    for depth in 1..=4 {
        let opts = Options {
            depth,
            ..Options::default()
        };
        let r = verify(&looping(false), &opts).expect("well-formed");
        assert!(r.finding_count() == 0 && r.complete, "{}", render(&r));
        assert!(r.cut > 0, "depth {depth}: the last `Go` path is cut");
        assert!(render(&r).contains(&format!("cut at recursion depth {depth}")));
        states.push(r.states);
    }
    assert!(states.windows(2).all(|w| w[0] < w[1]), "{states:?}");
}

#[test]
fn a_bug_inside_recursion_is_found_with_the_calls_in_its_trace() {
    let r = run(&looping(true));
    assert_eq!(r.finding_count(), 1, "{}", render(&r));
    let f = &r.findings[0];
    assert_eq!(f.kind, Kind::Deadlock);
    assert_eq!(f.at[0].span.map(|s| s.start), Some(17));
    assert!(
        f.trace
            .iter()
            .any(|t| t.text == "calls Loop (as its role X)")
    );
}

#[test]
fn calls_rename_roles() {
    // P(X, Y): X sends to Y. A plays Y and B plays X, so the message goes from B to A.
    let xy = &["X", "Y"];
    let good = vec![
        role(
            AB,
            0,
            vec![call(1, "P", 1, "Y", &["B", "A"])],
            vec![proc_("P", xy, 1, vec![recv(2, "X")])],
        ),
        role(
            AB,
            1,
            vec![call(1, "P", 0, "X", &["B", "A"])],
            vec![proc_("P", xy, 0, vec![send(2, &["Y"])])],
        ),
    ];
    let r = run(&good);
    assert!(r.ok(), "{}", render(&r));
    // If A passes `(A, B)` while running the callee as Y, it puts B in its own place.
    let mut bad = good;
    bad[0] = role(
        AB,
        0,
        vec![call(1, "P", 1, "Y", &["A", "B"])],
        vec![proc_("P", xy, 1, vec![recv(2, "X")])],
    );
    let r = run(&bad);
    assert!(
        r.findings.iter().any(|f| f.kind == Kind::Malformed),
        "{}",
        render(&r)
    );
}

#[test]
fn a_multicast_selection_reaches_every_receiver() {
    let abc = &["A", "B", "C"];
    let arm = |at| branch(at, "A", vec![("L", vec![])]);
    let r = run(&[
        role(abc, 0, vec![select(1, &["B", "C"], "L")], vec![]),
        role(abc, 1, vec![arm(2)], vec![]),
        role(abc, 2, vec![arm(3)], vec![]),
    ]);
    assert!(r.ok(), "{}", render(&r));
    let r = run(&[
        role(abc, 0, vec![select(1, &["B"], "L")], vec![]),
        role(abc, 1, vec![arm(2)], vec![]),
        role(abc, 2, vec![arm(3)], vec![]),
    ]);
    assert_eq!(r.findings[0].kind, Kind::Deadlock);
}

#[test]
fn a_wrong_name_is_an_error_not_a_panic() {
    let e = verify(
        &[
            role(AB, 0, vec![send(1, &["Nobody"])], vec![]),
            role(AB, 1, vec![], vec![]),
        ],
        &Options::default(),
    )
    .expect_err("malformed");
    assert!(e.contains("Nobody") && e.contains("role A"), "{e}");
    let e = verify(
        &[
            role(AB, 0, vec![call(1, "Missing", 0, "A", AB)], vec![]),
            role(AB, 1, vec![], vec![]),
        ],
        &Options::default(),
    )
    .expect_err("malformed");
    assert!(e.contains("Missing"), "{e}");
}

#[test]
fn the_state_limit_stops_the_search_and_says_so() {
    let opts = Options {
        depth: 50,
        max_states: 20,
        ..Options::default()
    };
    let r = verify(&looping(false), &opts).expect("well-formed");
    assert!(!r.complete && !r.ok());
    assert!(render(&r).contains("not every interleaving was explored"));
}

#[test]
fn match_arms_are_choices_too() {
    let pat = |name: &str| Pattern {
        kind: PatternKind::Ident(chor_syntax::ast::Ident {
            name: name.to_owned(),
            span: Span::default(),
        }),
        span: Span::default(),
        id: Default::default(),
    };
    let m = st(
        1,
        LKind::Match {
            scrutinee: unit(),
            arms: vec![
                (pat("None"), vec![select(2, &["B"], "N")]),
                (pat("Some"), vec![select(3, &["B"], "S")]),
            ],
            group: Vec::new(),
        },
    );
    let r = run(&[
        role(AB, 0, vec![m], vec![]),
        role(AB, 1, vec![branch(4, "A", vec![("N", vec![])])], vec![]),
    ]);
    assert_eq!(r.findings.len(), 1, "{}", render(&r));
    assert_eq!(
        r.findings[0].trace[0].text,
        "takes the arm `Some` of `match`"
    );
}

// Group decisions: the explorer establishes by itself that the members decide on equal
// values, whatever the checker said. Each program below is what projection would make if the
// checker had wrongly accepted the choreography (or, for the accepted ones, what it makes).

/// The expression `src`, parsed.
fn ex(src: &str) -> Expr {
    let parsed = chor_syntax::parse::parse(FileId(0), &format!("fn f() {{ {src} }}"));
    let Some(chor_syntax::ast::Item::Fn(f)) = parsed.file.items.first().map(|i| &**i) else {
        panic!("not a function: {src}");
    };
    match &f.body.as_ref().expect("a body").kind {
        ExprKind::Block(b) => (**b.tail.as_ref().expect("a tail")).clone(),
        other => panic!("{other:?}"),
    }
}

fn pat(name: &str) -> Pattern {
    Pattern {
        kind: PatternKind::Ident(chor_syntax::ast::Ident {
            name: name.to_owned(),
            span: Span::default(),
        }),
        span: Span::default(),
        id: Default::default(),
    }
}

fn send_e(at: usize, to: &[&str], e: &str) -> LStmt {
    st(
        at,
        LKind::Send {
            to: names(to),
            expr: ex(e),
        },
    )
}

fn recv_as(at: usize, from: &str, var: &str) -> LStmt {
    st(
        at,
        LKind::Recv {
            from: from.to_owned(),
            var: var.to_owned(),
            ty: chor_project::MsgType::any(),
        },
    )
}

fn let_(at: usize, var: &str, e: &str) -> LStmt {
    st(
        at,
        LKind::Let {
            pat: pat(var),
            value: ex(e),
        },
    )
}

/// `if (B, C).cond { then } else { els }` as member `me` of the group (B, C) projects it.
fn group_if(at: usize, cond: &str, then: Vec<LStmt>, els: Vec<LStmt>) -> LStmt {
    st(
        at,
        LKind::If {
            cond: ex(cond),
            then,
            els,
            group: names(&["B", "C"]),
        },
    )
}

const ABC: &[&str] = &["A", "B", "C"];

/// A sends to B and C (with `a_stmts`), B and C prepare with `b_pre`/`c_pre` and decide on
/// `cond` as the group (B, C); in the `then` branch C sends to A, else B does, and A waits
/// for C, so any disagreement also leaves A waiting for the wrong role.
fn group_program(
    a_stmts: Vec<LStmt>,
    b_pre: Vec<LStmt>,
    c_pre: Vec<LStmt>,
    cond: &str,
) -> Vec<LocalProgram> {
    let mut b = b_pre;
    b.push(group_if(50, cond, vec![], vec![]));
    let mut c = c_pre;
    c.push(group_if(50, cond, vec![], vec![]));
    vec![
        role(ABC, 0, a_stmts, vec![]),
        role(ABC, 1, b, vec![]),
        role(ABC, 2, c, vec![]),
    ]
}

fn verify_with(locals: &[LocalProgram], functions: Functions) -> Report {
    let opts = Options {
        functions: std::sync::Arc::new(functions),
        ..Options::default()
    };
    verify(locals, &opts).expect("well-formed")
}

fn disagreements(r: &Report) -> usize {
    r.findings
        .iter()
        .filter(|f| f.kind == Kind::Disagreement)
        .count()
}

#[test]
fn one_multicast_makes_an_agreed_value() {
    let r = run(&group_program(
        vec![send_e(1, &["B", "C"], "5")],
        vec![recv_as(1, "A", "k")],
        vec![recv_as(1, "A", "k")],
        "k > 3",
    ));
    assert!(r.ok(), "{}", render(&r));
}

#[test]
fn values_made_apart_are_not_agreed_and_the_same_value_sent_twice_is() {
    // Two reads of input, or a value and a value computed from it: two values.
    for a in [
        vec![
            let_(0, "x", "io::read_line()"),
            send_e(1, &["B"], "x"),
            let_(2, "x", "io::read_line()"),
            send_e(3, &["C"], "x"),
        ],
        vec![
            let_(0, "x", "io::read_line()"),
            send_e(1, &["B"], "x"),
            let_(2, "x", "x ++ \"!\""),
            send_e(3, &["C"], "x"),
        ],
    ] {
        let r = run(&group_program(
            a,
            vec![recv_as(1, "A", "k")],
            // A receive has the span of the send it takes (one statement of the source).
            vec![recv_as(3, "A", "k")],
            "k == \"\"",
        ));
        assert_eq!(disagreements(&r), 1, "{}", render(&r));
        let f = r.findings.iter().find(|f| f.kind == Kind::Disagreement);
        let f = f.expect("a disagreement");
        assert_eq!(at_spans(f)[0].1, Some(50), "{}", render(&r));
        let text = render(&r);
        assert!(
            text.contains("unagreed decision: C and B may take different branches"),
            "{text}"
        );
    }
    // One value sent in two messages is still one value (a pure literal, or a read once).
    for a in [
        vec![send_e(1, &["B"], "5"), send_e(3, &["C"], "5")],
        vec![
            let_(0, "x", "io::read_line()"),
            send_e(1, &["B"], "x"),
            send_e(3, &["C"], "x"),
        ],
    ] {
        let r = run(&group_program(
            a,
            vec![recv_as(1, "A", "k")],
            // A receive has the span of the send it takes (one statement of the source).
            vec![recv_as(3, "A", "k")],
            "k == k",
        ));
        assert!(r.ok(), "{}", render(&r));
    }
}

#[test]
fn a_pure_computation_from_agreed_values_stays_agreed() {
    let r = run(&group_program(
        vec![send_e(1, &["B", "C"], "5")],
        vec![
            recv_as(1, "A", "k"),
            let_(2, "j", "int::abs(k * 2) + list::len([k])"),
        ],
        vec![
            recv_as(1, "A", "k"),
            let_(2, "j", "int::abs(k * 2) + list::len([k])"),
        ],
        "j > 3",
    ));
    assert!(r.ok(), "{}", render(&r));
    // One member computes something else: a disagreement.
    let r = run(&group_program(
        vec![send_e(1, &["B", "C"], "5")],
        vec![recv_as(1, "A", "k"), let_(2, "j", "k * 2")],
        vec![recv_as(1, "A", "k"), let_(2, "j", "k * 3")],
        "j > 3",
    ));
    assert_eq!(disagreements(&r), 1, "{}", render(&r));
}

#[test]
fn effects_make_values_that_are_never_agreed() {
    for e in [
        "random::int(0, 9)",
        "time::now_ms()",
        "io::read_line()",
        "read_line()",
        "noisy(1)",
        "ffi(1)",
        "unknown_fn(1)",
        "list::map([1], noisy)",
    ] {
        let mut fns = Functions::default();
        fns.fns.insert(
            "noisy".to_owned(),
            FnInfo::Body {
                params: vec!["n".to_owned()],
                body: ex("{ print(n); n }"),
            },
        );
        fns.fns.insert("ffi".to_owned(), FnInfo::Extern);
        let r = verify_with(
            &group_program(
                vec![],
                vec![let_(2, "j", e)],
                vec![let_(2, "j", e)],
                "j > 3",
            ),
            fns,
        );
        assert_eq!(disagreements(&r), 1, "{e}: {}", render(&r));
    }
}

#[test]
fn pure_user_functions_are_followed_through_their_calls() {
    let mut fns = Functions::default();
    fns.fns.insert(
        "twice".to_owned(),
        FnInfo::Body {
            params: vec!["n".to_owned()],
            body: ex("{ let m = helper(n); m + m }"),
        },
    );
    fns.fns.insert(
        "helper".to_owned(),
        FnInfo::Body {
            params: vec!["n".to_owned()],
            body: ex("if n > 0 { helper(n - 1) } else { to_string(n); 0 }"),
        },
    );
    fns.fns.insert("to_string".to_owned(), FnInfo::Builtin);
    let prog = group_program(
        vec![send_e(1, &["B", "C"], "5")],
        vec![recv_as(1, "A", "k"), let_(2, "j", "twice(k)")],
        vec![recv_as(1, "A", "k"), let_(2, "j", "twice(k)")],
        "j > 3",
    );
    let r = verify_with(&prog, fns.clone());
    assert!(r.ok(), "{}", render(&r));
    // The same helper, printing deep inside: no longer pure.
    fns.fns.insert(
        "helper".to_owned(),
        FnInfo::Body {
            params: vec!["n".to_owned()],
            body: ex("if n > 0 { helper(n - 1) } else { print(n); 0 }"),
        },
    );
    let r = verify_with(&prog, fns);
    assert_eq!(disagreements(&r), 1, "{}", render(&r));
}

/// A reads a line and sends it to B and C, then reads another and sends it to B only.
fn a_reads_twice() -> Vec<LStmt> {
    vec![
        let_(0, "x", "io::read_line()"),
        send_e(1, &["B", "C"], "x"),
        let_(2, "y", "io::read_line()"),
        send_e(3, &["B"], "y"),
    ]
}

#[test]
fn a_rebinding_at_one_member_ends_the_agreement_until_its_scope_ends() {
    // B rebinds `k` from another message of A's: B's `k` is no longer C's.
    let r = run(&group_program(
        a_reads_twice(),
        vec![recv_as(1, "A", "k"), recv_as(2, "A", "k")],
        vec![recv_as(1, "A", "k")],
        "k == \"\"",
    ));
    assert_eq!(disagreements(&r), 1, "{}", render(&r));
    // The same rebinding inside a block: after it, `k` is the agreed one again.
    let r = run(&group_program(
        a_reads_twice(),
        vec![
            recv_as(1, "A", "k"),
            st(3, LKind::Block(vec![recv_as(2, "A", "k")])),
        ],
        vec![recv_as(1, "A", "k")],
        "k == \"\"",
    ));
    assert!(r.ok(), "{}", render(&r));
    // Nested scopes, the inner one binding nothing that matters to the decision.
    let r = run(&group_program(
        a_reads_twice(),
        vec![
            recv_as(1, "A", "k"),
            st(
                3,
                LKind::Block(vec![
                    recv_as(2, "A", "k"),
                    st(4, LKind::Block(vec![let_(5, "z", "1")])),
                ]),
            ),
        ],
        vec![recv_as(1, "A", "k")],
        "k == \"\"",
    ));
    assert!(r.ok(), "{}", render(&r));
    // A rebinding inside a branch of B's own choice ends with the branch too.
    let r = run(&group_program(
        a_reads_twice(),
        vec![
            recv_as(1, "A", "k"),
            recv_as(2, "A", "other"),
            st(
                3,
                LKind::If {
                    cond: ex("k == 1"),
                    then: vec![let_(4, "k", "0")],
                    els: vec![],
                    group: Vec::new(),
                },
            ),
        ],
        vec![recv_as(1, "A", "k")],
        "k == \"\"",
    ));
    assert!(r.ok(), "{}", render(&r));
}

#[test]
fn parameters_and_results_carry_agreement_through_calls() {
    // main: A sends k to B and C; B and C call P(B, C)(k at both), which decides on its
    // parameter and returns it; then they decide again on the results.
    let p = |me: usize, arg: &str| {
        let key = ProcKey {
            chor: "P".to_owned(),
            index: me,
        };
        let body = vec![
            st(
                60,
                LKind::If {
                    cond: ex("n > 3"),
                    then: vec![],
                    els: vec![],
                    group: names(&["X", "Y"]),
                },
            ),
            st(61, LKind::Return(ex("n + 1"))),
        ];
        let proc_ = LocalProc {
            key: key.clone(),
            role: ["X", "Y"][me].to_owned(),
            roles: names(&["X", "Y"]),
            params: vec!["n".to_owned()],
            returns: true,
            body,
        };
        let call = st(
            40,
            LKind::Call {
                key: key.clone(),
                callee_role: ["X", "Y"][me].to_owned(),
                roles: names(&["B", "C"]),
                args: vec![ex(arg)],
                bind: Some(pat("r")),
            },
        );
        (call, (key, proc_))
    };
    let program = |c_arg: &str| {
        let (bc, bp) = p(0, "k");
        let (cc, cp) = p(1, c_arg);
        vec![
            role(ABC, 0, vec![send_e(1, &["B", "C"], "5")], vec![]),
            role(
                ABC,
                1,
                vec![
                    recv_as(1, "A", "k"),
                    bc,
                    group_if(50, "r > 3", vec![], vec![]),
                ],
                vec![bp],
            ),
            role(
                ABC,
                2,
                vec![
                    recv_as(1, "A", "k"),
                    cc,
                    group_if(50, "r > 3", vec![], vec![]),
                ],
                vec![cp],
            ),
        ]
    };
    let r = run(&program("k"));
    assert!(r.ok(), "{}", render(&r));
    let r = run(&program("k + 0"));
    // Found at the first decision, inside P.
    assert_eq!(disagreements(&r), 1, "{}", render(&r));
    assert_eq!(r.findings[0].at[0].span.map(|s| s.start), Some(60));
}

#[test]
fn a_variable_holding_a_pure_function_may_be_called_in_an_agreed_value() {
    let program = |f: &str| {
        group_program(
            vec![send_e(1, &["B", "C"], "5")],
            vec![recv_as(1, "A", "k"), let_(2, "f", f), let_(3, "j", "f(k)")],
            vec![recv_as(1, "A", "k"), let_(2, "f", f), let_(3, "j", "f(k)")],
            "j > 3",
        )
    };
    let r = run(&program("int::abs"));
    assert!(r.ok(), "{}", render(&r));
    // A function with an effect, held in a variable, is not.
    let r = run(&program("random::int"));
    assert_eq!(disagreements(&r), 1, "{}", render(&r));
}

#[test]
fn a_receive_that_takes_another_statements_message_holds_an_unknown_value() {
    // Projection gives a send and its receive the span of their one statement. A pair that
    // does not match (a broken projection) carries a value the verifier does not follow:
    // the receiver holds an unknown of its own, never a value equal to anything else.
    let r = run(&group_program(
        vec![
            let_(0, "x", "io::read_line()"),
            send_e(1, &["B"], "x"),
            send_e(3, &["C"], "x"),
        ],
        vec![recv_as(1, "A", "k")],
        vec![recv_as(9, "A", "k")],
        "k == k",
    ));
    assert_eq!(disagreements(&r), 1, "{}", render(&r));
}
