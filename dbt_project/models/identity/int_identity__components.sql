{#- Connected components of the linkable graph (see macro connected_components). Hubs and
    blocked values are not part of the graph: they belong to no member.
    component_num is the smallest node_num of the component. -#}
-- depends_on: {{ ref('int_identity__edges') }}
{{ config(post_hook=["{{ drop_identity_scratch() }}"]) }}
{%- if execute -%}
    {%- set result = connected_components(ref('int_identity__edges'),
                                          '(select node_num from ' ~ ref('int_identity__nodes') ~ ' where is_linkable)',
                                          this.identifier ~ '__cc', var('identity_max_iterations')) -%}
    {%- set labels = result.relation -%}
    {%- set rounds = result.rounds -%}
{%- else -%}
    {%- set labels = ref('int_identity__nodes') -%}
    {%- set rounds = 0 -%}
{%- endif %}

select
    nodes.node_num,
    nodes.node_id,
    {% if execute %}labels.label{% else %}nodes.node_num{% endif %} as component_num,
    {{ rounds }} as rounds_to_converge
from {{ ref('int_identity__nodes') }} as nodes
{% if execute -%}
join {{ labels }} as labels on labels.node_num = nodes.node_num
{%- else -%}
where nodes.is_linkable
{%- endif %}
