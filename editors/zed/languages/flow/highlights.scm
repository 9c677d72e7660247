; Made from editors/tree-sitter-flow/queries/highlights.scm by the rule in
; crates/cli/tests/zed_extension.rs: edit that query, not this copy.

; Highlights for .flow files. Capture names are the common ones of
; nvim-treesitter, Helix, Zed and the tree-sitter CLI. No node is captured
; twice (editors disagree on whether the first or the last pattern wins).

(comment) @comment

[
  "use" "as" "flow" "template" "stage" "finally"
  "param" "let" "env" "secret" "description" "timeout" "concurrency"
  "skip" "if" "shell" "budget" "alert" "trigger" "cron" "every"
  "needs" "run" "builtin" "grace" "idle" "approval" "retry" "delay"
  "backoff" "outputs" "optional" "when" "status" "max" "ends"
  "on" "again" "after" "exit" "success" "failure"
] @keyword

(allow_failure) @keyword

["usd" "tokens"] @type.builtin

(std) @namespace

; Definitions
(flow name: (identifier) @type)
(template name: (identifier) @function)
(stage name: (identifier) @function)
(finally name: (identifier) @function)
(param name: (identifier) @variable)
(let name: (identifier) @variable)
(env name: (identifier) @variable)
(secret name: (identifier) @variable)
(use alias: (identifier) @namespace)
(template_parameter name: (identifier) @variable.parameter)
(type name: (identifier) @type.builtin)
(type element: (identifier) @type.builtin)

; References
(template_call library: (identifier) @namespace)
(template_call name: (identifier) @function.call)
(template_argument name: (identifier) @variable.parameter)
(needs (identifier) @function)
(route_target (identifier) @function)
(max (identifier) @variable)
(alert_metric name: (identifier) @function.builtin)
(alert_metric stage: (identifier) @function)
(status format: (identifier) @constant)
(ends_run outcome: (identifier) @constant)

; Values
(string) @string
(raw_string) @string
(escape_sequence) @string.escape
(path) @string.special.path
[(integer) (float) (number) (duration)] @number
(boolean) @boolean

; Operators and punctuation
["->" "="] @operator
(comparison_operator) @operator
(type ["<" ">"] @punctuation.bracket)
["{" "}" "(" ")" "[" "]"] @punctuation.bracket
["," ":" "."] @punctuation.delimiter
