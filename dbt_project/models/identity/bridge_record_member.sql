{#- Every source record and the member (one_id) it belongs to: the join key from any staging
    or fact row to dim_member. A record is resolved through its linkable identifiers (they are
    all in one component by construction); a record whose identifiers are all unusable (only a
    store phone, only a hub, only a phone shared by two people) stays unresolved: one_id is null
    and unresolved_reason says why. -#}
with observed as (
    select source_table, record_key, node_num, observed_at from {{ ref('int_identity__observation_epochs') }}
),

components as (
    -- linkable nodes only; a record's linkable identifiers all share one component by construction
    select node_num, component_num from {{ ref('int_identity__resolved_components') }}
),

nodes as (
    select node_num, is_linkable, is_hub, blocked_reason, conflict_type from {{ ref('int_identity__nodes') }}
),

per_record as (
    -- integer aggregates per record; the one_id (a string) is joined to the 10x fewer result rows
    select
        observed.source_table,
        observed.record_key,
        max(components.component_num) as component_num,
        count(*) as identifiers,
        sum(case when nodes.is_linkable then 1 else 0 end) as linkable_identifiers,
        max(case when nodes.is_hub then 1 else 0 end) as has_hub,
        max(nodes.blocked_reason) as blocked_reason,
        max(nodes.conflict_type) as conflict_type,
        min(observed.observed_at) as observed_at
    from observed
    join nodes on nodes.node_num = observed.node_num
    left join components on components.node_num = observed.node_num
    group by observed.source_table, observed.record_key
),

resolved as (
    select per_record.*, assignments.one_id, assignments.identity_confidence, assignments.identity_link_type
    from per_record
    left join {{ ref('int_identity__assignments') }} as assignments
        on assignments.component_num = per_record.component_num
)

select
    source_table,
    record_key,
    one_id,
    identity_link_type,
    identity_confidence,
    identifiers,
    linkable_identifiers,
    observed_at,
    case
        when one_id is not null then null
        when blocked_reason is not null then {{ dbt.concat(["'blocked: '", 'blocked_reason']) }}
        when has_hub = 1 then 'hub identifier'
        when conflict_type is not null then {{ dbt.concat(["'limit conflict: '", 'conflict_type']) }}
        else 'no linkable identifier'
    end as unresolved_reason
from resolved
