//! The stepper against the oracle: on every example, a run to the end — in role order and
//! under several random schedules — prints, role by role, exactly what `chor simulate` prints.
#![allow(clippy::disallowed_methods)] // the test reads the examples from disk

use chor_interp::{Io, Simulator};
use chor_step::{Outcome, Stepper};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Default)]
struct Capture(Mutex<Vec<(String, String)>>);

impl Io for Capture {
    fn print(&self, role: &str, line: &str) {
        if let Ok(mut l) = self.0.lock() {
            for part in line.split('\n') {
                l.push((role.to_owned(), part.to_owned()));
            }
        }
    }
    fn read_line(&self, _role: &str) -> String {
        String::new()
    }
}

fn per_role(lines: &[(String, String)]) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (r, l) in lines {
        m.entry(r.clone()).or_default().push(l.clone());
    }
    m
}

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples/")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "chor"))
        .collect();
    files.sort();
    files
}

#[test]
fn run_to_end_prints_what_simulate_prints_on_every_example() {
    let files = examples();
    assert!(files.len() >= 5, "examples found: {files:?}");
    for path in files {
        let src = std::fs::read_to_string(&path).expect("readable");
        let prog = chor_check::program::from_source(&path.display().to_string(), &src, vec![]);
        let locals = chor_project::project_program(&prog, "main")
            .unwrap_or_else(|d| panic!("{}: projection failed: {d:?}", path.display()));
        chor_interp::with_big_stack(|| {
            let io = Capture::default();
            let sim = Simulator::new(&prog, &io, None);
            let expected_result = sim.run("main");
            let expected = per_role(&io.0.into_inner().expect("lines"));
            assert!(
                !expected.is_empty(),
                "{}: simulate printed nothing",
                path.display()
            );
            let mut ordered = Stepper::new(&prog, &locals);
            let steps = ordered.run_to_end(1_000_000);
            assert!(steps > 0, "{}: no step taken", path.display());
            assert_eq!(
                per_role(ordered.output()),
                expected,
                "{}: role-order run",
                path.display()
            );
            match (&expected_result, ordered.outcome()) {
                (Ok(()), Outcome::Finished) => {}
                (Err(e), Outcome::Failed { role, .. }) if e.role == role => {}
                (want, got) => panic!("{}: simulate {want:?}, stepper {got:?}", path.display()),
            }
            for seed in [1, 7, 42, 1234] {
                let mut random = Stepper::new(&prog, &locals);
                random.run_random(seed, 1_000_000);
                assert_eq!(
                    per_role(random.output()),
                    expected,
                    "{}: random schedule {seed}",
                    path.display()
                );
                // Replaying the schedule a run took reaches the same state.
                let mut again = Stepper::new(&prog, &locals);
                assert_eq!(again.replay(random.schedule()), random.schedule().len());
                assert_eq!(again.output(), random.output());
                assert_eq!(again.views(), random.views());
            }
        });
    }
}
