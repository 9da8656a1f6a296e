{#- Phones the carrier re-issued (int_identity__limit_conflicts: two holders one after the other):
    the phone is split at recycled_at. Records before it keep the phone's node and link to the
    first holder; records from it on carry a new node (the same phone, identifier_value suffixed
    with '@' and the day it changed hands) and link to the second holder. So a member's earlier
    number still joins her old receipts and calls, and stops joining anything from the day
    someone else registered with it. epoch_node_num: the new node's number (macro node_number of its
    node_id), like every node's. -#}
with recycled as (
    select conflicts.node_num, conflicts.recycled_at
    from {{ ref('int_identity__limit_conflicts') }} as conflicts
    where conflicts.recycled_at is not null
)

select
    recycled.node_num,
    recycled.recycled_at,
    {%- set day = dbt.cast(dbt.cast('recycled.recycled_at', api.Column.translate_type('date')),
                           api.Column.translate_type('string')) %}
    {%- set epoch_value = dbt.concat(['stats.identifier_value', "'@'", day]) %}
    {{ node_number(node_id('stats.identifier_type', epoch_value)) }} as epoch_node_num,
    stats.identifier_type,
    {{ epoch_value }} as epoch_identifier_value
from recycled
join {{ ref('int_identity__node_stats') }} as stats on stats.node_num = recycled.node_num
