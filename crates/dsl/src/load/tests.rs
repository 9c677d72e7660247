//! Loader tests with a tiny stand-in parser (one `template NAME`, `flow
//! NAME` or `use "path" as alias` per line), so loading is tested on its own.

use super::*;
use crate::ast::{Spanned, Template};

fn fake_parse(text: &str, _source: SourceId) -> (ast::File, Vec<Diagnostic>) {
    let mut file = ast::File::default();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let words: Vec<&str> = line.split_whitespace().collect();
        let span = Span::new(offset, offset + line.trim_end().len());
        let ident = |s: &str| Spanned::new(s.to_string(), span);
        match words.as_slice() {
            ["template", name] => file.templates.push(Template {
                name: ident(name),
                params: vec![],
                items: vec![],
                span,
            }),
            ["flow", name] => file.flows.push(ast::Flow {
                name: ident(name),
                items: vec![],
                span,
            }),
            ["use", "std"] => file.uses.push(ast::Use {
                path: None,
                alias: ident("std"),
                span,
            }),
            ["use", path, "as", alias] => file.uses.push(ast::Use {
                path: Some(ident(path.trim_matches('"'))),
                alias: ident(alias),
                span,
            }),
            _ => {}
        }
        offset += line.len();
    }
    (file, vec![])
}

fn codes(loaded: &Loaded) -> Vec<Code> {
    loaded.diagnostics.iter().map(|d| d.code).collect()
}

#[test]
fn folder_library_gives_templates_skills_and_sources() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    std::fs::create_dir_all(lib.join("skills")).unwrap();
    std::fs::write(lib.join("a.flow"), "template one\ntemplate two\n").unwrap();
    std::fs::write(lib.join("b.flow"), "template three\n").unwrap();
    std::fs::write(lib.join("notes.txt"), "template ignored\n").unwrap();
    std::fs::write(lib.join("skills/plan.md"), "# plan").unwrap();
    std::fs::write(lib.join("skills/readme.txt"), "").unwrap();
    let loaded = load_source(
        "main.flow",
        "use \"lib\" as mine\nflow f\n",
        dir.path(),
        &fake_parse,
    );
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let mine = &loaded.libraries[0];
    assert_eq!(mine.name, "mine");
    assert!(mine.dir.as_ref().unwrap().ends_with("lib"));
    let names: Vec<&str> = mine
        .templates
        .iter()
        .map(|t| t.template.name.node.as_str())
        .collect();
    assert_eq!(names, ["one", "two", "three"]);
    assert_eq!(mine.skills.keys().collect::<Vec<_>>(), ["plan"]);
    assert_eq!(&*loaded.sources.get(mine.skills["plan"]).text, "# plan");
    // The main file, then a.flow and b.flow, then the skill.
    assert_eq!(loaded.sources.files().count(), 4);
    assert!(loaded
        .sources
        .get(mine.templates[2].source)
        .name
        .ends_with("b.flow"));
}

#[test]
fn missing_folder_is_an_import_error_on_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let text = "use \"nope\" as mine\n";
    let loaded = load_source("main.flow", text, dir.path(), &fake_parse);
    assert_eq!(codes(&loaded), [Code::Import]);
    assert!(loaded.libraries.is_empty());
    assert!(loaded.diagnostics[0]
        .message
        .contains("cannot load library `mine`"));
}

#[test]
fn flow_in_library_file_is_an_import_error_in_that_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("lib")).unwrap();
    std::fs::write(dir.path().join("lib/x.flow"), "template t\nflow oops\n").unwrap();
    let loaded = load_source("main.flow", "use \"lib\" as l\n", dir.path(), &fake_parse);
    assert_eq!(codes(&loaded), [Code::Import]);
    let d = &loaded.diagnostics[0];
    let text = &loaded.sources.get(d.source).text;
    assert_eq!(&text[d.span().start..d.span().end], "flow oops");
}

#[test]
fn importing_one_alias_twice_is_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = load_source("main.flow", "use std\nuse std\n", dir.path(), &fake_parse);
    assert_eq!(codes(&loaded), [Code::Duplicate]);
    assert_eq!(loaded.libraries.len(), 1);
    assert!(loaded.libraries[0].dir.is_none());
}

#[test]
fn std_library_is_embedded() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = load_source("main.flow", "use std\n", dir.path(), &fake_parse);
    let std = &loaded.libraries[0];
    assert_eq!(std.files.len(), std_lib::STD_FILES.len());
    for skill in std.skills.keys() {
        assert!(std.files.contains_key(&format!("skills/{skill}.md")));
    }
}

#[test]
fn unreadable_main_file_is_reported() {
    let loaded = load_file(Path::new("/definitely/not/here.flow"), &fake_parse);
    assert_eq!(codes(&loaded), [Code::Import]);
    assert_eq!(
        loaded.sources.get(loaded.main).name,
        "/definitely/not/here.flow"
    );
}

#[test]
fn a_fifo_among_the_skills_is_never_opened() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("skills")).unwrap();
    std::fs::write(dir.path().join("skills/ok.md"), "---\nname: ok\n---\n").unwrap();
    let fifo = dir.path().join("skills/blocked.md");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    // Opening the FIFO for reading would block this test for good.
    let loaded = load_source("main.flow", "flow f\n", dir.path(), &fake_parse);
    assert_eq!(loaded.local_skills.keys().collect::<Vec<_>>(), ["ok"]);
}

/// A fetcher that answers every source with one folder, or an error.
struct FakeFetcher(Result<PathBuf, git::FetchError>);

impl git::Fetcher for FakeFetcher {
    fn fetch(&self, _alias: &str, _source: &git::GitSource) -> Result<PathBuf, git::FetchError> {
        self.0.clone()
    }
}

#[test]
fn git_libraries_come_from_the_fetcher_and_need_one() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("fetched");
    std::fs::create_dir_all(lib.join("skills")).unwrap();
    std::fs::write(lib.join("t.flow"), "template one\n").unwrap();
    std::fs::write(lib.join("skills/review.md"), "---\nname: review\n---\n").unwrap();
    let text = "use \"git+https://host/org/skills@v1\" as team\nuse \"x\" as other\n";
    let fetcher = FakeFetcher(Ok(lib.clone()));
    let loaded = load_source_with("main.flow", text, dir.path(), &fake_parse, Some(&fetcher));
    // `other` is a folder that does not exist; `team` came from the fetcher.
    assert_eq!(codes(&loaded), [Code::Import]);
    assert_eq!(loaded.libraries[0].name, "team");
    assert_eq!(
        loaded.libraries[0].skills.keys().collect::<Vec<_>>(),
        ["review"]
    );
    assert!(loaded.failed.contains("other"));
    // Without a fetcher, or when it fails: an error on the `use` path.
    let loaded = load_source("main.flow", text, dir.path(), &fake_parse);
    assert_eq!(codes(&loaded), [Code::Import, Code::Import]);
    assert!(loaded.diagnostics[0]
        .message
        .contains("nothing here fetches it"));
    let failing = FakeFetcher(Err(git::FetchError {
        code: Code::LibraryLock,
        message: "changed".into(),
        help: "h".into(),
    }));
    let loaded = load_source_with("main.flow", text, dir.path(), &fake_parse, Some(&failing));
    assert_eq!(codes(&loaded), [Code::LibraryLock, Code::Import]);
    assert!(loaded.failed.contains("team"));
    let text = "use \"git+ftp://host/x\" as bad\n";
    let loaded = load_source_with("main.flow", text, dir.path(), &fake_parse, Some(&fetcher));
    assert_eq!(codes(&loaded), [Code::Import]);
    assert!(loaded.diagnostics[0].message.contains("unsupported scheme"));
}
