//! A generator of well-formed choreographies for differential testing.
//!
//! Programs use 2–4 roles and every statement form of the language's choreographies: `let`
//! (also typed, and with a tuple pattern), communications and selections (also multicast),
//! local effects, `if` (with and without `else`, `else if` chains), `match` on an `Option` and on
//! a user enum with payloads whose bindings are used in the arm, procedure calls (as statements
//! and binding a located result that is then used after a conditional and sent to other roles),
//! and `return` at the end of a procedure or in every branch of a conditional in tail position,
//! nested. Other roles of a conditional are told the choice (directly, by a multicast selection,
//! or through a role that already knows) or behave identically in every branch. Procedures: one
//! returning a located value (sometimes from branches), one returning from every branch of a
//! nested conditional, a bounded tail-recursive one whose roles rotate, and a bounded recursive
//! one over three roles that uses the result of its rotated recursive call at the other roles,
//! a generic one instantiated with several types, and two higher-order ones taking a
//! choreography argument (a procedure, or the generic one at `Int`), one passing it on.
//! Agreed values (section 9 of the card): messages to a group (the sender sometimes a member),
//! agreed bindings computed from agreed values, and `if`/`match` decided by a group on agreed
//! values, whose outsiders are told by one member (the same in every branch) or act alike; a
//! procedure with an agreed parameter that returns an agreed result and one at another role.
//! The world of section 12, in ways whose output every back end reproduces once `CHOR_SEED` is
//! set: seeded `random::` draws kept in variables the program then computes with, sends and
//! prints; the clocks (`time::`) only through facts that hold whenever the program runs; an
//! environment variable that no run sets (`env::`); the file system at a path that does not
//! exist (`fs::`, whose error value is printed).
//! Conditional expressions (section 9): an `if` or `match` decided by a role or a group whose
//! branches end with the values they yield, bound after it at one or two roles that know the
//! branch, sometimes agreed by the deciding group, and sometimes at a role that is not told
//! and yields the same value in every branch; the bound values are used afterwards.
//! Rust externs ([`program_with_externs`] only; [`EXTERN_DECLS`], implemented by
//! [`EXTERN_CRATE`]): calls at any role, in `main` and in procedures, of externs over Int,
//! Float, Bool (direct entries in native code), String, List, a struct, the enum `Msg`,
//! `Option` and `Result`, whose Int results are bound and computed with, sent or printed.
//! Everything is deterministic in the seed, and every procedure is called at least once.

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
    /// Agreed variables with the roles that hold them agreed (sorted), innermost scope last.
    agreed: Vec<Vec<(String, Vec<usize>)>>,
}

impl Scope {
    fn new(n: usize) -> Scope {
        Scope {
            vars: (0..n).map(|_| vec![Vec::new()]).collect(),
            agreed: vec![Vec::new()],
        }
    }
    fn push(&mut self) {
        for v in &mut self.vars {
            v.push(Vec::new());
        }
        self.agreed.push(Vec::new());
    }
    fn pop(&mut self) {
        for v in &mut self.vars {
            v.pop();
        }
        self.agreed.pop();
    }
    /// Bind `name` agreed by `group` (at every member).
    fn add_agreed(&mut self, group: &[usize], name: String) {
        for &r in group {
            self.add(r, name.clone());
        }
        let mut g = group.to_vec();
        g.sort_unstable();
        if let Some(top) = self.agreed.last_mut() {
            top.push((name, g));
        }
    }
    /// The variables agreed by a superset of `group`.
    fn agreed_by(&self, group: &[usize]) -> Vec<String> {
        self.agreed
            .iter()
            .flatten()
            .filter(|(_, g)| group.iter().all(|r| g.contains(r)))
            .map(|(n, _)| n.clone())
            .collect()
    }
    /// The groups (of two roles or more, within `active`) that hold some agreed variable.
    fn groups_within(&self, active: &[usize]) -> Vec<Vec<usize>> {
        self.agreed
            .iter()
            .flatten()
            .map(|(_, g)| {
                g.iter()
                    .copied()
                    .filter(|r| active.contains(r))
                    .collect::<Vec<_>>()
            })
            .filter(|g| g.len() >= 2)
            .collect()
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
    /// Which of `procs` main has called so far.
    called: Vec<bool>,
    /// Whether statements may call the externs of [`EXTERN_DECLS`].
    externs: bool,
}

/// The shape of a conditional.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    If,
    /// `if` without `else` (only where no branch returns).
    IfNoElse,
    /// `if … else if … else …`
    ElseIf,
    /// `match` on an `Option<Int>`, the `Some` arm binding the payload.
    MatchOption,
    /// `match` on the user enum `Msg`, two arms binding payloads.
    MatchMsg,
}

/// One branch of a conditional being written.
struct Arm {
    /// The line that opens the branch (`} else {`, `Some(v) => {`), if any.
    open: Option<String>,
    /// The line that closes a `match` arm.
    close: Option<&'static str>,
    /// Variables the branch's pattern binds at the decider.
    binds: Vec<String>,
}

/// Where a value of a conditional expression is bound, and what each branch yields there.
struct CondTarget {
    name: String,
    /// One role, or a group (agreed).
    holders: Vec<usize>,
    /// The same literal in every branch (a role that is not told the branch), or computed
    /// per branch from the holder's variables.
    constant: Option<usize>,
    typed: bool,
}

/// The labels of the selections in the branches of a conditional, by branch.
const LABELS: [&str; 3] = ["Yes", "No", "Maybe"];

impl Gen<'_> {
    fn fresh(&mut self) -> String {
        self.counter += 1;
        format!("v{}", self.counter)
    }

    fn atom(&mut self, vars: &[String]) -> String {
        if !vars.is_empty() && self.rng.chance(70) {
            vars[self.rng.below(vars.len())].clone()
        } else {
            format!("{}", self.rng.below(20))
        }
    }

    fn int_expr(&mut self, sc: &Scope, r: usize) -> String {
        let vars = sc.all(r);
        self.int_expr_of(&vars)
    }

    /// An Int expression over `vars` and literals (pure: agreed bindings may use it).
    fn int_expr_of(&mut self, vars: &[String]) -> String {
        let vars = vars.to_vec();
        match self.rng.below(5) {
            0 => self.atom(&vars),
            1 => format!("({} + {}) % 1000", self.atom(&vars), self.atom(&vars)),
            2 => format!("({} * {}) % 1000", self.atom(&vars), self.atom(&vars)),
            3 => format!("int::abs({} - {})", self.atom(&vars), self.atom(&vars)),
            _ => format!(
                "if {} > {} {{ {} }} else {{ {} }}",
                self.atom(&vars),
                self.atom(&vars),
                self.atom(&vars),
                self.atom(&vars)
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

    /// `picked` distinct roles of `from`, in random order.
    fn pick(&mut self, from: &[usize], picked: usize) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        while out.len() < picked.min(from.len()) {
            let o = from[self.rng.below(from.len())];
            if !out.contains(&o) {
                out.push(o);
            }
        }
        out
    }

    fn stmt(&mut self, sc: &mut Scope, active: &[usize], depth: usize, budget: &mut usize) {
        let r = active[self.rng.below(active.len())];
        let rn = self.roles[r].clone();
        // Drawn only when externs are on, so that `program` stays what it was.
        if self.externs && self.rng.chance(14) {
            self.extern_call(sc, active, r, depth);
            return;
        }
        let choice = self.rng.below(14);
        match choice {
            11 if active.len() >= 2 => {
                // An agreed message: to a group, which the sender may belong to.
                let size = 2 + self.rng.below(active.len() - 1);
                let mut group = self.pick(active, size);
                if !group.contains(&r) && self.rng.chance(40) {
                    group[0] = r;
                }
                let x = self.fresh();
                let e = self.int_expr(sc, r);
                let g = self.group_text(&group);
                self.line(depth, &format!("{rn}.({e}) -> {g}.{x};"));
                sc.add_agreed(&group, x);
            }
            12 if !sc.groups_within(active).is_empty() => {
                // An agreed binding computed by a group from values it holds agreed.
                let groups = sc.groups_within(active);
                let holders = groups[self.rng.below(groups.len())].clone();
                let size = 2 + self.rng.below(holders.len() - 1);
                let group = self.pick(&holders, size);
                let vars = sc.agreed_by(&group);
                let e = self.int_expr_of(&vars);
                let x = self.fresh();
                let g = self.group_text(&group);
                self.line(depth, &format!("let {g}.{x} = {e};"));
                sc.add_agreed(&group, x);
            }
            13 if depth < 4 && !sc.groups_within(active).is_empty() => {
                // A conditional decided by a group on an agreed value.
                let groups = sc.groups_within(active);
                let holders = groups[self.rng.below(groups.len())].clone();
                let size = 2 + self.rng.below(holders.len() - 1);
                let group = self.pick(&holders, size);
                let shape = [
                    Shape::If,
                    Shape::IfNoElse,
                    Shape::ElseIf,
                    Shape::MatchOption,
                    Shape::MatchMsg,
                ][self.rng.below(5)];
                self.group_conditional(sc, active, &group, depth, budget, shape);
            }
            0 | 1 => {
                let x = self.fresh();
                let e = self.int_expr(sc, r);
                if self.rng.chance(30) {
                    self.line(depth, &format!("let {rn}.{x}: Int = {e};"));
                } else {
                    self.line(depth, &format!("let {rn}.{x} = {e};"));
                }
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
                for o in self.pick(&others, k) {
                    let x = self.fresh();
                    recv.push(format!("{}.{x}", self.roles[o]));
                    sc.add(o, x);
                }
                self.line(depth, &format!("{rn}.({e}) -> {};", recv.join(", ")));
            }
            4 | 5 if self.rng.chance(35) => self.world(sc, r, depth),
            4 | 5 => {
                let e = self.int_expr(sc, r);
                self.line(depth, &format!("{rn}.print(\"{rn} \" ++ to_string({e}));"));
            }
            6 if depth < 4 => {
                let shape = if self.rng.chance(25) {
                    Shape::IfNoElse
                } else if self.rng.chance(30) {
                    Shape::ElseIf
                } else {
                    Shape::If
                };
                self.conditional(sc, active, r, depth, budget, shape);
            }
            7 if depth < 4 => {
                let shape = if self.rng.chance(50) {
                    Shape::MatchMsg
                } else {
                    Shape::MatchOption
                };
                self.conditional(sc, active, r, depth, budget, shape);
            }
            8 if !self.procs.is_empty() && depth < 4 => {
                let k = self.rng.below(self.procs.len());
                self.call(sc, active, k, depth, budget);
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
            10 => {
                // A tuple pattern binds two variables at once.
                let (x, y) = (self.fresh(), self.fresh());
                let (a, b) = (self.int_expr(sc, r), self.int_expr(sc, r));
                self.line(depth, &format!("let {rn}.({x}, {y}) = ({a}, {b});"));
                sc.add(r, x);
                sc.add(r, y);
            }
            _ => {
                let x = self.fresh();
                let v = self.rng.below(100);
                self.line(depth, &format!("let {rn}.{x} = {v};"));
                sc.add(r, x);
            }
        }
    }

    /// A statement of role `r` that calls externs of [`EXTERN_DECLS`]: Int results are bound
    /// and used by later statements (computed with, sent, printed), others are printed, and
    /// sometimes a call's result is sent to another role directly.
    fn extern_call(&mut self, sc: &mut Scope, active: &[usize], r: usize, depth: usize) {
        let rn = self.roles[r].clone();
        let (a, b, c) = (
            self.int_expr(sc, r),
            self.int_expr(sc, r),
            self.int_expr(sc, r),
        );
        let bind = |g: &mut Self, sc: &mut Scope, e: String| {
            let x = g.fresh();
            g.line(depth, &format!("let {rn}.{x} = {e};"));
            sc.add(r, x);
        };
        match self.rng.below(11) {
            0 => bind(self, sc, format!("ffi_mix({a}, {b})")),
            1 => bind(
                self,
                sc,
                format!("if ffi_odd({a}) {{ {b} }} else {{ ffi_mix({c}, 7) }}"),
            ),
            2 => self.line(
                depth,
                &format!("{rn}.print(ffi_scale(float::from_int({a}), {b}));"),
            ),
            3 => self.line(
                depth,
                &format!("{rn}.print(ffi_shout(\"w\" ++ to_string({a}), {b}));"),
            ),
            4 => bind(self, sc, format!("ffi_total([{a}, {b}, {c}])")),
            5 => self.line(
                depth,
                &format!("{rn}.print(ffi_flip(Pt {{ x: {a}, y: {b} }}));"),
            ),
            6 => bind(self, sc, format!("ffi_weight(ffi_classify({a}))")),
            7 => self.line(depth, &format!("{rn}.print(ffi_classify({a}));")),
            8 => self.line(depth, &format!("{rn}.print(ffi_div({a}, {b} % 3));")),
            9 => self.line(depth, &format!("{rn}.print(ffi_lookup({a}));")),
            _ if active.len() >= 2 => {
                let others: Vec<usize> = active.iter().copied().filter(|&o| o != r).collect();
                let o = others[self.rng.below(others.len())];
                let x = self.fresh();
                let on = self.roles[o].clone();
                self.line(depth, &format!("{rn}.(ffi_mix({a}, {b})) -> {on}.{x};"));
                sc.add(o, x);
            }
            _ => bind(self, sc, format!("ffi_mix({a}, ffi_total([{b}]))")),
        }
    }

    /// A statement of role `r` that reads the world (see the module's comment).
    fn world(&mut self, sc: &mut Scope, r: usize, depth: usize) {
        let rn = self.roles[r].clone();
        match self.rng.below(5) {
            0 | 1 => {
                let x = self.fresh();
                let lo = self.rng.below(10);
                let hi = lo + self.rng.below(100);
                self.line(depth, &format!("let {rn}.{x} = random::int({lo}, {hi});"));
                sc.add(r, x);
            }
            2 => self.line(
                depth,
                &format!(
                    "{rn}.print(\"{rn} clock \" ++ to_string(time::now_ms() > 0 && time::monotonic_ms() >= 0 && random::float() < 1.0));"
                ),
            ),
            3 => self.line(
                depth,
                &format!("{rn}.print(env::var(\"CHOR_GENERATED_NEVER_SET\"));"),
            ),
            _ => self.line(
                depth,
                &format!(
                    "{rn}.print(to_string(fs::exists(\"/nonexistent/chor-generated\")) ++ \" \" ++ to_string(fs::read(\"/nonexistent/chor-generated\")));"
                ),
            ),
        }
    }

    /// A call of procedure `k` among `active` roles (when there are enough). A located result
    /// is bound, and often used after a conditional and sent to another role.
    fn call(
        &mut self,
        sc: &mut Scope,
        active: &[usize],
        k: usize,
        depth: usize,
        budget: &mut usize,
    ) {
        let (name, arity) = self.procs[k].clone();
        if active.len() < arity {
            return;
        }
        if let Some(c) = self.called.get_mut(k) {
            *c = true;
        }
        let chosen = self.pick(active, arity);
        let names: Vec<String> = chosen.iter().map(|&o| self.roles[o].clone()).collect();
        let (holder, hn) = match name.as_str() {
            "Share" => {
                // An agreed argument (shared first when the pair holds none) and two results:
                // one agreed by the first two roles, one at the third.
                let pair = [chosen[0], chosen[1]];
                let g = self.group_text(&pair);
                let have = sc.agreed_by(&pair);
                let k = if have.is_empty() || self.rng.chance(30) {
                    let k = self.fresh();
                    let e = self.int_expr(sc, chosen[0]);
                    self.line(depth, &format!("{}.({e}) -> {g}.{k};", names[0]));
                    sc.add_agreed(&pair, k.clone());
                    k
                } else {
                    have[self.rng.below(have.len())].clone()
                };
                let e = self.int_expr(sc, chosen[2]);
                let (r, t) = (self.fresh(), self.fresh());
                self.line(
                    depth,
                    &format!(
                        "let ({g}.{r}, {}.{t}) = Share({})({g}.{k}, {}.({e}));",
                        names[2],
                        names.join(", "),
                        names[2]
                    ),
                );
                sc.add_agreed(&pair, r);
                sc.add(chosen[2], t);
                return;
            }
            "Count" => {
                let n = self.rng.below(4);
                self.line(
                    depth,
                    &format!("{}({})({}.{n});", name, names.join(", "), names[0]),
                );
                return;
            }
            "Carry" => {
                // A generic procedure instantiated with a type of the generator's choice.
                let e = self.int_expr(sc, chosen[0]);
                let arg = match self.rng.below(5) {
                    0 => e,
                    1 => format!("to_string({e})"),
                    2 => format!("({e}, \"t\")"),
                    3 => format!("[{e}, 1]"),
                    _ => format!("Some({e})"),
                };
                let x = self.fresh();
                let hn = names[1].clone();
                self.line(
                    depth,
                    &format!(
                        "let {hn}.{x} = Carry({})({}.({arg}));",
                        names.join(", "),
                        names[0]
                    ),
                );
                self.line(
                    depth,
                    &format!("{hn}.print(\"{hn} has \" ++ to_string({x}));"),
                );
                return;
            }
            // `Relay` and the higher-order procedures return at their second role, the others
            // at their first.
            "Relay" | "Apply" | "Twice" => (chosen[1], names[1].clone()),
            _ => (chosen[0], names[0].clone()),
        };
        let arg = if name == "Sum" {
            format!("{}", self.rng.below(4))
        } else {
            self.int_expr(sc, chosen[0])
        };
        // A higher-order procedure takes the step it applies: a procedure, or the generic
        // `Carry` instantiated at `Int` by the parameter's type.
        let step = if name == "Apply" || name == "Twice" {
            ["Relay, ", "Carry, "][self.rng.below(2)]
        } else {
            ""
        };
        // Sometimes the argument is negated twice, written `R.- -(e)` / `R.-(-(e))`: a
        // unary operator right after the role of a bound call's argument.
        let arg = match self.rng.below(6) {
            0 if name != "Sum" => format!("- -({arg})"),
            1 if name != "Sum" => format!("-(-({arg}))"),
            _ => format!("({arg})"),
        };
        let x = self.fresh();
        self.line(
            depth,
            &format!(
                "let {hn}.{x} = {}({})({step}{}.{arg});",
                name,
                names.join(", "),
                names[0]
            ),
        );
        sc.add(holder, x.clone());
        if self.rng.chance(50) && depth < 4 {
            // The result outlives a conditional.
            let r = active[self.rng.below(active.len())];
            let shape = [Shape::If, Shape::IfNoElse, Shape::MatchOption][self.rng.below(3)];
            let mut b = (*budget).min(3);
            self.conditional(sc, active, r, depth, &mut b, shape);
        }
        let others: Vec<usize> = active.iter().copied().filter(|&o| o != holder).collect();
        if !others.is_empty() && self.rng.chance(70) {
            // The result is used by other roles.
            let k = 1 + usize::from(self.rng.chance(30));
            let to = self.pick(&others, k);
            let mut recv = Vec::new();
            for o in to {
                let y = self.fresh();
                recv.push(format!("{}.{y}", self.roles[o]));
                sc.add(o, y);
            }
            self.line(
                depth,
                &format!("{hn}.(({x} + 1) % 1000) -> {};", recv.join(", ")),
            );
        } else {
            self.line(
                depth,
                &format!("{hn}.print(\"{hn} got \" ++ to_string({x}));"),
            );
        }
    }

    /// The targets of a conditional expression (section 9 of the card) among `active`: one or
    /// two roles that know the branch (`inside`), sometimes the deciding group (agreed), and
    /// sometimes a role that is not told, which then yields the same value in every branch.
    fn cond_targets(
        &mut self,
        inside: &[usize],
        active: &[usize],
        group: Option<&[usize]>,
    ) -> Vec<CondTarget> {
        let mut out = Vec::new();
        let k = 1 + self.rng.below(2);
        for o in self.pick(inside, k) {
            let name = self.fresh();
            let typed = self.rng.chance(20);
            out.push(CondTarget {
                name,
                holders: vec![o],
                constant: None,
                typed,
            });
        }
        if let Some(g) = group
            && self.rng.chance(70)
        {
            let name = self.fresh();
            out.push(CondTarget {
                name,
                holders: g.to_vec(),
                constant: None,
                typed: false,
            });
        }
        let outside: Vec<usize> = active
            .iter()
            .copied()
            .filter(|o| !inside.contains(o))
            .collect();
        if !outside.is_empty() && self.rng.chance(30) {
            let o = outside[self.rng.below(outside.len())];
            let name = self.fresh();
            let c = self.rng.below(50);
            out.push(CondTarget {
                name,
                holders: vec![o],
                constant: Some(c),
                typed: false,
            });
        }
        out
    }

    /// `let B.x = ` / `let (B.x, (A, C).y: Int) = ` before the head of a conditional
    /// expression, just written at `depth`.
    fn bind_head(&mut self, depth: usize, targets: &[CondTarget]) {
        let parts: Vec<String> = targets
            .iter()
            .map(|t| {
                let head = if t.holders.len() > 1 {
                    self.group_text(&t.holders)
                } else {
                    self.roles[t.holders[0]].clone()
                };
                let ty = if t.typed { ": Int" } else { "" };
                format!("{head}.{}{ty}", t.name)
            })
            .collect();
        let text = if parts.len() == 1 {
            parts[0].clone()
        } else {
            format!("({})", parts.join(", "))
        };
        let body = self.out.trim_end_matches('\n').len();
        let start = self.out[..body].rfind('\n').map_or(0, |i| i + 1) + 4 * depth;
        self.out.insert_str(start, &format!("let {text} = "));
    }

    /// The last line of a branch of a conditional expression: what it yields, per target.
    fn yield_line(&mut self, sc: &Scope, depth: usize, targets: &[CondTarget]) {
        let mut parts = Vec::new();
        for t in targets {
            let (head, e) = if t.holders.len() > 1 {
                let vars = sc.agreed_by(&t.holders);
                (self.group_text(&t.holders), self.int_expr_of(&vars))
            } else {
                let o = t.holders[0];
                let e = match t.constant {
                    Some(c) => c.to_string(),
                    None => self.int_expr(sc, o),
                };
                (self.roles[o].clone(), e)
            };
            parts.push(format!("{head}.({e})"));
        }
        let text = if parts.len() == 1 {
            parts.remove(0)
        } else {
            format!("({})", parts.join(", "))
        };
        self.line(depth, &text);
    }

    /// After a conditional expression: its targets are in scope at their holders.
    fn bind_targets(sc: &mut Scope, targets: Vec<CondTarget>) {
        for t in targets {
            if t.holders.len() > 1 {
                sc.add_agreed(&t.holders, t.name);
            } else {
                sc.add(t.holders[0], t.name);
            }
        }
    }

    /// Open a conditional decided by `r`: writes its head and returns its branches.
    fn open_conditional(&mut self, sc: &Scope, r: usize, depth: usize, shape: Shape) -> Vec<Arm> {
        let rn = self.roles[r].clone();
        let vars = sc.all(r);
        self.open_decision(&rn, &vars, depth, shape)
    }

    /// `(A, B)` for a group of roles.
    fn group_text(&self, group: &[usize]) -> String {
        let names: Vec<&str> = group.iter().map(|&o| self.roles[o].as_str()).collect();
        format!("({})", names.join(", "))
    }

    /// Open a conditional decided by `head` (a role or a group) over `vars`.
    fn open_decision(&mut self, rn: &str, vars: &[String], depth: usize, shape: Shape) -> Vec<Arm> {
        let vars = vars.to_vec();
        let lhs = self.int_expr_of(&vars);
        let cond = format!("{lhs} > {}", self.rng.below(15));
        let plain = |open: Option<String>| Arm {
            open,
            close: None,
            binds: Vec::new(),
        };
        match shape {
            Shape::If => {
                self.line(depth, &format!("if {rn}.{cond} {{"));
                vec![plain(None), plain(Some("} else {".to_owned()))]
            }
            Shape::IfNoElse => {
                self.line(depth, &format!("if {rn}.{cond} {{"));
                vec![plain(None)]
            }
            Shape::ElseIf => {
                self.line(depth, &format!("if {rn}.{cond} {{"));
                let lhs2 = self.int_expr_of(&vars);
                let cond2 = format!("{lhs2} < {}", self.rng.below(15));
                vec![
                    plain(None),
                    plain(Some(format!("}} else if {rn}.{cond2} {{"))),
                    plain(Some("} else {".to_owned())),
                ]
            }
            Shape::MatchOption => {
                self.line(
                    depth,
                    &format!("match {rn}.(if {cond} {{ Some({lhs}) }} else {{ None }}) {{"),
                );
                let v = self.fresh();
                vec![
                    Arm {
                        open: Some(format!("Some({v}) => {{")),
                        close: Some("},"),
                        binds: vec![v],
                    },
                    Arm {
                        open: Some("None => {".to_owned()),
                        close: Some("},"),
                        binds: Vec::new(),
                    },
                ]
            }
            Shape::MatchMsg => {
                let (a, b) = (self.int_expr_of(&vars), self.int_expr_of(&vars));
                let lhs2 = self.int_expr_of(&vars);
                let cond2 = format!("{lhs2} < {}", self.rng.below(15));
                self.line(
                    depth,
                    &format!(
                        "match {rn}.(if {cond} {{ Num({lhs}) }} else if {cond2} {{ Pair({a}, {b}) }} else {{ Empty }}) {{"
                    ),
                );
                let (x, y, z) = (self.fresh(), self.fresh(), self.fresh());
                // The arms come in a random order: the first arm is not always the same case.
                let mut arms = vec![
                    Arm {
                        open: Some(format!("Num({x}) => {{")),
                        close: Some("},"),
                        binds: vec![x],
                    },
                    Arm {
                        open: Some(format!("Pair({y}, {z}) => {{")),
                        close: Some("},"),
                        binds: vec![y, z],
                    },
                    Arm {
                        open: Some("Empty => {".to_owned()),
                        close: Some("},"),
                        binds: Vec::new(),
                    },
                ];
                let k = self.rng.below(3);
                arms.rotate_left(k);
                arms
            }
        }
    }

    /// Enter branch `arm` of a conditional at `depth`: returns the depth of its statements.
    fn enter_arm(&mut self, sc: &mut Scope, r: usize, arm: &Arm, depth: usize) -> usize {
        let rn = self.roles[r].clone();
        self.enter_arm_at(sc, arm, depth, &rn, &mut |sc, b| sc.add(r, b))
    }

    /// [`Self::enter_arm`] for bindings held at `head` (a role, or a group as `(A, B)`):
    /// `bind` puts each of the pattern's names, and the value computed from them, in scope.
    fn enter_arm_at(
        &mut self,
        sc: &mut Scope,
        arm: &Arm,
        depth: usize,
        head: &str,
        bind: &mut dyn FnMut(&mut Scope, String),
    ) -> usize {
        let inner = if arm.close.is_some() {
            depth + 2
        } else {
            depth + 1
        };
        if let Some(open) = &arm.open {
            let at = if arm.close.is_some() {
                depth + 1
            } else {
                depth
            };
            self.line(at, open);
        }
        sc.push();
        for b in &arm.binds {
            bind(sc, b.clone());
        }
        if !arm.binds.is_empty() {
            // The pattern's bindings are used (by the group, agreed, for a group decision).
            let sum = arm.binds.join(" + ");
            let v = self.fresh();
            self.line(inner, &format!("let {head}.{v} = ({sum}) % 1000;"));
            bind(sc, v);
        }
        inner
    }

    fn leave_arm(&mut self, sc: &mut Scope, arm: &Arm, depth: usize) {
        sc.pop();
        if let Some(close) = arm.close {
            self.line(depth + 1, close);
        }
    }

    /// A conditional decided by `r` in `active`: every other active role is told the branch
    /// (directly, by a multicast selection, or through a relay) or behaves the same in every
    /// branch.
    fn conditional(
        &mut self,
        sc: &mut Scope,
        active: &[usize],
        r: usize,
        depth: usize,
        budget: &mut usize,
        shape: Shape,
    ) {
        let rn = self.roles[r].clone();
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
        // Without `else`, a role that is told in the one branch could not be told in the
        // missing one: only the uninformed roles stay outside.
        if shape == Shape::IfNoElse {
            told.clear();
            relayed.clear();
        }
        let mut inside: Vec<usize> = vec![r];
        inside.extend(told.iter().copied());
        inside.extend(relayed.iter().map(|(o, _)| *o));
        // A statement that an uninformed role does identically in every branch.
        let same: Option<String> = active
            .iter()
            .copied()
            .find(|o| !inside.contains(o))
            .filter(|_| self.rng.chance(50))
            .map(|o| format!("{}.print(\"{} same\");", self.roles[o], self.roles[o]));
        // Sometimes a conditional expression: its branches yield values bound after it.
        let targets = if shape != Shape::IfNoElse && self.rng.chance(35) {
            self.cond_targets(&inside, active, None)
        } else {
            Vec::new()
        };
        let arms = self.open_conditional(sc, r, depth, shape);
        if !targets.is_empty() {
            self.bind_head(depth, &targets);
        }
        for (k, arm) in arms.iter().enumerate() {
            let label = LABELS[k];
            let inner = self.enter_arm(sc, r, arm, depth);
            if !told.is_empty() {
                let to: Vec<&str> = told.iter().map(|&o| self.roles[o].as_str()).collect();
                self.line(inner, &format!("{rn} -> {}[{label}];", to.join(", ")));
            }
            for (o, via) in &relayed {
                self.line(
                    inner,
                    &format!("{} -> {}[{label}];", self.roles[*via], self.roles[*o]),
                );
            }
            if let Some(s) = &same
                && shape != Shape::IfNoElse
            {
                self.line(inner, s);
            }
            let mut b = (*budget).min(6);
            self.block(sc, &inside, inner, &mut b);
            if !targets.is_empty() {
                self.yield_line(sc, inner, &targets);
            }
            self.leave_arm(sc, arm, depth);
        }
        self.line(depth, if targets.is_empty() { "}" } else { "};" });
        Self::bind_targets(sc, targets);
        *budget = budget.saturating_sub(4);
    }

    /// A conditional decided by every member of `group` on agreed values, with no selection
    /// among them: each other active role is told by one member (the same in every branch),
    /// relayed, or left out behaving the same in every branch. A match's bindings are agreed.
    fn group_conditional(
        &mut self,
        sc: &mut Scope,
        active: &[usize],
        group: &[usize],
        depth: usize,
        budget: &mut usize,
        shape: Shape,
    ) {
        let mut told: Vec<(usize, usize)> = Vec::new();
        let mut relayed: Vec<(usize, usize)> = Vec::new();
        for &o in active {
            if group.contains(&o) {
                continue;
            }
            match self.rng.below(3) {
                0 => told.push((o, group[self.rng.below(group.len())])),
                1 if !told.is_empty() => {
                    let via = told[self.rng.below(told.len())].0;
                    relayed.push((o, via));
                }
                _ => {}
            }
        }
        if shape == Shape::IfNoElse {
            told.clear();
            relayed.clear();
        }
        let mut inside: Vec<usize> = group.to_vec();
        inside.extend(told.iter().map(|(o, _)| *o));
        inside.extend(relayed.iter().map(|(o, _)| *o));
        let same: Option<String> = active
            .iter()
            .copied()
            .find(|o| !inside.contains(o))
            .filter(|_| self.rng.chance(50))
            .map(|o| format!("{}.print(\"{} same\");", self.roles[o], self.roles[o]));
        let targets = if shape != Shape::IfNoElse && self.rng.chance(35) {
            self.cond_targets(&inside, active, Some(group))
        } else {
            Vec::new()
        };
        let head = self.group_text(group);
        let vars = sc.agreed_by(group);
        let arms = self.open_decision(&head, &vars, depth, shape);
        if !targets.is_empty() {
            self.bind_head(depth, &targets);
        }
        for (k, arm) in arms.iter().enumerate() {
            let label = LABELS[k];
            let inner =
                self.enter_arm_at(sc, arm, depth, &head, &mut |sc, b| sc.add_agreed(group, b));
            for (o, by) in &told {
                self.line(
                    inner,
                    &format!("{} -> {}[{label}];", self.roles[*by], self.roles[*o]),
                );
            }
            for (o, via) in &relayed {
                self.line(
                    inner,
                    &format!("{} -> {}[{label}];", self.roles[*via], self.roles[*o]),
                );
            }
            if let Some(s) = &same
                && shape != Shape::IfNoElse
            {
                self.line(inner, s);
            }
            let mut b = (*budget).min(6);
            self.block(sc, &inside, inner, &mut b);
            if !targets.is_empty() {
                self.yield_line(sc, inner, &targets);
            }
            self.leave_arm(sc, arm, depth);
        }
        self.line(depth, if targets.is_empty() { "}" } else { "};" });
        Self::bind_targets(sc, targets);
        *budget = budget.saturating_sub(4);
    }

    /// The end of a procedure body that returns at `ret`: either a plain `return`, or a
    /// conditional in tail position whose every branch tells the other roles and ends with a
    /// `return` of its own (possibly in a nested conditional).
    fn tail_return(
        &mut self,
        sc: &mut Scope,
        active: &[usize],
        ret: usize,
        depth: usize,
        nest: usize,
        branch_percent: u64,
    ) {
        let retn = self.roles[ret].clone();
        if nest >= 3 || !self.rng.chance(branch_percent) {
            let others: Vec<usize> = active.iter().copied().filter(|&o| o != ret).collect();
            if !others.is_empty() && self.rng.chance(60) {
                let from = others[self.rng.below(others.len())];
                let e = self.int_expr(sc, from);
                let x = self.fresh();
                self.line(depth, &format!("{}.({e}) -> {retn}.{x};", self.roles[from]));
                sc.add(ret, x);
            }
            let e = self.int_expr(sc, ret);
            self.line(depth, &format!("return {retn}.({e});"));
            return;
        }
        let r = active[self.rng.below(active.len())];
        let rn = self.roles[r].clone();
        let shape = [
            Shape::If,
            Shape::ElseIf,
            Shape::MatchOption,
            Shape::MatchMsg,
        ][self.rng.below(4)];
        // When the returning role decides, the branches may stay its own: the other roles are
        // not told, and their (empty) behaviours merge.
        let local = r == ret && active.len() > 1 && self.rng.chance(30);
        let inside: Vec<usize> = if local { vec![r] } else { active.to_vec() };
        let others: Vec<&str> = inside
            .iter()
            .filter(|&&o| o != r)
            .map(|&o| self.roles[o].as_str())
            .collect();
        let to = others.join(", ");
        let arms = self.open_conditional(sc, r, depth, shape);
        for (k, arm) in arms.iter().enumerate() {
            let inner = self.enter_arm(sc, r, arm, depth);
            if !to.is_empty() {
                self.line(inner, &format!("{rn} -> {to}[{}];", LABELS[k]));
            }
            let mut b = 2;
            self.block(sc, &inside, inner, &mut b);
            self.tail_return(sc, &inside, ret, inner, nest + 1, 45);
            self.leave_arm(sc, arm, depth);
        }
        self.line(depth, "}");
    }
}

/// Generate one well-formed program from a seed.
pub fn program(seed: u64) -> String {
    generate(seed, false)
}

/// [`program`] whose statements also call the externs of [`EXTERN_DECLS`] (implemented by
/// [`EXTERN_CRATE`]) at every kind of role; the same seed otherwise gives a different program.
pub fn program_with_externs(seed: u64) -> String {
    generate(seed, true)
}

fn generate(seed: u64, externs: bool) -> String {
    let mut rng = Rng::new(seed);
    let nroles = 2 + rng.below(3);
    let roles: Vec<String> = ["Ann", "Bob", "Cat", "Dan"][..nroles]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut g = Gen {
        rng: &mut rng,
        roles: vec!["A".into(), "B".into(), "C".into()],
        counter: 0,
        out: String::new(),
        procs: Vec::new(),
        called: Vec::new(),
        externs,
    };
    g.line(0, "enum Msg { Num(Int), Pair(Int, Int), Empty }");
    if externs {
        g.out.push_str(EXTERN_DECLS);
    }
    g.out.push('\n');
    // A procedure with a located result: runs at A and B, returns at B, sometimes from the
    // branches of a conditional.
    {
        let mut sc = Scope::new(2);
        sc.add(0, "x".into());
        g.line(0, "choreography Relay(A, B)(x: Int@A) -> Int@B {");
        let mut budget = 6;
        g.block(&mut sc, &[0, 1], 1, &mut budget);
        let e = g.int_expr(&sc, 0);
        g.line(1, &format!("A.({e}) -> B.result;"));
        sc.add(1, "result".into());
        g.tail_return(&mut sc, &[0, 1], 1, 1, 0, 50);
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
    // A procedure that returns from every branch of a (nested) conditional in tail position.
    {
        let mut sc = Scope::new(2);
        sc.add(0, "x".into());
        g.line(0, "choreography Pick(A, B)(x: Int@A) -> Int@A {");
        let mut budget = 3;
        g.block(&mut sc, &[0, 1], 1, &mut budget);
        g.tail_return(&mut sc, &[0, 1], 0, 1, 0, 100);
        g.line(0, "}");
        g.out.push('\n');
    }
    // A bounded recursion over three roles: the base case returns early, the recursive case
    // calls itself with the roles rotated, keeps the result past a conditional and sends it on.
    {
        let mut sc = Scope::new(3);
        sc.add(0, "n".into());
        g.line(0, "choreography Sum(A, B, C)(n: Int@A) -> Int@A {");
        g.line(1, "if A.n <= 0 {");
        g.line(2, "A -> B, C[Done];");
        sc.push();
        let mut budget = 2;
        g.block(&mut sc, &[0, 1, 2], 2, &mut budget);
        g.tail_return(&mut sc, &[0, 1, 2], 0, 2, 1, 50);
        sc.pop();
        g.line(1, "} else {");
        sc.push();
        g.line(2, "A -> B, C[More];");
        g.line(2, "A.(n - 1) -> B.m;");
        g.line(2, "let B.r = Sum(B, C, A)(B.m);");
        sc.add(1, "m".into());
        sc.add(1, "r".into());
        let c = g.rng.below(3);
        let shape = [Shape::If, Shape::MatchOption, Shape::ElseIf][g.rng.below(3)];
        let mut budget = 3;
        g.conditional(&mut sc, &[0, 1, 2], c, 2, &mut budget, shape);
        g.line(2, "B.((r + m) % 1000) -> A.s, C.s;");
        g.line(2, "C.print(\"C sum \" ++ to_string(s));");
        g.line(2, "return A.((s + n) % 1000);");
        sc.pop();
        g.line(1, "}");
        g.line(0, "}");
        g.out.push('\n');
    }
    // A generic procedure, and two higher-order ones: `Apply` calls its choreography
    // parameter with the roles both ways round (deciding in between), `Twice` passes its
    // parameter on to `Apply`.
    {
        g.line(0, "choreography Carry<T>(A, B)(x: T@A) -> T@B {");
        g.line(1, "A.x -> B.y;");
        g.line(1, "return B.y;");
        g.line(0, "}");
        g.out.push('\n');
        let mut sc = Scope::new(2);
        sc.add(0, "x".into());
        g.line(
            0,
            "choreography Apply(A, B)(step: chor(X, Y)(Int@X) -> Int@Y, x: Int@A) -> Int@B {",
        );
        let mut budget = 3;
        g.block(&mut sc, &[0, 1], 1, &mut budget);
        let e = g.int_expr(&sc, 0);
        g.line(1, &format!("let B.r = step(A, B)(A.({e}));"));
        sc.add(1, "r".into());
        let c = g.rng.below(2);
        let shape = [Shape::If, Shape::MatchOption, Shape::IfNoElse][g.rng.below(3)];
        let mut budget = 2;
        g.conditional(&mut sc, &[0, 1], c, 1, &mut budget, shape);
        g.line(1, "let A.s = step(B, A)(B.((r + 1) % 1000));");
        g.line(1, "A.s -> B.t;");
        g.line(1, "return B.((t + r) % 1000);");
        g.line(0, "}");
        g.out.push('\n');
        g.line(
            0,
            "choreography Twice(A, B)(step: chor(X, Y)(Int@X) -> Int@Y, x: Int@A) -> Int@B {",
        );
        g.line(1, "let B.once = Apply(A, B)(step, A.x);");
        g.line(1, "B.once -> A.back;");
        g.line(1, "let B.twice = step(A, B)(A.back);");
        g.line(1, "return B.((once + twice) % 1000);");
        g.line(0, "}");
        g.out.push('\n');
    }
    // Agreed parameters and several results: an agreed argument at A and B, a value at C; it
    // returns an agreed result at A and B and one at C, from a group decision in tail position.
    {
        let mut sc = Scope::new(3);
        sc.add_agreed(&[0, 1], "k".into());
        sc.add(2, "x".into());
        g.line(
            0,
            "choreography Share(A, B, C)(k: Int@(A, B), x: Int@C) -> (Int@(A, B), Int@C) {",
        );
        let mut budget = 3;
        g.block(&mut sc, &[0, 1, 2], 1, &mut budget);
        g.line(1, "let (A, B).r = (k * 3 + 1) % 1000;");
        g.line(1, "if (A, B).r % 2 == 0 {");
        g.line(2, "A -> C[Even];");
        g.line(2, "C.print(\"C even\");");
        g.line(2, "return ((A, B).(r + 1), C.(x + 1));");
        g.line(1, "} else {");
        g.line(2, "A -> C[Odd];");
        g.line(2, "return ((A, B).r, C.x);");
        g.line(1, "}");
        g.line(0, "}");
        g.out.push('\n');
    }
    g.procs = vec![
        ("Relay".into(), 2),
        ("Count".into(), 2),
        ("Pick".into(), 2),
        ("Sum".into(), 3),
        ("Carry".into(), 2),
        ("Apply".into(), 2),
        ("Twice".into(), 2),
        ("Share".into(), 3),
    ];
    g.called = vec![false; g.procs.len()];
    g.roles = roles.clone();
    let mut sc = Scope::new(nroles);
    let _ = writeln!(g.out, "choreography main({}) {{", roles.join(", "));
    let all: Vec<usize> = (0..nroles).collect();
    let mut budget = 12 + g.rng.below(10);
    while budget > 0 {
        budget -= 1;
        g.stmt(&mut sc, &all, 1, &mut budget);
    }
    // Every procedure runs at least once (when main has roles enough).
    for k in 0..g.procs.len() {
        if !g.called[k] {
            let mut b = 2;
            g.call(&mut sc, &all, k, 1, &mut b);
        }
    }
    for r in &roles {
        g.line(1, &format!("{r}.print(\"end\");"));
    }
    g.line(0, "}");
    g.out
}

/// Generate one well-formed program over a family of roles `Ws[]` (section 10 of the card),
/// for every size: `main(L, M, Ws[])` with broadcasts, gathers, selections to the family and
/// to one member, `for` rounds with member expressions (rings with any stride, scatters,
/// rounds where an outside role reads each member in turn), decisions at a member, and a
/// procedure over the family with a parameter held by every member, and one whose signature
/// names members (`-> Int@Fs[0]`). Member indices are
/// always in range (`% size(Ws)`, `0`, `size(Ws) - 1`), so one program runs at sizes 1–5.
pub fn family_program(seed: u64) -> String {
    let mut rng = Rng::new(seed ^ 0xF00D);
    let mut out = String::new();
    out.push_str(
        "choreography Step(A, Fs[])(x: Int@A, y: Int@Fs) {\n    A.x -> Fs.z;\n    let Fs.w = (y + z) % 1000;\n    Fs.w -> A.ws;\n    A.print(ws);\n}\n\n",
    );
    // Results at a family, alone and among several, and a procedure of single roles that
    // members are passed to.
    out.push_str(
        "choreography Scale(A, Fs[])(x: Int@A, y: Int@Fs) -> Int@Fs {\n    A.x -> Fs.z;\n    return Fs.((y * 3 + z) % 1000);\n}\n\n",
    );
    out.push_str(
        "choreography Both(A, Fs[])(x: Int@A, y: Int@Fs) -> (Int@A, Int@Fs) {\n    Fs.y -> A.ys;\n    A.x -> Fs.z;\n    return (A.((x + list::sum(ys)) % 1000), Fs.((y + z + index(Fs)) % 1000));\n}\n\n",
    );
    // A signature that names members: a parameter at the last, the result at the first.
    out.push_str(
        "choreography Tip(A, Fs[])(x: Int@A, y: Int@Fs[size(Fs) - 1]) -> Int@Fs[0] {\n    Fs[size(Fs) - 1].y -> A.t;\n    A.((x + t) % 1000) -> Fs[0].r;\n    return Fs[0].r;\n}\n\n",
    );
    out.push_str(
        "choreography Pair(A, B)(x: Int@A) -> Int@B {\n    A.x -> B.y;\n    return B.((y + 1) % 1000);\n}\n\n",
    );
    out.push_str(
        "choreography Swap(A, B)(a: Int@A, b: Int@B) -> (Int@A, Int@B) {\n    A.a -> B.fa;\n    B.b -> A.fb;\n    return (A.((fb + 1) % 1000), B.((fa + 2) % 1000));\n}\n\n",
    );
    out.push_str("choreography main(L, M, Ws[]) {\n");
    out.push_str(&format!("    let L.a = {};\n", rng.below(100)));
    out.push_str(&format!("    let M.m = {};\n", rng.below(100)));
    out.push_str("    let Ws.v = index(Ws) * 3;\n");
    let n = 4 + rng.below(8);
    for _ in 0..n {
        family_stmt(&mut rng, &mut out, 1, 0);
    }
    out.push_str("    L.print(a);\n    M.print(m);\n    Ws.print(v);\n}\n");
    out
}

fn family_member(rng: &mut Rng) -> String {
    match rng.below(3) {
        0 => "Ws[0]".to_owned(),
        1 => "Ws[size(Ws) - 1]".to_owned(),
        _ => format!("Ws[{} % size(Ws)]", rng.below(7)),
    }
}

fn family_stmt(rng: &mut Rng, out: &mut String, depth: usize, label: usize) {
    let ind = "    ".repeat(depth);
    let k = 1 + rng.below(9);
    let line = |out: &mut String, s: &str| {
        out.push_str(&ind);
        out.push_str(s);
        out.push('\n');
    };
    // Conditionals (10, 11, 12, and 18 to 23) only when not too deep.
    let r = rng.below(if depth < 3 { 24 } else { 15 });
    match if depth >= 3 && r >= 10 { r + 3 } else { r } {
        0 => line(out, &format!("let Ws.v = (v * {k} + index(Ws)) % 1000;")),
        13 if rng.chance(50) => line(out, "let Ws.v = Scale(L, Ws)(L.a, Ws.v);"),
        13 => line(out, "let Ws[0].v = Tip(L, Ws)(L.a, Ws[size(Ws) - 1].v);"),
        14 => line(out, "let (L.a, Ws.v) = Both(L, Ws)(L.a, Ws.v);"),
        15 => {
            let m = family_member(rng);
            line(out, &format!("let M.m = Pair({m}, M)({m}.v);"));
        }
        16 => line(
            out,
            &format!("for W in Ws {{ let W.v = Pair(L, W)(L.(a + index(W) * {k})); }}"),
        ),
        17 => {
            let m = family_member(rng);
            line(out, &format!("L.a -> (L, {m}).g;"));
            line(
                out,
                &format!("let (M.m, {m}.v) = Swap(M, {m})(M.m, {m}.(v + g));"),
            );
        }
        // The forms below make members' programs differ (a group naming the round's member,
        // nested rounds), which keeps them from sharing one class program: not too often.
        18..=21 if rng.chance(50) => line(out, &format!("let Ws.v = (v + {k}) % 1000;")),
        18 => {
            // A value agreed by L and the whole family, and a decision of that group: M, an
            // outsider, is told by L in both branches; members act by themselves.
            line(out, &format!("L.(a + {k}) % 1000 -> (L, Ws).g{label};"));
            line(out, &format!("if (L, Ws).g{label} % 2 == 0 {{"));
            line(out, "    L -> M[Even];");
            line(out, &format!("    let Ws.v = (v + g{label}) % 1000;"));
            line(
                out,
                &format!("    M.print(\"even \" ++ to_string(m + {k}));"),
            );
            line(out, "} else {");
            line(out, "    L -> M[Odd];");
            line(out, &format!("    Ws.print(g{label});"));
            line(out, "}");
        }
        19 => {
            // A decision of L and the round's member on a value they agree on in the round.
            line(out, "for W in Ws {");
            line(
                out,
                &format!("    L.(a + index(W) * {k}) % 1000 -> (L, W).h;"),
            );
            line(out, &format!("    if (L, W).h > {} {{", rng.below(100)));
            line(out, "        W.(v + h) % 1000 -> L.t;");
            line(out, "        L.print(t);");
            line(out, "    } else {");
            line(out, "        W.print(h);");
            line(out, "    }");
            line(out, "}");
        }
        20 => {
            // A conditional expression bound at the round's member (outlives the loop).
            line(out, "for W in Ws {");
            line(
                out,
                &format!("    let W.v = if L.a > {} {{", rng.below(100)),
            );
            line(out, "        L -> W[Up];");
            line(out, "        L.a -> W.u;");
            line(out, "        W.((v + u) % 1000)");
            line(out, "    } else {");
            line(out, "        L -> W[Down];");
            line(out, "        W.v");
            line(out, "    };");
            line(out, "}");
        }
        21 => {
            // Nested rounds over one family: the rounds where X and Y are one member bind
            // locally; a gather inside a round.
            line(out, "for X in Ws {");
            line(out, "    for Y in Ws {");
            line(out, &format!("        X.(v + {k}) % 1000 -> Y.v;"));
            line(out, "    }");
            line(out, "    Ws.v -> X.all;");
            line(out, "    let X.v = list::sum(all) % 1000;");
            line(out, "}");
        }
        1 => line(out, &format!("L.(a + {k}) % 1000 -> Ws.v;")),
        2 => {
            line(out, &format!("Ws.v + {k} -> L.xs;"));
            line(out, "let L.a = list::sum(xs) % 1000;");
        }
        3 => line(
            out,
            &format!(
                "for W in Ws {{ W.(v + index(W)) % 1000 -> Ws[(index(W) + {k}) % size(Ws)].v; }}"
            ),
        ),
        4 => line(
            out,
            &format!("for W in Ws {{ L.(a * index(W) + {k}) % 1000 -> W.v; }}"),
        ),
        5 => {
            line(out, "for W in Ws {");
            line(out, "    W.v -> L.t;");
            line(out, &format!("    let L.a = (a + t + {k}) % 1000;"));
            line(out, "    L.print(a + index(W));");
            line(out, "}");
        }
        6 => {
            let m = family_member(rng);
            line(out, &format!("M.m -> Ws.v, L.b{label};"));
            line(out, &format!("{m}.(v + {k}) % 1000 -> M.m;"));
        }
        7 => line(out, "Step(L, Ws)(L.a, Ws.v);"),
        8 => line(out, "Ws.print(v);"),
        9 => {
            let m = family_member(rng);
            line(out, &format!("{m}.print(\"member \" ++ to_string(v));"));
        }
        // Conditionals (not too deep).
        // L decides and both branches yield a value at every member (one per member, each
        // computed at its member), alone or beside one at L.
        22 | 23 => {
            let both = r == 23;
            let head = if both {
                "let (L.a, Ws.v) = "
            } else {
                "let Ws.v = "
            };
            line(out, &format!("{head}if L.a % {} == 0 {{", 2 + rng.below(3)));
            line(out, "    L -> Ws, M[Yes];");
            for _ in 0..rng.below(3) {
                family_stmt(rng, out, depth + 1, label + 1);
            }
            let at_ws = format!("Ws.((v * {k} + index(Ws)) % 1000)");
            line(
                out,
                &if both {
                    format!("    (L.((a + {k}) % 1000), {at_ws})")
                } else {
                    format!("    {at_ws}")
                },
            );
            line(out, "} else {");
            line(out, "    L -> Ws, M[No];");
            for _ in 0..rng.below(2) {
                family_stmt(rng, out, depth + 1, label + 1);
            }
            line(
                out,
                if both {
                    "    (L.(a), Ws.(v + 1))"
                } else {
                    "    Ws.(v + 1)"
                },
            );
            line(out, "};");
        }
        10 => {
            // L decides; the family and M are told with one selection each.
            line(out, &format!("if L.a % {} == 0 {{", 2 + rng.below(3)));
            line(out, "    L -> Ws, M[Yes];");
            for _ in 0..1 + rng.below(3) {
                family_stmt(rng, out, depth + 1, label + 1);
            }
            line(out, "} else {");
            line(out, "    L -> Ws, M[No];");
            for _ in 0..rng.below(3) {
                family_stmt(rng, out, depth + 1, label + 1);
            }
            line(out, "}");
        }
        11 => {
            // A member decides and tells L; the other roles do the same in both branches.
            let m = family_member(rng);
            line(out, &format!("if {m}.v > {} {{", rng.below(30)));
            line(out, &format!("    {m} -> L[Hi];"));
            line(out, &format!("    L.print(\"hi \" ++ to_string(a + {k}));"));
            line(out, "} else {");
            line(out, &format!("    {m} -> L[Lo];"));
            line(out, "}");
        }
        _ => {
            // A selection to one member: the others are not involved.
            let m = family_member(rng);
            line(out, &format!("if L.a > {} {{", rng.below(500)));
            line(out, &format!("    L -> {m}[Yes];"));
            line(out, &format!("    L.a -> {m}.v;"));
            line(out, "} else {");
            line(out, &format!("    L -> {m}[No];"));
            line(out, "}");
        }
    }
}

/// The externs generated programs call ([`program_with_externs`]), declared after the enum
/// `Msg`: scalar signatures (the direct entries of native code) and structured ones (String,
/// List, a struct, the enum, Option, Result).
pub const EXTERN_DECLS: &str = "\n\
struct Pt { x: Int, y: Int }\n\n\
extern fn ffi_mix(a: Int, b: Int) -> Int;\n\
extern fn ffi_odd(n: Int) -> Bool;\n\
extern fn ffi_scale(x: Float, k: Int) -> Float;\n\
extern fn ffi_shout(s: String, n: Int) -> String;\n\
extern fn ffi_total(xs: List<Int>) -> Int;\n\
extern fn ffi_flip(p: Pt) -> Pt;\n\
extern fn ffi_classify(n: Int) -> Msg;\n\
extern fn ffi_weight(m: Msg) -> Int;\n\
extern fn ffi_div(a: Int, b: Int) -> Result<Int, String>;\n\
extern fn ffi_lookup(n: Int) -> Option<String>;\n";

/// The externs of [`EXTERN_DECLS`] with scalar signatures, and the others, as called (`name(`).
pub const EXTERN_SCALAR_CALLS: [&str; 3] = ["ffi_mix(", "ffi_odd(", "ffi_scale("];
pub const EXTERN_STRUCTURED_CALLS: [&str; 7] = [
    "ffi_shout(",
    "ffi_total(",
    "ffi_flip(",
    "ffi_classify(",
    "ffi_weight(",
    "ffi_div(",
    "ffi_lookup(",
];

/// The Rust crate implementing [`EXTERN_DECLS`] (its `src/lib.rs`; see [`extern_project`]).
pub const EXTERN_CRATE: &str = include_str!("extern_crate.rs");

/// A project (chor.toml, `native/` implementing [`EXTERN_DECLS`], `src/main.chor`) under
/// `CARGO_TARGET_TMPDIR`, which outlives test runs, so that cargo rebuilds the crate only when
/// it changed. The test binaries that use it (differential, native) share it, and so one
/// build: `cargo test` runs them one after the other, and the glue they make is the same
/// (every generated program declares the same externs). Files are rewritten only when they
/// differ (cargo then sees nothing new).
pub fn extern_project() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("generated-externs");
    let write = |p: &str, t: &str| {
        let path = dir.join(p);
        if std::fs::read_to_string(&path).is_ok_and(|old| old == t) {
            return;
        }
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::fs::write(&path, t).expect("write");
    };
    write(
        "chor.toml",
        "[package]\nname = \"generated\"\n\n[extern]\ncrate = \"native\"\n",
    );
    write(
        "native/Cargo.toml",
        "[package]\nname = \"native\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\nchor-ffi = { path = \"../target/chor/chor-ffi\" }\n",
    );
    write("native/src/lib.rs", EXTERN_CRATE);
    write("src/main.chor", &program_with_externs(0));
    dir
}
