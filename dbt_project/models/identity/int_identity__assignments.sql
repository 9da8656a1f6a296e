{#- One row per component: its one_id. Kept from last run when the component owns a previous
    id (see int_identity__id_pairs); minted otherwise, anchored on the component's smallest
    identifier, as 'QY' + 16 hex digits of a hash of the
    component's smallest identifier, salted with the run time only if that id was ever used,
    so a fresh build of the same data mints the same ids. -#}
{%- set previous = previous_relation('identity_registry') %}

with components as (
    select
        component_num,
        min(node_id) as component_key,
        count(*) as node_count,
        min(identity_confidence) as identity_confidence,
        max(identity_graph) as identity_graph
    from {{ ref('int_identity__resolved_components') }}
    group by component_num
),

kept as (
    select component_num, one_id, one_id_created_at, one_id_anchor_node
    from {{ ref('int_identity__id_pairs') }}
    where is_kept
),

used_ids as (
    {% if previous is not none -%}
    select distinct one_id from {{ previous }}
    {%- else -%}
    select one_id from kept where 1 = 0
    {%- endif %}
),

candidates as (
    select
        components.*,
        {{ dbt.concat(["'QY'", "upper(substr(" ~ dbt.hash('components.component_key') ~ ", 1, 16))"]) }} as plain_id,
        {%- set salted_key = dbt.concat(['components.component_key', "'#'", "'" ~ invocation_id ~ "'"]) %}
        {{ dbt.concat(["'QY'", "upper(substr(" ~ dbt.hash(salted_key) ~ ", 1, 16))"]) }} as salted_id
    from components
)

select
    candidates.component_num,
    candidates.component_key,
    candidates.node_count,
    candidates.identity_confidence,
    case when candidates.identity_confidence < 1 then 'probabilistic' else 'deterministic' end as identity_link_type,
    candidates.identity_graph,
    coalesce(kept.one_id, case when used_ids.one_id is null then candidates.plain_id else candidates.salted_id end) as one_id,
    coalesce(kept.one_id_created_at, {{ run_started_at_literal() }}) as one_id_created_at,
    coalesce(kept.one_id_anchor_node, candidates.component_key) as one_id_anchor_node,
    kept.one_id is null as is_new
from candidates
left join kept on kept.component_num = candidates.component_num
left join used_ids on used_ids.one_id = candidates.plain_id
