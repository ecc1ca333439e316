//! Families of roles across sizes and back ends: the examples with families give the same
//! output, role by role, in `simulate` and in the projected run at several sizes (a ring of
//! one included); the native and interpreted executables agree with `simulate`; `--size` and
//! the deployment file's lists reject bad input with errors that name the family and member.

mod common;

use common::chor;

use chor_check::Program;
use chor_check::families::Sizes;
use chor_check::program::from_source_sized;
use common::by_role;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn example(name: &str) -> (String, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(format!("{name}.chor"));
    let src = std::fs::read_to_string(&path).expect("readable example");
    (path.display().to_string(), src)
}

fn sizes(pairs: &[(&str, usize)]) -> Sizes {
    pairs.iter().map(|(f, n)| ((*f).to_owned(), *n)).collect()
}

/// Simulate and the projected run at `sz`: both succeed and print the same, role by role.
fn agree(name: &str, sz: &Sizes) -> BTreeMap<String, Vec<String>> {
    let (path, src) = example(name);
    let prog = from_source_sized(&path, &src, vec![], sz);
    let errors: Vec<_> = prog.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{name} at {sz:?}: {errors:#?}");
    same_in_both_interpreters(name, &prog, sz)
}

/// Knowledge of choice holds, and simulate and the projected run of `prog` both succeed and
/// print the same, role by role.
fn same_in_both_interpreters(
    name: &str,
    prog: &Program,
    sz: &Sizes,
) -> BTreeMap<String, Vec<String>> {
    let koc = chor_project::check_choices(prog);
    assert!(koc.is_empty(), "{name} at {sz:?}: {koc:#?}");
    let (lines, r) = chor_driver::simulate_capture(prog, vec![]);
    assert_eq!(r, Ok(()), "simulate {name} at {sz:?}");
    let want = by_role(&lines);
    let (lines, r) = chor_driver::run_projected_capture(prog, vec![], Duration::from_secs(20))
        .expect("projects");
    assert_eq!(r, Ok(()), "projected {name} at {sz:?}");
    assert_eq!(by_role(&lines), want, "projected {name} at {sz:?}");
    want
}

#[test]
fn ring_election_elects_the_largest_id_at_every_size() {
    for n in [1, 2, 4, 5] {
        let out = agree("ring_election", &sizes(&[("Ring", n)]));
        assert_eq!(out.len(), n, "one output per member at size {n}");
        let leaders: Vec<&String> = out
            .iter()
            .filter(|(_, ls)| ls.last().is_some_and(|l| l == "I am the leader"))
            .map(|(r, _)| r)
            .collect();
        assert_eq!(leaders.len(), 1, "exactly one leader at size {n}: {out:?}");
        // The leader's id is the largest: every other member names it.
        let id_of = |r: &str| out[r][0].trim_start_matches("my id is ").to_owned();
        let max = out
            .keys()
            .map(|r| id_of(r))
            .max_by_key(|s| s.parse::<i64>().unwrap_or(0));
        assert_eq!(Some(id_of(leaders[0])), max, "size {n}");
    }
}

#[test]
fn commit_aborts_when_the_last_participant_votes_no() {
    for n in [1, 2, 5] {
        let out = agree("commit_n", &sizes(&[("Ps", n)]));
        assert_eq!(out.len(), n + 1, "{out:?}");
        let last = format!("Ps[{}]", n - 1);
        assert!(out[&last].contains(&"tx 2: vote no".to_owned()), "{out:?}");
        for i in 0..n {
            let p = &out[&format!("Ps[{i}]")];
            assert!(p.contains(&"tx 1: committed".to_owned()), "{p:?}");
            assert!(p.contains(&"tx 2: rolled back".to_owned()), "{p:?}");
        }
        assert!(
            out["Coordinator"].contains(&format!("tx 2: acknowledged by {n} participants")),
            "{out:?}"
        );
    }
}

#[test]
fn map_reduce_counts_the_same_words_with_any_number_of_workers() {
    for n in [1, 2, 3, 6, 8] {
        let out = agree("map_reduce", &sizes(&[("Workers", n)]));
        assert_eq!(
            out["Leader"].last().map(String::as_str),
            Some(format!("total: 20 words with {n} workers").as_str()),
            "{out:?}"
        );
    }
}

/// FloodSet with crashes (every member gathers from its own family, round after round): at
/// every size, every member that does not crash decides the least initial value, which only
/// relays bring past the crash of its holder, and every odd member reports its crash; the
/// load balancer answers every job once, whatever the number of workers; the members of the
/// conference-key exchange all hold one key.
#[test]
fn family_ports_hold_at_every_size() {
    for n in [1, 2, 3, 4, 6] {
        let out = agree("floodset", &sizes(&[("Ps", n)]));
        assert_eq!(out.len(), n, "{out:?}");
        let least = if n == 1 { "10" } else { "2" };
        for i in 0..n {
            let last = out[&format!("Ps[{i}]")].last().cloned().unwrap_or_default();
            if i % 2 == 1 {
                assert_eq!(last, format!("crashed in round {}", i / 2), "size {n}");
            } else {
                assert!(
                    last.starts_with(&format!("decide {least} from [")),
                    "member {i} at size {n}: {last}"
                );
            }
        }
        // Every deciding member knows the same set.
        let decided: std::collections::BTreeSet<&String> = out
            .values()
            .filter_map(|ls| ls.last())
            .filter(|l| l.starts_with("decide"))
            .collect();
        assert_eq!(decided.len(), 1, "size {n}: {decided:?}");
    }
    // The load balancer: every job is answered once, whatever the number of workers.
    for n in [1, 2, 4] {
        let out = agree("load_balancer", &sizes(&[("Workers", n)]));
        assert_eq!(out["Client"].len(), 8, "size {n}: {out:?}");
        let served: i64 = (0..n)
            .map(|i| {
                let l = out[&format!("Workers[{i}]")]
                    .last()
                    .cloned()
                    .unwrap_or_default();
                l.trim_start_matches("served ")
                    .trim_end_matches(" jobs")
                    .parse::<i64>()
                    .unwrap_or(-1)
            })
            .sum();
        assert_eq!(served, 8, "size {n}: {out:?}");
    }
    // The conference key: every member computes the same key from its neighbours' values and
    // everyone's ratios, in a ring of one and of two (where both neighbours are one member).
    for n in [1, 2, 3, 6] {
        let out = agree("group_key", &sizes(&[("Ws", n)]));
        assert_eq!(
            out["Leader"],
            [format!("{n} members hold one key: true")],
            "size {n}"
        );
    }
}

#[test]
fn two_families_and_procedures_over_families_agree() {
    for (c, s) in [(1, 1), (2, 3), (4, 2)] {
        agree("lottery", &sizes(&[("Clients", c), ("Servers", s)]));
    }
    for n in [1, 4] {
        let out = agree("kv_backups", &sizes(&[("Backups", n)]));
        assert_eq!(out.len(), n + 2, "{out:?}");
    }
}

#[test]
fn a_member_index_out_of_range_at_one_size_is_reported_with_the_family() {
    // A procedure is checked at the sizes `main` calls it with, not also at the default.
    let src = "choreography P(A, Vs[]) { A.1 -> Vs[2].y; Vs[2].print(y); }\n\
               choreography main(L, Ws[]) { L.1 -> Ws[2].x; Ws[2].print(x); P(L, Ws)(); }";
    let one = from_source_sized("t.chor", src, vec![], &sizes(&[("Ws", 5)]));
    assert!(
        !one.diagnostics.iter().any(|d| d.is_error()),
        "{:?}",
        one.diagnostics
    );
    let ok = from_source_sized("t.chor", src, vec![], &sizes(&[("Ws", 3)]));
    assert!(
        !ok.diagnostics.iter().any(|d| d.is_error()),
        "{:?}",
        ok.diagnostics
    );
    let bad = from_source_sized("t.chor", src, vec![], &sizes(&[("Ws", 2)]));
    let msgs: Vec<&str> = bad
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.as_str())
        .collect();
    assert!(
        msgs.contains(&"member index 2 is out of range for family `Ws` of size 2"),
        "{msgs:?}"
    );
}

// ---------------------------------------------------------------- the command line

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn lines_by_role(stdout: &str) -> BTreeMap<String, Vec<String>> {
    let pairs: Vec<(String, String)> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix('['))
        .filter_map(|l| l.split_once("] "))
        .map(|(r, l)| (r.to_owned(), l.to_owned()))
        .collect();
    by_role(&pairs)
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

#[test]
fn every_back_end_agrees_with_simulate_at_another_size() {
    let file = examples_dir().join("commit_n.chor");
    let sim = chor()
        .args(["simulate", "--size", "Ps=4"])
        .arg(&file)
        .output()
        .expect("runs");
    let (out, err) = text(&sim);
    assert!(sim.status.success(), "{err}");
    let want = lines_by_role(&out);
    assert_eq!(want.len(), 5, "{out}");
    for backend in ["interp", "native"] {
        let run = chor()
            .args(["run", "--size", "Ps=4", "--backend", backend])
            .arg(&file)
            .stdin(Stdio::null())
            .output()
            .expect("runs");
        let (out, err) = text(&run);
        assert!(run.status.success(), "{backend}: {err}");
        assert_eq!(lines_by_role(&out), want, "{backend}");
    }
}

#[test]
fn bad_sizes_are_clear_errors() {
    let file = examples_dir().join("commit_n.chor");
    for (arg, want) in [
        ("Ps=0", "a family has 1 to 4096 members"),
        ("Ps", "expected `--size Family=N`"),
        ("Ps=x", "the size of `Ps` must be a whole number"),
    ] {
        let o = chor()
            .args(["check", "--size", arg])
            .arg(&file)
            .output()
            .expect("runs");
        assert_eq!(o.status.code(), Some(2), "{arg}");
        assert!(text(&o).1.contains(want), "{arg}: {}", text(&o).1);
    }
    let o = chor()
        .args(["check", "--size", "Workers=2"])
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o)
            .1
            .contains("`--size Workers=2` names no family of `main`"),
        "{}",
        text(&o).1
    );
}

/// A built family with an edited deployment file: each mistake is an error that names the
/// family and the member, within the connect timeout. Both back ends write one executable for
/// the family, started with `--member i`.
#[test]
fn deployment_mistakes_name_the_family_and_the_member() {
    for backend in ["interp", "native"] {
        deployment_mistakes(backend);
    }
}

fn deployment_mistakes(backend: &str) {
    let dir = std::env::temp_dir().join(format!("chor-families-{backend}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let o = chor()
        .args(["build", "--size", "Ring=2", "--backend", backend, "-o"])
        .arg(&dir)
        .arg(examples_dir().join("ring_election.chor"))
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", text(&o).1);
    let exe = dir.join("Ring");
    assert!(exe.exists(), "{backend}: one executable for the family");
    assert!(!dir.join("Ring[0]").exists(), "{backend}");
    let deploy = std::fs::read_to_string(dir.join("deploy.toml")).expect("deploy.toml");
    let line = deploy
        .lines()
        .find(|l| l.starts_with("Ring"))
        .expect("the family's line")
        .to_owned();
    let addrs: Vec<String> = line
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    assert_eq!(addrs.len(), 2, "{line}");
    let with = |name: &str, ring: String| {
        let p = dir.join(name);
        let text = deploy
            .replace(&line, &ring)
            .replace("connect_timeout_ms = 10000", "connect_timeout_ms = 1000");
        std::fs::write(&p, text).expect("write");
        p
    };
    let run = |config: &Path, member: Option<&str>| {
        let mut c = Command::new(&exe);
        c.arg("--config").arg(config);
        if let Some(m) = member {
            c.args(["--member", m]);
        }
        let start = std::time::Instant::now();
        let o = c.stdin(Stdio::null()).output().expect("runs");
        (o.status.success(), text(&o).1, start.elapsed())
    };
    let short = with("short.toml", format!("Ring = [\"{}\"]", addrs[0]));
    let (ok, err, _) = run(&short, Some("0"));
    assert!(!ok);
    assert!(
        err.contains("family Ring lists 1 address but the program was built with --size Ring=2"),
        "{backend}: {err}"
    );
    let same = with("same.toml", format!("Ring = [\"{0}\", \"{0}\"]", addrs[0]));
    let (ok, err, _) = run(&same, Some("1"));
    assert!(!ok);
    assert!(
        err.contains("roles Ring[0] and Ring[1] both use"),
        "{backend}: {err}"
    );
    let good = with("good.toml", line.clone());
    let (ok, err, _) = run(&good, Some("2"));
    assert!(!ok);
    assert!(
        err.contains("--member 2 is out of range: the family Ring has 2 members (0 … 1)"),
        "{backend}: {err}"
    );
    let (ok, err, _) = run(&good, None);
    assert!(!ok);
    assert!(
        err.contains("start it with --member 0 … 1"),
        "{backend}: {err}"
    );
    // Member 1 never starts: member 0 gives up within the connect timeout, naming it.
    let (ok, err, took) = run(&good, Some("0"));
    assert!(!ok);
    assert!(err.contains("Ring[1]"), "{backend}: {err}");
    assert!(took < Duration::from_secs(8), "{backend}: took {took:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The card's scoping of `for`: a binding at a role outside the family ends with its round,
/// a binding at the round's member outlives the loop; the same in simulate and projected.
#[test]
fn for_rounds_scope_bindings_as_the_card_says() {
    let src = r#"
choreography main(L, Ws[]) {
    let L.a = 1;
    let L.t = 0;
    for W in Ws {
        W.index(W) + 10 -> L.t;
        let L.a = a + t;
        L.a -> W.got;
        if L.a > 11 {
            L -> W[Big];
            let L.b = a;
            L.b -> W._b;
        } else {
            L -> W[Small];
        }
    }
    L.print("after: a = " ++ to_string(a) ++ ", t = " ++ to_string(t));
    Ws.print(got);
}
"#;
    for n in [1, 3] {
        let prog = from_source_sized("scope.chor", src, vec![], &sizes(&[("Ws", n)]));
        let errors: Vec<_> = prog.diagnostics.iter().filter(|d| d.is_error()).collect();
        assert!(errors.is_empty(), "{errors:#?}");
        let (lines, r) = chor_driver::simulate_capture(&prog, vec![]);
        assert_eq!(r, Ok(()));
        let out = by_role(&lines);
        assert_eq!(out["L"], ["after: a = 1, t = 0"]);
        for i in 0..n {
            assert_eq!(out[&format!("Ws[{i}]")], [format!("{}", 11 + i)]);
        }
        let (lines, r) = chor_driver::run_projected_capture(&prog, vec![], Duration::from_secs(20))
            .expect("projects");
        assert_eq!(r, Ok(()));
        assert_eq!(by_role(&lines), out);
    }
    // Reading a variable that only a round bound at an outside role is an error after it.
    let bad = r#"
choreography main(L, Ws[]) {
    for W in Ws {
        W.index(W) -> L.t;
    }
    L.print(t);
}
"#;
    let prog = from_source_sized("scope.chor", bad, vec![], &sizes(&[("Ws", 2)]));
    let checked = chor_check::check_program(&prog);
    assert!(
        checked
            .diagnostics
            .iter()
            .any(|d| d.is_error() && d.message.contains("cannot find `t`")),
        "{:#?}",
        checked.diagnostics
    );
}

#[test]
fn conditional_expressions_in_a_family_choreography() {
    // A decision that yields at the leader, in main and in every round (where what a round's
    // branch received is renamed per round); the targets at the leader end with the round.
    let src = r#"
choreography main(L, Ws[]) {
    let L.n = 2;
    let L.x = if L.(n > 1) { L -> Ws[Big]; Ws.print("big"); L.(n * 10) } else { L -> Ws[Small]; L.(0) };
    L.print(x);
    for W in Ws {
        let L.y = if L.(index(W) == 1) { L -> W[One]; W.(index(W) + 40) -> L.i; L.(i) } else { L -> W[Other]; L.(7) };
        L.print(y);
    }
}
"#;
    for n in [1, 3] {
        let prog = from_source_sized("cond.chor", src, vec![], &sizes(&[("Ws", n)]));
        let errors: Vec<_> = prog.diagnostics.iter().filter(|d| d.is_error()).collect();
        assert!(errors.is_empty(), "{errors:#?}");
        assert!(chor_project::check_choices(&prog).is_empty());
        let (lines, r) = chor_driver::simulate_capture(&prog, vec![]);
        assert_eq!(r, Ok(()));
        let out = by_role(&lines);
        let mut want = vec!["20".to_owned()];
        want.extend((0..n).map(|i| if i == 1 { "41" } else { "7" }.to_owned()));
        assert_eq!(out["L"], want);
        let (lines, r) = chor_driver::run_projected_capture(&prog, vec![], Duration::from_secs(20))
            .expect("projects");
        assert_eq!(r, Ok(()));
        assert_eq!(by_role(&lines), out);
    }
    // A target at a member is a target at one role.
    let member = r#"
choreography main(L, Ws[]) {
    let Ws[0].z = if L.true { L -> Ws[0][T]; Ws[0].(1) } else { L -> Ws[0][F]; Ws[0].(2) };
    Ws[0].print(z);
}
"#;
    let prog = from_source_sized("cond.chor", member, vec![], &sizes(&[("Ws", 2)]));
    let errors: Vec<_> = prog.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let (lines, r) = chor_driver::simulate_capture(&prog, vec![]);
    assert_eq!(r, Ok(()));
    assert_eq!(by_role(&lines)["Ws[0]"], vec!["1".to_owned()]);
    // Decided by a group that holds members (`(L, Ws[0])`, a member first, a family alone):
    // each is a choreographic conditional expression, at every size and in both
    // interpreters, with no selection.
    let groups = r#"
choreography main(L, Ws[]) {
    L.3 -> (L, Ws).k;
    let Ws[0].z = match (L, Ws[0]).k { 3 => { Ws[0].(1) }, _ => { Ws[0].(2) } };
    let L.w = if (Ws[size(Ws) - 1], L).(k > 2) { L.(10) } else { L.(20) };
    let Ws.v = if (Ws).(k == 3) { Ws.(index(Ws) * 2) } else { Ws.(0) };
    Ws[0].print(z);
    L.print(w);
    Ws.print(v);
}
"#;
    for n in [1, 3] {
        let prog = from_source_sized("cond.chor", groups, vec![], &sizes(&[("Ws", n)]));
        let errors: Vec<_> = prog.diagnostics.iter().filter(|d| d.is_error()).collect();
        assert!(errors.is_empty(), "size {n}: {errors:#?}");
        let out = same_in_both_interpreters("groups with members", &prog, &sizes(&[("Ws", n)]));
        assert_eq!(out["L"], ["10"], "size {n}");
        assert_eq!(out["Ws[0]"], ["1", "0"], "size {n}");
        if n == 3 {
            assert_eq!(out["Ws[2]"], ["4"]);
        }
    }
}

/// Generated programs over a family: at every size from 1 to 5, they check, and the
/// projected run prints what `simulate` prints, role by role. They use results at a family
/// (alone and among several) and members in the roles of calls, bound in every form.
#[test]
fn generated_family_programs_agree_at_sizes_one_to_five() {
    let mut runs = 0;
    let programs: Vec<String> = (0..40).map(common::generate::family_program).collect();
    // Every family form is exercised by several programs.
    for form in [
        "for W in Ws { W.",
        "for W in Ws { L.",
        "    W.v -> L.t;",
        "-> Ws.v",
        "-> L.xs;",
        "L -> Ws, M[Yes];",
        "-> L[Hi];",
        "][Yes];",
        "Step(L, Ws)",
        "Ws[size(Ws) - 1]",
        "let Ws.v = Scale(L, Ws)",
        "let (L.a, Ws.v) = Both(L, Ws)",
        "M)(Ws[",
        "let W.v = Pair(L, W)",
        "Swap(M, Ws[",
        "let Ws.v = if L.",
        "let (L.a, Ws.v) = if L.",
        // Agreed values over a family or a round's member, and the group's decisions.
        "-> (L, Ws).g",
        "if (L, Ws).g",
        "-> (L, W).h;",
        "if (L, W).h",
        // A conditional expression bound at the round's member; nested rounds; a gather in
        // a round.
        "let W.v = if L.a",
        "for Y in Ws {",
        "Ws.v -> X.all;",
    ] {
        let n = programs.iter().filter(|p| p.contains(form)).count();
        assert!(n >= 3, "only {n} programs use {form:?}");
    }
    for (seed, src) in programs.iter().enumerate() {
        let seed = seed as u64;
        for n in 1..=5 {
            let prog = from_source_sized("gen.chor", src, vec![], &sizes(&[("Ws", n)]));
            let checked = chor_check::check_program(&prog);
            let errors: Vec<_> = checked
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .collect();
            assert!(
                errors.is_empty(),
                "seed {seed} size {n}: {errors:#?}\n{src}"
            );
            let koc = chor_project::check_choices(&prog);
            assert!(koc.is_empty(), "seed {seed} size {n}: {koc:#?}\n{src}");
            let (lines, r) = chor_driver::simulate_capture(&prog, vec![]);
            assert_eq!(r, Ok(()), "simulate seed {seed} size {n}\n{src}");
            let want = by_role(&lines);
            let (lines, r) =
                chor_driver::run_projected_capture(&prog, vec![], Duration::from_secs(20))
                    .expect("projects");
            assert_eq!(r, Ok(()), "projected seed {seed} size {n}\n{src}");
            assert_eq!(by_role(&lines), want, "seed {seed} size {n}\n{src}");
            runs += 1;
        }
    }
    assert_eq!(runs, 200);
}

/// The language server's hovers over the forms the expansion replaces: `Ws[]`, the round's
/// member, `index(W)` and `size(Ws)`.
#[test]
fn hovers_explain_the_family_forms() {
    let src = "choreography main(L, Ws[]) {\n    for W in Ws { L.index(W) + size(Ws) -> W.x; }\n    Ws.print(x);\n}\n";
    let prog = from_source_sized("h.chor", src, vec![], &sizes(&[("Ws", 4)]));
    let checked = chor_check::check_program(&prog);
    let at = |needle: &str| {
        let start = src.find(needle).expect("in the source") as u32;
        checked
            .hovers
            .iter()
            .filter(|(s, _)| s.start <= start && start < s.end)
            .min_by_key(|(s, _)| s.end - s.start)
            .map(|(_, t)| t.to_string())
            .unwrap_or_default()
    };
    assert!(
        at("Ws[]").starts_with("Ws[]: a family of roles, 4 members in this run"),
        "{}",
        at("Ws[]")
    );
    assert!(
        at("W in").starts_with("W: the member of `Ws` of each round"),
        "{}",
        at("W in")
    );
    assert!(
        at("index(W)").starts_with("index(W): Int, the position of the round's member"),
        "{}",
        at("index(W)")
    );
    assert!(
        at("size(Ws)").starts_with("size(Ws): Int, the number of members"),
        "{}",
        at("size(Ws)")
    );
}

/// Nested rounds multiply: an expansion that would be huge stops with an error instead of
/// exhausting time or memory (the editor expands every text it is given).
#[test]
fn a_huge_expansion_is_an_error_not_a_hang() {
    let mut body = "Ws.print(1);".to_owned();
    for k in 0..14 {
        body = format!("for W{k} in Ws {{ {body} }}");
    }
    let src = format!("choreography main(Ws[]) {{ {body} }}");
    let start = std::time::Instant::now();
    let prog = from_source_sized("big.chor", &src, vec![], &sizes(&[("Ws", 3)]));
    assert!(start.elapsed() < Duration::from_secs(60));
    assert!(
        prog.diagnostics
            .iter()
            .any(|d| d.code == "E0758" && d.message.contains("expands to more than")),
        "{:?}",
        prog.diagnostics
    );
}

/// A family inside a group (`(Leader, Ws)`): every member holds the value agreed with the
/// leader, computes agreed values from it, and the whole group decides with no selection (the
/// program has none, so knowledge of choice passes only if the group's decision needs none), at
/// every size, in `simulate` and in the projected run alike.
#[test]
fn a_family_in_a_group_decides_with_no_selection_at_every_size() {
    let src = r#"
choreography main(Leader, Ws[]) {
    Leader.3 -> (Leader, Ws).limit;
    let (Leader, Ws).twice = limit * 2;
    if (Leader, Ws).twice > 5 {
        Leader.print("big");
        Ws.print("big at " ++ to_string(index(Ws)));
    } else {
        Leader.print("small");
    }
    match (Leader, Ws).limit {
        3 => { Ws.print("three"); },
        _ => { Leader.print("other"); },
    }
    for W in Ws {
        Leader.index(W) -> W.i;
    }
    Ws.print(to_string(i + twice));
}
"#;
    for n in 1..=3 {
        let sz = sizes(&[("Ws", n)]);
        let prog = from_source_sized("group.chor", src, vec![], &sz);
        let errors: Vec<_> = prog.diagnostics.iter().filter(|d| d.is_error()).collect();
        assert!(errors.is_empty(), "size {n}: {errors:#?}");
        let koc = chor_project::check_choices(&prog);
        assert!(koc.is_empty(), "size {n}: {koc:#?}");
        let (lines, r) = chor_driver::simulate_capture(&prog, vec![]);
        assert_eq!(r, Ok(()), "simulate at size {n}");
        let want = by_role(&lines);
        assert_eq!(want["Leader"], vec!["big".to_owned()], "size {n}");
        for i in 0..n {
            let got = &want[&format!("Ws[{i}]")];
            let expected = vec![
                format!("big at {i}"),
                "three".to_owned(),
                format!("{}", 6 + i),
            ];
            assert_eq!(got, &expected, "member {i} at size {n}");
        }
        let (lines, r) = chor_driver::run_projected_capture(&prog, vec![], Duration::from_secs(20))
            .expect("projects");
        assert_eq!(r, Ok(()), "projected at size {n}");
        assert_eq!(by_role(&lines), want, "projected at size {n}");
    }
}

/// `src` at `sizes` in `simulate` and the projected run (as [`agree`]), then, from a file, in
/// `chor simulate` and `chor run` with both back ends at `--size cli`: every one prints the
/// same, role by role. Returns `simulate`'s output at `sizes`.
fn agree_everywhere(
    name: &str,
    src: &str,
    sz: &Sizes,
    cli: Option<&str>,
) -> BTreeMap<String, Vec<String>> {
    let prog = from_source_sized(name, src, vec![], sz);
    let checked = chor_check::check_program(&prog);
    let errors: Vec<_> = checked
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .collect();
    assert!(errors.is_empty(), "{name} at {sz:?}: {errors:#?}");
    let want = same_in_both_interpreters(name, &prog, sz);
    if let Some(size) = cli {
        let dir = std::env::temp_dir().join(format!("chor-fam-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join(name);
        std::fs::write(&file, src).expect("write");
        let sim = chor()
            .args(["simulate", "--size", size])
            .arg(&file)
            .output()
            .expect("runs");
        let (out, err) = text(&sim);
        assert!(sim.status.success(), "{err}");
        let cli_want = lines_by_role(&out);
        for backend in ["interp", "native"] {
            let run = chor()
                .args(["run", "--size", size, "--backend", backend])
                .arg(&file)
                .stdin(Stdio::null())
                .output()
                .expect("runs");
            let (out, err) = text(&run);
            assert!(run.status.success(), "{name} {backend}: {err}");
            assert_eq!(lines_by_role(&out), cli_want, "{name} {backend} at {size}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    want
}

/// Results held by a family (section 10): `-> T@Ws` with `return Ws.e;` bound by
/// `let Ws.y = P(…)(…);`, a family result among several (`-> (Int@L, Int@Ws)`), an agreed
/// result over a family, an agreed argument over a family, and family parameters `x: T@Ws` passed as `Ws.e` — one value per
/// member, in every back end, at several sizes (a family of one included).
#[test]
fn results_and_parameters_at_a_family_in_every_back_end() {
    let src = r#"
choreography Square(Ws[])(x: Int@Ws) -> Int@Ws {
    return Ws.(x * x);
}

choreography Offsets(L, Ws[])(base: Int@L) -> (Int@L, Int@Ws) {
    L.base -> Ws.b;
    let Ws.v = Square(Ws)(Ws.(b + index(Ws)));
    Ws.v -> L.vs;
    return (L.list::sum(vs), Ws.v);
}

choreography Agree(L, Ws[])(k: Int@L) -> Int@(L, Ws) {
    L.k -> (L, Ws).a;
    return (L, Ws).(a + 1);
}

choreography Double(L, Ws[])(k: Int@(L, Ws)) -> Int@(L, Ws) {
    return (L, Ws).(k * 2);
}

choreography main(Leader, Workers[]) {
    let Workers.sq = Square(Workers)(Workers.(index(Workers) + 1));
    Workers.print("square " ++ to_string(sq));
    let (Leader.total, Workers.mine) = Offsets(Leader, Workers)(Leader.10);
    Leader.print("total " ++ to_string(total));
    Workers.print("mine " ++ to_string(mine));
    let (Leader, Workers).k = Agree(Leader, Workers)(Leader.41);
    let (Leader, Workers).k2 = Double(Leader, Workers)((Leader, Workers).k);
    Workers.print("agreed " ++ to_string(k2));
    Leader.print("agreed " ++ to_string(k2));
}
"#;
    for n in [1, 2, 4] {
        let size = format!("Workers={n}");
        let cli = (n != 2).then_some(size.as_str());
        let out = agree_everywhere("fam_results.chor", src, &sizes(&[("Workers", n)]), cli);
        let total: usize = (0..n).map(|i| (10 + i) * (10 + i)).sum();
        assert_eq!(
            out["Leader"],
            [format!("total {total}"), "agreed 84".to_owned()],
            "size {n}"
        );
        for i in 0..n {
            assert_eq!(
                out[&format!("Workers[{i}]")],
                [
                    format!("square {}", (i + 1) * (i + 1)),
                    format!("mine {}", (10 + i) * (10 + i)),
                    "agreed 84".to_owned(),
                ],
                "member {i} at size {n}"
            );
        }
    }
}

/// A member (`Ws[e]`, or the `W` of a round) goes wherever one role goes: the roles of a
/// statement call, of a bound call (also inside a round), of a call with several results and
/// its targets, a group (`(Leader, Ws[1])`) in a message, an agreed binding, an agreed
/// argument and result, and a group decision.
#[test]
fn a_member_goes_wherever_a_role_goes() {
    let src = r#"
choreography Pair(A, B)(x: Int@A) -> Int@B {
    A.(x * 2) -> B.y;
    return B.y;
}

choreography Swap(A, B)(a: Int@A, b: Int@B) -> (Int@A, Int@B) {
    A.a -> B.fa;
    B.b -> A.fb;
    return (A.fb, B.fa);
}

choreography Hello(A, B)() {
    A.1 -> B.one;
    B.print("hello " ++ to_string(one));
}

choreography Shared(A, B)(k: Int@(A, B)) -> Int@(A, B) {
    let (A, B).d = k + 1;
    return (A, B).d;
}

choreography main(Leader, Ws[]) {
    Hello(Ws[0], Leader)();
    let Leader.x = Pair(Ws[0], Leader)(Ws[0].(5));
    Leader.print("x " ++ to_string(x));
    for W in Ws {
        let W.y = Pair(Leader, W)(Leader.(index(W)));
        let (Leader.a, W.b) = Swap(Leader, W)(Leader.(100), W.(index(W)));
        Leader.print("a " ++ to_string(a));
        W.print("y " ++ to_string(y) ++ " b " ++ to_string(b));
    }
    let (Leader.c, Ws[1].d) = Swap(Leader, Ws[1])(Leader.1, Ws[1].2);
    Leader.print("c " ++ to_string(c));
    Ws[1].print("d " ++ to_string(d));
    Leader.7 -> (Leader, Ws[1]).k;
    let (Leader, Ws[1]).k2 = Shared(Leader, Ws[1])((Leader, Ws[1]).k);
    let (Leader, Ws[1]).k3 = k2 * 2;
    if (Leader, Ws[1]).k3 > 5 {
        Ws[1].print("big " ++ to_string(k3));
    } else {
        Leader.print("small");
    }
    let Ws[size(Ws) - 1].last = Pair(Leader, Ws[size(Ws) - 1])(Leader.3);
    Ws[size(Ws) - 1].print("last " ++ to_string(last));
}
"#;
    for n in [2, 3] {
        let size = format!("Ws={n}");
        let cli = Some(size.as_str());
        let out = agree_everywhere("fam_members.chor", src, &sizes(&[("Ws", n)]), cli);
        let mut leader = vec!["hello 1".to_owned(), "x 10".to_owned()];
        leader.extend((0..n).map(|i| format!("a {i}")));
        leader.push("c 2".to_owned());
        assert_eq!(out["Leader"], leader, "size {n}");
        for i in 0..n {
            let mut want = vec![format!("y {} b 100", 2 * i)];
            if i == 1 {
                want.extend(["d 1".to_owned(), "big 16".to_owned()]);
            }
            if i == n - 1 {
                want.push("last 6".to_owned());
            }
            assert_eq!(out[&format!("Ws[{i}]")], want, "member {i} at size {n}");
        }
    }
}

/// `chor project --role Workers` prints the family's program: members whose programs are the
/// same but for naming themselves share one text, headed by the members and with the index
/// written `i`; members that differ otherwise (a ring's neighbours) get one text each.
#[test]
fn project_prints_one_program_for_members_that_differ_only_in_their_index() {
    let project = |file: &str, role: &str, size: &str| {
        let o = chor()
            .args(["project", "--role", role, "--size", size])
            .arg(examples_dir().join(file))
            .output()
            .expect("runs");
        let (out, err) = text(&o);
        assert!(o.status.success(), "{err}");
        out
    };
    let out = project("map_reduce.chor", "Workers", "Workers=3");
    let headers: Vec<&str> = out.lines().filter(|l| l.starts_with("// role")).collect();
    assert_eq!(
        headers,
        ["// role Workers[i], i in 0..=2: one program, i is the member's index"],
        "{out}"
    );
    assert!(
        out.contains("proc main@Workers[i](Leader, Workers[0], Workers[1], Workers[2])"),
        "{out}"
    );
    assert!(
        !out.contains("@Workers[0]") && !out.contains("@Ws[1]"),
        "{out}"
    );
    // A ring: the starter on its own; every other member names its neighbours relative to
    // itself and computes its id from its index.
    let out = project("ring_election.chor", "Ring", "Ring=4");
    let headers: Vec<&str> = out.lines().filter(|l| l.starts_with("// role")).collect();
    assert_eq!(
        headers,
        [
            "// role Ring[0]",
            "// role Ring[i], i in 1..=3: one program, i is the member's index"
        ],
        "{out}"
    );
    let generic = out.split("// role Ring[i]").nth(1).expect("the class");
    for line in [
        "let me = id_of(i);",
        "recv seen <- Ws[i - 1];",
        "send best -> Ws[(i + 1) % 4];",
    ] {
        assert!(generic.contains(line), "{line}: {out}");
    }
}

/// The classes of alike members of every example's families at sizes 1 to 8: each class's
/// program, instantiated at each of its members, gives back exactly that member's projection
/// (no member needed the fallback to a class of its own), and the classes are as few as the
/// examples' structure allows (a ring's starter differs from the rest; every other family
/// runs one program).
#[test]
fn every_example_family_is_few_classes_of_alike_members() {
    let cases: [(&str, &[&str]); 6] = [
        ("map_reduce", &["Workers"]),
        ("ring_election", &["Ring"]),
        ("commit_n", &["Ps"]),
        ("kv_backups", &["Backups"]),
        ("lottery", &["Clients", "Servers"]),
        ("load_balancer", &["Workers"]),
    ];
    for (name, families) in cases {
        for n in 1..=8 {
            let sz: Sizes = families.iter().map(|f| ((*f).to_owned(), n)).collect();
            let (path, src) = example(name);
            let prog = from_source_sized(&path, &src, vec![], &sz);
            let locals = chor_driver::projections(&prog).expect("projects");
            let classes = chor_project::family_classes(&locals);
            for f in families {
                let of: Vec<_> = classes.iter().filter(|c| c.family == *f).collect();
                let want = if name == "ring_election" && n > 1 {
                    2
                } else {
                    1
                };
                assert_eq!(of.len(), want, "{name} {f} at {n}: {of:#?}");
                let mut covered: Vec<usize> = of.iter().flat_map(|c| c.members.clone()).collect();
                covered.sort();
                assert_eq!(covered, (0..n).collect::<Vec<_>>(), "{name} {f} at {n}");
            }
            assert_instances(&classes, &locals, &format!("{name} at {n}"));
        }
    }
}

/// Every member of every class: no fallback, and the class's program at its index is its
/// projection.
fn assert_instances(
    classes: &[chor_project::FamilyClass],
    locals: &[chor_project::LocalProgram],
    what: &str,
) {
    for c in classes {
        assert!(!c.fallback, "{what}: {} fell back", c.family);
        for &i in &c.members {
            let role = format!("{}[{i}]", c.family);
            let own = locals
                .iter()
                .find(|l| l.role == role)
                .expect("a member's projection");
            assert!(
                chor_project::same_program(&c.instantiate(i), own),
                "{what}: {role}\n{}\n{}",
                c.instantiate(i).to_text(),
                own.to_text()
            );
        }
    }
}

/// Generated family programs (rings of any stride, scatters, gathers, selections, members
/// passed to procedures) at sizes 1 to 5: every class instantiates to its members'
/// projections, and alike members do share a class (some class has several members).
#[test]
fn generated_family_programs_instantiate_to_each_members_projection() {
    let mut shared = 0;
    for seed in 0..40 {
        let src = common::generate::family_program(seed);
        for n in 1..=5 {
            let prog = from_source_sized("gen.chor", &src, vec![], &sizes(&[("Ws", n)]));
            let locals = chor_driver::projections(&prog).expect("projects");
            let classes = chor_project::family_classes(&locals);
            let members: usize = classes.iter().map(|c| c.members.len()).sum();
            assert_eq!(members, n, "seed {seed} size {n}");
            assert_instances(&classes, &locals, &format!("seed {seed} size {n}\n{src}"));
            if n == 5 && classes.iter().any(|c| c.members.len() > 1) {
                shared += 1;
            }
        }
    }
    assert!(
        shared >= 10,
        "only {shared} of 40 programs share a class at size 5"
    );
}

/// The native family executable holds one compiled program per class of alike members, not
/// one per member, and it runs every member right: a ring at several sizes (its starter on
/// its own, the rest one class computing its neighbours at run time) and map-reduce with 16
/// workers agree with `simulate`.
#[test]
fn native_family_executables_run_one_program_per_class() {
    for (file, size, classes) in [
        ("ring_election.chor", "Ring=1", vec!["Ring[0]"]),
        ("ring_election.chor", "Ring=2", vec!["Ring[0]", "Ring[1]"]),
        ("ring_election.chor", "Ring=5", vec!["Ring[0]", "Ring[i]"]),
        (
            "map_reduce.chor",
            "Workers=16",
            vec!["Leader", "Workers[i]"],
        ),
    ] {
        let path = examples_dir().join(file);
        let sim = chor()
            .args(["simulate", "--size", size])
            .arg(&path)
            .output()
            .expect("runs");
        let (out, err) = text(&sim);
        assert!(sim.status.success(), "{err}");
        let want = lines_by_role(&out);
        let run = chor()
            .args(["run", "--size", size, "--backend", "native"])
            .arg(&path)
            .stdin(Stdio::null())
            .output()
            .expect("runs");
        let (out, err) = text(&run);
        assert!(run.status.success(), "{file} {size}: {err}");
        assert_eq!(lines_by_role(&out), want, "{file} {size}");
        // What was compiled: one folder of functions per program compiled.
        let dir = std::env::temp_dir().join(format!("chor-classes-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let build = chor()
            .args(["build", "--size", size])
            .arg(&path)
            .arg("-o")
            .arg(dir.join("out"))
            .env("CHOR_DUMP_CLIF", dir.join("clif"))
            .output()
            .expect("runs");
        assert!(build.status.success(), "{}", text(&build).1);
        let mut compiled: Vec<String> = std::fs::read_dir(dir.join("clif"))
            .expect("dumped")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        compiled.sort();
        assert_eq!(compiled, classes, "{file} {size}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Choreography types take families like signatures (section 11: `chor(L, Ws[])(T@(L, Ws))
/// -> (Int@L, Int@Ws)`): a choreography with families is passed for such a parameter, called
/// through it with a family, its results bound at the family, at every size and in every back
/// end.
#[test]
fn choreography_types_take_families() {
    let src = r#"
choreography Spread(L, Ws[])(k: Int@(L, Ws)) -> (Int@L, Int@Ws) {
    let Ws.v = k + index(Ws);
    Ws.v -> L.vs;
    return (L.list::sum(vs), Ws.v);
}

choreography Twice(L, Ws[])(step: chor(A, Bs[])(Int@(A, Bs)) -> (Int@A, Int@Bs), k: Int@(L, Ws)) -> (Int@L, Int@Ws) {
    let (L.a, Ws.b) = step(L, Ws)((L, Ws).k);
    let (L, Ws).k2 = k * 2;
    let (L.c, Ws.d) = step(L, Ws)((L, Ws).k2);
    return (L.(a + c), Ws.(b + d));
}

choreography Gather(L, Ws[])(x: Int@L) -> Int@L {
    L.x -> Ws.y;
    Ws.y -> L.ys;
    return L.list::sum(ys);
}

choreography Apply(L, Ws[])(f: chor(A, Bs[])(Int@A) -> Int@A, v: Int@L) -> Int@L {
    let L.r = f(L, Ws)(L.v);
    return L.r;
}

choreography main(Leader, Workers[]) {
    let (Leader, Workers).k = 10;
    let (Leader.t, Workers.u) = Twice(Leader, Workers)(Spread, (Leader, Workers).k);
    Leader.print("t " ++ to_string(t));
    Workers.print("u " ++ to_string(u));
    let Leader.r = Apply(Leader, Workers)(Gather, Leader.5);
    Leader.print("r " ++ to_string(r));
}
"#;
    for n in [1, 3] {
        let size = format!("Workers={n}");
        let cli = (n == 3).then_some(size.as_str());
        let out = agree_everywhere("fam_higher.chor", src, &sizes(&[("Workers", n)]), cli);
        let t = 30 * n + n * (n - 1);
        assert_eq!(
            out["Leader"],
            [format!("t {t}"), format!("r {}", 5 * n)],
            "size {n}"
        );
        for i in 0..n {
            assert_eq!(out[&format!("Workers[{i}]")], [format!("u {}", 30 + 2 * i)]);
        }
    }
}

/// Generated family programs (rings of any stride, scatters, gathers, member expressions)
/// natively at two sizes: the class programs, compiled once with the member index a run-time
/// value, print what `simulate` prints, member by member.
#[test]
fn generated_family_programs_agree_natively() {
    let dir = std::env::temp_dir().join(format!("chor-gen-native-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut generic = 0;
    // Six programs at least, more until four runs have had a class of several members (some
    // forms, such as agreed values bound in rounds, keep members apart).
    for seed in 0..16 {
        if seed >= 6 && generic >= 4 {
            break;
        }
        let src = common::generate::family_program(seed);
        let file = dir.join(format!("gen{seed}.chor"));
        std::fs::write(&file, &src).expect("write");
        for n in [2, 5] {
            let size = format!("Ws={n}");
            let prog = from_source_sized("gen.chor", &src, vec![], &sizes(&[("Ws", n)]));
            let locals = chor_driver::projections(&prog).expect("projects");
            if chor_project::family_classes(&locals)
                .iter()
                .any(|c| c.is_generic())
            {
                generic += 1;
            }
            let sim = chor()
                .args(["simulate", "--size", &size])
                .arg(&file)
                .output()
                .expect("runs");
            let (out, err) = text(&sim);
            assert!(sim.status.success(), "seed {seed} size {n}: {err}");
            let want = lines_by_role(&out);
            let run = chor()
                .args(["run", "--backend", "native", "--size", &size])
                .arg(&file)
                .stdin(Stdio::null())
                .output()
                .expect("runs");
            let (out, err) = text(&run);
            assert!(run.status.success(), "seed {seed} size {n}: {err}\n{src}");
            assert_eq!(lines_by_role(&out), want, "seed {seed} size {n}\n{src}");
        }
    }
    assert!(
        generic >= 4,
        "only {generic} runs had a class of several members"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// One member named twice among the receivers of a communication or a selection (rounds `X`
/// and `Y` over one family meet at `X == Y`; `Ws.c, Ws[0].d` names member 0 twice): it
/// receives once and binds every name, or is told once, at every size (a family of one
/// included), in every back end. A plain role listed twice stays an error (E0204).
#[test]
fn a_member_named_twice_among_the_receivers_receives_once() {
    let src = r#"
choreography Pair(A, Ws[])() {
    for X in Ws {
        for Y in Ws {
            A.(index(X) * 10 + index(Y)) -> X.a, Y.b;
            A -> X, Y[Go];
            X.print("a " ++ to_string(a));
            Y.print("b " ++ to_string(b));
        }
    }
}

choreography main(A, Ws[]) {
    Pair(A, Ws)();
    A.7 -> Ws.c, Ws[0].d;
    Ws[0].print(to_string(c + d));
    let Ws.same = if index(Ws) == 0 { c } else { c + 1 };
    Ws.print("c " ++ to_string(same));
    Ws[0].(c + d) -> Ws[size(Ws) - 1].f, Ws[0].g, Ws.h;
    Ws.print("h " ++ to_string(h));
    Ws[size(Ws) - 1].print("f " ++ to_string(f));
    Ws[0].print("g " ++ to_string(g));
}
"#;
    for n in [1, 2, 3] {
        let size = format!("Ws={n}");
        let cli = (n != 2).then_some(size.as_str());
        let out = agree_everywhere("fam_twice.chor", src, &sizes(&[("Ws", n)]), cli);
        // In round (x, y), member x receives a and member y receives b, the same value.
        for i in 0..n {
            let mut want = Vec::new();
            for x in 0..n {
                for y in 0..n {
                    if x == i {
                        want.push(format!("a {}", x * 10 + y));
                    }
                    if y == i {
                        want.push(format!("b {}", x * 10 + y));
                    }
                }
            }
            if i == 0 {
                want.push("14".to_owned());
            }
            want.push(format!("c {}", if i == 0 { 7 } else { 8 }));
            want.push("h 14".to_owned());
            if i == n - 1 {
                want.push("f 14".to_owned());
            }
            if i == 0 {
                want.push("g 14".to_owned());
            }
            assert_eq!(out[&format!("Ws[{i}]")], want, "member {i} at size {n}");
        }
    }
    // Listed twice as a plain role: the checks refuse it, with or without families.
    let plain = "choreography main(A, B, Ws[]) {\n    A.1 -> B.x, B.y;\n    A -> B, B[L];\n    B.print(to_string(x + y));\n    Ws.print(\"w\");\n}\n";
    let prog = from_source_sized("plain_twice.chor", plain, vec![], &sizes(&[("Ws", 2)]));
    let checked = chor_check::check_program(&prog);
    let twice = checked
        .diagnostics
        .iter()
        .filter(|d| d.code == "E0204")
        .count();
    assert_eq!(twice, 2, "{:#?}", checked.diagnostics);
}

/// A group is a set of roles: a member reached through a family that is already in the group
/// (`(Ws[0], Ws)`, the card's `R.e -> (R, Ws).x` with R a member; rounds `X` and `Y` over
/// one family that meet at `X == Y`; the same in a signature and its argument) is held once,
/// at every size (a family of one, where the group is one role, included), in every back
/// end. A plain role listed twice stays an error (E0700).
#[test]
fn a_member_listed_twice_in_a_group_holds_the_value_once() {
    let src = r#"
choreography Pick(L, Ws[])(k: Int@(Ws[0], Ws), c: Int@(L, Ws)) -> Int@(Ws, Ws[size(Ws) - 1]) {
    if (Ws, Ws[0]).(k + c > 10) {
        Ws[0] -> L[Big];
        L.print("big");
    } else {
        Ws[0] -> L[Small];
        L.print("small");
    }
    return (Ws[size(Ws) - 1], Ws).(k * 2 + c);
}

choreography main(L, Ws[]) {
    let Ws.v = index(Ws) + 1;
    for X in Ws {
        for Y in Ws {
            X.v -> (X, Y).k;
            if (Y, X).(k > 1) {
                Y.print("pair " ++ to_string(k));
            }
            let (X, Y).both = k * 10 + index(Y);
            X.print("x " ++ to_string(both));
            Y.print("y " ++ to_string(both));
        }
    }
    Ws[0].(7) -> (Ws[0], Ws).k;
    L.(5) -> (L, Ws).c;
    let (Ws[size(Ws) - 1], Ws).r = Pick(L, Ws)((Ws, Ws[0]).k, (Ws, L).c);
    Ws.print("r " ++ to_string(r));
}
"#;
    for n in [1, 2, 3] {
        let size = format!("Ws={n}");
        let cli = (n != 2).then_some(size.as_str());
        let out = agree_everywhere("group_twice.chor", src, &sizes(&[("Ws", n)]), cli);
        for i in 0..n {
            let mut want = Vec::new();
            for x in 0..n {
                for y in 0..n {
                    // Round (x, y): member x's value, agreed by x and y (one role when x == y).
                    if y == i && x + 1 > 1 {
                        want.push(format!("pair {}", x + 1));
                    }
                    let both = (x + 1) * 10 + y;
                    if x == i {
                        want.push(format!("x {both}"));
                    }
                    if y == i {
                        want.push(format!("y {both}"));
                    }
                }
            }
            want.push("r 19".to_owned());
            assert_eq!(out[&format!("Ws[{i}]")], want, "member {i} at size {n}");
        }
        assert_eq!(out["L"], ["big"], "L at size {n}");
    }
    // Listed twice as a plain role: still refused, with or without families.
    let plain =
        "choreography main(A, B, Ws[]) {\n    A.1 -> (A, B, A).x;\n    Ws.print(\"w\");\n}\n";
    let prog = from_source_sized("plain_group.chor", plain, vec![], &sizes(&[("Ws", 2)]));
    let checked = chor_check::check_program(&prog);
    let twice = checked
        .diagnostics
        .iter()
        .filter(|d| d.code == "E0700")
        .count();
    assert_eq!(twice, 1, "{:#?}", checked.diagnostics);
}

/// A conditional expression may bind a value at a whole family (`let Ws.y = if L.c { …;
/// Ws.e } else { …; Ws.e' };`): one target per member, each member computing its part, also
/// among several targets and inside a round, at every size, in every back end.
#[test]
fn a_conditional_expression_yields_at_a_whole_family() {
    let src = r#"
choreography Deal(L, Ws[])(hot: Bool@L) -> Int@Ws {
    let Ws.card = if L.hot {
        L -> Ws[Hot];
        L.(100) -> Ws.base;
        Ws.(base + index(Ws))
    } else {
        L -> Ws[Cold];
        Ws.(index(Ws) * 2)
    };
    return Ws.card;
}

choreography main(L, Ws[]) {
    let Ws.a = Deal(L, Ws)(L.true);
    let Ws.b = Deal(L, Ws)(L.false);
    let (L.n, Ws.(x, y)) = match L.(3) {
        3 => {
            L -> Ws[Three];
            (L.(1), Ws.(a, b))
        },
        _ => {
            L -> Ws[Other];
            (L.(2), Ws.(0, 0))
        },
    };
    L.print(to_string(n));
    Ws.print(to_string(x) ++ " " ++ to_string(y));
    for W in Ws {
        let Ws.z = if W.(index(W) == 0) {
            W -> Ws[First];
            Ws.(1)
        } else {
            W -> Ws[Later];
            Ws.(2)
        };
        Ws.print("z " ++ to_string(z));
    }
}
"#;
    for n in [1, 2, 3] {
        let size = format!("Ws={n}");
        let cli = (n != 2).then_some(size.as_str());
        let out = agree_everywhere("family_yield.chor", src, &sizes(&[("Ws", n)]), cli);
        assert_eq!(out["L"], ["1"], "L at size {n}");
        for i in 0..n {
            let mut want = vec![format!("{} {}", 100 + i, 2 * i)];
            for w in 0..n {
                want.push(format!("z {}", if w == 0 { 1 } else { 2 }));
            }
            assert_eq!(out[&format!("Ws[{i}]")], want, "member {i} at size {n}");
        }
    }
}

/// A group of one family, `(Ws)`: every member holds the value, agreed, in a message from a
/// member, a group decision, a signature (parameter and result), an argument of a call bound
/// with `let` (parsed as an expression first) and a group `match`, at every size (a family of
/// one included), in every back end, with no selection among the members.
#[test]
fn a_family_alone_is_a_group() {
    let src = r#"
choreography Agree(L, Ws[])(k: Int@(Ws)) -> Int@(Ws) {
    return (Ws).(k + 1);
}

choreography main(L, Ws[]) {
    Ws[0].(size(Ws) * 10) -> (Ws).n;
    if (Ws).(n > 15) {
        Ws.print("many " ++ to_string(n));
    } else {
        Ws.print("few");
    }
    let (Ws).m = Agree(L, Ws)((Ws).n);
    match (Ws).m {
        11 => {
            Ws[0] -> L[One];
            L.print("one");
        },
        _ => {
            Ws[0] -> L[More];
        },
    }
    Ws.print(to_string(m));
}
"#;
    for n in [1, 2, 3] {
        let size = format!("Ws={n}");
        let cli = (n != 2).then_some(size.as_str());
        let out = agree_everywhere("family_group.chor", src, &sizes(&[("Ws", n)]), cli);
        let first = if n * 10 > 15 {
            format!("many {}", n * 10)
        } else {
            "few".to_owned()
        };
        for i in 0..n {
            assert_eq!(
                out[&format!("Ws[{i}]")],
                [first.clone(), format!("{}", n * 10 + 1)],
                "member {i} at size {n}"
            );
        }
        let told: &[&str] = if n == 1 { &["one"] } else { &[] };
        assert_eq!(
            out.get("L").map(Vec::as_slice).unwrap_or(&[]),
            told,
            "L at size {n}"
        );
    }
}

/// A signature may name a member where it names a role: a result at one member
/// (`-> Int@Ws[0]`), a parameter at the last (`k: Int@Ws[size(Ws) - 1]`), a member among
/// several results, in an agreed group and in a choreography type. The member is the one its
/// index names at the
/// sizes the procedure is expanded at; every back end agrees with simulate at sizes 1 to 3.
#[test]
fn a_signature_names_members_in_every_back_end() {
    let src = r#"
choreography First(L, Ws[])(x: Int@L) -> Int@Ws[0] {
    L.x -> Ws[0].y;
    return Ws[0].(y + 1);
}

choreography Last(L, Ws[])(k: Int@Ws[size(Ws) - 1]) -> Int@L {
    Ws[size(Ws) - 1].(k * 2) -> L.r;
    return L.r;
}

choreography Both(L, Ws[])(x: Int@L) -> (Int@L, Int@Ws[1 % size(Ws)]) {
    L.x -> Ws[1 % size(Ws)].y;
    return (L.(x + 100), Ws[1 % size(Ws)].(y * 10));
}

choreography Agree(L, Ws[])(k: Int@(L, Ws[0])) -> Int@(L, Ws[0]) {
    return (L, Ws[0]).(k + size(Ws));
}

choreography Apply(A, Bs[])(step: chor(X, Ys[])(Int@X) -> Int@Ys[0], v: Int@A) -> Int@Bs[0] {
    let Bs[0].r = step(A, Bs)(A.v);
    return Bs[0].(r * 2);
}

choreography main(Boss, Workers[]) {
    let Workers[0].a = First(Boss, Workers)(Boss.41);
    Workers[0].print("first " ++ to_string(a));
    let Workers[0].ap = Apply(Boss, Workers)(First, Boss.1);
    Workers[0].print("applied " ++ to_string(ap));
    let Workers[size(Workers) - 1].k = 5;
    let Boss.b = Last(Boss, Workers)(Workers[size(Workers) - 1].k);
    Boss.print("last " ++ to_string(b));
    let (Boss.c, Workers[1 % size(Workers)].d) = Both(Boss, Workers)(Boss.7);
    Boss.print("both " ++ to_string(c));
    Workers[1 % size(Workers)].print("both " ++ to_string(d));
    let (Boss, Workers[0]).g = 1;
    let (Boss, Workers[0]).h = Agree(Boss, Workers)((Boss, Workers[0]).g);
    Workers[0].print("agreed " ++ to_string(h));
}
"#;
    for n in [1, 2, 3] {
        let size = format!("Workers={n}");
        let cli = (n != 2).then_some(size.as_str());
        let out = agree_everywhere("fam_signature.chor", src, &sizes(&[("Workers", n)]), cli);
        assert_eq!(
            out["Boss"],
            ["last 10".to_owned(), "both 107".to_owned()],
            "size {n}"
        );
        let second = 1 % n;
        for i in 0..n {
            let mut want = Vec::new();
            if i == 0 {
                want.push("first 42".to_owned());
                want.push("applied 4".to_owned());
            }
            if i == second {
                want.push("both 70".to_owned());
            }
            if i == 0 {
                want.push(format!("agreed {}", 1 + n));
            }
            assert_eq!(
                out.get(&format!("Workers[{i}]"))
                    .cloned()
                    .unwrap_or_default(),
                want,
                "member {i} at size {n}"
            );
        }
    }
}
