{#- Put after "as" in a CTE that only reads a table (a scan, a filter, a light join) and is
    referenced more than once: `with orders as {{ inline_cte() }} (select ... from ref(...))`.
    DuckDB 2.0 materializes every CTE referenced twice, in memory and then on disk: at 10M
    members fct_orders materialized 100M wide order rows that way and filled the disk. Reading the
    table again is a cheap columnar scan, so these CTEs are inlined. Spark and Trino inline CTEs
    on their own: nothing to say there. -#}
{% macro inline_cte() -%}
    {{ return(adapter.dispatch('inline_cte', 'quanyu')()) }}
{%- endmacro %}

{% macro default__inline_cte() -%}{%- endmacro %}

{% macro duckdb__inline_cte() -%}not materialized{%- endmacro %}

{#- The opposite, where a join order must hold: `with a as {{ materialized_cte() }} (...)` is
    computed before the query that reads it, so DuckDB's join-order optimizer cannot reorder its
    joins with the reader's. Used where a cardinality estimate is known to flip with the data
    (int_identity__match_pairs). Spark has no such keyword (and no such optimizer): nothing. -#}
{% macro materialized_cte() -%}
    {{ return(adapter.dispatch('materialized_cte', 'quanyu')()) }}
{%- endmacro %}

{% macro default__materialized_cte() -%}{%- endmacro %}

{% macro duckdb__materialized_cte() -%}materialized{%- endmacro %}
