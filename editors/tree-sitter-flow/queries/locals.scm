; Stage names are the flow's (or template's) own: `needs` and route targets
; refer to them. Template parameters are scoped to their template.

(flow_body) @local.scope
(template) @local.scope

(stage name: (identifier) @local.definition)
(finally name: (identifier) @local.definition)
(template_parameter name: (identifier) @local.definition)

(needs (identifier) @local.reference)
(route_target (identifier) @local.reference)
