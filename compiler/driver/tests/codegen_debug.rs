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
