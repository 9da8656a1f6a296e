{#- One row per official-account openid as last exported by user/info/batchget. -#}
with source as (
    {{ deduplicate(source('raw', 'oa_followers'), partition_by='openid', order_by=newest_version_first('oa_followers')) }}
)

select
    openid,
    'wechat_oa' as channel,
    unionid,
    coalesce(subscribed, false) as is_subscribed,
    subscribed_at,
    subscribe_scene,
    qr_scene,
    qr_scene_str,
    tag_ids as tag_ids_json,
    language,
    group_id,
    {{ lineage_columns(hashed=false) }}
from source
