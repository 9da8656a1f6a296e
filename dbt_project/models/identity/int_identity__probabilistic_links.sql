{#- The accepted receiver matches (int_identity__accepted_matches) grouped by connected
    components (link_group: the smallest component_num of the group). A group that would put two
    members holding an enforced type (a CRM member id, a unionid) together is refused whole
    (is_linked false): a probabilistic link never overrides an enforced limit, not even through
    a chain. -#}
-- depends_on: {{ ref('int_identity__accepted_matches') }}
{{ config(post_hook=["{{ drop_identity_scratch() }}"]) }}
{%- set members = '(select a_num as node_num from ' ~ ref('int_identity__accepted_matches')
                  ~ ' union select b_num as node_num from ' ~ ref('int_identity__accepted_matches') ~ ')' -%}
{%- set edges = '(select a_num as src, b_num as dst from ' ~ ref('int_identity__accepted_matches') ~ ')' -%}
{%- if execute -%}
    {%- set result = connected_components(edges, members, this.identifier ~ '__cc', var('identity_max_iterations')) -%}
    {%- set labels = result.relation -%}
{%- endif %}

with accepted as (
    select * from {{ ref('int_identity__accepted_matches') }}
),

groups as (
    {% if execute -%}
    select node_num as component_num, label as link_group from {{ labels }}
    {%- else -%}
    select a_num as component_num, a_num as link_group from accepted
    {%- endif %}
),

enforced as (
    {{ enforced_components() }}
),

refused_groups as (
    select groups.link_group
    from groups
    join enforced on enforced.component_num = groups.component_num
    group by groups.link_group
    having count(*) > 1
)

select
    accepted.a_num,
    accepted.b_num,
    accepted.match_probability,
    groups.link_group,
    refused_groups.link_group is null as is_linked
from accepted
join groups on groups.component_num = accepted.a_num
left join refused_groups on refused_groups.link_group = groups.link_group
