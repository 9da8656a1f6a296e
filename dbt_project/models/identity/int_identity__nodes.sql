{#- Every identifier value (a node of the member graph) with its final verdict: the value's own
    evidence (int_identity__node_verdicts: blocked, placeholder by spread, hub) and the graph's
    (int_identity__limit_conflicts: a shared phone that would join two people whose strong
    identifiers a limit keeps apart). Only linkable nodes join records. -#}
with verdicts as (
    select * from {{ ref('int_identity__node_verdicts') }}
),

conflicts as (
    select * from {{ ref('int_identity__limit_conflicts') }}
)

select
    verdicts.node_num,
    verdicts.node_id,
    verdicts.identifier_type,
    verdicts.identifier_value,
    verdicts.records,
    verdicts.source_tables,
    verdicts.first_observed_at,
    verdicts.last_observed_at,
    verdicts.priority,
    verdicts.widest_neighbour_count,
    verdicts.widest_neighbour_type,
    verdicts.max_events_per_day,
    verdicts.max_places_per_day,
    verdicts.busy_days,
    verdicts.crowded_days,
    verdicts.blocked_reason,
    verdicts.is_hub,
    conflicts.conflict_type,
    conflicts.conflicting_groups,
    verdicts.is_linkable and conflicts.node_num is null as is_linkable
from verdicts
left join conflicts on conflicts.node_num = verdicts.node_num
