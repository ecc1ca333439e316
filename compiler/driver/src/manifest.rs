//! Projects: the manifest `chor.toml` and `chor new`.
//!
//! A project is a directory with a `chor.toml`:
//! ```toml
//! [package]
//! name = "shop"
//! entry = "src/main.chor"   # optional; this is the default
//! [deploy]                  # optional: what `chor build` writes into deploy.toml
//! connect_timeout_ms = 10000
//! idle_timeout_ms = 60000
//! [sizes]                   # optional: family sizes when `--size` does not give them
//! Workers = 5
//! ```
//! Inside it (or any directory below), `chor check`, `build`, `run` and `simulate` need no
//! FILE: they use the entry of the nearest `chor.toml` above the working directory. Every
//! mistake in the manifest is reported with the file, the line and the key.

use std::path::{Path, PathBuf};

/// The manifest's file name.
pub const FILE: &str = "chor.toml";

/// A loaded `chor.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The manifest file.
    pub path: PathBuf,
    /// `package.name`.
    pub name: String,
    /// The entry file (`package.entry` resolved against the manifest's directory).
    pub entry: PathBuf,
    /// `[deploy]`: what `chor build` writes into `deploy.toml`'s `[runtime]`.
    pub deploy: Deploy,
    /// `[extern] crate`: the directory of the cargo crate implementing the `extern fn`s
    /// (resolved against the manifest's directory).
    pub extern_crate: Option<PathBuf>,
    /// `[sizes]`: the size of each family of the entry's `main` that `--size` does not give.
    pub sizes: chor_check::families::Sizes,
}

/// The `[deploy]` defaults of a project (milliseconds; None: chor's own default).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Deploy {
    pub connect_timeout_ms: Option<u64>,
    pub idle_timeout_ms: Option<u64>,
}

/// The nearest `chor.toml` in `start` or a directory above it.
pub fn find(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|d| d.join(FILE))
        .find(|p| p.is_file())
}

/// 1-based line of a byte offset.
fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Whether `name` can name a package (and the directory `chor new` creates).
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Reads and checks the manifest at `path`.
pub fn load(path: &Path) -> Result<Manifest, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text, path)
}

/// Checks a manifest's text; `path` is where it was read from (named in errors, and the base
/// of the entry path).
pub fn parse(text: &str, path: &Path) -> Result<Manifest, String> {
    use toml::de::{DeTable, DeValue};
    let file = path.display().to_string();
    let at = |offset: usize, what: String| format!("{file}:{}: {what}", line_at(text, offset));
    let doc = DeTable::parse(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        at(offset, format!("invalid TOML: {}", e.message().trim()))
    })?;
    let mut name: Option<String> = None;
    let mut entry: Option<(String, usize)> = None;
    let mut package_at: Option<usize> = None;
    let mut deploy = Deploy::default();
    let mut extern_crate: Option<(String, usize)> = None;
    // Family name → (size, offset of its key).
    let mut sizes: Vec<(String, usize, usize)> = Vec::new();
    for (key, item) in doc.get_ref() {
        let k = key.get_ref().as_ref();
        let kat = key.span().start;
        let DeValue::Table(table) = item.get_ref() else {
            return Err(at(kat, format!("key `{k}`: expected a table (`[{k}]`)")));
        };
        match k {
            "package" => {
                package_at = Some(kat);
                for (key, value) in table {
                    let sub = key.get_ref().as_ref();
                    let sat = key.span().start;
                    let text_value = || match value.get_ref() {
                        DeValue::String(s) => Ok(s.to_string()),
                        _ => Err(at(sat, format!("key `package.{sub}`: expected a string"))),
                    };
                    match sub {
                        "name" => {
                            let n = text_value()?;
                            if !valid_name(&n) {
                                return Err(at(
                                    sat,
                                    format!(
                                        "key `package.name`: `{n}` is not a package name (a \
                                         letter, then letters, digits, `_` or `-`)"
                                    ),
                                ));
                            }
                            name = Some(n);
                        }
                        "entry" => entry = Some((text_value()?, sat)),
                        "version" | "description" => {
                            text_value()?;
                        }
                        other => {
                            return Err(at(
                                sat,
                                format!(
                                    "unknown key `package.{other}` (the keys of [package] are \
                                     name, entry, version, description)"
                                ),
                            ));
                        }
                    }
                }
            }
            "deploy" => {
                for (key, value) in table {
                    let sub = key.get_ref().as_ref();
                    let sat = key.span().start;
                    let ms = match value.get_ref() {
                        DeValue::Integer(i) => u64::from_str_radix(i.as_str(), i.radix())
                            .ok()
                            .filter(|n| (1..=86_400_000).contains(n)),
                        _ => None,
                    };
                    let Some(ms) = ms else {
                        return Err(at(
                            sat,
                            format!(
                                "key `deploy.{sub}`: expected a number of milliseconds from 1 \
                                 to 86400000"
                            ),
                        ));
                    };
                    match sub {
                        "connect_timeout_ms" => deploy.connect_timeout_ms = Some(ms),
                        "idle_timeout_ms" => deploy.idle_timeout_ms = Some(ms),
                        other => {
                            return Err(at(
                                sat,
                                format!(
                                    "unknown key `deploy.{other}` (the keys of [deploy] are \
                                     connect_timeout_ms, idle_timeout_ms)"
                                ),
                            ));
                        }
                    }
                }
            }
            "extern" => {
                for (key, value) in table {
                    let sub = key.get_ref().as_ref();
                    let sat = key.span().start;
                    match (sub, value.get_ref()) {
                        ("crate", DeValue::String(s)) => extern_crate = Some((s.to_string(), sat)),
                        ("crate", _) => {
                            return Err(at(
                                sat,
                                "key `extern.crate`: expected a string (the crate's directory)"
                                    .to_string(),
                            ));
                        }
                        (other, _) => {
                            return Err(at(
                                sat,
                                format!(
                                    "unknown key `extern.{other}` (the only key of [extern] is \
                                     crate)"
                                ),
                            ));
                        }
                    }
                }
            }
            "sizes" => {
                let max = chor_check::families::MAX_SIZE;
                for (key, value) in table {
                    let sub = key.get_ref().as_ref();
                    let sat = key.span().start;
                    let n = match value.get_ref() {
                        DeValue::Integer(i) => usize::from_str_radix(i.as_str(), i.radix())
                            .ok()
                            .filter(|n| (1..=max).contains(n)),
                        _ => None,
                    };
                    let Some(n) = n else {
                        return Err(at(
                            sat,
                            format!(
                                "key `sizes.{sub}`: expected a number of members from 1 to {max}"
                            ),
                        ));
                    };
                    sizes.push((sub.to_owned(), n, sat));
                }
            }
            other => {
                return Err(at(
                    kat,
                    format!(
                        "unknown key `{other}` (the tables of a manifest are [package], [deploy], \
                         [extern] and [sizes])"
                    ),
                ));
            }
        }
    }
    let Some(package_at) = package_at else {
        return Err(format!(
            "{file}: key `package` is missing (add a [package] table)"
        ));
    };
    let Some(name) = name else {
        return Err(at(package_at, "key `package.name` is missing".to_string()));
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let (entry_text, entry_at) = entry.unwrap_or_else(|| ("src/main.chor".into(), package_at));
    let entry = dir.join(&entry_text);
    if !entry.is_file() {
        return Err(at(
            entry_at,
            format!(
                "key `package.entry`: the entry file `{entry_text}` does not exist (looked for {})",
                entry.display()
            ),
        ));
    }
    // Every size names a family of the entry's `main` (a program that does not parse, or
    // has no `main`, is reported by the command that checks it).
    if let Some(families) = std::fs::read_to_string(&entry)
        .ok()
        .and_then(|src| main_families(&src))
    {
        for (name, _, kat) in &sizes {
            if !families.contains(name) {
                let known = if families.is_empty() {
                    "it has none".to_owned()
                } else {
                    format!("its families: {}", families.join(", "))
                };
                return Err(at(
                    *kat,
                    format!(
                        "key `sizes.{name}`: `main` in {entry_text} has no family `{name}` ({known})"
                    ),
                ));
            }
        }
    }
    let sizes = sizes.into_iter().map(|(k, n, _)| (k, n)).collect();
    let extern_crate = match extern_crate {
        None => None,
        Some((text, kat)) => {
            let dir = dir.join(&text);
            if !dir.join("Cargo.toml").is_file() {
                return Err(at(
                    kat,
                    format!(
                        "key `extern.crate`: `{text}` is not a cargo crate (no Cargo.toml in {})",
                        dir.display()
                    ),
                ));
            }
            Some(dir)
        }
    };
    Ok(Manifest {
        path: path.to_path_buf(),
        name,
        entry,
        deploy,
        extern_crate,
        sizes,
    })
}

/// The families of the `main` choreography of a source text (`None` when it has no `main`).
pub fn main_families(src: &str) -> Option<Vec<String>> {
    let parsed = chor_syntax::parse(chor_diagnostics::FileId(0), src);
    parsed.file.items.iter().find_map(|item| match &**item {
        chor_syntax::ast::Item::Chor(c) if c.name.name == "main" => {
            Some(c.families.iter().map(|f| f.name.clone()).collect())
        }
        _ => None,
    })
}

/// The manifest of the project a source file belongs to: the nearest `chor.toml` in the
/// file's directory or above it, if there is one.
pub fn around(file: &Path) -> Result<Option<Manifest>, String> {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    match find(&dir) {
        Some(p) => load(&p).map(Some),
        None => Ok(None),
    }
}

/// The entry file of the project around the working directory, for a command given no FILE.
pub fn entry_here() -> Result<PathBuf, String> {
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;
    let Some(path) = find(&cwd) else {
        return Err(format!(
            "no FILE given, and no {FILE} in this directory or above it (give a .chor file, or \
             create a project with `chor new NAME`)"
        ));
    };
    // Name the manifest relative to the working directory, as the user would type it.
    let shown = path
        .strip_prefix(&cwd)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.clone());
    let m = load(&shown)?;
    Ok(m.entry)
}

const MAIN: &str = "// main.chor — the entry of this project: `chor run` runs every role of `main`.

choreography main(Client, Server) {
    let Client.request = \"hello\";
    Client.request -> Server.request;
    Server.print(\"got \" ++ request);
    let Server.reply = string::to_upper(request);
    Server.reply -> Client.reply;
    Client.print(\"reply \" ++ reply);
}
";

/// The entry of a project made with `chor new NAME --extern`: a struct and a function of the
/// crate at `native/`, called at one role.
const EXTERN_MAIN: &str =
    "// main.chor — the entry of this project: `chor run` runs every role of `main`.

/// Declared with the same name and fields in `native/src/lib.rs` (`chor_struct!`).
struct Greeting { text: String, length: Int }

/// Implemented in Rust: `pub fn greet` in `native/src/lib.rs`.
extern fn greet(name: String) -> Greeting;

choreography main(Client, Server) {
    let Client.name = \"world\";
    Client.name -> Server.name;
    let Server.greeting = greet(name);
    Server.greeting -> Client.greeting;
    Client.print(greeting.text ++ \" (\" ++ to_string(greeting.length) ++ \" characters)\");
}
";

/// The crate of a project made with `--extern`: it depends on the copy of `chor-ffi` that
/// chor writes before building it (see docs/language.md, \"Rust externs\").
const EXTERN_CARGO: &str = "[package]
name = \"native\"
version = \"0.1.0\"
edition = \"2024\"
publish = false

[dependencies]
# Written by chor before it builds this crate (see chor's docs/language.md, \"Rust externs\").
chor-ffi = { path = \"../target/chor/chor-ffi\" }
";

const EXTERN_LIB: &str =
    "//! The Rust side of this project: every `pub fn` at the root that `src/main.chor` declares
//! as an `extern fn` runs in the roles that call it, in every back end. Add crates.io
//! dependencies to `Cargo.toml` as in any crate.

chor_ffi::chor_struct! {
    /// The chor struct `Greeting`, with its fields in the chor order.
    pub struct Greeting { pub text: String, pub length: i64 }
}

/// A greeting for `name`, and its length in characters.
pub fn greet(name: String) -> Greeting {
    let text = format!(\"hello, {name}\");
    Greeting {
        length: text.chars().count() as i64,
        text,
    }
}
";

/// `chor new NAME`: a project in the new directory NAME (its last component is the package
/// name); with `with_extern`, also a Rust crate at `NAME/native` that the program calls
/// (`chor new NAME --extern`). Returns the files written.
pub fn new_project(dir: &Path, with_extern: bool) -> Result<Vec<PathBuf>, String> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !valid_name(&name) {
        return Err(format!(
            "`{name}` is not a package name: a letter, then letters, digits, `_` or `-`"
        ));
    }
    if dir.exists() {
        return Err(format!("{} already exists", dir.display()));
    }
    let mut manifest = format!("[package]\nname = \"{name}\"\nentry = \"src/main.chor\"\n");
    let mut ignore = "/build/\n".to_string();
    let mut native = "";
    if with_extern {
        manifest.push_str("\n[extern]\ncrate = \"native\"\n");
        ignore.push_str("/target\n/native/target\n/native/Cargo.lock\n");
        native = "\nThe functions declared `extern fn` in `src/main.chor` are Rust: `native/src/lib.rs`. \
                  `chor run`, `simulate` and `build` build that crate with cargo first.\n";
    }
    let main = if with_extern { EXTERN_MAIN } else { MAIN };
    let mut files: Vec<(PathBuf, String)> = vec![
        (dir.join(FILE), manifest),
        (dir.join("src").join("main.chor"), main.to_string()),
        (
            dir.join("README.md"),
            format!(
                "# {name}\n\nA choreographic program: `src/main.chor` is the whole protocol, \
                 one program for every role.\n\n```\nchor check       # type-check; proves \
                 the roles cannot deadlock\nchor simulate    # run it in the reference \
                 interpreter\nchor run         # one process per role, on loopback\nchor \
                 build -o build   # one executable per role, and build/deploy.toml\n```\n{native}"
            ),
        ),
        (dir.join(".gitignore"), ignore),
    ];
    if with_extern {
        let crate_dir = dir.join("native");
        files.push((crate_dir.join("Cargo.toml"), EXTERN_CARGO.to_string()));
        files.push((crate_dir.join("src").join("lib.rs"), EXTERN_LIB.to_string()));
    }
    let mut written = Vec::new();
    for (path, text) in files {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(toml: &str) -> (PathBuf, Result<Manifest, String>) {
        let dir = std::env::temp_dir().join(format!(
            "chor-manifest-{}-{}",
            std::process::id(),
            toml.len()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src")).expect("dir");
        std::fs::write(dir.join("src/main.chor"), MAIN).expect("write");
        let path = dir.join(FILE);
        std::fs::write(&path, toml).expect("write");
        let r = load(&path);
        (dir, r)
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let cases = [
            (
                "[package]\nname = \"a\"\nentry = 3\n",
                ":3: key `package.entry`: expected a string",
            ),
            (
                "[package]\nname = \"a\"\nfoo = \"x\"\n",
                ":3: unknown key `package.foo`",
            ),
            ("\n[package]\n", ":2: key `package.name` is missing"),
            (
                "[package]\nname = \"a\"\n[deps]\n",
                ":3: unknown key `deps`",
            ),
            (
                "[package]\nname = \"a\"\nentry = \"src/x.chor\"\n",
                ":3: key `package.entry`: the entry file `src/x.chor` does not exist",
            ),
            (
                "[package]\nname = \"9a\"\n",
                ":2: key `package.name`: `9a` is not a package name",
            ),
            ("[package]\nname = \"a\n", ":2: invalid TOML"),
            ("package = 1\n", ":1: key `package`: expected a table"),
            (
                "[package]\nname = \"a\"\n[deploy]\nidle_timeout_ms = 0\n",
                ":4: key `deploy.idle_timeout_ms`: expected a number",
            ),
            (
                "[package]\nname = \"a\"\n[deploy]\nretries = 3\n",
                ":4: unknown key `deploy.retries`",
            ),
            ("", ": key `package` is missing"),
        ];
        for (toml, want) in cases {
            let (dir, r) = project(toml);
            let e = r.expect_err(toml);
            assert!(e.starts_with(&dir.join(FILE).display().to_string()), "{e}");
            assert!(e.contains(want), "{toml:?}: {e}");
            let _ = std::fs::remove_dir_all(&dir);
        }
        let (dir, r) = project("[package]\nname = \"shop\"\n[deploy]\nidle_timeout_ms = 5000\n");
        let m = r.expect("a good manifest");
        assert_eq!(m.deploy.idle_timeout_ms, Some(5000));
        assert_eq!(m.deploy.connect_timeout_ms, None);
        assert_eq!(m.name, "shop");
        assert_eq!(m.entry, dir.join("src/main.chor"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
