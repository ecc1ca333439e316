//! Embeds the example programs (`examples/*.chor`) in the playground, so that each is one click
//! away without any file next to the binary.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)] // a build script reads the examples and talks to cargo on stdout

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read when the script runs, not when it was compiled: a checkout whose build directory
    // moved (or a copied target/) must still find its own examples.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let dir = Path::new(&manifest).join("../../examples");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(d) => d
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "chor"))
            .collect(),
        // An empty playground would build and only fail in its tests: say why here.
        Err(e) => panic!("cannot read the examples in {}: {e}", dir.display()),
    };
    files.sort();
    let mut out = String::from(
        "/// (name, source) of each example program.\npub const EXAMPLES: &[(&str, &str)] = &[\n",
    );
    for f in files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f.file_stem().and_then(|s| s.to_str()).unwrap_or("example");
        let _ = writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            f.display().to_string()
        );
    }
    out.push_str("];\n");
    let out_dir = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    if let Err(e) = std::fs::write(Path::new(&out_dir).join("examples.rs"), out) {
        panic!("cannot write the list of examples: {e}");
    }
}
