{#- The median of a numeric expression as an aggregate, interpolated between the two middle
    values when their count is even (the median of 10, 20, 40, 50 is 30), as pandas'
    Series.median computes it: percentile_cont(0.5) on DuckDB (and Trino, Postgres), Spark's
    exact percentile(x, 0.5) - not percentile_approx, which returns one of the values. -#}
{% macro median(expression) -%}
    {{ return(adapter.dispatch('median', 'quanyu')(expression)) }}
{%- endmacro %}

{% macro default__median(expression) -%}
percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}

{% macro spark__median(expression) -%}
percentile({{ expression }}, 0.5)
{%- endmacro %}
