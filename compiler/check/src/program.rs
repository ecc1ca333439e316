//! A whole program: the root file, the files it imports, and the standard library, with an
//! index of the items by name. Every later phase (checking, projection, interpretation) works on
//! a `Program`.

use crate::stdlib;
use chor_diagnostics::{Diagnostic, FileId, Span};
use chor_syntax::ast::*;
use chor_syntax::{Parsed, as_chor_call, parse};
use std::collections::HashMap;
use std::sync::Arc;

/// One source file of the program.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub file: FileId,
    pub name: String,
    /// `Some("list")` for the stdlib module `list::`; `None` for user files and the prelude.
    pub module: Option<String>,
    /// Shared with the parse result; copied only when `let S.x = P(..)(..)` must be rewritten.
    pub ast: Arc<File>,
    pub is_stdlib: bool,
}

/// A fully qualified item name: module (None for the global namespace) and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QualName {
    pub module: Option<String>,
    pub name: String,
}

impl QualName {
    pub fn global(name: &str) -> QualName {
        QualName {
            module: None,
            name: name.to_owned(),
        }
    }
}

impl std::fmt::Display for QualName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.module {
            Some(m) => write!(f, "{m}::{}", self.name),
            None => write!(f, "{}", self.name),
        }
    }
}

/// Where an item lives: unit index and item index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ItemRef {
    pub unit: usize,
    pub item: usize,
}

/// The program with its items indexed by name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Program {
    pub units: Vec<Unit>,
    /// Parse errors and import errors.
    pub diagnostics: Vec<Diagnostic>,
    pub fns: HashMap<QualName, ItemRef>,
    pub structs: HashMap<QualName, ItemRef>,
    pub enums: HashMap<QualName, ItemRef>,
    pub chors: HashMap<String, ItemRef>,
    /// Variant name → (enum, variant index). Variants are global names.
    pub variants: HashMap<String, (QualName, usize)>,
    /// Items defined twice: (first, second) — reported by the checker.
    pub duplicates: Vec<(Span, Span, String)>,
    /// The text of each file, when known (for line numbers in messages).
    pub sources: HashMap<FileId, Arc<str>>,
    /// The resolved program the checker published for this program ([`crate::ir`]): empty
    /// as assembled, filled by [`Program::resolve`] (or the database's `resolved` query).
    /// Every phase after the checks reads names, types and roles here.
    pub ir: Arc<crate::ir::Ir>,
    /// The families of `main` and their sizes in this program (its members are the roles
    /// `Workers[0]`, …; see [`crate::families`]).
    pub families: std::collections::BTreeMap<String, usize>,
    /// What the language server shows over the family forms (`Ws[]`, `for W in Ws`,
    /// `index(W)`, `size(Ws)`), which the expansion replaces before the checks see them.
    pub family_hovers: Vec<(Span, Arc<str>)>,
    /// The choreographies with families as written, before the expansion (diagrams draw a
    /// family as one lifeline and a `for` as a loop).
    pub family_sources: HashMap<String, Arc<ChorDef>>,
}

/// How the program finds imported files (the driver supplies file access).
pub trait Loader {
    /// Resolve `import` relative to the file `from` and parse it.
    fn load(&mut self, from: FileId, import: &str)
    -> Result<(FileId, String, Arc<Parsed>), String>;
    /// The text of a file this loader loaded, if it can tell (used for line numbers in messages).
    fn source(&self, _file: FileId) -> Option<Arc<str>> {
        None
    }
}

impl Program {
    pub fn fn_def(&self, r: ItemRef) -> Option<&FnDef> {
        match &**self.units.get(r.unit)?.ast.items.get(r.item)? {
            Item::Fn(f) => Some(f),
            _ => None,
        }
    }
    pub fn struct_def(&self, r: ItemRef) -> Option<&StructDef> {
        match &**self.units.get(r.unit)?.ast.items.get(r.item)? {
            Item::Struct(s) => Some(s),
            _ => None,
        }
    }
    pub fn enum_def(&self, r: ItemRef) -> Option<&EnumDef> {
        match &**self.units.get(r.unit)?.ast.items.get(r.item)? {
            Item::Enum(e) => Some(e),
            _ => None,
        }
    }
    pub fn chor_def(&self, r: ItemRef) -> Option<&ChorDef> {
        match &**self.units.get(r.unit)?.ast.items.get(r.item)? {
            Item::Chor(c) => Some(c),
            _ => None,
        }
    }
    /// Attach the resolved program the checks publish (running them, with their tables).
    pub fn resolve(&mut self) {
        let checked = crate::check_program(self);
        self.ir = Arc::new(checked.ir);
        // A program with errors is not run: it keeps its generic choreographies.
        if !checked.diagnostics.iter().any(Diagnostic::is_error) {
            let _ = crate::mono::monomorphise(self);
        }
    }

    /// The resolved table of an item.
    pub fn ir_of(&self, r: ItemRef) -> &crate::ir::ItemIr {
        self.ir.item(r)
    }

    /// The resolved table of the choreography `name` (empty if there is none).
    pub fn chor_ir(&self, name: &str) -> &crate::ir::ItemIr {
        match self.chors.get(name) {
            Some(r) => self.ir.item(*r),
            None => crate::ir::ItemIr::empty(),
        }
    }

    /// Record the text of a file (the driver does this for the root file).
    pub fn add_source(&mut self, file: FileId, text: &str) {
        self.sources.insert(file, Arc::from(text));
    }
    pub fn chor(&self, name: &str) -> Option<&ChorDef> {
        self.chor_def(*self.chors.get(name)?)
    }
    /// The module of the unit an item is in.
    pub fn module_of(&self, r: ItemRef) -> Option<&str> {
        self.units.get(r.unit)?.module.as_deref()
    }
    /// Look up a function from code in `module`: `list::len` is explicit; a bare name is looked up in
    /// the current module first, then globally.
    /// A function by path. A standard library helper marked `#[internal]` is found only from
    /// inside its own module: elsewhere it does not exist.
    pub fn lookup_fn(&self, from_module: Option<&str>, path: &Path) -> Option<(QualName, ItemRef)> {
        let (q, r) = self.lookup_in(&self.fns, from_module, path)?;
        if q.module.as_deref() != from_module && self.fn_def(r).is_some_and(FnDef::is_internal) {
            return None;
        }
        Some((q, r))
    }
    pub fn lookup_struct(
        &self,
        from_module: Option<&str>,
        path: &Path,
    ) -> Option<(QualName, ItemRef)> {
        self.lookup_in(&self.structs, from_module, path)
    }
    pub fn lookup_enum(
        &self,
        from_module: Option<&str>,
        path: &Path,
    ) -> Option<(QualName, ItemRef)> {
        self.lookup_in(&self.enums, from_module, path)
    }
    fn lookup_in(
        &self,
        map: &HashMap<QualName, ItemRef>,
        from_module: Option<&str>,
        path: &Path,
    ) -> Option<(QualName, ItemRef)> {
        let segs = &path.segments;
        let q = match segs.len() {
            1 => {
                if let Some(m) = from_module {
                    let local = QualName {
                        module: Some(m.to_owned()),
                        name: segs[0].name.clone(),
                    };
                    if let Some(r) = map.get(&local) {
                        return Some((local, *r));
                    }
                }
                QualName::global(&segs[0].name)
            }
            2 => QualName {
                module: Some(segs[0].name.clone()),
                name: segs[1].name.clone(),
            },
            _ => return None,
        };
        map.get(&q).map(|r| (q, *r))
    }
    /// A variant by its bare name (`Some`, `None`, `Accept`) — the only form variants take.
    pub fn lookup_variant(&self, path: &Path) -> Option<(QualName, usize)> {
        if !path.is_single() {
            return None;
        }
        self.variants.get(&path.last().name).cloned()
    }

    /// Assemble a program from its root file: follow imports (reporting cycles and missing files),
    /// add the standard library, index the items, and read `let S.x = P(..)(..)` as calls.
    pub fn assemble(
        root: FileId,
        root_name: &str,
        root_parsed: Arc<Parsed>,
        loader: &mut dyn Loader,
    ) -> Program {
        Program::assemble_sized(
            root,
            root_name,
            root_parsed,
            loader,
            &crate::families::Sizes::new(),
        )
    }

    /// [`Program::assemble`], then expand the families of roles at `sizes` (by the family's
    /// name in `main`; the others at the default size): see [`crate::families`].
    pub fn assemble_sized(
        root: FileId,
        root_name: &str,
        root_parsed: Arc<Parsed>,
        loader: &mut dyn Loader,
        sizes: &crate::families::Sizes,
    ) -> Program {
        let mut prog = Program::default();
        let mut visiting: Vec<FileId> = Vec::new();
        let mut done: HashMap<FileId, ()> = HashMap::new();
        prog.add_user_file(
            root,
            root_name.to_owned(),
            root_parsed,
            loader,
            &mut visiting,
            &mut done,
        );
        for (i, (module, name, text)) in stdlib::SOURCES.iter().enumerate() {
            let file = stdlib::file_id(i);
            let parsed = stdlib_parsed(i);
            prog.sources.insert(file, Arc::from(*text));
            prog.diagnostics.extend(parsed.errors.iter().cloned());
            prog.units.push(Unit {
                file,
                name: (*name).to_owned(),
                module: module.map(str::to_owned),
                ast: Arc::clone(&parsed.file),
                is_stdlib: true,
            });
        }
        prog.index();
        prog.desugar_calls();
        prog.expand_families(sizes);
        prog
    }

    fn add_user_file(
        &mut self,
        file: FileId,
        name: String,
        parsed: Arc<Parsed>,
        loader: &mut dyn Loader,
        visiting: &mut Vec<FileId>,
        done: &mut HashMap<FileId, ()>,
    ) {
        visiting.push(file);
        self.diagnostics.extend(parsed.errors.iter().cloned());
        for item in parsed.file.iter() {
            let Item::Import(imp) = item else { continue };
            match loader.load(file, &imp.path) {
                Err(msg) => self.diagnostics.push(Diagnostic::error(
                    "E0010",
                    format!("cannot import \"{}\": {msg}", imp.path),
                    imp.path_span,
                    "imported here",
                )),
                Ok((id, iname, iparsed)) => {
                    if visiting.contains(&id) {
                        self.diagnostics.push(
                            Diagnostic::error(
                                "E0011",
                                format!(
                                    "import cycle: \"{}\" imports a file that imports it back",
                                    imp.path
                                ),
                                imp.path_span,
                                "this import closes a cycle",
                            )
                            .with_help("move the shared items into a third file that both import"),
                        );
                    } else if !done.contains_key(&id) {
                        if let Some(text) = loader.source(id) {
                            self.sources.insert(id, text);
                        }
                        self.add_user_file(id, iname, iparsed, loader, visiting, done);
                    }
                }
            }
        }
        visiting.pop();
        done.insert(file, ());
        self.units.push(Unit {
            file,
            name,
            module: None,
            ast: Arc::clone(&parsed.file),
            is_stdlib: false,
        });
    }

    fn index(&mut self) {
        let mut seen: HashMap<(Option<String>, String), Span> = HashMap::new();
        for (u, unit) in self.units.iter().enumerate() {
            for (i, item) in unit.ast.iter().enumerate() {
                let r = ItemRef { unit: u, item: i };
                let Some(name) = item.name() else { continue };
                let key = (unit.module.clone(), name.name.clone());
                if let Some(prev) = seen.get(&key) {
                    self.duplicates.push((*prev, name.span, name.name.clone()));
                    continue;
                }
                seen.insert(key, name.span);
                let q = QualName {
                    module: unit.module.clone(),
                    name: name.name.clone(),
                };
                match item {
                    Item::Fn(_) => {
                        self.fns.insert(q, r);
                    }
                    Item::Struct(_) => {
                        self.structs.insert(q, r);
                    }
                    Item::Enum(e) => {
                        for (vi, v) in e.variants.iter().enumerate() {
                            if let Some((other, _)) = self.variants.get(&v.name.name) {
                                let other_span = self
                                    .enums
                                    .get(other)
                                    .and_then(|r| self.enum_def(*r))
                                    .map_or(v.name.span, |d| d.name.span);
                                self.duplicates.push((
                                    other_span,
                                    v.name.span,
                                    v.name.name.clone(),
                                ));
                                continue;
                            }
                            self.variants.insert(v.name.name.clone(), (q.clone(), vi));
                        }
                        self.enums.insert(q, r);
                    }
                    Item::Chor(_) => {
                        self.chors.insert(name.name.clone(), r);
                    }
                    Item::Import(_) | Item::Error(_) => {}
                }
            }
        }
    }

    /// `let S.x = P(R1, S)(R1.e);` parses as an expression; read it as a call when P is a choreography.
    fn desugar_calls(&mut self) {
        let chors: Vec<String> = self.chors.keys().cloned().collect();
        // A choreography, or a parameter of the choreography `c` (a choreography-typed one is
        // called; calling another is an error the checker explains, E0732).
        let is_chor_in = |c: &ChorDef, n: &str| {
            chors.iter().any(|c| c == n) || c.params.iter().any(|p| p.name.name == n)
        };
        for unit in &mut self.units {
            let needed = |item: &Item| match item {
                Item::Chor(c) => needs_desugar(&c.body, &|n| is_chor_in(c, n)),
                _ => false,
            };
            if !unit.ast.iter().any(needed) {
                continue;
            }
            // Only the items that change are copied; the others stay shared with the parse.
            for item in &mut Arc::make_mut(&mut unit.ast).items {
                if needed(item) {
                    let item = Arc::make_mut(item);
                    if let Item::Chor(c) = item {
                        let names: Vec<String> =
                            c.params.iter().map(|p| p.name.name.clone()).collect();
                        let is_chor =
                            |n: &str| chors.iter().any(|c| c == n) || names.iter().any(|c| c == n);
                        desugar_block(&mut c.body, &is_chor);
                    }
                    // The rewritten statements hold new nodes: number the item again (the
                    // same text is always rewritten and numbered the same way).
                    chor_syntax::ids::number_item(item);
                }
            }
        }
    }
}

/// The standard library parsed once per process (its file ids are fixed).
fn stdlib_parsed(i: usize) -> Arc<Parsed> {
    static PARSED: std::sync::OnceLock<Vec<Arc<Parsed>>> = std::sync::OnceLock::new();
    let all = PARSED.get_or_init(|| {
        stdlib::SOURCES
            .iter()
            .enumerate()
            .map(|(k, (_, _, text))| Arc::new(parse(stdlib::file_id(k), text)))
            .collect()
    });
    all.get(i)
        .cloned()
        .unwrap_or_else(|| Arc::new(parse(stdlib::file_id(i), "")))
}

/// Whether a block holds a `let` that must be read as a choreography call.
fn needs_desugar(b: &ChorBlock, is_chor: &dyn Fn(&str) -> bool) -> bool {
    b.stmts.iter().any(|s| match &s.kind {
        ChorStmtKind::Let { value, .. } | ChorStmtKind::LetMany { value, .. } => {
            as_chor_call(value, is_chor).is_some()
        }
        ChorStmtKind::If { then, els, .. } => {
            needs_desugar(then, is_chor) || els.as_ref().is_some_and(|e| needs_desugar(e, is_chor))
        }
        ChorStmtKind::Match { arms, .. } => arms.iter().any(|a| needs_desugar(&a.body, is_chor)),
        ChorStmtKind::For { body, .. } => needs_desugar(body, is_chor),
        _ => false,
    })
}

fn desugar_block(b: &mut ChorBlock, is_chor: &dyn Fn(&str) -> bool) {
    for s in &mut b.stmts {
        match &mut s.kind {
            ChorStmtKind::Let {
                role,
                pat,
                ty,
                value,
                group: None,
            } => {
                if let Some(call) = as_chor_call(value, is_chor) {
                    s.kind = ChorStmtKind::Call {
                        call,
                        bind: Some((role.clone(), pat.clone(), ty.clone())),
                    };
                }
            }
            // `let (A, B).x = P(…)(…);`: an agreed result.
            ChorStmtKind::Let {
                role,
                pat,
                ty,
                value,
                group: Some(g),
            } => {
                if let Some(call) = as_chor_call(value, is_chor) {
                    s.kind = ChorStmtKind::CallMany {
                        call,
                        targets: vec![Target {
                            role: role.clone(),
                            group: Some(g.clone()),
                            pat: pat.clone(),
                            ty: ty.clone(),
                        }],
                    };
                }
            }
            ChorStmtKind::LetMany { targets, value } => {
                if let Some(call) = as_chor_call(value, is_chor) {
                    s.kind = ChorStmtKind::CallMany {
                        call,
                        targets: targets.clone(),
                    };
                }
            }
            ChorStmtKind::If { then, els, .. } => {
                desugar_block(then, is_chor);
                if let Some(e) = els {
                    desugar_block(e, is_chor);
                }
            }
            ChorStmtKind::Match { arms, .. } => {
                for a in arms {
                    desugar_block(&mut a.body, is_chor);
                }
            }
            ChorStmtKind::For { body, .. } => desugar_block(body, is_chor),
            _ => {}
        }
    }
}

/// A loader for programs held in memory (tests, the language server's unsaved buffers).
#[derive(Default)]
pub struct MemoryLoader {
    pub files: Vec<(String, String)>,
}

impl Loader for MemoryLoader {
    fn load(
        &mut self,
        _from: FileId,
        import: &str,
    ) -> Result<(FileId, String, Arc<Parsed>), String> {
        let idx = self
            .files
            .iter()
            .position(|(n, _)| n == import)
            .ok_or_else(|| "no such file".to_owned())?;
        let file = FileId(idx as u32 + 1);
        Ok((
            file,
            import.to_owned(),
            Arc::new(parse(file, &self.files[idx].1)),
        ))
    }
    fn source(&self, file: FileId) -> Option<Arc<str>> {
        let idx = (file.0 as usize).checked_sub(1)?;
        self.files.get(idx).map(|(_, t)| Arc::from(t.as_str()))
    }
}

/// Assemble a single in-memory source (file id 0) with in-memory imports, and resolve it.
pub fn from_source(name: &str, src: &str, imports: Vec<(String, String)>) -> Program {
    from_source_sized(name, src, imports, &crate::families::Sizes::new())
}

/// [`from_source`] with `main`'s families expanded at `sizes`.
pub fn from_source_sized(
    name: &str,
    src: &str,
    imports: Vec<(String, String)>,
    sizes: &crate::families::Sizes,
) -> Program {
    let parsed = Arc::new(parse(FileId(0), src));
    let mut p = Program::assemble_sized(
        FileId(0),
        name,
        parsed,
        &mut MemoryLoader { files: imports },
        sizes,
    );
    p.add_source(FileId(0), src);
    p.resolve();
    p
}
