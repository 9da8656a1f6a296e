{#- The distinct non-null values of a string expression of the group, sorted and joined by
    `delimiter` into one string (null when the group has none): a member's tags or audiences in
    one mart_member_360 cell, the same string on every engine and every run. Not dbt.listagg:
    dbt-spark's version ignores the order and joins collect_list in whatever order the shuffle
    delivers it, so one member's cell would differ between two Spark runs and from DuckDB's
    (tests/spark compares every table). DuckDB: the group's list, made distinct, sorted and joined
    (string_agg(distinct ... order by ...) gives the same strings and took 6.7 s against 4.3 s for
    mart_member_360's tags at 1M members); Spark: array_join(array_sort(collect_set(...))), whose
    empty array gives '' - made null as on DuckDB. Elsewhere: string_agg(distinct ... order by ...). -#}
{% macro sorted_set_agg(expression, delimiter) -%}
    {{ return(adapter.dispatch('sorted_set_agg', 'quanyu')(expression, delimiter)) }}
{%- endmacro %}

{% macro default__sorted_set_agg(expression, delimiter) -%}
string_agg(distinct {{ expression }}, {{ delimiter }} order by {{ expression }})
{%- endmacro %}

{% macro duckdb__sorted_set_agg(expression, delimiter) -%}
{#- no value in the group: the filtered list is null, and so is the string -#}
array_to_string(list_sort(list_distinct(list({{ expression }}) filter (where ({{ expression }}) is not null))), {{ delimiter }})
{%- endmacro %}

{% macro spark__sorted_set_agg(expression, delimiter) -%}
nullif(array_join(array_sort(collect_set({{ expression }})), {{ delimiter }}), '')
{%- endmacro %}
