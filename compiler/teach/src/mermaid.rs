//! Mermaid rendering of a sequence diagram (`sequenceDiagram` text), for Markdown pages that
//! render Mermaid (GitHub, GitLab, many documentation sites).

use crate::diagram::{Diagram, MessageKind, Step};
use std::fmt::Write as _;

/// Mermaid treats `;` as a statement end and `#` as the start of an entity: write both as
/// entities, and keep every message on one line.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '#' => o.push_str("#35;"),
            ';' => o.push_str("#59;"),
            '\n' | '\r' => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// A wrapped label: its lines joined with Mermaid's line break.
fn lines(s: &str) -> String {
    s.lines().map(esc).collect::<Vec<_>>().join("<br/>")
}

/// Render a diagram as Mermaid text.
pub fn render(d: &Diagram) -> String {
    let mut out = String::from("sequenceDiagram\n");
    // The title's second line (the parameters) continues the first: no stray spaces.
    let title: Vec<&str> = d.title.lines().map(str::trim).collect();
    let _ = writeln!(out, "    title {}", esc(&title.concat()));
    for r in &d.roles {
        let _ = writeln!(out, "    participant {r}");
    }
    steps(&d.steps, &d.roles, 1, &mut out);
    out
}

fn steps(steps_: &[Step], order: &[String], depth: usize, out: &mut String) {
    let ind = "    ".repeat(depth);
    for s in steps_ {
        match s {
            Step::Message {
                from,
                to,
                label,
                kind,
            } => {
                let arrow = match kind {
                    MessageKind::Comm => "->>",
                    MessageKind::Select => "-->>",
                };
                let _ = writeln!(out, "{ind}{from}{arrow}{to}: {}", lines(label));
            }
            Step::Note { role, text } => {
                let _ = writeln!(out, "{ind}Note over {role}: {}", lines(text));
            }
            Step::Problem { role, text } => {
                let _ = writeln!(out, "{ind}Note over {role}: ⚠ {}", lines(text));
            }
            Step::Ref { roles, text } => {
                // `Note over A,B` spans the columns from A to B: name the outermost ones.
                let mut cols: Vec<usize> = roles
                    .iter()
                    .filter_map(|r| order.iter().position(|o| o == r))
                    .collect();
                cols.sort_unstable();
                let over = match (cols.first(), cols.last()) {
                    (Some(a), Some(b)) if a != b => format!("{},{}", order[*a], order[*b]),
                    (Some(a), _) => order[*a].clone(),
                    _ => roles.join(","),
                };
                let _ = writeln!(out, "{ind}Note over {over}: ref {}", esc(text));
            }
            Step::Fragment {
                operator, sections, ..
            } => {
                for (i, sec) in sections.iter().enumerate() {
                    if i == 0 {
                        let _ = writeln!(out, "{ind}{operator} {}", esc(&sec.guard));
                    } else if sec.guard == "else" {
                        let _ = writeln!(out, "{ind}else");
                    } else {
                        let _ = writeln!(out, "{ind}else {}", esc(&sec.guard));
                    }
                    steps(&sec.steps, order, depth + 1, out);
                }
                let _ = writeln!(out, "{ind}end");
            }
        }
    }
}
