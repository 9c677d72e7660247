; Made from editors/tree-sitter-flow/queries/injections.scm by the rule in
; crates/cli/tests/zed_extension.rs: edit that query, not this copy.

; A stage's `run """…"""` script is shell (bash unless the stage, its
; template or the flow sets another `shell`, which a query cannot see).
((run
  script: (raw_string (raw_string_content) @injection.content))
  (#set! injection.language "bash"))

((comment) @injection.content
  (#set! injection.language "comment"))
