{#- Observations with their node number and an integer record hash (macro record_hash): the
    form the hub count and the edges join on, integers in place of (type, value) strings. The node
    number is a function of the identifier (macro node_number): computed here, not joined from
    int_identity__node_stats. The value is kept beside its number for int_identity__node_stats,
    which groups these rows (and, incremental by node, only the rows of the nodes to restage). -#}
select
    o.source_table,
    o.record_key,
    {{ record_hash('o.source_table', 'o.record_key') }} as record_hash,
    o.identifier_type,
    o.identifier_value,
    {{ node_number(node_id('o.identifier_type', 'o.identifier_value')) }} as node_num,
    o.observed_at
from {{ ref('int_identity__observations') }} as o
