{#- One row per AI outbound call (智能外呼) from the vendor log. -#}
{{ config(**incremental_by_load('outbound_calls', unique_key='call_id')) }}

with source as (
    {{ deduplicate(source('raw', 'outbound_calls'),
                   partition_by='call_id', order_by=newest_version_first('outbound_calls'),
                   stage_again_by='call_id') }}
)

select
    call_id,
    'ai_outbound' as channel,
    task_name,
    called_at,
    duration_s as duration_seconds,
    coalesce(answered, false) as is_answered,
    intent_level,
    coalesce(friend_request_sent, false) as is_friend_request_sent,
    coalesce(friend_added, false) as is_friend_added,
    guide_userid,
    hangup_reason,
    callee_mobile_hash,
    callee_mobile_status,
    {{ lineage_columns() }}
from source
