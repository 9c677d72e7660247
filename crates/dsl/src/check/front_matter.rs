//! A skill file's front matter (F0036, F0115, F0117): the `---` block at the top
//! of `skills/NAME.md` whose `key: value` lines `std/bin/flow-agent` reads
//! (its `front_matter_value`: the first line must be `---`, the block ends
//! at the next `---` line, a key is read from the first line starting with
//! `KEY:`, its value is the rest of that line without leading blanks).

use super::outputs;
use crate::diagnostic::{Code, Diagnostic};
use crate::span::{SourceId, Span};

/// Keys flow-agent reads.
const KEYS: &[&str] = &[
    "name",
    "description",
    "outputs",
    "commits",
    "statuses",
    "status_fields",
    "permissions",
];

/// One `key: value` line of a front matter.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The key (before `:`).
    pub key: String,
    /// Its span in the skill file.
    pub key_span: Span,
    /// The value, without leading blanks (and without a trailing `\r`).
    pub value: String,
    /// Its span (empty at the end of the line when the value is).
    pub value_span: Span,
}

/// The parsed front matter of one skill file.
#[derive(Debug, Clone, Default)]
pub(crate) struct FrontMatter {
    /// Its entries in file order (a repeated key once, the first: flow-agent
    /// reads the first).
    pub entries: Vec<Entry>,
}

impl FrontMatter {
    /// The value of `key`, as flow-agent reads it.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }

    /// The skill's `outputs:` as flow-agent splits them (commas and blanks).
    pub fn outputs(&self) -> Vec<&str> {
        self.get("outputs")
            .map(|e| split_list(&e.value).map(|(_, w)| w).collect())
            .unwrap_or_default()
    }
}

/// Parses and checks the front matter of the skill file `source` (its
/// `text`), reporting every problem; `skill` names it in messages.
pub(crate) fn check(
    skill: &str,
    text: &str,
    source: SourceId,
    diags: &mut Vec<Diagnostic>,
) -> FrontMatter {
    let mut lines = lines(text);
    let first = lines.next();
    let Some((open, "---")) = first else {
        let span = first.map_or(Span::new(0, 0), |(start, line)| {
            Span::new(start, start + line.len())
        });
        diags.push(
            Diagnostic::new(
                Code::SkillNoFrontMatter,
                source,
                span,
                format!("skill `{skill}` has no front matter"),
            )
            .label("a skill starts with a `---` line")
            .help("start the file with a `---` block: `---`, `name: SKILL`, `description: …`, `statuses: DONE, BLOCKED`, `---`"),
        );
        return FrontMatter::default();
    };
    let open_span = Span::new(open, open + 3);
    let mut fm = FrontMatter::default();
    let mut closed = false;
    for (start, line) in lines {
        if line == "---" {
            closed = true;
            break;
        }
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let line_span = Span::new(start, start + line.len());
        let Some((key, rest)) = line.split_once(':') else {
            diags.push(
                Diagnostic::new(
                    Code::SkillFrontMatter,
                    source,
                    line_span,
                    format!("skill `{skill}`: this front matter line is not `key: value`"),
                )
                .label("not read")
                .help("flow-agent reads one `key: value` per line; write a list comma-separated on its key's line (`outputs: a.md, b.md`)"),
            );
            continue;
        };
        let key_span = Span::new(start, start + key.len());
        if key.is_empty() || key != key.trim() || key.contains(char::is_whitespace) {
            diags.push(
                Diagnostic::new(
                    Code::SkillFrontMatter,
                    source,
                    line_span,
                    format!(
                        "skill `{skill}`: `{}` is not a front matter key",
                        key.trim()
                    ),
                )
                .label("not read")
                .help("write the key at the start of the line, without blanks: `statuses: DONE`"),
            );
            continue;
        }
        let value = rest.trim_start_matches([' ', '\t']);
        let value_start = start + key.len() + 1 + (rest.len() - value.len());
        let entry = Entry {
            key: key.to_string(),
            key_span,
            value: value.to_string(),
            value_span: Span::new(value_start, value_start + value.len()),
        };
        if let Some(first) = fm.get(key) {
            diags.push(
                Diagnostic::new(
                    Code::SkillFrontMatter,
                    source,
                    key_span,
                    format!("skill `{skill}`: `{key}` is given twice"),
                )
                .label("ignored: flow-agent reads the first")
                .secondary(first.key_span, "first given here")
                .help("keep one line per key"),
            );
            continue;
        }
        fm.entries.push(entry);
    }
    if !closed {
        diags.push(
            Diagnostic::new(
                Code::SkillFrontMatter,
                source,
                open_span,
                format!("skill `{skill}`: the front matter is not closed"),
            )
            .label("opened here")
            .help("end the front matter with a line holding only `---`"),
        );
        return fm;
    }
    for e in &fm.entries {
        check_entry(skill, e, source, diags);
    }
    if fm.get("name").is_none_or(|e| e.value.trim().is_empty()) {
        diags.push(
            Diagnostic::new(
                Code::SkillNoFrontMatter,
                source,
                fm.get("name").map_or(open_span, |e| e.key_span),
                format!("skill `{skill}` has no name in its front matter"),
            )
            .label("`name:` missing")
            .help(format!("add `name: {skill}` to the front matter")),
        );
    }
    fm
}

/// Checks one entry's key and value.
fn check_entry(skill: &str, e: &Entry, source: SourceId, diags: &mut Vec<Diagnostic>) {
    let bad = |why: String, help: &str| {
        Diagnostic::new(
            Code::SkillFrontMatter,
            source,
            e.value_span,
            format!("skill `{skill}`: {why}"),
        )
        .label("invalid value")
        .help(help.to_string())
    };
    let value = e.value.trim_end();
    match e.key.as_str() {
        "commits" => {
            if !matches!(
                value.to_ascii_lowercase().as_str(),
                "" | "yes" | "no" | "true" | "false"
            ) {
                diags.push(bad(
                    format!("`commits: {value}` is not yes or no"),
                    "write `commits: yes` (flow-agent commits what the agent left) or `commits: no`",
                ));
            }
        }
        "permissions" => {
            if !matches!(value, "read-only" | "edit" | "full") {
                diags.push(bad(
                    format!("`permissions: {value}` is not read-only, edit or full"),
                    "write `permissions: read-only` (no edits, no commits), `edit` or `full`",
                ));
            }
        }
        "statuses" => {
            for (span, word) in split_list(value) {
                let upper = word.starts_with(|c: char| c.is_ascii_uppercase())
                    && word
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                if !upper {
                    diags.push(
                        Diagnostic::new(
                            Code::SkillFrontMatter,
                            source,
                            shift(span, e.value_span.start),
                            format!("skill `{skill}`: status `{word}` is not an UPPER_CASE word"),
                        )
                        .label("invalid status")
                        .help(format!(
                            "statuses are matched exactly by `on status \"…\"` routes and flow-agent upper-cases what the agent says: write `{}`",
                            word.to_ascii_uppercase().replace(['-', ' '], "_")
                        )),
                    );
                }
            }
        }
        "status_fields" => {
            for (span, word) in split_list(value) {
                let ident = word.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !ident {
                    diags.push(
                        Diagnostic::new(
                            Code::SkillFrontMatter,
                            source,
                            shift(span, e.value_span.start),
                            format!("skill `{skill}`: `{word}` is not a field name"),
                        )
                        .label("invalid field")
                        .help("name the fields the status JSON must have, comma-separated: `status_fields: summary, failing`"),
                    );
                }
            }
        }
        "outputs" => {
            for (span, word) in split_list(value) {
                if outputs::escapes(word) {
                    diags.push(
                        Diagnostic::new(
                            Code::SkillFrontMatter,
                            source,
                            shift(span, e.value_span.start),
                            format!("skill `{skill}`: output `{word}` is outside the stage directory"),
                        )
                        .label("absolute or climbs out with `..`")
                        .help("name outputs relative to the stage directory ($FLOW_OUTPUT_DIR): `outputs: review.md`"),
                    );
                }
            }
        }
        "name" | "description" => {}
        key => {
            let help = match super::suggest::did_you_mean(key, KEYS.iter().copied()) {
                Some(s) => format!("{s} (flow-agent reads {})", KEYS.join(", ")),
                None => format!(
                    "flow-agent reads {}; remove the line or spell the key as listed",
                    KEYS.join(", ")
                ),
            };
            diags.push(
                Diagnostic::new(
                    Code::SkillUnknownKey,
                    source,
                    e.key_span,
                    format!("skill `{skill}`: unknown front matter key `{key}`"),
                )
                .label("not read by flow-agent")
                .help(help),
            );
        }
    }
}

/// `span` (relative to a value) moved to the value's place in the file.
fn shift(span: Span, by: usize) -> Span {
    Span::new(span.start + by, span.end + by)
}

/// The words of a list value as flow-agent splits them (at commas and
/// blanks), each with its span relative to the value.
fn split_list(value: &str) -> impl Iterator<Item = (Span, &str)> {
    value
        .split([',', ' ', '\t'])
        .scan(0usize, |at, word| {
            let start = *at;
            *at += word.len() + 1;
            Some((Span::new(start, start + word.len()), word))
        })
        .filter(|(_, w)| !w.is_empty())
}

/// Lines of `text` with their start offsets, without `\n` or a trailing `\r`.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_inclusive('\n').scan(0usize, |at, raw| {
        let start = *at;
        *at += raw.len();
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        Some((start, line.strip_suffix('\r').unwrap_or(line)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> (FrontMatter, Vec<(Code, String, String)>) {
        let mut diags = Vec::new();
        let fm = check("review", text, SourceId(0), &mut diags);
        let found = diags
            .iter()
            .map(|d| {
                let s = d.span();
                (d.code, text[s.start..s.end].to_string(), d.message.clone())
            })
            .collect();
        (fm, found)
    }

    #[test]
    fn std_style_front_matter_is_clean() {
        let text = "---\nname: review\ndescription: Review it.\noutputs: review.md\ncommits: no\nstatuses: DONE, CHANGES_REQUESTED, BLOCKED\nstatus_fields: summary\npermissions: read-only\n---\n# Review\n";
        let (fm, found) = run(text);
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(fm.outputs(), ["review.md"]);
        assert_eq!(fm.get("commits").unwrap().value, "no");
        let (_, found) = run(&text.replace('\n', "\r\n"));
        assert!(found.is_empty(), "CRLF: {found:?}");
    }

    #[test]
    fn missing_or_unclosed_front_matter_and_missing_name() {
        let (_, found) = run("# Review\n");
        assert_eq!(found[0].0, Code::SkillNoFrontMatter);
        assert_eq!(found[0].1, "# Review");
        let (_, found) = run("---\nname: review\n");
        assert_eq!(found.len(), 1);
        assert!(found[0].2.contains("not closed"), "{found:?}");
        let (_, found) = run("---\ndescription: x\n---\n");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1, "---");
        assert!(found[0].2.contains("no name"));
        assert!(run("").1[0].2.contains("no front matter"));
    }

    #[test]
    fn bad_values_are_errors_on_the_value_and_unknown_keys_warn() {
        let text = "---\nname: review\ncommits: maybe\nstatuses: DONE, Blocked\nstatus_fields: summary, 2x\npermissions: write\noutputs: ../x.md, ok.md\nstatus: DONE\n---\n";
        let (_, found) = run(text);
        let got: Vec<(Code, &str)> = found.iter().map(|(c, s, _)| (*c, s.as_str())).collect();
        assert_eq!(
            got,
            [
                (Code::SkillFrontMatter, "maybe"),
                (Code::SkillFrontMatter, "Blocked"),
                (Code::SkillFrontMatter, "2x"),
                (Code::SkillFrontMatter, "write"),
                (Code::SkillFrontMatter, "../x.md"),
                (Code::SkillUnknownKey, "status"),
            ]
        );
    }

    #[test]
    fn repeated_keys_and_lines_that_are_not_key_value() {
        let (_, found) = run("---\nname: a\nname: b\n  - item\n# a comment\n\n---\n");
        let got: Vec<&str> = found.iter().map(|(_, s, _)| s.as_str()).collect();
        assert_eq!(got, ["name", "  - item"]);
    }

    #[test]
    fn every_std_skill_has_a_clean_front_matter() {
        for (path, bytes) in crate::load::std_lib::files() {
            if let Some(name) = path
                .strip_prefix("skills/")
                .and_then(|p| p.strip_suffix(".md"))
            {
                let (fm, found) = run(&String::from_utf8_lossy(&bytes));
                assert!(found.is_empty(), "{path}: {found:?}");
                assert_eq!(fm.get("name").map(|e| e.value.as_str()), Some(name));
            }
        }
    }
}
