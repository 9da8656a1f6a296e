{#- dbt_utils.deduplicate(relation, partition_by, order_by), written here because dbt deps is
    offline: the first row per partition_by (a column list as SQL text) in order_by order.

    Staging uses it with newest_version_first(<raw table>): exports overlap (a 7-day and a 30-day
    order report both carry the same order; an order is exported paid on day 1 and refunded on
    day 9), so raw holds several versions of a record, and the newest by the record's own time
    wins, whatever the load order or the file names (docs/architecture.md, "Which version of a
    record wins").
    Written as a row_number() subquery rather than QUALIFY so it runs unchanged on Spark and
    Trino. DuckDB drops the rank column (as dbt_utils returns only the relation's columns);
    Spark has no `* exclude`, so there the subquery's _deduplicate_rank column stays: select
    the columns you need. -#}
{#- stage_again_by (staging incremental by load, macros/incremental_by_load.sql): the key columns
    as the relation names them (SQL text) whose keys an incremental run stages again, staged_as the
    same columns as the model names them where it renames them. In an incremental run only those
    keys' rows are deduplicated (rows_to_stage); in a full build, and without it, every row. -#}
{% macro deduplicate(relation, partition_by, order_by, stage_again_by=none, staged_as=none) -%}
    {%- if stage_again_by -%}
        {%- set relation = rows_to_stage(relation, stage_again_by, staged_as) -%}
    {%- endif -%}
    {{ return(adapter.dispatch('deduplicate', 'quanyu')(relation, partition_by, order_by)) }}
{%- endmacro %}

{% macro default__deduplicate(relation, partition_by, order_by) -%}
select * from (
    {{ _ranked_for_deduplicate(relation, partition_by, order_by) }}
) as ranked
where _deduplicate_rank = 1
{%- endmacro %}

{% macro duckdb__deduplicate(relation, partition_by, order_by) -%}
select * exclude (_deduplicate_rank) from (
    {{ _ranked_for_deduplicate(relation, partition_by, order_by) }}
) as ranked
where _deduplicate_rank = 1
{%- endmacro %}

{% macro _ranked_for_deduplicate(relation, partition_by, order_by) -%}
select
        src.*,
        row_number() over (
            partition by {{ partition_by }}
            order by {{ order_by }}
        ) as _deduplicate_rank
    from {{ relation }} as src
{%- endmacro %}

{#- The last tie-break of newest_version_first(): the latest load, then the latest file name
    and row, so a rerun chooses the same row. Alone it lets an older export loaded later
    overwrite newer data: never use it on its own to pick a record's version. -#}
{% macro latest_loaded_first() -%}
_loaded_at desc, _source_file desc, _source_row desc
{%- endmacro %}

{#- The order in which deduplicate() keeps one version of a record of raw table `table`:

    1. the version time, newest first (version_time(table) below);
    2. at an equal version time, the later export (_exported_at);
    3. then the later load, file name and row (latest_loaded_first), so the choice is
       deterministic.

    Rows written before _exported_at existed have it null and rank after those with one
    (nulls last). -#}
{% macro newest_version_first(table) -%}
{{ version_time(table) }} desc nulls last, _exported_at desc nulls last, {{ latest_loaded_first() }}
{%- endmacro %}

{#- When a row of raw table `table` was the record's current version: the latest of the record's
    own times the contract lists (`versioned_by`, in _sources.yml as meta.versioned_by; dates
    count as their midnight); a version with none of them set takes its file's export time
    (_exported_at) instead. One definition for the newest version (newest_version_first) and for
    when a value was first and last seen (stg_crm__member_phones).

    greatest() skips nulls on DuckDB and Spark: a version that lost a time another version has
    (a column its export did not carry) is dated by the times it has. -#}
{% macro version_time(table) -%}
    {%- set columns = [] -%}
    {%- if execute -%}
        {%- set node = graph.sources.get('source.' ~ project_name ~ '.raw.' ~ table) -%}
        {%- if node is none -%}
            {%- do exceptions.raise_compiler_error(
                "version_time: no raw source named '" ~ table ~ "' (see ingest/contracts)") -%}
        {%- endif -%}
        {%- if 'versioned_by' not in node.config.meta -%}
            {%- do exceptions.raise_compiler_error(
                "version_time: source raw." ~ table ~ " has no meta.versioned_by; "
                ~ "regenerate _sources.yml with `python -m ingest.dbt_sources`") -%}
        {%- endif -%}
        {%- set columns = node.config.meta['versioned_by'] -%}
    {%- endif -%}
    {%- set times = [] -%}
    {%- for column in columns -%}
        {%- do times.append('cast(' ~ column ~ ' as ' ~ dbt.type_timestamp() ~ ')') -%}
    {%- endfor -%}
    {%- if times | length > 1 -%}
coalesce(greatest({{ times | join(', ') }}), _exported_at)
    {%- elif times -%}
coalesce({{ times[0] }}, _exported_at)
    {%- else -%}
_exported_at
    {%- endif -%}
{%- endmacro %}
