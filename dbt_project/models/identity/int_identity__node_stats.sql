{#- Every identifier value seen (a node of the member graph), numbered, with where and when it
    was seen; int_identity__nodes adds the verdict. node_num is a 60-bit hash of node_id (macro
    node_number): the graph rounds and the hub count join on it instead of on (type, value)
    strings (at 10M members the hub count on strings spilled more than 40 GB to disk and filled
    it), and it is the same in every build that sees the node.
    Incremental by node (macro incremental_by_node): a nightly restages the nodes whose
    observations changed (count or observations_checksum), the rest are carried. Grouped by
    (node_num, identifier_type, identifier_value): two values sharing a number stay two rows, and
    the unique test on node_num fails the build. `_build_id`: the build that restaged the node (the
    uniqueness tests read the nodes they have not passed on, macros/tests/untested_rows.sql). -#}
{{ config(**incremental_by_node()) }}

with observed as (
    select node_num, identifier_type, identifier_value, source_table, record_hash, observed_at
    from {{ ref('int_identity__observation_nodes') }}
    {%- if is_incremental() %}
    where node_num in ({{ nodes_to_restage(ref('int_identity__observation_nodes')) }})
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
        max(observed_at) as last_observed_at,
        {{ observations_checksum() }} as observations_checksum
    from observed
    group by node_num, identifier_type, identifier_value, source_table
)

select
    node_num,
    {{ node_id('identifier_type', 'identifier_value') }} as node_id,
    identifier_type,
    identifier_value,
    sum(records) as records,
    count(*) as source_tables,
    min(first_observed_at) as first_observed_at,
    max(last_observed_at) as last_observed_at,
    bit_xor(observations_checksum) as observations_checksum,
    {{ build_id() }} as _build_id
from per_source
group by node_num, identifier_type, identifier_value
