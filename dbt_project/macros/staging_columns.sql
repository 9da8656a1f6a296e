{#- The lineage columns every staging row carries from the lake (see _sources.yml): the HMAC
    key version of its *_hash columns (hashed=false for a source without any), and the landing
    file, row and load it came from. Columns of relation (a CTE alias), or unqualified when
    relation is none. -#}
{% macro lineage_columns(relation=none, hashed=true) -%}
    {%- set prefix = relation ~ '.' if relation else '' -%}
    {%- if hashed %}
    {{ prefix }}_hash_key_version,
    {%- endif %}
    {{ prefix }}_source_file,
    {{ prefix }}_source_row,
    {{ prefix }}_load_id
{%- endmacro %}
