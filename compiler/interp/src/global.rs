//! The reference interpreter of the global choreography (`chor simulate`): one sequential run
//! in which every role's variables live side by side. Its per-role output is the oracle that
//! projected and compiled programs are tested against.

use crate::eval::{Ctrl, Env, Evaluator, Io, RuntimeError};
use crate::value::{Value, to_literal};
use chor_check::Program;
use chor_diagnostics::Span;
use chor_syntax::ast::*;
use std::sync::Arc;

/// The deepest nesting a value sent in a message may have (the codec's limit, see
/// docs/language.md, "Messages"); the sender refuses a deeper one.
pub const MAX_MESSAGE_DEPTH: usize = chor_runtime::codec::MAX_DEPTH;

/// The fault of a sender whose value is nested too deeply to travel to `peer` (the words
/// of every back end).
pub fn too_deep(peer: &str) -> String {
    chor_runtime::session::too_deep_message(peer)
}

/// A run that stopped with a fault at a role.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleError {
    pub role: String,
    pub message: String,
    pub span: Option<Span>,
    /// For a fault inside the standard library: the user's call that led there.
    pub called_from: Option<Span>,
}

impl RoleError {
    /// A fault at `span`, with the user's call site when `span` is in the standard library.
    pub fn fault(role: String, message: String, span: Span, user_site: Option<Span>) -> Self {
        let in_stdlib = chor_check::stdlib::by_file(span.file).is_some();
        RoleError {
            role,
            message,
            span: Some(span),
            called_from: user_site.filter(|_| in_stdlib),
        }
    }
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
    /// A recursive choreography began its round `round` (2 for its first recursive call) at
    /// `roles`: diagrams divide a run into rounds. `--trace` does not print it.
    Round {
        chor: String,
        round: usize,
        roles: Vec<String>,
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
            TraceEvent::Round { chor, round, .. } => write!(f, "round {round} of {chor}"),
        }
    }
}

struct Frame {
    /// Actual (top-level) role name for each role of the running choreography.
    actual: Vec<Arc<str>>,
    envs: Vec<Env>,
    /// What the checker resolved in the running choreography.
    ir: Arc<chor_check::ItemIr>,
    /// The running choreography, and which round of it this is (1 unless it called itself).
    chor: String,
    round: usize,
    /// What the branch of each running conditional expression yielded, innermost last: per
    /// part, the value at each role that holds it.
    yielded: Vec<Option<Yielded>>,
}

/// Per part of a yield, the roles that hold it (by index) with their values.
type Yielded = Vec<Vec<(usize, Value)>>;

impl Frame {
    fn new(
        chor: &ChorDef,
        actual: Vec<Arc<str>>,
        ir: Arc<chor_check::ItemIr>,
        round: usize,
    ) -> Frame {
        Frame {
            ir,
            chor: chor.name.name.clone(),
            round,
            envs: vec![Env::default(); actual.len()],
            actual,
            yielded: Vec::new(),
        }
    }
}

/// The roles the checker resolved for a statement, a result part or a call's target (see
/// `chor_check::ir::Node::roles`), as indices into the frame's roles.
struct Roles {
    ir: Arc<chor_check::ItemIr>,
    id: NodeId,
    span: Span,
    count: usize,
}

impl Roles {
    fn of(frame: &Frame, id: NodeId, span: Span) -> Roles {
        Roles {
            ir: frame.ir.clone(),
            id,
            span,
            count: frame.actual.len(),
        }
    }
    fn all(&self) -> &[u32] {
        &self.ir.node(self.id).roles
    }
    /// The `k`-th; a program that was not checked has none (never run, but not a panic).
    fn at(&self, k: usize) -> Result<usize, Ctrl> {
        match self.all().get(k) {
            Some(&r) if (r as usize) < self.count => Ok(r as usize),
            _ => crate::eval::fault("this statement's roles were not resolved", self.span),
        }
    }
    /// From the `k`-th to the end.
    fn from(&self, k: usize) -> Result<Vec<usize>, Ctrl> {
        (k..self.all().len().max(k)).map(|j| self.at(j)).collect()
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
    /// Roles that stopped: by a fault of their own, or waiting for a stopped role.
    stopped: std::cell::RefCell<std::collections::HashSet<Arc<str>>>,
    /// The first fault of the run (the root cause that is reported).
    first_fault: std::cell::RefCell<Option<RoleError>>,
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
            stopped: std::cell::RefCell::new(std::collections::HashSet::new()),
            first_fault: std::cell::RefCell::new(None),
        }
    }

    /// Run choreography `entry` (which takes roles only) with its own role names.
    pub fn run(&self, entry: &str) -> Result<(), RoleError> {
        let Some(main) = self.prog.chor(entry) else {
            return Err(RoleError {
                role: String::new(),
                message: format!("no choreography named `{entry}`"),
                span: None,
                called_from: None,
            });
        };
        let actual: Vec<Arc<str>> = main
            .roles
            .iter()
            .map(|r| Arc::from(r.name.as_str()))
            .collect();
        let r = self.run_chor(entry, actual, Vec::new(), 1);
        if let Some(e) = self.first_fault.borrow_mut().take() {
            return Err(e);
        }
        match r {
            Ok(_) => Ok(()),
            Err(Ctrl::Fault(RuntimeError { message, span })) => Err(RoleError::fault(
                self.failed_role.borrow().to_string(),
                message,
                span,
                self.ev.user_site.get(),
            )),
            Err(_) => Ok(()),
        }
    }

    /// Whether role `i` of the frame has stopped.
    fn is_stopped(&self, frame: &Frame, i: usize) -> bool {
        self.stopped.borrow().contains(&frame.actual[i])
    }

    /// Stops role `i` of the frame: for `fault`, its own (the first one is reported); for
    /// `None`, because it waits for a message or a selection from a stopped role.
    fn stop(&self, frame: &Frame, i: usize, fault: Option<RuntimeError>) {
        let role = frame.actual[i].clone();
        if let Some(RuntimeError { message, span }) = fault {
            let mut first = self.first_fault.borrow_mut();
            if first.is_none() {
                *first = Some(RoleError::fault(
                    role.to_string(),
                    message,
                    span,
                    self.ev.user_site.get(),
                ));
            }
        }
        self.stopped.borrow_mut().insert(role);
    }

    /// Evaluates `e` at `role`; `None` when the role has stopped or stops now with a fault.
    fn try_at(
        &self,
        frame: &mut Frame,
        i: usize,
        e: &Expr,
    ) -> Result<Option<(usize, Value)>, Ctrl> {
        if self.is_stopped(frame, i) {
            return Ok(None);
        }
        self.at(frame, i);
        match self.ev.eval(&mut frame.envs[i], e, &frame.ir) {
            Ok(v) => Ok(Some((i, v))),
            Err(Ctrl::Fault(f)) => {
                self.stop(frame, i, Some(f));
                Ok(None)
            }
            Err(other) => Err(other),
        }
    }

    /// A fault of role `i` raised by a statement (not inside an expression).
    fn stmt_fault(&self, frame: &Frame, i: usize, message: String, span: Span) {
        self.stop(frame, i, Some(RuntimeError { message, span }));
    }

    /// Whether every role of a call has stopped (the call can do nothing observable; skipping
    /// it also ends a recursion whose deciding role stopped).
    fn all_stopped(&self, actual: &[Arc<str>]) -> bool {
        let stopped = self.stopped.borrow();
        actual.iter().all(|r| stopped.contains(r))
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
        round: usize,
    ) -> Result<Option<Value>, Ctrl> {
        let mut name = name.to_owned();
        let mut actual = actual;
        let mut args = args;
        let mut round = round;
        loop {
            if round > 1 {
                self.emit(TraceEvent::Round {
                    chor: name.clone(),
                    round,
                    roles: actual.iter().map(|r| r.to_string()).collect(),
                });
            }
            let Some(chor) = self.prog.chor(&name) else {
                return crate::eval::fault(
                    format!("unknown choreography `{name}`"),
                    Span::default(),
                );
            };
            let entry = chor.body.stmts.first().map(|s| s.span);
            if crate::stack::exhausted() {
                return crate::eval::fault(crate::stack::OVERFLOW, entry.unwrap_or_default());
            }
            debug_assert!(
                !self.prog.ir.items.is_empty(),
                "the simulator needs a resolved program (the `resolved` query)"
            );
            let ir = self.chor_ir(&name);
            let mut frame = Frame::new(chor, actual, ir, round);
            for (i, n, v) in args {
                frame.envs[i].bind(&n, v);
            }
            let outer = self.ev.current_proc.replace(entry);
            let flow = self.block(&mut frame, &chor.body.stmts, true);
            self.ev.current_proc.set(outer);
            match flow? {
                Flow::Normal => return Ok(None),
                Flow::Return(v) => return Ok(Some(v)),
                Flow::Tail(n, a, v) => {
                    round = if n == name { round + 1 } else { 1 };
                    name = n;
                    actual = a;
                    args = v;
                }
            }
        }
    }

    /// The resolved table of the choreography `name`.
    fn chor_ir(&self, name: &str) -> Arc<chor_check::ItemIr> {
        self.prog
            .chors
            .get(name)
            .and_then(|r| self.prog.ir.items.get(r))
            .cloned()
            .unwrap_or_default()
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

    /// After the branch of a conditional expression: binds each target, at each role that
    /// holds it, to what the branch yielded there.
    fn bind_yielded(&self, frame: &mut Frame, targets: &[Target], span: Span) {
        let vals = frame.yielded.pop().flatten().unwrap_or_default();
        for (t, got) in targets.iter().zip(vals) {
            for (i, v) in got {
                if self.is_stopped(frame, i) {
                    continue;
                }
                if !self
                    .ev
                    .match_pattern(&t.pat, &v, &mut frame.envs[i], &frame.ir)
                {
                    let m = format!("the pattern does not match {}", to_literal(&v));
                    self.stmt_fault(frame, i, m, span);
                }
            }
        }
    }

    fn block_inner(&self, frame: &mut Frame, stmts: &[ChorStmt], tail: bool) -> Result<Flow, Ctrl> {
        let n = stmts.len();
        for (k, s) in stmts.iter().enumerate() {
            let last = tail && k + 1 == n;
            let roles = Roles::of(frame, s.id, s.span);
            match &s.kind {
                ChorStmtKind::Let { pat, value, .. } => {
                    // Every member of a group computes the agreed value by itself.
                    for role in roles.from(0)? {
                        if let Some((i, v)) = self.try_at(frame, role, value)?
                            && !self
                                .ev
                                .match_pattern(pat, &v, &mut frame.envs[i], &frame.ir)
                        {
                            let m = format!("the pattern does not match {}", to_literal(&v));
                            self.stmt_fault(frame, i, m, s.span);
                        }
                    }
                }
                ChorStmtKind::Effect { expr, .. } => {
                    self.try_at(frame, roles.at(0)?, expr)?;
                }
                ChorStmtKind::Comm { expr, to, .. } => {
                    let mut sent = self.try_at(frame, roles.at(0)?, expr)?;
                    if let Some((i, v)) = &sent
                        && chor_print::deeper_than(v, MAX_MESSAGE_DEPTH)
                    {
                        let peer = match to.first() {
                            Some(_) => frame.actual[roles.at(1)?].to_string(),
                            None => String::new(),
                        };
                        self.stmt_fault(frame, *i, too_deep(&peer), s.span);
                        sent = None;
                    }
                    // The receivers follow the sender, in order.
                    for (k, r) in to.iter().enumerate() {
                        let j = roles.at(k + 1)?;
                        match &sent {
                            // A sender in the receiving group keeps the value: no message.
                            Some((i, v)) if *i == j => frame.envs[j].bind(&r.var.name, v.clone()),
                            Some((i, v)) => {
                                self.emit(TraceEvent::Comm {
                                    from: frame.actual[*i].to_string(),
                                    to: frame.actual[j].to_string(),
                                    value: to_literal(v),
                                    span: s.span,
                                });
                                if !self.is_stopped(frame, j) {
                                    frame.envs[j].bind(&r.var.name, v.clone());
                                }
                            }
                            // The sender stopped: the receiver waits for it and stops too.
                            None => self.stop(frame, j, None),
                        }
                    }
                }
                ChorStmtKind::Select { label, .. } => {
                    let i = roles.at(0)?;
                    let live = !self.is_stopped(frame, i);
                    for j in roles.from(1)? {
                        if live {
                            self.emit(TraceEvent::Select {
                                from: frame.actual[i].to_string(),
                                to: frame.actual[j].to_string(),
                                label: label.name.clone(),
                                span: s.span,
                            });
                        } else {
                            self.stop(frame, j, None);
                        }
                    }
                }
                ChorStmtKind::If {
                    cond,
                    then,
                    els,
                    bind,
                    ..
                } => {
                    // A stopped role decides nothing: the first branch runs, in which every
                    // role that would learn the choice from it stops at that selection, and
                    // the roles that do not learn it act alike in every branch. Every member
                    // of a deciding group evaluates the (agreed) condition by itself; the
                    // first that can decides.
                    let mut decided = None;
                    for role in roles.from(0)? {
                        let v = self.try_at(frame, role, cond)?;
                        if decided.is_none() {
                            decided = v;
                        }
                    }
                    let take_then = match decided {
                        Some((_, Value::Bool(b))) => b,
                        Some((i, other)) => {
                            let m = format!("condition is {}, not a Bool", to_literal(&other));
                            self.stmt_fault(frame, i, m, cond.span);
                            true
                        }
                        None => true,
                    };
                    // The branches of a conditional expression end with a yield, never in
                    // tail position.
                    let last = last && bind.is_empty();
                    if !bind.is_empty() {
                        frame.yielded.push(None);
                    }
                    let flow = if take_then {
                        self.block(frame, &then.stmts, last)?
                    } else {
                        match els {
                            Some(b) => self.block(frame, &b.stmts, last)?,
                            None => Flow::Normal,
                        }
                    };
                    if !bind.is_empty() {
                        self.bind_yielded(frame, bind, s.span);
                    }
                    if !matches!(flow, Flow::Normal) {
                        return Ok(flow);
                    }
                }
                ChorStmtKind::Match {
                    scrutinee,
                    arms,
                    bind,
                    ..
                } => {
                    // Every member of a deciding group matches the (agreed) value by itself and
                    // binds the arm's pattern; the first member that can decides the arm.
                    let mut chosen: Option<&ChorArm> = None;
                    let mut bound: Vec<(usize, usize)> = Vec::new();
                    for role in roles.from(0)? {
                        let Some((i, v)) = self.try_at(frame, role, scrutinee)? else {
                            continue;
                        };
                        let mut this = None;
                        for arm in arms {
                            if chosen.is_some_and(|c| !std::ptr::eq(c, arm)) {
                                continue;
                            }
                            let mark = frame.envs[i].mark();
                            let mut scratch = std::mem::take(&mut frame.envs[i]);
                            let ok = self.ev.match_pattern(&arm.pat, &v, &mut scratch, &frame.ir);
                            frame.envs[i] = scratch;
                            if ok {
                                this = Some(arm);
                                bound.push((i, mark));
                                break;
                            }
                            frame.envs[i].reset(mark);
                        }
                        match this {
                            Some(a) => chosen = Some(a),
                            None => {
                                let m = format!("no arm of this match covers {}", to_literal(&v));
                                self.stmt_fault(frame, i, m, scrutinee.span);
                            }
                        }
                    }
                    // A stopped role decides nothing: the first arm runs (see `If`).
                    let Some(arm) = chosen.or_else(|| arms.first()) else {
                        continue;
                    };
                    if !bind.is_empty() {
                        frame.yielded.push(None);
                    }
                    let flow = self.block(frame, &arm.body.stmts, last && bind.is_empty())?;
                    for (i, mark) in bound {
                        frame.envs[i].reset(mark);
                    }
                    if !bind.is_empty() {
                        self.bind_yielded(frame, bind, s.span);
                    }
                    if !matches!(flow, Flow::Normal) {
                        return Ok(flow);
                    }
                }
                ChorStmtKind::Yield { parts } => {
                    // Every role that holds a part computes it; a stopped role yields nothing
                    // (it binds nothing after the conditional either).
                    let mut vals: Yielded = Vec::with_capacity(parts.len());
                    for p in parts {
                        let mut got = Vec::new();
                        for role in Roles::of(frame, p.expr.id, p.expr.span).from(0)? {
                            if let Some(iv) = self.try_at(frame, role, &p.expr)? {
                                got.push(iv);
                            }
                        }
                        vals.push(got);
                    }
                    if let Some(slot) = frame.yielded.last_mut() {
                        *slot = Some(vals);
                    }
                }
                ChorStmtKind::Call { .. } | ChorStmtKind::CallMany { .. } => {
                    let (call, bind, targets) = match &s.kind {
                        ChorStmtKind::Call { call, bind } => (call, bind.as_ref(), &[][..]),
                        ChorStmtKind::CallMany { call, targets } => (call, None, &targets[..]),
                        _ => continue,
                    };
                    let Some(callee) = self.prog.chor(&call.callee.name) else {
                        return crate::eval::fault(
                            format!("unknown choreography `{}`", call.callee.name),
                            call.callee.span,
                        );
                    };
                    // The roles passed come first among the statement's roles.
                    let mut actual = Vec::with_capacity(call.roles.len());
                    for k in 0..call.roles.len() {
                        actual.push(frame.actual[roles.at(k)?].clone());
                    }
                    let callee_ir = self.chor_ir(&call.callee.name);
                    let mut args = Vec::new();
                    for (k, (p, a)) in callee.params.iter().zip(&call.args).enumerate() {
                        // The role that evaluates the argument is its expression's.
                        let Some(at) = frame.ir.node(a.expr.id).role else {
                            return crate::eval::fault(
                                "this argument's role was not resolved",
                                a.expr.span,
                            );
                        };
                        // A stopped role's argument is never used: its role in the callee
                        // is stopped too.
                        let v = self
                            .try_at(frame, at as usize, &a.expr)?
                            .map_or(Value::Unit, |(_, v)| v);
                        // An agreed parameter is bound at every member of its group.
                        let held = callee_ir.param_roles.get(k).map_or(&[][..], |h| h);
                        for ci in held {
                            args.push((*ci as usize, p.name.name.clone(), v.clone()));
                        }
                    }
                    if self.all_stopped(&actual) {
                        continue;
                    }
                    if last && bind.is_none() && targets.is_empty() {
                        return Ok(Flow::Tail(callee.name.name.clone(), actual, args));
                    }
                    let round = if callee.name.name == frame.chor {
                        frame.round + 1
                    } else {
                        1
                    };
                    let result = self.run_chor(&callee.name.name, actual, args, round)?;
                    // Several results come back as a tuple, one element per declared result.
                    let parts: Vec<Value> = match (&result, callee.results.len()) {
                        (Some(Value::Tuple(xs)), n) if n > 1 => xs.to_vec(),
                        (Some(v), _) => vec![v.clone()],
                        (None, _) => Vec::new(),
                    };
                    for (t, v) in targets
                        .iter()
                        .zip(parts.iter().chain(std::iter::repeat(&Value::Unit)))
                    {
                        for i in Roles::of(frame, t.pat.id, t.pat.span).from(0)? {
                            if self.is_stopped(frame, i) {
                                continue;
                            }
                            self.at(frame, i);
                            if !self
                                .ev
                                .match_pattern(&t.pat, v, &mut frame.envs[i], &frame.ir)
                            {
                                let m = format!("the pattern does not match {}", to_literal(v));
                                self.stmt_fault(frame, i, m, s.span);
                            }
                        }
                    }
                    if let Some((_, pat, _)) = bind {
                        // The role that binds the result follows the roles passed.
                        let i = roles.at(call.roles.len())?;
                        if self.is_stopped(frame, i) {
                            continue;
                        }
                        self.at(frame, i);
                        let v = result.unwrap_or(Value::Unit);
                        if !self
                            .ev
                            .match_pattern(pat, &v, &mut frame.envs[i], &frame.ir)
                        {
                            let m = format!("the pattern does not match {}", to_literal(&v));
                            self.stmt_fault(frame, i, m, s.span);
                        }
                    }
                }
                ChorStmtKind::Return { expr, .. } => {
                    let v = self
                        .try_at(frame, roles.at(0)?, expr)?
                        .map_or(Value::Unit, |(_, v)| v);
                    return Ok(Flow::Return(v));
                }
                ChorStmtKind::Results { parts } => {
                    // Every member of a group computes its agreed result; the first that can
                    // gives the value. Several results travel back as a tuple.
                    let mut vals = Vec::new();
                    for p in parts {
                        let mut got = None;
                        for role in Roles::of(frame, p.expr.id, p.expr.span).from(0)? {
                            let v = self.try_at(frame, role, &p.expr)?;
                            if got.is_none() {
                                got = v.map(|(_, v)| v);
                            }
                        }
                        vals.push(got.unwrap_or(Value::Unit));
                    }
                    let v = if vals.len() == 1 {
                        vals.pop().unwrap_or(Value::Unit)
                    } else {
                        Value::tuple(vals)
                    };
                    return Ok(Flow::Return(v));
                }
                ChorStmtKind::LetMany { .. } => {
                    return crate::eval::fault(
                        "`let (…) = …` binds the results of a choreography call",
                        s.span,
                    );
                }
                ChorStmtKind::Error => {
                    return crate::eval::fault("this statement has a syntax error", s.span);
                }
                // The program's family expansion unrolls every round before the checks.
                ChorStmtKind::For { .. } => {
                    return crate::eval::fault("a `for` round was not expanded", s.span);
                }
            }
        }
        Ok(Flow::Normal)
    }
}
