//! A generator of well-formed choreographies for differential testing.
//!
//! Programs use 2–4 roles, Int variables, local arithmetic, communications (also multicast),
//! prints, conditionals whose other roles are either told the choice (directly or through a
//! role that already knows), or behave identically in both branches, and procedures — including
//! a bounded recursive one with rotating roles and one returning a located value.

use std::fmt::Write as _;

/// A small deterministic random source (xorshift), seeded per program.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

struct Scope {
    /// Variables per role, innermost scope last.
    vars: Vec<Vec<Vec<String>>>,
}

impl Scope {
    fn new(n: usize) -> Scope {
        Scope {
            vars: (0..n).map(|_| vec![Vec::new()]).collect(),
        }
    }
    fn push(&mut self) {
        for v in &mut self.vars {
            v.push(Vec::new());
        }
    }
    fn pop(&mut self) {
        for v in &mut self.vars {
            v.pop();
        }
    }
    fn all(&self, r: usize) -> Vec<String> {
        self.vars[r].iter().flatten().cloned().collect()
    }
    fn add(&mut self, r: usize, name: String) {
        if let Some(top) = self.vars[r].last_mut() {
            top.push(name);
        }
    }
}

struct Gen<'a> {
    rng: &'a mut Rng,
    roles: Vec<String>,
    counter: usize,
    out: String,
    /// Procedures available to call: (name, number of roles).
    procs: Vec<(String, usize)>,
}

impl Gen<'_> {
    fn fresh(&mut self) -> String {
        self.counter += 1;
        format!("v{}", self.counter)
    }

    fn int_expr(&mut self, sc: &Scope, r: usize) -> String {
        let vars = sc.all(r);
        let atom = |g: &mut Gen<'_>| -> String {
            if !vars.is_empty() && g.rng.chance(70) {
                vars[g.rng.below(vars.len())].clone()
            } else {
                format!("{}", g.rng.below(20))
            }
        };
        match self.rng.below(5) {
            0 => atom(self),
            1 => format!("({} + {}) % 1000", atom(self), atom(self)),
            2 => format!("({} * {}) % 1000", atom(self), atom(self)),
            3 => format!("int::abs({} - {})", atom(self), atom(self)),
            _ => format!(
                "if {} > {} {{ {} }} else {{ {} }}",
                atom(self),
                atom(self),
                atom(self),
                atom(self)
            ),
        }
    }

    fn line(&mut self, depth: usize, s: &str) {
        for _ in 0..depth {
            self.out.push_str("    ");
        }
        self.out.push_str(s);
        self.out.push('\n');
    }

    /// A statement sequence that involves only `active` roles.
    fn block(&mut self, sc: &mut Scope, active: &[usize], depth: usize, budget: &mut usize) {
        let n = 1 + self.rng.below(4);
        for _ in 0..n {
            if *budget == 0 {
                return;
            }
            *budget -= 1;
            self.stmt(sc, active, depth, budget);
        }
    }

    fn stmt(&mut self, sc: &mut Scope, active: &[usize], depth: usize, budget: &mut usize) {
        let r = active[self.rng.below(active.len())];
        let rn = self.roles[r].clone();
        let choice = self.rng.below(10);
        match choice {
            0 | 1 => {
                let x = self.fresh();
                let e = self.int_expr(sc, r);
                self.line(depth, &format!("let {rn}.{x} = {e};"));
                sc.add(r, x);
            }
            2 | 3 if active.len() >= 2 => {
                let others: Vec<usize> = active.iter().copied().filter(|&o| o != r).collect();
                let k = if others.len() >= 2 && self.rng.chance(30) {
                    2
                } else {
                    1
                };
                let e = self.int_expr(sc, r);
                let mut recv = Vec::new();
                let mut picked: Vec<usize> = Vec::new();
                while picked.len() < k {
                    let o = others[self.rng.below(others.len())];
                    if !picked.contains(&o) {
                        picked.push(o);
                    }
                }
                for o in picked {
                    let x = self.fresh();
                    recv.push(format!("{}.{x}", self.roles[o]));
                    sc.add(o, x);
                }
                self.line(depth, &format!("{rn}.({e}) -> {};", recv.join(", ")));
            }
            4 | 5 => {
                let e = self.int_expr(sc, r);
                self.line(depth, &format!("{rn}.print(\"{rn} \" ++ to_string({e}));"));
            }
            6 if depth < 4 => self.conditional(sc, active, r, depth, budget, false),
            7 if depth < 4 => self.conditional(sc, active, r, depth, budget, true),
            8 if !self.procs.is_empty() && depth < 4 => {
                let (name, arity) = self.procs[self.rng.below(self.procs.len())].clone();
                if active.len() < arity {
                    return;
                }
                let mut chosen: Vec<usize> = Vec::new();
                while chosen.len() < arity {
                    let o = active[self.rng.below(active.len())];
                    if !chosen.contains(&o) {
                        chosen.push(o);
                    }
                }
                let names: Vec<String> = chosen.iter().map(|&o| self.roles[o].clone()).collect();
                let a0 = self.int_expr(sc, chosen[0]);
                let x = self.fresh();
                let last = names[arity - 1].clone();
                if name == "Count" {
                    let n = self.rng.below(4);
                    self.line(
                        depth,
                        &format!("{}({})({}.{n});", name, names.join(", "), names[0]),
                    );
                } else {
                    self.line(
                        depth,
                        &format!(
                            "let {last}.{x} = {}({})({}.({a0}));",
                            name,
                            names.join(", "),
                            names[0]
                        ),
                    );
                    sc.add(chosen[arity - 1], x);
                }
            }
            9 if active.len() >= 2 && self.rng.chance(50) => {
                // A structured value travels; the receiver prints it (it is not an Int variable).
                let others: Vec<usize> = active.iter().copied().filter(|&o| o != r).collect();
                let o = others[self.rng.below(others.len())];
                let (a, b) = (self.int_expr(sc, r), self.int_expr(sc, r));
                let x = self.fresh();
                let on = self.roles[o].clone();
                self.line(
                    depth,
                    &format!("{rn}.(({a}, \"s\" ++ to_string({b}), [{a}, {b}], Some(\"q\\\"\"))) -> {on}.{x};"),
                );
                self.line(depth, &format!("{on}.print({x});"));
            }
            _ => {
                let x = self.fresh();
                let v = self.rng.below(100);
                self.line(depth, &format!("let {rn}.{x} = {v};"));
                sc.add(r, x);
            }
        }
    }

    /// An `if`, or a `match` on an `Option` whose `Some` arm binds a variable at the decider.
    fn conditional(
        &mut self,
        sc: &mut Scope,
        active: &[usize],
        r: usize,
        depth: usize,
        budget: &mut usize,
        as_match: bool,
    ) {
        let rn = self.roles[r].clone();
        let lhs = self.int_expr(sc, r);
        let cond = format!("{lhs} > {}", self.rng.below(15));
        let bound = self.fresh();
        // Each other active role is told directly, told through a relay, or left out.
        let mut told: Vec<usize> = Vec::new();
        let mut relayed: Vec<(usize, usize)> = Vec::new();
        for &o in active {
            if o == r {
                continue;
            }
            match self.rng.below(3) {
                0 => told.push(o),
                1 if !told.is_empty() => {
                    let via = told[self.rng.below(told.len())];
                    relayed.push((o, via));
                }
                _ => {}
            }
        }
        let mut inside: Vec<usize> = vec![r];
        inside.extend(told.iter().copied());
        inside.extend(relayed.iter().map(|(o, _)| *o));
        // A statement that an uninformed role does identically in both branches.
        let same: Option<String> = active
            .iter()
            .copied()
            .find(|o| !inside.contains(o))
            .filter(|_| self.rng.chance(50))
            .map(|o| format!("{}.print(\"{} same\");", self.roles[o], self.roles[o]));
        if as_match {
            self.line(
                depth,
                &format!("match {rn}.(if {cond} {{ Some({lhs}) }} else {{ None }}) {{"),
            );
        } else {
            self.line(depth, &format!("if {rn}.{cond} {{"));
        }
        for (k, label) in ["Yes", "No"].iter().enumerate() {
            match (as_match, k) {
                (true, 0) => self.line(depth + 1, &format!("Some({bound}) => {{")),
                (true, _) => self.line(depth + 1, "None => {"),
                (false, 1) => self.line(depth, "} else {"),
                (false, _) => {}
            }
            sc.push();
            if as_match && k == 0 {
                sc.add(r, bound.clone());
            }
            if !told.is_empty() {
                let to: Vec<&str> = told.iter().map(|&o| self.roles[o].as_str()).collect();
                self.line(depth + 1, &format!("{rn} -> {}[{label}];", to.join(", ")));
            }
            for (o, via) in &relayed {
                self.line(
                    depth + 1,
                    &format!("{} -> {}[{label}];", self.roles[*via], self.roles[*o]),
                );
            }
            if let Some(s) = &same {
                self.line(depth + 1, s);
            }
            let mut b = (*budget).min(6);
            self.block(sc, &inside, depth + 1, &mut b);
            sc.pop();
            if as_match {
                self.line(depth + 1, "},");
            }
        }
        self.line(depth, "}");
        *budget = budget.saturating_sub(4);
    }
}

/// Generate one well-formed program from a seed.
pub fn program(seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let nroles = 2 + rng.below(3);
    let roles: Vec<String> = ["Ann", "Bob", "Cat", "Dan"][..nroles]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut g = Gen {
        rng: &mut rng,
        roles: vec!["A".into(), "B".into()],
        counter: 0,
        out: String::new(),
        procs: Vec::new(),
    };
    // A procedure with a located result: runs at A and B, returns at B.
    {
        let mut sc = Scope::new(2);
        sc.add(0, "x".into());
        g.line(0, "choreography Relay(A, B)(x: Int@A) -> Int@B {");
        let mut budget = 6;
        g.block(&mut sc, &[0, 1], 1, &mut budget);
        let e = g.int_expr(&sc, 0);
        g.line(1, &format!("A.({e}) -> B.result;"));
        g.line(1, "return B.result;");
        g.line(0, "}");
        g.out.push('\n');
    }
    // A bounded recursive procedure whose roles rotate, with a tail call.
    {
        let mut sc = Scope::new(2);
        sc.add(0, "n".into());
        g.line(0, "choreography Count(A, B)(n: Int@A) {");
        g.line(1, "if A.n > 0 {");
        g.line(2, "A -> B[Again];");
        sc.push();
        let mut budget = 4;
        g.block(&mut sc, &[0, 1], 2, &mut budget);
        g.line(2, "A.(n - 1) -> B.m;");
        g.line(2, "Count(B, A)(B.m);");
        sc.pop();
        g.line(1, "} else {");
        g.line(2, "A -> B[Stop];");
        g.line(2, "B.print(\"stop\");");
        g.line(1, "}");
        g.line(0, "}");
        g.out.push('\n');
    }
    g.procs = vec![("Relay".into(), 2), ("Count".into(), 2)];
    g.roles = roles.clone();
    let mut sc = Scope::new(nroles);
    let _ = writeln!(g.out, "choreography main({}) {{", roles.join(", "));
    let all: Vec<usize> = (0..nroles).collect();
    let mut budget = 12 + g.rng.below(10);
    while budget > 0 {
        budget -= 1;
        g.stmt(&mut sc, &all, 1, &mut budget);
    }
    for r in &roles {
        g.line(1, &format!("{r}.print(\"end\");"));
    }
    g.line(0, "}");
    g.out
}
