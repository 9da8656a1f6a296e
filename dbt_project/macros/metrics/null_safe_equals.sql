{#- Equality that treats two nulls as equal: joins on scope keys, where null means "all" (the
    brand row has no store, no guide, no channel). IS NOT DISTINCT FROM (SQL standard; DuckDB,
    Trino), <=> on Spark. Not the portable `a = b or (a is null and b is null)`: DuckDB can only
    hash-join on the other keys then and compares the rest pair by pair (a 200k x 200k toy join:
    119 s against 3.4 s; the 10M mart_fans_monthly ran for 20 minutes and did not finish). -#}
{% macro null_safe_equals(left, right) -%}
    {{ return(adapter.dispatch('null_safe_equals', 'quanyu')(left, right)) }}
{%- endmacro %}

{% macro default__null_safe_equals(left, right) -%}
({{ left }} is not distinct from {{ right }})
{%- endmacro %}

{% macro spark__null_safe_equals(left, right) -%}
({{ left }} <=> {{ right }})
{%- endmacro %}
