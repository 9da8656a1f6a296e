{#- The join condition from a source record to its row of identity.bridge_record_member:
    bridge (the bridge's alias) on source_table `table` and the record's record_key, built from
    relation's columns with the key that var('identity_sources') declares for `table` (the key
    int_identity__observations wrote), so the two cannot drift apart. Write
    `left join bridge_record_member as bridge {{ member_bridge_on('tmall_orders', 'orders') }}`. -#}
{% macro member_bridge_on(table, relation, bridge='bridge') -%}
    {%- set declared = var('identity_sources') | selectattr('table', 'equalto', table) | list -%}
    {%- if declared | length != 1 -%}
        {{ exceptions.raise_compiler_error("member_bridge_on: '" ~ table ~ "' is not one table of var('identity_sources')") }}
    {%- endif -%}
    on {{ bridge }}.source_table = '{{ table }}'
   and {{ bridge }}.record_key = {{ record_key(declared[0].record_key, relation ~ '.') }}
{%- endmacro %}
