{#- Every identifier value seen (a node of the member graph), numbered, with where and when it
    was seen; int_identity__nodes adds the verdict. node_num is a 60-bit hash of node_id (macro
    node_number): the graph rounds and the hub count join on it instead of on (type, value)
    strings (at 10M members the hub count on strings spilled more than 40 GB to disk and filled
    it), and it is the same in every build that sees the node. -#}
with per_source as (
    select identifier_type, identifier_value, source_table, count(*) as records,
           min(observed_at) as first_observed_at, max(observed_at) as last_observed_at
    from {{ ref('int_identity__observations') }}
    group by identifier_type, identifier_value, source_table
),

nodes as (
    select
        {{ node_id('identifier_type', 'identifier_value') }} as node_id,
        identifier_type,
        identifier_value,
        sum(records) as records,
        count(*) as source_tables,
        min(first_observed_at) as first_observed_at,
        max(last_observed_at) as last_observed_at
    from per_source
    group by identifier_type, identifier_value
)

select {{ node_number('node_id') }} as node_num, nodes.*
from nodes
