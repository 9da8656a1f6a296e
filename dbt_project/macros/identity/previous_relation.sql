{#- The relation `identifier` in this model's schema if an earlier run built it, else none.
    Stable ids need last run's registry while this run builds the new one. -#}
{% macro previous_relation(identifier) %}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {{ return(adapter.get_relation(database=this.database, schema=this.schema, identifier=identifier)) }}
{% endmacro %}

{% macro run_started_at_literal() -%}
    {{ dbt.cast("'" ~ run_started_at.strftime('%Y-%m-%d %H:%M:%S') ~ "'", api.Column.translate_type('timestamp')) }}
{%- endmacro %}
