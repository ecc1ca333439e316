//! chor-driver: the compiler's front door — the salsa database, file access, and the
//! implementation of each `chor` command (the binary only parses arguments).

pub mod db;
pub mod host;

use chor_check::Program;
use chor_diagnostics::{Diagnostic, SourceMap, render};
use chor_interp::{Io, RoleError, Simulator, TraceEvent};
use chor_project::LocalProgram;
use db::{Database, SourceFile};
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

/// A loaded root file and its database.
pub struct Session {
    pub db: Database,
    pub root: SourceFile,
    pub color: bool,
}

impl Session {
    pub fn open(path: &Path) -> Result<Session, String> {
        let db = Database::default();
        let root = db.load_file(path)?;
        Ok(Session {
            db,
            root,
            color: false,
        })
    }

    pub fn diagnostics(&self) -> std::sync::Arc<Vec<Diagnostic>> {
        db::check_query(&self.db, self.root)
    }

    pub fn program(&self) -> std::sync::Arc<Program> {
        db::program(&self.db, self.root)
    }

    pub fn render(&self, diags: &[Diagnostic]) -> String {
        render(diags, &self.db, self.color)
    }

    /// Check, print diagnostics to stderr; Ok(program) when there are no errors.
    pub fn checked(&self) -> Result<std::sync::Arc<Program>, i32> {
        let diags = self.diagnostics();
        if !diags.is_empty() {
            eprint!("{}", self.render(&diags));
        }
        if diags.iter().any(Diagnostic::is_error) {
            let n = diags.iter().filter(|d| d.is_error()).count();
            eprintln!(
                "error: {} found {n} error{}",
                self.name(),
                if n == 1 { "" } else { "s" }
            );
            return Err(1);
        }
        let prog = self.program();
        if prog.chor("main").is_none() {
            eprintln!(
                "error: {} has no `choreography main(...)` to run",
                self.name()
            );
            return Err(1);
        }
        Ok(prog)
    }

    pub fn name(&self) -> String {
        self.db.name(self.root.id(&self.db))
    }

    /// Render a runtime error at a role as a diagnostic with its source line.
    pub fn runtime_error(&self, e: &RoleError) -> String {
        match e.span {
            Some(span)
                if span != chor_diagnostics::Span::default()
                    || self.root.id(&self.db) == span.file =>
            {
                let d = Diagnostic::error(
                    "E0900",
                    format!("role {} stopped: {}", e.role, e.message),
                    span,
                    format!("{} was running this", e.role),
                );
                self.render(&[d])
            }
            _ => format!("error: role {} stopped: {}\n", e.role, e.message),
        }
    }
}

/// Prints `[Role] line` as lines arrive; stdin goes to the first role of `main`.
pub struct StdIo {
    pub first_role: String,
    out: Mutex<std::io::Stdout>,
    input: Mutex<()>,
}

impl StdIo {
    pub fn new(first_role: &str) -> StdIo {
        StdIo {
            first_role: first_role.to_owned(),
            out: Mutex::new(std::io::stdout()),
            input: Mutex::new(()),
        }
    }
}

impl Io for StdIo {
    fn print(&self, role: &str, line: &str) {
        let mut out = match self.out.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        for l in line.split('\n') {
            let _ = writeln!(out, "[{role}] {l}");
        }
        let _ = out.flush();
    }
    fn read_line(&self, role: &str) -> String {
        if role != self.first_role {
            return String::new();
        }
        let _guard = match self.input.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let mut s = String::new();
        let _ = std::io::stdin().lock().read_line(&mut s);
        while s.ends_with('\n') || s.ends_with('\r') {
            s.pop();
        }
        s
    }
}

/// Collects `(role, line)` pairs in memory (tests, the language server).
#[derive(Default)]
pub struct CaptureIo {
    pub lines: Mutex<Vec<(String, String)>>,
    pub input: Mutex<Vec<String>>,
    pub first_role: String,
}

impl Io for CaptureIo {
    fn print(&self, role: &str, line: &str) {
        if let Ok(mut l) = self.lines.lock() {
            for part in line.split('\n') {
                l.push((role.to_owned(), part.to_owned()));
            }
        }
    }
    fn read_line(&self, role: &str) -> String {
        if role != self.first_role {
            return String::new();
        }
        match self.input.lock() {
            Ok(mut i) if !i.is_empty() => i.remove(0),
            _ => String::new(),
        }
    }
}

fn first_role(prog: &Program) -> String {
    prog.chor("main")
        .and_then(|m| m.roles.first())
        .map(|r| r.name.clone())
        .unwrap_or_default()
}

/// `chor check FILE [--format json]`
pub fn cmd_check(path: &Path, json: bool, color: bool) -> i32 {
    let mut s = match Session::open(path) {
        Ok(s) => s,
        Err(e) => return io_error(&e),
    };
    s.color = color;
    let diags = s.diagnostics();
    if json {
        println!("{}", chor_diagnostics::to_json(&diags, &s.db));
    } else if !diags.is_empty() {
        eprint!("{}", s.render(&diags));
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        if !json {
            eprintln!(
                "error: {} found {errors} error{}",
                s.name(),
                if errors == 1 { "" } else { "s" }
            );
        }
        1
    } else {
        if !json {
            eprintln!("{}: ok", s.name());
        }
        0
    }
}

fn io_error(e: &str) -> i32 {
    eprintln!("error: {e}");
    2
}

/// Projection of `main` (and what it calls) for every role.
pub fn projections(prog: &Program) -> Result<Vec<LocalProgram>, Vec<Diagnostic>> {
    chor_project::project_program(prog, "main")
}

/// `chor project FILE [--role R]`
pub fn cmd_project(path: &Path, role: Option<&str>, color: bool) -> i32 {
    let mut s = match Session::open(path) {
        Ok(s) => s,
        Err(e) => return io_error(&e),
    };
    s.color = color;
    let prog = match s.checked() {
        Ok(p) => p,
        Err(code) => return code,
    };
    let locals = match projections(&prog) {
        Ok(l) => l,
        Err(d) => {
            eprint!("{}", s.render(&d));
            return 1;
        }
    };
    if let Some(r) = role {
        if !locals.iter().any(|l| l.role == r) {
            let roles: Vec<&str> = locals.iter().map(|l| l.role.as_str()).collect();
            eprintln!(
                "error: `main` has no role `{r}` (its roles are {})",
                roles.join(", ")
            );
            return 1;
        }
    }
    let mut first = true;
    for l in locals.iter().filter(|l| role.is_none_or(|r| r == l.role)) {
        if !first {
            println!();
        }
        first = false;
        print!("{}", l.to_text());
    }
    0
}

/// `chor simulate FILE [--trace]`
pub fn cmd_simulate(path: &Path, trace: bool, color: bool) -> i32 {
    let mut s = match Session::open(path) {
        Ok(s) => s,
        Err(e) => return io_error(&e),
    };
    s.color = color;
    let prog = match s.checked() {
        Ok(p) => p,
        Err(code) => return code,
    };
    let io = StdIo::new(&first_role(&prog));
    let tracer = |e: &TraceEvent| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{e}");
    };
    let result = chor_interp::with_big_stack(|| {
        let sim = Simulator::new(&prog, &io, if trace { Some(&tracer) } else { None });
        sim.run("main")
    });
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprint!("{}", s.runtime_error(&e));
            1
        }
    }
}

/// `chor build FILE -o DIR`
pub fn cmd_build(path: &Path, out: &Path, color: bool, backend: host::Backend) -> i32 {
    let mut s = match Session::open(path) {
        Ok(s) => s,
        Err(e) => return io_error(&e),
    };
    s.color = color;
    let prog = match s.checked() {
        Ok(p) => p,
        Err(code) => return code,
    };
    let locals = match projections(&prog) {
        Ok(l) => l,
        Err(d) => {
            eprint!("{}", s.render(&d));
            return 1;
        }
    };
    match host::build(&s, &prog, &locals, out, backend) {
        Ok(exes) => {
            for e in exes {
                eprintln!("wrote {}", e.display());
            }
            eprintln!("wrote {}", out.join("deploy.toml").display());
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// `chor run FILE`: build, then run every role as its own process on loopback.
pub fn cmd_run(path: &Path, color: bool, backend: host::Backend) -> i32 {
    let mut s = match Session::open(path) {
        Ok(s) => s,
        Err(e) => return io_error(&e),
    };
    s.color = color;
    let prog = match s.checked() {
        Ok(p) => p,
        Err(code) => return code,
    };
    let locals = match projections(&prog) {
        Ok(l) => l,
        Err(d) => {
            eprint!("{}", s.render(&d));
            return 1;
        }
    };
    host::run(&s, &prog, &locals, backend)
}

/// Run a program in memory through the global interpreter; `(role, line)` output in order.
pub fn simulate_capture(
    prog: &Program,
    input: Vec<String>,
) -> (Vec<(String, String)>, Result<(), RoleError>) {
    let io = CaptureIo {
        first_role: first_role(prog),
        input: Mutex::new(input),
        ..CaptureIo::default()
    };
    let r = chor_interp::with_big_stack(|| Simulator::new(prog, &io, None).run("main"));
    (io.lines.into_inner().unwrap_or_default(), r)
}

/// Run a program's projections in memory; `(role, line)` output (interleaving varies across roles).
pub fn run_projected_capture(
    prog: &Program,
    input: Vec<String>,
    timeout: Duration,
) -> Result<(Vec<(String, String)>, Result<(), RoleError>), Vec<Diagnostic>> {
    let locals = projections(prog)?;
    let io = CaptureIo {
        first_role: first_role(prog),
        input: Mutex::new(input),
        ..CaptureIo::default()
    };
    let r = chor_interp::run_projected(prog, &locals, &io, timeout);
    Ok((io.lines.into_inner().unwrap_or_default(), r))
}
