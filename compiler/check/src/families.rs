//! Families of roles (section 10 of the design card), expanded for the sizes of one run.
//!
//! A family's size is fixed when the program is deployed, and every member expression is
//! computable by every role (literals, `size(…)`, `index(W)` of an enclosing `for`,
//! arithmetic on those). So once the sizes are known, a choreography with families is an
//! ordinary choreography over the members: `Ws[]` becomes the roles `Ws[0]`, …, `Ws[n-1]`,
//! `for` rounds unroll, `size(Ws)` and `index(…)` become literals, a broadcast is one
//! communication with a receiver per member, a gather one communication per member followed
//! by a list at the receiver, a communication or selection whose two ends are the same member
//! binds locally. The expanded program then goes through every check, knowledge of choice,
//! projection and back end unchanged, so the guarantees of section 5 hold for the sizes of
//! the run by the same checks that give them to programs without families.
//!
//! A procedure with families is instantiated once per combination of sizes it is called
//! with (the first instance keeps the procedure's name, later ones are named
//! `Sum<Ws=5>`); a procedure with families that `main` does not reach is checked at the
//! default size.
//!
//! Errors of this pass (E0751–E0758) name the family and the source line; see
//! `docs/language.md` ("Families of roles") for the decisions taken where the card is silent.

use crate::program::{ItemRef, Program};
use chor_diagnostics::{Diagnostic, Span};
use chor_syntax::ast::*;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The size of a family that the command line does not size (`--size Ws=N`).
pub const DEFAULT_SIZE: usize = 3;

/// The largest family the expansion accepts: every member is a role of the expanded
/// program, and a typing mistake (`--size Ws=1000000000`) must not exhaust memory.
pub const MAX_SIZE: usize = 4096;

/// The most statements one expanded choreography may have: nested rounds multiply, and a
/// source text (in the editor, say) must not make the expansion run out of time or memory.
pub const MAX_STATEMENTS: usize = 1 << 18;

/// Family sizes by the family's name in `main` (`--size Workers=5`).
pub type Sizes = BTreeMap<String, usize>;

/// The name of member `i` of family `f`, as a role of the expanded program and as the prefix
/// of its output lines (`Workers[2]`).
pub fn member_name(f: &str, i: usize) -> String {
    format!("{f}[{i}]")
}

/// Whether a choreography uses families at all (and so must be expanded).
fn uses_families(c: &ChorDef) -> bool {
    !c.families.is_empty() || !c.members.is_empty() || block_has_for(&c.body)
}

fn block_has_for(b: &ChorBlock) -> bool {
    b.stmts.iter().any(|s| match &s.kind {
        ChorStmtKind::For { .. } => true,
        ChorStmtKind::If { then, els, .. } => {
            block_has_for(then) || els.as_ref().is_some_and(block_has_for)
        }
        ChorStmtKind::Match { arms, .. } => arms.iter().any(|a| block_has_for(&a.body)),
        _ => false,
    })
}

/// One instance to make: a choreography at given family sizes (in the order of its
/// `families`), under a name.
struct Instance {
    source: ItemRef,
    sizes: Vec<usize>,
    name: String,
}

impl Program {
    /// Expand every choreography that uses families, at `sizes` for `main` and the default
    /// size elsewhere (see the module comment). Errors go to the program's diagnostics.
    pub(crate) fn expand_families(&mut self, sizes: &Sizes) {
        let mut originals: HashMap<String, (ItemRef, Arc<ChorDef>)> = HashMap::new();
        for (u, unit) in self.units.iter().enumerate() {
            if unit.is_stdlib {
                continue;
            }
            for (i, item) in unit.ast.items.iter().enumerate() {
                if let Item::Chor(c) = &**item {
                    let r = ItemRef { unit: u, item: i };
                    // Only the indexed definition of a name (a duplicate is reported elsewhere).
                    if self.chors.get(&c.name.name) == Some(&r) {
                        originals.insert(c.name.name.clone(), (r, Arc::new(c.clone())));
                    }
                }
            }
        }
        if !originals.values().any(|(_, c)| uses_families(c)) {
            return;
        }
        for (name, (_, c)) in &originals {
            if uses_families(c) {
                self.family_sources.insert(name.clone(), Arc::clone(c));
            }
        }
        let mut ex = Expander {
            originals: &originals,
            instances: HashMap::new(),
            queue: Vec::new(),
            diags: Vec::new(),
            hovers: Vec::new(),
            budget: MAX_STATEMENTS,
        };
        // `main` first, at the sizes of the run; then every other choreography with
        // families that no call reached, at the default size.
        if let Some((r, main)) = originals.get("main") {
            let s: Vec<usize> = main
                .families
                .iter()
                .map(|f| sizes.get(&f.name).copied().unwrap_or(DEFAULT_SIZE))
                .collect();
            for (f, n) in main.families.iter().zip(&s) {
                self.families.insert(f.name.clone(), *n);
            }
            ex.instance_named(*r, "main", s);
            for (f, n) in sizes {
                if !main.is_family(f) {
                    ex.diags.push(
                        Diagnostic::error(
                            "E0758",
                            format!("`--size {f}={n}` names no family of `main`"),
                            main.name.span,
                            "main's roles are declared here",
                        )
                        .with_help("a family is declared with `[]` among main's roles: `choreography main(Leader, Workers[])`"),
                    );
                }
            }
        }
        let mut names: Vec<&String> = originals.keys().collect();
        names.sort();
        let mut made: Vec<(ItemRef, ChorDef)> = Vec::new();
        let mut k = 0;
        // Twice: what `main` reaches, at the sizes it passes; then, at the default size, the
        // choreographies with families that no call reached.
        for pass in 0..2 {
            if pass == 1 {
                for name in &names {
                    let (r, c) = &originals[*name];
                    let reached = ex.instances.keys().any(|(n, _)| n == *name);
                    if uses_families(c) && !reached {
                        ex.instance(name, *r, vec![DEFAULT_SIZE; c.families.len()]);
                    }
                }
            }
            while k < ex.queue.len() {
                let inst = &ex.queue[k];
                let (source, sizes, name) = (inst.source, inst.sizes.clone(), inst.name.clone());
                let orig = originals
                    .values()
                    .find(|(r, _)| *r == source)
                    .map(|(_, c)| Arc::clone(c));
                if let Some(orig) = orig {
                    let def = ex.expand_chor(&orig, &sizes, &name);
                    made.push((source, def));
                }
                k += 1;
            }
        }
        let diags = std::mem::take(&mut ex.diags);
        let mut hovers = std::mem::take(&mut ex.hovers);
        hovers.sort_by_key(|(s, _)| (s.file, s.start, s.end));
        hovers.dedup_by(|a, b| a.0 == b.0);
        self.family_hovers = hovers;
        // The first instance of a choreography replaces it; the others are added to its file.
        let mut replaced: Vec<ItemRef> = Vec::new();
        for (source, def) in made {
            let Some(unit) = self.units.get_mut(source.unit) else {
                continue;
            };
            let ast = Arc::make_mut(&mut unit.ast);
            let mut item = Item::Chor(def);
            chor_syntax::ids::number_item(&mut item);
            let name = item.name().map(|n| n.name.clone()).unwrap_or_default();
            if replaced.contains(&source) {
                ast.items.push(Arc::new(item));
                let r = ItemRef {
                    unit: source.unit,
                    item: ast.items.len() - 1,
                };
                self.chors.insert(name, r);
            } else if let Some(slot) = ast.items.get_mut(source.item) {
                *slot = Arc::new(item);
                replaced.push(source);
            }
        }
        let mut seen = std::collections::HashSet::new();
        for d in diags {
            let key = (d.code, d.message.clone(), d.primary_span());
            if seen.insert(key) {
                self.diagnostics.push(d);
            }
        }
    }
}

/// How a role position reads in the current round.
enum Role {
    /// One role (a plain role or a member); `true` if it names a member.
    One(Ident, bool),
    /// A whole family: its name and its members.
    All(String, Vec<Ident>),
}

struct Expander<'a> {
    originals: &'a HashMap<String, (ItemRef, Arc<ChorDef>)>,
    /// (choreography, sizes) → the name of its instance.
    instances: HashMap<(String, Vec<usize>), String>,
    queue: Vec<Instance>,
    diags: Vec<Diagnostic>,
    /// Hover texts over the family forms (see `Program::family_hovers`).
    hovers: Vec<(Span, Arc<str>)>,
    /// Statements the current instance may still produce (see [`MAX_STATEMENTS`]).
    budget: usize,
}

/// The families and `for`-bound members in scope while expanding one instance.
#[derive(Default, Clone)]
struct Env {
    /// Family name → size.
    fams: HashMap<String, usize>,
    /// `for` variable → (family, index).
    rounds: HashMap<String, (String, usize)>,
    /// The `for` rounds and the conditional blocks inside them, outermost first, with the
    /// variables renamed in each (see [`Env::bind`]).
    frames: Vec<Frame>,
    /// Numbers the renamed variables.
    fresh: usize,
}

/// A `for` round (with its family) or a block of a conditional inside one.
struct Frame {
    round: Option<String>,
    /// (role, variable) → the name the variable has in this frame's unrolled statements.
    renames: HashMap<(String, String), String>,
}

impl Clone for Frame {
    fn clone(&self) -> Frame {
        Frame {
            round: self.round.clone(),
            renames: self.renames.clone(),
        }
    }
}

/// Whether `role` (an expanded role name) is a member of `family`.
fn is_member(role: &str, family: &str) -> bool {
    role.strip_prefix(family)
        .and_then(|r| r.strip_prefix('['))
        .is_some_and(|r| r.ends_with(']'))
}

impl Env {
    /// The name a binding of `name` at `role` gets here. The card's scoping rule: a binding
    /// at a role outside a round's family ends with the round (a member's binding outlives
    /// the loop). Unrolled rounds share one block, so such a binding gets a name of its own
    /// (`x#3`), used by the rest of its round and invisible after it.
    fn bind(&mut self, role: &str, name: &str) -> String {
        let Some(round) = self
            .frames
            .iter()
            .rposition(|f| f.round.as_deref().is_some_and(|fam| !is_member(role, fam)))
        else {
            return name.to_owned();
        };
        // Inside a conditional's block the binding ends with the block (the checks scope
        // blocks); the innermost block above the round holds the new name.
        let level = (round..self.frames.len())
            .rev()
            .find(|k| self.frames[*k].round.is_none())
            .unwrap_or(round);
        self.fresh += 1;
        let renamed = format!("{name}#{}", self.fresh);
        self.frames[level]
            .renames
            .insert((role.to_owned(), name.to_owned()), renamed.clone());
        renamed
    }

    /// The current name of the variable `name` at `role`.
    fn lookup(&self, role: &str, name: &str) -> Option<&String> {
        let key = (role.to_owned(), name.to_owned());
        self.frames.iter().rev().find_map(|f| f.renames.get(&key))
    }

    fn in_round(&self) -> bool {
        self.frames.iter().any(|f| f.round.is_some())
    }

    fn push(&mut self, round: Option<String>) {
        self.frames.push(Frame {
            round,
            renames: HashMap::new(),
        });
    }

    fn pop(&mut self) {
        self.frames.pop();
    }
}

/// Rename the variables `pat` binds at `role` (see [`Env::bind`]). Capitalized names are
/// left alone: they are nullary variants (`None`), not bindings.
/// A group with its families replaced by their members (`(Leader, Ws)` is Leader, Ws[0], …).
fn expand_group(env: &Env, g: &Group) -> Group {
    let mut roles = Vec::new();
    for r in &g.roles {
        match env.fams.get(&r.name) {
            Some(n) => roles.extend(members(&r.name, *n, r.span)),
            None => roles.push(r.clone()),
        }
    }
    Group {
        roles,
        span: g.span,
    }
}

/// [`expand_group`] in a body: a round's member (`W`) or a member reference (`Ws[0]`) becomes
/// the member it names.
fn expand_group_at(x: &mut Expander<'_>, c: &ChorDef, env: &Env, g: &Group) -> Group {
    let mut roles = Vec::new();
    for r in &g.roles {
        match x.role(c, env, r) {
            Some(Role::One(r, _)) => roles.push(r),
            Some(Role::All(_, ms)) => roles.extend(ms),
            None => roles.push(r.clone()),
        }
    }
    Group {
        roles,
        span: g.span,
    }
}

/// The targets of a conditional expression, bound after it (see [`bind_pattern`]; a group's
/// binding is named as at its first member, as for an agreed `let`).
fn bind_targets(env: &mut Env, targets: &[Target]) -> Vec<Target> {
    targets
        .iter()
        .map(|t| {
            let mut t = t.clone();
            let at = t
                .group
                .as_ref()
                .and_then(|g| g.roles.first())
                .unwrap_or(&t.role);
            let at = at.name.clone();
            bind_pattern(env, &at, &mut t.pat);
            t
        })
        .collect()
}

fn bind_pattern(env: &mut Env, role: &str, pat: &mut Pattern) {
    if !env.in_round() {
        return;
    }
    match &mut pat.kind {
        PatternKind::Ident(id) => {
            if id.name.starts_with(|c: char| c.is_lowercase() || c == '_') && id.name != "_" {
                id.name = env.bind(role, &id.name);
            }
        }
        PatternKind::Tuple(ps) | PatternKind::Variant { args: ps, .. } => {
            ps.iter_mut().for_each(|p| bind_pattern(env, role, p))
        }
        PatternKind::Struct { fields, .. } => fields
            .iter_mut()
            .for_each(|f| bind_pattern(env, role, &mut f.pat)),
        PatternKind::List { elems, rest } => {
            elems.iter_mut().for_each(|p| bind_pattern(env, role, p));
            if let Some(Some(r)) = rest {
                bind_pattern(env, role, r);
            }
        }
        PatternKind::Wild | PatternKind::Lit(_) | PatternKind::Error => {}
    }
}

fn bind_ident(env: &mut Env, role: &str, id: &Ident) -> Ident {
    if !env.in_round() {
        return id.clone();
    }
    Ident {
        name: env.bind(role, &id.name),
        span: id.span,
    }
}

impl Expander<'_> {
    fn instance_named(&mut self, source: ItemRef, name: &str, sizes: Vec<usize>) -> String {
        let key = (name.to_owned(), sizes.clone());
        if let Some(n) = self.instances.get(&key) {
            return n.clone();
        }
        self.instances.insert(key, name.to_owned());
        self.queue.push(Instance {
            source,
            sizes,
            name: name.to_owned(),
        });
        name.to_owned()
    }

    /// The name of `chor` at `sizes`, queueing the instance the first time: the first
    /// instance of a choreography keeps its name.
    fn instance(&mut self, chor: &str, source: ItemRef, sizes: Vec<usize>) -> String {
        let key = (chor.to_owned(), sizes.clone());
        if let Some(n) = self.instances.get(&key) {
            return n.clone();
        }
        let taken = self.instances.keys().any(|(c, _)| c == chor);
        let name = if taken {
            let fams = self
                .originals
                .get(chor)
                .map(|(_, c)| c.families.clone())
                .unwrap_or_default();
            let parts: Vec<String> = fams
                .iter()
                .zip(&sizes)
                .map(|(f, n)| format!("{}={n}", f.name))
                .collect();
            format!("{chor}<{}>", parts.join(", "))
        } else {
            chor.to_owned()
        };
        self.instances.insert(key, name.clone());
        self.queue.push(Instance {
            source,
            sizes,
            name: name.clone(),
        });
        name
    }

    fn expand_chor(&mut self, c: &ChorDef, sizes: &[usize], name: &str) -> ChorDef {
        self.budget = MAX_STATEMENTS;
        let mut env = Env::default();
        for (f, n) in c.families.iter().zip(sizes) {
            let sized = if c.name.name == "main" {
                format!(
                    "{n} members in this run (`--size {}=N`, default {DEFAULT_SIZE})",
                    f.name
                )
            } else {
                "as many members as the family passed for it".to_owned()
            };
            self.hovers.push((
                f.span,
                Arc::from(format!(
                    "{}[]: a family of roles, {sized}; members `{0}[0]` … `{0}[size({0}) - 1]`",
                    f.name
                )),
            ));
            env.fams.insert(f.name.clone(), *n);
            if *n == 0 || *n > MAX_SIZE {
                self.diags.push(Diagnostic::error(
                    "E0758",
                    format!(
                        "family `{}` is sized {n}; a family has 1 to {MAX_SIZE} members",
                        f.name
                    ),
                    f.span,
                    "sized here",
                ));
                env.fams.insert(f.name.clone(), 0);
            }
        }
        let mut roles = Vec::new();
        for r in &c.roles {
            match env.fams.get(&r.name) {
                Some(n) => roles.extend(members(&r.name, *n, r.span)),
                None => roles.push(r.clone()),
            }
        }
        let mut params = Vec::new();
        for p in &c.params {
            match env.fams.get(&p.role.name) {
                Some(n) => params.extend(members(&p.role.name, *n, p.role.span).into_iter().map(
                    |role| ChorParam {
                        name: p.name.clone(),
                        ty: p.ty.clone(),
                        role,
                        chor: None,
                        group: p.group.as_ref().map(|g| expand_group(&env, g)),
                    },
                )),
                None => params.push(p.clone()),
            }
        }
        let mut ret = c.ret.clone();
        if let Some((_, r)) = &c.ret
            && env.fams.contains_key(&r.name)
        {
            self.diags.push(unsupported(
                r.span,
                "a result held by a whole family (`-> T@Ws`)",
            ));
            // Reported once: the expanded procedure returns nothing.
            ret = None;
        }
        let body = self.block(c, &mut env, &c.body);
        ChorDef {
            doc: c.doc.clone(),
            name: Ident {
                name: name.to_owned(),
                span: c.name.span,
            },
            roles,
            params,
            ret,
            body,
            span: c.span,
            results: c
                .results
                .iter()
                .map(|r| ChorResult {
                    ty: r.ty.clone(),
                    role: r.role.clone(),
                    group: r.group.as_ref().map(|g| expand_group(&env, g)),
                })
                .collect(),
            generics: c.generics.clone(),
            families: Vec::new(),
            members: Vec::new(),
        }
    }

    fn block(&mut self, c: &ChorDef, env: &mut Env, b: &ChorBlock) -> ChorBlock {
        let mut stmts = Vec::new();
        for s in &b.stmts {
            self.stmt(c, env, s, &mut stmts);
        }
        ChorBlock {
            stmts,
            span: b.span,
        }
    }

    /// How the role position `r` reads in `env`.
    fn role(&mut self, c: &ChorDef, env: &Env, r: &Ident) -> Option<Role> {
        if let Some(m) = c.member_at(r.span) {
            let Some(&n) = env.fams.get(&m.family.name) else {
                self.diags.push(not_a_family(&m.family, c));
                return None;
            };
            let k = self.index(env, &m.index)?;
            if k < 0 || k as u64 >= n as u64 {
                self.diags.push(
                    Diagnostic::error(
                        "E0753",
                        format!(
                            "member index {k} is out of range for family `{}` of size {n}",
                            m.family.name
                        ),
                        m.span,
                        format!(
                            "`{}` has members 0 to {}",
                            m.family.name,
                            n.saturating_sub(1)
                        ),
                    )
                    .with_help("wrap the index around, e.g. `Ws[(index(W) + 1) % size(Ws)]`"),
                );
                return None;
            }
            return Some(Role::One(
                Ident {
                    name: member_name(&m.family.name, k as usize),
                    span: r.span,
                },
                true,
            ));
        }
        if let Some((f, i)) = env.rounds.get(&r.name) {
            return Some(Role::One(
                Ident {
                    name: member_name(f, *i),
                    span: r.span,
                },
                true,
            ));
        }
        if let Some(&n) = env.fams.get(&r.name) {
            return Some(Role::All(r.name.clone(), members(&r.name, n, r.span)));
        }
        Some(Role::One(r.clone(), false))
    }

    /// A role position that must name one role.
    fn one(&mut self, c: &ChorDef, env: &Env, r: &Ident, what: &str) -> Option<(Ident, bool)> {
        match self.role(c, env, r)? {
            Role::One(i, m) => Some((i, m)),
            Role::All(f, _) => {
                self.diags.push(
                    Diagnostic::error(
                        "E0754",
                        format!("the family `{f}` cannot {what}"),
                        r.span,
                        "a whole family",
                    )
                    .with_help(format!(
                        "name one member (`{f}[0]`), or the member of a round (`for W in {f} {{ … }}`)"
                    )),
                );
                None
            }
        }
    }

    /// The value of a member index (see the module comment for what it may contain).
    fn index(&mut self, env: &Env, e: &Expr) -> Option<i64> {
        let bad = |msg: &str| {
            Diagnostic::error(
                "E0751",
                "a member index must be a value every role can compute",
                e.span,
                msg.to_owned(),
            )
            .with_help("use literals, `size(Ws)`, `index(W)` of an enclosing `for`, and `+ - * / %` on those")
        };
        let v = match &e.kind {
            ExprKind::Lit(Lit::Int(i)) => Some(*i),
            ExprKind::Unary(UnOp::Neg, x) => self.index(env, x)?.checked_neg(),
            ExprKind::Binary(op, a, b) => {
                let (a, b) = (self.index(env, a)?, self.index(env, b)?);
                match op {
                    BinOp::Add => a.checked_add(b),
                    BinOp::Sub => a.checked_sub(b),
                    BinOp::Mul => a.checked_mul(b),
                    BinOp::Div => a.checked_div(b),
                    BinOp::Rem => a.checked_rem(b),
                    _ => {
                        self.diags.push(bad("not arithmetic"));
                        return None;
                    }
                }
            }
            ExprKind::Call(f, args) => match family_form(f, args) {
                Some(("size", x)) => match env.fams.get(x) {
                    Some(n) => Some(*n as i64),
                    None => {
                        self.diags
                            .push(bad("`size` of something that is not a family"));
                        return None;
                    }
                },
                Some(("index", x)) => match env.rounds.get(x) {
                    Some((_, i)) => Some(*i as i64),
                    None => {
                        self.diags.push(bad(
                            "only `index(W)` of the member of an enclosing `for` is known to every role",
                        ));
                        return None;
                    }
                },
                _ => {
                    self.diags.push(bad("a call"));
                    return None;
                }
            },
            ExprKind::Path(p) => {
                self.diags
                    .push(bad(&format!("`{}` is a variable of one role", p.text())));
                return None;
            }
            ExprKind::Error => return None,
            _ => {
                self.diags
                    .push(bad("not an integer computable by every role"));
                return None;
            }
        };
        if v.is_none() {
            self.diags.push(bad("overflows or divides by zero"));
        }
        v
    }

    fn stmt(&mut self, c: &ChorDef, env: &mut Env, s: &ChorStmt, out: &mut Vec<ChorStmt>) {
        if self.budget == 0 {
            return;
        }
        let before = out.len();
        self.stmt_inner(c, env, s, out);
        // A round counts through the statements of its body (which report the end).
        if matches!(s.kind, ChorStmtKind::For { .. }) {
            return;
        }
        self.budget = self.budget.saturating_sub(out.len() - before);
        if self.budget == 0 {
            self.diags.push(
                Diagnostic::error(
                    "E0758",
                    format!(
                        "`{}` expands to more than {MAX_STATEMENTS} statements at these family sizes",
                        c.name.name
                    ),
                    s.span,
                    "the expansion stops here",
                )
                .with_help("nested `for` rounds multiply: use smaller families, or fewer nested rounds"),
            );
        }
    }

    fn stmt_inner(&mut self, c: &ChorDef, env: &mut Env, s: &ChorStmt, out: &mut Vec<ChorStmt>) {
        let mk = |kind: ChorStmtKind| ChorStmt {
            kind,
            span: s.span,
            id: NodeId::default(),
        };
        match &s.kind {
            ChorStmtKind::Let {
                role: _,
                pat,
                ty,
                value,
                group: Some(g),
            } => {
                // Every member of the group computes the agreed value (a family in the group
                // stands for all its members).
                let g = expand_group_at(self, c, env, g);
                let Some(first) = g.roles.first().cloned() else {
                    return;
                };
                let value = self.subst(env, value, None);
                let mut pat = pat.clone();
                bind_pattern(env, &first.name, &mut pat);
                out.push(mk(ChorStmtKind::Let {
                    role: first,
                    pat,
                    ty: ty.clone(),
                    value,
                    group: Some(g),
                }));
            }
            ChorStmtKind::Let {
                role,
                pat,
                ty,
                value,
                group: None,
            } => match self.role(c, env, role) {
                Some(Role::One(r, _)) => {
                    let value = self.subst(env, value, Some(&r.name));
                    let mut pat = pat.clone();
                    bind_pattern(env, &r.name, &mut pat);
                    out.push(mk(ChorStmtKind::Let {
                        role: r,
                        pat,
                        ty: ty.clone(),
                        value,
                        group: None,
                    }))
                }
                Some(Role::All(_, ms)) => {
                    for m in ms {
                        let value = self.subst(env, value, Some(&m.name));
                        let mut pat = pat.clone();
                        bind_pattern(env, &m.name, &mut pat);
                        out.push(mk(ChorStmtKind::Let {
                            role: m,
                            pat,
                            ty: ty.clone(),
                            value,
                            group: None,
                        }));
                    }
                }
                None => {}
            },
            ChorStmtKind::Effect { role, expr } => match self.role(c, env, role) {
                Some(Role::One(r, _)) => {
                    let expr = self.subst(env, expr, Some(&r.name));
                    out.push(mk(ChorStmtKind::Effect { role: r, expr }))
                }
                Some(Role::All(_, ms)) => {
                    for m in ms {
                        let expr = self.subst(env, expr, Some(&m.name));
                        out.push(mk(ChorStmtKind::Effect { role: m, expr }));
                    }
                }
                None => {}
            },
            ChorStmtKind::Return { role, expr } => match self.role(c, env, role) {
                Some(Role::One(r, _)) => {
                    let expr = self.subst(env, expr, Some(&r.name));
                    out.push(mk(ChorStmtKind::Return { role: r, expr }))
                }
                Some(Role::All(..)) => self.diags.push(unsupported(
                    role.span,
                    "a result held by a whole family (`return Ws.e;`)",
                )),
                None => {}
            },
            ChorStmtKind::Comm {
                from,
                expr,
                to,
                group: Some(g),
            } => {
                // A message to a group: every member (a family: each of its members) holds the
                // value agreed; a sender in the group keeps it.
                let Some((sender, _)) = self.one(c, env, from, "send to a group") else {
                    return;
                };
                let Some(var) = to.first().map(|r| r.var.clone()) else {
                    return;
                };
                let g = expand_group_at(self, c, env, g);
                let e = self.subst(env, expr, Some(&sender.name));
                let to = g
                    .roles
                    .iter()
                    .map(|r| Receiver {
                        role: r.clone(),
                        var: bind_ident(env, &r.name, &var),
                        id: NodeId::default(),
                    })
                    .collect();
                out.push(mk(ChorStmtKind::Comm {
                    from: sender,
                    expr: e,
                    to,
                    group: Some(g),
                }));
            }
            ChorStmtKind::Comm {
                from,
                expr,
                to,
                group: None,
            } => self.comm(c, env, s, from, expr, to, out),
            ChorStmtKind::Select { from, to, label } => {
                let Some((from, from_member)) = self.one(c, env, from, "make a selection") else {
                    return;
                };
                let mut targets = Vec::new();
                for t in to {
                    match self.role(c, env, t) {
                        Some(Role::One(r, _)) => {
                            targets.push(r);
                        }
                        Some(Role::All(_, ms)) => {
                            targets.extend(ms);
                        }
                        None => return,
                    }
                }
                // A member that selects at its own family tells the others, not itself.
                if from_member {
                    targets.retain(|t| t.name != from.name);
                    if targets.is_empty() {
                        return;
                    }
                }
                out.push(mk(ChorStmtKind::Select {
                    from,
                    to: targets,
                    label: label.clone(),
                }));
            }
            ChorStmtKind::If {
                role,
                cond,
                then,
                els,
                group,
                bind,
            } => {
                if self.family_targets(c, env, bind) {
                    return;
                }
                let Some((r, group)) = self.decision(c, env, role, group.as_ref()) else {
                    return;
                };
                let at = group.is_none().then_some(r.name.as_str());
                let cond = self.subst(env, cond, at);
                let then = self.scoped_block(c, env, then);
                let els = els.as_ref().map(|e| self.scoped_block(c, env, e));
                let bind = bind_targets(env, bind);
                out.push(mk(ChorStmtKind::If {
                    role: r,
                    cond,
                    then,
                    els,
                    group,
                    bind,
                }));
            }
            ChorStmtKind::Match {
                role,
                scrutinee,
                arms,
                group,
                bind,
            } => {
                if self.family_targets(c, env, bind) {
                    return;
                }
                let Some((r, group)) = self.decision(c, env, role, group.as_ref()) else {
                    return;
                };
                let at = group.is_none().then_some(r.name.as_str());
                let scrutinee = self.subst(env, scrutinee, at);
                let arms = arms
                    .iter()
                    .map(|a| {
                        let in_round = env.in_round();
                        if in_round {
                            env.push(None);
                        }
                        let mut pat = a.pat.clone();
                        bind_pattern(env, &r.name, &mut pat);
                        let body = self.block(c, env, &a.body);
                        if in_round {
                            env.pop();
                        }
                        ChorArm {
                            pat,
                            body,
                            span: a.span,
                        }
                    })
                    .collect();
                let bind = bind_targets(env, bind);
                out.push(mk(ChorStmtKind::Match {
                    role: r,
                    scrutinee,
                    arms,
                    group,
                    bind,
                }));
            }
            ChorStmtKind::Call { call, bind } => {
                if let Some(kind) = self.call(c, env, call, bind) {
                    out.push(mk(kind));
                }
            }
            ChorStmtKind::For { var, family, body } => {
                let Some(&n) = env.fams.get(&family.name) else {
                    self.diags.push(not_a_family(family, c));
                    return;
                };
                self.hovers.push((
                    var.span,
                    Arc::from(format!(
                        "{}: the member of `{}` of each round, in order; `index({0})` is its position, known to every role",
                        var.name, family.name
                    )),
                ));
                let saved = env.rounds.get(&var.name).cloned();
                for i in 0..n {
                    env.rounds
                        .insert(var.name.clone(), (family.name.clone(), i));
                    env.push(Some(family.name.clone()));
                    for s in &body.stmts {
                        self.stmt(c, env, s, out);
                    }
                    env.pop();
                }
                match saved {
                    Some(v) => env.rounds.insert(var.name.clone(), v),
                    None => env.rounds.remove(&var.name),
                };
            }
            // Several results in a choreography with families: kept as written when they
            // name no family or member; otherwise not supported yet.
            ChorStmtKind::Results { .. }
            | ChorStmtKind::Yield { .. }
            | ChorStmtKind::LetMany { .. }
            | ChorStmtKind::CallMany { .. } => {
                let mut named = Vec::new();
                match &s.kind {
                    ChorStmtKind::Results { parts } | ChorStmtKind::Yield { parts } => {
                        parts.iter().for_each(|p| {
                            named.push(&p.role);
                            named.extend(p.group.iter().flat_map(|g| &g.roles));
                        })
                    }
                    ChorStmtKind::LetMany { targets, .. } => targets.iter().for_each(|t| {
                        named.push(&t.role);
                        named.extend(t.group.iter().flat_map(|g| &g.roles));
                    }),
                    ChorStmtKind::CallMany { call, targets } => {
                        named.extend(&call.roles);
                        targets.iter().for_each(|t| {
                            named.push(&t.role);
                            named.extend(t.group.iter().flat_map(|g| &g.roles));
                        })
                    }
                    _ => {}
                }
                if let Some(r) = named.iter().find(|r| {
                    env.fams.contains_key(&r.name)
                        || env.rounds.contains_key(&r.name)
                        || c.member_at(r.span).is_some()
                }) {
                    self.diags.push(unsupported(
                        r.span,
                        "several results or an agreed result at a family or member",
                    ));
                    return;
                }
                match &s.kind {
                    // What a branch yields is computed at its roles: their names, and the
                    // family forms in it, are substituted as in any expression there.
                    ChorStmtKind::Yield { parts } => {
                        let parts = parts
                            .iter()
                            .map(|p| {
                                let at = p.group.is_none().then_some(p.role.name.as_str());
                                LocatedExpr {
                                    expr: self.subst(env, &p.expr, at),
                                    ..p.clone()
                                }
                            })
                            .collect();
                        out.push(mk(ChorStmtKind::Yield { parts }));
                    }
                    _ => out.push(s.clone()),
                }
            }
            ChorStmtKind::Error => out.push(s.clone()),
        }
    }

    /// Whether a conditional expression binds a value at a family or member (not supported
    /// yet: reported here).
    fn family_targets(&mut self, c: &ChorDef, env: &Env, bind: &[Target]) -> bool {
        let found = bind
            .iter()
            .flat_map(|t| std::iter::once(&t.role).chain(t.group.iter().flat_map(|g| &g.roles)))
            .find(|r| {
                env.fams.contains_key(&r.name)
                    || env.rounds.contains_key(&r.name)
                    || c.member_at(r.span).is_some()
            });
        if let Some(r) = found {
            self.diags.push(unsupported(
                r.span,
                "a conditional expression that yields at a family or member",
            ));
            return true;
        }
        false
    }

    /// A conditional's block: inside a round, the names it gives end with it.
    fn scoped_block(&mut self, c: &ChorDef, env: &mut Env, b: &ChorBlock) -> ChorBlock {
        if !env.in_round() {
            return self.block(c, env, b);
        }
        env.push(None);
        let b = self.block(c, env, b);
        env.pop();
        b
    }

    /// Who decides an `if` or `match`: one role, or a group (its families expanded to their
    /// members), whose first member stands in the statement's `role`.
    fn decision(
        &mut self,
        c: &ChorDef,
        env: &Env,
        role: &Ident,
        group: Option<&Group>,
    ) -> Option<(Ident, Option<Group>)> {
        match group {
            Some(g) => {
                let g = expand_group_at(self, c, env, g);
                Some((g.roles.first()?.clone(), Some(g)))
            }
            None => Some((self.decider(c, env, role)?, None)),
        }
    }

    /// The role that decides an `if` or `match`: one role; a whole family is an error.
    fn decider(&mut self, c: &ChorDef, env: &Env, role: &Ident) -> Option<Ident> {
        match self.role(c, env, role)? {
            Role::One(r, _) => Some(r),
            Role::All(f, _) => {
                self.diags.push(
                    Diagnostic::error(
                        "E0755",
                        format!("a decision by the whole family `{f}`"),
                        role.span,
                        "every member would decide on its own value",
                    )
                    .with_help(format!(
                        "decide at one member (`if {f}[0].e {{ … }}`), or gather the values to one role and decide there (`{f}.e -> Leader.xs; if Leader.… {{ … }}`)"
                    )),
                );
                None
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn comm(
        &mut self,
        c: &ChorDef,
        env: &mut Env,
        s: &ChorStmt,
        from: &Ident,
        expr: &Expr,
        to: &[Receiver],
        out: &mut Vec<ChorStmt>,
    ) {
        let mk = |kind: ChorStmtKind| ChorStmt {
            kind,
            span: s.span,
            id: NodeId::default(),
        };
        let recv = |role: Ident, var: &Ident| Receiver {
            role,
            var: var.clone(),
            id: NodeId::default(),
        };
        match self.role(c, env, from) {
            None => {}
            // A gather: one value from every member, a list at the receiver.
            Some(Role::All(f, ms)) => {
                let [r] = to else {
                    self.diags.push(
                        Diagnostic::error(
                            "E0756",
                            format!("a gather from the family `{f}` has exactly one receiver"),
                            s.span,
                            "several receivers",
                        )
                        .with_help(format!(
                            "gather to one role, then send on: `{f}.e -> R.xs; R.xs -> S.xs;`"
                        )),
                    );
                    return;
                };
                let Some((to_role, _)) = self.one(c, env, &r.role, "receive a gather") else {
                    return;
                };
                let mut items = Vec::new();
                for (i, m) in ms.into_iter().enumerate() {
                    let tmp = Ident {
                        name: format!("{}#m{i}", r.var.name),
                        span: r.var.span,
                    };
                    let e = self.subst(env, expr, Some(&m.name));
                    if m.name == to_role.name {
                        out.push(mk(ChorStmtKind::Let {
                            role: m,
                            pat: ident_pat(&tmp),
                            ty: None,
                            value: e,
                            group: None,
                        }));
                    } else {
                        out.push(mk(ChorStmtKind::Comm {
                            from: m,
                            expr: e,
                            to: vec![recv(to_role.clone(), &tmp)],
                            group: None,
                        }));
                    }
                    items.push(path_expr(&tmp));
                }
                let var = bind_ident(env, &to_role.name, &r.var);
                out.push(mk(ChorStmtKind::Let {
                    role: to_role,
                    pat: ident_pat(&var),
                    ty: None,
                    value: Expr {
                        kind: ExprKind::List(items),
                        span: r.var.span,
                        id: NodeId::default(),
                    },
                    group: None,
                }));
            }
            Some(Role::One(sender, from_member)) => {
                let e = self.subst(env, expr, Some(&sender.name));
                let mut receivers = Vec::new();
                for r in to {
                    match self.role(c, env, &r.role) {
                        Some(Role::One(role, _)) => {
                            let var = bind_ident(env, &role.name, &r.var);
                            receivers.push(recv(role, &var));
                        }
                        Some(Role::All(_, ms)) => {
                            for m in ms {
                                let var = bind_ident(env, &m.name, &r.var);
                                receivers.push(recv(m, &var));
                            }
                        }
                        None => return,
                    }
                }
                // Two ends that are the same member bind locally (a ring of one works); a
                // plain role sending to itself is left to the checks (E0203).
                let (own, others): (Vec<Receiver>, Vec<Receiver>) = if from_member {
                    receivers
                        .into_iter()
                        .partition(|r| r.role.name == sender.name)
                } else {
                    (Vec::new(), receivers)
                };
                let Some(first) = own.first() else {
                    out.push(mk(ChorStmtKind::Comm {
                        from: sender,
                        expr: e,
                        to: others,
                        group: None,
                    }));
                    return;
                };
                out.push(mk(ChorStmtKind::Let {
                    role: sender.clone(),
                    pat: ident_pat(&first.var),
                    ty: None,
                    value: e,
                    group: None,
                }));
                for o in &own[1..] {
                    out.push(mk(ChorStmtKind::Let {
                        role: sender.clone(),
                        pat: ident_pat(&o.var),
                        ty: None,
                        value: path_expr(&first.var),
                        group: None,
                    }));
                }
                if !others.is_empty() {
                    out.push(mk(ChorStmtKind::Comm {
                        from: sender,
                        expr: path_expr(&first.var),
                        to: others,
                        group: None,
                    }));
                }
            }
        }
    }

    fn call(
        &mut self,
        c: &ChorDef,
        env: &mut Env,
        call: &ChorCall,
        bind: &Option<(Ident, Pattern, Option<Type>)>,
    ) -> Option<ChorStmtKind> {
        let callee = self.originals.get(&call.callee.name).cloned();
        let fams_of_callee: Vec<String> = callee
            .as_ref()
            .map(|(_, d)| d.families.iter().map(|f| f.name.clone()).collect())
            .unwrap_or_default();
        let callee_roles: Vec<Ident> = callee
            .as_ref()
            .map(|(_, d)| d.roles.clone())
            .unwrap_or_default();
        // Callee family → the size of the family passed for it.
        let mut passed: HashMap<String, usize> = HashMap::new();
        let mut roles = Vec::new();
        for (k, r) in call.roles.iter().enumerate() {
            let param_family = callee_roles
                .get(k)
                .filter(|p| fams_of_callee.contains(&p.name));
            match (self.role(c, env, r)?, param_family) {
                (Role::All(_, ms), Some(p)) => {
                    passed.insert(p.name.clone(), ms.len());
                    roles.extend(ms);
                }
                (Role::One(i, _), None) => roles.push(i),
                (Role::All(f, _), None) => {
                    self.diags.push(
                        Diagnostic::error(
                            "E0757",
                            format!("the family `{f}` is passed where one role is expected"),
                            r.span,
                            "a whole family",
                        )
                        .with_help(format!(
                            "pass one member (`{f}[0]`, or `W` in `for W in {f}`), or declare the procedure's role as a family (`{}[]`)",
                            callee_roles.get(k).map_or("Ws", |p| p.name.as_str())
                        )),
                    );
                    return None;
                }
                (Role::One(i, _), Some(p)) => {
                    self.diags.push(
                        Diagnostic::error(
                            "E0757",
                            format!(
                                "`{}` is one role, but `{}` takes a family `{}[]` here",
                                i.name, call.callee.name, p.name
                            ),
                            r.span,
                            "one role",
                        )
                        .with_help("pass a family of the caller"),
                    );
                    return None;
                }
            }
        }
        let mut callee_name = call.callee.clone();
        if let Some((source, def)) = &callee
            && !def.families.is_empty()
        {
            let sizes: Vec<usize> = fams_of_callee
                .iter()
                .map(|f| passed.get(f).copied().unwrap_or(DEFAULT_SIZE))
                .collect();
            callee_name.name = self.instance(&call.callee.name, *source, sizes);
        }
        // Arguments: a family parameter `x: T@Ws` takes `F.e`, one value per member.
        let params: Vec<ChorParam> = callee
            .as_ref()
            .map(|(_, d)| d.params.clone())
            .unwrap_or_default();
        let mut args = Vec::new();
        for (k, a) in call.args.iter().enumerate() {
            // A choreography passed as an argument names no role.
            if a.chor {
                args.push(a.clone());
                continue;
            }
            let family_param = params
                .get(k)
                .is_some_and(|p| fams_of_callee.contains(&p.role.name));
            match (self.role(c, env, &a.role)?, family_param) {
                (Role::All(_, ms), true) => {
                    for m in ms {
                        let expr = self.subst(env, &a.expr, Some(&m.name));
                        args.push(LocatedExpr {
                            role: m,
                            expr,
                            chor: false,
                            group: None,
                        });
                    }
                }
                (Role::One(r, _), false) => {
                    let expr = self.subst(env, &a.expr, Some(&r.name));
                    args.push(LocatedExpr {
                        role: r,
                        expr,
                        chor: false,
                        group: None,
                    });
                }
                (_, true) => {
                    self.diags.push(Diagnostic::error(
                        "E0757",
                        "this parameter holds one value per member: pass `Ws.e` for a family `Ws`",
                        a.role.span,
                        "not a family",
                    ));
                    return None;
                }
                (Role::All(f, _), false) => {
                    self.diags.push(
                        Diagnostic::error(
                            "E0757",
                            format!(
                                "the family `{f}` is passed where one role's value is expected"
                            ),
                            a.role.span,
                            "a whole family",
                        )
                        .with_help(format!("pass one member's value (`{f}[0].e`)")),
                    );
                    return None;
                }
            }
        }
        let bind = match bind {
            Some((role, pat, ty)) => {
                let (r, _) = self.one(c, env, role, "bind a procedure's result (not yet)")?;
                let mut pat = pat.clone();
                bind_pattern(env, &r.name, &mut pat);
                Some((r, pat, ty.clone()))
            }
            None => None,
        };
        Some(ChorStmtKind::Call {
            call: ChorCall {
                callee: callee_name,
                roles,
                args,
                span: call.span,
            },
            bind,
        })
    }

    /// `e` evaluated at role `at`, with `size(F)`, `index(W)` and (at a member of F)
    /// `index(F)` replaced by their values.
    fn subst(&mut self, env: &Env, e: &Expr, at: Option<&str>) -> Expr {
        let mut e = e.clone();
        self.subst_mut(env, &mut e, at);
        e
    }

    fn subst_mut(&mut self, env: &Env, e: &mut Expr, at: Option<&str>) {
        if let ExprKind::Call(f, args) = &e.kind
            && let Some((form, x)) = family_form(f, args)
        {
            let v = match form {
                "size" => env.fams.get(x).map(|n| *n as i64),
                _ => env.rounds.get(x).map(|(_, i)| *i as i64).or_else(|| {
                    // `index(Ws)` at a member of Ws: the member's own position.
                    let n = *env.fams.get(x)?;
                    (0..n)
                        .find(|i| at == Some(member_name(x, *i).as_str()))
                        .map(|i| i as i64)
                }),
            };
            match v {
                Some(v) => {
                    let text = match (form, env.fams.contains_key(x)) {
                        ("size", _) => format!(
                            "size({x}): Int, the number of members of `{x}`; every role knows it"
                        ),
                        ("index", true) => {
                            format!("index({x}): Int, each member's own position in `{x}` (from 0)")
                        }
                        _ => format!(
                            "index({x}): Int, the position of the round's member (from 0); every role knows it"
                        ),
                    };
                    self.hovers.push((e.span, Arc::from(text)));
                    e.kind = ExprKind::Lit(Lit::Int(v));
                    return;
                }
                None if form == "index" && env.fams.contains_key(x) => {
                    self.diags.push(
                        Diagnostic::error(
                            "E0751",
                            format!("`index({x})` is known only at the members of `{x}`"),
                            e.span,
                            "evaluated at a role outside the family",
                        )
                        .with_help(format!(
                            "inside `for W in {x}`, every role knows `index(W)`"
                        )),
                    );
                    // Reported here: the checks need not report the call again.
                    e.kind = ExprKind::Error;
                    return;
                }
                None => {}
            }
        }
        // A variable renamed in this round (see `Env::bind`).
        if let ExprKind::Path(p) = &mut e.kind
            && p.segments.len() == 1
            && let Some(at) = at
            && let Some(renamed) = env.lookup(at, &p.segments[0].name)
        {
            p.segments[0].name = renamed.clone();
            return;
        }
        let mut go = |x: &mut Expr| self.subst_mut(env, x, at);
        match &mut e.kind {
            ExprKind::Lit(_) | ExprKind::Path(_) | ExprKind::Error => {}
            ExprKind::Unary(_, a) | ExprKind::Field(a, _) | ExprKind::TupleIndex(a, _, _) => go(a),
            ExprKind::Binary(_, a, b) | ExprKind::Located(a, b) => {
                go(a);
                go(b);
            }
            ExprKind::Call(f, args) => {
                go(f);
                args.iter_mut().for_each(go);
            }
            ExprKind::Tuple(xs) | ExprKind::List(xs) => xs.iter_mut().for_each(go),
            ExprKind::StructLit { fields, .. } => fields.iter_mut().for_each(|f| go(&mut f.value)),
            ExprKind::If { cond, then, els } => {
                go(cond);
                self.subst_block(env, then, at);
                if let Some(x) = els {
                    self.subst_mut(env, x, at);
                }
            }
            ExprKind::Match { scrutinee, arms } => {
                go(scrutinee);
                arms.iter_mut().for_each(|a| go(&mut a.body));
            }
            ExprKind::Block(b) => self.subst_block(env, b, at),
            ExprKind::Return(x) => {
                if let Some(x) = x {
                    go(x);
                }
            }
        }
    }

    fn subst_block(&mut self, env: &Env, b: &mut Block, at: Option<&str>) {
        for s in &mut b.stmts {
            match s {
                Stmt::Let { value, .. } => self.subst_mut(env, value, at),
                Stmt::Expr(x) => self.subst_mut(env, x, at),
                Stmt::Error(_) => {}
            }
        }
        if let Some(t) = &mut b.tail {
            self.subst_mut(env, t, at);
        }
    }
}

/// `size(X)` or `index(X)` with a bare name X: the form and X.
fn family_form<'e>(f: &'e Expr, args: &'e [Expr]) -> Option<(&'e str, &'e str)> {
    let ExprKind::Path(p) = &f.kind else {
        return None;
    };
    let form = match p.text().as_str() {
        "size" => "size",
        "index" => "index",
        _ => return None,
    };
    let [a] = args else { return None };
    let ExprKind::Path(x) = &a.kind else {
        return None;
    };
    x.is_single().then(|| (form, x.last().name.as_str()))
}

/// The members of family `f` of size `n`, as roles spanning `span`.
fn members(f: &str, n: usize, span: Span) -> Vec<Ident> {
    (0..n)
        .map(|i| Ident {
            name: member_name(f, i),
            span,
        })
        .collect()
}

fn ident_pat(i: &Ident) -> Pattern {
    Pattern {
        kind: PatternKind::Ident(i.clone()),
        span: i.span,
        id: NodeId::default(),
    }
}

fn path_expr(i: &Ident) -> Expr {
    Expr {
        kind: ExprKind::Path(Path {
            segments: vec![i.clone()],
            span: i.span,
        }),
        span: i.span,
        id: NodeId::default(),
    }
}

fn not_a_family(f: &Ident, c: &ChorDef) -> Diagnostic {
    Diagnostic::error(
        "E0752",
        format!("`{}` is not a family of `{}`", f.name, c.name.name),
        f.span,
        "not a family",
    )
    .with_help(format!(
        "declare it with `[]` among the roles: `choreography {}(…, {}[])`",
        c.name.name, f.name
    ))
}

fn unsupported(span: Span, what: &str) -> Diagnostic {
    Diagnostic::error(
        "E0759",
        format!("{what} is not supported yet"),
        span,
        "not supported yet",
    )
    .with_help("gather the values to one role (`Ws.e -> R.xs;`) and return that")
}
