//! Diagnostics as data, and the one place that renders them for people (ariadne) and for tools (JSON).
//!
//! Every phase of the compiler reports problems as `Diagnostic` values with labelled spans;
//! only this crate knows how they look on a terminal.

pub mod codes;

use serde::Serialize;
use std::fmt::Write as _;

/// Identifies a source file inside one compilation (the driver assigns the numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
pub struct FileId(pub u32);

/// A byte range in one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: start as u32,
            end: end as u32,
        }
    }
    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
    /// An empty span at the end of this one.
    pub fn end_point(self) -> Span {
        Span {
            file: self.file,
            start: self.end,
            end: self.end,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// A machine-applicable edit: insert or replace text at `span` (and at each of `more`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Fix {
    pub message: String,
    pub span: Span,
    pub replacement: String,
    /// Further edits that belong to the same fix (e.g. one selection per branch).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub more: Vec<(Span, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    /// The first label is the primary one.
    pub labels: Vec<Label>,
    pub notes: Vec<String>,
    pub help: Option<String>,
    pub fix: Option<Fix>,
}

impl Diagnostic {
    pub fn error(
        code: &'static str,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            labels: vec![Label {
                span,
                message: label.into(),
            }],
            notes: Vec::new(),
            help: None,
            fix: None,
        }
    }
    pub fn warning(
        code: &'static str,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message, span, label)
        }
    }
    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }
    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }
    pub fn with_fix(mut self, fix: Fix) -> Diagnostic {
        self.fix = Some(fix);
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
    pub fn primary_span(&self) -> Option<Span> {
        self.labels.first().map(|l| l.span)
    }
}

/// Access to the text and display name of each file, supplied by the driver.
pub trait SourceMap {
    fn name(&self, file: FileId) -> String;
    fn text(&self, file: FileId) -> String;
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: u32) -> (usize, usize) {
    let offset = (offset as usize).min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.chars().count(), |p| before[p + 1..].chars().count())
        + 1;
    (line, col)
}

/// The line starts of a text, for many line lookups: each takes logarithmic time, where
/// [`line_col`] scans the text up to the offset (a location table of a long program built
/// with `line_col` took quadratic time).
#[derive(Debug, Clone, Default)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// The 1-based line of a byte offset, as [`line_col`] gives it.
    pub fn line(&self, offset: u32) -> usize {
        self.starts.partition_point(|&s| s <= offset as usize)
    }
}

/// A file as the renderer needs it: its name and text, read once however many diagnostics
/// point into it, and what turns a byte offset into the character offset ariadne counts in.
struct RenderFile {
    name: String,
    text: String,
    /// The byte offset of every character, for a file that is not all ASCII (where a byte
    /// offset is the character offset).
    chars: Option<Vec<usize>>,
}

impl RenderFile {
    fn new(sources: &dyn SourceMap, id: FileId) -> RenderFile {
        let text = sources.text(id);
        let chars = (!text.is_ascii()).then(|| text.char_indices().map(|(b, _)| b).collect());
        RenderFile {
            name: sources.name(id),
            text,
            chars,
        }
    }

    /// The character offset of `byte` (of the character it falls in).
    fn char_offset(&self, byte: u32) -> usize {
        let byte = (byte as usize).min(self.text.len());
        match &self.chars {
            None => byte,
            Some(starts) => {
                starts.partition_point(|&b| b <= byte).saturating_sub(1)
                    + usize::from(byte == self.text.len() && !self.text.is_empty())
            }
        }
    }
}

/// Render diagnostics the way `chor check` prints them: source snippets, labels, notes, help.
/// Each file is read and indexed once for all of them: a program with thousands of warnings
/// renders in time proportional to its size and theirs.
pub fn render(diags: &[Diagnostic], sources: &dyn SourceMap, color: bool) -> String {
    use ariadne::{Config, Label as ALabel, Report, ReportKind};
    let mut files: Vec<(FileId, RenderFile)> = Vec::new();
    for d in diags {
        for span in d
            .primary_span()
            .into_iter()
            .chain(d.labels.iter().map(|l| l.span))
        {
            if !files.iter().any(|(id, _)| *id == span.file) {
                files.push((span.file, RenderFile::new(sources, span.file)));
            }
        }
    }
    let file = |id: FileId| files.iter().find(|(f, _)| *f == id).map(|(_, f)| f);
    let mut cache = ariadne::sources(files.iter().map(|(_, f)| (f.name.clone(), f.text.clone())));
    let mut out = Vec::new();
    for d in diags {
        let Some(primary) = d.primary_span() else {
            let _ = writeln!(String::new(), "{}", d.message);
            continue;
        };
        let Some(main) = file(primary.file) else {
            continue;
        };
        let kind = match d.severity {
            Severity::Error => ReportKind::Error,
            Severity::Warning => ReportKind::Warning,
        };
        let p0 = main.char_offset(primary.start);
        let mut report = Report::build(kind, (main.name.clone(), p0..p0))
            .with_config(
                Config::default()
                    .with_color(color)
                    .with_index_type(ariadne::IndexType::Char),
            )
            .with_code(d.code)
            .with_message(&d.message);
        for l in &d.labels {
            let Some(f) = file(l.span.file) else {
                continue;
            };
            let s = f.char_offset(l.span.start);
            let e = f.char_offset(l.span.end).max(s);
            let mut label = ALabel::new((f.name.clone(), s..e));
            if !l.message.is_empty() {
                label = label.with_message(&l.message);
            }
            report = report.with_label(label);
        }
        for n in &d.notes {
            report = report.with_note(n);
        }
        if let Some(h) = &d.help {
            report = report.with_help(h);
        }
        let _ = report.finish().write(&mut cache, &mut out);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Render diagnostics as one JSON array for tools (`chor check --format json`).
pub fn to_json(diags: &[Diagnostic], sources: &dyn SourceMap) -> String {
    let items: Vec<serde_json::Value> = diags
        .iter()
        .map(|d| {
            let span_json = |s: Span| {
                let text = sources.text(s.file);
                let (line, col) = line_col(&text, s.start);
                let (end_line, end_col) = line_col(&text, s.end);
                serde_json::json!({
                    "file": sources.name(s.file),
                    "start": s.start, "end": s.end,
                    "line": line, "column": col, "end_line": end_line, "end_column": end_col,
                })
            };
            serde_json::json!({
                "severity": d.severity,
                "code": d.code,
                "message": d.message,
                "labels": d.labels.iter().map(|l| serde_json::json!({"span": span_json(l.span), "message": l.message})).collect::<Vec<_>>(),
                "notes": d.notes,
                "help": d.help,
                "fix": d.fix.as_ref().map(|f| serde_json::json!({
                    "message": f.message,
                    "edits": std::iter::once((f.span, f.replacement.clone())).chain(f.more.iter().cloned())
                        .map(|(s, r)| serde_json::json!({"span": span_json(s), "replacement": r})).collect::<Vec<_>>(),
                })),
            })
        })
        .collect();
    serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct One(&'static str);
    impl SourceMap for One {
        fn name(&self, _: FileId) -> String {
            "t.chor".into()
        }
        fn text(&self, _: FileId) -> String {
            self.0.into()
        }
    }

    #[test]
    fn renders_snippet_and_json() {
        let src = "let x = 1\nlet y = 2;\n";
        let d = Diagnostic::error(
            "E0001",
            "expected `;`",
            Span::new(FileId(0), 9, 9),
            "add `;` here",
        )
        .with_help("statements end with `;`");
        let text = render(std::slice::from_ref(&d), &One(src), false);
        assert!(text.contains("expected `;`"), "{text}");
        assert!(text.contains("t.chor:1:10"), "{text}");
        assert!(text.contains("statements end with"), "{text}");
        let json = to_json(&[d], &One(src));
        assert!(json.contains("\"line\": 1"), "{json}");
        assert_eq!(line_col(src, 12), (2, 3));
    }

    #[test]
    fn line_index_agrees_with_line_col() {
        for text in ["", "a", "\n", "ab\ncd\n\nef", "é\nü\r\nx\n"] {
            let idx = LineIndex::new(text);
            let offs = (0..=text.len() + 2).filter(|&o| o > text.len() || text.is_char_boundary(o));
            for off in offs.map(|o| o as u32) {
                assert_eq!(idx.line(off), line_col(text, off).0, "{text:?} at {off}");
            }
        }
    }
}

#[cfg(test)]
mod render_tests {
    use super::*;

    struct One(&'static str);
    impl SourceMap for One {
        fn name(&self, _: FileId) -> String {
            "f.chor".to_owned()
        }
        fn text(&self, _: FileId) -> String {
            self.0.to_owned()
        }
    }

    /// The character offset of every byte offset (inside a character: that character's),
    /// for ASCII and non-ASCII text, as counting the characters before it gives it.
    #[test]
    fn char_offsets_match_counting() {
        for text in ["", "abc", "é", "aé😀b\n", "😀😀", "x = \"héllo\";\n"] {
            let f = RenderFile::new(&One(text), FileId(0));
            for byte in 0..=text.len() + 2 {
                let mut b = byte.min(text.len());
                while b > 0 && !text.is_char_boundary(b) {
                    b -= 1;
                }
                let expected = text[..b].chars().count();
                let got = f.char_offset(u32::try_from(byte).expect("small"));
                assert_eq!(got, expected, "{text:?} at {byte}");
            }
        }
    }
}
