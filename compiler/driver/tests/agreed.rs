//! Agreed values (section 9 of the design card) through the command line: a decision of a
//! group costs no message, the group's members project to a local branch, and the formatter
//! keeps every group form.

mod common;

use common::{chor, ok};

use std::path::{Path, PathBuf};

/// Write `src` to a fresh file under the temporary directory.
fn write(name: &str, src: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chor-agreed-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{name}.chor"));
    std::fs::write(&path, src).expect("write");
    path
}

/// The lines `chor simulate --trace` prints for messages and selections (not role output).
fn trace(path: &Path) -> (Vec<String>, Vec<String>) {
    let out = chor()
        .args(["simulate", "--trace"])
        .arg(path)
        .output()
        .expect("runs");
    ok(&out, "chor");
    let text = String::from_utf8_lossy(&out.stdout);
    let events = text
        .lines()
        .filter(|l| !l.starts_with('[') && l.contains(" -> "))
        .map(str::to_owned)
        .collect();
    let output = text
        .lines()
        .filter(|l| l.starts_with('['))
        .map(str::to_owned)
        .collect();
    (events, output)
}

/// A loop of `rounds` rounds where A and B both act in every round. `decide` is the head of
/// the loop's conditional, `tell` what each branch starts with.
fn looping(decide: &str, tell_more: &str, tell_stop: &str, param: &str, arg: &str) -> String {
    format!(
        "choreography Loop(A, B)(n: Int@{param}) {{
    if {decide}.n > 0 {{
        {tell_more}
        A.print(\"A round \" ++ to_string(n));
        B.print(\"B round\");
        Loop(A, B)({arg}.(n - 1));
    }} else {{
        {tell_stop}
        A.print(\"A done\");
        B.print(\"B done\");
    }}
}}

choreography main(A, B) {{
    A.5 -> (A, B).n;
    Loop(A, B)({arg}.n);
}}
"
    )
}

#[test]
fn a_group_conditional_costs_no_message() {
    let agreed = write("agreed", &looping("(A, B)", "", "", "(A, B)", "(A, B)"));
    let selected = write(
        "selected",
        &looping("A", "A -> B[More];", "A -> B[Stop];", "A", "A"),
    );
    for p in [&agreed, &selected] {
        let out = chor().arg("check").arg(p).output().expect("runs");
        ok(&out, "chor");
    }
    let (agreed_events, agreed_out) = trace(&agreed);
    let (selected_events, selected_out) = trace(&selected);
    // The same behaviour...
    assert_eq!(agreed_out, selected_out);
    assert_eq!(agreed_out.len(), 12, "{agreed_out:?}");
    // ...but the agreed loop sends only the initial value (A keeps its own copy): one message,
    // no selection in six rounds. With selections, every round costs one.
    assert_eq!(
        agreed_events,
        vec!["A -> B: 5".to_owned()],
        "{agreed_events:?}"
    );
    let selections = selected_events.iter().filter(|e| e.contains('[')).count();
    assert_eq!(selections, 6, "{selected_events:?}");
}

#[test]
fn group_members_project_to_a_local_branch() {
    let p = write("project", &looping("(A, B)", "", "", "(A, B)", "(A, B)"));
    let out = chor()
        .args(["project", "--role", "B"])
        .arg(&p)
        .output()
        .expect("runs");
    ok(&out, "chor");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("if (A, B).n > 0 {"), "{text}");
    assert!(!text.contains("branch"), "{text}");
    assert!(!text.contains("select"), "{text}");
    // B receives the value once, in main.
    assert_eq!(text.matches("recv").count(), 1, "{text}");
}

/// Every group form, written canonically: the formatter leaves it as it is, and the projected
/// and global runs agree on it.
const FORMS: &str =
    "choreography Pick(C, S, IP)(k: Int@(C, S), pw: String@C) -> (Bool@(C, S), Int@IP) {
    C.pw -> IP.pw;
    IP.pw == \"x\" -> (IP, C, S).ok;
    let (C, S).big = k > 2 && ok;
    match (S, C).big {
        true => {
            C.print(\"big\");
        },
        false => {
            S.print(\"small\");
        },
    }
    return ((C, S).ok, IP.k0() + 1);
}

fn k0() -> Int {
    41
}

choreography main(C, S, IP) {
    C.(3) -> (C, S).k;
    let ((C, S).ok, IP.n) = Pick(C, S, IP)((C, S).k, C.(\"x\"));
    if (C, S).ok {
        C.print(\"ok\");
        S.print(\"ok\");
    }
    IP.print(n);
}
";

#[test]
fn the_formatter_keeps_group_forms() {
    let p = write("fmt", FORMS);
    let out = chor()
        .args(["fmt", "--check"])
        .arg(&p)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = chor().arg("simulate").arg(&p).output().expect("runs");
    ok(&out, "chor");
    let mut global: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    let out = chor()
        .args(["run", "--backend", "interp"])
        .arg(&p)
        .output()
        .expect("runs");
    ok(&out, "chor");
    let mut local: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    global.sort();
    local.sort();
    assert_eq!(global, vec!["[C] big", "[C] ok", "[IP] 42", "[S] ok"]);
    assert_eq!(global, local);
}
