{#- Every source record and the member (one_id) it belongs to: the join key from any staging
    or fact row to dim_member. A record is resolved through its linkable identifiers (they are
    all in one component by construction); a record whose identifiers are all unusable (only a
    store phone, only a hub) stays unresolved: one_id is null and unresolved_reason says why. -#}
with observed as (
    select source_table, record_key, node_num, observed_at from {{ ref('int_identity__observation_nodes') }}
),

node_members as (
    select node_num, one_id from {{ ref('int_identity__node_members') }}
),

nodes as (
    select node_num, is_linkable, is_hub, blocked_reason from {{ ref('int_identity__nodes') }}
),

per_record as (
    select
        observed.source_table,
        observed.record_key,
        max(case when nodes.is_linkable then node_members.one_id end) as one_id,
        count(*) as identifiers,
        sum(case when nodes.is_linkable then 1 else 0 end) as linkable_identifiers,
        max(case when nodes.is_hub then 1 else 0 end) as has_hub,
        max(nodes.blocked_reason) as blocked_reason,
        min(observed.observed_at) as observed_at
    from observed
    join nodes on nodes.node_num = observed.node_num
    left join node_members on node_members.node_num = observed.node_num
    group by observed.source_table, observed.record_key
)

select
    source_table,
    record_key,
    one_id,
    identifiers,
    linkable_identifiers,
    observed_at,
    case
        when one_id is not null then null
        when blocked_reason is not null then {{ dbt.concat(["'blocked: '", 'blocked_reason']) }}
        when has_hub = 1 then 'hub identifier'
        else 'no linkable identifier'
    end as unresolved_reason
from per_record
