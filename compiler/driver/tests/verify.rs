//! `chor verify`: the independent checker finds nothing on the projections of every example and
//! of generated programs, and finds the bug, of the right kind and with a trace, in projections
//! broken on purpose (a dropped selection, a changed label, swapped messages, a dropped receive,
//! receives reordered around a send).

mod common;

use chor_check::program::from_source;
use chor_project::{LKind, LStmt, LocalProgram};
use chor_verify::{Kind, Options, Report};

/// The projections of `main`, and the options of `chor verify` for the program (its
/// functions and variants, from which the verifier decides what is pure).
fn project(name: &str, src: &str) -> (Vec<LocalProgram>, Options) {
    let prog = from_source(name, src, vec![]);
    let errors: Vec<_> = prog.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{name}: {errors:?}\n{src}");
    let locals = chor_driver::projections(&prog).unwrap_or_else(|d| panic!("{name}: {d:?}"));
    (locals, chor_driver::verify_options(&prog, None))
}

fn verify(locals: &[LocalProgram], opts: &Options) -> Report {
    chor_verify::verify(locals, opts).expect("projection output is well-formed")
}

/// `verify`, at a smaller call depth while the state limit stops the search before any
/// finding (as `verify_generated` does): tracking values for a group's decisions keeps apart
/// runs that differ in those values, so a few programs need it.
fn verify_complete(locals: &[LocalProgram], opts: &Options) -> Report {
    let mut opts = opts.clone();
    let mut r = verify(locals, &opts);
    while !r.complete && r.finding_count() == 0 && opts.depth > 1 {
        opts.depth -= 1;
        r = verify(locals, &opts);
    }
    r
}

fn show(r: &Report) -> String {
    r.render(&|s| format!("@{}", s.start))
}

fn examples() -> Vec<(String, Vec<LocalProgram>, Options)> {
    common::examples()
        .into_iter()
        .map(|p| {
            let src = std::fs::read_to_string(&p).expect("readable");
            let name = p.display().to_string();
            let (locals, opts) = project(&name, &src);
            (name, locals, opts)
        })
        .collect()
}

#[test]
fn every_example_verifies() {
    let all = examples();
    assert!(all.len() >= 8, "found {} examples", all.len());
    for (name, locals, opts) in all {
        let r = verify(&locals, &opts);
        assert!(r.ok(), "{name}:\n{}", show(&r));
        assert!(r.states > 1 && r.transitions >= r.states - 1, "{name}");
        eprintln!(
            "{name}: {} states, {} transitions, {} cut",
            r.states, r.transitions, r.cut
        );
    }
}

/// How many generated programs to verify (override with CHOR_VERIFY_CASES).
fn cases(default: u64) -> u64 {
    common::env_count("CHOR_VERIFY_CASES", default)
}

/// Verifies the generated programs of `seeds`: none may have a finding. A program whose state
/// space outgrows the limit even at call depth 1 (many roles acting independently) is counted;
/// at most four in a hundred may be, and only without a finding in what was explored. (Before
/// the verifier followed values for the decisions of groups, one in a hundred; programs with
/// many such decisions now keep apart runs that differ in the values decided on: 31 of the
/// first 1,000 outgrow the limit at depth 1.)
fn verify_generated(seeds: std::ops::Range<u64>) -> usize {
    let n = seeds.end - seeds.start;
    // The programs are independent: the seeds are shared out among threads (each program
    // is explored on one), so that this test, the longest of the suite, uses every CPU.
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get().min(4)) as u64;
    let outcomes: Vec<(u64, Outcome)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let seeds = seeds.clone();
                s.spawn(move || {
                    seeds
                        .skip(t as usize)
                        .step_by(threads as usize)
                        .map(|seed| (seed, verify_one(seed)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a verifying thread"))
            .collect()
    });
    let mut states = 0;
    let mut incomplete = Vec::new();
    for (seed, outcome) in outcomes {
        match outcome {
            Ok((s, complete)) => {
                states += s;
                if !complete {
                    incomplete.push(seed);
                }
            }
            Err(finding) => panic!("{finding}"),
        }
    }
    incomplete.sort_unstable();
    assert!(
        incomplete.len() as u64 * 100 <= 4 * n,
        "{} of {n} programs outgrew the state limit: seeds {incomplete:?}",
        incomplete.len()
    );
    eprintln!(
        "{} of {n} programs outgrew the state limit (no finding in what was explored): {incomplete:?}",
        incomplete.len()
    );
    states
}

/// What verifying one generated program gave: its states and whether the exploration was
/// complete, or the finding (with the program) as an error.
type Outcome = Result<(usize, bool), String>;

/// Verifies the generated program of `seed`.
fn verify_one(seed: u64) -> Outcome {
    let src = common::generate::program(seed);
    let (locals, base) = project("gen.chor", &src);
    let mut r = verify(&locals, &base);
    // A program with many procedures can outgrow the state limit at the default call depth
    // before any finding; then every interleaving is explored at a smaller depth (fewer
    // nested calls of one procedure), the largest that completes. Depth 1 is tried first: a
    // program that outgrows the limit even there is not explored again at every depth in
    // between (each a million states, most of this test's time).
    let at = |depth: usize| {
        let opts = Options {
            depth,
            ..base.clone()
        };
        chor_verify::verify(&locals, &opts).expect("projection output is well-formed")
    };
    if !r.complete && r.finding_count() == 0 && r.depth > 1 {
        let shallowest = at(1);
        if shallowest.complete && shallowest.finding_count() == 0 {
            let mut depth = r.depth - 1;
            while !r.complete && r.finding_count() == 0 && depth > 1 {
                r = at(depth);
                depth -= 1;
            }
            if !r.complete && r.finding_count() == 0 {
                r = shallowest;
            }
        } else {
            r = shallowest;
        }
    }
    if r.finding_count() != 0 {
        return Err(format!("seed {seed}:\n{}\n{src}", show(&r)));
    }
    Ok((r.states, r.complete))
}

#[test]
fn generated_programs_verify() {
    let n = cases(1000);
    let states = verify_generated(0..n);
    eprintln!("verify: {n} generated programs, {states} states in all, 0 findings");
}

#[test]
#[ignore = "long run: cargo test -p chor --test verify -- --ignored"]
fn many_generated_programs_verify() {
    let n = cases(20_000);
    let states = verify_generated(1000..1000 + n);
    eprintln!("verify: {n} generated programs, {states} states in all, 0 findings");
}

// ---- mutations -------------------------------------------------------------------------

/// An edit at position `i` of a statement list: with `apply` false it only says whether it
/// applies there.
type Edit = dyn Fn(&mut Vec<LStmt>, usize, bool) -> bool;

/// Children statement lists of a statement.
fn children(s: &mut LStmt) -> Vec<&mut Vec<LStmt>> {
    match &mut s.kind {
        LKind::Branch { arms, .. } => arms.iter_mut().map(|(_, b)| b).collect(),
        LKind::If { then, els, .. } => vec![then, els],
        LKind::Match { arms, .. } => arms.iter_mut().map(|(_, b)| b).collect(),
        LKind::Block(b) | LKind::Bind { body: b, .. } => vec![b],
        _ => Vec::new(),
    }
}

/// Apply the edit at its `n`-th place in the list or inside it; true when it was applied.
fn edit_list(list: &mut Vec<LStmt>, edit: &Edit, n: usize, count: &mut usize) -> bool {
    for i in 0..list.len() {
        if edit(list, i, false) {
            if *count == n {
                return edit(list, i, true);
            }
            *count += 1;
        }
        if let Some(s) = list.get_mut(i) {
            for c in children(s) {
                if edit_list(c, edit, n, count) {
                    return true;
                }
            }
        }
    }
    false
}

/// The programs with the edit applied at its `n`-th place (counting over every role and
/// procedure), or None when it has fewer places.
fn mutate(locals: &[LocalProgram], edit: &Edit, n: usize) -> Option<Vec<LocalProgram>> {
    let mut out = locals.to_vec();
    let mut count = 0;
    for l in &mut out {
        for p in l.procs.values_mut() {
            if edit_list(&mut p.body, edit, n, &mut count) {
                return Some(out);
            }
        }
    }
    None
}

/// Every mutant of `locals` under `edit`.
fn mutants(locals: &[LocalProgram], edit: &Edit) -> Vec<Vec<LocalProgram>> {
    (0..).map_while(|n| mutate(locals, edit, n)).collect()
}

fn drop_select(l: &mut Vec<LStmt>, i: usize, apply: bool) -> bool {
    let hit = matches!(l[i].kind, LKind::Select { .. });
    if hit && apply {
        l.remove(i);
    }
    hit
}

#[allow(clippy::ptr_arg)] // the signature every edit shares; some remove statements
fn rename_label(l: &mut Vec<LStmt>, i: usize, apply: bool) -> bool {
    match &mut l[i].kind {
        LKind::Select { label, .. } => {
            if apply {
                *label = format!("{label}Mutated");
            }
            true
        }
        _ => false,
    }
}

fn drop_recv(l: &mut Vec<LStmt>, i: usize, apply: bool) -> bool {
    let hit = matches!(l[i].kind, LKind::Recv { .. });
    if hit && apply {
        l.remove(i);
    }
    hit
}

fn drop_send(l: &mut Vec<LStmt>, i: usize, apply: bool) -> bool {
    let hit = matches!(l[i].kind, LKind::Send { .. });
    if hit && apply {
        l.remove(i);
    }
    hit
}

/// The roles a message statement goes to.
fn targets(s: &LStmt) -> &[String] {
    match &s.kind {
        LKind::Send { to, .. } | LKind::Select { to, .. } => to,
        _ => &[],
    }
}

/// A selection and the next statement, a value sent to one of the same roles, swap places:
/// that role now gets the value where it waits for the label.
#[allow(clippy::ptr_arg)] // the signature every edit shares; some remove statements
fn swap_select_and_send(l: &mut Vec<LStmt>, i: usize, apply: bool) -> bool {
    let hit = i + 1 < l.len()
        && matches!(l[i].kind, LKind::Select { .. })
        && matches!(l[i + 1].kind, LKind::Send { .. })
        && targets(&l[i])
            .iter()
            .any(|t| targets(&l[i + 1]).contains(t));
    if hit && apply {
        l.swap(i, i + 1);
    }
    hit
}

/// How many generated programs the mutation tests break, and how deep they explore them.
const MUTATED_SEEDS: u64 = 12;
const GENERATED_DEPTH: usize = 4;

fn summary(r: &Report) -> Vec<Kind> {
    r.findings.iter().map(|f| f.kind).collect()
}

/// Check every mutant of every example and of some generated programs: each has a finding of
/// one of `kinds`, with a trace that names source lines. Returns how many mutants were checked.
///
/// Generated programs rotate roles through nested recursive procedures, so a role reaches some
/// of its positions in a procedure only a few calls deep: they are explored to a depth that
/// reaches every position (a mutant beyond the bound could not be seen).
fn all_mutants_caught(edit: &Edit, kinds: &[Kind]) -> usize {
    let mut programs: Vec<(String, Vec<LocalProgram>, Options)> = examples();
    for seed in 0..MUTATED_SEEDS {
        let src = common::generate::program(seed);
        let (locals, opts) = project("gen.chor", &src);
        let opts = Options {
            depth: GENERATED_DEPTH,
            ..opts
        };
        programs.push((format!("seed {seed}"), locals, opts));
    }
    let mut checked = 0;
    for (name, locals, opts) in programs {
        for (k, m) in mutants(&locals, edit).into_iter().enumerate() {
            // A mutant of a program with many interleavings (the chat's nested rounds) may
            // fill the state limit before its fault shows: search it completely at a smaller
            // depth, as the generated programs are.
            let r = verify_complete(&m, &opts);
            assert!(
                r.findings.iter().any(|f| kinds.contains(&f.kind)),
                "{name}, mutant {k}: expected one of {kinds:?}, got {:?}\n{}",
                summary(&r),
                show(&r)
            );
            for f in &r.findings {
                assert!(
                    f.at.iter()
                        .chain(&f.trace)
                        .all(|a| a.span.is_some() || a.text == "has finished"),
                    "{name}: a step without a source line\n{}",
                    show(&r)
                );
            }
            checked += 1;
        }
    }
    eprintln!("{checked} mutants, each caught as one of {kinds:?}");
    checked
}

#[test]
fn a_dropped_selection_is_caught() {
    let n = all_mutants_caught(
        &drop_select,
        &[Kind::UnexpectedMessage, Kind::Deadlock, Kind::OrphanMessage],
    );
    assert!(n > 50, "{n} mutants");
}

#[test]
fn a_changed_label_is_an_unexpected_message() {
    let n = all_mutants_caught(&rename_label, &[Kind::UnexpectedMessage]);
    assert!(n > 50, "{n} mutants");
}

#[test]
fn a_selection_swapped_with_a_send_is_an_unexpected_message() {
    let n = all_mutants_caught(&swap_select_and_send, &[Kind::UnexpectedMessage]);
    assert!(n > 10, "{n} mutants");
}

#[test]
fn a_dropped_receive_is_caught() {
    // A dropped receive of a value a group then decides on (card_game's agreed choice) is
    // found as that disagreement, the first thing to go wrong: the member decides on a value
    // it never received.
    let n = all_mutants_caught(
        &drop_recv,
        &[
            Kind::OrphanMessage,
            Kind::UnexpectedMessage,
            Kind::Deadlock,
            Kind::Disagreement,
        ],
    );
    assert!(n > 100, "{n} mutants");
}

#[test]
fn a_dropped_send_is_caught() {
    let n = all_mutants_caught(
        &drop_send,
        &[Kind::Deadlock, Kind::UnexpectedMessage, Kind::OrphanMessage],
    );
    assert!(n > 100, "{n} mutants");
}

const RING: &str = r#"
choreography main(A, B, C) {
    A.1 -> B.x;
    B.x -> C.y;
    C.(y + 1) -> B.z;
    B.print(to_string(z));
}
"#;

fn role_body(locals: &mut [LocalProgram], role: &str) -> Vec<LStmt> {
    let l = locals
        .iter_mut()
        .find(|l| l.role == role)
        .expect("role exists");
    let entry = l.entry.clone();
    l.procs.get_mut(&entry).expect("entry").body.clone()
}

fn set_role_body(locals: &mut [LocalProgram], role: &str, body: Vec<LStmt>) {
    let l = locals
        .iter_mut()
        .find(|l| l.role == role)
        .expect("role exists");
    let entry = l.entry.clone();
    l.procs.get_mut(&entry).expect("entry").body = body;
}

fn positions(body: &[LStmt], pred: fn(&LKind) -> bool) -> Vec<usize> {
    (0..body.len()).filter(|&i| pred(&body[i].kind)).collect()
}

#[test]
fn receives_reordered_around_a_send_deadlock_with_a_trace() {
    let (mut locals, opts) = project("ring.chor", RING);
    assert!(verify(&locals, &opts).ok());
    // B: recv x <- A; send x -> C; recv z <- C. Receiving from C first waits for C, which
    // waits for B's send.
    let mut body = role_body(&mut locals, "B");
    let recvs = positions(&body, |k| matches!(k, LKind::Recv { .. }));
    assert_eq!(recvs.len(), 2, "{body:?}");
    body.swap(recvs[0], recvs[1]);
    set_role_body(&mut locals, "B", body);
    let r = verify(&locals, &opts);
    assert_eq!(summary(&r), vec![Kind::Deadlock], "{}", show(&r));
    let f = &r.findings[0];
    let waiting: Vec<(&str, &str)> =
        f.at.iter()
            .map(|a| (a.role.as_str(), a.text.as_str()))
            .collect();
    assert_eq!(
        waiting,
        vec![
            ("B", "waits for a value from C"),
            ("C", "waits for a value from B"),
            ("A", "has finished"),
        ]
    );
    // A's send is the only thing that could happen first.
    assert_eq!(f.trace.len(), 1);
    assert_eq!(
        (f.trace[0].role.as_str(), f.trace[0].text.as_str()),
        ("A", "sends a value to B")
    );
    let text = r.render(&|s| {
        let (line, _) = chor_diagnostics::line_col(RING, s.start);
        format!("ring.chor:{line}")
    });
    assert!(
        text.contains("B waits for a value from C (ring.chor:5)"),
        "{text}"
    );
    assert!(
        text.contains("1. A sends a value to B (ring.chor:3)"),
        "{text}"
    );
}

#[test]
fn adjacent_receives_from_different_senders_may_swap() {
    // With asynchronous channels, the order of two receives in a row never matters: no false
    // alarm on any such swap in the examples or generated programs.
    #[allow(clippy::ptr_arg)] // the signature every edit shares; some remove statements
    fn swap_recvs(l: &mut Vec<LStmt>, i: usize, apply: bool) -> bool {
        let hit = i + 1 < l.len()
            && match (&l[i].kind, &l[i + 1].kind) {
                // Receives into one name are not swapped: that changes which value the
                // name holds afterwards (which the verifier follows for group decisions).
                (
                    LKind::Recv {
                        from: a, var: x, ..
                    },
                    LKind::Recv {
                        from: b, var: y, ..
                    },
                ) => a != b && x != y,
                _ => false,
            };
        if hit && apply {
            l.swap(i, i + 1);
        }
        hit
    }
    let mut programs = examples();
    for seed in 0..60 {
        let src = common::generate::program(seed);
        let (locals, opts) = project("gen.chor", &src);
        programs.push((format!("seed {seed}"), locals, opts));
    }
    let mut checked = 0;
    for (name, locals, opts) in programs {
        for m in mutants(&locals, &swap_recvs) {
            let r = verify_complete(&m, &opts);
            assert!(r.ok(), "{name}:\n{}", show(&r));
            checked += 1;
        }
    }
    assert!(checked > 10, "{checked}");
}

#[test]
fn a_send_moved_after_a_receive_deadlocks() {
    // A: send -> B; recv <- B. Swapping them makes both roles wait for each other.
    let src = r#"
choreography main(A, B) {
    A.1 -> B.x;
    B.(x + 1) -> A.y;
    A.print(to_string(y));
}
"#;
    let (mut locals, opts) = project("swap.chor", src);
    let mut body = role_body(&mut locals, "A");
    let s = positions(&body, |k| matches!(k, LKind::Send { .. }))[0];
    let r = positions(&body, |k| matches!(k, LKind::Recv { .. }))[0];
    body.swap(s, r);
    set_role_body(&mut locals, "A", body);
    let rep = verify(&locals, &opts);
    assert_eq!(summary(&rep), vec![Kind::Deadlock], "{}", show(&rep));
    assert!(rep.findings[0].trace.is_empty());
}

#[test]
fn the_command_prints_states_and_exits_by_findings() {
    let ok = std::process::Command::new(env!("CARGO_BIN_EXE_chor"))
        .args(["verify", "../../examples/two_buyer.chor"])
        .output()
        .expect("runs");
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{out}");
    assert!(
        out.starts_with("verified: ") && out.contains(" states, "),
        "{out}"
    );
    assert!(out.contains(", 0 findings"), "{out}");

    let deeper = std::process::Command::new(env!("CARGO_BIN_EXE_chor"))
        .args(["verify", "../../examples/merge_sort.chor", "--depth", "1"])
        .output()
        .expect("runs");
    let out1 = String::from_utf8_lossy(&deeper.stdout);
    assert!(deeper.status.success(), "{out1}");
    assert!(out1.contains("cut at recursion depth 1"), "{out1}");

    // A program the checks reject is reported as by `chor check`, with exit 1.
    let dir = std::env::temp_dir().join(format!("chor-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let bad = dir.join("bad.chor");
    std::fs::write(&bad, "choreography main(A, B) { A.x -> B.y; }\n").expect("write");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_chor"))
        .arg("verify")
        .arg(&bad)
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("error"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Early `return` inside a branch (several shapes), with the branch that returns taken.
const EARLY_RETURNS: &[&str] = &[
    r#"
choreography Pick(A, B)(n: Int@A) -> Int@A {
    if A.n > 0 {
        A -> B[Pos];
        return A.n;
    } else {
        A -> B[Neg];
    }
    A.n -> B.m;
    B.(m + 1) -> A.k;
    return A.k;
}
choreography main(A, B) {
    let A.r = Pick(A, B)(A.5);
    A.print(to_string(r));
}
"#,
    r#"
choreography Pick(A, B)(n: Int@A) -> Int@A {
    if A.n > 0 {
        A -> B[Pos];
        return A.n;
    }
    A -> B[Neg];
    A.n -> B.m;
    return A.n;
}
choreography main(A, B) {
    let A.r = Pick(A, B)(A.5);
    A.print(to_string(r));
}
"#,
    r#"
choreography Pick(A, B, C)(o: Option<Int>@A) -> Int@A {
    match A.o {
        Some(v) => {
            A -> B, C[Got];
            return A.v;
        },
        None => {
            A -> B, C[Nothing];
        },
    }
    A.0 -> C.z;
    C.z -> B.w;
    return A.1;
}
choreography main(A, B, C) {
    let A.r = Pick(A, B, C)(A.Some(3));
    A.print(to_string(r));
}
"#,
];

#[test]
fn a_projected_run_that_gets_stuck_is_a_finding() {
    // Cross-check with the projected interpreter: whenever the checks accept a program whose
    // projected run fails, the verifier reports it (it explores the run's path among others).
    let mut accepted = 0;
    for (i, src) in EARLY_RETURNS.iter().enumerate() {
        let prog = from_source("early.chor", src, vec![]);
        if prog.diagnostics.iter().any(|d| d.is_error())
            || !chor_project::check_choices(&prog).is_empty()
        {
            continue;
        }
        let Ok(locals) = chor_driver::projections(&prog) else {
            continue;
        };
        accepted += 1;
        let r = verify(&locals, &chor_driver::verify_options(&prog, None));
        let (_, run) =
            chor_driver::run_projected_capture(&prog, vec![], std::time::Duration::from_secs(2))
                .expect("projects");
        eprintln!("program {i}: run {run:?}; findings {:?}", summary(&r));
        if run.is_err() {
            assert!(
                !r.ok(),
                "program {i}: the run failed ({run:?}) but\n{}",
                show(&r)
            );
        }
        if r.ok() {
            assert_eq!(run, Ok(()), "program {i}");
        }
    }
    eprintln!(
        "{accepted} of {} early-return programs accepted",
        EARLY_RETURNS.len()
    );
}

/// Generated family programs (section 10: broadcasts, gathers, rounds, member expressions,
/// decisions at members, conditionals that yield at every member, procedures over the family)
/// at sizes 1 to 3: the explorer finds nothing in any of them.
#[test]
fn generated_family_programs_verify_clean() {
    let mut explored = 0;
    for seed in 0..cases(20) {
        let src = common::generate::family_program(seed);
        for n in 1..=3 {
            let sizes: chor_check::families::Sizes = [("Ws".to_owned(), n)].into_iter().collect();
            let prog = chor_check::program::from_source_sized("gen.chor", &src, vec![], &sizes);
            let errors: Vec<_> = prog.diagnostics.iter().filter(|d| d.is_error()).collect();
            assert!(errors.is_empty(), "seed {seed} size {n}: {errors:?}\n{src}");
            let locals = chor_driver::projections(&prog)
                .unwrap_or_else(|d| panic!("seed {seed} size {n}: {d:?}"));
            let r = verify_complete(&locals, &chor_driver::verify_options(&prog, None));
            assert_eq!(
                r.finding_count(),
                0,
                "seed {seed} size {n}:\n{}\n{src}",
                show(&r)
            );
            explored += usize::from(r.complete);
        }
    }
    // Most are explored completely (a few may outgrow the state limit at size 3).
    assert!(
        explored * 10 >= cases(20) as usize * 3 * 8,
        "only {explored} complete"
    );
}

/// Members of a group decide on values that the checker says are agreed; the verifier checks
/// that on its own (it reads the functions' source to know what is pure).
const AGREED: &str = r#"
fn twice(n: Int) -> Int { helper(n) + n }
fn helper(n: Int) -> Int { if n > 0 { n } else { 0 - n } }
choreography main(A, B, C) {
    A.io::read_line() -> (B, C).line;
    let (B, C).k = string::len(line);
    A.string::len(line) + 1 -> B.other;
    let (B, C).j = twice(k);
    if (B, C).j > 3 {
        B -> A[Hi];
        B.print(other);
    } else {
        B -> A[Lo];
    }
}
"#;

fn agreed_program() -> (Vec<LocalProgram>, Options) {
    let prog = from_source("agreed.chor", AGREED, vec![]);
    let errors: Vec<_> = prog.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let locals = chor_driver::projections(&prog).expect("projects");
    (locals, chor_driver::verify_options(&prog, None))
}

fn disagreements(r: &Report) -> usize {
    summary(r)
        .iter()
        .filter(|k| **k == Kind::Disagreement)
        .count()
}

#[test]
fn agreed_values_are_established_by_the_verifier_from_the_functions_source() {
    let (locals, opts) = agreed_program();
    let r = chor_verify::verify(&locals, &opts).expect("well-formed");
    assert!(r.ok(), "{}", show(&r));
    // Without the program's functions, `twice` is a function it knows nothing of: its
    // results are not taken as equal.
    let r = chor_verify::verify(&locals, &Options::default()).expect("well-formed");
    assert_eq!(disagreements(&r), 1, "{}", show(&r));
}

#[test]
fn a_member_that_holds_another_value_under_the_agreed_name_is_found() {
    // As if the checker had missed that B's `k` is rebound by a message of its own: B's
    // receive of `other` is renamed to `k`, after `k` was agreed and before `j` is computed.
    let (mut locals, opts) = agreed_program();
    let mut body = role_body(&mut locals, "B");
    let at = positions(
        &body,
        |k| matches!(k, LKind::Recv { var, .. } if var == "other"),
    );
    assert_eq!(at.len(), 1, "{body:?}");
    if let LKind::Recv { var, .. } = &mut body[at[0]].kind {
        *var = "k".to_owned();
    }
    set_role_body(&mut locals, "B", body);
    let r = chor_verify::verify(&locals, &opts).expect("well-formed");
    assert_eq!(disagreements(&r), 1, "{}", show(&r));
    let f = &r.findings[0];
    assert!(
        f.summary.contains("may take different branches"),
        "{}",
        show(&r)
    );
    // The trace leads there: A's sends and the members' receives.
    assert!(
        f.trace
            .iter()
            .any(|t| t.role == "A" && t.text.contains("sends"))
    );
}

#[test]
fn a_member_that_computes_the_agreed_value_otherwise_is_found() {
    // As if C computed `j` from its own copy: its `let j = twice(k)` becomes `twice(k + 0)`
    // (the same number, but not one the verifier can show equal: it would rather reject a
    // correct program than accept a wrong one), and then a read of input.
    for replacement in ["twice(k + 0)", "twice(string::len(io::read_line()))"] {
        let (mut locals, opts) = agreed_program();
        let mut body = role_body(&mut locals, "C");
        let at = positions(&body, |k| {
            matches!(k, LKind::Let { pat, .. }
                if matches!(&pat.kind, chor_syntax::ast::PatternKind::Ident(i) if i.name == "j"))
        });
        assert_eq!(at.len(), 1);
        let src = format!("fn f() -> Int {{ {replacement} }}");
        let parsed = chor_syntax::parse::parse(chor_diagnostics::FileId(0), &src);
        let Some(chor_syntax::ast::Item::Fn(f)) = parsed.file.items.first().map(|i| &**i) else {
            panic!("parses");
        };
        let Some(chor_syntax::ast::ExprKind::Block(b)) = f.body.as_ref().map(|e| &e.kind) else {
            panic!("a block");
        };
        if let LKind::Let { value, .. } = &mut body[at[0]].kind {
            *value = (**b.tail.as_ref().expect("tail")).clone();
        }
        set_role_body(&mut locals, "C", body);
        let r = chor_verify::verify(&locals, &opts).expect("well-formed");
        assert_eq!(disagreements(&r), 1, "{replacement}: {}", show(&r));
    }
}
