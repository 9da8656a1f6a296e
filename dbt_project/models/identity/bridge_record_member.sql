{#- Every source record and the member (one_id) it belongs to: the join key from any staging
    or fact row to dim_member. A record is resolved through its linkable identifiers (they are
    all in one component by construction); a record whose identifiers are all unusable (only a
    store phone, only a hub) stays unresolved: one_id is null and unresolved_reason says why. -#}
with observations as (
    select * from {{ ref('int_identity__observations') }}
),

registry as (
    select * from {{ ref('identity_registry') }}
),

nodes as (
    select node_id, identifier_type, identifier_value, is_linkable, is_hub, blocked_reason
    from {{ ref('int_identity__nodes') }}
),

per_record as (
    select
        observations.source_table,
        observations.record_key,
        max(case when nodes.is_linkable then registry.one_id end) as one_id,
        count(*) as identifiers,
        sum(case when nodes.is_linkable then 1 else 0 end) as linkable_identifiers,
        max(case when nodes.is_hub then 1 else 0 end) as has_hub,
        max(nodes.blocked_reason) as blocked_reason,
        min(observations.observed_at) as observed_at
    from observations
    join nodes
        on nodes.identifier_type = observations.identifier_type
       and nodes.identifier_value = observations.identifier_value
    left join registry on registry.node_id = nodes.node_id
    group by observations.source_table, observations.record_key
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
