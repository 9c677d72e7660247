// A clean flow compiles to typed params, a builtins struct and its
// pipeline, checked again at run time by the same checker.
mod triage {
    flow_macros::flow!(
        r#"
# Comments and """ scripts pass in a raw string.
flow triage {
  param issue: int
  param repo: path = "."
  param tracker: str = "github"
  param dry_run: bool = true
  param ratio: float = 0.5
  param wait: duration = 1m30s
  param labels: list<str> = ["bug", "ui"]
  timeout 5m

  stage fetch { run builtin "fetch-issue"  outputs issue.txt }
  stage report {
    needs fetch
    run """
      cat issue.txt
    """
  }
}
"#
    );
}

async fn fetch(_ctx: flow_runtime::builtin::BuiltinContext) -> flow_runtime::builtin::BuiltinResult {
    Ok(flow_runtime::builtin::BuiltinOutcome::success())
}

fn main() {
    let params = triage::Params::new(42);
    let _: i64 = params.issue;
    let _: &std::path::Path = &params.repo;
    let _: &str = &params.tracker;
    let _: bool = params.dry_run;
    let _: f64 = params.ratio;
    assert_eq!(params.wait, std::time::Duration::from_secs(90));
    assert_eq!(params.labels, ["bug", "ui"]);
    assert_eq!(params.values().len(), 7);
    let builtins = triage::Builtins {
        fetch_issue: flow_runtime::builtin::Builtin::new(fetch),
    };
    let engine = triage::engine(builtins).expect("checks at run time too");
    assert!(engine.missing_builtins().is_empty());
    assert_eq!(triage::FLOW_NAME, "triage");
}
