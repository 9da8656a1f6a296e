{#- The record_key of a source record as identity.bridge_record_member names it: the contract
    key columns cast to text and joined with '|' (see var('identity_sources') and
    int_identity__observations). Every other key made of several columns is spelled the same
    way (relationship_id, spell_id): write it with this macro, never by hand, so the keys that
    join records to the member graph cannot drift apart. -#}
{% macro record_key(columns, prefix='') -%}
    {%- set parts = [] -%}
    {%- for col in columns -%}
        {%- do parts.append("coalesce(" ~ dbt.cast(prefix ~ col, api.Column.translate_type('string')) ~ ", '')") -%}
        {%- if not loop.last %}{%- do parts.append("'|'") -%}{%- endif -%}
    {%- endfor -%}
    {{ dbt.concat(parts) if parts | length > 1 else parts[0] }}
{%- endmacro %}
