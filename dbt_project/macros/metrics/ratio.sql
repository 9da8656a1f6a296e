{#- A rate or average as a double: numerator / denominator, null when the denominator is null
    or zero (a rate over nobody is unknown, not zero). Both sides are cast first because Trino
    and Spark divide integers as integers. -#}
{% macro ratio(numerator, denominator) -%}
case
    when {{ denominator }} is null or {{ denominator }} = 0 then null
    else cast({{ numerator }} as {{ quanyu.type_double() }}) / cast({{ denominator }} as {{ quanyu.type_double() }})
end
{%- endmacro %}

{#- 8-byte floating point. dbt.type_float() is FLOAT, which DuckDB reads as 4-byte REAL. -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'quanyu')()) }}
{%- endmacro %}

{% macro default__type_double() -%}double{%- endmacro %}
