//! The reference interpreter of the global choreography (`chor simulate`): one sequential run
//! in which every role's variables live side by side. Its per-role output is the oracle that
//! projected and compiled programs are tested against.

use crate::eval::{Ctrl, Env, Evaluator, Io, RuntimeError};
use crate::value::{Value, to_literal};
use chor_check::Program;
use chor_diagnostics::Span;
use chor_syntax::ast::*;
use std::collections::HashMap;
use std::sync::Arc;

/// A run that stopped with a fault at a role.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleError {
    pub role: String,
    pub message: String,
    pub span: Option<Span>,
}

impl std::fmt::Display for RoleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "role {}: {}", self.role, self.message)
    }
}

/// One event of a run, for `--trace`.
#[derive(Debug, Clone, PartialEq)]
pub enum TraceEvent {
    Comm {
        from: String,
        to: String,
        value: String,
        span: Span,
    },
    Select {
        from: String,
        to: String,
        label: String,
        span: Span,
    },
}

impl std::fmt::Display for TraceEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TraceEvent::Comm {
                from, to, value, ..
            } => write!(f, "{from} -> {to}: {value}"),
            TraceEvent::Select {
                from, to, label, ..
            } => write!(f, "{from} -> {to}[{label}]"),
        }
    }
}

struct Frame {
    /// Actual (top-level) role name for each role of the running choreography.
    actual: Vec<Arc<str>>,
    index: HashMap<String, usize>,
    envs: Vec<Env>,
}

impl Frame {
    fn new(chor: &ChorDef, actual: Vec<Arc<str>>) -> Frame {
        Frame {
            index: chor
                .roles
                .iter()
                .enumerate()
                .map(|(i, r)| (r.name.clone(), i))
                .collect(),
            envs: vec![Env::default(); actual.len()],
            actual,
        }
    }
    fn idx(&self, r: &Ident) -> Result<usize, Ctrl> {
        match self.index.get(&r.name) {
            Some(i) => Ok(*i),
            None => crate::eval::fault(format!("unknown role `{}`", r.name), r.span),
        }
    }
}

enum Flow {
    Normal,
    Return(Value),
    Tail(String, Vec<Arc<str>>, Vec<(usize, String, Value)>),
}

pub struct Simulator<'p> {
    ev: Evaluator<'p>,
    prog: &'p Program,
    trace: Option<&'p (dyn Fn(&TraceEvent) + Sync)>,
    failed_role: std::cell::RefCell<Arc<str>>,
}

impl<'p> Simulator<'p> {
    pub fn new(
        prog: &'p Program,
        io: &'p dyn Io,
        trace: Option<&'p (dyn Fn(&TraceEvent) + Sync)>,
    ) -> Simulator<'p> {
        Simulator {
            ev: Evaluator::new(prog, io),
            prog,
            trace,
            failed_role: std::cell::RefCell::new(Arc::from("")),
        }
    }

    /// Run choreography `entry` (which takes roles only) with its own role names.
    pub fn run(&self, entry: &str) -> Result<(), RoleError> {
        let Some(main) = self.prog.chor(entry) else {
            return Err(RoleError {
                role: String::new(),
                message: format!("no choreography named `{entry}`"),
                span: None,
            });
        };
        let actual: Vec<Arc<str>> = main
            .roles
            .iter()
            .map(|r| Arc::from(r.name.as_str()))
            .collect();
        match self.run_chor(entry, actual, Vec::new()) {
            Ok(_) => Ok(()),
            Err(Ctrl::Fault(RuntimeError { message, span })) => Err(RoleError {
                role: self.failed_role.borrow().to_string(),
                message,
                span: Some(span),
            }),
            Err(_) => Ok(()),
        }
    }

    fn at(&self, frame: &Frame, i: usize) {
        self.ev.set_role(&frame.actual[i]);
        *self.failed_role.borrow_mut() = frame.actual[i].clone();
    }

    fn run_chor(
        &self,
        name: &str,
        actual: Vec<Arc<str>>,
        args: Vec<(usize, String, Value)>,
    ) -> Result<Option<Value>, Ctrl> {
        let mut name = name.to_owned();
        let mut actual = actual;
        let mut args = args;
        loop {
            let Some(chor) = self.prog.chor(&name) else {
                return crate::eval::fault(
                    format!("unknown choreography `{name}`"),
                    Span::default(),
                );
            };
            let mut frame = Frame::new(chor, actual);
            for (i, n, v) in args {
                frame.envs[i].bind(&n, v);
            }
            match self.block(&mut frame, &chor.body.stmts, true)? {
                Flow::Normal => return Ok(None),
                Flow::Return(v) => return Ok(Some(v)),
                Flow::Tail(n, a, v) => {
                    name = n;
                    actual = a;
                    args = v;
                }
            }
        }
    }

    fn eval_at(&self, frame: &mut Frame, role: &Ident, e: &Expr) -> Result<(usize, Value), Ctrl> {
        let i = frame.idx(role)?;
        self.at(frame, i);
        let v = self.ev.eval(&mut frame.envs[i], e, None)?;
        Ok((i, v))
    }

    fn emit(&self, ev: TraceEvent) {
        if let Some(t) = self.trace {
            t(&ev);
        }
    }

    fn block(&self, frame: &mut Frame, stmts: &[ChorStmt], tail: bool) -> Result<Flow, Ctrl> {
        let marks: Vec<usize> = frame.envs.iter().map(Env::mark).collect();
        let r = self.block_inner(frame, stmts, tail);
        for (e, m) in frame.envs.iter_mut().zip(marks) {
            e.reset(m);
        }
        r
    }

    fn block_inner(&self, frame: &mut Frame, stmts: &[ChorStmt], tail: bool) -> Result<Flow, Ctrl> {
        let n = stmts.len();
        for (k, s) in stmts.iter().enumerate() {
            let last = tail && k + 1 == n;
            match &s.kind {
                ChorStmtKind::Let {
                    role, pat, value, ..
                } => {
                    let (i, v) = self.eval_at(frame, role, value)?;
                    if !self.ev.match_pattern(pat, &v, &mut frame.envs[i]) {
                        return crate::eval::fault(
                            format!("the pattern does not match {}", to_literal(&v)),
                            s.span,
                        );
                    }
                }
                ChorStmtKind::Effect { role, expr } => {
                    self.eval_at(frame, role, expr)?;
                }
                ChorStmtKind::Comm { from, expr, to } => {
                    let (i, v) = self.eval_at(frame, from, expr)?;
                    for r in to {
                        let j = frame.idx(&r.role)?;
                        self.emit(TraceEvent::Comm {
                            from: frame.actual[i].to_string(),
                            to: frame.actual[j].to_string(),
                            value: to_literal(&v),
                            span: s.span,
                        });
                        frame.envs[j].bind(&r.var.name, v.clone());
                    }
                }
                ChorStmtKind::Select { from, to, label } => {
                    let i = frame.idx(from)?;
                    for r in to {
                        let j = frame.idx(r)?;
                        self.emit(TraceEvent::Select {
                            from: frame.actual[i].to_string(),
                            to: frame.actual[j].to_string(),
                            label: label.name.clone(),
                            span: s.span,
                        });
                    }
                }
                ChorStmtKind::If {
                    role,
                    cond,
                    then,
                    els,
                } => {
                    let (_, c) = self.eval_at(frame, role, cond)?;
                    let flow = match c {
                        Value::Bool(true) => self.block(frame, &then.stmts, last)?,
                        Value::Bool(false) => match els {
                            Some(b) => self.block(frame, &b.stmts, last)?,
                            None => Flow::Normal,
                        },
                        other => {
                            return crate::eval::fault(
                                format!("condition is {}, not a Bool", to_literal(&other)),
                                cond.span,
                            );
                        }
                    };
                    if !matches!(flow, Flow::Normal) {
                        return Ok(flow);
                    }
                }
                ChorStmtKind::Match {
                    role,
                    scrutinee,
                    arms,
                } => {
                    let (i, v) = self.eval_at(frame, role, scrutinee)?;
                    let mut chosen = None;
                    for arm in arms {
                        let mark = frame.envs[i].mark();
                        let mut scratch = std::mem::take(&mut frame.envs[i]);
                        let ok = self.ev.match_pattern(&arm.pat, &v, &mut scratch);
                        frame.envs[i] = scratch;
                        if ok {
                            chosen = Some((arm, mark));
                            break;
                        }
                        frame.envs[i].reset(mark);
                    }
                    let Some((arm, mark)) = chosen else {
                        return crate::eval::fault(
                            format!("no arm of this match covers {}", to_literal(&v)),
                            scrutinee.span,
                        );
                    };
                    let flow = self.block(frame, &arm.body.stmts, last)?;
                    frame.envs[i].reset(mark);
                    if !matches!(flow, Flow::Normal) {
                        return Ok(flow);
                    }
                }
                ChorStmtKind::Call { call, bind } => {
                    let Some(callee) = self.prog.chor(&call.callee.name) else {
                        return crate::eval::fault(
                            format!("unknown choreography `{}`", call.callee.name),
                            call.callee.span,
                        );
                    };
                    let mut actual = Vec::with_capacity(call.roles.len());
                    for r in &call.roles {
                        actual.push(frame.actual[frame.idx(r)?].clone());
                    }
                    let mut args = Vec::new();
                    for (p, a) in callee.params.iter().zip(&call.args) {
                        let (_, v) = self.eval_at(frame, &a.role, &a.expr)?;
                        let ci = callee
                            .roles
                            .iter()
                            .position(|r| r.name == p.role.name)
                            .unwrap_or(0);
                        args.push((ci, p.name.name.clone(), v));
                    }
                    if last && bind.is_none() {
                        return Ok(Flow::Tail(callee.name.name.clone(), actual, args));
                    }
                    let result = self.run_chor(&callee.name.name, actual, args)?;
                    if let Some((role, pat, _)) = bind {
                        let i = frame.idx(role)?;
                        self.at(frame, i);
                        let v = result.unwrap_or(Value::Unit);
                        if !self.ev.match_pattern(pat, &v, &mut frame.envs[i]) {
                            return crate::eval::fault(
                                format!("the pattern does not match {}", to_literal(&v)),
                                s.span,
                            );
                        }
                    }
                }
                ChorStmtKind::Return { role, expr } => {
                    let (_, v) = self.eval_at(frame, role, expr)?;
                    return Ok(Flow::Return(v));
                }
                ChorStmtKind::Error => {
                    return crate::eval::fault("this statement has a syntax error", s.span);
                }
            }
        }
        Ok(Flow::Normal)
    }
}
