//! Diagram tests: for every example and every choreography in it, the SVG is well-formed XML
//! with one lifeline per role and one arrow per communication and per selection (counted on the
//! syntax tree, independently of the diagram builder); the SVG and Mermaid text of each
//! example's `main` are snapshots.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)] // tests read the examples from disk (the crate itself does no I/O)

use chor_check::program::from_source;
use chor_syntax::ast::{ChorBlock, ChorStmtKind, Item};
use chor_teach::{from_choreography, mermaid, svg};
use std::path::{Path, PathBuf};

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples/ exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "chor"))
        .collect();
    v.sort();
    v
}

/// (communication arrows, selection arrows) a block should produce: one per receiver.
fn count_messages(b: &ChorBlock) -> (usize, usize) {
    let mut n = (0, 0);
    for s in &b.stmts {
        let add = match &s.kind {
            // A sender in the receiving group keeps its value: no arrow to itself.
            ChorStmtKind::Comm { from, to, .. } => {
                (to.iter().filter(|r| r.role.name != from.name).count(), 0)
            }
            ChorStmtKind::Select { to, .. } => (0, to.len()),
            ChorStmtKind::If { then, els, .. } => {
                let a = count_messages(then);
                let b = els.as_ref().map_or((0, 0), count_messages);
                (a.0 + b.0, a.1 + b.1)
            }
            ChorStmtKind::For { body, .. } => count_messages(body),
            ChorStmtKind::Match { arms, .. } => arms
                .iter()
                .map(|a| count_messages(&a.body))
                .fold((0, 0), |x, y| (x.0 + y.0, x.1 + y.1)),
            _ => (0, 0),
        };
        n = (n.0 + add.0, n.1 + add.1);
    }
    n
}

fn count_class(doc: &roxmltree::Document<'_>, tag: &str, class: &str) -> usize {
    doc.descendants()
        .filter(|n| n.has_tag_name(tag) && n.attribute("class") == Some(class))
        .count()
}

#[test]
fn every_choreography_draws_as_well_formed_svg_with_its_roles_and_messages() {
    let mut checked = 0;
    for path in examples() {
        let src = std::fs::read_to_string(&path).expect("readable");
        let prog = from_source(&path.display().to_string(), &src, vec![]);
        let parsed = chor_syntax::parse(chor_diagnostics::FileId(0), &src);
        for item in parsed.file.iter() {
            let Item::Chor(c) = item else { continue };
            let d = from_choreography(&prog, &c.name.name).expect("the choreography exists");
            let text = svg::render(&d);
            let doc = roxmltree::Document::parse(&text)
                .unwrap_or_else(|e| panic!("{}: {} is not XML: {e}", path.display(), c.name.name));
            let root = doc.root_element();
            assert_eq!(root.tag_name().name(), "svg");
            assert_eq!(
                root.tag_name().namespace(),
                Some("http://www.w3.org/2000/svg")
            );
            let lifelines: Vec<&str> = doc
                .descendants()
                .filter(|n| n.attribute("class") == Some("lifeline"))
                .filter_map(|n| n.attribute("data-role"))
                .collect();
            let roles: Vec<&str> = c.roles.iter().map(|r| r.name.as_str()).collect();
            assert_eq!(lifelines, roles, "{}: {}", path.display(), c.name.name);
            let (comms, selects) = count_messages(&c.body);
            assert_eq!(
                count_class(&doc, "line", "comm"),
                comms,
                "{} {}",
                path.display(),
                c.name.name
            );
            assert_eq!(
                count_class(&doc, "line", "select"),
                selects,
                "{} {}",
                path.display(),
                c.name.name
            );
            for a in doc
                .descendants()
                .filter(|n| n.attribute("class") == Some("comm"))
            {
                for end in ["data-from", "data-to"] {
                    let r = a.attribute(end).unwrap_or("");
                    assert!(
                        roles.contains(&r),
                        "{end}={r} is not a role of {}",
                        c.name.name
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 14, "only {checked} choreographies checked");
}

#[test]
fn snapshots_of_every_example() {
    for path in examples() {
        let src = std::fs::read_to_string(&path).expect("readable");
        let prog = from_source(&path.display().to_string(), &src, vec![]);
        let d = from_choreography(&prog, "main").expect("every example has main");
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("x");
        insta::assert_snapshot!(format!("svg_{stem}"), svg::render(&d));
        insta::assert_snapshot!(format!("mermaid_{stem}"), mermaid::render(&d));
    }
}

#[test]
fn fragments_refs_and_labels() {
    let src = "choreography P(A, B)(n: Int@A) {
    if A.n > 0 {
        A -> B[More];
        A.n - 1 -> B.m;
        P(B, A)(B.m);
    } else if A.n == 0 {
        A -> B[Zero];
    } else {
        A -> B[Neg];
        B.print(\"neg\");
    }
}
choreography main(X, Y) {
    let X.k = 2;
    P(X, Y)(X.k);
}
";
    let prog = from_source("t.chor", src, vec![]);
    let d = from_choreography(&prog, "P").expect("P exists");
    let m = mermaid::render(&d);
    assert!(m.contains("alt A: n > 0"), "{m}");
    assert!(m.contains("else A: n == 0"), "{m}");
    assert!(m.contains("    else\n"), "{m}");
    assert!(m.contains("A-->>B: [More]"), "{m}");
    assert!(m.contains("A->>B: n - 1 → m"), "{m}");
    // P calls itself: the frame says that this is P's next round.
    assert!(
        m.contains("Note over A,B: ref ↻ next round: P(B, A)(B.m)"),
        "{m}"
    );
    // In `main` the same call is an ordinary frame.
    let main = mermaid::render(&from_choreography(&prog, "main").expect("main exists"));
    assert!(main.contains("Note over X,Y: ref P(X, Y)(X.k)"), "{main}");
    assert!(m.contains("Note over B: print(\"neg\")"), "{m}");
    let err = from_choreography(&prog, "Q").expect_err("no Q");
    assert!(err.contains("P, main"), "{err}");
}

#[test]
fn long_notes_and_values_wrap_instead_of_being_cut() {
    use chor_teach::diagram::{MAX_LABEL, MAX_LINES, RunEvent, from_run, wrap};
    // A run whose value is a long list: the end of the list (the answer) stays visible.
    let value = format!("{:?}", (1..=40).collect::<Vec<i64>>());
    let d = from_run(
        &["A".to_owned(), "B".to_owned()],
        &[RunEvent::Comm {
            from: "A".into(),
            to: "B".into(),
            value: value.clone(),
            var: Some("xs".into()),
        }],
    );
    let svg_text = svg::render(&d);
    let doc = roxmltree::Document::parse(&svg_text).expect("well-formed");
    let label: String = doc
        .descendants()
        .filter(|n| n.has_tag_name("tspan"))
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(label.ends_with("38, 39, 40]"), "{label}");
    assert!(!label.contains('…'), "{label}");
    let mermaid_text = mermaid::render(&d);
    assert!(mermaid_text.contains("39, 40]"), "{mermaid_text}");
    // Lines stay within the width, break after commas, and the text is kept in order.
    let w = wrap(&format!("xs = {value}"));
    assert!(w.lines().count() > 1);
    assert!(w.lines().all(|l| l.chars().count() <= MAX_LABEL), "{w}");
    assert_eq!(w.replace('\n', " "), format!("xs = {value}"));
    // Only a very long text is cut, after MAX_LINES lines.
    let huge = wrap(&"word ".repeat(200));
    assert_eq!(huge.lines().count(), MAX_LINES);
    assert!(huge.ends_with('…'));
}

#[test]
fn mermaid_title_of_a_procedure_has_no_stray_spaces() {
    let src = "choreography Pay(Buyer, Bank)(amount: Int@Buyer) -> Bool@Bank {\n    Buyer.amount -> Bank.a;\n    return Bank.(a > 0);\n}\nchoreography main(A, B) {\n    let B.ok = Pay(A, B)(A.(5));\n}\n";
    let prog = from_source("pay.chor", src, vec![]);
    let d = from_choreography(&prog, "Pay").expect("draws");
    let m = mermaid::render(&d);
    let title = m.lines().nth(1).expect("title line");
    assert!(!title.trim_start().contains("  "), "{title:?}");
    assert!(
        title
            .trim_start()
            .starts_with("title choreography Pay(Buyer, Bank)(amount"),
        "{title:?}"
    );
}

#[test]
fn a_program_that_fails_knowledge_of_choice_is_drawn_with_its_problems_marked() {
    use chor_teach::{Step, from_choreography_marked};
    let src = "choreography main(Buyer, Seller) {\n    let Buyer.budget = 100;\n    let Seller.price = 87;\n    Seller.price -> Buyer.price;\n    if Buyer.price <= budget {\n        Buyer.print(\"buying\");\n        Seller.print(\"sold\");\n    } else {\n        Buyer.print(\"too expensive\");\n    }\n}\n";
    let prog = from_source("buy.chor", src, vec![]);
    let koc = chor_project::check_choices(&prog);
    assert_eq!(koc.len(), 1, "{koc:?}");
    let d = from_choreography_marked(&prog, "main", &koc).expect("draws");
    // The decision's problem comes just before its fragment, at the deciding role.
    let at = d
        .steps
        .iter()
        .position(|s| matches!(s, Step::Fragment { .. }))
        .expect("a fragment");
    assert!(
        matches!(&d.steps[at - 1], Step::Problem { role, text } if role == "Buyer" && text.starts_with("E0501")),
        "{:?}",
        d.steps[at - 1]
    );
    // The diverging action is followed by its problem, at Seller, inside the first section.
    let Step::Fragment { sections, .. } = &d.steps[at] else {
        unreachable!()
    };
    let then = &sections[0].steps;
    assert!(
        matches!(then.last(), Some(Step::Problem { role, text }) if role == "Seller" && text.replace('\n', " ").contains("in one branch only")),
        "{then:?}"
    );
    assert!(
        !sections[1]
            .steps
            .iter()
            .any(|s| matches!(s, Step::Problem { .. }))
    );
    let svg_text = svg::render(&d);
    let doc = roxmltree::Document::parse(&svg_text).expect("well-formed");
    assert_eq!(count_class(&doc, "rect", "problem"), 2);
    // Without problems, the same diagram as before.
    assert_eq!(
        from_choreography_marked(&prog, "main", &[]).expect("draws"),
        from_choreography(&prog, "main").expect("draws")
    );
}

#[test]
fn rounds_of_a_recursive_procedure_are_marked_in_a_run() {
    use chor_teach::diagram::{RunEvent, from_run};
    let roles = ["A".to_owned(), "B".to_owned()];
    let comm = |v: &str| RunEvent::Comm {
        from: "A".into(),
        to: "B".into(),
        value: v.into(),
        var: Some("x".into()),
    };
    let d = from_run(
        &roles,
        &[
            comm("1"),
            RunEvent::Round {
                chor: "Loop".into(),
                round: 2,
                roles: roles.to_vec(),
            },
            comm("2"),
        ],
    );
    let m = mermaid::render(&d);
    let marker = m.find("ref ↻ Loop: round 2").expect("the round is marked");
    assert!(m.find("x = 1").is_some_and(|i| i < marker), "{m}");
    assert!(m.find("x = 2").is_some_and(|i| i > marker), "{m}");
    let s = svg::render(&d);
    roxmltree::Document::parse(&s).expect("well-formed");
    assert!(s.contains("↻ Loop: round 2"), "{s}");
}

#[test]
fn a_group_decision_is_one_fragment_over_the_group() {
    use chor_teach::{Step, from_choreography};
    let src = "choreography main(A, B, C) {\n    A.1 -> (A, C).n;\n    if (A, C).n > 0 {\n        A.print(\"a\");\n        C.print(\"c\");\n    }\n    B.print(\"b\");\n}\n";
    let prog = from_source("group.chor", src, vec![]);
    assert!(chor_project::check_choices(&prog).is_empty());
    let d = from_choreography(&prog, "main").expect("draws");
    // A keeps its value: one arrow, to C, and a note at A.
    let arrows: Vec<(&str, &str)> = d
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Message { from, to, .. } => Some((from.as_str(), to.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(arrows, vec![("A", "C")]);
    let frags: Vec<&Step> = d
        .steps
        .iter()
        .filter(|s| matches!(s, Step::Fragment { .. }))
        .collect();
    assert_eq!(frags.len(), 1);
    let Step::Fragment {
        operator,
        role,
        also,
        sections,
    } = frags[0]
    else {
        unreachable!()
    };
    assert_eq!((operator.as_str(), role.as_str()), ("opt", "A"));
    assert_eq!(also, &vec!["C".to_owned()]);
    assert_eq!(sections[0].guard, "(A, C): n > 0");
    // The frame spans the group's lifelines, A to C, even where only A acts inside.
    let text = svg::render(&d);
    assert!(text.contains("(A, C): n &gt; 0"), "{text}");
}

#[test]
fn a_conditional_expression_draws_its_yields_and_where_they_are_bound() {
    use chor_teach::{Step, from_choreography};
    let src = "choreography main(A, B, C) {\n    let A.ok = true;\n    let (B.x, C.y) = if A.ok {\n        A -> B[Yes];\n        (B.(1), C.(0))\n    } else {\n        A -> B[No];\n        (B.(2), C.(0))\n    };\n    B.print(x);\n    C.print(y);\n}\n";
    let prog = from_source("cond.chor", src, vec![]);
    assert!(chor_project::check_choices(&prog).is_empty());
    let d = from_choreography(&prog, "main").expect("draws");
    let Some(Step::Fragment { sections, .. }) =
        d.steps.iter().find(|s| matches!(s, Step::Fragment { .. }))
    else {
        panic!("an alt fragment: {:?}", d.steps)
    };
    let notes = |steps: &[Step]| -> Vec<(String, String)> {
        steps
            .iter()
            .filter_map(|s| match s {
                Step::Note { role, text } => Some((role.clone(), text.clone())),
                _ => None,
            })
            .collect()
    };
    // Each branch yields at B and C: a note on each lifeline.
    assert_eq!(
        notes(&sections[1].steps),
        vec![
            ("B".into(), "yield 2".into()),
            ("C".into(), "yield 0".into())
        ]
    );
    // After the fragment, each target is bound at its role.
    let after = notes(&d.steps);
    assert!(
        after.contains(&("B".into(), "let x = the value yielded".into())),
        "{after:?}"
    );
    assert!(
        after.contains(&("C".into(), "let y = the value yielded".into())),
        "{after:?}"
    );
}
