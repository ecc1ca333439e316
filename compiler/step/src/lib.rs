//! chor-step: a step-through simulator of the projected programs of a choreography, for the
//! playground (`chor playground`).
//!
//! Every role runs its own [`LocalProgram`]; the messages between two roles wait in a queue per
//! channel (sender, receiver), as on a real network where sending never blocks. Unlike the
//! projected interpreter (`chor_interp::run_projected`, one thread per role), the state here is
//! explicit data, so whoever drives it chooses which role moves next: one step performs the
//! next communication of one role (a send, a selection, a receive, a branch on a label) and
//! then runs that role's local code up to its following communication. Expressions are
//! evaluated by the interpreter's own evaluator, so a run prints what `chor simulate` prints.
//!
//! A run is a list of role names (the schedule); replaying a schedule from the start gives the
//! same state, which is how a stateless server shows a run and undoes a step.

use chor_check::Program;
use chor_diagnostics::Span;
use chor_interp::eval::{Ctrl, Env, Evaluator, Io, RuntimeError};
use chor_interp::value::to_literal;
use chor_interp::{Msg, Value};
use chor_project::{LKind, LStmt, LocalProc, LocalProgram};
use chor_syntax::ast::Pattern;
use chor_syntax::pretty;
use chor_teach::RunEvent;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

/// Local statements a role runs in one step at most before it yields (a role that computes
/// for a long time between two communications stays movable and goes on at its next step).
pub const LOCAL_FUEL: usize = 100_000;

/// Where a role stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// It has more to do (it may be waiting for a message).
    Running,
    /// Its program ended.
    Done,
    /// It stopped with a fault (division by zero, a failed match, a wrong message, …).
    Failed { message: String, span: Option<Span> },
}

/// What kind of action a role does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    Send,
    Select,
    Receive,
    Branch,
    /// Local code left over when a step ran out of [`LOCAL_FUEL`].
    Local,
}

/// The next action of a role, for display.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub kind: ActionKind,
    /// e.g. `send n -> Bob`, with the peers' actual role names.
    pub text: String,
    /// The statement in the choreography.
    pub span: Span,
    /// The choreography the role is running (e.g. `PingPong as Ping`), `None` in `main`.
    pub within: Option<String>,
    /// The actual peer it talks to, for a receive or branch (the channel it waits on).
    pub waits_on: Option<String>,
}

/// One role's part of the state, for display.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleView {
    pub role: String,
    pub status: Status,
    pub next: Option<Action>,
    /// Whether a step of this role can happen now.
    pub enabled: bool,
    /// Variables in scope in the procedure the role runs: name and value.
    pub vars: Vec<(String, String)>,
}

/// How a run ended, once no role can move.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Some role can still move.
    Ongoing,
    /// Every role finished.
    Finished,
    /// A role failed (the first failure, by role order).
    Failed { role: String, message: String },
    /// Nobody can move, and these roles wait for a message that never comes.
    Stuck { waiting: Vec<String> },
}

#[derive(Clone)]
struct Cursor<'p> {
    stmts: &'p [LStmt],
    pc: usize,
    /// The environment's mark when the block began: its bindings end with it.
    mark: usize,
    /// The body of a conditional expression's [`LKind::Bind`]: when it ends, its patterns
    /// bind what the branch yielded (at the statement's span, for a fault).
    bind: Option<(&'p [Pattern], Span)>,
}

#[derive(Clone)]
struct Frame<'p> {
    proc_: &'p LocalProc,
    /// Actual role names for the procedure's roles.
    actual: Vec<String>,
    env: Env,
    blocks: Vec<Cursor<'p>>,
    /// How the caller binds the procedure's result.
    bind: Option<&'p Pattern>,
    /// The resolved names and types of the procedure's choreography (the checker's IR).
    ir: &'p chor_check::ItemIr,
    /// The call's statement, for a fault while binding the result.
    call_span: Span,
    /// Which round of a recursive procedure this is (1: called from elsewhere), and which
    /// call from elsewhere began the rounds (to mark each round once in the run).
    round: usize,
    invocation: usize,
    /// What the last branch of a conditional expression yielded, until its `Bind` ends.
    yielded: Option<Vec<Value>>,
}

impl Frame<'_> {
    fn peer(&self, name: &str, span: Span) -> Result<String, RuntimeError> {
        match self.proc_.roles.iter().position(|n| n == name) {
            Some(i) => Ok(self.actual[i].clone()),
            None => Err(RuntimeError {
                message: format!("unknown role `{name}`"),
                span,
            }),
        }
    }
}

#[derive(Clone)]
struct RoleState<'p> {
    name: String,
    frames: Vec<Frame<'p>>,
    status: Status,
    /// Calls of each choreography from outside itself, so far.
    invocations: BTreeMap<String, usize>,
}

/// The state of a run of the projected programs.
#[derive(Clone)]
pub struct Stepper<'p> {
    prog: &'p Program,
    programs: &'p [LocalProgram],
    roles: Vec<RoleState<'p>>,
    /// Messages in flight, per (sender, receiver).
    queues: BTreeMap<(String, String), VecDeque<Msg>>,
    output: Vec<(String, String)>,
    events: Vec<RunEvent>,
    schedule: Vec<String>,
    /// The rounds of recursive procedures already marked in `events`: (choreography,
    /// invocation, round).
    rounds: std::collections::BTreeSet<(String, usize, usize)>,
    /// When runs to the end stop even if roles can still move (see [`Stepper::set_deadline`]).
    deadline: Option<std::time::Instant>,
}

/// Collects what a step prints.
#[derive(Default)]
struct Lines(Mutex<Vec<(String, String)>>);

impl Io for Lines {
    fn print(&self, role: &str, line: &str) {
        if let Ok(mut l) = self.0.lock() {
            for part in line.split('\n') {
                l.push((role.to_owned(), part.to_owned()));
            }
        }
    }
    fn read_line(&self, _role: &str) -> String {
        // The playground has no standard input: `read_line` reads end of input, as a run with
        // its input closed does.
        String::new()
    }
}

fn fault<T>(message: impl Into<String>, span: Span) -> Result<T, RuntimeError> {
    Err(RuntimeError {
        message: message.into(),
        span,
    })
}

fn ctrl(c: Ctrl, span: Span) -> RuntimeError {
    match c {
        Ctrl::Fault(e) => e,
        // Evaluating an expression never returns or tail-calls out of it.
        Ctrl::Return(_) | Ctrl::Tail(..) => RuntimeError {
            message: "internal error: control flow escaped an expression".into(),
            span,
        },
    }
}

fn show_msg(m: &Msg) -> String {
    match m {
        Msg::Val(v) => to_literal(v),
        Msg::Label(l) => format!("[{l}]"),
    }
}

impl<'p> Stepper<'p> {
    /// The start of a run: each role (in the order of `main`'s roles, as `programs` lists them)
    /// has run its local code up to its first communication.
    pub fn new(prog: &'p Program, programs: &'p [LocalProgram]) -> Stepper<'p> {
        let names: Vec<String> = programs.iter().map(|p| p.role.clone()).collect();
        let roles = programs
            .iter()
            .map(|lp| match lp.procs.get(&lp.entry) {
                Some(p) => RoleState {
                    name: lp.role.clone(),
                    frames: vec![Frame {
                        ir: prog.chor_ir(&p.key.chor),
                        proc_: p,
                        actual: names.clone(),
                        env: Env::default(),
                        blocks: vec![Cursor {
                            stmts: &p.body,
                            pc: 0,
                            mark: 0,
                            bind: None,
                        }],
                        bind: None,
                        call_span: Span::default(),
                        round: 1,
                        invocation: 0,
                        yielded: None,
                    }],
                    status: Status::Running,
                    invocations: BTreeMap::new(),
                },
                None => RoleState {
                    name: lp.role.clone(),
                    frames: Vec::new(),
                    invocations: BTreeMap::new(),
                    status: Status::Failed {
                        message: "no projection of `main` for this role".into(),
                        span: None,
                    },
                },
            })
            .collect();
        let mut s = Stepper {
            prog,
            programs,
            roles,
            queues: BTreeMap::new(),
            output: Vec::new(),
            events: Vec::new(),
            schedule: Vec::new(),
            rounds: std::collections::BTreeSet::new(),
            deadline: None,
        };
        for i in 0..s.roles.len() {
            s.with_io(i, |s, ev| s.run_local(i, ev));
        }
        s
    }

    /// The roles, in order.
    pub fn roles(&self) -> Vec<String> {
        self.roles.iter().map(|r| r.name.clone()).collect()
    }

    /// Every `(role, line)` printed so far, in the order of the run.
    pub fn output(&self) -> &[(String, String)] {
        &self.output
    }

    /// What happened so far: messages as they were received, and printed lines.
    pub fn events(&self) -> &[RunEvent] {
        &self.events
    }

    /// The roles that moved, one per step.
    pub fn schedule(&self) -> &[String] {
        &self.schedule
    }

    /// The messages in flight: (sender, receiver, values in order), channels with none omitted.
    pub fn channels(&self) -> Vec<(String, String, Vec<String>)> {
        self.queues
            .iter()
            .filter(|(_, q)| !q.is_empty())
            .map(|((a, b), q)| (a.clone(), b.clone(), q.iter().map(show_msg).collect()))
            .collect()
    }

    fn index(&self, role: &str) -> Option<usize> {
        self.roles.iter().position(|r| r.name == role)
    }

    /// Run `f` with an evaluator for role `i`, then collect what it printed.
    fn with_io<R>(&mut self, i: usize, f: impl FnOnce(&mut Self, &Evaluator<'_>) -> R) -> R {
        let io = Lines::default();
        let prog = self.prog;
        let ev = Evaluator::new(prog, &io);
        ev.set_role(&std::sync::Arc::from(self.roles[i].name.as_str()));
        let r = f(self, &ev);
        drop(ev);
        for (role, line) in io.0.into_inner().unwrap_or_default() {
            self.events.push(RunEvent::Print {
                role: role.clone(),
                line: line.clone(),
            });
            self.output.push((role, line));
        }
        r
    }

    /// The statement role `i` is at (after the local code before it).
    fn current(&self, i: usize) -> Option<&'p LStmt> {
        let r = &self.roles[i];
        if r.status != Status::Running {
            return None;
        }
        let c = r.frames.last()?.blocks.last()?;
        c.stmts.get(c.pc)
    }

    /// Whether role `i` can move now.
    pub fn can_move(&self, i: usize) -> bool {
        let Some(s) = self.current(i) else {
            return false;
        };
        let Some(frame) = self.roles[i].frames.last() else {
            return false;
        };
        match &s.kind {
            LKind::Recv { from, .. } | LKind::Branch { from, .. } => {
                frame.peer(from, s.span).is_ok_and(|p| {
                    self.queues
                        .get(&(p, self.roles[i].name.clone()))
                        .is_some_and(|q| !q.is_empty())
                })
            }
            _ => true,
        }
    }

    /// The roles that can move now, in role order.
    pub fn enabled(&self) -> Vec<String> {
        (0..self.roles.len())
            .filter(|&i| self.can_move(i))
            .map(|i| self.roles[i].name.clone())
            .collect()
    }

    /// The state of every role.
    pub fn views(&self) -> Vec<RoleView> {
        (0..self.roles.len()).map(|i| self.view(i)).collect()
    }

    fn view(&self, i: usize) -> RoleView {
        let r = &self.roles[i];
        let vars = r
            .frames
            .last()
            .map(|f| {
                // The latest binding of each name, in the order names were first bound.
                let mut out: Vec<(String, String)> = Vec::new();
                for (n, v) in f.env.bindings() {
                    let shown = to_literal(v);
                    match out.iter_mut().find(|(m, _)| m == n) {
                        Some(slot) => slot.1 = shown,
                        None => out.push((n.to_owned(), shown)),
                    }
                }
                out
            })
            .unwrap_or_default();
        RoleView {
            role: r.name.clone(),
            status: r.status.clone(),
            next: self.action(i),
            enabled: self.can_move(i),
            vars,
        }
    }

    fn action(&self, i: usize) -> Option<Action> {
        let s = self.current(i)?;
        let frame = self.roles[i].frames.last()?;
        let actual = |names: &[String]| {
            names
                .iter()
                .map(|n| frame.peer(n, s.span).unwrap_or_else(|_| n.clone()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (kind, text, waits_on) = match &s.kind {
            LKind::Send { to, expr } => {
                let mut e = String::new();
                pretty::expr(expr, &mut e);
                (
                    ActionKind::Send,
                    format!("send {e} -> {}", actual(to)),
                    None,
                )
            }
            LKind::Select { to, label } => (
                ActionKind::Select,
                format!("select [{label}] -> {}", actual(to)),
                None,
            ),
            LKind::Recv { from, var, .. } => {
                let p = actual(std::slice::from_ref(from));
                (
                    ActionKind::Receive,
                    format!("receive {var} from {p}"),
                    Some(p),
                )
            }
            LKind::Branch { from, arms } => {
                let p = actual(std::slice::from_ref(from));
                let labels: Vec<&str> = arms.iter().map(|(l, _)| l.as_str()).collect();
                (
                    ActionKind::Branch,
                    format!("branch on a label from {p} ({})", labels.join(" | ")),
                    Some(p),
                )
            }
            _ => {
                let text = chor_project::local::stmt_text(s);
                let first = text.lines().next().unwrap_or("").trim().to_owned();
                (ActionKind::Local, first, None)
            }
        };
        let p = frame.proc_;
        let within = (p.key.chor != "main").then(|| format!("{} as {}", p.key.chor, p.role));
        Some(Action {
            kind,
            text,
            span: s.span,
            within,
            waits_on,
        })
    }

    /// Move role `role` one step: its next communication, then its local code up to the one
    /// after. Returns false (and changes nothing) when the role cannot move now.
    pub fn step(&mut self, role: &str) -> bool {
        let Some(i) = self.index(role) else {
            return false;
        };
        if !self.can_move(i) {
            return false;
        }
        self.schedule.push(role.to_owned());
        self.with_io(i, |s, ev| {
            if let Err(e) = s.communicate(i, ev) {
                s.fail(i, e);
                return;
            }
            s.run_local(i, ev);
        });
        true
    }

    /// Replay `schedule` from the current state; stops at the first role that cannot move and
    /// returns how many steps were taken.
    pub fn replay<S: AsRef<str>>(&mut self, schedule: &[S]) -> usize {
        let mut n = 0;
        for r in schedule {
            if !self.step(r.as_ref()) {
                break;
            }
            n += 1;
        }
        n
    }

    /// Make [`Stepper::run_to_end`] and [`Stepper::run_random`] stop at `deadline` even if
    /// roles can still move (a role computing forever between two communications, or a
    /// protocol that never ends, must not keep an interactive caller waiting). Each step
    /// still runs at most [`LOCAL_FUEL`] local statements.
    pub fn set_deadline(&mut self, deadline: std::time::Instant) {
        self.deadline = Some(deadline);
    }

    fn out_of_time(&self) -> bool {
        self.deadline
            .is_some_and(|d| std::time::Instant::now() >= d)
    }

    /// Step the first role (in role order) that can move, until none can or `limit` steps
    /// were taken (or the deadline passed); returns the number of steps. Roles about to
    /// communicate go before roles with local work left over from their last step.
    pub fn run_to_end(&mut self, limit: usize) -> usize {
        let mut n = 0;
        while n < limit && !self.out_of_time() {
            // A role with local work left over (it ran out of fuel) goes last, so that a role
            // computing for a long time does not keep the others from communicating.
            let enabled = self.enabled();
            let comm = enabled.iter().find(|r| {
                self.index(r)
                    .and_then(|i| self.action(i))
                    .is_some_and(|a| a.kind != ActionKind::Local)
            });
            let Some(r) = comm.or(enabled.first()).cloned() else {
                break;
            };
            self.step(&r);
            n += 1;
        }
        n
    }

    /// Step a role chosen at random among those that can move (a pseudo-random sequence from
    /// `seed`), until none can or `limit` steps were taken; returns the number of steps.
    pub fn run_random(&mut self, seed: u64, limit: usize) -> usize {
        let mut x = seed | 1;
        let mut n = 0;
        while n < limit && !self.out_of_time() {
            let enabled = self.enabled();
            if enabled.is_empty() {
                break;
            }
            // xorshift64: a small generator suffices to pick a schedule.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let pick = (x % enabled.len() as u64) as usize;
            self.step(&enabled[pick]);
            n += 1;
        }
        n
    }

    /// How the run stands.
    pub fn outcome(&self) -> Outcome {
        if let Some(r) = self
            .roles
            .iter()
            .find(|r| matches!(r.status, Status::Failed { .. }))
            && let Status::Failed { message, .. } = &r.status
        {
            return Outcome::Failed {
                role: r.name.clone(),
                message: message.clone(),
            };
        }
        if !self.enabled().is_empty() {
            return Outcome::Ongoing;
        }
        let waiting: Vec<String> = self
            .roles
            .iter()
            .filter(|r| r.status == Status::Running)
            .map(|r| r.name.clone())
            .collect();
        if waiting.is_empty() {
            Outcome::Finished
        } else {
            Outcome::Stuck { waiting }
        }
    }

    fn fail(&mut self, i: usize, e: RuntimeError) {
        self.roles[i].status = Status::Failed {
            message: e.message,
            span: Some(e.span),
        };
    }

    /// Perform the communication role `i` is at (it can move).
    fn communicate(&mut self, i: usize, ev: &Evaluator<'_>) -> Result<(), RuntimeError> {
        let Some(s) = self.current(i) else {
            return Ok(());
        };
        let me = self.roles[i].name.clone();
        let Some(frame) = self.roles[i].frames.last_mut() else {
            return Ok(());
        };
        match &s.kind {
            LKind::Send { to, expr } => {
                let v = ev
                    .eval(&mut frame.env, expr, frame.ir)
                    .map_err(|c| ctrl(c, s.span))?;
                let peers = to
                    .iter()
                    .map(|r| frame.peer(r, s.span))
                    .collect::<Result<Vec<_>, _>>()?;
                if chor_print::deeper_than(&v, chor_interp::global::MAX_MESSAGE_DEPTH) {
                    let first = peers.first().map(|p| p.to_string()).unwrap_or_default();
                    return fault(chor_interp::global::too_deep(&first), s.span);
                }
                advance(frame);
                for p in peers {
                    self.queues
                        .entry((me.clone(), p))
                        .or_default()
                        .push_back(Msg::Val(v.clone()));
                }
            }
            LKind::Select { to, label } => {
                let peers = to
                    .iter()
                    .map(|r| frame.peer(r, s.span))
                    .collect::<Result<Vec<_>, _>>()?;
                advance(frame);
                for p in peers {
                    self.queues
                        .entry((me.clone(), p))
                        .or_default()
                        .push_back(Msg::Label(label.clone()));
                }
            }
            LKind::Recv { from, var, .. } => {
                let p = frame.peer(from, s.span)?;
                let m = self
                    .queues
                    .get_mut(&(p.clone(), me.clone()))
                    .and_then(VecDeque::pop_front);
                match m {
                    Some(Msg::Val(v)) => {
                        self.events.push(RunEvent::Comm {
                            from: p,
                            to: me,
                            value: to_literal(&v),
                            var: Some(var.clone()),
                        });
                        frame.env.bind(var, v);
                        advance(frame);
                    }
                    Some(Msg::Label(l)) => {
                        return fault(
                            format!("expected a value from {p}, got the selection [{l}]"),
                            s.span,
                        );
                    }
                    None => return fault(format!("no message from {p}"), s.span),
                }
            }
            LKind::Branch { from, arms } => {
                let p = frame.peer(from, s.span)?;
                let m = self
                    .queues
                    .get_mut(&(p.clone(), me.clone()))
                    .and_then(VecDeque::pop_front);
                match m {
                    Some(Msg::Label(l)) => {
                        let Some((_, body)) = arms.iter().find(|(a, _)| *a == l) else {
                            return fault(format!("unexpected selection [{l}] from {p}"), s.span);
                        };
                        self.events.push(RunEvent::Select {
                            from: p,
                            to: me,
                            label: l,
                        });
                        advance(frame);
                        enter(frame, body);
                    }
                    Some(Msg::Val(v)) => {
                        return fault(
                            format!(
                                "expected a selection from {p}, got the value {}",
                                to_literal(&v)
                            ),
                            s.span,
                        );
                    }
                    None => return fault(format!("no selection from {p}"), s.span),
                }
            }
            // Local code left over from a step that ran out of fuel.
            _ => {}
        }
        Ok(())
    }

    /// Run role `i`'s local code up to its next communication (or its end, or a fault, or
    /// [`LOCAL_FUEL`] statements).
    fn run_local(&mut self, i: usize, ev: &Evaluator<'_>) {
        for k in 0..LOCAL_FUEL {
            if k % 1024 == 1023 && self.out_of_time() {
                return;
            }
            match self.local_step(i, ev) {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    self.fail(i, e);
                    return;
                }
            }
        }
    }

    /// One local statement (or the end of a block or procedure); false when role `i` is at a
    /// communication, finished or failed.
    fn local_step(&mut self, i: usize, ev: &Evaluator<'_>) -> Result<bool, RuntimeError> {
        let r = &mut self.roles[i];
        if r.status != Status::Running {
            return Ok(false);
        }
        let Some(frame) = r.frames.last_mut() else {
            r.status = Status::Done;
            return Ok(false);
        };
        let Some(cursor) = frame.blocks.last() else {
            // The procedure ran to its end without `return`.
            return finish(r, Value::Unit, ev).map(|()| true);
        };
        let Some(s) = cursor.stmts.get(cursor.pc) else {
            let (mark, bind) = (cursor.mark, cursor.bind);
            frame.blocks.pop();
            frame.env.reset(mark);
            if let Some((pats, span)) = bind {
                let Some(vals) = frame.yielded.take().filter(|v| v.len() == pats.len()) else {
                    return fault("the conditional yielded no value here", span);
                };
                for (p, v) in pats.iter().zip(vals) {
                    if !ev.match_pattern(p, &v, &mut frame.env, frame.ir) {
                        return fault(
                            format!("the pattern does not match {}", to_literal(&v)),
                            span,
                        );
                    }
                }
            }
            return Ok(true);
        };
        let ev_err = |c: Ctrl| ctrl(c, s.span);
        match &s.kind {
            LKind::Send { .. }
            | LKind::Select { .. }
            | LKind::Recv { .. }
            | LKind::Branch { .. } => return Ok(false),
            LKind::Let { pat, value } => {
                let v = ev.eval(&mut frame.env, value, frame.ir).map_err(ev_err)?;
                if !ev.match_pattern(pat, &v, &mut frame.env, frame.ir) {
                    return fault(
                        format!("the pattern does not match {}", to_literal(&v)),
                        s.span,
                    );
                }
                advance(frame);
            }
            LKind::Effect(e) => {
                ev.eval(&mut frame.env, e, frame.ir).map_err(ev_err)?;
                advance(frame);
            }
            LKind::If {
                cond, then, els, ..
            } => {
                let v = ev.eval(&mut frame.env, cond, frame.ir).map_err(ev_err)?;
                let body = match v {
                    Value::Bool(true) => then,
                    Value::Bool(false) => els,
                    other => {
                        return fault(
                            format!("condition is {}, not a Bool", to_literal(&other)),
                            cond.span,
                        );
                    }
                };
                advance(frame);
                enter(frame, body);
            }
            LKind::Match {
                scrutinee, arms, ..
            } => {
                let v = ev
                    .eval(&mut frame.env, scrutinee, frame.ir)
                    .map_err(ev_err)?;
                advance(frame);
                let mark = frame.env.mark();
                let mut chosen = None;
                for (pat, body) in arms {
                    if ev.match_pattern(pat, &v, &mut frame.env, frame.ir) {
                        chosen = Some(body);
                        break;
                    }
                    frame.env.reset(mark);
                }
                let Some(body) = chosen else {
                    return fault(
                        format!("no arm of this match covers {}", to_literal(&v)),
                        scrutinee.span,
                    );
                };
                // The arm's bindings end with the arm.
                frame.blocks.push(Cursor {
                    stmts: body,
                    pc: 0,
                    mark,
                    bind: None,
                });
            }
            LKind::Block(body) => {
                advance(frame);
                enter(frame, body);
            }
            LKind::Bind { pats, body } => {
                advance(frame);
                let mark = frame.env.mark();
                frame.blocks.push(Cursor {
                    stmts: body,
                    pc: 0,
                    mark,
                    bind: Some((pats, s.span)),
                });
            }
            LKind::Yield(es) => {
                let mut vals = Vec::with_capacity(es.len());
                for e in es {
                    vals.push(ev.eval(&mut frame.env, e, frame.ir).map_err(ev_err)?);
                }
                frame.yielded = Some(vals);
                advance(frame);
            }
            LKind::Call {
                key,
                roles,
                args,
                bind,
                ..
            } => {
                let actual = roles
                    .iter()
                    .map(|n| frame.peer(n, s.span))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(ev.eval(&mut frame.env, a, frame.ir).map_err(ev_err)?);
                }
                let Some(lp) = self.lp(i) else {
                    return fault("no local program for this role", s.span);
                };
                let Some(callee) = lp.procs.get(key) else {
                    return fault(
                        format!("no projection of `{}` for this role", key.chor),
                        s.span,
                    );
                };
                let r = &mut self.roles[i];
                let Some(frame) = r.frames.last_mut() else {
                    return Ok(false);
                };
                advance(frame);
                let mut env = Env::default();
                for (n, v) in callee.params.iter().zip(vals) {
                    env.bind(n, v);
                }
                let (round, invocation) = if frame.proc_.key.chor == key.chor {
                    (frame.round + 1, frame.invocation)
                } else {
                    let n = r.invocations.entry(key.chor.clone()).or_default();
                    *n += 1;
                    (1, *n)
                };
                let mut new = Frame {
                    ir: self.prog.chor_ir(&callee.key.chor),
                    proc_: callee,
                    actual,
                    env,
                    blocks: vec![Cursor {
                        stmts: &callee.body,
                        pc: 0,
                        mark: 0,
                        bind: None,
                    }],
                    bind: bind.as_ref(),
                    call_span: s.span,
                    round,
                    invocation,
                    yielded: None,
                };
                // A call in tail position replaces its caller (as in every back end), so a
                // recursive protocol runs in constant space however many rounds it plays.
                let tail = bind.is_none() && frame.blocks.iter().all(|c| c.pc >= c.stmts.len());
                if tail && let Some(old) = r.frames.pop() {
                    new.bind = old.bind;
                    new.call_span = old.call_span;
                }
                if r.frames.len() > 10_000 {
                    return fault(chor_interp::stack::OVERFLOW, s.span);
                }
                // The first role to begin a new round of a recursive procedure marks it.
                if round > 1 && self.rounds.insert((key.chor.clone(), invocation, round)) {
                    self.events.push(RunEvent::Round {
                        chor: key.chor.clone(),
                        round,
                        roles: new.actual.clone(),
                    });
                }
                r.frames.push(new);
            }
            LKind::Return(e) => {
                let v = ev.eval(&mut frame.env, e, frame.ir).map_err(ev_err)?;
                finish(r, v, ev)?;
            }
        }
        Ok(true)
    }

    fn lp(&self, i: usize) -> Option<&'p LocalProgram> {
        // The entry frame's procedure belongs to the role's program; find the program by role.
        let name = &self.roles[i].name;
        self.programs.iter().find(|p| &p.role == name)
    }
}

/// Move past the current statement of the innermost block.
fn advance(frame: &mut Frame<'_>) {
    if let Some(c) = frame.blocks.last_mut() {
        c.pc += 1;
    }
}

/// Start running `body` as a nested block.
fn enter<'p>(frame: &mut Frame<'p>, body: &'p [LStmt]) {
    let mark = frame.env.mark();
    frame.blocks.push(Cursor {
        stmts: body,
        pc: 0,
        mark,
        bind: None,
    });
}

/// The innermost procedure of `r` returned `v`: bind it in the caller as the call asked.
fn finish(r: &mut RoleState<'_>, v: Value, ev: &Evaluator<'_>) -> Result<(), RuntimeError> {
    let Some(done) = r.frames.pop() else {
        return Ok(());
    };
    match r.frames.last_mut() {
        None => r.status = Status::Done,
        Some(caller) => {
            if let Some(p) = done.bind
                && !ev.match_pattern(p, &v, &mut caller.env, caller.ir)
            {
                return fault(
                    format!("the pattern does not match {}", to_literal(&v)),
                    done.call_span,
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PING: &str = r#"
choreography main(A, B) {
    let A.n = 2;
    A.n -> B.x;
    B.print("got " ++ to_string(x));
    if A.n > 1 {
        A -> B[Big];
        B.x + 1 -> A.y;
        A.print("back " ++ to_string(y));
    } else {
        A -> B[Small];
    }
}
"#;

    fn setup(src: &str) -> (Program, Vec<LocalProgram>) {
        let prog = chor_check::program::from_source("t.chor", src, vec![]);
        let (diags, _) = chor_check::check_diagnostics(&prog, None);
        let errors: Vec<_> = diags.iter().filter(|d| d.is_error()).collect();
        assert!(errors.is_empty(), "{errors:?}");
        let locals = chor_project::project_program(&prog, "main").expect("projects");
        (prog, locals)
    }

    #[test]
    fn a_receive_waits_for_its_message_and_the_queue_shows_it() {
        let (prog, locals) = setup(PING);
        let mut s = Stepper::new(&prog, &locals);
        // B waits for A's value; only A can move.
        assert_eq!(s.enabled(), vec!["A".to_owned()]);
        let b = &s.views()[1];
        assert_eq!(b.next.as_ref().map(|a| a.kind), Some(ActionKind::Receive));
        assert_eq!(
            b.next.as_ref().and_then(|a| a.waits_on.clone()),
            Some("A".to_owned())
        );
        assert_eq!(s.views()[0].vars, vec![("n".to_owned(), "2".to_owned())]);
        assert!(!s.step("B"), "B cannot move before the message is sent");
        assert!(s.step("A"));
        assert_eq!(
            s.channels(),
            vec![("A".to_owned(), "B".to_owned(), vec!["2".to_owned()])]
        );
        // Sending never blocks: A goes on to select before B has received anything.
        assert!(s.step("A"));
        assert_eq!(s.channels()[0].2, vec!["2".to_owned(), "[Big]".to_owned()]);
        assert!(s.output().is_empty());
        assert!(s.step("B"));
        assert_eq!(s.output(), &[("B".to_owned(), "got 2".to_owned())]);
        assert_eq!(s.views()[1].vars, vec![("x".to_owned(), "2".to_owned())]);
        assert_eq!(s.outcome(), Outcome::Ongoing);
        s.run_to_end(100);
        assert_eq!(s.outcome(), Outcome::Finished);
        assert_eq!(
            s.output().last(),
            Some(&("A".to_owned(), "back 3".to_owned()))
        );
        assert!(
            s.views()
                .iter()
                .all(|v| v.status == Status::Done && !v.enabled)
        );
    }

    #[test]
    fn undo_is_a_replay_of_the_schedule_but_its_last_step() {
        let (prog, locals) = setup(PING);
        let mut s = Stepper::new(&prog, &locals);
        s.run_random(3, 100);
        let full = s.schedule().to_vec();
        assert!(full.len() >= 5, "{full:?}");
        let mut before = Stepper::new(&prog, &locals);
        before.replay(&full[..full.len() - 1]);
        let mut redo = before.clone();
        assert!(redo.step(&full[full.len() - 1]));
        assert_eq!(redo.output(), s.output());
        assert_eq!(redo.events(), s.events());
        assert_ne!(before.events(), s.events());
    }

    #[test]
    fn the_run_records_messages_with_the_receiving_variable() {
        let (prog, locals) = setup(PING);
        let mut s = Stepper::new(&prog, &locals);
        s.run_to_end(100);
        assert_eq!(
            s.events()[0],
            RunEvent::Comm {
                from: "A".into(),
                to: "B".into(),
                value: "2".into(),
                var: Some("x".into()),
            }
        );
        assert!(s.events().contains(&RunEvent::Select {
            from: "A".into(),
            to: "B".into(),
            label: "Big".into(),
        }));
    }

    #[test]
    fn a_fault_stops_the_role_and_names_it() {
        let (prog, locals) = setup(
            r#"
choreography main(A, B) {
    let A.z = 0;
    A.z -> B.d;
    B.print(to_string(10 / d));
}
"#,
        );
        let mut s = Stepper::new(&prog, &locals);
        s.run_to_end(100);
        match s.outcome() {
            Outcome::Failed { role, message } => {
                assert_eq!(role, "B");
                assert!(message.contains("zero"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            s.views()[1].status,
            Status::Failed { span: Some(_), .. }
        ));
    }

    #[test]
    fn a_role_that_computes_forever_stays_movable_and_a_run_stops_at_its_deadline() {
        let (prog, locals) = setup(
            r#"
choreography Spin(A)(n: Int@A) {
    let A.m = n + 1;
    Spin(A)(A.m);
}
choreography main(A, B) {
    let A.z = 0;
    A.z -> B._w;
    Spin(A)(A.z);
}
"#,
        );
        let mut s = Stepper::new(&prog, &locals);
        assert!(s.step("A"), "A sends, then spins");
        let a = &s.views()[0];
        assert!(a.enabled, "A has local work left");
        assert_eq!(a.next.as_ref().map(|n| n.kind), Some(ActionKind::Local));
        s.set_deadline(std::time::Instant::now() + std::time::Duration::from_millis(300));
        let started = std::time::Instant::now();
        s.run_to_end(usize::MAX);
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        assert_eq!(s.outcome(), Outcome::Ongoing);
        assert_eq!(s.views()[1].status, Status::Done);
    }

    #[test]
    fn a_long_recursive_protocol_runs_in_constant_frames() {
        let (prog, locals) = setup(
            r#"
choreography Loop(A, B)(n: Int@A) {
    if A.n > 0 {
        A -> B[Go];
        A.n -> B._k;
        let A.m = n - 1;
        Loop(A, B)(A.m);
    } else {
        A -> B[Stop];
        B.print("done");
    }
}
choreography main(A, B) {
    let A.n = 3000;
    Loop(A, B)(A.n);
}
"#,
        );
        let mut s = Stepper::new(&prog, &locals);
        let mut deepest = 0;
        while let Some(r) = s.enabled().first().cloned() {
            s.step(&r);
            deepest = deepest.max(s.roles.iter().map(|r| r.frames.len()).max().unwrap_or(0));
        }
        assert!(deepest <= 2, "{deepest} frames");
        assert_eq!(s.outcome(), Outcome::Finished);
        assert_eq!(s.output(), &[("B".to_owned(), "done".to_owned())]);
        assert_eq!(s.schedule().len(), 3000 * 4 + 2);
        // Each round after the first is marked once in the run, not once per role.
        let rounds: Vec<usize> = s
            .events()
            .iter()
            .filter_map(|e| match e {
                RunEvent::Round { chor, round, roles } => {
                    assert_eq!((chor.as_str(), roles.len()), ("Loop", 2));
                    Some(*round)
                }
                _ => None,
            })
            .collect();
        assert_eq!(rounds, (2..=3001).collect::<Vec<_>>());
    }
}
