{#- One row per customer group x member (staff and customers) as last exported. -#}
{{ config(**incremental_by_load('wecom_group_members', unique_key=['chat_id', 'member_userid'])) }}

with source as (
    {{ deduplicate(source('raw', 'wecom_group_members'), partition_by='chat_id, member_userid',
                   order_by=newest_version_first('wecom_group_members'),
                   stage_again_by='chat_id, member_userid') }}
),

join_scenes as (
    select * from {{ ref('wecom_join_scenes') }}
)

select
    source.chat_id,
    source.member_userid,
    'wecom' as channel,
    case source.member_type
        when 1 then 'staff'
        when 2 then 'customer'
    end as member_kind,
    source.member_type,
    source.member_unionid,
    source.joined_at,
    source.join_scene,
    {{ code_or_unknown('join_scenes.join_scene_name', 'source.join_scene') }} as join_scene_name,
    source.invitor_userid,
    source.chat_name,
    source.owner_userid,
    source.chat_created_at,
    {{ lineage_columns('source', hashed=false) }}
from source
left join join_scenes
    on join_scenes.join_scene = source.join_scene
