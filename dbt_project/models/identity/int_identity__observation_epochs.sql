{#- int_identity__observation_nodes with a recycled phone's observations from the day it changed
    hands moved to its new node (int_identity__recycled_values). The form the member graph's
    edges, the record bridge and the explanations read. Grain: source_table x record_key x node. -#}
select
    observed.source_table,
    observed.record_key,
    observed.record_hash,
    observed.identifier_type,
    case
        when recycled.node_num is not null and observed.observed_at >= recycled.recycled_at then recycled.epoch_node_num
        else observed.node_num
    end as node_num,
    observed.observed_at
from {{ ref('int_identity__observation_nodes') }} as observed
left join {{ ref('int_identity__recycled_values') }} as recycled on recycled.node_num = observed.node_num
