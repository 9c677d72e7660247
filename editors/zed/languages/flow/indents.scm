; Zed only: a block's contents are indented one level, and its closing
; bracket goes back out.

(flow_body "}" @end) @indent
(stage_body "}" @end) @indent
(template_parameters ")" @end) @indent
(template_arguments ")" @end) @indent
(list "]" @end) @indent
