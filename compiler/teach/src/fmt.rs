//! `chor fmt`: the canonical layout of a .chor file.
//!
//! The formatter prints the syntax tree again — 4-space indentation, one statement per line,
//! trailing commas in multi-line lists — and weaves the comments the lexer kept back in near
//! where they were. It never changes meaning: `format_source` parses its own output and refuses
//! (returns an error instead of text) unless the result has the same tree, modulo spans, and the
//! same comments in the same order.
//!
//! Layout rules, kept simple so that formatting is idempotent:
//! - a list (arguments, elements, fields, parameters) stays on one line when every element has a
//!   one-line form, no comment lies inside it and the line stays within 100 columns; otherwise one
//!   element per line, each followed by a comma;
//! - `match` is always one arm per line; an `if` expression stays on one line only when both
//!   branches are a single simple expression and it fits; blocks with statements are multi-line;
//! - blank lines between statements and items are kept (at most one); items are separated by one;
//! - a comment inside a one-line statement moves to the line above it; a comment at the end of a
//!   line stays at the end of that line.

use chor_diagnostics::{Diagnostic, FileId, Span};
use chor_syntax::ast::*;
use chor_syntax::lexer::Comment;
use chor_syntax::pretty;

/// Lines longer than this make a list break into one element per line.
pub const MAX_WIDTH: usize = 100;

/// Format a whole file. Syntax errors are returned as they are (the file must not be touched);
/// an internal failure to preserve meaning is returned as one error diagnostic.
pub fn format_source(file: FileId, src: &str) -> Result<String, Vec<Diagnostic>> {
    let parsed = chor_syntax::parse(file, src);
    if !parsed.errors.is_empty() {
        return Err(parsed.errors);
    }
    let mut p = Printer::new(src, &parsed.comments);
    p.file(&parsed.file);
    let out = p.finish();
    // The safety net: the output must mean exactly what the input meant.
    let again = chor_syntax::parse(file, &out);
    let same_tree = again.errors.is_empty() && same_ast(&parsed.file, &again.file);
    let same_comments = comment_texts(&parsed.comments) == comment_texts(&again.comments);
    if !same_tree || !same_comments {
        let what = if same_tree {
            "would lose or reorder a comment"
        } else {
            "would change the meaning of this file"
        };
        return Err(vec![Diagnostic::error(
            "E0950",
            format!("chor fmt {what}; the file was left unchanged (this is a bug in chor fmt)"),
            Span::new(file, 0, 0),
            "",
        )]);
    }
    Ok(out)
}

/// The texts of the comments, in order (trailing blanks ignored).
pub fn comment_texts(comments: &[Comment]) -> Vec<String> {
    comments
        .iter()
        .map(|c| c.text.trim_end().to_owned())
        .collect()
}

/// Two syntax trees are equal when they differ at most in their spans.
pub fn same_ast(a: &File, b: &File) -> bool {
    strip_spans(&format!("{a:?}")) == strip_spans(&format!("{b:?}"))
}

/// The `Debug` text of a tree with every `Span { … }` removed.
pub fn strip_spans(debug: &str) -> String {
    let mut out = String::with_capacity(debug.len());
    let mut rest = debug;
    while let Some(i) = rest.find("Span { file: ") {
        out.push_str(&rest[..i]);
        match rest[i..].find('}') {
            Some(j) => rest = &rest[i + j + 1..],
            None => {
                rest = "";
            }
        }
        out.push('_');
    }
    out.push_str(rest);
    out
}

/// A node's source range as byte offsets.
/// Indentation stops growing past this depth, as in `chor project`: a program nested
/// thousands of levels deep (an adversarial or generated one) would otherwise be rewritten as
/// text quadratic in its depth (3,000 levels of conditionals, 0.1 MB, became 90 MB).
const MAX_INDENT: usize = 64;

fn range(s: Span) -> (usize, usize) {
    (s.start as usize, s.end as usize)
}

struct Printer<'a> {
    src: &'a str,
    comments: &'a [Comment],
    /// Index of the next comment not yet written.
    next: usize,
    out: String,
    indent: usize,
    /// Source offset just after the last thing written (for blank-line preservation).
    last: usize,
    /// The current line opened a block: no blank line may follow.
    at_block_start: bool,
    /// The next line must be preceded by a blank line (between items).
    pending_blank: bool,
    /// One-line mode: write everything on one line; `failed` when that is not possible.
    flat: bool,
    failed: bool,
    /// How many broken lists enclose the current position (since the last block): only the
    /// outermost list of a statement breaks because of width.
    list_depth: usize,
    /// `list_depth` of the enclosing blocks.
    depths: Vec<usize>,
    /// The width of what follows the next list on its line (a signature's result and ` {`):
    /// the list stays on one line only if that fits too.
    trail: usize,
}

impl<'a> Printer<'a> {
    fn new(src: &'a str, comments: &'a [Comment]) -> Printer<'a> {
        Printer {
            src,
            comments,
            next: 0,
            out: String::new(),
            indent: 0,
            last: 0,
            at_block_start: true,
            pending_blank: false,
            flat: false,
            failed: false,
            list_depth: 0,
            depths: Vec::new(),
            trail: 0,
        }
    }

    fn finish(mut self) -> String {
        self.leading_close(self.src.len());
        let trimmed = self.out.trim_end().len();
        self.out.truncate(trimmed);
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        self.out
    }

    // ------------------------------------------------------------------ comments and lines

    fn has_comment_in(&self, (start, end): (usize, usize)) -> bool {
        self.comments
            .iter()
            .any(|c| c.start >= start && c.end <= end)
    }

    /// Is a comment that starts before `pos` still waiting to be written?
    fn pending_before(&self, pos: usize) -> bool {
        self.comments.get(self.next).is_some_and(|c| c.start < pos)
    }

    fn blank_between(&self, from: usize, to: usize) -> bool {
        self.src
            .get(from..to)
            .is_some_and(|gap| gap.chars().filter(|c| *c == '\n').count() >= 2)
    }

    fn push_indent(&mut self) {
        for _ in 0..self.indent.min(MAX_INDENT) {
            self.out.push_str("    ");
        }
    }

    /// Before a line that starts at source offset `pos`: a blank line if one is due.
    fn blank_before(&mut self, pos: usize) {
        let due = self.pending_blank || self.blank_between(self.last, pos);
        if due && !self.at_block_start && !self.out.is_empty() {
            self.out.push('\n');
        }
        self.pending_blank = false;
    }

    /// Write, each on its own line, the comments that start before `pos`.
    fn comments_before(&mut self, pos: usize) {
        while let Some(c) = self.comments.get(self.next) {
            if c.start >= pos {
                break;
            }
            self.blank_before(c.start);
            self.push_indent();
            self.out.push_str(c.text.trim_end());
            self.out.push('\n');
            self.last = self.last.max(c.end);
            self.next += 1;
            self.at_block_start = false;
        }
    }

    /// Comments before a node that starts a line at `pos`, then the blank line due before it.
    fn leading(&mut self, pos: usize) {
        self.comments_before(pos);
        self.blank_before(pos);
    }

    /// Comments before a closing delimiter at `end` (no blank line before the delimiter).
    fn leading_close(&mut self, end: usize) {
        self.comments_before(end);
        self.pending_blank = false;
    }

    /// Comments that follow source offset `end` on the same source line, separated from it only
    /// by `;`, `,` and spaces: they stay at the end of the current output line.
    fn trailing(&mut self, end: usize) {
        while let Some(c) = self.comments.get(self.next) {
            if c.start < end {
                break;
            }
            let gap = self.src.get(end..c.start).unwrap_or("\n");
            if !gap.chars().all(|ch| matches!(ch, ' ' | '\t' | ';' | ',')) {
                break;
            }
            self.out.push(' ');
            self.out.push_str(c.text.trim_end());
            self.last = self.last.max(c.end);
            self.next += 1;
            if c.text.starts_with("//") {
                break;
            }
        }
    }

    /// A node on lines of its own: its comments, its text, a trailing comment, the newline.
    /// A comment inside a node that fits on one line moves to the line above it.
    fn line_item(&mut self, span: (usize, usize), render: impl FnOnce(&mut Self)) {
        self.leading(span.0);
        let mark = self.out.len();
        self.push_indent();
        self.at_block_start = false;
        render(self);
        let one_line = !self.out[mark..].contains('\n');
        if one_line
            && self
                .comments
                .get(self.next)
                .is_some_and(|c| c.start < span.1)
        {
            let text = self.out.split_off(mark);
            // The blank line due before the item was written already: none between these.
            self.at_block_start = true;
            self.comments_before(span.1);
            self.at_block_start = false;
            self.out.push_str(&text);
        }
        self.last = self.last.max(span.1);
        self.trailing(span.1);
        self.out.push('\n');
        self.at_block_start = false;
    }

    /// After an opening `{` at source offset `brace_end`: its trailing comment and the newline.
    fn open_block(&mut self, brace_end: usize) {
        self.depths.push(std::mem::take(&mut self.list_depth));
        self.last = self.last.max(brace_end);
        self.trailing(brace_end);
        self.out.push('\n');
        self.indent += 1;
        self.at_block_start = true;
    }

    /// Before the closing `}` at source offset `end - 1`.
    fn close_block(&mut self, end: usize) {
        self.leading_close(end.saturating_sub(1));
        self.indent -= 1;
        self.push_indent();
        self.at_block_start = false;
        self.last = self.last.max(end);
        self.list_depth = self.depths.pop().unwrap_or(0);
    }

    /// The offset just after the `{` that follows `pos` (only blanks between), else `pos`.
    fn brace_after(&self, pos: usize) -> usize {
        let rest = self.src.get(pos..).unwrap_or("");
        let skipped = rest.len() - rest.trim_start().len();
        if rest.trim_start().starts_with('{') {
            pos + skipped + 1
        } else {
            pos
        }
    }

    fn column(&self) -> usize {
        let line_start = self.out.rfind('\n').map_or(0, |i| i + 1);
        self.out[line_start..].chars().count()
    }

    fn fits(&self, extra: usize) -> bool {
        self.column() + extra <= MAX_WIDTH
    }

    /// The one-line text of something, or `None` when it has no one-line form.
    fn flat_text(&self, render: impl FnOnce(&mut Printer<'a>)) -> Option<String> {
        let mut p = Printer::new(self.src, self.comments);
        p.flat = true;
        render(&mut p);
        if p.failed { None } else { Some(p.out) }
    }

    /// A comma-separated list between `open` and `close`: on one line when possible, else one
    /// item per line with trailing commas. `single_comma` adds the `,` a one-element tuple needs.
    #[allow(clippy::too_many_arguments)]
    fn list<T>(
        &mut self,
        open: &str,
        close: &str,
        items: &[T],
        container: (usize, usize),
        span_of: impl Fn(&T) -> (usize, usize),
        render: impl Fn(&mut Printer<'a>, &T),
        single_comma: bool,
        pad: bool,
    ) {
        let flats: Option<Vec<String>> = items
            .iter()
            .map(|it| self.flat_text(|p| render(p, it)))
            .collect();
        let inline = |flats: &[String]| {
            let mut s = String::from(open);
            if pad && !flats.is_empty() {
                s.push(' ');
            }
            s.push_str(&flats.join(", "));
            if single_comma && flats.len() == 1 {
                s.push(',');
            }
            if pad && !flats.is_empty() {
                s.push(' ');
            }
            s.push_str(close);
            s
        };
        if self.flat {
            match flats {
                Some(f) => self.out.push_str(&inline(&f)),
                None => self.failed = true,
            }
            return;
        }
        let trail = std::mem::take(&mut self.trail).max(2);
        if let Some(f) = flats {
            let text = inline(&f);
            let fits = items.is_empty() || self.list_depth > 0 || self.fits(text.len() + trail);
            if !self.has_comment_in(container) && fits {
                self.out.push_str(&text);
                return;
            }
        }
        self.out.push_str(open);
        self.out.push('\n');
        self.indent += 1;
        self.at_block_start = true;
        self.list_depth += 1;
        for it in items {
            let sp = span_of(it);
            self.line_item(sp, |p| {
                render(p, it);
                p.out.push(',');
            });
        }
        self.list_depth -= 1;
        self.leading_close(container.1.saturating_sub(1));
        self.indent -= 1;
        self.push_indent();
        self.out.push_str(close);
        self.at_block_start = false;
    }

    // ------------------------------------------------------------------ items

    fn file(&mut self, f: &File) {
        let mut prev_import = false;
        for (i, item) in f.iter().enumerate() {
            let is_import = matches!(item, Item::Import(_));
            if i > 0 && !(prev_import && is_import) {
                self.pending_blank = true;
            }
            prev_import = is_import;
            self.line_item(range(item.span()), |p| p.item(item));
        }
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Import(i) => {
                self.out.push_str("import ");
                pretty::quote_str(&i.path, &mut self.out);
                self.out.push(';');
            }
            Item::Struct(s) => {
                self.out.push_str("struct ");
                self.out.push_str(&s.name.name);
                self.generics(&s.generics);
                self.out.push(' ');
                self.list(
                    "{",
                    "}",
                    &s.fields,
                    range(s.span),
                    |f| (f.name.span.start as usize, f.ty.span().end as usize),
                    |p, f| {
                        p.out.push_str(&f.name.name);
                        p.out.push_str(": ");
                        pretty::ty(&f.ty, &mut p.out);
                    },
                    false,
                    true,
                );
            }
            Item::Enum(e) => {
                self.out.push_str("enum ");
                self.out.push_str(&e.name.name);
                self.generics(&e.generics);
                self.out.push(' ');
                self.list(
                    "{",
                    "}",
                    &e.variants,
                    range(e.span),
                    |v| range(v.span),
                    |p, v| {
                        p.out.push_str(&v.name.name);
                        if !v.fields.is_empty() {
                            p.out.push('(');
                            for (i, t) in v.fields.iter().enumerate() {
                                if i > 0 {
                                    p.out.push_str(", ");
                                }
                                pretty::ty(t, &mut p.out);
                            }
                            p.out.push(')');
                        }
                    },
                    false,
                    true,
                );
            }
            Item::Fn(f) => self.fn_def(f),
            Item::Chor(c) => self.chor_def(c),
            Item::Error(s) => {
                // Unreachable: files with syntax errors are refused. Keep the text as it was.
                let (a, b) = range(*s);
                self.out.push_str(self.src.get(a..b).unwrap_or(""));
            }
        }
    }

    fn generics(&mut self, g: &[Ident]) {
        if !g.is_empty() {
            self.out.push('<');
            let names: Vec<&str> = g.iter().map(|i| i.name.as_str()).collect();
            self.out.push_str(&names.join(", "));
            self.out.push('>');
        }
    }

    fn fn_def(&mut self, f: &FnDef) {
        for a in f.attrs.iter().filter(|a| a.name.name != "extern") {
            self.out.push_str("#[");
            self.out.push_str(&a.name.name);
            self.out.push_str("]\n");
            self.push_indent();
        }
        if f.is_extern() {
            self.out.push_str("extern ");
        }
        self.out.push_str("fn ");
        self.out.push_str(&f.name.name);
        self.generics(&f.generics);
        let params_end = f
            .ret
            .as_ref()
            .map(|t| t.span().start as usize)
            .or_else(|| f.body.as_ref().map(|b| b.span.start as usize))
            .unwrap_or(f.span.end as usize);
        let mut result = String::new();
        if let Some(t) = &f.ret {
            result.push_str(" -> ");
            pretty::ty(t, &mut result);
        }
        // The parameters fit on one line only with the result and ` {` (or `;`) after them.
        self.trail = result.len() + 2;
        self.list(
            "(",
            ")",
            &f.params,
            (f.name.span.end as usize, params_end),
            |p| (p.name.span.start as usize, p.ty.span().end as usize),
            |p, prm| {
                p.out.push_str(&prm.name.name);
                p.out.push_str(": ");
                pretty::ty(&prm.ty, &mut p.out);
            },
            false,
            false,
        );
        self.out.push_str(&result);
        match &f.body {
            None => self.out.push(';'),
            Some(body) => {
                self.out.push(' ');
                match &body.kind {
                    ExprKind::Block(b) => self.block(b),
                    _ => self.expr(body, 0),
                }
            }
        }
    }

    fn chor_def(&mut self, c: &ChorDef) {
        self.out.push_str("choreography ");
        self.chor_sig(c);
        self.out.push(' ');
        self.chor_block(&c.body);
    }

    /// A choreography's name, type parameters, roles, parameters and result; also a
    /// choreography type (`chor(X, Y)(Int@X) -> Int@Y`, whose parameters may be unnamed).
    fn chor_sig(&mut self, c: &ChorDef) {
        self.out.push_str(&c.name.name);
        if !c.generics.is_empty() {
            self.generics(&c.generics);
        }
        self.out.push('(');
        // A family is declared `Ws[]`; member references print by their name (`Ws[i + 1]`).
        let roles: Vec<String> = c
            .roles
            .iter()
            .map(|r| match c.is_family(&r.name) {
                true => format!("{}[]", r.name),
                false => r.name.clone(),
            })
            .collect();
        self.out.push_str(&roles.join(", "));
        self.out.push(')');
        // `-> T@R`, `-> T@(A, B)` or `-> (T@A, U@B)`.
        let mut result = String::new();
        if let Some((t, r)) = &c.ret {
            result.push_str(" -> ");
            pretty::ty(t, &mut result);
            result.push('@');
            result.push_str(&r.name);
        }
        if !c.results.is_empty() {
            let parts: Vec<String> = c
                .results
                .iter()
                .map(|r| {
                    let mut t = String::new();
                    pretty::ty(&r.ty, &mut t);
                    format!("{t}@{}", who(&r.role, r.group.as_ref()))
                })
                .collect();
            result.push_str(" -> ");
            if parts.len() == 1 {
                result.push_str(&parts[0]);
            } else {
                result.push('(');
                result.push_str(&parts.join(", "));
                result.push(')');
            }
        }
        if !c.params.is_empty() {
            // A definition's parameters fit on one line only with the result and ` {` after.
            self.trail = result.len() + 2;
            let start = c.roles.last().map_or(c.name.span.end, |r| r.span.end) as usize;
            let end = c
                .ret
                .as_ref()
                .map(|(t, _)| t.span().start)
                .or_else(|| c.results.first().map(|r| r.ty.span().start))
                .unwrap_or(c.body.span.start) as usize;
            self.list(
                "(",
                ")",
                &c.params,
                (start, end),
                |p| {
                    let end = p.group.as_ref().map_or(p.role.span.end, |g| g.span.end);
                    match &p.chor {
                        Some(c) => (p.name.span.start as usize, c.span.end as usize),
                        None if p.name.name.is_empty() => {
                            (p.ty.span().start as usize, end as usize)
                        }
                        None => (p.name.span.start as usize, end as usize),
                    }
                },
                |p, prm| {
                    if !prm.name.name.is_empty() {
                        p.out.push_str(&prm.name.name);
                        p.out.push_str(": ");
                    }
                    match &prm.chor {
                        Some(c) => p.chor_sig(c),
                        None => {
                            pretty::ty(&prm.ty, &mut p.out);
                            p.out.push('@');
                            p.out.push_str(&who(&prm.role, prm.group.as_ref()));
                        }
                    }
                },
                false,
                false,
            );
        }
        self.out.push_str(&result);
    }

    // ------------------------------------------------------------------ choreography statements

    fn chor_block(&mut self, b: &ChorBlock) {
        let (start, end) = range(b.span);
        if b.stmts.is_empty() && !self.has_comment_in((start, end)) && !self.pending_before(end) {
            self.out.push_str("{}");
            return;
        }
        self.out.push('{');
        self.open_block(start + 1);
        for s in &b.stmts {
            self.line_item(range(s.span), |p| p.chor_stmt(s));
        }
        self.close_block(end);
        self.out.push('}');
    }

    /// `R.e`; in parentheses when a number literal right after the dot would lex differently
    /// (`R.(1.5)`) and, for readability, around `if`/`match`/blocks (`R.(if c { 1 } else { 2 })`).
    fn located(&mut self, role: &Ident, e: &Expr) {
        self.located_at(role, e, 0, true);
    }

    /// `R.e` at precedence `prec` (1 in `if`/`match` heads, where a struct literal cannot stand);
    /// block-like expressions are parenthesised only when `paren_blocks`.
    fn located_at(&mut self, role: &Ident, e: &Expr, prec: u8, paren_blocks: bool) {
        self.located_head(&role.name, e, prec, paren_blocks);
    }

    /// `head.e`, where the head is a role or a group `(A, B)`.
    fn located_head(&mut self, head: &str, e: &Expr, prec: u8, paren_blocks: bool) {
        self.out.push_str(head);
        self.out.push('.');
        if starts_with_number(e) || (paren_blocks && is_block_like(e)) {
            self.out.push('(');
            self.expr(e, 0);
            self.out.push(')');
        } else {
            self.expr(e, prec);
        }
    }

    fn chor_stmt(&mut self, s: &ChorStmt) {
        match &s.kind {
            ChorStmtKind::Let {
                role,
                pat,
                ty,
                value,
                group,
            } => {
                self.out.push_str("let ");
                self.out.push_str(&who(role, group.as_ref()));
                self.out.push('.');
                pattern(pat, &mut self.out);
                if let Some(t) = ty {
                    self.out.push_str(": ");
                    pretty::ty(t, &mut self.out);
                }
                self.out.push_str(" = ");
                self.expr(value, 0);
                self.out.push(';');
            }
            ChorStmtKind::Comm {
                from,
                expr,
                to,
                group,
            } => {
                self.located(from, expr);
                self.out.push_str(" -> ");
                match (group, to.first()) {
                    (Some(g), Some(r)) => {
                        self.out.push_str(&group_text(g));
                        self.out.push('.');
                        self.out.push_str(&r.var.name);
                    }
                    _ => {
                        let to: Vec<String> = to
                            .iter()
                            .map(|r| format!("{}.{}", r.role.name, r.var.name))
                            .collect();
                        self.out.push_str(&to.join(", "));
                    }
                }
                self.out.push(';');
            }
            ChorStmtKind::Select { from, to, label } => {
                self.out.push_str(&from.name);
                self.out.push_str(" -> ");
                let to: Vec<&str> = to.iter().map(|r| r.name.as_str()).collect();
                self.out.push_str(&to.join(", "));
                self.out.push('[');
                self.out.push_str(&label.name);
                self.out.push_str("];");
            }
            ChorStmtKind::Effect { role, expr } => {
                self.located(role, expr);
                self.out.push(';');
            }
            ChorStmtKind::If { bind, .. } => {
                if !bind.is_empty() {
                    self.targets(bind);
                }
                self.chor_if(s);
                if !bind.is_empty() {
                    self.out.push(';');
                }
            }
            ChorStmtKind::Yield { parts } => self.yielded(parts),
            ChorStmtKind::Match {
                role,
                scrutinee,
                arms,
                group,
                bind,
            } => {
                if !bind.is_empty() {
                    self.targets(bind);
                }
                self.out.push_str("match ");
                self.located_head(&who(role, group.as_ref()), scrutinee, 1, false);
                self.out.push_str(" {");
                let (_, end) = range(s.span);
                let open = self.brace_after(scrutinee.span.end as usize);
                self.open_block(open);
                for a in arms {
                    self.line_item(range(a.span), |p| {
                        pattern(&a.pat, &mut p.out);
                        p.out.push_str(" => ");
                        p.chor_block(&a.body);
                        p.out.push(',');
                    });
                }
                self.close_block(end);
                self.out.push('}');
                if !bind.is_empty() {
                    self.out.push(';');
                }
            }
            ChorStmtKind::Call { call, bind } => {
                if let Some((role, pat, ty)) = bind {
                    self.out.push_str("let ");
                    self.out.push_str(&role.name);
                    self.out.push('.');
                    pattern(pat, &mut self.out);
                    if let Some(t) = ty {
                        self.out.push_str(": ");
                        pretty::ty(t, &mut self.out);
                    }
                    self.out.push_str(" = ");
                }
                self.call_text(call);
                self.out.push(';');
            }
            ChorStmtKind::Return { role, expr } => {
                self.out.push_str("return ");
                self.located(role, expr);
                self.out.push(';');
            }
            ChorStmtKind::Results { parts } => {
                self.out.push_str("return ");
                let many = parts.len() > 1;
                if many {
                    self.out.push('(');
                }
                for (k, a) in parts.iter().enumerate() {
                    if k > 0 {
                        self.out.push_str(", ");
                    }
                    self.located_head(&who(&a.role, a.group.as_ref()), &a.expr, 0, true);
                }
                if many {
                    self.out.push(')');
                }
                self.out.push(';');
            }
            ChorStmtKind::LetMany { targets, value } => {
                self.targets(targets);
                self.expr(value, 0);
                self.out.push(';');
            }
            ChorStmtKind::CallMany { call, targets } => {
                self.targets(targets);
                self.call_text(call);
                self.out.push(';');
            }
            ChorStmtKind::For { var, family, body } => {
                self.out.push_str("for ");
                self.out.push_str(&var.name);
                self.out.push_str(" in ");
                self.out.push_str(&family.name);
                self.out.push(' ');
                self.chor_block(body);
            }
            ChorStmtKind::Error => {
                let (a, b) = range(s.span);
                self.out.push_str(self.src.get(a..b).unwrap_or(""));
            }
        }
    }

    /// `B.x`, `B.(v + 1)` or `(B.x, (A, C).(0))` at the end of a branch of a conditional
    /// expression: a value other than a variable is in parentheses, as the card writes them,
    /// so that the end of a branch reads as a value and not as a statement missing its `;`.
    fn yielded(&mut self, parts: &[LocatedExpr]) {
        let many = parts.len() > 1;
        if many {
            self.out.push('(');
        }
        for (k, a) in parts.iter().enumerate() {
            if k > 0 {
                self.out.push_str(", ");
            }
            let head = who(&a.role, a.group.as_ref());
            // A variable (lower case by convention) reads well bare; a variant like `None`
            // reads as a value in parentheses.
            let variable = matches!(&a.expr.kind, ExprKind::Path(p)
                if p.is_single() && !p.last().name.starts_with(|c: char| c.is_uppercase()));
            if variable {
                self.located_head(&head, &a.expr, 0, true);
            } else {
                self.out.push_str(&head);
                self.out.push_str(".(");
                self.expr(&a.expr, 0);
                self.out.push(')');
            }
        }
        if many {
            self.out.push(')');
        }
    }

    /// `let (C.x, (A, B).y) = ` (or `let (A, B).x = ` for one agreed target).
    fn targets(&mut self, targets: &[Target]) {
        self.out.push_str("let ");
        let one = targets.len() == 1;
        if !one {
            self.out.push('(');
        }
        for (k, t) in targets.iter().enumerate() {
            if k > 0 {
                self.out.push_str(", ");
            }
            self.out.push_str(&who(&t.role, t.group.as_ref()));
            self.out.push('.');
            pattern(&t.pat, &mut self.out);
            if let Some(ty) = &t.ty {
                self.out.push_str(": ");
                pretty::ty(ty, &mut self.out);
            }
        }
        if !one {
            self.out.push(')');
        }
        self.out.push_str(" = ");
    }

    /// `P(A, B)(A.e, (A, B).k)`
    fn call_text(&mut self, call: &ChorCall) {
        {
            {
                self.out.push_str(&call.callee.name);
                self.out.push('(');
                let roles: Vec<&str> = call.roles.iter().map(|r| r.name.as_str()).collect();
                self.out.push_str(&roles.join(", "));
                self.out.push(')');
                self.list(
                    "(",
                    ")",
                    &call.args,
                    range(call.span),
                    |a| {
                        let start = a.group.as_ref().map_or(a.role.span.start, |g| g.span.start);
                        (start as usize, a.expr.span.end as usize)
                    },
                    |p, a| {
                        if a.chor {
                            p.out.push_str(&a.role.name);
                        } else {
                            p.located_head(&who(&a.role, a.group.as_ref()), &a.expr, 0, true)
                        }
                    },
                    false,
                    false,
                );
            }
        }
    }

    fn chor_if(&mut self, s: &ChorStmt) {
        let ChorStmtKind::If {
            role,
            cond,
            then,
            els,
            group,
            ..
        } = &s.kind
        else {
            return;
        };
        self.out.push_str("if ");
        self.located_head(&who(role, group.as_ref()), cond, 1, false);
        self.out.push(' ');
        self.chor_block(then);
        if let Some(e) = els {
            self.out.push_str(" else ");
            match e.stmts.as_slice() {
                [inner]
                    if inner.span == e.span && matches!(inner.kind, ChorStmtKind::If { .. }) =>
                {
                    self.chor_if(inner);
                }
                _ => self.chor_block(e),
            }
        }
    }

    // ------------------------------------------------------------------ local code

    /// A block on several lines (or `{}` when empty).
    fn block(&mut self, b: &Block) {
        let (start, end) = range(b.span);
        if self.flat {
            // Only the simple blocks of a one-line `if` get here (see `if_flat_ok`).
            match &b.tail {
                None if b.stmts.is_empty() => self.out.push_str("{}"),
                Some(t) if b.stmts.is_empty() => {
                    self.out.push_str("{ ");
                    self.expr(t, 0);
                    self.out.push_str(" }");
                }
                _ => self.failed = true,
            }
            return;
        }
        if b.stmts.is_empty()
            && b.tail.is_none()
            && !self.has_comment_in((start, end))
            && !self.pending_before(end)
        {
            self.out.push_str("{}");
            return;
        }
        self.out.push('{');
        self.open_block(start + 1);
        let n = b.stmts.len();
        for (i, s) in b.stmts.iter().enumerate() {
            let last_without_tail = i + 1 == n && b.tail.is_none();
            match s {
                Stmt::Let {
                    pat,
                    ty,
                    value,
                    span,
                } => self.line_item(range(*span), |p| {
                    p.out.push_str("let ");
                    pattern(pat, &mut p.out);
                    if let Some(t) = ty {
                        p.out.push_str(": ");
                        pretty::ty(t, &mut p.out);
                    }
                    p.out.push_str(" = ");
                    p.expr(value, 0);
                    p.out.push(';');
                }),
                Stmt::Expr(e) => self.line_item(range(e.span), |p| {
                    p.expr(e, 0);
                    if !is_block_like(e) || last_without_tail {
                        p.out.push(';');
                    }
                }),
                Stmt::Error(sp) => {
                    let (a, b2) = range(*sp);
                    let text = self.src.get(a..b2).unwrap_or("").to_owned();
                    self.line_item((a, b2), |p| p.out.push_str(&text));
                }
            }
        }
        if let Some(t) = &b.tail {
            self.line_item(range(t.span), |p| p.expr(t, 0));
        }
        self.close_block(end);
        self.out.push('}');
    }

    /// Can this `if` be written on one line? (Simple branches, no comments inside.)
    fn if_flat_ok(&self, e: &Expr) -> bool {
        let simple =
            |b: &Block| b.stmts.is_empty() && b.tail.as_ref().is_none_or(|t| !is_block_like(t));
        match &e.kind {
            ExprKind::If { then, els, .. } => {
                !self.has_comment_in(range(e.span))
                    && simple(then)
                    && match els.as_deref() {
                        None => true,
                        Some(x) => match &x.kind {
                            ExprKind::Block(b) => simple(b),
                            ExprKind::If { .. } => self.if_flat_ok(x),
                            _ => false,
                        },
                    }
            }
            _ => false,
        }
    }

    fn expr(&mut self, e: &Expr, min: u8) {
        match &e.kind {
            ExprKind::Lit(l) => pretty::lit(l, &mut self.out),
            ExprKind::Path(p) => self.out.push_str(&p.text()),
            ExprKind::Unary(op, x) => {
                self.out.push_str(match op {
                    UnOp::Neg => "-",
                    UnOp::Not => "!",
                });
                self.expr(x, 7);
            }
            ExprKind::Binary(op, a, b) => {
                let p = prec(*op);
                let paren = p < min;
                if paren {
                    self.out.push('(');
                }
                // Left-associative: the right operand binds tighter; comparisons do not chain.
                let left_min = if p == 3 { p + 1 } else { p };
                self.expr(a, left_min);
                self.out.push(' ');
                self.out.push_str(op.text());
                self.out.push(' ');
                self.expr(b, p + 1);
                if paren {
                    self.out.push(')');
                }
            }
            ExprKind::Call(f, args) => {
                self.postfix_base(f);
                self.list(
                    "(",
                    ")",
                    args,
                    range(e.span),
                    |a| range(a.span),
                    |p, a| p.expr(a, 0),
                    false,
                    false,
                );
            }
            ExprKind::Field(x, name) => {
                self.postfix_base(x);
                self.out.push('.');
                self.out.push_str(&name.name);
            }
            ExprKind::TupleIndex(x, i, _) => {
                self.postfix_base(x);
                self.out.push('.');
                self.out.push_str(&i.to_string());
            }
            ExprKind::Tuple(items) => self.list(
                "(",
                ")",
                items,
                range(e.span),
                |a| range(a.span),
                |p, a| p.expr(a, 0),
                true,
                false,
            ),
            ExprKind::List(items) => self.list(
                "[",
                "]",
                items,
                range(e.span),
                |a| range(a.span),
                |p, a| p.expr(a, 0),
                false,
                false,
            ),
            ExprKind::StructLit { name, fields } => {
                let paren = min > 0;
                if paren {
                    self.out.push('(');
                }
                self.out.push_str(&name.text());
                self.out.push(' ');
                self.list(
                    "{",
                    "}",
                    fields,
                    range(e.span),
                    |f| (f.name.span.start as usize, f.value.span.end as usize),
                    |p, f| {
                        p.out.push_str(&f.name.name);
                        p.out.push_str(": ");
                        p.expr(&f.value, 0);
                    },
                    false,
                    true,
                );
                if paren {
                    self.out.push(')');
                }
            }
            ExprKind::If { .. } => {
                let paren = min > 0;
                if paren {
                    self.out.push('(');
                }
                if self.flat {
                    if self.if_flat_ok(e) {
                        self.if_expr(e);
                    } else {
                        self.failed = true;
                    }
                } else {
                    let one = if self.if_flat_ok(e) {
                        self.flat_text(|p| p.if_expr(e))
                    } else {
                        None
                    };
                    match one {
                        Some(t) if self.fits(t.len() + 1) => self.out.push_str(&t),
                        _ => self.if_expr(e),
                    }
                }
                if paren {
                    self.out.push(')');
                }
            }
            ExprKind::Match { scrutinee, arms } => {
                if self.flat {
                    self.failed = true;
                    return;
                }
                let paren = min > 0;
                if paren {
                    self.out.push('(');
                }
                self.out.push_str("match ");
                self.expr(scrutinee, 1);
                self.out.push_str(" {");
                let (_, end) = range(e.span);
                let open = self.brace_after(scrutinee.span.end as usize);
                self.open_block(open);
                for a in arms {
                    self.line_item(range(a.span), |p| {
                        pattern(&a.pat, &mut p.out);
                        p.out.push_str(" => ");
                        p.expr(&a.body, 0);
                        p.out.push(',');
                    });
                }
                self.close_block(end);
                self.out.push('}');
                if paren {
                    self.out.push(')');
                }
            }
            ExprKind::Block(b) => {
                if self.flat && !(b.stmts.is_empty() && b.tail.is_none()) {
                    self.failed = true;
                    return;
                }
                let paren = min > 0;
                if paren {
                    self.out.push('(');
                }
                self.block(b);
                if paren {
                    self.out.push(')');
                }
            }
            ExprKind::Return(x) => {
                let paren = min > 0;
                if paren {
                    self.out.push('(');
                }
                self.out.push_str("return");
                if let Some(x) = x {
                    self.out.push(' ');
                    self.expr(x, 0);
                }
                if paren {
                    self.out.push(')');
                }
            }
            ExprKind::Located(base, inner) => {
                self.postfix_base(base);
                self.out.push_str(".(");
                self.expr(inner, 0);
                self.out.push(')');
            }
            ExprKind::Error => self.out.push_str("{error}"),
        }
    }

    /// The operand of a postfix form (call, field, index): a number literal needs parentheses
    /// too (`(1).0`, not the float `1.0`).
    fn postfix_base(&mut self, x: &Expr) {
        // A parenthesized name keeps its parentheses before a dot: in a call's arguments
        // `(Ws).k` is the group of the family `Ws`, and `Ws.k` one value per member.
        let parenthesized =
            matches!(&x.kind, ExprKind::Path(p) if p.is_single() && x.span != p.span);
        if parenthesized || matches!(x.kind, ExprKind::Lit(Lit::Int(_) | Lit::Float(_))) {
            self.out.push('(');
            self.expr(x, 0);
            self.out.push(')');
        } else {
            self.expr(x, 8);
        }
    }

    fn if_expr(&mut self, e: &Expr) {
        let ExprKind::If { cond, then, els } = &e.kind else {
            return;
        };
        self.out.push_str("if ");
        self.expr(cond, 1);
        self.out.push(' ');
        self.block(then);
        if let Some(x) = els {
            self.out.push_str(" else ");
            match &x.kind {
                ExprKind::If { .. } => self.if_expr(x),
                ExprKind::Block(b) => self.block(b),
                _ => self.expr(x, 0),
            }
        }
    }
}

fn prec(op: BinOp) -> u8 {
    match op {
        BinOp::Or => 1,
        BinOp::And => 2,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 3,
        BinOp::Concat => 4,
        BinOp::Add | BinOp::Sub => 5,
        BinOp::Mul | BinOp::Div | BinOp::Rem => 6,
    }
}

fn is_block_like(e: &Expr) -> bool {
    matches!(
        e.kind,
        ExprKind::If { .. } | ExprKind::Match { .. } | ExprKind::Block(_)
    )
}

/// Does the text of `e` begin with a number literal?
fn starts_with_number(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Lit(Lit::Int(_) | Lit::Float(_)) => true,
        ExprKind::Binary(_, a, _) => starts_with_number(a),
        ExprKind::Call(f, _) => starts_with_number(f),
        ExprKind::Field(x, _) | ExprKind::TupleIndex(x, _, _) | ExprKind::Located(x, _) => {
            // A number base is printed in parentheses (see `postfix_base`).
            starts_with_number(x) && !matches!(x.kind, ExprKind::Lit(_))
        }
        _ => false,
    }
}

/// A pattern, as `pretty::pattern` writes it, except that a variant written with empty
/// parentheses (`Name()`) keeps them: without them it would read as a binding.
fn pattern(p: &Pattern, out: &mut String) {
    match &p.kind {
        PatternKind::Variant { name, args } if args.is_empty() && name.is_single() => {
            out.push_str(&name.text());
            out.push_str("()");
        }
        PatternKind::Variant { name, args } => {
            out.push_str(&name.text());
            if !args.is_empty() {
                out.push('(');
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    pattern(a, out);
                }
                out.push(')');
            }
        }
        PatternKind::Tuple(ps) => {
            out.push('(');
            for (i, a) in ps.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                pattern(a, out);
            }
            if ps.len() == 1 {
                out.push(',');
            }
            out.push(')');
        }
        PatternKind::Struct { name, fields, rest } => {
            out.push_str(&name.text());
            if fields.is_empty() && !rest {
                out.push_str(" {}");
                return;
            }
            out.push_str(" { ");
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&f.name.name);
                if !matches!(&f.pat.kind, PatternKind::Ident(x) if x.name == f.name.name) {
                    out.push_str(": ");
                    pattern(&f.pat, out);
                }
            }
            if *rest {
                out.push_str(if fields.is_empty() { ".." } else { ", .." });
            }
            out.push_str(" }");
        }
        PatternKind::List { elems, rest } => {
            out.push('[');
            for (i, a) in elems.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                pattern(a, out);
            }
            if let Some(r) = rest {
                if !elems.is_empty() {
                    out.push_str(", ");
                }
                out.push_str("..");
                if let Some(r) = r {
                    pattern(r, out);
                }
            }
            out.push(']');
        }
        _ => pretty::pattern(p, out),
    }
}

/// How a group is written: `(A, B)`.
fn group_text(g: &Group) -> String {
    let names: Vec<&str> = g.roles.iter().map(|r| r.name.as_str()).collect();
    format!("({})", names.join(", "))
}

/// The head of a located statement: its role, or its group.
fn who(role: &Ident, group: Option<&Group>) -> String {
    match group {
        Some(g) => group_text(g),
        None => role.name.clone(),
    }
}
