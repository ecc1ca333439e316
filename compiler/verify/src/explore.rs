//! Breadth-first search over every interleaving of the roles' flattened programs.
//!
//! A state is every role's call stack plus the contents of every channel, encoded as one
//! `u32` slice so that the visited set can hash and compare it quickly. Breadth-first order
//! makes each reported trace a shortest one, which is the easiest to read.

use crate::code::{ChoiceKind, Instr, Labels, RoleCode};
use crate::{Finding, Kind, Located, Options, Report};
use chor_diagnostics::Span;
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};

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
    states: Vec<Box<[u32]>>,
    edges: Vec<Edge>,
    /// First state index per hash, then a chain through `chain` for collisions.
    heads: HashMap<u64, u32>,
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
            states: Vec::new(),
            edges: Vec::new(),
            heads: HashMap::new(),
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

    fn encode(&self, w: &Work) -> Box<[u32]> {
        let mut v = Vec::new();
        for s in &w.stacks {
            v.push(s.len() as u32);
            for f in s {
                v.extend([f.proc, f.map, f.pc]);
            }
        }
        for c in &w.chans {
            v.push(c.len() as u32);
            v.extend(c.iter().copied());
        }
        v.into_boxed_slice()
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

    fn hash(enc: &[u32]) -> u64 {
        let mut h = DefaultHasher::new();
        enc.hash(&mut h);
        h.finish()
    }

    /// Add a state unless it was seen; true if it is new.
    fn add(&mut self, w: &Work, edge: Edge) -> bool {
        let enc = self.encode(w);
        let h = Self::hash(&enc);
        let mut at = self.heads.get(&h).copied().unwrap_or(NONE);
        while at != NONE {
            if self.states[at as usize] == enc {
                return false;
            }
            at = self.chain[at as usize];
        }
        let idx = self.states.len() as u32;
        let prev = self.heads.insert(h, idx).unwrap_or(NONE);
        self.chain.push(prev);
        self.states.push(enc);
        self.edges.push(edge);
        true
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
        self.add(&init, root);
        let mut i = 0;
        let mut complete = true;
        while i < self.states.len() {
            if self.states.len() > self.opts.max_states {
                complete = false;
                break;
            }
            let w = self.decode(&self.states[i]);
            self.expand(i as u32, &w);
            i += 1;
        }
        Report {
            roles: self.codes.iter().map(|c| c.role.clone()).collect(),
            states: self.states.len(),
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
            // Advance the role past `top` to `pc`, then settle it at its next action.
            let step = |ex: &Self, s: &mut Work, pc: u32| {
                if let Some(t) = s.stacks[r].last_mut() {
                    t.pc = pc;
                }
                ex.normalize(r, &mut s.stacks[r]);
            };
            match instr {
                Instr::Send { to, .. } | Instr::Select { to, .. } => {
                    let msg = match instr {
                        Instr::Select { label, .. } => label_msg(*label),
                        _ => VALUE,
                    };
                    let mut s = w.clone();
                    for &t in to {
                        let g = self.global(top, t);
                        s.chans[r * n + g].push_back(msg);
                    }
                    step(self, &mut s, top.pc + 1);
                    moved = true;
                    self.transitions += 1;
                    self.add(&s, edge(0));
                }
                Instr::Recv { from, .. } => {
                    let g = self.global(top, *from);
                    match w.chans[g * n + r].front() {
                        None => {}
                        Some(&VALUE) => {
                            let mut s = w.clone();
                            s.chans[g * n + r].pop_front();
                            step(self, &mut s, top.pc + 1);
                            moved = true;
                            self.transitions += 1;
                            self.add(&s, edge(0));
                        }
                        Some(&m) => {
                            stuck_wrong = true;
                            self.unexpected(idx, w, r, top, g, m);
                        }
                    }
                }
                Instr::Branch { from, arms, .. } => {
                    let g = self.global(top, *from);
                    match w.chans[g * n + r].front() {
                        None => {}
                        Some(&m) => match arms
                            .iter()
                            .position(|(l, _)| m != VALUE && label_msg(*l) == m)
                        {
                            Some(k) => {
                                let mut s = w.clone();
                                s.chans[g * n + r].pop_front();
                                step(self, &mut s, arms[k].1 as u32);
                                moved = true;
                                self.transitions += 1;
                                self.add(&s, edge(k as u32));
                            }
                            None => {
                                stuck_wrong = true;
                                self.unexpected(idx, w, r, top, g, m);
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
                        let mut s = w.clone();
                        step(self, &mut s, t as u32);
                        moved = true;
                        self.transitions += 1;
                        self.add(&s, edge(k as u32));
                    }
                }
                Instr::Call { proc, roles, span } => {
                    let callee = &self.codes[r].procs[*proc];
                    let active = w.stacks[r]
                        .iter()
                        .filter(|f| self.codes[r].procs[f.proc as usize].name == callee.name)
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
                    let mut s = w.clone();
                    if let Some(t) = s.stacks[r].last_mut() {
                        t.pc += 1;
                    }
                    s.stacks[r].push(Frame {
                        proc: *proc as u32,
                        map,
                        pc: 0,
                    });
                    self.normalize(r, &mut s.stacks[r]);
                    moved = true;
                    self.transitions += 1;
                    self.add(&s, edge(0));
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

    fn unexpected(&mut self, idx: u32, w: &Work, r: usize, top: Frame, from: usize, m: u32) {
        let (expect, span) = match self.instr(r, top) {
            Instr::Recv { span, .. } => ("a value".to_owned(), *span),
            Instr::Branch { arms, span, .. } => {
                let ls: Vec<&str> = arms.iter().map(|(l, _)| self.labels.name(*l)).collect();
                (format!("a label ({})", ls.join(" or ")), *span)
            }
            _ => return,
        };
        let _ = w;
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
