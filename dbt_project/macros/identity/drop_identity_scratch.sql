{#- Drop the result tables connected_components and seed_strength leave for their model (a
    post-hook; the drops are `if exists`, a model that used fewer drops nothing more). -#}
{% macro drop_identity_scratch() %}
    {%- if execute -%}
        {%- for suffix in ['__cc_result', '__sp_result', '__parts_result'] -%}
            {%- do adapter.drop_relation(api.Relation.create(database=this.database, schema=this.schema, type='table',
                                                              identifier=this.identifier ~ suffix)) -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{% endmacro %}
