{#- Connected components of the strong graph (int_identity__strong_edges: person-scoped
    identifiers only, no phone), by the same macro as int_identity__components. A core is what
    the exports link without a shared phone: a CRM member with its card, unionid and openids.
    core_num is the smallest node_num of the core. -#}
-- depends_on: {{ ref('int_identity__strong_edges') }}
{{ config(post_hook=["{{ drop_identity_scratch() }}"]) }}
{%- set strong_nodes = '(select node_num from ' ~ ref('int_identity__node_verdicts')
                       ~ ' where is_linkable and is_person_scoped)' -%}
{%- if execute -%}
    {%- set result = connected_components(ref('int_identity__strong_edges'), strong_nodes,
                                          this.identifier ~ '__cc', var('identity_max_iterations')) -%}
    {%- set labels = result.relation -%}
{%- endif %}

select
    nodes.node_num,
    {% if execute %}labels.label{% else %}nodes.node_num{% endif %} as core_num
from {{ strong_nodes }} as nodes
{% if execute -%}
join {{ labels }} as labels on labels.node_num = nodes.node_num
{%- endif %}
