//! Projects: `chor new NAME` writes a project that `chor check`, `simulate`, `run` and `build`
//! use without a FILE, from the project's directory or below; manifest mistakes name the file,
//! the line and the key.

mod common;

use common::{chor_in, ok, temp_dir, text};
use std::process::Output;

/// `chor new NAME --extern`: the project also has a Rust crate (`[extern] crate`), whose
/// struct and function the program uses; it builds and runs in every back end as written.
#[test]
fn a_new_project_with_an_extern_crate_runs_out_of_the_box() {
    let dir = temp_dir("new-extern");
    ok(
        &chor_in(&dir, &["new", "greeter", "--extern"]),
        "chor new --extern",
    );
    let p = dir.join("greeter");
    for f in [
        "chor.toml",
        "src/main.chor",
        "native/Cargo.toml",
        "native/src/lib.rs",
        "README.md",
        ".gitignore",
    ] {
        assert!(p.join(f).is_file(), "{f} written");
    }
    let toml = std::fs::read_to_string(p.join("chor.toml")).expect("read");
    assert!(toml.contains("[extern]\ncrate = \"native\""), "{toml}");
    let lib = std::fs::read_to_string(p.join("native/src/lib.rs")).expect("read");
    assert!(lib.contains("chor_ffi::chor_struct!"), "{lib}");
    let ignore = std::fs::read_to_string(p.join(".gitignore")).expect("read");
    assert!(ignore.contains("/native/target"), "{ignore}");
    ok(&chor_in(&p, &["check"]), "check");
    let want = "[Client] hello, world (12 characters)";
    // The first command builds the crate; the others reuse cargo's cache.
    for args in [
        &["simulate"][..],
        &["run", "--backend", "interp"][..],
        &["run"][..],
    ] {
        let out = ok(&chor_in(&p, args), format!("{args:?}"));
        assert_eq!(out.trim_end(), want, "{args:?}");
    }
    ok(
        &chor_in(&p, &["fmt", "--check", "src/main.chor"]),
        "fmt --check",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_new_project_runs_without_a_file_argument() {
    let dir = temp_dir("new");
    let out = chor_in(&dir, &["new", "shop"]);
    ok(&out, "chor");
    let shop = dir.join("shop");
    for f in ["chor.toml", "src/main.chor", "README.md", ".gitignore"] {
        assert!(shop.join(f).is_file(), "{f} written");
    }
    let toml = std::fs::read_to_string(shop.join("chor.toml")).expect("read");
    assert!(toml.contains("[package]\nname = \"shop\"\nentry = \"src/main.chor\""));
    let want = "[Server] got hello\n[Client] reply HELLO\n";
    // From the project's directory and from below it.
    for here in [shop.clone(), shop.join("src")] {
        let out = chor_in(&here, &["check"]);
        ok(&out, "check");
        for args in [
            &["simulate"][..],
            &["run", "--backend", "interp"][..],
            &["run"][..],
        ] {
            let out = chor_in(&here, args);
            ok(&out, format!("{args:?}"));
            let mut got: Vec<&str> = std::str::from_utf8(&out.stdout)
                .expect("utf-8")
                .lines()
                .collect();
            let mut exp: Vec<&str> = want.lines().collect();
            got.sort();
            exp.sort();
            assert_eq!(got, exp, "{args:?} in {}", here.display());
        }
    }
    let out = chor_in(&shop, &["build", "-o", "build"]);
    ok(&out, "chor");
    assert!(shop.join("build/Client").is_file() && shop.join("build/deploy.toml").is_file());
    // The formatter keeps the new program as it is.
    let out = chor_in(&shop, &["fmt", "--check", "src/main.chor"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    // A second `chor new` of the same name, or a bad name, changes nothing.
    let out = chor_in(&dir, &["new", "shop"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("shop already exists"));
    let out = chor_in(&dir, &["new", "2shop"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("`2shop` is not a package name"));
    assert!(!dir.join("2shop").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn outside_a_project_a_file_is_needed() {
    let dir = temp_dir("outside");
    for args in [
        &["check"][..],
        &["simulate"][..],
        &["run"][..],
        &["build"][..],
    ] {
        let out = chor_in(&dir, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains("no FILE given, and no chor.toml in this directory"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn manifest_errors_name_file_line_and_key() {
    let dir = temp_dir("bad");
    assert!(chor_in(&dir, &["new", "p"]).status.success());
    let p = dir.join("p");
    let cases = [
        (
            "[package]\nname = \"p\"\nentry = 5\n",
            "chor.toml:3: key `package.entry`: expected a string",
        ),
        (
            "[package]\nname = \"p\"\n\n[extern]\ncrate = \"native\"\n",
            "chor.toml:5: key `extern.crate`: `native` is not a cargo crate",
        ),
        (
            "[package]\nname = \"p\"\n\n[extern]\ncrate = 3\n",
            "chor.toml:5: key `extern.crate`: expected a string",
        ),
        (
            "[package]\nnom = \"p\"\n",
            "chor.toml:2: unknown key `package.nom`",
        ),
        (
            "[package]\nname = \"p\"\nentry = \"src/other.chor\"\n",
            "chor.toml:3: key `package.entry`: the entry file `src/other.chor` does not exist",
        ),
        ("[package\n", "chor.toml:1: invalid TOML"),
    ];
    for (toml, want) in cases {
        std::fs::write(p.join("chor.toml"), toml).expect("write");
        for args in [&["check"][..], &["simulate"][..]] {
            let out = chor_in(&p, args);
            assert_eq!(out.status.code(), Some(2), "{toml:?}");
            assert!(
                text(&out.stderr).contains(want),
                "{toml:?}: {}",
                text(&out.stderr)
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `[deploy]` in chor.toml sets what `chor build` writes into deploy.toml, with the FILE given
/// or not; `chor run` runs with it.
#[test]
fn deploy_defaults_reach_deploy_toml() {
    let dir = temp_dir("deploy");
    assert!(chor_in(&dir, &["new", "p"]).status.success());
    let p = dir.join("p");
    std::fs::write(
        p.join("chor.toml"),
        "[package]\nname = \"p\"\n\n[deploy]\nconnect_timeout_ms = 7000\nidle_timeout_ms = 4321\n",
    )
    .expect("write");
    for (args, out) in [
        (&["build", "-o", "b1"][..], "b1"),
        (&["build", "-o", "b2", "src/main.chor"][..], "b2"),
    ] {
        let o = chor_in(&p, args);
        ok(&o, "chor");
        let deploy = std::fs::read_to_string(p.join(out).join("deploy.toml")).expect("deploy.toml");
        assert!(deploy.contains("connect_timeout_ms = 7000\n"), "{deploy}");
        assert!(deploy.contains("idle_timeout_ms = 4321\n"), "{deploy}");
    }
    let o = chor_in(&p, &["run"]);
    ok(&o, "chor");
    std::fs::write(
        p.join("chor.toml"),
        "[package]\nname = \"p\"\n[deploy]\nidle_timeout_ms = -1\n",
    )
    .expect("write");
    let o = chor_in(&p, &["build", "src/main.chor"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains(
            "chor.toml:4: key `deploy.idle_timeout_ms`: expected a number of milliseconds"
        ),
        "{}",
        text(&o.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `[sizes]` in chor.toml sizes the families of the entry's `main` for every command inside
/// the project, with or without FILE; `--size` overrides it family by family; a bad size or
/// one naming no family of `main` is an error naming the file, the line and the key.
#[test]
fn family_sizes_come_from_the_manifest() {
    let dir = temp_dir("sizes");
    assert!(chor_in(&dir, &["new", "p"]).status.success());
    let p = dir.join("p");
    std::fs::write(
        p.join("src/main.chor"),
        "choreography main(Leader, Workers[], Extra[]) {\n    \
         let Workers.n = index(Workers);\n    Workers.n -> Leader.ns;\n    \
         Leader.print(\"workers \" ++ to_string(list::len(ns)));\n    \
         let Extra.e = index(Extra);\n    Extra.e -> Leader.es;\n    \
         Leader.print(\"extra \" ++ to_string(list::len(es)));\n}\n",
    )
    .expect("write");
    std::fs::write(
        p.join("chor.toml"),
        "[package]\nname = \"p\"\n\n[sizes]\nWorkers = 5\n",
    )
    .expect("write");
    let leader = |o: &Output| -> Vec<String> {
        text(&o.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("[Leader] "))
            .map(str::to_owned)
            .collect()
    };
    for args in [
        &["simulate"][..],
        &["simulate", "src/main.chor"][..],
        &["run", "--backend", "interp"][..],
    ] {
        let o = chor_in(&p, args);
        assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
        assert_eq!(leader(&o), ["workers 5", "extra 3"], "{args:?}");
    }
    // `--size` overrides the manifest for the families it names, and only those.
    let o = chor_in(
        &p,
        &["simulate", "--size", "Workers=2", "--size", "Extra=1"],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(leader(&o), ["workers 2", "extra 1"]);
    let o = chor_in(&p, &["simulate", "--size", "Extra=4"]);
    assert_eq!(leader(&o), ["workers 5", "extra 4"]);
    let o = chor_in(&p, &["check"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = chor_in(&p, &["verify", "src/main.chor"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = chor_in(&p, &["project", "src/main.chor", "--role", "Workers"]);
    assert!(
        text(&o.stdout).contains("Workers[4]") && !text(&o.stdout).contains("Workers[5]"),
        "{}",
        text(&o.stdout)
    );
    let o = chor_in(&p, &["build", "-o", "b"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let deploy = std::fs::read_to_string(p.join("b/deploy.toml")).expect("deploy.toml");
    let workers = deploy
        .lines()
        .find(|l| l.starts_with("Workers"))
        .expect("the family's line");
    assert_eq!(workers.matches(':').count(), 5, "{workers}");
    for (sizes, want) in [
        (
            "Workers = 0",
            "chor.toml:5: key `sizes.Workers`: expected a number of members from 1 to 4096",
        ),
        (
            "Workers = \"five\"",
            "chor.toml:5: key `sizes.Workers`: expected a number of members from 1 to 4096",
        ),
        (
            "Workers = 4097",
            "chor.toml:5: key `sizes.Workers`: expected a number of members from 1 to 4096",
        ),
        (
            "Workers = 2\nWrkers = 2",
            "chor.toml:6: key `sizes.Wrkers`: `main` in src/main.chor has no family `Wrkers` \
             (its families: Workers, Extra)",
        ),
    ] {
        std::fs::write(
            p.join("chor.toml"),
            format!("[package]\nname = \"p\"\n\n[sizes]\n{sizes}\n"),
        )
        .expect("write");
        for args in [
            &["check"][..],
            &["simulate"][..],
            &["check", "src/main.chor"][..],
            &["run", "src/main.chor"][..],
        ] {
            let o = chor_in(&p, args);
            assert_eq!(o.status.code(), Some(2), "{sizes:?} {args:?}");
            assert!(
                text(&o.stderr).contains(want),
                "{sizes:?} {args:?}: {}",
                text(&o.stderr)
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
