//! The abstract syntax tree of a .chor file, as the parser produces it.
//!
//! The tree keeps a span on every node so that every later phase can point at source text.
//! Error nodes (`*::Error`) stand where the parser recovered from a syntax error.

pub use chor_diagnostics::{FileId, Span};
use std::sync::Arc;

/// The id of an expression, a pattern, a receiver or a choreography statement within its item
/// (function or choreography): ids are numbered in pre-order over the item after parsing
/// ([`crate::ids::number_item`]), so the same text of an item always gets the same ids and
/// an item an edit did not touch keeps them. The checker's resolved program
/// (`chor_check::ir`) is keyed by (item, id).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// `name` or `module::name`.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub segments: Vec<Ident>,
    pub span: Span,
}

impl Path {
    /// The last segment.
    pub fn last(&self) -> &Ident {
        // A path always has at least one segment (the grammar guarantees it).
        &self.segments[self.segments.len() - 1]
    }
    pub fn is_single(&self) -> bool {
        self.segments.len() == 1
    }
    pub fn text(&self) -> String {
        self.segments
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join("::")
    }
}

/// A parsed file. Items are shared (`Arc`): a re-parse after an edit reuses the items the edit
/// did not touch, and later phases hold them without copying.
#[derive(Debug, Clone, Default)]
pub struct File {
    pub items: Vec<Arc<Item>>,
}

impl File {
    /// The items in source order.
    pub fn iter(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().map(|i| &**i)
    }
}

impl PartialEq for File {
    /// Shared items are equal without looking inside them.
    fn eq(&self, other: &File) -> bool {
        self.items.len() == other.items.len()
            && self
                .items
                .iter()
                .zip(&other.items)
                .all(|(a, b)| Arc::ptr_eq(a, b) || a == b)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Import(Import),
    Struct(StructDef),
    Enum(EnumDef),
    Fn(FnDef),
    Chor(ChorDef),
    Error(Span),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Import(i) => i.span,
            Item::Struct(s) => s.span,
            Item::Enum(e) => e.span,
            Item::Fn(f) => f.span,
            Item::Chor(c) => c.span,
            Item::Error(s) => *s,
        }
    }
    pub fn name(&self) -> Option<&Ident> {
        match self {
            Item::Struct(s) => Some(&s.name),
            Item::Enum(e) => Some(&e.name),
            Item::Fn(f) => Some(&f.name),
            Item::Chor(c) => Some(&c.name),
            Item::Import(_) | Item::Error(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    pub path: String,
    pub path_span: Span,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub name: Ident,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StructDef {
    pub doc: Option<String>,
    pub name: Ident,
    pub generics: Vec<Ident>,
    pub fields: Vec<FieldDef>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldDef {
    pub name: Ident,
    pub ty: Type,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnumDef {
    pub doc: Option<String>,
    pub name: Ident,
    pub generics: Vec<Ident>,
    pub variants: Vec<VariantDef>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VariantDef {
    pub name: Ident,
    pub fields: Vec<Type>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FnDef {
    pub doc: Option<String>,
    pub attrs: Vec<Attribute>,
    pub name: Ident,
    pub generics: Vec<Ident>,
    pub params: Vec<Param>,
    pub ret: Option<Type>,
    /// `None` for a declaration without body (only allowed for `#[builtin]`).
    pub body: Option<Expr>,
    pub span: Span,
}

impl FnDef {
    pub fn is_builtin(&self) -> bool {
        self.attrs.iter().any(|a| a.name.name == "builtin")
    }
    /// `extern fn`: implemented by a Rust function of the project's extern crate.
    pub fn is_extern(&self) -> bool {
        self.attrs.iter().any(|a| a.name.name == "extern")
    }
    /// A standard library helper that only its own module may call (`#[internal]`).
    pub fn is_internal(&self) -> bool {
        self.attrs.iter().any(|a| a.name.name == "internal")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: Ident,
    pub ty: Type,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChorDef {
    pub doc: Option<String>,
    pub name: Ident,
    pub roles: Vec<Ident>,
    pub params: Vec<ChorParam>,
    /// `-> T@R`
    pub ret: Option<(Type, Ident)>,
    /// `-> T@(A, B)` or `-> (T@A, U@B)`: the results when one is agreed or there are several
    /// (then `ret` is `None`); empty otherwise. Each role holds at most one result.
    pub results: Vec<ChorResult>,
    pub body: ChorBlock,
    pub span: Span,
    /// Type parameters: `choreography Relay<T>(A, B)(x: T@A) -> T@B`.
    pub generics: Vec<Ident>,
    /// The roles declared as families (`Ws[]`), in the order of `roles`, which holds them too
    /// (by their bare name). Section 10 of the design card.
    pub families: Vec<Ident>,
    /// Every member reference `Ws[e]` written in a role position of this choreography, found
    /// by span: the role position holds an `Ident` named `Ws[<e printed>]` with the span of
    /// the whole reference, and this table holds its index expression.
    pub members: Vec<MemberRef>,
}

impl ChorDef {
    /// Whether `name` is one of this choreography's families.
    pub fn is_family(&self, name: &str) -> bool {
        self.families.iter().any(|f| f.name == name)
    }
    /// The member reference whose role `Ident` has span `span`.
    pub fn member_at(&self, span: Span) -> Option<&MemberRef> {
        self.members.iter().find(|m| m.span == span)
    }
}

/// `Ws[e]` in a role position: one member of the family `Ws`.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberRef {
    pub family: Ident,
    pub index: Expr,
    /// The span of the whole `Ws[e]`.
    pub span: Span,
}

impl ChorDef {
    /// Whether this choreography takes a choreography as an argument.
    pub fn is_higher_order(&self) -> bool {
        self.params.iter().any(|p| p.chor.is_some())
    }
}

/// One declared result `T@R` or `T@(A, B)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChorResult {
    pub ty: Type,
    /// The role, or the group's first member.
    pub role: Ident,
    pub group: Option<Group>,
}

/// `name: T@R`, `name: T@(A, B)` (an agreed parameter: `role` is the group's first member), or
/// `name: chor(X, Y)(Int@X) -> Int@Y` (a choreography-typed parameter).
#[derive(Debug, Clone, PartialEq)]
pub struct ChorParam {
    pub name: Ident,
    pub ty: Type,
    pub role: Ident,
    /// The signature of a choreography-typed parameter: a [`ChorDef`] without statements,
    /// named `chor`, so that a choreography type takes everything a signature takes. Then
    /// `ty` is `Type::Error` and `role` is the parameter's name (neither means anything).
    pub chor: Option<Box<ChorDef>>,
    pub group: Option<Group>,
}

impl ChorParam {
    /// Whether `other` was written at the same place (the parameters a family parameter
    /// expands to share their source).
    pub fn span_is(&self, other: &ChorParam) -> bool {
        self.name.span == other.name.span
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChorBlock {
    pub stmts: Vec<ChorStmt>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChorStmt {
    pub kind: ChorStmtKind,
    pub span: Span,
    pub id: NodeId,
}

/// `S.x` on the receiving side of a communication.
#[derive(Debug, Clone, PartialEq)]
pub struct Receiver {
    pub role: Ident,
    pub var: Ident,
    /// The binding of `var`.
    pub id: NodeId,
}

/// `(A, B)` in front of a binding, a condition or a received variable: each of these roles,
/// with the same value (an agreed value, section 9 of the design card). Group order does not
/// matter. It is a list of role names, so that other kinds of role (a family) can be members.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub roles: Vec<Ident>,
    pub span: Span,
}

/// The roles that hold a value written `R.e` (`group` is `None`: just R) or `(A, B).e` (the
/// group's members).
pub fn held_by<'a>(role: &'a Ident, group: Option<&'a Group>) -> &'a [Ident] {
    group.map_or(std::slice::from_ref(role), |g| &g.roles)
}

/// `R.e` as an argument of a choreography call, or `(A, B).e` (an agreed argument: `role`
/// is the group's first member).
#[derive(Debug, Clone, PartialEq)]
pub struct LocatedExpr {
    pub role: Ident,
    pub expr: Expr,
    /// A choreography passed as an argument (`Twice(A, B)(Double, A.(3))`): then `role` is the
    /// choreography's name and `expr` the same name as a path expression (its node id holds
    /// the resolution in the checker's IR).
    pub chor: bool,
    pub group: Option<Group>,
}

/// `R.p: T` or `(A, B).p: T` in `let (C.x, (A, B).y) = …;`: where one result is bound.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The role, or the group's first member.
    pub role: Ident,
    pub group: Option<Group>,
    pub pat: Pattern,
    pub ty: Option<Type>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChorCall {
    pub callee: Ident,
    pub roles: Vec<Ident>,
    pub args: Vec<LocatedExpr>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChorArm {
    pub pat: Pattern,
    pub body: ChorBlock,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ChorStmtKind {
    /// `let R.p: T = e;`, or `let (A, B).p = e;` when `group` is set: then `role` is the
    /// group's first member and every member computes `e`.
    Let {
        role: Ident,
        pat: Pattern,
        ty: Option<Type>,
        value: Expr,
        group: Option<Group>,
    },
    /// `R.e -> S.x, T.y;`, or `R.e -> (S, T).x;` when `group` is set: then `to` holds one
    /// receiver per member (all binding the same name, agreed), and a sender that is a member
    /// keeps the value instead of sending it to itself.
    Comm {
        from: Ident,
        expr: Expr,
        to: Vec<Receiver>,
        group: Option<Group>,
    },
    /// `R -> S, T[Label];`
    Select {
        from: Ident,
        to: Vec<Ident>,
        label: Ident,
    },
    /// `R.e;`
    Effect {
        role: Ident,
        expr: Expr,
    },
    /// `if R.e { … } else { … }` (an `else if` is an else block holding one `If`), or
    /// `if (A, B).e { … }` when `group` is set: then `role` is the group's first member and
    /// every member decides by itself.
    ///
    /// A conditional *expression* (`let B.y = if A.ok { …; B.(v + 1) } else { …; B.(0) };`,
    /// section 9 of the design card) is the same statement with the targets it binds in
    /// `bind`, one per value each branch yields (empty for a conditional statement); every
    /// block of it then ends with a [`ChorStmtKind::Yield`], or with a nested conditional
    /// (without targets) whose blocks end so (`else if`).
    If {
        role: Ident,
        cond: Expr,
        then: ChorBlock,
        els: Option<ChorBlock>,
        group: Option<Group>,
        bind: Vec<Target>,
    },
    /// `match R.e { p => { … }, … }`, or `match (A, B).e { … }` (as for `If`), also as a
    /// conditional expression (`bind` as for `If`).
    Match {
        role: Ident,
        scrutinee: Expr,
        arms: Vec<ChorArm>,
        group: Option<Group>,
        bind: Vec<Target>,
    },
    /// `B.(v + 1)` or `(B.x, C.(0))` without `;` at the end of a branch of a conditional
    /// expression: the values the branch yields, one part per target, in order.
    Yield {
        parts: Vec<LocatedExpr>,
    },
    /// `P(R1, R2)(R1.e1, R2.e2);` or `let S.x = P(R1, S)(R1.e);`
    Call {
        call: ChorCall,
        bind: Option<(Ident, Pattern, Option<Type>)>,
    },
    /// `return S.e;`
    Return {
        role: Ident,
        expr: Expr,
    },
    /// `for W in Ws { … }`: the body once per member of the family `Ws`, in order, with `W`
    /// naming the round's member.
    For {
        var: Ident,
        family: Ident,
        body: ChorBlock,
    },
    /// `return (A, B).e;` (every member returns its agreed `e`) or `return (C.t, S.u);`
    /// (several results, one part per declared result, in order).
    Results {
        parts: Vec<LocatedExpr>,
    },
    /// `let (C.x, S.y) = e;` or `let (A, B).x = e;` where `e` is not read as a call: its
    /// value is bound at several roles (a choreography call's results, read as `CallMany`).
    LetMany {
        targets: Vec<Target>,
        value: Expr,
    },
    /// `let (C.x, S.y) = P(…)(…);` or `let (A, B).x = P(…)(…);`: a call whose results are
    /// bound at several roles, one target per declared result.
    CallMany {
        call: ChorCall,
        targets: Vec<Target>,
    },
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    /// `Int`, `List<T>`, `Pair<A, B>`, a generic parameter `T`.
    Named {
        name: Path,
        args: Vec<Type>,
        span: Span,
    },
    /// `()` and `(A, B)`.
    Tuple {
        elems: Vec<Type>,
        span: Span,
    },
    /// `fn(A, B) -> C`
    Fn {
        params: Vec<Type>,
        ret: Box<Type>,
        span: Span,
    },
    Error(Span),
}

impl Type {
    pub fn span(&self) -> Span {
        match self {
            Type::Named { span, .. } | Type::Tuple { span, .. } | Type::Fn { span, .. } => *span,
            Type::Error(s) => *s,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    Unit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Concat,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinOp {
    pub fn text(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::Concat => "++",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "&&",
            BinOp::Or => "||",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnOp {
    Neg,
    Not,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
    pub id: NodeId,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldInit {
    pub name: Ident,
    pub value: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Arm {
    pub pat: Pattern,
    pub body: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub tail: Option<Box<Expr>>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    Let {
        pat: Pattern,
        ty: Option<Type>,
        value: Expr,
        span: Span,
    },
    Expr(Expr),
    Error(Span),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Lit(Lit),
    /// A variable, function, or nullary variant: `x`, `list::len`, `None`.
    Path(Path),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Call(Box<Expr>, Vec<Expr>),
    Field(Box<Expr>, Ident),
    TupleIndex(Box<Expr>, u32, Span),
    Tuple(Vec<Expr>),
    List(Vec<Expr>),
    StructLit {
        name: Path,
        fields: Vec<FieldInit>,
    },
    If {
        cond: Box<Expr>,
        then: Block,
        els: Option<Box<Expr>>,
    },
    Match {
        scrutinee: Box<Expr>,
        arms: Vec<Arm>,
    },
    Block(Block),
    Return(Option<Box<Expr>>),
    /// `R.(e)`, `R.[…]`, `R."…"`, `R.m::f(…)`: an expression located at role R. Only meaningful
    /// as an argument of a choreography call bound with `let` (the program model rewrites those);
    /// anywhere else the checker rejects it.
    Located(Box<Expr>, Box<Expr>),
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldPat {
    pub name: Ident,
    pub pat: Pattern,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    pub kind: PatternKind,
    pub span: Span,
    /// For `PatternKind::Ident`, the id of the binding it introduces (unless it names a
    /// nullary variant).
    pub id: NodeId,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PatternKind {
    Wild,
    /// A binding, or a nullary variant such as `None` (resolution decides).
    Ident(Ident),
    Lit(Lit),
    Tuple(Vec<Pattern>),
    /// `Some(p)`, `Node(l, v, r)`
    Variant {
        name: Path,
        args: Vec<Pattern>,
    },
    /// `Quote { title, price: p, .. }`
    Struct {
        name: Path,
        fields: Vec<FieldPat>,
        rest: bool,
    },
    /// `[a, b]`, `[h, ..t]`, `[h, ..]`
    List {
        elems: Vec<Pattern>,
        rest: Option<Option<Box<Pattern>>>,
    },
    Error,
}

/// A doc comment or comment kept for tooling.
pub use crate::lexer::Comment;
