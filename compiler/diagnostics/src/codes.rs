//! The registry of diagnostic codes: every code a diagnostic may carry, with a one-line title.
//!
//! This list is the single source of the codes: docs/types.md's table is checked against it
//! (`tests/codes.rs`), `chor explain CODE` prints from it, the language server attaches the
//! title to each diagnostic it publishes (as its `data`), and a test rejects any code used in the sources that
//! is not listed here.

/// A diagnostic code and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    pub code: &'static str,
    pub title: &'static str,
}

/// Every code, in order.
pub const CODES: &[Code] = &[
    Code {
        code: "E0001",
        title: "syntax error: something expected is missing (`;`, a closing bracket, …)",
    },
    Code {
        code: "E0002",
        title: "invalid token or unexpected input",
    },
    Code {
        code: "E0003",
        title: "integer literal too large for `Int`",
    },
    Code {
        code: "E0004",
        title: "a construct chor does not have (`while`, `loop`, `let mut`, closures), with how to write it",
    },
    Code {
        code: "E0005",
        title: "source text nested deeper than the limit (50,000 levels)",
    },
    Code {
        code: "E0010",
        title: "an import that cannot be read",
    },
    Code {
        code: "E0011",
        title: "an import cycle",
    },
    Code {
        code: "E0100",
        title: "an item name is defined twice (also against the standard library)",
    },
    Code {
        code: "E0101",
        title: "unknown variable or name (also a role used as a value)",
    },
    Code {
        code: "E0102",
        title: "unknown type",
    },
    Code {
        code: "E0103",
        title: "unknown module, or unknown function in a module",
    },
    Code {
        code: "E0104",
        title: "unknown variant in a pattern",
    },
    Code {
        code: "E0105",
        title: "unknown choreography in a call, or a function called as one",
    },
    Code {
        code: "E0106",
        title: "a struct type or choreography used as a value",
    },
    Code {
        code: "E0107",
        title: "unknown struct in a literal or pattern",
    },
    Code {
        code: "E0108",
        title: "unknown attribute, or `#[builtin]` outside the standard library",
    },
    Code {
        code: "E0109",
        title: "a function without a body",
    },
    Code {
        code: "E0110",
        title: "a field, parameter or generic parameter declared twice",
    },
    Code {
        code: "E0111",
        title: "a struct or enum named like a built-in type (`Int`, `Float`, `Bool`, `String`, `List`, `Map`)",
    },
    Code {
        code: "E0200",
        title: "unknown role",
    },
    Code {
        code: "E0201",
        title: "a role declared twice",
    },
    Code {
        code: "E0202",
        title: "a variable used at a role that does not have it",
    },
    Code {
        code: "E0203",
        title: "a role sends a message to itself",
    },
    Code {
        code: "E0204",
        title: "a receiver listed twice",
    },
    Code {
        code: "E0205",
        title: "a role sends a selection to itself",
    },
    Code {
        code: "E0206",
        title: "wrong number of roles in a call",
    },
    Code {
        code: "E0207",
        title: "a role passed twice in a call",
    },
    Code {
        code: "E0208",
        title: "an argument at the wrong role",
    },
    Code {
        code: "E0209",
        title: "a call's result bound at the wrong role",
    },
    Code {
        code: "E0210",
        title: "`return` at the wrong role",
    },
    Code {
        code: "E0211",
        title: "`main` with value parameters or a result",
    },
    Code {
        code: "E0212",
        title: "no `main` choreography (entry check)",
    },
    Code {
        code: "E0213",
        title: "wrong number of value arguments in a call",
    },
    Code {
        code: "E0214",
        title: "`return` in a choreography without a result",
    },
    Code {
        code: "E0215",
        title: "`return` not last in its block",
    },
    Code {
        code: "E0216",
        title: "a path of a choreography with a result does not return",
    },
    Code {
        code: "E0217",
        title: "binding the result of a choreography that has none",
    },
    Code {
        code: "E0218",
        title: "`return` inside a conditional that more statements follow (not in tail position)",
    },
    Code {
        code: "E0300",
        title: "mismatched types",
    },
    Code {
        code: "E0301",
        title: "wrong number of type arguments",
    },
    Code {
        code: "E0302",
        title: "wrong number of arguments in a function call",
    },
    Code {
        code: "E0303",
        title: "calling a value that is not a function",
    },
    Code {
        code: "E0304",
        title: "operator applied to unsuitable types",
    },
    Code {
        code: "E0305",
        title: "type annotations needed (field or tuple access on an unknown type)",
    },
    Code {
        code: "E0306",
        title: "no such field / the type has no fields",
    },
    Code {
        code: "E0307",
        title: "tuple index out of range / not a tuple",
    },
    Code {
        code: "E0308",
        title: "missing fields in a struct literal",
    },
    Code {
        code: "E0309",
        title: "unknown field in a struct literal",
    },
    Code {
        code: "E0310",
        title: "a field given twice in a struct literal",
    },
    Code {
        code: "E0311",
        title: "a function value in a message",
    },
    Code {
        code: "E0312",
        title: "comparing function values",
    },
    Code {
        code: "E0313",
        title: "`return` inside a choreography's expression",
    },
    Code {
        code: "E0314",
        title: "a located expression `R.(…)` outside the arguments of a choreography call",
    },
    Code {
        code: "E0400",
        title: "non-exhaustive `match`",
    },
    Code {
        code: "E0401",
        title: "refutable pattern in `let`",
    },
    Code {
        code: "E0403",
        title: "wrong number of fields in a variant pattern",
    },
    Code {
        code: "E0404",
        title: "a name bound twice in one pattern",
    },
    Code {
        code: "E0405",
        title: "struct pattern: unknown, repeated or unmentioned field (without `..`)",
    },
    Code {
        code: "E0501",
        title: "knowledge of choice: a role that behaves differently in the branches is not told which branch was taken",
    },
    Code {
        code: "E0600",
        title: "an `extern fn` whose parameter or result type cannot cross between chor and Rust",
    },
    Code {
        code: "E0601",
        title: "an `extern fn` in a program that is not a project with an `[extern] crate`",
    },
    Code {
        code: "E0602",
        title: "the project's extern crate does not build (cargo's first error)",
    },
    Code {
        code: "E0603",
        title: "an `extern fn` that the extern crate does not define",
    },
    Code {
        code: "E0604",
        title: "an `extern fn` whose Rust function has other parameter or result types",
    },
    Code {
        code: "E0730",
        title: "a choreography inside a message: choreographies do not travel",
    },
    Code {
        code: "E0731",
        title: "a generic choreography instantiated with a type that cannot travel in a message",
    },
    Code {
        code: "E0732",
        title: "a call of a parameter that is not choreography-typed",
    },
    Code {
        code: "E0733",
        title: "a choreography argument with another number of roles, value arguments or results than its parameter's type",
    },
    Code {
        code: "E0734",
        title: "a choreography argument whose parameter or result is held by a role in another place than its parameter's type says",
    },
    Code {
        code: "E0735",
        title: "a choreography argument whose parameter or result types differ from its parameter's type",
    },
    Code {
        code: "E0736",
        title: "a value where a choreography is expected, or an argument that is neither `R.e` nor a choreography",
    },
    Code {
        code: "E0737",
        title: "polymorphic recursion: a generic or higher-order choreography that would need infinitely many instances",
    },
    Code {
        code: "E0738",
        title: "a malformed choreography type (not `chor(…)`, or taking a choreography itself)",
    },
    Code {
        code: "E0750",
        title: "a selection's label is not a name (`R -> S[Label];`, `R -> Ws[e][Label];`)",
    },
    Code {
        code: "E0751",
        title: "a member index (`Ws[e]`, `index(…)`) that not every role can compute",
    },
    Code {
        code: "E0752",
        title: "a family name that is not a family of the choreography (`Ws[e]`, `for W in Ws`)",
    },
    Code {
        code: "E0753",
        title: "a member index out of range for the family's size",
    },
    Code {
        code: "E0754",
        title: "a whole family where one role is needed (selecting, receiving a gather, binding a result)",
    },
    Code {
        code: "E0755",
        title: "a decision (`if`/`match`) by a whole family",
    },
    Code {
        code: "E0756",
        title: "a gather from a family with more than one receiver",
    },
    Code {
        code: "E0757",
        title: "a family passed where one role is expected, or one role where a family is expected",
    },
    Code {
        code: "E0758",
        title: "a family size out of range, `--size` naming no family of `main`, or an expansion too large",
    },
    Code {
        code: "E0759",
        title: "a call's result bound at one role where the callee returns one value per member, or the reverse",
    },
    Code {
        code: "E0760",
        title: "brackets (`xs[0]`, `Ws[e]`) where a value is expected: a member is a role, and there is no indexing",
    },
    Code {
        code: "E0761",
        title: "no longer reported: a conditional expression may now bind a value at a whole family",
    },
    Code {
        code: "E0700",
        title: "a role listed twice in a group `(A, B)`",
    },
    Code {
        code: "E0770",
        title: "a group of one role `(A)`: a group lists several roles, or one family `(Ws)`",
    },
    Code {
        code: "E0701",
        title: "a value used where an agreed one is needed is not agreed by every role of the group",
    },
    Code {
        code: "E0702",
        title: "an effect (I/O, an extern, or a function that calls one) where an agreed value is computed",
    },
    Code {
        code: "E0703",
        title: "a role that holds two results of one choreography",
    },
    Code {
        code: "E0704",
        title: "a `return` or a binding whose results do not match the declared results (their number or roles)",
    },
    Code {
        code: "E0705",
        title: "an agreed parameter or result given a value at one role, or a value at one role given a group",
    },
    Code {
        code: "E0710",
        title: "a branch of a conditional expression that yields no value (it must end with `R.e` or `(R.e, S.e)` without `;`)",
    },
    Code {
        code: "E0711",
        title: "a branch of a conditional expression that yields another number of values than the conditional binds",
    },
    Code {
        code: "E0712",
        title: "a branch of a conditional expression that yields a value at other roles than its target's",
    },
    Code {
        code: "E0713",
        title: "branches of a conditional expression that yield values of different types for one target",
    },
    Code {
        code: "E0714",
        title: "`return` inside a branch of a conditional expression",
    },
    Code {
        code: "E0715",
        title: "a conditional expression `if` without `else`",
    },
    Code {
        code: "E0900",
        title: "a role stopped at run time (a fault), reported against the source line",
    },
    Code {
        code: "E0950",
        title: "`chor fmt` refused to write a result that would change the file's meaning (a bug in the formatter)",
    },
    Code {
        code: "W0001",
        title: "naming convention",
    },
    Code {
        code: "W0002",
        title: "unreachable `match` arm",
    },
    Code {
        code: "W0003",
        title: "a variable that nothing reads (prefix it with `_` if that is intended)",
    },
    Code {
        code: "W0004",
        title: "a role, or a whole family, that takes no part in its choreography",
    },
];

/// The title of a code, if it is registered.
pub fn title(code: &str) -> Option<&'static str> {
    CODES.iter().find(|c| c.code == code).map(|c| c.title)
}

/// The markdown table of every code (what docs/types.md shows under "Diagnostic codes").
pub fn markdown_table() -> String {
    let mut s = String::from("| code | meaning |\n|---|---|\n");
    for c in CODES {
        s.push_str(&format!(
            "| {} | {} |\n",
            c.code,
            c.title.replace('|', "\\|")
        ));
    }
    s
}
