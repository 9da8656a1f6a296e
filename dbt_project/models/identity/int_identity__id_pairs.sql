{#- How this run's components meet last run's one_ids (the registry as it stood before this
    run). One row per (component, previous one_id) sharing nodes. The rules that make one_id
    stable:
    * a previous one_id is owned by the component holding its anchor (the identifier it was
      minted from), so after a split the id stays with the identity it was first given to;
      when the anchor itself is gone (erased), by the component holding most of its
      identifiers (ties: the smallest identifier);
    * a component owning several previous ids (a merge) keeps the oldest (ties: smallest id);
      the others are absorbed and logged in identity_id_changes. -#}
{%- set previous = previous_relation('identity_registry') %}
{#- a registry built before anchors existed has no anchor column: treat every anchor as unknown -#}
{%- set previous_columns = adapter.get_columns_in_relation(previous) | map(attribute='name') | list
    if previous is not none else [] %}

with components as (
    select node_id, component_num from {{ ref('int_identity__components') }}
),

previous as (
    {% if previous is not none -%}
    select node_id, one_id, one_id_created_at,
        {% if 'one_id_anchor_node' in previous_columns -%} one_id_anchor_node
        {%- else -%} {{ dbt.cast('null', api.Column.translate_type('string')) }} as one_id_anchor_node {%- endif %}
    from {{ previous }}
    {%- else -%}
    select
        {{ dbt.cast('null', api.Column.translate_type('string')) }} as node_id,
        {{ dbt.cast('null', api.Column.translate_type('string')) }} as one_id,
        {{ dbt.cast('null', api.Column.translate_type('timestamp')) }} as one_id_created_at,
        {{ dbt.cast('null', api.Column.translate_type('string')) }} as one_id_anchor_node
    from {{ ref('identity_identifier_types') }}
    where 1 = 0
    {%- endif %}
),

pairs as (
    select
        components.component_num,
        previous.one_id,
        previous.one_id_created_at,
        previous.one_id_anchor_node,
        count(*) as shared_nodes,
        min(components.node_id) as first_shared_node,
        max(case when components.node_id = previous.one_id_anchor_node then 1 else 0 end) as holds_anchor
    from components
    join previous on previous.node_id = components.node_id
    group by components.component_num, previous.one_id, previous.one_id_created_at, previous.one_id_anchor_node
),

owned as (
    select
        pairs.*,
        row_number() over (
            partition by one_id order by holds_anchor desc, shared_nodes desc, first_shared_node asc
        ) = 1 as is_owner
    from pairs
)

select
    owned.*,
    is_owner and row_number() over (
        partition by component_num, is_owner order by one_id_created_at, one_id
    ) = 1 as is_kept
from owned
