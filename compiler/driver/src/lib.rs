//! chor-driver: the compiler's front door — the salsa database, file access, and the
//! implementation of each `chor` command (the binary only parses arguments).

pub mod db;
pub mod externs;
pub mod host;
pub mod keys;
mod link;
mod lsp_host;
pub mod manifest;
pub mod playground;
pub mod source;

use chor_check::Program;
use chor_diagnostics::{Diagnostic, SourceMap, render};
use chor_interp::{Io, RoleError, Simulator, TraceEvent};
use chor_project::LocalProgram;
use db::{Database, SourceFile};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// Run `f` on a thread with a large stack; run it inline if no thread can be started.
pub fn with_big_stack_or_inline(f: fn() -> i32) -> i32 {
    let spawned = std::thread::Builder::new()
        .stack_size(chor_interp::STACK_SIZE)
        .spawn(f);
    match spawned {
        Ok(h) => h.join().unwrap_or(101),
        Err(_) => f(),
    }
}

/// A loaded root file and its database.
pub struct Session {
    pub db: Database,
    pub root: SourceFile,
    pub color: bool,
    /// The `[extern] crate` of the project the file belongs to, if any.
    pub extern_crate: Option<PathBuf>,
    /// The directory of that project's chor.toml.
    pub project_dir: Option<PathBuf>,
    /// Why the chor.toml around the file could not be read, if it could not: an `extern fn`
    /// then lacks its crate because of the manifest, and E0601 says so.
    pub manifest_error: Option<String>,
}

/// The family sizes of this process's command (`--size Ws=N`), set once by the command line
/// before any program is opened.
static FAMILY_SIZES: std::sync::OnceLock<chor_check::families::Sizes> = std::sync::OnceLock::new();

/// Set the family sizes every program of this process is expanded at (once; later calls
/// are ignored).
pub fn set_family_sizes(sizes: chor_check::families::Sizes) {
    let _ = FAMILY_SIZES.set(sizes);
}

/// The family sizes set by [`set_family_sizes`] (none: every family at the default size).
pub fn family_sizes() -> chor_check::families::Sizes {
    FAMILY_SIZES.get().cloned().unwrap_or_default()
}

/// Parse the values of `--size Name=N` (repeatable).
pub fn parse_sizes(values: &[String]) -> Result<chor_check::families::Sizes, String> {
    let mut out = chor_check::families::Sizes::new();
    for v in values {
        let (name, n) = v
            .split_once('=')
            .ok_or_else(|| format!("`--size {v}`: expected `--size Family=N`"))?;
        let n: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("`--size {v}`: the size of `{name}` must be a whole number"))?;
        if n == 0 || n > chor_check::families::MAX_SIZE {
            return Err(format!(
                "`--size {v}`: a family has 1 to {} members",
                chor_check::families::MAX_SIZE
            ));
        }
        if out.insert(name.trim().to_owned(), n).is_some() {
            return Err(format!("`--size {name}=…` is given twice"));
        }
    }
    Ok(out)
}

impl Session {
    /// Open `path` with `main`'s families at the sizes of `--size`, and for the families it
    /// does not size, at the `[sizes]` of the project around `path` (its `chor.toml`). When
    /// the manifest cannot be read and the program has families, its error is the answer: the
    /// sizes it may give cannot be known.
    pub fn open(path: &Path) -> Result<Session, String> {
        let mut sizes = family_sizes();
        let project = manifest::around(path);
        if let Ok(Some(m)) = &project
            && !m.sizes.is_empty()
        {
            // The sizes are the entry's; a file with another `main` takes those of its families.
            let families = std::fs::read_to_string(path)
                .ok()
                .and_then(|src| manifest::main_families(&src))
                .unwrap_or_default();
            for (f, n) in &m.sizes {
                if families.contains(f) {
                    sizes.entry(f.clone()).or_insert(*n);
                }
            }
        }
        let s = Session::open_sized(path, sizes)?;
        if let Err(e) = project
            && !s.program().families.is_empty()
        {
            return Err(e);
        }
        Ok(s)
    }

    /// [`Session::open`] with `main`'s families at `sizes` (instead of `--size`).
    pub fn open_sized(path: &Path, sizes: chor_check::families::Sizes) -> Result<Session, String> {
        let db = Database::with_sizes(sizes);
        let root = db.load_file(path)?;
        // A broken manifest is reported by the commands that read its settings, and by E0601
        // when the program has externs.
        let (project, manifest_error) = match manifest::around(path) {
            Ok(m) => (m, None),
            Err(e) => (None, Some(e)),
        };
        let project_dir = project
            .as_ref()
            .and_then(|m| m.path.parent().map(Path::to_path_buf));
        let extern_crate = project.and_then(|m| m.extern_crate);
        Ok(Session {
            db,
            root,
            color: false,
            extern_crate,
            project_dir,
            manifest_error,
        })
    }

    /// Open for a command: an unreadable file is reported (exit code 2).
    pub fn open_colored(path: &Path, color: bool) -> Result<Session, i32> {
        let mut s = Session::open(path).map_err(|e| io_error(&e))?;
        s.color = color;
        Ok(s)
    }

    pub fn diagnostics(&self) -> std::sync::Arc<Vec<Diagnostic>> {
        let diags = db::check_query(&self.db, self.root);
        if self.extern_crate.is_some() {
            return diags;
        }
        let orphans = chor_check::externs::without_crate(&self.program());
        if orphans.is_empty() {
            return diags;
        }
        let mut all = (*diags).clone();
        all.extend(orphans.into_iter().map(|d| match &self.manifest_error {
            Some(e) => d.with_note(format!("the project's chor.toml could not be read: {e}")),
            None => d,
        }));
        std::sync::Arc::new(all)
    }

    /// Builds the project's extern crate when the program declares externs (diagnostics
    /// printed on failure); Ok is the glue library to load.
    pub fn build_externs(&self, prog: &Program) -> Result<Option<PathBuf>, i32> {
        let (Some(krate), Some(project)) = (&self.extern_crate, &self.project_dir) else {
            return Ok(None);
        };
        match externs::build(prog, project, krate) {
            Ok(lib) => Ok(lib),
            Err(d) => {
                eprint!("{}", self.render(&d));
                Err(1)
            }
        }
    }

    /// Builds and loads the extern crate into this process, for the interpreters.
    pub fn load_externs(&self, prog: &Program) -> Result<(), i32> {
        if let Some(lib) = self.build_externs(prog)? {
            chor_interp::externs::load(&lib).map_err(|e| io_error(&e))?;
        }
        Ok(())
    }

    pub fn program(&self) -> std::sync::Arc<Program> {
        db::program(&self.db, self.root)
    }

    pub fn render(&self, diags: &[Diagnostic]) -> String {
        render(diags, &self.db, self.color)
    }

    /// Check, print diagnostics to stderr; Ok(the resolved program) when there are no errors.
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
        let prog = db::resolved(&self.db, self.root);
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

    /// The location of a span as every back end prints it in a fault: `file:line`, with user
    /// files named relative to the root file's directory (as in role executables) and the
    /// standard library's as `<stdlib>/list.chor`.
    pub fn location(&self, span: chor_diagnostics::Span) -> String {
        use db::Db;
        if let Some((_, name, text)) = chor_check::stdlib::by_file(span.file) {
            let (line, _) = chor_diagnostics::line_col(text, span.start);
            return format!("{name}:{line}");
        }
        let root_dir = self
            .root
            .path(&self.db)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        match self.db.file_by_id(span.file) {
            Some(f) => {
                let path = f.path(&self.db).clone();
                let rel = path
                    .strip_prefix(&root_dir)
                    .map_or(path.clone(), Path::to_path_buf);
                let (line, _) = chor_diagnostics::line_col(f.text(&self.db), span.start);
                format!("{}:{line}", host::normalize(&rel))
            }
            None => "an unknown location".to_owned(),
        }
    }

    /// Render a runtime error at a role: first the line `chor run` prints for it (the same
    /// text in every back end), then the source line it points at.
    pub fn runtime_error(&self, e: &RoleError) -> String {
        let mut text = format!("error: {}\n", fault_line(e, |s| self.location(s)));
        text.push_str(&self.runtime_snippet(e));
        text
    }

    fn runtime_snippet(&self, e: &RoleError) -> String {
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
            _ => String::new(),
        }
    }
}

/// The one-line text of a role's fault, as every back end prints it after `error: `:
/// `role A: division by zero at f.chor:3`, and for a fault inside the standard library
/// `role A: integer overflow at <stdlib>/int.chor:5 (called from f.chor:9)`.
pub fn fault_line(e: &RoleError, location: impl Fn(chor_diagnostics::Span) -> String) -> String {
    if e.message.starts_with("role ") {
        // Already phrased by the runtime (a messaging error names its role and location).
        return e.message.clone();
    }
    let mut line = format!("role {}: {}", e.role, e.message);
    if let Some(span) = e.span {
        line.push_str(&format!(" at {}", location(span)));
    }
    if let Some(site) = e.called_from {
        line.push_str(&format!(" (called from {})", location(site)));
    }
    line
}

/// What a run gives the roles besides their program: `--stdin Role=FILE` inputs and the
/// arguments after `--` (`env::args()`).
#[derive(Debug, Clone, Default)]
pub struct World {
    /// `(role, file)` pairs: the role reads the file as its standard input.
    pub stdin: Vec<(String, PathBuf)>,
    /// The program's arguments, the same for every role.
    pub args: Vec<String>,
    /// The `[deploy]` defaults of the project the program belongs to.
    pub deploy: manifest::Deploy,
}

impl World {
    /// Parses `--stdin` values (`Role=FILE`).
    pub fn parse_stdin(values: &[String]) -> Result<Vec<(String, PathBuf)>, String> {
        values
            .iter()
            .map(|v| match v.split_once('=') {
                Some((r, f)) if !r.is_empty() && !f.is_empty() => {
                    Ok((r.to_owned(), PathBuf::from(f)))
                }
                _ => Err(format!("--stdin `{v}`: expected ROLE=FILE")),
            })
            .collect()
    }

    /// Checks that every `--stdin` role is a role of `main` and names it once.
    pub fn check_roles(&self, roles: &[String]) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for (r, _) in &self.stdin {
            if !roles.contains(r) {
                return Err(format!(
                    "--stdin names `{r}`, which is not a role of `main` (its roles are {})",
                    roles.join(", ")
                ));
            }
            if !seen.insert(r) {
                return Err(format!("--stdin names role `{r}` twice"));
            }
        }
        Ok(())
    }

    /// Opens the `--stdin` files, by role.
    fn open_inputs(&self) -> Result<HashMap<String, Box<dyn BufRead + Send>>, String> {
        let mut m: HashMap<String, Box<dyn BufRead + Send>> = HashMap::new();
        for (r, f) in &self.stdin {
            let file = std::fs::File::open(f)
                .map_err(|e| format!("--stdin {r}={}: cannot read it: {e}", f.display()))?;
            m.insert(r.clone(), Box::new(std::io::BufReader::new(file)));
        }
        Ok(m)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Prints `[Role] line` as lines arrive; stdin goes to the first role of `main`, a `--stdin`
/// file to the role it names, end of input to every other role.
pub struct StdIo {
    pub first_role: String,
    out: Mutex<std::io::Stdout>,
    input: Mutex<()>,
    files: Mutex<HashMap<String, Box<dyn BufRead + Send>>>,
    partial: PartialLines,
    args: Vec<String>,
    streams: chor_runtime::rt::world::Streams,
}

impl StdIo {
    pub fn new(first_role: &str) -> StdIo {
        StdIo {
            first_role: first_role.to_owned(),
            out: Mutex::new(std::io::stdout()),
            input: Mutex::new(()),
            files: Mutex::new(HashMap::new()),
            partial: PartialLines::default(),
            args: Vec::new(),
            streams: chor_runtime::rt::world::Streams::from_env(),
        }
    }

    /// With the run's `--stdin` files and arguments (an unreadable file is the error).
    pub fn with_world(first_role: &str, world: &World) -> Result<StdIo, String> {
        let mut io = StdIo::new(first_role);
        io.files = Mutex::new(world.open_inputs()?);
        io.args = world.args.clone();
        Ok(io)
    }

    /// Prints what each role wrote without ending the line (the roles have ended).
    pub fn finish(&self) {
        for (role, text) in self.partial.drain() {
            let mut out = lock(&self.out);
            let _ = writeln!(out, "[{role}] {text}");
            let _ = out.flush();
        }
    }
}

impl Io for StdIo {
    fn print(&self, role: &str, line: &str) {
        let text = self.partial.print(role, line);
        let mut out = lock(&self.out);
        for l in text.split('\n') {
            let _ = writeln!(out, "[{role}] {l}");
        }
        let _ = out.flush();
    }
    fn read_line(&self, role: &str) -> String {
        self.read_input(role).unwrap_or_default()
    }
    fn read_input(&self, role: &str) -> Option<String> {
        if let Some(r) = lock(&self.files).get_mut(role) {
            return chor_runtime::rt::world::read_line_from(r);
        }
        if role != self.first_role {
            return None;
        }
        let _guard = lock(&self.input);
        chor_runtime::rt::world::read_stdin_line()
    }
    fn write(&self, role: &str, text: &str) {
        if let Some(done) = self.partial.write(role, text) {
            let mut out = lock(&self.out);
            for l in done.split('\n') {
                let _ = writeln!(out, "[{role}] {l}");
            }
            let _ = out.flush();
        }
    }
    fn eprint(&self, role: &str, line: &str) {
        let _ = lock(&self.out).flush();
        let mut err = std::io::stderr().lock();
        for l in line.split('\n') {
            let _ = writeln!(err, "[{role}] {l}");
        }
    }
    fn args(&self) -> Vec<String> {
        self.args.clone()
    }
    fn streams(&self) -> &chor_runtime::rt::world::Streams {
        &self.streams
    }
}

/// Text of `io::write` not yet ended by a newline, by role: what both [`StdIo`] and
/// [`CaptureIo`] hold back until a line is complete.
#[derive(Default)]
struct PartialLines(Mutex<HashMap<String, String>>);

impl PartialLines {
    /// `line` printed by `role`, after what it wrote before without ending the line.
    fn print(&self, role: &str, line: &str) -> String {
        let before = lock(&self.0).remove(role).unwrap_or_default();
        format!("{before}{line}")
    }

    /// `text` written by `role`: the lines it completes (without their last newline), if any.
    fn write(&self, role: &str, text: &str) -> Option<String> {
        let mut partial = lock(&self.0);
        let buf = partial.entry(role.to_owned()).or_default();
        buf.push_str(text);
        let end = buf.rfind('\n')?;
        let mut done: String = buf.drain(..=end).collect();
        done.pop();
        Some(done)
    }

    /// What each role wrote without ending the line, in role order (the roles have ended).
    fn drain(&self) -> Vec<(String, String)> {
        let mut rest: Vec<(String, String)> = lock(&self.0).drain().collect();
        rest.sort();
        rest
    }
}

/// Collects `(role, line)` pairs in memory (tests, the language server).
#[derive(Default)]
pub struct CaptureIo {
    pub lines: Mutex<Vec<(String, String)>>,
    pub input: Mutex<Vec<String>>,
    pub first_role: String,
    pub args: Vec<String>,
    partial: PartialLines,
    streams: chor_runtime::rt::world::Streams,
}

impl CaptureIo {
    /// Output captured for a run of `prog` reading `input` at its first role, the random
    /// streams seeded by `seed` (`None`: as `CHOR_SEED` says).
    fn new(prog: &Program, input: Vec<String>, seed: Option<i64>) -> CaptureIo {
        CaptureIo {
            first_role: first_role(prog),
            input: Mutex::new(input),
            streams: match seed {
                Some(s) => chor_runtime::rt::world::Streams::new(Some(s)),
                None => chor_runtime::rt::world::Streams::from_env(),
            },
            ..CaptureIo::default()
        }
    }

    /// The lines, with what each role wrote without ending its line last.
    pub fn into_lines(self) -> Vec<(String, String)> {
        let rest = self.partial.drain();
        let mut lines = self.lines.into_inner().unwrap_or_default();
        lines.extend(rest);
        lines
    }
}

impl Io for CaptureIo {
    fn print(&self, role: &str, line: &str) {
        let text = self.partial.print(role, line);
        let mut l = lock(&self.lines);
        for part in text.split('\n') {
            l.push((role.to_owned(), part.to_owned()));
        }
    }
    fn read_line(&self, role: &str) -> String {
        self.read_input(role).unwrap_or_default()
    }
    fn read_input(&self, role: &str) -> Option<String> {
        if role != self.first_role {
            return None;
        }
        let mut i = lock(&self.input);
        if i.is_empty() {
            None
        } else {
            Some(i.remove(0))
        }
    }
    fn write(&self, role: &str, text: &str) {
        if let Some(done) = self.partial.write(role, text) {
            let mut l = lock(&self.lines);
            for part in done.split('\n') {
                l.push((role.to_owned(), part.to_owned()));
            }
        }
    }
    fn args(&self) -> Vec<String> {
        self.args.clone()
    }
    fn streams(&self) -> &chor_runtime::rt::world::Streams {
        &self.streams
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
    let s = match Session::open_colored(path, color) {
        Ok(s) => s,
        Err(code) => return code,
    };
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

/// Open, check and project a program for the commands that run it; Err is the exit code
/// (diagnostics already printed).
fn prepare(
    path: &Path,
    color: bool,
) -> Result<(Session, std::sync::Arc<Program>, Vec<LocalProgram>), i32> {
    let s = Session::open_colored(path, color)?;
    let prog = s.checked()?;
    match projections(&prog) {
        Ok(locals) => Ok((s, prog, locals)),
        Err(d) => {
            eprint!("{}", s.render(&d));
            Err(1)
        }
    }
}

/// Projection of `main` (and what it calls) for every role.
pub fn projections(prog: &Program) -> Result<Vec<LocalProgram>, Vec<Diagnostic>> {
    chor_project::project_program(prog, "main")
}

/// The program's global local functions as `chor verify` reads them, to decide on its own
/// which expressions are pure: their bodies, and which are builtins or externs.
pub fn verify_functions(prog: &Program) -> chor_verify::Functions {
    let mut fns = HashMap::new();
    for (q, r) in &prog.fns {
        if q.module.is_some() {
            continue;
        }
        let Some(f) = prog.fn_def(*r) else { continue };
        let info = if f.is_extern() {
            chor_verify::FnInfo::Extern
        } else {
            match &f.body {
                Some(body) => chor_verify::FnInfo::Body {
                    params: f.params.iter().map(|p| p.name.name.clone()).collect(),
                    body: body.clone(),
                },
                None => chor_verify::FnInfo::Builtin,
            }
        };
        fns.insert(q.name.clone(), info);
    }
    let variants = prog.variants.keys().cloned().collect();
    chor_verify::Functions { fns, variants }
}

/// The options of `chor verify` for `prog`, at call depth `depth` (default when `None`).
pub fn verify_options(prog: &Program, depth: Option<usize>) -> chor_verify::Options {
    let mut opts = chor_verify::Options {
        functions: std::sync::Arc::new(verify_functions(prog)),
        ..chor_verify::Options::default()
    };
    if let Some(d) = depth {
        opts.depth = d;
    }
    opts
}

/// `chor project FILE [--role R]`
pub fn cmd_project(path: &Path, role: Option<&str>, color: bool) -> i32 {
    let (_, _, locals) = match prepare(path, color) {
        Ok(x) => x,
        Err(code) => return code,
    };
    // `--role Workers` names a family: the programs of its classes of alike members.
    let shown = |l: &LocalProgram| {
        role.is_none_or(|r| {
            r == l.role || chor_runtime::config::split_member(&l.role).is_some_and(|(f, _)| f == r)
        })
    };
    if let Some(r) = role
        && !locals.iter().any(shown)
    {
        let roles: Vec<&str> = locals.iter().map(|l| l.role.as_str()).collect();
        eprintln!(
            "error: `main` has no role `{r}` (its roles are {})",
            roles.join(", ")
        );
        return 1;
    }
    let shown: Vec<&LocalProgram> = locals.iter().filter(|l| shown(l)).collect();
    print!("{}", project_text(&shown));
    0
}

/// The text of `chor project`: each role's local program; a family's members as the
/// programs of their classes of alike members, each parameterised by the member index `i`
/// (`chor_project::family`).
pub fn project_text(locals: &[&LocalProgram]) -> String {
    use chor_runtime::config::split_member;
    let classes = chor_project::family_classes(locals.iter().copied());
    let mut out: Vec<String> = Vec::new();
    let mut done: Vec<&str> = Vec::new();
    for l in locals {
        match split_member(&l.role) {
            None => out.push(l.to_text()),
            Some((family, _)) if !done.contains(&family) => {
                done.push(family);
                for c in classes.iter().filter(|c| c.family == family) {
                    out.push(c.to_text());
                }
            }
            Some(_) => {}
        }
    }
    out.join("\n")
}

/// `chor verify FILE [--depth N]`: explore every interleaving of the projected programs and
/// report deadlocks, orphan messages and unexpected messages; exit 1 on any finding.
pub fn cmd_verify(path: &Path, depth: Option<usize>, color: bool) -> i32 {
    cmd_verify_sized(path, depth, None, color)
}

/// `chor verify FILE --max-size N`: verify with every family of `main` at each size from 1
/// to N (all families at the same size), then as `chor verify`; the first size that fails
/// ends the run.
pub fn cmd_verify_sized(
    path: &Path,
    depth: Option<usize>,
    max_size: Option<usize>,
    color: bool,
) -> i32 {
    let Some(max) = max_size else {
        return verify_once(path, depth, None, color);
    };
    let families: Vec<String> = match Session::open_colored(path, color) {
        Ok(s) => s.program().families.keys().cloned().collect(),
        Err(code) => return code,
    };
    for n in 1..=max.min(chor_check::families::MAX_SIZE) {
        let sizes = families.iter().map(|f| (f.clone(), n)).collect();
        println!("with every family of size {n}:");
        let code = verify_once(path, depth, Some(sizes), color);
        if code != 0 || families.is_empty() {
            return code;
        }
    }
    0
}

fn verify_once(
    path: &Path,
    depth: Option<usize>,
    sizes: Option<chor_check::families::Sizes>,
    color: bool,
) -> i32 {
    let prepared = match sizes {
        None => prepare(path, color),
        Some(sizes) => Session::open_sized(path, sizes)
            .map_err(|e| io_error(&e))
            .and_then(|mut s| {
                s.color = color;
                let prog = s.checked()?;
                match projections(&prog) {
                    Ok(locals) => Ok((s, prog, locals)),
                    Err(d) => {
                        eprint!("{}", s.render(&d));
                        Err(1)
                    }
                }
            }),
    };
    let (s, prog, locals) = match prepared {
        Ok(x) => x,
        Err(code) => return code,
    };
    let opts = verify_options(&prog, depth);
    match chor_verify::verify(&locals, &opts) {
        Ok(report) => {
            let loc = |sp: chor_diagnostics::Span| {
                let (line, _) = chor_diagnostics::line_col(&s.db.text(sp.file), sp.start);
                format!("{}:{line}", s.db.name(sp.file))
            };
            print!("{}", report.render(&loc));
            i32::from(!report.ok())
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// `chor simulate FILE [--trace]`
pub fn cmd_simulate(path: &Path, trace: bool, color: bool) -> i32 {
    cmd_simulate_in(path, trace, color, &World::default())
}

/// The roles of `main`, in order.
fn main_roles(prog: &Program) -> Vec<String> {
    prog.chor("main")
        .map(|m| m.roles.iter().map(|r| r.name.clone()).collect())
        .unwrap_or_default()
}

/// The standard input and output of a simulation: `--stdin` files checked and opened.
fn world_io(prog: &Program, world: &World) -> Result<StdIo, i32> {
    world
        .check_roles(&main_roles(prog))
        .and_then(|()| StdIo::with_world(&first_role(prog), world))
        .map_err(|e| {
            eprintln!("error: {e}");
            2
        })
}

/// `chor simulate FILE [--trace] [--stdin ROLE=FILE]... [-- ARGS...]`
pub fn cmd_simulate_in(path: &Path, trace: bool, color: bool, world: &World) -> i32 {
    let s = match Session::open_colored(path, color) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let prog = match s.checked() {
        Ok(p) => p,
        Err(code) => return code,
    };
    if let Err(code) = s.load_externs(&prog) {
        return code;
    }
    let io = match world_io(&prog, world) {
        Ok(io) => io,
        Err(code) => return code,
    };
    let tracer = |e: &TraceEvent| {
        if !matches!(e, TraceEvent::Round { .. }) {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{e}");
        }
    };
    let result = chor_interp::with_big_stack(|| {
        let sim = Simulator::new(&prog, &io, if trace { Some(&tracer) } else { None });
        sim.run("main")
    });
    io.finish();
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
    let deploy = match project_deploy(path) {
        Ok(d) => d,
        Err(code) => return code,
    };
    let (s, prog, locals) = match prepare(path, color) {
        Ok(x) => x,
        Err(code) => return code,
    };
    match host::build_with(&s, &prog, &locals, out, backend, &deploy) {
        Ok(mut exes) => {
            // The members of a family share one executable (interpreter back end).
            exes.dedup();
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

/// The `[deploy]` defaults of the project around `path` (none outside a project); a broken
/// manifest is reported (status 2).
fn project_deploy(path: &Path) -> Result<manifest::Deploy, i32> {
    match manifest::around(path) {
        Ok(m) => Ok(m.map(|m| m.deploy).unwrap_or_default()),
        Err(e) => Err(io_error(&e)),
    }
}

/// `chor run FILE`: build, then run every role as its own process on loopback.
pub fn cmd_run(path: &Path, color: bool, backend: host::Backend) -> i32 {
    cmd_run_in(path, color, backend, &World::default())
}

/// `chor run FILE [--stdin ROLE=FILE]... [-- ARGS...]`
pub fn cmd_run_in(path: &Path, color: bool, backend: host::Backend, world: &World) -> i32 {
    let (s, prog, locals) = match prepare(path, color) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if let Err(e) = world.check_roles(&main_roles(&prog)) {
        eprintln!("error: {e}");
        return 2;
    }
    let world = match project_deploy(path) {
        Ok(deploy) => World {
            deploy,
            ..world.clone()
        },
        Err(code) => return code,
    };
    host::run_with(&s, &prog, &locals, backend, &world)
}

/// Captured `(role, line)` output and how the run ended.
pub type Captured = (Vec<(String, String)>, Result<(), RoleError>);

/// Run a program in memory through the global interpreter; `(role, line)` output in order.
pub fn simulate_capture(
    prog: &Program,
    input: Vec<String>,
) -> (Vec<(String, String)>, Result<(), RoleError>) {
    simulate_capture_seeded(prog, input, None)
}

/// [`simulate_capture`] with the random streams seeded by `seed`, as `CHOR_SEED` seeds them
/// (`None`: as the environment says).
pub fn simulate_capture_seeded(
    prog: &Program,
    input: Vec<String>,
    seed: Option<i64>,
) -> (Vec<(String, String)>, Result<(), RoleError>) {
    let io = CaptureIo::new(prog, input, seed);
    let r = chor_interp::with_big_stack(|| Simulator::new(prog, &io, None).run("main"));
    (io.into_lines(), r)
}

/// Run a program's projections in memory; `(role, line)` output (interleaving varies across roles).
pub fn run_projected_capture(
    prog: &Program,
    input: Vec<String>,
    timeout: Duration,
) -> Result<Captured, Vec<Diagnostic>> {
    run_projected_capture_seeded(prog, input, timeout, None)
}

/// [`run_projected_capture`] with the random streams seeded by `seed` (see
/// [`simulate_capture_seeded`]).
pub fn run_projected_capture_seeded(
    prog: &Program,
    input: Vec<String>,
    timeout: Duration,
    seed: Option<i64>,
) -> Result<Captured, Vec<Diagnostic>> {
    let locals = projections(prog)?;
    let io = CaptureIo::new(prog, input, seed);
    let r = chor_interp::run_projected(prog, &locals, &io, timeout);
    Ok((io.into_lines(), r))
}

// ---------------------------------------------------------------------- teaching tools

/// Write `text` to `path` atomically: a temporary file next to it, then a rename.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), String> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.chor-tmp-{}", std::process::id()));
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot replace {}: {e}", path.display())
    })
}

/// Output format of `chor diagram`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiagramFormat {
    Svg,
    Mermaid,
}

fn render_diagram(d: &chor_teach::Diagram, format: DiagramFormat) -> String {
    match format {
        DiagramFormat::Svg => chor_teach::svg::render(d),
        DiagramFormat::Mermaid => chor_teach::mermaid::render(d),
    }
}

fn emit(text: &str, out: Option<&Path>) -> i32 {
    match out {
        None => {
            print!("{text}");
            0
        }
        Some(p) => match write_atomic(p, text) {
            Ok(()) => 0,
            Err(e) => io_error(&e),
        },
    }
}

/// The sequence diagram of choreography `name` (the protocol as written).
pub fn diagram_of(prog: &Program, name: &str) -> Result<chor_teach::Diagram, String> {
    chor_teach::from_choreography(prog, name)
}

/// `chor diagram FILE [-o OUT] [--format svg|mermaid] [--choreography NAME]`
pub fn cmd_diagram(
    path: &Path,
    out: Option<&Path>,
    format: DiagramFormat,
    name: &str,
    color: bool,
) -> i32 {
    let mut s = match Session::open(path) {
        Ok(s) => s,
        Err(e) => return io_error(&e),
    };
    s.color = color;
    let prog = s.program();
    // Syntax and import errors stop the diagram; knowledge-of-choice errors do not (a diagram of
    // a broken protocol is a good way to see what is wrong with it).
    let errors: Vec<Diagnostic> = prog
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    if !errors.is_empty() {
        eprint!("{}", s.render(&errors));
        return 1;
    }
    // Type, location and knowledge-of-choice errors are drawn as red notes at the actions
    // they are about, and reported on stderr as `chor check` would.
    let problems: Vec<Diagnostic> = s
        .diagnostics()
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    match chor_teach::from_choreography_marked(&prog, name, &problems) {
        Ok(d) => {
            if !problems.is_empty() {
                eprint!("{}", s.render(&problems));
                eprintln!(
                    "note: the diagram marks {} error{} in red",
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" }
                );
            }
            emit(&render_diagram(&d, format), out)
        }
        Err(e) => {
            eprintln!("error: {}: {e}", s.name());
            1
        }
    }
}

/// Records what a run does (messages, selections, printed lines) while printing as usual.
struct RecordingIo<'a> {
    inner: &'a StdIo,
    events: &'a Mutex<Vec<(chor_teach::RunEvent, Option<chor_diagnostics::Span>)>>,
}

impl Io for RecordingIo<'_> {
    fn print(&self, role: &str, line: &str) {
        self.inner.print(role, line);
        if let Ok(mut ev) = self.events.lock() {
            for l in line.split('\n') {
                ev.push((
                    chor_teach::RunEvent::Print {
                        role: role.to_owned(),
                        line: l.to_owned(),
                    },
                    None,
                ));
            }
        }
    }
    fn read_line(&self, role: &str) -> String {
        self.inner.read_line(role)
    }
    fn read_input(&self, role: &str) -> Option<String> {
        self.inner.read_input(role)
    }
    fn write(&self, role: &str, text: &str) {
        self.inner.write(role, text);
    }
    fn eprint(&self, role: &str, line: &str) {
        self.inner.eprint(role, line);
    }
    fn args(&self) -> Vec<String> {
        self.inner.args()
    }
    fn streams(&self) -> &chor_runtime::rt::world::Streams {
        self.inner.streams()
    }
}

/// Turn recorded trace events into run events, naming the receiving variable of each message.
pub fn run_events(
    prog: &Program,
    recorded: Vec<(chor_teach::RunEvent, Option<chor_diagnostics::Span>)>,
) -> Vec<chor_teach::RunEvent> {
    let mut prev: Option<(chor_diagnostics::Span, usize)> = None;
    recorded
        .into_iter()
        .map(|(ev, span)| match (ev, span) {
            (
                chor_teach::RunEvent::Comm {
                    from, to, value, ..
                },
                Some(sp),
            ) => {
                let mut idx = match prev {
                    Some((p, i)) if p == sp => i + 1,
                    _ => 0,
                };
                let mut var = chor_teach::diagram::receiver_var(prog, sp, idx);
                if var.is_none() && idx > 0 {
                    idx = 0;
                    var = chor_teach::diagram::receiver_var(prog, sp, 0);
                }
                prev = Some((sp, idx));
                chor_teach::RunEvent::Comm {
                    from,
                    to,
                    value,
                    var,
                }
            }
            (other, _) => {
                prev = None;
                other
            }
        })
        .collect()
}

/// Convert an interpreter trace event into a run event with its source span.
pub fn trace_to_run(e: &TraceEvent) -> (chor_teach::RunEvent, Option<chor_diagnostics::Span>) {
    match e {
        TraceEvent::Comm {
            from,
            to,
            value,
            span,
        } => (
            chor_teach::RunEvent::Comm {
                from: from.clone(),
                to: to.clone(),
                value: value.clone(),
                var: None,
            },
            Some(*span),
        ),
        TraceEvent::Select {
            from,
            to,
            label,
            span,
        } => (
            chor_teach::RunEvent::Select {
                from: from.clone(),
                to: to.clone(),
                label: label.clone(),
            },
            Some(*span),
        ),
        TraceEvent::Round { chor, round, roles } => (
            chor_teach::RunEvent::Round {
                chor: chor.clone(),
                round: *round,
                roles: roles.clone(),
            },
            None,
        ),
    }
}

/// `chor simulate FILE [--trace] --diagram OUT`: simulate, and draw the run as a sequence
/// diagram (SVG, or Mermaid when OUT ends in `.mmd`).
pub fn cmd_simulate_diagram(path: &Path, trace: bool, out: &Path, color: bool) -> i32 {
    cmd_simulate_diagram_in(path, trace, out, color, &World::default())
}

/// [`cmd_simulate_diagram`] with `--stdin` files and arguments.
pub fn cmd_simulate_diagram_in(
    path: &Path,
    trace: bool,
    out: &Path,
    color: bool,
    world: &World,
) -> i32 {
    let mut s = match Session::open(path) {
        Ok(s) => s,
        Err(e) => return io_error(&e),
    };
    s.color = color;
    let prog = match s.checked() {
        Ok(p) => p,
        Err(code) => return code,
    };
    let std_io = match world_io(&prog, world) {
        Ok(io) => io,
        Err(code) => return code,
    };
    let events = Mutex::new(Vec::new());
    let io = RecordingIo {
        inner: &std_io,
        events: &events,
    };
    let tracer = |e: &TraceEvent| {
        if trace && !matches!(e, TraceEvent::Round { .. }) {
            let mut o = std::io::stdout().lock();
            let _ = writeln!(o, "{e}");
        }
        if let Ok(mut ev) = events.lock() {
            ev.push(trace_to_run(e));
        }
    };
    let result = chor_interp::with_big_stack(|| {
        let sim = Simulator::new(&prog, &io, Some(&tracer));
        sim.run("main")
    });
    std_io.finish();
    let recorded = events.into_inner().unwrap_or_default();
    let roles: Vec<String> = prog
        .chor("main")
        .map(|m| m.roles.iter().map(|r| r.name.clone()).collect())
        .unwrap_or_default();
    let d = chor_teach::from_run(&roles, &run_events(&prog, recorded));
    let format = if out.extension().is_some_and(|e| e == "mmd") {
        DiagramFormat::Mermaid
    } else {
        DiagramFormat::Svg
    };
    let code = emit(&render_diagram(&d, format), Some(out));
    match result {
        Ok(()) => code,
        Err(e) => {
            eprint!("{}", s.runtime_error(&e));
            1
        }
    }
}

/// A single in-memory file, for rendering the formatter's diagnostics.
struct OneFile {
    name: String,
    text: String,
}

impl chor_diagnostics::SourceMap for OneFile {
    fn name(&self, _file: chor_diagnostics::FileId) -> String {
        self.name.clone()
    }
    fn text(&self, _file: chor_diagnostics::FileId) -> String {
        self.text.clone()
    }
}

/// `chor fmt FILE... [--check]`: rewrite each file in canonical form (atomically), or with
/// `--check` list the files that would change and exit 1. A file with syntax errors is never
/// rewritten: its diagnostics are printed and the exit status is 1.
pub fn cmd_fmt(files: &[std::path::PathBuf], check: bool, color: bool) -> i32 {
    let mut status = 0;
    for path in files {
        let text = match source::read_source(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {e}");
                status = status.max(2);
                continue;
            }
        };
        let file = chor_diagnostics::FileId(0);
        match chor_teach::fmt::format_source(file, &text) {
            Err(diags) => {
                let src = OneFile {
                    name: db::display_name(path),
                    text,
                };
                eprint!("{}", render(&diags, &src, color));
                eprintln!("error: {} was not formatted", path.display());
                status = status.max(1);
            }
            Ok(formatted) if formatted == text => {}
            // Never written: chor could not read the file back (the formatted text of a
            // program nested hundreds of levels deep is far longer than its source). With
            // `--check` it is listed as any file not in canonical form.
            Ok(formatted) if !check && formatted.len() as u64 > source::MAX_SOURCE_BYTES => {
                eprintln!(
                    "error: {} was not formatted: the formatted text would be larger than the \
                     limit for source files ({} bytes; the limit is {} MiB)",
                    path.display(),
                    formatted.len(),
                    source::MAX_SOURCE_BYTES >> 20
                );
                status = status.max(2);
            }
            Ok(formatted) => {
                if check {
                    println!("{}", path.display());
                    status = status.max(1);
                } else if let Err(e) = write_atomic(path, &formatted) {
                    eprintln!("error: {e}");
                    status = status.max(2);
                }
            }
        }
    }
    status
}
