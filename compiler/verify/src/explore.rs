//! Breadth-first search over every interleaving of the roles' flattened programs.
//!
//! A state is every role's call stack plus the contents of every channel, encoded as one
//! `u32` slice so that the visited set can hash and compare it quickly. Breadth-first order
//! makes each reported trace a shortest one, which is the easiest to read.

use crate::code::{ChoiceKind, Instr, Interner, Labels, Local, RoleCode};
use crate::values::Term;
use crate::{Finding, Kind, Located, Options, Report};
use chor_diagnostics::Span;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

/// The visited set's keys are already hashes: use them as they are.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = x;
    }
}

/// A message in a channel: a label (odd), or a value (even), which is the value's term (see
/// `values`), or term 0 for every value when no decision is a group's and values do not matter.
fn label_msg(label: u32) -> u32 {
    label * 2 + 1
}
fn value_msg(term: u32) -> u32 {
    term * 2
}
fn is_value(m: u32) -> bool {
    m & 1 == 0
}

/// In an environment, the name that marks the start of a scope.
const MARK: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Frame {
    proc: u32,
    /// Index into the interned role maps: the global role of each of the procedure's roles.
    map: u32,
    pc: u32,
    /// The variables (interned `[name, term, …]`, scopes opened by `MARK`); 0 when values are
    /// not tracked.
    env: u32,
    /// Values in passing (interned): what a branch yielded, or what a callee returned.
    reg: u32,
}

#[derive(Debug, Clone)]
struct Work {
    stacks: Vec<Vec<Frame>>,
    /// `chans[from * n + to]`, oldest message first.
    chans: Vec<VecDeque<u32>>,
}

/// How a state was reached: which role ran which instruction, and which arm it took.
#[derive(Debug, Clone, Copy)]
struct Edge {
    parent: u32,
    role: u16,
    frame: Frame,
    arm: u32,
}

const NONE: u32 = u32::MAX;

/// The role maps met so far: a frame stores an index, so states stay small.
#[derive(Default)]
struct Maps {
    list: Vec<Vec<u16>>,
    ids: HashMap<Vec<u16>, u32>,
}

impl Maps {
    fn id(&mut self, m: Vec<u16>) -> u32 {
        if let Some(&i) = self.ids.get(&m) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(m.clone());
        self.ids.insert(m, i);
        i
    }
    fn get(&self, id: u32) -> &[u16] {
        self.list.get(id as usize).map_or(&[], Vec::as_slice)
    }
}

pub(crate) struct Explorer<'a> {
    codes: &'a [RoleCode],
    labels: &'a Labels,
    opts: &'a Options,
    n: usize,
    maps: Maps,
    /// Every state's encoding, back to back; state `i` starts at `starts[i]`.
    data: Vec<u32>,
    starts: Vec<usize>,
    edges: Vec<Edge>,
    /// Reused buffers: the successor being encoded, and a role's new call stack.
    scratch: Vec<u32>,
    stack_buf: Vec<Frame>,
    /// Per role and procedure, a number naming its choreography (for the depth bound).
    chor_ids: Vec<Vec<u32>>,
    /// First state index per hash, then a chain through `chain` for collisions.
    heads: HashMap<u64, u32, BuildHasherDefault<Prehashed>>,
    chain: Vec<u32>,
    transitions: usize,
    cut: usize,
    seen_findings: HashSet<(Kind, Vec<(u32, Span)>)>,
    findings: Vec<Finding>,
    more_findings: usize,
    /// Whether values are tracked: only when some decision is a group's.
    track: bool,
    terms: Interner<Term>,
    envs: Interner<Vec<u32>>,
    regs: Interner<Vec<u32>>,
    /// Call-stack positions, which name the atoms made there.
    ctxs: Interner<Vec<u32>>,
    /// What can flow into a group's decision (see `Relevant`): only that is tracked.
    relevant: Relevant,
    /// Terms that are pure functions (the value of `int::abs`, of a pure user function): a
    /// variable holding one may be called in an agreed expression.
    pure_fns: HashSet<u32>,
}

/// The variables (by name) whose values can flow into a decision of a group, and whether
/// sent, yielded and returned values can. Tracking nothing else keeps the states of runs that
/// differ only in other values merged. An over-approximation by name, across roles and
/// scopes: a value it leaves out can never be read by a group's decision.
#[derive(Default)]
struct Relevant {
    /// Per role and procedure, the names whose values can reach a group's decision.
    names: Vec<Vec<HashSet<u32>>>,
    /// The statements (by span) whose messages a relevant variable receives: their sends
    /// carry terms. Any other send carries "unknown" (term 0), which a relevant receive turns
    /// into an atom of its own, so a mismatched pair can only make values differ.
    sends: HashSet<Span>,
    /// Per role and procedure: whether what its branches yield, and what it returns, can.
    yields: Vec<Vec<bool>>,
    rets: Vec<Vec<bool>>,
    /// Per role and procedure, the `Enter`/`Exit` steps of scopes that bind nothing relevant:
    /// skipped, so that they do not make new environments.
    idle_scopes: Vec<Vec<HashSet<usize>>>,
    /// Per role, procedure and pc, the relevant names that some instruction reachable from
    /// there reads (sorted). A binding of any other name is dropped from the environment:
    /// runs that differ only in values nobody reads again then meet in one state. (A later
    /// binding of the same name does not count as a kill: after a scope ends, an outer
    /// binding of the name is visible again.)
    live: Vec<Vec<Vec<Vec<u32>>>>,
}

impl Relevant {
    fn is(&self, role: usize, proc: u32, name: u32) -> bool {
        self.names
            .get(role)
            .and_then(|p| p.get(proc as usize))
            .is_some_and(|s| s.contains(&name))
    }

    fn of(codes: &[RoleCode]) -> Relevant {
        let mut rel = Relevant {
            names: codes
                .iter()
                .map(|c| vec![HashSet::new(); c.procs.len()])
                .collect(),
            yields: codes.iter().map(|c| vec![false; c.procs.len()]).collect(),
            rets: codes.iter().map(|c| vec![false; c.procs.len()]).collect(),
            ..Relevant::default()
        };
        let read = |c: &RoleCode, e: u32, names: &mut HashSet<u32>| -> bool {
            let mut changed = false;
            for r in c.exprs.get(e as usize).map_or(&[][..], |i| &i.refs[..]) {
                if r.name != MARK {
                    changed |= names.insert(r.name);
                }
            }
            changed
        };
        let binds = |c: &RoleCode, p: u32, names: &HashSet<u32>| -> bool {
            c.pats.get(p as usize).is_some_and(|i| {
                i.bare.iter().any(|n| names.contains(n))
                    || i.parts.iter().any(|(n, _)| names.contains(n))
            })
        };
        loop {
            let mut changed = false;
            for (ri, c) in codes.iter().enumerate() {
                for (pi, p) in c.procs.iter().enumerate() {
                    for i in &p.code {
                        let names = &mut rel.names[ri][pi];
                        match i {
                            Instr::AgreeSend { cond, .. } | Instr::AgreeRecv { cond, .. } => {
                                changed |= read(c, *cond, names);
                            }
                            Instr::Recv { var, span, .. } if names.contains(var) => {
                                changed |= rel.sends.insert(*span);
                            }
                            Instr::Send { value, span, .. } if rel.sends.contains(span) => {
                                changed |= read(c, *value, names);
                            }
                            Instr::Call { proc, args, .. } => {
                                let params = &c.procs[*proc].params;
                                let wanted: Vec<usize> = params
                                    .iter()
                                    .enumerate()
                                    .filter(|(_, p)| rel.names[ri][*proc].contains(p))
                                    .map(|(k, _)| k)
                                    .collect();
                                let names = &mut rel.names[ri][pi];
                                for k in wanted {
                                    if let Some(a) = args.get(k) {
                                        changed |= read(c, *a, names);
                                    }
                                }
                            }
                            Instr::Local(Local::Let { pat, value }) if binds(c, *pat, names) => {
                                changed |= read(c, *value, names);
                            }
                            Instr::Local(Local::Yield(es)) if rel.yields[ri][pi] => {
                                for e in es {
                                    changed |= read(c, *e, names);
                                }
                            }
                            Instr::Local(Local::BindYield(ps))
                                if !rel.yields[ri][pi]
                                    && ps.iter().any(|p| binds(c, *p, names)) =>
                            {
                                rel.yields[ri][pi] = true;
                                changed = true;
                            }
                            Instr::Local(Local::SetRet(e)) if rel.rets[ri][pi] => {
                                changed |= read(c, *e, names);
                            }
                            _ => {}
                        }
                    }
                    // A bound result makes the callee's `return` relevant.
                    for (k, i) in p.code.iter().enumerate() {
                        if let (Instr::Call { proc, .. }, Some(Instr::Local(Local::BindRet(b)))) =
                            (i, p.code.get(k + 1))
                            && binds(c, *b, &rel.names[ri][pi])
                            && !rel.rets[ri][*proc]
                        {
                            rel.rets[ri][*proc] = true;
                            changed = true;
                        }
                    }
                }
            }
            if !changed {
                break;
            }
        }
        rel.idle_scopes = codes
            .iter()
            .enumerate()
            .map(|(ri, c)| {
                c.procs
                    .iter()
                    .enumerate()
                    .map(|(pi, p)| {
                        let names = &rel.names[ri][pi];
                        // Scopes nest in code order: each arm is `Enter … Exit`.
                        let mut idle = HashSet::new();
                        let mut open: Vec<(usize, bool)> = Vec::new();
                        for (pc, i) in p.code.iter().enumerate() {
                            let binds_relevant = match i {
                                Instr::Recv { var, .. } => names.contains(var),
                                Instr::Local(Local::Let { pat, .. } | Local::BindRet(pat)) => {
                                    binds(c, *pat, names)
                                }
                                Instr::Local(Local::BindYield(ps)) => {
                                    ps.iter().any(|p| binds(c, *p, names))
                                }
                                _ => false,
                            };
                            match i {
                                Instr::Local(Local::Enter) => open.push((pc, false)),
                                Instr::Local(Local::Exit) => {
                                    if let Some((start, used)) = open.pop() {
                                        if used {
                                            if let Some(o) = open.last_mut() {
                                                o.1 = true;
                                            }
                                        } else {
                                            idle.insert(start);
                                            idle.insert(pc);
                                        }
                                    }
                                }
                                _ if binds_relevant => {
                                    if let Some(o) = open.last_mut() {
                                        o.1 = true;
                                    }
                                }
                                _ => {}
                            }
                        }
                        idle
                    })
                    .collect()
            })
            .collect();
        rel.live = codes
            .iter()
            .enumerate()
            .map(|(ri, c)| {
                c.procs
                    .iter()
                    .enumerate()
                    .map(|(pi, p)| liveness(c, &p.code, &rel.names[ri][pi]))
                    .collect()
            })
            .collect();
        rel
    }
}

/// The names an instruction reads.
fn reads(c: &RoleCode, i: &Instr, out: &mut Vec<u32>) {
    let mut expr = |e: u32| {
        if let Some(info) = c.exprs.get(e as usize) {
            out.extend(info.refs.iter().map(|r| r.name).filter(|&n| n != MARK));
        }
    };
    match i {
        Instr::Send { value, .. } => expr(*value),
        Instr::AgreeSend { cond, .. } | Instr::AgreeRecv { cond, .. } => expr(*cond),
        Instr::Call { args, .. } => args.iter().for_each(|a| expr(*a)),
        Instr::Local(Local::Let { value, .. } | Local::SetRet(value)) => expr(*value),
        Instr::Local(Local::Yield(es)) => es.iter().for_each(|e| expr(*e)),
        _ => {}
    }
}

/// `Relevant::live` for one procedure: code only jumps forward, so one backward pass.
fn liveness(c: &RoleCode, code: &[Instr], relevant: &HashSet<u32>) -> Vec<Vec<u32>> {
    let n = code.len();
    let mut live: Vec<Vec<u32>> = vec![Vec::new(); n + 1];
    let mut buf = Vec::new();
    for pc in (0..n).rev() {
        buf.clear();
        reads(c, &code[pc], &mut buf);
        let mut set: std::collections::BTreeSet<u32> = buf
            .iter()
            .copied()
            .filter(|x| relevant.contains(x))
            .collect();
        let succs: Vec<usize> = match &code[pc] {
            Instr::Jump(t) => vec![*t],
            Instr::Return => Vec::new(),
            Instr::Choice { targets, .. } => targets.clone(),
            Instr::Branch { arms, .. } => arms.iter().map(|a| a.1).collect(),
            _ => vec![pc + 1],
        };
        for s in succs {
            if s > pc && s <= n {
                set.extend(live[s].iter().copied());
            }
        }
        live[pc] = set.into_iter().collect();
    }
    live
}

impl<'a> Explorer<'a> {
    pub(crate) fn new(codes: &'a [RoleCode], labels: &'a Labels, opts: &'a Options) -> Self {
        Explorer {
            codes,
            labels,
            opts,
            n: codes.len(),
            maps: Maps::default(),
            data: Vec::new(),
            starts: Vec::new(),
            edges: Vec::new(),
            scratch: Vec::new(),
            stack_buf: Vec::new(),
            chor_ids: {
                let mut ids: HashMap<&str, u32> = HashMap::new();
                codes
                    .iter()
                    .map(|c| {
                        c.procs
                            .iter()
                            .map(|p| {
                                let next = ids.len() as u32;
                                *ids.entry(p.name.as_str()).or_insert(next)
                            })
                            .collect()
                    })
                    .collect()
            },
            heads: HashMap::default(),
            chain: Vec::new(),
            transitions: 0,
            cut: 0,
            seen_findings: HashSet::new(),
            findings: Vec::new(),
            more_findings: 0,
            track: codes.iter().any(|c| {
                c.procs.iter().any(|p| {
                    p.code
                        .iter()
                        .any(|i| matches!(i, Instr::AgreeSend { .. } | Instr::AgreeRecv { .. }))
                })
            }),
            terms: {
                let mut t = Interner::default();
                // Term 0: every value, when values are not tracked.
                t.id(Term::Op {
                    text: u32::MAX,
                    args: Vec::new(),
                });
                t
            },
            envs: {
                let mut e = Interner::default();
                e.id(Vec::new());
                e
            },
            regs: {
                let mut e = Interner::default();
                e.id(Vec::new());
                e
            },
            ctxs: Interner::default(),
            relevant: Relevant::of(codes),
            pure_fns: HashSet::new(),
        }
    }

    fn instr(&self, role: usize, f: Frame) -> &'a Instr {
        let code = &self.codes[role].procs[f.proc as usize].code;
        // Every body ends with `Return` and jumps stay inside the body, so pc is in range.
        code.get(f.pc as usize).unwrap_or(&Instr::Return)
    }

    fn global(&self, f: Frame, local: u16) -> usize {
        self.maps
            .get(f.map)
            .get(local as usize)
            .copied()
            .unwrap_or(0) as usize
    }

    /// Follow jumps, run local steps and pop finished frames until the role is at an action
    /// or done.
    fn normalize(&mut self, role: usize, stack: &mut Vec<Frame>) {
        while let Some(top) = stack.last_mut() {
            match self.instr(role, *top) {
                Instr::Jump(t) => top.pc = *t as u32,
                Instr::Return => {
                    let done = stack.pop();
                    if let (Some(&caller), Some(done)) = (stack.last(), done) {
                        // The result goes to the caller only if it binds it: a value kept
                        // for nothing would keep apart states that are the same.
                        let binds =
                            matches!(self.instr(role, caller), Instr::Local(Local::BindRet(_)));
                        if let Some(c) = stack.last_mut() {
                            c.reg = if binds { done.reg } else { 0 };
                        }
                    }
                }
                Instr::Local(l) => {
                    let idle = matches!(l, Local::Enter | Local::Exit)
                        && self.relevant.idle_scopes[role][top.proc as usize]
                            .contains(&(top.pc as usize));
                    if self.track && !idle {
                        self.local(role, stack, l);
                    }
                    if let Some(top) = stack.last_mut() {
                        top.pc += 1;
                    }
                }
                _ => break,
            }
        }
        if self.track {
            for f in stack.iter_mut() {
                f.env = self.prune(role, *f);
            }
        }
    }

    /// The frame's environment without the bindings of names no instruction reachable from
    /// its pc reads (see `Relevant::live`); scope marks stay.
    fn prune(&mut self, role: usize, f: Frame) -> u32 {
        let Some(live) = self
            .relevant
            .live
            .get(role)
            .and_then(|p| p.get(f.proc as usize))
            .and_then(|l| l.get(f.pc as usize))
        else {
            return f.env;
        };
        let Some(env) = self.envs.get(f.env) else {
            return f.env;
        };
        let keep = |p: &[u32]| p[0] == MARK || live.binary_search(&p[0]).is_ok();
        if env.chunks_exact(2).all(keep) {
            return f.env;
        }
        let pruned: Vec<u32> = env
            .chunks_exact(2)
            .filter(|p| keep(p))
            .flatten()
            .copied()
            .collect();
        self.envs.id(pruned)
    }

    /// Run a local step of the frame on top of `stack` (values are tracked).
    fn local(&mut self, role: usize, stack: &mut [Frame], l: &Local) {
        let Some(&top) = stack.last() else { return };
        let (env, reg) = match l {
            Local::Let { pat, value } => {
                let relevant = self.codes[role].pats.get(*pat as usize).is_some_and(|i| {
                    i.bare
                        .iter()
                        .chain(i.parts.iter().map(|(n, _)| n))
                        .any(|n| self.relevant.is(role, top.proc, *n))
                });
                if !relevant {
                    return;
                }
                let t = self.eval(role, stack, *value, 0);
                (self.bind(role, top.proc, top.env, *pat, t), top.reg)
            }
            Local::Enter => {
                let mut e = self.env_vec(top.env);
                e.extend([MARK, 0]);
                (self.envs.id(e), top.reg)
            }
            Local::Exit => {
                let mut e = self.env_vec(top.env);
                let mut cut = e.len();
                while cut >= 2 {
                    cut -= 2;
                    if e[cut] == MARK {
                        break;
                    }
                }
                e.truncate(cut);
                (self.envs.id(e), top.reg)
            }
            Local::Yield(_) | Local::BindYield(_)
                if !self.relevant.yields[role][top.proc as usize] =>
            {
                return;
            }
            Local::SetRet(_) if !self.relevant.rets[role][top.proc as usize] => return,
            Local::Yield(es) => {
                let ts = (0..es.len())
                    .map(|k| self.eval(role, stack, es[k], k as u32))
                    .collect();
                (top.env, self.regs.id(ts))
            }
            Local::BindYield(pats) => {
                let ts = self.regs.get(top.reg).cloned().unwrap_or_default();
                let mut env = top.env;
                for (k, p) in pats.iter().enumerate() {
                    // A branch that yields nothing here cannot end normally (it faulted).
                    let t = match ts.get(k) {
                        Some(&t) => t,
                        None => self.atom(role, stack, 1000 + k as u32),
                    };
                    env = self.bind(role, top.proc, env, *p, t);
                }
                (env, 0)
            }
            Local::BindRet(p) => {
                let t = match self.regs.get(top.reg).and_then(|v| v.first()) {
                    Some(&t) => t,
                    None => self.atom(role, stack, 0),
                };
                (self.bind(role, top.proc, top.env, *p, t), 0)
            }
            Local::SetRet(e) => {
                let t = self.eval(role, stack, *e, 0);
                (top.env, self.regs.id(vec![t]))
            }
        };
        if let Some(top) = stack.last_mut() {
            top.env = env;
            top.reg = reg;
        }
    }

    fn env_vec(&self, env: u32) -> Vec<u32> {
        self.envs.get(env).cloned().unwrap_or_default()
    }

    /// The term of variable `name` in `env`, the innermost binding first.
    fn lookup(&self, env: u32, name: u32) -> Option<u32> {
        let e = self.envs.get(env)?;
        e.chunks_exact(2)
            .rev()
            .find(|p| p[0] == name && name != MARK)
            .map(|p| p[1])
    }

    /// `env` with pattern `pat` (of role `role`'s program) bound to `term`.
    fn bind(&mut self, role: usize, proc: u32, env: u32, pat: u32, term: u32) -> u32 {
        let Some(info) = self.codes[role].pats.get(pat as usize) else {
            return env;
        };
        let mut e = self.env_vec(env);
        if let Some(name) = info.bare {
            if self.relevant.is(role, proc, name) {
                e.extend([name, term]);
            }
        } else {
            for &(name, text) in &info.parts {
                if !self.relevant.is(role, proc, name) {
                    continue;
                }
                let t = self.terms.id(Term::Op {
                    text,
                    args: vec![term],
                });
                e.extend([name, t]);
            }
        }
        self.envs.id(e)
    }

    /// A value no other evaluation makes: named after the role, its call-stack position (which
    /// a role never occupies twice in one run: code only jumps forward, and a returning call
    /// leaves its caller past the call) and `sub`.
    fn atom(&mut self, role: usize, stack: &[Frame], sub: u32) -> u32 {
        let ctx: Vec<u32> = stack.iter().flat_map(|f| [f.proc, f.map, f.pc]).collect();
        let ctx = self.ctxs.id(ctx);
        self.terms.id(Term::Atom {
            role: role as u32,
            ctx,
            sub,
        })
    }

    /// The term of expression `e` (of role `role`'s program) in the top frame of `stack`.
    fn eval(&mut self, role: usize, stack: &[Frame], e: u32, sub: u32) -> u32 {
        if !self.track {
            return 0;
        }
        let Some(top) = stack.last() else { return 0 };
        let Some(info) = self.codes[role].exprs.get(e as usize) else {
            return self.atom(role, stack, sub);
        };
        let mut args = Vec::with_capacity(info.refs.len());
        let mut pure = true;
        for r in &info.refs {
            match self.lookup(top.env, r.name) {
                Some(t) => {
                    args.push(t);
                    // A function value held in a variable: pure only if it is the value of
                    // a pure function's name.
                    pure &= !r.callee || self.pure_fns.contains(&t);
                }
                None => pure &= r.pure_otherwise,
            }
        }
        if !pure {
            return self.atom(role, stack, sub);
        }
        if info.bare && args.len() == 1 {
            return args[0];
        }
        let pure_fn = info.pure_fn && args.is_empty();
        let t = self.terms.id(Term::Op {
            text: info.text,
            args,
        });
        if pure_fn {
            self.pure_fns.insert(t);
        }
        t
    }

    /// Encode `w` changed by one step of role `r`: its new call stack, a message taken from the
    /// front of channel `pop`, messages appended by `push`.
    fn encode_into(
        &self,
        out: &mut Vec<u32>,
        w: &Work,
        r: usize,
        stack: &[Frame],
        pop: Option<(usize, usize)>,
        push: &[(usize, u32)],
    ) {
        out.clear();
        for (i, s) in w.stacks.iter().enumerate() {
            let s = if i == r { stack } else { s.as_slice() };
            out.push(s.len() as u32);
            for f in s {
                out.extend([f.proc, f.map, f.pc, f.env, f.reg]);
            }
        }
        for (c, q) in w.chans.iter().enumerate() {
            let skip = pop.filter(|p| p.0 == c).map_or(0, |p| p.1);
            let added = push.iter().filter(|(pc, _)| *pc == c).count();
            out.push((q.len() - skip.min(q.len()) + added) as u32);
            out.extend(q.iter().skip(skip).copied());
            out.extend(push.iter().filter(|(pc, _)| *pc == c).map(|(_, m)| *m));
        }
    }

    fn state(&self, i: usize) -> &[u32] {
        let end = self.starts.get(i + 1).copied().unwrap_or(self.data.len());
        &self.data[self.starts[i]..end]
    }

    fn decode(&self, enc: &[u32]) -> Work {
        let mut it = enc.iter().copied();
        let mut next = || it.next().unwrap_or(0);
        let mut stacks = Vec::with_capacity(self.n);
        for _ in 0..self.n {
            let len = next();
            let s = (0..len)
                .map(|_| Frame {
                    proc: next(),
                    map: next(),
                    pc: next(),
                    env: next(),
                    reg: next(),
                })
                .collect();
            stacks.push(s);
        }
        let mut chans = Vec::with_capacity(self.n * self.n);
        for _ in 0..self.n * self.n {
            let len = next();
            chans.push((0..len).map(|_| next()).collect());
        }
        Work { stacks, chans }
    }

    /// A fast multiplicative hash (states are hashed once per transition).
    fn hash(enc: &[u32]) -> u64 {
        let mut h: u64 = enc.len() as u64;
        for &x in enc {
            h = (h.rotate_left(5) ^ u64::from(x)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
        // The table uses both the low and the high bits.
        h ^ (h >> 29)
    }

    /// Add the state in `self.scratch` unless it was seen; true if it is new.
    fn add_scratch(&mut self, edge: Edge) -> bool {
        let h = Self::hash(&self.scratch);
        let mut at = self.heads.get(&h).copied().unwrap_or(NONE);
        while at != NONE {
            if self.state(at as usize) == self.scratch.as_slice() {
                return false;
            }
            at = self.chain[at as usize];
        }
        let idx = self.starts.len() as u32;
        let prev = self.heads.insert(h, idx).unwrap_or(NONE);
        self.chain.push(prev);
        self.starts.push(self.data.len());
        self.data.extend_from_slice(&self.scratch);
        self.edges.push(edge);
        true
    }

    /// Count a transition of role `r` to `w` changed as in `encode_into`, and add the state.
    fn succ(&mut self, w: &Work, r: usize, pop: Option<usize>, push: &[(usize, u32)], edge: Edge) {
        self.succ_n(w, r, pop.map(|c| (c, 1)), push, edge);
    }

    /// `succ`, taking `pop.1` messages from the front of channel `pop.0`.
    fn succ_n(
        &mut self,
        w: &Work,
        r: usize,
        pop: Option<(usize, usize)>,
        push: &[(usize, u32)],
        edge: Edge,
    ) {
        let mut out = std::mem::take(&mut self.scratch);
        let stack = std::mem::take(&mut self.stack_buf);
        self.encode_into(&mut out, w, r, &stack, pop, push);
        self.stack_buf = stack;
        self.scratch = out;
        self.transitions += 1;
        self.add_scratch(edge);
    }

    /// Put role `r`'s stack into `stack_buf`, past `top` at `pc`, settled at its next action.
    fn advance(&mut self, w: &Work, r: usize, pc: u32) {
        self.advance_binding(w, r, pc, None);
    }

    /// `advance`, binding a received value (`(name, term)`) first.
    fn advance_binding(&mut self, w: &Work, r: usize, pc: u32, bind: Option<(u32, u32)>) {
        let mut s = std::mem::take(&mut self.stack_buf);
        s.clear();
        s.extend_from_slice(&w.stacks[r]);
        if let Some(t) = s.last_mut() {
            t.pc = pc;
            if let Some((name, term)) =
                bind.filter(|(n, _)| self.track && self.relevant.is(r, t.proc, *n))
            {
                let mut e = self.env_vec(t.env);
                e.extend([name, term]);
                t.env = self.envs.id(e);
            }
        }
        self.normalize(r, &mut s);
        self.stack_buf = s;
    }

    pub(crate) fn run(mut self) -> Report {
        let mut init = Work {
            stacks: Vec::new(),
            chans: vec![VecDeque::new(); self.n * self.n],
        };
        for (r, c) in self.codes.iter().enumerate() {
            // The entry's roles are `main`'s roles, which are the global roles by name.
            let map: Vec<u16> = c.procs[c.entry]
                .roles
                .iter()
                .map(|name| self.codes.iter().position(|o| &o.role == name).unwrap_or(r) as u16)
                .collect();
            let map = self.maps.id(map);
            let mut stack = vec![Frame {
                proc: c.entry as u32,
                map,
                pc: 0,
                env: 0,
                reg: 0,
            }];
            self.normalize(r, &mut stack);
            init.stacks.push(stack);
        }
        let root = Edge {
            parent: NONE,
            role: 0,
            frame: Frame {
                proc: 0,
                map: 0,
                pc: 0,
                env: 0,
                reg: 0,
            },
            arm: 0,
        };
        let stacks = init.stacks.clone();
        self.stack_buf = stacks.first().cloned().unwrap_or_default();
        let mut out = std::mem::take(&mut self.scratch);
        self.encode_into(&mut out, &init, 0, &self.stack_buf, None, &[]);
        self.scratch = out;
        self.add_scratch(root);
        let mut i = 0;
        let mut complete = true;
        while i < self.starts.len() {
            if self.starts.len() > self.opts.max_states {
                complete = false;
                break;
            }
            let w = self.decode(self.state(i));
            self.expand(i as u32, &w);
            i += 1;
        }
        Report {
            roles: self.codes.iter().map(|c| c.role.clone()).collect(),
            states: self.starts.len(),
            transitions: self.transitions,
            cut: self.cut,
            depth: self.opts.depth,
            findings: self.findings,
            more_findings: self.more_findings,
            complete,
        }
    }

    fn expand(&mut self, idx: u32, w: &Work) {
        let n = self.n;
        let mut moved = false;
        let mut stopped = false; // some role is at the depth bound or on an impossible path
        let mut stuck_wrong = false; // some role faces a message it cannot take
        for r in 0..n {
            let Some(&top) = w.stacks[r].last() else {
                continue;
            };
            let instr = self.instr(r, top);
            let edge = |arm: u32| Edge {
                parent: idx,
                role: r as u16,
                frame: top,
                arm,
            };
            match instr {
                Instr::Send { to, .. } | Instr::Select { to, .. } | Instr::AgreeSend { to, .. } => {
                    let msgs = match instr {
                        Instr::Select { label, .. } => vec![label_msg(*label)],
                        Instr::Send { value, span, .. } if self.relevant.sends.contains(span) => {
                            vec![value_msg(self.eval(r, &w.stacks[r], *value, 0))]
                        }
                        Instr::Send { .. } => vec![value_msg(0)],
                        Instr::AgreeSend { label, cond, .. } => vec![
                            label_msg(*label),
                            value_msg(self.eval(r, &w.stacks[r], *cond, 0)),
                        ],
                        _ => Vec::new(),
                    };
                    let push: Vec<(usize, u32)> = to
                        .iter()
                        .flat_map(|&t| msgs.iter().map(move |&m| (t, m)))
                        .map(|(t, m)| (r * n + self.global(top, t), m))
                        .collect();
                    self.advance(w, r, top.pc + 1);
                    self.succ(w, r, None, &push, edge(0));
                    moved = true;
                }
                Instr::AgreeRecv { from, cond, span } => {
                    let c = self.global(top, *from) * n + r;
                    match w.chans[c].front() {
                        None => {}
                        Some(&m) if is_value(m) => {
                            let mine = value_msg(self.eval(r, &w.stacks[r], *cond, 0));
                            if mine == m {
                                self.advance(w, r, top.pc + 1);
                                self.succ(w, r, Some(c), &[], edge(0));
                                moved = true;
                            } else {
                                stuck_wrong = true;
                                self.disagreement(idx, r, c / n, *span);
                            }
                        }
                        Some(&m) => {
                            stuck_wrong = true;
                            self.unexpected(idx, r, top, c / n, m);
                        }
                    }
                }
                Instr::Recv { from, var, .. } => {
                    let c = self.global(top, *from) * n + r;
                    match w.chans[c].front() {
                        None => {}
                        Some(&m) if is_value(m) => {
                            let mut term = m / 2;
                            if term == 0 && self.track && self.relevant.is(r, top.proc, *var) {
                                // A value no relevant send made: unknown, unique to here.
                                term = self.atom(r, &w.stacks[r], u32::MAX);
                            }
                            self.advance_binding(w, r, top.pc + 1, Some((*var, term)));
                            self.succ(w, r, Some(c), &[], edge(0));
                            moved = true;
                        }
                        Some(&m) => {
                            stuck_wrong = true;
                            self.unexpected(idx, r, top, c / n, m);
                        }
                    }
                }
                Instr::Branch { from, arms, .. } => {
                    let c = self.global(top, *from) * n + r;
                    match w.chans[c].front() {
                        None => {}
                        Some(&m) => match arms.iter().position(|(l, _)| label_msg(*l) == m) {
                            Some(k) => {
                                let arm = Frame {
                                    pc: arms[k].1 as u32,
                                    ..top
                                };
                                // A group's decision: the label and the first member's value
                                // come together, and the value is checked in the same step
                                // (fewer states than a step of its own).
                                let mut at = arms[k].1 as u32;
                                let mut taken = 1;
                                if let Instr::Local(Local::Enter) = self.instr(r, arm) {
                                    let next = Frame { pc: at + 1, ..arm };
                                    if let Instr::AgreeRecv { cond, span, .. } = self.instr(r, next)
                                    {
                                        let sent = w.chans[c].get(1).copied();
                                        let mut entered = w.stacks[r].clone();
                                        if let Some(t) = entered.last_mut() {
                                            t.pc = at;
                                        }
                                        let idle = self.relevant.idle_scopes[r][top.proc as usize]
                                            .contains(&(at as usize));
                                        if self.track && !idle {
                                            self.local(r, &mut entered, &Local::Enter);
                                        }
                                        if let Some(t) = entered.last_mut() {
                                            t.pc = at + 1;
                                        }
                                        let mine = value_msg(self.eval(r, &entered, *cond, 0));
                                        if sent != Some(mine) {
                                            stuck_wrong = true;
                                            self.disagreement(idx, r, c / n, *span);
                                            continue;
                                        }
                                        at += 2;
                                        taken = 2;
                                        let mut s = std::mem::take(&mut self.stack_buf);
                                        s.clear();
                                        s.extend_from_slice(&entered);
                                        if let Some(t) = s.last_mut() {
                                            t.pc = at;
                                        }
                                        self.normalize(r, &mut s);
                                        self.stack_buf = s;
                                        self.succ_n(w, r, Some((c, taken)), &[], edge(k as u32));
                                        moved = true;
                                        continue;
                                    }
                                }
                                self.advance(w, r, at);
                                self.succ_n(w, r, Some((c, taken)), &[], edge(k as u32));
                                moved = true;
                            }
                            None => {
                                stuck_wrong = true;
                                self.unexpected(idx, r, top, c / n, m);
                            }
                        },
                    }
                }
                Instr::Choice { targets, .. } => {
                    if targets.is_empty() {
                        // A `match` with no arms is on a type without values: no run gets here.
                        stopped = true;
                    }
                    for (k, &t) in targets.iter().enumerate() {
                        self.advance(w, r, t as u32);
                        self.succ(w, r, None, &[], edge(k as u32));
                        moved = true;
                    }
                }
                Instr::Call {
                    proc,
                    roles,
                    args,
                    span,
                } => {
                    let callee = &self.codes[r].procs[*proc];
                    let ids = &self.chor_ids[r];
                    let active = w.stacks[r]
                        .iter()
                        .filter(|f| ids[f.proc as usize] == ids[*proc])
                        .count();
                    if active >= self.opts.depth {
                        stopped = true;
                        continue;
                    }
                    let map: Vec<u16> = roles.iter().map(|&l| self.global(top, l) as u16).collect();
                    if map.get(callee.me as usize).copied() != Some(r as u16) {
                        let text = format!(
                            "calls {} as {}, but passes another role for it",
                            callee.name,
                            callee
                                .roles
                                .get(callee.me as usize)
                                .map_or("?", String::as_str)
                        );
                        let at = vec![self.located(r, text, Some(*span))];
                        let summary = format!(
                            "{} calls a procedure in another role's place",
                            self.codes[r].role
                        );
                        self.report(
                            Kind::Malformed,
                            vec![(r as u32, *span)],
                            summary,
                            at,
                            idx,
                            None,
                        );
                        stopped = true;
                        continue;
                    }
                    let map = self.maps.id(map);
                    // The callee's parameters at this role hold the arguments' values.
                    let mut env = 0;
                    if self.track {
                        let mut e = Vec::new();
                        for (k, (&a, &p)) in args.iter().zip(&callee.params).enumerate() {
                            if !self.relevant.is(r, *proc as u32, p) {
                                continue;
                            }
                            let t = self.eval(r, &w.stacks[r], a, k as u32);
                            e.extend([p, t]);
                        }
                        env = self.envs.id(e);
                    }
                    let mut s = std::mem::take(&mut self.stack_buf);
                    s.clear();
                    s.extend_from_slice(&w.stacks[r]);
                    if let Some(t) = s.last_mut() {
                        t.pc += 1;
                    }
                    s.push(Frame {
                        proc: *proc as u32,
                        map,
                        pc: 0,
                        env,
                        reg: 0,
                    });
                    self.normalize(r, &mut s);
                    self.stack_buf = s;
                    self.succ(w, r, None, &[], edge(0));
                    moved = true;
                }
                Instr::Jump(_) | Instr::Return | Instr::Local(_) => {}
            }
        }
        if moved || stuck_wrong {
            return;
        }
        let all_done = w.stacks.iter().all(Vec::is_empty);
        if all_done {
            if w.chans.iter().any(|c| !c.is_empty()) {
                self.orphan(idx, w);
            }
        } else if stopped {
            self.cut += 1;
        } else {
            self.deadlock(idx, w);
        }
    }

    fn located(&self, role: usize, text: String, span: Option<Span>) -> Located {
        Located {
            role: self.codes[role].role.clone(),
            text,
            span,
        }
    }

    fn names(&self, f: Frame, to: &[u16]) -> String {
        to.iter()
            .map(|&t| self.codes[self.global(f, t)].role.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn msg_text(&self, m: u32) -> String {
        if is_value(m) {
            "a value".to_owned()
        } else {
            format!("label {}", self.labels.name(m / 2))
        }
    }

    /// Role `r`, a member of a deciding group, decides on a value that may differ from the
    /// one `first` (the group's first member) decided on.
    fn disagreement(&mut self, idx: u32, r: usize, first: usize, span: Span) {
        let me = self.codes[r].role.clone();
        let other = self.codes[first].role.clone();
        let text = format!(
            "decides on its own value, which may differ from {other}'s: the two were not \
             made equal by one message or one pure computation from equal values"
        );
        let at = vec![
            self.located(r, text, Some(span)),
            self.located(first, "decides here too".to_owned(), Some(span)),
        ];
        let summary = format!("{me} and {other} may take different branches of a group decision");
        self.report(
            Kind::Disagreement,
            vec![(r as u32, span), (first as u32, span)],
            summary,
            at,
            idx,
            None,
        );
    }

    /// What a role blocked at `f` waits for.
    fn waiting(&self, role: usize, f: Frame) -> (String, Option<Span>) {
        match self.instr(role, f) {
            Instr::Recv { from, span, .. } => (
                format!(
                    "waits for a value from {}",
                    self.codes[self.global(f, *from)].role
                ),
                Some(*span),
            ),
            Instr::Branch { from, arms, span } => {
                let ls: Vec<&str> = arms.iter().map(|(l, _)| self.labels.name(*l)).collect();
                (
                    format!(
                        "waits for a label ({}) from {}",
                        ls.join(" or "),
                        self.codes[self.global(f, *from)].role
                    ),
                    Some(*span),
                )
            }
            Instr::AgreeRecv { from, span, .. } => (
                format!(
                    "waits to decide alike with {}",
                    self.codes[self.global(f, *from)].role
                ),
                Some(*span),
            ),
            other => (format!("is stopped at {other:?}"), None),
        }
    }

    fn deadlock(&mut self, idx: u32, w: &Work) {
        let mut key = Vec::new();
        let mut at = Vec::new();
        let mut names = Vec::new();
        for (r, s) in w.stacks.iter().enumerate() {
            let Some(&top) = s.last() else { continue };
            let (text, span) = self.waiting(r, top);
            key.push((r as u32, span.unwrap_or_default()));
            names.push(self.codes[r].role.clone());
            at.push(self.located(r, text, span));
        }
        for (r, s) in w.stacks.iter().enumerate() {
            if s.is_empty() {
                at.push(self.located(r, "has finished".to_owned(), None));
            }
        }
        let summary = format!(
            "no role can move, and {} {} not finished",
            names.join(", "),
            if names.len() == 1 { "has" } else { "have" }
        );
        self.report(Kind::Deadlock, key, summary, at, idx, None);
    }

    fn unexpected(&mut self, idx: u32, r: usize, top: Frame, from: usize, m: u32) {
        let (expect, span) = match self.instr(r, top) {
            Instr::Recv { span, .. } => ("a value".to_owned(), *span),
            Instr::Branch { arms, span, .. } => {
                let ls: Vec<&str> = arms.iter().map(|(l, _)| self.labels.name(*l)).collect();
                (format!("a label ({})", ls.join(" or ")), *span)
            }
            _ => return,
        };
        let got = self.msg_text(m);
        let from_name = self.codes[from].role.clone();
        let text = format!("expects {expect} from {from_name}, but the next message is {got}");
        let summary = format!(
            "{} receives {got} from {from_name} where it expects {expect}",
            self.codes[r].role
        );
        let at = vec![self.located(r, text, Some(span))];
        self.report(
            Kind::UnexpectedMessage,
            vec![
                (r as u32, span),
                (from as u32, Span::default()),
                (m, Span::default()),
            ],
            summary,
            at,
            idx,
            None,
        );
    }

    fn orphan(&mut self, idx: u32, w: &Work) {
        let n = self.n;
        let mut key = Vec::new();
        let mut parts = Vec::new();
        for (c, q) in w.chans.iter().enumerate() {
            if q.is_empty() {
                continue;
            }
            key.push((c as u32, Span::default()));
            parts.push(format!(
                "{} message{} from {} to {}",
                q.len(),
                if q.len() == 1 { "" } else { "s" },
                self.codes[c / n].role,
                self.codes[c % n].role
            ));
        }
        let summary = format!(
            "every role has finished, but {} never received",
            parts.join(", ")
        );
        self.report(Kind::OrphanMessage, key, summary, Vec::new(), idx, Some(w));
    }

    /// Record a finding once per kind and place, with the trace leading to state `idx`.
    fn report(
        &mut self,
        kind: Kind,
        key: Vec<(u32, Span)>,
        summary: String,
        mut at: Vec<Located>,
        idx: u32,
        leftover: Option<&Work>,
    ) {
        if !self.seen_findings.insert((kind, key)) {
            return;
        }
        if self.findings.len() >= self.opts.max_findings {
            self.more_findings += 1;
            return;
        }
        let (trace, sent_by) = self.trace(idx);
        if let Some(w) = leftover {
            // Name the sends whose messages are still in the channels.
            let n = self.n;
            for (c, q) in w.chans.iter().enumerate() {
                let origins = sent_by.get(&c).map(|v| v.as_slice()).unwrap_or(&[]);
                for (k, m) in q.iter().enumerate() {
                    let step = origins.len().checked_sub(q.len()).map(|s| s + k);
                    let span = step
                        .and_then(|s| origins.get(s))
                        .and_then(|&t| trace[t].span);
                    at.push(Located {
                        role: self.codes[c / n].role.clone(),
                        text: format!(
                            "sent {} to {}, which never receives it",
                            self.msg_text(*m),
                            self.codes[c % n].role
                        ),
                        span,
                    });
                }
            }
        }
        self.findings.push(Finding {
            kind,
            summary,
            at,
            trace,
        });
    }

    /// The actions from the initial state to `idx`, and for each channel the trace steps that
    /// put messages into it.
    fn trace(&self, idx: u32) -> (Vec<Located>, HashMap<usize, Vec<usize>>) {
        let mut path = Vec::new();
        let mut at = idx;
        while at != NONE {
            let e = self.edges[at as usize];
            if e.parent == NONE {
                break;
            }
            path.push(e);
            at = e.parent;
        }
        path.reverse();
        let n = self.n;
        let mut sent_by: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut out = Vec::new();
        for e in path {
            let r = e.role as usize;
            let f = e.frame;
            let me = &self.codes[r].role;
            let (text, span) = match self.instr(r, f) {
                Instr::Send { to, span, .. } => {
                    for &t in to {
                        sent_by
                            .entry(r * n + self.global(f, t))
                            .or_default()
                            .push(out.len());
                    }
                    (format!("sends a value to {}", self.names(f, to)), *span)
                }
                Instr::Select { to, label, span } => {
                    for &t in to {
                        sent_by
                            .entry(r * n + self.global(f, t))
                            .or_default()
                            .push(out.len());
                    }
                    (
                        format!(
                            "selects {} for {}",
                            self.labels.name(*label),
                            self.names(f, to)
                        ),
                        *span,
                    )
                }
                Instr::Recv { from, span, .. } => (
                    format!(
                        "receives a value from {}",
                        self.codes[self.global(f, *from)].role
                    ),
                    *span,
                ),
                Instr::Branch { from, arms, span } => {
                    let l = arms
                        .get(e.arm as usize)
                        .map_or("?", |(l, _)| self.labels.name(*l));
                    (
                        format!(
                            "receives label {l} from {}",
                            self.codes[self.global(f, *from)].role
                        ),
                        *span,
                    )
                }
                Instr::Choice { kind, span, .. } => {
                    let text = match kind {
                        ChoiceKind::If if e.arm == 0 => {
                            "takes the `then` branch of `if`".to_owned()
                        }
                        ChoiceKind::If => "takes the `else` branch of `if`".to_owned(),
                        ChoiceKind::Match(pats) => format!(
                            "takes the arm `{}` of `match`",
                            pats.get(e.arm as usize).map_or("?", String::as_str)
                        ),
                    };
                    (text, *span)
                }
                Instr::Call { proc, span, .. } => {
                    let p = &self.codes[r].procs[*proc];
                    (
                        format!(
                            "calls {} (as its role {})",
                            p.name,
                            p.roles.get(p.me as usize).map_or("?", String::as_str)
                        ),
                        *span,
                    )
                }
                Instr::AgreeSend { to, span, .. } => {
                    for &t in to {
                        sent_by
                            .entry(r * n + self.global(f, t))
                            .or_default()
                            .extend([out.len(), out.len()]);
                    }
                    (
                        format!(
                            "decides, as {} will (modelled as telling them)",
                            self.names(f, to)
                        ),
                        *span,
                    )
                }
                Instr::AgreeRecv { from, span, .. } => (
                    format!(
                        "decides alike with {}",
                        self.codes[self.global(f, *from)].role
                    ),
                    *span,
                ),
                Instr::Jump(_) | Instr::Return | Instr::Local(_) => continue,
            };
            out.push(Located {
                role: me.clone(),
                text,
                span: Some(span),
            });
        }
        (out, sent_by)
    }
}
