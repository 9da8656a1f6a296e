{#- One row per Tmall 会员通 member (omid) as last exported. -#}
with source as (
    {{ deduplicate(source('raw', 'tmall_member_bindings'), partition_by='omid',
                   order_by=newest_version_first('tmall_member_bindings')) }}
)

select
    omid,
    'tmall' as channel,
    ouid,
    buyer_open_uid,
    buyer_nick_hash,
    tmall_union_id,
    mobile_hash,
    mobile_status,
    card_no,
    bound_at,
    level as member_level,
    points,
    {{ lineage_columns() }}
from source
