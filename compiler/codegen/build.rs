//! Builds chor-runtime as a static library for the compiler to embed (`RUNTIME_LIB`), with a
//! nested `cargo rustc --crate-type staticlib` into this build's own `OUT_DIR` (never the
//! outer target directory: that would wait forever on cargo's lock). `CHOR_RUNTIME_LIB=path`
//! uses a library built elsewhere instead.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)] // a build script runs cargo and reads its environment

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let dest = out.join("libchor_runtime.a");
    println!("cargo:rerun-if-env-changed=CHOR_RUNTIME_LIB");
    if let Some(p) = std::env::var_os("CHOR_RUNTIME_LIB") {
        std::fs::copy(&p, &dest).expect("CHOR_RUNTIME_LIB names a readable file");
        return;
    }
    let here = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let runtime = here.join("../../runtime");
    println!("cargo:rerun-if-changed={}", runtime.join("src").display());
    println!(
        "cargo:rerun-if-changed={}",
        runtime.join("Cargo.toml").display()
    );
    // The runtime prints and orders values through chor-print.
    let print = here.join("../print");
    println!("cargo:rerun-if-changed={}", print.join("src").display());
    println!(
        "cargo:rerun-if-changed={}",
        print.join("Cargo.toml").display()
    );
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target_dir = out.join("runtime-target");
    let mut cmd = Command::new(cargo);
    cmd.arg("rustc")
        .arg("--release")
        .arg("--lib")
        .args(["--crate-type", "staticlib"])
        .arg("--manifest-path")
        .arg(runtime.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        // One code generation unit for the runtime itself: its list, value and builtin
        // functions call each other across modules, and with the default sixteen units LLVM
        // could not inline those calls (merge sort of 200,000 Ints spent 7% of its time in
        // small list functions that were separate calls). Its dependencies keep the default.
        .arg("--config")
        .arg("profile.release.package.chor-runtime.codegen-units=1");
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        let drop = k.contains("RUSTFLAGS")
            || k.starts_with("CARGO_BUILD_")
            || k.starts_with("CARGO_TARGET_")
            || k.starts_with("CARGO_PROFILE_")
            || k.starts_with("CARGO_FEATURE_")
            || k.starts_with("CARGO_CFG_")
            || k == "CARGO_MAKEFLAGS"
            || k == "MAKEFLAGS"
            || k == "MFLAGS"
            || k == "RUSTC_WRAPPER"
            || k == "RUSTC_WORKSPACE_WRAPPER"
            || k == "CARGO_LLVM_COV"
            || k == "TARGET"
            || k == "HOST"
            || k == "OPT_LEVEL"
            || k == "PROFILE"
            || k == "DEBUG";
        if drop {
            cmd.env_remove(&k);
        }
    }
    let status = cmd.status().expect("cargo can be run from a build script");
    assert!(
        status.success(),
        "building the chor runtime static library failed"
    );
    let lib = target_dir.join("release/libchor_runtime.a");
    std::fs::copy(&lib, &dest).expect("the runtime static library was built");
}
