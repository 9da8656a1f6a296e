{#- How this run's components meet last run's one_ids (the registry as it stood before this
    run). One row per (component, previous one_id) sharing nodes. The rules that make one_id
    stable:
    * a previous one_id is owned by the component holding most of its nodes (ties: the
      component with the smallest node), so a split leaves the id with its larger part;
    * a component owning several previous ids (a merge) keeps the oldest (ties: smallest id);
      the others are absorbed and logged in identity_id_changes. -#}
{%- set previous = previous_relation('identity_registry') %}

with components as (
    select node_id, component_num from {{ ref('int_identity__components') }}
),

previous as (
    {% if previous is not none -%}
    select node_id, one_id, one_id_created_at from {{ previous }}
    {%- else -%}
    select
        {{ dbt.cast('null', api.Column.translate_type('string')) }} as node_id,
        {{ dbt.cast('null', api.Column.translate_type('string')) }} as one_id,
        {{ dbt.cast('null', api.Column.translate_type('timestamp')) }} as one_id_created_at
    from {{ ref('identity_identifier_types') }}
    where 1 = 0
    {%- endif %}
),

pairs as (
    select
        components.component_num,
        previous.one_id,
        previous.one_id_created_at,
        count(*) as shared_nodes,
        min(components.node_id) as first_shared_node
    from components
    join previous on previous.node_id = components.node_id
    group by components.component_num, previous.one_id, previous.one_id_created_at
),

owned as (
    select
        pairs.*,
        row_number() over (partition by one_id order by shared_nodes desc, first_shared_node) = 1 as is_owner
    from pairs
)

select
    owned.*,
    is_owner and row_number() over (
        partition by component_num, is_owner order by one_id_created_at, one_id
    ) = 1 as is_kept
from owned
