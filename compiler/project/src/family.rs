//! One local program per class of alike members of a family, parameterised by the member
//! index `i` (the member's position in `main`'s family).
//!
//! Families are expanded before the checks (`chor_check::families`), so projection gives
//! every member a program of its own. Members usually run the same program but for where
//! they stand: member `i` names itself `Ws[i]`, its neighbour `Ws[(i + 1) % n]`, computes
//! `id_of(i)`. [`family_classes`] anti-unifies the members' programs: where they differ only
//! in
//! - role names that are a fixed offset from the member's own index (`Ws[i + d]`, or
//!   `Ws[(i + d) % n]` when the offset wraps for some member) — an absolute member (`Ws[0]`)
//!   is the same name at every member, so it stays as it is;
//! - `Int` literals that equal `i + d` at every member;
//! - the role positions of the procedures a member runs (`Count` at position `1 + i`),
//!
//! the members form one class, whose program has those places written as index forms.
//! Members whose programs do not fit (a ring's starter) form classes of their own.
//!
//! Sound by construction: a class keeps a member only if instantiating the class's program
//! at the member's index gives back exactly that member's projection (the same text, the
//! same statement spans, the same types of receives); a member that does not is moved to a
//! class of its own, so a back end that runs a class's program never runs a program that
//! differs from the member's projection.

use crate::local::*;
use chor_syntax::ast::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A role named relative to the member index `i`: `family[i + offset]`, or
/// `family[(i + offset) % n]` (the Euclidean remainder) when `wrap` is `Some(n)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleForm {
    pub family: String,
    pub offset: i64,
    pub wrap: Option<usize>,
}

impl RoleForm {
    /// The member this form names at member index `i` (`None`: outside `0..n`, which the
    /// construction never produces for a member of the class).
    pub fn index_at(&self, i: usize) -> Option<usize> {
        let k = i64::try_from(i).ok()?.checked_add(self.offset)?;
        let k = match self.wrap {
            Some(n) => k.rem_euclid(i64::try_from(n).ok()?.max(1)),
            None => k,
        };
        usize::try_from(k).ok()
    }

    /// The concrete role name at member index `i`.
    pub fn at(&self, i: usize) -> Option<String> {
        Some(format!("{}[{}]", self.family, self.index_at(i)?))
    }

    /// How the form is written in a generic program (and read back by [`RoleForm::parse`]).
    pub fn render(&self) -> String {
        let inner = match self.offset {
            0 => "i".to_owned(),
            d if d > 0 => format!("i + {d}"),
            d => format!("i - {}", d.unsigned_abs()),
        };
        match self.wrap {
            None => format!("{}[{inner}]", self.family),
            Some(n) => format!("{}[({inner}) % {n}]", self.family),
        }
    }

    /// The form a role name of a generic program writes, if it is one (`Ws[i + 1]`); a
    /// concrete name (`Leader`, `Ws[2]`) is not.
    pub fn parse(name: &str) -> Option<RoleForm> {
        let (family, rest) = name.split_once('[')?;
        let inner = rest.strip_suffix(']')?;
        let (inner, wrap) = match inner.strip_prefix('(') {
            Some(r) => {
                let (e, n) = r.split_once(") % ")?;
                (e, Some(n.parse().ok()?))
            }
            None => (inner, None),
        };
        let offset = if inner == "i" {
            0
        } else if let Some(d) = inner.strip_prefix("i + ") {
            d.parse().ok()?
        } else if let Some(d) = inner.strip_prefix("i - ") {
            -d.parse::<i64>().ok()?
        } else {
            return None;
        };
        Some(RoleForm {
            family: family.to_owned(),
            offset,
            wrap,
        })
    }
}

/// A class of alike members of one family and the one program they all run.
#[derive(Debug, Clone)]
pub struct FamilyClass {
    /// The family's name in `main`.
    pub family: String,
    /// The members' indices, ascending.
    pub members: Vec<usize>,
    /// The program, taken from the first member's projection with every place that depends
    /// on the member written as an index form: role names as [`RoleForm::render`] writes
    /// them (the program's own role is `Workers[i]`). A class of one member holds that
    /// member's projection unchanged.
    pub program: LocalProgram,
    /// `Int` literals that are `i + d`: by procedure (its key in `program`) and node id.
    pub lits: BTreeMap<(ProcKey, NodeId), i64>,
    /// Procedures whose role position is `i + d`, by their key in `program`.
    pub keys: BTreeMap<ProcKey, i64>,
    /// Set when the member was put in a class of its own because the class it was formed
    /// into did not give back its projection (the check of the module comment). The
    /// construction aims never to need it; tests assert that it does not.
    pub fallback: bool,
}

impl FamilyClass {
    /// The class of member `i` of `family` alone, running its own projection `lp`.
    pub fn alone(family: &str, i: usize, lp: &LocalProgram) -> FamilyClass {
        FamilyClass {
            family: family.to_owned(),
            members: vec![i],
            program: lp.clone(),
            lits: BTreeMap::new(),
            keys: BTreeMap::new(),
            fallback: false,
        }
    }

    /// Whether the class's program depends on the member index (a class of several members).
    pub fn is_generic(&self) -> bool {
        self.members.len() > 1
    }

    /// The value of an `Int` literal of procedure `key` at member `i`, if it is an index form.
    pub fn lit_at(&self, key: &ProcKey, id: NodeId, i: usize) -> Option<i64> {
        let d = self.lits.get(&(key.clone(), id))?;
        i64::try_from(i).ok()?.checked_add(*d)
    }

    /// The program member `i` runs: the class's program with `i` for the index.
    pub fn instantiate(&self, i: usize) -> LocalProgram {
        let mut lp = self.program.clone();
        if !self.is_generic() {
            return lp;
        }
        let keys = &self.keys;
        let at_key = |k: &ProcKey| match keys.get(k) {
            Some(d) => ProcKey {
                chor: k.chor.clone(),
                index: usize::try_from(i as i64 + d).unwrap_or(usize::MAX),
            },
            None => k.clone(),
        };
        struct Inst<'a, F: Fn(&ProcKey) -> ProcKey> {
            i: usize,
            class: &'a FamilyClass,
            at_key: F,
        }
        impl<F: Fn(&ProcKey) -> ProcKey> Sites for Inst<'_, F> {
            fn role(&mut self, name: &mut String, _scope: &[String]) {
                if let Some(f) = RoleForm::parse(name)
                    && let Some(n) = f.at(self.i)
                {
                    *name = n;
                }
            }
            fn int(&mut self, v: &mut i64, key: &ProcKey, id: NodeId) {
                if let Some(x) = self.class.lit_at(key, id, self.i) {
                    *v = x;
                }
            }
            fn key(&mut self, k: &mut ProcKey) {
                *k = (self.at_key)(k);
            }
        }
        walk(
            &mut lp,
            &mut Inst {
                i,
                class: self,
                at_key,
            },
        );
        lp
    }

    /// The class's program as `chor project` prints it: under a header naming the members,
    /// with `i` for the member index (a literal `i + d` where the members compute it).
    pub fn to_text(&self) -> String {
        if !self.is_generic() {
            return self.program.to_text();
        }
        let mut lp = self.program.clone();
        for (k, p) in lp.procs.iter_mut() {
            for s in p.body.iter_mut() {
                stmt_exprs(s, &mut |e| show_lits(e, k, &self.lits));
            }
        }
        let text = lp.to_text();
        let body = text.split_once('\n').map_or("", |(_, b)| b);
        format!(
            "// role {}, i in {}: one program, i is the member's index\n{body}",
            self.program.role,
            ranges(&self.members)
        )
    }
}

/// `0..=3, 5` for the members 0, 1, 2, 3, 5.
fn ranges(ms: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut k = 0;
    while k < ms.len() {
        let mut e = k;
        while e + 1 < ms.len() && ms[e + 1] == ms[e] + 1 {
            e += 1;
        }
        parts.push(if e > k {
            format!("{}..={}", ms[k], ms[e])
        } else {
            ms[k].to_string()
        });
        k = e + 1;
    }
    parts.join(", ")
}

/// Every index form among the literals of `e` written `i + d` (for printing only).
fn show_lits(e: &mut Expr, key: &ProcKey, lits: &BTreeMap<(ProcKey, NodeId), i64>) {
    if let ExprKind::Lit(Lit::Int(_)) = e.kind
        && let Some(d) = lits.get(&(key.clone(), e.id))
    {
        let i = Expr {
            kind: ExprKind::Path(Path {
                segments: vec![Ident {
                    name: "i".to_owned(),
                    span: e.span,
                }],
                span: e.span,
            }),
            span: e.span,
            id: e.id,
        };
        e.kind = match *d {
            0 => i.kind,
            d => {
                let (op, m) = if d > 0 {
                    (BinOp::Add, d)
                } else {
                    (BinOp::Sub, d.checked_neg().unwrap_or(i64::MAX))
                };
                let lit = Expr {
                    kind: ExprKind::Lit(Lit::Int(m)),
                    span: e.span,
                    id: e.id,
                };
                ExprKind::Binary(op, Box::new(i), Box::new(lit))
            }
        };
        return;
    }
    sub_exprs(e, &mut |x| show_lits(x, key, lits));
}

/// The name and index of a member role (`Ws[2]`).
fn split_member(role: &str) -> Option<(&str, usize)> {
    let (family, rest) = role.split_once('[')?;
    let index = rest.strip_suffix(']')?.parse().ok()?;
    Some((family, index))
}

/// The places of a local program that may depend on the member index.
trait Sites {
    /// A role name; `scope` holds the role names of the procedure it is written in.
    fn role(&mut self, name: &mut String, scope: &[String]);
    /// An `Int` literal of procedure `key`.
    fn int(&mut self, v: &mut i64, key: &ProcKey, id: NodeId);
    /// The key of a procedure (in the program's table, its own, a call's, the entry).
    fn key(&mut self, k: &mut ProcKey);
}

/// Visits every site of `lp` in a fixed order (the procedures in the table's order).
fn walk(lp: &mut LocalProgram, s: &mut dyn Sites) {
    let scopes: BTreeMap<ProcKey, Vec<String>> = lp
        .procs
        .iter()
        .map(|(k, p)| (k.clone(), p.roles.clone()))
        .collect();
    let entry_scope = scopes.get(&lp.entry).cloned().unwrap_or_default();
    s.role(&mut lp.role, &entry_scope);
    s.key(&mut lp.entry);
    let procs = std::mem::take(&mut lp.procs);
    for (mut k, mut p) in procs {
        let own = k.clone();
        s.key(&mut k);
        s.key(&mut p.key);
        s.role(&mut p.role, &p.roles);
        let roles = p.roles.clone();
        walk_stmts(&mut p.body, &own, &roles, &scopes, s);
        lp.procs.insert(k, p);
    }
}

fn walk_stmts(
    ss: &mut [LStmt],
    key: &ProcKey,
    scope: &[String],
    scopes: &BTreeMap<ProcKey, Vec<String>>,
    s: &mut dyn Sites,
) {
    for st in ss {
        let ints = |e: &mut Expr, s: &mut dyn Sites| expr_ints(e, key, s);
        match &mut st.kind {
            LKind::Let { value, .. } => ints(value, s),
            LKind::Effect(e) | LKind::Return(e) => ints(e, s),
            LKind::Send { to, expr } => {
                ints(expr, s);
                for r in to {
                    s.role(r, scope);
                }
            }
            LKind::Recv { from, .. } => s.role(from, scope),
            LKind::Select { to, .. } => {
                for r in to {
                    s.role(r, scope);
                }
            }
            LKind::Branch { from, arms } => {
                s.role(from, scope);
                for (_, b) in arms {
                    walk_stmts(b, key, scope, scopes, s);
                }
            }
            LKind::If {
                cond,
                then,
                els,
                group,
            } => {
                ints(cond, s);
                for r in group.iter_mut() {
                    s.role(r, scope);
                }
                walk_stmts(then, key, scope, scopes, s);
                walk_stmts(els, key, scope, scopes, s);
            }
            LKind::Match {
                scrutinee,
                arms,
                group,
            } => {
                ints(scrutinee, s);
                for r in group.iter_mut() {
                    s.role(r, scope);
                }
                for (_, b) in arms {
                    walk_stmts(b, key, scope, scopes, s);
                }
            }
            LKind::Block(b) | LKind::Bind { body: b, .. } => walk_stmts(b, key, scope, scopes, s),
            LKind::Call {
                key: callee,
                callee_role,
                roles,
                args,
                ..
            } => {
                let inner = scopes.get(callee).map_or(scope, |v| v.as_slice());
                s.role(callee_role, inner);
                s.key(callee);
                for r in roles {
                    s.role(r, scope);
                }
                for a in args {
                    ints(a, s);
                }
            }
            LKind::Yield(es) => {
                for e in es {
                    ints(e, s);
                }
            }
        }
    }
}

/// The expressions directly inside a statement (not inside nested statements).
fn stmt_exprs(st: &mut LStmt, f: &mut dyn FnMut(&mut Expr)) {
    match &mut st.kind {
        LKind::Let { value: e, .. } | LKind::Effect(e) | LKind::Return(e) => f(e),
        LKind::Send { expr, .. } => f(expr),
        LKind::Recv { .. } | LKind::Select { .. } => {}
        LKind::Branch { arms, .. } => {
            for (_, b) in arms {
                for x in b {
                    stmt_exprs(x, f);
                }
            }
        }
        LKind::If {
            cond, then, els, ..
        } => {
            f(cond);
            for x in then.iter_mut().chain(els.iter_mut()) {
                stmt_exprs(x, f);
            }
        }
        LKind::Match {
            scrutinee, arms, ..
        } => {
            f(scrutinee);
            for (_, b) in arms {
                for x in b {
                    stmt_exprs(x, f);
                }
            }
        }
        LKind::Block(b) | LKind::Bind { body: b, .. } => {
            for x in b {
                stmt_exprs(x, f);
            }
        }
        LKind::Call { args, .. } => {
            for a in args {
                f(a);
            }
        }
        LKind::Yield(es) => {
            for e in es {
                f(e);
            }
        }
    }
}

/// Every `Int` literal of `e`, in pre-order.
fn expr_ints(e: &mut Expr, key: &ProcKey, s: &mut dyn Sites) {
    if let ExprKind::Lit(Lit::Int(v)) = &mut e.kind {
        s.int(v, key, e.id);
        return;
    }
    sub_exprs(e, &mut |x| expr_ints(x, key, s));
}

/// The direct subexpressions of `e` (also those in a block's statements), in order.
fn sub_exprs(e: &mut Expr, f: &mut dyn FnMut(&mut Expr)) {
    fn block(b: &mut Block, f: &mut dyn FnMut(&mut Expr)) {
        for st in &mut b.stmts {
            match st {
                Stmt::Let { value, .. } => f(value),
                Stmt::Expr(x) => f(x),
                Stmt::Error(_) => {}
            }
        }
        if let Some(t) = &mut b.tail {
            f(t);
        }
    }
    match &mut e.kind {
        ExprKind::Lit(_) | ExprKind::Path(_) | ExprKind::Error => {}
        ExprKind::Unary(_, x) | ExprKind::Field(x, _) | ExprKind::TupleIndex(x, _, _) => f(x),
        ExprKind::Binary(_, a, b) | ExprKind::Located(a, b) => {
            f(a);
            f(b);
        }
        ExprKind::Call(g, args) => {
            f(g);
            for a in args {
                f(a);
            }
        }
        ExprKind::Tuple(xs) | ExprKind::List(xs) => {
            for x in xs {
                f(x);
            }
        }
        ExprKind::StructLit { fields, .. } => {
            for fi in fields {
                f(&mut fi.value);
            }
        }
        ExprKind::If { cond, then, els } => {
            f(cond);
            block(then, f);
            if let Some(x) = els {
                f(x);
            }
        }
        ExprKind::Match { scrutinee, arms } => {
            f(scrutinee);
            for a in arms {
                f(&mut a.body);
            }
        }
        ExprKind::Block(b) => block(b, f),
        ExprKind::Return(x) => {
            if let Some(x) = x {
                f(x);
            }
        }
    }
}

/// The value at one site of a member's program.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    /// A role name and, for a member, the size of its family in the procedure.
    Role(String, usize),
    Int(i64),
    Key(usize),
}

/// Collects the values of every site, in [`walk`]'s order.
struct Collect(Vec<Val>);

impl Sites for Collect {
    fn role(&mut self, name: &mut String, scope: &[String]) {
        let n = match split_member(name) {
            Some((f, _)) => scope
                .iter()
                .filter(|r| split_member(r).is_some_and(|(g, _)| g == f))
                .count(),
            None => 0,
        };
        self.0.push(Val::Role(name.clone(), n));
    }
    fn int(&mut self, v: &mut i64, _: &ProcKey, _: NodeId) {
        self.0.push(Val::Int(*v));
    }
    fn key(&mut self, k: &mut ProcKey) {
        self.0.push(Val::Key(k.index));
    }
}

/// The program with every site blanked, and the spans of its statements and the types of
/// its receives (which the text does not show): two members with the same skeleton differ
/// at most in their sites, site by site in the same order. (Two members may run the same
/// text from different source lines, `Ws[0].print(v); Ws[1].print(v);`: they are not
/// alike, since a fault names the line.)
fn skeleton(lp: &LocalProgram) -> String {
    fn spans(ss: &[LStmt], out: &mut String) {
        for s in ss {
            let _ = write!(out, "{}:{}:{};", s.span.file.0, s.span.start, s.span.end);
            match &s.kind {
                LKind::Recv { ty, .. } => out.push_str(&ty.show()),
                LKind::Branch { arms, .. } => arms.iter().for_each(|(_, b)| spans(b, out)),
                LKind::Match { arms, .. } => arms.iter().for_each(|(_, b)| spans(b, out)),
                LKind::If { then, els, .. } => {
                    spans(then, out);
                    spans(els, out);
                }
                LKind::Block(b) | LKind::Bind { body: b, .. } => spans(b, out),
                _ => {}
            }
        }
    }
    struct Blank;
    impl Sites for Blank {
        fn role(&mut self, name: &mut String, _: &[String]) {
            if split_member(name).is_some() {
                "?".clone_into(name);
            }
        }
        fn int(&mut self, v: &mut i64, _: &ProcKey, _: NodeId) {
            *v = 0;
        }
        fn key(&mut self, _: &mut ProcKey) {}
    }
    let mut lp = lp.clone();
    walk(&mut lp, &mut Blank);
    let mut text = lp.to_text();
    for p in lp.procs.values() {
        text.push_str(&p.header());
        spans(&p.body, &mut text);
    }
    text
}

/// How a site depends on the member index.
#[derive(Debug, Clone, PartialEq)]
enum Form {
    /// The same at every member of the class.
    Same,
    /// A member `family[(i + d) mod n]`.
    Role { family: String, d: i64, n: usize },
    /// A number `i + d` (a literal or a procedure's role position).
    Off(i64),
}

/// A class being formed: its members, the first member's site values, and the forms.
struct Forming {
    members: Vec<usize>,
    skeleton: String,
    vals: Vec<Val>,
    forms: Vec<Form>,
}

impl Forming {
    /// The forms with member `j` (whose site values are `vals`) in the class, if it fits.
    fn with(&self, j: usize, vals: &[Val]) -> Option<Vec<Form>> {
        if vals.len() != self.vals.len() {
            return None;
        }
        let r = self.members[0] as i64;
        let j = j as i64;
        let alone = self.members.len() == 1;
        let mut forms = Vec::with_capacity(self.forms.len());
        for ((form, mine), theirs) in self.forms.iter().zip(&self.vals).zip(vals) {
            let form = match form {
                Form::Same if mine == theirs => Form::Same,
                Form::Same if alone => match (mine, theirs) {
                    (Val::Int(a), Val::Int(b)) if b.checked_sub(*a)? == j - r => {
                        Form::Off(a.checked_sub(r)?)
                    }
                    (Val::Key(a), Val::Key(b)) if *b as i64 - *a as i64 == j - r => {
                        Form::Off(*a as i64 - r)
                    }
                    (Val::Role(a, n), Val::Role(b, m)) if n == m && *n > 0 => {
                        let (fa, ka) = split_member(a)?;
                        let (fb, kb) = split_member(b)?;
                        let n = *n as i64;
                        let d = (ka as i64 - r).rem_euclid(n);
                        if fa != fb || (j + d).rem_euclid(n) != kb as i64 {
                            return None;
                        }
                        Form::Role {
                            family: fa.to_owned(),
                            d,
                            n: n as usize,
                        }
                    }
                    _ => return None,
                },
                Form::Same => return None,
                Form::Off(d) => match theirs {
                    Val::Int(b) if j.checked_add(*d)? == *b => form.clone(),
                    Val::Key(b) if j.checked_add(*d)? == *b as i64 => form.clone(),
                    _ => return None,
                },
                Form::Role { family, d, n } => match theirs {
                    Val::Role(b, m) if m == n => {
                        let (fb, kb) = split_member(b)?;
                        if fb != family || (j + d).rem_euclid(*n as i64) != kb as i64 {
                            return None;
                        }
                        form.clone()
                    }
                    _ => return None,
                },
            };
            forms.push(form);
        }
        Some(forms)
    }

    /// The class's program: `first` (the first member's projection) with the forms written in.
    fn finish(self, family: &str, first: &LocalProgram) -> FamilyClass {
        if let [i] = self.members[..] {
            return FamilyClass::alone(family, i, first);
        }
        struct Write<'a> {
            forms: std::slice::Iter<'a, Form>,
            members: &'a [usize],
            lits: BTreeMap<(ProcKey, NodeId), i64>,
            keys: BTreeMap<ProcKey, i64>,
        }
        impl Sites for Write<'_> {
            fn role(&mut self, name: &mut String, _: &[String]) {
                if let Some(Form::Role { family, d, n }) = self.forms.next() {
                    *name = role_form(family, *d, *n, self.members).render();
                }
            }
            fn int(&mut self, _: &mut i64, key: &ProcKey, id: NodeId) {
                if let Some(Form::Off(d)) = self.forms.next() {
                    self.lits.insert((key.clone(), id), *d);
                }
            }
            fn key(&mut self, k: &mut ProcKey) {
                if let Some(Form::Off(d)) = self.forms.next() {
                    self.keys.entry(k.clone()).or_insert(*d);
                }
            }
        }
        let mut program = first.clone();
        let mut w = Write {
            forms: self.forms.iter(),
            members: &self.members,
            lits: BTreeMap::new(),
            keys: BTreeMap::new(),
        };
        walk(&mut program, &mut w);
        let (lits, keys) = (w.lits, w.keys);
        FamilyClass {
            family: family.to_owned(),
            members: self.members,
            program,
            lits,
            keys,
            fallback: false,
        }
    }
}

/// The form of `family[(i + d) mod n]` for `members`: without the remainder when no member
/// needs it (`Ws[i + 1]`), else with the offset of least magnitude (`Ws[(i - 1) % 3]`).
fn role_form(family: &str, d: i64, n: usize, members: &[usize]) -> RoleForm {
    let n_i = n as i64;
    // The offset that names the same member without wrapping, if there is one for all.
    if let Some(&m) = members.first() {
        let k = (m as i64 + d).rem_euclid(n_i);
        let plain = k - m as i64;
        if members
            .iter()
            .all(|&i| (0..n_i).contains(&(i as i64 + plain)))
        {
            return RoleForm {
                family: family.to_owned(),
                offset: plain,
                wrap: None,
            };
        }
    }
    let offset = if d > n_i / 2 { d - n_i } else { d };
    RoleForm {
        family: family.to_owned(),
        offset,
        wrap: Some(n),
    }
}

/// Whether two local programs do the same: the same text, entry and procedures, the same
/// statement spans and receive types.
pub fn same_program(a: &LocalProgram, b: &LocalProgram) -> bool {
    fn stmts(a: &[LStmt], b: &[LStmt]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| stmt(x, y))
    }
    fn stmt(x: &LStmt, y: &LStmt) -> bool {
        if x.span != y.span {
            return false;
        }
        match (&x.kind, &y.kind) {
            (LKind::Recv { ty: t, .. }, LKind::Recv { ty: u, .. }) => t.same(u),
            (LKind::Branch { arms: a, .. }, LKind::Branch { arms: b, .. }) => {
                a.len() == b.len() && a.iter().zip(b).all(|((_, p), (_, q))| stmts(p, q))
            }
            (
                LKind::If {
                    then: t1, els: e1, ..
                },
                LKind::If {
                    then: t2, els: e2, ..
                },
            ) => stmts(t1, t2) && stmts(e1, e2),
            (LKind::Match { arms: a, .. }, LKind::Match { arms: b, .. }) => {
                a.len() == b.len() && a.iter().zip(b).all(|((_, p), (_, q))| stmts(p, q))
            }
            (LKind::Block(p), LKind::Block(q))
            | (LKind::Bind { body: p, .. }, LKind::Bind { body: q, .. }) => stmts(p, q),
            (p, q) => std::mem::discriminant(p) == std::mem::discriminant(q),
        }
    }
    a.role == b.role
        && a.entry == b.entry
        && a.procs.len() == b.procs.len()
        && a.to_text() == b.to_text()
        && a.procs.iter().zip(&b.procs).all(|((k1, p), (k2, q))| {
            k1 == k2
                && p.key == q.key
                && p.header() == q.header()
                && p.roles == q.roles
                && stmts(&p.body, &q.body)
        })
}

/// The classes of alike members of every family among `locals` (the projections of
/// `main`, one per role), family by family in the order of `locals`, each family's classes
/// by their first member. See the module comment.
pub fn family_classes<'a>(locals: impl IntoIterator<Item = &'a LocalProgram>) -> Vec<FamilyClass> {
    let mut by_family: Vec<(String, Vec<(usize, &LocalProgram)>)> = Vec::new();
    for lp in locals {
        let Some((f, i)) = split_member(&lp.role) else {
            continue;
        };
        match by_family.iter_mut().find(|(g, _)| g == f) {
            Some((_, ms)) => ms.push((i, lp)),
            None => by_family.push((f.to_owned(), vec![(i, lp)])),
        }
    }
    let mut out = Vec::new();
    for (family, mut members) in by_family {
        members.sort_by_key(|(i, _)| *i);
        let mut forming: Vec<(Forming, &LocalProgram)> = Vec::new();
        for &(i, lp) in &members {
            let sk = skeleton(lp);
            let mut c = Collect(Vec::new());
            let mut copy = lp.clone();
            walk(&mut copy, &mut c);
            let vals = c.0;
            let fit = forming
                .iter_mut()
                .filter(|(f, _)| f.skeleton == sk)
                .find_map(|(f, _)| f.with(i, &vals).map(|forms| (f, forms)));
            match fit {
                Some((f, forms)) => {
                    f.forms = forms;
                    f.members.push(i);
                }
                None => {
                    let forms = vec![Form::Same; vals.len()];
                    forming.push((
                        Forming {
                            members: vec![i],
                            skeleton: sk,
                            vals,
                            forms,
                        },
                        lp,
                    ));
                }
            }
        }
        let mut classes: Vec<FamilyClass> = Vec::new();
        for (f, first) in forming {
            let class = f.finish(&family, first);
            // The check that makes the classes sound: every member gets back its own
            // projection; one that does not runs its own program.
            let (kept, lost): (Vec<usize>, Vec<usize>) = class.members.iter().partition(|&&i| {
                members
                    .iter()
                    .find(|(m, _)| *m == i)
                    .is_some_and(|(_, lp)| same_program(&class.instantiate(i), lp))
            });
            if lost.is_empty() {
                classes.push(class);
                continue;
            }
            for i in kept.into_iter().chain(lost) {
                if let Some((_, lp)) = members.iter().find(|(m, _)| *m == i) {
                    classes.push(FamilyClass {
                        fallback: true,
                        ..FamilyClass::alone(&family, i, lp)
                    });
                }
            }
        }
        classes.sort_by_key(|c| c.members.first().copied());
        out.extend(classes);
    }
    out
}

/// The index forms among the role names of `body` (see [`RoleForm::parse`]), each once, as
/// written and parsed.
pub fn role_forms(body: &[LStmt]) -> Vec<(String, RoleForm)> {
    struct Forms(Vec<(String, RoleForm)>);
    impl Sites for Forms {
        fn role(&mut self, name: &mut String, _: &[String]) {
            if !self.0.iter().any(|(n, _)| n == name)
                && let Some(f) = RoleForm::parse(name)
            {
                self.0.push((name.clone(), f));
            }
        }
        fn int(&mut self, _: &mut i64, _: &ProcKey, _: NodeId) {}
        fn key(&mut self, _: &mut ProcKey) {}
    }
    let mut body = body.to_vec();
    let mut forms = Forms(Vec::new());
    let key = ProcKey {
        chor: String::new(),
        index: 0,
    };
    walk_stmts(&mut body, &key, &[], &BTreeMap::new(), &mut forms);
    forms.0
}

/// The class among `classes` that runs `role` (a member's name, `Workers[2]`), and the
/// member's index.
pub fn class_of<'a>(classes: &'a [FamilyClass], role: &str) -> Option<(&'a FamilyClass, usize)> {
    let (family, i) = split_member(role)?;
    let c = classes
        .iter()
        .find(|c| c.family == family && c.members.contains(&i))?;
    Some((c, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_forms_read_back_what_they_write_and_name_the_right_member() {
        for (offset, wrap) in [
            (0, None),
            (2, None),
            (-1, None),
            (1, Some(4)),
            (-3, Some(5)),
        ] {
            let f = RoleForm {
                family: "Ws".into(),
                offset,
                wrap,
            };
            assert_eq!(
                RoleForm::parse(&f.render()),
                Some(f.clone()),
                "{}",
                f.render()
            );
        }
        let next = RoleForm::parse("Ws[(i + 1) % 4]").expect("a form");
        assert_eq!(next.at(3).as_deref(), Some("Ws[0]"));
        let prev = RoleForm::parse("Ws[(i - 1) % 4]").expect("a form");
        assert_eq!(prev.at(0).as_deref(), Some("Ws[3]"));
        assert_eq!(
            RoleForm::parse("Ws[i - 1]")
                .and_then(|f| f.at(2))
                .as_deref(),
            Some("Ws[1]")
        );
        for concrete in ["Leader", "Ws[2]", "Ws[j]", "Ws[i + x]", "Ws[(i + 1)]"] {
            assert_eq!(RoleForm::parse(concrete), None, "{concrete}");
        }
    }

    #[test]
    fn member_lists_print_as_ranges() {
        assert_eq!(ranges(&[0, 1, 2, 3, 5, 7, 8]), "0..=3, 5, 7..=8");
        assert_eq!(ranges(&[4]), "4");
    }
}
