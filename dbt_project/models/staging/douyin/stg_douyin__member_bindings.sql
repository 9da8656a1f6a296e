{#- One row per Douyin shop open_id bound to a brand member (会员通), as last exported. -#}
with source as (
    {{ deduplicate(source('raw', 'douyin_member_bindings'), partition_by='open_id',
                   order_by=newest_version_first('douyin_member_bindings')) }}
)

select
    open_id,
    'douyin' as channel,
    mobile_hash,
    mobile_status,
    card_no,
    bound_at,
    level as member_level,
    {{ lineage_columns() }}
from source
