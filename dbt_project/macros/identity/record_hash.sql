{#- A 64-bit hash of a source record's identity (source table, record key): an integer to join
    the records of the member graph on, in place of two strings. At 10M members the hub count's
    self-join on the strings spilled more than 24 GB to disk. Collisions are not assumed away:
    the singular test assert_record_hash_has_no_collision fails the build if two records of one
    run share a hash. Only compared within one build, never stored across runs. -#}
{% macro record_hash(source_table, record_key) %}
    {{ return(adapter.dispatch('record_hash', 'quanyu')(source_table, record_key)) }}
{% endmacro %}

{% macro default__record_hash(source_table, record_key) -%}
    hash({{ source_table }}, {{ record_key }})
{%- endmacro %}

{% macro spark__record_hash(source_table, record_key) -%}
    xxhash64({{ source_table }}, {{ record_key }})
{%- endmacro %}
