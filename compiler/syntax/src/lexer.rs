//! The lexer: source text to tokens with byte spans, built with logos.
//!
//! Comments never reach the parser. Doc comments (`///`) and ordinary comments are kept on the
//! side so that the formatter and the doc attachment can see them. Lexical errors are collected
//! as data and the offending text is skipped, so the parser always sees a clean token stream.

use logos::{Lexer, Logos};
use std::fmt;

/// Why a piece of text is not a token.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum LexError {
    #[default]
    Unexpected,
    UnterminatedString,
    BadEscape(String),
    UnterminatedComment,
    IntTooLarge,
    BadFloat,
    /// The text from `start` to `end` is nested deeper than [`crate::MAX_NESTING`] levels.
    TooDeep {
        start: usize,
        end: usize,
    },
    /// The brackets of a selection hold something other than a label name.
    NotALabel {
        start: usize,
        end: usize,
    },
}

impl fmt::Display for LexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LexError::Unexpected => write!(f, "unexpected character"),
            LexError::UnterminatedString => write!(f, "unterminated string literal"),
            LexError::BadEscape(e) => write!(f, "unknown escape sequence `{e}` in string literal"),
            LexError::UnterminatedComment => write!(f, "unterminated block comment"),
            LexError::IntTooLarge => write!(f, "integer literal does not fit in 64-bit Int"),
            LexError::BadFloat => write!(f, "malformed Float literal"),
            LexError::NotALabel { .. } => write!(f, "a selection label must be a name"),
            LexError::TooDeep { .. } => write!(
                f,
                "this is nested more than {} levels deep",
                crate::MAX_NESTING
            ),
        }
    }
}

fn block_comment(lex: &mut Lexer<'_, Token>) -> Result<logos::Skip, LexError> {
    // `/*` already consumed; comments nest.
    let rest = lex.remainder();
    let bytes = rest.as_bytes();
    let mut depth = 1usize;
    let mut i = 0usize;
    while i < bytes.len() {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                lex.bump(i);
                return Ok(logos::Skip);
            }
        } else {
            i += 1;
        }
    }
    lex.bump(bytes.len());
    Err(LexError::UnterminatedComment)
}

fn int_lit(lex: &mut Lexer<'_, Token>) -> Result<i64, LexError> {
    let digits: String = lex.slice().chars().filter(|c| *c != '_').collect();
    digits.parse::<i64>().map_err(|_| LexError::IntTooLarge)
}

fn float_lit(lex: &mut Lexer<'_, Token>) -> Result<f64, LexError> {
    let digits: String = lex.slice().chars().filter(|c| *c != '_').collect();
    digits.parse::<f64>().map_err(|_| LexError::BadFloat)
}

fn string_lit(lex: &mut Lexer<'_, Token>) -> Result<String, LexError> {
    // The opening quote is consumed; scan to the closing quote, decoding escapes.
    let rest = lex.remainder();
    let mut out = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                lex.bump(i + 1);
                return Ok(out);
            }
            '\\' => {
                let Some((_, e)) = chars.next() else { break };
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '0' => out.push('\0'),
                    '\\' => out.push('\\'),
                    '"' => out.push('"'),
                    'u' => {
                        let tail = &rest[i + 2..];
                        let end = tail.find('}');
                        let ok = tail.starts_with('{')
                            && end.is_some_and(|end| end <= 8)
                            && end
                                .and_then(|end| u32::from_str_radix(&tail[1..end], 16).ok())
                                .and_then(char::from_u32)
                                .map(|ch| out.push(ch))
                                .is_some();
                        if !ok {
                            // Quote the escape only (up to its `}`), never the rest of the line.
                            let mut shown = String::new();
                            for ch in tail.chars().take(10) {
                                if ch == '"' || ch == '\n' || ch == '\\' {
                                    break;
                                }
                                shown.push(ch);
                                if ch == '}' {
                                    break;
                                }
                            }
                            lex.bump(rest.len().min(i + 2));
                            // Skip to the end of the string so lexing can go on after it.
                            if let Some(q) = lex.remainder().find('"') {
                                lex.bump(q + 1);
                            }
                            return Err(LexError::BadEscape(format!("\\u{shown}")));
                        }
                        let end = end.unwrap_or(0);
                        // skip the characters of `{XXXX}`
                        for _ in 0..=end {
                            chars.next();
                        }
                    }
                    other => {
                        lex.bump(i + 1 + other.len_utf8());
                        // Skip to the end of the string so lexing can go on after it.
                        let after = &lex.remainder();
                        if let Some(q) = after.find('"') {
                            lex.bump(q + 1);
                        }
                        return Err(LexError::BadEscape(format!("\\{other}")));
                    }
                }
            }
            c => out.push(c),
        }
    }
    lex.bump(rest.len());
    Err(LexError::UnterminatedString)
}

/// A token of the .chor language.
#[derive(Logos, Debug, Clone, PartialEq)]
#[logos(error = LexError)]
#[logos(skip r"[ \t\r\n\f]+")]
pub enum Token {
    #[regex(r"//[^\n]*", allow_greedy = true)]
    LineComment,
    #[token("/*", block_comment)]
    BlockComment,

    #[token("choreography")]
    Choreography,
    #[token("fn")]
    Fn,
    #[token("extern")]
    Extern,
    #[token("struct")]
    Struct,
    #[token("enum")]
    Enum,
    #[token("let")]
    Let,
    #[token("if")]
    If,
    #[token("else")]
    Else,
    #[token("match")]
    Match,
    #[token("return")]
    Return,
    #[token("import")]
    Import,
    #[token("for")]
    For,
    #[token("in")]
    In,
    #[token("true")]
    True,
    #[token("false")]
    False,

    #[regex(r"[A-Za-z_][A-Za-z0-9_]*", |lex| lex.slice().to_owned())]
    Ident(String),
    #[regex(r"[0-9][0-9_]*", int_lit)]
    Int(i64),
    #[regex(r"[0-9][0-9_]*\.[0-9][0-9_]*([eE][+-]?[0-9]+)?", float_lit)]
    #[regex(r"[0-9][0-9_]*[eE][+-]?[0-9]+", float_lit)]
    Float(f64),
    #[token("\"", string_lit)]
    Str(String),

    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token("<")]
    Lt,
    #[token(">")]
    Gt,
    #[token("<=")]
    Le,
    #[token(">=")]
    Ge,
    #[token("==")]
    EqEq,
    #[token("!=")]
    Ne,
    #[token("=")]
    Eq,
    #[token("+")]
    Plus,
    #[token("++")]
    PlusPlus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("%")]
    Percent,
    #[token("&&")]
    AndAnd,
    #[token("||")]
    OrOr,
    #[token("!")]
    Bang,
    #[token("->")]
    Arrow,
    #[token("=>")]
    FatArrow,
    #[token(".")]
    Dot,
    #[token("..")]
    DotDot,
    #[token(",")]
    Comma,
    #[token(";")]
    Semi,
    #[token(":")]
    Colon,
    #[token("::")]
    ColonColon,
    #[token("@")]
    At,
    #[token("#")]
    Hash,
    #[token("|")]
    Pipe,
    /// `if` that starts a choreographic conditional expression (`let B.y = if A.ok { … }`):
    /// never lexed, marked by the parser's pass over the tokens ([`mark_chor_conditionals`]),
    /// because its blocks hold choreography statements where a local `if` holds local code,
    /// and only the condition's first name (a role of the choreography) tells them apart.
    ChorIf,
    /// `match` that starts a choreographic conditional expression (as [`Token::ChorIf`]).
    ChorMatch,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Ident(s) => write!(f, "identifier `{s}`"),
            Token::Int(i) => write!(f, "integer `{i}`"),
            Token::Float(x) => write!(f, "float `{x:?}`"),
            Token::Str(_) => write!(f, "string literal"),
            other => write!(f, "`{}`", other.text()),
        }
    }
}

impl Token {
    /// The fixed spelling of a punctuation or keyword token.
    pub fn text(&self) -> &'static str {
        match self {
            Token::LineComment | Token::BlockComment => "comment",
            Token::Choreography => "choreography",
            Token::Fn => "fn",
            Token::Extern => "extern",
            Token::Struct => "struct",
            Token::Enum => "enum",
            Token::Let => "let",
            Token::If | Token::ChorIf => "if",
            Token::Else => "else",
            Token::Match | Token::ChorMatch => "match",
            Token::Return => "return",
            Token::Import => "import",
            Token::For => "for",
            Token::In => "in",
            Token::True => "true",
            Token::False => "false",
            Token::Ident(_) => "identifier",
            Token::Int(_) => "integer",
            Token::Float(_) => "float",
            Token::Str(_) => "string",
            Token::LParen => "(",
            Token::RParen => ")",
            Token::LBrace => "{",
            Token::RBrace => "}",
            Token::LBracket => "[",
            Token::RBracket => "]",
            Token::Lt => "<",
            Token::Gt => ">",
            Token::Le => "<=",
            Token::Ge => ">=",
            Token::EqEq => "==",
            Token::Ne => "!=",
            Token::Eq => "=",
            Token::Plus => "+",
            Token::PlusPlus => "++",
            Token::Minus => "-",
            Token::Star => "*",
            Token::Slash => "/",
            Token::Percent => "%",
            Token::AndAnd => "&&",
            Token::OrOr => "||",
            Token::Bang => "!",
            Token::Arrow => "->",
            Token::FatArrow => "=>",
            Token::Dot => ".",
            Token::DotDot => "..",
            Token::Comma => ",",
            Token::Semi => ";",
            Token::Colon => ":",
            Token::ColonColon => "::",
            Token::At => "@",
            Token::Hash => "#",
            Token::Pipe => "|",
        }
    }
}

/// A comment kept beside the token stream (for doc attachment and formatting).
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub start: usize,
    pub end: usize,
    pub text: String,
    pub doc: bool,
}

/// The result of lexing a whole file.
#[derive(Debug, Clone, Default)]
pub struct Lexed {
    pub tokens: Vec<(usize, Token, usize)>,
    pub comments: Vec<Comment>,
    pub errors: Vec<(usize, usize, LexError)>,
}

/// Lex a whole file. Never fails: bad text becomes an entry in `errors` and is skipped.
pub fn lex(src: &str) -> Lexed {
    lex_range(src, 0, &mut |_| false).0
}

/// Lex `src` from byte `start` (which must be where a token may begin: the start of the file or
/// the end of a token), stopping before the first token or comment that starts at an offset
/// where `stop` says so. Positions are offsets in `src`. Returns what was lexed and where it
/// stopped (`src.len()` if it never did).
pub(crate) fn lex_range(
    src: &str,
    start: usize,
    stop: &mut dyn FnMut(usize) -> bool,
) -> (Lexed, usize) {
    let mut out = Lexed::default();
    let mut lexer = Token::lexer(&src[start..]);
    let mut end = src.len();
    while let Some(tok) = lexer.next() {
        let span = lexer.span();
        let span = span.start + start..span.end + start;
        if stop(span.start) {
            end = span.start;
            break;
        }
        match tok {
            Ok(Token::LineComment) => {
                let text = &src[span.clone()];
                out.comments.push(Comment {
                    start: span.start,
                    end: span.end,
                    text: text.to_owned(),
                    doc: text.starts_with("///") && !text.starts_with("////"),
                });
            }
            Ok(Token::BlockComment) => {}
            Ok(Token::Float(x))
                if matches!(out.tokens.last(), Some((_, Token::Dot, e)) if *e == span.start)
                    && !after_role(&out.tokens) =>
            {
                // `t.0.1` is two tuple indexes, not the float `0.1`.
                let text = &src[span.clone()];
                let _ = x;
                let mut offset = span.start;
                for (k, part) in text.split('.').enumerate() {
                    if k > 0 {
                        out.tokens.push((offset, Token::Dot, offset + 1));
                        offset += 1;
                    }
                    match part.parse::<i64>() {
                        Ok(n) => out
                            .tokens
                            .push((offset, Token::Int(n), offset + part.len())),
                        Err(_) => {
                            out.errors
                                .push((offset, offset + part.len(), LexError::BadFloat))
                        }
                    }
                    offset += part.len();
                }
            }
            Ok(t) => out.tokens.push((span.start, t, span.end)),
            Err(e @ LexError::BadEscape(_)) => {
                // The string is still a string: the parser goes on with it, so the one mistake
                // is reported once (not also as a missing argument or operand).
                out.errors.push((span.start, span.end, e));
                out.tokens
                    .push((span.start, Token::Str(String::new()), span.end));
            }
            Err(e) => {
                // Block comments are skipped by logos, so record their errors here.
                let stopped = lexer.span().end + start;
                out.errors.push((span.start, stopped.max(span.end), e));
            }
        }
    }
    // Block comments are skipped inside logos; collect their spans for the formatter.
    collect_block_comments(src, start, end, &out.tokens, &mut out.comments);
    (out, end)
}

/// Find block comments in the gaps between tokens (logos skips them entirely), from `from` to
/// `to`.
fn collect_block_comments(
    src: &str,
    from: usize,
    to: usize,
    tokens: &[(usize, Token, usize)],
    comments: &mut Vec<Comment>,
) {
    let mut gaps = Vec::new();
    let mut prev = from;
    for (s, _, e) in tokens {
        gaps.push((prev, *s));
        prev = *e;
    }
    gaps.push((prev, to));
    for (a, b) in gaps {
        let Some(gap) = src.get(a..b) else { continue };
        // A gap holds only whitespace and comments: scan it in order, so that `//` inside a
        // block comment and `/*` inside a line comment are text, not comment openers.
        let bytes = gap.as_bytes();
        let mut i = 0usize;
        while i < bytes.len() {
            let next = bytes.get(i + 1);
            if bytes[i] == b'/' && next == Some(&b'/') {
                i = gap[i..].find('\n').map_or(bytes.len(), |p| i + p + 1);
                continue;
            }
            if !(bytes[i] == b'/' && next == Some(&b'*')) {
                i += 1;
                continue;
            }
            let start = i;
            let mut depth = 0usize;
            let mut j = start;
            let mut end = gap.len();
            while j < bytes.len() {
                if bytes[j] == b'/' && bytes.get(j + 1) == Some(&b'*') {
                    depth += 1;
                    j += 2;
                } else if bytes[j] == b'*' && bytes.get(j + 1) == Some(&b'/') {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        end = j;
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            comments.push(Comment {
                start: a + start,
                end: a + end,
                text: gap[start..end].to_owned(),
                doc: false,
            });
            i = end;
        }
    }
    comments.sort_by_key(|c| c.start);
}

/// Marks the `if` and `match` tokens that start a choreographic conditional expression as
/// [`Token::ChorIf`] / [`Token::ChorMatch`]: those right after the `=` of a `let` inside a
/// choreography whose condition starts with one of the choreography's roles (`R.`, `Ws[e].`)
/// or with a group of them (`(A, B).`). The design card (section 9) makes that the rule: a
/// conditional is choreographic when its condition starts with a role or a group, and
/// `let R.x = if c { … }` with a bare condition stays a local `if`. Telling them apart needs
/// the roles in scope, which a context-free grammar cannot see; they are the names declared
/// in the choreography's header (and the variables of its `for` rounds).
pub fn mark_chor_conditionals(tokens: &mut [(usize, Token, usize)]) {
    // Items do not nest, so the last item keyword says which item a token belongs to, however
    // unbalanced the brackets before it are: a text with errors, and the window of an
    // incremental re-parse (which starts at an item), mark the same tokens.
    let mut roles: Vec<String> = Vec::new();
    let mut in_chor = false;
    for i in 0..tokens.len() {
        match &tokens[i].1 {
            Token::Choreography => {
                in_chor = true;
                roles = header_roles(tokens, i + 1);
            }
            // `fn name` starts a function (`fn(Int) -> Bool` is a type).
            Token::Fn if matches!(tokens.get(i + 1), Some((_, Token::Ident(_), _))) => {
                in_chor = false;
            }
            Token::Struct | Token::Enum | Token::Import | Token::Extern => in_chor = false,
            Token::For if in_chor => {
                if let Some((_, Token::Ident(v), _)) = tokens.get(i + 1) {
                    roles.push(v.clone());
                }
            }
            Token::If | Token::Match
                if in_chor
                    && i > 0
                    && matches!(tokens[i - 1].1, Token::Eq)
                    && starts_with_role(tokens, i + 1, &roles) =>
            {
                tokens[i].1 = match tokens[i].1 {
                    Token::If => Token::ChorIf,
                    _ => Token::ChorMatch,
                };
            }
            _ => {}
        }
    }
}

/// The role names in the header `Name<…>(A, Ws[], …)` that starts at `at` (after
/// `choreography`).
fn header_roles(tokens: &[(usize, Token, usize)], mut at: usize) -> Vec<String> {
    let mut out = Vec::new();
    at += 1; // the name
    if matches!(tokens.get(at), Some((_, Token::Lt, _))) {
        while at < tokens.len() && !matches!(tokens[at].1, Token::Gt) {
            at += 1;
        }
        at += 1;
    }
    if !matches!(tokens.get(at), Some((_, Token::LParen, _))) {
        return out;
    }
    at += 1;
    while let Some((_, t, _)) = tokens.get(at) {
        match t {
            Token::Ident(n) => out.push(n.clone()),
            Token::RParen => break,
            _ => {}
        }
        at += 1;
    }
    out
}

/// Whether the tokens from `at` are `R.`, `Ws[…].` or a group `(A, Ws[…], …).` with every
/// entry a role or a member (a group of one entry included: `(Ws).` is a family alone, and
/// `(A).`, which the checker refuses with its own error, is no local expression either).
fn starts_with_role(tokens: &[(usize, Token, usize)], at: usize, roles: &[String]) -> bool {
    let tok = |k: usize| tokens.get(k).map(|t| &t.1);
    // The token after a role `R` or a member `Ws[…]` that starts at `k`, if it is one.
    let role_end = |k: usize| -> Option<usize> {
        match tok(k) {
            Some(Token::Ident(n)) if roles.contains(n) => {}
            _ => return None,
        }
        if !matches!(tok(k + 1), Some(Token::LBracket)) {
            return Some(k + 1);
        }
        // A member: skip to the matching `]`.
        let mut depth = 0usize;
        let mut j = k + 1;
        while let Some(t) = tok(j) {
            match t {
                Token::LBracket | Token::LParen | Token::LBrace => depth += 1,
                Token::RBracket | Token::RParen | Token::RBrace => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(j + 1);
                    }
                }
                _ => {}
            }
            j += 1;
        }
        None
    };
    let dot = |k: usize| matches!(tok(k), Some(Token::Dot));
    if let Some(end) = role_end(at) {
        return dot(end);
    }
    if !matches!(tok(at), Some(Token::LParen)) {
        return false;
    }
    let mut k = at + 1;
    loop {
        let Some(end) = role_end(k) else {
            return false;
        };
        k = end;
        match tok(k) {
            Some(Token::Comma) if matches!(tok(k + 1), Some(Token::RParen)) => return dot(k + 2),
            Some(Token::Comma) => k += 1,
            Some(Token::RParen) => return dot(k + 1),
            _ => return false,
        }
    }
}

/// Whether the tokens end with `R.` for a role `R` (a Capitalized name, or a member `Ws[e]`):
/// then a float follows (`Seller.9.99 -> Buyer.price;` sends 9.99), where after a variable
/// `t.0.1` is two tuple indexes.
fn after_role(tokens: &[(usize, Token, usize)]) -> bool {
    match tokens.len().checked_sub(2).and_then(|k| tokens.get(k)) {
        Some((_, Token::Ident(name), _)) => name.starts_with(|c: char| c.is_ascii_uppercase()),
        Some((_, Token::RBracket, _)) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Token> {
        lex(src).tokens.into_iter().map(|(_, t, _)| t).collect()
    }

    #[test]
    fn numbers_and_tuple_index() {
        assert_eq!(kinds("1_000"), vec![Token::Int(1000)]);
        assert_eq!(kinds("3.5"), vec![Token::Float(3.5)]);
        assert_eq!(kinds("1e-3"), vec![Token::Float(1e-3)]);
        assert_eq!(
            kinds("t.0.1"),
            vec![
                Token::Ident("t".into()),
                Token::Dot,
                Token::Int(0),
                Token::Dot,
                Token::Int(1)
            ]
        );
    }

    #[test]
    fn float_at_a_role() {
        // `R.e` with e a float: the role is not a tuple.
        assert_eq!(
            kinds("Seller.9.99"),
            vec![
                Token::Ident("Seller".into()),
                Token::Dot,
                Token::Float(9.99)
            ]
        );
        assert_eq!(
            kinds("Ws[0].0.5"),
            vec![
                Token::Ident("Ws".into()),
                Token::LBracket,
                Token::Int(0),
                Token::RBracket,
                Token::Dot,
                Token::Float(0.5)
            ]
        );
        // After a variable, still two tuple indexes.
        assert_eq!(kinds("pair.1.0").len(), 5);
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(
            kinds(r#""a\n\"b\u{1F600}""#),
            vec![Token::Str("a\n\"b\u{1F600}".into())]
        );
        let l = lex(r#""bad \q" x"#);
        assert_eq!(l.errors.len(), 1);
        // A string with a bad escape is still a string token (after its error).
        assert_eq!(
            kinds(r#""bad \q" x"#),
            vec![Token::Str(String::new()), Token::Ident("x".into())]
        );
        for bad in [
            r#""\u{D800}" x"#,
            r#""\u{110000}" x"#,
            r#""\u{}" x"#,
            r#""\uZ" x"#,
        ] {
            let l = lex(bad);
            assert_eq!(l.errors.len(), 1, "{bad}");
            assert_eq!(
                kinds(bad),
                vec![Token::Str(String::new()), Token::Ident("x".into())],
                "{bad}"
            );
        }
        assert_eq!(
            lex(r#""\u{D800}" x"#).errors[0].2,
            LexError::BadEscape("\\u{D800}".into())
        );
        assert_eq!(lex("\"open").errors[0].2, LexError::UnterminatedString);
    }

    #[test]
    fn comments_nest_and_docs_are_kept() {
        let l = lex("/* a /* b */ c */ x /// doc\n// plain\ny");
        assert_eq!(l.tokens.len(), 2);
        assert_eq!(l.comments.len(), 3);
        assert!(l.comments[1].doc);
        assert!(!l.comments[2].doc);
        assert_eq!(lex("/* open").errors[0].2, LexError::UnterminatedComment);
        // `//` inside a block comment opens nothing; `/*` inside a line comment neither.
        let l = lex("/* a // b */ /* keep */ x // c /* not */\ny");
        let texts: Vec<&str> = l.comments.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts.len(), 3, "{texts:?}");
        assert!(texts.contains(&"/* keep */"), "{texts:?}");
        assert!(!texts.contains(&"/* not */"), "{texts:?}");
    }

    #[test]
    fn operators() {
        assert_eq!(
            kinds("a ++ b -> c => :: .."),
            vec![
                Token::Ident("a".into()),
                Token::PlusPlus,
                Token::Ident("b".into()),
                Token::Arrow,
                Token::Ident("c".into()),
                Token::FatArrow,
                Token::ColonColon,
                Token::DotDot
            ]
        );
    }

    /// Whether the `if`/`match` after `let … =` in `main(L, Ws[])` is marked choreographic.
    fn marked(cond: &str) -> bool {
        let src = format!("choreography main(L, Ws[]) {{ let L.x = {cond} }}");
        let mut tokens = lex(&src).tokens;
        mark_chor_conditionals(&mut tokens);
        tokens
            .iter()
            .any(|(_, t, _)| matches!(t, Token::ChorIf | Token::ChorMatch))
    }

    /// A conditional is choreographic when its condition starts with a role, a member or a
    /// group of them, whatever the group holds: plain roles, members `Ws[e]` (any index
    /// expression), a whole family, or a family alone (`(Ws)`).
    #[test]
    fn every_form_of_role_and_group_starts_a_choreographic_conditional() {
        for cond in [
            "if L.ok {",
            "if Ws[0].ok {",
            "if Ws[(size(Ws) - 1) % 2].ok {",
            "if (L, Ws).ok {",
            "if (L, Ws[0]).ok {",
            "if (Ws[0], L).ok {",
            "if (Ws[0], Ws[(1 + 1) % 3], L,).ok {",
            "if (Ws).ok {",
            "match (L, Ws[1]).m {",
            "match Ws[1].m {",
        ] {
            assert!(marked(cond), "{cond}");
        }
        for cond in [
            "if ok {",
            "if (a, b).0 {",
            "if (L, b).0 {",
            "if (L + 1).f {",
            "if Ws[0] {",
            "match (x) {",
            "if (L, Ws[0] {",
        ] {
            assert!(!marked(cond), "{cond}");
        }
    }
}
