//! chor-verify: an independent checker of projected programs.
//!
//! Projection promises that the local programs of a choreography, run together, never
//! deadlock, never leave a message unread and never receive a message of the wrong kind. This
//! crate checks that promise on the projected programs themselves, with its own small
//! semantics of local programs: it shares no code with projection, merging or the
//! interpreters, only the data types of local programs (`chor_project::LocalProgram`).
//!
//! The model: every ordered pair of roles has an unbounded FIFO channel; a message is "a
//! value" or "label L" (values are abstracted away); a role's `if` and `match` are internal
//! choices, every arm explored; a `branch` waits for a label and must have an arm for it;
//! calls push frames, and a choreography already active `depth` times on a role's stack is not
//! entered again (the path is cut there, and the report says how many paths were cut). The
//! search visits every interleaving of the roles' actions, with a visited set on states
//! (every role's call stack and every channel's contents). See docs/verify.md.

mod code;
mod explore;
mod values;

pub use values::{FnInfo, Functions};

use chor_diagnostics::Span;
use chor_project::LocalProgram;
use std::fmt::Write as _;
use std::sync::Arc;

/// Bounds of the search.
#[derive(Debug, Clone)]
pub struct Options {
    /// How many activations of one choreography a role's stack may hold; a call beyond that
    /// is not entered and the path is cut.
    pub depth: usize,
    /// Stop after this many states (the report then says the search is incomplete).
    pub max_states: usize,
    /// Report at most this many distinct findings (the rest are only counted).
    pub max_findings: usize,
    /// The program's local functions, to decide which expressions are pure (an expression
    /// calling a function not listed here is taken as one whose value may differ each time).
    pub functions: Arc<Functions>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            depth: 3,
            max_states: 1_000_000,
            max_findings: 10,
            functions: Arc::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Some role has not finished and no role can move.
    Deadlock,
    /// Every role has finished and a channel still holds a message.
    OrphanMessage,
    /// A role waits for a value and the next message is a label, or the reverse, or a label
    /// that its `branch` has no arm for.
    UnexpectedMessage,
    /// A call passes a different role in the caller's own place (projection never does this).
    Malformed,
    /// The members of a group decide on values that were not shown to be equal, so they may
    /// take different branches.
    Disagreement,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Deadlock => "deadlock",
            Kind::OrphanMessage => "orphan message",
            Kind::UnexpectedMessage => "unexpected message",
            Kind::Malformed => "malformed program",
            Kind::Disagreement => "unagreed decision",
        }
    }
}

/// Something a role did or is doing, at a source location.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    pub role: String,
    pub text: String,
    pub span: Option<Span>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: Kind,
    /// One line, without locations.
    pub summary: String,
    /// Where each concerned role stands (or, for orphans, which sends were never received).
    pub at: Vec<Located>,
    /// A shortest sequence of actions from the start to the finding.
    pub trace: Vec<Located>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub roles: Vec<String>,
    pub states: usize,
    pub transitions: usize,
    /// Final states in which some role stood at a call beyond the depth bound.
    pub cut: usize,
    pub depth: usize,
    pub findings: Vec<Finding>,
    /// Distinct findings beyond `Options::max_findings`, counted only.
    pub more_findings: usize,
    /// False when the state limit stopped the search.
    pub complete: bool,
}

impl Report {
    pub fn finding_count(&self) -> usize {
        self.findings.len() + self.more_findings
    }

    /// True when the search finished and found nothing.
    pub fn ok(&self) -> bool {
        self.complete && self.finding_count() == 0
    }

    /// The report for people; `loc` turns a span into `file:line`.
    pub fn render(&self, loc: &dyn Fn(Span) -> String) -> String {
        let mut out = String::new();
        let at = |s: Option<Span>| s.map(|s| format!(" ({})", loc(s))).unwrap_or_default();
        for f in &self.findings {
            let _ = writeln!(out, "{}: {}", f.kind.name(), f.summary);
            for a in &f.at {
                let _ = writeln!(out, "  {} {}{}", a.role, a.text, at(a.span));
            }
            if f.trace.is_empty() {
                let _ = writeln!(out, "  trace: (from the start)");
            } else {
                let _ = writeln!(out, "  trace:");
                let width = f.trace.len().to_string().len();
                for (i, t) in f.trace.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "    {:>width$}. {} {}{}",
                        i + 1,
                        t.role,
                        t.text,
                        at(t.span)
                    );
                }
            }
            out.push('\n');
        }
        if self.more_findings > 0 {
            let _ = writeln!(
                out,
                "... and {} more distinct finding{}",
                self.more_findings,
                plural(self.more_findings)
            );
        }
        let n = self.finding_count();
        let verdict = if n == 0 && self.complete {
            "verified"
        } else {
            "not verified"
        };
        let _ = write!(
            out,
            "{verdict}: {} state{}, {} transition{}, {n} finding{}",
            self.states,
            plural(self.states),
            self.transitions,
            plural(self.transitions),
            plural(n)
        );
        if self.cut > 0 {
            let _ = write!(
                out,
                " ({} path{} cut at recursion depth {}; raise it with --depth)",
                self.cut,
                plural(self.cut),
                self.depth
            );
        }
        out.push('\n');
        if !self.complete {
            let _ = writeln!(
                out,
                "the search stopped at the limit of states, so not every interleaving was \
                 explored; lower --depth"
            );
        }
        out
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Explore every interleaving of `locals` (one program per role of `main`). Errors describe a
/// malformed program: a role or procedure named but not present.
pub fn verify(locals: &[LocalProgram], opts: &Options) -> Result<Report, String> {
    if locals.len() > usize::from(u16::MAX) {
        return Err(format!("{} roles are too many to explore", locals.len()));
    }
    let mut shared = code::Shared {
        labels: code::Labels::default(),
        names: code::Interner::default(),
        texts: code::Interner::default(),
        purity: values::Purity::new(&opts.functions),
    };
    let codes = locals
        .iter()
        .map(|l| code::compile(l, &mut shared))
        .collect::<Result<Vec<_>, _>>()?;
    let labels = shared.labels;
    for c in &codes {
        let entry = &c.procs[c.entry];
        if let Some(r) = entry
            .roles
            .iter()
            .find(|r| !codes.iter().any(|o| &o.role == *r))
        {
            return Err(format!(
                "role {}: its main names role {r}, which has no program",
                c.role
            ));
        }
        if entry.roles.get(entry.me as usize) != Some(&c.role) {
            return Err(format!(
                "the program of role {} runs main as another role",
                c.role
            ));
        }
    }
    Ok(explore::Explorer::new(&codes, &labels, opts).run())
}

#[cfg(test)]
mod tests;
