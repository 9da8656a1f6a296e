{#- Observations with their node number and an integer record hash (macro record_hash): the
    form the hub count and the edges join on, integers in place of (type, value) strings. The node
    number is a function of the identifier (macro node_number): computed here, not joined from
    int_identity__node_stats. The value is kept beside its number for int_identity__node_stats,
    which groups these rows (and, incremental by node, only the rows of the nodes to restage), and
    the record's place for int_identity__node_spread (which joins on the number, not the strings).
    Incremental by source row on DuckDB (macro incremental_by_source_row): a nightly adds the
    observations of the source rows that are new or changed (by row_check, the hash of the columns
    an observation is made of) and deletes those of the rows that changed or left; the MD5s of the
    node and record numbers are computed for those rows only. `_build_id`: the build that added the
    row (its uniqueness test reads the keys of the rows it has not passed on, macros/tests/untested_rows.sql). -#}
{{ config(**incremental_by_source_row()) }}
{#- the incremental run reads the sources themselves (their row checks), not only through the
    ephemeral observations: -#}
{%- for src in var('identity_sources') %}
-- depends_on: {{ ref(src.model) }}
{%- endfor %}

select
    o.source_table,
    o.record_key,
    {{ record_hash('o.source_table', 'o.record_key') }} as record_hash,
    o.identifier_type,
    o.identifier_value,
    {{ node_number(node_id('o.identifier_type', 'o.identifier_value')) }} as node_num,
    o.observed_at,
    o.place,
    o.row_check,
    {{ build_id() }} as _build_id
from {{ ref('int_identity__observations') }} as o
{%- if is_incremental() %}
where o.row_check in ({{ source_rows_to_add() }})
{%- endif %}
