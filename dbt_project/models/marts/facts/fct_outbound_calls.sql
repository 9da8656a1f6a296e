{#- One row per AI outbound call (智能外呼): answered, intent, friend request sent, friend added,
    with the callee's member (by hashed mobile, bridge_record_member) and the assigned guide. -#}
select
    calls.call_id,
    calls.task_name,
    calls.called_at,
    {{ month_of('calls.called_at') }} as call_month,
    bridge.one_id,
    calls.duration_seconds,
    calls.is_answered,
    calls.intent_level,
    calls.is_friend_request_sent,
    calls.is_friend_added,
    calls.guide_userid,
    staff.employee_no as guide_employee_no,
    staff.store_code,
    calls.hangup_reason
from {{ ref('stg_ai_outbound__calls') }} as calls
left join {{ ref('bridge_record_member') }} as bridge {{ member_bridge_on('outbound_calls', 'calls') }}
left join {{ ref('stg_master__staff') }} as staff
    on staff.wecom_userid = calls.guide_userid
