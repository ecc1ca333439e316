//! Local programs flattened into a small instruction list per procedure.
//!
//! The explorer only needs what a role does with channels and which way its control can go, so
//! `let` and expression statements vanish, blocks become straight-line code, and conditionals
//! become jumps. A role's position is then just `(procedure, role map, pc)` per frame, which
//! keeps states small and cheap to hash.

use chor_diagnostics::Span;
use chor_project::{LKind, LStmt, LocalProgram, ProcKey};
use std::collections::HashMap;

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
        span: Span,
    },
    Select {
        to: Vec<LocalRole>,
        label: u32,
        span: Span,
    },
    Recv {
        from: LocalRole,
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
        span: Span,
    },
    /// `return`, or the end of the body: the frame ends.
    Return,
}

/// One procedure of one role, flattened.
#[derive(Debug)]
pub struct Proc {
    pub name: String,
    /// Its role names, in order (the frame's role map gives their global roles).
    pub roles: Vec<String>,
    /// Which of `roles` is the role running it.
    pub me: LocalRole,
    pub code: Vec<Instr>,
}

/// One role's procedures; `procs[entry]` is its `main`.
#[derive(Debug)]
pub struct RoleCode {
    pub role: String,
    pub entry: usize,
    pub procs: Vec<Proc>,
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

struct Compiler<'a> {
    prog: &'a LocalProgram,
    index: &'a HashMap<&'a ProcKey, usize>,
    labels: &'a mut Labels,
    roles: &'a [String],
    proc_name: String,
    /// The name of the role running the procedure.
    me: String,
    code: Vec<Instr>,
}

impl Compiler<'_> {
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
    fn arms<'s>(
        &mut self,
        bodies: impl Iterator<Item = &'s Vec<LStmt>>,
    ) -> Result<Vec<usize>, String> {
        let mut starts = Vec::new();
        let mut exits = Vec::new();
        for body in bodies {
            starts.push(self.code.len());
            self.stmts(body)?;
            exits.push(self.hole());
        }
        for e in exits {
            self.patch(e);
        }
        Ok(starts)
    }

    /// A decision of a group, which every member takes by itself on an agreed value. The
    /// explorer does not know values, so it would let each member pick its branch freely; the
    /// members' agreement is modelled instead as if the group's first member chose and told
    /// the others with a selection at the start of each arm (labels no program can spell). A
    /// real selection there would keep a checked choreography deadlock-free, and the members
    /// meet their shared decisions in the same order, so this explores exactly the runs in
    /// which the members agree, which is what `chor check` guarantees.
    fn group_choice(
        &mut self,
        group: &[String],
        kind: ChoiceKind,
        bodies: Vec<&Vec<LStmt>>,
        span: Span,
    ) -> Result<(), String> {
        let Some(first) = group.first() else {
            return Ok(());
        };
        let labels: Vec<u32> = (0..bodies.len())
            .map(|k| self.labels.id(&format!("(agreed arm {k})")))
            .collect();
        let at = self.code.len();
        self.code.push(Instr::Return); // replaced below
        if *first == self.me {
            let others: Vec<LocalRole> = self.roles_of(&group[1..])?;
            let mut starts = Vec::new();
            let mut exits = Vec::new();
            for (k, body) in bodies.into_iter().enumerate() {
                starts.push(self.code.len());
                if !others.is_empty() {
                    self.code.push(Instr::Select {
                        to: others.clone(),
                        label: labels[k],
                        span,
                    });
                }
                self.stmts(body)?;
                exits.push(self.hole());
            }
            for e in exits {
                self.patch(e);
            }
            self.code[at] = Instr::Choice {
                kind,
                targets: starts,
                span,
            };
        } else {
            let from = self.role(first)?;
            let starts = self.arms(bodies.into_iter())?;
            let arms = labels.into_iter().zip(starts).collect();
            self.code[at] = Instr::Branch { from, arms, span };
        }
        Ok(())
    }

    fn stmt(&mut self, s: &LStmt) -> Result<(), String> {
        let span = s.span;
        match &s.kind {
            // Local computations: the explorer follows messages, not values.
            LKind::Let { .. } | LKind::Effect(_) | LKind::Yield(_) => {}
            LKind::Send { to, .. } => {
                let to = self.roles_of(to)?;
                self.code.push(Instr::Send { to, span });
            }
            LKind::Select { to, label } => {
                let to = self.roles_of(to)?;
                let label = self.labels.id(label);
                self.code.push(Instr::Select { to, label, span });
            }
            LKind::Recv { from, .. } => {
                let from = self.role(from)?;
                self.code.push(Instr::Recv { from, span });
            }
            LKind::Branch { from, arms } => {
                let from = self.role(from)?;
                let at = self.code.len();
                self.code.push(Instr::Return); // replaced below
                let starts = self.arms(arms.iter().map(|(_, b)| b))?;
                let arms = arms
                    .iter()
                    .zip(starts)
                    .map(|((l, _), pc)| (self.labels.id(l), pc))
                    .collect();
                self.code[at] = Instr::Branch { from, arms, span };
            }
            LKind::If {
                then, els, group, ..
            } if !group.is_empty() => {
                self.group_choice(group, ChoiceKind::If, vec![then, els], span)?;
            }
            LKind::Match { arms, group, .. } if !group.is_empty() => {
                let pats = arms
                    .iter()
                    .map(|(p, _)| {
                        let mut t = String::new();
                        chor_syntax::pretty::pattern(p, &mut t);
                        t
                    })
                    .collect();
                let bodies = arms.iter().map(|(_, b)| b).collect();
                self.group_choice(group, ChoiceKind::Match(pats), bodies, span)?;
            }
            LKind::If { then, els, .. } => {
                let at = self.code.len();
                self.code.push(Instr::Return);
                let targets = self.arms([then, els].into_iter())?;
                self.code[at] = Instr::Choice {
                    kind: ChoiceKind::If,
                    targets,
                    span,
                };
            }
            LKind::Match { arms, .. } => {
                let at = self.code.len();
                self.code.push(Instr::Return);
                let targets = self.arms(arms.iter().map(|(_, b)| b))?;
                let pats = arms
                    .iter()
                    .map(|(p, _)| {
                        let mut t = String::new();
                        chor_syntax::pretty::pattern(p, &mut t);
                        t
                    })
                    .collect();
                self.code[at] = Instr::Choice {
                    kind: ChoiceKind::Match(pats),
                    targets,
                    span,
                };
            }
            LKind::Block(body) | LKind::Bind { body, .. } => self.stmts(body)?,
            LKind::Call {
                key,
                callee_role,
                roles,
                ..
            } => {
                let Some(&proc) = self.index.get(key) else {
                    return Err(format!(
                        "role {}: procedure {} calls {}@{callee_role}, which the role's program \
                         does not contain",
                        self.prog.role, self.proc_name, key.chor
                    ));
                };
                let roles = self.roles_of(roles)?;
                self.code.push(Instr::Call { proc, roles, span });
            }
            LKind::Return(_) => self.code.push(Instr::Return),
        }
        Ok(())
    }
}

/// Flatten one role's program. Errors describe a malformed program (a role name or procedure
/// that does not exist), which projection never produces.
pub fn compile(prog: &LocalProgram, labels: &mut Labels) -> Result<RoleCode, String> {
    let keys: Vec<&ProcKey> = prog.procs.keys().collect();
    let index: HashMap<&ProcKey, usize> = keys.iter().enumerate().map(|(i, k)| (*k, i)).collect();
    let Some(&entry) = index.get(&prog.entry) else {
        return Err(format!(
            "role {}: the entry procedure {} is missing",
            prog.role, prog.entry.chor
        ));
    };
    let mut procs = Vec::new();
    for k in &keys {
        let p = &prog.procs[*k];
        let name = format!("{}@{}", k.chor, p.role);
        let mut c = Compiler {
            prog,
            index: &index,
            labels: &mut *labels,
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
    })
}
