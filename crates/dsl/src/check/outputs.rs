//! Output paths: they must stay inside the stage directory (F0017), and two
//! stages one stage needs must not produce the same file name (F0016).

use super::expand::Expanded;
use crate::ast::Spanned;
use crate::diagnostic::{Code, Diagnostic};
use crate::span::SourceId;
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

/// True when `path` is absolute or climbs above its starting folder with
/// `..` (after resolving `.` and `x/..`).
pub(crate) fn escapes(path: &str) -> bool {
    if path.starts_with('/') || path.starts_with('\\') || std::path::Path::new(path).is_absolute() {
        return true;
    }
    let mut depth: i64 = 0;
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

/// Reports an output path that escapes the stage directory.
pub(crate) fn check_escape(path: &Spanned<String>, source: SourceId, diags: &mut Vec<Diagnostic>) {
    if escapes(&path.node) {
        let why = if escapes(path.node.trim_start_matches(['/', '\\']))
            || !path.node.starts_with(['/', '\\'])
        {
            "climbs out of the stage directory"
        } else {
            "is absolute"
        };
        diags.push(
            Diagnostic::new(Code::OutputEscapes, source, path.span, format!("output `{}` {why}", path.node))
                .label("outside the stage directory")
                .help("name outputs relative to the stage's directory; share bigger state through $FLOW_WORKSPACE"),
        );
    }
}

/// The file name a literal output path produces in a dependent's
/// directory, or `None` for a glob (whose names are unknown until run time).
fn file_name(path: &str) -> Option<&str> {
    if path.contains(['*', '?', '[', '{']) {
        return None;
    }
    path.trim_end_matches(['/', '\\'])
        .rsplit(['/', '\\'])
        .next()
        .filter(|n| !n.is_empty() && *n != "." && *n != "..")
}

/// For every stage, reports two of its needs that produce an output with the
/// same file name. `needs[i]` are the resolved need indices of stage `i`
/// (with the position of each in `stages[i].needs`).
pub(crate) fn check_clashes(
    stages: &[Expanded],
    needs: &[Vec<(usize, usize)>],
    diags: &mut Vec<Diagnostic>,
) {
    for (stage, stage_needs) in stages.iter().zip(needs) {
        // file name → (need stage index, need position) of its first producer.
        let mut producers: HashMap<&str, (usize, usize)> = HashMap::new();
        let mut reported = HashSet::new();
        for &(need, pos) in stage_needs {
            for output in stages[need].all_outputs() {
                let Some(name) = file_name(&output.node.node) else {
                    continue;
                };
                match producers.get(name) {
                    Some(&(first, first_pos)) if first != need => {
                        if !reported.insert((first, need, name)) {
                            continue;
                        }
                        let here = stage.needs[pos];
                        let there = stage.needs[first_pos];
                        let mut d = Diagnostic::new(
                            Code::OutputClash,
                            here.src,
                            here.node.span,
                            format!(
                                "`{}` and `{}` both output `{name}`, so one would overwrite the other in `{}`",
                                stages[first].decl.name.node, stages[need].decl.name.node, stage.decl.name.node
                            ),
                        )
                        .label(format!("`{}` outputs `{name}`", stages[need].decl.name.node))
                        .help(format!("give the outputs of `{}` and `{}` different names", stages[first].decl.name.node, stages[need].decl.name.node));
                        if there.src == here.src {
                            d = d.secondary(
                                there.node.span,
                                format!("`{}` outputs `{name}` too", stages[first].decl.name.node),
                            );
                        }
                        diags.push(d);
                    }
                    Some(_) => {}
                    None => {
                        producers.insert(name, (need, pos));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_rules() {
        assert!(escapes("/etc/passwd"));
        assert!(escapes("../x"));
        assert!(escapes("a/../../x"));
        assert!(!escapes("a/../x"));
        assert!(!escapes("./out/*.txt"));
        assert!(!escapes("a/b/.."));
    }

    #[test]
    fn file_names_of_literal_paths_only() {
        assert_eq!(file_name("out/report.txt"), Some("report.txt"));
        assert_eq!(file_name("report.txt"), Some("report.txt"));
        assert_eq!(file_name("dir/"), Some("dir"));
        assert_eq!(file_name("*.txt"), None);
        assert_eq!(file_name(".."), None);
    }
}
