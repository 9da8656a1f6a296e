{#- Observations with their node number: (record, node) as one string key and one integer, the
    form the hub count and the edges join on. -#}
select o.source_table, o.record_key, o.identifier_type, n.node_num
from {{ ref('int_identity__observations') }} as o
join {{ ref('int_identity__node_stats') }} as n
    on n.identifier_type = o.identifier_type
   and n.identifier_value = o.identifier_value
