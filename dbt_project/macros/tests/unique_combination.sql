{#- Generic test: no two rows share the same combination of columns (a composite key).

    dbt_utils.unique_combination_of_columns cannot be installed offline, so this is the small
    portable equivalent. NULLs group together, so a key with NULL parts is still checked. -#}
{% test unique_combination(model, combination_of_columns) %}
select
    {{ combination_of_columns | join(',\n    ') }},
    count(*) as n_rows
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}
