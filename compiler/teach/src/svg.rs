//! SVG rendering of a sequence diagram, written as plain text (no dependencies).
//!
//! Layout: one column per role, one row per step. All text is monospace, so its width can be
//! estimated from the number of characters; the gaps between columns grow until every label,
//! note and frame title fits. Fragments (`alt`, `opt`) and `ref` frames are drawn around the
//! columns of the roles they involve, nested frames a little inside their parents.
//!
//! Every drawn element carries a class (`role`, `lifeline`, `comm`, `select`, `note`, `frame`,
//! `ref`) and the arrows `data-from`/`data-to`, so tests and style sheets can find them.

use crate::diagram::{Diagram, MessageKind, Section, Step};
use std::fmt::Write as _;

const FONT: f64 = 12.0;
/// Width of one character of a 12px monospace font.
const CHAR_W: f64 = 7.3;
const MIN_GAP: f64 = 150.0;
const ROLE_BOX_H: f64 = 30.0;
const MARGIN: f64 = 24.0;
const MSG_H: f64 = 36.0;
const NOTE_H: f64 = 22.0;
const FRAME_PAD: f64 = 14.0;
/// Height of each further line of a wrapped note or label.
const LINE_H: f64 = 15.0;

/// Width of a (possibly wrapped) text: its longest line.
fn text_w(s: &str) -> f64 {
    s.lines().map(|l| l.chars().count()).max().unwrap_or(0) as f64 * CHAR_W
}

/// Lines of a wrapped text beyond the first.
fn extra_lines(s: &str) -> f64 {
    s.lines().count().saturating_sub(1) as f64
}

/// `<tspan>`s placing each line of a wrapped text under the previous one, centred on `x`.
fn tspans(x: f64, s: &str) -> String {
    let mut out = String::new();
    for (i, line) in s.lines().enumerate() {
        let dy = if i == 0 { 0.0 } else { LINE_H };
        let _ = write!(
            out,
            r#"<tspan x="{x:.1}" dy="{dy:.1}">{}</tspan>"#,
            esc(line)
        );
    }
    out
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if c.is_control() => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// Horizontal space a step asks for: `(from column, to column, width needed between them)`.
fn needs(
    d: &Diagram,
    steps: &[Step],
    col: &dyn Fn(&str) -> usize,
    out: &mut Vec<(usize, usize, f64)>,
) {
    for s in steps {
        match s {
            Step::Message {
                from, to, label, ..
            } => {
                let (a, b) = (col(from), col(to));
                out.push((a.min(b), a.max(b), text_w(label) + 30.0));
            }
            Step::Note { role, text } | Step::Problem { role, text } => {
                let i = col(role);
                let half = (text_w(text) + 16.0) / 2.0 + 8.0;
                if i > 0 {
                    out.push((i - 1, i, half + 12.0));
                }
                if i + 1 < d.roles.len() {
                    out.push((i, i + 1, half + 12.0));
                }
            }
            Step::Fragment {
                role,
                also,
                sections,
                operator,
            } => {
                let mut cols = vec![col(role)];
                cols.extend(also.iter().map(|r| col(r)));
                collect_cols(sections, col, &mut cols);
                let (lo, hi) = span_of(&cols);
                let header = text_w(operator)
                    + 24.0
                    + text_w(&format!(
                        "[{}]",
                        sections.first().map_or("", |s| s.guard.as_str())
                    ));
                let widest = sections
                    .iter()
                    .map(|s| text_w(&format!("[{}]", s.guard)) + 16.0)
                    .fold(header, f64::max);
                out.push((lo, hi, widest - 2.0 * FRAME_PAD));
                for sec in sections {
                    needs(d, &sec.steps, col, out);
                }
            }
            Step::Ref { roles, text } => {
                let cols: Vec<usize> = roles.iter().map(|r| col(r)).collect();
                let (lo, hi) = span_of(&cols);
                out.push((lo, hi, text_w(text) + 60.0 - 2.0 * FRAME_PAD));
            }
        }
    }
}

fn collect_cols(sections: &[Section], col: &dyn Fn(&str) -> usize, cols: &mut Vec<usize>) {
    for sec in sections {
        for s in &sec.steps {
            match s {
                Step::Message { from, to, .. } => {
                    cols.push(col(from));
                    cols.push(col(to));
                }
                Step::Note { role, .. } | Step::Problem { role, .. } => cols.push(col(role)),
                Step::Fragment {
                    role,
                    also,
                    sections,
                    ..
                } => {
                    cols.push(col(role));
                    cols.extend(also.iter().map(|r| col(r)));
                    collect_cols(sections, col, cols);
                }
                Step::Ref { roles, .. } => cols.extend(roles.iter().map(|r| col(r))),
            }
        }
    }
}

fn span_of(cols: &[usize]) -> (usize, usize) {
    let lo = cols.iter().copied().min().unwrap_or(0);
    let hi = cols.iter().copied().max().unwrap_or(0);
    (lo, hi)
}

/// Frame nesting depth below a list of steps (0 when there is no frame).
fn depth(steps: &[Step]) -> usize {
    steps
        .iter()
        .map(|s| match s {
            Step::Fragment { sections, .. } => {
                1 + sections.iter().map(|x| depth(&x.steps)).max().unwrap_or(0)
            }
            Step::Ref { .. } => 1,
            _ => 0,
        })
        .max()
        .unwrap_or(0)
}

struct Svg<'d> {
    d: &'d Diagram,
    x: Vec<f64>,
    y: f64,
    body: String,
    /// Horizontal extent of everything drawn, for the canvas size.
    min_x: f64,
    max_x: f64,
}

impl Svg<'_> {
    fn col(&self, role: &str) -> usize {
        self.d.roles.iter().position(|r| r == role).unwrap_or(0)
    }

    fn extend(&mut self, a: f64, b: f64) {
        self.min_x = self.min_x.min(a);
        self.max_x = self.max_x.max(b);
    }

    fn steps(&mut self, steps: &[Step]) {
        for s in steps {
            self.step(s);
        }
    }

    fn step(&mut self, s: &Step) {
        match s {
            Step::Message {
                from,
                to,
                label,
                kind,
            } => {
                let (x1, x2) = (self.x[self.col(from)], self.x[self.col(to)]);
                // A wrapped label's lines stand above the arrow, which moves down for them.
                let above = extra_lines(label) * LINE_H;
                let y = self.y + MSG_H - 12.0 + above;
                let dir = if x2 >= x1 { 1.0 } else { -1.0 };
                let (class, extra, marker) = match kind {
                    MessageKind::Comm => ("comm", "", "arrow"),
                    MessageKind::Select => ("select", r#" stroke-dasharray="6 4""#, "open"),
                };
                let color = if *kind == MessageKind::Comm {
                    "#222"
                } else {
                    "#1f5fbf"
                };
                let _ = writeln!(
                    self.body,
                    r#"<line class="{class}" data-from="{}" data-to="{}" x1="{x1:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{color}" stroke-width="1.5"{extra} marker-end="url(#{marker})"/>"#,
                    esc(from),
                    esc(to),
                    x2 - dir * 2.0,
                );
                let style = if *kind == MessageKind::Select {
                    r#" font-weight="bold""#
                } else {
                    ""
                };
                let _ = writeln!(
                    self.body,
                    r##"<text class="label" x="{:.1}" y="{:.1}" text-anchor="middle" fill="{color}"{style} stroke="#ffffff" stroke-width="4" paint-order="stroke">{}</text>"##,
                    (x1 + x2) / 2.0,
                    y - 6.0 - above,
                    tspans((x1 + x2) / 2.0, label)
                );
                self.y += MSG_H + above;
            }
            Step::Note { role, text } | Step::Problem { role, text } => {
                // A problem is a note in red.
                let (class, fill, stroke, ink) = if matches!(s, Step::Problem { .. }) {
                    ("problem", "#fde2e2", "#c0392b", "#7b1d13")
                } else {
                    ("note", "#fff6d5", "#c8b35a", "#3b3200")
                };
                let x = self.x[self.col(role)];
                let w = text_w(text) + 16.0;
                let top = self.y + 6.0;
                let h = NOTE_H + extra_lines(text) * LINE_H;
                let _ = writeln!(
                    self.body,
                    r##"<rect class="{class}" data-role="{}" x="{:.1}" y="{top:.1}" width="{w:.1}" height="{h:.1}" rx="3" fill="{fill}" stroke="{stroke}"/>"##,
                    esc(role),
                    x - w / 2.0
                );
                let _ = writeln!(
                    self.body,
                    r##"<text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="{ink}">{}</text>"##,
                    top + 15.0,
                    tspans(x, text)
                );
                self.extend(x - w / 2.0, x + w / 2.0);
                self.y += h + 10.0;
            }
            Step::Ref { roles, text } => {
                let cols: Vec<usize> = roles.iter().map(|r| self.col(r)).collect();
                let (lo, hi) = span_of(&cols);
                let (mut x1, mut x2) = (self.x[lo] - FRAME_PAD - 8.0, self.x[hi] + FRAME_PAD + 8.0);
                let need = text_w(text) + 60.0;
                if x2 - x1 < need {
                    let grow = (need - (x2 - x1)) / 2.0;
                    x1 -= grow;
                    x2 += grow;
                }
                let top = self.y + 6.0;
                let h = 34.0;
                let _ = writeln!(
                    self.body,
                    r##"<g class="ref"><rect x="{x1:.1}" y="{top:.1}" width="{:.1}" height="{h}" fill="#eef3fb" stroke="#555"/>"##,
                    x2 - x1
                );
                self.tab(x1, top, "ref");
                let _ = writeln!(
                    self.body,
                    r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#1d2b45">{}</text></g>"##,
                    (x1 + x2) / 2.0 + 14.0,
                    top + 21.0,
                    esc(text)
                );
                self.extend(x1, x2);
                self.y += h + 14.0;
            }
            Step::Fragment {
                operator,
                role,
                also,
                sections,
            } => {
                let mut cols = vec![self.col(role)];
                cols.extend(also.iter().map(|r| self.col(r)));
                collect_cols(sections, &|r| self.col(r), &mut cols);
                let (lo, hi) = span_of(&cols);
                let inner: usize = sections.iter().map(|s| depth(&s.steps)).max().unwrap_or(0);
                let pad = FRAME_PAD + 10.0 * inner as f64;
                // Notes at the edge columns may be wider than the padding.
                let mut x1 = self.x[lo] - pad;
                let mut x2 = self.x[hi] + pad;
                let before = (self.min_x, self.max_x);
                self.min_x = f64::INFINITY;
                self.max_x = f64::NEG_INFINITY;
                let top = self.y + 4.0;
                let mut group = String::new();
                std::mem::swap(&mut group, &mut self.body);
                self.y = top + 26.0;
                let mut separators = Vec::new();
                for (i, sec) in sections.iter().enumerate() {
                    if i > 0 {
                        separators.push((self.y + 2.0, sec.guard.clone()));
                        self.y += 24.0;
                    }
                    self.steps(&sec.steps);
                }
                let bottom = self.y + 4.0;
                if self.min_x.is_finite() {
                    x1 = x1.min(self.min_x - 10.0);
                    x2 = x2.max(self.max_x + 10.0);
                }
                let header = format!("[{}]", sections.first().map_or("", |s| s.guard.as_str()));
                x2 = x2.max(x1 + text_w(operator) + 30.0 + text_w(&header));
                for (_, g) in &separators {
                    x2 = x2.max(x1 + text_w(&format!("[{g}]")) + 16.0);
                }
                std::mem::swap(&mut group, &mut self.body);
                let _ = writeln!(
                    self.body,
                    r##"<g class="frame" data-operator="{}"><rect x="{x1:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#555"/>"##,
                    esc(operator),
                    x2 - x1,
                    bottom - top
                );
                let tab_w = self.tab(x1, top, operator);
                let _ = writeln!(
                    self.body,
                    r##"<text class="guard" x="{:.1}" y="{:.1}" fill="#333" font-style="italic" stroke="#ffffff" stroke-width="4" paint-order="stroke">{}</text>"##,
                    x1 + tab_w + 8.0,
                    top + 15.0,
                    esc(&header)
                );
                for (y, g) in &separators {
                    let _ = writeln!(
                        self.body,
                        r##"<line x1="{x1:.1}" y1="{y:.1}" x2="{x2:.1}" y2="{y:.1}" stroke="#555" stroke-dasharray="5 4"/>"##
                    );
                    let _ = writeln!(
                        self.body,
                        r##"<text class="guard" x="{:.1}" y="{:.1}" fill="#333" font-style="italic" stroke="#ffffff" stroke-width="4" paint-order="stroke">[{}]</text>"##,
                        x1 + 8.0,
                        y + 15.0,
                        esc(g)
                    );
                }
                self.body.push_str("</g>\n");
                self.body.push_str(&group);
                self.min_x = before.0.min(x1);
                self.max_x = before.1.max(x2);
                self.y = bottom + 8.0;
            }
        }
    }

    /// The pentagon tab with the operator name at the top left of a frame; returns its width.
    fn tab(&mut self, x: f64, y: f64, name: &str) -> f64 {
        let w = text_w(name) + 16.0;
        let h = 18.0;
        let _ = writeln!(
            self.body,
            r##"<path d="M{x:.1},{y:.1} h{w:.1} v{:.1} l-6,6 H{x:.1} Z" fill="#e4e4e4" stroke="#555"/><text x="{:.1}" y="{:.1}" font-weight="bold" fill="#222">{}</text>"##,
            h - 6.0,
            x + 7.0,
            y + 13.0,
            esc(name)
        );
        w
    }
}

/// Render a diagram as a standalone SVG document.
pub fn render(d: &Diagram) -> String {
    let n = d.roles.len().max(1);
    let col = |r: &str| d.roles.iter().position(|x| x == r).unwrap_or(0);
    // Column gaps: start at the minimum, grow until every constraint holds (narrow ones first).
    let mut gaps = vec![MIN_GAP; n.saturating_sub(1)];
    for (i, r) in d.roles.iter().enumerate().skip(1) {
        let w = (text_w(r) + text_w(&d.roles[i - 1])) / 2.0 + 40.0;
        gaps[i - 1] = gaps[i - 1].max(w);
    }
    let mut cons = Vec::new();
    needs(d, &d.steps, &col, &mut cons);
    cons.sort_by_key(|(a, b, _)| b - a);
    for (a, b, need) in cons {
        if a == b {
            continue;
        }
        let have: f64 = gaps[a..b].iter().sum();
        if have < need {
            let add = (need - have) / (b - a) as f64;
            for g in &mut gaps[a..b] {
                *g += add;
            }
        }
    }
    let mut x = Vec::with_capacity(n);
    let mut cur = 0.0;
    for i in 0..n {
        x.push(cur);
        if i < gaps.len() {
            cur += gaps[i];
        }
    }
    let title_lines: Vec<&str> = d.title.lines().collect();
    let top = MARGIN + 12.0 + 16.0 * title_lines.len().max(1) as f64;
    let mut s = Svg {
        d,
        x,
        y: top + ROLE_BOX_H + 8.0,
        body: String::new(),
        min_x: 0.0,
        max_x: cur,
    };
    for (i, r) in d.roles.iter().enumerate() {
        let w = text_w(r) + 24.0;
        s.extend(s.x[i] - w / 2.0, s.x[i] + w / 2.0);
    }
    s.steps(&d.steps);
    let bottom = s.y + 12.0;
    // Shift everything so that the leftmost drawing starts at the margin.
    let shift = MARGIN - s.min_x;
    let title_w = title_lines.iter().map(|l| text_w(l)).fold(0.0, f64::max) + 2.0 * MARGIN;
    let width = (s.max_x - s.min_x + 2.0 * MARGIN).max(title_w).ceil();
    let height = (bottom + ROLE_BOX_H + MARGIN).ceil();
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="'DejaVu Sans Mono', Menlo, Consolas, monospace" font-size="{FONT}">"#
    );
    let _ = writeln!(out, "<title>{}</title>", esc(&d.title.replace('\n', " ")));
    out.push_str(concat!(
        "<defs>\n",
        r##"<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#222"/></marker>"##,
        "\n",
        r##"<marker id="open" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10" fill="none" stroke="#1f5fbf" stroke-width="1.5"/></marker>"##,
        "\n</defs>\n",
    ));
    let _ = writeln!(
        out,
        r##"<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>"##
    );
    for (i, line) in title_lines.iter().enumerate() {
        let _ = writeln!(
            out,
            r##"<text class="title" x="{MARGIN}" y="{:.1}" font-weight="{}" font-size="13" fill="#111">{}</text>"##,
            MARGIN + 6.0 + 16.0 * i as f64,
            if i == 0 { "bold" } else { "normal" },
            esc(line)
        );
    }
    let _ = writeln!(out, r#"<g transform="translate({shift:.1},0)">"#);
    for (i, r) in d.roles.iter().enumerate() {
        let xr = s.x[i];
        let w = text_w(r) + 24.0;
        let _ = writeln!(
            out,
            r##"<line class="lifeline" data-role="{}" x1="{xr:.1}" y1="{:.1}" x2="{xr:.1}" y2="{bottom:.1}" stroke="#888" stroke-dasharray="4 4"/>"##,
            esc(r),
            top + ROLE_BOX_H
        );
        for y in [top, bottom] {
            let _ = writeln!(
                out,
                r##"<g class="role" data-role="{}"><rect x="{:.1}" y="{y:.1}" width="{w:.1}" height="{ROLE_BOX_H}" rx="4" fill="#dfe9f7" stroke="#2c4a74"/><text x="{xr:.1}" y="{:.1}" text-anchor="middle" font-weight="bold" fill="#10233f">{}</text></g>"##,
                esc(r),
                xr - w / 2.0,
                y + 19.0,
                esc(r)
            );
        }
    }
    out.push_str(&s.body);
    out.push_str("</g>\n</svg>\n");
    out
}
