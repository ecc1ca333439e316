//! Role executables: `chor build` and `chor run`.
//!
//! A role executable is a copy of the `chor` binary with a payload appended: the checked
//! program's sources, the role it plays and the program's fingerprint. Started as
//! `./Buyer --config deploy.toml`, it projects the program for its role and runs the local
//! program on the messaging runtime (TCP between processes). The Cranelift back end will
//! replace the execution engine; the deployment interface stays as it is.

use crate::Session;
use crate::link::Glue;
use chor_check::Program;
use chor_check::program::Loader;
use chor_diagnostics::{FileId, SourceMap, Span};
use chor_interp::{Io, Msg, Transport};
use chor_project::{LKind, LStmt, LocalProgram, MsgType};
use chor_runtime::session::{Fingerprint, Session as RtSession};
use chor_runtime::value::Message;
use chor_syntax::Parsed;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

const MAGIC: &[u8; 16] = b"\0CHOR-ROLE-v1\0\0\0";

/// What a role executable carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload {
    pub role: String,
    pub fingerprint: [u8; 32],
    /// `(path relative to the root's directory, text)`; the root file first.
    pub files: Vec<(String, String)>,
    /// The family sizes the program was built with (`--size`); `role` may name one of these
    /// families, whose executable runs the member given by `--member i`.
    pub sizes: Vec<(String, u64)>,
}

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn take<'a>(input: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = u64::from_le_bytes(input.get(..8)?.try_into().ok()?) as usize;
    let bytes = input.get(8..8usize.checked_add(len)?)?;
    *input = &input[8 + len..];
    Some(bytes)
}

impl Payload {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put(&mut out, self.role.as_bytes());
        put(&mut out, &self.fingerprint);
        out.extend_from_slice(&(self.files.len() as u64).to_le_bytes());
        for (n, t) in &self.files {
            put(&mut out, n.as_bytes());
            put(&mut out, t.as_bytes());
        }
        out.extend_from_slice(&(self.sizes.len() as u64).to_le_bytes());
        for (f, n) in &self.sizes {
            put(&mut out, f.as_bytes());
            out.extend_from_slice(&n.to_le_bytes());
        }
        out
    }
    pub fn decode(mut input: &[u8]) -> Option<Payload> {
        let role = String::from_utf8(take(&mut input)?.to_vec()).ok()?;
        let fingerprint: [u8; 32] = take(&mut input)?.try_into().ok()?;
        let n = u64::from_le_bytes(input.get(..8)?.try_into().ok()?);
        input = &input[8..];
        let mut files = Vec::new();
        for _ in 0..n.min(100_000) {
            let name = String::from_utf8(take(&mut input)?.to_vec()).ok()?;
            let text = String::from_utf8(take(&mut input)?.to_vec()).ok()?;
            files.push((name, text));
        }
        let n = u64::from_le_bytes(input.get(..8)?.try_into().ok()?);
        input = &input[8..];
        let mut sizes = Vec::new();
        for _ in 0..n.min(100_000) {
            let family = String::from_utf8(take(&mut input)?.to_vec()).ok()?;
            let size = u64::from_le_bytes(input.get(..8)?.try_into().ok()?);
            input = &input[8..];
            sizes.push((family, size));
        }
        Some(Payload {
            role,
            fingerprint,
            files,
            sizes,
        })
    }
}

/// The payload appended to this executable, if it is a role executable.
pub fn embedded_payload() -> Option<Payload> {
    let exe = std::env::current_exe().ok()?;
    let mut f = std::fs::File::open(exe).ok()?;
    let len = f.seek(SeekFrom::End(0)).ok()?;
    if len < 24 {
        return None;
    }
    f.seek(SeekFrom::Start(len - 24)).ok()?;
    let mut tail = [0u8; 24];
    f.read_exact(&mut tail).ok()?;
    if &tail[8..] != MAGIC {
        return None;
    }
    let size = u64::from_le_bytes(tail[..8].try_into().ok()?);
    let start = len.checked_sub(24)?.checked_sub(size)?;
    f.seek(SeekFrom::Start(start)).ok()?;
    let mut buf = vec![0u8; usize::try_from(size).ok()?];
    f.read_exact(&mut buf).ok()?;
    Payload::decode(&buf)
}

/// Lexically normalise `a/./b/../c` to `a/c`.
pub(crate) fn normalize(p: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                if parts.last().is_some_and(|l| l != "..") {
                    parts.pop();
                } else {
                    parts.push("..".into());
                }
            }
            Component::CurDir => {}
            other => parts.push(other.as_os_str().to_string_lossy().into_owned()),
        }
    }
    parts.join("/")
}

/// Resolves imports among the files carried in a payload.
struct PayloadLoader<'a> {
    files: &'a [(String, String)],
}

impl Loader for PayloadLoader<'_> {
    fn load(
        &mut self,
        from: FileId,
        import: &str,
    ) -> Result<(FileId, String, Arc<Parsed>), String> {
        let base = self
            .files
            .get(from.0 as usize)
            .and_then(|(n, _)| Path::new(n).parent().map(Path::to_path_buf))
            .unwrap_or_default();
        let want = normalize(&base.join(import));
        let idx = self
            .files
            .iter()
            .position(|(n, _)| *n == want)
            .ok_or_else(|| "not in this executable".to_owned())?;
        let id = FileId(idx as u32);
        Ok((
            id,
            self.files[idx].0.clone(),
            Arc::new(chor_syntax::parse(id, &self.files[idx].1)),
        ))
    }
}

/// The program carried in a payload.
pub fn payload_program(p: &Payload) -> Option<Program> {
    let (name, text) = p.files.first()?;
    let parsed = Arc::new(chor_syntax::parse(FileId(0), text));
    let sizes = p
        .sizes
        .iter()
        .map(|(f, n)| Some((f.clone(), usize::try_from(*n).ok()?)))
        .collect::<Option<_>>()?;
    let mut prog = Program::assemble_sized(
        FileId(0),
        name,
        parsed,
        &mut PayloadLoader { files: &p.files },
        &sizes,
    );
    prog.resolve();
    Some(prog)
}

/// Payload file names and source lines for the location table.
struct PayloadSources<'a>(&'a [(String, String)]);

impl SourceMap for PayloadSources<'_> {
    fn name(&self, file: FileId) -> String {
        match self.0.get(file.0 as usize) {
            Some(f) => f.0.clone(),
            None => stdlib_source(file).0.to_owned(),
        }
    }
    fn text(&self, file: FileId) -> String {
        match self.0.get(file.0 as usize) {
            Some(f) => f.1.clone(),
            None => stdlib_source(file).1.to_owned(),
        }
    }
}

/// The name and text of a standard library file (`<stdlib>/list.chor`), as every back end
/// names locations in it.
fn stdlib_source(file: FileId) -> (&'static str, &'static str) {
    chor_check::stdlib::by_file(file).map_or(("<stdlib>", ""), |(_, name, text)| (name, text))
}

fn collect_spans(stmts: &[LStmt], out: &mut Vec<Span>) {
    for s in stmts {
        out.push(s.span);
        match &s.kind {
            LKind::Branch { arms, .. } => arms.iter().for_each(|(_, b)| collect_spans(b, out)),
            LKind::If { then, els, .. } => {
                collect_spans(then, out);
                collect_spans(els, out);
            }
            LKind::Match { arms, .. } => arms.iter().for_each(|(_, b)| collect_spans(b, out)),
            LKind::Block(b) => collect_spans(b, out),
            _ => {}
        }
    }
}

/// The runtime session as the interpreter's transport.
struct SessionTransport<'a> {
    session: &'a RtSession,
    prog: &'a Program,
    locs: HashMap<Span, u32>,
}

impl SessionTransport<'_> {
    fn loc(&self, span: Span) -> u32 {
        self.locs.get(&span).copied().unwrap_or(0)
    }
}

impl Transport for SessionTransport<'_> {
    fn send(&self, to: &str, msg: Msg, span: Span) -> Result<(), String> {
        let m = match msg {
            Msg::Val(v) if chor_interp::wire::too_deep(&v, chor_runtime::codec::MAX_DEPTH) => {
                return Err(chor_runtime::session::too_deep_message(to));
            }
            Msg::Val(v) => Message::Value(
                chor_interp::wire::to_wire(&v)
                    .ok_or("function values cannot travel in a message")?,
            ),
            Msg::Label(l) => Message::Label(l),
        };
        self.session
            .send(to, m, self.loc(span))
            .map_err(|e| e.to_string())
    }
    fn recv(&self, from: &str, span: Span) -> Result<Msg, String> {
        match self
            .session
            .recv(from, self.loc(span))
            .map_err(|e| e.to_string())?
        {
            Message::Value(v) => Ok(Msg::Val(chor_interp::wire::from_wire(self.prog, v)?)),
            Message::Label(l) => Ok(Msg::Label(l)),
        }
    }
    fn recv_label(&self, from: &str, labels: &[&str], span: Span) -> Result<Msg, String> {
        // The session refuses a value or a label not offered here, in the native back end's
        // words, before the value is converted (or printed).
        self.session
            .recv_label(from, labels, self.loc(span))
            .map(Msg::Label)
            .map_err(|e| e.to_string())
    }
    fn recv_value(&self, from: &str, ty: &MsgType, span: Span) -> Result<Msg, String> {
        // Straight from the frame into interpreter values, within the frame's budget.
        let mut frame = Vec::new();
        let mut values = chor_interp::wire::Receiver::new(self.prog);
        let v = self
            .session
            .recv_built(
                from,
                &ty.table,
                ty.id,
                self.loc(span),
                &mut frame,
                &mut values,
            )
            .map_err(|e| e.to_string())?;
        Ok(Msg::Val(v))
    }
}

/// A role executable's output: plain lines on stdout; stdin is its own.
struct PlainIo;

impl Io for PlainIo {
    fn print(&self, _role: &str, line: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
    fn read_line(&self, role: &str) -> String {
        self.read_input(role).unwrap_or_default()
    }
    fn read_input(&self, _role: &str) -> Option<String> {
        chor_runtime::rt::world::read_stdin_line()
    }
    fn write(&self, _role: &str, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
    fn eprint(&self, _role: &str, line: &str) {
        let _ = std::io::stdout().flush();
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{line}");
        let _ = err.flush();
    }
    fn args(&self) -> Vec<String> {
        chor_runtime::rt::world::args()
    }
}

/// `./Role --config deploy.toml`: run this executable's role.
pub fn role_main(mut p: Payload) -> i32 {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // The executable of a family runs the member `--member i`.
    if let Some((family, size)) = p.sizes.iter().find(|(f, _)| *f == p.role).cloned() {
        match chor_runtime::startup::find_member(&family, size as usize, &args) {
            Ok((k, i)) => {
                args.drain(k..k + 2);
                p.role = chor_check::families::member_name(&family, i);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
    }
    let Some(prog) = payload_program(&p) else {
        eprintln!(
            "error: role {}: this executable's program is damaged",
            p.role
        );
        return 1;
    };
    if let Err(e) = crate::externs::load_beside_exe(&prog) {
        eprintln!("error: role {}: {e}", p.role);
        return 1;
    }
    let locals = match chor_project::project_program(&prog, "main") {
        Ok(l) => l,
        Err(_) => {
            eprintln!(
                "error: role {}: this executable's program does not project",
                p.role
            );
            return 1;
        }
    };
    let Some(lp) = locals.iter().find(|l| l.role == p.role) else {
        eprintln!("error: role {} is not a role of this program", p.role);
        return 1;
    };
    let main_roles: Vec<String> = locals.iter().map(|l| l.role.clone()).collect();
    let cfg = match chor_runtime::startup::load_config(&p.role, &main_roles, &args) {
        Ok(c) => c,
        Err(status) => return status,
    };
    // Location table: every statement's "file:line".
    let mut spans = Vec::new();
    for proc_ in lp.procs.values() {
        collect_spans(&proc_.body, &mut spans);
    }
    let sources = PayloadSources(&p.files);
    let loc_text = |s: Span| {
        let (line, _) = chor_diagnostics::line_col(&sources.text(s.file), s.start);
        format!("{}:{line}", sources.name(s.file))
    };
    let mut locs_text = vec!["an unknown location".to_owned()];
    let mut locs = HashMap::new();
    for s in spans {
        if let std::collections::hash_map::Entry::Vacant(e) = locs.entry(s) {
            e.insert(locs_text.len() as u32);
            locs_text.push(loc_text(s));
        }
    }
    // Connections only with the peers this role exchanges messages with, as native roles
    // do (see chor_rt_start).
    let first = lp.first_actions();
    let talks_with: Vec<&str> = first.keys().map(String::as_str).collect();
    let session = match RtSession::connect_tcp_with(
        &p.role,
        &talks_with,
        &cfg,
        Fingerprint(p.fingerprint),
        Arc::from(locs_text),
    ) {
        Ok(s) => s,
        Err(e) => {
            let e = e.with_first_action(|peer| first.get(peer).map(|s| loc_text(*s)));
            eprintln!("error: {e}");
            return 1;
        }
    };
    let transport = SessionTransport {
        session: &session,
        prog: &prog,
        locs,
    };
    let io = PlainIo;
    // A member runs the program of its class of alike members, with its index.
    let classes = chor_project::family_classes(&locals);
    let result = chor_interp::with_big_stack(|| {
        match chor_project::class_of(&classes, &p.role) {
            Some((c, i)) => chor_interp::LocalRunner::member(&prog, c, i, &transport, &io),
            None => chor_interp::LocalRunner::new(&prog, lp, &transport, &io),
        }
        .run(&main_roles)
    });
    // The error first, then close: whoever collects the roles' output sees the cause before
    // the peers report the consequences.
    let failed = match &result {
        Ok(()) => false,
        Err(e) => {
            eprintln!("error: {}", crate::fault_line(e, loc_text));
            true
        }
    };
    let closed = session.close();
    if failed {
        return 1;
    }
    match closed {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// Which engine a role executable runs its program on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Native code: Cranelift-compiled, linked with the runtime (chor-codegen).
    Native,
    /// A copy of `chor` that runs the embedded program on the reference interpreter.
    Interp,
}

/// The payload sources of a checked program: user files relative to the root's directory.
fn payload_files(s: &Session, prog: &Program) -> Vec<(String, String)> {
    payload_files_by_id(s, prog)
        .into_iter()
        .map(|(_, n, t)| (n, t))
        .collect()
}

/// [`payload_files`] with each file's id.
fn payload_files_by_id(s: &Session, prog: &Program) -> Vec<(FileId, String, String)> {
    let root_dir = s
        .root
        .path(&s.db)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut files: Vec<(FileId, String, String)> = Vec::new();
    for u in prog.units.iter().filter(|u| !u.is_stdlib) {
        let Some(f) = chor_driver_file(s, u.file) else {
            continue;
        };
        let path = f.path(&s.db).clone();
        let rel = path
            .strip_prefix(&root_dir)
            .map(Path::to_path_buf)
            .unwrap_or(path);
        files.push((u.file, normalize(&rel), f.text(&s.db).clone()));
    }
    // The root first, so that it is file 0 when the executable re-reads the program.
    let root = s.root.id(&s.db);
    files.sort_by_key(|(id, _, _)| *id != root);
    files
}

fn chor_driver_file(s: &Session, id: FileId) -> Option<crate::db::SourceFile> {
    use crate::db::Db;
    s.db.file_by_id(id)
}

/// A hash of the program's sources and the compiler version: peers must agree on it.
pub fn fingerprint(files: &[(String, String)]) -> [u8; 32] {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(b"chor ");
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    for (n, t) in files {
        h.update((n.len() as u64).to_le_bytes());
        h.update(n.as_bytes());
        h.update((t.len() as u64).to_le_bytes());
        h.update(t.as_bytes());
    }
    h.finalize().into()
}

/// Native role executables: each role's local program compiled with chor-codegen and linked
/// with the runtime. Error locations read `file:line` like the interpreter's.
fn build_native(
    s: &Session,
    prog: &Program,
    locals: &[LocalProgram],
    dir: &Path,
    glue: Option<Glue>,
) -> Result<Vec<PathBuf>, String> {
    let files = payload_files_by_id(s, prog);
    let fp = fingerprint(
        &files
            .iter()
            .map(|(_, n, t)| (n.clone(), t.clone()))
            .collect::<Vec<_>>(),
    );
    let by_id: HashMap<FileId, (String, chor_diagnostics::LineIndex)> = files
        .into_iter()
        .map(|(id, n, t)| (id, (n, chor_diagnostics::LineIndex::new(&t))))
        .collect();
    let loc_of = |sp: Span| match by_id.get(&sp.file) {
        Some((name, lines)) => format!("{name}:{}", lines.line(sp.start)),
        None => {
            let (name, text) = stdlib_source(sp.file);
            let (line, _) = chor_diagnostics::line_col(text, sp.start);
            format!("{name}:{line}")
        }
    };
    let main_roles: Vec<String> = locals.iter().map(|l| l.role.clone()).collect();
    let work = dir.join(".chor-build");
    // `CHOR_DUMP_CLIF=DIR` writes each function's Cranelift IR to DIR/ROLE/NAME.clif.
    let dump = std::env::var_os("CHOR_DUMP_CLIF").map(PathBuf::from);
    let info = chor_codegen::RoleInfo {
        main_roles: &main_roles,
        fingerprint: fp,
        loc_of: &loc_of,
        keep_clif: dump.is_some(),
    };
    for lp in locals {
        if family_of(prog, &lp.role).is_some() {
            continue;
        }
        let compiled = chor_codegen::compile_role_as(prog, lp, &info, "main")?;
        if let Some(d) = &dump {
            write_clif(&d.join(&lp.role), &compiled.clif)?;
        }
        crate::link::link(&compiled.object, &dir.join(&lp.role), &work, glue)?;
    }
    // A family's members link into one executable, `Family`, whose `main` runs the member
    // given by `--member i` (as the interpreter back end's does). Its code is compiled once
    // per class of alike members (`chor_project::family`), with the member index a run-time
    // value, not once per member.
    let members = locals
        .iter()
        .filter(|lp| family_of(prog, &lp.role).is_some());
    // `CHOR_FAMILY_PER_MEMBER=1` compiles every member on its own instead: the baseline
    // `benches/families.rs` measures classes against.
    let classes = if std::env::var_os("CHOR_FAMILY_PER_MEMBER").is_some() {
        members
            .filter_map(|lp| {
                let (f, i) = chor_runtime::config::split_member(&lp.role)?;
                Some(chor_project::FamilyClass::alone(f, i, lp))
            })
            .collect()
    } else {
        chor_project::family_classes(members)
    };
    // By family: the classes' objects, and each member's entry.
    type Objects = (Vec<Vec<u8>>, BTreeMap<usize, String>);
    let mut families: BTreeMap<&str, Objects> = BTreeMap::new();
    for class in &classes {
        let instances: Vec<LocalProgram> = class
            .members
            .iter()
            .map(|&i| class.instantiate(i))
            .collect();
        let instances: Vec<&LocalProgram> = instances.iter().collect();
        let (objs, entries) = families.entry(class.family.as_str()).or_default();
        let entry = match class.members.as_slice() {
            [i] => chor_codegen::member_entry(*i),
            _ => chor_codegen::class_entry(objs.len()),
        };
        let compiled = chor_codegen::compile_class(prog, class, &instances, &info, &entry)?;
        if let Some(d) = &dump {
            let name = match class.members.as_slice() {
                [i] => chor_check::families::member_name(&class.family, *i),
                _ => format!("{}[i]", class.family),
            };
            write_clif(&d.join(name), &compiled.clif)?;
        }
        objs.push(compiled.object);
        for &i in &class.members {
            entries.insert(i, entry.clone());
        }
    }
    for (f, (objs, entries)) in &families {
        let entries: Vec<String> = entries.values().cloned().collect();
        let dispatch = chor_codegen::family_dispatch(f, &entries)?;
        let mut objs: Vec<&[u8]> = objs.iter().map(Vec::as_slice).collect();
        objs.push(&dispatch);
        crate::link::link_all(&objs, &dir.join(f), &work, glue)?;
    }
    // One executable per role of `main`, in order (a family's for each of its members).
    let out = locals
        .iter()
        .map(|lp| dir.join(family_of(prog, &lp.role).unwrap_or(&lp.role)))
        .collect();
    let _ = std::fs::remove_dir_all(&work);
    Ok(out)
}

/// Writes one `.clif` file per function into `dir`.
fn write_clif(dir: &Path, funcs: &[(String, String)]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for (name, text) in funcs {
        let path = dir.join(format!("{name}.clif"));
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Write one executable per role of `main` and a loopback `deploy.toml` into `dir`.
pub fn build(
    s: &Session,
    prog: &Program,
    locals: &[LocalProgram],
    dir: &Path,
    backend: Backend,
) -> Result<Vec<PathBuf>, String> {
    build_with(
        s,
        prog,
        locals,
        dir,
        backend,
        &crate::manifest::Deploy::default(),
    )
}

/// [`build`] with a project's `[deploy]` defaults for `deploy.toml`.
pub fn build_with(
    s: &Session,
    prog: &Program,
    locals: &[LocalProgram],
    dir: &Path,
    backend: Backend,
    deploy: &crate::manifest::Deploy,
) -> Result<Vec<PathBuf>, String> {
    build_listening(s, prog, locals, dir, backend, deploy).map(|(exes, _)| exes)
}

/// [`build_with`], also returning the sockets bound to the addresses of the deployment file,
/// one per role of `locals` in their order, still listening: `chor run` hands each to its
/// role ([`chor_runtime::startup::spawn_with_listener`]).
fn build_listening(
    s: &Session,
    prog: &Program,
    locals: &[LocalProgram],
    dir: &Path,
    backend: Backend,
    deploy: &crate::manifest::Deploy,
) -> Result<(Vec<PathBuf>, Vec<std::net::TcpListener>), String> {
    let glue = crate::externs::for_build(s, prog)?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    // Native executables link the glue in when it can be made one object (then nothing goes
    // beside them); otherwise, or when linking it in fails, and for interpreter executables,
    // which load it at start (see `role_main`), the shared library goes next to them (native
    // ones find it through `$ORIGIN`).
    let copy_beside = |lib: &Path| -> Result<PathBuf, String> {
        let to = dir.join(crate::externs::LIB_NAME);
        std::fs::copy(lib, &to)
            .map_err(|e| format!("cannot copy {} to {}: {e}", lib.display(), to.display()))?;
        Ok(to)
    };
    let out = match (backend, &glue) {
        (Backend::Native, Some(lib)) => match crate::externs::static_object(lib) {
            Some(object) => {
                match build_native(s, prog, locals, dir, Some(Glue::Static(&object))) {
                    Ok(out) => {
                        // A library left by an earlier build would only mislead.
                        let _ = std::fs::remove_file(dir.join(crate::externs::LIB_NAME));
                        out
                    }
                    // Never a link error that the shared library would not have: link that,
                    // and make the object again next time.
                    Err(_) => {
                        let _ = std::fs::remove_file(&object);
                        let shared = copy_beside(lib)?;
                        build_native(s, prog, locals, dir, Some(Glue::Shared(&shared)))?
                    }
                }
            }
            None => {
                let shared = copy_beside(lib)?;
                build_native(s, prog, locals, dir, Some(Glue::Shared(&shared)))?
            }
        },
        (Backend::Native, None) => build_native(s, prog, locals, dir, None)?,
        (Backend::Interp, glue) => {
            if let Some(lib) = glue {
                copy_beside(lib)?;
            }
            build_interp(s, prog, locals, dir)?
        }
    };
    let roles: Vec<String> = locals.iter().map(|l| l.role.clone()).collect();
    let listeners = chor_runtime::startup::bind_free_ports(roles.len())
        .map_err(|e| format!("cannot find free loopback ports: {e}"))?;
    let mut addrs: BTreeMap<String, String> = BTreeMap::new();
    for (r, l) in roles.iter().zip(&listeners) {
        let port = l
            .local_addr()
            .map_err(|e| format!("cannot find free loopback ports: {e}"))?
            .port();
        addrs.insert(r.clone(), format!("127.0.0.1:{port}"));
    }
    write_deploy(&dir.join("deploy.toml"), prog, &roles, &addrs, deploy)?;
    Ok((out, listeners))
}

/// Interpreter role executables: copies of `chor` with the program appended.
fn build_interp(
    s: &Session,
    prog: &Program,
    locals: &[LocalProgram],
    dir: &Path,
) -> Result<Vec<PathBuf>, String> {
    let files = payload_files(s, prog);
    let fp = fingerprint(&files);
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find the chor executable: {e}"))?;
    let base = std::fs::read(&exe).map_err(|e| format!("cannot read {}: {e}", exe.display()))?;
    let base = match find_payload_start(&base) {
        Some(n) => &base[..n],
        None => &base[..],
    };
    let sizes: Vec<(String, u64)> = prog
        .families
        .iter()
        .map(|(f, n)| (f.clone(), *n as u64))
        .collect();
    let mut out = Vec::new();
    for lp in locals {
        // One executable per family, run by each member with `--member i`.
        let role = match family_of(prog, &lp.role) {
            Some(f) => {
                let path = dir.join(f);
                if out.contains(&path) {
                    out.push(path);
                    continue;
                }
                f.to_owned()
            }
            None => lp.role.clone(),
        };
        let payload = Payload {
            role: role.clone(),
            fingerprint: fp,
            files: files.clone(),
            sizes: sizes.clone(),
        }
        .encode();
        let mut bytes = Vec::with_capacity(base.len() + payload.len() + 24);
        bytes.extend_from_slice(base);
        bytes.extend_from_slice(&payload);
        bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        bytes.extend_from_slice(MAGIC);
        let path = dir.join(&role);
        write_executable(&path, &bytes)?;
        out.push(path);
    }
    Ok(out)
}

/// The family of `main` that `role` is a member of (`Workers[2]` → `Workers`).
pub fn family_of<'p>(prog: &'p Program, role: &str) -> Option<&'p str> {
    let (family, _) = chor_runtime::config::split_member(role)?;
    prog.families.get_key_value(family).map(|(f, _)| f.as_str())
}

fn find_payload_start(bytes: &[u8]) -> Option<usize> {
    let n = bytes.len();
    if n < 24 || &bytes[n - 16..] != MAGIC {
        return None;
    }
    let size = u64::from_le_bytes(bytes[n - 24..n - 16].try_into().ok()?) as usize;
    n.checked_sub(24)?.checked_sub(size)
}

fn write_executable(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("cannot make {} executable: {e}", tmp.display()))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn write_deploy(
    path: &Path,
    prog: &Program,
    roles: &[String],
    addrs: &BTreeMap<String, String>,
    deploy: &crate::manifest::Deploy,
) -> Result<(), String> {
    let mut text = String::from(
        "# Deployment of a chor program: one address per role, a list of one address per\n\
         # member for a family.\n[roles]\n",
    );
    // A family is one entry: the list of its members' addresses, in member order.
    let mut entries: Vec<(String, String)> = Vec::new();
    for r in roles {
        let addr = format!("\"{}\"", addrs.get(r).map_or("", String::as_str));
        match family_of(prog, r) {
            Some(f) => match entries.iter_mut().find(|(n, _)| n == f) {
                Some((_, list)) => {
                    list.pop();
                    list.push_str(&format!(", {addr}]"));
                }
                None => entries.push((f.to_owned(), format!("[{addr}]"))),
            },
            None => entries.push((r.clone(), addr)),
        }
    }
    let width = entries.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (n, v) in &entries {
        text.push_str(&format!("{n:<width$} = {v}\n"));
    }
    // Liveness by default: peers exchange heartbeats, and a peer silent for this long (stopped,
    // crashed, cut off) ends every role waiting for it.
    text.push_str(&format!(
        "\n[runtime]\nconnect_timeout_ms = {}\nidle_timeout_ms = {}\n",
        deploy.connect_timeout_ms.unwrap_or(10_000),
        deploy
            .idle_timeout_ms
            .unwrap_or(chor_runtime::config::DEFAULT_IDLE_TIMEOUT_MS)
    ));
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// How long the directory of a `chor run` that no longer exists stays untouched before a
/// later `chor run` removes it ([`chor_runtime::startup::sweep_stale_run_dirs`]).
const STALE_RUN_DIR: std::time::Duration = std::time::Duration::from_secs(600);

/// `chor run`: build into a temporary directory, start every role as its own process on
/// loopback, print `[Role] line` as lines arrive, forward stdin to the first role, and stop
/// everything if a role fails.
pub fn run(s: &Session, prog: &Program, locals: &[LocalProgram], backend: Backend) -> i32 {
    run_with(s, prog, locals, backend, &crate::World::default())
}

/// [`run`] with `--stdin` files (each role named reads its file; the first role reads the
/// standard input of `chor` unless it is named; every other role is at end of input) and the
/// program's arguments (given to every role after `--`).
pub fn run_with(
    s: &Session,
    prog: &Program,
    locals: &[LocalProgram],
    backend: Backend,
    world: &crate::World,
) -> i32 {
    // Every input is opened before anything is built or started.
    let mut inputs: HashMap<String, std::fs::File> = HashMap::new();
    for (r, f) in &world.stdin {
        match std::fs::File::open(f) {
            Ok(file) => {
                inputs.insert(r.clone(), file);
            }
            Err(e) => {
                eprintln!("error: --stdin {r}={}: cannot read it: {e}", f.display());
                return 2;
            }
        }
    }
    let tmp = std::env::temp_dir();
    // What a `chor run` killed with SIGKILL left behind (its roles ended with it).
    chor_runtime::startup::sweep_stale_run_dirs(&tmp, STALE_RUN_DIR);
    let dir = tmp.join(format!("chor-run-{}", std::process::id()));
    // Ended by SIGTERM, SIGINT or SIGHUP: the directory goes too (the roles end with `chor`,
    // see chor_runtime::startup::end_with_parent).
    let guard = chor_runtime::startup::on_termination({
        let dir = dir.clone();
        move || {
            let _ = std::fs::remove_dir_all(&dir);
        }
    });
    let result = run_in(s, prog, locals, &dir, backend, inputs, world);
    let _ = std::fs::remove_dir_all(&dir);
    drop(guard);
    result
}

fn run_in(
    s: &Session,
    prog: &Program,
    locals: &[LocalProgram],
    dir: &Path,
    backend: Backend,
    mut inputs: HashMap<String, std::fs::File>,
    world: &crate::World,
) -> i32 {
    let (args, deploy) = (&world.args, &world.deploy);
    let (exes, listeners) = match build_listening(s, prog, locals, dir, backend, deploy) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let config = dir.join("deploy.toml");
    let out = Arc::new(Mutex::new(std::io::stdout()));
    let mut slots: Vec<Option<(String, std::process::Child)>> = exes.iter().map(|_| None).collect();
    let mut first_piped = false;
    // Every role's socket is listening already (bound by `build_listening` and handed over
    // below), so no dial is ever refused. Listeners first all the same: of two roles, the one
    // whose name sorts first dials the other (chor_runtime's session), so starting the roles
    // in the reverse order of their names has each dialled role running, ready to answer the
    // handshake, as early as possible.
    let mut order: Vec<usize> = (0..exes.len().min(locals.len())).collect();
    order.sort_by(|&a, &b| locals[b].role.cmp(&locals[a].role));
    for i in order {
        let (exe, lp) = (&exes[i], &locals[i]);
        let stdin = match inputs.remove(&lp.role) {
            Some(f) => Stdio::from(f),
            None if i == 0 => {
                first_piped = true;
                Stdio::piped()
            }
            None => Stdio::null(),
        };
        let mut cmd = Command::new(exe);
        cmd.arg("--config").arg(&config);
        // A family's executable runs one member.
        if exe.file_name().is_some_and(|n| *n != *lp.role)
            && let Some((_, i)) = chor_runtime::config::split_member(&lp.role)
        {
            cmd.arg("--member").arg(i.to_string());
        }
        if !args.is_empty() {
            cmd.arg("--").args(args);
        }
        cmd
            // The role ends when this process ends, even by SIGKILL (see chor_runtime::startup).
            .env(
                chor_runtime::startup::PARENT_PID_VAR,
                std::process::id().to_string(),
            )
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = match listeners.get(i) {
            Some(l) => chor_runtime::startup::spawn_with_listener(&mut cmd, l),
            None => cmd.spawn(),
        };
        match child {
            Ok(c) => slots[i] = Some((lp.role.clone(), c)),
            Err(e) => {
                eprintln!("error: cannot start role {}: {e}", lp.role);
                for (_, mut c) in slots.into_iter().flatten() {
                    let _ = c.kill();
                    let _ = c.wait();
                }
                return 1;
            }
        }
    }
    // Each role holds its own listener now.
    drop(listeners);
    // Back in the program's order of roles.
    let mut children: Vec<(String, std::process::Child)> = slots.into_iter().flatten().collect();
    // stdin → first role
    if let Some(mut stdin) = children
        .first_mut()
        .filter(|_| first_piped)
        .and_then(|(_, c)| c.stdin.take())
    {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut stdin);
        });
    }
    let mut readers = Vec::new();
    // Each role's error text, with when its first line came (the order roles failed in).
    let errors: Arc<Mutex<Vec<RoleError>>> = Arc::new(Mutex::new(Vec::new()));
    // Ended by SIGTERM, SIGINT or SIGHUP before every role has: the errors kept so far would
    // be lost with it. A role that failed while another waits for input (a prompt after the
    // failure, in a run that now waits for the user) is such a run's likely end, and its
    // error the one thing the user needs.
    let _report_on_termination = chor_runtime::startup::on_termination({
        let errors = Arc::clone(&errors);
        move || {
            let errs = crate::lock(&errors).clone();
            if !errs.is_empty() {
                eprint!("{}", interrupted_report(&errs));
            }
        }
    });
    // What the readers see: a role's output ending (it is ending), a peer it timed out on.
    let (tx, rx) = std::sync::mpsc::channel::<RunEvent>();
    let mut pipes = vec![0usize; children.len()];
    for (k, (role, c)) in children.iter_mut().enumerate() {
        if let Some(stdout) = c.stdout.take() {
            let out = Arc::clone(&out);
            let role = role.clone();
            let tx = tx.clone();
            pipes[k] += 1;
            readers.push(std::thread::spawn(move || {
                // Lines end at '\n' only: a printed '\r' before it is the program's own
                // text (as in `chor simulate`), not part of a line ending.
                let mut input = BufReader::new(stdout);
                let mut line = Vec::new();
                while matches!(input.read_until(b'\n', &mut line), Ok(n) if n > 0) {
                    if line.last() == Some(&b'\n') {
                        line.pop();
                    }
                    let mut o = crate::lock(&out);
                    let _ = write!(o, "[{role}] ");
                    let _ = o.write_all(&line);
                    let _ = writeln!(o);
                    let _ = o.flush();
                    line.clear();
                }
                let _ = tx.send(RunEvent::Closed(k));
            }));
        }
        if let Some(stderr) = c.stderr.take() {
            let errors = Arc::clone(&errors);
            let role = role.clone();
            let tx = tx.clone();
            pipes[k] += 1;
            readers.push(std::thread::spawn(move || {
                // `io::eprint` lines and warnings go out as they come, prefixed like printed
                // lines; from the role's first error on, the text is kept for the report (or,
                // should the role end well after all, printed then: it was the program's).
                // The kept text goes into `errors` line by line, not once the role has
                // ended: a role that failed may linger (its peers read its last messages)
                // while another waits for input, and `chor run` ended meanwhile (Ctrl-C)
                // prints what is kept so far.
                let mut kept = 0usize;
                let mut slot: Option<usize> = None;
                let mut input = BufReader::new(stderr);
                let mut line = Vec::new();
                while matches!(input.read_until(b'\n', &mut line), Ok(n) if n > 0) {
                    let l = String::from_utf8_lossy(&line).into_owned();
                    // Bounded: past KEPT_STDERR bytes a chatty role's lines go out as they
                    // come (a report needs its first lines, not a megabyte of them).
                    if (kept == 0 && !l.starts_with("error: ")) || kept > KEPT_STDERR {
                        let body = l.strip_suffix('\n').unwrap_or(&l);
                        let mut e = std::io::stderr().lock();
                        let _ = writeln!(e, "[{role}] {body}");
                    } else {
                        if let Some(peer) = timed_out_on(&l) {
                            let _ = tx.send(RunEvent::TimedOut(peer));
                        }
                        kept += l.len();
                        let mut e = crate::lock(&errors);
                        match slot {
                            Some(i) => e[i].text.push_str(&l),
                            None => {
                                slot = Some(e.len());
                                e.push(RoleError {
                                    role: role.clone(),
                                    text: l,
                                    since: Some(std::time::Instant::now()),
                                });
                            }
                        }
                    }
                    line.clear();
                }
                let _ = tx.send(RunEvent::Closed(k));
            }));
        }
    }
    drop(tx);
    // Wait for every role to end on its own: after a fault, the roles that do not depend on
    // the failed one run to completion (docs/language.md, "Faults"), and those that wait for
    // it stop when its connections close. A role is reaped as soon as its output ends (it
    // is exiting), so `chor run` ends when the last role has ended, without polling. The
    // roles `chor run` ends itself would never end otherwise: one that stopped responding (a
    // peer heard nothing from it, not even the heartbeats its runtime sends on its own, for
    // the idle timeout: it was stopped with SIGSTOP, or is stuck in the kernel), and, once
    // the run has failed, one found stopped.
    type Failed = Vec<(String, Option<std::process::ExitStatus>)>;
    fn reap(slot: &mut Option<(String, std::process::Child)>, block: bool, failed: &mut Failed) {
        let Some((_, c)) = slot else { return };
        let status = if block {
            c.wait().map(Some)
        } else {
            c.try_wait()
        };
        match status {
            Ok(None) => return,
            Ok(Some(st)) if st.success() => {}
            Ok(Some(st)) => failed.push((slot_role(slot), Some(st))),
            Err(_) => failed.push((slot_role(slot), None)),
        }
        *slot = None;
    }
    let mut slots: Vec<Option<(String, std::process::Child)>> =
        children.into_iter().map(Some).collect();
    let mut closed = vec![0usize; slots.len()];
    let mut failed: Failed = Vec::new();
    let mut ended: Vec<(String, Ended)> = Vec::new();
    while slots.iter().any(Option::is_some) {
        match rx.recv_timeout(std::time::Duration::from_millis(200)) {
            Ok(RunEvent::Closed(k)) => {
                closed[k] += 1;
                if closed[k] >= pipes[k] {
                    reap(&mut slots[k], true, &mut failed);
                }
            }
            Ok(RunEvent::TimedOut(peer)) => {
                if let Some(Some((role, c))) = slots
                    .iter_mut()
                    .find(|s| s.as_ref().is_some_and(|(r, _)| *r == peer))
                    && !ended.iter().any(|(r, _)| r == role)
                {
                    let _ = c.kill();
                    ended.push((role.clone(), Ended::Silent));
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                for slot in &mut slots {
                    reap(slot, false, &mut failed);
                }
                // Once the run has failed, a stopped role (whose peers may have ended for
                // another reason before timing out on it) is all that is left to wait for,
                // and would be waited for for ever.
                if !failed.is_empty() {
                    for (role, c) in slots.iter_mut().flatten() {
                        if is_stopped(c.id()) && !ended.iter().any(|(r, _)| r == role) {
                            let _ = c.kill();
                            ended.push((role.clone(), Ended::Stopped));
                        }
                    }
                }
            }
            // Every reader is done: what still runs has closed its output; wait for it.
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                for slot in &mut slots {
                    reap(slot, true, &mut failed);
                }
            }
        }
    }
    for r in readers {
        let _ = r.join();
    }
    let errs = errors.lock().map(|e| e.clone()).unwrap_or_default();
    // A role that ended well wrote those lines itself (`io::eprint("error: …")`): they are
    // its output, not a failure, and are not lost.
    for e in errs
        .iter()
        .filter(|e| !failed.iter().any(|(r, _)| *r == e.role))
    {
        let mut err = std::io::stderr().lock();
        for l in e.text.lines() {
            let _ = writeln!(err, "[{}] {l}", e.role);
        }
    }
    if failed.is_empty() {
        return 0;
    }
    eprint!("{}", failure_report(&failed, &ended, &errs));
    1
}

fn slot_role(slot: &Option<(String, std::process::Child)>) -> String {
    slot.as_ref().map(|(r, _)| r.clone()).unwrap_or_default()
}

/// How much of a role's standard error `chor run` keeps for its report.
const KEPT_STDERR: usize = 1 << 20;

/// What the threads reading the roles' output tell `chor run`.
enum RunEvent {
    /// One of the output pipes of the role at this index closed.
    Closed(usize),
    /// A role timed out waiting for this peer.
    TimedOut(String),
}

/// The peer an error line says its role timed out on (`error: role C: timed out after 1000 ms
/// waiting to receive from peer B at f.chor:6`).
fn timed_out_on(line: &str) -> Option<String> {
    let (_, rest) = line.split_once(": timed out after ")?;
    let (_, rest) = rest.split_once(" peer ")?;
    let (peer, _) = rest.split_once(" at ")?;
    Some(peer.to_string())
}

/// What a failed role wrote to its standard error from its first error line on.
#[derive(Debug, Clone)]
struct RoleError {
    role: String,
    text: String,
    /// When its first error line arrived.
    since: Option<std::time::Instant>,
}

/// How a role that wrote no error of its own ended: killed by a signal (`kill -9`, the
/// OOM killer, a crash) or with a bare exit status.
fn ended_how(status: Option<std::process::ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Some(s) => match (s.signal(), s.code()) {
            (Some(sig), _) => match signal_name(sig) {
                Some(name) => format!("was killed by signal {sig} ({name})"),
                None => format!("was killed by signal {sig}"),
            },
            (None, Some(code)) => format!("failed with exit status {code}"),
            (None, None) => "failed".to_string(),
        },
        None => "failed (its exit status is unknown)".to_string(),
    }
}

fn signal_name(sig: i32) -> Option<&'static str> {
    Some(match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => return None,
    })
}

/// The report of a failed run: the root cause first. A role that stopped responding (which
/// `chor run` then ended) or that ended without an error of its own (killed by a signal) is
/// the root cause of every error that followed, and since it names no line, the errors of the
/// roles that lost it follow it (each names the line it was at). Otherwise the root cause is the first role that failed on its own (not because a
/// peer went away or fell silent), or else the first role that failed at all.
fn failure_report(
    failed: &[(String, Option<std::process::ExitStatus>)],
    ended: &[(String, Ended)],
    errs: &[RoleError],
) -> String {
    let text_of = |role: &str| errs.iter().find(|e| e.role == role);
    let why = |role: &str| ended.iter().find(|(r, _)| r == role).map(|(_, w)| *w);
    let mut by_time: Vec<&RoleError> = errs
        .iter()
        .filter(|e| failed.iter().any(|(r, _)| *r == e.role))
        .collect();
    by_time.sort_by_key(|e| (e.since.is_none(), e.since));
    let no_error = |r: &str| text_of(r).and_then(|e| e.since).is_none();
    // Roles found stopped once the run had failed: a consequence, reported last.
    let mut notes = String::new();
    for (role, _) in failed
        .iter()
        .filter(|(r, _)| why(r) == Some(Ended::Stopped))
    {
        notes.push_str(&format!(
            "error: role {role} was stopped (SIGSTOP) when the run failed, so chor run ended it\n"
        ));
    }
    let silent = failed
        .iter()
        .find(|(r, _)| why(r) == Some(Ended::Silent) && no_error(r));
    let killed = || failed.iter().find(|(r, _)| why(r).is_none() && no_error(r));
    if let Some((role, status)) = silent.or_else(killed) {
        let how = if why(role).is_some() {
            "stopped responding (a peer heard nothing from it for the idle timeout), so chor \
             run ended it"
                .to_string()
        } else {
            ended_how(*status)
        };
        let mut out = format!("error: role {role} {how}\n");
        for e in by_time.iter().filter(|e| e.role != *role) {
            out.push_str(&e.text);
        }
        return out + &notes;
    }
    let consequence = |t: &str| t.contains("disconnected while") || t.contains("timed out after");
    let root = by_time
        .iter()
        .find(|e| !consequence(&e.text))
        .or(by_time.first());
    match root {
        Some(e) => e.text.clone() + &notes,
        None if !notes.is_empty() => notes,
        None => "error: a role failed\n".to_string(),
    }
}

/// What `chor run` prints of the errors kept so far when a signal ends it: the root cause
/// first, as [`failure_report`] chooses it among the roles that wrote an error, then the
/// other kept lines in the order they came (a role's own `io::eprint` lines prefixed by its
/// name, as they would have been at the end).
fn interrupted_report(errs: &[RoleError]) -> String {
    let failed: Vec<(String, Option<std::process::ExitStatus>)> =
        errs.iter().map(|e| (e.role.clone(), None)).collect();
    let root = failure_report(&failed, &[], errs);
    let mut out = root.clone();
    let mut by_time: Vec<&RoleError> = errs.iter().collect();
    by_time.sort_by_key(|e| e.since);
    for e in by_time.into_iter().filter(|e| e.text != root) {
        for l in e.text.lines() {
            if l.starts_with(&format!("error: role {}: ", e.role)) {
                out.push_str(l);
            } else {
                out.push_str(&format!("[{}] {l}", e.role));
            }
            out.push('\n');
        }
    }
    out
}

/// Why `chor run` ended a role itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// A peer timed out on it: it had stopped responding.
    Silent,
    /// It was found stopped (SIGSTOP) after the run had failed.
    Stopped,
}

/// Whether process `pid` is stopped by job control (SIGSTOP, SIGTSTP): its state in
/// `/proc/PID/stat`, the field after the command name in parentheses. (A process stopped by
/// a debugger is traced, state `t`, and is left alone.)
fn is_stopped(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.starts_with('T')))
        .unwrap_or(false)
}
