{#- The record_key of a source record as identity.bridge_record_member names it: the contract
    key columns cast to text and joined with '|' (see var('identity_sources') and
    int_identity__observations). -#}
{% macro record_key(columns, prefix='') -%}
    {%- set parts = [] -%}
    {%- for col in columns -%}
        {%- do parts.append("coalesce(" ~ dbt.cast(prefix ~ col, api.Column.translate_type('string')) ~ ", '')") -%}
        {%- if not loop.last %}{%- do parts.append("'|'") -%}{%- endif -%}
    {%- endfor -%}
    {{ dbt.concat(parts) if parts | length > 1 else parts[0] }}
{%- endmacro %}
