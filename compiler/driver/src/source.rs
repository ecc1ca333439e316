//! Reading a source file from disk, bounded: every place that reads a `.chor` file (the command
//! line's FILE, `import`ed files, `chor fmt`, and the language server's workspace files through
//! [`chor_lsp::Analysis::read_source`]) goes through [`read_source`], so a FIFO, a device such as
//! `/dev/zero`, a directory or a huge file is a clear error naming the file instead of an endless
//! or unbounded read.

use std::io::Read as _;
use std::path::Path;

/// The largest source file read: 8 MiB. Spans are 32-bit offsets and the checker's work grows
/// with the text; a real choreography is far smaller.
pub const MAX_SOURCE_BYTES: u64 = 8 * 1024 * 1024;

/// The text of the source file at `path`, or an error that names it and says why it cannot be
/// used: it does not exist, it is not a regular file, it is larger than [`MAX_SOURCE_BYTES`],
/// or it is not UTF-8.
pub fn read_source(path: &Path) -> Result<String, String> {
    let shown = path.display();
    // Look before opening: opening a FIFO would wait for a writer.
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {shown}: {}", reason(&e)))?;
    if !meta.is_file() {
        return Err(format!(
            "cannot read {shown}: it is {}, not a regular file",
            kind_of(&meta.file_type())
        ));
    }
    if meta.len() > MAX_SOURCE_BYTES {
        return Err(too_large(path, meta.len()));
    }
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {shown}: {}", reason(&e)))?;
    // The file may grow after the look (or report no size, as files under /proc do): read at
    // most one byte past the limit.
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(MAX_SOURCE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {shown}: {}", reason(&e)))?;
    if bytes.len() as u64 > MAX_SOURCE_BYTES {
        return Err(too_large(path, bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|_| format!("{shown} is not UTF-8 text"))
}

fn too_large(path: &Path, len: u64) -> String {
    format!(
        "cannot read {}: it is larger than the limit for source files ({}{} bytes; the limit is {} MiB)",
        path.display(),
        if len > MAX_SOURCE_BYTES {
            "at least "
        } else {
            ""
        },
        len,
        MAX_SOURCE_BYTES / (1024 * 1024)
    )
}

fn reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

#[cfg(unix)]
fn kind_of(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn kind_of(t: &std::fs::FileType) -> &'static str {
    if t.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}
