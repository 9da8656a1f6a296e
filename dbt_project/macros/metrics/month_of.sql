{#- The calendar month (DATE, first day) of a Beijing wall-clock timestamp or date. Every
    timestamp in the warehouse is already Asia/Shanghai wall clock, so no conversion happens. -#}
{% macro month_of(expression) -%}
cast({{ dbt.date_trunc('month', expression) }} as date)
{%- endmacro %}
