//! The standard library sources, embedded at build time so that no file is read at run time.

/// `(module, file name, text)`; the prelude has no module name (its items are global).
pub const SOURCES: &[(Option<&str>, &str, &str)] = &[
    (
        None,
        "<stdlib>/prelude.chor",
        include_str!("../../../stdlib/prelude.chor"),
    ),
    (
        Some("list"),
        "<stdlib>/list.chor",
        include_str!("../../../stdlib/list.chor"),
    ),
    (
        Some("string"),
        "<stdlib>/string.chor",
        include_str!("../../../stdlib/string.chor"),
    ),
    (
        Some("map"),
        "<stdlib>/map.chor",
        include_str!("../../../stdlib/map.chor"),
    ),
    (
        Some("option"),
        "<stdlib>/option.chor",
        include_str!("../../../stdlib/option.chor"),
    ),
    (
        Some("int"),
        "<stdlib>/int.chor",
        include_str!("../../../stdlib/int.chor"),
    ),
    (
        Some("float"),
        "<stdlib>/float.chor",
        include_str!("../../../stdlib/float.chor"),
    ),
    (
        Some("io"),
        "<stdlib>/io.chor",
        include_str!("../../../stdlib/io.chor"),
    ),
    (
        Some("env"),
        "<stdlib>/env.chor",
        include_str!("../../../stdlib/env.chor"),
    ),
    (
        Some("fs"),
        "<stdlib>/fs.chor",
        include_str!("../../../stdlib/fs.chor"),
    ),
    (
        Some("time"),
        "<stdlib>/time.chor",
        include_str!("../../../stdlib/time.chor"),
    ),
    (
        Some("random"),
        "<stdlib>/random.chor",
        include_str!("../../../stdlib/random.chor"),
    ),
    (
        Some("crypto"),
        "<stdlib>/crypto.chor",
        include_str!("../../../stdlib/crypto.chor"),
    ),
];

/// File ids of the standard library count down from the top of the id space.
pub fn file_id(index: usize) -> chor_diagnostics::FileId {
    chor_diagnostics::FileId(u32::MAX - index as u32)
}

/// The stdlib entry for a file id, if it is one.
pub fn by_file(
    file: chor_diagnostics::FileId,
) -> Option<(Option<&'static str>, &'static str, &'static str)> {
    let idx = (u32::MAX - file.0) as usize;
    SOURCES.get(idx).copied()
}
