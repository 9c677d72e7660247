//! SARIF 2.1.0 (OASIS Static Analysis Results Interchange Format), read by
//! GitHub code scanning and editors: one log, one run, one rule per
//! diagnostic code, one result per diagnostic.
//!
//! Columns are counted in Unicode code points (`columnKind`), as
//! everywhere in flow; paths are relative to `%SRCROOT%`, the folder
//! `flow check` ran in.

use super::{message_with_help, relative_name, Region};
use flow_dsl::{Checked, Code, Diagnostic, Severity, SourceMap, Span};
use serde_json::{json, Value};
use std::path::Path;

/// The base every relative artifact URI is resolved against.
const SRCROOT: &str = "%SRCROOT%";

/// The whole log for `checked` files. `io_errors` (paths that could not be
/// read) become tool execution notifications and mark the run unsuccessful;
/// `cwd` (the current folder) gives `%SRCROOT%` its absolute URI and makes
/// absolute file names below it relative.
pub fn log(checked: &[Checked], io_errors: &[String], cwd: Option<&Path>) -> Value {
    let results: Vec<Value> = checked
        .iter()
        .flat_map(|c| c.diagnostics.iter().map(|d| result(d, &c.sources, cwd)))
        .collect();
    let mut invocation = json!({ "executionSuccessful": io_errors.is_empty() });
    if !io_errors.is_empty() {
        invocation["toolExecutionNotifications"] = io_errors
            .iter()
            .map(|e| json!({ "level": "error", "message": { "text": e } }))
            .collect();
    }
    let mut run = json!({
        "tool": { "driver": driver() },
        "columnKind": "unicodeCodePoints",
        "invocations": [invocation],
        "results": results,
    });
    if let Some(root) = cwd.and_then(|c| c.is_absolute().then(|| file_uri(c, true))) {
        run["originalUriBaseIds"] = json!({ SRCROOT: { "uri": root } });
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run],
    })
}

/// `tool.driver`: flow, its version, and every code as a rule.
fn driver() -> Value {
    let mut driver = json!({
        "name": "flow",
        "version": env!("CARGO_PKG_VERSION"),
        "rules": Code::ALL.iter().map(|&c| rule(c)).collect::<Vec<_>>(),
    });
    // Only a real address: the package declares none yet.
    let homepage = [env!("CARGO_PKG_HOMEPAGE"), env!("CARGO_PKG_REPOSITORY")]
        .into_iter()
        .find(|u| !u.is_empty());
    if let Some(uri) = homepage {
        driver["informationUri"] = json!(uri);
    }
    driver
}

/// A rule: the code, its variant name, title and `flow explain` text.
fn rule(code: Code) -> Value {
    let explanation = code.explanation();
    json!({
        "id": code.as_str(),
        "name": format!("{code:?}"),
        "shortDescription": { "text": code.title() },
        "fullDescription": { "text": explanation, "markdown": explanation },
        "help": { "text": explanation, "markdown": explanation },
        "defaultConfiguration": { "level": level(code.severity()) },
    })
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// One diagnostic: primary label as the location, the others as related
/// locations.
fn result(diag: &Diagnostic, sources: &SourceMap, cwd: Option<&Path>) -> Value {
    let file = sources.get(diag.source);
    let artifact = artifact_location(&file.name, cwd);
    let location = |span: Span, text: &str| {
        let r = Region::of(&file.text, span);
        let mut loc = json!({
            "physicalLocation": {
                "artifactLocation": artifact.clone(),
                "region": {
                    "startLine": r.start_line,
                    "startColumn": r.start_column,
                    "endLine": r.end_line,
                    "endColumn": r.end_column,
                },
            },
        });
        if !text.is_empty() {
            loc["message"] = json!({ "text": text });
        }
        loc
    };
    let (primary, secondary) = diag
        .labels
        .split_first()
        .map_or((None, &[][..]), |(p, s)| (Some(p), s));
    let rule_index = Code::ALL.iter().position(|&c| c == diag.code);
    let mut out = json!({
        "ruleId": diag.code.as_str(),
        "level": level(diag.severity),
        "message": { "text": message_with_help(diag) },
        "locations": primary.map(|l| location(l.span, &l.message)).into_iter().collect::<Vec<_>>(),
    });
    if let Some(i) = rule_index {
        out["ruleIndex"] = json!(i);
    }
    if !secondary.is_empty() {
        out["relatedLocations"] = secondary
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut loc = location(l.span, &l.message);
                loc["id"] = json!(i + 1);
                loc
            })
            .collect();
    }
    out
}

/// Where a file is: relative to `%SRCROOT%` when it is relative (the usual
/// case) or absolute below `cwd`; otherwise an absolute `file://` URI.
fn artifact_location(name: &str, cwd: Option<&Path>) -> Value {
    let path = Path::new(name);
    let relative = if path.is_absolute() {
        cwd.and_then(|c| path.strip_prefix(c).ok())
    } else {
        Some(path)
    };
    match relative {
        Some(rel) => json!({
            "uri": encode(relative_name(&rel.to_string_lossy())),
            "uriBaseId": SRCROOT,
        }),
        None => json!({ "uri": file_uri(path, false) }),
    }
}

/// `file:///abs/path` (with a trailing `/` for a folder base).
fn file_uri(path: &Path, folder: bool) -> String {
    let mut uri = format!("file://{}", encode(&path.to_string_lossy()));
    if folder && !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// Percent-encodes everything but unreserved characters and `/`, so any
/// file name makes a valid URI reference.
fn encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_to_srcroot_and_encoded() {
        let cwd = Path::new("/work/repo");
        assert_eq!(
            artifact_location("./pipelines/a b.flow", Some(cwd)),
            json!({"uri": "pipelines/a%20b.flow", "uriBaseId": "%SRCROOT%"})
        );
        assert_eq!(
            artifact_location("/work/repo/x/é.flow", Some(cwd)),
            json!({"uri": "x/%C3%A9.flow", "uriBaseId": "%SRCROOT%"})
        );
        assert_eq!(
            artifact_location("/elsewhere/a#1.flow", Some(cwd)),
            json!({"uri": "file:///elsewhere/a%231.flow"})
        );
        assert_eq!(file_uri(cwd, true), "file:///work/repo/");
    }

    #[test]
    fn every_code_is_a_rule_at_its_index() {
        let rules = driver()["rules"].as_array().cloned().unwrap_or_default();
        assert_eq!(rules.len(), Code::ALL.len());
        for (i, c) in Code::ALL.iter().enumerate() {
            assert_eq!(rules[i]["id"], c.as_str());
        }
        assert_eq!(rules[2]["name"], "UnknownStage");
    }
}
