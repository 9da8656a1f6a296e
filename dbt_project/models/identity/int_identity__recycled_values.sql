{#- Phones the carrier re-issued (int_identity__limit_conflicts: two holders one after the other):
    the phone is split at recycled_at. Records before it keep the phone's node and link to the
    first holder; records from it on carry a new node (the same phone, identifier_value suffixed
    with '@' and the day it changed hands) and link to the second holder. So a member's earlier
    number still joins her old receipts and calls, and stops joining anything from the day
    someone else registered with it. epoch_node_num numbers the new nodes after every existing one. -#}
with recycled as (
    select conflicts.node_num, conflicts.recycled_at
    from {{ ref('int_identity__limit_conflicts') }} as conflicts
    where conflicts.recycled_at is not null
),

last_node as (
    select max(node_num) as node_num from {{ ref('int_identity__node_stats') }}
)

select
    recycled.node_num,
    recycled.recycled_at,
    last_node.node_num + row_number() over (order by recycled.node_num) as epoch_node_num,
    stats.identifier_type,
    {%- set day = dbt.cast(dbt.cast('recycled.recycled_at', api.Column.translate_type('date')),
                           api.Column.translate_type('string')) %}
    {{ dbt.concat(['stats.identifier_value', "'@'", day]) }} as epoch_identifier_value
from recycled
cross join last_node
join {{ ref('int_identity__node_stats') }} as stats on stats.node_num = recycled.node_num
