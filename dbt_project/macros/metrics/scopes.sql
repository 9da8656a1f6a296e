{#- Reporting scopes of the metric marts. A mart reports every figure for the brand and for
    nested scopes below it: store, then guide (fans, groups), or one channel column (sales,
    repurchase, coupons). `scopes` lists the nested scopes as (scope, column) pairs, outermost
    first; each keeps its own column and the outer ones, under the key name scope_<column>.
    Keys are null where a scope does not have them (the brand row has no store, no guide, no
    channel), so scope rows are matched with null_safe_equals. -#}
{#- The key columns of the scopes: ['scope_store_code', 'scope_guide_userid'] by default. -#}
{% macro scope_keys(scopes=[('store', 'store_code'), ('guide', 'guide_userid')]) -%}
    {%- set keys = [] -%}
    {%- for scope, column in scopes -%}{%- do keys.append('scope_' ~ column) -%}{%- endfor -%}
    {{ return(keys) }}
{%- endmacro %}

{#- Fan a CTE out to the reporting scopes: one copy of every row per scope (brand first), with
    the scope's keys. Aggregating the result by (month, scope, keys...) gives every scope in one
    pass with the same definitions. -#}
{% macro fan_out_scopes(relation, scopes=[('store', 'store_code'), ('guide', 'guide_userid')]) -%}
    {%- set levels = [('brand', none)] + scopes -%}
    {%- for level, _ in levels %}
    {%- set outer = loop.index0 %}
    select
        {{ relation }}.*,
        '{{ level }}' as scope
        {%- for scope, column in scopes %},
        {% if loop.index <= outer %}{{ column }}{% else %}cast(null as {{ dbt.type_string() }}){% endif %} as scope_{{ column }}
        {%- endfor %}
    from {{ relation }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- Every month x every scope key that has a row in one of relations (each with the columns
    scope and the scope keys), and the brand, whether it has rows or not. -#}
{% macro scope_grid(relations, scopes=[('store', 'store_code'), ('guide', 'guide_userid')], months='months') -%}
    {%- set keys = scope_keys(scopes) -%}
    select {{ months }}.month, scope_rows.*
    from {{ months }}
    cross join (
        {%- for relation in relations %}
        select scope, {{ keys | join(', ') }} from {{ relation }}
        union
        {%- endfor %}
        select 'brand'{% for key in keys %}, cast(null as {{ dbt.type_string() }}){% endfor %}
    ) as scope_rows
{%- endmacro %}

{#- Left join relation's row of the same month and scope as grid's row (a scope's figures onto
    the grid of months and scopes). -#}
{% macro left_join_scope(relation, grid='dense', scopes=[('store', 'store_code'), ('guide', 'guide_userid')]) -%}
    left join {{ relation }}
        on {{ relation }}.month = {{ grid }}.month
       and {{ relation }}.scope = {{ grid }}.scope
       {%- for key in scope_keys(scopes) %}
       and {{ null_safe_equals(relation ~ '.' ~ key, grid ~ '.' ~ key) }}
       {%- endfor %}
{%- endmacro %}

{#- The brand and one scope per sales channel (seeds/sales_channels), with the channel's
    columns the mart carries along (null on the brand row). -#}
{% macro sales_channel_scopes(columns=[]) -%}
    select 'brand' as scope, {{ dbt.cast('null', dbt.type_string()) }} as scope_channel
        {%- for column in columns %}, {{ dbt.cast('null', dbt.type_string()) }} as {{ column }}{% endfor %}
    union all
    select 'channel' as scope, channel{% for column in columns %}, {{ column }}{% endfor %}
    from {{ ref('sales_channels') }}
{%- endmacro %}

{#- The figures of every scope on the grid of months and scopes (grid, from scope_grid or a
    mart's own): the month, the scope, its keys under their own names (scope_store_code as
    store_code ...), the grid's carry columns, then for each relation of measures
    ({relation: [columns]}, in order) its columns, 0 where the scope had no row that month,
    then extra_columns (SQL, "expression as name"). -#}
{% macro fill_scopes(measures, scopes=[('store', 'store_code'), ('guide', 'guide_userid')], grid='dense',
                     carry=[], extra_columns=[]) -%}
    select
        {{ grid }}.month,
        {{ grid }}.scope
        {%- for scope, column in scopes %},
        {{ grid }}.scope_{{ column }} as {{ column }}
        {%- endfor %}
        {%- for column in carry %},
        {{ grid }}.{{ column }}
        {%- endfor %}
        {%- for relation, columns in measures.items() %}
        {%- for column in columns %},
        coalesce({{ relation }}.{{ column }}, 0) as {{ column }}
        {%- endfor %}
        {%- endfor %}
        {%- for column in extra_columns %},
        {{ column }}
        {%- endfor %}
    from {{ grid }}
    {%- for relation in measures %}
    {{ left_join_scope(relation, grid, scopes) }}
    {%- endfor %}
{%- endmacro %}

{#- The columns a scope's figures are grouped by and joined on: month, scope, the scope keys. -#}
{% macro scope_columns(scopes=[('store', 'store_code'), ('guide', 'guide_userid')]) -%}
    month, scope, {{ scope_keys(scopes) | join(', ') }}
{%- endmacro %}

{#- The staff master row of the guide on relation's guide-scope rows, joined as `staff`
    (staff.employee_no is the guide's employee number; no row on the brand and store scopes). -#}
{% macro left_join_guide_staff(relation) -%}
    left join {{ ref('stg_master__staff') }} as staff
        on staff.wecom_userid = {{ relation }}.guide_userid
       and {{ relation }}.scope = 'guide'
{%- endmacro %}
