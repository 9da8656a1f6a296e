{#- One row per group owner and day from groupchat/statistic (owner-level aggregation). -#}
{{ config(**incremental_by_load('wecom_group_daily_stats', unique_key=['owner_userid', 'stat_date'])) }}

with source as (
    {{ deduplicate(source('raw', 'wecom_group_daily_stats'), partition_by='owner_userid, stat_date',
                   order_by=newest_version_first('wecom_group_daily_stats'),
                   stage_again_by='owner_userid, stat_date') }}
)

select
    owner_userid,
    stat_date,
    'wecom' as channel,
    new_chat_cnt as new_chat_count,
    chat_total as chat_total_count,
    chat_has_msg as chat_with_message_count,
    new_member_cnt as new_member_count,
    member_total as member_total_count,
    member_has_msg as member_with_message_count,
    msg_total as message_count,
    migrate_trainee_chat_cnt as migrated_trainee_chat_count,
    {{ lineage_columns(hashed=false) }}
from source
