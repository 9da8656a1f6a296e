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

{#- The receiver columns of a marketplace or mini-program order (issue 18: the data of OneID's
    probabilistic tier), under one set of names whatever the export calls them: `name`, `mobile`,
    `address` / `detail` are the raw columns of contract types person_name, masked_mobile, address /
    address_detail; `region` the three `region` columns (province, city, district) of an export that
    has them apart (Douyin). See ingest/contracts/README.md, "Receiver types". -#}
{% macro receiver_columns(relation, name, mobile, address=none, detail=none, region=none) -%}
    {{ relation }}.{{ name }}_hash as receiver_name_hash,
    {{ relation }}.{{ name }}_surname_hash as receiver_surname_hash,
    {{ relation }}.{{ name }}_phonetic_hash as receiver_name_phonetic_hash,
    {{ relation }}.{{ mobile }}_prefix as receiver_mobile_prefix,
    {{ relation }}.{{ mobile }}_tail4_hash as receiver_mobile_tail4_hash,
    {{ relation }}.{{ mobile }}_tail2_hash as receiver_mobile_tail2_hash,
    {%- if address %}
    {{ relation }}.{{ address }}_province as receiver_province,
    {{ relation }}.{{ address }}_city as receiver_city,
    {{ relation }}.{{ address }}_district as receiver_district,
    {{ relation }}.{{ address }}_hash as receiver_address_hash,
    {{ relation }}.{{ address }}_street_hash as receiver_street_hash,
    {%- else %}
    {{ relation }}.{{ region[0] }} as receiver_province,
    {{ relation }}.{{ region[1] }} as receiver_city,
    {{ relation }}.{{ region[2] }} as receiver_district,
    {{ relation }}.{{ detail }}_hash as receiver_address_hash,
    {{ relation }}.{{ detail }}_street_hash as receiver_street_hash,
    {%- endif %}
{%- endmacro %}
