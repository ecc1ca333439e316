//! The reference page of the standard library (`docs/stdlib.md`), generated from the `///`
//! comments of `stdlib/*.chor` so that it never drifts from the library, and one page per
//! module (`docs/stdlib/NAME.md`, [`pages`]): a test compares the pages on disk with these
//! (and rewrites them when `CHOR_UPDATE_DOCS=1`).

use crate::stdlib::SOURCES;

/// One public item: its declaration line (without the body) and its doc comment.
struct Entry {
    decl: String,
    doc: String,
}

/// The public items of one stdlib file, in order; `#[internal]` helpers are left out. An item
/// without a doc comment is an error naming it (every public name is documented).
fn entries(file: &str, text: &str) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    let mut doc: Vec<&str> = Vec::new();
    let mut internal = false;
    let mut decl: Option<String> = None;
    for line in text.lines() {
        if let Some(d) = decl.as_mut() {
            // A declaration continued over several lines, up to its body or `;`.
            d.push(' ');
            d.push_str(line.trim());
        } else if let Some(d) = line.strip_prefix("///") {
            doc.push(d.strip_prefix(' ').unwrap_or(d));
            continue;
        } else if line.starts_with("#[") {
            internal |= line.trim() == "#[internal]";
            continue;
        } else if ["fn ", "enum ", "struct "]
            .iter()
            .any(|k| line.starts_with(k))
        {
            decl = Some(line.trim().to_string());
        } else {
            doc.clear();
            internal = false;
            continue;
        }
        let Some(d) = decl.as_ref() else { continue };
        let end = d.find(" {").or_else(|| d.find(';'));
        let Some(end) = end else { continue };
        let head = if d[end..].starts_with(" {") && d.starts_with("enum ") {
            d.clone() // an enum is shown whole: its variants are its interface
        } else {
            d[..end].to_string()
        };
        decl = None;
        if !internal {
            if doc.is_empty() {
                return Err(format!("{file}: `{head}` has no doc comment"));
            }
            out.push(Entry {
                decl: head,
                doc: doc.join(" "),
            });
        }
        doc.clear();
        internal = false;
    }
    Ok(out)
}

/// What a file's first line says of its module (`// list.chor — the `list::` module: …`).
fn summary(text: &str) -> &str {
    let first = text.lines().next().unwrap_or("");
    match first.split_once(" — ") {
        Some((_, s)) => s.trim(),
        None => "",
    }
}

/// The Markdown reference page of the standard library.
pub fn reference() -> Result<String, String> {
    let mut s = String::from(
        "# The standard library\n\n\
         <!-- Generated from the `///` comments of stdlib/*.chor by \
         chor_check::stdlib_doc::reference; a test keeps it current \
         (CHOR_UPDATE_DOCS=1 cargo test -p chor-check --test stdlib_doc rewrites it). -->\n\n\
         The prelude is in scope everywhere; every other module is reached with `::` \
         (`list::len(xs)`). Functions marked builtin in the sources are implemented by every \
         back end; the others are written in chor. A fault (\"stops the role\") ends the \
         role with an error naming the source line of the call.\n",
    );
    for (module, file, text) in SOURCES {
        let title = match module {
            Some(m) => format!("`{m}::`"),
            None => "The prelude".to_string(),
        };
        s.push_str(&format!("\n## {title}\n\n"));
        s.push_str(&format!(
            "Its own page: [stdlib/{0}](stdlib/{0}).\n\n",
            page_name(*module)
        ));
        let sum = summary(text);
        if !sum.is_empty() {
            let sum = sum.strip_suffix('.').unwrap_or(sum);
            s.push_str(&format!("{}{}.\n\n", sum[..1].to_uppercase(), &sum[1..]));
        }
        for e in entries(file, text)? {
            s.push_str(&format!("- `{}`  \n  {}\n", e.decl, e.doc));
        }
    }
    Ok(s)
}

/// The text of a file's opening comment after its first line: what the module's page says
/// before its items (`random.chor` explains `CHOR_SEED` there).
fn preamble(text: &str) -> String {
    let mut paras: Vec<String> = vec![String::new()];
    for line in text.lines().skip(1) {
        let Some(l) = line.strip_prefix("//") else {
            break;
        };
        let l = l.trim();
        if l.is_empty() {
            paras.push(String::new());
        } else if let Some(p) = paras.last_mut() {
            if !p.is_empty() {
                p.push(' ');
            }
            p.push_str(l);
        }
    }
    paras.retain(|p| !p.is_empty());
    paras.join("\n\n")
}

/// The file name of a module's own page under `docs/stdlib/` (`list.md`, `prelude.md`).
pub fn page_name(module: Option<&str>) -> String {
    format!("{}.md", module.unwrap_or("prelude"))
}

/// One reference page per module (`docs/stdlib/NAME.md`): the module's opening comment and
/// every public item with its doc comment, generated like [`reference`].
pub fn pages() -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (module, file, text) in SOURCES {
        let title = match module {
            Some(m) => format!("`{m}::`"),
            None => "The prelude".to_string(),
        };
        let mut s = format!("# {title}\n\n");
        s.push_str(
            "<!-- Generated from the `///` comments of stdlib/*.chor by \
             chor_check::stdlib_doc::pages; a test keeps it current \
             (CHOR_UPDATE_DOCS=1 cargo test -p chor-check --test stdlib_doc rewrites it). -->\n\n",
        );
        let sum = summary(text);
        if !sum.is_empty() {
            let sum = sum.strip_suffix('.').unwrap_or(sum);
            s.push_str(&format!("{}{}.\n\n", sum[..1].to_uppercase(), &sum[1..]));
        }
        let pre = preamble(text);
        if !pre.is_empty() {
            s.push_str(&pre);
            s.push_str("\n\n");
        }
        for e in entries(file, text)? {
            s.push_str(&format!("### `{}`\n\n{}\n\n", e.decl, e.doc));
        }
        s.push_str("[Every module](../stdlib.md)\n");
        out.push((page_name(*module), s));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_items_are_left_out_and_undocumented_ones_refused() {
        let text = "// m.chor — the `m::` module.\n\n/// One.\nfn one() -> Int {\n    1\n}\n\n#[internal]\nfn hidden() -> Int {\n    2\n}\n\n/// A builtin.\n#[builtin]\nfn b(x: Int) -> Int;\n";
        let e = entries("m.chor", text).unwrap_or_default();
        let decls: Vec<&str> = e.iter().map(|e| e.decl.as_str()).collect();
        assert_eq!(decls, ["fn one() -> Int", "fn b(x: Int) -> Int"]);
        assert!(entries("m.chor", "fn bare() -> Int {\n    1\n}\n").is_err());
    }
}
