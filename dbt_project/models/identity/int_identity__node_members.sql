{#- The one_id of every linkable node: what identity_registry holds, by node_num instead of
    node_id, for the record and edge tables of this run to join on an integer. -#}
{{ config(materialized='ephemeral') }}
select components.node_num, assignments.one_id
from {{ ref('int_identity__resolved_components') }} as components
join {{ ref('int_identity__assignments') }} as assignments
    on assignments.component_num = components.component_num
