{#- Every source record and the member (one_id) it belongs to: the join key from any staging
    or fact row to dim_member. A record is resolved through its linkable identifiers (they are
    all in one component by construction); a record whose identifiers are all unusable (only a
    store phone, only a hub, only a phone shared by two people) stays unresolved: one_id is null
    and unresolved_reason says why.
    Incremental by record on DuckDB (macro incremental_by_record): a record's row is made of its
    observations (nodes and times) and of each node's state (verdict, component and the
    component's member); state_checksum is the xor over its observations of a hash of the node's
    state and the observation's time. A nightly computes it for every record (integers, no
    strings grouped) and restages the records whose checksum or identifier count changed. Each row
    carries the build that wrote it (`_build_id`): the change log int_orders__unioned reads
    (macros/incremental_by_change.sql). -#}
{{ config(**incremental_by_record()) }}

with observed as {{ inline_cte() }} (
    -- read twice (the checksum pass, the restaged records): inlined, not 25M rows with their
    -- record keys materialized (1.0 s of 5.6 s of its select at 1M, session 15)
    select record_hash, source_table, record_key, node_num, observed_at
    from {{ ref('int_identity__observation_epochs') }}
),

assignments as (
    select component_num, one_id, identity_confidence, identity_link_type
    from {{ ref('int_identity__assignments') }}
),

node_state as (
    -- what a record's row takes from each of its nodes; linkable nodes only have a component
    select
        nodes.node_num,
        nodes.is_linkable,
        nodes.is_hub,
        nodes.blocked_reason,
        nodes.conflict_type,
        components.component_num,
        hash(nodes.node_num, nodes.is_linkable, nodes.is_hub, nodes.blocked_reason, nodes.conflict_type,
             components.component_num, assignments.one_id, assignments.identity_confidence,
             assignments.identity_link_type) as state_hash
    from {{ ref('int_identity__nodes') }} as nodes
    left join {{ ref('int_identity__resolved_components') }} as components on components.node_num = nodes.node_num
    left join assignments on assignments.component_num = components.component_num
),

{%- if is_incremental() %}

checked as (
    select
        observed.record_hash,
        count(*) as identifiers,
        {{ rows_checksum(['node_state.state_hash', 'observed.observed_at']) }} as state_checksum
    from observed
    join node_state on node_state.node_num = observed.node_num
    group by observed.record_hash
),

to_restage as (
    {{ records_to_restage('checked') }}
),
{%- endif %}

per_record as (
    -- integer aggregates per record; the one_id (a string) is joined to the 10x fewer result rows
    select
        observed.record_hash,
        min(observed.source_table) as source_table,
        min(observed.record_key) as record_key,
        max(node_state.component_num) as component_num,
        count(*) as identifiers,
        sum(case when node_state.is_linkable then 1 else 0 end) as linkable_identifiers,
        max(case when node_state.is_hub then 1 else 0 end) as has_hub,
        max(node_state.blocked_reason) as blocked_reason,
        max(node_state.conflict_type) as conflict_type,
        min(observed.observed_at) as observed_at,
        {{ rows_checksum(['node_state.state_hash', 'observed.observed_at']) }} as state_checksum
    from observed
    join node_state on node_state.node_num = observed.node_num
    {%- if is_incremental() %}
    where observed.record_hash in (select to_restage.record_hash from to_restage)
    {%- endif %}
    group by observed.record_hash
),

resolved as (
    select per_record.*, assignments.one_id, assignments.identity_confidence, assignments.identity_link_type
    from per_record
    left join assignments on assignments.component_num = per_record.component_num
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
    end as unresolved_reason,
    record_hash,
    state_checksum,
    {{ build_id() }} as _build_id
from resolved
