{#- Staging built by load (issue 20): a nightly stages only the records that new landing files
    touched, and the result equals a full rebuild row for row.

    A staging model keeps one version per business key out of every export that carried the key
    (deduplicate + newest_version_first): the winner depends on all of a key's raw rows, not only
    on the new ones, because a file loaded tonight may hold an older version than one loaded last
    month. So an incremental run does not append tonight's rows; it picks the keys to stage again
    and deduplicates each of them over all of its raw rows:

    1. keys with a raw row of a load the model has not staged yet: the loads in the lake less the
       ones its last build recorded in `meta.staged_loads` (load id, row count and load time,
       written by the post-hooks). A set of loads, not a time: a load stamped by a clock that
       ran behind is still new, and last week's loads are not staged again (a load-time watermark
       with a lookback took every load of the lookback's days, all of a brand's history on the
       first nights after its first load). A load whose row count changed (a file still being
       written when the last build read the lake) counts as new;
    2. keys whose staged row came from a load that is no longer in the lake (a file the raw gate
       took out, a segment loosened and re-gated, an erased person's file rewritten): the key
       is staged again from the versions left, or deleted by the post-hook when none is left.

    Then dbt's delete+insert replaces those keys (unique_key: the grain the model's own window
    functions partition by, e.g. a JD order, whose lines are numbered per order). A corrected
    file (new content) is a new load (`_load_id` is the hash of the file's bytes); a file loaded
    again (`--reload` after a contract fix) keeps its load id and gets a new load time, so its
    record no longer matches: both are step 1.

    The lake's files are read through the source's glob either way; what an incremental run
    saves is the deduplication window, the seed joins and the write over every key (a copy of
    the table from the served file, orchestration/publish.py carry_over, is what a nightly pays
    instead). Measured in docs/incremental.md.

    Spark builds these models as tables (materialized='table' on any other adapter): it has no
    delete+insert without Delta (STACK_NOTES), and the Spark build is the equality check of the
    DuckDB one, not a nightly. -#}

{#- config() arguments of a staging model incremental by load over raw `table`; unique_key: the
    column (or list) whose keys are replaced together. -#}
{% macro incremental_by_load(table, unique_key) -%}
    {{ return(carried_incremental(unique_key, [
        "{{ note_vanished_loads('" ~ table ~ "') }}", "{{ delete_vanished_loads('" ~ table ~ "') }}",
        "{{ forget_staged_loads() }}", "{{ record_staged_loads('" ~ table ~ "') }}"], 'incremental_by_load')) }}
{%- endmacro %}

{#- The rows of raw relation `raw` to deduplicate: all of them in a full build, in an incremental
    run only the rows of the keys to stage again. `key`: the unique_key's columns as raw names them
    (SQL text), `staged_key` as the model names them where it renames them (default: the same).
    Called by deduplicate(source('raw', ...), ..., stage_again_by=key, staged_as=staged_key). -#}
{% macro rows_to_stage(raw, key, staged_key=none) -%}
    {%- if is_incremental() -%}
    (
        select * from {{ raw }}
        where ({{ key }}) in (
            {{ keys_to_stage_again(raw, key, staged_key or key) }}
        )
    )
    {%- else -%}
    {{ raw }}
    {%- endif -%}
{%- endmacro %}

{% macro keys_to_stage_again(raw, key, staged_key) -%}
    select {{ key }} from {{ raw }}
            where _load_id in ({{ loads_not_staged(raw) }})
            union
            select {{ staged_key }} from {{ this }}
            where _load_id not in (select loads._load_id from {{ raw }} as loads)
{%- endmacro %}

{#- Where a build records the loads each model staged by load has staged (a table of the build
    file outside dbt's schemas; orchestration/publish.py carries it to the next build with the
    tables): model (schema.relation), load id, and the load's row count and load time when it was
    staged. -#}
{% macro staged_loads_relation() -%}
meta.staged_loads
{%- endmacro %}

{#- on-run-start (dbt_project.yml): the table exists before a model's incremental run reads it
    (an empty one makes every load new: a table carried without its record is staged again in
    full). Created once per run, not by each model: two threads creating it conflict; only by
    the commands that build models (a `dbt test` or `dbt show` may read a served file read-only). -#}
{% macro create_staged_loads() -%}
    {%- if execute and target.type == 'duckdb' and flags.WHICH in ('run', 'build') -%}
        {%- do run_query('create schema if not exists meta') -%}
        {%- do run_query('create table if not exists ' ~ staged_loads_relation()
                         ~ ' (model varchar, load_id varchar, row_count bigint, loaded_at timestamp)') -%}
    {%- endif -%}
{%- endmacro %}

{#- The loads of raw relation `raw` this model has not staged: not recorded, or recorded with
    another row count or load time (a file loaded again with `--reload` keeps its load id, the
    hash of its bytes, and gets a new load time; after a contract fix its rows may differ). -#}
{% macro loads_not_staged(raw) -%}
select lake._load_id from (
                select _load_id, count(*) as row_count, max(_loaded_at) as loaded_at
                from {{ raw }}
                group by _load_id
            ) as lake
            where not exists (
                select 1 from {{ staged_loads_relation() }} as staged
                where staged.model = '{{ this.schema }}.{{ this.identifier }}'
                    and staged.load_id = lake._load_id
                    and staged.row_count = lake.row_count
                    and staged.loaded_at = lake.loaded_at
            )
{%- endmacro %}

{#- Post-hook, before delete_vanished_loads: when it will delete rows, the build is noted in
    meta.deletions (macros/incremental_by_change.sql): a model incremental by change that reads this
    one at a coarser grain (an order of POS receipt lines) cannot see a deleted line in the change
    log of the rows left, so it restages every key once for that build. -#}
{% macro note_vanished_loads(table) -%}
    insert into {{ deletions_relation() }}
    select '{{ this.schema }}.{{ this.identifier }}', '{{ invocation_id }}'
    where exists (select 1 from {{ this }} where {{ _load_vanished(table) }})
{%- endmacro %}

{#- A condition on this model's rows: staged from a load of raw `table` no longer in the lake. -#}
{% macro _load_vanished(table) -%}
    _load_id not in (select loads._load_id from {{ source('raw', table) }} as loads)
{%- endmacro %}

{#- Post-hook: staged rows whose load is no longer in the lake and whose key has no version left
    (rows_to_stage restaged every other such key). A no-op after a full build. -#}
{% macro delete_vanished_loads(table) -%}
    delete from {{ this }} where {{ _load_vanished(table) }}
{%- endmacro %}

{#- Post-hooks: the loads of raw `table` the model has now staged replace its record: every load
    in the lake (a full build and an incremental run alike leave the model equal to staging all
    of them). -#}
{% macro forget_staged_loads() -%}
    delete from {{ staged_loads_relation() }} where model = '{{ this.schema }}.{{ this.identifier }}'
{%- endmacro %}

{% macro record_staged_loads(table) -%}
    insert into {{ staged_loads_relation() }}
    select '{{ this.schema }}.{{ this.identifier }}', _load_id, count(*), max(_loaded_at)
    from {{ source('raw', table) }}
    group by _load_id
{%- endmacro %}
