//! The formatted file as lines, and how they are written out: indentation,
//! blank lines, and trailing comments aligned.

/// Spaces per level of nesting.
const INDENT: usize = 2;

/// Spaces between code and the trailing comment after it (at least).
const COMMENT_GAP: usize = 2;

/// One line of output (or several, for text copied verbatim that holds line
/// breaks: a `"""` script, an expression over several lines).
enum Line {
    Blank,
    Text {
        depth: usize,
        text: String,
        comment: Option<String>,
    },
}

/// Collects lines; blank lines are asked for and kept only between lines.
#[derive(Default)]
pub(super) struct Lines {
    lines: Vec<Line>,
    /// A blank line was asked for before the next line.
    blank: bool,
}

impl Lines {
    /// Asks for one blank line before the next line (never at the start of
    /// the file or of a block, never two).
    pub fn blank(&mut self) {
        self.blank = true;
    }

    /// Forgets a blank line asked for (at the start or end of a block).
    pub fn no_blank(&mut self) {
        self.blank = false;
    }

    /// Adds `text` at `depth` levels of indentation.
    pub fn push(&mut self, depth: usize, text: String) {
        if std::mem::take(&mut self.blank) && !self.lines.is_empty() {
            self.lines.push(Line::Blank);
        }
        self.lines.push(Line::Text {
            depth,
            text,
            comment: None,
        });
    }

    /// Puts `comment` at the end of the last line; `false` when there is no
    /// line to put it on (or it already has a comment).
    pub fn trail(&mut self, comment: &str) -> bool {
        match self.lines.last_mut() {
            Some(Line::Text {
                comment: c @ None, ..
            }) => {
                *c = Some(comment.to_string());
                true
            }
            _ => false,
        }
    }

    /// The text, each line ended by `eol`. Trailing comments on consecutive
    /// one-line items of the same depth start in one column.
    pub fn render(&self, eol: &str) -> String {
        let columns = self.comment_columns();
        let mut out = String::new();
        for (line, column) in self.lines.iter().zip(columns) {
            if let Line::Text {
                depth,
                text,
                comment,
            } = line
            {
                if !text.is_empty() || comment.is_some() {
                    out.push_str(&" ".repeat(depth * INDENT));
                }
                out.push_str(text);
                if let Some(c) = comment {
                    let width = last_line_width(text);
                    out.push_str(&" ".repeat(column.unwrap_or(width + COMMENT_GAP) - width));
                    out.push_str(c);
                }
            }
            out.push_str(eol);
        }
        out
    }

    /// For each line with a trailing comment after one-line code: the column
    /// (after the indentation) where its comment starts. The comments of a
    /// paragraph (one-line items of one block, up to a blank line, a comment
    /// line or an item over several lines) share a column: two spaces after
    /// the longest code that has a comment.
    fn comment_columns(&self) -> Vec<Option<usize>> {
        let mut columns = vec![None; self.lines.len()];
        // (depth, width of the code if it has a trailing comment)
        let one_line = |l: &Line| match l {
            Line::Text {
                depth,
                text,
                comment,
            } if !text.contains('\n') && !text.starts_with('#') => {
                Some((*depth, comment.as_ref().map(|_| text.chars().count())))
            }
            _ => None,
        };
        let mut i = 0;
        while i < self.lines.len() {
            let Some((depth, _)) = one_line(&self.lines[i]) else {
                i += 1;
                continue;
            };
            let mut j = i;
            let mut widest = None;
            while let Some((d, w)) = self.lines.get(j).and_then(one_line) {
                if d != depth {
                    break;
                }
                widest = widest.max(w);
                j += 1;
            }
            if let Some(widest) = widest {
                for (c, line) in columns[i..j].iter_mut().zip(&self.lines[i..j]) {
                    if matches!(
                        line,
                        Line::Text {
                            comment: Some(_),
                            ..
                        }
                    ) {
                        *c = Some(widest + COMMENT_GAP);
                    }
                }
            }
            i = j.max(i + 1);
        }
        columns
    }
}

/// Characters on the last line of `text`.
fn last_line_width(text: &str) -> usize {
    text.rsplit('\n').next().unwrap_or("").chars().count()
}
