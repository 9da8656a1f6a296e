{#- Drop the result table connected_components leaves for its model (a post-hook). -#}
{% macro drop_identity_scratch() %}
    {%- if execute -%}
        {%- do adapter.drop_relation(api.Relation.create(database=this.database, schema=this.schema, type='table',
                                                          identifier=this.identifier ~ '__cc_result')) -%}
    {%- endif -%}
    select 1
{% endmacro %}
