//! Feature tests at the query layer: each fixture is a .chor text with a cursor marker `$0`
//! (and optionally several files, each introduced by a line `//- /name.chor`); the features
//! are called directly on the driver's database and what a person reads is snapshotted.

use chor_diagnostics::{FileId, Span, line_col};
use chor_driver::db::Database;
use chor_lsp::Analysis;
use chor_lsp::features::{self, CompletionKind};
use std::fmt::Write as _;
use std::path::Path;

const DIR: &str = "/chor-lsp-fixture";

struct Fixture {
    db: Database,
    file: FileId,
    offset: u32,
}

/// Load a fixture: the last file is the root; `$0` marks the cursor (default: 0).
fn fixture(src: &str) -> Fixture {
    let mut files: Vec<(String, String)> = Vec::new();
    if src.starts_with("//- ") {
        for chunk in src.split("//- ").filter(|c| !c.is_empty()) {
            let (name, text) = chunk.split_once('\n').expect("file header");
            files.push((name.trim().to_owned(), text.to_owned()));
        }
    } else {
        files.push(("/main.chor".to_owned(), src.to_owned()));
    }
    let mut db = Database::default();
    let mut cursor = None;
    let mut last = FileId(0);
    for (name, text) in files {
        let path = format!("{DIR}{name}");
        let (text, off) = match text.find("$0") {
            Some(i) => (text.replacen("$0", "", 1), Some(i as u32)),
            None => (text, None),
        };
        let id = Analysis::set_text(&mut db, Path::new(&path), text);
        if let Some(o) = off {
            cursor = Some((id, o));
        }
        last = id;
    }
    let (file, offset) = cursor.unwrap_or((last, 0));
    Fixture {
        db,
        file: if cursor.is_some() { file } else { last },
        offset,
    }
}

impl Fixture {
    fn text(&self, file: FileId) -> String {
        self.db
            .text(file)
            .map(|t| t.to_string())
            .unwrap_or_default()
    }
    /// `name.chor:line:col `source text``
    fn span(&self, s: Span) -> String {
        let text = self.text(s.file);
        let (l, c) = line_col(&text, s.start);
        let name = self
            .db
            .path(s.file)
            .map(|p| p.display().to_string().replace(DIR, ""))
            .unwrap_or_else(|| "<stdlib>".to_owned());
        let snippet = text.get(s.start as usize..s.end as usize).unwrap_or("?");
        format!("{name}:{l}:{c} `{snippet}`")
    }
}

const BOOKSELLER: &str = r#"struct Quote { title: String, price: Int }

/// The list price of a book.
fn price_of(title: String) -> Int {
    if title == "TAPL" { 87 } else { 120 }
}

choreography main(Buyer, Seller) {
    let Buyer.title = "TAPL";
    let Buyer.budget = 100;
    Buyer.title -> Seller.title;
    let Seller.quote = Quote { title: title, price: price_of(title) };
    Seller.quote.price -> Buyer.price;
    if Buyer.price <= budget {
        Buyer -> Seller[Buy];
        Buyer.print("buying for " ++ to_string(price));
        Seller.print("sold " ++ quote.title);
    } else {
        Buyer -> Seller[Quit];
        Buyer.print("too expensive");
    }
}
"#;

/// BOOKSELLER with the cursor put before the `nth` occurrence of `needle`, plus `shift`.
fn at(src: &str, needle: &str, nth: usize, shift: usize) -> String {
    let mut from = 0;
    for _ in 0..nth {
        from += src[from..].find(needle).expect("needle") + 1;
    }
    let i = from + src[from..].find(needle).expect("needle") + shift;
    format!("{}$0{}", &src[..i], &src[i..])
}

// ---------------------------------------------------------------- hover

fn hover(src: &str) -> String {
    let f = fixture(src);
    match features::hover(&f.db, f.file, f.offset) {
        Some(h) => {
            let mut s = format!("{}\n{}", f.span(h.span), h.signature);
            if let Some(d) = h.doc {
                let _ = write!(s, "\n---\n{d}");
            }
            s
        }
        None => "no hover".to_owned(),
    }
}

#[test]
fn hover_shows_type_and_role() {
    assert_eq!(
        hover(&at(BOOKSELLER, "quote.title", 0, 2)),
        "/main.chor:17:33 `quote`\nquote: Quote @ Seller"
    );
    assert_eq!(
        hover(&at(BOOKSELLER, "price ->", 0, 0)),
        "/main.chor:13:18 `price`\nprice: Int"
    );
    assert_eq!(
        hover(&at(BOOKSELLER, "Buyer.price;", 0, 7)),
        "/main.chor:13:33 `price`\nprice: Int @ Buyer"
    );
}

/// A program with agreed values: a parameter, a received group value, an agreed binding and a
/// group decision.
const AGREED: &str = "struct Key { id: Int }

choreography Lookup(A, B)(k: Key@(A, B)) -> Bool@(A, B) {
    return (A, B).(k.id > 1);
}

choreography main(A, B, C) {
    A.Key { id: 2 } -> (A, B).key;
    let (A, B).ok = Lookup(A, B)((A, B).key);
    if (B, A).ok {
        C.print(\"same\");
    }
}
";

#[test]
fn hover_shows_the_group_of_an_agreed_value() {
    assert_eq!(
        hover(&at(AGREED, "k.id", 0, 0)),
        "/main.chor:4:20 `k`\nk: Key @ (A, B)"
    );
    assert_eq!(
        hover(&at(AGREED, "key;", 0, 0)),
        "/main.chor:8:31 `key`\nkey: Key @ (A, B)"
    );
    assert_eq!(
        hover(&at(AGREED, "ok {", 0, 0)),
        "/main.chor:10:15 `ok`\nok: Bool @ (A, B)"
    );
    // An agreed argument of a call.
    assert_eq!(
        hover(&at(AGREED, "key);", 0, 0)),
        "/main.chor:9:41 `key`\nkey: Key @ (A, B)"
    );
}

/// Conditional expressions: values bound at one role, at two, and agreed by a group.
const COND: &str = "choreography main(A, B, C) {
    let A.ok = true;
    let B.y = if A.ok { A -> B[Yes]; B.(1) } else { A -> B[No]; B.(2) };
    let (B.x, C.s) = match A.ok { true => { A -> B, C[T]; (B.(y), C.\"t\") }, false => { A -> B, C[F]; (B.(0), C.\"f\") } };
    A.3 -> (A, C).n;
    let (A, C).z = if (A, C).n > 1 { (A, C).(n) } else { (A, C).(0) };
    B.print(y + x);
    C.print(s ++ to_string(z));
    A.print(z);
}
";

#[test]
fn hover_on_a_conditional_expression_target_shows_its_located_type() {
    assert_eq!(
        hover(&at(COND, "y = if", 0, 0)),
        "/main.chor:3:11 `y`\ny: Int @ B"
    );
    assert_eq!(
        hover(&at(COND, "s) = match", 0, 0)),
        "/main.chor:4:17 `s`\ns: String @ C"
    );
    assert_eq!(
        hover(&at(COND, "z = if", 0, 0)),
        "/main.chor:6:16 `z`\nz: Int @ (A, C)"
    );
    // A read after the conditional.
    assert_eq!(
        hover(&at(COND, "y + x", 0, 0)),
        "/main.chor:7:13 `y`\ny: Int @ B"
    );
}

#[test]
fn hover_on_items_shows_signature_and_doc() {
    insta::assert_snapshot!(hover(&at(BOOKSELLER, "price_of(title)", 0, 3)), @r"
    /main.chor:12:53 `price_of`
    fn price_of(String) -> Int
    ---
    The list price of a book.
    ");
    insta::assert_snapshot!(hover(&at(BOOKSELLER, "Quote {", 1, 1)), @r"
    /main.chor:12:24 `Quote`
    struct Quote { title: String, price: Int }
    ");
    insta::assert_snapshot!(hover(&at(BOOKSELLER, "Seller)", 0, 0)), @r"
    /main.chor:8:26 `Seller`
    role Seller of main
    ");
}

#[test]
fn hover_on_roles_inside_statements() {
    // The sender, the receiver, a selection and a conditional's deciding role.
    for (needle, nth) in [
        ("Seller.quote", 0),
        ("Buyer.price", 0),
        ("Buyer ->", 0),
        ("Seller.title;", 0),
        ("Buyer.price <=", 0),
    ] {
        let h = hover(&at(BOOKSELLER, needle, nth, 0));
        let role = &needle[..needle.find(['.', ' ']).expect("role")];
        assert!(
            h.ends_with(&format!("`{role}`\nrole {role} of main")),
            "{needle}: {h}"
        );
    }
}

// ---------------------------------------------------------------- navigation

fn definition(src: &str) -> String {
    let f = fixture(src);
    features::definition(&f.db, f.file, f.offset).map_or("none".to_owned(), |s| f.span(s))
}

#[test]
fn definition_of_variables_is_per_role() {
    // Seller's `title` (in the struct literal) is the one received, not Buyer's.
    assert_eq!(
        definition(&at(BOOKSELLER, "title: title", 0, 8)),
        "/main.chor:11:27 `title`"
    );
    assert_eq!(
        definition(&at(BOOKSELLER, "Buyer.title ->", 0, 7)),
        "/main.chor:9:15 `title`"
    );
    assert_eq!(
        definition(&at(BOOKSELLER, "budget {", 0, 1)),
        "/main.chor:10:15 `budget`"
    );
}

#[test]
fn definition_of_items_and_roles() {
    assert_eq!(
        definition(&at(BOOKSELLER, "price_of(title)", 0, 0)),
        "/main.chor:4:4 `price_of`"
    );
    assert_eq!(
        definition(&at(BOOKSELLER, "Seller[Buy]", 0, 2)),
        "/main.chor:8:26 `Seller`"
    );
    assert_eq!(
        definition(&at(BOOKSELLER, "quote.title", 0, 7)),
        "/main.chor:1:16 `title`"
    );
}

const TWO_FILES: &str = r#"//- /lib.chor
/// Rounds down to a multiple of ten.
fn round(x: Int) -> Int { x / 10 * 10 }
struct Offer { amount: Int }
//- /main.chor
import "lib.chor";
choreography main(A, B) {
    let A.o = Offer { amount: round(17) };
    A.o.amount -> B.n;
    B.print(n);
}
"#;

#[test]
fn definition_and_references_cross_files() {
    let src = TWO_FILES.replace("round(17)", "ro$0und(17)");
    assert_eq!(definition(&src), "/lib.chor:2:4 `round`");
    let src = TWO_FILES.replace("A.o.amount", "A.o.amo$0unt");
    assert_eq!(definition(&src), "/lib.chor:3:16 `amount`");
    let f = fixture(&src);
    let refs: Vec<String> = features::references(&f.db, f.file, f.offset, true, &[])
        .into_iter()
        .map(|s| f.span(s))
        .collect();
    insta::assert_snapshot!(refs.join("\n"), @r"
    /lib.chor:3:16 `amount`
    /main.chor:3:23 `amount`
    /main.chor:4:9 `amount`
    ");
}

fn references(src: &str) -> String {
    let f = fixture(src);
    features::references(&f.db, f.file, f.offset, true, &[])
        .into_iter()
        .map(|s| f.span(s))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn references_of_a_role_and_of_a_variable() {
    insta::assert_snapshot!(references(&at(BOOKSELLER, "Seller)", 0, 0)), @r"
    /main.chor:8:26 `Seller`
    /main.chor:11:20 `Seller`
    /main.chor:12:9 `Seller`
    /main.chor:13:5 `Seller`
    /main.chor:15:18 `Seller`
    /main.chor:17:9 `Seller`
    /main.chor:19:18 `Seller`
    ");
    // Buyer's `price` only: not the field `price` nor Seller's variables.
    insta::assert_snapshot!(references(&at(BOOKSELLER, "Buyer.price;", 0, 7)), @r"
    /main.chor:13:33 `price`
    /main.chor:14:14 `price`
    /main.chor:16:48 `price`
    ");
}

#[test]
fn references_of_a_selection_label() {
    let src = "choreography main(A, B) {\n    if A.(1 > 0) {\n        A -> B[Go];\n    } else {\n        A -> B[Stop];\n    }\n    if A.(2 > 0) {\n        A -> B[G$0o];\n    } else {\n        A -> B[Stop];\n    }\n}\n";
    // Both `Go` selections, not `Stop`.
    assert_eq!(
        references(src),
        "/main.chor:3:16 `Go`\n/main.chor:8:16 `Go`"
    );
}

fn rename(src: &str, new_name: &str) -> String {
    let f = fixture(src);
    match features::rename(&f.db, f.file, f.offset, new_name, &[]) {
        Ok(edits) => apply(&f, &edits),
        Err(e) => format!("error: {e}"),
    }
}

/// Apply edits to their files; show each changed file.
fn apply(f: &Fixture, edits: &[(Span, String)]) -> String {
    let mut files: Vec<FileId> = edits.iter().map(|(s, _)| s.file).collect();
    files.sort();
    files.dedup();
    let mut out = String::new();
    for file in files {
        let mut text = f.text(file);
        let mut mine: Vec<&(Span, String)> = edits.iter().filter(|(s, _)| s.file == file).collect();
        mine.sort_by_key(|(s, _)| std::cmp::Reverse((s.start, s.end)));
        for (s, r) in mine {
            text.replace_range(s.start as usize..s.end as usize, r);
        }
        if files_len(edits) > 1 {
            let _ = writeln!(
                out,
                "//- {}",
                f.span(Span::new(file, 0, 0))
                    .split(':')
                    .next()
                    .unwrap_or("")
            );
        }
        out.push_str(&text);
    }
    out
}

fn files_len(edits: &[(Span, String)]) -> usize {
    let mut files: Vec<FileId> = edits.iter().map(|(s, _)| s.file).collect();
    files.sort();
    files.dedup();
    files.len()
}

#[test]
fn rename_variable_of_one_role() {
    // Renaming Seller's `title` leaves Buyer's `title` alone.
    let out = rename(&at(BOOKSELLER, "price_of(title)", 0, 10), "wanted");
    assert!(out.contains("Buyer.title -> Seller.wanted;"), "{out}");
    assert!(
        out.contains("Quote { title: wanted, price: price_of(wanted) }"),
        "{out}"
    );
    assert!(out.contains("let Buyer.title = \"TAPL\";"), "{out}");
}

#[test]
fn definition_and_rename_of_a_conditional_expression_target() {
    // A read after the conditional goes to the target; renaming it renames the target and
    // every read of it, in the branches of a later conditional too.
    assert_eq!(definition(&at(COND, "y + x", 0, 0)), "/main.chor:3:11 `y`");
    let out = rename(&at(COND, "y + x", 0, 0), "quote");
    assert!(out.contains("let B.quote = if A.ok"), "{out}");
    assert!(out.contains("B.print(quote + x);"), "{out}");
    assert!(out.contains("(B.(quote), C."), "{out}");
}

#[test]
fn rename_role_function_type_and_choreography() {
    let out = rename(&at(BOOKSELLER, "Seller)", 0, 0), "Shop");
    assert!(!out.contains("Seller"), "{out}");
    assert!(out.contains("Buyer -> Shop[Buy];"), "{out}");
    let out = rename(&at(BOOKSELLER, "price_of", 0, 0), "list_price");
    assert_eq!(out.matches("list_price").count(), 2, "{out}");
    let out = rename(&at(BOOKSELLER, "Quote {", 1, 0), "Offer");
    assert_eq!(out.matches("Offer").count(), 2, "{out}");
    let src = "choreography Ask(A, B)(x: Int@A) { A.x -> B.y; }\nchoreography main(P, Q) {\n    let P.v = 1;\n    As$0k(P, Q)(P.v);\n}\n";
    insta::assert_snapshot!(rename(src, "Query"), @r"
    choreography Query(A, B)(x: Int@A) { A.x -> B.y; }
    choreography main(P, Q) {
        let P.v = 1;
        Query(P, Q)(P.v);
    }
    ");
}

#[test]
fn rename_across_files_and_field_shorthand() {
    let src = TWO_FILES.replace("A.o.amount", "A.o.amo$0unt");
    insta::assert_snapshot!(rename(&src, "value"), @r#"
    //- /lib.chor
    /// Rounds down to a multiple of ten.
    fn round(x: Int) -> Int { x / 10 * 10 }
    struct Offer { value: Int }
    //- /main.chor
    import "lib.chor";
    choreography main(A, B) {
        let A.o = Offer { value: round(17) };
        A.o.value -> B.n;
        B.print(n);
    }
    "#);
    let src = "struct P { x: Int }\nfn f(x: Int) -> P { P { x } }\nfn g(p: P) -> Int { let P { x } = p; x$0 }\n";
    insta::assert_snapshot!(rename(src, "y"), @r"
    struct P { x: Int }
    fn f(x: Int) -> P { P { x } }
    fn g(p: P) -> Int { let P { x: y } = p; y }
    ");
    let src = "struct P { x$0: Int }\nfn f(x: Int) -> P { P { x } }\n";
    insta::assert_snapshot!(rename(src, "y"), @r"
    struct P { y: Int }
    fn f(x: Int) -> P { P { y: x } }
    ");
}

#[test]
fn rename_refuses_bad_names_and_the_standard_library() {
    assert_eq!(
        rename(&at(BOOKSELLER, "budget", 0, 0), "if"),
        "error: `if` is not a valid name"
    );
    assert_eq!(
        rename(&at(BOOKSELLER, "to_string", 0, 0), "show"),
        "error: this name is defined in the standard library"
    );
}

#[test]
fn rename_refuses_a_name_already_bound_at_that_role() {
    // Buyer binds `budget` after `title`: renamed, the send `Buyer.title -> …` would find the
    // later binding.
    let out = rename(&at(BOOKSELLER, "title = ", 0, 0), "budget");
    assert!(
        out.starts_with("error: `budget` is already bound there"),
        "{out}"
    );
    // Seller's `title` renamed to `quote`: `quote.title` would still find the struct, but
    // `price_of(title)` is inside the binding of `quote`, so no capture; it is allowed.
    let out = rename(&at(BOOKSELLER, "price_of(title)", 0, 10), "quote");
    assert!(out.contains("Buyer.title -> Seller.quote;"), "{out}");
    // A local function: renaming a parameter to another parameter's name.
    let src = "fn f(a: Int, b: Int) -> Int { a$0 + b }\nchoreography main(A, B) { let A.x = f(1, 2); A.x -> B.x; }\n";
    let out = rename(src, "b");
    assert!(
        out.starts_with("error: `b` is already bound there"),
        "{out}"
    );
    // Buyer's `price` to a name Seller has (`quote`): different roles, no conflict.
    let out = rename(&at(BOOKSELLER, "Buyer.price;", 0, 7), "quote");
    assert!(out.contains("Seller.quote.price -> Buyer.quote;"), "{out}");
    assert!(out.contains("to_string(quote)"), "{out}");
    // Shorthand fields keep their meaning: `Quote { title }`-style rewrites are accepted.
    let shorthand = "struct P { x: Int }\nchoreography main(A, B) {\n    let A.x$0 = 1;\n    let A.p = P { x };\n    A.p -> B.p;\n}\n";
    let out = rename(shorthand, "y");
    assert!(out.contains("P { x: y }"), "{out}");
}

// ---------------------------------------------------------------- symbols

#[test]
fn document_symbols_list_items_and_roles() {
    let f = fixture(BOOKSELLER);
    let mut out = String::new();
    fn show(out: &mut String, f: &Fixture, s: &features::Symbol, depth: usize) {
        let _ = writeln!(
            out,
            "{}{:?} {} {}{}",
            "  ".repeat(depth),
            s.kind,
            s.name,
            f.span(s.selection).split(' ').next().unwrap_or(""),
            s.detail
                .as_ref()
                .map(|d| format!("  ({d})"))
                .unwrap_or_default()
        );
        for c in &s.children {
            show(out, f, c, depth + 1);
        }
    }
    for s in features::document_symbols(&f.db, f.file) {
        show(&mut out, &f, &s, 0);
    }
    insta::assert_snapshot!(out, @r"
    Struct Quote /main.chor:1:8
      Field title /main.chor:1:16  (String)
      Field price /main.chor:1:31  (Int)
    Function price_of /main.chor:4:4  (fn price_of(title: String) -> Int)
    Choreography main /main.chor:8:14  (choreography main(Buyer, Seller))
      Role Buyer /main.chor:8:19  (role of main)
      Role Seller /main.chor:8:26  (role of main)
    ");
}

// ---------------------------------------------------------------- completion

fn complete(src: &str) -> Vec<(CompletionKind, String, String)> {
    let f = fixture(src);
    features::completions(&f.db, f.file, f.offset)
        .into_iter()
        .map(|c| (c.kind, c.label, c.detail.unwrap_or_default()))
        .collect()
}

fn labels(src: &str, kind: CompletionKind) -> Vec<String> {
    complete(src)
        .into_iter()
        .filter(|(k, _, _)| *k == kind)
        .map(|(_, l, _)| l)
        .collect()
}

#[test]
fn completes_roles_in_statement_position() {
    let src = BOOKSELLER.replace("    Seller.quote.price", "    $0\n    Seller.quote.price");
    let all = complete(&src);
    let roles: Vec<&str> = all
        .iter()
        .filter(|(k, _, _)| *k == CompletionKind::Role)
        .map(|(_, l, _)| l.as_str())
        .collect();
    assert_eq!(roles, ["Buyer", "Seller"]);
    assert!(all.iter().any(|(_, l, _)| l == "let"));
    assert!(
        all.iter()
            .any(|(k, l, _)| *k == CompletionKind::Choreography && l == "main")
    );
    assert!(!all.iter().any(|(k, _, _)| *k == CompletionKind::Variable));
    // Receivers of a communication or a selection are roles.
    for typed in [
        "Seller.quote.price -> $0",
        "Buyer -> Se$0",
        "Seller.quote.price -> Buyer.price, $0",
    ] {
        let src = BOOKSELLER.replace(
            "    Seller.quote.price -> Buyer.price;",
            &format!("    {typed}"),
        );
        assert_eq!(
            complete(&src)
                .iter()
                .map(|(_, l, _)| l.as_str())
                .collect::<Vec<_>>(),
            ["Buyer", "Seller"],
            "{typed}"
        );
    }
}

#[test]
fn completes_the_variables_a_role_holds_at_the_cursor() {
    // After the communication, Seller holds `title`; `quote` is bound later.
    let src = BOOKSELLER.replace(
        "    let Seller.quote",
        "    Seller.$0\n    let Seller.quote",
    );
    let vars: Vec<(CompletionKind, String, String)> = complete(&src)
        .into_iter()
        .filter(|(k, _, _)| *k == CompletionKind::Variable)
        .collect();
    assert_eq!(
        vars,
        [(
            CompletionKind::Variable,
            "title".to_owned(),
            "String".to_owned()
        )]
    );
    // Buyer holds `budget`, `price` and `title` inside the branch.
    let src = BOOKSELLER.replace("Buyer.print(\"too", "Buyer.print(b$0\"too");
    assert_eq!(
        labels(&src, CompletionKind::Variable),
        ["budget", "price", "title"]
    );
    // Functions and variants are offered too.
    let all = labels(&src, CompletionKind::Function);
    assert!(all.contains(&"to_string".to_owned()), "{all:?}");
    assert!(labels(&src, CompletionKind::Variant).contains(&"Some".to_owned()));
    assert!(labels(&src, CompletionKind::Module).contains(&"list".to_owned()));
}

#[test]
fn completes_the_targets_of_a_conditional_expression_after_it() {
    // After the conditionals, B holds `y` and `x`, C holds `s` and `z` (agreed with A).
    let src = COND.replace("    B.print(y + x);", "    B.print($0);");
    assert_eq!(labels(&src, CompletionKind::Variable), ["x", "y"]);
    let src = COND.replace("    C.print(s ++ to_string(z));", "    C.print($0);");
    assert_eq!(labels(&src, CompletionKind::Variable), ["n", "s", "z"]);
}

#[test]
fn completes_module_functions_fields_and_labels() {
    let src = BOOKSELLER.replace("to_string(price)", "list::$0");
    let fns = labels(&src, CompletionKind::Function);
    for f in ["len", "map", "push", "range"] {
        assert!(fns.contains(&f.to_owned()), "{fns:?}");
    }
    // Fields after `quote.` in half-typed code.
    let src = BOOKSELLER.replace(
        "Seller.print(\"sold \" ++ quote.title);",
        "Seller.print(quote.$0",
    );
    insta::assert_debug_snapshot!(complete(&src), @r#"
    [
        (
            Field,
            "price",
            "Int",
        ),
        (
            Field,
            "title",
            "String",
        ),
    ]
    "#);
    let src = BOOKSELLER.replace("Seller.quote.price ->", "Seller.quote.$0 ->");
    assert_eq!(labels(&src, CompletionKind::Field), ["price", "title"]);
    let src = BOOKSELLER.replace("Buyer -> Seller[Quit];", "Buyer -> Seller[Q$0uit];");
    assert_eq!(labels(&src, CompletionKind::Label), ["Buy", "Quit"]);
}

#[test]
fn completes_locals_in_functions() {
    let src = "fn f(a: Int) -> Int {\n    let b = a + 1;\n    $0\n}\n";
    assert_eq!(labels(src, CompletionKind::Variable), ["a", "b"]);
    let src = "fn f(a: Int) -> Int {\n    let b = a + $0;\n    b\n}\n";
    assert_eq!(labels(src, CompletionKind::Variable), ["a"]);
}

// ---------------------------------------------------------------- semantic tokens, inlay hints

#[test]
fn semantic_tokens_give_each_role_its_colour() {
    let f = fixture(BOOKSELLER);
    let mut out = String::new();
    for t in features::semantic_tokens(&f.db, f.file) {
        let (l, c) = line_col(&f.text(f.file), t.span.start);
        let _ = writeln!(
            out,
            "{l}:{c} {:?}{}{} `{}`",
            t.kind,
            t.role.map(|r| format!(" role{r}")).unwrap_or_default(),
            if t.declaration { " decl" } else { "" },
            &f.text(f.file)[t.span.start as usize..t.span.end as usize]
        );
    }
    insta::assert_snapshot!(out);
}

#[test]
fn inlay_hints_show_inferred_types() {
    let f = fixture(BOOKSELLER);
    let mut text = f.text(f.file);
    let mut hints = features::inlay_hints(&f.db, f.file);
    hints.reverse();
    for h in hints {
        text.insert_str(h.offset as usize, &format!("«{}»", h.label));
    }
    insta::assert_snapshot!(text);
}

// ---------------------------------------------------------------- diagnostics, quick fix, lens

const KOC: &str = r#"choreography main(A, B) {
    let A.x = 1;
    if A.x > 0 {
        A.x -> B.y;
        B.print(y);
    } else {
        B.print("none");
    }
}
"#;

#[test]
fn diagnostics_are_those_of_chor_check() {
    let f = fixture(KOC);
    let diags = features::diagnostics(&f.db, f.file);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].code, "E0501");
    assert_eq!(diags, *f.db.diagnostics(f.file));
}

#[test]
fn quick_fix_inserts_the_missing_selection() {
    let f = fixture(&KOC.replace("if A.x", "if A$0.x"));
    let fixes = features::quick_fixes(&f.db, f.file, f.offset, f.offset);
    assert_eq!(fixes.len(), 1);
    assert_eq!(fixes[0].title, "insert selections telling B the branch");
    let fixed = apply(&f, &fixes[0].edits);
    insta::assert_snapshot!(fixed, @r#"
    choreography main(A, B) {
        let A.x = 1;
        if A.x > 0 {
            A -> B[Then];
            A.x -> B.y;
            B.print(y);
        } else {
            A -> B[Else];
            B.print("none");
        }
    }
    "#);
    let g = fixture(&fixed);
    assert!(features::diagnostics(&g.db, g.file).is_empty());
    // Away from the diagnostic there is nothing to fix.
    assert!(features::quick_fixes(&f.db, f.file, 0, 0).is_empty());
}

#[test]
fn lenses_project_each_role() {
    let f = fixture(BOOKSELLER);
    let lenses = features::lenses(&f.db, f.file);
    let titles: Vec<&str> = lenses.iter().map(|l| l.title.as_str()).collect();
    assert_eq!(titles, ["project for Buyer", "project for Seller"]);
    let text = features::projection(&f.db, f.file, "main", "Seller").expect("projects");
    insta::assert_snapshot!(text);
    let err = features::projection(&f.db, f.file, "main", "Bank").expect_err("no role Bank");
    assert_eq!(err, "`main` has no role `Bank`");
    let g = fixture(KOC);
    let err = features::projection(&g.db, g.file, "main", "B").expect_err("E0501");
    assert!(err.contains("E0501"), "{err}");
}

// ---------------------------------------------------------------- robustness

/// Every feature at many cursor positions of every prefix-cut of real programs: no panic.
#[test]
fn features_never_panic_on_half_typed_code() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut sources = vec![BOOKSELLER.to_owned(), KOC.to_owned()];
    for e in std::fs::read_dir(examples).expect("examples") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "chor") {
            sources.push(std::fs::read_to_string(p).expect("read"));
        }
    }
    let mut db = Database::default();
    for (i, src) in sources.iter().enumerate() {
        let len = src.len();
        for cut in (0..len).step_by((len / 12).max(1)) {
            if !src.is_char_boundary(cut) {
                continue;
            }
            // The program cut short, and with the cut-off part replaced by junk.
            for text in [
                src[..cut].to_owned(),
                format!("{}.(]{{\"{}", &src[..cut], &src[cut..]),
            ] {
                let path = format!("{DIR}/robust{i}.chor");
                let file = Analysis::set_text(&mut db, Path::new(&path), text.clone());
                let n = text.len() as u32;
                features::diagnostics(&db, file);
                features::document_symbols(&db, file);
                features::semantic_tokens(&db, file);
                features::inlay_hints(&db, file);
                features::lenses(&db, file);
                for off in (0..=n).step_by((n as usize / 7).max(1)).chain([n]) {
                    features::hover(&db, file, off);
                    features::definition(&db, file, off);
                    features::references(&db, file, off, true, &[]);
                    let _ = features::rename(&db, file, off, "renamed", &[]);
                    features::completions(&db, file, off);
                    features::quick_fixes(&db, file, off, off);
                }
            }
        }
    }
}

#[test]
fn workspace_files_are_read_bounded() {
    // The server reads the workspace's other files through `Analysis::read_source`: a device,
    // a FIFO or a directory is refused at once (never an endless read), a source file is read.
    let db = Database::default();
    let dir = std::env::temp_dir().join(format!("chor-lsp-bounded-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("folder.chor")).expect("tmp dir");
    let fifo = dir.join("pipe.chor");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    for (path, why) in [
        (Path::new("/dev/zero"), "character device"),
        (fifo.as_path(), "FIFO"),
        (dir.join("folder.chor").as_path(), "directory"),
    ] {
        let err = db.read_source(path).expect_err("refused");
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains(why), "{err}");
    }
    let ok = dir.join("ok.chor");
    std::fs::write(&ok, "choreography main(A) { A.print(1); }\n").expect("write");
    assert_eq!(
        db.read_source(&ok).as_deref(),
        Ok("choreography main(A) { A.print(1); }\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------- generic and higher-order

const HIGHER: &str = "choreography Relay<T>(A, B)(x: T@A) -> T@B {
    A.x -> B.y;
    return B.y;
}
choreography Double(P, Q)(n: Int@P) -> Int@Q {
    P.(n * 2) -> Q.m;
    return Q.m;
}
choreography Twice(A, B)(step: chor(X, Y)(Int@X) -> Int@Y, n: Int@A) -> Int@B {
    let B.once = step(A, B)(A.n);
    B.once -> A.back;
    let B.twice = step(A, B)(A.back);
    return B.twice;
}
choreography main(A, B) {
    let B.s = Relay(A, B)(A.\"hi\");
    B.print(s);
    let B.t = Twice(A, B)(Double, A.(3));
    B.print(to_string(t));
}
";

#[test]
fn hover_on_a_generic_call_shows_the_instantiated_signature() {
    insta::assert_snapshot!(hover(&at(HIGHER, "Relay(A, B)(A.", 0, 1)), @r"
    /main.chor:16:15 `Relay`
    choreography Relay<String>(A, B)(x: String@A) -> String@B
    ");
    insta::assert_snapshot!(hover(&at(HIGHER, "Twice(A, B)(Double", 0, 1)), @r"
    /main.chor:18:15 `Twice`
    choreography Twice(A, B)(step: chor(X, Y)(Int@X) -> Int@Y, n: Int@A) -> Int@B
    ");
    insta::assert_snapshot!(hover(&at(HIGHER, "Double, A.(3)", 0, 1)), @r"
    /main.chor:18:27 `Double`
    choreography Double(P, Q)(n: Int@P) -> Int@Q
    ");
    insta::assert_snapshot!(hover(&at(HIGHER, "step(A, B)(A.n)", 0, 1)), @r"
    /main.chor:10:18 `step`
    choreography step(X, Y)(Int@X) -> Int@Y
    ");
}

#[test]
fn completes_choreographies_in_argument_position() {
    let src = HIGHER.replace("Twice(A, B)(Double, A.(3))", "Twice(A, B)($0");
    let chors = labels(&src, CompletionKind::Choreography);
    assert!(chors.contains(&"Double".to_owned()), "{chors:?}");
    assert!(
        chors.iter().all(|c| !c.contains('<') && !c.contains('[')),
        "{chors:?}"
    );
    let roles = labels(&src, CompletionKind::Role);
    assert_eq!(roles, ["A", "B"]);
    // Inside a higher-order choreography its choreography parameters are offered too.
    let src = HIGHER.replace("step(A, B)(A.back)", "Twice(A, B)(A.back, $0");
    let chors = labels(&src, CompletionKind::Choreography);
    assert!(chors.contains(&"step".to_owned()), "{chors:?}");
}

#[test]
fn renaming_a_choreography_renames_it_as_an_argument() {
    let out = rename(&at(HIGHER, "Double(P, Q)", 0, 0), "Triple");
    assert_eq!(out.matches("Triple").count(), 2, "{out}");
    assert!(out.contains("Twice(A, B)(Triple, A.(3))"), "{out}");
    // A choreography-typed parameter renames at its calls.
    let out = rename(&at(HIGHER, "step:", 0, 0), "apply");
    assert!(out.contains("(apply: chor(X, Y)"), "{out}");
    assert_eq!(out.matches("apply(A, B)").count(), 2, "{out}");
}
