//! Debugging aids of the native back end: `CHOR_DUMP_CLIF=DIR` writes every function's
//! Cranelift IR, and (in the debug build these tests run) the Cranelift verifier checks every
//! function the examples compile to, so a lowering bug fails the build with a diagnostic.

mod common;

use common::ok;

use std::process::Command;

#[test]
fn dump_clif_writes_each_function_of_each_role_and_the_verifier_accepts_every_example() {
    let dir = std::env::temp_dir().join(format!("chor-clif-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for path in common::examples() {
        let name = path
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        let out_dir = dir.join("out").join(&name);
        let clif = dir.join("clif").join(&name);
        let out = Command::new(env!("CARGO_BIN_EXE_chor"))
            .arg("build")
            .arg(&path)
            .arg("-o")
            .arg(&out_dir)
            .env("CHOR_DUMP_CLIF", &clif)
            .output()
            .expect("chor runs");
        ok(&out, path.display());
        let roles: Vec<_> = std::fs::read_dir(&clif)
            .expect("a folder per role")
            .map(|e| e.expect("entry").path())
            .collect();
        assert!(roles.len() >= 2, "{name}: {roles:?}");
        for role in roles {
            let files: Vec<_> = std::fs::read_dir(&role)
                .expect("role folder")
                .map(|e| e.expect("entry").path())
                .collect();
            // The entry procedure, `chor_entry` and `main` at least (for a member of a family
            // compiled on its own, its entry `chor_member_i` in place of `main`, for a class of
            // alike members, `Ws[i]`, the class's `chor_class_c`: the family's `main`
            // dispatches).
            assert!(files.len() >= 3, "{}: {files:?}", role.display());
            let dir_name = role
                .file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned();
            let entry = match chor_runtime::config::split_member(&dir_name) {
                Some((_, i)) => format!("{}.clif", chor_codegen::member_entry(i)),
                None if dir_name.ends_with("[i]") => files
                    .iter()
                    .filter_map(|f| f.file_name()?.to_str().map(str::to_owned))
                    .find(|f| f.starts_with("chor_class_"))
                    .expect("the class's entry"),
                None => "main.clif".to_owned(),
            };
            let main = std::fs::read_to_string(role.join(&entry)).expect("the entry's clif");
            assert!(
                main.starts_with("function") && main.contains("call"),
                "{}: {main}",
                role.display()
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A function too big to inline that calls no generated code (a leaf), a loop calling it, and
/// a recursion calling it at each level.
const LEAF_CALLS: &str = "fn leaf(a: Int, b: Int) -> Int {
    let x = a * 3 + b;
    let y = x * x % 1000 + list::len([a, b]);
    if x > y { x - y + a * b } else { y - x + a - b }
}
fn deep(n: Int) -> Int { if n == 0 { 0 } else { leaf(n, 1) % 2 + deep(n - 1) } }
fn count(i: Int, n: Int, acc: Int) -> Int { if i == n { acc } else { count(i + 1, n, acc + leaf(i, acc % 7)) } }
choreography main(A, B) {
    A.print(count(0, 10, 0));
    A.print(deep(100));
}
";

/// Generated code calls the runtime directly (its functions are declared colocated: the
/// runtime is linked statically into every role executable), and checks the stack only
/// before calls that can recurse: the loop calling a leaf has no check, the recursion one.
#[test]
fn runtime_calls_are_direct_and_only_recursive_calls_check_the_stack() {
    let dir = std::env::temp_dir().join(format!("chor-clif-leaf-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let src = dir.join("leaf.chor");
    std::fs::write(&src, LEAF_CALLS).expect("write");
    let clif = dir.join("clif");
    let out = Command::new(env!("CARGO_BIN_EXE_chor"))
        .arg("build")
        .arg(&src)
        .arg("-o")
        .arg(dir.join("out"))
        .env("CHOR_DUMP_CLIF", &clif)
        .output()
        .expect("chor runs");
    ok(&out, "leaf.chor");
    let mut fns = Vec::new();
    for e in std::fs::read_dir(clif.join("A")).expect("role A's folder") {
        let path = e.expect("entry").path();
        let name = path
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&path).expect("clif");
        if name.starts_with("chor_fn_") || name.starts_with("chor_proc_") {
            for line in text.lines().filter(|l| l.trim_start().starts_with("fn")) {
                assert!(
                    line.contains("= colocated "),
                    "{name}: an indirect call: {line}"
                );
            }
        }
        if name.starts_with("chor_fn_") {
            fns.push((name, text));
        }
    }
    // leaf, deep and count, each lowered once.
    assert_eq!(
        fns.len(),
        3,
        "{:?}",
        fns.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    let checking: Vec<_> = fns
        .iter()
        .filter(|(_, t)| t.contains("get_stack_pointer"))
        .collect();
    assert_eq!(
        checking.len(),
        1,
        "one function checks the stack: {checking:?}"
    );
    // The one that checks is the recursion (`deep`, whose body calls itself and `leaf`).
    let calls =
        checking[0].1.matches(" = call fn").count() + checking[0].1.matches("    call fn").count();
    assert!(calls >= 2, "{}", checking[0].1);
    let _ = std::fs::remove_dir_all(&dir);
}
