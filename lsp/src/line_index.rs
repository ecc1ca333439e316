//! Byte offsets (the compiler's spans) to and from LSP positions (line, UTF-16 column).

/// Line starts of one text, for fast conversions in both directions.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
    len: usize,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex {
            starts,
            len: text.len(),
        }
    }

    /// (line, UTF-16 column) of a byte offset; offsets past the end clamp to the end.
    pub fn position(&self, text: &str, offset: u32) -> (u32, u32) {
        let mut offset = (offset as usize).min(self.len).min(text.len());
        while offset > 0 && !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let start = self.starts.get(line).copied().unwrap_or(0).min(offset);
        let col: usize = text
            .get(start..offset)
            .map_or(0, |s| s.chars().map(char::len_utf16).sum());
        (line as u32, col as u32)
    }

    /// The byte offset of (line, UTF-16 column); past the end of a line clamps to its end.
    pub fn offset(&self, text: &str, line: u32, col: u32) -> u32 {
        let Some(&start) = self.starts.get(line as usize) else {
            return text.len() as u32;
        };
        let end = self
            .starts
            .get(line as usize + 1)
            .map_or(text.len(), |&e| e.saturating_sub(1));
        let line_text = text.get(start..end.max(start)).unwrap_or("");
        let mut units = 0u32;
        for (i, c) in line_text.char_indices() {
            if units >= col {
                return (start + i) as u32;
            }
            units += c.len_utf16() as u32;
        }
        (start + line_text.len()) as u32
    }
}
