//! The interpreter of projected programs: each role runs its own `LocalProgram`, talking to the
//! others only through a `Transport`. Run together over in-process channels, these programs
//! must print what the global interpreter prints (the differential test).

use crate::eval::{Ctrl, Env, Evaluator, Io, RuntimeError, fault};
use crate::global::RoleError;
use crate::value::{Value, to_literal};
use chor_check::Program;
use chor_diagnostics::Span;
use chor_project::{FamilyClass, LKind, LStmt, LocalProgram, MsgType, ProcKey, RoleForm};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::Duration;

/// A message between roles.
#[derive(Debug, Clone)]
pub enum Msg {
    Val(Value),
    Label(String),
}

/// How a role talks to its peers (by actual role name).
pub trait Transport {
    fn send(&self, to: &str, msg: Msg, span: Span) -> Result<(), String>;
    fn recv(&self, from: &str, span: Span) -> Result<Msg, String>;
    /// Receives what should be a value of type `ty`. A transport that carries values from
    /// outside the process checks the type before the value reaches the program; the
    /// in-process channels carry values of the same checked program and need not.
    fn recv_value(&self, from: &str, ty: &MsgType, span: Span) -> Result<Msg, String> {
        let _ = ty;
        self.recv(from, span)
    }
    /// Receives what should be a selection of one of `labels`. A transport that carries
    /// messages from outside the process refuses anything else (a value, another label)
    /// itself, naming the peer in the words of the native back end; the in-process channels
    /// hand over whatever came, for the runner to report.
    fn recv_label(&self, from: &str, labels: &[&str], span: Span) -> Result<Msg, String> {
        let _ = labels;
        self.recv(from, span)
    }
}

/// One role's end of an in-process mesh of channels.
pub struct ChannelTransport {
    me: String,
    tx: HashMap<String, Sender<Msg>>,
    rx: HashMap<String, Receiver<Msg>>,
    timeout: Duration,
}

impl ChannelTransport {
    /// One transport per role, fully connected; `recv` gives up after `timeout` (a deadlock).
    pub fn mesh(roles: &[String], timeout: Duration) -> Vec<ChannelTransport> {
        let mut ends: Vec<ChannelTransport> = roles
            .iter()
            .map(|r| ChannelTransport {
                me: r.clone(),
                tx: HashMap::new(),
                rx: HashMap::new(),
                timeout,
            })
            .collect();
        for (i, a) in roles.iter().enumerate() {
            for (j, b) in roles.iter().enumerate() {
                if i == j {
                    continue;
                }
                let (tx, rx) = channel();
                ends[i].tx.insert(b.clone(), tx);
                ends[j].rx.insert(a.clone(), rx);
            }
        }
        ends
    }
}

impl Transport for ChannelTransport {
    fn send(&self, to: &str, msg: Msg, _span: Span) -> Result<(), String> {
        match self.tx.get(to) {
            // A peer that already finished simply never reads it, as with real sockets.
            Some(tx) => {
                let _ = tx.send(msg);
                Ok(())
            }
            None => Err(format!("{} has no connection to {to}", self.me)),
        }
    }
    fn recv(&self, from: &str, _span: Span) -> Result<Msg, String> {
        let Some(rx) = self.rx.get(from) else {
            return Err(format!("{} has no connection to {from}", self.me));
        };
        match rx.recv_timeout(self.timeout) {
            Ok(m) => Ok(m),
            Err(RecvTimeoutError::Timeout) => Err(format!(
                "timed out waiting for a message from {from} (deadlock?)"
            )),
            Err(RecvTimeoutError::Disconnected) => Err(format!("{from} stopped before sending")),
        }
    }
}

enum Flow {
    Normal,
    Return(Value),
    Tail(ProcKey, Vec<Arc<str>>, Vec<Value>),
}

/// Runs one role's local program.
pub struct LocalRunner<'p> {
    ev: Evaluator<'p>,
    lp: &'p LocalProgram,
    transport: &'p dyn Transport,
    /// A member of a family running its class's program (`lp`), and its index.
    member: Option<(&'p FamilyClass, usize)>,
}

struct Frame<'a> {
    actual: Vec<Arc<str>>,
    names: &'a [String],
    env: Env,
    /// What the checker resolved in the choreography the procedure was projected from.
    ir: &'a chor_check::ItemIr,
    /// What the running conditional expressions' branches yielded, innermost last.
    yielded: Vec<Option<Vec<Value>>>,
    /// The index of the running member, in a class's program.
    member: Option<usize>,
}

impl Frame<'_> {
    fn peer(&self, name: &str, span: Span) -> Result<Arc<str>, Ctrl> {
        // In a class's program, a member named relative to the running one (`Ws[i + 1]`).
        let at;
        let name = match (self.member, RoleForm::parse(name)) {
            (Some(i), Some(form)) => match form.at(i) {
                Some(n) => {
                    at = n;
                    at.as_str()
                }
                None => name,
            },
            _ => name,
        };
        match self.names.iter().position(|n| n == name) {
            Some(i) => Ok(self.actual[i].clone()),
            None => fault(format!("unknown role `{name}`"), span),
        }
    }
}

impl<'p> LocalRunner<'p> {
    pub fn new(
        prog: &'p Program,
        lp: &'p LocalProgram,
        transport: &'p dyn Transport,
        io: &'p dyn Io,
    ) -> LocalRunner<'p> {
        let ev = Evaluator::new(prog, io);
        ev.set_role(&Arc::from(lp.role.as_str()));
        LocalRunner {
            ev,
            lp,
            transport,
            member: None,
        }
    }

    /// Runs member `i` of a family with the program of its class of alike members, the
    /// member index given at run time (`chor_project::family`): the peers it names relative
    /// to itself and the literals that are `i + d` are computed from `i` as the program runs.
    pub fn member(
        prog: &'p Program,
        class: &'p FamilyClass,
        i: usize,
        transport: &'p dyn Transport,
        io: &'p dyn Io,
    ) -> LocalRunner<'p> {
        let mut r = LocalRunner::new(prog, &class.program, transport, io);
        if class.is_generic() {
            let name = format!("{}[{i}]", class.family);
            r.ev.set_role(&Arc::from(name.as_str()));
            r.member = Some((class, i));
        }
        r
    }

    /// The role this runner runs (a member's own name in a class's program).
    fn role_name(&self) -> String {
        match self.member {
            Some((c, i)) => format!("{}[{i}]", c.family),
            None => self.lp.role.clone(),
        }
    }

    /// Run the role's entry procedure to completion.
    pub fn run(&self, main_roles: &[String]) -> Result<(), RoleError> {
        let actual: Vec<Arc<str>> = main_roles.iter().map(|r| Arc::from(r.as_str())).collect();
        match self.run_proc(self.lp.entry.clone(), actual, Vec::new()) {
            Ok(_) | Err(Ctrl::Return(_)) | Err(Ctrl::Tail(..)) => Ok(()),
            Err(Ctrl::Fault(RuntimeError { message, span })) => Err(RoleError::fault(
                self.role_name(),
                message,
                span,
                self.ev.user_site.get(),
            )),
        }
    }

    fn run_proc(
        &self,
        key: ProcKey,
        actual: Vec<Arc<str>>,
        args: Vec<Value>,
    ) -> Result<Option<Value>, Ctrl> {
        let (mut key, mut actual, mut args) = (key, actual, args);
        loop {
            let Some(p) = self.lp.procs.get(&key) else {
                return fault(
                    format!("no projection of `{}` for this role", key.chor),
                    Span::default(),
                );
            };
            let entry = p.body.first().map(|s| s.span);
            if crate::stack::exhausted() {
                return fault(crate::stack::OVERFLOW, entry.unwrap_or_default());
            }
            let prog = self.ev.prog;
            let mut frame = Frame {
                actual,
                names: &p.roles,
                env: Env::default(),
                ir: prog.chor_ir(&key.chor),
                yielded: Vec::new(),
                member: self.member.map(|(_, i)| i),
            };
            let outer_lits = self.member.map(|(c, i)| {
                let lits = c
                    .lits
                    .iter()
                    .filter(|((k, _), _)| *k == key)
                    .filter_map(|((_, id), _)| Some((*id, c.lit_at(&key, *id, i)?)))
                    .collect();
                let at = std::ptr::from_ref(frame.ir) as usize;
                self.ev.member_lits.replace(Some((at, lits)))
            });
            for (n, v) in p.params.iter().zip(args) {
                frame.env.bind(n, v);
            }
            let outer = self.ev.current_proc.replace(entry);
            let flow = self.block(&mut frame, &p.body, true);
            self.ev.current_proc.set(outer);
            if let Some(lits) = outer_lits {
                self.ev.member_lits.replace(lits);
            }
            match flow? {
                Flow::Normal => return Ok(None),
                Flow::Return(v) => return Ok(Some(v)),
                Flow::Tail(k, a, v) => {
                    key = k;
                    actual = a;
                    args = v;
                }
            }
        }
    }

    fn block(&self, frame: &mut Frame<'_>, stmts: &[LStmt], tail: bool) -> Result<Flow, Ctrl> {
        let mark = frame.env.mark();
        let r = self.block_inner(frame, stmts, tail);
        frame.env.reset(mark);
        r
    }

    fn recv_label(
        &self,
        frame: &Frame<'_>,
        from: &str,
        arms: &[(String, Vec<LStmt>)],
        span: Span,
    ) -> Result<Msg, Ctrl> {
        let peer = frame.peer(from, span)?;
        let labels: Vec<&str> = arms.iter().map(|(l, _)| l.as_str()).collect();
        self.transport
            .recv_label(&peer, &labels, span)
            .or_else(|e| fault(e, span))
    }

    fn recv_value(
        &self,
        frame: &Frame<'_>,
        from: &str,
        ty: &MsgType,
        span: Span,
    ) -> Result<Msg, Ctrl> {
        let peer = frame.peer(from, span)?;
        self.transport
            .recv_value(&peer, ty, span)
            .or_else(|e| fault(e, span))
    }

    fn block_inner(
        &self,
        frame: &mut Frame<'_>,
        stmts: &[LStmt],
        tail: bool,
    ) -> Result<Flow, Ctrl> {
        let n = stmts.len();
        for (k, s) in stmts.iter().enumerate() {
            let last = tail && k + 1 == n;
            let flow = match &s.kind {
                LKind::Let { pat, value } => {
                    let v = self.ev.eval(&mut frame.env, value, frame.ir)?;
                    if !self.ev.match_pattern(pat, &v, &mut frame.env, frame.ir) {
                        return fault(
                            format!("the pattern does not match {}", to_literal(&v)),
                            s.span,
                        );
                    }
                    Flow::Normal
                }
                LKind::Effect(e) => {
                    self.ev.eval(&mut frame.env, e, frame.ir)?;
                    Flow::Normal
                }
                LKind::Send { to, expr } => {
                    let v = self.ev.eval(&mut frame.env, expr, frame.ir)?;
                    if chor_print::deeper_than(&v, crate::global::MAX_MESSAGE_DEPTH) {
                        let peer = match to.first() {
                            Some(r) => frame.peer(r, s.span)?,
                            None => Arc::from(""),
                        };
                        return fault(crate::global::too_deep(&peer), s.span);
                    }
                    for r in to {
                        let peer = frame.peer(r, s.span)?;
                        self.transport
                            .send(&peer, Msg::Val(v.clone()), s.span)
                            .or_else(|e| fault(e, s.span))?;
                    }
                    Flow::Normal
                }
                LKind::Recv { from, var, ty } => match self.recv_value(frame, from, ty, s.span)? {
                    Msg::Val(v) => {
                        frame.env.bind(var, v);
                        Flow::Normal
                    }
                    Msg::Label(l) => {
                        return fault(
                            format!("expected a value from {from}, got the selection [{l}]"),
                            s.span,
                        );
                    }
                },
                LKind::Select { to, label } => {
                    for r in to {
                        let peer = frame.peer(r, s.span)?;
                        self.transport
                            .send(&peer, Msg::Label(label.clone()), s.span)
                            .or_else(|e| fault(e, s.span))?;
                    }
                    Flow::Normal
                }
                LKind::Branch { from, arms } => match self.recv_label(frame, from, arms, s.span)? {
                    Msg::Label(l) => match arms.iter().find(|(a, _)| *a == l) {
                        Some((_, body)) => self.block(frame, body, last)?,
                        None => {
                            return fault(
                                format!("unexpected selection [{l}] from {from}"),
                                s.span,
                            );
                        }
                    },
                    Msg::Val(v) => {
                        return fault(
                            format!(
                                "expected a selection from {from}, got the value {}",
                                to_literal(&v)
                            ),
                            s.span,
                        );
                    }
                },
                LKind::If {
                    cond, then, els, ..
                } => match self.ev.eval(&mut frame.env, cond, frame.ir)? {
                    Value::Bool(true) => self.block(frame, then, last)?,
                    Value::Bool(false) => self.block(frame, els, last)?,
                    other => {
                        return fault(
                            format!("condition is {}, not a Bool", to_literal(&other)),
                            cond.span,
                        );
                    }
                },
                LKind::Match {
                    scrutinee, arms, ..
                } => {
                    let v = self.ev.eval(&mut frame.env, scrutinee, frame.ir)?;
                    let mut flow = None;
                    for (pat, body) in arms {
                        let mark = frame.env.mark();
                        if self.ev.match_pattern(pat, &v, &mut frame.env, frame.ir) {
                            let f = self.block(frame, body, last);
                            frame.env.reset(mark);
                            flow = Some(f?);
                            break;
                        }
                        frame.env.reset(mark);
                    }
                    match flow {
                        Some(f) => f,
                        None => {
                            return fault(
                                format!("no arm of this match covers {}", to_literal(&v)),
                                scrutinee.span,
                            );
                        }
                    }
                }
                LKind::Block(body) => self.block(frame, body, last)?,
                LKind::Call {
                    key,
                    roles,
                    args,
                    bind,
                    ..
                } => {
                    let mut actual = Vec::with_capacity(roles.len());
                    for r in roles {
                        actual.push(frame.peer(r, s.span)?);
                    }
                    let mut vals = Vec::with_capacity(args.len());
                    for a in args {
                        vals.push(self.ev.eval(&mut frame.env, a, frame.ir)?);
                    }
                    if last && bind.is_none() {
                        return Ok(Flow::Tail(key.clone(), actual, vals));
                    }
                    let result = self.run_proc(key.clone(), actual, vals)?;
                    if let Some(p) = bind {
                        let v = result.unwrap_or(Value::Unit);
                        if !self.ev.match_pattern(p, &v, &mut frame.env, frame.ir) {
                            return fault(
                                format!("the pattern does not match {}", to_literal(&v)),
                                s.span,
                            );
                        }
                    }
                    Flow::Normal
                }
                LKind::Return(e) => Flow::Return(self.ev.eval(&mut frame.env, e, frame.ir)?),
                LKind::Bind { pats, body } => {
                    frame.yielded.push(None);
                    let flow = self.block(frame, body, false);
                    let got = frame.yielded.pop().flatten();
                    flow?;
                    let Some(vals) = got.filter(|v| v.len() == pats.len()) else {
                        return fault("the conditional yielded no value here", s.span);
                    };
                    for (p, v) in pats.iter().zip(vals) {
                        if !self.ev.match_pattern(p, &v, &mut frame.env, frame.ir) {
                            return fault(
                                format!("the pattern does not match {}", to_literal(&v)),
                                s.span,
                            );
                        }
                    }
                    Flow::Normal
                }
                LKind::Yield(es) => {
                    let mut vals = Vec::with_capacity(es.len());
                    for e in es {
                        vals.push(self.ev.eval(&mut frame.env, e, frame.ir)?);
                    }
                    if let Some(slot) = frame.yielded.last_mut() {
                        *slot = Some(vals);
                    }
                    Flow::Normal
                }
            };
            if !matches!(flow, Flow::Normal) {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }
}

/// Run every role's local program on its own thread over in-process channels.
/// Returns the first error (by role order) if any role failed.
pub fn run_projected(
    prog: &Program,
    programs: &[LocalProgram],
    io: &dyn Io,
    timeout: Duration,
) -> Result<(), RoleError> {
    let roles: Vec<String> = programs.iter().map(|p| p.role.clone()).collect();
    let transports = ChannelTransport::mesh(&roles, timeout);
    // A family's members run the programs of their classes of alike members.
    let classes = chor_project::family_classes(programs);
    let classes = &classes;
    let results: Vec<Result<(), RoleError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = programs
            .iter()
            .zip(transports)
            .map(|(lp, t)| {
                let roles = &roles;
                std::thread::Builder::new()
                    .stack_size(crate::STACK_SIZE)
                    .spawn_scoped(scope, move || {
                        crate::stack::enter(crate::STACK_SIZE);
                        let runner = match chor_project::class_of(classes, &lp.role) {
                            Some((c, i)) => LocalRunner::member(prog, c, i, &t, io),
                            None => LocalRunner::new(prog, lp, &t, io),
                        };
                        runner.run(roles)
                    })
            })
            .collect();
        handles
            .into_iter()
            .zip(&roles)
            .map(|(h, r)| match h {
                Ok(h) => h.join().unwrap_or_else(|_| {
                    Err(RoleError {
                        role: r.clone(),
                        message: "internal error: the role's thread panicked".into(),
                        span: None,
                        called_from: None,
                    })
                }),
                Err(e) => Err(RoleError {
                    role: r.clone(),
                    message: format!("cannot start a thread: {e}"),
                    span: None,
                    called_from: None,
                }),
            })
            .collect()
    });
    // Report the root cause: a role that failed on its own rather than because a peer stopped.
    let errs: Vec<RoleError> = results.into_iter().filter_map(Result::err).collect();
    match errs
        .iter()
        .find(|e| !e.message.contains("stopped before sending"))
    {
        Some(e) => Err(e.clone()),
        None => errs.into_iter().next().map_or(Ok(()), Err),
    }
}
