{#- Generic test as dbt_utils.unique_combination_of_columns(combination_of_columns,
    quote_columns=false): no two rows share the same combination of columns (a composite key).

    dbt_utils cannot be installed offline (dbt deps), so this is the small portable equivalent
    under the same name and arguments. NULLs group together, so a key with NULL parts is still
    checked. -#}
{% test unique_combination_of_columns(model, combination_of_columns, quote_columns=false) %}
    {{ return(adapter.dispatch('test_unique_combination_of_columns', 'quanyu')(model, combination_of_columns, quote_columns)) }}
{% endtest %}

{% macro default__test_unique_combination_of_columns(model, combination_of_columns, quote_columns=false) %}
{%- if quote_columns -%}
    {%- set columns = [] -%}
    {%- for column in combination_of_columns -%}
        {%- do columns.append(adapter.quote(column)) -%}
    {%- endfor -%}
{%- else -%}
    {%- set columns = combination_of_columns -%}
{%- endif -%}
select
    {{ columns | join(',\n    ') }},
    count(*) as n_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endmacro %}
