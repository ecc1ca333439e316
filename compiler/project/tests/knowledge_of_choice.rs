//! Knowledge of choice (design card §5.3): which programs project, which are rejected, what the
//! diagnostic says, and that applying its fix makes the program project.

use chor_check::program::from_source;
use chor_diagnostics::Diagnostic;

fn koc(src: &str) -> Vec<Diagnostic> {
    let prog = from_source("t.chor", src, vec![]);
    let syntax: Vec<_> = prog.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(syntax.is_empty(), "{syntax:#?}");
    chor_project::check_choices(&prog)
}

fn accepted(src: &str) {
    let d = koc(src);
    assert!(
        d.is_empty(),
        "expected no knowledge-of-choice error, got {d:#?}"
    );
}

/// Apply every edit of the diagnostic's fix.
fn apply_fix(src: &str, d: &Diagnostic) -> String {
    let fix = d
        .fix
        .as_ref()
        .expect("a knowledge-of-choice error carries a fix");
    let mut edits: Vec<(u32, u32, String)> = std::iter::once((fix.span, fix.replacement.clone()))
        .chain(fix.more.iter().cloned())
        .map(|(s, r)| (s.start, s.end, r))
        .collect();
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out = src.to_owned();
    for (s, e, r) in edits {
        out.replace_range(s as usize..e as usize, &r);
    }
    out
}

/// The program is rejected for `role`; the message names it and the decider; the fix repairs it.
fn rejected(src: &str, role: &str, decider: &str) -> Diagnostic {
    let d = koc(src);
    assert!(!d.is_empty(), "expected a knowledge-of-choice error");
    let first = d[0].clone();
    assert_eq!(first.code, "E0501");
    assert_eq!(
        first.message,
        format!("{role} cannot know which branch {decider} chose")
    );
    assert!(
        first.labels.len() >= 2,
        "points at the choice and a diverging action: {first:#?}"
    );
    // Fix every reported error, one at a time, and the program projects.
    let mut fixed = src.to_owned();
    for _ in 0..8 {
        let errs = koc(&fixed);
        let Some(e) = errs.first() else { break };
        fixed = apply_fix(&fixed, e);
    }
    accepted(&fixed);
    first
}

#[test]
fn told_in_one_branch_only() {
    let d = rejected(
        r#"choreography main(A, B) {
    let A.x = 1;
    if A.x > 0 {
        A -> B[Yes];
        B.print("yes");
    } else {
        A.print("no");
    }
}"#,
        "B",
        "A",
    );
    assert!(d.labels[1].message.contains("branch"), "{:?}", d.labels);
}

#[test]
fn receiving_in_one_branch_needs_a_selection() {
    let d = rejected(
        r#"choreography main(A, B) {
    let A.x = 1;
    if A.x > 0 {
        A.x -> B.y;
    }
}"#,
        "B",
        "A",
    );
    let fix = d.fix.expect("fix");
    assert!(fix.replacement.contains("A -> B[Then];"), "{fix:?}");
    assert!(
        fix.more
            .iter()
            .any(|(_, r)| r.contains("else {\n        A -> B[Else];\n    }")),
        "{fix:?}"
    );
}

#[test]
fn equal_behaviour_needs_no_selection() {
    accepted(
        r#"choreography main(A, B, C) {
    let A.x = 1;
    if A.x > 0 {
        A.print("pos");
        C.print("same");
        B.print("same");
    } else {
        A.print("neg");
        B.print("same");
        C.print("same");
    }
}"#,
    );
}

#[test]
fn third_party_told_through_another_role() {
    accepted(
        r#"choreography main(A, B, C) {
    let A.x = 1;
    if A.x > 0 {
        A -> B[Go];
        B -> C[Go];
        C.print("go");
    } else {
        A -> B[Stop];
        B -> C[Stop];
    }
}"#,
    );
}

#[test]
fn third_party_not_told_is_rejected() {
    rejected(
        r#"choreography main(A, B, C) {
    let A.x = 1;
    if A.x > 0 {
        A -> B[Go];
        B.print("told");
        C.print("go");
    } else {
        A -> B[Stop];
    }
}"#,
        "C",
        "A",
    );
}

#[test]
fn relay_by_a_role_that_does_not_know_is_rejected() {
    let d = koc(r#"choreography main(A, B, C) {
    let A.x = 1;
    if A.x > 0 {
        B -> C[Go];
        C.print("go");
    } else {
        B -> C[Stop];
    }
}"#);
    assert!(
        d.iter()
            .any(|d| d.message == "B cannot know which branch A chose"),
        "{d:#?}"
    );
}

#[test]
fn same_label_different_behaviour_is_rejected() {
    let d = koc(r#"choreography main(A, B) {
    let A.x = 1;
    if A.x > 0 {
        A -> B[Go];
        B.print("one");
    } else {
        A -> B[Go];
        B.print("two");
    }
}"#);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].message, "B cannot know which branch A chose");
    assert!(
        d[0].labels
            .iter()
            .any(|l| l.message.contains("print(\"one\")")),
        "{:?}",
        d[0].labels
    );
    assert!(
        d[0].labels
            .iter()
            .any(|l| l.message.contains("print(\"two\")")),
        "{:?}",
        d[0].labels
    );
}

#[test]
fn match_arms_need_selections() {
    let d = rejected(
        r#"enum Req { Put(Int), Get, Stop }
choreography main(C, S) {
    let C.r = Put(1);
    match C.r {
        Put(v) => { C.v -> S.v; },
        Get => { S.print("get"); },
        Stop => { },
    }
}"#,
        "S",
        "C",
    );
    let fix = d.fix.expect("fix");
    let all: Vec<String> = std::iter::once(fix.replacement)
        .chain(fix.more.into_iter().map(|m| m.1))
        .collect();
    assert_eq!(
        all,
        vec![" C -> S[Put];", " C -> S[Get];", " C -> S[Stop];"]
    );
}

#[test]
fn nested_choices_merge_labelwise() {
    accepted(
        r#"choreography main(A, B) {
    let A.x = 1;
    if A.x > 0 {
        if A.x > 5 {
            A -> B[Big];
            B.print("big");
        } else {
            A -> B[Small];
        }
    } else {
        A -> B[Neg];
        B.print("neg");
    }
}"#,
    );
}

#[test]
fn procedures_are_checked_at_every_role() {
    rejected(
        r#"choreography P(X, Y)(n: Int@X) {
    if X.n > 0 {
        X.n -> Y.m;
        P(X, Y)(X.n - 1);
    }
}
choreography main(A, B) {
    P(A, B)(A.3);
}"#,
        "Y",
        "X",
    );
}

#[test]
fn a_scoped_binding_in_merged_branches_does_not_leak() {
    // B's identical branches bind `y`; after the `if` B's own `y` is visible again.
    let src = r#"choreography main(A, B) {
    let A.x = 1;
    let B.y = 1;
    if A.x > 0 {
        let B.y = 2;
        B.print(y);
    } else {
        let B.y = 2;
        B.print(y);
    }
    B.print(y);
}"#;
    accepted(src);
    let prog = from_source("t.chor", src, vec![]);
    let locals = chor_project::project_program(&prog, "main").expect("projects");
    let b = locals.iter().find(|l| l.role == "B").expect("B");
    let text = b.to_text();
    assert!(text.contains("{\n        let y = 2;"), "{text}");
}

#[test]
fn a_branch_that_already_tells_the_role_keeps_its_selection() {
    // `if` without `else`: the `then` branch tells B already; the fix only adds an `else`
    // telling B the other branch, with a label distinct from the existing one.
    let src = r#"choreography main(A, B) {
    let A.x = 1;
    if A.x > 0 {
        A -> B[Yes];
        B.print("yes");
    }
}"#;
    let d = rejected(src, "B", "A");
    let fixed = apply_fix(src, &d);
    assert_eq!(
        fixed.matches("A -> B[").count(),
        2,
        "one selection added: {fixed}"
    );
    assert!(
        fixed.contains("    }\n    else {\n        A -> B[Else];\n    }")
            || fixed.contains("    } else {\n        A -> B[Else];\n    }"),
        "an else branch tells B, on lines of its own: {fixed}"
    );
    assert!(
        d.help.iter().any(|h| h.contains("in an added `else`")),
        "{d:#?}"
    );

    // Both branches start with the same label: it tells nothing, so one gets a new label.
    let src = r#"choreography main(A, B) {
    let A.x = 1;
    if A.x > 0 {
        A -> B[Go];
        B.print("one");
    } else {
        A -> B[Go];
        B.print("two");
    }
}"#;
    let d = rejected(src, "B", "A");
    assert!(d.fix.is_some(), "{d:#?}");

    // A label chosen for the fix never repeats the one already used.
    let src = r#"choreography main(A, B) {
    let A.x = 1;
    if A.x > 0 {
        A.print("quiet");
    } else {
        A -> B[Then];
        B.print("told");
    }
}"#;
    let d = rejected(src, "B", "A");
    let fixed = apply_fix(src, &d);
    assert!(fixed.contains("A -> B[Then2];"), "{fixed}");
}

#[test]
fn the_fix_puts_each_selection_on_a_line_of_its_own() {
    let src = "choreography main(A, B) {\n    let A.x = 1;\n    if A.x > 0 {\n        B.print(\"yes\");\n    } else {\n        B.print(\"no\");\n    }\n}\n";
    let d = rejected(src, "B", "A");
    let fixed = apply_fix(src, &d);
    assert_eq!(
        fixed,
        "choreography main(A, B) {\n    let A.x = 1;\n    if A.x > 0 {\n        A -> B[Then];\n        B.print(\"yes\");\n    } else {\n        A -> B[Else];\n        B.print(\"no\");\n    }\n}\n"
    );
}

#[test]
fn an_else_if_chain_is_fixed_into_code_that_parses() {
    // `rejected` applies the fixes one at a time, re-checking (which asserts the result
    // parses), until the program projects.
    let src = "choreography main(A, B) {\n    let A.n = 3;\n    if A.(n > 5) {\n        B.print(\"big\");\n    } else if A.(n > 1) {\n        B.print(\"mid\");\n    } else {\n        B.print(\"small\");\n    }\n}\n";
    rejected(src, "B", "A");
    let src = "choreography main(A, B) {\n    let A.n = 3;\n    if A.(n > 5) {\n        B.print(\"big\");\n    } else if A.(n > 1) {\n        B.print(\"mid\");\n    }\n}\n";
    rejected(src, "B", "A");
}

#[test]
fn the_fix_extends_a_selection_the_branches_already_start_with() {
    let src = "choreography main(A, B, C) {\n    let A.n = 3;\n    if A.(n > 1) {\n        A -> C[Pass];\n        C.print(\"pass\");\n        B.print(\"b pass\");\n    } else {\n        A -> C[Fail];\n        C.print(\"fail\");\n    }\n}\n";
    let d = rejected(src, "B", "A");
    let fixed = apply_fix(src, &d);
    assert!(fixed.contains("A -> B, C[Pass];"), "{fixed}");
    assert!(fixed.contains("A -> B, C[Fail];"), "{fixed}");
    assert_eq!(
        fixed.matches(" -> ").count(),
        2,
        "no selection added: {fixed}"
    );
    assert!(
        d.help.iter().any(|h| h.contains("`A -> B, C[Pass];`")),
        "{d:#?}"
    );
}

#[test]
fn diverging_actions_are_quoted_as_written() {
    // A receive and a recursive call are quoted in the user's syntax, not the projection's.
    let src = "choreography Ring(A, B)(n: Int@A) {\n    if A.(n > 0) {\n        A.n -> B.m;\n        Ring(B, A)(B.(m - 1));\n    } else {\n        A.print(\"done\");\n    }\n}\nchoreography main(X, Y) { Ring(X, Y)(X.(3)); }\n";
    let d = rejected(src, "B", "A");
    let texts: Vec<&str> = d.labels.iter().map(|l| l.message.as_str()).collect();
    assert!(
        texts.iter().any(|t| t.contains("`A.n -> B.m;`")),
        "{texts:?}"
    );
    assert!(
        !texts
            .iter()
            .any(|t| t.contains("recv ") || t.contains("call ")),
        "{texts:?}"
    );
}

/// In a `for` round, a member that the diverging statements name by the round's variable is
/// told by that variable: one fix makes the program project at every size, where naming the
/// member of the first round (`L -> Ws[0][Then];`) would tell it in every round and leave the
/// others untold.
#[test]
fn the_fix_in_a_round_names_the_rounds_member() {
    let src = r#"choreography main(L, Ws[]) {
    let L.pick = 1;
    for W in Ws {
        if L.(pick == index(W)) {
            L.(5) -> W.job;
            W.print(job);
        } else {
            W.print("skip");
        }
    }
}
"#;
    let d = koc(src);
    let first = d.first().expect("rejected");
    assert_eq!(first.message, "Ws[0] cannot know which branch L chose");
    let fixed = apply_fix(src, first);
    assert!(
        fixed.contains("L -> W[Then];") && fixed.contains("L -> W[Else];"),
        "{fixed}"
    );
    for n in 1..=5 {
        let sizes = [("Ws".to_owned(), n)].into_iter().collect();
        let prog = chor_check::program::from_source_sized("t.chor", &fixed, vec![], &sizes);
        let errors: Vec<_> = prog.diagnostics.iter().filter(|d| d.is_error()).collect();
        assert!(errors.is_empty(), "size {n}: {errors:#?}");
        let koc = chor_project::check_choices(&prog);
        assert!(koc.is_empty(), "size {n}: {koc:#?}\n{fixed}");
    }
    // A member named as such (not by the round's variable) keeps its name.
    let literal = r#"choreography main(L, Ws[]) {
    for W in Ws {
        if L.(index(W) == 1) {
            L.(5) -> Ws[0].job;
        } else {
            Ws[0].print("skip");
        }
    }
}
"#;
    let d = koc(literal);
    let fixed = apply_fix(literal, d.first().expect("rejected"));
    assert!(fixed.contains("L -> Ws[0][Then];"), "{fixed}");
    // The role is the round's neighbour, which the statement names through the family, or
    // the round's member decides and the role is another member: `W` would be wrong.
    for src in [
        r#"choreography main(L, Ws[]) {
    for W in Ws {
        if L.(index(W) == 1) {
            L -> W[Go];
            Ws[(index(W) + 1) % size(Ws)].(1) -> W.v;
            W.print(v);
        } else {
            L -> W[Stop];
        }
    }
}
"#,
        r#"choreography main(L, Ws[]) {
    for W in Ws {
        if W.(index(W) == 1) {
            W.(1) -> Ws[(index(W) + 1) % size(Ws)].v;
        } else {
            W.print("no");
        }
    }
}
"#,
    ] {
        let d = koc(src);
        let first = d.first().expect("rejected");
        let help = first.help.clone().unwrap_or_default();
        assert!(!help.contains("-> W["), "{help}");
    }
}
