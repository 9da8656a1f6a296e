{#- The integer a graph node is joined on (node_num): the first 60 bits of the MD5 of its node_id
    ('<identifier_type>:<identifier_value>'), a function of the node alone. A dense number
    (row_number over node_id, before issue 20) renumbered every node after a new identifier, so
    no node-keyed table could be carried from one build to the next; this one is the same in
    every build that sees the node, a nightly and a build from nothing alike.

    Collisions are not assumed away: node_num carries a unique test on int_identity__node_stats
    and int_identity__nodes (error severity), which fails the build if two node_ids share a
    number (at 60 bits, about 0.0016 expected among the ~60M nodes of a 10M-member brand: n²/2^61).
    Non-negative, so a BIGINT, and the same number on every engine (the Spark parity test compares
    the identity tables): 15 hex digits of md5(), which DuckDB and Spark both write in lower case
    (DuckDB's md5_number_lower reads the digest's bytes in another order, and was slower). What
    used to break ties by node_num (a record's star anchor among identifiers of equal priority, a
    component's label) still does, by this number: the same components, another example edge. -#}
{% macro node_number(node_id) -%}
    {{ return(adapter.dispatch('node_number', 'quanyu')(node_id)) }}
{%- endmacro %}

{% macro default__node_number(node_id) -%}
    cast({{ dbt.concat(["'0x'", "substr(md5(" ~ node_id ~ "), 1, 15)"]) }} as {{ dbt.type_bigint() }})
{%- endmacro %}

{% macro spark__node_number(node_id) -%}
    cast(conv(substr(md5({{ node_id }}), 1, 15), 16, 10) as {{ dbt.type_bigint() }})
{%- endmacro %}

{#- node_id of an identifier: the string node_number hashes and int_identity__nodes shows. -#}
{% macro node_id(identifier_type, identifier_value) -%}
    {{ dbt.concat([identifier_type, "':'", identifier_value]) }}
{%- endmacro %}
