//! F0013 unknown templates and libraries, F0014 arguments, F0015 skills,
//! F0019 imports, template expansion.

use super::*;
use crate::ir::EnvValue;

/// A temp folder holding `lib/` with `files` (relative path, text).
fn with_lib(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, text) in files {
        let path = dir.path().join("lib").join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

const LIB: &str = "template agent(skill: skill, tries: int = 2) {\n  status json\n  timeout 5m\n  outputs conversation.md\n  env MODE = \"fast\"\n  run \"agent\"\n}\n";

fn lib_dir() -> tempfile::TempDir {
    with_lib(&[
        ("agent.flow", LIB),
        ("skills/plan.md", "---\nname: plan\n---\n# plan"),
        ("skills/review.md", "---\nname: review\n---\n# review"),
    ])
}

fn lib_flow(stage: &str) -> String {
    format!("use \"lib\" as mine\n{}", flow(stage))
}

#[test]
fn expansion_merges_template_then_stage() {
    let dir = lib_dir();
    let c = check_in(dir.path(), &lib_flow("  stage p: mine.agent(skill: \"plan\") { timeout 9m  outputs PLAN.md  env MODE2 = \"x\" }"));
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    let p = c.pipeline.unwrap();
    let s = &p.stages[0];
    assert_eq!(s.timeout, Some(std::time::Duration::from_secs(540)));
    assert_eq!(s.outputs, ["conversation.md", "PLAN.md"]);
    assert!(s.status_json);
    assert_eq!(s.script, "agent");
    assert_eq!(
        env_kinds(&s.env),
        [
            "SKILL: literal plan",
            "SKILL_FILE: library skills/plan.md",
            "TRIES: literal 2",
            "MODE: expr",
            "MODE2: expr"
        ]
    );
    let lib = &p.libraries[s.library.unwrap()];
    assert_eq!(lib.name, "mine");
    assert!(lib.dir.as_ref().unwrap().ends_with("lib"));
}

#[test]
fn unknown_template_in_library() {
    let dir = lib_dir();
    let c = check_in(
        dir.path(),
        &lib_flow("  stage p: mine.agnet(skill: \"plan\") { }"),
    );
    // Only the unknown template: its missing script would be a cascade.
    assert_eq!(codes(&c), [Code::UnknownTemplate]);
    assert_eq!(spanned(&c, &c.diagnostics[0]), "agnet");
    assert_eq!(
        c.diagnostics[0].help.as_deref(),
        Some("did you mean `agent`?")
    );
}

#[test]
fn unknown_library() {
    let c = check(&flow("  stage p: std.agent(skill: \"plan\") { run \"x\" }"));
    assert_eq!(codes(&c), [Code::UnknownTemplate]);
    assert_eq!(spanned(&c, &c.diagnostics[0]), "std");
    assert_eq!(
        c.diagnostics[0].help.as_deref(),
        Some("add `use std` at the top of the file")
    );
    let c = check(&format!(
        "use std\n{}",
        flow("  stage p: sdt.agent(skill: \"plan\") { run \"x\" }")
    ));
    assert_eq!(
        c.diagnostics[0].help.as_deref(),
        Some("did you mean `std`?")
    );
}

#[test]
fn unknown_local_template() {
    expect(
        &flow("  stage p: shel() { run \"x\" }\n}\ntemplate shell() {"),
        Code::UnknownTemplate,
        "shel",
        "no template `shel` in this file",
    );
}

#[test]
fn template_arguments() {
    let dir = lib_dir();
    let c = check_in(
        dir.path(),
        &lib_flow("  stage p: mine.agent(skil: \"plan\") { }"),
    );
    assert_eq!(codes(&c), [Code::TemplateArgs, Code::TemplateArgs]);
    assert_eq!(spanned(&c, &c.diagnostics[0]), "mine.agent(skil: \"plan\")");
    assert!(c.diagnostics[0]
        .message
        .contains("missing argument `skill` of template `mine.agent`"));
    assert_eq!(spanned(&c, &c.diagnostics[1]), "skil");
    assert!(c.diagnostics[1]
        .help
        .as_deref()
        .unwrap()
        .starts_with("did you mean `skill`?"));

    let c = check_in(
        dir.path(),
        &lib_flow("  stage p: mine.agent(skill: \"plan\", skill: \"plan\") { }"),
    );
    assert_eq!(codes(&c), [Code::TemplateArgs]);
    assert!(c.diagnostics[0].message.contains("given twice"));

    let c = check_in(
        dir.path(),
        &lib_flow("  stage p: mine.agent(skill: \"plan\", tries: \"x\") { }"),
    );
    assert_eq!(codes(&c), [Code::TypeMismatch]);
    assert_eq!(spanned(&c, &c.diagnostics[0]), "\"x\"");
}

#[test]
fn missing_skill() {
    let dir = lib_dir();
    let c = check_in(
        dir.path(),
        &lib_flow("  stage p: mine.agent(skill: \"plam\") { }"),
    );
    assert_eq!(codes(&c), [Code::MissingSkill]);
    assert_eq!(spanned(&c, &c.diagnostics[0]), "\"plam\"");
    assert!(c.diagnostics[0]
        .help
        .as_deref()
        .unwrap()
        .starts_with("did you mean `plan`?"));
}

#[test]
fn diagnostics_inside_a_library_point_into_it() {
    let dir = with_lib(&[(
        "bad.flow",
        "template t(n: int = \"x\") { run \"a\"  timeout 5z }\n",
    )]);
    let c = check_in(dir.path(), &lib_flow("  stage p: mine.t() { }"));
    assert_eq!(codes(&c), [Code::TypeMismatch, Code::BadDuration]);
    for d in &c.diagnostics {
        assert!(c.sources.get(d.source).name.ends_with("bad.flow"));
    }
    assert_eq!(spanned(&c, &c.diagnostics[1]), "5z");
}

#[test]
fn flow_in_a_library_is_an_import_error() {
    let dir = with_lib(&[("x.flow", "flow nope {\n  stage a { run \"x\" }\n}\n")]);
    let c = check_in(dir.path(), &lib_flow("  stage a { run \"x\" }"));
    assert_eq!(codes(&c), [Code::Import]);
    assert_eq!(spanned(&c, &c.diagnostics[0]), "nope");
}

#[test]
fn missing_library_folder() {
    let c = check(&format!(
        "use \"./nope\" as mine\n{}",
        flow("  stage a { run \"x\" }")
    ));
    assert_eq!(codes(&c), [Code::Import]);
    assert_eq!(spanned(&c, &c.diagnostics[0]), "\"./nope\"");
}

#[test]
fn local_template_with_local_skills() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("skills")).unwrap();
    std::fs::write(
        dir.path().join("skills/fix.md"),
        "---\nname: fix\n---\n# fix",
    )
    .unwrap();
    let text = format!(
        "template a(skill: skill) {{ run \"go\" }}\n{}",
        flow("  stage s: a(skill: \"fix\") { }")
    );
    let c = check_in(dir.path(), &text);
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    let p = c.pipeline.unwrap();
    let lib = &p.libraries[p.stages[0].library.unwrap()];
    assert_eq!(lib.name, "local");
    let text = format!(
        "template a(skill: skill) {{ run \"go\" }}\n{}",
        flow("  stage s: a(skill: \"fxi\") { }")
    );
    let c = check_in(dir.path(), &text);
    assert_eq!(codes(&c), [Code::MissingSkill]);
}

#[test]
fn every_skill_param_gets_a_library_file_whatever_its_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("skills")).unwrap();
    std::fs::write(
        dir.path().join("skills/fix.md"),
        "---\nname: fix\n---\n# fix",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("skills/tdd.md"),
        "---\nname: tdd\n---\n# tdd",
    )
    .unwrap();
    let text = format!(
        "template a(method: skill, skill: skill = \"fix\") {{ run \"go\" }}\n{}",
        flow("  stage s: a(method: \"tdd\") { }")
    );
    let c = check_in(dir.path(), &text);
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    let p = c.pipeline.unwrap();
    assert_eq!(
        env_kinds(&p.stages[0].env),
        [
            "METHOD: literal tdd",
            "METHOD_FILE: library skills/tdd.md",
            "SKILL: literal fix",
            "SKILL_FILE: library skills/fix.md",
        ]
    );
}

#[test]
fn std_templates_check_clean() {
    let c = check(&format!(
        "use std\n{}",
        flow("  stage t: std.test() { }\n  stage p: std.agent(skill: \"plan\") { needs t  outputs PLAN.md }")
    ));
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
}

/// A stage env as `NAME: literal TEXT`, `NAME: library PATH`, `NAME: expr`.
fn env_kinds(env: &[(String, EnvValue)]) -> Vec<String> {
    env.iter()
        .map(|(k, v)| {
            let kind = match v {
                EnvValue::Literal(l) => format!("literal {l}"),
                EnvValue::LibraryFile(f) => format!("library {f}"),
                EnvValue::FileOf { library, file } => format!("library #{library} {file}"),
                EnvValue::Expr(_) => "expr".to_string(),
            };
            format!("{k}: {kind}")
        })
        .collect()
}

/// Compiling each expression once per text (the compiler's cache of clean
/// results) changes nothing: a template's `when` compiles for every use, the
/// same text that is wrong where a bool is wanted is reported at each place,
/// after it compiled clean as text.
#[test]
fn repeated_expressions_check_as_if_compiled_each_time() {
    let text = flow(concat!(
        "  param n: int = 1\n",
        "  stage a { env X = n + 1\n run \"x\" }\n",
        "  stage b { when n + 1\n run \"x\" }\n",
        "  stage c { when n + 1\n run \"x\" }\n",
        "  stage d: t() { }\n",
        "  stage e: t() { }\n",
    )) + "template t(n: int = 1) {\n  when n > 0\n  run \"y\"\n}\n";
    let c = check(&text);
    assert_eq!(
        codes(&c),
        [Code::NotBool, Code::NotBool],
        "{:#?}",
        c.diagnostics
    );
    let starts: Vec<usize> = c.diagnostics.iter().map(|d| d.span().start).collect();
    let b = text.find("when n + 1").unwrap() + 5;
    let c2 = text.rfind("when n + 1").unwrap() + 5;
    assert_eq!(starts, [b, c2]);
    for d in &c.diagnostics {
        assert_eq!(spanned(&c, d), "n + 1");
    }
    let clean = check(&text.replace("when n + 1", "when n + 1 > 2"));
    assert!(clean.diagnostics.is_empty(), "{:#?}", clean.diagnostics);
    let p = clean.pipeline.expect("a pipeline");
    let whens: Vec<&str> = p
        .stages
        .iter()
        .filter_map(|s| s.when.as_ref().map(|w| w.source.as_str()))
        .collect();
    assert_eq!(whens, ["n + 1 > 2", "n + 1 > 2", "n > 0", "n > 0"]);
}

// Issue 7 §7: a template's own parameters are in scope in its expressions.

const POLL: &str = "template poll(limit: int = 3, mode: str = \"x\") {\n  when limit > 1 && mode == \"x\"\n  env LIM = limit + 1\n  run \"true\"\n}\n";

#[test]
fn template_parameters_are_in_scope_with_the_stages_values() {
    let dir = with_lib(&[("poll.flow", POLL)]);
    let c = check_in(
        dir.path(),
        &lib_flow("  param limit: str = \"flow\"\n  stage a: mine.poll(limit: 5) { }\n  stage b: mine.poll() { when limit == \"flow\" }"),
    );
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    let p = c.pipeline.unwrap();
    let bound = |s: usize| {
        let when = p.stages[s].when.as_ref().unwrap();
        when.bindings.clone()
    };
    use crate::ir::Value;
    // The template's `when` carries the stage's arguments, defaults included.
    assert_eq!(
        bound(0),
        [
            ("limit".to_string(), Value::Int(5)),
            ("mode".to_string(), Value::Str("x".into()))
        ]
    );
    // The stage's own `when` sees the flow's `limit` (a str), not the template's.
    assert!(bound(1).is_empty());
    let EnvValue::Expr(lim) = &p.stages[0].env.iter().find(|(n, _)| n == "LIM").unwrap().1 else {
        panic!("LIM is an expression")
    };
    assert_eq!(lim.bindings.len(), 2);
}

#[test]
fn unknown_name_in_a_template_is_reported_once_at_the_template() {
    let lib = "template poll(limit: int = 3) {\n  when limt > 1\n  run \"true\"\n}\n";
    let dir = with_lib(&[("poll.flow", lib)]);
    let c = check_in(
        dir.path(),
        &lib_flow("  stage a: mine.poll() { }\n  stage b: mine.poll(limit: 4) { }"),
    );
    assert_eq!(codes(&c), [Code::UnknownVariable], "{:#?}", c.diagnostics);
    assert_eq!(spanned(&c, &c.diagnostics[0]), "limt");
    assert_eq!(
        c.diagnostics[0].help.as_deref(),
        Some("did you mean `limit`?")
    );
}

#[test]
fn a_library_checked_alone_reports_its_template_expressions() {
    // Before issue 7 a template-only file said nothing about its expressions.
    let c = check("template poll(limit: int = 3) {\n  when limit > 1 && nope\n  env X = limit + \"s\"\n  run \"true\"\n}\n");
    assert_eq!(codes(&c), [Code::UnknownVariable], "{:#?}", c.diagnostics);
    assert_eq!(spanned(&c, &c.diagnostics[0]), "nope");
    assert!(c.diagnostics[0]
        .help
        .as_deref()
        .unwrap()
        .contains("its own parameters (`limit`)"));
    // Types come from the parameters' declared types.
    expect(
        "template poll(mode: str = \"x\") {\n  when mode\n  run \"true\"\n}\n",
        Code::NotBool,
        "mode",
        "",
    );
    assert!(check(POLL).diagnostics.is_empty());
}

#[test]
fn a_template_does_not_see_the_flows_params() {
    // Lexical scope: a template means the same in every flow that uses it.
    expect(
        "template t() {\n  when issue > 1\n  run \"true\"\n}\nflow f {\n  timeout 1h\n  param issue: int = 2\n  stage a: t() { }\n}\n",
        Code::UnknownVariable,
        "issue",
        "unknown variable `issue`",
    );
}

#[test]
fn a_templates_unknown_stage_is_reported_once_per_flow() {
    let c = check("template w() {\n  when stages.buidl.outcome == \"succeeded\"\n  run \"true\"\n}\nflow f {\n  timeout 1h\n  stage build { run \"true\" }\n  stage a: w() { needs build }\n  stage b: w() { needs build }\n}\n");
    assert_eq!(codes(&c), [Code::UnknownStageRef], "{:#?}", c.diagnostics);
    assert_eq!(spanned(&c, &c.diagnostics[0]), "buidl");
}

/// A project: `lib/` (templates, no skills), `team/skills/review.md` and
/// `skills/triage.md` beside the flow.
fn skill_project() -> tempfile::TempDir {
    let dir = with_lib(&[
        ("agent.flow", LIB),
        ("skills/plan.md", "---\nname: plan\n---\n"),
    ]);
    let review = "---\nname: review\noutputs: review.md\nstatuses: DONE, BLOCKED\n---\n# Review\n";
    for (path, text) in [
        ("team/skills/review.md", review),
        ("team/none.flow", ""),
        ("skills/triage.md", "---\nname: triage\n---\n"),
    ] {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn skill_flow(stage: &str) -> String {
    format!("use \"lib\" as mine\nuse \"team\" as team\n{}", flow(stage))
}

#[test]
fn a_skill_of_another_library_or_of_the_project_is_a_file_of_that_library() {
    let dir = skill_project();
    let text = skill_flow(
        "  stage r: mine.agent(skill: \"team.review\") { outputs review.md }\n  stage t: mine.agent(skill: \"./triage\") { }\n  stage p: mine.agent(skill: \"plan\") { }",
    );
    let c = check_in(dir.path(), &text);
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    let p = c.pipeline.unwrap();
    let name = |i: usize| p.libraries[i].name.as_str();
    let file_of = |stage: usize| {
        p.stages[stage].env.iter().find_map(|(k, v)| match v {
            EnvValue::FileOf { library, file } if k == "SKILL_FILE" => {
                Some((name(*library), file.as_str()))
            }
            _ => None,
        })
    };
    assert_eq!(file_of(0), Some(("team", "skills/review.md")));
    assert_eq!(file_of(1), Some(("local", "skills/triage.md")));
    assert_eq!(file_of(2), None, "the template's own library: LibraryFile");
    assert!(env_kinds(&p.stages[2].env).contains(&"SKILL_FILE: library skills/plan.md".into()));
    // $SKILL is the reference as written.
    assert!(env_kinds(&p.stages[0].env).contains(&"SKILL: literal team.review".into()));
}

#[test]
fn unknown_library_or_skill_in_a_reference_is_f0015_listing_what_exists() {
    let dir = skill_project();
    for (arg, message, help) in [
        (
            "tema.review",
            "no library `tema` is imported",
            "did you mean `team`?",
        ),
        (
            "nope.review",
            "no library `nope` is imported",
            "imported: mine, team",
        ),
        (
            "team.reveiw",
            "library `team` has no `skills/reveiw.md`",
            "did you mean `team.review`?",
        ),
        ("team.x", "library `team` has no", "skills: team.review"),
        (
            "./triag",
            "no `skills/triag.md` beside the flow file",
            "did you mean `./triage`?",
        ),
        ("./zzz", "beside the flow file", "skills: ./triage"),
    ] {
        let text = skill_flow(&format!("  stage r: mine.agent(skill: \"{arg}\") {{ }}"));
        let c = check_in(dir.path(), &text);
        assert_eq!(
            codes(&c),
            [Code::MissingSkill],
            "{arg}: {:#?}",
            c.diagnostics
        );
        let d = &c.diagnostics[0];
        assert_eq!(spanned(&c, d), format!("\"{arg}\""));
        assert!(d.message.contains(message), "{arg}: {}", d.message);
        assert!(
            d.help.as_deref().unwrap().contains(help),
            "{arg}: {:?}",
            d.help
        );
    }
}

#[test]
fn a_used_skill_s_front_matter_is_checked_with_spans_in_the_skill_file() {
    let dir = skill_project();
    std::fs::write(
        dir.path().join("skills/bad.md"),
        "---\nname: bad\ncommits: sometimes\nstatus: DONE\n---\n",
    )
    .unwrap();
    let text = skill_flow(
        "  stage a: mine.agent(skill: \"./bad\") { }\n  stage b: mine.agent(skill: \"./bad\") { }",
    );
    let c = check_in(dir.path(), &text);
    // Reported once although two stages use it.
    assert_eq!(codes(&c), [Code::SkillFrontMatter, Code::SkillUnknownKey]);
    assert_eq!(spanned(&c, &c.diagnostics[0]), "sometimes");
    assert!(c
        .sources
        .get(c.diagnostics[0].source)
        .name
        .ends_with("skills/bad.md"));
    assert_eq!(spanned(&c, &c.diagnostics[1]), "status");
    assert!(c.diagnostics[1]
        .help
        .as_deref()
        .unwrap()
        .contains("did you mean `statuses`?"));
    // An unused skill is not checked.
    let c = check_in(
        dir.path(),
        &skill_flow("  stage a: mine.agent(skill: \"plan\") { }"),
    );
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
}

#[test]
fn a_skill_output_the_stage_does_not_collect_is_f0116_at_the_reference() {
    let dir = skill_project();
    let c = check_in(
        dir.path(),
        &skill_flow("  stage r: mine.agent(skill: \"team.review\") { }"),
    );
    assert_eq!(codes(&c), [Code::SkillOutputNotCollected]);
    assert_eq!(spanned(&c, &c.diagnostics[0]), "\"team.review\"");
    for outputs in ["outputs review.md", "optional outputs *.md"] {
        let stage = format!("  stage r: mine.agent(skill: \"team.review\") {{ {outputs} }}");
        let c = check_in(dir.path(), &skill_flow(&stage));
        assert!(c.diagnostics.is_empty(), "{outputs}: {:#?}", c.diagnostics);
    }
}

#[test]
fn a_warning_about_a_skill_is_silenced_by_an_allow_in_its_front_matter() {
    let dir = skill_project();
    std::fs::write(
        dir.path().join("skills/odd.md"),
        "---\nname: odd\n# flow: allow(F0115) read by our own wrapper\nmodel: opus\n---\n",
    )
    .unwrap();
    let c = check_in(
        dir.path(),
        &skill_flow("  stage a: mine.agent(skill: \"./odd\") { }"),
    );
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    // Errors are not silenced.
    std::fs::write(
        dir.path().join("skills/odd.md"),
        "---\nname: odd\n# flow: allow(F0036)\ncommits: maybe\n---\n",
    )
    .unwrap();
    let c = check_in(
        dir.path(),
        &skill_flow("  stage a: mine.agent(skill: \"./odd\") { }"),
    );
    // (and allowing an error is itself reported, at the comment, line 3)
    assert_eq!(codes(&c), [Code::UnusedSuppression, Code::SkillFrontMatter]);
}
