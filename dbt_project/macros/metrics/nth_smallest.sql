{#- Aggregate: the n-th smallest non-null value of the group, counting equal values apiece (the
    second order time of a buyer whose first two orders share a second is that second), null when
    the group has fewer. A window numbering every row to keep the first n cost mart_repurchase_monthly
    a sort of all its orders (6.5 s of 33 CPU-seconds at 1M members); DuckDB keeps the n smallest
    per group (min(x, n)), Spark sorts the group's list (try_element_at: null past the end also
    under ANSI mode), other engines stop at compile time. -#}
{% macro nth_smallest(expression, n) -%}
    {{ return(adapter.dispatch('nth_smallest', 'quanyu')(expression, n)) }}
{%- endmacro %}

{% macro default__nth_smallest(expression, n) -%}
{{ exceptions.raise_compiler_error("nth_smallest has no implementation for " ~ target.type) }}
{%- endmacro %}

{% macro duckdb__nth_smallest(expression, n) -%}
min({{ expression }}, {{ n }})[{{ n }}]
{%- endmacro %}

{% macro spark__nth_smallest(expression, n) -%}
try_element_at(array_sort(collect_list({{ expression }})), {{ n }})
{%- endmacro %}
