{#- Every identifier value seen (a node of the member graph) with the verdict on whether it may
    link records: blocked (blocklist, staff or store phone) or hub (it co-occurs with more
    distinct values of one person-scoped identifier type than its type's hub_threshold, e.g.
    one phone on the records of four different member cards; int_identity__hub_scores). Unusable
    nodes still belong to records, they just never join them. node_num is a dense integer for
    the graph rounds (int_identity__node_stats). -#}
with nodes as (
    select * from {{ ref('int_identity__node_stats') }}
),

rules as (
    select * from {{ ref('identity_identifier_types') }}
),

widest as (
    select * from {{ ref('int_identity__hub_scores') }}
),

blocked as (
    select identifier_type, identifier_value, min(reason) as reason
    from {{ ref('int_identity__blocked_values') }}
    group by identifier_type, identifier_value
)

select
    nodes.node_num,
    nodes.node_id,
    nodes.identifier_type,
    nodes.identifier_value,
    nodes.records,
    nodes.source_tables,
    nodes.first_observed_at,
    nodes.last_observed_at,
    rules.priority,
    coalesce(widest.distinct_neighbours, 0) as widest_neighbour_count,
    widest.neighbour_type as widest_neighbour_type,
    blocked.reason as blocked_reason,
    coalesce(widest.distinct_neighbours, 0) > rules.hub_threshold as is_hub,
    blocked.reason is null and coalesce(widest.distinct_neighbours, 0) <= rules.hub_threshold as is_linkable
from nodes
join rules on rules.identifier_type = nodes.identifier_type
left join widest on widest.node_num = nodes.node_num
left join blocked
    on blocked.identifier_type = nodes.identifier_type
   and blocked.identifier_value = nodes.identifier_value
