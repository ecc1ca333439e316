//! The checker's state: the global environment of items (types, function and choreography
//! signatures), the per-body state (scopes, inference table, deferred constraints) and the
//! helpers every rule uses (reporting, hovers, references, type resolution, did-you-mean).

use crate::program::{ItemRef, Program};
use crate::types::{AdtId, Ty, TyCon, TyTable, show};
use chor_diagnostics::{Diagnostic, Span};
use chor_syntax::ast::{self, Ident, Item, Type};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

/// The role context of a variable or an expression. Local functions use `NO_ROLE`.
pub type RoleId = u32;
pub const NO_ROLE: RoleId = u32::MAX;
/// An expression at a role that is not declared: nothing is reported about its variables.
pub const UNKNOWN_ROLE: RoleId = u32::MAX - 1;

#[derive(Debug, Clone)]
pub struct FieldInfo {
    pub name: String,
    pub ty: Ty,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct VariantInfo {
    pub name: String,
    pub fields: Vec<Ty>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum AdtKind {
    Struct(Vec<FieldInfo>),
    Enum(Vec<VariantInfo>),
}

#[derive(Debug, Clone)]
pub struct AdtInfo {
    pub name: String,
    pub generics: Vec<Rc<str>>,
    pub name_span: Span,
    pub kind: AdtKind,
}

#[derive(Debug, Clone)]
pub struct FnSig {
    pub name: String,
    pub generics: Vec<Rc<str>>,
    pub params: Vec<(String, Ty)>,
    pub ret: Ty,
    pub name_span: Span,
}

#[derive(Debug, Clone)]
pub struct ChorSig {
    pub name: String,
    pub roles: Vec<(String, Span)>,
    /// name, type, index of the role among `roles` (None when the role is unknown), span
    pub params: Vec<(String, Ty, Option<usize>, Span)>,
    pub ret: Option<(Ty, Option<usize>, Span)>,
    /// By parameter: the roles (indices among `roles`) of an agreed parameter `x: T@(A, B)`;
    /// empty for a parameter at one role.
    pub param_groups: Vec<Vec<usize>>,
    /// `-> T@(A, B)` or `-> (T@A, U@B)` (then `ret` is `None`): each result's type, its roles
    /// (one, or a group's members) and the span of its declaration.
    pub results: Vec<(Ty, Vec<usize>, Span)>,
    pub name_span: Span,
    /// Type parameters (`choreography Relay<T>(…)`).
    pub generics: Vec<Rc<str>>,
    /// By parameter: the signature of a choreography-typed parameter (then its entry in
    /// `params` has type `Ty::Error` and no role).
    pub chors: Vec<Option<ChorSig>>,
}

/// A call's callee or choreography argument, with the signature and instantiation its
/// hover shows once the body's inference is complete.
pub type SigHover = (Span, ChorSig, Vec<(Rc<str>, Ty)>);

/// A generic choreography's instantiation, checked once the body's inference is complete:
/// the type must be able to travel in a message.
#[derive(Debug, Clone)]
pub struct InstCheck {
    pub at: Span,
    pub chor: String,
    pub generic: Rc<str>,
    pub ty: Ty,
}

/// Every item of the program, with its types resolved.
#[derive(Debug, Default)]
pub struct Env {
    pub adts: Vec<AdtInfo>,
    pub adt_of: HashMap<ItemRef, AdtId>,
    pub fns: HashMap<ItemRef, FnSig>,
    pub chors: HashMap<ItemRef, ChorSig>,
    /// By `AdtId`: whether the type's fields hold a function whatever its type arguments are.
    pub adt_fn: Vec<bool>,
}

#[derive(Debug, Clone)]
pub struct VarInfo {
    pub name: String,
    pub role: RoleId,
    pub ty: Ty,
    pub def: Span,
    /// The binding, as the resolved program names it.
    pub binding: crate::ir::Res,
    /// Whether any expression reads it (W0003 otherwise).
    pub used: bool,
    /// The roles that hold this variable agreed with this one (sorted, this role included),
    /// when it was bound for a group (`let (A, B).x`, `A.e -> (A, B).x`, a parameter
    /// `x: T@(A, B)`, a pattern of `match (A, B).e`); empty otherwise.
    pub agreed: Vec<RoleId>,
    /// Which group binding made it (0: none). The members' variables are agreed only when
    /// one statement bound them all: two bindings for the same group (a member's, which
    /// outlives a `for` round, and an outside role's older one, which the round's binding
    /// no longer shadows after the loop) hold different values.
    pub agreement: u32,
}

/// Lexical scopes of one body, for all roles at once: a name maps to the stack of its
/// bindings (each at some role); leaving a block pops what the block bound.
#[derive(Debug, Default)]
pub struct Scope {
    pub vars: Vec<VarInfo>,
    by_name: HashMap<String, Vec<u32>>,
    log: Vec<u32>,
}

impl Scope {
    pub fn clear(&mut self) {
        self.vars.clear();
        self.by_name.clear();
        self.log.clear();
    }
    pub fn mark(&self) -> usize {
        self.log.len()
    }
    pub fn bind(&mut self, info: VarInfo) -> u32 {
        let id = self.vars.len() as u32;
        self.by_name.entry(info.name.clone()).or_default().push(id);
        self.vars.push(info);
        self.log.push(id);
        id
    }
    pub fn pop_to(&mut self, mark: usize) {
        while self.log.len() > mark {
            let Some(id) = self.log.pop() else { break };
            let name = &self.vars[id as usize].name;
            if let Some(stack) = self.by_name.get_mut(name) {
                stack.pop();
            }
        }
    }
    pub fn lookup(&self, name: &str, role: RoleId) -> Option<u32> {
        self.by_name
            .get(name)?
            .iter()
            .rev()
            .copied()
            .find(|id| self.vars[*id as usize].role == role)
    }
    /// The visible bindings of `name` at roles other than `role` (innermost first). A binding
    /// a `for` round renamed (`x#3`, see `families`) counts as `x` when nothing is named `x`
    /// exactly: `let L.v = …; C.print(v);` in a round is the card's "v lives at L".
    pub fn elsewhere(&self, name: &str, role: RoleId) -> Vec<u32> {
        let renamed: Vec<u32>;
        let stack = match self.by_name.get(name) {
            Some(stack) => stack,
            None => {
                let mut ids: Vec<u32> = self
                    .by_name
                    .iter()
                    .filter(|(n, _)| *n != name && shown_name(n) == name)
                    .flat_map(|(_, s)| s.iter().copied())
                    .collect();
                // Binding order: the innermost (latest) last, as in one name's stack.
                ids.sort_unstable();
                renamed = ids;
                &renamed
            }
        };
        let mut seen: Vec<RoleId> = Vec::new();
        let mut out = Vec::new();
        for id in stack.iter().rev() {
            let r = self.vars[*id as usize].role;
            if r != role && !seen.contains(&r) {
                seen.push(r);
                out.push(*id);
            }
        }
        out
    }
    /// Names visible at `role` (for suggestions).
    pub fn names_at(&self, role: RoleId) -> Vec<String> {
        self.by_name
            .iter()
            .filter(|(_, s)| s.iter().any(|id| self.vars[*id as usize].role == role))
            .map(|(n, _)| n.clone())
            .collect()
    }
}

/// Why a type was expected, shown as a secondary label of a mismatch.
#[derive(Debug, Clone, Copy)]
pub enum Why {
    None,
    Label(Span, &'static str),
}

/// Operand classes of operators, checked when the operand type is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Int or Float
    Num,
    /// String or List<T>
    Concat,
    /// Int, Float or String
    Ord,
    /// no function types inside (equality)
    NoFn,
    /// no function types inside (messages)
    Message,
}

#[derive(Debug, Clone)]
pub struct Deferred {
    pub ty: Ty,
    pub class: Class,
    pub span: Span,
    pub op: &'static str,
}

/// A hover whose type is only known once the body is checked.
#[derive(Debug, Clone)]
pub struct PendingHover {
    pub span: Span,
    pub name: String,
    pub ty: Ty,
    pub role: RoleId,
    /// The group the variable is agreed by (shown `@ (A, B)`), when it is.
    pub agreed: Vec<RoleId>,
}

pub struct Checker<'p> {
    pub p: &'p Program,
    pub env: Env,
    pub tys: TyTable,
    pub diags: Vec<Diagnostic>,
    errors: usize,
    pub hovers: Vec<(Span, Arc<str>)>,
    pub refs: Vec<(Span, Span)>,
    // ---- the body being checked
    pub module: Option<&'p str>,
    pub scope: Scope,
    pub role: RoleId,
    /// Role names of the choreography being checked (index = RoleId).
    pub roles: Vec<(String, Span)>,
    /// Which of `roles` a statement, parameter or result names (W0004 otherwise).
    pub roles_used: Vec<bool>,
    /// Return type of the local function being checked, and where it was declared.
    pub ret: Option<(Ty, Span)>,
    pub generics: Vec<Rc<str>>,
    pub deferred: Vec<Deferred>,
    pub pending: Vec<PendingHover>,
    /// The choreography being checked: its name and declared result `-> T@R`.
    pub chor_name: String,
    pub chor_ret: Option<(Ty, Option<usize>, Span)>,
    /// The choreography's results declared with a group or several (see `ChorSig::results`).
    pub chor_results: Vec<(Ty, Vec<usize>, Span)>,
    /// `return`s of the current choreography that are not in tail position (E0218).
    pub early_returns: usize,
    /// Numbers the group bindings (see `VarInfo::agreement`).
    pub agreements: u32,
    /// Whether the body being checked belongs to the standard library.
    pub in_stdlib: bool,
    /// Source text of each file, for line numbers in messages.
    pub line_of: &'p dyn Fn(Span) -> Option<usize>,
    /// Set when a message used a line number (so moving it to other lines changes it).
    pub used_lines: std::cell::Cell<bool>,
    /// The item's result depends on other items' bodies (purity follows calls): it cannot be
    /// reused once any item changed.
    pub used_bodies: std::cell::Cell<bool>,
    /// Whether to record hovers and references (only the language server's tables need them).
    pub tables: bool,
    /// The type of each comm statement, when [`crate::msg_types::comm_types`] records them.
    pub comms: Option<Vec<(Span, Ty)>>,
    /// What the resolved program records of the body being checked (with the tables only).
    pub(crate) rec: Option<crate::ir::Recorder>,
    /// The resolution of the last path or struct literal checked, taken by [`Checker::expr`].
    pub(crate) last_res: crate::ir::Res,
    /// The definition of each user type, by `AdtId`.
    pub adt_items: Vec<ItemRef>,
    /// The signature of the choreography being checked (its choreography-typed parameters).
    pub chor_sig: Option<ChorSig>,
    /// Instantiations of generic choreographies in the body being checked.
    pub inst_checks: Vec<InstCheck>,
    /// Set while the expression of a communication is checked (E0730).
    pub in_message: bool,
    /// Choreography calls of the body, for hovers showing the instantiated signature.
    pub sig_hovers: Vec<SigHover>,
    /// Set while the signatures of instances ([`crate::mono`]) are read: they were checked
    /// as their generic choreography, and report nothing again.
    pub quiet: bool,
    /// Functions found to have an effect (why), or to be pure (`None`), for agreed values.
    pub purity: std::collections::HashMap<ItemRef, Option<String>>,
    /// What the branches of the enclosing conditional expressions yielded, innermost last.
    pub(crate) yields: Vec<Vec<crate::cond::Yielded>>,
    /// The choreography blocks of the body whose bindings have ended (to explain a use after
    /// the block, E0101).
    pub(crate) ended_blocks: Vec<Span>,
    /// The body holds a statement that was lost to an error (a syntax error, or one the
    /// family expansion could not expand): what it used is unknown, so nothing is reported
    /// as unused (W0003, W0004).
    pub(crate) lost_statements: bool,
}

impl<'p> Checker<'p> {
    pub fn new(p: &'p Program, line_of: &'p dyn Fn(Span) -> Option<usize>) -> Checker<'p> {
        Checker {
            p,
            env: Env::default(),
            tys: TyTable::default(),
            diags: Vec::new(),
            errors: 0,
            hovers: Vec::new(),
            refs: Vec::new(),
            module: None,
            scope: Scope::default(),
            role: NO_ROLE,
            roles: Vec::new(),
            roles_used: Vec::new(),
            ret: None,
            generics: Vec::new(),
            deferred: Vec::new(),
            pending: Vec::new(),
            chor_name: String::new(),
            chor_ret: None,
            chor_results: Vec::new(),
            early_returns: 0,
            agreements: 0,
            in_stdlib: false,
            line_of,
            used_lines: std::cell::Cell::new(false),
            used_bodies: std::cell::Cell::new(false),
            tables: true,
            comms: None,
            rec: None,
            last_res: crate::ir::Res::None,
            adt_items: Vec::new(),
            chor_sig: None,
            inst_checks: Vec::new(),
            in_message: false,
            sig_hovers: Vec::new(),
            quiet: false,
            purity: std::collections::HashMap::new(),
            yields: Vec::new(),
            ended_blocks: Vec::new(),
            lost_statements: false,
        }
    }

    pub fn emit(&mut self, d: Diagnostic) {
        if self.quiet {
            return;
        }
        if d.is_error() {
            self.errors += 1;
        }
        self.diags.push(d);
    }

    /// The number of errors reported so far (to detect errors inside a sub-check).
    pub fn error_count(&self) -> usize {
        self.errors
    }

    /// Record a hover (when recording tables; `text` is only computed then).
    pub fn hover(&mut self, span: Span, text: impl FnOnce() -> String) {
        if self.tables {
            self.hovers.push((span, Arc::from(text())));
        }
    }

    pub fn reference(&mut self, use_site: Span, def: Span) {
        if self.tables {
            self.refs.push((use_site, def));
        }
    }

    /// The type as the programmer writes it, after substitution.
    pub fn show(&mut self, t: &Ty) -> String {
        let t = self.tys.zonk(t);
        let adts = &self.env.adts;
        show(&t, &|id| {
            adts.get(id as usize)
                .map_or_else(|| "?".to_owned(), |a| a.name.clone())
        })
    }

    pub fn role_name(&self, r: RoleId) -> String {
        self.roles
            .get(r as usize)
            .map_or_else(String::new, |(n, _)| n.clone())
    }

    /// Start checking a new body.
    pub fn begin_body(&mut self, module: Option<&'p str>, generics: Vec<Rc<str>>) {
        self.tys.clear();
        self.scope.clear();
        self.ended_blocks.clear();
        self.lost_statements = false;
        self.deferred.clear();
        self.pending.clear();
        self.module = module;
        self.generics = generics;
        self.role = NO_ROLE;
        self.ret = None;
        self.roles.clear();
        self.roles_used.clear();
        self.chor_ret = None;
        self.chor_results.clear();
        self.chor_name.clear();
        self.chor_sig = None;
    }

    /// Finish a body: re-check deferred operator constraints and produce its hovers.
    pub fn end_body(&mut self) {
        self.warn_unused_variables();
        let deferred = std::mem::take(&mut self.deferred);
        for d in deferred {
            self.check_class(&d.ty, d.class, d.span, d.op, false);
        }
        let pending = std::mem::take(&mut self.pending);
        for h in pending {
            let ty = self.show(&h.ty);
            let text = if h.agreed.len() > 1 {
                let names: Vec<String> = h.agreed.iter().map(|r| self.role_name(*r)).collect();
                format!("{}: {ty} @ ({})", h.name, names.join(", "))
            } else if h.role == NO_ROLE || h.role == UNKNOWN_ROLE {
                format!("{}: {ty}", h.name)
            } else {
                format!("{}: {ty} @ {}", h.name, self.role_name(h.role))
            };
            self.hovers.push((h.span, Arc::from(text)));
        }
    }

    /// Check that `ty` belongs to an operator class; unknown types are deferred to the end of
    /// the body (when `defer`), or accepted.
    pub fn check_class(
        &mut self,
        ty: &Ty,
        class: Class,
        span: Span,
        op: &'static str,
        defer: bool,
    ) -> bool {
        let t = self.tys.shallow(ty);
        let ok = match (&t, class) {
            (Ty::Error, _) => true,
            (Ty::Var(_), _) if defer => {
                self.deferred.push(Deferred {
                    ty: t.clone(),
                    class,
                    span,
                    op,
                });
                return true;
            }
            (Ty::Var(_), Class::Num | Class::Concat | Class::Ord) => true,
            (_, Class::Num) => t.is_con(TyCon::Int) || t.is_con(TyCon::Float),
            (_, Class::Concat) => t.is_con(TyCon::Str) || t.is_con(TyCon::List),
            (_, Class::Ord) => {
                t.is_con(TyCon::Int) || t.is_con(TyCon::Float) || t.is_con(TyCon::Str)
            }
            (_, Class::NoFn | Class::Message) => match self.tys.contains_fn(&t, &self.env.adt_fn) {
                Some(true) => false,
                Some(false) => true,
                None => {
                    if defer {
                        self.deferred.push(Deferred {
                            ty: t.clone(),
                            class,
                            span,
                            op,
                        });
                    }
                    true
                }
            },
        };
        if !ok {
            let shown = self.show(&t);
            let hidden = if matches!(class, Class::NoFn | Class::Message) {
                self.fn_witness(&t, 0)
            } else {
                None
            };
            let d = match class {
                Class::Num => Diagnostic::error(
                    "E0304",
                    format!("cannot apply `{op}` to `{shown}`"),
                    span,
                    format!("`{op}` needs `Int` or `Float` operands, this is `{shown}`"),
                )
                .with_help(if shown == "String" && op == "+" {
                    "use `++` to concatenate strings"
                } else {
                    "arithmetic works on two `Int`s or two `Float`s"
                }),
                Class::Concat => Diagnostic::error(
                    "E0304",
                    format!("cannot apply `++` to `{shown}`"),
                    span,
                    format!("`++` needs two `String`s or two lists, this is `{shown}`"),
                )
                .with_help("convert the value first, e.g. with `to_string(…)`"),
                Class::Ord => Diagnostic::error(
                    "E0304",
                    format!("cannot compare `{shown}` values with `{op}`"),
                    span,
                    format!("`{op}` needs `Int`, `Float` or `String` operands, this is `{shown}`"),
                ),
                Class::NoFn => Diagnostic::error(
                    "E0312",
                    format!("cannot compare values of type `{shown}` with `{op}`"),
                    span,
                    "function values cannot be compared",
                ),
                Class::Message => Diagnostic::error(
                    "E0311",
                    "function values cannot travel in a message",
                    span,
                    format!("this message has type `{shown}`, which contains a function"),
                )
                .with_help("send the data the function needs instead, and call the function at the receiver"),
            };
            let d = match hidden {
                Some(note) => d.with_note(note),
                None => d,
            };
            self.emit(d);
        }
        ok
    }

    /// Where a function hides in a user type inside `t`: the type and the field or variant
    /// that holds it (None when the function is visible in `t` itself).
    fn fn_witness(&mut self, t: &Ty, depth: usize) -> Option<String> {
        if depth > 16 {
            return None;
        }
        let Ty::Con(c, args) = self.tys.shallow(t) else {
            return None;
        };
        if let TyCon::Adt(id) = c
            && self.env.adt_fn.get(id as usize).copied().unwrap_or(false)
        {
            let adt_fn = &self.env.adt_fn;
            let adt = self.env.adts.get(id as usize)?;
            let places: Vec<(String, &Ty)> = match &adt.kind {
                AdtKind::Struct(fs) => fs
                    .iter()
                    .map(|f| (format!("field `{}` has type", f.name), &f.ty))
                    .collect(),
                AdtKind::Enum(vs) => vs
                    .iter()
                    .flat_map(|v| {
                        v.fields
                            .iter()
                            .map(move |t| (format!("variant `{}` carries a", v.name), t))
                    })
                    .collect(),
            };
            // Name the most telling place: a function written in the field itself, else one
            // reached through another type, else (a cycle) any.
            let direct = |t: &Ty| crate::types::field_holds_fn(t, &[]);
            let other = |t: &Ty| {
                let mut own = adt_fn.clone();
                if let Some(b) = own.get_mut(id as usize) {
                    *b = false;
                }
                crate::types::field_holds_fn(t, &own)
            };
            let (place, fty) = places
                .iter()
                .find(|(_, t)| direct(t))
                .or_else(|| places.iter().find(|(_, t)| other(t)))
                .or_else(|| {
                    places
                        .iter()
                        .find(|(_, t)| crate::types::field_holds_fn(t, adt_fn))
                })
                .map(|(p, t)| (p.clone(), (*t).clone()))?;
            let name = adt.name.clone();
            let shown = self.show(&fty);
            return Some(format!("`{name}` holds a function: its {place} `{shown}`"));
        }
        for a in args.iter() {
            if let Some(w) = self.fn_witness(a, depth + 1) {
                return Some(w);
            }
        }
        None
    }

    /// Report that `got` is not `want`.
    pub fn mismatch(&mut self, span: Span, want: &Ty, got: &Ty, why: Why) {
        let want_s = self.show(want);
        let got_s = self.show(got);
        let mut d = Diagnostic::error(
            "E0300",
            format!("mismatched types: expected `{want_s}`, found `{got_s}`"),
            span,
            format!("expected `{want_s}`, found `{got_s}`"),
        );
        if let Why::Label(s, msg) = why {
            d = d.with_label(s, msg);
        }
        if (want_s == "Float" && got_s == "Int") || (want_s == "Int" && got_s == "Float") {
            d = d.with_help("there are no implicit conversions between `Int` and `Float`");
        }
        self.emit(d);
    }

    /// Unify and report a mismatch at `span` when it fails.
    pub fn unify_at(&mut self, want: &Ty, got: &Ty, span: Span, why: Why) -> bool {
        if self.tys.unify(want, got) {
            true
        } else {
            self.mismatch(span, want, got, why);
            false
        }
    }

    pub fn hover_var(&mut self, span: Span, name: &str, ty: &Ty, role: RoleId) {
        let name = shown_name(name);
        if !self.tables {
            return;
        }
        self.pending.push(PendingHover {
            span,
            name: name.to_owned(),
            ty: ty.clone(),
            role,
            agreed: Vec::new(),
        });
    }

    /// A variable's hover when it is agreed by `group` (`k: Key @ (A, B)`).
    pub fn hover_agreed(&mut self, span: Span, group: &[RoleId]) {
        if group.len() < 2 {
            return;
        }
        // Every member's binding of a group receiver shares the name's span.
        for h in self.pending.iter_mut().filter(|h| h.span == span) {
            h.agreed = group.to_vec();
        }
    }

    /// Bind a variable at the current role.
    /// W0003: a variable that nothing reads (a name starting with `_` says that is intended).
    fn warn_unused_variables(&mut self) {
        if self.in_stdlib || self.lost_statements {
            return;
        }
        // The unrolled rounds of a `for` bind one written binding several times at the same
        // role (a member's variable that each outer round rebinds): it is used when any of
        // them is, as in `for T in Ws { for W in Ws { L.1 -> W.last; } } Ws.print(last);`.
        let used: std::collections::HashSet<(Span, RoleId)> = self
            .scope
            .vars
            .iter()
            .filter(|v| v.used)
            .map(|v| (v.def, v.role))
            .collect();
        let unused: Vec<(String, Span, RoleId)> = self
            .scope
            .vars
            .iter()
            .filter(|v| !v.used && !v.name.starts_with('_'))
            .filter(|v| !used.contains(&(v.def, v.role)))
            .map(|v| (shown_name(&v.name).to_owned(), v.def, v.role))
            .collect();
        for (name, def, role) in unused {
            let at = if role == NO_ROLE || role == UNKNOWN_ROLE {
                String::new()
            } else {
                format!(" at {}", self.role_name(role))
            };
            self.emit(
                Diagnostic::warning(
                    "W0003",
                    format!("`{name}`{at} is never used"),
                    def,
                    "bound here, never read",
                )
                .with_help(format!(
                    "remove it, or name it `_{name}` if it is there on purpose"
                )),
            );
        }
    }

    /// Bind a variable at `role`; `binding` is how the resolved program names it.
    pub fn bind_var(&mut self, id: &Ident, ty: Ty, role: RoleId, binding: crate::ir::Res) {
        if !self.in_stdlib {
            crate::naming::check_snake(self, id, "variable");
        }
        if let crate::ir::Res::Local(node) = binding {
            self.note_binding(node, &ty, role);
        }
        self.hover_var(id.span, &id.name, &ty, role);
        self.scope.bind(VarInfo {
            name: id.name.clone(),
            role,
            ty,
            def: id.span,
            binding,
            used: false,
            agreed: Vec::new(),
            agreement: 0,
        });
    }

    /// Fresh instances of generic parameters.
    pub fn instantiate(&mut self, generics: &[Rc<str>]) -> Vec<(Rc<str>, Ty)> {
        generics
            .iter()
            .map(|g| (g.clone(), self.tys.fresh()))
            .collect()
    }

    /// A type written in the source, in the context of `module` and the given generics.
    pub fn resolve_ty(&mut self, t: &Type, module: Option<&str>, generics: &[Rc<str>]) -> Ty {
        match t {
            Type::Error(_) => Ty::Error,
            Type::Tuple { elems, .. } => Ty::tuple(
                elems
                    .iter()
                    .map(|e| self.resolve_ty(e, module, generics))
                    .collect(),
            ),
            Type::Fn { params, ret, .. } => {
                let ps = params
                    .iter()
                    .map(|e| self.resolve_ty(e, module, generics))
                    .collect();
                let r = self.resolve_ty(ret, module, generics);
                Ty::func(ps, r)
            }
            Type::Named { name, args, span } => {
                let resolved: Vec<Ty> = args
                    .iter()
                    .map(|a| self.resolve_ty(a, module, generics))
                    .collect();
                let seg = name.last();
                let arity_err = |cx: &mut Checker<'_>, want: usize, what: &str| {
                    cx.emit(Diagnostic::error(
                        "E0301",
                        format!(
                            "`{what}` takes {want} type argument{}, but {} {} given",
                            if want == 1 { "" } else { "s" },
                            resolved_len(args),
                            if args.len() == 1 { "was" } else { "were" }
                        ),
                        *span,
                        format!(
                            "expected {want} type argument{}",
                            if want == 1 { "" } else { "s" }
                        ),
                    ));
                };
                if name.is_single() {
                    if let Some(g) = generics.iter().find(|g| ***g == *seg.name) {
                        if !args.is_empty() {
                            arity_err(self, 0, &seg.name);
                        }
                        return Ty::Param(g.clone());
                    }
                    let prim = match seg.name.as_str() {
                        "Int" => Some((TyCon::Int, 0)),
                        "Float" => Some((TyCon::Float, 0)),
                        "Bool" => Some((TyCon::Bool, 0)),
                        "String" => Some((TyCon::Str, 0)),
                        "List" => Some((TyCon::List, 1)),
                        "Map" => Some((TyCon::Map, 2)),
                        _ => None,
                    };
                    if let Some((c, n)) = prim {
                        if resolved.len() != n {
                            arity_err(self, n, &seg.name);
                            return Ty::Error;
                        }
                        return Ty::Con(c, Rc::from(resolved));
                    }
                }
                let found = self
                    .p
                    .lookup_struct(module, name)
                    .or_else(|| self.p.lookup_enum(module, name));
                match found {
                    Some((_, r)) => {
                        let Some(&id) = self.env.adt_of.get(&r) else {
                            return Ty::Error;
                        };
                        let (n, def) = {
                            let a = &self.env.adts[id as usize];
                            (a.generics.len(), a.name_span)
                        };
                        self.reference(seg.span, def);
                        if resolved.len() != n {
                            arity_err(self, n, &name.text());
                            return Ty::Error;
                        }
                        Ty::Con(TyCon::Adt(id), Rc::from(resolved))
                    }
                    None => {
                        let mut cands: Vec<String> =
                            ["Int", "Float", "Bool", "String", "List", "Map"]
                                .iter()
                                .map(|s| (*s).to_owned())
                                .collect();
                        cands.extend(generics.iter().map(|g| g.to_string()));
                        cands.extend(self.env.adts.iter().map(|a| a.name.clone()));
                        let mut d = Diagnostic::error(
                            "E0102",
                            format!("cannot find type `{}`", name.text()),
                            *span,
                            "not a known type",
                        );
                        if let Some(s) = suggest(&seg.name, cands.iter().map(String::as_str)) {
                            d = d.with_help(format!("a type with a similar name exists: `{s}`"));
                        } else if seg.name.chars().next().is_some_and(char::is_lowercase) {
                            d = d.with_help("types are written with a capital letter, e.g. `Int`, `String`, `List<Int>`");
                        }
                        self.emit(d);
                        Ty::Error
                    }
                }
            }
        }
    }

    /// Line number (1-based) of a span, if the source text is known.
    pub fn line(&self, span: Span) -> Option<usize> {
        self.used_lines.set(true);
        (self.line_of)(span)
    }

    /// Items of the program in a fixed order (unit, item).
    pub fn items(&self) -> Vec<(usize, usize, &'p Item)> {
        let mut out = Vec::new();
        for (u, unit) in self.p.units.iter().enumerate() {
            for (i, item) in unit.ast.iter().enumerate() {
                out.push((u, i, item));
            }
        }
        out
    }
}

fn resolved_len(args: &[ast::Type]) -> usize {
    args.len()
}

/// Levenshtein distance, small strings only.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest candidate to `name`, if close enough to be a likely typo.
pub fn suggest<'a>(name: &str, cands: impl Iterator<Item = &'a str>) -> Option<String> {
    let limit = (name.chars().count() / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for c in cands {
        if c == name {
            continue;
        }
        let d = if c.eq_ignore_ascii_case(name) {
            0
        } else {
            distance(name, c)
        };
        if d <= limit && best.is_none_or(|(bd, bc)| d < bd || (d == bd && c < bc)) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c.to_owned())
}

/// A variable's name as the user wrote it: the unrolling of `for` rounds gives a binding at a
/// role outside the family a name of its own (`x#3`, see `families`), which diagnostics and
/// hovers never show.
pub fn shown_name(name: &str) -> &str {
    name.split_once('#').map_or(name, |(base, _)| base)
}
