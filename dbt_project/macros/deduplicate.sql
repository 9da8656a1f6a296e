{#- dbt_utils.deduplicate(relation, partition_by, order_by), written here because dbt deps is
    offline: the first row per partition_by (a column list as SQL text) in order_by order.

    Staging uses it with latest_loaded_first(): exports overlap (a 7-day and a 30-day order
    report both carry the same order), so raw holds several versions of a row; the last file
    loaded wins, ties broken by file name and row number so the choice is deterministic.
    Written as a row_number() subquery rather than QUALIFY so it runs unchanged on Spark and
    Trino. DuckDB drops the rank column (as dbt_utils returns only the relation's columns);
    Spark has no `* exclude`, so there the subquery's _deduplicate_rank column stays: select
    the columns you need. -#}
{% macro deduplicate(relation, partition_by, order_by) -%}
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

{#- The order in which deduplicate() keeps a raw row: the latest load, then the latest file
    name and row, so a rerun chooses the same row. -#}
{% macro latest_loaded_first() -%}
_loaded_at desc, _source_file desc, _source_row desc
{%- endmacro %}
