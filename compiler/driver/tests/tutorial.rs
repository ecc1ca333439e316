//! docs/tutorial.md is tested: every ```chor snippet is a complete program that parses and
//! passes the knowledge-of-choice check; when it has a `main`, it is simulated, and when the
//! next code block is a ```text block of `[Role] line` lines, that is its exact output. Every
//! ```chor,fails snippet must be rejected, and the ```text block after it is the exact report
//! (rendered without colour, the file named `tutorial.chor`).
//!
//! A snippet names its file in a first-line comment (`// buy.chor — …`), and reports are rendered
//! with that name. Every `chor … FILE.chor` command the tutorial shows uses a file that a step
//! before it created this way (or one of `examples/`), so a reader can follow along.
//!
//! `TUTORIAL_PRINT=1 cargo test --test tutorial -- --nocapture` prints what each snippet
//! produces, to paste into the tutorial after a deliberate change.

use chor_check::program::from_source;
use chor_diagnostics::{Diagnostic, FileId, SourceMap, render};

struct Block {
    info: String,
    text: String,
    line: usize,
}

fn blocks(md: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut cur: Option<Block> = None;
    for (i, line) in md.lines().enumerate() {
        if let Some(rest) = line.trim_start().strip_prefix("```") {
            match cur.take() {
                Some(b) => out.push(b),
                None => {
                    cur = Some(Block {
                        info: rest.trim().to_owned(),
                        text: String::new(),
                        line: i + 1,
                    });
                }
            }
        } else if let Some(b) = cur.as_mut() {
            b.text.push_str(line);
            b.text.push('\n');
        }
    }
    out
}

struct Snippet<'a>(&'a str);

impl Snippet<'_> {
    /// The file a snippet names in its first line (`// buy.chor — …`).
    fn file_name(&self) -> Option<String> {
        let first = self.0.lines().next()?.strip_prefix("// ")?;
        let name = first.split_whitespace().next()?;
        name.ends_with(".chor").then(|| name.to_owned())
    }
}

impl SourceMap for Snippet<'_> {
    fn name(&self, _: FileId) -> String {
        self.file_name()
            .unwrap_or_else(|| "tutorial.chor".to_owned())
    }
    fn text(&self, _: FileId) -> String {
        self.0.to_owned()
    }
}

/// The `.chor` files named in `chor …` commands of a text (`$ chor check buy.chor`,
/// `` `chor simulate quote.chor` ``), with the line they are on.
fn commanded_files(md: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in md.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("chor ") {
            let after = &rest[at + "chor ".len()..];
            let cmd: Vec<&str> = after
                .split(['`', '|'])
                .next()
                .unwrap_or("")
                .split_whitespace()
                .collect();
            if cmd.len() >= 2 && cmd[0].chars().all(|c| c.is_ascii_lowercase()) {
                for w in &cmd[1..] {
                    if w.ends_with(".chor") && !w.contains("FILE") {
                        out.push((i + 1, (*w).to_owned()));
                    }
                }
            }
            rest = after;
        }
    }
    out
}

#[test]
fn every_file_a_command_uses_was_created_by_an_earlier_step() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/tutorial.md");
    let md = std::fs::read_to_string(&path).expect("docs/tutorial.md exists");
    let created: Vec<(usize, String)> = blocks(&md)
        .iter()
        .filter(|b| b.info.starts_with("chor"))
        .filter_map(|b| Some((b.line, Snippet(&b.text).file_name()?)))
        .collect();
    let used = commanded_files(&md);
    assert!(used.len() >= 8, "commands found: {used:?}");
    for (line, file) in used {
        let known = file.starts_with("examples/")
            || created.iter().any(|(at, name)| *at < line && *name == file);
        assert!(
            known,
            "docs/tutorial.md:{line}: `{file}` is used before any step creates it"
        );
    }
}

fn normalize(s: &str) -> String {
    s.lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

#[test]
fn every_tutorial_snippet_is_checked() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/tutorial.md");
    let md = std::fs::read_to_string(&path).expect("docs/tutorial.md exists");
    let all = blocks(&md);
    let print = std::env::var_os("TUTORIAL_PRINT").is_some();
    let (mut programs, mut failing, mut outputs) = (0, 0, 0);
    for (i, b) in all.iter().enumerate() {
        let next_text = all.get(i + 1).filter(|n| n.info == "text");
        let at = format!("docs/tutorial.md:{}", b.line);
        match b.info.as_str() {
            "chor" => {
                programs += 1;
                let prog = from_source("tutorial.chor", &b.text, vec![]);
                let checked = chor_check::check_program(&prog);
                let errors: Vec<&Diagnostic> = prog
                    .diagnostics
                    .iter()
                    .chain(&checked.diagnostics)
                    .filter(|d| d.is_error())
                    .collect();
                assert!(errors.is_empty(), "{at}: {errors:#?}");
                let koc = chor_project::check_choices(&prog);
                assert!(
                    koc.is_empty(),
                    "{at}: {}",
                    render(&koc, &Snippet(&b.text), false)
                );
                if prog.chor("main").is_none() {
                    continue;
                }
                let (lines, r) = chor_driver::simulate_capture(&prog, vec![]);
                assert_eq!(r, Ok(()), "{at}");
                let got: Vec<String> = lines.iter().map(|(r, l)| format!("[{r}] {l}")).collect();
                let got = got.join("\n");
                if print {
                    println!("--- {at} output\n{got}");
                }
                if let Some(t) = next_text.filter(|t| {
                    t.text
                        .lines()
                        .all(|l| l.trim().is_empty() || l.starts_with('['))
                }) {
                    outputs += 1;
                    assert_eq!(normalize(&got), normalize(&t.text), "{at}: output differs");
                }
            }
            "chor,fails" => {
                failing += 1;
                let name = Snippet(&b.text)
                    .file_name()
                    .unwrap_or_else(|| "tutorial.chor".to_owned());
                let prog = from_source(&name, &b.text, vec![]);
                // Parse errors, then the checks (types, roles, agreement), then knowledge of
                // choice: the first stage that rejects the snippet gives its report.
                let mut diags: Vec<Diagnostic> = prog
                    .diagnostics
                    .iter()
                    .filter(|d| d.is_error())
                    .cloned()
                    .collect();
                if diags.is_empty() {
                    diags = chor_check::check_program(&prog)
                        .diagnostics
                        .into_iter()
                        .filter(|d| d.is_error())
                        .collect();
                }
                if diags.is_empty() {
                    diags = chor_project::check_choices(&prog);
                }
                assert!(
                    !diags.is_empty(),
                    "{at}: this snippet is marked `fails` but passes"
                );
                let report = render(&diags, &Snippet(&b.text), false);
                if print {
                    println!("--- {at} report\n{report}");
                }
                let t = next_text.unwrap_or_else(|| {
                    panic!("{at}: a failing snippet needs the error shown after it")
                });
                assert_eq!(
                    normalize(&report),
                    normalize(&t.text),
                    "{at}: the error differs"
                );
            }
            info if info.starts_with("chor") => panic!("{at}: unknown snippet kind `{info}`"),
            _ => {}
        }
    }
    assert!(
        programs >= 8 && failing >= 1 && outputs >= 5,
        "{programs} programs, {failing} failing, {outputs} outputs"
    );
}
