{#- The staging rows the member graph's observations come from (var identity_sources: one entry
    per staging model, with its record key, identifier columns, time and place), as int_identity__
    observation_nodes' incremental run compares them with the rows it carries (macro
    incremental_by_source_row).

    A source row's observations (one per non-empty identifier column) are a function of the
    columns the entry names and nothing else, so a hash of those columns (row_check) tells an
    unchanged row from a changed one without reading its observations: a row whose check the
    carried table holds yields the observations it already holds. A check covers one row of one
    source (the source's table name is hashed with it). -#}

{#- An identifier column holding a value: what makes a row yield an observation of that type
    (int_identity__observations drops NULL and empty values). -#}
{% macro identifier_present(column) -%}
    ({{ column }} is not null and trim({{ dbt.cast(column, api.Column.translate_type('string')) }}) <> '')
{%- endmacro %}

{#- The row check of a row of identity source `src`: a hash of everything its observations are made
    of (table, record key, identifier columns, time, place). -#}
{% macro source_row_check(src) -%}
    {%- set columns = ["'" ~ src.table ~ "'"] + src.record_key + (src.identifiers.values() | list)
                      + [src.observed_at, src.place if src.get('place') else 'null'] -%}
    {{ return(adapter.dispatch('row_check', 'quanyu')(columns)) }}
{%- endmacro %}

{% macro default__row_check(columns) -%}
    hash({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__row_check(columns) -%}
    xxhash64({{ columns | join(', ') }})
{%- endmacro %}

{#- The row check of every row of every identity source that yields at least one observation
    (a relation with one column, row_check): a full scan of the sources, hashes only. -#}
{% macro source_row_checks() -%}
    {%- set parts = [] -%}
    {%- for src in var('identity_sources') -%}
        {%- set present = [] -%}
        {%- for column in src.identifiers.values() | unique -%}
            {%- do present.append(identifier_present(column)) -%}
        {%- endfor -%}
        {%- set part -%}
    select {{ source_row_check(src) }} as row_check
    from {{ ref(src.model) }}
    where ({{ present | join(' or ') }})
      {%- if src.get('where') %} and ({{ src.where }}){% endif %}
        {%- endset -%}
        {%- do parts.append(part) -%}
    {%- endfor -%}
    {{ parts | join('\n    union all\n') }}
{%- endmacro %}
