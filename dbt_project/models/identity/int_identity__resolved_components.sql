{#- The member graph the registry assigns one_ids to: the deterministic components
    (int_identity__components), merged by the accepted receiver matches
    (int_identity__probabilistic_links) when var('identity_graph') is 'probabilistic'.
    component_num: the smallest deterministic component_num of the merged group (the
    deterministic one when not merged). identity_confidence: 1 for a member held together by
    exact keys only, else the lowest match probability of the links that made it, rounded down
    to 3 decimals: a lower bound at 0.001 (0.99999999982 -> 0.999: below 1 stays below 1, so
    identity_link_type is unchanged). The match probabilities are re-estimated from the whole
    graph every night and move, 1e-9 for the surest matches, ~1e-5 for the weakest: kept whole,
    that drift changed the state of a quarter of all records in one 1M night (3,458,432 of
    12,986,437, session 15), and the bridge, incremental by record, restaged them all; rounded to
    6 decimals 482,475 records (36,667 members) still moved a night, to 3 decimals 15,334 (1,233). -#}
{%- set graph = identity_graph() %}

with components as (
    select node_num, node_id, component_num from {{ ref('int_identity__components') }}
),

links as (
    select a_num, b_num, match_probability, link_group
    from {{ ref('int_identity__probabilistic_links') }}
    where is_linked and {{ 'true' if graph == 'probabilistic' else 'false' }}
),

grouped as (
    select a_num as component_num, link_group, match_probability from links
    union all
    select b_num as component_num, link_group, match_probability from links
),

groups as (
    select component_num, min(link_group) as link_group from grouped group by component_num
),

confidence as (
    select link_group, floor(min(match_probability) * 1000) / 1000 as identity_confidence
    from links
    group by link_group
)

select
    components.node_num,
    components.node_id,
    components.component_num as deterministic_component_num,
    coalesce(groups.link_group, components.component_num) as component_num,
    coalesce(confidence.identity_confidence, 1.0) as identity_confidence,
    '{{ graph }}' as identity_graph
from components
left join groups on groups.component_num = components.component_num
left join confidence on confidence.link_group = groups.link_group
