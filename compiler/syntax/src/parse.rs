//! Parsing entry point: text to `ast::File` plus every syntax error. Never fails.
//!
//! The grammar recovers at item and statement level, so one mistake does not hide the rest of
//! the file; lexical errors are reported separately and their text is skipped.

use crate::ast::*;
use crate::lexer::{self, Comment, LexError, Token};
use chor_diagnostics::{Diagnostic, Fix};
use lalrpop_util::{ErrorRecovery, ParseError};

lalrpop_util::lalrpop_mod!(
    #[allow(clippy::all, clippy::unwrap_used, unused_parens, dead_code)]
    grammar
);

/// A parsed file: the tree (always present), syntax errors, and the comments kept for tools.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// Shared, so that later phases hold the tree without copying it.
    pub file: std::sync::Arc<File>,
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
    Pattern { kind, span }
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

/// Parse one file. `file` is the id spans will carry.
pub fn parse(file: FileId, src: &str) -> Parsed {
    let lexed = lexer::lex(src);
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
    let tokens = lexed.tokens.clone();
    let mut recovered: Vec<ErrorRecovery<usize, Token, LexError>> = Vec::new();
    let stream = tokens
        .iter()
        .cloned()
        .map(Ok::<(usize, Token, usize), LexError>);
    let result = grammar::FileParser::new().parse(file, &mut recovered, stream);
    let items = match result {
        Ok(items) => items,
        Err(e) => {
            recovered.push(ErrorRecovery {
                error: e,
                dropped_tokens: Vec::new(),
            });
            Vec::new()
        }
    };
    let prev_end = |start: usize| -> usize {
        tokens
            .iter()
            .take_while(|(s, _, _)| *s < start)
            .last()
            .map_or(0, |(_, _, e)| *e)
    };
    for rec in recovered {
        let d = match rec.error {
            ParseError::UnrecognizedToken {
                token: (l, tok, r),
                expected,
            } => {
                if expected.iter().any(|e| e == "\";\"") && !matches!(tok, Token::Semi) {
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
            ParseError::User { error } => {
                Diagnostic::error("E0002", error.to_string(), sp(file, 0, 0), "")
            }
        };
        errors.push(d);
    }
    errors.sort_by_key(|d| d.primary_span().map(|s| s.start));
    errors.dedup_by(|a, b| a.primary_span() == b.primary_span() && a.message == b.message);
    let mut file_ast = File { items };
    attach_docs(&mut file_ast, &lexed.comments, src);
    Parsed {
        file: std::sync::Arc::new(file_ast),
        errors,
        comments: lexed.comments,
    }
}

/// Attach `///` comments directly above an item to it.
fn attach_docs(file: &mut File, comments: &[Comment], src: &str) {
    for item in &mut file.items {
        let start = item.span().start as usize;
        let mut lines: Vec<&str> = Vec::new();
        let mut cursor = start;
        for c in comments.iter().rev().filter(|c| c.end <= start) {
            let gap = src.get(c.end..cursor).unwrap_or("x");
            if !c.doc || !gap.trim().is_empty() {
                break;
            }
            lines.push(c.text.trim_start_matches("///").trim());
            cursor = c.start;
        }
        if lines.is_empty() {
            continue;
        }
        lines.reverse();
        let doc = Some(lines.join("\n"));
        match item {
            Item::Struct(s) => s.doc = doc,
            Item::Enum(e) => e.doc = doc,
            Item::Fn(f) => f.doc = doc,
            Item::Chor(c) => c.doc = doc,
            Item::Import(_) | Item::Error(_) => {}
        }
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

/// `R.e` parsed as an expression → (R, e).
fn split_located(e: &Expr) -> Option<LocatedExpr> {
    fn strip(e: &Expr) -> Option<(Ident, Expr)> {
        let rebuild = |kind: ExprKind, span: Span| Expr { kind, span };
        match &e.kind {
            ExprKind::Field(base, field) => {
                if let ExprKind::Path(p) = &base.kind
                    && p.is_single()
                {
                    let var = Expr {
                        kind: ExprKind::Path(Path {
                            segments: vec![field.clone()],
                            span: field.span,
                        }),
                        span: field.span,
                    };
                    return Some((p.last().clone(), var));
                }
                let (r, b) = strip(base)?;
                Some((
                    r,
                    rebuild(ExprKind::Field(Box::new(b), field.clone()), e.span),
                ))
            }
            ExprKind::TupleIndex(base, i, isp) => {
                if let ExprKind::Path(p) = &base.kind
                    && p.is_single()
                {
                    // `R.0` — a literal at R
                    return Some((
                        p.last().clone(),
                        rebuild(ExprKind::Lit(Lit::Int(i64::from(*i))), *isp),
                    ));
                }
                let (r, b) = strip(base)?;
                Some((
                    r,
                    rebuild(ExprKind::TupleIndex(Box::new(b), *i, *isp), e.span),
                ))
            }
            ExprKind::Located(base, inner) => match &base.kind {
                ExprKind::Path(p) if p.is_single() => Some((p.last().clone(), (**inner).clone())),
                _ => None,
            },
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
    let (role, expr) = strip(e)?;
    Some(LocatedExpr { role, expr })
}
