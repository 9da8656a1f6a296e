{#- Equality that treats two nulls as equal: joins on scope keys, where null means "all" (the
    brand row has no store, no guide, no channel). Portable form of IS NOT DISTINCT FROM. -#}
{% macro null_safe_equals(left, right) -%}
({{ left }} = {{ right }} or ({{ left }} is null and {{ right }} is null))
{%- endmacro %}
