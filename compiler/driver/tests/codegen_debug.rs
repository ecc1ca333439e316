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
            // The entry procedure, `chor_entry` and `main` at least (for a member of a family,
            // its entry `chor_member_i` in place of `main`: the family's `main` dispatches).
            assert!(files.len() >= 3, "{}: {files:?}", role.display());
            let entry = match chor_runtime::config::split_member(
                &role.file_name().expect("a name").to_string_lossy(),
            ) {
                Some((_, i)) => format!("{}.clif", chor_codegen::member_entry(i)),
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
