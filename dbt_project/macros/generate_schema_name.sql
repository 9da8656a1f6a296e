{#- Layers get plain schema names (staging, intermediate, marts) instead of dbt's default
    "<target schema>_<custom schema>", so BI users see the same names on every target. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
