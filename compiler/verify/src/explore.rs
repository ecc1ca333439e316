//! Breadth-first search over every interleaving of the roles' flattened programs.
//!
//! A state is every role's call stack plus the contents of every channel, encoded as one
//! `u32` slice so that the visited set can hash and compare it quickly. Breadth-first order
//! makes each reported trace a shortest one, which is the easiest to read.

use crate::code::{ChoiceKind, Instr, Labels, RoleCode};
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

/// A message in a channel: the value itself is abstracted away.
const VALUE: u32 = 0;
fn label_msg(label: u32) -> u32 {
    label + 1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Frame {
    proc: u32,
    /// Index into the interned role maps: the global role of each of the procedure's roles.
    map: u32,
    pc: u32,
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

    /// Follow jumps and pop finished frames until the role is at an action or done.
    fn normalize(&self, role: usize, stack: &mut Vec<Frame>) {
        while let Some(top) = stack.last_mut() {
            match self.instr(role, *top) {
                Instr::Jump(t) => top.pc = *t as u32,
                Instr::Return => {
                    stack.pop();
                }
                _ => break,
            }
        }
    }

    /// Encode `w` changed by one step of role `r`: its new call stack, a message taken from the
    /// front of channel `pop`, messages appended by `push`.
    fn encode_into(
        &self,
        out: &mut Vec<u32>,
        w: &Work,
        r: usize,
        stack: &[Frame],
        pop: Option<usize>,
        push: &[(usize, u32)],
    ) {
        out.clear();
        for (i, s) in w.stacks.iter().enumerate() {
            let s = if i == r { stack } else { s.as_slice() };
            out.push(s.len() as u32);
            for f in s {
                out.extend([f.proc, f.map, f.pc]);
            }
        }
        for (c, q) in w.chans.iter().enumerate() {
            let skip = usize::from(pop == Some(c));
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
        let mut s = std::mem::take(&mut self.stack_buf);
        s.clear();
        s.extend_from_slice(&w.stacks[r]);
        if let Some(t) = s.last_mut() {
            t.pc = pc;
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
                Instr::Send { to, .. } | Instr::Select { to, .. } => {
                    let msg = match instr {
                        Instr::Select { label, .. } => label_msg(*label),
                        _ => VALUE,
                    };
                    let push: Vec<(usize, u32)> = to
                        .iter()
                        .map(|&t| (r * n + self.global(top, t), msg))
                        .collect();
                    self.advance(w, r, top.pc + 1);
                    self.succ(w, r, None, &push, edge(0));
                    moved = true;
                }
                Instr::Recv { from, .. } => {
                    let c = self.global(top, *from) * n + r;
                    match w.chans[c].front() {
                        None => {}
                        Some(&VALUE) => {
                            self.advance(w, r, top.pc + 1);
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
                        Some(&m) => match arms
                            .iter()
                            .position(|(l, _)| m != VALUE && label_msg(*l) == m)
                        {
                            Some(k) => {
                                self.advance(w, r, arms[k].1 as u32);
                                self.succ(w, r, Some(c), &[], edge(k as u32));
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
                Instr::Call { proc, roles, span } => {
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
                    });
                    self.normalize(r, &mut s);
                    self.stack_buf = s;
                    self.succ(w, r, None, &[], edge(0));
                    moved = true;
                }
                Instr::Jump(_) | Instr::Return => {}
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
        if m == VALUE {
            "a value".to_owned()
        } else {
            format!("label {}", self.labels.name(m - 1))
        }
    }

    /// What a role blocked at `f` waits for.
    fn waiting(&self, role: usize, f: Frame) -> (String, Option<Span>) {
        match self.instr(role, f) {
            Instr::Recv { from, span } => (
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
                Instr::Send { to, span } => {
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
                Instr::Recv { from, span } => (
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
                Instr::Jump(_) | Instr::Return => continue,
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
