; A stage's `run """…"""` script is shell (bash unless the stage, its
; template or the flow sets another `shell`, which a query cannot see).
((run
  script: (raw_string (raw_string_content) @injection.content))
  (#set! injection.language "bash"))

((comment) @injection.content
  (#set! injection.language "comment"))
