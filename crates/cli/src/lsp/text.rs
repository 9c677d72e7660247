//! Byte offsets (the dsl's spans) to and from LSP positions (a line and a
//! column counted in UTF-16 code units by default, or in bytes when the
//! client and server agree on UTF-8: LSP 3.17 "Position encoding"), and
//! `file:` URIs to and from paths.

use flow_dsl::Span;
use lsp_types::{Position, PositionEncodingKind, Range, Uri};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// How columns are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-16 code units (the LSP default).
    Utf16,
    /// Bytes.
    Utf8,
}

impl Encoding {
    /// UTF-8 when the client offers it (fewer conversions), else UTF-16.
    pub fn negotiate(offered: Option<&[PositionEncodingKind]>) -> Encoding {
        match offered {
            Some(kinds) if kinds.contains(&PositionEncodingKind::UTF8) => Encoding::Utf8,
            _ => Encoding::Utf16,
        }
    }

    /// The kind announced in the server's capabilities.
    pub fn kind(self) -> PositionEncodingKind {
        match self {
            Encoding::Utf16 => PositionEncodingKind::UTF16,
            Encoding::Utf8 => PositionEncodingKind::UTF8,
        }
    }
}

/// A text with the byte offset of each line's start.
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
    encoding: Encoding,
}

impl<'a> Lines<'a> {
    /// Indexes `text`'s lines (a line ends after `\n`; a `\r` before it
    /// counts as part of the line, as LSP says).
    pub fn new(text: &'a str, encoding: Encoding) -> Self {
        let mut starts = vec![0];
        starts.extend(line_breaks(text));
        Lines {
            text,
            starts,
            encoding,
        }
    }

    /// The position of byte `offset` (clamped to the text and moved back
    /// to a character boundary).
    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let prefix = &self.text[self.starts[line]..offset];
        let column = match self.encoding {
            Encoding::Utf8 => prefix.len(),
            Encoding::Utf16 => prefix.encode_utf16().count(),
        };
        Position::new(line as u32, column as u32)
    }

    /// The range of `span`.
    pub fn range(&self, span: Span) -> Range {
        Range::new(self.position(span.start), self.position(span.end))
    }

    /// The byte offset of `pos`: a column past the line's end is its end
    /// (before the line break), a line past the text is its end, a column
    /// inside a character is that character's start.
    pub fn offset(&self, pos: Position) -> usize {
        let Some(&start) = self.starts.get(pos.line as usize) else {
            return self.text.len();
        };
        let end = self
            .starts
            .get(pos.line as usize + 1)
            .copied()
            .unwrap_or(self.text.len());
        let line = self.text[start..end].trim_end_matches(['\n', '\r']);
        let want = pos.character as usize;
        let mut units = 0;
        for (i, c) in line.char_indices() {
            let width = match self.encoding {
                Encoding::Utf8 => c.len_utf8(),
                Encoding::Utf16 => c.len_utf16(),
            };
            if units + width > want {
                return start + i;
            }
            units += width;
        }
        start + line.len()
    }

    /// The span of `range`.
    pub fn span(&self, range: Range) -> Span {
        Span::new(self.offset(range.start), self.offset(range.end))
    }

    /// The whole text's range.
    pub fn whole(&self) -> Range {
        Range::new(Position::new(0, 0), self.position(self.text.len()))
    }
}

/// The offsets just after each `\n`.
fn line_breaks(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.bytes()
        .enumerate()
        .filter(|(_, b)| *b == b'\n')
        .map(|(i, _)| i + 1)
}

/// The path of a `file:` URI; `None` for other schemes (`untitled:`).
pub fn uri_to_path(uri: &Uri) -> Option<PathBuf> {
    url::Url::parse(uri.as_str()).ok()?.to_file_path().ok()
}

/// The `file:` URI of an absolute path (a relative one is made absolute
/// against the current folder).
pub fn path_to_uri(path: &Path) -> Option<Uri> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    let url = url::Url::from_file_path(absolute).ok()?;
    Uri::from_str(url.as_str()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_columns_count_surrogate_pairs_twice() {
        // `é` is 2 bytes, 1 UTF-16 unit; `𝄞` 4 bytes, 2 units.
        let text = "a é\n𝄞x = 1\r\nlast";
        let lines = Lines::new(text, Encoding::Utf16);
        let x = text.find('x').expect("x");
        assert_eq!(lines.position(x), Position::new(1, 2));
        assert_eq!(lines.offset(Position::new(1, 2)), x);
        // Inside the pair: the character's start.
        assert_eq!(lines.offset(Position::new(1, 1)), x - 4);
        assert_eq!(
            lines.position(text.find("last").expect("last")),
            Position::new(2, 0)
        );
        // Past the line's end: before its `\r\n`.
        assert_eq!(
            lines.offset(Position::new(1, 99)),
            text.find('\r').expect("cr")
        );
        assert_eq!(lines.offset(Position::new(9, 0)), text.len());
        let utf8 = Lines::new(text, Encoding::Utf8);
        assert_eq!(utf8.position(x), Position::new(1, 4));
        assert_eq!(
            utf8.offset(Position::new(0, 4)),
            text.len() - "\n𝄞x = 1\r\nlast".len()
        );
    }

    #[test]
    fn offsets_inside_a_character_move_back_to_its_start() {
        let text = "é";
        let lines = Lines::new(text, Encoding::Utf16);
        assert_eq!(lines.position(1), Position::new(0, 0));
        assert_eq!(lines.position(99), Position::new(0, 1));
    }

    #[test]
    fn file_uris_round_trip_with_escapes() {
        let path = Path::new("/tmp/a b/é.flow");
        let uri = path_to_uri(path).expect("uri");
        assert_eq!(uri.as_str(), "file:///tmp/a%20b/%C3%A9.flow");
        assert_eq!(uri_to_path(&uri).as_deref(), Some(path));
        let untitled = Uri::from_str("untitled:Untitled-1").expect("uri");
        assert_eq!(uri_to_path(&untitled), None);
    }
}
