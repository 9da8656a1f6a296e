{#- For every node with person-scoped neighbours: its widest neighbour type and how many distinct
    values of that type it co-occurs with on the same records (one phone on the records of four
    member cards: 4 'card_no'). int_identity__nodes calls a node a hub above its type's
    hub_threshold. A model of its own rather than a CTE of the nodes: DuckDB can spill each
    blocking operator (join, group, window) to disk, but several in one statement may still run
    out of memory together (its "Tuning workloads" limitations) - a 10M-member concern.
    Incremental by neighbourhood on DuckDB (macro incremental_by_observations): a nightly restages the
    nodes on the records that gained or lost an observation since it last ran, reading only those
    nodes' records; a restaged node left without a person-scoped neighbour loses its row.
    `_build_id`: the build that restaged the node. -#}
{{ config(**incremental_by_observations('neighbour_type')) }}

with
{%- if is_incremental() %}
restaged as (
    {{ neighbourhoods_to_restage(ref('int_identity__observation_nodes')) }}
),

restaged_records as (
    select distinct observed.record_hash
    from {{ ref('int_identity__observation_nodes') }} as observed
    where observed.node_num in (select restaged.node_num from restaged)
),
{%- endif %}

observed as (
    select record_hash, identifier_type, node_num from {{ ref('int_identity__observation_nodes') }}
    {%- if is_incremental() %}
    where record_hash in (select restaged_records.record_hash from restaged_records)
    {%- endif %}
),

rules as (
    select * from {{ ref('identity_identifier_types') }}
),

person_scoped as (
    -- only person-scoped neighbours count towards a hub, so only they are paired
    select observed.record_hash, observed.identifier_type, observed.node_num
    from observed
    join rules on rules.identifier_type = observed.identifier_type and rules.is_person_scoped
),

neighbours as (
    -- two identifiers of the same record are neighbours. Distinct first, then counted: plain
    -- grouping can spill to disk, a per-group distinct state not always (10M members)
    select distinct a.node_num, b.identifier_type as neighbour_type, b.node_num as neighbour_num
    from observed as a
    join person_scoped as b
        on b.record_hash = a.record_hash
       and b.node_num <> a.node_num
    {%- if is_incremental() %}
    where a.node_num in (select restaged.node_num from restaged)
    {%- endif %}
),

diversity as (
    select node_num, neighbour_type, count(*) as distinct_neighbours
    from neighbours
    group by node_num, neighbour_type
),

scored as (
    select node_num, neighbour_type, distinct_neighbours
    from (
        select diversity.*,
               row_number() over (
                   partition by node_num order by distinct_neighbours desc, neighbour_type asc
               ) as rank_in_node
        from diversity
    ) as ranked
    where rank_in_node = 1
)

{{ select_node_rows('scored', ['neighbour_type', 'distinct_neighbours']) }}
