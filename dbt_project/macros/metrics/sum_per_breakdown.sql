{#- One row per breakdown and its value: `count_column` of `cells` summed per `keys` and each
    breakdown of `breakdowns` (a list of (dimension name, value expression over `cells`); the name
    'all' sums over every cell), as a bigint named `as_name`. The cells must put each counted thing
    in one cell of every breakdown (mart_cohort_retention: a member's cohort cell). -#}
{% macro sum_per_breakdown(cells, keys, count_column, as_name, breakdowns) -%}
    {%- for dimension, value in breakdowns %}
    select
        {{ keys }}, '{{ dimension }}' as dimension, {{ value }} as dimension_value,
        cast(sum({{ count_column }}) as {{ dbt.type_bigint() }}) as {{ as_name }}
    from {{ cells }}
    group by {{ keys }}{{ ', ' ~ value if dimension != 'all' }}
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
