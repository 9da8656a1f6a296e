{#- Observations with their node number and an integer record hash (macro record_hash): the
    form the hub count and the edges join on, integers in place of (type, value) strings. -#}
select
    o.source_table,
    o.record_key,
    {{ record_hash('o.source_table', 'o.record_key') }} as record_hash,
    o.identifier_type,
    n.node_num,
    o.observed_at
from {{ ref('int_identity__observations') }} as o
join {{ ref('int_identity__node_stats') }} as n
    on n.identifier_type = o.identifier_type
   and n.identifier_value = o.identifier_value
