//! Parsing entry point: text to `ast::File` plus every syntax error. Never fails.
//!
//! The grammar recovers at item and statement level, so one mistake does not hide the rest of
//! the file; lexical errors are reported separately and their text is skipped.

use crate::ast::*;
use crate::lexer::{self, Comment, LexError, Token};
use chor_diagnostics::{Diagnostic, Fix};
use lalrpop_util::{ErrorRecovery, ParseError};
use std::sync::Arc;

lalrpop_util::lalrpop_mod!(
    #[allow(clippy::all, clippy::unwrap_used, unused_parens, dead_code)]
    grammar
);

/// A parsed file: the tree (always present), syntax errors, and the comments kept for tools.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// Shared, so that later phases hold the tree without copying it.
    pub file: Arc<File>,
    pub errors: Vec<Diagnostic>,
    pub comments: Vec<Comment>,
}

pub(crate) fn sp(file: FileId, l: usize, r: usize) -> Span {
    Span::new(file, l, r)
}

pub(crate) fn mk(kind: ExprKind, file: FileId, l: usize, r: usize) -> Expr {
    Expr {
        kind,
        span: sp(file, l, r),
        id: NodeId::default(),
    }
}

pub(crate) fn bin(op: BinOp, a: Expr, b: Expr, file: FileId, l: usize, r: usize) -> Expr {
    mk(ExprKind::Binary(op, Box::new(a), Box::new(b)), file, l, r)
}

/// Build a block; a trailing block-like statement without `;` is the block's value.
pub(crate) fn block(items: Vec<(Stmt, bool)>, tail: Option<Expr>, span: Span) -> Block {
    let mut stmts: Vec<Stmt> = Vec::with_capacity(items.len());
    let mut last_open = false;
    for (s, semi) in items {
        last_open = !semi;
        stmts.push(s);
    }
    let tail = match tail {
        Some(t) => Some(Box::new(t)),
        None if last_open => match stmts.pop() {
            Some(Stmt::Expr(e)) => Some(Box::new(e)),
            Some(other) => {
                stmts.push(other);
                None
            }
            None => None,
        },
        None => None,
    };
    Block { stmts, tail, span }
}

/// `let <targets> = <conditional>;`: the conditional expression with the targets it binds.
pub(crate) fn bind_cond(mut c: ChorStmtKind, targets: Vec<Target>) -> ChorStmtKind {
    match &mut c {
        ChorStmtKind::If { bind, .. } | ChorStmtKind::Match { bind, .. } => *bind = targets,
        _ => {}
    }
    c
}

pub(crate) fn path_pattern(p: Path, span: Span) -> Pattern {
    let kind = if p.is_single() {
        let id = p.last().clone();
        if id.name == "_" {
            PatternKind::Wild
        } else {
            PatternKind::Ident(id)
        }
    } else {
        PatternKind::Variant {
            name: p,
            args: Vec::new(),
        }
    };
    Pattern {
        kind,
        span,
        id: NodeId::default(),
    }
}

/// A choreography's declared roles split into all of them (by name) and its families (`Ws[]`).
pub(crate) fn split_roles(roles: Vec<(Ident, bool)>) -> (Vec<Ident>, Vec<Ident>) {
    let families = roles
        .iter()
        .filter(|(_, f)| *f)
        .map(|(i, _)| i.clone())
        .collect();
    (roles.into_iter().map(|(i, _)| i).collect(), families)
}

/// `Ws[e]` in a role position: record the index expression in the item's member table and
/// stand for it by an `Ident` named after the whole reference (`Ws[index(W) + 1]`).
pub(crate) fn member_ref(
    members: &mut Vec<MemberRef>,
    family: Ident,
    index: Expr,
    span: Span,
) -> Ident {
    let name = format!("{}[{}]", family.name, crate::pretty::expr_string(&index));
    members.push(MemberRef {
        family,
        index,
        span,
    });
    Ident { name, span }
}

/// The label of `R -> S[Label];`, parsed as an expression (see the grammar); anything but a
/// single name is an error, recovered from.
pub(crate) fn label_of(errors: &mut Vec<ErrorRecovery<usize, Token, LexError>>, e: Expr) -> Ident {
    if let ExprKind::Path(p) = &e.kind
        && p.is_single()
    {
        return p.last().clone();
    }
    errors.push(ErrorRecovery {
        error: ParseError::User {
            error: LexError::NotALabel {
                start: e.span.start as usize,
                end: e.span.end as usize,
            },
        },
        dropped_tokens: Vec::new(),
    });
    Ident {
        name: String::new(),
        span: e.span,
    }
}

pub(crate) fn list_pattern(
    mut elems: Vec<Pattern>,
    last: Option<Result<Pattern, Option<Pattern>>>,
    span: Span,
) -> Pattern {
    let rest = match last {
        None => None,
        Some(Ok(p)) => {
            elems.push(p);
            None
        }
        Some(Err(p)) => Some(p.map(Box::new)),
    };
    Pattern {
        kind: PatternKind::List { elems, rest },
        span,
        id: NodeId::default(),
    }
}

fn describe_expected(expected: &[String]) -> String {
    let mut names: Vec<String> = expected
        .iter()
        .map(|e| match e.as_str() {
            "Ident" => "identifier".to_owned(),
            "IntLit" => "integer".to_owned(),
            "FloatLit" => "float".to_owned(),
            "StrLit" => "string".to_owned(),
            other => format!("`{}`", other.trim_matches('"')),
        })
        .collect();
    names.dedup();
    let expr_like = expected.iter().any(|e| e == "Ident") && expected.iter().any(|e| e == "IntLit");
    if expr_like && names.len() > 6 {
        let mut v: Vec<String> = names
            .iter()
            .filter(|n| {
                !n.starts_with('`')
                    || matches!(
                        n.as_str(),
                        "`;`" | "`}`" | "`)`" | "`]`" | "`,`" | "`->`" | "`=`"
                    )
            })
            .filter(|n| !matches!(n.as_str(), "identifier" | "integer" | "float" | "string"))
            .cloned()
            .collect();
        v.insert(0, "an expression".to_owned());
        names = v;
    }
    match names.len() {
        0 => "something else".to_owned(),
        1 => names.remove(0),
        n if n <= 8 => format!("one of {}", names.join(", ")),
        _ => format!("one of {}, …", names[..8].join(", ")),
    }
}

fn token_text(t: &Token) -> String {
    t.to_string()
}

/// The first token at which the tokens nest deeper than [`crate::MAX_NESTING`] levels, if any.
/// Depth counts the open brackets around a token plus the operators before it in its bracket
/// since the last `;`, `,`, `=` or `=>` (each prefix or infix operator, and `.`, adds a level
/// to the syntax tree): an upper bound of the depth of the tree the grammar would build.
fn too_deep(tokens: &[(usize, Token, usize)]) -> Option<(usize, usize)> {
    // Operators since the last separator, per open bracket (the bottom one is outside any).
    let mut ops: Vec<usize> = vec![0];
    let mut total = 0usize;
    for (l, t, r) in tokens {
        match t {
            Token::LParen | Token::LBracket | Token::LBrace => ops.push(0),
            Token::RParen | Token::RBracket | Token::RBrace if ops.len() > 1 => {
                total -= ops.pop().unwrap_or(0);
            }
            Token::RParen
            | Token::RBracket
            | Token::RBrace
            | Token::Semi
            | Token::Comma
            | Token::Eq
            | Token::FatArrow => {
                if let Some(top) = ops.last_mut() {
                    total -= *top;
                    *top = 0;
                }
            }
            Token::Minus
            | Token::Bang
            | Token::Plus
            | Token::PlusPlus
            | Token::Star
            | Token::Slash
            | Token::Percent
            | Token::Lt
            | Token::Le
            | Token::Gt
            | Token::Ge
            | Token::EqEq
            | Token::Ne
            | Token::AndAnd
            | Token::OrOr
            | Token::Dot => {
                if let Some(top) = ops.last_mut() {
                    *top += 1;
                    total += 1;
                }
            }
            _ => {}
        }
        if ops.len() - 1 + total > crate::MAX_NESTING {
            return Some((*l, *r));
        }
    }
    None
}

/// Runs the grammar over lexed tokens; errors it recovered from go to `recovered`. Text nested
/// deeper than [`crate::MAX_NESTING`] is not parsed (a fatal error): every later phase walks
/// the syntax tree recursively, and the limit keeps that within the compiler's stack.
fn parse_tokens(
    file: FileId,
    tokens: &[(usize, Token, usize)],
    recovered: &mut Vec<ErrorRecovery<usize, Token, LexError>>,
) -> Result<Vec<Item>, ParseError<usize, Token, LexError>> {
    if let Some((start, end)) = too_deep(tokens) {
        return Err(ParseError::User {
            error: LexError::TooDeep { start, end },
        });
    }
    let mut tokens = tokens.to_vec();
    lexer::mark_chor_conditionals(&mut tokens);
    let stream = tokens
        .into_iter()
        .map(Ok::<(usize, Token, usize), LexError>);
    let mut members = Vec::new();
    grammar::FileParser::new().parse(file, recovered, &mut members, stream)
}

/// Parse one file. `file` is the id spans will carry.
pub fn parse(file: FileId, src: &str) -> Parsed {
    let lexed = lexer::lex(src);
    let mut recovered: Vec<ErrorRecovery<usize, Token, LexError>> = Vec::new();
    let result = parse_tokens(file, &lexed.tokens, &mut recovered);
    let mut items = match result {
        Ok(items) => items,
        Err(e) => {
            recovered.push(ErrorRecovery {
                error: e,
                dropped_tokens: Vec::new(),
            });
            Vec::new()
        }
    };
    let errors = syntax_errors(file, src, &lexed, recovered, 0);
    for item in &mut items {
        let doc = doc_before(item.span().start as usize, &lexed.comments, src);
        set_doc(item, doc);
        crate::ids::number_item(item);
    }
    Parsed {
        file: Arc::new(File {
            items: items.into_iter().map(Arc::new).collect(),
        }),
        errors,
        comments: lexed.comments,
    }
}

/// The diagnostics of the lexical errors and of the errors the parser recovered from, sorted.
/// `lexed` holds tokens that follow a token ending at `before` (0 at the start of the file).
fn syntax_errors(
    file: FileId,
    src: &str,
    lexed: &lexer::Lexed,
    recovered: Vec<ErrorRecovery<usize, Token, LexError>>,
    before: usize,
) -> Vec<Diagnostic> {
    let mut errors: Vec<Diagnostic> = lexed
        .errors
        .iter()
        .map(|(s, e, err)| {
            let code = match err {
                LexError::IntTooLarge => "E0003",
                _ => "E0002",
            };
            Diagnostic::error(code, err.to_string(), sp(file, *s, *e), "")
        })
        .collect();
    let tokens = &lexed.tokens;
    let prev_end = |start: usize| -> usize {
        tokens
            .iter()
            .take_while(|(s, _, _)| *s < start)
            .last()
            .map_or(before, |(_, _, e)| *e)
    };
    // The token before offset `start`, if any.
    let prev_token = |start: usize| -> Option<&Token> {
        tokens
            .iter()
            .take_while(|(s, _, _)| *s < start)
            .last()
            .map(|(_, t, _)| t)
    };
    for rec in recovered {
        let d = match rec.error {
            ParseError::UnrecognizedToken {
                token: (l, tok, r),
                expected,
            } => {
                let missing = missing_construct(prev_token(l), &tok, &expected);
                if let Some((what, help)) = missing {
                    let at = match prev_token(l) {
                        Some(Token::Ident(_)) if !matches!(tok, Token::Pipe | Token::OrOr) => {
                            let start = tokens
                                .iter()
                                .take_while(|(s, _, _)| *s < l)
                                .last()
                                .map_or(l, |(s, _, _)| *s);
                            sp(file, start, r)
                        }
                        _ => sp(file, l, r),
                    };
                    Diagnostic::error("E0004", format!("chor has no {what}"), at, "not in chor")
                        .with_help(help)
                } else if expected.iter().any(|e| e == "\";\"") && !matches!(tok, Token::Semi) {
                    let at = prev_end(l);
                    Diagnostic::error("E0001", "expected `;`", sp(file, at, at), "add `;` here")
                        .with_label(sp(file, l, r), format!("found {}", token_text(&tok)))
                        .with_fix(Fix {
                            message: "insert `;`".into(),
                            span: sp(file, at, at),
                            replacement: ";".into(),
                            more: Vec::new(),
                        })
                } else {
                    Diagnostic::error(
                        "E0001",
                        format!(
                            "expected {}, found {}",
                            describe_expected(&expected),
                            token_text(&tok)
                        ),
                        sp(file, l, r),
                        format!("unexpected {}", token_text(&tok)),
                    )
                }
            }
            ParseError::UnrecognizedEof { location, expected } => {
                let at = prev_end(location.max(1)).max(location.min(src.len()));
                Diagnostic::error(
                    "E0001",
                    format!(
                        "unexpected end of file, expected {}",
                        describe_expected(&expected)
                    ),
                    sp(file, at, at),
                    "the file ends here",
                )
            }
            ParseError::ExtraToken { token: (l, tok, r) } => Diagnostic::error(
                "E0001",
                format!("unexpected {}", token_text(&tok)),
                sp(file, l, r),
                "not expected here",
            ),
            ParseError::InvalidToken { location } => {
                Diagnostic::error("E0002", "invalid token", sp(file, location, location), "")
            }
            ParseError::User {
                error: error @ LexError::TooDeep { start, end },
            } => Diagnostic::error(
                "E0005",
                error.to_string(),
                sp(file, start, end),
                "too deep here",
            )
            .with_help(format!(
                "split the expression with `let` bindings; the limit is {} levels",
                crate::MAX_NESTING
            )),
            ParseError::User {
                error: error @ LexError::NotALabel { start, end },
            } => Diagnostic::error(
                "E0750",
                error.to_string(),
                sp(file, start, end),
                "expected a label",
            )
            .with_help("write `R -> S[Label];`, or `R -> Ws[e][Label];` to select at one member"),
            ParseError::User { error } => {
                Diagnostic::error("E0002", error.to_string(), sp(file, 0, 0), "")
            }
        };
        errors.push(d);
    }
    errors.sort_by_key(|d| d.primary_span().map(|s| s.start));
    errors.dedup_by(|a, b| a.primary_span() == b.primary_span() && a.message == b.message);
    // Once a missing construct is named (E0004), the parser's other complaints on that line
    // are about the same words.
    let line_of = |d: &Diagnostic| {
        d.primary_span().map(|s| {
            src.get(..s.start as usize)
                .map_or(0, |t| t.matches('\n').count())
        })
    };
    let named: Vec<Option<usize>> = errors
        .iter()
        .filter(|d| d.code == "E0004")
        .map(line_of)
        .collect();
    errors.retain(|d| d.code == "E0004" || !named.contains(&line_of(d)));
    errors
}

/// A construct of other languages that chor lacks, recognised where the parser stopped: the
/// token before the error (`while`, `loop`, `let mut`) or the unexpected token itself (`|x|` of
/// a closure). Returns what it is and how to write it in chor.
fn missing_construct(
    prev: Option<&Token>,
    tok: &Token,
    expected: &[String],
) -> Option<(&'static str, &'static str)> {
    let after = |name: &str| matches!(prev, Some(Token::Ident(p)) if p == name);
    if after("while") || after("loop") {
        return Some((
            "`while` or `loop`",
            "repeat with a recursive function (a self tail call runs in constant stack), or over a list with `list::map`, `list::filter` and `list::fold`; in a choreography, a recursive choreography loops",
        ));
    }
    if after("mut") {
        return Some((
            "mutable variables (`let mut`)",
            "variables cannot change: bind a new value with `let`, which shadows the old one (`let x = x + 1;`)",
        ));
    }
    if matches!(tok, Token::Pipe | Token::OrOr) && expected.iter().any(|e| e == "IntLit") {
        return Some((
            "closures (`|x| …`)",
            "define a named function and pass its name (`fn add_one(x: Int) -> Int { x + 1 }` then `list::map(xs, add_one)`)",
        ));
    }
    None
}

/// Parse `new_src`, the new text of a file whose text `old_src` parsed to `old` (with the same
/// `file` id). The result is exactly `parse(file, new_src)`; when the old text parsed without
/// errors, only the items around the changed bytes are parsed again (the new text may have
/// errors there) and the others are reused: shared, or moved by the change in length when they
/// come after it.
pub fn reparse(file: FileId, old: &Parsed, old_src: &str, new_src: &str) -> Parsed {
    reparse_items(file, old, old_src, new_src).unwrap_or_else(|| parse(file, new_src))
}

/// The incremental part of [`reparse`]; `None` when only a full parse gives the right answer.
///
/// Why reusing items is exact: when the old text lexes and parses without errors, every item
/// ends with `}` or `;`, a token that no following character extends, and an item can never be
/// followed by more of itself. The text is re-lexed from the end of the last item before the
/// change (where the lexer starts afresh) until a token starts exactly where an old item after
/// the change starts (shifted by the change in length): the text from there on is unchanged,
/// so the lexer reproduces the old tokens. The parser reads the items before the window, then
/// the window's tokens, then the items after it; before the window it is at the top level with
/// every item reduced (nothing more can follow a complete item), in the state that starts any
/// sequence of items, so the window parses as it does on its own, errors included: error
/// recovery only looks at the stack and at tokens it reads, and it never needs the state below
/// the window's items (at the top level an unexpected token is always dropped, so an error
/// item starts at a token of the window). Where the window ends, an error-free parse of its
/// tokens has reduced every item, which the first token of the next item would do too; what
/// could differ there, recovering from an error at the window's end (the full parse would read
/// on into the next items) or a fatal error (it drops every item), falls back to a full parse,
/// as does an old text with errors. Every span a rule builds comes from tokens of its own item,
/// so reused items only move.
fn reparse_items(file: FileId, old: &Parsed, old_src: &str, new_src: &str) -> Option<Parsed> {
    if !old.errors.is_empty() {
        return None;
    }
    if old_src == new_src {
        return Some(old.clone());
    }
    let items = &old.file.items;
    let (prefix, suffix) = common_ends(old_src.as_bytes(), new_src.as_bytes());
    let delta = new_src.len() as i64 - old_src.len() as i64;
    let moved = |pos: u32| (i64::from(pos) + delta) as usize;
    // Old items before `first` end strictly before the first changed byte, so the byte after
    // each of them is unchanged too.
    let first = items.partition_point(|it| (it.span().end as usize) < prefix);
    let from = match first {
        0 => 0,
        n => items[n - 1].span().end as usize,
    };
    // Old items that start in the unchanged text after the change are where lexing may resume.
    let unchanged_from = old_src.len() - suffix;
    let mut resume = items.partition_point(|it| (it.span().start as usize) < unchanged_from);
    let (lexed, end) = lexer::lex_range(new_src, from, &mut |t| {
        while resume < items.len() && moved(items[resume].span().start) < t {
            resume += 1;
        }
        resume < items.len() && moved(items[resume].span().start) == t
    });
    if end == new_src.len() {
        resume = items.len();
    }
    let mut recovered: Vec<ErrorRecovery<usize, Token, LexError>> = Vec::new();
    let window = parse_tokens(file, &lexed.tokens, &mut recovered).ok()?;
    if end < new_src.len() {
        // Recovering from an error at the end of the re-lexed tokens would have gone on into
        // the items after them.
        let last = lexed.tokens.last().map(|(s, _, _)| *s);
        let reached_end = recovered.iter().any(|r| {
            matches!(r.error, ParseError::UnrecognizedEof { .. })
                || r.dropped_tokens.last().map(|(s, _, _)| *s) == last
        });
        if reached_end {
            return None;
        }
    }
    let errors = syntax_errors(file, new_src, &lexed, recovered, from);

    // Comments: those before the re-lexed text, the re-lexed ones, and the later ones moved.
    let resume_old = items
        .get(resume)
        .map_or(old_src.len(), |it| it.span().start as usize);
    let before = old.comments.partition_point(|c| c.start < from);
    let after = old.comments.partition_point(|c| c.start < resume_old);
    let mut comments = old.comments[..before].to_vec();
    comments.extend(lexed.comments);
    comments.extend(old.comments[after..].iter().map(|c| Comment {
        start: moved(c.start as u32),
        end: moved(c.end as u32),
        ..c.clone()
    }));

    let mut out: Vec<Arc<Item>> = Vec::with_capacity(first + window.len() + items.len() - resume);
    out.extend(items[..first].iter().cloned());
    for mut item in window {
        let doc = doc_before(item.span().start as usize, &comments, new_src);
        set_doc(&mut item, doc);
        crate::ids::number_item(&mut item);
        out.push(Arc::new(item));
    }
    for (j, it) in items[resume..].iter().enumerate() {
        let mut item = if delta == 0 {
            Arc::clone(it)
        } else {
            let mut moved = (**it).clone();
            crate::spans::shift(&mut moved, delta);
            Arc::new(moved)
        };
        if j == 0 {
            // The comments just above this item were re-lexed.
            let doc = doc_before(item.span().start as usize, &comments, new_src);
            if doc_of(&item) != doc.as_deref() {
                set_doc(Arc::make_mut(&mut item), doc);
            }
        }
        out.push(item);
    }
    Some(Parsed {
        file: Arc::new(File { items: out }),
        errors,
        comments,
    })
}

/// The lengths of the longest common prefix and suffix of `a` and `b` (not overlapping in
/// either).
pub fn common_ends(a: &[u8], b: &[u8]) -> (usize, usize) {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let room = a.len().min(b.len()) - prefix;
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(room)
        .take_while(|(x, y)| x == y)
        .count();
    (prefix, suffix)
}

/// The `///` comments directly above an item starting at `start`, joined.
fn doc_before(start: usize, comments: &[Comment], src: &str) -> Option<String> {
    // Comments never overlap a token, so those starting before the item also end before it.
    let above = &comments[..comments.partition_point(|c| c.start < start)];
    let mut lines: Vec<&str> = Vec::new();
    let mut cursor = start;
    for c in above.iter().rev() {
        let gap = src.get(c.end..cursor).unwrap_or("x");
        if !c.doc || !gap.trim().is_empty() {
            break;
        }
        lines.push(c.text.trim_start_matches("///").trim());
        cursor = c.start;
    }
    if lines.is_empty() {
        return None;
    }
    lines.reverse();
    Some(lines.join("\n"))
}

fn doc_of(item: &Item) -> Option<&str> {
    match item {
        Item::Struct(s) => s.doc.as_deref(),
        Item::Enum(e) => e.doc.as_deref(),
        Item::Fn(f) => f.doc.as_deref(),
        Item::Chor(c) => c.doc.as_deref(),
        Item::Import(_) | Item::Error(_) => None,
    }
}

fn set_doc(item: &mut Item, doc: Option<String>) {
    match item {
        Item::Struct(s) => s.doc = doc,
        Item::Enum(e) => e.doc = doc,
        Item::Fn(f) => f.doc = doc,
        Item::Chor(c) => c.doc = doc,
        Item::Import(_) | Item::Error(_) => {}
    }
}

/// `P(R1, S)(R1.e)` parsed as an expression: read it as a choreography call if `is_chor(P)`.
/// The located arguments `R1.e` were parsed as field accesses; the leftmost `R1.` is removed.
pub fn as_chor_call(value: &Expr, is_chor: &dyn Fn(&str) -> bool) -> Option<ChorCall> {
    let ExprKind::Call(inner, args) = &value.kind else {
        return None;
    };
    let ExprKind::Call(callee, roles) = &inner.kind else {
        return None;
    };
    let ExprKind::Path(p) = &callee.kind else {
        return None;
    };
    if !p.is_single() || !is_chor(&p.last().name) {
        return None;
    }
    let roles = roles
        .iter()
        .map(|r| match &r.kind {
            ExprKind::Path(p) if p.is_single() => Some(p.last().clone()),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    let args = args.iter().map(split_located).collect::<Option<Vec<_>>>()?;
    Some(ChorCall {
        callee: p.last().clone(),
        roles,
        args,
        span: value.span,
    })
}

/// `(e)`: the expression itself, except that a single name keeps the parentheses in its span,
/// so that `(Ws).e` in a call parsed as an expression (`let (Ws).y = P(L, Ws)((Ws).k);`) is
/// still the group `(Ws)`, as in statement position, and not `Ws.e`.
pub(crate) fn parenthesized(e: Expr, span: Span) -> Expr {
    match &e.kind {
        ExprKind::Path(p) if p.is_single() => Expr { span, ..e },
        _ => e,
    }
}

/// What stands before the dot of a located argument: a role, or a group `(A, B)` (parsed as a
/// tuple of names), or a group of one `(Ws)` (a parenthesized name).
type Head = (Ident, Option<Group>);

fn head(base: &Expr) -> Option<Head> {
    let single = |e: &Expr| match &e.kind {
        ExprKind::Path(p) if p.is_single() => Some(p.last().clone()),
        _ => None,
    };
    match &base.kind {
        ExprKind::Path(p) if p.is_single() && base.span != p.span => {
            let role = p.last().clone();
            Some((
                role.clone(),
                Some(Group {
                    roles: vec![role],
                    span: base.span,
                }),
            ))
        }
        ExprKind::Tuple(xs) if xs.len() >= 2 => {
            let roles = xs.iter().map(single).collect::<Option<Vec<_>>>()?;
            Some((
                roles[0].clone(),
                Some(Group {
                    roles,
                    span: base.span,
                }),
            ))
        }
        _ => Some((single(base)?, None)),
    }
}

/// `R.e` (or `(A, B).e`) parsed as an expression → (R, e).
fn split_located(e: &Expr) -> Option<LocatedExpr> {
    fn strip(e: &Expr) -> Option<(Head, Expr)> {
        let rebuild = |kind: ExprKind, span: Span| Expr {
            kind,
            span,
            id: NodeId::default(),
        };
        match &e.kind {
            ExprKind::Field(base, field) => {
                if let Some(h) = head(base) {
                    let var = Expr {
                        kind: ExprKind::Path(Path {
                            segments: vec![field.clone()],
                            span: field.span,
                        }),
                        span: field.span,
                        id: NodeId::default(),
                    };
                    return Some((h, var));
                }
                let (r, b) = strip(base)?;
                Some((
                    r,
                    rebuild(ExprKind::Field(Box::new(b), field.clone()), e.span),
                ))
            }
            ExprKind::TupleIndex(base, i, isp) => {
                if let Some(h) = head(base) {
                    // `R.0` — a literal at R
                    return Some((h, rebuild(ExprKind::Lit(Lit::Int(i64::from(*i))), *isp)));
                }
                let (r, b) = strip(base)?;
                Some((
                    r,
                    rebuild(ExprKind::TupleIndex(Box::new(b), *i, *isp), e.span),
                ))
            }
            ExprKind::Located(base, inner) => Some((head(base)?, (**inner).clone())),
            ExprKind::Call(f, args) => {
                let (r, f) = strip(f)?;
                Some((
                    r,
                    rebuild(ExprKind::Call(Box::new(f), args.clone()), e.span),
                ))
            }
            ExprKind::Binary(op, a, b) => {
                let (r, a) = strip(a)?;
                Some((
                    r,
                    rebuild(ExprKind::Binary(*op, Box::new(a), b.clone()), e.span),
                ))
            }
            _ => None,
        }
    }
    // A bare name: a choreography passed as an argument.
    if let ExprKind::Path(p) = &e.kind
        && p.is_single()
    {
        return Some(LocatedExpr {
            role: p.last().clone(),
            expr: Expr {
                kind: e.kind.clone(),
                span: e.span,
                id: NodeId::default(),
            },
            chor: true,
            group: None,
        });
    }
    let ((role, group), expr) = strip(e)?;
    Some(LocatedExpr {
        role,
        expr,
        chor: false,
        group,
    })
}
