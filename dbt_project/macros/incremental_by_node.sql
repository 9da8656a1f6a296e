{#- Identity tables incremental by node or by record (issue 20): a nightly restages only the graph
    nodes whose observations changed, or the records whose inputs changed, and the result equals a
    full rebuild row for row.

    A node's row is a function of its observations alone (int_identity__observation_nodes: every
    record x identifier). Each row keeps a checksum of them: its observation count (`records`) and
    `observations_checksum`, the xor of a hash of every observation (record, source table, time).
    An incremental run computes both for every node from this build's observations, an integer
    group by, and restages the nodes where either differs from the carried row, or that the carried
    table lacks (a new identifier); the post-hook deletes the nodes no record carries any more.
    The checksum is the table's own memory: it does not depend on which build ran before (a run of
    a few assets, a killed night) the way a diff against the previous file would.

    A carried table is only used while its fingerprint is unchanged (orchestration/publish.py,
    like the models staged by load): a change to the SQL, a macro or anything upstream builds it in
    full. Spark builds it as a table (no delete+insert without Delta; docs/incremental.md). -#}

{% macro incremental_by_node() -%}
    {%- if target.type == 'duckdb' -%}
        {{ return({
            'materialized': 'incremental',
            'incremental_strategy': 'delete+insert',
            'unique_key': 'node_num',
            'on_schema_change': 'fail',
            'post_hook': ["{{ delete_unobserved_nodes() }}"],
            'tags': ['incremental_by_node'],
        }) }}
    {%- else -%}
        {{ return({'materialized': 'table', 'tags': ['incremental_by_node']}) }}
    {%- endif -%}
{%- endmacro %}

{#- An order-free checksum of a set of rows, as an aggregate: the xor over the rows of a 64-bit
    mix of `columns` (a list of SQL expressions). The mix is hash() applied twice: DuckDB's hash of
    several values combines their hashes linearly in xor (hash(a, t) xor hash(b, t) does not depend
    on t), so two rows sharing a changed value (two receipt lines of one time, re-exported at
    another) would cancel out; hashing the combined value again breaks that. -#}
{% macro rows_checksum(columns) -%}
    bit_xor(hash(hash({{ columns | join(', ') }})))
{%- endmacro %}

{#- The checksum of a node's observations, as an aggregate over rows of `observations` (columns
    record_hash, source_table, observed_at). With the count it tells a changed node from an
    unchanged one; xor, so per-source partial checksums combine. -#}
{% macro observations_checksum(relation_alias='') -%}
    {%- set p = relation_alias ~ '.' if relation_alias else '' -%}
    {{ rows_checksum([p ~ 'record_hash', p ~ 'source_table', p ~ 'observed_at']) }}
{%- endmacro %}

{#- The nodes of `observations` (a relation) whose count or checksum differs from the carried rows
    of this model, or which it does not hold. -#}
{% macro nodes_to_restage(observations) -%}
    select counted.node_num
    from (
        select node_num, count(*) as records, {{ observations_checksum() }} as observations_checksum
        from {{ observations }}
        group by node_num
    ) as counted
    left join {{ this }} as carried on carried.node_num = counted.node_num
    where carried.node_num is null
       or carried.records <> counted.records
       or carried.observations_checksum <> counted.observations_checksum
{%- endmacro %}

{#- Post-hook: nodes no observation carries any more (every record of them changed or left). -#}
{% macro delete_unobserved_nodes() -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where node_num not in (select node_num from {{ ref('int_identity__observation_nodes') }})
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}

{#- The same for a table with one row per source record (bridge_record_member): unique on
    record_hash (macro record_hash; no two records of a build share one, a singular test). Each row
    keeps `identifiers` and a `state_checksum` of everything its row is made of (records_to_restage
    names what); a nightly restages the records where either differs or that the table lacks, and
    the post-hook deletes the records no longer observed. -#}
{% macro incremental_by_record() -%}
    {%- if target.type == 'duckdb' -%}
        {{ return({
            'materialized': 'incremental',
            'incremental_strategy': 'delete+insert',
            'unique_key': 'record_hash',
            'on_schema_change': 'fail',
            'post_hook': ["{{ delete_unobserved_records() }}"],
            'tags': ['incremental_by_record'],
        }) }}
    {%- else -%}
        {{ return({'materialized': 'table', 'tags': ['incremental_by_record']}) }}
    {%- endif -%}
{%- endmacro %}

{#- The records of `checked` (a relation of record_hash, identifiers, state_checksum computed from
    this build's inputs) whose count or checksum differs from the carried rows, or which they lack. -#}
{% macro records_to_restage(checked) -%}
    select checked.record_hash
    from {{ checked }} as checked
    left join {{ this }} as carried on carried.record_hash = checked.record_hash
    where carried.record_hash is null
       or carried.identifiers <> checked.identifiers
       or carried.state_checksum <> checked.state_checksum
{%- endmacro %}

{#- Post-hook: records no observation carries any more (their file left the lake, or its rows). -#}
{% macro delete_unobserved_records() -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where record_hash not in (select record_hash from {{ ref('int_identity__observation_epochs') }})
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
