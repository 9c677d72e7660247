//! Inline suppression: a comment `# flow: allow(F0101)` on a line of its own
//! silences the warnings with that code whose primary span starts on the
//! next line of the same file.
//!
//! - When a `"""` script (a "block") starts on that next line, the whole
//!   script is covered: a line inside it cannot hold a comment of the file,
//!   and shellcheck's findings (F0105) point inside it.
//! - Several codes go in one comment: `# flow: allow(F0101, F0105)`. Codes
//!   are case-insensitive and blanks are free; text after `)` is a free
//!   reason. Only the line directly below counts (a second suppression
//!   comment right below is that line, so codes are listed in one comment).
//! - Only warnings can be silenced. An error means the flow cannot run, so
//!   `allow(F0003)` is itself reported, as are an unknown code, a malformed
//!   `# flow: allow` and one written after code on the same line.
//! - A code that silences nothing is reported as [`Code::UnusedSuppression`]
//!   (F0104), which cannot itself be suppressed. Unused ones are reported
//!   only in the checked file, not in library files (a flow may use only
//!   some of a library's templates), and not when the check did not run.
//! - Comments come from the parser ([`crate::ast::File::comments`]), so a
//!   `# flow: allow(…)` line inside a string or a `"""` script does nothing.

use crate::ast::Spanned;
use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::span::{line_col, SourceId, SourceMap, Span};
use std::collections::BTreeMap;

/// One well-formed `# flow: allow(…)` comment.
#[derive(Debug, Clone, PartialEq)]
pub struct Allow {
    /// The file the comment is in (and the diagnostics it silences).
    pub source: SourceId,
    /// The whole comment.
    pub comment: Span,
    /// The bytes of the line below the comment (through its `\n`), or to
    /// the end of a `"""` script starting on it: a diagnostic whose primary
    /// span starts here is silenced.
    pub target: Span,
    /// The codes allowed, each with its span inside the comment.
    pub codes: Vec<Spanned<Code>>,
}

/// The suppression comments of the files of one check, and which of their
/// codes have silenced something so far. Kept in [`crate::Checked`] so that
/// findings added later (shellcheck's, by the CLI) are silenced too, through
/// [`crate::Checked::add_findings`].
#[derive(Debug, Clone, Default)]
pub struct Suppressions {
    allows: Vec<Allow>,
    /// `used[a][k]`: code `k` of `allows[a]` has silenced a diagnostic.
    used: Vec<Vec<bool>>,
    /// The file whose unused suppressions are reported.
    report_unused: Option<SourceId>,
}

impl Suppressions {
    /// Reads the suppressions of every file's `comments`; returns them and
    /// a diagnostic for each bad one. A suppression whose next line starts
    /// one of the `blocks` (the `run` scripts' spans) covers the whole
    /// block. Unused suppressions will be reported only in `report_unused`
    /// (the checked file; `None` when the checks did not run).
    pub fn read(
        sources: &SourceMap,
        comments: &BTreeMap<SourceId, Vec<Spanned<String>>>,
        blocks: &[(SourceId, Span)],
        report_unused: Option<SourceId>,
    ) -> (Suppressions, Vec<Diagnostic>) {
        let mut all = Suppressions {
            report_unused,
            ..Suppressions::default()
        };
        let mut bad = Vec::new();
        for (&source, list) in comments {
            let (mut allows, problems) = read(source, &sources.get(source).text, list);
            bad.extend(problems);
            for allow in &mut allows {
                for &(_, block) in blocks.iter().filter(|(s, _)| *s == source) {
                    if (allow.target.start..allow.target.end).contains(&block.start) {
                        allow.target.end = allow.target.end.max(block.end);
                    }
                }
            }
            all.used
                .extend(allows.iter().map(|a| vec![false; a.codes.len()]));
            all.allows.extend(allows);
        }
        (all, bad)
    }

    /// The suppressions found, in file order.
    pub fn allows(&self) -> &[Allow] {
        &self.allows
    }

    /// Removes from `diagnostics` those a suppression allows, and marks the
    /// codes that allowed them as used.
    pub fn silence(&mut self, diagnostics: &mut Vec<Diagnostic>) {
        if !self.allows.is_empty() {
            diagnostics.retain(|d| !self.covers(d));
        }
    }

    /// One [`Code::UnusedSuppression`] for each code of a suppression in the
    /// reported file that has silenced nothing yet.
    pub fn unused(&self, sources: &SourceMap) -> Vec<Diagnostic> {
        self.allows
            .iter()
            .zip(&self.used)
            .filter(|(a, _)| Some(a.source) == self.report_unused)
            .flat_map(|(a, used)| unused(a, used, &sources.get(a.source).text))
            .collect()
    }

    /// True when a suppression covers `d`; marks the codes that do as used.
    fn covers(&mut self, d: &Diagnostic) -> bool {
        let start = d.span().start;
        let mut hit = false;
        for (allow, used) in self.allows.iter().zip(self.used.iter_mut()) {
            if allow.source != d.source || start < allow.target.start || start >= allow.target.end {
                continue;
            }
            for (code, used) in allow.codes.iter().zip(used.iter_mut()) {
                if code.node == d.code {
                    *used = true;
                    hit = true;
                }
            }
        }
        hit
    }
}

/// Reads the suppressions of `comments` (each file's), silences what they
/// allow in `diagnostics`, and adds a diagnostic for each bad or unused one
/// (`blocks` and `report_unused`: see [`Suppressions::read`]). Sorts
/// `diagnostics` by file and position. Returns the suppressions, for
/// findings added later.
pub fn apply(
    diagnostics: &mut Vec<Diagnostic>,
    sources: &SourceMap,
    comments: &BTreeMap<SourceId, Vec<Spanned<String>>>,
    blocks: &[(SourceId, Span)],
    report_unused: Option<SourceId>,
) -> Suppressions {
    let (mut all, bad) = Suppressions::read(sources, comments, blocks, report_unused);
    all.silence(diagnostics);
    diagnostics.extend(bad);
    diagnostics.extend(all.unused(sources));
    sort(diagnostics);
    all
}

/// Sorts by file and position, as [`crate::Checked::diagnostics`] are.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by_key(|d| (d.source, d.span().start, d.span().end));
}

/// An F0104 for each code of `allow` that silenced nothing.
fn unused(allow: &Allow, used: &[bool], text: &str) -> Vec<Diagnostic> {
    let line = line_col(text, allow.target.start).0;
    let alone = allow.codes.len() == 1;
    allow
        .codes
        .iter()
        .zip(used)
        .filter(|(_, used)| !**used)
        .map(|(code, _)| {
            let span = if alone { allow.comment } else { code.span };
            let help = if alone {
                "remove the comment, or move it to the line directly above the diagnostic's line"
                    .to_string()
            } else {
                format!("remove `{}` from the list", code.node)
            };
            Diagnostic::new(
                Code::UnusedSuppression,
                allow.source,
                span,
                format!(
                    "unused suppression: no {} diagnostic starts on line {line}",
                    code.node
                ),
            )
            .label(format!("no {} on the next line", code.node))
            .help(help)
        })
        .collect()
}

/// The suppressions among a file's `comments`, and a diagnostic for each
/// one that is malformed, misplaced or names a code it cannot silence.
/// Comments that do not start with `flow: allow` are ordinary comments.
pub fn read(
    source: SourceId,
    text: &str,
    comments: &[Spanned<String>],
) -> (Vec<Allow>, Vec<Diagnostic>) {
    let mut allows = Vec::new();
    let mut bad = Vec::new();
    for comment in comments {
        let Some(parsed) = directive(&comment.node) else {
            continue;
        };
        let at = comment.span.start;
        let (Some(before), Some(after)) = (text.get(..at), text.get(at..)) else {
            continue;
        };
        let problem = |span: Span, message: &str, label: &str, help: &str| {
            Diagnostic::new(Code::UnusedSuppression, source, span, message)
                .label(label)
                .help(help)
        };
        let list = match parsed {
            Err(why) => {
                bad.push(problem(
                    comment.span,
                    &format!("malformed suppression: {why}"),
                    "this comment silences nothing",
                    "write `# flow: allow(CODE)` or `# flow: allow(CODE, CODE)`, e.g. `# flow: allow(F0101)`",
                ));
                continue;
            }
            Ok(list) => list,
        };
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        if !before[line_start..].trim().is_empty() {
            bad.push(problem(
                comment.span,
                "a suppression must be on a line of its own",
                "after code: silences nothing",
                "move the comment to its own line, directly above the line it silences",
            ));
            continue;
        }
        let mut codes = Vec::new();
        for (word, offset) in list {
            let span = Span::new(at + offset, at + offset + word.len());
            match Code::parse(word) {
                None => bad.push(problem(
                    span,
                    &format!("unknown code `{word}` in a suppression"),
                    "no such code",
                    "`flow explain` lists every code (F0001 …)",
                )),
                Some(Code::UnusedSuppression) => bad.push(problem(
                    span,
                    "F0104 (unused suppression) cannot be suppressed",
                    "not allowed here",
                    "remove the suppression that is reported as unused instead",
                )),
                Some(code) if code.severity() == Severity::Error => bad.push(problem(
                    span,
                    &format!("{code} is an error, and errors cannot be suppressed"),
                    "an error",
                    &format!("fix the error (`flow explain {code}` says how); only warnings can be allowed"),
                )),
                Some(code) => codes.push(Spanned::new(code, span)),
            }
        }
        if codes.is_empty() {
            continue;
        }
        let next = after.find('\n').map_or(text.len(), |i| at + i + 1);
        let next_end = text[next..]
            .find('\n')
            .map_or(text.len() + 1, |i| next + i + 1);
        allows.push(Allow {
            source,
            comment: comment.span,
            target: Span::new(next, next_end),
            codes,
        });
    }
    (allows, bad)
}

/// True when `comment` (from its `#`) is a `# flow: allow(…)` directive,
/// well-formed or not: the formatter keeps the line below it together.
pub(crate) fn is_directive(comment: &str) -> bool {
    directive(comment).is_some()
}

/// A code word of `allow(…)` and its byte offset in the comment.
type Word<'c> = (&'c str, usize);

/// `None` for an ordinary comment; the codes (with offsets in `comment`) of
/// a `# flow: allow(…)`, or why it is malformed.
fn directive(comment: &str) -> Option<Result<Vec<Word<'_>>, &'static str>> {
    let rest = comment.strip_prefix('#')?.trim_start();
    let rest = strip_word(rest, "flow:")?.trim_start();
    let rest = strip_word(rest, "allow")?;
    // `# flow: allowed …` is prose, not a directive.
    if rest.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
        return None;
    }
    let Some(inner) = rest.trim_start().strip_prefix('(') else {
        return Some(Err("expected `(` after `allow`"));
    };
    let Some(close) = inner.find(')') else {
        return Some(Err("missing `)`"));
    };
    let base = comment.len() - inner.len();
    let mut words = Vec::new();
    let mut from = 0;
    for part in inner[..close].split(',') {
        let word = part.trim();
        let lead = part.len() - part.trim_start().len();
        if !word.is_empty() {
            words.push((word, base + from + lead));
        }
        from += part.len() + 1;
    }
    if words.is_empty() {
        return Some(Err("no code inside `allow()`"));
    }
    Some(Ok(words))
}

/// `text` after a leading `word`, compared ASCII-case-insensitively.
fn strip_word<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let head = text.get(..word.len())?;
    head.eq_ignore_ascii_case(word).then(|| &text[word.len()..])
}

#[cfg(test)]
mod tests;
