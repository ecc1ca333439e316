//! Local programs: what one role does, as projected from a choreography, and their printer.

use chor_check::msg_types::{TyId, TyNode, TypeTable};
use chor_diagnostics::Span;
use chor_syntax::ast::{Expr, Pattern};
use chor_syntax::pretty;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

/// A choreography projected at one of its role positions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProcKey {
    pub chor: String,
    pub index: usize,
}

/// One role's program: its entry (`main` at the role's position) and the procedures it calls.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalProgram {
    pub role: String,
    pub entry: ProcKey,
    pub procs: BTreeMap<ProcKey, LocalProc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LocalProc {
    pub key: ProcKey,
    /// The name of this role inside the choreography.
    pub role: String,
    /// All role parameters of the choreography, in order.
    pub roles: Vec<String>,
    /// Value parameters located at this role, in order.
    pub params: Vec<String>,
    /// Whether this role returns the choreography's result.
    pub returns: bool,
    pub body: Vec<LStmt>,
}

/// The static type of a received value: an entry of the program's table of message types
/// (see `chor_runtime::types`), shared by every receive of the program.
#[derive(Debug, Clone, PartialEq)]
pub struct MsgType {
    pub table: Arc<TypeTable>,
    pub id: TyId,
}

impl MsgType {
    /// A type that accepts any well-formed value (projections made only to check knowledge
    /// of choice carry no types).
    pub fn any() -> MsgType {
        MsgType {
            table: Arc::new(TypeTable {
                nodes: vec![TyNode::Any],
            }),
            id: 0,
        }
    }

    /// How the type is written (`List<Int>`).
    pub fn show(&self) -> String {
        self.table.show(self.id)
    }

    /// Whether two receives expect the same type.
    pub fn same(&self, other: &MsgType) -> bool {
        if Arc::ptr_eq(&self.table, &other.table) {
            // The table interns its entries, so equal types have one index.
            self.id == other.id
        } else {
            self.show() == other.show()
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LStmt {
    pub kind: LKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LKind {
    Let {
        pat: Pattern,
        value: Expr,
    },
    Effect(Expr),
    /// Evaluate once, send to each role in order.
    Send {
        to: Vec<String>,
        expr: Expr,
    },
    Recv {
        from: String,
        var: String,
        /// The type the received value must have (checked by the runtime on arrival).
        ty: MsgType,
    },
    Select {
        to: Vec<String>,
        label: String,
    },
    /// Wait for a label from `from` and continue with the matching arm.
    Branch {
        from: String,
        arms: Vec<(String, Vec<LStmt>)>,
    },
    /// A decision of this role, or (when `group` is set) this role's side of a decision that
    /// every member of `group` takes by itself on an agreed value (no message): the names of
    /// the group's members in this procedure, its first member first. `chor verify` reads
    /// the group to make the members take the same branch.
    If {
        cond: Expr,
        then: Vec<LStmt>,
        els: Vec<LStmt>,
        group: Vec<String>,
    },
    Match {
        scrutinee: Expr,
        arms: Vec<(Pattern, Vec<LStmt>)>,
        group: Vec<String>,
    },
    /// A scope: the bindings inside end with it.
    Block(Vec<LStmt>),
    /// `roles[j]` is the caller's role passed for the callee's j-th role.
    /// `callee_role` is the name this role has inside the callee.
    Call {
        key: ProcKey,
        callee_role: String,
        roles: Vec<String>,
        args: Vec<Expr>,
        bind: Option<Pattern>,
    },
    Return(Expr),
    /// The local side of a conditional expression (`let B.y = if A.ok { … } else { … };`)
    /// at a role that holds some of its targets: runs `body` (this role's side of the
    /// conditional, a scope), whose run ends with a [`LKind::Yield`] of one value per pattern,
    /// and binds the patterns, in order, in the enclosing scope.
    Bind {
        pats: Vec<Pattern>,
        body: Vec<LStmt>,
    },
    /// The values a branch of a conditional expression yields at this role (the last
    /// statement of the branch): they go to the innermost [`LKind::Bind`] running.
    Yield(Vec<Expr>),
}

impl LocalProc {
    /// The header line, e.g. `proc Sort@A(A, B, C)(xs) -> value`.
    pub fn header(&self) -> String {
        let mut s = format!(
            "proc {}@{}({})",
            self.key.chor,
            self.role,
            self.roles.join(", ")
        );
        let _ = write!(s, "({})", self.params.join(", "));
        if self.returns {
            s.push_str(" -> value");
        }
        s
    }
}

/// Indentation stops growing past this depth: a program nested thousands of levels deep
/// (an adversarial or generated one) would otherwise print text quadratic in its depth.
const MAX_INDENT: usize = 64;

fn indent(n: usize, out: &mut String) {
    for _ in 0..n.min(MAX_INDENT) {
        out.push_str("    ");
    }
}

/// Print a statement list at the given indentation.
pub fn print_stmts(stmts: &[LStmt], depth: usize, out: &mut String) {
    for s in stmts {
        print_stmt(s, depth, out);
    }
}

fn print_block(stmts: &[LStmt], depth: usize, out: &mut String) {
    out.push_str("{\n");
    print_stmts(stmts, depth + 1, out);
    indent(depth, out);
    out.push('}');
}

/// `(A, B).` before the condition of a group decision: every member decides by itself.
fn agreed_by(group: &[String], out: &mut String) {
    if !group.is_empty() {
        let _ = write!(out, "({}).", group.join(", "));
    }
}

pub fn print_stmt(s: &LStmt, depth: usize, out: &mut String) {
    indent(depth, out);
    match &s.kind {
        LKind::Let { pat, value } => {
            out.push_str("let ");
            pretty::pattern(pat, out);
            out.push_str(" = ");
            pretty::expr(value, out);
            out.push_str(";\n");
        }
        LKind::Effect(e) => {
            pretty::expr(e, out);
            out.push_str(";\n");
        }
        LKind::Send { to, expr } => {
            out.push_str("send ");
            pretty::expr(expr, out);
            out.push_str(" -> ");
            out.push_str(&to.join(", "));
            out.push_str(";\n");
        }
        LKind::Recv { from, var, .. } => {
            let _ = writeln!(out, "recv {var} <- {from};");
        }
        LKind::Select { to, label } => {
            let _ = writeln!(out, "select {label} -> {};", to.join(", "));
        }
        LKind::Branch { from, arms } => {
            let _ = writeln!(out, "branch {from} {{");
            for (label, body) in arms {
                indent(depth + 1, out);
                let _ = write!(out, "{label} => ");
                print_block(body, depth + 1, out);
                out.push('\n');
            }
            indent(depth, out);
            out.push_str("}\n");
        }
        LKind::If {
            cond,
            then,
            els,
            group,
        } => {
            out.push_str("if ");
            agreed_by(group, out);
            pretty::expr(cond, out);
            out.push(' ');
            print_block(then, depth, out);
            if !els.is_empty() {
                out.push_str(" else ");
                print_block(els, depth, out);
            }
            out.push('\n');
        }
        LKind::Match {
            scrutinee,
            arms,
            group,
        } => {
            out.push_str("match ");
            agreed_by(group, out);
            pretty::expr(scrutinee, out);
            out.push_str(" {\n");
            for (pat, body) in arms {
                indent(depth + 1, out);
                pretty::pattern(pat, out);
                out.push_str(" => ");
                print_block(body, depth + 1, out);
                out.push('\n');
            }
            indent(depth, out);
            out.push_str("}\n");
        }
        LKind::Block(body) => {
            print_block(body, depth, out);
            out.push('\n');
        }
        LKind::Call {
            key,
            callee_role,
            roles,
            args,
            bind,
        } => {
            if let Some(p) = bind {
                out.push_str("let ");
                pretty::pattern(p, out);
                out.push_str(" = ");
            }
            let _ = write!(
                out,
                "call {}@{}({})(",
                key.chor,
                callee_role,
                roles.join(", ")
            );
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                pretty::expr(a, out);
            }
            out.push_str(");\n");
        }
        LKind::Return(e) => {
            out.push_str("return ");
            pretty::expr(e, out);
            out.push_str(";\n");
        }
        LKind::Bind { pats, body } => {
            out.push_str("let ");
            for (i, p) in pats.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                pretty::pattern(p, out);
            }
            out.push_str(" = ");
            print_block(body, depth, out);
            out.push_str(";\n");
        }
        LKind::Yield(es) => {
            out.push_str("yield ");
            for (i, e) in es.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                pretty::expr(e, out);
            }
            out.push_str(";\n");
        }
    }
}

/// One statement as text, for comparing behaviour while merging.
pub fn stmt_text(s: &LStmt) -> String {
    let mut out = String::new();
    print_stmt(s, 0, &mut out);
    out
}

impl LocalProgram {
    /// The readable endpoint program, as `chor project` prints it.
    pub fn to_text(&self) -> String {
        let mut out = format!("// role {}\n", self.role);
        let mut keys: Vec<&ProcKey> = self.procs.keys().collect();
        keys.sort_by_key(|k| (k != &&self.entry, (*k).clone()));
        for k in keys {
            let p = &self.procs[k];
            out.push_str(&p.header());
            out.push(' ');
            print_block(&p.body, 0, &mut out);
            out.push_str("\n\n");
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
        out
    }
}

impl LocalProgram {
    /// For each peer, the first communication with it in the role's program (a send, receive,
    /// selection or branch, in source order, looking into called procedures): the action a
    /// role was about to do when it could not connect to that peer.
    pub fn first_actions(&self) -> BTreeMap<String, Span> {
        let mut found = BTreeMap::new();
        let mut seen = std::collections::BTreeSet::new();
        if let Some(entry) = self.procs.get(&self.entry) {
            let names: BTreeMap<&str, &str> = entry
                .roles
                .iter()
                .map(|r| (r.as_str(), r.as_str()))
                .collect();
            self.first_in(&entry.body, &names, &mut found, &mut seen);
        }
        found
    }

    fn first_in(
        &self,
        stmts: &[LStmt],
        names: &BTreeMap<&str, &str>,
        found: &mut BTreeMap<String, Span>,
        seen: &mut std::collections::BTreeSet<(ProcKey, Vec<String>)>,
    ) {
        fn note(
            found: &mut BTreeMap<String, Span>,
            names: &BTreeMap<&str, &str>,
            role: &str,
            span: Span,
        ) {
            if let Some(peer) = names.get(role) {
                found.entry((*peer).to_owned()).or_insert(span);
            }
        }
        for s in stmts {
            match &s.kind {
                LKind::Send { to, .. } | LKind::Select { to, .. } => {
                    for r in to {
                        note(found, names, r, s.span);
                    }
                }
                LKind::Recv { from, .. } => note(found, names, from, s.span),
                LKind::Branch { from, arms } => {
                    note(found, names, from, s.span);
                    for (_, body) in arms {
                        self.first_in(body, names, found, seen);
                    }
                }
                LKind::If { then, els, .. } => {
                    self.first_in(then, names, found, seen);
                    self.first_in(els, names, found, seen);
                }
                LKind::Match { arms, .. } => {
                    for (_, body) in arms {
                        self.first_in(body, names, found, seen);
                    }
                }
                LKind::Block(body) | LKind::Bind { body, .. } => {
                    self.first_in(body, names, found, seen)
                }
                LKind::Call { key, roles, .. } => {
                    let Some(callee) = self.procs.get(key) else {
                        continue;
                    };
                    // The callee's j-th role is the caller's `roles[j]`, i.e. a peer of main.
                    let outer: Vec<String> = roles
                        .iter()
                        .map(|r| names.get(r.as_str()).copied().unwrap_or("").to_owned())
                        .collect();
                    if !seen.insert((key.clone(), outer.clone())) {
                        continue;
                    }
                    let inner: BTreeMap<&str, &str> = callee
                        .roles
                        .iter()
                        .zip(&outer)
                        .filter(|(_, o)| !o.is_empty())
                        .map(|(r, o)| (r.as_str(), o.as_str()))
                        .collect();
                    self.first_in(&callee.body, &inner, found, seen);
                }
                LKind::Let { .. } | LKind::Effect(_) | LKind::Return(_) | LKind::Yield(_) => {}
            }
        }
    }
}
