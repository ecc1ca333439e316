//! Sequence diagrams: the model both renderers draw (`svg`, `mermaid`), built either from a
//! choreography's text (the protocol) or from the trace of one run (what really happened).
//!
//! A diagram is a list of roles (one lifeline each) and a list of steps in order: messages
//! (communications and selections), notes for local actions, `alt`/`opt` fragments for `if`
//! and `match` (one section per branch), and `ref` frames for choreography calls. A call is never
//! expanded — recursive procedures stay finite on paper, and each procedure can be drawn on its
//! own with `--choreography NAME`.

use chor_check::Program;
use chor_syntax::ast::*;
use chor_syntax::pretty;

/// Longest line (in characters) of a note or message label: longer text wraps onto further
/// lines (and frame guards and `ref` texts, drawn on one line, are cut with `…`).
pub const MAX_LABEL: usize = 48;
/// Most lines a wrapped note or label takes; the rest of a longer text is cut with `…`.
pub const MAX_LINES: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// `R.e -> S.x`: a value travels.
    Comm,
    /// `R -> S[L]`: a selection label travels.
    Select,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// The guard written at the top of the section (`Buyer: price <= budget`, `else`).
    pub guard: String,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Message {
        from: String,
        to: String,
        label: String,
        kind: MessageKind,
    },
    /// A local action at one role.
    Note { role: String, text: String },
    /// What the checks found wrong with the step just before (or, for a decision, the fragment
    /// just after), at the role concerned: drawn as a red note.
    Problem { role: String, text: String },
    /// `alt` (or `opt` for an `if` without `else`): one section per branch.
    Fragment {
        operator: String,
        /// The role that decides.
        role: String,
        /// The other members of a deciding group (`if (A, B).e`): each decides by itself, so
        /// the frame spans their lifelines too.
        also: Vec<String>,
        sections: Vec<Section>,
    },
    /// A call of another choreography, over the roles it is given.
    Ref { roles: Vec<String>, text: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Diagram {
    pub title: String,
    pub roles: Vec<String>,
    pub steps: Vec<Step>,
}

impl Diagram {
    /// Messages of each kind in the whole diagram, sections included.
    pub fn count(&self, kind: MessageKind) -> usize {
        fn go(steps: &[Step], kind: MessageKind) -> usize {
            steps
                .iter()
                .map(|s| match s {
                    Step::Message { kind: k, .. } => usize::from(*k == kind),
                    Step::Fragment { sections, .. } => {
                        sections.iter().map(|x| go(&x.steps, kind)).sum()
                    }
                    _ => 0,
                })
                .sum()
        }
        go(&self.steps, kind)
    }
}

/// Wrap a note or message label into lines of at most `MAX_LABEL` characters, joined with
/// `\n`, breaking after a space or a comma where one is near the end of the line (so values
/// like `[1, 2, 3]` break between elements), at most `MAX_LINES` lines.
pub fn wrap(s: &str) -> String {
    let chars: Vec<char> = s.replace('\n', " ").chars().collect();
    let mut lines: Vec<String> = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        if lines.len() + 1 == MAX_LINES && chars.len() - start > MAX_LABEL {
            let mut t: String = chars[start..start + MAX_LABEL - 1].iter().collect();
            t.push('…');
            lines.push(t);
            break;
        }
        let mut end = (start + MAX_LABEL).min(chars.len());
        if end < chars.len() {
            // Break after the last space or comma in the second half of the line.
            if let Some(k) = (start + MAX_LABEL / 2..end)
                .rev()
                .find(|&k| chars[k] == ' ' || chars[k] == ',')
            {
                end = k + 1;
            }
        }
        let line: String = chars[start..end].iter().collect();
        lines.push(line.trim_end().to_owned());
        start = end;
        while start < chars.len() && chars[start] == ' ' {
            start += 1;
        }
    }
    lines.join("\n")
}

/// Cut a label drawn on one line to `MAX_LABEL` characters.
pub fn shorten(s: &str) -> String {
    let one_line = s.replace('\n', " ");
    if one_line.chars().count() <= MAX_LABEL {
        one_line
    } else {
        let mut t: String = one_line.chars().take(MAX_LABEL - 1).collect();
        t.push('…');
        t
    }
}

fn ex(e: &Expr) -> String {
    pretty::expr_string(e)
}

fn pat(p: &Pattern) -> String {
    let mut s = String::new();
    pretty::pattern(p, &mut s);
    s
}

/// The diagram of the choreography `name` of a program.
pub fn from_choreography(prog: &Program, name: &str) -> Result<Diagram, String> {
    // A choreography with families is drawn as written: a family is one (stacked) lifeline,
    // a `for` round a `loop` frame.
    let written = prog.family_sources.get(name).map(|c| &**c);
    let Some(c) = written.or_else(|| prog.chor(name)) else {
        let mut names: Vec<&str> = prog
            .chors
            .values()
            .filter(|r| prog.units.get(r.unit).is_some_and(|u| !u.is_stdlib))
            .filter_map(|r| prog.chor_def(*r))
            .map(|c| c.name.name.as_str())
            .collect();
        names.sort_unstable();
        return Err(if names.is_empty() {
            "this file defines no choreography".to_owned()
        } else {
            format!(
                "no choreography named `{name}` (this file has {})",
                names.join(", ")
            )
        });
    };
    let roles: Vec<String> = c.roles.iter().map(|r| r.name.clone()).collect();
    let title = format!("choreography {}", signature(c, "\n    "));
    let b = Builder {
        marks: Vec::new(),
        this: c.name.name.clone(),
        rounds: rounds_of(&c.body),
    };
    Ok(Diagram {
        title,
        roles,
        steps: b.block_steps(&c.body),
    })
}

/// The diagram of `name`, with the errors of `diagnostics` that point into it marked at the
/// actions they are about (`chor diagram` on a program that fails knowledge of choice shows
/// where the protocol goes wrong).
pub fn from_choreography_marked(
    prog: &Program,
    name: &str,
    diagnostics: &[chor_diagnostics::Diagnostic],
) -> Result<Diagram, String> {
    let mut d = from_choreography(prog, name)?;
    let written = prog.family_sources.get(name).map(|c| &**c);
    let Some(c) = written.or_else(|| prog.chor(name)) else {
        return Ok(d);
    };
    let mut marks = Vec::new();
    for diag in diagnostics.iter().filter(|d| d.is_error()) {
        for (i, l) in diag.labels.iter().enumerate() {
            let inside = l.span.file == c.span.file
                && c.span.start <= l.span.start
                && l.span.end <= c.span.end;
            if inside {
                let text = if i == 0 {
                    format!("{}: {}", diag.code, diag.message)
                } else {
                    l.message.clone()
                };
                marks.push((l.span, text));
            }
        }
    }
    d.steps = Builder {
        marks,
        this: c.name.name.clone(),
        rounds: rounds_of(&c.body),
    }
    .block_steps(&c.body);
    Ok(d)
}

/// Turns statements into steps, placing the marks of problems next to the steps they concern.
struct Builder {
    marks: Vec<(chor_diagnostics::Span, String)>,
    /// The choreography drawn: a call of it is the start of its next round.
    this: String,
    /// The variables of `for` rounds and their families.
    rounds: std::collections::HashMap<String, String>,
}

/// The variable and family of every `for` round in `b`.
fn rounds_of(b: &ChorBlock) -> std::collections::HashMap<String, String> {
    let mut out = std::collections::HashMap::new();
    fn go(b: &ChorBlock, out: &mut std::collections::HashMap<String, String>) {
        for s in &b.stmts {
            match &s.kind {
                ChorStmtKind::For { var, family, body } => {
                    out.insert(var.name.clone(), family.name.clone());
                    go(body, out);
                }
                ChorStmtKind::If { then, els, .. } => {
                    go(then, out);
                    if let Some(e) = els {
                        go(e, out);
                    }
                }
                ChorStmtKind::Match { arms, .. } => arms.iter().for_each(|a| go(&a.body, out)),
                _ => {}
            }
        }
    }
    go(b, &mut out);
    out
}

impl Builder {
    /// The lifeline of a role position: a member (`Ws[i + 1]`, or the `W` of a round) is
    /// drawn on its family's lifeline.
    fn line(&self, r: &Ident) -> String {
        match r.name.split_once('[') {
            Some((family, _)) => family.to_owned(),
            None => self
                .rounds
                .get(&r.name)
                .cloned()
                .unwrap_or_else(|| r.name.clone()),
        }
    }

    fn block_steps(&self, b: &ChorBlock) -> Vec<Step> {
        let mut out = Vec::new();
        for s in &b.stmts {
            self.stmt_steps(s, &mut out);
        }
        out
    }

    /// The marks whose span lies in `outer` but in none of `inner` (nested statements mark
    /// their own steps).
    fn marks_in(
        &self,
        outer: chor_diagnostics::Span,
        inner: &[&ChorBlock],
    ) -> Vec<&(chor_diagnostics::Span, String)> {
        let within = |a: chor_diagnostics::Span, b: chor_diagnostics::Span| {
            a.file == b.file && b.start <= a.start && a.end <= b.end
        };
        self.marks
            .iter()
            .filter(|(sp, _)| within(*sp, outer) && !inner.iter().any(|b| within(*sp, b.span)))
            .collect()
    }

    fn stmt_steps(&self, s: &ChorStmt, out: &mut Vec<Step>) {
        let (role, inner): (Option<String>, Vec<&ChorBlock>) = match &s.kind {
            ChorStmtKind::Let { role, .. }
            | ChorStmtKind::Effect { role, .. }
            | ChorStmtKind::Return { role, .. } => (Some(self.line(role)), Vec::new()),
            ChorStmtKind::Comm { from, .. } | ChorStmtKind::Select { from, .. } => {
                (Some(self.line(from)), Vec::new())
            }
            ChorStmtKind::If {
                role, then, els, ..
            } => {
                let mut v = vec![then];
                v.extend(els.iter());
                (Some(self.line(role)), v)
            }
            ChorStmtKind::Match { role, arms, .. } => (
                Some(self.line(role)),
                arms.iter().map(|a| &a.body).collect(),
            ),
            ChorStmtKind::Call { call, .. } | ChorStmtKind::CallMany { call, .. } => {
                (call.roles.first().map(|r| self.line(r)), Vec::new())
            }
            ChorStmtKind::Results { parts } | ChorStmtKind::Yield { parts } => {
                (parts.first().map(|p| self.line(&p.role)), Vec::new())
            }
            ChorStmtKind::LetMany { targets, .. } => {
                (targets.first().map(|t| self.line(&t.role)), Vec::new())
            }
            ChorStmtKind::For { body, .. } => (None, vec![body]),
            ChorStmtKind::Error => (None, Vec::new()),
        };
        let problems: Vec<Step> = match role {
            Some(r) => self
                .marks_in(s.span, &inner)
                .into_iter()
                .map(|(_, text)| Step::Problem {
                    role: r.clone(),
                    text: wrap(text),
                })
                .collect(),
            None => Vec::new(),
        };
        // A decision's problem comes before its fragment; an action's right after it.
        let decision = !inner.is_empty();
        if decision {
            out.extend(problems.iter().cloned());
        }
        self.stmt_steps_plain(s, out);
        if !decision {
            out.extend(problems);
        }
    }

    fn stmt_steps_plain(&self, s: &ChorStmt, out: &mut Vec<Step>) {
        match &s.kind {
            ChorStmtKind::Let {
                role,
                pat: p,
                value,
                group,
                ..
            } => {
                // Every member of a group computes the agreed value: a note on each lifeline.
                for r in held_by(role, group.as_ref()) {
                    out.push(Step::Note {
                        role: self.line(r),
                        text: wrap(&format!("let {} = {}", pat(p), ex(value))),
                    });
                }
            }
            ChorStmtKind::Comm { from, expr, to, .. } => {
                for r in to {
                    // A sender in the receiving group keeps the value: it sends nothing to itself.
                    if r.role.name == from.name {
                        out.push(Step::Note {
                            role: from.name.clone(),
                            text: wrap(&format!("let {} = {}", r.var.name, ex(expr))),
                        });
                        continue;
                    }
                    out.push(Step::Message {
                        from: self.line(from),
                        to: self.line(&r.role),
                        label: wrap(&format!("{} → {}", ex(expr), r.var.name)),
                        kind: MessageKind::Comm,
                    });
                }
            }
            ChorStmtKind::Select { from, to, label } => {
                for r in to {
                    out.push(Step::Message {
                        from: self.line(from),
                        to: self.line(r),
                        label: format!("[{}]", label.name),
                        kind: MessageKind::Select,
                    });
                }
            }
            ChorStmtKind::Effect { role, expr } => out.push(Step::Note {
                role: self.line(role),
                text: wrap(&ex(expr)),
            }),
            ChorStmtKind::If { role, group, .. } => {
                let mut sections = Vec::new();
                let mut cur = s;
                let mut has_else = false;
                // Flatten `else if` chains into further sections of one fragment.
                while let ChorStmtKind::If {
                    role: r,
                    cond,
                    then,
                    els,
                    group: g,
                    ..
                } = &cur.kind
                {
                    sections.push(Section {
                        guard: shorten(&format!("{}: {}", who(r, g.as_ref()), ex(cond))),
                        steps: self.block_steps(then),
                    });
                    match els {
                        None => break,
                        Some(e) => match e.stmts.as_slice() {
                            [inner] if matches!(inner.kind, ChorStmtKind::If { .. }) => cur = inner,
                            _ => {
                                sections.push(Section {
                                    guard: "else".to_owned(),
                                    steps: self.block_steps(e),
                                });
                                has_else = true;
                                break;
                            }
                        },
                    }
                }
                let operator = if has_else || sections.len() > 1 {
                    "alt"
                } else {
                    "opt"
                };
                out.push(Step::Fragment {
                    operator: operator.to_owned(),
                    role: self.line(role),
                    also: others(group.as_ref()),
                    sections,
                });
                if let ChorStmtKind::If { bind, .. } = &s.kind {
                    self.bound_notes(bind, out);
                }
            }
            ChorStmtKind::Match {
                role,
                scrutinee,
                arms,
                group,
                bind,
            } => {
                let scrut = ex(scrutinee);
                let head = who(role, group.as_ref());
                out.push(Step::Fragment {
                    operator: "alt".to_owned(),
                    role: self.line(role),
                    also: others(group.as_ref()),
                    sections: arms
                        .iter()
                        .map(|a| Section {
                            guard: shorten(&format!("{head}: {scrut} is {}", pat(&a.pat))),
                            steps: self.block_steps(&a.body),
                        })
                        .collect(),
                });
                self.bound_notes(bind, out);
            }
            ChorStmtKind::Call { call, .. } | ChorStmtKind::CallMany { call, .. } => {
                let roles: Vec<String> = call.roles.iter().map(|r| r.name.clone()).collect();
                let lines: Vec<String> = call.roles.iter().map(|r| self.line(r)).collect();
                let args: Vec<String> = call
                    .args
                    .iter()
                    .map(|a| format!("{}.{}", who(&a.role, a.group.as_ref()), ex(&a.expr)))
                    .collect();
                let mut text = format!(
                    "{}({})({})",
                    call.callee.name,
                    roles.join(", "),
                    args.join(", ")
                );
                match &s.kind {
                    ChorStmtKind::Call {
                        bind: Some((r, p, _)),
                        ..
                    } => text = format!("{text} → {}.{}", r.name, pat(p)),
                    ChorStmtKind::CallMany { targets, .. } => {
                        let ts: Vec<String> = targets
                            .iter()
                            .map(|t| format!("{}.{}", who(&t.role, t.group.as_ref()), pat(&t.pat)))
                            .collect();
                        text = format!("{text} → {}", ts.join(", "));
                    }
                    _ => {}
                }
                // A recursive call starts the procedure again: the diagram says so, since the
                // frame alone reads like a call of some other procedure.
                if call.callee.name == self.this {
                    text = format!("{ROUND_MARK} next round: {text}");
                }
                out.push(Step::Ref {
                    roles: lines,
                    text: shorten(&text),
                });
            }
            ChorStmtKind::Return { role, expr } => out.push(Step::Note {
                role: self.line(role),
                text: wrap(&format!("return {}", ex(expr))),
            }),
            ChorStmtKind::For { var, family, body } => out.push(Step::Fragment {
                operator: "loop".to_owned(),
                role: family.name.clone(),
                also: Vec::new(),
                sections: vec![Section {
                    guard: format!("for {} in {}", var.name, family.name),
                    steps: self.block_steps(body),
                }],
            }),
            // Each role that holds a result returns it, and each that holds a value a branch
            // of a conditional expression yields yields it: a note on its lifeline.
            ChorStmtKind::Results { parts } | ChorStmtKind::Yield { parts } => {
                let word = match s.kind {
                    ChorStmtKind::Results { .. } => "return",
                    _ => "yield",
                };
                for p in parts {
                    for r in held_by(&p.role, p.group.as_ref()) {
                        out.push(Step::Note {
                            role: self.line(r),
                            text: wrap(&format!("{word} {}", ex(&p.expr))),
                        });
                    }
                }
            }
            ChorStmtKind::LetMany { .. } => {}
            ChorStmtKind::Error => {}
        }
    }

    /// After the fragment of a conditional expression: where its values are bound.
    fn bound_notes(&self, targets: &[Target], out: &mut Vec<Step>) {
        for t in targets {
            for r in held_by(&t.role, t.group.as_ref()) {
                out.push(Step::Note {
                    role: self.line(r),
                    text: wrap(&format!("let {} = the value yielded", pat(&t.pat))),
                });
            }
        }
    }
}

/// Who decides or binds: a role, or a group `(A, B)`.
fn who(role: &Ident, group: Option<&Group>) -> String {
    match group {
        Some(g) => {
            let names: Vec<&str> = g.roles.iter().map(|r| r.name.as_str()).collect();
            format!("({})", names.join(", "))
        }
        None => role.name.clone(),
    }
}

/// The members of a deciding group after the first (whose lifeline `role` names).
fn others(group: Option<&Group>) -> Vec<String> {
    group.map_or_else(Vec::new, |g| {
        g.roles.iter().skip(1).map(|r| r.name.clone()).collect()
    })
}

/// How a diagram marks the rounds of a recursive procedure.
pub const ROUND_MARK: &str = "↻";

/// One observed event of a run, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
pub enum RunEvent {
    /// A value sent from one role to another; `var` is the receiving variable when known.
    Comm {
        from: String,
        to: String,
        value: String,
        var: Option<String>,
    },
    Select {
        from: String,
        to: String,
        label: String,
    },
    /// A line printed by a role.
    Print { role: String, line: String },
    /// The first of `roles` entered round `round` (1 for the first call) of the
    /// choreography `chor`: the run of a recursive procedure is divided into its rounds.
    Round {
        chor: String,
        round: usize,
        roles: Vec<String>,
    },
}

/// The diagram of one run of `main`: the messages that really flowed, with their values.
pub fn from_run(roles: &[String], events: &[RunEvent]) -> Diagram {
    let steps = events
        .iter()
        .map(|e| match e {
            RunEvent::Comm {
                from,
                to,
                value,
                var,
            } => Step::Message {
                from: from.clone(),
                to: to.clone(),
                label: wrap(&match var {
                    Some(v) => format!("{v} = {value}"),
                    None => value.clone(),
                }),
                kind: MessageKind::Comm,
            },
            RunEvent::Select { from, to, label } => Step::Message {
                from: from.clone(),
                to: to.clone(),
                label: format!("[{label}]"),
                kind: MessageKind::Select,
            },
            RunEvent::Print { role, line } => Step::Note {
                role: role.clone(),
                text: wrap(&format!("prints \"{line}\"")),
            },
            RunEvent::Round { chor, round, roles } => Step::Ref {
                roles: roles.clone(),
                text: shorten(&format!("{ROUND_MARK} {chor}: round {round}")),
            },
        })
        .collect();
    Diagram {
        title: format!("one run of main({})", roles.join(", ")),
        roles: roles.to_vec(),
        steps,
    }
}

/// For a communication statement at `span` (as the interpreter reports it), the receiving
/// variable of its `index`-th receiver.
pub fn receiver_var(prog: &Program, span: Span, index: usize) -> Option<String> {
    fn find(b: &ChorBlock, span: Span, index: usize) -> Option<String> {
        for s in &b.stmts {
            if let ChorStmtKind::Comm { to, .. } = &s.kind
                && s.span == span
            {
                return to.get(index).map(|r| r.var.name.clone());
            }
            let found = match &s.kind {
                ChorStmtKind::If { then, els, .. } => find(then, span, index)
                    .or_else(|| els.as_ref().and_then(|e| find(e, span, index))),
                ChorStmtKind::Match { arms, .. } => {
                    arms.iter().find_map(|a| find(&a.body, span, index))
                }
                _ => None,
            };
            if found.is_some() {
                return found;
            }
        }
        None
    }
    prog.units
        .iter()
        .filter(|u| !u.is_stdlib && u.file == span.file)
        .flat_map(|u| u.ast.iter())
        .find_map(|it| match it {
            Item::Chor(c) if c.span.start <= span.start && span.end <= c.span.end => {
                find(&c.body, span, index)
            }
            _ => None,
        })
}

/// A choreography's signature for a title: `Name<T>(A, B)` then `sep` and the parameters, with
/// choreography-typed parameters written as their type (`chor(X, Y)(Int@X) -> Int@Y`).
fn signature(c: &ChorDef, sep: &str) -> String {
    let roles: Vec<String> = c
        .roles
        .iter()
        .map(|r| match c.is_family(&r.name) {
            true => format!("{}[]", r.name),
            false => r.name.clone(),
        })
        .collect();
    let mut title = c.name.name.clone();
    if !c.generics.is_empty() {
        let gs: Vec<&str> = c.generics.iter().map(|g| g.name.as_str()).collect();
        title.push_str(&format!("<{}>", gs.join(", ")));
    }
    title.push_str(&format!("({})", roles.join(", ")));
    if !c.params.is_empty() {
        let params: Vec<String> = c
            .params
            .iter()
            .map(|p| {
                let t = match &p.chor {
                    Some(t) => signature(t, ""),
                    None => {
                        let mut t = String::new();
                        pretty::ty(&p.ty, &mut t);
                        format!("{t}@{}", p.role.name)
                    }
                };
                if p.name.name.is_empty() {
                    t
                } else {
                    format!("{}: {t}", p.name.name)
                }
            })
            .collect();
        title.push_str(&format!("{sep}({})", params.join(", ")));
    }
    if let Some((t, r)) = &c.ret {
        let mut s = String::new();
        pretty::ty(t, &mut s);
        title.push_str(&format!(" -> {s}@{}", r.name));
    }
    title
}
