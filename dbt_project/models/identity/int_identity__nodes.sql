{#- Every identifier value (a node of the member graph) with its final verdict: the value's own
    evidence (int_identity__node_verdicts: blocked, placeholder by spread, hub) and the graph's
    (int_identity__limit_conflicts: a shared phone that would join two people whose strong
    identifiers a limit keeps apart). A recycled phone is not refused: it is split in two
    (int_identity__recycled_values), and its second holder's part is a node of its own here.
    Only linkable nodes join records. -#}
with verdicts as (
    select * from {{ ref('int_identity__node_verdicts') }}
),

conflicts as (
    select * from {{ ref('int_identity__limit_conflicts') }} where recycled_at is null
),

recycled as (
    select * from {{ ref('int_identity__recycled_values') }}
),

epoch_stats as (
    select
        observed.node_num,
        count(*) as records,
        count(distinct observed.source_table) as source_tables,
        min(observed.observed_at) as first_observed_at,
        max(observed.observed_at) as last_observed_at
    from {{ ref('int_identity__observation_epochs') }} as observed
    where observed.node_num in (select recycled.epoch_node_num from recycled)
    group by observed.node_num
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
    recycled.recycled_at,
    verdicts.is_linkable and conflicts.node_num is null as is_linkable
from verdicts
left join conflicts on conflicts.node_num = verdicts.node_num
left join recycled on recycled.node_num = verdicts.node_num

union all

select
    recycled.epoch_node_num as node_num,
    {{ node_id('recycled.identifier_type', 'recycled.epoch_identifier_value') }} as node_id,
    recycled.identifier_type,
    recycled.epoch_identifier_value as identifier_value,
    coalesce(epoch_stats.records, 0) as records,
    coalesce(epoch_stats.source_tables, 0) as source_tables,
    epoch_stats.first_observed_at,
    epoch_stats.last_observed_at,
    verdicts.priority,
    verdicts.widest_neighbour_count,
    verdicts.widest_neighbour_type,
    verdicts.max_events_per_day,
    verdicts.max_places_per_day,
    verdicts.busy_days,
    verdicts.crowded_days,
    verdicts.blocked_reason,
    verdicts.is_hub,
    {{ dbt.cast('null', api.Column.translate_type('string')) }} as conflict_type,
    {{ dbt.cast('null', api.Column.translate_type('bigint')) }} as conflicting_groups,
    recycled.recycled_at,
    true as is_linkable
from recycled
join verdicts on verdicts.node_num = recycled.node_num
left join epoch_stats on epoch_stats.node_num = recycled.epoch_node_num
