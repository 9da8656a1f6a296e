{#- Every identifier value seen (a node of the member graph) with the verdict on whether it may
    link records: blocked (blocklist, staff or store phone) or hub (it co-occurs with more
    distinct values of one person-scoped identifier type than its type's hub_threshold, e.g.
    one phone on the records of four different member cards). Unusable nodes still belong to
    records, they just never join them. node_num is a dense integer for the graph rounds. -#}
with observations as (
    select * from {{ ref('int_identity__observations') }}
),

rules as (
    select * from {{ ref('identity_identifier_types') }}
),

person_scoped as (
    -- only person-scoped neighbours count towards a hub, so only they are paired
    select observations.source_table, observations.record_key,
           observations.identifier_type, observations.identifier_value
    from observations
    join rules on rules.identifier_type = observations.identifier_type and rules.is_person_scoped
),

diversity as (
    -- two identifiers of the same record are neighbours
    select a.identifier_type, a.identifier_value, b.identifier_type as neighbour_type,
           count(distinct b.identifier_value) as distinct_neighbours
    from observations as a
    join person_scoped as b
        on a.source_table = b.source_table
       and a.record_key = b.record_key
       and (a.identifier_type <> b.identifier_type or a.identifier_value <> b.identifier_value)
    group by a.identifier_type, a.identifier_value, b.identifier_type
),

widest as (
    select identifier_type, identifier_value, neighbour_type, distinct_neighbours
    from (
        select diversity.*,
               row_number() over (
                   partition by identifier_type, identifier_value order by distinct_neighbours desc, neighbour_type
               ) as rank_in_node
        from diversity
    ) as ranked
    where rank_in_node = 1
),

nodes as (
    select
        {{ dbt.concat(['identifier_type', "':'", 'identifier_value']) }} as node_id,
        identifier_type,
        identifier_value,
        count(*) as records,
        count(distinct source_table) as source_tables,
        min(observed_at) as first_observed_at,
        max(observed_at) as last_observed_at
    from observations
    group by identifier_type, identifier_value
),

blocked as (
    select identifier_type, identifier_value, min(reason) as reason
    from {{ ref('int_identity__blocked_values') }}
    group by identifier_type, identifier_value
)

select
    row_number() over (order by nodes.node_id) as node_num,
    nodes.*,
    rules.priority,
    coalesce(widest.distinct_neighbours, 0) as widest_neighbour_count,
    widest.neighbour_type as widest_neighbour_type,
    blocked.reason as blocked_reason,
    coalesce(widest.distinct_neighbours, 0) > rules.hub_threshold as is_hub,
    blocked.reason is null and coalesce(widest.distinct_neighbours, 0) <= rules.hub_threshold as is_linkable
from nodes
join rules on rules.identifier_type = nodes.identifier_type
left join widest
    on widest.identifier_type = nodes.identifier_type
   and widest.identifier_value = nodes.identifier_value
left join blocked
    on blocked.identifier_type = nodes.identifier_type
   and blocked.identifier_value = nodes.identifier_value
