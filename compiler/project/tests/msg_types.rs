//! Every receive carries the static type of its value: the types the checker records for the
//! comms, instantiated and recursive types included, and merging only receives that agree.

use chor_check::program::from_source;
use chor_project::{LKind, LStmt, project_program};

/// The type of every receive of role `role`, as written, in program order.
fn recv_types(src: &str, role: &str) -> Vec<String> {
    let prog = from_source("t.chor", src, vec![]);
    let locals = project_program(&prog, "main").expect("projects");
    let lp = locals.iter().find(|l| l.role == role).expect("role");
    let mut out = Vec::new();
    for p in lp.procs.values() {
        collect(&p.body, &mut out);
    }
    out
}

fn collect(stmts: &[LStmt], out: &mut Vec<String>) {
    for s in stmts {
        match &s.kind {
            LKind::Recv { ty, .. } => out.push(ty.show()),
            LKind::Branch { arms, .. } => arms.iter().for_each(|(_, b)| collect(b, out)),
            LKind::If { then, els, .. } => {
                collect(then, out);
                collect(els, out);
            }
            LKind::Match { arms, .. } => arms.iter().for_each(|(_, b)| collect(b, out)),
            LKind::Block(b) => collect(b, out),
            _ => {}
        }
    }
}

#[test]
fn receives_know_their_types() {
    let src = r#"
struct Pair<T> { a: T, b: Int }
enum Tree { Leaf, Node(Tree, Int, Tree) }
choreography main(A, B) {
    let A.xs = [1, 2];
    A.xs -> B.xs;
    A.(1, "s", true) -> B.t;
    A.Some(Pair { a: "x", b: 2 }) -> B.o;
    A.Node(Leaf, 1, Leaf) -> B.tree;
    A.[] -> B.empty;
    let A.m = map::insert(map::new(), "k", 1.5);
    A.m -> B.m;
    B.print(list::len(empty));
}
"#;
    assert_eq!(
        recv_types(src, "B"),
        [
            "List<Int>",
            "(Int, String, Bool)",
            "Option<Pair<String>>",
            "Tree",
            "List<_>",
            "Map<String, Float>",
        ]
    );
}

#[test]
fn receives_of_different_types_do_not_merge() {
    // B cannot know which branch A took, so it cannot know what type to expect.
    let src = r#"
choreography main(A, B) {
    let A.c = true;
    if A.c {
        A.1 -> B.x;
    } else {
        A."one" -> B.x;
    }
    B.print(x);
}
"#;
    let prog = from_source("t.chor", src, vec![]);
    let d = project_program(&prog, "main").expect_err("does not merge");
    assert!(!d.is_empty());
    // The same receive of the same type merges.
    let same = src.replace("A.\"one\"", "A.2");
    let prog = from_source("t.chor", &same, vec![]);
    assert!(project_program(&prog, "main").is_ok());
}
