{#- Every record resolved to a one_id has that member in dim_member (kept out of the identity
    folder's yml so that building the identity layer alone does not need the marts). -#}
select bridge.source_table, bridge.record_key, bridge.one_id
from {{ ref('bridge_record_member') }} as bridge
left join {{ ref('dim_member') }} as member on member.one_id = bridge.one_id
where bridge.one_id is not null
  and member.one_id is null
