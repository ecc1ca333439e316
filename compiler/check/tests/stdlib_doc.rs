//! `docs/stdlib.md` is the page generated from the standard library's doc comments; it is
//! rewritten by running this test with `CHOR_UPDATE_DOCS=1`.
#![allow(clippy::disallowed_methods)] // the test reads and writes the page on disk

use std::path::Path;

#[test]
fn the_stdlib_reference_page_is_current() {
    let page = chor_check::stdlib_doc::reference().expect("every public item is documented");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/stdlib.md");
    if std::env::var_os("CHOR_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &page).expect("write docs/stdlib.md");
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == page,
        "docs/stdlib.md is out of date with stdlib/*.chor; rerun with CHOR_UPDATE_DOCS=1"
    );
    for name in [
        "float::",
        "fn sort_by<T, K>",
        "fn from_list<K, V>",
        "fn to_float",
    ] {
        assert!(page.contains(name), "{name} missing from the page");
    }
    assert!(!page.contains("range_from"), "an internal helper is listed");
}
