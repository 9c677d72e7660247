; Zed only: the outline panel and symbol search list the flow, its
; templates and its stages (the keyword shown as context before the name).

(flow "flow" @context name: (identifier) @name) @item
(template "template" @context name: (identifier) @name) @item
(stage "stage" @context name: (identifier) @name) @item
(finally "finally" @context name: (identifier) @name) @item
