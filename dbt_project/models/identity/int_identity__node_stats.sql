{#- Every identifier value seen (a node of the member graph), numbered, with where and when it
    was seen; int_identity__nodes adds the verdict. node_num is a 60-bit hash of node_id (macro
    node_number): the graph rounds and the hub count join on it instead of on (type, value)
    strings (at 10M members the hub count on strings spilled more than 40 GB to disk and filled
    it), and it is the same in every build that sees the node.
    Incremental by the observations' change log on DuckDB (macro incremental_by_observations): a
    nightly restages the nodes of the observations added or deleted since it last ran (a node's
    row is a function of its own observations), reading only those nodes' observations; a
    restaged node no observation carries any more loses its row. Grouped by (node_num,
    identifier_type, identifier_value): two values sharing a number stay two rows, and the unique
    test on node_num fails the build. `_build_id`: the build that restaged the node (the
    uniqueness tests read the nodes they have not passed on, macros/tests/untested_rows.sql). -#}
{{ config(**incremental_by_observations('node_id')) }}

with
{%- if is_incremental() %}
restaged as (
    {{ nodes_observed_anew(ref('int_identity__observation_nodes')) }}
),
{%- endif %}

observed as (
    select node_num, identifier_type, identifier_value, source_table, observed_at
    from {{ ref('int_identity__observation_nodes') }}
    {%- if is_incremental() %}
    where node_num in (select restaged.node_num from restaged)
    {%- endif %}
),

per_source as (
    select
        node_num,
        identifier_type,
        identifier_value,
        source_table,
        count(*) as records,
        min(observed_at) as first_observed_at,
        max(observed_at) as last_observed_at
    from observed
    group by node_num, identifier_type, identifier_value, source_table
),

per_node as (
    select
        node_num,
        {{ node_id('identifier_type', 'identifier_value') }} as node_id,
        identifier_type,
        identifier_value,
        sum(records) as records,
        count(*) as source_tables,
        min(first_observed_at) as first_observed_at,
        max(last_observed_at) as last_observed_at
    from per_source
    group by node_num, identifier_type, identifier_value
)

{{ select_node_rows('per_node', ['node_id', 'identifier_type', 'identifier_value', 'records', 'source_tables',
                              'first_observed_at', 'last_observed_at']) }}
