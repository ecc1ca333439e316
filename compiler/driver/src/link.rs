//! Linking a compiled role: its object file and the runtime static library, by the system C
//! compiler. This is the native back end's I/O, kept in the driver so that chor-codegen only
//! turns programs into bytes.

use std::path::Path;
use std::process::Command;

/// How a role executable gets the project's extern glue.
#[derive(Debug, Clone, Copy)]
pub enum Glue<'a> {
    /// The glue as one relocatable object (`externs::static_object`), linked in: the calls
    /// of its direct entries are direct calls.
    Static(&'a Path),
    /// The shared library, linked dynamically and found beside the executable (`$ORIGIN`).
    Shared(&'a Path),
}

/// Links an object file with the runtime into the executable `out`, with the system C
/// compiler (`$CC`, else `cc`). `work` is a directory for intermediate files.
/// `glue`: the project's extern glue, if the program declares externs.
pub fn link(obj: &[u8], out: &Path, work: &Path, glue: Option<Glue>) -> Result<(), String> {
    link_all(&[obj], out, work, glue)
}

/// [`link`] for several object files in one executable (a family's members and its
/// dispatching `main`).
pub fn link_all(objs: &[&[u8]], out: &Path, work: &Path, glue: Option<Glue>) -> Result<(), String> {
    std::fs::create_dir_all(work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let lib = work.join("libchor_runtime.a");
    if std::fs::metadata(&lib).map(|m| m.len()).ok() != Some(chor_codegen::RUNTIME_LIB.len() as u64)
    {
        std::fs::write(&lib, chor_codegen::RUNTIME_LIB)
            .map_err(|e| format!("cannot write {}: {e}", lib.display()))?;
    }
    let stem = out
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "role".into());
    let mut os = Vec::new();
    for (i, obj) in objs.iter().enumerate() {
        let o = work.join(format!("{stem}.{i}.o"));
        std::fs::write(&o, obj).map_err(|e| format!("cannot write {}: {e}", o.display()))?;
        os.push(o);
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let output = Command::new(&cc)
        .args(&os)
        .arg(&lib)
        .args(glue.map(|g| match g {
            Glue::Static(p) | Glue::Shared(p) => p.as_os_str(),
        }))
        .args(match glue {
            Some(Glue::Shared(_)) => Some("-Wl,-rpath,$ORIGIN"),
            _ => None,
        })
        .arg("-o")
        .arg(out)
        .args(["-Wl,--gc-sections", "-s", "-lpthread", "-lm", "-ldl"])
        // The unwinder linked in rather than loaded: one shared library fewer for the dynamic
        // loader to find, map and relocate at every start of a role (about 0.1 ms of CPU a
        // process, three of them for a three-role program).
        .arg("-static-libgcc")
        .output();
    let output = match output {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!(
                "cannot link {}: no C compiler `{cc}` found (install gcc or clang, or set CC)",
                out.display()
            ));
        }
        Err(e) => return Err(format!("cannot run the linker `{cc}`: {e}")),
    };
    for o in &os {
        let _ = std::fs::remove_file(o);
    }
    if !output.status.success() {
        return Err(format!(
            "linking {} failed:\n{}",
            out.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}
