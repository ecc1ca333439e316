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
//! A result held by a family (`-> T@Ws`) is one result per member: the expanded procedure
//! has several results (section 9), bound by one target per member; a choreography type
//! with families is expanded like a signature, at the sizes of the families passed for it.
//!
//! Errors of this pass (E0751–E0759) name the family and the source line; see
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

/// The name of the variable that holds member `i`'s value of a gather into `xs` until the
/// list is made (`xs#m0`); it shares the span of `xs`, but it is not the user's variable.
pub fn gather_part(xs: &str, i: usize) -> String {
    format!("{xs}#m{i}")
}

/// Whether `name` is one of the variables of [`gather_part`].
pub fn is_gather_part(name: &str) -> bool {
    name.rsplit_once("#m")
        .is_some_and(|(_, i)| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()))
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
            group_read: None,
            shadow: Vec::new(),
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
    /// While substituting an expression every role of a group computes: the group's roles.
    group_read: Option<Vec<String>>,
    /// The names bound inside the expression being substituted (a block's `let`, a match
    /// arm's pattern), innermost last: they shadow the choreography's variables.
    shadow: Vec<String>,
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
    /// The name a binding of `name` at `role` gets here (see [`Env::bind_group`]).
    fn bind(&mut self, role: &str, name: &str) -> String {
        self.bind_group(&[role], name)
    }

    /// Where a binding at `role` made here would have to be renamed: the frame that holds its
    /// new name, or `None` when it keeps its name. The card's scoping rule: a binding at a
    /// role outside a round's family ends with the round (a member's binding outlives the
    /// loop). Unrolled rounds share one block, so such a binding gets a name of its own
    /// (`x#3`), used by the rest of its round and invisible after it. Inside a conditional's
    /// block the binding ends with the block (the checks scope blocks); the innermost block
    /// above the round holds the new name.
    fn rename_level(&self, role: &str) -> Option<usize> {
        let round = self
            .frames
            .iter()
            .rposition(|f| f.round.as_deref().is_some_and(|fam| !is_member(role, fam)))?;
        Some(
            (round..self.frames.len())
                .rev()
                .find(|k| self.frames[*k].round.is_none())
                .unwrap_or(round),
        )
    }

    /// The innermost block (a conditional's, or the body's): where a binding that keeps its
    /// name lives for the checks, which scope blocks but not rounds.
    fn block_level(&self) -> usize {
        self.frames
            .iter()
            .rposition(|f| f.round.is_none())
            .unwrap_or(0)
    }

    /// The one name that a binding of `name` made by one statement at every role of `roles`
    /// gets (a group binding: `let (L, W).k = …;`, `L.e -> (L, W).k;`). Every role must read
    /// the value under the same name, since the group computes with it as one expression.
    /// When some role's binding ends with the round and another's outlives it, all take a
    /// new name, each remembered for as long as that role's binding lives: the outside
    /// role's until the round ends, the member's until its block ends. A binding that keeps
    /// its name shadows an older new name of the same variable at its role.
    fn bind_group(&mut self, roles: &[&str], name: &str) -> String {
        if self.frames.is_empty() {
            self.push(None);
        }
        let levels: Vec<Option<usize>> = roles.iter().map(|r| self.rename_level(r)).collect();
        if levels.iter().all(Option::is_none) {
            let at = self.block_level();
            for r in roles {
                if self.lookup(r, name).is_some_and(|n| n != name) {
                    self.frames[at]
                        .renames
                        .insert(((*r).to_owned(), name.to_owned()), name.to_owned());
                }
            }
            return name.to_owned();
        }
        self.fresh += 1;
        let renamed = format!("{name}#{}", self.fresh);
        for (r, level) in roles.iter().zip(levels) {
            let at = level.unwrap_or_else(|| self.block_level());
            self.frames[at]
                .renames
                .insert(((*r).to_owned(), name.to_owned()), renamed.clone());
        }
        renamed
    }

    /// The current name of the variable `name` at `role`.
    fn lookup(&self, role: &str, name: &str) -> Option<&String> {
        let key = (role.to_owned(), name.to_owned());
        self.frames.iter().rev().find_map(|f| f.renames.get(&key))
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
            Some(n) => add_members(&mut roles, members(&r.name, *n, r.span)),
            None => roles.push(r.clone()),
        }
    }
    Group {
        roles,
        span: g.span,
    }
}

/// Adds members of a family to a group's roles, each once: a group is a set of roles, and a
/// member reached through a family may already be there (`(Ws[0], Ws)`, or `(X, Y)` in nested
/// rounds that meet). Whether the entries meet depends on the round and the size, which the
/// author cannot rule out at every size, so it is not an error; a plain role listed twice
/// (`(A, A)`) is kept twice and stays E0700, as for receivers.
fn add_members(roles: &mut Vec<Ident>, ms: impl IntoIterator<Item = Ident>) {
    for m in ms {
        if !roles.iter().any(|r| r.name == m.name) {
            roles.push(m);
        }
    }
}

/// [`expand_group`] in a body: a round's member (`W`) or a member reference (`Ws[0]`) becomes
/// the member it names.
fn expand_group_at(x: &mut Expander<'_>, c: &ChorDef, env: &Env, g: &Group) -> Group {
    let mut roles = Vec::new();
    for r in &g.roles {
        match x.role(c, env, r) {
            Some(Role::One(m, true)) => add_members(&mut roles, [m]),
            Some(Role::One(r, false)) => roles.push(r),
            Some(Role::All(_, ms)) => add_members(&mut roles, ms),
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
            let roles: Vec<String> = match &t.group {
                Some(g) => g.roles.iter().map(|r| r.name.clone()).collect(),
                None => vec![t.role.name.clone()],
            };
            let roles: Vec<&str> = roles.iter().map(String::as_str).collect();
            bind_pattern_group(env, &roles, &mut t.pat);
            t
        })
        .collect()
}

fn bind_pattern(env: &mut Env, role: &str, pat: &mut Pattern) {
    bind_pattern_group(env, &[role], pat)
}

/// Rename the variables `pat` binds at every role of `roles` by one statement (see
/// [`Env::bind_group`]).
fn bind_pattern_group(env: &mut Env, roles: &[&str], pat: &mut Pattern) {
    match &mut pat.kind {
        PatternKind::Ident(id) => {
            if id.name.starts_with(|c: char| c.is_lowercase() || c == '_') && id.name != "_" {
                id.name = env.bind_group(roles, &id.name);
            }
        }
        PatternKind::Tuple(ps) | PatternKind::Variant { args: ps, .. } => ps
            .iter_mut()
            .for_each(|p| bind_pattern_group(env, roles, p)),
        PatternKind::Struct { fields, .. } => fields
            .iter_mut()
            .for_each(|f| bind_pattern_group(env, roles, &mut f.pat)),
        PatternKind::List { elems, rest } => {
            elems
                .iter_mut()
                .for_each(|p| bind_pattern_group(env, roles, p));
            if let Some(Some(r)) = rest {
                bind_pattern_group(env, roles, r);
            }
        }
        PatternKind::Wild | PatternKind::Lit(_) | PatternKind::Error => {}
    }
}

/// The roles of a group, as names.
fn group_names(g: &Group) -> Vec<&str> {
    g.roles.iter().map(|r| r.name.as_str()).collect()
}

fn bind_ident(env: &mut Env, role: &str, id: &Ident) -> Ident {
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
        // The body's block: names that outlive a round are remembered here.
        env.push(None);
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
        let (roles, mut params, mut ret, mut results) =
            expand_signature(c, &env, &|p| type_sizes(c, &env, p));
        // Members named by the signature (`-> Int@Ws[0]`, `x: Int@Ws[size(Ws) - 1]`, in a
        // group `T@(L, Ws[1])`) become the member roles at these sizes, as in the body; in a
        // choreography type, at the sizes of the type's families.
        self.signature_members(c, &env, &mut params, &mut ret, &mut results);
        for p in params.iter_mut() {
            let Some(sig) = &mut p.chor else { continue };
            let Some(orig) = c.params.iter().find(|o| o.name.name == p.name.name) else {
                continue;
            };
            let Some(orig_sig) = &orig.chor else { continue };
            let mut inner = Env::default();
            for (f, n) in orig_sig.families.iter().zip(type_sizes(c, &env, orig)) {
                inner.fams.insert(f.name.clone(), n);
            }
            let sig = &mut **sig;
            self.signature_members(c, &inner, &mut sig.params, &mut sig.ret, &mut sig.results);
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
            results,
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

    /// [`Expander::signature_member`] for every role a signature names.
    fn signature_members(
        &mut self,
        c: &ChorDef,
        env: &Env,
        params: &mut [ChorParam],
        ret: &mut Option<(Type, Ident)>,
        results: &mut [ChorResult],
    ) {
        for p in params.iter_mut().filter(|p| p.chor.is_none()) {
            p.role = self.signature_member(c, env, &p.role);
            if let Some(g) = &mut p.group {
                self.signature_group(c, env, g);
                p.role = g.roles.first().cloned().unwrap_or_else(|| p.role.clone());
            }
        }
        if let Some((_, r)) = ret {
            *r = self.signature_member(c, env, r);
        }
        for res in results.iter_mut() {
            res.role = self.signature_member(c, env, &res.role);
            if let Some(g) = &mut res.group {
                self.signature_group(c, env, g);
                res.role = g.roles.first().cloned().unwrap_or_else(|| res.role.clone());
            }
        }
    }

    /// A group of `c`'s signature at the sizes of `env`: each entry as
    /// [`Self::signature_member`] names it, a member only once (see [`add_members`]).
    fn signature_group(&mut self, c: &ChorDef, env: &Env, g: &mut Group) {
        let written = std::mem::take(&mut g.roles);
        for r in &written {
            let m = self.signature_member(c, env, r);
            let member = c.member_at(r.span).is_some()
                || m.name
                    .split_once('[')
                    .is_some_and(|(f, _)| env.fams.contains_key(f));
            if member {
                add_members(&mut g.roles, [m]);
            } else {
                g.roles.push(m);
            }
        }
    }

    /// A role named by `c`'s signature at the sizes of `env`: a member reference (`Ws[0]`,
    /// `Ws[size(Ws) - 1]`) is the member it names (an index out of range or a form that is
    /// not a member expression is reported as in a body; `index(W)` has no round there);
    /// anything else is left as it is.
    fn signature_member(&mut self, c: &ChorDef, env: &Env, r: &Ident) -> Ident {
        if c.member_at(r.span).is_none() {
            return r.clone();
        }
        match self.role(c, env, r) {
            Some(Role::One(m, _)) => m,
            // Reported (out of range, not a member expression): the signature goes on with
            // the family's first member, so that its uses do not report an unknown role too.
            _ => match c
                .member_at(r.span)
                .and_then(|m| Some((m, env.fams.get(&m.family.name)?)))
            {
                Some((m, &n)) if n > 0 => Ident {
                    name: member_name(&m.family.name, 0),
                    span: r.span,
                },
                _ => r.clone(),
            },
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
        let errors = self.diags.iter().filter(|d| d.is_error()).count();
        self.stmt_inner(c, env, s, out);
        // A round counts through the statements of its body (which report the end).
        if matches!(s.kind, ChorStmtKind::For { .. }) {
            return;
        }
        // A statement lost to an error stays as an error statement: the checks then know that
        // what it used is unknown (no "never used" for its variables and roles).
        if out.len() == before && self.diags.iter().filter(|d| d.is_error()).count() > errors {
            out.push(ChorStmt {
                kind: ChorStmtKind::Error,
                span: s.span,
                id: s.id,
            });
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
                let value = self.subst_group(env, value, &g);
                let mut pat = pat.clone();
                bind_pattern_group(env, &group_names(&g), &mut pat);
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
                // `return Ws.e;`: every member returns its own value, one result per member
                // (a family of one: a plain result, as its signature expands).
                Some(Role::All(_, ms)) => {
                    let mut parts: Vec<LocatedExpr> = ms
                        .into_iter()
                        .map(|m| LocatedExpr {
                            expr: self.subst(env, expr, Some(&m.name)),
                            role: m,
                            chor: false,
                            group: None,
                        })
                        .collect();
                    if parts.len() == 1 {
                        let p = parts.remove(0);
                        out.push(mk(ChorStmtKind::Return {
                            role: p.role,
                            expr: p.expr,
                        }));
                    } else {
                        out.push(mk(ChorStmtKind::Results { parts }));
                    }
                }
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
                let var = Ident {
                    name: env.bind_group(&group_names(&g), &var.name),
                    span: var.span,
                };
                let to = g
                    .roles
                    .iter()
                    .map(|r| Receiver {
                        role: r.clone(),
                        var: var.clone(),
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
                // A member named twice (`R -> X, Y[L];` in rounds over one family, or
                // `R -> Ws, Ws[0][L];`) is told once; a plain role listed twice is left to the
                // checks (E0204), as for a communication.
                let mut targets: Vec<Ident> = Vec::new();
                let mut members: Vec<String> = Vec::new();
                let mut tell = |r: Ident, fam: bool| {
                    if fam {
                        if members.contains(&r.name) {
                            return;
                        }
                        members.push(r.name.clone());
                    }
                    targets.push(r);
                };
                for t in to {
                    match self.role(c, env, t) {
                        Some(Role::One(r, fam)) => tell(r, fam),
                        Some(Role::All(_, ms)) => ms.into_iter().for_each(|m| tell(m, true)),
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
                let Some(bind) = self.cond_targets(c, env, bind) else {
                    return;
                };
                let Some((r, group)) = self.decision(c, env, role, group.as_ref()) else {
                    return;
                };
                let cond = match &group {
                    Some(g) => self.subst_group(env, cond, g),
                    None => self.subst(env, cond, Some(&r.name)),
                };
                let then = self.scoped_block(c, env, then);
                let els = els.as_ref().map(|e| self.scoped_block(c, env, e));
                let bind = bind_targets(env, &bind);
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
                let Some(bind) = self.cond_targets(c, env, bind) else {
                    return;
                };
                let Some((r, group)) = self.decision(c, env, role, group.as_ref()) else {
                    return;
                };
                let scrutinee = match &group {
                    Some(g) => self.subst_group(env, scrutinee, g),
                    None => self.subst(env, scrutinee, Some(&r.name)),
                };
                let deciders: Vec<String> = match &group {
                    Some(g) => g.roles.iter().map(|r| r.name.clone()).collect(),
                    None => vec![r.name.clone()],
                };
                let arms = arms
                    .iter()
                    .map(|a| {
                        env.push(None);
                        let mut pat = a.pat.clone();
                        let deciders: Vec<&str> = deciders.iter().map(String::as_str).collect();
                        bind_pattern_group(env, &deciders, &mut pat);
                        let body = self.block(c, env, &a.body);
                        env.pop();
                        ChorArm {
                            pat,
                            body,
                            span: a.span,
                        }
                    })
                    .collect();
                let bind = bind_targets(env, &bind);
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
            ChorStmtKind::Results { parts } => {
                if let Some(parts) = self.result_parts(c, env, parts) {
                    out.push(mk(ChorStmtKind::Results { parts }));
                }
            }
            ChorStmtKind::CallMany { call, targets } => {
                let shapes: Vec<(&Ident, bool)> = targets
                    .iter()
                    .map(|t| (&t.role, t.group.is_some()))
                    .collect();
                if self.check_binding(c, env, call, &shapes).is_none() {
                    return;
                }
                let Some(call) = self.call_parts(c, env, call) else {
                    return;
                };
                if let Some(targets) = self.targets(c, env, targets) {
                    out.push(mk(ChorStmtKind::CallMany { call, targets }));
                }
            }
            // Not a call (the checks report it): its targets expanded all the same.
            ChorStmtKind::LetMany { targets, value } => {
                if let Some(targets) = self.targets(c, env, targets) {
                    out.push(mk(ChorStmtKind::LetMany {
                        targets,
                        value: value.clone(),
                    }));
                }
            }
            // What a branch yields is computed at its roles: their names, and the family
            // forms in it, are substituted as in any expression there.
            ChorStmtKind::Yield { parts } => {
                let mut expanded = Vec::new();
                for p in parts {
                    match &p.group {
                        Some(g) => {
                            let g = expand_group_at(self, c, env, g);
                            expanded.push(LocatedExpr {
                                expr: self.subst_group(env, &p.expr, &g),
                                role: g.roles.first().cloned().unwrap_or_else(|| p.role.clone()),
                                group: Some(g),
                                ..p.clone()
                            });
                        }
                        None => {
                            // A member (`W`, `Ws[e]`) yields as the role it names; a family
                            // (`Ws.e`, for a target held by the family) yields one value per
                            // member, each computed at its member, in member order.
                            let roles = match self.role(c, env, &p.role) {
                                Some(Role::One(r, _)) => vec![r],
                                Some(Role::All(_, ms)) => ms,
                                None => vec![p.role.clone()],
                            };
                            for role in roles {
                                expanded.push(LocatedExpr {
                                    expr: self.subst(env, &p.expr, Some(role.name.as_str())),
                                    role,
                                    ..p.clone()
                                });
                            }
                        }
                    }
                }
                let parts = expanded;
                out.push(mk(ChorStmtKind::Yield { parts }));
            }
            ChorStmtKind::Error => out.push(s.clone()),
        }
    }

    /// The targets of a conditional expression with their roles as expanded: a member
    /// (`Ws[1]`, a round's `W`) is one role, a family in a group stands for its members, and a
    /// target held by a whole family (`let Ws.y = if …`, one value per member) is one target
    /// per member, in member order, as the branches' `Ws.e` yield one value per member.
    fn cond_targets(&mut self, c: &ChorDef, env: &Env, bind: &[Target]) -> Option<Vec<Target>> {
        let mut out = Vec::new();
        for t in bind {
            let mut t = t.clone();
            match &t.group {
                Some(g) => {
                    let g = expand_group_at(self, c, env, g);
                    t.role = g.roles.first()?.clone();
                    t.group = Some(g);
                }
                None => match self.role(c, env, &t.role)? {
                    Role::One(r, _) => t.role = r,
                    Role::All(_, ms) => {
                        for m in ms {
                            out.push(Target {
                                role: m,
                                ..t.clone()
                            });
                        }
                        continue;
                    }
                },
            }
            out.push(t);
        }
        Some(out)
    }

    /// A conditional's block: inside a round, the names it gives end with it.
    fn scoped_block(&mut self, c: &ChorDef, env: &mut Env, b: &ChorBlock) -> ChorBlock {
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
                        name: gather_part(&r.var.name, i),
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
                let mut receivers: Vec<Receiver> = Vec::new();
                // A member named twice among the receivers (`A.e -> X.a, Y.b;` in rounds `X`
                // and `Y` over one family, or `Ws.x, Ws[0].y`) receives once and binds every
                // name it was given: the later names are copies of the first, made after the
                // message. Only ends reached through a family are merged; a plain role listed
                // twice is left to the checks (E0204).
                let mut through_family: Vec<bool> = Vec::new();
                let mut copies: Vec<(Ident, Ident, Ident)> = Vec::new();
                let mut add = |role: Ident, var: Ident, fam: bool| {
                    let first = receivers
                        .iter()
                        .zip(&through_family)
                        .find(|(r, f)| fam && **f && r.role.name == role.name)
                        .map(|(r, _)| r.var.clone());
                    match first {
                        Some(first) if first.name == var.name => {}
                        Some(first) => copies.push((role, var, first)),
                        None => {
                            receivers.push(recv(role, &var));
                            through_family.push(fam);
                        }
                    }
                };
                for r in to {
                    match self.role(c, env, &r.role) {
                        Some(Role::One(role, fam)) => {
                            let var = bind_ident(env, &role.name, &r.var);
                            add(role, var, fam);
                        }
                        Some(Role::All(_, ms)) => {
                            for m in ms {
                                let var = bind_ident(env, &m.name, &r.var);
                                add(m, var, true);
                            }
                        }
                        None => return,
                    }
                }
                let copies: Vec<ChorStmt> = copies
                    .into_iter()
                    .map(|(role, var, first)| {
                        mk(ChorStmtKind::Let {
                            role,
                            pat: ident_pat(&var),
                            ty: None,
                            value: path_expr(&first),
                            group: None,
                        })
                    })
                    .collect();
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
                    out.extend(copies);
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
                out.extend(copies);
            }
        }
    }

    /// `P(…)(…);` or `let R.x = P(…)(…);`. A result bound at a whole family (`let Ws.y = …`,
    /// the callee declaring `-> T@Ws`) is one result per member: several results, bound by
    /// one target per member, as the callee's signature expands to one result per member.
    fn call(
        &mut self,
        c: &ChorDef,
        env: &mut Env,
        call: &ChorCall,
        bind: &Option<(Ident, Pattern, Option<Type>)>,
    ) -> Option<ChorStmtKind> {
        let call_src = call;
        let call = self.call_parts(c, env, call)?;
        if let Some((role, ..)) = bind {
            self.check_binding(c, env, call_src, &[(role, false)])?;
        }
        let Some((role, pat, ty)) = bind else {
            return Some(ChorStmtKind::Call { call, bind: None });
        };
        match self.role(c, env, role)? {
            Role::One(r, _) => {
                let mut pat = pat.clone();
                bind_pattern(env, &r.name, &mut pat);
                Some(ChorStmtKind::Call {
                    call,
                    bind: Some((r, pat, ty.clone())),
                })
            }
            Role::All(_, ms) => {
                let mut targets: Vec<Target> = ms
                    .into_iter()
                    .map(|m| {
                        let mut pat = pat.clone();
                        bind_pattern(env, &m.name, &mut pat);
                        Target {
                            role: m,
                            group: None,
                            pat,
                            ty: ty.clone(),
                        }
                    })
                    .collect();
                // A family of one: its one result is a plain result (see `expand_chor`).
                if targets.len() == 1 {
                    let t = targets.remove(0);
                    return Some(ChorStmtKind::Call {
                        call,
                        bind: Some((t.role, t.pat, t.ty)),
                    });
                }
                Some(ChorStmtKind::CallMany { call, targets })
            }
        }
    }

    /// Whether a call's results are bound where the callee declares them, in the terms of
    /// the source: a result held by a callee's family (`-> T@Ws`) is bound at a whole family
    /// of the caller, a result at one role at one role (or a group). The expanded program
    /// would report a mismatch in terms of members and result counts that depend on the
    /// sizes; this says it once, at every size.
    fn check_binding(
        &mut self,
        c: &ChorDef,
        env: &Env,
        call: &ChorCall,
        targets: &[(&Ident, bool)],
    ) -> Option<()> {
        // A choreography-typed parameter's results are checked against its type.
        if c.params.iter().any(|p| p.name.name == call.callee.name) {
            return Some(());
        }
        let Some((_, callee)) = self.originals.get(&call.callee.name) else {
            return Some(());
        };
        let mut results: Vec<(&Ident, bool, bool)> = Vec::new();
        if let Some((_, r)) = &callee.ret {
            results.push((r, callee.is_family(&r.name), false));
        }
        for r in &callee.results {
            results.push((
                &r.role,
                r.group.is_none() && callee.is_family(&r.role.name),
                r.group.is_some(),
            ));
        }
        if results.is_empty() {
            // The checks report a result bound from a call that returns nothing.
            return Some(());
        }
        if results.len() != targets.len() {
            // Counted as written: the expanded program counts one result per member.
            let n = results.len();
            self.diags.push(
                Diagnostic::error(
                    "E0704",
                    format!(
                        "`{}` returns {n} result{} but {} {} bound",
                        call.callee.name,
                        if n == 1 { "" } else { "s" },
                        targets.len(),
                        if targets.len() == 1 { "is" } else { "are" }
                    ),
                    call.span,
                    format!("expected {n} target{}", if n == 1 { "" } else { "s" }),
                )
                .with_label(callee.name.span, "declared here"),
            );
            return None;
        }
        let whole = |r: &Ident| {
            c.member_at(r.span).is_none()
                && !env.rounds.contains_key(&r.name)
                && env.fams.contains_key(&r.name)
        };
        for ((res, res_family, res_group), (target, target_group)) in results.iter().zip(targets) {
            if *res_group || *target_group {
                continue;
            }
            let target_family = whole(target);
            if *res_family && target_family {
                // The members that hold the results are those of the family passed for it.
                let passed = callee
                    .roles
                    .iter()
                    .position(|r| r.name == res.name)
                    .and_then(|k| call.roles.get(k));
                if let Some(p) = passed
                    && p.name != target.name
                {
                    self.diags.push(
                        Diagnostic::error(
                            "E0759",
                            format!(
                                "`{}` returns one value per member of `{}`, which is `{}` here, but it is bound at `{}`",
                                call.callee.name, res.name, p.name, target.name
                            ),
                            target.span,
                            "another family",
                        )
                        .with_label(p.span, format!("`{}` is passed for `{}`", p.name, res.name))
                        .with_help(format!("bind it at `{}`", p.name)),
                    );
                    return None;
                }
                continue;
            }
            if *res_family == target_family {
                continue;
            }
            let d = if *res_family {
                Diagnostic::error(
                    "E0759",
                    format!(
                        "`{}` returns one value per member of its family `{}`, bound here at one role `{}`",
                        call.callee.name, res.name, target.name
                    ),
                    target.span,
                    "one role",
                )
                .with_label(res.span, "a result held by a family")
                .with_help(format!(
                    "bind it at the family passed for `{}` (`let Ws.y = {}(…)(…);`), then gather it if one role needs every value",
                    res.name, call.callee.name
                ))
            } else {
                Diagnostic::error(
                    "E0759",
                    format!(
                        "`{}` returns one value at `{}`, bound here at the whole family `{}`",
                        call.callee.name, res.name, target.name
                    ),
                    target.span,
                    "a whole family",
                )
                .with_label(res.span, "a result held by one role")
                .with_help(format!(
                    "bind it at the role passed for `{}`, then send it to every member (`R.x -> {}.x;`)",
                    res.name, target.name
                ))
            };
            self.diags.push(d);
            return None;
        }
        Some(())
    }

    /// The instance of the choreography `name` passed for the choreography-typed `param`
    /// whose type's families have `sizes`: the choreography's families take the sizes of the
    /// type's families in the same role positions. `None` when the name is no choreography
    /// with families (a parameter passed on keeps its name).
    fn chor_argument(
        &mut self,
        c: &ChorDef,
        name: &str,
        param: &ChorParam,
        sizes: &[usize],
    ) -> Option<String> {
        if c.params.iter().any(|p| p.name.name == name) {
            return None;
        }
        let sig = param.chor.as_ref()?;
        let (source, def) = self.originals.get(name).cloned()?;
        if def.families.is_empty() {
            return None;
        }
        let arg_sizes: Vec<usize> = def
            .families
            .iter()
            .map(|f| {
                def.roles
                    .iter()
                    .position(|r| r.name == f.name)
                    .and_then(|k| sig.roles.get(k))
                    .and_then(|t| sig.families.iter().position(|tf| tf.name == t.name))
                    .and_then(|j| sizes.get(j).copied())
                    .unwrap_or(DEFAULT_SIZE)
            })
            .collect();
        Some(self.instance(name, source, arg_sizes))
    }

    /// The call with its roles and arguments expanded (a family passed for a family is its
    /// members; a family parameter's argument `Ws.e` one argument per member), and the
    /// callee's instance at the sizes passed.
    fn call_parts(&mut self, c: &ChorDef, env: &mut Env, call: &ChorCall) -> Option<ChorCall> {
        // A choreography-typed parameter (which shadows a choreography of its name) is
        // called by its type's signature, families included; a choreography by its own.
        let param_sig: Option<Arc<ChorDef>> = c
            .params
            .iter()
            .find(|p| p.name.name == call.callee.name)
            .and_then(|p| p.chor.as_ref())
            .map(|sig| Arc::new((**sig).clone()));
        let callee = match param_sig {
            Some(_) => None,
            None => self.originals.get(&call.callee.name).cloned(),
        };
        let callee_def: Option<Arc<ChorDef>> =
            param_sig.or_else(|| callee.as_ref().map(|(_, d)| Arc::clone(d)));
        let fams_of_callee: Vec<String> = callee_def
            .as_ref()
            .map(|d| d.families.iter().map(|f| f.name.clone()).collect())
            .unwrap_or_default();
        let callee_roles: Vec<Ident> = callee_def
            .as_ref()
            .map(|d| d.roles.clone())
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
        let params: Vec<ChorParam> = callee_def
            .as_ref()
            .map(|d| d.params.clone())
            .unwrap_or_default();
        let mut args = Vec::new();
        for (k, a) in call.args.iter().enumerate() {
            // A choreography passed as an argument names no role; one with families is the
            // instance at the sizes the parameter's type has in the callee's instance.
            if a.chor {
                let mut a = a.clone();
                if let (Some(def), Some(param)) = (&callee_def, params.get(k)) {
                    let mut at = Env::default();
                    for f in &fams_of_callee {
                        at.fams
                            .insert(f.clone(), passed.get(f).copied().unwrap_or(DEFAULT_SIZE));
                    }
                    let type_sizes = type_sizes(def, &at, param);
                    if let Some(name) = self.chor_argument(c, &a.role.name, param, &type_sizes) {
                        a.role.name = name.clone();
                        if let ExprKind::Path(p) = &mut a.expr.kind
                            && let Some(seg) = p.segments.last_mut()
                        {
                            seg.name = name;
                        }
                    }
                }
                args.push(a);
                continue;
            }
            // An agreed argument `(L, Ws[1]).k` or `(L, Ws).k`: its group with the members.
            if let Some(g) = &a.group {
                let g = expand_group_at(self, c, env, g);
                let Some(first) = g.roles.first().cloned() else {
                    continue;
                };
                args.push(LocatedExpr {
                    role: first,
                    expr: self.subst_group(env, &a.expr, &g),
                    chor: false,
                    group: Some(g),
                });
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
        Some(ChorCall {
            callee: callee_name,
            roles,
            args,
            span: call.span,
        })
    }

    /// The targets of `let (C.x, Ws.y, (L, Ws).z) = …;`: a family stands for one target per
    /// member (in member order, as the callee's results expand), a group for its members.
    fn targets(&mut self, c: &ChorDef, env: &mut Env, targets: &[Target]) -> Option<Vec<Target>> {
        let mut out = Vec::new();
        for t in targets {
            if let Some(g) = &t.group {
                let g = expand_group_at(self, c, env, g);
                let first = g.roles.first()?.clone();
                let mut pat = t.pat.clone();
                bind_pattern_group(env, &group_names(&g), &mut pat);
                out.push(Target {
                    role: first,
                    group: Some(g),
                    pat,
                    ty: t.ty.clone(),
                });
                continue;
            }
            let ms = match self.role(c, env, &t.role)? {
                Role::One(r, _) => vec![r],
                Role::All(_, ms) => ms,
            };
            for m in ms {
                let mut pat = t.pat.clone();
                bind_pattern(env, &m.name, &mut pat);
                out.push(Target {
                    role: m,
                    group: None,
                    pat,
                    ty: t.ty.clone(),
                });
            }
        }
        Some(out)
    }

    /// The parts of `return (C.t, Ws.e, (L, Ws).k);` (or `return Ws.e;`): a family stands for
    /// one part per member, each evaluated at its member.
    fn result_parts(
        &mut self,
        c: &ChorDef,
        env: &Env,
        parts: &[LocatedExpr],
    ) -> Option<Vec<LocatedExpr>> {
        let mut out = Vec::new();
        for p in parts {
            if let Some(g) = &p.group {
                let g = expand_group_at(self, c, env, g);
                let first = g.roles.first()?.clone();
                out.push(LocatedExpr {
                    role: first,
                    expr: self.subst_group(env, &p.expr, &g),
                    chor: false,
                    group: Some(g),
                });
                continue;
            }
            let ms = match self.role(c, env, &p.role)? {
                Role::One(r, _) => vec![r],
                Role::All(_, ms) => ms,
            };
            for m in ms {
                let expr = self.subst(env, &p.expr, Some(&m.name));
                out.push(LocatedExpr {
                    role: m,
                    expr,
                    chor: false,
                    group: None,
                });
            }
        }
        Some(out)
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
        // A variable renamed in this round (see `Env::bind`), unless the expression itself
        // binds the name.
        if let ExprKind::Path(p) = &mut e.kind
            && p.segments.len() == 1
        {
            let name = p.segments[0].name.clone();
            if self.shadow.contains(&name) {
                return;
            }
            if let Some(g) = self.group_read.clone() {
                // Every role of the group reads the variable: one binding, so one name.
                let names: Vec<&str> = g
                    .iter()
                    .map(|r| env.lookup(r, &name).map_or(name.as_str(), String::as_str))
                    .collect();
                match names.iter().position(|n| *n != names[0]) {
                    None => p.segments[0].name = names[0].to_owned(),
                    Some(k) => {
                        let text = format!("({})", g.join(", "));
                        self.diags.push(
                            Diagnostic::error(
                                "E0701",
                                format!(
                                    "`{name}` is not agreed by {text}: {}'s `{name}` and {}'s were bound by different statements",
                                    g[k], g[0]
                                ),
                                p.span,
                                format!("every role of {text} needs the same `{name}`"),
                            )
                            .with_help(format!(
                                "share it with the group first: send it with `{}.{name} -> {text}.{name};`",
                                g[0]
                            ))
                            .with_note(
                                "in a `for` round, a binding at a role outside the round's family ends with the round, one at the round's member outlives the loop",
                            ),
                        );
                        e.kind = ExprKind::Error;
                    }
                }
            } else if let Some(at) = at
                && let Some(renamed) = env.lookup(at, &name)
            {
                p.segments[0].name = renamed.clone();
            }
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
                for a in arms.iter_mut() {
                    let mark = self.shadow.len();
                    crate::agreed::pattern_names(&a.pat, &mut self.shadow);
                    self.subst_mut(env, &mut a.body, at);
                    self.shadow.truncate(mark);
                }
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
        let mark = self.shadow.len();
        for s in &mut b.stmts {
            match s {
                Stmt::Let { value, pat, .. } => {
                    self.subst_mut(env, value, at);
                    crate::agreed::pattern_names(pat, &mut self.shadow);
                }
                Stmt::Expr(x) => self.subst_mut(env, x, at),
                Stmt::Error(_) => {}
            }
        }
        if let Some(t) = &mut b.tail {
            self.subst_mut(env, t, at);
        }
        self.shadow.truncate(mark);
    }

    /// `e` computed by every role of the group `g` by itself (see [`Expander::subst`]).
    fn subst_group(&mut self, env: &Env, e: &Expr, g: &Group) -> Expr {
        let saved = self
            .group_read
            .replace(g.roles.iter().map(|r| r.name.clone()).collect());
        let e = self.subst(env, e, None);
        self.group_read = saved;
        e
    }
}

/// A signature (a choreography's, or a choreography type's) with its families replaced by
/// their members at the sizes of `env`: the roles, the parameters (a family parameter
/// `x: T@Ws` is one parameter per member; a choreography type with families expanded at
/// `chor_sizes` of it), the result and the several results.
#[allow(clippy::type_complexity)]
fn expand_signature(
    c: &ChorDef,
    env: &Env,
    chor_sizes: &dyn Fn(&ChorParam) -> Vec<usize>,
) -> (
    Vec<Ident>,
    Vec<ChorParam>,
    Option<(Type, Ident)>,
    Vec<ChorResult>,
) {
    let mut roles = Vec::new();
    for r in &c.roles {
        match env.fams.get(&r.name) {
            Some(n) => roles.extend(members(&r.name, *n, r.span)),
            None => roles.push(r.clone()),
        }
    }
    let mut params = Vec::new();
    for p in &c.params {
        // A choreography type with families: expanded like a signature, at the sizes of the
        // families passed for them (see `type_sizes`).
        if let Some(sig) = &p.chor
            && !sig.families.is_empty()
        {
            let mut inner = Env::default();
            for (f, n) in sig.families.iter().zip(chor_sizes(p)) {
                inner.fams.insert(f.name.clone(), n);
            }
            let (t_roles, t_params, t_ret, t_results) =
                expand_signature(sig, &inner, &|_| Vec::new());
            params.push(ChorParam {
                chor: Some(Box::new(ChorDef {
                    roles: t_roles,
                    params: t_params,
                    ret: t_ret,
                    results: t_results,
                    families: Vec::new(),
                    members: Vec::new(),
                    ..(**sig).clone()
                })),
                ..p.clone()
            });
            continue;
        }
        // An agreed parameter over a family (`k: Int@(L, Ws)`): the group with the members.
        if let Some(g) = &p.group {
            let g = expand_group(env, g);
            params.push(ChorParam {
                role: g.roles.first().cloned().unwrap_or_else(|| p.role.clone()),
                group: Some(g),
                ..p.clone()
            });
            continue;
        }
        match env.fams.get(&p.role.name) {
            Some(n) => params.extend(members(&p.role.name, *n, p.role.span).into_iter().map(
                |role| ChorParam {
                    name: p.name.clone(),
                    ty: p.ty.clone(),
                    role,
                    chor: None,
                    group: p.group.as_ref().map(|g| expand_group(env, g)),
                },
            )),
            None => params.push(p.clone()),
        }
    }
    // A result held by a family (`-> T@Ws`, or `Int@Ws` among several results) is one
    // result per member, in member order; a lone `-> T@Ws` at a family of one stays a
    // plain result (`return Ws.e;` and `let Ws.y = P(…)(…);` expand the same way).
    let mut ret = c.ret.clone();
    let mut results = Vec::new();
    if let Some((ty, r)) = &c.ret
        && let Some(&n) = env.fams.get(&r.name)
        && n != 1
    {
        ret = None;
        results.extend(
            members(&r.name, n, r.span)
                .into_iter()
                .map(|role| ChorResult {
                    ty: ty.clone(),
                    role,
                    group: None,
                }),
        );
    } else if let Some((ty, r)) = &c.ret
        && env.fams.contains_key(&r.name)
    {
        ret = Some((
            ty.clone(),
            Ident {
                name: member_name(&r.name, 0),
                span: r.span,
            },
        ));
    }
    for r in &c.results {
        match (&r.group, env.fams.get(&r.role.name)) {
            (None, Some(&n)) => results.extend(
                members(&r.role.name, n, r.role.span)
                    .into_iter()
                    .map(|role| ChorResult {
                        ty: r.ty.clone(),
                        role,
                        group: None,
                    }),
            ),
            _ => results.push(ChorResult {
                ty: r.ty.clone(),
                role: r.role.clone(),
                group: r.group.as_ref().map(|g| expand_group(env, g)),
            }),
        }
    }
    (roles, params, ret, results)
}

/// The sizes of the families of a choreography-typed parameter `p` of `c` (in the order of
/// its type's `families`): those of the families passed for them where the body first calls
/// `p`; for a parameter only passed on, the sizes of `c`'s families in the same positions
/// (the default size where there is none).
fn type_sizes(c: &ChorDef, env: &Env, p: &ChorParam) -> Vec<usize> {
    let Some(sig) = &p.chor else {
        return Vec::new();
    };
    let call = first_call(&c.body, &p.name.name);
    sig.families
        .iter()
        .map(|f| {
            let k = sig.roles.iter().position(|r| r.name == f.name);
            let passed = match call {
                Some(call) => k.and_then(|k| call.roles.get(k)),
                None => k.and_then(|k| c.roles.get(k)),
            };
            passed
                .and_then(|r| env.fams.get(&r.name))
                .copied()
                .unwrap_or(DEFAULT_SIZE)
        })
        .collect()
}

/// The first call of `callee` in a block (in the order of the source).
fn first_call<'b>(b: &'b ChorBlock, callee: &str) -> Option<&'b ChorCall> {
    b.stmts.iter().find_map(|s| match &s.kind {
        ChorStmtKind::Call { call, .. } | ChorStmtKind::CallMany { call, .. }
            if call.callee.name == callee =>
        {
            Some(call)
        }
        ChorStmtKind::If { then, els, .. } => {
            first_call(then, callee).or_else(|| els.as_ref().and_then(|e| first_call(e, callee)))
        }
        ChorStmtKind::Match { arms, .. } => arms.iter().find_map(|a| first_call(&a.body, callee)),
        ChorStmtKind::For { body, .. } => first_call(body, callee),
        _ => None,
    })
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
