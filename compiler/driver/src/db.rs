//! The incremental database shared by the command line and the language server.
//!
//! Every stage is a salsa query over `SourceFile` inputs: parsing per file, assembling the
//! program (imports + stdlib), and checking. Only this module and the binaries touch the file
//! system: imported files are loaded on demand and become inputs themselves.
//!
//! Beside salsa's memos the database keeps the last parse of each file, so that a new text is
//! parsed incrementally (`chor_syntax::reparse`, whose result is exactly a full parse), and the
//! last check of each program with its per-item results, so that only the bodies an edit
//! touched are checked again (`chor_check::Reuse`; again exactly what a check from scratch
//! finds). The values of earlier revisions are freed on a background thread (see
//! [`Graveyard`]), so an edit does not wait for the previous program to be dropped.

use chor_check::program::Loader;
use chor_check::{CheckCache, Program, Reuse, stdlib};
use chor_diagnostics::{Diagnostic, FileId, SourceMap};
use chor_project::ChoiceCache;
use chor_syntax::Parsed;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// One source file: its id for spans, its path, and its text; and, in the language server,
/// the `[sizes]` of the project around it (see [`program`]).
#[salsa::input]
pub struct SourceFile {
    #[returns(copy)]
    pub id: FileId,
    #[returns(ref)]
    pub path: PathBuf,
    #[returns(ref)]
    pub text: String,
    /// The `[sizes]` of the `chor.toml` around the file, for the families of `main` the
    /// database's own sizes do not give. Empty for the command line, which merges them into
    /// the database's sizes before opening the file (`Session::open`).
    #[returns(ref)]
    pub project_sizes: chor_check::families::Sizes,
}

#[derive(Default)]
struct Files {
    by_path: HashMap<PathBuf, SourceFile>,
    by_id: Vec<SourceFile>,
}

/// What queries need from the database beyond salsa: lazy file inputs, the previous parse of
/// a file and the previous check of a program, and a place to leave values that are freed
/// later.
#[salsa::db]
pub trait Db: salsa::Database {
    /// The input for `path`, reading it from disk the first time.
    fn load(&self, path: &Path) -> Result<SourceFile, String>;
    fn file_by_id(&self, id: FileId) -> Option<SourceFile>;
    /// Parse `text`, the current text of `file`, reusing the file's previous parse.
    fn parse_text(&self, file: FileId, text: &str) -> Arc<Parsed>;
    /// Keep `value` (a clone of a query result) until salsa no longer holds the result, then
    /// drop it on a background thread: the last reference frees it there.
    fn drop_later(&self, value: Box<dyn Send>);
    /// The diagnostics of the static checks and (without syntax errors) of knowledge of choice,
    /// reusing what the last check of the program rooted at `root` found for the items that did
    /// not change since.
    fn check_reusing(&self, root: FileId, prog: &Arc<Program>) -> Vec<Diagnostic>;
    /// The static checks with the tables of hovers and references, reusing likewise.
    fn checked_reusing(&self, root: FileId, prog: &Arc<Program>) -> chor_check::Checked;
    /// The family sizes to expand `main` at (see [`Database::with_sizes`]).
    fn family_sizes(&self) -> Arc<chor_check::families::Sizes>;
}

/// The concrete database.
#[salsa::db]
#[derive(Clone, Default)]
pub struct Database {
    storage: salsa::Storage<Self>,
    files: Arc<Mutex<Files>>,
    /// The last parse of each file, with the text it parsed.
    parses: Arc<Mutex<HashMap<FileId, LastParse>>>,
    /// The last check of the program rooted at each file, for the diagnostics...
    checks: Arc<Mutex<HashMap<FileId, LastCheck>>>,
    /// ... and with the tables of hovers and references.
    tables: Arc<Mutex<HashMap<FileId, LastCheck>>>,
    graveyard: Arc<Mutex<Graveyard>>,
    /// The family sizes of the run (`--size Ws=N`), set before the first query and never
    /// changed after it (salsa does not track it): the language server keeps the defaults.
    sizes: Arc<chor_check::families::Sizes>,
}

/// A text and its parse.
type LastParse = (String, Arc<Parsed>);

/// A program and what checking it found per item.
struct LastCheck {
    program: Arc<Program>,
    check: CheckCache,
    choices: ChoiceCache,
}

/// Values of earlier revisions, waiting for salsa to let go of them.
///
/// Salsa keeps a replaced memo until the revision after the one that replaced it starts (the
/// next change of an input), and frees it there, on the path of that change. A clone of each
/// large result is left here with the revision it was computed in; two revisions later salsa
/// holds it no more, and the clone is sent to a thread that drops it.
#[derive(Default)]
pub struct Graveyard {
    revision: u64,
    values: Vec<(u64, Box<dyn Send>)>,
}

impl Graveyard {
    fn keep(&mut self, value: Box<dyn Send>) {
        self.values.push((self.revision, value));
    }

    /// A new revision started: release what salsa cannot hold anymore.
    fn next_revision(&mut self) {
        self.revision += 1;
        let keep_from = self.revision.saturating_sub(1);
        let (old, young): (Vec<_>, Vec<_>) = std::mem::take(&mut self.values)
            .into_iter()
            .partition(|(r, _)| *r < keep_from);
        self.values = young;
        if !old.is_empty() {
            drop_in_background(old.into_iter().map(|(_, v)| v).collect());
        }
    }
}

/// Drop `values` on a background thread (inline if no thread can be started).
fn drop_in_background(values: Vec<Box<dyn Send>>) {
    use std::sync::mpsc::{Sender, channel};
    type Batch = Vec<Box<dyn Send>>;
    static DROPPER: std::sync::OnceLock<Option<Mutex<Sender<Batch>>>> = std::sync::OnceLock::new();
    let sender = DROPPER.get_or_init(|| {
        let (tx, rx) = channel::<Batch>();
        std::thread::Builder::new()
            .name("chor-drop".into())
            // Dropping a syntax tree recurses as deep as it nests.
            .stack_size(chor_interp::STACK_SIZE)
            .spawn(move || rx.into_iter().for_each(drop))
            .ok()
            .map(|_| Mutex::new(tx))
    });
    let sent = match sender {
        Some(tx) => match tx.lock() {
            Ok(tx) => tx.send(values),
            Err(p) => p.into_inner().send(values),
        },
        None => Err(std::sync::mpsc::SendError(values)),
    };
    // If the thread is gone, drop here.
    drop(sent);
}

#[salsa::db]
impl salsa::Database for Database {}

#[salsa::db]
impl Db for Database {
    fn family_sizes(&self) -> Arc<chor_check::families::Sizes> {
        Arc::clone(&self.sizes)
    }
    fn load(&self, path: &Path) -> Result<SourceFile, String> {
        self.load_file(path)
    }
    fn file_by_id(&self, id: FileId) -> Option<SourceFile> {
        self.lock().by_id.get(id.0 as usize).copied()
    }
    fn parse_text(&self, file: FileId, text: &str) -> Arc<Parsed> {
        let previous = lock(&self.parses).get(&file).cloned();
        let parsed = Arc::new(match &previous {
            Some((old_text, old)) => chor_syntax::reparse(file, old, old_text, text),
            None => chor_syntax::parse(file, text),
        });
        // Only a parse without errors helps the next one (see `reparse`): while the text has
        // errors, keep the last one that had none, so that the parse after the fix is
        // incremental again.
        if parsed.errors.is_empty() || previous.is_none() {
            lock(&self.parses).insert(file, (text.to_owned(), parsed.clone()));
            if let Some(previous) = previous {
                self.drop_later(Box::new(previous));
            }
        }
        parsed
    }
    fn drop_later(&self, value: Box<dyn Send>) {
        lock(&self.graveyard).keep(value);
    }
    fn check_reusing(&self, root: FileId, prog: &Arc<Program>) -> Vec<Diagnostic> {
        self.with_last_check(&self.checks, root, prog, |previous| {
            let (mut diags, ir, check) =
                chor_check::check_diagnostics_resolving(prog, previous.map(|(r, l)| (r, &l.check)));
            let syntax_ok = !prog.diagnostics.iter().any(Diagnostic::is_error);
            let choices = if syntax_ok {
                // Projection reads the roles the checks resolved.
                let mut resolved = (**prog).clone();
                resolved.ir = Arc::new(ir);
                let (found, choices) = chor_project::check_choices_reusing(
                    &resolved,
                    previous.map(|(r, l)| (r, &l.choices)),
                );
                diags.extend(found);
                // Generic and higher-order choreographies run as one instance per call:
                // project those too, as `chor run` will (only a program free of errors can be
                // instantiated).
                if !diags.iter().any(Diagnostic::is_error) {
                    diags.extend(chor_project::check_choices_of_instances(&resolved));
                }
                choices
            } else {
                ChoiceCache::default()
            };
            (diags, check, choices)
        })
    }
    fn checked_reusing(&self, root: FileId, prog: &Arc<Program>) -> chor_check::Checked {
        self.with_last_check(&self.tables, root, prog, |previous| {
            let (checked, check) =
                chor_check::check_program_reusing(prog, previous.map(|(r, l)| (r, &l.check)));
            (checked, check, ChoiceCache::default())
        })
    }
}

impl Database {
    /// The input for `path`, reading it from disk the first time.
    /// A database whose programs expand `main`'s families at `sizes` (`--size Ws=N`).
    pub fn with_sizes(sizes: chor_check::families::Sizes) -> Database {
        Database {
            sizes: Arc::new(sizes),
            ..Database::default()
        }
    }

    pub fn load_file(&self, path: &Path) -> Result<SourceFile, String> {
        let key = normalize(path);
        if let Some(f) = self.lock().by_path.get(&key) {
            return Ok(*f);
        }
        // Bounded: a FIFO, a device or a huge file is an error naming it, not an endless read.
        let text = crate::source::read_source(path)?;
        Ok(self.add(&key, text))
    }

    /// Every file loaded from a path or registered with [`Database::set_text`], in the order
    /// they came.
    pub fn file_ids(&self) -> Vec<FileId> {
        let files = self.lock().by_id.clone();
        files.iter().map(|f| f.id(self)).collect()
    }

    /// Register (or replace) a file's text, e.g. an editor buffer.
    pub fn set_text(&mut self, path: &Path, text: String) -> SourceFile {
        use salsa::Setter;
        let key = normalize(path);
        let existing = self.lock().by_path.get(&key).copied();
        match existing {
            Some(f) => {
                if f.text(self) != &text {
                    let old = f.set_text(self).to(text);
                    let mut graveyard = lock(&self.graveyard);
                    graveyard.keep(Box::new(old));
                    graveyard.next_revision();
                }
                f
            }
            None => self.add(&key, text),
        }
    }

    /// Give `file` the `[sizes]` of its project (see [`SourceFile::project_sizes`]); returns
    /// whether they changed.
    pub fn set_project_sizes(
        &mut self,
        file: SourceFile,
        sizes: chor_check::families::Sizes,
    ) -> bool {
        use salsa::Setter;
        if *file.project_sizes(self) == sizes {
            return false;
        }
        file.set_project_sizes(self).to(sizes);
        lock(&self.graveyard).next_revision();
        true
    }

    fn add(&self, key: &Path, text: String) -> SourceFile {
        let mut files = self.lock();
        if let Some(f) = files.by_path.get(key) {
            return *f;
        }
        let id = FileId(files.by_id.len() as u32);
        let f = SourceFile::new(
            self,
            id,
            key.to_path_buf(),
            text,
            chor_check::families::Sizes::new(),
        );
        files.by_path.insert(key.to_path_buf(), f);
        files.by_id.push(f);
        f
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Files> {
        lock(&self.files)
    }

    /// Run `check` given the last check of the program rooted at `root` kept in `store` and how
    /// `prog` relates to it, and keep the new check there instead. Results are reused only from
    /// programs without syntax or import errors: while `prog` has some, the last check of a
    /// program that had none stays.
    fn with_last_check<R>(
        &self,
        store: &Mutex<HashMap<FileId, LastCheck>>,
        root: FileId,
        prog: &Arc<Program>,
        check: impl FnOnce(Option<(&Reuse, &LastCheck)>) -> (R, CheckCache, ChoiceCache),
    ) -> R {
        let last = lock(store).remove(&root);
        let reuse = last.as_ref().and_then(|l| Reuse::new(&l.program, prog));
        let (result, check, choices) = check(reuse.as_ref().zip(last.as_ref()));
        let keep = match last {
            Some(last) if !prog.diagnostics.is_empty() => last,
            last => {
                if let Some(last) = last {
                    self.drop_later(Box::new(last));
                }
                LastCheck {
                    program: prog.clone(),
                    check,
                    choices,
                }
            }
        };
        lock(store).insert(root, keep);
        result
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

fn normalize(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Parse one file (incrementally: see [`Db::parse_text`]).
#[salsa::tracked(returns(clone))]
pub fn parse_file(db: &dyn Db, file: SourceFile) -> Arc<Parsed> {
    let parsed = db.parse_text(file.id(db), file.text(db));
    db.drop_later(Box::new(parsed.clone()));
    parsed
}

struct DbLoader<'a> {
    db: &'a dyn Db,
}

impl Loader for DbLoader<'_> {
    fn load(
        &mut self,
        from: FileId,
        import: &str,
    ) -> Result<(FileId, String, Arc<Parsed>), String> {
        let base = self
            .db
            .file_by_id(from)
            .and_then(|f| f.path(self.db).parent().map(Path::to_path_buf))
            .unwrap_or_default();
        let f = self.db.load(&base.join(import))?;
        Ok((
            f.id(self.db),
            display_name(f.path(self.db)),
            parse_file(self.db, f),
        ))
    }
}

/// The name shown for a file in diagnostics: relative to the current directory when possible.
pub fn display_name(p: &Path) -> String {
    if let Ok(cwd) = std::env::current_dir()
        && let Ok(rel) = p.strip_prefix(&cwd)
    {
        return rel.display().to_string();
    }
    p.display().to_string()
}

/// The whole program rooted at `root`.
#[salsa::tracked(returns(clone))]
pub fn program(db: &dyn Db, root: SourceFile) -> Arc<Program> {
    let parsed = parse_file(db, root);
    // The project's sizes are the entry's: a file whose `main` has other families takes only
    // those of its own (as `chor check FILE` does).
    let mut sizes = (*db.family_sizes()).clone();
    let project = root.project_sizes(db);
    if !project.is_empty() {
        let families: Vec<&str> = parsed
            .file
            .items
            .iter()
            .find_map(|item| match &**item {
                chor_syntax::ast::Item::Chor(c) if c.name.name == "main" => {
                    Some(c.families.iter().map(|f| f.name.as_str()).collect())
                }
                _ => None,
            })
            .unwrap_or_default();
        for (f, n) in project {
            if families.contains(&f.as_str()) {
                sizes.entry(f.clone()).or_insert(*n);
            }
        }
    }
    let mut prog = Program::assemble_sized(
        root.id(db),
        &display_name(root.path(db)),
        parsed,
        &mut DbLoader { db },
        &sizes,
    );
    prog.add_source(root.id(db), root.text(db));
    let prog = Arc::new(prog);
    db.drop_later(Box::new(prog.clone()));
    prog
}

/// Names, types, roles and locations (the static checks of chor-check), with hovers and references.
#[salsa::tracked(returns(clone))]
pub fn checked(db: &dyn Db, root: SourceFile) -> Arc<chor_check::Checked> {
    let checked = Arc::new(db.checked_reusing(root.id(db), &program(db, root)));
    db.drop_later(Box::new(checked.clone()));
    checked
}

/// The program with the resolved program the checks publish attached (`Program::ir`): what
/// every phase after the checks reads.
#[salsa::tracked(returns(clone))]
pub fn resolved(db: &dyn Db, root: SourceFile) -> Arc<Program> {
    let mut prog = (*program(db, root)).clone();
    let checked = checked(db, root);
    prog.ir = Arc::new(checked.ir.clone());
    // Generic and higher-order choreographies become one first-order copy per instance; a
    // program with errors (E0737 among them) is not run, and keeps them as they are.
    if !checked.has_errors() {
        let _ = chor_check::mono::monomorphise(&mut prog);
    }
    let prog = Arc::new(prog);
    db.drop_later(Box::new(prog.clone()));
    prog
}

/// Every diagnostic of `chor check` (syntax, imports, types, locations, knowledge of choice).
#[salsa::tracked(returns(clone))]
pub fn check_query(db: &dyn Db, root: SourceFile) -> Arc<Vec<Diagnostic>> {
    let prog = program(db, root);
    let mut diags = db.check_reusing(root.id(db), &prog);
    diags.sort_by_key(|d| {
        d.primary_span()
            .map(|s| (s.file != root.id(db), s.file, s.start))
    });
    diags.dedup();
    // A family's members are checked one by one (see `chor_check::families`): the same
    // finding at the same place for several members is reported once, for the first.
    let mut seen = std::collections::HashSet::new();
    diags.retain(|d| seen.insert((d.code, d.primary_span(), without_member_indices(&d.message))));
    let diags = Arc::new(diags);
    db.drop_later(Box::new(diags.clone()));
    diags
}

/// `message` with every member index `Ws[2]` written `Ws[]`.
fn without_member_indices(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(k) = rest.find('[') {
        out.push_str(&rest[..=k]);
        rest = &rest[k + 1..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 && rest[digits..].starts_with(']') {
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

impl SourceMap for Database {
    fn name(&self, file: FileId) -> String {
        if let Some((_, name, _)) = stdlib::by_file(file) {
            return name.to_owned();
        }
        self.file_by_id(file)
            .map(|f| display_name(f.path(self)))
            .unwrap_or_else(|| "<unknown>".into())
    }
    fn text(&self, file: FileId) -> String {
        if let Some((_, _, text)) = stdlib::by_file(file) {
            return text.to_owned();
        }
        self.file_by_id(file)
            .map(|f| f.text(self).clone())
            .unwrap_or_default()
    }
}
