{#- The accepted receiver matches (int_identity__accepted_matches) grouped by connected
    components. A probabilistic link never overrides an enforced limit, not even through a chain:
    a group holding two or more members of an enforced type (a CRM member id, a unionid) is split
    around them, as links taken strongest first would split it, each skipped only when both its
    sides already belong to an enforced member. Order-free: a link is skipped when each of its
    two ends reaches an enforced member by a path of links all stronger than it (seed_strength:
    the strongest path's weakest link), since the links stronger than it come first whatever the
    order. The split group is the connected components of the links kept. Where equally strong
    links would still join two enforced members (the order of the tie would decide), that part of
    the group is refused whole. So a weak link between two families no longer throws away the
    strong links inside each (before, the whole group was refused).
    link_group: the smallest component_num of the group (of the split part for a kept link of a
    split group); is_linked: the link is used. -#}
-- depends_on: {{ ref('int_identity__accepted_matches') }}
{{ config(post_hook=["{{ drop_identity_scratch() }}"]) }}
{%- set accepted_relation = ref('int_identity__accepted_matches') -%}
{%- set members = '(select a_num as node_num from ' ~ accepted_relation
                  ~ ' union select b_num as node_num from ' ~ accepted_relation ~ ')' -%}
{%- set edges = '(select a_num as src, b_num as dst from ' ~ accepted_relation ~ ')' -%}
{%- if execute -%}
    {%- set labels = connected_components(edges, members, this.identifier ~ '__cc', var('identity_max_iterations')).relation -%}
    {%- set seeds -%}
        (select grouped.node_num, grouped.label from {{ labels }} as grouped
         join ({{ enforced_components() }}) as enforced on enforced.component_num = grouped.node_num
         where grouped.label in (
             select holders.label from {{ labels }} as holders
             join ({{ enforced_components() }}) as held on held.component_num = holders.node_num
             group by holders.label having count(*) > 1))
    {%- endset -%}
    {%- set split_edges -%}
        (select accepted.a_num as src, accepted.b_num as dst, accepted.match_probability as weight
         from {{ accepted_relation }} as accepted
         join {{ labels }} as grouped on grouped.node_num = accepted.a_num
         where grouped.label in (select seeds.label from {{ seeds }} as seeds))
    {%- endset -%}
    {%- set strengths = seed_strength(split_edges, seeds, this.identifier ~ '__sp', var('identity_max_iterations')).relation -%}
    {%- set kept_edges -%}
        (select split.src, split.dst
         from {{ split_edges }} as split
         join {{ strengths }} as a on a.node_num = split.src
         join {{ strengths }} as b on b.node_num = split.dst
         where a.strength <= split.weight or b.strength <= split.weight)
    {%- endset -%}
    {%- set split_members = '(select node_num from ' ~ strengths ~ ')' -%}
    {%- set parts = connected_components(kept_edges, split_members, this.identifier ~ '__parts',
                                         var('identity_max_iterations')).relation -%}
{%- endif %}

with accepted as (
    select * from {{ accepted_relation }}
),

groups as (
    {% if execute -%}
    select node_num as component_num, label as link_group from {{ labels }}
    {%- else -%}
    select a_num as component_num, a_num as link_group from accepted
    {%- endif %}
),

strengths as (
    {% if execute -%}
    select node_num as component_num, strength from {{ strengths }}
    {%- else -%}
    select a_num as component_num, match_probability as strength from accepted
    {%- endif %}
),

parts as (
    -- a split group's members, by the part of it they joined
    {% if execute -%}
    select node_num as component_num, label as part from {{ parts }}
    {%- else -%}
    select a_num as component_num, a_num as part from accepted
    {%- endif %}
),

enforced as (
    {{ enforced_components() }}
),

refused_parts as (
    -- equally strong links that join two enforced members whatever their order
    select parts.part
    from parts
    join enforced on enforced.component_num = parts.component_num
    group by parts.part
    having count(*) > 1
),

links as (
    select
        accepted.a_num,
        accepted.b_num,
        accepted.match_probability,
        groups.link_group,
        part_a.part,
        strength_a.component_num is null
        or strength_a.strength <= accepted.match_probability
        or strength_b.strength <= accepted.match_probability as is_kept
    from accepted
    join groups on groups.component_num = accepted.a_num
    left join strengths as strength_a on strength_a.component_num = accepted.a_num
    left join strengths as strength_b on strength_b.component_num = accepted.b_num
    left join parts as part_a on part_a.component_num = accepted.a_num
)

select
    links.a_num,
    links.b_num,
    links.match_probability,
    case when links.part is not null and links.is_kept then links.part else links.link_group end as link_group,
    links.is_kept and refused_parts.part is null as is_linked
from links
left join refused_parts on refused_parts.part = links.part
