{#- Rows from a list in the select list: one output row per element of `list_expr` (a row whose
    list is empty gives none). DuckDB spells it unnest, Spark explode; both accept it beside
    plain columns in a select, which is all the callers need (no lateral view). -#}
{% macro explode_list(list_expr) -%}
    {{ return(adapter.dispatch('explode_list', 'quanyu')(list_expr)) }}
{%- endmacro %}

{% macro default__explode_list(list_expr) -%}explode({{ list_expr }}){%- endmacro %}

{% macro duckdb__explode_list(list_expr) -%}unnest({{ list_expr }}){%- endmacro %}
