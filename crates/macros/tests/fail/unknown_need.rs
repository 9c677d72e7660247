// A flow that does not check: the build fails with `flow check`'s
// diagnostic (file, line, column, code, message, help), at the literal.
mod broken {
    flow_macros::flow!(
        r#"
flow broken {
  timeout 1m
  stage test { needs biuld  run "make test" }
  stage build { run "make" }
}
"#
    );
}

fn main() {}
