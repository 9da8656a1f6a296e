{#- Fan a CTE out to the reporting scopes of a metric mart: one copy of every row per scope,
    with the scope's keys. 'brand' keeps no key, 'store' keeps the store, 'guide' keeps the
    store and the guide. Aggregating the result by (month, scope, scope_store_code,
    scope_guide_userid) gives every scope in one pass with the same definitions. -#}
{% macro fan_out_scopes(relation, store_column='store_code', guide_column='guide_userid', scopes=['brand', 'store', 'guide']) -%}
    {%- for scope in scopes %}
    select
        {{ relation }}.*,
        '{{ scope }}' as scope,
        {% if scope in ('store', 'guide') %}{{ store_column }}{% else %}cast(null as {{ dbt.type_string() }}){% endif %} as scope_store_code,
        {% if scope == 'guide' %}{{ guide_column }}{% else %}cast(null as {{ dbt.type_string() }}){% endif %} as scope_guide_userid
    from {{ relation }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}
