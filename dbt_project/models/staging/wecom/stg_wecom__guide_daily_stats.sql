{#- One row per guide and day from get_user_behavior_data. -#}
{{ config(**incremental_by_load('wecom_guide_daily_stats', unique_key=['guide_userid', 'stat_date'])) }}

with source as (
    {{ deduplicate(source('raw', 'wecom_guide_daily_stats'), partition_by='guide_userid, stat_date',
                   order_by=newest_version_first('wecom_guide_daily_stats'),
                   stage_again_by='guide_userid, stat_date') }}
)

select
    guide_userid,
    stat_date,
    'wecom' as channel,
    new_apply_cnt as new_apply_count,
    new_contact_cnt as new_contact_count,
    chat_cnt as chat_count,
    message_cnt as message_count,
    reply_percentage,
    avg_reply_time as avg_reply_minutes,
    negative_feedback_cnt as negative_feedback_count,
    {{ lineage_columns(hashed=false) }}
from source
