//! Local programs flattened into a small instruction list per procedure.
//!
//! The explorer only needs what a role does with channels and which way its control can go, so
//! `let` and expression statements vanish, blocks become straight-line code, and conditionals
//! become jumps. A role's position is then just `(procedure, role map, pc)` per frame, which
//! keeps states small and cheap to hash.

use crate::values::{self, ExprInfo, PatInfo, Purity};
use chor_diagnostics::Span;
use chor_project::{LKind, LStmt, LocalProgram, ProcKey};
use chor_syntax::ast::{Expr, Pattern};
use std::collections::HashMap;
use std::hash::Hash;

/// A role of the current procedure, by its position in the procedure's role list.
pub type LocalRole = u16;

/// Whether a choice comes from an `if` or a `match` (for the trace only).
#[derive(Debug, Clone, PartialEq)]
pub enum ChoiceKind {
    If,
    /// The arms' patterns, printed.
    Match(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Instr {
    Send {
        to: Vec<LocalRole>,
        /// The value sent (an index into `RoleCode::exprs`).
        value: u32,
        span: Span,
    },
    Select {
        to: Vec<LocalRole>,
        label: u32,
        span: Span,
    },
    Recv {
        from: LocalRole,
        /// The variable bound (an interned name).
        var: u32,
        span: Span,
    },
    Branch {
        from: LocalRole,
        /// `(label, first pc of the arm)`, in source order.
        arms: Vec<(u32, usize)>,
        span: Span,
    },
    /// An internal choice of this role: every target is a possible continuation.
    Choice {
        kind: ChoiceKind,
        targets: Vec<usize>,
        span: Span,
    },
    Jump(usize),
    Call {
        proc: usize,
        /// For each role of the callee, the caller's role passed for it.
        roles: Vec<LocalRole>,
        /// The arguments of the callee's parameters at this role (indexes into `exprs`).
        args: Vec<u32>,
        span: Span,
    },
    /// `return`, or the end of the body: the frame ends.
    Return,
    /// The first member of a deciding group: take an arm, then tell the other members which
    /// (`label`) and the value decided on (`cond`, an index into `exprs`), so that they can
    /// check that theirs is the same. Models the decision no message carries (see
    /// `Compiler::group_choice`).
    AgreeSend {
        to: Vec<LocalRole>,
        label: u32,
        cond: u32,
        span: Span,
    },
    /// Another member of a deciding group, in the arm the first member took: receive the
    /// first member's value and compare it with its own `cond`.
    AgreeRecv {
        from: LocalRole,
        cond: u32,
        span: Span,
    },
    /// A step with no communication, run as soon as the role reaches it.
    Local(Local),
}

/// The local steps that track values (only when some decision is a group's).
#[derive(Debug, Clone, PartialEq)]
pub enum Local {
    /// Bind a pattern (`pats`) to the value of an expression (`exprs`).
    Let { pat: u32, value: u32 },
    /// A scope starts.
    Enter,
    /// The innermost scope ends: its bindings go.
    Exit,
    /// A branch of a conditional expression yields these values.
    Yield(Vec<u32>),
    /// Bind the patterns to the values the conditional yielded.
    BindYield(Vec<u32>),
    /// Bind a pattern to the value the callee returned.
    BindRet(u32),
    /// The value this procedure returns.
    SetRet(u32),
}

/// One procedure of one role, flattened.
#[derive(Debug)]
pub struct Proc {
    pub name: String,
    /// Its role names, in order (the frame's role map gives their global roles).
    pub roles: Vec<String>,
    /// Which of `roles` is the role running it.
    pub me: LocalRole,
    /// Its value parameters at this role (interned names), bound to the call's arguments.
    pub params: Vec<u32>,
    pub code: Vec<Instr>,
}

/// One role's procedures; `procs[entry]` is its `main`.
#[derive(Debug)]
pub struct RoleCode {
    pub role: String,
    pub entry: usize,
    pub procs: Vec<Proc>,
    /// The expressions and patterns the instructions name by index.
    pub exprs: Vec<ExprInfo>,
    pub pats: Vec<PatInfo>,
}

/// Values numbered in order of first use, so they compare and hash as numbers.
#[derive(Debug)]
pub struct Interner<T> {
    list: Vec<T>,
    ids: HashMap<T, u32>,
}

impl<T> Default for Interner<T> {
    fn default() -> Self {
        Interner {
            list: Vec::new(),
            ids: HashMap::new(),
        }
    }
}

impl<T: Hash + Eq + Clone> Interner<T> {
    pub fn id(&mut self, x: T) -> u32 {
        if let Some(&i) = self.ids.get(&x) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(x.clone());
        self.ids.insert(x, i);
        i
    }
    pub fn get(&self, i: u32) -> Option<&T> {
        self.list.get(i as usize)
    }
}

/// What the roles' programs share: label numbers, variable names, expression texts, and the
/// knowledge of which functions are pure.
pub struct Shared<'f> {
    pub labels: Labels,
    pub names: Interner<String>,
    pub texts: Interner<String>,
    pub purity: Purity<'f>,
}

/// Interned label names, shared by all roles so labels compare as numbers.
#[derive(Debug, Default)]
pub struct Labels {
    names: Vec<String>,
    ids: HashMap<String, u32>,
}

impl Labels {
    pub fn id(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.ids.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_owned());
        self.ids.insert(name.to_owned(), i);
        i
    }
    pub fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("?", String::as_str)
    }
}

struct Compiler<'a, 'f> {
    prog: &'a LocalProgram,
    index: &'a HashMap<&'a ProcKey, usize>,
    shared: &'a mut Shared<'f>,
    exprs: &'a mut Vec<ExprInfo>,
    pats: &'a mut Vec<PatInfo>,
    roles: &'a [String],
    proc_name: String,
    /// The name of the role running the procedure.
    me: String,
    code: Vec<Instr>,
}

impl Compiler<'_, '_> {
    fn expr(&mut self, e: &Expr) -> u32 {
        let sh = &mut *self.shared;
        let info = values::prepare_expr(e, &mut sh.purity, &mut sh.names, &mut sh.texts);
        self.exprs.push(info);
        (self.exprs.len() - 1) as u32
    }

    fn pat(&mut self, p: &Pattern) -> u32 {
        let sh = &mut *self.shared;
        let info = values::prepare_pattern(p, &sh.purity, &mut sh.names, &mut sh.texts);
        self.pats.push(info);
        (self.pats.len() - 1) as u32
    }

    fn local(&mut self, l: Local) {
        self.code.push(Instr::Local(l));
    }

    /// A scope: its bindings end with it.
    fn scoped(&mut self, body: &[LStmt]) -> Result<(), String> {
        self.local(Local::Enter);
        self.stmts(body)?;
        self.local(Local::Exit);
        Ok(())
    }
    fn role(&self, name: &str) -> Result<LocalRole, String> {
        self.roles
            .iter()
            .position(|r| r == name)
            .map(|i| i as LocalRole)
            .ok_or_else(|| {
                format!(
                    "role {}: procedure {} names `{name}`, which is not one of its roles ({})",
                    self.prog.role,
                    self.proc_name,
                    self.roles.join(", ")
                )
            })
    }

    fn roles_of(&self, names: &[String]) -> Result<Vec<LocalRole>, String> {
        names.iter().map(|n| self.role(n)).collect()
    }

    fn stmts(&mut self, stmts: &[LStmt]) -> Result<(), String> {
        for s in stmts {
            self.stmt(s)?;
        }
        Ok(())
    }

    /// Emit a placeholder jump to patch once its target is known.
    fn hole(&mut self) -> usize {
        self.code.push(Instr::Jump(usize::MAX));
        self.code.len() - 1
    }

    fn patch(&mut self, at: usize) {
        let here = self.code.len();
        if let Some(Instr::Jump(t)) = self.code.get_mut(at) {
            *t = here;
        }
    }

    /// Compile alternative arms: each starts at a recorded pc and jumps to the common end.
    /// Each arm is a scope; `prologue` (if any) is run first in the scope: the
    /// check of a group's agreed value, or the binding of a `match` arm's pattern.
    fn arms<'s>(
        &mut self,
        bodies: impl Iterator<Item = &'s Vec<LStmt>>,
        prologue: &mut dyn FnMut(&mut Self, usize),
    ) -> Result<Vec<usize>, String> {
        let mut starts = Vec::new();
        let mut exits = Vec::new();
        for (k, body) in bodies.enumerate() {
            starts.push(self.code.len());
            self.local(Local::Enter);
            prologue(self, k);
            self.stmts(body)?;
            self.local(Local::Exit);
            exits.push(self.hole());
        }
        for e in exits {
            self.patch(e);
        }
        Ok(starts)
    }

    /// A decision of a group, which every member takes by itself on a value that must be
    /// agreed. The explorer does not know values, so it would let each member pick its branch
    /// freely; the members' agreement is modelled instead as if the group's first member chose
    /// and told the others, at the start of each arm, which arm (labels no program can spell)
    /// and the value it decided on. A real selection there would keep a checked choreography
    /// deadlock-free, and the members meet their shared decisions in the same order, so this
    /// explores exactly the runs in which the members agree. Whether they do is not taken on
    /// trust: each other member compares the value it decides on with the first member's
    /// (`AgreeRecv`), and a difference is a finding.
    fn group_choice(
        &mut self,
        group: &[String],
        kind: ChoiceKind,
        cond: &Expr,
        pats: Option<&[&Pattern]>,
        bodies: Vec<&Vec<LStmt>>,
        span: Span,
    ) -> Result<(), String> {
        let Some(first) = group.first() else {
            return Ok(());
        };
        let cond = self.expr(cond);
        let labels: Vec<u32> = (0..bodies.len())
            .map(|k| self.shared.labels.id(&format!("(agreed arm {k})")))
            .collect();
        let pats: Vec<u32> = pats
            .unwrap_or_default()
            .iter()
            .map(|p| self.pat(p))
            .collect();
        let at = self.code.len();
        self.code.push(Instr::Return); // replaced below
        if *first == self.me {
            let others: Vec<LocalRole> = self.roles_of(&group[1..])?;
            let starts = self.arms(bodies.into_iter(), &mut |c: &mut Self, k| {
                if !others.is_empty() {
                    c.code.push(Instr::AgreeSend {
                        to: others.clone(),
                        label: labels[k],
                        cond,
                        span,
                    });
                }
                if let Some(&p) = pats.get(k) {
                    c.local(Local::Let {
                        pat: p,
                        value: cond,
                    });
                }
            })?;
            self.code[at] = Instr::Choice {
                kind,
                targets: starts,
                span,
            };
        } else {
            let from = self.role(first)?;
            let starts = self.arms(bodies.into_iter(), &mut |c: &mut Self, k| {
                c.code.push(Instr::AgreeRecv { from, cond, span });
                if let Some(&p) = pats.get(k) {
                    c.local(Local::Let {
                        pat: p,
                        value: cond,
                    });
                }
            })?;
            let arms = labels.into_iter().zip(starts).collect();
            self.code[at] = Instr::Branch { from, arms, span };
        }
        Ok(())
    }

    fn stmt(&mut self, s: &LStmt) -> Result<(), String> {
        let span = s.span;
        match &s.kind {
            LKind::Let { pat, value } => {
                let pat = self.pat(pat);
                let value = self.expr(value);
                self.local(Local::Let { pat, value });
            }
            // Effects change no variable; what they print is not this checker's business.
            LKind::Effect(_) => {}
            LKind::Yield(es) => {
                let es = es.iter().map(|e| self.expr(e)).collect();
                self.local(Local::Yield(es));
            }
            LKind::Send { to, expr } => {
                let to = self.roles_of(to)?;
                let value = self.expr(expr);
                self.code.push(Instr::Send { to, value, span });
            }
            LKind::Select { to, label } => {
                let to = self.roles_of(to)?;
                let label = self.shared.labels.id(label);
                self.code.push(Instr::Select { to, label, span });
            }
            LKind::Recv { from, var, .. } => {
                let from = self.role(from)?;
                let var = self.shared.names.id(var.clone());
                self.code.push(Instr::Recv { from, var, span });
            }
            LKind::Branch { from, arms } => {
                let from = self.role(from)?;
                let at = self.code.len();
                self.code.push(Instr::Return); // replaced below
                let starts = self.arms(arms.iter().map(|(_, b)| b), &mut |_, _| {})?;
                let arms = arms
                    .iter()
                    .zip(starts)
                    .map(|((l, _), pc)| (self.shared.labels.id(l), pc))
                    .collect();
                self.code[at] = Instr::Branch { from, arms, span };
            }
            LKind::If {
                cond,
                then,
                els,
                group,
            } if !group.is_empty() => {
                self.group_choice(group, ChoiceKind::If, cond, None, vec![then, els], span)?;
            }
            LKind::Match {
                scrutinee,
                arms,
                group,
            } if !group.is_empty() => {
                let pats: Vec<&Pattern> = arms.iter().map(|(p, _)| p).collect();
                let kind = ChoiceKind::Match(arms.iter().map(|(p, _)| show(p)).collect());
                let bodies = arms.iter().map(|(_, b)| b).collect();
                self.group_choice(group, kind, scrutinee, Some(&pats), bodies, span)?;
            }
            LKind::If { then, els, .. } => {
                let at = self.code.len();
                self.code.push(Instr::Return);
                let targets = self.arms([then, els].into_iter(), &mut |_, _| {})?;
                self.code[at] = Instr::Choice {
                    kind: ChoiceKind::If,
                    targets,
                    span,
                };
            }
            LKind::Match {
                scrutinee, arms, ..
            } => {
                let at = self.code.len();
                self.code.push(Instr::Return);
                let value = self.expr(scrutinee);
                let pats: Vec<u32> = arms.iter().map(|(p, _)| self.pat(p)).collect();
                let targets = self.arms(arms.iter().map(|(_, b)| b), &mut |c: &mut Self, k| {
                    c.local(Local::Let {
                        pat: pats[k],
                        value,
                    });
                })?;
                self.code[at] = Instr::Choice {
                    kind: ChoiceKind::Match(arms.iter().map(|(p, _)| show(p)).collect()),
                    targets,
                    span,
                };
            }
            LKind::Block(body) => self.scoped(body)?,
            LKind::Bind { pats, body } => {
                self.scoped(body)?;
                let pats = pats.iter().map(|p| self.pat(p)).collect();
                self.local(Local::BindYield(pats));
            }
            LKind::Call {
                key,
                callee_role,
                roles,
                args,
                bind,
            } => {
                let Some(&proc) = self.index.get(key) else {
                    return Err(format!(
                        "role {}: procedure {} calls {}@{callee_role}, which the role's program \
                         does not contain",
                        self.prog.role, self.proc_name, key.chor
                    ));
                };
                let roles = self.roles_of(roles)?;
                let args = args.iter().map(|a| self.expr(a)).collect();
                self.code.push(Instr::Call {
                    proc,
                    roles,
                    args,
                    span,
                });
                if let Some(p) = bind {
                    let p = self.pat(p);
                    self.local(Local::BindRet(p));
                }
            }
            LKind::Return(e) => {
                let e = self.expr(e);
                self.local(Local::SetRet(e));
                self.code.push(Instr::Return);
            }
        }
        Ok(())
    }
}

fn show(p: &Pattern) -> String {
    let mut t = String::new();
    chor_syntax::pretty::pattern(p, &mut t);
    t
}

/// Flatten one role's program. Errors describe a malformed program (a role name or procedure
/// that does not exist), which projection never produces.
pub fn compile(prog: &LocalProgram, shared: &mut Shared<'_>) -> Result<RoleCode, String> {
    let keys: Vec<&ProcKey> = prog.procs.keys().collect();
    let index: HashMap<&ProcKey, usize> = keys.iter().enumerate().map(|(i, k)| (*k, i)).collect();
    let Some(&entry) = index.get(&prog.entry) else {
        return Err(format!(
            "role {}: the entry procedure {} is missing",
            prog.role, prog.entry.chor
        ));
    };
    let mut procs = Vec::new();
    let mut exprs = Vec::new();
    let mut pats = Vec::new();
    for k in &keys {
        let p = &prog.procs[*k];
        let name = format!("{}@{}", k.chor, p.role);
        let params = p
            .params
            .iter()
            .map(|x| shared.names.id(x.clone()))
            .collect();
        let mut c = Compiler {
            prog,
            index: &index,
            shared: &mut *shared,
            exprs: &mut exprs,
            pats: &mut pats,
            roles: &p.roles,
            proc_name: name.clone(),
            me: p.role.clone(),
            code: Vec::new(),
        };
        let me = c.role(&p.role)?;
        c.stmts(&p.body)?;
        c.code.push(Instr::Return);
        procs.push(Proc {
            name: k.chor.clone(),
            roles: p.roles.clone(),
            me,
            params,
            code: c.code,
        });
    }
    // A call must pass exactly one role per role of the callee.
    for p in &procs {
        for i in &p.code {
            if let Instr::Call { proc, roles, .. } = i
                && roles.len() != procs[*proc].roles.len()
            {
                return Err(format!(
                    "role {}: {} calls {} with {} roles, but it has {}",
                    prog.role,
                    p.name,
                    procs[*proc].name,
                    roles.len(),
                    procs[*proc].roles.len()
                ));
            }
        }
    }
    Ok(RoleCode {
        role: prog.role.clone(),
        entry,
        procs,
        exprs,
        pats,
    })
}
