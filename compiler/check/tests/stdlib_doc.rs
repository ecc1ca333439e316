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

/// `docs/stdlib/NAME.md`: one page per module, current, and no page of a module that is gone.
#[test]
fn every_module_has_its_current_page() {
    let pages = chor_check::stdlib_doc::pages().expect("every public item is documented");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/stdlib");
    if std::env::var_os("CHOR_UPDATE_DOCS").is_some() {
        std::fs::create_dir_all(&dir).expect("create docs/stdlib");
        for (name, text) in &pages {
            std::fs::write(dir.join(name), text).expect("write a page");
        }
    }
    for (name, text) in &pages {
        let on_disk = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        assert!(
            on_disk == *text,
            "docs/stdlib/{name} is out of date with stdlib/*.chor; rerun with CHOR_UPDATE_DOCS=1"
        );
    }
    let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
    for e in std::fs::read_dir(&dir).expect("docs/stdlib exists") {
        let n = e.expect("entry").file_name().to_string_lossy().into_owned();
        assert!(
            names.contains(&n.as_str()),
            "docs/stdlib/{n} belongs to no module"
        );
    }
    let random = &pages
        .iter()
        .find(|(n, _)| n == "random.md")
        .expect("a page for random::")
        .1;
    assert!(
        random.contains("CHOR_SEED"),
        "the module's opening comment is on its page"
    );
    assert!(random.contains("### `fn int(lo: Int, hi: Int) -> Int`"));
    for (n, text) in &pages {
        assert!(text.contains("[Every module](../stdlib.md)"), "{n}");
    }
}
