{#- Staging built by load (issue 20): a nightly stages only the records that new landing files
    touched, and the result equals a full rebuild row for row.

    A staging model keeps one version per business key out of every export that carried the key
    (deduplicate + newest_version_first): the winner depends on all of a key's raw rows, not only
    on the new ones, because a file loaded tonight may hold an older version than one loaded last
    month. So an incremental run does not append tonight's rows; it picks the keys to stage again
    and deduplicates each of them over all of its raw rows:

    1. keys with a raw row loaded after the watermark: the latest `_loaded_at` among the loads the
       staged rows came from, less `incremental_lookback_days` (a var: loads stamped by a clock
       that ran behind, or a load still being written when the last build read the lake);
    2. keys whose staged row came from a load that is no longer in the lake (a file the raw gate
       took out, a segment loosened and re-gated, an erased person's file rewritten): the key
       is staged again from the versions left, or deleted by the post-hook when none is left.

    Then dbt's delete+insert replaces those keys (unique_key: the grain the model's own window
    functions partition by, e.g. a JD order, whose lines are numbered per order). A reloaded
    file (same content, `--reload` after a contract fix) gets a new `_loaded_at`, a corrected
    file (new content) a new `_load_id` and `_loaded_at`: both are step 1.

    The lake's files are read through the source's glob either way; what an incremental run
    saves is the deduplication window, the seed joins and the write over every key (a copy of
    the table from the served file, orchestration/publish.py carry_over, is what a nightly pays
    instead). Measured at 100,000 members in docs/incremental.md.

    Spark builds these models as tables (materialized='table' on any other adapter): it has no
    delete+insert without Delta (STACK_NOTES), and the Spark build is the equality check of the
    DuckDB one, not a nightly. -#}

{#- config() arguments of a staging model incremental by load over raw `table`; unique_key: the
    column (or list) whose keys are replaced together. -#}
{% macro incremental_by_load(table, unique_key) -%}
    {%- if target.type == 'duckdb' -%}
        {{ return({
            'materialized': 'incremental',
            'incremental_strategy': 'delete+insert',
            'unique_key': unique_key,
            'on_schema_change': 'fail',
            'post_hook': ["{{ delete_vanished_loads('" ~ table ~ "') }}"],
            'tags': ['incremental_by_load'],
        }) }}
    {%- else -%}
        {{ return({'materialized': 'table', 'tags': ['incremental_by_load']}) }}
    {%- endif -%}
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
    {%- set lookback = var('incremental_lookback_days') | int -%}
    select {{ key }} from {{ raw }}
            where _loaded_at > (
                select {{ dbt.dateadd('day', -lookback, "coalesce(max(_loaded_at), cast('1900-01-01' as timestamp))") }}
                from {{ raw }}
                where _load_id in (select staged._load_id from {{ this }} as staged)
            )
            union
            select {{ staged_key }} from {{ this }}
            where _load_id not in (select loads._load_id from {{ raw }} as loads)
{%- endmacro %}

{#- Post-hook: staged rows whose load is no longer in the lake and whose key has no version left
    (rows_to_stage restaged every other such key). A no-op after a full build. -#}
{% macro delete_vanished_loads(table) -%}
    delete from {{ this }}
    where _load_id not in (select loads._load_id from {{ source('raw', table) }} as loads)
{%- endmacro %}
