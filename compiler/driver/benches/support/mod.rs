//! What the benchmarks that build programs share: the `chor` under test and a native build.
// Each benchmark uses a part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `chor` executable of this build.
pub fn chor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chor"))
}

/// Writes `src` to `dir/NAME.chor` and builds it natively into `dir/NAME`; returns that
/// directory.
pub fn build_native(dir: &Path, name: &str, src: &str) -> PathBuf {
    let file = dir.join(format!("{name}.chor"));
    std::fs::write(&file, src).expect("write");
    let out = dir.join(name);
    let o = chor()
        .args(["build", "--backend", "native", "-o"])
        .arg(&out)
        .arg(&file)
        .output()
        .expect("chor runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}
