{#- How this run's components meet last run's one_ids (the registry as it stood before this
    run). One row per (component, previous one_id) sharing nodes. The rules that make one_id
    stable:
    * a previous one_id is owned by the component holding its anchor (the identifier it was
      minted from), so after a split the id stays with the identity it was first given to;
      when the anchor itself is gone (erased), by the component holding most of its
      identifiers (ties: the smallest identifier);
    * a component owning several previous ids (a merge) keeps the oldest; between ids minted in
      the same build, the one that held more records in the last build (bridge_record_member:
      the id BI users most likely saved), then the one whose identifiers were seen first, then
      the smallest id. The others are absorbed and logged in identity_id_changes. -#}
{%- set previous = previous_relation('identity_registry') %}
{#- a registry built before anchors existed has no anchor column: treat every anchor as unknown -#}
{%- set previous_columns = adapter.get_columns_in_relation(previous) | map(attribute='name') | list
    if previous is not none else [] %}

{%- set previous_bridge = previous_relation('bridge_record_member') %}

with components as (
    select components.node_id, components.component_num, stats.first_observed_at
    from {{ ref('int_identity__resolved_components') }} as components
    join {{ ref('int_identity__nodes') }} as stats on stats.node_num = components.node_num
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

previous_records as (
    {% if previous_bridge is not none -%}
    select one_id, count(*) as records from {{ previous_bridge }} where one_id is not null group by one_id
    {%- else -%}
    select one_id, 0 as records from previous where 1 = 0
    {%- endif %}
),

pairs as (
    select
        components.component_num,
        previous.one_id,
        previous.one_id_created_at,
        previous.one_id_anchor_node,
        count(*) as shared_nodes,
        min(components.first_observed_at) as first_observed_at,
        min(components.node_id) as first_shared_node,
        max(case when components.node_id = previous.one_id_anchor_node then 1 else 0 end) as holds_anchor
    from components
    join previous on previous.node_id = components.node_id
    group by components.component_num, previous.one_id, previous.one_id_created_at, previous.one_id_anchor_node
),

counted as (
    select pairs.*, coalesce(previous_records.records, 0) as previous_records
    from pairs
    left join previous_records on previous_records.one_id = pairs.one_id
),

owned as (
    select
        counted.*,
        row_number() over (
            partition by one_id order by holds_anchor desc, shared_nodes desc, first_shared_node asc
        ) = 1 as is_owner
    from counted
)

select
    owned.*,
    is_owner and row_number() over (
        partition by component_num, is_owner
        order by one_id_created_at asc, previous_records desc, first_observed_at asc, one_id asc
    ) = 1 as is_kept
from owned
