//! Hovers and references: what the language server shows and where "go to definition" leads.

use chor_check::{check_program, program};

const SRC: &str = r#"struct Quote { title: String, price: Int }

fn price_of(_title: String) -> Int { 87 }

choreography main(Buyer, Seller) {
    let Buyer.title = "TAPL";
    Buyer.title -> Seller.title;
    let Seller.quote = Quote { title: title, price: price_of(title) };
    Seller.quote.price -> Buyer.price;
    Buyer.print(price);
}
"#;

fn at(src: &str, needle: &str, nth: usize) -> u32 {
    let mut from = 0;
    for _ in 0..nth {
        from += src[from..].find(needle).expect("needle") + 1;
    }
    (from + src[from..].find(needle).expect("needle")) as u32
}

fn hover(c: &chor_check::Checked, start: u32) -> Vec<String> {
    c.hovers
        .iter()
        .filter(|(s, _)| s.start == start && s.file.0 == 0)
        .map(|(_, h)| h.to_string())
        .collect()
}

#[test]
fn hovers_show_type_and_role() {
    let p = program::from_source("t.chor", SRC, Vec::new());
    let c = check_program(&p);
    assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
    let quote = at(SRC, "quote", 0);
    assert_eq!(hover(&c, quote), vec!["quote: Quote @ Seller".to_owned()]);
    let price_use = at(SRC, "price)", 0);
    assert_eq!(hover(&c, price_use), vec!["price: Int @ Buyer".to_owned()]);
    let seller_title = at(SRC, "title", 6);
    assert!(
        hover(&c, seller_title).contains(&"title: String @ Seller".to_owned()),
        "{:?}",
        c.hovers
    );
    let call = at(SRC, "price_of(title)", 0);
    assert_eq!(
        hover(&c, call),
        vec!["fn price_of(String) -> Int".to_owned()]
    );
}

#[test]
fn references_lead_to_definitions_per_role() {
    let p = program::from_source("t.chor", SRC, Vec::new());
    let c = check_program(&p);
    let def_of = |use_start: u32| -> Option<u32> {
        c.references
            .iter()
            .find(|(u, _)| u.start == use_start)
            .map(|(_, d)| d.start)
    };
    // `title` in the struct literal is Seller's title (bound by the communication), not Buyer's.
    let seller_title_def = at(SRC, "Seller.title", 0) + 7;
    let use_in_literal = at(SRC, "title: title", 0) + 7;
    assert_eq!(def_of(use_in_literal), Some(seller_title_def));
    // The struct name leads to the struct, the function to the function, roles to the header.
    assert_eq!(def_of(at(SRC, "Quote {", 1)), Some(at(SRC, "Quote", 0)));
    assert_eq!(
        def_of(at(SRC, "price_of(title)", 0)),
        Some(at(SRC, "price_of", 0))
    );
    assert_eq!(def_of(at(SRC, "Buyer.title", 0)), Some(at(SRC, "Buyer", 0)));
    // A field access leads to the field declaration.
    assert_eq!(def_of(at(SRC, "price ->", 0)), Some(at(SRC, "price", 0)));
}

#[test]
fn generic_types_are_inferred() {
    let src =
        "choreography main(A) {\n    let A.xs = list::map([1, 2], Some);\n    A.print(xs);\n}\n";
    let p = program::from_source("t.chor", src, Vec::new());
    let c = check_program(&p);
    assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
    assert_eq!(
        hover(&c, at(src, "xs", 0)),
        vec!["xs: List<Option<Int>> @ A".to_owned()]
    );
}

#[test]
fn missing_main_is_reported_only_by_check_entry() {
    let p = program::from_source("t.chor", "fn f() -> Int { 1 }\n", Vec::new());
    assert!(check_program(&p).diagnostics.is_empty());
    let d = chor_check::check_entry(&p).expect("missing main");
    assert_eq!(d.code, "E0212");
    let p = program::from_source("t.chor", "choreography main(A) { }\n", Vec::new());
    assert!(chor_check::check_entry(&p).is_none());
}
