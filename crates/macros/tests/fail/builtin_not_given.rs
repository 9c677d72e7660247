// Builtins are checked at compile time: each one the flow names is a
// field the program must fill.
mod fetch {
    flow_macros::flow!(
        r#"
flow fetch {
  timeout 1m
  stage fetch { run builtin "fetch-issue" }
  stage push { run builtin "push" }
}
"#
    );
}

async fn push(_ctx: flow_runtime::builtin::BuiltinContext) -> flow_runtime::builtin::BuiltinResult {
    Ok(flow_runtime::builtin::BuiltinOutcome::success())
}

fn main() {
    let _ = fetch::Builtins {
        push: flow_runtime::builtin::Builtin::new(push),
    };
}
