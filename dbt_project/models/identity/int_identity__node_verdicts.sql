{#- Every identifier value seen (a node of the member graph) with the verdict of the value's own
    evidence on whether it may link records: blocked (blocklist, staff or store phone), a
    placeholder by its spread (many events a day or several stores a day, on several days;
    int_identity__node_spread), or a hub (it co-occurs with more distinct values of one
    person-scoped identifier type than its type's hub_threshold, e.g. one phone on the records of
    four different member cards; int_identity__hub_scores). int_identity__nodes adds the verdict
    of the graph (limit conflicts). Unusable nodes still belong to records, they just never join
    them. node_num is the integer the graph rounds join on (macro node_number).
    Incremental by neighbourhood on DuckDB (macro incremental_by_observations, as the hub scores
    and the spread it reads): a node's verdict is a function of its own statistics, hub score and
    spread, which change only for the nodes on a record that gained or lost an observation, and of
    the blocked values (a short list read in full every night: every node listed now, and every
    node blocked before, is restaged too). A restaged node no record carries any more comes out
    empty and loses its row. `_build_id`: the build that restaged the node. -#}
{{ config(**incremental_by_observations('node_id')) }}

with
{%- if is_incremental() %}
restaged as (
    {{ neighbourhoods_to_restage(ref('int_identity__observation_nodes')) }}
    union
    select {{ node_number(node_id('listed.identifier_type', 'listed.identifier_value')) }}
    from {{ ref('int_identity__blocked_values') }} as listed
    union
    select carried.node_num from {{ this }} as carried where carried.blocked_reason is not null
),
{%- endif %}

nodes as (
    select * from {{ ref('int_identity__node_stats') }}
    {%- if is_incremental() %}
    where node_num in (select restaged.node_num from restaged)
    {%- endif %}
),

rules as (
    select * from {{ ref('identity_identifier_types') }}
),

widest as (
    select * from {{ ref('int_identity__hub_scores') }}
),

spread as (
    select * from {{ ref('int_identity__node_spread') }}
),

blocked as (
    select identifier_type, identifier_value, min(reason) as reason
    from {{ ref('int_identity__blocked_values') }}
    group by identifier_type, identifier_value
),

verdicts as (
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
        rules.is_person_scoped,
        coalesce(widest.distinct_neighbours, 0) as widest_neighbour_count,
        widest.neighbour_type as widest_neighbour_type,
        spread.max_events_per_day,
        spread.max_places_per_day,
        spread.busy_days,
        spread.crowded_days,
        case
            when blocked.reason is not null then blocked.reason
            when spread.is_placeholder then 'placeholder by spread'
        end as blocked_reason,
        coalesce(widest.distinct_neighbours, 0) > rules.hub_threshold as is_hub
    from nodes
    join rules on rules.identifier_type = nodes.identifier_type
    left join widest on widest.node_num = nodes.node_num
    left join spread on spread.node_num = nodes.node_num
    left join blocked
        on blocked.identifier_type = nodes.identifier_type
       and blocked.identifier_value = nodes.identifier_value
),

judged as (
    select verdicts.*, verdicts.blocked_reason is null and not verdicts.is_hub as is_linkable
    from verdicts
)

{{ select_node_rows('judged', [
    'node_id', 'identifier_type', 'identifier_value', 'records', 'source_tables', 'first_observed_at',
    'last_observed_at', 'priority', 'is_person_scoped', 'widest_neighbour_count', 'widest_neighbour_type',
    'max_events_per_day', 'max_places_per_day', 'busy_days', 'crowded_days', 'blocked_reason', 'is_hub',
    'is_linkable']) }}
