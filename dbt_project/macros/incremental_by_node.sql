{#- Identity tables incremental by record or by source row (issue 20), and the pieces the tables of
    nodes share (macros/incremental_by_change.sql, incremental_by_observations): a nightly restages
    only the records whose inputs changed, or the observations of the source rows that changed,
    and the result equals a full rebuild row for row.

    The bridge keeps on each row a checksum of what the row is made of and restages the records
    where it differs; the observations keep each source row's check and add or delete the rows
    whose check changed, noting the deleted ones (meta.vanished_observations) for the tables of
    nodes, which read that change log. (Until session 18 int_identity__node_stats kept its own
    checksum of each node's observations and recomputed it for every node each night: 4.6-8.0 s
    at 1M, against 0.05 s to read the nodes of a night's observations from the change log.)

    A carried table is only used while its fingerprint is unchanged (orchestration/publish.py,
    like the models staged by load): a change to the SQL, a macro or anything upstream builds it in
    full. Spark builds it as a table (no delete+insert without Delta; docs/incremental.md). -#}

{#- config() of a table carried by fingerprint and updated by key: `strategy` (delete+insert on
    `unique_key`, or append) and the post-hooks `post_hooks` (hook strings, run in order) on DuckDB,
    a plain table elsewhere; tagged `tag`. Also the config of the models staged by load
    (incremental_by_load) and incremental by change (incremental_by_change). -#}
{% macro carried_incremental(unique_key, post_hooks, tag, strategy='delete+insert') -%}
    {%- if target.type == 'duckdb' -%}
        {%- set config = {
            'materialized': 'incremental',
            'incremental_strategy': strategy,
            'on_schema_change': 'fail',
            'post_hook': post_hooks,
            'tags': [tag],
        } -%}
        {%- if unique_key -%}{%- do config.update({'unique_key': unique_key}) -%}{%- endif -%}
        {{ return(config) }}
    {%- else -%}
        {{ return({'materialized': 'table', 'tags': [tag]}) }}
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

{#- The keys of `checked` (a relation of `key` and the `compared` columns, computed from this
    build's inputs) whose compared values differ from this model's carried row, or which it lacks. -#}
{% macro changed_keys(checked, key, compared) -%}
    select checked.{{ key }}
    from {{ checked }} as checked
    left join {{ this }} as carried on carried.{{ key }} = checked.{{ key }}
    where carried.{{ key }} is null
    {%- for column in compared %}
       or carried.{{ column }} <> checked.{{ column }}
    {%- endfor %}
{%- endmacro %}

{#- Post-hook of an incremental run: this model's rows whose `key` no row of model `observed` has. -#}
{% macro delete_unobserved(key, observed) -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where {{ key }} not in (select {{ key }} from {{ ref(observed) }})
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
    {{ return(carried_incremental('record_hash', ['{{ delete_unobserved_records() }}'], 'incremental_by_record')) }}
{%- endmacro %}

{#- The records of `checked` (a relation of record_hash, identifiers, state_checksum computed from
    this build's inputs) whose count or checksum differs from the carried rows, or which they lack. -#}
{% macro records_to_restage(checked) -%}
    {{ changed_keys(checked, 'record_hash', ['identifiers', 'state_checksum']) }}
{%- endmacro %}

{#- Post-hook: records no observation carries any more (their file left the lake, or its rows). -#}
{% macro delete_unobserved_records() -%}
    {{ delete_unobserved('record_hash', 'int_identity__observation_epochs') }}
{%- endmacro %}

{#- The same for int_identity__observation_nodes, by source row: each observation keeps the
    row_check of the staging row it comes from (macros/identity/source_rows.sql). A nightly hashes
    every source row and appends the observations of the rows whose check the table lacks (a new or
    changed row); the post-hook deletes the observations whose check no source row has any more
    (the old version of a changed row, a row that left or lost its last identifier). No string is
    hashed with MD5 or grouped for the rows that did not change. -#}
{% macro incremental_by_source_row() -%}
    {{ return(carried_incremental(none, ['{{ note_vanished_observations() }}', '{{ delete_vanished_source_rows() }}'],
                                  'incremental_by_source_row', 'append')) }}
{%- endmacro %}

{#- The source rows (relation of row_check) this model does not hold yet. -#}
{% macro source_rows_to_add() -%}
    select checks.row_check
    from ({{ source_row_checks() }}) as checks
    where not exists (select 1 from {{ this }} as carried where carried.row_check = checks.row_check)
{%- endmacro %}

{#- Where int_identity__observation_nodes notes the observations it deletes (the change log of its
    deletions: build, row check, record, node), so that a table of nodes by neighbourhood
    (incremental_by_observations) sees the records that lost an observation. The consumers prune
    what every one of them has read (prune_vanished_observations). -#}
{% macro vanished_observations_relation() -%}
meta.vanished_observations
{%- endmacro %}

{#- Started by on-run-start (create_consumed_builds), with the other records of the change logs. -#}
{% macro create_vanished_observations() -%}
    {%- if execute and target.type == 'duckdb' -%}
        {%- do run_query('create schema if not exists meta') -%}
        {%- do run_query('create table if not exists ' ~ vanished_observations_relation()
                         ~ ' (build_id varchar, row_check ubigint, record_hash ubigint, node_num bigint)') -%}
    {%- endif -%}
{%- endmacro %}

{#- Post-hooks: the observations whose source row is gone or changed are noted under this build,
    then deleted by their row check (the anti-join over every source row runs once). -#}
{% macro note_vanished_observations() -%}
    {%- if is_incremental() -%}
    insert into {{ vanished_observations_relation() }}
    select '{{ invocation_id }}', row_check, record_hash, node_num
    from {{ this }}
    where not exists (
        select 1 from ({{ source_row_checks() }}) as checks where checks.row_check = {{ this }}.row_check
    )
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}

{% macro delete_vanished_source_rows() -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where row_check in (
        select vanished.row_check from {{ vanished_observations_relation() }} as vanished
        where vanished.build_id = '{{ invocation_id }}'
    )
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
