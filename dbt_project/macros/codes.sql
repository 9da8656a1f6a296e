{#- Code values from the channels' exports mapped through the code-list seeds (code_map,
    order_status_map, wecom_*). One rule everywhere, the same as the raw gate's: a source value
    matches a seed row trimmed and case-insensitively, and numbers match as text. -#}
{% macro code_matches(seed_column, source_column) -%}
lower(trim({{ dbt.cast(seed_column, dbt.type_string()) }})) = lower(trim({{ dbt.cast(source_column, dbt.type_string()) }}))
{%- endmacro %}

{#- The canonical code of a mapped value (code, from the seed join), or the explicit bucket
    'unknown' for a value the seed does not list yet; null only where the export had no value.
    The exported value stays in its own column, and marts.quality_unmapped_codes lists every
    value that fell into the bucket so that the brand adds it to the seed. -#}
{% macro code_or_unknown(code, source_value) -%}
case when {{ source_value }} is null then null else coalesce({{ code }}, 'unknown') end
{%- endmacro %}
