; Zed only (no counterpart in editors/tree-sitter-flow/queries/): the pairs
; Zed matches and jumps between.

("{" @open "}" @close)
("(" @open ")" @close)
("[" @open "]" @close)
(string "\"" @open "\"" @close)
