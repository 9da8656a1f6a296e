{#- The member graph's memory: every identifier value and the one_id it belongs to. The next
    run reads this table before rebuilding it (int_identity__id_pairs), which is what keeps
    one_id stable from run to run. -#}
select
    components.node_id,
    nodes.identifier_type,
    nodes.identifier_value,
    assignments.one_id,
    assignments.one_id_created_at,
    assignments.one_id_anchor_node,
    assignments.identity_confidence,
    {{ run_started_at_literal() }} as assigned_at
from {{ ref('int_identity__resolved_components') }} as components
join {{ ref('int_identity__nodes') }} as nodes on nodes.node_num = components.node_num
join {{ ref('int_identity__assignments') }} as assignments on assignments.component_num = components.component_num
